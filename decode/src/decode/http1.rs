//! HTTP/1.1 messages (RFC 9112) from one direction of a connection, as a push parser.

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
