//! An HTTPS server on 127.0.0.1 with misdirect in front of every request: tokio, hyper-util
//! (HTTP/1.1 and HTTP/2 by ALPN), tokio-rustls, the crate's certificate resolver and acceptor,
//! and its tower layer; and HTTP/3 on another UDP port (quinn, h3, the crate's `QuicAcceptor`:
//! `common/h3.rs`), advertised by `alt-svc` on the TCP answers.
//!
//! Five virtual hosts on two certificates:
//!
//! | virtual host         | certificate                  | TLS policy                |
//! |----------------------|------------------------------|---------------------------|
//! | `a.example.test`     | `example` (`*.example.test`) | `public`                  |
//! | `b.example.test`     | `example` (`*.example.test`) | `public`                  |
//! | `admin.example.test` | `example` (`*.example.test`) | `mtls` (client cert)      |
//! | `c.other.test`       | `other` (`c.other.test`)     | `public`                  |
//! | `legacy.example.test`| `example` (`*.example.test`) | `legacy` (TLS 1.2 beside 1.3, a policy of its own) |
//!
//! So a connection opened for `a` may carry requests for `b` (same certificate, same policy:
//! coalescing works), but not for `c.other.test` (rule 4: the certificate does not cover it)
//! nor for `admin` (rule 6: its handshake never asked for a client certificate), nor for
//! `legacy` (rule 6: another policy). All get 421. `/page.html` shows images from other hosts and
//! every answer is logged (`common/browser.rs`), for the browser test (`tests/browser.rs`).
//!
//! Certificates (a CA, the two server certificates, a client certificate) are generated at
//! start with rcgen and written to `--out` (default `target/misdirect-example`), unless
//! `--certs DIR` names a folder holding `ca.pem`, `example.pem`, `example.key`, `other.pem`,
//! `other.key`, `client.pem` and `client.key`.
//!
//! ```text
//! cargo run --example server --features rustls,tower,serde,reload,quinn -- [--port N]
//!     [--out DIR] [--certs DIR] [--h3-port N] [--grace MS] [--head-timeout MS]
//!     [--max-connections-per-client N] [--log-requests] [--no-layer] [--quiet]
//! ```
//!
//! It prints curl commands that show a 200, a coalesced 200 and a 421. CONNECT gets 501: the
//! layer leaves tunnels to the service, and this one opens none. `--no-layer` serves
//! every request without deciding (for measuring the layer's cost). The end-to-end tests
//! (`tests/e2e.rs`) include this file and call [`start`].
//!
//! Reloading: the configuration is `server.toml` in the certificate folder (written at first
//! start) and the PEM files beside it. SIGHUP reads them again; if they build, new connections
//! get the new generation (new certificates included) and the old generation's connections are
//! drained (HTTP/2 GOAWAY, HTTP/1.1 `Connection: close`; past `--grace` their requests get 421).
//! A file that does not parse or build changes nothing, and the log names the file and entry.
//! Every CA in `ca.pem` is trusted for the `mtls` policy's client certificates. TLS sessions
//! (tickets and session ids) made before a reload resume after it when the policy, its client
//! CAs and the certificates are unchanged; any change gives the client a full handshake.
#![allow(dead_code)] // `main` and some fields are unused when the tests include this file.

#[path = "common/browser.rs"]
mod browser;
#[path = "common/h3.rs"]
mod h3;

use std::convert::Infallible;
use std::error::Error;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use misdirect::{
    Acceptor, CertResolver, Changes, Generation, ListenerId, MisdirectLayer, Reloadable, Server,
    TlsFacts, TlsOptions,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ProducesTickets, ServerSessionMemoryCache, StoresServerSessions};
use rustls::sign::CertifiedKey;
use tokio::net::{TcpListener, TcpStream};

/// Result type of the example: errors are printed, not handled.
pub type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// The server's policies, listeners, certificates and virtual hosts: the one source of truth,
/// from which `Site::build` makes the decision and every TLS configuration. The certificates'
/// SANs are read from the PEM files the server presents, not typed twice.
const CONFIG: &str = r#"
[[policies]]
name = "public"
client_auth = "none"

# admin's: a client certificate from the example's CA, or no handshake.
[[policies]]
name = "mtls"
client_auth = "required"
client_cas = ["ca.pem"]

# A policy of its own for a site kept for old clients (TLS 1.2 beside 1.3, and its own
# session scope): coalescing a's connection onto it is a 421.
[[policies]]
name = "legacy"
client_auth = "none"
versions = ["1.2", "1.3"]

[[certificates]]
id = "example"
file = "example.pem"
key = "example.key"

[[certificates]]
id = "other"
file = "other.pem"
key = "other.key"

[[listeners]]
name = "tls"
tls = true
port = PORT
default_tls_vhost = "a"

# HTTP/3: the alternative service (RFC 7838) on another UDP port, serving the TCP origin's port.
[[listeners]]
name = "h3"
tls = true
port = H3_UDP
origin_ports = [PORT]
default_tls_vhost = "a"

[[vhosts]]
name = "a"
names = ["a.example.test"]
https_ports = [PORT]
policy = "public"
value = "site a"

[[vhosts]]
name = "b"
names = ["b.example.test"]
https_ports = [PORT]
policy = "public"
value = "site b"

[[vhosts]]
name = "admin"
names = ["admin.example.test"]
https_ports = [PORT]
policy = "mtls"
value = "site admin"

[[vhosts]]
name = "c"
names = ["c.other.test"]
https_ports = [PORT]
policy = "public"
value = "site c"

[[vhosts]]
name = "legacy"
names = ["legacy.example.test"]
https_ports = [PORT]
policy = "legacy"
value = "site legacy"
"#;

/// Command-line options.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// UDP port of HTTP/3 on 127.0.0.1; 0 picks a free one.
    pub h3_port: u16,
    /// Read certificates from this folder instead of generating them.
    pub certs: Option<PathBuf>,
    /// Write generated certificates here.
    pub out: Option<PathBuf>,
    /// Serve without the layer (every request is answered by the site handler).
    pub no_layer: bool,
    /// Print nothing per connection.
    pub quiet: bool,
    /// How long connections of a replaced configuration may still decide (default 10 s).
    pub grace: Option<Duration>,
    /// Print one line per answered request (generation, SNI, authority, status).
    pub log_requests: bool,
    /// How long a request's head may take to arrive (default 10 s); a retired generation's
    /// connections are closed at the grace plus this.
    pub head_timeout: Option<Duration>,
    /// How many connections one client address may have open (default
    /// [`MAX_CONNECTIONS_PER_CLIENT`]).
    pub max_connections_per_client: Option<usize>,
}

/// How many connections, TCP and QUIC together, one client address may have open at once
/// (default of `--max-connections-per-client`). What one connection may make the server hold
/// is bounded (over QUIC about 8.5 MiB: `misdirect::bounded_transport` with the H3 guard);
/// this bounds how many of them one client holds.
pub const MAX_CONNECTIONS_PER_CLIENT: usize = 64;

/// The connections open per client address.
#[derive(Clone, Debug, Default)]
pub struct Clients {
    open: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
    limit: usize,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Admitted {
    clients: Clients,
    ip: std::net::IpAddr,
}

impl Clients {
    /// At most `limit` connections per client address.
    pub fn new(limit: usize) -> Clients {
        Clients {
            open: Arc::default(),
            limit,
        }
    }

    /// A place for one more connection from `ip`, unless it has `limit` open already.
    pub fn admit(&self, ip: std::net::IpAddr) -> Option<Admitted> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(ip).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Admitted {
            clients: self.clone(),
            ip,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self
            .clients
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// How long connections wait on their clients and on a reload.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// How long a retired generation's connections may still decide.
    pub grace: Duration,
    /// How long a request's head may take to arrive, and how long past the grace a retired
    /// connection is kept for a request in flight.
    pub head_timeout: Duration,
}

/// PEM text of every certificate and key the example uses.
#[derive(Clone, Debug)]
pub struct Pki {
    /// The CA that issued the server and client certificates.
    pub ca: String,
    /// `*.example.test`.
    pub example: (String, String),
    /// `c.other.test`.
    pub other: (String, String),
    /// A client certificate for the `mtls` policy.
    pub client: (String, String),
}

/// A started server.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its certificates, as generated or read at start.
    pub pki: Pki,
    /// Where the configuration (`server.toml`) and the PEM files are.
    pub dir: PathBuf,
    /// The current configuration generation; connections keep the one they were made on.
    pub sites: Arc<Reloadable<Site>>,
    /// The TLS session cache and ticket key every generation's configurations share.
    sessions: Sessions,
    /// The accept loop.
    pub task: tokio::task::JoinHandle<()>,
    /// HTTP/3.
    pub h3: h3::Running,
    /// Every answered request.
    pub log: browser::RequestLog,
}

/// Where TLS sessions live, kept across generations: the session cache (TLS 1.2 session ids)
/// and the ticketer (TLS 1.3 and TLS 1.2 tickets), whose key must outlive a reload for a
/// session made before it to resume after it.
#[derive(Clone)]
pub struct Sessions {
    /// The session cache.
    pub cache: Arc<dyn StoresServerSessions>,
    /// The ticketer.
    pub ticketer: Arc<dyn ProducesTickets>,
}

/// What one configuration generation serves with: the decision and the TLS glue built for it.
pub struct Site {
    /// The misdirect server.
    pub server: Arc<Server<String>>,
    /// The TLS acceptor of its listener.
    pub acceptor: Arc<Acceptor<String>>,
    /// Its TLS listener.
    pub listener: ListenerId,
    /// The QUIC endpoint's configuration for this generation's connections (its
    /// `QuicAcceptor`, with bounded transport settings).
    pub quic: Arc<quinn::ServerConfig>,
    /// Its HTTP/3 listener.
    pub h3_listener: ListenerId,
    /// The certificate resolver.
    pub resolver: Arc<CertResolver>,
    /// The PEM text of each certificate, by id, to say which were renewed.
    pub certificates: Vec<(String, String)>,
}

impl Running {
    /// The misdirect server of the current generation.
    pub fn server(&self) -> Arc<Server<String>> {
        Arc::clone(&self.sites.current().server)
    }

    /// Reads `server.toml` and the PEM files again and, if they build, makes them the current
    /// generation (what SIGHUP does). New connections get it; connections of the replaced one
    /// are drained. On an error nothing changes, and the error names the file and the entry.
    ///
    /// # Errors
    /// A message naming the file, line or entry that failed.
    pub fn reload(&self) -> Result<String> {
        let mut report = String::new();
        let generation = self.sites.try_reload(|old| {
            let new = build_site(&self.dir, self.addr.port(), &self.sessions)?;
            report = changes(old, &new);
            Ok::<_, Box<dyn Error + Send + Sync>>(new)
        })?;
        // Each QUIC connection is given its generation's configuration when accepted; the
        // endpoint's own follows too.
        self.h3.follow(&generation);
        Ok(format!("generation {}:\n{report}", generation.number()))
    }
}

/// What changed from one generation to the next: the configuration's differences, and the
/// certificates renewed (same id, another certificate) with their SANs before and after.
fn changes(old: &Site, new: &Site) -> String {
    let mut lines = Changes::between(old.server.config(), new.server.config()).lines;
    for (id, pem) in &new.certificates {
        let Some((_, before)) = old.certificates.iter().find(|(o, _)| o == id) else {
            continue;
        };
        if before != pem {
            let sans = |server: &Server<String>| {
                server
                    .config()
                    .certificates
                    .iter()
                    .find(|c| &c.id == id)
                    .map(|c| {
                        c.sans
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default()
            };
            lines.push(format!(
                "~ certificate {id:?} renewed: [{}] -> [{}]",
                sans(&old.server),
                sans(&new.server)
            ));
        }
    }
    if lines.is_empty() {
        "no changes".to_string()
    } else {
        lines.join("\n")
    }
}

fn generate_pki() -> Result<Pki> {
    generate_pki_with(&["*.example.test"])
}

/// A CA and the example's certificates, with `example`'s SANs as given: the end-to-end reload
/// test renews it with other names.
pub fn generate_pki_with(example_names: &[&str]) -> Result<Pki> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "misdirect example CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
    let leaf = |names: &[&str], client: bool| -> Result<(String, String)> {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        if client {
            params
                .distinguished_name
                .push(DnType::CommonName, "misdirect example client");
        }
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &ca)?;
        Ok((cert.pem(), key.serialize_pem()))
    };
    Ok(Pki {
        ca: ca.pem(),
        example: leaf(example_names, false)?,
        other: leaf(&["c.other.test"], false)?,
        client: leaf(&["client.example.test"], true)?,
    })
}

/// The PEM files the example reads, in its folder.
pub const FILES: [&str; 7] = [
    "ca.pem",
    "example.pem",
    "example.key",
    "other.pem",
    "other.key",
    "client.pem",
    "client.key",
];

/// The PEM texts in the order of [`FILES`].
pub fn pki_files(pki: &Pki) -> [&str; 7] {
    [
        &pki.ca,
        &pki.example.0,
        &pki.example.1,
        &pki.other.0,
        &pki.other.1,
        &pki.client.0,
        &pki.client.1,
    ]
}

fn load_pki(dir: &Path) -> Result<Pki> {
    let read = |name: &str| -> Result<String> {
        std::fs::read_to_string(dir.join(name))
            .map_err(|e| format!("{}: {e}", dir.join(name).display()).into())
    };
    Ok(Pki {
        ca: read("ca.pem")?,
        example: (read("example.pem")?, read("example.key")?),
        other: (read("other.pem")?, read("other.key")?),
        client: (read("client.pem")?, read("client.key")?),
    })
}

fn certified_key(
    provider: &CryptoProvider,
    (cert, key): &(String, String),
) -> Result<CertifiedKey> {
    let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes())?;
    Ok(CertifiedKey::from_der(chain, key, provider)?)
}

fn leaf_der(cert: &str) -> Result<CertificateDer<'static>> {
    Ok(CertificateDer::from_pem_slice(cert.as_bytes())?)
}

/// Binds, builds the misdirect server and the TLS configuration, and starts accepting.
pub async fn start(options: Options) -> Result<Running> {
    let listener = TcpListener::bind(("127.0.0.1", options.port)).await?;
    let addr = listener.local_addr()?;
    let udp = std::net::UdpSocket::bind(("127.0.0.1", options.h3_port))?;
    let h3_port = udp.local_addr()?.port();
    let (pki, dir) = match &options.certs {
        Some(dir) => (load_pki(dir)?, dir.clone()),
        None => {
            let pki = generate_pki()?;
            let dir = options
                .out
                .clone()
                .unwrap_or_else(|| PathBuf::from("target/misdirect-example"));
            std::fs::create_dir_all(&dir)?;
            for (name, text) in FILES.iter().zip(pki_files(&pki)) {
                std::fs::write(dir.join(name), text)?;
            }
            (pki, dir)
        }
    };

    // The configuration file: written once, then read at start and on every reload.
    let file = dir.join("server.toml");
    if !file.exists() {
        let text = CONFIG
            .replace("H3_UDP", &h3_port.to_string())
            .replace("PORT", &addr.port().to_string());
        std::fs::write(&file, text)?;
    }
    // One session cache and one ticket key for every policy and every generation: the
    // acceptor scopes what they hold to the policy, its declared client trust and versions, and
    // the certificates that made it, so nothing resumes into another, and a reload that changes
    // none of them keeps its clients' sessions.
    let sessions = Sessions {
        cache: ServerSessionMemoryCache::new(1024),
        ticketer: rustls::crypto::ring::Ticketer::new()?,
    };
    let sites = Arc::new(Reloadable::new(build_site(&dir, addr.port(), &sessions)?));
    let grace = options.grace.unwrap_or(Duration::from_secs(10));

    let head_timeout = options.head_timeout.unwrap_or(Duration::from_secs(10));

    // HTTP/3 on its UDP port, an alternative service of the TCP origin; each connection on the
    // generation current when it arrives, as over TCP.
    let log = browser::RequestLog::new(options.quiet);
    let timing = Timing {
        grace,
        head_timeout,
    };
    let clients = Clients::new(
        options
            .max_connections_per_client
            .unwrap_or(MAX_CONNECTIONS_PER_CLIENT),
    );
    let h3 = h3::start(
        udp,
        Arc::clone(&sites),
        timing,
        (log.clone(), clients.clone()),
        options.quiet,
    )?;
    let alt_svc = HeaderValue::from_str(&format!("h3=\":{h3_port}\"; ma=3600"))?;

    let accepting = Arc::clone(&sites);
    let requests = log.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = listener.accept().await else {
                continue;
            };
            // Past the client's share, the connection is closed at once.
            let Some(admitted) = clients.admit(peer.ip()) else {
                continue;
            };
            let sites = Arc::clone(&accepting);
            let options = options.clone();
            let logged = (requests.clone(), alt_svc.clone());
            tokio::spawn(async move {
                let result = connection(tcp, &sites, timing, &options, logged);
                if let Err(e) = result.await {
                    if !options.quiet {
                        eprintln!("connection: {e}");
                    }
                }
                drop(admitted);
            });
        }
    });
    Ok(Running {
        addr,
        pki,
        dir,
        sites,
        sessions,
        task,
        h3,
        log,
    })
}

/// Builds one generation from `server.toml` and the PEM files it names: the decision and
/// every TLS configuration, from the file alone (`Site::build`), on the shared session cache
/// and ticket key.
fn build_site(dir: &Path, port: u16, sessions: &Sessions) -> Result<Site> {
    let pki = load_pki(dir)?;
    let file = dir.join("server.toml");
    let site = misdirect::Site::<String>::from_toml_file(&file)?;
    // Declared, not hand-built: the crate builds each policy's client verifier itself, so it
    // knows the trust a session was verified under, and a session resumes after a reload
    // exactly when that trust, the policy and the certificates are unchanged.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let options = TlsOptions::new(provider)
        .with_session_storage(Arc::clone(&sessions.cache))
        .with_ticketer(Arc::clone(&sessions.ticketer));
    let tls = site
        .build(&options)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let server = Arc::clone(tls.server());
    let listener = server
        .listener_for(true, port)
        .ok_or_else(|| format!("{}: no TLS listener on port {port}", file.display()))?;
    let acceptor = tls
        .acceptor("tls")
        .map(Arc::clone)
        .ok_or_else(|| format!("{}: no TLS listener \"tls\"", file.display()))?;
    // HTTP/3: the same policies, offering `h3`.
    let h3_listener = server
        .listener_id("h3")
        .ok_or_else(|| format!("{}: no listener \"h3\"", file.display()))?;
    let quic = tls.quic_server_config("h3")?;
    Ok(Site {
        server,
        acceptor,
        listener,
        quic: Arc::new(quic),
        h3_listener,
        resolver: Arc::clone(tls.resolver()),
        certificates: vec![
            ("example".to_string(), pki.example.0),
            ("other".to_string(), pki.other.0),
        ],
    })
}

/// One connection: the handshake, its facts, then HTTP/1.1 or HTTP/2 with the layer, all on
/// the generation current when it was accepted. When a reload replaces that generation, the
/// connection is shut down gracefully (HTTP/2 GOAWAY; HTTP/1.1 closes after the response in
/// flight): requests in flight complete, and past the grace the layer refuses new ones.
async fn connection(
    tcp: TcpStream,
    sites: &Reloadable<Site>,
    timing: Timing,
    options: &Options,
    (log, alt_svc): (browser::RequestLog, HeaderValue),
) -> Result<()> {
    let generation = sites.current();
    let site = &**generation;
    let (tls, facts) =
        tokio::time::timeout(timing.head_timeout, site.acceptor.accept(tcp)).await??;
    let conn = site
        .server
        .connection(&facts.connection_facts(site.listener))?;
    let policy = facts
        .policy
        .and_then(|p| site.server.policy_name(p))
        .unwrap_or("?");
    let logged = browser::Connection::next(facts.sni.as_deref(), policy);
    let facts = Arc::new(facts);
    let describe = describe(&site.server, &facts);
    let handler = {
        let describe = describe.clone();
        move |request: Request<Incoming>| {
            let describe = describe.clone();
            async move { Ok::<_, Infallible>(self::site(request, &describe).await) }
        }
    };
    let io = TokioIo::new(tls);
    if options.no_layer {
        let service = tower::service_fn(handler);
        let service = browser::Logged::new(service, log, logged, Some(alt_svc));
        return serve(
            io,
            TowerToHyperService::new(service),
            sites,
            &generation,
            timing,
        )
        .await;
    }
    let layer = MisdirectLayer::new(Arc::clone(&site.server), conn)
        .draining(generation.clone(), timing.grace);
    let service = tower::ServiceBuilder::new()
        .layer(layer)
        .service_fn(handler);
    let service = browser::Logged::new(service, log, logged, Some(alt_svc));
    if !options.log_requests {
        return serve(
            io,
            TowerToHyperService::new(service),
            sites,
            &generation,
            timing,
        )
        .await;
    }
    // One line per answered request: the connection's generation and SNI, the request's
    // authority, the status. The reload load script checks every answer against the
    // generation its connection was made on.
    let number = generation.number();
    let sni = facts.sni.clone().unwrap_or_default();
    let logged = tower::service_fn(move |request: Request<Incoming>| {
        let authority = request
            .uri()
            .authority()
            .map(ToString::to_string)
            .or_else(|| {
                request
                    .headers()
                    .get(hyper::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let sni = sni.clone();
        let answer = tower::ServiceExt::oneshot(service.clone(), request);
        async move {
            let response = answer.await?;
            println!(
                "request generation={number} sni={sni} authority={authority} status={}",
                response.status().as_u16()
            );
            Ok::<_, Infallible>(response)
        }
    });
    serve(
        io,
        TowerToHyperService::new(logged),
        sites,
        &generation,
        timing,
    )
    .await
}

/// Serves HTTP/1.1 or HTTP/2 on the connection until it ends, or until a reload supersedes
/// its generation: then a graceful shutdown lets requests in flight finish, and at the grace
/// plus the head timeout the connection is closed, whatever the client is doing, so that a
/// retired generation (its keys, its configuration) is freed in bounded time.
async fn serve<S, B>(
    io: TokioIo<tokio_rustls::server::TlsStream<TcpStream>>,
    service: S,
    sites: &Reloadable<Site>,
    generation: &Generation<Site>,
    timing: Timing,
) -> Result<()>
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    let mut http = auto::Builder::new(TokioExecutor::new());
    // A request head that trickles in is cut at the head timeout (hyper closes the connection).
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timing.head_timeout);
    let serving = http.serve_connection(io, service);
    tokio::pin!(serving);
    tokio::select! {
        done = serving.as_mut() => return done,
        () = sites.superseded(generation.number()) => {}
    }
    serving.as_mut().graceful_shutdown();
    match tokio::time::timeout(timing.grace + timing.head_timeout, serving).await {
        Ok(done) => done,
        // Dropping the connection closes it.
        Err(_) => Ok(()),
    }
}

/// The connection, as the site's answers describe it.
fn describe(server: &Server<String>, facts: &TlsFacts) -> String {
    format!(
        "sni {}, certificate {}, policy {}, resumed {}, client certificate {}",
        facts.sni.as_deref().unwrap_or("none"),
        server.certificate_name(facts.certificate).unwrap_or("?"),
        facts
            .policy
            .and_then(|p| server.policy_name(p))
            .unwrap_or("?"),
        if facts.resumed { "yes" } else { "no" },
        if facts.client_certificate {
            "yes"
        } else {
            "no"
        },
    )
}

/// The sites: one line naming the virtual host the layer chose, and the connection. CONNECT
/// is no site's: it gets 501.
async fn site<B>(request: Request<B>, connection: &str) -> Response<Full<Bytes>> {
    // CONNECT asks for a tunnel to a host and port (RFC 9110 §9.3.6), not for a site: the layer
    // passes it on untouched (`Verdict::NotOrigin`, no virtual host chosen), and the handler
    // that receives it must not answer as a site would. A 2xx here would tell the client the
    // tunnel is open (hyper switches the stream to tunnel mode). This server opens no tunnels,
    // so it answers 501: "An origin server that receives a request method that is
    // unrecognized or not implemented SHOULD respond with the 501 (Not Implemented) status
    // code" (RFC 9110 §9.1). Not 405, which says the method is implemented but "not allowed
    // for the target resource" and owes an `Allow` header listing that resource's methods: a
    // CONNECT's target is a host and port, no resource of any site, and nothing here would
    // allow it. An extended CONNECT (`:protocol`, RFC 8441 / RFC 9220) is an origin request
    // the layer has decided like any other, so it falls through to the site.
    if request.method() == Method::CONNECT
        && request.extensions().get::<hyper::ext::Protocol>().is_none()
    {
        let mut response = Response::new(Full::new(Bytes::from_static(
            b"501 Not Implemented\nthis server opens no tunnels\n",
        )));
        *response.status_mut() = StatusCode::NOT_IMPLEMENTED;
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        return response;
    }
    if let Some(response) = browser::asset(&request) {
        return response;
    }
    // `/slow` answers after half a second: a request still in flight when a reload comes.
    if request.uri().path() == "/slow" {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let site = request
        .extensions()
        .get::<String>()
        .map_or("no virtual host (layer off)", String::as_str);
    Response::new(Full::new(Bytes::from(format!(
        "hello from {site} over {:?} ({connection})\n",
        request.version()
    ))))
}

/// The curl commands that show what the server does.
pub fn curl_commands(running: &Running) -> String {
    let port = running.addr.port();
    let dir = running.dir.display();
    let base = format!("curl -sS --cacert {dir}/ca.pem");
    let resolve = |host: &str| format!("--resolve {host}:{port}:127.0.0.1");
    format!(
        "# 200: a.example.test on its own connection\n\
         {base} {ra} https://a.example.test:{port}/\n\
         # 200, coalesced: b.example.test on a's connection (same certificate, same policy)\n\
         {base} --http2 {ra} https://a.example.test:{port}/ -H 'Host: b.example.test:{port}'\n\
         # 421: c.other.test on a's connection (the certificate does not cover it)\n\
         {base} --http2 {ra} https://a.example.test:{port}/ -H 'Host: c.other.test:{port}'\n\
         # 421: admin.example.test on a's connection (its handshake asked for no client certificate)\n\
         {base} --http1.1 {ra} https://a.example.test:{port}/ -H 'Host: admin.example.test:{port}'\n\
         # 200: admin.example.test on its own connection, with the client certificate\n\
         {base} {radmin} --cert {dir}/client.pem --key {dir}/client.key https://admin.example.test:{port}/\n",
        ra = resolve("a.example.test"),
        radmin = resolve("admin.example.test"),
    )
}

fn parse_options() -> Result<Options> {
    let mut options = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--port" => options.port = value()?.parse()?,
            "--h3-port" => options.h3_port = value()?.parse()?,
            "--certs" => options.certs = Some(value()?.into()),
            "--out" => options.out = Some(value()?.into()),
            "--no-layer" => options.no_layer = true,
            "--quiet" => options.quiet = true,
            "--grace" => options.grace = Some(Duration::from_millis(value()?.parse()?)),
            "--head-timeout" => {
                options.head_timeout = Some(Duration::from_millis(value()?.parse()?));
            }
            "--max-connections-per-client" => {
                options.max_connections_per_client = Some(value()?.parse()?);
            }
            "--log-requests" => options.log_requests = true,
            "-h" | "--help" => {
                println!(
                    "usage: server [--port N] [--out DIR] [--certs DIR] [--h3-port N] \
                     [--grace MS] [--head-timeout MS] [--max-connections-per-client N] \
                     [--log-requests] [--no-layer] [--quiet]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> Result<()> {
    let options = parse_options()?;
    let running = start(options.clone()).await?;
    println!(
        "listening on https://{} and HTTP/3 on udp {} ({}), certificates in {}",
        running.addr,
        running.h3.addr,
        if options.no_layer {
            "misdirect layer OFF"
        } else {
            "misdirect layer on"
        },
        running.dir.display()
    );
    println!("{}", curl_commands(&running));
    println!(
        "edit {}/server.toml or the PEM files, then `kill -HUP {}` to reload",
        running.dir.display(),
        std::process::id()
    );
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = hangups.recv() => match running.reload() {
                Ok(report) => println!("reloaded, {report}"),
                // A failed reload changes nothing: the running generation keeps serving.
                Err(e) => eprintln!("reload failed, still serving generation {}: {e}",
                    running.sites.current().number()),
            },
        }
    }
}
