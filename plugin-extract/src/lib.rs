//! The `aifields` Falco extract plugin: the `ai.*` fields of `aisensor` events.
//!
//! Every event of the `aisensor` source is a plugin event whose data is the JSON of one
//! [`aisensor_event::Payload`]. Fields are read from that payload and nothing else, so a `.scap`
//! replay gives the same values as live capture. The field table is in [`fields`]; this file is
//! the Falco glue: plugin metadata, the event type, and a one-entry cache so that a payload is
//! parsed once per event rather than once per field.

use std::ffi::CStr;
use std::io::Write;

use aisensor_event::{Payload, EVENT_SOURCE};
use falco_plugin::anyhow::{self, anyhow};
use falco_plugin::base::Plugin;
use falco_plugin::event::events::Event;
use falco_plugin::event::fields::{FromBytes, FromBytesError, ToBytes};
use falco_plugin::event::{EventSource, PluginEvent};
use falco_plugin::extract::{ExtractFieldInfo, ExtractPlugin, ExtractRequest};
use falco_plugin::tables::TablesInput;
use falco_plugin::{extract_plugin, plugin};

mod fields;
mod readme;

pub use readme::fields_markdown;

/// The data of an `aisensor` plugin event, unparsed.
///
/// Its [`EventSource`] is how the extractor tells Falco which source it serves.
#[derive(Debug, Clone, Copy)]
pub struct PayloadBytes<'a>(pub &'a [u8]);

impl EventSource for PayloadBytes<'_> {
    const SOURCE: Option<&'static str> = Some(EVENT_SOURCE);
}

impl<'a> FromBytes<'a> for PayloadBytes<'a> {
    fn from_bytes(buf: &mut &'a [u8]) -> Result<Self, FromBytesError> {
        Ok(Self(std::mem::take(buf)))
    }
}

impl ToBytes for PayloadBytes<'_> {
    fn binary_size(&self) -> usize {
        self.0.len()
    }

    fn write<W: Write>(&self, mut writer: W) -> std::io::Result<()> {
        writer.write_all(self.0)
    }

    fn default_repr() -> impl ToBytes {
        &[] as &[u8]
    }
}

/// The extract plugin. Holds the last parsed payload.
#[derive(Default)]
pub struct AiFields {
    last: Option<Parsed>,
}

/// One event's payload, parsed (or the reason it could not be).
struct Parsed {
    event_number: usize,
    bytes: Vec<u8>,
    payload: Result<Payload, String>,
}

impl AiFields {
    /// The payload of the event being extracted, parsed at most once per event.
    ///
    /// libsinsp calls the extractor once per field, each time with a fresh context, so the cache
    /// lives in the plugin. It is keyed by the event number and checked against the bytes, so a
    /// host that numbers events differently still gets the right fields.
    fn payload(&mut self, req: &ExtractRequest<Self>) -> anyhow::Result<&Payload> {
        let event = req.event.event()?;
        let bytes = event.params.event_data.0;
        let number = req.event.event_number();
        let hit = matches!(&self.last, Some(p) if p.event_number == number && p.bytes == bytes);
        if !hit {
            // Reuse the previous event's buffer: no allocation per event once it is large enough.
            let mut copy = self.last.take().map(|p| p.bytes).unwrap_or_default();
            copy.clear();
            copy.extend_from_slice(bytes);
            self.last = Some(Parsed {
                event_number: number,
                bytes: copy,
                payload: Payload::from_json(bytes).map_err(|e| e.to_string()),
            });
        }
        match &self.last.as_ref().expect("set above").payload {
            Ok(payload) => Ok(payload),
            Err(e) => Err(anyhow!("event {number}: not an aisensor payload: {e}")),
        }
    }
}

impl Plugin for AiFields {
    const NAME: &'static CStr = c"aifields";
    const PLUGIN_VERSION: &'static CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(version) => version,
            Err(_) => panic!("the package version has no NUL"),
        };
    const DESCRIPTION: &'static CStr =
        c"ai.* fields (provider, model, tools, tokens, process...) of aisensor AI API events";
    const CONTACT: &'static CStr = c"https://github.com/aisensor/aisensor";
    type ConfigType = ();

    fn new(_input: Option<&TablesInput>, _config: ()) -> anyhow::Result<Self> {
        Ok(Self::default())
    }
}

impl ExtractPlugin for AiFields {
    type Event<'a> = Event<PluginEvent<PayloadBytes<'a>>>;
    type ExtractContext = ();
    const EXTRACT_FIELDS: &'static [ExtractFieldInfo<Self>] = fields::FIELDS;
}

plugin!(AiFields);
extract_plugin!(AiFields);
