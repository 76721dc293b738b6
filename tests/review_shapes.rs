//! Review: request shapes hyper delivers that the layer hands to the service although they
//! must be refused.
//!
//! 1. HTTP/2 `:path` in absolute form (`https://admin.example.test/x`) beside `:authority
//!    a.example.test`: h2 0.4 stores any path bytes (`PathAndQuery` does not require a leading
//!    `/`), the layer decides on `:authority` alone and serves site a. RFC 9113 §8.3.1: for
//!    `http`/`https` `:path` is origin-form (or `*` for OPTIONS); such a request is malformed
//!    (§8.1.1: "MUST be treated as a stream error", an intermediary "MUST NOT forward" it). The
//!    request carries a second authority that anything rebuilding the URI from `uri()` reads.
//! 2. HTTP/1.1 CONNECT shapes: rule 0 fires before framing, so a CONNECT with an origin-form
//!    target, with two `Host` lines, or with no `Host` is handed to the service as a tunnel
//!    (`NotOrigin`). RFC 9112 §3.2: a server "MUST respond with a 400 (Bad Request)" to any
//!    HTTP/1.1 request without `Host` or with more than one; RFC 9110 §9.3.6 / RFC 9112 §3.2.3:
//!    CONNECT's target is authority-form only.
#![cfg(feature = "tower")]
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use misdirect::{
    Config, ConnectionFacts, ListenerConfig, Method, MisdirectLayer, Request, Server, Target,
    Verdict, Version, VhostConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LIMIT: Duration = Duration::from_secs(5);
/// The stub's status when the layer handed it no virtual host (NotOrigin).
const NO_VHOST: u16 = 203;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Site(&'static str);

fn server() -> Arc<Server<Site>> {
    let mut a = VhostConfig::new("a", &["a.example.test"], "public", Site("site a"));
    a.http_ports = vec![80];
    a.https_ports = Vec::new();
    let config = Config {
        policies: vec!["public".into()],
        vhosts: vec![a],
        listeners: vec![ListenerConfig::new("plain", false, 80)],
        ..Config::default()
    };
    Arc::new(Server::build(config).unwrap())
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    method: String,
    uri: String,
    host: Vec<String>,
    vhost: Option<Site>,
}

struct Live {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn start(h2: bool) -> Live {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = server();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let conn = server
                .connection(&ConnectionFacts {
                    listener: server.listener_id("plain").unwrap(),
                    tls: None,
                    gateway: None,
                })
                .unwrap();
            let log = Arc::clone(&log);
            let service = tower::ServiceBuilder::new()
                .layer(MisdirectLayer::new(Arc::clone(&server), conn))
                .service_fn(move |request: http::Request<Incoming>| {
                    let vhost = request.extensions().get::<Site>().copied();
                    log.lock().unwrap().push(Seen {
                        method: request.method().to_string(),
                        uri: request.uri().to_string(),
                        host: request
                            .headers()
                            .get_all("host")
                            .iter()
                            .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned())
                            .collect(),
                        vhost,
                    });
                    let status = if vhost.is_some() { 200 } else { NO_VHOST };
                    let response = http::Response::builder()
                        .status(status)
                        .body(Full::<Bytes>::default())
                        .unwrap();
                    async move { Ok::<_, Infallible>(response) }
                });
            tokio::spawn(async move {
                let service = TowerToHyperService::new(service);
                if h2 {
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                } else {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .with_upgrades()
                        .await;
                }
            });
        }
    });
    Live { addr, seen }
}

// ---- HTTP/2 frames (RFC 9113 §4, §6) ----

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const CONTINUATION: u8 = 0x9;

const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;
const SETTINGS_ENABLE_PUSH: u16 = 0x2;
const SETTINGS_ENABLE_CONNECT_PROTOCOL: u16 = 0x8;

/// RST_STREAM / GOAWAY error code PROTOCOL_ERROR (RFC 9113 §7).
const PROTOCOL_ERROR: u32 = 0x1;

struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

/// What the server answered on one stream.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// A response: its status, and its body when it is not a 2xx (a 2xx to CONNECT opens a
    /// tunnel whose stream stays open).
    Response { status: u16, body: String },
    /// RST_STREAM with this error code.
    Reset(u32),
    /// GOAWAY with this error code.
    GoAway(u32),
}

impl Outcome {
    fn status(&self) -> Option<u16> {
        match self {
            Outcome::Response { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A client connection speaking raw frames.
struct Client {
    tcp: TcpStream,
    /// Whether the server's SETTINGS had SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
    connect_protocol: bool,
    next_stream: u32,
}

impl Client {
    /// The preface and the SETTINGS exchange (RFC 9113 §3.4), within [`LIMIT`].
    async fn open(addr: SocketAddr) -> Client {
        tokio::time::timeout(LIMIT, Client::handshake(addr))
            .await
            .unwrap_or_else(|_| panic!("no SETTINGS exchange within {LIMIT:?}"))
    }

    async fn handshake(addr: SocketAddr) -> Client {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .await
            .unwrap();
        // A header table of size 0: the server's HPACK encoder may then never refer to its
        // dynamic table (RFC 7541 §4.2), so the decoder below needs only the static one.
        let mut settings = Vec::new();
        for (id, value) in [
            (SETTINGS_HEADER_TABLE_SIZE, 0u32),
            (SETTINGS_ENABLE_PUSH, 0),
        ] {
            settings.extend_from_slice(&id.to_be_bytes());
            settings.extend_from_slice(&value.to_be_bytes());
        }
        write_frame(&mut tcp, SETTINGS, 0, 0, &settings).await;
        // The server's preface is a SETTINGS frame (RFC 9113 §3.4).
        let frame = read_frame(&mut tcp).await;
        assert_eq!(
            (frame.kind, frame.flags & ACK),
            (SETTINGS, 0),
            "the server's preface"
        );
        let connect_protocol = frame.payload.chunks_exact(6).any(|s| {
            u16::from_be_bytes([s[0], s[1]]) == SETTINGS_ENABLE_CONNECT_PROTOCOL
                && u32::from_be_bytes([s[2], s[3], s[4], s[5]]) == 1
        });
        write_frame(&mut tcp, SETTINGS, ACK, 0, &[]).await;
        Client {
            tcp,
            connect_protocol,
            next_stream: 1,
        }
    }

    /// Sends one request's header block on a new stream and reads what comes back on it.
    /// `end_stream`: no body follows (a CONNECT's stream stays open for the tunnel).
    async fn exchange(&mut self, fields: &[(&str, &str)], end_stream: bool) -> Outcome {
        let stream = self.next_stream;
        self.next_stream += 2;
        let block = hpack_literals(fields);
        let flags = END_HEADERS | if end_stream { END_STREAM } else { 0 };
        tokio::time::timeout(LIMIT, async {
            write_frame(&mut self.tcp, HEADERS, flags, stream, &block).await;
            self.response(stream).await
        })
        .await
        .unwrap_or_else(|_| panic!("no answer within {LIMIT:?} to {fields:?}"))
    }

    async fn get(&mut self, fields: &[(&str, &str)]) -> Outcome {
        let mut all = vec![(":method", "GET"), (":scheme", "http"), (":path", "/")];
        all.extend_from_slice(fields);
        self.exchange(&all, true).await
    }

    async fn response(&mut self, stream: u32) -> Outcome {
        let mut status = None;
        let mut block = Vec::new();
        let mut body = Vec::new();
        loop {
            let frame = read_frame(&mut self.tcp).await;
            match frame.kind {
                PING if frame.flags & ACK == 0 => {
                    write_frame(&mut self.tcp, PING, ACK, 0, &frame.payload).await;
                }
                GOAWAY => return Outcome::GoAway(be32(&frame.payload[4..8])),
                _ if frame.stream != stream => {}
                RST_STREAM => return Outcome::Reset(be32(&frame.payload)),
                HEADERS | CONTINUATION => {
                    block.extend_from_slice(&frame.payload);
                    if frame.flags & END_HEADERS == 0 {
                        continue;
                    }
                    let code = status_of(&block);
                    status = Some(code);
                    if frame.flags & END_STREAM != 0 || (200..300).contains(&code) {
                        break;
                    }
                }
                DATA => {
                    body.extend_from_slice(&frame.payload);
                    if frame.flags & END_STREAM != 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        Outcome::Response {
            status: status.expect("HEADERS before the end of the stream"),
            body: String::from_utf8(body).unwrap(),
        }
    }
}

fn be32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

async fn write_frame(tcp: &mut TcpStream, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut frame = vec![len[1], len[2], len[3], kind, flags];
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(payload);
    tcp.write_all(&frame).await.unwrap();
}

async fn read_frame(tcp: &mut TcpStream) -> Frame {
    let mut head = [0u8; 9];
    tcp.read_exact(&mut head)
        .await
        .expect("the server closed the connection");
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut payload = vec![0u8; len];
    tcp.read_exact(&mut payload).await.unwrap();
    Frame {
        kind: head[3],
        flags: head[4],
        stream: be32(&head[5..9]) & 0x7fff_ffff,
        payload,
    }
}

// ---- HPACK (RFC 7541), as little as the test needs ----

/// An integer with an N-bit prefix (RFC 7541 §5.1); `first` holds the pattern's high bits.
fn put_int(out: &mut Vec<u8>, first: u8, prefix: u32, mut value: usize) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

/// Every field as "literal header field without indexing — new name" (RFC 7541 §6.2.2), its
/// strings without Huffman coding: h2 decodes the fields in the order and number sent.
fn hpack_literals(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.push(0x00);
        put_int(&mut out, 0, 7, name.len());
        out.extend_from_slice(name.as_bytes());
        put_int(&mut out, 0, 7, value.len());
        out.extend_from_slice(value.as_bytes());
    }
    out
}

fn get_int(block: &[u8], at: &mut usize, prefix: u32) -> usize {
    let max = (1usize << prefix) - 1;
    let mut value = usize::from(block[*at]) & max;
    *at += 1;
    if value == max {
        let mut shift = 0;
        loop {
            let byte = block[*at];
            *at += 1;
            value += usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
    }
    value
}

/// A string literal (RFC 7541 §5.2): its bytes as sent, and whether they are Huffman-coded.
fn get_str<'b>(block: &'b [u8], at: &mut usize) -> (&'b [u8], bool) {
    let huffman = block[*at] & 0x80 != 0;
    let len = get_int(block, at, 7);
    let bytes = &block[*at..*at + len];
    *at += len;
    (bytes, huffman)
}

/// Huffman-coded decimal digits (RFC 7541 Appendix B: `0`-`2` are the 5-bit codes 0-2, `3`-`9`
/// the 6-bit codes 0x19-0x1f), padded with at most 7 one-bits; `None` for anything else.
fn huffman_digits(bytes: &[u8]) -> Option<String> {
    let total = bytes.len() * 8;
    let bits = |from: usize, n: usize| -> Option<u32> {
        (from + n <= total).then(|| {
            (from..from + n).fold(0, |acc, i| {
                acc << 1 | u32::from(bytes[i / 8] >> (7 - i % 8) & 1)
            })
        })
    };
    let mut out = String::new();
    let mut at = 0;
    while at < total {
        match (bits(at, 5), bits(at, 6)) {
            (Some(code @ 0..=2), _) => {
                out.push(char::from(b'0' + code as u8));
                at += 5;
            }
            (_, Some(code @ 0x19..=0x1f)) => {
                out.push(char::from(b'3' + (code - 0x19) as u8));
                at += 6;
            }
            _ => {
                let rest = total - at;
                return (rest < 8 && bits(at, rest) == Some((1 << rest) - 1)).then_some(out);
            }
        }
    }
    Some(out)
}

/// The `:status` of a response header block: an indexed static entry (RFC 7541 Appendix A,
/// indices 8-14) or a literal whose name is `:status` (static index 8, or spelled out).
fn status_of(block: &[u8]) -> u16 {
    let mut at = 0;
    while at < block.len() {
        let first = block[at];
        if first & 0x80 != 0 {
            let index = get_int(block, &mut at, 7);
            let status = match index {
                8 => 200,
                9 => 204,
                10 => 206,
                11 => 304,
                12 => 400,
                13 => 404,
                14 => 500,
                1..=61 => continue,
                _ => panic!("dynamic table index {index}, with a header table of size 0"),
            };
            return status;
        }
        if first & 0xe0 == 0x20 {
            // Dynamic table size update (RFC 7541 §6.3).
            get_int(block, &mut at, 5);
            continue;
        }
        // Literal: with incremental indexing (01), without (0000) or never indexed (0001).
        let prefix = if first & 0x40 != 0 { 6 } else { 4 };
        let index = get_int(block, &mut at, prefix);
        let is_status = if index == 0 {
            let (name, huffman) = get_str(block, &mut at);
            !huffman && name == b":status"
        } else {
            index == 8
        };
        let (value, huffman) = get_str(block, &mut at);
        if is_status {
            let digits = if huffman {
                huffman_digits(value).expect("a Huffman-coded status of digits")
            } else {
                String::from_utf8(value.to_vec()).unwrap()
            };
            return digits.parse().expect("a numeric status");
        }
    }
    panic!("no :status in the response header block")
}

// ---- The shapes ----

/// Checked and sound: h2/hyper reset a `:path` in absolute form (PROTOCOL_ERROR) before the
/// layer; kept as evidence.
#[tokio::test]
async fn h2_absolute_form_path_is_reset_before_the_service() {
    let live = start(true).await;
    let mut client = Client::open(live.addr).await;
    let outcome = client
        .exchange(
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":authority", "a.example.test"),
                (":path", "http://admin.internal.test/secret"),
            ],
            true,
        )
        .await;
    let seen = live.seen.lock().unwrap().clone();
    println!("outcome: {outcome:?}\nservice saw: {seen:#?}");
    assert!(seen.is_empty() && matches!(outcome, Outcome::Reset(_)));
}

/// An HTTP/2 CONNECT without `:authority` (RFC 9113 §8.5: ":authority ... contains the host and
/// port to connect to"; a CONNECT "that does not conform to these restrictions is malformed",
/// §8.1.1) but with `host` naming another site: h2 accepts it, the layer hands it on as a
/// tunnel with the foreign `host` untouched.
#[tokio::test]
async fn h2_connect_without_authority_is_a_400() {
    let live = start(true).await;
    let mut client = Client::open(live.addr).await;
    let outcome = client
        .exchange(
            &[(":method", "CONNECT"), ("host", "admin.internal.test:443")],
            false,
        )
        .await;
    let seen = live.seen.lock().unwrap().clone();
    println!("outcome: {outcome:?}\nservice saw: {seen:#?}");
    assert!(
        seen.is_empty(),
        "a malformed CONNECT (no :authority) reached the service: {outcome:?}, {seen:?}"
    );
}

/// A raw HTTP/1.1 exchange: the status line of the first response.
async fn h1(addr: SocketAddr, request: &str) -> String {
    tokio::time::timeout(LIMIT, async {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tcp.read(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf[..n])
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    })
    .await
    .expect("an answer")
}

#[tokio::test]
async fn h1_connect_shapes_that_must_be_400_never_reach_the_service() {
    let live = start(false).await;
    let mut failures = Vec::new();
    for (what, request) in [
        (
            "CONNECT with an origin-form target",
            "CONNECT /secret HTTP/1.1\r\nHost: admin.internal.test\r\n\r\n",
        ),
        (
            "CONNECT with two Host lines",
            "CONNECT a.example.test:80 HTTP/1.1\r\nHost: a.example.test\r\nHost: admin.internal.test\r\n\r\n",
        ),
        (
            "HTTP/1.1 CONNECT without Host",
            "CONNECT a.example.test:80 HTTP/1.1\r\n\r\n",
        ),
        (
            "CONNECT with an absolute-form target",
            "CONNECT http://admin.internal.test/secret HTTP/1.1\r\nHost: admin.internal.test\r\n\r\n",
        ),
    ] {
        let before = live.seen.lock().unwrap().len();
        let status = h1(live.addr, request).await;
        let seen = live.seen.lock().unwrap().clone();
        println!("{what}: {status}; service saw {:?}", &seen[before..]);
        if !status.contains(" 400 ") {
            failures.push(format!(
                "{what}: {status} (service saw {:?})",
                &seen[before..]
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The same, at the engine: every one of these is `NotOrigin` instead of a 400.
#[test]
fn malformed_http11_connect_is_a_400_not_a_tunnel() {
    let server = server();
    let conn = server
        .connection(&ConnectionFacts {
            listener: server.listener_id("plain").unwrap(),
            tls: None,
            gateway: None,
        })
        .unwrap();
    let two_hosts: [&[u8]; 2] = [b"a.example.test", b"admin.internal.test"];
    let bad_host: [&[u8]; 1] = [b"a.example.test@evil"];
    let cases: [(&str, Request<'_>); 4] = [
        (
            "origin-form target",
            Request {
                version: Version::Http11,
                method: Method::Connect,
                scheme: None,
                authorities: &[],
                hosts: &two_hosts[1..],
                target: Target::Origin,
            },
        ),
        (
            "two Host lines",
            Request {
                version: Version::Http11,
                method: Method::Connect,
                scheme: None,
                authorities: &[],
                hosts: &two_hosts,
                target: Target::Authority(b"a.example.test:80"),
            },
        ),
        (
            "no Host",
            Request {
                version: Version::Http11,
                method: Method::Connect,
                scheme: None,
                authorities: &[],
                hosts: &[],
                target: Target::Authority(b"a.example.test:80"),
            },
        ),
        (
            "invalid Host (userinfo)",
            Request {
                version: Version::Http11,
                method: Method::Connect,
                scheme: None,
                authorities: &[],
                hosts: &bad_host,
                target: Target::Authority(b"a.example.test:80"),
            },
        ),
    ];
    let mut failures = Vec::new();
    for (what, request) in cases {
        let verdict = server.decide(&conn, &request);
        println!("{what}: {verdict:?}");
        if !matches!(verdict, Verdict::BadRequest(_)) {
            failures.push(format!("{what}: {:?}", verdict.status()));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// What h3 0.0.8 inserts into the extensions for `:protocol` (`src/server/request.rs`,
/// `ResolvedRequest::resolve`); h3 knows `webtransport` and `connect-udp`.
#[cfg(feature = "quinn")]
type H3Protocol = h3::ext::Protocol;

#[cfg(feature = "quinn")]
#[tokio::test]
async fn h3_extended_connect_without_path_is_decided_not_passed_on() {
    use tower::ServiceExt;
    let server = server();
    let conn = server
        .connection(&ConnectionFacts {
            listener: server.listener_id("plain").unwrap(),
            tls: None,
            gateway: None,
        })
        .unwrap();
    // Exactly what h3's into_request_parts builds for
    // `:method CONNECT, :protocol websocket, :authority admin.internal.test`.
    let uri = http::Uri::builder()
        .authority("admin.internal.test")
        .build()
        .unwrap();
    let mut request = http::Request::builder()
        .version(http::Version::HTTP_3)
        .method("CONNECT")
        .uri(uri)
        .body(())
        .unwrap();
    request.extensions_mut().insert(H3Protocol::WEB_TRANSPORT);
    let facts = misdirect::HttpRequest::new(&request, &conn);
    println!("read as {:?}", facts.request().method);
    let verdict = server.decide(&conn, &facts.request());
    println!("verdict {verdict:?}");
    let reached = Arc::new(Mutex::new(None));
    let log = Arc::clone(&reached);
    let service = tower::ServiceBuilder::new()
        .layer(MisdirectLayer::new(Arc::clone(&server), conn))
        .service_fn(move |request: http::Request<()>| {
            *log.lock().unwrap() = Some((
                request.uri().to_string(),
                request.extensions().get::<H3Protocol>().cloned(),
                request.extensions().get::<Site>().copied(),
            ));
            async move {
                Ok::<_, Infallible>(
                    http::Response::builder()
                        .status(200)
                        .body(Full::<Bytes>::default())
                        .unwrap(),
                )
            }
        });
    let response = service.oneshot(request).await.unwrap();
    let reached = reached.lock().unwrap().clone();
    println!("status {}, service saw {reached:?}", response.status());
    assert!(
        reached.is_none(),
        "an extended CONNECT (:protocol webtransport) for admin.internal.test reached the service \
         undecided: {reached:?}"
    );
}
