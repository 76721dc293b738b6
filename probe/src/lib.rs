//! `misdirect-probe`: point it at a live HTTPS server and learn where it
//! serves what it must refuse, as h2spec does for HTTP/2 framing.
//!
//! The configuration is the crate's own TOML ([`Site::from_toml_file`]), describing what the
//! server under test is meant to serve and, in its `[[policies]]` tables, what each TLS policy
//! demands of a handshake. The probe:
//!
//! 1. Opens a TLS connection for each configured name as SNI, and one without SNI, and reads
//!    the certificate each got ([`certificate_sans`]). Certificates the
//!    configuration lists are matched by their SANs; when it lists none, the presented ones
//!    become the configuration's.
//! 2. Builds the crate's [`Server`] from that configuration and, for every connection, the
//!    facts of its handshake: the SNI sent, the certificate presented, the TLS policy the
//!    configuration gives that SNI ([`Server::sni_policy`]).
//! 3. Generates scenarios from the configuration (see [`Group`]): every name on every
//!    connection, spellings, ports, schemes, malformed authorities, framing. The expected
//!    verdict of each is [`Server::decide`] for the same facts. One name per virtual host
//!    serving https on the listener's first origin port takes part, for the first eight such
//!    virtual hosts.
//! 4. Sends each over its connection (HTTP/2 streams on one connection per SNI, reused the way
//!    a coalescing client would; HTTP/1.x on a fresh connection per request), at most
//!    [`MAX_REQUESTS`] requests at most [`MAX_RATE`] per second, and compares.
//! 5. Checks what each policy demands ([`Group::ClientAuth`]): for a virtual host whose
//!    policy's table says `client_auth = "required"`, a handshake without a client
//!    certificate must fail, or its request be refused ([`Expected::NoSession`]).
//! 6. Resumes sessions across names ([`Group::Resumption`]): a TLS 1.3 ticket or TLS 1.2
//!    session obtained under one SNI, offered under another SNI (same certificate and another
//!    policy, another certificate) or the same one for another virtual host, and 0-RTT where
//!    the server offers it. A resumed connection's facts are the original handshake's
//!    certificate and policy with the new SNI (SPEC "Resumption").
//!
//! A run's length is bounded whatever the server does: each discovery handshake, and each
//! scenario (its connection when it needs a new one, and its answer), ends by a deadline
//! ([`DEADLINE`] after it starts, [`Options::deadline`]) that every read and write of its
//! connection is held to, so a run of S scenarios over N names ends within (N + 1 + S)
//! deadlines and its pacing; with HTTP/3, 2 (N + 1) + 1 + S (the QUIC handshakes and the
//! `alt-svc` lookup). What a server sends is bounded too (see [`h2`], [`h3`] and [`hpack`]).
//!
//! A 421 expected matches a 421. A 400 expected matches a 400 or the stream or connection
//! being refused as malformed (RST_STREAM, GOAWAY, the connection closed before a response).
//! A request the crate would serve matches any 2xx, 3xx or 404 from the site. A 2xx where 421
//! or 400 is expected is a failure whatever else, and is marked `SERVED`.
//!
//! It connects only to the address given, and sends only `GET /` without a body: a
//! [`Shape`] has no method, path or body to set.

pub mod client;
pub mod h2;
pub mod h3;
pub mod hpack;
mod report;
mod resume;
mod scenario;

use core::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use serde::de::IgnoredAny;

use client::{Dialer, Tls, TlsStream, tls_alert};
use h2::Http2;
use h3::{Http3, Quic};
use misdirect::{
    CertId, CertificateConfig, ClientAuthMode, Connection, ConnectionFacts, Handshake, Host,
    ListenerId, NamePattern, PolicyId, Rule, San, Server, Site, Status, certificate_sans,
};

pub use scenario::{Group, Scenario, Shape, USER_AGENT};

/// The most requests one run sends (eight names over HTTP/1.1, HTTP/2 and HTTP/3 stay under
/// it).
pub const MAX_REQUESTS: usize = 800;
/// The most requests (and connections) per second.
pub const MAX_RATE: u32 = 50;
/// How long a discovery handshake, or a scenario, may take in all: the connect, TLS, the
/// HTTP/2 preface, the request and its answer. It is a deadline, not a timeout per read: a
/// server sending a byte or a PING now and then does not move it.
pub const DEADLINE: Duration = Duration::from_secs(5);
/// The most informational (1xx) responses read before a final one, over HTTP/1.x and HTTP/2.
pub const MAX_INTERIM: usize = 8;

/// A run that could not start or finish: configuration, address, certificates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeError(pub String);

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProbeError {}

/// What the server answered to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A final response: its status and (the start of) its body.
    Response {
        /// The status code.
        status: u16,
        /// The body, at most 64 KiB of it.
        body: Vec<u8>,
    },
    /// HTTP/2 RST_STREAM on the request's stream, with this error code.
    Reset(u32),
    /// HTTP/2 GOAWAY with this error code, before a response.
    GoAway(u32),
    /// The connection closed before a response.
    Closed,
}

impl Answer {
    /// The status, for a response.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Answer::Response { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Response { status, .. } => write!(f, "{status}"),
            Answer::Reset(code) => write!(f, "RST_STREAM({code})"),
            Answer::GoAway(code) => write!(f, "GOAWAY({code})"),
            Answer::Closed => f.write_str("closed"),
        }
    }
}

/// What came back for a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Got {
    /// An answer.
    Answer(Answer),
    /// The server refused the TLS session (a client certificate it requires was not sent,
    /// say): the request never reached HTTP. The scenario is skipped.
    Refused(String),
    /// A timeout, or an answer that does not parse: a failure.
    Error(String),
    /// Nothing was sent: the server did not offer what the scenario needs (a TLS 1.3
    /// ticket, early data). The scenario is skipped.
    NotSent(String),
}

impl fmt::Display for Got {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Got::Answer(answer) => write!(f, "{answer}"),
            Got::Refused(why) => write!(f, "refused at TLS: {why}"),
            Got::Error(why) => write!(f, "error: {why}"),
            Got::NotSent(why) => write!(f, "not sent: {why}"),
        }
    }
}

/// The crate's verdict for a scenario, as the probe compares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// Served, by the virtual host with this name.
    Serve(String),
    /// No session at all, or every request on it refused: the SNI selects a policy that
    /// requires a client certificate, and the handshake sent none.
    NoSession {
        /// The policy, as the configuration names it.
        policy: String,
    },
    /// 421, 400 or 404, with the rule and the reason's line.
    Refuse {
        /// The status.
        status: u16,
        /// The rule that fired.
        rule: Rule,
        /// The reason, as [`Reason`](misdirect::Reason)'s `Display` writes it.
        reason: String,
    },
}

impl Expected {
    /// Whether an answer matches.
    #[must_use]
    pub fn matches(&self, answer: &Answer) -> bool {
        match (self, answer) {
            (Expected::Serve(_), Answer::Response { status, .. }) => {
                (200..400).contains(status) || *status == 404
            }
            (Expected::Serve(_), _) => false,
            // Served (2xx, 3xx): the policy's demand was not met. Anything else refused it.
            (Expected::NoSession { .. }, Answer::Response { status, .. }) => {
                !(200..400).contains(status)
            }
            (Expected::NoSession { .. }, _) => true,
            (Expected::Refuse { status: 400, .. }, Answer::Response { status, .. }) => {
                *status == 400
            }
            (Expected::Refuse { status: 400, .. }, _) => true,
            (Expected::Refuse { status, .. }, answer) => answer.status() == Some(*status),
        }
    }

    /// The status expected, 200 standing for "served" and 0 for "no session".
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Expected::Serve(_) => 200,
            Expected::NoSession { .. } => 0,
            Expected::Refuse { status, .. } => *status,
        }
    }

    /// `rule N (name)`, or `served by V`.
    #[must_use]
    pub fn rule(&self) -> String {
        match self {
            Expected::Serve(vhost) => format!("served by {vhost}"),
            Expected::NoSession { policy } => {
                format!("no session (policy {policy:?} requires a client certificate)")
            }
            Expected::Refuse { rule, .. } => format!("rule {} ({})", rule.number(), rule.name()),
        }
    }
}

/// A scenario's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The answer matches the expected verdict.
    Pass,
    /// It does not.
    Fail,
    /// The request never reached HTTP (TLS refused, or no HTTP/2).
    Skip,
}

/// One scenario, sent and judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioResult {
    /// The scenario.
    pub scenario: Scenario,
    /// The crate's verdict for it; `None` when no handshake on its SNI showed a certificate,
    /// so there are no facts to decide on.
    pub expected: Option<Expected>,
    /// What came back.
    pub got: Got,
    /// Pass, fail or skip.
    pub outcome: Outcome,
}

impl ScenarioResult {
    /// Whether the server served (2xx or 3xx) where the crate answers 421 or 400, or where a
    /// policy's demand was not met: [`Class::Served`].
    #[must_use]
    pub fn served_refused(&self) -> bool {
        self.class() == Some(Class::Served)
    }

    /// Which way a failed scenario is wrong; `None` when it passed or was skipped.
    #[must_use]
    pub fn class(&self) -> Option<Class> {
        if self.outcome != Outcome::Fail {
            return None;
        }
        let served = matches!(&self.got, Got::Answer(Answer::Response { status, .. }) if (200..400).contains(status));
        Some(match &self.expected {
            Some(
                Expected::Refuse {
                    status: 400 | 421, ..
                }
                | Expected::NoSession { .. },
            ) if served => Class::Served,
            Some(Expected::Serve(_)) => Class::Refused,
            _ => Class::Other,
        })
    }
}

/// The three ways a scenario can fail, each with its own bit in the exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// Served (2xx, 3xx) where the crate answers 421 or 400, or on a session whose policy's
    /// demand was not met: domain fronting, an mTLS bypass. A security bug.
    Served,
    /// Refused (any status but 2xx, 3xx and 404, a reset, a close, an error) where the crate
    /// serves: the 421 storms users report. An availability bug.
    Refused,
    /// Any other mismatch: 400 where 421 is due or the other way round, a timeout where a
    /// refusal is due.
    Other,
}

impl Class {
    /// Every class, gravest first.
    pub const ALL: [Class; 3] = [Class::Served, Class::Refused, Class::Other];

    /// Its short name in JSON and JUnit: `security`, `availability`, `other`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Class::Served => "security",
            Class::Refused => "availability",
            Class::Other => "other",
        }
    }

    /// Its words in a summary line.
    #[must_use]
    pub fn words(self) -> &'static str {
        match self {
            Class::Served => "served where 421 or 400 is due",
            Class::Refused => "refused where the crate serves",
            Class::Other => "other",
        }
    }

    /// Its bit in the exit status: 4, 8, 16.
    #[must_use]
    pub fn bit(self) -> i32 {
        match self {
            Class::Served => 4,
            Class::Refused => 8,
            Class::Other => 16,
        }
    }
}

/// What one handshake of the discovery showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presented {
    /// The SNI sent (`None`: none).
    pub sni: Option<String>,
    /// The id of the certificate presented: the configuration's, matched by SANs, or one
    /// named after its first SAN.
    pub certificate: Option<String>,
    /// Its SANs.
    pub sans: Vec<String>,
    /// Whether the configuration lists this certificate.
    pub configured: bool,
    /// The TLS policy the configuration gives this SNI.
    pub policy: Option<String>,
    /// The ALPN protocol agreed when both h2 and http/1.1 were offered (`h3` over QUIC).
    pub alpn: Option<String>,
    /// Why the handshake failed, if it did.
    pub error: Option<String>,
    /// Whether the handshake was QUIC's, with the HTTP/3 endpoint ([`Options::h3`]).
    pub quic: bool,
}

/// A whole run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The address probed.
    pub target: SocketAddr,
    /// The configuration file.
    pub config: PathBuf,
    /// The listener of the configuration the address stands for.
    pub listener: String,
    /// Its first origin port: the port every authority carries.
    pub port: u16,
    /// The HTTP/3 endpoint probed, if one was ([`Options::h3`]), and the configuration's
    /// listener it stands for.
    pub h3: Option<(SocketAddr, String)>,
    /// The discovery handshakes.
    pub presented: Vec<Presented>,
    /// Every scenario, in sending order.
    pub results: Vec<ScenarioResult>,
    /// Scenarios generated past the request limit, not sent.
    pub dropped: usize,
    /// Virtual hosts past the first eight serving https on the port: their names were not
    /// probed (each adds a connection and a row of names to every connection).
    pub vhosts_left_out: usize,
}

impl Report {
    /// How many scenarios had this outcome.
    #[must_use]
    pub fn count(&self, outcome: Outcome) -> usize {
        self.results.iter().filter(|r| r.outcome == outcome).count()
    }

    /// How many failed scenarios are of this class.
    #[must_use]
    pub fn count_class(&self, class: Class) -> usize {
        self.results
            .iter()
            .filter(|r| r.class() == Some(class))
            .count()
    }

    /// 0 when no scenario failed. Otherwise odd: 1, plus 4 when one was served where 421 or
    /// 400 is due ([`Class::Served`]), 8 when one was refused where the crate serves
    /// ([`Class::Refused`]), 16 for any other mismatch ([`Class::Other`]). (2 is a run that
    /// could not start.)
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        if self.count(Outcome::Fail) == 0 {
            return 0;
        }
        Class::ALL
            .into_iter()
            .filter(|c| self.count_class(*c) > 0)
            .fold(1, |code, c| code | c.bit())
    }

    /// A JUnit XML document: a test suite per group, a test case per scenario, failures
    /// typed by class, skips marked, as CI systems read it.
    #[must_use]
    pub fn junit(&self) -> String {
        report::junit(self)
    }

    /// One line per scenario, then a summary.
    #[must_use]
    pub fn text(&self) -> String {
        report::text(self)
    }

    /// One JSON document.
    #[must_use]
    pub fn json(&self) -> String {
        report::json(self)
    }
}

/// What to probe and how.
#[derive(Clone, Debug)]
pub struct Options {
    /// The configuration file (TOML) describing what the server is meant to serve.
    pub config: PathBuf,
    /// The only address connected to.
    pub connect: SocketAddr,
    /// The listener of the configuration this address stands for; by default the TLS listener
    /// on the address's port, else the only TLS listener.
    pub listener: Option<String>,
    /// A CA (PEM) the server's certificate chains must verify against (names are not
    /// checked); without it any certificate is accepted and recorded.
    pub ca: Option<PathBuf>,
    /// A client certificate and key (PEM) to offer when a server asks for one.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// Requests (and connections) per second, at most [`MAX_RATE`].
    pub rate: u32,
    /// Requests at most, at most [`MAX_REQUESTS`].
    pub max_requests: usize,
    /// How long each discovery handshake and each scenario may take ([`DEADLINE`]).
    pub deadline: Duration,
    /// Only the scenarios of these groups are sent; empty: every group.
    pub only: Vec<Group>,
    /// The server's HTTP/3 endpoint, on the address's IP: the HTTP/2 scenarios are sent again
    /// over QUIC ([`Group::Http3`]). `None`: no HTTP/3.
    pub h3: Option<H3Endpoint>,
    /// The configuration's TLS listener the HTTP/3 endpoint stands for; by default the TLS
    /// listener (other than [`Options::listener`]'s) on the endpoint's UDP port, else the same
    /// listener as TCP's (a server offering HTTP/3 on its TCP port).
    pub h3_listener: Option<String>,
}

/// Where the server's HTTP/3 endpoint is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum H3Endpoint {
    /// This UDP port.
    Port(u16),
    /// The port of the `h3` alternative the server's `alt-svc` field advertises (RFC 7838
    /// §3) on an HTTP/1.1 answer for the first name, on its own connection. An alternative
    /// naming another host is refused: the probe connects only to the address given.
    AltSvc,
}

impl Options {
    /// Options with the defaults: no CA, no client certificate, [`MAX_RATE`],
    /// [`MAX_REQUESTS`], [`DEADLINE`].
    #[must_use]
    pub fn new(config: &Path, connect: SocketAddr) -> Options {
        Options {
            config: config.to_path_buf(),
            connect,
            listener: None,
            ca: None,
            client_cert: None,
            rate: MAX_RATE,
            max_requests: MAX_REQUESTS,
            deadline: DEADLINE,
            only: Vec::new(),
            h3: None,
            h3_listener: None,
        }
    }
}

/// Paces sends: one per interval at most.
struct Pacer {
    interval: Duration,
    next: Instant,
}

impl Pacer {
    fn new(rate: u32) -> Pacer {
        Pacer {
            interval: Duration::from_secs(1) / rate.clamp(1, MAX_RATE),
            next: Instant::now(),
        }
    }

    fn wait(&mut self) {
        let now = Instant::now();
        if self.next > now {
            std::thread::sleep(self.next - now);
        }
        self.next = self.next.max(now) + self.interval;
    }
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, ProbeError> {
    std::fs::read(path).map_err(|e| ProbeError(format!("{what} {}: {e}", path.display())))
}

/// One representative host per pattern kind: an exact name is itself, `*.parent` gives
/// `probe.parent`; IP patterns give none (an IP is never an SNI).
fn representative(pattern: &str) -> Option<String> {
    match NamePattern::parse(pattern).ok()? {
        NamePattern::Exact(name) => Some(name.to_string()),
        NamePattern::Wildcard(parent) => Some(format!("probe.{parent}")),
        NamePattern::Ip(_) => None,
    }
}

/// At most this many virtual hosts take part (each adds a connection and a row of names).
pub const MAX_SITES: usize = 8;

/// Runs the probe: discovery handshakes, scenarios, answers, verdicts. It blocks; with
/// [`Options::h3`] it drives QUIC on a runtime of its own, so from async code call it on a
/// blocking thread (`tokio::task::spawn_blocking`), not inside a runtime.
///
/// # Errors
/// A [`ProbeError`] when the configuration does not read or build, names no TLS listener for
/// the address, or no handshake could be made at all.
pub fn run(options: &Options) -> Result<Report, ProbeError> {
    let site: Site<IgnoredAny> =
        Site::from_toml_file(&options.config).map_err(|e| ProbeError(e.to_string()))?;
    // The policies whose tables require a client certificate: the probe checks the demand.
    let required: Vec<String> = site
        .tls
        .policies
        .iter()
        .filter(|p| p.client_auth == ClientAuthMode::Required)
        .map(|p| p.name.clone())
        .collect();
    let mut config = site.config;
    // The same dialer without a client certificate, for what a policy demands.
    let mut bare = Dialer::new(options.connect, options.deadline);
    if let Some(ca) = &options.ca {
        bare = bare.trust(&read(ca, "CA")?)?;
    }
    let mut dialer = Dialer::new(options.connect, options.deadline);
    if let Some(ca) = &options.ca {
        dialer = dialer.trust(&read(ca, "CA")?)?;
    }
    if let Some((cert, key)) = &options.client_cert {
        dialer = dialer.client_certificate(
            &read(cert, "client certificate")?,
            &read(key, "client key")?,
        )?;
    }
    let tls_listeners: Vec<&misdirect::ListenerConfig> =
        config.listeners.iter().filter(|l| l.tls).collect();
    let listener = match &options.listener {
        Some(name) => tls_listeners
            .iter()
            .find(|l| &l.name == name)
            .ok_or_else(|| ProbeError(format!("no TLS listener named {name:?}")))?,
        None => tls_listeners
            .iter()
            .find(|l| l.port == options.connect.port())
            .or(match tls_listeners.as_slice() {
                [only] => Some(only),
                _ => None,
            })
            .ok_or_else(|| {
                ProbeError(format!(
                    "no TLS listener on port {} and not exactly one TLS listener: name one with \
                     --listener",
                    options.connect.port()
                ))
            })?,
    };
    let listener_name = listener.name.clone();
    let origin_ports = listener.effective_origin_ports().to_vec();
    let port = origin_ports[0];
    let h3_listener_for = |udp: u16| -> Result<String, ProbeError> {
        match &options.h3_listener {
            Some(name) => tls_listeners
                .iter()
                .find(|l| &l.name == name)
                .map(|l| l.name.clone())
                .ok_or_else(|| {
                    ProbeError(format!("no TLS listener named {name:?} (--h3-listener)"))
                }),
            None => {
                let others: Vec<&&misdirect::ListenerConfig> = tls_listeners
                    .iter()
                    .filter(|l| l.port == udp && l.name != listener_name)
                    .collect();
                match others.as_slice() {
                    [] => Ok(listener_name.clone()),
                    [one] => Ok(one.name.clone()),
                    _ => Err(ProbeError(format!(
                        "more than one TLS listener on port {udp}: name the HTTP/3 one with \
                         --h3-listener"
                    ))),
                }
            }
        }
    };

    // The names: one per virtual host serving https on the port.
    let mut sites: Vec<scenario::Site> = Vec::new();
    for vhost in config
        .vhosts
        .iter()
        .filter(|v| v.https_ports.contains(&port))
    {
        if let Some(name) = vhost.names.iter().find_map(|n| representative(n)) {
            if !sites.iter().any(|s| s.name == name) {
                sites.push(scenario::Site { name });
            }
        }
    }
    let vhosts_left_out = sites.len().saturating_sub(MAX_SITES);
    sites.truncate(MAX_SITES);
    if sites.is_empty() {
        return Err(ProbeError(format!(
            "no virtual host serves https on port {port} with a DNS name"
        )));
    }

    // Discovery: which certificate each SNI gets.
    let mut pacer = Pacer::new(options.rate);
    let h3_port = match options.h3 {
        None => None,
        Some(H3Endpoint::Port(udp)) => Some(udp),
        Some(H3Endpoint::AltSvc) => {
            pacer.wait();
            Some(alt_svc_port(&dialer, &sites[0].name, port)?)
        }
    };
    // The address's IP (and an IPv6 scope), another port.
    let h3_target = h3_port.map(|udp| {
        let mut addr = options.connect;
        addr.set_port(udp);
        addr
    });
    let h3_listener_name = h3_port.map(h3_listener_for).transpose()?;
    let quic = match h3_target {
        Some(addr) => {
            Some(Quic::new(addr).map_err(|e| ProbeError(format!("QUIC client for {addr}: {e}")))?)
        }
        None => None,
    };
    let snis: Vec<Option<String>> = sites
        .iter()
        .map(|s| Some(s.name.clone()))
        .chain([None])
        .collect();
    let mut seen: Vec<Discovered> = Vec::new();
    for sni in &snis {
        pacer.wait();
        seen.push(match dialer.tls(sni.as_deref(), &[b"h2", b"http/1.1"]) {
            Ok(tls) => {
                let certificate = Some(tls.certificate.clone());
                let alpn = tls
                    .alpn
                    .as_ref()
                    .map(|a| String::from_utf8_lossy(a).into_owned());
                Discovered {
                    sni: sni.clone(),
                    certificate,
                    alpn,
                    refused: accepted(tls).err(),
                }
            }
            Err(e) => Discovered {
                sni: sni.clone(),
                certificate: e.certificate,
                alpn: None,
                refused: Some(e.message),
            },
        });
    }
    if seen.iter().all(|d| d.certificate.is_none()) {
        let why = seen
            .iter()
            .find_map(|d| d.refused.clone())
            .unwrap_or_default();
        return Err(ProbeError(format!(
            "no handshake with {} showed a certificate: {why}",
            options.connect
        )));
    }
    // The same over QUIC, with the HTTP/3 endpoint.
    let mut seen_h3: Vec<Discovered> = Vec::new();
    if let (Some(quic), Some(addr)) = (&quic, h3_target) {
        for sni in &snis {
            pacer.wait();
            let deadline = Instant::now() + options.deadline;
            seen_h3.push(match quic.connect(&dialer, sni.as_deref(), deadline) {
                Ok(conn) => Discovered {
                    sni: sni.clone(),
                    certificate: Some(conn.certificate.clone()),
                    alpn: Some("h3".into()),
                    refused: quic.settle(
                        &conn,
                        SETTLE.min(deadline.saturating_duration_since(Instant::now())),
                    ),
                },
                Err(e) => Discovered {
                    sni: sni.clone(),
                    certificate: e.certificate,
                    alpn: None,
                    refused: Some(e.message),
                },
            });
        }
        if seen_h3.iter().all(|d| d.certificate.is_none()) {
            let why = seen_h3
                .iter()
                .find_map(|d| d.refused.clone())
                .unwrap_or_default();
            return Err(ProbeError(format!(
                "no QUIC handshake with {addr} showed a certificate: {why}"
            )));
        }
    }

    // Certificates: matched by SANs to the configuration's, or added.
    let configured = config.certificates.len();
    // Each distinct certificate presented: its DER, id, SANs, and whether it is configured.
    let mut certs: Vec<(CertificateDer<'static>, String, Vec<String>, bool)> = Vec::new();
    for d in seen.iter().chain(&seen_h3) {
        let Some(cert) = &d.certificate else { continue };
        if certs.iter().any(|(d, ..)| d == cert) {
            continue;
        }
        let sans = certificate_sans(cert)
            .map_err(|e| ProbeError(format!("a presented certificate: {e}")))?;
        let key = sorted(&sans);
        let shown = sans.iter().map(ToString::to_string).collect();
        match config.certificates[..configured]
            .iter()
            .find(|c| sorted(&c.sans) == key)
        {
            Some(c) => certs.push((cert.clone(), c.id.clone(), shown, true)),
            None => {
                let id = new_id(&config.certificates, &sans, configured > 0);
                config.certificates.push(CertificateConfig {
                    id: id.clone(),
                    sans,
                });
                certs.push((cert.clone(), id, shown, false));
            }
        }
    }
    let server = Server::build(config)
        .map_err(|e| ProbeError(format!("{}: {e}", options.config.display())))?;
    let listener = server
        .listener_id(&listener_name)
        .ok_or_else(|| ProbeError("the listener vanished".into()))?;
    let h3_listener = match &h3_listener_name {
        Some(name) => Some(
            server
                .listener_id(name)
                .ok_or_else(|| ProbeError("the HTTP/3 listener vanished".into()))?,
        ),
        None => None,
    };

    // Each SNI's connection facts, over TCP and over QUIC.
    let mut presented = Vec::new();
    let mut conns: Vec<(Option<String>, Facts)> = Vec::new();
    let mut conns_h3: Vec<(Option<String>, Facts)> = Vec::new();
    let handshakes = seen.iter().map(|d| (d, listener, false)).chain(
        seen_h3
            .iter()
            .filter_map(|d| h3_listener.map(|l| (d, l, true))),
    );
    for (d, listener, quic) in handshakes {
        let sni = &d.sni;
        let found = d
            .certificate
            .as_ref()
            .and_then(|c| certs.iter().find(|(der, ..)| der == c));
        let policy = server.sni_policy(listener, sni.as_deref().map(str::as_bytes));
        presented.push(Presented {
            sni: sni.clone(),
            certificate: found.map(|(_, id, ..)| id.clone()),
            sans: found
                .map(|(_, _, sans, _)| sans.clone())
                .unwrap_or_default(),
            configured: found.is_some_and(|(.., configured)| *configured),
            policy: policy
                .and_then(|p| server.policy_name(p))
                .map(str::to_string),
            alpn: d.alpn.clone(),
            error: d.refused.clone(),
            quic,
        });
        let conn = match found.and_then(|(_, id, ..)| server.certificate_id(id)) {
            Some(certificate) => facts(&server, listener, sni.as_deref(), certificate, policy)
                .map(|conn| (conn, certificate)),
            None => Err(d.refused.clone().unwrap_or_default()),
        };
        if quic { &mut conns_h3 } else { &mut conns }.push((sni.clone(), conn));
    }

    // The scenarios.
    let conn_of = |sni: Option<&str>| {
        conns
            .iter()
            .find(|(s, _)| s.as_deref() == sni)
            .and_then(|(_, c)| c.as_ref().ok())
    };
    let relation = |sni: Option<&str>, target: &str| -> String {
        relation(
            &server,
            listener,
            conn_of(sni).map(|c| c.1),
            sni,
            target,
            &sites,
        )
    };
    let covered_unknown =
        server
            .config()
            .certificates
            .iter()
            .flat_map(|c| &c.sans)
            .find_map(|san| match san {
                San::Dns(name) => name.strip_prefix(b"*.").map(|p| {
                    format!(
                        "probe-unknown.{}",
                        String::from_utf8_lossy(p).to_ascii_lowercase()
                    )
                }),
                San::Ip(_) => None,
            })
            .filter(|name| {
                // No virtual host may claim it, through any of its patterns.
                let host = Host::parse(name.as_bytes());
                !server.config().vhosts.iter().flat_map(|v| &v.names).any(
                    |n| matches!((NamePattern::parse(n), &host), (Ok(p), Ok(h)) if p.matches(h)),
                )
            });
    let first = sites[0].name.clone();
    let coalesced = sites[1..]
        .iter()
        .find(|s| {
            conn_of(Some(&first)).is_some_and(|(conn, _)| {
                Shape::h2(&format!("{}:{port}", s.name))
                    .status(&server, conn)
                    .is_none()
            })
        })
        .map(|s| s.name.clone());
    let plan = scenario::Plan {
        port,
        origin_ports: &origin_ports,
        sites: sites.clone(),
        covered_unknown,
        uncovered: "misdirect-probe.invalid".into(),
        relation: &relation,
        coalesced,
        h3: quic.is_some(),
    };
    let wanted = |group: Group| options.only.is_empty() || options.only.contains(&group);
    let mut scenarios = scenario::generate(&plan);
    scenarios.retain(|s| wanted(s.group));
    // What each policy demands, checked for every SNI whose policy's table requires a client
    // certificate (each site's name, the same in capitals, and no SNI when
    // `default_tls_vhost` selects such a policy): (the SNI, the host asked for, the policy,
    // over QUIC). The SNI in capitals is GHSA-9cr8-q42q-g8m7's: a client-certificate rule
    // matched case-sensitively, and the host routed case-insensitively. Their requests are
    // reserved out of the limit, so a large configuration never crowds the check out.
    // Over QUIC the SNI's policy and the default virtual host are the HTTP/3 listener's, and
    // the authority carries its first origin port.
    let mut demands: Vec<(Option<String>, String, String, bool, u16)> = Vec::new();
    let transports: Vec<(bool, ListenerId, u16)> = [(false, listener, port)]
        .into_iter()
        .chain(h3_listener.and_then(|l| {
            let name = h3_listener_name.as_deref()?;
            let config = server.config().listeners.iter().find(|c| c.name == name)?;
            Some((true, l, *config.effective_origin_ports().first()?))
        }))
        .collect();
    let demanded: Vec<Option<String>> = if wanted(Group::ClientAuth) {
        sites
            .iter()
            .flat_map(|s| [Some(s.name.clone()), Some(s.name.to_ascii_uppercase())])
            .chain([None])
            .collect()
    } else {
        Vec::new()
    };
    for &(over_quic, listener, port) in &transports {
        for sni in &demanded {
            let bytes = sni.as_deref().map(str::as_bytes);
            let Some(policy) = server
                .sni_policy(listener, bytes)
                .and_then(|p| server.policy_name(p))
                .filter(|p| required.iter().any(|r| r == p))
            else {
                continue;
            };
            let host = match sni {
                Some(name) => Some(name.to_ascii_lowercase()),
                None => server
                    .sni_vhost(listener, None)
                    .and_then(|v| server.config().vhosts.get(v))
                    .and_then(|v| v.names.iter().find_map(|n| representative(n))),
            };
            if let Some(host) = host {
                demands.push((sni.clone(), host, policy.to_string(), over_quic, port));
            }
        }
    }
    let max = options.max_requests.min(MAX_REQUESTS);
    let room = max.saturating_sub(demands.len());
    // The resumption scenarios' requests are reserved too, after the demands'.
    let sessions: Vec<(String, Option<CertId>)> = sites
        .iter()
        .map(|s| (s.name.clone(), conn_of(Some(&s.name)).map(|c| c.1)))
        .collect();
    let mut resumption = resume::Plan::new(
        &server,
        listener,
        &sessions,
        &required,
        wanted(Group::Resumption),
    );
    resumption.truncate(room);
    let room = room.saturating_sub(resumption.len());
    let dropped = scenarios.len().saturating_sub(room);
    scenarios.truncate(room);

    // Send them, connection by connection.
    let mut results = Vec::new();
    let mut h2: Option<OpenH2> = None;
    let mut h3: Option<OpenH3> = None;
    for scenario in scenarios {
        let sni = scenario.sni.as_deref();
        let over_quic = scenario.shape.is_h3();
        let (conns, seen) = if over_quic {
            (&conns_h3, &seen_h3)
        } else {
            (&conns, &seen)
        };
        let conn_of = conns
            .iter()
            .find(|(s, _)| s.as_deref() == sni)
            .and_then(|(_, c)| c.as_ref().ok());
        let expected = match conn_of {
            Some((conn, _)) => expected(&server, conn, &scenario.shape),
            None => {
                let why = conns
                    .iter()
                    .find(|(s, _)| s.as_deref() == sni)
                    .and_then(|(_, c)| c.as_ref().err().cloned())
                    .unwrap_or_default();
                results.push(ScenarioResult {
                    scenario,
                    expected: None,
                    got: Got::Refused(why),
                    outcome: Outcome::Skip,
                });
                continue;
            }
        };
        // The server refused this SNI's session at discovery: the request would never reach
        // HTTP, so it is not sent.
        if let Some(why) = seen
            .iter()
            .find(|d| d.sni.as_deref() == sni)
            .and_then(|d| d.refused.clone())
        {
            results.push(ScenarioResult {
                scenario,
                expected: Some(expected),
                got: Got::Refused(why),
                outcome: Outcome::Skip,
            });
            continue;
        }
        let got = if let (true, Some(quic)) = (over_quic, &quic) {
            // As over HTTP/2: one QUIC connection per SNI, a new one only when the server
            // ended it (a close or GOAWAY, processed before the reuse). A connection that
            // could not be made is not tried again for the SNI.
            let mut reuse = matches!(&h3, Some((s, c)) if s.as_deref() == sni
                && c.as_ref().map_or(true, |c| quic.reusable(c)));
            if !reuse {
                pacer.wait();
            }
            pacer.wait();
            let deadline = Instant::now() + options.deadline;
            let fields = scenario.shape.http2_fields(scenario.id).unwrap_or_default();
            let fields: Vec<(&[u8], &[u8])> = fields
                .iter()
                .map(|(n, v)| (n.as_slice(), v.as_slice()))
                .collect();
            loop {
                if !reuse {
                    // Discovery made a session for this SNI: failing now is no refusal.
                    let made = quic
                        .connect(&dialer, sni, deadline)
                        .map_err(|e| Got::Error(e.message));
                    h3 = Some((scenario.sni.clone(), made));
                }
                let got = match h3.as_ref().map(|(_, c)| c) {
                    Some(Ok(conn)) => match quic.exchange(conn, &fields, deadline) {
                        Ok(answer) => Got::Answer(answer),
                        Err(got) => got,
                    },
                    Some(Err(got)) => got.clone(),
                    None => Got::Error("no connection".into()),
                };
                // A reused connection that closed, or rejected the request unprocessed
                // (H3_REQUEST_REJECTED), before answering: the request goes once more, on a
                // new connection, within the same deadline.
                let again = reuse
                    && matches!(
                        got,
                        Got::Answer(Answer::Closed | Answer::Reset(h3::H3_REQUEST_REJECTED))
                    );
                if !again {
                    break got;
                }
                reuse = false;
            }
        } else if scenario.shape.is_h2() {
            // One connection per SNI, as a coalescing client keeps; a new one only when the
            // server ended it. A connection the server refused is not tried again.
            let reuse = matches!(&h2, Some((s, c)) if s.as_deref() == sni
                && c.as_ref().map_or(true, |c| !c.is_closed()));
            // The pacing first (a slot for the connection, one for the request), then one
            // deadline for the rest of the scenario.
            if !reuse {
                pacer.wait();
            }
            pacer.wait();
            let deadline = Instant::now() + options.deadline;
            if !reuse {
                h2 = Some((scenario.sni.clone(), open_h2(&dialer, sni, deadline)));
            }
            match h2.as_mut().map(|(_, c)| c) {
                Some(Ok(conn)) => {
                    conn.get_mut().sock.set_deadline(deadline);
                    match exchange_h2(conn, &scenario) {
                        Ok(answer) => Got::Answer(answer),
                        Err(e) => {
                            let got = io_got(&e);
                            h2 = None;
                            got
                        }
                    }
                }
                Some(Err(got)) => got.clone(),
                None => Got::Error("no connection".into()),
            }
        } else {
            pacer.wait();
            let bytes = scenario.shape.http1_bytes(scenario.id).unwrap_or_default();
            // The handshake's deadline is the scenario's: the exchange follows on the stream.
            match dialer.tls(sni, &[b"http/1.1"]) {
                Ok(mut tls) => match client::http1_exchange(&mut tls.stream, &bytes) {
                    Ok(answer) => Got::Answer(answer),
                    Err(e) => io_got(&e),
                },
                Err(e) => Got::Refused(e.message),
            }
        };
        let outcome = match &got {
            Got::Answer(answer) if expected.matches(answer) => Outcome::Pass,
            Got::Refused(_) => Outcome::Skip,
            _ => Outcome::Fail,
        };
        results.push(ScenarioResult {
            scenario,
            expected: Some(expected),
            got,
            outcome,
        });
    }
    // What each policy demands: for a virtual host whose policy requires a client
    // certificate, a handshake without one must fail, or every request on it be refused.
    let first_id = results.iter().map(|r| r.scenario.id).max().unwrap_or(0) + 1;
    for (id, (sni, host, policy, over_quic, port)) in (first_id..).zip(demands) {
        pacer.wait();
        let authority = format!("{host}:{port}");
        let spelled = if sni.as_deref().is_some_and(|s| s != host) {
            " (the SNI in capitals)"
        } else {
            ""
        };
        if let (true, Some(quic)) = (over_quic, &quic) {
            let shape = Shape::h2(&authority)
                .to_h3()
                .unwrap_or_else(|| Shape::h2(&authority));
            let deadline = Instant::now() + options.deadline;
            let got = match quic.connect(&bare, sni.as_deref(), deadline) {
                Ok(conn) => {
                    let fields = shape.http2_fields(id).unwrap_or_default();
                    let fields: Vec<(&[u8], &[u8])> = fields
                        .iter()
                        .map(|(n, v)| (n.as_slice(), v.as_slice()))
                        .collect();
                    match quic.exchange(&conn, &fields, deadline) {
                        Ok(answer) => Got::Answer(answer),
                        Err(got) => got,
                    }
                }
                Err(e) if e.refused_by_server => Got::Refused(e.message),
                Err(e) => Got::Error(e.message),
            };
            results.push(demand_result(
                Scenario {
                    id,
                    group: Group::ClientAuth,
                    sni,
                    label: format!(
                        "policy {policy:?} requires a client certificate; none is sent{spelled}; over HTTP/3"
                    ),
                    shape,
                },
                got,
                policy,
            ));
            continue;
        }
        // Both protocols offered, as a browser offers them: a server that serves only HTTP/2
        // must not pass by refusing HTTP/1.1.
        let dialed = bare.tls(sni.as_deref(), &[b"h2", b"http/1.1"]);
        let h2 = matches!(&dialed, Ok(tls) if tls.alpn.as_deref() == Some(b"h2"));
        let scenario = Scenario {
            id,
            group: Group::ClientAuth,
            sni,
            label: format!(
                "policy {policy:?} requires a client certificate; none is sent{spelled}"
            ),
            shape: if h2 {
                Shape::h2(&authority)
            } else {
                Shape::h1(&authority)
            },
        };
        let got = match dialed {
            Ok(tls) if h2 => match Http2::handshake(tls.stream) {
                Ok(mut conn) => match exchange_h2(&mut conn, &scenario) {
                    Ok(answer) => Got::Answer(answer),
                    Err(e) => io_got(&e),
                },
                Err(e) => io_got(&e),
            },
            Ok(mut tls) => {
                let bytes = scenario.shape.http1_bytes(scenario.id).unwrap_or_default();
                match client::http1_exchange(&mut tls.stream, &bytes) {
                    Ok(answer) => Got::Answer(answer),
                    Err(e) => io_got(&e),
                }
            }
            // The server ended the handshake (an alert, a close): what the policy demands. A
            // timeout is not a refusal: a server that stalls past the deadline and then
            // serves would pass.
            Err(e) if e.refused_by_server => Got::Refused(e.message),
            Err(e) => Got::Error(e.message),
        };
        results.push(demand_result(scenario, got, policy));
    }
    // Sessions resumed across names, without a client certificate.
    let first_id = results.iter().map(|r| r.scenario.id).max().unwrap_or(0) + 1;
    results.extend(resumption.run(
        &server,
        listener,
        port,
        &bare,
        &mut pacer,
        options.deadline,
        &certs,
        first_id,
    ));
    Ok(Report {
        target: options.connect,
        config: options.config.clone(),
        listener: listener_name,
        port,
        h3: h3_target.zip(h3_listener_name),
        presented,
        results,
        dropped,
        vhosts_left_out,
    })
}

/// A client-certificate demand's result: met when the session was refused, or the request
/// was not served.
fn demand_result(scenario: Scenario, got: Got, policy: String) -> ScenarioResult {
    let expected = Expected::NoSession { policy };
    let outcome = match &got {
        Got::Refused(_) => Outcome::Pass,
        Got::Answer(answer) if expected.matches(answer) => Outcome::Pass,
        _ => Outcome::Fail,
    };
    ScenarioResult {
        scenario,
        expected: Some(expected),
        got,
        outcome,
    }
}

fn sorted(sans: &[San]) -> Vec<String> {
    let mut v: Vec<String> = sans.iter().map(ToString::to_string).collect();
    v.sort();
    v
}

fn facts(
    server: &Server<IgnoredAny>,
    listener: ListenerId,
    sni: Option<&str>,
    certificate: CertId,
    policy: Option<PolicyId>,
) -> Result<Connection, String> {
    server
        .connection(&ConnectionFacts {
            listener,
            tls: Some(Handshake {
                sni: sni.map(str::as_bytes),
                certificate,
                policy,
            }),
            gateway: None,
        })
        .map_err(|e| e.to_string())
}

fn expected(server: &Server<IgnoredAny>, conn: &Connection, shape: &Shape) -> Expected {
    shape.choose(server, conn, |choice| match choice {
        Ok(vhost) => Expected::Serve(server.config().vhosts[vhost as usize].name.clone()),
        Err(reason) => Expected::Refuse {
            status: match reason.status {
                Status::BadRequest => 400,
                Status::NotFound => 404,
                Status::Misdirected => 421,
                // CONNECT: the probe never sends it.
                Status::NotOrigin => 501,
            },
            rule: reason.rule,
            reason: reason.to_string(),
        },
    })
}

/// A certificate id for a presented certificate the configuration does not list: its first
/// SAN, made unique.
fn new_id(existing: &[CertificateConfig], sans: &[San], configured: bool) -> String {
    let first = sans
        .first()
        .map_or("no SAN".to_string(), ToString::to_string);
    let first = first.strip_prefix("DNS:").unwrap_or(&first);
    let base = if configured {
        format!("presented {first}")
    } else {
        first.to_string()
    };
    let mut id = base.clone();
    let mut n = 2;
    while existing.iter().any(|c| c.id == id) {
        id = format!("{base} #{n}");
        n += 1;
    }
    id
}

/// How a target name relates to a connection, in words.
fn relation(
    server: &Server<IgnoredAny>,
    listener: ListenerId,
    certificate: Option<CertId>,
    sni: Option<&str>,
    target: &str,
    sites: &[scenario::Site],
) -> String {
    let on = match sni {
        Some(sni) => format!("on {sni}'s connection"),
        None => "on a connection without SNI".to_string(),
    };
    if sni == Some(target) {
        return format!("{target} on its own connection");
    }
    let covered = certificate.is_some_and(|c| {
        Host::parse(target.as_bytes()).is_ok_and(|host| server.certificate_covers(c, &host))
    });
    let configured = sites.iter().any(|s| s.name == target);
    let same_policy = server.sni_policy(listener, Some(target.as_bytes()))
        == server.sni_policy(listener, sni.map(str::as_bytes));
    let what = match (configured, covered, same_policy) {
        (true, true, true) => "coalesced (covered, same policy)",
        (true, true, false) => "covered, another policy",
        (true, false, _) => "not covered by the certificate",
        (false, true, _) => "covered, no virtual host",
        (false, false, _) => "covered by no certificate",
    };
    format!("{target} {on}: {what}")
}

/// A connection's facts and the certificate presented on it, or why there are none.
type Facts = Result<(Connection, CertId), String>;

/// The HTTP/2 connection in use: its SNI, and the connection or why it could not be made.
type OpenH2 = (Option<String>, Result<Http2<TlsStream>, Got>);

/// The HTTP/3 connection in use, likewise.
type OpenH3 = (Option<String>, Result<Http3, Got>);

/// The UDP port of the `h3` alternative in the `alt-svc` field of an HTTP/1.1 answer for
/// `name` on its own connection.
fn alt_svc_port(dialer: &Dialer, name: &str, port: u16) -> Result<u16, ProbeError> {
    let fail = |why: String| ProbeError(format!("--h3 alt-svc: {why}"));
    let mut tls = dialer
        .tls(Some(name), &[b"http/1.1"])
        .map_err(|e| fail(e.message))?;
    let request = Shape::h1(&format!("{name}:{port}"))
        .http1_bytes(0)
        .unwrap_or_default();
    let (_, alt_svc) = client::http1_exchange_with(&mut tls.stream, &request, Some("alt-svc"))
        .map_err(|e| fail(format!("GET / for {name}: {e}")))?;
    let value = alt_svc.ok_or_else(|| fail(format!("the answer for {name} has no alt-svc")))?;
    h3_alternative(&value).map_err(fail)
}

/// The port of the `h3` alternative of an `alt-svc` value (RFC 7838 §3: `h3=":443"; ma=60,
/// h2=...`), whose host must be empty (the same host).
///
/// # Errors
/// No `h3` alternative, one naming another host, or a port that is not one.
pub fn h3_alternative(value: &str) -> Result<u16, String> {
    for entry in value.split(',') {
        let alternative = entry.split(';').next().unwrap_or_default().trim();
        let Some((protocol, authority)) = alternative.split_once('=') else {
            continue;
        };
        if protocol.trim() != "h3" {
            continue;
        }
        let authority = authority.trim().trim_matches('"');
        let (host, port) = authority
            .rsplit_once(':')
            .ok_or_else(|| format!("alt-svc {alternative:?} has no port"))?;
        if !host.is_empty() {
            return Err(format!(
                "alt-svc {alternative:?} names another host: the probe connects only to the address given (use --h3 PORT)"
            ));
        }
        return port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0 && port.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| format!("alt-svc {alternative:?}: {port:?} is not a port"));
    }
    Err(format!("alt-svc {value:?} offers no h3"))
}

/// What one discovery handshake showed.
struct Discovered {
    sni: Option<String>,
    certificate: Option<CertificateDer<'static>>,
    alpn: Option<String>,
    /// Why the server refused the session, in the handshake or right after it.
    refused: Option<String>,
}

/// Whether the server keeps a session it completed: with TLS 1.3 a server that requires a
/// client certificate sends its alert only after the client's handshake is done. Over h2 the
/// server's SETTINGS (or the alert) come at once; over HTTP/1.1 a short read waits for an
/// alert. Both within the handshake's deadline.
fn accepted(tls: Tls) -> Result<(), String> {
    if tls.alpn.as_deref() == Some(b"h2") {
        return Http2::handshake(tls.stream)
            .map(drop)
            .map_err(|e| tls_alert(&e).unwrap_or_else(|| format!("HTTP/2 preface: {e}")));
    }
    let mut stream = tls.stream;
    let settle = stream.sock.deadline().min(Instant::now() + SETTLE);
    stream.sock.set_deadline(settle);
    match std::io::Read::read(&mut stream, &mut [0u8; 1]) {
        Err(e) if tls_alert(&e).is_some() => Err(tls_alert(&e).unwrap_or_default()),
        Ok(0) => Err("the server closed the connection after the handshake".into()),
        _ => Ok(()),
    }
}

/// How long a discovery handshake without h2 waits for a late alert.
const SETTLE: Duration = Duration::from_millis(300);

fn open_h2(dialer: &Dialer, sni: Option<&str>, deadline: Instant) -> Result<Http2<TlsStream>, Got> {
    let tls = dialer
        .tls_by(sni, &[b"h2"], deadline)
        .map_err(|e| Got::Refused(e.message))?;
    if tls.alpn.as_deref() != Some(b"h2") {
        return Err(Got::Refused("the server did not agree to h2 (ALPN)".into()));
    }
    Http2::handshake(tls.stream).map_err(|e| io_got(&e))
}

/// Sends a scenario's request as a stream of an open HTTP/2 connection and reads its answer.
fn exchange_h2(conn: &mut Http2<TlsStream>, scenario: &Scenario) -> std::io::Result<Answer> {
    let fields = scenario.shape.http2_fields(scenario.id).unwrap_or_default();
    let fields: Vec<(&[u8], &[u8])> = fields
        .iter()
        .map(|(n, v)| (n.as_slice(), v.as_slice()))
        .collect();
    conn.exchange(&fields, true)
}

fn io_got(e: &std::io::Error) -> Got {
    match tls_alert(e) {
        Some(alert) => Got::Refused(alert),
        None if h2::is_closed(e) => Got::Answer(Answer::Closed),
        None => Got::Error(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::h3_alternative;

    #[test]
    fn the_h3_alternative_of_alt_svc_is_read() {
        assert_eq!(h3_alternative(r#"h3=":443"; ma=3600"#), Ok(443));
        // The first h3 among others; h3-29 and h2 are not h3; spaces around the parts.
        assert_eq!(
            h3_alternative(r#"h2=":9000", h3-29=":9001"; ma=60 , h3 = ":9002"; persist=1"#),
            Ok(9002)
        );
        for (value, why) in [
            (r#"h3="other.example:443""#, "names another host"),
            (r#"h3=":0""#, "is not a port"),
            (r#"h3=":99999""#, "is not a port"),
            (r#"h3=":+443""#, "is not a port"),
            (r#"h3=":""#, "is not a port"),
            (r#"h3="443""#, "has no port"),
            (r#"h2=":443""#, "offers no h3"),
            ("clear", "offers no h3"),
            ("", "offers no h3"),
        ] {
            let got = h3_alternative(value);
            assert!(
                got.as_ref().is_err_and(|e| e.contains(why)),
                "{value:?}: {got:?}"
            );
        }
    }
}
