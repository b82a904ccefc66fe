//! End to end with the real probe: real TLS clients (curl, Python, node) talk to a TLS server
//! on 127.0.0.1 under the providers' real host names; the built `libaisensor.so` and
//! `libaifields.so`, hosted as Falco hosts them, must report every exchange with the right
//! fields. These tests need root and eBPF: without them they fail, saying so.

use aisensor_cli::host::{Host, Record};
use aisensor_tests::clients::{anthropic_body, openai_body, wait_ok, Env};
use aisensor_tests::{plugin_dir, require_ebpf, serial, TempDir};
use serde_json::json;
use std::process::Child;
use std::time::Duration;

const FIELDS: &[&str] = &[
    "ai.kind",
    "ai.provider",
    "ai.operation",
    "ai.model",
    "ai.response.model",
    "ai.stream",
    "ai.tool_name",
    "ai.tokens.input",
    "ai.tokens.output",
    "ai.proc.pid",
    "ai.proc.name",
    "ai.server",
    "ai.http.status",
    "ai.exchange_id",
    "ai.secrets.count",
    "ai.conn.tls_lib",
];

const OPENAI_KEY: &str = "Authorization: Bearer sk-proj-e2eTESTKEY0123456789";
const ANTHROPIC_KEY: &str = "x-api-key: sk-ant-api03-e2eTESTKEY0123456789";
const ANTHROPIC_VERSION: &str = "anthropic-version: 2023-06-01";

fn live(extra: serde_json::Value) -> Host {
    require_ebpf();
    let mut cfg = json!({"mode": "live"});
    if let (Some(c), Some(e)) = (cfg.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    Host::start(&plugin_dir(), &cfg.to_string())
        .unwrap_or_else(|e| panic!("live capture must start here: {e:#}"))
}

/// Events of the given processes, waiting until `n` of them arrived (or `timeout`), then a
/// little longer so that extra events would be seen too.
fn events_of(host: &mut Host, pids: &[u32], n: usize, timeout: Duration) -> Vec<Record> {
    let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
    let mine = |r: &Record| pids.iter().any(|p| r.get("ai.proc.pid") == p);
    let mut seen = 0;
    let mut got: Vec<Record> = host
        .collect(timeout, FIELDS, |r| {
            seen += mine(r) as usize;
            seen >= n
        })
        .expect("events")
        .into_iter()
        .filter(mine)
        .collect();
    let late = host
        .collect(Duration::from_millis(300), FIELDS, |_| false)
        .expect("events");
    got.extend(late.into_iter().filter(mine));
    got
}

fn metric(host: &mut Host, name: &str) -> u64 {
    host.metric(name)
        .unwrap_or_else(|| panic!("metric {name} missing: {:?}", host.metrics()))
}

struct Case {
    client: &'static str,
    provider: &'static str,
    stream: bool,
    pid: u32,
}

#[test]
fn every_client_and_provider_is_captured() {
    let _g = serial();
    let mut host = live(json!({}));
    let env = Env::start().unwrap();
    let mut cases = Vec::new();
    for client in ["curl", "python", "node", "wget"] {
        for provider in ["openai", "anthropic"] {
            for stream in [false, true] {
                let (host_name, path, body, headers) = match provider {
                    "openai" => (
                        "api.openai.com",
                        "/v1/chat/completions",
                        openai_body("gpt-4o", stream, true),
                        vec![OPENAI_KEY],
                    ),
                    _ => (
                        "api.anthropic.com",
                        "/v1/messages",
                        anthropic_body("claude-sonnet-4-5", stream, true),
                        vec![ANTHROPIC_KEY, ANTHROPIC_VERSION],
                    ),
                };
                let child = match client {
                    "curl" => env.curl(host_name, path, &body, &headers),
                    "python" => env.python(host_name, path, &body, 1, &headers),
                    "wget" => env.wget(host_name, path, &body, &headers),
                    _ => env.node(host_name, path, &body, 1, &headers),
                }
                .unwrap();
                let pid = child.id();
                wait_ok(child).unwrap();
                cases.push(Case {
                    client,
                    provider,
                    stream,
                    pid,
                });
            }
        }
    }
    let pids: Vec<u32> = cases.iter().map(|c| c.pid).collect();
    let events = events_of(&mut host, &pids, 2 * cases.len(), Duration::from_secs(20));
    for c in &cases {
        let what = format!("{} {} stream={}", c.client, c.provider, c.stream);
        let mine: Vec<&Record> = events
            .iter()
            .filter(|r| r.get("ai.proc.pid") == c.pid.to_string())
            .collect();
        let kinds: Vec<&str> = mine.iter().map(|r| r.get("ai.kind")).collect();
        assert_eq!(
            kinds,
            ["ai.request", "ai.response"],
            "{what}: events {kinds:?}"
        );
        let (req, resp) = (mine[0], mine[1]);
        let (server, model) = match c.provider {
            "openai" => ("api.openai.com", "gpt-4o"),
            _ => ("api.anthropic.com", "claude-sonnet-4-5"),
        };
        let expected_name = match c.client {
            "python" => "python3",
            other => other,
        };
        for r in [req, resp] {
            assert_eq!(r.get("ai.provider"), c.provider, "{what}");
            assert_eq!(r.get("ai.model"), model, "{what}");
            assert_eq!(r.get("ai.server"), server, "{what}");
            assert_eq!(r.get("ai.proc.name"), expected_name, "{what}");
            assert_eq!(r.get("ai.exchange_id"), req.get("ai.exchange_id"), "{what}");
            let tls_lib = if c.client == "wget" {
                "gnutls"
            } else {
                "openssl"
            };
            assert_eq!(r.get("ai.conn.tls_lib"), tls_lib, "{what}");
            let text = String::from_utf8_lossy(&r.payload);
            assert!(
                !text.contains("e2eTESTKEY"),
                "{what}: API key leaked: {text}"
            );
            assert!(
                text.contains("\"fingerprint\""),
                "{what}: no credential fingerprint"
            );
        }
        assert_eq!(resp.get("ai.http.status"), "200", "{what}");
        assert_eq!(resp.get("ai.stream"), c.stream.to_string(), "{what}");
        assert_eq!(resp.get("ai.tool_name"), "get_weather", "{what}");
        let (input, output) = fixture_usage(c.provider, c.stream);
        assert_eq!(resp.get("ai.tokens.input"), input, "{what}");
        assert_eq!(resp.get("ai.tokens.output"), output, "{what}");
        assert_ne!(resp.get("ai.response.model"), "<NA>", "{what}");
        let json = resp.json();
        let args = json["ai"]["tool_calls"][0]["arguments"]
            .as_str()
            .unwrap_or("");
        let args: serde_json::Value = serde_json::from_str(args)
            .unwrap_or_else(|e| panic!("{what}: tool arguments {args:?} not JSON: {e}"));
        assert_eq!(args["city"], "Paris", "{what}");
    }
    assert_eq!(metric(&mut host, "parse_failures"), 0);
}

#[test]
fn a_client_with_its_own_libssl_in_another_mount_namespace_is_captured() {
    // As in a container: the client's libssl is another file than the host's, under the same
    // path, visible only in its mount namespace, and mapped only after its exec.
    let _g = serial();
    let mut host = live(json!({}));
    let env = Env::start().unwrap();
    let system = "/usr/lib/x86_64-linux-gnu/libssl.so.3";
    let copy = env.dir.path().join("libssl.so.3");
    std::fs::copy(system, &copy).unwrap();
    let body = openai_body("gpt-4o", false, true);
    let child = env
        .python_in_namespace(
            &[(&copy, system)],
            "api.openai.com",
            "/v1/chat/completions",
            &body,
            &[OPENAI_KEY],
        )
        .unwrap();
    let pid = child.id();
    wait_ok(child).unwrap();
    let maps_note = "the copy is not the host's libssl: uprobes on the host's file miss it";
    let events = events_of(&mut host, &[pid], 2, Duration::from_secs(10));
    let kinds: Vec<&str> = events.iter().map(|r| r.get("ai.kind")).collect();
    assert_eq!(kinds, ["ai.request", "ai.response"], "{maps_note}");
    assert_eq!(events[1].get("ai.model"), "gpt-4o");
    assert_eq!(events[1].get("ai.tool_name"), "get_weather");
    assert_eq!(events[1].get("ai.proc.name"), "python3");
}

#[test]
fn the_official_python_sdks_are_captured() {
    official_sdks_are_captured("Python", "python3", Env::sdk);
}

#[test]
fn the_official_node_sdks_are_captured() {
    official_sdks_are_captured("JS", "node", Env::node_sdk);
}

/// Which official-SDK tests make a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sdks {
    /// Both the Python and the Node.js test.
    All,
    /// The Python test only: boto3 is the AWS SDK the tests install (the AWS SDK for
    /// JavaScript is not among `tests/clients/node-sdk`'s packages).
    Python,
}

impl Sdks {
    /// Whether the test of `lang` (as [`official_sdks_are_captured`] names it) makes the call.
    fn include(self, lang: &str) -> bool {
        self == Sdks::All || lang == "Python"
    }
}

const BEDROCK_MODEL: &str = "anthropic.claude-3-5-sonnet-20241022-v2:0";

/// The SDK calls each official-SDK test makes: (which tests, provider, client mode), and what
/// the events must then say: (model, operation, streamed, tool call, input tokens, output
/// tokens).
#[allow(clippy::type_complexity)]
#[rustfmt::skip] // a table: one call per line
const SDK_CALLS: &[(Sdks, &str, &str, (&str, &str, bool, &str, &str, &str))] = &[
    (Sdks::All, "openai", "plain", ("gpt-4o", "chat", false, "get_weather", "82", "17")),
    (Sdks::All, "openai", "stream", ("gpt-4o", "chat", true, "get_weather", "82", "17")),
    (Sdks::All, "openai", "responses", ("gpt-4o", "chat", false, "get_weather", "75", "18")),
    (Sdks::All, "openai", "responses-stream", ("gpt-4o", "chat", true, "get_weather", "75", "18")),
    (Sdks::All, "openai", "embeddings", ("text-embedding-3-small", "embeddings", false, "<NA>", "8", "0")),
    (Sdks::All, "anthropic", "plain", ("claude-sonnet-4-5", "chat", false, "get_weather", "397", "58")),
    (Sdks::All, "anthropic", "stream", ("claude-sonnet-4-5", "chat", true, "get_weather", "397", "58")),
    (Sdks::All, "gemini", "plain", ("gemini-2.5-flash", "generate_content", false, "get_weather", "61", "16")),
    (Sdks::All, "gemini", "stream", ("gemini-2.5-flash", "generate_content", true, "get_weather", "61", "16")),
    // Converse, ConverseStream, InvokeModel, InvokeModelWithResponseStream (Anthropic body).
    (Sdks::Python, "bedrock", "plain", (BEDROCK_MODEL, "chat", false, "get_weather", "410", "61")),
    (Sdks::Python, "bedrock", "stream", (BEDROCK_MODEL, "chat", true, "get_weather", "410", "61")),
    (Sdks::Python, "bedrock", "invoke", (BEDROCK_MODEL, "chat", false, "get_weather", "397", "58")),
    (Sdks::Python, "bedrock", "invoke-stream", (BEDROCK_MODEL, "chat", true, "get_weather", "397", "58")),
];

/// Runs an official SDK (`lang` as its user agent names the language, `proc_name` the
/// process) for every call of [`SDK_CALLS`], and checks the events it produced.
fn official_sdks_are_captured(
    lang: &str,
    proc_name: &str,
    run: fn(&Env, &str, &str) -> anyhow::Result<Child>,
) {
    let _g = serial();
    let mut host = live(json!({}));
    let env = Env::start().unwrap();
    let mut runs = Vec::new();
    for &(sdks, provider, mode, want) in SDK_CALLS {
        if !sdks.include(lang) {
            continue;
        }
        let child = run(&env, provider, mode).unwrap();
        let pid = child.id();
        wait_ok(child).unwrap();
        runs.push((provider, mode, want, pid));
    }
    let pids: Vec<u32> = runs.iter().map(|r| r.3).collect();
    let events = events_of(&mut host, &pids, 2 * runs.len(), Duration::from_secs(20));
    for (provider, mode, want, pid) in runs {
        let (model, operation, stream, tool, input, output) = want;
        let what = format!("{provider} {lang} SDK {mode}");
        let mine: Vec<&Record> = events
            .iter()
            .filter(|r| r.get("ai.proc.pid") == pid.to_string())
            .collect();
        let kinds: Vec<&str> = mine.iter().map(|r| r.get("ai.kind")).collect();
        assert_eq!(kinds, ["ai.request", "ai.response"], "{what}");
        let (req, resp) = (mine[0], mine[1]);
        let (server, sdk) = match provider {
            "openai" => ("api.openai.com", format!("OpenAI/{lang}")),
            "anthropic" => ("api.anthropic.com", format!("Anthropic/{lang}")),
            // Boto3/1.43.11 md/Botocore#1.43.11 ua/2.1 os/linux#... lang/python#3.11.7 ...
            "bedrock" => ("bedrock-runtime.us-east-1.amazonaws.com", "Boto3/".into()),
            // google-genai-sdk/1.x gl-python/3.11 ..., google-genai-sdk/2.x gl-node/v20 ...
            _ => (
                "generativelanguage.googleapis.com",
                "google-genai-sdk/".into(),
            ),
        };
        let provider = match provider {
            "gemini" => "gcp.gemini",
            "bedrock" => "aws.bedrock",
            p => p,
        };
        for r in [req, resp] {
            assert_eq!(r.get("ai.provider"), provider, "{what}");
            assert_eq!(r.get("ai.model"), model, "{what}");
            assert_eq!(r.get("ai.operation"), operation, "{what}");
            assert_eq!(r.get("ai.server"), server, "{what}");
            assert_eq!(r.get("ai.proc.name"), proc_name, "{what}");
            assert_eq!(r.get("ai.exchange_id"), req.get("ai.exchange_id"), "{what}");
        }
        assert_eq!(resp.get("ai.http.status"), "200", "{what}");
        assert_eq!(resp.get("ai.tool_name"), tool, "{what}");
        assert_eq!(resp.get("ai.stream"), stream.to_string(), "{what}");
        assert_eq!(resp.get("ai.tokens.input"), input, "{what}");
        assert_eq!(resp.get("ai.tokens.output"), output, "{what}");
        let ua = resp.json()["http"]["user_agent"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(ua.starts_with(&sdk), "{what}: user agent {ua:?}");
        if provider == "aws.bedrock" {
            // SigV4: known by its access key id's fingerprint; neither the id nor the
            // signature is in the event.
            let raw = resp.json().to_string();
            assert!(!raw.contains("AKIAE2ETESTKEY"), "{what}: {raw}");
            let creds = &resp.json()["credentials"];
            assert_eq!(creds[0]["kind"], "aws_sigv4", "{what}: {creds}");
            // The first 12 hex digits of the SHA-256 of `AKIAE2ETESTKEY000000`.
            assert_eq!(creds[0]["fingerprint"], "5e889457319a", "{what}");
        }
    }
    assert_eq!(metric(&mut host, "parse_failures"), 0);
    assert_eq!(metric(&mut host, "provider_errors"), 0);
}

/// Token usage the response fixtures report (input, output).
fn fixture_usage(provider: &str, stream: bool) -> (&'static str, &'static str) {
    match (provider, stream) {
        ("openai", false) => ("82", "17"),
        ("openai", true) => ("82", "17"),
        (_, false) => ("397", "58"),
        (_, true) => ("397", "58"),
    }
}

#[test]
fn a_response_ended_by_the_close_is_reported_when_the_connection_ends() {
    // HTTP/1.0 servers end a streamed body by closing. The client frees its connection and
    // lives on: SSL_free, not the process's exit, must complete the exchange.
    let _g = serial();
    let mut host = live(json!({}));
    let env = Env::start().unwrap();
    let body = openai_body("gpt-4o", true, true);
    let mut child = env
        .python_http10(
            "api.openai.com",
            "/v1/chat/completions",
            &body,
            60,
            &[OPENAI_KEY],
        )
        .unwrap();
    let pid = child.id();
    let events = events_of(&mut host, &[pid], 2, Duration::from_secs(20));
    let alive = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(alive, "the client exited early; the test proves nothing");
    let kinds: Vec<&str> = events.iter().map(|r| r.get("ai.kind")).collect();
    assert_eq!(kinds, ["ai.request", "ai.response"]);
    let resp = &events[1];
    assert_eq!(resp.get("ai.tool_name"), "get_weather");
    assert_eq!(resp.get("ai.stream"), "true");
    assert_eq!(resp.get("ai.tokens.input"), "82");
    assert_eq!(resp.get("ai.tokens.output"), "17");
    assert!(metric(&mut host, "closed_connections") >= 1);
    assert_eq!(metric(&mut host, "parse_failures"), 0);
}

#[test]
fn ten_thousand_keep_alive_requests_lose_nothing() {
    let _g = serial();
    let mut host = live(json!({}));
    let env = Env::start().unwrap();
    let body = openai_body("gpt-4o-mini", false, true);
    let child = env
        .python(
            "api.openai.com",
            "/v1/chat/completions",
            &body,
            10_000,
            &[OPENAI_KEY],
        )
        .unwrap();
    let pid = child.id();
    let start = std::time::Instant::now();
    // Drain while the client runs, as Falco would.
    let events = events_of(&mut host, &[pid], 20_000, Duration::from_secs(240));
    wait_ok(child).unwrap();
    eprintln!(
        "10k keep-alive: traced client ran at {:.0} exchanges/s",
        10_000.0 / start.elapsed().as_secs_f64()
    );
    let requests = events
        .iter()
        .filter(|r| r.get("ai.kind") == "ai.request")
        .count();
    let responses = events
        .iter()
        .filter(|r| r.get("ai.kind") == "ai.response")
        .count();
    let metrics = host.metrics();
    eprintln!("10k keep-alive: {requests} requests, {responses} responses; metrics {metrics:?}");
    assert_eq!(requests, 10_000);
    assert_eq!(responses, 10_000);
    for (name, value) in &metrics {
        let is_loss = name.contains("drop")
            || name.contains("fail")
            || name.contains("truncat")
            || name.contains("bad_records")
            || name.contains("incomplete")
            || name.contains("unmatched")
            || name.contains("provider_errors")
            || name.contains("resync");
        assert!(!is_loss || *value == 0, "loss counter {name} = {value}");
    }
}

#[test]
fn a_key_in_a_prompt_is_reported_by_kind_and_never_copied() {
    // An agent that read a .env file sends it to the model with the conversation.
    let _g = serial();
    let mut host = live(json!({}));
    let env = Env::start().unwrap();
    let aws = "AKIAIOSFODNN7EXAMPLE";
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAzaisensorTestKeyMaterial0123456789";
    let mut body: serde_json::Value =
        serde_json::from_str(&anthropic_body("claude-sonnet-4-5", false, true)).unwrap();
    body["messages"][0]["content"] = json!(format!(
        "Fix the deploy. .env:\nAWS_ACCESS_KEY_ID={aws}\nid_rsa:\n{pem}"
    ));
    let child = env
        .python(
            "api.anthropic.com",
            "/v1/messages",
            &body.to_string(),
            1,
            &[ANTHROPIC_KEY, ANTHROPIC_VERSION],
        )
        .unwrap();
    let pid = child.id();
    wait_ok(child).unwrap();
    let events = events_of(&mut host, &[pid], 2, Duration::from_secs(20));
    assert_eq!(events.len(), 2);
    for e in &events {
        assert_eq!(e.get("ai.secrets.count"), "2", "{}", e.get("ai.kind"));
        let json = e.json();
        let kinds: Vec<&str> = json["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["aws_access_key_id", "private_key"]);
        let text = json.to_string();
        assert!(
            !text.contains("IOSFODNN") && !text.contains("MIIEowIBAAKCAQEA"),
            "{text}"
        );
    }
}

#[test]
fn bad_input_is_counted_and_forgotten() {
    let _g = serial();
    let mut host = live(json!({}));
    let env = Env::start().unwrap();
    let before = metric(&mut host, "parse_failures");
    let mut pids = Vec::new();
    for mode in ["garbage", "cut", "other"] {
        let child = env.python_mode("api.openai.com", mode).unwrap();
        pids.push(child.id());
        let _ = child.wait_with_output();
    }
    // The processes are gone: their connections must be too.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let _ = host.collect(Duration::from_millis(100), FIELDS, |_| false);
        let failures = metric(&mut host, "parse_failures") - before;
        if failures >= 3 && metric(&mut host, "open_connections") == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "expected 3 parse failures and no open connection, got {failures} and {}: {:?}",
            metric(&mut host, "open_connections"),
            host.metrics()
        );
    }
    // None of them produced an event, and capture still works after them.
    let body = openai_body("gpt-4o", false, false);
    let child = env
        .python(
            "api.openai.com",
            "/v1/chat/completions",
            &body,
            1,
            &[OPENAI_KEY],
        )
        .unwrap();
    let good = child.id();
    wait_ok(child).unwrap();
    pids.push(good);
    let events = events_of(&mut host, &pids, 2, Duration::from_secs(10));
    let pids_seen: Vec<&str> = events.iter().map(|r| r.get("ai.proc.pid")).collect();
    assert!(
        pids_seen.iter().all(|p| *p == good.to_string()),
        "bad clients produced events: {pids_seen:?}"
    );
    assert_eq!(events.len(), 2);
}

#[test]
fn a_large_request_arrives_whole_and_one_over_the_cap_is_counted() {
    let _g = serial();
    // 300 KiB of conversation in one SSL_write: arrives whole with the default 1 MiB cap.
    let big = json!({
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "x".repeat(300 * 1024)}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    })
    .to_string();
    {
        let mut host = live(json!({}));
        let env = Env::start().unwrap();
        let child = env
            .python(
                "api.openai.com",
                "/v1/chat/completions",
                &big,
                2,
                &[OPENAI_KEY],
            )
            .unwrap();
        let pid = child.id();
        wait_ok(child).unwrap();
        let events = events_of(&mut host, &[pid], 4, Duration::from_secs(20));
        assert_eq!(events.len(), 4);
        assert!(events.iter().all(|r| r.get("ai.model") == "gpt-4o"));
        assert_eq!(metric(&mut host, "kernel_truncated_calls"), 0);
    }
    // With a 64 KiB cap the same request is cut, counted, and the connection stays in sync.
    let mut host = live(json!({"max_capture_bytes": 65536}));
    let env = Env::start().unwrap();
    let child = env
        .python(
            "api.openai.com",
            "/v1/chat/completions",
            &big,
            2,
            &[OPENAI_KEY],
        )
        .unwrap();
    let pid = child.id();
    wait_ok(child).unwrap();
    let events = events_of(&mut host, &[pid], 4, Duration::from_secs(20));
    let kinds: Vec<&str> = events.iter().map(|r| r.get("ai.kind")).collect();
    assert_eq!(
        kinds,
        ["ai.request", "ai.response", "ai.request", "ai.response"]
    );
    assert_eq!(events[1].get("ai.tool_name"), "get_weather");
    assert!(metric(&mut host, "truncated_calls") >= 2);
    assert_eq!(metric(&mut host, "parse_failures"), 0);
}

#[test]
fn a_recording_replays_to_the_same_events() {
    let _g = serial();
    let dir = TempDir::new("rec");
    let rec = dir.path().join("capture.aisrec");
    let live_events = {
        let mut host = live(json!({"record_file": rec.to_string_lossy()}));
        let env = Env::start().unwrap();
        let a = env
            .python(
                "api.anthropic.com",
                "/v1/messages",
                &anthropic_body("claude-sonnet-4-5", true, true),
                2,
                &[ANTHROPIC_KEY, ANTHROPIC_VERSION],
            )
            .unwrap();
        let b = env
            .node(
                "api.openai.com",
                "/v1/chat/completions",
                &openai_body("gpt-4o", true, true),
                2,
                &[OPENAI_KEY],
            )
            .unwrap();
        let c = env
            .curl(
                "api.openai.com",
                "/v1/chat/completions",
                &openai_body("gpt-4o-mini", false, true),
                &[OPENAI_KEY],
            )
            .unwrap();
        let pids = [a.id(), b.id(), c.id()];
        wait_ok(a).unwrap();
        wait_ok(b).unwrap();
        wait_ok(c).unwrap();
        events_of(&mut host, &pids, 10, Duration::from_secs(20))
    };
    assert_eq!(live_events.len(), 10);
    // `AISENSOR_UPDATE_FIXTURES=1` keeps this real capture as the replay tests' fixture.
    if std::env::var_os("AISENSOR_UPDATE_FIXTURES").is_some() {
        let keep = aisensor_tests::repo_root().join("tests/fixtures/recordings/clients.aisrec");
        std::fs::create_dir_all(keep.parent().unwrap()).unwrap();
        std::fs::copy(&rec, keep).unwrap();
    }
    let cfg = json!({"mode": "replay", "replay_file": rec.to_string_lossy()});
    let mut replay = Host::start(&plugin_dir(), &cfg.to_string()).unwrap();
    let replayed = replay
        .collect(Duration::from_secs(20), FIELDS, |_| false)
        .unwrap();
    for l in &live_events {
        let twin = replayed
            .iter()
            .find(|r| {
                r.get("ai.exchange_id") == l.get("ai.exchange_id")
                    && r.get("ai.kind") == l.get("ai.kind")
            })
            .unwrap_or_else(|| {
                panic!(
                    "live event missing from replay: {}",
                    String::from_utf8_lossy(&l.payload)
                )
            });
        assert_eq!(twin.json(), l.json());
        assert_eq!(twin.ts, l.ts);
        assert_eq!(twin.fields, l.fields);
    }
}

/// node's HTTP/2 TLS server (tests/clients/h2_server.js) with a fresh self-signed
/// certificate for the provider host names; killed on drop.
struct H2Server {
    child: Child,
    port: u16,
    cert: std::path::PathBuf,
    _dir: TempDir,
}

impl H2Server {
    fn start() -> H2Server {
        use std::io::BufRead;
        let dir = TempDir::new("h2");
        let names = vec![
            "api.openai.com".to_string(),
            "api.anthropic.com".to_string(),
        ];
        let ck = rcgen::generate_simple_self_signed(names).unwrap();
        let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
        std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
        std::fs::write(&cert, ck.cert.pem()).unwrap();
        let root = aisensor_tests::repo_root();
        let mut child = std::process::Command::new("node")
            .arg(root.join("tests/clients/h2_server.js"))
            .arg(&key)
            .arg(&cert)
            .arg(root.join("decode/tests/fixtures/responses"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("node runs the HTTP/2 server");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the HTTP/2 server's port");
        H2Server {
            child,
            port,
            cert,
            _dir: dir,
        }
    }

    /// `curl --http2` with one transfer per (host, path, body, headers), multiplexed on one
    /// connection when there are several. Prints each transfer's HTTP version. The bodies'
    /// directory must outlive the run.
    fn curl(&self, transfers: &[(&str, &str, String, Vec<&str>)]) -> (Child, TempDir) {
        let dir = TempDir::new("h2-bodies");
        let mut c = std::process::Command::new("curl");
        if transfers.len() > 1 {
            c.arg("--parallel");
        }
        for (i, (host, path, body, headers)) in transfers.iter().enumerate() {
            if i > 0 {
                c.arg("--next");
            }
            let file = dir.path().join(format!("{i}.json"));
            std::fs::write(&file, body).unwrap();
            let port = self.port;
            c.args([
                "-sS",
                "--fail",
                "--http2",
                "-o",
                "/dev/null",
                "-w",
                "%{http_version}\n",
            ])
            .arg("--cacert")
            .arg(&self.cert)
            .arg("--resolve")
            .arg(format!("{host}:{port}:127.0.0.1"))
            .args(["-H", "Content-Type: application/json"])
            .arg("--data-binary")
            .arg(format!("@{}", file.display()))
            .arg(format!("https://{host}:{port}{path}"));
            for h in headers {
                c.args(["-H", h]);
            }
        }
        let child = c
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("curl runs");
        (child, dir)
    }
}

impl Drop for H2Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn curl_over_http2_is_captured() {
    // curl negotiates h2 by ALPN whenever the server offers it: every exchange, one stream
    // each or two multiplexed on one connection, must give the events HTTP/1.1 gives.
    let _g = serial();
    let mut host = live(json!({}));
    let server = H2Server::start();
    let openai = |stream| {
        (
            "api.openai.com",
            "/v1/chat/completions",
            openai_body("gpt-4o", stream, true),
            vec![OPENAI_KEY],
        )
    };
    let anthropic = |stream| {
        (
            "api.anthropic.com",
            "/v1/messages",
            anthropic_body("claude-sonnet-4-5", stream, true),
            vec![ANTHROPIC_KEY, ANTHROPIC_VERSION],
        )
    };
    let runs = [
        vec![openai(false)],
        vec![openai(true)],
        vec![anthropic(false)],
        vec![anthropic(true)],
        vec![openai(false), openai(true)],
    ];
    let mut pids = Vec::new();
    for transfers in &runs {
        let (child, _bodies) = server.curl(transfers);
        pids.push(child.id());
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "curl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let versions = String::from_utf8_lossy(&out.stdout).replace('\n', " ");
        assert_eq!(versions.trim(), vec!["2"; transfers.len()].join(" "));
    }
    let fields: Vec<&str> = FIELDS.iter().copied().chain(["ai.http.version"]).collect();
    let mut events = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while events.len() < 12 && std::time::Instant::now() < deadline {
        let got = host
            .collect(Duration::from_millis(500), &fields, |_| false)
            .unwrap();
        events.extend(
            got.into_iter()
                .filter(|r| pids.iter().any(|p| r.get("ai.proc.pid") == p.to_string())),
        );
    }
    for (transfers, pid) in runs.iter().zip(&pids) {
        let mine: Vec<&Record> = events
            .iter()
            .filter(|r| r.get("ai.proc.pid") == pid.to_string())
            .collect();
        assert_eq!(mine.len(), 2 * transfers.len(), "curl pid {pid}");
        for (t_host, _, body, _) in transfers {
            let stream = body.contains("\"stream\":true");
            let provider = if t_host.contains("anthropic") {
                "anthropic"
            } else {
                "openai"
            };
            let what = format!("curl --http2 {provider} stream={stream}");
            let resp = mine
                .iter()
                .find(|r| {
                    r.get("ai.kind") == "ai.response" && r.get("ai.stream") == stream.to_string()
                })
                .unwrap_or_else(|| panic!("{what}: no response event"));
            assert!(
                mine.iter().any(|r| r.get("ai.kind") == "ai.request"
                    && r.get("ai.exchange_id") == resp.get("ai.exchange_id")),
                "{what}: no request event"
            );
            assert_eq!(resp.get("ai.provider"), provider, "{what}");
            assert_eq!(resp.get("ai.server"), *t_host, "{what}");
            assert_eq!(resp.get("ai.http.version"), "2", "{what}");
            assert_eq!(resp.get("ai.http.status"), "200", "{what}");
            assert_eq!(resp.get("ai.tool_name"), "get_weather", "{what}");
            let (input, output) = fixture_usage(provider, stream);
            assert_eq!(resp.get("ai.tokens.input"), input, "{what}");
            assert_eq!(resp.get("ai.tokens.output"), output, "{what}");
            assert!(
                !String::from_utf8_lossy(&resp.payload).contains("e2eTESTKEY"),
                "{what}: API key leaked"
            );
        }
    }
    assert!(metric(&mut host, "http2_connections") >= runs.len() as u64);
    assert_eq!(metric(&mut host, "parse_failures"), 0);
    assert_eq!(metric(&mut host, "provider_errors"), 0);
}
