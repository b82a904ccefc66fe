//! The contract between the stages of aisensor, defined once:
//!
//! - [`raw`]: the records the eBPF probe writes to its ring buffer (mirrors `probe-ebpf/bpf/aisensor.h`);
//! - [`recording`]: the file format that stores a raw probe stream for offline replay;
//! - [`payload`]: the self-describing JSON payload of every Falco event of the `aisensor` source.

pub mod payload;
pub mod raw;
pub mod recording;

/// Name of the Falco event source produced by the `aisensor` plugin.
pub const EVENT_SOURCE: &str = "aisensor";

/// Falco plugin ID of `aisensor` (private range 1073741824–2147483647).
pub const PLUGIN_ID: u32 = 1_482_310_001;

pub use payload::{Payload, SCHEMA_VERSION};
