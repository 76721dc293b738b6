//! The versions of the packages compiled, read from `Cargo.lock` by the build script.

include!(concat!(env!("OUT_DIR"), "/versions.rs"));

/// The locked version of `package` that starts with `requirement` (`"1."`, `"0.103."`).
#[must_use]
pub fn of(package: &str, requirement: &str) -> Option<&'static str> {
    LOCKED
        .iter()
        .find(|(name, version)| *name == package && version.starts_with(requirement))
        .map(|(_, version)| *version)
}
