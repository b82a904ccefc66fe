//! Records of the eBPF probe, parsed from the bytes of one ring-buffer item.
//!
//! Mirrors `probe-ebpf/bpf/aisensor.h`; the tests below pin the layout. Parsing never
//! trusts the bytes: a short or inconsistent record is an error, not a panic.

use std::fmt;

pub const COMM_LEN: usize = 16;
pub const FILENAME_LEN: usize = 256;
/// Plaintext bytes carried by one SSL record at most.
pub const CHUNK_LEN: usize = 16384;
pub const HDR_LEN: usize = 40;
pub const SSL_HDR_LEN: usize = 64;
pub const PROC_REC_LEN: usize = HDR_LEN + 16 + FILENAME_LEN;
pub const FREE_REC_LEN: usize = HDR_LEN + 8;

pub const KIND_SSL: u32 = 1;
pub const KIND_EXEC: u32 = 2;
pub const KIND_FORK: u32 = 3;
pub const KIND_EXIT: u32 = 4;
pub const KIND_SSL_FREE: u32 = 5;

/// The call moved more than the capture cap: bytes past the last captured record are missing.
pub const FLAG_TRUNCATED: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The process sent these bytes (`SSL_write*`).
    Write,
    /// The process received these bytes (`SSL_read*`).
    Read,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslFunc {
    SslWrite,
    SslRead,
    SslWriteEx,
    SslReadEx,
}

/// The TLS stack a record was read from (`enum aisensor_tls_lib`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TlsLib {
    #[default]
    OpenSsl,
    /// BoringSSL linked into an executable (Bun, and Claude Code, which is built with it).
    BoringSsl,
    GnuTls,
    /// Go's `crypto/tls`.
    Go,
}

impl TlsLib {
    pub const ALL: [TlsLib; 4] = [
        TlsLib::OpenSsl,
        TlsLib::BoringSsl,
        TlsLib::GnuTls,
        TlsLib::Go,
    ];

    /// The value of `enum aisensor_tls_lib` (the probe's attach cookie).
    pub fn code(self) -> u8 {
        match self {
            TlsLib::OpenSsl => 0,
            TlsLib::BoringSsl => 1,
            TlsLib::GnuTls => 2,
            TlsLib::Go => 3,
        }
    }

    pub fn from_code(c: u8) -> Option<TlsLib> {
        TlsLib::ALL.into_iter().find(|l| l.code() == c)
    }

    /// Its name in events (`ai.conn.tls_lib`).
    pub fn name(self) -> &'static str {
        match self {
            TlsLib::OpenSsl => "openssl",
            TlsLib::BoringSsl => "boringssl",
            TlsLib::GnuTls => "gnutls",
            TlsLib::Go => "go",
        }
    }
}

/// Fields every record starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: u32,
    pub flags: u32,
    /// Thread-group id (the process id).
    pub pid: u32,
    pub tid: u32,
    /// `CLOCK_MONOTONIC` nanoseconds.
    pub ts_ns: u64,
    pub comm: [u8; COMM_LEN],
}

impl Header {
    /// The task's command name, up to its NUL.
    pub fn comm(&self) -> String {
        c_str(&self.comm)
    }
}

/// One piece of plaintext moved by one `SSL_read*`/`SSL_write*` call.
#[derive(Debug, Clone, Copy)]
pub struct SslRecord<'a> {
    pub hdr: Header,
    /// The `SSL*` pointer: with `hdr.pid`, the connection's identity.
    pub ssl: u64,
    /// Bytes the whole call moved.
    pub call_len: u32,
    /// Offset of `data[0]` within the call.
    pub offset: u32,
    pub dir: Direction,
    pub func: SslFunc,
    pub lib: TlsLib,
    pub data: &'a [u8],
}

impl SslRecord<'_> {
    pub fn truncated(&self) -> bool {
        self.hdr.flags & FLAG_TRUNCATED != 0
    }

    /// True for the last captured record of its call.
    pub fn last_of_call(&self) -> bool {
        self.offset as u64 + self.data.len() as u64 >= self.call_len as u64 || self.truncated()
    }

    /// Bytes of the call that were never captured (non-zero only on the last record of a
    /// truncated call).
    pub fn missing_after(&self) -> u64 {
        if self.truncated() {
            (self.call_len as u64).saturating_sub(self.offset as u64 + self.data.len() as u64)
        } else {
            0
        }
    }
}

/// A process life-cycle record (exec, fork, exit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcRecord {
    pub hdr: Header,
    pub ppid: u32,
    pub exit_code: i32,
    pub child_pid: u32,
    /// exec: the path given to execve.
    pub filename: String,
}

/// `SSL_free(ssl)` was called: connection `ssl` of `hdr.pid` is over. It follows every record
/// of that connection written before the free (records of calls another thread still has in
/// flight on a freed SSL would be a use-after-free in the program itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeRecord {
    pub hdr: Header,
    pub ssl: u64,
}

#[derive(Debug, Clone)]
pub enum RawRecord<'a> {
    Ssl(SslRecord<'a>),
    SslFree(FreeRecord),
    Exec(ProcRecord),
    Fork(ProcRecord),
    Exit(ProcRecord),
}

impl RawRecord<'_> {
    pub fn header(&self) -> &Header {
        match self {
            RawRecord::Ssl(s) => &s.hdr,
            RawRecord::SslFree(f) => &f.hdr,
            RawRecord::Exec(p) | RawRecord::Fork(p) | RawRecord::Exit(p) => &p.hdr,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawError {
    Short { need: usize, have: usize },
    UnknownKind(u32),
    BadField(&'static str),
}

impl fmt::Display for RawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawError::Short { need, have } => {
                write!(f, "probe record too short: need {need} bytes, have {have}")
            }
            RawError::UnknownKind(k) => write!(f, "unknown probe record kind {k}"),
            RawError::BadField(name) => write!(f, "probe record has an invalid {name}"),
        }
    }
}

impl std::error::Error for RawError {}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn c_str(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn need(b: &[u8], n: usize) -> Result<(), RawError> {
    if b.len() < n {
        Err(RawError::Short {
            need: n,
            have: b.len(),
        })
    } else {
        Ok(())
    }
}

impl<'a> RawRecord<'a> {
    /// Parses one ring-buffer item.
    pub fn parse(b: &'a [u8]) -> Result<Self, RawError> {
        need(b, HDR_LEN)?;
        let hdr = Header {
            kind: u32_at(b, 0),
            flags: u32_at(b, 4),
            pid: u32_at(b, 8),
            tid: u32_at(b, 12),
            ts_ns: u64_at(b, 16),
            comm: b[24..40].try_into().unwrap(),
        };
        match hdr.kind {
            KIND_SSL => {
                need(b, SSL_HDR_LEN)?;
                let len = u32_at(b, 56) as usize;
                need(b, SSL_HDR_LEN + len)?;
                let dir = match b[60] {
                    0 => Direction::Write,
                    1 => Direction::Read,
                    _ => return Err(RawError::BadField("direction")),
                };
                let func = match b[61] {
                    0 => SslFunc::SslWrite,
                    1 => SslFunc::SslRead,
                    2 => SslFunc::SslWriteEx,
                    3 => SslFunc::SslReadEx,
                    _ => return Err(RawError::BadField("function")),
                };
                let lib = TlsLib::from_code(b[62]).ok_or(RawError::BadField("tls library"))?;
                let rec = SslRecord {
                    hdr,
                    ssl: u64_at(b, 40),
                    call_len: u32_at(b, 48),
                    offset: u32_at(b, 52),
                    dir,
                    func,
                    lib,
                    data: &b[SSL_HDR_LEN..SSL_HDR_LEN + len],
                };
                if rec.offset as u64 + len as u64 > rec.call_len as u64 {
                    return Err(RawError::BadField("offset/len"));
                }
                Ok(RawRecord::Ssl(rec))
            }
            KIND_SSL_FREE => {
                need(b, FREE_REC_LEN)?;
                Ok(RawRecord::SslFree(FreeRecord {
                    hdr,
                    ssl: u64_at(b, HDR_LEN),
                }))
            }
            KIND_EXEC | KIND_FORK | KIND_EXIT => {
                need(b, PROC_REC_LEN)?;
                let fname = &b[HDR_LEN + 16..PROC_REC_LEN];
                let flen = (u32_at(b, HDR_LEN + 12) as usize).min(FILENAME_LEN);
                let p = ProcRecord {
                    hdr,
                    ppid: u32_at(b, HDR_LEN),
                    exit_code: u32_at(b, HDR_LEN + 4) as i32,
                    child_pid: u32_at(b, HDR_LEN + 8),
                    filename: c_str(&fname[..flen]),
                };
                Ok(match hdr.kind {
                    KIND_EXEC => RawRecord::Exec(p),
                    KIND_FORK => RawRecord::Fork(p),
                    _ => RawRecord::Exit(p),
                })
            }
            k => Err(RawError::UnknownKind(k)),
        }
    }
}

/// Encoders, so that tests, fuzzers and benchmarks can build records exactly as the probe does.
pub mod encode {
    use super::*;

    fn header(out: &mut Vec<u8>, h: &Header) {
        out.extend_from_slice(&h.kind.to_le_bytes());
        out.extend_from_slice(&h.flags.to_le_bytes());
        out.extend_from_slice(&h.pid.to_le_bytes());
        out.extend_from_slice(&h.tid.to_le_bytes());
        out.extend_from_slice(&h.ts_ns.to_le_bytes());
        out.extend_from_slice(&h.comm);
    }

    /// Encodes an SSL record (`hdr.kind` is forced to [`KIND_SSL`]).
    pub fn ssl(rec: &SslRecord) -> Vec<u8> {
        let mut out = Vec::with_capacity(SSL_HDR_LEN + rec.data.len());
        header(
            &mut out,
            &Header {
                kind: KIND_SSL,
                ..rec.hdr
            },
        );
        out.extend_from_slice(&rec.ssl.to_le_bytes());
        out.extend_from_slice(&rec.call_len.to_le_bytes());
        out.extend_from_slice(&rec.offset.to_le_bytes());
        out.extend_from_slice(&(rec.data.len() as u32).to_le_bytes());
        out.push(match rec.dir {
            Direction::Write => 0,
            Direction::Read => 1,
        });
        out.push(match rec.func {
            SslFunc::SslWrite => 0,
            SslFunc::SslRead => 1,
            SslFunc::SslWriteEx => 2,
            SslFunc::SslReadEx => 3,
        });
        out.push(rec.lib.code());
        out.push(0);
        out.extend_from_slice(rec.data);
        out
    }

    /// Encodes an `SSL_free` record (`hdr.kind` is forced to [`KIND_SSL_FREE`]).
    pub fn free(rec: &FreeRecord) -> Vec<u8> {
        let mut out = Vec::with_capacity(FREE_REC_LEN);
        header(
            &mut out,
            &Header {
                kind: KIND_SSL_FREE,
                ..rec.hdr
            },
        );
        out.extend_from_slice(&rec.ssl.to_le_bytes());
        out
    }

    /// Encodes a process record; `hdr.kind` says which.
    pub fn proc(rec: &ProcRecord) -> Vec<u8> {
        let mut out = Vec::with_capacity(PROC_REC_LEN);
        header(&mut out, &rec.hdr);
        out.extend_from_slice(&rec.ppid.to_le_bytes());
        out.extend_from_slice(&rec.exit_code.to_le_bytes());
        out.extend_from_slice(&rec.child_pid.to_le_bytes());
        let name = rec.filename.as_bytes();
        let n = name.len().min(FILENAME_LEN - 1);
        out.extend_from_slice(&(n as u32).to_le_bytes());
        let mut fname = [0u8; FILENAME_LEN];
        fname[..n].copy_from_slice(&name[..n]);
        out.extend_from_slice(&fname);
        out
    }

    /// One whole `SSL_write` (`Write`) or `SSL_read` (`Read`) call of `data` on connection
    /// `conn` (the `SSL*`) in a single record, as the probe writes a call of at most
    /// [`CHUNK_LEN`] bytes.
    pub fn call(
        pid: u32,
        tid: u32,
        comm_name: &str,
        conn: u64,
        dir: Direction,
        ts_ns: u64,
        data: &[u8],
    ) -> Vec<u8> {
        ssl(&SslRecord {
            hdr: Header {
                kind: KIND_SSL,
                flags: 0,
                pid,
                tid,
                ts_ns,
                comm: comm(comm_name),
            },
            ssl: conn,
            call_len: data.len() as u32,
            offset: 0,
            dir,
            func: match dir {
                Direction::Write => SslFunc::SslWrite,
                Direction::Read => SslFunc::SslRead,
            },
            lib: TlsLib::OpenSsl,
            data,
        })
    }

    /// A `comm` field from a string (cut at 15 bytes, NUL-padded), as the kernel stores it.
    pub fn comm(name: &str) -> [u8; COMM_LEN] {
        let mut c = [0u8; COMM_LEN];
        let n = name.len().min(COMM_LEN - 1);
        c[..n].copy_from_slice(&name.as_bytes()[..n]);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(kind: u32) -> Header {
        Header {
            kind,
            flags: 0,
            pid: 42,
            tid: 43,
            ts_ns: 123_456,
            comm: encode::comm("python3"),
        }
    }

    #[test]
    fn ssl_record_layout_matches_the_c_header() {
        let rec = SslRecord {
            hdr: hdr(KIND_SSL),
            ssl: 0xdead_beef_0000_1111,
            call_len: 10,
            offset: 4,
            dir: Direction::Read,
            func: SslFunc::SslReadEx,
            lib: TlsLib::Go,
            data: b"abcdef",
        };
        let b = encode::ssl(&rec);
        assert_eq!(b.len(), SSL_HDR_LEN + 6);
        // offsets of struct aisensor_ssl_rec
        assert_eq!(&b[40..48], &0xdead_beef_0000_1111u64.to_le_bytes());
        assert_eq!(u32_at(&b, 56), 6);
        assert_eq!(b[60], 1);
        assert_eq!(b[61], 3);
        assert_eq!(b[62], 3);
        match RawRecord::parse(&b).unwrap() {
            RawRecord::Ssl(s) => {
                assert_eq!(s.lib, TlsLib::Go);
                assert_eq!(s.hdr.comm(), "python3");
                assert_eq!(s.data, b"abcdef");
                assert_eq!(s.offset, 4);
                assert!(s.last_of_call());
                assert_eq!(s.missing_after(), 0);
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn proc_record_round_trips() {
        let rec = ProcRecord {
            hdr: hdr(KIND_EXEC),
            ppid: 1,
            exit_code: 0,
            child_pid: 0,
            filename: "/usr/bin/node".into(),
        };
        let b = encode::proc(&rec);
        assert_eq!(b.len(), PROC_REC_LEN);
        assert_eq!(b.len(), 312);
        match RawRecord::parse(&b).unwrap() {
            RawRecord::Exec(p) => assert_eq!(p, rec),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn free_record_layout_matches_the_c_header() {
        let rec = FreeRecord {
            hdr: hdr(KIND_SSL_FREE),
            ssl: 0x5555_0000_abcd,
        };
        let b = encode::free(&rec);
        assert_eq!(b.len(), 48);
        assert_eq!(u32_at(&b, 0), 5);
        assert_eq!(&b[40..48], &0x5555_0000_abcdu64.to_le_bytes());
        match RawRecord::parse(&b).unwrap() {
            RawRecord::SslFree(f) => assert_eq!(f, rec),
            other => panic!("parsed as {other:?}"),
        }
        for n in 0..b.len() {
            assert!(RawRecord::parse(&b[..n]).is_err());
        }
    }

    #[test]
    fn bad_records_are_errors_not_panics() {
        assert!(RawRecord::parse(&[]).is_err());
        let mut b = encode::ssl(&SslRecord {
            hdr: hdr(KIND_SSL),
            ssl: 1,
            call_len: 3,
            offset: 0,
            dir: Direction::Write,
            func: SslFunc::SslWrite,
            lib: TlsLib::OpenSsl,
            data: b"abc",
        });
        assert!(RawRecord::parse(&b[..50]).is_err());
        assert!(RawRecord::parse(&b[..SSL_HDR_LEN + 2]).is_err());
        b[48] = 1; // call_len < offset + len
        assert_eq!(
            RawRecord::parse(&b).unwrap_err(),
            RawError::BadField("offset/len")
        );
        b[48] = 3;
        b[62] = 9; // no such TLS library
        assert_eq!(
            RawRecord::parse(&b).unwrap_err(),
            RawError::BadField("tls library")
        );
        b[0] = 99;
        assert_eq!(RawRecord::parse(&b).unwrap_err(), RawError::UnknownKind(99));
        // every prefix of a valid record parses or fails cleanly
        let full = encode::proc(&ProcRecord {
            hdr: hdr(KIND_EXIT),
            ppid: 1,
            exit_code: 9,
            child_pid: 0,
            filename: String::new(),
        });
        for n in 0..full.len() {
            assert!(RawRecord::parse(&full[..n]).is_err());
        }
    }

    #[test]
    fn truncated_call_reports_missing_bytes() {
        let b = encode::ssl(&SslRecord {
            hdr: Header {
                flags: FLAG_TRUNCATED,
                ..hdr(KIND_SSL)
            },
            ssl: 1,
            call_len: 100,
            offset: 10,
            dir: Direction::Write,
            func: SslFunc::SslWrite,
            lib: TlsLib::OpenSsl,
            data: b"0123456789",
        });
        let RawRecord::Ssl(s) = RawRecord::parse(&b).unwrap() else {
            panic!()
        };
        assert!(s.last_of_call());
        assert_eq!(s.missing_after(), 80);
    }
}
