//! DNS-name syntax shared by the wire parser (`authority`) and the pattern parser
//! (`pattern`): one pass over the bytes that lowers ASCII case and finds every fault, plus the
//! single place where the UTS #46 flags are named.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use crate::parse::host::{MAX_LABEL_LEN, MAX_NAME_LEN};

/// What one pass over a name found.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scanned {
    /// The name's length, without the trailing dot if there was one.
    pub len: usize,
    /// Where the scan stopped: at the first `:` (a port follows) or at the end of the input.
    pub end: usize,
    /// Whether the name ended with one dot (which `len` leaves out).
    pub trailing_dot: bool,
    /// Whether the name holds an ASCII capital: only then does its canonical form differ from
    /// its first `len` bytes, and need a copy.
    pub upper: bool,
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

/// Byte classes for [`scan`]: a label byte (letter, digit, `-`, `_`) has `LABEL`, plus `UPPER`
/// for a capital and `NOT_DIGIT` for anything but a digit; every other byte (`.`, `:` and all
/// bytes no name may hold) is `STOP`, which ends the inner loop.
const LABEL: u8 = 1;
pub(crate) const UPPER: u8 = 2;
const NOT_DIGIT: u8 = 4;
pub(crate) const STOP: u8 = 0x80;

static CLASS: [u8; 256] = {
    let mut table = [STOP; 256];
    let mut b = 0;
    while b < 256 {
        #[allow(clippy::cast_possible_truncation)] // b < 256
        let byte = b as u8;
        table[b] = match byte {
            b'0'..=b'9' => LABEL,
            b'a'..=b'z' | b'-' | b'_' => LABEL | NOT_DIGIT,
            b'A'..=b'Z' => LABEL | NOT_DIGIT | UPPER,
            _ => STOP,
        };
        b += 1;
    }
    table
};

/// The byte's class for [`scan`]: [`STOP`] for a byte no label holds, [`UPPER`] for a capital.
#[inline(always)]
pub(crate) fn class(b: u8) -> u8 {
    CLASS[usize::from(b)]
}

/// Checks the name at the start of `input`, up to the first `:` or the end, in one read-only
/// pass, a label at a time: the inner loop is one table look-up per byte. No allocation, no
/// copy: when [`Scanned::upper`] is false and there is no trailing dot, the canonical name is
/// `input[..len]` itself.
#[inline(always)]
pub(crate) fn scan(input: &[u8]) -> Result<Scanned, NameFault> {
    scan_with::<true>(input)
}

/// [`scan`] for a wire host: the same faults, without [`Scanned::hyphen_edge`] (a rule for
/// configured names only), which the wire parse never reads.
#[inline(always)]
pub(crate) fn scan_wire(input: &[u8]) -> Result<Scanned, NameFault> {
    scan_with::<false>(input)
}

#[inline(always)]
fn scan_with<const HYPHENS: bool>(input: &[u8]) -> Result<Scanned, NameFault> {
    let mut scanned = Scanned {
        len: 0,
        end: input.len(),
        trailing_dot: false,
        upper: false,
        first_alabel: None,
        hyphen_edge: None,
        numeric_last: None,
    };
    let mut classes = 0u8;
    let mut start = 0;
    // The last non-empty label: where it starts and ends, and its classes. Only the last label
    // can make the name numeric, so that test runs once, after the loop.
    let (mut last_start, mut last_end, mut last_classes) = (0, 0, 0u8);
    loop {
        let mut i = start;
        let mut label = 0u8;
        while let Some(&b) = input.get(i) {
            let class = CLASS[usize::from(b)];
            if class & STOP != 0 {
                break;
            }
            label |= class;
            i += 1;
        }
        classes |= label;
        let stop = input.get(i).copied();
        match stop {
            None | Some(b'.' | b':') => {}
            Some(b) => return Err(NameFault::Byte(b, i)),
        }
        let len = i - start;
        if len == 0 {
            // An empty label is allowed only as the one trailing dot: after a non-empty label,
            // at the end of the name.
            let trailing = start > 0 && stop != Some(b'.');
            if !trailing {
                return Err(NameFault::EmptyLabel(start));
            }
            scanned.trailing_dot = true;
            scanned.len = start - 1;
            scanned.end = i;
            break;
        }
        if len > MAX_LABEL_LEN {
            return Err(NameFault::LabelTooLong(start));
        }
        if HYPHENS
            && scanned.hyphen_edge.is_none()
            && (input[start] == b'-' || input[i - 1] == b'-')
        {
            scanned.hyphen_edge = Some(start);
        }
        // `xn--` in any case: every byte here is a label byte, and among those only `X`/`x`,
        // `N`/`n` and `-` become `x`, `n`, `-` when bit 0x20 is set, so one compare of the
        // four bytes decides.
        if scanned.first_alabel.is_none() && len >= 4 {
            if let Some(&[a, b, c, d]) = input.get(start..start + 4) {
                if u32::from_le_bytes([a, b, c, d]) | 0x2020_2020 == u32::from_le_bytes(*b"xn--") {
                    scanned.first_alabel = Some(start);
                }
            }
        }
        (last_start, last_end, last_classes) = (start, i, label);
        if stop == Some(b'.') {
            start = i + 1;
            continue;
        }
        scanned.len = i;
        scanned.end = i;
        break;
    }
    if scanned.len > MAX_NAME_LEN {
        return Err(NameFault::NameTooLong(scanned.len));
    }
    // Numeric (all digits, or `0x` hex): the last label makes the name an IPv4 address or an
    // error. The hex test runs only on labels that start with `0`.
    if last_classes & NOT_DIGIT == 0
        || (input[last_start] == b'0' && is_numeric_label(&input[last_start..last_end]))
    {
        scanned.numeric_last = Some(last_start);
    }
    scanned.upper = classes & UPPER != 0;
    Ok(scanned)
}

/// Writes the ASCII-lowercase form of `name` (at most [`MAX_NAME_LEN`] bytes, checked by
/// [`scan`]) to the front of `out`.
pub(crate) fn lower_into<'o>(name: &[u8], out: &'o mut [u8; MAX_NAME_LEN]) -> &'o [u8] {
    let out = &mut out[..name.len()];
    out.copy_from_slice(name);
    out.make_ascii_lowercase();
    out
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
        assert_eq!(scan(b"a..b").unwrap_err(), NameFault::EmptyLabel(2));
        assert_eq!(scan(b"a.b c").unwrap_err(), NameFault::Byte(b' ', 3));
        assert_eq!(scan(b".").unwrap_err(), NameFault::EmptyLabel(0));
        assert_eq!(scan(b"").unwrap_err(), NameFault::EmptyLabel(0));
        let long = [b'a'; 64];
        assert_eq!(scan(&long).unwrap_err(), NameFault::LabelTooLong(0));
        let s = scan(b"XN--Bcher-KVA.-a").unwrap();
        assert!(s.upper);
        assert_eq!(
            lower_into(b"XN--Bcher-KVA.-a", &mut out),
            b"xn--bcher-kva.-a"
        );
        assert_eq!((s.len, s.end, s.trailing_dot), (16, 16, false));
        assert_eq!(s.first_alabel, Some(0));
        assert_eq!(s.hyphen_edge, Some(14));
    }

    #[test]
    fn scan_stops_at_the_port_and_drops_one_trailing_dot() {
        let mut out = [0u8; MAX_NAME_LEN];
        let s = scan(b"Example.COM.:443").unwrap();
        assert_eq!(
            (s.len, s.end, s.trailing_dot, s.upper),
            (11, 12, true, true)
        );
        assert_eq!(lower_into(b"Example.COM", &mut out), b"example.com");
        assert!(!scan(b"example.com").unwrap().upper);
        let s = scan(b"1.2.3.4.").unwrap();
        assert_eq!((s.len, s.numeric_last), (7, Some(6)));
        assert_eq!(scan(b"a..").unwrap_err(), NameFault::EmptyLabel(2));
    }

    #[test]
    fn scan_allows_253_octets_and_one_dot() {
        let name = format!(
            "{}.{}.{}.{}",
            "f".repeat(61),
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63)
        );
        assert_eq!(name.len(), 253);
        assert_eq!(scan(name.as_bytes()).unwrap().len, 253);
        assert_eq!(scan(format!("{name}.").as_bytes()).unwrap().len, 253);
        assert_eq!(scan(format!("{name}.:1").as_bytes()).unwrap().end, 254);
        assert_eq!(
            scan(format!("f{name}").as_bytes()).unwrap_err(),
            NameFault::NameTooLong(254)
        );
        assert_eq!(
            scan(format!("{name}..").as_bytes()).unwrap_err(),
            NameFault::EmptyLabel(254)
        );
    }
}
