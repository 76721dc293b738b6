//! Patterns with values and hosts: `NameIndex` lookups == a linear scan in the model, and the
//! same duplicates refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use misdirect::{Host, IndexError, NameIndex, NamePattern, model};
use misdirect_fuzz::{engine_host, engine_pattern, pattern_text, wire_host};

fuzz_target!(|data: &[u8]| {
    let mut u = arbitrary::Unstructured::new(data);
    let mut patterns = Vec::new();
    for _ in 0..u.int_in_range(0..=24).unwrap_or(0) {
        let Ok(text) = pattern_text(&mut u) else {
            break;
        };
        if let Ok(p) = NamePattern::parse(&text) {
            patterns.push(p);
        }
    }
    let model_patterns: Vec<model::Pattern> = patterns.iter().map(engine_pattern).collect();
    let built = NameIndex::build(patterns.iter().cloned().enumerate().map(|(i, p)| (p, i)));
    match (model::first_duplicate(&model_patterns), built) {
        (Some(pair), Err(IndexError::Duplicate { first, second, .. })) => {
            assert_eq!(pair, (first, second))
        }
        (None, Ok(index)) => {
            for _ in 0..8 {
                let Ok(text) = wire_host(&mut u) else { break };
                // Hosts near the patterns: one label under a pattern's name, or the name.
                let text = match (u.choose(&model_patterns), u.arbitrary::<bool>()) {
                    (Ok(p), Ok(true)) => format!("h.{}", p.text().trim_start_matches("*.")),
                    _ => text,
                };
                let Ok(host) = Host::parse(text.as_bytes()) else {
                    continue;
                };
                let all = index.lookup_all(&host);
                let engine = (all.exact.map(|h| *h.value), all.wildcard.map(|h| *h.value));
                let expected = model::index_lookup(&model_patterns, &engine_host(&host));
                assert_eq!(engine, expected, "{text:?}");
                assert_eq!(
                    index.lookup(&host).map(|h| *h.value),
                    expected.0.or(expected.1)
                );
            }
        }
        (model, engine) => panic!("duplicates: model {model:?}, engine {:?}", engine.err()),
    }
});
