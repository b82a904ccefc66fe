//! Finding the files to attach to: OpenSSL shared libraries and executables that carry their
//! own OpenSSL (node links it statically and exports `SSL_*`).
//!
//! A file is a target when its ELF dynamic symbol table *defines* `SSL_write` (an import does
//! not count: every program linked against libssl imports it). Uprobes are attached by file
//! offset, resolved here once per file, so a 100 MB `node` is read for its dynamic symbols
//! only, not once per probe.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use object::read::ReadCache;
use object::{Object, ObjectSection, ObjectSymbol};

/// The probed functions: the four that move plaintext, and `SSL_free`, which ends a
/// connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SslFn {
    Write,
    Read,
    WriteEx,
    ReadEx,
    Free,
}

impl SslFn {
    pub const ALL: [SslFn; 5] = [
        SslFn::Write,
        SslFn::Read,
        SslFn::WriteEx,
        SslFn::ReadEx,
        SslFn::Free,
    ];

    /// The exported symbol name.
    pub fn symbol(self) -> &'static str {
        match self {
            SslFn::Write => "SSL_write",
            SslFn::Read => "SSL_read",
            SslFn::WriteEx => "SSL_write_ex",
            SslFn::ReadEx => "SSL_read_ex",
            SslFn::Free => "SSL_free",
        }
    }
}

/// Where each exported SSL function starts in a file (file offsets, as uprobes want them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SslExports {
    pub offsets: Vec<(SslFn, u64)>,
}

impl SslExports {
    /// True when the file can be probed at all: it defines `SSL_write`.
    pub fn is_target(&self) -> bool {
        self.offsets.iter().any(|(f, _)| *f == SslFn::Write)
    }

    pub fn offset(&self, f: SslFn) -> Option<u64> {
        self.offsets.iter().find(|(g, _)| *g == f).map(|(_, o)| *o)
    }
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

/// Reads the dynamic symbol table of `path` and returns the SSL functions it defines.
///
/// Not an ELF file, or an ELF file for another architecture than x86-64: an error. An x86-64
/// ELF file defining none of them: `Ok` with no offsets.
pub fn ssl_exports(path: &Path) -> anyhow::Result<SslExports> {
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
    let mut out = SslExports::default();
    for sym in elf.dynamic_symbols() {
        if !sym.is_definition() || sym.is_local() {
            continue;
        }
        let Ok(name) = sym.name() else { continue };
        let Some(f) = SslFn::ALL.into_iter().find(|f| f.symbol() == name) else {
            continue;
        };
        if out.offset(f).is_some() {
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
        let addr = sym.address();
        let Some(rel) = addr.checked_sub(section.address()) else {
            continue;
        };
        out.offsets.push((f, sec_off + rel));
    }
    out.offsets.sort_by_key(|(f, _)| *f as u8);
    Ok(out)
}

/// File names of the OpenSSL libraries probed: 3.x and 1.1.
pub const LIBSSL_NAMES: &[&str] = &["libssl.so.3", "libssl.so.1.1"];

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
    let mut candidates = Vec::new();
    if let Ok(cache) = fs::read(LD_SO_CACHE) {
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
        let Ok(real) = fs::canonicalize(&c) else {
            continue;
        };
        let Ok(id) = FileId::of(&real) else { continue };
        if seen.insert(id) {
            out.push(real);
        }
    }
    out
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

/// Files a running process may call OpenSSL from: its executable and the libssl it mapped,
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
        if name.is_some_and(|n| n.starts_with("libssl.so")) && seen.insert(path.to_string()) {
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

    #[test]
    fn libssl3_is_found_and_exports_every_probed_function() {
        let lib = libssl3();
        assert!(lib.is_absolute(), "{}", lib.display());
        let ex = ssl_exports(&lib).unwrap();
        assert!(ex.is_target());
        for f in SslFn::ALL {
            assert!(
                ex.offset(f).is_some(),
                "{} lacks {}",
                lib.display(),
                f.symbol()
            );
        }
        // distinct functions, distinct offsets
        let mut offs: Vec<u64> = ex.offsets.iter().map(|(_, o)| *o).collect();
        offs.dedup();
        assert_eq!(offs.len(), SslFn::ALL.len());
    }

    #[test]
    fn node_exports_ssl_write_from_its_own_openssl() {
        let node = Path::new("/usr/bin/node");
        assert!(
            node.exists(),
            "/usr/bin/node must be installed (apt-get install nodejs)"
        );
        let ex = ssl_exports(node).unwrap();
        assert!(ex.is_target(), "node should export SSL_write: {ex:?}");
        assert!(ex.offset(SslFn::Read).is_some());
    }

    #[test]
    fn a_program_importing_libssl_is_not_a_target() {
        // curl links libssl dynamically: SSL_write is an import, not a definition.
        let ex = ssl_exports(Path::new("/usr/bin/curl")).unwrap();
        assert!(!ex.is_target(), "{ex:?}");
        assert!(ex.offsets.is_empty());
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
            let err = ssl_exports(p).unwrap_err();
            assert!(format!("{err:#}").contains("not an ELF"), "{err:#}");
        }
        assert!(ssl_exports(&dir.join("missing")).is_err());
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
    fn own_process_files_start_with_the_executable() {
        let files = process_files(std::process::id());
        assert_eq!(
            files[0],
            PathBuf::from(format!("/proc/{}/exe", std::process::id()))
        );
    }
}
