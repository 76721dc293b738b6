//! The probe checks what a policy demands (issue 23): for a virtual host whose policy's table
//! says `client_auth = "required"`, a handshake without a client certificate must fail, or
//! every request on it be refused. The user's mistake, an mtls verifier hand-built with
//! `.allow_unauthenticated()` behind the plain `Acceptor`, passed every scenario before, since
//! the probe presented its client certificate wherever one was asked for; now it fails, and
//! counts as served where a refusal is due.

#[path = "../../examples/server.rs"]
mod server;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use misdirect::{Acceptor, MisdirectLayer, Site, Tls, TlsOptions};
use misdirect_probe::{Expected, Group, Options, Outcome, ScenarioResult, run};
use rustls::pki_types::pem::PemObject;
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpListener;

fn site(port: u16) -> String {
    format!(
        r#"
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

/// The files and the configuration, for a listener already bound.
fn files(tag: &str, port: u16) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("misdirect-probe-auth-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pki = server::generate_pki_with(&["*.example.test"]).unwrap();
    for (name, text) in server::FILES.iter().zip(server::pki_files(&pki)) {
        std::fs::write(dir.join(name), text).unwrap();
    }
    std::fs::write(dir.join("site.toml"), site(port)).unwrap();
    dir
}

/// Serves 200 for whatever the layer lets through, with this acceptor.
fn serve(listener: TcpListener, acceptor: Arc<Acceptor<String>>) {
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = Arc::clone(&acceptor);
            tokio::spawn(async move {
                let Ok(conn) = acceptor.accept_connection(tcp).await else {
                    return;
                };
                let service = tower::ServiceBuilder::new()
                    .layer(MisdirectLayer::new(
                        Arc::clone(conn.server()),
                        conn.connection,
                    ))
                    .service(tower::service_fn(
                        |_: http::Request<hyper::body::Incoming>| async {
                            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(
                                b"ok\n",
                            ))))
                        },
                    ));
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(conn.stream), TowerToHyperService::new(service))
                    .await;
            });
        }
    });
}

fn load(dir: &std::path::Path) -> Tls<String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Site::<String>::from_toml_file(&dir.join("site.toml"))
        .unwrap()
        .build(&TlsOptions::new(provider))
        .unwrap()
}

/// The probe as the user ran it: trusting the CA, offering the client certificate.
async fn probe(dir: PathBuf, addr: SocketAddr) -> misdirect_probe::Report {
    let mut options = Options::new(&dir.join("site.toml"), addr);
    options.ca = Some(dir.join("ca.pem"));
    options.client_cert = Some((dir.join("client.pem"), dir.join("client.key")));
    tokio::task::spawn_blocking(move || run(&options))
        .await
        .unwrap()
        .unwrap()
}

fn client_auth(report: &misdirect_probe::Report) -> Vec<&misdirect_probe::ScenarioResult> {
    report
        .results
        .iter()
        .filter(|r| r.scenario.group == Group::ClientAuth)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_required_policy_passes_the_probe() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dir = files("declared", addr.port());
    let tls = load(&dir);
    serve(listener, Arc::clone(tls.acceptor("tls").unwrap()));
    let report = probe(dir.clone(), addr).await;
    assert_eq!(report.exit_code(), 0, "{}", report.text());
    let checks = client_auth(&report);
    // admin's name as configured and in capitals (GHSA-9cr8-q42q-g8m7: a client-certificate
    // rule matched by SNI case-sensitively).
    let snis: Vec<_> = checks.iter().map(|c| c.scenario.sni.as_deref()).collect();
    assert_eq!(
        snis,
        [Some("admin.example.test"), Some("ADMIN.EXAMPLE.TEST")],
        "{}",
        report.text()
    );
    for check in &checks {
        assert_eq!(
            check.expected,
            Some(Expected::NoSession {
                policy: "mtls".into()
            })
        );
        assert_eq!(check.outcome, Outcome::Pass, "{}", report.text());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_allow_unauthenticated_verifier_fails_the_probe() {
    // Over either protocol: a server that speaks only HTTP/2 must not pass by refusing the
    // probe's HTTP/1.1.
    for alpn in [&[&b"h2"[..], b"http/1.1"][..], &[b"h2"], &[b"http/1.1"]] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let dir = files(
            &format!("mistaken-{}", alpn.len() * 10 + alpn[0].len()),
            addr.port(),
        );
        let tls = load(&dir);
        serve(listener, mistaken(&dir, &tls, alpn));
        let report = probe(dir.clone(), addr).await;
        // Odd (a failure), with the security bit (served where a refusal is due) alone.
        assert_eq!(report.exit_code(), 1 | 4, "{}", report.text());
        let checks = client_auth(&report);
        assert_eq!(checks.len(), 2, "{}", report.text());
        for check in &checks {
            assert_eq!(check.outcome, Outcome::Fail, "{}", report.text());
            assert!(check.served_refused(), "{}", report.text());
        }
        // The only failures: every other scenario holds, as it did before, but for the
        // resumption scenarios that offer a session under admin's SNI without a client
        // certificate: the full handshake they get is the same bypass.
        let failed: Vec<_> = report
            .results
            .iter()
            .filter(|r| r.outcome == Outcome::Fail)
            .collect();
        let (resumed, others): (Vec<&ScenarioResult>, Vec<&ScenarioResult>) = failed
            .iter()
            .partition(|r| r.scenario.group == Group::Resumption);
        assert_eq!(others.len(), 2, "{}", report.text());
        assert!(
            resumed.iter().all(|r| r.served_refused()
                && r.scenario.sni.as_deref() == Some("admin.example.test")
                && matches!(r.expected, Some(Expected::NoSession { .. }))),
            "{}",
            report.text()
        );
        assert!(report.text().contains("SERVED"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The user's glue: one hand-built ServerConfig per policy behind the plain `Acceptor`,
/// mtls's verifier with the one word `.allow_unauthenticated()`, offering these protocols.
fn mistaken(dir: &std::path::Path, tls: &Tls<String>, alpn: &[&[u8]]) -> Arc<Acceptor<String>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let pem = std::fs::read(dir.join("ca.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for ca in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(ca.unwrap()).unwrap();
    }
    let config = |verifier| {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(
                Arc::clone(tls.resolver()) as Arc<dyn rustls::server::ResolvesServerCert>
            );
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    };
    let optional =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .allow_unauthenticated()
            .build()
            .unwrap();
    let server = Arc::clone(tls.server());
    let id = server.listener_id("tls").unwrap();
    let acceptor = Acceptor::new(
        Arc::clone(&server),
        id,
        Arc::clone(tls.resolver()),
        "public",
        config(WebPkiClientVerifier::no_client_auth()),
    )
    .unwrap()
    .with_policy("mtls", config(optional))
    .unwrap();
    Arc::new(acceptor)
}

const BOTH: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Hostile review of issue 23, P1: with a request limit the generated scenarios fill, the
/// check of what mtls demands was not made, and the mistaken server passed. Its request is
/// now reserved out of the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_auth_check_survives_a_small_request_limit() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dir = files("limit", addr.port());
    let tls = load(&dir);
    serve(listener, mistaken(&dir, &tls, &BOTH));
    let mut options = Options::new(&dir.join("site.toml"), addr);
    options.ca = Some(dir.join("ca.pem"));
    options.client_cert = Some((dir.join("client.pem"), dir.join("client.key")));
    options.max_requests = 20;
    let report = tokio::task::spawn_blocking(move || run(&options))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.results.len(), 20, "{}", report.text());
    let checks = client_auth(&report);
    assert_eq!(checks.len(), 2, "{}", report.text());
    assert!(
        checks.iter().all(|c| c.outcome == Outcome::Fail),
        "{}",
        report.text()
    );
    assert_eq!(report.exit_code(), 1 | 4, "{}", report.text());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Hostile review of issue 23, P2: a server that stalls admin's handshakes past the probe's
/// deadline, and serves a patient client without a certificate, passed (a timeout counted as
/// the handshake refused). Only the server ending the handshake (an alert, a close) passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_handshake_is_not_a_refusal() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dir = files("stall", addr.port());
    let tls = load(&dir);
    let acceptor = mistaken(&dir, &tls, &BOTH);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = Arc::clone(&acceptor);
            tokio::spawn(async move {
                let mut hello = [0u8; 2048];
                let _ = tokio::time::timeout(std::time::Duration::from_millis(300), tcp.readable())
                    .await;
                let n = tcp.peek(&mut hello).await.unwrap_or(0);
                if hello[..n]
                    .windows(5)
                    .any(|w| w.eq_ignore_ascii_case(b"admin"))
                {
                    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
                }
                let _ = acceptor.accept_connection(tcp).await;
            });
        }
    });
    let mut options = Options::new(&dir.join("site.toml"), addr);
    options.ca = Some(dir.join("ca.pem"));
    options.client_cert = Some((dir.join("client.pem"), dir.join("client.key")));
    options.deadline = std::time::Duration::from_millis(1000);
    options.max_requests = 10;
    let report = tokio::task::spawn_blocking(move || run(&options))
        .await
        .unwrap()
        .unwrap();
    let checks = client_auth(&report);
    assert_eq!(checks.len(), 2, "{}", report.text());
    for check in &checks {
        assert_eq!(check.outcome, Outcome::Fail, "{}", report.text());
        assert!(
            matches!(check.got, misdirect_probe::Got::Error(_)),
            "{:?}",
            check.got
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The acceptor, `Server::connection` and the probe read one rule for a handshake's policy
/// (SPEC §4): against a server built by `Site::build`, the probe, which expects what
/// `Server::sni_policy` says for each SNI (as `explain` does), finds no disagreement on any
/// handshake of its scenarios, with and without `default_tls_vhost`: no SNI, an unknown name
/// the certificate covers, each site's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_acceptor_and_the_probe_agree_with_and_without_default_tls_vhost() {
    for default_tls_vhost in [false, true] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tag = if default_tls_vhost {
            "default"
        } else {
            "no-default"
        };
        let dir = files(tag, addr.port());
        if default_tls_vhost {
            let text = std::fs::read_to_string(dir.join("site.toml")).unwrap();
            let text = text.replace("tls = true\n", "tls = true\ndefault_tls_vhost = \"www\"\n");
            std::fs::write(dir.join("site.toml"), text).unwrap();
        }
        let tls = load(&dir);
        let listener_id = tls.server().listener_id("tls").unwrap();
        assert_eq!(
            tls.server().sni_policy(listener_id, None).is_some(),
            default_tls_vhost
        );
        serve(listener, Arc::clone(tls.acceptor("tls").unwrap()));
        let report = probe(dir.clone(), addr).await;
        assert_eq!(
            report.exit_code(),
            0,
            "default_tls_vhost {default_tls_vhost}: {}",
            report.text()
        );
        // Not vacuous: scenarios without SNI, and on a covered name no virtual host has.
        let no_sni: Vec<_> = report
            .results
            .iter()
            .filter(|r| r.scenario.sni.is_none())
            .collect();
        assert!(!no_sni.is_empty());
        assert!(
            no_sni.iter().all(|r| r.outcome == Outcome::Pass),
            "{}",
            report.text()
        );
        // Without default_tls_vhost, a handshake without SNI has no policy, so its requests
        // are refused; with it, www's are served on it.
        let served_without_sni = no_sni
            .iter()
            .any(|r| matches!(r.expected, Some(Expected::Serve(_))));
        assert_eq!(served_without_sni, default_tls_vhost, "{}", report.text());
        // The probe's view of each handshake is the rule's.
        for presented in &report.presented {
            let rule = tls
                .server()
                .sni_policy(listener_id, presented.sni.as_deref().map(str::as_bytes))
                .and_then(|p| tls.server().policy_name(p))
                .map(str::to_string);
            assert_eq!(presented.policy, rule, "{presented:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// CVE-2022-23632's class over HTTP/3: an endpoint that demands client certificates by SNI
/// (one QUIC configuration asking for them optionally, the session closed when admin's SNI
/// comes without one) and then serves whatever host a request names. Over TCP the declared
/// policy and the layer hold; over QUIC every check of what mtls demands still passes (the
/// SNI in capitals too: rustls's server lowercases it), but admin's page is served on
/// www's connection, which never asked for a certificate: security failures, over HTTP/3
/// only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http3_endpoint_that_serves_across_policies_fails_the_probe() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dir = files("h3-across", addr.port());
    let tls = load(&dir);
    serve(listener, Arc::clone(tls.acceptor("tls").unwrap()));
    let udp = sni_only_h3(&dir, &tls);
    let mut options = Options::new(&dir.join("site.toml"), addr);
    options.ca = Some(dir.join("ca.pem"));
    options.client_cert = Some((dir.join("client.pem"), dir.join("client.key")));
    options.only = vec![Group::Pair, Group::ClientAuth, Group::Http3];
    options.h3 = Some(misdirect_probe::H3Endpoint::Port(udp.port()));
    let report = tokio::task::spawn_blocking(move || run(&options))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.exit_code() & (1 | 4), 1 | 4, "{}", report.text());
    // What mtls demands holds everywhere: the name and its capitals, over TCP and QUIC.
    let checks = client_auth(&report);
    assert_eq!(checks.len(), 4, "{}", report.text());
    assert!(
        checks.iter().all(|c| c.outcome == Outcome::Pass),
        "{}",
        report.text()
    );
    // Every failure is over HTTP/3; admin served on www's connection is one of them.
    let failed: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::Fail)
        .collect();
    assert!(
        failed.iter().all(|r| r.scenario.shape.is_h3()),
        "{}",
        report.text()
    );
    assert!(
        failed.iter().any(|r| r.served_refused()
            && r.scenario.sni.as_deref() == Some("www.example.test")
            && r.scenario
                .shape
                .to_string()
                .contains(":authority=admin.example.test")),
        "{}",
        report.text()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The mistaken HTTP/3 endpoint: client certificates optional for every SNI and required for
/// admin's (the session closed without one); every request served `:status 200`.
fn sni_only_h3(dir: &std::path::Path, tls: &Tls<String>) -> SocketAddr {
    use quinn::crypto::rustls::{HandshakeData, QuicServerConfig};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let pem = std::fs::read(dir.join("ca.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for ca in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(ca.unwrap()).unwrap();
    }
    let optional =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .allow_unauthenticated()
            .build()
            .unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_client_cert_verifier(optional)
        .with_cert_resolver(
            Arc::clone(tls.resolver()) as Arc<dyn rustls::server::ResolvesServerCert>
        );
    config.alpn_protocols = vec![b"h3".to_vec()];
    let crypto = QuicServerConfig::try_from(Arc::new(config)).unwrap();
    let endpoint = quinn::Endpoint::server(
        quinn::ServerConfig::with_crypto(Arc::new(crypto)),
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap();
    let addr = endpoint.local_addr().unwrap();
    tokio::spawn(async move {
        while let Some(incoming) = endpoint.accept().await {
            tokio::spawn(async move {
                let Ok(conn) = incoming.await else { return };
                let sni = conn
                    .handshake_data()
                    .and_then(|d| d.downcast::<HandshakeData>().ok())
                    .and_then(|d| d.server_name);
                if sni.as_deref() == Some("admin.example.test") && conn.peer_identity().is_none() {
                    // quinn's close is an application CONNECTION_CLOSE (it cannot send a
                    // crypto error): the probe sees the connection closed, which a demand
                    // for no session accepts.
                    conn.close((0x100u32 + 116).into(), b"");
                    return;
                }
                while let Ok((mut send, mut recv)) = conn.accept_bi().await {
                    let _ = recv.read_to_end(64 * 1024).await;
                    // HEADERS { :status 200 (QPACK static 25) }, then FIN.
                    let _ = send.write_all(&[0x01, 0x03, 0x00, 0x00, 0xc0 | 25]).await;
                    let _ = send.finish();
                }
            });
        }
    });
    addr
}
