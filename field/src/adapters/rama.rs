//! rama's authority parser, `rama_net::address::Authority` (rama-net, the rama sub-crate that
//! holds the address types; rama itself re-exports it as `rama::net::address`).
//!
//! **Called:** `<Authority as TryFrom<&[u8]>>::try_from(bytes)`, then its public fields
//! `address.host` (`Host::Name(Domain)` or `Host::Address(IpAddr)`) and `address.port`.
//!
//! **Mapping:** an `Err` is a refusal. A `Host::Name` is its text (`Domain::as_str`)
//! lowercased, with one leading dot dropped: the crate's own equality on `Domain`
//! (`partial_eq_domain`) compares ASCII case-insensitively after `strip_prefix('.')`, so
//! `.A.example` and `a.example` are one domain to rama, and a server comparing with it sees
//! them so. A trailing dot is kept (rama's equality keeps it). A `Host::Address` is the
//! address's `Display` (IPv6 without brackets, which the kit accepts). The port is the field,
//! as rama parsed it. `user_info` is not read: a server reading the host ignores it, which is
//! what is judged.
//!
//! **Facts relied on** (`rama-net-0.3.0-alpha.4/src/address/`): `authority.rs`,
//! `try_from_maybe_borrowed_str`: a `@` splits off userinfo (`Basic::try_from`); with a `:` in
//! what is left before the last `:`, it is IPv6, with or without brackets (`::1` bare is
//! accepted); else the text after the last `:` is `u16::from_str` (so `+443` is 443), and the
//! host is an `Ipv4Addr` or a `Domain`; `domain.rs`, `is_valid_name`: a leading `*.` is
//! allowed (a wildcard is a valid `Domain`), an empty first or last label is skipped, labels
//! of ASCII letters, digits, `_` and inner `-` (`is_valid_label`), 253 octets with the
//! trailing dot counted, no A-label check.
//!
//! rama-net 0.3.0 and 0.4.0 need Rust 1.96; the toolchain here is 1.95, so the resolver picks
//! 0.3.0-alpha.4, the newest that builds.

use misdirect_testkit::{Divergence, Options, Report, check_authority};
use rama_net::address::{Authority, Host};

use crate::Subject;

/// The crate's subjects: one, `Authority::try_from`.
#[must_use]
pub fn subjects() -> Vec<Subject> {
    vec![Subject {
        package: "rama-net",
        requirement: "0.",
        function: "`address::Authority::try_from(&[u8])` → `address.host`, `address.port`",
        run,
        reading,
    }]
}

/// The adapter: bytes in, `(host, port)` out.
///
/// # Errors
/// The crate's error, as text, when it refuses the bytes.
pub fn parse(bytes: &[u8]) -> Result<(String, Option<u16>), String> {
    let authority = Authority::try_from(bytes).map_err(|e| e.to_string())?;
    let host = match &authority.address.host {
        Host::Name(domain) => {
            let text = domain.as_str();
            text.strip_prefix('.').unwrap_or(text).to_ascii_lowercase()
        }
        Host::Address(address) => address.to_string(),
    };
    Ok((host, authority.address.port))
}

fn run(options: Options) -> Result<Report, Divergence> {
    check_authority(options, parse)
}

/// rama's `Domain` takes a wildcard on purpose (`is_valid_name`'s "wildcard special case").
fn reading(divergence: &Divergence) -> Option<&'static str> {
    if divergence.input().starts_with("\"*.") {
        return Some(
            "rama's `Domain` accepts `*.` on purpose (`is_valid_name`'s wildcard case), for its own patterns; as a wire host it is one more spelling",
        );
    }
    None
}
