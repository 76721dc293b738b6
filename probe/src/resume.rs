//! The resumption scenarios ([`Group::Resumption`]): a TLS 1.3 ticket or a TLS 1.2 session
//! (session id or ticket) obtained under one SNI and policy, offered in a handshake under
//! another SNI, then a request on that session; and 0-RTT early data where the server offers
//! it. SPEC "Resumption": after a resumption the connection's facts are the original
//! handshake's certificate and policy (RFC 8446 §4.6.1: a ticket carries its connection's
//! client authentication; CVE-2025-23048: a session resumed into a virtual host demanding a
//! client certificate the original handshake never asked for).
//!
//! Each scenario obtains its own session (one handshake under the original SNI), offers it
//! (a second handshake under the scenario's SNI), and sends one request on the second
//! connection. The expected verdict is the crate's for the facts the server had to use:
//! when rustls reports the second handshake resumed, the SNI sent with the original
//! handshake's certificate and policy; when it was a full handshake, that SNI's own facts
//! (and no session at all when its policy requires a client certificate: every handshake here
//! is made without one). A server that refuses the second handshake where its policy requires
//! a client certificate passes.
//!
//! What rustls (0.23.46, the version this was written against) does that this relies on, read
//! in its client source:
//!
//! - `client/hs.rs`, `ClientSessionValue::retrieve`: the session offered is whatever the
//!   configuration's `ClientSessionStore` returns from `take_tls13_ticket(server_name)`, else
//!   `tls12_session(server_name)`; the client compares no name with the session itself. It
//!   does check `compatible_config`: the session is offered only on a configuration with the
//!   very same certificate verifier and client-certificate resolver (`Arc`s, by pointer,
//!   `msgs/persist.rs`), so both handshakes of a scenario share one `ClientConfig`, each with
//!   its own `ServerName`.
//! - `client/tls13.rs` and `client/tls12.rs`: `HandshakeKind::Resumed` is set exactly when the
//!   server accepted the PSK (TLS 1.3) or echoed the session id / accepted the ticket (TLS
//!   1.2), and `peer_certificates()` is then the original session's chain (not verified again).
//! - `client/tls13.rs`, `prepare_resumption`: early data is offered only when
//!   `enable_early_data` is set and the ticket's `max_early_data_size` is above 0;
//!   `ClientConnection::early_data()` is `Some` from `ClientConnection::new` on then, and
//!   `is_early_data_accepted()` says, once the handshake is done, whether the server took it
//!   (rejected early data is dropped, "you may wish to resend the data").
//! - TLS 1.3 tickets arrive after the handshake (NewSessionTicket), so the original connection
//!   is read until the store holds one; TLS 1.2 sessions are stored when the handshake ends.
//!
//! rustls's server refuses a session offered under another SNI itself (RFC 6066 §3, in
//! `server/hs.rs`, `can_resume`), so a rustls server answers with full handshakes; servers
//! sharing one session cache across names do not.

use core::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use misdirect::{CertId, Connection, ListenerId, PolicyId, Server};
use rustls::client::{
    ClientSessionStore, Resumption, Tls12ClientSessionValue, Tls12Resumption,
    Tls13ClientSessionValue,
};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{HandshakeKind, NamedGroup, SupportedProtocolVersion};
use serde::de::IgnoredAny;

use super::client::{self, Dialer, Tls};
use super::h2::Http2;
use super::{
    Answer, Expected, Got, Group, Outcome, Pacer, Scenario, ScenarioResult, Shape, exchange_h2,
    expected, facts, io_got,
};

/// How long the original connection is read for a TLS 1.3 ticket (it comes right after the
/// handshake), within the scenario's deadline.
const TICKET_WAIT: Duration = Duration::from_secs(1);

/// At most this many virtual hosts of other policies per kind of scenario.
const MAX_TARGETS: usize = 2;

/// The TLS version a session is made and offered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    Tls13,
    /// TLS 1.2 with a session ticket when the server issues one (RFC 5077), else a session id.
    Tls12,
    /// TLS 1.2 with a session id only, no session_ticket extension: the server's session
    /// cache (RFC 5246 §7.4.1.2), which a server issuing tickets is otherwise never asked.
    Tls12SessionId,
}

impl Version {
    const ALL: [Version; 3] = [Version::Tls13, Version::Tls12, Version::Tls12SessionId];

    fn rustls(self) -> &'static SupportedProtocolVersion {
        match self {
            Version::Tls13 => &rustls::version::TLS13,
            Version::Tls12 | Version::Tls12SessionId => &rustls::version::TLS12,
        }
    }

    fn tls12_resumption(self) -> Tls12Resumption {
        match self {
            Version::Tls12SessionId => Tls12Resumption::SessionIdOnly,
            _ => Tls12Resumption::SessionIdOrTickets,
        }
    }

    fn index(self) -> usize {
        match self {
            Version::Tls13 => 0,
            Version::Tls12 => 1,
            Version::Tls12SessionId => 2,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::Tls13 => "TLS 1.3 ticket",
            Version::Tls12 => "TLS 1.2 session",
            Version::Tls12SessionId => "TLS 1.2 session id (no ticket)",
        })
    }
}

/// What a scenario varies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Offered under a name of the same certificate and another policy.
    OtherPolicy,
    /// Offered under a name of another certificate.
    OtherCertificate,
    /// Offered under its own name; the request is for a virtual host of another policy.
    SameSni,
    /// As `SameSni`, the request sent as 0-RTT early data.
    EarlyData,
}

/// One resumption scenario, before it is sent.
#[derive(Clone, Debug)]
struct Planned {
    version: Version,
    kind: Kind,
    /// The SNI the session is obtained under.
    origin: String,
    /// The SNI it is offered under.
    sni: String,
    /// The host asked for.
    host: String,
}

/// What one name's discovery handshake gave: its certificate and policy.
#[derive(Clone, Copy, Debug)]
struct Named {
    certificate: CertId,
    policy: Option<PolicyId>,
}

/// The resumption scenarios of a run, planned from the configuration and the discovery
/// handshakes before anything is sent, so their requests are reserved out of the limit.
pub(crate) struct Plan {
    planned: Vec<Planned>,
    /// The origin's facts, and every site name's.
    names: Vec<(String, Named)>,
    /// The policies whose tables require a client certificate.
    required: Vec<String>,
}

impl Plan {
    /// The scenarios for these site names (in configuration order), each with the certificate
    /// its discovery handshake showed (`None`: no handshake, not used), on this listener.
    /// The session is obtained under the first name whose policy does not require a client
    /// certificate; nothing is planned when `wanted` is false or there is no such name.
    pub(crate) fn new(
        server: &Server<IgnoredAny>,
        listener: ListenerId,
        sites: &[(String, Option<CertId>)],
        required: &[String],
        wanted: bool,
    ) -> Plan {
        let names: Vec<(String, Named)> = sites
            .iter()
            .filter_map(|(name, certificate)| {
                Some((
                    name.clone(),
                    Named {
                        certificate: (*certificate)?,
                        policy: server.sni_policy(listener, Some(name.as_bytes())),
                    },
                ))
            })
            .collect();
        let requires = |policy: Option<PolicyId>| {
            policy
                .and_then(|p| server.policy_name(p))
                .is_some_and(|p| required.iter().any(|r| r == p))
        };
        let mut planned = Vec::new();
        let origin = names.iter().find(|(_, n)| !requires(n.policy));
        if let (true, Some((origin, o))) = (wanted, origin) {
            // Other policies, one name each, those requiring a client certificate first.
            let mut other_policies: Vec<&(String, Named)> = Vec::new();
            for entry in &names {
                if entry.1.policy != o.policy
                    && !other_policies.iter().any(|e| e.1.policy == entry.1.policy)
                {
                    other_policies.push(entry);
                }
            }
            other_policies.sort_by_key(|(_, n)| !requires(n.policy));
            let same_certificate: Vec<&String> = other_policies
                .iter()
                .filter(|(_, n)| n.certificate == o.certificate)
                .map(|(name, _)| name)
                .take(MAX_TARGETS)
                .collect();
            // A name of another certificate, one whose policy requires a client certificate
            // first: a ticket key shared across certificates must not open it.
            let other_certificate = names
                .iter()
                .filter(|(_, n)| n.certificate != o.certificate)
                .min_by_key(|(_, n)| !requires(n.policy))
                .map(|(name, _)| name);
            let hosts: Vec<&String> = other_policies
                .iter()
                .map(|(name, _)| name)
                .take(MAX_TARGETS)
                .collect();
            for version in Version::ALL {
                let mut push = |kind: Kind, sni: &str, host: &str| {
                    planned.push(Planned {
                        version,
                        kind,
                        origin: origin.clone(),
                        sni: sni.to_string(),
                        host: host.to_string(),
                    });
                };
                for name in &same_certificate {
                    push(Kind::OtherPolicy, name, name);
                }
                if let Some(name) = other_certificate {
                    push(Kind::OtherCertificate, name, name);
                    push(Kind::OtherCertificate, name, origin);
                }
                for host in &hosts {
                    push(Kind::SameSni, origin, host);
                }
                if version == Version::Tls13 {
                    if let Some(host) = hosts.first() {
                        push(Kind::EarlyData, origin, host);
                    }
                }
            }
        }
        Plan {
            planned,
            names,
            required: required.to_vec(),
        }
    }

    /// How many scenarios (each one request) the plan holds.
    pub(crate) fn len(&self) -> usize {
        self.planned.len()
    }

    /// Keeps the first `n`.
    pub(crate) fn truncate(&mut self, n: usize) {
        self.planned.truncate(n);
    }

    /// Sends every scenario, numbered from `first_id`, each paced (two slots: its two
    /// connections) and ended by one deadline `deadline` after it starts, with `dialer` (which
    /// must offer no client certificate). `certs` maps a presented certificate to the
    /// configuration's id, as the discovery matched it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run(
        self,
        server: &Server<IgnoredAny>,
        listener: ListenerId,
        port: u16,
        dialer: &Dialer,
        pacer: &mut Pacer,
        deadline: Duration,
        certs: &[(CertificateDer<'static>, String, Vec<String>, bool)],
        first_id: usize,
    ) -> Vec<ScenarioResult> {
        let run = Running {
            server,
            listener,
            port,
            dialer,
            deadline,
            certs,
            plan: &self,
        };
        // A version the server gave no session for (no TLS 1.2, no ticket): later scenarios
        // of it are not sent.
        let mut no_session: [Option<String>; 3] = [None, None, None];
        (first_id..)
            .zip(&self.planned)
            .map(|(id, planned)| run.one(id, planned, pacer, &mut no_session))
            .collect()
    }

    fn named(&self, name: &str) -> Option<Named> {
        self.names.iter().find(|(n, _)| n == name).map(|(_, f)| *f)
    }

    fn requires(&self, server: &Server<IgnoredAny>, policy: Option<PolicyId>) -> Option<String> {
        policy
            .and_then(|p| server.policy_name(p))
            .filter(|p| self.required.iter().any(|r| r == p))
            .map(str::to_string)
    }
}

/// What a run of the plan reads.
struct Running<'a> {
    server: &'a Server<IgnoredAny>,
    listener: ListenerId,
    port: u16,
    dialer: &'a Dialer,
    deadline: Duration,
    certs: &'a [(CertificateDer<'static>, String, Vec<String>, bool)],
    plan: &'a Plan,
}

/// How the second handshake went, in the label's words.
enum Session {
    Resumed,
    Full,
}

impl Running<'_> {
    fn policy_name(&self, policy: Option<PolicyId>) -> String {
        policy
            .and_then(|p| self.server.policy_name(p))
            .unwrap_or("none")
            .to_string()
    }

    /// The configuration's id of a presented certificate.
    fn certificate(&self, der: &CertificateDer<'_>) -> Option<CertId> {
        self.certs
            .iter()
            .find(|(d, ..)| d == der)
            .and_then(|(_, id, ..)| self.server.certificate_id(id))
    }

    fn facts(
        &self,
        sni: &str,
        certificate: CertId,
        policy: Option<PolicyId>,
    ) -> Option<Connection> {
        facts(self.server, self.listener, Some(sni), certificate, policy).ok()
    }

    fn one(
        &self,
        id: usize,
        p: &Planned,
        pacer: &mut Pacer,
        no_session: &mut [Option<String>; 3],
    ) -> ScenarioResult {
        let authority = format!("{}:{}", p.host, self.port);
        let origin_facts = self.plan.named(&p.origin);
        let origin_policy = self.policy_name(origin_facts.and_then(|n| n.policy));
        let target = self.plan.named(&p.sni);
        let target_policy = target.and_then(|n| n.policy);
        let what = match p.kind {
            Kind::OtherPolicy => format!(
                "{} from SNI {} (policy {origin_policy}) offered with SNI {} (policy {}), no \
                 client certificate",
                p.version,
                p.origin,
                p.sni,
                self.policy_name(target_policy)
            ),
            Kind::OtherCertificate => format!(
                "{} from SNI {} offered with SNI {} (another certificate), asking for {}",
                p.version, p.origin, p.sni, p.host
            ),
            Kind::SameSni => format!(
                "{} from SNI {} (policy {origin_policy}) resumed with its own SNI, asking for {} \
                 (policy {})",
                p.version,
                p.origin,
                p.host,
                self.policy_name(self.plan.named(&p.host).and_then(|n| n.policy))
            ),
            Kind::EarlyData => format!(
                "0-RTT: {} from SNI {} (policy {origin_policy}), an early-data request for {} \
                 (policy {})",
                p.version,
                p.origin,
                p.host,
                self.policy_name(self.plan.named(&p.host).and_then(|n| n.policy))
            ),
        };
        let scenario = |label: String, shape: Shape| Scenario {
            id,
            group: Group::Resumption,
            sni: Some(p.sni.clone()),
            label,
            shape,
        };
        let not_sent = |why: String| ScenarioResult {
            scenario: scenario(format!("{what}; not sent"), Shape::h1(&authority)),
            expected: None,
            got: Got::NotSent(why),
            outcome: Outcome::Skip,
        };
        if let Some(why) = &no_session[p.version.index()] {
            return not_sent(why.clone());
        }
        let (Some(origin_facts), Some(target)) = (origin_facts, target) else {
            return not_sent("no discovery handshake showed a certificate".into());
        };

        // The session: one configuration (and store) for both handshakes.
        pacer.wait();
        pacer.wait();
        let deadline = Instant::now() + self.deadline;
        let early = p.kind == Kind::EarlyData;
        // Early data goes as HTTP/1.1 bytes; the rest offer both, as a browser does, so a
        // server speaking only HTTP/2 does not pass by refusing HTTP/1.1.
        let alpn: &[&[u8]] = if early {
            &[b"http/1.1"]
        } else {
            &[b"h2", b"http/1.1"]
        };
        let seen = Arc::new(Mutex::new(None));
        let store = Arc::new(AnyName::default());
        let config =
            self.dialer
                .client_config_versions(Some(&p.origin), alpn, &[p.version.rustls()], &seen);
        let (mut config, origin_name) = match config {
            Ok(made) => made,
            Err(e) => return not_sent(e),
        };
        config.resumption = Resumption::store(Arc::clone(&store) as Arc<dyn ClientSessionStore>)
            .tls12_resumption(p.version.tls12_resumption());
        config.enable_early_data = early;
        let config = Arc::new(config);
        let original =
            match self
                .dialer
                .tls_with(Arc::clone(&config), origin_name, &seen, &[], deadline)
            {
                Ok((tls, _)) => tls,
                Err(e) => {
                    let why = format!("no {} from SNI {}: {}", p.version, p.origin, e.message);
                    no_session[p.version.index()] = Some(why.clone());
                    return not_sent(why);
                }
            };
        // The original handshake's certificate, as the server presented it now.
        let origin_certificate = self
            .certificate(&original.certificate)
            .unwrap_or(origin_facts.certificate);
        wait_for_session(original, &store, deadline);
        let Some(max_early_data) = store.held() else {
            let why = format!("the server gave no {} under SNI {}", p.version, p.origin);
            no_session[p.version.index()] = Some(why.clone());
            return not_sent(why);
        };
        if early && max_early_data == 0 {
            // What the scenario checks holds: no request can be served early, for any host.
            return ScenarioResult {
                scenario: scenario(
                    format!("{what}; the server offers no early data, so none can be served"),
                    Shape::h1(&authority),
                ),
                expected: None,
                got: Got::NotSent(format!(
                    "the server offers no early data: its TLS 1.3 ticket from SNI {} has \
                     max_early_data_size 0",
                    p.origin
                )),
                outcome: Outcome::Pass,
            };
        }

        // The second handshake, offering the session under the scenario's SNI.
        let name = match ServerName::try_from(p.sni.clone()) {
            Ok(name) => name,
            Err(e) => return not_sent(format!("SNI {}: {e}", p.sni)),
        };
        if let Ok(mut seen) = seen.lock() {
            *seen = None;
        }
        let h1 = Shape::h1(&authority);
        let bytes = h1.http1_bytes(id).unwrap_or_default();
        let early_bytes: &[u8] = if early { &bytes } else { &[] };
        let required_here = self.plan.requires(self.server, target_policy);
        let (tls, early_sent) =
            match self
                .dialer
                .tls_with(Arc::clone(&config), name, &seen, early_bytes, deadline)
            {
                Ok(made) => made,
                Err(e) => {
                    // Not resumed, or resumed and then refused: either way no request went.
                    let label = format!("{what}; the handshake failed");
                    let got = if e.refused_by_server {
                        Got::Refused(e.message)
                    } else {
                        Got::Error(e.message)
                    };
                    // What a full handshake without a client certificate must do here.
                    let expected = required_here.map(|policy| Expected::NoSession { policy });
                    let outcome = match (&expected, &got) {
                        (Some(_), Got::Refused(_)) => Outcome::Pass,
                        (None, Got::Refused(_)) => Outcome::Skip,
                        _ => Outcome::Fail,
                    };
                    return ScenarioResult {
                        scenario: scenario(label, h1),
                        expected,
                        got,
                        outcome,
                    };
                }
            };
        let session = if tls.stream.conn.handshake_kind() == Some(HandshakeKind::Resumed) {
            Session::Resumed
        } else {
            Session::Full
        };
        let h2 = !early && tls.alpn.as_deref() == Some(b"h2");
        let shape = if h2 { Shape::h2(&authority) } else { h1 };
        // The facts the server had to decide on.
        let expectation = match (&session, &required_here) {
            // Resumed into a policy that requires a client certificate from a session of
            // another: the crate never resumes across policies (each policy's sessions and
            // tickets are its own, SPEC "Resumption"), so what is due is what a full
            // handshake without a certificate gets, whatever the knobs make of the facts
            // (under `sni = "cert-covered"` rule 6 compares no policies).
            (Session::Resumed, Some(policy)) if origin_facts.policy != target_policy => {
                Some(Expected::NoSession {
                    policy: policy.clone(),
                })
            }
            (Session::Resumed, _) => self
                .facts(&p.sni, origin_certificate, origin_facts.policy)
                .map(|conn| expected(self.server, &conn, &shape)),
            (Session::Full, _) => match &required_here {
                Some(policy) => Some(Expected::NoSession {
                    policy: policy.clone(),
                }),
                None => self
                    .facts(
                        &p.sni,
                        self.certificate(&tls.certificate)
                            .unwrap_or(target.certificate),
                        target_policy,
                    )
                    .map(|conn| expected(self.server, &conn, &shape)),
            },
        };
        let mut label = match session {
            Session::Resumed => format!("{what}; resumed ({} from SNI {})", p.version, p.origin),
            Session::Full => format!("{what}; not resumed: full handshake"),
        };
        let accepted = early_sent > 0 && tls.stream.conn.is_early_data_accepted();
        if early {
            label.push_str(match (early_sent > 0, accepted) {
                (true, true) => "; early data accepted",
                (true, false) => "; early data rejected, the request sent again after the handshake",
                (false, _) => "; no early data sent (none offered, or the request is larger than the ticket allows), the request sent after the handshake",
            });
        }
        let got = exchange(tls, h2, &shape, id, if accepted { &[] } else { &bytes });
        let Some(expected) = expectation else {
            // The request went; what it should have got is unknown (no facts for the
            // handshake): shown, not judged.
            return ScenarioResult {
                scenario: scenario(
                    format!("{label}; no connection facts for the handshake"),
                    shape,
                ),
                expected: None,
                got,
                outcome: Outcome::Skip,
            };
        };
        let outcome = match &got {
            // 425 Too Early (RFC 8470 §5.2): the server would not act on early data.
            Got::Answer(Answer::Response { status: 425, .. }) if accepted => Outcome::Pass,
            Got::Answer(answer) if expected.matches(answer) => Outcome::Pass,
            Got::Refused(_) if matches!(expected, Expected::NoSession { .. }) => Outcome::Pass,
            Got::Refused(_) => Outcome::Skip,
            _ => Outcome::Fail,
        };
        ScenarioResult {
            scenario: scenario(label, shape),
            expected: Some(expected),
            got,
            outcome,
        }
    }
}

/// The request on the second connection: HTTP/2 when agreed, else these HTTP/1.1 bytes
/// (none: early data the server accepted, only its answer is read).
fn exchange(tls: Tls, h2: bool, shape: &Shape, id: usize, bytes: &[u8]) -> Got {
    if h2 {
        let scenario = Scenario {
            id,
            group: Group::Resumption,
            sni: None,
            label: String::new(),
            shape: shape.clone(),
        };
        return match Http2::handshake(tls.stream) {
            Ok(mut conn) => match exchange_h2(&mut conn, &scenario) {
                Ok(answer) => Got::Answer(answer),
                Err(e) => io_got(&e),
            },
            Err(e) => io_got(&e),
        };
    }
    let mut stream = tls.stream;
    match client::http1_exchange(&mut stream, bytes) {
        Ok(answer) => Got::Answer(answer),
        Err(e) => io_got(&e),
    }
}

/// Reads the original connection until the store holds a session (a TLS 1.3 ticket comes
/// after the handshake), at most [`TICKET_WAIT`] and never past the deadline; then closes it.
fn wait_for_session(mut tls: Tls, store: &AnyName, deadline: Instant) {
    tls.stream
        .sock
        .set_deadline(deadline.min(Instant::now() + TICKET_WAIT));
    while store.held().is_none() {
        match tls.stream.conn.read_tls(&mut tls.stream.sock) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                if tls.stream.conn.process_new_packets().is_err() {
                    break;
                }
                // Plaintext that came with it (h2 SETTINGS, say) is not wanted.
                let mut sink = [0u8; 4096];
                while std::io::Read::read(&mut tls.stream.conn.reader(), &mut sink)
                    .is_ok_and(|n| n > 0)
                {}
            }
        }
    }
    tls.stream.conn.send_close_notify();
    let _ = tls.stream.conn.write_tls(&mut tls.stream.sock);
}

/// A client session store that hands the session it holds to any server name: rustls asks
/// it by name (`take_tls13_ticket`, `tls12_session`), and a scenario offers a session made
/// under one SNI in a handshake under another. One store per scenario.
#[derive(Default)]
struct AnyName {
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    kx: Option<NamedGroup>,
    tls12: Option<Tls12ClientSessionValue>,
    tls13: Vec<Tls13ClientSessionValue>,
}

/// The most TLS 1.3 tickets held (a server sends two or so per handshake).
const MAX_TICKETS: usize = 4;

impl AnyName {
    /// Whether a session is held, and then the largest `max_early_data_size` of the TLS 1.3
    /// tickets held (0 for a TLS 1.2 session): the ticket offered first
    /// (`take_tls13_ticket`).
    fn held(&self) -> Option<u32> {
        let held = self.held.lock().ok()?;
        let most = held
            .tls13
            .iter()
            .map(Tls13ClientSessionValue::max_early_data_size)
            .max();
        (held.tls12.is_some() || most.is_some()).then_some(most.unwrap_or(0))
    }
}

impl fmt::Debug for AnyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AnyName")
    }
}

impl ClientSessionStore for AnyName {
    fn set_kx_hint(&self, _: ServerName<'static>, group: NamedGroup) {
        if let Ok(mut held) = self.held.lock() {
            held.kx = Some(group);
        }
    }

    fn kx_hint(&self, _: &ServerName<'_>) -> Option<NamedGroup> {
        self.held.lock().ok()?.kx
    }

    fn set_tls12_session(&self, _: ServerName<'static>, value: Tls12ClientSessionValue) {
        if let Ok(mut held) = self.held.lock() {
            held.tls12 = Some(value);
        }
    }

    fn tls12_session(&self, _: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.held.lock().ok()?.tls12.clone()
    }

    fn remove_tls12_session(&self, _: &ServerName<'static>) {
        if let Ok(mut held) = self.held.lock() {
            held.tls12 = None;
        }
    }

    fn insert_tls13_ticket(&self, _: ServerName<'static>, value: Tls13ClientSessionValue) {
        if let Ok(mut held) = self.held.lock() {
            if held.tls13.len() < MAX_TICKETS {
                held.tls13.push(value);
            } else if let Some(least) = (0..held.tls13.len())
                .min_by_key(|&i| held.tls13[i].max_early_data_size())
                .filter(|&i| held.tls13[i].max_early_data_size() < value.max_early_data_size())
            {
                // Full: a ticket allowing more early data takes the place of the least.
                held.tls13[least] = value;
            }
        }
    }

    fn take_tls13_ticket(&self, _: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        // Each at most once, as the trait requires; the one allowing the most early data
        // first, so a 0-RTT scenario offers a ticket that allows it when one is held.
        let mut held = self.held.lock().ok()?;
        let best = (0..held.tls13.len()).max_by_key(|&i| held.tls13[i].max_early_data_size())?;
        Some(held.tls13.swap_remove(best))
    }
}
