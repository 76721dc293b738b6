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
//!
//! A policy's meaning includes its client-certificate trust, which a reload may change under
//! the same name, and TLS 1.3 resumption does not verify the client certificate again
//! (RFC 8446 §4.6.1: a ticket encapsulates the client authentication state of its
//! connection). rustls does not let the acceptor read a `ServerConfig`'s verifier, so a policy
//! registered with a hand-built `ServerConfig` ([`Acceptor::with_policy`]) resumes only on the
//! server build that made the session. A policy registered from a [`PolicyTls`] declaration
//! ([`Acceptor::with_declared_policy`]) has its `ServerConfig` and verifier built by the crate
//! from that declaration, whose digest replaces the build: its sessions resume across a reload
//! exactly when the policy's name, its certificates and its declaration are unchanged.

use core::fmt;
use std::io;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{
    ClientHello, ProducesTickets, ResolvesServerCert, ServerConnection, StoresServerSessions,
    WebPkiClientVerifier,
};
use rustls::sign::CertifiedKey;
use rustls::{HandshakeKind, RootCertStore, ServerConfig, SupportedProtocolVersion};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;

use crate::decision::facts::{Connection, ConnectionFacts, Handshake};
use crate::decision::server::{Build, CertId, ListenerId, PolicyId, Server};
use crate::names::index::NameIndex;
use crate::names::pattern::NamePattern;
use crate::parse::host::Host;

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
    /// A [`PolicyTls`] declaration from which rustls cannot build a `ServerConfig`: a client CA
    /// that does not parse, [`ClientAuth::Optional`] or [`ClientAuth::Required`] without a
    /// root, or protocol versions the crypto provider has no cipher suite for.
    PolicyConfig {
        /// The policy the declaration was given for.
        policy: String,
        /// What rustls said.
        reason: String,
    },
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
            TlsError::PolicyConfig { policy, reason } => {
                write!(f, "the TLS declaration of policy {policy:?} does not build: {reason}")
            }
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
    /// The digest of which certificate each name selects (every SAN pattern with the identity
    /// of the certificate it picks), so that a session resumes only where its SNI still
    /// selects the certificate the client was shown.
    selection: Identity,
}

/// A SHA-256 digest naming a policy or a certificate in resumption data, stable across
/// rebuilds (a name, never a position).
type Identity = [u8; 32];

fn digest(parts: &[&[u8]]) -> Identity {
    let mut hash = Digester(Sha256::new());
    for part in parts {
        hash.part(part);
    }
    hash.finish()
}

/// A SHA-256 digest made part by part, as [`digest`] makes it from a list.
struct Digester(Sha256);

impl Digester {
    fn new(tag: &[u8]) -> Digester {
        let mut hash = Digester(Sha256::new());
        hash.part(tag);
        hash
    }

    fn part(&mut self, part: &[u8]) {
        // Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
        self.0.update((part.len() as u64).to_be_bytes());
        self.0.update(part);
    }

    /// How many parts a list that follows has, so that two lists cannot trade parts.
    fn count(&mut self, n: usize) {
        self.0.update(b"#");
        self.0.update((n as u64).to_be_bytes());
    }

    fn finish(self) -> Identity {
        self.0.finalize().into()
    }
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
        let identities: Vec<Option<Identity>> = certificates
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
        // What an SNI selects: a resumed session that carries no resumption data to check
        // (TLS 1.2, QUIC) is vouched for by the scope alone, so the scope must change when a
        // name would now select another certificate (a SAN list edited by hand, say), or the
        // session would be reported under a certificate it was never shown (hostile review of
        // issue 21).
        let mut selection: Vec<(String, Identity)> = patterns
            .iter()
            .map(|(pattern, position)| {
                let identity: Option<Identity> =
                    identities.get(*position as usize).copied().flatten();
                (pattern.to_string(), identity.unwrap_or_default())
            })
            .collect();
        selection.sort_unstable();
        let mut parts: Vec<&[u8]> = vec![b"misdirect certificate selection"];
        for (pattern, identity) in &selection {
            parts.push(pattern.as_bytes());
            parts.push(identity);
        }
        let selection = digest(&parts);
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
            selection,
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
    /// this resolver can present, with the default, and what the policy's `ServerConfig` was
    /// built from (`declared`, the digest of a [`PolicyTls`]), or, for a hand-built one, this
    /// server build. Sessions resume only where it is equal.
    fn scope(&self, policy: PolicyId, declared: Option<&Identity>) -> Identity {
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
        // A policy's client verifier (which CAs it trusts, which CRLs it reads) cannot be read
        // through rustls's API, and a reload may change it under the same name. TLS 1.3
        // resumption does not verify the client certificate again (RFC 8446 §4.6.1), so the
        // scope holds what built the verifier: the declaration's digest when the crate built
        // it, which is equal across builds exactly when the trust is; else the build, and a
        // session resumes only on the build that verified it. The tags differ, so a declared
        // scope never equals a hand-built one.
        let build = self.build.token();
        let (tag, basis): (&[u8], &[u8]) = match declared {
            Some(declaration) => (b"misdirect declared session scope", declaration),
            None => (b"misdirect session scope", &build),
        };
        let mut parts: Vec<&[u8]> = vec![tag, basis, &policy, &default, &self.selection];
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
    /// the TLS layer does not record it, and the decision then assumes the SNI's, and when the
    /// SNI selects no policy (no virtual host, no `default_tls_vhost`: [`Server::sni_policy`]
    /// is `None`, and the decision refuses under `sni = Compatible`).
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

/// Who the client is, by the certificate it presented in the handshake (verified by the
/// policy's client verifier): what reaches the service beside the virtual host, through
/// [`Accepted::client`] and [`MisdirectLayer::with_client`](crate::MisdirectLayer::with_client).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientIdentity {
    /// The subject, as RFC 4514 writes it ([`certificate_subject`](crate::certificate_subject)):
    /// `CN=ops,O=Partner`.
    pub subject: String,
    /// The dNSName and iPAddress SANs.
    pub sans: Vec<crate::San>,
    /// The SHA-256 digest of the certificate's DER: what to pin or log.
    pub sha256: [u8; 32],
}

impl ClientIdentity {
    /// The identity of a DER certificate.
    ///
    /// # Errors
    /// A [`CertificateError`](crate::CertificateError) when the DER is not a certificate.
    pub fn from_der(der: &[u8]) -> Result<ClientIdentity, crate::CertificateError> {
        Ok(ClientIdentity {
            subject: crate::embed::x509::certificate_subject(der)?,
            sans: crate::embed::x509::certificate_sans(der)?,
            sha256: Sha256::digest(der).into(),
        })
    }

    /// The SHA-256 fingerprint as lowercase hex octets joined by `:`, as `openssl x509
    /// -fingerprint -sha256` prints it (in lowercase).
    #[must_use]
    pub fn fingerprint(&self) -> String {
        self.sha256
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }
}

/// A connection [`Acceptor::accept_connection`] completed: the stream, what the handshake
/// showed, the [`Connection`] the decision reads, and the client's identity.
pub struct Accepted<IO, T> {
    /// The TLS stream, ready for HTTP.
    pub stream: TlsStream<IO>,
    /// What the handshake showed the client.
    pub facts: TlsFacts,
    /// The connection's facts checked by the server ([`Server::connection`]).
    pub connection: Connection,
    /// The client certificate's identity, when one was presented and verified.
    pub client: Option<ClientIdentity>,
    server: Arc<Server<T>>,
}

impl<IO, T> fmt::Debug for Accepted<IO, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accepted")
            .field("facts", &self.facts)
            .field("connection", &self.connection)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl<IO, T> Accepted<IO, T> {
    /// The server of the acceptor's build, which decides this connection's requests.
    #[must_use]
    pub fn server(&self) -> &Arc<Server<T>> {
        &self.server
    }

    /// The layer that decides this connection's requests (feature `tower`), carrying the
    /// client's identity to the service.
    #[cfg(feature = "tower")]
    #[must_use]
    pub fn layer(&self) -> crate::MisdirectLayer<T> {
        crate::MisdirectLayer::new(Arc::clone(&self.server), self.connection)
            .with_client(self.client.clone())
    }
}

/// How a TLS policy authenticates clients, declared rather than built: the crate builds the
/// rustls client verifier from it, and digests exactly what built it, so that a session made
/// under one trust never resumes under another (see [`PolicyTls`]).
///
/// The verifier is rustls's `WebPkiClientVerifier` over `roots` with the crypto provider's
/// signature verification algorithms; [`ClientAuth::None`] is `no_client_auth()`. Certificate
/// revocation lists are not part of the declaration: a policy that needs them is hand-built
/// and registered with [`Acceptor::with_policy`], whose sessions do not resume across a
/// reload.
///
/// The order of `roots` does not matter, nor does a root given twice.
///
/// ```
/// use misdirect::ClientAuth;
/// use rustls::pki_types::CertificateDer;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let partner_ca: CertificateDer<'static> =
/// #     rcgen::generate_simple_self_signed(vec!["ca.test".to_string()])?.cert.der().clone();
/// // Every client must present a certificate issued by the partner CA.
/// let mtls = ClientAuth::Required { roots: vec![partner_ca.clone()] };
/// // Clients may present one; those that do are checked against the partner CA.
/// let optional = ClientAuth::Optional { roots: vec![partner_ca] };
/// assert_ne!(mtls, optional);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuth {
    /// No client certificate is asked for.
    None,
    /// A client certificate is asked for; a client may send none, and one it sends must chain
    /// to one of `roots`.
    Optional {
        /// The client CAs trusted (DER), at least one.
        roots: Vec<CertificateDer<'static>>,
    },
    /// A client certificate chaining to one of `roots` is required.
    Required {
        /// The client CAs trusted (DER), at least one.
        roots: Vec<CertificateDer<'static>>,
    },
}

impl ClientAuth {
    /// The verifier this declaration stands for, and the digest of what built it.
    ///
    /// One function makes both from the same values (the mode, the sorted and deduplicated
    /// roots, the provider's algorithms), so the digest cannot say one trust while the
    /// verifier applies another.
    fn verifier(
        &self,
        provider: &Arc<CryptoProvider>,
    ) -> Result<(Arc<dyn ClientCertVerifier>, Identity), String> {
        let (mode, roots): (&[u8], _) = match self {
            ClientAuth::None => {
                let mut trust = Digester::new(b"misdirect client auth");
                trust.part(b"none");
                return Ok((WebPkiClientVerifier::no_client_auth(), trust.finish()));
            }
            ClientAuth::Optional { roots } => (b"optional", roots),
            ClientAuth::Required { roots } => (b"required", roots),
        };
        let mut roots: Vec<&[u8]> = roots.iter().map(|root| root.as_ref()).collect();
        roots.sort_unstable();
        roots.dedup();
        let mut store = RootCertStore::empty();
        for root in &roots {
            store
                .add(CertificateDer::from(*root))
                .map_err(|e| format!("client CA: {e}"))?;
        }
        let mut builder =
            WebPkiClientVerifier::builder_with_provider(Arc::new(store), Arc::clone(provider));
        if matches!(self, ClientAuth::Optional { .. }) {
            builder = builder.allow_unauthenticated();
        }
        let verifier = builder.build().map_err(|e| e.to_string())?;
        let mut trust = Digester::new(b"misdirect client auth");
        trust.part(mode);
        // Which signatures the verifier accepts on a client's chain and CertificateVerify is
        // the provider's: another provider is another verifier.
        let algorithms = &provider.signature_verification_algorithms;
        trust.count(algorithms.all.len());
        for algorithm in algorithms.all {
            trust.part(&algorithm.public_key_alg_id());
            trust.part(&algorithm.signature_alg_id());
        }
        trust.count(algorithms.mapping.len());
        for (scheme, mapped) in algorithms.mapping {
            trust.part(&scheme.to_array());
            trust.count(mapped.len());
            for algorithm in *mapped {
                trust.part(&algorithm.public_key_alg_id());
                trust.part(&algorithm.signature_alg_id());
            }
        }
        trust.count(roots.len());
        for root in &roots {
            trust.part(root);
        }
        Ok((verifier, trust.finish()))
    }
}

/// The declaration of a TLS policy's rustls configuration: client authentication, protocol
/// versions, ALPN, crypto provider, and the session store and ticketer its sessions live in.
/// [`Acceptor::with_declared_policy`] (and `QuicAcceptor::with_declared_policy`, feature
/// `quinn`) build the `ServerConfig` from it, with the acceptor's [`CertResolver`], and scope
/// its sessions to the policy's name, the resolver's certificates and this declaration's
/// digest: so a session made before a reload resumes after it exactly when none of them
/// changed.
///
/// What the digest holds is what a session's meaning depends on: the client authentication
/// (its mode, its roots, the provider's signature algorithms that verify client chains) and the
/// protocol versions. The cipher suites and ALPN are not in it: rustls resumes a session only
/// under the cipher suite negotiated now (RFC 8446 §4.2.11 asks it to pick a compatible PSK),
/// and ALPN is negotiated again on every handshake. The rest of the `ServerConfig` is rustls's
/// defaults (no early data, two TLS 1.3 tickets per handshake); a policy that needs other
/// settings is hand-built and registered with [`Acceptor::with_policy`].
///
/// Without [`with_session_storage`](PolicyTls::with_session_storage) and
/// [`with_ticketer`](PolicyTls::with_ticketer), the configuration has rustls's defaults: a
/// fresh in-memory session cache of its own and no tickets, so nothing made before a reload
/// is found after it. Give every generation the same store and ticketer.
///
/// ```
/// use std::sync::Arc;
/// use misdirect::{ClientAuth, PolicyTls};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let provider = Arc::new(rustls::crypto::ring::default_provider());
/// let ticketer = rustls::crypto::ring::Ticketer::new()?;
/// // A site kept for old clients: TLS 1.2 only, no client certificate.
/// let legacy = PolicyTls::new(provider, ClientAuth::None)
///     .with_versions(&[&rustls::version::TLS12])
///     .with_alpn(vec![b"http/1.1".to_vec()])
///     .with_session_storage(rustls::server::ServerSessionMemoryCache::new(1024))
///     .with_ticketer(ticketer);
/// assert_eq!(legacy.client_auth(), &ClientAuth::None);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PolicyTls {
    provider: Arc<CryptoProvider>,
    client_auth: ClientAuth,
    versions: Vec<&'static SupportedProtocolVersion>,
    alpn: Vec<Vec<u8>>,
    session_storage: Option<Arc<dyn StoresServerSessions>>,
    ticketer: Option<Arc<dyn ProducesTickets>>,
}

impl fmt::Debug for PolicyTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyTls")
            .field("client_auth", &self.client_auth)
            .field("versions", &self.versions)
            .field("alpn", &self.alpn)
            .finish_non_exhaustive()
    }
}

impl PolicyTls {
    /// A declaration with this crypto provider (cipher suites, key exchange, signature
    /// verification) and client authentication, rustls's default protocol versions
    /// (`rustls::DEFAULT_VERSIONS`), no ALPN, and rustls's default session store and ticketer.
    #[must_use]
    pub fn new(provider: Arc<CryptoProvider>, client_auth: ClientAuth) -> PolicyTls {
        PolicyTls {
            provider,
            client_auth,
            versions: rustls::DEFAULT_VERSIONS.to_vec(),
            alpn: Vec::new(),
            session_storage: None,
            ticketer: None,
        }
    }

    /// The protocol versions offered. In the digest: a reload that changes them gives every
    /// client of the policy a full handshake.
    #[must_use]
    pub fn with_versions(mut self, versions: &[&'static SupportedProtocolVersion]) -> PolicyTls {
        self.versions = versions.to_vec();
        self
    }

    /// The ALPN protocols offered, in order of preference (`h2`, `http/1.1`; `h3` over QUIC).
    #[must_use]
    pub fn with_alpn(mut self, protocols: Vec<Vec<u8>>) -> PolicyTls {
        self.alpn = protocols;
        self
    }

    /// The session store (TLS 1.2 session ids, and TLS 1.3 tickets when there is no
    /// ticketer). Share one across generations for sessions to resume after a reload; the
    /// acceptor scopes what it stores, so one store may serve every policy.
    #[must_use]
    pub fn with_session_storage(mut self, storage: Arc<dyn StoresServerSessions>) -> PolicyTls {
        self.session_storage = Some(storage);
        self
    }

    /// The ticketer (stateless TLS 1.3 tickets, RFC 8446 §4.6.1, and TLS 1.2 tickets). Share
    /// one across generations, so that its key survives a reload; the acceptor scopes what it
    /// encrypts, so one ticketer may serve every policy.
    #[must_use]
    pub fn with_ticketer(mut self, ticketer: Arc<dyn ProducesTickets>) -> PolicyTls {
        self.ticketer = Some(ticketer);
        self
    }

    /// The declared client authentication.
    #[must_use]
    pub fn client_auth(&self) -> &ClientAuth {
        &self.client_auth
    }

    /// Whether TLS 1.3 is among the declared versions (QUIC runs TLS 1.3 alone).
    #[must_use]
    pub fn allows_tls13(&self) -> bool {
        self.versions
            .iter()
            .any(|v| v.version == rustls::ProtocolVersion::TLSv1_3)
    }

    /// The policy's `ServerConfig` on `resolver`, and the digest of what of this declaration a
    /// session's meaning depends on.
    pub(crate) fn build(
        &self,
        policy: &str,
        resolver: &Arc<CertResolver>,
    ) -> Result<(ServerConfig, Identity), TlsError> {
        let refuse = |reason: String| TlsError::PolicyConfig {
            policy: policy.to_string(),
            reason,
        };
        let (verifier, trust) = self.client_auth.verifier(&self.provider).map_err(refuse)?;
        let mut config = ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_protocol_versions(&self.versions)
            .map_err(|e| refuse(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(Arc::clone(resolver) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols.clone_from(&self.alpn);
        if let Some(storage) = &self.session_storage {
            config.session_storage = Arc::clone(storage);
        }
        if let Some(ticketer) = &self.ticketer {
            config.ticketer = Arc::clone(ticketer);
        }
        // The versions as a set: the order offered does not change what a session means.
        let mut versions: Vec<[u8; 2]> =
            self.versions.iter().map(|v| v.version.to_array()).collect();
        versions.sort_unstable();
        versions.dedup();
        let mut declaration = Digester::new(b"misdirect policy tls");
        declaration.part(&trust);
        declaration.count(versions.len());
        for version in &versions {
            declaration.part(version);
        }
        Ok((config, declaration.finish()))
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
    /// An acceptor for a TLS listener, with the hand-built `ServerConfig` of the policy whose
    /// TLS settings complete a handshake that selects no virtual host (`default_policy`). Such
    /// a handshake is recorded with no policy ([`TlsFacts::policy`] is `None`), as
    /// [`Server::sni_policy`] says of it: give the listener a `default_tls_vhost` to have those
    /// handshakes served under that virtual host's policy.
    ///
    /// The acceptor keeps its own copy of each `ServerConfig`, whose session store and ticketer
    /// wrap the given ones: a session resumes only under the policy and with the certificates
    /// it was made with. A hand-built configuration's client verifier cannot be read through
    /// rustls, so its sessions also resume only on the server build that made them: after a
    /// reload, a store or ticket key kept across it never resumes a session whose client
    /// trust may have changed (the client gets a full handshake). To resume across reloads,
    /// declare the policy instead ([`Acceptor::new_declared`]).
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
        Self::empty(server, listener, resolver, default_policy)?.with_policy(default_policy, config)
    }

    /// An acceptor for a TLS listener, with the declaration of the policy that handshakes
    /// selecting no virtual host get (`default_policy`): the crate builds its `ServerConfig`
    /// (see [`Acceptor::with_declared_policy`]).
    ///
    /// # Errors
    /// [`TlsError::NotTlsListener`], [`TlsError::UnknownPolicy`],
    /// [`TlsError::ForeignResolver`], or [`TlsError::PolicyConfig`] for a declaration rustls
    /// cannot build.
    pub fn new_declared(
        server: Arc<Server<T>>,
        listener: ListenerId,
        resolver: Arc<CertResolver>,
        default_policy: &str,
        tls: &PolicyTls,
    ) -> Result<Self, TlsError> {
        Self::empty(server, listener, resolver, default_policy)?
            .with_declared_policy(default_policy, tls)
    }

    /// An acceptor with no configuration yet; `new` and `new_declared` register the default
    /// policy's before anyone sees it.
    fn empty(
        server: Arc<Server<T>>,
        listener: ListenerId,
        resolver: Arc<CertResolver>,
        default_policy: &str,
    ) -> Result<Self, TlsError> {
        let policy = check_parts(&server, listener, &resolver, default_policy)?;
        let configs = vec![None; server.config().policies.len()];
        Ok(Acceptor {
            server,
            listener,
            resolver,
            configs,
            default_policy: policy,
        })
    }

    /// Registers the hand-built `ServerConfig` of another TLS policy. Its sessions resume only
    /// on this server build (see [`Acceptor::new`]): the crate cannot read its client verifier,
    /// so it cannot tell whether a reload changed the client CAs it trusts. Use
    /// [`Acceptor::with_declared_policy`] for sessions that survive a reload.
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
        self.configs[id.0 as usize] = Some(Arc::new(scoped(&self.resolver, id, &config, None)));
        Ok(self)
    }

    /// Registers another TLS policy from its declaration: the crate builds the `ServerConfig`
    /// (the declared client verifier, protocol versions and ALPN, the acceptor's resolver, the
    /// declared session store and ticketer) and scopes its sessions to the policy's name, the
    /// resolver's certificates and the declaration's digest instead of the server build. So a
    /// session resumes across a reload exactly when the policy's name, the certificates and
    /// the declaration (client authentication mode, client CAs, verifier settings, versions)
    /// are unchanged; any change gives the client a full handshake. Give every generation the
    /// same session store and ticketer ([`PolicyTls::with_session_storage`],
    /// [`PolicyTls::with_ticketer`]), or there is nothing to resume.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use misdirect::{
    /// #     Acceptor, CertResolver, ClientAuth, Config, ListenerConfig, PolicyTls, Server,
    /// # };
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let config: Config<&str> = Config {
    /// #     policies: vec!["public".into(), "mtls".into()],
    /// #     listeners: vec![ListenerConfig::new("tls", true, 443)],
    /// #     ..Config::default()
    /// # };
    /// # let server = Arc::new(Server::build(config)?);
    /// # let listener = server.listener_id("tls").unwrap();
    /// # let resolver = Arc::new(CertResolver::new(&server, Vec::<(&str, _)>::new(), None)?);
    /// # let client_ca: rustls::pki_types::CertificateDer<'static> =
    /// #     rcgen::generate_simple_self_signed(vec!["ca.test".to_string()])?.cert.der().clone();
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// // Kept across reloads, with the ticket key: what lets sessions resume after one.
    /// let sessions = rustls::server::ServerSessionMemoryCache::new(1024);
    /// let ticketer = rustls::crypto::ring::Ticketer::new()?;
    /// let declare = |client_auth| {
    ///     PolicyTls::new(Arc::clone(&provider), client_auth)
    ///         .with_alpn(vec![b"h2".to_vec(), b"http/1.1".to_vec()])
    ///         .with_session_storage(sessions.clone())
    ///         .with_ticketer(Arc::clone(&ticketer))
    /// };
    /// let acceptor = Acceptor::new_declared(server, listener, resolver, "public",
    ///     &declare(ClientAuth::None))?
    ///     .with_declared_policy("mtls", &declare(ClientAuth::Required { roots: vec![client_ca] }))?;
    /// # let _ = acceptor;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`TlsError::UnknownPolicy`], or [`TlsError::PolicyConfig`] for a declaration rustls
    /// cannot build.
    pub fn with_declared_policy(mut self, policy: &str, tls: &PolicyTls) -> Result<Self, TlsError> {
        let id = self
            .server
            .policy_id(policy)
            .ok_or_else(|| TlsError::UnknownPolicy(policy.to_string()))?;
        let (config, declaration) = tls.build(policy, &self.resolver)?;
        let config = scoped(&self.resolver, id, &config, Some(&declaration));
        self.configs[id.0 as usize] = Some(Arc::new(config));
        Ok(self)
    }

    /// The listener this acceptor serves.
    #[must_use]
    pub fn listener(&self) -> ListenerId {
        self.listener
    }

    /// The local port of the listener this acceptor serves, as the configuration gives it
    /// (what to bind).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.server
            .own(self.listener.0, self.listener.1)
            .and_then(|index| self.server.config().listeners.get(index))
            .map_or(0, |l| l.port)
    }

    /// Completes a TLS handshake on `io` and hands back everything the connection's requests
    /// are decided and served with: the stream, the facts, the [`Connection`] and the client's
    /// identity ([`Accepted`]). Bound the time it may take with a timeout.
    ///
    /// # Errors
    /// Those of [`Acceptor::accept`], and `InvalidData` for a client certificate that is not
    /// a certificate (rustls's verifier accepted it, so only a custom verifier lets one by).
    pub async fn accept_connection<IO>(&self, io: IO) -> io::Result<Accepted<IO, T>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let (stream, facts) = self.accept(io).await?;
        let connection = self
            .server
            .connection(&facts.connection_facts(self.listener))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        let client = match stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
        {
            None => None,
            Some(der) => Some(
                ClientIdentity::from_der(der)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?,
            ),
        };
        Ok(Accepted {
            stream,
            facts,
            connection,
            client,
            server: Arc::clone(&self.server),
        })
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
        // SPEC §4's one rule for a handshake's policy, the one `Server::connection`, `explain`
        // and the probe read: the policy of the virtual host the SNI selects, else the
        // listener's `default_tls_vhost`'s. A handshake that selects neither is made under the
        // default policy's TLS settings but recorded with no policy, so that its requests are
        // refused (under `sni = Compatible`) as every other reader of the rule expects; taking
        // the default policy for it served where they refuse.
        let chosen = self
            .server
            .sni_policy(self.listener, sni.as_deref().map(str::as_bytes));
        let policy = chosen.unwrap_or(self.default_policy);
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
        let facts = TlsFacts::read(conn, sni, certificate, chosen);
        Ok((stream, facts))
    }
}

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

/// A copy of `config` whose session store and ticketer wrap the given ones so that a session
/// resumes only under `policy`, with the resolver's certificates, and with the same declaration
/// (`declared`, a [`PolicyTls`] digest) or, for a hand-built configuration, on the same server
/// build (see [`Acceptor::new`]).
pub(crate) fn scoped(
    resolver: &CertResolver,
    policy: PolicyId,
    config: &ServerConfig,
    declared: Option<&Identity>,
) -> ServerConfig {
    let scope = resolver.scope(policy, declared);
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
