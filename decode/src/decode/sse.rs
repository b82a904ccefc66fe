//! Server-sent events (WHATWG HTML §9.2 "event stream" interpretation), as a push parser:
//! CR, LF and CRLF line ends (a CRLF may be split across pushes), comments, multi-line data.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` name; empty for the default `message`.
    pub event: String,
    /// `data:` lines joined with `\n`.
    pub data: String,
    /// The last event ID set by an `id:` field of this or an earlier event (the spec's
    /// `lastEventId`), if any.
    pub id: Option<String>,
}

#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the line being read.
    line: Vec<u8>,
    /// The last byte pushed was a CR: a following LF belongs to it.
    after_cr: bool,
    /// Past the stream's start, where a UTF-8 BOM may be (and is skipped).
    started: bool,
    /// How many bytes of a BOM the stream started with so far (it may be split too).
    bom: usize,
    cur: SseEvent,
    /// The current event has at least one `data` field.
    has_data: bool,
    /// The last event ID buffer: unlike the other fields it carries over to later events.
    last_id: Option<String>,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the stream; events completed by them are appended to `out`.
    pub fn push(&mut self, mut b: &[u8], out: &mut Vec<SseEvent>) {
        while !self.started && !b.is_empty() {
            if b[0] == BOM[self.bom] {
                b = &b[1..];
                self.bom += 1;
                self.started = self.bom == BOM.len();
            } else {
                // Not a BOM after all: what looked like one is text.
                self.started = true;
                let seen = self.bom;
                self.lines(&BOM[..seen], out);
            }
        }
        self.lines(b, out);
    }

    fn lines(&mut self, mut b: &[u8], out: &mut Vec<SseEvent>) {
        if b.is_empty() {
            return;
        }
        if std::mem::take(&mut self.after_cr) && b[0] == b'\n' {
            b = &b[1..];
        }
        while !b.is_empty() {
            match memchr::memchr2(b'\r', b'\n', b) {
                Some(i) => {
                    self.line.extend_from_slice(&b[..i]);
                    let mut next = i + 1;
                    if b[i] == b'\r' {
                        if next == b.len() {
                            self.after_cr = true;
                        } else if b[next] == b'\n' {
                            next += 1;
                        }
                    }
                    b = &b[next..];
                    let line = std::mem::take(&mut self.line);
                    self.on_line(&line, out);
                    self.line = line;
                    self.line.clear();
                }
                None => {
                    self.line.extend_from_slice(b);
                    b = &[];
                }
            }
        }
    }

    /// End of stream. The spec drops an event whose block was not ended by a blank line; many
    /// servers end a stream right after the last event's data, so it is dispatched here
    /// (an unterminated last line is processed first).
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if !self.started {
            self.started = true;
            let seen = self.bom;
            if seen < BOM.len() {
                self.lines(&BOM[..seen], out);
            }
        }
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.on_line(&line, out);
        }
        self.dispatch(out);
        self.after_cr = false;
    }

    fn on_line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return; // comment (keep-alive pings)
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        let value = String::from_utf8_lossy(value);
        match name {
            b"event" => self.cur.event = value.into_owned(),
            b"data" => {
                if self.has_data {
                    self.cur.data.push('\n');
                }
                self.cur.data.push_str(&value);
                self.has_data = true;
            }
            b"id" if !value.contains('\0') => self.last_id = Some(value.into_owned()),
            _ => {} // retry and unknown fields
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        if self.has_data {
            let mut ev = std::mem::take(&mut self.cur);
            ev.id = self.last_id.clone();
            out.push(ev);
        } else {
            self.cur = SseEvent::default();
        }
        self.has_data = false;
    }
}

/// All events of a complete stream.
pub fn parse_all(b: &[u8]) -> Vec<SseEvent> {
    let mut p = SseParser::new();
    let mut out = Vec::new();
    p.push(b, &mut out);
    p.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &[u8] = b"\xEF\xBB\xBF: ping\r\n\r\nevent: message_start\r\nid: 7\r\ndata: {\"a\":1}\r\n\r\ndata: line1\ndata:line2\n\nevent: x\rdata: y\r\rretry: 10\nevent: dropped\n\ndata\n\ndata:  two spaces\r\n";

    fn ev(event: &str, data: &str, id: Option<&str>) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.into(),
            id: id.map(Into::into),
        }
    }

    fn expected() -> Vec<SseEvent> {
        vec![
            ev("message_start", "{\"a\":1}", Some("7")),
            // the last event ID carries over (WHATWG §9.2.6)
            ev("", "line1\nline2", Some("7")),
            ev("x", "y", Some("7")),
            // "data" without a colon is a data field with an empty value
            ev("", "", Some("7")),
            // only the one space after the colon is dropped; unterminated: kept at finish
            ev("", " two spaces", Some("7")),
        ]
    }

    fn run(parts: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for part in parts {
            p.push(part, &mut out);
        }
        p.finish(&mut out);
        out
    }

    #[test]
    fn all_line_ends_comments_and_multiline_data() {
        assert_eq!(parse_all(STREAM), expected());
    }

    #[test]
    fn any_split_gives_the_same_events() {
        for i in 0..=STREAM.len() {
            for j in i..=STREAM.len() {
                let (a, rest) = STREAM.split_at(i);
                let (b, c) = rest.split_at(j - i);
                // empty pushes in between must not change anything (a CR then nothing then LF)
                assert_eq!(run(&[a, b"", b, b"", c]), expected(), "split at {i}, {j}");
            }
        }
        let bytes: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(run(&bytes), expected());
    }

    #[test]
    fn events_complete_as_soon_as_their_blank_line_arrives() {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        p.push(b"data: a\r", &mut out);
        assert!(out.is_empty());
        p.push(b"\n\r", &mut out);
        assert_eq!(out.len(), 1, "CRLF CR is a line end then a blank line");
        p.push(b"\n", &mut out);
        p.push(b"data: b\n", &mut out);
        p.push(b"\n", &mut out);
        assert_eq!(out.len(), 2, "the LF after a CR is not another blank line");
    }

    #[test]
    fn a_bom_only_at_the_start_and_only_whole() {
        assert_eq!(parse_all(b"\xEF\xBB\xBFdata: x\n\n")[0].data, "x");
        // a BOM-like prefix that is not one is kept as text
        assert_eq!(parse_all(b"\xEF\xBBdata: x\n\n"), vec![]);
        assert_eq!(
            run(&[b"\xEF", b"\xBB", b"\xBF", b"data: x\n\n"])[0].data,
            "x"
        );
        let second = parse_all(b"data: a\n\n\xEF\xBB\xBFdata: b\n\n");
        assert_eq!(second.len(), 1, "a BOM later is part of a field name");
        assert!(parse_all(b"\xEF").is_empty());
    }

    #[test]
    fn unterminated_last_event_and_garbage() {
        assert_eq!(parse_all(b"data: [DONE]").len(), 1);
        assert!(parse_all(b"\xff\xfe\x00garbage without fields").is_empty());
        assert!(parse_all(b": only comments\n\n:\n\n").is_empty());
        assert!(parse_all(b"event: no data\nid: 1\n\n").is_empty());
        assert_eq!(parse_all(b"data: \xff\n\n")[0].data, "\u{fffd}");
        assert_eq!(parse_all(b"id: a\0b\ndata: x\n\n")[0].id, None);
    }
}
