//! An axum service behind rustls, every TLS policy declared in the configuration file
//! (`docs/embedding.md` has the file): public names on a wildcard certificate, an admin name
//! that requires a client certificate.
//!
//! ```text
//! cargo run --example tls --features rustls,serde,tower -- site.toml
//! ```
#![allow(dead_code)] // `main` is unused when the test includes this file.

use std::sync::Arc;

use axum::{Extension, Router, routing::get};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
    service::TowerToHyperService,
};
use misdirect::{ClientIdentity, Site, Tls, TlsOptions};
use tower::Layer;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The virtual host's `value` from the file, and who the client is if it showed a certificate.
async fn hello(
    Extension(site): Extension<String>,
    client: Option<Extension<ClientIdentity>>,
) -> String {
    let whose = client.map(|Extension(c)| format!(" for {}", c.subject));
    format!("{site}{}\n", whose.unwrap_or_default())
}

/// The server, its certificates and keys, and one checked rustls configuration per policy.
pub fn load(path: &str) -> Result<Tls<String>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(Site::from_toml_file(path.as_ref())?.build(&TlsOptions::new(provider))?)
}

/// Per connection: the handshake under the policy its SNI selects, then the layer, the router.
pub async fn serve(tls: Tls<String>, tcp: tokio::net::TcpListener) -> Result<(), Error> {
    let acceptor = Arc::clone(
        tls.only_acceptor()
            .ok_or("the file needs one TLS listener")?,
    );
    let app = Router::new().route("/", get(hello));
    loop {
        let (stream, _) = tcp.accept().await?;
        let (acceptor, app) = (Arc::clone(&acceptor), app.clone());
        tokio::spawn(async move {
            let handshake = acceptor.accept_connection(stream);
            let Ok(Ok(conn)) =
                tokio::time::timeout(std::time::Duration::from_secs(10), handshake).await
            else {
                return; // a slow or failed handshake (admin without a client certificate)
            };
            let service = TowerToHyperService::new(conn.layer().layer(app));
            let http = auto::Builder::new(TokioExecutor::new());
            let _ = http
                .serve_connection(TokioIo::new(conn.stream), service)
                .await;
        });
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let tls = load(&std::env::args().nth(1).ok_or("usage: tls SITE.toml")?)?;
    let port = tls
        .only_acceptor()
        .ok_or("the file needs one TLS listener")?
        .port();
    serve(tls, tokio::net::TcpListener::bind(("0.0.0.0", port)).await?).await
}
