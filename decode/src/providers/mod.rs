//! What the AI APIs say inside HTTP messages: which provider and API an exchange is, and the
//! model, tools, tool calls, usage and text of its request and response.

pub mod anthropic;
pub mod bedrock;
pub mod gemini;
pub mod ollama;
pub mod openai;
pub mod openai_embeddings;
pub mod openai_responses;

pub use bedrock::InvokeFamily;

use crate::decode::eventstream;
use crate::decode::http1::Head;
use crate::decode::ndjson;
use crate::decode::sse::{self, SseEvent};
use aisensor_event::payload::{ToolCall, Usage};

/// The wire API an exchange speaks (decides which adapter reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// OpenAI Chat Completions (`POST .../chat/completions`), also spoken by Azure OpenAI and
    /// OpenAI-compatible hosts.
    OpenAiChat,
    /// OpenAI Responses (`POST .../responses`).
    OpenAiResponses,
    /// OpenAI Embeddings (`POST .../embeddings`).
    OpenAiEmbeddings,
    /// Anthropic Messages (`POST /v1/messages`).
    AnthropicMessages,
    /// Gemini `generateContent` / `streamGenerateContent` (Gemini API, Vertex AI).
    GeminiGenerate,
    /// Gemini `embedContent` / `batchEmbedContents`.
    GeminiEmbed,
    /// AWS Bedrock `Converse` / `ConverseStream` (`POST /model/{modelId}/converse[-stream]`):
    /// Bedrock's own message format, whatever the model.
    BedrockConverse,
    /// AWS Bedrock `InvokeModel` / `InvokeModelWithResponseStream`
    /// (`POST /model/{modelId}/invoke[-with-response-stream]`): the format of the model's
    /// provider, which the path's model id names.
    BedrockInvoke(InvokeFamily),
    /// Ollama `POST /api/chat`.
    OllamaChat,
    /// Ollama `POST /api/generate`.
    OllamaGenerate,
    /// Ollama `POST /api/embed` (and the older `/api/embeddings`).
    OllamaEmbed,
}

impl Api {
    /// Every API, with every Bedrock model family: for tests that must hold for all of them.
    pub const ALL: [Api; 18] = [
        Api::OpenAiChat,
        Api::OpenAiResponses,
        Api::OpenAiEmbeddings,
        Api::AnthropicMessages,
        Api::GeminiGenerate,
        Api::GeminiEmbed,
        Api::BedrockConverse,
        Api::BedrockInvoke(InvokeFamily::Anthropic),
        Api::BedrockInvoke(InvokeFamily::Nova),
        Api::BedrockInvoke(InvokeFamily::OpenAi),
        Api::BedrockInvoke(InvokeFamily::Llama),
        Api::BedrockInvoke(InvokeFamily::Titan),
        Api::BedrockInvoke(InvokeFamily::Mistral),
        Api::BedrockInvoke(InvokeFamily::Cohere),
        Api::BedrockInvoke(InvokeFamily::Unknown),
        Api::OllamaChat,
        Api::OllamaGenerate,
        Api::OllamaEmbed,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// `gen_ai.provider.name` value: `openai`, `anthropic`, `azure.ai.openai`, ... or
    /// `unknown` for an unrecognised host speaking a known API (`ollama` for one speaking
    /// Ollama's own API).
    pub provider: String,
    pub api: Api,
    /// `gen_ai.operation.name`: `chat` (chat completions, responses, messages, Ollama chat),
    /// `generate_content` (Gemini), `text_completion` (Ollama generate) or `embeddings`.
    pub operation: &'static str,
    /// The model the URL names (an Azure OpenAI deployment, a Gemini model), for a request
    /// body that names none; [`parse_request_for`] applies it.
    pub model_from_path: Option<String>,
    /// The URL asks for a stream (Gemini's `streamGenerateContent`), whatever the body says.
    pub stream_from_path: bool,
    /// The path alone does not show an AI API (`/v1/responses`, `/api/chat` are common words,
    /// here on a host not known to serve one): [`confirmed`] asks the body.
    pub generic_path: bool,
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
    /// Stream events that were not the API's JSON and were skipped: a stream cut short by a
    /// capture gap or a hang-up ends in one. The rest of the stream is still read.
    pub bad_events: u32,
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
    ("ollama.com", "ollama"),
    ("generativelanguage.googleapis.com", "gcp.gemini"),
    ("aiplatform.googleapis.com", "gcp.vertex_ai"),
    ("*-aiplatform.googleapis.com", "gcp.vertex_ai"),
    ("bedrock-runtime.*.amazonaws.com", "aws.bedrock"),
    ("bedrock-runtime-fips.*.amazonaws.com", "aws.bedrock"),
    ("bedrock-runtime.*.amazonaws.com.cn", "aws.bedrock"),
];

/// `pattern` is a host name, or has one `*`: leading, it stands for any non-empty start, so
/// `*.suffix` matches the sub-domains of `suffix` (not `suffix` itself) and
/// `*-aiplatform.googleapis.com` Vertex AI's regional hosts; inside, it stands for exactly one
/// label, so `bedrock-runtime.*.amazonaws.com` matches each AWS region's endpoint and nothing
/// deeper. Names compare without regard to case.
fn host_matches(pattern: &str, host: &str) -> bool {
    let Some((start, end)) = pattern.split_once('*') else {
        return pattern.eq_ignore_ascii_case(host);
    };
    let (h, s, e) = (host.as_bytes(), start.as_bytes(), end.as_bytes());
    if h.len() <= s.len() + e.len()
        || !h[..s.len()].eq_ignore_ascii_case(s)
        || !h[h.len() - e.len()..].eq_ignore_ascii_case(e)
    {
        return false;
    }
    start.is_empty() || !h[s.len()..h.len() - e.len()].contains(&b'.')
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

/// The port the `Host` header names, if it names one (`[::1]:11434` too).
fn host_port(head: &Head) -> Option<u16> {
    let (_, port) = head.header("host")?.trim().rsplit_once(':')?;
    port.parse().ok()
}

/// Which AI API an exchange speaks, from the request alone. `host` is the `Host` header
/// without port, lower-cased (the port, when it matters, is read from `head`); only POSTs are
/// API calls here.
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
    // A host the user's map or the built-in table does not name is Ollama's if the request
    // goes to Ollama's port (for its OpenAI-compatible paths too).
    let provider = provider_of(host, host_map)
        .or_else(|| (host_port(head) == Some(ollama::PORT)).then(|| "ollama".to_string()));
    // `/responses` and `/embeddings` are common words: on a host not known to serve an AI
    // API, only the versioned paths of the OpenAI API (and Azure's `/openai/...`) count.
    let api_path = |name: &str| {
        let known = provider.is_some() && path.ends_with(&format!("/{name}"));
        known
            || path.ends_with(&format!("/v1/{name}"))
            || path.ends_with(&format!("/openai/{name}"))
            || azure_deployment(path).is_some_and(|(_, tail)| tail == name)
    };
    if let Some(call) = bedrock::path_call(path) {
        // `/model/...` is a generic path: Bedrock only on its hosts, or signed for it.
        if provider.is_some() || bedrock::signed_for_bedrock(head) {
            return Some(Detected {
                provider: provider.unwrap_or_else(|| "unknown".to_string()),
                api: if call.converse {
                    Api::BedrockConverse
                } else {
                    Api::BedrockInvoke(bedrock::invoke_family(&call.model))
                },
                operation: "chat",
                model_from_path: Some(call.model),
                stream_from_path: call.stream,
                generic_path: false,
            });
        }
    }
    if let Some((model, method)) = gemini::path_call(path) {
        let embed = method.contains("mbed");
        return Some(Detected {
            provider: provider.unwrap_or_else(|| "unknown".to_string()),
            api: if embed {
                Api::GeminiEmbed
            } else {
                Api::GeminiGenerate
            },
            operation: if embed {
                "embeddings"
            } else {
                "generate_content"
            },
            model_from_path: Some(model.to_string()),
            stream_from_path: method == "streamGenerateContent",
            generic_path: false,
        });
    }
    if let Some(api) = ollama::path_api(path) {
        // Ollama's own API: its provider is Ollama wherever it is served, unless the user's
        // map names the host. Its paths are common words: only a known host (Ollama's port
        // included) vouches for them without a look at the body.
        return Some(Detected {
            generic_path: provider.is_none(),
            provider: provider.unwrap_or_else(|| "ollama".to_string()),
            api,
            operation: ollama::operation(api),
            model_from_path: None,
            stream_from_path: false,
        });
    }
    let api = if path.ends_with("/chat/completions") {
        Api::OpenAiChat
    } else if path.ends_with("/v1/messages")
        && (head.header("anthropic-version").is_some() || host == "api.anthropic.com")
    {
        Api::AnthropicMessages
    } else if api_path("responses") {
        Api::OpenAiResponses
    } else if api_path("embeddings") {
        Api::OpenAiEmbeddings
    } else {
        return None;
    };
    Some(Detected {
        generic_path: provider.is_none()
            && matches!(api, Api::OpenAiResponses | Api::OpenAiEmbeddings),
        provider: provider.unwrap_or_else(|| "unknown".to_string()),
        api,
        operation: if api == Api::OpenAiEmbeddings {
            "embeddings"
        } else {
            "chat"
        },
        model_from_path: azure_deployment(path).map(|(name, _)| name.to_string()),
        stream_from_path: false,
    })
}

/// Whether the request body bears out what [`detect`] guessed from the head. On a host not
/// known to serve an AI API, `/v1/responses`, `/v1/embeddings` and Ollama's `/api/chat`,
/// `/api/generate`, `/api/embed` may be some other service's words (unless the port is
/// Ollama's): such a request is an API call only if its body is JSON that names a model. (A
/// chat completions or messages path is specific enough to report even when its body is
/// unreadable.)
pub fn confirmed(detected: &Detected, info: Option<&RequestInfo>) -> bool {
    !detected.generic_path || info.is_some_and(|i| !i.model.is_empty())
}

/// `<deployment>` and what follows it in an Azure OpenAI path
/// `/openai/deployments/<deployment>/chat/completions` (or `/embeddings`).
fn azure_deployment(path: &str) -> Option<(&str, &str)> {
    let rest = path.split("/openai/deployments/").nth(1)?;
    let (name, tail) = rest.split_once('/')?;
    (!name.is_empty() && matches!(tail, "chat/completions" | "embeddings")).then_some((name, tail))
}

/// [`parse_request`], with the model taken from the URL when the body names none (Azure
/// OpenAI requests name a deployment in the path, and usually no model in the body). On
/// Bedrock the path's model is the one called, whatever the body says.
pub fn parse_request_for(detected: &Detected, body: &[u8]) -> Result<RequestInfo, ProviderError> {
    let mut info = parse_request(detected.api, body)?;
    let path_names_it = matches!(detected.api, Api::BedrockConverse | Api::BedrockInvoke(_));
    if info.model.is_empty() || path_names_it {
        if let Some(m) = &detected.model_from_path {
            info.model = m.clone();
        }
    }
    info.stream |= detected.stream_from_path;
    Ok(info)
}

/// The request's model, stream flag, declared tools and last user text. `body` is the whole
/// JSON body with its content coding undone.
pub fn parse_request(api: Api, body: &[u8]) -> Result<RequestInfo, ProviderError> {
    let v = json(body)?;
    Ok(match api {
        Api::OpenAiChat => openai::request(&v),
        Api::OpenAiResponses => openai_responses::request(&v),
        Api::OpenAiEmbeddings => openai_embeddings::request(&v),
        Api::AnthropicMessages => anthropic::request(&v),
        Api::GeminiGenerate | Api::GeminiEmbed => gemini::request(&v),
        Api::BedrockConverse => bedrock::converse_request(&v),
        Api::BedrockInvoke(f) => bedrock::invoke_request(f, &v),
        Api::OllamaChat | Api::OllamaGenerate | Api::OllamaEmbed => ollama::request(api, &v),
    })
}

/// A whole JSON response body (content coding undone), success or error object.
pub fn parse_response(api: Api, body: &[u8]) -> Result<ResponseInfo, ProviderError> {
    let v = json(body)?;
    Ok(match api {
        Api::OpenAiChat => openai::response(&v),
        Api::OpenAiResponses => openai_responses::response(&v),
        Api::OpenAiEmbeddings => openai_embeddings::response(&v),
        Api::AnthropicMessages => anthropic::response(&v),
        Api::GeminiGenerate => gemini::response(&v),
        Api::GeminiEmbed => gemini::embed_response(&v),
        Api::BedrockConverse => bedrock::converse_response(&v),
        Api::BedrockInvoke(f) => bedrock::invoke_response(f, &v),
        Api::OllamaChat | Api::OllamaGenerate | Api::OllamaEmbed => ollama::response(&v),
    })
}

/// A reassembled event stream. Events that are not JSON are skipped and counted in
/// `bad_events`; a stream without a single event of the API is [`ProviderError::BadStream`].
pub fn parse_stream(api: Api, events: &[SseEvent]) -> Result<ResponseInfo, ProviderError> {
    match api {
        Api::OpenAiChat => openai::stream(events),
        Api::OpenAiResponses => openai_responses::stream(events),
        // Embeddings are never streamed: a stream is read as the JSON body it should be.
        Api::OpenAiEmbeddings => Err(ProviderError::BadStream(
            "embeddings are not streamed".into(),
        )),
        Api::AnthropicMessages => anthropic::stream(events),
        Api::GeminiGenerate => gemini::stream(events),
        Api::GeminiEmbed => Err(ProviderError::BadStream(
            "embeddings are not streamed".into(),
        )),
        // Bedrock streams in AWS's binary framing: [`read_response`] reads it.
        Api::BedrockConverse | Api::BedrockInvoke(_) => Err(ProviderError::BadStream(
            "Bedrock does not send server-sent events".into(),
        )),
        // Ollama streams newline-delimited JSON: [`parse_ndjson`] reads it.
        Api::OllamaChat | Api::OllamaGenerate | Api::OllamaEmbed => Err(ProviderError::BadStream(
            "Ollama does not send server-sent events".into(),
        )),
    }
}

/// A reassembled newline-delimited JSON stream (Ollama's), one JSON text per line. Lines
/// that are not the API's JSON are skipped and counted in `bad_events`.
pub fn parse_ndjson(api: Api, lines: &[Vec<u8>]) -> Result<ResponseInfo, ProviderError> {
    match api {
        Api::OllamaChat | Api::OllamaGenerate | Api::OllamaEmbed => ollama::stream(lines),
        _ => Err(ProviderError::BadStream(
            "a newline-delimited JSON stream from an API that sends none".into(),
        )),
    }
}

/// A reassembled AWS event stream (Bedrock's ConverseStream, InvokeModelWithResponseStream).
/// Messages that are not the API's JSON are skipped and counted in `bad_events`.
pub fn parse_aws_event_stream(
    api: Api,
    msgs: &[eventstream::Message],
) -> Result<ResponseInfo, ProviderError> {
    match api {
        Api::BedrockConverse => bedrock::converse_stream(msgs),
        Api::BedrockInvoke(f) => bedrock::invoke_stream(f, msgs),
        _ => Err(ProviderError::BadStream(
            "an AWS event stream from an API that sends none".into(),
        )),
    }
}

/// How a response body is framed, by its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// One JSON document (or anything else: the adapter says whether it is the API's).
    Json,
    /// `text/event-stream`: server-sent events.
    Sse,
    /// `application/vnd.amazon.eventstream`: AWS's binary event stream (Bedrock).
    AwsEventStream,
    /// `application/x-ndjson` (also `application/ndjson`, `application/jsonl`):
    /// newline-delimited JSON (Ollama).
    Ndjson,
}

pub fn body_format(head: &Head) -> BodyFormat {
    let ct = head.header("content-type").unwrap_or("").trim_start();
    let is = |prefix: &str| {
        ct.get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    if is("text/event-stream") {
        BodyFormat::Sse
    } else if is("application/vnd.amazon.eventstream") {
        BodyFormat::AwsEventStream
    } else if [
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
    ]
    .into_iter()
    .any(is)
    {
        BodyFormat::Ndjson
    } else {
        BodyFormat::Json
    }
}

/// The response is a stream of events (server-sent, AWS's binary ones, or JSON lines).
pub fn is_event_stream(head: &Head) -> bool {
    body_format(head) != BodyFormat::Json
}

/// A whole response body (content coding undone), however it is framed: what the response
/// says, with what the API puts in the head (Bedrock's error kind and token counts). An empty
/// body says nothing, and is no error.
pub fn read_response(api: Api, head: &Head, body: &[u8]) -> Result<ResponseInfo, ProviderError> {
    let mut r = if body.is_empty() {
        ResponseInfo::default()
    } else {
        match body_format(head) {
            BodyFormat::Json => parse_response(api, body)?,
            BodyFormat::Sse => parse_stream(api, &sse::parse_all(body))?,
            BodyFormat::AwsEventStream => {
                let (msgs, stats) = eventstream::parse_all(body);
                let mut r = parse_aws_event_stream(api, &msgs)?;
                // Counted as the SSE adapters count events that are not the API's JSON.
                let truncated = stats.lost_sync || stats.truncated_bytes > 0;
                r.bad_events += stats.bad_messages + stats.oversized + u32::from(truncated);
                r
            }
            BodyFormat::Ndjson => parse_ndjson(api, &ndjson::parse_all(body))?,
        }
    };
    if matches!(api, Api::BedrockConverse | Api::BedrockInvoke(_)) {
        bedrock::apply_headers(&mut r, head);
    }
    Ok(r)
}

/// The JSON of each event of a stream, skipping empty events and OpenAI's `[DONE]`; events
/// that are not JSON (a stream cut by a capture gap ends in one) are counted in `bad`.
fn json_events<'a>(
    events: &'a [SseEvent],
    bad: &'a mut u32,
) -> impl Iterator<Item = (&'a SseEvent, serde_json::Value)> + 'a {
    events.iter().filter_map(move |ev| {
        let data = ev.data.trim();
        if data.is_empty() || data == "[DONE]" {
            return None;
        }
        match serde_json::from_str(data) {
            Ok(v) => Some((ev, v)),
            Err(_) => {
                *bad += 1;
                None
            }
        }
    })
}

/// The end of reading a stream: events that were not JSON are counted, and a stream in which
/// not one event of the API came (`first`, the event it starts with), nor an error, is not
/// this API's stream.
fn end_stream(
    mut r: ResponseInfo,
    bad: u32,
    seen: bool,
    first: &str,
) -> Result<ResponseInfo, ProviderError> {
    r.bad_events += bad;
    if !seen && r.error.is_empty() {
        return Err(ProviderError::BadStream(format!(
            "no {first} in the stream"
        )));
    }
    Ok(r)
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

/// The `error` object of an API error body: its type, else its code, else its message (some
/// OpenAI-compatible servers send `"error": "text"`).
fn error_of(v: &serde_json::Value) -> String {
    let e = &v["error"];
    if e.is_null() {
        return String::new();
    }
    if let Some(s) = e.as_str() {
        return if s.is_empty() { "error" } else { s }.to_string();
    }
    [&e["type"], &e["code"], &e["message"]]
        .iter()
        .find_map(|f| f.as_str().filter(|s| !s.is_empty()))
        .unwrap_or("error")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(headers: &[(&str, &str)]) -> Head {
        Head {
            method: "POST".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    fn det(host: &str, path: &str) -> Option<(String, Api)> {
        detect(host, "POST", path, &head(&[]), &[]).map(|d| (d.provider, d.api))
    }

    #[test]
    fn providers_by_host_and_apis_by_path() {
        let chat = "/v1/chat/completions";
        for (host, provider) in [
            ("api.openai.com", "openai"),
            ("api.anthropic.com", "anthropic"),
            ("api.mistral.ai", "mistral_ai"),
            ("api.x.ai", "x_ai"),
            ("api.deepseek.com", "deepseek"),
            ("api.groq.com", "groq"),
            ("openrouter.ai", "openrouter"),
            ("api.together.xyz", "together_ai"),
            ("api.fireworks.ai", "fireworks"),
            ("api.perplexity.ai", "perplexity"),
            ("llm.internal", "unknown"),
        ] {
            assert_eq!(
                det(host, chat),
                Some((provider.to_string(), Api::OpenAiChat)),
                "{host}"
            );
        }
        assert_eq!(
            det("api.groq.com", "/openai/v1/chat/completions?x=1"),
            Some(("groq".into(), Api::OpenAiChat))
        );
        assert_eq!(
            det("api.anthropic.com", "/v1/messages?beta=true"),
            Some(("anthropic".into(), Api::AnthropicMessages))
        );
        // Not API calls: other paths, other methods, token counting.
        assert_eq!(det("api.openai.com", "/v1/models"), None);
        assert_eq!(det("api.anthropic.com", "/v1/messages/count_tokens"), None);
        assert_eq!(det("example.com", "/chat/completions/x"), None);
        assert!(detect(
            "api.openai.com",
            "GET",
            "/v1/chat/completions",
            &head(&[]),
            &[]
        )
        .is_none());
        // Responses and embeddings: any path of a known host, only the API's own paths on
        // others (`/responses` is a common word).
        for (host, path, api) in [
            (
                "api.openai.com",
                "/v1/responses",
                Some(Api::OpenAiResponses),
            ),
            ("api.x.ai", "/v1/responses", Some(Api::OpenAiResponses)),
            ("llm.internal", "/v1/responses", Some(Api::OpenAiResponses)),
            (
                "res.openai.azure.com",
                "/openai/v1/responses",
                Some(Api::OpenAiResponses),
            ),
            (
                "res.openai.azure.com",
                "/openai/responses",
                Some(Api::OpenAiResponses),
            ),
            ("llm.internal", "/api/responses", None),
            ("forms.example", "/survey/responses", None),
            (
                "api.openai.com",
                "/v1/embeddings",
                Some(Api::OpenAiEmbeddings),
            ),
            (
                "api.mistral.ai",
                "/v1/embeddings",
                Some(Api::OpenAiEmbeddings),
            ),
            (
                "llm.internal",
                "/v1/embeddings",
                Some(Api::OpenAiEmbeddings),
            ),
            ("search.example", "/embeddings", None),
        ] {
            assert_eq!(det(host, path).map(|d| d.1), api, "{host}{path}");
        }
        assert_eq!(
            detect("api.openai.com", "POST", "/v1/embeddings", &head(&[]), &[])
                .unwrap()
                .operation,
            "embeddings"
        );
        // An unknown host speaks Anthropic only if it says so.
        assert_eq!(det("gateway.local", "/v1/messages"), None);
        let h = head(&[("anthropic-version", "2023-06-01")]);
        assert_eq!(
            detect("gateway.local", "POST", "/v1/messages", &h, &[]).map(|d| d.provider),
            Some("unknown".into())
        );
    }

    #[test]
    fn gemini_is_known_by_its_path_and_vertex_ai_by_its_regional_hosts() {
        let path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
        let d = detect(
            "generativelanguage.googleapis.com",
            "POST",
            path,
            &head(&[]),
            &[],
        )
        .unwrap();
        assert_eq!(
            (d.provider.as_str(), d.api, d.operation, d.stream_from_path),
            ("gcp.gemini", Api::GeminiGenerate, "generate_content", true)
        );
        let body = br#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#;
        let info = parse_request_for(&d, body).unwrap();
        assert_eq!(
            (info.model.as_str(), info.stream),
            ("gemini-2.5-flash", true)
        );

        let vertex = "/v1/projects/p/locations/europe-west4/publishers/google/models/gemini-2.5-pro:generateContent";
        for (host, provider) in [
            (
                "europe-west4-aiplatform.googleapis.com",
                Some("gcp.vertex_ai"),
            ),
            ("aiplatform.googleapis.com", Some("gcp.vertex_ai")),
            ("llm-proxy.internal", Some("unknown")),
        ] {
            let d = detect(host, "POST", vertex, &head(&[]), &[]);
            assert_eq!(d.as_ref().map(|d| d.provider.as_str()), provider, "{host}");
            assert!(!d.unwrap().stream_from_path);
        }
        assert_eq!(
            provider_of("aiplatform.googleapis.com.evil.example", &[]),
            None
        );
        assert_eq!(provider_of("x.aiplatform.googleapis.com", &[]), None);

        let d = detect(
            "generativelanguage.googleapis.com",
            "POST",
            "/v1beta/models/gemini-embedding-001:batchEmbedContents",
            &head(&[]),
            &[],
        )
        .unwrap();
        assert_eq!((d.api, d.operation), (Api::GeminiEmbed, "embeddings"));
        assert_eq!(
            det(
                "generativelanguage.googleapis.com",
                "/v1beta/models/x:countTokens"
            ),
            None
        );
    }

    #[test]
    fn bedrock_by_its_regional_hosts_or_its_signature() {
        let path = "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream";
        for host in [
            "bedrock-runtime.us-east-1.amazonaws.com",
            "Bedrock-Runtime.EU-West-3.amazonaws.com",
            "bedrock-runtime-fips.us-gov-west-1.amazonaws.com",
            "bedrock-runtime.cn-north-1.amazonaws.com.cn",
        ] {
            let d = detect(host, "POST", path, &head(&[]), &[]).expect(host);
            assert_eq!(d.provider, "aws.bedrock", "{host}");
            assert_eq!(
                (d.api, d.operation, d.stream_from_path),
                (Api::BedrockConverse, "chat", true)
            );
            assert_eq!(
                d.model_from_path.as_deref(),
                Some("anthropic.claude-3-5-sonnet-20241022-v2:0")
            );
        }
        for host in [
            "bedrock-runtime.amazonaws.com",
            "x.bedrock-runtime.us-east-1.amazonaws.com",
            "bedrock-runtime.a.b.amazonaws.com",
            "bedrock.us-east-1.amazonaws.com",
        ] {
            assert_eq!(provider_of(host, &[]), None, "{host}");
        }
        // Elsewhere `/model/.../invoke` is Bedrock only if the request is signed for it.
        let invoke = "/model/meta.llama3-70b-instruct-v1%3A0/invoke";
        assert_eq!(det("vpce-1.bedrock.example", invoke), None);
        let signed = head(&[(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAE2ETESTKEY000000/20261202/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00",
        )]);
        let d = detect("vpce-1.bedrock.example", "POST", invoke, &signed, &[]).unwrap();
        assert_eq!(
            (d.provider.as_str(), d.api),
            ("unknown", Api::BedrockInvoke(InvokeFamily::Llama))
        );
        let body = br#"{"prompt":"hi"}"#;
        let info = parse_request_for(&d, body).unwrap();
        assert_eq!(
            (info.model.as_str(), info.stream),
            ("meta.llama3-70b-instruct-v1:0", false)
        );
    }

    #[test]
    fn responses_are_read_by_their_content_type() {
        let h = |ct: &str| head(&[("content-type", ct)]);
        assert_eq!(
            body_format(&h("application/vnd.amazon.eventstream")),
            BodyFormat::AwsEventStream
        );
        assert_eq!(body_format(&h("text/event-stream")), BodyFormat::Sse);
        assert_eq!(body_format(&h("application/json")), BodyFormat::Json);
        assert_eq!(body_format(&h("text/é")), BodyFormat::Json);
        let sse = b"event: message_stop\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n";
        let r = read_response(Api::AnthropicMessages, &h("text/event-stream"), sse).unwrap();
        assert_eq!(r.response_id, "m");
        // An AWS event stream only from Bedrock, and a cut one is counted.
        let es = h("application/vnd.amazon.eventstream");
        assert!(read_response(Api::OpenAiChat, &es, b"\0\0\0\0").is_err());
        let start = eventstream::encode(
            &[(
                ":event-type",
                eventstream::HeaderValue::String("messageStart".into()),
            )],
            b"{}",
        );
        let r = read_response(Api::BedrockConverse, &es, &start[..start.len() - 1]);
        assert!(r.is_err(), "nothing whole");
        let mut two = start.clone();
        two.extend_from_slice(&start[..20]);
        assert_eq!(
            read_response(Api::BedrockConverse, &es, &two)
                .unwrap()
                .bad_events,
            1
        );
        assert_eq!(
            read_response(Api::BedrockInvoke(InvokeFamily::Anthropic), &es, b"").unwrap(),
            ResponseInfo::default()
        );
    }

    #[test]
    fn ollama_by_its_paths_on_its_port_or_known_hosts_else_by_a_body_naming_a_model() {
        let d = |host_header: &str, path: &str, map: &[(String, String)]| {
            let h = head(&[("host", host_header)]);
            let host = host_header.rsplit_once(':').map_or(host_header, |(h, _)| h);
            let host = host.trim_start_matches('[').trim_end_matches(']');
            detect(host, "POST", path, &h, map)
        };
        for (path, api, op) in [
            ("/api/chat", Api::OllamaChat, "chat"),
            ("/api/generate", Api::OllamaGenerate, "text_completion"),
            ("/api/embed", Api::OllamaEmbed, "embeddings"),
            ("/api/embeddings", Api::OllamaEmbed, "embeddings"),
        ] {
            let got = d("localhost:11434", path, &[]).unwrap();
            assert_eq!(
                (
                    got.provider.as_str(),
                    got.api,
                    got.operation,
                    got.generic_path
                ),
                ("ollama", api, op, false),
                "{path}"
            );
        }
        assert!(!d("[::1]:11434", "/api/chat", &[]).unwrap().generic_path);
        assert!(!d("ollama.com", "/api/chat", &[]).unwrap().generic_path);
        let map = vec![("gpu-box.lan".to_string(), "ollama".to_string())];
        let known = d("gpu-box.lan:8080", "/api/generate", &map).unwrap();
        assert_eq!(
            (known.provider.as_str(), known.generic_path),
            ("ollama", false)
        );
        // Elsewhere a common word: reported, as `ollama`, only if the body names a model.
        let web = d("chat.example:8443", "/api/chat", &[]).unwrap();
        assert_eq!((web.provider.as_str(), web.generic_path), ("ollama", true));
        let info = |body: &[u8]| parse_request_for(&web, body).ok();
        assert!(!confirmed(&web, None));
        assert!(!confirmed(&web, info(br#"{"text":"hi"}"#).as_ref()));
        assert!(!confirmed(&web, info(b"room=1&msg=hi").as_ref()));
        assert!(confirmed(&web, info(br#"{"model":"llama3.2"}"#).as_ref()));
        assert!(confirmed(
            &d("localhost:11434", "/api/chat", &[]).unwrap(),
            None
        ));
        // Not Ollama's: other paths, other methods.
        assert!(d("localhost:11434", "/api/tags", &[]).is_none());
        assert!(d("localhost:11434", "/api/chat/x", &[]).is_none());
        let h = head(&[("host", "localhost:11434")]);
        assert!(detect("localhost", "GET", "/api/chat", &h, &[]).is_none());
        // Ollama's port is Ollama's for its OpenAI-compatible API too.
        let compat = d("localhost:11434", "/v1/chat/completions", &[]).unwrap();
        assert_eq!(
            (compat.provider.as_str(), compat.api),
            ("ollama", Api::OpenAiChat)
        );
        let compat = d("127.0.0.1:11434", "/v1/embeddings", &[]).unwrap();
        assert_eq!(
            (compat.provider.as_str(), compat.generic_path),
            ("ollama", false)
        );
        let mine = vec![("localhost".to_string(), "my-llm".to_string())];
        assert_eq!(
            d("localhost:11434", "/api/chat", &mine).unwrap().provider,
            "my-llm"
        );
        assert_eq!(
            d("localhost:8000", "/v1/chat/completions", &[])
                .unwrap()
                .provider,
            "unknown"
        );
        // The generic OpenAI paths are unchanged: known hosts vouch, others need a model.
        let oa = detect("llm.internal", "POST", "/v1/responses", &head(&[]), &[]).unwrap();
        assert!(oa.generic_path && !confirmed(&oa, None));
        let oa = detect("api.openai.com", "POST", "/v1/responses", &head(&[]), &[]).unwrap();
        assert!(!oa.generic_path);
    }

    #[test]
    fn json_lines_by_their_content_types() {
        let h = |ct: &str| head(&[("content-type", ct)]);
        for ct in [
            "application/x-ndjson",
            "Application/NDJSON; charset=utf-8",
            "application/jsonl",
        ] {
            assert_eq!(body_format(&h(ct)), BodyFormat::Ndjson, "{ct}");
            assert!(is_event_stream(&h(ct)));
        }
        assert_eq!(
            body_format(&h("application/json; charset=utf-8")),
            BodyFormat::Json
        );
        let body =
            b"{\"model\":\"m\",\"response\":\"hi\"}\r\n{\"done\":true,\"done_reason\":\"stop\"}";
        let r = read_response(Api::OllamaGenerate, &h("application/x-ndjson"), body).unwrap();
        assert_eq!((r.completion.as_str(), r.finish_reasons.len()), ("hi", 1));
        // Only Ollama sends them.
        assert!(read_response(Api::OpenAiChat, &h("application/x-ndjson"), body).is_err());
    }

    #[test]
    fn the_users_host_map_comes_first() {
        let map = vec![
            ("api.openai.com".to_string(), "my-proxy".to_string()),
            ("*.LiteLLM.corp".to_string(), "litellm".to_string()),
        ];
        let d = |host: &str| {
            detect(host, "post", "/chat/completions", &head(&[]), &map).map(|d| d.provider)
        };
        assert_eq!(d("api.openai.com"), Some("my-proxy".into()));
        assert_eq!(d("eu.litellm.corp"), Some("litellm".into()));
        assert_eq!(
            d("litellm.corp"),
            Some("unknown".into()),
            "*. needs a sub-domain"
        );
        assert_eq!(d("xlitellm.corp"), Some("unknown".into()));
    }

    #[test]
    fn azure_names_the_model_in_the_path() {
        let path = "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21";
        let d = detect("myres.openai.azure.com", "POST", path, &head(&[]), &[]).unwrap();
        assert_eq!(d.provider, "azure.ai.openai");
        assert_eq!(d.model_from_path.as_deref(), Some("gpt4o-prod"));
        let body = br#"{"messages":[{"role":"user","content":"hi"}]}"#;
        assert_eq!(parse_request_for(&d, body).unwrap().model, "gpt4o-prod");
        let body = br#"{"model":"gpt-4o","messages":[]}"#;
        assert_eq!(parse_request_for(&d, body).unwrap().model, "gpt-4o");
        assert_eq!(
            det("openai.azure.com", "/openai/deployments/x/chat/completions"),
            Some(("unknown".into(), Api::OpenAiChat))
        );
        assert_eq!(
            azure_deployment("/openai/deployments//chat/completions"),
            None
        );
        let path = "/openai/deployments/embed-prod/embeddings?api-version=2024-10-21";
        let d = detect("myres.openai.azure.com", "POST", path, &head(&[]), &[]).unwrap();
        assert_eq!((d.api, d.operation), (Api::OpenAiEmbeddings, "embeddings"));
        assert_eq!(d.model_from_path.as_deref(), Some("embed-prod"));
    }

    #[test]
    fn event_streams_by_content_type() {
        assert!(is_event_stream(&head(&[(
            "content-type",
            "Text/Event-Stream; charset=utf-8"
        )])));
        assert!(!is_event_stream(&head(&[(
            "content-type",
            "application/json"
        )])));
        assert!(!is_event_stream(&head(&[])));
    }

    #[test]
    fn bad_bodies_are_errors_and_odd_ones_are_tolerated() {
        for api in Api::ALL {
            assert!(matches!(
                parse_request(api, b"{\"model\":"),
                Err(ProviderError::BadJson(_))
            ));
            assert!(matches!(
                parse_response(api, b"<html>502</html>"),
                Err(ProviderError::BadJson(_))
            ));
            assert!(parse_stream(api, &[]).is_err());
            assert!(parse_ndjson(api, &[]).is_err());
            // Valid JSON of the wrong shape is no error: nothing is found in it.
            assert_eq!(
                parse_request(api, b"[1,2]").unwrap(),
                RequestInfo::default()
            );
            let r = parse_response(api, b"{\"usage\":7,\"choices\":{}}").unwrap();
            assert_eq!(r.usage, None);
            assert_eq!(
                parse_response(api, br#"{"error":"upstream timeout"}"#)
                    .unwrap()
                    .error,
                "upstream timeout"
            );
        }
    }
}
