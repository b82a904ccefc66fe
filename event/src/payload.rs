//! The payload of every Falco event of the `aisensor` source: one self-describing JSON object.
//!
//! Extraction depends on nothing but this payload, so a `.scap` replay gives the same fields
//! as live capture. Names follow the OpenTelemetry GenAI conventions where one exists
//! (provider values of `gen_ai.provider.name`, `usage.input`/`output` tokens).
//! Adding an optional field is compatible; renaming or removing one bumps [`SCHEMA_VERSION`].

use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: u32 = 1;

/// Event kinds (`ai.kind`).
pub mod kind {
    pub const AI_REQUEST: &str = "ai.request";
    pub const AI_RESPONSE: &str = "ai.response";
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    pub v: u32,
    pub kind: String,
    /// Wall-clock nanoseconds since the Unix epoch when the thing happened.
    pub ts: u64,
    /// Identifies one request/response exchange; the `ai.request` and `ai.response` of one
    /// exchange carry the same id.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub exchange_id: u64,
    pub proc: Proc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn: Option<Conn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<Http>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai: Option<Ai>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// Credentials seen in the exchange, reduced to kind and fingerprint: never the secret.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<Credential>,
    /// Keys and private keys found in the request body, i.e. sent to the model (source
    /// `request_body`), reduced the same way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Credential>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// The process that made the call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Proc {
    pub pid: u32,
    #[serde(default)]
    pub tid: u32,
    #[serde(default)]
    pub ppid: u32,
    /// Command name (`comm`), as the kernel reports it.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub exe: String,
    #[serde(default)]
    pub cmdline: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conn {
    /// TLS library the plaintext was read from (`openssl`).
    pub tls_lib: String,
    /// Server host name as the client named it (HTTP `Host`), without the port.
    #[serde(default)]
    pub server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `1.1` or `2`.
    pub http_version: String,
    /// The `SSL*` pointer, hex: with `proc.pid`, identifies the connection.
    #[serde(default)]
    pub id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Http {
    pub method: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Bytes of the request on the wire (head and framed body).
    pub request_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Bytes of the response on the wire (head and framed body).
    pub response_bytes: Option<u64>,
    /// The client's `User-Agent`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user_agent: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ai {
    /// `gen_ai.provider.name`: `openai`, `anthropic`, `azure.ai.openai`, ...
    pub provider: String,
    /// `chat` for chat completions and messages; `embeddings`, ... later.
    pub operation: String,
    /// The model the request asked for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// The model the response says answered.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub response_model: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub response_id: String,
    #[serde(default)]
    pub stream: bool,
    /// Names of the tools the request offered to the model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools_declared: Vec<String>,
    /// Tool calls the model asked for, in order (arguments joined when streamed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finish_reasons: Vec<String>,
    /// Request fully sent to response fully received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ns: Option<u64>,
    /// Request fully sent to first response byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ns: Option<u64>,
    /// The API reported an error (`error.type` of the body, or the HTTP status class).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    #[serde(default)]
    pub id: String,
    pub name: String,
    /// The arguments as the model wrote them (a JSON text).
    #[serde(default)]
    pub arguments: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    #[serde(default)]
    pub cache_read: u64,
    #[serde(default)]
    pub cache_write: u64,
    #[serde(default)]
    pub reasoning: u64,
}

/// Message text, only when the source plugin is configured to capture content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Content {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prompt: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub completion: String,
}

/// A credential seen in an exchange, reduced to what is safe to show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// Where it was: `authorization`, `x-api-key`, ...
    pub source: String,
    /// What it looks like: `openai_api_key`, `anthropic_api_key`, `bearer`, ...
    pub kind: String,
    /// First 12 hex digits of its SHA-256: tells keys apart without revealing them.
    pub fingerprint: String,
}

impl Payload {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("payload types always serialize")
    }

    pub fn from_json(bytes: &[u8]) -> serde_json::Result<Self> {
        serde_json::from_slice(bytes)
    }
}
