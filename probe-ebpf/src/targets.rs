//! Finding the files to attach to, and what to attach there ([`Plan`]): OpenSSL and GnuTLS
//! shared libraries, and executables that carry their own OpenSSL (node links it statically
//! and exports `SSL_*`).
//!
//! A library is a target when its ELF dynamic symbol table *defines* its write function
//! (`SSL_write`, `gnutls_record_send`; an import does not count: every program linked against
//! libssl imports it). Uprobes are attached by file offset, resolved here once per file, so a
//! 100 MB `node` is read for its dynamic symbols only, not once per probe.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use aisensor_event::raw::TlsLib;
use anyhow::{bail, Context};
use object::read::ReadCache;
use object::{Object, ObjectSection, ObjectSymbol};

/// One uprobe to attach: a program of `ssl.bpf.o` at a file offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// The function probed, as logs and [`crate::AttachedTarget`] name it.
    pub function: &'static str,
    pub program: &'static str,
    pub offset: u64,
}

/// What to attach in one file: the TLS library found in it, and its hooks in attach order
/// (each function's return probes before its entry: an entry seen without its return would
/// leave a stale stash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub lib: TlsLib,
    pub hooks: Vec<Hook>,
    /// Functions of that library the file lacks (OpenSSL 1.1 has no `_ex` variants).
    pub missing: Vec<&'static str>,
}

impl Plan {
    /// The functions hooked, once each, in order.
    pub fn functions(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for h in &self.hooks {
            if !out.contains(&h.function) {
                out.push(h.function);
            }
        }
        out
    }
}

/// An exported function of a library with OpenSSL's call shapes, and the programs that probe
/// it.
struct Export {
    symbol: &'static str,
    programs: &'static [&'static str],
}

const WRITE: &[&str] = &["ssl_write_return", "ssl_write_entry"];
const READ: &[&str] = &["ssl_read_return", "ssl_read_entry"];
const WRITE_EX: &[&str] = &["ssl_write_ex_return", "ssl_write_ex_entry"];
const READ_EX: &[&str] = &["ssl_read_ex_return", "ssl_read_ex_entry"];
const FREE: &[&str] = &["ssl_free_entry"];

/// OpenSSL (1.1, 3.x), as a library or linked into an executable that exports it (node).
const OPENSSL: &[Export] = &[
    Export {
        symbol: "SSL_write",
        programs: WRITE,
    },
    Export {
        symbol: "SSL_read",
        programs: READ,
    },
    Export {
        symbol: "SSL_write_ex",
        programs: WRITE_EX,
    },
    Export {
        symbol: "SSL_read_ex",
        programs: READ_EX,
    },
    Export {
        symbol: "SSL_free",
        programs: FREE,
    },
];

/// GnuTLS: `gnutls_record_send/recv(session, data, size)` return the bytes moved, like
/// `SSL_write/read`; `gnutls_deinit(session)` ends the session like `SSL_free`.
const GNUTLS: &[Export] = &[
    Export {
        symbol: "gnutls_record_send",
        programs: WRITE,
    },
    Export {
        symbol: "gnutls_record_recv",
        programs: READ,
    },
    Export {
        symbol: "gnutls_deinit",
        programs: FREE,
    },
];

/// Every program of `ssl.bpf.o`, to load them all up front.
pub const PROGRAMS: &[&str] = &[
    "ssl_write_return",
    "ssl_write_entry",
    "ssl_read_return",
    "ssl_read_entry",
    "ssl_write_ex_return",
    "ssl_write_ex_entry",
    "ssl_read_ex_return",
    "ssl_read_ex_entry",
    "ssl_free_entry",
];

/// The plan for the exported functions of `table` found among `exports`; `None` when the
/// first (the write function, without which nothing is captured) is not there.
fn export_plan(lib: TlsLib, table: &[Export], exports: &[(String, u64)]) -> Option<Plan> {
    let find = |sym: &str| exports.iter().find(|(n, _)| n == sym).map(|(_, o)| *o);
    find(table[0].symbol)?;
    let mut plan = Plan {
        lib,
        hooks: Vec::new(),
        missing: Vec::new(),
    };
    for e in table {
        match find(e.symbol) {
            Some(offset) => plan.hooks.extend(e.programs.iter().map(|&program| Hook {
                function: e.symbol,
                program,
                offset,
            })),
            None => plan.missing.push(e.symbol),
        }
    }
    Some(plan)
}

/// What `path` holds that the probe can attach to: OpenSSL or GnuTLS exported by its dynamic
/// symbol table. Empty when it holds none of them.
///
/// Not an ELF file, or an ELF file for another architecture than x86-64: an error.
pub fn plans(path: &Path) -> anyhow::Result<Vec<Plan>> {
    let wanted: Vec<&str> = OPENSSL.iter().chain(GNUTLS).map(|e| e.symbol).collect();
    let exports = dynamic_exports(path, &wanted)?;
    Ok([(TlsLib::OpenSsl, OPENSSL), (TlsLib::GnuTls, GNUTLS)]
        .into_iter()
        .filter_map(|(lib, table)| export_plan(lib, table, &exports))
        .collect())
}

/// The file offsets (as uprobes want them) of the functions named in `wanted` that the
/// dynamic symbol table of `path` defines (an import does not count: every program linked
/// against libssl imports `SSL_write`).
pub fn dynamic_exports(path: &Path, wanted: &[&str]) -> anyhow::Result<Vec<(String, u64)>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let cache = ReadCache::new(file);
    let elf = object::File::parse(&cache)
        .with_context(|| format!("{} is not an ELF file", path.display()))?;
    if elf.format() != object::BinaryFormat::Elf {
        bail!("{} is not an ELF file", path.display());
    }
    if elf.architecture() != object::Architecture::X86_64 {
        bail!(
            "{} is built for {:?}, the probe reads x86-64 registers",
            path.display(),
            elf.architecture()
        );
    }
    let mut out: Vec<(String, u64)> = Vec::new();
    for sym in elf.dynamic_symbols() {
        if !sym.is_definition() || sym.is_local() {
            continue;
        }
        let Ok(name) = sym.name() else { continue };
        if !wanted.contains(&name) || out.iter().any(|(n, _)| n == name) {
            continue;
        }
        let Some(idx) = sym.section_index() else {
            continue;
        };
        let section = elf
            .section_by_index(idx)
            .with_context(|| format!("{}: bad section for {name}", path.display()))?;
        let Some((sec_off, _)) = section.file_range() else {
            continue;
        };
        let Some(rel) = sym.address().checked_sub(section.address()) else {
            continue;
        };
        out.push((name.to_string(), sec_off + rel));
    }
    Ok(out)
}

/// Identity of a file on this host, to attach each file once whatever path names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    pub fn of(path: &Path) -> io::Result<FileId> {
        let m = fs::metadata(path)?;
        Ok(FileId {
            dev: m.dev(),
            ino: m.ino(),
        })
    }
}

/// File names of the TLS libraries probed: OpenSSL 3.x and 1.1, GnuTLS 3.x.
pub const LIBSSL_NAMES: &[&str] = &["libssl.so.3", "libssl.so.1.1", "libgnutls.so.30"];

/// Directories searched for libssl besides the dynamic loader's cache.
pub const LIB_DIRS: &[&str] = &[
    "/lib",
    "/lib64",
    "/lib/x86_64-linux-gnu",
    "/usr/lib",
    "/usr/lib64",
    "/usr/lib/x86_64-linux-gnu",
    "/usr/local/lib",
    "/usr/local/lib64",
    "/usr/local/lib/x86_64-linux-gnu",
    "/usr/local/ssl/lib",
    "/usr/local/ssl/lib64",
];

const LD_SO_CACHE: &str = "/etc/ld.so.cache";

/// Absolute, canonical paths of the libssl files on the host (ld.so.cache first, then
/// [`LIB_DIRS`]), one per file.
pub fn find_libssl() -> Vec<PathBuf> {
    find_libssl_in(Path::new("/"))
}

/// [`find_libssl`] in the file system a process sees, through its root `root` (e.g.
/// `/proc/<pid>/root` for a process in another mount namespace: a container, or a
/// bind-mounted library directory). The paths returned start with `root` and name the files
/// that process would load.
pub fn find_libssl_in(root: &Path) -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(cache) = fs::read(root.join(&LD_SO_CACHE[1..])) {
        candidates.extend(libssl_in_ld_cache(&cache));
    }
    for dir in LIB_DIRS {
        for name in LIBSSL_NAMES {
            candidates.push(Path::new(dir).join(name));
        }
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for c in candidates {
        let Some(real) = resolve_in_root(root, &c) else {
            continue;
        };
        let Ok(id) = FileId::of(&real) else { continue };
        if seen.insert(id) {
            out.push(real);
        }
    }
    out
}

/// `path` (absolute, as a process with root `root` names it) with its symbolic links followed
/// inside that root: an absolute link target starts again from `root`, not from ours (which
/// `fs::canonicalize` would do). `None` if it does not resolve to an existing file.
fn resolve_in_root(root: &Path, path: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let mut todo: Vec<std::ffi::OsString> = path
        .components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    let mut cur = PathBuf::new(); // relative to root
    let mut links = 0;
    while let Some(part) = todo.pop() {
        if part == ".." {
            cur.pop();
            continue;
        }
        let next = cur.join(&part);
        let meta = fs::symlink_metadata(root.join(&next)).ok()?;
        if !meta.file_type().is_symlink() {
            cur = next;
            continue;
        }
        links += 1;
        if links > 40 {
            return None;
        }
        let target = fs::read_link(root.join(&next)).ok()?;
        if target.is_absolute() {
            cur = PathBuf::new();
        }
        for c in target.components().rev() {
            match c {
                Component::Normal(n) => todo.push(n.to_os_string()),
                Component::ParentDir => todo.push("..".into()),
                _ => {}
            }
        }
    }
    let full = root.join(cur);
    full.is_file().then_some(full)
}

/// Runtimes known to link OpenSSL in and export its symbols (node). They are probed at load
/// even before one runs: attaching to an executable takes ~100 ms, longer than a short
/// program needs for its first request after exec.
pub const KNOWN_RUNTIMES: &[&str] = &["node", "nodejs"];

/// Absolute, canonical paths of [`KNOWN_RUNTIMES`] found in `$PATH` and the usual bin
/// directories, one per file.
pub fn find_runtimes() -> Vec<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs = path
        .split(':')
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .chain(["/usr/bin", "/usr/local/bin", "/bin"].map(PathBuf::from));
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for dir in dirs {
        for name in KNOWN_RUNTIMES {
            let Ok(real) = fs::canonicalize(dir.join(name)) else {
                continue;
            };
            let Ok(id) = FileId::of(&real) else { continue };
            if seen.insert(id) {
                out.push(real);
            }
        }
    }
    out
}

/// The libssl paths listed in an `ld.so.cache` image.
///
/// Both cache formats keep each library's path as a NUL-terminated string in a string table,
/// so the paths are found without decoding the entry tables.
pub fn libssl_in_ld_cache(cache: &[u8]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for s in cache.split(|&b| b == 0) {
        let Ok(s) = std::str::from_utf8(s) else {
            continue;
        };
        if !s.starts_with('/') {
            continue;
        }
        let p = PathBuf::from(s);
        let named = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| LIBSSL_NAMES.contains(&n));
        if named && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Files a running process may call TLS from: its executable and the libssl/libgnutls it mapped,
/// as paths usable from this (the host's) mount namespace.
///
/// Paths go through `/proc/<pid>/root`, so a library inside a container resolves to the
/// container's file. The process may exit meanwhile: then the list is short or empty.
pub fn process_files(pid: u32) -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from(format!("/proc/{pid}/exe"))];
    let Ok(maps) = fs::read_to_string(format!("/proc/{pid}/maps")) else {
        return out;
    };
    let root = PathBuf::from(format!("/proc/{pid}/root"));
    let mut seen = HashSet::new();
    for line in maps.lines() {
        // address perms offset dev inode path (the path may contain spaces)
        let Some(path) = line.splitn(6, ' ').nth(5).map(str::trim_start) else {
            continue;
        };
        if !path.starts_with('/') || path.ends_with(" (deleted)") {
            continue;
        }
        let name = Path::new(path).file_name().and_then(|n| n.to_str());
        let tls = name.is_some_and(|n| n.starts_with("libssl.so") || n.starts_with("libgnutls.so"));
        if tls && seen.insert(path.to_string()) {
            out.push(root.join(&path[1..]));
        }
    }
    out
}

/// Pids of the running processes (readable entries of `/proc`).
pub fn pids() -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn libssl3() -> PathBuf {
        find_libssl()
            .into_iter()
            .find(|p| p.to_string_lossy().contains("libssl.so.3"))
            .expect("libssl.so.3 must be installed (apt-get install libssl3)")
    }

    fn one_plan(path: &Path) -> Plan {
        let mut plans = plans(path).unwrap();
        assert_eq!(plans.len(), 1, "{}: {plans:?}", path.display());
        plans.remove(0)
    }

    #[test]
    fn libssl3_is_found_and_exports_every_probed_function() {
        let lib = libssl3();
        assert!(lib.is_absolute(), "{}", lib.display());
        let plan = one_plan(&lib);
        assert_eq!(plan.lib, TlsLib::OpenSsl);
        assert!(plan.missing.is_empty(), "{plan:?}");
        assert_eq!(
            plan.functions(),
            [
                "SSL_write",
                "SSL_read",
                "SSL_write_ex",
                "SSL_read_ex",
                "SSL_free"
            ]
        );
        // return probes before entries, every program of the object used
        assert_eq!(
            plan.hooks.iter().map(|h| h.program).collect::<Vec<_>>(),
            PROGRAMS
        );
        // distinct functions, distinct offsets
        let mut offs: Vec<u64> = plan.hooks.iter().map(|h| h.offset).collect();
        offs.dedup();
        assert_eq!(offs.len(), 5);
    }

    #[test]
    fn gnutls_is_found_and_probed_with_the_openssl_shaped_programs() {
        let lib = find_libssl()
            .into_iter()
            .find(|p| p.to_string_lossy().contains("libgnutls.so.30"))
            .expect("libgnutls.so.30 must be installed (apt-get install libgnutls30)");
        let plan = one_plan(&lib);
        assert_eq!(plan.lib, TlsLib::GnuTls);
        assert!(plan.missing.is_empty(), "{plan:?}");
        let hooks: Vec<(&str, &str)> = plan.hooks.iter().map(|h| (h.function, h.program)).collect();
        assert_eq!(
            hooks,
            [
                ("gnutls_record_send", "ssl_write_return"),
                ("gnutls_record_send", "ssl_write_entry"),
                ("gnutls_record_recv", "ssl_read_return"),
                ("gnutls_record_recv", "ssl_read_entry"),
                ("gnutls_deinit", "ssl_free_entry"),
            ]
        );
    }

    #[test]
    fn node_exports_ssl_write_from_its_own_openssl() {
        let node = Path::new("/usr/bin/node");
        assert!(
            node.exists(),
            "/usr/bin/node must be installed (apt-get install nodejs)"
        );
        let plan = one_plan(node);
        assert_eq!(plan.lib, TlsLib::OpenSsl);
        assert!(plan.functions().contains(&"SSL_read"), "{plan:?}");
    }

    #[test]
    fn a_program_importing_libssl_is_not_a_target() {
        // curl links libssl dynamically: SSL_write is an import, not a definition.
        let plans = plans(Path::new("/usr/bin/curl")).unwrap();
        assert!(plans.is_empty(), "{plans:?}");
    }

    #[test]
    fn non_elf_files_are_rejected_cleanly() {
        let dir = std::env::temp_dir().join(format!("aisensor-targets-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let script = dir.join("script.sh");
        fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
        let empty = dir.join("empty");
        fs::write(&empty, "").unwrap();
        for p in [&script, &empty] {
            let err = plans(p).unwrap_err();
            assert!(format!("{err:#}").contains("not an ELF"), "{err:#}");
        }
        assert!(plans(&dir.join("missing")).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn ld_cache_paths_are_extracted() {
        let img = b"glibc-ld.so.cache1.1\0\x01\x02libssl.so.3\0/lib/x86_64-linux-gnu/libssl.so.3\0\
                    libssl3.so\0/lib/x86_64-linux-gnu/libssl3.so\0/usr/lib/libssl.so.1.1\0";
        assert_eq!(
            libssl_in_ld_cache(img),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libssl.so.3"),
                PathBuf::from("/usr/lib/libssl.so.1.1"),
            ]
        );
    }

    #[test]
    fn libssl_is_reported_once_whatever_path_names_it() {
        // /lib is /usr/lib on merged-/usr systems: one file, one entry.
        let libs = find_libssl();
        let ids: HashSet<FileId> = libs.iter().map(|p| FileId::of(p).unwrap()).collect();
        assert_eq!(ids.len(), libs.len(), "{libs:?}");
    }

    #[test]
    fn links_are_followed_inside_the_root_they_belong_to() {
        use std::os::unix::fs::symlink;
        let root = std::env::temp_dir().join(format!("aisensor-root-{}", std::process::id()));
        let lib = root.join("usr/lib/x86_64-linux-gnu");
        fs::create_dir_all(&lib).unwrap();
        fs::write(lib.join("libssl.so.3"), b"not the host's").unwrap();
        // merged /usr, relative; and an absolute link that must stay inside `root`
        symlink("usr/lib", root.join("lib")).unwrap();
        symlink(
            "/usr/lib/x86_64-linux-gnu/libssl.so.3",
            lib.join("libssl.so.1.1"),
        )
        .unwrap();
        let want = root.join("usr/lib/x86_64-linux-gnu/libssl.so.3");
        assert_eq!(
            resolve_in_root(&root, Path::new("/lib/x86_64-linux-gnu/libssl.so.3")),
            Some(want.clone())
        );
        assert_eq!(
            resolve_in_root(&root, Path::new("/usr/lib/x86_64-linux-gnu/libssl.so.1.1")),
            Some(want.clone())
        );
        assert_eq!(
            resolve_in_root(&root, Path::new("/usr/lib/missing.so")),
            None
        );
        // one file, found once, inside the root
        assert_eq!(find_libssl_in(&root), vec![want]);
        // a loop ends
        symlink("loop", root.join("loop")).unwrap();
        assert_eq!(resolve_in_root(&root, Path::new("/loop")), None);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn own_process_files_start_with_the_executable() {
        let files = process_files(std::process::id());
        assert_eq!(
            files[0],
            PathBuf::from(format!("/proc/{}/exe", std::process::id()))
        );
    }
}
