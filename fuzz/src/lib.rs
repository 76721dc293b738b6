//! Shared pieces of the fuzz targets. The generators are the test kit's (`misdirect-testkit`,
//! `testkit/src/fuzz/`), public so that users write their own targets with them; the inputs
//! of this repository's own targets are decoded in [`inputs`], and the decision targets'
//! checks are in [`checks`].

pub use misdirect_testkit::fuzz::*;

pub mod checks;
pub mod inputs;

use std::sync::OnceLock;

/// How many servers the `decide` target's space holds: each costs three builds when the
/// process starts (about 10 ms under AddressSanitizer, 3 ms without).
pub const SPACE_SIZE: usize = 256;

/// The seed the `decide` target's space is drawn from ("misdirec"), fixed so that a corpus
/// input decides on the same server in every process.
pub const SPACE_SEED: u64 = 0x6d69_7364_6972_6563;

/// The `decide` target's servers, built on first use.
pub fn space() -> &'static decide::Space {
    static SPACE: OnceLock<decide::Space> = OnceLock::new();
    SPACE.get_or_init(|| decide::Space::new(SPACE_SIZE, SPACE_SEED))
}
