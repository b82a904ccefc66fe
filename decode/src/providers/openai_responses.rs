//! OpenAI Responses (`POST /v1/responses`), the API OpenAI's SDKs and agents (Codex, the
//! Agents SDK) use for new work, also served by Azure OpenAI and some compatible hosts:
//! requests, JSON responses, and typed event streams (`response.created` ...
//! `response.completed`).
//!
//! A response is a list of output items. The model's tool calls are the items of the call
//! kinds below; messages carry the text; reasoning items are skipped.

use super::{
    content_text, end_stream, json_events, text, ProviderError, RequestInfo, ResponseInfo,
};
use crate::decode::sse::SseEvent;
use aisensor_event::payload::{ToolCall, Usage};
use serde_json::Value;

pub(super) fn request(v: &Value) -> RequestInfo {
    // Function and custom tools have names; built-in tools (`web_search`, `local_shell`,
    // `code_interpreter`, ...) are known by their type, and MCP servers by their label.
    let tools = v["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| match t["type"].as_str().unwrap_or("") {
            "function" | "custom" => text(&t["name"]),
            "mcp" => format!("mcp:{}", t["server_label"].as_str().unwrap_or("")),
            other => other.to_string(),
        })
        .filter(|t| !t.is_empty())
        .collect();
    RequestInfo {
        model: text(&v["model"]),
        stream: v["stream"].as_bool().unwrap_or(false),
        tools_declared: tools,
        prompt: prompt(&v["input"]),
    }
}

/// `input` is a string, or a list of items: the text of the last user message.
fn prompt(input: &Value) -> String {
    match input {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .rev()
            .find(|i| i["role"] == "user")
            .map(|m| content_text(&m["content"]))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn usage(u: &Value) -> Option<Usage> {
    if !u.is_object() {
        return None;
    }
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    Some(Usage {
        input: n(&u["input_tokens"]),
        output: n(&u["output_tokens"]),
        cache_read: n(&u["input_tokens_details"]["cached_tokens"]),
        cache_write: 0,
        reasoning: n(&u["output_tokens_details"]["reasoning_tokens"]),
    })
}

/// The tool call an output item is, if it is one. Hosted tools that run on OpenAI's side
/// (web and file search) are not calls the agent executes and are left out.
fn tool_call(item: &Value) -> Option<ToolCall> {
    let id = || text(&item["call_id"]);
    let (name, arguments) = match item["type"].as_str()? {
        "function_call" => (text(&item["name"]), text(&item["arguments"])),
        "custom_tool_call" => (text(&item["name"]), text(&item["input"])),
        // The model asks the client to run a command (`action.command` is its argv).
        "local_shell_call" => ("local_shell".to_string(), item["action"].to_string()),
        "computer_call" => ("computer".to_string(), item["action"].to_string()),
        "mcp_call" => (text(&item["name"]), text(&item["arguments"])),
        _ => return None,
    };
    let id = match id() {
        s if s.is_empty() => text(&item["id"]),
        s => s,
    };
    Some(ToolCall {
        id,
        name,
        arguments,
    })
}

/// Text of a `message` output item.
fn message_text(item: &Value) -> String {
    if item["type"] != "message" {
        return String::new();
    }
    content_text(&item["content"])
}

/// A whole response object (the JSON body, or the one `response.completed` carries).
pub(super) fn response(v: &Value) -> ResponseInfo {
    let mut r = ResponseInfo {
        response_model: text(&v["model"]),
        response_id: text(&v["id"]),
        usage: usage(&v["usage"]),
        error: super::error_of(v),
        ..Default::default()
    };
    let output = v["output"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    r.tool_calls = output.iter().filter_map(tool_call).collect();
    r.completion = output
        .iter()
        .map(message_text)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    if let Some(reason) = finish_reason(v) {
        r.finish_reasons.push(reason);
    }
    r
}

/// What ended the response: the reason it is incomplete (`max_output_tokens`,
/// `content_filter`), else its status (`completed`, `failed`, `cancelled`).
fn finish_reason(v: &Value) -> Option<String> {
    v["incomplete_details"]["reason"]
        .as_str()
        .or_else(|| v["status"].as_str())
        .filter(|s| !s.is_empty() && *s != "in_progress" && *s != "queued")
        .map(str::to_string)
}

/// A streamed response. The final `response.completed` (or `.incomplete` / `.failed`) event
/// carries the whole response and is taken as is; the item and delta events before it are
/// followed too, so that a stream cut short still tells which calls the model began.
pub(super) fn stream(events: &[SseEvent]) -> Result<ResponseInfo, ProviderError> {
    let mut r = ResponseInfo::default();
    // item id → position in r.tool_calls
    let mut items: Vec<(String, usize)> = Vec::new();
    let mut started = false;
    let mut bad = 0;
    for (ev, v) in json_events(events, &mut bad) {
        let kind = v["type"].as_str().unwrap_or(ev.event.as_str());
        match kind {
            "response.created" | "response.in_progress" | "response.queued" => {
                started = true;
                let resp = &v["response"];
                if r.response_model.is_empty() {
                    r.response_model = text(&resp["model"]);
                }
                if r.response_id.is_empty() {
                    r.response_id = text(&resp["id"]);
                }
            }
            "response.output_item.added" | "response.output_item.done" => {
                let item = &v["item"];
                let Some(call) = tool_call(item) else {
                    continue;
                };
                let item_id = text(&item["id"]);
                match items
                    .iter()
                    .find(|(id, _)| *id == item_id && !id.is_empty())
                {
                    // `done` repeats the item whole: it replaces what the deltas built.
                    Some(&(_, pos)) if kind.ends_with(".done") => r.tool_calls[pos] = call,
                    Some(_) => {}
                    None => {
                        r.tool_calls.push(call);
                        items.push((item_id, r.tool_calls.len() - 1));
                    }
                }
            }
            "response.function_call_arguments.delta"
            | "response.custom_tool_call_input.delta"
            | "response.mcp_call_arguments.delta" => {
                let item_id = text(&v["item_id"]);
                if let Some(&(_, pos)) = items.iter().find(|(id, _)| *id == item_id) {
                    r.tool_calls[pos]
                        .arguments
                        .push_str(v["delta"].as_str().unwrap_or(""));
                }
            }
            "response.output_text.delta" => {
                r.completion.push_str(v["delta"].as_str().unwrap_or(""));
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                started = true;
                let mut whole = response(&v["response"]);
                // A final object without its output (some compatible servers send it so)
                // keeps what the item events said.
                let keep = |w: &mut String, r: &mut String| {
                    if w.is_empty() {
                        *w = std::mem::take(r);
                    }
                };
                keep(&mut whole.completion, &mut r.completion);
                keep(&mut whole.response_model, &mut r.response_model);
                keep(&mut whole.response_id, &mut r.response_id);
                if whole.tool_calls.is_empty() {
                    whole.tool_calls = std::mem::take(&mut r.tool_calls);
                }
                r = whole;
                items.clear();
            }
            // `{"type":"error","code":...,"message":...}`
            "error" => {
                r.error = [&v["code"], &v["message"], &v["error"]["type"]]
                    .iter()
                    .find_map(|f| f.as_str().filter(|s| !s.is_empty()))
                    .unwrap_or("error")
                    .to_string();
            }
            _ => {} // text done, content parts, reasoning, hosted tool progress
        }
    }
    end_stream(r, bad, started, "response.created")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::sse::parse_all;

    #[test]
    fn request_fields() {
        let v: Value = serde_json::from_str(
            r#"{"model":"gpt-5","stream":true,
                "input":[{"role":"developer","content":"be brief"},
                         {"role":"user","content":[{"type":"input_text","text":"weather?"}]},
                         {"type":"function_call_output","call_id":"c","output":"18C"}],
                "tools":[{"type":"function","name":"get_weather","parameters":{}},
                         {"type":"local_shell"},{"type":"web_search"},
                         {"type":"mcp","server_label":"github","server_url":"https://x"},
                         {"type":"custom","name":"apply_patch"}]}"#,
        )
        .unwrap();
        let r = request(&v);
        assert_eq!(r.model, "gpt-5");
        assert!(r.stream);
        assert_eq!(
            r.tools_declared,
            [
                "get_weather",
                "local_shell",
                "web_search",
                "mcp:github",
                "apply_patch"
            ]
        );
        assert_eq!(r.prompt, "weather?");
        let v: Value = serde_json::from_str(r#"{"model":"o3","input":"hello"}"#).unwrap();
        assert_eq!(request(&v).prompt, "hello");
    }

    #[test]
    fn every_kind_of_call_the_agent_runs_is_a_tool_call() {
        let v: Value = serde_json::from_str(
            r#"{"id":"resp_1","model":"codex-mini","status":"completed","output":[
                {"type":"reasoning","id":"rs_1","summary":[]},
                {"type":"local_shell_call","id":"lsh_1","call_id":"call_1","status":"completed",
                 "action":{"type":"exec","command":["ls","-la"],"env":{}}},
                {"type":"custom_tool_call","id":"ctc_1","call_id":"call_2","name":"apply_patch","input":"*** Begin"},
                {"type":"web_search_call","id":"ws_1","status":"completed"},
                {"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Done."}]}
              ],"usage":{"input_tokens":10,"output_tokens":5,"output_tokens_details":{"reasoning_tokens":3}}}"#,
        )
        .unwrap();
        let r = response(&v);
        let calls: Vec<(&str, &str)> = r
            .tool_calls
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str()))
            .collect();
        assert_eq!(
            calls,
            [("call_1", "local_shell"), ("call_2", "apply_patch")]
        );
        assert!(r.tool_calls[0].arguments.contains("\"ls\""));
        assert_eq!(r.completion, "Done.");
        assert_eq!(r.finish_reasons, ["completed"]);
        assert_eq!(r.usage.unwrap().reasoning, 3);
    }

    #[test]
    fn a_stream_cut_before_its_end_keeps_the_calls_begun() {
        let body = concat!(
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_9\",\"model\":\"gpt-5\",\"status\":\"in_progress\",\"output\":[]}}\n\n",
            "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"type\":\"function_call\",\"id\":\"fc_1\",\"call_id\":\"call_1\",\"name\":\"run\",\"arguments\":\"\"}}\n\n",
            "event: response.function_call_arguments.delta\ndata: {\"type\":\"response.function_call_arguments.delta\",\"item_id\":\"fc_1\",\"output_index\":0,\"delta\":\"{\\\"cmd\\\":\"}\n\n",
        );
        let r = stream(&parse_all(body.as_bytes())).unwrap();
        assert_eq!(r.response_id, "resp_9");
        assert_eq!(r.tool_calls[0].name, "run");
        assert_eq!(r.tool_calls[0].arguments, "{\"cmd\":");
        assert!(r.finish_reasons.is_empty());
        assert!(r.usage.is_none());

        let err = "event: error\ndata: {\"type\":\"error\",\"code\":\"rate_limit_exceeded\",\"message\":\"slow down\",\"param\":null}\n\n";
        assert_eq!(
            stream(&parse_all(err.as_bytes())).unwrap().error,
            "rate_limit_exceeded"
        );
        assert!(stream(&parse_all(b"data: {}\n\n")).is_err());
    }
}
