//! rustls and tokio-rustls glue (feature `rustls`): a certificate resolver on the crate's own
//! name index, and an acceptor that records which certificate and TLS policy each handshake got,
//! so the decision's rule 4 and rule 6 see what the client was really shown.
//!
//! The policy of a handshake (SPEC §4) is that of the virtual host its SNI selects
//! ([`Server::sni_policy`]): the [`Acceptor`] picks the `rustls::ServerConfig` registered for
//! that policy (client authentication, versions, ciphers) before the handshake goes on. It
//! writes the certificate and policy ids into the session's resumption data, so a resumed
//! session reports those of its original handshake: resumption cannot carry a client from a
//! handshake made under one policy into a virtual host of another (CVE-2025-23048).

use core::fmt;
use std::io;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert, ServerConnection};
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;

use crate::decide::{ConnectionFacts, Handshake};
use crate::host::Host;
use crate::index::NameIndex;
use crate::pattern::NamePattern;
use crate::server::{CertId, ListenerId, PolicyId, Server};

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
    /// A resumed session whose original handshake was not made by an [`Acceptor`]: its
    /// certificate and policy are unknown, so it is refused rather than guessed.
    ForeignResumption,
    /// No certificate covers the SNI and there is no default certificate.
    NoCertificate,
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
                "resumed session without misdirect's resumption data: original policy unknown",
            ),
            TlsError::NoCertificate => {
                f.write_str("no certificate covers the SNI and there is no default certificate")
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
/// certificates hold the same SAN, the one listed first in the configuration wins.
pub struct CertResolver {
    index: NameIndex<u32>,
    keys: Vec<Option<Arc<CertifiedKey>>>,
    default: Option<u32>,
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
        let mut slots = vec![None; certificates.len()];
        for (id, key) in keys {
            let id = id.as_ref();
            let position = server
                .certificate_id(id)
                .ok_or_else(|| TlsError::UnknownCertificate(id.to_string()))?;
            slots[position.0 as usize] = Some(key);
        }
        let default = match default {
            None => None,
            Some(id) => Some(
                server
                    .certificate_id(id)
                    .ok_or_else(|| TlsError::UnknownCertificate(id.to_string()))?
                    .0,
            ),
        };
        let mut patterns: Vec<(NamePattern, u32)> = Vec::new();
        for (position, cert) in certificates.iter().enumerate() {
            if slots[position].is_none() {
                continue;
            }
            for san in &cert.sans {
                // IP SANs cannot be an SNI (RFC 6066 §3); malformed SANs never match.
                let Ok(pattern @ (NamePattern::Exact(_) | NamePattern::Wildcard(_))) =
                    NamePattern::parse_san(san)
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
            index,
            keys: slots,
            default,
        })
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
        Some((CertId(position), key))
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

/// `misdirect` + version, then the certificate and policy ids.
const RESUMPTION_TAG: &[u8; 10] = b"misdirect1";

fn encode(certificate: CertId, policy: PolicyId) -> [u8; 18] {
    let mut out = [0; 18];
    out[..10].copy_from_slice(RESUMPTION_TAG);
    out[10..14].copy_from_slice(&certificate.0.to_be_bytes());
    out[14..].copy_from_slice(&policy.0.to_be_bytes());
    out
}

fn decode(data: &[u8]) -> Option<(CertId, PolicyId)> {
    let rest = data.strip_prefix(RESUMPTION_TAG)?;
    let ids: [u8; 8] = rest.try_into().ok()?;
    let [a, b, c, d, e, f, g, h] = ids;
    Some((
        CertId(u32::from_be_bytes([a, b, c, d])),
        PolicyId(u32::from_be_bytes([e, f, g, h])),
    ))
}

impl TlsFacts {
    /// Reads the facts off an accepted tokio-rustls stream whose handshake was not made by an
    /// [`Acceptor`] (one `ServerConfig` with a [`CertResolver`]): the certificate is the one the
    /// resolver picks for the SNI, and the policy is left to the decision to assume from the
    /// SNI. A resumed session carrying an [`Acceptor`]'s resumption data reports its original
    /// certificate and policy.
    ///
    /// # Errors
    /// [`TlsError::NoCertificate`] when the resolver has no certificate for the SNI.
    pub fn from_stream<IO>(
        stream: &TlsStream<IO>,
        resolver: &CertResolver,
    ) -> Result<TlsFacts, TlsError> {
        let (_, conn) = stream.get_ref();
        let sni = conn.server_name().map(str::to_string);
        let (certificate, policy) = match conn.received_resumption_data().and_then(decode) {
            Some((certificate, policy)) => (certificate, Some(policy)),
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
            resumed: conn.received_resumption_data().is_some(),
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
    /// # Errors
    /// [`TlsError::NotTlsListener`] or [`TlsError::UnknownPolicy`].
    pub fn new(
        server: Arc<Server<T>>,
        listener: ListenerId,
        resolver: Arc<CertResolver>,
        default_policy: &str,
        config: Arc<ServerConfig>,
    ) -> Result<Self, TlsError> {
        let is_tls = server
            .config()
            .listeners
            .get(listener.0 as usize)
            .is_some_and(|l| l.tls);
        if !is_tls {
            return Err(TlsError::NotTlsListener);
        }
        let policy = server
            .policy_id(default_policy)
            .ok_or_else(|| TlsError::UnknownPolicy(default_policy.to_string()))?;
        let mut configs = vec![None; server.config().policies.len()];
        configs[policy.0 as usize] = Some(config);
        Ok(Acceptor {
            server,
            listener,
            resolver,
            configs,
            default_policy: policy,
        })
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
        self.configs[id.0 as usize] = Some(config);
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
    /// SNI whose policy has no `ServerConfig`, or a resumed session not made by an acceptor.
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
        let data = encode(certificate, policy);
        let stream = start
            .into_stream_with(config, |conn| conn.set_resumption_data(&data))
            .await?;
        let (_, conn) = stream.get_ref();
        let (certificate, policy) = match conn.received_resumption_data() {
            None => (certificate, policy),
            Some(original) => decode(original).ok_or(TlsError::ForeignResumption)?,
        };
        let facts = TlsFacts::read(conn, sni, certificate, Some(policy));
        Ok((stream, facts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumption_data_round_trips_and_refuses_foreign_bytes() {
        let data = encode(CertId(3), PolicyId(7));
        assert_eq!(decode(&data), Some((CertId(3), PolicyId(7))));
        assert_eq!(decode(b""), None);
        assert_eq!(decode(&data[..17]), None);
        assert_eq!(decode(b"misdirect2\0\0\0\x03\0\0\0\x07"), None);
    }
}
