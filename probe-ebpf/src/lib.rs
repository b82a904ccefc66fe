//! The aisensor eBPF probe: uprobes on the TLS libraries' read and write functions (OpenSSL's
//! `SSL_read`/`SSL_write`(`_ex`), GnuTLS, BoringSSL, Go's crypto/tls) that copy the plaintext
//! into a ring buffer, and raw tracepoints for process exec/fork/exit.
//!
//! - `bpf/`: the kernel side (C, CO-RE), built by `build.rs`; record layout in
//!   `bpf/aisensor.h`, mirrored and parsed by [`aisensor_event::raw`].
//! - [`targets`]: finding the files to probe and what to attach there ([`Plan`]).
//! - [`loader`]: loading and attaching ([`Probe`]); detached on drop.
//! - [`ring`]: draining the records ([`Ring::poll`]).
//! - [`counters`]: what the kernel side emitted and dropped ([`KernelCounters`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use aisensor_event::raw::RawRecord;
//!
//! let mut probe = aisensor_probe::Probe::load(&Default::default())?;
//! probe.poll(Duration::from_millis(100), |bytes| {
//!     if let Ok(RawRecord::Ssl(r)) = RawRecord::parse(bytes) {
//!         println!("{} {:?} {} bytes", r.hdr.pid, r.dir, r.data.len());
//!     }
//! })?;
//! # anyhow::Ok(())
//! ```

pub mod counters;
pub mod loader;
pub mod ring;
pub mod targets;

pub use counters::KernelCounters;
pub use loader::{AttachedTarget, Probe, ProbeConfig, MAX_CAPTURE_LIMIT};
pub use ring::Ring;
pub use targets::{Hook, Plan};
