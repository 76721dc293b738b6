//! # misdirect-testkit
//!
//! Property-test and fuzz your own host handling against misdirect's reference model: the
//! generators that reach the limits (253-octet names, 63- and 64-octet labels, capitals
//! anywhere, IDNA valid and invalid, IP forms, lists in any order, names shared across
//! virtual hosts and certificates), the model that judges (SPEC §2-§5 written plainly), and
//! shrinking to a minimal input.
//!
//! Three checks, each callable from an ordinary `#[test]`:
//!
//! - [`check_authority`]: a wire authority parser (`Host`, `:authority`): accept or refuse,
//!   canonical host text, port;
//! - [`check_matcher`]: a certificate-name or virtual-host matcher (`pattern`, `host`);
//! - [`check_decider`]: a whole decision: a [`Case`] (configuration, connection facts,
//!   request) in, an [`Answer`] (status, virtual host) out.
//!
//! Each returns a [`Report`] or the first [`Divergence`], whose [`Class`] says what kind of
//! wrong it is: [`Class::Serves`] (security), [`Class::Refuses`] (availability),
//! [`Class::Differs`]. [`Options`] sets the budget, the seed, the knobs the code follows and
//! the [`Deviation`]s from SPEC it takes on purpose.
//!
//! ```
//! use misdirect_testkit::{Class, Options, check_authority};
//!
//! // A parser that forgets that hosts are case-insensitive.
//! let divergence = check_authority(Options::default(), |bytes: &[u8]| {
//!     let text = std::str::from_utf8(bytes).map_err(|_| ())?;
//!     if text.bytes().any(|b| b.is_ascii_uppercase()) {
//!         return Err(());
//!     }
//!     let a = misdirect::Authority::parse(bytes).map_err(|_| ())?;
//!     Ok((a.host().to_string(), a.port()))
//! })
//! .unwrap_err();
//! assert_eq!(divergence.class(), Class::Refuses);
//! ```
//!
//! [`reference`](mod@reference) is misdirect's own engine behind the three signatures: a correct adapter,
//! and a template. The raw material is public too: proptest strategies in [`strategy`], `arbitrary`-driven
//! generators for `cargo fuzz` in [`fuzz`] (and [`Case`] is `Arbitrary`), and the judges
//! ([`judge_authority`], [`judge_matcher`], [`judge_decider`]) a fuzz target calls on one
//! input.
#![forbid(unsafe_code)]

mod case;
mod check;
pub mod fuzz;
mod options;
pub mod owned;
pub mod reference;
mod report;
pub mod strategy;

pub use case::Case;
pub use check::{
    Judgement, check_authority, check_decider, check_matcher, judge_authority, judge_decider,
    judge_matcher,
};
pub use options::{Deviation, Options};
pub use report::{Answer, Class, Divergence, Report};
