//! The real probe against real TLS clients on 127.0.0.1: the plaintext each client sent and
//! received arrives, attributed to the client's pid, with the right direction and function.

mod common;

use std::path::Path;
use std::process::Command;

use aisensor_event::raw::{Direction, SslFunc, TlsLib, CHUNK_LEN};
use aisensor_probe::ProbeConfig;
use common::*;

#[test]
fn curl_request_and_response_arrive_via_ssl_write_and_ssl_read() {
    let mut probe = load(&test_config());
    let srv = server();
    let marker = format!("/curl-marker-{}", std::process::id());
    let (pid, out) = run(Command::new("curl")
        .args(["-sk", "--max-time", "10"])
        .arg(format!("https://127.0.0.1:{}{marker}", srv.port)));
    assert!(out.status.success(), "curl failed: {out:?}");
    let reply = format!("pong {marker}");

    let seen = collect(&mut probe, &[pid], |s| {
        contains(&s.stream(pid, Direction::Read), reply.as_bytes())
    });
    let sent = seen.stream(pid, Direction::Write);
    let request_line = format!("GET {marker} HTTP/1.1\r\n");
    assert!(
        sent.starts_with(request_line.as_bytes()),
        "{:?}",
        String::from_utf8_lossy(&sent)
    );
    for r in seen.ssl_of(pid) {
        assert_eq!(r.comm, "curl");
        let want = match r.dir {
            Direction::Write => SslFunc::SslWrite,
            Direction::Read => SslFunc::SslRead,
        };
        assert_eq!(r.func, want, "curl uses SSL_read/SSL_write");
        assert_eq!(r.lib, TlsLib::OpenSsl);
        assert_eq!(
            r.call_len as usize,
            r.data.len(),
            "small calls fit one record"
        );
        assert_eq!(r.offset, 0);
        assert_ne!(r.ssl, 0);
    }
    let c = probe.counters().unwrap();
    assert_eq!(c.ring_drops, 0, "{c:?}");
    assert!(c.ssl_records >= 2, "{c:?}");
}

#[test]
fn wget_is_captured_through_gnutls() {
    // Debian's wget links GnuTLS, not OpenSSL.
    let mut probe = load(&test_config());
    assert!(
        probe.targets().iter().any(|t| t.lib == TlsLib::GnuTls),
        "libgnutls.so.30 must be found and probed: {:?}",
        probe.targets()
    );
    let srv = server();
    let marker = format!("/wget-marker-{}", std::process::id());
    let (pid, out) = run(Command::new("wget")
        .args([
            "-q",
            "-O",
            "-",
            "--no-check-certificate",
            "--timeout=10",
            "--tries=1",
        ])
        .arg(format!("https://127.0.0.1:{}{marker}", srv.port)));
    assert!(out.status.success(), "wget failed: {out:?}");
    let reply = format!("pong {marker}");

    // wget ends its session with gnutls_deinit before it exits.
    let seen = collect(&mut probe, &[pid], |s| {
        contains(&s.stream(pid, Direction::Read), reply.as_bytes()) && !s.frees.is_empty()
    });
    let sent = seen.stream(pid, Direction::Write);
    let request_line = format!("GET {marker} HTTP/1.1\r\n");
    assert!(
        sent.starts_with(request_line.as_bytes()),
        "{:?}",
        String::from_utf8_lossy(&sent)
    );
    assert!(seen
        .stream(pid, Direction::Read)
        .starts_with(b"HTTP/1.1 200"));
    let session = seen.ssl_of(pid)[0].ssl;
    for r in seen.ssl_of(pid) {
        assert_eq!(r.lib, TlsLib::GnuTls, "{r:?}");
        assert_eq!(r.ssl, session, "one gnutls_session_t");
    }
    assert!(seen.frees.contains(&(pid, session)), "{:?}", seen.frees);
}

#[test]
fn python_uses_the_ex_functions() {
    let mut probe = load(&test_config());
    let srv = server();
    let marker = format!("/py-marker-{}", std::process::id());
    let (pid, out) = python_client(srv.port, &["get", &marker]);
    let reply = format!("pong {marker}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&reply));

    // The client closes its connection before it exits: SSL_free ends it.
    let seen = collect(&mut probe, &[pid], |s| {
        contains(&s.stream(pid, Direction::Read), reply.as_bytes()) && !s.frees.is_empty()
    });
    let sent = seen.stream(pid, Direction::Write);
    assert_eq!(
        sent,
        format!("GET {marker} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes()
    );
    let received = seen.stream(pid, Direction::Read);
    assert!(received.starts_with(b"HTTP/1.1 200 OK\r\n"));
    for r in seen.ssl_of(pid) {
        let want = match r.dir {
            Direction::Write => SslFunc::SslWriteEx,
            Direction::Read => SslFunc::SslReadEx,
        };
        assert_eq!(r.func, want, "Python's _ssl uses SSL_read_ex/SSL_write_ex");
    }
    // One connection: one SSL* for every record.
    let ssl = seen.ssl_of(pid)[0].ssl;
    assert!(seen.ssl_of(pid).iter().all(|r| r.ssl == ssl));
    assert_eq!(
        seen.frees,
        vec![(pid, ssl)],
        "one SSL_free, of that connection"
    );
    let c = probe.counters().unwrap();
    assert_eq!((c.ring_drops, c.free_drops), (0, 0), "{c:?}");
    assert!(c.ssl_frees >= 1, "{c:?}");
}

#[test]
fn node_is_probed_through_its_own_statically_linked_openssl() {
    let node = Path::new("/usr/bin/node");
    assert!(
        node.is_file(),
        "/usr/bin/node is needed (apt-get install nodejs)"
    );
    let mut probe = load(&test_config());
    // As the plugin does when it sees node exec: probe the executable itself.
    assert!(probe.attach_path(node).unwrap(), "node exports SSL_write");
    assert!(!probe.attach_path(node).unwrap(), "already attached");
    let t = probe
        .targets()
        .into_iter()
        .find(|t| t.path == node)
        .expect("node is listed as a target");
    assert!(t.attached.contains(&"SSL_write") && t.attached.contains(&"SSL_read"));

    let srv = server();
    let marker = format!("/node-marker-{}", std::process::id());
    let script = format!(
        "require('https').get({{host: '127.0.0.1', port: {}, path: '{marker}', \
         rejectUnauthorized: false}}, r => {{ let b = ''; r.on('data', d => b += d); \
         r.on('end', () => console.log(b)); }}).on('error', e => {{ console.error(e); \
         process.exit(1); }});",
        srv.port
    );
    let (pid, out) = run(Command::new(node).arg("-e").arg(&script));
    assert!(out.status.success(), "node failed: {out:?}");
    let reply = format!("pong {marker}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&reply));

    let seen = collect(&mut probe, &[pid], |s| {
        contains(&s.stream(pid, Direction::Read), reply.as_bytes())
    });
    let sent = seen.stream(pid, Direction::Write);
    assert!(
        sent.starts_with(format!("GET {marker} HTTP/1.1\r\n").as_bytes()),
        "{:?}",
        String::from_utf8_lossy(&sent)
    );
    assert_eq!(probe.counters().unwrap().ring_drops, 0);
}

#[test]
fn a_300_kib_write_arrives_whole_in_contiguous_records() {
    let mut probe = load(&test_config());
    let srv = server();
    let n = 300 * 1024;
    let path = format!("/big-{}", std::process::id());
    let (pid, _) = python_client(srv.port, &["post", &path, &n.to_string()]);
    let head = format!("POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {n}\r\n\r\n");
    let mut expected = head.into_bytes();
    expected.extend(pattern(n));
    let call_len = expected.len() as u32;

    let seen = collect(&mut probe, &[pid], |s| {
        s.ssl_of(pid).iter().any(|r| {
            r.dir == Direction::Write && r.offset as usize + r.data.len() == expected.len()
        })
    });
    let recs: Vec<&Ssl> = seen
        .ssl_of(pid)
        .into_iter()
        .filter(|r| r.dir == Direction::Write)
        .collect();
    assert_eq!(
        recs.len(),
        expected.len().div_ceil(CHUNK_LEN),
        "one record per 16 KiB"
    );
    let mut next = 0u32;
    for r in &recs {
        assert_eq!(
            r.call_len, call_len,
            "every record carries the whole call's length"
        );
        assert_eq!(r.offset, next, "offsets are contiguous, in order");
        assert!(r.data.len() <= CHUNK_LEN);
        assert!(!r.truncated());
        assert_eq!(r.func, SslFunc::SslWriteEx);
        assert_eq!((r.tid, r.ssl), (recs[0].tid, recs[0].ssl));
        next += r.data.len() as u32;
    }
    let got: Vec<u8> = recs.iter().flat_map(|r| r.data.iter().copied()).collect();
    assert!(got == expected, "the plaintext arrives byte for byte");
    let c = probe.counters().unwrap();
    assert_eq!((c.ring_drops, c.truncated_calls), (0, 0), "{c:?}");
}

#[test]
fn a_write_beyond_the_cap_is_truncated_flagged_and_counted() {
    let cap = 64 * 1024;
    let mut probe = load(&ProbeConfig {
        max_capture_bytes: cap,
        ..test_config()
    });
    let before = probe.counters().unwrap();
    let srv = server();
    let n = 200 * 1024;
    let path = format!("/capped-{}", std::process::id());
    let (pid, _) = python_client(srv.port, &["post", &path, &n.to_string()]);
    let head = format!("POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {n}\r\n\r\n");
    let call_len = head.len() + n;

    let seen = collect(&mut probe, &[pid], |s| {
        s.ssl_of(pid)
            .iter()
            .any(|r| r.dir == Direction::Write && r.truncated())
    });
    let recs: Vec<&Ssl> = seen
        .ssl_of(pid)
        .into_iter()
        .filter(|r| r.dir == Direction::Write)
        .collect();
    assert_eq!(recs.len(), cap as usize / CHUNK_LEN);
    let last = recs.last().unwrap();
    assert!(last.truncated(), "the last captured record is flagged");
    assert!(recs[..recs.len() - 1].iter().all(|r| !r.truncated()));
    assert_eq!(last.offset as usize + last.data.len(), cap as usize);
    assert!(recs.iter().all(|r| r.call_len as usize == call_len));
    let got: Vec<u8> = recs.iter().flat_map(|r| r.data.iter().copied()).collect();
    assert!(got.starts_with(head.as_bytes()));
    assert!(got[head.len()..] == pattern(n)[..cap as usize - head.len()]);

    let after = probe.counters().unwrap();
    // Other processes on the machine may be traced too: at least ours is counted.
    assert!(after.truncated_calls > before.truncated_calls, "{after:?}");
    assert!(
        after.truncated_bytes - before.truncated_bytes >= (call_len - cap as usize) as u64,
        "{after:?}"
    );
    assert_eq!(after.ring_drops, 0);
}

#[test]
fn a_full_ring_drops_whole_records_and_counts_them() {
    // 64 KiB of ring holds 3 records of 16 KiB: a 300 KiB write cannot fit while nobody
    // drains. What does not fit is counted; what was counted as written all arrives.
    let mut probe = load(&ProbeConfig {
        ring_buffer_bytes: 64 * 1024,
        ..test_config()
    });
    let srv = server();
    let n = 300 * 1024;
    let path = format!("/overflow-{}", std::process::id());
    let (pid, _) = python_client(srv.port, &["post", &path, &n.to_string()]);
    let c = probe.counters().unwrap();

    // Drain everything (every pid), keep ours.
    let mut total = 0u64;
    let mut ours: Vec<(u32, usize, u32)> = Vec::new();
    while probe
        .poll(std::time::Duration::from_millis(200), |b| {
            total += 1;
            if let Ok(aisensor_event::raw::RawRecord::Ssl(r)) =
                aisensor_event::raw::RawRecord::parse(b)
            {
                if r.hdr.pid == pid && r.dir == Direction::Write {
                    ours.push((r.offset, r.data.len(), r.call_len));
                }
            }
        })
        .unwrap()
        > 0
    {}
    let after = probe.counters().unwrap();
    assert!(c.ring_drops > 0, "the ring must have overflowed: {c:?}");
    // Other tests' clients may fill the ring first: ours may be empty, never complete.
    assert!(ours.len() < n / CHUNK_LEN, "{ours:?}");
    // What we got is a prefix of the call: the copy stops at the first failed output.
    let mut next = 0;
    for (off, len, _) in &ours {
        assert_eq!(*off as usize, next);
        next += len;
    }
    let head = format!("POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {n}\r\n\r\n");
    let call_len = (head.len() + n) as u64;
    assert!(ours.iter().all(|r| r.2 as u64 == call_len));
    let missing_records = call_len.div_ceil(CHUNK_LEN as u64) - ours.len() as u64;
    assert!(c.ring_drops >= missing_records, "{c:?}");
    assert!(c.ring_drop_bytes >= call_len - next as u64, "{c:?}");
    // Every record the kernel counted as written reached userspace.
    let written = after.ssl_records + after.ssl_frees + after.proc_records;
    assert!(
        total <= written && total >= c.ssl_records,
        "{total} vs {c:?}"
    );
}

#[test]
fn node_seen_at_exec_is_attached_and_then_captured() {
    // The plugin's flow: an exec record names a new executable; attach_path probes it; its
    // later TLS calls are captured. node waits for a go-file before its request (a real agent
    // also starts up before its first API call; here the wait is explicit, not timed).
    let mut probe = load(&test_config());
    let srv = server();
    let dir = TempDir::new("node-exec");
    let go = dir.0.join("go");
    let marker = format!("/node-exec-{}", std::process::id());
    let script = format!(
        "const fs = require('fs'); const t = setInterval(() => {{ if (!fs.existsSync({go:?})) \
         return; clearInterval(t); require('https').get({{host: '127.0.0.1', port: {}, \
         path: '{marker}', rejectUnauthorized: false}}, r => r.resume()); }}, 20); \
         setTimeout(() => process.exit(3), 14000);",
        srv.port
    );
    let child = Guard(
        Command::new("/usr/bin/node")
            .arg("-e")
            .arg(&script)
            .spawn()
            .expect("running /usr/bin/node"),
    );
    let pid = child.0.id();
    let seen = collect(&mut probe, &[], |s| {
        s.procs
            .iter()
            .any(|(k, p)| *k == ProcKind::Exec && p.hdr.pid == pid)
    });
    let exec = seen
        .procs
        .iter()
        .find(|(k, p)| *k == ProcKind::Exec && p.hdr.pid == pid)
        .unwrap();
    assert_eq!(exec.1.filename, "/usr/bin/node");
    assert!(probe.attach_path(Path::new(&exec.1.filename)).unwrap());
    std::fs::write(&go, "").unwrap();

    let seen = collect(&mut probe, &[pid], |s| {
        contains(&s.stream(pid, Direction::Write), marker.as_bytes())
    });
    assert!(seen.ssl_of(pid).iter().all(|r| r.comm == "node"));
    drop(child);
}
