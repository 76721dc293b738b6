//! A pattern and a host, built to overlap: engine == model on parsing both and on matching.
#![no_main]

use libfuzzer_sys::fuzz_target;
use misdirect::{Authority, NamePattern, model};
use misdirect_fuzz::{engine_host, engine_pattern, pattern_text, wire_authority};

fuzz_target!(|data: &[u8]| {
    let mut u = arbitrary::Unstructured::new(data);
    let (Ok(pattern), Ok(mut host)) = (pattern_text(&mut u), wire_authority(&mut u)) else {
        return;
    };
    if u.ratio(1, 2).unwrap_or(false) {
        // Make the host a neighbour of the pattern: one label under it, or the name itself.
        let base = pattern.trim_start_matches("*.");
        host = match u.int_in_range(0u8..=2).unwrap_or(0) {
            0 => format!("x.{base}"),
            1 => base.to_string(),
            _ => format!("x.y.{base}"),
        }
        .into_bytes();
    }
    for configuration in [true, false] {
        let engine = if configuration {
            NamePattern::parse(&pattern)
        } else {
            NamePattern::parse_san(pattern.as_bytes())
        };
        let model = model::parse_pattern(&pattern, configuration);
        assert_eq!(
            engine.as_ref().ok().map(engine_pattern),
            model.as_ref().ok().cloned(),
            "{pattern:?}"
        );
        if let (Ok(p), Ok(a)) = (&engine, Authority::parse(&host)) {
            let expected = model::pattern_matches(&engine_pattern(p), &engine_host(a.host()));
            assert_eq!(
                p.matches(a.host()),
                expected,
                "{pattern:?} vs {:?}",
                String::from_utf8_lossy(&host)
            );
            // SPEC §6: a wildcard never matches the apex or an IP.
            if let NamePattern::Wildcard(parent) = p {
                assert!(!(a.host().is_ip() && p.matches(a.host())));
                assert!(a.host().to_string() != **parent || !p.matches(a.host()));
            }
        }
    }
});
