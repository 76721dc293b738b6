//! A minimal HPACK (RFC 7541): literals out, everything a server may send in.
//!
//! Out, every field is a "literal header field without indexing — new name" (§6.2.2) with raw
//! (not Huffman-coded) strings, so the peer decodes exactly the fields sent, in their order and
//! number, repeated pseudo-headers and all: nothing is indexed, merged or normalized.
//!
//! In, a response header block may use the static table (Appendix A), the dynamic table (§2.3,
//! §4), size updates (§6.3) and Huffman-coded strings (§5.2, Appendix B): the [`Decoder`] reads
//! them all, keeping the one dynamic table the connection's header blocks share. It holds the
//! server to what the client advertised: a table no larger than SETTINGS_HEADER_TABLE_SIZE,
//! a header list no larger than SETTINGS_MAX_HEADER_LIST_SIZE ([`Decoder::with_limits`]).
//! Without the second, one octet naming a 4 KiB table entry decodes to 4 KiB, again and again:
//! a 16 KiB block to 47 MiB.

use core::fmt;
use std::collections::VecDeque;

/// Decoded header fields: (name, value) pairs in order.
pub type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// A header block that does not decode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HpackError(&'static str);

impl HpackError {
    /// What went wrong, without the `HPACK:` the display puts first.
    pub(crate) fn reason(&self) -> &'static str {
        self.0
    }
}

impl fmt::Display for HpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HPACK: {}", self.0)
    }
}

impl std::error::Error for HpackError {}

/// The static table (RFC 7541 Appendix A), from index 1.
const STATIC: [(&str, &str); 61] = [
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

/// Decodes a Huffman-coded string (RFC 7541 §5.2): the padding must be at most seven bits, all
/// ones (a prefix of EOS), and EOS itself must not appear.
///
/// ```
/// use misdirect_probe::hpack::huffman_decode;
/// // RFC 7541 C.4.1.
/// let coded = [0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff];
/// assert_eq!(huffman_decode(&coded).unwrap(), b"www.example.com");
/// ```
///
/// # Errors
/// An [`HpackError`] for bad padding, EOS, or bits that end inside a code.
pub fn huffman_decode(bytes: &[u8]) -> Result<Vec<u8>, HpackError> {
    misdirect::huffman::decode(bytes, usize::MAX).map_err(|e| HpackError(e.reason()))
}

/// An integer with an N-bit prefix (RFC 7541 §5.1, which QPACK uses too: RFC 9204 §4.1.1);
/// `first` holds the pattern's high bits.
pub(crate) fn put_int(out: &mut Vec<u8>, first: u8, prefix: u32, mut value: usize) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

/// Every field as a literal without indexing, new name, raw strings (RFC 7541 §6.2.2): the
/// peer decodes the fields in the order and number given, byte for byte.
///
/// ```
/// use misdirect_probe::hpack::{Decoder, encode_literals};
/// let block = encode_literals(&[(b":authority", b"a.example"), (b"host", b"b.example")]);
/// let fields = Decoder::new().decode(&block).unwrap();
/// assert_eq!(fields[1], (b"host".to_vec(), b"b.example".to_vec()));
/// ```
#[must_use]
pub fn encode_literals(fields: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.push(0x00);
        put_int(&mut out, 0, 7, name.len());
        out.extend_from_slice(name);
        put_int(&mut out, 0, 7, value.len());
        out.extend_from_slice(value);
    }
    out
}

/// SETTINGS_HEADER_TABLE_SIZE's initial value (RFC 9113 §6.5.2): the table limit of
/// [`Decoder::new`].
pub const DEFAULT_TABLE_SIZE: usize = 4096;

/// The header list limit of [`Decoder::new`]. SETTINGS_MAX_HEADER_LIST_SIZE starts unlimited
/// (RFC 9113 §6.5.2), but a decoder without a limit turns each octet of a block into a field
/// of up to 4 KiB.
pub const DEFAULT_MAX_LIST_SIZE: usize = 64 * 1024;

/// A header block decoder, one per connection: the dynamic table lives across blocks.
#[derive(Debug)]
pub struct Decoder {
    /// Newest first, as indices count (RFC 7541 §2.3.3).
    dynamic: VecDeque<(Vec<u8>, Vec<u8>)>,
    size: usize,
    /// The table's maximum size: the last size update's, else `limit` (RFC 7541 §4.2).
    max: usize,
    /// The most `max` may be: SETTINGS_HEADER_TABLE_SIZE as the client advertised it.
    limit: usize,
    /// The most one decoded header list may hold, counted as RFC 9113 §6.5.2 counts it.
    max_list: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// An empty dynamic table of the protocol's default size, 4,096 octets, and header lists
    /// of at most [`DEFAULT_MAX_LIST_SIZE`].
    #[must_use]
    pub fn new() -> Decoder {
        Decoder::with_limits(DEFAULT_TABLE_SIZE, DEFAULT_MAX_LIST_SIZE)
    }

    /// The decoder of a client that advertised SETTINGS_HEADER_TABLE_SIZE `table_size` and
    /// SETTINGS_MAX_HEADER_LIST_SIZE `max_list_size`. The table's maximum size is
    /// `table_size` from the start: an entry larger than it empties the table and is not
    /// added (RFC 7541 §4.4), so with 0 nothing is ever indexed, and a size update above it
    /// is a decoding error (§4.2, §6.3: it "MUST be lower than or equal to" the limit). A
    /// header list whose fields' sizes (name, value and 32 octets each, RFC 9113 §6.5.2) add
    /// up past `max_list_size` is a decoding error too: the block stops being decoded there.
    ///
    /// ```
    /// use misdirect_probe::hpack::Decoder;
    /// let mut decoder = Decoder::with_limits(0, 84);
    /// // A literal with incremental indexing (x: y), then index 62: no such entry.
    /// assert!(decoder.decode(&[0x40, 1, b'x', 1, b'y', 0xbe]).is_err());
    /// // :status 200 (index 8) counts 7 + 3 + 32 = 42 octets: two fit in 84, three do not.
    /// assert_eq!(decoder.decode(&[0x88, 0x88]).unwrap().len(), 2);
    /// assert!(decoder.decode(&[0x88, 0x88, 0x88]).is_err());
    /// ```
    #[must_use]
    pub fn with_limits(table_size: usize, max_list_size: usize) -> Decoder {
        Decoder {
            dynamic: VecDeque::new(),
            size: 0,
            max: table_size,
            limit: table_size,
            max_list: max_list_size,
        }
    }

    /// Decodes one complete header block into (name, value) pairs, in order.
    ///
    /// ```
    /// use misdirect_probe::hpack::Decoder;
    /// // RFC 7541 C.4.1 and C.4.2: the second request refers to the first's :authority
    /// // through the dynamic table (index 62).
    /// let mut decoder = Decoder::new();
    /// let first = decoder.decode(&[
    ///     0x82, 0x86, 0x84, 0x41, 0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab,
    ///     0x90, 0xf4, 0xff,
    /// ]).unwrap();
    /// assert_eq!(first[3], (b":authority".to_vec(), b"www.example.com".to_vec()));
    /// let second = decoder
    ///     .decode(&[0x82, 0x86, 0x84, 0xbe, 0x58, 0x86, 0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf])
    ///     .unwrap();
    /// assert_eq!(second[3], (b":authority".to_vec(), b"www.example.com".to_vec()));
    /// assert_eq!(second[4], (b"cache-control".to_vec(), b"no-cache".to_vec()));
    /// ```
    ///
    /// # Errors
    /// An [`HpackError`] for a truncated block, an index past the tables, a size update past
    /// the limit, a header list past its limit, or a bad Huffman string.
    pub fn decode(&mut self, block: &[u8]) -> Result<Fields, HpackError> {
        let mut fields = Vec::new();
        let mut list = 0;
        let max_list = self.max_list;
        // Each field is counted before it is copied out: the list's limit bounds what a block
        // makes, not only what it returns.
        let mut count = |name: &[u8], value: &[u8]| {
            list += name.len() + value.len() + 32;
            if list > max_list {
                return Err(HpackError(
                    "a header list past the SETTINGS_MAX_HEADER_LIST_SIZE advertised",
                ));
            }
            Ok(())
        };
        let mut at = 0;
        while at < block.len() {
            let first = block[at];
            if first & 0x80 != 0 {
                // Indexed field (§6.1).
                let index = get_int(block, &mut at, 7)?;
                let (name, value) = self.entry(index)?;
                count(name, value)?;
                fields.push((name.to_vec(), value.to_vec()));
            } else if first & 0xe0 == 0x20 {
                // Dynamic table size update (§6.3).
                let max = get_int(block, &mut at, 5)?;
                if max > self.limit {
                    return Err(HpackError(
                        "a table size update past the SETTINGS_HEADER_TABLE_SIZE advertised",
                    ));
                }
                self.max = max;
                self.evict(0);
            } else {
                // Literal with incremental indexing (01), without (0000), never indexed (0001).
                let indexing = first & 0x40 != 0;
                let index = get_int(block, &mut at, if indexing { 6 } else { 4 })?;
                let name = if index == 0 {
                    get_str(block, &mut at)?
                } else {
                    self.entry(index)?.0.to_vec()
                };
                let value = get_str(block, &mut at)?;
                count(&name, &value)?;
                if indexing {
                    self.insert(&name, &value);
                }
                fields.push((name, value));
            }
        }
        Ok(fields)
    }

    fn entry(&self, index: usize) -> Result<(&[u8], &[u8]), HpackError> {
        match index {
            0 => Err(HpackError("index 0")),
            1..=61 => {
                let (name, value) = STATIC[index - 1];
                Ok((name.as_bytes(), value.as_bytes()))
            }
            _ => self
                .dynamic
                .get(index - 62)
                .map(|(name, value)| (name.as_slice(), value.as_slice()))
                .ok_or(HpackError("an index past the dynamic table")),
        }
    }

    /// Adds an entry, evicting the oldest until it fits (§4.4); an entry larger than the
    /// table empties it and is not added.
    fn insert(&mut self, name: &[u8], value: &[u8]) {
        let size = name.len() + value.len() + 32;
        self.evict(size);
        if size <= self.max {
            self.size += size;
            self.dynamic.push_front((name.to_vec(), value.to_vec()));
        }
    }

    fn evict(&mut self, room: usize) {
        while self.size + room > self.max {
            match self.dynamic.pop_back() {
                Some((name, value)) => self.size -= name.len() + value.len() + 32,
                None => break,
            }
        }
    }
}

/// An integer with an N-bit prefix at `block[*at]`, moving `at` past it; at most 2^28.
pub(crate) fn get_int(block: &[u8], at: &mut usize, prefix: u32) -> Result<usize, HpackError> {
    const TRUNCATED: HpackError = HpackError("truncated integer");
    let max = (1usize << prefix) - 1;
    let mut value = usize::from(*block.get(*at).ok_or(TRUNCATED)?) & max;
    *at += 1;
    if value == max {
        let mut shift = 0;
        loop {
            let byte = *block.get(*at).ok_or(TRUNCATED)?;
            *at += 1;
            if shift > 21 {
                return Err(HpackError("an integer past 2^28"));
            }
            value += usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
    }
    Ok(value)
}

fn get_str(block: &[u8], at: &mut usize) -> Result<Vec<u8>, HpackError> {
    let huffman = block.get(*at).ok_or(HpackError("truncated string"))? & 0x80 != 0;
    let len = get_int(block, at, 7)?;
    let bytes = block
        .get(*at..*at + len)
        .ok_or(HpackError("truncated string"))?;
    *at += len;
    if huffman {
        huffman_decode(bytes)
    } else {
        Ok(bytes.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huffman_strings_decode() {
        // RFC 7541 C.4.2, C.4.3.
        assert_eq!(
            huffman_decode(&[0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf]).unwrap(),
            b"no-cache"
        );
        assert_eq!(
            huffman_decode(&[0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xa9, 0x7d, 0x7f]).unwrap(),
            b"custom-key"
        );
        // Digits: 4 = 011010, 2 = 00010, 1 = 00001, then one padding bit.
        assert_eq!(huffman_decode(&[0x68, 0x41]).unwrap(), b"421");
        assert!(
            huffman_decode(&[0x68, 0x5e]).is_err(),
            "padding that is not ones"
        );
        assert_eq!(
            huffman_decode(&[0x68, 0x40]).unwrap(),
            b"420",
            "five bits: a `0`"
        );
        assert!(
            huffman_decode(&[0x68, 0x41, 0xff]).is_err(),
            "8 bits of padding"
        );
        assert!(huffman_decode(&[0xff, 0xff, 0xff, 0xfc]).is_err(), "EOS");
        assert_eq!(huffman_decode(&[]).unwrap(), b"");
    }

    #[test]
    fn requests_of_rfc_7541_c4_decode_with_the_dynamic_table() {
        let mut decoder = Decoder::new();
        decoder
            .decode(&[
                0x82, 0x86, 0x84, 0x41, 0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab,
                0x90, 0xf4, 0xff,
            ])
            .unwrap();
        decoder
            .decode(&[
                0x82, 0x86, 0x84, 0xbe, 0x58, 0x86, 0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf,
            ])
            .unwrap();
        let third = decoder
            .decode(&[
                0x82, 0x87, 0x85, 0xbf, 0x40, 0x88, 0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xa9, 0x7d, 0x7f,
                0x89, 0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xb8, 0xe8, 0xb4, 0xbf,
            ])
            .unwrap();
        let text: Vec<(String, String)> = third
            .into_iter()
            .map(|(n, v)| (String::from_utf8(n).unwrap(), String::from_utf8(v).unwrap()))
            .collect();
        let expected = [
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/index.html"),
            (":authority", "www.example.com"),
            ("custom-key", "custom-value"),
        ];
        assert_eq!(text, expected.map(|(n, v)| (n.to_string(), v.to_string())));
        // The table holds three entries, 164 octets (RFC 7541 C.4.3).
        assert_eq!((decoder.dynamic.len(), decoder.size), (3, 164));
    }

    #[test]
    fn size_updates_evict_and_bad_blocks_are_errors() {
        let mut decoder = Decoder::new();
        decoder.decode(&[0x40, 0x01, b'x', 0x01, b'y']).unwrap();
        assert_eq!(decoder.dynamic.len(), 1);
        decoder.decode(&[0x20]).unwrap();
        assert_eq!((decoder.dynamic.len(), decoder.size), (0, 0));
        assert!(
            decoder.decode(&[0xbe]).is_err(),
            "index 62 of an empty table"
        );
        assert!(decoder.decode(&[0x80]).is_err(), "index 0");
        assert!(
            decoder.decode(&[0x3f, 0xe2, 0x1f]).is_err(),
            "a size past 4,096"
        );
        assert!(decoder.decode(&[0x00, 0x05, b'a']).is_err(), "truncated");
        // Literal without indexing, name index 8 (:status), raw value.
        assert_eq!(
            decoder.decode(&[0x08, 0x03, b'4', b'2', b'1']).unwrap(),
            [(b":status".to_vec(), b"421".to_vec())]
        );
    }

    /// The hostile review's block: a literal with incremental indexing that fills a 4,096-octet
    /// table (2 + 4,062 + 32 octets), then index 62 to the end of 16 KiB.
    fn amplifier() -> Vec<u8> {
        let mut block = vec![0x40, 0x02, b'x', b'x'];
        put_int(&mut block, 0, 7, 4062);
        block.extend(std::iter::repeat_n(b'v', 4062));
        block.resize(16_384, 0xbe);
        block
    }

    #[test]
    fn the_header_list_limit_bounds_amplification() {
        // Without a list limit: 12,316 fields of 4,096 octets, 47 MiB out of 16 KiB.
        let mut decoder = Decoder::with_limits(DEFAULT_TABLE_SIZE, usize::MAX);
        assert_eq!(decoder.decode(&amplifier()).unwrap().len(), 12_316);
        // With the default limit, 16 fields fit (16 × 4,096 = 65,536) and the 17th is refused.
        let e = Decoder::new().decode(&amplifier()).unwrap_err();
        assert!(
            e.to_string().contains("SETTINGS_MAX_HEADER_LIST_SIZE"),
            "{e}"
        );
        let mut decoder = Decoder::new();
        let mut sixteen = amplifier();
        sixteen.truncate(sixteen.len() - (16_384 - 4069 - 15));
        assert_eq!(decoder.decode(&sixteen).unwrap().len(), 16);
        sixteen.push(0xbe);
        assert!(Decoder::new().decode(&sixteen).is_err());
    }

    #[test]
    fn the_advertised_table_size_is_the_limit() {
        // With 0 advertised, an indexed literal is decoded but not kept (RFC 7541 §4.4).
        let mut decoder = Decoder::with_limits(0, DEFAULT_MAX_LIST_SIZE);
        let e = decoder.decode(&amplifier()).unwrap_err();
        assert_eq!(e, HpackError("an index past the dynamic table"));
        assert_eq!(
            decoder.decode(&[0x40, 1, b'x', 1, b'y']).unwrap(),
            [(b"x".to_vec(), b"y".to_vec())]
        );
        assert_eq!((decoder.dynamic.len(), decoder.size), (0, 0));
        // Updates to at most the limit are taken; past it they are errors (§4.2, §6.3).
        decoder.decode(&[0x20]).unwrap();
        assert!(decoder.decode(&[0x21]).is_err());
        let mut small = Decoder::with_limits(100, DEFAULT_MAX_LIST_SIZE);
        small.decode(&[0x3f, 0x45]).unwrap();
        assert!(small.decode(&[0x3f, 0x46]).is_err(), "a size of 101");
        // Default 4,096: an update to 4,096 is taken, 4,097 is not.
        Decoder::new().decode(&[0x3f, 0xe1, 0x1f]).unwrap();
        assert!(Decoder::new().decode(&[0x3f, 0xe2, 0x1f]).is_err());
    }
}
