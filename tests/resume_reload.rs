//! Issue 21, "Reload keeps what it safely can": a TLS session resumes across a reload exactly
//! when the policy's name, the certificates and the policy's declared trust (client
//! authentication mode, client CAs, verifier settings, versions) are unchanged; any change
//! forces a full handshake. TLS 1.3 resumption does not verify the client certificate again
//! (RFC 8446 §4.6.1: a ticket encapsulates the client authentication state of its
//! connection), so a session made under one trust must never resume under another
//! (CVE-2025-23048's class).
//!
//! The first tests drive the example server (examples/server.rs, included here) over TCP and
//! QUIC with real clients, each holding its own rustls resumption store, and print the shares
//! of resumed reconnections per policy (run with `--nocapture` to see them). The others drive
//! `Acceptor`s directly over in-memory streams: a hand-built policy never resumes across a
//! rebuild, a declared one does, also when the rebuild reorders policies and certificates, and
//! TLS 1.2 session ids and tickets are both kept.

#[path = "../examples/server.rs"]
mod server;

#[path = "common/h3_client.rs"]
mod h3_client;

#[path = "common/ca.rs"]
mod ca;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use misdirect::{
    Acceptor, CertResolver, CertificateConfig, ClientAuth, Config, ListenerConfig, PolicyTls,
    Server, TlsError, VhostConfig,
};
use rustls::client::Tls12Resumption;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::{ProducesTickets, ServerSessionMemoryCache, StoresServerSessions};
use rustls::sign::CertifiedKey;
use rustls::{HandshakeKind, ProtocolVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use ca::Ca;
use h3_client::{bounded, h3, handshake};

/// Clients per policy and phase.
const N: usize = 10;

/// One group of clients of the example: an SNI, whether they present the client certificate,
/// and how they resume TLS 1.2 sessions.
struct Group {
    label: &'static str,
    sni: &'static str,
    policy: &'static str,
    certificate: &'static str,
    client_cert: bool,
    tls12: Option<Tls12Resumption>,
}

const GROUPS: [Group; 5] = [
    Group {
        label: "public (a.example.test, TLS 1.3 tickets)",
        sni: "a.example.test",
        policy: "public",
        certificate: "example",
        client_cert: false,
        tls12: None,
    },
    Group {
        label: "public (c.other.test, TLS 1.3 tickets)",
        sni: "c.other.test",
        policy: "public",
        certificate: "other",
        client_cert: false,
        tls12: None,
    },
    Group {
        label: "mtls (admin.example.test, TLS 1.3 tickets)",
        sni: "admin.example.test",
        policy: "mtls",
        certificate: "example",
        client_cert: true,
        tls12: None,
    },
    Group {
        label: "legacy (legacy.example.test, TLS 1.2 tickets)",
        sni: "legacy.example.test",
        policy: "legacy",
        certificate: "example",
        client_cert: false,
        tls12: Some(Tls12Resumption::SessionIdOrTickets),
    },
    Group {
        label: "legacy (legacy.example.test, TLS 1.2 session ids)",
        sni: "legacy.example.test",
        policy: "legacy",
        certificate: "example",
        client_cert: false,
        tls12: Some(Tls12Resumption::SessionIdOnly),
    },
];

/// A rustls client of its own (its own resumption store), trusting these CAs.
fn tcp_client(running: &server::Running, cas: &[&str], group: &Group) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in cas {
        roots
            .add(CertificateDer::from_pem_slice(ca.as_bytes()).unwrap())
            .unwrap();
    }
    // legacy's groups are old clients: TLS 1.2 alone (the policy offers 1.3 beside it).
    let versions: &[&rustls::SupportedProtocolVersion] = if group.tls12.is_some() {
        &[&rustls::version::TLS12]
    } else {
        rustls::DEFAULT_VERSIONS
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    let mut config = if group.client_cert {
        let (cert, key) = &running.pki.client;
        builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap()
    } else {
        builder.with_no_client_auth()
    };
    if let Some(tls12) = group.tls12 {
        config.resumption = config.resumption.tls12_resumption(tls12);
    }
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// One connection and one HTTP/1.1 request for the group's site; whether the session was
/// resumed, as the server's answer says it. The client's own view must agree, and the answer
/// must name the policy and certificate of the original handshake.
async fn visit(
    running: &server::Running,
    group: &Group,
    config: &Arc<rustls::ClientConfig>,
) -> bool {
    let port = running.addr.port();
    let exchange = async {
        let tcp = TcpStream::connect(running.addr).await.unwrap();
        let name = ServerName::try_from(group.sni).unwrap();
        let mut stream = tokio_rustls::TlsConnector::from(Arc::clone(config))
            .connect(name, tcp)
            .await
            .unwrap_or_else(|e| panic!("{}: handshake: {e}", group.label));
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {}:{port}\r\nConnection: close\r\n\r\n",
            group.sni
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        // The whole answer: with it come the TLS 1.3 tickets the server sent after its
        // handshake, which the client keeps for the next connection.
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply).await;
        let (_, conn) = stream.get_ref();
        let version = conn.protocol_version();
        let kind = conn.handshake_kind();
        (String::from_utf8_lossy(&reply).into_owned(), version, kind)
    };
    let (reply, version, kind) = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("an answer within ten seconds");
    assert!(
        reply.starts_with("HTTP/1.1 200"),
        "{}: {reply}",
        group.label
    );
    let expected_version = if group.tls12.is_some() {
        ProtocolVersion::TLSv1_2
    } else {
        ProtocolVersion::TLSv1_3
    };
    assert_eq!(version, Some(expected_version), "{}", group.label);
    assert!(
        reply.contains(&format!("policy {}", group.policy))
            && reply.contains(&format!("certificate {}", group.certificate))
            && reply.contains(&format!(
                "client certificate {}",
                if group.client_cert { "yes" } else { "no" }
            )),
        "{}: {reply}",
        group.label
    );
    let resumed = reply.contains("resumed yes");
    assert!(resumed || reply.contains("resumed no"), "{reply}");
    assert_eq!(
        kind == Some(HandshakeKind::Resumed),
        resumed,
        "{}: the client's and the server's view of resumption differ: {kind:?}, {reply}",
        group.label
    );
    resumed
}

/// Every client of every group reconnects once; the resumed count per group.
async fn reconnect_all(
    running: &server::Running,
    clients: &[Vec<Arc<rustls::ClientConfig>>],
) -> Vec<usize> {
    let mut counts = Vec::new();
    for (group, configs) in GROUPS.iter().zip(clients) {
        let mut resumed = 0;
        for config in configs {
            resumed += usize::from(visit(running, group, config).await);
        }
        counts.push(resumed);
    }
    counts
}

fn report(phase: &str, counts: &[usize]) {
    println!("{phase}:");
    for (group, resumed) in GROUPS.iter().zip(counts) {
        println!("  {:<52} resumed {resumed}/{N}", group.label);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_sessions_resume_across_a_reload_exactly_when_nothing_they_depend_on_changed() {
    let running = h3_client::start().await;
    // The certificate the last phase renews `example` with, by another CA the clients trust
    // from the start.
    let renewed = server::generate_pki_with(&["*.example.test"]).unwrap();
    let cas = [running.pki.ca.as_str(), renewed.ca.as_str()];
    let clients: Vec<Vec<_>> = GROUPS
        .iter()
        .map(|group| (0..N).map(|_| tcp_client(&running, &cas, group)).collect())
        .collect();

    // Generation 1: every client makes a full handshake and keeps its ticket or session id.
    let first = reconnect_all(&running, &clients).await;
    report("generation 1 (first connections)", &first);
    assert!(first.iter().all(|&n| n == 0), "{first:?}");

    // Generation 2: a reload that changes nothing. Every session resumes.
    let changes = running.reload().unwrap();
    assert!(changes.ends_with("no changes"), "{changes}");
    let unchanged = reconnect_all(&running, &clients).await;
    report("generation 2 (reload, nothing changed)", &unchanged);
    assert!(unchanged.iter().all(|&n| n == N), "{unchanged:?}");

    // Generation 3: the mtls policy's client CAs change (a second CA added to ca.pem; the
    // client's certificate is still trusted). mtls sessions were verified under the old set:
    // full handshakes. Every other policy resumes.
    let bundle = format!("{}{}", running.pki.ca, renewed.ca);
    std::fs::write(running.dir.join("ca.pem"), bundle).unwrap();
    running.reload().unwrap();
    let trust_changed = reconnect_all(&running, &clients).await;
    report(
        "generation 3 (reload, mtls client CAs changed)",
        &trust_changed,
    );
    for (group, &resumed) in GROUPS.iter().zip(&trust_changed) {
        let expected = if group.policy == "mtls" { 0 } else { N };
        assert_eq!(resumed, expected, "{}: {trust_changed:?}", group.label);
    }

    // Generation 4: the `example` certificate is renewed. No session of a policy it is
    // presented under resumes. The `other` certificate's sessions do not either: the scope
    // holds the set of certificates the resolver can present (a new certificate may take an
    // SNI over), so a renewal of one gives every client a full handshake.
    for (name, text) in [
        ("example.pem", &renewed.example.0),
        ("example.key", &renewed.example.1),
    ] {
        std::fs::write(running.dir.join(name), text).unwrap();
    }
    let changes = running.reload().unwrap();
    assert!(
        changes.contains("certificate \"example\" renewed"),
        "{changes}"
    );
    let renewal = reconnect_all(&running, &clients).await;
    report(
        "generation 4 (reload, certificate example renewed)",
        &renewal,
    );
    assert!(renewal.iter().all(|&n| n == 0), "{renewal:?}");

    // Generation 5: nothing changed again, and every session made on generation 4 resumes.
    running.reload().unwrap();
    let again = reconnect_all(&running, &clients).await;
    report("generation 5 (reload, nothing changed)", &again);
    assert!(again.iter().all(|&n| n == N), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_sessions_resume_across_a_reload_unless_the_client_trust_changed() {
    bounded(async {
        let running = h3_client::start().await;
        let port = running.addr.port();
        let groups = [("a.example.test", false), ("admin.example.test", true)];
        let clients: Vec<Vec<quinn::ClientConfig>> = groups
            .iter()
            .map(|&(_, cert)| {
                (0..N)
                    .map(|_| h3_client::client_config(&running, cert))
                    .collect()
            })
            .collect();
        let round = async |running: &server::Running| {
            let mut counts = Vec::new();
            for ((sni, _), configs) in groups.iter().zip(&clients) {
                let mut resumed = 0;
                for config in configs {
                    let quic = handshake(running, sni, config.clone()).await;
                    let mut conn = h3(quic).await;
                    let (status, body) =
                        h3_client::get(&mut conn, &format!("https://{sni}:{port}/")).await;
                    assert_eq!(status, hyper::StatusCode::OK, "{body}");
                    assert!(body.contains("over HTTP/3"), "{body}");
                    resumed += usize::from(body.contains("resumed yes"));
                    conn.quic.close(0u32.into(), b"done");
                }
                counts.push(resumed);
            }
            println!("  public {}/{N}, mtls {}/{N}", counts[0], counts[1]);
            counts
        };
        println!("QUIC generation 1:");
        assert_eq!(round(&running).await, [0, 0]);
        running.reload().unwrap();
        println!("QUIC generation 2 (reload, nothing changed):");
        assert_eq!(round(&running).await, [N, N]);
        let extra = server::generate_pki_with(&["*.example.test"]).unwrap();
        std::fs::write(
            running.dir.join("ca.pem"),
            format!("{}{}", running.pki.ca, extra.ca),
        )
        .unwrap();
        running.reload().unwrap();
        println!("QUIC generation 3 (reload, mtls client CAs changed):");
        assert_eq!(round(&running).await, [N, 0]);
    })
    .await;
}

// In-memory: acceptors built directly, for what the example does not show.

/// A session store that counts the lookups that found something.
#[derive(Debug)]
struct CountingStore {
    inner: Arc<dyn StoresServerSessions>,
    found: AtomicUsize,
}

impl StoresServerSessions for CountingStore {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.inner.put(key, value)
    }
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let value = self.inner.get(key);
        self.found
            .fetch_add(usize::from(value.is_some()), Ordering::Relaxed);
        value
    }
    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        let value = self.inner.take(key);
        self.found
            .fetch_add(usize::from(value.is_some()), Ordering::Relaxed);
        value
    }
    fn can_cache(&self) -> bool {
        self.inner.can_cache()
    }
}

/// A ticketer that counts the tickets it decrypted.
#[derive(Debug)]
struct CountingTicketer {
    inner: Arc<dyn ProducesTickets>,
    decrypted: AtomicUsize,
}

impl ProducesTickets for CountingTicketer {
    fn enabled(&self) -> bool {
        self.inner.enabled()
    }
    fn lifetime(&self) -> u32 {
        self.inner.lifetime()
    }
    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.inner.encrypt(plain)
    }
    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        let plain = self.inner.decrypt(cipher);
        self.decrypted
            .fetch_add(usize::from(plain.is_some()), Ordering::Relaxed);
        plain
    }
}

/// What outlives a rebuild: the server's certificates, the session store and ticket key, and
/// the client CAs.
struct World {
    edge: Arc<CertifiedKey>,
    spare: Arc<CertifiedKey>,
    server_ca: Ca,
    client_ca: Ca,
    other_ca: Ca,
    client_cert: (CertificateDer<'static>, PrivateKeyDer<'static>),
    store: Arc<CountingStore>,
    ticketer: Arc<CountingTicketer>,
}

impl World {
    fn new() -> World {
        let server_ca = Ca::new("server CA");
        let client_ca = Ca::new("client CA");
        World {
            edge: server_ca.certified(&["*.example.test"]),
            spare: server_ca.certified(&["spare.test"]),
            client_cert: client_ca.issue(&[], true),
            server_ca,
            client_ca,
            other_ca: Ca::new("other client CA"),
            store: Arc::new(CountingStore {
                inner: ServerSessionMemoryCache::new(256),
                found: AtomicUsize::new(0),
            }),
            ticketer: Arc::new(CountingTicketer {
                inner: rustls::crypto::ring::Ticketer::new().unwrap(),
                decrypted: AtomicUsize::new(0),
            }),
        }
    }

    fn client(
        &self,
        versions: &[&'static rustls::SupportedProtocolVersion],
        tls12: Tls12Resumption,
    ) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.server_ca.der()).unwrap();
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            vec![self.client_cert.0.clone()],
            self.client_cert.1.clone_key(),
        )
        .unwrap();
        config.resumption = config.resumption.tls12_resumption(tls12);
        Arc::new(config)
    }
}

/// How one generation registers its policies.
#[derive(Clone, Copy, PartialEq)]
enum Registration {
    /// Hand-built `ServerConfig`s through `with_policy`.
    HandBuilt,
    /// `PolicyTls` declarations through `with_declared_policy`.
    Declared,
}

/// One generation: `public` and `mtls` (admin.example.test), the latter trusting `mtls`'s
/// roots; `reordered` lists policies and certificates the other way round.
struct Generation {
    registration: Registration,
    mtls: ClientAuth,
    versions: &'static [&'static rustls::SupportedProtocolVersion],
    reordered: bool,
}

fn build(
    world: &World,
    generation: &Generation,
) -> (Arc<Server<&'static str>>, Acceptor<&'static str>) {
    let mut policies = vec!["public".to_string(), "mtls".to_string()];
    let mut certificates = vec![
        CertificateConfig::new("edge", &["*.example.test"]),
        CertificateConfig::new("spare", &["spare.test"]),
    ];
    if generation.reordered {
        policies.reverse();
        certificates.reverse();
    }
    let config = Config {
        policies,
        certificates,
        vhosts: vec![
            VhostConfig::new("a", &["a.example.test"], "public", "a"),
            VhostConfig::new("admin", &["admin.example.test"], "mtls", "ADMIN"),
        ],
        listeners: vec![ListenerConfig::new("tls", true, 443)],
        ..Config::default()
    };
    let server = Arc::new(Server::build(config).unwrap());
    let resolver = Arc::new(
        CertResolver::new(
            &server,
            [("edge", world.edge.clone()), ("spare", world.spare.clone())],
            Some("edge"),
        )
        .unwrap(),
    );
    let listener = server.listener_id("tls").unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let store: Arc<dyn StoresServerSessions> = world.store.clone();
    let ticketer: Arc<dyn ProducesTickets> = world.ticketer.clone();
    let declare = |client_auth: ClientAuth| {
        PolicyTls::new(provider.clone(), client_auth)
            .with_versions(generation.versions)
            .with_session_storage(store.clone())
            .with_ticketer(ticketer.clone())
    };
    let acceptor = match generation.registration {
        Registration::Declared => Acceptor::new_declared(
            server.clone(),
            listener,
            resolver,
            "public",
            &declare(ClientAuth::None),
        )
        .unwrap()
        .with_declared_policy("mtls", &declare(generation.mtls.clone()))
        .unwrap(),
        Registration::HandBuilt => {
            let ClientAuth::Required { roots } = &generation.mtls else {
                panic!("hand-built generations require client certificates");
            };
            let mut store_roots = rustls::RootCertStore::empty();
            for root in roots {
                store_roots.add(root.clone()).unwrap();
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(store_roots),
                provider.clone(),
            )
            .build()
            .unwrap();
            let hand_built = |verifier| {
                let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
                    .with_protocol_versions(generation.versions)
                    .unwrap();
                let mut config = match verifier {
                    Some(verifier) => builder.with_client_cert_verifier(verifier),
                    None => builder.with_no_client_auth(),
                }
                .with_cert_resolver(resolver.clone());
                config.session_storage = store.clone();
                config.ticketer = ticketer.clone();
                Arc::new(config)
            };
            Acceptor::new(
                server.clone(),
                listener,
                resolver.clone(),
                "public",
                hand_built(None),
            )
            .unwrap()
            .with_policy("mtls", hand_built(Some(verifier)))
            .unwrap()
        }
    };
    (server, acceptor)
}

/// One handshake with SNI admin.example.test and one byte each way (so that the client takes
/// its ticket); whether it resumed, with the names of the policy and certificate the facts
/// report. `Err` when the server refused the handshake.
async fn try_admin(
    server: &Server<&'static str>,
    acceptor: &Acceptor<&'static str>,
    client: &Arc<rustls::ClientConfig>,
) -> Result<(bool, String, String), String> {
    let (near, far) = tokio::io::duplex(64 * 1024);
    let server_side = async {
        let (mut stream, facts) = acceptor.accept(far).await.map_err(|e| e.to_string())?;
        stream.write_all(b"x").await.map_err(|e| e.to_string())?;
        stream.flush().await.map_err(|e| e.to_string())?;
        let mut end = [0u8; 1];
        let _ = stream.read(&mut end).await;
        Ok::<_, String>(facts)
    };
    let client_side = async {
        let name = ServerName::try_from("admin.example.test").unwrap();
        let mut stream = tokio_rustls::TlsConnector::from(client.clone())
            .connect(name, near)
            .await
            .ok()?;
        let mut byte = [0u8; 1];
        let _ = stream.read_exact(&mut byte).await;
        let _ = stream.shutdown().await;
        stream.get_ref().1.handshake_kind()
    };
    let (facts, kind) = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(server_side, client_side)
    })
    .await
    .expect("handshakes finish");
    let facts = facts?;
    assert_eq!(facts.resumed, kind == Some(HandshakeKind::Resumed));
    assert!(facts.client_certificate);
    let policy = facts
        .policy
        .and_then(|p| server.policy_name(p))
        .unwrap_or("?")
        .to_string();
    let certificate = server
        .certificate_name(facts.certificate)
        .unwrap_or("?")
        .to_string();
    Ok((facts.resumed, policy, certificate))
}

async fn admin(
    server: &Server<&'static str>,
    acceptor: &Acceptor<&'static str>,
    client: &Arc<rustls::ClientConfig>,
) -> (bool, String, String) {
    try_admin(server, acceptor, client)
        .await
        .expect("the handshake is accepted")
}

const TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];
const TLS12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
const BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// A handshake on `before`, then one with the same client on a rebuild as `after`: whether
/// the second resumed.
async fn across(
    world: &World,
    before: &Generation,
    after: &Generation,
    client: &Arc<rustls::ClientConfig>,
) -> bool {
    let (server, acceptor) = build(world, before);
    let (resumed, _, _) = admin(&server, &acceptor, client).await;
    assert!(!resumed, "a new client's first handshake is a full one");
    let (server, acceptor) = build(world, after);
    let (resumed, policy, certificate) = admin(&server, &acceptor, client).await;
    assert_eq!((policy.as_str(), certificate.as_str()), ("mtls", "edge"));
    resumed
}

#[tokio::test]
async fn a_hand_built_policy_never_resumes_across_a_rebuild() {
    let world = World::new();
    let same = || Generation {
        registration: Registration::HandBuilt,
        mtls: ClientAuth::Required {
            roots: vec![world.client_ca.der()],
        },
        versions: TLS13,
        reordered: false,
    };
    for (versions, tls12) in [
        (TLS13, Tls12Resumption::SessionIdOrTickets),
        (TLS12, Tls12Resumption::SessionIdOrTickets),
        (TLS12, Tls12Resumption::SessionIdOnly),
    ] {
        let generation = Generation { versions, ..same() };
        let client = world.client(versions, tls12);
        // On one build, a hand-built policy resumes.
        let (server, acceptor) = build(&world, &generation);
        assert!(!admin(&server, &acceptor, &client).await.0);
        assert!(admin(&server, &acceptor, &client).await.0, "same build");
        // Rebuilt identically, with the same store and ticket key: a full handshake, as the
        // crate cannot read a hand-built verifier to know its trust is the same.
        let generation = Generation { versions, ..same() };
        let (server, acceptor) = build(&world, &generation);
        assert!(
            !admin(&server, &acceptor, &client).await.0,
            "a hand-built policy resumed across a rebuild ({versions:?}, {tls12:?})"
        );
    }
}

#[tokio::test]
async fn a_declared_policy_resumes_across_a_rebuild_exactly_when_its_trust_is_unchanged() {
    let world = World::new();
    let declared = |mtls: ClientAuth, versions, reordered| Generation {
        registration: Registration::Declared,
        mtls,
        versions,
        reordered,
    };
    let required = |roots: Vec<CertificateDer<'static>>| ClientAuth::Required { roots };
    let trusted = || vec![world.client_ca.der()];
    let both_cas = || vec![world.client_ca.der(), world.other_ca.der()];
    let tls13 = || world.client(TLS13, Tls12Resumption::SessionIdOrTickets);

    // Unchanged: resumes, and the resumption data (digests, not positions) reads as this
    // build's mtls policy and edge certificate even when the rebuild lists policies and
    // certificates the other way round (checked in `across`).
    let same = declared(required(trusted()), TLS13, false);
    assert!(across(&world, &same, &same, &tls13()).await, "unchanged");
    let reordered = declared(required(trusted()), TLS13, true);
    assert!(
        across(&world, &same, &reordered, &tls13()).await,
        "reordered lists"
    );
    // The roots' order and duplicates do not change the trust.
    let (forward, backward) = (
        declared(required(both_cas()), TLS13, false),
        declared(
            required(vec![
                world.other_ca.der(),
                world.client_ca.der(),
                world.other_ca.der(),
            ]),
            TLS13,
            false,
        ),
    );
    assert!(
        across(&world, &forward, &backward, &tls13()).await,
        "roots reordered"
    );

    // Any change of the trust: a full handshake.
    for (label, after) in [
        ("a CA added", declared(required(both_cas()), TLS13, false)),
        (
            "required becomes optional",
            declared(ClientAuth::Optional { roots: trusted() }, TLS13, false),
        ),
        ("versions", declared(required(trusted()), BOTH, false)),
    ] {
        assert!(!across(&world, &same, &after, &tls13()).await, "{label}");
    }
    // A CA removed: the full handshake then refuses a client of the removed CA.
    let removed = declared(required(vec![world.client_ca.der()]), TLS13, false);
    assert!(
        !across(&world, &forward, &removed, &tls13()).await,
        "a CA removed"
    );

    // The review's attack (`review_resumption.rs`), on declared policies: the client CA is
    // replaced, and the client holding a session made under the old one gets a full
    // handshake, which its certificate fails.
    let (server, acceptor) = build(&world, &same);
    let attacker = tls13();
    assert!(!admin(&server, &acceptor, &attacker).await.0);
    let distrusted = declared(required(vec![world.other_ca.der()]), TLS13, false);
    let (server, acceptor) = build(&world, &distrusted);
    let attempt = try_admin(&server, &acceptor, &attacker).await;
    assert!(
        attempt.is_err(),
        "resumed into a distrusting policy: {attempt:?}"
    );

    // A declared policy's sessions never resume under a hand-built one of the same name and
    // trust, nor the other way round: the crate cannot tell the hand-built trust.
    let hand_built = Generation {
        registration: Registration::HandBuilt,
        ..declared(required(trusted()), TLS13, false)
    };
    assert!(!across(&world, &same, &hand_built, &tls13()).await);
    assert!(!across(&world, &hand_built, &same, &tls13()).await);
}

/// TLS 1.2 sessions survive a rebuild both ways rustls keeps them: as session ids in the
/// shared store and as tickets of the shared ticketer; TLS 1.3 tickets through the ticketer.
#[tokio::test]
async fn declared_tls12_session_ids_and_tickets_and_tls13_tickets_survive_a_rebuild() {
    let world = World::new();
    for (versions, tls12, by_ticket) in [
        (TLS12, Tls12Resumption::SessionIdOnly, false),
        (TLS12, Tls12Resumption::SessionIdOrTickets, true),
        (TLS13, Tls12Resumption::SessionIdOrTickets, true),
    ] {
        let generation = Generation {
            registration: Registration::Declared,
            mtls: ClientAuth::Required {
                roots: vec![world.client_ca.der()],
            },
            versions,
            reordered: false,
        };
        let (found, decrypted) = (
            world.store.found.load(Ordering::Relaxed),
            world.ticketer.decrypted.load(Ordering::Relaxed),
        );
        let client = world.client(versions, tls12);
        assert!(
            across(&world, &generation, &generation, &client).await,
            "{versions:?} {tls12:?}"
        );
        let found = world.store.found.load(Ordering::Relaxed) - found;
        let decrypted = world.ticketer.decrypted.load(Ordering::Relaxed) - decrypted;
        if by_ticket {
            assert!(decrypted > 0, "{versions:?} {tls12:?}: no ticket decrypted");
        } else {
            assert!(
                found > 0 && decrypted == 0,
                "{versions:?} {tls12:?}: found {found}, decrypted {decrypted}"
            );
        }
    }
}

#[test]
fn a_declaration_rustls_cannot_build_is_a_typed_error() {
    let config = Config::<&str> {
        policies: vec!["public".into()],
        listeners: vec![ListenerConfig::new("tls", true, 443)],
        ..Config::default()
    };
    let server = Arc::new(Server::build(config).unwrap());
    let listener = server.listener_id("tls").unwrap();
    let resolver = Arc::new(CertResolver::new(&server, Vec::<(&str, _)>::new(), None).unwrap());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    for (client_auth, versions) in [
        (ClientAuth::Required { roots: vec![] }, TLS13),
        (ClientAuth::Optional { roots: vec![] }, TLS13),
        (
            ClientAuth::Required {
                roots: vec![CertificateDer::from(b"not a certificate".to_vec())],
            },
            TLS13,
        ),
        (ClientAuth::None, &[][..]),
    ] {
        let tls = PolicyTls::new(provider.clone(), client_auth).with_versions(versions);
        let error =
            Acceptor::new_declared(server.clone(), listener, resolver.clone(), "public", &tls)
                .unwrap_err();
        assert!(
            matches!(&error, TlsError::PolicyConfig { policy, .. } if policy == "public"),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(
            text.starts_with("the TLS declaration of policy \"public\" does not build: "),
            "{text}"
        );
    }
    let tls = PolicyTls::new(provider, ClientAuth::None);
    assert_eq!(
        Acceptor::new_declared(server, listener, resolver, "nope", &tls).unwrap_err(),
        TlsError::UnknownPolicy("nope".into())
    );
}
