//! From probe records to event payloads: per-connection streams keyed by (pid, `SSL*`),
//! HTTP/1.1 framing or HTTP/2 streams, request/response correlation, provider adapters,
//! process identity.
//!
//! The pipeline is single-threaded and does no I/O: process identity comes from a
//! [`ProcSource`] the caller provides (`/proc` when live, the recording when replaying).

mod conn;
mod exchange;

use crate::decode::http1::{BodyFilter, Head, Limits};
use aisensor_event::payload::{Payload, Proc};
use aisensor_event::raw::RawRecord;
use conn::Conn;
use std::collections::{HashMap, VecDeque};

/// Where the pipeline gets the identity of a process.
pub trait ProcSource {
    /// Identity of `pid`; `comm` is the name the probe saw, used when nothing better is known.
    fn lookup(&mut self, pid: u32, comm: &str) -> Proc;
    /// `pid` called execve: what was cached about it is stale.
    fn exec(&mut self, _pid: u32) {}
    /// `pid` exited.
    fn exit(&mut self, _pid: u32) {}
}

/// A [`ProcSource`] that knows only what the probe records say.
#[derive(Default)]
pub struct CommOnly;

impl ProcSource for CommOnly {
    fn lookup(&mut self, pid: u32, comm: &str) -> Proc {
        Proc {
            pid,
            name: comm.to_string(),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub http: Limits,
    /// Largest body after content decoding.
    pub max_decoded_body: usize,
    /// Extra host → provider names (exact host or `*.suffix`), checked before the built-ins.
    pub host_providers: Vec<(String, String)>,
    /// Put prompt and completion text into events.
    pub capture_content: bool,
    /// Longest prompt/completion text kept, in bytes.
    pub max_content_bytes: usize,
    /// A connection with no traffic for this long is forgotten.
    pub idle_timeout_ns: u64,
    /// Connections tracked at most; the least recently used one is evicted past this.
    pub max_connections: usize,
    /// Wall-clock minus monotonic time, to stamp events with wall-clock time.
    pub wall_minus_mono_ns: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: Limits::default(),
            max_decoded_body: 32 * 1024 * 1024,
            host_providers: Vec::new(),
            capture_content: false,
            max_content_bytes: 64 * 1024,
            idle_timeout_ns: 300_000_000_000,
            max_connections: 16_384,
            wall_minus_mono_ns: 0,
        }
    }
}

/// What the pipeline counted. Every place that drops something has a counter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Probe records received.
    pub records: u64,
    /// Plaintext bytes received.
    pub bytes: u64,
    /// Records that did not parse (corrupt or unknown kind).
    pub bad_records: u64,
    /// Events built.
    pub events: u64,
    /// Streams that stopped parsing as HTTP (garbage, another protocol, lost bytes).
    pub parse_failures: u64,
    /// HTTP/2 client connections seen (from their preface; decoded like HTTP/1.1, their
    /// failures counted in `parse_failures`).
    pub http2_connections: u64,
    /// AI bodies the provider adapter could not read (event still emitted, with less detail).
    pub provider_errors: u64,
    /// Calls the probe cut at its capture cap.
    pub truncated_calls: u64,
    /// HTTP exchanges that are not AI API calls (not turned into events).
    pub non_ai_exchanges: u64,
    /// Connections on which this host is the TLS server (not turned into events).
    pub server_connections: u64,
    /// Responses that matched no request (e.g. the probe attached mid-exchange).
    pub unmatched_responses: u64,
    /// Bytes skipped while waiting for a message boundary, or after an HTTP/2 connection
    /// failed.
    pub resync_bytes: u64,
    /// Body bytes not kept because the streams of an HTTP/2 connection together held as much
    /// as one message may (their events say the body was truncated).
    pub body_budget_bytes: u64,
    /// Requests whose response never completed (process exit, idle expiry, eviction).
    pub incomplete_exchanges: u64,
    /// Connections ended by the client (`SSL_free`).
    pub closed_connections: u64,
    /// Connections forgotten after the idle timeout.
    pub expired_connections: u64,
    /// Connections evicted because `max_connections` was reached.
    pub evicted_connections: u64,
}

/// One event ready for Falco.
#[derive(Debug, Clone)]
pub struct Emitted {
    /// Wall-clock ns.
    pub ts: u64,
    pub payload: Payload,
}

/// How long after a process's exit record its connections are closed. The probe writes exit
/// records to their own ring, which may be read before the plaintext the process moved just
/// before it exited: closing at once would cut those last exchanges.
const EXIT_GRACE_NS: u64 = 500_000_000;

pub struct Pipeline {
    cfg: Config,
    /// Requests whose head says they may be AI calls keep their bodies; others are counted.
    filter: BodyFilter,
    conns: HashMap<(u32, u64), Conn>,
    counters: Counters,
    next_exchange: u64,
    /// Processes that exited, with the time, oldest first: their connections close once the
    /// grace period is over.
    exited: VecDeque<(u32, u64)>,
    /// Open connections per pid.
    pids: HashMap<u32, u32>,
    /// Latest record time seen (monotonic ns).
    now: u64,
}

impl Pipeline {
    pub fn new(cfg: Config) -> Self {
        let host_map = std::sync::Arc::new(cfg.host_providers.clone());
        let filter: BodyFilter = std::sync::Arc::new(move |head: &Head| {
            let (host, _) = exchange::split_host(head.header("host").unwrap_or(""));
            crate::providers::detect(&host, &head.method, &head.path, head, &host_map).is_some()
        });
        Self {
            filter,
            cfg,
            conns: HashMap::new(),
            counters: Counters::default(),
            next_exchange: 1,
            exited: VecDeque::new(),
            pids: HashMap::new(),
            now: 0,
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn open_connections(&self) -> usize {
        self.conns.len()
    }

    /// Bytes held in connection buffers.
    pub fn buffered_bytes(&self) -> usize {
        self.conns.values().map(Conn::buffered).sum()
    }

    /// Parses one probe ring-buffer item and feeds it; returns the record for the caller's
    /// own use (e.g. attaching to newly exec'd programs). A bad record is counted.
    pub fn on_bytes<'a>(
        &mut self,
        item: &'a [u8],
        procs: &mut dyn ProcSource,
        out: &mut dyn FnMut(Emitted),
    ) -> Option<RawRecord<'a>> {
        match RawRecord::parse(item) {
            Ok(rec) => {
                self.on_record(&rec, procs, out);
                Some(rec)
            }
            Err(_) => {
                self.counters.bad_records += 1;
                None
            }
        }
    }

    pub fn on_record(
        &mut self,
        rec: &RawRecord,
        procs: &mut dyn ProcSource,
        out: &mut dyn FnMut(Emitted),
    ) {
        self.counters.records += 1;
        match rec {
            RawRecord::Ssl(s) => {
                self.counters.bytes += s.data.len() as u64;
                if s.truncated() {
                    self.counters.truncated_calls += 1;
                }
                let key = (s.hdr.pid, s.ssl);
                if !self.conns.contains_key(&key) && self.conns.len() >= self.cfg.max_connections {
                    self.evict_lru(procs, out);
                }
                let pids = &mut self.pids;
                let conn = self.conns.entry(key).or_insert_with(|| {
                    *pids.entry(key.0).or_default() += 1;
                    let id = exchange::ConnId {
                        pid: s.hdr.pid,
                        ssl: s.ssl,
                        lib: s.lib,
                    };
                    Conn::new(id, &self.cfg.http, &self.filter)
                });
                let mut ctx = exchange::Ctx {
                    cfg: &self.cfg,
                    counters: &mut self.counters,
                    next_exchange: &mut self.next_exchange,
                    procs,
                    out,
                };
                conn.on_ssl(s, &mut ctx);
            }
            // The connection is over: a response delimited by the close is whole now, and the
            // next connection may get the same SSL* (the allocator reuses it) and must start
            // afresh. SSL objects we never saw move bytes are not ours.
            RawRecord::SslFree(f) => {
                let key = (f.hdr.pid, f.ssl);
                if self.conns.contains_key(&key) {
                    self.counters.closed_connections += 1;
                    self.close(key, f.hdr.ts_ns, procs, out);
                }
            }
            RawRecord::Exec(p) => procs.exec(p.hdr.pid),
            RawRecord::Fork(_) => {}
            // Kept even when the process has no connection yet: its last plaintext may still
            // be on its way from the other ring.
            RawRecord::Exit(p) => self.exited.push_back((p.hdr.pid, p.hdr.ts_ns)),
        }
        self.now = self.now.max(rec.header().ts_ns);
        self.close_exited(self.now, procs, out);
    }

    /// Closes the connections of processes that exited more than the grace period before
    /// `now`; a connection used after the exit (the pid was reused) stays.
    fn close_exited(&mut self, now: u64, procs: &mut dyn ProcSource, out: &mut dyn FnMut(Emitted)) {
        while let Some(&(pid, ts)) = self.exited.front() {
            if ts.saturating_add(EXIT_GRACE_NS) > now {
                break;
            }
            self.exited.pop_front();
            if self.pids.contains_key(&pid) {
                let keys: Vec<_> = self
                    .conns
                    .iter()
                    .filter(|(k, c)| k.0 == pid && c.last_ts <= ts)
                    .map(|(k, _)| *k)
                    .collect();
                for k in keys {
                    self.close(k, ts, procs, out);
                }
            }
            procs.exit(pid);
        }
    }

    /// Forgets connections idle since before `now_mono_ns - idle_timeout`.
    pub fn expire(
        &mut self,
        now_mono_ns: u64,
        procs: &mut dyn ProcSource,
        out: &mut dyn FnMut(Emitted),
    ) {
        self.close_exited(now_mono_ns, procs, out);
        let limit = now_mono_ns.saturating_sub(self.cfg.idle_timeout_ns);
        let keys: Vec<_> = self
            .conns
            .iter()
            .filter(|(_, c)| c.last_ts < limit)
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            self.counters.expired_connections += 1;
            self.close(k, now_mono_ns, procs, out);
        }
    }

    /// Ends every connection (end of a recording, plugin close).
    pub fn finish(
        &mut self,
        now_mono_ns: u64,
        procs: &mut dyn ProcSource,
        out: &mut dyn FnMut(Emitted),
    ) {
        self.close_exited(u64::MAX, procs, out);
        let keys: Vec<_> = self.conns.keys().copied().collect();
        for k in keys {
            self.close(k, now_mono_ns, procs, out);
        }
    }

    fn evict_lru(&mut self, procs: &mut dyn ProcSource, out: &mut dyn FnMut(Emitted)) {
        if let Some((k, ts)) = self
            .conns
            .iter()
            .map(|(k, c)| (*k, c.last_ts))
            .min_by_key(|x| x.1)
        {
            self.counters.evicted_connections += 1;
            self.close(k, ts, procs, out);
        }
    }

    fn close(
        &mut self,
        key: (u32, u64),
        ts: u64,
        procs: &mut dyn ProcSource,
        out: &mut dyn FnMut(Emitted),
    ) {
        if let Some(mut conn) = self.conns.remove(&key) {
            if let Some(n) = self.pids.get_mut(&key.0) {
                *n -= 1;
                if *n == 0 {
                    self.pids.remove(&key.0);
                }
            }
            let mut ctx = exchange::Ctx {
                cfg: &self.cfg,
                counters: &mut self.counters,
                next_exchange: &mut self.next_exchange,
                procs,
                out,
            };
            conn.close(ts, &mut ctx);
        }
    }
}
