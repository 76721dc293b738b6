//! `Authority::parse` per input class, beside `http::uri::Authority` parsing the same bytes.

mod common;

use std::hint::black_box;

use common::CLASSES;
use criterion::{Criterion, criterion_group, criterion_main};
use misdirect::Authority;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (class, input) in CLASSES {
        group.bench_function(format!("misdirect/{class}"), |b| {
            b.iter(|| black_box(Authority::parse(black_box(input))).is_ok());
        });
        group.bench_function(format!("http/{class}"), |b| {
            b.iter(|| black_box(http::uri::Authority::try_from(black_box(*input))).is_ok());
        });
    }
    let long = vec![b'a'; 64 * 1024];
    group.bench_function("misdirect/64KiB_refused", |b| {
        b.iter(|| black_box(Authority::parse(black_box(&long))).is_ok());
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
