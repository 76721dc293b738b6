//! sozu-lib, the library of the Sōzu reverse proxy: its `Host` parser and its router.
//!
//! **Called:** `sozu_lib::protocol::http::parser::hostname_and_port(bytes)` (the module is
//! `protocol::kawa_h1::parser`, re-exported as `protocol::http`), and for the router
//! `sozu_lib::router::Router::new()`, `Router::add_tree_rule(pattern, &PathRule::Prefix("/"),
//! &MethodRule::new(None), &Route::ClusterId("c"))`, then `Router::lookup(hostname, "/",
//! &Method::Get)`.
//!
//! **Mapping (parser):** an `Err` is a refusal; `Ok((_, (hostname, port)))` is the hostname
//! lowercased and the port. The proxy lowercases the hostname itself before routing
//! (`Router::lookup_with_headers` calls `normalize_hostname`, an ASCII lowercase), so the
//! lowercased text is the host sozu routes on. The trailing dot is kept: sozu keeps it too.
//!
//! **Mapping (router):** the matcher does what the proxy does with a request
//! (`HttpProxy::frontend_from_request`, `src/http.rs`): `hostname_and_port` on the `Host`
//! value (a refusal is no match), then `Router::lookup` of the hostname; a router whose
//! `add_tree_rule` refused the pattern matches nothing, and a match is `lookup` answering
//! `Ok` (the only rule routes to a cluster). An IPv6 pattern or host is not special-cased:
//! the parser has no IPv6 and so the proxy routes none.
//!
//! **Facts relied on** (`sozu-lib-2.3.3`): `src/protocol/kawa_h1/parser.rs`,
//! `hostname_and_port`: `take_while(is_hostname_char)` (ASCII letters and digits, `-`, `.`;
//! `_` only under the `tolerant-http1-parser` cfg, which no feature of the crate sets), then
//! an optional `:` and `digit1` parsed as a `u16` other than 0, then end of input; no bracket,
//! so no IPv6. `src/router/mod.rs`: `add_tree_rule_with_headers` turns the hostname into ASCII
//! with `tree_hostname_to_ascii` (`idna::domain_to_ascii` unless a `/regex/` segment) and
//! inserts it into the pattern trie (`src/router/pattern_trie.rs`, where a `*` label is a
//! wildcard); `lookup_with_headers` lowercases the hostname (`normalize_hostname`) and walks
//! the pre rules, the trie (`lookup_with_inline_path`) and the post rules.

use misdirect_testkit::{Divergence, Options, Report, check_authority, check_matcher};
use sozu_lib::protocol::http::parser::{Method, hostname_and_port};
use sozu_lib::router::{MethodRule, PathRule, Route, Router};

use crate::Subject;

/// The crate's subjects: `hostname_and_port`, and the router behind it.
#[must_use]
pub fn subjects() -> Vec<Subject> {
    vec![
        Subject {
            package: "sozu-lib",
            requirement: "2.",
            function: "`protocol::http::parser::hostname_and_port`",
            run: run_parser,
            reading,
        },
        Subject {
            package: "sozu-lib",
            requirement: "2.",
            function: "`router::Router::add_tree_rule(pattern)`, `lookup(hostname_and_port(host))`",
            run: run_router,
            reading,
        },
    ]
}

/// Why the adapter refuses an input.
#[derive(Debug)]
pub struct Refused;

/// The parser adapter: bytes in, `(lowercased hostname, port)` out.
///
/// # Errors
/// [`Refused`] when `hostname_and_port` refuses the bytes.
pub fn parse(bytes: &[u8]) -> Result<(String, Option<u16>), Refused> {
    let (_, (hostname, port)) = hostname_and_port(bytes).map_err(|_| Refused)?;
    let hostname = std::str::from_utf8(hostname).map_err(|_| Refused)?;
    Ok((hostname.to_ascii_lowercase(), port))
}

/// The router adapter: whether a router holding the one tree rule `pattern` routes a request
/// whose `Host` is `host`.
#[must_use]
pub fn matches(pattern: &str, host: &str) -> bool {
    let mut router = Router::new();
    let added = router.add_tree_rule(
        pattern.as_bytes(),
        &PathRule::Prefix("/".to_string()),
        &MethodRule::new(None),
        &Route::ClusterId("c".into()),
    );
    if !added {
        return false;
    }
    let Ok((_, (hostname, _))) = hostname_and_port(host.as_bytes()) else {
        return false;
    };
    let Ok(hostname) = std::str::from_utf8(hostname) else {
        return false;
    };
    router.lookup(hostname, "/", &Method::Get).is_ok()
}

/// Silences sozu's logger on this thread: until a proxy initializes it, it writes every
/// `error!` to stdout (`sozu-command-lib-2.3.3/src/logging/logs.rs`, `Logger::default`), and the
/// router logs each hostname it refuses, which would land in the report. No directive enables
/// nothing (`InnerLogger::enabled`).
fn quiet() {
    sozu_command_lib::logging::LOGGER.with(|logger| logger.borrow_mut().set_directives(Vec::new()));
}

fn run_parser(options: Options) -> Result<Report, Divergence> {
    quiet();
    check_authority(options, parse)
}

fn run_router(options: Options) -> Result<Report, Divergence> {
    quiet();
    check_matcher(options, matches)
}

/// sozu's readings: names only (no IPv6 literal), and a trailing dot kept, a gap its router's
/// own tests name ("Known gap, deliberately NOT closed here", `src/router/mod.rs`).
fn reading(divergence: &Divergence) -> Option<&'static str> {
    let input = divergence.input();
    let refused = divergence.user().starts_with("refuses") || divergence.user() == "no match";
    if refused && input.contains('[') {
        return Some("sozu routes names only: `hostname_and_port` has no IPv6 literal");
    }
    if refused && input.ends_with(".\"") {
        return Some(
            "sozu keeps a trailing dot, a gap its router's tests name (\"Known gap, deliberately NOT closed here\", `src/router/mod.rs`)",
        );
    }
    None
}
