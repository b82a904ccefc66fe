//! Recordings: a raw probe stream stored in a file, so that the same pipeline can replay it
//! later without root or eBPF (to reproduce a bug, or in tests).
//!
//! Layout: the 8-byte magic `AISNREC1`, the clock offset (`i64` LE: wall-clock ns minus
//! monotonic ns when recording started), then frames `[u32 LE length][u8 type][length bytes]`.
//! A probe frame holds one ring-buffer item as the probe wrote it; a process frame holds the
//! JSON of a [`crate::payload::Proc`] that the recorder read from `/proc`, because `/proc`
//! will not be there at replay.

use crate::payload::Proc;
use std::io::{self, Read, Write};

pub const MAGIC: &[u8; 8] = b"AISNREC1";
/// A frame longer than this is corrupt (the longest probe record is ~16 KiB).
pub const MAX_FRAME: u32 = 1 << 20;

pub const FRAME_PROBE: u8 = 0;
pub const FRAME_PROC: u8 = 1;

#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// One probe ring-buffer item.
    Probe(Vec<u8>),
    /// Identity of a process, resolved when it was recorded.
    Proc(Proc),
}

pub struct Writer<W: Write> {
    out: W,
}

impl<W: Write> Writer<W> {
    pub fn new(mut out: W, wall_minus_mono_ns: i64) -> io::Result<Self> {
        out.write_all(MAGIC)?;
        out.write_all(&wall_minus_mono_ns.to_le_bytes())?;
        Ok(Self { out })
    }

    pub fn probe(&mut self, record: &[u8]) -> io::Result<()> {
        self.frame(FRAME_PROBE, record)
    }

    pub fn proc(&mut self, p: &Proc) -> io::Result<()> {
        let json = serde_json::to_vec(p).map_err(io::Error::other)?;
        self.frame(FRAME_PROC, &json)
    }

    fn frame(&mut self, kind: u8, body: &[u8]) -> io::Result<()> {
        self.out.write_all(&(body.len() as u32).to_le_bytes())?;
        self.out.write_all(&[kind])?;
        self.out.write_all(body)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

pub struct Reader<R: Read> {
    input: R,
    pub wall_minus_mono_ns: i64,
}

impl<R: Read> Reader<R> {
    pub fn new(mut input: R) -> io::Result<Self> {
        let mut head = [0u8; 16];
        input.read_exact(&mut head).map_err(|e| {
            io::Error::new(e.kind(), format!("not an aisensor recording (header): {e}"))
        })?;
        if &head[..8] != MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not an aisensor recording (bad magic)",
            ));
        }
        Ok(Self {
            input,
            wall_minus_mono_ns: i64::from_le_bytes(head[8..].try_into().unwrap()),
        })
    }

    /// The next frame; `Ok(None)` at a clean end of file. A file cut mid-frame is an error.
    pub fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        let mut head = [0u8; 5];
        let mut got = 0;
        while got < head.len() {
            match self.input.read(&mut head[got..])? {
                0 if got == 0 => return Ok(None),
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => got += n,
            }
        }
        let len = u32::from_le_bytes(head[..4].try_into().unwrap());
        if len > MAX_FRAME {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("recording frame of {len} bytes is corrupt"),
            ));
        }
        let mut body = vec![0u8; len as usize];
        self.input.read_exact(&mut body)?;
        match head[4] {
            FRAME_PROBE => Ok(Some(Frame::Probe(body))),
            FRAME_PROC => serde_json::from_slice(&body)
                .map(|p| Some(Frame::Proc(p)))
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
            t => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unknown recording frame type {t}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_truncation_is_an_error() {
        let mut w = Writer::new(Vec::new(), -5).unwrap();
        w.probe(b"abc").unwrap();
        let p = Proc {
            pid: 7,
            name: "curl".into(),
            ..Default::default()
        };
        w.proc(&p).unwrap();
        let bytes = w.out;
        let mut r = Reader::new(&bytes[..]).unwrap();
        assert_eq!(r.wall_minus_mono_ns, -5);
        assert_eq!(r.next_frame().unwrap(), Some(Frame::Probe(b"abc".to_vec())));
        assert_eq!(r.next_frame().unwrap(), Some(Frame::Proc(p)));
        assert_eq!(r.next_frame().unwrap(), None);

        let mut r = Reader::new(&bytes[..bytes.len() - 1]).unwrap();
        r.next_frame().unwrap();
        assert!(r.next_frame().is_err());
        assert!(Reader::new(&b"garbage-garbage-"[..]).is_err());
    }
}
