//! Request facts from an [`http::Request`] (feature `http`), borrowed, without allocating.
//!
//! hyper, h2 and h3 all hand a server an `http::Request` whose `uri()` holds what the wire said:
//! for HTTP/1.x the request-target (origin-form `/path`, absolute-form `scheme://authority/path`,
//! authority-form `host:port` for CONNECT, or `*`), and for HTTP/2 and HTTP/3 what the
//! pseudo-header fields left there. `Host` field lines stay in `headers()`. The URI does not
//! hold every pseudo-header as sent, and this module reads it as each stack fills it.
//!
//! h2 0.4 (hyper 1.x's HTTP/2; `src/server.rs`, `Peer::convert_poll_message`, and
//! `src/frame/headers.rs`, `HeaderBlock::load`):
//!
//! - `:authority` goes to `uri().authority()`. h2 requires it of no method, CONNECT included.
//! - `:scheme` is required, except on a plain CONNECT where it is refused, and it must parse as
//!   a `uri::Scheme`. It is kept in `uri().scheme()` only beside an `:authority`: without one it
//!   is checked and then dropped, since an `http::Uri` cannot hold a scheme without an
//!   authority. Its value is then nowhere in the request.
//! - `:path` goes to `uri().path_and_query()`. It is refused on a plain CONNECT and required on
//!   an extended one.
//! - `:protocol` goes to the extensions as `h2::ext::Protocol`, which hyper replaces with
//!   `hyper::ext::Protocol`. It is accepted only on CONNECT, and only once the server has
//!   advertised SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3). Neither type can be named
//!   without depending on h2 or hyper.
//! - `host` stays in `headers()`, unchecked against `:authority`.
//! - A repeated pseudo-header, or one after a regular field, resets the stream with
//!   PROTOCOL_ERROR before any request exists (RFC 9113 §8.1.1, §8.3).
//!
//! h3 (`h3/src/proto/headers.rs`, `Header::into_request_parts`; `h3/src/server/request.rs`,
//! `ResolvedRequest::resolve`):
//!
//! - `:scheme` goes to `uri().scheme()` and `:path` to `uri().path_and_query()`.
//! - The URI's authority is `host` when there is one, after checking that it is byte for byte
//!   the `:authority` if both are present (RFC 9114 §4.3.1), and `:authority` otherwise. Having
//!   neither is an error. `host` also stays in `headers()`.
//! - `:protocol` goes to the extensions as `h3::ext::Protocol`.
//! - A repeated pseudo-header replaces the earlier one. h3 does not refuse `:scheme` or `:path`
//!   on a CONNECT without `:protocol`.

use http::header::HOST;

use crate::decision::facts::{Connection, Method, Request, Target, Version};

/// What [`Server::decide`](crate::Server::decide) needs of an `http::Request`, borrowed from it.
///
/// Only the first two `Host` field lines are kept: a second one is already a 400 (SPEC §5
/// rule 1), whatever follows it.
///
/// ```
/// # use misdirect::{Config, ConnectionFacts, ListenerConfig, Server};
/// # let server = Server::<()>::build(Config {
/// #     listeners: vec![ListenerConfig::new("h2c", false, 80)],
/// #     ..Config::default()
/// # })
/// # .unwrap();
/// # let listener = server.listener_id("h2c").unwrap();
/// let connection = server.connection(&ConnectionFacts { listener, tls: None, gateway: None })?;
/// let request = http::Request::builder()
///     .version(http::Version::HTTP_2)
///     .uri("https://api.example.com/v1")
///     .body(())
///     .unwrap();
/// let facts = misdirect::HttpRequest::new(&request, &connection);
/// let request = facts.request();
/// assert_eq!(request.authorities, &[&b"api.example.com"[..]]);
/// assert_eq!(request.scheme, Some(&b"https"[..]));
/// # Ok::<(), misdirect::FactsError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct HttpRequest<'a> {
    version: Version,
    method: Method,
    scheme: Option<&'a [u8]>,
    authority: [&'a [u8]; 1],
    has_authority: bool,
    hosts: [&'a [u8]; 2],
    host_count: usize,
    target: Target<'a>,
}

impl<'a> HttpRequest<'a> {
    /// Reads the facts of a request that arrived on `connection`.
    ///
    /// The method class: an HTTP/1.x CONNECT is a tunnel ([`Method::Connect`]). An HTTP/2 or
    /// HTTP/3 CONNECT is an extended CONNECT ([`Method::ExtendedConnect`], an origin request)
    /// when its URI has a path, and a tunnel otherwise. `:protocol` itself is in the extensions
    /// under an h2, hyper or h3 type that this crate cannot name. The path tells the same
    /// thing: RFC 9113 §8.5 and RFC 9114 §4.4 forbid `:path` on a plain CONNECT, and RFC 8441
    /// §4 and RFC 9220 §3 require it on an extended one. h2 enforces both, and the path
    /// survives in the URI whether or not `:authority` was sent. h3 enforces neither, so it can
    /// deliver an HTTP/3 CONNECT that has `:path` but no `:protocol`. Such a request is read as
    /// extended and goes through the rules, rather than being handed on as a tunnel.
    ///
    /// The scheme of an HTTP/2 request that has no `:authority` is the connection's. h2
    /// dropped the `:scheme` it required (see the module documentation). Such a request
    /// carries its authority in `Host` as an HTTP/1.1 origin-form request would
    /// (RFC 9113 §8.3.1), and the target URI of that form takes its scheme from the connection
    /// (RFC 9112 §3.3). Without this, every valid HTTP/2 request that carries `Host` instead of
    /// `:authority` would be a 400 for a missing `:scheme`. The price is that rule 2 cannot
    /// compare that `:scheme` with the connection, because its value is gone. An HTTP/3
    /// request keeps its scheme in the URI, so a missing one there was never sent.
    #[must_use]
    pub fn new<B>(request: &'a http::Request<B>, connection: &Connection) -> Self {
        let version = match request.version() {
            http::Version::HTTP_2 => Version::Http2,
            http::Version::HTTP_3 => Version::Http3,
            http::Version::HTTP_11 => Version::Http11,
            // HTTP/0.9 has no Host at all; treat it as the oldest version with rules.
            _ => Version::Http10,
        };
        let uri = request.uri();
        let h1 = matches!(version, Version::Http10 | Version::Http11);
        // h3 keeps `:protocol` in its own extension type, and accepts an extended CONNECT without
        // `:path` (its URI is then authority-only, like a plain CONNECT's): with the `quinn`
        // feature, which brings h3, the extension is read, so such a request is decided (and
        // refused for its missing `:scheme`) instead of passing as a tunnel.
        #[cfg(feature = "quinn")]
        let h3_protocol =
            version == Version::Http3 && request.extensions().get::<h3::ext::Protocol>().is_some();
        #[cfg(not(feature = "quinn"))]
        let h3_protocol = false;
        let method = if request.method() != http::Method::CONNECT {
            Method::Other
        } else if h3_protocol || (!h1 && !uri.path().is_empty()) {
            // `path()`, not `path_and_query().is_some()`: a URI without an authority answers
            // `Some` (printed `/`) even when it has no path, and h2 accepts a plain CONNECT
            // without `:authority`. `path()` is empty exactly when no `:path` was stored.
            Method::ExtendedConnect
        } else {
            Method::Connect
        };
        let mut hosts: [&[u8]; 2] = [b"", b""];
        let mut host_count = 0;
        for (slot, value) in hosts.iter_mut().zip(request.headers().get_all(HOST)) {
            *slot = value.as_bytes();
            host_count += 1;
        }
        let authority = uri.authority().map(|a| a.as_str().as_bytes());
        let (scheme, target) = if h1 {
            let target = match (uri.scheme_str(), authority) {
                (Some(scheme), Some(authority)) => Target::Absolute {
                    scheme: scheme.as_bytes(),
                    authority,
                },
                (None, Some(authority)) => Target::Authority(authority),
                _ if uri.path() == "*" => Target::Asterisk,
                _ => Target::Origin,
            };
            (None, target)
        } else {
            let scheme = match uri.scheme_str() {
                Some(scheme) => Some(scheme.as_bytes()),
                // Only h2 drops a scheme, and only where there is no authority. A plain
                // CONNECT never had one, and rule 0 takes it before the scheme matters.
                None if version == Version::Http2
                    && authority.is_none()
                    && method != Method::Connect =>
                {
                    Some(if connection.is_secure() {
                        &b"https"[..]
                    } else {
                        &b"http"[..]
                    })
                }
                None => None,
            };
            (scheme, Target::Origin)
        };
        HttpRequest {
            version,
            method,
            scheme,
            authority: [authority.unwrap_or_default()],
            has_authority: !h1 && authority.is_some(),
            hosts,
            host_count,
            target,
        }
    }

    /// The facts as the decision takes them.
    #[must_use]
    pub fn request(&self) -> Request<'_> {
        Request {
            version: self.version,
            method: self.method,
            scheme: self.scheme,
            authorities: if self.has_authority {
                &self.authority
            } else {
                &[]
            },
            hosts: &self.hosts[..self.host_count],
            target: self.target,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::facts::{ConnectionFacts, Handshake};
    use crate::decision::server::{CertificateConfig, Config, ListenerConfig, Server, VhostConfig};
    use crate::decision::verdict::{Cause, Verdict};

    /// `a.example.com` serves http on 80 and https on 443; one listener of each.
    fn server() -> Server<()> {
        let mut a = VhostConfig::new("a", &["a.example.com"], "public", ());
        a.http_ports = vec![80];
        Server::build(Config {
            policies: vec!["public".into()],
            certificates: vec![CertificateConfig::new("edge", &["*.example.com"])],
            vhosts: vec![a],
            listeners: vec![
                ListenerConfig::new("plain", false, 80),
                ListenerConfig::new("tls", true, 443),
            ],
            ..Config::default()
        })
        .unwrap()
    }

    fn cleartext(server: &Server<()>) -> Connection {
        server
            .connection(&ConnectionFacts {
                listener: server.listener_id("plain").unwrap(),
                tls: None,
                gateway: None,
            })
            .unwrap()
    }

    fn tls(server: &Server<()>) -> Connection {
        server
            .connection(&ConnectionFacts {
                listener: server.listener_id("tls").unwrap(),
                tls: Some(Handshake {
                    sni: Some(b"a.example.com"),
                    certificate: server.certificate_id("edge").unwrap(),
                    policy: server.policy_id("public"),
                }),
                gateway: None,
            })
            .unwrap()
    }

    /// The facts of `request` on a cleartext connection.
    fn facts<F: FnOnce(&Request<'_>)>(request: &http::Request<()>, check: F) {
        let server = server();
        check(&HttpRequest::new(request, &cleartext(&server)).request());
    }

    /// A request as h2 0.4 builds it (`src/server.rs`, `Peer::convert_poll_message`): the
    /// scheme goes into the URI only beside an authority, `host` stays a field. `:protocol`
    /// would go to the extensions as `h2::ext::Protocol`, out of this crate's reach.
    fn h2(
        method: &str,
        scheme: Option<&str>,
        authority: Option<&str>,
        path: Option<&str>,
        hosts: &[&str],
    ) -> http::Request<()> {
        let mut parts = http::uri::Parts::default();
        parts.authority = authority.map(|a| a.parse().unwrap());
        if parts.authority.is_some() {
            parts.scheme = scheme.map(|s| s.parse().unwrap());
        }
        parts.path_and_query = path.map(|p| p.parse().unwrap());
        let mut builder = http::Request::builder()
            .version(http::Version::HTTP_2)
            .method(method)
            .uri(parts);
        for host in hosts {
            builder = builder.header("host", *host);
        }
        builder.body(()).unwrap()
    }

    /// A request as h3 builds it (`h3/src/proto/headers.rs`, `Header::into_request_parts`):
    /// the URI's authority is `host` when present (h3 first checks it is `:authority` byte for
    /// byte), else `:authority`; `host` also stays a field.
    fn h3(
        method: &str,
        scheme: Option<&str>,
        authority: Option<&str>,
        path: Option<&str>,
        host: Option<&str>,
    ) -> http::Request<()> {
        let mut uri = http::Uri::builder();
        if let Some(path) = path {
            uri = uri.path_and_query(path);
        }
        if let Some(scheme) = scheme {
            uri = uri.scheme(scheme);
        }
        match (authority, host) {
            (Some(a), Some(h)) => assert_eq!(a, h, "h3 refuses a differing pair"),
            (None, None) => panic!("h3 refuses a request with neither"),
            _ => {}
        }
        uri = uri.authority(host.or(authority).unwrap());
        let mut builder = http::Request::builder()
            .version(http::Version::HTTP_3)
            .method(method)
            .uri(uri.build().unwrap());
        if let Some(host) = host {
            builder = builder.header("host", host);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn http1_origin_form_uses_host() {
        let r = http::Request::builder()
            .uri("/index.html")
            .header("host", "Example.COM:443")
            .body(())
            .unwrap();
        facts(&r, |f| {
            assert_eq!(f.version, Version::Http11);
            assert_eq!(f.target, Target::Origin);
            assert_eq!(f.hosts, &[&b"Example.COM:443"[..]]);
            assert!(f.authorities.is_empty());
            assert_eq!(f.scheme, None);
        });
    }

    #[test]
    fn http1_absolute_form_and_duplicate_hosts() {
        let r = http::Request::builder()
            .version(http::Version::HTTP_10)
            .uri("http://a.example/x")
            .header("host", "a.example")
            .header("host", "b.example")
            .header("host", "c.example")
            .body(())
            .unwrap();
        facts(&r, |f| {
            assert_eq!(f.version, Version::Http10);
            assert_eq!(
                f.target,
                Target::Absolute {
                    scheme: b"http",
                    authority: b"a.example"
                }
            );
            assert_eq!(f.hosts.len(), 2, "two Host lines are enough to refuse");
        });
    }

    #[test]
    fn http1_connect_and_asterisk() {
        let r = http::Request::builder()
            .method("CONNECT")
            .uri("proxy.example:443")
            .body(())
            .unwrap();
        facts(&r, |f| {
            assert_eq!(f.method, Method::Connect);
            assert_eq!(f.target, Target::Authority(b"proxy.example:443"));
        });
        let r = http::Request::builder()
            .method("OPTIONS")
            .uri("*")
            .header("host", "a.example")
            .body(())
            .unwrap();
        facts(&r, |f| assert_eq!(f.target, Target::Asterisk));
    }

    #[test]
    fn h2_authority_keeps_its_scheme_even_against_the_connection() {
        // https on a cleartext connection: kept as sent, so that rule 2 can refuse it.
        let r = h2(
            "GET",
            Some("https"),
            Some("b.example.com:8443"),
            Some("/p"),
            &["b.example.com:8443"],
        );
        facts(&r, |f| {
            assert_eq!(f.version, Version::Http2);
            assert_eq!(f.method, Method::Other);
            assert_eq!(f.scheme, Some(&b"https"[..]));
            assert_eq!(f.authorities, &[&b"b.example.com:8443"[..]]);
            assert_eq!(f.hosts, &[&b"b.example.com:8443"[..]]);
            assert_eq!(f.target, Target::Origin);
        });
    }

    #[test]
    fn h2_authority_and_host_are_both_kept_for_the_decision_to_compare() {
        let r = h2(
            "GET",
            Some("http"),
            Some("a.example.com"),
            Some("/"),
            &["evil.example"],
        );
        facts(&r, |f| {
            assert_eq!(f.authorities, &[&b"a.example.com"[..]]);
            assert_eq!(f.hosts, &[&b"evil.example"[..]]);
        });
    }

    #[test]
    fn h2_host_without_authority_takes_the_connections_scheme() {
        let server = server();
        let r = h2(
            "GET",
            Some("http"),
            None,
            Some("/only-path"),
            &["a.example.com"],
        );
        assert_eq!(r.uri().scheme(), None, "h2 dropped :scheme");
        let plain = HttpRequest::new(&r, &cleartext(&server));
        let f = plain.request();
        assert_eq!(f.scheme, Some(&b"http"[..]));
        assert!(f.authorities.is_empty());
        assert_eq!(f.hosts, &[&b"a.example.com"[..]]);
        let secure = HttpRequest::new(&r, &tls(&server));
        assert_eq!(secure.request().scheme, Some(&b"https"[..]));
    }

    #[test]
    fn h2_host_without_authority_is_decided_by_its_host() {
        let server = server();
        let conn = cleartext(&server);
        let served = h2("GET", Some("http"), None, Some("/"), &["a.example.com"]);
        let facts = HttpRequest::new(&served, &conn);
        assert!(matches!(
            server.decide(&conn, &facts.request()),
            Verdict::Serve(())
        ));
        let foreign = h2("GET", Some("http"), None, Some("/"), &["evil.example"]);
        let facts = HttpRequest::new(&foreign, &conn);
        let verdict = server.decide(&conn, &facts.request());
        assert!(
            matches!(&verdict, Verdict::Misdirected(r) if r.cause == Cause::UnknownHost),
            "{verdict:?}"
        );
    }

    #[test]
    fn h2_without_authority_or_host_misses_its_authority_not_its_scheme() {
        let server = server();
        let conn = cleartext(&server);
        let r = h2("GET", Some("http"), None, Some("/"), &[]);
        let facts = HttpRequest::new(&r, &conn);
        let verdict = server.decide(&conn, &facts.request());
        assert!(
            matches!(&verdict, Verdict::BadRequest(r) if r.cause == Cause::MissingAuthority),
            "{verdict:?}"
        );
    }

    #[test]
    fn h2_get_without_path_still_has_its_host() {
        // h2 requires :path of no method but extended CONNECT; without :authority the URI is
        // then empty.
        let r = h2("GET", Some("http"), None, None, &["a.example.com"]);
        facts(&r, |f| {
            assert_eq!(f.method, Method::Other);
            assert_eq!(f.scheme, Some(&b"http"[..]));
            assert_eq!(f.hosts, &[&b"a.example.com"[..]]);
        });
    }

    #[test]
    fn extended_connect_with_authority_is_an_origin_request() {
        let r = h2(
            "CONNECT",
            Some("https"),
            Some("ws.example.com"),
            Some("/chat"),
            &[],
        );
        facts(&r, |f| {
            assert_eq!(f.method, Method::ExtendedConnect);
            assert_eq!(f.scheme, Some(&b"https"[..]));
            assert_eq!(f.authorities, &[&b"ws.example.com"[..]]);
        });
    }

    #[test]
    fn extended_connect_with_host_is_an_origin_request() {
        let r = h2(
            "CONNECT",
            Some("http"),
            None,
            Some("/chat"),
            &["evil.example"],
        );
        facts(&r, |f| {
            assert_eq!(f.method, Method::ExtendedConnect);
            assert_eq!(f.scheme, Some(&b"http"[..]), "the connection's");
            assert!(f.authorities.is_empty());
            assert_eq!(f.hosts, &[&b"evil.example"[..]]);
        });
    }

    #[test]
    fn plain_h2_connect_is_a_tunnel_without_a_scheme() {
        let r = h2("CONNECT", None, Some("tunnel.example:443"), None, &[]);
        facts(&r, |f| {
            assert_eq!(f.method, Method::Connect);
            assert_eq!(f.scheme, None);
            assert_eq!(f.authorities, &[&b"tunnel.example:443"[..]]);
        });
        // h2 accepts a CONNECT without :authority too; it is still a tunnel.
        let r = h2("CONNECT", None, None, None, &["tunnel.example:443"]);
        facts(&r, |f| {
            assert_eq!(f.method, Method::Connect);
            assert_eq!(f.scheme, None);
        });
    }

    #[test]
    fn h3_host_is_the_uri_authority_and_stays_a_field() {
        let r = h3("GET", Some("https"), None, Some("/"), Some("a.example.com"));
        facts(&r, |f| {
            assert_eq!(f.version, Version::Http3);
            assert_eq!(f.scheme, Some(&b"https"[..]));
            assert_eq!(f.authorities, &[&b"a.example.com"[..]]);
            assert_eq!(f.hosts, &[&b"a.example.com"[..]]);
        });
        let r = h3(
            "GET",
            Some("https"),
            Some("a.example.com"),
            Some("/"),
            Some("a.example.com"),
        );
        facts(&r, |f| {
            assert_eq!(f.authorities, &[&b"a.example.com"[..]]);
            assert_eq!(f.hosts, &[&b"a.example.com"[..]]);
        });
    }

    #[test]
    fn h3_extended_and_plain_connect() {
        let r = h3(
            "CONNECT",
            Some("https"),
            Some("ws.example.com"),
            Some("/chat"),
            None,
        );
        facts(&r, |f| {
            assert_eq!(f.method, Method::ExtendedConnect);
            assert_eq!(f.scheme, Some(&b"https"[..]));
        });
        let r = h3("CONNECT", None, Some("tunnel.example:443"), None, None);
        facts(&r, |f| {
            assert_eq!(f.method, Method::Connect);
            assert_eq!(f.authorities, &[&b"tunnel.example:443"[..]]);
        });
    }

    #[test]
    fn h3_without_scheme_is_not_given_one() {
        // h3 keeps every :scheme it gets in the URI: a missing one was never sent (400).
        let r = h3("GET", None, Some("a.example.com"), None, None);
        let server = server();
        let facts = HttpRequest::new(&r, &tls(&server));
        assert_eq!(facts.request().scheme, None);
    }

    #[test]
    fn non_utf8_host_bytes_pass_through() {
        let value = http::HeaderValue::from_bytes(b"caf\xe9.example").unwrap();
        let r = http::Request::builder()
            .uri("/")
            .header("host", value)
            .body(())
            .unwrap();
        facts(&r, |f| assert_eq!(f.hosts, &[&b"caf\xe9.example"[..]]));
    }
}
