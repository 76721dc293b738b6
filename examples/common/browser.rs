//! What a browser run of the example needs: a request log (per request: the connection, its
//! SNI and policy, the authority, the path, the status), the `alt-svc` header on TCP answers, and
//! a page on `/page.html` whose images come from other hosts, with `/pixel.gif` as the image.
//! Included by `examples/server.rs`.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{ALT_SVC, CACHE_CONTROL, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Request, Response, StatusCode};

/// One answered request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The connection's number, counted from 1 across TCP and QUIC.
    pub connection: u64,
    /// The connection's SNI (`none` without one).
    pub sni: String,
    /// The TLS policy its handshake was made under.
    pub policy: String,
    /// `HTTP/1.1`, `HTTP/2` or `HTTP/3`.
    pub version: String,
    /// The request's authority (`:authority`, else `Host`).
    pub authority: String,
    /// The path and query.
    pub path: String,
    /// The status answered.
    pub status: u16,
}

impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "connection {} sni {} policy {} {} authority {} path {} status {}",
            self.connection,
            self.sni,
            self.policy,
            self.version,
            self.authority,
            self.path,
            self.status
        )
    }
}

/// How many entries the log keeps: the last ones. The example is what users copy, and a log
/// that kept every request would let any client grow the server without bound (hostile
/// review, issue 21, defect 5: 8,000 refused requests with 12 KiB paths held 93 MiB).
pub const KEPT: usize = 1024;

/// The longest authority or path an entry keeps, in octets; longer ones are cut and end with
/// `...`.
pub const KEPT_TEXT: usize = 256;

/// The request log, shared by every connection; printed as it goes unless `quiet`. It keeps
/// the last [`KEPT`] entries, each at most about 2 × [`KEPT_TEXT`] octets, and counts all.
#[derive(Clone, Debug, Default)]
pub struct RequestLog {
    entries: Arc<Mutex<Kept>>,
    quiet: bool,
}

/// The entries kept, and how many were answered in all.
#[derive(Debug, Default)]
struct Kept {
    last: VecDeque<Entry>,
    answered: u64,
}

impl RequestLog {
    /// An empty log that prints each entry, unless `quiet`.
    pub fn new(quiet: bool) -> Self {
        RequestLog {
            entries: Arc::default(),
            quiet,
        }
    }

    /// The entries kept, oldest first: every answered request, up to the last [`KEPT`].
    pub fn entries(&self) -> Vec<Entry> {
        self.entries.lock().unwrap().last.iter().cloned().collect()
    }

    /// How many requests were answered in all.
    pub fn answered(&self) -> u64 {
        self.entries.lock().unwrap().answered
    }

    fn push(&self, entry: Entry) {
        if !self.quiet {
            println!("{entry}");
        }
        let mut kept = self.entries.lock().unwrap();
        kept.answered += 1;
        if kept.last.len() == KEPT {
            kept.last.pop_front();
        }
        kept.last.push_back(entry);
    }
}

/// `text` cut to at most [`KEPT_TEXT`] octets, on a character boundary.
fn kept_text(text: &str) -> String {
    if text.len() <= KEPT_TEXT {
        return text.to_string();
    }
    let mut end = KEPT_TEXT - 3;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

static CONNECTIONS: AtomicU64 = AtomicU64::new(1);

/// What the log says of one connection.
#[derive(Clone, Debug)]
pub struct Connection {
    number: u64,
    sni: String,
    policy: String,
}

impl Connection {
    /// The next connection, with its handshake's SNI and policy.
    pub fn next(sni: Option<&str>, policy: &str) -> Self {
        Connection {
            number: CONNECTIONS.fetch_add(1, Ordering::Relaxed),
            sni: sni.unwrap_or("none").to_string(),
            policy: policy.to_string(),
        }
    }
}

/// A service that logs each answer of the one it wraps (the layer's refusals included) and
/// adds `alt-svc` when given one.
#[derive(Clone)]
pub struct Logged<S> {
    inner: S,
    log: RequestLog,
    connection: Arc<Connection>,
    alt_svc: Option<HeaderValue>,
}

impl<S> Logged<S> {
    /// Wraps `inner` for one connection.
    pub fn new(
        inner: S,
        log: RequestLog,
        connection: Connection,
        alt_svc: Option<HeaderValue>,
    ) -> Self {
        Logged {
            inner,
            log,
            connection: Arc::new(connection),
            alt_svc,
        }
    }
}

impl<S, B, R> tower::Service<Request<B>> for Logged<S>
where
    S: tower::Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let authority = request
            .uri()
            .authority()
            .map(|a| kept_text(a.as_str()))
            .or_else(|| {
                let host = request.headers().get(HOST)?;
                Some(kept_text(&String::from_utf8_lossy(host.as_bytes())))
            })
            .unwrap_or_else(|| "none".into());
        let path = request
            .uri()
            .path_and_query()
            .map_or_else(String::new, |p| kept_text(p.as_str()));
        let version = match request.version() {
            hyper::Version::HTTP_3 => "HTTP/3",
            hyper::Version::HTTP_2 => "HTTP/2",
            hyper::Version::HTTP_10 => "HTTP/1.0",
            _ => "HTTP/1.1",
        };
        let future = self.inner.call(request);
        let (log, connection, alt_svc) = (
            self.log.clone(),
            Arc::clone(&self.connection),
            self.alt_svc.clone(),
        );
        Box::pin(async move {
            let mut response = future.await?;
            if let Some(value) = alt_svc {
                response.headers_mut().insert(ALT_SVC, value);
            }
            log.push(Entry {
                connection: connection.number,
                sni: connection.sni.clone(),
                policy: connection.policy.clone(),
                version: version.to_string(),
                authority,
                path,
                status: response.status().as_u16(),
            });
            Ok(response)
        })
    }
}

/// The hosts whose images `/page.html` shows, by element id: `b` shares a's certificate and
/// policy (a browser coalesces it and is served), `legacy` shares the certificate but not the
/// policy (421 on a's connection, 200 on its own), and `nowhere` has no virtual host (421 on
/// every connection: the negative control).
pub const PAGE_IMAGES: [(&str, &str); 4] = [
    ("a", "a.example.test"),
    ("b", "b.example.test"),
    ("legacy", "legacy.example.test"),
    ("nowhere", "nowhere.example.test"),
];

/// A 1x1 transparent GIF.
const PIXEL: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

/// `/page.html` and `/pixel.gif`, for any virtual host the layer served; `None` for other
/// paths.
pub fn asset<B>(request: &Request<B>) -> Option<Response<Full<Bytes>>> {
    let (body, content_type) = match request.uri().path() {
        "/pixel.gif" => (Bytes::from_static(PIXEL), "image/gif"),
        "/page.html" => (Bytes::from(page(port(request))), "text/html; charset=utf-8"),
        _ => return None,
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Some(response)
}

/// The port the request's authority names (443 when it names none).
fn port<B>(request: &Request<B>) -> u16 {
    let from_host = || {
        let host = request.headers().get(HOST)?.to_str().ok()?;
        host.rsplit_once(':')?.1.parse().ok()
    };
    request.uri().port_u16().or_else(from_host).unwrap_or(443)
}

/// The page: one image per host of [`PAGE_IMAGES`], each writing `loaded` or `failed` into its
/// element, and `done` into `#status` once every image has answered.
fn page(port: u16) -> String {
    let mut html = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>misdirect</title>\n\
         <script>\n\
         var pending = IMAGES;\n\
         function result(id, text) {\n\
         \x20 document.getElementById(id).textContent = text;\n\
         \x20 pending -= 1;\n\
         \x20 if (pending === 0) document.getElementById('status').textContent = 'done';\n\
         }\n\
         </script></head><body>\n<p>status: <span id=\"status\">waiting</span></p>\n<ul>\n",
    )
    .replace("IMAGES", &PAGE_IMAGES.len().to_string());
    for (id, host) in PAGE_IMAGES {
        html.push_str(&format!(
            "<li>{host}: <span id=\"{id}\">pending</span> \
             <img src=\"https://{host}:{port}/pixel.gif?img={id}\" \
             onload=\"result('{id}', 'loaded')\" onerror=\"result('{id}', 'failed')\"></li>\n"
        ));
    }
    html.push_str("</ul>\n</body></html>\n");
    html
}
