//! Server-sent events (WHATWG HTML §9.2 "event stream" interpretation), as a push parser:
//! CR, LF and CRLF line ends (a CRLF may be split across pushes), comments, multi-line data.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` name; empty for the default `message`.
    pub event: String,
    /// `data:` lines joined with `\n`.
    pub data: String,
    pub id: Option<String>,
}

#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the line being read.
    line: Vec<u8>,
    /// The last byte pushed was a CR: a following LF belongs to it.
    after_cr: bool,
    /// At the very start of the stream (a BOM may be skipped).
    started: bool,
    cur: SseEvent,
    /// The current event has at least one `data` field.
    has_data: bool,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, mut b: &[u8], out: &mut Vec<SseEvent>) {
        if !self.started && !b.is_empty() {
            self.started = true;
            b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
        }
        if self.after_cr && b.first() == Some(&b'\n') {
            b = &b[1..];
        }
        self.after_cr = false;
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

    /// End of stream: a final event is dispatched only if its block was terminated, as the
    /// spec says; an unterminated last line is processed first.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.on_line(&line, out);
        }
        // Many servers end a stream without a blank line after the last event: keep it.
        self.dispatch(out);
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
            b"id" if !value.contains('\0') => self.cur.id = Some(value.into_owned()),
            _ => {} // retry and unknown fields
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        if self.has_data {
            out.push(std::mem::take(&mut self.cur));
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

    const STREAM: &[u8] = b": ping\r\n\r\nevent: message_start\r\ndata: {\"a\":1}\r\n\r\ndata: line1\ndata:line2\n\nevent: x\rdata: y\r\r";

    fn expected() -> Vec<SseEvent> {
        vec![
            SseEvent {
                event: "message_start".into(),
                data: "{\"a\":1}".into(),
                id: None,
            },
            SseEvent {
                event: String::new(),
                data: "line1\nline2".into(),
                id: None,
            },
            SseEvent {
                event: "x".into(),
                data: "y".into(),
                id: None,
            },
        ]
    }

    #[test]
    fn all_line_ends_comments_and_multiline_data() {
        assert_eq!(parse_all(STREAM), expected());
    }

    #[test]
    fn any_split_gives_the_same_events() {
        for split in 0..=STREAM.len() {
            let mut p = SseParser::new();
            let mut out = Vec::new();
            p.push(&STREAM[..split], &mut out);
            p.push(&STREAM[split..], &mut out);
            p.finish(&mut out);
            assert_eq!(out, expected(), "split at {split}");
        }
        // byte by byte
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for b in STREAM {
            p.push(std::slice::from_ref(b), &mut out);
        }
        p.finish(&mut out);
        assert_eq!(out, expected());
    }

    #[test]
    fn unterminated_last_event_and_garbage() {
        assert_eq!(parse_all(b"data: [DONE]").len(), 1);
        assert!(parse_all(b"\xff\xfe\x00garbage without fields").is_empty());
        assert_eq!(parse_all(b"\xEF\xBB\xBFdata: x\n\n")[0].data, "x");
    }
}
