//! # misdirect
//!
//! May this request be served on this connection, or must the server answer
//! `421 Misdirected Request` (or `400`)?
//!
//! A request names an origin (scheme, host, port) in `:authority`, `Host` or an absolute
//! target. It arrives on a connection with a scheme, a local port and, under TLS, an SNI name and
//! a certificate whose names cover some hosts. HTTP/2 and HTTP/3 clients reuse connections across
//! origins (coalescing), so a request can reach a server that is not authoritative for it, and
//! RFC 9110 §7.4 says such a request "MUST be rejected". Getting that right means comparing
//! hosts that were written differently (`API.example.com.`, `api.example.com:443`,
//! `xn--` A-labels, IP literals) and matching them against certificate names exactly as
//! RFC 9525 says, on every request, cheaply.
//!
//! ## The model
//!
//! Data flows one way: wire bytes become an [`Authority`] (a canonical [`Host`] and a port),
//! hosts are matched against [`NamePattern`]s (exact names, `*.parent` wildcards, IP addresses)
//! compiled into a [`NameIndex`], and the decision is made on those canonical values alone.
//! Canonicalization is done once: ASCII case is lowered, one trailing dot is dropped, A-labels
//! are checked with UTS #46, IPv4 must be a strict dotted quad, IPv6 is compared as a 128-bit
//! value. Anything ambiguous (userinfo, percent-encoding, zone ids, hex or short-form "IPv4",
//! empty labels) is a typed error, never a guess, because a guess here is a parser
//! differential between this server and some other party.
//!
//! Wildcards follow RFC 9525 §6.3: `*` is the whole left-most label, stands for exactly one
//! non-empty label, never the apex, never an IP address, and (by policy, as browsers and webpki
//! do) needs two labels after it. Configuration names may be written with U-labels and are
//! converted at build time; lookups on the hot path borrow, never allocate for ASCII hosts, and
//! take at most two hash probes whatever the number of names.
//!
//! The rules and their sources are in the repository's `SPEC.md`; the `model` module (feature
//! `model`) is the same rules written as plainly as possible, and the tests hold the engine
//! equal to it.
//!
//! The decision sits on top: a [`Server`] is built once from a [`Config`] (listeners, virtual
//! hosts, certificates, TLS policy ids, knobs); a [`Connection`] is made once per connection from
//! the handshake's [`ConnectionFacts`]; [`Server::decide`] takes a borrowed [`Request`] and
//! applies the rules in order: CONNECT is not an origin request; framing (400); scheme, port,
//! certificate coverage, virtual host and SNI policy (421). Every [`Verdict`] but `Serve`
//! carries a typed [`Reason`] whose `Display` is one line an operator can act on.
//!
//! On the hot path the decision first tries the request's host bytes as they came (up to ASCII
//! case and one trailing dot) against the exact names of the request's (scheme, port): a host
//! that is a configured name is already valid and canonical, so it is served after one hash
//! probe, without the byte scan or the A-label check. Everything else takes the full parse.
//!
//! ## Embedding
//!
//! Optional features connect the decision to the usual Rust HTTP stack: `http` reads the
//! request facts from an `http::Request` (`HttpRequest`: hyper's HTTP/1.x,
//! HTTP/2 and h3's HTTP/3 alike); `tower` adds a layer that answers 421, 400 or 404 itself and
//! gives the service the chosen virtual host's value; `rustls` adds a certificate resolver on
//! the crate's index and an acceptor that records which certificate and TLS policy each
//! handshake got, the original handshake's for a resumed session; `serde` reads the whole
//! configuration from TOML; `tracing` logs every refusal with its reason. `examples/server.rs`
//! puts them together.
//!
//! HTTP/3 (feature `quinn`): a `QuicAcceptor` is the crypto configuration of a quinn endpoint,
//! giving each QUIC handshake the rustls configuration of the policy its SNI selects, as the
//! TCP acceptor does; `TlsFacts::from_quic` reads the connection's facts after the handshake,
//! and h3's requests go through `HttpRequest` (or the tower layer) like hyper's. A listener
//! reached through Alt-Svc lists the origin's port in `ListenerConfig::origin_ports`.
//!
//! ## Example: names
//!
//! ```
//! use misdirect::{Authority, NameIndex, NamePattern};
//!
//! // The names a certificate covers, compiled once.
//! let sans = ["*.example.com", "example.com", "bücher.example"];
//! let cert = NameIndex::build(
//!     sans.iter().map(|s| (NamePattern::parse(s).unwrap(), ())),
//! ).unwrap();
//!
//! // Per request: parse the authority, look the host up.
//! let authority = Authority::parse(b"WWW.Example.com.:443").unwrap();
//! assert_eq!(authority.host().to_string(), "www.example.com");
//! assert!(cert.covers(authority.host()));
//!
//! let coalesced = Authority::parse(b"a.b.example.com").unwrap();
//! assert!(!cert.covers(coalesced.host())); // a wildcard never crosses a dot: 421
//!
//! assert!(cert.covers(Authority::parse(b"xn--bcher-kva.example").unwrap().host()));
//! assert!(Authority::parse(b"example.com@evil.test").is_err()); // userinfo: 400
//! ```
//!
//! ## Example: a decision
//!
//! ```
//! use misdirect::*;
//!
//! let server = Server::build(Config {
//!     policies: vec!["public".into(), "mtls".into()],
//!     certificates: vec![CertificateConfig::new("edge", &["*.example.com"])],
//!     vhosts: vec![
//!         VhostConfig::new("a", &["a.example.com"], "public", "site a"),
//!         VhostConfig::new("admin", &["admin.example.com"], "mtls", "admin"),
//!     ],
//!     listeners: vec![ListenerConfig::new("tls", true, 443)],
//!     ..Config::default()
//! })
//! .unwrap();
//! let conn = server
//!     .connection(&ConnectionFacts {
//!         listener: server.listener_id("tls").unwrap(),
//!         tls: Some(Handshake {
//!             sni: Some(b"a.example.com"),
//!             certificate: server.certificate_id("edge").unwrap(),
//!             policy: server.policy_id("public"),
//!         }),
//!         gateway: None,
//!     })
//!     .unwrap();
//! let request = Request {
//!     version: Version::Http2,
//!     method: Method::Other,
//!     scheme: Some(b"https"),
//!     authorities: &[b"admin.example.com"],
//!     hosts: &[],
//!     target: Target::Origin,
//! };
//! // The certificate covers admin.example.com, but the handshake never asked for the client
//! // certificate the admin virtual host needs: 421.
//! let verdict = server.decide(&conn, &request);
//! assert_eq!(verdict.status(), Some(421));
//! assert_eq!(
//!     verdict.reason().unwrap().to_string(),
//!     "421: virtual host admin needs TLS policy mtls but this connection's handshake \
//!      was made under public (SNI a.example.com)"
//! );
//! ```
#![forbid(unsafe_code)]
// docs.rs labels each feature-gated item with its feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

// The stages, in the order data flows (a lower stage never imports from a higher one):
// wire bytes -> `Authority` and `Host` (parse), matched against `NamePattern`s compiled into a
// `NameIndex` (names), decided on a `Server`'s configuration and a `Connection`'s facts into a
// `Verdict` (decision); the adapters to hyper, tower, rustls, quinn, TOML and X.509 sit outside
// (embed) and only build facts and act on verdicts.
mod decision;
mod embed;
mod names;
mod parse;

#[cfg(feature = "model")]
pub mod model;

/// Internals the fuzz crate (`fuzz/`) compares with their references. Not API: hidden, exempt
/// from semver, and gone whenever the fuzz targets stop needing them.
#[cfg(feature = "model")]
#[doc(hidden)]
pub mod __fuzz {
    /// The wire parser's IPv6 text parser (the inside of `[...]`): `None` exactly where
    /// `str::parse::<std::net::Ipv6Addr>` refuses the bytes (or they are not UTF-8).
    pub use crate::parse::ipv6::parse_ipv6;
}

pub use decision::facts::{
    Connection, ConnectionFacts, FactsError, Gateway, Handshake, Method, Request, Sni, Target,
    Version,
};
pub use decision::server::{
    BuildError, CertId, CertificateConfig, Config, Knobs, ListenerConfig, ListenerId, PolicyId,
    Scheme, Server, SkippedSan, SniPolicy, UnknownHost, VhostConfig,
};
pub use decision::verdict::{Cause, Reason, Rule, Status, Verdict};
#[cfg(feature = "serde")]
pub use embed::config_file as config;
#[cfg(feature = "serde")]
pub use embed::config_file::{
    CertificateFiles, ClientAuthMode, ConfigError, PolicyDeclaration, Site, TlsDeclarations,
    TlsVersion,
};
#[cfg(feature = "http")]
pub use embed::from_http::HttpRequest;
#[cfg(feature = "quinn")]
pub use embed::h3_guard::{self, H3Guard};
#[cfg(feature = "tower")]
pub use embed::layer::{Misdirect, MisdirectBody, MisdirectLayer, ResponseFuture};
#[cfg(feature = "quinn")]
pub use embed::quic::{QuicAcceptor, bounded_transport};
#[cfg(feature = "reload")]
pub use embed::reload::{Changes, Generation, Reloadable, Retirement};
#[cfg(feature = "rustls")]
#[cfg(all(feature = "rustls", feature = "serde"))]
pub use embed::site::{SiteError, Tls, TlsOptions};
#[cfg(feature = "rustls")]
pub use embed::tls::{
    Accepted, Acceptor, CertResolver, ClientAuth, ClientIdentity, PolicyTls, TlsError, TlsFacts,
};
#[cfg(any(feature = "rustls", feature = "serde"))]
pub use embed::x509::{CertificateError, certificate_sans, certificate_subject};
pub use names::index::{Hit, IndexError, Lookup, MatchKind, NameIndex};
pub use names::pattern::{NamePattern, PatternError, San};
pub use parse::authority::{Authority, AuthorityError, MAX_AUTHORITY_LEN, WireUnicode};
pub use parse::host::{DnsName, Host, MAX_LABEL_LEN, MAX_NAME_LEN};
pub use parse::huffman;

/// The README's Rust snippets, compiled as doc tests (they need these features).
#[cfg(all(doctest, feature = "rustls", feature = "serde", feature = "tower"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
