//! warp's host filter, `warp::host::exact`, the filter a warp application routes virtual
//! hosts with (`warp::host::exact("a.example").and(...)`).
//!
//! **Called:** `warp::host::exact(pattern)`, then `warp::test::request().header("host",
//! value).matches(&filter)`, polled to completion on the calling thread (the filter is
//! synchronous: `exact` is `optional()` and `and_then` of a ready future, so one poll
//! answers; `std::task::Waker::noop` is the waker).
//!
//! **Mapping:** the kit's `(pattern, host)` is the filter's expected authority and the
//! request's `Host` value. `exact` panics on a pattern that is no `http::uri::Authority`
//! (`.expect("invalid host/authority")`): that is a route table that cannot be built, not a
//! request served or refused, so the adapter first asks the same function the filter does
//! (`Authority::from_str(pattern)`) and answers no match when it refuses, as a server whose
//! configuration was checked would. A host that is no valid `HeaderValue` text (`HeaderValue::from_str`, the conversion `header` makes from a `&str`) answers no match
//! (no request can carry it; `RequestBuilder::header` would panic on it). An IPv6 pattern,
//! written by the kit without brackets as an iPAddress SAN is, is handed to the filter in
//! brackets, the spelling of an authority.
//!
//! **Facts relied on** (`warp-0.4.3/src/filters/host.rs`): `exact` parses the expected text
//! with `Authority::from_str` (panicking on an error) and passes when `optional()` yields
//! `Some(authority)` with `authority == expected`, `http::uri::Authority`'s equality (ASCII
//! case-insensitive, port text included, trailing dot kept); `optional` reads the URI's
//! authority and the `Host` header (`to_str`, then `Authority::from_str`), and rejects when
//! they differ. `src/test.rs`: `request()` builds a `GET /` with no authority in the URI;
//! `RequestBuilder::matches` is `apply_filter(..).await.is_ok()`, a `poll_fn` that needs no
//! runtime.

use std::future::Future;
use std::str::FromStr;
use std::task::{Context, Poll, Waker};

use misdirect_testkit::{Divergence, Options, Report, check_matcher};

use crate::Subject;

/// The crate's subjects: one, `host::exact`.
#[must_use]
pub fn subjects() -> Vec<Subject> {
    vec![Subject {
        package: "warp",
        requirement: "0.",
        function: "`host::exact(pattern)`, `test::request().header(\"host\", host).matches(..)`",
        run,
        reading: super::no_reading,
    }]
}

/// Polls a future that the filter makes ready at once; a future that were still pending
/// would be polled again.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::yield_now();
    }
}

/// The adapter: whether `host::exact(pattern)` passes a request with `Host: host`.
#[must_use]
pub fn matches(pattern: &str, host: &str) -> bool {
    let Some(pattern) = super::authority_pattern(pattern) else {
        return false;
    };
    if warp::host::Authority::from_str(&pattern).is_err() {
        return false;
    }
    if warp::http::HeaderValue::from_str(host).is_err() {
        return false;
    }
    let filter = warp::host::exact(&pattern);
    ready(warp::test::request().header("host", host).matches(&filter))
}

fn run(options: Options) -> Result<Report, Divergence> {
    check_matcher(options, matches)
}
