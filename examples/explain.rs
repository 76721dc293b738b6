//! Prints what misdirect makes of a built-in set of wire hosts and name patterns: the canonical
//! form (or the error) of each, and which patterns cover which hosts.
//!
//! Run it with `cargo run --example explain`.

use misdirect::{Authority, NameIndex, NamePattern, WireUnicode};

/// Wire authorities as clients send them, good and bad.
const HOSTS: &[&str] = &[
    "api.example.com:443",
    "API.Example.COM.",
    "www.example.com:0443",
    "a.b.example.com",
    "example.com",
    "xn--bcher-kva.example",
    "bücher.example",
    "secure.example.com.evil",
    "192.0.2.1:8443",
    "[2001:DB8::1]",
    "[::ffff:192.0.2.1]",
    "0x7f.1",
    "1.2.3",
    "example.com..",
    "user@example.com",
    "[::1%25eth0]",
    "example.com:0",
    "exa\0mple.com",
];

/// Names as they appear in configuration or certificates, good and bad.
const PATTERNS: &[&str] = &[
    "*.example.com",
    "example.com",
    "api.example.com",
    "bücher.example",
    "192.0.2.1",
    "2001:db8::1",
    "*.com",
    "f*.example.com",
    "*.*.example.com",
    "*.co.uk",
    "example.com.",
    "-bad.example.com",
    "xn--abc.example",
];

fn main() {
    println!("Wire authorities (SPEC §2), default policy: raw Unicode refused");
    println!("{:<28} {:<26} port / error", "input", "canonical host");
    for input in HOSTS {
        let shown = input.escape_debug().to_string();
        match Authority::parse(input.as_bytes()) {
            Ok(a) => println!(
                "{shown:<28} {:<26} {}",
                a.host().to_string(),
                a.port().map_or("default".to_string(), |p| p.to_string())
            ),
            Err(e) => println!("{shown:<28} {:<26} {e}", "-"),
        }
    }
    if let Ok(a) = Authority::parse_with("bücher.example".as_bytes(), WireUnicode::Convert) {
        println!(
            "(with WireUnicode::Convert, bücher.example is {})",
            a.host()
        );
    }

    println!();
    println!("Name patterns (SPEC §3), from configuration");
    let mut valid = Vec::new();
    for text in PATTERNS {
        match NamePattern::parse(text) {
            Ok(p) => {
                println!("{text:<20} -> {p}");
                valid.push(p);
            }
            Err(e) => println!("{text:<20} refused: {e}"),
        }
    }

    println!();
    println!("Which valid pattern covers each valid host (exact before wildcard)");
    let index = match NameIndex::build(valid.iter().cloned().map(|p| {
        let text = p.to_string();
        (p, text)
    })) {
        Ok(index) => index,
        Err(e) => {
            eprintln!("index: {e}");
            std::process::exit(1);
        }
    };
    for input in HOSTS {
        let Ok(a) = Authority::parse(input.as_bytes()) else {
            continue;
        };
        let covering: Vec<String> = valid
            .iter()
            .filter(|p| p.matches(a.host()))
            .map(ToString::to_string)
            .collect();
        let best = index
            .lookup(a.host())
            .map_or("none (421 under TLS)".to_string(), |hit| {
                format!("{} ({:?})", hit.value, hit.kind)
            });
        println!(
            "{:<26} best: {best:<34} all: {}",
            a.host().to_string(),
            if covering.is_empty() {
                "-".to_string()
            } else {
                covering.join(", ")
            }
        );
    }
}
