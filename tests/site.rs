//! `Site::build`: the configuration file is the one source of truth from the policy to the
//! handshake (issue 23). A policy declared `required` cannot be built to accept a client
//! without a certificate; a hand-built configuration that does so (the user's
//! `.allow_unauthenticated()`) is refused at build time; everything the file names is built,
//! or the build says which key is wrong.

#[path = "common/ca.rs"]
mod ca;
#[path = "../examples/tls.rs"]
mod example;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ca::Ca;
use misdirect::{
    ClientIdentity, HttpRequest, Site, SiteError, Tls, TlsOptions, Verdict, WireUnicode,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::{ResolvesServerCertUsingSni, WebPkiClientVerifier};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The user's setup: three public names on one wildcard certificate, and an admin name that
/// requires a client certificate from the partner CA.
const SITE: &str = r#"
[[policies]]
name = "public"
client_auth = "none"

[[policies]]
name = "mtls"
client_auth = "required"
client_cas = ["partner-ca.pem"]

[[listeners]]
name = "tls"
tls = true
port = 8443

[[certificates]]
id = "edge"
file = "edge.pem"
key = "edge.key"

[[vhosts]]
name = "www"
names = ["www.example.test", "api.example.test", "static.example.test"]
https_ports = [8443]
policy = "public"
value = "www"

[[vhosts]]
name = "admin"
names = ["admin.example.test"]
https_ports = [8443]
policy = "mtls"
value = "admin"
"#;

struct Files {
    dir: PathBuf,
    server_ca: CertificateDer<'static>,
    partner: Ca,
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    use std::fmt::Write;
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                text.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                text.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in text.as_bytes().chunks(64) {
        let _ = writeln!(out, "{}", std::str::from_utf8(line).unwrap());
    }
    let _ = writeln!(out, "-----END {label}-----");
    out
}

fn files(tag: &str, site: &str) -> Files {
    let dir = std::env::temp_dir().join(format!("misdirect-site-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let server_ca = Ca::new("server CA");
    let (cert, key) = server_ca.issue(&["*.example.test"], false);
    std::fs::write(dir.join("edge.pem"), pem("CERTIFICATE", &cert)).unwrap();
    std::fs::write(dir.join("edge.key"), pem("PRIVATE KEY", key.secret_der())).unwrap();
    let partner = Ca::new("partner CA");
    std::fs::write(
        dir.join("partner-ca.pem"),
        pem("CERTIFICATE", &partner.der()),
    )
    .unwrap();
    std::fs::write(dir.join("site.toml"), site).unwrap();
    Files {
        dir,
        server_ca: server_ca.der(),
        partner,
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load(files: &Files) -> Site<String> {
    Site::from_toml_file(&files.dir.join("site.toml")).unwrap()
}

fn build(files: &Files, options: &TlsOptions) -> Result<Tls<String>, SiteError> {
    load(files).build(options)
}

/// A client trusting the server CA, offering `h2` and `http/1.1`, with a client certificate
/// or without.
fn client(
    files: &Files,
    cert: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(files.server_ca.clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match cert {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config
}

/// A real handshake over TCP, the server side through `accept_connection`; the client reads
/// a byte, so a TLS 1.3 client learns of a refused client certificate. Gives the server's
/// result and whether the client could exchange data.
async fn handshake(
    tls: &Tls<String>,
    config: rustls::ClientConfig,
    sni: &str,
) -> (
    Result<misdirect::Accepted<tokio::net::TcpStream, String>, std::io::Error>,
    bool,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from(sni.to_string()).unwrap();
    let client = tokio::spawn(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let Ok(mut stream) = connector.connect(name, tcp).await else {
            return false;
        };
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.is_ok()
    });
    let (tcp, _) = listener.accept().await.unwrap();
    let acceptor = tls.acceptor("tls").unwrap();
    let accepted = acceptor.accept_connection(tcp).await;
    let accepted = match accepted {
        Ok(mut accepted) => {
            accepted.stream.write_all(b"!").await.unwrap();
            accepted.stream.flush().await.unwrap();
            Ok(accepted)
        }
        Err(e) => Err(e),
    };
    let exchanged = client.await.unwrap();
    (accepted, exchanged)
}

fn decide(
    tls: &Tls<String>,
    connection: &misdirect::Connection,
    authority: &str,
) -> Option<String> {
    let request = http::Request::builder()
        .version(http::Version::HTTP_2)
        .uri(format!("https://{authority}/"))
        .body(())
        .unwrap();
    let facts = HttpRequest::new(&request, connection);
    match tls.server().decide(connection, &facts.request()) {
        Verdict::Serve(value) => Some(value.clone()),
        _ => None,
    }
}

#[tokio::test]
async fn the_declared_site_demands_what_it_says() {
    let files = files("declared", SITE);
    let tls = build(&files, &TlsOptions::new(provider())).unwrap();
    assert!(tls.only_acceptor().is_some());
    assert_eq!(
        tls.server().config().knobs.wire_unicode,
        WireUnicode::Reject
    );

    // admin without a client certificate: the handshake fails, nothing is served.
    let (accepted, exchanged) = handshake(&tls, client(&files, None), "admin.example.test").await;
    assert!(
        accepted.is_err(),
        "admin completed without a client certificate"
    );
    assert!(!exchanged);

    // admin with the partner's certificate: served, and the service learns whose.
    let (cert, key) = files.partner.issue(&["ops.partner.test"], true);
    let expected = ClientIdentity::from_der(&cert).unwrap();
    let (accepted, exchanged) = handshake(
        &tls,
        client(&files, Some((cert, key))),
        "Admin.Example.Test",
    )
    .await;
    let accepted = accepted.unwrap();
    assert!(exchanged);
    assert_eq!(accepted.client.as_ref(), Some(&expected));
    assert_eq!(expected.fingerprint().len(), 32 * 3 - 1);
    assert_eq!(
        decide(&tls, &accepted.connection, "admin.example.test:8443"),
        Some("admin".into())
    );
    // The same connection may not be reused for a public name of another policy.
    assert_eq!(
        decide(&tls, &accepted.connection, "www.example.test:8443"),
        None
    );

    // A client certificate from another CA is refused for admin.
    let stranger = Ca::new("stranger");
    let (cert, key) = stranger.issue(&["x.test"], true);
    let (accepted, _) = handshake(
        &tls,
        client(&files, Some((cert, key))),
        "admin.example.test",
    )
    .await;
    assert!(
        accepted.is_err(),
        "admin accepted a certificate of an untrusted CA"
    );

    // www without a certificate: served for the public names, 421 for admin coalesced onto
    // it, in any case and with a trailing dot.
    let (accepted, _) = handshake(&tls, client(&files, None), "www.example.test").await;
    let accepted = accepted.unwrap();
    assert_eq!(accepted.client, None);
    for authority in [
        "www.example.test:8443",
        "API.example.test:8443",
        "static.example.test.:8443",
    ] {
        assert_eq!(
            decide(&tls, &accepted.connection, authority),
            Some("www".into()),
            "{authority}"
        );
    }
    for authority in ["admin.example.test:8443", "ADMIN.example.test.:8443"] {
        assert_eq!(
            decide(&tls, &accepted.connection, authority),
            None,
            "{authority}"
        );
    }
}

/// The user's mistake: the mtls verifier built with `.allow_unauthenticated()`.
fn optional_verifier(files: &Files) -> Arc<dyn rustls::server::danger::ClientCertVerifier> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(files.partner.der()).unwrap();
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .allow_unauthenticated()
        .build()
        .unwrap()
}

fn hand_built(
    verifier: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> Arc<rustls::ServerConfig> {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap();
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(Arc::new(ResolvesServerCertUsingSni::new()));
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

#[tokio::test]
async fn a_hand_built_configuration_is_held_to_its_declaration() {
    let files = files("hand-built", SITE);
    let both = rustls::DEFAULT_VERSIONS;
    let refused = |config| {
        let options = TlsOptions::new(provider()).with_hand_built("mtls", config);
        match build(&files, &options) {
            Err(SiteError::HandBuilt { policy, reason }) => {
                assert_eq!(policy, "mtls");
                reason
            }
            Err(e) => panic!("refused for another reason: {e}"),
            Ok(_) => panic!("built"),
        }
    };
    // The user's `.allow_unauthenticated()`: refused at build time, naming what it does.
    let reason = refused(hand_built(Some(optional_verifier(&files)), both, &ALPN));
    assert_eq!(
        reason,
        "it completes a handshake without a client certificate (client_auth = \"required\")"
    );
    // No client authentication at all.
    let reason = refused(hand_built(None, both, &ALPN));
    assert!(
        reason.contains("never asks for a client certificate"),
        "{reason}"
    );
    // Another ALPN list, another version set.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(files.partner.der()).unwrap();
    let required = || {
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots.clone()), provider())
            .build()
            .unwrap()
    };
    let reason = refused(hand_built(Some(required()), both, &[b"http/1.1"]));
    assert!(
        reason.starts_with("it offers ALPN [\"http/1.1\"]"),
        "{reason}"
    );
    let reason = refused(hand_built(
        Some(required()),
        &[&rustls::version::TLS13],
        &ALPN,
    ));
    assert_eq!(reason, "TLS 1.2 is refused by it and offered by the table");

    // The right one is built, and it works end to end: no certificate, no admin.
    let options = TlsOptions::new(provider())
        .with_hand_built("mtls", hand_built(Some(required()), both, &ALPN));
    let tls = build(&files, &options).unwrap();
    let (accepted, _) = handshake(&tls, client(&files, None), "admin.example.test").await;
    assert!(accepted.is_err());

    // A public policy built to demand certificates is refused too (it would lock clients out).
    let options = TlsOptions::new(provider())
        .with_hand_built("public", hand_built(Some(required()), both, &ALPN));
    match build(&files, &options) {
        Err(SiteError::HandBuilt { policy, reason }) => {
            assert_eq!(policy, "public");
            assert!(reason.contains("asks for a client certificate"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // A hand-built configuration for a policy the file does not have.
    let options =
        TlsOptions::new(provider()).with_hand_built("nope", hand_built(None, both, &ALPN));
    assert!(
        build(&files, &options)
            .unwrap_err()
            .to_string()
            .contains("\"nope\"")
    );
}

#[test]
fn what_the_file_names_is_built_or_the_build_says_which_key_is_wrong() {
    let error = |tag: &str, site: &str| {
        let files = files(tag, site);
        build(&files, &TlsOptions::new(provider()))
            .unwrap_err()
            .to_string()
    };
    // A policy only named: what it demands is said nowhere.
    let bare = SITE.replace(
        "[[policies]]\nname = \"mtls\"\nclient_auth = \"required\"\nclient_cas = [\"partner-ca.pem\"]\n",
        "",
    );
    let bare = format!(
        "policies = [\"mtls\"]\n{}",
        bare.replace(
            "[[policies]]\nname = \"public\"\nclient_auth = \"none\"\n",
            ""
        )
    );
    let e = error(
        "bare",
        &bare.replace(
            "policies = [\"mtls\"]",
            "policies = [\"mtls\", { name = \"public\", client_auth = \"none\" }]",
        ),
    );
    assert_eq!(
        e,
        "policy \"mtls\" (of virtual host(s) \"admin\") is declared nowhere: give it a \
         [[policies]] table with its client_auth, or a hand-built rustls configuration"
    );
    // A certificate without its key.
    let e = error("no-key", &SITE.replace("key = \"edge.key\"\n", ""));
    assert!(e.starts_with("certificates[0] \"edge\": no `key`"), "{e}");
    // A key that is not the chain's.
    let files = files("wrong-key", SITE);
    let other = Ca::new("other");
    let (_, key) = other.issue(&["x.test"], false);
    std::fs::write(
        files.dir.join("edge.key"),
        pem("PRIVATE KEY", key.secret_der()),
    )
    .unwrap();
    let e = build(&files, &TlsOptions::new(provider()))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("certificates[0] \"edge\".key: ") && e.contains("not the chain's key"),
        "{e}"
    );
    // A client CA file that is not PEM, and one that is missing.
    std::fs::write(files.dir.join("edge.key"), "x").unwrap();
    let files = self::files("bad-ca", SITE);
    std::fs::write(files.dir.join("partner-ca.pem"), "not a certificate").unwrap();
    let e = build(&files, &TlsOptions::new(provider()))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "policies[1] \"mtls\".client_cas[0]: {}: holds no PEM CERTIFICATE block",
            files.dir.join("partner-ca.pem").display()
        )
    );
    std::fs::remove_file(files.dir.join("partner-ca.pem")).unwrap();
    let e = build(&files, &TlsOptions::new(provider()))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("policies[1] \"mtls\".client_cas[0]: "), "{e}");
    // The file's own checks come first: a virtual host left at 443 beside a listener on 8443.
    let files = self::files("ports", &SITE.replacen("https_ports = [8443]\n", "", 1));
    let e = Site::<String>::from_toml_file(&files.dir.join("site.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("vhosts[0] \"www\".https_ports: no TLS listener serves port 443"),
        "{e}"
    );
}

#[test]
fn quic_gets_every_policy_that_allows_tls_1_3() {
    let files = files("quic", SITE);
    let tls = build(&files, &TlsOptions::new(provider())).unwrap();
    assert!(tls.quic_server_config("tls").is_ok());
    assert!(tls.quic_server_config("nowhere").is_err());
    // TLS 1.2 only everywhere: nothing QUIC can run.
    let old = files_with(
        &files,
        &SITE
            .replace(
                "client_auth = \"none\"",
                "client_auth = \"none\"\nversions = [\"1.2\"]",
            )
            .replace(
                "client_cas = [\"partner-ca.pem\"]",
                "client_cas = [\"partner-ca.pem\"]\nversions = [\"1.2\"]",
            ),
    );
    let tls = load_at(&old).build(&TlsOptions::new(provider())).unwrap();
    assert!(tls.quic_server_config("tls").is_err());
}

fn files_with(files: &Files, site: &str) -> PathBuf {
    let path = files.dir.join("site-2.toml");
    std::fs::write(&path, site).unwrap();
    path
}

fn load_at(path: &Path) -> Site<String> {
    Site::from_toml_file(path).unwrap()
}

#[test]
fn pem_keys_load_in_every_form_rustls_reads() {
    // The test's own PEM writer against rustls's reader: what the site files hold is what
    // the build reads.
    let files = files("pem", SITE);
    let text = std::fs::read(files.dir.join("edge.key")).unwrap();
    assert!(PrivateKeyDer::from_pem_slice(&text).is_ok());
    let text = std::fs::read(files.dir.join("edge.pem")).unwrap();
    assert_eq!(CertificateDer::pem_slice_iter(&text).count(), 1);
}

/// One HTTP/1.1 request over TLS to the example; the response, or `None` when the handshake
/// or the exchange failed.
async fn get(port: u16, config: rustls::ClientConfig, sni: &str, host: &str) -> Option<String> {
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let name = ServerName::try_from(sni.to_string()).ok()?;
    let mut tls = connector.connect(name, tcp).await.ok()?;
    let head = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    tls.write_all(head.as_bytes()).await.ok()?;
    let mut out = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tls.read_to_end(&mut out),
    );
    read.await.ok()?.ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forty_line_example_serves_the_users_setup() {
    let files = files("example", SITE);
    let tls = example::load(files.dir.join("site.toml").to_str().unwrap()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(example::serve(tls, listener));

    let www = get(
        port,
        client(&files, None),
        "www.example.test",
        "API.example.test:8443",
    )
    .await;
    let www = www.unwrap();
    assert!(
        www.starts_with("HTTP/1.1 200") && www.ends_with("\r\n\r\nwww\n"),
        "{www}"
    );
    // admin coalesced onto a public connection: 421, and the handler never sees it.
    let coalesced = get(
        port,
        client(&files, None),
        "www.example.test",
        "admin.example.test.:8443",
    )
    .await;
    let coalesced = coalesced.unwrap();
    assert!(
        coalesced.starts_with("HTTP/1.1 421") && !coalesced.contains("admin"),
        "{coalesced}"
    );
    // admin without a client certificate: no handshake, no answer.
    assert_eq!(
        get(
            port,
            client(&files, None),
            "admin.example.test",
            "admin.example.test:8443"
        )
        .await,
        None
    );
    // admin with the partner's certificate: served, and the handler knows whose.
    let cert = files.partner.issue(&["ops.partner.test"], true);
    let subject = ClientIdentity::from_der(&cert.0).unwrap().subject;
    let admin = get(
        port,
        client(&files, Some(cert)),
        "admin.example.test",
        "admin.example.test:8443",
    )
    .await;
    let admin = admin.unwrap();
    assert!(
        admin.starts_with("HTTP/1.1 200") && admin.ends_with(&format!("admin for {subject}\n")),
        "{admin}"
    );
}

/// Hostile review of issue 23, F1: a `required` policy whose virtual hosts have only
/// addresses had no name to check with, and the check was skipped: a hand-built configuration
/// with no client authentication was built, and a client without SNI reached admin through
/// `default_tls_vhost`. The check now runs without SNI (the default certificate).
#[test]
fn a_policy_known_only_by_addresses_is_checked_without_sni() {
    let site = SITE
        .replace(
            "port = 8443\n",
            "port = 8443\ndefault_tls_vhost = \"admin\"\n",
        )
        .replace(
            "names = [\"admin.example.test\"]",
            "names = [\"192.0.2.10\"]",
        );
    let files = files("ip-only", &site);
    // The edge certificate does not cover the address: another, first, is the default.
    let (cert, key) = Ca::new("ip").issue(&["192.0.2.10"], false);
    std::fs::write(files.dir.join("ip.pem"), pem("CERTIFICATE", &cert)).unwrap();
    std::fs::write(
        files.dir.join("ip.key"),
        pem("PRIVATE KEY", key.secret_der()),
    )
    .unwrap();
    let text = std::fs::read_to_string(files.dir.join("site.toml")).unwrap().replace(
        "[[certificates]]\nid = \"edge\"",
        "[[certificates]]\nid = \"ip\"\nfile = \"ip.pem\"\nkey = \"ip.key\"\n\n[[certificates]]\nid = \"edge\"",
    );
    std::fs::write(files.dir.join("site.toml"), text).unwrap();
    assert!(build(&files, &TlsOptions::new(provider())).is_ok());
    let options = TlsOptions::new(provider())
        .with_hand_built("mtls", hand_built(None, rustls::DEFAULT_VERSIONS, &ALPN));
    match build(&files, &options) {
        Err(SiteError::HandBuilt { policy, reason }) => {
            assert_eq!(policy, "mtls");
            assert!(
                reason.contains("never asks for a client certificate"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// A verifier that asks for a certificate, names the partner CA, and accepts any certificate.
#[derive(Debug)]
struct Lax(Arc<dyn rustls::server::danger::ClientCertVerifier>);

impl rustls::server::danger::ClientCertVerifier for Lax {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        self.0.root_hint_subjects()
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Hostile review of issue 23, F2: the table's client CAs were not compared with a hand-built
/// verifier's. A verifier over another CA is refused by the CAs its CertificateRequest names;
/// one that names the right CA and accepts anything, by a stranger's self-signed certificate;
/// and a table naming a client CA file that does not exist is refused even when hand-built.
#[test]
fn a_hand_built_verifier_must_trust_the_tables_client_cas_and_nothing_else() {
    let files = files("client-cas", SITE);
    let required = |ca: &Ca| {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.der()).unwrap();
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .unwrap()
    };
    let reason = |verifier| {
        let config = hand_built(Some(verifier), rustls::DEFAULT_VERSIONS, &ALPN);
        match build(
            &files,
            &TlsOptions::new(provider()).with_hand_built("mtls", config),
        ) {
            Err(SiteError::HandBuilt { reason, .. }) => reason,
            other => panic!("{other:?}"),
        }
    };
    let stranger = Ca::new("stranger");
    let r = reason(required(&stranger));
    assert!(
        r.starts_with("it trusts other client CAs than the table's client_cas"),
        "{r}"
    );
    let r = reason(Arc::new(Lax(required(&files.partner))));
    assert!(
        r.contains("accepts a client certificate that no CA issued"),
        "{r}"
    );
    // The right verifier builds.
    let config = hand_built(
        Some(required(&files.partner)),
        rustls::DEFAULT_VERSIONS,
        &ALPN,
    );
    assert!(
        build(
            &files,
            &TlsOptions::new(provider()).with_hand_built("mtls", config.clone())
        )
        .is_ok()
    );
    std::fs::remove_file(files.dir.join("partner-ca.pem")).unwrap();
    let e = build(
        &files,
        &TlsOptions::new(provider()).with_hand_built("mtls", config),
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("policies[1] \"mtls\".client_cas[0]: "), "{e}");
}
