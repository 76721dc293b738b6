//! The Huffman code of HPACK (RFC 7541 §5.2, Appendix B), which QPACK uses unchanged
//! (RFC 9204 §4.1.2): decoding only. The HTTP/3 guard ([`H3Guard`](crate::H3Guard), feature
//! `quinn`) reads requests' field names with it, and `misdirect-probe` servers' header blocks.
//!
//! ```
//! // RFC 7541 C.4.1.
//! let coded = [0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff];
//! assert_eq!(misdirect::huffman::decode(&coded, 64).unwrap(), b"www.example.com");
//! assert!(misdirect::huffman::decode(&[0xff], 64).is_err()); // eight bits of padding
//! ```

/// The Huffman code's length in bits for each symbol, 0-255 and EOS (RFC 7541 Appendix B). The
/// code is canonical (codes of one length are consecutive, in symbol order, and each length
/// continues from the last code of the shorter one), so the lengths alone define it.
const LENGTHS: [u8; 257] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5,
    5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6,
    6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22,
    23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22,
    21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20,
    22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19,
    21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22,
    22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

/// The canonical code, rebuilt from [`LENGTHS`]: per length, the first code and where
/// its symbols start in `symbols` (sorted by length, then symbol).
struct Canonical {
    first: [u32; 31],
    count: [u16; 31],
    offset: [u16; 31],
    symbols: [u16; 257],
}

fn canonical() -> Canonical {
    let mut count = [0u16; 31];
    for &len in &LENGTHS {
        count[usize::from(len)] += 1;
    }
    let mut first = [0u32; 31];
    let mut offset = [0u16; 31];
    let (mut code, mut at) = (0u32, 0u16);
    for len in 1..31 {
        code <<= 1;
        first[len] = code;
        offset[len] = at;
        code += u32::from(count[len]);
        at += count[len];
    }
    let mut symbols = [0u16; 257];
    let mut next = offset;
    for len in 1..31u8 {
        for (symbol, _) in LENGTHS.iter().enumerate().filter(|(_, l)| **l == len) {
            symbols[usize::from(next[usize::from(len)])] = symbol as u16;
            next[usize::from(len)] += 1;
        }
    }
    Canonical {
        first,
        count,
        offset,
        symbols,
    }
}

/// Why a Huffman-coded string does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HuffmanError(&'static str);

impl core::fmt::Display for HuffmanError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for HuffmanError {}

impl HuffmanError {
    /// What is wrong, as its `Display` says it.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        self.0
    }
}

/// Decodes a Huffman-coded string (RFC 7541 §5.2): the padding must be at most seven bits, all
/// ones (a prefix of EOS), and EOS itself must not appear. The output is at most `limit` octets
/// (a code is at least five bits, so `bytes` decodes to at most `8 * len / 5` of them).
///
/// # Errors
/// A [`HuffmanError`] for bad padding, EOS, a code longer than 30 bits, or an output past
/// `limit`.
pub fn decode(bytes: &[u8], limit: usize) -> Result<Vec<u8>, HuffmanError> {
    let table = canonical();
    let mut out = Vec::with_capacity((bytes.len() * 8 / 5).min(limit));
    let (mut code, mut len, mut ones) = (0u32, 0usize, true);
    for i in 0..bytes.len() * 8 {
        let bit = u32::from(bytes[i / 8] >> (7 - i % 8) & 1);
        code = code << 1 | bit;
        len += 1;
        ones &= bit == 1;
        if len > 30 {
            return Err(HuffmanError("a Huffman code longer than 30 bits"));
        }
        let index = code.wrapping_sub(table.first[len]);
        if code >= table.first[len] && index < u32::from(table.count[len]) {
            let symbol = table.symbols[usize::from(table.offset[len]) + index as usize];
            if symbol == 256 {
                return Err(HuffmanError("EOS in a Huffman-coded string"));
            }
            if out.len() == limit {
                return Err(HuffmanError("a Huffman-coded string longer than allowed"));
            }
            out.push(symbol as u8);
            (code, len, ones) = (0, 0, true);
        }
    }
    if len > 7 || !ones {
        return Err(HuffmanError("Huffman padding is not a prefix of EOS"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{LENGTHS, canonical, decode};

    /// RFC 7541 Appendix B, a few codes written out: the table rebuilt from the lengths must
    /// give them.
    #[test]
    fn the_canonical_code_is_the_rfcs() {
        let table = canonical();
        let code_of = |symbol: u16| {
            let len = LENGTHS[usize::from(symbol)] as usize;
            let start = usize::from(table.offset[len]);
            let rank = table.symbols[start..start + usize::from(table.count[len])]
                .iter()
                .position(|s| *s == symbol)
                .unwrap();
            (table.first[len] + rank as u32, len)
        };
        assert_eq!(code_of(u16::from(b'0')), (0x0, 5));
        assert_eq!(code_of(u16::from(b' ')), (0x14, 6));
        assert_eq!(code_of(u16::from(b'A')), (0x21, 6));
        assert_eq!(code_of(u16::from(b'{')), (0x7ffe, 15));
        assert_eq!(code_of(0), (0x1ff8, 13));
        assert_eq!(code_of(255), (0x3ffffee, 26));
        assert_eq!(code_of(256), (0x3fff_ffff, 30));
    }

    #[test]
    fn rfc_7541_c4_strings_decode_and_bad_padding_is_refused() {
        // RFC 7541 C.4.1.
        let coded = [
            0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
        ];
        assert_eq!(decode(&coded, 64).unwrap(), b"www.example.com");
        assert!(decode(&coded, 14).is_err(), "the limit holds");
        // Eight one bits of padding: longer than seven.
        assert!(decode(&[0xff], 64).is_err());
        // ':' is 1011100 (7 bits) with one padding bit 1: ":".
        assert_eq!(decode(&[0b1011_1001], 64).unwrap(), b":");
    }
}
