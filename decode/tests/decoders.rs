//! The pure decoders on real wire bytes: requests that curl, python and node sent
//! (`tests/fixtures/requests`, captured by `scripts/capture-fixtures.py`) and the mock API's
//! responses (`tests/fixtures/responses`). Each fixture must give the same values however its
//! bytes are split, and no cut, gap or garbage may make a decoder panic.

use aisensor_decode::decode::encoding::decode_body;
use aisensor_decode::decode::eventstream::{self, EventStreamParser};
use aisensor_decode::decode::http1::{Limits, Message, MessageParser, Role};
use aisensor_decode::decode::ndjson;
use aisensor_decode::decode::sse::{parse_all, SseEvent, SseParser};
use aisensor_decode::providers::{self, Api, BodyFormat, InvokeFamily, RequestInfo, ResponseInfo};
use aisensor_event::payload::{ToolCall, Usage};
use std::path::Path;

const MAX_OUT: usize = 16 << 20;
const QUESTION: &str = "What's the weather in Paris right now?";

fn fixture(kind: &str, name: &str) -> Vec<u8> {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{kind}/{name}.http"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn all_fixtures(kind: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{kind}"));
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "http"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no fixtures in {}", dir.display());
    v
}

/// A fixed-seed xorshift: the same "random" splits on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }

    /// `b` cut at up to `max_cuts` random places (empty pieces included).
    fn split<'a>(&mut self, b: &'a [u8], max_cuts: usize) -> Vec<&'a [u8]> {
        let mut cuts: Vec<usize> = (0..=self.below(max_cuts))
            .map(|_| self.below(b.len() + 1))
            .collect();
        cuts.sort();
        let mut parts = Vec::new();
        let mut at = 0;
        for c in cuts {
            parts.push(&b[at..c]);
            at = c;
        }
        parts.push(&b[at..]);
        parts
    }
}

/// Every way of cutting `b` that the tests try: at each byte boundary in two, byte by byte,
/// and 200 random cuttings into up to 12 pieces.
fn splits(b: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut v: Vec<Vec<&[u8]>> = (0..=b.len()).map(|i| vec![&b[..i], &b[i..]]).collect();
    v.push(b.chunks(1).collect());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ b.len() as u64);
    v.extend((0..200).map(|_| rng.split(b, 12)));
    v
}

fn parse_http(role: Role, methods: usize, parts: &[&[u8]]) -> (Vec<Message>, Option<Message>) {
    let mut p = MessageParser::new(role, Limits::default());
    for _ in 0..methods {
        p.expect_response_to("POST");
    }
    let mut out = Vec::new();
    for part in parts {
        p.push(part, &mut out).unwrap();
    }
    assert!(!p.in_message() || role == Role::Response);
    let last = p.finish();
    (out, last)
}

fn sse_split(body: &[u8], parts: &[&[u8]]) -> Vec<SseEvent> {
    let mut p = SseParser::new();
    let mut out = Vec::new();
    for part in parts {
        p.push(part, &mut out);
    }
    p.finish(&mut out);
    assert_eq!(parts.concat(), body);
    out
}

// ---- requests -------------------------------------------------------------------------------

struct Req {
    host: &'static str,
    path: &'static str,
    provider: &'static str,
    api: Api,
    model: &'static str,
    stream: bool,
    tools: &'static [&'static str],
    /// The response fixture the capture server answered with.
    response: &'static str,
}

const OA: &str = "/v1/chat/completions";

fn openai(
    model: &'static str,
    stream: bool,
    tools: &'static [&'static str],
    response: &'static str,
) -> Req {
    Req {
        host: "api.openai.com",
        path: OA,
        provider: "openai",
        api: Api::OpenAiChat,
        model,
        stream,
        tools,
        response,
    }
}

fn anthropic(stream: bool, tools: &'static [&'static str], response: &'static str) -> Req {
    Req {
        host: "api.anthropic.com",
        path: "/v1/messages",
        provider: "anthropic",
        api: Api::AnthropicMessages,
        model: "claude-sonnet-4-5",
        stream,
        tools,
        response,
    }
}

/// What each captured request fixture holds, message by message.
fn requests() -> Vec<(&'static str, Vec<Req>)> {
    let w: &'static [&'static str] = &["get_weather"];
    vec![
        (
            "curl-openai-chat",
            vec![openai("gpt-4o", false, &[], "openai-chat")],
        ),
        (
            "curl-openai-chat-br",
            vec![openai("gpt-4o-mini", false, &[], "openai-chat-br")],
        ),
        (
            "curl-openai-chat-tools-stream",
            vec![openai("gpt-4o", true, w, "openai-chat-tools-stream")],
        ),
        (
            "curl-anthropic-messages-tools",
            vec![anthropic(false, w, "anthropic-messages-tools")],
        ),
        (
            "curl-anthropic-messages-tools-stream-zstd",
            vec![anthropic(true, w, "anthropic-messages-tools-stream-zstd")],
        ),
        (
            "python-urllib-openai-chat-tools",
            vec![openai("gpt-4o", false, w, "openai-chat-tools")],
        ),
        (
            "python-urllib-anthropic-messages-stream",
            vec![anthropic(true, &[], "anthropic-messages-stream")],
        ),
        (
            "python-urllib-anthropic-messages-error",
            vec![anthropic(false, &[], "anthropic-messages-error")],
        ),
        (
            "python-http.client-openai-keepalive",
            vec![
                openai("gpt-4o", true, &[], "openai-chat-stream"),
                openai(
                    "gpt-4o",
                    true,
                    &["get_weather", "get_time"],
                    "openai-chat-tools-parallel-stream",
                ),
            ],
        ),
        (
            "node-openai-chat-tools-stream-chunked",
            vec![openai("gpt-4o", true, w, "openai-chat-tools-stream")],
        ),
        (
            "node-anthropic-messages-tools-stream",
            vec![anthropic(true, w, "anthropic-messages-tools-stream")],
        ),
        (
            "node-anthropic-messages-stream-error",
            vec![anthropic(true, &[], "anthropic-messages-stream-error")],
        ),
    ]
}

#[test]
fn every_captured_request_is_understood() {
    let table = requests();
    let names: Vec<_> = all_fixtures("requests")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let mut listed: Vec<_> = table.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(
        names, listed,
        "every request fixture has its expectations here"
    );

    for (name, want) in table {
        let wire = fixture("requests", name);
        let (msgs, none) = parse_http(Role::Request, 0, &[&wire]);
        assert!(none.is_none());
        assert_eq!(msgs.len(), want.len(), "{name}");
        assert_eq!(
            msgs.iter().map(|m| m.wire_len).sum::<u64>(),
            wire.len() as u64,
            "{name}: every byte framed"
        );
        for (m, w) in msgs.iter().zip(&want) {
            let h = &m.head;
            assert_eq!(
                (h.method.as_str(), h.path.as_str()),
                ("POST", w.path),
                "{name}"
            );
            assert_eq!(h.header("host"), Some(w.host), "{name}");
            assert!(!m.body_truncated);
            let d = providers::detect(w.host, &h.method, &h.path, h, &[]).expect(name);
            assert_eq!((d.provider.as_str(), d.api), (w.provider, w.api), "{name}");
            let body = decode_body(h.header("content-encoding"), &m.body, MAX_OUT).unwrap();
            let info = providers::parse_request_for(&d, &body.bytes).unwrap();
            assert_eq!(
                info,
                RequestInfo {
                    model: w.model.into(),
                    stream: w.stream,
                    tools_declared: w.tools.iter().map(|t| t.to_string()).collect(),
                    prompt: QUESTION.into(),
                },
                "{name}"
            );
        }
    }
}

#[test]
fn requests_split_anywhere_give_the_same_messages() {
    for (name, wire) in all_fixtures("requests") {
        let (whole, _) = parse_http(Role::Request, 0, &[&wire]);
        for parts in splits(&wire) {
            let (got, _) = parse_http(Role::Request, 0, &parts);
            assert_eq!(got, whole, "{name} split {:?}", lens(&parts));
        }
    }
}

fn lens(parts: &[&[u8]]) -> Vec<usize> {
    parts.iter().map(|p| p.len()).collect()
}

// ---- responses ------------------------------------------------------------------------------

const OA_ID: &str = "chatcmpl-Aisensor1234567890abcdefXYZ";
const OA_MODEL: &str = "gpt-4o-2024-08-06";
const RS_ID: &str = "resp_68aisensor0000000000000000000000000000000001";
const AN_ID: &str = "msg_01AisensorTestMessage0001";
const AN_MODEL: &str = "claude-sonnet-4-5-20250929";
const GM_ID: &str = "aisensorGeminiResp0001";
const SUNNY: &str = "Paris is sunny today, around 18°C.";
const BR_REQUEST_ID: &str = "7d2c4a1e-5b3f-4e8a-9c6d-aisensor0001";
const BR_AN_ID: &str = "msg_bdrk_01AisensorTestMessage0001";
const BR_AN_MODEL: &str = "claude-3-5-sonnet-20241022";
const BR_TOOL_ID: &str = "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q";

fn usage(input: u64, output: u64, cache_read: u64) -> Option<Usage> {
    Some(Usage {
        input,
        output,
        cache_read,
        ..Default::default()
    })
}

fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
    }
}

fn info(
    id: &str,
    model: &str,
    completion: &str,
    finish: &[&str],
    usage: Option<Usage>,
    tool_calls: Vec<ToolCall>,
) -> ResponseInfo {
    ResponseInfo {
        response_model: model.into(),
        response_id: id.into(),
        tool_calls,
        usage,
        finish_reasons: finish.iter().map(|f| f.to_string()).collect(),
        completion: completion.into(),
        ..Default::default()
    }
}

/// What each response fixture says: (name, API, HTTP status, streamed, what the adapter reads).
fn responses() -> Vec<(&'static str, Api, u16, bool, ResponseInfo)> {
    let weather = || {
        call(
            "call_Ab3dE5gH7jK9mN1pQ3sT5vX7",
            "get_weather",
            r#"{"city":"Paris"}"#,
        )
    };
    let oa_plain = || info(OA_ID, OA_MODEL, SUNNY, &["stop"], usage(24, 9, 0), vec![]);
    let oa_tools = || {
        info(
            OA_ID,
            OA_MODEL,
            "",
            &["tool_calls"],
            usage(82, 17, 0),
            vec![weather()],
        )
    };
    let checking = "I'll check the current weather in Paris for you.";
    let an_tools = |args: &str| {
        info(
            AN_ID,
            AN_MODEL,
            checking,
            &["tool_use"],
            usage(397, 58, 0),
            vec![call("toolu_01A09q90qw90lq917835lq9", "get_weather", args)],
        )
    };
    let an_plain = info(
        AN_ID,
        AN_MODEL,
        SUNNY,
        &["end_turn"],
        usage(21, 14, 0),
        vec![],
    );
    let rs_tools = || {
        info(
            RS_ID,
            OA_MODEL,
            "",
            &["completed"],
            usage(75, 18, 0),
            vec![call(
                "call_Rs3dE5gH7jK9mN1pQ3sT5vX7",
                "get_weather",
                r#"{"city":"Paris"}"#,
            )],
        )
    };
    let rs_plain = || {
        info(
            RS_ID,
            OA_MODEL,
            SUNNY,
            &["completed"],
            usage(22, 9, 0),
            vec![],
        )
    };
    let gm_plain = || {
        info(
            GM_ID,
            "gemini-2.5-flash",
            SUNNY,
            &["STOP"],
            usage(9, 11, 0),
            vec![],
        )
    };
    let gm_tools = || {
        info(
            GM_ID,
            "gemini-2.5-flash",
            "",
            &["STOP"],
            Some(Usage {
                reasoning: 48,
                ..usage(61, 16, 0).unwrap()
            }),
            vec![call("", "get_weather", r#"{"city":"Paris"}"#)],
        )
    };
    // Converse has no id of its own: the request id is its id. Anthropic models keep theirs.
    let br_converse = |args: &str| {
        info(
            BR_REQUEST_ID,
            "",
            checking,
            &["tool_use"],
            usage(410, 61, 0),
            vec![call("tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "get_weather", args)],
        )
    };
    let br_invoke = |args: &str| ResponseInfo {
        response_id: BR_AN_ID.into(),
        response_model: BR_AN_MODEL.into(),
        ..an_tools(args)
    };
    // Other models through InvokeModel, each read as its provider writes it.
    let br_nova = || {
        info(
            BR_REQUEST_ID,
            "",
            checking,
            &["tool_use"],
            usage(412, 63, 0),
            vec![call(BR_TOOL_ID, "get_weather", r#"{"city":"Paris"}"#)],
        )
    };
    let br_gpt_oss = info(
        "chatcmpl-bdrk-aisensor0001",
        "openai.gpt-oss-120b-1:0",
        "",
        &["tool_calls"],
        usage(139, 33, 0),
        vec![call(
            "call_bdrk_aisensor01",
            "get_weather",
            r#"{"city":"Paris"}"#,
        )],
    );
    let br_llama = info(BR_REQUEST_ID, "", SUNNY, &["stop"], usage(24, 9, 0), vec![]);
    let nova = Api::BedrockInvoke(InvokeFamily::Nova);
    let brc = Api::BedrockConverse;
    let bri = Api::BedrockInvoke(InvokeFamily::Anthropic);
    let gm = Api::GeminiGenerate;
    let oa = Api::OpenAiChat;
    let rs = Api::OpenAiResponses;
    let an = Api::AnthropicMessages;
    vec![
        (
            "bedrock-converse-tools",
            brc,
            200,
            false,
            br_converse(r#"{"city":"Paris"}"#),
        ),
        (
            "bedrock-converse-tools-stream",
            brc,
            200,
            true,
            br_converse(r#"{"city": "Paris"}"#),
        ),
        (
            "bedrock-invoke-tools",
            bri,
            200,
            false,
            br_invoke(r#"{"city":"Paris"}"#),
        ),
        (
            "bedrock-invoke-tools-stream",
            bri,
            200,
            true,
            br_invoke(r#"{"city": "Paris"}"#),
        ),
        ("bedrock-invoke-nova-tools", nova, 200, false, br_nova()),
        (
            "bedrock-invoke-nova-tools-stream",
            nova,
            200,
            true,
            br_nova(),
        ),
        (
            "bedrock-invoke-gpt-oss-tools-stream",
            Api::BedrockInvoke(InvokeFamily::OpenAi),
            200,
            true,
            br_gpt_oss,
        ),
        (
            "bedrock-invoke-llama-stream",
            Api::BedrockInvoke(InvokeFamily::Llama),
            200,
            true,
            br_llama,
        ),
        (
            "bedrock-converse-error",
            brc,
            429,
            false,
            ResponseInfo {
                error: "ThrottlingException".into(),
                response_id: BR_REQUEST_ID.into(),
                ..Default::default()
            },
        ),
        ("gemini-generate", gm, 200, false, gm_plain()),
        ("gemini-generate-stream", gm, 200, true, gm_plain()),
        ("gemini-generate-tools", gm, 200, false, gm_tools()),
        ("gemini-generate-tools-stream", gm, 200, true, gm_tools()),
        ("openai-responses", rs, 200, false, rs_plain()),
        ("openai-responses-stream", rs, 200, true, rs_plain()),
        ("openai-responses-tools", rs, 200, false, rs_tools()),
        ("openai-responses-tools-stream", rs, 200, true, rs_tools()),
        (
            "openai-embeddings",
            Api::OpenAiEmbeddings,
            200,
            false,
            ResponseInfo {
                response_model: "text-embedding-3-small".into(),
                usage: usage(8, 0, 0),
                ..Default::default()
            },
        ),
        ("openai-chat", oa, 200, false, oa_plain()),
        ("openai-chat-br", oa, 200, false, oa_plain()),
        ("openai-chat-stream", oa, 200, true, oa_plain()),
        ("openai-chat-tools", oa, 200, false, oa_tools()),
        ("openai-chat-tools-stream", oa, 200, true, oa_tools()),
        (
            "openai-chat-tools-parallel-stream",
            oa,
            200,
            true,
            info(
                OA_ID,
                OA_MODEL,
                "",
                &["tool_calls"],
                usage(1310, 52, 1152),
                vec![
                    call(
                        "call_Weather0000000000000001",
                        "get_weather",
                        r#"{"city":"Paris"}"#,
                    ),
                    call(
                        "call_Time00000000000000000002",
                        "get_time",
                        r#"{"tz":"Europe/Paris"}"#,
                    ),
                ],
            ),
        ),
        (
            "openai-chat-error",
            oa,
            429,
            false,
            ResponseInfo {
                error: "requests".into(),
                ..Default::default()
            },
        ),
        ("anthropic-messages", an, 200, false, an_plain.clone()),
        ("anthropic-messages-stream", an, 200, true, an_plain),
        (
            "anthropic-messages-tools",
            an,
            200,
            false,
            an_tools(r#"{"city":"Paris"}"#),
        ),
        (
            "anthropic-messages-tools-stream",
            an,
            200,
            true,
            an_tools(r#"{"city": "Paris"}"#),
        ),
        (
            "anthropic-messages-tools-stream-zstd",
            an,
            200,
            true,
            an_tools(r#"{"city": "Paris"}"#),
        ),
        (
            "anthropic-messages-stream-error",
            an,
            200,
            true,
            ResponseInfo {
                error: "overloaded_error".into(),
                ..info(AN_ID, AN_MODEL, "Paris is", &[], usage(21, 1, 0), vec![])
            },
        ),
        (
            "anthropic-messages-error",
            an,
            529,
            false,
            ResponseInfo {
                error: "overloaded_error".into(),
                ..Default::default()
            },
        ),
    ]
}

/// The whole response path: HTTP framing, content coding, SSE or AWS event stream, adapter.
fn read_response(api: Api, msg: &Message) -> ResponseInfo {
    let body = decode_body(msg.head.header("content-encoding"), &msg.body, MAX_OUT).unwrap();
    assert!(!body.truncated);
    providers::read_response(api, &msg.head, &body.bytes).unwrap()
}

fn eventstream_split(body: &[u8], parts: &[&[u8]]) -> Vec<eventstream::Message> {
    let mut p = EventStreamParser::default();
    let mut out = Vec::new();
    for part in parts {
        p.push(part, &mut out);
    }
    assert_eq!(p.finish(), eventstream::Stats::default());
    assert_eq!(parts.concat(), body);
    out
}

#[test]
fn every_response_fixture_is_understood() {
    let table = responses();
    let names: Vec<_> = all_fixtures("responses")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let mut listed: Vec<_> = table.iter().map(|t| t.0.to_string()).collect();
    listed.sort();
    assert_eq!(
        names, listed,
        "every response fixture has its expectations here"
    );

    for (name, api, status, streamed, want) in table {
        let wire = fixture("responses", name);
        let (msgs, none) = parse_http(Role::Response, 1, &[&wire]);
        assert!(none.is_none(), "{name}: framed, not delimited by close");
        assert_eq!(msgs.len(), 1, "{name}");
        let m = &msgs[0];
        assert_eq!(m.wire_len, wire.len() as u64, "{name}");
        assert_eq!(m.head.status, status, "{name}");
        assert_eq!(providers::is_event_stream(&m.head), streamed, "{name}");
        assert_eq!(read_response(api, m), want, "{name}");
    }
}

#[test]
fn responses_split_anywhere_give_the_same_messages_and_events() {
    for (name, api, _, streamed, want) in responses() {
        let wire = fixture("responses", name);
        let (whole, _) = parse_http(Role::Response, 1, &[&wire]);
        for parts in splits(&wire) {
            let (got, _) = parse_http(Role::Response, 1, &parts);
            assert_eq!(got, whole, "{name} split {:?}", lens(&parts));
        }
        if !streamed {
            continue;
        }
        let m = &whole[0];
        let body = decode_body(m.head.header("content-encoding"), &m.body, MAX_OUT).unwrap();
        if providers::body_format(&m.head) == BodyFormat::AwsEventStream {
            // The binary framing, cut anywhere: inside a length, a CRC, a header, a payload.
            let (msgs, stats) = eventstream::parse_all(&body.bytes);
            assert_eq!(stats, eventstream::Stats::default(), "{name}");
            let read = providers::parse_aws_event_stream(api, &msgs).unwrap();
            for parts in splits(&body.bytes) {
                let got = eventstream_split(&body.bytes, &parts);
                assert_eq!(got, msgs, "{name} event stream split {:?}", lens(&parts));
                assert_eq!(providers::parse_aws_event_stream(api, &got).unwrap(), read);
            }
            continue;
        }
        let events = parse_all(&body.bytes);
        for parts in splits(&body.bytes) {
            let got = sse_split(&body.bytes, &parts);
            assert_eq!(got, events, "{name} SSE split {:?}", lens(&parts));
            assert_eq!(providers::parse_stream(api, &got).unwrap(), want, "{name}");
        }
    }
}

#[test]
fn request_and_response_fixtures_pair_up_as_exchanges() {
    let answers: Vec<_> = responses();
    for (name, reqs) in requests() {
        let wire = fixture("requests", name);
        let (msgs, _) = parse_http(Role::Request, 0, &[&wire]);
        // One connection's responses, back to back, answering its requests in order.
        let mut resp = MessageParser::new(Role::Response, Limits::default());
        let mut stream = Vec::new();
        for (m, r) in msgs.iter().zip(&reqs) {
            resp.expect_response_to(&m.head.method);
            stream.extend_from_slice(&fixture("responses", r.response));
        }
        let mut out = Vec::new();
        let mut rng = Rng(stream.len() as u64 | 1);
        for part in rng.split(&stream, 20) {
            resp.push(part, &mut out).unwrap();
        }
        assert_eq!(out.len(), reqs.len(), "{name}");
        for ((m, r), resp) in msgs.iter().zip(&reqs).zip(&out) {
            let d = providers::detect(r.host, &m.head.method, &m.head.path, &m.head, &[]).unwrap();
            let want = &answers.iter().find(|a| a.0 == r.response).unwrap().4;
            assert_eq!(&read_response(d.api, resp), want, "{name} → {}", r.response);
        }
    }
}

#[test]
fn all_responses_on_one_keep_alive_connection() {
    let table = responses();
    let mut stream = Vec::new();
    for (name, ..) in &table {
        stream.extend_from_slice(&fixture("responses", name));
    }
    let whole = parse_http(Role::Response, table.len(), &[&stream]).0;
    assert_eq!(whole.len(), table.len());
    let mut rng = Rng(42);
    for _ in 0..300 {
        let parts = rng.split(&stream, 40);
        assert_eq!(parse_http(Role::Response, table.len(), &parts).0, whole);
    }
    for (m, (name, api, _, _, want)) in whole.iter().zip(&table) {
        assert_eq!(&read_response(*api, m), want, "{name}");
    }
}

// ---- cuts, gaps, garbage --------------------------------------------------------------------

/// A response cut anywhere (a hang-up, a capture that stopped) gives at most a partial message
/// whose decoding never panics, and whose decoded body is a prefix of the real one.
#[test]
fn cut_responses_decode_to_prefixes() {
    for (name, api, _, streamed, _) in responses() {
        let wire = fixture("responses", name);
        let (whole, _) = parse_http(Role::Response, 1, &[&wire]);
        let full = decode_body(
            whole[0].head.header("content-encoding"),
            &whole[0].body,
            MAX_OUT,
        )
        .unwrap()
        .bytes
        .into_owned();
        for cut in 0..wire.len() {
            let mut p = MessageParser::new(Role::Response, Limits::default());
            p.expect_response_to("POST");
            let mut out = Vec::new();
            p.push(&wire[..cut], &mut out).unwrap();
            assert!(out.is_empty(), "{name} complete at {cut} of {}", wire.len());
            let Some(m) = p.finish().or_else(|| p.take_partial()) else {
                continue; // still in the head
            };
            assert!(m.body_truncated, "{name} at {cut}");
            let Ok(d) = decode_body(m.head.header("content-encoding"), &m.body, MAX_OUT) else {
                continue; // not one whole compressed block yet
            };
            assert!(full.starts_with(&d.bytes), "{name} at {cut}: not a prefix");
            if streamed {
                // Never a panic; an error only while no event of the API has arrived.
                let _ = providers::read_response(api, &m.head, &d.bytes);
            }
        }
    }
}

#[test]
fn a_gap_inside_a_body_keeps_the_next_response() {
    for (name, ..) in responses() {
        let wire = fixture("responses", name);
        let head_end = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let chunked = String::from_utf8_lossy(&wire[..head_end]).contains("chunked");
        // Inside the first chunk's data, or the Content-Length body.
        let (start, len) = if chunked {
            let line = wire[head_end..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .unwrap();
            let size = usize::from_str_radix(
                std::str::from_utf8(&wire[head_end..head_end + line]).unwrap(),
                16,
            )
            .unwrap();
            (head_end + line + 2, size)
        } else {
            (head_end, wire.len() - head_end)
        };
        let lost = len.min(7);
        let mut p = MessageParser::new(Role::Response, Limits::default());
        p.expect_response_to("POST");
        p.expect_response_to("POST");
        let mut out = Vec::new();
        p.push(&wire[..start], &mut out).unwrap();
        p.gap(lost as u64, &mut out).unwrap();
        p.push(&wire[start + lost..], &mut out).unwrap();
        p.push(&fixture("responses", "openai-chat"), &mut out)
            .unwrap();
        assert_eq!(out.len(), 2, "{name}");
        assert!(out[0].body_truncated && !out[1].body_truncated, "{name}");
        assert_eq!(out[0].wire_len, wire.len() as u64, "{name}");
        assert_eq!(out[1].head.header("content-encoding"), Some("gzip"));
    }
}

#[test]
fn garbage_fails_cleanly_everywhere() {
    let mut rng = Rng(7);
    let samples: Vec<Vec<u8>> = (0..400)
        .map(|i| {
            let n = rng.below(if i % 10 == 0 { 70_000 } else { 600 });
            let mut v: Vec<u8> = (0..n).map(|_| rng.below(256) as u8).collect();
            // Some start like HTTP, to get past the first check.
            let prefix: &[u8] = match i % 4 {
                0 => b"HTTP/1.1 200 OK\r\n",
                1 => b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                _ => b"",
            };
            v.splice(0..0, prefix.iter().copied());
            v
        })
        .collect();
    for g in &samples {
        for role in [Role::Request, Role::Response] {
            let mut p = MessageParser::new(role, Limits::default());
            p.expect_response_to("POST");
            let mut out = Vec::new();
            if p.push(g, &mut out).is_err() {
                assert!(
                    p.push(b"GET / HTTP/1.1\r\n\r\n", &mut out).is_err(),
                    "stays failed"
                );
                assert!(p.gap(1, &mut out).is_err());
            }
            assert!(p.buffered() <= Limits::default().max_head + 1 + g.len());
            let _ = p.finish();
            let _ = p.take_partial();
        }
        for coding in ["gzip", "deflate", "br", "zstd"] {
            if let Ok(d) = decode_body(Some(coding), g, 1 << 20) {
                assert!(d.bytes.len() <= 1 << 20);
            }
        }
        let events = parse_all(g);
        let (messages, _) = eventstream::parse_all(g);
        let lines = ndjson::parse_all(g);
        for api in Api::ALL {
            let _ = providers::parse_request(api, g);
            let _ = providers::parse_response(api, g);
            let _ = providers::parse_stream(api, &events);
            let _ = providers::parse_aws_event_stream(api, &messages);
            let _ = providers::parse_ndjson(api, &lines);
        }
    }
    // Deep nesting must not overflow the stack.
    let deep = "[".repeat(100_000);
    assert!(providers::parse_response(Api::OpenAiChat, deep.as_bytes()).is_err());
    let ev = SseEvent {
        data: deep,
        ..Default::default()
    };
    let _ = providers::parse_stream(Api::AnthropicMessages, std::slice::from_ref(&ev));
    let _ = providers::parse_ndjson(Api::OllamaChat, &[ev.data.into_bytes()]);
}

#[test]
fn huge_bodies_are_cut_at_the_limit() {
    let limits = Limits {
        max_head: 8 << 10,
        max_body: 1 << 20,
    };
    // 20 MiB announced and sent, in 64 KiB writes, in a chunked and a Content-Length message.
    let block = vec![b'x'; 64 << 10];
    for chunked in [false, true] {
        let mut p = MessageParser::new(Role::Request, limits);
        let mut out = Vec::new();
        let head = if chunked {
            "POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_string()
        } else {
            format!(
                "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
                20 << 20
            )
        };
        p.push(head.as_bytes(), &mut out).unwrap();
        for _ in 0..320 {
            if chunked {
                p.push(format!("{:x}\r\n", block.len()).as_bytes(), &mut out)
                    .unwrap();
            }
            p.push(&block, &mut out).unwrap();
            if chunked {
                p.push(b"\r\n", &mut out).unwrap();
            }
            assert!(p.buffered() <= (1 << 20) + (64 << 10), "{}", p.buffered());
        }
        if chunked {
            p.push(b"0\r\n\r\n", &mut out).unwrap();
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].body.len(), 1 << 20);
        assert!(out[0].body_truncated);
    }
    // A gzip bomb: 64 MiB of zeros in ~64 KiB, capped at 1 MiB.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..1024 {
        std::io::Write::write_all(&mut e, &[0u8; 64 << 10]).unwrap();
    }
    let bomb = e.finish().unwrap();
    let d = decode_body(Some("gzip"), &bomb, 1 << 20).unwrap();
    assert_eq!(d.bytes.len(), 1 << 20);
    assert!(d.truncated);
    // A 10,000-event stream.
    let mut body = Vec::new();
    for i in 0..10_000 {
        body.extend_from_slice(
            format!("data: {{\"id\":\"c\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{}\"}}}}]}}\n\n", i % 10)
                .as_bytes(),
        );
    }
    body.extend_from_slice(b"data: [DONE]\n\n");
    let r = providers::parse_stream(Api::OpenAiChat, &parse_all(&body)).unwrap();
    assert_eq!(r.completion.len(), 10_000);
}
