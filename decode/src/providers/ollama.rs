//! Ollama's native API (`POST /api/chat`, `/api/generate`, `/api/embed` and the older
//! `/api/embeddings`), served by a local Ollama (port 11434), Ollama's cloud (`ollama.com`)
//! and the proxies in front of them. Ollama streams unless the request says `"stream": false`:
//! newline-delimited JSON, each line a whole response object, the last one `"done": true`
//! with `done_reason` and the token counts (`prompt_eval_count` in, `eval_count` out). Tool
//! calls come whole, their arguments a JSON object; an error is `{"error": "..."}`, as the
//! body or as a line of a stream.

use super::{
    end_stream, error_of, last_user_text, text, Api, ProviderError, RequestInfo, ResponseInfo,
};
use aisensor_event::payload::{ToolCall, Usage};
use serde_json::Value;

/// The port Ollama listens on unless told otherwise.
pub(super) const PORT: u16 = 11434;

/// The Ollama API a path calls. Proxies put Ollama under a prefix (`/ollama/api/chat`).
pub(super) fn path_api(path: &str) -> Option<Api> {
    if path.ends_with("/api/chat") {
        Some(Api::OllamaChat)
    } else if path.ends_with("/api/generate") {
        Some(Api::OllamaGenerate)
    } else if path.ends_with("/api/embed") || path.ends_with("/api/embeddings") {
        Some(Api::OllamaEmbed)
    } else {
        None
    }
}

/// `gen_ai.operation.name` of an Ollama API.
pub(super) fn operation(api: Api) -> &'static str {
    match api {
        Api::OllamaGenerate => "text_completion",
        Api::OllamaEmbed => "embeddings",
        _ => "chat",
    }
}

pub(super) fn request(api: Api, v: &Value) -> RequestInfo {
    let tools = v["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| text(&t["function"]["name"]))
        .filter(|n| !n.is_empty())
        .collect();
    RequestInfo {
        model: text(&v["model"]),
        // Streamed unless the request says `"stream": false` (absent or null: streamed).
        // Embeddings are never streamed; nor is anything that is not a request object.
        stream: api != Api::OllamaEmbed && v.is_object() && v["stream"].as_bool() != Some(false),
        tools_declared: tools,
        prompt: match api {
            Api::OllamaChat => last_user_text(&v["messages"]),
            Api::OllamaGenerate => text(&v["prompt"]),
            // `/api/embed` takes `input`, a string or a list of them; `/api/embeddings` `prompt`.
            _ => match &v["input"] {
                Value::String(s) => s.clone(),
                Value::Array(a) => a.first().map(text).unwrap_or_default(),
                _ => text(&v["prompt"]),
            },
        },
    }
}

/// Token counts of a final object. Ollama leaves out a count that is zero (a prompt served
/// from its cache has no `prompt_eval_count`); an object with neither has no usage.
fn usage(v: &Value) -> Option<Usage> {
    let (input, output) = (v["prompt_eval_count"].as_u64(), v["eval_count"].as_u64());
    (input.is_some() || output.is_some()).then(|| Usage {
        input: input.unwrap_or(0),
        output: output.unwrap_or(0),
        ..Default::default()
    })
}

/// What one response object adds: a whole response, or one line of a stream.
fn read_object(v: &Value, r: &mut ResponseInfo) {
    if r.response_model.is_empty() {
        r.response_model = text(&v["model"]);
    }
    let msg = &v["message"];
    // Chat answers in `message.content`, generate in `response`.
    for t in [&msg["content"], &v["response"]] {
        if let Some(t) = t.as_str() {
            r.completion.push_str(t);
        }
    }
    for call in msg["tool_calls"].as_array().into_iter().flatten() {
        let f = &call["function"];
        r.tool_calls.push(ToolCall {
            // Older Ollama versions give calls no id.
            id: text(&call["id"]),
            name: text(&f["name"]),
            arguments: match &f["arguments"] {
                Value::String(s) => s.clone(),
                Value::Null => "{}".to_string(),
                args => args.to_string(),
            },
        });
    }
    if let Some(reason) = v["done_reason"].as_str() {
        r.finish_reasons.push(reason.to_string());
    }
    if let Some(u) = usage(v) {
        r.usage = Some(u);
    }
}

/// A whole JSON response of any of the APIs (`"stream": false`, embeddings, errors).
pub(super) fn response(v: &Value) -> ResponseInfo {
    let mut r = ResponseInfo {
        error: error_of(v),
        ..Default::default()
    };
    read_object(v, &mut r);
    r
}

/// A streamed response: its NDJSON lines. Lines that are not JSON objects are skipped and
/// counted in `bad_events`; an `{"error": ...}` line (the model failed half-way) is the error.
pub(super) fn stream(lines: &[Vec<u8>]) -> Result<ResponseInfo, ProviderError> {
    let mut r = ResponseInfo::default();
    let mut seen = false;
    let mut bad = 0;
    for line in lines {
        let Ok(v) = serde_json::from_slice::<Value>(line) else {
            bad += 1;
            continue;
        };
        if !v["error"].is_null() {
            r.error = error_of(&v);
            continue;
        }
        if !v.is_object() {
            bad += 1;
            continue;
        }
        seen = true;
        read_object(&v, &mut r);
    }
    end_stream(r, bad, seen, "Ollama response object")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::ndjson::parse_all;

    fn json(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn paths_and_operations() {
        for (path, api, op) in [
            ("/api/chat", Some(Api::OllamaChat), "chat"),
            ("/ollama/api/chat", Some(Api::OllamaChat), "chat"),
            (
                "/api/generate",
                Some(Api::OllamaGenerate),
                "text_completion",
            ),
            ("/api/embed", Some(Api::OllamaEmbed), "embeddings"),
            ("/api/embeddings", Some(Api::OllamaEmbed), "embeddings"),
            ("/api/tags", None, ""),
            ("/api/chats", None, ""),
            ("/api/pull", None, ""),
        ] {
            assert_eq!(path_api(path), api, "{path}");
            if let Some(api) = api {
                assert_eq!(operation(api), op);
            }
        }
    }

    #[test]
    fn requests_stream_unless_they_say_not_to() {
        let chat = |stream: &str| {
            request(
                Api::OllamaChat,
                &json(&format!(
                    r#"{{"model":"llama3.2",{stream}"messages":[{{"role":"user","content":"hi"}},{{"role":"assistant","content":"yes?"}}],
                        "tools":[{{"type":"function","function":{{"name":"get_weather"}}}},{{"type":"function","function":{{"name":"ls"}}}}]}}"#
                )),
            )
        };
        let r = chat("");
        assert_eq!(
            (r.model.as_str(), r.stream, r.prompt.as_str()),
            ("llama3.2", true, "hi")
        );
        assert_eq!(r.tools_declared, ["get_weather", "ls"]);
        assert!(chat(r#""stream":null,"#).stream);
        assert!(chat(r#""stream":true,"#).stream);
        assert!(!chat(r#""stream":false,"#).stream);
        let g = request(
            Api::OllamaGenerate,
            &json(r#"{"model":"llama3.2","prompt":"Why is the sky blue?"}"#),
        );
        assert_eq!(
            (g.prompt.as_str(), g.stream),
            ("Why is the sky blue?", true)
        );
        let e = request(
            Api::OllamaEmbed,
            &json(r#"{"model":"all-minilm","input":["a","b"]}"#),
        );
        assert_eq!((e.prompt.as_str(), e.stream), ("a", false));
        let e = request(
            Api::OllamaEmbed,
            &json(r#"{"model":"all-minilm","prompt":"p"}"#),
        );
        assert_eq!(e.prompt, "p");
        assert_eq!(
            request(Api::OllamaChat, &json("[1]")),
            RequestInfo::default()
        );
    }

    #[test]
    fn tool_call_arguments_are_an_object_serialised_as_json_text() {
        let r = response(&json(
            r#"{"model":"qwen3","message":{"role":"assistant","content":"","tool_calls":[
                {"function":{"name":"get_weather","arguments":{"city":"Paris","days":2}}},
                {"id":"call_1","function":{"index":1,"name":"ls","arguments":"{\"path\":\"/\"}"}},
                {"function":{"name":"noop"}}]},
                "done":true,"done_reason":"stop","prompt_eval_count":9}"#,
        ));
        let calls: Vec<_> = r
            .tool_calls
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str()))
            .collect();
        assert_eq!(
            calls,
            [
                ("", "get_weather", r#"{"city":"Paris","days":2}"#),
                ("call_1", "ls", r#"{"path":"/"}"#),
                ("", "noop", "{}"),
            ]
        );
        assert_eq!(r.finish_reasons, ["stop"]);
        let u = r.usage.unwrap();
        assert_eq!((u.input, u.output), (9, 0), "a count left out is zero");
    }

    #[test]
    fn a_stream_joins_text_and_counts_garbage() {
        let body = concat!(
            "{\"model\":\"llama3.2\",\"response\":\"Hel\",\"done\":false}\r\n",
            "<html>proxy hiccup</html>\n",
            "[1]\n",
            "{\"model\":\"llama3.2\",\"response\":\"lo\",\"done\":false}\n",
            "{\"model\":\"llama3.2\",\"response\":\"\",\"done\":true,\"done_reason\":\"length\",\"prompt_eval_count\":5,\"eval_count\":2}"
        );
        let r = stream(&parse_all(body.as_bytes())).unwrap();
        assert_eq!(r.completion, "Hello");
        assert_eq!(r.finish_reasons, ["length"]);
        assert_eq!(r.bad_events, 2);
        assert_eq!(r.usage.map(|u| (u.input, u.output)), Some((5, 2)));
        // cut before the done line: what came, no usage
        let r = stream(&parse_all(&body.as_bytes()[..60])).unwrap();
        assert_eq!((r.completion.as_str(), r.usage), ("Hel", None));
        // an error line mid-stream, and a stream with nothing of Ollama's
        let body =
            "{\"model\":\"m\",\"message\":{\"content\":\"a\"}}\n{\"error\":\"out of memory\"}\n";
        assert_eq!(
            stream(&parse_all(body.as_bytes())).unwrap().error,
            "out of memory"
        );
        assert!(stream(&parse_all(b"garbage\n")).is_err());
        assert!(stream(&[]).is_err());
    }
}
