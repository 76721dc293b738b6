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
            Err(BuildError::FallbackNotServing { vhost, .. }) => {
                // Let the fallback serve everything; its names may then collide or be
                // uncovered, which the loop repairs too. Found by name: the generators put
                // the virtual hosts in any order.
                let fallback = config.vhosts.iter_mut().find(|v| v.name == vhost)?;
                fallback.https_ports = vec![443, 8443];
                fallback.http_ports = vec![80, 8080];
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

/// A name of exactly `len` octets: `suffix` under labels of at most 63 octets, their letters
/// cycling through `fill`.
#[must_use]
pub fn filled_name(len: usize, suffix: &str, fill: &[u8]) -> String {
    let mut prefix = len.saturating_sub(suffix.len() + 1);
    let mut letters = fill.iter().copied().cycle();
    let mut labels = Vec::new();
    while prefix > 0 {
        // 64 left would end in an empty label after a 63-octet one and a dot.
        let take = if prefix == 64 { 62 } else { prefix.min(63) };
        labels.push(
            (0..take)
                .map(|_| char::from(letters.next().unwrap_or(b'l')))
                .collect::<String>(),
        );
        prefix -= take;
        prefix = prefix.saturating_sub(1);
    }
    labels.push(suffix.to_string());
    labels.join(".")
}

/// Shuffles `list` in place (Fisher-Yates) with `pick(n)`, which returns a position below `n`:
/// the caller's source of choices (proptest indices, libFuzzer bytes).
pub fn shuffle<X>(list: &mut [X], pick: &mut impl FnMut(usize) -> usize) {
    for i in (1..list.len()).rev() {
        list.swap(i, pick(i + 1).min(i));
    }
}

/// The same configuration with every list whose order should mean nothing put in another
/// order: listeners, virtual hosts, each virtual host's names and ports, certificates, each
/// certificate's SANs, policies. Everything refers to everything else by name, so the server
/// built from it must decide as the original does.
///
/// A listener's `origin_ports` keep their order: the first one is, by the documented API
/// (`Server::sni_vhost`), the port a handshake's SNI selects its virtual host on.
#[must_use]
pub fn permute<T: Clone>(config: &Config<T>, mut pick: impl FnMut(usize) -> usize) -> Config<T> {
    let mut config = config.clone();
    shuffle(&mut config.listeners, &mut pick);
    shuffle(&mut config.vhosts, &mut pick);
    for vhost in &mut config.vhosts {
        shuffle(&mut vhost.names, &mut pick);
        shuffle(&mut vhost.https_ports, &mut pick);
        shuffle(&mut vhost.http_ports, &mut pick);
    }
    shuffle(&mut config.certificates, &mut pick);
    for certificate in &mut config.certificates {
        shuffle(&mut certificate.sans, &mut pick);
    }
    shuffle(&mut config.policies, &mut pick);
    config
}

/// The host of a wire authority (userinfo and port cut off, brackets kept): what the
/// "over 64 octets with a capital" count looks at.
#[must_use]
pub fn authority_host(authority: &[u8]) -> &[u8] {
    let start = authority
        .iter()
        .position(|&b| b == b'@')
        .map_or(0, |at| at + 1);
    let rest = &authority[start..];
    let end = if rest.first() == Some(&b'[') {
        rest.iter()
            .position(|&b| b == b']')
            .map_or(rest.len(), |i| i + 1)
    } else {
        rest.iter().rposition(|&b| b == b':').unwrap_or(rest.len())
    };
    &rest[..end]
}

/// Whether a wire authority's host is longer than 64 octets and holds an ASCII capital: the
/// shape the engine's fast path once lowercased wrong (hostile review, defect 1).
#[must_use]
pub fn long_with_capital(authority: &[u8]) -> bool {
    let host = authority_host(authority);
    host.len() > 64 && host.iter().any(u8::is_ascii_uppercase)
}

impl OwnedRequest {
    /// Every authority-carrying field: `:authority`, `Host`, and an absolute target's.
    #[must_use]
    pub fn fields(&self) -> Vec<&[u8]> {
        let mut fields: Vec<&[u8]> = self
            .authorities
            .iter()
            .chain(&self.hosts)
            .map(Vec::as_slice)
            .collect();
        if let OwnedTarget::Absolute(_, authority) | OwnedTarget::Authority(authority) =
            &self.target
        {
            fields.push(authority);
        }
        fields
    }
}

impl OwnedConnection {
    /// The same facts for `to`, a server built from a permutation of `from`'s configuration:
    /// the listener and the certificate are found by name, not by position.
    #[must_use]
    pub fn rebased<T>(&self, from: &Server<T>, to: &Server<T>) -> OwnedConnection {
        let (a, b) = (from.config(), to.config());
        let listener = &a.listeners[self.listener].name;
        let certificate = &a.certificates[self.certificate % a.certificates.len()].id;
        OwnedConnection {
            listener: b
                .listeners
                .iter()
                .position(|l| &l.name == listener)
                .expect("same listeners"),
            certificate: b
                .certificates
                .iter()
                .position(|c| &c.id == certificate)
                .expect("same certificates"),
            ..self.clone()
        }
    }
}

/// Which of two servers each id of a connection's facts comes from.
#[derive(Clone, Copy, Debug)]
pub struct IdSources {
    /// The listener id is the first server's.
    pub listener: bool,
    /// The certificate id is the first server's.
    pub certificate: bool,
    /// The policy id is the first server's.
    pub policy: bool,
}

impl OwnedConnection {
    /// Borrows these facts with each id taken from `a` or from `b` as `from_a` says (positions
    /// taken modulo each server's counts), for `b.connection(..)`. Also says whether a foreign
    /// id (one of `a`'s) is in the facts: the listener, or a certificate or policy in a
    /// handshake the facts carry.
    pub fn with_ids_of<R>(
        &self,
        a: &Server<usize>,
        b: &Server<usize>,
        from_a: IdSources,
        f: impl FnOnce(&ConnectionFacts<'_>, bool) -> R,
    ) -> R {
        let pick = |first: bool| if first { a } else { b };
        let (ls, cs, ps) = (
            pick(from_a.listener),
            pick(from_a.certificate),
            pick(from_a.policy),
        );
        let listener = &ls.config().listeners[self.listener % ls.config().listeners.len()];
        let certificates = &cs.config().certificates;
        let handshake = Handshake {
            sni: self.sni.as_deref(),
            certificate: cs
                .certificate_id(&certificates[self.certificate % certificates.len()].id)
                .expect("certificate of that server"),
            policy: self
                .policy
                .map(|p| ps.policy_id(POLICIES[p]).expect("declared policy")),
        };
        let tls = match self.gateway {
            Some((_, tls)) => tls,
            None => listener.tls,
        };
        let foreign = from_a.listener
            || (tls && (from_a.certificate || (from_a.policy && self.policy.is_some())));
        f(
            &ConnectionFacts {
                listener: ls
                    .listener_id(&listener.name)
                    .expect("listener of that server"),
                tls: listener.tls.then_some(handshake),
                gateway: self.gateway.map(|(port, tls)| Gateway {
                    port,
                    tls: tls.then_some(handshake),
                }),
            },
            foreign,
        )
    }
}

/// Every way to write `name` that names the same host: each single capital at every position,
/// all capitals, and each of those (and the name itself) with one trailing dot (SPEC §6: a
/// decision does not change under them).
#[must_use]
pub fn case_and_dot_variants(name: &str) -> Vec<String> {
    let mut variants = vec![name.to_string(), name.to_ascii_uppercase()];
    for (i, c) in name.char_indices() {
        if c.is_ascii_lowercase() {
            let mut v = name.to_string();
            v.replace_range(i..=i, &c.to_ascii_uppercase().to_string());
            variants.push(v);
        }
    }
    let dotted: Vec<String> = variants.iter().map(|v| format!("{v}.")).collect();
    variants.extend(dotted);
    variants
}
