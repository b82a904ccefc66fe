//! Anthropic Messages (`POST /v1/messages`): requests, JSON responses, and the
//! `message_start` … `message_stop` event stream.

use super::{
    end_stream, error_of, json_events, last_user_text, text, ProviderError, RequestInfo,
    ResponseInfo,
};
use crate::decode::sse::SseEvent;
use aisensor_event::payload::{ToolCall, Usage};
use serde_json::Value;

pub(super) fn request(v: &Value) -> RequestInfo {
    RequestInfo {
        model: text(&v["model"]),
        stream: v["stream"].as_bool().unwrap_or(false),
        tools_declared: v["tools"]
            .as_array()
            .map(|t| {
                t.iter()
                    .map(|t| text(&t["name"]))
                    .filter(|n| !n.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        prompt: last_user_text(&v["messages"]),
    }
}

/// Adds what a `usage` object says to `u` (the stream reports input in `message_start` and
/// output in `message_delta`).
fn add_usage(u: &mut Option<Usage>, v: &Value) {
    if !v.is_object() {
        return;
    }
    let u = u.get_or_insert_with(Usage::default);
    let set = |field: &mut u64, x: &Value| {
        if let Some(n) = x.as_u64() {
            *field = n;
        }
    };
    set(&mut u.input, &v["input_tokens"]);
    set(&mut u.output, &v["output_tokens"]);
    set(&mut u.cache_read, &v["cache_read_input_tokens"]);
    set(&mut u.cache_write, &v["cache_creation_input_tokens"]);
}

pub(super) fn response(v: &Value) -> ResponseInfo {
    let mut r = ResponseInfo {
        response_model: text(&v["model"]),
        response_id: text(&v["id"]),
        error: error_of(v),
        ..Default::default()
    };
    add_usage(&mut r.usage, &v["usage"]);
    if let Some(reason) = v["stop_reason"].as_str() {
        r.finish_reasons.push(reason.to_string());
    }
    for block in v["content"].as_array().into_iter().flatten() {
        match block["type"].as_str() {
            Some("text") => r.completion.push_str(block["text"].as_str().unwrap_or("")),
            Some("tool_use") | Some("server_tool_use") => r.tool_calls.push(ToolCall {
                id: text(&block["id"]),
                name: text(&block["name"]),
                arguments: block["input"].to_string(),
            }),
            _ => {}
        }
    }
    r
}

/// A streamed response. Tool inputs arrive as `input_json_delta` fragments per content block.
pub(super) fn stream(events: &[SseEvent]) -> Result<ResponseInfo, ProviderError> {
    let mut r = ResponseInfo::default();
    // content block index → (position in r.tool_calls, arguments still the start's `input`)
    let mut blocks: Vec<(u64, usize, bool)> = Vec::new();
    let mut started = false;
    let mut bad = 0;
    for (ev, v) in json_events(events, &mut bad) {
        let kind = v["type"].as_str().unwrap_or(ev.event.as_str());
        match kind {
            "message_start" => {
                started = true;
                let m = &v["message"];
                r.response_model = text(&m["model"]);
                r.response_id = text(&m["id"]);
                add_usage(&mut r.usage, &m["usage"]);
            }
            "content_block_start" => {
                let b = &v["content_block"];
                match b["type"].as_str() {
                    Some("tool_use") | Some("server_tool_use") => {
                        // The input arrives as fragments; a non-empty `input` here is a
                        // server that sent it whole.
                        let whole = b["input"].as_object().is_some_and(|o| !o.is_empty());
                        r.tool_calls.push(ToolCall {
                            id: text(&b["id"]),
                            name: text(&b["name"]),
                            arguments: if whole {
                                b["input"].to_string()
                            } else {
                                String::new()
                            },
                        });
                        blocks.push((
                            v["index"].as_u64().unwrap_or(0),
                            r.tool_calls.len() - 1,
                            whole,
                        ));
                    }
                    Some("text") => r.completion.push_str(b["text"].as_str().unwrap_or("")),
                    _ => {}
                }
            }
            "content_block_delta" => {
                let d = &v["delta"];
                match d["type"].as_str() {
                    Some("text_delta") => r.completion.push_str(d["text"].as_str().unwrap_or("")),
                    Some("input_json_delta") => {
                        let idx = v["index"].as_u64().unwrap_or(0);
                        let Some(block) = blocks.iter_mut().rfind(|(i, _, _)| *i == idx) else {
                            continue;
                        };
                        if let Some(tc) = r.tool_calls.get_mut(block.1) {
                            if std::mem::take(&mut block.2) {
                                tc.arguments.clear(); // fragments follow after all
                            }
                            tc.arguments
                                .push_str(d["partial_json"].as_str().unwrap_or(""));
                        }
                    }
                    _ => {} // thinking, signatures, citations
                }
            }
            "message_delta" => {
                if let Some(reason) = v["delta"]["stop_reason"].as_str() {
                    r.finish_reasons.push(reason.to_string());
                }
                add_usage(&mut r.usage, &v["usage"]);
            }
            "error" => r.error = error_of(&v),
            _ => {} // ping, content_block_stop, message_stop
        }
    }
    // A tool call with no input fragments had an empty input object.
    for tc in &mut r.tool_calls {
        if tc.arguments.is_empty() {
            tc.arguments = "{}".into();
        }
    }
    end_stream(r, bad, started, "message_start")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::sse::parse_all;

    #[test]
    fn stream_keeps_message_delta_usage_and_joins_tool_input() {
        let body = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-sonnet-4-5-20250929\",\"usage\":{\"input_tokens\":397,\"output_tokens\":1,\"cache_read_input_tokens\":5}}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "event: ping\ndata: {\"type\": \"ping\"}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Let me check.\"}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Paris\\\"}\"}}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":58}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        );
        let r = stream(&parse_all(body.as_bytes())).unwrap();
        assert_eq!(r.response_id, "msg_1");
        assert_eq!(r.completion, "Let me check.");
        assert_eq!(r.tool_calls[0].name, "get_weather");
        assert_eq!(r.tool_calls[0].arguments, "{\"city\": \"Paris\"}");
        let u = r.usage.unwrap();
        assert_eq!((u.input, u.output, u.cache_read), (397, 58, 5));
        assert_eq!(r.finish_reasons, ["tool_use"]);
    }

    #[test]
    fn json_response_with_tool_use() {
        let v: Value = serde_json::from_str(
            r#"{"id":"msg_2","type":"message","model":"claude-sonnet-4-5","stop_reason":"tool_use",
                "content":[{"type":"tool_use","id":"toolu_2","name":"get_weather","input":{"city":"Paris"}}],
                "usage":{"input_tokens":10,"output_tokens":3}}"#,
        )
        .unwrap();
        let r = response(&v);
        assert_eq!(r.tool_calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!(r.usage.unwrap().input, 10);
        let e: Value = serde_json::from_str(
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        )
        .unwrap();
        assert_eq!(response(&e).error, "overloaded_error");
    }

    #[test]
    fn errors_thinking_and_cut_streams() {
        let body = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_3\",\"model\":\"claude-opus-4-1\",\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":2048,\"output_tokens\":1}}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Hmm.\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQB\"}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"bash\",\"input\":{}}}\n\n",
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_j",
        );
        let r = stream(&parse_all(body.as_bytes())).unwrap();
        assert_eq!(r.completion, "", "thinking is not completion text");
        assert_eq!(r.error, "overloaded_error");
        assert_eq!(r.bad_events, 1);
        assert_eq!(r.tool_calls[0].arguments, "{}");
        let u = r.usage.unwrap();
        assert_eq!((u.input, u.output, u.cache_write), (12, 1, 2048));
        // An event stream that is not Anthropic's.
        assert!(stream(&parse_all(b"data: {\"choices\":[]}\n\n")).is_err());
    }
}
