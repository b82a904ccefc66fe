//! The built plugins replaying recordings, no privileges needed: what a user does to
//! reproduce a capture, and what Falco's replay of a recording gives.

use aisensor_cli::host::Host;
use aisensor_event::raw::{encode, Direction};
use aisensor_event::recording::Writer;
use aisensor_tests::server::Responses;
use aisensor_tests::{plugin_dir, TempDir};
use std::time::{Duration, Instant};

fn ssl(dir: Direction, ts: u64, data: &[u8]) -> Vec<u8> {
    encode::call(4242, 4242, "python3", 0x5599_0000_0010, dir, ts, data)
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

/// A real capture (`tests/fixtures/recordings/clients.aisrec`, recorded by the end-to-end
/// test with `AISENSOR_UPDATE_FIXTURES=1`): Python streaming from Anthropic twice, node
/// streaming from OpenAI twice and curl asking OpenAI once, all with a tool call.
#[test]
fn the_recorded_capture_of_real_clients_replays_with_all_fields() {
    let path = aisensor_tests::repo_root().join("tests/fixtures/recordings/clients.aisrec");
    let cfg = serde_json::json!({"mode": "replay", "replay_file": path}).to_string();
    let mut host = Host::start(&plugin_dir(), &cfg).unwrap();
    let fields = [
        "ai.kind",
        "ai.provider",
        "ai.model",
        "ai.response.model",
        "ai.stream",
        "ai.tool_name",
        "ai.tokens.input",
        "ai.tokens.output",
        "ai.proc.name",
        "ai.proc.exe",
        "ai.server",
        "ai.credential.kinds",
    ];
    let events = host
        .collect(Duration::from_secs(30), &fields, |_| false)
        .unwrap();
    let responses = |name: &str| -> Vec<_> {
        events
            .iter()
            .filter(|e| e.get("ai.proc.name") == name && e.get("ai.kind") == "ai.response")
            .collect()
    };
    let python = responses("python3");
    assert_eq!(python.len(), 2);
    for r in python {
        assert_eq!(r.get("ai.provider"), "anthropic");
        assert_eq!(r.get("ai.model"), "claude-sonnet-4-5");
        assert_eq!(r.get("ai.response.model"), "claude-sonnet-4-5-20250929");
        assert_eq!(r.get("ai.stream"), "true");
        assert_eq!(r.get("ai.tool_name"), "get_weather");
        assert_eq!(
            (r.get("ai.tokens.input"), r.get("ai.tokens.output")),
            ("397", "58")
        );
        assert_eq!(r.get("ai.credential.kinds"), "anthropic_api_key");
    }
    let node = responses("node");
    assert_eq!(node.len(), 2);
    for r in node {
        assert_eq!(r.get("ai.provider"), "openai");
        assert_eq!(r.get("ai.server"), "api.openai.com");
        assert_eq!(r.get("ai.stream"), "true");
        assert_eq!(r.get("ai.tool_name"), "get_weather");
        assert_eq!(
            (r.get("ai.tokens.input"), r.get("ai.tokens.output")),
            ("82", "17")
        );
        assert!(r.get("ai.proc.exe").ends_with("node"));
    }
    let curl = responses("curl");
    assert_eq!(curl.len(), 1);
    assert_eq!(curl[0].get("ai.model"), "gpt-4o-mini");
    assert_eq!(curl[0].get("ai.stream"), "false");
    for e in &events {
        let text = String::from_utf8_lossy(&e.payload);
        assert!(!text.contains("e2eTESTKEY"), "a key leaked: {text}");
    }
    assert_eq!(host.metric("parse_failures"), Some(0));
}
