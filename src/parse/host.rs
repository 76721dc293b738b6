//! Canonical hosts: the form every decision is made on (SPEC §1).

use core::fmt;
use core::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};

/// RFC 1035 §2.3.4 / RFC 1123 §2.1: a name is at most 253 octets without its root dot.
pub const MAX_NAME_LEN: usize = 253;
/// RFC 1035 §2.3.4: a label is at most 63 octets.
pub const MAX_LABEL_LEN: usize = 63;

/// A canonical DNS name: ASCII, lowercase, A-labels only, no trailing dot, labels of
/// 1..=63 octets, 1..=253 octets in all.
///
/// It is stored inline (no heap), so parsing a wire authority never allocates.
/// Values of this type only come out of the crate's parsers, so the invariants above hold
/// for every `DnsName` in existence.
#[derive(Clone, Copy)]
pub struct DnsName {
    len: u8,
    bytes: [u8; MAX_NAME_LEN],
}

impl DnsName {
    /// Takes a buffer whose first `len` bytes the caller has checked and lowercased.
    pub(crate) fn from_array(bytes: [u8; MAX_NAME_LEN], len: usize) -> Self {
        debug_assert!(len > 0 && len <= MAX_NAME_LEN);
        #[allow(clippy::cast_possible_truncation)] // len <= 253
        DnsName {
            len: len as u8,
            bytes,
        }
    }

    /// Copies a name the caller has checked and lowercased (at most [`MAX_NAME_LEN`] bytes).
    pub(crate) fn from_canonical(name: &[u8]) -> Self {
        let mut bytes = [0u8; MAX_NAME_LEN];
        bytes[..name.len()].copy_from_slice(name);
        DnsName::from_array(bytes, name.len())
    }

    /// The canonical text, for example `xn--bcher-kva.example`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only ASCII bytes are ever stored (see `from_checked` callers), so this cannot fail;
        // the fallback keeps the function total without `unsafe`.
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// The canonical text as bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The name without its left-most label (`a.b.example` gives `b.example`), or `None`
    /// for a single-label name. This is the key a `*.parent` wildcard is looked up by.
    #[must_use]
    pub fn parent(&self) -> Option<&str> {
        let s = self.as_str();
        s.find('.').map(|dot| &s[dot + 1..])
    }

    /// [`DnsName::parent`] as bytes, without the UTF-8 check (the hot path's form).
    pub(crate) fn parent_bytes(&self) -> Option<&[u8]> {
        parent_of(self.as_bytes())
    }
}

/// A canonical name without its left-most label: the key a `*.parent` wildcard is found by.
#[inline]
pub(crate) fn parent_of(name: &[u8]) -> Option<&[u8]> {
    let dot = name.iter().position(|&b| b == b'.')?;
    Some(&name[dot + 1..])
}

impl PartialEq for DnsName {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl Eq for DnsName {}
impl Hash for DnsName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}
impl PartialEq<str> for DnsName {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl fmt::Display for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl fmt::Debug for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// A canonical host (SPEC §1): a DNS name, an IPv4 address or an IPv6 address.
///
/// Every decision is made on this form, computed once per request. Two hosts are the same
/// exactly when they are equal as values: `[::ffff:1.2.3.4]` is an IPv6 host and never equals
/// the IPv4 host `1.2.3.4`.
///
/// Its `Display` is the canonical text, which parses back to an equal `Host`:
///
/// ```
/// use misdirect::Host;
/// let host = Host::parse(b"WWW.Example.COM.").unwrap();
/// assert_eq!(host.to_string(), "www.example.com");
/// assert_eq!(Host::parse(host.to_string().as_bytes()).unwrap(), host);
/// ```
// The name is inline on purpose: parsing a request's host must not allocate, and a host is
// built once per request and then borrowed.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Host {
    /// A DNS name in canonical form.
    Dns(DnsName),
    /// An IPv4 address from a strict dotted quad.
    Ipv4(Ipv4Addr),
    /// An IPv6 address from a bracketed literal.
    Ipv6(Ipv6Addr),
}

impl Host {
    /// Parses a wire host with no port (`example.com`, `192.0.2.1`, `[2001:db8::1]`) under
    /// the rules of SPEC §2. Non-ASCII bytes are refused.
    ///
    /// # Errors
    /// Any input that `Authority::parse` refuses, and any input that carries a port.
    pub fn parse(input: &[u8]) -> Result<Host, crate::AuthorityError> {
        crate::parse::authority::parse_host_only(input)
    }

    /// The DNS name, if this host is one.
    #[must_use]
    pub fn dns(&self) -> Option<&DnsName> {
        match self {
            Host::Dns(name) => Some(name),
            _ => None,
        }
    }

    /// Whether the host is an IP address.
    #[must_use]
    pub fn is_ip(&self) -> bool {
        !matches!(self, Host::Dns(_))
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Dns(name) => f.write_str(name.as_str()),
            Host::Ipv4(addr) => write!(f, "{addr}"),
            // RFC 5952 text, with dotted IPv4 for mapped addresses: what `Ipv6Addr` prints.
            Host::Ipv6(addr) => write!(f, "[{addr}]"),
        }
    }
}
