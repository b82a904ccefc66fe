//! Support for the integration and end-to-end tests: a throwaway CA, a TLS server that answers
//! like the AI APIs, real clients (curl, Python, node) and the plugin host.

pub mod clients;
pub mod server;
pub mod tls;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// A directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "aisensor-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Live-capture tests run one at a time: each loads its own probe, which sees every
/// process's traffic.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Fails (does not skip) when live capture cannot work here, saying why.
pub fn require_ebpf() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert!(
        euid == 0,
        "end-to-end tests load the eBPF probe and need root (or CAP_BPF+CAP_PERFMON); euid is {euid}"
    );
    assert!(
        Path::new("/sys/kernel/btf/vmlinux").exists(),
        "end-to-end tests need a kernel with BTF (/sys/kernel/btf/vmlinux is missing)"
    );
}

/// Directory of the built plugin libraries (cargo builds them next to the test binary).
pub fn plugin_dir() -> PathBuf {
    aisensor_cli::host::plugin_dir().expect("plugin libraries built")
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}
