//! The decision: the configuration, a connection's facts, the rules in order and the verdict (SPEC §4, §5). Imports only from `parse` and `names`.

pub(crate) mod decide;
pub(crate) mod facts;
pub(crate) mod fast_path;
pub(crate) mod server;
pub(crate) mod verdict;
