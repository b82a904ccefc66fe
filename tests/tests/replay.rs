//! The built plugins replaying recordings, no privileges needed: what a user does to
//! reproduce a capture, and what Falco's replay of a recording gives.

use aisensor_cli::host::Host;
use aisensor_event::raw::{encode, Direction, Header, SslFunc, SslRecord, KIND_SSL};
use aisensor_event::recording::Writer;
use aisensor_tests::server::Responses;
use aisensor_tests::{plugin_dir, TempDir};
use std::time::{Duration, Instant};

fn ssl(dir: Direction, ts: u64, data: &[u8]) -> Vec<u8> {
    encode::ssl(&SslRecord {
        hdr: Header {
            kind: KIND_SSL,
            flags: 0,
            pid: 4242,
            tid: 4242,
            ts_ns: ts,
            comm: encode::comm("python3"),
        },
        ssl: 0x5599_0000_0010,
        call_len: data.len() as u32,
        offset: 0,
        dir,
        func: SslFunc::SslWriteEx,
        data,
    })
}

#[test]
fn a_long_keep_alive_recording_replays_every_exchange_quickly() {
    let dir = TempDir::new("replay");
    let path = dir.path().join("keepalive.aisrec");
    let resp = Responses::load()
        .unwrap()
        .get("openai-chat-tools")
        .unwrap()
        .to_vec();
    let body = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"get_weather"}}]}"#;
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let n = 10_000u64;
    {
        let f = std::fs::File::create(&path).unwrap();
        let mut w = Writer::new(std::io::BufWriter::new(f), 1_700_000_000_000_000_000).unwrap();
        for i in 0..n {
            w.probe(&ssl(Direction::Write, i * 1000, req.as_bytes()))
                .unwrap();
            w.probe(&ssl(Direction::Read, i * 1000 + 500, &resp))
                .unwrap();
        }
        w.flush().unwrap();
    }
    let cfg = serde_json::json!({"mode": "replay", "replay_file": path}).to_string();
    let mut host = Host::start(&plugin_dir(), &cfg).unwrap();
    let start = Instant::now();
    let events = host
        .collect(
            Duration::from_secs(120),
            &["ai.kind", "ai.model", "ai.tool_name"],
            |_| false,
        )
        .unwrap();
    eprintln!("replayed {} events in {:?}", events.len(), start.elapsed());
    assert_eq!(events.len() as u64, 2 * n);
    assert!(events.iter().all(|e| e.get("ai.model") == "gpt-4o"));
    assert_eq!(host.metric("parse_failures"), Some(0));
    assert_eq!(host.metric("queue_drops"), Some(0));
}
