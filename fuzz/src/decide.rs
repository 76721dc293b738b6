//! Whole decisions from fuzz input: a server whose names overlap, then a connection and a
//! request drawn from that server's own names and mutated (case, dots, ports, labels).

use arbitrary::{Result, Unstructured};
use misdirect::{
    CertificateConfig, Config, Knobs, ListenerConfig, Method, Server, SniPolicy, UnknownHost,
    Version, VhostConfig, WireUnicode,
};

const BASES: &[&str] = &["example.com", "example.org", "xn--bcher-kva.test"];
const SUBS: &[&str] = &["a", "b", "www", "api", "xn--tst-bma"];

fn pool_name(u: &mut Unstructured<'_>) -> Result<String> {
    let base = u.choose(BASES)?;
    let sub = u.choose(SUBS)?;
    Ok(match u.int_in_range(0u8..=9)? {
        0..=3 => format!("{sub}.{base}"),
        4 | 5 => format!("*.{base}"),
        6 => format!("*.{sub}.{base}"),
        7 => (*base).to_string(),
        8 => (*u.choose(&["192.0.2.1", "2001:db8::1"])?).to_string(),
        _ => crate::pattern_text(u)?,
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

/// A configuration, repaired until it builds (names that collide or that no certificate covers
/// are dropped), or `None`.
pub fn server(u: &mut Unstructured<'_>) -> Result<Option<Server<usize>>> {
    let mut certificates = Vec::new();
    for i in 0..u.int_in_range(1..=6)? {
        let mut sans = Vec::new();
        for _ in 0..u.int_in_range(1..=5)? {
            sans.push(pool_name(u)?);
        }
        certificates.push(CertificateConfig::new(&format!("c{i}"), &sans));
    }
    let mut vhosts = Vec::new();
    for i in 0..u.int_in_range(1..=20)? {
        let mut names = Vec::new();
        for _ in 0..u.int_in_range(0..=3)? {
            names.push(pool_name(u)?);
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
    Ok(repair(config))
}

#[path = "../../tests/common/shared.rs"]
mod shared;
pub use shared::{
    OwnedConnection, OwnedRequest, OwnedTarget, POLICIES, repair, server_names as names,
};

/// An authority drawn from `names` and mutated, or a free one.
pub fn authority(u: &mut Unstructured<'_>, names: &[String]) -> Result<Vec<u8>> {
    if names.is_empty() || u.ratio(1, 6)? {
        return crate::wire_authority(u);
    }
    let name = u.choose(names)?;
    let label = *u.choose(SUBS)?;
    let host = crate::flip_case(u, &shared::instantiate(name, label))?;
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
pub fn request(u: &mut Unstructured<'_>, names: &[String]) -> Result<OwnedRequest> {
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
    let first = authority(u, names)?;
    let mut authorities = Vec::new();
    if !h1 {
        for i in 0..count(u)? {
            authorities.push(if i == 0 {
                first.clone()
            } else {
                authority(u, names)?
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
            authority(u, names)?
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
    certificates: usize,
) -> Result<OwnedConnection> {
    let sni = match u.int_in_range(0u8..=7)? {
        0 => None,
        1 => Some(b"192.0.2.1".to_vec()),
        _ => {
            let mut b = authority(u, names)?;
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
