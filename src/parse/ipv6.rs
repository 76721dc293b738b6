//! IPv6 text (the inside of a bracketed literal) in one pass over the bytes, accepting exactly
//! what `str::parse::<Ipv6Addr>` accepts and giving the same address.
//!
//! std's parser tries an embedded IPv4 address at every group, backtracks through closures and
//! needs a `&str` (so a UTF-8 check first): about 840 instructions for `2001:db8::1` under
//! callgrind, against about 185 here (160 inlined into the wire parser). The wire parser sees
//! an IPv6 literal on every request to an address, so it has its own.
//!
//! The rules, as std's `core::net::parser` applies them (its behaviour is the source; the tests
//! and the `ipv6` fuzz target hold this parser equal to it):
//!
//! - groups of 1 to 4 hex digits, either case, leading zeros allowed, separated by one `:`;
//!   a group of 5 or more digits is refused, not read as 4 plus a remainder;
//! - `::` at most once, anywhere (first, last, between groups, or alone), standing for at least one
//!   zero group: with it at most 7 groups are written (`1:2:3:4:5:6:7::` and
//!   `::1:2:3:4:5:6:7` are accepted), without it exactly 8;
//! - a leading or trailing single `:` is refused, and so is `:::`;
//! - the last 32 bits may be a dotted quad, which counts as two groups and must end the text:
//!   four decimal octets of 1 to 3 digits, at most 255, no leading zero (`::01.2.3.4` is
//!   refused), the same strict rule as `name::dotted_quad`, which reads it;
//! - nothing else: no zone id, no brackets, no whitespace, no non-ASCII byte.

use std::net::Ipv6Addr;

use crate::parse::name;

/// Not a hex digit, in [`HEX`].
const NOT_HEX: u8 = 0xFF;

/// No `::` seen (a group count never reaches it). A sentinel rather than an `Option`, whose
/// flag cost a register of its own in the loop (6% more instructions under callgrind).
const NO_GAP: u32 = 0xFF;

/// Each byte's hex digit value, or [`NOT_HEX`].
static HEX: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut b = 0;
    while b < 256 {
        #[allow(clippy::cast_possible_truncation)] // b < 256
        let byte = b as u8;
        table[b] = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            b'A'..=b'F' => byte - b'A' + 10,
            _ => NOT_HEX,
        };
        b += 1;
    }
    table
};

/// Parses IPv6 text: for every byte slice `b`, the same as
/// `core::str::from_utf8(b).ok().and_then(|s| s.parse::<Ipv6Addr>().ok())`.
// `pub` in a private module: the crate's own, and the fuzz crate's through the hidden `__fuzz`.
#[inline]
pub fn parse_ipv6(text: &[u8]) -> Option<Ipv6Addr> {
    // The groups read since the `::` (all of them when there is none), 16 bits each, the last
    // in the low bits; with a `::`, the groups before it are moved to `head`.
    let mut groups: u128 = 0;
    let mut head: u128 = 0;
    // Groups written so far (a dotted quad counts two), and how many came before the `::`.
    let mut count: u32 = 0;
    let mut gap: u32 = NO_GAP;
    let mut i = 0;
    if text.first() == Some(&b':') {
        // Only `::` may begin the text.
        if text.get(1) != Some(&b':') {
            return None;
        }
        gap = 0;
        i = 2;
        if text.len() == 2 {
            return Some(Ipv6Addr::UNSPECIFIED);
        }
    }
    loop {
        // A group begins at `i`: its hex digits, at most 4.
        let start = i;
        let mut value: u32 = 0;
        while let Some(&byte) = text.get(i) {
            let digit = HEX[usize::from(byte)];
            if digit == NOT_HEX {
                break;
            }
            if i - start == 4 {
                return None;
            }
            value = value << 4 | u32::from(digit);
            i += 1;
        }
        // No digits: after a lone `:`, a third `:`, or a byte no address holds.
        // Nine groups: the text is too long whatever follows.
        if i == start || count == 8 {
            return None;
        }
        match text.get(i) {
            None => {
                groups = groups << 16 | u128::from(value);
                count += 1;
                break;
            }
            Some(b':') => {
                groups = groups << 16 | u128::from(value);
                count += 1;
                i += 1;
                if text.get(i) == Some(&b':') {
                    if gap != NO_GAP {
                        return None;
                    }
                    gap = count;
                    head = groups;
                    groups = 0;
                    i += 1;
                    if i == text.len() {
                        break;
                    }
                }
            }
            Some(b'.') => {
                // The group was the first octet of a dotted quad, which must end the text and
                // fit in the last two groups.
                if count > 6 {
                    return None;
                }
                let quad = name::dotted_quad(&text[start..])?;
                groups = groups << 32 | u128::from(quad.to_bits());
                count += 2;
                break;
            }
            Some(_) => return None,
        }
    }
    let bits = match (gap, count) {
        (NO_GAP, 8) => groups,
        // The `::` stands for at least one group: 8 written leave it none.
        (NO_GAP, _) | (_, 8) => return None,
        // With no group before the `::`, `head` is empty (and a shift by 128 would overflow).
        (0, _) => groups,
        (before, _) => head << (16 * (8 - before)) | groups,
    };
    Some(Ipv6Addr::from(bits))
}

/// 4,096 cases per property, as the crate's other properties, unless `PROPTEST_CASES` says.
#[cfg(test)]
fn proptest_config() -> proptest::test_runner::Config {
    let mut config = proptest::test_runner::Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 4096;
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// std's answer for the same bytes: the contract.
    fn std_parse(text: &[u8]) -> Option<Ipv6Addr> {
        core::str::from_utf8(text)
            .ok()
            .and_then(|s| s.parse::<Ipv6Addr>().ok())
    }

    fn check(text: &[u8]) {
        assert_eq!(
            parse_ipv6(text),
            std_parse(text),
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }

    /// Edge cases, each compared with std and with the verdict std gives today (`true`
    /// accepted), so that a change in std shows up as a named failure, not as silent agreement.
    #[test]
    fn hand_picked_match_std() {
        let cases: &[(&[u8], bool)] = &[
            (b"", false),
            (b":", false),
            (b"::", true),
            (b":::", false),
            (b"::1", true),
            (b"1::", true),
            (b"1:", false),
            (b":1", false),
            (b"::1:", false),
            (b"1::2", true),
            (b"2001:db8::1", true),
            (b"2001:DB8::1", true),
            (b"2001:0db8:0000:0000:0000:0000:0000:0001", true),
            (b"ABCD:EF01:2345:6789:abcd:ef01:2345:6789", true),
            (b"1:2:3:4:5:6:7:8", true),
            (b"1:2:3:4:5:6:7:8:9", false),
            (b"1:2:3:4:5:6:7", false),
            (b"1:2:3:4:5:6:7::", true),
            (b"::1:2:3:4:5:6:7", true),
            (b"1:2:3::5:6:7:8", true),
            (b"1:2:3:4:5:6:7::8", false),
            (b"1::3:4:5:6:7:8", true),
            (b"1::2:3:4:5:6:7:8", false),
            (b"::1:2:3:4:5:6:7:8", false),
            (b"1:2:3:4:5:6:7:8::", false),
            (b"1:2:3:4::5:6:7:8", false),
            (b"1::2::3", false),
            (b"::1::", false),
            (b":1::", false),
            (b"1:::2", false),
            (b"1::2:", false),
            (b"12345::", false),
            (b"::12345", false),
            (b"00000::", false),
            (b"0000::", true),
            (b"::ffff:1.2.3.4", true),
            (b"::FFFF:1.2.3.4", true),
            (b"::1.2.3.4", true),
            (b"::0.0.0.0", true),
            (b"::255.255.255.255", true),
            (b"1:2:3:4:5:6:1.2.3.4", true),
            (b"1:2:3:4:5::1.2.3.4", true),
            (b"1:2:3:4:5:6::1.2.3.4", false),
            (b"1:2:3:4:5:6:7:1.2.3.4", false),
            (b"1:2:3:4:5:1.2.3.4", false),
            (b"::1:2:3:4:5:1.2.3.4", true),
            (b"::1:2:3:4:5:6:1.2.3.4", false),
            (b"1.2.3.4", false),
            (b"1.2.3.4::", false),
            (b"::1.2.3.4:1", false),
            (b"::1.2.3.4.5", false),
            (b"::1.2.3.4a", false),
            (b"::01.2.3.4", false),
            (b"::1.02.3.4", false),
            (b"::1.2.3.00", false),
            (b"::00.2.3.4", false),
            (b"::1.2.3", false),
            (b"::1.2.3.", false),
            (b"::1..2.3", false),
            (b"::.1.2.3", false),
            (b"::256.1.1.1", false),
            (b"::1.1.1.256", false),
            (b"::1000.1.1.1", false),
            (b"::a.1.1.1", false),
            (b"::1a.1.1.1", false),
            (b"::1.1.1.1a", false),
            (b"::1.2.3.4%eth0", false),
            (b"fe80::1%eth0", false),
            (b"fe80::1%25eth0", false),
            (b"[::1]", false),
            (b" ::1", false),
            (b"::1 ", false),
            (b"::g", false),
            (b"v1.fe80::1", false),
            (b"::1\0", false),
            (b"\0", false),
            (b"::\xc3\xa9", false),
            (b"::\xff", false),
            (b"\xef\xbc\x91::", false), // fullwidth digit one
            (b"+1::", false),
            (b"0x1::", false),
        ];
        for &(text, accepted) in cases {
            check(text);
            assert_eq!(
                parse_ipv6(text).is_some(),
                accepted,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn addresses_are_the_right_ones() {
        let cases: &[(&[u8], Ipv6Addr)] = &[
            (b"::", Ipv6Addr::UNSPECIFIED),
            (b"::1", Ipv6Addr::LOCALHOST),
            (b"1::", Ipv6Addr::new(1, 0, 0, 0, 0, 0, 0, 0)),
            (
                b"2001:db8::1",
                Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
            ),
            (b"1:2:3:4:5:6:7::", Ipv6Addr::new(1, 2, 3, 4, 5, 6, 7, 0)),
            (b"::1:2:3:4:5:6:7", Ipv6Addr::new(0, 1, 2, 3, 4, 5, 6, 7)),
            (b"1:2::7:8", Ipv6Addr::new(1, 2, 0, 0, 0, 0, 7, 8)),
            (
                b"::ffff:1.2.3.4",
                Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304),
            ),
            (
                b"1:2:3:4:5:6:255.0.1.2",
                Ipv6Addr::new(1, 2, 3, 4, 5, 6, 0xff00, 0x0102),
            ),
            (
                b"FFFF:ffff:FfFf:fFfF:ffff:ffff:ffff:ffff",
                Ipv6Addr::from(u128::MAX),
            ),
        ];
        for &(text, addr) in cases {
            assert_eq!(parse_ipv6(text), Some(addr));
            check(text);
        }
    }

    /// Every address std prints (its canonical text, with and without the IPv4 form) reads
    /// back; and every group count with and without `::` at every place.
    #[test]
    fn every_shape_of_groups_matches_std() {
        for groups in 0..=9usize {
            let written: Vec<String> = (1..=groups).map(|g| format!("{g:x}")).collect();
            check(written.join(":").as_bytes());
            for at in 0..=groups {
                let text = format!("{}::{}", written[..at].join(":"), written[at..].join(":"));
                check(text.as_bytes());
                let v4 = format!("{text}:1.2.3.4");
                check(v4.as_bytes());
                let v4 = format!("{}:1.2.3.4", written.join(":"));
                check(v4.as_bytes());
            }
        }
    }

    /// Every string of up to 6 bytes over an alphabet that reaches every branch but the
    /// dotted quad (which needs 9 bytes after `::`): 600,000 strings.
    #[test]
    fn short_strings_exhaustively() {
        const ALPHABET: &[u8] = b"0:.1fF9g%";
        fn walk(text: &mut Vec<u8>, left: usize) {
            check(text);
            if left == 0 {
                return;
            }
            for &b in ALPHABET {
                text.push(b);
                walk(text, left - 1);
                text.pop();
            }
        }
        walk(&mut Vec::new(), 6);
    }

    /// Bytes that make IPv6 text, a few that do not, and the non-ASCII and NUL cases.
    fn text() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            8 => prop::sample::select(b"0123456789abcdefABCDEF".to_vec()),
            6 => Just(b':'),
            2 => Just(b'.'),
            1 => prop::sample::select(b"gG%[]v \0\xc3\xa9\xff-+x".to_vec()),
        ];
        prop::collection::vec(byte, 0..48)
    }

    /// Addresses printed by std, then touched: the inputs near the accept/refuse border.
    fn near_valid() -> impl Strategy<Value = Vec<u8>> {
        (
            any::<u128>(),
            any::<bool>(),
            0usize..4,
            any::<u8>(),
            any::<usize>(),
        )
            .prop_map(|(bits, zeros, edit, byte, at)| {
                // Zero runs make `::` appear; the IPv4-mapped form prints a dotted quad.
                let bits = if zeros {
                    bits & 0xffff_0000_ffff_0000_0000_ffff_ffff_ffff
                } else {
                    bits
                };
                let addr = Ipv6Addr::from(bits);
                let mut text = if at % 3 == 0 {
                    let v4 = std::net::Ipv4Addr::from(u32::try_from(bits >> 96).unwrap());
                    format!("::ffff:{v4}").into_bytes()
                } else {
                    addr.to_string().into_bytes()
                };
                let at = at % (text.len() + 1);
                match edit {
                    0 => {}
                    1 => text.insert(at, byte),
                    2 if at < text.len() => {
                        text.remove(at);
                    }
                    _ if at < text.len() => text[at] = byte,
                    _ => {}
                }
                text
            })
    }

    proptest! {
        #![proptest_config(super::proptest_config())]

        #[test]
        fn generated_text_matches_std(text in text()) {
            prop_assert_eq!(parse_ipv6(&text), std_parse(&text));
        }

        #[test]
        fn near_valid_text_matches_std(text in near_valid()) {
            prop_assert_eq!(parse_ipv6(&text), std_parse(&text));
        }

        #[test]
        fn printed_addresses_read_back(bits in any::<u128>()) {
            let addr = Ipv6Addr::from(bits);
            prop_assert_eq!(parse_ipv6(addr.to_string().as_bytes()), Some(addr));
        }
    }
}

/// The wire parser's bracketed literals, whose refusals name why (zone id, IPvFuture, a byte no
/// address holds) as they did when std parsed them.
#[cfg(test)]
mod literal_tests {
    use std::net::Ipv6Addr;

    use proptest::prelude::*;

    use crate::parse::authority::{AuthorityError, parse_ipv6_literal};

    /// The literal parser before `parse_ipv6`: filters first, then std's parser. The new one
    /// must answer exactly as it did, error and offset included.
    fn parse_ipv6_literal_with_std(literal: &[u8]) -> Result<Ipv6Addr, AuthorityError> {
        let inner = &literal[1..literal.len() - 1];
        if let Some(i) = inner.iter().position(|&b| b == b'%') {
            return Err(AuthorityError::ZoneId { offset: 1 + i });
        }
        if inner.first().is_some_and(|&b| b == b'v' || b == b'V') {
            return Err(AuthorityError::IpvFuture { offset: 1 });
        }
        if let Some(i) = inner
            .iter()
            .position(|&b| !(b.is_ascii_hexdigit() || b == b':' || b == b'.'))
        {
            return Err(AuthorityError::InvalidByte {
                byte: inner[i],
                offset: 1 + i,
            });
        }
        core::str::from_utf8(inner)
            .ok()
            .and_then(|text| text.parse::<Ipv6Addr>().ok())
            .ok_or(AuthorityError::InvalidIpv6 { offset: 1 })
    }

    fn same_as_before(inner: &[u8]) {
        let literal = [&b"["[..], inner, b"]"].concat();
        assert_eq!(
            parse_ipv6_literal(&literal),
            parse_ipv6_literal_with_std(&literal),
            "{:?}",
            String::from_utf8_lossy(&literal)
        );
    }

    #[test]
    fn literal_errors_unchanged_on_edge_cases() {
        for inner in [
            &b""[..],
            b"::1",
            b"v1.x",
            b"V1.x",
            b"v1%25x",
            b"g%",
            b"::1%25eth0",
            b"fe80::1%eth0",
            b"%",
            b"1::g",
            b"1::\xc3\xa9",
            b"\0",
            b"1:2:3:4:5:6:7:8:9",
            b"12345::",
            b"::01.2.3.4",
            b"::1.2.3.4",
            b":",
            b"[::1",
        ] {
            same_as_before(inner);
        }
    }

    /// Every literal inside of up to 5 bytes over an alphabet that reaches every error.
    #[test]
    fn short_literals_exhaustively() {
        const ALPHABET: &[u8] = b"0:.%vVgf\xc3";
        fn walk(inner: &mut Vec<u8>, left: usize) {
            same_as_before(inner);
            if left == 0 {
                return;
            }
            for &b in ALPHABET {
                inner.push(b);
                walk(inner, left - 1);
                inner.pop();
            }
        }
        walk(&mut Vec::new(), 5);
    }

    proptest! {
        #![proptest_config(super::proptest_config())]

        /// Literal insides from address bytes and every byte that picks another error.
        #[test]
        fn literal_errors_unchanged(inner in prop::collection::vec(
            prop_oneof![
                8 => prop::sample::select(b"0123456789abcdefABCDEF".to_vec()),
                5 => Just(b':'),
                2 => Just(b'.'),
                2 => prop::sample::select(b"%vVgG[ \0\xc3\xff-".to_vec()),
                1 => any::<u8>(),
            ],
            0..40,
        )) {
            let literal = [&b"["[..], &inner, b"]"].concat();
            prop_assert_eq!(parse_ipv6_literal(&literal), parse_ipv6_literal_with_std(&literal));
        }
    }
}
