//! The example server's HTTP/3 side: a quinn endpoint on UDP whose crypto is each
//! generation's [`QuicAcceptor`] (each handshake under the rustls configuration of the policy
//! its SNI selects), h3 behind an [`H3Guard`] on each connection, and the same tower stack as
//! over TCP: the misdirect layer, then the sites. Included by `examples/server.rs` as its `h3`
//! module.
//!
//! The listener (`h3` in the example's configuration) sits on another UDP port than the TCP
//! one and has the TCP port as its origin port: it is the alternative service that the TCP
//! answers advertise with `alt-svc: h3=":UDP"`, and RFC 7838 §2 makes an alternative
//! authoritative for its origin, whose port stays the origin's. So a request naming the TCP
//! port is served here, and one naming this UDP port is a 421 (rule 3).
//!
//! Reloading: every connection is made and decided by one generation, the one current when its
//! first packet was accepted (`Incoming::accept_with` gives that generation's crypto to that
//! connection alone). When a reload supersedes it, the connection gets an h3 GOAWAY, its
//! requests past the grace get 421 (cause Retired), and at the grace plus the head timeout it
//! is closed, so a retired generation is freed in bounded time, as over TCP.

use std::convert::Infallible;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::{Request, Response};
use misdirect::h3_guard::MAX_FIELD_SECTION;
use misdirect::{Generation, H3Guard, MisdirectLayer, Reloadable, TlsFacts};
use tower::ServiceExt;

use super::browser::{Connection, Logged, RequestLog};
use super::{Result, Site, Timing};

/// H3_NO_ERROR (RFC 9114 §8.1).
const NO_ERROR: u32 = 0x100;

/// The HTTP/3 side of a started server.
pub struct Running {
    /// The UDP address.
    pub addr: SocketAddr,
    /// The quinn endpoint.
    pub endpoint: quinn::Endpoint,
    /// The accept loop.
    pub task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// After a reload: the endpoint's own configuration (what a connection accepted without one
    /// of its own would get, and its transport settings) follows the current generation.
    pub fn follow(&self, site: &Site) {
        self.endpoint
            .set_server_config(Some(quinn::ServerConfig::clone(&site.quic)));
    }
}

/// Starts serving HTTP/3 on `socket` (already bound) for the current generation's `h3`
/// listener, and for each later generation's after a reload.
pub fn start(
    socket: UdpSocket,
    sites: Arc<Reloadable<Site>>,
    timing: Timing,
    log: RequestLog,
    quiet: bool,
) -> Result<Running> {
    let addr = socket.local_addr()?;
    let first = quinn::ServerConfig::clone(&sites.current().quic);
    let endpoint = quinn::Endpoint::new(
        quinn::EndpointConfig::default(),
        Some(first),
        socket,
        Arc::new(quinn::TokioRuntime),
    )?;
    let accepting = endpoint.clone();
    let task = tokio::spawn(async move {
        while let Some(incoming) = accepting.accept().await {
            // The generation current now makes this connection's handshake and decides its
            // requests: a reload from here on does not mix two generations on it.
            let generation = sites.current();
            let sites = Arc::clone(&sites);
            let log = log.clone();
            tokio::spawn(async move {
                if let Err(e) = connection(incoming, generation, &sites, timing, log).await {
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

/// One QUIC connection: the handshake and its facts, then each request through the layer,
/// until the client goes or the connection's generation is retired and its time is up.
async fn connection(
    incoming: quinn::Incoming,
    generation: Arc<Generation<Site>>,
    sites: &Reloadable<Site>,
    timing: Timing,
    log: RequestLog,
) -> Result<()> {
    let site = &**generation;
    let connecting = incoming.accept_with(Arc::clone(&site.quic))?;
    let quic = tokio::time::timeout(Duration::from_secs(10), connecting).await??;
    let facts = TlsFacts::from_quic(&quic)?;
    let server = &site.server;
    let conn = server.connection(&facts.connection_facts(site.h3_listener))?;
    let describe = super::describe(server, &facts);
    let policy = facts
        .policy
        .and_then(|p| server.policy_name(p))
        .unwrap_or("?");
    let layer =
        MisdirectLayer::new(Arc::clone(server), conn).draining(generation.clone(), timing.grace);
    let service =
        tower::ServiceBuilder::new()
            .layer(layer)
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
    // h3 folds what the decision must see and buffers frames whole: the guard reads every
    // stream first (misdirect::h3_guard), and h3 answers 431 past a bounded field section.
    let mut h3 = h3::server::builder()
        .max_field_section_size(MAX_FIELD_SECTION)
        .build(H3Guard::new(h3_quinn::Connection::new(quic.clone())))
        .await?;
    let superseded = sites.superseded(generation.number());
    tokio::pin!(superseded);
    let retired = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(retired);
    let mut draining = false;
    loop {
        tokio::select! {
            accepted = h3.accept() => {
                let Some(resolver) = accepted? else { break };
                let service = service.clone();
                let head_timeout = timing.head_timeout;
                tokio::spawn(async move {
                    // A malformed request (for instance `:authority` and `Host` that differ)
                    // is reset by h3 with H3_MESSAGE_ERROR before it becomes a request; a head
                    // that does not arrive in time is dropped with its stream.
                    let (request, stream) =
                        tokio::time::timeout(head_timeout, resolver.resolve_request()).await??;
                    respond(service, request, stream).await
                });
            }
            () = &mut superseded, if !draining => {
                // RFC 9114 §5.2: GOAWAY, no new request streams; those in flight go on.
                draining = true;
                h3.shutdown(0).await?;
                retired
                    .as_mut()
                    .reset(tokio::time::Instant::now() + timing.grace + timing.head_timeout);
            }
            () = &mut retired, if draining => break,
        }
    }
    quic.close(NO_ERROR.into(), b"");
    Ok(())
}

/// Answers one request: the service's response head, then its body in one DATA frame.
async fn respond<S, B>(
    service: S,
    request: Request<()>,
    mut stream: h3::server::RequestStream<
        misdirect::h3_guard::GuardedStream<h3_quinn::BidiStream<Bytes>>,
        Bytes,
    >,
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
