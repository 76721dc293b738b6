//! `decide` per input class on servers of 10 and 1,000 virtual hosts with a 10-SAN
//! certificate, beside the baseline glue on the same inputs in the same run; then the cost's
//! independence from the matching SAN's position (1-SAN vs 100-SAN certificate). Prints
//! `ratio <class>: <baseline/misdirect>x` per class.

mod common;

use std::hint::black_box;

use common::*;
use criterion::Criterion;

fn bench(c: &mut Criterion) {
    for vhosts in [10usize, 1000] {
        let sans = sans(7); // 10 SANs; the matching ones sit last
        let server = server(vhosts, &sans);
        let conn = connection(&server);
        let der: &'static _ = Box::leak(Box::new(certificate_der(&sans)));
        let glue = Glue::new(&server, der);
        let mut group = c.benchmark_group(format!("decide_{vhosts}"));
        for (class, authority) in CLASSES {
            let slot = [*authority];
            let request = request(&slot);
            // Both sides must agree on what the request gets before they are timed.
            let ours = server.decide(&conn, &request);
            let theirs = glue.decide(authority);
            match (&ours, &theirs) {
                (misdirect::Verdict::Serve(a), GlueVerdict::Serve(b)) => {
                    assert_eq!(*a, b, "{class}")
                }
                (v, GlueVerdict::Status(s)) => assert_eq!(v.status(), Some(*s), "{class}"),
                other => panic!("{class}: {other:?}"),
            }
            group.bench_function(format!("misdirect/{class}"), |b| {
                b.iter(|| black_box(server.decide(black_box(&conn), black_box(&request))).status());
            });
            group.bench_function(format!("baseline/{class}"), |b| {
                b.iter(|| black_box(glue.decide(black_box(authority))));
            });
        }
        group.finish();
    }

    // The obvious hand-written lookup, for scale.
    let map: std::collections::HashMap<String, usize> =
        [("api.example.com".to_string(), 0)].into_iter().collect();
    // In a group of its own, so that its estimates sit where `median_ns` looks for them.
    let mut group = c.benchmark_group("obvious_lookup");
    group.bench_function("plain", |b| {
        b.iter(|| {
            black_box(obvious_lookup(
                black_box(&map),
                black_box(b"api.example.com:443"),
            ))
        });
    });
    group.finish();

    // Cost independent of where the matching SAN sits: 1 SAN vs 100 SANs (match last).
    let mut group = c.benchmark_group("san_count");
    for extra in [0usize, 97] {
        let sans = sans(extra);
        let server = server(10, &sans);
        let conn = connection(&server);
        let slot: [&[u8]; 1] = [b"api.example.com"];
        let request = request(&slot);
        group.bench_function(format!("{}", sans.len()), |b| {
            b.iter(|| black_box(server.decide(black_box(&conn), black_box(&request))).status());
        });
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    // One line per class, `ratio <class>: <baseline/misdirect>x`, on the 1,000-vhost server,
    // with the 10-vhost figure beside it.
    let ratio = |vhosts: usize, class: &str| {
        let group = format!("decide_{vhosts}");
        let ours = median_ns(&group, &format!("misdirect_{class}"))?;
        let theirs = median_ns(&group, &format!("baseline_{class}"))?;
        Some((theirs / ours, ours, theirs))
    };
    for (class, _) in CLASSES {
        match (ratio(1000, class), ratio(10, class)) {
            (Some((r, ours, theirs)), Some((r10, _, _))) => println!(
                "ratio {class}: {r:.1}x  (1,000 vhosts: misdirect {ours:.1} ns, baseline {theirs:.1} ns; 10 vhosts: {r10:.1}x)"
            ),
            _ => println!("ratio {class}: not measured in this run"),
        }
    }
    if let Some(ns) = median_ns("obvious_lookup", "plain") {
        println!("obvious hand-written parse + lookup: {ns:.1} ns");
    }
    if let (Some(one), Some(hundred)) = (median_ns("san_count", "3"), median_ns("san_count", "100"))
    {
        println!(
            "san count: 3 SANs {one:.1} ns, 100 SANs {hundred:.1} ns ({:.2}x)",
            hundred / one
        );
    }
}
