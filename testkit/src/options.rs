//! What a check runs and what it forgives: the case budget, the seed, the knobs the user's
//! server claims to follow, and the readings of SPEC's deliberate deviations the user takes.

use misdirect::Knobs;

use crate::report::Class;

/// How a check runs. `Options::default()` is 1,024 cases for `check_authority` and
/// `check_matcher` and 512 for `check_decider` (a case there builds a server), the fixed seed 0
/// (runs repeat), SPEC §5's default knobs, and no deviation accepted. The environment
/// variables `MISDIRECT_TESTKIT_CASES` and `MISDIRECT_TESTKIT_SEED` change the default budget
/// and seed (a nightly job can run more cases, or other seeds, without a code change); a value
/// that is not a number panics, and so does a check with 0 cases.
#[derive(Clone, Debug)]
pub struct Options {
    /// Cases to run before a check passes; `None` picks the per-check default above.
    pub cases: Option<u32>,
    /// The seed of the case generator: the same seed draws the same cases.
    pub seed: u64,
    /// The knobs of SPEC §5 the user's server follows (`check_decider`'s configurations carry
    /// them, `check_authority` reads `wire_unicode`). With `UnknownHost::Fallback(name)`, name
    /// a generated virtual host: they are `v0`, `v1`, ...
    pub knobs: Knobs,
    /// The deviations the user's code takes; a divergence that only such a reading explains is
    /// counted in [`Report::excused`](crate::Report::excused), not returned. The readings are
    /// judged on ASCII input: under `wire_unicode = Convert`, a non-ASCII host that only a
    /// reading accepts is still a divergence.
    pub accept: Vec<Deviation>,
    /// Whether `check_matcher` hands the matcher hosts as they come off the wire (capitals,
    /// one trailing dot, brackets around IPv6; the default) or only canonical ones (lowercase,
    /// no trailing dot), for a matcher that sits behind a parser.
    pub canonical_hosts: bool,
    /// Whether `check_matcher`'s patterns are virtual host names as a configuration writes
    /// them (SPEC §3: U-labels allowed, `bücher.example` is `xn--bcher-kva.example`) rather
    /// than certificate names (ASCII only; the default).
    pub configuration_names: bool,
    /// How many shrinking steps a divergence may take (default 4,096).
    pub max_shrink_iters: u32,
    /// Look for divergences of this class only (a field report lists each class apart);
    /// `None`, the default, returns the gravest class met.
    pub only: Option<Class>,
}

/// A default from the environment; a value that does not parse is a mistake to say, not to
/// ignore.
fn from_env<T: core::str::FromStr>(name: &str) -> Option<T> {
    let text = std::env::var(name).ok()?;
    match text.trim().parse() {
        Ok(value) => Some(value),
        Err(_) => panic!("misdirect-testkit: {name}={text:?} is not a number"),
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cases: from_env("MISDIRECT_TESTKIT_CASES"),
            seed: from_env("MISDIRECT_TESTKIT_SEED").unwrap_or(0),
            knobs: Knobs::default(),
            accept: Vec::new(),
            canonical_hosts: false,
            configuration_names: false,
            max_shrink_iters: 4096,
            only: None,
        }
    }
}

impl Options {
    /// These options with `deviation` accepted too.
    #[must_use]
    pub fn accepting(mut self, deviation: Deviation) -> Self {
        self.accept.push(deviation);
        self
    }

    /// These options with `cases` cases.
    #[must_use]
    pub fn with_cases(mut self, cases: u32) -> Self {
        self.cases = Some(cases);
        self
    }

    /// These options with another seed.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// These options looking for divergences of `class` only.
    #[must_use]
    pub fn only(mut self, class: Class) -> Self {
        self.only = Some(class);
        self
    }

    pub(crate) fn accepts(&self, deviation: Deviation) -> bool {
        self.accept.contains(&deviation)
    }
}

/// A reading of the sources that SPEC deliberately does not take (SPEC §7, "Deliberate
/// deviations"), which a user's code may take without being wrong. Each names the rule it
/// relaxes and the source that allows the other reading; accepting one excuses exactly the
/// divergences that reading explains, in both directions where it has two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Deviation {
    /// §2: `%XX` decoded in a host (RFC 9110 §4.2.3: unreserved characters are "equivalent to
    /// their percent-encoded octets"). A parser may accept `exa%6Dple.com` as `example.com`;
    /// only unreserved characters decode (`%3A`, `%5B`, `%00` stay refused), and the decoded
    /// host must be what the model makes of the decoded text (`check_decider`: the user's
    /// answer must be the model's for the decoded request).
    PercentDecoding,
    /// §2, §3: a host whose last label is numeric but that is no dotted quad (`1.2.3`,
    /// `example.123`) read as a name, as RFC 3986 reads it. A parser's name must be the input
    /// lowercased, one trailing dot dropped, its port and other labels valid; a matcher must
    /// compare such a pattern as a name. In `check_decider` the reading only excuses a
    /// refusal with another status (as do sub-delims, zone ids and long ports).
    NumericNames,
    /// §2: reg-name's sub-delims (`!$&'()*+,;=`) and `~` in a host (RFC 3986 §3.2.2). The host
    /// must be the input lowercased, one trailing dot dropped, and valid with those bytes put
    /// aside.
    SubDelims,
    /// §2: IPv6 zone ids (RFC 6874) and IPvFuture (RFC 3986). The address must be valid
    /// without the zone (the host may keep it), an IPvFuture literal must have RFC 3986's
    /// shape and be the host, and the port must be valid.
    ZoneIds,
    /// §2: port 0, and ports of more than five digits with leading zeros (RFC 3986 `*DIGIT`):
    /// the port must be the digits' value, and the host valid.
    LongPorts,
    /// §2, §3: `--` in positions 3 and 4 of a label that is not `xn--` refused, as RFC 5891
    /// §4.2.3.1 says (SPEC allows it: `r1---sn-abc.example.com`).
    HyphensAt34,
    /// §2, §3: `_` refused in names, as the RFC 1034 preferred name syntax has it (SPEC allows
    /// it, as webpki and mozilla::pkix do).
    NoUnderscore,
    /// §3: a wildcard over a single label (`*.com`) matches, which RFC 9525 §7.1 leaves open
    /// (SPEC refuses it, as browsers and webpki do).
    WildcardOverOneLabel,
    /// §3: a pattern written with one trailing dot (`example.com.`) read as the name without it
    /// (SPEC refuses it as malformed, since a pattern is written without one).
    PatternTrailingDot,
    /// §3: a virtual host matcher without wildcards (a `Host` guard that compares names): a
    /// `*.` pattern that matches nothing is not judged. Matching a host that holds a `*` still
    /// is: no valid host holds one.
    NoWildcards,
    /// §3: a pattern's label may begin or end with `-` (`a-.example.com`), as a wire host's
    /// may (reg-name has no position rules; RFC 5280's preferred name syntax, which SPEC holds
    /// certificate and configuration names to, does). The pattern must then match as the
    /// model matches the same name with those hyphens written as another name byte.
    HyphenEdges,
}

impl Deviation {
    /// Every deviation.
    pub const ALL: [Deviation; 11] = [
        Deviation::PercentDecoding,
        Deviation::NumericNames,
        Deviation::SubDelims,
        Deviation::ZoneIds,
        Deviation::LongPorts,
        Deviation::HyphensAt34,
        Deviation::NoUnderscore,
        Deviation::WildcardOverOneLabel,
        Deviation::PatternTrailingDot,
        Deviation::NoWildcards,
        Deviation::HyphenEdges,
    ];

    /// Its name in reports (`percent-decoding`, ...).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Deviation::PercentDecoding => "percent-decoding",
            Deviation::NumericNames => "numeric-names",
            Deviation::SubDelims => "sub-delims",
            Deviation::ZoneIds => "zone-ids",
            Deviation::LongPorts => "long-ports",
            Deviation::HyphensAt34 => "hyphens-at-3-4",
            Deviation::NoUnderscore => "no-underscore",
            Deviation::WildcardOverOneLabel => "wildcard-over-one-label",
            Deviation::PatternTrailingDot => "pattern-trailing-dot",
            Deviation::NoWildcards => "no-wildcards",
            Deviation::HyphenEdges => "hyphen-edges",
        }
    }
}
