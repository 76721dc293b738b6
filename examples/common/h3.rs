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
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::{Request, Response};
use misdirect::h3_guard::MAX_FIELD_SECTION;
use misdirect::{Generation, H3Guard, MisdirectLayer, Reloadable, TlsFacts};
use tower::ServiceExt;

use super::browser::{Connection, Logged, RequestLog};
use super::{Clients, Result, Site, Timing};

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
    (log, clients): (RequestLog, Clients),
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
            // Past the client's share of connections, refused before any handshake.
            let Some(admitted) = clients.admit(incoming.remote_address().ip()) else {
                incoming.refuse();
                continue;
            };
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
                drop(admitted);
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
    // The handshake has the head timeout, as a request head has: a handshake held open must
    // not keep its generation past the grace plus the head timeout.
    let quic = tokio::time::timeout(timing.head_timeout, connecting).await??;
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
    // The setup has the head timeout too: a client that allows the server no unidirectional
    // stream (or no credit on it) never lets h3 open its control stream.
    let mut builder = h3::server::builder();
    builder.max_field_section_size(MAX_FIELD_SECTION);
    let setup = builder.build(H3Guard::new(h3_quinn::Connection::new(quic.clone())));
    let mut h3 = tokio::time::timeout(timing.head_timeout, setup).await??;
    let superseded = sites.superseded(generation.number());
    tokio::pin!(superseded);
    // Client-initiated request streams at and past this id are refused (RFC 9114 §5.2: the
    // GOAWAY's id and above "will not be processed"); none until the drain.
    let goaway = Arc::new(AtomicU64::new(u64::MAX));
    let mut accepted: u64 = 0;
    loop {
        tokio::select! {
            accepted_stream = h3.accept() => {
                let Some(resolver) = accepted_stream? else { break };
                accepted += 1;
                let service = service.clone();
                let head_timeout = timing.head_timeout;
                let goaway = Arc::clone(&goaway);
                tokio::spawn(async move {
                    // A malformed request (for instance `:authority` and `Host` that differ)
                    // is reset by h3 with H3_MESSAGE_ERROR before it becomes a request; a head
                    // that does not arrive in time is dropped with its stream.
                    let (request, mut stream) =
                        tokio::time::timeout(head_timeout, resolver.resolve_request()).await??;
                    if stream.id().into_inner() >= goaway.load(Ordering::Acquire) {
                        // h3 0.0.8 accepts the stream whose id its GOAWAY names: refused here,
                        // so that a client retrying it (as RFC 9114 §5.2 lets it) never has it
                        // done twice.
                        stream.stop_stream(h3::error::Code::H3_REQUEST_REJECTED);
                        return Ok(());
                    }
                    respond(service, request, stream).await
                });
            }
            () = &mut superseded => {
                // The close is armed first: nothing the client does (no credit for the GOAWAY,
                // a request in flight) keeps the connection past the grace plus the head
                // timeout. GOAWAY names the next request stream (client bidirectional ids are
                // 0, 4, 8, ...), so every request already accepted is processed (RFC 9114 §5.2)
                // and no later one is; `shutdown(1)` sends that id.
                let retired = tokio::time::Instant::now() + timing.grace + timing.head_timeout;
                goaway.store(4 * accepted, Ordering::Release);
                let _ = tokio::time::timeout_at(retired, h3.shutdown(1)).await;
                // In-flight requests finish on their own tasks; the connection ends at the
                // deadline, or earlier when the client has gone.
                let _ = tokio::time::timeout_at(retired, async {
                    while let Ok(Some(resolver)) = h3.accept().await {
                        drop(resolver);
                    }
                })
                .await;
                break;
            }
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
