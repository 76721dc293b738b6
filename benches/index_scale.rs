//! `NameIndex` lookups (exact hit, wildcard hit, miss) in indexes of 10, 1,000, 100,000 and
//! 1,000,000 names (20% wildcards), build time, and heap bytes per entry beyond the names' own
//! bytes, counted by a global allocator and printed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{BatchSize, Criterion};
use misdirect::{Host, NameIndex, NamePattern};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to `System` and keeps a count of live bytes; `unsafe` is the trait's.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Pattern `i` of an index: every fifth a wildcard.
fn pattern(i: usize) -> NamePattern {
    let text = if i % 5 == 0 {
        format!("*.w{i}.example.com")
    } else {
        format!("host{i}.example.com")
    };
    NamePattern::parse(&text).expect("benchmark pattern")
}

fn build(n: usize) -> NameIndex<u32> {
    NameIndex::build((0..n).map(|i| (pattern(i), u32::try_from(i).unwrap()))).expect("index")
}

fn key_bytes(n: usize) -> usize {
    (0..n)
        .map(|i| match pattern(i) {
            NamePattern::Exact(name) | NamePattern::Wildcard(name) => name.len(),
            NamePattern::Ip(_) => 16,
        })
        .sum()
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let sizes = [10usize, 1_000, 100_000, 1_000_000];
    for &n in &sizes {
        let before = LIVE.load(Ordering::Relaxed);
        let index = build(n);
        let heap = LIVE.load(Ordering::Relaxed) - before;
        let names = key_bytes(n);
        #[allow(clippy::cast_precision_loss)]
        let per_entry = (heap - names) as f64 / n as f64;
        println!(
            "heap {n} names: {heap} bytes, of which names {names}; {per_entry:.1} bytes per entry beyond the names"
        );
        let mid = n / 2 + 1; // an exact name (not a multiple of 5)
        let exact = Host::parse(format!("host{mid}.example.com").as_bytes()).unwrap();
        let wild = Host::parse(format!("x.w{}.example.com", (n / 2) / 5 * 5).as_bytes()).unwrap();
        let miss = Host::parse(b"nowhere.example.org").unwrap();
        assert_eq!(
            index.lookup(&exact).map(|h| *h.value),
            Some(u32::try_from(mid).unwrap())
        );
        assert!(index.lookup(&wild).is_some());
        assert!(index.lookup(&miss).is_none());
        let mut group = c.benchmark_group(format!("index_{n}"));
        for (what, host) in [("exact", &exact), ("wildcard", &wild), ("miss", &miss)] {
            group.bench_function(what, |b| {
                b.iter(|| black_box(index.lookup(black_box(host))).is_some())
            });
        }
        group.finish();
    }
    let mut group = c.benchmark_group("index_build");
    group.sample_size(10);
    for &n in &sizes {
        group.bench_function(format!("{n}"), |b| {
            b.iter_batched(
                || {
                    (0..n)
                        .map(|i| (pattern(i), u32::try_from(i).unwrap()))
                        .collect::<Vec<_>>()
                },
                |patterns| black_box(NameIndex::build(patterns).unwrap()).len(),
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
    c.final_summary();
}
