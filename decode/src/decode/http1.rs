//! HTTP/1.1 messages (RFC 9112) from one direction of a connection, as a push parser.
//!
//! Bytes arrive as the TLS library hands them over, split anywhere; [`MessageParser::push`]
//! returns whole messages as they complete (keep-alive: many per connection). Heads are parsed
//! with `httparse` once their empty line is in; bodies are framed by Content-Length, chunked
//! transfer coding (extensions and trailers skipped), or the end of the connection
//! ([`MessageParser::finish`]). Interim 1xx responses are skipped, 204/304/HEAD answers have no
//! body, and a 101 or a CONNECT tunnel ends HTTP/1 on the connection. Capture gaps inside a
//! body of known length are skipped ([`MessageParser::gap`]); anywhere else they lose sync,
//! and a failed parser stays failed so that its owner counts it once and resynchronises.

/// Which kind of message a parser reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Request,
    Response,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request/status line plus headers.
    pub max_head: usize,
    /// Largest body kept; the rest is skipped (and the message marked `body_truncated`).
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head: 64 * 1024,
            max_body: 16 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Head {
    /// Requests only.
    pub method: String,
    /// Requests only: the request target as sent.
    pub path: String,
    /// Responses only.
    pub status: u16,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version_minor: u8,
    /// In order; names lower-cased, values lossy UTF-8.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of a header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub head: Head,
    /// The body with transfer coding (chunked) removed, content coding (gzip...) still applied.
    pub body: Vec<u8>,
    /// Part of the body was not kept (over `max_body`, or lost in a capture gap).
    pub body_truncated: bool,
    /// Bytes the message took on the wire (head + body as framed).
    pub wire_len: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Http1Error {
    /// The bytes are not an HTTP/1.x message start.
    NotHttp,
    HeadTooLarge,
    BadHeader(String),
    BadContentLength,
    BadChunk,
    /// Bytes were lost where the parser cannot skip them (outside a body of known length).
    LostSync,
}

impl std::fmt::Display for Http1Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Http1Error::NotHttp => write!(f, "not an HTTP/1.x message"),
            Http1Error::HeadTooLarge => write!(f, "HTTP head larger than the limit"),
            Http1Error::BadHeader(e) => write!(f, "bad HTTP head: {e}"),
            Http1Error::BadContentLength => write!(f, "bad Content-Length"),
            Http1Error::BadChunk => write!(f, "bad chunked encoding"),
            Http1Error::LostSync => write!(f, "bytes lost outside a body of known length"),
        }
    }
}

impl std::error::Error for Http1Error {}

/// Methods a request may start with (RFC 9110 §9, PATCH, QUERY, and WebDAV's common ones).
/// A closed list on purpose: it is what tells a request from another protocol or from the
/// middle of a body when the probe attaches to a connection mid-way.
const METHODS: &[&[u8]] = &[
    b"GET ",
    b"POST ",
    b"PUT ",
    b"DELETE ",
    b"PATCH ",
    b"HEAD ",
    b"OPTIONS ",
    b"CONNECT ",
    b"TRACE ",
    b"QUERY ",
    b"PROPFIND ",
    b"PROPPATCH ",
    b"MKCOL ",
    b"COPY ",
    b"MOVE ",
    b"LOCK ",
    b"UNLOCK ",
    b"REPORT ",
    b"SEARCH ",
    b"PURGE ",
];

/// True if `b` starts with a request line's method and a space.
pub fn starts_like_request(b: &[u8]) -> bool {
    METHODS.iter().any(|m| b.starts_with(m))
}

/// True if `b` starts with an HTTP/1.x status line.
pub fn starts_like_response(b: &[u8]) -> bool {
    b.starts_with(b"HTTP/1.")
}

/// True if `b` could still become a message start of `role` once more bytes arrive.
fn could_start(role: Role, b: &[u8]) -> bool {
    let prefix_of = |whole: &[u8]| whole.starts_with(&b[..b.len().min(whole.len())]);
    match role {
        Role::Request => METHODS.iter().any(|m| prefix_of(m)) || starts_like_request(b),
        Role::Response => prefix_of(b"HTTP/1.") || starts_like_response(b),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Reading a head (request/status line + headers) into `buf`.
    Head,
    /// Inside a body of known remaining length.
    Body {
        remaining: u64,
    },
    /// Reading a chunk-size line into `buf`.
    ChunkSize,
    /// Inside chunk data.
    Chunk {
        remaining: u64,
    },
    /// The CRLF after chunk data: how many of its 2 bytes are still due.
    ChunkEnd {
        due: u8,
    },
    /// Trailer fields after the last chunk, up to an empty line, into `buf`.
    Trailers,
    /// A response body delimited by the end of the connection.
    UntilClose,
    /// The connection switched protocols (101, or a tunnel after CONNECT): nothing after
    /// this point is HTTP/1, and it is skipped.
    Upgraded,
    Failed(Http1Error),
}

/// What the response to a request may carry (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Body,
    /// A response to HEAD has no body whatever its headers say.
    NoBody,
    /// A 2xx response to CONNECT turns the connection into a tunnel.
    Tunnel,
}

/// Decides from a request head whether its body is worth keeping.
pub type BodyFilter = std::sync::Arc<dyn Fn(&Head) -> bool + Send + Sync>;

/// Most header fields in one head.
const MAX_HEADERS: usize = 256;
/// Longest chunk-size line.
const MAX_CHUNK_LINE: usize = 4096;

pub struct MessageParser {
    role: Role,
    limits: Limits,
    state: State,
    /// Bytes of a head, chunk-size line or trailers being accumulated.
    buf: Vec<u8>,
    /// The message being read (after its head).
    cur: Option<Message>,
    /// Responses: for each request still unanswered, what its response may carry and whether
    /// its body is wanted.
    expect: std::collections::VecDeque<(Expect, bool)>,
    /// Requests: decides from a head whether its body is wanted.
    body_filter: Option<BodyFilter>,
    /// The current message's body is kept (else only counted).
    keep: bool,
    /// Bytes of interim (1xx) heads, counted in the `wire_len` of the response that follows.
    interim_wire: u64,
}

impl MessageParser {
    pub fn new(role: Role, limits: Limits) -> Self {
        Self {
            role,
            limits,
            state: State::Head,
            buf: Vec::new(),
            cur: None,
            expect: Default::default(),
            body_filter: None,
            keep: true,
            interim_wire: 0,
        }
    }

    /// Requests only: bodies of requests `f` rejects are counted in `wire_len` but not kept
    /// (an upload to a non-AI host costs no memory).
    pub fn set_body_filter(&mut self, f: BodyFilter) {
        self.body_filter = Some(f);
    }

    /// Responses only: like [`MessageParser::expect_response_to`], with the body kept only if
    /// `keep_body` (the response to a request nobody reads need not be buffered).
    pub fn expect_response(&mut self, method: &str, keep_body: bool) {
        self.expect_response_to(method);
        if let Some(last) = self.expect.back_mut() {
            last.1 = keep_body;
        }
    }

    /// Responses only: the method of the request the next response answers (HEAD responses
    /// have no body; a 2xx to CONNECT starts a tunnel). Call once per request, in order:
    /// keep-alive clients may pipeline several requests before the first response.
    pub fn expect_response_to(&mut self, method: &str) {
        let expect = if method.eq_ignore_ascii_case("HEAD") {
            Expect::NoBody
        } else if method.eq_ignore_ascii_case("CONNECT") {
            Expect::Tunnel
        } else {
            Expect::Body
        };
        self.expect.push_back((expect, true));
    }

    /// The connection switched protocols (the caller saw a `101` answer an `Upgrade` request,
    /// or a tunnel open): bytes from now on are not HTTP/1 and are skipped. A response parser
    /// switches by itself when it reads a 101 or a 2xx to CONNECT.
    pub fn upgrade(&mut self) {
        if !matches!(self.state, State::Failed(_)) {
            self.state = State::Upgraded;
            self.buf = Vec::new();
            self.cur = None;
        }
    }

    /// True once the connection switched protocols (see [`MessageParser::upgrade`]).
    pub fn upgraded(&self) -> bool {
        self.state == State::Upgraded
    }

    /// True while part of a message is buffered.
    pub fn in_message(&self) -> bool {
        !matches!(self.state, State::Head | State::Failed(_) | State::Upgraded)
            || !self.buf.is_empty()
    }

    /// Bytes currently held.
    pub fn buffered(&self) -> usize {
        self.buf.capacity() + self.cur.as_ref().map_or(0, |m| m.body.capacity())
    }

    /// Feeds bytes in order; complete messages are appended to `out`. After an error the
    /// parser stays failed.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<Message>) -> Result<(), Http1Error> {
        if let State::Failed(e) = &self.state {
            return Err(e.clone());
        }
        let r = self.feed(data, out);
        if let Err(e) = &r {
            self.fail(e.clone());
        }
        r
    }

    /// `n` bytes of the stream were lost. Inside a body of known length they are skipped and
    /// the message is marked truncated; anywhere else the parser loses sync.
    pub fn gap(&mut self, n: u64, out: &mut Vec<Message>) -> Result<(), Http1Error> {
        if n == 0 {
            return Ok(());
        }
        let ok = match &mut self.state {
            State::Failed(e) => return Err(e.clone()),
            State::Body { remaining } | State::Chunk { remaining } if n <= *remaining => {
                *remaining -= n;
                true
            }
            State::UntilClose => true,
            State::Upgraded => return Ok(()),
            _ => false,
        };
        if !ok {
            self.fail(Http1Error::LostSync);
            return Err(Http1Error::LostSync);
        }
        if let Some(m) = self.cur.as_mut() {
            m.body_truncated = true;
            m.wire_len += n;
        }
        match self.state {
            State::Body { remaining: 0 } => self.complete(out),
            State::Chunk { remaining: 0 } => self.state = State::ChunkEnd { due: 2 },
            _ => {}
        }
        Ok(())
    }

    /// End of stream: a response delimited by the connection's end is complete now.
    pub fn finish(&mut self) -> Option<Message> {
        if self.state == State::UntilClose {
            self.state = State::Head;
            return self.cur.take();
        }
        None
    }

    /// End of stream in the middle of a message whose head was read (a client that hung up
    /// during a streamed answer): the message so far, marked `body_truncated`. Call after
    /// [`MessageParser::finish`]; the parser is then reset to read a new message.
    pub fn take_partial(&mut self) -> Option<Message> {
        if matches!(self.state, State::Failed(_) | State::Upgraded) {
            return None;
        }
        self.state = State::Head;
        self.buf.clear();
        let mut m = self.cur.take()?;
        m.body_truncated = true;
        Some(m)
    }

    fn fail(&mut self, e: Http1Error) {
        self.state = State::Failed(e);
        self.buf = Vec::new();
        self.cur = None;
    }

    fn complete(&mut self, out: &mut Vec<Message>) {
        self.state = State::Head;
        if let Some(m) = self.cur.take() {
            out.push(m);
        }
    }

    /// Appends body bytes, keeping at most `max_body`.
    fn body(&mut self, bytes: &[u8]) {
        if let Some(m) = self.cur.as_mut() {
            m.wire_len += bytes.len() as u64;
            if !self.keep {
                m.body_truncated |= !bytes.is_empty();
                return;
            }
            let room = self.limits.max_body.saturating_sub(m.body.len());
            if bytes.len() > room {
                m.body_truncated = true;
            }
            m.body.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }

    fn feed(&mut self, mut data: &[u8], out: &mut Vec<Message>) -> Result<(), Http1Error> {
        while !data.is_empty() {
            match self.state.clone() {
                State::Failed(e) => return Err(e),
                State::Head => {
                    if self.buf.is_empty() {
                        // Empty lines between messages are allowed (RFC 9112 §2.2).
                        let skip = data
                            .iter()
                            .take_while(|&&b| b == b'\r' || b == b'\n')
                            .count();
                        data = &data[skip..];
                        if data.is_empty() {
                            break;
                        }
                    }
                    // Never hold more than max_head (+1 to tell "too large") of a head.
                    let room = (self.limits.max_head + 1).saturating_sub(self.buf.len());
                    let window = &data[..data.len().min(room)];
                    let (taken, done) = take_head(&self.buf, window);
                    self.buf.extend_from_slice(&window[..taken]);
                    data = &data[taken..];
                    if !could_start(self.role, &self.buf) {
                        return Err(Http1Error::NotHttp);
                    }
                    if self.buf.len() > self.limits.max_head {
                        return Err(Http1Error::HeadTooLarge);
                    }
                    if done {
                        let head = std::mem::take(&mut self.buf);
                        self.on_head(&head, out)?;
                        self.buf = head;
                        self.buf.clear();
                    }
                }
                State::Body { remaining } => {
                    let n = (remaining.min(data.len() as u64)) as usize;
                    self.body(&data[..n]);
                    data = &data[n..];
                    self.state = State::Body {
                        remaining: remaining - n as u64,
                    };
                    if remaining == n as u64 {
                        self.complete(out);
                    }
                }
                State::ChunkSize => {
                    let (taken, line) = take_line(data);
                    self.buf.extend_from_slice(&data[..taken]);
                    self.wire(taken);
                    data = &data[taken..];
                    if self.buf.len() > MAX_CHUNK_LINE {
                        return Err(Http1Error::BadChunk);
                    }
                    if line {
                        let size = parse_chunk_size(&self.buf)?;
                        self.buf.clear();
                        self.state = if size == 0 {
                            State::Trailers
                        } else {
                            State::Chunk { remaining: size }
                        };
                    }
                }
                State::Chunk { remaining } => {
                    let n = (remaining.min(data.len() as u64)) as usize;
                    self.body(&data[..n]);
                    data = &data[n..];
                    self.state = if remaining == n as u64 {
                        State::ChunkEnd { due: 2 }
                    } else {
                        State::Chunk {
                            remaining: remaining - n as u64,
                        }
                    };
                }
                State::ChunkEnd { due } => {
                    // CRLF after the chunk data; a bare LF is tolerated (RFC 9112 §2.2).
                    let done = match (due, data[0]) {
                        (2, b'\r') => false,
                        (_, b'\n') => true,
                        _ => return Err(Http1Error::BadChunk),
                    };
                    self.wire(1);
                    data = &data[1..];
                    self.state = if done {
                        State::ChunkSize
                    } else {
                        State::ChunkEnd { due: 1 }
                    };
                }
                State::Trailers => {
                    let (taken, line) = take_line(data);
                    self.buf.extend_from_slice(&data[..taken]);
                    self.wire(taken);
                    data = &data[taken..];
                    if self.buf.len() > self.limits.max_head {
                        return Err(Http1Error::HeadTooLarge);
                    }
                    if line {
                        let empty = self.buf == b"\r\n" || self.buf == b"\n";
                        self.buf.clear();
                        if empty {
                            self.complete(out);
                        }
                    }
                }
                State::UntilClose => {
                    self.body(data);
                    data = &[];
                }
                State::Upgraded => data = &[],
            }
        }
        Ok(())
    }

    fn wire(&mut self, n: usize) {
        if let Some(m) = self.cur.as_mut() {
            m.wire_len += n as u64;
        }
    }

    /// A complete head: decides how the body is framed.
    fn on_head(&mut self, raw: &[u8], out: &mut Vec<Message>) -> Result<(), Http1Error> {
        let head = parse_head(self.role, raw)?;
        // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length; chunked must be last.
        let te = head
            .headers
            .iter()
            .filter(|(n, _)| n == "transfer-encoding")
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .rfind(|c| !c.is_empty());
        let te_chunked = te.is_some_and(|c| c.eq_ignore_ascii_case("chunked"));
        if te.is_some() && !te_chunked && self.role == Role::Request {
            // The request's length cannot be known (§6.3 rule 4).
            return Err(Http1Error::BadHeader(
                "request Transfer-Encoding does not end in chunked".into(),
            ));
        }
        let length = if te.is_some() {
            None
        } else {
            content_length(&head)?
        };
        let mut upgrade = false;
        let no_body = match self.role {
            Role::Request => {
                self.keep = self.body_filter.as_ref().is_none_or(|f| f(&head));
                false
            }
            Role::Response => {
                if (100..200).contains(&head.status) && head.status != 101 {
                    // Interim (100 Continue, 103 Early Hints): the real response follows.
                    self.interim_wire += raw.len() as u64;
                    return Ok(());
                }
                let (expect, keep) = self.expect.pop_front().unwrap_or((Expect::Body, true));
                self.keep = keep;
                // 101 Switching Protocols, or a tunnel opened by CONNECT, ends HTTP/1 on
                // this connection (RFC 9110 §15.2.2, §9.3.6).
                upgrade = head.status == 101
                    || (expect == Expect::Tunnel && (200..300).contains(&head.status));
                upgrade || expect == Expect::NoBody || head.status == 204 || head.status == 304
            }
        };
        self.cur = Some(Message {
            head,
            body: Vec::new(),
            body_truncated: false,
            wire_len: raw.len() as u64 + std::mem::take(&mut self.interim_wire),
        });
        if upgrade {
            self.complete(out);
            self.state = State::Upgraded;
        } else if no_body {
            self.complete(out);
        } else if te_chunked {
            self.state = State::ChunkSize;
        } else if let Some(n) = length {
            self.state = State::Body { remaining: n };
            if n == 0 {
                self.complete(out);
            }
        } else if self.role == Role::Request {
            self.complete(out); // a request without framing has no body
        } else {
            self.state = State::UntilClose;
        }
        Ok(())
    }
}

/// How many bytes of `data` belong to the head whose start is in `prev`, and whether the head
/// ends there, at the empty line: CRLF CRLF, or a bare LF for either (RFC 9112 §2.2).
fn take_head(prev: &[u8], data: &[u8]) -> (usize, bool) {
    // The byte `back` places before data[i], looking into prev when needed.
    let before = |i: usize, back: usize| -> Option<u8> {
        if i >= back {
            Some(data[i - back])
        } else {
            prev.len()
                .checked_sub(back - i)
                .and_then(|j| prev.get(j).copied())
        }
    };
    for i in memchr::memchr_iter(b'\n', data) {
        let empty_line = match before(i, 1) {
            Some(b'\n') => true,
            Some(b'\r') => before(i, 2) == Some(b'\n'),
            _ => false,
        };
        if empty_line {
            return (i + 1, true);
        }
    }
    (data.len(), false)
}

/// Bytes of `data` up to and including the first LF, and whether there was one.
fn take_line(data: &[u8]) -> (usize, bool) {
    match memchr::memchr(b'\n', data) {
        Some(i) => (i + 1, true),
        None => (data.len(), false),
    }
}

/// `chunk-size [ chunk-ext ] CRLF` (RFC 9112 §7.1.1); extensions are ignored.
fn parse_chunk_size(line: &[u8]) -> Result<u64, Http1Error> {
    let end = memchr::memchr(b';', line).unwrap_or(line.len());
    let size = line[..end].trim_ascii();
    let size = match size.iter().position(|&b| b != b'0') {
        Some(i) => &size[i..],
        None if !size.is_empty() => return Ok(0),
        None => return Err(Http1Error::BadChunk),
    };
    if size.len() > 15 || !size.iter().all(u8::is_ascii_hexdigit) {
        return Err(Http1Error::BadChunk);
    }
    size.iter().try_fold(0u64, |n, &d| {
        let d = char::from(d).to_digit(16).ok_or(Http1Error::BadChunk)?;
        Ok(n << 4 | u64::from(d))
    })
}

fn content_length(head: &Head) -> Result<Option<u64>, Http1Error> {
    let mut found: Option<u64> = None;
    for (n, v) in &head.headers {
        if n != "content-length" {
            continue;
        }
        for part in v.split(',') {
            let part = part.trim();
            if part.is_empty() || part.len() > 19 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Http1Error::BadContentLength);
            }
            let len: u64 = part.parse().map_err(|_| Http1Error::BadContentLength)?;
            if found.is_some_and(|f| f != len) {
                return Err(Http1Error::BadContentLength);
            }
            found = Some(len);
        }
    }
    Ok(found)
}

fn parse_head(role: Role, raw: &[u8]) -> Result<Head, Http1Error> {
    let mut headers = vec![httparse::EMPTY_HEADER; MAX_HEADERS];
    let bad = |e: httparse::Error| Http1Error::BadHeader(e.to_string());
    let mut head = Head::default();
    let fields = match role {
        Role::Request => {
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(raw).map_err(bad)? {
                httparse::Status::Complete(_) => {}
                httparse::Status::Partial => return Err(Http1Error::BadHeader("partial".into())),
            }
            head.method = req.method.unwrap_or_default().to_string();
            head.path = req.path.unwrap_or_default().to_string();
            head.version_minor = req.version.unwrap_or(1);
            req.headers.len()
        }
        Role::Response => {
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(raw).map_err(bad)? {
                httparse::Status::Complete(_) => {}
                httparse::Status::Partial => return Err(Http1Error::BadHeader("partial".into())),
            }
            head.status = resp.code.unwrap_or(0);
            head.version_minor = resp.version.unwrap_or(1);
            resp.headers.len()
        }
    };
    head.headers = headers[..fields]
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQS: &[u8] = b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Length: 11\r\n\r\n{\"a\":\"xyz\"}\
\r\nPOST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{\"b\"\r\n3\r\n:1}\r\n0\r\nX-Trailer: t\r\n\r\n\
GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

    fn parse(role: Role, chunks: &[&[u8]]) -> Result<Vec<Message>, Http1Error> {
        let mut p = MessageParser::new(role, Limits::default());
        let mut out = Vec::new();
        for c in chunks {
            p.push(c, &mut out)?;
        }
        Ok(out)
    }

    #[test]
    fn keep_alive_requests_with_length_chunked_and_no_body() {
        let m = parse(Role::Request, &[REQS]).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].head.method, "POST");
        assert_eq!(m[0].head.header("host"), Some("api.openai.com"));
        assert_eq!(m[0].body, b"{\"a\":\"xyz\"}");
        assert_eq!(m[1].body, b"{\"b\":1}");
        assert_eq!(m[2].head.path, "/health");
        assert!(m[2].body.is_empty());
        let total: u64 = m.iter().map(|m| m.wire_len).sum();
        assert_eq!(
            total,
            REQS.len() as u64 - 2,
            "all but the blank line between messages"
        );
    }

    #[test]
    fn every_split_gives_the_same_messages() {
        let whole = parse(Role::Request, &[REQS]).unwrap();
        for i in 0..=REQS.len() {
            assert_eq!(
                parse(Role::Request, &[&REQS[..i], &REQS[i..]]).unwrap(),
                whole,
                "split {i}"
            );
        }
        let bytes: Vec<&[u8]> = REQS.chunks(1).collect();
        assert_eq!(parse(Role::Request, &bytes).unwrap(), whole);
    }

    #[test]
    fn responses_interim_head_and_until_close() {
        let mut p = MessageParser::new(Role::Response, Limits::default());
        p.expect_response_to("POST");
        p.expect_response_to("HEAD");
        p.expect_response_to("GET");
        let mut out = Vec::new();
        p.push(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.1 200 OK\r\n\r\nuntil close",
            &mut out,
        )
        .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].body, b"ok");
        assert_eq!(out[0].wire_len, 25 + 40, "the 100 Continue is counted too");
        assert!(out[1].body.is_empty(), "HEAD response has no body");
        assert!(p.in_message());
        let last = p.finish().unwrap();
        assert_eq!(last.body, b"until close");
        assert!(!p.in_message());
    }

    #[test]
    fn gaps_inside_known_bodies_keep_sync() {
        let mut p = MessageParser::new(Role::Request, Limits::default());
        let mut out = Vec::new();
        p.push(
            b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123",
            &mut out,
        )
        .unwrap();
        p.gap(4, &mut out).unwrap();
        p.push(b"89GET / HTTP/1.1\r\n\r\n", &mut out).unwrap();
        assert_eq!(out.len(), 2);
        assert!(out[0].body_truncated);
        assert_eq!(out[0].body, b"012389");
        // a gap in a head cannot be skipped
        p.push(b"POST / HTTP/1.1\r\nConte", &mut out).unwrap();
        assert_eq!(p.gap(3, &mut out), Err(Http1Error::LostSync));
        assert_eq!(p.push(b"x", &mut out), Err(Http1Error::LostSync));
    }

    #[test]
    fn garbage_and_limits_fail_cleanly() {
        assert_eq!(
            parse(Role::Request, &[b"\x16\x03\x01garbage"]),
            Err(Http1Error::NotHttp)
        );
        assert_eq!(
            parse(Role::Request, &[b"EHLO agent\r\n"]),
            Err(Http1Error::NotHttp)
        );
        assert_eq!(
            parse(Role::Response, &[b"POST / HTTP/1.1\r\n\r\n"]),
            Err(Http1Error::NotHttp)
        );
        assert_eq!(
            parse(
                Role::Request,
                &[b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"]
            ),
            Err(Http1Error::BadContentLength)
        );
        assert_eq!(
            parse(
                Role::Request,
                &[b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"]
            ),
            Err(Http1Error::BadChunk)
        );
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', 70_000));
        assert_eq!(parse(Role::Request, &[&big]), Err(Http1Error::HeadTooLarge));
        // bodies over the limit are cut, not buffered
        let limits = Limits {
            max_head: 1024,
            max_body: 4,
        };
        let mut p = MessageParser::new(Role::Request, limits);
        let mut out = Vec::new();
        p.push(
            b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789",
            &mut out,
        )
        .unwrap();
        assert_eq!(out[0].body, b"0123");
        assert!(out[0].body_truncated);
    }

    #[test]
    fn upgrades_and_tunnels_end_http1() {
        let mut p = MessageParser::new(Role::Response, Limits::default());
        p.expect_response_to("GET");
        let mut out = Vec::new();
        p.push(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello",
            &mut out,
        )
        .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].head.status, 101);
        assert!(p.upgraded() && !p.in_message());
        p.push(b"\x00\x01 not http", &mut out).unwrap();
        p.gap(10, &mut out).unwrap();
        assert_eq!(out.len(), 1);

        let mut p = MessageParser::new(Role::Response, Limits::default());
        p.expect_response_to("CONNECT");
        p.push(
            b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01",
            &mut out,
        )
        .unwrap();
        assert!(p.upgraded());
        assert!(out[1].body.is_empty());

        let mut p = MessageParser::new(Role::Request, Limits::default());
        p.push(
            b"GET /v1/responses HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            &mut out,
        )
        .unwrap();
        p.upgrade();
        p.push(b"\x81\x85masked", &mut out).unwrap();
        assert!(p.upgraded());
    }

    #[test]
    fn lenient_line_ends_and_strict_numbers() {
        let m = parse(
            Role::Request,
            &[b"POST /x HTTP/1.1\nHost: h\nContent-Length: 2\n\nokGET / HTTP/1.1\r\n\n"],
        )
        .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].body, b"ok");
        let m = parse(
            Role::Response,
            &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0002\nok\n000\r\n\r\n"],
        )
        .unwrap();
        assert_eq!(m[0].body, b"ok");
        for bad in [
            &b"+a"[..],
            b"-1",
            b"0x10",
            b"",
            b"1 2",
            b"10000000000000000",
        ] {
            let mut raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            raw.extend_from_slice(bad);
            raw.extend_from_slice(b"\r\n");
            assert_eq!(
                parse(Role::Response, &[&raw]),
                Err(Http1Error::BadChunk),
                "{bad:?}"
            );
        }
        for bad in ["+5", "-1", "5 5", "1,2", "99999999999999999999999"] {
            let raw = format!("POST / HTTP/1.1\r\nContent-Length: {bad}\r\n\r\n");
            assert_eq!(
                parse(Role::Request, &[raw.as_bytes()]),
                Err(Http1Error::BadContentLength),
                "{bad}"
            );
        }
        // Repeated equal lengths are one length (RFC 9110 §8.6).
        let m = parse(
            Role::Request,
            &[b"POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\nok"],
        )
        .unwrap();
        assert_eq!(m[0].body, b"ok");
    }

    #[test]
    fn transfer_encoding_overrides_content_length() {
        let m = parse(
            Role::Request,
            &[b"POST / HTTP/1.1\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"],
        )
        .unwrap();
        assert_eq!(m[0].body, b"ok");
        assert!(matches!(
            parse(
                Role::Request,
                &[b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"]
            ),
            Err(Http1Error::BadHeader(_))
        ));
        // A response whose coding is not chunked runs until close.
        let mut p = MessageParser::new(Role::Response, Limits::default());
        let mut out = Vec::new();
        p.push(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 1\r\n\r\nabc",
            &mut out,
        )
        .unwrap();
        assert!(out.is_empty());
        assert_eq!(p.finish().unwrap().body, b"abc");
    }

    #[test]
    fn a_hung_up_stream_gives_its_partial_message() {
        let mut p = MessageParser::new(Role::Response, Limits::default());
        let mut out = Vec::new();
        p.push(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\ndata:",
            &mut out,
        )
        .unwrap();
        assert!(p.finish().is_none());
        let m = p.take_partial().unwrap();
        assert_eq!(m.body, b"data:");
        assert!(m.body_truncated);
        assert!(!p.in_message());
        assert!(p.take_partial().is_none());
    }

    #[test]
    fn a_huge_push_without_a_head_end_is_not_buffered() {
        let limits = Limits {
            max_head: 1024,
            max_body: 1024,
        };
        let mut p = MessageParser::new(Role::Request, limits);
        let mut big = b"POST / HTTP/1.1\r\nX: ".to_vec();
        big.resize(10 << 20, b'a');
        assert_eq!(p.push(&big, &mut Vec::new()), Err(Http1Error::HeadTooLarge));
        assert_eq!(p.buffered(), 0);
    }

    #[test]
    fn gap_rules() {
        // In chunk data: skipped. Past the chunk's end, or in a size line: lost.
        let mut p = MessageParser::new(Role::Response, Limits::default());
        let mut out = Vec::new();
        p.push(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n01",
            &mut out,
        )
        .unwrap();
        p.gap(8, &mut out).unwrap();
        p.push(b"\r\n0\r\n\r\n", &mut out).unwrap();
        assert_eq!(out[0].body, b"01");
        assert!(out[0].body_truncated);
        assert_eq!(out[0].wire_len, 67);
        p.push(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab", &mut out)
            .unwrap();
        assert_eq!(p.gap(3, &mut out), Err(Http1Error::LostSync));
        // Until close: anything may be lost.
        let mut p = MessageParser::new(Role::Response, Limits::default());
        p.push(b"HTTP/1.0 200 OK\r\n\r\nab", &mut out).unwrap();
        p.gap(1000, &mut out).unwrap();
        let m = p.finish().unwrap();
        assert!(m.body_truncated);
        assert_eq!(m.body, b"ab");
    }

    #[test]
    fn unwanted_bodies_are_counted_not_kept() {
        let mut p = MessageParser::new(Role::Request, Limits::default());
        p.set_body_filter(std::sync::Arc::new(|h: &Head| h.path.starts_with("/v1/")));
        let mut out = Vec::new();
        p.push(
            b"POST /upload HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloPOST /v1/chat/completions HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
            &mut out,
        )
        .unwrap();
        assert!(out[0].body.is_empty() && out[0].body_truncated);
        assert_eq!(out[0].wire_len, 49);
        assert_eq!(out[1].body, b"{}");
        let mut r = MessageParser::new(Role::Response, Limits::default());
        r.expect_response("GET", false);
        r.expect_response("POST", true);
        r.push(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nxyz",
            &mut out,
        )
        .unwrap();
        assert!(out[2].body.is_empty());
        assert_eq!(out[3].body, b"xyz");
    }

    #[test]
    fn starts() {
        assert!(starts_like_request(b"POST /v1 HTTP/1.1"));
        assert!(!starts_like_request(b"POSTER"));
        assert!(starts_like_response(b"HTTP/1.1 200 OK"));
        assert!(!starts_like_response(b"HTTP/2"));
    }
}
