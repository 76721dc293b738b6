//! HTTP/2 request shapes over a live hyper server, written frame by frame.
//!
//! hyper's own client always sends `:scheme`, `:authority` and `:path` as its `Uri` says, so it
//! cannot send the shapes RFC 9113 allows or forbids around them: `Host` in place of
//! `:authority` (§8.3.1), extended CONNECT without `:authority` (RFC 8441 §4), two
//! `:authority`. Here misdirect-probe's client ([`Http2`], feature `probe`) writes the
//! connection preface, SETTINGS and HEADERS frames itself over a `TcpStream`, each header block
//! made of HPACK literals (RFC 7541 §6.2.2), so every pseudo-header combination reaches h2
//! exactly as sent. The server is hyper 1.x over cleartext
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
use misdirect_probe::Answer;
use misdirect_probe::h2::{Http2, PROTOCOL_ERROR, SETTINGS_ENABLE_CONNECT_PROTOCOL};
use misdirect_probe::hpack::Decoder;
use std::net::TcpStream;
use tokio::net::TcpListener;

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

// ---- The client: misdirect-probe's raw HTTP/2 (frames and HPACK literals) ----

/// A client connection speaking raw frames: the probe's [`Http2`], a blocking client, driven
/// from the blocking pool so the server keeps running on the test's runtime.
struct Client {
    conn: Option<Http2<TcpStream>>,
    /// Whether the server's SETTINGS had SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
    connect_protocol: bool,
}

impl Client {
    /// The preface and the SETTINGS exchange (RFC 9113 §3.4); every read and write on the
    /// connection times out after [`LIMIT`].
    async fn open(addr: SocketAddr) -> Client {
        let conn = tokio::task::spawn_blocking(move || {
            let tcp = TcpStream::connect_timeout(&addr, LIMIT)?;
            tcp.set_read_timeout(Some(LIMIT))?;
            tcp.set_write_timeout(Some(LIMIT))?;
            Http2::handshake(tcp)
        })
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("no SETTINGS exchange within {LIMIT:?}: {e}"));
        Client {
            connect_protocol: conn.server_setting(SETTINGS_ENABLE_CONNECT_PROTOCOL) == Some(1),
            conn: Some(conn),
        }
    }

    /// Sends one request's header block on a new stream and reads what comes back on it.
    /// `end_stream`: no body follows (a CONNECT's stream stays open for the tunnel).
    async fn exchange(&mut self, fields: &[(&str, &str)], end_stream: bool) -> Answer {
        let mut conn = self.conn.take().expect("the connection");
        let owned: Vec<(String, String)> = fields
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let (conn, answer) = tokio::task::spawn_blocking(move || {
            let fields: Vec<(&[u8], &[u8])> = owned
                .iter()
                .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
                .collect();
            let answer = conn.exchange(&fields, end_stream);
            (conn, answer)
        })
        .await
        .unwrap();
        self.conn = Some(conn);
        answer.unwrap_or_else(|e| panic!("no answer within {LIMIT:?} to {fields:?}: {e}"))
    }

    async fn get(&mut self, fields: &[(&str, &str)]) -> Answer {
        let mut all = vec![(":method", "GET"), (":scheme", "http"), (":path", "/")];
        all.extend_from_slice(fields);
        self.exchange(&all, true).await
    }
}

/// The status of a response header block, as the probe's HPACK decoder reads it.
fn status_of(block: &[u8]) -> u16 {
    let fields = Decoder::new().decode(block).expect("a header block");
    let (_, value) = fields
        .iter()
        .find(|(name, _)| name == b":status")
        .expect("a :status");
    std::str::from_utf8(value).unwrap().parse().unwrap()
}

// ---- The shapes ----

fn refusal(answer: &Answer) -> (u16, String) {
    match answer {
        Answer::Response { status, body } => (*status, String::from_utf8_lossy(body).into_owned()),
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
    // Literal with incremental indexing, name index 8 (:status), Huffman-coded value.
    assert_eq!(status_of(&[0x48, 0x82, 0x68, 0x41]), 421);
    assert_eq!(status_of(&[0x48, 0x82, 0x10, 0x19]), 203);
    // 15 bits of "200", one bit of padding.
    assert_eq!(status_of(&[0x48, 0x82, 0x10, 0x01]), 200);
    assert_eq!(status_of(&[0x88]), 200);
    assert_eq!(status_of(&[0x20, 0x8c]), 400, "after a table size update");
    // Literal without indexing, name index 8, raw value.
    assert_eq!(status_of(&[0x08, 0x03, b'4', b'2', b'1']), 421);
    // Another field first, with a new name.
    assert_eq!(status_of(&[0x00, 0x01, b'x', 0x00, 0x8d]), 404);
    assert!(
        Decoder::new().decode(&[0x48, 0x82, 0x68, 0x5e]).is_err(),
        "padding must be ones"
    );
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
    assert_eq!(outcome, Answer::Reset(PROTOCOL_ERROR));
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
