//! The kit finds what it must, and nothing else: planted bugs in wrappers around misdirect's
//! own engine, each caught within the default budget with its class; the engine itself, and
//! each planted bug's reading when it is an accepted deviation, give no divergence.

use misdirect::{Host, NamePattern, Request, Server, SniPolicy};
use misdirect_testkit::{
    Answer, Case, Class, Deviation, Divergence, Options, Report, check_authority, check_decider,
    check_matcher, reference,
};

// --- correct adapters: the kit's reference, the engine behind the three signatures ---------

fn parse(bytes: &[u8]) -> Result<(String, Option<u16>), ()> {
    reference::parse_authority(bytes).map_err(|_| ())
}

use reference::{decide, decide_request as decide_with, name_matches as matches};

fn caught(name: &str, result: Result<Report, Divergence>, class: Class) -> Divergence {
    let divergence = match result {
        Ok(report) => panic!("{name}: not caught ({report})"),
        Err(d) => d,
    };
    assert_eq!(divergence.class(), class, "{name}: {divergence}");
    println!(
        "{name}: caught after {} cases\n{divergence}\n",
        divergence.found_after()
    );
    divergence
}

#[test]
fn the_engine_passes_every_check() {
    for seed in [0, 1] {
        let options = || Options::default().with_seed(seed);
        let report = check_authority(options(), parse).unwrap_or_else(|d| panic!("{d}"));
        assert!(
            report.model_refused > 0 && report.model_refused < report.cases,
            "{report}"
        );
        let report = check_matcher(options(), matches).unwrap_or_else(|d| panic!("{d}"));
        assert!(
            report.model_refused > 0 && report.model_refused < report.cases,
            "{report}"
        );
        let report = check_decider(options(), decide).unwrap_or_else(|d| panic!("{d}"));
        assert!(
            report.model_refused > 0 && report.model_refused < report.cases,
            "{report}"
        );
    }
}

#[test]
fn the_engine_passes_under_other_knobs() {
    let mut options = Options::default();
    options.knobs.sni = SniPolicy::Strict;
    options.knobs.strict_host_consistency = false;
    check_decider(options, decide).unwrap_or_else(|d| panic!("{d}"));
}

// --- planted bugs: the parser ----------------------------------------------------------

#[test]
fn userinfo_accepted() {
    let d = caught(
        "userinfo accepted",
        check_authority(
            Options::default(),
            |bytes: &[u8]| -> Result<(String, Option<u16>), ()> {
                let at = bytes.iter().rposition(|&b| b == b'@').map_or(0, |i| i + 1);
                parse(&bytes[at..])
            },
        ),
        Class::Serves,
    );
    assert!(d.input().contains('@'), "{d}");
}

#[test]
fn trailing_dot_kept() {
    let d = caught(
        "trailing dot kept",
        check_authority(
            Options::default(),
            |bytes: &[u8]| -> Result<(String, Option<u16>), ()> {
                let (host, port) = parse(bytes)?;
                let text = String::from_utf8_lossy(bytes);
                let wire_host = text.rsplit_once(':').map_or(&*text, |(h, _)| h);
                let dotted = wire_host.ends_with('.') && !host.starts_with('[');
                Ok((if dotted { format!("{host}.") } else { host }, port))
            },
        ),
        Class::Differs,
    );
    assert!(d.input().contains('.'), "{d}");
}

#[test]
fn a_labels_unchecked() {
    caught(
        "A-labels unchecked",
        check_authority(
            Options::default(),
            |bytes: &[u8]| -> Result<(String, Option<u16>), ()> {
                // Every xn-- label replaced by a plain one for the check, the input kept.
                let text = std::str::from_utf8(bytes).map_err(|_| ())?;
                if !text.to_ascii_lowercase().contains("xn--") {
                    return parse(bytes);
                }
                let plain: Vec<String> = text
                    .split('.')
                    .map(|l| {
                        if l.to_ascii_lowercase().starts_with("xn--") {
                            "x".to_string()
                        } else {
                            l.to_string()
                        }
                    })
                    .collect();
                let (_, port) = parse(plain.join(".").as_bytes())?;
                let host = text
                    .rsplit_once(':')
                    .map_or(text, |(h, _)| h)
                    .to_ascii_lowercase();
                Ok((host.strip_suffix('.').unwrap_or(&host).to_string(), port))
            },
        ),
        Class::Serves,
    );
}

#[test]
fn ipv4_shorthand() {
    let d = caught(
        "IPv4 shorthand",
        check_authority(
            Options::default(),
            |bytes: &[u8]| -> Result<(String, Option<u16>), ()> {
                // inet_aton's reading: 127.1 is 127.0.0.1.
                let text = std::str::from_utf8(bytes).map_err(|_| ())?;
                let parts: Vec<&str> = text.split('.').collect();
                if (2..4).contains(&parts.len())
                    && parts
                        .iter()
                        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                {
                    let last: u32 = parts[parts.len() - 1].parse().map_err(|_| ())?;
                    let first: Vec<u32> = parts[..parts.len() - 1]
                        .iter()
                        .filter_map(|p| p.parse().ok())
                        .collect();
                    let mut value = last;
                    for (i, p) in first.iter().enumerate() {
                        value |= p << (24 - 8 * i);
                    }
                    return Ok((std::net::Ipv4Addr::from(value).to_string(), None));
                }
                parse(bytes)
            },
        ),
        Class::Serves,
    );
    assert!(!d.input().contains(':'), "{d}");
}

#[test]
fn percent_decoded() {
    // RFC 9110 §4.2.3's reading: unreserved characters of a reg-name host decoded (not in an
    // IP-literal, not in the port, not a reserved delimiter).
    let decode = |bytes: &[u8]| -> Result<(String, Option<u16>), ()> {
        if bytes.first() == Some(&b'[') {
            return parse(bytes);
        }
        let end = bytes
            .iter()
            .rposition(|&b| b == b':')
            .unwrap_or(bytes.len());
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i < end {
                let hex = bytes.get(i + 1..i + 3).ok_or(())?;
                let byte = u8::from_str_radix(std::str::from_utf8(hex).map_err(|_| ())?, 16)
                    .map_err(|_| ())?;
                if !(byte.is_ascii_alphanumeric() || b"-._~".contains(&byte)) {
                    return Err(());
                }
                out.push(byte);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        parse(&out)
    };
    caught(
        "percent-decoding",
        check_authority(Options::default(), decode),
        Class::Serves,
    );
    // RFC 9110's reading, accepted: no divergence, and some cases excused.
    let report = check_authority(
        Options::default().accepting(Deviation::PercentDecoding),
        decode,
    )
    .unwrap_or_else(|d| panic!("{d}"));
    assert!(report.excused > 0, "{report}");
}

#[test]
fn non_numeric_port_read_as_none() {
    caught(
        "a port that is not a number ignored",
        check_authority(
            Options::default(),
            |bytes: &[u8]| -> Result<(String, Option<u16>), ()> {
                let text = std::str::from_utf8(bytes).map_err(|_| ())?;
                match text.rsplit_once(':') {
                    Some((host, port)) if !host.ends_with(']') || text.starts_with('[') => {
                        let (host, _) = parse(host.as_bytes())?;
                        Ok((host, port.parse().ok()))
                    }
                    _ => parse(bytes),
                }
            },
        ),
        Class::Serves,
    );
}

// --- planted bugs: the matcher ---------------------------------------------------------

#[test]
fn case_sensitive_compare() {
    caught(
        "case-sensitive compare",
        check_matcher(Options::default(), |pattern, host| {
            matches(pattern, host)
                && !host
                    .bytes()
                    .chain(pattern.bytes())
                    .any(|b| b.is_ascii_uppercase())
        }),
        Class::Refuses,
    );
}

#[test]
fn wildcard_crossing_a_dot() {
    let d = caught(
        "a wildcard crossing a dot",
        check_matcher(Options::default(), |pattern, host| {
            if let (Some(parent), Ok(Host::Dns(name))) =
                (pattern.strip_prefix("*."), Host::parse(host.as_bytes()))
            {
                if NamePattern::parse_san(pattern.as_bytes()).is_ok() {
                    return name
                        .as_str()
                        .ends_with(&format!(".{}", parent.to_ascii_lowercase()));
                }
            }
            matches(pattern, host)
        }),
        Class::Serves,
    );
    assert!(d.input().contains('*'), "{d}");
}

#[test]
fn wildcard_matching_the_apex() {
    caught(
        "a wildcard matching its apex",
        check_matcher(Options::default(), |pattern, host| {
            let apex = pattern.strip_prefix("*.").is_some_and(|p| matches(p, host));
            matches(pattern, host) || (apex && NamePattern::parse_san(pattern.as_bytes()).is_ok())
        }),
        Class::Serves,
    );
}

#[test]
fn pattern_trailing_dot() {
    let lenient =
        |pattern: &str, host: &str| matches(pattern.strip_suffix('.').unwrap_or(pattern), host);
    caught(
        "a pattern's trailing dot dropped",
        check_matcher(Options::default(), lenient),
        Class::Serves,
    );
    let report = check_matcher(
        Options::default().accepting(Deviation::PatternTrailingDot),
        lenient,
    )
    .unwrap_or_else(|d| panic!("{d}"));
    assert!(report.excused > 0, "{report}");
}

// --- planted bugs: the decision --------------------------------------------------------

/// The request with every authority field rewritten by `f`.
fn rewritten(case: &Case, f: impl Fn(&[u8]) -> Vec<u8>) -> Answer {
    let server = Server::build(case.config().clone()).expect("builds");
    let request = case
        .rewritten(|field| Some(f(field)))
        .expect("f refuses no field");
    request.with(|request| decide_with(&server, case, request))
}

fn without_port(field: &[u8]) -> Vec<u8> {
    let end = if field.first() == Some(&b'[') {
        field
            .iter()
            .position(|&b| b == b']')
            .map_or(field.len(), |i| i + 1)
    } else {
        field
            .iter()
            .rposition(|&b| b == b':')
            .unwrap_or(field.len())
    };
    field[..end].to_vec()
}

#[test]
fn port_ignored() {
    caught(
        "the port ignored",
        check_decider(Options::default(), |case| rewritten(case, without_port)),
        Class::Serves,
    );
}

#[test]
fn tls_policy_ignored() {
    caught(
        "the TLS policy ignored",
        check_decider(Options::default(), |case| {
            let mut config = case.config().clone();
            config.knobs.sni = SniPolicy::CertCovered;
            let server = Server::build(config).expect("builds");
            decide_with(&server, case, &case.request())
        }),
        Class::Serves,
    );
}

#[test]
fn sni_trusted_over_the_host() {
    // The policy checked at the handshake, for the SNI's virtual host, taken as settled for
    // whatever host the request names (GHSA-5r4w-85f3-pw66's shape).
    caught(
        "SNI trusted over the request's host",
        check_decider(Options::default(), |case| {
            let server = Server::build(case.config().clone()).expect("builds");
            let Some(listener) = server.listener_id(&case.listener().name) else {
                return decide(case);
            };
            let sni_policy = server
                .sni_vhost(listener, case.sni())
                .map(|v| case.config().vhosts[v].policy.as_str());
            if case.tls() && sni_policy.is_some() && sni_policy == case.policy() {
                let mut config = case.config().clone();
                config.knobs.sni = SniPolicy::CertCovered;
                let lenient = Server::build(config).expect("builds");
                return decide_with(&lenient, case, &case.request());
            }
            decide_with(&server, case, &case.request())
        }),
        Class::Serves,
    );
}

#[test]
fn first_of_two_host_lines() {
    caught(
        "the first of two Host lines taken",
        check_decider(Options::default(), |case| {
            let request = case.request();
            let hosts = &request.hosts[..request.hosts.len().min(1)];
            let server = Server::build(case.config().clone()).expect("builds");
            decide_with(&server, case, &Request { hosts, ..request })
        }),
        Class::Serves,
    );
}

#[test]
fn a_421_for_every_wildcard_host() {
    // Traefik's next release (traefik#13303): refusing what a wildcard legitimately serves.
    caught(
        "421 for hosts a wildcard serves",
        check_decider(Options::default(), |case| {
            let answer = decide(case);
            let wildcard = case.config().vhosts.iter().any(|v| {
                Some(&v.name) == answer.vhost.as_ref()
                    && v.names.iter().any(|n| n.starts_with("*."))
            });
            if wildcard {
                Answer::refuse(421)
            } else {
                answer
            }
        }),
        Class::Refuses,
    );
}

// --- readings: caught by default, passed once their deviation is accepted ---------------

#[test]
fn long_ports_are_a_reading() {
    // RFC 3986's `*DIGIT`: `:000443` is 443, `:0` is 0.
    let lenient = |bytes: &[u8]| -> Result<(String, Option<u16>), ()> {
        match reference::parse_authority(bytes) {
            Ok(a) => return Ok(a),
            Err(
                misdirect::AuthorityError::PortZero { .. }
                | misdirect::AuthorityError::PortTooLong { .. },
            ) => {}
            Err(_) => return Err(()),
        }
        let text = std::str::from_utf8(bytes).map_err(|_| ())?;
        let (host, port) = text.rsplit_once(':').ok_or(())?;
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        let (host, _) = parse(host.as_bytes())?;
        Ok((host, Some(port.parse::<u16>().map_err(|_| ())?)))
    };
    caught(
        "long ports",
        check_authority(Options::default(), lenient),
        Class::Serves,
    );
    let report = check_authority(Options::default().accepting(Deviation::LongPorts), lenient)
        .unwrap_or_else(|d| panic!("{d}"));
    assert!(report.excused > 0, "{report}");
}

#[test]
fn numeric_names_are_a_reading_of_patterns_too() {
    // A guard that compares names, numeric last labels included (`0` matches `0`).
    let textual = |pattern: &str, wire: &str| {
        let host = wire.to_ascii_lowercase();
        let host = host.strip_suffix('.').unwrap_or(&host);
        let numeric = matches!(
            NamePattern::parse_san(pattern.as_bytes()),
            Err(misdirect::PatternError::NumericLastLabel { .. })
        );
        if numeric && !pattern.starts_with('*') {
            let valid = |t: &str| {
                t.split('.')
                    .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric()))
            };
            return valid(host) && host == pattern.to_ascii_lowercase();
        }
        matches(pattern, wire)
    };
    caught(
        "numeric names matched",
        check_matcher(Options::default(), textual),
        Class::Serves,
    );
    check_matcher(
        Options::default().accepting(Deviation::NumericNames),
        textual,
    )
    .unwrap_or_else(|d| panic!("{d}"));
}

#[test]
fn a_guard_without_wildcards_is_a_reading() {
    let exact_only =
        |pattern: &str, host: &str| !pattern.starts_with('*') && matches(pattern, host);
    caught(
        "no wildcards",
        check_matcher(Options::default(), exact_only),
        Class::Refuses,
    );
    let report = check_matcher(
        Options::default().accepting(Deviation::NoWildcards),
        exact_only,
    )
    .unwrap_or_else(|d| panic!("{d}"));
    assert!(report.excused > 0, "{report}");
}

#[test]
fn hyphen_edges_are_a_reading() {
    // A guard that compares names as a wire host reads them: `a-.example.com` is a name.
    let lenient = |pattern: &str, host: &str| {
        let edges = matches!(
            NamePattern::parse_san(pattern.as_bytes()),
            Err(misdirect::PatternError::HyphenAtLabelEdge { .. })
        );
        if edges && !pattern.contains('_') && !host.contains('_') {
            return matches(&pattern.replace('-', "_"), &host.replace('-', "_"));
        }
        matches(pattern, host)
    };
    caught(
        "hyphen edges",
        check_matcher(Options::default(), lenient),
        Class::Serves,
    );
    let report = check_matcher(
        Options::default().accepting(Deviation::HyphenEdges),
        lenient,
    )
    .unwrap_or_else(|d| panic!("{d}"));
    assert!(report.excused > 0, "{report}");
}
