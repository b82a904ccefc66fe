//! Compiles the kernel side of the probe (`bpf/*.bpf.c`, C with CO-RE) into BPF objects in
//! `OUT_DIR`, which `src/loader.rs` embeds with `include_bytes_aligned!`.
//!
//! Why C and clang rather than aya-ebpf: see `docs/ebpf-notes.md` (no nightly/bpf-linker
//! chain, and CO-RE field relocations). The objects do not depend on the build machine's
//! kernel: the few kernel structs used are declared in `bpf/common.bpf.h` with
//! `preserve_access_index`, and aya relocates them against the running kernel's BTF at load.
//!
//! Compiler: `$AISENSOR_CLANG` if set, else `clang-19`, else `clang`. Debian's clang 14 output
//! has been rejected by the 6.18 verifier in places ("R2 min value is negative"), so clang-19
//! is preferred when both are installed. Headers: libbpf's `<bpf/bpf_helpers.h>` (libbpf-dev)
//! and the kernel UAPI `<linux/bpf.h>` (linux-libc-dev).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One object per concern: SSL capture and process life cycle.
const OBJECTS: &[&str] = &["ssl", "process"];
const HEADERS: &[&str] = &["aisensor.h", "counters.h", "common.bpf.h"];
const APT_HINT: &str =
    "the eBPF probe needs clang and the libbpf and kernel UAPI headers: apt-get install clang-19 llvm-19 libbpf-dev linux-libc-dev \
     (or clang llvm libbpf-dev linux-libc-dev), or set AISENSOR_CLANG to a clang binary";

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let bpf_dir = manifest.join("bpf");

    println!("cargo:rerun-if-env-changed=AISENSOR_CLANG");
    for f in OBJECTS {
        println!("cargo:rerun-if-changed=bpf/{f}.bpf.c");
    }
    for h in HEADERS {
        println!("cargo:rerun-if-changed=bpf/{h}");
    }

    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if arch != "x86_64" {
        fail(&format!(
            "the aisensor probe supports x86_64 only for now (target arch is {arch:?}): \
             bpf/common.bpf.h declares the x86-64 register file"
        ));
    }

    let clang = find_clang();
    let include_dirs = ["/usr/include", "/usr/include/x86_64-linux-gnu"];
    check_header(&include_dirs, "bpf/bpf_helpers.h", "libbpf-dev");
    check_header(&include_dirs, "linux/bpf.h", "linux-libc-dev");
    check_header(&include_dirs, "asm/types.h", "linux-libc-dev");

    for name in OBJECTS {
        let src = bpf_dir.join(format!("{name}.bpf.c"));
        let obj = out.join(format!("{name}.bpf.o"));
        let mut cmd = Command::new(&clang);
        cmd.args(["-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86"])
            .args(["-Wall", "-Werror"])
            .arg("-I")
            .arg(&bpf_dir);
        for dir in include_dirs {
            // -target bpf drops the host's multiarch include dir, where <asm/types.h> lives.
            cmd.arg("-idirafter").arg(dir);
        }
        cmd.arg("-c").arg(&src).arg("-o").arg(&obj);
        let output = cmd.output().unwrap_or_else(|e| {
            fail(&format!("could not run {clang}: {e}; {APT_HINT}"));
        });
        if !output.status.success() {
            fail(&format!(
                "{clang} failed to compile {}:\n{}\n{}",
                src.display(),
                String::from_utf8_lossy(&output.stderr),
                APT_HINT
            ));
        }
    }
}

/// `$AISENSOR_CLANG`, else the first of clang-19, clang found on PATH.
fn find_clang() -> String {
    if let Ok(c) = env::var("AISENSOR_CLANG") {
        return c;
    }
    for c in ["clang-19", "clang"] {
        if Command::new(c)
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
        {
            return c.to_string();
        }
    }
    fail(&format!(
        "no clang found (tried clang-19, clang) to build the eBPF probe; {APT_HINT}"
    ));
}

fn check_header(dirs: &[&str], header: &str, package: &str) {
    if !dirs.iter().any(|d| Path::new(d).join(header).exists()) {
        fail(&format!(
            "<{header}> not found under {dirs:?}: the eBPF probe needs the {package} package; {APT_HINT}"
        ));
    }
}

fn fail(msg: &str) -> ! {
    // cargo shows a build script's stderr when it fails; keep the message on one screen.
    eprintln!("error: {msg}");
    panic!("aisensor-probe build failed: {msg}");
}
