//! Helpers of the probe's integration tests: a local TLS server, clients run with a timeout,
//! and collecting the probe's records for given pids.
//!
//! These tests need root (or CAP_BPF+CAP_PERFMON) and a BTF kernel, as on the CI machines.
//! Without them they fail, saying so: a probe test that silently skips proves nothing.

#![allow(dead_code)] // each test binary uses a different part

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aisensor_event::raw::{Direction, ProcRecord, RawRecord, SslFunc, TlsLib, FLAG_TRUNCATED};
use aisensor_probe::{Probe, ProbeConfig};

pub const TIMEOUT: Duration = Duration::from_secs(15);

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A config for tests: no process scan (faster; tests attach what they need).
pub fn test_config() -> ProbeConfig {
    ProbeConfig {
        scan_processes: false,
        ..ProbeConfig::default()
    }
}

/// Loads the probe or fails the test with the reason.
pub fn load(cfg: &ProbeConfig) -> Probe {
    match Probe::load(cfg) {
        Ok(p) => p,
        Err(e) => panic!(
            "the aisensor probe must load for this test (it needs root or CAP_BPF+CAP_PERFMON \
             and a kernel with BTF and uprobes, as on the CI machines): {e:#}"
        ),
    }
}

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "aisensor-probe-{tag}-{}-{:?}",
            std::process::id(),
            Instant::now()
        ));
        let p = PathBuf::from(p.to_string_lossy().replace([' ', '{', '}', ':', ','], ""));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child killed on drop.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The Python TLS server of `tls_server.py` on 127.0.0.1 with a throwaway self-signed cert.
pub struct Server {
    pub port: u16,
    _child: Guard,
    _dir: TempDir,
}

pub fn server() -> Server {
    let dir = TempDir::new("tls");
    let (cert, key) = (dir.0.join("cert.pem"), dir.0.join("key.pem"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("the openssl command line tool is needed to make a test certificate");
    assert!(out.status.success(), "openssl req: {out:?}");
    let mut child = Command::new("python3")
        .arg(manifest_dir().join("tests/common/tls_server.py"))
        .arg(&cert)
        .arg(&key)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 is needed for the test TLS server");
    let stdout = child.stdout.take().unwrap();
    let child = Guard(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(TIMEOUT)
        .expect("the test TLS server did not start");
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("test TLS server printed {line:?}, not a port"));
    Server {
        port,
        _child: child,
        _dir: dir,
    }
}

/// Runs a client to completion (killed after [`TIMEOUT`]); returns its pid and output.
pub fn run(cmd: &mut Command) -> (u32, Output) {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(TIMEOUT) {
        Ok(out) => (pid, out.expect("waiting for the client")),
        Err(_) => {
            // SAFETY: plain kill(2) of the child we spawned, still unreaped (its waiter thread
            // has not returned).
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("{cmd:?} did not finish within {TIMEOUT:?}");
        }
    }
}

/// Runs the Python client script (see `tls_client.py`).
pub fn python_client(port: u16, args: &[&str]) -> (u32, Output) {
    let (pid, out) = run(Command::new("python3")
        .arg(manifest_dir().join("tests/common/tls_client.py"))
        .arg(port.to_string())
        .args(args));
    assert!(out.status.success(), "python client failed: {out:?}");
    (pid, out)
}

/// An SSL record, owned.
#[derive(Debug, Clone)]
pub struct Ssl {
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    pub flags: u32,
    pub ssl: u64,
    pub call_len: u32,
    pub offset: u32,
    pub dir: Direction,
    pub func: SslFunc,
    pub lib: TlsLib,
    pub data: Vec<u8>,
}

impl Ssl {
    pub fn truncated(&self) -> bool {
        self.flags & FLAG_TRUNCATED != 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcKind {
    Exec,
    Fork,
    Exit,
}

/// Records seen so far.
#[derive(Debug, Default)]
pub struct Seen {
    pub ssl: Vec<Ssl>,
    pub procs: Vec<(ProcKind, ProcRecord)>,
    /// `SSL_free` records: (pid, SSL*).
    pub frees: Vec<(u32, u64)>,
    pub bad: Vec<String>,
}

impl Seen {
    pub fn ssl_of(&self, pid: u32) -> Vec<&Ssl> {
        self.ssl.iter().filter(|s| s.pid == pid).collect()
    }

    /// Concatenated plaintext of `pid` in one direction.
    pub fn stream(&self, pid: u32, dir: Direction) -> Vec<u8> {
        self.ssl
            .iter()
            .filter(|s| s.pid == pid && s.dir == dir)
            .flat_map(|s| s.data.iter().copied())
            .collect()
    }
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Polls the probe until `done` holds for what was seen, or fails after [`TIMEOUT`] showing
/// what arrived. Only records of `pids` are kept (the machine runs other TLS clients).
pub fn collect(probe: &mut Probe, pids: &[u32], mut done: impl FnMut(&Seen) -> bool) -> Seen {
    let deadline = Instant::now() + TIMEOUT;
    let mut seen = Seen::default();
    while !done(&seen) {
        if Instant::now() > deadline {
            let summary: Vec<String> = seen
                .ssl
                .iter()
                .map(|s| {
                    format!(
                        "{} {:?} {:?} off={} len={} call_len={} {:?}",
                        s.pid,
                        s.func,
                        s.dir,
                        s.offset,
                        s.data.len(),
                        s.call_len,
                        String::from_utf8_lossy(&s.data[..s.data.len().min(40)])
                    )
                })
                .collect();
            panic!(
                "timed out after {TIMEOUT:?} waiting for records of pids {pids:?}; got ssl {summary:#?}, \
                 procs {:#?}, unparseable {:?}",
                seen.procs, seen.bad
            );
        }
        probe
            .poll(Duration::from_millis(100), |b| match RawRecord::parse(b) {
                Ok(RawRecord::Ssl(r)) if pids.contains(&r.hdr.pid) => seen.ssl.push(Ssl {
                    pid: r.hdr.pid,
                    tid: r.hdr.tid,
                    comm: r.hdr.comm(),
                    flags: r.hdr.flags,
                    ssl: r.ssl,
                    call_len: r.call_len,
                    offset: r.offset,
                    dir: r.dir,
                    func: r.func,
                    lib: r.lib,
                    data: r.data.to_vec(),
                }),
                Ok(RawRecord::Exec(p)) => seen.procs.push((ProcKind::Exec, p)),
                Ok(RawRecord::Fork(p)) => seen.procs.push((ProcKind::Fork, p)),
                Ok(RawRecord::Exit(p)) => seen.procs.push((ProcKind::Exit, p)),
                Ok(RawRecord::SslFree(f)) if pids.contains(&f.hdr.pid) => {
                    seen.frees.push((f.hdr.pid, f.ssl))
                }
                Ok(RawRecord::Ssl(_) | RawRecord::SslFree(_)) => {}
                Err(e) => seen.bad.push(e.to_string()),
            })
            .expect("polling the probe");
    }
    assert!(seen.bad.is_empty(), "unparseable records: {:?}", seen.bad);
    seen
}

/// The pattern `tls_client.py post` sends.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 7 + i / 251) % 256) as u8).collect()
}

pub fn is_file(p: &str) -> bool {
    Path::new(p).is_file()
}
