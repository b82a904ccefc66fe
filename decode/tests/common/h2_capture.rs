//! A TLS connection captured by the probe (`tests/fixtures/h2/<name>.{write,read,calls}`,
//! written by scripts/capture-h2-fixtures.py): the bytes each direction moved, and the calls
//! in the order they came. Shared by the HTTP/2 tests and the pipeline benchmark.

use aisensor_event::raw::Direction;
use std::path::Path;

pub struct Capture {
    /// What the client sent, all calls concatenated.
    pub write: Vec<u8>,
    /// What it received.
    pub read: Vec<u8>,
    /// Each call's direction and length, in order.
    lens: Vec<(Direction, usize)>,
}

impl Capture {
    pub fn load(name: &str) -> Capture {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/h2");
        let read = |ext: &str| {
            let p = dir.join(format!("{name}.{ext}"));
            std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        };
        let lens = String::from_utf8(read("calls"))
            .unwrap()
            .lines()
            .map(|l| {
                let (d, n) = l.split_once(' ').unwrap();
                let d = if d == "write" {
                    Direction::Write
                } else {
                    Direction::Read
                };
                (d, n.parse().unwrap())
            })
            .collect();
        Capture {
            write: read("write"),
            read: read("read"),
            lens,
        }
    }

    /// Each call in order: its direction and the bytes it moved.
    pub fn calls(&self) -> Vec<(Direction, &[u8])> {
        let (mut w, mut r) = (0, 0);
        self.lens
            .iter()
            .map(|&(dir, len)| {
                let (src, pos) = match dir {
                    Direction::Write => (&self.write, &mut w),
                    Direction::Read => (&self.read, &mut r),
                };
                let call = &src[*pos..*pos + len];
                *pos += len;
                (dir, call)
            })
            .collect()
    }
}
