//! What a decision is made on (SPEC §4): the request's facts, borrowed from it, and the
//! connection's, checked against the server and canonicalized once per connection.

use core::fmt;

use crate::decision::server::{Build, CertId, ListenerId, PolicyId, Scheme};
use crate::parse::authority::AuthorityError;
use crate::parse::host::{DnsName, Host};

/// The HTTP version of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// HTTP/1.0.
    Http10,
    /// HTTP/1.1.
    Http11,
    /// HTTP/2.
    Http2,
    /// HTTP/3.
    Http3,
}

impl Version {
    pub(crate) fn is_h1(self) -> bool {
        matches!(self, Version::Http10 | Version::Http11)
    }
}

/// The method class of a request: all the decision needs to know of the method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// CONNECT without `:protocol`: a tunnel, not an origin request (rule 0).
    Connect,
    /// CONNECT with `:protocol` (RFC 8441, RFC 9220): an ordinary origin request in HTTP/2 and
    /// HTTP/3. HTTP/1.x has no `:protocol`: there it is read as [`Method::Connect`].
    ExtendedConnect,
    /// Any other method.
    Other,
}

/// The form of an HTTP/1.x request-target (RFC 9112 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target<'a> {
    /// `/path`: the authority comes from `Host`.
    Origin,
    /// `scheme://authority/path`: the authority and scheme come from the target.
    Absolute {
        /// The scheme as written.
        scheme: &'a [u8],
        /// The authority as written.
        authority: &'a [u8],
    },
    /// `host:port`, for CONNECT only.
    Authority(&'a [u8]),
    /// `*`, for a server-wide OPTIONS.
    Asterisk,
}

/// What the decision needs of a request, borrowed from it: cheap to build per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Request<'a> {
    /// The HTTP version.
    pub version: Version,
    /// The method class.
    pub method: Method,
    /// `:scheme` (HTTP/2, HTTP/3); ignored for HTTP/1.x, whose scheme is the connection's or
    /// the absolute-form target's. For an HTTP/2 request without `:authority`, the h2 crate
    /// checks `:scheme` and then drops it (an `http::Uri` cannot hold a scheme without an
    /// authority), so [`HttpRequest`](crate::HttpRequest) gives the connection's scheme there.
    pub scheme: Option<&'a [u8]>,
    /// Every `:authority` pseudo-header (HTTP/2, HTTP/3), raw.
    pub authorities: &'a [&'a [u8]],
    /// Every `Host` field line, raw.
    pub hosts: &'a [&'a [u8]],
    /// The request-target form (HTTP/1.x); use [`Target::Origin`] for HTTP/2 and HTTP/3.
    pub target: Target<'a>,
}

/// What the TLS layer knows of a handshake. For a resumed session, the certificate and policy
/// of the original handshake (CVE-2025-23048).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Handshake<'a> {
    /// The SNI as the client sent it, if it sent one.
    pub sni: Option<&'a [u8]>,
    /// The certificate presented.
    pub certificate: CertId,
    /// The TLS policy applied, if the TLS layer records it; else the policy the TLS layer
    /// applies to that SNI is assumed ([`Server::sni_policy`](crate::Server::sni_policy), SPEC §4).
    pub policy: Option<PolicyId>,
}

/// Facts a trusted gateway (PROXY protocol v2, or a proxy the operator trusts) passed along;
/// they replace the local connection's in rules 2, 3, 4 and 6 (RFC 9110 §7.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Gateway<'a> {
    /// The port the client connected to at the gateway: the only origin port.
    pub port: u16,
    /// The gateway's handshake with the client, if it terminated TLS.
    pub tls: Option<Handshake<'a>>,
}

/// What the decision needs of a connection, as the embedder knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnectionFacts<'a> {
    /// The listener the connection was accepted on.
    pub listener: ListenerId,
    /// The handshake, on a TLS listener.
    pub tls: Option<Handshake<'a>>,
    /// Facts from a trusted gateway, if the connection comes from one.
    pub gateway: Option<Gateway<'a>>,
}

/// The SNI of a handshake, canonicalized once per connection (SPEC §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sni {
    /// No SNI was sent.
    Absent,
    /// An IP literal, which RFC 6066 §3 forbids: treated as absent.
    Ip(Host),
    /// Bytes the §2 parser refuses (or a port): treated as absent, and named in reasons.
    Invalid(AuthorityError),
    /// A canonical DNS name.
    Name(DnsName),
}

impl Sni {
    /// Canonicalizes SNI bytes with the wire parser.
    #[must_use]
    pub fn parse(bytes: Option<&[u8]>) -> Sni {
        match bytes.map(Host::parse) {
            None => Sni::Absent,
            Some(Ok(Host::Dns(name))) => Sni::Name(name),
            Some(Ok(ip)) => Sni::Ip(ip),
            Some(Err(e)) => Sni::Invalid(e),
        }
    }

    /// The name, when there is a valid DNS SNI.
    #[must_use]
    pub fn name(&self) -> Option<&DnsName> {
        match self {
            Sni::Name(name) => Some(name),
            _ => None,
        }
    }
}

impl fmt::Display for Sni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sni::Absent => f.write_str("no SNI"),
            Sni::Ip(ip) => write!(f, "SNI {ip}, an IP literal, ignored"),
            Sni::Invalid(e) => write!(f, "invalid SNI ignored: {e}"),
            Sni::Name(name) => write!(f, "SNI {name}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TlsState {
    pub(crate) sni: Sni,
    pub(crate) certificate: u32,
    pub(crate) policy: Option<u32>,
    /// The virtual host the SNI names among those serving https on the connection's first
    /// origin port (port, virtual host), found once per connection: that is where almost every
    /// request on it goes.
    pub(crate) sni_vhost: Option<(u16, Option<u32>)>,
}

/// A connection's facts, checked against the server and canonicalized once (the SNI is parsed
/// here, not per request). Build it with [`Server::connection`](crate::Server::connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Connection {
    /// The build of the server that checked the facts: another build never reads them.
    pub(crate) build: Build,
    pub(crate) listener: u32,
    pub(crate) gateway_port: Option<u16>,
    pub(crate) tls: Option<TlsState>,
}

impl Connection {
    /// Whether requests on it arrived over TLS (the gateway's TLS, behind a trusted gateway).
    #[must_use]
    pub fn is_secure(&self) -> bool {
        self.tls.is_some()
    }

    /// The canonical SNI, on a TLS connection.
    #[must_use]
    pub fn sni(&self) -> Option<&Sni> {
        self.tls.as_ref().map(|t| &t.sni)
    }

    pub(crate) fn scheme(&self) -> Scheme {
        if self.is_secure() {
            Scheme::Https
        } else {
            Scheme::Http
        }
    }
}

/// Connection facts that do not fit the server they were given to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FactsError {
    /// The listener id is not one of this server's.
    UnknownListener,
    /// The certificate id is not one of this server's.
    UnknownCertificate,
    /// The policy id is not one of this server's.
    UnknownPolicy,
    /// A TLS listener without a handshake, or a cleartext one with a handshake.
    TlsMismatch,
}

impl fmt::Display for FactsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FactsError::UnknownListener => "listener id is not this server's",
            FactsError::UnknownCertificate => "certificate id is not this server's",
            FactsError::UnknownPolicy => "policy id is not this server's",
            FactsError::TlsMismatch => "handshake facts do not match the listener's transport",
        })
    }
}

impl std::error::Error for FactsError {}
