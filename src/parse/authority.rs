//! Wire authorities (`Host`, `:authority`, the authority of an absolute-form target) parsed
//! from untrusted bytes into a canonical [`Host`] and an optional port (SPEC §2).

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::parse::host::{DnsName, Host, MAX_NAME_LEN};
use crate::parse::ipv6::parse_ipv6;
use crate::parse::name::{self, NameFault};

/// The longest input looked at: 255 octets of host (a 253-octet name, its root dot, or a
/// bracketed IPv6 literal) plus 6 of port (`:65535`). Anything longer is refused before any
/// work, so every parse is O(1) in the worst case.
pub const MAX_AUTHORITY_LEN: usize = 255 + 6;

/// What to do with raw non-ASCII bytes in a wire host (SPEC §2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WireUnicode {
    /// Refuse them: HTTP hosts are ASCII, and a U-label on the wire is a client bug or an
    /// attempt at a parser differential. The default.
    #[default]
    Reject,
    /// Read them as UTF-8 U-labels and convert them to A-labels with UTS #46
    /// nontransitional processing (the slow path, which allocates).
    Convert,
}

/// A wire authority: a canonical host and the port written after it, if any.
///
/// ```
/// use misdirect::{Authority, Host};
/// let a = Authority::parse(b"API.Example.com.:0443").unwrap();
/// assert_eq!(a.host().to_string(), "api.example.com");
/// assert_eq!(a.port(), Some(443));
/// assert_eq!(a.effective_port(443), 443);
/// assert!(Authority::parse(b"user@example.com").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Authority {
    host: Host,
    port: Option<u16>,
}

impl Authority {
    /// Parses untrusted bytes under SPEC §2, refusing raw non-ASCII bytes. Performs no heap
    /// allocation (A-labels included: the idna crate checks their Punycode in place).
    ///
    /// # Errors
    /// An [`AuthorityError`] naming what was wrong and at which byte offset.
    pub fn parse(input: &[u8]) -> Result<Authority, AuthorityError> {
        Self::parse_with(input, WireUnicode::Reject)
    }

    /// Parses like [`Authority::parse`], with a choice of what to do with raw non-ASCII bytes.
    ///
    /// # Errors
    /// An [`AuthorityError`] naming what was wrong and at which byte offset.
    pub fn parse_with(input: &[u8], unicode: WireUnicode) -> Result<Authority, AuthorityError> {
        if input.len() > MAX_AUTHORITY_LEN {
            return Err(AuthorityError::TooLong { len: input.len() });
        }
        /// What the view leaves once its borrow of the scratch buffer ends.
        enum Owned {
            Name(usize),
            Ipv4(Ipv4Addr),
            Ipv6(Ipv6Addr),
        }
        let mut scratch = Scratch::new();
        let view = parse_view(input, unicode, &mut scratch)?;
        let (owned, port) = match view.host {
            HostView::Name(name) => (Owned::Name(name.len()), view.port),
            HostView::Ipv4(addr) => (Owned::Ipv4(addr), view.port),
            HostView::Ipv6(addr) => (Owned::Ipv6(addr), view.port),
        };
        let host = match (owned, scratch.0) {
            // A name the parse had to rewrite is in the scratch buffer: it becomes the name
            // without another copy. Any other name is the input's first `len` bytes.
            (Owned::Name(len), Some(buffer)) => Host::Dns(DnsName::from_array(buffer, len)),
            (Owned::Name(len), None) => Host::Dns(DnsName::from_canonical(&input[..len])),
            (Owned::Ipv4(addr), _) => Host::Ipv4(addr),
            (Owned::Ipv6(addr), _) => Host::Ipv6(addr),
        };
        Ok(Authority { host, port })
    }

    /// The canonical host.
    #[must_use]
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The explicit port, leading zeros removed; `None` when absent or empty (`host:`).
    #[must_use]
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The explicit port, else `default` (the scheme's: 80 for `http`, 443 for `https`).
    #[must_use]
    pub fn effective_port(&self, default: u16) -> u16 {
        self.port.unwrap_or(default)
    }
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => write!(f, "{}", self.host),
        }
    }
}

impl core::str::FromStr for Authority {
    type Err = AuthorityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Authority::parse(s.as_bytes())
    }
}

impl TryFrom<&[u8]> for Authority {
    type Error = AuthorityError;
    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        Authority::parse(bytes)
    }
}

/// A host as the hot path sees it: a canonical name borrowed from the request (when it was
/// already canonical: lowercase, no trailing dot) or from a [`Scratch`] buffer, or an address.
/// No 253-byte copy is made unless the request's name had capitals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HostView<'a> {
    /// A canonical DNS name.
    Name(&'a [u8]),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address.
    Ipv6(Ipv6Addr),
}

impl HostView<'_> {
    /// The owned form, for reasons and the public API.
    pub(crate) fn to_host(self) -> Host {
        match self {
            HostView::Name(name) => Host::Dns(DnsName::from_canonical(name)),
            HostView::Ipv4(addr) => Host::Ipv4(addr),
            HostView::Ipv6(addr) => Host::Ipv6(addr),
        }
    }
}

/// An authority as the hot path sees it: see [`HostView`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct AuthorityView<'a> {
    pub host: HostView<'a>,
    pub port: Option<u16>,
    /// What the decision's fast path learned of the (scheme, port) index: `Found(position)`
    /// when the host's bytes are an exact pattern, `Absent` when the bytes as sent were
    /// looked up and are none (so a canonical name equal to them needs no second exact probe).
    pub exact: Exact,
}

impl AuthorityView<'_> {
    pub(crate) fn effective_port(&self, default: u16) -> u16 {
        self.port.unwrap_or(default)
    }
}

/// See [`AuthorityView::exact`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exact {
    /// Not looked up.
    Unknown,
    /// The exact pattern at this position.
    Found(usize),
    /// The bytes before the port's colon, as sent, are no exact pattern (up to ASCII case).
    Absent,
    /// Nor a label over a wildcard's parent: no pattern covers them.
    AbsentBoth,
}

/// Room for a canonical name that differs from the request's bytes; left unwritten (and
/// unzeroed) unless it is needed.
pub(crate) struct Scratch(Option<[u8; MAX_NAME_LEN]>);

impl Scratch {
    pub(crate) fn new() -> Self {
        Scratch(None)
    }

    fn buffer(&mut self) -> &mut [u8; MAX_NAME_LEN] {
        self.0.insert([0; MAX_NAME_LEN])
    }
}

/// [`Authority::parse_with`] without building the owned [`Authority`].
pub(crate) fn parse_view<'a>(
    input: &'a [u8],
    unicode: WireUnicode,
    scratch: &'a mut Scratch,
) -> Result<AuthorityView<'a>, AuthorityError> {
    if input.len() > MAX_AUTHORITY_LEN {
        return Err(AuthorityError::TooLong { len: input.len() });
    }
    parse_bounded(input, unicode, scratch).map_err(|error| {
        // RFC 9113 §8.3.1, RFC 9114 §4.3.1, RFC 9110 §4.2.4: no userinfo, wherever the `@`
        // is. An `@` always fails the parse, so it is looked for on the error path only.
        match find_at(input) {
            Some(offset) => AuthorityError::Userinfo { offset },
            None => error,
        }
    })
}

/// The offset of the first `@`, eight bytes at a time: `w ^ 0x40..` has a zero byte where `w`
/// has an `@`, and `(x - 0x01..) & !x & 0x80..` marks zero bytes exactly up to the first one (a
/// borrow can only mark bytes above a zero byte), so its lowest set bit is the first `@`.
#[inline]
fn find_at(input: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut words = input.chunks_exact(8);
    let mut base = 0;
    for chunk in words.by_ref() {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w) ^ (ONES * u64::from(b'@'));
        let zeros = x.wrapping_sub(ONES) & !x & HIGH;
        if zeros != 0 {
            return Some(base + (zeros.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == b'@')
        .map(|i| base + i)
}

/// Parses an input already known to be at most [`MAX_AUTHORITY_LEN`] bytes.
fn parse_bounded<'a>(
    input: &'a [u8],
    unicode: WireUnicode,
    scratch: &'a mut Scratch,
) -> Result<AuthorityView<'a>, AuthorityError> {
    let (host, port_at) = match input.first() {
        None | Some(b':') => return Err(AuthorityError::EmptyHost),
        Some(b'[') => {
            let (literal, port_at) = split_ipv6_literal(input)?;
            (HostView::Ipv6(parse_ipv6_literal(literal)?), port_at)
        }
        Some(_) if unicode == WireUnicode::Convert && !input.is_ascii() => {
            let colon = input.iter().position(|&b| b == b':');
            let host_part = &input[..colon.unwrap_or(input.len())];
            let host = match host_part.iter().position(|b| !b.is_ascii()) {
                Some(offset) => convert_unicode(host_part, offset, scratch)?,
                None => parse_reg_name(host_part, scratch)?.0,
            };
            (host, colon)
        }
        // The fast path: one pass over the name that stops at the port's colon.
        Some(_) => {
            let (host, end) = parse_reg_name(input, scratch)?;
            (host, (end < input.len()).then_some(end))
        }
    };
    let port = match port_at {
        Some(colon) => parse_port(&input[colon + 1..], colon + 1)?,
        None => None,
    };
    Ok(AuthorityView {
        host,
        port,
        exact: Exact::Unknown,
    })
}

/// Finds the `]` of an IPv6 literal and the port's colon after it.
fn split_ipv6_literal(input: &[u8]) -> Result<(&[u8], Option<usize>), AuthorityError> {
    let Some(close) = input.iter().position(|&b| b == b']') else {
        return Err(AuthorityError::InvalidIpv6 { offset: 0 });
    };
    match input.get(close + 1) {
        None => Ok((&input[..=close], None)),
        Some(b':') => Ok((&input[..=close], Some(close + 1))),
        Some(&byte) => Err(AuthorityError::InvalidByte {
            byte,
            offset: close + 1,
        }),
    }
}

/// RFC 9110 §4.2.2-§4.2.3: an empty port means the default; leading zeros are dropped. By
/// policy (SPEC §2) port 0 and more than five digits are refused.
pub(crate) fn parse_port(digits: &[u8], base: usize) -> Result<Option<u16>, AuthorityError> {
    if digits.is_empty() {
        return Ok(None);
    }
    // One pass: every byte a digit (the first that is not is the error), the value kept only
    // while it can matter (at most five digits, checked after).
    let mut value = 0u32;
    for (i, &d) in digits.iter().enumerate() {
        let digit = d.wrapping_sub(b'0');
        if digit > 9 {
            return Err(AuthorityError::InvalidPort { offset: base + i });
        }
        value = value.wrapping_mul(10).wrapping_add(u32::from(digit));
    }
    if digits.len() > 5 {
        return Err(AuthorityError::PortTooLong { offset: base });
    }
    match u16::try_from(value) {
        Ok(0) => Err(AuthorityError::PortZero { offset: base }),
        Ok(port) => Ok(Some(port)),
        Err(_) => Err(AuthorityError::PortOutOfRange { offset: base }),
    }
}

/// `[` RFC 4291 text `]`; zone ids and IPvFuture are errors in HTTP (SPEC §2).
pub(crate) fn parse_ipv6_literal(literal: &[u8]) -> Result<Ipv6Addr, AuthorityError> {
    // `split_host_port` guarantees the brackets.
    let inner = &literal[1..literal.len() - 1];
    // One pass for an address. Text the parser accepts holds only hex digits, `:` and `.`, so
    // none of the checks that name the error could have refused it: they run on refusal only.
    match parse_ipv6(inner) {
        Some(addr) => Ok(addr),
        None => Err(ipv6_literal_error(inner)),
    }
}

/// Why the inside of a bracketed literal is not an address, most specific first: a zone id
/// anywhere, then IPvFuture, then the first byte no address holds, else the text itself.
#[cold]
fn ipv6_literal_error(inner: &[u8]) -> AuthorityError {
    if let Some(i) = inner.iter().position(|&b| b == b'%') {
        return AuthorityError::ZoneId { offset: 1 + i };
    }
    if inner.first().is_some_and(|&b| b == b'v' || b == b'V') {
        return AuthorityError::IpvFuture { offset: 1 };
    }
    if let Some(i) = inner
        .iter()
        .position(|&b| !(b.is_ascii_hexdigit() || b == b':' || b == b'.'))
    {
        return AuthorityError::InvalidByte {
            byte: inner[i],
            offset: 1 + i,
        };
    }
    AuthorityError::InvalidIpv6 { offset: 1 }
}

/// A reg-name or IPv4 host, ASCII only, up to the port's colon or the end: the allocation-free
/// fast path. A name with capitals is written, lowercased, to `scratch`; any other name is
/// returned as the input's own bytes. Returns the host and where it ended.
#[inline(always)]
fn parse_reg_name<'a>(
    input: &'a [u8],
    scratch: &'a mut Scratch,
) -> Result<(HostView<'a>, usize), AuthorityError> {
    // CVE-2022-23632: one trailing dot names the same host; `scan` leaves it out.
    let scanned = name::scan_wire(input).map_err(|fault| match fault {
        NameFault::Byte(b'%', offset) => AuthorityError::PercentEncoded { offset },
        NameFault::Byte(b, offset) if !b.is_ascii() => AuthorityError::NonAscii { offset },
        NameFault::Byte(byte, offset) => AuthorityError::InvalidByte { byte, offset },
        NameFault::EmptyLabel(offset) => AuthorityError::EmptyLabel { offset },
        NameFault::LabelTooLong(offset) => AuthorityError::LabelTooLong { offset },
        NameFault::NameTooLong(len) => AuthorityError::NameTooLong { len },
    })?;
    let raw = &input[..scanned.len];
    if let Some(offset) = scanned.numeric_last {
        // WHATWG URL would read this as an address: it must be one, strictly.
        return name::dotted_quad(raw)
            .map(|addr| (HostView::Ipv4(addr), scanned.end))
            .ok_or(AuthorityError::NumericName { offset });
    }
    let name: &'a [u8] = if scanned.upper {
        name::lower_into(raw, scratch.buffer())
    } else {
        raw
    };
    if let Some(offset) = scanned.first_alabel {
        if !name::alabels_valid(name) {
            return Err(AuthorityError::InvalidALabel { offset });
        }
    }
    Ok((HostView::Name(name), scanned.end))
}

/// The opt-in slow path: UTS #46 maps the U-labels (and fullwidth dots, the Kelvin sign, ...)
/// to ASCII, then the result must pass the same ASCII rules as any wire host.
fn convert_unicode<'a>(
    host: &[u8],
    first_non_ascii: usize,
    scratch: &'a mut Scratch,
) -> Result<HostView<'a>, AuthorityError> {
    let invalid = AuthorityError::InvalidUnicode {
        offset: first_non_ascii,
    };
    let ascii = name::uts46_to_ascii(host, false).map_err(|_| invalid)?;
    let mut converted = Scratch::new();
    match parse_reg_name(ascii.as_bytes(), &mut converted) {
        // UTS #46 may map a character to ':' (U+FF1A): the whole converted text must be the host.
        Ok((HostView::Name(name), end)) if end == ascii.len() => {
            let out = &mut scratch.buffer()[..name.len()];
            out.copy_from_slice(name);
            Ok(HostView::Name(out))
        }
        Ok((HostView::Ipv4(addr), end)) if end == ascii.len() => Ok(HostView::Ipv4(addr)),
        Ok((HostView::Ipv6(addr), end)) if end == ascii.len() => Ok(HostView::Ipv6(addr)),
        _ => Err(invalid),
    }
}

/// `Host::parse`: a host with no port at all.
pub(crate) fn parse_host_only(input: &[u8]) -> Result<Host, AuthorityError> {
    let authority = Authority::parse(input)?;
    let bracket_end = input.iter().position(|&b| b == b']').unwrap_or(0);
    if let Some(i) = input[bracket_end..].iter().position(|&b| b == b':') {
        return Err(AuthorityError::UnexpectedPort {
            offset: bracket_end + i,
        });
    }
    Ok(authority.host)
}

/// Why a wire authority was refused. Offsets count bytes from the start of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthorityError {
    /// The input is longer than [`MAX_AUTHORITY_LEN`]; nothing else was looked at.
    TooLong {
        /// The input's length.
        len: usize,
    },
    /// The host is empty.
    EmptyHost,
    /// An `@`: userinfo is forbidden in `:authority`, absolute-form and `Host`.
    Userinfo {
        /// Where the `@` is.
        offset: usize,
    },
    /// A `%`: percent-encoding is refused by policy (SPEC §2).
    PercentEncoded {
        /// Where the `%` is.
        offset: usize,
    },
    /// A byte that no part of an authority may hold (space, NUL, `/`, `?`, `#`, ...).
    InvalidByte {
        /// The byte.
        byte: u8,
        /// Where it is.
        offset: usize,
    },
    /// A raw non-ASCII byte, with [`WireUnicode::Reject`] in force.
    NonAscii {
        /// Where the byte is.
        offset: usize,
    },
    /// Raw Unicode that UTS #46 refuses or maps to something that is not a valid host.
    InvalidUnicode {
        /// Where the first non-ASCII byte is.
        offset: usize,
    },
    /// An empty label (`a..b`, `.a`, a lone `.`, or a second trailing dot).
    EmptyLabel {
        /// Where the empty label begins.
        offset: usize,
    },
    /// A label over 63 octets.
    LabelTooLong {
        /// Where the label begins.
        offset: usize,
    },
    /// A name over 253 octets (without its one allowed trailing dot).
    NameTooLong {
        /// The name's length.
        len: usize,
    },
    /// The last label is all digits or `0x` hex, but the host is not a strict dotted quad:
    /// a URL parser would read it as an address, so it is refused (SPEC §2).
    NumericName {
        /// Where the last label begins.
        offset: usize,
    },
    /// An `xn--` label that is not valid Punycode for a UTS #46 valid label.
    InvalidALabel {
        /// Where the first `xn--` label begins.
        offset: usize,
    },
    /// A bracketed literal that is not RFC 4291 IPv6 text, or a missing `]`.
    InvalidIpv6 {
        /// Where the literal's text begins.
        offset: usize,
    },
    /// An IPv6 zone id (`%25...`): not allowed in HTTP.
    ZoneId {
        /// Where the `%` is.
        offset: usize,
    },
    /// An IPvFuture literal (`[v1.x]`): not allowed in HTTP.
    IpvFuture {
        /// Where the `v` is.
        offset: usize,
    },
    /// A port that holds something other than digits.
    InvalidPort {
        /// Where the first non-digit is.
        offset: usize,
    },
    /// Port 0: no listener has it (policy, SPEC §2).
    PortZero {
        /// Where the port begins.
        offset: usize,
    },
    /// More than five port digits (policy, SPEC §2).
    PortTooLong {
        /// Where the port begins.
        offset: usize,
    },
    /// A port over 65535.
    PortOutOfRange {
        /// Where the port begins.
        offset: usize,
    },
    /// A port where only a host was expected (`Host::parse`).
    UnexpectedPort {
        /// Where the `:` is.
        offset: usize,
    },
}

impl AuthorityError {
    /// A short stable name for the kind of error (`"userinfo"`, `"empty-label"`, ...), for
    /// logs, metrics and test vectors.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            AuthorityError::TooLong { .. } => "too-long",
            AuthorityError::EmptyHost => "empty-host",
            AuthorityError::Userinfo { .. } => "userinfo",
            AuthorityError::PercentEncoded { .. } => "percent-encoded",
            AuthorityError::InvalidByte { .. } => "invalid-byte",
            AuthorityError::NonAscii { .. } => "non-ascii",
            AuthorityError::InvalidUnicode { .. } => "invalid-unicode",
            AuthorityError::EmptyLabel { .. } => "empty-label",
            AuthorityError::LabelTooLong { .. } => "label-too-long",
            AuthorityError::NameTooLong { .. } => "name-too-long",
            AuthorityError::NumericName { .. } => "numeric-name",
            AuthorityError::InvalidALabel { .. } => "invalid-a-label",
            AuthorityError::InvalidIpv6 { .. } => "invalid-ipv6",
            AuthorityError::ZoneId { .. } => "zone-id",
            AuthorityError::IpvFuture { .. } => "ipvfuture",
            AuthorityError::InvalidPort { .. } => "invalid-port",
            AuthorityError::PortZero { .. } => "port-zero",
            AuthorityError::PortTooLong { .. } => "port-too-long",
            AuthorityError::PortOutOfRange { .. } => "port-out-of-range",
            AuthorityError::UnexpectedPort { .. } => "unexpected-port",
        }
    }
}

/// Writes a byte so that no untrusted byte reaches a log raw: printable ASCII quoted, anything
/// else as hex.
pub(crate) struct EscapedByte(pub u8);

impl fmt::Display for EscapedByte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            b @ 0x21..=0x7e => write!(f, "'{}'", char::from(b)),
            b => write!(f, "0x{b:02x}"),
        }
    }
}

impl fmt::Display for AuthorityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AuthorityError::TooLong { len } => write!(
                f,
                "authority is {len} bytes, over the {MAX_AUTHORITY_LEN}-byte limit"
            ),
            AuthorityError::EmptyHost => f.write_str("empty host"),
            AuthorityError::Userinfo { offset } => {
                write!(f, "userinfo ('@' at offset {offset}) is not allowed")
            }
            AuthorityError::PercentEncoded { offset } => {
                write!(f, "percent-encoding at offset {offset} is not allowed")
            }
            AuthorityError::InvalidByte { byte, offset } => {
                write!(f, "invalid byte {} at offset {offset}", EscapedByte(byte))
            }
            AuthorityError::NonAscii { offset } => write!(
                f,
                "non-ASCII byte at offset {offset} (raw Unicode hosts are refused)"
            ),
            AuthorityError::InvalidUnicode { offset } => write!(
                f,
                "Unicode host (from offset {offset}) is not a valid internationalized name"
            ),
            AuthorityError::EmptyLabel { offset } => write!(f, "empty label at offset {offset}"),
            AuthorityError::LabelTooLong { offset } => {
                write!(f, "label at offset {offset} is over 63 octets")
            }
            AuthorityError::NameTooLong { len } => {
                write!(f, "name is {len} octets, over 253")
            }
            AuthorityError::NumericName { offset } => write!(
                f,
                "last label at offset {offset} is numeric but the host is not a dotted-quad IPv4 address"
            ),
            AuthorityError::InvalidALabel { offset } => write!(
                f,
                "invalid A-label (Punycode or UTS #46) in the name, first xn-- label at offset {offset}"
            ),
            AuthorityError::InvalidIpv6 { offset } => {
                write!(f, "invalid IPv6 literal at offset {offset}")
            }
            AuthorityError::ZoneId { offset } => {
                write!(f, "IPv6 zone id at offset {offset} is not allowed in HTTP")
            }
            AuthorityError::IpvFuture { offset } => {
                write!(f, "IPvFuture literal at offset {offset} is not allowed")
            }
            AuthorityError::InvalidPort { offset } => {
                write!(f, "invalid port: non-digit at offset {offset}")
            }
            AuthorityError::PortZero { offset } => write!(f, "port 0 at offset {offset}"),
            AuthorityError::PortTooLong { offset } => {
                write!(f, "port at offset {offset} has more than 5 digits")
            }
            AuthorityError::PortOutOfRange { offset } => {
                write!(f, "port at offset {offset} is over 65535")
            }
            AuthorityError::UnexpectedPort { offset } => {
                write!(
                    f,
                    "unexpected port at offset {offset} (a host alone was expected)"
                )
            }
        }
    }
}

impl std::error::Error for AuthorityError {}

#[cfg(test)]
mod tests {
    use super::find_at;

    #[test]
    fn find_at_is_the_first_at_sign() {
        for len in 0..=24 {
            for first in 0..=len {
                for b in [b'@', b'A', 0x00, 0xc0, b'`', b'?'] {
                    let mut bytes = vec![b'a'; len];
                    if first < len {
                        bytes[first] = b;
                        // A second `@` after the first must not move the answer.
                        if first + 3 < len {
                            bytes[first + 3] = b'@';
                        }
                    }
                    assert_eq!(
                        find_at(&bytes),
                        bytes.iter().position(|&c| c == b'@'),
                        "{bytes:?}"
                    );
                }
            }
        }
    }
}
