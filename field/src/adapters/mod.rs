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
