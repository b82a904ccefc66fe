//! The `init_config` of the `aisensor` plugin. Falco prints its JSON schema
//! (`falco --plugin-info aisensor`) and unknown keys are rejected with a clear error.

use falco_plugin::schemars::JsonSchema;
use falco_plugin::serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[schemars(crate = "falco_plugin::schemars")]
#[serde(crate = "falco_plugin::serde", rename_all = "lowercase")]
pub enum Mode {
    /// Capture with the eBPF probe (needs root, or CAP_BPF + CAP_PERFMON).
    #[default]
    Live,
    /// Replay a recording made with `record_file` through the same pipeline (no privileges).
    Replay,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "falco_plugin::schemars")]
#[serde(crate = "falco_plugin::serde", deny_unknown_fields, default)]
pub struct Config {
    /// `live` (eBPF capture) or `replay` (read `replay_file`).
    pub mode: Mode,
    /// Recording to read in `replay` mode.
    pub replay_file: Option<String>,
    /// Also write the raw probe stream to this file, for replay later (live mode).
    pub record_file: Option<String>,
    /// Size of the kernel ring buffer in MiB (rounded up to a power of two).
    pub ring_buffer_mb: u32,
    /// Bytes captured per SSL_read/SSL_write call at most; the rest is counted as truncated.
    pub max_capture_bytes: u32,
    /// Extra libssl files or executables with OpenSSL linked in to probe.
    pub ssl_libraries: Vec<String>,
    /// Extra host → provider names, e.g. `{"llm.corp.example": "openai"}`; `*.suffix` matches
    /// sub-domains.
    pub host_providers: BTreeMap<String, String>,
    /// Put prompt and completion text into events (off: only metadata leaves the plugin).
    pub capture_content: bool,
    /// Events waiting for Falco at most; past it events are dropped and counted.
    pub queue_capacity: usize,
    /// Seconds after which a silent connection is forgotten.
    pub idle_timeout_s: u64,
    /// Connections tracked at most (the least recently used is evicted past it).
    pub max_connections: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            mode: Mode::Live,
            replay_file: None,
            record_file: None,
            ring_buffer_mb: 64,
            max_capture_bytes: 1 << 20,
            ssl_libraries: Vec::new(),
            host_providers: BTreeMap::new(),
            capture_content: false,
            queue_capacity: 65_536,
            idle_timeout_s: 300,
            max_connections: 16_384,
        }
    }
}

impl Config {
    /// Rejects values that cannot work, with a message that says what to change.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.mode == Mode::Replay && self.replay_file.is_none() {
            anyhow::bail!("init_config: mode \"replay\" needs \"replay_file\"");
        }
        if self.mode == Mode::Replay && self.record_file.is_some() {
            anyhow::bail!("init_config: \"record_file\" only applies to mode \"live\"");
        }
        if !(1..=4096).contains(&self.ring_buffer_mb) {
            anyhow::bail!("init_config: \"ring_buffer_mb\" must be 1..=4096");
        }
        if self.max_capture_bytes == 0 {
            anyhow::bail!("init_config: \"max_capture_bytes\" must be > 0");
        }
        if self.queue_capacity == 0 || self.max_connections == 0 {
            anyhow::bail!("init_config: \"queue_capacity\" and \"max_connections\" must be > 0");
        }
        Ok(())
    }

    pub fn pipeline(&self, wall_minus_mono_ns: i64) -> aisensor_decode::pipeline::Config {
        aisensor_decode::pipeline::Config {
            host_providers: self
                .host_providers
                .iter()
                .map(|(h, p)| (h.to_ascii_lowercase(), p.clone()))
                .collect(),
            capture_content: self.capture_content,
            idle_timeout_ns: self.idle_timeout_s.saturating_mul(1_000_000_000),
            max_connections: self.max_connections,
            wall_minus_mono_ns,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Config, String> {
        let c: Config = serde_json::from_str(s).map_err(|e| e.to_string())?;
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }

    #[test]
    fn empty_config_is_live_with_defaults() {
        let c = parse("{}").unwrap();
        assert_eq!(c.mode, Mode::Live);
        assert_eq!(c.max_capture_bytes, 1 << 20);
        assert!(!c.capture_content);
    }

    #[test]
    fn typos_and_impossible_values_are_rejected_with_the_key_named() {
        let e = parse(r#"{"ring_bufer_mb": 8}"#).unwrap_err();
        assert!(e.contains("ring_bufer_mb"), "{e}");
        let e = parse(r#"{"mode": "replay"}"#).unwrap_err();
        assert!(e.contains("replay_file"), "{e}");
        let e = parse(r#"{"mode": "sideways"}"#).unwrap_err();
        assert!(e.contains("sideways"), "{e}");
        assert!(parse(r#"{"ring_buffer_mb": 0}"#).is_err());
        assert!(parse(r#"{"max_capture_bytes": 0}"#).is_err());
    }

    #[test]
    fn host_providers_reach_the_pipeline_lower_cased() {
        let c = parse(r#"{"host_providers": {"LLM.Corp.Example": "openai"}, "idle_timeout_s": 2}"#)
            .unwrap();
        let p = c.pipeline(5);
        assert_eq!(
            p.host_providers,
            vec![("llm.corp.example".into(), "openai".into())]
        );
        assert_eq!(p.idle_timeout_ns, 2_000_000_000);
        assert_eq!(p.wall_minus_mono_ns, 5);
    }
}
