//! The whole userspace pipeline on probe records built from the mock API's response fixtures
//! (`tests/fixtures/responses`), split the ways TLS reads split them.

use aisensor_decode::decode::http1::{Limits, MessageParser, Role};
use aisensor_decode::pipeline::{CommOnly, Config, Emitted, Pipeline};
use aisensor_event::payload::Payload;
use aisensor_event::raw::{
    encode, Direction, Header, ProcRecord, SslFunc, SslRecord, TlsLib, KIND_EXIT, KIND_SSL,
};
use std::path::Path;

fn fixture(name: &str) -> Vec<u8> {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/responses/{name}.http"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

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

fn rec(dir: Direction, ts: u64, ssl: u64, data: &[u8]) -> Vec<u8> {
    encode::call(77, 78, "agent", ssl, dir, ts, data)
}

fn request(host: &str, path: &str, body: &str, extra: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Runs one exchange: the request in one write, the response in reads of `read_size` bytes.
fn exchange(req: &[u8], resp: &[u8], read_size: usize) -> (Vec<Payload>, Pipeline) {
    let mut p = Pipeline::new(Config::default());
    let mut out = Vec::new();
    let mut emit = |e: Emitted| out.push(e.payload);
    p.on_bytes(
        &rec(Direction::Write, 1_000, 0xabc, req),
        &mut CommOnly,
        &mut emit,
    );
    for (i, part) in resp.chunks(read_size).enumerate() {
        p.on_bytes(
            &rec(Direction::Read, 2_000 + i as u64, 0xabc, part),
            &mut CommOnly,
            &mut emit,
        );
    }
    (out, p)
}

const OPENAI_BODY: &str = r#"{"model":"gpt-4o","stream":STREAM,"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{}}}]}"#;
const ANTHROPIC_BODY: &str = r#"{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":STREAM,"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":[{"name":"get_weather","input_schema":{}}]}"#;

#[test]
fn every_fixture_at_every_read_size_gives_the_same_events() {
    let cases = [
        (
            "openai-chat-tools",
            "api.openai.com",
            "/v1/chat/completions",
            OPENAI_BODY,
            false,
            "openai",
            (82, 17),
        ),
        (
            "openai-chat-tools-stream",
            "api.openai.com",
            "/v1/chat/completions",
            OPENAI_BODY,
            true,
            "openai",
            (82, 17),
        ),
        (
            "anthropic-messages-tools",
            "api.anthropic.com",
            "/v1/messages",
            ANTHROPIC_BODY,
            false,
            "anthropic",
            (397, 58),
        ),
        (
            "anthropic-messages-tools-stream",
            "api.anthropic.com",
            "/v1/messages",
            ANTHROPIC_BODY,
            true,
            "anthropic",
            (397, 58),
        ),
    ];
    for (name, host, path, body, stream, provider, (input, output)) in cases {
        let body = body.replace("STREAM", &stream.to_string());
        let req = request(
            host,
            path,
            &body,
            "Authorization: Bearer sk-proj-secretsecret\r\nanthropic-version: 2023-06-01\r\n",
        );
        let resp = fixture(name);
        let mut first: Option<Vec<Payload>> = None;
        for read_size in [1, 7, 64, 500, 16384] {
            let (events, p) = exchange(&req, &resp, read_size);
            assert_eq!(p.counters().parse_failures, 0, "{name}/{read_size}");
            assert_eq!(p.counters().provider_errors, 0, "{name}/{read_size}");
            assert_eq!(events.len(), 2, "{name}/{read_size}");
            let r = &events[1];
            let ai = r.ai.as_ref().unwrap();
            assert_eq!(r.kind, "ai.response");
            assert_eq!(ai.provider, provider, "{name}");
            assert_eq!(ai.stream, stream, "{name}");
            assert_eq!(ai.tool_calls[0].name, "get_weather", "{name}");
            let args: serde_json::Value =
                serde_json::from_str(&ai.tool_calls[0].arguments).unwrap();
            assert_eq!(args["city"], "Paris", "{name}");
            let u = ai.usage.as_ref().unwrap();
            assert_eq!((u.input, u.output), (input, output), "{name}");
            assert_eq!(r.http.as_ref().unwrap().status, Some(200));
            assert_eq!(r.credentials[0].kind, "openai_api_key");
            assert!(!String::from_utf8_lossy(&r.to_json()).contains("secretsecret"));
            // the same fields whatever the read split
            let mut ai = ai.clone();
            assert_eq!(
                ai.ttft_ns,
                Some(1000),
                "first response byte 1000 ns after the request"
            );
            ai.latency_ns = None; // the last read comes later with smaller reads
            match &first {
                None => {
                    first = Some(vec![Payload {
                        ai: Some(ai),
                        ..Payload::default()
                    }])
                }
                Some(f) => assert_eq!(f[0].ai.as_ref(), Some(&ai), "{name}/{read_size}"),
            }
        }
    }
}

const CONVERSE_BODY: &str = r#"{"messages":[{"role":"user","content":[{"text":"Weather in Paris?"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","inputSchema":{"json":{}}}}]}}"#;
const INVOKE_BODY: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1024,"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":[{"name":"get_weather","input_schema":{}}]}"#;
const SIGV4: &str = "Authorization: AWS4-HMAC-SHA256 Credential=AKIAE2ETESTKEY000000/20261202/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7\r\nX-Amz-Security-Token: IQoJb3JpZ2luX2VjEJrSECRETSESSIONTOKEN\r\n";

#[test]
fn bedrock_exchanges_json_and_binary_event_streams_at_every_read_size() {
    let host = "bedrock-runtime.us-east-1.amazonaws.com";
    let model = "anthropic.claude-3-5-sonnet-20241022-v2%3A0";
    let cases = [
        (
            "bedrock-converse-tools",
            "converse",
            CONVERSE_BODY,
            false,
            (410, 61),
        ),
        (
            "bedrock-converse-tools-stream",
            "converse-stream",
            CONVERSE_BODY,
            true,
            (410, 61),
        ),
        (
            "bedrock-invoke-tools",
            "invoke",
            INVOKE_BODY,
            false,
            (397, 58),
        ),
        (
            "bedrock-invoke-tools-stream",
            "invoke-with-response-stream",
            INVOKE_BODY,
            true,
            (397, 58),
        ),
    ];
    for (name, op, body, stream, (input, output)) in cases {
        let req = request(host, &format!("/model/{model}/{op}"), body, SIGV4);
        let resp = fixture(name);
        for read_size in [1, 13, 500, 16384] {
            let (events, p) = exchange(&req, &resp, read_size);
            let what = format!("{name}/{read_size}");
            assert_eq!(p.counters().parse_failures, 0, "{what}");
            assert_eq!(p.counters().provider_errors, 0, "{what}");
            assert_eq!(events.len(), 2, "{what}");
            let ai = events[1].ai.as_ref().unwrap();
            assert_eq!(ai.provider, "aws.bedrock", "{what}");
            assert_eq!(
                ai.model, "anthropic.claude-3-5-sonnet-20241022-v2:0",
                "{what}"
            );
            assert_eq!(ai.tools_declared, ["get_weather"], "{what}");
            assert_eq!(ai.stream, stream, "{what}");
            assert_eq!(ai.tool_calls[0].name, "get_weather", "{what}");
            let u = ai.usage.as_ref().unwrap();
            assert_eq!((u.input, u.output), (input, output), "{what}");
            let kinds: Vec<_> = events[1]
                .credentials
                .iter()
                .map(|c| c.kind.as_str())
                .collect();
            assert_eq!(kinds, ["aws_sigv4", "aws_session_token"], "{what}");
            let json = String::from_utf8_lossy(&events[1].to_json()).into_owned();
            for secret in ["AKIAE2ETESTKEY", "5d672d79", "SECRETSESSIONTOKEN"] {
                assert!(!json.contains(secret), "{what}: {secret} in {json}");
            }
        }
    }
    let req = request(
        host,
        &format!("/model/{model}/converse"),
        CONVERSE_BODY,
        SIGV4,
    );
    let (events, _) = exchange(&req, &fixture("bedrock-converse-error"), 100);
    assert_eq!(events[1].http.as_ref().unwrap().status, Some(429));
    assert_eq!(events[1].ai.as_ref().unwrap().error, "ThrottlingException");
}

#[test]
fn error_responses_are_reported() {
    let req = request(
        "api.openai.com",
        "/v1/chat/completions",
        &OPENAI_BODY.replace("STREAM", "false"),
        "",
    );
    let (events, _) = exchange(&req, &fixture("openai-chat-error"), 100);
    let ai = events[1].ai.as_ref().unwrap();
    assert_eq!(events[1].http.as_ref().unwrap().status, Some(429));
    assert_eq!(ai.error, "requests");
}

#[test]
fn keep_alive_pairs_responses_in_order_and_exit_forgets_the_connection() {
    let mut p = Pipeline::new(Config::default());
    let out = std::cell::RefCell::new(Vec::new());
    let mut emit = |e: Emitted| out.borrow_mut().push(e.payload);
    let a = request(
        "api.openai.com",
        "/v1/chat/completions",
        &OPENAI_BODY.replace("STREAM", "false"),
        "",
    );
    let b = request(
        "api.anthropic.com",
        "/v1/messages",
        &ANTHROPIC_BODY.replace("STREAM", "true"),
        "",
    );
    // two requests written back to back (pipelined), then both responses in one read
    p.on_bytes(&rec(Direction::Write, 1, 5, &a), &mut CommOnly, &mut emit);
    p.on_bytes(&rec(Direction::Write, 2, 5, &b), &mut CommOnly, &mut emit);
    let mut both = fixture("openai-chat-tools");
    both.extend(fixture("anthropic-messages-tools-stream"));
    p.on_bytes(&rec(Direction::Read, 3, 5, &both), &mut CommOnly, &mut emit);
    let out_ref = out.borrow();
    let kinds: Vec<(&str, &str)> = out_ref
        .iter()
        .map(|e| (e.kind.as_str(), e.ai.as_ref().unwrap().provider.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("ai.request", "openai"),
            ("ai.request", "anthropic"),
            ("ai.response", "openai"),
            ("ai.response", "anthropic")
        ]
    );
    assert_eq!(out_ref[2].exchange_id, out_ref[0].exchange_id);
    assert_eq!(out_ref[3].exchange_id, out_ref[1].exchange_id);
    drop(out_ref);
    assert_eq!(p.open_connections(), 1);
    let exit = encode::proc(&ProcRecord {
        hdr: Header {
            kind: KIND_EXIT,
            ..hdr(9)
        },
        ppid: 1,
        exit_code: 0,
        child_pid: 0,
        filename: String::new(),
    });
    p.on_bytes(&exit, &mut CommOnly, &mut emit);
    // Exit records come from their own ring and may be read before the process's last
    // plaintext: the connection stays for a grace period, then goes.
    assert_eq!(p.open_connections(), 1);
    p.expire(9 + 400_000_000, &mut CommOnly, &mut emit);
    assert_eq!(p.open_connections(), 1);
    p.expire(9 + 500_000_000, &mut CommOnly, &mut emit);
    assert_eq!(p.open_connections(), 0);
}

#[test]
fn plaintext_read_after_the_exit_record_still_completes_its_exchange() {
    let mut p = Pipeline::new(Config::default());
    let out = std::cell::RefCell::new(Vec::new());
    let mut emit = |e: Emitted| out.borrow_mut().push(e.payload.kind);
    let req = request(
        "api.openai.com",
        "/v1/chat/completions",
        &OPENAI_BODY.replace("STREAM", "true"),
        "",
    );
    p.on_bytes(
        &rec(Direction::Write, 100, 5, &req),
        &mut CommOnly,
        &mut emit,
    );
    let exit = encode::proc(&ProcRecord {
        hdr: Header {
            kind: KIND_EXIT,
            ..hdr(300)
        },
        ppid: 1,
        exit_code: 0,
        child_pid: 0,
        filename: String::new(),
    });
    p.on_bytes(&exit, &mut CommOnly, &mut emit);
    p.on_bytes(
        &rec(
            Direction::Read,
            200,
            5,
            &fixture("openai-chat-tools-stream"),
        ),
        &mut CommOnly,
        &mut emit,
    );
    p.expire(u64::MAX / 2, &mut CommOnly, &mut emit);
    assert_eq!(*out.borrow(), ["ai.request", "ai.response"]);
    assert_eq!(p.open_connections(), 0);
    assert_eq!(p.counters().incomplete_exchanges, 0);
}

#[test]
fn bad_input_is_counted_and_never_panics() {
    let mut p = Pipeline::new(Config::default());
    let n = std::cell::Cell::new(0);
    let mut emit = |_: Emitted| n.set(n.get() + 1);
    // garbage first write: another protocol
    p.on_bytes(
        &rec(Direction::Write, 1, 1, b"\x00\x01garbage\xff"),
        &mut CommOnly,
        &mut emit,
    );
    // a request cut off, then the process exits
    p.on_bytes(&rec(Direction::Write, 2, 2, b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Length: 500\r\n\r\n{\"mo"), &mut CommOnly, &mut emit);
    // a server-side connection
    p.on_bytes(
        &rec(Direction::Read, 3, 3, b"GET / HTTP/1.1\r\n\r\n"),
        &mut CommOnly,
        &mut emit,
    );
    // a corrupt record
    p.on_bytes(&[1, 2, 3], &mut CommOnly, &mut emit);
    // garbage after a good request on the response side
    p.on_bytes(
        &rec(
            Direction::Write,
            4,
            4,
            &request("api.openai.com", "/v1/chat/completions", "{}", ""),
        ),
        &mut CommOnly,
        &mut emit,
    );
    p.on_bytes(
        &rec(Direction::Read, 5, 4, b"SSH-2.0-OpenSSH\r\n"),
        &mut CommOnly,
        &mut emit,
    );
    p.finish(10, &mut CommOnly, &mut emit);
    let c = p.counters().clone();
    assert_eq!(c.bad_records, 1);
    assert_eq!(c.server_connections, 1);
    assert!(c.parse_failures >= 3, "{c:?}");
    assert_eq!(c.incomplete_exchanges, 2, "{c:?}");
    assert_eq!(p.open_connections(), 0);
    assert_eq!(n.get(), 1, "only the good request made an event");
    // random bytes as records
    let mut seed = 0x1234_5678_u64;
    for _ in 0..2000 {
        let len = (seed % 200) as usize;
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                (seed >> 33) as u8
            })
            .collect();
        p.on_bytes(&junk, &mut CommOnly, &mut emit);
        p.on_bytes(
            &rec(Direction::Read, 6, seed % 4, &junk),
            &mut CommOnly,
            &mut emit,
        );
        p.on_bytes(
            &rec(Direction::Write, 6, seed % 4, &junk),
            &mut CommOnly,
            &mut emit,
        );
    }
}

#[test]
fn a_call_whose_tail_the_ring_dropped_is_skipped_without_losing_the_connection() {
    let mut p = Pipeline::new(Config::default());
    let out = std::cell::RefCell::new(Vec::new());
    let mut emit = |e: Emitted| out.borrow_mut().push(e.payload);
    let big = format!(
        r#"{{"model":"gpt-4o","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(40_000)
    );
    let req = request("api.openai.com", "/v1/chat/completions", &big, "");
    // The probe managed the first 16 KiB record of the call, then the ring was full.
    let first = encode::ssl(&SslRecord {
        hdr: hdr(1),
        ssl: 9,
        call_len: req.len() as u32,
        offset: 0,
        dir: Direction::Write,
        func: SslFunc::SslWrite,
        lib: TlsLib::OpenSsl,
        data: &req[..16384],
    });
    p.on_bytes(&first, &mut CommOnly, &mut emit);
    // The next call is a whole new request, then both responses.
    let small = request(
        "api.openai.com",
        "/v1/chat/completions",
        &OPENAI_BODY.replace("STREAM", "false"),
        "",
    );
    p.on_bytes(
        &rec(Direction::Write, 2, 9, &small),
        &mut CommOnly,
        &mut emit,
    );
    let mut both = fixture("openai-chat-tools");
    both.extend(fixture("openai-chat-tools"));
    p.on_bytes(&rec(Direction::Read, 3, 9, &both), &mut CommOnly, &mut emit);
    let out = out.borrow();
    assert_eq!(
        out.len(),
        4,
        "{:?}",
        out.iter().map(|e| &e.kind).collect::<Vec<_>>()
    );
    assert_eq!(out[1].ai.as_ref().unwrap().tools_declared, ["get_weather"]);
    assert_eq!(p.counters().parse_failures, 0);
    assert_eq!(
        p.counters().provider_errors,
        1,
        "the cut request's body is unreadable"
    );
}

#[test]
fn non_ai_traffic_costs_no_buffer_memory() {
    let mut p = Pipeline::new(Config::default());
    let mut n = 0;
    let mut emit = |_: Emitted| n += 1;
    let get = b"GET /simple/openai/ HTTP/1.1\r\nHost: pypi.org\r\n\r\n";
    p.on_bytes(&rec(Direction::Write, 1, 3, get), &mut CommOnly, &mut emit);
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 8388608\r\n\r\n";
    p.on_bytes(&rec(Direction::Read, 2, 3, head), &mut CommOnly, &mut emit);
    let chunk = vec![b'z'; 16384];
    for i in 0..512 {
        p.on_bytes(
            &rec(Direction::Read, 3 + i, 3, &chunk),
            &mut CommOnly,
            &mut emit,
        );
        assert!(
            p.buffered_bytes() < 64 * 1024,
            "{} bytes held",
            p.buffered_bytes()
        );
    }
    let upload = b"POST /upload HTTP/1.1\r\nHost: files.example\r\nContent-Length: 1048576\r\n\r\n";
    p.on_bytes(
        &rec(Direction::Write, 600, 3, upload),
        &mut CommOnly,
        &mut emit,
    );
    for i in 0..64 {
        p.on_bytes(
            &rec(Direction::Write, 601 + i, 3, &chunk),
            &mut CommOnly,
            &mut emit,
        );
    }
    assert!(p.buffered_bytes() < 64 * 1024);
    assert_eq!(p.counters().non_ai_exchanges, 2);
    assert_eq!(p.counters().parse_failures, 0);
    assert_eq!(n, 0);
}

#[test]
fn keys_in_tool_arguments_and_url_paths_never_reach_events() {
    // A model that read a key somewhere may ask a shell tool to use it; the arguments go to
    // alert outputs (`ai.tool.arguments`), so the key must not.
    let key = "sk-proj-Tool0Key0Seen0By0Model";
    let args = format!(r#"{{\"command\":\"curl -H 'Authorization: Bearer {key}' https://x\"}}"#);
    let body = format!(
        r#"{{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o","choices":[{{"index":0,"message":{{"role":"assistant","content":null,"tool_calls":[{{"id":"call_1","type":"function","function":{{"name":"bash","arguments":"{args}"}}}}]}},"finish_reason":"tool_calls"}}]}}"#
    );
    let resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let url_key = "AIzaSyUrlKey0123456789abcdef";
    let req = request(
        "api.openai.com",
        &format!("/v1/chat/completions?key={url_key}"),
        r#"{"model":"gpt-4o","messages":[]}"#,
        "",
    );
    let (events, p) = exchange(&req, resp.as_bytes(), 16384);
    assert_eq!(p.counters().provider_errors, 0);
    assert_eq!(events.len(), 2);
    let call = &events[1].ai.as_ref().unwrap().tool_calls[0];
    assert_eq!(call.name, "bash");
    assert!(
        call.arguments.contains("Bearer <redacted:openai_api_key:"),
        "{}",
        call.arguments
    );
    serde_json::from_str::<serde_json::Value>(&call.arguments).expect("still JSON");
    for e in &events {
        let json = String::from_utf8_lossy(&e.to_json()).into_owned();
        assert!(!json.contains(key) && !json.contains(url_key), "{json}");
        assert!(e
            .http
            .as_ref()
            .unwrap()
            .path
            .starts_with("/v1/chat/completions?key=<redacted"));
    }
}

/// `SSL_free` of connection 0xabc at `ts`.
fn free(ts: u64) -> Vec<u8> {
    encode::free(&aisensor_event::raw::FreeRecord {
        hdr: Header {
            kind: aisensor_event::raw::KIND_SSL_FREE,
            ..hdr(ts)
        },
        ssl: 0xabc,
    })
}

#[test]
fn ssl_free_completes_a_response_delimited_by_close_and_frees_the_ssl_for_reuse() {
    // HTTP/1.0-style servers (Python's http.server, many mocks) end a streamed body by closing.
    let stream = fixture("openai-chat-tools-stream");
    let mut parser = MessageParser::new(Role::Response, Limits::default());
    parser.expect_response_to("POST");
    let mut parsed = Vec::new();
    parser.push(&stream, &mut parsed).unwrap();
    let whole = &parsed[0];
    let head_len = stream.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&stream[..head_len])
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("transfer-encoding"))
        .collect::<Vec<_>>()
        .join("\r\n");
    let body = &whole.body;
    let mut resp = format!("{head}\r\nConnection: close\r\n\r\n").into_bytes();
    resp.extend_from_slice(body);
    let req = request(
        "api.openai.com",
        "/v1/chat/completions",
        &OPENAI_BODY.replace("STREAM", "true"),
        "",
    );

    let (events, mut p) = exchange(&req, &resp, 4096);
    assert_eq!(
        events.len(),
        1,
        "the response waits for the end of the connection"
    );
    let mut out = Vec::new();
    p.on_bytes(&free(9_000), &mut CommOnly, &mut |e| out.push(e.payload));
    assert_eq!(out.len(), 1, "SSL_free ends the body");
    let ai = out[0].ai.as_ref().unwrap();
    assert_eq!(ai.tool_calls[0].name, "get_weather");
    assert_eq!(ai.usage.as_ref().unwrap().output, 17);
    assert_eq!(p.open_connections(), 0);
    assert_eq!(p.counters().closed_connections, 1);
    assert_eq!(p.counters().incomplete_exchanges, 0);

    // The allocator hands the same SSL* to the next connection: it starts afresh.
    let json = fixture("openai-chat-tools");
    p.on_bytes(
        &rec(Direction::Write, 10_000, 0xabc, &req),
        &mut CommOnly,
        &mut |e| out.push(e.payload),
    );
    p.on_bytes(
        &rec(Direction::Read, 11_000, 0xabc, &json),
        &mut CommOnly,
        &mut |e| out.push(e.payload),
    );
    assert_eq!(out.len(), 3);
    assert_eq!(out[2].kind, "ai.response");
    assert_eq!(out[2].http.as_ref().unwrap().status, Some(200));
    assert_eq!(p.counters().parse_failures, 0);
    assert_eq!(p.counters().unmatched_responses, 0);

    // SSL objects never seen moving bytes are not tracked.
    let before = p.counters().closed_connections;
    p.on_bytes(&free(12_000), &mut CommOnly, &mut |_| {});
    p.on_bytes(&free(12_001), &mut CommOnly, &mut |_| {});
    assert_eq!(p.counters().closed_connections, before + 1);
    assert_eq!(p.open_connections(), 0);
}

#[test]
fn a_generic_api_path_on_an_unknown_host_needs_a_body_that_names_a_model() {
    let resp = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    // Some survey service's `/v1/responses`: not an AI call.
    let req = request("forms.example", "/v1/responses", r#"{"answers":[1,2]}"#, "");
    let (events, p) = exchange(&req, resp, 16384);
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(p.counters().non_ai_exchanges, 1);
    // A self-hosted model server speaking the Responses API is one.
    let req = request(
        "llm.internal",
        "/v1/responses",
        r#"{"model":"qwen3","input":"hi"}"#,
        "",
    );
    let (events, _) = exchange(&req, resp, 16384);
    assert_eq!(events.len(), 2);
    let ai = events[0].ai.as_ref().unwrap();
    assert_eq!(
        (ai.provider.as_str(), ai.model.as_str()),
        ("unknown", "qwen3")
    );
    // On a known host the path alone decides.
    let req = request("api.openai.com", "/v1/responses", "not json", "");
    let (events, p) = exchange(&req, resp, 16384);
    assert_eq!(events.len(), 2);
    assert!(p.counters().provider_errors >= 1);
}

#[test]
fn keys_sent_to_the_model_are_named_by_kind_and_fingerprint_only() {
    let aws = "AKIAIOSFODNN7EXAMPLE";
    let gh = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
    let body = format!(
        r#"{{"model":"gpt-4o","messages":[{{"role":"user","content":"deploy with\nexport AWS_ACCESS_KEY_ID={aws}\nand {gh}"}}]}}"#
    );
    let req = request("api.openai.com", "/v1/chat/completions", &body, "");
    let resp = fixture("openai-chat");
    for capture_content in [false, true] {
        let mut p = Pipeline::new(Config {
            capture_content,
            ..Config::default()
        });
        let mut events = Vec::new();
        let mut emit = |e: Emitted| events.push(e.payload);
        p.on_bytes(
            &rec(Direction::Write, 1_000, 0xabc, &req),
            &mut CommOnly,
            &mut emit,
        );
        p.on_bytes(
            &rec(Direction::Read, 2_000, 0xabc, &resp),
            &mut CommOnly,
            &mut emit,
        );
        assert_eq!(events.len(), 2);
        for e in &events {
            let kinds: Vec<&str> = e.secrets.iter().map(|s| s.kind.as_str()).collect();
            assert_eq!(kinds, ["aws_access_key_id", "github_token"], "{}", e.kind);
            let json = String::from_utf8_lossy(&e.to_json()).into_owned();
            assert!(
                !json.contains("IOSFODNN") && !json.contains("0123456789abcdefghij"),
                "{json}"
            );
        }
        let prompt = events[0].content.as_ref().map(|c| c.prompt.as_str());
        if capture_content {
            // the prompt is kept, its keys are not
            assert!(
                prompt.unwrap().contains("<redacted:aws_access_key_id:"),
                "{prompt:?}"
            );
        } else {
            assert_eq!(prompt, None);
        }
    }
}

#[test]
fn an_error_message_that_quotes_the_key_is_redacted() {
    // Ollama and other OpenAI-compatible servers answer `"error": "<text>"`.
    let key = "sk-proj-LeakedKey0123456789abcdef";
    let body = format!(r#"{{"error":"Invalid API key {key} provided"}}"#);
    let resp = format!(
        "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let req = request(
        "llm.internal",
        "/v1/chat/completions",
        r#"{"model":"llama3"}"#,
        "",
    );
    let (events, _) = exchange(&req, resp.as_bytes(), 16384);
    let err = &events[1].ai.as_ref().unwrap().error;
    assert!(
        err.starts_with("Invalid API key <redacted:openai_api_key:"),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&events[1].to_json()).contains("LeakedKey"));
}
