//! The decision's fast path: a request host whose bytes, up to ASCII case and one trailing dot,
//! are an exact name of the (scheme, port) it names is that name, valid and canonical, found
//! with one probe and no scan. It is a second implementation of SPEC §2's parse for configured
//! names: it must answer as the full parse would, and every way it gives up leads there.

use crate::authority::{
    AuthorityError, AuthorityView, Exact, HostView, MAX_AUTHORITY_LEN, Scratch, parse_view,
};
use crate::host::MAX_NAME_LEN;
use crate::index::{NameIndex, same_name};
use crate::server::{Scheme, Server};

impl<T> Server<T> {
    /// Parses the request's authority: first the fast path, then SPEC §2 in full.
    ///
    /// The fast path: when the host's bytes, up to ASCII case and one trailing dot, are an exact
    /// name some virtual host claims on the (scheme, port) the request names, the host is
    /// that name: valid (it passed the same checks when the server was built) and canonical
    /// (the parse of such bytes lowers the case and drops the dot, which gives the name). So
    /// the scan, the copy and the A-label check are skipped, and the lookup is already done.
    /// Any other input takes the full parse, errors included.
    #[inline(always)]
    pub(crate) fn parse_field<'x>(
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
pub(crate) fn split_port(bytes: &[u8]) -> Option<(&[u8], Option<u16>)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{ConnectionFacts, Handshake, Method, Request, Target, Version};
    use crate::server::{CertificateConfig, Config, ListenerConfig, VhostConfig};
    use crate::verdict::{Rule, Verdict};

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
