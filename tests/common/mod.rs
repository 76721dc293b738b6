//! The proptest configuration shared by the property suites, and the generators, which live in
//! the test kit (`testkit/`, `misdirect-testkit`) so that users can point them at their own code.
#![allow(dead_code, unused_imports)]

pub use misdirect_testkit::strategy::*;

/// The whole-decision generators.
pub mod decide_gen {
    pub use misdirect_testkit::strategy::decide::*;
}

/// The plain helpers (owned requests and connections, repair, permutations).
pub mod shared {
    pub use misdirect_testkit::owned::*;
}

use proptest::test_runner::{Config, FileFailurePersistence};

/// At least 4,096 cases per property unless `PROPTEST_CASES` says otherwise; failures persist
/// under the top-level `proptest-regressions/` folder, which is committed.
pub fn config(file: &'static str) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 4096;
    }
    config.failure_persistence = Some(Box::new(FileFailurePersistence::Direct(file)));
    config
}
