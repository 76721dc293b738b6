//! Live reconfiguration (feature `reload`): replace the server while connections run on it.
//!
//! A [`Reloadable`] holds the current [`Generation`]: a number and whatever the embedder
//! rebuilds together (the [`Server`](crate::Server), its certificate resolver, its TLS
//! acceptors). New connections take the current generation and keep it for their whole life,
//! as nginx's old workers finish their old connections: a connection's decisions stay those of
//! the configuration whose certificate it presented, and a [`Connection`](crate::Connection)
//! is never read by another build (SPEC §4).
//!
//! A reload builds the new generation first and swaps it in only when the build succeeded: a
//! configuration that does not parse or build leaves the running one serving
//! ([`Reloadable::try_reload`]). Once replaced, a generation is *retired*; connections on it
//! are asked to close ([`Reloadable::superseded`] resolves, and the embedder starts a graceful
//! shutdown: HTTP/2 and HTTP/3 GOAWAY, HTTP/1.1 `Connection: close` on the next response), and
//! past the drain grace the tower layer answers 421 to any request still arriving on them, so
//! no connection decides on a stale configuration for longer than the grace. The embedder
//! closes them at the grace plus its head timeout, whatever the client does, so that a retired
//! generation is freed in bounded time (`examples/server.rs` and `examples/common/h3.rs` do,
//! for TCP and QUIC): the grace should outlast the longest response.
//!
//! Every listener follows the current generation: the TCP `Acceptor` and the `QuicAcceptor`
//! belong to one build, so each new connection, TCP or QUIC, is given the acceptor of the
//! generation it takes (quinn: `Incoming::accept_with`).
//!
//! [`Changes`] says what a reload changed: virtual hosts and names added and removed,
//! certificates whose names changed, listeners, policies and knobs.

use core::fmt;
use core::ops::Deref;
use core::time::Duration;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::decision::server::Config;
use crate::names::pattern::San;

/// One configuration's lifetime: its number, what the embedder built for it, and when it was
/// replaced.
#[derive(Debug)]
pub struct Generation<G> {
    number: u64,
    retired: OnceLock<Instant>,
    value: G,
}

impl<G> Generation<G> {
    /// Its number: 1 for the first, one more for each reload.
    #[must_use]
    pub fn number(&self) -> u64 {
        self.number
    }

    /// What the embedder built for it.
    #[must_use]
    pub fn value(&self) -> &G {
        &self.value
    }

    /// How long ago a newer generation replaced it; `None` while it is current.
    #[must_use]
    pub fn retired_for(&self) -> Option<Duration> {
        self.retired.get().map(Instant::elapsed)
    }
}

impl<G> Deref for Generation<G> {
    type Target = G;

    fn deref(&self) -> &G {
        &self.value
    }
}

/// What the tower layer needs to know of a connection's generation: whether, and for how long,
/// it has been retired.
pub trait Retirement: Send + Sync {
    /// How long ago the generation was replaced; `None` while it is current.
    fn retired_for(&self) -> Option<Duration>;
}

impl<G: Send + Sync> Retirement for Generation<G> {
    fn retired_for(&self) -> Option<Duration> {
        Generation::retired_for(self)
    }
}

/// The current generation, replaceable while connections run on older ones.
///
/// ```
/// use misdirect::{Config, Reloadable, Server};
/// let reloadable = Reloadable::new(Server::build(Config::<()>::default()).unwrap());
/// let first = reloadable.current();
/// // A reload whose build fails changes nothing.
/// let failed = reloadable.try_reload(|_| Err("typo on line 3"));
/// assert_eq!(failed.unwrap_err(), "typo on line 3");
/// assert_eq!(reloadable.current().number(), 1);
/// // One that builds becomes current; the old generation is retired, not dropped.
/// let second = reloadable.try_reload(|_| Server::build(Config::default())).unwrap();
/// assert_eq!(second.number(), 2);
/// assert!(first.retired_for().is_some() && second.retired_for().is_none());
/// ```
pub struct Reloadable<G> {
    current: ArcSwap<Generation<G>>,
    /// The current number, for waiters.
    numbers: watch::Sender<u64>,
    /// Reloads are serialized, so numbers grow with the swaps.
    reloading: Mutex<()>,
}

impl<G: fmt::Debug> fmt::Debug for Reloadable<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reloadable")
            .field("current", &self.current.load())
            .finish_non_exhaustive()
    }
}

impl<G> Reloadable<G> {
    /// Generation 1.
    pub fn new(value: G) -> Self {
        Reloadable {
            current: ArcSwap::from_pointee(Generation {
                number: 1,
                retired: OnceLock::new(),
                value,
            }),
            numbers: watch::Sender::new(1),
            reloading: Mutex::new(()),
        }
    }

    /// The current generation: what a new connection binds to and keeps.
    #[must_use]
    pub fn current(&self) -> Arc<Generation<G>> {
        self.current.load_full()
    }

    /// Builds the next generation from the current one and makes it current; on an error the
    /// current generation stays, untouched, and the error is returned.
    ///
    /// # Errors
    /// Whatever `build` returns.
    pub fn try_reload<E>(
        &self,
        build: impl FnOnce(&G) -> Result<G, E>,
    ) -> Result<Arc<Generation<G>>, E> {
        let _one_at_a_time = self
            .reloading
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let old = self.current.load_full();
        let value = build(&old.value)?;
        let new = Arc::new(Generation {
            number: old.number + 1,
            retired: OnceLock::new(),
            value,
        });
        self.current.store(Arc::clone(&new));
        // Retired after the swap: a connection that still loaded the old one is told at once.
        let _ = old.retired.set(Instant::now());
        self.numbers.send_replace(new.number);
        Ok(new)
    }

    /// Makes `value` the current generation.
    pub fn replace(&self, value: G) -> Arc<Generation<G>> {
        match self.try_reload(|_| Ok::<G, core::convert::Infallible>(value)) {
            Ok(generation) => generation,
            Err(never) => match never {},
        }
    }

    /// Resolves once a generation newer than `number` is current: the moment a connection of
    /// generation `number` should start to drain.
    pub async fn superseded(&self, number: u64) {
        let mut numbers = self.numbers.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail.
        let _ = numbers.wait_for(|&current| current > number).await;
    }
}

/// What changed between two configurations, by name (list order carries no meaning). Its
/// `Display` is one line per change, `+` added, `-` removed, `~` changed; empty when nothing did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// One line per change.
    pub lines: Vec<String>,
}

impl Changes {
    /// The changes from `old` to `new`.
    #[must_use]
    pub fn between<T>(old: &Config<T>, new: &Config<T>) -> Changes {
        let mut lines = Vec::new();
        let names = |list: &[String]| list.iter().cloned().collect::<BTreeSet<_>>();
        diff_named(
            &mut lines,
            "virtual host",
            old.vhosts.iter().map(|v| (&v.name, v)),
            new.vhosts.iter().map(|v| (&v.name, v)),
            |a, b| {
                let mut parts = Vec::new();
                // The same list is the same set: most virtual hosts of a reload are unchanged.
                if a.names != b.names {
                    set_change(&mut parts, "name", &names(&a.names), &names(&b.names));
                }
                if a.policy != b.policy {
                    parts.push(format!("policy {} -> {}", a.policy, b.policy));
                }
                for (what, x, y) in [
                    ("https ports", &a.https_ports, &b.https_ports),
                    ("http ports", &a.http_ports, &b.http_ports),
                ] {
                    if x == y {
                        continue;
                    }
                    let (x, y): (BTreeSet<_>, BTreeSet<_>) =
                        (x.iter().collect(), y.iter().collect());
                    if x != y {
                        parts.push(format!("{what} {x:?} -> {y:?}"));
                    }
                }
                parts
            },
            |v| format!(" ({})", v.names.join(", ")),
        );
        diff_named(
            &mut lines,
            "certificate",
            old.certificates.iter().map(|c| (&c.id, c)),
            new.certificates.iter().map(|c| (&c.id, c)),
            |a, b| {
                let sans = |c: &[San]| c.iter().map(ToString::to_string).collect();
                let mut parts = Vec::new();
                if a.sans != b.sans {
                    set_change(&mut parts, "SAN", &sans(&a.sans), &sans(&b.sans));
                }
                parts
            },
            |c| {
                let sans: Vec<String> = c.sans.iter().map(ToString::to_string).collect();
                format!(" ({})", sans.join(", "))
            },
        );
        diff_named(
            &mut lines,
            "listener",
            old.listeners.iter().map(|l| (&l.name, l)),
            new.listeners.iter().map(|l| (&l.name, l)),
            |a, b| {
                let mut parts = Vec::new();
                for (what, x, y) in [
                    ("tls", a.tls.to_string(), b.tls.to_string()),
                    ("port", a.port.to_string(), b.port.to_string()),
                    (
                        "origin ports",
                        format!("{:?}", a.effective_origin_ports()),
                        format!("{:?}", b.effective_origin_ports()),
                    ),
                    (
                        "default virtual host",
                        format!("{:?}", a.default_vhost),
                        format!("{:?}", b.default_vhost),
                    ),
                    (
                        "default TLS virtual host",
                        format!("{:?}", a.default_tls_vhost),
                        format!("{:?}", b.default_tls_vhost),
                    ),
                    (
                        "fallback",
                        format!("{:?}", a.fallback),
                        format!("{:?}", b.fallback),
                    ),
                ] {
                    if x != y {
                        parts.push(format!("{what} {x} -> {y}"));
                    }
                }
                parts
            },
            |l| {
                format!(
                    " ({} port {})",
                    if l.tls { "TLS" } else { "cleartext" },
                    l.port
                )
            },
        );
        let mut policies = Vec::new();
        set_change(
            &mut policies,
            "policy",
            &names(&old.policies),
            &names(&new.policies),
        );
        lines.extend(policies);
        let (a, b) = (&old.knobs, &new.knobs);
        for (what, x, y) in [
            ("sni", format!("{:?}", a.sni), format!("{:?}", b.sni)),
            (
                "unknown_host",
                format!("{:?}", a.unknown_host),
                format!("{:?}", b.unknown_host),
            ),
            (
                "strict_host_consistency",
                a.strict_host_consistency.to_string(),
                b.strict_host_consistency.to_string(),
            ),
            (
                "opportunistic_http",
                a.opportunistic_http.to_string(),
                b.opportunistic_http.to_string(),
            ),
            (
                "http10_default_vhost",
                a.http10_default_vhost.to_string(),
                b.http10_default_vhost.to_string(),
            ),
            (
                "wire_unicode",
                format!("{:?}", a.wire_unicode),
                format!("{:?}", b.wire_unicode),
            ),
        ] {
            if x != y {
                lines.push(format!("~ knob {what}: {x} -> {y}"));
            }
        }
        Changes { lines }
    }

    /// Whether nothing changed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

impl fmt::Display for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lines.is_empty() {
            return f.write_str("no changes");
        }
        f.write_str(&self.lines.join("\n"))
    }
}

/// `+ name`/`- name` lines for a set's difference, as parts of one entry's line.
fn set_change(parts: &mut Vec<String>, what: &str, old: &BTreeSet<String>, new: &BTreeSet<String>) {
    parts.extend(new.difference(old).map(|n| format!("+ {what} {n}")));
    parts.extend(old.difference(new).map(|n| format!("- {what} {n}")));
}

/// Entries added, removed and changed, matched by name.
fn diff_named<'a, E: 'a>(
    lines: &mut Vec<String>,
    what: &str,
    old: impl Iterator<Item = (&'a String, &'a E)>,
    new: impl Iterator<Item = (&'a String, &'a E)>,
    compare: impl Fn(&E, &E) -> Vec<String>,
    describe: impl Fn(&E) -> String,
) {
    // By name, the first of each (a name repeated is the build's error, not a change), both
    // lists sorted (stably, so the first of a name is the one kept) and walked together in
    // name order: a search of the lists per name made this quadratic (9 ms for 1,000 virtual
    // hosts), and ordered maps of both were most of it at 100,000.
    let by_name = |list: &mut dyn Iterator<Item = (&'a String, &'a E)>| {
        let mut sorted: Vec<(&'a String, &'a E)> = list.collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        sorted.dedup_by(|later, kept| later.0 == kept.0);
        sorted
    };
    let (mut old, mut new) = (old, new);
    let old = by_name(&mut old);
    let new = by_name(&mut new);
    let (mut before, mut after) = (old.iter().peekable(), new.iter().peekable());
    loop {
        let (name, before, after) = match (before.peek(), after.peek()) {
            (None, None) => break,
            (Some(&&(name, e)), None) => {
                before.next();
                (name, Some(e), None)
            }
            (None, Some(&&(name, e))) => {
                after.next();
                (name, None, Some(e))
            }
            (Some(&&(a_name, a)), Some(&&(b_name, b))) => match a_name.cmp(b_name) {
                core::cmp::Ordering::Less => {
                    before.next();
                    (a_name, Some(a), None)
                }
                core::cmp::Ordering::Greater => {
                    after.next();
                    (b_name, None, Some(b))
                }
                core::cmp::Ordering::Equal => {
                    before.next();
                    after.next();
                    (a_name, Some(a), Some(b))
                }
            },
        };
        match (before, after) {
            (None, Some(e)) => lines.push(format!("+ {what} {name:?}{}", describe(e))),
            (Some(e), None) => lines.push(format!("- {what} {name:?}{}", describe(e))),
            (Some(a), Some(b)) => {
                let parts = compare(a, b);
                if !parts.is_empty() {
                    lines.push(format!("~ {what} {name:?}: {}", parts.join("; ")));
                }
            }
            (None, None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::diff_named;
    use std::collections::{BTreeMap, BTreeSet};

    /// [`diff_named`] as it was: ordered maps of both lists, looked up per name.
    fn by_maps(old: &[(String, u8)], new: &[(String, u8)]) -> Vec<String> {
        let map = |list: &[(String, u8)]| {
            let mut map = BTreeMap::new();
            for (name, e) in list {
                map.entry(name.clone()).or_insert(*e);
            }
            map
        };
        let (old, new) = (map(old), map(new));
        let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        let mut lines = Vec::new();
        for name in names {
            match (old.get(name), new.get(name)) {
                (None, Some(e)) => lines.push(format!("+ entry {name:?} ({e})")),
                (Some(e), None) => lines.push(format!("- entry {name:?} ({e})")),
                (Some(a), Some(b)) if a != b => lines.push(format!("~ entry {name:?}: {a} -> {b}")),
                _ => {}
            }
        }
        lines
    }

    /// The sorted walk says what the maps said, line for line and in the same order, on lists
    /// in any order with names repeated (the first of a name counts), added, removed and
    /// changed, and names that sort as prefixes of others.
    #[test]
    fn the_sorted_walk_finds_what_the_ordered_maps_found() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |below: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % below
        };
        for case in 0..500 {
            let len = |n: &mut dyn FnMut(u64) -> u64| n(40) as usize;
            let list = |n: &mut dyn FnMut(u64) -> u64| -> Vec<(String, u8)> {
                let count = len(n);
                (0..count)
                    .map(|_| {
                        let name = match n(3) {
                            0 => format!("v{}", n(30)),
                            1 => format!("v{}x", n(30)),
                            _ => "v".repeat(1 + n(3) as usize),
                        };
                        (name, n(3) as u8)
                    })
                    .collect()
            };
            let old = list(&mut next);
            let new = list(&mut next);
            let mut lines = Vec::new();
            diff_named(
                &mut lines,
                "entry",
                old.iter().map(|(n, e)| (n, e)),
                new.iter().map(|(n, e)| (n, e)),
                |a, b| {
                    if a == b {
                        Vec::new()
                    } else {
                        vec![format!("{a} -> {b}")]
                    }
                },
                |e| format!(" ({e})"),
            );
            assert_eq!(
                lines,
                by_maps(&old, &new),
                "case {case}: {old:?} -> {new:?}"
            );
        }
    }
}
