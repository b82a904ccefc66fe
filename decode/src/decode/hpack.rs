//! HPACK (RFC 7541): the header compression of HTTP/2, decoder side only.
//!
//! One [`Decoder`] per direction per connection: the dynamic table is shared by every header
//! block the peer's encoder sends, in order, so one lost or skipped block makes all later ones
//! untrustworthy. Every input is checked (integers, string lengths, indices, Huffman padding,
//! table size updates) and gives an [`HpackError`], never a panic; memory is bounded by the
//! table size cap and the header list size cap.

use std::collections::VecDeque;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HpackError {
    /// The block ended inside a representation.
    Truncated,
    /// An integer longer than any sane length or index.
    IntegerOverflow,
    /// Index 0, or past the end of the static and dynamic tables.
    BadIndex(u64),
    /// Huffman data with the EOS symbol, over-long or non-EOS padding.
    BadHuffman,
    /// A size update past the allowed maximum, or after the first header field.
    BadSizeUpdate(u64),
    /// The decoded header list is larger than the cap.
    ListTooLarge,
}

impl std::fmt::Display for HpackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HpackError::Truncated => write!(f, "HPACK block ends mid-field"),
            HpackError::IntegerOverflow => write!(f, "HPACK integer too large"),
            HpackError::BadIndex(i) => write!(f, "HPACK index {i} out of range"),
            HpackError::BadHuffman => write!(f, "bad HPACK Huffman string"),
            HpackError::BadSizeUpdate(s) => write!(f, "bad HPACK table size update to {s}"),
            HpackError::ListTooLarge => write!(f, "HPACK header list larger than the cap"),
        }
    }
}

impl std::error::Error for HpackError {}

/// One decoded header field: name and value as bytes (HPACK carries octets, not text).
pub type Field = (Vec<u8>, Vec<u8>);

/// Per-entry overhead counted in table and list sizes (RFC 7541 §4.1, RFC 9113 §6.5.2).
const ENTRY_OVERHEAD: usize = 32;
/// The dynamic table size both sides start with (SETTINGS_HEADER_TABLE_SIZE default).
pub const DEFAULT_TABLE_SIZE: usize = 4096;

/// A dynamic table entry: name and value.
type Entry = (Box<[u8]>, Box<[u8]>);

pub struct Decoder {
    /// Newest entry first (index 62 is `table[0]`).
    table: VecDeque<Entry>,
    /// Sum of entry sizes (name + value + 32).
    size: usize,
    /// Current maximum, as the encoder last set it.
    max_size: usize,
    /// Largest maximum an update may set. An observer cannot be sure which SETTINGS the
    /// encoder honours, so this is a memory cap rather than the negotiated value.
    cap: usize,
    /// Largest decoded header list (names + values + 32 per field).
    max_list: usize,
}

impl Decoder {
    /// `table_cap`: largest dynamic table an encoder may ask for; `max_list`: largest
    /// decoded header list.
    pub fn new(table_cap: usize, max_list: usize) -> Self {
        Self {
            table: VecDeque::new(),
            size: 0,
            max_size: DEFAULT_TABLE_SIZE.min(table_cap),
            cap: table_cap,
            max_list,
        }
    }

    /// Bytes held by the dynamic table (entry sizes as RFC 7541 counts them).
    pub fn table_size(&self) -> usize {
        self.size
    }

    /// Decodes one complete header block (HEADERS or PUSH_PROMISE plus CONTINUATIONs).
    /// After an error the dynamic table may be half-updated: the connection cannot be
    /// decoded further.
    pub fn decode(&mut self, block: &[u8]) -> Result<Vec<Field>, HpackError> {
        let mut out = Vec::new();
        let mut list_size = 0usize;
        let mut b = block;
        while let Some(&first) = b.first() {
            let field = if first & 0x80 != 0 {
                // Indexed header field (§6.1).
                let idx = int(&mut b, 7)?;
                let (n, v) = self.get(idx)?;
                (n.to_vec(), v.to_vec())
            } else if first & 0x40 != 0 {
                // Literal with incremental indexing (§6.2.1).
                let (n, v) = self.literal(&mut b, 6)?;
                self.insert(&n, &v);
                (n, v)
            } else if first & 0x20 != 0 {
                // Dynamic table size update (§6.3): only before the first field of a block.
                let size = int(&mut b, 5)?;
                if !out.is_empty() || size > self.cap as u64 {
                    return Err(HpackError::BadSizeUpdate(size));
                }
                self.max_size = size as usize;
                self.evict(0);
                continue;
            } else {
                // Literal without indexing (0000) or never indexed (0001) (§6.2.2, §6.2.3).
                self.literal(&mut b, 4)?
            };
            list_size += field.0.len() + field.1.len() + ENTRY_OVERHEAD;
            if list_size > self.max_list {
                return Err(HpackError::ListTooLarge);
            }
            out.push(field);
        }
        Ok(out)
    }

    fn get(&self, idx: u64) -> Result<(&[u8], &[u8]), HpackError> {
        let i = idx as usize;
        match i {
            0 => Err(HpackError::BadIndex(idx)),
            1..=61 => {
                let (n, v) = STATIC_TABLE[i - 1];
                Ok((n.as_bytes(), v.as_bytes()))
            }
            _ => self
                .table
                .get(i - 62)
                .map(|(n, v)| (&n[..], &v[..]))
                .ok_or(HpackError::BadIndex(idx)),
        }
    }

    /// A literal field whose name index has a `prefix`-bit prefix (0: the name follows).
    fn literal(&self, b: &mut &[u8], prefix: u8) -> Result<Field, HpackError> {
        let idx = int(b, prefix)?;
        let name = if idx == 0 {
            string(b)?
        } else {
            self.get(idx)?.0.to_vec()
        };
        let value = string(b)?;
        Ok((name, value))
    }

    fn insert(&mut self, name: &[u8], value: &[u8]) {
        let size = name.len() + value.len() + ENTRY_OVERHEAD;
        // An entry larger than the table empties it and is not added (§4.4).
        self.evict(size.min(self.max_size + 1));
        if size <= self.max_size {
            self.table.push_front((name.into(), value.into()));
            self.size += size;
        }
    }

    /// Evicts the oldest entries until `room` more bytes fit under the maximum.
    fn evict(&mut self, room: usize) {
        while self.size + room > self.max_size {
            match self.table.pop_back() {
                Some((n, v)) => self.size -= n.len() + v.len() + ENTRY_OVERHEAD,
                None => break,
            }
        }
    }
}

/// An integer with an `n`-bit prefix (§5.1), consuming its bytes from `b`.
fn int(b: &mut &[u8], n: u8) -> Result<u64, HpackError> {
    let (&first, mut rest) = b.split_first().ok_or(HpackError::Truncated)?;
    let max = (1u64 << n) - 1;
    let mut v = u64::from(first) & max;
    if v == max {
        let mut shift = 0u32;
        loop {
            let (&byte, r) = rest.split_first().ok_or(HpackError::Truncated)?;
            rest = r;
            // 2^32 is far past any index or string length a header block can hold.
            if shift > 28 {
                return Err(HpackError::IntegerOverflow);
            }
            v += u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        if v > u64::from(u32::MAX) {
            return Err(HpackError::IntegerOverflow);
        }
    }
    *b = rest;
    Ok(v)
}

/// A string literal (§5.2): raw or Huffman-coded.
fn string(b: &mut &[u8]) -> Result<Vec<u8>, HpackError> {
    let huffman = b.first().is_some_and(|&f| f & 0x80 != 0);
    let len = int(b, 7)?;
    if len > b.len() as u64 {
        return Err(HpackError::Truncated);
    }
    let (s, rest) = b.split_at(len as usize);
    *b = rest;
    if huffman {
        huffman_decode(s)
    } else {
        Ok(s.to_vec())
    }
}

/// The canonical Huffman code of RFC 7541 Appendix B as (code length, symbols of that length),
/// symbol 256 being EOS. The appendix's code is canonical: codes of one length are consecutive
/// in symbol order and follow the last code of the next shorter length, so the lengths alone
/// give every code (the tests check it against the appendix's examples and that the code is
/// complete).
const HUFFMAN: &[(u8, &[u16])] = &[
    (5, &[48, 49, 50, 97, 99, 101, 105, 111, 115, 116]),
    (
        6,
        &[
            32, 37, 45, 46, 47, 51, 52, 53, 54, 55, 56, 57, 61, 65, 95, 98, 100, 102, 103, 104,
            108, 109, 110, 112, 114, 117,
        ],
    ),
    (
        7,
        &[
            58, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86,
            87, 89, 106, 107, 113, 118, 119, 120, 121, 122,
        ],
    ),
    (8, &[38, 42, 44, 59, 88, 90]),
    (10, &[33, 34, 40, 41, 63]),
    (11, &[39, 43, 124]),
    (12, &[35, 62]),
    (13, &[0, 36, 64, 91, 93, 126]),
    (14, &[94, 125]),
    (15, &[60, 96, 123]),
    (19, &[92, 195, 208]),
    (20, &[128, 130, 131, 162, 184, 194, 224, 226]),
    (
        21,
        &[
            153, 161, 167, 172, 176, 177, 179, 209, 216, 217, 227, 229, 230,
        ],
    ),
    (
        22,
        &[
            129, 132, 133, 134, 136, 146, 154, 156, 160, 163, 164, 169, 170, 173, 178, 181, 185,
            186, 187, 189, 190, 196, 198, 228, 232, 233,
        ],
    ),
    (
        23,
        &[
            1, 135, 137, 138, 139, 140, 141, 143, 147, 149, 150, 151, 152, 155, 157, 158, 165, 166,
            168, 174, 175, 180, 182, 183, 188, 191, 197, 231, 239,
        ],
    ),
    (
        24,
        &[9, 142, 144, 145, 148, 159, 171, 206, 215, 225, 236, 237],
    ),
    (25, &[199, 207, 234, 235]),
    (
        26,
        &[
            192, 193, 200, 201, 202, 205, 210, 213, 218, 219, 238, 240, 242, 243, 255,
        ],
    ),
    (
        27,
        &[
            203, 204, 211, 212, 214, 221, 222, 223, 241, 244, 245, 246, 247, 248, 250, 251, 252,
            253, 254,
        ],
    ),
    (
        28,
        &[
            2, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24, 25, 26, 27, 28,
            29, 30, 31, 127, 220, 249,
        ],
    ),
    (30, &[10, 13, 22, 256]),
];

const EOS: u16 = 256;
const MAX_CODE_LEN: usize = 30;

/// Canonical decoding tables: per code length, the first code, how many codes, and where
/// their symbols start in `symbols`.
struct HuffmanTables {
    first: [u32; MAX_CODE_LEN + 1],
    count: [u32; MAX_CODE_LEN + 1],
    start: [u16; MAX_CODE_LEN + 1],
    symbols: Vec<u16>,
}

fn tables() -> &'static HuffmanTables {
    static T: std::sync::OnceLock<HuffmanTables> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let mut t = HuffmanTables {
            first: [0; MAX_CODE_LEN + 1],
            count: [0; MAX_CODE_LEN + 1],
            start: [0; MAX_CODE_LEN + 1],
            symbols: Vec::with_capacity(257),
        };
        for &(len, syms) in HUFFMAN {
            t.count[len as usize] = syms.len() as u32;
            t.symbols.extend_from_slice(syms);
        }
        let (mut code, mut start) = (0u32, 0u16);
        for len in 1..=MAX_CODE_LEN {
            t.first[len] = code;
            t.start[len] = start;
            code = (code + t.count[len]) << 1;
            start += t.count[len] as u16;
        }
        t
    })
}

/// Decodes a Huffman-coded string (§5.2): the padding must be shorter than 8 bits and all
/// ones (a prefix of EOS), and EOS itself must not appear.
fn huffman_decode(s: &[u8]) -> Result<Vec<u8>, HpackError> {
    let t = tables();
    let mut out = Vec::with_capacity(s.len() * 8 / 5);
    let (mut code, mut len) = (0u32, 0usize);
    for &byte in s {
        for bit in (0..8).rev() {
            code = code << 1 | u32::from(byte >> bit & 1);
            len += 1;
            let off = code.wrapping_sub(t.first[len]);
            if off < t.count[len] {
                let sym = t.symbols[usize::from(t.start[len]) + off as usize];
                if sym == EOS {
                    return Err(HpackError::BadHuffman);
                }
                out.push(sym as u8);
                code = 0;
                len = 0;
            } else if len == MAX_CODE_LEN {
                return Err(HpackError::BadHuffman);
            }
        }
    }
    if len > 7 || code != (1 << len) - 1 {
        return Err(HpackError::BadHuffman);
    }
    Ok(out)
}

/// RFC 7541 Appendix A.
const STATIC_TABLE: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn fields(list: &[(&str, &str)]) -> Vec<Field> {
        list.iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    /// Decodes RFC 7541 Appendix C blocks in order on one decoder, checking the fields and
    /// the table size after each.
    type Example<'a> = (&'a str, &'a [(&'a str, &'a str)], usize);

    fn run(cap: usize, blocks: &[Example]) -> Decoder {
        let mut d = Decoder::new(cap, 64 * 1024);
        for (i, (block, want, size)) in blocks.iter().enumerate() {
            assert_eq!(d.decode(&hex(block)).unwrap(), fields(want), "block {i}");
            assert_eq!(d.table_size(), *size, "table size after block {i}");
        }
        d
    }

    const REQ1: &[(&str, &str)] = &[
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
    ];
    const REQ2: &[(&str, &str)] = &[
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
        ("cache-control", "no-cache"),
    ];
    const REQ3: &[(&str, &str)] = &[
        (":method", "GET"),
        (":scheme", "https"),
        (":path", "/index.html"),
        (":authority", "www.example.com"),
        ("custom-key", "custom-value"),
    ];
    const RESP1: &[(&str, &str)] = &[
        (":status", "302"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("location", "https://www.example.com"),
    ];
    const RESP2: &[(&str, &str)] = &[
        (":status", "307"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("location", "https://www.example.com"),
    ];
    const RESP3: &[(&str, &str)] = &[
        (":status", "200"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
        ("location", "https://www.example.com"),
        ("content-encoding", "gzip"),
        (
            "set-cookie",
            "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
        ),
    ];

    #[test]
    fn c2_single_representations() {
        // C.2.1 literal with indexing, C.2.2 without, C.2.3 never indexed, C.2.4 indexed.
        let mut d = Decoder::new(4096, 1 << 16);
        let got = d
            .decode(&hex(
                "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
            ))
            .unwrap();
        assert_eq!(got, fields(&[("custom-key", "custom-header")]));
        assert_eq!(d.table_size(), 55);
        let mut d = Decoder::new(4096, 1 << 16);
        let got = d
            .decode(&hex("040c 2f73 616d 706c 652f 7061 7468"))
            .unwrap();
        assert_eq!(got, fields(&[(":path", "/sample/path")]));
        assert_eq!(d.table_size(), 0);
        let got = d
            .decode(&hex("1008 7061 7373 776f 7264 0673 6563 7265 74"))
            .unwrap();
        assert_eq!(got, fields(&[("password", "secret")]));
        assert_eq!(d.table_size(), 0);
        assert_eq!(d.decode(&hex("82")).unwrap(), fields(&[(":method", "GET")]));
    }

    #[test]
    fn c3_requests_without_huffman() {
        let d = run(
            4096,
            &[
                (
                    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
                    REQ1,
                    57,
                ),
                ("8286 84be 5808 6e6f 2d63 6163 6865", REQ2, 110),
                (
                    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
                    REQ3,
                    164,
                ),
            ],
        );
        assert_eq!(&*d.table[0].0, b"custom-key");
        assert_eq!(&*d.table[2].1, b"www.example.com");
    }

    #[test]
    fn c4_requests_with_huffman() {
        run(
            4096,
            &[
                ("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", REQ1, 57),
                ("8286 84be 5886 a8eb 1064 9cbf", REQ2, 110),
                (
                    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
                    REQ3,
                    164,
                ),
            ],
        );
    }

    #[test]
    fn c5_responses_with_eviction() {
        let d = run(
            256,
            &[
                ("4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", RESP1, 222),
                ("4803 3330 37c1 c0bf", RESP2, 222),
                ("88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31", RESP3, 215),
            ],
        );
        assert_eq!(d.table.len(), 3);
        assert_eq!(&*d.table[0].0, b"set-cookie");
        assert_eq!(&*d.table[2].1, b"Mon, 21 Oct 2013 20:13:22 GMT");
    }

    #[test]
    fn c6_responses_with_huffman_and_eviction() {
        run(
            256,
            &[
                ("4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3", RESP1, 222),
                ("4883 640e ffc1 c0bf", RESP2, 222),
                ("88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07", RESP3, 215),
            ],
        );
    }

    #[test]
    fn the_huffman_code_is_complete_and_canonical() {
        // Kraft sum exactly 1: every bit string decodes, so padding rules are all that
        // reject input. The appendix's first codes of a few lengths, as a spot check.
        let kraft: f64 = HUFFMAN
            .iter()
            .map(|(l, s)| s.len() as f64 / f64::from(1u32 << l))
            .sum();
        assert_eq!(kraft, 1.0);
        assert_eq!(HUFFMAN.iter().map(|(_, s)| s.len()).sum::<usize>(), 257);
        let t = tables();
        assert_eq!(t.first[5], 0x0); // '0' = 00000
        assert_eq!(t.first[6], 0x14); // ' ' = 010100
        assert_eq!(t.first[8], 0xf8); // '&' = 11111000
        assert_eq!(t.first[13], 0x1ff8); // NUL = 1111111111000
        assert_eq!(t.first[30], 0x3fff_fffc); // LF = 30 bits, EOS is the last code
                                              // every byte value round-trips through an encoder built from the same tables
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(huffman_decode(&encode(&all)).unwrap(), all);
    }

    /// A Huffman encoder for tests, from the canonical tables.
    fn encode(s: &[u8]) -> Vec<u8> {
        let t = tables();
        let code_of = |sym: u16| {
            (1..=MAX_CODE_LEN)
                .find_map(|len| {
                    let st = usize::from(t.start[len]);
                    t.symbols[st..st + t.count[len] as usize]
                        .iter()
                        .position(|&x| x == sym)
                        .map(|i| (t.first[len] + i as u32, len))
                })
                .unwrap()
        };
        let (mut acc, mut bits, mut out) = (0u64, 0usize, Vec::new());
        for &b in s {
            let (c, l) = code_of(u16::from(b));
            acc = acc << l | u64::from(c);
            bits += l;
            while bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        if bits > 0 {
            out.push(((acc << (8 - bits)) as u8) | ((1u8 << (8 - bits)) - 1));
        }
        out
    }

    #[test]
    fn bad_huffman_is_an_error() {
        // padding of 8 ones, padding with a zero, and EOS spelled out
        assert_eq!(huffman_decode(&[0xff]), Err(HpackError::BadHuffman));
        assert_eq!(huffman_decode(&[0x00, 0x00]), Err(HpackError::BadHuffman)); // "00" + 6 zero bits
        assert_eq!(
            huffman_decode(&[0xff, 0xff, 0xff, 0xff]),
            Err(HpackError::BadHuffman)
        );
        assert_eq!(huffman_decode(&[]).unwrap(), b"");
    }

    #[test]
    fn size_updates_evict_and_are_checked() {
        let mut d = Decoder::new(4096, 1 << 16);
        d.decode(&hex("4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"))
            .unwrap();
        assert_eq!(d.table_size(), 54);
        // size 0 empties the table; then 4096 again; the entry is gone
        d.decode(&hex("20 3fe1 1f 82")).unwrap();
        assert_eq!(d.table_size(), 0);
        assert_eq!(d.decode(&hex("be")), Err(HpackError::BadIndex(62)));
        // past the cap, or after a field
        assert_eq!(
            d.decode(&hex("3fe2 1f")),
            Err(HpackError::BadSizeUpdate(4097))
        );
        assert_eq!(d.decode(&hex("82 20")), Err(HpackError::BadSizeUpdate(0)));
        // an entry larger than the table empties it and is not added
        let mut d = Decoder::new(64, 1 << 16);
        d.decode(&hex("4003 6162 6303 7879 7a")).unwrap(); // abc: xyz, 38 bytes
        assert_eq!(d.table_size(), 38);
        let mut big = hex("4003 6465 6620");
        big.extend_from_slice(&[b'v'; 32]);
        d.decode(&big).unwrap();
        assert_eq!(d.table_size(), 0);
    }

    #[test]
    fn garbage_is_an_error_never_a_panic() {
        let mut d = Decoder::new(4096, 1 << 16);
        assert_eq!(d.decode(&hex("80")), Err(HpackError::BadIndex(0)));
        assert_eq!(d.decode(&hex("ff")), Err(HpackError::Truncated));
        assert_eq!(
            d.decode(&hex("ff ff ff ff ff ff 01")),
            Err(HpackError::IntegerOverflow)
        );
        assert_eq!(d.decode(&hex("400a 6375")), Err(HpackError::Truncated));
        assert_eq!(d.decode(&hex("bf")), Err(HpackError::BadIndex(63)));
        // the list cap counts 32 bytes per field
        let mut d = Decoder::new(4096, 130);
        assert!(d.decode(&hex("82 84 86")).is_ok()); // 42 + 38 + 43
        assert_eq!(d.decode(&hex("82 84 86 87")), Err(HpackError::ListTooLarge));
        // random input: errors or fields, and the table stays within its cap
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut d = Decoder::new(512, 4096);
        for _ in 0..20_000 {
            let len = (seed % 40) as usize;
            let junk: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (seed >> 56) as u8
                })
                .collect();
            let _ = d.decode(&junk);
            assert!(d.table_size() <= 512);
        }
    }
}
