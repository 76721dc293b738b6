//! Whole decisions from fuzz input: a server whose names overlap, then a connection and a
//! request drawn from that server's own names and mutated (case, dots, ports, labels).
//!
//! Each server draws its names from a small pool (so that names collide across virtual hosts
//! and certificates) with long members: parents of 65-254 octets (the edges where one label
//! more reaches or passes 253) and labels of up to 63 octets (and 64, refused). Capitals fall
//! anywhere ([`super::recase`]); a third of the servers hold the hostile review's defect 1
//! shape (an exact name beside a wildcard over its parent, in virtual hosts of different TLS
//! policies); SANs have their kind, sometimes a dNSName holding address text; every list is in
//! random order.

use arbitrary::{Result, Unstructured};
use misdirect::{
    CertificateConfig, Config, Knobs, ListenerConfig, Method, San, Server, SniPolicy, UnknownHost,
    Version, VhostConfig, WireUnicode,
};

/// The short parents of generated names.
pub const BASES: &[&str] = &["example.com", "example.org", "xn--bcher-kva.test"];
/// The short left-most labels of generated names.
pub const SUBS: &[&str] = &["a", "b", "www", "api", "xn--tst-bma"];
/// The addresses generated configurations use.
pub const IPS: &[&str] = &["192.0.2.1", "2001:db8::1"];

/// The names one server draws from.
#[derive(Clone, Debug)]
pub struct Pool {
    /// Parents: some of [`BASES`] and up to two long names over them.
    pub bases: Vec<String>,
    /// Left-most labels: [`SUBS`] and up to two long ones.
    pub labels: Vec<String>,
}

/// A long parent over one of [`BASES`]: mostly 65-128 octets, sometimes 189, 190, 251-254
/// (where a 63-octet or a one-octet label more reaches or passes 253), or 129-252.
fn long_base(u: &mut Unstructured<'_>) -> Result<String> {
    let len = match u.int_in_range(0u8..=6)? {
        0..=3 => u.int_in_range(65..=128)?,
        4 | 5 => *u.choose(&[189usize, 190, 251, 252, 253, 254])?,
        _ => u.int_in_range(129..=252)?,
    };
    let suffix = u.choose(BASES)?;
    let fill = super::long_label(u)?;
    Ok(shared::filled_name(len, suffix, fill.as_bytes()))
}

/// A pool: one to three of [`BASES`] and [`SUBS`], and zero to two long members of each.
pub fn pool(u: &mut Unstructured<'_>) -> Result<Pool> {
    let mut bases: Vec<String> = BASES
        .iter()
        .filter_map(|b| match u.arbitrary::<bool>() {
            Ok(true) => Some((*b).to_string()),
            _ => None,
        })
        .collect();
    if bases.is_empty() {
        bases.push(BASES[0].to_string());
    }
    let mut labels: Vec<String> = SUBS.iter().map(|s| (*s).to_string()).collect();
    for _ in 0..u.int_in_range(0..=2)? {
        bases.push(long_base(u)?);
    }
    for _ in 0..u.int_in_range(0..=2)? {
        labels.push(super::long_label(u)?);
    }
    Ok(Pool { bases, labels })
}

fn pool_name(u: &mut Unstructured<'_>, pool: &Pool) -> Result<String> {
    let base = u.choose(&pool.bases)?;
    let sub = u.choose(&pool.labels)?;
    let text = match u.int_in_range(0u8..=9)? {
        0..=3 => format!("{sub}.{base}"),
        4 | 5 => format!("*.{base}"),
        6 => format!("*.{sub}.{base}"),
        7 => base.clone(),
        8 => (*u.choose(IPS)?).to_string(),
        _ => super::pattern_text(u)?,
    };
    // Configuration names and SANs are compared case-insensitively.
    if u.ratio(1, 5)? {
        super::recase(u, &text)
    } else {
        Ok(text)
    }
}

/// A SAN: a pool name with its kind read from the text, sometimes a dNSName holding address
/// text (covers nothing), sometimes malformed.
fn san(u: &mut Unstructured<'_>, pool: &Pool) -> Result<San> {
    Ok(match u.int_in_range(0u8..=17)? {
        0 => San::Dns(u.choose(IPS)?.as_bytes().to_vec()),
        1 => San::Dns(
            u.choose(&[
                "f*.example.com",
                "bad..example.com",
                "*.com",
                "example.com.",
            ])?
            .as_bytes()
            .to_vec(),
        ),
        _ => San::from_text(pool_name(u, pool)?.as_bytes()),
    })
}

fn ports(u: &mut Unstructured<'_>, choices: &[u16]) -> Result<Vec<u16>> {
    let mut out = Vec::new();
    for &p in choices {
        if u.arbitrary()? {
            out.push(p);
        }
    }
    Ok(out)
}

/// Choices below `n` from the input, for [`shared::shuffle`] and [`shared::permute`] (0 once
/// the input runs out).
pub fn picker<'u, 'a>(u: &'u mut Unstructured<'a>) -> impl FnMut(usize) -> usize + 'u {
    move |n| u.choose_index(n).unwrap_or(0)
}

/// A configuration (unrepaired) over `pool`, every list in random order.
pub fn config(u: &mut Unstructured<'_>, pool: &Pool) -> Result<Config<usize>> {
    let mut certificates = Vec::new();
    for i in 0..u.int_in_range(1..=6)? {
        let mut sans = Vec::new();
        for _ in 0..u.int_in_range(1..=5)? {
            sans.push(san(u, pool)?);
        }
        certificates.push(CertificateConfig {
            id: format!("c{i}"),
            sans,
        });
    }
    let mut vhosts = Vec::new();
    // Up to 12 virtual hosts, as the property tests' usual case: a build (repaired name by name)
    // is most of an execution's time.
    for i in 0..u.int_in_range(1..=12)? {
        let mut names = Vec::new();
        for _ in 0..u.int_in_range(0..=3)? {
            names.push(pool_name(u, pool)?);
        }
        vhosts.push(VhostConfig {
            name: format!("v{i}"),
            names,
            https_ports: ports(u, &[443, 8443])?,
            http_ports: ports(u, &[80, 8080])?,
            policy: (*u.choose(POLICIES)?).to_string(),
            value: i,
        });
    }
    let n = vhosts.len();
    if u.ratio(1, 3)? {
        // Defect 1's shape: a (long) exact name and a wildcard over its parent, two policies.
        let long = |list: &[String]| -> Vec<String> {
            let l: Vec<String> = list.iter().filter(|s| s.len() > 8).cloned().collect();
            if l.is_empty() { list.to_vec() } else { l }
        };
        let base = u.choose(&long(&pool.bases))?.clone();
        let sub = u.choose(&long(&pool.labels))?.clone();
        let exact = super::recase(u, &format!("{sub}.{base}"))?;
        let wildcard = format!("*.{base}");
        let first = u.choose_index(POLICIES.len())?;
        let second = (first + u.int_in_range(1..=POLICIES.len() - 1)?) % POLICIES.len();
        certificates.push(CertificateConfig::new(
            &format!("c{}", certificates.len()),
            &[&wildcard, &exact],
        ));
        for (i, (name, policy)) in [(wildcard, first), (exact, second)].into_iter().enumerate() {
            vhosts.push(VhostConfig {
                name: format!("v{}", n + i),
                names: vec![name],
                https_ports: vec![443],
                http_ports: vec![],
                policy: POLICIES[policy].to_string(),
                value: n + i,
            });
        }
    }
    let mut tls = ListenerConfig::new("tls", true, 443);
    let mut clear = ListenerConfig::new("clear", false, 80);
    if u.arbitrary()? {
        tls.origin_ports = ports(u, &[443, 8443])?;
        clear.origin_ports = ports(u, &[80, 8080])?;
    }
    if u.ratio(4, 5)? {
        tls.default_tls_vhost = Some(format!("v{}", u.choose_index(n)?));
        tls.default_vhost = Some(format!("v{}", u.choose_index(n)?));
        clear.default_vhost = Some(format!("v{}", u.choose_index(n)?));
    }
    let knobs = Knobs {
        sni: *u.choose(&[
            SniPolicy::Strict,
            SniPolicy::SameVhost,
            SniPolicy::CertCovered,
            SniPolicy::Compatible,
            SniPolicy::Insecure,
        ])?,
        unknown_host: match u.int_in_range(0u8..=3)? {
            0 => UnknownHost::NotFound,
            1 => UnknownHost::Fallback("v0".to_string()),
            _ => UnknownHost::Misdirected,
        },
        strict_host_consistency: u.arbitrary()?,
        opportunistic_http: u.ratio(1, 5)?,
        http10_default_vhost: u.ratio(1, 3)?,
        wire_unicode: if u.ratio(1, 5)? {
            WireUnicode::Convert
        } else {
            WireUnicode::Reject
        },
    };
    let config = Config {
        listeners: vec![tls, clear],
        vhosts,
        certificates,
        policies: POLICIES.iter().map(|p| (*p).to_string()).collect(),
        knobs,
    };
    let mut pick = picker(u);
    let mut config = shared::permute(&config, &mut pick);
    for listener in &mut config.listeners {
        shared::shuffle(&mut listener.origin_ports, &mut pick);
    }
    Ok(config)
}

/// A pool and a configuration over it, repaired until it builds (names that collide or that
/// no certificate covers are dropped), or `None`.
pub fn server(u: &mut Unstructured<'_>) -> Result<(Option<Server<usize>>, Pool)> {
    let pool = pool(u)?;
    let config = config(u, &pool)?;
    Ok((repair(config), pool))
}

use crate::owned as shared;
pub use crate::owned::{
    IdSources, OwnedConnection, OwnedRequest, OwnedTarget, POLICIES, long_with_capital, permute,
    repair, server_names as names,
};

/// An authority drawn from `names` and mutated, or a free one.
pub fn authority(u: &mut Unstructured<'_>, names: &[String], pool: &Pool) -> Result<Vec<u8>> {
    if names.is_empty() || u.ratio(1, 6)? {
        return super::wire_authority(u);
    }
    let name = u.choose(names)?;
    let label = u.choose(&pool.labels)?;
    let host = super::recase(u, &shared::instantiate(name, label))?;
    Ok(shared::mutate(&host, label, u.int_in_range(0u8..=15)?).into_bytes())
}

fn count(u: &mut Unstructured<'_>) -> Result<usize> {
    Ok(match u.int_in_range(0u8..=13)? {
        0 => 0,
        13 => 2,
        _ => 1,
    })
}

/// A request drawn from `names`.
pub fn request(u: &mut Unstructured<'_>, names: &[String], pool: &Pool) -> Result<OwnedRequest> {
    let version = *u.choose(&[
        Version::Http10,
        Version::Http11,
        Version::Http11,
        Version::Http2,
        Version::Http2,
        Version::Http3,
    ])?;
    let method = match u.int_in_range(0u8..=20)? {
        0 => Method::Connect,
        1 => Method::ExtendedConnect,
        _ => Method::Other,
    };
    let scheme = match u.int_in_range(0u8..=11)? {
        0..=5 => Some(b"https".to_vec()),
        6..=8 => Some(b"http".to_vec()),
        9 => Some(b"HTTPS".to_vec()),
        10 => Some(b"ftp".to_vec()),
        _ => None,
    };
    let h1 = matches!(version, Version::Http10 | Version::Http11);
    let first = authority(u, names, pool)?;
    let mut authorities = Vec::new();
    if !h1 {
        for i in 0..count(u)? {
            authorities.push(if i == 0 {
                first.clone()
            } else {
                authority(u, names, pool)?
            });
        }
    }
    let mut hosts = Vec::new();
    let host_count = if h1 {
        count(u)?
    } else {
        usize::from(u.ratio(1, 3)?) + usize::from(u.ratio(1, 10)?)
    };
    for _ in 0..host_count {
        hosts.push(if u.ratio(4, 5)? {
            first.clone()
        } else {
            authority(u, names, pool)?
        });
    }
    let target = if h1 && u.ratio(1, 5)? {
        OwnedTarget::Absolute(scheme.clone().unwrap_or_else(|| b"http".to_vec()), first)
    } else {
        OwnedTarget::Origin
    };
    Ok(OwnedRequest {
        version,
        method,
        scheme,
        authorities,
        hosts,
        target,
    })
}

/// A connection drawn from `names`.
pub fn connection(
    u: &mut Unstructured<'_>,
    names: &[String],
    pool: &Pool,
    certificates: usize,
) -> Result<OwnedConnection> {
    let sni = match u.int_in_range(0u8..=7)? {
        0 => None,
        1 => Some(b"192.0.2.1".to_vec()),
        _ => {
            let mut b = authority(u, names, pool)?;
            if !b.starts_with(b"[") {
                if let Some(colon) = b.iter().rposition(|&c| c == b':') {
                    b.truncate(colon);
                }
            }
            Some(b)
        }
    };
    Ok(OwnedConnection {
        listener: usize::from(u.ratio(1, 4)?),
        sni,
        certificate: u.choose_index(certificates)?,
        policy: if u.ratio(3, 5)? {
            Some(u.choose_index(POLICIES.len())?)
        } else {
            None
        },
        gateway: if u.ratio(1, 10)? {
            Some((*u.choose(&[443u16, 80, 8443])?, u.arbitrary()?))
        } else {
            None
        },
    })
}

/// How the `decide` target's second server is made.
#[derive(Clone, Copy, Debug)]
pub enum Second {
    /// From its own part of the input.
    Independent,
    /// The first one's configuration, built again.
    Rebuilt,
    /// The first one's configuration with every list permuted, built again.
    Permuted,
}

/// Everything a decision target decodes from its input: server A and its pool, a connection
/// and a request drawn from A's names; server B; a connection and a request drawn from both
/// servers' names; and which server each id of the mixed facts comes from.
///
/// `S` is how the servers are held: owned ([`input`], built from the input) or borrowed from a
/// [`Space`] ([`Space::input`]).
pub struct Input<S = Server<usize>> {
    /// Server A.
    pub a: S,
    /// A's pool.
    pub pool: Pool,
    /// Facts drawn from A's names.
    pub conn: OwnedConnection,
    /// A request drawn from A's names.
    pub request: OwnedRequest,
    /// Server B, when it builds, and how it was made.
    pub b: Option<(S, Second)>,
    /// Facts drawn from both servers' names (positions taken modulo each server's counts).
    pub mixed_conn: Option<OwnedConnection>,
    /// A request drawn from B's names.
    pub b_request: Option<OwnedRequest>,
    /// Which server each id of the mixed facts comes from.
    pub sources: IdSources,
}

const NO_SOURCES: IdSources = IdSources {
    listener: false,
    certificate: false,
    policy: false,
};

/// The rest of an input once server A (and its names) are known: A's connection and request,
/// then how B is made; `make_b` makes it. `None` when the input ends before A's request.
fn rest<S: std::borrow::Borrow<Server<usize>>>(
    u: &mut Unstructured<'_>,
    a: S,
    pool: Pool,
    a_names: &[String],
    make_b: impl FnOnce(&mut Unstructured<'_>, &Server<usize>, Second) -> Option<(S, Vec<String>)>,
) -> Option<Input<S>> {
    let conn = connection(u, a_names, &pool, a.borrow().config().certificates.len()).ok()?;
    let a_request = request(u, a_names, &pool).ok()?;
    let mut input = Input {
        a,
        pool,
        conn,
        request: a_request,
        b: None,
        mixed_conn: None,
        b_request: None,
        sources: NO_SOURCES,
    };
    let second = match u.int_in_range(0u8..=3) {
        Ok(0 | 1) => Second::Independent,
        Ok(2) => Second::Rebuilt,
        Ok(_) => Second::Permuted,
        Err(_) => return Some(input),
    };
    let Some((b, b_names)) = make_b(u, input.a.borrow(), second) else {
        return Some(input);
    };
    let mut both = a_names.to_vec();
    both.extend(b_names.iter().cloned());
    input.mixed_conn = connection(u, &both, &input.pool, 6).ok();
    input.b_request = request(u, &b_names, &input.pool).ok();
    input.sources = IdSources {
        listener: u.arbitrary().unwrap_or(false),
        certificate: u.arbitrary().unwrap_or(false),
        policy: u.arbitrary().unwrap_or(false),
    };
    input.b = Some((b, second));
    Some(input)
}

/// Decodes the `server` target's input, both servers built from it; `None` when server A
/// does not build or the input ends before A's connection and request. What comes after
/// (server B and the mixed facts) is decoded only as far as the input goes.
#[must_use]
pub fn input(data: &[u8]) -> Option<Input> {
    let mut u = Unstructured::new(data);
    let (Some(a), pool) = server(&mut u).ok()? else {
        return None;
    };
    let a_names = names(&a);
    rest(&mut u, a, pool, &a_names, |u, a, second| {
        let b = match second {
            Second::Independent => server(u).ok().and_then(|(b, _)| b),
            Second::Rebuilt => Server::build(a.config().clone()).ok(),
            Second::Permuted => Server::build(permute(a.config(), picker(u))).ok(),
        }?;
        let b_names = names(&b);
        Some((b, b_names))
    })
}

/// One server of a [`Space`], its names, and its configuration built again and built again
/// permuted.
struct Entry {
    server: Server<usize>,
    pool: Pool,
    names: Vec<String>,
    rebuilt: Server<usize>,
    permuted: Server<usize>,
}

/// Servers drawn once per process by [`server`] (the generator the `server` target draws
/// from, on pseudo-random bytes of a fixed seed), each with its configuration built again and
/// built again with every list permuted: the `decide` target picks its servers here, so that
/// an execution decides rather than builds (a build, repaired name by name, is most of what a
/// `server` execution costs).
pub struct Space {
    entries: Vec<Entry>,
}

/// xorshift64*: the bytes a [`Space`]'s servers are drawn from.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

impl Space {
    /// `size` servers drawn from `seed`.
    ///
    /// # Panics
    /// When a server's configuration, built again or permuted and built again, does not build
    /// (SPEC §4: a build does not depend on the order of a configuration's lists), or when
    /// `size` is below 2 (B may be another server of the space).
    #[must_use]
    pub fn new(size: usize, seed: u64) -> Space {
        assert!(size >= 2, "a space of fewer than two servers");
        let mut state = seed | 1;
        let mut entries = Vec::with_capacity(size);
        let mut bytes = Vec::new();
        while entries.len() < size {
            let len = 256 + usize::try_from(next(&mut state) % 1792).unwrap_or(0);
            bytes.clear();
            bytes.extend((0..len).map(|_| next(&mut state).to_le_bytes()[7]));
            let mut u = Unstructured::new(&bytes);
            let Ok((Some(server), pool)) = server(&mut u) else {
                continue;
            };
            let config = server.config();
            let rebuilt =
                Server::build(config.clone()).expect("a built configuration builds again");
            let permuted = Server::build(permute(config, |n| {
                usize::try_from(next(&mut state) % n as u64).unwrap_or(0)
            }))
            .expect("a built configuration, permuted, builds");
            let names = names(&server);
            entries.push(Entry {
                server,
                pool,
                names,
                rebuilt,
                permuted,
            });
        }
        Space { entries }
    }

    /// How many servers the space holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the space holds no server (never: [`Space::new`] refuses a size below 2).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Decodes the `decide` target's input: server A picked from the space, A's connection and
    /// request drawn from its names, then B (another server of the space, or A's configuration
    /// built again, or permuted and built again) and the mixed facts, as far as the input goes.
    /// `None` when the input ends before A's request.
    #[must_use]
    pub fn input(&self, data: &[u8]) -> Option<Input<&Server<usize>>> {
        let mut u = Unstructured::new(data);
        let len = self.entries.len();
        let first = u.choose_index(len).ok()?;
        let entry = &self.entries[first];
        rest(
            &mut u,
            &entry.server,
            entry.pool.clone(),
            &entry.names,
            |u, _, second| {
                let b = match second {
                    // Another server: a connection of A is not one of B's.
                    Second::Independent => {
                        &self.entries[(first + 1 + u.choose_index(len - 1).ok()?) % len]
                    }
                    _ => entry,
                };
                let server = match second {
                    Second::Independent => &b.server,
                    Second::Rebuilt => &b.rebuilt,
                    Second::Permuted => &b.permuted,
                };
                Some((server, b.names.clone()))
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_space_is_the_same_in_every_process_and_b_is_another_server() {
        let (one, two) = (Space::new(8, 7), Space::new(8, 7));
        assert_eq!(one.len(), 8);
        for (a, b) in one.entries.iter().zip(&two.entries) {
            // A corpus input decides on the same server in every process.
            assert_eq!(
                format!("{:?}", a.server.config()),
                format!("{:?}", b.server.config())
            );
            assert_eq!(a.names, b.names);
        }
        let (mut independent, mut decoded) = (0, 0);
        for seed in 0..64u64 {
            let mut state = seed + 1;
            let data: Vec<u8> = (0..512)
                .map(|_| next(&mut state).to_le_bytes()[7])
                .collect();
            let Some(input) = one.input(&data) else {
                continue;
            };
            decoded += 1;
            if let Some((b, Second::Independent)) = input.b {
                independent += 1;
                assert!(!std::ptr::eq(input.a, b), "B is A");
            }
        }
        assert!(decoded > 32 && independent > 0, "{decoded} {independent}");
    }
}
