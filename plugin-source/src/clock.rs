//! The probe stamps records with CLOCK_MONOTONIC; Falco wants wall-clock time.

fn now(clock: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// Now, in the probe's clock (`bpf_ktime_get_ns`).
pub fn mono_ns() -> u64 {
    now(libc::CLOCK_MONOTONIC) as u64
}

/// Wall-clock minus monotonic, taken once at open.
pub fn wall_minus_mono_ns() -> i64 {
    now(libc::CLOCK_REALTIME) - now(libc::CLOCK_MONOTONIC)
}
