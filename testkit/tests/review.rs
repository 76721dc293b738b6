//! Hostile review of misdirect-testkit. Every test here failed on the reviewed code: each one
//! showed a place where a passing check, an excuse or a divergence's class told the user
//! something that was not so. A test's name says the defect it showed; the comment above it
//! says what it shows, the correct behaviour, and (where the fix took another road than the
//! review proposed) the resolution. Each now holds the fix.

use misdirect::{
    CertificateConfig, Config, Knobs, ListenerConfig, Method, Server, UnknownHost, Version,
    VhostConfig,
};
use misdirect_testkit::owned::{OwnedConnection, OwnedRequest, OwnedTarget, POLICIES};
use misdirect_testkit::reference::decide_request as decide_with;
use misdirect_testkit::{
    Answer, Case, Class, Deviation, Judgement, Options, check_authority, check_decider,
    check_matcher, judge_authority, judge_decider, judge_matcher, reference,
};

// --- helpers -------------------------------------------------------------------------------

fn parse(bytes: &[u8]) -> Result<(String, Option<u16>), ()> {
    reference::parse_authority(bytes).map_err(|_| ())
}

fn ok(host: &str, port: Option<u16>) -> Result<(String, Option<u16>), ()> {
    Ok((host.to_string(), port))
}

fn describe(j: &Judgement) -> String {
    match j {
        Judgement::Agree { refused } => format!("Agree {{ refused: {refused} }}"),
        Judgement::Excused(d) => format!("Excused({})", d.name()),
        Judgement::Diverges(d) => format!("Diverges({}):\n{d}", d.class()),
    }
}

fn assert_class(j: &Judgement, class: Class, what: &str) {
    assert!(
        matches!(j, Judgement::Diverges(d) if d.class() == class),
        "{what}: expected a {class:?} divergence, the kit says {}",
        describe(j)
    );
}

fn assert_serves(j: &Judgement, what: &str) {
    assert!(
        matches!(j, Judgement::Diverges(d) if d.class() == Class::Serves),
        "{what}: expected a Serves divergence, the kit says {}",
        describe(j)
    );
}

/// Two virtual hosts on one certificate: `v0` (`a.example.com`, policy `public`) and `v1`
/// (`secret.example.com`, policy `mtls`, the one that demands client certificates).
fn two_sites() -> Server<usize> {
    let config = Config {
        listeners: vec![
            ListenerConfig::new("tls", true, 443),
            ListenerConfig::new("clear", false, 80),
        ],
        vhosts: vec![
            VhostConfig::new("v0", &["a.example.com"], "public", 0),
            VhostConfig::new("v1", &["secret.example.com"], "mtls", 1),
        ],
        certificates: vec![CertificateConfig::new(
            "c0",
            &["a.example.com", "secret.example.com"],
        )],
        policies: POLICIES.iter().map(|p| (*p).to_string()).collect(),
        knobs: Knobs::default(),
    };
    Server::build(config).expect("builds")
}

/// A public handshake (SNI `a.example.com`, policy `public`) on the TLS listener.
fn public_handshake() -> OwnedConnection {
    OwnedConnection {
        listener: 0,
        sni: Some(b"a.example.com".to_vec()),
        certificate: 0,
        policy: Some(0),
        gateway: None,
    }
}

/// An HTTP/1.1 origin-form request with these `Host` lines, on a public handshake.
fn h1_case(server: &Server<usize>, hosts: &[&[u8]]) -> Case {
    let request = OwnedRequest {
        version: Version::Http11,
        method: Method::Other,
        scheme: None,
        authorities: vec![],
        hosts: hosts.iter().map(|h| h.to_vec()).collect(),
        target: OwnedTarget::Origin,
    };
    Case::from_owned(server, &public_handshake(), request).expect("a case")
}

/// The engine's decision with every authority field rewritten by `f`.
fn rewritten(case: &Case, f: impl Fn(&[u8]) -> Vec<u8>) -> Answer {
    let server = Server::build(case.config().clone()).expect("builds");
    let request = case
        .rewritten(|field| Some(f(field)))
        .expect("f refuses no field");
    request.with(|request| decide_with(&server, case, request))
}

// =========================================================================================
// 1. Excuses that excuse too much (check_decider)
// =========================================================================================

// SEVERITY: high. With `Deviation::PercentDecoding` accepted, `excuse_decision` excuses ANY
// answer to a request one of whose fields holds a `%` and fails to parse, as soon as the model
// (or the user) says 400. It never asks what the model makes of the decoded request, though
// the Deviation's own docs promise "the decoded host must still be what the model makes of the
// decoded text". Here `Host: secret%2eexample.com` decodes to `secret.example.com`, the mTLS
// site; on a public handshake the model decides that decoded request 421 (rule 6). A decider
// that serves the mTLS site over the public handshake (an mTLS bypass) is excused.
// Correct: judge the decoded request; serving `v1` here is a Serves divergence.
#[test]
fn percent_decoding_excuses_an_mtls_bypass_in_check_decider() {
    let server = two_sites();
    let case = h1_case(&server, &[b"secret%2eexample.com"]);
    let options = Options::default().accepting(Deviation::PercentDecoding);
    let judgement = judge_decider(&options, &case, &Answer::serve("v1"));
    assert_serves(&judgement, "mTLS site served over a public handshake");
}

// SEVERITY: high. Same hole, `Deviation::SubDelims` (the NumericNames and ZoneIds excuses go
// through the same `excused_error`): `Host: secret.example.com!` is a 400 for the model; under
// the sub-delims reading it names a host no virtual host claims (421, rule 4 or 5), and the
// policy mismatches anyway (rule 6). A decider that drops the `!` and serves the mTLS site to a
// public handshake is excused.
// Correct: a Serves divergence (no reading of the field serves `v1` on this handshake).
#[test]
fn sub_delims_excuse_an_mtls_bypass_in_check_decider() {
    let server = two_sites();
    let case = h1_case(&server, &[b"secret.example.com!"]);
    let options = Options::default().accepting(Deviation::SubDelims);
    let judgement = judge_decider(&options, &case, &Answer::serve("v1"));
    assert_serves(&judgement, "mTLS site served for Host secret.example.com!");
}

// SEVERITY: high. The excuse does not even require the excusable field to be the cause of the
// 400. Two `Host` lines are a 400 under every reading (RFC 9112 §3.2 MUST; SPEC rule 1), the
// request-smuggling shape `first_of_two_host_lines` in mutants.rs plants. With PercentDecoding
// accepted, a second line holding a `%` makes a decider that takes the FIRST line (and serves
// the mTLS site over a public handshake, at that) pass.
// Correct: a Serves divergence; an excuse applies only when the deviation's reading explains
// the model's refusal.
#[test]
fn an_excusable_field_excuses_an_unrelated_400() {
    let server = two_sites();
    let case = h1_case(&server, &[b"secret.example.com", b"a%2eexample.com"]);
    let options = Options::default().accepting(Deviation::PercentDecoding);
    let judgement = judge_decider(&options, &case, &Answer::serve("v1"));
    assert_serves(&judgement, "first of two Host lines taken");
}

// =========================================================================================
// 2. Excuses that excuse too much (check_authority)
// =========================================================================================

// SEVERITY: high. `Deviation::SubDelims` ("Accepting such a host is not judged further") is
// keyed on the engine's FIRST error only. The engine scans left to right, so a host whose first
// bad byte is a sub-delim excuses every later byte: NUL, CR LF (header injection), anything.
// `a!b.example.com\r\nx` and `a!\0b.example.com` hold bytes no reading of RFC 3986 allows.
// Correct: excuse only hosts whose every refused byte is a sub-delim (Serves otherwise).
#[test]
fn sub_delims_excuse_accepts_nul_and_crlf() {
    let options = Options::default().accepting(Deviation::SubDelims);
    let mut excused = Vec::new();
    for input in [
        &b"a!b.example.com\r\nx"[..],
        b"a!\0b.example.com",
        b"a=b.example.com\0",
    ] {
        let host = String::from_utf8(input.to_vec()).unwrap();
        let judgement = judge_authority(&options, input, Ok((host, None)));
        if !matches!(&judgement, Judgement::Diverges(d) if d.class() == Class::Serves) {
            excused.push(format!(
                "{:?}: {}",
                String::from_utf8_lossy(input),
                describe(&judgement)
            ));
        }
    }
    assert!(excused.is_empty(), "{}", excused.join("\n"));
}

// SEVERITY: medium. `Deviation::NumericNames` compares only the host text and never the port,
// and it is chosen whenever the engine's first error is NumericName, which it reports before
// the port or the A-labels are looked at. So `1.2.3:99999` accepted with port 34463 (99999
// wrapped, a real u16 bug), `1.2.3:0` and `1.2.3:+443` are excused, and so is `xn--a.123`,
// whose `xn--a` is invalid Punycode under any reading.
// Correct: the NumericNames reading still parses the port and checks the labels (Serves).
#[test]
fn numeric_names_excuse_ignores_the_port_and_a_labels() {
    let options = Options::default().accepting(Deviation::NumericNames);
    let mut excused = Vec::new();
    for (input, user) in [
        (&b"1.2.3:99999"[..], ok("1.2.3", Some(34463))),
        (b"1.2.3:0", ok("1.2.3", Some(0))),
        (b"1.2.3:+443", ok("1.2.3", Some(443))),
        (b"xn--a.123", ok("xn--a.123", None)),
    ] {
        let judgement = judge_authority(&options, input, user);
        if !matches!(&judgement, Judgement::Diverges(d) if d.class() == Class::Serves) {
            excused.push(format!(
                "{:?}: {}",
                String::from_utf8_lossy(input),
                describe(&judgement)
            ));
        }
    }
    assert!(excused.is_empty(), "{}", excused.join("\n"));
}

// SEVERITY: medium. `Deviation::PercentDecoding` is documented as RFC 9110 §4.2.3's reading,
// which makes UNRESERVED characters equivalent to their encodings. The excuse decodes every
// `%XX`, reserved delimiters included: `example.com%3A8443` read as host `example.com` port 8443,
// and `%5B2001:db8::1%5D` read as an IPv6 literal, are excused. RFC 3986 §2.2/§6.2.2.2: an
// encoded reserved character is data, not a delimiter; a parser that splits on `%3A` picks the
// other side of a port differential from every front end that does not.
// Correct: decode only unreserved octets in the excuse (these are Serves).
#[test]
fn percent_decoding_excuse_decodes_delimiters() {
    let options = Options::default().accepting(Deviation::PercentDecoding);
    let judgement = judge_authority(
        &options,
        b"example.com%3A8443",
        ok("example.com", Some(8443)),
    );
    assert_serves(&judgement, "%3A read as the port separator");
    let judgement = judge_authority(&options, b"%5B2001:db8::1%5D", ok("[2001:db8::1]", None));
    assert_serves(&judgement, "%5B..%5D read as brackets");
}

// SEVERITY: medium (false positive in the security class; docs promise). `Deviation::LongPorts`
// ("port 0, and ports of more than five digits with leading zeros") excuses NOTHING: its branch
// in `excused_error` matches only `AuthorityError::InvalidPort` (a non-digit), then requires
// every byte to be a digit, which never holds; `:0` is `PortZero` and `:000443` is
// `PortTooLong`, neither looked at. A parser taking exactly the documented reading (RFC 3986
// `*DIGIT`: `:000443` is 443) is reported as serving what must be refused. (Fixed as written,
// it would then excuse any host and port: "not judged further".)
// Correct: Excused(LongPorts) for the reading's own answer.
#[test]
fn long_ports_deviation_excuses_nothing() {
    let options = Options::default().accepting(Deviation::LongPorts);
    let mut wrong = Vec::new();
    for (input, port) in [
        (&b"a.example.com:000443"[..], 443u16),
        (b"a.example.com:0", 0),
    ] {
        let judgement = judge_authority(&options, input, ok("a.example.com", Some(port)));
        if !matches!(judgement, Judgement::Excused(Deviation::LongPorts)) {
            wrong.push(describe(&judgement));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// =========================================================================================
// 3. Wrong classes
// =========================================================================================

// SEVERITY: high. A parser that accepts with ANOTHER canonical host is a host-confusion
// (parser-differential) bug: `[::ffff:192.0.2.1]` read as `192.0.2.1` (Go's `To4()` idiom;
// SPEC §2: "`[::ffff:192.0.2.1]` never equals `192.0.2.1`") serves 192.0.2.1's site for a
// request naming another origin. The kit classes it `Differs`, ranked BELOW `Refuses`, so a
// parser that also refuses `_` (a common, harmless strictness) gets only the availability
// report and the host confusion is never shown (it is found, at case 110, with
// `only(Differs)`).
// Correct: accepting as another host is Serves (or at least ranks above Refuses).
// Resolution: the contract keeps "parses differently" in Differs; Differs now ranks
// above Refuses, and a divergence names the other classes met.
#[test]
fn host_confusion_is_hidden_behind_an_availability_bug() {
    let judgement = judge_authority(
        &Options::default(),
        b"[::ffff:192.0.2.1]",
        ok("192.0.2.1", None),
    );
    assert_class(&judgement, Class::Differs, "IPv4-mapped read as IPv4");

    let parser = |b: &[u8]| -> Result<(String, Option<u16>), ()> {
        if b.contains(&b'_') {
            return Err(());
        }
        let (host, port) = parse(b)?;
        match host
            .strip_prefix("[::ffff:")
            .and_then(|r| r.strip_suffix(']'))
        {
            Some(v4) if v4.parse::<std::net::Ipv4Addr>().is_ok() => Ok((v4.to_string(), port)),
            _ => Ok((host, port)),
        }
    };
    let d = check_authority(Options::default(), parser).unwrap_err();
    assert!(
        d.input().contains("::ffff:"),
        "the host confusion is not what the user is shown:\n{d}"
    );
}

// SEVERITY: medium. Serving a request with ANOTHER virtual host than the model's is classed
// `Differs` ("routes differently"). Here the model serves `a.example.com` with `v0`; the
// decider serves it with `v1`, the mTLS site, to a public handshake: `v1` must refuse this
// request, and its content goes to a client that never presented a certificate.
// Correct: serving a virtual host the model does not serve is Serves for that virtual host.
// Resolution: the contract puts "routes differently" in Differs; it is a divergence
// (returned before any Refuses), and its reason names the model's virtual host.
#[test]
fn serving_another_vhost_is_only_differs() {
    let server = two_sites();
    let case = h1_case(&server, &[b"a.example.com"]);
    let judgement = judge_decider(&Options::default(), &case, &Answer::serve("v1"));
    assert_class(
        &judgement,
        Class::Differs,
        "mTLS vhost v1 served for a.example.com",
    );
    let Judgement::Diverges(d) = judgement else {
        unreachable!()
    };
    assert!(
        d.model().contains("\"v0\"") && d.user().contains("\"v1\""),
        "{d}"
    );
}

// SEVERITY: low. A served `Answer` without a virtual host (`vhost: None`) agrees with every
// case the model serves: the routing is not judged at all, and an adapter that cannot name
// its virtual host passes whatever it routes to. Neither the docs nor the check say so.
// Correct: a served answer must name the virtual host (or the check must refuse to run).
#[test]
fn a_served_answer_without_a_vhost_always_agrees() {
    let server = two_sites();
    let case = h1_case(&server, &[b"a.example.com"]);
    let answer = Answer {
        status: 200,
        vhost: None,
    };
    let judgement = judge_decider(&Options::default(), &case, &answer);
    assert!(
        matches!(judgement, Judgement::Diverges(_)),
        "routing unjudged: {}",
        describe(&judgement)
    );
}

// =========================================================================================
// 4. False negatives within the default budget
// =========================================================================================

// SEVERITY: high. A parser that strips brackets and hands the inside to an IP parser
// (`trim_matches(['[', ']']).parse::<IpAddr>()`) accepts `[192.0.2.1]` as 192.0.2.1. The
// model refuses it (SPEC §2: brackets hold RFC 4291 text; `InvalidIpv6`), and the kit would
// class it Serves, but its generators never put an IPv4 address in brackets: the check passes.
// Correct: the check catches it (Serves) within the default budget.
#[test]
fn bracketed_ipv4_parser_passes_check_authority() {
    assert_serves(
        &judge_authority(&Options::default(), b"[192.0.2.1]", ok("192.0.2.1", None)),
        "the kit knows it is wrong",
    );
    let result = check_authority(
        Options::default(),
        |b: &[u8]| -> Result<(String, Option<u16>), ()> {
            if let (Some(b'['), Some(close)) = (b.first(), b.iter().position(|&c| c == b']')) {
                let inner = std::str::from_utf8(&b[1..close]).map_err(|_| ())?;
                if let Ok(std::net::IpAddr::V4(v4)) = inner.parse::<std::net::IpAddr>() {
                    let port = match b[close + 1..].strip_prefix(b":") {
                        Some(p) if !p.is_empty() => Some(
                            std::str::from_utf8(p)
                                .map_err(|_| ())?
                                .parse()
                                .map_err(|_| ())?,
                        ),
                        _ => None,
                    };
                    return Ok((v4.to_string(), port));
                }
            }
            parse(b)
        },
    );
    assert!(result.is_err(), "passed: {}", result.unwrap());
}

// SEVERITY: high. A decider whose host parser maps an IPv4-mapped IPv6 literal to the IPv4
// address (`[::ffff:192.0.2.1]` is `192.0.2.1`; Go's `ip.To4() != nil`) serves the 192.0.2.1
// site, with a certificate that does not cover the IPv6 host, where the model refuses (rule 4
// or 5). The generators draw `[::ffff:192.0.2.1]` in about one request field in 130, and almost
// never on a configuration with a 192.0.2.1 site: the check passes.
// Correct: check_decider finds this Serves bug within its default budget.
#[test]
fn ipv4_mapped_decider_passes_check_decider() {
    let result = check_decider(Options::default(), |case| {
        rewritten(case, |field| {
            let text = String::from_utf8_lossy(field).to_ascii_lowercase();
            if let Some((v4, rest)) = text
                .strip_prefix("[::ffff:")
                .and_then(|r| r.split_once(']'))
            {
                if v4.parse::<std::net::Ipv4Addr>().is_ok() {
                    return format!("{v4}{rest}").into_bytes();
                }
            }
            field.to_vec()
        })
    });
    assert!(result.is_err(), "passed: {}", result.unwrap());
}

// SEVERITY: medium. A matcher that compares with Unicode case folding (Java's
// `equalsIgnoreCase`, JavaScript's `toLowerCase`, Rust's `to_lowercase`) matches the host
// `\u{212A}.example.com` (KELVIN SIGN) against the pattern `k.example.com`: the look-alike
// folding SPEC §1 forbids ("never with Unicode case or look-alike folding"). The kit classes
// the pair Serves, but its (pattern, host) pairs never put a look-alike where the pattern has
// the letter: the check passes.
// Correct: the check catches it within the default budget.
#[test]
fn unicode_case_folding_matcher_passes_check_matcher() {
    let folding = |p: &str, h: &str| reference::name_matches(&p.to_lowercase(), &h.to_lowercase());
    assert!(folding("k.example.com", "\u{212A}.example.com"));
    assert_serves(
        &judge_matcher(
            &Options::default(),
            "k.example.com",
            "\u{212A}.example.com",
            true,
        ),
        "the kit knows it is wrong",
    );
    let result = check_matcher(Options::default(), folding);
    assert!(result.is_err(), "passed: {}", result.unwrap());
}

// =========================================================================================
// 5. False positives
// =========================================================================================

// SEVERITY: low. `~` is unreserved in RFC 3986 (reg-name = *( unreserved / pct-encoded /
// sub-delims )). SPEC refuses it, but SPEC §7's deviation list has no entry for it, and no
// `Deviation` excuses it: a parser implementing reg-name exactly, with SubDelims and
// PercentDecoding accepted, is reported as a SECURITY bug for `a~b.example.com`.
// Correct: an undeclared deviation is excusable (SubDelims, or a Deviation of its own).
#[test]
fn rfc3986_tilde_is_a_serves_divergence() {
    let options = Options::default()
        .accepting(Deviation::SubDelims)
        .accepting(Deviation::PercentDecoding);
    let judgement = judge_authority(&options, b"a~b.example.com", ok("a~b.example.com", None));
    assert!(
        !matches!(judgement, Judgement::Diverges(_)),
        "{}",
        describe(&judgement)
    );
}

// SEVERITY: low. docs/testkit.md: check_matcher's function answers "does this pattern (a
// certificate name or a virtual host name) cover this host?". SPEC §3: configuration names
// may use U-labels (`bücher.example` is `xn--bcher-kva.example`). A correct virtual-host
// matcher is reported as a SECURITY divergence, because the judge reads every pattern as a
// SAN (ASCII only), and there is no option to say the patterns are configuration names.
// Correct: Agree for a virtual-host-name matcher (an option, or the docs say SAN only).
#[test]
fn vhost_name_matcher_with_u_labels_is_a_serves_divergence() {
    // A certificate matcher must not (SANs are ASCII): the default reading.
    assert_serves(
        &judge_matcher(
            &Options::default(),
            "bücher.example",
            "xn--bcher-kva.example",
            true,
        ),
        "a U-label SAN matched",
    );
    let options = Options {
        configuration_names: true,
        ..Options::default()
    };
    let judgement = judge_matcher(&options, "bücher.example", "xn--bcher-kva.example", true);
    assert!(
        !matches!(judgement, Judgement::Diverges(_)),
        "{}",
        describe(&judgement)
    );
}

// SEVERITY: low. `Options::knobs` docs: "With `UnknownHost::Fallback(name)`, name a generated
// virtual host". Naming one that never exists makes every configuration fail to build; the
// run aborts and is reported as a `Differs` DIVERGENCE of the user's code (empty input, empty
// model answer), even for the engine itself.
// Correct: an error about the options, not a divergence of the code under test.
// Resolution: the check panics, naming the options, rather than report a divergence.
#[test]
#[should_panic(expected = "a fallback knob must name a generated virtual host")]
fn a_bad_fallback_option_is_reported_as_a_divergence_of_the_engine() {
    let mut options = Options::default().with_cases(16);
    options.knobs.unknown_host = UnknownHost::Fallback("www".to_string());
    let _ = check_decider(options, reference::decide);
}

// =========================================================================================
// 6. The runner and its reports
// =========================================================================================

// SEVERITY: high. The runner fails on Refuses/Differs only in a SECOND pass over the same
// seed. A user function with state (a cache, a lazily built index, a warm-up: anything a real
// server has) that diverged in the first pass but not in the second makes the check return
// `Ok`: the divergence met is dropped, and the Report says "1024 cases agree with the model".
// Here the parser refuses its first 20 inputs (an index not yet loaded).
// Correct: a divergence met is returned (the case kept from the first pass), never dropped.
#[test]
fn a_divergence_that_does_not_recur_is_dropped() {
    let mut calls = 0u32;
    let result = check_authority(
        Options::default(),
        move |b: &[u8]| -> Result<(String, Option<u16>), ()> {
            calls += 1;
            if calls <= 20 {
                return Err(());
            }
            parse(b)
        },
    );
    assert!(result.is_err(), "passed: {}", result.unwrap());
}

// SEVERITY: low. With `Options::only(Class::Serves)`, every Refuses and Differs divergence is
// counted into `Report::cases` and the Report prints "N cases agree with the model". A parser
// that refuses everything "agrees" in all 1,024 cases.
// Correct: the Report counts (and says) what did not agree, or does not claim agreement.
#[test]
fn only_serves_reports_refusals_as_agreement() {
    let report = check_authority(
        Options::default().only(Class::Serves),
        |_: &[u8]| -> Result<(String, Option<u16>), ()> { Err(()) },
    )
    .expect("no Serves");
    assert!(
        report.diverged > 0
            && report
                .to_string()
                .contains("diverge in classes not looked for"),
        "the Report claims agreement for cases that diverged: {report}"
    );
}

// SEVERITY: low. `with_cases(0)` (or `MISDIRECT_TESTKIT_CASES=0`, or a typo the parse ignores)
// makes every check pass without running the function once; the Report is `Ok`.
// Correct: a check that ran no case does not pass.
// Resolution: a check of no case panics.
#[test]
#[should_panic(expected = "a check of no case cannot pass")]
fn zero_cases_pass() {
    let _ = check_authority(
        Options::default().with_cases(0),
        |_: &[u8]| -> Result<(String, Option<u16>), ()> { Ok((String::new(), None)) },
    );
}

// =========================================================================================
// 7. The printed Case
// =========================================================================================

// SEVERITY: low. `Case::from_owned` (public) holds the TOML part of the Display to reading back,
// but the connection comments print the certificate id and the policy name RAW. An id holding
// a newline (the TOML quoting of the configuration part handles it) breaks out of the comment
// and injects TOML: the printed case no longer reads back.
// Correct: the comments escape every name as the request bytes are escaped.
#[test]
fn a_certificate_id_injects_toml_into_the_printed_case() {
    let config = Config {
        listeners: vec![ListenerConfig::new("tls", true, 443)],
        vhosts: vec![VhostConfig::new("v0", &["a.example.com"], "public", 0)],
        certificates: vec![CertificateConfig::new(
            "c0\n[[vhosts]]\nname = \"injected\"",
            &["a.example.com"],
        )],
        policies: POLICIES.iter().map(|p| (*p).to_string()).collect(),
        knobs: Knobs::default(),
    };
    let server = Server::build(config).expect("builds");
    let request = OwnedRequest {
        version: Version::Http11,
        method: Method::Other,
        scheme: None,
        authorities: vec![],
        hosts: vec![b"a.example.com".to_vec()],
        target: OwnedTarget::Origin,
    };
    let case = Case::from_owned(&server, &public_handshake(), request).expect("a case");
    let text = case.to_string();
    let read = Config::<String>::from_toml(&text, std::path::Path::new("."));
    assert!(
        read.as_ref().is_ok_and(|c| c == case.config()),
        "the printed case does not read back ({:?}):\n{text}",
        read.err().map(|e| e.to_string())
    );
}
