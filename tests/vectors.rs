//! Table-driven vectors from `tests/vectors/*.toml`, one harness per file. With the `model`
//! feature each vector is also checked against the reference model.

use std::path::Path;

use misdirect::{Authority, Host, NamePattern, WireUnicode};
use serde::Deserialize;

#[derive(Deserialize)]
struct File<T> {
    case: Vec<T>,
}

fn load<T: for<'de> Deserialize<'de>>(name: &str) -> Vec<T> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    toml::from_str::<File<T>>(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .case
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

#[derive(Deserialize)]
struct AuthorityCase {
    input: Option<String>,
    input_hex: Option<String>,
    unicode: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    error: Option<String>,
    source: String,
}

#[test]
fn authority_vectors() {
    let cases: Vec<AuthorityCase> = load("authority.toml");
    assert!(cases.len() >= 100, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        assert!(!case.source.is_empty());
        let input = match (&case.input, &case.input_hex) {
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(h)) => hex(h),
            _ => panic!(
                "a case needs exactly one of input, input_hex ({})",
                case.source
            ),
        };
        let unicode = match case.unicode.as_deref() {
            None => WireUnicode::Reject,
            Some("convert") => WireUnicode::Convert,
            Some(other) => panic!("unknown unicode mode {other}"),
        };
        let got = Authority::parse_with(&input, unicode);
        let expected_ok = case.error.is_none();
        let agrees = match (&got, &case.error) {
            (Ok(a), None) => Some(a.host().to_string()) == case.host && a.port() == case.port,
            (Err(e), Some(kind)) => e.kind() == kind,
            _ => false,
        };
        if !agrees {
            failures.push(format!(
                "{:?} ({unicode:?}): got {:?}, expected {} [{}]",
                String::from_utf8_lossy(&input),
                got.map(|a| (a.host().to_string(), a.port()))
                    .map_err(|e| e.kind()),
                case.error
                    .clone()
                    .unwrap_or_else(|| format!("{:?}:{:?}", case.host, case.port)),
                case.source
            ));
        }
        if let Ok(a) = &got {
            // Every error message is printable one-line text; every host re-parses.
            assert_eq!(
                Host::parse(a.host().to_string().as_bytes()).as_ref(),
                Ok(a.host())
            );
        } else if let Err(e) = &got {
            let message = e.to_string();
            assert!(
                !message.contains('\n') && !message.contains('\0'),
                "{message:?}"
            );
        }
        #[cfg(feature = "model")]
        {
            let model = misdirect::model::parse_authority(&input, unicode == WireUnicode::Convert);
            assert_eq!(
                model.is_ok(),
                expected_ok,
                "model disagrees on {:?}: {model:?}",
                case.source
            );
            if let (Ok((host, port)), Some(expected)) = (&model, &case.host) {
                assert_eq!((&host.canonical(), port), (expected, &case.port));
            }
        }
        let _ = expected_ok;
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[derive(Deserialize)]
struct PatternCase {
    pattern: String,
    #[serde(default)]
    san: bool,
    canonical: Option<String>,
    error: Option<String>,
    psl_error: Option<String>,
    source: String,
}

#[test]
fn pattern_vectors() {
    let cases: Vec<PatternCase> = load("pattern.toml");
    assert!(cases.len() >= 50);
    let mut failures = Vec::new();
    for case in &cases {
        assert!(!case.source.is_empty());
        let got = if case.san {
            NamePattern::parse_san(case.pattern.as_bytes())
        } else {
            NamePattern::parse(&case.pattern)
        };
        let expected_error = if cfg!(feature = "psl") && case.psl_error.is_some() {
            case.psl_error.as_ref()
        } else {
            case.error.as_ref()
        };
        let agrees = match (&got, expected_error) {
            (Ok(p), None) => Some(p.to_string()) == case.canonical,
            (Err(e), Some(kind)) => e.kind() == kind,
            _ => false,
        };
        if !agrees {
            failures.push(format!(
                "{:?} (san: {}): got {:?}, expected {:?} [{}]",
                case.pattern,
                case.san,
                got.as_ref().map(ToString::to_string).map_err(|e| e.kind()),
                expected_error.or(case.canonical.as_ref()),
                case.source
            ));
        }
        #[cfg(feature = "model")]
        {
            let model = misdirect::model::parse_pattern(&case.pattern, !case.san);
            assert_eq!(
                model.as_ref().ok().map(misdirect::model::Pattern::text),
                got.as_ref().ok().map(ToString::to_string),
                "model disagrees on {:?}",
                case.pattern
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[derive(Deserialize)]
struct MatchCase {
    pattern: String,
    host: String,
    matches: bool,
    psl_error: Option<String>,
    source: String,
}

#[test]
fn match_vectors() {
    let cases: Vec<MatchCase> = load("match.toml");
    assert!(cases.len() >= 50);
    let mut failures = Vec::new();
    for case in &cases {
        assert!(!case.source.is_empty());
        let authority = Authority::parse(case.host.as_bytes())
            .unwrap_or_else(|e| panic!("vector host {:?}: {e}", case.host));
        let pattern = match NamePattern::parse(&case.pattern) {
            Ok(p) => p,
            Err(e) if cfg!(feature = "psl") && case.psl_error.as_deref() == Some(e.kind()) => {
                continue;
            }
            Err(e) => panic!("vector pattern {:?}: {e}", case.pattern),
        };
        let got = pattern.matches(authority.host());
        if got != case.matches {
            failures.push(format!(
                "{:?} vs {:?}: got {got} [{}]",
                case.pattern, case.host, case.source
            ));
        }
        #[cfg(feature = "model")]
        {
            use misdirect::model;
            let (host, _) = model::parse_authority(case.host.as_bytes(), false).unwrap();
            let p = model::parse_pattern(&case.pattern, true).unwrap();
            assert_eq!(
                model::pattern_matches(&p, &host),
                case.matches,
                "model: {:?}",
                case.source
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The source counts, printed for the record (`cargo test --test vectors -- --nocapture`).
#[test]
fn every_vector_names_its_source() {
    let mut sources = std::collections::BTreeMap::<String, usize>::new();
    let mut total = 0;
    for source in load::<AuthorityCase>("authority.toml")
        .into_iter()
        .map(|c| c.source)
        .chain(
            load::<PatternCase>("pattern.toml")
                .into_iter()
                .map(|c| c.source),
        )
        .chain(
            load::<MatchCase>("match.toml")
                .into_iter()
                .map(|c| c.source),
        )
    {
        // Group by document: "RFC 9525", "UTS #46", "SPEC", "WHATWG", "CVE-2022-23632", ...
        let mut words = source
            .split([' ', ':', ',', ';', '('])
            .filter(|w| !w.is_empty());
        let first = words.next().unwrap_or("");
        let key = match first {
            "RFC" | "UTS" | "CA/B" => format!("{first} {}", words.next().unwrap_or("")),
            _ => first.to_string(),
        };
        assert!(!key.is_empty(), "a vector without a source");
        *sources.entry(key).or_default() += 1;
        total += 1;
    }
    assert!(total >= 200, "{total} vectors");
    println!("{total} vectors");
    for (source, n) in sources {
        println!("{n:4}  {source}");
    }
}
