//! The decision's fast path: a request host whose bytes, up to ASCII case and one trailing dot,
//! are an exact name of the (scheme, port) it names is that name, valid and canonical, found
//! with one probe and no scan. A plain lowercase name that both probes miss is valid and
//! canonical as sent after one scan, without the full parse. It is a second implementation of SPEC §2's parse for configured
//! names: it must answer as the full parse would, and every way it gives up leads there.

use crate::decision::server::{Scheme, Server};
use crate::names::index::same_name;
use crate::parse::authority::{
    AuthorityError, AuthorityView, Exact, HostView, MAX_AUTHORITY_LEN, Scratch, parse_view,
};
use crate::parse::host::{MAX_LABEL_LEN, MAX_NAME_LEN};
use crate::parse::name;

impl<T> Server<T> {
    /// Parses the request's authority: first the fast path, then SPEC §2 in full.
    ///
    /// The fast path: when the host's bytes, up to ASCII case and one trailing dot, are an exact
    /// name some virtual host claims on the (scheme, port) the request names, the host is
    /// that name: valid (it passed the same checks when the server was built) and canonical
    /// (the stored name). When they are a plain lowercase label over a wildcard's parent, the
    /// host is valid and canonical as sent; so is a plain lowercase name that both probes
    /// missed (no pattern covers it: a refusal or the fallback, `Exact::AbsentBoth`). So the scan, the copy and the A-label check are
    /// skipped, and the lookup is already done. Any other input takes the full parse, errors
    /// included, told what the fast path probed and found absent.
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
            // The probes were blind to case: they answered for the canonical name too when it
            // is the probed bytes up to case.
            if same_name(name, probed.name) {
                view.exact = if probed.wildcard {
                    Exact::AbsentBoth
                } else {
                    Exact::Absent
                };
            }
        }
        Ok(view)
    }

    /// The fast path: `Ok` with the view when it applies, else `Err` with what it probed and
    /// found absent, if it got as far as probing.
    #[inline(always)]
    fn exact_view<'x>(
        &'x self,
        bytes: &'x [u8],
        scheme: Scheme,
    ) -> Result<AuthorityView<'x>, Option<Probed<'x>>> {
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
        // One probe, blind to ASCII case: a hit is a configured name, and the stored bytes are
        // its canonical form whatever the case of the bytes sent (GHSA-9cr8-q42q-g8m7: a name
        // in capitals must find its exact name before any wildcard; SPEC §5 rule 5).
        if let Some(hit) = route.lookup_exact(name) {
            let canonical = route.key(hit.position).ok_or(None)?;
            return Ok(AuthorityView {
                host: HostView::Name(canonical),
                port,
                exact: Exact::Found(hit.position),
            });
        }
        let exact_only = Probed {
            name,
            wildcard: false,
        };
        // A wildcard over the parent: the host is valid and canonical as sent when its first
        // label is 1 to 63 lowercase label bytes (no capitals, no `xn--`), its parent is the
        // wildcard's stored parent byte for byte (so lowercase and valid) with no A-label
        // either, and the whole is at most 253 octets. With an A-label anywhere, the full parse
        // runs UTS #46 over the whole name, whose rules reach across labels (RFC 5893's Bidi
        // rule holds every label of a name with a right-to-left label to it): that is for the
        // full parse, as is anything else. The label is checked before the probe, so that a
        // malformed first label costs no probe; a miss answers for the canonical name too
        // (when it is these bytes up to case, which the full parse checks).
        let Some(dot) = plain_first_label(name) else {
            return Err(Some(exact_only));
        };
        let (label, parent) = (&name[..dot], &name[dot + 1..]);
        if label.starts_with(b"xn--") || name.len() > MAX_NAME_LEN {
            return Err(Some(exact_only));
        }
        // Nothing covers a name that misses both probes; when the rest of it is plain too, the
        // name is valid and canonical as sent, and its refusal (or the fallback) needs no full
        // parse either.
        let absent = || {
            if plain_rest(parent) {
                Ok(AuthorityView {
                    host: HostView::Name(name),
                    port,
                    exact: Exact::AbsentBoth,
                })
            } else {
                Err(Some(Probed {
                    name,
                    wildcard: true,
                }))
            }
        };
        if !route.has_wildcards() {
            return absent();
        }
        match route.lookup_parent(parent) {
            Some(hit) if route.key_without_alabel(hit.position) == Some(parent) => {
                Ok(AuthorityView {
                    host: HostView::Name(name),
                    port,
                    exact: Exact::Found(hit.position),
                })
            }
            // A parent with capitals (a wildcard covers the name, but its canonical form is
            // not the bytes sent) or with an A-label.
            Some(_) => Err(Some(exact_only)),
            None => absent(),
        }
    }
}

/// Whether the name after its first label's dot is plain: labels of 1 to 63 lowercase label
/// bytes (as [`plain_first_label`]), none starting with `xn--` (an A-label needs the full
/// parse's UTS #46 check), the last not starting with a digit (a numeric last label makes the
/// name an IPv4 address or an error, SPEC §2), no empty label. With a plain first label and at
/// most 253 octets, such a name is valid and canonical as sent: SPEC §2's wire scan accepts it
/// and changes nothing. Anything else is for the full parse.
#[inline(always)]
fn plain_rest(rest: &[u8]) -> bool {
    let mut start = 0;
    loop {
        let end = match plain_label(&rest[start..]) {
            Some(len) => start + len,
            None => return false,
        };
        let label = &rest[start..end];
        if label.starts_with(b"xn--") {
            return false;
        }
        match rest.get(end) {
            None => return !label[0].is_ascii_digit(),
            Some(b'.') => start = end + 1,
            Some(_) => return false,
        }
    }
}

/// The length of the label at the start of `bytes`, up to the first byte no label holds (a
/// dot, the end, anything else), when it is 1 to 63 lowercase label bytes (a lowercase letter,
/// a digit, `-` or `_`: the wire's label bytes, SPEC §2, without capitals). One table look-up
/// per byte, as the full scan does, and never more than 64.
#[inline(always)]
fn plain_label(bytes: &[u8]) -> Option<usize> {
    let mut classes = 0;
    for (i, &b) in bytes.iter().enumerate().take(MAX_LABEL_LEN + 1) {
        let class = name::class(b);
        if class & name::STOP != 0 {
            return (i > 0 && classes & name::UPPER == 0).then_some(i);
        }
        classes |= class;
    }
    // The end of the bytes after 1 to 63 label bytes; 64 or more is too long.
    (!bytes.is_empty() && bytes.len() <= MAX_LABEL_LEN && classes & name::UPPER == 0)
        .then_some(bytes.len())
}

/// What the fast path probed and found absent: the name as sent (without port and trailing
/// dot) as an exact name, and with `wildcard` also its parent as a wildcard's. Both probes are
/// blind to ASCII case.
#[derive(Clone, Copy)]
pub(crate) struct Probed<'a> {
    name: &'a [u8],
    wildcard: bool,
}

/// The offset of the dot after the first label, when that label is plain ([`plain_label`]).
#[inline(always)]
fn plain_first_label(name: &[u8]) -> Option<usize> {
    plain_label(name).filter(|&len| name.get(len) == Some(&b'.'))
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
    use crate::decision::facts::{ConnectionFacts, Handshake, Method, Request, Target, Version};
    use crate::decision::server::{CertificateConfig, Config, ListenerConfig, VhostConfig};
    use crate::decision::verdict::{Rule, Verdict};
    use crate::parse::authority::WireUnicode;

    /// An exact name of `len` octets under `example.com`, beside `*.example.com`, a wildcard
    /// over a parent of 200 octets, and one over a right-to-left A-label.
    fn fast_path_server(len: usize) -> (Server<&'static str>, String) {
        let long = long_name(len, "example.com");
        let server = Server::build(Config {
            policies: vec!["public".into(), "mtls".into()],
            certificates: vec![CertificateConfig::new(
                "edge",
                &[
                    "*.example.com",
                    &long,
                    &format!("*.{}", long_parent()),
                    "*.xn--mgbh0fb.example",
                ],
            )],
            vhosts: vec![
                VhostConfig::new("www", &["*.example.com"], "public", "www"),
                VhostConfig::new("exact", &[long.as_str()], "mtls", "exact"),
                VhostConfig::new("deep", &[format!("*.{}", long_parent())], "mtls", "deep"),
                VhostConfig::new("rtl", &["*.xn--mgbh0fb.example"], "mtls", "rtl"),
            ],
            listeners: vec![ListenerConfig::new("tls", true, 443)],
            ..Config::default()
        })
        .unwrap();
        (server, long)
    }

    /// A name of `len` octets ending in `.{suffix}`, labels of at most 63 octets.
    fn long_name(len: usize, suffix: &str) -> String {
        let mut long = "l".repeat(len - suffix.len() - 1);
        for at in (63..long.len()).step_by(64) {
            long.replace_range(at..=at, ".");
        }
        let long = format!("{long}.{suffix}");
        assert_eq!(long.len(), len);
        long
    }

    /// A wildcard parent of 200 octets: a 54-octet label over it makes 255, over 253.
    fn long_parent() -> String {
        long_name(200, "example.org")
    }

    /// What the fast path answered: served (exact or wildcard), both probed and absent with
    /// the name valid and canonical as sent (`Plain`), probed and absent (the exact name only,
    /// or the wildcard too) and left to the full parse, or gave up without probing.
    #[derive(Debug, PartialEq)]
    enum Fast {
        Hit,
        Plain,
        Absent,
        AbsentBoth,
        GaveUp,
    }

    fn fast(server: &Server<&'static str>, bytes: &[u8]) -> Fast {
        match server.exact_view(bytes, Scheme::Https) {
            Ok(view) if view.exact == Exact::AbsentBoth => {
                // What the full parse reads, host and port, without the lookup.
                let mut scratch = Scratch::new();
                let full = parse_view(bytes, WireUnicode::Reject, &mut scratch).unwrap();
                assert_eq!((view.host, view.port), (full.host, full.port), "{bytes:?}");
                Fast::Plain
            }
            Ok(view) => {
                assert!(matches!(view.exact, Exact::Found(_)));
                Fast::Hit
            }
            Err(Some(probed)) if probed.wildcard => Fast::AbsentBoth,
            Err(Some(_)) => Fast::Absent,
            Err(None) => Fast::GaveUp,
        }
    }

    /// Every way out of the fast path, each with the full decision it leads to: the exact name
    /// must win over the wildcard on every path (the hostile review's defect 1 was a way out
    /// that claimed to have probed when it had not), and a host the full parse refuses must
    /// never be served through a wildcard.
    #[test]
    fn every_way_out_of_the_fast_path_ends_on_the_right_verdict() {
        let label63 = "w".repeat(63);
        for len in [20, 64, 65, 72, 200, 253] {
            let (server, long) = fast_path_server(len);
            let upper = long.to_ascii_uppercase();
            // `Some(value)`: served by it; `Some("www")`: the wildcard site, which needs the
            // `public` policy (this connection is mTLS: rule 6 refuses it, after the match);
            // `None`: refused by rule 1 to 5 (400 or 421).
            let cases: Vec<(String, Fast, Option<&str>)> = vec![
                // The exact probe hits, whatever the case, port or trailing dot.
                (long.clone(), Fast::Hit, Some("exact")),
                (format!("{long}."), Fast::Hit, Some("exact")),
                (format!("{long}:443"), Fast::Hit, Some("exact")),
                (format!("{long}.:0443"), Fast::Hit, Some("exact")),
                (upper.clone(), Fast::Hit, Some("exact")),
                (format!("{upper}.:443"), Fast::Hit, Some("exact")),
                // The wildcard probe hits: a plain lowercase label over the stored parent.
                ("www.example.com".into(), Fast::Hit, Some("www")),
                ("www.example.com.:443".into(), Fast::Hit, Some("www")),
                ("a_b-.example.com".into(), Fast::Hit, Some("www")),
                ("0.example.com".into(), Fast::Hit, Some("www")),
                (format!("{label63}.example.com"), Fast::Hit, Some("www")),
                (format!("a.{}", long_parent()), Fast::Hit, Some("deep")),
                // The wildcard covers the name, but the bytes are not canonical or need IDNA:
                // the full parse decides, the exact probe's absence carried over.
                ("WWW.example.com".into(), Fast::Absent, Some("www")),
                ("www.EXAMPLE.com".into(), Fast::Absent, Some("www")),
                (
                    "xn--bcher-kva.example.com".into(),
                    Fast::Absent,
                    Some("www"),
                ),
                ("xn--bcher-xxx.example.com".into(), Fast::Absent, None),
                ("a.xn--mgbh0fb.example".into(), Fast::Absent, Some("rtl")),
                // RFC 5893's Bidi rule: a label starting with a digit in a right-to-left name.
                ("1a.xn--mgbh0fb.example".into(), Fast::Absent, None),
                ("a_b.xn--mgbh0fb.example".into(), Fast::Absent, Some("rtl")),
                // Not a plain first label, or too long: the full parse decides (and refuses).
                (format!("w{label63}.example.com"), Fast::Absent, None),
                (".example.com".into(), Fast::Absent, None),
                ("a b.example.com".into(), Fast::Absent, None),
                ("a%2e.example.com".into(), Fast::Absent, None),
                ("é.example.com".into(), Fast::Absent, None),
                (
                    format!("{}.{}", "w".repeat(54), long_parent()),
                    Fast::Absent,
                    None,
                ),
                ("nodot".into(), Fast::Absent, None),
                (format!("A{}", "a".repeat(MAX_NAME_LEN)), Fast::Absent, None),
                // Both probes ran and missed: nothing covers the name, valid as sent.
                ("www.example.org".into(), Fast::Plain, None),
                ("a.b.example.com".into(), Fast::Plain, None),
                ("www.example.org.:443".into(), Fast::Plain, None),
                ("w.a_b.-c-.0.org".into(), Fast::Plain, None),
                ("www.example.a12".into(), Fast::Plain, None),
                ("www.example.1a2".into(), Fast::AbsentBoth, None),
                (format!("www.{label63}.org"), Fast::Plain, None),
                (
                    format!("{}.{}", "w".repeat(52), long_name(200, "example.net")),
                    Fast::Plain,
                    None,
                ),
                (
                    format!("{}.{}", "w".repeat(53), long_parent()),
                    Fast::Absent,
                    None,
                ),
                // Both missed, the rest not plain: the full parse reads it (and may refuse it).
                ("www.Example.org".into(), Fast::AbsentBoth, None),
                ("www.example.ORG".into(), Fast::AbsentBoth, None),
                ("www.xn--bcher-kva.org".into(), Fast::AbsentBoth, None),
                ("www.xn--bcher-xxx.org".into(), Fast::AbsentBoth, None),
                ("www.example.1".into(), Fast::AbsentBoth, None),
                ("www.1.2.3".into(), Fast::AbsentBoth, None),
                ("www.0x1f".into(), Fast::AbsentBoth, None),
                ("www.example.1-a".into(), Fast::AbsentBoth, None),
                ("www..org".into(), Fast::AbsentBoth, None),
                ("www.org..".into(), Fast::AbsentBoth, None),
                ("www.org.:".into(), Fast::Plain, None),
                (format!("www.w{label63}.org"), Fast::AbsentBoth, None),
                ("www.exa mple.org".into(), Fast::AbsentBoth, None),
                ("www.exa%6dple.org".into(), Fast::AbsentBoth, None),
                ("www.exämple.org".into(), Fast::AbsentBoth, None),
                ("www.example.org@evil".into(), Fast::AbsentBoth, None),
                ("www.example.org:a".into(), Fast::AbsentBoth, None),
                // A first label that is not plain costs no wildcard probe.
                ("a b.example.org".into(), Fast::Absent, None),
                ("A.example.org".into(), Fast::Absent, None),
                // Gave up before probing: the full path decides everything.
                (format!("{long}:0"), Fast::GaveUp, None),
                (format!("{long}:65536"), Fast::GaveUp, None),
                (format!("{long}:8443"), Fast::GaveUp, None),
                ("x".repeat(MAX_AUTHORITY_LEN + 1), Fast::GaveUp, None),
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
                // The full parse agrees on validity: whatever it refuses is a 400.
                let valid = crate::Authority::parse(authority.as_bytes()).is_ok();
                match served {
                    Some("www") => assert_eq!(
                        verdict.reason().map(|r| r.rule),
                        Some(Rule::Sni),
                        "{authority}"
                    ),
                    Some(value) => assert_eq!(verdict, Verdict::Serve(&value), "{authority}"),
                    None if !valid => {
                        assert_eq!(verdict.status(), Some(400), "{authority}: {verdict:?}");
                    }
                    None => assert!(
                        matches!(verdict, Verdict::Misdirected(_)),
                        "{authority}: {verdict:?}"
                    ),
                }
                // `choose` writes its reason another way: the same rule, the same host.
                assert_eq!(
                    server.choose(&conn, &request).err(),
                    verdict.reason().copied(),
                    "{authority}"
                );
            }
        }
    }

    /// Whatever `plain_rest` accepts, the full parse accepts under a plain first label and
    /// reads unchanged: a name of the bytes as sent. Random rests over the bytes that matter
    /// (label bytes, capitals, `xn--`'s letters, digits, dots, bytes no label holds), and labels
    /// at 63 and 64 octets.
    #[test]
    fn a_plain_rest_is_what_the_full_parse_reads() {
        const BYTES: &[u8] = b"az09-_.AZxn-.. %@:[*\x80\xff";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % below as u64).unwrap()
        };
        let mut rests: Vec<Vec<u8>> = (0..200_000)
            .map(|_| (0..next(14)).map(|_| BYTES[next(BYTES.len())]).collect())
            .collect();
        for len in [62, 63, 64] {
            rests.push([&b"l".repeat(len)[..], b".org"].concat());
            rests.push([&b"org."[..], &b"l".repeat(len)].concat());
        }
        rests.extend(
            [&b"xn--bcher-kva"[..], b"a.xn--x", b"0", b"a.0x1", b"a.1-a"].map(<[u8]>::to_vec),
        );
        let mut plain = 0;
        for rest in &rests {
            if !plain_rest(rest) {
                continue;
            }
            plain += 1;
            let name = [&b"w."[..], rest].concat();
            let mut scratch = Scratch::new();
            let full = parse_view(&name, WireUnicode::Reject, &mut scratch);
            assert!(
                matches!(full, Ok(view) if view.host == HostView::Name(&name) && view.port.is_none()),
                "{:?}: {full:?}",
                String::from_utf8_lossy(&name)
            );
        }
        // The generator reaches both sides.
        assert!(plain > 1_000 && plain < rests.len() / 2, "{plain}");
        assert!(!plain_rest(b"xn--bcher-kva") && !plain_rest(b"a.0x1") && !plain_rest(b""));
        assert!(plain_rest(&[&b"l".repeat(63)[..], b".org"].concat()));
        assert!(!plain_rest(&[&b"l".repeat(64)[..], b".org"].concat()));
    }

    #[test]
    fn the_first_label_is_plain_only_with_lowercase_label_bytes() {
        for b in 0..=255u8 {
            let name = [b'a', b, b'z', b'.', b'c'];
            let plain = b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_';
            let expected = if b == b'.' {
                Some(1)
            } else {
                plain.then_some(3)
            };
            assert_eq!(plain_first_label(&name), expected, "{b:#x}");
        }
        assert_eq!(plain_first_label(b".a"), None);
        assert_eq!(plain_first_label(b"a"), None);
        assert_eq!(plain_first_label(b"a:443"), None);
        assert_eq!(
            plain_first_label(&[&[b'a'; 63][..], b".b"].concat()),
            Some(63)
        );
        assert_eq!(plain_first_label(&[&[b'a'; 64][..], b".b"].concat()), None);
        assert_eq!(plain_first_label(b"xn--bcher-kva.example"), Some(13));
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
