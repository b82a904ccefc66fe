//! What the AI APIs say inside HTTP messages: which provider and API an exchange is, and the
//! model, tools, tool calls, usage and text of its request and response.

pub mod anthropic;
pub mod openai;

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
