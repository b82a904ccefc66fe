//! Loads the built plugin `.so` files the way Falco does (dlopen + `plugin_*` symbols) into
//! `falco_plugin_runner`, the SDK's pure-Rust plugin host. Used by the CLI and the tests, so
//! both exercise exactly the files a user installs.

use anyhow::{anyhow, bail, Context, Result};
use falco_plugin::api::plugin_api;
use falco_plugin_runner::{CapturingPluginRunner, Event, ExtractedField, PluginRunner, ScapStatus};
use libloading::Library;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Resolves one symbol to its function pointer; absent symbols are `None` (optional
/// capabilities).
fn sym<T: Copy>(lib: &'static Library, name: &str) -> Option<T> {
    // SAFETY: the caller names the field the symbol is stored in, whose type is the
    // symbol's C signature in the plugin API header.
    unsafe { lib.get::<T>(name.as_bytes()).ok().map(|s| *s) }
}

/// Loads a plugin library and returns its API table. The library stays loaded for the life
/// of the process (the runner keeps `'static` pointers into it).
pub fn load_plugin(path: &Path) -> Result<&'static plugin_api> {
    // SAFETY: loading a plugin runs its initialisers; these are our own plugin crates.
    let lib = unsafe { Library::new(path) }
        .with_context(|| format!("cannot load plugin {}", path.display()))?;
    let lib: &'static Library = Box::leak(Box::new(lib));
    // SAFETY: plugin_api is a C struct of nullable function pointers: all-zero is valid.
    let mut api: plugin_api = unsafe { std::mem::zeroed() };
    api.get_required_api_version = sym(lib, "plugin_get_required_api_version");
    api.get_init_schema = sym(lib, "plugin_get_init_schema");
    api.init = sym(lib, "plugin_init");
    api.destroy = sym(lib, "plugin_destroy");
    api.get_last_error = sym(lib, "plugin_get_last_error");
    api.get_name = sym(lib, "plugin_get_name");
    api.get_description = sym(lib, "plugin_get_description");
    api.get_contact = sym(lib, "plugin_get_contact");
    api.get_version = sym(lib, "plugin_get_version");
    let s = &mut api.__bindgen_anon_1;
    s.get_id = sym(lib, "plugin_get_id");
    s.get_event_source = sym(lib, "plugin_get_event_source");
    s.open = sym(lib, "plugin_open");
    s.close = sym(lib, "plugin_close");
    s.list_open_params = sym(lib, "plugin_list_open_params");
    s.get_progress = sym(lib, "plugin_get_progress");
    s.event_to_string = sym(lib, "plugin_event_to_string");
    s.next_batch = sym(lib, "plugin_next_batch");
    let e = &mut api.__bindgen_anon_2;
    e.get_extract_event_types = sym(lib, "plugin_get_extract_event_types");
    e.get_extract_event_sources = sym(lib, "plugin_get_extract_event_sources");
    e.get_fields = sym(lib, "plugin_get_fields");
    e.extract_fields = sym(lib, "plugin_extract_fields");
    let p = &mut api.__bindgen_anon_3;
    p.get_parse_event_types = sym(lib, "plugin_get_parse_event_types");
    p.get_parse_event_sources = sym(lib, "plugin_get_parse_event_sources");
    p.parse_event = sym(lib, "plugin_parse_event");
    let a = &mut api.__bindgen_anon_4;
    a.get_async_event_sources = sym(lib, "plugin_get_async_event_sources");
    a.get_async_events = sym(lib, "plugin_get_async_events");
    a.set_async_event_handler = sym(lib, "plugin_set_async_event_handler");
    a.dump_state = sym(lib, "plugin_dump_state");
    api.set_config = sym(lib, "plugin_set_config");
    api.get_metrics = sym(lib, "plugin_get_metrics");
    let l = &mut api.__bindgen_anon_5;
    l.capture_open = sym(lib, "plugin_capture_open");
    l.capture_close = sym(lib, "plugin_capture_close");
    if api.init.is_none() || api.get_name.is_none() {
        bail!("{} is not a Falco plugin (no plugin_init)", path.display());
    }
    Ok(Box::leak(Box::new(api)))
}

/// Where the plugin libraries are: `$AISENSOR_PLUGIN_DIR`, else next to the running binary
/// (`target/<profile>/` or its `deps/`).
pub fn plugin_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("AISENSOR_PLUGIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    for _ in 0..2 {
        if dir.join("libaisensor.so").exists() {
            return Ok(dir);
        }
        if !dir.pop() {
            break;
        }
    }
    bail!(
        "libaisensor.so not found next to {} (build with `cargo build --release`, or set AISENSOR_PLUGIN_DIR)",
        exe.display()
    )
}

/// Both plugins, started: `aisensor` with `config` (its init_config JSON), and `aifields`.
pub struct Host {
    runner: CapturingPluginRunner,
}

/// What `next` found.
pub enum Next {
    /// An event. Its buffer belongs to the source plugin's current batch: use it (extract,
    /// copy) before calling `next` again, as Falco does.
    Event(Event),
    /// Nothing yet.
    Timeout,
    /// The source has ended (a recording is over).
    Eof,
}

/// An event copied out of the plugin's batch, with the fields asked for.
#[derive(Debug, Clone)]
pub struct Record {
    /// Event timestamp (wall-clock ns) as the source plugin set it.
    pub ts: u64,
    /// The payload JSON.
    pub payload: Vec<u8>,
    /// Field name → value as Falco renders it (`<NA>` when absent).
    pub fields: Vec<(String, String)>,
}

impl Record {
    pub fn get(&self, field: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| n == field)
            .map(|(_, v)| v.as_str())
            .unwrap_or("<field not extracted>")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).unwrap_or(serde_json::Value::Null)
    }
}

impl Host {
    pub fn start(dir: &Path, config: &str) -> Result<Host> {
        let source = load_plugin(&dir.join("libaisensor.so"))?;
        let extract = load_plugin(&dir.join("libaifields.so"))?;
        let mut runner = PluginRunner::new();
        let config = CString::new(config).context("config contains NUL")?;
        runner
            .register_plugin(source, &config)
            .context("aisensor init failed")?;
        runner
            .register_plugin(extract, c"{}")
            .context("aifields init failed")?;
        let runner = runner.start_capture().context("aisensor open failed")?;
        Ok(Host { runner })
    }

    pub fn next_event(&mut self) -> Result<Next> {
        match self.runner.next_event() {
            Ok(ev) => Ok(Next::Event(ev)),
            Err(e) => match e.downcast_ref::<ScapStatus>() {
                Some(ScapStatus::Timeout) => Ok(Next::Timeout),
                Some(ScapStatus::Eof) => Ok(Next::Eof),
                _ => Err(e),
            },
        }
    }

    /// Copies an event out, with `fields` extracted.
    pub fn record(&mut self, ev: &Event, fields: &[&str]) -> Result<Record> {
        let (payload, ts) = payload(ev);
        let payload = payload.to_vec();
        let mut values = Vec::with_capacity(fields.len());
        for f in fields {
            values.push((f.to_string(), self.field(ev, f)?));
        }
        Ok(Record {
            ts,
            payload,
            fields: values,
        })
    }

    /// Reads events until `enough` says so (it sees each new record once), the source
    /// ends, or `timeout` passes.
    pub fn collect(
        &mut self,
        timeout: Duration,
        fields: &[&str],
        mut enough: impl FnMut(&Record) -> bool,
    ) -> Result<Vec<Record>> {
        let start = Instant::now();
        let mut records = Vec::new();
        while start.elapsed() < timeout {
            match self.next_event()? {
                Next::Event(ev) => {
                    let r = self.record(&ev, fields)?;
                    let stop = enough(&r);
                    records.push(r);
                    if stop {
                        break;
                    }
                }
                Next::Timeout => {}
                Next::Eof => break,
            }
        }
        Ok(records)
    }

    /// A field as Falco would render it (`<NA>` when absent).
    pub fn field(&mut self, ev: &Event, name: &str) -> Result<String> {
        match self.runner.extract_field(ev, name) {
            Some(Ok(v)) => Ok(v.to_string()),
            Some(Err(rc)) => Err(anyhow!("extracting {name} failed (rc {rc})")),
            None => Err(anyhow!("no plugin provides field {name}")),
        }
    }

    /// A field's raw value.
    pub fn extract(&mut self, ev: &Event, name: &str) -> Result<ExtractedField> {
        match self.runner.extract_field(ev, name) {
            Some(Ok(v)) => Ok(v),
            Some(Err(rc)) => Err(anyhow!("extracting {name} failed (rc {rc})")),
            None => Err(anyhow!("no plugin provides field {name}")),
        }
    }

    /// Plugin metrics by name.
    pub fn metrics(&mut self) -> Vec<(String, u64)> {
        self.runner
            .get_metrics()
            .into_iter()
            .map(|m| {
                let v = match m.value {
                    falco_plugin_runner::MetricValue::U64(v) => v,
                    falco_plugin_runner::MetricValue::U32(v) => v as u64,
                    falco_plugin_runner::MetricValue::I64(v) => v.max(0) as u64,
                    _ => 0,
                };
                (m.name, v)
            })
            .collect()
    }

    pub fn metric(&mut self, name: &str) -> Option<u64> {
        self.metrics()
            .into_iter()
            .find(|(n, _)| n == name || n.ends_with(&format!(".{name}")))
            .map(|(_, v)| v)
    }
}

/// Offset of the event data in a plugin event: the 26-byte event header, two u32 parameter
/// lengths, then the u32 plugin id.
const PLUGIN_EVENT_DATA: usize = 26 + 4 + 4 + 4;

/// The event's payload bytes (the JSON the source plugin wrote) and its timestamp.
fn payload(ev: &Event) -> (&[u8], u64) {
    // SAFETY: the runner's event buffer holds a complete event of `len` bytes.
    unsafe {
        let hdr = &*ev.buf;
        let len = hdr.len as usize;
        let base = ev.buf as *const u8;
        if len < PLUGIN_EVENT_DATA {
            return (&[], hdr.ts);
        }
        (
            std::slice::from_raw_parts(base.add(PLUGIN_EVENT_DATA), len - PLUGIN_EVENT_DATA),
            hdr.ts,
        )
    }
}
