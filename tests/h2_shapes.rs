//! HTTP/2 request shapes over a live hyper server, written frame by frame.
//!
//! hyper's own client always sends `:scheme`, `:authority` and `:path` as its `Uri` says, so it
//! cannot send the shapes RFC 9113 allows or forbids around them: `Host` in place of
//! `:authority` (§8.3.1), extended CONNECT without `:authority` (RFC 8441 §4), two
//! `:authority`. Here the test writes the connection preface, SETTINGS and HEADERS frames itself
//! over a `TcpStream`, each header block made of HPACK literals (RFC 7541 §6.2.2), so every
//! pseudo-header combination reaches h2 exactly as sent. The server is hyper 1.x over cleartext
//! HTTP/2 with prior knowledge (RFC 9113 §3.3), extended CONNECT enabled, with
//! [`MisdirectLayer`] in front of a stub service that records what reached it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use misdirect::{Config, ConnectionFacts, ListenerConfig, MisdirectLayer, Server, VhostConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Every exchange must finish within this: a hang fails the test instead of blocking it.
const LIMIT: Duration = Duration::from_secs(5);

/// The status the stub service answers when the layer handed it no virtual host (the
/// `NotOrigin` pass-through): distinct from the 200 of a served request.
const NO_VHOST: u16 = 203;

/// A virtual host's value. A named type, not `&'static str`: a bare reference type here makes
/// the spawned connection future's `Send` check ask for `Clone` at every lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Site(&'static str);

/// One cleartext listener whose public port is 80 (the test's socket is an ephemeral port, as
/// behind a port mapping), and one virtual host serving `http` there.
fn server() -> Arc<Server<Site>> {
    let mut a = VhostConfig::new("a", &["a.example.test"], "public", Site("site a"));
    a.http_ports = vec![80];
    a.https_ports = Vec::new();
    let config = Config {
        policies: vec!["public".into()],
        vhosts: vec![a],
        listeners: vec![ListenerConfig::new("h2c", false, 80)],
        ..Config::default()
    };
    Arc::new(Server::build(config).expect("the test configuration builds"))
}

/// What the stub service saw of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    method: String,
    /// The virtual host value the layer put into the extensions.
    vhost: Option<Site>,
    /// `hyper::ext::Protocol`, where hyper puts `:protocol`.
    protocol: Option<String>,
}

/// A live server on 127.0.0.1 and the log of what its service saw.
struct Live {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Live {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn start() -> Live {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = server();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    // The task ends with the test's runtime.
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let conn = server
                .connection(&ConnectionFacts {
                    listener: server.listener_id("h2c").unwrap(),
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
                        vhost,
                        protocol: request
                            .extensions()
                            .get::<hyper::ext::Protocol>()
                            .map(|p| p.as_str().to_string()),
                    });
                    // An empty body: hyper resets a successful CONNECT response that has one.
                    let status = if vhost.is_some() { 200 } else { NO_VHOST };
                    let response = http::Response::builder()
                        .status(status)
                        .body(Full::<Bytes>::default())
                        .unwrap();
                    async move { Ok::<_, Infallible>(response) }
                });
            tokio::spawn(async move {
                // RFC 8441 §3: the server must send SETTINGS_ENABLE_CONNECT_PROTOCOL before a
                // client may send :protocol; h2 resets the stream otherwise.
                let _ = http2::Builder::new(TokioExecutor::new())
                    .enable_connect_protocol()
                    .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service))
                    .await;
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

fn refusal(outcome: &Outcome) -> (u16, &str) {
    match outcome {
        Outcome::Response { status, body } => (*status, body.as_str()),
        other => panic!("a response, not {other:?}"),
    }
}

fn served(method: &str, protocol: Option<&str>) -> Seen {
    Seen {
        method: method.to_string(),
        vhost: Some(Site("site a")),
        protocol: protocol.map(str::to_string),
    }
}

#[test]
fn the_status_decoder_reads_what_h2_encodes() {
    // RFC 7541 Appendix B: 4 = 011010, 2 = 00010, 1 = 00001, 0 = 00000, 3 = 011001.
    assert_eq!(huffman_digits(&[0x68, 0x41]).as_deref(), Some("421"));
    assert_eq!(huffman_digits(&[0x10, 0x19]).as_deref(), Some("203"));
    // 15 bits of "200", one bit of padding; 11 bits of "42", five.
    assert_eq!(huffman_digits(&[0x10, 0x01]).as_deref(), Some("200"));
    assert_eq!(huffman_digits(&[0x68, 0x5f]).as_deref(), Some("42"));
    assert_eq!(huffman_digits(&[0x68, 0x5e]), None, "padding must be ones");
    assert_eq!(
        huffman_digits(&[0x68, 0x41, 0xff]),
        None,
        "8 bits of padding"
    );
    assert_eq!(huffman_digits(&[0x61]), None, "`a` is no digit");
    assert_eq!(status_of(&[0x88]), 200);
    assert_eq!(status_of(&[0x20, 0x8c]), 400, "after a table size update");
    // Literal without indexing, name index 8, raw and Huffman-coded values.
    assert_eq!(status_of(&[0x08, 0x03, b'4', b'2', b'1']), 421);
    assert_eq!(status_of(&[0x48, 0x82, 0x68, 0x41]), 421);
    // Another field first, with a new name.
    assert_eq!(status_of(&[0x00, 0x01, b'x', 0x00, 0x8d]), 404);
}

#[tokio::test]
async fn get_with_authority_is_served() {
    let live = start().await;
    let mut client = Client::open(live.addr).await;
    let outcome = client.get(&[(":authority", "a.example.test")]).await;
    assert_eq!(outcome.status(), Some(200), "{outcome:?}");
    assert_eq!(live.seen(), [served("GET", None)]);
}

#[tokio::test]
async fn get_with_host_and_no_authority_is_decided_by_its_host() {
    let live = start().await;
    let mut client = Client::open(live.addr).await;
    // RFC 9113 §8.3.1: a request may carry Host in place of :authority.
    let outcome = client.get(&[("host", "a.example.test")]).await;
    assert_eq!(outcome.status(), Some(200), "{outcome:?}");
    assert_eq!(live.seen(), [served("GET", None)]);

    let outcome = client.get(&[("host", "evil.example")]).await;
    let (status, body) = refusal(&outcome);
    assert_eq!(status, 421, "{body}");
    assert!(body.contains("rule 5 (virtual host)"), "{body}");
    assert_eq!(live.seen().len(), 1, "the service never sees the 421");
}

#[tokio::test]
async fn extended_connect_with_authority_is_an_origin_request() {
    let live = start().await;
    let mut client = Client::open(live.addr).await;
    assert!(
        client.connect_protocol,
        "the server advertises SETTINGS_ENABLE_CONNECT_PROTOCOL"
    );
    let websocket = |authority| {
        [
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", "http"),
            (":path", "/chat"),
            (":authority", authority),
        ]
    };
    let outcome = client.exchange(&websocket("a.example.test"), false).await;
    assert_eq!(outcome.status(), Some(200), "{outcome:?}");
    assert_eq!(live.seen(), [served("CONNECT", Some("websocket"))]);

    let outcome = client.exchange(&websocket("evil.example"), false).await;
    let (status, body) = refusal(&outcome);
    assert_eq!(status, 421, "{body}");
    assert!(body.contains("rule 5 (virtual host)"), "{body}");
    assert_eq!(live.seen().len(), 1);
}

#[tokio::test]
async fn extended_connect_with_host_is_an_origin_request() {
    let live = start().await;
    let mut client = Client::open(live.addr).await;
    assert!(client.connect_protocol);
    let websocket = |host| {
        [
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", "http"),
            (":path", "/chat"),
            ("host", host),
        ]
    };
    // Not a tunnel (NotOrigin) and not handed to the service without a virtual host.
    let outcome = client.exchange(&websocket("evil.example"), false).await;
    let (status, body) = refusal(&outcome);
    assert_eq!(status, 421, "{body}");
    assert!(body.contains("rule 5 (virtual host)"), "{body}");
    assert_eq!(live.seen(), [], "the service never sees the 421");

    let outcome = client.exchange(&websocket("a.example.test"), false).await;
    assert_eq!(outcome.status(), Some(200), "{outcome:?}");
    assert_eq!(live.seen(), [served("CONNECT", Some("websocket"))]);
}

#[tokio::test]
async fn plain_connect_reaches_the_service_without_a_virtual_host() {
    let live = start().await;
    let mut client = Client::open(live.addr).await;
    // RFC 9113 §8.5: no :scheme, no :path; the layer's NotOrigin hands it on untouched.
    let outcome = client
        .exchange(
            &[(":method", "CONNECT"), (":authority", "evil.example:443")],
            false,
        )
        .await;
    assert_eq!(outcome.status(), Some(NO_VHOST), "{outcome:?}");
    assert_eq!(
        live.seen(),
        [Seen {
            method: "CONNECT".into(),
            vhost: None,
            protocol: None,
        }]
    );
}

#[tokio::test]
async fn authority_and_host_that_differ_are_a_bad_request() {
    let live = start().await;
    let mut client = Client::open(live.addr).await;
    // h2 keeps both (host stays a field); RFC 9113 §8.3.1 lets the server treat the request
    // as malformed, and the layer does (strict_host_consistency, on by default).
    let outcome = client
        .get(&[(":authority", "a.example.test"), ("host", "evil.example")])
        .await;
    let (status, body) = refusal(&outcome);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("rule 1 (framing)"), "{body}");
    assert_eq!(live.seen(), []);
}

#[tokio::test]
async fn two_authorities_are_reset_by_h2_before_the_service() {
    let live = start().await;
    let mut client = Client::open(live.addr).await;
    // h2 treats a repeated pseudo-header as malformed (RFC 9113 §8.3) and resets the stream
    // with PROTOCOL_ERROR (§8.1.1): the layer never sees the request.
    let outcome = client
        .get(&[
            (":authority", "a.example.test"),
            (":authority", "evil.example"),
        ])
        .await;
    assert_eq!(outcome, Outcome::Reset(PROTOCOL_ERROR));
    assert_eq!(live.seen(), []);
    // The connection survives the stream error.
    let outcome = client.get(&[(":authority", "a.example.test")]).await;
    assert_eq!(outcome.status(), Some(200), "{outcome:?}");
}

#[tokio::test]
async fn get_without_authority_or_host_is_a_bad_request() {
    let live = start().await;
    let mut client = Client::open(live.addr).await;
    let outcome = client.get(&[]).await;
    let (status, body) = refusal(&outcome);
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("rule 1 (framing): the request does not name its origin"),
        "{body}"
    );
    assert_eq!(live.seen(), []);
}

#[tokio::test]
async fn the_scheme_h2_drops_is_read_as_the_connections() {
    let live = start().await;
    let mut client = Client::open(live.addr).await;
    // With :authority, h2 keeps :scheme: https on a cleartext connection is refused (rule 2).
    let https = |field: (&'static str, &'static str)| {
        [
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/"),
            field,
        ]
    };
    let outcome = client
        .exchange(&https((":authority", "a.example.test")), true)
        .await;
    let (status, body) = refusal(&outcome);
    assert_eq!(status, 421, "{body}");
    assert!(body.contains("rule 2 (scheme)"), "{body}");
    // Without it, h2 checks :scheme and drops it (its Uri cannot hold a scheme without an
    // authority): the request is read as the connection's scheme, http here, and served.
    let outcome = client
        .exchange(&https(("host", "a.example.test")), true)
        .await;
    assert_eq!(outcome.status(), Some(200), "{outcome:?}");
    assert_eq!(live.seen(), [served("GET", None)]);
}
