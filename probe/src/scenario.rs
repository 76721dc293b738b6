//! Request shapes, and the scenarios generated from a configuration.
//!
//! A [`Shape`] can only say how a `GET /` names its origin: the HTTP version, the
//! request-target form, the `Host` lines, `:scheme`, `:authority`. There is no method, path or
//! body to set, so the probe cannot send anything else: safe by construction.

use core::fmt;

use misdirect::{Connection, Method, Request, Server, Target, Version};

/// The User-Agent of every probe request; the scenario number follows it.
pub const USER_AGENT: &str = "misdirect-probe";

/// How a `GET /` without a body names its origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// HTTP/1.0 or HTTP/1.1, written byte for byte.
    Http1 {
        /// `HTTP/1.0` instead of `HTTP/1.1`.
        http10: bool,
        /// The absolute-form target's scheme and authority (`scheme://authority/`); `None`
        /// for the origin-form `/`.
        absolute: Option<(Vec<u8>, Vec<u8>)>,
        /// The `Host` field lines, in order (none, one, or more).
        hosts: Vec<Vec<u8>>,
    },
    /// HTTP/2: `:method GET` and `:path /` always; the rest as given.
    Http2 {
        /// `:scheme`, if sent.
        scheme: Option<Vec<u8>>,
        /// Every `:authority` sent, in order.
        authorities: Vec<Vec<u8>>,
        /// Every `host` field sent, in order.
        hosts: Vec<Vec<u8>>,
    },
    /// HTTP/3, over QUIC: the same fields as [`Shape::Http2`], in the same order (RFC 9114
    /// §4.3.1 gives them the meaning RFC 9113 §8.3.1 does, and adds that a `host` beside
    /// `:authority` must be identical to it).
    Http3 {
        /// `:scheme`, if sent.
        scheme: Option<Vec<u8>>,
        /// Every `:authority` sent, in order.
        authorities: Vec<Vec<u8>>,
        /// Every `host` field sent, in order.
        hosts: Vec<Vec<u8>>,
    },
}

impl Shape {
    /// An HTTP/2 request with `:scheme https` and this `:authority`.
    #[must_use]
    pub fn h2(authority: &str) -> Shape {
        Shape::Http2 {
            scheme: Some(b"https".to_vec()),
            authorities: vec![authority.as_bytes().to_vec()],
            hosts: Vec::new(),
        }
    }

    /// An HTTP/1.1 request in origin-form with this one `Host`.
    #[must_use]
    pub fn h1(host: &str) -> Shape {
        Shape::Http1 {
            http10: false,
            absolute: None,
            hosts: vec![host.as_bytes().to_vec()],
        }
    }

    /// Whether the shape is sent over HTTP/2.
    #[must_use]
    pub fn is_h2(&self) -> bool {
        matches!(self, Shape::Http2 { .. })
    }

    /// Whether the shape is sent over HTTP/3.
    #[must_use]
    pub fn is_h3(&self) -> bool {
        matches!(self, Shape::Http3 { .. })
    }

    /// The same request over HTTP/3, for an HTTP/2 shape (`None` for the others).
    #[must_use]
    pub fn to_h3(&self) -> Option<Shape> {
        match self {
            Shape::Http2 {
                scheme,
                authorities,
                hosts,
            } => Some(Shape::Http3 {
                scheme: scheme.clone(),
                authorities: authorities.clone(),
                hosts: hosts.clone(),
            }),
            _ => None,
        }
    }

    /// The HTTP version, as the decision reads it.
    #[must_use]
    pub fn version(&self) -> Version {
        match self {
            Shape::Http1 { http10: true, .. } => Version::Http10,
            Shape::Http1 { .. } => Version::Http11,
            Shape::Http2 { .. } => Version::Http2,
            Shape::Http3 { .. } => Version::Http3,
        }
    }

    /// The HTTP/1.x request's bytes (`None` for HTTP/2). `scenario` goes into the User-Agent,
    /// so a server's log says which scenario each request was.
    #[must_use]
    pub fn http1_bytes(&self, scenario: usize) -> Option<Vec<u8>> {
        let Shape::Http1 {
            http10,
            absolute,
            hosts,
        } = self
        else {
            return None;
        };
        let mut out = b"GET ".to_vec();
        match absolute {
            Some((scheme, authority)) => {
                out.extend_from_slice(scheme);
                out.extend_from_slice(b"://");
                out.extend_from_slice(authority);
                out.push(b'/');
            }
            None => out.push(b'/'),
        }
        out.extend_from_slice(if *http10 {
            b" HTTP/1.0\r\n"
        } else {
            b" HTTP/1.1\r\n"
        });
        for host in hosts {
            out.extend_from_slice(b"Host: ");
            out.extend_from_slice(host);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(
            format!("User-Agent: {USER_AGENT} {scenario}\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        Some(out)
    }

    /// The HTTP/2 or HTTP/3 request's fields, pseudo-headers first (`None` for HTTP/1.x).
    #[must_use]
    pub fn http2_fields(&self, scenario: usize) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
        let (Shape::Http2 {
            scheme,
            authorities,
            hosts,
        }
        | Shape::Http3 {
            scheme,
            authorities,
            hosts,
        }) = self
        else {
            return None;
        };
        let mut fields = vec![(b":method".to_vec(), b"GET".to_vec())];
        if let Some(scheme) = scheme {
            fields.push((b":scheme".to_vec(), scheme.clone()));
        }
        for authority in authorities {
            fields.push((b":authority".to_vec(), authority.clone()));
        }
        fields.push((b":path".to_vec(), b"/".to_vec()));
        for host in hosts {
            fields.push((b"host".to_vec(), host.clone()));
        }
        fields.push((
            b"user-agent".to_vec(),
            format!("{USER_AGENT} {scenario}").into_bytes(),
        ));
        Some(fields)
    }

    /// The status the crate answers this request with on this connection (`None`: served).
    pub fn status<T>(&self, server: &Server<T>, conn: &Connection) -> Option<u16> {
        self.with_request(|request| server.decide(conn, request).status())
    }

    /// The virtual host (by position) the crate would serve this request from, or the reason
    /// it would not, handed to `f` (the reason borrows the request, which lives only here).
    pub fn choose<T, R>(
        &self,
        server: &Server<T>,
        conn: &Connection,
        f: impl FnOnce(Result<u32, misdirect::Reason<'_>>) -> R,
    ) -> R {
        self.with_request(|request| f(server.choose(conn, request)))
    }

    fn with_request<R>(&self, f: impl FnOnce(&Request<'_>) -> R) -> R {
        match self {
            Shape::Http1 {
                absolute, hosts, ..
            } => {
                let hosts: Vec<&[u8]> = hosts.iter().map(Vec::as_slice).collect();
                let target = match absolute {
                    Some((scheme, authority)) => Target::Absolute { scheme, authority },
                    None => Target::Origin,
                };
                f(&Request {
                    version: self.version(),
                    method: Method::Other,
                    scheme: None,
                    authorities: &[],
                    hosts: &hosts,
                    target,
                })
            }
            Shape::Http2 {
                scheme,
                authorities,
                hosts,
            }
            | Shape::Http3 {
                scheme,
                authorities,
                hosts,
            } => {
                let authorities: Vec<&[u8]> = authorities.iter().map(Vec::as_slice).collect();
                let hosts: Vec<&[u8]> = hosts.iter().map(Vec::as_slice).collect();
                f(&Request {
                    version: self.version(),
                    method: Method::Other,
                    scheme: scheme.as_deref(),
                    authorities: &authorities,
                    hosts: &hosts,
                    target: Target::Origin,
                })
            }
        }
    }
}

/// Bytes as text: printable ASCII as it is, anything else (space included) escaped, so a line
/// shows exactly what was sent.
pub(crate) struct Shown<'a>(pub &'a [u8]);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.0 {
            if b.is_ascii_graphic() {
                write!(f, "{}", char::from(b))?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Shape {
    /// One line: `h2 :scheme=https :authority=b.example.test:8443 host=...` (`h3 ...` over
    /// HTTP/3) or `HTTP/1.1 GET https://b.example.test:8443/ Host=...` (`no Host` when there
    /// is none).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Http1 {
                http10,
                absolute,
                hosts,
            } => {
                f.write_str(if *http10 { "HTTP/1.0" } else { "HTTP/1.1" })?;
                match absolute {
                    Some((scheme, authority)) => {
                        write!(f, " GET {}://{}/", Shown(scheme), Shown(authority))?;
                    }
                    None => f.write_str(" GET /")?,
                }
                if hosts.is_empty() {
                    f.write_str(" no Host")?;
                }
                for host in hosts {
                    write!(f, " Host={}", Shown(host))?;
                }
                Ok(())
            }
            Shape::Http2 {
                scheme,
                authorities,
                hosts,
            }
            | Shape::Http3 {
                scheme,
                authorities,
                hosts,
            } => {
                f.write_str(if self.is_h3() { "h3" } else { "h2" })?;
                match scheme {
                    Some(scheme) if scheme.as_slice() != b"https" => {
                        write!(f, " :scheme={}", Shown(scheme))?;
                    }
                    Some(_) => {}
                    None => f.write_str(" no :scheme")?,
                }
                if authorities.is_empty() {
                    f.write_str(" no :authority")?;
                }
                for authority in authorities {
                    write!(f, " :authority={}", Shown(authority))?;
                }
                for host in hosts {
                    write!(f, " host={}", Shown(host))?;
                }
                Ok(())
            }
        }
    }
}

/// Which family of cases a scenario belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Group {
    /// A configured name (or an unknown one) on a connection opened for another (or the same)
    /// name: coalescing and domain fronting.
    Pair,
    /// Case and trailing-dot spellings of a name.
    Spelling,
    /// The port or the scheme does not match the connection.
    PortScheme,
    /// An authority that must not parse.
    Malformed,
    /// `Host`, `:authority` and the request-target disagreeing, repeated or missing.
    Framing,
    /// A virtual host whose policy requires a client certificate (its `[[policies]]` table
    /// says `client_auth = "required"`), reached by a handshake without one.
    ClientAuth,
    /// The HTTP/2 requests of the pair, spelling, port-scheme, malformed and framing groups,
    /// sent over HTTP/3 to the server's QUIC endpoint (`--h3`), one connection per SNI.
    Http3,
    /// A TLS 1.3 ticket or TLS 1.2 session obtained under one SNI and policy, offered under
    /// another SNI (or the same one, for another virtual host), and 0-RTT early data: after a
    /// resumption the connection's facts are the original handshake's certificate and policy
    /// (SPEC "Resumption", CVE-2025-23048).
    Resumption,
}

impl Group {
    /// Every group, in sending order.
    pub const ALL: [Group; 8] = [
        Group::Pair,
        Group::Spelling,
        Group::PortScheme,
        Group::Malformed,
        Group::Framing,
        Group::ClientAuth,
        Group::Http3,
        Group::Resumption,
    ];

    /// The group with this short name ([`Group::name`]).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.name() == name)
    }

    /// The group's short name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Group::Pair => "pair",
            Group::Spelling => "spelling",
            Group::PortScheme => "port-scheme",
            Group::Malformed => "malformed",
            Group::Framing => "framing",
            Group::ClientAuth => "client-auth",
            Group::Http3 => "h3",
            Group::Resumption => "resumption",
        }
    }
}

/// One request to send on a connection opened with an SNI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Its number, from 1, in sending order.
    pub id: usize,
    /// Its family.
    pub group: Group,
    /// The SNI of the connection it is sent on (`None`: no SNI).
    pub sni: Option<String>,
    /// What it tests, in words.
    pub label: String,
    /// The request.
    pub shape: Shape,
}

/// A configured name the probe uses: one per virtual host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Site {
    /// A host the virtual host answers to (its first exact name, or one label under its first
    /// wildcard).
    pub name: String,
}

/// What generation needs: the names, the origin port, and how two names relate.
pub(crate) struct Plan<'a> {
    /// The listener's first origin port: the port every authority carries.
    pub port: u16,
    /// The listener's origin ports.
    pub origin_ports: &'a [u16],
    /// One name per virtual host serving https on `port`, in configuration order.
    pub sites: Vec<Site>,
    /// A name a presented certificate covers that no virtual host claims, if there is one.
    pub covered_unknown: Option<String>,
    /// A name no certificate covers.
    pub uncovered: String,
    /// How a target name relates to a connection's SNI, in words.
    pub relation: &'a dyn Fn(Option<&str>, &str) -> String,
    /// The name on connection A that is coalesced there (covered, same policy), if any.
    pub coalesced: Option<String>,
    /// Whether the server's HTTP/3 endpoint is probed too ([`Group::Http3`]).
    pub h3: bool,
}

/// The connections, each with its scenarios: one per site name, then one without SNI.
pub(crate) fn generate(plan: &Plan<'_>) -> Vec<Scenario> {
    let mut out: Vec<Scenario> = Vec::new();
    let mut push = |group: Group, sni: Option<&str>, label: String, shape: Shape| {
        out.push(Scenario {
            id: out.len() + 1,
            group,
            sni: sni.map(str::to_string),
            label,
            shape,
        });
    };
    let port = plan.port;
    let with_port = |name: &str| format!("{name}:{port}");
    let mut targets: Vec<String> = plan.sites.iter().map(|s| s.name.clone()).collect();
    targets.extend(plan.covered_unknown.clone());
    targets.push(plan.uncovered.clone());
    let snis: Vec<Option<&str>> = plan
        .sites
        .iter()
        .map(|s| Some(s.name.as_str()))
        .chain([None])
        .collect();
    let shout = |name: &str| format!("{}.", name.to_ascii_uppercase());

    for (i, &sni) in snis.iter().enumerate() {
        // Every name on this connection, as a coalescing client (HTTP/2) or a fronting one
        // (HTTP/1.1) would send it, as written and shouted with a trailing dot.
        for target in &targets {
            let relation = (plan.relation)(sni, target);
            for spelled in [target.clone(), shout(target)] {
                let label = if &spelled == target {
                    relation.clone()
                } else {
                    format!("{relation}; capitals and trailing dot")
                };
                push(
                    Group::Pair,
                    sni,
                    label.clone(),
                    Shape::h2(&with_port(&spelled)),
                );
                push(Group::Pair, sni, label, Shape::h1(&with_port(&spelled)));
            }
        }
        if i != 0 {
            continue;
        }
        // Connection A: the first site's. Spellings, ports, schemes, malformed hosts and
        // framing all go there.
        let a = plan.sites[0].name.as_str();
        for (spelled, what) in [
            (a.to_ascii_uppercase(), "in capitals"),
            (format!("{a}."), "with a trailing dot"),
        ] {
            let label = format!("its own name {what}");
            push(
                Group::Spelling,
                sni,
                label.clone(),
                Shape::h2(&with_port(&spelled)),
            );
            push(Group::Spelling, sni, label, Shape::h1(&with_port(&spelled)));
        }
        let other_port = (1..=u16::MAX)
            .map(|d| port.wrapping_add(d))
            .find(|p| *p != 0 && !plan.origin_ports.contains(p))
            .unwrap_or(1);
        let mut names = vec![a.to_string()];
        names.extend(plan.coalesced.clone());
        for name in &names {
            let mut authorities = vec![
                (name.clone(), "no port: the scheme's default".to_string()),
                (format!("{name}:"), "empty port: the default".to_string()),
                (
                    format!("{name}:{other_port}"),
                    "a port this listener does not serve".to_string(),
                ),
            ];
            if port != 443 {
                authorities.insert(1, (format!("{name}:443"), "port 443".to_string()));
            }
            for (authority, what) in authorities {
                push(Group::PortScheme, sni, what.clone(), Shape::h2(&authority));
                push(Group::PortScheme, sni, what, Shape::h1(&authority));
            }
            push(
                Group::PortScheme,
                sni,
                ":scheme http on TLS".into(),
                Shape::Http2 {
                    scheme: Some(b"http".to_vec()),
                    authorities: vec![with_port(name).into_bytes()],
                    hosts: Vec::new(),
                },
            );
            for scheme in ["http", "https"] {
                push(
                    Group::PortScheme,
                    sni,
                    format!("absolute-form {scheme}:// on TLS"),
                    Shape::Http1 {
                        http10: false,
                        absolute: Some((scheme.as_bytes().to_vec(), with_port(name).into_bytes())),
                        hosts: vec![with_port(name).into_bytes()],
                    },
                );
            }
        }
        for (host, what) in malformed(a, port) {
            push(Group::Malformed, sni, what.into(), Shape::h2(&host));
            push(Group::Malformed, sni, what.into(), Shape::h1(&host));
        }
        let b = plan.coalesced.clone().unwrap_or_else(|| a.to_string());
        let (a_p, b_p, c_p) = (
            with_port(a).into_bytes(),
            with_port(&b).into_bytes(),
            with_port(&plan.uncovered).into_bytes(),
        );
        let h1 = |http10: bool, absolute: Option<&[u8]>, hosts: &[&[u8]]| Shape::Http1 {
            http10,
            absolute: absolute.map(|a| (b"https".to_vec(), a.to_vec())),
            hosts: hosts.iter().map(|h| h.to_vec()).collect(),
        };
        let h2 = |scheme: bool, authorities: &[&[u8]], hosts: &[&[u8]]| Shape::Http2 {
            scheme: scheme.then(|| b"https".to_vec()),
            authorities: authorities.iter().map(|a| a.to_vec()).collect(),
            hosts: hosts.iter().map(|h| h.to_vec()).collect(),
        };
        let framing: Vec<(&str, Shape)> = vec![
            ("two Host lines", h1(false, None, &[&a_p, &b_p])),
            ("two identical Host lines", h1(false, None, &[&a_p, &a_p])),
            ("HTTP/1.1 without Host", h1(false, None, &[])),
            ("HTTP/1.0 without Host", h1(true, None, &[])),
            ("HTTP/1.0 with Host", h1(true, None, &[&b_p])),
            (
                "HTTP/1.1 absolute-form without Host",
                h1(false, Some(&b_p), &[]),
            ),
            (
                "HTTP/1.0 absolute-form without Host",
                h1(true, Some(&b_p), &[]),
            ),
            (
                "absolute-form and a Host that disagrees",
                h1(false, Some(&b_p), &[&a_p]),
            ),
            (
                "absolute-form and a Host that agrees",
                h1(false, Some(&b_p), &[&b_p]),
            ),
            (
                ":authority and a host that disagrees",
                h2(true, &[&a_p], &[&b_p]),
            ),
            (
                ":authority and a host that agrees",
                h2(true, &[&a_p], &[&a_p]),
            ),
            (
                ":authority and an uncovered host",
                h2(true, &[&b_p], &[&c_p]),
            ),
            ("host without :authority", h2(true, &[], &[&b_p])),
            (
                "two host fields, no :authority",
                h2(true, &[], &[&a_p, &b_p]),
            ),
            ("neither :authority nor host", h2(true, &[], &[])),
            ("two :authority", h2(true, &[&a_p, &b_p], &[])),
            ("no :scheme", h2(false, &[&a_p], &[])),
        ];
        for (what, shape) in framing {
            push(Group::Framing, sni, what.into(), shape);
        }
    }
    if plan.h3 {
        // Every HTTP/2 request again over HTTP/3, in the same order (so grouped by SNI: one
        // QUIC connection each), labelled with the group it came from.
        let copies: Vec<(Option<String>, String, Shape)> = out
            .iter()
            .filter_map(|s| {
                let shape = s.shape.to_h3()?;
                Some((
                    s.sni.clone(),
                    format!("{}: {}", s.group.name(), s.label),
                    shape,
                ))
            })
            .collect();
        for (sni, label, shape) in copies {
            out.push(Scenario {
                id: out.len() + 1,
                group: Group::Http3,
                sni,
                label,
                shape,
            });
        }
    }
    out
}

/// Authorities the wire parser must refuse (or, for the 253-octet name, must read exactly),
/// built around the name `a` and the port.
fn malformed(a: &str, port: u16) -> Vec<(String, &'static str)> {
    let (first, parent) = a.split_once('.').unwrap_or((a, "test"));
    vec![
        (format!("user@{a}:{port}"), "userinfo"),
        (format!("[fe80::1%25eth0]:{port}"), "IPv6 zone id"),
        (format!("0x7f.0.0.1:{port}"), "hex IPv4"),
        (format!("{first}..{parent}:{port}"), "empty label"),
        (format!("{first} .{parent}:{port}"), "space"),
        (format!("xn--a.{parent}:{port}"), "invalid Punycode xn--a"),
        (format!("{first}%2e{parent}:{port}"), "percent-encoding"),
        (format!("{first}\u{e4}.{parent}:{port}"), "raw UTF-8"),
        (format!("{a}:0"), "port 0"),
        (format!("{a}:{port}0000"), "port past 65535"),
        (
            format!("{}:{port}", long_name(parent, 253)),
            "253-octet name with capitals",
        ),
        (
            format!("{}:{port}", long_name(parent, 254)),
            "254-octet name (too long)",
        ),
    ]
}

/// A name of exactly `total` octets ending in `.PARENT`, in capitals, labels of at most 63.
pub(crate) fn long_name(parent: &str, total: usize) -> String {
    let suffix = format!(".{}", parent.to_ascii_uppercase());
    let mut rest = total.saturating_sub(suffix.len()).max(1);
    let mut out = String::new();
    while rest > 63 {
        let take = 63.min(rest - 2);
        out.push_str(&"X".repeat(take));
        out.push('.');
        rest -= take + 1;
    }
    out.push_str(&"X".repeat(rest));
    out.push_str(&suffix);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of<'a>(sites: usize, relation: &'a dyn Fn(Option<&str>, &str) -> String) -> Plan<'a> {
        Plan {
            port: 8443,
            origin_ports: &[8443],
            sites: (0..sites)
                .map(|i| Site {
                    name: format!("s{i}.example.test"),
                })
                .collect(),
            covered_unknown: Some("probe-unknown.example.test".into()),
            uncovered: "misdirect-probe.invalid".into(),
            relation,
            coalesced: (sites > 1).then(|| "s1.example.test".into()),
            h3: false,
        }
    }

    #[test]
    fn generation_follows_the_configuration_and_stays_under_the_limit() {
        let relation = |_: Option<&str>, target: &str| target.to_string();
        // Four names: five connections (each SNI and none) times six targets (the four, one
        // covered unknown, one uncovered) times two spellings and two versions, plus the
        // first connection's spellings (4), ports and schemes (2 names x 11), malformed
        // authorities (12 x 2) and framing (17).
        let scenarios = generate(&plan_of(4, &relation));
        assert_eq!(scenarios.len(), 5 * 6 * 4 + 4 + 22 + 24 + 17);
        assert!(scenarios.iter().enumerate().all(|(i, s)| s.id == i + 1));
        // Grouped by connection, the first SNI's first, no SNI last.
        assert_eq!(scenarios[0].sni.as_deref(), Some("s0.example.test"));
        assert_eq!(scenarios.last().unwrap().sni, None);
        // The most names a run takes stays under the request limit.
        let most = generate(&plan_of(super::super::MAX_SITES, &relation));
        assert!(most.len() <= super::super::MAX_REQUESTS, "{}", most.len());
        // Only GET / is ever written.
        for s in &most {
            if let Some(bytes) = s.shape.http1_bytes(s.id) {
                assert!(bytes.starts_with(b"GET /") || bytes.starts_with(b"GET http"));
            }
            if let Some(fields) = s.shape.http2_fields(s.id) {
                assert_eq!(fields[0], (b":method".to_vec(), b"GET".to_vec()));
                assert!(fields.contains(&(b":path".to_vec(), b"/".to_vec())));
            }
        }
    }

    #[test]
    fn with_http3_every_http2_request_is_sent_again_over_quic() {
        let relation = |_: Option<&str>, target: &str| target.to_string();
        let mut plan = plan_of(4, &relation);
        let tcp = generate(&plan);
        plan.h3 = true;
        let all = generate(&plan);
        let (before, copies) = all.split_at(tcp.len());
        assert_eq!(
            before,
            tcp.as_slice(),
            "the TCP scenarios are unchanged, first"
        );
        let h2: Vec<&Scenario> = tcp.iter().filter(|s| s.shape.is_h2()).collect();
        assert_eq!(copies.len(), h2.len());
        for (copy, original) in copies.iter().zip(h2) {
            assert_eq!(copy.group, Group::Http3);
            assert!(copy.shape.is_h3());
            assert_eq!(copy.sni, original.sni);
            assert_eq!(
                copy.label,
                format!("{}: {}", original.group.name(), original.label)
            );
            assert_eq!(copy.shape.http2_fields(1), original.shape.http2_fields(1));
            assert_eq!(copy.shape.version(), Version::Http3);
            assert_eq!(
                copy.shape.to_string(),
                original.shape.to_string().replacen("h2", "h3", 1)
            );
        }
        assert!(all.iter().enumerate().all(|(i, s)| s.id == i + 1));
        // Eight names over all three versions stay under the request limit.
        let mut most = plan_of(super::super::MAX_SITES, &relation);
        most.h3 = true;
        let most = generate(&most);
        assert!(most.len() <= super::super::MAX_REQUESTS, "{}", most.len());
    }

    #[test]
    fn long_names_have_their_length() {
        for total in [253, 254, 100, 64, 65, 66] {
            let name = long_name("example.test", total);
            assert_eq!(name.len(), total, "{name}");
            assert!(name.split('.').all(|l| !l.is_empty() && l.len() <= 63));
            assert!(name.ends_with(".EXAMPLE.TEST"));
        }
    }

    #[test]
    fn shapes_write_what_they_say() {
        let shape = Shape::Http1 {
            http10: false,
            absolute: Some((b"https".to_vec(), b"b.example:8443".to_vec())),
            hosts: vec![b"a.example".to_vec(), b"b.example".to_vec()],
        };
        assert_eq!(
            String::from_utf8(shape.http1_bytes(7).unwrap()).unwrap(),
            "GET https://b.example:8443/ HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\
             User-Agent: misdirect-probe 7\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(
            shape.to_string(),
            "HTTP/1.1 GET https://b.example:8443/ Host=a.example Host=b.example"
        );
        let shape = Shape::Http2 {
            scheme: None,
            authorities: vec![],
            hosts: vec![b"a b".to_vec()],
        };
        let fields = shape.http2_fields(1).unwrap();
        assert_eq!(fields[0], (b":method".to_vec(), b"GET".to_vec()));
        assert_eq!(fields[1], (b":path".to_vec(), b"/".to_vec()));
        assert_eq!(fields[2], (b"host".to_vec(), b"a b".to_vec()));
        assert_eq!(
            shape.to_string(),
            "h2 no :scheme no :authority host=a\\x20b"
        );
        assert!(shape.http1_bytes(1).is_none());
    }
}
