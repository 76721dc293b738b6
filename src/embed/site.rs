//! Everything TLS needs, built in one call from the configuration file (features `rustls` and
//! `serde`): [`Site::build`].
//!
//! The file declares what each policy demands of a handshake (`[[policies]]`: client
//! certificates none, optional or required, the client CAs, the versions, ALPN) and where each
//! certificate's chain and key are (`file`, `key`). [`Site::build`] reads those files, builds
//! the [`Server`], the [`CertResolver`], one rustls `ServerConfig` per policy on that
//! resolver, and an [`Acceptor`] per TLS listener; with the `quinn` feature,
//! [`Tls::quic_server_config`] makes the QUIC side from the same declarations. So a policy the
//! file names is a policy that is built, and a policy declared `required` cannot be built to
//! accept a client without a certificate: the crate builds its verifier (rustls's WebPki
//! verifier over exactly the table's CAs).
//!
//! A policy whose rustls configuration must be built by hand (revocation lists, a custom
//! verifier) is given with [`TlsOptions::with_hand_built`]. When the policy has a table, the
//! configuration is held to it by handshakes in memory, with and without SNI as the policy's
//! virtual hosts are reached: a client certificate asked for or not; a handshake without one
//! failing exactly under `required`; a self-signed stranger's certificate refused where one is
//! asked for; the client CAs its CertificateRequest names (when it names any) being the
//! table's; each declared version accepted and each other refused; the ALPN list. The same
//! checks run on the declared configurations.
//!
//! What the checks cannot do: they sample a verifier's behaviour, they do not read it (rustls
//! keeps it private). A hand-built verifier that answers differently later (a counter, a flag,
//! the time), or trusts another CA without naming any, passes them; and a policy named bare
//! (`policies = ["mtls"]`, no table) with a hand-built configuration is checked by nothing,
//! here or by the probe, which only knows what a table declares. Give every policy a table;
//! run `misdirect-probe` against the live server.
//!
//! The facts relied on, from rustls 0.23's source: a `ServerConfig`'s client verifier is
//! private (`pub(super) verifier`, `server/server_conn.rs`), so a hand-built configuration
//! can only be checked by what it does in a handshake; a client's `ResolvesClientCert` is
//! asked for a certificate only when the server sent a CertificateRequest
//! (`client/tls13.rs`, `client/tls12.rs`).

use core::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ProducesTickets, ResolvesServerCert, StoresServerSessions};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, ServerConfig, SignatureScheme};

use crate::decision::server::{BuildError, Server};
use crate::embed::config_file::{
    ClientAuthMode, PolicyDeclaration, Site, TlsDeclarations, TlsVersion,
};
use crate::embed::tls::{Acceptor, CertResolver, ClientAuth, PolicyTls, TlsError};
use crate::names::pattern::NamePattern;

/// What [`Site::build`] needs beside the file: the crypto provider, where sessions live, and
/// the policies whose rustls configuration is built by hand.
#[derive(Clone)]
pub struct TlsOptions {
    provider: Arc<CryptoProvider>,
    session_storage: Option<Arc<dyn StoresServerSessions>>,
    ticketer: Option<Arc<dyn ProducesTickets>>,
    hand_built: Vec<(String, Arc<ServerConfig>)>,
}

impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hand_built: Vec<&str> = self.hand_built.iter().map(|(p, _)| p.as_str()).collect();
        f.debug_struct("TlsOptions")
            .field("hand_built", &hand_built)
            .finish_non_exhaustive()
    }
}

impl TlsOptions {
    /// Options with this crypto provider (cipher suites, key exchange, signatures), rustls's
    /// default session store and no tickets.
    #[must_use]
    pub fn new(provider: Arc<CryptoProvider>) -> TlsOptions {
        TlsOptions {
            provider,
            session_storage: None,
            ticketer: None,
            hand_built: Vec::new(),
        }
    }

    /// The session store every policy's sessions go in (see
    /// [`PolicyTls::with_session_storage`]): give each generation the same one for sessions to
    /// resume across a reload.
    #[must_use]
    pub fn with_session_storage(mut self, storage: Arc<dyn StoresServerSessions>) -> TlsOptions {
        self.session_storage = Some(storage);
        self
    }

    /// The ticketer every policy's tickets are made with (see [`PolicyTls::with_ticketer`]).
    #[must_use]
    pub fn with_ticketer(mut self, ticketer: Arc<dyn ProducesTickets>) -> TlsOptions {
        self.ticketer = Some(ticketer);
        self
    }

    /// The rustls configuration of `policy`, built by hand. Its certificate resolver is
    /// replaced by the site's (so the certificate presented is the one the decision is told
    /// of); its verifier, versions and ALPN are checked against the policy's `[[policies]]`
    /// table, when it has one, by handshakes in memory ([`SiteError::HandBuilt`]; the module
    /// docs say what they cannot catch). A policy named bare, without a table, is not checked
    /// at all: give it a table. Its sessions resume only on the server build that made them
    /// (see [`Acceptor::with_policy`]).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use misdirect::TlsOptions;
    /// use rustls::server::{ResolvesServerCertUsingSni, WebPkiClientVerifier};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let ca: rustls::pki_types::CertificateDer<'static> =
    /// #     rcgen::generate_simple_self_signed(vec!["ca.test".to_string()])?.cert.der().clone();
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let mut roots = rustls::RootCertStore::empty();
    /// roots.add(ca)?;
    /// // A verifier the declaration cannot say (CRLs, say); here a plain one.
    /// let verifier = WebPkiClientVerifier::builder(Arc::new(roots)).build()?;
    /// let mut mtls = rustls::ServerConfig::builder()
    ///     .with_client_cert_verifier(verifier)
    ///     // Any resolver: the site's replaces it.
    ///     .with_cert_resolver(Arc::new(ResolvesServerCertUsingSni::new()));
    /// mtls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    /// let options = TlsOptions::new(provider).with_hand_built("mtls", Arc::new(mtls));
    /// # let _ = options;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_hand_built(mut self, policy: &str, config: Arc<ServerConfig>) -> TlsOptions {
        self.hand_built.retain(|(p, _)| p != policy);
        self.hand_built.push((policy.to_string(), config));
        self
    }
}

/// Why [`Site::build`] refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum SiteError {
    /// [`Server::build`] refused the configuration.
    Build(BuildError),
    /// A chain, key or client CA file that cannot be read or does not hold what it should.
    File {
        /// The entry naming it, as `certificates[0] "edge".key`.
        entry: String,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A policy with neither a `[[policies]]` table nor a hand-built configuration: what it
    /// demands of a handshake is said nowhere.
    Undeclared {
        /// The policy.
        policy: String,
        /// The virtual hosts that name it.
        vhosts: Vec<String>,
    },
    /// A certificate without a `key`: the TLS build cannot present it.
    NoKey {
        /// The entry, as `certificates[1] "other"`.
        entry: String,
    },
    /// A hand-built rustls configuration (or, were the crate wrong, a declared one) that does
    /// not do what its policy's table declares.
    HandBuilt {
        /// The policy.
        policy: String,
        /// What it does, against what is declared.
        reason: String,
    },
    /// The TLS glue refused (a declaration rustls cannot build, a listener QUIC cannot run).
    Tls(TlsError),
}

impl fmt::Display for SiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SiteError::Build(e) => write!(f, "{e}"),
            SiteError::File {
                entry,
                path,
                reason,
            } => write!(f, "{entry}: {}: {reason}", path.display()),
            SiteError::Undeclared { policy, vhosts } => write!(
                f,
                "policy {policy:?} (of {}) is declared nowhere: give it a [[policies]] table \
                 with its client_auth, or a hand-built rustls configuration",
                if vhosts.is_empty() {
                    "no virtual host".to_string()
                } else {
                    format!("virtual host(s) {}", quoted(vhosts))
                }
            ),
            SiteError::NoKey { entry } => write!(
                f,
                "{entry}: no `key`: the TLS build cannot present this certificate; give its key \
                 file, or leave the certificate out"
            ),
            SiteError::HandBuilt { policy, reason } => write!(
                f,
                "the rustls configuration of policy {policy:?} does not do what its \
                 [[policies]] table declares: {reason}"
            ),
            SiteError::Tls(e) => write!(f, "{e}"),
        }
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl std::error::Error for SiteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SiteError::Build(e) => Some(e),
            SiteError::Tls(e) => Some(e),
            _ => None,
        }
    }
}

impl From<TlsError> for SiteError {
    fn from(e: TlsError) -> SiteError {
        SiteError::Tls(e)
    }
}

/// A policy's rustls configuration as the site builds it.
#[derive(Clone)]
enum PolicyConfig {
    Declared(PolicyTls),
    HandBuilt(Arc<ServerConfig>),
}

/// A built site: the [`Server`], the [`CertResolver`], each policy's rustls configuration,
/// and an [`Acceptor`] per TLS listener, all of one build. Rebuild it whole on a reload.
pub struct Tls<T> {
    server: Arc<Server<T>>,
    resolver: Arc<CertResolver>,
    /// By policy position (read by the QUIC side).
    #[cfg_attr(not(feature = "quinn"), allow(dead_code))]
    policies: Vec<PolicyConfig>,
    /// Per TLS listener, by listener position.
    acceptors: Vec<Option<Arc<Acceptor<T>>>>,
}

impl<T> fmt::Debug for Tls<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("resolver", &self.resolver)
            .field("policies", &self.server.config().policies)
            .finish_non_exhaustive()
    }
}

impl<T> Site<T> {
    /// Builds the server and everything TLS needs: reads each certificate's chain and key and
    /// each policy's client CAs, builds the resolver (the default certificate, for handshakes
    /// without SNI or matching no SAN, is the first in the file), one rustls configuration per
    /// policy, checked by handshakes in memory, and an [`Acceptor`] per TLS listener.
    ///
    /// A handshake that selects no virtual host (no SNI or an unknown one, and no
    /// `default_tls_vhost`) is completed under the first policy's TLS settings and recorded
    /// with no policy ([`Server::sni_policy`]): its requests are refused under
    /// `sni = "compatible"`.
    ///
    /// # Errors
    /// A [`SiteError`] naming the policy, the entry or the file.
    pub fn build(self, options: &TlsOptions) -> Result<Tls<T>, SiteError> {
        let Site { config, tls } = self;
        let server = Arc::new(Server::build(config).map_err(SiteError::Build)?);
        let resolver = Arc::new(resolver(&server, &tls, &options.provider)?);
        let mut policies = Vec::new();
        for name in &server.config().policies {
            let hand_built = options.hand_built.iter().find(|(p, _)| p == name);
            // The table, its client CAs read once; read even when the configuration is built
            // by hand: a table naming a missing file is wrong either way.
            let declared = match tls.policies.iter().find(|p| &p.name == name) {
                Some(declaration) => Some((declaration, declare(declaration, options)?)),
                None => None,
            };
            let built = match (&declared, hand_built) {
                (_, Some((_, config))) => {
                    let mut config = (**config).clone();
                    config.cert_resolver = Arc::clone(&resolver) as Arc<dyn ResolvesServerCert>;
                    PolicyConfig::HandBuilt(Arc::new(config))
                }
                (Some((_, declared_tls)), None) => PolicyConfig::Declared(declared_tls.clone()),
                (None, None) => {
                    return Err(SiteError::Undeclared {
                        policy: name.clone(),
                        vhosts: server
                            .config()
                            .vhosts
                            .iter()
                            .filter(|v| &v.policy == name)
                            .map(|v| v.name.clone())
                            .collect(),
                    });
                }
            };
            if let Some((declaration, declared_tls)) = &declared {
                let hints = client_ca_subjects(declared_tls.client_auth());
                let config = match &built {
                    PolicyConfig::Declared(tls) => Arc::new(tls.build(name, &resolver)?.0),
                    PolicyConfig::HandBuilt(config) => Arc::clone(config),
                };
                check(
                    &server,
                    &resolver,
                    declaration,
                    &hints,
                    &config,
                    &options.provider,
                )
                .map_err(|reason| SiteError::HandBuilt {
                    policy: name.clone(),
                    reason,
                })?;
            }
            policies.push(built);
        }
        for (name, _) in &options.hand_built {
            if server.policy_id(name).is_none() {
                return Err(SiteError::Tls(TlsError::UnknownPolicy(name.clone())));
            }
        }
        let mut acceptors = Vec::new();
        for listener in &server.config().listeners {
            if !listener.tls {
                acceptors.push(None);
                continue;
            }
            let id = server
                .listener_id(&listener.name)
                .ok_or(TlsError::NotTlsListener)?;
            acceptors.push(Some(Arc::new(acceptor(&server, id, &resolver, &policies)?)));
        }
        Ok(Tls {
            server,
            resolver,
            policies,
            acceptors,
        })
    }
}

/// The TCP acceptor of one listener, every policy registered.
fn acceptor<T>(
    server: &Arc<Server<T>>,
    listener: crate::ListenerId,
    resolver: &Arc<CertResolver>,
    policies: &[PolicyConfig],
) -> Result<Acceptor<T>, TlsError> {
    let names = &server.config().policies;
    let Some(first) = names.first() else {
        return Err(TlsError::UnknownPolicy(String::new()));
    };
    let new = |config: &PolicyConfig, name: &str| match config {
        PolicyConfig::Declared(tls) => Acceptor::new_declared(
            Arc::clone(server),
            listener,
            Arc::clone(resolver),
            name,
            tls,
        ),
        PolicyConfig::HandBuilt(config) => Acceptor::new(
            Arc::clone(server),
            listener,
            Arc::clone(resolver),
            name,
            Arc::clone(config),
        ),
    };
    let mut acceptor = new(&policies[0], first)?;
    for (name, config) in names.iter().zip(policies).skip(1) {
        acceptor = match config {
            PolicyConfig::Declared(tls) => acceptor.with_declared_policy(name, tls)?,
            PolicyConfig::HandBuilt(config) => acceptor.with_policy(name, Arc::clone(config))?,
        };
    }
    Ok(acceptor)
}

impl<T> Tls<T> {
    /// The server, of this build.
    #[must_use]
    pub fn server(&self) -> &Arc<Server<T>> {
        &self.server
    }

    /// The certificate resolver every policy's configuration uses.
    #[must_use]
    pub fn resolver(&self) -> &Arc<CertResolver> {
        &self.resolver
    }

    /// The acceptor of the TLS listener named `listener`.
    #[must_use]
    pub fn acceptor(&self, listener: &str) -> Option<&Arc<Acceptor<T>>> {
        let position = self
            .server
            .config()
            .listeners
            .iter()
            .position(|l| l.name == listener)?;
        self.acceptors.get(position)?.as_ref()
    }

    /// The acceptor of the only TLS listener, as `explain` and the probe pick it; `None` when
    /// there are none or several.
    #[must_use]
    pub fn only_acceptor(&self) -> Option<&Arc<Acceptor<T>>> {
        let mut tls = self.acceptors.iter().flatten();
        let only = tls.next()?;
        tls.next().is_none().then_some(only)
    }
}

#[cfg(feature = "quinn")]
impl<T: Send + Sync + 'static> Tls<T> {
    /// The quinn server configuration of the TLS listener named `listener` (feature `quinn`):
    /// a [`QuicAcceptor`](crate::QuicAcceptor) with every policy that allows TLS 1.3,
    /// offering the ALPN `h3`. A policy declared TLS 1.2 only gets no configuration over QUIC
    /// (QUIC runs TLS 1.3 alone), so a handshake that selects it fails rather than being made
    /// under other settings.
    ///
    /// # Errors
    /// [`TlsError::NotTlsListener`] for a listener that is not a TLS listener of the server,
    /// [`TlsError::QuicConfig`] for a hand-built configuration QUIC cannot run, and
    /// [`TlsError::UnknownPolicy`] when no policy allows TLS 1.3.
    pub fn quic_server_config(&self, listener: &str) -> Result<quinn::ServerConfig, TlsError> {
        let id = self
            .server
            .listener_id(listener)
            .ok_or(TlsError::NotTlsListener)?;
        let names = &self.server.config().policies;
        let mut quic: Option<crate::QuicAcceptor<T>> = None;
        for (name, config) in names.iter().zip(&self.policies) {
            match config {
                PolicyConfig::Declared(tls) if !tls.allows_tls13() => continue,
                PolicyConfig::Declared(tls) => {
                    let tls = tls.clone().with_alpn(vec![b"h3".to_vec()]);
                    quic = Some(match quic {
                        None => crate::QuicAcceptor::new_declared(
                            Arc::clone(&self.server),
                            id,
                            Arc::clone(&self.resolver),
                            name,
                            &tls,
                        )?,
                        Some(q) => q.with_declared_policy(name, &tls)?,
                    });
                }
                PolicyConfig::HandBuilt(config) => {
                    let mut config = (**config).clone();
                    config.alpn_protocols = vec![b"h3".to_vec()];
                    let config = Arc::new(config);
                    quic = Some(match quic {
                        None => crate::QuicAcceptor::new(
                            Arc::clone(&self.server),
                            id,
                            Arc::clone(&self.resolver),
                            name,
                            config,
                        )?,
                        Some(q) => q.with_policy(name, config)?,
                    });
                }
            }
        }
        let quic = quic.ok_or_else(|| TlsError::UnknownPolicy("(none allows TLS 1.3)".into()))?;
        Ok(quic.into_server_config())
    }
}

/// The resolver: every certificate with its chain and key; the first is the default.
fn resolver<T>(
    server: &Server<T>,
    tls: &TlsDeclarations,
    provider: &Arc<CryptoProvider>,
) -> Result<CertResolver, SiteError> {
    let mut keys = Vec::new();
    for (i, certificate) in server.config().certificates.iter().enumerate() {
        let Some(files) = tls.certificates.iter().find(|c| c.id == certificate.id) else {
            return Err(SiteError::NoKey {
                entry: format!("certificates[{i}] {:?}", certificate.id),
            });
        };
        let file_error = |key: &str, path: &Path, reason: String| SiteError::File {
            entry: format!("{}.{key}", files.entry),
            path: path.to_path_buf(),
            reason,
        };
        let pem = read(&files.chain).map_err(|e| file_error("file", &files.chain, e))?;
        let chain = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| file_error("file", &files.chain, format!("PEM: {e}")))?;
        if chain.is_empty() {
            return Err(file_error(
                "file",
                &files.chain,
                "holds no PEM CERTIFICATE block".into(),
            ));
        }
        let pem = read(&files.key).map_err(|e| file_error("key", &files.key, e))?;
        let key = PrivateKeyDer::from_pem_slice(&pem)
            .map_err(|e| file_error("key", &files.key, format!("no private key: {e}")))?;
        let signing = provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| file_error("key", &files.key, e.to_string()))?;
        let certified = CertifiedKey::new(chain, signing);
        // A key that is not the chain's own would fail every handshake: say so now.
        certified
            .keys_match()
            .map_err(|e| file_error("key", &files.key, format!("not the chain's key: {e}")))?;
        keys.push((certificate.id.clone(), Arc::new(certified)));
    }
    let default = server.config().certificates.first().map(|c| c.id.clone());
    Ok(CertResolver::new(server, keys, default.as_deref())?)
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| e.to_string())
}

/// The subjects of a declaration's client CAs, sorted, as a verifier over exactly those roots
/// names them in its CertificateRequest (RFC 8446 §4.2.4); none under [`ClientAuth::None`].
fn client_ca_subjects(client_auth: &ClientAuth) -> Vec<Vec<u8>> {
    let (ClientAuth::Optional { roots } | ClientAuth::Required { roots }) = client_auth else {
        return Vec::new();
    };
    let mut store = rustls::RootCertStore::empty();
    let _ = store.add_parsable_certificates(roots.iter().cloned());
    let mut subjects: Vec<Vec<u8>> = store
        .subjects()
        .iter()
        .map(|d| d.as_ref().to_vec())
        .collect();
    subjects.sort_unstable();
    subjects.dedup();
    subjects
}

/// The declaration of a `[[policies]]` table, its client CAs read.
fn declare(declaration: &PolicyDeclaration, options: &TlsOptions) -> Result<PolicyTls, SiteError> {
    let mut roots = Vec::new();
    for (i, path) in declaration.client_cas.iter().enumerate() {
        let file_error = |reason: String| SiteError::File {
            entry: format!("{}.client_cas[{i}]", declaration.entry),
            path: path.clone(),
            reason,
        };
        let pem = read(path).map_err(file_error)?;
        let found = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| file_error(format!("PEM: {e}")))?;
        if found.is_empty() {
            return Err(file_error("holds no PEM CERTIFICATE block".into()));
        }
        roots.extend(found);
    }
    let client_auth = match declaration.client_auth {
        ClientAuthMode::None => ClientAuth::None,
        ClientAuthMode::Optional => ClientAuth::Optional { roots },
        ClientAuthMode::Required => ClientAuth::Required { roots },
    };
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = declaration
        .versions
        .iter()
        .map(|v| match v {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        })
        .collect();
    let mut tls = PolicyTls::new(Arc::clone(&options.provider), client_auth)
        .with_versions(&versions)
        .with_alpn(
            declaration
                .alpn
                .iter()
                .map(|p| p.as_bytes().to_vec())
                .collect(),
        );
    if let Some(storage) = &options.session_storage {
        tls = tls.with_session_storage(Arc::clone(storage));
    }
    if let Some(ticketer) = &options.ticketer {
        tls = tls.with_ticketer(Arc::clone(ticketer));
    }
    Ok(tls)
}

/// A name a handshake for one of the policy's virtual hosts would carry, with a certificate
/// the resolver presents for it.
fn sample_sni<T>(server: &Server<T>, resolver: &CertResolver, policy: &str) -> Option<String> {
    server
        .config()
        .vhosts
        .iter()
        .filter(|v| v.policy == policy)
        .flat_map(|v| v.names.iter())
        .filter_map(|name| match NamePattern::parse(name) {
            Ok(NamePattern::Exact(name)) => Some(name.to_string()),
            Ok(NamePattern::Wildcard(parent)) => Some(format!("x.{parent}")),
            _ => None,
        })
        .find(|sni| resolver.select(Some(sni)).is_some())
}

/// Checks a policy's configuration by what it does in handshakes in memory: with a client
/// that offers each version alone, and with one that has no certificate to give.
fn check<T>(
    server: &Server<T>,
    resolver: &CertResolver,
    declaration: &PolicyDeclaration,
    hints: &[Vec<u8>],
    config: &Arc<ServerConfig>,
    provider: &Arc<CryptoProvider>,
) -> Result<(), String> {
    let declared_alpn: Vec<Vec<u8>> = declaration
        .alpn
        .iter()
        .map(|p| p.as_bytes().to_vec())
        .collect();
    if config.alpn_protocols != declared_alpn {
        return Err(format!(
            "it offers ALPN {:?}, the table {:?}",
            readable(&config.alpn_protocols),
            declaration.alpn
        ));
    }
    // A name of the policy's virtual hosts with a certificate; else no SNI, which gets the
    // default certificate (a virtual host known by its addresses alone is reached so).
    let sni = match sample_sni(server, resolver, &declaration.name) {
        Some(sni) => Some(sni),
        None if resolver.select(None).is_some() => None,
        // No handshake can be made for the policy at all: nothing to serve under it.
        None if !server
            .config()
            .vhosts
            .iter()
            .any(|v| v.policy == declaration.name) =>
        {
            return Ok(());
        }
        None => {
            return Err(
                "it cannot be checked: no name of its virtual hosts has a certificate, \
                        and there is no default certificate"
                    .to_string(),
            );
        }
    };
    for (version, rustls_version) in [
        (TlsVersion::Tls12, &rustls::version::TLS12),
        (TlsVersion::Tls13, &rustls::version::TLS13),
    ] {
        let declared = declaration.versions.contains(&version);
        let outcome = handshake(config, provider, sni.as_deref(), rustls_version, None)?;
        let accepted = outcome.version_accepted;
        if accepted != declared {
            return Err(format!(
                "TLS {} is {} by it and {} by the table",
                if version == TlsVersion::Tls12 {
                    "1.2"
                } else {
                    "1.3"
                },
                if accepted { "accepted" } else { "refused" },
                if declared { "offered" } else { "not offered" },
            ));
        }
        if !accepted {
            continue;
        }
        let (asked, completed) = (outcome.certificate_asked, outcome.completed);
        // The client CAs it names, when it names any (a verifier may send no hints; rustls's
        // WebPki verifier names its roots), must be the table's.
        let mut named = outcome.hints.clone();
        named.sort_unstable();
        named.dedup();
        let asks = declaration.client_auth != ClientAuthMode::None;
        if asks && asked && !named.is_empty() && named != hints {
            return Err(format!(
                "it trusts other client CAs than the table's client_cas ({} named in its \
                 CertificateRequest, {} in the table)",
                named.len(),
                hints.len()
            ));
        }
        let wrong = match declaration.client_auth {
            ClientAuthMode::None if asked => Some("asks for a client certificate"),
            ClientAuthMode::None | ClientAuthMode::Optional if !completed => {
                Some("fails a handshake without a client certificate")
            }
            ClientAuthMode::Optional | ClientAuthMode::Required if !asked => {
                Some("never asks for a client certificate")
            }
            ClientAuthMode::Required if completed => {
                Some("completes a handshake without a client certificate")
            }
            _ => None,
        };
        // A certificate no CA issued must never be accepted where one is asked for: a
        // verifier that trusts the wrong roots, or anything, is not the table's.
        let wrong = wrong.or_else(|| {
            let asks = declaration.client_auth != ClientAuthMode::None;
            let stranger = handshake(
                config,
                provider,
                sni.as_deref(),
                rustls_version,
                Some(stranger(provider)?),
            )
            .ok()?;
            (asks && stranger.completed).then_some(
                "accepts a client certificate that no CA issued (a self-signed stranger's)",
            )
        });
        if let Some(wrong) = wrong {
            let mode = match declaration.client_auth {
                ClientAuthMode::None => "none",
                ClientAuthMode::Optional => "optional",
                ClientAuthMode::Required => "required",
            };
            return Err(format!("it {wrong} (client_auth = {mode:?})"));
        }
    }
    Ok(())
}

/// The stranger's certificate and key (`stranger.pem`): self-signed, issued by no CA.
fn stranger(provider: &Arc<CryptoProvider>) -> Option<Arc<CertifiedKey>> {
    const PEM: &[u8] = include_bytes!("stranger.pem");
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(PEM)
        .collect::<Result<_, _>>()
        .ok()?;
    let key = PrivateKeyDer::from_pem_slice(PEM).ok()?;
    let key = provider.key_provider.load_private_key(key).ok()?;
    Some(Arc::new(CertifiedKey::new(chain, key)))
}

fn readable(protocols: &[Vec<u8>]) -> Vec<String> {
    protocols
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

/// What one handshake in memory showed.
struct Outcome {
    /// The client CAs the CertificateRequest named (DER distinguished names).
    hints: Vec<Vec<u8>>,
    version_accepted: bool,
    certificate_asked: bool,
    completed: bool,
}

/// A handshake between `config` and a client offering `version` alone, trusting any server
/// certificate and having no client certificate to give.
fn handshake(
    config: &Arc<ServerConfig>,
    provider: &Arc<CryptoProvider>,
    sni: Option<&str>,
    version: &'static rustls::SupportedProtocolVersion,
    certificate: Option<Arc<CertifiedKey>>,
) -> Result<Outcome, String> {
    let asked = Arc::new(Asked {
        asked: std::sync::atomic::AtomicBool::new(false),
        hints: std::sync::Mutex::new(Vec::new()),
        certificate,
    });
    let client = rustls::ClientConfig::builder_with_provider(Arc::clone(provider))
        .with_protocol_versions(&[version])
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServer(Arc::clone(provider))))
        .with_client_cert_resolver(Arc::clone(&asked) as Arc<dyn ResolvesClientCert>);
    let mut client = client;
    client.alpn_protocols = config.alpn_protocols.clone();
    client.enable_sni = sni.is_some();
    // Without SNI the name is used for nothing (the verifier accepts any certificate).
    let name = ServerName::try_from(sni.unwrap_or("no-sni.invalid").to_string())
        .map_err(|e| e.to_string())?;
    let mut client =
        rustls::ClientConnection::new(Arc::new(client), name).map_err(|e| e.to_string())?;
    // The check leaves nothing behind: no session stored, no ticket made, in what real
    // clients share.
    let mut quiet = (**config).clone();
    quiet.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    quiet.ticketer = Arc::new(NoTickets);
    quiet.send_tls13_tickets = 0;
    let mut server = rustls::ServerConnection::new(Arc::new(quiet)).map_err(|e| e.to_string())?;
    let mut version_accepted = false;
    let mut completed = false;
    // A handshake is a few flights; more rounds than this is a loop, not a handshake.
    for _ in 0..16 {
        let mut moved = pump(&mut *client, &mut *server);
        let server_result = server.process_new_packets();
        version_accepted |= server.protocol_version().is_some() && server_result.is_ok();
        moved |= pump(&mut *server, &mut *client);
        let client_result = client.process_new_packets();
        if server_result.is_err() || client_result.is_err() {
            break;
        }
        if !server.is_handshaking() && !client.is_handshaking() {
            completed = true;
            break;
        }
        if !moved {
            break;
        }
    }
    let hints = asked.hints.lock().map(|h| h.clone()).unwrap_or_default();
    Ok(Outcome {
        hints,
        version_accepted,
        certificate_asked: asked.asked.load(std::sync::atomic::Ordering::Relaxed),
        completed,
    })
}

/// Moves what `from` has to send into `to`; whether anything moved.
fn pump<A, B>(
    from: &mut rustls::ConnectionCommon<A>,
    to: &mut rustls::ConnectionCommon<B>,
) -> bool {
    let mut buffer = Vec::new();
    while from.wants_write() {
        if from.write_tls(&mut buffer).is_err() {
            break;
        }
    }
    let moved = !buffer.is_empty();
    let mut slice = &buffer[..];
    while !slice.is_empty() {
        match to.read_tls(&mut slice) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    moved
}

/// A ticketer that makes none.
#[derive(Debug)]
struct NoTickets;

impl ProducesTickets for NoTickets {
    fn enabled(&self) -> bool {
        false
    }
    fn lifetime(&self) -> u32 {
        0
    }
    fn encrypt(&self, _plain: &[u8]) -> Option<Vec<u8>> {
        None
    }
    fn decrypt(&self, _cipher: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

/// A client certificate resolver that remembers being asked, and gives its certificate (none,
/// or the stranger's).
#[derive(Debug)]
struct Asked {
    asked: std::sync::atomic::AtomicBool,
    hints: std::sync::Mutex<Vec<Vec<u8>>>,
    certificate: Option<Arc<CertifiedKey>>,
}

impl ResolvesClientCert for Asked {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.asked.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut hints) = self.hints.lock() {
            *hints = root_hint_subjects.iter().map(|h| h.to_vec()).collect();
        }
        self.certificate.clone()
    }

    fn has_certs(&self) -> bool {
        // rustls asks `resolve` only when the server sent a CertificateRequest.
        true
    }
}

/// A server certificate verifier that accepts anything: the self-check handshakes test the
/// server's client authentication, not its certificate.
#[derive(Debug)]
struct AnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
