//! One adapter module per crate under test. Each module's doc comment says which public
//! function is called, how its answer is mapped to the kit's signature, why that mapping is
//! fair to the crate, and the facts of the crate's source it relies on (file and function).

pub mod actix;
pub mod http_authority;
pub mod rama;
#[cfg(feature = "sozu")]
pub mod sozu;
pub mod url_host;
pub mod warp_host;
pub mod webpki_name;

/// A kit pattern (certificate-name text) in the authority form of a `Host` guard: an IPv6
/// address, which that text writes without brackets, gets them; a bracketed pattern is no
/// certificate name at all, so it configures nothing (`None`): handing `[::]` through would
/// judge the crate's own syntax, not its matching.
#[must_use]
pub fn authority_pattern(pattern: &str) -> Option<String> {
    if pattern.starts_with('[') {
        return None;
    }
    Some(match pattern.parse::<std::net::Ipv6Addr>() {
        Ok(_) => format!("[{pattern}]"),
        Err(_) => pattern.to_string(),
    })
}

/// For a crate none of whose divergences is a deliberate reading of its own beyond the kit's
/// `Deviation`s (which every subject accepts: a `Host` guard without wildcards is
/// `Deviation::NoWildcards`).
#[must_use]
pub fn no_reading(_: &misdirect_testkit::Divergence) -> Option<&'static str> {
    None
}
