//! Live capture: the eBPF probe's ring buffer, drained on this thread.

use super::{Sink, Stats};
use crate::clock;
use crate::config::Config;
use crate::procinfo::LiveProcs;
use aisensor_decode::pipeline::Pipeline;
use aisensor_event::raw::RawRecord;
use aisensor_event::recording::Writer;
use aisensor_probe::{Probe, ProbeConfig};
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long one wait on the ring lasts; bounds how late a stop request is seen.
const POLL: Duration = Duration::from_millis(50);
/// How often idle connections are expired and the recording flushed.
const HOUSEKEEPING: Duration = Duration::from_secs(1);
/// How often the counters Falco's metrics read are refreshed.
const STATS: Duration = Duration::from_millis(100);

pub fn start(
    cfg: &Config,
    mut sink: Sink,
    stop: Arc<AtomicBool>,
    stats: Arc<Stats>,
) -> anyhow::Result<JoinHandle<()>> {
    let probe_cfg = ProbeConfig {
        ring_buffer_bytes: cfg.ring_buffer_mb.next_power_of_two() << 20,
        max_capture_bytes: cfg.max_capture_bytes,
        extra_targets: cfg.ssl_libraries.iter().map(PathBuf::from).collect(),
        ..ProbeConfig::default()
    };
    let offset = clock::wall_minus_mono_ns();
    let mut recorder = match &cfg.record_file {
        Some(path) => {
            let f = File::create(path)
                .map_err(|e| anyhow::anyhow!("cannot create record_file {path:?}: {e}"))?;
            Some(Writer::new(BufWriter::with_capacity(1 << 20, f), offset)?)
        }
        None => None,
    };
    let mut pipeline = Pipeline::new(cfg.pipeline(offset));
    // The probe is loaded on the thread that drains it; open() waits for the outcome so that
    // a user sees "not root" or "no libssl" as the error of open, not later.
    let (ready_tx, ready_rx) = mpsc::channel::<anyhow::Result<()>>();
    let thread = std::thread::Builder::new()
        .name("aisensor-drain".into())
        .spawn(move || {
            let mut probe = match Probe::load(&probe_cfg) {
                Ok(p) => {
                    let _ = ready_tx.send(Ok(()));
                    p
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let mut procs = LiveProcs::new(recorder.is_some());
            let mut execs = Vec::new();
            let mut last_housekeeping = Instant::now();
            let mut last_stats = Instant::now();
            let mut failure = None;
            while !stop.load(Ordering::Relaxed) && !sink.closed {
                let polled = probe.poll(POLL, |item| {
                    let rec = pipeline.on_bytes(item, &mut procs, &mut |e| sink.event(e));
                    if let Some(RawRecord::Exec(p)) = &rec {
                        execs.push(p.hdr.pid);
                    }
                    if let Some(w) = recorder.as_mut() {
                        // Identities first: replay must know a process before its records.
                        for p in procs.take_resolved() {
                            let _ = w.proc(&p);
                        }
                        let _ = w.probe(item);
                    }
                });
                if let Err(e) = polled {
                    failure = Some(format!("reading the probe's ring buffer failed: {e:#}"));
                    break;
                }
                // A program that links OpenSSL in (node) is probed from its first exec on.
                for pid in execs.drain(..) {
                    probe.attach_process(pid);
                }
                if last_housekeeping.elapsed() >= HOUSEKEEPING {
                    last_housekeeping = Instant::now();
                    pipeline.expire(clock::mono_ns(), &mut procs, &mut |e| sink.event(e));
                    if let Some(w) = recorder.as_mut() {
                        let _ = w.flush();
                    }
                }
                if last_stats.elapsed() >= STATS {
                    last_stats = Instant::now();
                    publish(&stats, &probe, &pipeline, &sink);
                }
            }
            publish(&stats, &probe, &pipeline, &sink);
            if let Some(w) = recorder.as_mut() {
                let _ = w.flush();
            }
            if let Some(msg) = failure {
                sink.end(Err(msg));
            }
        })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(thread),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e.context("aisensor could not start live capture"))
        }
        Err(_) => {
            let _ = thread.join();
            anyhow::bail!("aisensor's capture thread died while loading the probe")
        }
    }
}

fn publish(stats: &Stats, probe: &Probe, pipeline: &Pipeline, sink: &Sink) {
    let kernel = probe
        .counters()
        .map(|c| c.iter().collect())
        .unwrap_or_default();
    stats.update(|s| {
        s.pipeline = pipeline.counters().clone();
        s.open_connections = pipeline.open_connections() as u64;
        s.queue_drops = sink.drops;
        s.kernel = kernel;
        s.attached_targets = probe.targets().len() as u64;
    });
}
