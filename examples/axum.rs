//! An axum `Router` behind the misdirect layer: the layer decides every request first (421,
//! 400 and 404 never reach the router), and the handler reads the chosen virtual host's value
//! from the request (`Extension`). Cleartext HTTP/1.1 and HTTP/2 for brevity; over TLS the
//! connection facts come from the rustls `Acceptor` as in `examples/server.rs`.
//!
//! ```text
//! cargo run --example axum --features tower
//! curl -sS http://127.0.0.1:8080/ -H 'Host: a.example.test:8080'      # hello from site a
//! curl -sS http://127.0.0.1:8080/ -H 'Host: elsewhere.test:8080'      # 421
//! ```
#![allow(dead_code)] // `main` is unused when the test includes this file.

use std::sync::Arc;

use axum::routing::get;
use axum::{Extension, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use misdirect::{Config, ConnectionFacts, ListenerConfig, MisdirectLayer, Server, VhostConfig};
use tokio::net::TcpListener;

/// The site: whichever virtual host the layer chose.
async fn hello(Extension(site): Extension<String>) -> String {
    format!("hello from {site}\n")
}

/// Two virtual hosts on one cleartext listener on `port`.
pub fn server(port: u16) -> Arc<Server<String>> {
    let vhost = |name: &str, host: &str, value: &str| VhostConfig {
        http_ports: vec![port],
        https_ports: Vec::new(),
        ..VhostConfig::new(name, &[host], "public", value.to_string())
    };
    let config = Config {
        policies: vec!["public".into()],
        vhosts: vec![
            vhost("a", "a.example.test", "site a"),
            vhost("b", "b.example.test", "site b"),
        ],
        listeners: vec![ListenerConfig::new("http", false, port)],
        ..Config::default()
    };
    Arc::new(Server::build(config).expect("the example's configuration builds"))
}

/// Accepts connections forever: per connection, its facts, the layer, the router.
pub async fn serve(listener: TcpListener, server: Arc<Server<String>>) -> std::io::Result<()> {
    let router = Router::new().route("/", get(hello));
    let id = server.listener_id("http").expect("configured listener");
    loop {
        let (tcp, _) = listener.accept().await?;
        let facts = ConnectionFacts {
            listener: id,
            tls: None,
            gateway: None,
        };
        let conn = server.connection(&facts).expect("facts of this server");
        let service = tower::ServiceBuilder::new()
            .layer(MisdirectLayer::new(Arc::clone(&server), conn))
            .service(router.clone());
        tokio::spawn(async move {
            let http = auto::Builder::new(TokioExecutor::new());
            let _ = http
                .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service))
                .await;
        });
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", 8080)).await?;
    println!("listening on http://127.0.0.1:8080 (a.example.test, b.example.test)");
    serve(listener, server(8080)).await
}
