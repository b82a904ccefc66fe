//! Google Gemini `generateContent` / `streamGenerateContent` (the Gemini API and Vertex AI),
//! and `embedContent` / `batchEmbedContents`. The model is named in the path
//! (`.../models/gemini-2.5-flash:generateContent`); tool calls are `functionCall` parts, sent
//! whole; a stream is a series of whole `GenerateContentResponse` objects, as server-sent
//! events (`?alt=sse`, what the SDKs ask for) or as one JSON array.

use super::{end_stream, json_events, text, ProviderError, RequestInfo, ResponseInfo};
use crate::decode::sse::SseEvent;
use aisensor_event::payload::{ToolCall, Usage};
use serde_json::Value;

/// The method a Gemini path calls, and the model it names: `(model, method)` of
/// `/v1beta/models/gemini-2.5-flash:streamGenerateContent` or of Vertex AI's
/// `/v1/projects/p/locations/l/publishers/google/models/gemini-2.5-pro:generateContent`.
pub(super) fn path_call(path: &str) -> Option<(&str, &str)> {
    let (resource, method) = path.rsplit_once(':')?;
    let model = resource
        .rsplit_once("/models/")
        .or_else(|| resource.rsplit_once("/tunedModels/"))?
        .1;
    let known = matches!(
        method,
        "generateContent" | "streamGenerateContent" | "embedContent" | "batchEmbedContents"
    );
    (known && !model.is_empty() && !model.contains('/')).then_some((model, method))
}

/// Tools of a request: function declarations by name, built-in tools (`googleSearch`,
/// `codeExecution`, ...) by their key. The REST API takes both camelCase and snake_case.
fn tools(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for tool in v["tools"].as_array().into_iter().flatten() {
        let Some(obj) = tool.as_object() else {
            continue;
        };
        for (key, val) in obj {
            match key.as_str() {
                "functionDeclarations" | "function_declarations" => out.extend(
                    val.as_array()
                        .into_iter()
                        .flatten()
                        .map(|f| text(&f["name"]))
                        .filter(|n| !n.is_empty()),
                ),
                other => out.push(other.to_string()),
            }
        }
    }
    out
}

fn parts_text(parts: &Value) -> String {
    parts
        .as_array()
        .into_iter()
        .flatten()
        // Thought summaries are not the answer.
        .filter(|p| p["thought"] != true)
        .filter_map(|p| p["text"].as_str())
        .collect()
}

pub(super) fn request(v: &Value) -> RequestInfo {
    let prompt = v["contents"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .rev()
                .find(|c| c["role"] == "user" || c["role"].is_null())
        })
        .map(|c| parts_text(&c["parts"]))
        .unwrap_or_default();
    RequestInfo {
        // Set from the path by the caller: the body names no model.
        model: text(&v["model"]),
        stream: false,
        tools_declared: tools(v),
        prompt,
    }
}

fn usage(u: &Value) -> Option<Usage> {
    if !u.is_object() {
        return None;
    }
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    Some(Usage {
        input: n(&u["promptTokenCount"]),
        output: n(&u["candidatesTokenCount"]),
        cache_read: n(&u["cachedContentTokenCount"]),
        cache_write: 0,
        reasoning: n(&u["thoughtsTokenCount"]),
    })
}

/// Adds what one `GenerateContentResponse` says (a whole response, or one stream chunk: text
/// is appended, calls are added, usage and finish reasons are the latest).
fn add(r: &mut ResponseInfo, v: &Value) {
    if r.response_model.is_empty() {
        r.response_model = text(&v["modelVersion"]);
    }
    if r.response_id.is_empty() {
        r.response_id = text(&v["responseId"]);
    }
    if let Some(u) = usage(&v["usageMetadata"]) {
        r.usage = Some(u); // cumulative: the last chunk's counts are the totals
    }
    let err = error_of(v);
    if !err.is_empty() {
        r.error = err;
    }
    if let Some(reason) = v["promptFeedback"]["blockReason"].as_str() {
        r.finish_reasons.push(reason.to_string());
    }
    for cand in v["candidates"].as_array().into_iter().flatten() {
        let parts = &cand["content"]["parts"];
        r.completion.push_str(&parts_text(parts));
        for p in parts.as_array().into_iter().flatten() {
            let call = &p["functionCall"];
            if call.is_object() {
                r.tool_calls.push(ToolCall {
                    id: text(&call["id"]),
                    name: text(&call["name"]),
                    arguments: if call["args"].is_null() {
                        "{}".to_string()
                    } else {
                        call["args"].to_string()
                    },
                });
            }
        }
        if let Some(reason) = cand["finishReason"].as_str() {
            r.finish_reasons.push(reason.to_string());
        }
    }
}

/// Google's error object names its kind in `status` (`RESOURCE_EXHAUSTED`); its `code` is
/// the HTTP status.
fn error_of(v: &Value) -> String {
    match v["error"]["status"].as_str() {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => super::error_of(v),
    }
}

/// A whole response: one object, or the JSON array a stream without `?alt=sse` is.
pub(super) fn response(v: &Value) -> ResponseInfo {
    let mut r = ResponseInfo::default();
    match v {
        Value::Array(chunks) => chunks.iter().for_each(|c| add(&mut r, c)),
        _ => add(&mut r, v),
    }
    r
}

/// Embeddings (`embedContent`, `batchEmbedContents`): only errors; the API counts no tokens
/// in its answer.
pub(super) fn embed_response(v: &Value) -> ResponseInfo {
    ResponseInfo {
        error: error_of(v),
        ..Default::default()
    }
}

/// `?alt=sse`: one `GenerateContentResponse` per event.
pub(super) fn stream(events: &[SseEvent]) -> Result<ResponseInfo, ProviderError> {
    let mut r = ResponseInfo::default();
    let mut seen = false;
    let mut bad = 0;
    for (_, v) in json_events(events, &mut bad) {
        if v.is_object() {
            seen = true;
            add(&mut r, &v);
        } else {
            r.bad_events += 1;
        }
    }
    // An error is itself a GenerateContentResponse, so `seen` covers it.
    end_stream(r, bad, seen, "GenerateContentResponse")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::sse::parse_all;

    #[test]
    fn model_and_method_from_the_path() {
        assert_eq!(
            path_call("/v1beta/models/gemini-2.5-flash:streamGenerateContent"),
            Some(("gemini-2.5-flash", "streamGenerateContent"))
        );
        assert_eq!(
            path_call("/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent"),
            Some(("gemini-2.5-pro", "generateContent"))
        );
        assert_eq!(
            path_call("/v1beta/tunedModels/my-tune:generateContent"),
            Some(("my-tune", "generateContent"))
        );
        assert_eq!(
            path_call("/v1beta/models/gemini-2.5-flash:countTokens"),
            None
        );
        assert_eq!(path_call("/v1beta/models/:generateContent"), None);
        assert_eq!(path_call("/v1beta/models"), None);
    }

    #[test]
    fn requests_name_their_tools_either_way() {
        let v: Value = serde_json::from_str(
            r#"{"contents":[{"role":"user","parts":[{"text":"weather"},{"text":" in Paris?"}]}],
                "tools":[{"functionDeclarations":[{"name":"get_weather"},{"name":"get_time"}]},
                         {"function_declarations":[{"name":"run"}]},{"googleSearch":{}}]}"#,
        )
        .unwrap();
        let r = request(&v);
        assert_eq!(
            r.tools_declared,
            ["get_weather", "get_time", "run", "googleSearch"]
        );
        assert_eq!(r.prompt, "weather in Paris?");
    }

    #[test]
    fn a_json_array_stream_and_an_sse_stream_say_the_same() {
        let chunks = [
            r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Let me"}]},"index":0}],"usageMetadata":{"promptTokenCount":30,"totalTokenCount":30},"modelVersion":"gemini-2.5-flash","responseId":"r1"}"#,
            r#"{"candidates":[{"content":{"role":"model","parts":[{"text":" check."},{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":30,"candidatesTokenCount":12,"totalTokenCount":42},"modelVersion":"gemini-2.5-flash","responseId":"r1"}"#,
        ];
        let sse: String = chunks
            .iter()
            .map(|c| format!("data: {c}\r\n\r\n"))
            .collect();
        let a = stream(&parse_all(sse.as_bytes())).unwrap();
        let array: Value = serde_json::from_str(&format!("[{}]", chunks.join(","))).unwrap();
        let b = response(&array);
        assert_eq!(a, b);
        assert_eq!(a.completion, "Let me check.");
        assert_eq!(a.tool_calls[0].name, "get_weather");
        assert_eq!(a.tool_calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!(a.finish_reasons, ["STOP"]);
        let u = a.usage.unwrap();
        assert_eq!((u.input, u.output), (30, 12));
        assert_eq!(a.response_model, "gemini-2.5-flash");
    }

    #[test]
    fn errors_by_status() {
        let v: Value = serde_json::from_str(
            r#"{"error":{"code":429,"message":"Resource exhausted","status":"RESOURCE_EXHAUSTED"}}"#,
        )
        .unwrap();
        assert_eq!(response(&v).error, "RESOURCE_EXHAUSTED");
    }
}
