//! HTTP/2 (RFC 9113) from one direction of a connection, as a push parser.
//!
//! The client's writes start with the connection preface, then frames; the server's answers
//! (the client's reads) are frames from the start. Frames arrive split anywhere. Header blocks
//! (HEADERS or PUSH_PROMISE plus CONTINUATION) are decoded with this direction's HPACK
//! decoder, every one of them, even on streams nobody reads, because they all update the
//! dynamic table. Each stream gives one [`Message`] in the shape HTTP/1.1 gives (pseudo-
//! headers as method, path, `host` and status; names lower-case), complete at END_STREAM.
//! Interim 1xx heads and trailers are decoded and skipped; RST_STREAM ends a stream as
//! incomplete; streams the server pushes (PUSH_PROMISE) are decoded for HPACK only, and their
//! DATA skipped; PING, SETTINGS, WINDOW_UPDATE, PRIORITY and unknown frame types carry nothing
//! we report. DATA payloads are streamed into the body, never buffered as frames, so only
//! header and control frames count against the frame size cap.
//!
//! A parser that fails (bad preface, bad HPACK, frame over the cap, broken framing, bytes lost
//! anywhere but inside a DATA payload) stays failed: after any of these the HPACK state can no
//! longer be trusted, and wrong headers are worse than none.

use super::hpack::{self, HpackError};
use super::http1::{BodyFilter, Head, Message};
use std::collections::{HashMap, HashSet};

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const PRIORITY: u8 = 2;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const PUSH_PROMISE: u8 = 5;
const PING: u8 = 6;
const GOAWAY: u8 = 7;
const WINDOW_UPDATE: u8 = 8;
const CONTINUATION: u8 = 9;

const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY_FLAG: u8 = 0x20;

const FRAME_HEADER_LEN: usize = 9;

/// True if `d` starts like an HTTP/2 server's first bytes on a connection: its preface is a
/// SETTINGS frame without ACK on stream 0 (RFC 9113 §3.4), which a server may send before it
/// reads anything. A client's first bytes are the client preface instead.
pub fn starts_like_server_preface(d: &[u8]) -> bool {
    d.len() >= FRAME_HEADER_LEN
        && d[3] == SETTINGS
        && d[4] == 0
        && d[5..9] == [0, 0, 0, 0]
        && (usize::from(d[0]) << 16 | usize::from(d[1]) << 8 | usize::from(d[2])).checked_rem(6)
            == Some(0)
}

/// Which side's frames a parser reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The client's writes: preface, then requests.
    Request,
    /// The server's frames, as the client reads them: responses.
    Response,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest header block (encoded, all its frames) and largest buffered control frame.
    pub max_header_block: usize,
    /// Largest decoded header list (names + values + 32 per field).
    pub max_header_list: usize,
    /// Largest dynamic table an encoder may set.
    pub max_table: usize,
    /// Largest body kept per stream; the rest is counted and the message marked truncated.
    pub max_body: usize,
    /// Largest sum of the bodies kept by all streams at once: streams multiply what one
    /// message may hold, so they share one budget. Past it, bodies are marked truncated and
    /// the bytes counted ([`FrameParser::take_over_budget`]).
    pub body_budget: usize,
    /// Streams open at once at most.
    pub max_streams: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_header_block: 64 * 1024,
            max_header_list: 64 * 1024,
            max_table: 64 * 1024,
            max_body: 16 * 1024 * 1024,
            body_budget: 16 * 1024 * 1024,
            max_streams: 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A stream's message, complete at END_STREAM.
    Message(u32, Message),
    /// The final head of a stream was decoded (its body may follow).
    Head(u32),
    /// RST_STREAM: the stream is over, incomplete. `partial`: this parser held part of a
    /// message on it; `cut`: that message so far, if its head was read (marked truncated),
    /// for an owner that must still report it (e.g. its response came early).
    Reset {
        stream: u32,
        partial: bool,
        cut: Option<Box<Message>>,
    },
    /// A head without the pseudo-headers a message needs: the stream is dropped.
    Malformed(u32),
    /// GOAWAY: the peer will not process streams above `last_stream`.
    GoAway { last_stream: u32 },
    /// PUSH_PROMISE: a pushed response nobody asked for (its headers were decoded, to keep
    /// HPACK in step, and are ignored, as are the pushed stream's frames).
    PushPromise,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Http2Error {
    /// The write side did not start with the client preface.
    BadPreface,
    Hpack(HpackError),
    /// A header or control frame over the cap.
    FrameTooLarge {
        kind: u8,
        len: usize,
    },
    /// Framing that breaks RFC 9113 in a way that loses the frame boundaries or HPACK state.
    Protocol(&'static str),
    /// More streams open at once than the cap.
    TooManyStreams,
    /// Bytes were lost outside a DATA payload.
    LostSync,
}

impl std::fmt::Display for Http2Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Http2Error::BadPreface => write!(f, "no HTTP/2 client preface"),
            Http2Error::Hpack(e) => write!(f, "HTTP/2 headers: {e}"),
            Http2Error::FrameTooLarge { kind, len } => {
                write!(
                    f,
                    "HTTP/2 frame of type {kind} with {len} bytes is over the cap"
                )
            }
            Http2Error::Protocol(e) => write!(f, "HTTP/2 framing: {e}"),
            Http2Error::TooManyStreams => write!(f, "too many concurrent HTTP/2 streams"),
            Http2Error::LostSync => write!(f, "bytes lost outside an HTTP/2 DATA payload"),
        }
    }
}

impl std::error::Error for Http2Error {}

impl From<HpackError> for Http2Error {
    fn from(e: HpackError) -> Self {
        Http2Error::Hpack(e)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameHeader {
    len: usize,
    kind: u8,
    flags: u8,
    stream: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Bytes of the client preface matched so far.
    Preface(usize),
    /// Reading a 9-byte frame header into `hdr`.
    Header,
    /// Buffering the payload of a header or control frame into `buf`.
    Buffer(FrameHeader),
    /// DATA with PADDED: its pad length byte is next.
    DataPad(FrameHeader),
    /// Inside a DATA payload: `left` data bytes, then `pad` padding bytes.
    Data {
        stream: u32,
        left: usize,
        pad: usize,
        end: bool,
    },
    /// The payload of a frame type this parser does not know.
    Skip(usize),
    Failed(Http2Error),
}

/// A header block split over HEADERS/PUSH_PROMISE and CONTINUATION frames.
#[derive(Debug, Clone, Copy)]
struct OpenBlock {
    stream: u32,
    end_stream: bool,
    /// A PUSH_PROMISE's block.
    push: bool,
    /// A block on a pushed stream: decoded for HPACK only.
    pushed: bool,
}

#[derive(Default)]
struct Stream {
    /// The final head, once decoded.
    head: Option<Head>,
    body: Vec<u8>,
    keep: bool,
    truncated: bool,
    wire: u64,
}

pub struct FrameParser {
    role: Role,
    limits: Limits,
    hpack: hpack::Decoder,
    state: State,
    hdr: [u8; FRAME_HEADER_LEN],
    hdr_len: usize,
    /// Payload of the frame being buffered.
    buf: Vec<u8>,
    /// Header block being gathered across CONTINUATION frames.
    block: Vec<u8>,
    open: Option<OpenBlock>,
    streams: HashMap<u32, Stream>,
    /// Requests: decides from a head whether its body is kept.
    body_filter: Option<BodyFilter>,
    /// Responses: per stream, whether its body is kept. Streams not listed were never asked
    /// for: their bodies are not kept. The owner bounds it (one entry per request it tracks).
    wanted: HashMap<u32, bool>,
    /// Streams the server promised to push: nobody asked for them, so their frames are
    /// decoded for HPACK only.
    promised: HashSet<u32>,
    /// Body bytes kept by all streams together, against `limits.body_budget`.
    held: usize,
    /// Body bytes dropped because the budget was spent, not yet taken by the owner.
    over_budget: u64,
}

impl FrameParser {
    pub fn new(role: Role, limits: Limits) -> Self {
        Self {
            role,
            limits,
            hpack: hpack::Decoder::new(limits.max_table, limits.max_header_list),
            state: match role {
                Role::Request => State::Preface(0),
                Role::Response => State::Header,
            },
            hdr: [0; FRAME_HEADER_LEN],
            hdr_len: 0,
            buf: Vec::new(),
            block: Vec::new(),
            open: None,
            streams: HashMap::new(),
            body_filter: None,
            wanted: HashMap::new(),
            promised: HashSet::new(),
            held: 0,
            over_budget: 0,
        }
    }

    /// Requests only: bodies of requests `f` rejects are counted, not kept.
    pub fn set_body_filter(&mut self, f: BodyFilter) {
        self.body_filter = Some(f);
    }

    /// Responses only: whether the body of the response on `stream` is worth keeping. Call
    /// as soon as its request's head is known (it may be answered before it ends); a
    /// response whose request was never registered does not keep its body. The entry goes
    /// when the response ends or [`reset_stream`](Self::reset_stream) is called: the owner
    /// keeps the number bounded by the requests it tracks.
    pub fn expect_response(&mut self, stream: u32, keep_body: bool) {
        self.wanted.insert(stream, keep_body);
    }

    /// The head of the message open on `stream`, if it was read.
    pub fn head(&self, stream: u32) -> Option<&Head> {
        self.streams.get(&stream).and_then(|s| s.head.as_ref())
    }

    /// Whether the body of the message open on `stream` is kept (its head passed the filter).
    pub fn keeps_body(&self, stream: u32) -> bool {
        self.streams.get(&stream).is_some_and(|s| s.keep)
    }

    /// Body bytes dropped since the last call because all streams together held the budget.
    pub fn take_over_budget(&mut self) -> u64 {
        std::mem::take(&mut self.over_budget)
    }

    /// True between frames (or failed): where a new connection's preface could start if the
    /// `SSL*` was reused without this parser hearing of it.
    pub fn at_frame_start(&self) -> bool {
        match self.state {
            State::Header => self.hdr_len == 0 && self.open.is_none(),
            State::Failed(_) => true,
            _ => false,
        }
    }

    /// Bytes currently held (buffers, kept bodies, the HPACK table).
    pub fn buffered(&self) -> usize {
        self.buf.capacity()
            + self.block.capacity()
            + self.hpack.table_size()
            + self
                .streams
                .values()
                .map(|s| s.body.capacity())
                .sum::<usize>()
    }

    pub fn failed(&self) -> bool {
        matches!(self.state, State::Failed(_))
    }

    /// True while some stream has part of a message.
    pub fn in_message(&self) -> bool {
        !self.streams.is_empty()
    }

    /// The stream was reset (by either side): whatever this parser held of it is dropped.
    /// Returns true if it held part of a message.
    pub fn reset_stream(&mut self, stream: u32) -> bool {
        self.wanted.remove(&stream);
        self.promised.remove(&stream);
        self.remove_stream(stream).is_some()
    }

    /// Like [`reset_stream`](Self::reset_stream), but returns the message so far (marked
    /// truncated) if its head was read.
    pub fn take_stream(&mut self, stream: u32) -> Option<Message> {
        self.wanted.remove(&stream);
        self.promised.remove(&stream);
        let s = self.remove_stream(stream)?;
        s.head.map(|head| Message {
            head,
            body: s.body,
            body_truncated: true,
            wire_len: s.wire,
        })
    }

    /// Removes a stream, giving its body's bytes back to the budget.
    fn remove_stream(&mut self, stream: u32) -> Option<Stream> {
        let s = self.streams.remove(&stream)?;
        self.held = self.held.saturating_sub(s.body.len());
        Some(s)
    }

    /// End of the connection: the messages whose head was read and whose end never came,
    /// marked `body_truncated`, by stream id.
    pub fn take_partials(&mut self) -> Vec<(u32, Message)> {
        self.held = 0;
        let mut v: Vec<_> = self
            .streams
            .drain()
            .filter_map(|(id, s)| {
                s.head.map(|head| {
                    (
                        id,
                        Message {
                            head,
                            body: s.body,
                            body_truncated: true,
                            wire_len: s.wire,
                        },
                    )
                })
            })
            .collect();
        v.sort_by_key(|(id, _)| *id);
        v
    }

    /// Feeds bytes in order; events are appended to `out`. After an error the parser stays
    /// failed.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<Event>) -> Result<(), Http2Error> {
        if let State::Failed(e) = &self.state {
            return Err(e.clone());
        }
        let r = self.feed(data, out);
        if let Err(e) = &r {
            self.fail(e.clone());
        }
        r
    }

    /// `n` bytes of the stream were lost. Inside a DATA payload they are skipped and the
    /// message marked truncated; anywhere else the frame boundaries or the HPACK state are
    /// gone and the parser fails.
    pub fn gap(&mut self, n: usize, out: &mut Vec<Event>) -> Result<(), Http2Error> {
        if n == 0 {
            return Ok(());
        }
        match self.state.clone() {
            State::Failed(e) => Err(e),
            State::Data {
                stream,
                left,
                pad,
                end,
            } if n <= left + pad => {
                if let Some(s) = self.streams.get_mut(&stream) {
                    s.truncated |= n.min(left) > 0;
                }
                let from_data = n.min(left);
                self.state = State::Data {
                    stream,
                    left: left - from_data,
                    pad: pad - (n - from_data),
                    end,
                };
                self.data_done(out);
                Ok(())
            }
            State::Skip(left) if n <= left => {
                self.state = if n == left {
                    State::Header
                } else {
                    State::Skip(left - n)
                };
                Ok(())
            }
            _ => {
                self.fail(Http2Error::LostSync);
                Err(Http2Error::LostSync)
            }
        }
    }

    /// Streams with part of a message (head or not yet).
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    fn fail(&mut self, e: Http2Error) {
        self.state = State::Failed(e);
        self.buf = Vec::new();
        self.block = Vec::new();
        // The streams stay, without their bodies, for the owner to count what was cut.
        for s in self.streams.values_mut() {
            s.body = Vec::new();
        }
        self.held = 0;
        self.wanted.clear();
        self.promised.clear();
    }

    fn feed(&mut self, mut data: &[u8], out: &mut Vec<Event>) -> Result<(), Http2Error> {
        while !data.is_empty() {
            match self.state.clone() {
                State::Failed(e) => return Err(e),
                State::Preface(seen) => {
                    let n = (PREFACE.len() - seen).min(data.len());
                    if data[..n] != PREFACE[seen..seen + n] {
                        return Err(Http2Error::BadPreface);
                    }
                    data = &data[n..];
                    self.state = if seen + n == PREFACE.len() {
                        State::Header
                    } else {
                        State::Preface(seen + n)
                    };
                }
                State::Header => {
                    let n = (FRAME_HEADER_LEN - self.hdr_len).min(data.len());
                    self.hdr[self.hdr_len..self.hdr_len + n].copy_from_slice(&data[..n]);
                    self.hdr_len += n;
                    data = &data[n..];
                    if self.hdr_len == FRAME_HEADER_LEN {
                        self.hdr_len = 0;
                        let h = &self.hdr;
                        let fh = FrameHeader {
                            len: usize::from(h[0]) << 16
                                | usize::from(h[1]) << 8
                                | usize::from(h[2]),
                            kind: h[3],
                            flags: h[4],
                            stream: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff,
                        };
                        self.begin_frame(fh, out)?;
                    }
                }
                State::Buffer(fh) => {
                    let n = (fh.len - self.buf.len()).min(data.len());
                    self.buf.extend_from_slice(&data[..n]);
                    data = &data[n..];
                    if self.buf.len() == fh.len {
                        self.state = State::Header;
                        let payload = std::mem::take(&mut self.buf);
                        let r = self.frame(fh, &payload, out);
                        self.buf = payload;
                        self.buf.clear();
                        r?;
                    }
                }
                State::DataPad(fh) => {
                    let pad = usize::from(data[0]);
                    data = &data[1..];
                    if pad > fh.len - 1 {
                        return Err(Http2Error::Protocol("DATA padding longer than the frame"));
                    }
                    self.state = State::Data {
                        stream: fh.stream,
                        left: fh.len - 1 - pad,
                        pad,
                        end: fh.flags & END_STREAM != 0,
                    };
                    self.data_done(out);
                }
                State::Data {
                    stream,
                    left,
                    pad,
                    end,
                } => {
                    let n = left.min(data.len());
                    self.body(stream, &data[..n]);
                    data = &data[n..];
                    let p = pad.min(data.len());
                    data = &data[p..];
                    self.state = State::Data {
                        stream,
                        left: left - n,
                        pad: pad - p,
                        end,
                    };
                    self.data_done(out);
                }
                State::Skip(left) => {
                    let n = left.min(data.len());
                    data = &data[n..];
                    self.state = if n == left {
                        State::Header
                    } else {
                        State::Skip(left - n)
                    };
                }
            }
        }
        Ok(())
    }

    /// A frame header was read: decides how its payload is consumed.
    fn begin_frame(&mut self, fh: FrameHeader, out: &mut Vec<Event>) -> Result<(), Http2Error> {
        if let Some(open) = self.open {
            if fh.kind != CONTINUATION || fh.stream != open.stream {
                return Err(Http2Error::Protocol("header block interrupted"));
            }
        }
        match fh.kind {
            DATA => {
                if fh.stream == 0 {
                    return Err(Http2Error::Protocol("DATA on stream 0"));
                }
                if let Some(s) = self.streams.get_mut(&fh.stream) {
                    s.wire += (FRAME_HEADER_LEN + fh.len) as u64;
                }
                let end = fh.flags & END_STREAM != 0;
                self.state = if fh.flags & PADDED != 0 {
                    if fh.len == 0 {
                        return Err(Http2Error::Protocol("padded DATA without a pad length"));
                    }
                    State::DataPad(fh)
                } else {
                    State::Data {
                        stream: fh.stream,
                        left: fh.len,
                        pad: 0,
                        end,
                    }
                };
                self.data_done(out);
            }
            HEADERS | PRIORITY | RST_STREAM | SETTINGS | PUSH_PROMISE | PING | GOAWAY
            | WINDOW_UPDATE | CONTINUATION => {
                if fh.len > self.limits.max_header_block {
                    return Err(Http2Error::FrameTooLarge {
                        kind: fh.kind,
                        len: fh.len,
                    });
                }
                if fh.len == 0 {
                    self.state = State::Header;
                    self.frame(fh, &[], out)?;
                } else {
                    self.buf.reserve(fh.len);
                    self.state = State::Buffer(fh);
                }
            }
            // Unknown types must be ignored (RFC 9113 §4.1); they carry no header block.
            _ => {
                self.state = if fh.len == 0 {
                    State::Header
                } else {
                    State::Skip(fh.len)
                };
            }
        }
        Ok(())
    }

    /// Ends a DATA frame once its data and padding are consumed.
    fn data_done(&mut self, out: &mut Vec<Event>) {
        if let State::Data {
            stream,
            left: 0,
            pad: 0,
            end,
        } = self.state
        {
            self.state = State::Header;
            if end {
                self.complete(stream, out);
            }
        }
    }

    fn body(&mut self, stream: u32, bytes: &[u8]) {
        let max = self.limits.max_body;
        if let Some(s) = self.streams.get_mut(&stream) {
            if s.head.is_none() {
                return; // DATA before a final head is malformed; nothing to attach it to
            }
            if !s.keep {
                s.truncated |= !bytes.is_empty();
                return;
            }
            let room = max.saturating_sub(s.body.len());
            let budget = self.limits.body_budget.saturating_sub(self.held);
            let kept = bytes.len().min(room).min(budget);
            s.truncated |= bytes.len() > kept;
            // Only what the stream's own cap would have kept counts as lost to the budget.
            self.over_budget += (bytes.len().min(room) - kept) as u64;
            self.held += kept;
            s.body.extend_from_slice(&bytes[..kept]);
        }
    }

    fn complete(&mut self, stream: u32, out: &mut Vec<Event>) {
        self.wanted.remove(&stream);
        self.promised.remove(&stream);
        if let Some(s) = self.remove_stream(stream) {
            if let Some(head) = s.head {
                out.push(Event::Message(
                    stream,
                    Message {
                        head,
                        body: s.body,
                        body_truncated: s.truncated,
                        wire_len: s.wire,
                    },
                ));
            }
        }
    }

    /// A whole header or control frame.
    fn frame(&mut self, fh: FrameHeader, p: &[u8], out: &mut Vec<Event>) -> Result<(), Http2Error> {
        let need = |ok: bool, what: &'static str| {
            if ok {
                Ok(())
            } else {
                Err(Http2Error::Protocol(what))
            }
        };
        match fh.kind {
            HEADERS => {
                need(fh.stream != 0, "HEADERS on stream 0")?;
                let mut frag = unpad(fh, p)?;
                if fh.flags & PRIORITY_FLAG != 0 {
                    need(frag.len() >= 5, "HEADERS too short for its priority")?;
                    frag = &frag[5..];
                }
                // A pushed stream opens no message: its block only keeps HPACK in step.
                let pushed = self.promised.contains(&fh.stream);
                if !pushed {
                    if !self.streams.contains_key(&fh.stream) {
                        if self.streams.len() >= self.limits.max_streams {
                            return Err(Http2Error::TooManyStreams);
                        }
                        self.streams.insert(fh.stream, Stream::default());
                    }
                    if let Some(s) = self.streams.get_mut(&fh.stream) {
                        s.wire += (FRAME_HEADER_LEN + fh.len) as u64;
                    }
                }
                self.start_block(fh, frag, false, pushed, out)?;
            }
            PUSH_PROMISE => {
                need(fh.stream != 0, "PUSH_PROMISE on stream 0")?;
                let frag = unpad(fh, p)?;
                need(frag.len() >= 4, "PUSH_PROMISE too short")?;
                let promised =
                    u32::from_be_bytes([frag[0], frag[1], frag[2], frag[3]]) & 0x7fff_ffff;
                if !self.promised.contains(&promised) {
                    if self.promised.len() >= self.limits.max_streams {
                        return Err(Http2Error::TooManyStreams);
                    }
                    self.promised.insert(promised);
                }
                self.start_block(fh, &frag[4..], true, false, out)?;
            }
            CONTINUATION => {
                let open = self
                    .open
                    .ok_or(Http2Error::Protocol("CONTINUATION outside a header block"))?;
                if let Some(s) = self.streams.get_mut(&fh.stream) {
                    s.wire += (FRAME_HEADER_LEN + fh.len) as u64;
                }
                self.append_block(p)?;
                if fh.flags & END_HEADERS != 0 {
                    self.open = None;
                    self.end_block(open, out)?;
                }
            }
            PRIORITY => need(fh.len == 5 && fh.stream != 0, "bad PRIORITY")?,
            RST_STREAM => {
                need(fh.len == 4 && fh.stream != 0, "bad RST_STREAM")?;
                let partial = self.streams.contains_key(&fh.stream);
                let cut = self.take_stream(fh.stream).map(Box::new);
                out.push(Event::Reset {
                    stream: fh.stream,
                    partial,
                    cut,
                });
            }
            SETTINGS => {
                need(fh.stream == 0, "SETTINGS on a stream")?;
                // Settings change what the *peer's* encoder may do (e.g. the table size it may
                // choose); the decoder follows the size updates in the header blocks instead.
                let ack = fh.flags & ACK != 0;
                need(
                    if ack {
                        fh.len == 0
                    } else {
                        fh.len.checked_rem(6) == Some(0)
                    },
                    "bad SETTINGS length",
                )?;
            }
            PING => need(fh.len == 8 && fh.stream == 0, "bad PING")?,
            GOAWAY => {
                need(fh.len >= 8 && fh.stream == 0, "bad GOAWAY")?;
                let last = u32::from_be_bytes([p[0], p[1], p[2], p[3]]) & 0x7fff_ffff;
                out.push(Event::GoAway { last_stream: last });
            }
            WINDOW_UPDATE => need(fh.len == 4, "bad WINDOW_UPDATE")?,
            _ => {}
        }
        Ok(())
    }

    fn start_block(
        &mut self,
        fh: FrameHeader,
        frag: &[u8],
        push: bool,
        pushed: bool,
        out: &mut Vec<Event>,
    ) -> Result<(), Http2Error> {
        self.block.clear();
        self.append_block(frag)?;
        let open = OpenBlock {
            stream: fh.stream,
            end_stream: !push && fh.flags & END_STREAM != 0,
            push,
            pushed,
        };
        if fh.flags & END_HEADERS != 0 {
            self.end_block(open, out)
        } else {
            self.open = Some(open);
            Ok(())
        }
    }

    fn append_block(&mut self, frag: &[u8]) -> Result<(), Http2Error> {
        if self.block.len() + frag.len() > self.limits.max_header_block {
            return Err(Http2Error::FrameTooLarge {
                kind: CONTINUATION,
                len: self.block.len() + frag.len(),
            });
        }
        self.block.extend_from_slice(frag);
        Ok(())
    }

    /// A whole header block: decoded (always, for HPACK), then a head, an interim head,
    /// trailers or a push promise.
    fn end_block(&mut self, open: OpenBlock, out: &mut Vec<Event>) -> Result<(), Http2Error> {
        let fields = self.hpack.decode(&self.block)?;
        self.block.clear();
        if open.push {
            out.push(Event::PushPromise);
            return Ok(());
        }
        if open.pushed {
            if open.end_stream {
                self.promised.remove(&open.stream);
            }
            return Ok(());
        }
        let Some(s) = self.streams.get_mut(&open.stream) else {
            return Ok(());
        };
        if s.head.is_none() {
            match to_head(self.role, fields) {
                Some(head) if self.role == Role::Response && (100..200).contains(&head.status) => {
                    // Interim (103 Early Hints, 100 Continue): the final head follows.
                }
                Some(head) => {
                    s.keep = match self.role {
                        Role::Request => self.body_filter.as_ref().is_none_or(|f| f(&head)),
                        // A stream no request registered (the server opened it, or its
                        // request was given up on) has nobody to report its body to.
                        Role::Response => self.wanted.get(&open.stream).copied().unwrap_or(false),
                    };
                    s.head = Some(head);
                    out.push(Event::Head(open.stream));
                }
                None => {
                    self.remove_stream(open.stream);
                    self.wanted.remove(&open.stream);
                    out.push(Event::Malformed(open.stream));
                    return Ok(());
                }
            }
        }
        // A second block on a stream is trailers: decoded above, and nothing in them is ours.
        if open.end_stream {
            self.complete(open.stream, out);
        }
        Ok(())
    }
}

/// The payload of a HEADERS or PUSH_PROMISE frame without its padding.
fn unpad(fh: FrameHeader, p: &[u8]) -> Result<&[u8], Http2Error> {
    if fh.flags & PADDED == 0 {
        return Ok(p);
    }
    let (&pad, rest) = p
        .split_first()
        .ok_or(Http2Error::Protocol("padded frame without a pad length"))?;
    rest.len()
        .checked_sub(usize::from(pad))
        .map(|end| &rest[..end])
        .ok_or(Http2Error::Protocol("padding longer than the frame"))
}

/// A decoded header list as an HTTP/1-shaped head: `:method`, `:path` and `:status` in their
/// fields, `:authority` as the first `host` header (it wins over a `host` field, RFC 9113
/// §8.3.1). None if the list is malformed: a pseudo-header after a regular field, an unknown
/// or repeated pseudo-header, or a required one missing.
fn to_head(role: Role, fields: Vec<hpack::Field>) -> Option<Head> {
    let mut head = Head::default();
    let mut authority = None;
    let mut status = None;
    let mut regular = false;
    let text = |b: Vec<u8>| {
        String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    };
    for (name, value) in fields {
        if let Some(pseudo) = name.strip_prefix(b":") {
            if regular {
                return None;
            }
            let slot = match (role, pseudo) {
                (Role::Request, b"method") => &mut head.method,
                (Role::Request, b"path") => &mut head.path,
                (Role::Request, b"authority") => authority.get_or_insert_with(String::new),
                // Accepted and not reported: the scheme is https here, and the protocol of an
                // extended CONNECT is not an AI call.
                (Role::Request, b"scheme" | b"protocol") => continue,
                (Role::Response, b"status") => status.get_or_insert_with(String::new),
                _ => return None,
            };
            if !slot.is_empty() {
                return None;
            }
            *slot = text(value);
        } else {
            regular = true;
            let mut name = text(name);
            name.make_ascii_lowercase();
            head.headers.push((name, text(value)));
        }
    }
    match role {
        Role::Request => {
            if head.method.is_empty() || (head.path.is_empty() && head.method != "CONNECT") {
                return None;
            }
            if let Some(a) = authority {
                head.headers.insert(0, ("host".into(), a));
            }
        }
        Role::Response => {
            let s = status?;
            if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            head.status = s.parse().ok()?;
        }
    }
    Some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    /// A header block of literals without indexing (new names), plus `extra` raw HPACK.
    fn block(fields: &[(&str, &str)], extra: &[u8]) -> Vec<u8> {
        let mut b = extra.to_vec();
        for (n, v) in fields {
            b.push(0);
            b.push(n.len() as u8);
            b.extend_from_slice(n.as_bytes());
            b.push(v.len() as u8);
            b.extend_from_slice(v.as_bytes());
        }
        b
    }

    fn run(role: Role, chunks: &[&[u8]]) -> Result<Vec<Event>, Http2Error> {
        let mut p = FrameParser::new(role, Limits::default());
        // the requests the responses answer
        p.expect_response(1, true);
        p.expect_response(3, true);
        let mut out = Vec::new();
        for c in chunks {
            p.push(c, &mut out)?;
        }
        Ok(out)
    }

    fn messages(events: &[Event]) -> Vec<(u32, &Message)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Message(id, m) => Some((*id, m)),
                _ => None,
            })
            .collect()
    }

    /// Two concurrent requests, interleaved, with every framing feature a client may use.
    fn requests() -> Vec<u8> {
        let mut w = PREFACE.to_vec();
        w.extend(frame(
            SETTINGS,
            0,
            0,
            &[0, 2, 0, 0, 0, 0, 0, 4, 0, 0x60, 0, 0],
        ));
        w.extend(frame(WINDOW_UPDATE, 0, 0, &[0, 0x3e, 0, 1]));
        // stream 1: HEADERS with priority and padding, split into a CONTINUATION; then the
        // body in two DATA frames, the second padded.
        let b1 = block(
            &[
                (":method", "POST"),
                (":scheme", "https"),
                (":authority", "api.openai.com"),
                (":path", "/v1/chat/completions"),
                ("Content-Type", "application/json"),
            ],
            &[],
        );
        let mut p = vec![3u8]; // pad length
        p.extend([0x80, 0, 0, 0, 15]); // exclusive dependency on 0, weight 16
        p.extend_from_slice(&b1[..10]);
        p.extend([0, 0, 0]);
        w.extend(frame(HEADERS, PADDED | PRIORITY_FLAG, 1, &p));
        // stream 3 starts after stream 1's block is whole
        w.extend(frame(CONTINUATION, END_HEADERS, 1, &b1[10..]));
        let b3 = block(
            &[
                (":method", "GET"),
                (":path", "/v1/models"),
                (":scheme", "https"),
                (":authority", "api.openai.com"),
            ],
            &[],
        );
        w.extend(frame(HEADERS, END_HEADERS | END_STREAM, 3, &b3));
        w.extend(frame(DATA, 0, 1, b"{\"model\":"));
        w.extend(frame(0xfa, 0xff, 1, b"unknown frame type")); // ignored
        w.extend(frame(PING, 0, 0, b"12345678"));
        w.extend(frame(PRIORITY, 0, 1, &[0, 0, 0, 3, 7]));
        w.extend(frame(DATA, PADDED | END_STREAM, 1, b"\x02\"gpt-4o\"}\0\0"));
        w
    }

    fn responses() -> Vec<u8> {
        let mut r = frame(SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]);
        r.extend(frame(SETTINGS, ACK, 0, &[]));
        // stream 3 answers first; stream 1 gets an interim 103, then a streamed answer with
        // trailers
        r.extend(frame(
            HEADERS,
            END_HEADERS,
            1,
            &block(&[(":status", "103"), ("link", "</a>")], &[]),
        ));
        r.extend(frame(
            HEADERS,
            END_HEADERS,
            3,
            &block(&[("content-type", "application/json")], &[0x88]),
        ));
        r.extend(frame(
            HEADERS,
            END_HEADERS,
            1,
            &block(&[("content-type", "text/event-stream")], &[0x88]),
        ));
        r.extend(frame(DATA, 0, 1, b"data: {}\n\n"));
        r.extend(frame(DATA, END_STREAM, 3, b"{\"data\":[]}"));
        r.extend(frame(DATA, 0, 1, b"data: [DONE]\n\n"));
        r.extend(frame(
            HEADERS,
            END_HEADERS | END_STREAM,
            1,
            &block(&[("grpc-status", "0")], &[]),
        ));
        r.extend(frame(
            GOAWAY,
            0,
            0,
            &[0, 0, 0, 3, 0, 0, 0, 0, b'b', b'y', b'e'],
        ));
        r
    }

    #[test]
    fn concurrent_requests_with_padding_priority_and_continuation() {
        let w = requests();
        let ev = run(Role::Request, &[&w]).unwrap();
        let m = messages(&ev);
        assert_eq!(m.len(), 2);
        let (id, get) = m[0];
        assert_eq!(
            (id, get.head.method.as_str(), get.head.path.as_str()),
            (3, "GET", "/v1/models")
        );
        let (id, post) = m[1];
        assert_eq!(id, 1);
        assert_eq!(post.head.method, "POST");
        assert_eq!(post.head.path, "/v1/chat/completions");
        assert_eq!(post.head.header("host"), Some("api.openai.com"));
        assert_eq!(post.head.header("content-type"), Some("application/json"));
        assert_eq!(post.body, b"{\"model\":\"gpt-4o\"}");
        assert!(!post.body_truncated);
        // HEADERS (pad 1 + priority 5 + 10 + padding 3), CONTINUATION (105), DATA (9),
        // padded DATA (1 + 9 + 2), each with its 9-byte frame header
        assert_eq!(post.wire_len, (9 + 19) + (9 + 105) + (9 + 9) + (9 + 12));
    }

    #[test]
    fn responses_matched_by_stream_interim_heads_and_trailers_skipped() {
        let ev = run(Role::Response, &[&responses()]).unwrap();
        let m = messages(&ev);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].0, 3);
        assert_eq!(m[0].1.head.status, 200);
        assert_eq!(m[0].1.body, b"{\"data\":[]}");
        assert_eq!(m[1].0, 1);
        assert_eq!(
            m[1].1.head.header("content-type"),
            Some("text/event-stream")
        );
        assert_eq!(m[1].1.body, b"data: {}\n\ndata: [DONE]\n\n");
        assert_eq!(
            m[1].1.head.header("grpc-status"),
            None,
            "trailers are not the head"
        );
        assert_eq!(ev.last(), Some(&Event::GoAway { last_stream: 3 }));
        assert_eq!(ev.iter().filter(|e| matches!(e, Event::Head(_))).count(), 2);
    }

    #[test]
    fn every_split_gives_the_same_events() {
        for (role, bytes) in [(Role::Request, requests()), (Role::Response, responses())] {
            let whole = run(role, &[&bytes]).unwrap();
            for i in 0..=bytes.len() {
                for j in i..=bytes.len() {
                    let got = run(role, &[&bytes[..i], &bytes[i..j], &bytes[j..]]).unwrap();
                    assert_eq!(got, whole, "{role:?} split {i}/{j}");
                }
            }
            let ones: Vec<&[u8]> = bytes.chunks(1).collect();
            assert_eq!(run(role, &ones).unwrap(), whole);
        }
    }

    #[test]
    fn reset_streams_end_incomplete() {
        let mut w = PREFACE.to_vec();
        w.extend(frame(
            HEADERS,
            END_HEADERS,
            1,
            &block(
                &[(":method", "POST"), (":path", "/"), (":authority", "h")],
                &[],
            ),
        ));
        w.extend(frame(DATA, 0, 1, b"part"));
        w.extend(frame(RST_STREAM, 0, 1, &[0, 0, 0, 8]));
        w.extend(frame(DATA, END_STREAM, 1, b"late")); // after the reset: ignored
        w.extend(frame(RST_STREAM, 0, 5, &[0, 0, 0, 8]));
        let ev = run(Role::Request, &[&w]).unwrap();
        assert_eq!(
            ev,
            [
                Event::Head(1),
                Event::Reset {
                    stream: 1,
                    partial: true,
                    cut: Some(Box::new(Message {
                        head: Head {
                            method: "POST".into(),
                            path: "/".into(),
                            headers: vec![("host".into(), "h".into())],
                            ..Head::default()
                        },
                        body: b"part".to_vec(),
                        body_truncated: true,
                        wire_len: (9 + 37) + (9 + 4),
                    })),
                },
                Event::Reset {
                    stream: 5,
                    partial: false,
                    cut: None,
                }
            ]
        );
    }

    #[test]
    fn unwanted_bodies_are_counted_not_kept() {
        let mut p = FrameParser::new(Role::Request, Limits::default());
        p.set_body_filter(std::sync::Arc::new(|h: &Head| h.path.starts_with("/v1/")));
        let mut w = PREFACE.to_vec();
        w.extend(frame(
            HEADERS,
            END_HEADERS,
            1,
            &block(&[(":method", "POST"), (":path", "/upload")], &[]),
        ));
        w.extend(frame(DATA, END_STREAM, 1, &[b'x'; 1000]));
        let mut out = Vec::new();
        p.push(&w, &mut out).unwrap();
        let m = messages(&out);
        assert!(m[0].1.body.is_empty() && m[0].1.body_truncated);
        let mut r = FrameParser::new(Role::Response, Limits::default());
        r.expect_response(1, false);
        r.expect_response(3, true);
        let mut b = frame(HEADERS, END_HEADERS, 1, &[0x88]);
        b.extend(frame(HEADERS, END_HEADERS, 3, &[0x88]));
        b.extend(frame(DATA, END_STREAM, 1, b"big"));
        b.extend(frame(DATA, END_STREAM, 3, b"ai"));
        let mut out = Vec::new();
        r.push(&b, &mut out).unwrap();
        let m = messages(&out);
        assert!(m[0].1.body.is_empty());
        assert_eq!(m[1].1.body, b"ai");
        assert!(r.buffered() < 64, "{} bytes held", r.buffered());
    }

    #[test]
    fn gaps_inside_data_are_skipped_elsewhere_fatal() {
        let mut p = FrameParser::new(Role::Response, Limits::default());
        p.expect_response(1, true);
        let mut out = Vec::new();
        p.push(&frame(HEADERS, END_HEADERS, 1, &[0x88]), &mut out)
            .unwrap();
        let d = frame(DATA, END_STREAM, 1, b"0123456789");
        p.push(&d[..12], &mut out).unwrap();
        p.gap(5, &mut out).unwrap();
        p.push(&d[17..], &mut out).unwrap();
        let m = messages(&out);
        assert_eq!(m[0].1.body, b"01289");
        assert!(m[0].1.body_truncated);
        assert_eq!(m[0].1.wire_len, 10 + 19);
        // a gap in a frame header or a header block loses HPACK: the parser fails for good
        p.push(&d[..4], &mut out).unwrap();
        assert_eq!(p.gap(1, &mut out), Err(Http2Error::LostSync));
        assert_eq!(p.push(&d, &mut out), Err(Http2Error::LostSync));
        assert!(p.failed());
    }

    #[test]
    fn garbage_and_limits_fail_cleanly() {
        assert_eq!(
            run(Role::Request, &[b"PRI * HTTP/1.1\r\n"]),
            Err(Http2Error::BadPreface)
        );
        assert_eq!(
            run(Role::Request, &[b"GET / HTTP/1.1\r\n\r\n"]),
            Err(Http2Error::BadPreface)
        );
        // HEADERS too large, a bad HPACK block, a header block interrupted, DATA on stream 0
        let big = frame(HEADERS, END_HEADERS, 1, &vec![0x82; 70_000]);
        assert!(matches!(
            run(Role::Response, &[&big]),
            Err(Http2Error::FrameTooLarge { .. })
        ));
        assert!(matches!(
            run(Role::Response, &[&frame(HEADERS, END_HEADERS, 1, &[0x80])]),
            Err(Http2Error::Hpack(HpackError::BadIndex(0)))
        ));
        let mut open = frame(HEADERS, 0, 1, &[0x88]);
        open.extend(frame(DATA, 0, 1, b"x"));
        assert!(matches!(
            run(Role::Response, &[&open]),
            Err(Http2Error::Protocol(_))
        ));
        assert!(matches!(
            run(Role::Response, &[&frame(DATA, 0, 0, b"x")]),
            Err(Http2Error::Protocol(_))
        ));
        assert!(matches!(
            run(Role::Response, &[&frame(DATA, PADDED, 1, &[9, 1, 2])]),
            Err(Http2Error::Protocol(_))
        ));
        // a head without :status is dropped, not guessed
        let ev = run(
            Role::Response,
            &[&frame(
                HEADERS,
                END_HEADERS | END_STREAM,
                1,
                &block(&[("x", "y")], &[]),
            )],
        )
        .unwrap();
        assert_eq!(ev, [Event::Malformed(1)]);
        // too many streams
        let mut p = FrameParser::new(
            Role::Response,
            Limits {
                max_streams: 2,
                ..Limits::default()
            },
        );
        let mut many = Vec::new();
        for id in [1, 3, 5] {
            many.extend(frame(HEADERS, END_HEADERS, id, &[0x88]));
        }
        assert_eq!(
            p.push(&many, &mut Vec::new()),
            Err(Http2Error::TooManyStreams)
        );
        // random bytes: an error or events, never a panic, in both roles
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..3000 {
            let len = (seed % 300) as usize;
            let junk: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let _ = run(Role::Response, &[&junk]);
            let mut w = PREFACE.to_vec();
            w.extend_from_slice(&junk);
            let _ = run(Role::Request, &[&w]);
        }
    }

    #[test]
    fn push_promises_keep_hpack_in_step() {
        // The promise's block adds an entry to the table; the next head refers to it.
        let mut promise = vec![0, 0, 0, 2];
        promise.extend([0x40, 1, b'x', 1, b'y']); // literal with indexing: x: y
        let mut r = frame(PUSH_PROMISE, END_HEADERS, 1, &promise);
        r.extend(frame(HEADERS, END_HEADERS | END_STREAM, 1, &[0x88, 0xbe]));
        let ev = run(Role::Response, &[&r]).unwrap();
        assert_eq!(ev[0], Event::PushPromise);
        let m = messages(&ev);
        assert_eq!(m[0].1.head.header("x"), Some("y"));
    }

    #[test]
    fn pushed_streams_give_no_message_and_keep_no_body() {
        let mut p = FrameParser::new(Role::Response, Limits::default());
        p.expect_response(1, true);
        p.expect_response(2, true); // even were it asked for: a pushed stream is nobody's
        let mut promise = vec![1, 0x80, 0, 0, 2]; // pad length 1; promised id 2, reserved bit set
        promise.extend(block(&[(":method", "GET"), (":path", "/a.css")], &[]));
        promise.push(0);
        let mut r = frame(PUSH_PROMISE, END_HEADERS | PADDED, 1, &promise);
        r.extend(frame(HEADERS, END_HEADERS, 2, &[0x88]));
        r.extend(frame(DATA, 0, 2, &[b'x'; 1000]));
        let mut out = Vec::new();
        p.push(&r, &mut out).unwrap();
        assert!(p.buffered() < 1000, "{} bytes held", p.buffered());
        assert!(!p.in_message());
        p.push(&frame(DATA, END_STREAM, 2, b""), &mut out).unwrap();
        assert_eq!(out, [Event::PushPromise]);
        // the promise is forgotten once its stream ends
        assert!(p.promised.is_empty());
    }

    #[test]
    fn streams_share_one_body_budget() {
        let mut p = FrameParser::new(
            Role::Response,
            Limits {
                max_body: 100,
                body_budget: 150,
                ..Limits::default()
            },
        );
        let mut r = Vec::new();
        for id in [1, 3] {
            p.expect_response(id, true);
            r.extend(frame(HEADERS, END_HEADERS, id, &[0x88]));
            r.extend(frame(DATA, 0, id, &[b'a'; 120]));
        }
        let mut out = Vec::new();
        p.push(&r, &mut out).unwrap();
        // stream 1 keeps its cap (100), stream 3 what is left of the budget (50)
        assert_eq!(p.take_over_budget(), 50);
        p.push(&frame(DATA, END_STREAM, 1, b""), &mut out).unwrap();
        // stream 1's bytes are back in the budget
        p.push(&frame(DATA, END_STREAM, 3, &[b'b'; 60]), &mut out)
            .unwrap();
        let m = messages(&out);
        assert_eq!((m[0].1.body.len(), m[1].1.body.len()), (100, 100));
        assert!(m[0].1.body_truncated && m[1].1.body_truncated);
        assert_eq!(p.take_over_budget(), 0);
        assert_eq!(p.held, 0);
    }

    #[test]
    fn partials_at_close() {
        let mut p = FrameParser::new(Role::Response, Limits::default());
        p.expect_response(3, true);
        let mut out = Vec::new();
        p.push(&frame(HEADERS, END_HEADERS, 3, &[0x88]), &mut out)
            .unwrap();
        p.push(&frame(DATA, 0, 3, b"data: {"), &mut out).unwrap();
        assert!(p.in_message());
        let parts = p.take_partials();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].1.body, b"data: {");
        assert!(parts[0].1.body_truncated);
        assert!(!p.in_message());
    }
}
