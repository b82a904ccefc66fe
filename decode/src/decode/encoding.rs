//! Content codings (RFC 9110 §8.4): gzip, deflate (zlib or raw, as servers send both), br and
//! zstd, with the output capped so that a small compressed body cannot exhaust memory.

use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
use std::borrow::Cow;
use std::io::Read;

#[derive(Debug)]
pub struct Decoded<'a> {
    pub bytes: Cow<'a, [u8]>,
    /// The output was cut at the cap, or the input ended early (a truncated capture): the
    /// bytes are a correct prefix of the body.
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodingError {
    Unsupported(String),
    Corrupt(String),
}

impl std::fmt::Display for EncodingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodingError::Unsupported(c) => write!(f, "unsupported content coding {c:?}"),
            EncodingError::Corrupt(e) => write!(f, "corrupt compressed body: {e}"),
        }
    }
}

impl std::error::Error for EncodingError {}

/// Undoes `content_encoding` (a `Content-Encoding` value; codings listed in the order they
/// were applied, so undone last to first) on `body`, producing at most `max_out` bytes.
///
/// A body cut short (a capture gap, a hang-up, `max_body`) gives the prefix that decodes and
/// `truncated`; a body of which nothing decodes is [`EncodingError::Corrupt`].
pub fn decode_body<'a>(
    content_encoding: Option<&str>,
    body: &'a [u8],
    max_out: usize,
) -> Result<Decoded<'a>, EncodingError> {
    let mut cur = Decoded {
        bytes: Cow::Borrowed(body),
        truncated: false,
    };
    let Some(ce) = content_encoding else {
        return Ok(cur);
    };
    for coding in ce.rsplit(',').map(|c| c.trim().to_ascii_lowercase()) {
        let input = &cur.bytes[..];
        let out = match coding.as_str() {
            "" | "identity" => continue,
            _ if input.is_empty() => (Vec::new(), false), // HEAD, 204, or an empty body
            "gzip" | "x-gzip" => read_capped(flate2::read::MultiGzDecoder::new(input), max_out)?,
            "deflate" => {
                // RFC 9110 says zlib; some servers send raw deflate. A zlib stream starts with a
                // 2-byte header (CM = 8, CINFO <= 7) whose value is a multiple of 31.
                let zlib = input.len() >= 2
                    && input[0] & 0x0f == 8
                    && input[0] >> 4 <= 7
                    && (u16::from(input[0]) << 8 | u16::from(input[1])) % 31 == 0;
                let raw = || read_capped(flate2::read::DeflateDecoder::new(input), max_out);
                if zlib {
                    read_capped(flate2::read::ZlibDecoder::new(input), max_out)
                        .or_else(|_| raw())?
                } else {
                    raw()?
                }
            }
            "br" => read_capped(brotli_decompressor::Decompressor::new(input, 4096), max_out)?,
            "zstd" => zstd(input, max_out)?,
            other => return Err(EncodingError::Unsupported(other.to_string())),
        };
        cur = Decoded {
            bytes: Cow::Owned(out.0),
            truncated: cur.truncated || out.1,
        };
    }
    Ok(cur)
}

/// Output that never allocates past its cap, whatever the decoder would produce.
struct Capped {
    out: Vec<u8>,
    max: usize,
}

impl Capped {
    fn new(max: usize) -> Self {
        Self {
            out: Vec::new(),
            max,
        }
    }

    fn room(&self) -> usize {
        self.max - self.out.len()
    }

    /// Appends what fits; false if `b` did not all fit.
    fn push(&mut self, b: &[u8]) -> bool {
        let n = b.len().min(self.room());
        let need = self.out.len() + n;
        if need > self.out.capacity() {
            // Grow geometrically, but never past the cap.
            let target = need.max(self.out.capacity() * 2).min(self.max);
            self.out.reserve_exact(target - self.out.len());
        }
        self.out.extend_from_slice(&b[..n]);
        n == b.len()
    }
}

/// Reads at most `max` bytes. An error after some output keeps the output (truncated); an
/// error before any is corruption.
fn read_capped(mut r: impl Read, max: usize) -> Result<(Vec<u8>, bool), EncodingError> {
    let mut out = Capped::new(max);
    let mut buf = [0u8; 16 * 1024];
    loop {
        // Ask for one byte past the cap, to tell "exactly max" from "more than max".
        let want = buf.len().min(out.room() + 1);
        match r.read(&mut buf[..want]) {
            Ok(0) => return Ok((out.out, false)),
            Ok(n) => {
                if !out.push(&buf[..n]) {
                    return Ok((out.out, true));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if out.out.is_empty() => return Err(EncodingError::Corrupt(e.to_string())),
            Err(_) => return Ok((out.out, true)),
        }
    }
}

/// Largest zstd window accepted: RFC 9659 limits the `zstd` content coding to 8 MiB, which
/// also bounds what a hostile frame header can make the decoder allocate.
const ZSTD_MAX_WINDOW: u64 = 8 << 20;

/// Zstandard (RFC 8878): any number of frames, skippable frames skipped.
///
/// The decoder holds back the last window of a frame until the frame ends (later blocks may
/// refer to it). When a frame is cut short, the blocks that did decode are decoded again as a
/// frame of their own (last-block bit set, checksum flag cleared) to recover that window.
fn zstd(input: &[u8], max: usize) -> Result<(Vec<u8>, bool), EncodingError> {
    use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
    let mut out = Capped::new(max);
    let mut rest = input;
    let corrupt = |e: &dyn std::fmt::Display| EncodingError::Corrupt(format!("zstd: {e}"));
    while !rest.is_empty() {
        let frame = rest;
        let mut dec = FrameDecoder::new();
        dec.set_max_window_size(ZSTD_MAX_WINDOW);
        match dec.init(&mut rest) {
            Ok(()) => {}
            Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                length,
                ..
            })) => {
                match rest.get(length as usize..) {
                    Some(r) => rest = r,
                    None => return Ok((out.out, true)),
                }
                continue;
            }
            Err(e) if out.out.is_empty() && frame.len() == input.len() => {
                return Err(corrupt(&e));
            }
            Err(_) => return Ok((out.out, true)), // a cut or bad frame after good ones
        }
        let mut from_frame = 0usize; // bytes of this frame already output
        let mut last_block: Option<(usize, usize)> = None; // (header offset, end offset)
        let mut buf = [0u8; 16 * 1024];
        loop {
            let at = frame.len() - rest.len();
            let finished = match dec.decode_blocks(&mut rest, BlockDecodingStrategy::UptoBlocks(1))
            {
                Ok(f) => f,
                Err(e) => {
                    if let Some((hdr, end)) = last_block {
                        salvage(&frame[..end], hdr, from_frame, &mut out);
                    }
                    if out.out.is_empty() {
                        return Err(corrupt(&e));
                    }
                    return Ok((out.out, true));
                }
            };
            last_block = Some((at, frame.len() - rest.len()));
            loop {
                let want = buf.len().min(out.room() + 1);
                let n = dec.read(&mut buf[..want]).map_err(|e| corrupt(&e))?;
                if n == 0 {
                    break;
                }
                from_frame += n;
                if !out.push(&buf[..n]) {
                    return Ok((out.out, true));
                }
            }
            if finished {
                break;
            }
        }
    }
    Ok((out.out, false))
}

/// Decodes `frame` (a frame header and whole blocks, the last one at `last_hdr`) as if it ended
/// there, and appends what follows its first `skip` output bytes.
fn salvage(frame: &[u8], last_hdr: usize, skip: usize, out: &mut Capped) {
    let mut f = frame.to_vec();
    // Frame_Header_Descriptor follows the 4-byte magic; bit 2 is Content_Checksum_flag.
    // Block_Header is 3 bytes, little-endian; bit 0 is Last_Block.
    if let (Some(desc), true) = (f.get_mut(4), last_hdr < frame.len()) {
        *desc &= !0x04;
        f[last_hdr] |= 0x01;
    } else {
        return;
    }
    let mut dec = FrameDecoder::new();
    dec.set_max_window_size(ZSTD_MAX_WINDOW);
    let mut src = &f[..];
    if dec.init(&mut src).is_err()
        || dec
            .decode_blocks(&mut src, BlockDecodingStrategy::All)
            .is_err()
    {
        return;
    }
    let mut buf = [0u8; 16 * 1024];
    let mut seen = 0usize;
    while let Ok(n) = dec.read(&mut buf) {
        if n == 0 {
            return;
        }
        let fresh = &buf[(skip.saturating_sub(seen)).min(n)..n];
        seen += n;
        if !out.push(fresh) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(b: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn identity_borrows() {
        let d = decode_body(None, b"abc", 10).unwrap();
        assert!(matches!(d.bytes, Cow::Borrowed(_)));
        assert_eq!(&d.bytes[..], b"abc");
    }

    #[test]
    fn gzip_and_deflate_flavours() {
        let text = b"{\"model\":\"gpt-4o\"}".repeat(50);
        let gz = gzip(&text);
        let d = decode_body(Some("gzip"), &gz, 1 << 20).unwrap();
        assert_eq!(&d.bytes[..], &text[..]);
        assert!(!d.truncated);

        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&text).unwrap();
        let zlib = z.finish().unwrap();
        let d = decode_body(Some("deflate"), &zlib, 1 << 20).unwrap();
        assert_eq!(&d.bytes[..], &text[..]);

        let mut r = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        r.write_all(&text).unwrap();
        let raw = r.finish().unwrap();
        let d = decode_body(Some("Deflate"), &raw, 1 << 20).unwrap();
        assert_eq!(&d.bytes[..], &text[..]);
    }

    #[test]
    fn bombs_are_capped_and_cut_input_gives_a_prefix() {
        let zeros = vec![0u8; 10 << 20];
        let gz = gzip(&zeros);
        assert!(gz.len() < 20_000);
        let d = decode_body(Some("gzip"), &gz, 1 << 20).unwrap();
        assert_eq!(d.bytes.len(), 1 << 20);
        assert!(d.truncated);

        let text = b"data: {\"x\":1}\n\n".repeat(2000);
        let gz = gzip(&text);
        let d = decode_body(Some("gzip"), &gz[..gz.len() / 2], 1 << 20).unwrap();
        assert!(d.truncated);
        assert!(!d.bytes.is_empty());
        assert_eq!(&d.bytes[..], &text[..d.bytes.len()]);
    }

    #[test]
    fn garbage_and_unknown_codings_are_errors() {
        assert!(matches!(
            decode_body(Some("gzip"), b"not gzip at all", 100),
            Err(EncodingError::Corrupt(_))
        ));
        assert!(matches!(
            decode_body(Some("zstd"), b"nope", 100),
            Err(EncodingError::Corrupt(_))
        ));
        assert_eq!(
            decode_body(Some("compress"), b"x", 100).unwrap_err(),
            EncodingError::Unsupported("compress".into())
        );
    }

    #[test]
    fn stacked_codings_undo_in_reverse() {
        let text = b"hello hello hello".to_vec();
        let twice = gzip(&gzip(&text));
        let d = decode_body(Some("gzip, gzip"), &twice, 1000).unwrap();
        assert_eq!(&d.bytes[..], &text[..]);
    }

    fn zstd_of(b: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(b, ruzstd::encoding::CompressionLevel::Fastest)
    }

    /// Text that does not compress to nothing, so that it spans several zstd blocks.
    fn text(n: usize) -> Vec<u8> {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut v = Vec::with_capacity(n);
        while v.len() < n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let word = [
                "data: ",
                "{\"delta\":",
                "\"text\"",
                " Paris",
                "\n\n",
                "tool_use",
            ];
            v.extend_from_slice(word[(x % 6) as usize].as_bytes());
            v.push(b'a' + (x >> 8) as u8 % 26);
        }
        v.truncate(n);
        v
    }

    #[test]
    fn zstd_frames_skippable_frames_and_caps() {
        let a = text(1000);
        let b = text(300_000);
        let mut z = zstd_of(&a);
        // a skippable frame between two frames
        z.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
        z.extend_from_slice(&zstd_of(&b));
        let d = decode_body(Some("zstd"), &z, 1 << 20).unwrap();
        assert!(!d.truncated);
        assert_eq!(d.bytes.len(), a.len() + b.len());
        assert!(d.bytes.starts_with(&a) && d.bytes.ends_with(&b));
        let d = decode_body(Some("zstd"), &z, 5000).unwrap();
        assert!(d.truncated);
        assert_eq!(&d.bytes[..], &[&a[..], &b[..4000]].concat()[..]);
        assert!(d.bytes.len() <= 5000);
    }

    #[test]
    fn a_cut_zstd_frame_gives_the_blocks_that_decode() {
        let body = text(400_000);
        let z = zstd_of(&body);
        let mut longest = 0;
        for cut in (8..z.len()).step_by(z.len() / 97) {
            match decode_body(Some("zstd"), &z[..cut], 1 << 20) {
                Ok(d) => {
                    assert!(d.truncated, "cut at {cut}");
                    assert_eq!(&d.bytes[..], &body[..d.bytes.len()], "cut at {cut}");
                    longest = longest.max(d.bytes.len());
                }
                Err(EncodingError::Corrupt(_)) => {} // not one whole block yet
                Err(e) => panic!("{e}"),
            }
        }
        assert!(longest >= 128 * 1024, "whole blocks before the cut decode");
        // Cut in the last block: everything before it, including the window the decoder
        // holds back until a frame ends, comes out.
        let d = decode_body(Some("zstd"), &z[..z.len() - 1], 1 << 20).unwrap();
        assert!(d.truncated);
        assert!(
            d.bytes.len() >= body.len() - 128 * 1024,
            "{}",
            d.bytes.len()
        );
        assert_eq!(&d.bytes[..], &body[..d.bytes.len()]);
    }

    #[test]
    fn brotli() {
        let b = hex("1b9f05a88cd462adb039a493f30b5ef0e6ad25ed90b45680f420b208649af28c28cbd509a48eb30e8ada263e10");
        let want = b"event: ping\ndata: {\"type\": \"ping\"}\n\n".repeat(40);
        let d = decode_body(Some("br"), &b, 1 << 20).unwrap();
        assert_eq!(&d.bytes[..], &want[..]);
        assert!(!d.truncated);
        let d = decode_body(Some("br"), &b, 100).unwrap();
        assert_eq!(&d.bytes[..], &want[..100]);
        assert!(d.truncated);
        let d = decode_body(Some("br"), &b[..30], 1 << 20);
        if let Ok(d) = d {
            assert!(d.truncated);
            assert_eq!(&d.bytes[..], &want[..d.bytes.len()]);
        }
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn the_cap_bounds_allocation_and_empty_bodies_are_empty() {
        let zeros = vec![0u8; 4 << 20];
        for (coding, z) in [("gzip", gzip(&zeros)), ("zstd", zstd_of(&zeros))] {
            let d = decode_body(Some(coding), &z, 1_000_001).unwrap();
            assert_eq!(d.bytes.len(), 1_000_001, "{coding}");
            assert!(d.truncated);
            match d.bytes {
                Cow::Owned(v) => assert!(v.capacity() <= 1_000_001, "{coding}"),
                Cow::Borrowed(_) => unreachable!(),
            }
            // exactly at the cap: not truncated
            let d = decode_body(Some(coding), &z, 4 << 20).unwrap();
            assert!(!d.truncated, "{coding}");
        }
        for coding in ["gzip", "deflate", "br", "zstd", "gzip, br"] {
            let d = decode_body(Some(coding), b"", 10).unwrap();
            assert!(d.bytes.is_empty() && !d.truncated);
        }
        let d = decode_body(Some("identity"), b"abc", 1).unwrap();
        assert_eq!(
            &d.bytes[..],
            b"abc",
            "identity is not decoded, so not capped"
        );
    }

    #[test]
    fn garbage_never_panics() {
        let mut x = 7u64;
        for len in 0..300 {
            let junk: Vec<u8> = (0..len)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (x >> 33) as u8
                })
                .collect();
            for coding in ["gzip", "deflate", "br", "zstd", "zstd, gzip"] {
                if let Ok(d) = decode_body(Some(coding), &junk, 1 << 16) {
                    assert!(d.bytes.len() <= 1 << 16);
                }
            }
            // a zstd magic followed by junk
            let mut z = vec![0x28, 0xb5, 0x2f, 0xfd];
            z.extend_from_slice(&junk);
            let _ = decode_body(Some("zstd"), &z, 1 << 16);
            let mut g = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
            g.extend_from_slice(&junk);
            let _ = decode_body(Some("gzip"), &g, 1 << 16);
        }
    }
}
