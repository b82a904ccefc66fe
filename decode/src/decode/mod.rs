//! Wire formats. Each decoder is a push parser: partial input is not an error.

pub mod encoding;
pub mod eventstream;
pub mod hpack;
pub mod http1;
pub mod http2;
pub mod ndjson;
pub mod sse;
