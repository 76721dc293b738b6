//! Request facts from an [`http::Request`] (feature `http`), borrowed, without allocating.
//!
//! hyper, h2 and h3 all hand a server an `http::Request` whose `uri()` holds what the wire said:
//! for HTTP/1.x the request-target (origin-form `/path`, absolute-form `scheme://authority/path`,
//! authority-form `host:port` for CONNECT, or `*`), and for HTTP/2 and HTTP/3 the `:scheme`,
//! `:authority` and `:path` pseudo-header fields. `Host` field lines stay in `headers()`.

use http::header::HOST;

use crate::decide::{Method, Request, Target, Version};

/// What [`Server::decide`](crate::Server::decide) needs of an `http::Request`, borrowed from it.
///
/// Only the first two `Host` field lines are kept: a second one is already a 400 (SPEC §5
/// rule 1), whatever follows it.
///
/// ```
/// let request = http::Request::builder()
///     .version(http::Version::HTTP_2)
///     .uri("https://api.example.com/v1")
///     .body(())
///     .unwrap();
/// let facts = misdirect::HttpRequest::new(&request);
/// let request = facts.request();
/// assert_eq!(request.authorities, &[&b"api.example.com"[..]]);
/// assert_eq!(request.scheme, Some(&b"https"[..]));
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
    /// Reads the facts of a request.
    ///
    /// The method class: an HTTP/1.x CONNECT is a tunnel ([`Method::Connect`]); an HTTP/2 or
    /// HTTP/3 CONNECT is one too unless it carries `:scheme` and `:path`, which only the
    /// extended CONNECT of RFC 8441 and RFC 9220 (with `:protocol`) may, and which hyper then
    /// keeps in the URI: that is an origin request ([`Method::ExtendedConnect`]).
    #[must_use]
    pub fn new<B>(request: &'a http::Request<B>) -> Self {
        let version = match request.version() {
            http::Version::HTTP_2 => Version::Http2,
            http::Version::HTTP_3 => Version::Http3,
            http::Version::HTTP_11 => Version::Http11,
            // HTTP/0.9 has no Host at all; treat it as the oldest version with rules.
            _ => Version::Http10,
        };
        let uri = request.uri();
        let h1 = matches!(version, Version::Http10 | Version::Http11);
        let method = if request.method() != http::Method::CONNECT {
            Method::Other
        } else if !h1 && uri.scheme().is_some() && uri.path_and_query().is_some() {
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
            (uri.scheme_str().map(str::as_bytes), Target::Origin)
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

    fn facts<F: FnOnce(&Request<'_>)>(request: &http::Request<()>, check: F) {
        check(&HttpRequest::new(request).request());
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
    fn http2_pseudo_headers_and_extended_connect() {
        let r = http::Request::builder()
            .version(http::Version::HTTP_2)
            .uri("https://b.example.com:8443/p")
            .header("host", "b.example.com:8443")
            .body(())
            .unwrap();
        facts(&r, |f| {
            assert_eq!(f.scheme, Some(&b"https"[..]));
            assert_eq!(f.authorities, &[&b"b.example.com:8443"[..]]);
            assert_eq!(f.hosts.len(), 1);
            assert_eq!(f.target, Target::Origin);
        });
        let r = http::Request::builder()
            .version(http::Version::HTTP_2)
            .method("CONNECT")
            .uri("https://ws.example.com/chat")
            .body(())
            .unwrap();
        facts(&r, |f| assert_eq!(f.method, Method::ExtendedConnect));
        let r = http::Request::builder()
            .version(http::Version::HTTP_3)
            .method("CONNECT")
            .uri("tunnel.example:443")
            .body(())
            .unwrap();
        facts(&r, |f| {
            assert_eq!(f.version, Version::Http3);
            assert_eq!(f.method, Method::Connect);
        });
    }

    #[test]
    fn http2_without_authority_keeps_host_lines() {
        let r = http::Request::builder()
            .version(http::Version::HTTP_2)
            .uri("/only-path")
            .header("host", "a.example")
            .body(())
            .unwrap();
        facts(&r, |f| {
            assert!(f.authorities.is_empty());
            assert_eq!(f.scheme, None, "no :scheme: the decision answers 400");
            assert_eq!(f.hosts, &[&b"a.example"[..]]);
        });
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
