//! Building at scale (issue 27, part 3): `Server::build`, `Changes::between` and a reload at
//! 1,000, 100,000 and 1,000,000 virtual hosts with their certificates, beside
//! `NameIndex::build` of the same names in the same run, with the time and the peak heap of
//! each, and the heap two live generations hold.
//!
//! The configuration is a large tenancy's: one listener and one policy, a virtual host per
//! tenant with one name (every fifth a wildcard, `*.w<i>.tenants.example`, the others
//! `t<i>.tenants.example`), and a certificate per ten tenants whose SANs are their ten names.
//! The reload is what an operator does for one changed tenant: the next configuration built
//! (one virtual host renamed), `Changes::between` the two, the new generation put in place while
//! the old one is still held by live connections.
//!
//! Not a criterion benchmark (a build of 1,000,000 takes seconds): each measure is the median
//! of several runs (11, 5 and 3 by size), printed as
//! `build_scale N: index T, build T (x R of the index), peak P, ...`. Peak heap is counted by a
//! global allocator (bytes allocated and not yet freed, the most since the measure began).
//! `cargo bench --bench build_scale --features reload`; `-- 1000 100000` for some sizes only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use misdirect::{
    CertificateConfig, Changes, Config, ListenerConfig, NameIndex, NamePattern, Reloadable, Server,
    VhostConfig,
};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(size: usize) {
    let now = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: forwards to `System` and keeps counts of live and peak bytes; `unsafe` is the
// trait's.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= layout.size() {
            grew(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Tenant `i`'s name: every fifth a wildcard.
fn name(i: usize) -> String {
    if i % 5 == 0 {
        format!("*.w{i}.tenants.example")
    } else {
        format!("t{i}.tenants.example")
    }
}

/// The configuration of `n` tenants; `renamed` renames the middle one (the next reload).
fn config(n: usize, renamed: bool) -> Config<usize> {
    let vhosts = (0..n)
        .map(|i| {
            let name = if renamed && i == n / 2 {
                format!("renamed{i}.tenants.example")
            } else {
                name(i)
            };
            VhostConfig::new(&format!("t{i}"), &[name], "public", i)
        })
        .collect();
    let certificates = (0..n.div_ceil(10))
        .map(|c| {
            let sans: Vec<String> = (c * 10..(c * 10 + 10).min(n))
                .map(|i| {
                    if renamed && i == n / 2 {
                        format!("renamed{i}.tenants.example")
                    } else {
                        name(i)
                    }
                })
                .collect();
            CertificateConfig::new(&format!("c{c}"), &sans)
        })
        .collect();
    Config {
        listeners: vec![ListenerConfig::new("tls", true, 443)],
        vhosts,
        certificates,
        policies: vec!["public".into()],
        ..Config::default()
    }
}

/// One call: its time, the peak heap above what was live before it, and the heap it left live
/// (what its result holds).
fn measure<T>(f: impl FnOnce() -> T) -> (Duration, usize, usize, T) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let began = Instant::now();
    let out = black_box(f());
    let took = began.elapsed();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    let kept = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    (took, peak, kept, out)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mib(bytes: usize) -> String {
    #[allow(clippy::cast_precision_loss)]
    let m = bytes as f64 / f64::from(1u32 << 20);
    format!("{m:.1} MiB")
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    // `cargo bench` passes `--bench`; sizes are the numeric arguments.
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![1_000, 100_000, 1_000_000];
    }
    for n in sizes {
        let runs = match n {
            0..=10_000 => 11,
            10_001..=200_000 => 5,
            _ => 3,
        };
        let mut index = Vec::new();
        let mut build = Vec::new();
        let mut changes = Vec::new();
        let mut reload = Vec::new();
        let (mut index_peak, mut build_peak, mut reload_peak, mut held) = (0, 0, 0, 0);
        let mut one = 0;
        for _ in 0..runs {
            // The index alone: the same names, parsed and built, as `Server::build` must.
            let names: Vec<String> = (0..n).map(name).collect();
            let (t, peak, _, built) = measure(|| {
                NameIndex::build(
                    names
                        .iter()
                        .enumerate()
                        .map(|(i, s)| (NamePattern::parse(s).expect("pattern"), i)),
                )
                .expect("index")
                .len()
            });
            assert_eq!(built, n);
            index.push(t);
            index_peak = index_peak.max(peak);
            drop(names);

            let a = config(n, false);
            // The configuration is the caller's to give: its copy is made outside the measure.
            let given = a.clone();
            let (t, peak, old, server) = measure(|| Server::build(given).expect("build"));
            build.push(t);
            build_peak = build_peak.max(peak);
            one = one.max(old);

            let b = config(n, true);
            let (t, _, _, lines) = measure(|| Changes::between(&a, &b).lines.len());
            assert!(lines > 0, "the renamed tenant is a change");
            changes.push(t);

            // A reload under live connections: the old generation stays held (a connection
            // keeps it) while the next is built and put in place.
            let reloadable = Reloadable::new(server);
            let kept = reloadable.current();
            let given = b.clone();
            let (t, peak, new, _) = measure(|| {
                let next = Server::build(given).expect("build");
                reloadable.replace(next)
            });
            reload.push(t);
            reload_peak = reload_peak.max(peak);
            // Both generations live: the old one a connection keeps, the new one current.
            held = held.max(old + new);
            drop(kept);
            drop(reloadable);
            drop((a, b));
        }
        let (index, build, changes, reload) = (
            median(index),
            median(build),
            median(changes),
            median(reload),
        );
        let ratio = build.as_secs_f64() / index.as_secs_f64();
        println!(
            "build_scale {n}: index {}, build {} (x{ratio:.2} of the index), changes {}, reload {}; \
             peak heap: index {}, build {}, reload {} (the old generation held); a generation holds {}, two live hold {}",
            ms(index),
            ms(build),
            ms(changes),
            ms(reload),
            mib(index_peak),
            mib(build_peak),
            mib(reload_peak),
            mib(one),
            mib(held),
        );
    }
}
