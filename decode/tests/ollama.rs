//! Ollama's native API on real wire bytes: what the official Python client (`ollama` 0.6.3)
//! and curl sent (`tests/fixtures/ollama/requests`) and what a server answering like Ollama
//! sent back (`tests/fixtures/ollama/responses`), both captured on the socket by
//! `scripts/capture-ollama-fixtures.py`. Each fixture gives the same values however its bytes
//! are split; lines that are not JSON are counted; the pipeline turns each exchange into the
//! events a rule sees.

use aisensor_decode::decode::encoding::decode_body;
use aisensor_decode::decode::http1::{Limits, Message, MessageParser, Role};
use aisensor_decode::decode::ndjson::{self, NdjsonParser};
use aisensor_decode::pipeline::{CommOnly, Config, Emitted, Pipeline};
use aisensor_decode::providers::{self, Api, BodyFormat, RequestInfo, ResponseInfo};
use aisensor_event::payload::{Payload, ToolCall, Usage};
use aisensor_event::raw::{encode, Direction};
use std::path::Path;

const QUESTION: &str = "What's the weather in Paris right now?";
const SUNNY: &str = "Paris is sunny today, around 18°C.";
const MAX_OUT: usize = 16 << 20;

fn fixture(kind: &str, name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/ollama/{kind}/{name}.http"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn fixture_names(kind: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/ollama/{kind}"));
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "http"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn parse_http(role: Role, parts: &[&[u8]]) -> Vec<Message> {
    let mut p = MessageParser::new(role, Limits::default());
    p.expect_response_to("POST");
    let mut out = Vec::new();
    for part in parts {
        p.push(part, &mut out).unwrap();
    }
    assert!(p.finish().is_none(), "framed, not delimited by close");
    out
}

/// `b` cut in two at every byte boundary, and byte by byte.
fn splits(b: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut v: Vec<Vec<&[u8]>> = (0..=b.len()).map(|i| vec![&b[..i], &b[i..]]).collect();
    v.push(b.chunks(1).collect());
    v
}

/// The `Host` header as detection gets it: lower-case host, no port.
fn host_of(m: &Message) -> String {
    let h = m.head.header("host").unwrap();
    h.rsplit_once(':')
        .map_or(h, |(h, _)| h)
        .to_ascii_lowercase()
}

// ---- requests -------------------------------------------------------------------------------

struct Req {
    path: &'static str,
    api: Api,
    operation: &'static str,
    model: &'static str,
    stream: bool,
    tools: &'static [&'static str],
    /// The answer the capture server gave.
    response: &'static str,
}

fn chat(model: &'static str, stream: bool, tools: bool, response: &'static str) -> Req {
    Req {
        path: "/api/chat",
        api: Api::OllamaChat,
        operation: "chat",
        model,
        stream,
        tools: if tools { &["get_weather"] } else { &[] },
        response,
    }
}

fn embed(path: &'static str, response: &'static str) -> Req {
    Req {
        path,
        api: Api::OllamaEmbed,
        operation: "embeddings",
        model: "all-minilm",
        stream: false,
        tools: &[],
        response,
    }
}

fn requests() -> Vec<(&'static str, Req)> {
    vec![
        (
            "python-ollama-chat",
            chat("llama3.2", false, false, "ollama-chat"),
        ),
        (
            "python-ollama-chat-stream",
            chat("llama3.2", true, false, "ollama-chat-stream"),
        ),
        (
            "python-ollama-chat-tools-stream",
            chat("llama3.2", true, true, "ollama-chat-tools-stream"),
        ),
        (
            "python-ollama-chat-error",
            chat("x", false, false, "ollama-chat-error"),
        ),
        (
            "python-ollama-chat-stream-error",
            chat("llama3.2:broken", true, false, "ollama-chat-stream-error"),
        ),
        (
            "python-ollama-generate-stream",
            Req {
                path: "/api/generate",
                api: Api::OllamaGenerate,
                operation: "text_completion",
                model: "llama3.2",
                stream: true,
                tools: &[],
                response: "ollama-generate-stream",
            },
        ),
        ("python-ollama-embed", embed("/api/embed", "ollama-embed")),
        (
            "python-ollama-embeddings",
            embed("/api/embeddings", "ollama-embeddings"),
        ),
        // No `stream` in the body: Ollama streams.
        (
            "curl-ollama-chat-stream",
            chat("llama3.2", true, false, "ollama-chat-stream"),
        ),
        (
            "curl-ollama-chat-tools",
            chat("llama3.2", false, true, "ollama-chat-tools"),
        ),
    ]
}

#[test]
fn every_captured_request_is_understood() {
    let table = requests();
    let mut listed: Vec<_> = table.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(fixture_names("requests"), listed, "every fixture listed");
    for (name, want) in table {
        let wire = fixture("requests", name);
        let msgs = parse_http(Role::Request, &[&wire]);
        assert_eq!(msgs.len(), 1, "{name}");
        let m = &msgs[0];
        assert_eq!(m.wire_len, wire.len() as u64, "{name}");
        assert_eq!(
            (m.head.method.as_str(), m.head.path.as_str()),
            ("POST", want.path)
        );
        let host = host_of(m);
        let d = providers::detect(&host, &m.head.method, &m.head.path, &m.head, &[]).expect(name);
        assert_eq!(
            (d.provider.as_str(), d.api, d.operation),
            ("ollama", want.api, want.operation),
            "{name}"
        );
        // On Ollama's port the path is enough; elsewhere the body's model is.
        assert!(!d.generic_path, "{name}: port 11434");
        let body = decode_body(m.head.header("content-encoding"), &m.body, MAX_OUT).unwrap();
        let info = providers::parse_request_for(&d, &body.bytes).unwrap();
        assert_eq!(
            info,
            RequestInfo {
                model: want.model.into(),
                stream: want.stream,
                tools_declared: want.tools.iter().map(|t| t.to_string()).collect(),
                prompt: QUESTION.into(),
            },
            "{name}"
        );
        let mut elsewhere = m.head.clone();
        elsewhere.headers.retain(|(n, _)| n != "host");
        elsewhere
            .headers
            .push(("host".into(), "llm.lan:8080".into()));
        let d = providers::detect("llm.lan", "POST", want.path, &elsewhere, &[]).unwrap();
        assert!(
            d.generic_path && providers::confirmed(&d, Some(&info)),
            "{name}"
        );
        assert_eq!(d.provider, "ollama");
    }
}

#[test]
fn the_apis_are_among_all_apis() {
    // So the tests that hold for every API (garbage, cuts, wrong shapes) cover them.
    for api in [Api::OllamaChat, Api::OllamaGenerate, Api::OllamaEmbed] {
        assert!(Api::ALL.contains(&api), "{api:?}");
    }
}

#[test]
fn requests_split_anywhere_give_the_same_message() {
    for name in fixture_names("requests") {
        let wire = fixture("requests", &name);
        let whole = parse_http(Role::Request, &[&wire]);
        for parts in splits(&wire) {
            assert_eq!(parse_http(Role::Request, &parts), whole, "{name}");
        }
    }
}

// ---- responses ------------------------------------------------------------------------------

fn usage(input: u64, output: u64) -> Option<Usage> {
    Some(Usage {
        input,
        output,
        ..Default::default()
    })
}

fn weather(id: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: "get_weather".into(),
        arguments: r#"{"city":"Paris"}"#.into(),
    }
}

fn said(model: &str, completion: &str, usage: Option<Usage>, calls: Vec<ToolCall>) -> ResponseInfo {
    ResponseInfo {
        response_model: model.into(),
        completion: completion.into(),
        finish_reasons: vec!["stop".into()],
        usage,
        tool_calls: calls,
        ..Default::default()
    }
}

/// (name, API, HTTP status, streamed, what the adapter reads).
fn responses() -> Vec<(&'static str, Api, u16, bool, ResponseInfo)> {
    let chat = Api::OllamaChat;
    let plain = || said("llama3.2", SUNNY, usage(31, 12), vec![]);
    vec![
        ("ollama-chat", chat, 200, false, plain()),
        ("ollama-chat-stream", chat, 200, true, plain()),
        (
            "ollama-chat-tools-stream",
            chat,
            200,
            true,
            said(
                "llama3.2",
                "",
                usage(168, 17),
                vec![weather("call_k3qf9z2m")],
            ),
        ),
        // Older Ollama versions: no id.
        (
            "ollama-chat-tools",
            chat,
            200,
            false,
            said("llama3.2", "", usage(168, 17), vec![weather("")]),
        ),
        (
            "ollama-chat-stream-error",
            chat,
            200,
            true,
            ResponseInfo {
                response_model: "llama3.2:broken".into(),
                completion: "Paris is sunny".into(),
                error: "an error was encountered while running the model: unexpected EOF".into(),
                ..Default::default()
            },
        ),
        (
            "ollama-chat-error",
            chat,
            404,
            false,
            ResponseInfo {
                error: r#"model "x" not found, try pulling it first"#.into(),
                ..Default::default()
            },
        ),
        (
            "ollama-generate-stream",
            Api::OllamaGenerate,
            200,
            true,
            said("llama3.2", SUNNY, usage(33, 12), vec![]),
        ),
        // Input tokens only: the schema has no "absent" output count, so it is 0.
        (
            "ollama-embed",
            Api::OllamaEmbed,
            200,
            false,
            ResponseInfo {
                response_model: "all-minilm".into(),
                usage: usage(10, 0),
                ..Default::default()
            },
        ),
        (
            "ollama-embeddings",
            Api::OllamaEmbed,
            200,
            false,
            ResponseInfo::default(),
        ),
    ]
}

fn body(m: &Message) -> Vec<u8> {
    let b = decode_body(m.head.header("content-encoding"), &m.body, MAX_OUT).unwrap();
    assert!(!b.truncated);
    b.bytes.into_owned()
}

#[test]
fn every_response_fixture_is_understood() {
    let table = responses();
    let mut listed: Vec<_> = table.iter().map(|t| t.0.to_string()).collect();
    listed.sort();
    assert_eq!(fixture_names("responses"), listed, "every fixture listed");
    for (name, api, status, streamed, want) in table {
        let wire = fixture("responses", name);
        let msgs = parse_http(Role::Response, &[&wire]);
        assert_eq!(msgs.len(), 1, "{name}");
        let m = &msgs[0];
        assert_eq!(m.wire_len, wire.len() as u64, "{name}");
        assert_eq!(m.head.status, status, "{name}");
        assert_eq!(providers::is_event_stream(&m.head), streamed, "{name}");
        let format = providers::body_format(&m.head);
        assert_eq!(format == BodyFormat::Ndjson, streamed, "{name}");
        let got = providers::read_response(api, &m.head, &body(m)).unwrap();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn responses_and_streams_split_anywhere_give_the_same_values() {
    for (name, api, _, streamed, want) in responses() {
        let wire = fixture("responses", name);
        let whole = parse_http(Role::Response, &[&wire]);
        for parts in splits(&wire) {
            assert_eq!(parse_http(Role::Response, &parts), whole, "{name}");
        }
        if !streamed {
            continue;
        }
        let body = body(&whole[0]);
        let lines = ndjson::parse_all(&body);
        for parts in splits(&body) {
            let mut p = NdjsonParser::new();
            let mut got = Vec::new();
            for part in &parts {
                p.push(part, &mut got);
            }
            p.finish(&mut got);
            assert_eq!(got, lines, "{name}");
            assert_eq!(providers::parse_ndjson(api, &got).unwrap(), want, "{name}");
        }
    }
}

#[test]
fn crlf_a_last_line_without_newline_and_garbage_lines() {
    for (name, api, _, streamed, want) in responses() {
        if !streamed {
            continue;
        }
        let body = body(&parse_http(Role::Response, &[&fixture("responses", name)])[0]);
        let text = String::from_utf8(body).unwrap();
        let read = |b: &str| providers::parse_ndjson(api, &ndjson::parse_all(b.as_bytes()));
        assert_eq!(read(&text.replace('\n', "\r\n")).unwrap(), want, "{name}");
        assert_eq!(read(text.trim_end()).unwrap(), want, "{name}");
        // A proxy's page, a cut line, a JSON text that is no object: counted, skipped.
        let mut garbled = String::new();
        for line in text.lines() {
            garbled += line;
            garbled += "\n<html>502 Bad Gateway</html>\n\n{\"model\":\"llam\n42\n";
        }
        let got = read(&garbled).unwrap();
        assert_eq!(got.bad_events, 3 * text.lines().count() as u32, "{name}");
        assert_eq!(
            ResponseInfo {
                bad_events: 0,
                ..got
            },
            want,
            "{name}"
        );
    }
}

#[test]
fn each_request_pairs_with_its_answer() {
    let answers = responses();
    for (name, want) in requests() {
        let req = &parse_http(Role::Request, &[&fixture("requests", name)])[0];
        let d = providers::detect(&host_of(req), "POST", &req.head.path, &req.head, &[]).unwrap();
        let resp = &parse_http(Role::Response, &[&fixture("responses", want.response)])[0];
        let expected = &answers.iter().find(|a| a.0 == want.response).unwrap().4;
        let got = providers::read_response(d.api, &resp.head, &body(resp)).unwrap();
        assert_eq!(&got, expected, "{name} → {}", want.response);
    }
}

// ---- the pipeline ---------------------------------------------------------------------------

/// The exchange as probe records: the request in one write, the response in reads of
/// `read_size` bytes.
fn run(req: &[u8], resp: &[u8], read_size: usize) -> (Vec<Payload>, Pipeline) {
    let mut p = Pipeline::new(Config {
        capture_content: true,
        ..Config::default()
    });
    let mut out = Vec::new();
    let mut emit = |e: Emitted| out.push(e.payload);
    let call = |dir, ts, data: &[u8]| encode::call(77, 78, "agent", 0xabc, dir, ts, data);
    p.on_bytes(
        &call(Direction::Write, 1_000, req),
        &mut CommOnly,
        &mut emit,
    );
    for (i, part) in resp.chunks(read_size).enumerate() {
        let rec = call(Direction::Read, 2_000 + i as u64, part);
        p.on_bytes(&rec, &mut CommOnly, &mut emit);
    }
    (out, p)
}

#[test]
fn the_pipeline_reports_each_exchange_at_every_read_size() {
    let answers = responses();
    for (name, want) in requests() {
        let req = fixture("requests", name);
        let (_, _, status, streamed, info) = answers.iter().find(|a| a.0 == want.response).unwrap();
        let resp = fixture("responses", want.response);
        let mut first: Option<Payload> = None;
        for read_size in [1, 7, 64, 16384] {
            let (events, p) = run(&req, &resp, read_size);
            let c = p.counters();
            assert_eq!(
                (c.parse_failures, c.provider_errors, c.non_ai_exchanges),
                (0, 0, 0),
                "{name}/{read_size}"
            );
            assert_eq!(events.len(), 2, "{name}/{read_size}");
            assert_eq!(
                (events[0].kind.as_str(), events[1].kind.as_str()),
                ("ai.request", "ai.response")
            );
            let r = &events[1];
            let ai = r.ai.as_ref().unwrap();
            assert_eq!(ai.provider, "ollama", "{name}");
            assert_eq!(ai.operation, want.operation, "{name}");
            assert_eq!(ai.model, want.model, "{name}");
            assert_eq!(ai.stream, want.stream || *streamed, "{name}");
            assert_eq!(ai.tools_declared, want.tools, "{name}");
            assert_eq!(ai.response_model, info.response_model, "{name}");
            assert_eq!(ai.tool_calls, info.tool_calls, "{name}");
            assert_eq!(ai.usage, info.usage, "{name}");
            assert_eq!(ai.finish_reasons, info.finish_reasons, "{name}");
            assert_eq!(ai.error, info.error, "{name}");
            assert_eq!(r.http.as_ref().unwrap().status, Some(*status));
            assert_eq!(r.conn.as_ref().unwrap().port, Some(11434));
            let content = r.content.as_ref().unwrap();
            assert_eq!(content.prompt, QUESTION, "{name}");
            assert_eq!(content.completion, info.completion, "{name}");
            // The last read comes later with smaller reads: so does the response's time.
            let mut r = r.clone();
            r.ts = 0;
            if let Some(ai) = r.ai.as_mut() {
                ai.latency_ns = None;
            }
            match &first {
                None => first = Some(r),
                Some(f) => assert_eq!(f, &r, "{name}/{read_size}"),
            }
        }
    }
}

#[test]
fn on_another_host_only_a_body_naming_a_model_is_ollama() {
    let post = |host: &str, body: &str| {
        format!(
            "POST /api/chat HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let resp = fixture("responses", "ollama-chat");
    // A web app's chat endpoint: not an AI API call.
    let (events, p) = run(
        post("shop.example", r#"{"message":"where is my order?"}"#).as_bytes(),
        &resp,
        16384,
    );
    assert!(events.is_empty());
    assert_eq!(p.counters().non_ai_exchanges, 1);
    // Ollama behind a TLS proxy: reported, as Ollama.
    let (events, _) = run(
        post(
            "ollama.corp.example",
            r#"{"model":"llama3.2","messages":[]}"#,
        )
        .as_bytes(),
        &resp,
        16384,
    );
    assert_eq!(events.len(), 2);
    let ai = events[1].ai.as_ref().unwrap();
    assert_eq!(
        (ai.provider.as_str(), ai.model.as_str(), ai.stream),
        ("ollama", "llama3.2", true)
    );
}

#[test]
fn keys_in_ollama_tool_arguments_never_reach_events() {
    let key = "sk-proj-Tool0Key0Seen0By0Model";
    let line = format!(
        r#"{{"model":"llama3.2","created_at":"2026-11-23T00:41:15Z","message":{{"role":"assistant","content":"","tool_calls":[{{"function":{{"name":"bash","arguments":{{"command":"curl -H 'Authorization: Bearer {key}' https://x"}}}}}}]}},"done":false}}"#
    );
    let resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{line}\n\r\n0\r\n\r\n",
        line.len() + 1
    );
    let req = fixture("requests", "python-ollama-chat-tools-stream");
    let (events, p) = run(&req, resp.as_bytes(), 16384);
    assert_eq!(p.counters().provider_errors, 0);
    let call = &events[1].ai.as_ref().unwrap().tool_calls[0];
    assert_eq!(call.name, "bash");
    assert!(
        call.arguments.contains("Bearer <redacted:openai_api_key:"),
        "{}",
        call.arguments
    );
    serde_json::from_str::<serde_json::Value>(&call.arguments).expect("still JSON");
    for e in &events {
        assert!(!String::from_utf8_lossy(&e.to_json()).contains(key));
    }
}
