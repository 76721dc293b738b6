//! Patterns with values and hosts: `NameIndex` lookups == a linear scan in the model, and the
//! same duplicates refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use misdirect::{Host, IndexError, NameIndex, model};
use misdirect_fuzz::{engine_host, engine_pattern, inputs};

fuzz_target!(|data: &[u8]| {
    // Hosts are decoded whatever the patterns: they are looked up only when the index builds.
    let (patterns, hosts) = inputs::index(data);
    let model_patterns: Vec<model::Pattern> = patterns.iter().map(engine_pattern).collect();
    let built = NameIndex::build(patterns.iter().cloned().enumerate().map(|(i, p)| (p, i)));
    match (model::first_duplicate(&model_patterns), built) {
        (Some(pair), Err(IndexError::Duplicate { first, second, .. })) => {
            assert_eq!(pair, (first, second))
        }
        (None, Ok(index)) => {
            for text in &hosts {
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
