//! Fixtures shared by the benchmarks: servers of N virtual hosts on one certificate, the request
//! classes, and the baseline: the glue a careful Rust user writes today without misdirect.
#![allow(dead_code)]

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

use misdirect::{
    CertificateConfig, Config, Connection, ConnectionFacts, Handshake, ListenerConfig, Method,
    Request, Server, Target, Version, VhostConfig,
};
use rustls_pki_types::{CertificateDer, ServerName};

/// The request classes: (name, `:authority` bytes). Every one but the last two is served.
pub const CLASSES: &[(&str, &[u8])] = &[
    ("plain", b"api.example.com:443"),
    ("mixed_case_dot", b"API.Example.COM."),
    ("a_label", b"xn--bcher-kva.example.com"),
    ("wildcard", b"www.example.com"),
    ("ipv6", b"[2001:db8::1]"),
    ("misdirected", b"www.other.org"),
    ("malformed", b"exa mple.com"),
];

/// The SANs the request classes need: `*.example.com` covers every DNS class, the address the
/// IPv6 one.
const NEEDED: [&str; 3] = ["example.com", "2001:db8::1", "*.example.com"];

/// A certificate's SANs: `extra` unrelated names first, then the ones the requests need, so
/// the matching SAN sits last.
pub fn sans(extra: usize) -> Vec<String> {
    let mut sans: Vec<String> = (0..extra).map(|i| format!("n{i}.example.net")).collect();
    sans.extend(NEEDED.iter().map(|s| s.to_string()));
    sans
}

/// Where the SANs the requests match sit in a certificate's list.
#[derive(Clone, Copy, Debug)]
pub enum SanPosition {
    First,
    Middle,
    Last,
}

impl SanPosition {
    pub const ALL: [SanPosition; 3] = [SanPosition::Middle, SanPosition::First, SanPosition::Last];

    pub fn name(self) -> &'static str {
        match self {
            SanPosition::First => "first",
            SanPosition::Middle => "middle",
            SanPosition::Last => "last",
        }
    }

    /// A 13-SAN certificate (10 unrelated names and the three the requests need) whose SAN
    /// that the DNS classes match, `*.example.com`, is the first, the seventh (the middle) or
    /// the thirteenth (the last); the IPv6 class's `2001:db8::1` sits beside it (second,
    /// eighth, twelfth).
    pub fn sans(self) -> Vec<String> {
        let extra: Vec<String> = (0..10).map(|i| format!("n{i}.example.net")).collect();
        let needed = |order: [&str; 3]| order.map(str::to_string);
        let front = needed(["*.example.com", "2001:db8::1", "example.com"]);
        match self {
            SanPosition::First => [front.to_vec(), extra].concat(),
            SanPosition::Middle => {
                [extra[..6].to_vec(), front.to_vec(), extra[6..].to_vec()].concat()
            }
            SanPosition::Last => [
                extra,
                needed(["example.com", "2001:db8::1", "*.example.com"]).to_vec(),
            ]
            .concat(),
        }
    }
}

/// A TLS server with `vhosts` virtual hosts (`v<i>.example.com`, plus the ones the classes name)
/// on one certificate with these SANs.
pub fn server(vhosts: usize, sans: &[String]) -> Server<usize> {
    let mut list = vec![
        VhostConfig::new("api", &["api.example.com"], "public", 0),
        VhostConfig::new("idn", &["xn--bcher-kva.example.com"], "public", 1),
        VhostConfig::new("ip", &["2001:db8::1"], "public", 2),
        VhostConfig::new("wild", &["*.example.com"], "public", 3),
    ];
    for i in list.len()..vhosts.max(list.len()) {
        // Every tenth name is written with a U-label, as configuration may be.
        let name = if i % 10 == 0 {
            format!("bücher{i}.example.com")
        } else {
            format!("v{i}.example.com")
        };
        list.push(VhostConfig::new(&format!("v{i}"), &[name], "public", i));
    }
    let mut tls = ListenerConfig::new("tls", true, 443);
    tls.default_tls_vhost = Some("api".into());
    Server::build(Config {
        listeners: vec![tls],
        vhosts: list,
        certificates: vec![CertificateConfig::new("edge", sans)],
        policies: vec!["public".into()],
        ..Config::default()
    })
    .expect("benchmark server")
}

/// The connection every request arrives on: SNI api.example.com, the one certificate.
pub fn connection(server: &Server<usize>) -> Connection {
    server
        .connection(&ConnectionFacts {
            listener: server.listener_id("tls").unwrap(),
            tls: Some(Handshake {
                sni: Some(b"api.example.com"),
                certificate: server.certificate_id("edge").unwrap(),
                policy: server.policy_id("public"),
            }),
            gateway: None,
        })
        .unwrap()
}

/// An HTTP/2 request for `authority`.
pub fn request<'a>(authority: &'a [&'a [u8]]) -> Request<'a> {
    Request {
        version: Version::Http2,
        method: Method::Other,
        scheme: Some(b"https"),
        authorities: authority,
        hosts: &[],
        target: Target::Origin,
    }
}

/// The same certificate as DER, made once.
pub fn certificate_der(sans: &[String]) -> CertificateDer<'static> {
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(sans.to_vec()).expect("params");
    params.self_signed(&key).expect("certificate").der().clone()
}

/// What a careful user writes without misdirect: parse with `http`, IDNA with `idna`, drop the
/// trailing dot, check the certificate with rustls-webpki (certificate parsed once at set-up),
/// look the lowercase host up in a `HashMap`, and on a miss try the `*.parent` key once.
pub struct Glue {
    cert: webpki::EndEntityCert<'static>,
    vhosts: HashMap<String, usize>,
}

/// The glue's verdict, like misdirect's: serve a value, or a status.
#[derive(Debug, PartialEq, Eq)]
pub enum GlueVerdict {
    Serve(usize),
    Status(u16),
}

impl Glue {
    pub fn new(server: &Server<usize>, der: &'static CertificateDer<'static>) -> Glue {
        let cert = webpki::EndEntityCert::try_from(der).expect("webpki parses the certificate");
        let mut vhosts = HashMap::new();
        for vhost in &server.config().vhosts {
            for name in &vhost.names {
                vhosts.insert(name.to_ascii_lowercase(), vhost.value);
            }
        }
        Glue { cert, vhosts }
    }

    pub fn decide(&self, authority: &[u8]) -> GlueVerdict {
        let Ok(text) = std::str::from_utf8(authority) else {
            return GlueVerdict::Status(400);
        };
        let Ok(parsed) = text.parse::<http::uri::Authority>() else {
            return GlueVerdict::Status(400);
        };
        if parsed.port_u16().unwrap_or(443) != 443 {
            return GlueVerdict::Status(421);
        }
        let host = parsed.host();
        let (name, ip): (Cow<'_, str>, Option<Ipv6Addr>) =
            match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
                Some(literal) => {
                    let Ok(ip) = literal.parse::<Ipv6Addr>() else {
                        return GlueVerdict::Status(400);
                    };
                    (Cow::Owned(ip.to_string()), Some(ip))
                }
                None => {
                    let host = host.strip_suffix('.').unwrap_or(host);
                    match idna::domain_to_ascii_cow(host.as_bytes(), idna::AsciiDenyList::URL) {
                        Ok(ascii) => (ascii, None),
                        Err(_) => return GlueVerdict::Status(400),
                    }
                }
            };
        let server_name = match ip {
            Some(ip) => ServerName::IpAddress(IpAddr::V6(ip).into()),
            None => match ServerName::try_from(name.as_ref()) {
                Ok(server_name) => server_name,
                Err(_) => return GlueVerdict::Status(400),
            },
        };
        if self
            .cert
            .verify_is_valid_for_subject_name(&server_name)
            .is_err()
        {
            return GlueVerdict::Status(421);
        }
        if let Some(&v) = self.vhosts.get(name.as_ref()) {
            return GlueVerdict::Serve(v);
        }
        let wildcard = name.find('.').map(|dot| format!("*{}", &name[dot..]));
        match wildcard.and_then(|key| self.vhosts.get(&key).copied()) {
            Some(v) => GlueVerdict::Serve(v),
            None => GlueVerdict::Status(421),
        }
    }
}

/// A hand-written parse plus one hash lookup, written the obvious way: lowercase into a
/// `String`, strip the port and trailing dot, `HashMap::get`. It checks nothing else.
pub fn obvious_lookup(map: &HashMap<String, usize>, authority: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(authority).ok()?;
    let host = text.rsplit_once(':').map_or(text, |(h, _)| h);
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    map.get(&host).copied()
}

/// The floor: what a performance-minded user writes when they check nothing. Lowercase into a
/// stack buffer, split the port, drop one trailing dot, one probe of a foldhash map, and on a
/// miss one probe for `*.parent` (written into the same buffer). No allocation, no validation,
/// no certificate, no port or scheme check: a lower bound on any lookup by name, not a
/// decision.
pub struct Floor {
    table: hashbrown::HashTable<(Box<[u8]>, usize)>,
    state: foldhash::fast::RandomState,
}

impl Floor {
    /// The server's names as lowercase keys (addresses without brackets), wildcards as written.
    pub fn new(server: &Server<usize>) -> Floor {
        let state = foldhash::fast::RandomState::default();
        let mut table = hashbrown::HashTable::new();
        for vhost in &server.config().vhosts {
            for name in &vhost.names {
                // The configuration's names may be U-labels; the wire carries A-labels.
                let key = misdirect::NamePattern::parse(name)
                    .expect("name")
                    .to_string();
                let key = key.into_bytes().into_boxed_slice();
                let hash = Floor::hash(&state, &key);
                table.insert_unique(hash, (key, vhost.value), |(k, _)| Floor::hash(&state, k));
            }
        }
        Floor { table, state }
    }

    /// foldhash over the bytes, written out: through `Hash for [u8]` the compiler inlined the
    /// hash into one build of the gate and called it out of line in the next (+27% on the
    /// floor's count with no change to it), which moved the reference, not what it measures.
    #[inline(always)]
    fn hash(state: &foldhash::fast::RandomState, key: &[u8]) -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = state.build_hasher();
        hasher.write(key);
        hasher.finish()
    }

    #[inline(always)]
    fn get(&self, key: &[u8]) -> Option<usize> {
        let hash = Floor::hash(&self.state, key);
        self.table.find(hash, |(k, _)| **k == *key).map(|&(_, v)| v)
    }

    #[inline]
    pub fn lookup(&self, authority: &[u8]) -> Option<usize> {
        let mut buf = [0u8; 256];
        // Split the port: after the `]` of an IPv6 literal, else at the last colon.
        let host = match authority.split_first() {
            Some((b'[', rest)) => &rest[..rest.iter().position(|&b| b == b']')?],
            _ => match authority.iter().rposition(|&b| b == b':') {
                Some(colon) => &authority[..colon],
                None => authority,
            },
        };
        let host = host.strip_suffix(b".").unwrap_or(host);
        // One byte of room in front for the wildcard's `*`.
        let lower = buf.get_mut(1..=host.len())?;
        for (out, &b) in lower.iter_mut().zip(host) {
            *out = b.to_ascii_lowercase();
        }
        if let Some(v) = self.get(lower) {
            return Some(v);
        }
        let dot = lower.iter().position(|&b| b == b'.')?;
        buf[dot] = b'*';
        self.get(&buf[dot..=host.len()])
    }
}

/// http's early exit on a malformed authority: what the glue pays before it refuses one.
#[inline]
pub fn http_early_exit(authority: &[u8]) -> bool {
    std::str::from_utf8(authority)
        .ok()
        .and_then(|text| text.parse::<http::uri::Authority>().ok())
        .is_some()
}

/// Reads criterion's median (ns) for `group/id` from its saved estimates.
pub fn median_ns(group: &str, id: &str) -> Option<f64> {
    // Criterion writes under the target directory, which CARGO_TARGET_DIR may move.
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
        std::path::PathBuf::from,
    );
    let path = target
        .join("criterion")
        .join(group)
        .join(id)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let at = text.find("\"median\"")?;
    let rest = &text[at..];
    let at = rest.find("\"point_estimate\":")? + "\"point_estimate\":".len();
    let rest = rest[at..].trim_start();
    let end = rest.find([',', '}'])?;
    rest[..end].trim().parse().ok()
}
