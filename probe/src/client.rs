//! The probe's own client: TLS with any SNI or none and a chosen client certificate or none
//! (rustls, ring), and HTTP/1.x written byte for byte.
//!
//! Everything is blocking, one connection and one request at a time, which is all a probe
//! needs and keeps every exchange's order plain. Every connection ends by a deadline
//! ([`TimedTcp`]): a per-read timeout alone is reset by each byte, so a server answering one
//! byte at a time, or a PING a second, would hold the probe for ever.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
    StreamOwned, SupportedProtocolVersion,
};

use super::h2::is_closed;
use super::{Answer, MAX_INTERIM, ProbeError};

/// A TLS connection of the probe's client.
pub type TlsStream = StreamOwned<ClientConnection, TimedTcp>;

/// A TCP stream whose reads and writes all end by one deadline: before each, the socket's
/// timeout is set to the time left, so however the peer trickles its bytes, nothing waits
/// past the deadline; once it has passed, every read and write fails at once
/// (`ErrorKind::TimedOut`).
#[derive(Debug)]
pub struct TimedTcp {
    tcp: TcpStream,
    deadline: Instant,
}

impl TimedTcp {
    /// A connection to `addr` made by `deadline`, whose reads and writes end by it too.
    ///
    /// # Errors
    /// The connect's, or `TimedOut` when the deadline has passed.
    pub fn connect(addr: SocketAddr, deadline: Instant) -> io::Result<TimedTcp> {
        let tcp = TcpStream::connect_timeout(&addr, left(deadline, "connect")?)?;
        tcp.set_nodelay(true)?;
        Ok(TimedTcp { tcp, deadline })
    }

    /// The instant every read and write ends by.
    #[must_use]
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline (later for the next exchange on the connection, or sooner).
    pub fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = deadline;
    }

    /// The socket underneath.
    #[must_use]
    pub fn get_ref(&self) -> &TcpStream {
        &self.tcp
    }
}

/// The time left before `deadline`, or `TimedOut` when none is.
fn left(deadline: Instant, what: &str) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(past(what));
    }
    Ok(left)
}

fn past(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("{what} timed out: the deadline passed"),
    )
}

/// A socket timeout is the deadline's: `WouldBlock` (as Unix reports `SO_RCVTIMEO`) would
/// read as "try again" to rustls, which must not retry past the deadline.
fn timed_out(e: io::Error, what: &str) -> io::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => past(what),
        _ => e,
    }
}

/// Whether a socket timeout came before the deadline (the kernel's timer may end a wait a
/// little early): the call is then made again with the time left.
fn early(e: &io::Error, deadline: Instant) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ) && Instant::now() < deadline
}

impl Read for TimedTcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            self.tcp
                .set_read_timeout(Some(left(self.deadline, "read")?))?;
            match self.tcp.read(buf) {
                Err(e) if early(&e, self.deadline) => {}
                other => return other.map_err(|e| timed_out(e, "read")),
            }
        }
    }
}

impl Write for TimedTcp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            self.tcp
                .set_write_timeout(Some(left(self.deadline, "write")?))?;
            match self.tcp.write(buf) {
                Err(e) if early(&e, self.deadline) => {}
                other => return other.map_err(|e| timed_out(e, "write")),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// A connection that could not be made.
#[derive(Debug)]
pub struct DialError {
    /// What went wrong: connect, TLS, or the CA check.
    pub message: String,
    /// The certificate the server presented before the handshake failed, if it got that far
    /// (a server that requires a client certificate fails the handshake after presenting its
    /// own).
    pub certificate: Option<CertificateDer<'static>>,
    /// Whether the server ended the handshake itself: a TLS alert, or the connection closed or
    /// reset during it. A timeout or a failed connect is not a refusal.
    pub refused_by_server: bool,
}

impl core::fmt::Display for DialError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DialError {}

/// A connected TLS session and what its handshake showed.
#[derive(Debug)]
pub struct Tls {
    /// The stream, handshake done; its deadline is still the handshake's (see
    /// [`TimedTcp::set_deadline`] for what follows on it).
    pub stream: TlsStream,
    /// The end-entity certificate the server presented.
    pub certificate: CertificateDer<'static>,
    /// The ALPN protocol agreed, if any.
    pub alpn: Option<Vec<u8>>,
}

/// Makes TCP and TLS connections to one address only: the address is fixed at construction
/// and every connection goes there, whatever SNI or authority is sent on it.
#[derive(Debug)]
pub struct Dialer {
    addr: SocketAddr,
    deadline: Duration,
    provider: Arc<CryptoProvider>,
    roots: Option<Arc<RootCertStore>>,
    client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

impl Dialer {
    /// A dialer to `addr` whose handshakes ([`Dialer::tls`]: the connect, TLS and what
    /// follows on the stream until its deadline is moved) each end within `deadline`. It
    /// accepts any server certificate (the probe records it) until [`Dialer::trust`] names a
    /// CA, and sends no client certificate until [`Dialer::client_certificate`] gives one.
    #[must_use]
    pub fn new(addr: SocketAddr, deadline: Duration) -> Dialer {
        Dialer {
            addr,
            deadline,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            roots: None,
            client: None,
        }
    }

    /// The address every connection goes to.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How long a handshake of [`Dialer::tls`] may take.
    #[must_use]
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Checks every server certificate chain against the CAs in this PEM text. Names are not
    /// checked: the probe sends SNIs and authorities the certificate is not meant to cover, and
    /// records the certificate's names instead.
    ///
    /// # Errors
    /// When the text holds no certificate a trust anchor can be made from.
    pub fn trust(mut self, ca_pem: &[u8]) -> Result<Dialer, ProbeError> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem) {
            let cert = cert.map_err(|e| ProbeError(format!("CA file: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| ProbeError(format!("CA file: {e}")))?;
        }
        if roots.is_empty() {
            return Err(ProbeError("CA file: no PEM CERTIFICATE block".into()));
        }
        self.roots = Some(Arc::new(roots));
        Ok(self)
    }

    /// Offers this certificate chain and key when a server asks for a client certificate.
    ///
    /// # Errors
    /// When the PEM texts hold no certificate or no private key.
    pub fn client_certificate(
        mut self,
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<Dialer, ProbeError> {
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ProbeError(format!("client certificate: {e}")))?;
        if chain.is_empty() {
            return Err(ProbeError(
                "client certificate: no PEM CERTIFICATE block".into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| ProbeError(format!("client key: {e}")))?;
        self.client = Some((chain, key));
        Ok(self)
    }

    /// A TCP connection whose connect, reads and writes end by `deadline`.
    ///
    /// # Errors
    /// The connect's, or `TimedOut`.
    pub fn tcp(&self, deadline: Instant) -> io::Result<TimedTcp> {
        TimedTcp::connect(self.addr, deadline)
    }

    /// A TLS connection with this SNI (`None`: no server_name extension at all) offering these
    /// ALPN protocols, made within the dialer's deadline from now. No session is resumed:
    /// every handshake is a full one, so the certificate and policy are the ones this SNI
    /// selects.
    ///
    /// # Errors
    /// A [`DialError`], with the certificate when the server presented one before failing.
    pub fn tls(&self, sni: Option<&str>, alpn: &[&[u8]]) -> Result<Tls, DialError> {
        self.tls_by(sni, alpn, Instant::now() + self.deadline)
    }

    /// [`Dialer::tls`], made by `deadline`: the connect and every read and write of the
    /// handshake end by it, and the stream keeps it.
    ///
    /// # Errors
    /// A [`DialError`], with the certificate when the server presented one before failing.
    pub fn tls_by(
        &self,
        sni: Option<&str>,
        alpn: &[&[u8]],
        deadline: Instant,
    ) -> Result<Tls, DialError> {
        let seen = Arc::new(Mutex::new(None));
        let (config, name) = self
            .client_config(sni, alpn, false, &seen)
            .map_err(|message| DialError {
                message,
                certificate: None,
                refused_by_server: false,
            })?;
        self.tls_with(Arc::new(config), name, &seen, &[], deadline)
            .map(|(tls, _)| tls)
    }

    /// A TLS connection made with this configuration (from [`Dialer::client_config`], then
    /// changed: its resumption store, early data) for this server name, by `deadline` as
    /// [`Dialer::tls_by`]; `seen` is the configuration's recorder (the certificate a failed
    /// handshake showed). When rustls offers early data on it (a TLS 1.3 ticket whose
    /// `max_early_data_size` holds all of `early_data`, and `enable_early_data`), `early_data`
    /// is written as 0-RTT data before the handshake; the count says how many bytes were (0:
    /// none, and then nothing of it was sent).
    ///
    /// # Errors
    /// A [`DialError`], with the certificate when the server presented one before failing.
    pub(crate) fn tls_with(
        &self,
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
        seen: &Arc<Mutex<Option<CertificateDer<'static>>>>,
        early_data: &[u8],
        deadline: Instant,
    ) -> Result<(Tls, usize), DialError> {
        let fail = |message: String| DialError {
            message,
            certificate: seen.lock().ok().and_then(|s| s.clone()),
            refused_by_server: false,
        };
        let mut conn =
            ClientConnection::new(config, name).map_err(|e| fail(format!("TLS: {e}")))?;
        let mut early = 0;
        if !early_data.is_empty() {
            if let Some(mut writer) = conn.early_data() {
                if writer.bytes_left() >= early_data.len() {
                    early = writer
                        .write(early_data)
                        .map_err(|e| fail(format!("early data: {e}")))?;
                }
            }
        }
        let tcp = self
            .tcp(deadline)
            .map_err(|e| fail(format!("connect {}: {e}", self.addr)))?;
        let mut stream = StreamOwned::new(conn, tcp);
        while stream.conn.is_handshaking() {
            if let Err(e) = stream.conn.complete_io(&mut stream.sock) {
                let mut error = fail(format!("TLS handshake: {e}"));
                error.refused_by_server = tls_alert(&e).is_some()
                    || matches!(
                        e.kind(),
                        io::ErrorKind::UnexpectedEof
                            | io::ErrorKind::ConnectionReset
                            | io::ErrorKind::ConnectionAborted
                            // TLS 1.2: the server's alert and close can come while the client
                            // still writes its last flight.
                            | io::ErrorKind::BrokenPipe
                    );
                return Err(error);
            }
        }
        let certificate = stream
            .conn
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|c| c.clone().into_owned())
            .ok_or_else(|| fail("TLS handshake: no server certificate".into()))?;
        let alpn = stream.conn.alpn_protocol().map(<[u8]>::to_vec);
        Ok((
            Tls {
                stream,
                certificate,
                alpn,
            },
            early,
        ))
    }
}

impl Dialer {
    /// The rustls configuration of one handshake, and the name it is made for: this SNI (or
    /// none, the name then serving only the name-blind verifier), these ALPN protocols, no
    /// resumption, the client certificate if one was given, and a verifier that records the
    /// server's certificate in `seen`. `tls13_only` for QUIC (RFC 9001 §4.2: TLS 1.3 or later).
    pub(crate) fn client_config(
        &self,
        sni: Option<&str>,
        alpn: &[&[u8]],
        tls13_only: bool,
        seen: &Arc<Mutex<Option<CertificateDer<'static>>>>,
    ) -> Result<(ClientConfig, ServerName<'static>), String> {
        let versions: &[&'static SupportedProtocolVersion] = if tls13_only {
            &[&rustls::version::TLS13]
        } else {
            rustls::DEFAULT_VERSIONS
        };
        self.client_config_versions(sni, alpn, versions, seen)
    }

    /// [`Dialer::client_config`] offering only these protocol versions: the resumption
    /// scenarios hold a TLS 1.2 session apart from a TLS 1.3 ticket this way.
    pub(crate) fn client_config_versions(
        &self,
        sni: Option<&str>,
        alpn: &[&[u8]],
        versions: &[&'static SupportedProtocolVersion],
        seen: &Arc<Mutex<Option<CertificateDer<'static>>>>,
    ) -> Result<(ClientConfig, ServerName<'static>), String> {
        let verifier = match &self.roots {
            Some(roots) => Some(
                WebPkiServerVerifier::builder_with_provider(
                    Arc::clone(roots),
                    Arc::clone(&self.provider),
                )
                .build()
                .map_err(|e| format!("CA: {e}"))?,
            ),
            None => None,
        };
        let recorder = Arc::new(Recorder {
            provider: Arc::clone(&self.provider),
            verifier,
            seen: Arc::clone(seen),
        });
        let builder = ClientConfig::builder_with_provider(Arc::clone(&self.provider));
        let builder = builder
            .with_protocol_versions(versions)
            .map_err(|e| format!("TLS: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(recorder);
        let mut config = match &self.client {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|e| format!("client certificate: {e}"))?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        config.resumption = Resumption::disabled();
        config.enable_sni = sni.is_some();
        let name = ServerName::try_from(sni.unwrap_or("no-sni.invalid").to_string())
            .map_err(|e| format!("SNI {sni:?}: {e}"))?;
        Ok((config, name))
    }
}

/// The server certificate verifier: records the end-entity certificate, checks the chain
/// against the CA when there is one (accepting any name), and always checks the handshake
/// signatures, so the session is really with the holder of the certificate recorded.
#[derive(Debug)]
struct Recorder {
    provider: Arc<CryptoProvider>,
    verifier: Option<Arc<WebPkiServerVerifier>>,
    seen: Arc<Mutex<Option<CertificateDer<'static>>>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(end_entity.clone().into_owned());
        }
        let Some(verifier) = &self.verifier else {
            return Ok(ServerCertVerified::assertion());
        };
        match verifier.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The TLS alert in an I/O error, when the error is one: the server refused the session
/// (a client certificate it requires was not sent, for instance), not the request.
#[must_use]
pub fn tls_alert(e: &io::Error) -> Option<String> {
    let inner = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    match inner {
        rustls::Error::AlertReceived(alert) => Some(format!("TLS alert {alert:?}")),
        _ => None,
    }
}

/// The most response kept (headers and body); the rest is dropped.
const MAX_RESPONSE: usize = 64 * 1024;

/// Writes an HTTP/1.x request as given, byte for byte, and reads the response: the status of
/// the final (non-1xx) response and its body (by `Content-Length`, chunked until the last
/// chunk, or until the connection ends). A connection that ends before a status line is
/// [`Answer::Closed`]. At most [`MAX_INTERIM`] informational responses are read before it.
///
/// # Errors
/// A timeout, a TLS alert, a response that is not HTTP/1.x, or more than [`MAX_INTERIM`]
/// informational responses.
pub fn http1_exchange<S: Read + Write>(io: &mut S, request: &[u8]) -> io::Result<Answer> {
    http1_exchange_with(io, request, None).map(|(answer, _)| answer)
}

/// [`http1_exchange`], also giving the value of the final response's first field named
/// `field` (ASCII case-insensitive), if asked for and present.
///
/// # Errors
/// As [`http1_exchange`].
pub fn http1_exchange_with<S: Read + Write>(
    io: &mut S,
    request: &[u8],
    field: Option<&str>,
) -> io::Result<(Answer, Option<String>)> {
    match io.write_all(request).and_then(|()| io.flush()) {
        Err(e) if is_closed(&e) => return Ok((Answer::Closed, None)),
        other => other?,
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut eof = false;
    let mut read = |buf: &mut Vec<u8>, eof: &mut bool| -> io::Result<()> {
        match io.read(&mut chunk) {
            Ok(0) => *eof = true,
            Ok(n) => buf.extend_from_slice(&chunk[..n.min(MAX_RESPONSE.saturating_sub(buf.len()))]),
            Err(e) if is_closed(&e) => *eof = true,
            Err(e) => return Err(e),
        }
        Ok(())
    };
    let mut interim = 0;
    loop {
        // Skip informational responses; stop at the final one's end of headers.
        let end = loop {
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                break end + 4;
            }
            if eof || buf.len() >= MAX_RESPONSE {
                return if buf.is_empty() || eof {
                    Ok((Answer::Closed, None))
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "headers too long",
                    ))
                };
            }
            read(&mut buf, &mut eof)?;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let status = parse_status_line(&head)?;
        if (100..200).contains(&status) {
            // RFC 9110 §15.2 puts no bound on how many precede the final response.
            interim += 1;
            if interim > MAX_INTERIM {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("more than {MAX_INTERIM} informational (1xx) responses"),
                ));
            }
            buf.drain(..end);
            continue;
        }
        let length = header(&head, "content-length").and_then(|v| v.trim().parse::<usize>().ok());
        let chunked = header(&head, "transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        loop {
            let body = &buf[end..];
            let complete = match length {
                Some(n) => body.len() >= n,
                None if chunked => body.ends_with(b"0\r\n\r\n"),
                None => false,
            };
            if complete || eof || buf.len() >= MAX_RESPONSE {
                break;
            }
            read(&mut buf, &mut eof)?;
        }
        let body = buf[end..].to_vec();
        let value = field
            .and_then(|name| header(&head, name))
            .map(|v| v.trim().to_string());
        return Ok((Answer::Response { status, body }, value));
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn parse_status_line(head: &str) -> io::Result<u16> {
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.splitn(3, ' ');
    match (parts.next(), parts.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/1.") && code.len() == 3 => code
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a status that is no number")),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not an HTTP/1.x status line: {line:?}"),
        )),
    }
}

fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A byte stream that reads from a script and records what is written.
    struct Script {
        input: io::Cursor<Vec<u8>>,
        written: Vec<u8>,
    }

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            // One byte at a time: every split of the response must parse.
            let n = buf.len().min(1);
            self.input.read(&mut buf[..n])
        }
    }

    impl Write for Script {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn run(response: &[u8]) -> io::Result<Answer> {
        let mut script = Script {
            input: io::Cursor::new(response.to_vec()),
            written: Vec::new(),
        };
        let answer = http1_exchange(&mut script, b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(script.written, b"GET / HTTP/1.1\r\n\r\n");
        answer
    }

    #[test]
    fn http1_responses_read() {
        let answer = run(b"HTTP/1.1 421 Misdirected Request\r\nContent-Length: 3\r\n\r\nabcEXTRA");
        assert_eq!(
            answer.unwrap(),
            Answer::Response {
                status: 421,
                body: b"abc".to_vec()
            }
        );
        let answer = run(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nsite a");
        assert_eq!(
            answer.unwrap(),
            Answer::Response {
                status: 200,
                body: b"site a".to_vec()
            }
        );
        let answer =
            run(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n");
        assert_eq!(answer.unwrap().status(), Some(200));
        assert_eq!(run(b"").unwrap(), Answer::Closed);
        assert_eq!(run(b"HTTP/1.1 200 O").unwrap(), Answer::Closed);
        assert!(run(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
    }

    #[test]
    fn informational_responses_are_bounded() {
        let interim = |n: usize| {
            let mut response = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(n);
            response.extend_from_slice(b"HTTP/1.1 204 No Content\r\n\r\n");
            response
        };
        assert_eq!(run(&interim(MAX_INTERIM)).unwrap().status(), Some(204));
        let e = run(&interim(MAX_INTERIM + 1)).unwrap_err();
        assert!(e.to_string().contains("informational"), "{e}");
    }

    /// A deadline already passed fails every read and write at once; one in the future lets
    /// them through.
    #[test]
    fn a_timed_stream_ends_at_its_deadline() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut tcp = TimedTcp::connect(addr, Instant::now() + Duration::from_secs(5)).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        server.write_all(b"x").unwrap();
        let mut byte = [0u8; 1];
        assert_eq!(tcp.read(&mut byte).unwrap(), 1);
        // Nothing more comes: the read waits for the deadline, and not past it.
        tcp.set_deadline(Instant::now() + Duration::from_millis(200));
        let began = Instant::now();
        let e = tcp.read(&mut byte).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
        assert!(
            began.elapsed() < Duration::from_secs(3),
            "{:?}",
            began.elapsed()
        );
        // Past it, even a byte waiting is not read, and nothing is written.
        server.write_all(b"y").unwrap();
        assert_eq!(
            tcp.read(&mut byte).unwrap_err().kind(),
            io::ErrorKind::TimedOut
        );
        assert_eq!(tcp.write(b"z").unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert!(TimedTcp::connect(addr, Instant::now()).is_err());
    }
}
