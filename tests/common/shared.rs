//! Plain helpers (no proptest, no arbitrary) shared by the property tests and the fuzz crate,
//! which includes this file by path: repairing random configurations until they build, and
//! turning a server's names into request hosts.

use misdirect::{BuildError, Config, NamePattern, Server};

fn canonical(text: &str) -> Option<String> {
    NamePattern::parse(text).ok().map(|p| p.to_string())
}

/// Drops what conflicts (names two virtual hosts claim, names no certificate covers, names that
/// do not parse) until the configuration builds; `None` if it never does.
#[must_use]
pub fn repair(mut config: Config<usize>) -> Option<Server<usize>> {
    for _ in 0..500 {
        let (vhost, name) = match Server::build(config.clone()) {
            Ok(server) => return Some(server),
            Err(BuildError::DuplicateName { second, name, .. }) => (second, Some(name)),
            Err(BuildError::Uncovered { vhost, name }) => (vhost, Some(name)),
            Err(BuildError::Pattern { vhost, .. }) => (vhost, None),
            Err(BuildError::FallbackNotServing { .. }) => {
                // Let the fallback serve everything; its names may then collide or be
                // uncovered, which the loop repairs too.
                config.vhosts[0].https_ports = vec![443, 8443];
                config.vhosts[0].http_ports = vec![80, 8080];
                continue;
            }
            Err(_) => return None,
        };
        let v = config.vhosts.iter_mut().find(|v| v.name == vhost)?;
        let before = v.names.len();
        v.names.retain(|n| match (&name, canonical(n)) {
            (Some(name), Some(c)) => &c != name,
            (_, c) => c.is_some(),
        });
        if v.names.len() == before {
            return None;
        }
    }
    None
}

/// Every name a server knows: its virtual hosts' and its certificates' (as text).
#[must_use]
pub fn server_names(server: &Server<usize>) -> Vec<String> {
    let config = server.config();
    let mut names: Vec<String> = config
        .vhosts
        .iter()
        .flat_map(|v| v.names.iter().cloned())
        .collect();
    for cert in &config.certificates {
        names.extend(
            cert.sans
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned()),
        );
    }
    names
}

/// A host a pattern (or a neighbour of it) would match: one `label` under a wildcard's parent,
/// an IPv6 address in brackets, or the name itself.
#[must_use]
pub fn instantiate(pattern: &str, label: &str) -> String {
    match pattern.strip_prefix("*.") {
        Some(parent) => format!("{label}.{parent}"),
        None if pattern.contains(':') => format!("[{pattern}]"),
        None => pattern.to_string(),
    }
}

/// One of the near-misses a request host is made from: ports, one and two trailing dots,
/// leading zeros, a deeper name, userinfo; `choice` past the list leaves the host as it is.
#[must_use]
pub fn mutate(host: &str, label: &str, choice: u8) -> String {
    let bracketed = host.starts_with('[');
    match choice {
        0 => format!("{host}:443"),
        1 => format!("{host}:8443"),
        2 => format!("{host}:80"),
        3 if !bracketed => format!("{host}."),
        4 if !bracketed => format!("{host}.."),
        5 => format!("{host}:0443"),
        6 => format!("{label}.{host}"),
        7 => format!("user@{host}"),
        8 => format!("{host}:8080"),
        _ => host.to_string(),
    }
}
