//! Loads the probe and prints every record: `cargo run -p aisensor-probe --example probe_dump`
//! (as root). Optional arguments: extra files to probe. Stops after 60 s or on Ctrl-C.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use aisensor_event::raw::RawRecord;
use aisensor_probe::{Probe, ProbeConfig};

fn main() -> anyhow::Result<()> {
    let cfg = ProbeConfig {
        extra_targets: std::env::args().skip(1).map(PathBuf::from).collect(),
        ..ProbeConfig::default()
    };
    let mut probe = Probe::load(&cfg)?;
    for t in probe.targets() {
        eprintln!(
            "probing {} ({:?}, missing {:?})",
            t.path.display(),
            t.attached,
            t.missing
        );
    }
    let start = Instant::now();
    let mut exec_paths = Vec::new();
    while start.elapsed() < Duration::from_secs(60) {
        probe.poll(Duration::from_millis(200), |b| match RawRecord::parse(b) {
            Ok(RawRecord::Ssl(r)) => {
                let head: String = String::from_utf8_lossy(&r.data[..r.data.len().min(60)])
                    .chars()
                    .map(|c| if c.is_control() { '.' } else { c })
                    .collect();
                println!(
                    "ssl  pid={} tid={} comm={} {:?} {:?} ssl={:#x} call_len={} off={} len={}{} {head}",
                    r.hdr.pid,
                    r.hdr.tid,
                    r.hdr.comm(),
                    r.func,
                    r.dir,
                    r.ssl,
                    r.call_len,
                    r.offset,
                    r.data.len(),
                    if r.truncated() { " TRUNCATED" } else { "" },
                );
            }
            Ok(RawRecord::SslFree(f)) => {
                println!("free pid={} comm={} ssl={:#x}", f.hdr.pid, f.hdr.comm(), f.ssl)
            }
            Ok(RawRecord::Exec(p)) => {
                println!("exec pid={} ppid={} comm={} {}", p.hdr.pid, p.ppid, p.hdr.comm(), p.filename);
                exec_paths.push(p.hdr.pid);
            }
            Ok(RawRecord::Fork(p)) => {
                println!("fork pid={} child={} ppid={}", p.hdr.pid, p.child_pid, p.ppid)
            }
            Ok(RawRecord::Exit(p)) => println!(
                "exit pid={} ppid={} comm={} code={:#x}",
                p.hdr.pid,
                p.ppid,
                p.hdr.comm(),
                p.exit_code
            ),
            Err(e) => println!("bad record: {e}"),
        })?;
        // New executables (node, ...) are probed once their exec is seen.
        for pid in exec_paths.drain(..) {
            probe.attach_process(pid);
        }
    }
    eprintln!("{:?}", probe.counters()?);
    Ok(())
}
