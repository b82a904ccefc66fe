//! What the AI APIs say inside HTTP messages: which provider and API an exchange is, and the
//! model, tools, tool calls, usage and text of its request and response.

pub mod anthropic;
pub mod openai;

use crate::decode::http1::Head;
use crate::decode::sse::SseEvent;
use aisensor_event::payload::{ToolCall, Usage};

/// The wire API an exchange speaks (decides which adapter reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// OpenAI Chat Completions (`POST .../chat/completions`), also spoken by Azure OpenAI and
    /// OpenAI-compatible hosts.
    OpenAiChat,
    /// Anthropic Messages (`POST /v1/messages`).
    AnthropicMessages,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// `gen_ai.provider.name` value: `openai`, `anthropic`, `azure.ai.openai`, ... or
    /// `unknown` for an unrecognised host speaking a known API.
    pub provider: String,
    pub api: Api,
    /// `chat`, ...
    pub operation: &'static str,
}

/// What a request says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestInfo {
    pub model: String,
    pub stream: bool,
    pub tools_declared: Vec<String>,
    /// Text of the last user message (for optional content capture).
    pub prompt: String,
}

/// What a response says (whole JSON body or reassembled stream).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseInfo {
    pub response_model: String,
    pub response_id: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Option<Usage>,
    pub finish_reasons: Vec<String>,
    /// Assistant text (for optional content capture).
    pub completion: String,
    /// `error.type` (or message) when the API answered with an error object.
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderError {
    /// The body is not the JSON the API sends.
    BadJson(String),
    /// A stream event that the API does not send / out of order.
    BadStream(String),
}

impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProviderError::BadJson(e) => write!(f, "body is not the API's JSON: {e}"),
            ProviderError::BadStream(e) => write!(f, "bad event stream: {e}"),
        }
    }
}

impl std::error::Error for ProviderError {}

/// Hosts whose provider is known, and the API path they speak. `*.` entries match sub-domains.
const KNOWN_HOSTS: &[(&str, &str)] = &[
    ("api.openai.com", "openai"),
    ("api.anthropic.com", "anthropic"),
    ("*.openai.azure.com", "azure.ai.openai"),
    ("*.services.ai.azure.com", "azure.ai.openai"),
    ("api.mistral.ai", "mistral_ai"),
    ("api.x.ai", "x_ai"),
    ("api.deepseek.com", "deepseek"),
    ("api.groq.com", "groq"),
    ("openrouter.ai", "openrouter"),
    ("api.together.xyz", "together_ai"),
    ("api.fireworks.ai", "fireworks"),
    ("api.perplexity.ai", "perplexity"),
    ("generativelanguage.googleapis.com", "gcp.gemini"),
];

fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => {
            host.len() > suffix.len()
                && host.ends_with(suffix)
                && host[..host.len() - suffix.len()].ends_with('.')
        }
        None => pattern == host,
    }
}

/// The provider of `host`: the user's map first, then the built-in table.
pub fn provider_of(host: &str, host_map: &[(String, String)]) -> Option<String> {
    host_map
        .iter()
        .map(|(h, p)| (h.as_str(), p.as_str()))
        .chain(KNOWN_HOSTS.iter().copied())
        .find(|(pattern, _)| host_matches(pattern, host))
        .map(|(_, p)| p.to_string())
}

/// Which AI API an exchange speaks, from the request alone. `host` is the `Host` header
/// without port, lower-cased; only POSTs are API calls here.
pub fn detect(
    host: &str,
    method: &str,
    path: &str,
    head: &Head,
    host_map: &[(String, String)],
) -> Option<Detected> {
    if !method.eq_ignore_ascii_case("POST") {
        return None;
    }
    let path = path.split('?').next().unwrap_or("");
    let api = if path.ends_with("/chat/completions") {
        Api::OpenAiChat
    } else if path.ends_with("/v1/messages")
        && (head.header("anthropic-version").is_some() || host == "api.anthropic.com")
    {
        Api::AnthropicMessages
    } else {
        return None;
    };
    let provider = provider_of(host, host_map).unwrap_or_else(|| "unknown".to_string());
    Some(Detected {
        provider,
        api,
        operation: "chat",
    })
}

pub fn parse_request(api: Api, body: &[u8]) -> Result<RequestInfo, ProviderError> {
    let v = json(body)?;
    Ok(match api {
        Api::OpenAiChat => openai::request(&v),
        Api::AnthropicMessages => anthropic::request(&v),
    })
}

pub fn parse_response(api: Api, body: &[u8]) -> Result<ResponseInfo, ProviderError> {
    let v = json(body)?;
    Ok(match api {
        Api::OpenAiChat => openai::response(&v),
        Api::AnthropicMessages => anthropic::response(&v),
    })
}

pub fn parse_stream(api: Api, events: &[SseEvent]) -> Result<ResponseInfo, ProviderError> {
    match api {
        Api::OpenAiChat => openai::stream(events),
        Api::AnthropicMessages => anthropic::stream(events),
    }
}

/// The response is a server-sent event stream.
pub fn is_event_stream(head: &Head) -> bool {
    head.header("content-type").is_some_and(|ct| {
        ct.trim_start()
            .to_ascii_lowercase()
            .starts_with("text/event-stream")
    })
}

fn json(body: &[u8]) -> Result<serde_json::Value, ProviderError> {
    serde_json::from_slice(body).map_err(|e| ProviderError::BadJson(e.to_string()))
}

/// A JSON string field, or "".
fn text(v: &serde_json::Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Text of a message `content`: a string, or the text parts of an array of parts.
fn content_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Text of the last message whose role is `user`.
fn last_user_text(messages: &serde_json::Value) -> String {
    messages
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .map(|m| content_text(&m["content"]))
        .unwrap_or_default()
}

/// The `error` object of an API error body: its type, else its message.
fn error_of(v: &serde_json::Value) -> String {
    let e = &v["error"];
    if e.is_null() {
        return String::new();
    }
    [&e["type"], &e["code"], &e["message"]]
        .iter()
        .find_map(|f| f.as_str().filter(|s| !s.is_empty()))
        .unwrap_or("error")
        .to_string()
}
