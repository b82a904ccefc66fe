//! AWS Bedrock Runtime: `POST /model/{modelId}/converse`, `/converse-stream`, `/invoke` and
//! `/invoke-with-response-stream` on `bedrock-runtime.<region>.amazonaws.com`.
//!
//! The model is named only in the path, percent-encoded (`anthropic.claude-3-5-sonnet-20241022-v2%3A0`,
//! or an inference profile's ARN with `%2F`). Converse is Bedrock's own message format, the
//! same for every model; InvokeModel carries the model provider's native body (Anthropic
//! Messages for `anthropic.*` models), read by the reader the model id's prefix names
//! ([`invoke_family`]). Both stream as AWS event streams (binary framing, see
//! [`crate::decode::eventstream`]): Converse as typed events, InvokeModel as `chunk` events
//! whose base64 `bytes` are the model provider's own stream events. Bedrock also counts tokens
//! in response headers, whatever the model.

use super::{
    anthropic, content_text, end_stream, openai, text, ProviderError, RequestInfo, ResponseInfo,
};
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
        // Nova's InvokeModel bodies name them `cache*InputTokenCount`.
        cache_read: n(&u["cacheReadInputTokens"]).max(n(&u["cacheReadInputTokenCount"])),
        cache_write: n(&u["cacheWriteInputTokens"]).max(n(&u["cacheWriteInputTokenCount"])),
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
    let mut c = ConverseEvents::default();
    for m in msgs {
        if exception(m, &mut c.r) {
            continue;
        }
        match serde_json::from_slice::<Value>(&m.payload) {
            Ok(v) => c.event(m.header_str(":event-type").unwrap_or(""), &v),
            Err(_) => c.r.bad_events += 1,
        }
    }
    c.finish()
}

/// The events of ConverseStream, which Amazon Nova's InvokeModelWithResponseStream also sends
/// (as `{"<eventType>": {...}}` chunks): one reader for both.
#[derive(Default)]
struct ConverseEvents {
    r: ResponseInfo,
    /// content block index → position in r.tool_calls
    calls: Vec<(u64, usize)>,
    seen: bool,
}

const CONVERSE_EVENTS: &[&str] = &[
    "messageStart",
    "contentBlockStart",
    "contentBlockDelta",
    "contentBlockStop",
    "messageStop",
    "metadata",
];

impl ConverseEvents {
    fn event(&mut self, kind: &str, v: &Value) {
        let r = &mut self.r;
        let index = v["contentBlockIndex"].as_u64().unwrap_or(0);
        match kind {
            "messageStart" => self.seen = true,
            "contentBlockStart" => {
                let call = &v["start"]["toolUse"];
                if call.is_object() {
                    r.tool_calls.push(ToolCall {
                        id: text(&call["toolUseId"]),
                        name: text(&call["name"]),
                        arguments: String::new(),
                    });
                    self.calls.push((index, r.tool_calls.len() - 1));
                }
            }
            "contentBlockDelta" => {
                let d = &v["delta"];
                if let Some(t) = d["text"].as_str() {
                    r.completion.push_str(t);
                } else if let Some(frag) = d["toolUse"]["input"].as_str() {
                    let call = self.calls.iter().rfind(|(i, _)| *i == index);
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

    fn finish(mut self) -> Result<ResponseInfo, ProviderError> {
        for tc in &mut self.r.tool_calls {
            if tc.arguments.is_empty() {
                tc.arguments = "{}".into(); // a tool called with no input
            }
        }
        end_stream(self.r, 0, self.seen, "messageStart")
    }
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

/// Whose native body an InvokeModel call carries. The path's model id says it: bodies of
/// different model providers share field names (`messages`, `prompt`), so guessing from the
/// body misreads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvokeFamily {
    /// `anthropic.*`: Anthropic Messages.
    Anthropic,
    /// `amazon.nova*`: Converse-shaped JSON and stream events.
    Nova,
    /// `openai.*` (gpt-oss): Chat Completions.
    OpenAi,
    /// `meta.*`: Llama's `generation`.
    Llama,
    /// `amazon.titan*`: Titan Text's `results[].outputText`.
    Titan,
    /// `mistral.*`: `outputs[].text`, or chat `choices`.
    Mistral,
    /// `cohere.*`: Command's `generations[]`, Command R's `text`.
    Cohere,
    /// No known prefix (a provisioned or custom model's ARN): read by the body's shape.
    Unknown,
}

/// Model id prefixes, after any inference profile's geography.
const FAMILIES: &[(&str, InvokeFamily)] = &[
    ("anthropic.", InvokeFamily::Anthropic),
    ("amazon.nova", InvokeFamily::Nova),
    ("amazon.titan", InvokeFamily::Titan),
    ("openai.", InvokeFamily::OpenAi),
    ("meta.", InvokeFamily::Llama),
    ("mistral.", InvokeFamily::Mistral),
    ("cohere.", InvokeFamily::Cohere),
];

/// The geographies of cross-region inference profiles (`us.anthropic...`, `global....`).
const GEOGRAPHIES: &[&str] = &["us", "us-gov", "eu", "apac", "au", "jp", "ca", "global"];

/// The body format of the model a path names: a model id, an inference profile id, or the
/// ARN of either (the id follows its last `/`).
pub fn invoke_family(model: &str) -> InvokeFamily {
    let id = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    let id = match id.split_once('.') {
        Some((geo, rest)) if GEOGRAPHIES.contains(&geo) => rest,
        _ => id.as_str(),
    };
    FAMILIES
        .iter()
        .find(|(prefix, _)| id.starts_with(prefix))
        .map_or(InvokeFamily::Unknown, |&(_, f)| f)
}

/// For a model the path does not place: the family a body (or a stream chunk) looks like.
fn guess(v: &Value) -> InvokeFamily {
    use InvokeFamily::*;
    let has = |k: &str| v.get(k).is_some();
    let kind = v["type"].as_str().unwrap_or("");
    if has("anthropic_version") || kind == "message" || kind.starts_with("message_") {
        Anthropic
    } else if v["output"]["message"].is_object()
        || has("toolConfig")
        || has("inferenceConfig")
        || CONVERSE_EVENTS.iter().any(|k| v[*k].is_object())
    {
        Nova
    } else if has("outputs") {
        Mistral
    } else if v["choices"].is_array() || v["messages"].is_array() {
        OpenAi
    } else if has("generation") {
        Llama
    } else if has("results") || has("outputText") || has("inputText") {
        Titan
    } else if has("generations") || has("is_finished") || has("event_type") {
        Cohere
    } else {
        Unknown
    }
}

/// The model provider's native request. Its `model` field, if any, is not the model: the
/// path names it ([`super::parse_request_for`]).
pub(super) fn invoke_request(family: InvokeFamily, v: &Value) -> RequestInfo {
    use InvokeFamily::*;
    let family = match family {
        Unknown => guess(v),
        f => f,
    };
    let mut info = match family {
        Anthropic => anthropic::request(v),
        Nova => converse_request(v),
        // Mistral's chat models take OpenAI-style messages and tools.
        OpenAi | Mistral if v["messages"].is_array() => openai::request(v),
        Cohere => RequestInfo {
            // Command R: `message` and `tools[].name`; Command: `prompt`.
            tools_declared: v["tools"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| text(&t["name"]))
                .filter(|n| !n.is_empty())
                .collect(),
            prompt: [&v["message"], &v["prompt"]]
                .iter()
                .find_map(|p| p.as_str())
                .unwrap_or_default()
                .to_string(),
            ..Default::default()
        },
        // Llama's, Mistral's and Titan's text prompts.
        _ => RequestInfo {
            prompt: [&v["prompt"], &v["inputText"]]
                .iter()
                .find_map(|p| p.as_str())
                .unwrap_or_default()
                .to_string(),
            ..Default::default()
        },
    };
    info.model.clear();
    info
}

pub(super) fn invoke_response(family: InvokeFamily, v: &Value) -> ResponseInfo {
    use InvokeFamily::*;
    let family = match family {
        Unknown => guess(v),
        f => f,
    };
    let mut r = match family {
        Anthropic => anthropic::response(v),
        Nova => converse_response(v),
        OpenAi => openai::response(v),
        Llama | Titan | Mistral | Cohere | Unknown => {
            let mut r = ResponseInfo::default();
            read_text_body(family, v, &mut r);
            r
        }
    };
    if r.error.is_empty() {
        r.error = error_of(v); // Bedrock's own `{"message": ...}`
    }
    if r == ResponseInfo::default() {
        // Not the body this model sends: counted, not passed off as an empty answer.
        r.bad_events = 1;
    }
    r
}

/// What a body (or stream chunk) of a text-completion model says, added to `r`; false if it
/// is none of that model's. The stream chunks carry the body's fields, a piece at a time.
fn read_text_body(family: InvokeFamily, v: &Value, r: &mut ResponseInfo) -> bool {
    let mut found = false;
    let push_text = |r: &mut ResponseInfo, t: &Value| {
        if let Some(t) = t.as_str() {
            r.completion.push_str(t);
            true
        } else {
            false
        }
    };
    let reason = |r: &mut ResponseInfo, x: &Value| {
        if let Some(x) = x.as_str() {
            r.finish_reasons.push(x.to_string());
        }
    };
    // Counts that stream chunks repeat or grow: the latest wins.
    let count = |field: &mut u64, x: &Value| {
        if let Some(n) = x.as_u64() {
            *field = n;
        }
    };
    match family {
        InvokeFamily::Llama => {
            found |= push_text(r, &v["generation"]);
            reason(r, &v["stop_reason"]);
            let (i, o) = (&v["prompt_token_count"], &v["generation_token_count"]);
            if i.is_u64() || o.is_u64() {
                let u = r.usage.get_or_insert_with(Usage::default);
                count(&mut u.input, i);
                count(&mut u.output, o);
            }
        }
        InvokeFamily::Titan => {
            let results = v["results"].as_array();
            // InvokeModel: `results[]`; the stream: one result's fields per chunk.
            for res in results.map_or(std::slice::from_ref(v), |r| r.as_slice()) {
                found |= push_text(r, &res["outputText"]);
                reason(r, &res["completionReason"]);
            }
            let i = &v["inputTextTokenCount"];
            let o = match results {
                Some(res) => res.first().map_or(&Value::Null, |x| &x["tokenCount"]),
                None => &v["totalOutputTextTokenCount"],
            };
            if i.is_u64() || o.is_u64() {
                let u = r.usage.get_or_insert_with(Usage::default);
                count(&mut u.input, i);
                count(&mut u.output, o);
            }
        }
        InvokeFamily::Mistral => {
            for out in v["outputs"].as_array().into_iter().flatten() {
                found |= push_text(r, &out["text"]);
                reason(r, &out["stop_reason"]);
            }
            // Chat models: `choices[].message` (whole) or `.delta`, `stop_reason`.
            for choice in v["choices"].as_array().into_iter().flatten() {
                found = true;
                for m in [&choice["message"], &choice["delta"]] {
                    r.completion.push_str(&content_text(&m["content"]));
                    for call in m["tool_calls"].as_array().into_iter().flatten() {
                        r.tool_calls.push(ToolCall {
                            id: text(&call["id"]),
                            name: text(&call["function"]["name"]),
                            arguments: text(&call["function"]["arguments"]),
                        });
                    }
                }
                reason(r, &choice["stop_reason"]);
                reason(r, &choice["finish_reason"]);
            }
        }
        InvokeFamily::Cohere => {
            for g in v["generations"].as_array().into_iter().flatten() {
                found |= push_text(r, &g["text"]);
                reason(r, &g["finish_reason"]);
            }
            found |= push_text(r, &v["text"]);
            reason(r, &v["finish_reason"]);
            found |= v.get("is_finished").is_some() || v.get("event_type").is_some();
            for call in v["tool_calls"].as_array().into_iter().flatten() {
                r.tool_calls.push(ToolCall {
                    id: String::new(),
                    name: text(&call["name"]),
                    arguments: call["parameters"].to_string(),
                });
            }
            if r.response_id.is_empty() {
                r.response_id = [&v["response_id"], &v["id"]]
                    .iter()
                    .find_map(|x| x.as_str())
                    .unwrap_or_default()
                    .to_string();
            }
        }
        _ => {}
    }
    found || !r.finish_reasons.is_empty() || r.usage.is_some() || !r.tool_calls.is_empty()
}

/// InvokeModelWithResponseStream: `chunk` events whose payload is `{"bytes": "<base64>"}`,
/// the base64 of one of the model provider's own stream events, read by that provider's
/// stream reader. For any model, Bedrock adds `amazon-bedrock-invocationMetrics` (token
/// counts) to the last one. Chunks the model's reader does not know are counted.
pub(super) fn invoke_stream(
    family: InvokeFamily,
    msgs: &[Message],
) -> Result<ResponseInfo, ProviderError> {
    use InvokeFamily::*;
    let mut error = ResponseInfo::default();
    let mut chunks = Vec::new();
    let mut bad = 0;
    let mut metrics = None;
    for m in msgs {
        if exception(m, &mut error) {
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
            bad += 1;
            continue;
        };
        let m = &v["amazon-bedrock-invocationMetrics"];
        if let (Some(i), Some(o)) = (
            m["inputTokenCount"].as_u64(),
            m["outputTokenCount"].as_u64(),
        ) {
            metrics = Some((i, o));
        }
        chunks.push(v);
    }
    if chunks.is_empty() {
        if error.error.is_empty() {
            return Err(ProviderError::BadStream("no chunk in the stream".into()));
        }
        error.bad_events += bad;
        return Ok(error);
    }
    let family = match family {
        // The first chunk may carry only metrics: the first that looks like something.
        Unknown => chunks
            .iter()
            .map(guess)
            .find(|f| *f != Unknown)
            .unwrap_or(Unknown),
        f => f,
    };
    // The shared Anthropic and OpenAI readers skip events they do not know without a word:
    // here such chunks are counted, and only the provider's own are passed on.
    let mut foreign = 0;
    let mut as_sse = |own: fn(&Value) -> bool| -> Vec<SseEvent> {
        let mut out = Vec::new();
        for v in &chunks {
            if own(v) {
                out.push(SseEvent {
                    event: text(&v["type"]),
                    data: v.to_string(),
                    id: None,
                });
            } else if !only_metrics(v) {
                foreign += 1;
            }
        }
        out
    };
    let mut r = match family {
        Anthropic => anthropic::stream(&as_sse(|v| v["type"].is_string()))?,
        OpenAi => openai::stream(&as_sse(|v| {
            v["choices"].is_array() || v["usage"].is_object() || !v["error"].is_null()
        }))?,
        Nova => {
            let mut c = ConverseEvents::default();
            for v in &chunks {
                match CONVERSE_EVENTS.iter().find(|k| v[**k].is_object()) {
                    Some(kind) => c.event(kind, &v[*kind]),
                    None if only_metrics(v) => {}
                    None => c.r.bad_events += 1,
                }
            }
            c.finish()?
        }
        Llama | Titan | Mistral | Cohere | Unknown => {
            let mut r = ResponseInfo::default();
            for v in &chunks {
                if !read_text_body(family, v, &mut r) && !only_metrics(v) {
                    r.bad_events += 1;
                }
            }
            r
        }
    };
    r.bad_events += bad + foreign;
    if !error.error.is_empty() {
        r.error = error.error;
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

/// A chunk that carries only Bedrock's invocation metrics.
fn only_metrics(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| o.keys().all(|k| k == "amazon-bedrock-invocationMetrics"))
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
            invoke_stream(InvokeFamily::Anthropic, &exc).unwrap().error,
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
        let r = invoke_stream(InvokeFamily::Anthropic, &msgs).unwrap();
        assert_eq!(r.response_id, "msg_bdrk_1");
        assert_eq!(r.tool_calls[0].arguments, r#"{"city": "Paris"}"#);
        assert_eq!(
            r.usage.as_ref().map(|u| (u.input, u.output)),
            Some((397, 58))
        );
        assert_eq!(r.bad_events, 1);
        // A model without a family: Bedrock's metrics are understood, the chunks counted.
        let llama = [
            chunk(r#"{"generation":"Hi","prompt_token_count":null}"#),
            chunk(
                r#"{"generation":"","stop_reason":"stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":3}}"#,
            ),
        ];
        let r = invoke_stream(InvokeFamily::Llama, &llama).unwrap();
        assert_eq!((r.completion.as_str(), r.bad_events), ("Hi", 0));
        assert_eq!(r.finish_reasons, ["stop"]);
        assert_eq!(r.usage.map(|u| (u.input, u.output)), Some((12, 3)));
        let r = invoke_stream(InvokeFamily::Titan, &llama).unwrap();
        assert_eq!(r.bad_events, 2, "not Titan's: counted, not dropped");
        assert_eq!(r.usage.map(|u| (u.input, u.output)), Some((12, 3)));
        assert!(invoke_stream(InvokeFamily::Anthropic, &[]).is_err());
    }

    #[test]
    fn invoke_bodies_by_model_family_and_token_headers() {
        let v: Value = serde_json::from_str(
            r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,
                "messages":[{"role":"user","content":"Hi"}],"tools":[{"name":"get_weather","input_schema":{}}]}"#,
        )
        .unwrap();
        let r = invoke_request(InvokeFamily::Anthropic, &v);
        assert_eq!((r.model.as_str(), r.prompt.as_str()), ("", "Hi"));
        assert_eq!(r.tools_declared, ["get_weather"]);
        let v: Value = serde_json::from_str(r#"{"prompt":"Hello","max_gen_len":50}"#).unwrap();
        assert_eq!(invoke_request(InvokeFamily::Llama, &v).prompt, "Hello");

        let v: Value = serde_json::from_str(
            r#"{"generation":"Hi there","prompt_token_count":9,"generation_token_count":3,"stop_reason":"stop"}"#,
        )
        .unwrap();
        let r = invoke_response(InvokeFamily::Llama, &v);
        assert_eq!(r.completion, "Hi there");
        assert_eq!(r.finish_reasons, ["stop"]);
        assert_eq!(r.usage.as_ref().map(|u| (u.input, u.output)), Some((9, 3)));
        let v: Value = serde_json::from_str(
            r#"{"inputTextTokenCount":5,"results":[{"tokenCount":4,"outputText":"Hey","completionReason":"FINISH"}]}"#,
        )
        .unwrap();
        let mut r = invoke_response(InvokeFamily::Titan, &v);
        assert_eq!((r.completion.as_str(), r.finish_reasons.len()), ("Hey", 1));
        assert_eq!(r.usage.as_ref().map(|u| (u.input, u.output)), Some((5, 4)));
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

    #[test]
    fn the_model_ids_prefix_names_the_body_format() {
        use InvokeFamily::*;
        for (model, family) in [
            ("anthropic.claude-3-5-sonnet-20241022-v2:0", Anthropic),
            ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", Anthropic),
            (
                "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
                Anthropic,
            ),
            ("amazon.nova-pro-v1:0", Nova),
            ("eu.amazon.nova-lite-v1:0", Nova),
            ("apac.amazon.nova-micro-v1:0", Nova),
            ("amazon.titan-text-express-v1", Titan),
            ("openai.gpt-oss-120b-1:0", OpenAi),
            ("meta.llama3-70b-instruct-v1:0", Llama),
            ("us.meta.llama3-2-11b-instruct-v1:0", Llama),
            ("us-gov.meta.llama3-8b-instruct-v1:0", Llama),
            ("mistral.mistral-large-2407-v1:0", Mistral),
            ("cohere.command-r-plus-v1:0", Cohere),
            ("Meta.Llama3-8B-Instruct-v1:0", Llama),
            (
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0",
                Nova,
            ),
            (
                "arn:aws:bedrock:us-west-2::foundation-model/openai.gpt-oss-20b-1:0",
                OpenAi,
            ),
            // Ids that name no provider: read by the body's shape.
            (
                "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123xyz",
                Unknown,
            ),
            ("xx.anthropic.claude", Unknown),
            ("amazon.other-model", Unknown),
            ("", Unknown),
            ("/", Unknown),
        ] {
            assert_eq!(invoke_family(model), family, "{model}");
        }
    }

    #[test]
    fn the_path_names_the_model_not_the_body() {
        let d = super::super::detect(
            "bedrock-runtime.us-west-2.amazonaws.com",
            "POST",
            "/model/openai.gpt-oss-120b-1%3A0/invoke",
            &Head::default(),
            &[],
        )
        .unwrap();
        assert_eq!(
            d.api,
            super::super::Api::BedrockInvoke(InvokeFamily::OpenAi)
        );
        let body = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],
            "tools":[{"type":"function","function":{"name":"get_weather"}}]}"#;
        let r = super::super::parse_request_for(&d, body).unwrap();
        assert_eq!(r.model, "openai.gpt-oss-120b-1:0");
        assert_eq!((r.prompt.as_str(), r.tools_declared.len()), ("Hi", 1));
    }

    #[test]
    fn nova_speaks_converse_in_invoke_bodies_and_chunks() {
        let v: Value = serde_json::from_str(
            r#"{"schemaVersion":"messages-v1","messages":[{"role":"user","content":[{"text":"Weather?"}]}],
                "toolConfig":{"tools":[{"toolSpec":{"name":"get_weather"}}]},"inferenceConfig":{"maxTokens":100}}"#,
        )
        .unwrap();
        let r = invoke_request(InvokeFamily::Nova, &v);
        assert_eq!((r.prompt.as_str(), r.tools_declared.len()), ("Weather?", 1));
        let v: Value = serde_json::from_str(
            r#"{"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"get_weather","input":{"city":"Paris"}}}]}},
                "stopReason":"tool_use","usage":{"inputTokens":9,"outputTokens":4}}"#,
        )
        .unwrap();
        let r = invoke_response(InvokeFamily::Nova, &v);
        assert_eq!(r.tool_calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!((r.finish_reasons.len(), r.bad_events), (1, 0));
        assert_eq!(invoke_response(InvokeFamily::Unknown, &v), r, "by shape");
        let msgs = [
            chunk(r#"{"messageStart":{"role":"assistant"}}"#),
            chunk(r#"{"contentBlockDelta":{"delta":{"text":"Checking."},"contentBlockIndex":0}}"#),
            chunk(
                r#"{"contentBlockStart":{"start":{"toolUse":{"toolUseId":"t1","name":"get_weather"}},"contentBlockIndex":1}}"#,
            ),
            chunk(
                r#"{"contentBlockDelta":{"delta":{"toolUse":{"input":"{\"city\":\"Paris\"}"}},"contentBlockIndex":1}}"#,
            ),
            chunk(r#"{"messageStop":{"stopReason":"tool_use"}}"#),
            chunk(
                r#"{"metadata":{"usage":{"inputTokens":9,"outputTokens":4}},"amazon-bedrock-invocationMetrics":{"inputTokenCount":9,"outputTokenCount":4}}"#,
            ),
            chunk(r#"{"somethingNew":{}}"#),
        ];
        let r = invoke_stream(InvokeFamily::Nova, &msgs).unwrap();
        assert_eq!(r.completion, "Checking.");
        assert_eq!(r.tool_calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!(r.finish_reasons, ["tool_use"]);
        assert_eq!(r.usage.map(|u| (u.input, u.output)), Some((9, 4)));
        assert_eq!(r.bad_events, 1);
    }

    #[test]
    fn gpt_oss_streams_chat_completion_chunks() {
        let msgs = [
            chunk(
                r#"{"id":"c1","object":"chat.completion.chunk","model":"openai.gpt-oss-120b-1:0","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}}]}"#,
            ),
            chunk(
                r#"{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":\"Paris\"}"}}]}}]}"#,
            ),
            chunk(
                r#"{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"amazon-bedrock-invocationMetrics":{"inputTokenCount":80,"outputTokenCount":20}}"#,
            ),
        ];
        let r = invoke_stream(InvokeFamily::OpenAi, &msgs).unwrap();
        assert_eq!(r.tool_calls[0].name, "get_weather");
        assert_eq!(r.tool_calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!(r.finish_reasons, ["tool_calls"]);
        assert_eq!(r.usage.map(|u| (u.input, u.output)), Some((80, 20)));
        assert_eq!(
            invoke_stream(InvokeFamily::Unknown, &msgs)
                .unwrap()
                .tool_calls
                .len(),
            1
        );
        // A chunk that is not a chat.completion.chunk is counted; metrics alone are not.
        let odd = [
            chunk(
                r#"{"amazon-bedrock-invocationMetrics":{"inputTokenCount":1,"outputTokenCount":1}}"#,
            ),
            msgs[0].clone(),
            chunk(r#"{"reasoning":"?"}"#),
        ];
        let r = invoke_stream(InvokeFamily::Unknown, &odd).unwrap();
        assert_eq!((r.tool_calls.len(), r.bad_events), (1, 1));
        let r = invoke_stream(InvokeFamily::Anthropic, &odd[2..]);
        assert!(r.is_err(), "no message_start");
        let v: Value = serde_json::from_str(
            r#"{"id":"c2","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#,
        )
        .unwrap();
        assert_eq!(invoke_response(InvokeFamily::OpenAi, &v).completion, "Hi");
    }

    #[test]
    fn titan_mistral_and_cohere_text_and_stop_reasons() {
        let titan = [
            chunk(
                r#"{"outputText":"Hel","index":0,"totalOutputTextTokenCount":1,"completionReason":null,"inputTextTokenCount":5}"#,
            ),
            chunk(
                r#"{"outputText":"lo","index":0,"totalOutputTextTokenCount":2,"completionReason":"FINISH"}"#,
            ),
        ];
        let r = invoke_stream(InvokeFamily::Titan, &titan).unwrap();
        assert_eq!((r.completion.as_str(), r.bad_events), ("Hello", 0));
        assert_eq!(r.finish_reasons, ["FINISH"]);
        assert_eq!(r.usage.map(|u| (u.input, u.output)), Some((5, 2)));
        let mistral = [
            chunk(r#"{"outputs":[{"text":"Bon","stop_reason":null}]}"#),
            chunk(r#"{"outputs":[{"text":"jour","stop_reason":"stop"}]}"#),
        ];
        let r = invoke_stream(InvokeFamily::Mistral, &mistral).unwrap();
        assert_eq!(
            (r.completion.as_str(), r.finish_reasons.len()),
            ("Bonjour", 1)
        );
        let v: Value = serde_json::from_str(
            r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"","tool_calls":[{"id":"a","function":{"name":"f","arguments":"{}"}}]},"stop_reason":"tool_calls"}]}"#,
        )
        .unwrap();
        let r = invoke_response(InvokeFamily::Mistral, &v);
        assert_eq!(
            (r.tool_calls[0].name.as_str(), r.finish_reasons.len()),
            ("f", 1)
        );
        let cohere = [
            chunk(r#"{"event_type":"text-generation","text":"Hi","is_finished":false}"#),
            chunk(
                r#"{"event_type":"stream-end","finish_reason":"COMPLETE","is_finished":true,"response":{"text":"Hi"}}"#,
            ),
        ];
        let r = invoke_stream(InvokeFamily::Cohere, &cohere).unwrap();
        assert_eq!((r.completion.as_str(), r.bad_events), ("Hi", 0));
        assert_eq!(r.finish_reasons, ["COMPLETE"]);
        let v: Value = serde_json::from_str(
            r#"{"generations":[{"id":"g","text":"Yes","finish_reason":"COMPLETE"}],"id":"r1"}"#,
        )
        .unwrap();
        let r = invoke_response(InvokeFamily::Cohere, &v);
        assert_eq!(
            (r.completion.as_str(), r.response_id.as_str()),
            ("Yes", "r1")
        );
        // A body this model does not send is counted, not read as an empty answer.
        let v: Value = serde_json::from_str(r#"{"surprise":1}"#).unwrap();
        for f in [
            InvokeFamily::Llama,
            InvokeFamily::Unknown,
            InvokeFamily::Cohere,
        ] {
            assert_eq!(invoke_response(f, &v).bad_events, 1, "{f:?}");
        }
    }
}
