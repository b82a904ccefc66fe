//! Falco plugin metrics: every counter of the pipeline, the queue and the kernel probe.

use crate::capture::Snapshot;
use falco_plugin::base::{Metric, MetricLabel, MetricType, MetricValue};
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::sync::{Mutex, OnceLock};

type Get = fn(&Snapshot) -> u64;

/// Userspace metrics: name, kind, and where the value comes from.
const METRICS: &[(&CStr, MetricType, Get)] = {
    use MetricType::{Monotonic as M, NonMonotonic as G};
    &[
        (c"records_received", M, |s| s.pipeline.records),
        (c"bytes_received", M, |s| s.pipeline.bytes),
        (c"events_emitted", M, |s| s.pipeline.events),
        (c"queue_drops", M, |s| s.queue_drops),
        (c"bad_records", M, |s| s.pipeline.bad_records),
        (c"parse_failures", M, |s| s.pipeline.parse_failures),
        (c"provider_errors", M, |s| s.pipeline.provider_errors),
        (c"truncated_calls", M, |s| s.pipeline.truncated_calls),
        (c"http2_connections", M, |s| s.pipeline.http2_connections),
        (c"server_connections", M, |s| s.pipeline.server_connections),
        (c"non_ai_exchanges", M, |s| s.pipeline.non_ai_exchanges),
        (c"unmatched_responses", M, |s| {
            s.pipeline.unmatched_responses
        }),
        (c"resync_bytes", M, |s| s.pipeline.resync_bytes),
        (c"body_budget_bytes", M, |s| s.pipeline.body_budget_bytes),
        (c"incomplete_exchanges", M, |s| {
            s.pipeline.incomplete_exchanges
        }),
        (c"closed_connections", M, |s| s.pipeline.closed_connections),
        (c"expired_connections", M, |s| {
            s.pipeline.expired_connections
        }),
        (c"evicted_connections", M, |s| {
            s.pipeline.evicted_connections
        }),
        (c"open_connections", G, |s| s.open_connections),
        (c"attached_targets", G, |s| s.attached_targets),
    ]
};

pub fn metrics(s: &Snapshot) -> Vec<Metric> {
    let mut out: Vec<Metric> = METRICS
        .iter()
        .map(|(name, ty, get)| Metric::new(MetricLabel::new(name, *ty), MetricValue::U64(get(s))))
        .collect();
    for (name, value) in &s.kernel {
        out.push(Metric::new(
            MetricLabel::new(kernel_name(name), MetricType::Monotonic),
            MetricValue::U64(*value),
        ));
    }
    out
}

/// `kernel_<name>` as a `'static` C string. The probe has a fixed handful of counters, so the
/// few strings made here live for the process, once each.
fn kernel_name(name: &str) -> &'static CStr {
    static NAMES: OnceLock<Mutex<HashMap<String, &'static CStr>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    names.entry(name.to_string()).or_insert_with(|| {
        let c = CString::new(format!("kernel_{name}")).unwrap_or_default();
        Box::leak(c.into_boxed_c_str())
    })
}
