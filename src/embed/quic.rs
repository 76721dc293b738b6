//! HTTP/3 over quinn (feature `quinn`): a QUIC server configuration that gives each handshake
//! the rustls `ServerConfig` of the TLS policy its SNI selects, as [`Acceptor`] does over TCP,
//! and the connection facts of a quinn connection.
//!
//! quinn takes one crypto configuration per endpoint, and its `Incoming` shows addresses, not
//! the ClientHello. So [`QuicAcceptor`] is that one configuration: it implements quinn's
//! [`crypto::ServerConfig`](quinn::crypto::ServerConfig), holds back the client's first CRYPTO
//! bytes until the ClientHello is complete, reads its SNI with rustls' own parser (the same
//! bytes rustls then handshakes on, so the two cannot disagree), picks the policy of the
//! virtual host that SNI selects ([`Server::sni_policy`]) and runs the handshake under that
//! policy's `ServerConfig`. One UDP port serves every policy, as one TCP port does; the other
//! ways (a UDP port per policy, or one configuration that asks every client for a certificate
//! and refuses afterwards) either spread one origin over several alternative services or make
//! the policy a fiction.
//!
//! What the handshake showed (SNI, certificate, policy, ALPN, client certificate, resumption)
//! is read off the connection by [`TlsFacts::from_quic`]. In outline (the whole, tested
//! version is `examples/common/h3.rs`):
//!
//! ```text
//! let acceptor = QuicAcceptor::new(server.clone(), listener, resolver, "public", public)?
//!     .with_policy("mtls", mtls)?;
//! let endpoint = quinn::Endpoint::server(acceptor.into_server_config(), addr)?;
//! while let Some(incoming) = endpoint.accept().await {
//!     let quic = incoming.await?;
//!     let facts = TlsFacts::from_quic(&quic)?;
//!     let connection = server.connection(&facts.connection_facts(listener))?;
//!     // h3::server::Connection::new(h3_quinn::Connection::new(quic)), then per request:
//!     // let http = HttpRequest::new(&request, &connection);
//!     // server.decide(&connection, &http.request()) (the verdict borrows `http`)
//! }
//! ```
//!
//! Resumption: each policy's `ServerConfig` gets the same scoped session store and ticketer as
//! with [`Acceptor`], so a session resumes only under the policy and certificates it was made
//! with, and with the same declaration ([`QuicAcceptor::with_declared_policy`]: also across a
//! reload) or on the same server build (a hand-built configuration); rustls resumes only for
//! the same SNI, which selects the same certificate. QUIC's rustls connection takes no
//! resumption data from outside, and it needs none here.
//!
//! This leans on quinn's crypto traits (`crypto::ServerConfig`, `crypto::Session`), which quinn
//! exposes for alternative TLS stacks; they are a lower layer than its connection API and
//! may change in a minor release. The module is written against quinn 0.11 and quinn-proto
//! 0.11; a change there shows here as a build error, not as a silent change of policy.
//!
//! [`Acceptor`]: crate::Acceptor

use core::fmt;
use std::any::Any;
use std::sync::Arc;

use quinn::crypto::ServerConfig as _;
use quinn::crypto::rustls::{HandshakeData, QuicServerConfig};
use quinn::crypto::{
    self, ExportKeyingMaterialError, HeaderKey, KeyPair, Keys, PacketKey, UnsupportedVersion,
};
use quinn::{ConnectionId, Side, TransportErrorCode};
use quinn_proto::TransportError;
use quinn_proto::transport_parameters::TransportParameters;
use rustls::ServerConfig;
use rustls::pki_types::CertificateDer;

use crate::decision::server::{CertId, ListenerId, PolicyId, Server};
use crate::embed::tls::{CertResolver, PolicyTls, TlsError, TlsFacts, scoped};

/// The longest ClientHello held back before its SNI is read. quinn's own limit on buffered
/// CRYPTO data is 16 KiB by default; real ClientHellos, post-quantum key shares included, are a
/// few kilobytes.
const MAX_CLIENT_HELLO: usize = 16 * 1024;

/// TLS alert `handshake_failure`, as a QUIC CRYPTO_ERROR (RFC 9001 §4.8).
const HANDSHAKE_FAILURE: u8 = 40;

/// The crypto configuration of a quinn server endpoint on one TLS listener: each handshake gets
/// the rustls `ServerConfig` of the TLS policy its SNI selects, and reports which one through
/// [`TlsFacts::from_quic`].
///
/// Every registered `ServerConfig` should use the same [`CertResolver`], the one given here (so
/// the certificate presented is the one reported), offer the ALPN `h3`, and allow TLS 1.3;
/// each may differ in client authentication and ciphers, which is what a TLS policy is.
///
/// The `handshake_data()` of its connections is this crate's own type, not
/// `quinn::crypto::rustls::HandshakeData`: read the SNI and ALPN with
/// [`TlsFacts::from_quic`]. `peer_identity()` is rustls' certificate chain, as usual.
pub struct QuicAcceptor<T> {
    server: Arc<Server<T>>,
    listener: ListenerId,
    resolver: Arc<CertResolver>,
    configs: Vec<Option<Arc<QuicServerConfig>>>,
    default_policy: PolicyId,
}

impl<T> fmt::Debug for QuicAcceptor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuicAcceptor")
            .field("listener", &self.listener)
            .field("resolver", &self.resolver)
            .field("default_policy", &self.default_policy)
            .finish_non_exhaustive()
    }
}

impl<T: Send + Sync + 'static> QuicAcceptor<T> {
    /// A QUIC acceptor for a TLS listener, with the hand-built `ServerConfig` of the policy
    /// that handshakes selecting no virtual host get (`default_policy`). Like
    /// [`Acceptor::new`], it keeps its own copy of each configuration, with a session store
    /// and ticketer scoped to the policy, the certificates and, for a hand-built
    /// configuration, the server build (no resumption across a reload; see
    /// [`QuicAcceptor::new_declared`] for that).
    ///
    /// # Errors
    /// [`TlsError::NotTlsListener`], [`TlsError::UnknownPolicy`], [`TlsError::ForeignResolver`],
    /// or [`TlsError::QuicConfig`] for a configuration QUIC cannot run.
    ///
    /// [`Acceptor::new`]: crate::Acceptor::new
    pub fn new(
        server: Arc<Server<T>>,
        listener: ListenerId,
        resolver: Arc<CertResolver>,
        default_policy: &str,
        config: Arc<ServerConfig>,
    ) -> Result<Self, TlsError> {
        Self::empty(server, listener, resolver, default_policy)?.with_policy(default_policy, config)
    }

    /// A QUIC acceptor for a TLS listener, with the declaration of the default policy: the
    /// crate builds its `ServerConfig`, as [`Acceptor::with_declared_policy`] does, so its
    /// sessions resume across a reload that changes none of the policy's name, certificates
    /// and declaration. The declaration must allow TLS 1.3 and should offer the ALPN `h3`.
    ///
    /// # Errors
    /// [`TlsError::NotTlsListener`], [`TlsError::UnknownPolicy`], [`TlsError::ForeignResolver`],
    /// [`TlsError::PolicyConfig`] for a declaration rustls cannot build, or
    /// [`TlsError::QuicConfig`] for one QUIC cannot run.
    ///
    /// [`Acceptor::with_declared_policy`]: crate::Acceptor::with_declared_policy
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
        let policy = crate::embed::tls::check_parts(&server, listener, &resolver, default_policy)?;
        let configs = vec![None; server.config().policies.len()];
        Ok(QuicAcceptor {
            server,
            listener,
            resolver,
            configs,
            default_policy: policy,
        })
    }

    /// Registers the hand-built `ServerConfig` of another TLS policy; its sessions resume only
    /// on this server build. A handshake whose SNI selects a policy with no configuration
    /// fails with the TLS alert `handshake_failure`.
    ///
    /// # Errors
    /// [`TlsError::UnknownPolicy`], or [`TlsError::QuicConfig`] for a configuration QUIC
    /// cannot run (no TLS 1.3, no `TLS13_AES_128_GCM_SHA256`, a `max_early_data_size` other
    /// than 0 and `u32::MAX`).
    pub fn with_policy(self, policy: &str, config: Arc<ServerConfig>) -> Result<Self, TlsError> {
        let id = self.policy_id(policy)?;
        let config = scoped(&self.resolver, id, &config, None);
        self.register(policy, id, config)
    }

    /// Registers another TLS policy from its declaration (see
    /// [`Acceptor::with_declared_policy`]): its sessions resume across a reload exactly when
    /// the policy's name, the certificates and the declaration are unchanged.
    ///
    /// # Errors
    /// [`TlsError::UnknownPolicy`], [`TlsError::PolicyConfig`] for a declaration rustls cannot
    /// build, or [`TlsError::QuicConfig`] for one QUIC cannot run (no TLS 1.3 among its
    /// versions, no `TLS13_AES_128_GCM_SHA256` in its provider).
    ///
    /// [`Acceptor::with_declared_policy`]: crate::Acceptor::with_declared_policy
    pub fn with_declared_policy(self, policy: &str, tls: &PolicyTls) -> Result<Self, TlsError> {
        let id = self.policy_id(policy)?;
        let (config, declaration) = tls.build(policy, &self.resolver)?;
        let config = scoped(&self.resolver, id, &config, Some(&declaration));
        self.register(policy, id, config)
    }

    fn policy_id(&self, policy: &str) -> Result<PolicyId, TlsError> {
        self.server
            .policy_id(policy)
            .ok_or_else(|| TlsError::UnknownPolicy(policy.to_string()))
    }

    /// Checks that QUIC can run a scoped configuration and makes it the policy's.
    fn register(
        mut self,
        policy: &str,
        id: PolicyId,
        config: ServerConfig,
    ) -> Result<Self, TlsError> {
        let unusable = |reason: String| TlsError::QuicConfig {
            policy: policy.to_string(),
            reason,
        };
        let config = Arc::new(config);
        // quinn unwraps this constructor when a session starts: try it once here instead.
        rustls::quic::ServerConnection::new(Arc::clone(&config), rustls::quic::Version::V1, vec![])
            .map_err(|e| unusable(e.to_string()))?;
        let quic = QuicServerConfig::try_from(config).map_err(|e| unusable(e.to_string()))?;
        self.configs[id.0 as usize] = Some(Arc::new(quic));
        Ok(self)
    }

    /// The listener this acceptor serves.
    #[must_use]
    pub fn listener(&self) -> ListenerId {
        self.listener
    }

    /// A quinn server configuration with this acceptor as its crypto and the transport
    /// settings of [`bounded_transport`], which bound what one client can make the server hold.
    ///
    /// An acceptor belongs to one build of the server, as its ids do: after a reload, give new
    /// connections the new generation's configuration (`quinn::Incoming::accept_with`, or
    /// `quinn::Endpoint::set_server_config`), or they are made under the old one's
    /// certificates, client-CA trust and virtual hosts. `examples/common/h3.rs` does both.
    #[must_use]
    pub fn into_server_config(self) -> quinn::ServerConfig {
        let mut config = quinn::ServerConfig::with_crypto(Arc::new(self));
        config.transport_config(Arc::new(bounded_transport()));
        config
    }

    fn default_config(&self) -> &Arc<QuicServerConfig> {
        self.configs[self.default_policy.0 as usize]
            .as_ref()
            .expect("the default policy's configuration is registered by `new`")
    }

    /// The policy, certificate and configuration for a complete ClientHello.
    fn choose(&self, hello: &[u8]) -> Result<(Chosen, Arc<QuicServerConfig>), TransportError> {
        let sni = client_hello_sni(hello)?;
        // SPEC §4's one rule, as `Acceptor::accept` reads it: no virtual host selected, the
        // default policy's settings, no policy recorded.
        let recorded = self
            .server
            .sni_policy(self.listener, sni.as_deref().map(str::as_bytes));
        let policy = recorded.unwrap_or(self.default_policy);
        let refuse = |error: TlsError| TransportError {
            code: TransportErrorCode::crypto(HANDSHAKE_FAILURE),
            frame: None,
            reason: error.to_string(),
        };
        let config = self.configs[policy.0 as usize].clone().ok_or_else(|| {
            refuse(TlsError::NoConfigForPolicy(
                self.server.policy_name(policy).unwrap_or("?").to_string(),
            ))
        })?;
        let (certificate, _) = self
            .resolver
            .select(sni.as_deref())
            .ok_or_else(|| refuse(TlsError::NoCertificate))?;
        Ok((
            Chosen {
                sni,
                certificate,
                recorded,
            },
            config,
        ))
    }
}

impl<T: Send + Sync + 'static> crypto::ServerConfig for QuicAcceptor<T> {
    fn initial_keys(
        &self,
        version: u32,
        dst_cid: &ConnectionId,
    ) -> Result<Keys, UnsupportedVersion> {
        // Initial keys depend on the version and connection id only (RFC 9001 §5.2).
        self.default_config().initial_keys(version, dst_cid)
    }

    fn retry_tag(&self, version: u32, orig_dst_cid: &ConnectionId, packet: &[u8]) -> [u8; 16] {
        self.default_config()
            .retry_tag(version, orig_dst_cid, packet)
    }

    fn start_session(
        self: Arc<Self>,
        version: u32,
        params: &TransportParameters,
    ) -> Box<dyn crypto::Session> {
        // Until the ClientHello is complete, the default policy's session answers everything
        // but `read_handshake`: it has read nothing, so it has nothing to say but its initial
        // keys, which are the same under every policy.
        let inner = Arc::clone(self.default_config()).start_session(version, params);
        Box::new(Session {
            acceptor: self,
            version,
            params: *params,
            inner,
            hello: Some(Vec::new()),
            chosen: None,
            written: Written::default(),
        })
    }
}

/// The largest number of request streams a client may have open at once.
const MAX_REQUEST_STREAMS: u32 = 100;
/// What a client may send on one stream beyond what the server has read (QUIC flow control,
/// RFC 9000 §4.1).
const STREAM_RECEIVE_WINDOW: u32 = 256 * 1024;
/// What a client may send on all its streams beyond what the server has read.
const CONNECTION_RECEIVE_WINDOW: u32 = 2 * 1024 * 1024;

/// quinn's transport settings with what one client can make the server hold bounded:
/// 100 request streams at once, eight unidirectional ones (HTTP/3 needs three: control and
/// QPACK's two, RFC 9114 §6.2), 256 KiB unread per stream and 2 MiB in all (quinn's defaults
/// are 1.25 MB a stream and no connection limit), and no QUIC datagrams (HTTP/3 needs none;
/// quinn would buffer 1.25 MB of them).
///
/// With h3 behind an [`H3Guard`](crate::H3Guard), which holds h3 to one frame of
/// [`MAX_FRAME`](crate::embed::h3_guard::MAX_FRAME) octets (32 KiB) per stream, plus its own copy of
/// a field section being read, one connection holds at most 2 MiB unread in quinn and
/// 100 × 64 KiB in h3 and the guard: about 8.5 MiB, whatever the client sends. The number of
/// connections is the embedder's to bound.
#[must_use]
pub fn bounded_transport() -> quinn::TransportConfig {
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_concurrent_bidi_streams(MAX_REQUEST_STREAMS.into())
        .max_concurrent_uni_streams(8u32.into())
        .stream_receive_window(STREAM_RECEIVE_WINDOW.into())
        .receive_window(CONNECTION_RECEIVE_WINDOW.into())
        .datagram_receive_buffer_size(None);
    transport
}

/// What the acceptor chose for a connection, from its ClientHello.
#[derive(Clone, Debug)]
struct Chosen {
    sni: Option<String>,
    certificate: CertId,
    /// The policy the rule gives the SNI (`Server::sni_policy`), which the facts report; the
    /// handshake runs under its configuration, or the default policy's when it is `None`.
    recorded: Option<PolicyId>,
}

/// The handshake data of a [`QuicAcceptor`]'s connection, in place of quinn's
/// [`HandshakeData`]: what [`TlsFacts::from_quic`] reads.
struct AcceptorHandshake {
    rustls: HandshakeData,
    chosen: Option<Chosen>,
    complete: bool,
    resumed: bool,
}

/// One connection's TLS session: the ClientHello held back, then the chosen policy's session.
struct Session<T> {
    acceptor: Arc<QuicAcceptor<T>>,
    version: u32,
    params: TransportParameters,
    inner: Box<dyn crypto::Session>,
    /// The ClientHello bytes so far; `None` once the policy is chosen.
    hello: Option<Vec<u8>>,
    chosen: Option<Chosen>,
    written: Written,
}

impl<T: Send + Sync + 'static> crypto::Session for Session<T> {
    fn initial_keys(&self, dst_cid: &ConnectionId, side: Side) -> Keys {
        self.inner.initial_keys(dst_cid, side)
    }

    fn handshake_data(&self) -> Option<Box<dyn Any>> {
        let rustls = self
            .inner
            .handshake_data()?
            .downcast::<HandshakeData>()
            .ok()?;
        let complete = !self.inner.is_handshaking();
        Some(Box::new(AcceptorHandshake {
            rustls: *rustls,
            chosen: self.chosen.clone(),
            complete,
            // A TLS 1.3 server sends its Certificate exactly when the handshake is not resumed
            // with a PSK (RFC 8446 §2.2).
            resumed: complete && !self.written.certificate,
        }))
    }

    fn peer_identity(&self) -> Option<Box<dyn Any>> {
        self.inner.peer_identity()
    }

    fn early_crypto(&self) -> Option<(Box<dyn HeaderKey>, Box<dyn PacketKey>)> {
        self.inner.early_crypto()
    }

    fn early_data_accepted(&self) -> Option<bool> {
        self.inner.early_data_accepted()
    }

    fn is_handshaking(&self) -> bool {
        self.inner.is_handshaking()
    }

    fn read_handshake(&mut self, buf: &[u8]) -> Result<bool, TransportError> {
        let Some(hello) = &mut self.hello else {
            return self.inner.read_handshake(buf);
        };
        hello.extend_from_slice(buf);
        if hello.len() > MAX_CLIENT_HELLO {
            return Err(TransportError {
                code: TransportErrorCode::CRYPTO_BUFFER_EXCEEDED,
                frame: None,
                reason: "ClientHello too long".into(),
            });
        }
        let Some(end) = handshake_message_end(hello) else {
            return Ok(false);
        };
        let hello = self.hello.take().unwrap_or_default();
        let (chosen, config) = self.acceptor.choose(&hello[..end])?;
        self.inner = config.start_session(self.version, &self.params);
        self.chosen = Some(chosen);
        self.inner.read_handshake(&hello)
    }

    fn transport_parameters(&self) -> Result<Option<TransportParameters>, TransportError> {
        self.inner.transport_parameters()
    }

    fn write_handshake(&mut self, buf: &mut Vec<u8>) -> Option<Keys> {
        let start = buf.len();
        let keys = self.inner.write_handshake(buf);
        self.written.scan(&buf[start..]);
        keys
    }

    fn next_1rtt_keys(&mut self) -> Option<KeyPair<Box<dyn PacketKey>>> {
        self.inner.next_1rtt_keys()
    }

    fn is_valid_retry(&self, orig_dst_cid: &ConnectionId, header: &[u8], payload: &[u8]) -> bool {
        self.inner.is_valid_retry(orig_dst_cid, header, payload)
    }

    fn export_keying_material(
        &self,
        output: &mut [u8],
        label: &[u8],
        context: &[u8],
    ) -> Result<(), ExportKeyingMaterialError> {
        self.inner.export_keying_material(output, label, context)
    }
}

/// The end of the first handshake message in `bytes` (type, 24-bit length, body), once it is
/// all there. A message that is no ClientHello ends where the bytes end, and rustls refuses it.
fn handshake_message_end(bytes: &[u8]) -> Option<usize> {
    let header = bytes.get(..4)?;
    let length = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
    (bytes.len() >= 4 + length).then_some(4 + length)
}

/// The SNI of a ClientHello as rustls reads it (lower-cased; `None` without one or for an IP
/// address), by handing the message to rustls' `Acceptor` in TLS records.
fn client_hello_sni(hello: &[u8]) -> Result<Option<String>, TransportError> {
    let malformed = |reason: String| TransportError {
        code: TransportErrorCode::PROTOCOL_VIOLATION,
        frame: None,
        reason,
    };
    let mut records = Vec::with_capacity(hello.len() + 5 * hello.len().div_ceil(16_384));
    for fragment in hello.chunks(16_384) {
        records.extend_from_slice(&[0x16, 0x03, 0x01]);
        records.extend_from_slice(&(fragment.len() as u16).to_be_bytes());
        records.extend_from_slice(fragment);
    }
    let mut acceptor = rustls::server::Acceptor::default();
    let mut reader = &records[..];
    loop {
        acceptor
            .read_tls(&mut reader)
            .map_err(|e| malformed(format!("TLS error: {e}")))?;
        match acceptor.accept() {
            Ok(Some(accepted)) => {
                return Ok(accepted.client_hello().server_name().map(str::to_string));
            }
            Ok(None) if !reader.is_empty() => {}
            Ok(None) => return Err(malformed("TLS error: incomplete ClientHello".into())),
            Err((e, _)) => return Err(malformed(format!("TLS error: {e}"))),
        }
    }
}

/// Which handshake messages the server wrote, read across `write_handshake` calls.
#[derive(Default)]
struct Written {
    header: [u8; 4],
    have: usize,
    skip: usize,
    certificate: bool,
}

impl Written {
    /// TLS handshake message type `certificate` (RFC 8446 §4).
    const CERTIFICATE: u8 = 11;

    fn scan(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len());
                self.skip -= n;
                bytes = &bytes[n..];
                continue;
            }
            let n = (4 - self.have).min(bytes.len());
            self.header[self.have..self.have + n].copy_from_slice(&bytes[..n]);
            self.have += n;
            bytes = &bytes[n..];
            if self.have == 4 {
                self.certificate |= self.header[0] == Self::CERTIFICATE;
                self.skip = u32::from_be_bytes([0, self.header[1], self.header[2], self.header[3]])
                    as usize;
                self.have = 0;
            }
        }
    }
}

impl TlsFacts {
    /// Reads the facts off a quinn connection whose handshake a [`QuicAcceptor`] made: the SNI,
    /// the certificate and policy chosen for it, the ALPN protocol, whether the client presented
    /// a certificate, and whether the session was resumed. Call it on the connection that
    /// awaiting quinn's `Incoming` gives, once the handshake is complete.
    ///
    /// # Errors
    /// [`TlsError::UnknownQuicHandshake`] for a connection not made by a [`QuicAcceptor`], one
    /// still handshaking (0-RTT), or one whose SNI as rustls finished with is not the one the
    /// policy was chosen by.
    pub fn from_quic(connection: &quinn::Connection) -> Result<TlsFacts, TlsError> {
        let data = connection
            .handshake_data()
            .and_then(|data| data.downcast::<AcceptorHandshake>().ok())
            .ok_or(TlsError::UnknownQuicHandshake)?;
        let chosen = data.chosen.ok_or(TlsError::UnknownQuicHandshake)?;
        if !data.complete || data.rustls.server_name != chosen.sni {
            return Err(TlsError::UnknownQuicHandshake);
        }
        let client_certificate = connection
            .peer_identity()
            .and_then(|identity| identity.downcast::<Vec<CertificateDer<'static>>>().ok())
            .is_some_and(|chain| !chain.is_empty());
        Ok(TlsFacts {
            sni: chosen.sni,
            certificate: chosen.certificate,
            policy: chosen.recorded,
            resumed: data.resumed,
            alpn: data.rustls.protocol,
            client_certificate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handshake_message_ends_after_its_length() {
        assert_eq!(handshake_message_end(&[1, 0, 0]), None);
        assert_eq!(handshake_message_end(&[1, 0, 0, 2, 9]), None);
        assert_eq!(handshake_message_end(&[1, 0, 0, 2, 9, 9]), Some(6));
        assert_eq!(handshake_message_end(&[1, 0, 0, 2, 9, 9, 7]), Some(6));
        assert_eq!(handshake_message_end(&[1, 0, 0, 0]), Some(4));
    }

    #[test]
    fn written_messages_are_read_across_calls() {
        // EncryptedExtensions (8), then Certificate (11) split mid-header and mid-body.
        let mut written = Written::default();
        written.scan(&[8, 0, 0, 2, 0, 0, 11, 0]);
        assert!(!written.certificate);
        written.scan(&[0, 3, 1]);
        assert!(written.certificate);
        // A certificate type byte inside a body is not a message.
        let mut written = Written::default();
        written.scan(&[8, 0, 0, 4, 11, 11, 11, 11, 20, 0, 0, 0]);
        assert!(!written.certificate);
    }

    #[test]
    fn a_truncated_or_foreign_hello_is_a_protocol_violation() {
        let error = client_hello_sni(&[1, 0, 0, 4, 3, 3, 0, 0]).unwrap_err();
        assert_eq!(error.code, TransportErrorCode::PROTOCOL_VIOLATION);
        let error = client_hello_sni(&[2, 0, 0, 0]).unwrap_err();
        assert_eq!(error.code, TransportErrorCode::PROTOCOL_VIOLATION);
    }
}
