//! Regression tests for the defects a hostile review found (issue 12): each one named, each
//! with the input the review used. Every test here failed on the code before the fix.
#![cfg(all(feature = "model", feature = "rustls"))]

use std::sync::Arc;

use misdirect_testkit::owned::case_and_dot_variants;

use misdirect::{
    Acceptor, CertResolver, CertificateConfig, Config, ConnectionFacts, FactsError, Handshake,
    ListenerConfig, Method, Request, Rule, San, Server, SniPolicy, Target, UnknownHost, Verdict,
    Version, VhostConfig, model,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::{ProducesTickets, ServerSessionMemoryCache, StoresServerSessions};
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn h2<'a>(authority: &'a [&'a [u8]]) -> Request<'a> {
    Request {
        version: Version::Http2,
        method: Method::Other,
        scheme: Some(b"https"),
        authorities: authority,
        hosts: &[],
        target: Target::Origin,
    }
}

fn tls_facts<'a>(
    server: &Server<&'static str>,
    sni: &'a [u8],
    policy: &str,
) -> ConnectionFacts<'a> {
    ConnectionFacts {
        listener: server.listener_id("tls").unwrap(),
        tls: Some(Handshake {
            sni: Some(sni),
            certificate: server.certificate_id("edge").unwrap(),
            policy: server.policy_id(policy),
        }),
        gateway: None,
    }
}

/// A name of exactly `len` octets under `example.com`, labels of at most 63 octets.
fn long_name(len: usize) -> String {
    let suffix = ".example.com";
    let mut labels = Vec::new();
    let mut left = len - suffix.len();
    while left > 0 {
        // A label and the dot before the next one; the last label takes what is left.
        let label = if left > 64 { 63 } else { left };
        labels.push("l".repeat(label));
        // The dot before the next label, if there is one.
        left = (left - label).saturating_sub(1);
    }
    let name = format!("{}{suffix}", labels.join("."));
    assert_eq!(name.len(), len);
    name
}

/// Defect 1: an exact name wins over a wildcard whatever its case and length. The fast path
/// lowercased names of at most 64 bytes; a longer one with a capital was marked "probed and
/// absent", so only the wildcard was looked up and the mTLS site's host was served by the
/// public wildcard site.
#[test]
fn long_exact_names_with_capitals_are_not_taken_by_a_wildcard() {
    for len in [65, 72, 128, 253] {
        let long = long_name(len);
        let server = Server::build(Config {
            policies: vec!["public".into(), "mtls".into()],
            certificates: vec![CertificateConfig::new("edge", &["*.example.com", &long])],
            vhosts: vec![
                VhostConfig::new("www", &["*.example.com"], "public", "www"),
                VhostConfig::new("admin", &[&long], "mtls", "admin"),
            ],
            listeners: vec![ListenerConfig::new("tls", true, 443)],
            ..Config::default()
        })
        .unwrap();
        let facts = tls_facts(&server, b"www.example.com", "public");
        let conn = server.connection(&facts).unwrap();
        for variant in case_and_dot_variants(&long) {
            let authorities = [variant.as_bytes()];
            let request = h2(&authorities);
            let verdict = server.decide(&conn, &request);
            assert!(
                matches!(&verdict, Verdict::Misdirected(r) if r.rule == Rule::Sni),
                "{len} octets, {variant}: {verdict:?}"
            );
            assert_eq!(server.choose(&conn, &request).unwrap_err().rule, Rule::Sni);
            let outcome = model::decide(server.config(), &facts, &request).unwrap();
            assert_eq!(outcome.rule, Some(Rule::Sni), "model, {variant}");
        }
        // The same connection with the mTLS handshake is served the admin site, any case.
        let facts = tls_facts(&server, long.as_bytes(), "mtls");
        let conn = server.connection(&facts).unwrap();
        for variant in case_and_dot_variants(&long) {
            let authorities = [variant.as_bytes()];
            assert_eq!(
                server.decide(&conn, &h2(&authorities)),
                Verdict::Serve(&"admin"),
                "{variant}"
            );
        }
    }
}

fn two_certificates(order: [usize; 2], listeners: usize) -> Server<&'static str> {
    let certificates = [
        CertificateConfig::new("a-cert", &["a.example.com"]),
        CertificateConfig::new("b-cert", &["b.example.com"]),
    ];
    Server::build(Config {
        policies: vec!["public".into()],
        certificates: order.iter().map(|&i| certificates[i].clone()).collect(),
        vhosts: ["a", "b"]
            .into_iter()
            .map(|name| VhostConfig {
                https_ports: vec![443, 444],
                ..VhostConfig::new(name, &[format!("{name}.example.com")], "public", name)
            })
            .collect(),
        listeners: (0..listeners)
            .map(|i| ListenerConfig::new(&format!("tls{i}"), true, 443 + i as u16))
            .collect(),
        ..Config::default()
    })
    .unwrap()
}

/// Defect 3: a `Connection` (and the ids in it) used with another server. With fewer listeners
/// the lookup panicked; with as many, the decision read the other server's certificate at the
/// same position and served a host the presented certificate does not cover.
#[test]
fn a_connection_of_another_server_is_refused_never_read() {
    let old = two_certificates([0, 1], 2);
    let facts = ConnectionFacts {
        listener: old.listener_id("tls1").unwrap(),
        tls: Some(Handshake {
            sni: Some(b"a.example.com"),
            certificate: old.certificate_id("a-cert").unwrap(),
            policy: old.policy_id("public"),
        }),
        gateway: None,
    };
    let conn = old.connection(&facts).unwrap();
    let b = [&b"b.example.com:444"[..]];
    let a = [&b"a.example.com:444"[..]];
    assert_eq!(
        old.decide(&conn, &h2(&b)).reason().unwrap().rule,
        Rule::Certificate
    );

    // Fewer listeners: the connection's listener is past the end.
    let fewer = two_certificates([0, 1], 1);
    let verdict = fewer.decide(&conn, &h2(&a));
    assert_eq!(verdict.status(), Some(421));
    assert_eq!(verdict.reason().unwrap().rule, Rule::Connection);
    assert!(fewer.origins(&conn).is_empty());

    // As many listeners, certificates reordered: position 0 is now b's certificate.
    let reordered = two_certificates([1, 0], 2);
    for authority in [&a, &b] {
        let verdict = reordered.decide(&conn, &h2(authority));
        assert_eq!(verdict.status(), Some(421), "{authority:?}");
        assert_eq!(verdict.reason().unwrap().rule, Rule::Connection);
        assert_eq!(
            reordered.choose(&conn, &h2(authority)).unwrap_err().rule,
            Rule::Connection
        );
    }
    assert_eq!(
        reordered
            .decide(&conn, &h2(&b))
            .reason()
            .unwrap()
            .to_string(),
        "421: the connection was made by another build of the server configuration; \
         the client must retry on a new connection"
    );

    // The ids alone: another server refuses them, whatever their positions.
    assert_eq!(
        reordered.connection(&facts).unwrap_err(),
        FactsError::UnknownListener
    );
    let own = ConnectionFacts {
        listener: reordered.listener_id("tls1").unwrap(),
        ..facts
    };
    assert_eq!(
        reordered.connection(&own).unwrap_err(),
        FactsError::UnknownCertificate
    );
    let handshake = Handshake {
        certificate: reordered.certificate_id("a-cert").unwrap(),
        ..facts.tls.unwrap()
    };
    let own = ConnectionFacts {
        tls: Some(handshake),
        ..own
    };
    assert_eq!(
        reordered.connection(&own).unwrap_err(),
        FactsError::UnknownPolicy
    );
    assert_eq!(
        reordered.certificate_name(old.certificate_id("a-cert").unwrap()),
        None
    );
    assert_eq!(
        reordered.listener_name(old.listener_id("tls0").unwrap()),
        None
    );
    assert_eq!(
        reordered.policy_name(old.policy_id("public").unwrap()),
        None
    );
    assert_eq!(
        reordered.sni_vhost(old.listener_id("tls0").unwrap(), None),
        None
    );

    // The same configuration built twice is still two servers.
    let again = two_certificates([0, 1], 2);
    assert_eq!(
        again.decide(&conn, &h2(&a)).reason().unwrap().rule,
        Rule::Connection
    );
    assert!(matches!(old.decide(&conn, &h2(&a)), Verdict::Serve(&"a")));
}

/// Defect 4: RFC 9112 §3.2, "A server MUST respond with a 400 (Bad Request) status code to any
/// HTTP/1.1 request message that lacks a Host header field": absolute-form included.
#[test]
fn http11_absolute_form_without_host_is_a_400() {
    let server = Server::build(Config {
        vhosts: vec![VhostConfig {
            http_ports: vec![80],
            https_ports: vec![],
            ..VhostConfig::new("plain", &["a.example.com"], "public", "plain")
        }],
        policies: vec!["public".into()],
        listeners: vec![ListenerConfig::new("clear", false, 80)],
        ..Config::default()
    })
    .unwrap();
    let facts = ConnectionFacts {
        listener: server.listener_id("clear").unwrap(),
        tls: None,
        gateway: None,
    };
    let conn = server.connection(&facts).unwrap();
    let request = Request {
        version: Version::Http11,
        method: Method::Other,
        scheme: None,
        authorities: &[],
        hosts: &[],
        target: Target::Absolute {
            scheme: b"http",
            authority: b"a.example.com",
        },
    };
    let verdict = server.decide(&conn, &request);
    assert_eq!(verdict.status(), Some(400), "{verdict:?}");
    assert_eq!(verdict.reason().unwrap().rule, Rule::Framing);
    let outcome = model::decide(server.config(), &facts, &request).unwrap();
    assert_eq!(outcome.rule, Some(Rule::Framing));
    // With Host it is served; HTTP/1.0 needs no Host.
    let hosts = [&b"a.example.com"[..]];
    let with_host = Request {
        hosts: &hosts,
        ..request
    };
    assert_eq!(server.decide(&conn, &with_host), Verdict::Serve(&"plain"));
    let http10 = Request {
        version: Version::Http10,
        ..request
    };
    assert_eq!(server.decide(&conn, &http10), Verdict::Serve(&"plain"));
}

/// Defect 6: a dNSName SAN whose text is an address covers no address (RFC 9525 §6.2-§6.3,
/// RFC 5280 §4.2.1.6; rustls-webpki refuses the same certificate for 192.0.2.1).
#[test]
fn a_dns_name_san_that_reads_as_an_address_covers_no_address() {
    let mut params = rcgen::CertificateParams::default();
    params.subject_alt_names = vec![
        rcgen::SanType::DnsName("192.0.2.1".to_string().try_into().unwrap()),
        rcgen::SanType::DnsName("a.example.com".to_string().try_into().unwrap()),
    ];
    let key = rcgen::KeyPair::generate().unwrap();
    let der = params.self_signed(&key).unwrap().der().to_vec();
    let certificate = CertificateConfig::from_der("edge", &der).unwrap();
    assert_eq!(certificate.sans[0], San::Dns(b"192.0.2.1".to_vec()));
    let server = Server::build(Config {
        policies: vec!["public".into()],
        certificates: vec![certificate],
        vhosts: vec![VhostConfig::new("a", &["a.example.com"], "public", "a")],
        listeners: vec![ListenerConfig::new("tls", true, 443)],
        knobs: misdirect::Knobs {
            unknown_host: UnknownHost::Fallback("a".into()),
            sni: SniPolicy::CertCovered,
            ..misdirect::Knobs::default()
        },
    })
    .unwrap();
    assert_eq!(
        server.skipped_sans().len(),
        1,
        "{:?}",
        server.skipped_sans()
    );
    let facts = ConnectionFacts {
        listener: server.listener_id("tls").unwrap(),
        tls: Some(Handshake {
            sni: None,
            certificate: server.certificate_id("edge").unwrap(),
            policy: server.policy_id("public"),
        }),
        gateway: None,
    };
    let conn = server.connection(&facts).unwrap();
    let ip = [&b"192.0.2.1"[..]];
    let verdict = server.decide(&conn, &h2(&ip));
    assert_eq!(verdict.reason().map(|r| r.rule), Some(Rule::Certificate));
    let outcome = model::decide(server.config(), &facts, &h2(&ip)).unwrap();
    assert_eq!(outcome.rule, Some(Rule::Certificate));
    // An iPAddress SAN does cover it.
    let covered = Server::build(Config {
        certificates: vec![CertificateConfig {
            id: "edge".into(),
            sans: vec![
                San::Ip("192.0.2.1".parse().unwrap()),
                San::Dns(b"a.example.com".to_vec()),
            ],
        }],
        ..server.config().clone()
    })
    .unwrap();
    let conn = covered
        .connection(&ConnectionFacts {
            listener: covered.listener_id("tls").unwrap(),
            tls: Some(Handshake {
                sni: None,
                certificate: covered.certificate_id("edge").unwrap(),
                policy: covered.policy_id("public"),
            }),
            gateway: None,
        })
        .unwrap();
    assert_eq!(covered.decide(&conn, &h2(&ip)), Verdict::Serve(&"a"));
}

// Defect 2: resumption across a rebuild.

struct Pki {
    /// The CA the client trusts (and the mTLS policy's client roots).
    ca: CertificateDer<'static>,
    /// A server certificate for `*.example.test`, issued by the CA.
    key: Arc<CertifiedKey>,
}

/// A CA and one server certificate; `renew` issues another server certificate from the same CA.
struct Ca(rcgen::CertifiedIssuer<'static, rcgen::KeyPair>);

impl Ca {
    fn new() -> Ca {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        Ca(
            rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap())
                .unwrap(),
        )
    }

    fn issue(&self) -> Pki {
        let params = rcgen::CertificateParams::new(vec!["*.example.test".to_string()]).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.0).unwrap();
        let provider = rustls::crypto::ring::default_provider();
        let private = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        let signing = provider.key_provider.load_private_key(private).unwrap();
        Pki {
            ca: self.0.der().clone(),
            key: Arc::new(CertifiedKey::new(vec![cert.der().clone()], signing)),
        }
    }
}

fn rebuild_config(policies: &[&str]) -> Config<&'static str> {
    Config {
        policies: policies.iter().map(|p| p.to_string()).collect(),
        certificates: vec![CertificateConfig::new("edge", &["*.example.test"])],
        vhosts: vec![
            VhostConfig::new("a", &["a.example.test"], "public", "a"),
            VhostConfig::new("admin", &["admin.example.test"], "mtls", "admin"),
        ],
        listeners: vec![ListenerConfig::new("tls", true, 443)],
        ..Config::default()
    }
}

/// Session state kept across a reload, as a server keeps its cache or ticket key.
struct Kept {
    sessions: Arc<dyn StoresServerSessions>,
    ticketer: Arc<dyn ProducesTickets>,
}

fn acceptor(
    config: Config<&'static str>,
    pki: &Pki,
    kept: &Kept,
) -> (Arc<Server<&'static str>>, Acceptor<&'static str>) {
    let server = Arc::new(Server::build(config).unwrap());
    let resolver =
        Arc::new(CertResolver::new(&server, [("edge", pki.key.clone())], Some("edge")).unwrap());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let make = |client_auth: bool| {
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if client_auth {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(pki.ca.clone()).unwrap();
            builder.with_client_cert_verifier(
                rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider.clone(),
                )
                .build()
                .unwrap(),
            )
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder.with_cert_resolver(resolver.clone());
        config.session_storage = kept.sessions.clone();
        config.ticketer = kept.ticketer.clone();
        Arc::new(config)
    };
    let listener = server.listener_id("tls").unwrap();
    let acceptor = Acceptor::new(
        server.clone(),
        listener,
        resolver.clone(),
        "public",
        make(false),
    )
    .unwrap()
    .with_policy("mtls", make(true))
    .unwrap();
    (server, acceptor)
}

/// One handshake through `acceptor` with SNI `a.example.test`, no client certificate; the
/// client reads a byte so that it takes the session ticket.
async fn handshake(
    acceptor: &Acceptor<&'static str>,
    client: Arc<rustls::ClientConfig>,
) -> misdirect::TlsFacts {
    let (near, far) = tokio::io::duplex(64 * 1024);
    let server_side = async {
        let (mut stream, facts) = acceptor.accept(far).await.expect("handshake");
        stream.write_all(b"x").await.unwrap();
        stream.flush().await.unwrap();
        let mut end = [0u8; 1];
        let _ = stream.read(&mut end).await;
        facts
    };
    let client_side = async {
        let name = ServerName::try_from("a.example.test").unwrap();
        let mut stream = tokio_rustls::TlsConnector::from(client)
            .connect(name, near)
            .await
            .expect("client handshake");
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.unwrap();
        stream.shutdown().await.unwrap();
    };
    let (facts, ()) = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        tokio::join!(server_side, client_side)
    })
    .await
    .expect("handshakes finish");
    facts
}

/// Defect 2: the acceptor wrote certificate and policy positions into resumption data; a server
/// rebuilt with `policies = ["mtls", "public"]` on the same session cache or ticket key read a
/// public handshake's session as mtls and served the mTLS site to a client without a
/// certificate (CVE-2025-23048's class).
#[tokio::test]
async fn a_session_never_resumes_into_another_policy_across_a_rebuild() {
    let ca = Ca::new();
    let pki = ca.issue();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // The ticketer a ServerConfig has by default (none: TLS 1.3 sessions go to the store).
    let no_tickets = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::server::ResolvesServerCertUsingSni::new()))
        .ticketer;
    for tickets in [false, true] {
        let kept = Kept {
            sessions: ServerSessionMemoryCache::new(64),
            ticketer: if tickets {
                rustls::crypto::ring::Ticketer::new().unwrap()
            } else {
                no_tickets.clone()
            },
        };
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca.clone()).unwrap();
        let client = Arc::new(
            rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        );

        let (_, first) = acceptor(rebuild_config(&["public", "mtls"]), &pki, &kept);
        let facts = handshake(&first, client.clone()).await;
        assert!(!facts.resumed);

        // Rebuilt: the policies listed the other way round, same cache and ticket key. A
        // rebuilt server may trust other client CAs under the same policy name, which rustls
        // does not let the acceptor read, so the session is not resumed: a full handshake
        // under the policy its SNI selects now, by name.
        let (server, second) = acceptor(rebuild_config(&["mtls", "public"]), &pki, &kept);
        let facts = handshake(&second, client.clone()).await;
        assert!(
            !facts.resumed,
            "tickets {tickets}: a rebuild gives a full handshake"
        );
        assert_eq!(server.policy_name(facts.policy.unwrap()), Some("public"));
        assert_eq!(server.certificate_name(facts.certificate), Some("edge"));
        let conn = server
            .connection(&facts.connection_facts(second.listener()))
            .unwrap();
        let admin = [&b"admin.example.test"[..]];
        let verdict = server.decide(&conn, &h2(&admin));
        assert_eq!(
            verdict.reason().map(|r| r.rule),
            Some(Rule::Sni),
            "tickets {tickets}: {verdict:?}"
        );
        // On the same build, the session it just made resumes, under its own policy.
        let facts = handshake(&second, client.clone()).await;
        assert!(facts.resumed, "tickets {tickets}: same build resumes");
        assert_eq!(server.policy_name(facts.policy.unwrap()), Some("public"));

        // Renewed: the same id now holds another certificate. The session is not resumed.
        let renewed = ca.issue();
        let (_, third) = acceptor(rebuild_config(&["mtls", "public"]), &renewed, &kept);
        let facts = handshake(&third, client.clone()).await;
        assert!(
            !facts.resumed,
            "tickets {tickets}: a renewed certificate gets a full handshake"
        );
    }
}
