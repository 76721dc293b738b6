//! The hostile-server tests' bounds, shared by `probe_hostile.rs` and `h3_hostile.rs`: a
//! counting global allocator (what this thread holds), the deadline the tests give the probe,
//! and `bounded`, which holds a call to a time ceiling and a memory ceiling.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

pub struct Counting;

thread_local! {
    /// Bytes this thread holds allocated (what it freed of another thread's counts against it).
    pub static LIVE: Cell<isize> = const { Cell::new(0) };
    /// The most `LIVE` reached since the last reset.
    pub static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn grow(by: isize) {
    LIVE.with(|live| {
        let now = live.get() + by;
        live.set(now);
        PEAK.with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: this only forwards to `System` and counts; `unsafe` is what the trait requires.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        grow(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grow(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The deadline the tests give the probe: small, so the suite runs in seconds.
pub const DEADLINE: Duration = Duration::from_secs(2);
/// The longest a probe call may take: its deadline and 5 s of slack (two cores, parallel tests).
pub const CEILING: Duration = Duration::from_secs(2 + 5);
/// The most a probe call may hold allocated at once.
pub const MEMORY: usize = 8 << 20;

/// Runs `f` on this thread, and asserts it ended within [`CEILING`] and held at most
/// [`MEMORY`] bytes above what the thread held before.
pub fn bounded<T: core::fmt::Debug>(what: &str, f: impl FnOnce() -> T) -> T {
    bounded_by(what, CEILING, f)
}

/// [`bounded`] with another ceiling.
pub fn bounded_by<T: core::fmt::Debug>(what: &str, ceiling: Duration, f: impl FnOnce() -> T) -> T {
    let start = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(start));
    let began = Instant::now();
    let out = f();
    let elapsed = began.elapsed();
    let peak = usize::try_from(PEAK.with(Cell::get) - start).unwrap_or(0);
    eprintln!("{what}: {elapsed:.2?}, peak {peak} bytes, {out:?}");
    assert!(
        elapsed <= ceiling,
        "{what}: took {elapsed:.2?}, past {ceiling:?} (deadline {DEADLINE:?}): {out:?}"
    );
    assert!(
        peak <= MEMORY,
        "{what}: held {peak} bytes at once, past {MEMORY}: {out:?}"
    );
    out
}
