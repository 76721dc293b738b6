//! What each structured fuzz target decodes from its input, decoded here once so that the
//! targets and the corpus census (`examples/corpus_census.rs`) read the same bytes the same
//! way.

use arbitrary::Unstructured;
use misdirect::{NamePattern, model};

use crate::{engine_pattern, label, name, pattern_text, wire_authority, wire_host};

/// `pattern`: a pattern text and a wire authority, half the time made a neighbour of the
/// pattern (one label under it, the name itself, two labels under it).
#[must_use]
pub fn pattern(data: &[u8]) -> Option<(String, Vec<u8>)> {
    let mut u = Unstructured::new(data);
    let (Ok(pattern), Ok(mut host)) = (pattern_text(&mut u), wire_authority(&mut u)) else {
        return None;
    };
    if u.ratio(1, 2).unwrap_or(false) {
        let base = pattern.trim_start_matches("*.");
        host = match u.int_in_range(0u8..=2).unwrap_or(0) {
            0 => format!("x.{base}"),
            1 => base.to_string(),
            _ => format!("x.y.{base}"),
        }
        .into_bytes();
    }
    Some((pattern, host))
}

/// `index`: up to 24 patterns (those that parse), then up to 8 hosts, each a wire host or one
/// label under a pattern's name.
#[must_use]
pub fn index(data: &[u8]) -> (Vec<NamePattern>, Vec<String>) {
    let mut u = Unstructured::new(data);
    let mut patterns = Vec::new();
    for _ in 0..u.int_in_range(0..=24).unwrap_or(0) {
        let Ok(text) = pattern_text(&mut u) else {
            break;
        };
        if let Ok(p) = NamePattern::parse(&text) {
            patterns.push(p);
        }
    }
    let model_patterns: Vec<model::Pattern> = patterns.iter().map(engine_pattern).collect();
    let mut hosts = Vec::new();
    for _ in 0..8 {
        let Ok(text) = wire_host(&mut u) else { break };
        // Hosts near the patterns: one label under a pattern's name, or the name.
        hosts.push(match (u.choose(&model_patterns), u.arbitrary::<bool>()) {
            (Ok(p), Ok(true)) => format!("h.{}", p.text().trim_start_matches("*.")),
            _ => text,
        });
    }
    (patterns, hosts)
}

/// `idna`: one name.
#[must_use]
pub fn idna(data: &[u8]) -> Option<String> {
    name(&mut Unstructured::new(data)).ok()
}

/// `webpki`: a pattern text, and when it parses as a DNS SAN, a host text near it (the name
/// itself, one or two labels under it, or a free name).
#[must_use]
pub fn webpki(data: &[u8]) -> Option<(String, Option<(NamePattern, String)>)> {
    let mut u = Unstructured::new(data);
    let text = pattern_text(&mut u).ok()?;
    let Ok(pattern) = NamePattern::parse_san(text.as_bytes()) else {
        return Some((text, None));
    };
    let base = match &pattern {
        NamePattern::Exact(n) | NamePattern::Wildcard(n) => n.to_string(),
        NamePattern::Ip(_) => return Some((text, None)),
    };
    let host = match u.int_in_range(0u8..=4).unwrap_or(0) {
        0 => base.clone(),
        1 | 2 => format!("{}.{base}", label(&mut u).unwrap_or_default()),
        3 => format!(
            "{}.{}.{base}",
            label(&mut u).unwrap_or_default(),
            label(&mut u).unwrap_or_default()
        ),
        _ => name(&mut u).unwrap_or_default(),
    };
    Some((text, Some((pattern, host))))
}

/// `certificate`: bytes to read as DER, names and addresses for rcgen, whether the addresses
/// are IPv4, and a bit to flip in the certificate rcgen makes.
#[derive(Debug)]
pub struct Certificate {
    /// Bytes read as a certificate.
    pub bytes: Vec<u8>,
    /// Names for rcgen (filtered by the target).
    pub names: Vec<String>,
    /// Addresses for rcgen.
    pub ips: Vec<[u8; 16]>,
    /// The addresses are IPv4 (their first four octets).
    pub v4: bool,
    /// A byte position and a bit to flip.
    pub flip: Option<(u16, u8)>,
}

/// Decodes the `certificate` target's input.
///
/// # Errors
/// When the input ends too early.
pub fn certificate(data: &[u8]) -> arbitrary::Result<Certificate> {
    let mut u = Unstructured::new(data);
    Ok(Certificate {
        bytes: u.arbitrary()?,
        names: u.arbitrary()?,
        ips: u.arbitrary()?,
        v4: u.arbitrary()?,
        flip: u.arbitrary()?,
    })
}

/// The names and hosts an input of `target` feeds the code under test, as the target decodes
/// them: request authorities and SNI for `decide` and `server` (servers A and B), patterns and hosts for
/// `pattern`, `index` and `webpki`, the name for `idna`, rcgen's names for `certificate`, the
/// input itself for `authority`.
#[must_use]
pub fn hosts(target: &str, data: &[u8]) -> Vec<Vec<u8>> {
    let text = |s: &str| s.as_bytes().to_vec();
    match target {
        "authority" => vec![data.to_vec()],
        "pattern" => pattern(data).map_or_else(Vec::new, |(p, h)| vec![text(&p), h]),
        "index" => {
            let (patterns, hosts) = index(data);
            patterns
                .iter()
                .map(|p| text(&p.to_string()))
                .chain(hosts.iter().map(|h| text(h)))
                .collect()
        }
        "idna" => idna(data).map(|n| vec![text(&n)]).unwrap_or_default(),
        "webpki" => match webpki(data) {
            Some((p, Some((_, h)))) => vec![text(&p), text(&h)],
            Some((p, None)) => vec![text(&p)],
            None => vec![],
        },
        // The names the target keeps for rcgen.
        "certificate" => certificate(data)
            .map(|c| {
                c.names
                    .iter()
                    .filter(|n| {
                        !n.is_empty() && n.len() <= 253 && n.bytes().all(|b| b.is_ascii_graphic())
                    })
                    .take(6)
                    .map(|n| text(n))
                    .collect()
            })
            .unwrap_or_default(),
        "decide" => crate::space()
            .input(data)
            .map(|input| decision_hosts(&input))
            .unwrap_or_default(),
        "server" => crate::decide::input(data)
            .map(|input| decision_hosts(&input))
            .unwrap_or_default(),
        _ => vec![],
    }
}

/// The hosts and SNI names of a decision target's input.
fn decision_hosts<S>(input: &crate::decide::Input<S>) -> Vec<Vec<u8>> {
    let mut hosts: Vec<Vec<u8>> = Vec::new();
    let requests = std::iter::once(&input.request).chain(input.b_request.as_ref());
    for request in requests {
        hosts.extend(request.fields().into_iter().map(<[u8]>::to_vec));
    }
    let conns = std::iter::once(&input.conn).chain(input.mixed_conn.as_ref());
    hosts.extend(conns.filter_map(|c| c.sni.clone()));
    hosts
}

/// Whether an input of `target` holds a host (or name) over 64 octets with an ASCII capital.
#[must_use]
pub fn holds_long_capitalized_host(target: &str, data: &[u8]) -> bool {
    hosts(target, data)
        .iter()
        .any(|h| crate::decide::long_with_capital(h))
}
