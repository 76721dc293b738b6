//! What deciding through a reloadable generation costs beside deciding through a `&Server`, in
//! the same run (issue 13: at most 2 ns more). Three ways a connection can reach its server:
//! a plain reference; the generation it keeps (`Arc<Generation<Server>>`) with the layer's
//! retirement check before each decision; and, for comparison, loading the current generation
//! from the `Reloadable` on every request (what a connection that does not keep its generation
//! would pay). Prints `reload <way>: <ns> ns (+<ns> ns)` lines.

mod common;

use std::hint::black_box;
use std::sync::Arc;

use common::*;
use criterion::Criterion;
use misdirect::{Reloadable, Retirement};

fn bench(c: &mut Criterion) {
    let sans = sans(7);
    let server = Arc::new(server(10, &sans));
    let conn = connection(&server);
    let slot: [&[u8]; 1] = [b"api.example.com"];
    let request = request(&slot);
    let reloadable = Reloadable::new(Arc::clone(&server));
    let generation = reloadable.current();
    assert_eq!(
        server.decide(&conn, &request),
        generation.decide(&conn, &request)
    );
    let mut group = c.benchmark_group("reload");
    group.bench_function("server", |b| {
        let server: &misdirect::Server<usize> = &server;
        b.iter(|| {
            black_box(black_box(server).decide(black_box(&conn), black_box(&request))).status()
        });
    });
    // What the layer does per request: its connection's server (an `Arc` it holds) and the
    // retirement check on the connection's generation.
    let retirement: Arc<dyn Retirement> = generation.clone();
    let kept: Arc<misdirect::Server<usize>> = Arc::clone(&generation);
    group.bench_function("generation", |b| {
        b.iter(|| {
            if black_box(&retirement).retired_for().is_some() {
                return None;
            }
            black_box(black_box(&kept).decide(black_box(&conn), black_box(&request))).status()
        });
    });
    group.bench_function("load_per_request", |b| {
        b.iter(|| {
            let current = black_box(&reloadable).current();
            black_box(current.decide(black_box(&conn), black_box(&request))).status()
        });
    });
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    let base = median_ns("reload", "server");
    for way in ["server", "generation", "load_per_request"] {
        match (median_ns("reload", way), base) {
            (Some(ns), Some(base)) => println!("reload {way}: {ns:.2} ns ({:+.2} ns)", ns - base),
            _ => println!("reload {way}: not measured in this run"),
        }
    }
}
