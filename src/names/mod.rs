//! Names: configuration and certificate names (SPEC §3) compiled into an index. Imports only from `parse`.

pub(crate) mod index;
pub(crate) mod pattern;
