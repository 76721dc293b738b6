//! Parsing: untrusted wire bytes to canonical values (SPEC §2). Imports nothing from the stages above it.

pub(crate) mod authority;
pub(crate) mod host;
pub mod huffman;
pub(crate) mod ipv6;
pub(crate) mod name;
