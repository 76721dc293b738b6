//! Name patterns from configuration and certificate SANs: exact names, `*.parent` wildcards
//! and IP addresses, validated under RFC 9525 §6.3 and RFC 5280 §4.2.1.6 (SPEC §3).

use core::fmt;
use std::net::{IpAddr, Ipv6Addr};

use crate::parse::host::{Host, MAX_NAME_LEN};
use crate::parse::name::{self, NameFault};

/// A name a virtual host answers to or a certificate is valid for.
///
/// ```
/// use misdirect::{Host, NamePattern};
/// let wildcard = NamePattern::parse("*.Example.com").unwrap();
/// assert!(wildcard.matches(&Host::parse(b"a.example.com").unwrap()));
/// assert!(!wildcard.matches(&Host::parse(b"example.com").unwrap()));
/// assert!(!wildcard.matches(&Host::parse(b"a.b.example.com").unwrap()));
/// // U-labels in configuration are converted once, at build time.
/// assert_eq!(NamePattern::parse("bücher.example").unwrap().to_string(), "xn--bcher-kva.example");
/// assert!(NamePattern::parse("f*.example.com").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NamePattern {
    /// An exact DNS name in canonical form.
    Exact(Box<str>),
    /// `*.parent`: matches exactly one non-empty label followed by `parent` (canonical form,
    /// held without the `*.`).
    Wildcard(Box<str>),
    /// An IP address; matches only the same address.
    Ip(IpAddr),
}

impl NamePattern {
    /// Parses a configuration name. U-labels (and any other Unicode UTS #46 maps, such as
    /// fullwidth letters or U+3002) are converted to A-labels with nontransitional processing;
    /// the result must then pass every rule of SPEC §3.
    ///
    /// # Errors
    /// A [`PatternError`] saying which rule the name breaks. For a converted name, offsets
    /// count bytes of its A-label form.
    pub fn parse(text: &str) -> Result<NamePattern, PatternError> {
        if text.is_ascii() {
            return parse_ascii(text.as_bytes());
        }
        let ascii = name::uts46_to_ascii(text.as_bytes(), false)
            .map_err(|_| PatternError::InvalidUnicode)?;
        parse_ascii(ascii.as_bytes())
    }

    /// Parses a name presented in a certificate (a dNSName SAN, or an iPAddress SAN written as
    /// text). It is ASCII-lowercased (RFC 9525 §6.3); non-ASCII bytes make it malformed.
    ///
    /// # Errors
    /// A [`PatternError`] saying which rule the name breaks. A certificate's malformed names
    /// are skipped and reported: RFC 9525 §6.3 says an invalid identifier "MUST be ignored".
    ///
    /// This reads a SAN written as text, as in a hand-written SAN list, where an address is an
    /// iPAddress SAN. A certificate's SANs keep their kind: use [`NamePattern::from_san`].
    pub fn parse_san(bytes: &[u8]) -> Result<NamePattern, PatternError> {
        parse_ascii(bytes)
    }

    /// The pattern of a certificate's SAN, its kind kept (RFC 9525 §6.2-§6.3, RFC 5280
    /// §4.2.1.6): an iPAddress SAN is an address; a dNSName SAN is a name, and one whose text is
    /// an address covers nothing, since only an iPAddress SAN may name an address (as
    /// rustls-webpki and mozilla::pkix read it).
    ///
    /// ```
    /// use misdirect::{NamePattern, San};
    /// assert!(NamePattern::from_san(&San::Ip("192.0.2.1".parse().unwrap())).is_ok());
    /// assert!(NamePattern::from_san(&San::Dns(b"192.0.2.1".to_vec())).is_err());
    /// ```
    ///
    /// # Errors
    /// As [`NamePattern::parse_san`] for a dNSName, and [`PatternError::AddressInDnsName`] for
    /// a dNSName that reads as an address.
    pub fn from_san(san: &San) -> Result<NamePattern, PatternError> {
        match san {
            San::Ip(addr) => Ok(NamePattern::Ip(*addr)),
            San::Dns(bytes) => match parse_ascii(bytes)? {
                NamePattern::Ip(_) => Err(PatternError::AddressInDnsName),
                name => Ok(name),
            },
        }
    }

    /// Whether the pattern covers `host` (RFC 9525 §6.3): an exact name equals it, a wildcard
    /// stands for exactly one non-empty left-most label, an IP pattern equals the address.
    /// A DNS pattern never matches an IP host.
    #[must_use]
    pub fn matches(&self, host: &Host) -> bool {
        match (self, host) {
            (NamePattern::Exact(name), Host::Dns(h)) => h.as_bytes() == name.as_bytes(),
            (NamePattern::Wildcard(parent), Host::Dns(h)) => {
                h.parent_bytes() == Some(parent.as_bytes())
            }
            (NamePattern::Ip(IpAddr::V4(a)), Host::Ipv4(h)) => a == h,
            (NamePattern::Ip(IpAddr::V6(a)), Host::Ipv6(h)) => a == h,
            _ => false,
        }
    }
}

impl fmt::Display for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NamePattern::Exact(name) => f.write_str(name),
            NamePattern::Wildcard(parent) => write!(f, "*.{parent}"),
            NamePattern::Ip(addr) => write!(f, "{addr}"),
        }
    }
}

impl core::str::FromStr for NamePattern {
    type Err = PatternError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NamePattern::parse(s)
    }
}

fn parse_ascii(bytes: &[u8]) -> Result<NamePattern, PatternError> {
    if bytes.is_empty() {
        return Err(PatternError::Empty);
    }
    if bytes[0] == b'[' {
        return Err(PatternError::BracketedIp);
    }
    if bytes.contains(&b':') {
        // An iPAddress SAN is written without brackets (SPEC §3).
        return core::str::from_utf8(bytes)
            .ok()
            .and_then(|text| text.parse::<Ipv6Addr>().ok())
            .map(|addr| NamePattern::Ip(IpAddr::V6(addr)))
            .ok_or(PatternError::InvalidIp);
    }
    // RFC 9525 §6.3: the wildcard is only the complete left-most label.
    let (wildcard, name, base) = match bytes.strip_prefix(b"*.") {
        Some(rest) => (true, rest, 2),
        None => (false, bytes, 0),
    };
    if let Some(i) = name.iter().position(|&b| b == b'*') {
        return Err(PatternError::MisplacedWildcard { offset: base + i });
    }
    if name.last() == Some(&b'.') {
        return Err(PatternError::TrailingDot);
    }
    if base + name.len() > MAX_NAME_LEN {
        return Err(PatternError::NameTooLong {
            len: base + name.len(),
        });
    }
    let mut lower = [0u8; MAX_NAME_LEN];
    // `name` holds no ':' (that went to the IPv6 branch) and no trailing dot (refused above),
    // so the scan covers all of it.
    let scanned = name::scan(name).map_err(|fault| match fault {
        NameFault::Byte(b, i) if !b.is_ascii() => PatternError::NonAscii { offset: base + i },
        NameFault::Byte(byte, i) => PatternError::InvalidByte {
            byte,
            offset: base + i,
        },
        NameFault::EmptyLabel(i) => PatternError::EmptyLabel { offset: base + i },
        NameFault::LabelTooLong(i) => PatternError::LabelTooLong { offset: base + i },
        NameFault::NameTooLong(len) => PatternError::NameTooLong { len: base + len },
    })?;
    let lower = name::lower_into(&name[..scanned.len], &mut lower);
    if let Some(i) = scanned.numeric_last {
        return match name::dotted_quad(lower) {
            Some(addr) if !wildcard => Ok(NamePattern::Ip(IpAddr::V4(addr))),
            // Such a name could never match: the wire parser refuses it (SPEC §3).
            _ => Err(PatternError::NumericLastLabel { offset: base + i }),
        };
    }
    if let Some(i) = scanned.hyphen_edge {
        // RFC 1034 §3.5 preferred syntax, required of dNSName by RFC 5280 §4.2.1.6.
        return Err(PatternError::HyphenAtLabelEdge { offset: base + i });
    }
    if let Some(i) = scanned.first_alabel {
        if !name::alabels_valid(lower) {
            return Err(PatternError::InvalidALabel { offset: base + i });
        }
    }
    // Only ASCII bytes reach here, so this conversion cannot fail.
    let text: Box<str> = String::from_utf8_lossy(lower).into();
    if !wildcard {
        return Ok(NamePattern::Exact(text));
    }
    // By policy, as Chromium, mozilla::pkix and webpki: at least two labels follow `*`.
    if !text.contains('.') {
        return Err(PatternError::WildcardTooBroad);
    }
    #[cfg(feature = "psl")]
    if is_icann_suffix(&text) {
        return Err(PatternError::PublicSuffixWildcard);
    }
    Ok(NamePattern::Wildcard(text))
}

/// Whether `name` is itself a public suffix of the PSL's ICANN section (`co.uk`).
#[cfg(feature = "psl")]
pub(crate) fn is_icann_suffix(name: &str) -> bool {
    psl::suffix(name.as_bytes()).is_some_and(|suffix| {
        suffix.is_known()
            && suffix.typ() == Some(psl::Type::Icann)
            && suffix.as_bytes() == name.as_bytes()
    })
}

/// Why a name pattern was refused. In configuration this is a build error; in a certificate the
/// name is skipped and reported, and never matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatternError {
    /// The pattern is empty.
    Empty,
    /// An IP pattern in brackets: SANs and configuration write IPs without them.
    BracketedIp,
    /// Text with `:` that is not an IPv6 address.
    InvalidIp,
    /// A `*` anywhere but as the whole left-most label (`f*.x`, `*oo.x`, `a.*.x`, `*.*.x`, `*`).
    MisplacedWildcard {
        /// Where the `*` is.
        offset: usize,
    },
    /// A trailing dot: a pattern is written without one, so it could never be what was meant.
    TrailingDot,
    /// Over 253 octets.
    NameTooLong {
        /// The pattern's length.
        len: usize,
    },
    /// A byte outside letters, digits, `-`, `_` and `.`.
    InvalidByte {
        /// The byte.
        byte: u8,
        /// Where it is.
        offset: usize,
    },
    /// A non-ASCII byte in a certificate name.
    NonAscii {
        /// Where it is.
        offset: usize,
    },
    /// Unicode that UTS #46 refuses.
    InvalidUnicode,
    /// An empty label.
    EmptyLabel {
        /// Where it begins.
        offset: usize,
    },
    /// A label over 63 octets.
    LabelTooLong {
        /// Where it begins.
        offset: usize,
    },
    /// The last label is all digits or `0x` hex and the pattern is not an IPv4 address.
    NumericLastLabel {
        /// Where the last label begins.
        offset: usize,
    },
    /// A label begins or ends with `-` (RFC 1034 §3.5, RFC 5280 §4.2.1.6).
    HyphenAtLabelEdge {
        /// Where the label begins.
        offset: usize,
    },
    /// An `xn--` label that is not valid Punycode for a UTS #46 valid label.
    InvalidALabel {
        /// Where the first `xn--` label begins.
        offset: usize,
    },
    /// A wildcard with fewer than two labels after it (`*.com`).
    WildcardTooBroad,
    /// A wildcard directly over an ICANN public suffix (`*.co.uk`), with the `psl` feature.
    PublicSuffixWildcard,
    /// A dNSName SAN whose text is an IP address: only an iPAddress SAN names an address.
    AddressInDnsName,
}

impl PatternError {
    /// A short stable name for the kind of error, for reports and test vectors.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            PatternError::Empty => "empty",
            PatternError::BracketedIp => "bracketed-ip",
            PatternError::InvalidIp => "invalid-ip",
            PatternError::MisplacedWildcard { .. } => "misplaced-wildcard",
            PatternError::TrailingDot => "trailing-dot",
            PatternError::NameTooLong { .. } => "name-too-long",
            PatternError::InvalidByte { .. } => "invalid-byte",
            PatternError::NonAscii { .. } => "non-ascii",
            PatternError::InvalidUnicode => "invalid-unicode",
            PatternError::EmptyLabel { .. } => "empty-label",
            PatternError::LabelTooLong { .. } => "label-too-long",
            PatternError::NumericLastLabel { .. } => "numeric-name",
            PatternError::HyphenAtLabelEdge { .. } => "hyphen-at-label-edge",
            PatternError::InvalidALabel { .. } => "invalid-a-label",
            PatternError::WildcardTooBroad => "wildcard-too-broad",
            PatternError::PublicSuffixWildcard => "public-suffix-wildcard",
            PatternError::AddressInDnsName => "address-in-dns-name",
        }
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::parse::authority::EscapedByte;
        match *self {
            PatternError::Empty => f.write_str("empty name"),
            PatternError::BracketedIp => f.write_str("IP addresses are written without brackets"),
            PatternError::InvalidIp => f.write_str("text with ':' is not an IPv6 address"),
            PatternError::MisplacedWildcard { offset } => write!(
                f,
                "'*' at offset {offset}: a wildcard must be the whole left-most label"
            ),
            PatternError::TrailingDot => f.write_str("trailing dot"),
            PatternError::NameTooLong { len } => write!(f, "name is {len} octets, over 253"),
            PatternError::InvalidByte { byte, offset } => {
                write!(f, "invalid byte {} at offset {offset}", EscapedByte(byte))
            }
            PatternError::NonAscii { offset } => write!(
                f,
                "non-ASCII byte at offset {offset} (certificate names are ASCII)"
            ),
            PatternError::InvalidUnicode => {
                f.write_str("not a valid internationalized name under UTS #46")
            }
            PatternError::EmptyLabel { offset } => write!(f, "empty label at offset {offset}"),
            PatternError::LabelTooLong { offset } => {
                write!(f, "label at offset {offset} is over 63 octets")
            }
            PatternError::NumericLastLabel { offset } => write!(
                f,
                "last label at offset {offset} is numeric but the name is not an IPv4 address"
            ),
            PatternError::HyphenAtLabelEdge { offset } => {
                write!(f, "label at offset {offset} begins or ends with '-'")
            }
            PatternError::InvalidALabel { offset } => write!(
                f,
                "invalid A-label (Punycode or UTS #46), first xn-- label at offset {offset}"
            ),
            PatternError::WildcardTooBroad => {
                f.write_str("a wildcard needs at least two labels after '*.'")
            }
            PatternError::PublicSuffixWildcard => {
                f.write_str("a wildcard directly over a public suffix is refused")
            }
            PatternError::AddressInDnsName => f.write_str(
                "a dNSName holding an IP address covers nothing (addresses go in iPAddress SANs)",
            ),
        }
    }
}

impl std::error::Error for PatternError {}

/// A Subject Alternative Name as a certificate holds it (RFC 5280 §4.2.1.6). The kind travels
/// to the match (RFC 9525 §6.2-§6.3): an iPAddress SAN covers only that address, a dNSName SAN
/// only DNS hosts, even when its text reads like an address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum San {
    /// A dNSName, as the certificate holds it (checked when the server is built; a malformed
    /// one is skipped and reported).
    Dns(Vec<u8>),
    /// An iPAddress.
    Ip(IpAddr),
}

impl San {
    /// A SAN written as text, as in a hand-written SAN list: an IPv4 dotted quad or an IPv6
    /// address (without brackets) is an iPAddress SAN, anything else a dNSName. A certificate's
    /// own SANs have their kind already ([`certificate_sans`](crate::certificate_sans)).
    #[must_use]
    pub fn from_text(text: &[u8]) -> San {
        match core::str::from_utf8(text).ok().and_then(|t| t.parse().ok()) {
            Some(addr) => San::Ip(addr),
            None => San::Dns(text.to_vec()),
        }
    }
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(bytes) => write!(f, "DNS:{}", String::from_utf8_lossy(bytes).escape_debug()),
            San::Ip(addr) => write!(f, "IP:{addr}"),
        }
    }
}
