//! The `ai.*` fields, read through the plugin ABI the way Falco reads them: a tiny in-test source
//! plugin emits `aisensor` events with the given payloads, and `falco_plugin_runner` asks
//! `aifields` for one field at a time. Payload JSON in, field values out.

use std::ffi::{CStr, CString};

use aifields::AiFields;
use falco_plugin::anyhow::{self, anyhow};
use falco_plugin::base::Plugin;
use falco_plugin::event::events::Event;
use falco_plugin::event::PluginEvent;
use falco_plugin::extract::ExtractPlugin;
use falco_plugin::source::{EventBatch, EventInput, SourcePlugin, SourcePluginInstance};
use falco_plugin::tables::TablesInput;
use falco_plugin::{static_plugin, FailureReason};
use falco_plugin_runner::{CapturingPluginRunner, ExtractedField, PluginRunner};

// ---------------------------------------------------------------------------------------------
// Payloads, as the source plugin writes them.

/// An OpenAI chat request from a Python agent, streamed, offering two tools.
const OPENAI_REQUEST: &str = r#"{
  "v": 1, "kind": "ai.request", "ts": 1763700000000000000, "exchange_id": 7,
  "proc": {"pid": 4242, "tid": 4250, "ppid": 4200, "name": "python3",
           "exe": "/usr/bin/python3.11", "cmdline": "python3 agent.py --task triage", "uid": 1000},
  "conn": {"tls_lib": "openssl", "server": "api.openai.com", "port": 443, "http_version": "1.1",
           "id": "0x55d0c0a1b2c0"},
  "http": {"method": "POST", "path": "/v1/chat/completions", "request_bytes": 1843,
           "user_agent": "OpenAI/Python 1.54.3"},
  "ai": {"provider": "openai", "operation": "chat", "model": "gpt-4o", "stream": true,
         "tools_declared": ["get_weather", "run_shell"]},
  "credentials": [{"source": "authorization", "kind": "openai_api_key", "fingerprint": "3f9a1c0b7d2e"}]
}"#;

/// The response to it: two tool calls, usage with cached input.
const OPENAI_RESPONSE: &str = r#"{
  "v": 1, "kind": "ai.response", "ts": 1763700000812000000, "exchange_id": 7,
  "proc": {"pid": 4242, "tid": 4250, "ppid": 4200, "name": "python3",
           "exe": "/usr/bin/python3.11", "cmdline": "python3 agent.py --task triage", "uid": 1000},
  "conn": {"tls_lib": "openssl", "server": "api.openai.com", "port": 443, "http_version": "1.1",
           "id": "0x55d0c0a1b2c0"},
  "http": {"method": "POST", "path": "/v1/chat/completions", "status": 200,
           "request_bytes": 1843, "response_bytes": 2210, "user_agent": "OpenAI/Python 1.54.3"},
  "ai": {"provider": "openai", "operation": "chat", "model": "gpt-4o",
         "response_model": "gpt-4o-2024-08-06", "response_id": "chatcmpl-AbC123", "stream": true,
         "tools_declared": ["get_weather", "run_shell"],
         "tool_calls": [
           {"id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
           {"id": "call_2", "name": "run_shell", "arguments": "{\"cmd\":\"cat /etc/passwd\"}"}],
         "usage": {"input": 120, "output": 18, "cache_read": 64, "cache_write": 0, "reasoning": 0},
         "finish_reasons": ["tool_calls"], "latency_ns": 812000000, "ttft_ns": 95000000},
  "credentials": [{"source": "authorization", "kind": "openai_api_key", "fingerprint": "3f9a1c0b7d2e"}]
}"#;

/// An Anthropic error response with captured content, and no tool calls.
const ANTHROPIC_ERROR: &str = r#"{
  "v": 1, "kind": "ai.response", "ts": 1763700001000000000, "exchange_id": 9,
  "proc": {"pid": 777, "name": "node", "exe": "/usr/bin/node", "cmdline": "node claude.js"},
  "conn": {"tls_lib": "openssl", "server": "api.anthropic.com", "http_version": "2", "id": "0x7f00"},
  "http": {"method": "POST", "path": "/v1/messages", "status": 529},
  "ai": {"provider": "anthropic", "operation": "chat", "model": "claude-sonnet-4-5",
         "error": "overloaded_error"},
  "content": {"prompt": "Summarise the incident", "completion": ""},
  "credentials": [
    {"source": "x-api-key", "kind": "anthropic_api_key", "fingerprint": "a1b2c3d4e5f6"},
    {"source": "authorization", "kind": "bearer", "fingerprint": "0badc0ffee00"}]
}"#;

// ---------------------------------------------------------------------------------------------

#[test]
fn request_fields() {
    let f = Fields::of(OPENAI_REQUEST);
    assert_eq!(f.get("ai.kind"), "ai.request");
    assert_eq!(f.get("ai.schema_version"), "1");
    assert_eq!(f.get("ai.exchange_id"), "7");
    assert_eq!(f.get("ai.provider"), "openai");
    assert_eq!(f.get("ai.operation"), "chat");
    assert_eq!(f.get("ai.model"), "gpt-4o");
    assert_eq!(f.get("ai.stream"), "true");
    assert_eq!(f.list("ai.tools.declared"), ["get_weather", "run_shell"]);
    assert_eq!(f.get("ai.http.method"), "POST");
    assert_eq!(f.get("ai.http.path"), "/v1/chat/completions");
    assert_eq!(f.get("ai.http.user_agent"), "OpenAI/Python 1.54.3");
    assert_eq!(f.get("ai.http.request_bytes"), "1843");
    assert_eq!(f.get("ai.http.version"), "1.1");
    assert_eq!(f.get("ai.server"), "api.openai.com");
    assert_eq!(f.get("ai.server.port"), "443");
    assert_eq!(f.get("ai.conn.id"), "0x55d0c0a1b2c0");
    assert_eq!(f.get("ai.conn.tls_lib"), "openssl");
    assert_eq!(f.get("ai.proc.pid"), "4242");
    assert_eq!(f.get("ai.proc.tid"), "4250");
    assert_eq!(f.get("ai.proc.ppid"), "4200");
    assert_eq!(f.get("ai.proc.name"), "python3");
    assert_eq!(f.get("ai.proc.exe"), "/usr/bin/python3.11");
    assert_eq!(f.get("ai.proc.cmdline"), "python3 agent.py --task triage");
    assert_eq!(f.get("ai.proc.uid"), "1000");
    assert_eq!(f.list("ai.credential.kinds"), ["openai_api_key"]);
    assert_eq!(f.list("ai.credential.fingerprints"), ["3f9a1c0b7d2e"]);
}

#[test]
fn a_request_has_no_response_fields() {
    let f = Fields::of(OPENAI_REQUEST);
    for name in [
        "ai.response.model",
        "ai.response.id",
        "ai.tool_name",
        "ai.tool_call_count",
        "ai.tool.arguments",
        "ai.tokens.input",
        "ai.tokens.output",
        "ai.tokens.cache_read",
        "ai.tokens.total",
        "ai.finish_reason",
        "ai.error",
        "ai.http.status",
        "ai.http.response_bytes",
        "ai.latency",
        "ai.ttft",
        "ai.prompt",
        "ai.completion",
    ] {
        assert_eq!(f.get(name), NA, "{name}");
    }
    assert!(f.list("ai.tool_names").is_empty());
}

#[test]
fn response_fields() {
    let f = Fields::of(OPENAI_RESPONSE);
    assert_eq!(f.get("ai.kind"), "ai.response");
    assert_eq!(f.get("ai.model"), "gpt-4o");
    assert_eq!(f.get("ai.response.model"), "gpt-4o-2024-08-06");
    assert_eq!(f.get("ai.response.id"), "chatcmpl-AbC123");
    assert_eq!(f.get("ai.tool_call_count"), "2");
    assert_eq!(f.get("ai.tool_name"), "get_weather");
    assert_eq!(f.list("ai.tool_names"), ["get_weather", "run_shell"]);
    assert_eq!(f.get("ai.tool.arguments"), r#"{"city":"Paris"}"#);
    assert_eq!(f.get("ai.tool.arguments[0]"), r#"{"city":"Paris"}"#);
    assert_eq!(
        f.get("ai.tool.arguments[1]"),
        r#"{"cmd":"cat /etc/passwd"}"#
    );
    assert_eq!(f.get("ai.tool.arguments[2]"), NA);
    assert_eq!(f.get("ai.tokens.input"), "120");
    assert_eq!(f.get("ai.tokens.output"), "18");
    assert_eq!(f.get("ai.tokens.cache_read"), "64");
    assert_eq!(f.get("ai.tokens.cache_write"), "0");
    assert_eq!(f.get("ai.tokens.reasoning"), "0");
    assert_eq!(f.get("ai.tokens.total"), "138");
    assert_eq!(f.get("ai.finish_reason"), "tool_calls");
    assert_eq!(f.get("ai.http.status"), "200");
    assert_eq!(f.get("ai.http.response_bytes"), "2210");
    assert_eq!(f.get("ai.latency"), "812000000");
    assert_eq!(f.get("ai.ttft"), "95000000");
    assert_eq!(f.get("ai.error"), NA);
}

#[test]
fn error_response_with_content_and_absent_optionals() {
    let f = Fields::of(ANTHROPIC_ERROR);
    assert_eq!(f.get("ai.provider"), "anthropic");
    assert_eq!(f.get("ai.error"), "overloaded_error");
    assert_eq!(f.get("ai.http.status"), "529");
    assert_eq!(f.get("ai.http.version"), "2");
    assert_eq!(f.get("ai.prompt"), "Summarise the incident");
    assert_eq!(f.get("ai.completion"), NA);
    assert_eq!(f.get("ai.tool_call_count"), "0");
    assert_eq!(f.get("ai.tool_name"), NA);
    assert_eq!(f.get("ai.tokens.input"), NA);
    assert_eq!(f.get("ai.stream"), "false");
    assert_eq!(
        f.list("ai.credential.kinds"),
        ["anthropic_api_key", "bearer"]
    );
    assert_eq!(
        f.list("ai.credential.fingerprints"),
        ["a1b2c3d4e5f6", "0badc0ffee00"]
    );
    // Not in the payload: <NA>, not 0 or "".
    for name in [
        "ai.proc.tid",
        "ai.proc.ppid",
        "ai.proc.uid",
        "ai.server.port",
        "ai.http.user_agent",
        "ai.response.model",
    ] {
        assert_eq!(f.get(name), NA, "{name}");
    }
    assert!(f.list("ai.tools.declared").is_empty());
}

#[test]
fn a_minimal_payload_gives_na_for_every_optional_section() {
    let f = Fields::of(r#"{"v":1,"kind":"ai.request","ts":1,"proc":{"pid":1}}"#);
    assert_eq!(f.get("ai.proc.pid"), "1");
    for name in [
        "ai.provider",
        "ai.model",
        "ai.stream",
        "ai.server",
        "ai.http.method",
        "ai.exchange_id",
        "ai.proc.name",
    ] {
        assert_eq!(f.get(name), NA, "{name}");
    }
}

#[test]
fn a_newer_schema_still_gives_the_fields_it_knows() {
    let newer = r#"{"v":2,"kind":"ai.response","ts":1,"proc":{"pid":9,"name":"agent","cgroup":"/x"},
        "ai":{"provider":"openai","operation":"responses","model":"gpt-5","reasoning_effort":"high"},
        "mcp":{"server":"files"}}"#;
    let f = Fields::of(newer);
    assert_eq!(f.get("ai.schema_version"), "2");
    assert_eq!(f.get("ai.model"), "gpt-5");
    assert_eq!(f.get("ai.operation"), "responses");
    assert_eq!(f.get("ai.proc.name"), "agent");
}

#[test]
fn a_bad_payload_is_an_extraction_error_not_a_crash() {
    for bad in [
        "",
        "not json",
        r#"{"v":1,"kind":"ai.request""#,
        r#"{"v":1,"kind":"ai.request","ts":1}"#,
        r#"{"v":"one","kind":"ai.request","ts":1,"proc":{"pid":1}}"#,
        "[1,2,3]",
    ] {
        let f = Fields::of(bad);
        for name in ["ai.kind", "ai.model", "ai.proc.pid", "ai.tool_names"] {
            assert_eq!(f.get(name), ERROR, "{name} of {bad:?}");
        }
    }
}

#[test]
fn a_nul_in_a_string_is_dropped() {
    let f = Fields::of(
        r#"{"v":1,"kind":"ai.request","ts":1,"proc":{"pid":1},
            "ai":{"provider":"openai","operation":"chat","model":"gpt\u0000-4o"}}"#,
    );
    assert_eq!(f.get("ai.model"), "gpt-4o");
}

#[test]
fn each_event_gets_its_own_fields() {
    // The payload cache must follow the event, whatever the order of fields and events.
    let mut host = Host::new(&[OPENAI_REQUEST, "garbage", OPENAI_RESPONSE, OPENAI_REQUEST]);
    let expected = [
        ("ai.request", NA),
        (ERROR, ERROR),
        ("ai.response", "138"),
        ("ai.request", NA),
    ];
    for (kind, total) in expected {
        let event = host.next();
        for _ in 0..2 {
            assert_eq!(host.get(&event, "ai.tokens.total"), total);
            assert_eq!(host.get(&event, "ai.kind"), kind);
        }
    }
}

#[test]
fn field_names_and_descriptions_follow_falco_conventions() {
    let mut seen = std::collections::HashSet::new();
    for f in AiFields::EXTRACT_FIELDS {
        assert!(
            valid_field_name(f.name),
            "{} is not a valid field name",
            f.name
        );
        assert!(f.name.starts_with("ai."), "{}", f.name);
        assert!(seen.insert(f.name), "{} is defined twice", f.name);
        assert_ne!(f.description, f.name, "{} has no description", f.name);
        assert!(
            !f.description.contains('|'),
            "{}: a `|` breaks the README table",
            f.name
        );
    }
    assert_eq!(AiFields::NAME, c"aifields");
    assert_eq!(
        AiFields::PLUGIN_VERSION.to_str().unwrap(),
        env!("CARGO_PKG_VERSION")
    );
}

#[test]
fn the_plugin_serves_plugin_events_of_the_aisensor_source_only() {
    let api = &AIFIELDS.__bindgen_anon_2;
    let sources = unsafe { CStr::from_ptr(api.get_extract_event_sources.unwrap()()) };
    assert_eq!(sources.to_str().unwrap(), r#"["aisensor"]"#);

    let mut count = 0u32;
    let types = unsafe { api.get_extract_event_types.unwrap()(&mut count, std::ptr::null_mut()) };
    let types = unsafe { std::slice::from_raw_parts(types, count as usize) };
    assert_eq!(types, [322], "PPME_PLUGINEVENT_E");
}

/// `[a-z]+[a-z0-9_]*(\.[a-z]+[a-z0-9_]*)+`
fn valid_field_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            p.starts_with(|c: char| c.is_ascii_lowercase())
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

// ---------------------------------------------------------------------------------------------
// The host: a source plugin emitting the given payloads, and aifields, in falco_plugin_runner.

const NA: &str = "<NA>";
const ERROR: &str = "<ERROR>";

/// `aifields` as Falco sees it: the plugin API table its `plugin!` macro exports.
static AIFIELDS: falco_plugin::api::plugin_api = aifields::__plugin_base_api();

static_plugin!(PAYLOAD_SOURCE = PayloadSource);

/// Emits one `aisensor` plugin event per payload of its config (a JSON list of strings).
struct PayloadSource {
    payloads: Vec<String>,
}

struct PayloadSourceInstance {
    payloads: Vec<String>,
    next: usize,
}

impl Plugin for PayloadSource {
    const NAME: &'static CStr = c"aisensor";
    const PLUGIN_VERSION: &'static CStr = c"0.0.0";
    const DESCRIPTION: &'static CStr = c"test source of aisensor payloads";
    const CONTACT: &'static CStr = c"https://github.com/aisensor/aisensor";
    type ConfigType = String;

    fn new(_input: Option<&TablesInput>, config: String) -> anyhow::Result<Self> {
        Ok(Self {
            payloads: serde_json::from_str(&config)?,
        })
    }
}

impl SourcePlugin for PayloadSource {
    type Instance = PayloadSourceInstance;
    const EVENT_SOURCE: &'static CStr = c"aisensor";
    const PLUGIN_ID: u32 = aisensor_event::PLUGIN_ID;
    type Event<'a> = Event<PluginEvent<&'a [u8]>>;

    fn open(&mut self, _params: Option<&str>) -> anyhow::Result<PayloadSourceInstance> {
        Ok(PayloadSourceInstance {
            payloads: self.payloads.clone(),
            next: 0,
        })
    }

    fn event_to_string(&mut self, _event: &EventInput<Self::Event<'_>>) -> anyhow::Result<CString> {
        Ok(CString::default())
    }
}

impl SourcePluginInstance for PayloadSourceInstance {
    type Plugin = PayloadSource;

    fn next_batch(
        &mut self,
        _plugin: &mut PayloadSource,
        batch: &mut EventBatch,
    ) -> anyhow::Result<()> {
        let Some(payload) = self.payloads.get(self.next) else {
            return Err(anyhow!("no more payloads").context(FailureReason::Eof));
        };
        self.next += 1;
        batch.add(Self::plugin_event(payload.as_bytes()))?;
        Ok(())
    }
}

struct Host {
    runner: CapturingPluginRunner,
}

impl Host {
    fn new(payloads: &[&str]) -> Self {
        let config = CString::new(serde_json::to_string(payloads).unwrap()).unwrap();
        let mut runner = PluginRunner::new();
        runner.register_plugin(&PAYLOAD_SOURCE, &config).unwrap();
        runner.register_plugin(&AIFIELDS, c"{}").unwrap();
        Self {
            runner: runner.start_capture().unwrap(),
        }
    }

    fn next(&mut self) -> falco_plugin_runner::Event {
        self.runner.next_event().expect("one event per payload")
    }

    fn field(&mut self, event: &falco_plugin_runner::Event, name: &str) -> Option<ExtractedField> {
        match self.runner.extract_field(event, name) {
            None => panic!("aifields does not provide {name}"),
            Some(Ok(value)) => Some(value),
            Some(Err(_)) => None,
        }
    }

    /// A field as Falco would print it; `<ERROR>` when extraction failed.
    fn get(&mut self, event: &falco_plugin_runner::Event, name: &str) -> String {
        match self.field(event, name) {
            Some(ExtractedField::Vec(_)) => panic!("{name} is a list: use `list`"),
            Some(value) => value.to_string(),
            None => ERROR.to_string(),
        }
    }
}

/// The fields of a single event.
struct Fields {
    host: std::cell::RefCell<Host>,
    event: falco_plugin_runner::Event,
}

impl Fields {
    fn of(payload: &str) -> Self {
        let mut host = Host::new(&[payload]);
        let event = host.next();
        Self {
            host: std::cell::RefCell::new(host),
            event,
        }
    }

    fn get(&self, name: &str) -> String {
        self.host.borrow_mut().get(&self.event, name)
    }

    /// A list field's values (the host returns a one-value list as a plain value).
    fn list(&self, name: &str) -> Vec<String> {
        match self.host.borrow_mut().field(&self.event, name) {
            None => panic!("{name}: extraction failed"),
            Some(ExtractedField::None) => vec![],
            Some(ExtractedField::Vec(values)) => values.iter().map(|v| v.to_string()).collect(),
            Some(value) => vec![value.to_string()],
        }
    }
}
