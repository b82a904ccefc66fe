//! AWS event streams (`application/vnd.amazon.eventstream`), the binary framing Bedrock's
//! streaming APIs answer with, as a push parser. Each message is
//!
//! ```text
//! total length u32 | headers length u32 | prelude CRC32 u32 | headers | payload | message CRC32 u32
//! ```
//!
//! all big-endian, the CRCs being CRC-32 (IEEE) of the prelude's 8 bytes and of everything
//! before the message CRC. A header is a name (u8 length, bytes), a value type (u8) and a value
//! whose length the type gives. Bytes may arrive split anywhere; no input makes it panic, and
//! it holds at most one message in memory.

/// The framing's own bound on a message: 16 MiB of payload plus 128 KiB of headers.
pub const MAX_MESSAGE: usize = (16 << 20) + (128 << 10) + PRELUDE + CRC;

const PRELUDE: usize = 12;
const CRC: usize = 4;
/// The smallest message: a prelude and a message CRC, no headers, no payload.
const MIN_MESSAGE: usize = PRELUDE + CRC;

/// A header value, by the wire's value types 0..=9.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    Bool(bool),
    Byte(i8),
    Short(i16),
    Int(i32),
    Long(i64),
    Bytes(Vec<u8>),
    String(String),
    /// Milliseconds since the Unix epoch.
    Timestamp(i64),
    Uuid([u8; 16]),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub headers: Vec<(String, HeaderValue)>,
    pub payload: Vec<u8>,
}

impl Message {
    /// The string value of header `name` (`:event-type`, `:message-type`, ...).
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|(n, v)| match v {
            HeaderValue::String(s) if n == name => Some(s.as_str()),
            _ => None,
        })
    }
}

/// What went wrong in a stream, counted rather than raised: the messages around a bad one are
/// still worth reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages skipped because their message CRC or their headers did not check out.
    pub bad_messages: u32,
    /// Messages skipped, unread, for being longer than the parser's cap.
    pub oversized: u32,
    /// A prelude failed its CRC (or announced an impossible length): with no length to trust,
    /// the rest of the stream cannot be framed and is dropped.
    pub lost_sync: bool,
    /// Bytes left over at [`EventStreamParser::finish`]: a message cut short.
    pub truncated_bytes: usize,
}

#[derive(Debug)]
pub struct EventStreamParser {
    /// Bytes of the message being read (at most one message, at most `max_message`).
    buf: Vec<u8>,
    /// Bytes still to skip of an oversized message whose prelude checked out.
    skip: usize,
    max_message: usize,
    stats: Stats,
}

impl Default for EventStreamParser {
    fn default() -> Self {
        Self::new(MAX_MESSAGE)
    }
}

impl EventStreamParser {
    /// A parser that skips messages longer than `max_message` bytes instead of buffering them.
    pub fn new(max_message: usize) -> Self {
        Self {
            buf: Vec::new(),
            skip: 0,
            max_message: max_message.max(MIN_MESSAGE),
            stats: Stats::default(),
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Feeds the next bytes of the stream; messages completed by them are appended to `out`.
    pub fn push(&mut self, mut b: &[u8], out: &mut Vec<Message>) {
        while !b.is_empty() && !self.stats.lost_sync {
            if self.skip > 0 {
                let n = self.skip.min(b.len());
                self.skip -= n;
                b = &b[n..];
                continue;
            }
            // Take bytes up to the end of the prelude, then up to the end of the message.
            let want = match self.total_len() {
                None => PRELUDE,
                Some(total) => total,
            };
            let n = want.saturating_sub(self.buf.len()).min(b.len());
            self.buf.extend_from_slice(&b[..n]);
            b = &b[n..];
            if self.buf.len() < want {
                continue;
            }
            if want == PRELUDE {
                self.check_prelude();
            } else {
                let bytes = std::mem::take(&mut self.buf);
                match read_message(&bytes) {
                    Some(m) => out.push(m),
                    None => self.stats.bad_messages += 1,
                }
                self.buf = bytes;
                self.buf.clear();
            }
        }
    }

    /// End of stream: counts what was left of a message cut short.
    pub fn finish(&mut self) -> Stats {
        self.stats.truncated_bytes += self.buf.len() + self.skip;
        self.buf.clear();
        self.skip = 0;
        self.stats
    }

    /// The message length, once the buffer holds a prelude that checked out.
    fn total_len(&self) -> Option<usize> {
        (self.buf.len() >= PRELUDE).then(|| be32(&self.buf[0..4]) as usize)
    }

    /// Called with exactly the prelude buffered: keeps it, skips an oversized message, or gives
    /// up on a prelude that cannot be trusted.
    fn check_prelude(&mut self) {
        let p = &self.buf[..PRELUDE];
        let (total, headers) = (be32(&p[0..4]) as usize, be32(&p[4..8]) as usize);
        let sane = crc32fast::hash(&p[..8]) == be32(&p[8..12])
            && total >= MIN_MESSAGE
            && headers <= total - MIN_MESSAGE;
        if !sane {
            self.stats.lost_sync = true;
            self.buf = Vec::new();
        } else if total > self.max_message {
            self.stats.oversized += 1;
            self.skip = total - PRELUDE;
            self.buf.clear();
        }
    }
}

/// A whole message (prelude already checked): None if its CRC or headers are wrong.
fn read_message(m: &[u8]) -> Option<Message> {
    let (body, crc) = m.split_at(m.len() - CRC);
    if crc32fast::hash(body) != be32(crc) {
        return None;
    }
    let headers_len = be32(&m[4..8]) as usize;
    let (headers, payload) = body[PRELUDE..].split_at(headers_len);
    Some(Message {
        headers: read_headers(headers)?,
        payload: payload.to_vec(),
    })
}

fn read_headers(mut b: &[u8]) -> Option<Vec<(String, HeaderValue)>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let name_len = usize::from(*b.first()?);
        let name = take(&mut b, 1 + name_len)?.get(1..)?;
        let name = String::from_utf8_lossy(name).into_owned();
        let kind = take(&mut b, 1)?[0];
        let value = match kind {
            0 => HeaderValue::Bool(true),
            1 => HeaderValue::Bool(false),
            2 => HeaderValue::Byte(take(&mut b, 1)?[0] as i8),
            3 => HeaderValue::Short(i16::from_be_bytes(take(&mut b, 2)?.try_into().ok()?)),
            4 => HeaderValue::Int(i32::from_be_bytes(take(&mut b, 4)?.try_into().ok()?)),
            5 => HeaderValue::Long(i64::from_be_bytes(take(&mut b, 8)?.try_into().ok()?)),
            6 | 7 => {
                let len = usize::from(u16::from_be_bytes(take(&mut b, 2)?.try_into().ok()?));
                let v = take(&mut b, len)?;
                if kind == 6 {
                    HeaderValue::Bytes(v.to_vec())
                } else {
                    HeaderValue::String(String::from_utf8_lossy(v).into_owned())
                }
            }
            8 => HeaderValue::Timestamp(i64::from_be_bytes(take(&mut b, 8)?.try_into().ok()?)),
            9 => HeaderValue::Uuid(take(&mut b, 16)?.try_into().ok()?),
            _ => return None, // an unknown type has no known length: the rest is unreadable
        };
        out.push((name, value));
    }
    Some(out)
}

/// The first `n` bytes of `b`, advancing it; None if there are fewer.
fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if b.len() < n {
        return None;
    }
    let (head, rest) = b.split_at(n);
    *b = rest;
    Some(head)
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// All messages of a complete stream, and what was wrong with it.
pub fn parse_all(b: &[u8]) -> (Vec<Message>, Stats) {
    let mut p = EventStreamParser::default();
    let mut out = Vec::new();
    p.push(b, &mut out);
    let stats = p.finish();
    (out, stats)
}

/// One message, framed: for tests and fixtures (the decoder never writes).
pub fn encode(headers: &[(&str, HeaderValue)], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (name, value) in headers {
        h.push(name.len() as u8);
        h.extend_from_slice(name.as_bytes());
        match value {
            HeaderValue::Bool(true) => h.push(0),
            HeaderValue::Bool(false) => h.push(1),
            HeaderValue::Byte(v) => h.extend_from_slice(&[2, *v as u8]),
            HeaderValue::Short(v) => {
                h.push(3);
                h.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Int(v) => {
                h.push(4);
                h.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Long(v) => {
                h.push(5);
                h.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Bytes(v) => {
                h.push(6);
                h.extend_from_slice(&(v.len() as u16).to_be_bytes());
                h.extend_from_slice(v);
            }
            HeaderValue::String(v) => {
                h.push(7);
                h.extend_from_slice(&(v.len() as u16).to_be_bytes());
                h.extend_from_slice(v.as_bytes());
            }
            HeaderValue::Timestamp(v) => {
                h.push(8);
                h.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Uuid(v) => {
                h.push(9);
                h.extend_from_slice(v);
            }
        }
    }
    let total = (PRELUDE + h.len() + payload.len() + CRC) as u32;
    let mut m = Vec::with_capacity(total as usize);
    m.extend_from_slice(&total.to_be_bytes());
    m.extend_from_slice(&(h.len() as u32).to_be_bytes());
    m.extend_from_slice(&crc32fast::hash(&m[..8]).to_be_bytes());
    m.extend_from_slice(&h);
    m.extend_from_slice(payload);
    m.extend_from_slice(&crc32fast::hash(&m).to_be_bytes());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> HeaderValue {
        HeaderValue::String(v.into())
    }

    fn event(kind: &str, payload: &str) -> Vec<u8> {
        encode(
            &[
                (":event-type", s(kind)),
                (":content-type", s("application/json")),
                (":message-type", s("event")),
            ],
            payload.as_bytes(),
        )
    }

    /// The AWS event stream test suite's `int32_header` message (also read back by botocore's
    /// `EventStreamBuffer`): the CRCs and layout are AWS's, not ours.
    #[test]
    fn decodes_awss_own_test_vector() {
        let wire: &[u8] = &[
            0x00, 0x00, 0x00, 0x2d, 0x00, 0x00, 0x00, 0x10, 0x41, 0xc4, 0x24, 0xb8, 0x0a, 0x65,
            0x76, 0x65, 0x6e, 0x74, 0x2d, 0x74, 0x79, 0x70, 0x65, 0x04, 0x00, 0x00, 0xa0, 0x0c,
            0x7b, 0x27, 0x66, 0x6f, 0x6f, 0x27, 0x3a, 0x27, 0x62, 0x61, 0x72, 0x27, 0x7d, 0x36,
            0xf4, 0x80, 0xa0,
        ];
        let (msgs, stats) = parse_all(wire);
        assert_eq!(stats, Stats::default());
        assert_eq!(
            msgs,
            [Message {
                headers: vec![("event-type".into(), HeaderValue::Int(40972))],
                payload: b"{'foo':'bar'}".to_vec(),
            }]
        );
        assert_eq!(
            encode(&[("event-type", HeaderValue::Int(40972))], b"{'foo':'bar'}"),
            wire
        );
    }

    #[test]
    fn every_header_type_round_trips() {
        let headers = vec![
            ("t", HeaderValue::Bool(true)),
            ("f", HeaderValue::Bool(false)),
            ("b", HeaderValue::Byte(-3)),
            ("s", HeaderValue::Short(-300)),
            ("i", HeaderValue::Int(70_000)),
            ("l", HeaderValue::Long(-1 << 40)),
            ("y", HeaderValue::Bytes(vec![0, 255, 7])),
            ("str", s("héllo")),
            ("ts", HeaderValue::Timestamp(1_764_000_000_000)),
            ("id", HeaderValue::Uuid([9; 16])),
        ];
        let (msgs, stats) = parse_all(&encode(&headers, b"x"));
        assert_eq!(stats, Stats::default());
        let want: Vec<_> = headers
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect();
        assert_eq!(msgs[0].headers, want);
        assert_eq!(msgs[0].header_str("str"), Some("héllo"));
        assert_eq!(msgs[0].header_str("i"), None, "not a string");
    }

    #[test]
    fn any_split_gives_the_same_messages() {
        let mut wire = event("messageStart", r#"{"role":"assistant"}"#);
        wire.extend(encode(&[], b""));
        wire.extend(event("metadata", r#"{"usage":{"inputTokens":1}}"#));
        let (whole, _) = parse_all(&wire);
        assert_eq!(whole.len(), 3);
        for i in 0..=wire.len() {
            for j in (i..=wire.len()).step_by(7) {
                let mut p = EventStreamParser::default();
                let mut out = Vec::new();
                for part in [&wire[..i], &wire[i..j], b"", &wire[j..]] {
                    p.push(part, &mut out);
                }
                assert_eq!(p.finish(), Stats::default(), "split at {i}, {j}");
                assert_eq!(out, whole, "split at {i}, {j}");
            }
        }
    }

    #[test]
    fn a_bad_message_crc_skips_that_message_only() {
        let mut wire = event("a", "{}");
        let bad_at = wire.len() - 6; // inside the payload
        wire[bad_at] ^= 1;
        wire.extend(event("b", "{}"));
        let (msgs, stats) = parse_all(&wire);
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].header_str(":event-type"), Some("b"));
        assert_eq!(stats.bad_messages, 1);
        assert!(!stats.lost_sync);
    }

    #[test]
    fn a_bad_prelude_loses_the_rest_of_the_stream() {
        let mut wire = event("a", "{}");
        wire.extend(event("b", "{}"));
        wire[1] ^= 0x40; // the length, under the prelude CRC
        let (msgs, stats) = parse_all(&wire);
        assert!(msgs.is_empty());
        assert!(stats.lost_sync);
        // An impossible length with a matching CRC is no better.
        let mut p = Vec::new();
        p.extend_from_slice(&8u32.to_be_bytes());
        p.extend_from_slice(&0u32.to_be_bytes());
        p.extend_from_slice(&crc32fast::hash(&p).to_be_bytes());
        assert!(parse_all(&p).1.lost_sync);
    }

    #[test]
    fn oversized_messages_are_skipped_unbuffered() {
        let big = event("big", &"x".repeat(10_000));
        let mut wire = big.clone();
        wire.extend(event("small", "{}"));
        let mut p = EventStreamParser::new(1000);
        let mut out = Vec::new();
        for part in wire.chunks(100) {
            p.push(part, &mut out);
            assert!(p.buf.capacity() <= 1000 + 100);
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].header_str(":event-type"), Some("small"));
        assert_eq!(p.finish().oversized, 1);
    }

    #[test]
    fn truncation_and_garbage_never_panic() {
        let wire = event("contentBlockDelta", r#"{"delta":{"text":"hi"}}"#);
        for cut in 0..wire.len() {
            let (msgs, stats) = parse_all(&wire[..cut]);
            assert!(msgs.is_empty());
            assert_eq!(stats.truncated_bytes, cut, "cut at {cut}");
        }
        // Headers that overrun their section, and unknown value types, with valid CRCs.
        for headers in [
            &[3u8, b'a', b'b'][..],
            &[1, b'a', 7, 0, 9, b'x'],
            &[1, b'a', 42],
        ] {
            let mut m = Vec::new();
            let total = (PRELUDE + headers.len() + CRC) as u32;
            m.extend_from_slice(&total.to_be_bytes());
            m.extend_from_slice(&(headers.len() as u32).to_be_bytes());
            m.extend_from_slice(&crc32fast::hash(&m).to_be_bytes());
            m.extend_from_slice(headers);
            m.extend_from_slice(&crc32fast::hash(&m).to_be_bytes());
            let (msgs, stats) = parse_all(&m);
            assert!(msgs.is_empty());
            assert_eq!(stats.bad_messages, 1, "{headers:?}");
        }
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for n in [0usize, 1, 11, 12, 13, 100, 5000] {
            let g: Vec<u8> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let _ = parse_all(&g);
        }
    }
}
