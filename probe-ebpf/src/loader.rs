//! Loading the probe into the kernel and attaching it: raw tracepoints for the process life
//! cycle, uprobes on every TLS library found. Everything is detached when the [`Probe`] is
//! dropped.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use aya::maps::{MapData, RingBuf};
use aya::programs::uprobe::{UProbeAttachLocation, UProbeAttachPoint, UProbeScope};
use aya::programs::{RawTracePoint, UProbe};
use aya::{Btf, Ebpf, EbpfLoader};

use crate::counters::KernelCounters;
use crate::ring::Ring;
use crate::targets::{self, FileId, Plan};
use aisensor_event::raw::TlsLib;

static SSL_OBJ: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/ssl.bpf.o"));
static PROCESS_OBJ: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/process.bpf.o"));

/// Upper bound of [`ProbeConfig::max_capture_bytes`] (`MAX_CAPTURE_LIMIT` in `ssl.bpf.c`).
pub const MAX_CAPTURE_LIMIT: u32 = 4 << 20;

const RAW_TRACEPOINTS: &[&str] = &[
    "sched_process_exec",
    "sched_process_fork",
    "sched_process_exit",
];

/// How to load the probe.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    /// Size of the plaintext ring buffer in bytes: a power of two, at least one page.
    pub ring_buffer_bytes: u32,
    /// Plaintext bytes captured per `SSL_*` call at most (up to [`MAX_CAPTURE_LIMIT`]); the
    /// rest of a larger call is dropped, flagged truncated and counted.
    pub max_capture_bytes: u32,
    /// Files to probe besides the discovered ones (libraries or executables exporting
    /// `SSL_write`).
    pub extra_targets: Vec<PathBuf>,
    /// Also probe the executables and libssl files of the processes running at load time, and
    /// the known runtimes that link OpenSSL in (node on `$PATH`) before they run.
    pub scan_processes: bool,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            ring_buffer_bytes: 64 << 20,
            max_capture_bytes: 1 << 20,
            extra_targets: Vec::new(),
            scan_processes: true,
        }
    }
}

/// A file the uprobes are attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedTarget {
    /// The path the probes were attached through.
    pub path: PathBuf,
    /// The TLS library probed there.
    pub lib: TlsLib,
    /// Functions probed (`SSL_write`, ...).
    pub attached: Vec<&'static str>,
    /// Functions the file does not have (e.g. OpenSSL 1.1 has no `_ex` variants) or that
    /// failed to attach.
    pub missing: Vec<&'static str>,
}

/// The loaded, attached probe.
pub struct Probe {
    ssl: Ebpf,
    process: Ebpf,
    ring: Option<Ring>,
    targets: Vec<AttachedTarget>,
    attached: HashSet<FileId>,
    /// Files checked and found to hold no TLS library, with their mtime (a rebuilt file is
    /// checked again).
    not_targets: HashSet<(FileId, i64)>,
    /// Our mount namespace (inode of `/proc/self/ns/mnt`), whose libraries are probed at load.
    own_mount_ns: Option<u64>,
}

impl Probe {
    /// Loads the probe, attaches the process tracepoints and every discovered target.
    ///
    /// Fails with an actionable message when the process lacks the privileges, the kernel
    /// lacks BTF, or no OpenSSL at all is found to attach to.
    pub fn load(cfg: &ProbeConfig) -> anyhow::Result<Probe> {
        check_config(cfg)?;
        check_privileges()?;
        let btf = Btf::from_sys_fs().context(
            "the kernel has no usable BTF at /sys/kernel/btf/vmlinux \
             (CONFIG_DEBUG_INFO_BTF=y is needed to load the aisensor probe)",
        )?;

        let mut ssl = EbpfLoader::new()
            .btf(Some(&btf))
            .override_global("max_capture_bytes", &cfg.max_capture_bytes, true)
            .map_max_entries("events", cfg.ring_buffer_bytes)
            .load(SSL_OBJ)
            .map_err(load_error)
            .context("loading the SSL probe (ssl.bpf.o)")?;
        for (name, prog) in ssl.programs_mut() {
            let prog: &mut UProbe = prog.try_into()?;
            prog.load()
                .map_err(load_error)
                .with_context(|| format!("loading BPF program {name}"))?;
        }

        let mut process = EbpfLoader::new()
            .btf(Some(&btf))
            .load(PROCESS_OBJ)
            .map_err(load_error)
            .context("loading the process probe (process.bpf.o)")?;
        for tp in RAW_TRACEPOINTS {
            let prog: &mut RawTracePoint = process
                .program_mut(tp)
                .with_context(|| format!("process.bpf.o has no program {tp}"))?
                .try_into()?;
            prog.load()
                .map_err(load_error)
                .with_context(|| format!("loading BPF program {tp}"))?;
            prog.attach(tp)
                .with_context(|| format!("attaching to raw tracepoint {tp}"))?;
        }

        let ring = Ring::new(
            take_ring(&mut process, "proc_events")?,
            take_ring(&mut ssl, "events")?,
        );
        let mut probe = Probe {
            ssl,
            process,
            ring: Some(ring),
            targets: Vec::new(),
            attached: HashSet::new(),
            not_targets: HashSet::new(),
            own_mount_ns: fs::metadata("/proc/self/ns/mnt").map(|m| m.ino()).ok(),
        };

        let libs = targets::find_libssl();
        if libs.is_empty() {
            log::warn!(
                "no {} found in /etc/ld.so.cache or {:?}",
                targets::LIBSSL_NAMES.join(" or "),
                targets::LIB_DIRS
            );
        }
        for lib in &libs {
            if let Err(e) = probe.attach_file(lib) {
                log::warn!("not probing {}: {e:#}", lib.display());
            }
        }
        for extra in &cfg.extra_targets {
            let attached = probe
                .attach_file(extra)
                .with_context(|| format!("extra target {}", extra.display()))?;
            if !attached && !probe.is_attached(extra) {
                bail!(
                    "extra target {} holds no TLS library the probe knows (no SSL_write, gnutls_record_send): nothing to probe there",
                    extra.display()
                );
            }
        }
        if cfg.scan_processes {
            for runtime in targets::find_runtimes() {
                if let Err(e) = probe.attach_file(&runtime) {
                    log::debug!("not probing {}: {e:#}", runtime.display());
                }
            }
            for pid in targets::pids() {
                probe.attach_process(pid);
            }
        }
        if probe.targets.is_empty() {
            bail!(
                "no OpenSSL to probe: no {} in /etc/ld.so.cache or {:?}, and no running \
                 executable exports SSL_write; install libssl3 or list the library in \
                 extra_targets",
                targets::LIBSSL_NAMES.join(" or "),
                targets::LIB_DIRS
            );
        }
        Ok(probe)
    }

    /// The files probed so far.
    pub fn targets(&self) -> Vec<AttachedTarget> {
        self.targets.clone()
    }

    /// Probes `path` (e.g. a newly exec'd file) if it holds a TLS library the probe knows.
    ///
    /// `Ok(true)`: newly attached. `Ok(false)`: already attached, or not a target (not an ELF
    /// file, no `SSL_write` export); such files are remembered and not read again. `Err`:
    /// the file cannot be read, or attaching failed.
    ///
    /// An exec record's filename is the path given to execve: it may be relative to the
    /// process's cwd, or name a file in another mount namespace. Use
    /// [`Probe::attach_process`] with the record's pid when the path does not resolve.
    pub fn attach_path(&mut self, path: &Path) -> anyhow::Result<bool> {
        self.attach_file(path)
    }

    /// Probes the executable and the mapped TLS libraries of process `pid` (paths resolved
    /// through `/proc/<pid>/root`, so a containerised process works). Returns how many files
    /// were newly attached; files that fail are logged, not fatal (the process may be gone).
    ///
    /// A process in another mount namespace than ours (a container, a bind-mounted library
    /// directory) also has the TLS libraries of its file system probed, found as
    /// [`targets::find_libssl`] finds the host's: at exec its libraries are not mapped yet, and
    /// its first TLS call may come before anything else would find them. Mounts change, so this
    /// is done at each exec there (a few dozen `stat`s; files already probed are skipped).
    pub fn attach_process(&mut self, pid: u32) -> usize {
        let mut files = targets::process_files(pid);
        let ns = fs::metadata(format!("/proc/{pid}/ns/mnt")).map(|m| m.ino());
        if ns.is_ok_and(|ns| Some(ns) != self.own_mount_ns) {
            files.extend(targets::find_libssl_in(Path::new(&format!(
                "/proc/{pid}/root"
            ))));
        }
        let mut n = 0;
        for file in files {
            match self.attach_file(&file) {
                Ok(true) => n += 1,
                Ok(false) => {}
                Err(e) => log::debug!("pid {pid}: not probing {}: {e:#}", file.display()),
            }
        }
        n
    }

    /// Activity and drop counters of the kernel side, summed over CPUs.
    pub fn counters(&self) -> anyhow::Result<KernelCounters> {
        let mut c = KernelCounters::default();
        c.add_from(&self.ssl)?;
        c.add_from(&self.process)?;
        Ok(c)
    }

    /// Waits at most `timeout` for records and hands each to `f`; see [`Ring::poll`].
    /// Fails if the ring was taken with [`Probe::take_ring`].
    pub fn poll(&mut self, timeout: Duration, f: impl FnMut(&[u8])) -> anyhow::Result<usize> {
        match &mut self.ring {
            Some(r) => r.poll(timeout, f),
            None => bail!("the probe's ring buffers were taken by take_ring()"),
        }
    }

    /// Hands the ring buffers over, e.g. to a drain thread, while this `Probe` keeps attaching
    /// and reading counters. `None` if already taken.
    pub fn take_ring(&mut self) -> Option<Ring> {
        self.ring.take()
    }

    fn is_attached(&self, path: &Path) -> bool {
        FileId::of(path).is_ok_and(|id| self.attached.contains(&id))
    }

    fn attach_file(&mut self, path: &Path) -> anyhow::Result<bool> {
        let meta = fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
        let id = FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        };
        if self.attached.contains(&id) || self.not_targets.contains(&(id, meta.mtime())) {
            return Ok(false);
        }
        if !meta.is_file() {
            bail!("{} is not a regular file", path.display());
        }
        let plans = match targets::plans(path) {
            Ok(p) if !p.is_empty() => p,
            // Not ELF, another architecture, or no TLS library: not a target, and will not be.
            _ => {
                self.not_targets.insert((id, meta.mtime()));
                return Ok(false);
            }
        };
        // Prefer a stable, readable path (/usr/bin/node over /proc/123/exe) when it names the
        // same file.
        let path = match fs::canonicalize(path) {
            Ok(p) if FileId::of(&p).is_ok_and(|i| i == id) => p,
            _ => path.to_path_buf(),
        };
        let mut any = false;
        for plan in &plans {
            let target = self.attach_plan(&path, plan);
            any |= !target.attached.is_empty();
            self.targets.push(target);
        }
        if !any {
            bail!(
                "could not attach any probe to {} (see the log)",
                path.display()
            );
        }
        self.attached.insert(id);
        Ok(true)
    }

    /// Attaches the hooks of `plan`; a function whose hooks do not all attach is reported
    /// missing (its entry may be left attached: the return probe goes first, so a lone entry
    /// cannot strand a stash).
    fn attach_plan(&mut self, path: &Path, plan: &Plan) -> AttachedTarget {
        let mut target = AttachedTarget {
            path: path.to_path_buf(),
            lib: plan.lib,
            attached: Vec::new(),
            missing: plan.missing.clone(),
        };
        for function in plan.functions() {
            let res = plan
                .hooks
                .iter()
                .filter(|h| h.function == function)
                .try_for_each(|h| {
                    let point = UProbeAttachPoint {
                        location: UProbeAttachLocation::AbsoluteOffset(h.offset),
                        cookie: Some(u64::from(plan.lib.code())),
                    };
                    uprobe(&mut self.ssl, h.program)?
                        .attach(point, path, UProbeScope::AllProcesses)
                        .with_context(|| {
                            format!(
                                "attaching {} to {function} in {}",
                                h.program,
                                path.display()
                            )
                        })?;
                    anyhow::Ok(())
                });
            match res {
                Ok(()) => target.attached.push(function),
                Err(e) => {
                    log::warn!("{e:#}");
                    target.missing.push(function);
                }
            }
        }
        if !target.missing.is_empty() {
            log::info!(
                "{}: probing {} without {} (not there, or failed to attach)",
                path.display(),
                plan.lib.name(),
                target.missing.join(", ")
            );
        }
        log::debug!("probing {} ({})", path.display(), plan.lib.name());
        target
    }
}

fn uprobe<'a>(ebpf: &'a mut Ebpf, name: &str) -> anyhow::Result<&'a mut UProbe> {
    let prog = ebpf
        .program_mut(name)
        .with_context(|| format!("ssl.bpf.o has no program {name}"))?;
    Ok(prog.try_into()?)
}

fn take_ring(ebpf: &mut Ebpf, name: &str) -> anyhow::Result<RingBuf<MapData>> {
    let map = ebpf
        .take_map(name)
        .with_context(|| format!("the probe has no map {name}"))?;
    Ok(RingBuf::try_from(map)?)
}

fn check_config(cfg: &ProbeConfig) -> anyhow::Result<()> {
    let rb = cfg.ring_buffer_bytes;
    if rb < 4096 || !rb.is_power_of_two() {
        bail!("ring_buffer_bytes must be a power of two of at least 4096, not {rb}");
    }
    if cfg.max_capture_bytes > MAX_CAPTURE_LIMIT {
        bail!(
            "max_capture_bytes must be at most {MAX_CAPTURE_LIMIT}, not {}",
            cfg.max_capture_bytes
        );
    }
    Ok(())
}

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;
const PRIVILEGE_HINT: &str = "run as root or with CAP_BPF+CAP_PERFMON";

/// Fails early, with the fix, when the process cannot load BPF programs or open uprobes.
fn check_privileges() -> anyhow::Result<()> {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    check_capabilities(&status)
}

/// The capability check of [`check_privileges`] on the text of `/proc/<pid>/status`.
fn check_capabilities(status: &str) -> anyhow::Result<()> {
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    let has = |cap: u32| caps & (1u64 << cap) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        Ok(())
    } else {
        bail!(
            "loading the eBPF probe needs CAP_BPF and CAP_PERFMON (effective capabilities \
             {caps:#x}): {PRIVILEGE_HINT}"
        )
    }
}

/// Turns a permission failure of a load into the privilege hint, keeping other errors (the
/// verifier log is in their message).
fn load_error<E: std::error::Error + Send + Sync + 'static>(e: E) -> anyhow::Error {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.raw_os_error() == Some(libc::EPERM) {
                return anyhow::Error::new(e).context(PRIVILEGE_HINT);
            }
        }
        src = s.source();
    }
    anyhow::Error::new(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_validated() {
        let ok = ProbeConfig::default();
        assert!(check_config(&ok).is_ok());
        let bad_ring = ProbeConfig {
            ring_buffer_bytes: 3 << 20,
            ..ProbeConfig::default()
        };
        assert!(check_config(&bad_ring)
            .unwrap_err()
            .to_string()
            .contains("power of two"));
        let bad_cap = ProbeConfig {
            max_capture_bytes: MAX_CAPTURE_LIMIT + 1,
            ..ProbeConfig::default()
        };
        assert!(check_config(&bad_cap).is_err());
    }

    #[test]
    fn capabilities_are_checked_with_an_actionable_message() {
        let root = "Name:\tx\nCapEff:\t000001ffffffffff\n";
        assert!(check_capabilities(root).is_ok());
        let bpf_perfmon = format!("CapEff:\t{:016x}\n", (1u64 << 39) | (1u64 << 38));
        assert!(check_capabilities(&bpf_perfmon).is_ok());
        for status in [
            "CapEff:\t0000000000000000\n",
            "CapEff:\t0000008000000000\n",
            "",
        ] {
            let err = check_capabilities(status).unwrap_err().to_string();
            assert!(
                err.contains("run as root or with CAP_BPF+CAP_PERFMON"),
                "{err}"
            );
        }
    }

    #[test]
    fn probe_and_ring_can_move_to_another_thread() {
        fn send<T: Send>() {}
        send::<Probe>();
        send::<Ring>();
    }
}
