//! OpenAI Chat Completions (`POST /v1/chat/completions`), also spoken by Azure OpenAI and the
//! OpenAI-compatible hosts: requests, JSON responses, and `chat.completion.chunk` streams.

use super::{
    content_text, end_stream, error_of, json_events, last_user_text, text, ProviderError,
    RequestInfo, ResponseInfo,
};
use crate::decode::sse::SseEvent;
use aisensor_event::payload::{ToolCall, Usage};
use serde_json::Value;

pub(super) fn request(v: &Value) -> RequestInfo {
    // Function tools name themselves in `function`, custom (free-form) tools in `custom`.
    let mut tools: Vec<String> = v["tools"]
        .as_array()
        .map(|t| {
            t.iter()
                .map(|t| {
                    let ty = t["type"].as_str().unwrap_or("function");
                    text(&t[ty]["name"])
                })
                .collect()
        })
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
            // `function` calls carry `arguments`; `custom` tool calls carry `input`.
            let (name, args) = match &call["custom"] {
                c if c.is_object() => (text(&c["name"]), text(&c["input"])),
                _ => (
                    text(&call["function"]["name"]),
                    text(&call["function"]["arguments"]),
                ),
            };
            r.tool_calls.push(ToolCall {
                id: text(&call["id"]),
                name,
                arguments: args,
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
/// Some OpenAI-compatible servers send each call whole, with no index or the same index for
/// every call: a new id at an index starts a new call.
pub(super) fn stream(events: &[SseEvent]) -> Result<ResponseInfo, ProviderError> {
    let mut r = ResponseInfo::default();
    // (choice index, tool call index) → position in r.tool_calls of the call now at that index
    let mut calls: Vec<((u64, u64), usize)> = Vec::new();
    let mut seen_chunk = false;
    let mut bad = 0;
    for (_, v) in json_events(events, &mut bad) {
        if !v["error"].is_null() {
            r.error = error_of(&v);
            continue;
        }
        if !v.is_object() {
            r.bad_events += 1;
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
                let id = call["id"].as_str().filter(|id| !id.is_empty());
                let key = (ci, call["index"].as_u64().unwrap_or(0));
                let slot = calls.iter().position(|(k, _)| *k == key);
                let fresh = match slot {
                    None => true,
                    Some(s) => id.is_some_and(|id| {
                        let tc = &r.tool_calls[calls[s].1];
                        !tc.id.is_empty() && tc.id != id
                    }),
                };
                let pos = if fresh {
                    r.tool_calls.push(ToolCall::default());
                    let pos = r.tool_calls.len() - 1;
                    match slot {
                        Some(s) => calls[s].1 = pos,
                        None => calls.push((key, pos)),
                    }
                    pos
                } else {
                    slot.map_or(0, |s| calls[s].1)
                };
                let Some(tc) = r.tool_calls.get_mut(pos) else {
                    continue;
                };
                if let Some(id) = id {
                    tc.id = id.to_string();
                }
                let f = &call["function"];
                if let Some(name) = f["name"].as_str() {
                    // Sent once by OpenAI; repeated whole by some compatible servers.
                    if tc.name != name {
                        tc.name.push_str(name);
                    }
                }
                if let Some(args) = f["arguments"].as_str() {
                    tc.arguments.push_str(args);
                }
            }
            // The older `function_call` delta.
            let fc = &delta["function_call"];
            if fc.is_object() {
                let key = (ci, u64::MAX);
                let pos = match calls.iter().find(|(k, _)| *k == key) {
                    Some((_, p)) => *p,
                    None => {
                        r.tool_calls.push(ToolCall::default());
                        calls.push((key, r.tool_calls.len() - 1));
                        r.tool_calls.len() - 1
                    }
                };
                if let Some(tc) = r.tool_calls.get_mut(pos) {
                    tc.name.push_str(fc["name"].as_str().unwrap_or(""));
                    tc.arguments
                        .push_str(fc["arguments"].as_str().unwrap_or(""));
                }
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                r.finish_reasons.push(reason.to_string());
            }
        }
    }
    end_stream(r, bad, seen_chunk, "chat.completion.chunk")
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

    #[test]
    fn compatible_servers_that_send_whole_calls_without_index() {
        let body = concat!(
            "data: {\"id\":\"c2\",\"model\":\"mistral-large-latest\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"a\",\"function\":{\"name\":\"ls\",\"arguments\":\"{}\"}}]}}]}\n\n",
            "data: {\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"b\",\"function\":{\"name\":\"cat\",\"arguments\":\"{\\\"f\\\":1}\"}}]}}]}\n\n",
            "data: {\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"b\",\"function\":{\"name\":\"cat\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n",
        );
        let r = stream(&parse_all(body.as_bytes())).unwrap();
        let calls: Vec<_> = r
            .tool_calls
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str()))
            .collect();
        assert_eq!(calls, [("a", "ls", "{}"), ("b", "cat", "{\"f\":1}")]);
    }

    #[test]
    fn custom_tools_and_legacy_functions() {
        let v: Value = serde_json::from_str(
            r#"{"model":"gpt-5","tools":[{"type":"custom","custom":{"name":"apply_patch"}},{"type":"function","function":{"name":"f"}}],
                "functions":[{"name":"old"}]}"#,
        )
        .unwrap();
        assert_eq!(request(&v).tools_declared, ["apply_patch", "f", "old"]);
        let v: Value = serde_json::from_str(
            r#"{"choices":[{"message":{"tool_calls":[{"id":"c","type":"custom","custom":{"name":"apply_patch","input":"*** Begin"}}],
                "function_call":{"name":"old","arguments":"{}"}},"finish_reason":"tool_calls"}]}"#,
        )
        .unwrap();
        let r = response(&v);
        assert_eq!(r.tool_calls[0].arguments, "*** Begin");
        assert_eq!(r.tool_calls[1].name, "old");
        let body = "data: {\"choices\":[{\"delta\":{\"function_call\":{\"name\":\"old\",\"arguments\":\"{\\\"a\\\"\"}}}]}\n\ndata: {\"choices\":[{\"delta\":{\"function_call\":{\"arguments\":\":1}\"}},\"finish_reason\":\"function_call\"}]}\n\n";
        let r = stream(&parse_all(body.as_bytes())).unwrap();
        assert_eq!(r.tool_calls[0].name, "old");
        assert_eq!(r.tool_calls[0].arguments, "{\"a\":1}");
    }

    #[test]
    fn a_cut_stream_keeps_what_came_and_counts_the_rest() {
        let body = "data: {\"id\":\"c3\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\ndata: {\"id\":\"c3\",\"choices\":[{\"index\":0,\"delta\":{\"cont";
        let r = stream(&parse_all(body.as_bytes())).unwrap();
        assert_eq!(r.completion, "Hel");
        assert_eq!(r.bad_events, 1);
        assert_eq!(r.usage, None, "no usage chunk: None, not zeros");
        // a mid-stream error
        let body = "data: {\"id\":\"c4\",\"choices\":[]}\n\ndata: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}\n\n";
        assert_eq!(
            stream(&parse_all(body.as_bytes())).unwrap().error,
            "server_error"
        );
    }
}
