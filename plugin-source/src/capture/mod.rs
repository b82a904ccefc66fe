//! The capture thread: reads probe records (live from the kernel, or from a recording), runs
//! them through the pipeline and hands finished events to Falco's thread through a bounded
//! queue. Falco's `next_batch` never waits on the kernel or the decoders.

mod live;
mod replay;

use crate::config::{Config, Mode};
use aisensor_decode::pipeline::{Counters, Emitted};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What crosses the queue.
pub enum Item {
    /// One event: wall-clock ns and the JSON payload.
    Event { ts: u64, json: Vec<u8> },
    /// The input ended (replay) or the capture failed.
    End(Result<(), String>),
}

/// Counters shared with Falco's thread for `get_metrics`.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub pipeline: Counters,
    /// Kernel-side counters by name (summed over CPUs).
    pub kernel: Vec<(&'static str, u64)>,
    pub queue_drops: u64,
    pub open_connections: u64,
    pub attached_targets: u64,
}

#[derive(Default)]
pub struct Stats(Mutex<Snapshot>);

impl Stats {
    pub fn get(&self) -> Snapshot {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut Snapshot)) {
        if let Ok(mut s) = self.0.lock() {
            f(&mut s);
        }
    }
}

/// The producing end of the queue, owned by the capture thread.
struct Sink {
    tx: SyncSender<Item>,
    /// Replay waits for Falco (nothing is lost offline); live capture must not stall the
    /// kernel ring, so it drops and counts instead.
    block: bool,
    drops: u64,
    /// Falco's side is gone.
    closed: bool,
}

impl Sink {
    fn event(&mut self, e: Emitted) {
        let item = Item::Event {
            ts: e.ts,
            json: e.payload.to_json(),
        };
        if self.block {
            self.closed |= self.tx.send(item).is_err();
            return;
        }
        match self.tx.try_send(item) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.drops += 1,
            Err(TrySendError::Disconnected(_)) => self.closed = true,
        }
    }

    fn end(&mut self, r: Result<(), String>) {
        let _ = self.tx.send(Item::End(r));
    }
}

/// A running capture; stopped and joined on drop.
pub struct Capture {
    rx: Option<Receiver<Item>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pub stats: Arc<Stats>,
}

impl Capture {
    /// Starts capturing. Errors that a user can fix (no privileges, no libssl, a missing
    /// recording) are returned here, before any thread runs.
    pub fn start(cfg: &Config) -> anyhow::Result<Capture> {
        let (tx, rx) = sync_channel(cfg.queue_capacity);
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Stats::default());
        let sink = Sink {
            tx,
            block: cfg.mode == Mode::Replay,
            drops: 0,
            closed: false,
        };
        let thread = match cfg.mode {
            Mode::Live => live::start(cfg, sink, Arc::clone(&stop), Arc::clone(&stats))?,
            Mode::Replay => replay::start(cfg, sink, Arc::clone(&stop), Arc::clone(&stats))?,
        };
        Ok(Capture {
            rx: Some(rx),
            stop,
            thread: Some(thread),
            stats,
        })
    }

    /// The next item, waiting at most `timeout`; `None` on timeout.
    pub fn recv(&self, timeout: Duration) -> Option<Item> {
        let rx = self.rx.as_ref()?;
        match rx.recv_timeout(timeout) {
            Ok(item) => Some(item),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => Some(Item::End(Err(
                "the aisensor capture thread stopped unexpectedly".into(),
            ))),
        }
    }

    /// The next item if one is ready.
    pub fn try_recv(&self) -> Option<Item> {
        self.rx.as_ref()?.try_recv().ok()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Unblocks a replay thread waiting on a full queue.
        self.rx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
