//! `http::uri::Authority` (http 1.x), the authority type of `http::Uri`, which hyper, h2 and h3
//! use for `:authority` and absolute-form targets.
//!
//! **Called:** `<Authority as TryFrom<&[u8]>>::try_from(bytes)`, then `Authority::host()` and
//! `Authority::port_u16()`.
//!
//! **Mapping:** an `Err` is a refusal; `Ok` is `(host().to_ascii_lowercase(), port_u16())`.
//! The host is lowercased because `host()` returns the text as written and the crate's own
//! equality ignores case (`impl PartialEq for Authority`, `src/uri/authority.rs`, compares with
//! `eq_ignore_ascii_case`, and `Hash` lowercases every byte): a server comparing authorities
//! with the crate's equality sees `A.example` and `a.example` as one. Nothing else is changed:
//! a trailing dot is kept (the crate's equality keeps it too), brackets around IPv6 are kept
//! (the kit accepts them), and `port_u16()` is what a server reading the port gets.
//!
//! **Facts relied on** (`http-1.5.0/src/uri/authority.rs`): `try_from(&[u8])` calls
//! `create_authority`, which validates with `validate_authority_bytes` (a byte-class check of
//! RFC 3986's authority characters, brackets balanced, at most one `@` boundary) and copies
//! the bytes; `host()` is the private `fn host`: the text after the last `@`, up to the first
//! `:` (or through `]` for a bracketed host), never validated further; `port()` parses the
//! text after the last `:` with `Port::from_str`, which is `u16::from_str` (so `+443` is 443)
//! and answers `None` for text that is no `u16` (so `a.example:abc` is accepted, without a
//! port).

use misdirect_testkit::{Divergence, Options, Report, check_authority};

use crate::Subject;

/// The crate's subjects: one, `Authority::try_from`.
#[must_use]
pub fn subjects() -> Vec<Subject> {
    vec![Subject {
        package: "http",
        requirement: "1.",
        function: "`uri::Authority::try_from(&[u8])` → `host()`, `port_u16()`",
        run,
        reading,
    }]
}

/// The adapter: bytes in, `(lowercased host(), port_u16())` out.
///
/// # Errors
/// `InvalidUri` when the crate refuses the bytes.
pub fn parse(bytes: &[u8]) -> Result<(String, Option<u16>), http::uri::InvalidUri> {
    let authority = http::uri::Authority::try_from(bytes)?;
    Ok((authority.host().to_ascii_lowercase(), authority.port_u16()))
}

fn run(options: Options) -> Result<Report, Divergence> {
    check_authority(options, parse)
}

/// The readings `http::uri::Authority` takes on purpose: it is RFC 3986's generic authority,
/// userinfo included (its documentation draws `username:password@example.com`), and a
/// reg-name of RFC 3986's characters with no DNS rule applied.
fn reading(divergence: &Divergence) -> Option<&'static str> {
    let input = divergence.input();
    if input.contains('@') {
        return Some(
            "`Authority` is RFC 3986's URI authority, userinfo included (its docs draw `username:password@`); RFC 9110 §4.2.4 and RFC 9113 §8.3.1 forbid userinfo in `Host`/`:authority`, so a server must refuse it itself",
        );
    }
    None
}
