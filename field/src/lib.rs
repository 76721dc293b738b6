//! # misdirect-field
//!
//! A field report: misdirect's test kit (`misdirect-testkit`) run against other crates' host
//! handling, each through a small adapter in [`adapters`] (one module per crate). The binary
//! runs every [`Subject`] once per [`Class`] and prints a Markdown table ([`report`]).
//!
//! Every subject accepts every [`Deviation`] of SPEC §7: those are readings of the RFCs that
//! SPEC deliberately does not take and that another crate may take without being wrong, so
//! what remains in the table is what the sources do not allow (or, below the table, a reading
//! the crate takes on purpose and names).

use misdirect_testkit::{Class, Deviation, Divergence, Options, Report};

pub mod adapters;
pub mod report;
pub mod versions;

/// One function of one crate under test.
pub struct Subject {
    /// The crate's package name in `Cargo.lock`.
    pub package: &'static str,
    /// The start of its version requirement (`"1."` for `http = "1"`), which picks the
    /// package when `Cargo.lock` holds two versions of it.
    pub requirement: &'static str,
    /// The public function called, and what is read of its answer.
    pub function: &'static str,
    /// Runs the kit's check on the adapter with these options.
    pub run: fn(Options) -> Result<Report, Divergence>,
    /// The crate's deliberate reading that explains a divergence, if one does.
    pub reading: fn(&Divergence) -> Option<&'static str>,
}

impl Subject {
    /// The options a subject runs with: the defaults (seed 0, default budget), this class
    /// only, and every deviation accepted.
    #[must_use]
    pub fn options(class: Class) -> Options {
        Deviation::ALL
            .iter()
            .fold(Options::default().only(class), |options, &d| {
                options.accepting(d)
            })
    }

    /// The version of the crate compiled, from `Cargo.lock`.
    #[must_use]
    pub fn version(&self) -> &'static str {
        versions::of(self.package, self.requirement).unwrap_or("not in Cargo.lock")
    }
}

/// Every subject, in the order of the report.
#[must_use]
pub fn subjects() -> Vec<Subject> {
    [
        adapters::http_authority::subjects(),
        adapters::url_host::subjects(),
        adapters::actix::subjects(),
        adapters::rama::subjects(),
        #[cfg(feature = "sozu")]
        adapters::sozu::subjects(),
        adapters::warp_host::subjects(),
        adapters::webpki_name::subjects(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
