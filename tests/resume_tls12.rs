//! rustls hands a server back its resumption data (`received_resumption_data`) for TLS 1.3
//! only: a resumed TLS 1.2 session, by session id or by ticket, has none, and looked like a
//! full handshake to the crate. Here, `TlsFacts::from_stream` (no acceptor, nothing scoping the
//! session store) is shown a TLS 1.2 session made before a reload that turned client
//! authentication on for the virtual host: it must see the resumption and refuse it, as it
//! refuses a TLS 1.3 session it cannot place (`review_resumption.rs`); taking it for a fresh
//! handshake would have the decision assume the mTLS policy for a client that never showed a
//! certificate (CVE-2025-23048's class).
#![cfg(feature = "rustls")]

use std::sync::Arc;
use std::time::Duration;

use misdirect::{
    CertResolver, CertificateConfig, Config, ListenerConfig, Server, TlsError, TlsFacts,
    VhostConfig,
};
use rustls::HandshakeKind;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::{ServerSessionMemoryCache, StoresServerSessions, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TLS12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];

fn ca(name: &str) -> rcgen::CertifiedIssuer<'static, rcgen::KeyPair> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap()
}

async fn run(
    tls: Arc<rustls::ServerConfig>,
    resolver: &CertResolver,
    client: Arc<rustls::ClientConfig>,
) -> (Result<TlsFacts, TlsError>, Option<HandshakeKind>) {
    let (near, far) = tokio::io::duplex(64 * 1024);
    let server_side = async {
        let Ok(mut stream) = tokio_rustls::TlsAcceptor::from(tls).accept(far).await else {
            return Err(TlsError::NoCertificate);
        };
        let facts = TlsFacts::from_stream(&stream, resolver);
        let _ = stream.write_all(b"x").await;
        let _ = stream.flush().await;
        let mut end = [0u8; 1];
        let _ = stream.read(&mut end).await;
        facts
    };
    let client_side = async {
        let name = ServerName::try_from("admin.example.test").unwrap();
        let mut stream = tokio_rustls::TlsConnector::from(client)
            .connect(name, near)
            .await
            .ok()?;
        let mut byte = [0u8; 1];
        let _ = stream.read_exact(&mut byte).await;
        let _ = stream.shutdown().await;
        stream.get_ref().1.handshake_kind()
    };
    tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(server_side, client_side)
    })
    .await
    .expect("handshakes finish")
}

#[tokio::test]
async fn from_stream_refuses_a_resumed_tls12_session_it_cannot_place() {
    let server_ca = ca("server CA");
    let client_ca = ca("client CA");
    let mut params = rcgen::CertificateParams::new(vec!["*.example.test".to_string()]).unwrap();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &server_ca).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let signing = provider
        .key_provider
        .load_private_key(PrivateKeyDer::try_from(key.serialize_der()).unwrap())
        .unwrap();
    let edge = Arc::new(CertifiedKey::new(vec![cert.der().clone()], signing));
    let store: Arc<dyn StoresServerSessions> = ServerSessionMemoryCache::new(64);
    // One generation: admin under `public` (no client authentication) or under `mtls`.
    let generation = |client_auth: bool| {
        let config = Config {
            policies: vec!["public".into(), "mtls".into()],
            certificates: vec![CertificateConfig::new("edge", &["*.example.test"])],
            vhosts: vec![VhostConfig::new(
                "admin",
                &["admin.example.test"],
                if client_auth { "mtls" } else { "public" },
                "ADMIN",
            )],
            listeners: vec![ListenerConfig::new("tls", true, 443)],
            ..Config::default()
        };
        let server = Arc::new(Server::build(config).unwrap());
        let resolver =
            Arc::new(CertResolver::new(&server, [("edge", edge.clone())], Some("edge")).unwrap());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(TLS12)
            .unwrap();
        let mut tls = if client_auth {
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(CertificateDer::from(client_ca.der().to_vec()))
                .unwrap();
            builder.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .unwrap(),
            )
        } else {
            builder.with_no_client_auth()
        }
        .with_cert_resolver(resolver.clone());
        tls.session_storage = store.clone();
        (resolver, Arc::new(tls))
    };
    let mut roots = rustls::RootCertStore::empty();
    roots.add(server_ca.der().clone()).unwrap();
    let no_cert = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(TLS12)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let (resolver, tls) = generation(false);
    let (facts, _) = run(tls.clone(), &resolver, no_cert.clone()).await;
    assert!(!facts.expect("generation 1").resumed);
    // On the same generation, the resumed session is refused too: from_stream cannot tell a
    // TLS 1.2 session's original policy from anything it holds.
    let (facts, kind) = run(tls, &resolver, no_cert.clone()).await;
    assert_eq!(kind, Some(HandshakeKind::Resumed), "rustls resumed it");
    assert_eq!(facts, Err(TlsError::ForeignResumption));

    // Generation 2 requires a client certificate for admin. The session, kept in the shared
    // cache, resumes in rustls (TLS 1.2 resumption does not authenticate the client again)
    // and must be refused, not decided under mtls.
    let (resolver, tls) = generation(true);
    let (facts, kind) = run(tls, &resolver, no_cert).await;
    assert_eq!(kind, Some(HandshakeKind::Resumed), "rustls resumed it");
    assert_eq!(facts, Err(TlsError::ForeignResumption));
}
