//! The adapters: request facts from `http`, the tower layer, rustls and quinn, reload, TOML and X.509. Each behind its feature; they build facts and act on verdicts.

#[cfg(feature = "serde")]
pub mod config_file;
#[cfg(feature = "http")]
pub(crate) mod from_http;
#[cfg(feature = "quinn")]
pub mod h3_guard;
#[cfg(feature = "tower")]
pub(crate) mod layer;
#[cfg(feature = "quinn")]
pub(crate) mod quic;
#[cfg(feature = "reload")]
pub(crate) mod reload;
#[cfg(all(feature = "rustls", feature = "serde"))]
pub(crate) mod site;
#[cfg(feature = "rustls")]
pub(crate) mod tls;
#[cfg(any(feature = "rustls", feature = "serde"))]
pub(crate) mod x509;
