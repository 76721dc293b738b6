//! The fuzz corpora's census: how many inputs of each target hold a host (or name) over 64
//! octets with an ASCII capital, decoded as the target decodes them
//! (`misdirect_fuzz::inputs::hosts`); the hostile review's defect 1 needed such a host and no
//! corpus input had one.
//!
//! ```text
//! cargo +nightly run --release --example corpus_census              # the census
//! cargo +nightly run --release --example corpus_census -- --seeds 6 # seed inputs, as hex
//! ```
//!
//! With `--seeds K` it searches pseudo-random inputs (fixed seed, so the output is the same
//! every run) for K inputs per structured target that hold such a host and prints each as
//! `target hex`; `fuzz/seeds.py` writes them into the corpora.

use std::path::Path;

use misdirect_fuzz::inputs::holds_long_capitalized_host;

const TARGETS: &[&str] = &[
    "authority",
    "certificate",
    "decide",
    "idna",
    "index",
    "pattern",
    "server",
    "webpki",
];

/// xorshift64*: deterministic, good enough to draw bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next().to_le_bytes()[3]).collect()
    }
}

/// A long name with capitals somewhere, as text: what a candidate for a target that reads
/// arbitrary strings (`certificate`) carries.
fn long_text(rng: &mut Rng) -> Vec<u8> {
    let len = 65 + rng.below(189);
    let mut text: Vec<u8> = (0..len)
        .map(|i| {
            if i % 20 == 19 {
                b'.'
            } else {
                b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.below(36)]
            }
        })
        .collect();
    for _ in 0..=rng.below(3) {
        let at = rng.below(len);
        text[at] = text[at].to_ascii_uppercase();
    }
    text[0] = b'A';
    text
}

fn candidate(target: &str, rng: &mut Rng) -> Vec<u8> {
    let len = 64 + rng.below(1472);
    let mut data = rng.bytes(len);
    if target == "certificate" {
        // arbitrary reads a String as a length then its bytes: put long text where names are
        // read, after a short prefix.
        let text = long_text(rng);
        let at = rng.below(16).min(data.len());
        data.splice(at..at, text);
    }
    data
}

fn census(corpus: &Path) {
    for target in TARGETS {
        let Ok(entries) = std::fs::read_dir(corpus.join(target)) else {
            println!("{target:12} no corpus");
            continue;
        };
        let (mut total, mut holding) = (0, 0);
        for entry in entries.flatten() {
            let Ok(data) = std::fs::read(entry.path()) else {
                continue;
            };
            total += 1;
            if holds_long_capitalized_host(target, &data) {
                holding += 1;
            }
        }
        println!(
            "{target:12} {holding:4} of {total:4} inputs hold a host over 64 octets with a capital"
        );
    }
}

fn seeds(count: usize) {
    for target in TARGETS.iter().filter(|t| **t != "authority") {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ target.len() as u64);
        let mut found = 0;
        for _ in 0..200_000 {
            let data = candidate(target, &mut rng);
            if holds_long_capitalized_host(target, &data) {
                let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
                println!("{target} {hex}");
                found += 1;
                if found == count {
                    break;
                }
            }
        }
        if found < count {
            eprintln!("{target}: only {found} of {count} seeds found");
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, count] if flag == "--seeds" => seeds(count.parse().expect("a count")),
        [] => census(&Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")),
        [dir] => census(Path::new(dir)),
        _ => panic!("usage: corpus_census [CORPUS_DIR | --seeds K]"),
    }
}
