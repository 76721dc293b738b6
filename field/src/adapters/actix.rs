//! actix-web's `guard::Host`, the guard an actix application routes virtual hosts with
//! (`web::scope("").guard(guard::Host("a.example"))`).
//!
//! **Called:** `actix_web::guard::Host(pattern)`, then `Guard::check(&guard, &req.guard_ctx())`
//! on a `ServiceRequest` made by `actix_web::test::TestRequest::default()`
//! `.insert_header((HOST, value)).to_srv_request()` (an HTTP/1.1 request for `/`).
//!
//! **Mapping:** the kit's `(pattern, host)` is the guard's host and the request's `Host`
//! value. A host that is no valid `HeaderValue` (`HeaderValue::from_bytes` refuses it: a
//! control byte) answers no match: no request can carry it, and the test request builder would
//! panic on it. An IPv6 pattern, which the kit writes as an iPAddress SAN is written (no
//! brackets), is handed to the guard in brackets (`[::1]`), the spelling the guard compares
//! against (the host of a URI keeps its brackets); every other pattern is passed as it is.
//! The guard has no wildcards, so `*.a.example` is compared as text, as an application
//! writing it would get.
//!
//! **Facts relied on** (`actix-web-4.18.1/src/guard/host.rs`): `fn Host` stores the text;
//! `HostGuard::check` takes `get_host_uri`: the `Host` header's `to_str()` (HTTP/1.x only),
//! else the request URI's host, parsed as an `http::Uri` (http 0.2, through actix-http), and
//! matches when `self.host == uri_host`, a byte-exact comparison of `Uri::host()` (case and
//! trailing dot as sent, no port). `actix-web-4.18.1/src/test/test_request.rs`:
//! `TestRequest::insert_header` panics on a header that does not convert, `to_srv_request`
//! builds the `ServiceRequest`; `src/service.rs`: `ServiceRequest::guard_ctx` is public.
//!
//! `ConnectionInfo::host()` is not run: it returns the first of `Forwarded: host=`,
//! `X-Forwarded-Host`, `Host` or the URI's authority as raw text, unparsed
//! (`src/info.rs`, `ConnectionInfo::new`), so an adapter would judge its own splitting.

use actix_web::guard::Guard;
use actix_web::http::header::{HOST, HeaderValue};
use misdirect_testkit::{Divergence, Options, Report, check_matcher};

use crate::Subject;

/// The crate's subjects: one, `guard::Host`.
#[must_use]
pub fn subjects() -> Vec<Subject> {
    vec![Subject {
        package: "actix-web",
        requirement: "4.",
        function: "`guard::Host(pattern).check(&req.guard_ctx())`, `Host: host`",
        run,
        reading: super::no_reading,
    }]
}

/// The adapter: whether `guard::Host(pattern)` passes a request with `Host: host`.
#[must_use]
pub fn matches(pattern: &str, host: &str) -> bool {
    let Ok(value) = HeaderValue::from_bytes(host.as_bytes()) else {
        return false;
    };
    let Some(pattern) = super::authority_pattern(pattern) else {
        return false;
    };
    let request = actix_web::test::TestRequest::default()
        .insert_header((HOST, value))
        .to_srv_request();
    actix_web::guard::Host(pattern).check(&request.guard_ctx())
}

fn run(options: Options) -> Result<Report, Divergence> {
    check_matcher(options, matches)
}
