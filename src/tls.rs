//! rustls and tokio-rustls glue (feature `rustls`): a certificate resolver on the crate's own
//! name index, and an acceptor that records which certificate and TLS policy each handshake got,
//! so the decision's rule 4 and rule 6 see what the client was really shown.
//!
//! The policy of a handshake (SPEC §4) is that of the virtual host its SNI selects
//! ([`Server::sni_policy`]): the [`Acceptor`] picks the `rustls::ServerConfig` registered for
//! that policy (client authentication, versions, ciphers) before the handshake goes on. It
//! writes what the handshake showed into the session's resumption data, so a resumed session
//! reports the certificate and policy of its original handshake: resumption cannot carry a
//! client from a handshake made under one policy into a virtual host of another
//! (CVE-2025-23048).
//!
//! Resumption data outlives the server that wrote it: session caches and ticket keys are kept
//! across a reload, and the rebuilt server may list its policies and certificates in another
//! order. So the data names what it means, never a position: the digest of the policy's name,
//! and the digest of the certificate's id with the certificate actually presented (a renewed
//! certificate under the same id is another certificate). And the acceptor wraps each
//! `ServerConfig`'s session store and ticketer so that a session resumes only under the same
//! policy and the same set of certificates: anything else is not found, and the client gets a
//! full handshake instead of a session whose meaning changed (SPEC §4).

use core::fmt;
use std::io;
use std::sync::Arc;

use rustls::server::{
    ClientHello, ProducesTickets, ResolvesServerCert, ServerConnection, StoresServerSessions,
};
use rustls::sign::CertifiedKey;
use rustls::{HandshakeKind, ServerConfig};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;

use crate::facts::{ConnectionFacts, Handshake};
use crate::host::Host;
use crate::index::NameIndex;
use crate::pattern::NamePattern;
use crate::server::{Build, CertId, ListenerId, PolicyId, Server};

/// An error building the TLS glue or accepting a connection with it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsError {
    /// A key was given for a certificate id the server's configuration does not have.
    UnknownCertificate(String),
    /// A configuration was given for a policy id the server's configuration does not have.
    UnknownPolicy(String),
    /// The listener id is not a TLS listener of this server.
    NotTlsListener,
    /// The handshake's SNI selects a policy no `ServerConfig` was registered for.
    NoConfigForPolicy(String),
    /// A resumed session whose resumption data does not name a policy and certificate of this
    /// server (not made by an [`Acceptor`], or by one of a server whose certificates changed),
    /// or, read by [`TlsFacts::from_stream`], that has none (a TLS 1.2 session): its
    /// certificate and policy are unknown, so it is refused rather than guessed.
    ForeignResumption,
    /// The resolver was made for another build of the server than the acceptor's.
    ForeignResolver,
    /// No certificate covers the SNI and there is no default certificate.
    NoCertificate,
    /// A `ServerConfig` registered with a `QuicAcceptor` cannot run QUIC (feature `quinn`):
    /// QUIC needs TLS 1.3 with `TLS13_AES_128_GCM_SHA256`, and `max_early_data_size` 0 or
    /// `u32::MAX`.
    QuicConfig {
        /// The policy the configuration was given for.
        policy: String,
        /// What rustls or quinn said.
        reason: String,
    },
    /// A quinn connection whose handshake was not made by a `QuicAcceptor`, or is not complete
    /// yet (feature `quinn`): its certificate and policy are unknown, so it is refused rather
    /// than guessed.
    UnknownQuicHandshake,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::UnknownCertificate(id) => {
                write!(f, "certificate {id:?} is not in the server's configuration")
            }
            TlsError::UnknownPolicy(id) => {
                write!(f, "policy {id:?} is not in the server's configuration")
            }
            TlsError::NotTlsListener => f.write_str("the listener is not a TLS listener"),
            TlsError::NoConfigForPolicy(id) => {
                write!(f, "no rustls ServerConfig is registered for policy {id:?}")
            }
            TlsError::ForeignResumption => f.write_str(
                "resumed session whose resumption data names no policy and certificate of this \
                 server: original handshake unknown",
            ),
            TlsError::ForeignResolver => {
                f.write_str("the certificate resolver was made for another build of the server")
            }
            TlsError::NoCertificate => {
                f.write_str("no certificate covers the SNI and there is no default certificate")
            }
            TlsError::QuicConfig { policy, reason } => {
                write!(f, "the ServerConfig of policy {policy:?} cannot run QUIC: {reason}")
            }
            TlsError::UnknownQuicHandshake => f.write_str(
                "the QUIC connection's handshake was not made by a QuicAcceptor, or is not complete",
            ),
        }
    }
}

impl std::error::Error for TlsError {}

impl From<TlsError> for io::Error {
    fn from(e: TlsError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// Picks the certificate for a handshake by its SNI, with the crate's index: an exact SAN
/// first, then a `*.` wildcard SAN one label up, else the default certificate (also what a
/// handshake without SNI gets, which rustls' own SNI resolver has no answer for).
///
/// SANs are those of the server's [`CertificateConfig`](crate::CertificateConfig)s; when two
/// certificates hold the same SAN, the one whose id sorts first wins (by name, not by position:
/// a reordered configuration presents the same certificate).
pub struct CertResolver {
    pub(crate) build: Build,
    index: NameIndex<u32>,
    keys: Vec<Option<Arc<CertifiedKey>>>,
    /// Per certificate with a key: the digest of its id and of the end-entity certificate
    /// presented, which is what resumption data names.
    identities: Vec<Option<Identity>>,
    /// Per policy of the server: the digest of its name.
    policies: Vec<Identity>,
    default: Option<u32>,
}

/// A SHA-256 digest naming a policy or a certificate in resumption data, stable across
/// rebuilds (a name, never a position).
type Identity = [u8; 32];

fn digest(parts: &[&[u8]]) -> Identity {
    let mut hash = Sha256::new();
    for part in parts {
        // Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.finalize().into()
}

fn policy_identity(name: &str) -> Identity {
    digest(&[b"misdirect policy", name.as_bytes()])
}

fn certificate_identity(id: &str, key: &CertifiedKey) -> Identity {
    let end_entity = key.cert.first().map_or(&[][..], |der| der.as_ref());
    digest(&[
        b"misdirect certificate",
        id.as_bytes(),
        &digest(&[end_entity]),
    ])
}

impl fmt::Debug for CertResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertResolver")
            .field("names", &self.index.len())
            .field("default", &self.default)
            .finish_non_exhaustive()
    }
}

impl CertResolver {
    /// A resolver for the server's certificates, with a key for each certificate id, and the
    /// id of the certificate for handshakes no SAN matches (or without SNI).
    ///
    /// # Errors
    /// [`TlsError::UnknownCertificate`] for an id the server does not know.
    pub fn new<T, I, S>(
        server: &Server<T>,
        keys: I,
        default: Option<&str>,
    ) -> Result<CertResolver, TlsError>
    where
        I: IntoIterator<Item = (S, Arc<CertifiedKey>)>,
        S: AsRef<str>,
    {
        let certificates = &server.config().certificates;
        let mut slots: Vec<Option<Arc<CertifiedKey>>> = vec![None; certificates.len()];
        for (id, key) in keys {
            let id = id.as_ref();
            let position = server
                .certificate_id(id)
                .ok_or_else(|| TlsError::UnknownCertificate(id.to_string()))?;
            slots[position.0 as usize] = Some(key);
        }
        let identities = certificates
            .iter()
            .zip(&slots)
            .map(|(cert, key)| key.as_ref().map(|key| certificate_identity(&cert.id, key)))
            .collect();
        let policies = server
            .config()
            .policies
            .iter()
            .map(|name| policy_identity(name))
            .collect();
        let default = match default {
            None => None,
            Some(id) => Some(
                server
                    .certificate_id(id)
                    .ok_or_else(|| TlsError::UnknownCertificate(id.to_string()))?
                    .0,
            ),
        };
        // When two certificates hold the same SAN, the one whose id sorts first wins: by name,
        // not by position, so a reordered configuration presents the same certificate.
        let mut order: Vec<usize> = (0..certificates.len())
            .filter(|&position| slots[position].is_some())
            .collect();
        order.sort_by(|&a, &b| certificates[a].id.cmp(&certificates[b].id));
        let mut patterns: Vec<(NamePattern, u32)> = Vec::new();
        for position in order {
            for san in &certificates[position].sans {
                // IP SANs cannot be an SNI (RFC 6066 §3); malformed SANs never match.
                let Ok(pattern @ (NamePattern::Exact(_) | NamePattern::Wildcard(_))) =
                    NamePattern::from_san(san)
                else {
                    continue;
                };
                if !patterns.iter().any(|(p, _)| *p == pattern) {
                    patterns.push((pattern, u32::try_from(position).unwrap_or(u32::MAX)));
                }
            }
        }
        // Patterns were deduplicated above, so the build cannot fail on a duplicate.
        let index = NameIndex::build(patterns)
            .map_err(|e| TlsError::UnknownCertificate(format!("index: {e}")))?;
        if let Some(d) = default {
            if slots[d as usize].is_none() {
                let id = &certificates[d as usize].id;
                return Err(TlsError::UnknownCertificate(format!("{id} (no key given)")));
            }
        }
        Ok(CertResolver {
            build: server.build,
            index,
            keys: slots,
            identities,
            policies,
            default,
        })
    }

    /// What resumption data written for this certificate and policy says: a tag, the policy's
    /// identity, the certificate's identity.
    fn resumption_data(&self, certificate: CertId, policy: PolicyId) -> Option<[u8; 74]> {
        let cert = (*self.identities.get(certificate.0 as usize)?)?;
        let policy = self.policies.get(policy.0 as usize)?;
        let mut out = [0; 74];
        out[..10].copy_from_slice(RESUMPTION_TAG);
        out[10..42].copy_from_slice(policy);
        out[42..].copy_from_slice(&cert);
        Some(out)
    }

    /// The certificate and policy resumption data names, if both are this server's (the same
    /// policy name; the same certificate id holding the same certificate).
    fn resolve(&self, data: &[u8]) -> Option<(CertId, PolicyId)> {
        let rest = data.strip_prefix(RESUMPTION_TAG)?;
        if rest.len() != 64 {
            return None;
        }
        let (policy, cert) = rest.split_at(32);
        let policy = self.policies.iter().position(|p| p[..] == *policy)?;
        let cert = self
            .identities
            .iter()
            .position(|c| c.is_some_and(|c| c[..] == *cert))?;
        Some((
            CertId(u32::try_from(cert).ok()?, self.build),
            PolicyId(u32::try_from(policy).ok()?, self.build),
        ))
    }

    /// What a session's meaning depends on under one policy: the policy and every certificate
    /// this resolver can present, with the default. Sessions resume only where it is equal.
    fn scope(&self, policy: PolicyId) -> Identity {
        let mut certificates: Vec<&Identity> = self.identities.iter().flatten().collect();
        certificates.sort_unstable();
        let default = self
            .default
            .and_then(|d| self.identities.get(d as usize).copied().flatten())
            .unwrap_or_default();
        let policy = self
            .policies
            .get(policy.0 as usize)
            .copied()
            .unwrap_or_default();
        // The build too: a policy's client verifier (which CAs it trusts, which CRLs it reads)
        // cannot be read through rustls's API, and a reload may change it under the same
        // name. TLS 1.3 resumption does not verify the client certificate again, so a session
        // resumes only on the build that verified it; after a reload, a full handshake.
        let build = self.build.token();
        let mut parts: Vec<&[u8]> = vec![b"misdirect session scope", &build, &policy, &default];
        parts.extend(certificates.iter().map(|c| &c[..]));
        digest(&parts)
    }

    /// The certificate a handshake with this SNI is shown, with its id.
    #[must_use]
    pub fn select(&self, sni: Option<&str>) -> Option<(CertId, &Arc<CertifiedKey>)> {
        let found = sni
            .and_then(|sni| Host::parse(sni.as_bytes()).ok())
            .filter(|host| matches!(host, Host::Dns(_)))
            .and_then(|host| self.index.lookup(&host).map(|hit| *hit.value));
        let position = found.or(self.default)?;
        let key = self.keys.get(position as usize)?.as_ref()?;
        Some((CertId(position, self.build), key))
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.select(client_hello.server_name())
            .map(|(_, key)| Arc::clone(key))
    }
}

/// What a TLS handshake showed the client, as [`Acceptor::accept`] or
/// [`TlsFacts::from_stream`] read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFacts {
    /// The SNI the client sent, if any.
    pub sni: Option<String>,
    /// The certificate presented (for a resumed session, at the original handshake).
    pub certificate: CertId,
    /// The TLS policy applied (for a resumed session, at the original handshake); `None` when
    /// the TLS layer does not record it, and the decision then assumes the SNI's.
    pub policy: Option<PolicyId>,
    /// Whether the session was resumed.
    pub resumed: bool,
    /// The ALPN protocol agreed on, if any.
    pub alpn: Option<Vec<u8>>,
    /// Whether the client presented a certificate.
    pub client_certificate: bool,
}

/// `misdirect` + version of the resumption data's format. Version 1 held positions, which a
/// rebuilt server reads as other entries; it is refused as foreign.
const RESUMPTION_TAG: &[u8; 10] = b"misdirect2";

/// Whether rustls resumed the session, TLS 1.3 or TLS 1.2. Not `received_resumption_data`:
/// rustls hands that back for TLS 1.3 only, so a resumed TLS 1.2 session (session id or
/// ticket) has none.
fn resumed(conn: &ServerConnection) -> bool {
    conn.handshake_kind() == Some(HandshakeKind::Resumed)
}

impl TlsFacts {
    /// Reads the facts off an accepted tokio-rustls stream whose handshake was not made by an
    /// [`Acceptor`] (one `ServerConfig` with a [`CertResolver`]): the certificate is the one the
    /// resolver picks for the SNI, and the policy is left to the decision to assume from the
    /// SNI. A resumed session carrying an [`Acceptor`]'s resumption data reports its original
    /// certificate and policy; any other resumed session is refused: its original handshake,
    /// and so the policy its client was checked under, is unknown, and guessing it from today's
    /// SNI is CVE-2025-23048. That includes every resumed TLS 1.2 session, whose resumption
    /// data rustls does not hand back. Use an [`Acceptor`] (or disable resumption) to resume
    /// sessions.
    ///
    /// # Errors
    /// [`TlsError::NoCertificate`] when the resolver has no certificate for the SNI;
    /// [`TlsError::ForeignResumption`] for a resumed session whose data names no policy and
    /// certificate of the resolver's server.
    pub fn from_stream<IO>(
        stream: &TlsStream<IO>,
        resolver: &CertResolver,
    ) -> Result<TlsFacts, TlsError> {
        let (_, conn) = stream.get_ref();
        let sni = conn.server_name().map(str::to_string);
        let (certificate, policy) = match conn.received_resumption_data() {
            Some(data) => {
                let (certificate, policy) =
                    resolver.resolve(data).ok_or(TlsError::ForeignResumption)?;
                (certificate, Some(policy))
            }
            // Resumed without data: not an acceptor's session, or a TLS 1.2 one, whose data
            // rustls does not hand back. Nothing here scoped it, so its original policy is
            // unknown.
            None if resumed(conn) => return Err(TlsError::ForeignResumption),
            None => {
                let (certificate, _) = resolver
                    .select(sni.as_deref())
                    .ok_or(TlsError::NoCertificate)?;
                (certificate, None)
            }
        };
        Ok(TlsFacts::read(conn, sni, certificate, policy))
    }

    fn read(
        conn: &ServerConnection,
        sni: Option<String>,
        certificate: CertId,
        policy: Option<PolicyId>,
    ) -> TlsFacts {
        TlsFacts {
            sni,
            certificate,
            policy,
            resumed: resumed(conn),
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
            client_certificate: conn.peer_certificates().is_some_and(|c| !c.is_empty()),
        }
    }

    /// The handshake as the decision takes it.
    #[must_use]
    pub fn handshake(&self) -> Handshake<'_> {
        Handshake {
            sni: self.sni.as_deref().map(str::as_bytes),
            certificate: self.certificate,
            policy: self.policy,
        }
    }

    /// The connection facts for a connection accepted on `listener` (no gateway).
    #[must_use]
    pub fn connection_facts(&self, listener: ListenerId) -> ConnectionFacts<'_> {
        ConnectionFacts {
            listener,
            tls: Some(self.handshake()),
            gateway: None,
        }
    }
}

/// Accepts TLS connections for one listener: reads the ClientHello, picks the certificate with a
/// [`CertResolver`] and the `rustls::ServerConfig` of the TLS policy the SNI selects, records
/// both in the session's resumption data, and returns the stream with its [`TlsFacts`].
///
/// Every registered `ServerConfig` should use the same [`CertResolver`] (so the certificate
/// presented is the one reported); each may differ in client authentication, versions and
/// ciphers, which is what a TLS policy is.
pub struct Acceptor<T> {
    server: Arc<Server<T>>,
    listener: ListenerId,
    resolver: Arc<CertResolver>,
    configs: Vec<Option<Arc<ServerConfig>>>,
    default_policy: PolicyId,
}

impl<T> fmt::Debug for Acceptor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acceptor")
            .field("listener", &self.listener)
            .field("resolver", &self.resolver)
            .field("default_policy", &self.default_policy)
            .finish_non_exhaustive()
    }
}

impl<T> Acceptor<T> {
    /// An acceptor for a TLS listener, with the `ServerConfig` of the policy that handshakes
    /// selecting no virtual host get (`default_policy`).
    ///
    /// The acceptor keeps its own copy of each `ServerConfig`, whose session store and ticketer
    /// wrap the given ones: a session resumes only on the server build, under the policy and
    /// with the certificates it was made with, so a store or ticket key kept across a reload
    /// never resumes a session whose meaning may have changed (the client gets a full
    /// handshake).
    ///
    /// # Errors
    /// [`TlsError::NotTlsListener`], [`TlsError::UnknownPolicy`], or
    /// [`TlsError::ForeignResolver`] for a resolver of another build of the server.
    pub fn new(
        server: Arc<Server<T>>,
        listener: ListenerId,
        resolver: Arc<CertResolver>,
        default_policy: &str,
        config: Arc<ServerConfig>,
    ) -> Result<Self, TlsError> {
        let policy = check_parts(&server, listener, &resolver, default_policy)?;
        let configs = vec![None; server.config().policies.len()];
        let acceptor = Acceptor {
            server,
            listener,
            resolver,
            configs,
            default_policy: policy,
        };
        acceptor.with_policy(default_policy, config)
    }

    /// Registers the `ServerConfig` of another TLS policy.
    ///
    /// # Errors
    /// [`TlsError::UnknownPolicy`].
    pub fn with_policy(
        mut self,
        policy: &str,
        config: Arc<ServerConfig>,
    ) -> Result<Self, TlsError> {
        let id = self
            .server
            .policy_id(policy)
            .ok_or_else(|| TlsError::UnknownPolicy(policy.to_string()))?;
        self.configs[id.0 as usize] = Some(Arc::new(scoped(&self.resolver, id, &config)));
        Ok(self)
    }

    /// The listener this acceptor serves.
    #[must_use]
    pub fn listener(&self) -> ListenerId {
        self.listener
    }

    /// Completes a TLS handshake on `io`. Bound the time it may take with a timeout.
    ///
    /// # Errors
    /// I/O and TLS errors from the handshake, and the [`TlsError`]s (as `InvalidData`) for an
    /// SNI whose policy has no `ServerConfig`, or a resumed session whose data does not name
    /// this handshake's policy and certificate.
    pub async fn accept<IO>(&self, io: IO) -> io::Result<(TlsStream<IO>, TlsFacts)>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), io).await?;
        let sni = start.client_hello().server_name().map(str::to_string);
        let policy = self
            .server
            .sni_policy(self.listener, sni.as_deref().map(str::as_bytes))
            .unwrap_or(self.default_policy);
        let config = self.configs[policy.0 as usize].clone().ok_or_else(|| {
            TlsError::NoConfigForPolicy(self.server.policy_name(policy).unwrap_or("?").to_string())
        })?;
        let (certificate, _) = self
            .resolver
            .select(sni.as_deref())
            .ok_or(TlsError::NoCertificate)?;
        let data = self
            .resolver
            .resumption_data(certificate, policy)
            .ok_or(TlsError::NoCertificate)?;
        let stream = start
            .into_stream_with(config, |conn| conn.set_resumption_data(&data))
            .await?;
        let (_, conn) = stream.get_ref();
        // The scoped store only resumes sessions of this policy and these certificates, and
        // rustls only resumes one for the same SNI (RFC 6066 §3), which selects the same
        // certificate: the original handshake is this one's. A TLS 1.3 session's data says so
        // too, and is checked: anything else was not made by this acceptor's scope (a store
        // shared with an unscoped configuration) and is refused, never guessed. New tickets
        // carry `data`, which is then the original's too. A resumed TLS 1.2 session has no data
        // to check (rustls stores it but hands it back for TLS 1.3 only); the scope alone
        // vouches for it, as the scoped store and ticketer found it.
        if let Some(original) = conn.received_resumption_data() {
            if self.resolver.resolve(original) != Some((certificate, policy)) {
                return Err(TlsError::ForeignResumption.into());
            }
        }
        let facts = TlsFacts::read(conn, sni, certificate, Some(policy));
        Ok((stream, facts))
    }
}

/// A copy of `config` whose session store and ticketer wrap the given ones so that a session
/// resumes only under `policy` and with the resolver's certificates (see [`Acceptor::new`]).
/// What an acceptor (TCP or QUIC) checks of its parts: a TLS listener and a resolver of this
/// server's build, and the default policy's id.
pub(crate) fn check_parts<T>(
    server: &Server<T>,
    listener: ListenerId,
    resolver: &CertResolver,
    default_policy: &str,
) -> Result<PolicyId, TlsError> {
    let is_tls = server
        .own(listener.0, listener.1)
        .and_then(|index| server.config().listeners.get(index))
        .is_some_and(|l| l.tls);
    if !is_tls {
        return Err(TlsError::NotTlsListener);
    }
    if resolver.build != server.build {
        return Err(TlsError::ForeignResolver);
    }
    server
        .policy_id(default_policy)
        .ok_or_else(|| TlsError::UnknownPolicy(default_policy.to_string()))
}

pub(crate) fn scoped(
    resolver: &CertResolver,
    policy: PolicyId,
    config: &ServerConfig,
) -> ServerConfig {
    let scope = resolver.scope(policy);
    let mut scoped = config.clone();
    scoped.session_storage = Arc::new(ScopedSessions {
        inner: Arc::clone(&config.session_storage),
        scope,
    });
    scoped.ticketer = Arc::new(ScopedTickets {
        inner: Arc::clone(&config.ticketer),
        scope,
    });
    scoped
}

/// A session store whose entries carry the scope they were made under: an entry of another
/// scope is not found, and the handshake is a full one.
#[derive(Debug)]
struct ScopedSessions {
    inner: Arc<dyn StoresServerSessions>,
    scope: Identity,
}

impl ScopedSessions {
    fn unwrap(&self, value: Option<Vec<u8>>) -> Option<Vec<u8>> {
        value?.strip_prefix(&self.scope[..]).map(<[u8]>::to_vec)
    }
}

impl StoresServerSessions for ScopedSessions {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let mut scoped = Vec::with_capacity(self.scope.len() + value.len());
        scoped.extend_from_slice(&self.scope);
        scoped.extend_from_slice(&value);
        self.inner.put(key, scoped)
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.unwrap(self.inner.get(key))
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.unwrap(self.inner.take(key))
    }

    fn can_cache(&self) -> bool {
        self.inner.can_cache()
    }
}

/// A ticketer whose tickets carry the scope they were made under, inside the inner ticketer's
/// authenticated encryption: a ticket of another scope does not decrypt.
#[derive(Debug)]
struct ScopedTickets {
    inner: Arc<dyn ProducesTickets>,
    scope: Identity,
}

impl ProducesTickets for ScopedTickets {
    fn enabled(&self) -> bool {
        self.inner.enabled()
    }

    fn lifetime(&self) -> u32 {
        self.inner.lifetime()
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let mut scoped = Vec::with_capacity(self.scope.len() + plain.len());
        scoped.extend_from_slice(&self.scope);
        scoped.extend_from_slice(plain);
        self.inner.encrypt(&scoped)
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        self.inner
            .decrypt(cipher)?
            .strip_prefix(&self.scope[..])
            .map(<[u8]>::to_vec)
    }
}
