//! AWS Bedrock Runtime: `POST /model/{modelId}/converse`, `/converse-stream`, `/invoke` and
//! `/invoke-with-response-stream` on `bedrock-runtime.<region>.amazonaws.com`.
//!
//! The model is named only in the path, percent-encoded (`anthropic.claude-3-5-sonnet-20241022-v2%3A0`,
//! or an inference profile's ARN with `%2F`). Converse is Bedrock's own message format, the
//! same for every model; InvokeModel carries the model provider's native body (Anthropic
//! Messages for `anthropic.*` models). Both stream as AWS event streams (binary framing, see
//! [`crate::decode::eventstream`]): Converse as typed events, InvokeModel as `chunk` events
//! whose base64 `bytes` are the model provider's own stream events. Bedrock also counts tokens
//! in response headers, whatever the model.

use super::{anthropic, content_text, openai, text, ProviderError, RequestInfo, ResponseInfo};
use crate::decode::eventstream::Message;
use crate::decode::http1::Head;
use crate::decode::sse::SseEvent;
use aisensor_event::payload::{ToolCall, Usage};
use base64::Engine as _;
use serde_json::Value;

/// The Bedrock operations a path ends in, and whether each answers with a stream.
const OPERATIONS: &[(&str, bool)] = &[
    ("converse", false),
    ("converse-stream", true),
    ("invoke", false),
    ("invoke-with-response-stream", true),
];

/// A Bedrock Runtime call a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PathCall {
    /// The model id or ARN, percent-decoded.
    pub model: String,
    /// Converse (Bedrock's format) rather than InvokeModel (the model provider's).
    pub converse: bool,
    pub stream: bool,
}

/// `/model/{modelId}/{operation}` (query already removed).
pub(super) fn path_call(path: &str) -> Option<PathCall> {
    let (model, op) = path.strip_prefix("/model/")?.rsplit_once('/')?;
    let &(op, stream) = OPERATIONS.iter().find(|(name, _)| *name == op)?;
    let model = percent_decode(model);
    (!model.is_empty()).then(|| PathCall {
        model,
        converse: op.starts_with("converse"),
        stream,
    })
}

/// A request signed with SigV4 for the `bedrock` service: its credential scope says so
/// (`Credential=AKIA.../20261202/us-east-1/bedrock/aws4_request`). Tells Bedrock behind a
/// host the table does not know (a VPC endpoint, a proxy) from other `/model/...` services.
pub(super) fn signed_for_bedrock(head: &Head) -> bool {
    head.header("authorization").is_some_and(|a| {
        a.trim_start()
            .to_ascii_lowercase()
            .starts_with("aws4-hmac-sha256")
            && a.contains("/bedrock/aws4_request")
    })
}

/// `%XX` escapes undone; a `%` not followed by two hex digits is kept as is.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            (c, ..) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---- Converse -------------------------------------------------------------------------------

pub(super) fn converse_request(v: &Value) -> RequestInfo {
    let last_user = v["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"));
    RequestInfo {
        model: String::new(), // the path names it
        stream: false,
        tools_declared: v["toolConfig"]["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| text(&t["toolSpec"]["name"]))
            .filter(|n| !n.is_empty())
            .collect(),
        // Content blocks are `{"text": ...}`, `{"image": ...}`, `{"toolResult": ...}`.
        prompt: last_user
            .map(|m| content_text(&m["content"]))
            .unwrap_or_default(),
    }
}

fn converse_usage(u: &Value) -> Option<Usage> {
    if !u.is_object() {
        return None;
    }
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    Some(Usage {
        input: n(&u["inputTokens"]),
        output: n(&u["outputTokens"]),
        cache_read: n(&u["cacheReadInputTokens"]),
        cache_write: n(&u["cacheWriteInputTokens"]),
        reasoning: 0,
    })
}

/// An error body is `{"message": "..."}`; its kind is in the `x-amzn-ErrorType` header
/// ([`apply_headers`]), or in `__type` when a proxy kept the body and dropped the header.
/// Gateways in front of Bedrock may answer with their own `{"error": ...}`.
fn error_of(v: &Value) -> String {
    if let Some(t) = v["__type"].as_str().filter(|t| !t.is_empty()) {
        return error_kind(t).to_string();
    }
    let gateway = super::error_of(v);
    if !gateway.is_empty() {
        return gateway;
    }
    match v["message"].as_str() {
        Some(_) if v.get("output").is_none() => "error".to_string(),
        _ => String::new(),
    }
}

/// `ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/` →
/// `ThrottlingException` (also `com.amazon.coral#ThrottlingException`).
fn error_kind(s: &str) -> &str {
    let s = s.split(':').next().unwrap_or("");
    s.rsplit('#').next().unwrap_or(s).trim()
}

pub(super) fn converse_response(v: &Value) -> ResponseInfo {
    let mut r = ResponseInfo {
        usage: converse_usage(&v["usage"]),
        error: error_of(v),
        ..Default::default()
    };
    if let Some(reason) = v["stopReason"].as_str() {
        r.finish_reasons.push(reason.to_string());
    }
    for block in v["output"]["message"]["content"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(t) = block["text"].as_str() {
            r.completion.push_str(t);
        }
        let call = &block["toolUse"];
        if call.is_object() {
            r.tool_calls.push(ToolCall {
                id: text(&call["toolUseId"]),
                name: text(&call["name"]),
                arguments: if call["input"].is_null() {
                    "{}".into()
                } else {
                    call["input"].to_string()
                },
            });
        }
    }
    r
}

/// ConverseStream: `messageStart`, `contentBlockStart` (a tool call's id and name),
/// `contentBlockDelta` (text, or a fragment of a tool call's input JSON), `contentBlockStop`,
/// `messageStop` (the stop reason), `metadata` (usage).
pub(super) fn converse_stream(msgs: &[Message]) -> Result<ResponseInfo, ProviderError> {
    let mut r = ResponseInfo::default();
    // content block index → position in r.tool_calls
    let mut calls: Vec<(u64, usize)> = Vec::new();
    let mut seen = false;
    for m in msgs {
        if exception(m, &mut r) {
            continue;
        }
        let Ok(v) = serde_json::from_slice::<Value>(&m.payload) else {
            r.bad_events += 1;
            continue;
        };
        let index = v["contentBlockIndex"].as_u64().unwrap_or(0);
        match m.header_str(":event-type").unwrap_or("") {
            "messageStart" => seen = true,
            "contentBlockStart" => {
                let call = &v["start"]["toolUse"];
                if call.is_object() {
                    r.tool_calls.push(ToolCall {
                        id: text(&call["toolUseId"]),
                        name: text(&call["name"]),
                        arguments: String::new(),
                    });
                    calls.push((index, r.tool_calls.len() - 1));
                }
            }
            "contentBlockDelta" => {
                let d = &v["delta"];
                if let Some(t) = d["text"].as_str() {
                    r.completion.push_str(t);
                } else if let Some(frag) = d["toolUse"]["input"].as_str() {
                    let call = calls.iter().rfind(|(i, _)| *i == index);
                    if let Some(tc) = call.and_then(|&(_, at)| r.tool_calls.get_mut(at)) {
                        tc.arguments.push_str(frag);
                    }
                } // reasoningContent, citations: not the answer
            }
            "messageStop" => {
                if let Some(reason) = v["stopReason"].as_str() {
                    r.finish_reasons.push(reason.to_string());
                }
            }
            "metadata" => r.usage = converse_usage(&v["usage"]).or(r.usage.take()),
            _ => {} // contentBlockStop
        }
    }
    if !seen && r.error.is_empty() {
        return Err(ProviderError::BadStream(
            "no messageStart in the stream".into(),
        ));
    }
    for tc in &mut r.tool_calls {
        if tc.arguments.is_empty() {
            tc.arguments = "{}".into(); // a tool called with no input
        }
    }
    Ok(r)
}

/// A `:message-type` `exception` (or `error`) message: notes its kind in `r.error`.
fn exception(m: &Message, r: &mut ResponseInfo) -> bool {
    match m.header_str(":message-type") {
        Some("exception") => {
            r.error = m
                .header_str(":exception-type")
                .map(error_kind)
                .unwrap_or("exception")
                .to_string();
            true
        }
        Some("error") => {
            r.error = m.header_str(":error-code").unwrap_or("error").to_string();
            true
        }
        _ => false,
    }
}

// ---- InvokeModel ----------------------------------------------------------------------------

/// The model provider's native request: Anthropic Messages (`anthropic_version`
/// `bedrock-2023-05-31`), OpenAI-style chat (gpt-oss, ...), or a text prompt (Llama's
/// `prompt`, Titan's `inputText`).
pub(super) fn invoke_request(v: &Value) -> RequestInfo {
    if v.get("anthropic_version").is_some() {
        return anthropic::request(v);
    }
    if v["messages"].is_array() {
        return openai::request(v);
    }
    RequestInfo {
        prompt: [&v["prompt"], &v["inputText"]]
            .iter()
            .find_map(|p| p.as_str())
            .unwrap_or_default()
            .to_string(),
        ..Default::default()
    }
}

pub(super) fn invoke_response(v: &Value) -> ResponseInfo {
    if v["type"] == "message" || v["content"].is_array() {
        return anthropic::response(v);
    }
    if v["choices"].is_array() {
        return openai::response(v);
    }
    // Meta Llama (`generation`, `*_token_count`) and Amazon Titan (`results[]`).
    let n = |x: &Value| x.as_u64();
    let mut r = ResponseInfo {
        completion: text(&v["generation"]),
        error: error_of(v),
        ..Default::default()
    };
    if let Some(reason) = v["stop_reason"].as_str() {
        r.finish_reasons.push(reason.to_string());
    }
    if let (Some(i), Some(o)) = (n(&v["prompt_token_count"]), n(&v["generation_token_count"])) {
        r.usage = Some(Usage {
            input: i,
            output: o,
            ..Default::default()
        });
    }
    for res in v["results"].as_array().into_iter().flatten() {
        r.completion
            .push_str(res["outputText"].as_str().unwrap_or(""));
        if let Some(reason) = res["completionReason"].as_str() {
            r.finish_reasons.push(reason.to_string());
        }
        if let (Some(i), Some(o)) = (n(&v["inputTextTokenCount"]), n(&res["tokenCount"])) {
            r.usage = Some(Usage {
                input: i,
                output: o,
                ..Default::default()
            });
        }
    }
    r
}

/// InvokeModelWithResponseStream: `chunk` events whose payload is `{"bytes": "<base64>"}`,
/// the base64 of one of the model provider's own stream events. Anthropic's are read by the
/// Anthropic adapter; for any model, Bedrock adds `amazon-bedrock-invocationMetrics` (token
/// counts) to the last one.
pub(super) fn invoke_stream(msgs: &[Message]) -> Result<ResponseInfo, ProviderError> {
    let mut r = ResponseInfo::default();
    let mut events = Vec::new();
    let mut metrics = None;
    for m in msgs {
        if exception(m, &mut r) {
            continue;
        }
        if m.header_str(":event-type") != Some("chunk") {
            continue;
        }
        let chunk = serde_json::from_slice::<Value>(&m.payload)
            .ok()
            .and_then(|v| {
                let b64 = v["bytes"].as_str()?.to_owned();
                base64::engine::general_purpose::STANDARD.decode(b64).ok()
            })
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
        let Some(v) = chunk else {
            r.bad_events += 1;
            continue;
        };
        let m = &v["amazon-bedrock-invocationMetrics"];
        if let (Some(i), Some(o)) = (
            m["inputTokenCount"].as_u64(),
            m["outputTokenCount"].as_u64(),
        ) {
            metrics = Some((i, o));
        }
        events.push(SseEvent {
            event: text(&v["type"]),
            data: v.to_string(),
            id: None,
        });
    }
    let anthropic = events.iter().any(|e| e.event == "message_start");
    if anthropic {
        let mut a = anthropic::stream(&events)?;
        a.bad_events += r.bad_events;
        if !r.error.is_empty() {
            a.error = r.error;
        }
        r = a;
    } else if events.is_empty() && r.error.is_empty() {
        return Err(ProviderError::BadStream("no chunk in the stream".into()));
    }
    if let (Some((input, output)), None) = (metrics, &r.usage) {
        r.usage = Some(Usage {
            input,
            output,
            ..Default::default()
        });
    }
    Ok(r)
}

/// What Bedrock says in the response head: the error kind (`x-amzn-ErrorType`), token counts
/// for any model (`x-amzn-bedrock-input-token-count`, `...-output-token-count`: InvokeModel's
/// own, authoritative over a body that may count differently or not at all), and the request
/// id, the only id a Converse response has.
pub(super) fn apply_headers(r: &mut ResponseInfo, head: &Head) {
    if let Some(kind) = head.header("x-amzn-errortype").map(error_kind) {
        if !kind.is_empty() {
            r.error = kind.to_string();
        }
    }
    let count = |name: &str| head.header(name).and_then(|v| v.trim().parse::<u64>().ok());
    if let (Some(input), Some(output)) = (
        count("x-amzn-bedrock-input-token-count"),
        count("x-amzn-bedrock-output-token-count"),
    ) {
        let u = r.usage.get_or_insert_with(Usage::default);
        u.input = input;
        u.output = output;
    }
    if r.response_id.is_empty() {
        r.response_id = head.header("x-amzn-requestid").unwrap_or("").to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::eventstream::{encode, HeaderValue};

    fn event(kind: &str, payload: &str) -> Message {
        let s = |v: &str| HeaderValue::String(v.into());
        let wire = encode(
            &[
                (":event-type", s(kind)),
                (":content-type", s("application/json")),
                (":message-type", s("event")),
            ],
            payload.as_bytes(),
        );
        crate::decode::eventstream::parse_all(&wire).0.remove(0)
    }

    #[test]
    fn paths_name_the_operation_and_the_model_encoded() {
        let p = path_call("/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream");
        assert_eq!(
            p,
            Some(PathCall {
                model: "anthropic.claude-3-5-sonnet-20241022-v2:0".into(),
                converse: true,
                stream: true,
            })
        );
        let arn = "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke";
        let p = path_call(arn).unwrap();
        assert_eq!(
            p.model,
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
        );
        assert!(!p.converse && !p.stream);
        assert!(
            path_call("/model/meta.llama3-70b-instruct-v1:0/invoke-with-response-stream")
                .unwrap()
                .stream
        );
        for not in [
            "/model//converse",
            "/model/x/count-tokens",
            "/models/x/converse",
            "/model/converse",
            "/v1/model/x/invoke",
        ] {
            assert_eq!(path_call(not), None, "{not}");
        }
        assert_eq!(percent_decode("a%2fb%zz%4"), "a/b%zz%4");
        assert_eq!(percent_decode("%FF"), "\u{fffd}");
    }

    #[test]
    fn converse_request_and_response() {
        let v: Value = serde_json::from_str(
            r#"{"messages":[{"role":"user","content":[{"text":"Weather in Paris?"}]}],
                "system":[{"text":"Be brief."}],
                "toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","inputSchema":{"json":{}}}},
                                       {"cachePoint":{"type":"default"}}]}}"#,
        )
        .unwrap();
        let r = converse_request(&v);
        assert_eq!(r.tools_declared, ["get_weather"]);
        assert_eq!(r.prompt, "Weather in Paris?");
        let v: Value = serde_json::from_str(
            r#"{"output":{"message":{"role":"assistant","content":[{"text":"Checking."},
                {"toolUse":{"toolUseId":"tooluse_1","name":"get_weather","input":{"city":"Paris"}}}]}},
                "stopReason":"tool_use","usage":{"inputTokens":410,"outputTokens":61,"totalTokens":471,
                "cacheReadInputTokens":5,"cacheWriteInputTokens":7},"metrics":{"latencyMs":900}}"#,
        )
        .unwrap();
        let r = converse_response(&v);
        assert_eq!(r.completion, "Checking.");
        assert_eq!(r.tool_calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!(r.finish_reasons, ["tool_use"]);
        let u = r.usage.unwrap();
        assert_eq!(
            (u.input, u.output, u.cache_read, u.cache_write),
            (410, 61, 5, 7)
        );
        assert_eq!(r.error, "");
    }

    #[test]
    fn errors_by_header_body_and_exception_event() {
        let v: Value = serde_json::from_str(r#"{"message":"Too many requests"}"#).unwrap();
        let mut r = converse_response(&v);
        assert_eq!(r.error, "error");
        let head = Head {
            headers: vec![(
                "x-amzn-errortype".into(),
                "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/".into(),
            )],
            ..Default::default()
        };
        apply_headers(&mut r, &head);
        assert_eq!(r.error, "ThrottlingException");
        let v: Value =
            serde_json::from_str(r#"{"__type":"com.amazon.coral#AccessDeniedException"}"#).unwrap();
        assert_eq!(converse_response(&v).error, "AccessDeniedException");

        let s = |v: &str| HeaderValue::String(v.into());
        let wire = encode(
            &[
                (":exception-type", s("modelStreamErrorException")),
                (":content-type", s("application/json")),
                (":message-type", s("exception")),
            ],
            br#"{"message":"boom"}"#,
        );
        let exc = crate::decode::eventstream::parse_all(&wire).0;
        let msgs = [
            event("messageStart", r#"{"role":"assistant"}"#),
            exc[0].clone(),
        ];
        assert_eq!(
            converse_stream(&msgs).unwrap().error,
            "modelStreamErrorException"
        );
        assert_eq!(
            invoke_stream(&exc).unwrap().error,
            "modelStreamErrorException"
        );
    }

    #[test]
    fn converse_stream_joins_tool_input_fragments() {
        let msgs = [
            event("messageStart", r#"{"p":"abc","role":"assistant"}"#),
            event(
                "contentBlockDelta",
                r#"{"contentBlockIndex":0,"delta":{"text":"Let me"}}"#,
            ),
            event(
                "contentBlockDelta",
                r#"{"contentBlockIndex":0,"delta":{"text":" check."}}"#,
            ),
            event("contentBlockStop", r#"{"contentBlockIndex":0}"#),
            event(
                "contentBlockStart",
                r#"{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather"}}}"#,
            ),
            event(
                "contentBlockDelta",
                r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":"}}}"#,
            ),
            event(
                "contentBlockDelta",
                r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"\"Paris\"}"}}}"#,
            ),
            event(
                "contentBlockStart",
                r#"{"contentBlockIndex":2,"start":{"toolUse":{"toolUseId":"tooluse_2","name":"now"}}}"#,
            ),
            event("messageStop", r#"{"stopReason":"tool_use"}"#),
            event(
                "metadata",
                r#"{"usage":{"inputTokens":410,"outputTokens":61},"metrics":{"latencyMs":1}}"#,
            ),
            event("contentBlockDelta", "not json"),
        ];
        let r = converse_stream(&msgs).unwrap();
        assert_eq!(r.completion, "Let me check.");
        assert_eq!(r.tool_calls.len(), 2);
        assert_eq!(r.tool_calls[0].id, "tooluse_1");
        assert_eq!(r.tool_calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!(r.tool_calls[1].arguments, "{}");
        assert_eq!(r.finish_reasons, ["tool_use"]);
        assert_eq!(
            r.usage.as_ref().map(|u| (u.input, u.output)),
            Some((410, 61))
        );
        assert_eq!(r.bad_events, 1);
        assert!(converse_stream(&[]).is_err());
        assert!(converse_stream(&msgs[1..3]).is_err(), "no messageStart");
    }

    fn chunk(v: &str) -> Message {
        let b64 = base64::engine::general_purpose::STANDARD.encode(v);
        event("chunk", &format!(r#"{{"bytes":"{b64}","p":"abcd"}}"#))
    }

    #[test]
    fn invoke_stream_reads_anthropic_events_and_bedrock_metrics() {
        let msgs = [
            chunk(
                r#"{"type":"message_start","message":{"id":"msg_bdrk_1","model":"claude-3-5-sonnet-20241022","usage":{"input_tokens":397,"output_tokens":1}}}"#,
            ),
            chunk(
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}"#,
            ),
            chunk(
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Paris\"}"}}"#,
            ),
            chunk(
                r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":58}}"#,
            ),
            chunk(
                r#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":397,"outputTokenCount":58}}"#,
            ),
            event("chunk", r#"{"bytes":"!!not base64"}"#),
        ];
        let r = invoke_stream(&msgs).unwrap();
        assert_eq!(r.response_id, "msg_bdrk_1");
        assert_eq!(r.tool_calls[0].arguments, r#"{"city": "Paris"}"#);
        assert_eq!(
            r.usage.as_ref().map(|u| (u.input, u.output)),
            Some((397, 58))
        );
        assert_eq!(r.bad_events, 1);
        // Another model family: only Bedrock's metrics are understood.
        let llama = [
            chunk(r#"{"generation":"Hi","prompt_token_count":null}"#),
            chunk(
                r#"{"generation":"","stop_reason":"stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":3}}"#,
            ),
        ];
        let r = invoke_stream(&llama).unwrap();
        assert_eq!(r.usage.map(|u| (u.input, u.output)), Some((12, 3)));
        assert!(invoke_stream(&[]).is_err());
    }

    #[test]
    fn invoke_bodies_by_model_family_and_token_headers() {
        let v: Value = serde_json::from_str(
            r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,
                "messages":[{"role":"user","content":"Hi"}],"tools":[{"name":"get_weather","input_schema":{}}]}"#,
        )
        .unwrap();
        let r = invoke_request(&v);
        assert_eq!((r.model.as_str(), r.prompt.as_str()), ("", "Hi"));
        assert_eq!(r.tools_declared, ["get_weather"]);
        let v: Value = serde_json::from_str(r#"{"prompt":"Hello","max_gen_len":50}"#).unwrap();
        assert_eq!(invoke_request(&v).prompt, "Hello");

        let v: Value = serde_json::from_str(
            r#"{"generation":"Hi there","prompt_token_count":9,"generation_token_count":3,"stop_reason":"stop"}"#,
        )
        .unwrap();
        let r = invoke_response(&v);
        assert_eq!(r.completion, "Hi there");
        assert_eq!(r.usage.as_ref().map(|u| (u.input, u.output)), Some((9, 3)));
        let v: Value = serde_json::from_str(
            r#"{"inputTextTokenCount":5,"results":[{"tokenCount":4,"outputText":"Hey","completionReason":"FINISH"}]}"#,
        )
        .unwrap();
        let mut r = invoke_response(&v);
        assert_eq!((r.completion.as_str(), r.finish_reasons.len()), ("Hey", 1));
        let head = Head {
            headers: vec![
                ("x-amzn-requestid".into(), "4b0a-req".into()),
                ("x-amzn-bedrock-input-token-count".into(), "6".into()),
                ("x-amzn-bedrock-output-token-count".into(), "4".into()),
            ],
            ..Default::default()
        };
        apply_headers(&mut r, &head);
        assert_eq!(r.usage.map(|u| (u.input, u.output)), Some((6, 4)));
        assert_eq!(r.response_id, "4b0a-req");
        let mut none = ResponseInfo::default();
        apply_headers(&mut none, &head);
        assert!(none.usage.is_some(), "headers count for any model");
    }
}
