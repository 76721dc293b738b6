//! End-to-end: the example HTTPS server (examples/server.rs, included here) on a loopback
//! ephemeral port, driven by real clients: hyper's HTTP/2 client over tokio-rustls, raw HTTP/1.1
//! over TLS, and curl. Every test starts its own server.

#[path = "../examples/server.rs"]
mod server;

#[path = "common/h3_client.rs"]
mod h3_client;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::StatusCode;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use server::{Options, Running};

use h3_client::{start, start_with};

/// A rustls client trusting the example CA, with or without its client certificate.
fn client_config(
    running: &Running,
    client_cert: bool,
    alpn: &[&[u8]],
) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(running.pki.ca.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = if client_cert {
        let (cert, key) = &running.pki.client;
        builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap()
    } else {
        builder.with_no_client_auth()
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

async fn tls(
    addr: SocketAddr,
    sni: &str,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(sni.to_string()).unwrap();
    TlsConnector::from(config).connect(name, tcp).await
}

async fn h2(stream: TlsStream<TcpStream>) -> SendRequest<Empty<Bytes>> {
    let (sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("HTTP/2 handshake");
    tokio::spawn(conn);
    sender
}

async fn get(sender: &mut SendRequest<Empty<Bytes>>, uri: &str) -> (StatusCode, String) {
    sender.ready().await.expect("connection still open");
    let request = hyper::Request::get(uri).body(Empty::new()).unwrap();
    let response = sender.send_request(request).await.expect("response");
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_coalesced_requests_are_served_and_foreign_ones_get_421() {
    let running = start().await;
    let port = running.addr.port();
    let config = client_config(&running, false, &[b"h2"]);
    let stream = tls(running.addr, "a.example.test", config.clone())
        .await
        .unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let mut conn = h2(stream).await;

    let (status, body) = get(&mut conn, &format!("https://a.example.test:{port}/")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.starts_with("hello from site a over HTTP/2"), "{body}");

    // b: covered by the same wildcard certificate, same policy: coalescing works.
    let (status, body) = get(&mut conn, &format!("https://b.example.test:{port}/")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.starts_with("hello from site b"), "{body}");

    // c.other.test: only the other certificate covers it.
    let (status, body) = get(&mut conn, &format!("https://c.other.test:{port}/")).await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{body}");
    assert_eq!(
        body,
        "421 Misdirected Request\nrule 4 (certificate): this connection's certificate does not cover the host\n"
    );
    assert!(
        !body.contains("c.other.test") && !body.contains("example"),
        "no echo: {body}"
    );

    // The connection survives the 421 (HTTP/2 refuses the stream, not the connection).
    let (status, _) = get(&mut conn, &format!("https://A.EXAMPLE.TEST.:{port}/")).await;
    assert_eq!(status, StatusCode::OK);

    // A wrong port is refused too.
    let (status, body) = get(&mut conn, "https://a.example.test:9/").await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);
    assert!(body.contains("rule 3 (port)"), "{body}");

    // The client retries c on a new connection with the right SNI: nothing is lost.
    let stream = tls(running.addr, "c.other.test", config).await.unwrap();
    let mut fresh = h2(stream).await;
    let (status, body) = get(&mut fresh, &format!("https://c.other.test:{port}/")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains("site c") && body.contains("certificate other"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_vhost_is_refused_on_a_connection_that_asked_for_no_client_certificate() {
    let running = start().await;
    let port = running.addr.port();
    let admin = format!("https://admin.example.test:{port}/");

    // a's handshake (policy public) never asked for a client certificate.
    let plain = client_config(&running, false, &[b"h2"]);
    let mut conn = h2(tls(running.addr, "a.example.test", plain.clone())
        .await
        .unwrap())
    .await;
    let (status, body) = get(&mut conn, &admin).await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{body}");
    assert!(body.contains("rule 6 (SNI)"), "{body}");

    // Even a client holding a certificate is refused on a connection made for a.
    let with_cert = client_config(&running, true, &[b"h2"]);
    let mut conn = h2(tls(running.addr, "a.example.test", with_cert.clone())
        .await
        .unwrap())
    .await;
    let (status, _) = get(&mut conn, &admin).await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);

    // Its own handshake asks for and checks the client certificate: 200.
    let mut conn = h2(tls(running.addr, "admin.example.test", with_cert)
        .await
        .unwrap())
    .await;
    let (status, body) = get(&mut conn, &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains("site admin") && body.contains("policy mtls"),
        "{body}"
    );
    assert!(body.contains("client certificate yes"), "{body}");
    // And a public site on the mtls connection is refused the other way round.
    let (status, _) = get(&mut conn, &format!("https://b.example.test:{port}/")).await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);

    // Without a client certificate, the admin handshake itself fails.
    let refused = async {
        let stream = tls(running.addr, "admin.example.test", plain).await?;
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .map_err(std::io::Error::other)?;
        tokio::spawn(conn);
        sender.ready().await.map_err(std::io::Error::other)?;
        let request = hyper::Request::get(&admin)
            .body(Empty::<Bytes>::new())
            .unwrap();
        sender
            .send_request(request)
            .await
            .map_err(std::io::Error::other)
    };
    assert!(
        refused.await.is_err(),
        "the mtls handshake must require a certificate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_session_reports_its_original_handshake() {
    let running = start().await;
    let port = running.addr.port();
    let admin = format!("https://admin.example.test:{port}/");
    let config = client_config(&running, true, &[b"h2"]);
    let mut first = h2(tls(running.addr, "admin.example.test", config.clone())
        .await
        .unwrap())
    .await;
    let (status, body) = get(&mut first, &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("resumed no"), "{body}");

    // Same client configuration: rustls offers the ticket it was given.
    let stream = tls(running.addr, "admin.example.test", config)
        .await
        .unwrap();
    let mut second = h2(stream).await;
    let (status, body) = get(&mut second, &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("resumed yes"), "{body}");
    assert!(
        body.contains("policy mtls") && body.contains("certificate example"),
        "{body}"
    );
    let (status, _) = get(&mut second, &format!("https://a.example.test:{port}/")).await;
    assert_eq!(
        status,
        StatusCode::MISDIRECTED_REQUEST,
        "mtls session stays mtls"
    );
}

/// HTTP/1.1 over TLS by hand: a 421 says `Connection: close`, and the server closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_connection_is_closed_after_a_421() {
    let running = start().await;
    let port = running.addr.port();
    let config = client_config(&running, false, &[b"http/1.1"]);
    let mut stream = tls(running.addr, "a.example.test", config).await.unwrap();
    // Two pipelined requests: the first is misdirected, so the second is never answered.
    let requests = format!(
        "GET / HTTP/1.1\r\nHost: c.other.test:{port}\r\n\r\nGET / HTTP/1.1\r\nHost: a.example.test:{port}\r\n\r\n"
    );
    stream.write_all(requests.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut reply))
        .await
        .expect("the server closes the connection")
        .ok();
    let reply = String::from_utf8_lossy(&reply);
    assert!(
        reply.starts_with("HTTP/1.1 421 Misdirected Request\r\n"),
        "{reply}"
    );
    assert!(reply.contains("connection: close\r\n"), "{reply}");
    assert_eq!(reply.matches("HTTP/1.1 ").count(), 1, "{reply}");
}

/// curl, the client users reach for: coalescing and domain fronting reproduced with
/// `--resolve`, `--connect-to` and a `Host` header, on HTTP/2 and HTTP/1.1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_reproduces_coalescing_and_fronting() {
    let running = start().await;
    let port = running.addr.port();
    let ca = running.dir.join("ca.pem");
    let curl = |args: Vec<String>| {
        let ca = ca.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let output = Command::new("curl")
                    .args(["-sS", "-i", "--max-time", "20", "--cacert"])
                    .arg(&ca)
                    .args(&args)
                    .output()
                    .expect("curl must be installed (.ci/run installs it)");
                assert!(output.status.success(), "curl {args:?}: {output:?}");
                String::from_utf8_lossy(&output.stdout).into_owned()
            })
            .await
            .unwrap()
        }
    };
    let resolve = format!("a.example.test:{port}:127.0.0.1");
    let url = format!("https://a.example.test:{port}/");
    for version in ["--http2", "--http1.1"] {
        let expect_line = if version == "--http2" {
            "HTTP/2 "
        } else {
            "HTTP/1.1 "
        };
        let ok = curl(vec![
            version.into(),
            "--resolve".into(),
            resolve.clone(),
            url.clone(),
        ])
        .await;
        assert!(ok.starts_with(&format!("{expect_line}200")), "{ok}");
        assert!(ok.contains("hello from site a"), "{ok}");

        // Coalescing: b's request on a's connection (SNI a, authority b).
        let coalesced = curl(vec![
            version.into(),
            "--resolve".into(),
            resolve.clone(),
            url.clone(),
            "-H".into(),
            format!("Host: b.example.test:{port}"),
        ])
        .await;
        assert!(
            coalesced.starts_with(&format!("{expect_line}200")),
            "{coalesced}"
        );
        assert!(coalesced.contains("hello from site b"), "{coalesced}");

        // Domain fronting: SNI a, authority c.other.test: 421.
        let fronted = curl(vec![
            version.into(),
            "--connect-to".into(),
            format!("a.example.test:{port}:127.0.0.1:{port}"),
            url.clone(),
            "-H".into(),
            format!("Host: c.other.test:{port}"),
        ])
        .await;
        assert!(
            fronted.starts_with(&format!("{expect_line}421")),
            "{fronted}"
        );
        assert!(fronted.contains("rule 4 (certificate)"), "{fronted}");
        if version == "--http1.1" {
            assert!(fronted.contains("connection: close"), "{fronted}");
        }
    }
    // The mtls site with curl's client certificate, then fronted from a.
    let admin = curl(vec![
        "--resolve".into(),
        format!("admin.example.test:{port}:127.0.0.1"),
        "--cert".into(),
        running.dir.join("client.pem").display().to_string(),
        "--key".into(),
        running.dir.join("client.key").display().to_string(),
        format!("https://admin.example.test:{port}/"),
    ])
    .await;
    assert!(
        admin.contains(" 200") && admin.contains("site admin"),
        "{admin}"
    );
    let fronted = curl(vec![
        "--resolve".into(),
        resolve,
        url,
        "-H".into(),
        format!("Host: admin.example.test:{port}"),
    ])
    .await;
    assert!(
        fronted.contains(" 421") && fronted.contains("rule 6 (SNI)"),
        "{fronted}"
    );
}

/// Reads one HTTP/1.1 response: its head, through the blank line, then as many body bytes as
/// its `Content-Length` says (none without one), all within ten seconds. The connection may stay
/// open afterwards, so reading to the end would wait for nothing.
async fn read_response(stream: &mut TlsStream<TcpStream>) -> (String, String) {
    let read = async {
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 4096];
        let mut more = async |bytes: &mut Vec<u8>| {
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(
                n > 0,
                "closed mid-response: {:?}",
                String::from_utf8_lossy(bytes)
            );
            bytes.extend_from_slice(&chunk[..n]);
        };
        let head_end = loop {
            if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            more(&mut bytes).await;
        };
        let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
        let length = head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, value)| {
                value.trim().parse().expect("Content-Length")
            });
        while bytes.len() < head_end + length {
            more(&mut bytes).await;
        }
        let body = String::from_utf8_lossy(&bytes[head_end..head_end + length]).into_owned();
        (head, body)
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("a response within ten seconds")
}

/// CONNECT asks for a tunnel, not for a site: the layer passes it on (`Verdict::NotOrigin`) and
/// the example, which opens no tunnels, answers 501 itself, over HTTP/1.1 and HTTP/2, and never
/// with a site's page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_gets_501_and_no_site_over_http1_and_http2() {
    let running = start().await;

    let config = client_config(&running, false, &[b"http/1.1"]);
    let mut stream = tls(running.addr, "a.example.test", config).await.unwrap();
    stream
        .write_all(
            b"CONNECT admin.example.test:443 HTTP/1.1\r\nHost: admin.example.test:443\r\n\r\n",
        )
        .await
        .unwrap();
    let (head, body) = read_response(&mut stream).await;
    assert!(
        head.starts_with("HTTP/1.1 501 Not Implemented\r\n"),
        "{head}{body}"
    );
    assert!(!body.contains("hello from"), "a site answered: {body}");

    let config = client_config(&running, false, &[b"h2"]);
    let mut conn = h2(tls(running.addr, "a.example.test", config).await.unwrap()).await;
    let exchange = async {
        conn.ready().await.expect("connection open");
        let request = hyper::Request::connect("admin.example.test:443")
            .body(Empty::new())
            .unwrap();
        let response = conn.send_request(request).await.expect("response");
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    };
    let (status, body) = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("a response within ten seconds");
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{body}");
    assert!(!body.contains("hello from"), "a site answered: {body}");
}

/// A client trusting several CAs (the PKI before and after a renewal), without client
/// certificate.
fn client_trusting(cas: &[&str]) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in cas {
        roots
            .add(CertificateDer::from_pem_slice(ca.as_bytes()).unwrap())
            .unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

/// Issue 13's end-to-end reload: an HTTP/2 connection open across a reload that removes a
/// virtual host and renews the certificate with other SANs keeps its generation's decisions
/// for the request in flight, is asked to go (GOAWAY), and a new connection gets the new
/// certificate and the new decisions. A broken file on reload changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_under_an_open_connection_drains_it_and_serves_the_new_generation() {
    let running = start().await;
    let port = running.addr.port();
    let url = |host: &str, path: &str| format!("https://{host}:{port}{path}");
    let client = client_trusting(&[&running.pki.ca]);
    let stream = tls(running.addr, "a.example.test", client).await.unwrap();
    let (mut old, old_conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    let old_conn = tokio::spawn(old_conn);
    let (status, body) = get(&mut old, &url("b.example.test", "/")).await;
    assert_eq!(
        (status, body.contains("site b")),
        (StatusCode::OK, true),
        "{body}"
    );

    // A request in flight across the reload: decided by generation 1, answered after it.
    let mut in_flight = old.clone();
    let slow = url("b.example.test", "/slow");
    let in_flight = tokio::spawn(async move { get(&mut in_flight, &slow).await });
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Generation 2: virtual host b removed, `fresh` added, the certificate renewed by another
    // CA with other SANs.
    let renewed = server::generate_pki_with(&[
        "a.example.test",
        "admin.example.test",
        "fresh.example.test",
        "legacy.example.test",
    ])
    .unwrap();
    for (name, text) in server::FILES.iter().zip(server::pki_files(&renewed)) {
        if !name.starts_with("other") {
            std::fs::write(running.dir.join(name), text).unwrap();
        }
    }
    let toml = running.dir.join("server.toml");
    let config = std::fs::read_to_string(&toml).unwrap();
    let config = config
        .replace(
            "name = \"b\"\nnames = [\"b.example.test\"]",
            "name = \"fresh\"\nnames = [\"fresh.example.test\"]",
        )
        .replace("value = \"site b\"", "value = \"site fresh\"");
    std::fs::write(&toml, config).unwrap();
    let report = running.reload().expect("generation 2 builds");
    assert!(report.starts_with("generation 2"), "{report}");
    for line in [
        "+ virtual host \"fresh\" (fresh.example.test)",
        "- virtual host \"b\" (b.example.test)",
        "~ certificate \"example\": + SAN DNS:a.example.test",
        "~ certificate \"example\" renewed: [DNS:*.example.test] -> [DNS:a.example.test, DNS:admin.example.test, DNS:fresh.example.test, DNS:legacy.example.test]",
    ] {
        assert!(report.contains(line), "{line:?} not in\n{report}");
    }

    // The request in flight completes, served by generation 1's virtual host b.
    let (status, body) = tokio::time::timeout(Duration::from_secs(5), in_flight)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (status, body.contains("site b")),
        (StatusCode::OK, true),
        "{body}"
    );
    // The old connection was asked to go: GOAWAY, then the connection ends by itself.
    tokio::time::timeout(Duration::from_secs(5), old_conn)
        .await
        .expect("the old connection is drained")
        .unwrap()
        .expect("closed cleanly by GOAWAY");
    assert!(
        old.ready().await.is_err(),
        "no new request on a drained connection"
    );

    // A new connection gets the renewed certificate and generation 2's decisions.
    let client = client_trusting(&[&renewed.ca]);
    let stream = tls(running.addr, "a.example.test", client.clone())
        .await
        .unwrap();
    let presented = stream.get_ref().1.peer_certificates().unwrap()[0].clone();
    let sans: Vec<String> = misdirect::certificate_sans(&presented)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        sans,
        [
            "DNS:a.example.test",
            "DNS:admin.example.test",
            "DNS:fresh.example.test",
            "DNS:legacy.example.test"
        ]
    );
    let mut new = h2(stream).await;
    let (status, body) = get(&mut new, &url("fresh.example.test", "/")).await;
    assert_eq!(
        (status, body.contains("site fresh")),
        (StatusCode::OK, true),
        "{body}"
    );
    let (status, _) = get(&mut new, &url("b.example.test", "/")).await;
    assert_eq!(
        status,
        StatusCode::MISDIRECTED_REQUEST,
        "b is gone, and not covered"
    );

    // A broken file: the reload fails, names the file and line, and generation 2 keeps serving.
    std::fs::write(&toml, "policies = [\"public\"\n[[vhosts]]\n").unwrap();
    let error = running.reload().unwrap_err().to_string();
    assert!(
        error.contains("server.toml") && error.contains("line"),
        "{error}"
    );
    assert_eq!(running.sites.current().number(), 2);
    let (status, body) = get(&mut new, &url("fresh.example.test", "/")).await;
    assert_eq!(
        (status, body.contains("site fresh")),
        (StatusCode::OK, true),
        "{body}"
    );
    let stream = tls(running.addr, "a.example.test", client).await.unwrap();
    let mut newest = h2(stream).await;
    let (status, _) = get(&mut newest, &url("fresh.example.test", "/")).await;
    assert_eq!(status, StatusCode::OK);
}

/// Hostile review (issue 21), defect 9: a client that sent five bytes of a request head before
/// two reloads, then one byte at a time, kept generation 1 (its keys, its configuration)
/// alive for as long as it trickled. Now a head has the head timeout to arrive, a retired
/// generation's connections (TCP and QUIC) are closed at the grace plus the head timeout, and
/// generation 1 is freed while the trickle still has most of its bytes to send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_generation_is_freed_while_a_client_trickles() {
    let running = start_with(Options {
        grace: Some(Duration::from_millis(300)),
        head_timeout: Some(Duration::from_millis(700)),
        ..Options::default()
    })
    .await;
    let port = running.addr.port();
    let first = Arc::downgrade(&running.sites.current());
    let stream = tls(
        running.addr,
        "a.example.test",
        client_config(&running, false, &[b"http/1.1"]),
    )
    .await
    .unwrap();
    let (mut reader, mut writer) = tokio::io::split(stream);
    writer.write_all(b"GET /").await.unwrap();
    // And over QUIC: a connection of generation 1 with a request head half sent.
    let quic = h3_client::handshake(
        &running,
        "a.example.test",
        h3_client::client_config(&running, false),
    )
    .await;
    let (mut send, _recv) = quic.open_bi().await.unwrap();
    send.write_all(&[0x01, 0x40]).await.unwrap();

    running.reload().expect("generation 2");
    running.reload().expect("generation 3");
    let rest = format!(
        " HTTP/1.1\r\nHost: a.example.test:{port}\r\nX-Pad: {}\r\n\r\n",
        "x".repeat(40)
    );
    let trickle = tokio::spawn(async move {
        let mut sent = 0;
        for byte in rest.bytes() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if writer.write_all(&[byte]).await.is_err() {
                break;
            }
            sent += 1;
        }
        (sent, rest.len())
    });
    // The server ends the TCP connection: end of stream or an error, with no response.
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), reader.read_to_end(&mut answer))
        .await
        .expect("the server closes the trickling connection");
    let _ = tokio::time::timeout(Duration::from_secs(30), quic.closed())
        .await
        .expect("the server closes the QUIC connection");
    let freed = async {
        while first.upgrade().is_some() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), freed)
        .await
        .expect("generation 1 is freed");
    // The trickle stops at its first write after the close.
    let (sent, all) = tokio::time::timeout(Duration::from_secs(30), trickle)
        .await
        .expect("the trickle stops")
        .unwrap();
    assert!(
        sent < all / 2,
        "generation 1 lived until {sent} of the trickle's {all} bytes were sent"
    );
    assert!(
        !String::from_utf8_lossy(&answer).contains("200 OK"),
        "a head that never completed was served"
    );
}

/// Hostile review (issue 21), defect 5: the example's request log kept every request: 8,000
/// refused requests with 12 KiB paths held 93 MiB. It keeps the last entries, with their texts
/// cut, whatever the clients send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_log_is_bounded() {
    let running = start().await;
    let port = running.addr.port();
    let stream = tls(
        running.addr,
        "a.example.test",
        client_config(&running, false, &[b"h2"]),
    )
    .await
    .unwrap();
    let mut sender = h2(stream).await;
    let path = "/".to_string() + &"p".repeat(12 * 1024);
    for _ in 0..2_000 {
        let (status, _) = get(&mut sender, &format!("https://c.other.test:{port}{path}")).await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);
    }
    let entries = running.log.entries();
    assert!(entries.len() <= 1024, "{} entries kept", entries.len());
    let held: usize = entries
        .iter()
        .map(|e| e.path.len() + e.authority.len())
        .sum();
    assert!(held <= 1024 * 600, "{held} octets of text held");
    assert!(entries.iter().all(|e| e.status == 421));
}
