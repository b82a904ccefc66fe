//! The process tracepoints: a spawned child's fork, exec and exit arrive with the right pids,
//! filename and exit status.

mod common;

use std::process::Command;

use common::*;

#[test]
fn fork_exec_exit_of_a_child_and_its_grandchild() {
    let mut probe = load(&test_config());
    let me = std::process::id();
    // The child (sh) forks a grandchild that execs /bin/true, then exits with status 7.
    let (child, out) = run(Command::new("/bin/sh").args(["-c", "/bin/true; exit 7"]));
    assert_eq!(out.status.code(), Some(7));

    let grandchild = |s: &Seen| {
        s.procs
            .iter()
            .find(|(k, p)| *k == ProcKind::Fork && p.hdr.pid == child)
            .map(|(_, p)| p.child_pid)
    };
    let seen = collect(&mut probe, &[], |s| {
        let Some(gc) = grandchild(s) else {
            return false;
        };
        let exit_of = |pid| {
            s.procs
                .iter()
                .any(|(k, p)| *k == ProcKind::Exit && p.hdr.pid == pid)
        };
        exit_of(child) && exit_of(gc)
    });
    let find = |kind, pid| {
        seen.procs
            .iter()
            .find(|(k, p)| *k == kind && p.hdr.pid == pid)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| panic!("no {kind:?} record of pid {pid}: {:#?}", seen.procs))
    };

    // fork: reported by the parent (this test process, any of its threads), child's tgid.
    let fork = seen
        .procs
        .iter()
        .find(|(k, p)| *k == ProcKind::Fork && p.child_pid == child)
        .map(|(_, p)| p.clone())
        .expect("fork record of the child");
    assert_eq!((fork.hdr.pid, fork.ppid), (me, me));

    let exec = find(ProcKind::Exec, child);
    assert_eq!(exec.filename, "/bin/sh");
    assert_eq!(exec.ppid, me);
    assert_eq!(exec.hdr.comm(), "sh");

    let exit = find(ProcKind::Exit, child);
    assert_eq!(exit.exit_code, 7 << 8, "exit status as wait(2) reports it");
    assert_eq!(exit.ppid, me);

    let gc = grandchild(&seen).unwrap();
    assert_ne!(gc, child);
    let gc_exec = find(ProcKind::Exec, gc);
    assert_eq!(gc_exec.filename, "/bin/true");
    assert_eq!(gc_exec.ppid, child);
    assert_eq!(gc_exec.hdr.comm(), "true");
    assert_eq!(find(ProcKind::Exit, gc).exit_code, 0);

    let c = probe.counters().unwrap();
    assert_eq!(c.proc_drops, 0, "{c:?}");
    assert!(c.proc_records >= 6, "{c:?}");
}

#[test]
fn threads_are_not_reported_as_processes() {
    let mut probe = load(&test_config());
    // A thread: a clone without a new process. No fork or exit record may name it.
    let tid = std::thread::spawn(|| {
        // SAFETY: gettid(2) has no preconditions.
        unsafe { libc::gettid() as u32 }
    })
    .join()
    .unwrap();
    // Then a real child, to know when the records before it have been seen.
    let (child, _) = run(&mut Command::new("/bin/true"));
    let seen = collect(&mut probe, &[], |s| {
        s.procs
            .iter()
            .any(|(k, p)| *k == ProcKind::Exit && p.hdr.pid == child)
    });
    for (k, p) in &seen.procs {
        assert!(
            !(*k == ProcKind::Fork && p.child_pid == tid),
            "a thread is not a new process: {p:?}"
        );
        assert!(
            !(*k == ProcKind::Exit && p.hdr.tid == tid),
            "a thread's exit is not a process exit: {p:?}"
        );
    }
    assert!(seen
        .procs
        .iter()
        .any(|(k, p)| *k == ProcKind::Fork && p.child_pid == child));
}
