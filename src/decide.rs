//! The decision (SPEC §4-§5): connection and request facts in, a [`Verdict`] out.

use core::fmt;

use crate::authority::{
    AuthorityError, AuthorityView, Exact, HostView, MAX_AUTHORITY_LEN, Scratch, parse_view,
};
use crate::host::{DnsName, Host, MAX_NAME_LEN};
use crate::index::{NameIndex, same_name};
use crate::server::{Build, CertId, ListenerId, PolicyId, Scheme, Server, SniPolicy, UnknownHost};

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
    fn is_h1(self) -> bool {
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
    /// applies to that SNI is assumed ([`Server::sni_policy`], SPEC §4).
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
struct TlsState {
    sni: Sni,
    certificate: u32,
    policy: Option<u32>,
    /// The virtual host the SNI names among those serving https on the connection's first
    /// origin port (port, virtual host), found once per connection: that is where almost every
    /// request on it goes.
    sni_vhost: Option<(u16, Option<u32>)>,
}

/// A connection's facts, checked against the server and canonicalized once (the SNI is parsed
/// here, not per request). Build it with [`Server::connection`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Connection {
    /// The build of the server that checked the facts: another build never reads them.
    build: Build,
    listener: u32,
    gateway_port: Option<u16>,
    tls: Option<TlsState>,
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

    fn scheme(&self) -> Scheme {
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

/// What the server must do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict<'s, T> {
    /// Serve it with this virtual host's value.
    Serve(&'s T),
    /// Answer 421 Misdirected Request.
    Misdirected(Reason<'s>),
    /// Answer 400 (in HTTP/2 and HTTP/3 the request is malformed: the server may send the 400,
    /// then resets the stream).
    BadRequest(Reason<'s>),
    /// Answer 404 (knob `unknown_host = NotFound`).
    NotFound(Reason<'s>),
    /// CONNECT: a tunnel target, not an origin request; answer it as the server likes.
    NotOrigin(Reason<'s>),
}

impl<'s, T> Verdict<'s, T> {
    /// The reason, for every verdict but `Serve`.
    #[must_use]
    pub fn reason(&self) -> Option<&Reason<'s>> {
        match self {
            Verdict::Serve(_) => None,
            Verdict::Misdirected(r)
            | Verdict::BadRequest(r)
            | Verdict::NotFound(r)
            | Verdict::NotOrigin(r) => Some(r),
        }
    }

    /// The status code to answer with, or `None` for `Serve` and `NotOrigin`.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Verdict::Serve(_) | Verdict::NotOrigin(_) => None,
            Verdict::Misdirected(_) => Some(421),
            Verdict::BadRequest(_) => Some(400),
            Verdict::NotFound(_) => Some(404),
        }
    }
}

/// The verdict class a reason belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// 421.
    Misdirected,
    /// 400.
    BadRequest,
    /// 404.
    NotFound,
    /// Not an origin request.
    NotOrigin,
}

/// The rule of SPEC §5 that fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// 0: CONNECT is not an origin request.
    NotOrigin,
    /// 1: framing (400).
    Framing,
    /// 2: scheme (421).
    Scheme,
    /// 3: port (421).
    Port,
    /// 4: certificate coverage (421).
    Certificate,
    /// 5: virtual host (421 or 404).
    VirtualHost,
    /// 6: SNI policy (421).
    Sni,
    /// SPEC §4, identity across a reload (421): the connection was checked by another build of
    /// the server. Checked before rule 0; numbered 7 so that §5's rules keep their numbers.
    Connection,
}

impl Rule {
    /// The rule's number in SPEC §5.
    #[must_use]
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The rule's short name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Rule::NotOrigin => "not an origin request",
            Rule::Framing => "framing",
            Rule::Scheme => "scheme",
            Rule::Port => "port",
            Rule::Certificate => "certificate",
            Rule::VirtualHost => "virtual host",
            Rule::Sni => "SNI",
            Rule::Connection => "connection identity",
        }
    }
}

impl Cause {
    /// A fixed sentence for the client, naming no host, certificate, virtual host or policy:
    /// what a response body may say without echoing the request or revealing configuration.
    #[must_use]
    pub fn summary(&self) -> &'static str {
        match self {
            Cause::Connect => "CONNECT names a tunnel target",
            Cause::DuplicateHost => "more than one Host field line",
            Cause::DuplicateAuthority => "more than one :authority",
            Cause::MissingAuthority => "the request does not name its origin",
            Cause::MissingHost => "HTTP/1.1 request without a Host field",
            Cause::MissingScheme => "no :scheme",
            Cause::InvalidHost(_) => "the Host field is not a valid authority",
            Cause::InvalidAuthority(_) => ":authority is not a valid authority",
            Cause::InvalidTarget(_) => "the request-target's authority is not valid",
            Cause::AuthorityFormWithoutConnect => "authority-form target without CONNECT",
            Cause::HostMismatch => "Host disagrees with the request's authority",
            Cause::Http3HostMismatch => "Host differs from :authority",
            Cause::NoDefaultVhost => "HTTP/1.0 request without Host",
            Cause::HttpsOnCleartext => "https request on a cleartext connection",
            Cause::HttpOnTls => "http request on a TLS connection",
            Cause::UnsupportedScheme => "scheme not served here",
            Cause::PortNotServed => "this connection does not serve that port",
            Cause::NotCovered => "this connection's certificate does not cover the host",
            Cause::UnknownHost => "this server does not serve the host",
            Cause::SniMismatch => "the host is not the name this connection was opened for",
            Cause::SniVhostDiffers => "the host belongs to another site than this connection's",
            Cause::PolicyMismatch => {
                "the host needs a connection made under another TLS configuration"
            }
            Cause::ForeignConnection => "this connection predates the server's configuration",
            Cause::Retired => "this connection's configuration was replaced",
        }
    }
}

/// What exactly was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cause {
    /// CONNECT.
    Connect,
    /// More than one `Host` field line.
    DuplicateHost,
    /// More than one `:authority`.
    DuplicateAuthority,
    /// HTTP/1.0 in origin-form without `Host` (knob `http10_default_vhost` off), or neither
    /// `:authority` nor `Host` (HTTP/2, HTTP/3).
    MissingAuthority,
    /// An HTTP/1.1 request without `Host`, in any target form (RFC 9112 §3.2).
    MissingHost,
    /// No `:scheme` in an HTTP/2 or HTTP/3 request.
    MissingScheme,
    /// A `Host` value that does not parse.
    InvalidHost(AuthorityError),
    /// An `:authority` that does not parse.
    InvalidAuthority(AuthorityError),
    /// An absolute-form target whose authority does not parse.
    InvalidTarget(AuthorityError),
    /// An authority-form target on a method other than CONNECT.
    AuthorityFormWithoutConnect,
    /// `Host` names another authority than `:authority` or the absolute-form target.
    HostMismatch,
    /// HTTP/3 `:authority` and `Host` are not byte-identical (RFC 9114 §4.3.1).
    Http3HostMismatch,
    /// HTTP/1.0 without `Host` and the listener has no default virtual host.
    NoDefaultVhost,
    /// `https` on a cleartext connection.
    HttpsOnCleartext,
    /// `http` on a TLS connection, without `opportunistic_http`.
    HttpOnTls,
    /// A scheme other than `http` and `https`.
    UnsupportedScheme,
    /// The port is not one of the connection's origin ports.
    PortNotServed,
    /// The certificate presented does not cover the host.
    NotCovered,
    /// No virtual host serving this scheme and port claims the host.
    UnknownHost,
    /// `sni = Strict`: the host is not the SNI.
    SniMismatch,
    /// `sni = SameVhost`: the SNI selected another virtual host.
    SniVhostDiffers,
    /// `sni = Compatible`: the handshake's policy is not the virtual host's.
    PolicyMismatch,
    /// The connection was made on another build of the server (a reload): its facts mean
    /// nothing here.
    ForeignConnection,
    /// The connection's configuration was replaced by a reload longer ago than the drain
    /// grace (the tower layer with feature `reload`).
    Retired,
}

/// Why a request is not served: the rule, the cause, and the facts involved. Its `Display` is
/// one line an operator can act on; it holds canonical values only, never raw request bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reason<'s> {
    /// The verdict class.
    pub status: Status,
    /// The rule that fired.
    pub rule: Rule,
    /// What was wrong.
    pub cause: Cause,
    /// The listener.
    pub listener: &'s str,
    /// The request's scheme, when known.
    pub scheme: Option<Scheme>,
    /// The canonical host, when known.
    pub host: Option<Host>,
    /// The effective port, when known.
    pub port: Option<u16>,
    /// The canonical SNI, on TLS.
    pub sni: Option<&'s Sni>,
    /// The certificate presented, on TLS.
    pub certificate: Option<&'s str>,
    /// The TLS policy of the handshake, when known.
    pub handshake_policy: Option<&'s str>,
    /// The request's virtual host, when found.
    pub vhost: Option<&'s str>,
    /// Its TLS policy.
    pub vhost_policy: Option<&'s str>,
    /// The virtual host the SNI selected, when rule 6 looked.
    pub sni_vhost: Option<&'s str>,
}

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Status::Misdirected => f.write_str("421: ")?,
            Status::BadRequest => f.write_str("400: ")?,
            Status::NotFound => f.write_str("404: ")?,
            Status::NotOrigin => f.write_str("not an origin request: ")?,
        }
        let host = Maybe(self.host.as_ref());
        let port = Maybe(self.port.as_ref());
        let scheme = Maybe(self.scheme.as_ref());
        let vhost = Maybe(self.vhost);
        let sni = Maybe(self.sni.as_ref());
        match self.cause {
            Cause::Connect => f.write_str("CONNECT names a tunnel target, not this origin")?,
            Cause::DuplicateHost => f.write_str("more than one Host field line")?,
            Cause::DuplicateAuthority => f.write_str("more than one :authority")?,
            Cause::MissingAuthority => f.write_str("no Host or :authority names the origin")?,
            Cause::MissingHost => f.write_str("HTTP/1.1 request without a Host field")?,
            Cause::MissingScheme => f.write_str("no :scheme")?,
            Cause::InvalidHost(e) => write!(f, "invalid Host: {e}")?,
            Cause::InvalidAuthority(e) => write!(f, "invalid :authority: {e}")?,
            Cause::InvalidTarget(e) => write!(f, "invalid absolute-form target: {e}")?,
            Cause::AuthorityFormWithoutConnect => {
                f.write_str("authority-form target on a method other than CONNECT")?;
            }
            Cause::HostMismatch => f.write_str(
                "Host names another authority than the request's :authority or absolute-form target",
            )?,
            Cause::Http3HostMismatch => {
                f.write_str("HTTP/3 :authority and Host are not identical")?;
            }
            Cause::NoDefaultVhost => write!(
                f,
                "HTTP/1.0 request without Host and listener {:?} has no default virtual host",
                self.listener
            )?,
            Cause::HttpsOnCleartext => f.write_str("https request on a cleartext connection")?,
            Cause::HttpOnTls => f.write_str("http request on a TLS connection")?,
            Cause::UnsupportedScheme => f.write_str("scheme is neither http nor https")?,
            Cause::PortNotServed => write!(
                f,
                "port {port} of {host} is not an origin port of listener {:?}",
                self.listener
            )?,
            Cause::NotCovered => write!(
                f,
                "host {host} is not covered by certificate {:?} presented on this connection",
                self.certificate.unwrap_or("?")
            )?,
            Cause::UnknownHost => {
                write!(f, "no virtual host serves {host} on {scheme} port {port}")?;
            }
            Cause::SniMismatch if self.host.is_none() => f.write_str(
                "a request without a host cannot be compared with the SNI (sni policy Strict)",
            )?,
            Cause::SniMismatch => write!(f, "host {host} is not the SNI (sni policy Strict)")?,
            Cause::SniVhostDiffers => write!(
                f,
                "host {host} belongs to virtual host {vhost} but the handshake selected {}",
                Maybe(self.sni_vhost)
            )?,
            Cause::PolicyMismatch => write!(
                f,
                "virtual host {vhost} needs TLS policy {} but this connection's handshake was made under {}",
                Maybe(self.vhost_policy),
                Maybe(self.handshake_policy)
            )?,
            Cause::ForeignConnection => f.write_str(
                "the connection was made by another build of the server configuration; \
                 the client must retry on a new connection",
            )?,
            Cause::Retired => f.write_str(
                "the connection's configuration was replaced longer ago than the drain grace; \
                 the client must retry on a new connection",
            )?,
        }
        if self.sni.is_some() && self.rule >= Rule::Certificate {
            write!(f, " ({sni})")?;
        }
        Ok(())
    }
}

impl Reason<'_> {
    /// The reason for a request on a connection whose generation was retired past its grace.
    #[must_use]
    pub fn retired() -> Reason<'static> {
        Reason::bare(Status::Misdirected, Rule::Connection, Cause::Retired)
    }

    /// A reason that names nothing of the connection: for a connection this server cannot read.
    fn bare(status: Status, rule: Rule, cause: Cause) -> Reason<'static> {
        Reason {
            status,
            rule,
            cause,
            listener: "?",
            scheme: None,
            host: None,
            port: None,
            sni: None,
            certificate: None,
            handshake_policy: None,
            vhost: None,
            vhost_policy: None,
            sni_vhost: None,
        }
    }
}

/// Writes a value or `none`, so a reason's line is complete whatever is known.
struct Maybe<'a, D: ?Sized>(Option<&'a D>);

impl<D: fmt::Display + ?Sized> fmt::Display for Maybe<'_, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(value) => write!(f, "{value}"),
            None => f.write_str("none"),
        }
    }
}

/// Where rule 1 leaves a request (its authority, if any, is in the caller's slot).
enum Framed {
    /// An origin request with its scheme (`None`: neither http nor https).
    Origin(Option<Scheme>),
    /// HTTP/1.0 without `Host`, served from the listener's default (knob).
    Http10Default,
}

impl<T> Server<T> {
    /// Checks connection facts against this server and canonicalizes the SNI, once per
    /// connection.
    ///
    /// # Errors
    /// A [`FactsError`] when an id is not this server's or the transport does not match.
    pub fn connection(&self, facts: &ConnectionFacts<'_>) -> Result<Connection, FactsError> {
        let listener = facts.listener.0;
        let local = self
            .own(listener, facts.listener.1)
            .and_then(|index| self.listeners.get(index))
            .ok_or(FactsError::UnknownListener)?;
        let (handshake, gateway_port) = match &facts.gateway {
            Some(gateway) => (gateway.tls.as_ref(), Some(gateway.port)),
            None => {
                if local.tls != facts.tls.is_some() {
                    return Err(FactsError::TlsMismatch);
                }
                (facts.tls.as_ref(), None)
            }
        };
        let tls = match handshake {
            None => None,
            Some(h) => {
                if self.own(h.certificate.0, h.certificate.1).is_none() {
                    return Err(FactsError::UnknownCertificate);
                }
                if h.policy.is_some_and(|p| self.own(p.0, p.1).is_none()) {
                    return Err(FactsError::UnknownPolicy);
                }
                let sni = Sni::parse(h.sni);
                let port = match gateway_port {
                    Some(port) => port,
                    None => self.config.listeners[listener as usize].effective_origin_ports()[0],
                };
                let sni_vhost = sni.name().map(|name| {
                    let found = self
                        .route(Scheme::Https, port)
                        .and_then(|r| r.lookup_name(name));
                    (port, found.map(|hit| *hit.value))
                });
                // SPEC §4: a handshake whose policy the TLS layer did not record gets the one
                // the TLS layer applies, that of the virtual host its SNI selects on this
                // first origin port ([`Server::sni_policy`]), whatever port a request names.
                // Looking it up on the request's port instead would let a request pick the
                // policy it is checked against (an mTLS site on another port, same name).
                let assumed = sni_vhost
                    .and_then(|(_, found)| found)
                    .or(self.listeners[listener as usize].default_tls_vhost)
                    .map(|v| self.vhost_policy[v as usize]);
                Some(TlsState {
                    sni,
                    certificate: h.certificate.0,
                    policy: h.policy.map(|p| p.0).or(assumed),
                    sni_vhost,
                })
            }
        };
        Ok(Connection {
            build: self.build,
            listener,
            gateway_port,
            tls,
        })
    }

    /// Decides a request on a connection under SPEC §5: the first rule that fires wins.
    /// Allocation-free for ASCII authorities.
    ///
    /// ```
    /// use misdirect::*;
    /// let mut config = Config::default();
    /// config.policies = vec!["public".into()];
    /// config.certificates = vec![CertificateConfig::new("edge", &["*.example.com"])];
    /// config.vhosts = vec![
    ///     VhostConfig::new("a", &["a.example.com"], "public", "site a"),
    ///     VhostConfig::new("b", &["b.example.com"], "public", "site b"),
    /// ];
    /// config.listeners = vec![ListenerConfig::new("tls", true, 443)];
    /// let server = Server::build(config).unwrap();
    ///
    /// let conn = server.connection(&ConnectionFacts {
    ///     listener: server.listener_id("tls").unwrap(),
    ///     tls: Some(Handshake {
    ///         sni: Some(b"a.example.com"),
    ///         certificate: server.certificate_id("edge").unwrap(),
    ///         policy: server.policy_id("public"),
    ///     }),
    ///     gateway: None,
    /// }).unwrap();
    /// // An HTTP/2 request for b, coalesced onto a's connection: same certificate, same policy.
    /// let request = Request {
    ///     version: Version::Http2,
    ///     method: Method::Other,
    ///     scheme: Some(b"https"),
    ///     authorities: &[b"B.example.com"],
    ///     hosts: &[],
    ///     target: Target::Origin,
    /// };
    /// assert_eq!(server.decide(&conn, &request), Verdict::Serve(&"site b"));
    ///
    /// let elsewhere = Request { authorities: &[b"c.example.org"], ..request };
    /// let verdict = server.decide(&conn, &elsewhere);
    /// assert_eq!(verdict.status(), Some(421));
    /// assert_eq!(verdict.reason().unwrap().rule, Rule::Certificate);
    /// ```
    pub fn decide<'s>(
        &'s self,
        connection: &'s Connection,
        request: &Request<'_>,
    ) -> Verdict<'s, T> {
        let mut scratch = [Scratch::new(), Scratch::new()];
        let mut authority = None;
        let mut trail = Trail::default();
        match self.walk(
            connection,
            request,
            &mut authority,
            &mut scratch,
            &mut trail,
        ) {
            Ok(vhost) => Verdict::Serve(&self.config.vhosts[vhost as usize].value),
            Err(fail) => self.refuse(connection, authority.as_ref(), &trail, fail),
        }
    }

    /// The verdict for a rule that fired, its reason written straight into it.
    #[cold]
    #[inline(never)]
    fn refuse<'s>(
        &'s self,
        conn: &'s Connection,
        authority: Option<&AuthorityView<'_>>,
        trail: &Trail,
        fail: Fail,
    ) -> Verdict<'s, T> {
        let status = fail.0;
        // The host is written last, into the verdict: a name built with the reason and moved
        // into the verdict with it was copied twice more (a fifth of a refusal's time).
        let reason = self.explain(conn, None, trail, fail);
        let mut verdict = match status {
            Status::Misdirected => Verdict::Misdirected(reason),
            Status::BadRequest => Verdict::BadRequest(reason),
            Status::NotFound => Verdict::NotFound(reason),
            Status::NotOrigin => Verdict::NotOrigin(reason),
        };
        if let (
            Some(authority),
            Verdict::Misdirected(reason)
            | Verdict::BadRequest(reason)
            | Verdict::NotFound(reason)
            | Verdict::NotOrigin(reason),
        ) = (authority, &mut verdict)
        {
            match authority.host {
                HostView::Name(name) => DnsName::write_canonical(&mut reason.host, name),
                other => reason.host = Some(other.to_host()),
            }
        }
        verdict
    }

    /// Like [`Server::decide`], but says which virtual host (by position in
    /// [`Config::vhosts`](crate::Config)) would serve the request.
    ///
    /// # Errors
    /// The [`Reason`] for every verdict but `Serve`.
    // The reason holds canonical hosts inline; boxing it would allocate on the reject path,
    // which must cost no more than serving. It is only written when a rule fires.
    #[allow(clippy::result_large_err)]
    pub fn choose<'s>(
        &'s self,
        conn: &'s Connection,
        request: &Request<'_>,
    ) -> Result<u32, Reason<'s>> {
        // The walk records what it learns in a small trail; the reason is only written out when
        // a rule fires, so serving pays for none of it.
        let mut scratch = [Scratch::new(), Scratch::new()];
        let mut authority = None;
        let mut trail = Trail::default();
        match self.walk(conn, request, &mut authority, &mut scratch, &mut trail) {
            Ok(vhost) => Ok(vhost),
            Err(fail) => Err(self.explain(conn, authority.as_ref(), &trail, fail)),
        }
    }

    fn walk<'x>(
        &'x self,
        conn: &Connection,
        request: &Request<'x>,
        authority_slot: &mut Option<AuthorityView<'x>>,
        scratch: &'x mut [Scratch; 2],
        trail: &mut Trail,
    ) -> Result<u32, Fail> {
        let misdirected = |rule, cause| Fail(Status::Misdirected, rule, cause);
        // SPEC §4, identity across a reload: facts checked by another build name its
        // listeners, certificates and policies by its positions. Never read them; 421 makes the
        // client retry on a new connection, which binds to this build.
        if conn.build != self.build {
            return Err(misdirected(Rule::Connection, Cause::ForeignConnection));
        }
        // Rule 0: CONNECT names a tunnel target (RFC 9110 §9.3.6), never 421.
        // HTTP/1.x has no `:protocol` (RFC 8441 §4 and RFC 9220 §3 define extended CONNECT
        // for HTTP/2 and HTTP/3 only), so every HTTP/1.x CONNECT is a tunnel.
        let tunnel = request.method == Method::Connect
            || (request.method == Method::ExtendedConnect && request.version.is_h1());
        if tunnel {
            return Err(Fail(Status::NotOrigin, Rule::NotOrigin, Cause::Connect));
        }
        // Rule 1: framing.
        let framed = self
            .frame(conn, request, authority_slot, scratch)
            .map_err(|cause| Fail(Status::BadRequest, Rule::Framing, cause))?;
        let scheme = match framed {
            Framed::Http10Default => return self.http10_default(conn, trail),
            Framed::Origin(scheme) => {
                trail.scheme = scheme;
                scheme
            }
        };
        // Rule 2: scheme (RFC 9110 §7.4, §4.2.2, §15.5.20).
        let Some(scheme) = scheme else {
            return Err(misdirected(Rule::Scheme, Cause::UnsupportedScheme));
        };
        match scheme {
            Scheme::Https if !conn.is_secure() => {
                return Err(misdirected(Rule::Scheme, Cause::HttpsOnCleartext));
            }
            Scheme::Http if conn.is_secure() && !self.config.knobs.opportunistic_http => {
                return Err(misdirected(Rule::Scheme, Cause::HttpOnTls));
            }
            _ => {}
        }
        let Some(authority) = &*authority_slot else {
            // Framing lets an authority-less request through only for other schemes.
            return Err(misdirected(Rule::Scheme, Cause::UnsupportedScheme));
        };
        let host = &authority.host;
        // Rule 3: port (RFC 9110 §4.3.1, §7.4).
        let port = authority.effective_port(scheme.default_port());
        trail.port = Some(port);
        // `contains` calls out to a generic slice search (21 instructions under callgrind for a
        // one-port listener); the loop inlines.
        #[allow(clippy::manual_contains)]
        if !self.origin_ports(conn).iter().any(|&p| p == port) {
            return Err(misdirected(Rule::Port, Cause::PortNotServed));
        }
        let tls = conn
            .tls
            .as_ref()
            .filter(|_| self.config.knobs.sni != SniPolicy::Insecure);
        // Rule 5's lookup comes first because it also answers rule 4 for names whose coverage
        // was settled at build time; the verdict is the same as checking rule 4 first.
        let entry = self.route_entry(scheme, port);
        let route = entry.map(|r| &r.index);
        let hit = route.and_then(|index| match authority.exact {
            Exact::Found(position) => index.hit_at(position),
            // The fast path probed these very bytes: only the wildcard is left to try.
            Exact::Absent => index.lookup_wildcard(host),
            Exact::Unknown => index.lookup_view(host),
        });
        // Rule 4: certificate coverage (RFC 9110 §7.4, RFC 9525 §6.3).
        if let Some(tls) = tls {
            let settled = match (entry, hit) {
                (Some(entry), Some(hit)) => entry
                    .covered
                    .get(hit.position)
                    .and_then(|bits| bits.checked_shr(tls.certificate))
                    .is_some_and(|bits| bits & 1 == 1),
                _ => false,
            };
            if !settled
                && self.certificates[tls.certificate as usize]
                    .lookup_view(host)
                    .is_none()
            {
                return Err(misdirected(Rule::Certificate, Cause::NotCovered));
            }
        }
        // Rule 5: virtual host, exact before wildcard.
        let found = hit.map(|hit| *hit.value);
        // The listener's fallback (its own, else the knob's) when it serves this scheme and
        // port; else the knob.
        let fallback = self.listeners[conn.listener as usize]
            .fallback
            .filter(|&f| self.config.vhosts[f as usize].ports(scheme).contains(&port));
        let vhost = match (found, fallback, &self.config.knobs.unknown_host) {
            (Some(vhost), _, _) | (None, Some(vhost), _) => vhost,
            (None, None, UnknownHost::NotFound) => {
                return Err(Fail(
                    Status::NotFound,
                    Rule::VirtualHost,
                    Cause::UnknownHost,
                ));
            }
            (None, None, _) => return Err(misdirected(Rule::VirtualHost, Cause::UnknownHost)),
        };
        trail.vhost = Some(vhost);
        // Rule 6: SNI policy.
        let Some(tls) = tls else { return Ok(vhost) };
        let sni_vhost = match tls.sni_vhost {
            Some((cached, found)) if cached == port && scheme == Scheme::Https => found,
            _ => tls
                .sni
                .name()
                .and_then(|name| route?.lookup_name(name))
                .map(|hit| *hit.value),
        }
        .or(self.listeners[conn.listener as usize].default_tls_vhost);
        self.check_sni(tls, Some(host), vhost, sni_vhost, trail)
    }

    /// Rule 6 for a chosen virtual host.
    fn check_sni(
        &self,
        tls: &TlsState,
        host: Option<&HostView<'_>>,
        vhost: u32,
        sni_vhost: Option<u32>,
        trail: &mut Trail,
    ) -> Result<u32, Fail> {
        trail.sni_vhost = sni_vhost;
        // The handshake's policy, recorded or assumed once per connection (SPEC §4).
        let handshake_policy = tls.policy;
        trail.handshake_policy = handshake_policy;
        let cause = match self.config.knobs.sni {
            SniPolicy::Strict => {
                let passes = match host {
                    // An IP host passes only when there is no (DNS) SNI to compare.
                    Some(HostView::Ipv4(_) | HostView::Ipv6(_)) => tls.sni.name().is_none(),
                    Some(HostView::Name(name)) => {
                        tls.sni.name().map(DnsName::as_bytes) == Some(*name)
                    }
                    None => false,
                };
                (!passes).then_some(Cause::SniMismatch)
            }
            SniPolicy::SameVhost => (sni_vhost != Some(vhost)).then_some(Cause::SniVhostDiffers),
            SniPolicy::Compatible => (handshake_policy != Some(self.vhost_policy[vhost as usize]))
                .then_some(Cause::PolicyMismatch),
            SniPolicy::CertCovered | SniPolicy::Insecure => None,
        };
        match cause {
            None => Ok(vhost),
            Some(cause) => Err(Fail(Status::Misdirected, Rule::Sni, cause)),
        }
    }

    /// HTTP/1.0 without `Host`, knob `http10_default_vhost`: only rules 2 and 6 apply.
    fn http10_default(&self, conn: &Connection, trail: &mut Trail) -> Result<u32, Fail> {
        let scheme = conn.scheme();
        trail.scheme = Some(scheme);
        // Rule 2 holds by construction: the scheme is the connection's own.
        let Some(vhost) = self.listeners[conn.listener as usize].default_vhost else {
            return Err(Fail(
                Status::BadRequest,
                Rule::Framing,
                Cause::NoDefaultVhost,
            ));
        };
        trail.vhost = Some(vhost);
        let Some(tls) = conn
            .tls
            .as_ref()
            .filter(|_| self.config.knobs.sni != SniPolicy::Insecure)
        else {
            return Ok(vhost);
        };
        // Candidates: the virtual hosts serving the scheme on any origin port, in port order.
        let sni_vhost = tls
            .sni
            .name()
            .and_then(|name| {
                self.origin_ports(conn).iter().find_map(|&port| {
                    self.route(scheme, port)?
                        .lookup_name(name)
                        .map(|hit| *hit.value)
                })
            })
            .or(self.listeners[conn.listener as usize].default_tls_vhost);
        self.check_sni(tls, None, vhost, sni_vhost, trail)
    }

    /// Rule 1 (RFC 9110 §7.2, RFC 9112 §3.2, RFC 9113 §8.3.1, RFC 9114 §4.3.1).
    /// Rule 1. The target authority is written to `slot` (no copies of it through return
    /// values); the scheme, or the HTTP/1.0 default path, is returned.
    fn frame<'x>(
        &'x self,
        conn: &Connection,
        request: &Request<'x>,
        slot: &mut Option<AuthorityView<'x>>,
        [first, second]: &'x mut [Scratch; 2],
    ) -> Result<Framed, Cause> {
        let unicode = self.config.knobs.wire_unicode;
        // The request's authority goes to `first`'s room, a `Host` to compare with it to
        // `second`'s; a `Host` that is the authority also uses `second`.
        let strict = self.config.knobs.strict_host_consistency;
        if request.hosts.len() > 1 {
            return Err(Cause::DuplicateHost);
        }
        if request.version.is_h1() {
            return match request.target {
                Target::Absolute { scheme, authority } => {
                    // RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status
                    // code to any HTTP/1.1 request message that lacks a Host header field",
                    // absolute-form included (§3.2.2 only says which of the two wins).
                    if request.version == Version::Http11 && request.hosts.is_empty() {
                        return Err(Cause::MissingHost);
                    }
                    let scheme = Scheme::parse(scheme);
                    let target = slot.insert(
                        self.parse_field(authority, scheme, first)
                            .map_err(Cause::InvalidTarget)?,
                    );
                    if let Some(bytes) = request.hosts.first() {
                        let host =
                            parse_view(bytes, unicode, second).map_err(Cause::InvalidHost)?;
                        // RFC 9112 §3.2.2 says ignore Host; by policy a differing one is the
                        // "Host of Troubles" split (SPEC §5 rule 1).
                        if strict && !same_authority(&host, target, scheme) {
                            return Err(Cause::HostMismatch);
                        }
                    }
                    Ok(Framed::Origin(scheme))
                }
                Target::Authority(_) => {
                    // A Host that does not parse is reported as such first.
                    if let Some(bytes) = request.hosts.first() {
                        parse_view(bytes, unicode, second).map_err(Cause::InvalidHost)?;
                    }
                    Err(Cause::AuthorityFormWithoutConnect)
                }
                Target::Origin | Target::Asterisk => match request.hosts.first() {
                    Some(bytes) => {
                        *slot = Some(
                            self.parse_field(bytes, Some(conn.scheme()), second)
                                .map_err(Cause::InvalidHost)?,
                        );
                        Ok(Framed::Origin(Some(conn.scheme())))
                    }
                    None if request.version == Version::Http10
                        && self.config.knobs.http10_default_vhost =>
                    {
                        Ok(Framed::Http10Default)
                    }
                    None if request.version == Version::Http11 => Err(Cause::MissingHost),
                    None => Err(Cause::MissingAuthority),
                },
            };
        }
        // HTTP/2 and HTTP/3.
        let Some(raw_scheme) = request.scheme else {
            return Err(Cause::MissingScheme);
        };
        let scheme = Scheme::parse(raw_scheme);
        if request.authorities.len() > 1 {
            return Err(Cause::DuplicateAuthority);
        }
        if let Some(bytes) = request.authorities.first() {
            *slot = Some(
                self.parse_field(bytes, scheme, first)
                    .map_err(Cause::InvalidAuthority)?,
            );
        }
        // RFC 9113 §8.3.1: with :authority present, HTTP/2 "MUST NOT use" Host; it is checked
        // only under strict_host_consistency. HTTP/3 always checks it (RFC 9114 §4.3.1).
        let host_counts = slot.is_none() || request.version == Version::Http3 || strict;
        if let Some(bytes) = request.hosts.first().filter(|_| host_counts) {
            let host = parse_view(bytes, unicode, second).map_err(Cause::InvalidHost)?;
            match slot {
                None => *slot = Some(host),
                Some(_) if request.version == Version::Http3 => {
                    if request.authorities.first() != request.hosts.first() {
                        return Err(Cause::Http3HostMismatch);
                    }
                }
                Some(authority) => {
                    if !same_authority(&host, authority, scheme) {
                        return Err(Cause::HostMismatch);
                    }
                }
            }
        }
        if slot.is_none() && scheme.is_some() {
            return Err(Cause::MissingAuthority);
        }
        Ok(Framed::Origin(scheme))
    }

    /// Parses the request's authority: first the fast path, then SPEC §2 in full.
    ///
    /// The fast path: when the host's bytes, up to ASCII case and one trailing dot, are an exact
    /// name some virtual host claims on the (scheme, port) the request names, the host is
    /// that name: valid (it passed the same checks when the server was built) and canonical
    /// (the parse of such bytes lowers the case and drops the dot, which gives the name). So
    /// the scan, the copy and the A-label check are skipped, and the lookup is already done.
    /// Any other input takes the full parse, errors included.
    #[inline(always)]
    fn parse_field<'x>(
        &'x self,
        bytes: &'x [u8],
        scheme: Option<Scheme>,
        scratch: &'x mut Scratch,
    ) -> Result<AuthorityView<'x>, AuthorityError> {
        let probed = match scheme.map(|scheme| self.exact_view(bytes, scheme)) {
            Some(Ok(view)) => return Ok(view),
            Some(Err(probed)) => probed,
            None => None,
        };
        let mut view = parse_view(bytes, self.config.knobs.wire_unicode, scratch)?;
        if let (Some(probed), HostView::Name(name)) = (probed, view.host) {
            if same_name(name, probed) {
                view.exact = Exact::Absent;
            }
        }
        Ok(view)
    }

    /// The fast path: `Ok` with the view when it applies, else `Err` with the bytes it probed
    /// and found absent, if it got as far as probing.
    #[inline(always)]
    fn exact_view<'x>(
        &'x self,
        bytes: &'x [u8],
        scheme: Scheme,
    ) -> Result<AuthorityView<'x>, Option<&'x [u8]>> {
        if bytes.len() > MAX_AUTHORITY_LEN {
            return Err(None);
        }
        let (mut name, port) = split_port(bytes).ok_or(None)?;
        // CVE-2022-23632: one trailing dot names the same host.
        if let [head @ .., b'.'] = name {
            if !head.is_empty() {
                name = head;
            }
        }
        let route = self
            .route(scheme, port.unwrap_or(scheme.default_port()))
            .ok_or(None)?;
        // As sent (what clients send: lowercase), else lowercased if it has capitals.
        let found = match route.lookup_exact(name) {
            // The bytes as sent are the pattern's own: they are the canonical name.
            Some(hit) => Some((hit.position, name)),
            // Every way out of the lowered probe that did not really probe the lowered bytes
            // is `Err(None)`: "probed and absent" would let the full path skip the exact
            // lookup, and a wildcard would then win over an exact name written in capitals
            // (GHSA-9cr8-q42q-g8m7's mixed-case bypass; SPEC §5 rule 5).
            None if has_upper(name) => match lookup_lowered(route, name) {
                Lowered::Found(position) => Some((position, route.key(position).ok_or(None)?)),
                Lowered::Absent => None,
                Lowered::NotProbed => return Err(None),
            },
            None => None,
        };
        match found {
            Some((position, canonical)) => Ok(AuthorityView {
                host: HostView::Name(canonical),
                port,
                exact: Exact::Found(position),
            }),
            None => Err(Some(name)),
        }
    }

    fn origin_ports<'c>(&'c self, conn: &'c Connection) -> &'c [u16] {
        match &conn.gateway_port {
            Some(port) => core::slice::from_ref(port),
            None => self.config.listeners[conn.listener as usize].effective_origin_ports(),
        }
    }

    /// Writes out the reason for a rule that fired: cold, off the serving path.
    #[inline(always)]
    fn explain<'s>(
        &'s self,
        conn: &'s Connection,
        authority: Option<&AuthorityView<'_>>,
        trail: &Trail,
        Fail(status, rule, cause): Fail,
    ) -> Reason<'s> {
        if conn.build != self.build {
            // Nothing of another build's connection can be named here.
            return Reason::bare(status, rule, cause);
        }
        let policy = |p: u32| self.config.policies[p as usize].as_str();
        let vhost_name = |v: u32| self.config.vhosts[v as usize].name.as_str();
        let tls = conn.tls.as_ref();
        Reason {
            status,
            rule,
            cause,
            listener: self.config.listeners[conn.listener as usize].name.as_str(),
            scheme: trail.scheme,
            host: authority.map(|a| a.host.to_host()),
            port: trail.port,
            sni: tls.map(|t| &t.sni),
            certificate: tls.map(|t| self.config.certificates[t.certificate as usize].id.as_str()),
            handshake_policy: trail
                .handshake_policy
                .or_else(|| tls.and_then(|t| t.policy))
                .map(policy),
            vhost: trail.vhost.map(vhost_name),
            vhost_policy: trail.vhost.map(|v| policy(self.vhost_policy[v as usize])),
            sni_vhost: trail.sni_vhost.map(vhost_name),
        }
    }

    /// The origins (`https://host[:port]`) of every exact name that would be served on this
    /// connection, for an RFC 8336 ORIGIN frame. Empty on cleartext connections (ORIGIN is for
    /// TLS). Every listed origin gets `Serve`, because each is checked with [`Server::decide`].
    #[must_use]
    pub fn origins(&self, conn: &Connection) -> Vec<String> {
        let mut origins = Vec::new();
        if !conn.is_secure() || conn.build != self.build {
            return origins;
        }
        for &port in self.origin_ports(conn) {
            let Some(index) = self.route(Scheme::Https, port) else {
                continue;
            };
            for (_, name) in index.exact_names() {
                let authority = format!("{name}:{port}");
                let request = Request {
                    version: Version::Http2,
                    method: Method::Other,
                    scheme: Some(b"https"),
                    authorities: &[authority.as_bytes()],
                    hosts: &[],
                    target: Target::Origin,
                };
                if matches!(self.decide(conn, &request), Verdict::Serve(_)) {
                    origins.push(if port == 443 {
                        format!("https://{name}")
                    } else {
                        format!("https://{name}:{port}")
                    });
                }
            }
        }
        origins
    }
}

/// What the fast path's second probe, on the lowercased name, found.
enum Lowered {
    /// The lowercased name is the exact name at this position.
    Found(usize),
    /// The lowercased name was looked up and is not an exact name.
    Absent,
    /// The name was not looked up (longer than any valid name): the full path decides.
    NotProbed,
}

/// The fast path's second probe, for a name with capitals: lowercased on the stack. The buffer
/// holds the longest valid name (RFC 1035 §2.3.4, 253 octets without the trailing dot), so
/// every name that could be configured is probed whatever its case.
#[cold]
#[inline(never)]
fn lookup_lowered(route: &NameIndex<u32>, name: &[u8]) -> Lowered {
    let mut lower = [0u8; MAX_NAME_LEN];
    let Some(lower) = lower.get_mut(..name.len()) else {
        return Lowered::NotProbed;
    };
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    match route.lookup_exact(lower) {
        Some(hit) => Lowered::Found(hit.position),
        None => Lowered::Absent,
    }
}

/// Whether `bytes` hold an ASCII capital, eight bytes at a time: with the top bit of each byte
/// cleared (no carries between bytes), adding 0x3f sets it from `A` up and adding 0x25 from
/// `[` up; bytes that had the top bit set are left out.
#[inline]
fn has_upper(bytes: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let upper = |w: u64| {
        let h = w & !HIGH;
        (h.wrapping_add(0x3f3f_3f3f_3f3f_3f3f) & !h.wrapping_add(0x2525_2525_2525_2525) & !w & HIGH)
            != 0
    };
    let mut words = bytes.chunks_exact(8);
    let found = words.by_ref().any(|chunk| {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        upper(u64::from_le_bytes(w))
    });
    // The tail, a byte at a time: a variable-length copy would be a call to `memcpy`.
    found || words.remainder().iter().any(u8::is_ascii_uppercase)
}

/// The fast path's split of `host:port`, from the end: a port is at most five digits, so the
/// colon is found within six bytes. Anything else is returned whole as the "name" (a name with
/// a colon matches no pattern, so such input ends on the full parse, which finds the fault).
/// `None` for port 0 or past 65535, which the full parse refuses.
#[inline]
fn split_port(bytes: &[u8]) -> Option<(&[u8], Option<u16>)> {
    let mut port = 0u32;
    let mut scale = 1u32;
    let mut i = bytes.len();
    while i > 0 && scale <= 10_000 {
        let digit = bytes[i - 1].wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        port += u32::from(digit) * scale;
        scale *= 10;
        i -= 1;
    }
    match bytes[..i].split_last() {
        Some((b':', name)) if i == bytes.len() => Some((name, None)),
        Some((b':', name)) => match u16::try_from(port) {
            Ok(0) | Err(_) => None,
            Ok(port) => Some((name, Some(port))),
        },
        _ => Some((bytes, None)),
    }
}

/// What the walk has learned so far, for the reason if a rule fires.
#[derive(Default)]
struct Trail {
    scheme: Option<Scheme>,
    port: Option<u16>,
    vhost: Option<u32>,
    sni_vhost: Option<u32>,
    handshake_policy: Option<u32>,
}

/// A rule that fired: the verdict class, the rule, the cause.
struct Fail(Status, Rule, Cause);

/// Same canonical authority: same host and same effective port (explicit ports when the scheme
/// has no default).
fn same_authority(a: &AuthorityView<'_>, b: &AuthorityView<'_>, scheme: Option<Scheme>) -> bool {
    let default = scheme.map(Scheme::default_port);
    a.host == b.host && a.port.or(default) == b.port.or(default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{CertificateConfig, Config, ListenerConfig, VhostConfig};

    /// An exact name of `len` octets under `example.com`, beside `*.example.com`.
    fn fast_path_server(len: usize) -> (Server<&'static str>, String) {
        let mut long = "l".repeat(len - ".example.com".len());
        // Labels of at most 63 octets.
        for at in (63..long.len()).step_by(64) {
            long.replace_range(at..=at, ".");
        }
        let long = format!("{long}.example.com");
        assert_eq!(long.len(), len);
        let server = Server::build(Config {
            policies: vec!["public".into(), "mtls".into()],
            certificates: vec![CertificateConfig::new("edge", &["*.example.com", &long])],
            vhosts: vec![
                VhostConfig::new("www", &["*.example.com"], "public", "www"),
                VhostConfig::new("exact", &[long.as_str()], "mtls", "exact"),
            ],
            listeners: vec![ListenerConfig::new("tls", true, 443)],
            ..Config::default()
        })
        .unwrap();
        (server, long)
    }

    /// What the fast path answered: served (with the exact position), probed and absent, or
    /// gave up without probing.
    #[derive(Debug, PartialEq)]
    enum Fast {
        Hit,
        Absent,
        GaveUp,
    }

    fn fast(server: &Server<&'static str>, bytes: &[u8]) -> Fast {
        match server.exact_view(bytes, Scheme::Https) {
            Ok(view) => {
                assert!(matches!(view.exact, Exact::Found(_)));
                Fast::Hit
            }
            Err(Some(_)) => Fast::Absent,
            Err(None) => Fast::GaveUp,
        }
    }

    /// Every way out of the fast path, each with the full decision it leads to: the exact name
    /// must win over the wildcard on every path (the hostile review's defect 1 was a way out
    /// that claimed to have probed when it had not).
    #[test]
    fn every_way_out_of_the_fast_path_ends_on_the_right_verdict() {
        for len in [20, 64, 65, 72, 200, 253] {
            let (server, long) = fast_path_server(len);
            let upper = long.to_ascii_uppercase();
            let cases: Vec<(String, Fast, Option<&str>)> = vec![
                // As sent: one probe hits.
                (long.clone(), Fast::Hit, Some("exact")),
                (format!("{long}."), Fast::Hit, Some("exact")),
                (format!("{long}:443"), Fast::Hit, Some("exact")),
                (format!("{long}.:0443"), Fast::Hit, Some("exact")),
                // Capitals: the lowercased probe hits, at every length up to 253.
                (upper.clone(), Fast::Hit, Some("exact")),
                (format!("{upper}.:443"), Fast::Hit, Some("exact")),
                // Probed and absent: only the wildcard is left, and it is right.
                ("www.example.com".into(), Fast::Absent, Some("www")),
                ("WWW.example.com".into(), Fast::Absent, Some("www")),
                // Gave up: the full path decides everything.
                (format!("{long}:0"), Fast::GaveUp, None),
                (format!("{long}:65536"), Fast::GaveUp, None),
                (format!("{long}:8443"), Fast::GaveUp, None),
                ("x".repeat(MAX_AUTHORITY_LEN + 1), Fast::GaveUp, None),
                (format!("A{}", "a".repeat(MAX_NAME_LEN)), Fast::GaveUp, None),
            ];
            let facts = ConnectionFacts {
                listener: server.listener_id("tls").unwrap(),
                tls: Some(Handshake {
                    sni: Some(long.as_bytes()),
                    certificate: server.certificate_id("edge").unwrap(),
                    policy: server.policy_id("mtls"),
                }),
                gateway: None,
            };
            let conn = server.connection(&facts).unwrap();
            for (authority, way, served) in cases {
                assert_eq!(fast(&server, authority.as_bytes()), way, "{authority}");
                let authorities = [authority.as_bytes()];
                let request = Request {
                    version: Version::Http2,
                    method: Method::Other,
                    scheme: Some(b"https"),
                    authorities: &authorities,
                    hosts: &[],
                    target: Target::Origin,
                };
                let verdict = server.decide(&conn, &request);
                match served {
                    // The wildcard site needs `public`: this mTLS connection gets 421 there.
                    Some("www") => assert_eq!(
                        verdict.reason().map(|r| r.rule),
                        Some(Rule::Sni),
                        "{authority}"
                    ),
                    Some(value) => assert_eq!(verdict, Verdict::Serve(&value), "{authority}"),
                    None => assert!(
                        matches!(verdict, Verdict::BadRequest(_) | Verdict::Misdirected(_)),
                        "{authority}: {verdict:?}"
                    ),
                }
            }
        }
    }

    #[test]
    fn the_lowered_probe_holds_every_valid_name_and_says_when_it_did_not_probe() {
        let (server, long) = fast_path_server(253);
        let route = server.route(Scheme::Https, 443).unwrap();
        let upper = long.to_ascii_uppercase();
        assert!(matches!(
            lookup_lowered(route, upper.as_bytes()),
            Lowered::Found(_)
        ));
        assert!(matches!(
            lookup_lowered(route, b"NOT.example.com"),
            Lowered::Absent
        ));
        let over = format!("A{upper}");
        assert!(matches!(
            lookup_lowered(route, over.as_bytes()),
            Lowered::NotProbed
        ));
    }

    #[test]
    fn has_upper_sees_exactly_the_ascii_capitals() {
        for len in 0..=20 {
            for pos in 0..len.max(1) {
                for b in 0..=255u8 {
                    let mut bytes = vec![b'a'; len];
                    if len > 0 {
                        bytes[pos] = b;
                    }
                    assert_eq!(
                        has_upper(&bytes),
                        bytes.iter().any(u8::is_ascii_uppercase),
                        "{bytes:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn split_port_finds_the_port_from_the_end() {
        assert_eq!(
            split_port(b"a.example:443"),
            Some((&b"a.example"[..], Some(443)))
        );
        assert_eq!(
            split_port(b"a.example:0443"),
            Some((&b"a.example"[..], Some(443)))
        );
        assert_eq!(split_port(b"a.example:"), Some((&b"a.example"[..], None)));
        assert_eq!(split_port(b"a.example"), Some((&b"a.example"[..], None)));
        assert_eq!(split_port(b"1.2.3.4"), Some((&b"1.2.3.4"[..], None)));
        assert_eq!(split_port(b":80"), Some((&b""[..], Some(80))));
        // Refused by the full parse: port 0, past 65535.
        assert_eq!(split_port(b"a:0"), None);
        assert_eq!(split_port(b"a:65536"), None);
        // Six digits or a colon in the name: returned whole, so it matches no pattern.
        assert_eq!(split_port(b"a:000443"), Some((&b"a:000443"[..], None)));
        assert_eq!(split_port(b"a:b:443"), Some((&b"a:b"[..], Some(443))));
        assert_eq!(split_port(b""), Some((&b""[..], None)));
    }
}
