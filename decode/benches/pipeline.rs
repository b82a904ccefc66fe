//! Benchmark of the userspace pipeline, as the drain thread runs it: probe records in (parse,
//! per-connection HTTP framing, body decoding, SSE, provider adapters, correlation), JSON
//! payloads out. One thread, so the figures are per core.
//!
//! `cargo bench -p aisensor-decode --bench pipeline` prints exchanges/s and MB/s for keep-alive
//! exchanges of real fixture responses (plain JSON and streamed), with ~3 KiB exchanges as in
//! the floor the project holds itself to (20,000 exchanges/s on one core). The HTTP/2 case
//! replays a connection captured from curl (tests/fixtures/h2), one connection per exchange:
//! preface, SETTINGS, HPACK with Huffman, the answer in many DATA frames, then SSL_free.

use aisensor_decode::pipeline::{CommOnly, Config, Pipeline};
use aisensor_event::raw::{encode, Direction, FreeRecord, Header, KIND_SSL_FREE};
use std::path::Path;
use std::time::Instant;

#[path = "../tests/common/h2_capture.rs"]
mod h2_capture;
use h2_capture::Capture;

fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/responses")
        .join(format!("{name}.http"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// An OpenAI chat request of about `size` bytes, with a tool, as an agent sends it.
fn request(size: usize, stream: bool) -> Vec<u8> {
    let filler = "Summarise the build log and propose a fix. ".repeat(size / 44);
    let body = format!(
        r#"{{"model":"gpt-4o","stream":{stream},"messages":[{{"role":"system","content":"You are a coding agent."}},{{"role":"user","content":"{filler}"}}],"tools":[{{"type":"function","function":{{"name":"get_weather","description":"Get the weather","parameters":{{"type":"object","properties":{{"city":{{"type":"string"}}}}}}}}}}]}}"#
    );
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nAuthorization: Bearer sk-proj-benchmarkkey\r\nContent-Type: application/json\r\nUser-Agent: OpenAI/Python 1.54.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn record(dir: Direction, ts: u64, data: &[u8]) -> Vec<u8> {
    encode::call(4242, 4242, "python3", 0x5555_0000_1000, dir, ts, data)
}

fn run(label: &str, req: &[u8], resp: &[u8], exchanges: usize) {
    let mut records = Vec::with_capacity(exchanges * 2);
    for i in 0..exchanges as u64 {
        records.push(record(Direction::Write, i * 1000, req));
        records.push(record(Direction::Read, i * 1000 + 500, resp));
    }
    measure(label, &records, req.len() + resp.len(), exchanges);
}

/// A captured HTTP/2 connection (one exchange), replayed call by call on `exchanges`
/// connections in turn, each ended by SSL_free.
fn run_h2(label: &str, name: &str, exchanges: usize) {
    let capture = Capture::load(name);
    let mut records = Vec::new();
    for i in 0..exchanges as u64 {
        let ssl = 0x5555_0000_0000 + i * 0x100;
        for (j, (d, call)) in capture.calls().into_iter().enumerate() {
            let ts = i * 1000 + j as u64;
            records.push(encode::call(4242, 4242, "curl", ssl, d, ts, call));
        }
        records.push(encode::free(&FreeRecord {
            hdr: Header {
                kind: KIND_SSL_FREE,
                flags: 0,
                pid: 4242,
                tid: 4242,
                ts_ns: i * 1000 + 999,
                comm: encode::comm("curl"),
            },
            ssl,
        }));
    }
    let bytes = capture.write.len() + capture.read.len();
    measure(label, &records, bytes, exchanges);
}

fn measure(label: &str, records: &[Vec<u8>], exchange_bytes: usize, exchanges: usize) {
    let bytes = exchange_bytes * exchanges;
    let mut best = f64::MAX;
    let mut events = 0;
    for _ in 0..3 {
        let mut pipeline = Pipeline::new(Config::default());
        let mut procs = CommOnly;
        let mut json_bytes = 0usize;
        let start = Instant::now();
        for r in records {
            pipeline.on_bytes(r, &mut procs, &mut |e| {
                json_bytes += e.payload.to_json().len()
            });
        }
        let secs = start.elapsed().as_secs_f64();
        best = best.min(secs);
        events = pipeline.counters().events;
        assert_eq!(pipeline.counters().parse_failures, 0);
        assert!(json_bytes > 0);
    }
    assert_eq!(
        events,
        2 * exchanges as u64,
        "{label}: every exchange gives two events"
    );
    println!(
        "{label:<36} exchange {:>6} B  {:>9.0} exchanges/s  {:>7.1} MB/s  {:>6.2} µs/exchange",
        exchange_bytes,
        exchanges as f64 / best,
        bytes as f64 / best / 1e6,
        best * 1e6 / exchanges as f64,
    );
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: keep it short then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n = if quick { 200 } else { 20_000 };
    println!(
        "aisensor userspace pipeline, one thread, {n} keep-alive exchanges per run (best of 3)"
    );
    let plain = fixture("openai-chat-tools");
    run(
        "openai json, ~3 KiB",
        &request(3072 - plain.len(), false),
        &plain,
        n,
    );
    let streamed = fixture("openai-chat-tools-stream");
    run(
        "openai sse stream, tool call",
        &request(1500, true),
        &streamed,
        n,
    );
    let anthropic = fixture("anthropic-messages-tools-stream");
    run(
        "anthropic sse stream, tool call",
        &request(1500, true),
        &anthropic,
        n,
    );
    run(
        "openai json, 64 KiB request",
        &request(64 * 1024, false),
        &plain,
        n / 4,
    );
    run_h2(
        "h2 openai sse stream (curl capture)",
        "curl-openai-chat-tools-stream",
        n,
    );
}
