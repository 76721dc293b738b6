//! The probe's HTTP/3 client: QUIC from quinn, with the probe's own TLS configuration (any SNI
//! or none, the client certificate or none, the server's certificate recorded), and the
//! HTTP/3 framing (RFC 9114) and QPACK (RFC 9204) written here, so that a request goes out
//! exactly as its [`Shape`](crate::Shape) says: two `:authority` fields, a `host` that
//! disagrees, no `:scheme`, bytes no `http::Uri` would hold. The `h3` crate's client builds
//! requests from an `http::Request` and refuses (or closes the connection over) most of
//! these shapes, so none is sent through it.
//!
//! What is written: a control stream with SETTINGS (`SETTINGS_MAX_FIELD_SECTION_SIZE` =
//! [`MAX_FIELD_SECTION`]; no dynamic table, so no QPACK encoder or decoder stream: RFC 9204
//! §4.2 lets an endpoint skip them); per request a bidirectional stream with one HEADERS
//! frame whose field lines are all literals with literal names, never Huffman-coded, then
//! FIN. What is read: the request stream's frames, HEADERS decoded against the static table
//! only (the probe allows no dynamic table, so a reference to one is an error), DATA kept up
//! to 64 KiB, other frame types skipped. Of the streams the server opens, its control stream
//! and QPACK's are drained and discarded, any other refused (see `read_server_streams`), and
//! quinn's flow control ([`transport`]) bounds what each can hold.
//!
//! Bounds against a hostile server: every connect and exchange ends by its deadline; a
//! HEADERS frame past [`MAX_FIELD_SECTION`] is refused before it is read; one request
//! stream is read for at most [`MAX_STREAM_READ`] octets before its response; at most
//! [`MAX_INTERIM`] interim responses; the server may have at most 4 unidirectional streams
//! open at a time and no bidirectional ones, each with a 64 KiB window, 256 KiB for the
//! connection. Once a final status is read it stands: the stream ending, a reset, the cap or
//! the deadline afterwards only end the body (a 200 cut short is served). A crypto error
//! closing the connection is a refusal of the session only before its first response (RFC
//! 9001 §4.4: no client authentication after the handshake); a connection the server closed
//! or went away from (GOAWAY) is not reused ([`Quic::reusable`]).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quinn::crypto::rustls::QuicClientConfig;
use quinn::{ConnectionError, ReadError, WriteError};
use rustls::pki_types::CertificateDer;

use super::client::{DialError, Dialer};
use super::hpack::{self, put_int};
use super::{Answer, Got, MAX_INTERIM};

/// HTTP/3 frame type DATA (RFC 9114 §7.2.1).
pub const DATA: u64 = 0x0;
/// HTTP/3 frame type HEADERS (RFC 9114 §7.2.2).
pub const HEADERS: u64 = 0x1;
/// HTTP/3 frame type SETTINGS (RFC 9114 §7.2.4).
pub const SETTINGS: u64 = 0x4;
/// HTTP/3 frame type GOAWAY (RFC 9114 §7.2.6).
pub const GOAWAY: u64 = 0x7;
/// H3_REQUEST_REJECTED (RFC 9114 §8.1): the request was not processed at all.
pub const H3_REQUEST_REJECTED: u32 = 0x10b;
/// The unidirectional stream type of the control stream (RFC 9114 §6.2.1).
pub const CONTROL_STREAM: u64 = 0x0;
/// The unidirectional stream type of QPACK's encoder stream (RFC 9204 §4.2).
pub const QPACK_ENCODER_STREAM: u64 = 0x2;
/// The unidirectional stream type of QPACK's decoder stream (RFC 9204 §4.2).
pub const QPACK_DECODER_STREAM: u64 = 0x3;
/// H3_STREAM_CREATION_ERROR (RFC 9114 §8.1).
const H3_STREAM_CREATION_ERROR: u32 = 0x103;
/// `SETTINGS_MAX_FIELD_SECTION_SIZE` (RFC 9114 §7.2.4.1).
pub const SETTINGS_MAX_FIELD_SECTION_SIZE: u64 = 0x6;
/// The largest HEADERS frame the probe reads, as it advertises in its SETTINGS.
pub const MAX_FIELD_SECTION: u64 = 64 * 1024;
/// The most octets read from one request stream before a response is complete.
pub const MAX_STREAM_READ: usize = 1024 * 1024;
/// The most of a response body kept.
const MAX_BODY: usize = 64 * 1024;

/// Appends a QUIC variable-length integer (RFC 9000 §16). Values past 2^62 - 1 are cut to it.
pub fn put_varint(out: &mut Vec<u8>, value: u64) {
    let value = value.min((1 << 62) - 1);
    if value < 1 << 6 {
        out.push(value as u8);
    } else if value < 1 << 14 {
        out.extend_from_slice(&(0x4000 | value as u16).to_be_bytes());
    } else if value < 1 << 30 {
        out.extend_from_slice(&(0x8000_0000 | value as u32).to_be_bytes());
    } else {
        out.extend_from_slice(&(0xc000_0000_0000_0000 | value).to_be_bytes());
    }
}

/// Reads a QUIC variable-length integer at the start of `bytes`: its value and length, or
/// `None` when `bytes` ends inside it.
#[must_use]
pub fn get_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let first = *bytes.first()?;
    let len = 1usize << (first >> 6);
    let raw = bytes.get(..len)?;
    let mut value = u64::from(first & 0x3f);
    for &b in &raw[1..] {
        value = (value << 8) | u64::from(b);
    }
    Some((value, len))
}

/// A frame: its type, its length, its payload.
#[must_use]
pub fn frame(kind: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 16);
    put_varint(&mut out, kind);
    put_varint(&mut out, payload.len() as u64);
    out.extend_from_slice(payload);
    out
}

/// A field section of literal field lines with literal names (RFC 9204 §4.5.6), raw strings,
/// after a prefix of Required Insert Count 0 and Base 0 (§4.5.1): the server decodes exactly
/// these fields, in this order, byte for byte.
#[must_use]
pub fn encode_literals(fields: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = vec![0, 0];
    for (name, value) in fields {
        put_int(&mut out, 0x20, 3, name.len());
        out.extend_from_slice(name);
        put_int(&mut out, 0x00, 7, value.len());
        out.extend_from_slice(value);
    }
    out
}

/// The `:status` entries of QPACK's static table (RFC 9204 Appendix A): index and status.
const STATIC_STATUS: [(usize, u16); 14] = [
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
/// The last index of the static table.
const STATIC_LAST: usize = 98;

/// A prefixed integer at `bytes[*pos]` with an N-bit prefix, moving `pos` past it: HPACK's
/// (RFC 9204 §4.1.1 takes RFC 7541 §5.1's).
fn get_int(bytes: &[u8], pos: &mut usize, prefix: u32) -> Result<usize, String> {
    hpack::get_int(bytes, pos, prefix).map_err(|e| format!("QPACK: {}", e.reason()))
}

/// A string literal with an N-bit length prefix whose Huffman flag is `huffman_bit` of the
/// first octet.
fn get_string(
    bytes: &[u8],
    pos: &mut usize,
    prefix: u32,
    huffman_bit: u8,
) -> Result<Vec<u8>, String> {
    let huffman = bytes.get(*pos).is_some_and(|b| b & huffman_bit != 0);
    let len = get_int(bytes, pos, prefix)?;
    let end = pos
        .checked_add(len)
        .filter(|end| *end <= bytes.len())
        .ok_or("QPACK: a string runs past its field section")?;
    let raw = &bytes[*pos..end];
    *pos = end;
    if huffman {
        misdirect::huffman::decode(raw, 2 * MAX_FIELD_SECTION as usize)
            .map_err(|e| format!("QPACK: Huffman: {}", e.reason()))
    } else {
        Ok(raw.to_vec())
    }
}

fn status_text(value: &[u8]) -> Result<u16, String> {
    match value {
        [a @ b'1'..=b'9', b @ b'0'..=b'9', c @ b'0'..=b'9'] => {
            Ok(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => Err(format!(
            "QPACK: :status {:?} is not three digits",
            String::from_utf8_lossy(value)
        )),
    }
}

/// The `:status` of a response's field section, decoded against the static table only.
///
/// # Errors
/// A reference to the dynamic table (the probe allows none), an index past the static table,
/// a malformed line, no `:status` or two of them.
pub fn decode_status(block: &[u8]) -> Result<u16, String> {
    let mut pos = 0;
    if get_int(block, &mut pos, 8)? != 0 {
        return Err(
            "QPACK: Required Insert Count is not 0: a dynamic table the probe never allowed".into(),
        );
    }
    get_int(block, &mut pos, 7)?;
    let mut status = None;
    let mut found = |s: u16| {
        if status.replace(s).is_some() {
            Err("QPACK: two :status fields".to_string())
        } else {
            Ok(())
        }
    };
    while pos < block.len() {
        let b = block[pos];
        if b & 0x80 != 0 {
            // Indexed field line (§4.5.2).
            let is_static = b & 0x40 != 0;
            let index = get_int(block, &mut pos, 6)?;
            if !is_static || index > STATIC_LAST {
                return Err(format!(
                    "QPACK: an indexed line names entry {index} of a table the probe has not"
                ));
            }
            if let Some((_, s)) = STATIC_STATUS.iter().find(|(i, _)| *i == index) {
                found(*s)?;
            }
        } else if b & 0x40 != 0 {
            // Literal field line with name reference (§4.5.4).
            let is_static = b & 0x10 != 0;
            let index = get_int(block, &mut pos, 4)?;
            if !is_static || index > STATIC_LAST {
                return Err(format!(
                    "QPACK: a name reference to entry {index} of a table the probe has not"
                ));
            }
            let value = get_string(block, &mut pos, 7, 0x80)?;
            if STATIC_STATUS.iter().any(|(i, _)| *i == index) {
                found(status_text(&value)?)?;
            }
        } else if b & 0x20 != 0 {
            // Literal field line with literal name (§4.5.6).
            let name = get_string(block, &mut pos, 3, 0x08)?;
            let value = get_string(block, &mut pos, 7, 0x80)?;
            if name == b":status" {
                found(status_text(&value)?)?;
            }
        } else {
            return Err(
                "QPACK: a post-base reference to a dynamic table the probe never allowed".into(),
            );
        }
    }
    status.ok_or_else(|| "QPACK: a response without :status".into())
}

/// The transport limits the probe gives a server: no bidirectional streams of its own, four
/// unidirectional ones (control, QPACK's two, one more), 64 KiB per stream and 256 KiB per
/// connection in flight, an idle timeout of 10 s.
#[must_use]
pub fn transport() -> quinn::TransportConfig {
    let mut t = quinn::TransportConfig::default();
    t.max_concurrent_bidi_streams(0u32.into());
    t.max_concurrent_uni_streams(4u32.into());
    t.stream_receive_window((64u32 * 1024).into());
    t.receive_window((256u32 * 1024).into());
    t.datagram_receive_buffer_size(None);
    t.max_idle_timeout(quinn::IdleTimeout::try_from(Duration::from_secs(10)).ok());
    t
}

/// An HTTP/3 connection: QUIC up, the control stream sent.
#[derive(Debug)]
pub struct Http3 {
    conn: quinn::Connection,
    /// Kept open: closing the control stream is a connection error (RFC 9114 §6.2.1).
    _control: quinn::SendStream,
    /// The end-entity certificate the server presented.
    pub certificate: CertificateDer<'static>,
    /// Whether the server's control stream carried GOAWAY: no new request may go on the
    /// connection (RFC 9114 §5.2).
    goaway: Arc<AtomicBool>,
    /// Whether a response came on the connection: a crypto error after one is no refusal of
    /// the session (RFC 9001 §4.4: no client authentication after the handshake).
    answered: AtomicBool,
}

impl Http3 {
    /// Whether the connection has ended (the server closed it, or it timed out), as far as
    /// the packets processed so far say: [`Quic::reusable`] processes what has arrived.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.conn.close_reason().is_some()
    }

    /// Whether the server sent GOAWAY on its control stream.
    #[must_use]
    pub fn going_away(&self) -> bool {
        self.goaway.load(Ordering::Relaxed)
    }
}

impl Drop for Http3 {
    fn drop(&mut self) {
        // H3_NO_ERROR (RFC 9114 §8.1).
        self.conn.close(0x100u32.into(), b"");
    }
}

/// QUIC connections to one address, each ending by its deadline. It holds its own
/// single-threaded runtime: the probe's calls stay blocking.
#[derive(Debug)]
pub struct Quic {
    runtime: tokio::runtime::Runtime,
    endpoint: quinn::Endpoint,
    addr: SocketAddr,
}

/// Whether a connection error is the server's refusal of the session: its CONNECTION_CLOSE
/// carrying a TLS alert (a crypto error, RFC 9001 §4.8: 0x0100 + the alert).
fn tls_refusal(e: &ConnectionError) -> Option<String> {
    match e {
        ConnectionError::ConnectionClosed(close) => {
            let code = u64::from(close.error_code);
            (0x100..0x200).contains(&code).then(|| {
                format!(
                    "TLS alert {} (QUIC CONNECTION_CLOSE 0x{code:x})",
                    code - 0x100
                )
            })
        }
        _ => None,
    }
}

/// What a lost connection means for a request: a refusal of the session when the server
/// closed it with a TLS alert before any response on it (`answered` false), else an answer
/// (the connection closed) or an error.
fn lost(e: &ConnectionError, answered: bool) -> Got {
    if let Some(alert) = tls_refusal(e).filter(|_| !answered) {
        return Got::Refused(alert);
    }
    match e {
        ConnectionError::ApplicationClosed(_)
        | ConnectionError::ConnectionClosed(_)
        | ConnectionError::Reset => Got::Answer(Answer::Closed),
        other => Got::Error(format!("QUIC: {other}")),
    }
}

fn code32(code: quinn::VarInt) -> u32 {
    u32::try_from(code.into_inner()).unwrap_or(u32::MAX)
}

fn read_failed(e: ReadError, answered: bool) -> Got {
    match e {
        ReadError::Reset(code) => Got::Answer(Answer::Reset(code32(code))),
        ReadError::ConnectionLost(e) => lost(&e, answered),
        other => Got::Error(format!("QUIC read: {other}")),
    }
}

/// The probe's control stream: its type, then SETTINGS with the field section limit.
fn control_preface() -> Vec<u8> {
    let mut settings = Vec::new();
    put_varint(&mut settings, SETTINGS_MAX_FIELD_SECTION_SIZE);
    put_varint(&mut settings, MAX_FIELD_SECTION);
    let mut out = Vec::new();
    put_varint(&mut out, CONTROL_STREAM);
    out.extend_from_slice(&frame(SETTINGS, &settings));
    out
}

impl Quic {
    /// A QUIC client bound to an ephemeral UDP port, for connections to `addr` only.
    ///
    /// # Errors
    /// The runtime's or the socket's.
    pub fn new(addr: SocketAddr) -> io::Result<Quic> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let any = if addr.is_ipv6() {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        };
        let endpoint = {
            let _inside = runtime.enter();
            quinn::Endpoint::client(SocketAddr::new(any, 0))?
        };
        Ok(Quic {
            runtime,
            endpoint,
            addr,
        })
    }

    /// An HTTP/3 connection with this SNI (or none), offering ALPN `h3` and the dialer's
    /// client certificate, by `deadline`.
    ///
    /// # Errors
    /// A [`DialError`]: `refused_by_server` when the server closed the connection with a TLS
    /// alert.
    pub fn connect(
        &self,
        dialer: &Dialer,
        sni: Option<&str>,
        deadline: Instant,
    ) -> Result<Http3, DialError> {
        let seen = Arc::new(Mutex::new(None));
        let fail = |message: String, refused_by_server: bool| DialError {
            message,
            certificate: seen.lock().ok().and_then(|s| s.clone()),
            refused_by_server,
        };
        let (config, _) = dialer
            .client_config(sni, &[b"h3"], true, &seen)
            .map_err(|m| fail(m, false))?;
        let crypto = QuicClientConfig::try_from(Arc::new(config))
            .map_err(|e| fail(format!("QUIC: {e}"), false))?;
        let mut client = quinn::ClientConfig::new(Arc::new(crypto));
        client.transport_config(Arc::new(transport()));
        // quinn spawns the connection's driver on the runtime it is called in.
        let connecting = {
            let _inside = self.runtime.enter();
            self.endpoint
                .connect_with(client, self.addr, sni.unwrap_or("no-sni.invalid"))
        }
        .map_err(|e| fail(format!("QUIC connect: {e}"), false))?;
        let made = self.runtime.block_on(async {
            tokio::time::timeout_at(deadline.into(), async {
                let conn = connecting.await.map_err(|e| {
                    let refused = tls_refusal(&e).is_some()
                        || matches!(
                            e,
                            ConnectionError::ConnectionClosed(_)
                                | ConnectionError::ApplicationClosed(_)
                                | ConnectionError::Reset
                        );
                    (format!("QUIC handshake: {e}"), refused)
                })?;
                let mut control = conn.open_uni().await.map_err(|e| {
                    (
                        format!("HTTP/3 control stream: {e}"),
                        tls_refusal(&e).is_some(),
                    )
                })?;
                control
                    .write_all(&control_preface())
                    .await
                    .map_err(|e| (format!("HTTP/3 control stream: {e}"), false))?;
                Ok::<_, (String, bool)>((conn, control))
            })
            .await
        });
        let (conn, control) = match made {
            Ok(Ok(made)) => made,
            Ok(Err((message, refused))) => return Err(fail(message, refused)),
            Err(_) => return Err(fail("QUIC handshake: timed out".into(), false)),
        };
        let goaway = Arc::new(AtomicBool::new(false));
        self.runtime
            .spawn(read_server_streams(conn.clone(), Arc::clone(&goaway)));
        let certificate = conn
            .peer_identity()
            .and_then(|any| any.downcast::<Vec<CertificateDer<'static>>>().ok())
            .and_then(|chain| chain.first().cloned())
            .or_else(|| seen.lock().ok().and_then(|s| s.clone()))
            .ok_or_else(|| fail("QUIC handshake: no server certificate".into(), false))?;
        Ok(Http3 {
            conn,
            _control: control,
            certificate,
            goaway,
            answered: AtomicBool::new(false),
        })
    }

    /// Whether `conn` may carry another request: not closed and no GOAWAY, once the packets
    /// that arrived since the last call are processed (the runtime runs only inside calls, so
    /// a close the server sent between scenarios is not seen before; up to 5 ms are given to
    /// it).
    #[must_use]
    pub fn reusable(&self, conn: &Http3) -> bool {
        let closed = self.runtime.block_on(async {
            tokio::time::timeout(Duration::from_millis(5), conn.conn.closed())
                .await
                .is_ok()
        });
        !closed && !conn.is_closed() && !conn.going_away()
    }

    /// Why the server ended `conn` within `within` of its handshake, if it did: under TLS 1.3
    /// a server that requires a client certificate refuses the session only after the
    /// client's Finished, so a handshake that completed may still be refused.
    #[must_use]
    pub fn settle(&self, conn: &Http3, within: Duration) -> Option<String> {
        let closed = self
            .runtime
            .block_on(async { tokio::time::timeout(within, conn.conn.closed()).await.ok() })?;
        Some(match tls_refusal(&closed) {
            Some(alert) => alert,
            None => format!("the server closed the connection after the handshake: {closed}"),
        })
    }

    /// Sends one request (these fields, in order, then FIN) on a new stream of `conn` and reads
    /// its response, all by `deadline`.
    ///
    /// # Errors
    /// What came back instead of a response: a stream reset or a closed connection as
    /// [`Got::Answer`], a TLS refusal as [`Got::Refused`], a timeout or a broken response as
    /// [`Got::Error`].
    pub fn exchange(
        &self,
        conn: &Http3,
        fields: &[(&[u8], &[u8])],
        deadline: Instant,
    ) -> Result<Answer, Got> {
        let request = frame(HEADERS, &encode_literals(fields));
        let answered = conn.answered.load(Ordering::Relaxed);
        let got = self.runtime.block_on(async {
            let (mut send, recv) = tokio::time::timeout_at(deadline.into(), conn.conn.open_bi())
                .await
                .map_err(|_| timed_out())?
                .map_err(|e| lost(&e, answered))?;
            let stopped = match tokio::time::timeout_at(deadline.into(), send.write_all(&request))
                .await
                .map_err(|_| timed_out())?
            {
                Ok(()) => {
                    // FIN; a stream the server already stopped is no error here: its reset
                    // comes on the receiving side.
                    let _ = send.finish();
                    None
                }
                // The server stopped the request (it may answer without reading all of it):
                // a complete response still stands (RFC 9114 §4.1.2), read it.
                Err(WriteError::Stopped(code)) => Some(code32(code)),
                Err(WriteError::ConnectionLost(e)) => return Err(lost(&e, answered)),
                Err(other) => return Err(Got::Error(format!("QUIC write: {other}"))),
            };
            match (read_response(recv, deadline, answered).await, stopped) {
                (Err(_), Some(code)) => Err(Got::Answer(Answer::Reset(code))),
                (got, _) => got,
            }
        });
        if got.is_ok() {
            conn.answered.store(true, Ordering::Relaxed);
        }
        got
    }
}

/// The unidirectional streams the server opens, each read as it arrives and its octets
/// discarded: its control stream and QPACK's two (RFC 9114 §6.2), whose contents the probe
/// needs not (no dynamic table, no push, no extension), are drained so that they never hold
/// the connection's flow-control window; any other type is refused with STOP_SENDING
/// (H3_STREAM_CREATION_ERROR, as §6.2.3 allows), which frees its credit at once. The tasks run
/// only while a call blocks on the runtime, so they take no time outside the probe's deadlines.
async fn read_server_streams(conn: quinn::Connection, goaway: Arc<AtomicBool>) {
    while let Ok(mut stream) = conn.accept_uni().await {
        let goaway = Arc::clone(&goaway);
        tokio::spawn(async move {
            let mut kind = [0u8; 8];
            if stream.read_exact(&mut kind[..1]).await.is_err() {
                return;
            }
            let len = 1usize << (kind[0] >> 6);
            if stream.read_exact(&mut kind[1..len]).await.is_err() {
                return;
            }
            match get_varint(&kind[..len]).map(|(kind, _)| kind) {
                Some(CONTROL_STREAM) => {
                    // Frames read for their heads only, payloads skipped: GOAWAY is noted.
                    let mut sink = vec![0u8; 4096];
                    let mut head: Vec<u8> = Vec::with_capacity(16);
                    let mut skip = 0usize;
                    while let Ok(Some(n)) = stream.read(&mut sink).await {
                        let mut data = &sink[..n];
                        while !data.is_empty() {
                            if skip > 0 {
                                let take = skip.min(data.len());
                                data = &data[take..];
                                skip -= take;
                                continue;
                            }
                            head.push(data[0]);
                            data = &data[1..];
                            let parsed = get_varint(&head).and_then(|(kind, a)| {
                                get_varint(&head[a..]).map(|(len, _)| (kind, len))
                            });
                            if let Some((kind, len)) = parsed {
                                if kind == GOAWAY {
                                    goaway.store(true, Ordering::Relaxed);
                                }
                                skip = usize::try_from(len).unwrap_or(usize::MAX);
                                head.clear();
                            }
                        }
                    }
                }
                Some(QPACK_ENCODER_STREAM | QPACK_DECODER_STREAM) => {
                    let mut sink = vec![0u8; 4096];
                    while let Ok(Some(_)) = stream.read(&mut sink).await {}
                }
                _ => {
                    let _ = stream.stop(H3_STREAM_CREATION_ERROR.into());
                }
            }
        });
    }
}

/// The frames of one request stream, read with a cap on the octets read in all.
struct Frames {
    recv: quinn::RecvStream,
    buf: Vec<u8>,
    read: usize,
    /// Whether a response came on the connection before this one.
    answered: bool,
}

impl Frames {
    /// Reads until `n` octets are buffered; `false` when the stream ended first.
    async fn fill(&mut self, n: usize) -> Result<bool, Got> {
        let mut chunk = [0u8; 16 * 1024];
        while self.buf.len() < n {
            match self
                .recv
                .read(&mut chunk)
                .await
                .map_err(|e| read_failed(e, self.answered))?
            {
                None => return Ok(false),
                Some(k) => {
                    self.read += k;
                    if self.read > MAX_STREAM_READ {
                        return Err(Got::Error(format!(
                            "HTTP/3: more than {MAX_STREAM_READ} octets on the request stream"
                        )));
                    }
                    self.buf.extend_from_slice(&chunk[..k]);
                }
            }
        }
        Ok(true)
    }

    /// The next frame's type and length, or `None` when the stream ended between frames.
    async fn head(&mut self) -> Result<Option<(u64, u64)>, Got> {
        let mut fields = [0u64; 2];
        for (i, field) in fields.iter_mut().enumerate() {
            if !self.fill(1).await? {
                // The stream may end between frames, not inside one.
                return if i == 0 && self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(Got::Answer(Answer::Closed))
                };
            }
            let len = 1usize << (self.buf[0] >> 6);
            if !self.fill(len).await? {
                return Err(Got::Answer(Answer::Closed));
            }
            let (value, used) = get_varint(&self.buf).ok_or(Got::Answer(Answer::Closed))?;
            self.buf.drain(..used);
            *field = value;
        }
        Ok(Some((fields[0], fields[1])))
    }

    /// A payload of `len` octets, at most `keep` of them kept in `into`; with `keep` above 0,
    /// reading stops once `into` holds `keep` (the rest is never read).
    async fn payload(&mut self, len: u64, into: &mut Vec<u8>, keep: usize) -> Result<(), Got> {
        let mut left = usize::try_from(len).unwrap_or(usize::MAX);
        while left > 0 && !(keep > 0 && into.len() >= keep) {
            if self.buf.is_empty() && !self.fill(1).await? {
                return Err(Got::Answer(Answer::Closed));
            }
            let take = left.min(self.buf.len());
            let room = keep.saturating_sub(into.len()).min(take);
            into.extend_from_slice(&self.buf[..room]);
            self.buf.drain(..take);
            left -= take;
        }
        Ok(())
    }
}

fn timed_out() -> Got {
    Got::Error("timed out: the scenario's deadline passed".into())
}

/// A response by `deadline`: interim ones skipped, the final HEADERS' status, then DATA up to
/// 64 KiB. Once the status is read it stands: the stream or the connection ending, a reset,
/// the read cap or the deadline only end the body (a 200 cut short is still served).
async fn read_response(
    recv: quinn::RecvStream,
    deadline: Instant,
    answered: bool,
) -> Result<Answer, Got> {
    let mut frames = Frames {
        recv,
        buf: Vec::new(),
        read: 0,
        answered,
    };
    let status = tokio::time::timeout_at(deadline.into(), read_status(&mut frames))
        .await
        .map_err(|_| timed_out())??;
    let Some(status) = status else {
        return Ok(Answer::Closed);
    };
    let mut body = Vec::new();
    while body.len() < MAX_BODY {
        let next = async {
            match frames.head().await? {
                None => Ok(false),
                Some((DATA, len)) => frames
                    .payload(len, &mut body, MAX_BODY)
                    .await
                    .map(|()| true),
                Some((_, len)) => frames.payload(len, &mut Vec::new(), 0).await.map(|()| true),
            }
        };
        match tokio::time::timeout_at(deadline.into(), next).await {
            Ok(Ok(true)) => {}
            // The end of the stream, a reset, a close, the cap or the deadline.
            _ => break,
        }
    }
    // Dropping the stream stops it (STOP_SENDING) if the server is still sending.
    Ok(Answer::Response { status, body })
}

/// The final status of a response, interim ones skipped; `None` when the stream ended
/// cleanly before any response.
async fn read_status(frames: &mut Frames) -> Result<Option<u16>, Got> {
    let mut interim = 0;
    loop {
        let Some((kind, len)) = frames.head().await? else {
            if interim > 0 {
                return Err(Got::Error(format!(
                    "HTTP/3: the request stream ended after {interim} interim responses and no final one"
                )));
            }
            return Ok(None);
        };
        match kind {
            HEADERS => {
                if len > MAX_FIELD_SECTION {
                    return Err(Got::Error(format!(
                        "HTTP/3: a HEADERS frame of {len} octets, past the {MAX_FIELD_SECTION} advertised"
                    )));
                }
                let mut block = Vec::new();
                frames
                    .payload(len, &mut block, MAX_FIELD_SECTION as usize)
                    .await?;
                let status = decode_status(&block).map_err(Got::Error)?;
                if (100..200).contains(&status) {
                    interim += 1;
                    if interim > MAX_INTERIM {
                        return Err(Got::Error(format!(
                            "HTTP/3: more than {MAX_INTERIM} interim responses"
                        )));
                    }
                    continue;
                }
                return Ok(Some(status));
            }
            DATA => {
                return Err(Got::Error(
                    "HTTP/3: DATA before a response's HEADERS".into(),
                ));
            }
            _ => frames.payload(len, &mut Vec::new(), 0).await?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_each_length() {
        for value in [
            0,
            63,
            64,
            16_383,
            16_384,
            (1 << 30) - 1,
            1 << 30,
            (1 << 62) - 1,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(get_varint(&out), Some((value, out.len())), "{value}");
        }
        // RFC 9000 §A.1's examples.
        assert_eq!(get_varint(&[0x40, 0x25]), Some((37, 2)));
        assert_eq!(
            get_varint(&[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c]),
            Some((151_288_809_941_952_652, 8))
        );
        assert_eq!(get_varint(&[0x80, 0x01]), None);
    }

    #[test]
    fn statuses_decode_from_every_line_form() {
        // Indexed static 25 (200); name reference to 69 with a literal 421; a literal name.
        assert_eq!(decode_status(&[0, 0, 0xc0 | 25]), Ok(200));
        assert_eq!(
            decode_status(&[0, 0, 0x50 | 15, 69 - 15, 3, b'4', b'2', b'1']),
            Ok(421)
        );
        // The name's length, 7, fills the 3-bit prefix: a continuation octet of 0 follows.
        let mut block = vec![0, 0, 0x20 | 7, 0];
        block.extend_from_slice(b":status");
        block.extend_from_slice(&[3, b'4', b'0', b'0']);
        assert_eq!(decode_status(&block), Ok(400));
        // Huffman-coded "421" under name reference 24 (RFC 7541 Appendix B: 4 = 011010,
        // 2 = 00010, 1 = 00001): 16 bits, no padding.
        let coded = [0b0110_1000, 0b0100_0001];
        let mut block = vec![0, 0, 0x50 | 15, 24 - 15, 0x80 | 2];
        block.extend_from_slice(&coded);
        assert_eq!(decode_status(&block), Ok(421));
        // Other fields pass by: content-length 0 (static 4) before the status.
        assert_eq!(decode_status(&[0, 0, 0xc0 | 4, 0xc0 | 27]), Ok(404));
    }

    #[test]
    fn what_the_probe_never_allowed_is_refused() {
        for (block, what) in [
            (vec![1, 0, 0xc0 | 25], "Required Insert Count"),
            (vec![0, 0, 0x80 | 1], "dynamic indexed"),
            (vec![0, 0, 0x40 | 1, 1, b'x'], "dynamic name reference"),
            (vec![0, 0, 0x10], "post-base indexed"),
            (vec![0, 0, 0x00, 1, b'x'], "post-base name reference"),
            (vec![0, 0, 0xff, 0x40], "index past the static table"),
            (vec![0, 0], "no status"),
            (vec![0, 0, 0xc0 | 25, 0xc0 | 27], "two statuses"),
            (
                vec![0, 0, 0x50 | 15, 69 - 15, 5, b'4', b'2'],
                "string past the section",
            ),
            (vec![0, 0, 0x50 | 15, 69 - 15, 2, b'4', b'2'], "two digits"),
            (
                vec![0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                "integer past 2^28",
            ),
        ] {
            assert!(decode_status(&block).is_err(), "{what}: {block:?}");
        }
    }

    #[test]
    fn literals_hold_any_bytes_and_long_names() {
        let long = vec![b'x'; 300];
        let block = encode_literals(&[(b":authority", &long), (b"host", b"a\x00b")]);
        // Prefix, then 001 N H and a 3-bit length: 10 does not fit, so 7 and 3 follow.
        assert_eq!(&block[..4], &[0, 0, 0x27, 3]);
        assert_eq!(&block[4..14], b":authority");
        // 300 in a 7-bit prefix: 127, then 173 = 0xad | 0x80, 1.
        assert_eq!(&block[14..17], &[0x7f, 0xad, 0x01]);
    }
}
