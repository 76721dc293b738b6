//! `misdirect-probe` end to end.
//!
//! 1. What the probe's own client sends is what a live server receives: a hyper server over
//!    TLS (HTTP/1.1 and HTTP/2 by ALPN), with no misdirect in front, records the method,
//!    version, URI and `Host` fields of every request that reaches its service; each must be
//!    exactly the scenario's shape. The shapes hyper itself refuses before any service (h2's
//!    stream resets) are listed.
//! 2. The probe against the example server (examples/server.rs) with the example's own
//!    configuration file: every scenario passes and the binary exits 0.

#[path = "../../examples/server.rs"]
mod server;

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use misdirect_probe::{Answer, Got, Options, Outcome, Shape, USER_AGENT, run};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "misdirect-probe-{what}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What the recording service saw of one request.
#[derive(Clone, Debug)]
struct Seen {
    scenario: usize,
    method: String,
    version: http::Version,
    uri: String,
    hosts: Vec<Vec<u8>>,
}

/// A hyper server over TLS with one certificate (`*.example.test`) for every SNI, serving
/// every request with a 200 and recording it.
async fn recording_server(pki: &server::Pki) -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = CertificateDer::pem_slice_iter(pki.example.0.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(pki.example.1.as_bytes()).unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    // The task ends with the test's runtime.
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service =
                    hyper::service::service_fn(move |request: http::Request<Incoming>| {
                        let scenario = request
                            .headers()
                            .get(http::header::USER_AGENT)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.strip_prefix(USER_AGENT))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        log.lock().unwrap().push(Seen {
                            scenario,
                            method: request.method().to_string(),
                            version: request.version(),
                            uri: request.uri().to_string(),
                            hosts: request
                                .headers()
                                .get_all(http::header::HOST)
                                .iter()
                                .map(|v| v.as_bytes().to_vec())
                                .collect(),
                        });
                        async {
                            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(
                                b"recorded\n",
                            ))))
                        }
                    });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (addr, seen)
}

/// The URI hyper gives a request of this shape: the absolute-form target or the HTTP/2
/// `:scheme` and `:authority`, else the path alone.
fn uri_of(shape: &Shape) -> String {
    match shape {
        Shape::Http1 {
            absolute: Some((scheme, authority)),
            ..
        } => format!(
            "{}://{}/",
            String::from_utf8_lossy(scheme),
            String::from_utf8_lossy(authority)
        ),
        Shape::Http2 {
            scheme: Some(scheme),
            authorities,
            ..
        } if authorities.len() == 1 => format!(
            "{}://{}/",
            String::from_utf8_lossy(scheme),
            String::from_utf8_lossy(&authorities[0])
        ),
        _ => "/".to_string(),
    }
}

fn hosts_of(shape: &Shape) -> &[Vec<u8>] {
    match shape {
        Shape::Http1 { hosts, .. } | Shape::Http2 { hosts, .. } | Shape::Http3 { hosts, .. } => {
            hosts
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shape_reaches_a_live_hyper_server_as_sent() {
    let pki = server::generate_pki_with(&["*.example.test"]).unwrap();
    let (addr, seen) = recording_server(&pki).await;
    let dir = temp_dir("shapes");
    let port = addr.port();
    std::fs::write(
        dir.join("server.toml"),
        format!(
            r#"
            [[listeners]]
            name = "tls"
            tls = true
            port = {port}

            [[vhosts]]
            name = "a"
            names = ["a.example.test"]
            https_ports = [{port}]
            policy = "public"

            [[vhosts]]
            name = "b"
            names = ["b.example.test"]
            https_ports = [{port}]
            policy = "public"
            "#
        ),
    )
    .unwrap();
    let options = Options::new(&dir.join("server.toml"), addr);
    let report = tokio::task::spawn_blocking(move || run(&options))
        .await
        .unwrap()
        .expect("the probe runs");
    let seen = seen.lock().unwrap().clone();

    let mut refused_by_hyper = BTreeSet::new();
    for result in &report.results {
        let scenario = &result.scenario;
        let shape = &scenario.shape;
        let mine: Vec<&Seen> = seen.iter().filter(|s| s.scenario == scenario.id).collect();
        match mine.as_slice() {
            [seen] => {
                assert_eq!(seen.method, "GET", "{shape}");
                let version = match shape.version() {
                    misdirect::Version::Http10 => http::Version::HTTP_10,
                    misdirect::Version::Http11 => http::Version::HTTP_11,
                    _ => http::Version::HTTP_2,
                };
                assert_eq!(seen.version, version, "{shape}");
                assert_eq!(seen.uri, uri_of(shape), "{shape}");
                assert_eq!(seen.hosts, hosts_of(shape), "{shape}");
                assert!(
                    matches!(
                        &result.got,
                        Got::Answer(Answer::Response { status: 200, .. })
                    ),
                    "{shape}: {:?}",
                    result.got
                );
            }
            [] => {
                // Refused before any service: h2 resets malformed requests.
                assert!(
                    matches!(
                        &result.got,
                        Got::Answer(Answer::Reset(_) | Answer::Response { status: 400, .. })
                    ),
                    "{shape}: {:?}",
                    result.got
                );
                refused_by_hyper.insert(format!(
                    "{} {}",
                    if shape.is_h2() { "h2" } else { "h1" },
                    scenario.label
                ));
            }
            more => panic!("{shape} reached the service {} times", more.len()),
        }
    }
    // RFC 9113 §8.3, §8.3.1 and http's authority grammar: what hyper's h2 resets itself.
    assert_eq!(
        refused_by_hyper,
        BTreeSet::from(
            [
                "h2 no :scheme",
                "h2 percent-encoding",
                "h2 raw UTF-8",
                "h2 space",
                "h2 two :authority",
            ]
            .map(String::from)
        ),
        "{}",
        report.text()
    );
    // A server that serves everything fails the probe, and serves what it must refuse.
    assert_eq!(report.exit_code() & (1 | 4), 1 | 4, "{}", report.text());
    assert!(report.results.iter().any(|r| r.served_refused()));
    assert!(report.results.len() > 100, "{}", report.results.len());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_server_passes_every_scenario_of_its_own_configuration() {
    let running = server::start(server::Options {
        port: 0,
        out: Some(temp_dir("example")),
        quiet: true,
        ..server::Options::default()
    })
    .await
    .expect("the example server starts");
    let dir = running.dir.clone();
    let addr = running.addr;
    let h3_port = running.h3.addr.port().to_string();
    // The binary, as CI or a user runs it, over HTTP/1.1, HTTP/2 and HTTP/3.
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_misdirect-probe"))
            .arg("--config")
            .arg(dir.join("server.toml"))
            .args(["--connect", &addr.to_string(), "--h3", &h3_port])
            .arg("--insecure-ca")
            .arg(dir.join("ca.pem"))
            .arg("--client-cert")
            .arg(dir.join("client.pem"))
            .arg("--client-key")
            .arg(dir.join("client.key"))
            .arg("--json")
            .output()
            .expect("the probe binary runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    let summary = &report["summary"];
    assert_eq!(summary["failed"], 0, "{summary}");
    assert_eq!(summary["skipped"], 0, "{summary}");
    let scenarios = report["scenarios"].as_array().unwrap();
    assert_eq!(summary["passed"].as_u64(), Some(scenarios.len() as u64));
    // The example server offers no early data: the 0-RTT scenario passes unsent.
    let unsent: Vec<_> = scenarios
        .iter()
        .filter(|s| s["got"]["kind"] == "not_sent")
        .collect();
    assert_eq!(unsent.len(), 1, "{unsent:?}");
    assert_eq!(unsent[0]["group"], "resumption", "{}", unsent[0]);
    assert!(scenarios.len() > 150, "{}", scenarios.len());
    // Not vacuous: every group is there, and every kind of verdict.
    for group in [
        "pair",
        "spelling",
        "port-scheme",
        "malformed",
        "framing",
        "client-auth",
        "h3",
        "resumption",
    ] {
        assert!(
            scenarios.iter().any(|s| s["group"] == group),
            "no {group} scenario"
        );
    }
    for (status, rule) in [(421, 2), (421, 3), (421, 4), (421, 5), (421, 6), (400, 1)] {
        assert!(
            scenarios
                .iter()
                .any(|s| s["expected"]["status"] == status && s["expected"]["rule"] == rule),
            "no scenario expecting {status} by rule {rule}"
        );
    }
    for version in ["HTTP/2", "HTTP/3"] {
        assert!(scenarios.iter().any(|s| s["expected"]["serve"] == "b"
            && s["sni"] == "a.example.test"
            && s["version"] == version));
    }
    // Every HTTP/2 request was sent again over HTTP/3, to the listener "h3".
    let count = |f: &dyn Fn(&serde_json::Value) -> bool| scenarios.iter().filter(|s| f(s)).count();
    assert_eq!(
        count(&|s| s["group"] == "h3"),
        count(&|s| s["version"] == "HTTP/2"
            && s["group"] != "client-auth"
            && s["group"] != "resumption"),
    );
    assert!(count(&|s| s["group"] == "h3" && s["version"] != "HTTP/3") == 0);
    assert_eq!(report["h3"]["listener"], "h3", "{}", report["h3"]);
    // RFC 9114 §4.3.1 where HTTP/2 differs: a host beside :authority must be identical.
    assert!(scenarios.iter().any(|s| s["group"] == "h3"
        && s["label"] == "framing: :authority and a host that disagrees"
        && s["expected"]["status"] == 400));
    // The certificates the handshakes showed.
    let handshakes = report["handshakes"].as_array().unwrap();
    assert_eq!(
        handshakes.len(),
        12,
        "five names (a, b, admin, c, legacy) and no SNI, over TCP and over QUIC"
    );
    assert_eq!(
        handshakes
            .iter()
            .filter(|h| h["transport"] == "quic")
            .count(),
        6
    );
    // Each matched by its SANs to the configuration's certificate entry.
    for h in handshakes {
        let expected = if h["sni"] == "c.other.test" {
            "other"
        } else {
            "example"
        };
        assert_eq!(h["certificate"], expected, "{h}");
        assert_eq!(h["configured"], true);
    }
    // What mtls demands: admin without a client certificate gets no session.
    let checks: Vec<_> = scenarios
        .iter()
        .filter(|s| s["group"] == "client-auth")
        .collect();
    // Its name as configured and in capitals, over TCP and over QUIC.
    assert_eq!(checks.len(), 4, "{checks:?}");
    for check in &checks {
        assert!(
            ["admin.example.test", "ADMIN.EXAMPLE.TEST"].contains(&check["sni"].as_str().unwrap()),
            "{check}"
        );
        assert_eq!(check["result"], "pass", "{check}");
    }
    assert_eq!(
        checks.iter().filter(|c| c["version"] == "HTTP/3").count(),
        2
    );
    // The skipped side: without the client certificate, admin's connection is refused at
    // TLS and its scenarios are skipped, not failed.
    let dir = running.dir.clone();
    let mut options = Options::new(&dir.join("server.toml"), addr);
    options.ca = Some(dir.join("ca.pem"));
    let report = tokio::task::spawn_blocking(move || run(&options))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.exit_code(), 0, "{}", report.text());
    let skipped: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::Skip)
        .collect();
    assert!(!skipped.is_empty());
    assert!(
        skipped
            .iter()
            .all(|r| r.scenario.sni.as_deref() == Some("admin.example.test")
                || matches!(r.got, misdirect_probe::Got::NotSent(_))),
        "{}",
        report.text()
    );
    // --only two groups, with a JUnit report beside the lines; an unknown group is refused.
    let dir = running.dir.clone();
    let junit = dir.join("probe.xml");
    let only = |groups: &'static str, junit: PathBuf| {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_misdirect-probe"))
                .arg("--config")
                .arg(dir.join("server.toml"))
                .args(["--connect", &addr.to_string(), "--only", groups, "--json"])
                .arg("--insecure-ca")
                .arg(dir.join("ca.pem"))
                .arg("--junit")
                .arg(junit)
                .output()
                .expect("the probe binary runs")
        })
    };
    let output = only("malformed,framing", junit.clone()).await.unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let groups: BTreeSet<&str> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["group"].as_str().unwrap())
        .collect();
    assert_eq!(groups, BTreeSet::from(["framing", "malformed"]));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), 2, "{xml}");
    assert_eq!(
        xml.matches("<testcase ").count(),
        report["scenarios"].as_array().unwrap().len()
    );
    let output = only("malformed,nope", dir.join("unused.xml"))
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no group \"nope\""));
    std::fs::remove_dir_all(&running.dir).unwrap();
}
