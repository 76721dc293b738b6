//! A pattern and a host, built to overlap: engine == model on parsing both and on matching.
#![no_main]

use libfuzzer_sys::fuzz_target;
use misdirect::{Authority, NamePattern, model};
use misdirect_fuzz::{engine_host, engine_pattern, inputs};

fuzz_target!(|data: &[u8]| {
    let Some((pattern, host)) = inputs::pattern(data) else {
        return;
    };
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
