//! End to end over QUIC: the example server (examples/server.rs, included here) with its HTTP/3
//! listener on a loopback UDP port, driven by a real HTTP/3 client (quinn, h3, h3-quinn). The
//! listener is the alternative service of the TCP origin: requests name the TCP port.
//! Every test starts its own server and ends within a bounded time.

#[path = "../examples/server.rs"]
mod server;

#[path = "common/h3_client.rs"]
mod h3_client;

use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use hyper::StatusCode;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use h3_client::{
    bounded, client_config, get, h3, handshake, headers_frame, request, start, try_get,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h3_coalesced_requests_are_served_and_foreign_ones_get_421() {
    bounded(async {
        let running = start().await;
        let port = running.addr.port();
        let quic = handshake(&running, "a.example.test", client_config(&running, false)).await;
        let mut conn = h3(quic).await;
        let site_a = format!("https://a.example.test:{port}/");

        let (status, body) = get(&mut conn, &site_a).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.starts_with("hello from site a over HTTP/3"), "{body}");
        assert!(
            body.contains("sni a.example.test, certificate example, policy public"),
            "{body}"
        );

        // b: the same certificate and policy: coalescing works over HTTP/3 too.
        let (status, body) = get(&mut conn, &format!("https://b.example.test:{port}/")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.starts_with("hello from site b over HTTP/3"), "{body}");

        // c.other.test: the certificate shown does not cover it.
        let (status, body) = get(&mut conn, &format!("https://c.other.test:{port}/")).await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{body}");
        assert_eq!(
            body,
            "421 Misdirected Request\nrule 4 (certificate): this connection's certificate does not cover the host\n"
        );
        // The connection still serves.
        let (status, _) = get(&mut conn, &site_a).await;
        assert_eq!(status, StatusCode::OK);

        // admin: covered by the certificate, but this handshake asked for no client
        // certificate (policy public, not mtls).
        let (status, body) =
            get(&mut conn, &format!("https://admin.example.test:{port}/")).await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{body}");
        assert!(body.contains("rule 6 (SNI)"), "{body}");
        let (status, _) = get(&mut conn, &site_a).await;
        assert_eq!(status, StatusCode::OK);

        // legacy: the certificate covers it, its policy is another one.
        let (status, body) =
            get(&mut conn, &format!("https://legacy.example.test:{port}/")).await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{body}");
        assert!(body.contains("rule 6 (SNI)"), "{body}");
        let (status, body) = get(&mut conn, &format!("https://B.EXAMPLE.TEST.:{port}/")).await;
        assert_eq!(status, StatusCode::OK, "{body}");

        // The client's retry of c on a connection of its own is served.
        let quic = handshake(&running, "c.other.test", client_config(&running, false)).await;
        let mut fresh = h3(quic).await;
        let (status, body) = get(&mut fresh, &format!("https://c.other.test:{port}/")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("certificate other"), "{body}");

        // Every answer is in the log, with its connection's SNI.
        let log = running.log.entries();
        assert!(log.iter().all(|e| e.version == "HTTP/3"), "{log:?}");
        let statuses: Vec<(&str, u16)> = log.iter().map(|e| (e.sni.as_str(), e.status)).collect();
        assert_eq!(
            statuses,
            [
                ("a.example.test", 200),
                ("a.example.test", 200),
                ("a.example.test", 421),
                ("a.example.test", 200),
                ("a.example.test", 421),
                ("a.example.test", 200),
                ("a.example.test", 421),
                ("a.example.test", 200),
                ("c.other.test", 200),
            ]
        );
    })
    .await;
}

/// The listener is the origin's alternative service (RFC 7838 §2): it serves the TCP origin's
/// port, and its own UDP port is no origin it serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h3_alternative_serves_the_origins_port_and_refuses_its_own() {
    bounded(async {
        let running = start().await;
        let (tcp, udp) = (running.addr.port(), running.h3.addr.port());
        assert_ne!(tcp, udp);
        let quic = handshake(&running, "a.example.test", client_config(&running, false)).await;
        let mut conn = h3(quic).await;

        let (status, body) = get(&mut conn, &format!("https://a.example.test:{tcp}/")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = get(&mut conn, &format!("https://a.example.test:{udp}/")).await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{body}");
        assert!(body.contains("rule 3 (port)"), "{body}");
        // Nor the default port, which this server does not serve.
        let (status, body) = get(&mut conn, "https://a.example.test/").await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{body}");
        let (status, body) = get(&mut conn, &format!("https://b.example.test:{tcp}/")).await;
        assert_eq!(status, StatusCode::OK, "{body}");

        // The TCP origin advertises this alternative.
        let alt_svc = {
            let stream = tokio::net::TcpStream::connect(running.addr).await.unwrap();
            let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates({
                let mut roots = rustls::RootCertStore::empty();
                roots
                    .add(CertificateDer::from_pem_slice(running.pki.ca.as_bytes()).unwrap())
                    .unwrap();
                roots
            })
            .with_no_client_auth();
            tls.alpn_protocols = vec![b"http/1.1".to_vec()];
            let name = rustls::pki_types::ServerName::try_from("a.example.test").unwrap();
            let mut stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
                .connect(name, stream)
                .await
                .unwrap();
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let request = format!(
                "GET / HTTP/1.1\r\nHost: a.example.test:{tcp}\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut reply = Vec::new();
            stream.read_to_end(&mut reply).await.ok();
            String::from_utf8_lossy(&reply).into_owned()
        };
        assert!(
            alt_svc.contains(&format!("alt-svc: h3=\":{udp}\"; ma=3600\r\n")),
            "{alt_svc}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h3_one_udp_port_gives_each_sni_its_policy() {
    bounded(async {
        let running = start().await;
        let port = running.addr.port();
        let admin = format!("https://admin.example.test:{port}/");

        // admin's handshake runs under mtls on the same UDP port, and checks the certificate.
        let with_cert = client_config(&running, true);
        let quic = handshake(&running, "admin.example.test", with_cert.clone()).await;
        let mut conn = h3(quic).await;
        let (status, body) = get(&mut conn, &admin).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            body.contains("site admin over HTTP/3")
                && body.contains("policy mtls")
                && body.contains("client certificate yes")
                && body.contains("resumed no"),
            "{body}"
        );
        // A public site on the mtls connection is refused the other way round.
        let (status, body) = get(&mut conn, &format!("https://b.example.test:{port}/")).await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{body}");

        // The same client again: rustls resumes the session it was given, and the resumed
        // connection reports the policy it was made under.
        let quic = handshake(&running, "admin.example.test", with_cert).await;
        let mut resumed = h3(quic).await;
        let (status, body) = get(&mut resumed, &admin).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            body.contains("resumed yes") && body.contains("policy mtls"),
            "{body}"
        );

        // legacy's handshake runs under its own policy.
        let quic = handshake(
            &running,
            "legacy.example.test",
            client_config(&running, false),
        )
        .await;
        let mut conn = h3(quic).await;
        let (status, body) = get(&mut conn, &format!("https://legacy.example.test:{port}/")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("policy legacy"), "{body}");

        // Without a client certificate the admin handshake completes on the client's side
        // (its last flight is not answered before `connect` returns), and the first request
        // fails: the server refused the handshake.
        let quic = handshake(
            &running,
            "admin.example.test",
            client_config(&running, false),
        )
        .await;
        let refused = async {
            let (mut driver, mut send) = h3::client::new(h3_quinn::Connection::new(quic))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(async move { poll_fn(|cx| driver.poll_close(cx)).await });
            let mut stream = send
                .send_request(http::Request::get(&admin).body(()).unwrap())
                .await
                .map_err(|e| e.to_string())?;
            stream.finish().await.map_err(|e| e.to_string())?;
            stream
                .recv_response()
                .await
                .map(|r| r.status())
                .map_err(|e| e.to_string())
        };
        let outcome = refused.await;
        assert!(
            outcome.is_err(),
            "served without a client certificate: {outcome:?}"
        );
    })
    .await;
}

/// RFC 9114 §4.3.1: "If both fields are present, they MUST contain the same value." The h3
/// client refuses to send such a request (it closes its own connection), so this one is
/// written on a raw stream of the same QUIC connection. h3's server finds it malformed before
/// any `http::Request` exists and, as RFC 9114 §4.1.2 requires, treats it as a stream error
/// H3_MESSAGE_ERROR: the stream is reset, no response is sent (the 400 the RFC allows before
/// the reset is h3's to send, and it does not), and the layer never sees it. The connection
/// goes on serving. A second `Host` line that differs passes h3 (it compares the first) and
/// reaches the layer, which answers 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h3_authority_and_host_must_be_byte_identical() {
    bounded(async {
        let running = start().await;
        let port = running.addr.port();
        let quic = handshake(&running, "a.example.test", client_config(&running, false)).await;
        let mut conn = h3(quic).await;
        let site_a = format!("https://a.example.test:{port}/");
        let (status, _) = get(&mut conn, &site_a).await;
        assert_eq!(status, StatusCode::OK);

        let authority = format!("a.example.test:{port}");
        let differing = [
            format!("A.EXAMPLE.TEST:{port}"),
            format!("b.example.test:{port}"),
            "a.example.test".to_string(),
        ];
        for host in &differing {
            let (mut send, mut recv) = conn.quic.open_bi().await.unwrap();
            send.write_all(&headers_frame(&authority, &[host]))
                .await
                .unwrap();
            send.finish().unwrap();
            let outcome = recv.read_to_end(4096).await;
            match outcome {
                Err(quinn::ReadToEndError::Read(quinn::ReadError::Reset(code))) => {
                    assert_eq!(code.into_inner(), 0x10e, "H3_MESSAGE_ERROR for Host {host}");
                }
                other => panic!("Host {host}: expected a reset, got {other:?}"),
            }
            let (status, _) = get(&mut conn, &site_a).await;
            assert_eq!(status, StatusCode::OK, "the connection still serves");
        }

        // The same bytes in both fields: served (the control for the frame above).
        let (mut send, mut recv) = conn.quic.open_bi().await.unwrap();
        send.write_all(&headers_frame(&authority, &[&authority]))
            .await
            .unwrap();
        send.finish().unwrap();
        let reply = recv.read_to_end(4096).await.expect("a response");
        assert!(!reply.is_empty());

        // A second, differing Host line: h3 passes it, the layer refuses it.
        let (status, body) = request(
            &mut conn,
            &site_a,
            &[("host", &authority), ("host", "evil.example")],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("rule 1"), "{body}");
        let (status, _) = get(&mut conn, &site_a).await;
        assert_eq!(status, StatusCode::OK);

        // Host alone, no :authority: h3 takes it as the authority; served.
        let (status, body) = request(
            &mut conn,
            "/",
            &[("host", &format!("b.example.test:{port}"))],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("site b"), "{body}");

        let log = running.log.entries();
        let answered: Vec<u16> = log.iter().map(|e| e.status).collect();
        // The three resets never reached the service stack; the raw control did.
        assert_eq!(
            answered,
            [200, 200, 200, 200, 200, 400, 200, 200],
            "{log:?}"
        );
    })
    .await;
}

/// `server.toml` with one virtual host's block removed.
fn without_vhost(config: &str, name: &str) -> String {
    let start = config
        .find(&format!("[[vhosts]]\nname = \"{name}\""))
        .expect("the block");
    let end = config[start + 1..]
        .find("[[vhosts]]")
        .map_or(config.len(), |e| start + 1 + e);
    format!("{}{}", &config[..start], &config[end..])
}

/// Hostile review (issue 21), defect 1: the QUIC endpoint kept the first generation after
/// every reload. Here an HTTP/3 connection is open across two reloads. After the first (virtual
/// host b now under policy mtls, c removed), a new QUIC connection with SNI b and no client
/// certificate is refused and c is a 421; the old connection gets GOAWAY and is closed at the
/// grace plus the head timeout. After the second (a new CA, new server and client
/// certificates), new QUIC connections present the new certificate, are refused by a client
/// trusting only the old CA, and admin takes the new client certificate, not the old.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_under_an_open_h3_connection_moves_new_connections_and_retires_old_ones() {
    bounded(async {
        let running = h3_client::start_with(server::Options {
            grace: Some(Duration::from_millis(300)),
            head_timeout: Some(Duration::from_millis(700)),
            ..server::Options::default()
        })
        .await;
        let port = running.addr.port();
        let url = |host: &str| format!("https://{host}:{port}/");
        let old_pki = running.pki.clone();

        let mut old =
            h3(handshake(&running, "a.example.test", client_config(&running, false)).await).await;
        assert_eq!(
            get(&mut old, &url("b.example.test")).await.0,
            StatusCode::OK
        );
        let quic = handshake(&running, "c.other.test", client_config(&running, false)).await;
        let mut c = h3(quic).await;
        assert_eq!(get(&mut c, &url("c.other.test")).await.0, StatusCode::OK);

        // Generation 2: b requires a client certificate, c is gone.
        let toml = running.dir.join("server.toml");
        let config = std::fs::read_to_string(&toml).unwrap();
        let config = without_vhost(&config, "c").replace(
            "policy = \"public\"\nvalue = \"site b\"",
            "policy = \"mtls\"\nvalue = \"site b\"",
        );
        std::fs::write(&toml, config).unwrap();
        let report = running.reload().expect("generation 2 builds");
        assert!(report.contains("- virtual host \"c\""), "{report}");

        // New connections are generation 2's.
        let quic = handshake(&running, "b.example.test", client_config(&running, false)).await;
        let outcome = match h3_client::try_h3(quic).await {
            Ok(mut b) => try_get(&mut b, &url("b.example.test")).await,
            Err(e) => Err(e),
        };
        assert!(
            outcome.is_err(),
            "b served without a client certificate: {outcome:?}"
        );
        let quic = handshake(&running, "b.example.test", client_config(&running, true)).await;
        let mut b = h3(quic).await;
        let (status, body) = get(&mut b, &url("b.example.test")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("policy mtls"), "{body}");
        let quic = handshake(&running, "c.other.test", client_config(&running, false)).await;
        let mut c2 = h3(quic).await;
        assert_eq!(
            get(&mut c2, &url("c.other.test")).await.0,
            StatusCode::MISDIRECTED_REQUEST
        );

        // The old connections: asked to go (no new request is taken), then closed.
        for (name, conn) in [("a", &old), ("c", &c)] {
            let closed = tokio::time::timeout(Duration::from_secs(10), conn.quic.closed()).await;
            assert!(
                closed.is_ok(),
                "the old connection {name} is closed at the grace + head timeout"
            );
        }
        assert!(try_get(&mut old, &url("b.example.test")).await.is_err());

        // Generation 3: a fresh PKI.
        let fresh = server::generate_pki_with(&["*.example.test"]).unwrap();
        for (name, text) in server::FILES.iter().zip(server::pki_files(&fresh)) {
            std::fs::write(running.dir.join(name), text).unwrap();
        }
        running.reload().expect("generation 3 builds");
        let refused = h3_client::try_handshake(
            &running,
            "a.example.test",
            h3_client::client_config_for(&old_pki, false),
        )
        .await;
        assert!(
            refused.is_err(),
            "a client trusting only the old CA connected"
        );
        let quic = handshake(
            &running,
            "a.example.test",
            h3_client::client_config_for(&fresh, false),
        )
        .await;
        let presented = quic
            .peer_identity()
            .unwrap()
            .downcast::<Vec<CertificateDer<'static>>>()
            .unwrap();
        let expected = CertificateDer::from_pem_slice(fresh.example.0.as_bytes()).unwrap();
        assert_eq!(
            presented[0], expected,
            "the renewed certificate is presented"
        );
        // admin: the old client certificate (another CA) is refused, the new one served.
        let mut mixed = fresh.clone();
        mixed.client = old_pki.client.clone();
        let stale = h3_client::client_config_for(&mixed, true);
        let outcome = match h3_client::try_handshake(&running, "admin.example.test", stale).await {
            Ok(quic) => match h3_client::try_h3(quic).await {
                Ok(mut admin) => try_get(&mut admin, &url("admin.example.test")).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e.to_string()),
        };
        assert!(
            outcome.is_err(),
            "admin served to the replaced client certificate: {outcome:?}"
        );
        let quic = handshake(
            &running,
            "admin.example.test",
            h3_client::client_config_for(&fresh, true),
        )
        .await;
        let mut admin = h3(quic).await;
        let (status, body) = get(&mut admin, &url("admin.example.test")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    })
    .await;
}
