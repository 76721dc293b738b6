//! The HTTP/3 side of the end-to-end tests: the example server started on loopback, a real
//! HTTP/3 client (quinn, h3, h3-quinn), and raw request streams for the shapes h3's client
//! will not send. Included by `tests/h3.rs` and `tests/h3_hostile.rs` as `h3_client`; the
//! including file declares the example as its `server` module.
#![allow(dead_code)]

use std::future::{Future, poll_fn};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use hyper::StatusCode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::server::{self, Options, Running};

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The time any one test may take.
pub const BOUND: Duration = Duration::from_secs(60);

pub async fn bounded<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(BOUND, test)
        .await
        .expect("the test ends within its bound")
}

pub async fn start() -> Running {
    start_with(Options::default()).await
}

/// The example server with these options, on ephemeral ports and a folder of its own.
pub async fn start_with(options: Options) -> Running {
    let out = std::env::temp_dir().join(format!(
        "misdirect-h3-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    server::start(Options {
        port: 0,
        out: Some(out),
        quiet: true,
        ..options
    })
    .await
    .expect("the example server starts")
}

/// A rustls client for QUIC (ALPN h3) trusting the example CA, with or without its client
/// certificate.
pub fn client_config(running: &Running, client_cert: bool) -> quinn::ClientConfig {
    client_config_for(&running.pki, client_cert)
}

/// A rustls client for QUIC (ALPN h3) trusting this PKI's CA, with or without its client
/// certificate.
pub fn client_config_for(pki: &server::Pki, client_cert: bool) -> quinn::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pki.ca.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots);
    let mut config = if client_cert {
        let (cert, key) = &pki.client;
        builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap()
    } else {
        builder.with_no_client_auth()
    };
    config.alpn_protocols = vec![b"h3".to_vec()];
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(config).unwrap();
    quinn::ClientConfig::new(Arc::new(quic))
}

/// An HTTP/3 client connection, with its QUIC connection for raw streams.
pub struct H3 {
    /// The QUIC connection, for raw streams.
    pub quic: quinn::Connection,
    /// The h3 client.
    pub send: h3::client::SendRequest<h3_quinn::OpenStreams, Bytes>,
}

/// Opens a QUIC connection to the HTTP/3 listener with this SNI.
pub async fn handshake(
    running: &Running,
    sni: &str,
    config: quinn::ClientConfig,
) -> quinn::Connection {
    try_handshake(running, sni, config)
        .await
        .expect("QUIC handshake")
}

/// Opens a QUIC connection to the HTTP/3 listener with this SNI, or says why it failed.
pub async fn try_handshake(
    running: &Running,
    sni: &str,
    config: quinn::ClientConfig,
) -> Result<quinn::Connection, quinn::ConnectionError> {
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(config);
    endpoint.connect(running.h3.addr, sni).unwrap().await
}

/// Sends a GET for `uri` and reads the status, or says why there is none (a refused client
/// certificate shows here under TLS 1.3, after the handshake).
pub async fn try_get(conn: &mut H3, uri: &str) -> Result<StatusCode, String> {
    let request = http::Request::get(uri).body(()).unwrap();
    let mut stream = conn
        .send
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let _ = stream.finish().await;
    let response = stream.recv_response().await.map_err(|e| e.to_string())?;
    Ok(response.status())
}

pub async fn h3(quic: quinn::Connection) -> H3 {
    try_h3(quic).await.expect("HTTP/3 setup")
}

/// HTTP/3 on a QUIC connection, or why it could not be set up (a server refusing the client's
/// certificate, or its absence, closes the connection here or on the first request).
pub async fn try_h3(quic: quinn::Connection) -> Result<H3, String> {
    let (mut driver, send) = h3::client::new(h3_quinn::Connection::new(quic.clone()))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move { poll_fn(|cx| driver.poll_close(cx)).await });
    Ok(H3 { quic, send })
}

/// Sends a GET for `uri` with these extra header lines; the status and body.
pub async fn request(conn: &mut H3, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
    let mut request = http::Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut stream = conn
        .send
        .send_request(request.body(()).unwrap())
        .await
        .expect("request sent");
    // The server may answer before it reads the end of the request, then stop reading it
    // (RFC 9114 §4.1): a complete response still counts, so a failed `finish` does not.
    let _ = stream.finish().await;
    let response = stream.recv_response().await.expect("response");
    let mut body = Vec::new();
    while let Some(mut chunk) = stream.recv_data().await.expect("body") {
        while chunk.has_remaining() {
            let bytes = chunk.chunk();
            body.extend_from_slice(bytes);
            let n = bytes.len();
            chunk.advance(n);
        }
    }
    (
        response.status(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

pub async fn get(conn: &mut H3, uri: &str) -> (StatusCode, String) {
    request(conn, uri, &[]).await
}

/// A HEADERS frame by hand: GET https with this `:authority` and these `host` lines, QPACK with
/// the static table and literals only (RFC 9204 §4.5).
pub fn headers_frame(authority: &str, hosts: &[&str]) -> Vec<u8> {
    fn literal(out: &mut Vec<u8>, first: u8, prefix_bits: u32, bytes: &[u8]) {
        let max = (1usize << prefix_bits) - 1;
        assert!(bytes.len() < max, "short strings only");
        out.push(first | bytes.len() as u8);
        out.extend_from_slice(bytes);
    }
    let mut block = vec![0x00, 0x00]; // Required Insert Count 0, Base 0
    block.push(0xC0 | 17); // :method GET (static 17)
    block.push(0xC0 | 23); // :scheme https (static 23)
    block.push(0xC0 | 1); // :path / (static 1)
    block.push(0x50); // :authority, literal value with static name reference 0
    literal(&mut block, 0x00, 7, authority.as_bytes());
    for host in hosts {
        literal(&mut block, 0x20, 3, b"host"); // literal name, no Huffman
        literal(&mut block, 0x00, 7, host.as_bytes());
    }
    assert!(block.len() < 64, "a one-byte length");
    let mut frame = vec![0x01, block.len() as u8];
    frame.extend_from_slice(&block);
    frame
}

/// A field section of literals with literal names, no Huffman code, no static reference
/// (RFC 9204 §4.5.6): every field reaches the server exactly as written, repeated and in order.
pub fn field_section(fields: &[(&[u8], &[u8])]) -> Vec<u8> {
    fn int(out: &mut Vec<u8>, first: u8, prefix: u32, value: usize) {
        let max = (1usize << prefix) - 1;
        if value < max {
            out.push(first | value as u8);
            return;
        }
        out.push(first | max as u8);
        let mut rest = value - max;
        while rest >= 0x80 {
            out.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        out.push(rest as u8);
    }
    let mut block = vec![0x00, 0x00]; // Required Insert Count 0, Base 0
    for (name, value) in fields {
        int(&mut block, 0x20, 3, name.len());
        block.extend_from_slice(name);
        int(&mut block, 0x00, 7, value.len());
        block.extend_from_slice(value);
    }
    block
}

/// A frame (RFC 9114 §7.1) with this type and payload.
pub fn frame(ty: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![ty];
    out.extend_from_slice(&varint(payload.len() as u64));
    out.extend_from_slice(payload);
    out
}

/// A QUIC variable-length integer (RFC 9000 §16).
pub fn varint(value: u64) -> Vec<u8> {
    match value {
        0..0x40 => vec![value as u8],
        0x40..0x4000 => (0x4000 | value as u16).to_be_bytes().to_vec(),
        0x4000..0x4000_0000 => (0x8000_0000 | value as u32).to_be_bytes().to_vec(),
        _ => (0xc000_0000_0000_0000 | value).to_be_bytes().to_vec(),
    }
}

/// The `:status` of the first HEADERS frame of a raw response stream, as h3's server writes
/// it (an indexed static entry, or a literal with the static name `:status` and a Huffman-coded
/// value: h3 0.0.8's `encode_stateless`).
pub fn status_of(reply: &[u8]) -> Option<u16> {
    fn take_varint(bytes: &mut &[u8]) -> Option<u64> {
        let first = *bytes.first()?;
        let len = 1usize << (first >> 6);
        let raw = bytes.get(..len)?;
        *bytes = &bytes[len..];
        Some(
            raw[1..]
                .iter()
                .fold(u64::from(first & 0x3f), |v, b| v << 8 | u64::from(*b)),
        )
    }
    let mut rest = reply;
    let (ty, len) = (take_varint(&mut rest)?, take_varint(&mut rest)?);
    if ty != 0x01 {
        return None;
    }
    let block = rest.get(..usize::try_from(len).ok()?)?;
    // Prefix 0, 0; then the first field line.
    let line = block.get(2..)?;
    let first = *line.first()?;
    if first & 0xc0 == 0xc0 {
        // RFC 9204 Appendix A: the `:status` entries.
        let index = if first & 0x3f == 0x3f {
            63 + u64::from(*line.get(1)?)
        } else {
            u64::from(first & 0x3f)
        };
        let statuses = [
            (24, 103),
            (25, 200),
            (26, 304),
            (27, 404),
            (28, 503),
            (63, 100),
            (64, 204),
            (65, 206),
            (66, 302),
            (67, 400),
            (68, 403),
            (69, 421),
            (70, 425),
            (71, 500),
        ];
        return statuses.iter().find(|(i, _)| *i == index).map(|(_, s)| *s);
    }
    // `01NT1111` + 9: literal with the static name reference 24 (`:status`).
    if line.get(..2)? != [0x5f, 0x09] {
        return None;
    }
    let value = line.get(2..)?;
    let (huffman, len) = (value[0] & 0x80 != 0, usize::from(value[0] & 0x7f));
    let raw = value.get(1..1 + len)?;
    let text = if huffman {
        misdirect::huffman::decode(raw, 64).ok()?
    } else {
        raw.to_vec()
    };
    std::str::from_utf8(&text).ok()?.parse().ok()
}

/// Opens a raw request stream, writes `bytes` and the end of the stream, and reads what comes
/// back: the reply's octets, or the code the server reset the stream with.
pub async fn raw_exchange(quic: &quinn::Connection, bytes: &[u8]) -> Result<Vec<u8>, u64> {
    let (mut send, mut recv) = quic.open_bi().await.expect("a stream");
    // A stream the server refuses may be stopped before everything is written.
    if send.write_all(bytes).await.is_ok() {
        let _ = send.finish();
    }
    match recv.read_to_end(1 << 20).await {
        Ok(reply) => Ok(reply),
        Err(quinn::ReadToEndError::Read(quinn::ReadError::Reset(code))) => Err(code.into_inner()),
        Err(other) => panic!("the stream ended otherwise: {other}"),
    }
}
