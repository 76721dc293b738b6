//! What a decision says (SPEC §5): the [`Verdict`], and for every refusal the [`Reason`]: the
//! rule that fired, the cause, and the facts involved, in one line a person can act on.

use core::fmt;

use crate::decision::facts::Sni;
use crate::decision::server::Scheme;
use crate::parse::authority::{AuthorityError, Scratch, WireUnicode, parse_view};
use crate::parse::host::Host;

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
            Cause::ConnectTarget => "CONNECT needs a host and port as its only target",
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
    /// A CONNECT whose target is not a host and port: HTTP/1.x not in authority-form, HTTP/2
    /// or HTTP/3 with `:scheme` (RFC 9112 §3.2.3, RFC 9113 §8.5, RFC 9114 §4.4).
    ConnectTarget,
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
/// one line an operator can act on, and it shows canonical values only, never raw request
/// bytes: the host is kept as the request's field and canonicalized when asked for
/// ([`Reason::host`]), so a refusal costs no copy of it.
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
    /// The host, when known: the field it was parsed from ([`Reason::host`]).
    pub(crate) host: Option<HostField<'s>>,
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
        let canonical = self.host();
        let host = Maybe(canonical.as_ref());
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
            Cause::ConnectTarget => f.write_str(
                "CONNECT without an authority-form target (HTTP/1.x) or with :scheme (HTTP/2, HTTP/3)",
            )?,
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

/// The request field a reason's host was parsed from, with the knob it was parsed under: parsed
/// again, as it was, when the host is asked for. Compared and shown by its canonical host.
#[derive(Clone, Copy)]
pub(crate) struct HostField<'s> {
    pub(crate) bytes: &'s [u8],
    pub(crate) unicode: WireUnicode,
}

impl HostField<'_> {
    /// The canonical host: the field parsed again. The decision parsed it already (a reason has
    /// a host only when its field parsed), so `None` is never seen.
    fn host(&self) -> Option<Host> {
        parse_view(self.bytes, self.unicode, &mut Scratch::new())
            .ok()
            .map(|view| view.host.to_host())
    }
}

impl PartialEq for HostField<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.host() == other.host()
    }
}

impl Eq for HostField<'_> {}

impl fmt::Debug for HostField<'_> {
    /// The canonical host, never the bytes as sent.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host() {
            Some(host) => fmt::Debug::fmt(&host, f),
            None => f.write_str("(not a host)"),
        }
    }
}

impl Reason<'_> {
    /// The canonical host, when the request named one that parsed: parsed again from the
    /// request's field (a reason borrows it rather than copying it on every refusal).
    #[must_use]
    pub fn host(&self) -> Option<Host> {
        self.host.as_ref().and_then(HostField::host)
    }

    /// The reason for a request on a connection whose generation was retired past its grace.
    #[must_use]
    pub fn retired() -> Reason<'static> {
        Reason::bare(Status::Misdirected, Rule::Connection, Cause::Retired)
    }

    /// A reason that names nothing of the connection: for a connection this server cannot read.
    pub(crate) fn bare(status: Status, rule: Rule, cause: Cause) -> Reason<'static> {
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
