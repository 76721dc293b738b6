//! `NameIndex<V>`: many name patterns compiled into hash tables, answering "which value covers
//! this host" with at most two hash probes and no allocation.

use core::fmt;
use core::hash::{BuildHasher, Hasher};
use std::net::IpAddr;

use hashbrown::HashTable;

use crate::names::pattern::NamePattern;
use crate::parse::authority::HostView;
use crate::parse::host::{DnsName, Host, parent_of};

/// How a host was matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchKind {
    /// An exact DNS name.
    Exact,
    /// A `*.parent` wildcard.
    Wildcard,
    /// An IP address.
    Ip,
}

/// One pattern that covers a host: its value, how it matched, and its position in the list
/// the index was built from.
#[derive(Debug, PartialEq, Eq)]
pub struct Hit<'a, V> {
    /// The value the pattern carries.
    pub value: &'a V,
    /// Exact, wildcard or IP.
    pub kind: MatchKind,
    /// The pattern's position (0-based) in the build list.
    pub position: usize,
}

impl<V> Clone for Hit<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<V> Copy for Hit<'_, V> {}

/// Every pattern of an index that covers a host: at most one exact (or IP) and at most one
/// wildcard, since duplicates are build errors.
#[derive(Debug, PartialEq, Eq)]
pub struct Lookup<'a, V> {
    /// The exact name or IP pattern equal to the host.
    pub exact: Option<Hit<'a, V>>,
    /// The wildcard whose parent is the host's parent.
    pub wildcard: Option<Hit<'a, V>>,
}

impl<'a, V> Lookup<'a, V> {
    /// The winner: an exact name wins over a wildcard (SPEC §5 rule 5).
    #[must_use]
    pub fn best(&self) -> Option<Hit<'a, V>> {
        self.exact.or(self.wildcard)
    }
}

/// Where a key's bytes sit in the arena.
#[derive(Clone, Copy)]
struct Span {
    start: u32,
    len: u8,
    kind: MatchKind,
    /// Whether the key holds an A-label (`xn--`): a host over such a parent needs the IDNA
    /// check of the whole name, which the decision's fast path does not make.
    alabel: bool,
}

/// Patterns compiled for lookup, each carrying a value of the embedder's type.
///
/// Exact names, wildcard parents and IP octets are kept in one byte arena and found through
/// three hash tables keyed by those bytes. A DNS lookup probes the exact table with the host and,
/// on a miss, the wildcard table with the host's parent: at most two probes, whatever the
/// number of patterns. Lookups never allocate. The hash is keyed by a seed chosen per process,
/// so request hosts cannot be crafted to collide.
///
/// ```
/// use misdirect::{Host, NameIndex, NamePattern};
/// let index = NameIndex::build([
///     (NamePattern::parse("*.example.com").unwrap(), "wildcard"),
///     (NamePattern::parse("api.example.com").unwrap(), "api"),
/// ]).unwrap();
/// let host = |s: &str| Host::parse(s.as_bytes()).unwrap();
/// assert_eq!(index.lookup(&host("api.example.com")).map(|h| *h.value), Some("api"));
/// assert_eq!(index.lookup(&host("www.example.com")).map(|h| *h.value), Some("wildcard"));
/// assert!(index.lookup(&host("example.com")).is_none());
/// ```
pub struct NameIndex<V> {
    arena: Vec<u8>,
    spans: Vec<Span>,
    values: Vec<V>,
    exact: HashTable<u32>,
    wildcard: HashTable<u32>,
    ip: HashTable<u32>,
    hasher: NameHasher,
}

impl<V> NameIndex<V> {
    /// Compiles patterns with their values. Build time is linear in the number of patterns.
    ///
    /// # Errors
    /// [`IndexError::Duplicate`] when two patterns are the same name after canonicalization
    /// (`Example.com` and `example.com`, or a U-label and its A-label), naming both positions.
    /// [`IndexError::TooLarge`] past 4 GiB of names or 2^32 patterns.
    pub fn build<I>(patterns: I) -> Result<Self, IndexError>
    where
        I: IntoIterator<Item = (NamePattern, V)>,
    {
        let patterns = patterns.into_iter();
        let mut index = NameIndex::with_capacity(patterns.size_hint().0);
        for (position, (pattern, value)) in patterns.enumerate() {
            index.insert(position, &pattern, value, |_, _| Err(()))?;
        }
        index.finish();
        Ok(index)
    }

    /// An empty index with room for `hint` patterns, filled with [`NameIndex::insert`] and
    /// closed with [`NameIndex::finish`]: for a build that must not copy its patterns.
    pub(crate) fn with_capacity(hint: usize) -> NameIndex<V> {
        NameIndex {
            arena: Vec::with_capacity(hint.saturating_mul(16)),
            spans: Vec::with_capacity(hint),
            values: Vec::with_capacity(hint),
            exact: HashTable::with_capacity(hint),
            wildcard: HashTable::new(),
            ip: HashTable::new(),
            hasher: NameHasher::new(),
        }
    }

    /// Built once, read for the server's life: gives back what growth over-allocated.
    pub(crate) fn finish(&mut self) {
        self.arena.shrink_to_fit();
        self.spans.shrink_to_fit();
        self.values.shrink_to_fit();
        let (arena, spans, hasher) = (&self.arena, &self.spans, self.hasher);
        let rehash = |&i: &u32| hasher.hash(span_bytes(arena, spans[i as usize]));
        self.exact.shrink_to_fit(rehash);
        self.wildcard.shrink_to_fit(rehash);
        self.ip.shrink_to_fit(rehash);
    }

    /// Adds a pattern, `position` being its place in the caller's list (for an error). When the
    /// index already holds the same pattern, `merge` gets the stored value and this one: `Ok`
    /// keeps the stored entry (the value merged into it as the caller likes), `Err` makes it
    /// [`IndexError::Duplicate`].
    pub(crate) fn insert(
        &mut self,
        position: usize,
        pattern: &NamePattern,
        value: V,
        merge: impl FnOnce(&mut V, V) -> Result<(), ()>,
    ) -> Result<(), IndexError> {
        let octets;
        let (key, kind): (&[u8], MatchKind) = match pattern {
            NamePattern::Exact(name) => (name.as_bytes(), MatchKind::Exact),
            NamePattern::Wildcard(parent) => (parent.as_bytes(), MatchKind::Wildcard),
            NamePattern::Ip(addr) => {
                octets = ip_octets(*addr);
                (octets.as_slice(), MatchKind::Ip)
            }
        };
        let id = u32::try_from(self.spans.len()).map_err(|_| IndexError::TooLarge)?;
        let start = u32::try_from(self.arena.len()).map_err(|_| IndexError::TooLarge)?;
        // Canonical names are at most 253 octets, IP keys 16.
        let len = u8::try_from(key.len()).map_err(|_| IndexError::TooLarge)?;
        let hash = self.hash(key);
        let (arena, spans) = (&self.arena, &self.spans);
        let table = match kind {
            MatchKind::Exact => &mut self.exact,
            MatchKind::Wildcard => &mut self.wildcard,
            MatchKind::Ip => &mut self.ip,
        };
        if let Some(&first) = table.find(hash, |&i| span_bytes(arena, spans[i as usize]) == key) {
            return merge(&mut self.values[first as usize], value).map_err(|()| {
                IndexError::Duplicate {
                    first: first as usize,
                    second: position,
                    pattern: pattern.to_string(),
                }
            });
        }
        let hasher = self.hasher;
        table.insert_unique(hash, id, |&i| {
            hasher.hash(span_bytes(arena, spans[i as usize]))
        });
        self.arena.extend_from_slice(key);
        let alabel =
            kind != MatchKind::Ip && key.split(|&b| b == b'.').any(|l| l.starts_with(b"xn--"));
        self.spans.push(Span {
            start,
            len,
            kind,
            alabel,
        });
        self.values.push(value);
        Ok(())
    }

    /// The best pattern covering `host`: the exact name (or IP) if any, else the wildcard.
    /// At most two hash probes; no allocation.
    #[must_use]
    pub fn lookup(&self, host: &Host) -> Option<Hit<'_, V>> {
        match host {
            Host::Dns(name) => self.lookup_name(name),
            Host::Ipv4(addr) => self.probe_ip(&addr.octets()),
            Host::Ipv6(addr) => self.probe_ip(&addr.octets()),
        }
    }

    /// [`NameIndex::lookup`] for a DNS name, without wrapping it in a [`Host`].
    #[must_use]
    pub fn lookup_name(&self, name: &DnsName) -> Option<Hit<'_, V>> {
        self.lookup_bytes(name.as_bytes())
    }

    /// The hot path's lookup: a canonical name as bytes (borrowed from the request when it was
    /// already canonical), or an address.
    #[inline]
    pub(crate) fn lookup_view(&self, host: &HostView<'_>) -> Option<Hit<'_, V>> {
        match host {
            HostView::Name(name) => self.lookup_bytes(name),
            HostView::Ipv4(addr) => self.probe_ip(&addr.octets()),
            HostView::Ipv6(addr) => self.probe_ip(&addr.octets()),
        }
    }

    /// The exact pattern these bytes are up to ASCII case, if any: one probe (the decision's
    /// fast path). The bytes need not be canonical or valid: a hit means they are a configured
    /// name, perhaps written with capitals, whose canonical form is [`NameIndex::key`].
    #[inline(always)]
    pub(crate) fn lookup_exact(&self, name: &[u8]) -> Option<Hit<'_, V>> {
        self.probe_any_case(&self.exact, name)
    }

    /// The canonical bytes of the pattern at `position` when they hold no A-label.
    #[inline(always)]
    pub(crate) fn key_without_alabel(&self, position: usize) -> Option<&[u8]> {
        let span = *self.spans.get(position)?;
        (!span.alabel).then(|| span_bytes(&self.arena, span))
    }

    /// The wildcard pattern whose parent these bytes are up to ASCII case, if any: one probe
    /// (the decision's fast path, with the parent as sent).
    #[inline(always)]
    pub(crate) fn lookup_parent(&self, parent: &[u8]) -> Option<Hit<'_, V>> {
        self.probe_any_case(&self.wildcard, parent)
    }

    /// Whether the index holds any wildcard.
    #[inline(always)]
    pub(crate) fn has_wildcards(&self) -> bool {
        !self.wildcard.is_empty()
    }

    /// The canonical bytes of the pattern at `position` (a name, or a wildcard's parent).
    #[inline(always)]
    pub(crate) fn key(&self, position: usize) -> Option<&[u8]> {
        self.spans
            .get(position)
            .map(|&span| span_bytes(&self.arena, span))
    }

    /// The wildcard pattern over a name's parent; an address has none.
    #[inline]
    pub(crate) fn lookup_wildcard(&self, host: &HostView<'_>) -> Option<Hit<'_, V>> {
        let HostView::Name(name) = host else {
            return None;
        };
        self.probe(&self.wildcard, parent_of(name)?)
    }

    /// The hit for the pattern at `position`, as a lookup that found it would return it.
    pub(crate) fn hit_at(&self, position: usize) -> Option<Hit<'_, V>> {
        Some(Hit {
            value: self.values.get(position)?,
            kind: self.spans.get(position)?.kind,
            position,
        })
    }

    /// A canonical name's exact pattern, else the wildcard over its parent.
    pub(crate) fn lookup_bytes(&self, name: &[u8]) -> Option<Hit<'_, V>> {
        self.probe(&self.exact, name)
            .or_else(|| self.probe(&self.wildcard, parent_of(name)?))
    }

    /// Every pattern covering `host`: the exact one and the wildcard one. Two probes at most.
    #[must_use]
    pub fn lookup_all(&self, host: &Host) -> Lookup<'_, V> {
        match host {
            Host::Dns(name) => Lookup {
                exact: self.probe(&self.exact, name.as_bytes()),
                wildcard: name
                    .parent_bytes()
                    .and_then(|parent| self.probe(&self.wildcard, parent)),
            },
            Host::Ipv4(_) | Host::Ipv6(_) => Lookup {
                exact: self.lookup(host),
                wildcard: None,
            },
        }
    }

    /// Every pattern covering every host `pattern` matches, found from the pattern's own
    /// canonical bytes (no parse): for an exact name, the same name and the wildcard over its
    /// parent; for a wildcard, the same wildcard; for an address, the same address.
    pub(crate) fn lookup_pattern(&self, pattern: &NamePattern) -> Lookup<'_, V> {
        match pattern {
            NamePattern::Exact(name) => Lookup {
                exact: self.probe(&self.exact, name.as_bytes()),
                wildcard: parent_of(name.as_bytes())
                    .and_then(|parent| self.probe(&self.wildcard, parent)),
            },
            NamePattern::Wildcard(parent) => Lookup {
                exact: None,
                wildcard: self.probe(&self.wildcard, parent.as_bytes()),
            },
            NamePattern::Ip(addr) => Lookup {
                exact: self.probe_ip(ip_octets(*addr).as_slice()),
                wildcard: None,
            },
        }
    }

    /// Whether any pattern covers `host`.
    #[must_use]
    pub fn covers(&self, host: &Host) -> bool {
        self.lookup(host).is_some()
    }

    /// The number of patterns.
    #[must_use]
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the index holds no pattern.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The value of the pattern at `position` in the build list.
    #[must_use]
    pub fn value(&self, position: usize) -> Option<&V> {
        self.values.get(position)
    }

    /// The exact names (not wildcards, not IPs) with their positions, in build order.
    pub fn exact_names(&self) -> impl Iterator<Item = (usize, &str)> + '_ {
        self.spans.iter().enumerate().filter_map(|(i, span)| {
            (span.kind == MatchKind::Exact)
                .then(|| core::str::from_utf8(span_bytes(&self.arena, *span)).ok())
                .flatten()
                .map(|name| (i, name))
        })
    }

    /// One probe of a name table with a canonical key, byte for byte. The hash folds ASCII
    /// case, so [`NameIndex::probe_any_case`] finds the same entry for the key in capitals.
    #[inline(always)]
    fn probe(&self, table: &HashTable<u32>, key: &[u8]) -> Option<Hit<'_, V>> {
        self.probe_with(table, key, same_bytes)
    }

    /// One probe of a name table with bytes as a request sent them: equal to the stored
    /// (canonical, lowercase) key up to ASCII case.
    #[inline(always)]
    fn probe_any_case(&self, table: &HashTable<u32>, key: &[u8]) -> Option<Hit<'_, V>> {
        // Byte for byte first: what clients send is lowercase, and that test is cheaper.
        self.probe_with(table, key, |stored, key| {
            same_bytes(stored, key) || same_name(stored, key)
        })
    }

    /// One probe of the IP table: octets, byte for byte.
    #[inline(always)]
    fn probe_ip(&self, key: &[u8]) -> Option<Hit<'_, V>> {
        self.probe_with(&self.ip, key, same_bytes)
    }

    #[inline(always)]
    fn probe_with(
        &self,
        table: &HashTable<u32>,
        key: &[u8],
        same: impl Fn(&[u8], &[u8]) -> bool,
    ) -> Option<Hit<'_, V>> {
        if table.is_empty() {
            return None;
        }
        let hash = self.hash(key);
        let &id = table.find(hash, |&i| {
            same(span_bytes(&self.arena, self.spans[i as usize]), key)
        })?;
        let position = id as usize;
        Some(Hit {
            value: &self.values[position],
            kind: self.spans[position].kind,
            position,
        })
    }

    #[inline(always)]
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash(key)
    }
}

impl<V: fmt::Debug> fmt::Debug for NameIndex<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NameIndex")
            .field("patterns", &self.spans.len())
            .field("exact", &self.exact.len())
            .field("wildcard", &self.wildcard.len())
            .field("ip", &self.ip.len())
            .finish_non_exhaustive()
    }
}

/// Byte equality without a call into libc's `memcmp`: names are short, and the words below
/// are compared in registers. The last word may overlap the one before it.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() < 8 {
        return a == b;
    }
    let last = a.len() - 8;
    let mut at = 0;
    while at < last {
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    word(a, last) == word(b, last)
}

#[inline]
fn span_bytes(arena: &[u8], span: Span) -> &[u8] {
    let start = span.start as usize;
    &arena[start..start + usize::from(span.len)]
}

/// The index's hash: keyed per index by seeds drawn from foldhash's per-process random state
/// (so request hosts cannot be crafted to collide), and blind to ASCII case, so that a name
/// with capitals hashes as its canonical form and is found in one probe.
///
/// The construction is foldhash's (a folded 64x64->128-bit multiply per 16 bytes, the first
/// and last eight read as words that may overlap, seeded, the length mixed in through a
/// rotation of the seed). Case is folded by setting bit 0x20 of every byte: that maps each
/// capital to its lowercase letter and leaves every other byte a canonical name holds
/// (lowercase letters, digits, `-`, `.`) unchanged, and `_` (0x5f) goes to 0x7f, which no name
/// holds; so on canonical names the folding loses nothing. Other bytes may share a hash with a
/// name and then fail the comparison: a hash only chooses where to compare.
#[derive(Clone, Copy)]
struct NameHasher {
    seed: u64,
    expand: u64,
    fold: u64,
}

/// Bit 0x20 of every byte.
const CASE: u64 = 0x2020_2020_2020_2020;

impl NameHasher {
    fn new() -> NameHasher {
        let state = foldhash::fast::RandomState::default();
        let draw = |i: u64| {
            let mut hasher = state.build_hasher();
            hasher.write_u64(i);
            hasher.finish()
        };
        NameHasher {
            seed: draw(1),
            expand: draw(2),
            fold: draw(3),
        }
    }

    #[inline(always)]
    fn hash(&self, key: &[u8]) -> u64 {
        let len = key.len();
        #[allow(clippy::cast_possible_truncation)] // a rotation: only the low bits count
        let mut s0 = self.seed.rotate_right(len as u32);
        let mut s1 = self.expand;
        if len <= 16 {
            if len >= 8 {
                s0 ^= word(key, 0) | CASE;
                s1 ^= word(key, len - 8) | CASE;
            } else {
                let mut w = [0u8; 8];
                w[..len].copy_from_slice(key);
                s0 ^= u64::from_le_bytes(w) | CASE;
            }
            return folded_multiply(s0, s1);
        }
        // 16 bytes from each end per step, the two halves meeting (and overlapping) in the
        // middle on the last one.
        let (mut front, mut back) = (0, len);
        loop {
            let (a, b) = (word(key, front), word(key, front + 8));
            let (c, d) = (word(key, back - 16), word(key, back - 8));
            s0 = folded_multiply((a | CASE) ^ s0, (c | CASE) ^ self.fold);
            s1 = folded_multiply((b | CASE) ^ s1, (d | CASE) ^ self.fold);
            front += 16;
            back -= 16;
            if front >= back {
                break;
            }
        }
        s0 ^ s1
    }
}

/// The eight bytes of `s` at `at`, little-endian.
#[inline(always)]
fn word(s: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The 128-bit product of `a` and `b`, its halves XORed.
#[inline(always)]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    #[allow(clippy::cast_possible_truncation)] // the halves, on purpose
    let (lo, hi) = (full as u64, (full >> 64) as u64);
    lo ^ hi
}

/// Whether `key` is the canonical name `stored` up to ASCII case: every byte equal, or the
/// capital of a lowercase letter of `stored`. Nothing else passes: not a byte that differs from
/// a digit, `-`, `.` or `_` only in bit 0x20 (`\r` is not `-`), not a non-ASCII byte.
///
/// Eight bytes at a time: `d = stored ^ key` may only have bit 0x20 set, and only where
/// `stored` holds a lowercase letter. With the top bit of each byte cleared (so no carry
/// crosses bytes), adding 0x1f sets it from `a` (0x61) up and adding 0x05 from `{` (0x7b) up;
/// bytes that had the top bit set are left out. So exactly `a`..`z` count as letters, whatever
/// `stored` holds (a hand-built pattern may hold DEL, 0x7f, which must not meet `_`, 0x5f).
#[inline]
pub(crate) fn same_name(stored: &[u8], key: &[u8]) -> bool {
    if stored.len() != key.len() {
        return false;
    }
    let close = |s: u64, k: u64| {
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let h = s & !HIGH;
        let lower = h.wrapping_add(0x1f1f_1f1f_1f1f_1f1f)
            & !h.wrapping_add(0x0505_0505_0505_0505)
            & !s
            & HIGH;
        (s ^ k) & !(lower >> 2) == 0
    };
    let len = stored.len();
    if len < 8 {
        return stored
            .iter()
            .zip(key)
            .all(|(&s, &k)| s == k || (s.is_ascii_lowercase() && k == s ^ 0x20));
    }
    let last = len - 8;
    let mut at = 0;
    while at < last {
        if !close(word(stored, at), word(key, at)) {
            return false;
        }
        at += 8;
    }
    close(word(stored, last), word(key, last))
}

/// IPv4 keys are 4 octets and IPv6 keys 16, so `::ffff:1.2.3.4` never meets `1.2.3.4`.
fn ip_octets(addr: IpAddr) -> IpKey {
    match addr {
        IpAddr::V4(v4) => IpKey::V4(v4.octets()),
        IpAddr::V6(v6) => IpKey::V6(v6.octets()),
    }
}

enum IpKey {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl IpKey {
    fn as_slice(&self) -> &[u8] {
        match self {
            IpKey::V4(octets) => octets,
            IpKey::V6(octets) => octets,
        }
    }
}

/// Why an index could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexError {
    /// Two patterns are the same name (or the same wildcard, or the same address).
    Duplicate {
        /// Position of the first in the build list.
        first: usize,
        /// Position of the second.
        second: usize,
        /// The name both stand for, in canonical form.
        pattern: String,
    },
    /// More than 2^32 patterns or 4 GiB of names.
    TooLarge,
}

impl fmt::Display for IndexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexError::Duplicate {
                first,
                second,
                pattern,
            } => write!(
                f,
                "patterns #{first} and #{second} are both {pattern:?} after canonicalization"
            ),
            IndexError::TooLarge => f.write_str("index over 2^32 patterns or 4 GiB of names"),
        }
    }
}

impl std::error::Error for IndexError {}

#[cfg(test)]
mod tests {
    use super::{NameHasher, same_bytes, same_name};

    #[test]
    fn the_hash_is_blind_to_ascii_case_and_sees_everything_else() {
        let hasher = NameHasher::new();
        for len in 0..=40 {
            let name: Vec<u8> = (0..len)
                .map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789-_."[i % 39])
                .collect();
            let upper = name.to_ascii_uppercase();
            assert_eq!(hasher.hash(&name), hasher.hash(&upper), "{len}");
            // Any other change of one byte to another name byte moves the hash (with
            // overwhelming probability: a collision here would be a broken hash).
            for at in 0..len {
                for b in b"abcdefghijklmnopqrstuvwxyz0123456789-_.".iter().copied() {
                    let mut other = name.clone();
                    other[at] = b;
                    if b != name[at] {
                        assert_ne!(hasher.hash(&name), hasher.hash(&other), "{len} {at} {b}");
                    }
                }
            }
            // The length counts: a zero byte more is another key.
            let mut longer = name.clone();
            longer.push(0);
            assert_ne!(hasher.hash(&name), hasher.hash(&longer), "{len}");
        }
    }

    /// The reference: byte by byte, equal or the capital of a lowercase letter.
    fn reference(stored: &[u8], key: &[u8]) -> bool {
        stored.len() == key.len()
            && stored
                .iter()
                .zip(key)
                .all(|(&s, &k)| s == k || (s.is_ascii_lowercase() && k == s.to_ascii_uppercase()))
    }

    #[test]
    fn same_name_is_exactly_ascii_case_insensitive() {
        let canonical: Vec<u8> = (b'a'..=b'z')
            .chain(b'0'..=b'9')
            .chain([b'-', b'.', b'_'])
            .collect();
        // Every stored byte (canonical or not: a hand-built pattern may hold any, and DEL must
        // not meet `_`, the second hostile review's finding) against every byte, at every
        // position of names of 1..=17 bytes (the short path, the word path, the overlapping
        // last word).
        for len in 1..=17 {
            for pos in 0..len {
                for s in 0..=255u8 {
                    let stored: Vec<u8> = (0..len)
                        .map(|i| {
                            if i == pos {
                                s
                            } else {
                                canonical[(i * 7) % canonical.len()]
                            }
                        })
                        .collect();
                    for k in 0..=255u8 {
                        let mut key = stored.clone();
                        key[pos] = k;
                        assert_eq!(
                            same_name(&stored, &key),
                            reference(&stored, &key),
                            "{stored:?} vs {key:?}"
                        );
                    }
                }
            }
        }
        assert!(same_name(b"api.example.com", b"API.Example.COM"));
        assert!(!same_name(b"a-b.example.com", b"a\rb.example.com"));
        assert!(!same_name(b"a.example.com", b"a.example.co"));
    }

    #[test]
    fn same_bytes_is_slice_equality() {
        let text = b"abcdefghijklmnopqrstuvwxyz0123456789";
        for i in 0..text.len() {
            for j in i..=text.len() {
                let a = &text[i..j];
                assert!(same_bytes(a, a));
                let mut b = a.to_vec();
                for k in 0..b.len() {
                    b[k] ^= 1;
                    assert!(!same_bytes(a, &b), "{a:?} vs {b:?}");
                    b[k] ^= 1;
                }
                if let Some((_, shorter)) = a.split_last() {
                    assert!(!same_bytes(a, shorter));
                }
            }
        }
    }
}
