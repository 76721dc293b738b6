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
