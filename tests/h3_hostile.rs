//! The example's HTTP/3 side facing a hostile client (hostile review, issue 21, defects 2 to 4):
//! raw QPACK on raw QUIC streams, each shape with a bound on what it may cost. Memory is read
//! off a counting allocator (every byte this process holds, client and server alike); time is
//! bounded by `bounded`, and every flood is bounded in size.

#[path = "../examples/server.rs"]
mod server;

#[path = "common/h3_client.rs"]
mod h3_client;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hyper::StatusCode;

use h3_client::{
    bounded, client_config, field_section, frame, get, h3, handshake, raw_exchange, start,
    status_of, varint,
};

/// Counts the bytes this process holds, and the most it held since the last `reset_peak`.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: this only forwards to `System` and counts; `unsafe` is what the trait requires.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        grew(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The most this process held above what it held before `f`, in bytes.
async fn peak_growth<F: Future>(f: F) -> (F::Output, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let out = f.await;
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(before))
}

const MIB: usize = 1 << 20;

/// H3_EXCESSIVE_LOAD and H3_MESSAGE_ERROR (RFC 9114 §8.1).
const EXCESSIVE_LOAD: u64 = 0x107;
const MESSAGE_ERROR: u64 = 0x10e;

/// A field line: name and value, as written.
type Field<'a> = (&'a [u8], &'a [u8]);

/// A client whose send buffer is small, so that what the counting allocator sees grow is the
/// server's, not the client's own queue.
fn lean_client(running: &server::Running) -> quinn::ClientConfig {
    let mut config = client_config(running, false);
    let mut transport = quinn::TransportConfig::default();
    transport.send_window(MIB as u64);
    config.transport_config(Arc::new(transport));
    config
}

/// Defect 2: h3 0.0.8 keeps the last of a repeated pseudo-header and never checks their order,
/// so the decision saw `:authority a` where the client sent `evil.invalid` first. Each shape is
/// refused as a stream error (RFC 9114 §4.1.2) before h3 folds it; the service never sees it;
/// the connection goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h3_repeated_or_misplaced_pseudo_headers_are_refused() {
    bounded(async {
        let running = start().await;
        let port = running.addr.port();
        let quic = handshake(&running, "a.example.test", client_config(&running, false)).await;
        let mut conn = h3(quic).await;
        let site_a = format!("https://a.example.test:{port}/");
        let authority = format!("a.example.test:{port}");
        let a = authority.as_bytes();
        let shapes: [(&str, Vec<Field>); 6] = [
            (
                "two :authority, the foreign one first",
                vec![
                    (b":method", b"GET"),
                    (b":scheme", b"https"),
                    (b":path", b"/"),
                    (b":authority", b"evil.invalid"),
                    (b":authority", a),
                ],
            ),
            (
                "two :scheme, http first",
                vec![
                    (b":method", b"GET"),
                    (b":scheme", b"http"),
                    (b":scheme", b"https"),
                    (b":path", b"/"),
                    (b":authority", a),
                ],
            ),
            (
                "a pseudo-header after a regular field",
                vec![
                    (b":method", b"GET"),
                    (b":scheme", b"https"),
                    (b":authority", a),
                    (b"user-agent", b"x"),
                    (b":path", b"/"),
                ],
            ),
            (
                "two :method",
                vec![
                    (b":method", b"CONNECT"),
                    (b":method", b"GET"),
                    (b":scheme", b"https"),
                    (b":path", b"/"),
                    (b":authority", a),
                ],
            ),
            (
                "two :path",
                vec![
                    (b":method", b"GET"),
                    (b":scheme", b"https"),
                    (b":path", b"/admin"),
                    (b":path", b"/"),
                    (b":authority", a),
                ],
            ),
            (
                "a response's :status in a request",
                vec![
                    (b":status", b"200"),
                    (b":method", b"GET"),
                    (b":scheme", b"https"),
                    (b":path", b"/"),
                    (b":authority", a),
                ],
            ),
        ];
        for (what, fields) in &shapes {
            let outcome = raw_exchange(&conn.quic, &frame(1, &field_section(fields))).await;
            assert_eq!(outcome.map(|r| status_of(&r)), Err(MESSAGE_ERROR), "{what}");
            let (status, _) = get(&mut conn, &site_a).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "the connection still serves after {what}"
            );
        }
        // The same fields once each, in order: served (the control).
        let good: Vec<Field> = vec![
            (b":method", b"GET"),
            (b":scheme", b"https"),
            (b":path", b"/"),
            (b":authority", a),
        ];
        let reply = raw_exchange(&conn.quic, &frame(1, &field_section(&good))).await;
        assert_eq!(reply.map(|r| status_of(&r)), Ok(Some(200)));
        let answered: Vec<u16> = running.log.entries().iter().map(|e| e.status).collect();
        assert_eq!(answered, [200; 7], "no refused shape reached the service");
    })
    .await;
}

/// Defect 3: a HEADERS frame of 25,032 octets, the pseudo-headers then 25,000 times `0xDD`
/// (static index 29, `accept: */*`), made h3 panic in `HeaderMap::with_capacity` ("size
/// overflows MAX_SIZE"). With a bounded field section it is a 431 (RFC 9114 §4.2.2), and the
/// connection goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h3_an_oversized_field_section_gets_431_not_a_panic() {
    bounded(async {
        let running = start().await;
        let port = running.addr.port();
        let quic = handshake(&running, "a.example.test", client_config(&running, false)).await;
        let mut conn = h3(quic).await;
        let authority = format!("a.example.test:{port}");
        let mut block = field_section(&[(b":method", b"GET"), (b":scheme", b"https")]);
        block.extend_from_slice(&field_section(&[(b":path", b"/")])[2..]);
        block.extend_from_slice(&field_section(&[(b":authority", authority.as_bytes())])[2..]);
        block.extend(std::iter::repeat_n(0xdd, 25_000));
        let outcome = raw_exchange(&conn.quic, &frame(1, &block)).await;
        assert_eq!(outcome.map(|r| status_of(&r)), Ok(Some(431)));
        let (status, _) = get(&mut conn, &format!("https://{authority}/")).await;
        assert_eq!(status, StatusCode::OK);
    })
    .await;
}

/// Defect 4: h3 buffers a HEADERS frame whole, so one announcing 2^40 octets grew the server
/// by what the client sent (512 MiB in the review), on each of 100 streams at once. Now each
/// stream is refused at the frame's header (H3_EXCESSIVE_LOAD): twenty streams each sending
/// 2 MiB behind such a header leave the process at most 16 MiB above where it was (the client
/// included), and the connection goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h3_a_huge_headers_frame_is_refused_at_its_header() {
    bounded(async {
        let running = start().await;
        let port = running.addr.port();
        let quic = handshake(&running, "a.example.test", lean_client(&running)).await;
        let mut conn = h3(quic).await;
        const STREAMS: usize = 20;
        let (codes, growth) = peak_growth(async {
            let floods = (0..STREAMS).map(|_| {
                let quic = conn.quic.clone();
                tokio::spawn(async move {
                    let (mut send, mut recv) = quic.open_bi().await.expect("a stream");
                    let mut head = vec![0x01];
                    head.extend_from_slice(&varint(1 << 40));
                    let zeros = vec![0u8; 64 * 1024];
                    let mut written = send.write_all(&head).await;
                    // The server has the frame's header: it may refuse the stream now. Only a
                    // stream it has not refused by then floods (the client's send window,
                    // shared by its streams, would otherwise fill with the first streams'
                    // zeros before the last ones' headers left, and the test would measure the
                    // client).
                    let refused =
                        tokio::time::timeout(Duration::from_secs(10), send.stopped()).await;
                    if let Ok(Ok(Some(code))) = refused {
                        written = Err(quinn::WriteError::Stopped(code));
                    }
                    for _ in 0..32 {
                        if written.is_err() {
                            break;
                        }
                        written = send.write_all(&zeros).await;
                    }
                    let outcome = match written {
                        Err(quinn::WriteError::Stopped(code)) => {
                            match recv.read_to_end(4096).await {
                                Err(quinn::ReadToEndError::Read(quinn::ReadError::Reset(
                                    reset,
                                ))) if reset == code => Ok(code.into_inner()),
                                other => Err(format!("stopped with {code}, then {other:?}")),
                            }
                        }
                        other => Err(format!("the server took all 2 MiB: {other:?}")),
                    };
                    // Kept open until every flood is written: a stream that ends (its FIN)
                    // would end the connection, and the test, sooner than the server's memory.
                    (outcome, send)
                })
            });
            let mut codes = Vec::new();
            let mut open = Vec::new();
            for flood in floods.collect::<Vec<_>>() {
                let (code, send) = flood.await.unwrap();
                codes.push(code);
                open.push(send);
            }
            codes
        })
        .await;
        assert!(
            growth < 16 * MIB,
            "the process grew by {} MiB",
            growth / MIB
        );
        let expected: Vec<Result<u64, String>> = vec![Ok(EXCESSIVE_LOAD); STREAMS];
        assert_eq!(codes, expected);
        let (status, _) = get(&mut conn, &format!("https://a.example.test:{port}/")).await;
        assert_eq!(status, StatusCode::OK);
    })
    .await;
}

/// Defect 4's bound is per connection (`misdirect::bounded_transport` and the guard); what
/// one client holds is that times its share of connections, TCP and QUIC together. Past its
/// share, a QUIC connection is refused before any handshake and a TCP one closed at once; a
/// connection that ends frees its place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_has_a_bounded_share_of_connections() {
    bounded(async {
        let running = h3_client::start_with(server::Options {
            max_connections_per_client: Some(4),
            ..server::Options::default()
        })
        .await;
        let mut open = Vec::new();
        for _ in 0..4 {
            open.push(handshake(&running, "a.example.test", client_config(&running, false)).await);
        }
        let refused =
            h3_client::try_handshake(&running, "a.example.test", client_config(&running, false))
                .await;
        assert!(refused.is_err(), "a fifth connection was admitted");
        // TCP shares the count: closed before a byte of TLS.
        let mut tcp = tokio::net::TcpStream::connect(running.addr).await.unwrap();
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            tokio::io::AsyncReadExt::read(&mut tcp, &mut byte),
        )
        .await
        .expect("the server closes it");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        // One ends: a place is free again.
        let first = open.remove(0);
        first.close(0u32.into(), b"");
        let admitted = async {
            loop {
                if let Ok(quic) = h3_client::try_handshake(
                    &running,
                    "a.example.test",
                    client_config(&running, false),
                )
                .await
                {
                    return quic;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(20), admitted)
            .await
            .expect("a place is freed when a connection ends");
    })
    .await;
}
