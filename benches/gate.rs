//! The CI gate's workloads: each `gate_op_*` function runs one hot-path operation 10,000 times.
//! `.ci/gate` runs this binary under valgrind's callgrind, counting instructions inside one
//! `gate_op_*` function at a time (`--toggle-collect`), and compares the counts with
//! `benches/gate-baseline.json`. Instruction counts do not move with machine noise; wall-clock
//! numbers never gate CI.
//!
//! `gate <op>` runs one workload; with no op (as `cargo bench` runs it) it runs them all once.

use std::hint::black_box;

use misdirect::{Authority, Connection, Host, NameIndex, NamePattern, Request, Server};

mod common;

const RUNS: usize = 10_000;
/// Each workload cycles over this many inputs, so that the per-process hash seed (which moves
/// single probes) averages out of the counts.
const INPUTS: usize = 100;
/// Index lookups are cheap and seed-sensitive, so they cycle over more inputs.
const LOOKUP_INPUTS: usize = 1_000;

#[inline(never)]
fn gate_op_parse(inputs: &[Vec<u8>]) -> usize {
    let mut ok = 0;
    for _ in 0..RUNS / INPUTS {
        for input in inputs {
            ok += usize::from(Authority::parse(black_box(input)).is_ok());
        }
    }
    ok
}

#[inline(never)]
fn gate_op_lookup(index: &NameIndex<u32>, hosts: &[Host]) -> usize {
    let mut hits = 0;
    for _ in 0..RUNS / hosts.len() {
        for host in hosts {
            hits += usize::from(index.lookup(black_box(host)).is_some());
        }
    }
    hits
}

#[inline(never)]
fn gate_op_decide(server: &Server<usize>, conn: &Connection, requests: &[Request<'_>]) -> usize {
    let mut served = 0;
    for _ in 0..RUNS / INPUTS {
        for request in requests {
            served += usize::from(
                server
                    .decide(black_box(conn), black_box(request))
                    .status()
                    .is_none(),
            );
        }
    }
    served
}

/// The floor (`common::Floor`: an unchecked lookup by name) on the same inputs, so that the
/// ratio to it is counted, not timed.
#[inline(never)]
fn gate_op_floor(floor: &common::Floor, inputs: &[Vec<u8>]) -> usize {
    let mut found = 0;
    for _ in 0..RUNS / INPUTS {
        for input in inputs {
            found += usize::from(floor.lookup(black_box(input)).is_some());
        }
    }
    found
}

/// http's early exit (`common::http_early_exit`) on the same inputs.
#[inline(never)]
fn gate_op_http(inputs: &[Vec<u8>]) -> usize {
    let mut ok = 0;
    for _ in 0..RUNS / INPUTS {
        for input in inputs {
            ok += usize::from(common::http_early_exit(black_box(input)));
        }
    }
    ok
}

fn index() -> NameIndex<u32> {
    NameIndex::build((0..10_000u32).map(|i| {
        let text = if i % 5 == 0 {
            format!("*.w{i}.example.com")
        } else {
            format!("host{i}.example.com")
        };
        (NamePattern::parse(&text).unwrap(), i)
    }))
    .unwrap()
}

/// The workloads, by name: `<function>_<input class>`.
pub const OPS: &[&str] = &[
    "parse_plain",
    "parse_mixed_case_dot",
    "parse_a_label",
    "parse_ipv6",
    "lookup_exact",
    "lookup_wildcard",
    "lookup_miss",
    "decide_plain",
    "decide_mixed_case_dot",
    "decide_a_label",
    "decide_wildcard",
    "decide_ipv6",
    "decide_misdirected",
    "decide_malformed",
    "floor_plain",
    "floor_misdirected",
    "http_malformed",
];

/// 100 authorities of a class, alike in shape: the class's own input and its neighbours.
fn inputs(class: &str) -> Vec<Vec<u8>> {
    (0..INPUTS)
        .map(|i| {
            // Virtual hosts v3..v999 exist; every tenth (v10, v20, ...) has a U-label name.
            let plain = i * 10 + 3;
            let tenth = (i % 99 + 1) * 10;
            match class {
                "plain" => format!("v{plain}.example.com:443"),
                "mixed_case_dot" => format!("V{plain}.Example.COM."),
                "a_label" => NamePattern::parse(&format!("bücher{tenth}.example.com"))
                    .unwrap()
                    .to_string(),
                // Under `*.example.com`, no exact name.
                "wildcard" => format!("x{plain}.example.com"),
                "ipv6" => "[2001:db8::1]".to_string(),
                // Distinct parents, so no single wildcard probe decides the count.
                "misdirected" => format!("www.o{plain}.other.org"),
                "malformed" => format!("exa mple{plain}.com"),
                other => panic!("class {other}"),
            }
            .into_bytes()
        })
        .collect()
}

fn run(op: &str) -> usize {
    if let Some(class) = op.strip_prefix("parse_") {
        return gate_op_parse(&inputs(class));
    }
    if let Some(kind) = op.strip_prefix("lookup_") {
        let index = index();
        // Lookups cycle over 1,000 hosts: a miss's cost moves with how many stored keys share
        // its 7-bit tag under this process's seed, and 100 hosts left that visible (+19% once).
        let hosts: Vec<Host> = (0..LOOKUP_INPUTS)
            .map(|i| {
                let text = match kind {
                    "exact" => format!("host{}.example.com", i * 5 + 1),
                    "wildcard" => format!("x.w{}.example.com", i * 5),
                    // Distinct parents too: one shared parent would be one wildcard probe for all.
                    _ => format!("nowhere.x{i}.example.org"),
                };
                Host::parse(text.as_bytes()).unwrap()
            })
            .collect();
        return gate_op_lookup(&index, &hosts);
    }
    if let Some(class) = op.strip_prefix("decide_") {
        let server = common::server(1000, &common::sans(7));
        let conn = common::connection(&server);
        let inputs = inputs(class);
        let slots: Vec<[&[u8]; 1]> = inputs.iter().map(|a| [a.as_slice()]).collect();
        let requests: Vec<Request<'_>> = slots.iter().map(|slot| common::request(slot)).collect();
        return gate_op_decide(&server, &conn, &requests);
    }
    if let Some(class) = op.strip_prefix("floor_") {
        let server = common::server(1000, &common::sans(7));
        return gate_op_floor(&common::Floor::new(&server), &inputs(class));
    }
    if let Some(class) = op.strip_prefix("http_") {
        return gate_op_http(&inputs(class));
    }
    panic!("unknown gate op {op}; known: {OPS:?}");
}

fn main() {
    let op = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    match op.as_deref() {
        Some("list") => OPS.iter().for_each(|op| println!("{op}")),
        Some(op) => println!("{op}: {}", run(op)),
        None => {
            for op in OPS {
                println!("{op}: {}", run(op));
            }
        }
    }
}
