//! Generators for `cargo fuzz` targets, biased toward the edges of SPEC §2-§5 and built on
//! `arbitrary::Unstructured`, so that libFuzzer's mutations steer them; and the engine-to-model
//! conversions a differential target compares with. [`decide`] holds whole decisions.

use arbitrary::{Result, Unstructured};
use misdirect::{Host, NamePattern, model};

/// Labels on the edges: case, A-labels valid and not, hyphens, digits, hex, lengths, U-labels,
/// Unicode that UTS #46 maps, near-wildcards.
pub const LABELS: &[&str] = &[
    "a",
    "b",
    "www",
    "API",
    "example",
    "com",
    "co",
    "uk",
    "test",
    "xn--bcher-kva",
    "XN--BCHER-KVA",
    "xn--",
    "xn--abc",
    "xn--a",
    "xn--mgbh0fb",
    "xn--tst-bma",
    "xn--zca",
    "r1---sn-abc",
    "_dmarc",
    "-a",
    "a-",
    "0x7f",
    "0x",
    "0X1F",
    "0xg",
    "1",
    "255",
    "256",
    "01",
    "bücher",
    "\u{212A}",
    "ｅｘａｍｐｌｅ",
    "ß",
    "ς",
    "*",
    "f*",
    "*oo",
    "",
    "a\u{200D}b",
    "\u{00AD}x",
];

/// A label: mostly from [`LABELS`], else a short arbitrary string, or a long one: 62-64 octets
/// of one letter, or 9-64 octets of letters and digits (64 is refused).
pub fn label(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0u8..=10)? {
        0..=5 => (*u.choose(LABELS)?).to_string(),
        6 => "a".repeat(u.int_in_range(62..=64)?),
        7 => long_label(u)?,
        _ => {
            let len = u.int_in_range(1..=8)?;
            let mut s = String::new();
            for _ in 0..len {
                s.push(u.arbitrary::<char>()?);
            }
            s
        }
    })
}

/// A label of 9-64 octets of letters and digits (the fill cycles through a few drawn ones).
pub fn long_label(u: &mut Unstructured<'_>) -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let len = u.int_in_range(9..=64)?;
    let fill: [u8; 3] = u.arbitrary()?;
    Ok((0..len)
        .map(|i| {
            let c = if i == 0 {
                fill[0] % 26
            } else {
                fill[i % 3] % 36
            };
            char::from(ALPHABET[usize::from(c)])
        })
        .collect())
}

/// A name of 1-5 labels; sometimes a U+3002 separator, 0-2 trailing dots, capitals anywhere
/// ([`recase`]). A quarter are padded with long labels to 65-249 octets or to 250-256, around
/// the 253-octet limit.
pub fn name(u: &mut Unstructured<'_>) -> Result<String> {
    let count = u.int_in_range(1..=5)?;
    let sep = if u.ratio(1, 20)? { "\u{3002}" } else { "." };
    let mut labels = Vec::new();
    for _ in 0..count {
        labels.push(label(u)?);
    }
    let mut name = labels.join(sep);
    if u.ratio(1, 4)? {
        let target = if u.arbitrary()? {
            u.int_in_range(250..=256)?
        } else {
            u.int_in_range(65..=249)?
        };
        let fill = long_label(u)?;
        name = pad(&name, target, &fill);
    }
    for _ in 0..u.int_in_range(0..=2)? {
        name.push('.');
    }
    recase(u, &name)
}

/// `name` under labels cut from `fill` (at most 63 octets each) until it is `target` octets
/// long (or one short, when only a dot would fit).
#[must_use]
pub fn pad(name: &str, target: usize, fill: &str) -> String {
    // The labels go in front, each cut to what is left: measure them first, then write the
    // name once (a `format!` per label was a tenth of an `index` execution).
    let mut takes = Vec::new();
    let mut len = name.len();
    while len + 1 < target {
        let take = (target - len - 1).min(63).min(fill.len()).max(1);
        takes.push(take);
        len += take + 1;
    }
    let mut out = String::with_capacity(len);
    for &take in takes.iter().rev() {
        out.push_str(&fill[..take]);
        out.push('.');
    }
    out.push_str(name);
    out
}

/// Flips the ASCII case of some letters: a repeating 64-bit mask, one letter at any position,
/// every letter, or only the letters past the 64th octet.
pub fn recase(u: &mut Unstructured<'_>, text: &str) -> Result<String> {
    Ok(match u.int_in_range(0u8..=5)? {
        0 => text.to_string(),
        1 => {
            let at = u.int_in_range(0..=text.chars().count().max(1) - 1)?;
            text.chars()
                .enumerate()
                .map(|(i, c)| if i == at { swap_case(c) } else { c })
                .collect()
        }
        2 => text.chars().map(swap_case).collect(),
        3 => text
            .chars()
            .enumerate()
            .map(|(i, c)| if i >= 64 { swap_case(c) } else { c })
            .collect(),
        _ => flip_case(u, text)?,
    })
}

/// Flips the ASCII case of the letters a repeating 64-bit mask selects.
pub fn flip_case(u: &mut Unstructured<'_>, text: &str) -> Result<String> {
    let mask: u64 = u.arbitrary()?;
    Ok(text
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                swap_case(c)
            } else {
                c
            }
        })
        .collect())
}

fn swap_case(c: char) -> char {
    if c.is_ascii_lowercase() {
        c.to_ascii_uppercase()
    } else {
        c.to_ascii_lowercase()
    }
}

/// A host as it appears on the wire: a name, IPv4 (strict and not), bracketed IPv6 with and
/// without zone ids, IPvFuture.
pub fn wire_host(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0u8..=9)? {
        0..=5 => name(u)?,
        6 => {
            let o: [u8; 4] = u.arbitrary()?;
            match u.int_in_range(0u8..=4)? {
                0 => format!("{}.{}.{}.{}.", o[0], o[1], o[2], o[3]),
                1 => format!("0{}.{}.{}.{}", o[0], o[1], o[2], o[3]),
                2 => format!("{}.{}.{}", o[0], o[1], o[2]),
                3 => format!("0x{:x}.{}", o[0], o[1]),
                _ => format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3]),
            }
        }
        7 => {
            let segments: [u16; 8] = u.arbitrary()?;
            let addr = std::net::Ipv6Addr::from(segments);
            match u.int_in_range(0u8..=3)? {
                0 => format!("[{addr}%25eth0]"),
                1 => format!("[{}]", addr.to_string().to_uppercase()),
                2 => format!(
                    "[::ffff:{}.{}.{}.{}]",
                    segments[0] >> 8,
                    segments[0] & 0xff,
                    1,
                    2
                ),
                _ => format!("[{addr}]"),
            }
        }
        8 => "[v1.x]".to_string(),
        _ => String::new(),
    })
}

/// A wire authority: host, port (absent, empty, 0, 65535, 65536, leading zeros, junk), sometimes
/// userinfo or a stray byte.
pub fn wire_authority(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let host = wire_host(u)?;
    let port = match u.int_in_range(0u8..=7)? {
        0..=3 => String::new(),
        4 => format!(":{}", u.int_in_range(0u32..=70000)?),
        5 => (*u.choose(&[
            ":", ":0", ":0443", ":65535", ":65536", ":123456", ":a", "::",
        ])?)
        .to_string(),
        6 => ":443".to_string(),
        _ => ":8443".to_string(),
    };
    let userinfo = if u.ratio(1, 16)? { "user@" } else { "" };
    let mut bytes = format!("{userinfo}{host}{port}").into_bytes();
    if u.ratio(1, 10)? {
        let at = u.int_in_range(0..=bytes.len())?;
        bytes.insert(at, u.arbitrary()?);
    }
    Ok(bytes)
}

/// A pattern text: names, wildcards, near-wildcards, IPs with and without brackets.
pub fn pattern_text(u: &mut Unstructured<'_>) -> Result<String> {
    let n = name(u)?;
    Ok(match u.int_in_range(0u8..=9)? {
        0..=3 => n,
        4..=6 => format!("*.{n}"),
        7 => format!("{}*.{n}", label(u)?),
        8 => {
            let o: [u8; 4] = u.arbitrary()?;
            format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3])
        }
        _ => {
            let segments: [u16; 8] = u.arbitrary()?;
            std::net::Ipv6Addr::from(segments).to_string()
        }
    })
}

/// The engine's host in the model's terms.
#[must_use]
pub fn engine_host(host: &Host) -> model::Host {
    match host {
        Host::Dns(name) => model::Host::Dns(name.as_str().to_string()),
        Host::Ipv4(addr) => model::Host::Ipv4(*addr),
        Host::Ipv6(addr) => model::Host::Ipv6(*addr),
    }
}

/// The engine's pattern in the model's terms.
#[must_use]
pub fn engine_pattern(pattern: &NamePattern) -> model::Pattern {
    match pattern {
        NamePattern::Exact(name) => model::Pattern::Exact(name.to_string()),
        NamePattern::Wildcard(parent) => model::Pattern::Wildcard(parent.to_string()),
        NamePattern::Ip(addr) => model::Pattern::Ip(*addr),
    }
}

pub mod decide;

/// A wire authority for a fuzz target: [`wire_authority`]'s edges, and sometimes the raw input
/// bytes themselves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireAuthority(pub Vec<u8>);

impl<'a> arbitrary::Arbitrary<'a> for WireAuthority {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        if u.ratio(1, 8)? {
            let len = u.int_in_range(0..=64)?;
            return Ok(WireAuthority(u.bytes(len)?.to_vec()));
        }
        wire_authority(u).map(WireAuthority)
    }
}

/// A (pattern, host) pair for a fuzz target: a [`pattern_text`] and a host made from its own
/// labels (a label in place of `*`, capitals, a trailing dot) or any [`wire_host`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternAndHost {
    /// The pattern (a certificate or virtual host name).
    pub pattern: String,
    /// The host, as on the wire.
    pub host: String,
}

impl<'a> arbitrary::Arbitrary<'a> for PatternAndHost {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let pattern = pattern_text(u)?;
        let host = if u.ratio(1, 4)? {
            wire_host(u)?
        } else {
            let base = pattern.trim_start_matches("*.").to_string();
            let host = match u.int_in_range(0u8..=3)? {
                0 => base,
                1 => format!("{}.{base}", label(u)?),
                2 => base
                    .split_once('.')
                    .map_or(base.clone(), |(_, rest)| rest.to_string()),
                _ => format!("{}.{}.{base}", label(u)?, label(u)?),
            };
            let host = recase(u, &host)?;
            if u.ratio(1, 6)? {
                format!("{host}.")
            } else {
                host
            }
        };
        Ok(PatternAndHost { pattern, host })
    }
}

/// A whole case from fuzz input under `knobs`: a server from [`decide::pool`] and
/// [`decide::config`], repaired until it builds, then a connection and a request drawn from
/// its names; half the time the connection is the one a browser opens for the request's host.
///
/// # Errors
/// When the input runs out or the configuration does not build into a case.
pub fn case(u: &mut Unstructured<'_>, knobs: &misdirect::Knobs) -> Result<crate::Case> {
    let pool = decide::pool(u)?;
    let mut config = decide::config(u, &pool)?;
    config.knobs = knobs.clone();
    let server = crate::owned::repair(config).ok_or(arbitrary::Error::IncorrectFormat)?;
    let names = crate::owned::server_names(&server);
    let mut connection = decide::connection(u, &names, &pool, server.config().certificates.len())?;
    let mut request = decide::request(u, &names, &pool)?;
    if u.ratio(1, 10)? {
        if let Some(first) = request.hosts.first().cloned() {
            request.hosts.push(first);
        }
    }
    if u.arbitrary()? {
        let coalesced = if u.arbitrary()? {
            Some(u.arbitrary()?)
        } else {
            None
        };
        crate::strategy::like_a_browser(&server, &mut connection, &request, coalesced);
    }
    crate::Case::from_owned(&server, &connection, request).ok_or(arbitrary::Error::IncorrectFormat)
}

/// Under SPEC §5's default knobs: `fuzz_target!(|case: Case| ...)`. For other knobs, decode
/// with [`case`].
impl<'a> arbitrary::Arbitrary<'a> for crate::Case {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        case(u, &misdirect::Knobs::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pad` as it was first written, one `format!` per label: the corpora's inputs decode to
    /// the same names under the faster one.
    fn pad_by_format(name: &str, target: usize, fill: &str) -> String {
        let mut name = name.to_string();
        while name.len() + 1 < target {
            let take = (target - name.len() - 1).min(63).min(fill.len()).max(1);
            name = format!("{}.{name}", &fill[..take]);
        }
        name
    }

    #[test]
    fn pad_writes_the_names_the_format_loop_wrote() {
        let fills = ["abcdefghi", &"x".repeat(63), &"q1".repeat(32)];
        for name in ["", "a", "example.com", &"b".repeat(200)] {
            for fill in fills {
                for target in [0, 1, 2, 10, 64, 65, 128, 189, 190, 249, 250, 253, 254, 256] {
                    let padded = pad(name, target, fill);
                    assert_eq!(
                        padded,
                        pad_by_format(name, target, fill),
                        "{name:?} {target}"
                    );
                    if name.len() + 1 < target {
                        // Short of the target by the one octet only a dot would fill, at most.
                        assert!((target - 1..=target).contains(&padded.len()), "{padded:?}");
                    }
                    assert!(padded.split('.').all(|l| l.len() <= 63 || l == name));
                }
            }
        }
    }
}
