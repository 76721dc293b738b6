//! The three checks: a runner over proptest that draws cases, judges each against the model,
//! and shrinks the first divergence within its class; and the judges, public so that a
//! `cargo fuzz` target can call them on one input.

use core::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use misdirect::model::{self, Host, Pattern};
use misdirect::{Authority, AuthorityError, NamePattern, Verdict, WireUnicode};
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use crate::case::{Case, escaped};
use crate::options::{Deviation, Options};
use crate::report::{Answer, Class, Divergence, Report};

/// The judgement of one case.
#[derive(Clone, Debug)]
pub enum Judgement {
    /// The code under test answered as the model; `refused` says whether the model refused.
    Agree {
        /// The model refused the input (or the request).
        refused: bool,
    },
    /// It answered otherwise, as an accepted [`Deviation`] allows.
    Excused(Deviation),
    /// It answered otherwise.
    Diverges(Box<Divergence>),
}

impl Judgement {
    /// The divergence, if it is one.
    #[must_use]
    pub fn divergence(self) -> Option<Divergence> {
        match self {
            Judgement::Diverges(d) => Some(*d),
            _ => None,
        }
    }
}

fn divergence(
    class: Class,
    check: &'static str,
    input: String,
    model: String,
    user: String,
) -> Judgement {
    Judgement::Diverges(Box::new(Divergence {
        class,
        check,
        input,
        model,
        user,
        found_after: 0,
        case: None,
    }))
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}

struct State<J> {
    judge: J,
    report: Report,
    /// The first divergence of each class met, with the case it was met at.
    met: [Option<u32>; 3],
    /// The class a pass fails on, once it has failed (shrinking).
    failed: bool,
    seen: u32,
}

fn slot(class: Class) -> usize {
    match class {
        Class::Serves => 0,
        Class::Refuses => 1,
        Class::Differs => 2,
    }
}

const GRAVEST_FIRST: [Class; 3] = [Class::Serves, Class::Refuses, Class::Differs];

/// Runs the budget, and returns the first divergence of the gravest class it meets, shrunk
/// within that class: a `Serves` stops the run at once; a `Refuses` or `Differs` is noted and
/// the run goes on (a server wrong both ways shows its security bug first). The first pass
/// fails only on `Serves`; when it met only lesser classes, a second pass with the same seed
/// draws the same cases and fails on the gravest one met, so that proptest shrinks it.
fn run<V: core::fmt::Debug>(
    options: &Options,
    default_cases: u32,
    strategy: impl Strategy<Value = V>,
    judge: impl FnMut(&V) -> Judgement,
) -> Result<Report, Divergence> {
    let cases = options.cases.unwrap_or(default_cases);
    let runner = || {
        let mut config = Config::default();
        config.cases = cases;
        config.failure_persistence = None;
        config.max_shrink_iters = options.max_shrink_iters;
        config.max_global_rejects = cases.saturating_mul(16).max(1024);
        config.max_local_rejects = config.max_global_rejects;
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&options.seed.to_le_bytes());
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed))
    };
    let state = RefCell::new(State {
        judge,
        report: Report::default(),
        met: [None; 3],
        failed: false,
        seen: 0,
    });
    let mut report = None;
    for target in GRAVEST_FIRST {
        if options.only.is_some_and(|only| only != target) {
            continue;
        }
        if report.is_some() && state.borrow().met[slot(target)].is_none() {
            continue;
        }
        {
            let mut state = state.borrow_mut();
            state.failed = false;
            state.seen = 0;
        }
        let counting = report.is_none();
        let outcome = runner().run(&strategy, |value| {
            let mut state = state.borrow_mut();
            let shrinking = state.failed;
            if !shrinking {
                state.seen += 1;
            }
            let judgement = (state.judge)(&value);
            let seen = state.seen;
            match judgement {
                Judgement::Agree { refused } if counting && !shrinking => {
                    state.report.cases += 1;
                    state.report.model_refused += u32::from(refused);
                }
                Judgement::Excused(_) if counting && !shrinking => {
                    state.report.cases += 1;
                    state.report.excused += 1;
                }
                Judgement::Diverges(d) if d.class == target => {
                    state.failed = true;
                    return Err(TestCaseError::fail(d.class.name()));
                }
                Judgement::Diverges(d) if counting && !shrinking => {
                    state.report.cases += 1;
                    state.met[slot(d.class)].get_or_insert(seen);
                }
                _ => {}
            }
            Ok(())
        });
        match outcome {
            Ok(()) => {
                report.get_or_insert_with(|| state.borrow().report.clone());
            }
            Err(TestError::Fail(_, minimal)) => {
                let mut state = state.borrow_mut();
                let found_after = state.met[slot(target)].unwrap_or(state.seen);
                return Err(match (state.judge)(&minimal) {
                    Judgement::Diverges(mut d) => {
                        d.found_after = found_after;
                        *d
                    }
                    // A judge that answers otherwise when asked again (a user function
                    // with state): the case as it was found.
                    _ => Divergence {
                        class: target,
                        check: "check",
                        input: format!("{minimal:?}"),
                        model: "(as above)".into(),
                        user: "answered otherwise when asked again".into(),
                        found_after,
                        case: None,
                    },
                });
            }
            Err(TestError::Abort(why)) => {
                return Err(Divergence {
                    class: Class::Differs,
                    check: "check",
                    input: String::new(),
                    model: String::new(),
                    user: format!("the run was aborted: {why}"),
                    found_after: state.borrow().seen,
                    case: None,
                });
            }
        }
    }
    Ok(report.unwrap_or_default())
}

// --- check_authority -------------------------------------------------------------------

fn authority_text(host: &str, port: Option<u16>) -> String {
    match port {
        Some(port) => format!("accepts: host {host:?}, port {port}"),
        None => format!("accepts: host {host:?}, no port (the scheme's default)"),
    }
}

fn same_host(model: &Host, user: &str) -> bool {
    let canonical = model.canonical();
    if user == canonical {
        return true;
    }
    // An IPv6 host may be given without its brackets.
    matches!(model, Host::Ipv6(addr) if user == addr.to_string())
}

fn percent_decoded(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    let mut decoded = false;
    while i < input.len() {
        if input[i] == b'%' {
            let hex = input.get(i + 1..i + 3)?;
            let byte = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            out.push(byte);
            decoded = true;
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    decoded.then_some(out)
}

/// The host part of a wire authority as text: userinfo and port cut off, brackets kept.
fn host_part(input: &[u8]) -> &[u8] {
    crate::owned::authority_host(input)
}

fn has_hyphens_at_3_4(text: &[u8]) -> bool {
    text.split(|&b| b == b'.' || b == b':').any(|label| {
        label.len() >= 4 && &label[2..4] == b"--" && !label[..2].eq_ignore_ascii_case(b"xn")
    })
}

fn excuse_refusal(options: &Options, input: &[u8]) -> Option<Deviation> {
    if options.accepts(Deviation::NoUnderscore) && input.contains(&b'_') {
        return Some(Deviation::NoUnderscore);
    }
    if options.accepts(Deviation::HyphensAt34) && has_hyphens_at_3_4(input) {
        return Some(Deviation::HyphensAt34);
    }
    None
}

fn excuse_acceptance(
    options: &Options,
    input: &[u8],
    error: Option<&AuthorityError>,
    user: &(String, Option<u16>),
    unicode: bool,
) -> Option<Deviation> {
    if options.accepts(Deviation::PercentDecoding) {
        if let Some(decoded) = percent_decoded(input) {
            if let Ok((host, port)) = model::parse_authority(&decoded, unicode) {
                if same_host(&host, &user.0) && port == user.1 {
                    return Some(Deviation::PercentDecoding);
                }
            }
        }
    }
    let error = error?;
    if matches!(error, AuthorityError::NumericName { .. })
        && options.accepts(Deviation::NumericNames)
    {
        let host = String::from_utf8_lossy(host_part(input)).to_ascii_lowercase();
        let host = host.strip_suffix('.').unwrap_or(&host);
        return (user.0 == host).then_some(Deviation::NumericNames);
    }
    excused_error(options, input, error)
}

/// The deviation, among those accepted, whose reading accepts what the crate refuses with
/// `error` (all but percent-decoding and numeric names, whose readings also say what the host
/// is).
fn excused_error(options: &Options, input: &[u8], error: &AuthorityError) -> Option<Deviation> {
    match error {
        AuthorityError::NumericName { .. } if options.accepts(Deviation::NumericNames) => {
            Some(Deviation::NumericNames)
        }
        AuthorityError::InvalidByte { byte, .. }
            if options.accepts(Deviation::SubDelims) && b"!$&'()*+,;=".contains(byte) =>
        {
            Some(Deviation::SubDelims)
        }
        AuthorityError::ZoneId { .. } | AuthorityError::IpvFuture { .. }
            if options.accepts(Deviation::ZoneIds) =>
        {
            Some(Deviation::ZoneIds)
        }
        AuthorityError::PortZero { .. } | AuthorityError::PortTooLong { .. }
            if options.accepts(Deviation::LongPorts) =>
        {
            let port = &input[host_part(input).len()..];
            let digits = port.strip_prefix(b":").unwrap_or(port);
            let value = std::str::from_utf8(digits)
                .ok()
                .and_then(|d| d.parse::<u32>().ok());
            (digits.iter().all(u8::is_ascii_digit) && value.is_some_and(|v| v <= 65535))
                .then_some(Deviation::LongPorts)
        }
        _ => None,
    }
}

/// Judges one answer of a wire authority parser: `user` is what it made of `input` (`Err`
/// for a refusal). The model parses with `options.knobs.wire_unicode`.
#[must_use]
pub fn judge_authority(
    options: &Options,
    input: &[u8],
    user: Result<(String, Option<u16>), ()>,
) -> Judgement {
    let unicode = options.knobs.wire_unicode == WireUnicode::Convert;
    let model = model::parse_authority(input, unicode);
    let engine = Authority::parse_with(input, options.knobs.wire_unicode);
    let shown = escaped(input);
    let model_text = |model: &Result<(Host, Option<u16>), String>| match (model, &engine) {
        (Ok((host, port)), _) => format!("{} (SPEC §2)", authority_text(&host.canonical(), *port)),
        (Err(_), Err(e)) => format!("refuses: {e} (SPEC §2)"),
        (Err(e), Ok(_)) => format!("refuses: {e} (SPEC §2)"),
    };
    let user_text = match &user {
        Ok((host, port)) => authority_text(host, *port),
        Err(()) => "refuses".to_string(),
    };
    match (&model, &user) {
        (Err(_), Err(())) => Judgement::Agree { refused: true },
        (Ok((host, port)), Ok((uh, up))) => {
            if same_host(host, uh) && port == up {
                Judgement::Agree { refused: false }
            } else {
                divergence(
                    Class::Differs,
                    "check_authority",
                    shown,
                    model_text(&model),
                    user_text,
                )
            }
        }
        (Ok(_), Err(())) => match excuse_refusal(options, input) {
            Some(d) => Judgement::Excused(d),
            None => divergence(
                Class::Refuses,
                "check_authority",
                shown,
                model_text(&model),
                user_text,
            ),
        },
        (Err(_), Ok(answer)) => {
            match excuse_acceptance(options, input, engine.as_ref().err(), answer, unicode) {
                Some(d) => Judgement::Excused(d),
                None => divergence(
                    Class::Serves,
                    "check_authority",
                    shown,
                    model_text(&model),
                    user_text,
                ),
            }
        }
    }
}

/// Runs a wire authority parser (`Host`, `:authority`, an absolute-form authority: bytes in,
/// the canonical host text and the explicit port out, or an error) against the model on the
/// kit's edge-reaching authorities ([`strategy::authority`](crate::strategy::authority)), and
/// returns the first divergence, shrunk. The host text compared is the model's canonical one:
/// lowercase, without the trailing dot, a dotted quad, or IPv6 in RFC 5952 form (with or
/// without brackets). Default budget: 1,024 cases.
///
/// # Errors
/// The first [`Divergence`]: [`Class::Serves`] for an input the parser accepts and the model
/// refuses, [`Class::Refuses`] for the reverse, [`Class::Differs`] for another host or port.
/// A panic in the parser is a `Refuses` divergence.
pub fn check_authority<E>(
    options: Options,
    parser: impl FnMut(&[u8]) -> Result<(String, Option<u16>), E>,
) -> Result<Report, Divergence> {
    let parser = RefCell::new(parser);
    run(
        &options,
        1024,
        crate::strategy::authority(),
        |input: &Vec<u8>| {
            let answer = catch_unwind(AssertUnwindSafe(|| (parser.borrow_mut())(input)));
            match answer {
                Ok(answer) => judge_authority(&options, input, answer.map_err(|_| ())),
                Err(payload) => divergence(
                    Class::Refuses,
                    "check_authority",
                    escaped(input),
                    model_text_plain(&options, input),
                    format!("panics: {}", panic_text(payload.as_ref())),
                ),
            }
        },
    )
}

fn model_text_plain(options: &Options, input: &[u8]) -> String {
    match Authority::parse_with(input, options.knobs.wire_unicode) {
        Ok(a) => authority_text(&a.host().to_string(), a.port()),
        Err(e) => format!("refuses: {e}"),
    }
}

// --- check_matcher ---------------------------------------------------------------------

/// The model's reading of a (pattern, host) pair: whether it matches, and why in words.
fn model_match(pattern: &str, host: &str) -> (bool, String) {
    let parsed = match model::parse_pattern(pattern, false) {
        Ok(p) => p,
        Err(_) => {
            let why = NamePattern::parse_san(pattern.as_bytes())
                .err()
                .map_or("malformed".to_string(), |e| e.to_string());
            return (
                false,
                format!(
                    "no match: the pattern is malformed ({why}; SPEC §3, RFC 9525 §6.3: an invalid presented identifier \"MUST be ignored\")"
                ),
            );
        }
    };
    let host_parsed = match model::parse_host(host.as_bytes()) {
        Ok(h) => h,
        Err(_) => {
            let why = misdirect::Host::parse(host.as_bytes())
                .err()
                .map_or("refused".to_string(), |e| e.to_string());
            return (
                false,
                format!("no match: the host is refused ({why}; SPEC §2)"),
            );
        }
    };
    let matched = model::pattern_matches(&parsed, &host_parsed);
    let rule = match (&parsed, &host_parsed) {
        (Pattern::Wildcard(_), Host::Dns(_)) => {
            "a wildcard stands for exactly one left-most label (RFC 9525 §6.3)"
        }
        (Pattern::Exact(_), Host::Dns(_)) => {
            "names compare ASCII case-insensitively, one trailing dot dropped (RFC 9525 §6.3, SPEC §2)"
        }
        (Pattern::Ip(_), _) => "an address pattern matches only that address (RFC 9525 §6.2)",
        _ => "a name pattern never matches an address (RFC 9525 §6.2)",
    };
    let verb = if matched { "matches" } else { "no match" };
    (
        matched,
        format!(
            "{verb}: pattern {} against host {}; {rule}",
            parsed.text(),
            host_parsed.canonical()
        ),
    )
}

fn wildcard_over_one_label(pattern: &str, host: &str) -> bool {
    let Some(parent) = pattern.strip_prefix("*.") else {
        return false;
    };
    if parent.contains('.') || parent.is_empty() {
        return false;
    }
    let Ok(Host::Dns(name)) = model::parse_host(host.as_bytes()) else {
        return false;
    };
    match model::parse_pattern(&format!("*.{parent}.invalid"), false) {
        Ok(Pattern::Wildcard(_)) => {}
        _ => return false,
    }
    name.split('.').count() == 2 && name.ends_with(&format!(".{}", parent.to_ascii_lowercase()))
}

/// RFC 3986's reading of a pattern whose last label is numeric (`1.2.3`, `*.example.123`):
/// names compared as names, ASCII case-insensitively, one trailing dot of the host dropped.
fn numeric_name_match(pattern: &str, host: &str) -> bool {
    let plain = |text: &str| {
        !text.is_empty()
            && text.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
    };
    let host = host.to_ascii_lowercase();
    let host = host.strip_suffix('.').unwrap_or(&host);
    let pattern = pattern.to_ascii_lowercase();
    if !plain(host) || host.len() > 253 {
        return false;
    }
    match pattern.strip_prefix("*.") {
        Some(parent) => {
            plain(parent)
                && host
                    .split_once('.')
                    .is_some_and(|(first, rest)| !first.is_empty() && rest == parent)
        }
        None => plain(&pattern) && host == pattern,
    }
}

fn excuse_match(options: &Options, pattern: &str, host: &str, user: bool) -> Option<Deviation> {
    if options.accepts(Deviation::NumericNames)
        && matches!(
            NamePattern::parse_san(pattern.as_bytes()),
            Err(misdirect::PatternError::NumericLastLabel { .. })
        )
        && numeric_name_match(pattern, host) == user
    {
        return Some(Deviation::NumericNames);
    }
    if !user && options.accepts(Deviation::NoWildcards) && pattern.starts_with("*.") {
        return Some(Deviation::NoWildcards);
    }
    if options.accepts(Deviation::PatternTrailingDot) {
        if let Some(trimmed) = pattern.strip_suffix('.').filter(|t| !t.ends_with('.')) {
            // The trimmed pattern as the model reads it, or as another accepted reading does
            // (`0.` under numeric names too).
            if model_match(trimmed, host).0 == user
                || excuse_match(options, trimmed, host, user).is_some()
            {
                return Some(Deviation::PatternTrailingDot);
            }
        }
    }
    if user
        && options.accepts(Deviation::WildcardOverOneLabel)
        && wildcard_over_one_label(pattern, host)
    {
        return Some(Deviation::WildcardOverOneLabel);
    }
    if !user {
        let both = format!("{pattern} {host}");
        return excuse_refusal(options, both.as_bytes());
    }
    None
}

/// Judges one answer of a name matcher: `user` says whether `pattern` (a certificate name or
/// a virtual host name, read as SPEC §3 reads SANs) matches `host` (read as SPEC §2 reads a
/// wire host).
#[must_use]
pub fn judge_matcher(options: &Options, pattern: &str, host: &str, user: bool) -> Judgement {
    let (matched, why) = model_match(pattern, host);
    if matched == user {
        return Judgement::Agree { refused: !matched };
    }
    if let Some(d) = excuse_match(options, pattern, host, user) {
        return Judgement::Excused(d);
    }
    let input = format!(
        "pattern {}, host {}",
        escaped(pattern.as_bytes()),
        escaped(host.as_bytes())
    );
    let yours = if user { "matches" } else { "no match" };
    let class = if user { Class::Serves } else { Class::Refuses };
    divergence(class, "check_matcher", input, why, yours.to_string())
}

/// Runs a name matcher (`matcher(pattern, host)`: does this certificate or virtual host name
/// cover this host?) against the model on the kit's (pattern, host) pairs
/// ([`strategy::pattern_and_host`](crate::strategy::pattern_and_host)), and returns the first
/// divergence, shrunk. Hosts come as on the wire (capitals, one or two trailing dots, IPv6 in
/// brackets) unless [`Options::canonical_hosts`] says the matcher only sees canonical hosts.
/// Default budget: 1,024 cases.
///
/// # Errors
/// The first [`Divergence`]: [`Class::Serves`] when the matcher matches what must not match (a
/// malformed pattern, a wildcard across a dot, an invalid host), [`Class::Refuses`] when it
/// misses a match (case, a trailing dot). A panic in the matcher is a `Refuses` divergence.
pub fn check_matcher(
    options: Options,
    matcher: impl FnMut(&str, &str) -> bool,
) -> Result<Report, Divergence> {
    let matcher = RefCell::new(matcher);
    let canonical = options.canonical_hosts;
    let pairs = crate::strategy::pattern_and_host().prop_filter_map(
        "not a canonical host",
        move |(p, h)| {
            if !canonical {
                return Some((p, h));
            }
            let host = misdirect::Host::parse(h.as_bytes()).ok()?;
            Some((p, host.to_string()))
        },
    );
    run(
        &options,
        1024,
        pairs,
        |(pattern, host): &(String, String)| match catch_unwind(AssertUnwindSafe(|| {
            (matcher.borrow_mut())(pattern, host)
        })) {
            Ok(user) => judge_matcher(&options, pattern, host, user),
            Err(payload) => divergence(
                Class::Refuses,
                "check_matcher",
                format!(
                    "pattern {}, host {}",
                    escaped(pattern.as_bytes()),
                    escaped(host.as_bytes())
                ),
                model_match(pattern, host).1,
                format!("panics: {}", panic_text(payload.as_ref())),
            ),
        },
    )
}

// --- check_decider ---------------------------------------------------------------------

fn model_answer(case: &Case) -> Option<(Answer, String)> {
    let server = case.server();
    let facts = case.facts(server);
    let request = case.request();
    let outcome = model::decide(case.config(), &facts, &request).ok()?;
    // The reason is the engine's (the tests hold it equal to the model); the answer is the
    // model's.
    let reason = server
        .connection(&facts)
        .ok()
        .map(|connection| match server.decide(&connection, &request) {
            Verdict::Serve(_) => String::new(),
            verdict => verdict
                .reason()
                .map(ToString::to_string)
                .unwrap_or_default(),
        })
        .unwrap_or_default();
    let answer = match (outcome.status, outcome.vhost) {
        (None, Some(v)) => Answer::serve(&case.config().vhosts[v].name),
        (Some(misdirect::Status::Misdirected), _) => Answer::refuse(421),
        (Some(misdirect::Status::BadRequest), _) => Answer::refuse(400),
        (Some(misdirect::Status::NotFound), _) => Answer::refuse(404),
        _ => return None,
    };
    let text = match outcome.rule {
        Some(rule) => format!(
            "{answer}, rule {} ({}): {reason}",
            rule.number(),
            rule.name()
        ),
        None => answer.to_string(),
    };
    Some((answer, text))
}

fn excuse_decision(options: &Options, case: &Case) -> Option<Deviation> {
    // A 400 for an authority that a deviation's reading accepts: the other rules then apply to
    // a host the model cannot name, so the case is not judged.
    let target = match case.target() {
        crate::owned::OwnedTarget::Absolute(_, a) | crate::owned::OwnedTarget::Authority(a) => {
            Some(a)
        }
        _ => None,
    };
    for field in case.authorities().iter().chain(case.hosts()).chain(target) {
        let Err(error) = Authority::parse_with(field, options.knobs.wire_unicode) else {
            continue;
        };
        if options.accepts(Deviation::PercentDecoding) && field.contains(&b'%') {
            return Some(Deviation::PercentDecoding);
        }
        if let Some(d) = excused_error(options, field, &error) {
            return Some(d);
        }
    }
    None
}

/// Judges one decision: `user` is what the decider under test answered for `case`.
#[must_use]
pub fn judge_decider(options: &Options, case: &Case, user: &Answer) -> Judgement {
    let Some((model, why)) = model_answer(case) else {
        return Judgement::Agree { refused: true };
    };
    let class = match (model.serves(), user.serves()) {
        (true, true) => match &user.vhost {
            Some(v) if Some(v) != model.vhost.as_ref() => Some(Class::Differs),
            _ => None,
        },
        (false, false) => (model.status != user.status).then_some(Class::Differs),
        (false, true) => Some(Class::Serves),
        (true, false) => Some(Class::Refuses),
    };
    let Some(class) = class else {
        return Judgement::Agree {
            refused: !model.serves(),
        };
    };
    if model.status == 400 || user.status == 400 {
        if let Some(d) = excuse_decision(options, case) {
            return Judgement::Excused(d);
        }
    }
    Judgement::Diverges(Box::new(Divergence {
        class,
        check: "check_decider",
        input: case.to_string(),
        model: why,
        user: user.to_string(),
        found_after: 0,
        case: Some(Box::new(case.clone())),
    }))
}

/// Runs a whole decision (configuration, connection, request in; status and virtual host
/// out) against the model on generated cases ([`strategy::case`](crate::strategy::case), under
/// [`Options::knobs`]), and returns the first divergence, shrunk. Default budget: 512 cases.
///
/// # Errors
/// The first [`Divergence`]: [`Class::Serves`] when the decider serves a request the model
/// refuses (421, 400 or 404), [`Class::Refuses`] when it refuses one the model serves,
/// [`Class::Differs`] for another virtual host or another refusal. A panic in the decider is a
/// `Refuses` divergence.
pub fn check_decider(
    options: Options,
    decider: impl FnMut(&Case) -> Answer,
) -> Result<Report, Divergence> {
    let decider = RefCell::new(decider);
    run(
        &options,
        512,
        crate::strategy::case(options.knobs.clone()),
        |case: &Case| match catch_unwind(AssertUnwindSafe(|| (decider.borrow_mut())(case))) {
            Ok(answer) => judge_decider(&options, case, &answer),
            Err(payload) => Judgement::Diverges(Box::new(Divergence {
                class: Class::Refuses,
                check: "check_decider",
                input: case.to_string(),
                model: model_answer(case).map(|(_, t)| t).unwrap_or_default(),
                user: format!("panics: {}", panic_text(payload.as_ref())),
                found_after: 0,
                case: Some(Box::new(case.clone())),
            })),
        },
    )
}
