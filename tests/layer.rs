//! The tower layer against a stub service: what reaches the service, and what the layer answers
//! itself, for each verdict.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use misdirect::{
    CertificateConfig, Config, ConnectionFacts, Handshake, Knobs, ListenerConfig, MisdirectLayer,
    Server, UnknownHost, VhostConfig,
};
use tower::{ServiceBuilder, ServiceExt};

fn server(unknown_host: UnknownHost) -> Arc<Server<&'static str>> {
    let config = Config {
        policies: vec!["public".into()],
        certificates: vec![CertificateConfig::new("edge", &["*.example.com"])],
        vhosts: vec![VhostConfig::new(
            "a",
            &["a.example.com"],
            "public",
            "site a",
        )],
        listeners: vec![ListenerConfig::new("tls", true, 443)],
        knobs: Knobs {
            unknown_host,
            ..Knobs::default()
        },
    };
    Arc::new(Server::build(config).unwrap())
}

/// Sends one request through the layer; returns the status, body, `connection` header, and
/// what the inner service saw (the virtual host value, or that it was not called).
async fn send(
    server: &Arc<Server<&'static str>>,
    request: http::Request<Full<Bytes>>,
) -> (u16, String, Option<String>, Option<Option<&'static str>>) {
    let conn = server
        .connection(&ConnectionFacts {
            listener: server.listener_id("tls").unwrap(),
            tls: Some(Handshake {
                sni: Some(b"a.example.com"),
                certificate: server.certificate_id("edge").unwrap(),
                policy: server.policy_id("public"),
            }),
            gateway: None,
        })
        .unwrap();
    let seen = Arc::new(Mutex::new(None));
    let record = Arc::clone(&seen);
    let service = ServiceBuilder::new()
        .layer(MisdirectLayer::new(Arc::clone(server), conn))
        .service_fn(move |request: http::Request<Full<Bytes>>| {
            let record = Arc::clone(&record);
            async move {
                *record.lock().unwrap() = Some(request.extensions().get::<&'static str>().copied());
                Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(b"inner"))))
            }
        });
    let response = service.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let connection = response
        .headers()
        .get("connection")
        .map(|v| v.to_str().unwrap().to_string());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let seen = *seen.lock().unwrap();
    (
        status,
        String::from_utf8_lossy(&body).into_owned(),
        connection,
        seen,
    )
}

fn h2(uri: &str) -> http::Request<Full<Bytes>> {
    http::Request::builder()
        .version(http::Version::HTTP_2)
        .uri(uri)
        .body(Full::default())
        .unwrap()
}

fn h1(host: &[u8]) -> http::Request<Full<Bytes>> {
    http::Request::builder()
        .uri("/")
        .header("host", http::HeaderValue::from_bytes(host).unwrap())
        .body(Full::default())
        .unwrap()
}

#[tokio::test]
async fn served_requests_carry_their_virtual_host() {
    let server = server(UnknownHost::Misdirected);
    let (status, body, connection, seen) = send(&server, h2("https://A.example.com./x")).await;
    assert_eq!((status, body.as_str(), connection), (200, "inner", None));
    assert_eq!(seen, Some(Some("site a")));
}

#[tokio::test]
async fn misdirected_requests_never_reach_the_service() {
    let server = server(UnknownHost::Misdirected);
    let (status, body, connection, seen) = send(&server, h2("https://b.example.com/")).await;
    assert_eq!(status, 421);
    assert_eq!(
        body,
        "421 Misdirected Request\nrule 5 (virtual host): this server does not serve the host\n"
    );
    assert_eq!(connection, None, "HTTP/2 has no Connection header");
    assert_eq!(seen, None);

    let (status, _, connection, seen) = send(&server, h1(b"other.example.org")).await;
    assert_eq!(status, 421);
    assert_eq!(
        connection.as_deref(),
        Some("close"),
        "HTTP/1.1 closes after a 421"
    );
    assert_eq!(seen, None);
}

#[tokio::test]
async fn bad_requests_get_400_without_echoing_the_bytes() {
    let server = server(UnknownHost::Misdirected);
    let (status, body, connection, seen) = send(&server, h1(b"<script>x</script>")).await;
    assert_eq!(status, 400);
    assert!(!body.contains("script"), "{body}");
    assert!(body.contains("rule 1 (framing)"), "{body}");
    assert_eq!(connection.as_deref(), Some("close"));
    assert_eq!(seen, None);
}

#[tokio::test]
async fn unknown_hosts_get_404_when_configured() {
    let server = server(UnknownHost::NotFound);
    let (status, body, connection, seen) = send(&server, h2("https://zzz.example.com/")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(connection, None);
    assert_eq!(seen, None);
}

#[tokio::test]
async fn connect_passes_through_untouched() {
    let server = server(UnknownHost::Misdirected);
    let connect = http::Request::builder()
        .method("CONNECT")
        .uri("tunnel.example.org:443")
        .header("host", "tunnel.example.org:443")
        .body(Full::default())
        .unwrap();
    let (status, body, _, seen) = send(&server, connect).await;
    assert_eq!((status, body.as_str()), (200, "inner"));
    assert_eq!(
        seen,
        Some(None),
        "the service is called, with no virtual host"
    );
}

#[tokio::test]
async fn a_malformed_connect_is_refused_not_passed_through() {
    let server = server(UnknownHost::Misdirected);
    // HTTP/1.1 without Host (RFC 9112 §3.2): a 400 before the tunnel is handed on.
    let connect = http::Request::builder()
        .method("CONNECT")
        .uri("tunnel.example.org:443")
        .body(Full::default())
        .unwrap();
    let (status, _, _, seen) = send(&server, connect).await;
    assert_eq!((status, seen), (400, None));
}
