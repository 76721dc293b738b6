//! Shared pieces of the fuzz targets. The generators are the test kit's (`misdirect-testkit`,
//! `testkit/src/fuzz/`), public so that users write their own targets with them; the inputs
//! of this repository's own targets are decoded in [`inputs`].

pub use misdirect_testkit::fuzz::*;

pub mod inputs;
