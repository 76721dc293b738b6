//! The server's configuration (listeners, virtual hosts, certificates, TLS policies, knobs),
//! checked and compiled once into a [`Server`].

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
// A build's hash sets and indexes are seeded from foldhash's per-process state, never std's
// randomly keyed maps (valgrind, which CI runs the C ABI's tests under, flags those); what a
// build returns does not depend on the seed.

use crate::names::index::{IndexError, Lookup, NameIndex};
use crate::names::pattern::{NamePattern, PatternError, San};
use crate::parse::authority::WireUnicode;
use crate::parse::host::Host;

/// A request scheme misdirect knows the origin rules of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `http`, default port 80.
    Http,
    /// `https`, default port 443.
    Https,
}

impl Scheme {
    /// The scheme's default port (RFC 9110 §4.2.1, §4.2.2).
    #[must_use]
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    /// `http` or `https`, ASCII case-insensitively (RFC 3986 §3.1); anything else is `None`.
    #[must_use]
    pub fn parse(bytes: &[u8]) -> Option<Scheme> {
        // Setting bit 0x20 lowers an ASCII letter and leaves a lowercase one as it is; every
        // byte of `http` and `https` is a letter, so this is an exact case-insensitive compare.
        let http = u32::from_le_bytes(*b"http");
        match bytes {
            [a, b, c, d] if u32::from_le_bytes([*a, *b, *c, *d]) | 0x2020_2020 == http => {
                Some(Scheme::Http)
            }
            [a, b, c, d, e]
                if u32::from_le_bytes([*a, *b, *c, *d]) | 0x2020_2020 == http
                    && *e | 0x20 == b's' =>
            {
                Some(Scheme::Https)
            }
            _ => None,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        })
    }
}

/// SPEC §5 rule 6: how the request's host must relate to the handshake's SNI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SniPolicy {
    /// The host must equal the SNI, and the handshake's policy must be the virtual host's (as
    /// under `Compatible`). Breaks coalescing (traefik#7020); opt-in.
    Strict,
    /// The SNI's virtual host must be the request's (Apache `SSLVHostSNIPolicy strict`), and
    /// the handshake's policy must be its policy (as under `Compatible`).
    SameVhost,
    /// Certificate coverage (rule 4) is enough.
    CertCovered,
    /// The handshake's TLS policy must be the request's virtual host's (Apache
    /// `SSLVHostSNIPolicy secure`, mod_h2, Traefik). The default.
    #[default]
    Compatible,
    /// Skip rules 4 and 6 entirely. Breaks RFC 9110 §7.4; exists only to migrate servers that
    /// never checked.
    Insecure,
}

/// SPEC §5 rule 5: what to do with a host no virtual host claims.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnknownHost {
    /// 421 (RFC 9110 §7.4). The default.
    #[default]
    Misdirected,
    /// 404.
    NotFound,
    /// Serve the named virtual host on every listener that names no fallback of its own
    /// ([`ListenerConfig::fallback`]). It must serve the (scheme, port) pairs those listeners
    /// receive (a build error otherwise), and still goes through rule 6.
    Fallback(String),
}

/// The policy knobs of SPEC §5, with the SPEC's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Knobs {
    /// Rule 6. Default [`SniPolicy::Compatible`].
    pub sni: SniPolicy,
    /// Rule 5. Default [`UnknownHost::Misdirected`].
    pub unknown_host: UnknownHost,
    /// Rule 1: HTTP/2 `:authority` and `Host` must name the same authority, and an HTTP/1.x
    /// absolute-form target's `Host` must match it. Default on.
    pub strict_host_consistency: bool,
    /// Rule 2: serve `http` requests on TLS connections (RFC 8164, Historic). Default off.
    pub opportunistic_http: bool,
    /// Rule 1: serve an HTTP/1.0 request without `Host` from the listener's default virtual
    /// host. Default off.
    pub http10_default_vhost: bool,
    /// What to do with raw non-ASCII bytes in request authorities. Default
    /// [`WireUnicode::Reject`].
    pub wire_unicode: WireUnicode,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            sni: SniPolicy::Compatible,
            unknown_host: UnknownHost::Misdirected,
            strict_host_consistency: true,
            opportunistic_http: false,
            http10_default_vhost: false,
            wire_unicode: WireUnicode::Reject,
        }
    }
}

/// A listening socket: cleartext or TLS, its public port, and the ports whose origins it serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerConfig {
    /// A name for reasons and errors.
    pub name: String,
    /// Whether connections on it are TLS.
    pub tls: bool,
    /// The public port.
    pub port: u16,
    /// The ports whose origins it serves; empty means `[port]`. A listener reached through
    /// Alt-Svc or an HTTPS record `port=` serves the origin's port (RFC 7838).
    pub origin_ports: Vec<u16>,
    /// The virtual host that serves HTTP/1.0 requests without `Host` (knob
    /// `http10_default_vhost`).
    pub default_vhost: Option<String>,
    /// The virtual host a handshake without SNI (or with an SNI no virtual host claims)
    /// selects: its certificate is the one presented.
    pub default_tls_vhost: Option<String>,
    /// The virtual host that serves hosts no virtual host claims on this listener, whatever
    /// the `unknown_host` knob says (nginx's `default_server` belongs to a listening socket).
    /// It must serve the (scheme, port) pairs this listener receives; it still goes through
    /// rule 6.
    pub fallback: Option<String>,
}

impl ListenerConfig {
    /// A listener serving its own port's origins, with no defaults.
    #[must_use]
    pub fn new(name: &str, tls: bool, port: u16) -> Self {
        ListenerConfig {
            name: name.to_string(),
            tls,
            port,
            origin_ports: Vec::new(),
            default_vhost: None,
            default_tls_vhost: None,
            fallback: None,
        }
    }

    /// The (scheme, port) pairs whose requests can reach rule 5 on this listener: its own
    /// scheme on each origin port, and `http` on a TLS listener too with `opportunistic_http`.
    pub(crate) fn received(&self, knobs: &Knobs) -> Vec<(Scheme, u16)> {
        let mut schemes = vec![if self.tls {
            Scheme::Https
        } else {
            Scheme::Http
        }];
        if self.tls && knobs.opportunistic_http {
            schemes.push(Scheme::Http);
        }
        schemes
            .into_iter()
            .flat_map(|scheme| {
                self.effective_origin_ports()
                    .iter()
                    .map(move |&port| (scheme, port))
            })
            .collect()
    }

    /// The ports whose origins the listener serves.
    #[must_use]
    pub fn effective_origin_ports(&self) -> &[u16] {
        if self.origin_ports.is_empty() {
            core::slice::from_ref(&self.port)
        } else {
            &self.origin_ports
        }
    }
}

/// A virtual host: the names it answers to, the schemes and ports it serves, the TLS policy it
/// needs, and the embedder's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VhostConfig<T> {
    /// A name for reasons and errors.
    pub name: String,
    /// Name patterns (exact, `*.parent`, IP), U-labels allowed.
    pub names: Vec<String>,
    /// Ports it serves `http` on.
    pub http_ports: Vec<u16>,
    /// Ports it serves `https` on.
    pub https_ports: Vec<u16>,
    /// The TLS policy it needs (an id from [`Config::policies`]): same id means same
    /// certificate, client-auth requirement, protocol versions and ciphers.
    pub policy: String,
    /// What the embedding server wants back when this virtual host is chosen.
    pub value: T,
}

impl<T> VhostConfig<T> {
    /// A virtual host with the given names, serving `https` on 443, under `policy`.
    pub fn new<S: AsRef<str>>(name: &str, names: &[S], policy: &str, value: T) -> Self {
        VhostConfig {
            name: name.to_string(),
            names: names.iter().map(|s| s.as_ref().to_string()).collect(),
            http_ports: Vec::new(),
            https_ports: vec![443],
            policy: policy.to_string(),
            value,
        }
    }

    /// The ports it serves `scheme` on.
    #[must_use]
    pub fn ports(&self, scheme: Scheme) -> &[u16] {
        match scheme {
            Scheme::Http => &self.http_ports,
            Scheme::Https => &self.https_ports,
        }
    }
}

/// A certificate: an id and the SANs it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateConfig {
    /// The id the TLS layer reports when it presents this certificate.
    pub id: String,
    /// The SANs as they are in the certificate, each with its kind.
    pub sans: Vec<San>,
}

impl CertificateConfig {
    /// A certificate with SANs written as text ([`San::from_text`]: addresses are iPAddress
    /// SANs, the rest dNSNames).
    pub fn new<S: AsRef<[u8]>>(id: &str, sans: &[S]) -> Self {
        CertificateConfig {
            id: id.to_string(),
            sans: sans.iter().map(|s| San::from_text(s.as_ref())).collect(),
        }
    }
}

/// Everything a server decides with, as plain data. [`Server::build`] checks and compiles it;
/// the reference model reads it as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config<T> {
    /// The listeners.
    pub listeners: Vec<ListenerConfig>,
    /// The virtual hosts, in priority order for nothing: names may not collide.
    pub vhosts: Vec<VhostConfig<T>>,
    /// The certificates.
    pub certificates: Vec<CertificateConfig>,
    /// The TLS policy ids.
    pub policies: Vec<String>,
    /// The knobs.
    pub knobs: Knobs,
}

impl<T> Default for Config<T> {
    fn default() -> Self {
        Config {
            listeners: Vec::new(),
            vhosts: Vec::new(),
            certificates: Vec::new(),
            policies: Vec::new(),
            knobs: Knobs::default(),
        }
    }
}

/// The identity of one [`Server::build`]: unique within the process, so ids and connections
/// made by one build are never read by another (SPEC §4, identity across a reload). A rebuilt
/// server may number its listeners, certificates and policies differently; a position read
/// against the wrong build would name another entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Build(u64);

impl Build {
    fn next() -> Build {
        static BUILDS: AtomicU64 = AtomicU64::new(1);
        // Relaxed is enough: only uniqueness matters, not order with other memory.
        Build(BUILDS.fetch_add(1, Ordering::Relaxed))
    }

    /// Bytes that name this build and no other, in this process or any other: the counter with
    /// a per-process random salt (so a session store or ticket key that outlives the process
    /// never matches a build of the next one).
    #[cfg(feature = "rustls")]
    pub(crate) fn token(self) -> [u8; 16] {
        use std::hash::{BuildHasher, Hasher};
        static SALT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        // RandomState is keyed from the operating system's randomness once per process.
        let salt = *SALT.get_or_init(|| {
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        });
        let mut token = [0; 16];
        token[..8].copy_from_slice(&salt.to_be_bytes());
        token[8..].copy_from_slice(&self.0.to_be_bytes());
        token
    }
}

/// A listener of a built server. Only the server that made it accepts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListenerId(pub(crate) u32, pub(crate) Build);
/// A certificate of a built server. Only the server that made it accepts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CertId(pub(crate) u32, pub(crate) Build);
/// A TLS policy of a built server. Only the server that made it accepts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PolicyId(pub(crate) u32, pub(crate) Build);

/// A SAN of a certificate that was skipped because it is malformed (RFC 9525 §6.3: it "MUST be
/// ignored"). It never matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedSan {
    /// The certificate's id.
    pub certificate: String,
    /// The SAN, escaped for display.
    pub san: String,
    /// Why it was skipped.
    pub error: PatternError,
}

impl fmt::Display for SkippedSan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "certificate {:?}: SAN {} skipped: {}",
            self.certificate, self.san, self.error
        )
    }
}

/// The names one (scheme, port) pair's virtual hosts answer to.
pub(crate) struct Route {
    pub scheme: Scheme,
    pub port: u16,
    pub index: NameIndex<u32>,
    /// Per pattern (by position in `index`): bit `c` is set when certificate `c` covers every
    /// host the pattern matches, known at build time. Serving then needs no certificate lookup
    /// (rule 4 is answered by the bit); when the bit is clear the lookup decides. Certificates
    /// past the 64th are always looked up.
    pub covered: Vec<u64>,
}

pub(crate) struct Listener {
    pub tls: bool,
    pub default_vhost: Option<u32>,
    pub default_tls_vhost: Option<u32>,
    /// The listener's own fallback, else the `unknown_host` knob's, if any.
    pub fallback: Option<u32>,
}

/// A checked, compiled configuration: the thing [`Server::decide`](crate::Server::decide) runs
/// on. Built once; shared by every connection.
pub struct Server<T> {
    pub(crate) build: Build,
    pub(crate) config: Config<T>,
    pub(crate) routes: Vec<Route>,
    pub(crate) certificates: Vec<NameIndex<()>>,
    pub(crate) vhost_policy: Vec<u32>,
    pub(crate) listeners: Vec<Listener>,
    skipped: Vec<SkippedSan>,
}

impl<T> Server<T> {
    /// Checks and compiles a configuration.
    ///
    /// # Errors
    /// A [`BuildError`] naming the entries involved: duplicate names, a pattern that does not
    /// parse, two virtual hosts claiming one name on one scheme and port, an `https` name no
    /// certificate covers, or an id that names nothing.
    pub fn build(config: Config<T>) -> Result<Server<T>, BuildError> {
        check_unique("listener", config.listeners.iter().map(|l| l.name.as_str()))?;
        check_unique(
            "virtual host",
            config.vhosts.iter().map(|v| v.name.as_str()),
        )?;
        check_unique(
            "certificate",
            config.certificates.iter().map(|c| c.id.as_str()),
        )?;
        check_unique("policy", config.policies.iter().map(String::as_str))?;

        // Each certificate's index and the coverage index are filled SAN by SAN from one parse,
        // no pattern copied, no sort: the same name twice in one certificate is harmless (the
        // first is kept), and a name several certificates hold gets all their bits.
        let sans: usize = config.certificates.iter().map(|c| c.sans.len()).sum();
        let mut coverage = Coverage {
            index: NameIndex::with_capacity(sans),
        };
        let mut skipped = Vec::new();
        let mut certificates = Vec::new();
        for (c, cert) in config.certificates.iter().enumerate() {
            let bit = if c < 64 { 1u64 << c } else { 0 };
            let mut index = NameIndex::with_capacity(cert.sans.len());
            for (position, san) in cert.sans.iter().enumerate() {
                let pattern = match NamePattern::from_san(san) {
                    Ok(p) => p,
                    Err(error) => {
                        skipped.push(SkippedSan {
                            certificate: cert.id.clone(),
                            san: san.to_string(),
                            error,
                        });
                        continue;
                    }
                };
                let index_error = |e: IndexError| BuildError::Index(e.to_string());
                index
                    .insert(position, &pattern, (), |(), ()| Ok(()))
                    .map_err(index_error)?;
                coverage
                    .index
                    .insert(position, &pattern, bit, |bits, bit| {
                        *bits |= bit;
                        Ok(())
                    })
                    .map_err(index_error)?;
            }
            index.finish();
            certificates.push(index);
        }
        coverage.index.finish();

        let mut vhost_policy = Vec::new();
        let mut vhost_patterns = Vec::new();
        for vhost in &config.vhosts {
            let policy = position(&config.policies, &vhost.policy).ok_or_else(|| {
                BuildError::UnknownPolicy {
                    vhost: vhost.name.clone(),
                    policy: vhost.policy.clone(),
                }
            })?;
            vhost_policy.push(policy);
            let mut patterns = Vec::new();
            for name in &vhost.names {
                let pattern = NamePattern::parse(name).map_err(|error| BuildError::Pattern {
                    vhost: vhost.name.clone(),
                    name: name.escape_debug().to_string(),
                    error,
                })?;
                // Asked once per pattern; every route of the virtual host takes these bits.
                let covered = coverage.of(&pattern);
                if vhost.ports(Scheme::Https).is_empty() || covered.is_some() {
                    patterns.push((pattern, covered.unwrap_or(0)));
                } else {
                    return Err(BuildError::Uncovered {
                        vhost: vhost.name.clone(),
                        name: pattern.to_string(),
                    });
                }
            }
            vhost_patterns.push(patterns);
        }

        drop(coverage);
        let routes = build_routes(&config, vhost_patterns)?;

        let vhost_id = |who: &str, name: &Option<String>| -> Result<Option<u32>, BuildError> {
            match name {
                None => Ok(None),
                Some(name) => position_by(&config.vhosts, |v| &v.name == name)
                    .map(Some)
                    .ok_or_else(|| BuildError::UnknownVhost {
                        what: if who == "unknown_host fallback" {
                            who.to_string()
                        } else {
                            format!("listener {who:?}")
                        },
                        vhost: name.clone(),
                    }),
            }
        };
        let global = match &config.knobs.unknown_host {
            UnknownHost::Fallback(name) => {
                Some(vhost_id("unknown_host fallback", &Some(name.clone()))?)
            }
            _ => None,
        }
        .flatten();
        let mut listeners = Vec::new();
        for l in &config.listeners {
            if l.port == 0 || l.origin_ports.contains(&0) {
                return Err(BuildError::PortZero {
                    listener: l.name.clone(),
                });
            }
            let fallback = vhost_id(&l.name, &l.fallback)?.or(global);
            // A fallback needs to serve only what this listener receives (SPEC §5 rule 5).
            if let Some(id) = fallback {
                let vhost = &config.vhosts[id as usize];
                if let Some((scheme, port)) = l
                    .received(&config.knobs)
                    .into_iter()
                    .find(|&(scheme, port)| !vhost.ports(scheme).contains(&port))
                {
                    return Err(BuildError::FallbackNotServing {
                        vhost: vhost.name.clone(),
                        listener: l.name.clone(),
                        scheme,
                        port,
                    });
                }
            }
            listeners.push(Listener {
                tls: l.tls,
                default_vhost: vhost_id(&l.name, &l.default_vhost)?,
                default_tls_vhost: vhost_id(&l.name, &l.default_tls_vhost)?,
                fallback,
            });
        }

        Ok(Server {
            build: Build::next(),
            config,
            routes,
            certificates,
            vhost_policy,
            listeners,
            skipped,
        })
    }

    /// The configuration the server was built from.
    #[must_use]
    pub fn config(&self) -> &Config<T> {
        &self.config
    }

    /// Certificate SANs that were skipped as malformed, for the operator's log.
    #[must_use]
    pub fn skipped_sans(&self) -> &[SkippedSan] {
        &self.skipped
    }

    /// The id of the listener with this name.
    #[must_use]
    pub fn listener_id(&self, name: &str) -> Option<ListenerId> {
        position_by(&self.config.listeners, |l| l.name == name).map(|i| ListenerId(i, self.build))
    }

    /// The id of the certificate with this id.
    #[must_use]
    pub fn certificate_id(&self, id: &str) -> Option<CertId> {
        position_by(&self.config.certificates, |c| c.id == id).map(|i| CertId(i, self.build))
    }

    /// The id of the TLS policy with this name.
    #[must_use]
    pub fn policy_id(&self, name: &str) -> Option<PolicyId> {
        position(&self.config.policies, name).map(|i| PolicyId(i, self.build))
    }

    /// The listener accepting connections on this local port, with this transport: how an
    /// accept loop that knows only its socket finds the listener id.
    #[must_use]
    pub fn listener_for(&self, tls: bool, port: u16) -> Option<ListenerId> {
        position_by(&self.config.listeners, |l| l.tls == tls && l.port == port)
            .map(|i| ListenerId(i, self.build))
    }

    /// The names of a certificate id, policy id and listener id, for logs.
    #[must_use]
    pub fn certificate_name(&self, id: CertId) -> Option<&str> {
        let index = self.own(id.0, id.1)?;
        self.config.certificates.get(index).map(|c| c.id.as_str())
    }

    /// The name of a listener id.
    #[must_use]
    pub fn listener_name(&self, id: ListenerId) -> Option<&str> {
        let index = self.own(id.0, id.1)?;
        self.config.listeners.get(index).map(|l| l.name.as_str())
    }

    /// The name of a TLS policy id.
    #[must_use]
    pub fn policy_name(&self, id: PolicyId) -> Option<&str> {
        let index = self.own(id.0, id.1)?;
        self.config.policies.get(index).map(String::as_str)
    }

    /// The virtual host (by position in [`Config::vhosts`]) a handshake with this SNI selects on
    /// a TLS listener: the one serving `https` on the listener's first origin port whose names
    /// match the SNI, else the listener's `default_tls_vhost` (SPEC §4). The TLS layer applies
    /// that virtual host's policy; `None` when neither exists or the listener is not this
    /// server's.
    #[must_use]
    pub fn sni_vhost(&self, listener: ListenerId, sni: Option<&[u8]>) -> Option<usize> {
        let index = self.own(listener.0, listener.1)?;
        let config = self.config.listeners.get(index)?;
        let port = config.effective_origin_ports()[0];
        let found = match sni.map(Host::parse) {
            Some(Ok(host @ Host::Dns(_))) => self
                .route(Scheme::Https, port)
                .and_then(|index| index.lookup(&host))
                .map(|hit| *hit.value),
            _ => None,
        };
        found
            .or(self.listeners[index].default_tls_vhost)
            .map(|v| v as usize)
    }

    /// The TLS policy a handshake with this SNI gets on a listener: that of
    /// [`Server::sni_vhost`]. This is SPEC §4's one rule for a handshake's policy, and every
    /// reader of it calls this function: the rustls `Acceptor` and the `QuicAcceptor` (features
    /// `rustls`, `quinn`) record exactly its answer, [`Server::connection`] assumes it when the
    /// TLS layer recorded none, and `misdirect-explain` and `misdirect-probe` expect it.
    ///
    /// `None` (no virtual host for the SNI and no `default_tls_vhost`): the acceptor completes
    /// the handshake under its default policy's TLS settings but records no policy, and under
    /// `sni = Compatible` every request on the connection is refused (421, rule 6).
    #[must_use]
    pub fn sni_policy(&self, listener: ListenerId, sni: Option<&[u8]>) -> Option<PolicyId> {
        self.sni_vhost(listener, sni)
            .map(|v| PolicyId(self.vhost_policy[v], self.build))
    }

    /// Whether the certificate covers the host (SPEC §5 rule 4). O(1) in the number of SANs.
    #[must_use]
    pub fn certificate_covers(&self, certificate: CertId, host: &Host) -> bool {
        self.own(certificate.0, certificate.1)
            .and_then(|index| self.certificates.get(index))
            .is_some_and(|index| index.covers(host))
    }

    /// The position an id of this build names; `None` for another build's id. Every id the
    /// server made is in range: its lists never change after the build.
    pub(crate) fn own(&self, index: u32, build: Build) -> Option<usize> {
        (build == self.build).then_some(index as usize)
    }

    pub(crate) fn route(&self, scheme: Scheme, port: u16) -> Option<&NameIndex<u32>> {
        self.route_entry(scheme, port).map(|r| &r.index)
    }

    pub(crate) fn route_entry(&self, scheme: Scheme, port: u16) -> Option<&Route> {
        self.routes
            .iter()
            .find(|r| r.scheme == scheme && r.port == port)
    }
}

impl<T: fmt::Debug> fmt::Debug for Server<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .field("skipped_sans", &self.skipped)
            .finish_non_exhaustive()
    }
}

/// Every distinct SAN pattern of the certificates, with a bit for each of the first 64
/// certificates that holds it (the routes' coverage bits, `Route::covered`): which
/// certificates cover a virtual host's pattern is one lookup here. Asking each certificate in
/// turn made a build of N virtual hosts on N/10 certificates quadratic (45 ms for 1,000, past
/// ten minutes for 100,000).
struct Coverage {
    index: NameIndex<u64>,
}

impl Coverage {
    /// Whether some certificate covers every host the pattern matches (an exact name or
    /// address by a SAN that matches it, a wildcard by the same wildcard), and then the bits of
    /// those among the first 64 that do: a certificate covers an exact name through the name
    /// itself or the one wildcard one label above it, so the two entries the lookup finds are
    /// the holders.
    fn of(&self, pattern: &NamePattern) -> Option<u64> {
        Coverage::holders(pattern, &self.index.lookup_pattern(pattern))
    }

    /// [`Coverage::of`]'s answer from what the coverage index found for the pattern.
    fn holders(pattern: &NamePattern, found: &Lookup<'_, u64>) -> Option<u64> {
        match pattern {
            NamePattern::Wildcard(_) => found.wildcard.map(|hit| *hit.value),
            _ => match (found.exact, found.wildcard) {
                (None, None) => None,
                (exact, wildcard) => {
                    Some(exact.map_or(0, |hit| *hit.value) | wildcard.map_or(0, |hit| *hit.value))
                }
            },
        }
    }
}

/// The routes, from each virtual host's patterns with their coverage bits.
fn build_routes<T>(
    config: &Config<T>,
    mut patterns: Vec<Vec<(NamePattern, u64)>>,
) -> Result<Vec<Route>, BuildError> {
    let mut keys: Vec<(Scheme, u16)> = Vec::new();
    for vhost in &config.vhosts {
        for scheme in [Scheme::Http, Scheme::Https] {
            for &port in vhost.ports(scheme) {
                if !keys.contains(&(scheme, port)) {
                    keys.push((scheme, port));
                }
            }
        }
    }
    // A virtual host's patterns are moved into the last route that takes them, copied into
    // the others (most virtual hosts serve one route: a copy and a drop of every pattern were
    // a tenth of a build).
    let last: Vec<usize> = config
        .vhosts
        .iter()
        .map(|vhost| {
            keys.iter()
                .rposition(|&(scheme, port)| vhost.ports(scheme).contains(&port))
                .unwrap_or(0)
        })
        .collect();
    let mut routes = Vec::new();
    for (k, (scheme, port)) in keys.into_iter().enumerate() {
        let mut owners = Vec::new();
        let mut entries = Vec::new();
        let mut covered = Vec::new();
        for (id, vhost) in config.vhosts.iter().enumerate() {
            if vhost.ports(scheme).contains(&port) {
                let taken = if last[id] == k {
                    std::mem::take(&mut patterns[id])
                } else {
                    patterns[id].clone()
                };
                for (pattern, bits) in taken {
                    owners.push(id);
                    covered.push(bits);
                    #[allow(clippy::cast_possible_truncation)] // checked by NameIndex
                    entries.push((pattern, id as u32));
                }
            }
        }
        let index = NameIndex::build(entries).map_err(|e| match e {
            IndexError::Duplicate {
                first,
                second,
                pattern,
            } => BuildError::DuplicateName {
                first: config.vhosts[owners[first]].name.clone(),
                second: config.vhosts[owners[second]].name.clone(),
                name: pattern,
                scheme,
                port,
            },
            other => BuildError::Index(other.to_string()),
        })?;
        routes.push(Route {
            scheme,
            port,
            index,
            covered,
        });
    }
    Ok(routes)
}

fn check_unique<'a>(
    what: &'static str,
    names: impl Iterator<Item = &'a str>,
) -> Result<(), BuildError> {
    // Hashed, not ordered: a tree of 100,000 virtual host names spent most of a build's byte
    // compares.
    let mut seen = hashbrown::HashSet::with_capacity_and_hasher(
        names.size_hint().0,
        foldhash::fast::RandomState::default(),
    );
    for name in names {
        if !seen.insert(name) {
            return Err(BuildError::DuplicateId {
                what,
                id: name.to_string(),
            });
        }
    }
    Ok(())
}

fn position(list: &[String], name: &str) -> Option<u32> {
    position_by(list, |s| s == name)
}

fn position_by<E>(list: &[E], pred: impl Fn(&E) -> bool) -> Option<u32> {
    list.iter()
        .position(pred)
        .and_then(|i| u32::try_from(i).ok())
}

/// Why a configuration was refused. Every variant names the entries involved.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// Two listeners, virtual hosts, certificates or policies share a name.
    DuplicateId {
        /// What kind of entry.
        what: &'static str,
        /// The shared name.
        id: String,
    },
    /// A virtual host's name does not parse.
    Pattern {
        /// The virtual host.
        vhost: String,
        /// The name, escaped.
        name: String,
        /// Why.
        error: PatternError,
    },
    /// Two virtual hosts claim the same name on the same scheme and port.
    DuplicateName {
        /// The first virtual host.
        first: String,
        /// The second.
        second: String,
        /// The name, canonical.
        name: String,
        /// The scheme.
        scheme: Scheme,
        /// The port.
        port: u16,
    },
    /// A virtual host serves `https` under a name no certificate covers: every request for it
    /// would be answered 421.
    Uncovered {
        /// The virtual host.
        vhost: String,
        /// The name, canonical.
        name: String,
    },
    /// A virtual host names a policy that is not declared.
    UnknownPolicy {
        /// The virtual host.
        vhost: String,
        /// The policy it names.
        policy: String,
    },
    /// A listener default or the fallback names a virtual host that does not exist.
    UnknownVhost {
        /// Who names it.
        what: String,
        /// The name.
        vhost: String,
    },
    /// A fallback virtual host does not serve a scheme and port its listener receives.
    FallbackNotServing {
        /// The fallback.
        vhost: String,
        /// The listener whose requests it would serve.
        listener: String,
        /// The scheme it does not serve.
        scheme: Scheme,
        /// The port it does not serve.
        port: u16,
    },
    /// A listener with port 0.
    PortZero {
        /// The listener.
        listener: String,
    },
    /// An index could not be built (over 2^32 names).
    Index(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::DuplicateId { what, id } => write!(f, "two of {what} {id:?}"),
            BuildError::Pattern { vhost, name, error } => {
                write!(f, "virtual host {vhost:?}: name \"{name}\": {error}")
            }
            BuildError::DuplicateName {
                first,
                second,
                name,
                scheme,
                port,
            } => write!(
                f,
                "virtual hosts {first:?} and {second:?} both claim {name} on {scheme} port {port}"
            ),
            BuildError::Uncovered { vhost, name } => write!(
                f,
                "virtual host {vhost:?} serves https for {name}, which no certificate covers"
            ),
            BuildError::UnknownPolicy { vhost, policy } => write!(
                f,
                "virtual host {vhost:?} names policy {policy:?}, which is not declared"
            ),
            BuildError::UnknownVhost { what, vhost } => {
                write!(
                    f,
                    "{what} names virtual host {vhost:?}, which does not exist"
                )
            }
            BuildError::FallbackNotServing {
                vhost,
                listener,
                scheme,
                port,
            } => write!(
                f,
                "fallback virtual host {vhost:?} does not serve {scheme} port {port}, which \
                 listener {listener:?} receives"
            ),
            BuildError::PortZero { listener } => write!(f, "listener {listener:?} has port 0"),
            BuildError::Index(message) => write!(f, "index: {message}"),
        }
    }
}

impl std::error::Error for BuildError {}

#[cfg(test)]
mod tests {
    use super::{Coverage, NameIndex, NamePattern, Scheme};
    use crate::parse::host::Host;

    /// A host every host the pattern matches stands for: the name or address itself, or one label
    /// under a wildcard's parent (written into `scratch`).
    fn probe(pattern: &NamePattern, scratch: &mut Vec<u8>) -> Option<Host> {
        let probe = match pattern {
            NamePattern::Exact(name) => Host::parse(name.as_bytes()),
            NamePattern::Wildcard(parent) => {
                scratch.clear();
                scratch.extend_from_slice(b"x.");
                scratch.extend_from_slice(parent.as_bytes());
                Host::parse(scratch)
            }
            NamePattern::Ip(addr) => Host::parse(
                match addr {
                    std::net::IpAddr::V4(v4) => v4.to_string(),
                    std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                }
                .as_bytes(),
            ),
        };
        probe.ok()
    }

    /// [`Coverage::of`] as it was before it read the pattern's bytes: the pattern parsed back
    /// into a host and looked up as one.
    fn of_by_parse(coverage: &Coverage, pattern: &NamePattern) -> Option<u64> {
        let probe = probe(pattern, &mut Vec::new())?;
        Coverage::holders(pattern, &coverage.index.lookup_all(&probe))
    }

    /// The coverage lookup from a pattern's bytes answers as the lookup of the host parsed
    /// from it, on names at the edges of what a configuration may hold: capitals, U-labels,
    /// `_`, hyphens at label edges, numeric and hex-looking labels, 63-octet labels, 253-octet
    /// names, addresses (IPv4-mapped among them), and a certificate's SAN held twice or by two
    /// certificates.
    #[test]
    fn coverage_from_pattern_bytes_answers_as_the_parsed_host() {
        let label63 = "a".repeat(63);
        let long = format!("{label63}.{label63}.{label63}.{}.example", "b".repeat(53));
        assert_eq!(long.len(), 253);
        let names: Vec<String> = [
            "example.com",
            "www.example.com",
            "*.example.com",
            "*.www.example.com",
            "Api.Example.COM",
            "bücher.example",
            "*.bücher.example",
            "xn--bcher-kva.example",
            "_acme.example.com",
            "a-.example.com",
            "-a.example.com",
            "1.example.com",
            "0x1.example.com",
            "123.example.com",
            "example.123",
            "a.0x10",
            "localhost",
            "*.localhost",
            "x.y",
            "*.y",
            "192.0.2.1",
            "2001:db8::1",
            "::ffff:192.0.2.1",
            "[2001:db8::2]",
            "10.0.0.1",
            "*.1.example.com",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([
            format!("{label63}.example.com"),
            format!("*.{label63}.example"),
            long,
        ])
        .collect();
        let patterns: Vec<NamePattern> = names
            .iter()
            .filter_map(|n| NamePattern::parse(n).ok())
            .collect();
        assert!(patterns.len() > 20, "{patterns:?}");
        // Certificates: every pattern alone, in pairs, and twice in one certificate.
        let mut coverage = Coverage {
            index: NameIndex::with_capacity(0),
        };
        for (c, pattern) in patterns.iter().enumerate().filter(|(c, _)| c % 3 != 1) {
            for bit in [1u64 << (c % 64), 1 << ((c + 7) % 64), 1 << (c % 64)] {
                coverage
                    .index
                    .insert(c, pattern, bit, |bits, bit| {
                        *bits |= bit;
                        Ok(())
                    })
                    .unwrap();
            }
        }
        coverage.index.finish();
        for pattern in &patterns {
            assert_eq!(
                coverage.of(pattern),
                of_by_parse(&coverage, pattern),
                "{pattern}"
            );
        }
    }

    #[test]
    fn scheme_parse_is_exactly_case_insensitive() {
        for (text, want) in [
            (&b"http"[..], Some(Scheme::Http)),
            (b"HTTP", Some(Scheme::Http)),
            (b"hTtPs", Some(Scheme::Https)),
            (b"HTTPS", Some(Scheme::Https)),
            (b"http:", None),
            (b"htt", None),
            (b"httpss", None),
            (b"ftp", None),
            (b"", None),
        ] {
            assert_eq!(Scheme::parse(text), want, "{text:?}");
        }
        // Every one-byte change of `http`/`https` that is not a case change is refused.
        for base in [&b"http"[..], b"https"] {
            for i in 0..base.len() {
                for b in 0..=255u8 {
                    let mut bytes = base.to_vec();
                    bytes[i] = b;
                    let same = b.eq_ignore_ascii_case(&base[i]);
                    assert_eq!(Scheme::parse(&bytes).is_some(), same, "{bytes:?}");
                }
            }
        }
    }
}
