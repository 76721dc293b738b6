//! The example server's HTTP/3 side: a quinn endpoint on UDP whose crypto is a
//! [`QuicAcceptor`] (each handshake under the rustls configuration of the policy its SNI
//! selects), h3 on each connection, and the same tower stack as over TCP: the misdirect layer,
//! then the sites. Included by `examples/server.rs` as its `h3` module.
//!
//! The listener (`h3` in the example's configuration) sits on another UDP port than the TCP
//! one and has the TCP port as its origin port: it is the alternative service that the TCP
//! answers advertise with `alt-svc: h3=":UDP"`, and RFC 7838 §2 makes an alternative
//! authoritative for its origin, whose port stays the origin's. So a request naming the TCP
//! port is served here, and one naming this UDP port is a 421 (rule 3).

use std::convert::Infallible;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::{Request, Response};
use misdirect::{CertResolver, ListenerId, MisdirectLayer, QuicAcceptor, Server, TlsFacts};
use tower::ServiceExt;

use super::Result;
use super::browser::{Connection, Logged, RequestLog};

/// The HTTP/3 side of a started server.
pub struct Running {
    /// The UDP address.
    pub addr: SocketAddr,
    /// The quinn endpoint.
    pub endpoint: quinn::Endpoint,
    /// The accept loop.
    pub task: tokio::task::JoinHandle<()>,
}

/// Starts serving HTTP/3 on `socket` (already bound) for `listener`: `configs` are the TCP
/// side's rustls configurations by policy, which get the ALPN `h3` here.
pub fn start(
    socket: UdpSocket,
    server: &Arc<Server<String>>,
    listener: ListenerId,
    resolver: Arc<CertResolver>,
    configs: &[(&str, &rustls::ServerConfig)],
    log: RequestLog,
    quiet: bool,
) -> Result<Running> {
    let h3 = |config: &rustls::ServerConfig| {
        let mut config = config.clone();
        config.alpn_protocols = vec![b"h3".to_vec()];
        Arc::new(config)
    };
    let ((default, first), rest) = configs.split_first().ok_or("no rustls configuration")?;
    let mut acceptor =
        QuicAcceptor::new(Arc::clone(server), listener, resolver, default, h3(first))?;
    for (policy, config) in rest {
        acceptor = acceptor.with_policy(policy, h3(config))?;
    }
    let addr = socket.local_addr()?;
    let endpoint = quinn::Endpoint::new(
        quinn::EndpointConfig::default(),
        Some(acceptor.into_server_config()),
        socket,
        Arc::new(quinn::TokioRuntime),
    )?;
    let accepting = endpoint.clone();
    let server = Arc::clone(server);
    let task = tokio::spawn(async move {
        while let Some(incoming) = accepting.accept().await {
            let server = Arc::clone(&server);
            let log = log.clone();
            tokio::spawn(async move {
                if let Err(e) = connection(incoming, &server, listener, log).await {
                    if !quiet {
                        eprintln!("h3 connection: {e}");
                    }
                }
            });
        }
    });
    Ok(Running {
        addr,
        endpoint,
        task,
    })
}

/// One QUIC connection: the handshake and its facts, then each request through the layer.
async fn connection(
    incoming: quinn::Incoming,
    server: &Arc<Server<String>>,
    listener: ListenerId,
    log: RequestLog,
) -> Result<()> {
    let quic = tokio::time::timeout(Duration::from_secs(10), incoming).await??;
    let facts = TlsFacts::from_quic(&quic)?;
    let conn = server.connection(&facts.connection_facts(listener))?;
    let describe = super::describe(server, &facts);
    let policy = facts
        .policy
        .and_then(|p| server.policy_name(p))
        .unwrap_or("?");
    let service = tower::ServiceBuilder::new()
        .layer(MisdirectLayer::new(Arc::clone(server), conn))
        .service_fn(move |request: Request<()>| {
            let describe = describe.clone();
            async move { Ok::<_, Infallible>(super::site(request, &describe).await) }
        });
    let service = Logged::new(
        service,
        log,
        Connection::next(facts.sni.as_deref(), policy),
        None,
    );
    let mut h3 = h3::server::Connection::<_, Bytes>::new(h3_quinn::Connection::new(quic)).await?;
    while let Some(resolver) = h3.accept().await? {
        let service = service.clone();
        tokio::spawn(async move {
            // A malformed request (for instance `:authority` and `Host` that differ) is reset
            // by h3 with H3_MESSAGE_ERROR before it becomes a request.
            let (request, stream) = resolver.resolve_request().await?;
            respond(service, request, stream).await
        });
    }
    Ok(())
}

/// Answers one request: the service's response head, then its body in one DATA frame.
async fn respond<S, B>(
    service: S,
    request: Request<()>,
    mut stream: h3::server::RequestStream<h3_quinn::BidiStream<Bytes>, Bytes>,
) -> Result<()>
where
    S: tower::Service<Request<()>, Response = Response<B>, Error = Infallible>,
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let response = service.oneshot(request).await?;
    let (head, body) = response.into_parts();
    stream.send_response(Response::from_parts(head, ())).await?;
    let body = body.collect().await?.to_bytes();
    if !body.is_empty() {
        stream.send_data(body).await?;
    }
    stream.finish().await?;
    // The response never depends on a request body: the rest of the request is not needed
    // (RFC 9114 §4.1).
    stream.stop_sending(h3::error::Code::H3_NO_ERROR);
    Ok(())
}
