//! Generators for whole decisions: random servers whose names overlap, connections and requests
//! built from those names and near-misses, and arbitrary bytes.

use std::sync::Arc;

use misdirect::{
    CertificateConfig, Config, Knobs, ListenerConfig, Method, San, Server, SniPolicy, UnknownHost,
    Version, VhostConfig, WireUnicode,
};
use proptest::prelude::*;

// Re-exported for the suites; not every suite that includes `common` uses each one.
#[allow(unused_imports)]
pub use crate::owned::{
    IdSources, OwnedConnection, OwnedRequest, OwnedTarget, POLICIES, filled_name, instantiate,
    long_with_capital, mutate, permute, repair, server_names, shuffle,
};

/// The short parents of generated names (one holds an A-label).
pub const BASES: &[&str] = &["example.com", "example.org", "xn--bcher-kva.test"];
/// A right-to-left parent (Arabic), in a pool's short bases a fifth of the time (long bases are
/// not built on it). UTS #46's Bidi rule holds every label of such a name, so `1a` over it is
/// refused while over `example.com` it is a valid label: the decision's wildcard fast path must
/// leave such names to the full parse.
pub const RTL_BASE: &str = "xn--mgbh0fb.example";
/// The short left-most labels of generated names (one is an A-label).
pub const LABELS: &[&str] = &["a", "b", "www", "api", "xn--tst-bma"];
/// Labels only requests put in front of a name (some could be no configured name's), beside
/// the plain `z`: a leading digit (refused under a right-to-left parent), an underscore, hyphens at the
/// edges, and capitals (which the fast path leaves to the full parse).
pub const REQUEST_LABELS: &[&str] = &["1a", "a_b", "-a", "a-", "Www", "_"];
/// The addresses generated configurations and requests use.
pub const IPS: &[&str] = &["192.0.2.1", "2001:db8::1"];

/// The names one generated server draws from: a few parents (bases) and labels. The pool is
/// small, so names collide across virtual hosts and certificates often; it holds long members,
/// so those collisions also happen at the length limits (names of 65 to 253 octets and just
/// past 253, labels of 63 octets and 64, which are refused).
#[derive(Clone, Debug)]
pub struct Pool {
    /// Parents: the short [`BASES`] and long names built on them.
    pub bases: Vec<String>,
    /// Left-most labels: the short [`LABELS`] and long ones.
    pub labels: Vec<String>,
}

impl Pool {
    /// The labels a request puts under a wildcard, or in front of a name.
    pub fn label_strategy(&self) -> impl Strategy<Value = String> + use<> {
        prop::sample::select(self.labels.clone())
    }
}

/// A long parent over one of the [`BASES`]: mostly 65-128 octets (from one past the fast
/// path's old limit), so that a label or two more still make a name; sometimes the lengths
/// where one label more reaches 253 (189 under a 63-octet label, 251 under a one-octet label)
/// or passes it, 253 itself (a name only as the apex) and 254 (refused).
pub fn long_base() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            4 => 65usize..=128,
            2 => prop::sample::select(vec![189usize, 190, 251, 252, 253, 254]),
            1 => 129usize..=252,
        ],
        prop::sample::select(BASES.to_vec()),
        "[a-z0-9]{1,4}",
    )
        .prop_map(|(len, suffix, fill)| filled_name(len, suffix, fill.as_bytes()))
}

/// A long left-most label: 63 octets (the limit), 64 (refused), or any length up to 63.
pub fn long_label() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => "[a-z][a-z0-9]{61}[a-z0-9]",
        1 => "[a-z]{64}",
        2 => "[a-z][a-z0-9]{8,62}",
    ]
}

/// A pool with `long` long bases and long labels each (a range).
pub fn pool_with(long: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Pool> {
    (
        prop::sample::subsequence(BASES.to_vec(), 1..=BASES.len()),
        prop::collection::vec(long_base(), long.clone()),
        prop::sample::subsequence(LABELS.to_vec(), 2..=LABELS.len()),
        prop::collection::vec(long_label(), long),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(short_bases, long_bases, short_labels, long_labels, rtl)| Pool {
                bases: short_bases
                    .into_iter()
                    .chain(rtl.then_some(RTL_BASE))
                    .map(String::from)
                    .chain(long_bases)
                    .collect(),
                labels: short_labels
                    .into_iter()
                    .map(String::from)
                    .chain(long_labels)
                    .collect(),
            },
        )
}

/// The usual pool: no long member a third of the time, else one or two of each.
pub fn pool() -> impl Strategy<Value = Pool> {
    pool_with(0..=2)
}

/// Where an ASCII case change falls: nowhere, one letter at any position, every letter, a
/// repeating mask over the whole text, or only past the 64th octet.
#[derive(Clone, Debug)]
pub enum Recase {
    /// As written.
    Keep,
    /// One letter swapped, at this position (modulo the text's length).
    One(prop::sample::Index),
    /// Every letter swapped.
    All,
    /// The letters a repeating mask selects, swapped.
    Mask(Vec<bool>),
    /// The letters past the 64th octet, swapped.
    Tail,
}

impl Recase {
    /// Applies it to `text`.
    #[must_use]
    pub fn apply(&self, text: &str) -> String {
        match self {
            Recase::Keep => text.to_string(),
            Recase::All => super::flip_case(text, &[true]),
            Recase::Mask(mask) => super::flip_case(text, mask),
            Recase::One(at) => {
                let at = at.index(text.chars().count().max(1));
                text.chars()
                    .enumerate()
                    .map(|(i, c)| if i == at { swap_case(c) } else { c })
                    .collect()
            }
            Recase::Tail => text
                .chars()
                .enumerate()
                .map(|(i, c)| if i >= 64 { swap_case(c) } else { c })
                .collect(),
        }
    }
}

fn swap_case(c: char) -> char {
    if c.is_ascii_lowercase() {
        c.to_ascii_uppercase()
    } else {
        c.to_ascii_lowercase()
    }
}

/// Where a case change falls: nowhere, one letter, every letter, a mask, or past octet 64.
pub fn recase() -> impl Strategy<Value = Recase> {
    prop_oneof![
        2 => Just(Recase::Keep),
        3 => any::<prop::sample::Index>().prop_map(Recase::One),
        1 => Just(Recase::All),
        3 => prop::collection::vec(any::<bool>(), 1..6).prop_map(Recase::Mask),
        1 => Just(Recase::Tail),
    ]
}

/// A name pattern from `pool`: exact, wildcard over a base or a sub-name, or IP; written with
/// capitals anywhere (configuration names are compared case-insensitively).
pub fn pool_pattern(pool: &Pool) -> impl Strategy<Value = String> + use<> {
    (
        prop::sample::select(pool.bases.clone()),
        pool.label_strategy(),
        0u8..10,
        prop::sample::select(IPS.to_vec()),
        prop::option::weighted(0.2, recase()),
    )
        .prop_map(|(base, label, kind, ip, case)| {
            let text = match kind {
                0..=3 => format!("{label}.{base}"),
                4 | 5 => format!("*.{base}"),
                6 => format!("*.{label}.{base}"),
                7 => base,
                8 => ip.to_string(),
                _ => format!("{label}.{label}.{base}"),
            };
            case.map_or(text.clone(), |c| c.apply(&text))
        })
}

/// A SAN: mostly from the pool with its kind read from the text (an address is an iPAddress
/// SAN), sometimes a dNSName holding address text (covers nothing, reported as skipped), and
/// sometimes malformed (skipped and reported by the server).
pub fn san(pool: &Pool) -> impl Strategy<Value = San> + use<> {
    prop_oneof![
        16 => pool_pattern(pool).prop_map(|t| San::from_text(t.as_bytes())),
        1 => prop::sample::select(IPS.to_vec()).prop_map(|t| San::Dns(t.as_bytes().to_vec())),
        2 => prop::sample::select(vec!["f*.example.com", "bad..example.com", "*.com", "ex ample.org", "example.com."])
            .prop_map(|t| San::Dns(t.as_bytes().to_vec())),
    ]
}

fn ports(choices: &'static [u16]) -> impl Strategy<Value = Vec<u16>> {
    prop::sample::subsequence(choices, 0..=choices.len())
}

/// Knobs in every combination, `Compatible` twice as often as each other SNI policy.
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

/// The shape of the hostile review's defect 1: an exact name (long, when the pool has long
/// members) and a wildcard over the same parent, in two virtual hosts with different TLS
/// policies, both covered by one certificate. Gives (wildcard, exact name, wildcard's policy,
/// exact name's policy), positions in [`POLICIES`].
pub fn exact_beside_wildcard(
    pool: &Pool,
) -> impl Strategy<Value = (String, String, usize, usize)> + use<> {
    let longest = |list: &[String]| -> Vec<String> {
        let long: Vec<String> = list.iter().filter(|s| s.len() > 8).cloned().collect();
        if long.is_empty() { list.to_vec() } else { long }
    };
    (
        prop::sample::select(longest(&pool.bases)),
        prop::sample::select(longest(&pool.labels)),
        0usize..POLICIES.len(),
        1usize..POLICIES.len(),
        recase(),
    )
        .prop_map(|(base, label, wild, shift, case)| {
            let exact = case.apply(&format!("{label}.{base}"));
            (
                format!("*.{base}"),
                exact,
                wild,
                (wild + shift) % POLICIES.len(),
            )
        })
}

/// Turns pre-drawn indices into choices below `n`, for [`shuffle`] and [`permute`].
pub fn picker(order: Vec<prop::sample::Index>) -> impl FnMut(usize) -> usize {
    let mut at = 0;
    move |n| {
        let pick = order.get(at % order.len().max(1)).map_or(0, |i| i.index(n));
        at += 1;
        pick
    }
}

/// A configuration that may not build; [`repair`] makes it build by dropping what conflicts.
/// Its names come from `pool`; sometimes it holds [`exact_beside_wildcard`]'s shape; every
/// list is in random order (virtual host `v0` is not first, listener `tls` is not first,
/// policies are not in [`POLICIES`] order, ports and SANs in any order).
pub fn raw_config(pool: &Pool, max_vhosts: usize) -> impl Strategy<Value = Config<usize>> + use<> {
    (
        prop::collection::vec(prop::collection::vec(san(pool), 1..6), 1..=6),
        prop::collection::vec(
            (
                prop::collection::vec(pool_pattern(pool), 0..4),
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
        prop::option::weighted(0.3, exact_beside_wildcard(pool)),
        prop::collection::vec(any::<prop::sample::Index>(), 48),
    )
        .prop_map(
            |(
                certs,
                vhosts,
                (alt_svc, tls_origins, clear_origins),
                (d, t, defaults),
                knobs,
                shape,
                order,
            )| {
                let mut vhosts: Vec<VhostConfig<usize>> = vhosts
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
                let mut certificates: Vec<CertificateConfig> = certs
                    .into_iter()
                    .enumerate()
                    .map(|(i, sans)| CertificateConfig {
                        id: format!("c{i}"),
                        sans,
                    })
                    .collect();
                if let Some((wildcard, exact, wild_policy, exact_policy)) = shape {
                    certificates.push(CertificateConfig::new(
                        &format!("c{}", certificates.len()),
                        &[&wildcard, &exact],
                    ));
                    for (i, (name, policy)) in [(wildcard, wild_policy), (exact, exact_policy)]
                        .into_iter()
                        .enumerate()
                    {
                        vhosts.push(VhostConfig {
                            name: format!("v{}", n + i),
                            names: vec![name],
                            http_ports: vec![],
                            https_ports: vec![443],
                            policy: POLICIES[policy].to_string(),
                            value: n + i,
                        });
                    }
                }
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
                let config = Config {
                    listeners: vec![tls, clear],
                    vhosts,
                    certificates,
                    policies: POLICIES.iter().map(|p| p.to_string()).collect(),
                    knobs,
                };
                let mut pick = picker(order);
                let mut config = permute(&config, &mut pick);
                for listener in &mut config.listeners {
                    shuffle(&mut listener.origin_ports, &mut pick);
                }
                config
            },
        )
}

/// A server built from [`raw_config`] over a pool drawn from `pool`, with that pool.
pub fn server_case(
    pool: impl Strategy<Value = Pool>,
    max_vhosts: usize,
) -> impl Strategy<Value = (Arc<Server<usize>>, Pool)> {
    pool.prop_flat_map(move |pool| (raw_config(&pool, max_vhosts), Just(pool)))
        .prop_filter_map("configuration does not build", |(config, pool)| {
            repair(config).map(|server| (Arc::new(server), pool))
        })
}

/// Wire authority bytes drawn from the server's names and the pool, mutated: case anywhere,
/// trailing dots, ports, other hosts, deeper names, userinfo, and arbitrary bytes.
pub fn authority_bytes(names: Vec<String>, pool: &Pool) -> impl Strategy<Value = Vec<u8>> + use<> {
    let names = if names.is_empty() {
        vec!["example.com".to_string()]
    } else {
        names
    };
    let name = prop_oneof![4 => prop::sample::select(names), 1 => pool_pattern(pool)];
    prop_oneof![
        20 => (name, pool.label_strategy(), recase(), 0u8..20, prop_oneof![3 => Just("z"), 1 => prop::sample::select(REQUEST_LABELS)])
            .prop_map(|(pattern, label, case, mutation, deeper)| {
                let host = case.apply(&instantiate(&pattern, &label));
                match mutation {
                    6 => mutate(&host, deeper, 6),
                    m => mutate(&host, "", m),
                }
                .into_bytes()
            }),
        1 => prop::sample::select(vec!["other.net", "192.0.2.2", "[::ffff:192.0.2.1]", "", "bücher.example", "\u{212A}.example.com"])
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..40),
    ]
}

/// An SNI as a client would send it, or not.
pub fn sni_bytes(
    names: Vec<String>,
    pool: &Pool,
) -> impl Strategy<Value = Option<Vec<u8>>> + use<> {
    prop_oneof![
        6 => authority_bytes(names, pool).prop_map(|mut b| {
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

/// A request drawn from `names` and the pool: every version, CONNECT and extended CONNECT
/// now and then, schemes in any case and unknown ones, zero, one or two `:authority` and
/// `Host` fields (often the same value), and every HTTP/1.x target form.
pub fn request(names: Vec<String>, pool: &Pool) -> impl Strategy<Value = OwnedRequest> + use<> {
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
        prop::collection::vec(authority_bytes(names.clone(), pool), 2),
        prop::collection::vec(authority_bytes(names, pool), 2),
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

/// A connection: on the TLS listener three times in four, an SNI from `names` (or none, or an
/// address), any certificate, a recorded policy or none, and sometimes a trusted gateway.
pub fn connection(
    names: Vec<String>,
    pool: &Pool,
) -> impl Strategy<Value = OwnedConnection> + use<> {
    (
        prop_oneof![3 => Just(0usize), 1 => Just(1usize)],
        sni_bytes(names, pool),
        0usize..8,
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

/// A server, then a connection and a request drawn from that server's own names and its pool.
pub fn decision_case(
    max_vhosts: usize,
) -> impl Strategy<Value = (Arc<Server<usize>>, OwnedConnection, OwnedRequest)> {
    server_case(pool(), max_vhosts).prop_flat_map(|(server, pool)| {
        let names = server_names(&server);
        (
            Just(server),
            connection(names.clone(), &pool),
            request(names, &pool),
        )
    })
}
