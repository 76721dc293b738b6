//! The `url` crate's host parser, the WHATWG URL Standard's, as a server meets it when it
//! rebuilds the request's URL from `Host` (`format!("https://{host}/")`, then `Url::parse`).
//!
//! **Called:** `url::Url::parse(&format!("https://{input}/"))`, then `Url::host()` and
//! `Url::port()`; and, for the port only, `url::Url::parse(&format!("http://{input}/"))`.
//!
//! **Mapping:** input that is not UTF-8 is refused (`Url::parse` takes `&str`). The URL must
//! come back with path `/`, no query and no fragment: otherwise a byte of the input (`/`,
//! `\`, `?`, `#`) ended the authority, and that is the adapter's concatenation, not the
//! crate's host parser, so it is a refusal. The host is `Host::Domain` as the crate returns it
//! (already lowercase ASCII), a `Host::Ipv4` in dotted-quad text, a `Host::Ipv6` without
//! brackets (the kit accepts both spellings). The port: WHATWG drops a port equal to the
//! scheme's default (`https://a.example:443/` has `port() == None`), so an explicit `:443`
//! is read back from the `http://` parse (where 443 is no default) and an explicit `:80` from
//! the `https://` one; a URL with no explicit port answers `None` in both. Userinfo is
//! not stripped by the adapter: a server that rebuilds its URL this way and reads `host()`
//! serves `user@a.example` as `a.example`, which is what is judged.
//!
//! **Options:** the kit's `wire_unicode` knob is `Convert` for this subject, since the
//! WHATWG host parser runs UTS #46 ToASCII on a non-ASCII host by design.
//!
//! **Facts relied on** (`url-2.5.8`): `src/host.rs`, `Host::parse_cow`: a host not in
//! brackets is percent-decoded (`percent_decode`), then `idna::domain_to_ascii_from_cow` with
//! `AsciiDenyList::URL` (sub-delims allowed, no DNS length check), then a host that
//! `ends_in_a_number` goes to `parse_ipv4addr`, WHATWG's IPv4 parser (hex, octal, fewer than
//! four parts: `0x7f.1` is 127.0.0.1); `src/parser.rs`, `Parser::parse_port`: digits only,
//! up to 65535, leading zeros kept, and `None` when equal to the scheme's default.

use misdirect::WireUnicode;
use misdirect_testkit::{Divergence, Options, Report, check_authority};

use crate::Subject;

/// The crate's subjects: one, `Url::parse` on a rebuilt URL.
#[must_use]
pub fn subjects() -> Vec<Subject> {
    vec![Subject {
        package: "url",
        requirement: "2.",
        function: "`Url::parse(\"https://\" + input + \"/\")` → `host()`, `port()`",
        run,
        reading,
    }]
}

/// Why the adapter refuses an input.
#[derive(Debug)]
pub enum Refused {
    /// Not UTF-8: `Url::parse` takes `&str`.
    NotUtf8,
    /// The crate refused the URL.
    Parse(url::ParseError),
    /// A byte of the input ended the authority (a path, query or fragment followed).
    NotAnAuthority,
    /// The URL has no host.
    NoHost,
}

/// The adapter: bytes in, `(host, explicit port)` out.
///
/// # Errors
/// [`Refused`] when the input is not UTF-8, the crate refuses it, or it did not stay in the
/// authority.
pub fn parse(bytes: &[u8]) -> Result<(String, Option<u16>), Refused> {
    let text = std::str::from_utf8(bytes).map_err(|_| Refused::NotUtf8)?;
    let https = url::Url::parse(&format!("https://{text}/")).map_err(Refused::Parse)?;
    if https.path() != "/" || https.query().is_some() || https.fragment().is_some() {
        return Err(Refused::NotAnAuthority);
    }
    let host = match https.host().ok_or(Refused::NoHost)? {
        url::Host::Domain(name) => name.to_string(),
        url::Host::Ipv4(address) => address.to_string(),
        url::Host::Ipv6(address) => address.to_string(),
    };
    let port = match https.port() {
        Some(port) => Some(port),
        None => url::Url::parse(&format!("http://{text}/"))
            .map_err(Refused::Parse)?
            .port(),
    };
    Ok((host, port))
}

fn run(mut options: Options) -> Result<Report, Divergence> {
    options.knobs.wire_unicode = WireUnicode::Convert;
    check_authority(options, parse)
}

/// The readings the WHATWG URL Standard takes on purpose.
fn reading(divergence: &Divergence) -> Option<&'static str> {
    let input = divergence.input();
    let user = divergence.user();
    if input.contains('@') {
        return Some(
            "WHATWG URLs carry credentials in the authority, and `host()` is what follows them",
        );
    }
    if input.contains('%') {
        return Some("WHATWG's host parser percent-decodes the host before IDNA");
    }
    let host_text = input.trim_matches('"').split(':').next().unwrap_or("");
    let last = host_text
        .trim_end_matches('.')
        .rsplit('.')
        .next()
        .unwrap_or("");
    let numeric = !last.is_empty()
        && (last.bytes().all(|b| b.is_ascii_digit())
            || last.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("0x")));
    if numeric && user.starts_with("accepts") {
        return Some(
            "WHATWG reads a host that ends in a number as IPv4 (hex, octal, fewer than four parts: `0x7f.1` is 127.0.0.1)",
        );
    }
    if host_text.ends_with('.') {
        return Some("WHATWG keeps a host's trailing dot (`a.example.` is another host)");
    }
    None
}
