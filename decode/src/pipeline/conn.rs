//! One TLS connection (pid + `SSL*`): what this process sends and receives on it, framed into
//! HTTP/1.1 messages or HTTP/2 streams, with the requests still waiting for their responses.

use super::exchange::{ConnId, Ctx, Pending};
use crate::decode::http1::{self, BodyFilter, Limits, Message, MessageParser, Role as MsgRole};
use crate::decode::http2;
use aisensor_event::raw::{Direction, Header, SslRecord};
use std::collections::{HashMap, VecDeque};

/// True if `d` starts with the HTTP/2 client connection preface (RFC 9113 §3.4), or is a
/// start of it long enough to tell it from anything else.
fn starts_like_h2_preface(d: &[u8]) -> bool {
    let n = d.len().min(http2::PREFACE.len());
    n >= 4 && d[..n] == http2::PREFACE[..n]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Nothing seen yet that tells which side we are (or we attached mid-message).
    Unknown,
    /// This process is the HTTP/1 client: it writes requests and reads responses.
    Client,
    /// This process is an HTTP/2 client (its first write was the connection preface).
    Http2,
    /// This process serves, or speaks something else: ignored.
    Ignored,
}

/// Where the probe's records of one direction are within their `SSL_*` calls: what tells
/// that bytes were lost between two records.
#[derive(Default)]
struct Calls {
    /// Offset within the current call just past the last record seen.
    next_offset: u64,
    /// Bytes of the current call not seen yet.
    call_left: u64,
}

impl Calls {
    /// Bytes of this direction lost just before `s`. The probe emits a prefix of every call
    /// and stops at the first record it cannot emit (ring full), so a call whose records end
    /// short of its length, with no truncation flag, lost its tail.
    fn lost_before(&mut self, s: &SslRecord) -> u64 {
        let lost = if s.offset == 0 {
            self.call_left
        } else {
            u64::from(s.offset).saturating_sub(self.next_offset)
        };
        self.next_offset = u64::from(s.offset) + s.data.len() as u64;
        self.call_left = if s.truncated() {
            0 // reported by the record itself (missing_after)
        } else {
            u64::from(s.call_len).saturating_sub(self.next_offset)
        };
        lost
    }

    /// Feeds a record's bytes to `f`, with the gaps before and after it.
    fn feed<F: Framer>(
        &mut self,
        f: &mut F,
        s: &SslRecord,
        out: &mut Vec<F::Out>,
    ) -> Result<(), F::Error> {
        let lost = self.lost_before(s);
        if lost > 0 {
            f.gap(lost, out)?;
        }
        f.push(s.data, out)?;
        if s.missing_after() > 0 {
            f.gap(s.missing_after(), out)?;
        }
        Ok(())
    }
}

/// A push parser of one direction: what [`Calls::feed`] drives, for HTTP/1 and HTTP/2 alike.
trait Framer {
    type Out;
    type Error;
    fn push(&mut self, data: &[u8], out: &mut Vec<Self::Out>) -> Result<(), Self::Error>;
    /// `n` bytes were lost here.
    fn gap(&mut self, n: u64, out: &mut Vec<Self::Out>) -> Result<(), Self::Error>;
}

impl Framer for MessageParser {
    type Out = Message;
    type Error = http1::Http1Error;
    fn push(&mut self, data: &[u8], out: &mut Vec<Message>) -> Result<(), Self::Error> {
        MessageParser::push(self, data, out)
    }
    fn gap(&mut self, n: u64, out: &mut Vec<Message>) -> Result<(), Self::Error> {
        MessageParser::gap(self, n, out)
    }
}

impl Framer for http2::FrameParser {
    type Out = http2::Event;
    type Error = http2::Http2Error;
    fn push(&mut self, data: &[u8], out: &mut Vec<http2::Event>) -> Result<(), Self::Error> {
        http2::FrameParser::push(self, data, out)
    }
    fn gap(&mut self, n: u64, out: &mut Vec<http2::Event>) -> Result<(), Self::Error> {
        // More than usize can count is more than any DATA payload: the parser fails.
        http2::FrameParser::gap(self, usize::try_from(n).unwrap_or(usize::MAX), out)
    }
}

/// One direction of an HTTP/1 connection.
struct Side {
    parser: MessageParser,
    /// After a parse failure, bytes are skipped until a call starts a new message.
    resync: bool,
    calls: Calls,
}

impl Side {
    fn new(role: MsgRole, limits: &Limits) -> Self {
        Self {
            parser: MessageParser::new(role, *limits),
            resync: false,
            calls: Calls::default(),
        }
    }

    fn requests(limits: &Limits, filter: &BodyFilter) -> Self {
        let mut side = Self::new(MsgRole::Request, limits);
        side.parser.set_body_filter(filter.clone());
        side
    }

    /// Feeds a record's bytes, with the gaps before and after it.
    fn feed(&mut self, s: &SslRecord, out: &mut Vec<Message>) -> Result<(), http1::Http1Error> {
        self.calls.feed(&mut self.parser, s, out)
    }
}

/// A request cut short (reset, or the connection ended) whose whole response came early:
/// both are reported, the request as far as it came, and the exchange counted incomplete.
fn answer_cut_request(
    conn: ConnId,
    req: Option<Message>,
    (rh, resp): (Header, Message),
    now: &Header,
    ctx: &mut Ctx,
) {
    ctx.counters.incomplete_exchanges += 1;
    let Some(req) = req else {
        ctx.counters.unmatched_responses += 1;
        return;
    };
    let p = ctx.request(conn, now, req, "2".into());
    ctx.response(p, &later(rh, now), resp);
}

/// `h` stamped no earlier than `than`: a response held for its request is reported after it.
fn later(h: Header, than: &Header) -> Header {
    Header {
        ts_ns: h.ts_ns.max(than.ts_ns),
        ..h
    }
}

/// Requests waiting for their answers on one HTTP/2 connection at most (servers allow 100 to
/// 250 concurrent streams).
const MAX_H2_PENDING: usize = 1024;

/// An HTTP/2 client connection: requests from the writes, responses from the reads, matched
/// by stream id.
struct H2 {
    req: http2::FrameParser,
    resp: http2::FrameParser,
    req_calls: Calls,
    resp_calls: Calls,
    /// Requests sent and not yet answered, by stream id.
    pending: HashMap<u32, Pending>,
    /// Whole responses to requests still being sent (RFC 9113 §8.1 lets a server answer
    /// early, e.g. 401 or 413 to an upload), by stream id: held until their request ends or
    /// is cut, so that the exchange is reported, ai.request first.
    early: HashMap<u32, (Header, Message)>,
    /// Body bytes held in `early`: they share the connection's body budget.
    early_bytes: usize,
    /// Largest sum of bodies held at once per direction, as one HTTP/1 message may hold.
    budget: usize,
    /// A parser failed or bytes were lost where they cannot be skipped: the HPACK state is
    /// gone, and nothing more is decoded on this connection.
    failed: bool,
    events: Vec<http2::Event>,
}

impl H2 {
    fn new(limits: &Limits, filter: &BodyFilter) -> Self {
        let l = http2::Limits {
            max_header_block: limits.max_head,
            max_header_list: limits.max_head,
            max_body: limits.max_body,
            body_budget: limits.max_body,
            ..http2::Limits::default()
        };
        let mut req = http2::FrameParser::new(http2::Role::Request, l);
        req.set_body_filter(filter.clone());
        Self {
            req,
            resp: http2::FrameParser::new(http2::Role::Response, l),
            req_calls: Calls::default(),
            resp_calls: Calls::default(),
            pending: HashMap::new(),
            early: HashMap::new(),
            early_bytes: 0,
            budget: limits.max_body,
            failed: false,
            events: Vec::new(),
        }
    }

    /// Feeds a record's bytes to one direction's parser, with the gaps before and after it.
    fn feed(&mut self, s: &SslRecord) -> Result<(), http2::Http2Error> {
        let (parser, calls) = match s.dir {
            Direction::Write => (&mut self.req, &mut self.req_calls),
            Direction::Read => (&mut self.resp, &mut self.resp_calls),
        };
        calls.feed(parser, s, &mut self.events)
    }

    fn buffered(&self) -> usize {
        self.req.buffered()
            + self.resp.buffered()
            + self
                .early
                .values()
                .map(|(_, m)| m.body.capacity())
                .sum::<usize>()
    }

    /// Holds a response that came whole before its request ended; what does not fit in the
    /// budget is dropped, counted.
    fn hold(&mut self, id: u32, hdr: Header, mut msg: Message, ctx: &mut Ctx) {
        let room = self.budget.saturating_sub(self.early_bytes);
        if msg.body.len() > room {
            ctx.counters.body_budget_bytes += (msg.body.len() - room) as u64;
            msg.body.truncate(room);
            msg.body.shrink_to_fit();
            msg.body_truncated = true;
        }
        self.early_bytes += msg.body.len();
        if let Some((_, old)) = self.early.insert(id, (hdr, msg)) {
            // A stream answered twice: a broken peer. The first answer is not reported.
            self.early_bytes = self.early_bytes.saturating_sub(old.body.len());
            ctx.counters.unmatched_responses += 1;
        }
    }

    /// The response held for `id`, if any.
    fn release(&mut self, id: u32) -> Option<(Header, Message)> {
        let held = self.early.remove(&id)?;
        self.early_bytes = self.early_bytes.saturating_sub(held.1.body.len());
        Some(held)
    }
}

pub(super) struct Conn {
    id: ConnId,
    role: Role,
    limits: Limits,
    /// Keeps only the bodies of requests that may be AI calls.
    filter: BodyFilter,
    req: Side,
    resp: Side,
    /// Set once the connection turns out to be an HTTP/2 client connection.
    h2: Option<Box<H2>>,
    /// Requests sent and not yet answered, oldest first (HTTP/1.1 answers in order).
    pending: VecDeque<Pending>,
    /// Monotonic ns of the last record.
    pub last_ts: u64,
    /// Reported a parse failure for this connection's unrecognised start already.
    failure_counted: bool,
    msgs: Vec<Message>,
}

impl Conn {
    pub fn new(id: ConnId, limits: &Limits, filter: &BodyFilter) -> Self {
        Self {
            id,
            role: Role::Unknown,
            limits: *limits,
            filter: filter.clone(),
            req: Side::requests(limits, filter),
            resp: Side::new(MsgRole::Response, limits),
            h2: None,
            pending: VecDeque::new(),
            last_ts: 0,
            failure_counted: false,
            msgs: Vec::new(),
        }
    }

    pub fn buffered(&self) -> usize {
        self.req.parser.buffered()
            + self.resp.parser.buffered()
            + self.h2.as_ref().map_or(0, |h| h.buffered())
    }

    pub fn on_ssl(&mut self, s: &SslRecord, ctx: &mut Ctx) {
        if self.starts_new_h2_connection(s) {
            // The SSL* was reused (SSL_clear, or its SSL_free record was lost): the old
            // connection is over, counted as a close, and this one starts at its preface.
            self.close(s.hdr.ts_ns, ctx);
            let fresh = Conn::new(self.id, &self.limits, &self.filter);
            *self = fresh;
        }
        self.last_ts = s.hdr.ts_ns;
        if self.role == Role::Unknown {
            self.classify(s, ctx);
        }
        match self.role {
            Role::Ignored => {}
            Role::Unknown => ctx.counters.resync_bytes += s.data.len() as u64,
            Role::Client => match s.dir {
                Direction::Write => self.on_request_bytes(s, ctx),
                Direction::Read => self.on_response_bytes(s, ctx),
            },
            Role::Http2 => self.on_h2_bytes(s, ctx),
        }
    }

    /// True if `s` opens a new HTTP/2 connection on this `SSL*`: a client preface at the start
    /// of a write, where the old connection is between messages (or failed). Mid-message the
    /// same bytes could be a body's.
    fn starts_new_h2_connection(&self, s: &SslRecord) -> bool {
        if s.dir != Direction::Write || s.offset != 0 || !starts_like_h2_preface(s.data) {
            return false;
        }
        match self.role {
            Role::Http2 => self
                .h2
                .as_ref()
                .is_some_and(|h| h.failed || h.req.at_frame_start()),
            Role::Client => self.req.resync || !self.req.parser.in_message(),
            Role::Unknown | Role::Ignored => false,
        }
    }

    /// Decides which side of HTTP this process is on from the first bytes of a call.
    fn classify(&mut self, s: &SslRecord, ctx: &mut Ctx) {
        if s.offset != 0 {
            return; // the middle of a call: wait for the start of the next one
        }
        let d = s.data;
        let is_req = http1::starts_like_request(d);
        let is_resp = http1::starts_like_response(d);
        self.role = match s.dir {
            Direction::Write if starts_like_h2_preface(d) => {
                ctx.counters.http2_connections += 1;
                self.h2 = Some(Box::new(H2::new(&self.limits, &self.filter)));
                Role::Http2
            }
            Direction::Write if is_req => Role::Client,
            // Attached mid-connection: a response to a request we did not see.
            Direction::Read if is_resp => Role::Client,
            Direction::Read if is_req || starts_like_h2_preface(d) => {
                ctx.counters.server_connections += 1;
                Role::Ignored
            }
            // An HTTP/2 server sends its SETTINGS before it reads the client's preface.
            Direction::Write if is_resp || http2::starts_like_server_preface(d) => {
                ctx.counters.server_connections += 1;
                Role::Ignored
            }
            Direction::Write => {
                // A client speaks first in HTTP/1.1 and HTTP/2: bytes that are no request start
                // nor preface are another protocol, garbage, the rest of a body we attached in
                // the middle of, or HTTP/2 frames of a connection we attached to mid-way (its
                // HPACK state cannot be known, so it is not guessed at).
                if !self.failure_counted {
                    self.failure_counted = true;
                    ctx.counters.parse_failures += 1;
                }
                Role::Unknown
            }
            Direction::Read => Role::Unknown,
        };
    }

    fn on_request_bytes(&mut self, s: &SslRecord, ctx: &mut Ctx) {
        if self.req.resync {
            if s.offset == 0 && http1::starts_like_request(s.data) {
                self.req = Side::requests(&self.limits, &self.filter);
            } else {
                ctx.counters.resync_bytes += s.data.len() as u64;
                return;
            }
        }
        let mut msgs = std::mem::take(&mut self.msgs);
        let res = self.req.feed(s, &mut msgs);
        for msg in msgs.drain(..) {
            let version = format!("1.{}", msg.head.version_minor);
            let p = ctx.request(self.id, &s.hdr, msg, version);
            self.resp.parser.expect_response(&p.method, p.is_ai());
            self.pending.push_back(p);
        }
        self.msgs = msgs;
        if res.is_err() {
            ctx.counters.parse_failures += 1;
            self.req.resync = true;
        }
    }

    fn on_response_bytes(&mut self, s: &SslRecord, ctx: &mut Ctx) {
        if self.resp.resync {
            if s.offset == 0 && http1::starts_like_response(s.data) {
                self.reset_response_side();
            } else {
                ctx.counters.resync_bytes += s.data.len() as u64;
                return;
            }
        }
        if let Some(p) = self.pending.front_mut() {
            p.first_response_ts.get_or_insert(s.hdr.ts_ns);
        }
        let mut msgs = std::mem::take(&mut self.msgs);
        let res = self.resp.feed(s, &mut msgs);
        for msg in msgs.drain(..) {
            self.answer(msg, &s.hdr, ctx);
        }
        self.msgs = msgs;
        if res.is_err() {
            ctx.counters.parse_failures += 1;
            self.resp.resync = true;
            // The response being parsed is lost: its request will never be answered.
            if self.pending.pop_front().is_some() {
                ctx.counters.incomplete_exchanges += 1;
            }
        }
    }

    fn answer(&mut self, msg: Message, hdr: &Header, ctx: &mut Ctx) {
        match self.pending.pop_front() {
            Some(p) => ctx.response(p, hdr, msg),
            None => ctx.counters.unmatched_responses += 1,
        }
    }

    /// A fresh response parser that still knows which requests are waiting.
    fn reset_response_side(&mut self) {
        self.resp = Side::new(MsgRole::Response, &self.limits);
        for p in &self.pending {
            self.resp.parser.expect_response(&p.method, p.is_ai());
        }
    }

    fn on_h2_bytes(&mut self, s: &SslRecord, ctx: &mut Ctx) {
        let Some(h2) = self.h2.as_mut() else {
            return;
        };
        if h2.failed {
            // Nothing more is decoded here: the bytes are counted as lost, as HTTP/1 counts
            // what it skips.
            ctx.counters.resync_bytes += s.data.len() as u64;
            return;
        }
        let res = h2.feed(s);
        ctx.counters.body_budget_bytes += h2.req.take_over_budget() + h2.resp.take_over_budget();
        // Events before a failure came from frames that parsed whole: they are right.
        let mut events = std::mem::take(&mut h2.events);
        for ev in events.drain(..) {
            match s.dir {
                Direction::Write => self.on_h2_request_event(ev, &s.hdr, ctx),
                Direction::Read => self.on_h2_response_event(ev, &s.hdr, ctx),
            }
        }
        let Some(h2) = self.h2.as_mut() else {
            return;
        };
        h2.events = events;
        if res.is_err() {
            // Garbage, a broken frame, or bytes lost outside a body: the HPACK state is not
            // trustworthy any more, so the connection is decoded no further.
            ctx.counters.parse_failures += 1;
            h2.failed = true;
            // Requests cut mid-way (those with an early answer among them); the answers cut
            // mid-way are those of `pending`.
            let cut = h2.req.open_streams() as u64;
            h2.req.take_partials();
            h2.resp.take_partials();
            ctx.counters.incomplete_exchanges += h2.pending.len() as u64 + cut;
            h2.pending.clear();
            h2.early.clear();
            h2.early_bytes = 0;
        }
    }

    fn on_h2_request_event(&mut self, ev: http2::Event, hdr: &Header, ctx: &mut Ctx) {
        let conn = self.id;
        let Some(h2) = self.h2.as_mut() else {
            return;
        };
        match ev {
            // Registered at its head, not at its end: the server may answer before that.
            http2::Event::Head(id) => {
                let keep = h2.req.keeps_body(id);
                h2.resp.expect_response(id, keep);
            }
            http2::Event::Message(id, msg) => {
                let p = ctx.request(conn, hdr, msg, "2".into());
                if let Some((rh, resp)) = h2.release(id) {
                    ctx.response(p, &later(rh, hdr), resp);
                    return;
                }
                if h2.pending.len() >= MAX_H2_PENDING {
                    // A server that answers nothing must not grow this without bound: the
                    // oldest request is given up on.
                    if let Some(oldest) = h2.pending.keys().min().copied() {
                        h2.pending.remove(&oldest);
                        h2.resp.reset_stream(oldest);
                        ctx.counters.incomplete_exchanges += 1;
                    }
                }
                h2.resp.expect_response(id, p.is_ai());
                if h2.pending.insert(id, p).is_some() {
                    ctx.counters.incomplete_exchanges += 1; // a stream id reused: broken peer
                }
            }
            // The client cancelled the stream (or the whole request never got sent).
            http2::Event::Reset {
                stream,
                partial,
                cut,
            } => {
                h2.resp.reset_stream(stream);
                if let Some(held) = h2.release(stream) {
                    answer_cut_request(conn, cut.map(|m| *m), held, hdr, ctx);
                    return;
                }
                let was_pending = h2.pending.remove(&stream).is_some();
                ctx.counters.incomplete_exchanges += u64::from(was_pending || partial);
            }
            http2::Event::Malformed(_) => {
                ctx.counters.parse_failures += 1;
                ctx.counters.incomplete_exchanges += 1;
            }
            http2::Event::GoAway { .. } | http2::Event::PushPromise => {}
        }
    }

    fn on_h2_response_event(&mut self, ev: http2::Event, hdr: &Header, ctx: &mut Ctx) {
        let conn = self.id;
        let Some(h2) = self.h2.as_mut() else {
            return;
        };
        match ev {
            http2::Event::Head(id) => {
                if let Some(p) = h2.pending.get_mut(&id) {
                    p.first_response_ts.get_or_insert(hdr.ts_ns);
                }
            }
            http2::Event::Message(id, msg) => {
                if let Some(p) = h2.pending.remove(&id) {
                    ctx.response(p, hdr, msg);
                } else if h2.req.head(id).is_some() {
                    // Answered before the request ended: reported once the request is over.
                    h2.hold(id, *hdr, msg, ctx);
                } else {
                    ctx.counters.unmatched_responses += 1;
                }
            }
            // The server refused or cancelled the stream; or, having answered early, it tells
            // the client to stop sending (RST_STREAM NO_ERROR).
            http2::Event::Reset { stream, .. } => {
                if let Some(held) = h2.release(stream) {
                    let req = h2.req.take_stream(stream);
                    answer_cut_request(conn, req, held, hdr, ctx);
                    return;
                }
                let partial = h2.req.reset_stream(stream);
                let was_pending = h2.pending.remove(&stream).is_some();
                ctx.counters.incomplete_exchanges += u64::from(was_pending || partial);
            }
            http2::Event::Malformed(id) => {
                ctx.counters.parse_failures += 1;
                ctx.counters.incomplete_exchanges += h2.pending.remove(&id).is_some() as u64;
            }
            // Streams above the last one the server processed will never be answered.
            http2::Event::GoAway { last_stream } => {
                let gone: Vec<u32> = h2
                    .pending
                    .keys()
                    .copied()
                    .filter(|&id| id > last_stream)
                    .collect();
                for id in &gone {
                    h2.pending.remove(id);
                    // Nor is their answer expected any more.
                    h2.resp.reset_stream(*id);
                }
                ctx.counters.incomplete_exchanges += gone.len() as u64;
            }
            http2::Event::PushPromise => {}
        }
    }

    /// The connection is gone (process exit, idle, eviction): a response delimited by close is
    /// complete now; whatever else is waiting is counted as incomplete.
    pub fn close(&mut self, ts: u64, ctx: &mut Ctx) {
        let hdr = Header {
            kind: 0,
            flags: 0,
            pid: self.id.pid,
            tid: 0,
            ts_ns: ts.max(self.last_ts),
            comm: [0; 16],
        };
        if self.role == Role::Http2 {
            let conn = self.id;
            if let Some(h2) = self.h2.as_mut() {
                if !h2.failed {
                    // Counted as over HTTP/1.1: a response cut mid-body is incomplete, and
                    // still says who answered what (unmatched if nobody asked); a request cut
                    // mid-way failed to parse and is incomplete. Each exchange is counted
                    // incomplete once.
                    for (id, msg) in h2.resp.take_partials() {
                        ctx.counters.incomplete_exchanges += 1;
                        if let Some(p) = h2.pending.remove(&id) {
                            ctx.response(p, &hdr, msg);
                        } else if let Some(req) = h2.req.take_stream(id) {
                            ctx.counters.parse_failures += 1;
                            let p = ctx.request(conn, &hdr, req, "2".into());
                            ctx.response(p, &hdr, msg);
                        } else {
                            ctx.counters.unmatched_responses += 1;
                        }
                    }
                    // Whole answers to requests that never ended.
                    let mut early: Vec<_> = h2.early.drain().collect();
                    early.sort_by_key(|(id, _)| *id);
                    h2.early_bytes = 0;
                    for (id, held) in early {
                        ctx.counters.parse_failures += 1;
                        let req = h2.req.take_stream(id);
                        answer_cut_request(conn, req, held, &hdr, ctx);
                    }
                    let cut = h2.req.open_streams() as u64;
                    h2.req.take_partials();
                    ctx.counters.parse_failures += cut;
                    ctx.counters.incomplete_exchanges += cut;
                }
                ctx.counters.incomplete_exchanges += h2.pending.len() as u64;
                h2.pending.clear();
            }
            return;
        }
        if self.role != Role::Client {
            return;
        }
        if !self.resp.resync {
            // A response delimited by the close is whole; one cut mid-body (the client hung
            // up during a stream) still says who answered what, so it is reported, counted.
            let msg = self.resp.parser.finish().or_else(|| {
                let partial = self.resp.parser.take_partial();
                ctx.counters.incomplete_exchanges += partial.is_some() as u64;
                partial
            });
            if let Some(msg) = msg {
                self.answer(msg, &hdr, ctx);
            }
        }
        // A request cut off mid-way (the client died, or we never saw its end) failed to parse.
        let cut_request = !self.req.resync && self.req.parser.in_message();
        ctx.counters.parse_failures += cut_request as u64;
        ctx.counters.incomplete_exchanges += self.pending.len() as u64 + cut_request as u64;
        self.pending.clear();
    }
}
