//! Everything between a probe record and an event payload, with no I/O: bytes in, values out.
//!
//! - [`decode`]: wire formats (HTTP/1.1 messages, HTTP/2 frames and HPACK, content encodings,
//!   server-sent events, AWS event streams, newline-delimited JSON);
//! - [`providers`]: what the AI APIs say inside those messages (OpenAI, Anthropic, Gemini,
//!   Bedrock, Ollama);
//! - [`secrets`]: credentials reduced to a kind and a fingerprint;
//! - [`pipeline`]: per-connection streams, request/response correlation, event building.

pub mod decode;
pub mod pipeline;
pub mod providers;
pub mod secrets;
