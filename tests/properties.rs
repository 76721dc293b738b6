//! Engine == model on generated inputs, and the SPEC §6 properties of the core, each a test of
//! its own. Failures persist in `proptest-regressions/properties.txt`.

mod common;

use common::*;
use misdirect::model;
use misdirect::{Authority, Host, IndexError, NameIndex, NamePattern, WireUnicode};
use proptest::prelude::*;

const REGRESSIONS: &str = "proptest-regressions/properties.txt";

/// The engine's host in the model's terms.
fn engine_host(host: &Host) -> model::Host {
    match host {
        Host::Dns(name) => model::Host::Dns(name.as_str().to_string()),
        Host::Ipv4(addr) => model::Host::Ipv4(*addr),
        Host::Ipv6(addr) => model::Host::Ipv6(*addr),
    }
}

fn engine_pattern(pattern: &NamePattern) -> model::Pattern {
    match pattern {
        NamePattern::Exact(name) => model::Pattern::Exact(name.to_string()),
        NamePattern::Wildcard(parent) => model::Pattern::Wildcard(parent.to_string()),
        NamePattern::Ip(addr) => model::Pattern::Ip(*addr),
    }
}

fn engine_authority(
    input: &[u8],
    unicode: WireUnicode,
) -> Result<(model::Host, Option<u16>), misdirect::AuthorityError> {
    Authority::parse_with(input, unicode).map(|a| (engine_host(a.host()), a.port()))
}

fn assert_authority_agrees(input: &[u8]) -> Result<(), TestCaseError> {
    for (unicode, convert) in [(WireUnicode::Reject, false), (WireUnicode::Convert, true)] {
        let engine = engine_authority(input, unicode);
        let model = model::parse_authority(input, convert);
        prop_assert_eq!(
            engine.as_ref().ok(),
            model.as_ref().ok(),
            "input {:?} ({:?}): engine {:?}, model {:?}",
            String::from_utf8_lossy(input),
            unicode,
            engine,
            model
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(REGRESSIONS))]

    #[test]
    fn authority_parse_engine_equals_model(input in wire_authority()) {
        assert_authority_agrees(&input)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_agree_with_model(
        input in prop::collection::vec(any::<u8>(), 0..300)
    ) {
        assert_authority_agrees(&input)?;
        let engine = Host::parse(&input).map(|h| engine_host(&h));
        let model = model::parse_host(&input);
        prop_assert_eq!(engine.ok(), model.ok());
    }

    #[test]
    fn host_parse_engine_equals_model(input in wire_host()) {
        let engine = Host::parse(input.as_bytes()).map(|h| engine_host(&h));
        let model = model::parse_host(input.as_bytes());
        prop_assert_eq!(engine.ok(), model.ok(), "input {:?}", input);
    }

    /// SPEC §6: normalization is idempotent; the canonical text parses to itself.
    #[test]
    fn canonical_text_parses_to_itself(input in wire_authority()) {
        for unicode in [WireUnicode::Reject, WireUnicode::Convert] {
            if let Ok(authority) = Authority::parse_with(&input, unicode) {
                let text = authority.to_string();
                let again = Authority::parse(text.as_bytes());
                prop_assert_eq!(again, Ok(authority), "canonical text {:?}", text);
                let host_text = authority.host().to_string();
                prop_assert_eq!(Host::parse(host_text.as_bytes()), Ok(*authority.host()));
                prop_assert_eq!(
                    model::parse_host(host_text.as_bytes()),
                    Ok(engine_host(authority.host()))
                );
            }
        }
    }

    /// SPEC §6: the host does not change under ASCII case changes, one added trailing dot, or
    /// an explicit default port.
    #[test]
    fn host_ignores_case_trailing_dot_and_default_port(
        host in name(),
        mask in prop::collection::vec(any::<bool>(), 1..16),
    ) {
        let Ok(original) = Authority::parse(host.as_bytes()) else { return Ok(()) };
        let flipped = flip_case(&host, &mask);
        prop_assert_eq!(Authority::parse(flipped.as_bytes()), Ok(original));
        if !host.ends_with('.') {
            let dotted = format!("{flipped}.");
            prop_assert_eq!(Authority::parse(dotted.as_bytes()).map(|a| *a.host()), Ok(*original.host()));
        }
        let with_port = Authority::parse(format!("{flipped}:443").as_bytes()).unwrap();
        prop_assert_eq!(with_port.host(), original.host());
        prop_assert_eq!(with_port.effective_port(443), original.effective_port(443));
    }

    #[test]
    fn pattern_parse_engine_equals_model(text in pattern_text()) {
        let engine = NamePattern::parse(&text).map(|p| engine_pattern(&p));
        let model = model::parse_pattern(&text, true);
        prop_assert_eq!(engine.as_ref().ok(), model.as_ref().ok(), "config {:?}: {:?} / {:?}", text, engine, model);
        let engine = NamePattern::parse_san(text.as_bytes()).map(|p| engine_pattern(&p));
        let model = model::parse_pattern(&text, false);
        prop_assert_eq!(engine.as_ref().ok(), model.as_ref().ok(), "SAN {:?}: {:?} / {:?}", text, engine, model);
    }

    /// A pattern's text parses back to the same pattern.
    #[test]
    fn pattern_text_round_trips(text in pattern_text()) {
        if let Ok(pattern) = NamePattern::parse(&text) {
            prop_assert_eq!(NamePattern::parse(&pattern.to_string()), Ok(pattern.clone()));
            prop_assert_eq!(NamePattern::parse_san(pattern.to_string().as_bytes()), Ok(pattern));
        }
    }

    #[test]
    fn pattern_match_engine_equals_model(
        (host, pattern) in prop::collection::vec(overlap_label(), 1..5)
            .prop_flat_map(|labels| {
                let host = (prop::collection::vec(any::<bool>(), 1..8), prop::option::of(overlap_label()))
                    .prop_map({
                        let labels = labels.clone();
                        move |(mask, extra)| {
                            let mut all = labels.clone();
                            if let Some(extra) = extra { all.insert(0, extra); }
                            flip_case(&all.join("."), &mask)
                        }
                    });
                (host, pattern_for(labels))
            })
    ) {
        let (Ok(engine_host_value), Ok(engine_pat)) =
            (Host::parse(host.as_bytes()), NamePattern::parse(&pattern)) else { return Ok(()) };
        let model_host = model::parse_host(host.as_bytes()).unwrap();
        let model_pat = model::parse_pattern(&pattern, true).unwrap();
        prop_assert_eq!(
            engine_pat.matches(&engine_host_value),
            model::pattern_matches(&model_pat, &model_host),
            "pattern {:?} host {:?}", pattern, host
        );
    }

    #[test]
    fn pattern_match_engine_equals_model_on_free_inputs(host in wire_host(), pattern in pattern_text()) {
        let (Ok(h), Ok(p)) = (Host::parse(host.as_bytes()), NamePattern::parse(&pattern)) else { return Ok(()) };
        prop_assert_eq!(p.matches(&h), model::pattern_matches(&engine_pattern(&p), &engine_host(&h)));
    }

    /// SPEC §6: a wildcard never matches across a dot, never the apex, never an IP.
    #[test]
    fn wildcard_never_matches_across_dot_apex_or_ip(
        labels in prop::collection::vec(overlap_label(), 2..5),
        extra in prop::collection::vec(overlap_label(), 2..4),
        ip in ipv4_text(),
        ip6 in ipv6_text(),
    ) {
        let parent = labels.join(".");
        let Ok(wildcard) = NamePattern::parse(&format!("*.{parent}")) else { return Ok(()) };
        let apex = Host::parse(parent.as_bytes()).unwrap();
        prop_assert!(!wildcard.matches(&apex));
        // With the 63-octet labels a name under the parent may pass 253 octets: then it is no
        // host, and there is nothing to match.
        let deep = format!("{}.{parent}", extra.join("."));
        if let Ok(deep) = Host::parse(deep.as_bytes()) {
            prop_assert!(!wildcard.matches(&deep));
        }
        let one = format!("{}.{parent}", extra[0]);
        if one.len() <= misdirect::MAX_NAME_LEN {
            prop_assert!(wildcard.matches(&Host::parse(one.as_bytes()).unwrap()), "{}", one);
        }
        for text in [ip, format!("[{ip6}]")] {
            if let Ok(ip_host) = Host::parse(text.as_bytes()) {
                prop_assert!(!wildcard.matches(&ip_host));
            }
        }
    }

    /// The index answers what a linear scan of the model answers, and refuses the same
    /// duplicates.
    #[test]
    fn index_lookup_equals_linear_scan(
        patterns in prop::collection::vec(
            prop::collection::vec(overlap_label(), 1..4).prop_flat_map(pattern_for),
            0..24,
        ),
        hosts in prop::collection::vec(
            (prop::collection::vec(overlap_label(), 1..5), prop::collection::vec(any::<bool>(), 1..4))
                .prop_map(|(labels, mask)| flip_case(&labels.join("."), &mask)),
            1..12,
        ),
    ) {
        let parsed: Vec<NamePattern> =
            patterns.iter().filter_map(|p| NamePattern::parse(p).ok()).collect();
        let model_patterns: Vec<model::Pattern> = parsed.iter().map(engine_pattern).collect();
        let built = NameIndex::build(parsed.iter().cloned().enumerate().map(|(i, p)| (p, i)));
        match model::first_duplicate(&model_patterns) {
            Some((first, second)) => {
                let Err(IndexError::Duplicate { first: f, second: s, .. }) = built else {
                    return Err(TestCaseError::fail(format!("duplicates {first} and {second} accepted")));
                };
                prop_assert_eq!((f, s), (first, second));
            }
            None => {
                let index = built.unwrap();
                for host in &hosts {
                    let Ok(h) = Host::parse(host.as_bytes()) else { continue };
                    let all = index.lookup_all(&h);
                    let engine = (all.exact.map(|hit| *hit.value), all.wildcard.map(|hit| *hit.value));
                    let model = model::index_lookup(&model_patterns, &engine_host(&h));
                    prop_assert_eq!(engine, model, "host {:?}", host);
                    prop_assert_eq!(index.lookup(&h).map(|hit| *hit.value), model.0.or(model.1));
                }
            }
        }
    }
}
