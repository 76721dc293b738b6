//! Generators for whole decisions: random servers whose names overlap, connections and requests
//! built from those names and near-misses, and arbitrary bytes.
#![allow(dead_code)]

use misdirect::{
    CertificateConfig, Config, Knobs, ListenerConfig, Method, Server, SniPolicy, UnknownHost,
    Version, VhostConfig, WireUnicode,
};
use proptest::prelude::*;

pub use super::shared::{
    OwnedConnection, OwnedRequest, OwnedTarget, POLICIES, instantiate, mutate, repair, server_names,
};

pub const BASES: &[&str] = &["example.com", "example.org", "xn--bcher-kva.test"];
pub const LABELS: &[&str] = &["a", "b", "www", "api", "xn--tst-bma"];
pub const IPS: &[&str] = &["192.0.2.1", "2001:db8::1"];

/// A name pattern from the shared pool: exact, wildcard over a base or a sub-name, or IP.
pub fn pool_pattern() -> impl Strategy<Value = String> {
    (0usize..BASES.len(), 0usize..LABELS.len(), 0u8..10).prop_map(|(b, l, kind)| {
        let (base, label) = (BASES[b], LABELS[l]);
        match kind {
            0..=3 => format!("{label}.{base}"),
            4 | 5 => format!("*.{base}"),
            6 => format!("*.{label}.{base}"),
            7 => base.to_string(),
            8 => IPS[l % IPS.len()].to_string(),
            _ => format!("{label}.{label}.{base}"),
        }
    })
}

/// A SAN: mostly from the pool, sometimes malformed (skipped and reported by the server).
pub fn san() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => pool_pattern(),
        1 => prop::sample::select(vec!["f*.example.com", "bad..example.com", "*.com", "ex ample.org", "example.com."])
            .prop_map(String::from),
    ]
}

fn ports(choices: &'static [u16]) -> impl Strategy<Value = Vec<u16>> {
    prop::sample::subsequence(choices, 0..=choices.len())
}

pub fn knobs() -> impl Strategy<Value = Knobs> {
    (
        prop::sample::select(vec![
            SniPolicy::Strict,
            SniPolicy::SameVhost,
            SniPolicy::CertCovered,
            SniPolicy::Compatible,
            SniPolicy::Compatible,
            SniPolicy::Insecure,
        ]),
        0u8..4,
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(sni, unknown, strict, opportunistic, http10, convert)| Knobs {
                sni,
                unknown_host: match unknown {
                    0 => UnknownHost::NotFound,
                    1 => UnknownHost::Fallback("v0".to_string()),
                    _ => UnknownHost::Misdirected,
                },
                strict_host_consistency: strict,
                opportunistic_http: opportunistic,
                http10_default_vhost: http10,
                wire_unicode: if convert {
                    WireUnicode::Convert
                } else {
                    WireUnicode::Reject
                },
            },
        )
}

/// A configuration that may not build; [`repair`] makes it build by dropping what conflicts.
pub fn raw_config(max_vhosts: usize) -> impl Strategy<Value = Config<usize>> {
    (
        prop::collection::vec(prop::collection::vec(san(), 1..6), 1..=6),
        prop::collection::vec(
            (
                prop::collection::vec(pool_pattern(), 0..4),
                ports(&[443, 8443]),
                ports(&[80, 8080]),
                0usize..POLICIES.len(),
            ),
            1..=max_vhosts,
        ),
        (any::<bool>(), ports(&[443, 8443]), ports(&[80, 8080])),
        (
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            prop::bool::weighted(0.8),
        ),
        knobs(),
    )
        .prop_map(
            |(certs, vhosts, (alt_svc, tls_origins, clear_origins), (d, t, defaults), knobs)| {
                let vhosts: Vec<VhostConfig<usize>> = vhosts
                    .into_iter()
                    .enumerate()
                    .map(
                        |(i, (names, https_ports, http_ports, policy))| VhostConfig {
                            name: format!("v{i}"),
                            names,
                            http_ports,
                            https_ports,
                            policy: POLICIES[policy].to_string(),
                            value: i,
                        },
                    )
                    .collect();
                let n = vhosts.len();
                let mut tls = ListenerConfig::new("tls", true, 443);
                let mut clear = ListenerConfig::new("clear", false, 80);
                if alt_svc {
                    tls.origin_ports = tls_origins;
                    clear.origin_ports = clear_origins;
                }
                if defaults {
                    tls.default_tls_vhost = Some(format!("v{}", t.index(n)));
                    tls.default_vhost = Some(format!("v{}", d.index(n)));
                    clear.default_vhost = Some(format!("v{}", d.index(n)));
                }
                Config {
                    listeners: vec![tls, clear],
                    vhosts,
                    certificates: certs
                        .into_iter()
                        .enumerate()
                        .map(|(i, sans)| CertificateConfig::new(&format!("c{i}"), &sans))
                        .collect(),
                    policies: POLICIES.iter().map(|p| p.to_string()).collect(),
                    knobs,
                }
            },
        )
}

/// Wire authority bytes drawn from the pool, mutated: case, trailing dots, ports, other hosts,
/// deeper names, userinfo, and arbitrary bytes.
pub fn authority_bytes(names: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    let names = if names.is_empty() {
        vec!["example.com".to_string()]
    } else {
        names
    };
    let name = prop_oneof![4 => prop::sample::select(names), 1 => pool_pattern()];
    prop_oneof![
        20 => (
            name,
            prop::sample::select(LABELS.to_vec()),
            prop::collection::vec(any::<bool>(), 1..6),
            0u8..20,
        )
            .prop_map(|(pattern, label, mask, mutation)| {
                let host = instantiate(&pattern, label);
                let flipped = super::flip_case(&host, &mask);
                match mutation {
                    6 => mutate(&host, "z", 6),
                    7 => mutate(&host, "", 7),
                    m => mutate(&flipped, "", m),
                }
                .into_bytes()
            }),
        1 => prop::sample::select(vec!["other.net", "192.0.2.2", "[::ffff:192.0.2.1]", "", "bücher.example", "\u{212A}.example.com"])
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..40),
    ]
}

/// An SNI as a client would send it, or not.
pub fn sni_bytes(names: Vec<String>) -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        6 => authority_bytes(names).prop_map(|mut b| {
            // SNI has no port: cut it off most of the time (an SNI with a port is invalid).
            if let Some(colon) = b.iter().rposition(|&c| c == b':') {
                if !b.starts_with(b"[") {
                    b.truncate(colon);
                }
            }
            Some(b)
        }),
        1 => Just(None),
        1 => Just(Some(b"192.0.2.1".to_vec())),
    ]
}

fn field_count() -> impl Strategy<Value = usize> {
    prop_oneof![1 => Just(0usize), 12 => Just(1usize), 1 => Just(2usize)]
}

/// `Host` next to `:authority` is the exception in HTTP/2 and HTTP/3.
fn h2_host_count() -> impl Strategy<Value = usize> {
    prop_oneof![6 => Just(0usize), 3 => Just(1usize), 1 => Just(2usize)]
}

pub fn request(names: Vec<String>) -> impl Strategy<Value = OwnedRequest> {
    (
        prop::sample::select(vec![Version::Http10, Version::Http11, Version::Http11, Version::Http2, Version::Http2, Version::Http3]),
        prop_oneof![1 => Just(Method::Connect), 1 => Just(Method::ExtendedConnect), 20 => Just(Method::Other)],
        prop_oneof![
            6 => Just(Some(b"https".to_vec())),
            3 => Just(Some(b"http".to_vec())),
            1 => Just(Some(b"HTTPS".to_vec())),
            1 => Just(Some(b"ftp".to_vec())),
            1 => Just(None),
        ],
        field_count(),
        (field_count(), h2_host_count()),
        prop::collection::vec(authority_bytes(names.clone()), 2),
        prop::collection::vec(authority_bytes(names), 2),
        0u8..10,
        prop::bool::weighted(0.8),
    )
        .prop_map(|(version, method, scheme, n_auth, (n_h1_host, n_h2_host), auths, hosts, target, same)| {
            let h1 = matches!(version, Version::Http10 | Version::Http11);
            let n_host = if h1 { n_h1_host } else { n_h2_host };
            let mut hosts: Vec<Vec<u8>> = hosts.into_iter().take(n_host).collect();
            let authorities: Vec<Vec<u8>> = if h1 { Vec::new() } else { auths.iter().take(n_auth).cloned().collect() };
            // Often the Host repeats :authority (or the absolute target), as clients send it.
            if same && !hosts.is_empty() && !auths.is_empty() {
                hosts[0] = auths[0].clone();
            }
            let target = if !h1 {
                OwnedTarget::Origin
            } else {
                match target {
                    0 | 1 => OwnedTarget::Absolute(scheme.clone().unwrap_or_else(|| b"http".to_vec()), auths[0].clone()),
                    2 => OwnedTarget::Authority(auths[0].clone()),
                    3 => OwnedTarget::Asterisk,
                    _ => OwnedTarget::Origin,
                }
            };
            OwnedRequest { version, method, scheme, authorities, hosts, target }
        })
}

pub fn connection(names: Vec<String>) -> impl Strategy<Value = OwnedConnection> {
    (
        prop_oneof![3 => Just(0usize), 1 => Just(1usize)],
        sni_bytes(names),
        0usize..6,
        prop::option::weighted(0.6, 0usize..POLICIES.len()),
        prop::option::weighted(
            0.1,
            (prop::sample::select(vec![443u16, 80, 8443]), any::<bool>()),
        ),
    )
        .prop_map(
            |(listener, sni, certificate, policy, gateway)| OwnedConnection {
                listener,
                sni,
                certificate,
                policy,
                gateway,
            },
        )
}

/// A server, then a connection and a request drawn from that server's own names.
pub fn decision_case(
    max_vhosts: usize,
) -> impl Strategy<Value = (std::sync::Arc<Server<usize>>, OwnedConnection, OwnedRequest)> {
    raw_config(max_vhosts)
        .prop_filter_map("configuration does not build", repair)
        .prop_flat_map(|server| {
            let names = server_names(&server);
            (
                Just(std::sync::Arc::new(server)),
                connection(names.clone()),
                request(names),
            )
        })
}
