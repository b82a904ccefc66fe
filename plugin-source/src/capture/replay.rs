//! Replay of a recording through the same pipeline as live capture.

use super::{Sink, Stats};
use crate::config::Config;
use crate::procinfo::RecordedProcs;
use aisensor_decode::pipeline::Pipeline;
use aisensor_event::recording::{Frame, Reader};
use std::fs::File;
use std::io::BufReader;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

pub fn start(
    cfg: &Config,
    mut sink: Sink,
    stop: Arc<AtomicBool>,
    stats: Arc<Stats>,
) -> anyhow::Result<JoinHandle<()>> {
    let path = cfg.replay_file.clone().unwrap_or_default();
    let file =
        File::open(&path).map_err(|e| anyhow::anyhow!("cannot open replay_file {path:?}: {e}"))?;
    let mut reader = Reader::new(BufReader::with_capacity(1 << 20, file))
        .map_err(|e| anyhow::anyhow!("replay_file {path:?}: {e}"))?;
    let mut pipeline = Pipeline::new(cfg.pipeline(reader.wall_minus_mono_ns));
    let thread = std::thread::Builder::new()
        .name("aisensor-replay".into())
        .spawn(move || {
            let mut procs = RecordedProcs::default();
            let mut last_ts = 0;
            let mut result = Ok(());
            while !stop.load(Ordering::Relaxed) && !sink.closed {
                match reader.next_frame() {
                    Ok(Some(Frame::Probe(item))) => {
                        let rec = pipeline.on_bytes(&item, &mut procs, &mut |e| sink.event(e));
                        if let Some(r) = rec {
                            last_ts = last_ts.max(r.header().ts_ns);
                        }
                    }
                    Ok(Some(Frame::Proc(p))) => procs.insert(p),
                    Ok(None) => break,
                    Err(e) => {
                        result = Err(format!("replay_file {path:?}: {e}"));
                        break;
                    }
                }
            }
            // The recording ended: connections still open end with it.
            pipeline.finish(last_ts, &mut procs, &mut |e| sink.event(e));
            stats.update(|s| {
                s.pipeline = pipeline.counters().clone();
                s.open_connections = pipeline.open_connections() as u64;
                s.queue_drops = sink.drops;
            });
            sink.end(result);
        })?;
    Ok(thread)
}
