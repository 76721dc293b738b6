//! `misdirect-probe`'s client against hostile servers: a server under test may be broken or
//! malicious, and the probe must end, with bounded memory, whatever it sends.
//!
//! Each server is a thread on 127.0.0.1 speaking TLS (rustls, a certificate from rcgen) and
//! then doing one hostile thing: a CONTINUATION flood, HPACK amplification, a dynamic table
//! size update above what the probe advertised, a PING flood, a SETTINGS flood, a frame
//! header announcing 16 MiB, a body that never ends, `100 Continue` every 250 ms, a TLS
//! record header followed by one byte a second. Every server stops by itself: a bounded
//! number of frames or bytes, and socket timeouts.
//!
//! Each probe call is measured on the calling thread: the time it takes, against a ceiling of
//! its deadline plus 5 s (a bound, not a benchmark), and the peak of the bytes it holds
//! allocated, under a counting global allocator, against 8 MiB.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use misdirect_probe::client::{Dialer, http1_exchange};
use misdirect_probe::h2::{
    CONTINUATION, DATA, END_HEADERS, END_STREAM, HEADERS, Http2, PING, SETTINGS, read_frame,
    write_frame,
};
use misdirect_probe::{Answer, Got, Options, Outcome, run};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

#[path = "common/bounded.rs"]
mod bounded;
use bounded::{DEADLINE, LIVE, PEAK, bounded, bounded_by};

/// The counter is not vacuous: what a call holds at once is seen at its peak, and what it
/// freed is no longer counted.
#[test]
fn the_counting_allocator_sees_what_a_call_holds() {
    let held = bounded("1 MiB", || {
        vec![1u8; 1 << 20]
            .iter()
            .map(|b| usize::from(*b))
            .sum::<usize>()
    });
    assert_eq!(held, 1 << 20);
    let start = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(start));
    let v = std::hint::black_box(vec![0u8; 3 << 20]);
    drop(v);
    assert!(PEAK.with(Cell::get) - start >= 3 << 20);
    assert!(LIVE.with(Cell::get) - start < 1 << 10);
}

// ---- The hostile servers ----

/// How long any server or its connections go on, at most.
const SERVER_LIFE: Duration = Duration::from_secs(20);

/// The name the probe sends as SNI and `:authority`.
const NAME: &str = "a.example.test";

/// A self-signed certificate for [`NAME`], made once.
fn identity() -> &'static (CertificateDer<'static>, Vec<u8>) {
    static IDENTITY: OnceLock<(CertificateDer<'static>, Vec<u8>)> = OnceLock::new();
    IDENTITY.get_or_init(|| {
        let key = rcgen::generate_simple_self_signed(vec![NAME.to_string()]).unwrap();
        (key.cert.der().clone(), key.signing_key.serialize_der())
    })
}

fn server_config(alpn: &[&[u8]]) -> Arc<ServerConfig> {
    let (cert, key) = identity();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.clone())),
        )
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// A listener on 127.0.0.1 that hands each of at most `conns` connections to `behave` on a
/// thread of its own, accepting for at most [`SERVER_LIFE`].
fn spawn(conns: usize, behave: impl Fn(TcpStream) + Send + Sync + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let behave = Arc::new(behave);
    thread::spawn(move || {
        let began = Instant::now();
        let mut accepted = 0;
        while accepted < conns && began.elapsed() < SERVER_LIFE {
            match listener.accept() {
                Ok((tcp, _)) => {
                    accepted += 1;
                    let ready = tcp
                        .set_nonblocking(false)
                        .and_then(|()| tcp.set_read_timeout(Some(SERVER_LIFE)))
                        .and_then(|()| tcp.set_write_timeout(Some(SERVER_LIFE)));
                    if ready.is_ok() {
                        let behave = Arc::clone(&behave);
                        thread::spawn(move || behave(tcp));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    thread::sleep(Duration::from_millis(5));
                }
                Err(_) => break,
            }
        }
    });
    addr
}

type ServerTls = StreamOwned<ServerConnection, TcpStream>;

/// The server's side of a TLS handshake offering these ALPN protocols.
fn accept_tls(tcp: TcpStream, alpn: &[&[u8]]) -> Option<ServerTls> {
    let conn = ServerConnection::new(server_config(alpn)).ok()?;
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).ok()?;
    }
    Some(tls)
}

/// TLS with h2, the client's preface read, the server's (empty) SETTINGS sent, and the
/// client's frames read up to its request's HEADERS: the stream and its identifier.
fn accept_h2(tcp: TcpStream) -> Option<(ServerTls, u32)> {
    h2_server(accept_tls(tcp, &[b"h2"])?)
}

/// [`accept_h2`] after the TLS handshake.
fn h2_server(mut tls: ServerTls) -> Option<(ServerTls, u32)> {
    let mut preface = [0u8; 24];
    tls.read_exact(&mut preface).ok()?;
    write_frame(&mut tls, SETTINGS, 0, 0, &[]).ok()?;
    tls.flush().ok()?;
    for _ in 0..16 {
        let frame = read_frame(&mut tls).ok()?;
        if frame.kind == HEADERS {
            return Some((tls, frame.stream));
        }
    }
    None
}

/// Writes one frame and flushes it; false once the client is gone.
fn send(tls: &mut ServerTls, kind: u8, flags: u8, stream: u32, payload: &[u8]) -> bool {
    write_frame(tls, kind, flags, stream, payload)
        .and_then(|()| tls.flush())
        .is_ok()
}

/// Reads what the client still sends until it closes (or [`SERVER_LIFE`] passes), so the
/// server's last frames are not lost to a reset.
fn drain(tls: &mut ServerTls) {
    let mut sink = [0u8; 4096];
    while matches!(tls.read(&mut sink), Ok(n) if n > 0) {}
}

// ---- The probe's side ----

/// The dialer the tests use: [`DEADLINE`] per handshake.
fn dialer(addr: SocketAddr) -> Dialer {
    Dialer::new(addr, DEADLINE)
}

/// `GET /` over h2: the TLS handshake, the HTTP/2 preface and one exchange.
fn h2_get(addr: SocketAddr) -> io::Result<Answer> {
    let tls = dialer(addr)
        .tls(Some(NAME), &[b"h2"])
        .map_err(|e| io::Error::other(e.message))?;
    let mut conn = Http2::handshake(tls.stream)?;
    conn.exchange(
        &[
            (b":method", b"GET"),
            (b":scheme", b"https"),
            (b":authority", NAME.as_bytes()),
            (b":path", b"/"),
        ],
        true,
    )
}

/// A header block whose only field is `:status: 200` (static index 8).
const STATUS_200: u8 = 0x88;

// ---- Finding 6: a header block without end ----

/// HEADERS without END_HEADERS, then 2,048 CONTINUATION frames of 16 KiB (32 MiB): the probe
/// must refuse the block long before, not gather it.
#[test]
fn a_continuation_flood_is_cut_off() {
    let addr = spawn(1, |tcp| {
        let Some((mut tls, stream)) = accept_h2(tcp) else {
            return;
        };
        if !send(&mut tls, HEADERS, 0, stream, &[STATUS_200]) {
            return;
        }
        let fragment = vec![0u8; 16_384];
        for _ in 0..2048 {
            if !send(&mut tls, CONTINUATION, 0, stream, &fragment) {
                return;
            }
        }
    });
    let answer = bounded("CONTINUATION flood", || h2_get(addr));
    let e = answer.expect_err("a header block of 32 MiB is refused");
    assert!(e.to_string().contains("header block"), "{e}");
}

// ---- Frames past their bounds (bounded before the review too) ----

/// A frame header announcing 16 MiB - 1 octets, past SETTINGS_MAX_FRAME_SIZE, before a
/// response (a HEADERS frame) and after one (DATA after `:status 200`): refused unread both
/// times; after the status, the status stands (a 200 cut short is still served).
#[test]
fn a_frame_length_past_the_maximum_is_refused() {
    for after_status in [false, true] {
        let addr = spawn(1, move |tcp| {
            let Some((mut tls, stream)) = accept_h2(tcp) else {
                return;
            };
            if after_status && !send(&mut tls, HEADERS, END_HEADERS, stream, &[STATUS_200]) {
                return;
            }
            let kind = if after_status { DATA } else { HEADERS };
            let mut head = vec![0xff, 0xff, 0xff, kind, 0];
            head.extend_from_slice(&stream.to_be_bytes());
            if tls.write_all(&head).and_then(|()| tls.flush()).is_err() {
                return;
            }
            // Some of what it announced, then wait for the client to leave.
            let _ = tls.write_all(&vec![0u8; 1 << 20]);
            drain(&mut tls);
        });
        let answer = bounded("a 16 MiB frame header", || h2_get(addr));
        if after_status {
            assert_eq!(
                answer.unwrap(),
                Answer::Response {
                    status: 200,
                    body: Vec::new()
                }
            );
        } else {
            let e = answer.expect_err("a frame past 16,384 octets is refused");
            assert!(e.to_string().contains("SETTINGS_MAX_FRAME_SIZE"), "{e}");
        }
    }
}

/// A 200 whose body never ends: 2,048 DATA frames of 16 KiB (32 MiB) without END_STREAM. The
/// probe keeps 64 KiB of a body and must not hold the rest.
#[test]
fn a_body_without_end_is_bounded() {
    let addr = spawn(1, |tcp| {
        let Some((mut tls, stream)) = accept_h2(tcp) else {
            return;
        };
        if !send(&mut tls, HEADERS, END_HEADERS, stream, &[STATUS_200]) {
            return;
        }
        let data = vec![b'd'; 16_384];
        for _ in 0..2048 {
            if !send(&mut tls, DATA, 0, stream, &data) {
                return;
            }
        }
    });
    let answer = bounded("endless body", || h2_get(addr));
    // Either the server's end (closed) or the deadline: never a response.
    assert!(!matches!(answer, Ok(Answer::Response { .. })), "{answer:?}");
}

// ---- Finding 7: HPACK ----

/// RFC 7541 §5.1: an integer with an N-bit prefix.
fn hpack_int(out: &mut Vec<u8>, first: u8, prefix: u32, value: usize) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
}

/// One HEADERS frame (END_HEADERS, END_STREAM) carrying `block`, in answer to the request.
fn answer_with(block: Vec<u8>) -> impl Fn(TcpStream) + Send + Sync + 'static {
    move |tcp| {
        let Some((mut tls, stream)) = accept_h2(tcp) else {
            return;
        };
        if send(&mut tls, HEADERS, END_HEADERS | END_STREAM, stream, &block) {
            drain(&mut tls);
        }
    }
}

/// `:status 200`, a literal with incremental indexing that fills a 4,096-octet table
/// (2 + 4,062 + 32 octets), then index 62 until the block is 16 KiB: 12,316 fields, 47 MiB
/// decoded from a table the probe said must be empty.
#[test]
fn hpack_amplification_through_the_dynamic_table_is_refused() {
    let mut block = vec![STATUS_200, 0x40, 0x02, b'x', b'x'];
    hpack_int(&mut block, 0, 7, 4062);
    block.extend(std::iter::repeat_n(b'v', 4062));
    block.resize(16_384, 0xbe);
    let addr = spawn(1, answer_with(block));
    let answer = bounded("HPACK amplification (dynamic table)", || h2_get(addr));
    let e = answer.expect_err("index 62 of a table of size 0 is an error");
    assert!(e.to_string().contains("HPACK"), "{e}");
}

/// 16,384 times `:status 200` from the static table: 42 octets each as RFC 9113 §6.5.2
/// counts a header list, 688,128 in all, past the list size the probe advertised.
#[test]
fn a_header_list_past_the_advertised_size_is_refused() {
    let addr = spawn(1, answer_with(vec![STATUS_200; 16_384]));
    let answer = bounded("HPACK amplification (static table)", || h2_get(addr));
    let e = answer.expect_err("a header list of 688,128 octets is refused");
    assert!(e.to_string().contains("header list"), "{e}");
}

/// A dynamic table size update to 4,096 (RFC 7541 §6.3) when the probe advertised
/// SETTINGS_HEADER_TABLE_SIZE 0: "MUST be lower than or equal to" it (§4.2).
#[test]
fn a_table_size_update_above_the_advertised_size_is_refused() {
    let mut block = Vec::new();
    hpack_int(&mut block, 0x20, 5, 4096);
    block.push(STATUS_200);
    let addr = spawn(1, answer_with(block));
    let answer = bounded("table size update to 4,096", || h2_get(addr));
    let e = answer.expect_err("a size update past the advertised 0 is an error");
    assert!(e.to_string().contains("table size update"), "{e}");
}

/// A literal with incremental indexing then index 62: with a table of size 0 the literal adds
/// nothing (RFC 7541 §4.4), so index 62 names no entry.
#[test]
fn nothing_is_indexed_in_a_table_of_size_0() {
    let addr = spawn(
        1,
        answer_with(vec![0x40, 1, b'x', 1, b'y', 0xbe, STATUS_200]),
    );
    let answer = bounded("index 62 after an indexed literal", || h2_get(addr));
    let e = answer.expect_err("index 62 of an empty table is an error");
    assert!(e.to_string().contains("dynamic table"), "{e}");
}

// ---- Finding 8: a server that never finishes ----

/// `GET /` over HTTP/1.1: the TLS handshake and one exchange.
fn http1_get(addr: SocketAddr) -> io::Result<Answer> {
    let mut tls = dialer(addr)
        .tls(Some(NAME), &[b"http/1.1"])
        .map_err(|e| io::Error::other(e.message))?;
    http1_exchange(
        &mut tls.stream,
        format!("GET / HTTP/1.1\r\nHost: {NAME}\r\n\r\n").as_bytes(),
    )
}

/// A PING every 250 ms after the request, for 15 s: each one acknowledged used to keep the
/// probe reading.
#[test]
fn a_ping_flood_ends_at_the_deadline() {
    let addr = spawn(1, |tcp| {
        if let Some((tls, _)) = accept_h2(tcp) {
            ping_trickle(tls);
        }
    });
    let answer = bounded("PING flood", || h2_get(addr));
    assert!(answer.is_err(), "no answer is an error: {answer:?}");
}

/// A PING every 250 ms, for 15 s.
fn ping_trickle(mut tls: ServerTls) {
    for i in 0..60u64 {
        if !send(&mut tls, PING, 0, 0, &i.to_be_bytes()) {
            return;
        }
        thread::sleep(Duration::from_millis(250));
    }
}

/// Bursts of 32 SETTINGS frames every 100 ms, for 15 s: each one asks for an ACK.
#[test]
fn a_settings_flood_is_cut_off() {
    let addr = spawn(1, |tcp| {
        let Some((mut tls, _)) = accept_h2(tcp) else {
            return;
        };
        // SETTINGS_MAX_CONCURRENT_STREAMS = 100, again and again.
        let setting = [0, 3, 0, 0, 0, 100];
        for _ in 0..150 {
            for _ in 0..32 {
                if write_frame(&mut tls, SETTINGS, 0, 0, &setting).is_err() {
                    return;
                }
            }
            if tls.flush().is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
    });
    let answer = bounded("SETTINGS flood", || h2_get(addr));
    assert!(answer.is_err(), "no answer is an error: {answer:?}");
}

/// `HTTP/1.1 100 Continue` every 250 ms, for 15 s, and never a final response.
#[test]
fn a_100_continue_trickle_ends_at_the_deadline() {
    let addr = spawn(1, |tcp| {
        if let Some(tls) = accept_tls(tcp, &[b"http/1.1"]) {
            continue_trickle(tls);
        }
    });
    let answer = bounded("100 Continue trickle", || http1_get(addr));
    assert!(answer.is_err(), "no final response is an error: {answer:?}");
}

/// The request read, then `100 Continue` every 250 ms, for 15 s.
fn continue_trickle(mut tls: ServerTls) {
    let mut request = Vec::new();
    let mut chunk = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16_384 {
        match tls.read(&mut chunk) {
            Ok(n) if n > 0 => request.extend_from_slice(&chunk[..n]),
            _ => return,
        }
    }
    for _ in 0..60 {
        let sent = tls
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .and_then(|()| tls.flush());
        if sent.is_err() {
            return;
        }
        thread::sleep(Duration::from_millis(250));
    }
}

/// A TLS record header announcing 16 KiB, then one byte a second for 15 s: each byte came
/// within the per-read timeout, so the handshake never ended.
#[test]
fn a_tls_handshake_trickle_ends_at_the_deadline() {
    let addr = spawn(1, |mut tcp| {
        let mut hello = [0u8; 4096];
        if !matches!(tcp.read(&mut hello), Ok(n) if n > 0) {
            return;
        }
        // A handshake record of 16,384 octets, TLS 1.2 framing.
        if tcp.write_all(&[0x16, 0x03, 0x03, 0x40, 0x00]).is_err() {
            return;
        }
        for _ in 0..15 {
            thread::sleep(Duration::from_secs(1));
            if tcp.write_all(&[0x02]).is_err() {
                return;
            }
        }
    });
    let dialed = bounded("TLS handshake trickle", || {
        dialer(addr)
            .tls(Some(NAME), &[b"h2"])
            .map(|tls| tls.alpn)
            .map_err(|e| e.message)
    });
    assert!(dialed.is_err(), "no handshake is an error: {dialed:?}");
}

// ---- A whole run ----

/// Every connection answered with what never ends: over h2 a PING every 250 ms after the
/// request, over HTTP/1.1 `100 Continue` every 250 ms.
fn never_answer(tcp: TcpStream) {
    let Some(tls) = accept_tls(tcp, &[b"h2", b"http/1.1"]) else {
        return;
    };
    if tls.conn.alpn_protocol() == Some(b"h2") {
        if let Some((tls, _)) = h2_server(tls) {
            ping_trickle(tls);
        }
    } else {
        continue_trickle(tls);
    }
}

/// `run` against a server that answers nothing: its two discovery handshakes (the name and no
/// SNI) and each of its 4 scenarios end within the deadline, so the run within 6 deadlines
/// (and 5 s of slack), each scenario failed by a timeout.
#[test]
fn a_run_against_a_server_that_never_answers_ends_within_its_bound() {
    let addr = spawn(16, never_answer);
    let dir = std::env::temp_dir().join(format!("misdirect-probe-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
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
            names = ["{NAME}"]
            https_ports = [{port}]
            policy = "public"
            "#
        ),
    )
    .unwrap();
    let mut options = Options::new(&dir.join("server.toml"), addr);
    options.deadline = Duration::from_secs(1);
    options.max_requests = 4;
    let ceiling = options.deadline * (2 + 4) + Duration::from_secs(5);
    let report = bounded_by("a run of 4 scenarios", ceiling, || run(&options));
    std::fs::remove_dir_all(&dir).unwrap();
    let report = report.expect("the discovery handshakes succeed");
    assert_eq!(report.results.len(), 4, "{}", report.text());
    for result in &report.results {
        assert!(
            matches!(&result.got, Got::Error(why) if why.contains("timed out")),
            "{}",
            report.text()
        );
        assert_eq!(result.outcome, Outcome::Fail);
    }
    // Both kinds of connection were tried.
    assert!(report.results.iter().any(|r| r.scenario.shape.is_h2()));
    assert!(report.results.iter().any(|r| !r.scenario.shape.is_h2()));
}

/// The binary's `--help` states the bound with the deadline it uses.
#[test]
fn the_help_states_the_bound() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_misdirect-probe"))
        .arg("--help")
        .output()
        .expect("the probe binary runs");
    let text = String::from_utf8(output.stdout).unwrap();
    let d = misdirect_probe::DEADLINE.as_secs();
    assert!(text.contains(&format!("ends within {d} s")), "{text}");
    assert!(text.contains(&format!("(N + 1 + S) x {d} s")), "{text}");
}
