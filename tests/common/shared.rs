//! Plain helpers (no proptest, no arbitrary) shared by the property tests and the fuzz crate,
//! which includes this file by path: repairing random configurations until they build, turning a
//! server's names into request hosts, and owned requests and connections to borrow facts from.

use misdirect::{
    BuildError, Config, ConnectionFacts, Gateway, Handshake, Method, NamePattern, Request, San,
    Server, Target, Version,
};

/// The TLS policy ids every generated server declares.
pub const POLICIES: &[&str] = &["public", "mtls", "legacy"];

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
        names.extend(cert.sans.iter().map(|s| match s {
            San::Dns(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            San::Ip(addr) => addr.to_string(),
        }));
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

/// A request, owned, so it can be borrowed as a [`Request`].
#[derive(Clone, Debug)]
pub struct OwnedRequest {
    /// Version.
    pub version: Version,
    /// Method class.
    pub method: Method,
    /// `:scheme`.
    pub scheme: Option<Vec<u8>>,
    /// `:authority` values.
    pub authorities: Vec<Vec<u8>>,
    /// `Host` values.
    pub hosts: Vec<Vec<u8>>,
    /// The request-target form.
    pub target: OwnedTarget,
}

/// A request-target form, owned.
#[derive(Clone, Debug)]
pub enum OwnedTarget {
    /// Origin-form.
    Origin,
    /// Absolute-form: scheme and authority.
    Absolute(Vec<u8>, Vec<u8>),
    /// Authority-form.
    Authority(Vec<u8>),
    /// Asterisk-form.
    Asterisk,
}

impl OwnedRequest {
    /// Borrows it as a [`Request`].
    pub fn with<R>(&self, f: impl FnOnce(&Request<'_>) -> R) -> R {
        let authorities: Vec<&[u8]> = self.authorities.iter().map(Vec::as_slice).collect();
        let hosts: Vec<&[u8]> = self.hosts.iter().map(Vec::as_slice).collect();
        let target = match &self.target {
            OwnedTarget::Origin => Target::Origin,
            OwnedTarget::Absolute(s, a) => Target::Absolute {
                scheme: s,
                authority: a,
            },
            OwnedTarget::Authority(a) => Target::Authority(a),
            OwnedTarget::Asterisk => Target::Asterisk,
        };
        f(&Request {
            version: self.version,
            method: self.method,
            scheme: self.scheme.as_deref(),
            authorities: &authorities,
            hosts: &hosts,
            target,
        })
    }

    /// The scheme the request names, when it has a default port (`http` or `https`, for the
    /// default-port transform); `None` for any other scheme, whose port has no default.
    #[must_use]
    pub fn named_scheme(&self, secure: bool) -> Option<&'static str> {
        let raw: &[u8] = match (&self.version, &self.target) {
            (Version::Http2 | Version::Http3, _) => self.scheme.as_deref().unwrap_or_default(),
            (_, OwnedTarget::Absolute(s, _)) => s,
            _ if secure => b"https",
            _ => b"http",
        };
        if raw.eq_ignore_ascii_case(b"https") {
            Some("https")
        } else if raw.eq_ignore_ascii_case(b"http") {
            Some("http")
        } else {
            None
        }
    }

    /// The field the request's authority comes from, when it is served by name (`None` for
    /// the HTTP/1.0 default path).
    #[must_use]
    pub fn served_field(&self) -> Option<&[u8]> {
        match self.version {
            Version::Http2 | Version::Http3 => self
                .authorities
                .first()
                .or(self.hosts.first())
                .map(Vec::as_slice),
            _ => match &self.target {
                OwnedTarget::Absolute(_, a) => Some(a),
                _ => self.hosts.first().map(Vec::as_slice),
            },
        }
    }
}

/// Connection facts, owned: listener, handshake and gateway choices.
#[derive(Clone, Debug)]
pub struct OwnedConnection {
    /// Position of the listener.
    pub listener: usize,
    /// SNI bytes.
    pub sni: Option<Vec<u8>>,
    /// Certificate position (taken modulo the server's count).
    pub certificate: usize,
    /// Position in [`POLICIES`], when the TLS layer knows the policy.
    pub policy: Option<usize>,
    /// A trusted gateway: its port and whether it terminated TLS.
    pub gateway: Option<(u16, bool)>,
}

impl OwnedConnection {
    /// The certificate position these facts name on `server`.
    #[must_use]
    pub fn certificate_of(&self, server: &Server<usize>) -> usize {
        self.certificate % server.config().certificates.len()
    }

    /// Borrows it as [`ConnectionFacts`] for `server`.
    pub fn with<R>(&self, server: &Server<usize>, f: impl FnOnce(&ConnectionFacts<'_>) -> R) -> R {
        let config = server.config();
        let listener = &config.listeners[self.listener];
        let handshake = Handshake {
            sni: self.sni.as_deref(),
            certificate: server
                .certificate_id(&config.certificates[self.certificate_of(server)].id)
                .expect("certificate of this server"),
            policy: self
                .policy
                .map(|p| server.policy_id(POLICIES[p]).expect("declared policy")),
        };
        f(&ConnectionFacts {
            listener: server
                .listener_id(&listener.name)
                .expect("listener of this server"),
            // Behind a gateway the local handshake is still reported; the gateway's replaces it.
            tls: listener.tls.then_some(handshake),
            gateway: self.gateway.map(|(port, tls)| Gateway {
                port,
                tls: tls.then_some(handshake),
            }),
        })
    }
}
