//! Review (found when the scope was the policy name and the certificates only): a
//! reload that changes what a policy means (its client-certificate verifier: the CA it trusts,
//! a CRL) keeps the name and the certificates, so a session made under the old meaning resumes
//! under the new one. TLS 1.3 resumption restores the client certificate chain of the original
//! handshake without verifying it again (rustls `server/tls13.rs`: `peer_certificates` are
//! cloned from the ticket), so a client whose certificate the new configuration refuses keeps
//! reaching the mTLS virtual host, through the layer's `Serve`, for the ticket's lifetime.
//! CVE-2025-23048's class (a session resumed into a client-authentication context it did not
//! pass); the README's claim: "a session resumes only where its names mean what they meant".
#![cfg(feature = "rustls")]

#[path = "common/ca.rs"]
mod ca;

use std::sync::Arc;

use misdirect::{
    Acceptor, CertResolver, CertificateConfig, Config, ListenerConfig, Server, VhostConfig,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::{ServerSessionMemoryCache, StoresServerSessions, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use ca::Ca;

fn config() -> Config<&'static str> {
    Config {
        policies: vec!["public".into(), "mtls".into()],
        certificates: vec![CertificateConfig::new("edge", &["*.example.test"])],
        vhosts: vec![
            VhostConfig::new("a", &["a.example.test"], "public", "a"),
            VhostConfig::new("admin", &["admin.example.test"], "mtls", "ADMIN"),
        ],
        listeners: vec![ListenerConfig::new("tls", true, 443)],
        ..Config::default()
    }
}

/// One generation: the server, its resolver, and an acceptor whose `mtls` policy trusts
/// client certificates of `client_ca` only. Same server certificate and key every time, same
/// session store (kept across reloads, as `examples/server.rs` keeps its cache).
fn generation(
    server_key: &Arc<CertifiedKey>,
    client_ca: &Ca,
    sessions: &Arc<dyn StoresServerSessions>,
) -> (Arc<Server<&'static str>>, Acceptor<&'static str>) {
    let server = Arc::new(Server::build(config()).unwrap());
    let resolver =
        Arc::new(CertResolver::new(&server, [("edge", server_key.clone())], Some("edge")).unwrap());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut public = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(resolver.clone());
    public.session_storage = sessions.clone();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(client_ca.der()).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .unwrap();
    let mut mtls = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(resolver.clone());
    mtls.session_storage = sessions.clone();
    let listener = server.listener_id("tls").unwrap();
    let acceptor = Acceptor::new(
        server.clone(),
        listener,
        resolver,
        "public",
        Arc::new(public),
    )
    .unwrap()
    .with_policy("mtls", Arc::new(mtls))
    .unwrap();
    (server, acceptor)
}

/// One handshake with SNI admin.example.test; the client reads a byte so that it takes the
/// session ticket. `Err` when the server refused the handshake.
async fn handshake(
    acceptor: &Acceptor<&'static str>,
    client: Arc<rustls::ClientConfig>,
) -> Result<misdirect::TlsFacts, String> {
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
        if let Ok(mut stream) = tokio_rustls::TlsConnector::from(client)
            .connect(name, near)
            .await
        {
            let mut byte = [0u8; 1];
            let _ = stream.read_exact(&mut byte).await;
            let _ = stream.shutdown().await;
        }
    };
    let (facts, ()) = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        tokio::join!(server_side, client_side)
    })
    .await
    .expect("handshakes finish");
    facts
}

fn client(
    server_ca: &Ca,
    cert: &(CertificateDer<'static>, PrivateKeyDer<'static>),
) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(server_ca.der()).unwrap();
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(vec![cert.0.clone()], cert.1.clone_key())
            .unwrap(),
    )
}

#[tokio::test]
async fn no_session_resumes_into_mtls_after_a_reload_that_distrusts_its_client_ca() {
    let server_ca = Ca::new("server CA");
    let (server_cert, server_key) = server_ca.issue(&["*.example.test"], false);
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider.key_provider.load_private_key(server_key).unwrap();
    let server_key = Arc::new(CertifiedKey::new(vec![server_cert], signing));

    let old_client_ca = Ca::new("partner CA (compromised)");
    let new_client_ca = Ca::new("partner CA (replacement)");
    let client_cert = old_client_ca.issue(&[], true);
    let sessions: Arc<dyn StoresServerSessions> = ServerSessionMemoryCache::new(64);

    // Generation 1: mtls trusts the old CA. A full handshake with its client certificate.
    let (_, first) = generation(&server_key, &old_client_ca, &sessions);
    let attacker = client(&server_ca, &client_cert);
    let facts = handshake(&first, attacker.clone())
        .await
        .expect("gen 1 handshake");
    assert!(!facts.resumed && facts.client_certificate);

    // Generation 2 (SIGHUP): the old partner CA is no longer trusted. Same policy names, same
    // server certificate, same session store.
    let (_, second) = generation(&server_key, &new_client_ca, &sessions);

    // Control: a full handshake with that client certificate is refused now.
    let fresh = client(&server_ca, &client_cert);
    let refused = handshake(&second, fresh).await;
    println!("full handshake on generation 2: {refused:?}");
    assert!(
        refused.is_err(),
        "the new mtls policy refuses the old CA's client certificate"
    );

    // The attack: the client that holds a generation-1 session tries to resume. The session
    // is scoped to generation 1's build, so it gets a full handshake, whose client
    // certificate generation 2 refuses.
    let attempt = handshake(&second, attacker).await;
    assert!(
        attempt.is_err(),
        "the generation-1 session must not resume on generation 2: {attempt:?}"
    );
}

/// `TlsFacts::from_stream` (the path for a handshake not made by an `Acceptor`: one rustls
/// `ServerConfig`) treats a resumed session without misdirect resumption data as a fresh
/// handshake and leaves the policy to be assumed from the SNI. A reload that turns client
/// authentication on for admin.example.test (generation 1: no client auth, admin under
/// `public`; generation 2: client auth required, admin under `mtls`) on a kept session cache
/// lets a generation-1 session, made without any client certificate, resume and be decided
/// under `mtls`. The README says of the acceptor that guessing the original policy of a
/// data-less resumption "is CVE-2025-23048"; `from_stream` guesses.
#[tokio::test]
async fn from_stream_refuses_a_session_it_cannot_place() {
    let server_ca = Ca::new("server CA");
    let (server_cert, server_key) = server_ca.issue(&["*.example.test"], false);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let signing = provider.key_provider.load_private_key(server_key).unwrap();
    let server_key = Arc::new(CertifiedKey::new(vec![server_cert], signing));
    let client_ca = Ca::new("client CA");
    let sessions: Arc<dyn StoresServerSessions> = ServerSessionMemoryCache::new(64);

    // One generation: one ServerConfig (with or without client auth), the policy of admin.
    let generation = |client_auth: bool| {
        let mut config = config();
        config.vhosts[1].policy = if client_auth { "mtls" } else { "public" }.into();
        let server = Arc::new(Server::build(config).unwrap());
        let resolver = Arc::new(
            CertResolver::new(&server, [("edge", server_key.clone())], Some("edge")).unwrap(),
        );
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let mut tls = if client_auth {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(client_ca.der()).unwrap();
            builder.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .unwrap(),
            )
        } else {
            builder.with_no_client_auth()
        }
        .with_cert_resolver(resolver.clone());
        tls.session_storage = sessions.clone();
        (server, resolver, Arc::new(tls))
    };
    async fn run(
        tls: Arc<rustls::ServerConfig>,
        resolver: &CertResolver,
        client: Arc<rustls::ClientConfig>,
    ) -> Result<misdirect::TlsFacts, String> {
        let (near, far) = tokio::io::duplex(64 * 1024);
        let server_side = async {
            let mut stream = tokio_rustls::TlsAcceptor::from(tls)
                .accept(far)
                .await
                .map_err(|e| e.to_string())?;
            let facts =
                misdirect::TlsFacts::from_stream(&stream, resolver).map_err(|e| e.to_string())?;
            stream.write_all(b"x").await.map_err(|e| e.to_string())?;
            stream.flush().await.map_err(|e| e.to_string())?;
            let mut end = [0u8; 1];
            let _ = stream.read(&mut end).await;
            Ok::<_, String>(facts)
        };
        let client_side = async {
            let name = ServerName::try_from("admin.example.test").unwrap();
            if let Ok(mut stream) = tokio_rustls::TlsConnector::from(client)
                .connect(name, near)
                .await
            {
                let mut byte = [0u8; 1];
                let _ = stream.read_exact(&mut byte).await;
                let _ = stream.shutdown().await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), async {
            tokio::join!(server_side, client_side)
        })
        .await
        .expect("handshakes finish")
        .0
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.add(server_ca.der()).unwrap();
    let no_cert = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots.clone())
            .with_no_client_auth(),
    );

    let (_, resolver1, tls1) = generation(false);
    let facts = run(tls1, &resolver1, no_cert.clone()).await.expect("gen 1");
    assert!(!facts.resumed && !facts.client_certificate);

    let (_, resolver2, tls2) = generation(true);
    let fresh = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let refused = run(tls2.clone(), &resolver2, fresh).await;
    println!("gen 2 full handshake without a client certificate: {refused:?}");
    assert!(refused.is_err());

    // The generation-1 session, resumed on one ServerConfig without an acceptor: its
    // original policy is unknown, so from_stream refuses it instead of guessing.
    let attempt = run(tls2, &resolver2, no_cert).await;
    assert!(
        attempt
            .as_ref()
            .is_err_and(|e| e.contains("resumption data") || e.contains("certificate")),
        "{attempt:?}"
    );
}
