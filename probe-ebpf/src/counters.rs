//! The probe's per-CPU activity and drop counters, summed over CPUs.
//!
//! Mirrors `bpf/counters.h` (a test below reads the header and checks both agree). Each BPF
//! object has its own `counters` map with the same layout; [`KernelCounters`] is their sum.

use aya::maps::{MapData, PerCpuArray};
use aya::Ebpf;

/// Totals since the probe was loaded. Every way the kernel side can lose data has a counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelCounters {
    /// SSL records written to the ring buffer.
    pub ssl_records: u64,
    /// Plaintext bytes in those records.
    pub ssl_bytes: u64,
    /// SSL records lost because the ring buffer was full.
    pub ring_drops: u64,
    /// Plaintext bytes in those lost records.
    pub ring_drop_bytes: u64,
    /// Calls that moved more than `max_capture_bytes`.
    pub truncated_calls: u64,
    /// Bytes of those calls past the cap (not captured).
    pub truncated_bytes: u64,
    /// Calls not captured because their entry could not be stashed (map full).
    pub stash_failures: u64,
    /// Failed reads of user or kernel memory.
    pub read_failures: u64,
    /// Plaintext bytes lost to those failures.
    pub read_failure_bytes: u64,
    /// Calls skipped because the per-CPU scratch buffer was in use (preemption).
    pub scratch_busy: u64,
    /// Plaintext bytes of those calls.
    pub scratch_busy_bytes: u64,
    /// Returns without a matching entry (call in flight at attach time): not captured.
    pub unmatched_returns: u64,
    /// exec/fork/exit records written.
    pub proc_records: u64,
    /// exec/fork/exit records lost because their ring buffer was full.
    pub proc_drops: u64,
    /// `SSL_free` records written (connections that ended).
    pub ssl_frees: u64,
    /// `SSL_free` records lost because the ring buffer was full (their connections are
    /// forgotten later, when idle or when the process exits).
    pub free_drops: u64,
}

/// Number of counters (`AISENSOR_CNT_MAX`).
pub(crate) const COUNT: u32 = 16;

impl KernelCounters {
    /// Counter names in index order, as in `bpf/counters.h` without the `AISENSOR_CNT_` prefix.
    pub const NAMES: [&'static str; COUNT as usize] = [
        "ssl_records",
        "ssl_bytes",
        "ring_drops",
        "ring_drop_bytes",
        "truncated_calls",
        "truncated_bytes",
        "stash_failures",
        "read_failures",
        "read_failure_bytes",
        "scratch_busy",
        "scratch_busy_bytes",
        "unmatched_returns",
        "proc_records",
        "proc_drops",
        "ssl_frees",
        "free_drops",
    ];

    fn slot(&mut self, idx: u32) -> Option<&mut u64> {
        Some(match idx {
            0 => &mut self.ssl_records,
            1 => &mut self.ssl_bytes,
            2 => &mut self.ring_drops,
            3 => &mut self.ring_drop_bytes,
            4 => &mut self.truncated_calls,
            5 => &mut self.truncated_bytes,
            6 => &mut self.stash_failures,
            7 => &mut self.read_failures,
            8 => &mut self.read_failure_bytes,
            9 => &mut self.scratch_busy,
            10 => &mut self.scratch_busy_bytes,
            11 => &mut self.unmatched_returns,
            12 => &mut self.proc_records,
            13 => &mut self.proc_drops,
            14 => &mut self.ssl_frees,
            15 => &mut self.free_drops,
            _ => return None,
        })
    }

    /// `(name, value)` pairs in index order, e.g. for plugin metrics.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        let mut copy = *self;
        let values: Vec<u64> = (0..COUNT).map(|i| *copy.slot(i).unwrap()).collect();
        Self::NAMES.into_iter().zip(values)
    }

    /// Everything lost on the kernel side, in calls or records (not bytes): zero means
    /// nothing was dropped. Unmatched returns are not counted: they are calls that started
    /// before the probe was there.
    pub fn dropped(&self) -> u64 {
        self.ring_drops
            + self.truncated_calls
            + self.stash_failures
            + self.read_failures
            + self.scratch_busy
            + self.proc_drops
            + self.free_drops
    }

    /// Adds the `counters` map of one loaded object.
    pub(crate) fn add_from(&mut self, ebpf: &Ebpf) -> anyhow::Result<()> {
        let map = ebpf
            .map("counters")
            .ok_or_else(|| anyhow::anyhow!("the probe object has no `counters` map"))?;
        let arr: PerCpuArray<&MapData, u64> = PerCpuArray::try_from(map)?;
        for idx in 0..COUNT.min(arr.len()) {
            let per_cpu = arr.get(&idx, 0)?;
            let sum: u64 = per_cpu.iter().copied().fold(0u64, u64::wrapping_add);
            if let Some(s) = self.slot(idx) {
                *s = s.wrapping_add(sum);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_indexes_match_the_c_header() {
        let header = include_str!("../bpf/counters.h");
        let mut found = Vec::new();
        for line in header.lines() {
            let line = line.trim();
            let Some(rest) = line.strip_prefix("AISENSOR_CNT_") else {
                continue;
            };
            let (name, value) = rest.split_once('=').expect("`NAME = n,` lines");
            let value: u32 = value
                .trim()
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap();
            found.push((name.trim().to_ascii_lowercase(), value));
        }
        let (max, values) = found.split_last().unwrap();
        assert_eq!(max, &("max".to_string(), COUNT));
        for (i, (name, value)) in values.iter().enumerate() {
            assert_eq!(*value as usize, i, "{name} is not numbered in order");
            assert_eq!(name, KernelCounters::NAMES[i]);
        }
        assert_eq!(values.len(), COUNT as usize);
    }

    #[test]
    fn dropped_sums_the_loss_counters() {
        let c = KernelCounters {
            ring_drops: 1,
            truncated_calls: 2,
            proc_drops: 3,
            ssl_records: 100,
            unmatched_returns: 7,
            ..Default::default()
        };
        assert_eq!(c.dropped(), 6);
        assert_eq!(
            c.iter().find(|(n, _)| *n == "proc_drops"),
            Some(("proc_drops", 3))
        );
    }
}
