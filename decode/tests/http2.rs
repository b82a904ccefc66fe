//! HTTP/2 through the whole pipeline, on connections captured from real clients over TLS by
//! the probe (`tests/fixtures/h2`, written by scripts/capture-h2-fixtures.py): the events
//! must be those the same requests give over HTTP/1.1, however the bytes are split.

use aisensor_decode::decode::http2::{self, Event, FrameParser, Role};
use aisensor_decode::pipeline::{CommOnly, Config, Counters, Emitted, Pipeline};
use aisensor_event::payload::Payload;
use aisensor_event::raw::{encode, Direction, Header, SslFunc, SslRecord, TlsLib, KIND_SSL};
use std::path::Path;

#[path = "common/h2_capture.rs"]
mod h2_capture;
use h2_capture::Capture;

fn read(rel: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const FIXTURES: &[&str] = &[
    "curl-openai-chat-tools",
    "curl-openai-chat-tools-stream",
    "curl-parallel-openai-chat-tools-and-stream",
    "node-anthropic-messages-tools-and-stream",
];

fn hdr(ts: u64) -> Header {
    Header {
        kind: KIND_SSL,
        flags: 0,
        pid: 77,
        tid: 78,
        ts_ns: ts,
        comm: encode::comm("agent"),
    }
}

/// One probe record: `data` at `offset` of a call of `call_len` bytes.
fn record(dir: Direction, ts: u64, offset: usize, call_len: usize, data: &[u8]) -> Vec<u8> {
    encode::ssl(&SslRecord {
        hdr: hdr(ts),
        ssl: 0x5eed,
        call_len: call_len as u32,
        offset: offset as u32,
        dir,
        func: match dir {
            Direction::Write => SslFunc::SslWrite,
            Direction::Read => SslFunc::SslRead,
        },
        lib: TlsLib::OpenSsl,
        data,
    })
}

/// Probe records for a capture, each call cut into pieces by `cut` (piece lengths), as
/// separate calls: TLS hands a client's bytes over in any split.
fn records(c: &Capture, mut cut: impl FnMut(usize) -> Vec<usize>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (i, (dir, call)) in c.calls().into_iter().enumerate() {
        let len = call.len();
        // The preface stays whole at the start of its call: that is how a connection is
        // recognised (no client writes it a byte at a time).
        let pieces = if i == 0 { vec![len] } else { cut(len) };
        let mut at = 0;
        for n in pieces {
            out.push(record(dir, 1000 * (i as u64 + 1), 0, n, &call[at..at + n]));
            at += n;
        }
        assert_eq!(at, len);
    }
    out
}

fn run(recs: &[Vec<u8>]) -> (Vec<Payload>, Counters) {
    let mut p = Pipeline::new(Config::default());
    let mut out = Vec::new();
    let mut emit = |e: Emitted| out.push(e.payload);
    for r in recs {
        p.on_bytes(r, &mut CommOnly, &mut emit);
    }
    p.finish(u64::MAX / 2, &mut CommOnly, &mut emit);
    (out, p.counters().clone())
}

/// The HTTP/1.1 events for the same request and answer: the request fixture the HTTP/1.1
/// capture recorded, answered by the same response fixture.
fn http1_events(request: &str, response: &str) -> Vec<Payload> {
    let mut p = Pipeline::new(Config::default());
    let mut out = Vec::new();
    let mut emit = |e: Emitted| out.push(e.payload);
    let req = read(&format!("requests/{request}.http"));
    let resp = read(&format!("responses/{response}.http"));
    p.on_bytes(
        &record(Direction::Write, 1, 0, req.len(), &req),
        &mut CommOnly,
        &mut emit,
    );
    p.on_bytes(
        &record(Direction::Read, 2, 0, resp.len(), &resp),
        &mut CommOnly,
        &mut emit,
    );
    assert_eq!(out.len(), 2, "{request}");
    out
}

/// What must not differ between HTTP/1.1 and HTTP/2: everything but timings, wire sizes,
/// ids, the port and the client's User-Agent.
fn comparable(p: &Payload) -> Payload {
    let mut p = p.clone();
    p.ts = 0;
    p.exchange_id = 0;
    let ai = p.ai.as_mut().unwrap();
    ai.latency_ns = None;
    ai.ttft_ns = None;
    let http = p.http.as_mut().unwrap();
    http.request_bytes = None;
    http.response_bytes = None;
    http.user_agent.clear();
    let conn = p.conn.as_mut().unwrap();
    conn.port = None;
    conn.http_version.clear();
    conn.id.clear();
    p
}

/// The (request fixture, response fixture) pairs that asked and answered the same as each
/// stream of an HTTP/2 capture, in stream order.
fn http1_twins(name: &str) -> Vec<(&'static str, &'static str)> {
    match name {
        "curl-openai-chat-tools" => vec![("python-urllib-openai-chat-tools", "openai-chat-tools")],
        "curl-openai-chat-tools-stream" => {
            vec![("curl-openai-chat-tools-stream", "openai-chat-tools-stream")]
        }
        "curl-parallel-openai-chat-tools-and-stream" => vec![
            ("python-urllib-openai-chat-tools", "openai-chat-tools"),
            ("curl-openai-chat-tools-stream", "openai-chat-tools-stream"),
        ],
        "node-anthropic-messages-tools-and-stream" => vec![
            ("curl-anthropic-messages-tools", "anthropic-messages-tools"),
            (
                "node-anthropic-messages-tools-stream",
                "anthropic-messages-tools-stream",
            ),
        ],
        _ => unreachable!(),
    }
}

fn clean(c: &Counters) {
    assert_eq!(c.http2_connections, 1, "{c:?}");
    assert_eq!(c.parse_failures, 0, "{c:?}");
    assert_eq!(c.provider_errors, 0, "{c:?}");
    assert_eq!(c.incomplete_exchanges, 0, "{c:?}");
    assert_eq!(c.unmatched_responses, 0, "{c:?}");
    assert_eq!(c.non_ai_exchanges, 0, "{c:?}");
}

#[test]
fn captured_h2_connections_give_the_http1_events() {
    for name in FIXTURES {
        let c = Capture::load(name);
        let (events, counters) = run(&records(&c, |n| vec![n]));
        clean(&counters);
        let twins = http1_twins(name);
        assert_eq!(events.len(), 2 * twins.len(), "{name}");
        let requests: Vec<_> = events.iter().filter(|e| e.kind == "ai.request").collect();
        let responses: Vec<_> = events.iter().filter(|e| e.kind == "ai.response").collect();
        for (i, (req, resp)) in twins.iter().enumerate() {
            let h1 = http1_events(req, resp);
            // streams are answered in any order: pair by exchange id
            let r = responses
                .iter()
                .find(|e| e.exchange_id == requests[i].exchange_id)
                .unwrap();
            for (h2, h1) in [(requests[i], &h1[0]), (*r, &h1[1])] {
                assert_eq!(comparable(h2), comparable(h1), "{name} #{i} {}", h2.kind);
                let conn = h2.conn.as_ref().unwrap();
                assert_eq!(conn.http_version, "2");
                assert_ne!(conn.port, None);
            }
            let ai = r.ai.as_ref().unwrap();
            assert!(
                ai.ttft_ns.is_some() && ai.latency_ns >= ai.ttft_ns,
                "{name}"
            );
            assert!(r.http.as_ref().unwrap().response_bytes > Some(100));
        }
        // the facts the HTTP/1.1 tests check, spelled out once more
        let ai = responses[0].ai.as_ref().unwrap();
        assert_eq!(ai.tool_calls[0].name, "get_weather", "{name}");
        let u = ai.usage.as_ref().unwrap();
        let want = if name.contains("anthropic") {
            ("anthropic", "claude-sonnet-4-5", (397, 58))
        } else {
            ("openai", "gpt-4o", (82, 17))
        };
        assert_eq!((ai.provider.as_str(), ai.model.as_str()), (want.0, want.1));
        assert_eq!((u.input, u.output), want.2, "{name}");
        let ua = &responses[0].http.as_ref().unwrap().user_agent;
        assert!(ua.starts_with(if name.starts_with("curl") {
            "curl/"
        } else {
            ""
        }));
    }
}

/// A small deterministic generator, so that failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// `len` cut into 1..=max pieces at random places.
    fn cut(&mut self, len: usize, max: usize) -> Vec<usize> {
        let mut pieces = Vec::new();
        let mut left = len;
        while left > 0 {
            let n = 1 + (self.next() as usize % max.min(left));
            pieces.push(n);
            left -= n;
        }
        pieces
    }
}

#[test]
fn any_split_of_the_calls_gives_the_same_events() {
    for name in FIXTURES {
        let c = Capture::load(name);
        let (whole, _) = run(&records(&c, |n| vec![n]));
        let strip = |ev: Vec<Payload>| -> Vec<Payload> { ev.iter().map(comparable).collect() };
        let whole = strip(whole);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..200 {
            let max = [1, 2, 3, 7, 9, 10, 64, 500][round % 8];
            let (events, counters) = run(&records(&c, |n| rng.cut(n, max)));
            clean(&counters);
            assert_eq!(strip(events), whole, "{name} round {round}");
        }
    }
}

/// Every event of a parser over `bytes` fed in the given pieces.
fn parse(role: Role, pieces: &[&[u8]]) -> Vec<Event> {
    let mut p = FrameParser::new(role, http2::Limits::default());
    let mut out = Vec::new();
    for piece in pieces {
        p.push(piece, &mut out).unwrap();
    }
    assert!(!p.in_message());
    out
}

#[test]
fn each_direction_split_at_every_byte_boundary_gives_the_same_messages() {
    for name in FIXTURES {
        let c = Capture::load(name);
        for (role, bytes) in [(Role::Request, &c.write), (Role::Response, &c.read)] {
            let whole = parse(role, &[bytes]);
            let n = whole
                .iter()
                .filter(|e| matches!(e, Event::Message(..)))
                .count();
            assert!(n >= 1, "{name} {role:?}");
            for i in 0..=bytes.len() {
                assert_eq!(
                    parse(role, &[&bytes[..i], &bytes[i..]]),
                    whole,
                    "{name} {role:?} split at {i}"
                );
            }
            let ones: Vec<&[u8]> = bytes.chunks(1).collect();
            assert_eq!(parse(role, &ones), whole, "{name} {role:?} byte by byte");
        }
    }
}

#[test]
fn lost_bytes_in_a_header_block_stop_the_connection_without_wrong_events() {
    // The parallel capture: stream 1's request is whole; bytes of stream 3's HEADERS are
    // lost (the record after the gap starts 5 bytes further into its call).
    let c = Capture::load("curl-parallel-openai-chat-tools-and-stream");
    let calls = c.calls();
    let write_calls: Vec<usize> = calls
        .iter()
        .filter(|(d, _)| *d == Direction::Write)
        .map(|(_, call)| call.len())
        .collect();
    let mut recs = Vec::new();
    let mut done_first = false;
    for (i, &(dir, call)) in calls.iter().enumerate() {
        let ts = 1000 * (i as u64 + 1);
        let len = call.len();
        // stream 3's HEADERS come in the fourth write (curl: preface+SETTINGS, HEADERS, DATA,
        // HEADERS, ...)
        let stream3_headers = call.len() > 20 && call[3] == 1 && call[8] == 3;
        if dir == Direction::Write && !done_first && stream3_headers {
            done_first = true;
            recs.push(record(dir, ts, 0, len, &call[..12]));
            recs.push(record(dir, ts, 17, len, &call[17..]));
            continue;
        }
        recs.push(record(dir, ts, 0, len, call));
    }
    assert!(done_first, "found stream 3's HEADERS in {write_calls:?}");
    let (events, counters) = run(&recs);
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["ai.request"],
        "stream 1's request only: {counters:?}"
    );
    assert_eq!(counters.parse_failures, 1);
    assert_eq!(counters.incomplete_exchanges, 1, "stream 1 never answered");
}

#[test]
fn lost_bytes_inside_a_body_are_skipped() {
    // A gap in the streamed answer's DATA payload: the event still comes, its body cut.
    let c = Capture::load("curl-openai-chat-tools-stream");
    let mut recs = Vec::new();
    let mut cut_one = false;
    for (i, (dir, call)) in c.calls().into_iter().enumerate() {
        let ts = 1000 * (i as u64 + 1);
        let len = call.len();
        // the first read that is one whole DATA frame of more than 100 bytes
        let data_frame = call.len() > 100 && call[3] == 0 && {
            let flen =
                usize::from(call[0]) << 16 | usize::from(call[1]) << 8 | usize::from(call[2]);
            flen + 9 == call.len()
        };
        if dir == Direction::Read && data_frame && !cut_one {
            cut_one = true;
            recs.push(record(dir, ts, 0, len, &call[..40]));
            recs.push(record(dir, ts, 60, len, &call[60..]));
            continue;
        }
        recs.push(record(dir, ts, 0, len, call));
    }
    assert!(cut_one);
    let (events, counters) = run(&recs);
    assert_eq!(events.len(), 2, "{counters:?}");
    assert_eq!(counters.parse_failures, 0);
    let ai = events[1].ai.as_ref().unwrap();
    assert_eq!(ai.model, "gpt-4o");
    assert_eq!(events[1].http.as_ref().unwrap().status, Some(200));
}

#[test]
fn attaching_mid_connection_is_counted_not_guessed() {
    // No preface: the probe attached after the connection started. HPACK's table is
    // unknown, so nothing is decoded; the connection is counted once.
    let c = Capture::load("curl-parallel-openai-chat-tools-and-stream");
    let all = records(&c, |n| vec![n]);
    let (events, counters) = run(&all[2..]);
    assert!(events.is_empty());
    assert_eq!(counters.parse_failures, 1, "{counters:?}");
    assert_eq!(counters.http2_connections, 0);
}

#[test]
fn garbage_after_the_preface_is_one_parse_failure() {
    let mut p = Pipeline::new(Config::default());
    let mut emit = |_: Emitted| panic!("no event from garbage");
    let mut w = http2::PREFACE.to_vec();
    w.extend_from_slice(b"\x00\x00\x04\x01\x05\x00\x00\x00\x01\x80\x80\x80\x80"); // index 0
    p.on_bytes(
        &record(Direction::Write, 1, 0, w.len(), &w),
        &mut CommOnly,
        &mut emit,
    );
    p.on_bytes(
        &record(Direction::Write, 2, 0, 4, b"more"),
        &mut CommOnly,
        &mut emit,
    );
    p.on_bytes(
        &record(Direction::Read, 3, 0, 4, b"\xff\xff\xff\xff"),
        &mut CommOnly,
        &mut emit,
    );
    p.finish(10, &mut CommOnly, &mut emit);
    let c = p.counters();
    assert_eq!((c.http2_connections, c.parse_failures), (1, 1), "{c:?}");
    assert_eq!(c.incomplete_exchanges, 1, "the stream whose head broke");
    // random bytes after a preface, in both directions: never a panic
    let mut rng = Rng(0xdead_beef);
    for i in 0..500 {
        let mut p = Pipeline::new(Config::default());
        let mut emit = |_: Emitted| {};
        let mut w = http2::PREFACE.to_vec();
        w.extend((0..rng.next() % 200).map(|_| rng.next() as u8));
        let r: Vec<u8> = (0..rng.next() % 200).map(|_| rng.next() as u8).collect();
        p.on_bytes(
            &record(Direction::Write, 1, 0, w.len(), &w),
            &mut CommOnly,
            &mut emit,
        );
        p.on_bytes(
            &record(Direction::Read, 2, 0, r.len(), &r),
            &mut CommOnly,
            &mut emit,
        );
        p.finish(10, &mut CommOnly, &mut emit);
        assert!(p.counters().parse_failures <= 2, "round {i}");
    }
}

/// A frame, for hand-made connections.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A header block of literal fields without indexing.
fn block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut b = Vec::new();
    for (n, v) in fields {
        b.push(0);
        b.push(n.len() as u8);
        b.extend_from_slice(n.as_bytes());
        b.push(v.len() as u8);
        b.extend_from_slice(v.as_bytes());
    }
    b
}

#[test]
fn non_ai_streams_cost_no_body_memory() {
    let mut p = Pipeline::new(Config::default());
    let mut n = 0;
    let mut emit = |_: Emitted| n += 1;
    let mut w = http2::PREFACE.to_vec();
    w.extend(frame(
        1,
        0x5,
        1,
        &block(&[
            (":method", "GET"),
            (":path", "/simple/openai/"),
            (":authority", "pypi.org"),
            (":scheme", "https"),
        ]),
    ));
    p.on_bytes(
        &record(Direction::Write, 1, 0, w.len(), &w),
        &mut CommOnly,
        &mut emit,
    );
    let head = frame(1, 0x4, 1, &[0x88]);
    p.on_bytes(
        &record(Direction::Read, 2, 0, head.len(), &head),
        &mut CommOnly,
        &mut emit,
    );
    let data = frame(0, 0, 1, &[b'z'; 16384]);
    for i in 0..256 {
        p.on_bytes(
            &record(Direction::Read, 3 + i, 0, data.len(), &data),
            &mut CommOnly,
            &mut emit,
        );
        assert!(
            p.buffered_bytes() < 64 * 1024,
            "{} bytes held",
            p.buffered_bytes()
        );
    }
    let end = frame(0, 0x1, 1, b"");
    p.on_bytes(
        &record(Direction::Read, 300, 0, end.len(), &end),
        &mut CommOnly,
        &mut emit,
    );
    assert_eq!(n, 0);
    assert_eq!(p.counters().non_ai_exchanges, 1);
    assert_eq!(p.counters().unmatched_responses, 0);
}

#[test]
fn a_stream_cut_by_the_end_of_the_connection_is_reported_and_counted() {
    // The streamed answer stops half-way and the process goes: the exchange is reported with
    // what came, and counted incomplete, as over HTTP/1.1.
    let c = Capture::load("curl-openai-chat-tools-stream");
    let all = records(&c, |n| vec![n]);
    let (events, counters) = run(&all[..all.len() - 4]);
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["ai.request", "ai.response"], "{counters:?}");
    assert_eq!(counters.incomplete_exchanges, 1);
    assert_eq!(counters.parse_failures, 0);
}

#[test]
fn an_http2_server_is_a_server_connection_not_garbage() {
    // Servers send their SETTINGS first; the captured read side is exactly what a server
    // writes. Its connection is counted as a server's, not as a parse failure.
    let c = Capture::load("curl-openai-chat-tools");
    let (events, counters) = run(&[
        record(Direction::Write, 1, 0, c.read.len(), &c.read),
        record(Direction::Read, 2, 0, c.write.len(), &c.write),
    ]);
    assert!(events.is_empty());
    assert_eq!(counters.server_connections, 1, "{counters:?}");
    assert_eq!(counters.parse_failures, 0);
    assert_eq!(counters.http2_connections, 0);
}

/// A hand-made connection fed record by record, one whole call each.
struct Conn {
    p: Pipeline,
    out: Vec<Payload>,
    ts: u64,
}

impl Conn {
    fn new() -> Self {
        Self::with(Config::default())
    }

    fn with(cfg: Config) -> Self {
        Conn {
            p: Pipeline::new(cfg),
            out: Vec::new(),
            ts: 1,
        }
    }

    fn feed(&mut self, dir: Direction, data: &[u8]) {
        self.ts += 1;
        let out = &mut self.out;
        self.p.on_bytes(
            &record(dir, self.ts, 0, data.len(), data),
            &mut CommOnly,
            &mut |e: Emitted| out.push(e.payload),
        );
    }

    fn finish(&mut self) -> Counters {
        let out = &mut self.out;
        self.p
            .finish(self.ts + 1, &mut CommOnly, &mut |e: Emitted| {
                out.push(e.payload)
            });
        self.p.counters().clone()
    }

    fn kinds(&self) -> Vec<&str> {
        self.out.iter().map(|e| e.kind.as_str()).collect()
    }
}

/// HEADERS of an OpenAI chat request on `stream`.
fn chat_headers(stream: u32, flags: u8) -> Vec<u8> {
    frame(
        1,
        flags,
        stream,
        &block(&[
            (":method", "POST"),
            (":path", "/v1/chat/completions"),
            (":authority", "api.openai.com"),
            (":scheme", "https"),
            ("content-type", "application/json"),
        ]),
    )
}

const CHAT_START: &[u8] = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"#;
const CHAT_END: &[u8] = br#""hi"}]}"#;

#[test]
fn pushed_streams_are_not_messages() {
    let mut c = Conn::new();
    let mut w = http2::PREFACE.to_vec();
    w.extend(chat_headers(1, 0x4));
    w.extend(frame(0, 0x1, 1, &[CHAT_START, CHAT_END].concat()));
    c.feed(Direction::Write, &w);
    let mut promise = 2u32.to_be_bytes().to_vec();
    promise.extend(block(&[
        (":method", "GET"),
        (":path", "/style.css"),
        (":authority", "api.openai.com"),
        (":scheme", "https"),
    ]));
    let mut r = frame(5, 0x4, 1, &promise);
    r.extend(frame(1, 0x4, 2, &block(&[(":status", "200")])));
    r.extend(frame(0, 0, 2, &[b'x'; 30_000]));
    c.feed(Direction::Read, &r);
    assert!(c.p.buffered_bytes() < 16 * 1024, "{}", c.p.buffered_bytes());
    c.feed(Direction::Read, &frame(0, 0x1, 2, b""));
    let counters = c.finish();
    assert_eq!(counters.unmatched_responses, 0, "{counters:?}");
    assert_eq!(
        counters.incomplete_exchanges, 1,
        "stream 1 was never answered"
    );
}

#[test]
fn bytes_after_a_failure_are_counted() {
    let mut c = Conn::new();
    let mut w = http2::PREFACE.to_vec();
    w.extend_from_slice(b"\x00\x00\x04\x01\x05\x00\x00\x00\x01\x80\x80\x80\x80"); // index 0
    c.feed(Direction::Write, &w);
    c.feed(Direction::Write, b"more");
    c.feed(Direction::Read, b"\xff\xff\xff");
    let counters = c.finish();
    assert_eq!(counters.parse_failures, 1);
    assert_eq!(counters.resync_bytes, 7, "{counters:?}");
}

#[test]
fn response_streams_nobody_asked_for_keep_no_body() {
    let mut c = Conn::new();
    let mut w = http2::PREFACE.to_vec();
    w.extend(chat_headers(1, 0x4));
    c.feed(Direction::Write, &w);
    for s in (3..=3 + 2 * 20).step_by(2) {
        c.feed(
            Direction::Read,
            &frame(1, 0x4, s, &block(&[(":status", "200")])),
        );
        for _ in 0..8 {
            c.feed(Direction::Read, &frame(0, 0, s, &[b'z'; 16384]));
        }
        assert!(
            c.p.buffered_bytes() < 64 * 1024,
            "{} bytes held",
            c.p.buffered_bytes()
        );
    }
}

#[test]
fn streams_dropped_by_goaway_keep_no_answer_body() {
    let mut c = Conn::new();
    let mut w = http2::PREFACE.to_vec();
    for s in [1, 3] {
        w.extend(chat_headers(s, 0x4));
        w.extend(frame(0, 0x1, s, &[CHAT_START, CHAT_END].concat()));
    }
    c.feed(Direction::Write, &w);
    c.feed(Direction::Read, &frame(7, 0, 0, &[0, 0, 0, 1, 0, 0, 0, 0]));
    // a broken server answers stream 3 anyway
    c.feed(
        Direction::Read,
        &frame(1, 0x4, 3, &block(&[(":status", "200")])),
    );
    c.feed(Direction::Read, &frame(0, 0, 3, &[b'z'; 60_000]));
    assert!(c.p.buffered_bytes() < 16 * 1024, "{}", c.p.buffered_bytes());
}

#[test]
fn all_streams_of_a_connection_share_one_body_budget() {
    let mut cfg = Config::default();
    cfg.http.max_body = 64 * 1024;
    let mut c = Conn::with(cfg);
    let mut w = http2::PREFACE.to_vec();
    for s in [1, 3, 5, 7] {
        w.extend(chat_headers(s, 0x4));
        w.extend(frame(0, 0x1, s, &[CHAT_START, CHAT_END].concat()));
    }
    c.feed(Direction::Write, &w);
    // four answers of 40 KiB each, none over: 160 KiB against a 64 KiB budget
    for s in [1, 3, 5, 7] {
        c.feed(
            Direction::Read,
            &frame(1, 0x4, s, &block(&[(":status", "200")])),
        );
        c.feed(Direction::Read, &frame(0, 0, s, &[b' '; 40 * 1024]));
    }
    assert!(
        c.p.buffered_bytes() < 64 * 1024 + 16 * 1024,
        "{} bytes held",
        c.p.buffered_bytes()
    );
    let counters = c.finish();
    assert_eq!(counters.body_budget_bytes, 96 * 1024, "{counters:?}");
}

/// The client's preface, SETTINGS and a chat request on stream 1 whose body is not over.
fn open_chat_request() -> Vec<u8> {
    let mut w = http2::PREFACE.to_vec();
    w.extend(frame(4, 0, 0, &[]));
    w.extend(chat_headers(1, 0x4));
    w.extend(frame(0, 0, 1, CHAT_START));
    w
}

#[test]
fn close_counts_cut_http2_streams_as_http1_does() {
    // A request cut mid-body failed to parse and is incomplete, as over HTTP/1.1.
    let mut c = Conn::new();
    c.feed(Direction::Write, &open_chat_request());
    let counters = c.finish();
    assert!(c.out.is_empty());
    assert_eq!(
        (counters.parse_failures, counters.incomplete_exchanges),
        (1, 1),
        "{counters:?}"
    );
    // An answer cut mid-body that no request asked for: incomplete and unmatched.
    let mut c = Conn::new();
    c.feed(Direction::Write, &http2::PREFACE[..]);
    c.feed(
        Direction::Read,
        &frame(1, 0x4, 5, &block(&[(":status", "200")])),
    );
    c.feed(Direction::Read, &frame(0, 0, 5, b"partial"));
    let counters = c.finish();
    assert_eq!(
        (counters.unmatched_responses, counters.incomplete_exchanges),
        (1, 1),
        "{counters:?}"
    );
    assert_eq!(counters.parse_failures, 0);
}

/// A whole 401 on stream 1.
fn early_401() -> Vec<u8> {
    let mut r = frame(4, 0, 0, &[]);
    r.extend(frame(
        1,
        0x4,
        1,
        &block(&[(":status", "401"), ("content-type", "application/json")]),
    ));
    r.extend(frame(
        0,
        0x1,
        1,
        br#"{"error":{"type":"invalid_api_key","code":"invalid_api_key"}}"#,
    ));
    r
}

#[test]
fn an_answer_before_the_request_ends_then_a_reset_is_reported() {
    // RFC 9113 §8.1: the server answers an upload early, then RST_STREAM(NO_ERROR).
    let mut c = Conn::new();
    c.feed(Direction::Write, &open_chat_request());
    let mut r = early_401();
    r.extend(frame(3, 0, 1, &[0, 0, 0, 0]));
    c.feed(Direction::Read, &r);
    assert_eq!(c.kinds(), ["ai.request", "ai.response"]);
    let counters = c.finish();
    assert_eq!(counters.unmatched_responses, 0, "{counters:?}");
    assert_eq!(counters.incomplete_exchanges, 1, "the request was cut");
    let resp = &c.out[1];
    assert_eq!(resp.http.as_ref().unwrap().status, Some(401));
    assert_eq!(resp.exchange_id, c.out[0].exchange_id);
    assert!(resp.ts >= c.out[0].ts);
}

#[test]
fn an_answer_before_the_request_ends_waits_for_it() {
    // No reset: the request ends after its answer came; the exchange is whole.
    let mut c = Conn::new();
    c.feed(Direction::Write, &open_chat_request());
    c.feed(Direction::Read, &early_401());
    assert!(c.out.is_empty(), "held until the request ends");
    c.feed(Direction::Write, &frame(0, 0x1, 1, CHAT_END));
    assert_eq!(c.kinds(), ["ai.request", "ai.response"]);
    assert_eq!(c.out[1].ai.as_ref().unwrap().model, "gpt-4o");
    assert_eq!(c.out[1].http.as_ref().unwrap().status, Some(401));
    let counters = c.finish();
    assert_eq!(counters.incomplete_exchanges, 0, "{counters:?}");
    assert_eq!(counters.unmatched_responses, 0);
    assert_eq!(counters.parse_failures, 0);
}

#[test]
fn an_answer_before_a_request_that_never_ends_is_reported_at_close() {
    let mut c = Conn::new();
    c.feed(Direction::Write, &open_chat_request());
    c.feed(Direction::Read, &early_401());
    let counters = c.finish();
    assert_eq!(c.kinds(), ["ai.request", "ai.response"]);
    // counted as a request cut mid-way over HTTP/1.1
    assert_eq!(counters.incomplete_exchanges, 1, "{counters:?}");
    assert_eq!(counters.parse_failures, 1);
    assert_eq!(counters.unmatched_responses, 0);
}

#[test]
fn a_new_preface_on_a_known_ssl_starts_a_new_connection() {
    // The SSL* is reused without its SSL_free record: the old connection ends (its
    // unanswered request counted), the new one is decoded from its preface.
    let mut c = Conn::new();
    let mut w = http2::PREFACE.to_vec();
    w.extend(chat_headers(1, 0x4));
    w.extend(frame(0, 0x1, 1, &[CHAT_START, CHAT_END].concat()));
    c.feed(Direction::Write, &w);
    assert_eq!(c.kinds(), ["ai.request"]);
    c.feed(Direction::Write, &w);
    c.feed(Direction::Read, &early_401());
    assert_eq!(c.kinds(), ["ai.request", "ai.request", "ai.response"]);
    let counters = c.finish();
    assert_eq!(counters.http2_connections, 2, "{counters:?}");
    assert_eq!(counters.parse_failures, 0);
    assert_eq!(counters.incomplete_exchanges, 1, "the first request");
    // and after an HTTP/1.1 connection on the same SSL*
    let mut c = Conn::new();
    c.feed(
        Direction::Write,
        &read("requests/python-urllib-openai-chat-tools.http"),
    );
    c.feed(Direction::Read, &read("responses/openai-chat-tools.http"));
    c.feed(Direction::Write, &w);
    c.feed(Direction::Read, &early_401());
    assert_eq!(
        c.kinds(),
        ["ai.request", "ai.response", "ai.request", "ai.response"]
    );
    let counters = c.finish();
    assert_eq!(counters.http2_connections, 1, "{counters:?}");
    assert_eq!(counters.parse_failures, 0);
    assert_eq!(counters.incomplete_exchanges, 0);
}
