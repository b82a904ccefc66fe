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

/// The configuration in force: [`InitConfig`] with every key that was absent or `null` set to
/// its default.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "falco_plugin::serde", from = "InitConfig")]
pub struct Config {
    pub mode: Mode,
    pub replay_file: Option<String>,
    pub record_file: Option<String>,
    pub ring_buffer_mb: u32,
    pub max_capture_bytes: u32,
    pub ssl_libraries: Vec<String>,
    pub host_providers: BTreeMap<String, String>,
    pub capture_content: bool,
    pub queue_capacity: usize,
    pub idle_timeout_s: u64,
    pub max_connections: usize,
}

/// `init_config` as Falco hands it over. Every key may be left out or be `null`: Falco turns
/// an empty YAML map or list (`host_providers: {}`, `ssl_libraries: []`) and a key with no
/// value into JSON `null`, and validates what it passes against this schema first.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(crate = "falco_plugin::schemars", title = "aisensor init_config")]
#[serde(crate = "falco_plugin::serde", deny_unknown_fields)]
pub struct InitConfig {
    /// `live` (eBPF capture, the default) or `replay` (read `replay_file`).
    pub mode: Option<Mode>,
    /// Recording to read in `replay` mode.
    pub replay_file: Option<String>,
    /// Also write the raw probe stream to this file, for replay later (live mode).
    pub record_file: Option<String>,
    /// Size of the kernel ring buffer in MiB (rounded up to a power of two; default 64).
    pub ring_buffer_mb: Option<u32>,
    /// Bytes captured per SSL_read/SSL_write call at most (default 1048576); the rest is
    /// counted as truncated.
    pub max_capture_bytes: Option<u32>,
    /// Extra libssl files or executables with OpenSSL linked in to probe.
    pub ssl_libraries: Option<Vec<String>>,
    /// Extra host → provider names, e.g. `{"llm.corp.example": "openai"}`; `*.suffix` matches
    /// sub-domains.
    pub host_providers: Option<BTreeMap<String, String>>,
    /// Put prompt and completion text into events (default off: only metadata leaves the
    /// plugin).
    pub capture_content: Option<bool>,
    /// Events waiting for Falco at most (default 65536); past it events are dropped and
    /// counted.
    pub queue_capacity: Option<usize>,
    /// Seconds after which a silent connection is forgotten (default 300).
    pub idle_timeout_s: Option<u64>,
    /// Connections tracked at most (default 16384; the least recently used is evicted past
    /// it).
    pub max_connections: Option<usize>,
}

impl From<InitConfig> for Config {
    fn from(c: InitConfig) -> Config {
        let d = Config::default();
        Config {
            mode: c.mode.unwrap_or(d.mode),
            replay_file: c.replay_file.or(d.replay_file),
            record_file: c.record_file.or(d.record_file),
            ring_buffer_mb: c.ring_buffer_mb.unwrap_or(d.ring_buffer_mb),
            max_capture_bytes: c.max_capture_bytes.unwrap_or(d.max_capture_bytes),
            ssl_libraries: c.ssl_libraries.unwrap_or(d.ssl_libraries),
            host_providers: c.host_providers.unwrap_or(d.host_providers),
            capture_content: c.capture_content.unwrap_or(d.capture_content),
            queue_capacity: c.queue_capacity.unwrap_or(d.queue_capacity),
            idle_timeout_s: c.idle_timeout_s.unwrap_or(d.idle_timeout_s),
            max_connections: c.max_connections.unwrap_or(d.max_connections),
        }
    }
}

/// Falco reads the schema of what it passes: that of [`InitConfig`].
impl JsonSchema for Config {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        InitConfig::schema_name()
    }

    fn json_schema(
        generator: &mut falco_plugin::schemars::SchemaGenerator,
    ) -> falco_plugin::schemars::Schema {
        InitConfig::json_schema(generator)
    }
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

    /// What Falco 0.41–0.44 passes for `falco.yaml.example`'s `init_config`: its YAML-to-JSON
    /// conversion turns the empty `ssl_libraries: []` and `host_providers: {}` into `null`.
    const FALCO_EXAMPLE_JSON: &str = r#"{"capture_content":false,"host_providers":null,"idle_timeout_s":300,"max_capture_bytes":1048576,"mode":"live","queue_capacity":65536,"ring_buffer_mb":64,"ssl_libraries":null}"#;

    #[test]
    fn the_json_falco_makes_of_the_example_config_is_accepted() {
        let c = parse(FALCO_EXAMPLE_JSON).unwrap();
        assert_eq!(c.mode, Mode::Live);
        assert!(c.host_providers.is_empty());
        assert!(c.ssl_libraries.is_empty());
        assert_eq!(c.ring_buffer_mb, 64);
        // A key left without a value is null too: the default, not zero.
        let c = parse(r#"{"ring_buffer_mb": null, "queue_capacity": null, "mode": null}"#).unwrap();
        assert_eq!(c.ring_buffer_mb, 64);
        assert_eq!(c.queue_capacity, 65_536);
        assert_eq!(c.mode, Mode::Live);
    }

    /// Falco validates `init_config` against the schema before the plugin sees it: every key
    /// must allow `null`, and unknown keys must still be refused.
    #[test]
    fn the_schema_allows_null_everywhere_and_no_unknown_keys() {
        let schema = falco_plugin::schemars::schema_for!(Config);
        let v = serde_json::to_value(&schema).unwrap();
        assert_eq!(v["additionalProperties"], serde_json::json!(false), "{v:#}");
        let props = v["properties"].as_object().expect("properties");
        assert_eq!(props.len(), 11, "{v:#}");
        for (key, prop) in props {
            let text = prop.to_string();
            let nullable = text.contains(r#""null""#)
                || prop["anyOf"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|s| s["type"] == "null"));
            assert!(nullable, "{key} does not accept null: {prop}");
        }
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
