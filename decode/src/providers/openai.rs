//! OpenAI Chat Completions (`POST /v1/chat/completions`), also spoken by Azure OpenAI and the
//! OpenAI-compatible hosts: requests, JSON responses, and `chat.completion.chunk` streams.

use super::{
    content_text, error_of, last_user_text, text, ProviderError, RequestInfo, ResponseInfo,
};
use crate::decode::sse::SseEvent;
use aisensor_event::payload::{ToolCall, Usage};
use serde_json::Value;

pub(super) fn request(v: &Value) -> RequestInfo {
    let mut tools: Vec<String> = v["tools"]
        .as_array()
        .map(|t| t.iter().map(|t| text(&t["function"]["name"])).collect())
        .unwrap_or_default();
    // The older `functions` parameter.
    if let Some(f) = v["functions"].as_array() {
        tools.extend(f.iter().map(|f| text(&f["name"])));
    }
    tools.retain(|t| !t.is_empty());
    RequestInfo {
        model: text(&v["model"]),
        stream: v["stream"].as_bool().unwrap_or(false),
        tools_declared: tools,
        prompt: last_user_text(&v["messages"]),
    }
}

fn usage(u: &Value) -> Option<Usage> {
    if !u.is_object() {
        return None;
    }
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    Some(Usage {
        input: n(&u["prompt_tokens"]),
        output: n(&u["completion_tokens"]),
        cache_read: n(&u["prompt_tokens_details"]["cached_tokens"]),
        cache_write: 0,
        reasoning: n(&u["completion_tokens_details"]["reasoning_tokens"]),
    })
}

pub(super) fn response(v: &Value) -> ResponseInfo {
    let mut r = ResponseInfo {
        response_model: text(&v["model"]),
        response_id: text(&v["id"]),
        usage: usage(&v["usage"]),
        error: error_of(v),
        ..Default::default()
    };
    for choice in v["choices"].as_array().into_iter().flatten() {
        let msg = &choice["message"];
        if let Some(reason) = choice["finish_reason"].as_str() {
            r.finish_reasons.push(reason.to_string());
        }
        r.completion.push_str(&content_text(&msg["content"]));
        for call in msg["tool_calls"].as_array().into_iter().flatten() {
            r.tool_calls.push(ToolCall {
                id: text(&call["id"]),
                name: text(&call["function"]["name"]),
                arguments: text(&call["function"]["arguments"]),
            });
        }
        // The older `function_call`.
        if msg["function_call"].is_object() {
            r.tool_calls.push(ToolCall {
                id: String::new(),
                name: text(&msg["function_call"]["name"]),
                arguments: text(&msg["function_call"]["arguments"]),
            });
        }
    }
    r
}

/// A streamed response: `data:` chunks, then `data: [DONE]`. Tool calls arrive by `index`:
/// the first chunk of a call carries its id and name, later ones fragments of its arguments.
pub(super) fn stream(events: &[SseEvent]) -> Result<ResponseInfo, ProviderError> {
    let mut r = ResponseInfo::default();
    // (choice index, tool call index) → position in r.tool_calls
    let mut calls: Vec<((u64, u64), usize)> = Vec::new();
    let mut seen_chunk = false;
    for ev in events {
        let data = ev.data.trim();
        if data == "[DONE]" || data.is_empty() {
            continue;
        }
        let v: Value =
            serde_json::from_str(data).map_err(|e| ProviderError::BadStream(e.to_string()))?;
        if v["error"].is_object() {
            r.error = error_of(&v);
            continue;
        }
        seen_chunk = true;
        if r.response_model.is_empty() {
            r.response_model = text(&v["model"]);
        }
        if r.response_id.is_empty() {
            r.response_id = text(&v["id"]);
        }
        if let Some(u) = usage(&v["usage"]) {
            r.usage = Some(u);
        }
        for choice in v["choices"].as_array().into_iter().flatten() {
            let ci = choice["index"].as_u64().unwrap_or(0);
            let delta = &choice["delta"];
            if let Some(t) = delta["content"].as_str() {
                r.completion.push_str(t);
            }
            for call in delta["tool_calls"].as_array().into_iter().flatten() {
                let ti = call["index"].as_u64().unwrap_or(0);
                let pos = match calls.iter().find(|(k, _)| *k == (ci, ti)) {
                    Some((_, p)) => *p,
                    None => {
                        r.tool_calls.push(ToolCall::default());
                        calls.push(((ci, ti), r.tool_calls.len() - 1));
                        r.tool_calls.len() - 1
                    }
                };
                let tc = &mut r.tool_calls[pos];
                if let Some(id) = call["id"].as_str() {
                    tc.id = id.to_string();
                }
                if let Some(name) = call["function"]["name"].as_str() {
                    tc.name.push_str(name);
                }
                if let Some(args) = call["function"]["arguments"].as_str() {
                    tc.arguments.push_str(args);
                }
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                r.finish_reasons.push(reason.to_string());
            }
        }
    }
    if !seen_chunk && r.error.is_empty() {
        return Err(ProviderError::BadStream(
            "no chat.completion.chunk in the stream".into(),
        ));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::sse::parse_all;

    #[test]
    fn request_fields() {
        let v: Value = serde_json::from_str(
            r#"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],
                "tools":[{"type":"function","function":{"name":"get_weather"}}]}"#,
        )
        .unwrap();
        let r = request(&v);
        assert_eq!(r.model, "gpt-4o");
        assert!(r.stream);
        assert_eq!(r.tools_declared, ["get_weather"]);
        assert_eq!(r.prompt, "hi");
    }

    #[test]
    fn stream_joins_argument_fragments_per_call() {
        let body = concat!(
            "data: {\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}}]}\n\n",
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]}}]}\n\n",
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}]}}]}\n\n",
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]}}]}\n\n",
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
            "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":82,\"completion_tokens\":17}}\n\n",
            "data: [DONE]\n\n"
        );
        let r = stream(&parse_all(body.as_bytes())).unwrap();
        assert_eq!(r.response_model, "gpt-4o-2024-08-06");
        assert_eq!(r.tool_calls.len(), 2);
        assert_eq!(r.tool_calls[0].name, "get_weather");
        assert_eq!(r.tool_calls[0].arguments, "{\"city\":\"Paris\"}");
        assert_eq!(r.tool_calls[1].id, "call_b");
        assert_eq!(r.finish_reasons, ["tool_calls"]);
        assert_eq!(r.usage.unwrap().output, 17);
    }

    #[test]
    fn error_body_and_bad_stream() {
        let v: Value = serde_json::from_str(
            r#"{"error":{"message":"Rate limit","type":"requests","code":"rate_limit_exceeded"}}"#,
        )
        .unwrap();
        assert_eq!(response(&v).error, "requests");
        assert!(stream(&parse_all(b"data: {not json\n\n")).is_err());
        assert!(stream(&[]).is_err());
    }
}
