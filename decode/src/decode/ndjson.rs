//! Newline-delimited JSON (`application/x-ndjson`, `application/jsonl`: one JSON text per line,
//! as Ollama streams), as a push parser: LF or CRLF line ends (a CRLF may be split across
//! pushes), blank lines skipped, a last line without its newline kept at the end. Lines are
//! not parsed here: a line that is not JSON is the adapter's to count.

#[derive(Debug, Default)]
pub struct NdjsonParser {
    /// Bytes of the line being read.
    line: Vec<u8>,
}

impl NdjsonParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the stream; lines completed by them are appended to `out`.
    pub fn push(&mut self, mut b: &[u8], out: &mut Vec<Vec<u8>>) {
        while let Some(i) = memchr::memchr(b'\n', b) {
            self.line.extend_from_slice(&b[..i]);
            self.end_line(out);
            b = &b[i + 1..];
        }
        self.line.extend_from_slice(b);
    }

    /// End of stream: a last line not ended by a newline is a line too.
    pub fn finish(&mut self, out: &mut Vec<Vec<u8>>) {
        self.end_line(out);
    }

    fn end_line(&mut self, out: &mut Vec<Vec<u8>>) {
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        if self.line.iter().all(u8::is_ascii_whitespace) {
            self.line.clear();
        } else {
            out.push(std::mem::take(&mut self.line));
        }
    }
}

/// All lines of a complete stream.
pub fn parse_all(b: &[u8]) -> Vec<Vec<u8>> {
    let mut p = NdjsonParser::new();
    let mut out = Vec::new();
    p.push(b, &mut out);
    p.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &[u8] = b"{\"a\":1}\r\n\n{\"b\":\"x\\ny\"}\n  \r\n\xffnot json\n{\"c\":3}";

    fn expected() -> Vec<Vec<u8>> {
        vec![
            b"{\"a\":1}".to_vec(),
            b"{\"b\":\"x\\ny\"}".to_vec(),
            b"\xffnot json".to_vec(),
            b"{\"c\":3}".to_vec(),
        ]
    }

    #[test]
    fn crlf_blank_lines_garbage_and_an_unterminated_last_line() {
        assert_eq!(parse_all(STREAM), expected());
        assert!(parse_all(b"").is_empty());
        assert!(parse_all(b"\n\r\n \t\n").is_empty());
        // a CR inside a line is the line's (JSON would escape it)
        assert_eq!(parse_all(b"a\rb\n"), vec![b"a\rb".to_vec()]);
    }

    #[test]
    fn any_split_gives_the_same_lines() {
        for i in 0..=STREAM.len() {
            for j in i..=STREAM.len() {
                let mut p = NdjsonParser::new();
                let mut out = Vec::new();
                for part in [&STREAM[..i], b"", &STREAM[i..j], &STREAM[j..]] {
                    p.push(part, &mut out);
                }
                p.finish(&mut out);
                assert_eq!(out, expected(), "split at {i}, {j}");
            }
        }
    }

    #[test]
    fn lines_complete_as_soon_as_their_newline_arrives() {
        let mut p = NdjsonParser::new();
        let mut out = Vec::new();
        p.push(b"{\"a\":1}\r", &mut out);
        assert!(out.is_empty());
        p.push(b"\n{\"b\"", &mut out);
        assert_eq!(out, vec![b"{\"a\":1}".to_vec()]);
        p.finish(&mut out);
        assert_eq!(out.len(), 2);
        p.finish(&mut out);
        assert_eq!(out.len(), 2, "finishing twice adds nothing");
    }
}
