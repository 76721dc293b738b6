//! What a check returns: a [`Report`] when every case agreed, else the first [`Divergence`],
//! shrunk, with its [`Class`].

use core::fmt;

use crate::case::Case;

/// A user's decision for a [`Case`]: the status it answers, and the virtual host's name when
/// it serves.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Answer {
    /// The status code: any 2xx or 3xx is served, 421, 400 and 404 are refusals.
    pub status: u16,
    /// The virtual host served (its `name` in the case's configuration); `None` when refused.
    pub vhost: Option<String>,
}

impl Answer {
    /// Served by the virtual host `name`, with 200.
    #[must_use]
    pub fn serve(name: &str) -> Answer {
        Answer {
            status: 200,
            vhost: Some(name.to_string()),
        }
    }

    /// Refused with `status`.
    #[must_use]
    pub fn refuse(status: u16) -> Answer {
        Answer {
            status,
            vhost: None,
        }
    }

    /// Whether it serves (a 2xx or 3xx status).
    #[must_use]
    pub fn serves(&self) -> bool {
        (200..400).contains(&self.status)
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.vhost, self.serves()) {
            (Some(vhost), true) => write!(f, "{} served by virtual host {vhost:?}", self.status),
            (None, true) => write!(f, "{} served by no virtual host named", self.status),
            (_, false) => write!(f, "{}", self.status),
        }
    }
}

/// What kind of wrong a divergence is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// The user's code serves (accepts, matches) what must be refused: a security bug
    /// (domain fronting, an mTLS bypass, a parser differential an attacker picks a side of).
    Serves,
    /// The user's code refuses what may be served: an availability bug (the 421 storms users
    /// report when a legitimately coalesced request is refused).
    Refuses,
    /// Both accept or both refuse, but differently: another canonical host or port, another
    /// virtual host, another refusal status. Returned before `Refuses`: another host or virtual
    /// host can be as grave as a `Serves` (a host confusion).
    Differs,
}

impl Class {
    /// A short name: `serves`, `refuses`, `differs`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Class::Serves => "serves",
            Class::Refuses => "refuses",
            Class::Differs => "differs",
        }
    }

    /// What it means for the user, in a few words.
    #[must_use]
    pub fn meaning(self) -> &'static str {
        match self {
            Class::Serves => "serves what must be refused (security)",
            Class::Refuses => "refuses what may be served (availability)",
            Class::Differs => "parses or routes differently",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The first disagreement a check found between the user's code and the model, shrunk to a
/// minimal input of the same [`Class`].
#[derive(Clone, Debug)]
pub struct Divergence {
    pub(crate) class: Class,
    pub(crate) check: &'static str,
    pub(crate) input: String,
    pub(crate) model: String,
    pub(crate) user: String,
    pub(crate) found_after: u32,
    pub(crate) case: Option<Box<Case>>,
    pub(crate) also: Box<[(Class, u32)]>,
}

impl Divergence {
    /// Security, availability, or a difference.
    #[must_use]
    pub fn class(&self) -> Class {
        self.class
    }

    /// The input, escaped (`check_decider`: the case's TOML and request, as [`Case`]'s
    /// `Display` prints them).
    #[must_use]
    pub fn input(&self) -> &str {
        &self.input
    }

    /// The model's answer, with its rule and reason.
    #[must_use]
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The user's answer.
    #[must_use]
    pub fn user(&self) -> &str {
        &self.user
    }

    /// How many cases ran until the first divergence (before shrinking), this one included.
    #[must_use]
    pub fn found_after(&self) -> u32 {
        self.found_after
    }

    /// The case, for `check_decider`.
    #[must_use]
    pub fn case(&self) -> Option<&Case> {
        self.case.as_deref()
    }

    /// The other classes of divergence the run met, each with the case it was first met at:
    /// [`Options::only`](crate::Options::only) shows one of them.
    #[must_use]
    pub fn also(&self) -> &[(Class, u32)] {
        &self.also
    }
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: the code under test {} (case {} of the run, shrunk)",
            self.check,
            self.class.meaning(),
            self.found_after
        )?;
        if self.input.contains('\n') {
            writeln!(f, "input:\n{}", self.input.trim_end())?;
        } else {
            writeln!(f, "input: {}", self.input)?;
        }
        writeln!(f, "model: {}", self.model)?;
        write!(f, "yours: {}", self.user)?;
        for (class, case) in &self.also {
            write!(
                f,
                "\nalso met: the code under test {} at case {case} (Options::only(Class::{class:?}) shows it)",
                class.meaning()
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Divergence {}

/// What a check that returned no divergence ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Cases run.
    pub cases: u32,
    /// Cases that diverged in a class the check did not look for
    /// ([`Options::only`](crate::Options::only)); 0 without it.
    pub diverged: u32,
    /// Cases the model refused (so that a pass is seen to cover both sides).
    pub model_refused: u32,
    /// Cases where the user's code and the model disagreed in a way an accepted
    /// [`Deviation`](crate::Deviation) explains.
    pub excused: u32,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let agreed = self.cases - self.excused - self.diverged;
        write!(
            f,
            "{} cases: {agreed} agree with the model ({} of them refused), {} excused by accepted deviations",
            self.cases, self.model_refused, self.excused
        )?;
        if self.diverged > 0 {
            write!(f, ", {} diverge in classes not looked for", self.diverged)?;
        }
        Ok(())
    }
}
