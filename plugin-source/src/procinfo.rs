//! Process identity for events: read from `/proc` when live, from the recording when replaying.

use aisensor_decode::pipeline::ProcSource;
use aisensor_event::payload::Proc;
use std::collections::HashMap;
use std::fs;

/// Longest command line kept.
const MAX_CMDLINE: usize = 4096;
/// Processes remembered at most (entries leave at exit; this bounds a missed exit).
const MAX_CACHED: usize = 65_536;

/// Reads `/proc/<pid>` once per process (again after it execs).
#[derive(Default)]
pub struct LiveProcs {
    cache: HashMap<u32, Proc>,
    /// Identities resolved since the last `take_resolved`, for the recorder.
    resolved: Vec<Proc>,
    record: bool,
}

impl LiveProcs {
    /// `record`: keep resolved identities for [`LiveProcs::take_resolved`].
    pub fn new(record: bool) -> Self {
        Self {
            record,
            ..Default::default()
        }
    }

    pub fn take_resolved(&mut self) -> Vec<Proc> {
        std::mem::take(&mut self.resolved)
    }
}

impl ProcSource for LiveProcs {
    fn lookup(&mut self, pid: u32, comm: &str) -> Proc {
        if let Some(p) = self.cache.get(&pid) {
            return p.clone();
        }
        if self.cache.len() >= MAX_CACHED {
            self.cache.clear();
        }
        let p = read_proc(pid, comm);
        if self.record {
            self.resolved.push(p.clone());
        }
        self.cache.insert(pid, p.clone());
        p
    }

    fn exec(&mut self, pid: u32) {
        self.cache.remove(&pid);
    }

    fn exit(&mut self, pid: u32) {
        self.cache.remove(&pid);
    }
}

/// What `/proc/<pid>` says; `comm` alone if the process is already gone.
pub fn read_proc(pid: u32, comm: &str) -> Proc {
    let dir = format!("/proc/{pid}");
    let mut p = Proc {
        pid,
        name: comm.to_string(),
        ..Default::default()
    };
    if let Ok(exe) = fs::read_link(format!("{dir}/exe")) {
        p.exe = exe.to_string_lossy().into_owned();
    }
    if let Ok(raw) = fs::read(format!("{dir}/cmdline")) {
        let raw = &raw[..raw.len().min(MAX_CMDLINE)];
        let args: Vec<_> = raw
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(String::from_utf8_lossy)
            .collect();
        p.cmdline = args.join(" ");
    }
    if let Ok(status) = fs::read_to_string(format!("{dir}/status")) {
        for line in status.lines() {
            if let Some(v) = line.strip_prefix("PPid:") {
                p.ppid = v.trim().parse().unwrap_or(0);
            } else if let Some(v) = line.strip_prefix("Uid:") {
                p.uid = v.split_whitespace().next().and_then(|u| u.parse().ok());
            } else if let Some(v) = line.strip_prefix("Name:") {
                // The process's name, not the calling thread's (Claude Code's TLS runs on a
                // thread called "HTTP Client").
                p.name = v.trim().to_string();
            }
        }
    }
    p
}

/// Identities stored in a recording.
#[derive(Default)]
pub struct RecordedProcs {
    known: HashMap<u32, Proc>,
}

impl RecordedProcs {
    pub fn insert(&mut self, p: Proc) {
        self.known.insert(p.pid, p);
    }
}

impl ProcSource for RecordedProcs {
    fn lookup(&mut self, pid: u32, comm: &str) -> Proc {
        self.known.get(&pid).cloned().unwrap_or_else(|| Proc {
            pid,
            name: comm.to_string(),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        let p = read_proc(me, "fallback");
        assert_eq!(p.pid, me);
        assert_eq!(p.exe, std::env::current_exe().unwrap().to_string_lossy());
        assert!(p.ppid > 0);
        assert!(!p.cmdline.is_empty());
        let comm = fs::read_to_string(format!("/proc/{me}/comm")).unwrap();
        assert_eq!(p.name, comm.trim());
    }

    #[test]
    fn a_gone_process_keeps_its_comm() {
        let p = read_proc(u32::MAX - 1, "curl");
        assert_eq!(p.name, "curl");
        assert!(p.exe.is_empty());
    }
}
