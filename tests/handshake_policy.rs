//! One rule for a handshake's policy (SPEC §4), read by every tool: the TCP `Acceptor` and the
//! `QuicAcceptor` record exactly what `Server::sni_policy` says for the SNI they saw, which is
//! what `Server::connection`, `explain` and the probe assume. Before, a handshake that selected
//! no virtual host (no SNI, or one no virtual host has, on a listener without
//! `default_tls_vhost`) was recorded under the acceptor's default policy and its requests
//! served, while the probe expected them refused: 12 "served where 421 or 400 is due" against
//! a correct server (issue 23).

use std::sync::Arc;

use misdirect::{
    Acceptor, CertResolver, CertificateConfig, Config, ConnectionFacts, ListenerConfig, Method,
    PolicyId, QuicAcceptor, Request, Server, Target, TlsFacts, Verdict, Version, VhostConfig,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The SNIs tried: none, the public site in two spellings, the mTLS site, and a name the
/// certificate covers that no virtual host has.
const SNIS: [Option<&str>; 5] = [
    None,
    Some("a.example.test"),
    Some("A.Example.Test."),
    Some("admin.example.test"),
    Some("nowhere.example.test"),
];

fn config(default_tls_vhost: bool) -> Config<&'static str> {
    let mut listener = ListenerConfig::new("tls", true, 443);
    if default_tls_vhost {
        listener.default_tls_vhost = Some("a".into());
    }
    Config {
        policies: vec!["public".into(), "mtls".into()],
        certificates: vec![CertificateConfig::new("edge", &["*.example.test"])],
        vhosts: vec![
            VhostConfig::new("a", &["a.example.test"], "public", "a"),
            VhostConfig::new("admin", &["admin.example.test"], "mtls", "admin"),
        ],
        listeners: vec![listener],
        ..Config::default()
    }
}

struct Pki {
    ca: CertificateDer<'static>,
    key: Arc<CertifiedKey>,
}

fn pki() -> Pki {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca =
        rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["*.example.test".to_string()]).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &ca).unwrap();
    let provider = rustls::crypto::ring::default_provider();
    let key = CertifiedKey::from_der(
        vec![cert.der().clone()],
        PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        &provider,
    )
    .unwrap();
    Pki {
        ca: ca.der().clone(),
        key: Arc::new(key),
    }
}

/// A server configuration for a policy: public or (client certificates optional, so that the
/// test's client without one completes the handshake either way) mtls.
fn server_config(
    resolver: &Arc<CertResolver>,
    ca: &CertificateDer<'static>,
    mtls: bool,
    alpn: &[u8],
) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap();
    let mut config = if mtls {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.clone()).unwrap();
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .unwrap();
        builder
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(resolver.clone())
    } else {
        builder
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone())
    };
    config.alpn_protocols = vec![alpn.to_vec()];
    Arc::new(config)
}

fn client_config(ca: &CertificateDer<'static>, sni: bool, alpn: &[u8]) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.enable_sni = sni;
    config.alpn_protocols = vec![alpn.to_vec()];
    config
}

/// What the rule says, and what a request for the public site on that connection gets.
fn expected(server: &Server<&'static str>, sni: Option<&str>) -> Option<PolicyId> {
    let listener = server.listener_id("tls").unwrap();
    server.sni_policy(listener, sni.map(str::as_bytes))
}

fn public_request_verdict(server: &Server<&'static str>, facts: &TlsFacts) -> bool {
    let listener = server.listener_id("tls").unwrap();
    let connection = server
        .connection(&ConnectionFacts {
            ..facts.connection_facts(listener)
        })
        .unwrap();
    let request = Request {
        version: Version::Http2,
        method: Method::Other,
        scheme: Some(b"https"),
        authorities: &[b"a.example.test"],
        hosts: &[],
        target: Target::Origin,
    };
    matches!(server.decide(&connection, &request), Verdict::Serve { .. })
}

async fn tcp_facts(
    acceptor: &Acceptor<&'static str>,
    ca: &CertificateDer<'static>,
    sni: Option<&str>,
) -> TlsFacts {
    let (near, far) = tokio::io::duplex(64 * 1024);
    let server_side = async {
        let (mut stream, facts) = acceptor.accept(far).await.expect("the handshake completes");
        stream.write_all(b"x").await.unwrap();
        stream.flush().await.unwrap();
        facts
    };
    let client_side = async {
        // Without SNI the client still verifies the certificate for a name it knows.
        let name = ServerName::try_from(sni.unwrap_or("a.example.test").to_string()).unwrap();
        let config = Arc::new(client_config(ca, sni.is_some(), b"h2"));
        let mut stream = tokio_rustls::TlsConnector::from(config)
            .connect(name, near)
            .await
            .expect("the client completes the handshake");
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.unwrap();
    };
    let (facts, ()) = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        tokio::join!(server_side, client_side)
    })
    .await
    .expect("the handshake ends in time");
    facts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_and_quic_acceptors_record_the_policy_the_rule_gives() {
    let pki = pki();
    for default_tls_vhost in [false, true] {
        let server = Arc::new(Server::build(config(default_tls_vhost)).unwrap());
        let listener = server.listener_id("tls").unwrap();
        let resolver = Arc::new(
            CertResolver::new(&server, [("edge", pki.key.clone())], Some("edge")).unwrap(),
        );
        let acceptor = Acceptor::new(
            server.clone(),
            listener,
            resolver.clone(),
            "public",
            server_config(&resolver, &pki.ca, false, b"h2"),
        )
        .unwrap()
        .with_policy("mtls", server_config(&resolver, &pki.ca, true, b"h2"))
        .unwrap();
        let quic = QuicAcceptor::new(
            server.clone(),
            listener,
            resolver.clone(),
            "public",
            server_config(&resolver, &pki.ca, false, b"h3"),
        )
        .unwrap()
        .with_policy("mtls", server_config(&resolver, &pki.ca, true, b"h3"))
        .unwrap();
        let endpoint =
            quinn::Endpoint::server(quic.into_server_config(), "127.0.0.1:0".parse().unwrap())
                .unwrap();
        let addr = endpoint.local_addr().unwrap();
        let accepting = endpoint.clone();
        let quic_facts = tokio::spawn(async move {
            let mut all = Vec::new();
            for _ in SNIS {
                let incoming = accepting.accept().await.unwrap();
                let connection = incoming.await.unwrap();
                all.push(TlsFacts::from_quic(&connection).unwrap());
            }
            all
        });
        for sni in SNIS {
            let rule = expected(&server, sni);
            let facts = tcp_facts(&acceptor, &pki.ca, sni).await;
            assert_eq!(
                facts.policy, rule,
                "TCP, SNI {sni:?}, default_tls_vhost {default_tls_vhost}"
            );
            // No policy: the public site is refused on that connection; with one, served.
            assert_eq!(
                public_request_verdict(&server, &facts),
                rule == server.policy_id("public"),
                "SNI {sni:?}"
            );

            let mut client = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
            let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(client_config(
                &pki.ca,
                sni.is_some(),
                b"h3",
            ))
            .unwrap();
            client.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
            let connection = client
                .connect(addr, sni.unwrap_or("a.example.test"))
                .unwrap()
                .await
                .expect("the QUIC handshake completes");
            connection.close(0u32.into(), b"");
        }
        let quic_facts = tokio::time::timeout(std::time::Duration::from_secs(10), quic_facts)
            .await
            .expect("every QUIC handshake arrives")
            .unwrap();
        for (sni, facts) in SNIS.iter().zip(&quic_facts) {
            assert_eq!(
                facts.policy,
                expected(&server, *sni),
                "QUIC, SNI {sni:?}, default_tls_vhost {default_tls_vhost}"
            );
        }
    }
}
