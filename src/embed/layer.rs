//! A tower [`Layer`] (feature `tower`) that decides every request before the service sees it.
//!
//! The layer is made per connection, from the shared [`Server`] and the connection's
//! [`Connection`] (built once, after the handshake, with [`Server::connection`]):
//!
//! - `Serve`: a clone of the chosen virtual host's value goes into the request's extensions,
//!   and the inner service answers.
//! - `NotOrigin` (CONNECT): the request goes to the inner service untouched.
//! - `Misdirected`, `BadRequest`, `NotFound`: the layer answers 421, 400 or 404 itself, with a
//!   short `text/plain` body naming the rule and a fixed sentence ([`Cause::summary`]): never
//!   request bytes, host names or configuration names. On HTTP/1.x it also asks the connection
//!   to close (`Connection: close`), so the client's next request opens a fresh connection
//!   (RFC 9110 §15.5.20: the client "MAY retry the request over a different connection").
//!   With the `tracing` feature, each refusal is an event carrying the full [`Reason`].
//!
//! [`Cause::summary`]: crate::Cause::summary
//! [`Reason`]: crate::Reason

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_TYPE, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::decision::facts::Connection;
use crate::decision::server::Server;
use crate::decision::verdict::{Reason, Verdict};
use crate::embed::from_http::HttpRequest;

/// Decides each request of one connection before the service sees it.
///
/// Made per connection, from the shared [`Server`] and the connection's [`Connection`]:
/// `Serve` puts a clone of the virtual host's value into the request's extensions and calls the
/// service; `NotOrigin` (CONNECT) calls it untouched; 421, 400 and 404 are answered by the layer
/// with a short `text/plain` body (rule and [`Cause::summary`](crate::Cause::summary), never
/// request bytes or configuration names) and, on HTTP/1.x, `Connection: close`.
///
/// With the `rustls` feature, [`with_client`](MisdirectLayer::with_client) puts the client
/// certificate's [`ClientIdentity`](crate::ClientIdentity) into the extensions of every request
/// served, beside the virtual host's value.
///
/// # The tracing event
///
/// With the `tracing` feature, each refusal (421, 400, 404) is one event: target `misdirect`,
/// level `INFO`, message `request refused`, and the fields `status` (the status code, a
/// `u16`), `rule` (the rule's number, SPEC §3) and `reason` (the full [`Reason`], displayed:
/// the rule, the cause, and the request's and connection's names it was decided on). Enable it
/// with a filter such as `misdirect=info`. A retired connection's refusal past its grace has
/// the rule "connection identity" and no names.
pub struct MisdirectLayer<T> {
    server: Arc<Server<T>>,
    connection: Arc<Connection>,
    drain: Option<Drain>,
    #[cfg(feature = "rustls")]
    client: Option<crate::embed::tls::ClientIdentity>,
}

/// A connection's generation and the grace its connections have once it is retired.
#[derive(Clone)]
struct Drain {
    #[cfg(feature = "reload")]
    generation: Arc<dyn crate::embed::reload::Retirement>,
    #[cfg(feature = "reload")]
    grace: core::time::Duration,
}

/// Where a connection stands in its generation's life.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Age {
    /// Current: decide.
    Current,
    /// Retired within the grace: decide, and ask an HTTP/1.x client to close.
    Draining,
    /// Retired past the grace: refuse, so the client retries on a new connection.
    Stale,
}

impl Drain {
    fn age(drain: Option<&Drain>) -> Age {
        #[cfg(feature = "reload")]
        if let Some(drain) = drain {
            return match drain.generation.retired_for() {
                None => Age::Current,
                Some(age) if age <= drain.grace => Age::Draining,
                Some(_) => Age::Stale,
            };
        }
        let _ = drain;
        Age::Current
    }
}

impl<T> Clone for MisdirectLayer<T> {
    fn clone(&self) -> Self {
        MisdirectLayer {
            server: Arc::clone(&self.server),
            connection: Arc::clone(&self.connection),
            drain: self.drain.clone(),
            #[cfg(feature = "rustls")]
            client: self.client.clone(),
        }
    }
}

impl<T> fmt::Debug for MisdirectLayer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MisdirectLayer")
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl<T> MisdirectLayer<T> {
    /// A layer for one connection of `server`.
    #[must_use]
    pub fn new(server: Arc<Server<T>>, connection: Connection) -> Self {
        MisdirectLayer {
            server,
            connection: Arc::new(connection),
            drain: None,
            #[cfg(feature = "rustls")]
            client: None,
        }
    }

    /// Puts the client certificate's identity into the extensions of every request the layer
    /// lets through (feature `rustls`); `None` (no certificate) puts nothing, so a handler that
    /// extracts a `ClientIdentity` refuses a request without one.
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn with_client(mut self, client: Option<crate::embed::tls::ClientIdentity>) -> Self {
        self.client = client;
        self
    }

    /// Ties the layer to the connection's generation (feature `reload`): once a reload retires
    /// it, HTTP/1.x responses say `Connection: close`, and past `grace` every request gets 421
    /// (rule "connection identity", cause [`Cause::Retired`](crate::Cause::Retired)), so the
    /// connection never decides on a stale configuration for longer than the grace. The
    /// embedder also starts a graceful shutdown when the generation is superseded
    /// ([`Reloadable::superseded`](crate::Reloadable::superseded)): HTTP/2 GOAWAY.
    #[cfg(feature = "reload")]
    #[must_use]
    pub fn draining(
        mut self,
        generation: Arc<dyn crate::embed::reload::Retirement>,
        grace: core::time::Duration,
    ) -> Self {
        self.drain = Some(Drain { generation, grace });
        self
    }
}

impl<S, T> Layer<S> for MisdirectLayer<T> {
    type Service = Misdirect<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        Misdirect {
            inner,
            server: Arc::clone(&self.server),
            connection: Arc::clone(&self.connection),
            drain: self.drain.clone(),
            #[cfg(feature = "rustls")]
            client: self.client.clone(),
        }
    }
}

/// The service [`MisdirectLayer`] wraps around an inner one.
pub struct Misdirect<S, T> {
    inner: S,
    server: Arc<Server<T>>,
    connection: Arc<Connection>,
    drain: Option<Drain>,
    #[cfg(feature = "rustls")]
    client: Option<crate::embed::tls::ClientIdentity>,
}

impl<S: Clone, T> Clone for Misdirect<S, T> {
    fn clone(&self) -> Self {
        Misdirect {
            inner: self.inner.clone(),
            server: Arc::clone(&self.server),
            connection: Arc::clone(&self.connection),
            drain: self.drain.clone(),
            #[cfg(feature = "rustls")]
            client: self.client.clone(),
        }
    }
}

impl<S: fmt::Debug, T> fmt::Debug for Misdirect<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Misdirect")
            .field("inner", &self.inner)
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

/// What the layer does with one request, decided before the request is touched.
enum Step<T> {
    Serve(T),
    Pass,
    Refuse(Response<Bytes>),
}

impl<S, T, ReqBody, ResBody> Service<Request<ReqBody>> for Misdirect<S, T>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body,
    ResBody::Data: From<Bytes>,
    T: Clone + Send + Sync + 'static,
{
    type Response = Response<MisdirectBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let age = Drain::age(self.drain.as_ref());
        let step = if age == Age::Stale {
            Step::Refuse(refusal(
                StatusCode::MISDIRECTED_REQUEST,
                &Reason::retired(),
                request.version(),
            ))
        } else {
            let facts = HttpRequest::new(&request, &self.connection);
            let verdict = self.server.decide(&self.connection, &facts.request());
            match verdict {
                Verdict::Serve(value) => Step::Serve(value.clone()),
                Verdict::NotOrigin(_) => Step::Pass,
                Verdict::Misdirected(r) => Step::Refuse(refusal(
                    StatusCode::MISDIRECTED_REQUEST,
                    &r,
                    request.version(),
                )),
                Verdict::BadRequest(r) => {
                    Step::Refuse(refusal(StatusCode::BAD_REQUEST, &r, request.version()))
                }
                Verdict::NotFound(r) => {
                    Step::Refuse(refusal(StatusCode::NOT_FOUND, &r, request.version()))
                }
            }
        };
        // A retired generation's HTTP/1.x connection closes after this response.
        let close = age == Age::Draining && is_h1(request.version());
        #[cfg(feature = "rustls")]
        if !matches!(step, Step::Refuse(_)) {
            if let Some(client) = &self.client {
                request.extensions_mut().insert(client.clone());
            }
        }
        match step {
            Step::Serve(value) => {
                request.extensions_mut().insert(value);
                ResponseFuture::inner(self.inner.call(request), close)
            }
            Step::Pass => ResponseFuture::inner(self.inner.call(request), close),
            Step::Refuse(response) => ResponseFuture::refused(response),
        }
    }
}

fn is_h1(version: http::Version) -> bool {
    matches!(
        version,
        http::Version::HTTP_09 | http::Version::HTTP_10 | http::Version::HTTP_11
    )
}

/// The layer's own answer to a refused request.
fn refusal(status: StatusCode, reason: &Reason<'_>, version: http::Version) -> Response<Bytes> {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "misdirect",
        status = status.as_u16(),
        rule = reason.rule.number(),
        %reason,
        "request refused"
    );
    let body = format!(
        "{} {}\nrule {} ({}): {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        reason.rule.number(),
        reason.rule.name(),
        reason.cause.summary(),
    );
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if is_h1(version) && status != StatusCode::NOT_FOUND {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

pin_project! {
    /// The future of [`Misdirect`]: the inner service's, or the layer's own answer.
    pub struct ResponseFuture<F> {
        #[pin]
        kind: FutureKind<F>,
    }
}

pin_project! {
    #[project = FutureKindProj]
    enum FutureKind<F> {
        Inner {
            #[pin]
            future: F,
            close: bool,
        },
        Refused {
            response: Option<Response<Bytes>>,
        },
    }
}

impl<F> ResponseFuture<F> {
    fn inner(future: F, close: bool) -> Self {
        ResponseFuture {
            kind: FutureKind::Inner { future, close },
        }
    }

    fn refused(response: Response<Bytes>) -> Self {
        ResponseFuture {
            kind: FutureKind::Refused {
                response: Some(response),
            },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
    B::Data: From<Bytes>,
{
    type Output = Result<Response<MisdirectBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            FutureKindProj::Inner { future, close } => future.poll(cx).map(|r| {
                r.map(|mut response| {
                    if *close {
                        response
                            .headers_mut()
                            .insert(CONNECTION, HeaderValue::from_static("close"));
                    }
                    response.map(MisdirectBody::inner)
                })
            }),
            FutureKindProj::Refused { response } => {
                let response = response.take().unwrap_or_default();
                Poll::Ready(Ok(response.map(MisdirectBody::refusal)))
            }
        }
    }
}

pin_project! {
    /// The response body of [`Misdirect`]: the inner service's, or the layer's short text.
    pub struct MisdirectBody<B> {
        #[pin]
        kind: BodyKind<B>,
    }
}

pin_project! {
    #[project = BodyKindProj]
    enum BodyKind<B> {
        Inner {
            #[pin]
            body: B,
        },
        Refusal {
            data: Option<Bytes>,
        },
    }
}

impl<B> MisdirectBody<B> {
    fn inner(body: B) -> Self {
        MisdirectBody {
            kind: BodyKind::Inner { body },
        }
    }

    fn refusal(data: Bytes) -> Self {
        MisdirectBody {
            kind: BodyKind::Refusal { data: Some(data) },
        }
    }

    /// Whether this is the layer's own refusal text.
    #[must_use]
    pub fn is_refusal(&self) -> bool {
        matches!(self.kind, BodyKind::Refusal { .. })
    }
}

impl<B> Body for MisdirectBody<B>
where
    B: Body,
    B::Data: From<Bytes>,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project().kind.project() {
            BodyKindProj::Inner { body } => body.poll_frame(cx),
            BodyKindProj::Refusal { data } => {
                Poll::Ready(data.take().map(|d| Ok(Frame::data(d.into()))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::Inner { body } => body.is_end_stream(),
            BodyKind::Refusal { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::Inner { body } => body.size_hint(),
            BodyKind::Refusal { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}
