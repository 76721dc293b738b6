//! DNS-name syntax shared by the wire parser (`authority`) and the pattern parser
//! (`pattern`): one pass over the bytes that lowers ASCII case and finds every fault, plus the
//! single place where the UTS #46 flags are named.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use crate::host::{MAX_LABEL_LEN, MAX_NAME_LEN};

/// What one pass over a name found.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scanned {
    /// The name's length, without the trailing dot if there was one.
    pub len: usize,
    /// Where the scan stopped: at the first `:` (a port follows) or at the end of the input.
    pub end: usize,
    /// Whether the name ended with one dot (which `len` leaves out).
    pub trailing_dot: bool,
    /// Offset of the first label that starts with `xn--` (any case).
    pub first_alabel: Option<usize>,
    /// Offset of the first label that begins or ends with `-`.
    pub hyphen_edge: Option<usize>,
    /// Offset of the last label, when it is all digits or `0x` hex: a WHATWG URL parser reads
    /// such a name as an IPv4 address (SPEC §2), so it must be a strict dotted quad or an error.
    pub numeric_last: Option<usize>,
}

/// The first fault found in a name; offsets are from the name's first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NameFault {
    /// A byte outside letters, digits, `-`, `_` and `.`.
    Byte(u8, usize),
    /// An empty label begins here (also a second trailing dot).
    EmptyLabel(usize),
    /// The label that begins here is over 63 octets.
    LabelTooLong(usize),
    /// The name is over 253 octets (without its trailing dot).
    NameTooLong(usize),
}

/// Per byte: its lowercase form if it may stand in a name (letters, digits, `-`, `_`, `.`),
/// else 0. One table look-up per byte both checks and lowers.
static NAME_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        #[allow(clippy::cast_possible_truncation)] // b < 256
        let byte = b as u8;
        table[b] = match byte {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => byte,
            b'A'..=b'Z' => byte | 0x20,
            _ => 0,
        };
        b += 1;
    }
    table
};

/// Checks the name at the start of `input`, up to the first `:` or the end, and writes its
/// ASCII-lowercased bytes (without a trailing dot) to `out`. One pass; no allocation.
pub(crate) fn scan(input: &[u8], out: &mut [u8; MAX_NAME_LEN]) -> Result<Scanned, NameFault> {
    let mut scanned = Scanned {
        len: 0,
        end: input.len(),
        trailing_dot: false,
        first_alabel: None,
        hyphen_edge: None,
        numeric_last: None,
    };
    let mut start = 0;
    let mut last = (0, 0);
    for (i, &b) in input.iter().enumerate() {
        let lower = NAME_BYTES[usize::from(b)];
        if lower == 0 {
            if b == b':' {
                scanned.end = i;
                break;
            }
            return Err(NameFault::Byte(b, i));
        }
        if lower == b'.' {
            end_label(&input[start..i], start, &mut scanned)?;
            last = (start, i);
            start = i + 1;
        }
        match out.get_mut(i) {
            Some(slot) => *slot = lower,
            // Past 253 octets only the one trailing dot may follow.
            None if lower == b'.' && matches!(input.get(i + 1), None | Some(b':')) => {}
            None => {
                let host = input.iter().position(|&c| c == b':').unwrap_or(input.len());
                let host = input[..host].strip_suffix(b".").map_or(host, <[u8]>::len);
                return Err(NameFault::NameTooLong(host));
            }
        }
    }
    let end = scanned.end;
    if start == end {
        // Empty last label: a trailing dot after a non-empty label, or an empty name.
        if end == 0 {
            return Err(NameFault::EmptyLabel(0));
        }
        scanned.trailing_dot = true;
        scanned.len = end - 1;
    } else {
        end_label(&input[start..end], start, &mut scanned)?;
        last = (start, end);
        scanned.len = end;
    }
    if is_numeric_label(&input[last.0..last.1]) {
        scanned.numeric_last = Some(last.0);
    }
    Ok(scanned)
}

fn end_label(label: &[u8], at: usize, scanned: &mut Scanned) -> Result<(), NameFault> {
    match label.len() {
        0 => return Err(NameFault::EmptyLabel(at)),
        n if n > MAX_LABEL_LEN => return Err(NameFault::LabelTooLong(at)),
        _ => {}
    }
    if scanned.first_alabel.is_none()
        && label.len() >= 4
        && label[..4].eq_ignore_ascii_case(b"xn--")
    {
        scanned.first_alabel = Some(at);
    }
    if scanned.hyphen_edge.is_none() && (label[0] == b'-' || label[label.len() - 1] == b'-') {
        scanned.hyphen_edge = Some(at);
    }
    Ok(())
}

/// All digits, or `0x`/`0X` then zero or more hex digits (SPEC §2, WHATWG URL "ends in a
/// number").
fn is_numeric_label(label: &[u8]) -> bool {
    if label.iter().all(u8::is_ascii_digit) {
        return true;
    }
    label.len() >= 2
        && label[0] == b'0'
        && (label[1] | 0x20) == b'x'
        && label[2..].iter().all(u8::is_ascii_hexdigit)
}

/// A strict dotted quad: four decimal parts 0..=255, no leading zeros (RFC 3986 §3.2.2).
pub(crate) fn dotted_quad(text: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = text.split(|&b| b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return None;
        }
        let mut value: u16 = 0;
        for &d in part {
            if !d.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u16::from(d - b'0');
        }
        *octet = u8::try_from(value).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

/// UTS #46 ToASCII with the flags SPEC §2 names, the only place they are named:
/// nontransitional processing (the idna crate's only mode), no STD3 ASCII deny list (`_` stays
/// legal; our own byte check decides which ASCII is allowed), hyphens allowed anywhere
/// (`r1---sn-x.example` is a real host), and DNS lengths verified when `verify_lengths` is set
/// (callers drop the one allowed trailing dot first).
pub(crate) fn uts46_to_ascii(
    input: &[u8],
    verify_lengths: bool,
) -> Result<Cow<'_, str>, idna::Errors> {
    use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
    let dns_length = if verify_lengths {
        DnsLength::Verify
    } else {
        DnsLength::Ignore
    };
    Uts46::new().to_ascii(input, AsciiDenyList::EMPTY, Hyphens::Allow, dns_length)
}

/// Whether an ASCII, lowercase name holding `xn--` labels is valid under UTS #46: every
/// A-label is valid Punycode that decodes to a valid label, and the name is already in the
/// form ToASCII would produce.
pub(crate) fn alabels_valid(lower: &[u8]) -> bool {
    matches!(uts46_to_ascii(lower, true), Ok(out) if out.as_bytes() == lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_quad_is_strict() {
        assert_eq!(dotted_quad(b"1.2.3.4"), Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(dotted_quad(b"0.0.0.0"), Some(Ipv4Addr::UNSPECIFIED));
        for bad in [
            &b"01.2.3.4"[..],
            b"1.2.3",
            b"1.2.3.4.5",
            b"256.1.1.1",
            b"1..2.3",
            b"0x7f.0.0.1",
            b"1.2.3.",
            b"1234.1.1.1",
        ] {
            assert_eq!(dotted_quad(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn numeric_labels_follow_whatwg() {
        for yes in [&b"1"[..], b"0x", b"0X1f", b"007", b"0xdeadBEEF"] {
            assert!(is_numeric_label(yes), "{yes:?}");
        }
        for no in [&b"0xg"[..], b"1a", b"x1", b"com"] {
            assert!(!is_numeric_label(no), "{no:?}");
        }
    }

    #[test]
    fn scan_reports_first_fault_with_offset() {
        let mut out = [0u8; MAX_NAME_LEN];
        assert_eq!(
            scan(b"a..b", &mut out).unwrap_err(),
            NameFault::EmptyLabel(2)
        );
        assert_eq!(
            scan(b"a.b c", &mut out).unwrap_err(),
            NameFault::Byte(b' ', 3)
        );
        assert_eq!(scan(b".", &mut out).unwrap_err(), NameFault::EmptyLabel(0));
        assert_eq!(scan(b"", &mut out).unwrap_err(), NameFault::EmptyLabel(0));
        let long = [b'a'; 64];
        assert_eq!(
            scan(&long, &mut out).unwrap_err(),
            NameFault::LabelTooLong(0)
        );
        let s = scan(b"XN--Bcher-KVA.-a", &mut out).unwrap();
        assert_eq!(&out[..16], b"xn--bcher-kva.-a");
        assert_eq!((s.len, s.end, s.trailing_dot), (16, 16, false));
        assert_eq!(s.first_alabel, Some(0));
        assert_eq!(s.hyphen_edge, Some(14));
    }

    #[test]
    fn scan_stops_at_the_port_and_drops_one_trailing_dot() {
        let mut out = [0u8; MAX_NAME_LEN];
        let s = scan(b"Example.COM.:443", &mut out).unwrap();
        assert_eq!((s.len, s.end, s.trailing_dot), (11, 12, true));
        assert_eq!(&out[..11], b"example.com");
        let s = scan(b"1.2.3.4.", &mut out).unwrap();
        assert_eq!((s.len, s.numeric_last), (7, Some(6)));
        assert_eq!(
            scan(b"a..", &mut out).unwrap_err(),
            NameFault::EmptyLabel(2)
        );
    }

    #[test]
    fn scan_allows_253_octets_and_one_dot() {
        let mut out = [0u8; MAX_NAME_LEN];
        let name = format!(
            "{}.{}.{}.{}",
            "f".repeat(61),
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63)
        );
        assert_eq!(name.len(), 253);
        assert_eq!(scan(name.as_bytes(), &mut out).unwrap().len, 253);
        assert_eq!(
            scan(format!("{name}.").as_bytes(), &mut out).unwrap().len,
            253
        );
        assert_eq!(
            scan(format!("{name}.:1").as_bytes(), &mut out).unwrap().end,
            254
        );
        assert_eq!(
            scan(format!("f{name}").as_bytes(), &mut out).unwrap_err(),
            NameFault::NameTooLong(254)
        );
        assert_eq!(
            scan(format!("{name}..").as_bytes(), &mut out).unwrap_err(),
            NameFault::NameTooLong(254)
        );
    }
}
