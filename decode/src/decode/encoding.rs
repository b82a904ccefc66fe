//! Content codings (RFC 9110 §8.4): gzip, deflate (zlib or raw, as servers send both), br and
//! zstd, with the output capped so that a small compressed body cannot exhaust memory.

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
/// were applied) on `body`, producing at most `max_out` bytes.
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
        let out = match coding.as_str() {
            "" | "identity" => continue,
            "gzip" | "x-gzip" => {
                read_capped(flate2::read::MultiGzDecoder::new(&cur.bytes[..]), max_out)
            }
            "deflate" => {
                // RFC 9110 says zlib; some servers send raw deflate. A zlib stream starts with a
                // header whose first 16 bits are a multiple of 31.
                let b = &cur.bytes[..];
                if b.len() >= 2
                    && (b[0] & 0x0f) == 8
                    && (u16::from(b[0]) << 8 | u16::from(b[1])) % 31 == 0
                {
                    read_capped(flate2::read::ZlibDecoder::new(b), max_out)
                } else {
                    read_capped(flate2::read::DeflateDecoder::new(b), max_out)
                }
            }
            "br" => read_capped(
                brotli_decompressor::Decompressor::new(&cur.bytes[..], 4096),
                max_out,
            ),
            "zstd" => match ruzstd::decoding::StreamingDecoder::new(&cur.bytes[..]) {
                Ok(d) => read_capped(d, max_out),
                Err(e) => Err(EncodingError::Corrupt(e.to_string())),
            },
            other => return Err(EncodingError::Unsupported(other.to_string())),
        }?;
        cur = Decoded {
            bytes: Cow::Owned(out.0),
            truncated: cur.truncated || out.1,
        };
    }
    Ok(cur)
}

/// Reads at most `max` bytes. An error after some output keeps the output (truncated); an
/// error before any is corruption.
fn read_capped(mut r: impl Read, max: usize) -> Result<(Vec<u8>, bool), EncodingError> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let room = max.saturating_sub(out.len());
        let want = buf.len().min(room.max(1));
        match r.read(&mut buf[..want]) {
            Ok(0) => return Ok((out, false)),
            Ok(n) => {
                if n > room {
                    out.extend_from_slice(&buf[..room]);
                    return Ok((out, true));
                }
                out.extend_from_slice(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if out.is_empty() => return Err(EncodingError::Corrupt(e.to_string())),
            Err(_) => return Ok((out, true)),
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
}
