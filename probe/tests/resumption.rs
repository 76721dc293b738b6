//! The resumption scenarios (issue 26, item 2): a TLS 1.3 ticket or TLS 1.2 session obtained
//! under one SNI, offered under another, then a request on that session.
//!
//! 1. The example server (examples/server.rs, the crate's `Acceptor` with one session cache
//!    and ticket key shared by every policy, scoped by the acceptor) passes every one: rustls
//!    refuses to resume under another SNI, admin's full handshake fails without a client
//!    certificate, and a session resumed under its own SNI keeps its policy, so another
//!    policy's virtual host gets 421. It offers no early data, so the 0-RTT scenario passes
//!    unsent (nothing can be served early), saying so.
//! 2. A deliberately wrong server: tokio-rustls and hyper, one session cache and ticket key
//!    for every name, resuming a session under whatever SNI it is offered with (rustls itself
//!    refuses that, RFC 6066 §3, so the server rewrites the session's SNI to the one sent, as a
//!    server without the check behaves), and deciding every request on the facts of the
//!    ClientHello's SNI, resumed or not. A ticket from www resumed under admin's SNI is served
//!    admin's site without a client certificate (CVE-2025-23048): the probe reports it as
//!    served where 421 is due, and exits 1 | 4.

#[path = "../../examples/server.rs"]
mod server;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use misdirect::{ConnectionFacts, Handshake, MisdirectLayer, Site, Tls, TlsOptions};
use misdirect_probe::{Expected, Got, Group, Options, Outcome, Report, ScenarioResult, run};
use rustls::pki_types::pem::PemObject;
use rustls::server::{
    ProducesTickets, ServerSessionMemoryCache, StoresServerSessions, WebPkiClientVerifier,
};
use tokio::net::TcpListener;

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "misdirect-probe-resume-{what}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn resumption(report: &Report) -> Vec<&ScenarioResult> {
    report
        .results
        .iter()
        .filter(|r| r.scenario.group == Group::Resumption)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_server_passes_every_resumption_scenario() {
    let running = server::start(server::Options {
        port: 0,
        out: Some(temp_dir("example")),
        quiet: true,
        ..server::Options::default()
    })
    .await
    .expect("the example server starts");
    let dir = running.dir.clone();
    let mut options = Options::new(&dir.join("server.toml"), running.addr);
    options.ca = Some(dir.join("ca.pem"));
    options.client_cert = Some((dir.join("client.pem"), dir.join("client.key")));
    options.only = vec![Group::Resumption];
    let report = tokio::task::spawn_blocking(move || run(&options))
        .await
        .unwrap()
        .unwrap();
    let text = report.text();
    assert_eq!(report.exit_code(), 0, "{text}");
    let checks = resumption(&report);
    // Present and counted: only the group asked for, every one in the summary.
    assert_eq!(checks.len(), report.results.len(), "{text}");
    assert!(
        text.contains(&format!("{} scenarios:", checks.len())),
        "{text}"
    );
    // Ticket and session from a (public): under admin (mtls) and legacy (legacy), same
    // certificate; under c.other.test, asking for c and for a; under a itself, asking for
    // admin and legacy; for each of TLS 1.3, TLS 1.2 with tickets and TLS 1.2 with session
    // ids only; and 0-RTT.
    assert_eq!(checks.len(), 3 * 6 + 1, "{text}");
    for r in &checks {
        if r.scenario.label.starts_with("0-RTT") {
            // Nothing can be served early: what the scenario checks holds.
            assert_eq!(r.outcome, Outcome::Pass, "{text}");
            assert!(
                matches!(&r.got, Got::NotSent(why) if why.contains("offers no early data")),
                "{text}"
            );
            continue;
        }
        assert_eq!(r.outcome, Outcome::Pass, "{text}");
        // Every label says what became of the session.
        let told = [
            "; resumed (",
            "; not resumed: full handshake",
            "; the handshake failed",
        ];
        assert!(told.iter().any(|t| r.scenario.label.contains(t)), "{text}");
        assert!(r.scenario.label.starts_with("TLS 1."), "{text}");
    }
    // Not vacuous: sessions did resume (under their own SNI), admin's handshake without a
    // client certificate was refused, and 421 was due and given on a resumed session.
    for way in ["TLS 1.3 ticket", "TLS 1.2 session"] {
        let resumed = format!("; resumed ({way} from SNI a.example.test)");
        assert!(
            checks.iter().any(|r| r.scenario.label.contains(&resumed)),
            "{text}"
        );
    }
    assert!(
        checks
            .iter()
            .any(|r| r.scenario.sni.as_deref() == Some("admin.example.test")
                && matches!(r.expected, Some(Expected::NoSession { .. }))
                && matches!(r.got, Got::Refused(_))),
        "{text}"
    );
    assert!(
        checks
            .iter()
            .any(|r| r.scenario.label.contains("; resumed (")
                && r.expected.as_ref().map(Expected::status) == Some(421)),
        "{text}"
    );
    // Under --only, the other groups are not sent.
    assert!(
        report
            .results
            .iter()
            .all(|r| r.scenario.group == Group::Resumption)
    );
    std::fs::remove_dir_all(&running.dir).unwrap();
}

/// The configuration, with these `[knobs]` lines.
fn site(port: u16, knobs: &str) -> String {
    format!(
        r#"
[knobs]
{knobs}

[[policies]]
name = "public"
client_auth = "none"

[[policies]]
name = "mtls"
client_auth = "required"
client_cas = ["ca.pem"]

[[listeners]]
name = "tls"
tls = true
port = {port}

[[certificates]]
id = "example"
file = "example.pem"
key = "example.key"

[[vhosts]]
name = "www"
names = ["www.example.test"]
https_ports = [{port}]
policy = "public"

[[vhosts]]
name = "admin"
names = ["admin.example.test"]
https_ports = [{port}]
policy = "mtls"
"#
    )
}

fn files(port: u16, knobs: &str) -> PathBuf {
    let dir = temp_dir("wrong");
    let pki = server::generate_pki_with(&["*.example.test"]).unwrap();
    for (name, text) in server::FILES.iter().zip(server::pki_files(&pki)) {
        std::fs::write(dir.join(name), text).unwrap();
    }
    std::fs::write(dir.join("site.toml"), site(port, knobs)).unwrap();
    dir
}

fn load(dir: &Path) -> Tls<String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Site::<String>::from_toml_file(&dir.join("site.toml"))
        .unwrap()
        .build(&TlsOptions::new(provider))
        .unwrap()
}

/// A session's encoding with its SNI replaced by this connection's: rustls's
/// `ServerSessionValue` (msgs/persist.rs, 0.23) begins with 1 and the SNI as a string of at
/// most 255 octets, or 0 for none. The server this stands for never compares them.
fn any_sni(plain: Vec<u8>, sni: Option<&str>) -> Vec<u8> {
    let rest = match plain.first() {
        Some(0) => &plain[1..],
        Some(1) => match plain.get(1) {
            Some(&len) if plain.len() >= 2 + usize::from(len) => &plain[2 + usize::from(len)..],
            _ => return plain,
        },
        _ => return plain,
    };
    let mut out = match sni {
        Some(sni) => {
            let mut out = vec![1, u8::try_from(sni.len()).unwrap()];
            out.extend_from_slice(sni.as_bytes());
            out
        }
        None => vec![0],
    };
    out.extend_from_slice(rest);
    out
}

/// The shared ticket key, resuming a ticket under any SNI.
#[derive(Debug)]
struct AnySniTickets {
    inner: Arc<dyn ProducesTickets>,
    sni: Option<String>,
}

impl ProducesTickets for AnySniTickets {
    fn enabled(&self) -> bool {
        self.inner.enabled()
    }
    fn lifetime(&self) -> u32 {
        self.inner.lifetime()
    }
    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.inner.encrypt(plain)
    }
    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        Some(any_sni(self.inner.decrypt(cipher)?, self.sni.as_deref()))
    }
}

/// The shared session cache (TLS 1.2 session ids), resuming a session under any SNI.
#[derive(Debug)]
struct AnySniCache {
    inner: Arc<ServerSessionMemoryCache>,
    sni: Option<String>,
}

impl StoresServerSessions for AnySniCache {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.inner.put(key, value)
    }
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        Some(any_sni(self.inner.get(key)?, self.sni.as_deref()))
    }
    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        Some(any_sni(self.inner.take(key)?, self.sni.as_deref()))
    }
    fn can_cache(&self) -> bool {
        self.inner.can_cache()
    }
}

/// The wrong server: a configuration per policy chosen by the ClientHello's SNI (mtls's
/// requiring a client certificate), one session cache and ticket key for all, and every
/// request decided on the SNI's facts, as if each handshake were a full one.
fn serve_wrongly(listener: TcpListener, dir: &Path) {
    let tls = load(dir);
    let server = Arc::clone(tls.server());
    let listener_id = server.listener_id("tls").unwrap();
    let certificate = server.certificate_id("example").unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let pem = std::fs::read(dir.join("ca.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for ca in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(ca.unwrap()).unwrap();
    }
    let ticketer = rustls::crypto::ring::Ticketer::new().unwrap();
    let cache = ServerSessionMemoryCache::new(256);
    let config = |verifier| {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(
                Arc::clone(tls.resolver()) as Arc<dyn rustls::server::ResolvesServerCert>
            );
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        config
    };
    let public = config(WebPkiClientVerifier::no_client_auth());
    let required =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .build()
            .unwrap();
    let mtls = config(required);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let server = Arc::clone(&server);
            let (public, mtls) = (public.clone(), mtls.clone());
            let (ticketer, cache) = (Arc::clone(&ticketer), Arc::clone(&cache));
            tokio::spawn(async move {
                let acceptor =
                    tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp);
                let Ok(start) = acceptor.await else { return };
                let sni = start.client_hello().server_name().map(str::to_string);
                let policy = server.sni_policy(listener_id, sni.as_deref().map(str::as_bytes));
                let mut config = if policy.and_then(|p| server.policy_name(p)) == Some("mtls") {
                    mtls
                } else {
                    public
                };
                config.ticketer = Arc::new(AnySniTickets {
                    inner: ticketer,
                    sni: sni.clone(),
                });
                config.session_storage = Arc::new(AnySniCache {
                    inner: cache,
                    sni: sni.clone(),
                });
                let Ok(stream) = start.into_stream(Arc::new(config)).await else {
                    return;
                };
                // The mistake: the SNI's facts, whether or not the session was resumed.
                let Ok(conn) = server.connection(&ConnectionFacts {
                    listener: listener_id,
                    tls: Some(Handshake {
                        sni: sni.as_deref().map(str::as_bytes),
                        certificate,
                        policy,
                    }),
                    gateway: None,
                }) else {
                    return;
                };
                let service = tower::ServiceBuilder::new()
                    .layer(MisdirectLayer::new(Arc::clone(&server), conn))
                    .service(tower::service_fn(
                        |_: http::Request<hyper::body::Incoming>| async {
                            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(
                                b"ok\n",
                            ))))
                        },
                    ));
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                    .await;
            });
        }
    });
}

async fn probe(dir: PathBuf, addr: SocketAddr) -> Report {
    let mut options = Options::new(&dir.join("site.toml"), addr);
    options.ca = Some(dir.join("ca.pem"));
    options.client_cert = Some((dir.join("client.pem"), dir.join("client.key")));
    tokio::task::spawn_blocking(move || run(&options))
        .await
        .unwrap()
        .unwrap()
}

/// Whatever the knobs: under `sni = "cert-covered"` rule 6 compares no policies, so the
/// crate's decision for the resumed facts alone would serve admin (hostile review of the
/// resumption group, 1); but the crate never resumes across policies, so a session resumed
/// into a policy that requires a client certificate is judged as a full handshake without one
/// would be: no session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_resuming_across_names_is_served_where_no_session_is_due() {
    for knobs in ["", r#"sni = "cert-covered""#] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let dir = files(addr.port(), knobs);
        serve_wrongly(listener, &dir);
        let report = probe(dir.clone(), addr).await;
        let text = report.text();
        // Odd (a failure), with the security bit alone.
        assert_eq!(report.exit_code(), 1 | 4, "{knobs}: {text}");
        let failed: Vec<&ScenarioResult> = report
            .results
            .iter()
            .filter(|r| r.outcome == Outcome::Fail)
            .collect();
        // Only resumed sessions under admin's SNI fail, one per way to resume: every other
        // scenario holds, full handshakes being decided right.
        for r in &failed {
            assert_eq!(r.scenario.group, Group::Resumption, "{text}");
            assert_eq!(
                r.scenario.sni.as_deref(),
                Some("admin.example.test"),
                "{text}"
            );
            assert!(r.served_refused(), "{text}");
            assert!(
                r.scenario.label.contains("; resumed (")
                    && r.scenario.label.contains("from SNI www.example.test"),
                "{text}"
            );
            assert!(
                matches!(&r.expected, Some(Expected::NoSession { policy }) if policy == "mtls"),
                "{text}"
            );
        }
        for way in [
            "TLS 1.3 ticket",
            "TLS 1.2 session from",
            "TLS 1.2 session id",
        ] {
            assert!(
                failed.iter().any(|r| r.scenario.label.starts_with(way)),
                "{knobs}: no failure resuming by {way}: {text}"
            );
        }
        assert_eq!(failed.len(), 3, "{knobs}: {text}");
        assert!(text.contains("SERVED"), "{text}");
        // The same session under its own SNI, asking for admin: 421 from the server too.
        assert!(
            resumption(&report)
                .iter()
                .any(|r| r.scenario.sni.as_deref() == Some("www.example.test")
                    && r.outcome == Outcome::Pass
                    && r.scenario.label.contains("; resumed (")),
            "{text}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// A blocking rustls server offering 0-RTT (stateful tickets, `max_early_data_size` 4096, as
/// rustls allows early data only without a ticketer), answering every request with 200, or a
/// request that came as early data with 425 Too Early when `too_early`.
fn early_data_server(listener: std::net::TcpListener, dir: &Path, too_early: bool) {
    use std::io::{Read, Write};
    let chain = rustls::pki_types::CertificateDer::pem_file_iter(dir.join("example.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(dir.join("example.key")).unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    config.max_early_data_size = 4096;
    let config = Arc::new(config);
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(mut tcp) = tcp else { continue };
            let config = Arc::clone(&config);
            std::thread::spawn(move || -> std::io::Result<()> {
                tcp.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
                let mut conn =
                    rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
                let mut early = Vec::new();
                while conn.is_handshaking() {
                    conn.complete_io(&mut tcp)?;
                    if let Some(mut data) = conn.early_data() {
                        data.read_to_end(&mut early)?;
                    }
                }
                while conn.wants_write() {
                    conn.write_tls(&mut tcp)?;
                }
                let mut stream = rustls::Stream::new(&mut conn, &mut tcp);
                if early.is_empty() {
                    let mut request = Vec::new();
                    let mut byte = [0u8; 1];
                    while !request.ends_with(b"\r\n\r\n") {
                        if stream.read(&mut byte)? == 0 {
                            return Ok(());
                        }
                        request.push(byte[0]);
                    }
                }
                let status = if too_early && !early.is_empty() {
                    "425 Too Early"
                } else {
                    "200 OK"
                };
                write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
                )?;
                stream.conn.send_close_notify();
                stream.flush()
            });
        }
    });
}

/// 0-RTT where the server offers it: the early-data request for admin on a ticket of www's
/// policy is served by a server acting on early data for any host (a failure, served where
/// 421 is due), and passes when the server answers it 425 Too Early.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_data_is_sent_and_judged_where_the_server_offers_it() {
    for too_early in [false, true] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let dir = files(addr.port(), "");
        early_data_server(listener, &dir, too_early);
        let mut options = Options::new(&dir.join("site.toml"), addr);
        options.ca = Some(dir.join("ca.pem"));
        options.only = vec![Group::Resumption];
        let report = tokio::task::spawn_blocking(move || run(&options))
            .await
            .unwrap()
            .unwrap();
        let text = report.text();
        let early: Vec<_> = resumption(&report)
            .into_iter()
            .filter(|r| r.scenario.label.starts_with("0-RTT"))
            .collect();
        assert_eq!(early.len(), 1, "{text}");
        let r = early[0];
        assert!(r.scenario.label.contains("; early data accepted"), "{text}");
        assert!(
            r.scenario.label.contains("; resumed (TLS 1.3 ticket"),
            "{text}"
        );
        assert_eq!(r.scenario.sni.as_deref(), Some("www.example.test"));
        assert!(
            matches!(&r.expected, Some(Expected::Refuse { status: 421, .. })),
            "{text}"
        );
        if too_early {
            assert_eq!(r.outcome, Outcome::Pass, "{text}");
        } else {
            assert_eq!(r.outcome, Outcome::Fail, "{text}");
            assert!(r.served_refused(), "{text}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
