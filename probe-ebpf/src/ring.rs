//! Draining the probe's two ring buffers (plaintext, process life cycle).

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use aya::maps::{MapData, RingBuf};

/// Items handed out by one [`Ring::poll`] at most, so that a caller under a steady flood still
/// gets control back regularly.
const MAX_ITEMS_PER_POLL: usize = 1 << 16;

/// The consumer side of the probe's ring buffers. `Send`: it can live on its own thread while
/// the [`crate::Probe`] that produced it stays elsewhere (attaching, reading counters).
pub struct Ring {
    proc: RingBuf<MapData>,
    ssl: RingBuf<MapData>,
}

impl Ring {
    pub(crate) fn new(proc: RingBuf<MapData>, ssl: RingBuf<MapData>) -> Ring {
        Ring { proc, ssl }
    }

    /// Waits at most `timeout` for records, then calls `f` with each available one (the bytes
    /// of one `struct aisensor_ssl_rec` or `struct aisensor_proc_rec`, parse them with
    /// `aisensor_event::raw::RawRecord::parse`). Returns how many were handed out.
    ///
    /// Records already waiting are handed out without waiting. Process records of a round
    /// come before its SSL records (order between the two rings is otherwise by `ts_ns`
    /// only). `f` gets a borrowed slice of the ring: no allocation per record; keep `f`
    /// short, the kernel drops records while the ring is full.
    pub fn poll(&mut self, timeout: Duration, mut f: impl FnMut(&[u8])) -> anyhow::Result<usize> {
        let n = self.drain(&mut f);
        if n > 0 {
            return Ok(n);
        }
        let mut fds = [pollfd(self.proc.as_raw_fd()), pollfd(self.ssl.as_raw_fd())];
        let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: `fds` is a valid array of two pollfd for the duration of the call.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if r < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                return Ok(0);
            }
            return Err(anyhow::Error::new(err).context("polling the probe's ring buffers"));
        }
        Ok(self.drain(&mut f))
    }

    fn drain(&mut self, f: &mut impl FnMut(&[u8])) -> usize {
        let mut n = 0;
        for rb in [&mut self.proc, &mut self.ssl] {
            while n < MAX_ITEMS_PER_POLL {
                let Some(item) = rb.next() else { break };
                f(&item);
                n += 1;
            }
        }
        n
    }
}

fn pollfd(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}
