//! Hostile review of issue 21's fixes: what still gets through. Each test drives the example
//! server (examples/server.rs, included here) on loopback and fails on the branch it was written
//! against; its doc comment says what it shows.

#[path = "../examples/server.rs"]
mod server;

#[path = "common/h3_client.rs"]
mod h3_client;

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use h3_client::bounded;

/// The example's knobs in these tests: a retired generation is promised to be freed at
/// grace + head timeout = 1 s.
const GRACE: Duration = Duration::from_millis(300);
const HEAD: Duration = Duration::from_millis(700);
/// How long past grace + head timeout the tests wait before calling a generation leaked.
const SLACK: Duration = Duration::from_secs(4);

async fn start() -> server::Running {
    h3_client::start_with(server::Options {
        grace: Some(GRACE),
        head_timeout: Some(HEAD),
        ..server::Options::default()
    })
    .await
}

/// Waits until `generation` is freed or `within` has passed; whether it was freed.
async fn freed<T>(generation: &Weak<T>, within: Duration) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if generation.upgrade().is_none() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    generation.upgrade().is_none()
}

/// A QUIC client of the example's HTTP/3 listener with these transport settings; it runs no
/// HTTP/3 and never reads a stream the server opens (so it grants no more credit than the
/// initial one). quinn's keep-alive keeps the connection from idling out.
async fn raw_quic(
    running: &server::Running,
    transport: quinn::TransportConfig,
) -> (quinn::Endpoint, quinn::Connection) {
    let mut config = h3_client::client_config(running, false);
    config.transport_config(Arc::new(transport));
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(config);
    let quic = endpoint
        .connect(running.h3.addr, "a.example.test")
        .unwrap()
        .await
        .expect("QUIC handshake");
    (endpoint, quic)
}

fn keep_alive() -> quinn::TransportConfig {
    let mut transport = quinn::TransportConfig::default();
    transport.keep_alive_interval(Some(Duration::from_millis(500)));
    transport
}

/// QUIC, item 2 (defect 9 over HTTP/3): a client that allows the server no unidirectional
/// stream (transport parameter `initial_max_streams_uni` = 0, RFC 9000 §18.2) completes the
/// handshake, and the example then awaits `h3::server::builder().build(..)` with no deadline:
/// h3 cannot open its control stream, so the connection task never reaches the loop that
/// arms the GOAWAY and the grace + head timeout close. The client keeps the connection alive
/// with PINGs; generation 1 (its Server, acceptor, keys) lives as long as it likes, across any
/// number of reloads, and the connection is never closed. Fails now: generation 1 is still
/// alive grace + head timeout + 4 s after two reloads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review21_quic_client_without_uni_streams_keeps_a_retired_generation() {
    bounded(async {
        let running = start().await;
        let first = Arc::downgrade(&running.sites.current());
        let mut transport = keep_alive();
        transport.max_concurrent_uni_streams(0u32.into());
        let (_endpoint, quic) = raw_quic(&running, transport).await;

        running.reload().expect("generation 2");
        running.reload().expect("generation 3");
        let gone = freed(&first, GRACE + HEAD + SLACK).await;
        let closed = quic.close_reason();
        assert!(
            gone,
            "generation 1 still alive {:?} after it was retired (QUIC connection closed: {closed:?})",
            GRACE + HEAD + SLACK
        );
    })
    .await;
}

/// QUIC, item 2: the drain's GOAWAY is written with `h3.shutdown(0).await` inside the
/// `select!` arm, and only after it returns is the grace + head timeout close armed. A client
/// whose flow control admits the server's SETTINGS on the control stream and not one octet
/// more (it never reads that stream, so it grants no more credit) makes the GOAWAY write wait
/// for ever: the connection is neither GOAWAY'd nor closed, and generation 1 stays alive.
/// Fails now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review21_quic_goaway_blocked_by_flow_control_keeps_a_retired_generation() {
    bounded(async {
        let running = start().await;
        // How long the server's control stream is (stream type, SETTINGS), read off a
        // connection of a client that reads it.
        let settings = {
            let (_endpoint, quic) = raw_quic(&running, keep_alive()).await;
            let mut length = None;
            for _ in 0..4 {
                let mut recv = tokio::time::timeout(Duration::from_secs(5), quic.accept_uni())
                    .await
                    .expect("a server stream")
                    .expect("a server stream");
                let mut bytes = Vec::new();
                let mut buf = [0u8; 256];
                // Whatever arrives within 300 ms: the control stream is never finished.
                let end = Instant::now() + Duration::from_millis(300);
                while let Ok(Ok(Some(n))) =
                    tokio::time::timeout_at(end.into(), recv.read(&mut buf)).await
                {
                    bytes.extend_from_slice(&buf[..n]);
                }
                if bytes.first() == Some(&0x00) {
                    length = Some(bytes.len());
                    break;
                }
            }
            quic.close(0u32.into(), b"");
            length.expect("the server's control stream")
        };
        assert!(settings > 3, "{settings}");

        let first = Arc::downgrade(&running.sites.current());
        let mut transport = keep_alive();
        transport.stream_receive_window((settings as u32).into());
        let (_endpoint, quic) = raw_quic(&running, transport).await;
        // Let the server build its h3 connection (SETTINGS sent within the credit).
        tokio::time::sleep(Duration::from_millis(300)).await;

        running.reload().expect("generation 2");
        let gone = freed(&first, GRACE + HEAD + SLACK).await;
        let closed = quic.close_reason();
        assert!(
            gone,
            "generation 1 still alive {:?} after it was retired: the GOAWAY waits on a \
             control stream of {settings} octets of credit (QUIC connection closed: {closed:?})",
            GRACE + HEAD + SLACK
        );
    })
    .await;
}

/// TCP, item 2 and defect 9: the TLS handshake has a fixed 10 s deadline, not the grace + head
/// timeout that SPEC §4 and the example's docs promise ("a retired generation's connections
/// are closed at the grace plus the head timeout"). A client that sends half a ClientHello
/// before a reload and then nothing keeps generation 1 for 10 s whatever `--grace` and
/// `--head-timeout` say (here 0.3 s + 0.7 s). Fails now: generation 1 is still alive 5 s
/// after the reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review21_tcp_handshake_in_flight_outlives_grace_and_head_timeout() {
    bounded(async {
        let running = start().await;
        let first = Arc::downgrade(&running.sites.current());
        let mut tcp = tokio::net::TcpStream::connect(running.addr).await.unwrap();
        // A TLS record header announcing a 512-octet handshake message, then 5 octets of it.
        tcp.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03])
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        running.reload().expect("generation 2");
        running.reload().expect("generation 3");
        let gone = freed(&first, GRACE + HEAD + SLACK).await;
        assert!(
            gone,
            "generation 1 still alive {:?} after it was retired, held by a handshake in flight",
            GRACE + HEAD + SLACK
        );
        drop(tcp);
    })
    .await;
}

/// TLS resumption, item 3: resumed sessions that carry no resumption data to check (TLS 1.2
/// session ids and tickets over TCP; every QUIC session) are vouched for by the scope alone,
/// and the scope names the certificates presentable (ids and DER), not which one an SNI
/// selects. The selection follows the configuration's SAN lists, which TOML may give by
/// hand (`sans = [...]`). Here both DERs are unchanged across the rebuild, but the SAN list of
/// `alpha` (whose DER covers `a.example.test` and `c.other.test`) gains `c.other.test`: the
/// client was shown `beta` for SNI `c.other.test`, resumes its TLS 1.2 session after the
/// rebuild, and the acceptor reports `alpha`, a certificate this connection never presented,
/// whose SANs the decision then applies (`a.example.test` on it is served, rule 4 passes on a
/// certificate the client never saw). Over TLS 1.3 the same resumption is refused outright
/// (ForeignResumption: the connection fails instead of falling back to a full handshake).
/// Fails now: resumed, certificate `alpha`.
#[tokio::test]
async fn review21_tls12_resumption_reports_a_certificate_the_connection_never_presented() {
    use misdirect::{
        Acceptor, CertResolver, CertificateConfig, ClientAuth, Config, HttpRequest,
        ListenerConfig, PolicyTls, Server, VhostConfig,
    };
    use rustls::client::Tls12Resumption;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use rustls::server::{ProducesTickets, ServerSessionMemoryCache, StoresServerSessions};
    use rustls::sign::CertifiedKey;
    use tokio::io::AsyncReadExt;

    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let issue = |names: &[&str]| {
        let params =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();
        let signing = provider
            .key_provider
            .load_private_key(PrivateKeyDer::try_from(key.serialize_der()).unwrap())
            .unwrap();
        Arc::new(CertifiedKey::new(vec![cert.der().clone()], signing))
    };
    let alpha = issue(&["a.example.test", "c.other.test"]);
    let beta = issue(&["c.other.test"]);
    let store: Arc<dyn StoresServerSessions> = ServerSessionMemoryCache::new(64);
    let ticketer: Arc<dyn ProducesTickets> = rustls::crypto::ring::Ticketer::new().unwrap();

    // One build: `alpha`'s configured SANs, the rest fixed.
    let build = |alpha_sans: &[&str]| {
        let config = Config {
            policies: vec!["public".to_string()],
            certificates: vec![
                CertificateConfig::new("alpha", alpha_sans),
                CertificateConfig::new("beta", &["c.other.test"]),
            ],
            vhosts: vec![
                VhostConfig::new("a", &["a.example.test"], "public", "a"),
                VhostConfig::new("c", &["c.other.test"], "public", "c"),
            ],
            listeners: vec![ListenerConfig::new("tls", true, 443)],
            ..Config::default()
        };
        let server = Arc::new(Server::build(config).unwrap());
        let resolver = Arc::new(
            CertResolver::new(
                &server,
                [("alpha", alpha.clone()), ("beta", beta.clone())],
                Some("alpha"),
            )
            .unwrap(),
        );
        let listener = server.listener_id("tls").unwrap();
        let tls = PolicyTls::new(provider.clone(), ClientAuth::None)
            .with_versions(&[&rustls::version::TLS12])
            .with_session_storage(store.clone())
            .with_ticketer(ticketer.clone());
        let acceptor =
            Acceptor::new_declared(server.clone(), listener, resolver, "public", &tls).unwrap();
        (server, acceptor)
    };

    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(ca.der().to_vec())).unwrap();
    let mut client = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.resumption = client
        .resumption
        .tls12_resumption(Tls12Resumption::SessionIdOnly);
    let client = Arc::new(client);

    // One handshake with SNI c.other.test; the facts and the decision for a.example.test on it.
    let visit = |server: Arc<Server<&'static str>>, acceptor: Acceptor<&'static str>| {
        let client = client.clone();
        async move {
            let (near, far) = tokio::io::duplex(64 * 1024);
            let server_side = async {
                let (mut stream, facts) = acceptor.accept(far).await.unwrap();
                stream.write_all(b"x").await.unwrap();
                stream.flush().await.unwrap();
                let mut end = [0u8; 1];
                let _ = stream.read(&mut end).await;
                facts
            };
            let client_side = async {
                let name = ServerName::try_from("c.other.test").unwrap();
                let mut stream = tokio_rustls::TlsConnector::from(client)
                    .connect(name, near)
                    .await
                    .unwrap();
                let mut byte = [0u8; 1];
                stream.read_exact(&mut byte).await.unwrap();
                let presented = stream.get_ref().1.peer_certificates().map(|c| c[0].clone());
                let _ = stream.shutdown().await;
                presented
            };
            let (facts, presented) = tokio::join!(server_side, client_side);
            let certificate = server
                .certificate_name(facts.certificate)
                .unwrap()
                .to_string();
            let conn = server
                .connection(&facts.connection_facts(server.listener_id("tls").unwrap()))
                .unwrap();
            let request = http::Request::get("/")
                .version(http::Version::HTTP_11)
                .header("host", "a.example.test")
                .body(())
                .unwrap();
            let decided = server
                .decide(&conn, &HttpRequest::new(&request, &conn).request());
            let decided = matches!(decided, misdirect::Verdict::Serve(_));
            (facts.resumed, certificate, presented, decided)
        }
    };

    let (server, acceptor) = build(&["a.example.test"]);
    let (resumed, certificate, presented, _) = visit(server, acceptor).await;
    assert!(!resumed);
    assert_eq!(certificate, "beta");
    assert_eq!(presented.as_ref(), Some(&beta.cert[0]));

    // The rebuild: the same DERs under the same ids; alpha's SAN list now names c.other.test.
    let (server, acceptor) = build(&["a.example.test", "c.other.test"]);
    let (resumed, certificate, _, served) = visit(server, acceptor).await;
    assert!(
        !resumed || certificate == "beta",
        "the session made with beta resumed and is reported as {certificate} \
         (a.example.test on it served: {served})"
    );
}
