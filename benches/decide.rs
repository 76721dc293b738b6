//! `decide` per input class on a server of 1,000 virtual hosts, beside two references timed on
//! the same inputs in the same run:
//!
//! - the baseline: the glue a careful user writes today (`http` parse, `idna`, rustls-webpki's
//!   name check, a `HashMap`), on a 13-SAN certificate whose matching SANs sit first, in the
//!   middle or last. webpki walks the SAN list, so its cost grows with that position;
//!   misdirect's does not. The middle is the headline.
//! - the floor: an unchecked hand-written lookup (stack-buffer lowercase, port split, one
//!   trailing dot dropped, one foldhash probe and a `*.parent` retry), which decides nothing
//!   and is a lower bound on any lookup by name.
//!
//! Then the same classes on 10 virtual hosts, the obvious allocating lookup, http's early exit
//! on a malformed authority, and the cost's independence from the number of SANs. Prints
//! `ratio <class>: <baseline/misdirect>x` and `floor <class>: <floor/misdirect>x` per class.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::*;
use criterion::Criterion;

/// Checks that the three agree on what the request gets before anything is timed.
fn agree(
    class: &str,
    ours: &misdirect::Verdict<'_, usize>,
    glue: &GlueVerdict,
    floor: Option<usize>,
) {
    match (ours, glue) {
        (misdirect::Verdict::Serve(a), GlueVerdict::Serve(b)) => {
            assert_eq!(*a, b, "{class}");
            assert_eq!(
                floor,
                Some(**a),
                "{class}: the floor finds the same virtual host"
            );
        }
        (v, GlueVerdict::Status(s)) => {
            assert_eq!(v.status(), Some(*s), "{class}");
            assert_eq!(floor, None, "{class}: the floor finds nothing either");
        }
        other => panic!("{class}: {other:?}"),
    }
}

fn bench(c: &mut Criterion) {
    // Each class on 1,000 virtual hosts, the matching SAN in each position.
    for position in SanPosition::ALL {
        let sans = position.sans();
        let server = server(1000, &sans);
        let conn = connection(&server);
        let der: &'static _ = Box::leak(Box::new(certificate_der(&sans)));
        let glue = Glue::new(&server, der);
        let floor = Floor::new(&server);
        let mut group = c.benchmark_group(format!("decide_{}", position.name()));
        for (class, authority) in CLASSES {
            let slot = [*authority];
            let request = request(&slot);
            agree(
                class,
                &server.decide(&conn, &request),
                &glue.decide(authority),
                floor.lookup(authority),
            );
            group.bench_function(format!("misdirect/{class}"), |b| {
                b.iter(|| black_box(server.decide(black_box(&conn), black_box(&request))).status());
            });
            group.bench_function(format!("baseline/{class}"), |b| {
                b.iter(|| black_box(glue.decide(black_box(authority))));
            });
        }
        group.finish();
    }

    // The floor, on the same server's names.
    let sans = SanPosition::Middle.sans();
    let server1000 = server(1000, &sans);
    let floor = Floor::new(&server1000);
    let mut group = c.benchmark_group("floor");
    for (class, authority) in CLASSES {
        group.bench_function(*class, |b| {
            b.iter(|| black_box(floor.lookup(black_box(authority))));
        });
    }
    group.finish();

    // What http's parser costs to refuse the malformed class: the glue's early exit.
    let malformed = CLASSES.iter().find(|(c, _)| *c == "malformed").unwrap().1;
    assert!(
        !http_early_exit(malformed),
        "http refuses the malformed class"
    );
    let mut group = c.benchmark_group("http_early_exit");
    group.bench_function("malformed", |b| {
        b.iter(|| black_box(http_early_exit(black_box(malformed))));
    });
    group.finish();

    // The same classes on 10 virtual hosts, for scale.
    let server10 = server(10, &sans);
    let conn = connection(&server10);
    let der: &'static _ = Box::leak(Box::new(certificate_der(&sans)));
    let glue = Glue::new(&server10, der);
    let mut group = c.benchmark_group("decide_10");
    for (class, authority) in CLASSES {
        let slot = [*authority];
        let request = request(&slot);
        group.bench_function(format!("misdirect/{class}"), |b| {
            b.iter(|| black_box(server10.decide(black_box(&conn), black_box(&request))).status());
        });
        group.bench_function(format!("baseline/{class}"), |b| {
            b.iter(|| black_box(glue.decide(black_box(authority))));
        });
    }
    group.finish();

    // The obvious hand-written lookup (it allocates a `String`), for scale.
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

    // Cost independent of the number of SANs: 3 SANs vs 100 SANs (match last).
    let mut group = c.benchmark_group("san_count");
    for extra in [0usize, 97] {
        let sans = common::sans(extra);
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
    // Shorter than criterion's defaults (3 s warm-up, 5 s measurement): 60-odd functions on a
    // 2-core machine. Command-line options (`--quick`, `--measurement-time`) still win.
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench(&mut c);
    c.final_summary();
    let median = |group: &str, id: &str| median_ns(group, id);
    // `ratio <class>`: the baseline over misdirect with the matching SAN in the middle (the
    // headline), then first and last.
    for (class, _) in CLASSES {
        let at = |position: SanPosition| {
            let group = format!("decide_{}", position.name());
            let ours = median(&group, &format!("misdirect_{class}"))?;
            let theirs = median(&group, &format!("baseline_{class}"))?;
            Some((theirs / ours, ours, theirs))
        };
        match (
            at(SanPosition::Middle),
            at(SanPosition::First),
            at(SanPosition::Last),
        ) {
            (
                Some((r, ours, theirs)),
                Some((first, f_ours, f_theirs)),
                Some((last, l_ours, l_theirs)),
            ) => {
                println!(
                    "ratio {class}: {r:.1}x  (matching SAN in the middle: misdirect {ours:.1} ns, baseline {theirs:.1} ns; \
                     first: {first:.1}x ({f_ours:.1} / {f_theirs:.1} ns); last: {last:.1}x ({l_ours:.1} / {l_theirs:.1} ns))"
                );
            }
            _ => println!("ratio {class}: not measured in this run"),
        }
    }
    // `floor <class>`: the unchecked lookup over misdirect (above 1: misdirect is faster).
    for (class, _) in CLASSES {
        match (
            median("floor", class),
            median("decide_middle", &format!("misdirect_{class}")),
        ) {
            (Some(floor), Some(ours)) => println!(
                "floor {class}: {:.2}x  (floor {floor:.1} ns, misdirect {ours:.1} ns)",
                floor / ours
            ),
            _ => println!("floor {class}: not measured in this run"),
        }
    }
    if let (Some(http), Some(ours)) = (
        median("http_early_exit", "malformed"),
        median("decide_middle", "misdirect_malformed"),
    ) {
        println!(
            "early exit malformed: {:.2}x  (http's parser refuses it in {http:.1} ns, misdirect in {ours:.1} ns; issue 27 asks for at most 1.5x)",
            ours / http
        );
    }
    for (class, _) in CLASSES {
        let ours = median("decide_10", &format!("misdirect_{class}"));
        let theirs = median("decide_10", &format!("baseline_{class}"));
        if let (Some(ours), Some(theirs)) = (ours, theirs) {
            println!(
                "10 vhosts {class}: {:.1}x  (misdirect {ours:.1} ns, baseline {theirs:.1} ns)",
                theirs / ours
            );
        }
    }
    if let Some(ns) = median("obvious_lookup", "plain") {
        println!("obvious hand-written parse + lookup (allocating): {ns:.1} ns");
    }
    if let (Some(one), Some(hundred)) = (median("san_count", "3"), median("san_count", "100")) {
        println!(
            "san count: 3 SANs {one:.1} ns, 100 SANs {hundred:.1} ns ({:.2}x)",
            hundred / one
        );
    }
}
