//! `aisensor`: the Falco source plugin. It starts the capture at `open` (the eBPF probe, or a
//! recording) and hands Falco one event per AI request and response. Nothing is loaded at
//! init: Falco also instantiates plugins to list or validate them.

pub mod capture;
mod clock;
pub mod config;
mod metrics;
pub mod procinfo;

use aisensor_event::Payload;
use capture::{Capture, Item};
use config::Config;
use falco_plugin::anyhow::{self, Error};
use falco_plugin::base::{Json, Metric, Plugin};
use falco_plugin::event::events::Event;
use falco_plugin::event::PluginEvent;
use falco_plugin::source::{EventBatch, EventInput, SourcePlugin, SourcePluginInstance};
use falco_plugin::tables::TablesInput;
use falco_plugin::{plugin, source_plugin, FailureReason};
use std::ffi::{CStr, CString};
use std::sync::Arc;
use std::time::Duration;

/// Events handed to Falco per `next_batch` at most.
const MAX_BATCH: usize = 512;
/// How long `next_batch` waits for a first event (Falco's loop must not block long).
const WAIT: Duration = Duration::from_millis(10);

pub struct AiSensor {
    config: Config,
    /// Counters of the open capture, for `get_metrics`.
    stats: Option<Arc<capture::Stats>>,
}

impl Plugin for AiSensor {
    const NAME: &'static CStr = c"aisensor";
    const PLUGIN_VERSION: &'static CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("version"),
        };
    const DESCRIPTION: &'static CStr =
        c"AI agents' LLM API calls (requests, responses, tool calls), read from TLS plaintext with eBPF";
    const CONTACT: &'static CStr = c"https://github.com/aisensor/aisensor";
    type ConfigType = Json<Config>;

    fn new(_input: Option<&TablesInput>, Json(config): Self::ConfigType) -> Result<Self, Error> {
        // The SDK logs every empty batch at trace level: keep Falco's log readable.
        log::set_max_level(log::LevelFilter::Info);
        config.validate()?;
        Ok(Self {
            config,
            stats: None,
        })
    }

    fn set_config(&mut self, Json(config): Self::ConfigType) -> Result<(), Error> {
        config.validate()?;
        self.config = config;
        Ok(())
    }

    fn get_metrics(&mut self) -> impl IntoIterator<Item = Metric> {
        let snapshot = self.stats.as_ref().map(|s| s.get()).unwrap_or_default();
        metrics::metrics(&snapshot)
    }
}

pub struct AiSensorInstance {
    capture: Capture,
    /// An end-of-input seen while a batch was being filled, reported on the next call.
    ended: Option<Result<(), String>>,
}

impl SourcePluginInstance for AiSensorInstance {
    type Plugin = AiSensor;

    fn next_batch(&mut self, _plugin: &mut AiSensor, batch: &mut EventBatch) -> Result<(), Error> {
        if let Some(end) = self.ended.take() {
            return end_of_input(end);
        }
        let Some(first) = self.capture.recv(WAIT) else {
            return Err(anyhow::anyhow!("no AI events yet").context(FailureReason::Timeout));
        };
        let mut item = Some(first);
        let mut added = 0;
        while let Some(it) = item.take() {
            match it {
                Item::Event { ts, json } => {
                    let mut event = Self::plugin_event(&json);
                    event.metadata.ts = ts;
                    batch.add(event)?;
                    added += 1;
                }
                Item::End(end) if added == 0 => return end_of_input(end),
                Item::End(end) => {
                    self.ended = Some(end);
                    break;
                }
            }
            if added < MAX_BATCH {
                item = self.capture.try_recv();
            }
        }
        Ok(())
    }
}

fn end_of_input(end: Result<(), String>) -> Result<(), Error> {
    match end {
        Ok(()) => Err(anyhow::anyhow!("end of recording").context(FailureReason::Eof)),
        Err(msg) => Err(anyhow::anyhow!(msg).context(FailureReason::Failure)),
    }
}

impl SourcePlugin for AiSensor {
    type Instance = AiSensorInstance;
    const EVENT_SOURCE: &'static CStr = c"aisensor";
    const PLUGIN_ID: u32 = aisensor_event::PLUGIN_ID;
    type Event<'a> = Event<PluginEvent<&'a [u8]>>;

    fn open(&mut self, _params: Option<&str>) -> Result<AiSensorInstance, Error> {
        let capture = Capture::start(&self.config)?;
        self.stats = Some(Arc::clone(&capture.stats));
        Ok(AiSensorInstance {
            capture,
            ended: None,
        })
    }

    fn event_to_string(&mut self, event: &EventInput<Self::Event<'_>>) -> Result<CString, Error> {
        let event = event.event()?;
        let p = Payload::from_json(event.params.event_data)?;
        let ai = p.ai.unwrap_or_default();
        let text = format!(
            "{} provider={} model={} server={} proc={}[{}]",
            p.kind,
            ai.provider,
            ai.model,
            p.conn.map(|c| c.server).unwrap_or_default(),
            p.proc.name,
            p.proc.pid,
        );
        Ok(CString::new(text.replace('\0', ""))?)
    }
}

plugin!(AiSensor);
source_plugin!(AiSensor);
