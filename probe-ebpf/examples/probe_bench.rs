//! Rough cost of capture on this machine: `cargo run --release -p aisensor-probe --example
//! probe_bench` (as root; needs python3 and openssl). A Python client writes N messages of a
//! given size over one TLS connection to a local `openssl s_server`, first untraced, then with
//! the probe loaded and drained on another thread. Prints µs per SSL_write_ex and MB/s.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aisensor_probe::{Probe, ProbeConfig};

const CLIENT: &str = r#"
import socket, ssl, sys, time
port, n, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
msg = b"x" * size
t = time.perf_counter()
for _ in range(n):
    s.sendall(msg)
print(time.perf_counter() - t)
"#;

fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("aisensor-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (cert, key) = (dir.join("c.pem"), dir.join("k.pem"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()?;
    anyhow::ensure!(ok.success(), "openssl req failed");
    let port = 18000 + (std::process::id() % 1000) as u16;
    let mut server = Command::new("openssl")
        .args(["s_server", "-quiet", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    std::thread::sleep(Duration::from_millis(300));

    let run = |n: u32, size: u32| -> anyhow::Result<f64> {
        let out = Command::new("python3")
            .args([
                "-c",
                CLIENT,
                &port.to_string(),
                &n.to_string(),
                &size.to_string(),
            ])
            .output()?;
        anyhow::ensure!(out.status.success(), "client: {out:?}");
        let line = BufReader::new(&out.stdout[..]).lines().next().unwrap()?;
        Ok(line.trim().parse()?)
    };
    let cases = [(20_000u32, 64u32), (5_000, 16 * 1024), (400, 256 * 1024)];
    let mut base = Vec::new();
    for (n, size) in cases {
        base.push(run(n, size)?);
    }

    let mut probe = Probe::load(&ProbeConfig {
        scan_processes: false,
        ..Default::default()
    })?;
    let mut ring = probe.take_ring().expect("ring");
    let stop = Arc::new(AtomicBool::new(false));
    let records = Arc::new(AtomicU64::new(0));
    let drain = {
        let (stop, records) = (stop.clone(), records.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let n = ring.poll(Duration::from_millis(50), |_| {}).unwrap();
                records.fetch_add(n as u64, Ordering::Relaxed);
            }
        })
    };
    for ((n, size), base) in cases.into_iter().zip(base) {
        let before = records.load(Ordering::Relaxed);
        let traced = run(n, size)?;
        std::thread::sleep(Duration::from_millis(200));
        let got = records.load(Ordering::Relaxed) - before;
        println!(
            "{n} x {size} B: untraced {:.1} µs/call ({:.0} MB/s), traced {:.1} µs/call ({:.0} MB/s, {:.0} records/s drained)",
            base * 1e6 / n as f64,
            n as f64 * size as f64 / base / 1e6,
            traced * 1e6 / n as f64,
            n as f64 * size as f64 / traced / 1e6,
            got as f64 / traced,
        );
    }
    stop.store(true, Ordering::Relaxed);
    drain.join().unwrap();
    println!("{:?}", probe.counters()?);
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
