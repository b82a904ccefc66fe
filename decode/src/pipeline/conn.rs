//! One TLS connection (pid + `SSL*`): what this process sends and receives on it, framed into
//! HTTP/1.1 messages, with the requests still waiting for their responses.

use super::exchange::{Ctx, Pending};
use crate::decode::http1::{self, BodyFilter, Limits, Message, MessageParser, Role as MsgRole};
use aisensor_event::raw::{Direction, Header, SslRecord};
use std::collections::VecDeque;

/// The HTTP/2 client connection preface (RFC 9113 §3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Nothing seen yet that tells which side we are (or we attached mid-message).
    Unknown,
    /// This process is the HTTP client: it writes requests and reads responses.
    Client,
    /// This process serves, speaks HTTP/2, or speaks something else: ignored.
    Ignored,
}

/// One direction of the connection.
struct Side {
    parser: MessageParser,
    /// After a parse failure, bytes are skipped until a call starts a new message.
    resync: bool,
    /// Offset within the current call just past the last record seen.
    next_offset: u64,
    /// Bytes of the current call not seen yet.
    call_left: u64,
}

impl Side {
    fn new(role: MsgRole, limits: &Limits) -> Self {
        Self {
            parser: MessageParser::new(role, *limits),
            resync: false,
            next_offset: 0,
            call_left: 0,
        }
    }

    fn requests(limits: &Limits, filter: &BodyFilter) -> Self {
        let mut side = Self::new(MsgRole::Request, limits);
        side.parser.set_body_filter(filter.clone());
        side
    }

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

    /// Feeds a record's bytes, with the gaps before and after it.
    fn feed(&mut self, s: &SslRecord, out: &mut Vec<Message>) -> Result<(), http1::Http1Error> {
        let lost = self.lost_before(s);
        if lost > 0 {
            self.parser.gap(lost, out)?;
        }
        self.parser.push(s.data, out)?;
        if s.missing_after() > 0 {
            self.parser.gap(s.missing_after(), out)?;
        }
        Ok(())
    }
}

pub(super) struct Conn {
    pid: u32,
    ssl: u64,
    role: Role,
    limits: Limits,
    /// Keeps only the bodies of requests that may be AI calls.
    filter: BodyFilter,
    req: Side,
    resp: Side,
    /// Requests sent and not yet answered, oldest first (HTTP/1.1 answers in order).
    pending: VecDeque<Pending>,
    /// Monotonic ns of the last record.
    pub last_ts: u64,
    /// Reported a parse failure for this connection's unrecognised start already.
    failure_counted: bool,
    msgs: Vec<Message>,
}

impl Conn {
    pub fn new(pid: u32, ssl: u64, limits: &Limits, filter: &BodyFilter) -> Self {
        Self {
            pid,
            ssl,
            role: Role::Unknown,
            limits: *limits,
            filter: filter.clone(),
            req: Side::requests(limits, filter),
            resp: Side::new(MsgRole::Response, limits),
            pending: VecDeque::new(),
            last_ts: 0,
            failure_counted: false,
            msgs: Vec::new(),
        }
    }

    pub fn buffered(&self) -> usize {
        self.req.parser.buffered() + self.resp.parser.buffered()
    }

    pub fn on_ssl(&mut self, s: &SslRecord, ctx: &mut Ctx) {
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
            Direction::Write if d.starts_with(H2_PREFACE) => {
                ctx.counters.http2_connections += 1;
                Role::Ignored
            }
            Direction::Write if is_req => Role::Client,
            // Attached mid-connection: a response to a request we did not see.
            Direction::Read if is_resp => Role::Client,
            Direction::Read if is_req || d.starts_with(H2_PREFACE) => {
                ctx.counters.server_connections += 1;
                Role::Ignored
            }
            Direction::Write if is_resp => {
                ctx.counters.server_connections += 1;
                Role::Ignored
            }
            Direction::Write => {
                // A client speaks first in HTTP/1.1: bytes that are no request start are another
                // protocol, garbage, or the rest of a body we attached in the middle of.
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
            let p = ctx.request(self.pid, self.ssl, &s.hdr, msg);
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

    /// The connection is gone (process exit, idle, eviction): a response delimited by close is
    /// complete now; whatever else is waiting is counted as incomplete.
    pub fn close(&mut self, ts: u64, ctx: &mut Ctx) {
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
                let hdr = Header {
                    kind: 0,
                    flags: 0,
                    pid: self.pid,
                    tid: 0,
                    ts_ns: ts.max(self.last_ts),
                    comm: [0; 16],
                };
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
