//! Reads the versions of the crates under test from `Cargo.lock`, so that the report names the
//! versions actually compiled and can never go stale: `versions.rs` in `OUT_DIR` holds one
//! `(name, version)` pair per package of the lock file, and `crate::versions::of` looks one up.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let lock = Path::new(&manifest).join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut name: Option<String> = None;
    for line in text.lines() {
        if line == "[[package]]" {
            name = None;
        } else if let Some(value) = line.strip_prefix("name = ") {
            name = Some(value.trim_matches('"').to_string());
        } else if let Some(value) = line.strip_prefix("version = ")
            && let Some(name) = name.take()
        {
            pairs.push((name, value.trim_matches('"').to_string()));
        }
    }
    pairs.sort();
    let mut out = String::from(
        "/// Every package of `Cargo.lock`: (name, version), sorted.\npub const LOCKED: &[(&str, &str)] = &[\n",
    );
    for (name, version) in &pairs {
        let _ = writeln!(out, "    ({name:?}, {version:?}),");
    }
    out.push_str("];\n");
    let dest =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("versions.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
