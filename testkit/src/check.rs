//! The three checks: a runner over proptest that draws cases, judges each against the model,
//! and shrinks the first divergence within its class; and the judges, public so that a
//! `cargo fuzz` target can call them on one input.

use core::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use misdirect::model::{self, Host, Pattern};
use misdirect::{Authority, AuthorityError, Cause, NamePattern, Request, Verdict, WireUnicode};
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
        also: Box::default(),
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
    /// The first divergence of each class met in the first pass, as it was met (unshrunk).
    met: [Option<Divergence>; 3],
    /// Whether the pass has failed (proptest is shrinking).
    failed: bool,
    seen: u32,
}

fn slot(class: Class) -> usize {
    match class {
        Class::Serves => 0,
        Class::Differs => 1,
        Class::Refuses => 2,
    }
}

/// The order classes are returned in: a security bug first; then a different host, port or
/// virtual host (a host confusion can be as grave: `[::ffff:192.0.2.1]` read as `192.0.2.1`);
/// then a refusal.
const GRAVEST_FIRST: [Class; 3] = [Class::Serves, Class::Differs, Class::Refuses];

/// Runs the budget, and returns the first divergence of the gravest class it meets, shrunk
/// within that class: a `Serves` stops the run at once; a `Differs` or `Refuses` is noted and
/// the run goes on (a server wrong both ways shows its security bug first). The first pass
/// fails only on `Serves`; when it met only lesser classes, a second pass with the same seed
/// draws the same cases and fails on the gravest one met, so that proptest shrinks it. A
/// divergence the second pass does not meet again (the code under test answers otherwise
/// for the same input) is returned as the first pass met it. The divergence returned names
/// the other classes met.
///
/// # Panics
/// With no case to run, or when the generator gives up (options no case can satisfy, such
/// as a fallback knob naming no generated virtual host): a check that ran nothing must not
/// pass.
fn run<V: core::fmt::Debug>(
    options: &Options,
    default_cases: u32,
    strategy: impl Strategy<Value = V>,
    judge: impl FnMut(&V) -> Judgement,
) -> Result<Report, Divergence> {
    let cases = options.cases.unwrap_or(default_cases);
    assert!(
        cases > 0,
        "misdirect-testkit: a check of no case cannot pass (Options::cases is 0)"
    );
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
        met: [None, None, None],
        failed: false,
        seen: 0,
    });
    let mut first_pass_done = false;
    for target in GRAVEST_FIRST {
        if options.only.is_some_and(|only| only != target) {
            continue;
        }
        if first_pass_done && state.borrow().met[slot(target)].is_none() {
            continue;
        }
        {
            let mut state = state.borrow_mut();
            state.failed = false;
            state.seen = 0;
        }
        let counting = !first_pass_done;
        let outcome = runner().run(&strategy, |value| {
            let mut state = state.borrow_mut();
            let shrinking = state.failed;
            if !shrinking {
                state.seen += 1;
                if counting {
                    state.report.cases += 1;
                }
            }
            let judgement = (state.judge)(&value);
            let seen = state.seen;
            match judgement {
                Judgement::Agree { refused } if counting && !shrinking => {
                    state.report.model_refused += u32::from(refused);
                }
                Judgement::Excused(_) if counting && !shrinking => {
                    state.report.excused += 1;
                }
                Judgement::Diverges(mut d) if d.class == target => {
                    if counting && !shrinking {
                        d.found_after = seen;
                        state.met[slot(target)] = Some(*d);
                    }
                    state.failed = true;
                    return Err(TestCaseError::fail(target.name()));
                }
                Judgement::Diverges(mut d) if counting && !shrinking => {
                    state.report.diverged += 1;
                    d.found_after = seen;
                    state.met[slot(d.class)].get_or_insert(*d);
                }
                _ => {}
            }
            Ok(())
        });
        first_pass_done = true;
        let mut state = state.borrow_mut();
        let also: Vec<(Class, u32)> = GRAVEST_FIRST
            .into_iter()
            .filter(|c| *c != target)
            .filter_map(|c| state.met[slot(c)].as_ref().map(|d| (c, d.found_after)))
            .collect();
        match outcome {
            Ok(()) => {
                // Met in the first pass, not in this one: the code under test answered
                // otherwise for the same input. The first pass's divergence, unshrunk.
                if let Some(mut d) = state.met[slot(target)].take().filter(|_| !counting) {
                    d.user.push_str(
                        " (not shrunk: drawn again, the same cases did not diverge this way, so \
                         the code under test answers otherwise for the same input)",
                    );
                    d.also = also.into_boxed_slice();
                    return Err(d);
                }
            }
            Err(TestError::Fail(_, minimal)) => {
                let first = state.met[slot(target)].take();
                let found_after = first.as_ref().map_or(state.seen, |d| d.found_after);
                let mut d = match (state.judge)(&minimal) {
                    Judgement::Diverges(d) if d.class == target => *d,
                    // Shrunk to an input that no longer diverges when asked again: the
                    // divergence as it was met.
                    _ => first.unwrap_or_else(|| Divergence {
                        class: target,
                        check: "check",
                        input: format!("{minimal:?}"),
                        model: String::new(),
                        user: "answered otherwise when asked again".into(),
                        found_after,
                        case: None,
                        also: Box::default(),
                    }),
                };
                d.found_after = found_after;
                d.also = also.into_boxed_slice();
                return Err(d);
            }
            Err(TestError::Abort(why)) => panic!(
                "misdirect-testkit: the case generator gave up ({why}); check the options \
                 (a fallback knob must name a generated virtual host, such as v0)"
            ),
        }
    }
    Ok(state.into_inner().report)
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

/// The input with every `%XX` that encodes an unreserved character (RFC 3986 §2.3: letters,
/// digits, `-`, `.`, `_`, `~`) decoded, the only ones RFC 9110 §4.2.3 makes equivalent to
/// their encodings; `None` when there is none, or when any other `%` is left (a reserved
/// delimiter such as `%3A` or `%5B` encoded is no spelling of the same host).
pub(crate) fn percent_decoded(input: &[u8]) -> Option<Vec<u8>> {
    // In a reg-name only: not in the port (`*DIGIT`), not in an IP-literal (RFC 3986 §3.2.2
    // has no percent-encoding there; a zone id is another reading).
    if input.first() == Some(&b'[') || after_host(input).contains(&b'%') {
        return None;
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    let mut decoded = false;
    while i < input.len() {
        if input[i] == b'%' {
            let hex = input.get(i + 1..i + 3)?;
            let byte = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            if !(byte.is_ascii_alphanumeric() || b"-._~".contains(&byte)) {
                return None;
            }
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

/// The host part of a wire authority: userinfo and port cut off, brackets kept.
fn host_part(input: &[u8]) -> &[u8] {
    crate::owned::authority_host(input)
}

/// What follows the host part (the `:port`, if any).
fn after_host(input: &[u8]) -> &[u8] {
    let host = host_part(input);
    // `host_part` returns a slice of `input`: where it ends, the rest begins.
    let start = host.as_ptr() as usize - input.as_ptr() as usize;
    &input[start + host.len()..]
}

/// Whether a label has `--` as its third and fourth characters (RFC 5891 §4.2.3.1 counts
/// characters of the U-label, not bytes) and is no `xn--` label.
fn has_hyphens_at_3_4(text: &[u8]) -> bool {
    String::from_utf8_lossy(text)
        .split(['.', ':', '\u{3002}'])
        .any(|label| {
            let chars: Vec<char> = label.chars().take(4).collect();
            chars.len() == 4
                && chars[2] == '-'
                && chars[3] == '-'
                && !(chars[0].eq_ignore_ascii_case(&'x') && chars[1].eq_ignore_ascii_case(&'n'))
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

/// The host text a reading that accepts `input`'s host as a name makes of it: lowercase, one
/// trailing dot dropped.
fn name_text(input: &[u8]) -> String {
    let host = String::from_utf8_lossy(host_part(input)).to_ascii_lowercase();
    host.strip_suffix('.').map_or(host.clone(), String::from)
}

/// The model's answer for `input` with its host part replaced by `host` (the rest, the port,
/// kept): how a reading's substitute is checked against every other rule.
fn with_host(input: &[u8], host: &[u8], unicode: bool) -> Result<(Host, Option<u16>), String> {
    let mut text = host.to_vec();
    text.extend_from_slice(after_host(input));
    model::parse_authority(&text, unicode)
}

/// Whether an accepted deviation's reading explains `user`'s acceptance of `input`, which the
/// model refuses with the engine's `error`: each reading is checked by substituting what it
/// reads differently with something the model accepts, so that every other rule (the other
/// labels, the length, the port) still holds, and by asking that the user's host and port be
/// what that reading makes of the input.
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
    let host = host_part(input);
    let lenient = |deviation: Deviation, substitute: Vec<u8>, expected: &str| {
        let (_, port) = with_host(input, &substitute, unicode).ok()?;
        (options.accepts(deviation) && user.0 == expected && user.1 == port).then_some(deviation)
    };
    match error? {
        AuthorityError::NumericName { .. } => {
            // The last label (before one trailing dot) replaced by as many letters.
            let trimmed = host.strip_suffix(b".").unwrap_or(host);
            let at = trimmed
                .iter()
                .rposition(|&b| b == b'.')
                .map_or(0, |i| i + 1);
            let mut substitute = trimmed[..at].to_vec();
            substitute.extend(std::iter::repeat_n(b'x', trimmed.len() - at));
            lenient(Deviation::NumericNames, substitute, &name_text(input))
        }
        AuthorityError::InvalidByte { byte, .. } if b"!$&'()*+,;=~".contains(byte) => {
            let substitute = host
                .iter()
                .map(|&b| {
                    if b"!$&'()*+,;=~".contains(&b) {
                        b'x'
                    } else {
                        b
                    }
                })
                .collect();
            lenient(Deviation::SubDelims, substitute, &name_text(input))
        }
        AuthorityError::ZoneId { .. } => {
            // RFC 6874: ZoneID = 1*( unreserved / pct-encoded ), after "%25", up to the "]".
            let zone = host.windows(3).position(|w| w == b"%25")?;
            let id = host.get(zone + 3..host.len().checked_sub(1)?)?;
            let mut at = 0;
            while at < id.len() {
                if id[at] == b'%' {
                    let hex = id.get(at + 1..at + 3)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    let byte = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                    if !(byte.is_ascii_graphic()) {
                        return None;
                    }
                    at += 3;
                } else if id[at].is_ascii_alphanumeric() || b"-._~".contains(&id[at]) {
                    at += 1;
                } else {
                    return None;
                }
            }
            if id.is_empty() || host.last() != Some(&b']') {
                return None;
            }
            let mut substitute = host[..zone].to_vec();
            substitute.push(b']');
            let (address, port) = with_host(input, &substitute, unicode).ok()?;
            let zoned = String::from_utf8_lossy(host).to_ascii_lowercase();
            (options.accepts(Deviation::ZoneIds)
                && (same_host(&address, &user.0) || user.0 == zoned)
                && user.1 == port)
                .then_some(Deviation::ZoneIds)
        }
        AuthorityError::IpvFuture { .. } => {
            // RFC 3986 §3.2.2: "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ).
            let inner = host.strip_prefix(b"[")?.strip_suffix(b"]")?;
            let rest = inner
                .strip_prefix(b"v")
                .or_else(|| inner.strip_prefix(b"V"))?;
            let dot = rest.iter().position(|&b| b == b'.')?;
            let (version, tail) = (&rest[..dot], &rest[dot + 1..]);
            let tail_ok = !tail.is_empty()
                && tail
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:".contains(b));
            let shaped =
                !version.is_empty() && version.iter().all(u8::is_ascii_hexdigit) && tail_ok;
            let (_, port) = with_host(input, b"a.invalid", unicode).ok()?;
            let text = String::from_utf8_lossy(host).to_ascii_lowercase();
            (options.accepts(Deviation::ZoneIds) && shaped && user.0 == text && user.1 == port)
                .then_some(Deviation::ZoneIds)
        }
        AuthorityError::PortZero { .. } | AuthorityError::PortTooLong { .. } => {
            let digits = after_host(input).strip_prefix(b":")?;
            let value: u16 = std::str::from_utf8(digits).ok()?.parse().ok()?;
            let (address, _) = model::parse_authority(host, unicode).ok()?;
            (options.accepts(Deviation::LongPorts)
                && digits.iter().all(u8::is_ascii_digit)
                && same_host(&address, &user.0)
                && user.1 == Some(value))
            .then_some(Deviation::LongPorts)
        }
        _ => None,
    }
}

/// The deviation, among those accepted, whose reading accepts a field the engine refuses with
/// `error`, for `check_decider`: there the reading only excuses a refusal with another status
/// (which host it would make of the field, and so what would be served, the model cannot
/// say), except percent-decoding, which the decider check decides again on the decoded text.
fn excused_error(options: &Options, error: &AuthorityError) -> Option<Deviation> {
    let deviation = match error {
        AuthorityError::NumericName { .. } => Deviation::NumericNames,
        AuthorityError::InvalidByte { byte, .. } if b"!$&'()*+,;=~".contains(byte) => {
            Deviation::SubDelims
        }
        AuthorityError::ZoneId { .. } | AuthorityError::IpvFuture { .. } => Deviation::ZoneIds,
        AuthorityError::PortZero { .. } | AuthorityError::PortTooLong { .. } => {
            Deviation::LongPorts
        }
        _ => return None,
    };
    options.accepts(deviation).then_some(deviation)
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
fn model_match(options: &Options, pattern: &str, host: &str) -> (bool, String) {
    let parsed = match model::parse_pattern(pattern, options.configuration_names) {
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
fn numeric_name_match(options: &Options, pattern: &str, host: &str) -> bool {
    // Every other rule still holds: the numeric last label replaced by as many letters, the
    // pattern must be one the model accepts as a name (A-labels, edge hyphens, a wildcard's
    // two labels) and the host one it accepts as a DNS host (never an address).
    let lettered = |text: &str| -> String {
        let trimmed = text.strip_suffix('.').unwrap_or(text);
        let at = trimmed.rfind('.').map_or(0, |i| i + 1);
        format!("{}{}", &trimmed[..at], "x".repeat(trimmed.len() - at))
    };
    let host_lower = host.to_ascii_lowercase();
    let host_name = host_lower.strip_suffix('.').unwrap_or(&host_lower);
    let pattern = pattern.to_ascii_lowercase();
    if !matches!(
        model::parse_host(host.as_bytes()),
        Err(_) | Ok(Host::Dns(_))
    ) || host_name.parse::<std::net::Ipv4Addr>().is_ok()
        || !matches!(
            model::parse_host(lettered(host).as_bytes()),
            Ok(Host::Dns(_))
        )
    {
        return false;
    }
    match model::parse_pattern(&lettered(&pattern), options.configuration_names) {
        Ok(Pattern::Exact(_)) => host_name == pattern,
        Ok(Pattern::Wildcard(_)) => {
            let parent = &pattern[2..];
            host_name
                .split_once('.')
                .is_some_and(|(first, rest)| !first.is_empty() && rest == parent)
        }
        _ => false,
    }
}

/// `text` with the hyphens that begin or end a label written as `_` (a name byte with no
/// position rule): the hyphen-edges reading put aside, every other byte kept.
fn edges_underscored(text: &str) -> String {
    text.split('.')
        .map(|label| {
            let mut label = label.to_string();
            if label.starts_with('-') {
                label.replace_range(0..1, "_");
            }
            if label.ends_with('-') {
                let end = label.len();
                label.replace_range(end - 1..end, "_");
            }
            label
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn excuse_match(options: &Options, pattern: &str, host: &str, user: bool) -> Option<Deviation> {
    if options.accepts(Deviation::NumericNames)
        && matches!(
            NamePattern::parse_san(pattern.as_bytes()),
            Err(misdirect::PatternError::NumericLastLabel { .. })
        )
        && numeric_name_match(options, pattern, host) == user
    {
        return Some(Deviation::NumericNames);
    }
    if !user && options.accepts(Deviation::NoWildcards) && pattern.starts_with("*.") {
        return Some(Deviation::NoWildcards);
    }
    if options.accepts(Deviation::HyphenEdges)
        && !pattern.contains('_')
        && !host.contains('_')
        && matches!(
            NamePattern::parse_san(pattern.as_bytes()),
            Err(misdirect::PatternError::HyphenAtLabelEdge { .. })
        )
    {
        // `_` is a name byte with no position rule, and neither text holds one: the same
        // names, with the edge rule put aside (inner hyphens, `xn--` among them, kept).
        let (p, h) = (edges_underscored(pattern), edges_underscored(host));
        if model_match(options, &p, &h).0 == user {
            return Some(Deviation::HyphenEdges);
        }
    }
    if options.accepts(Deviation::PatternTrailingDot) {
        // A name's trailing dot only: an address pattern with a dot after it is no name.
        let name = |t: &&str| {
            !t.ends_with('.')
                && !matches!(
                    model::parse_pattern(t, options.configuration_names),
                    Ok(Pattern::Ip(_))
                )
        };
        if let Some(trimmed) = pattern.strip_suffix('.').filter(name) {
            // The trimmed pattern as the model reads it, or as another accepted reading does
            // (`0.` under numeric names too).
            if model_match(options, trimmed, host).0 == user
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
        return excuse_refusal(options, pattern.as_bytes())
            .or_else(|| excuse_refusal(options, host.as_bytes()));
    }
    None
}

/// Judges one answer of a name matcher: `user` says whether `pattern` (a certificate name or
/// a virtual host name, read as SPEC §3 reads SANs) matches `host` (read as SPEC §2 reads a
/// wire host).
#[must_use]
pub fn judge_matcher(options: &Options, pattern: &str, host: &str, user: bool) -> Judgement {
    let (matched, why) = model_match(options, pattern, host);
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
                model_match(&options, pattern, host).1,
                format!("panics: {}", panic_text(payload.as_ref())),
            ),
        },
    )
}

// --- check_decider ---------------------------------------------------------------------

/// The model's answer for `case` with `request` (the case's own, or a reading of it), its text
/// (rule and the engine's reason), and the authority error of a 400 for an invalid field.
fn model_answer_for(
    case: &Case,
    request: &Request<'_>,
) -> Option<(Answer, String, Option<AuthorityError>)> {
    let server = case.server();
    let facts = case.facts(server);
    let outcome = model::decide(case.config(), &facts, request).ok()?;
    // The reason is the engine's (the tests hold it equal to the model); the answer is the
    // model's.
    let mut field_error = None;
    let reason = server
        .connection(&facts)
        .ok()
        .map(|connection| match server.decide(&connection, request) {
            Verdict::Serve(_) => String::new(),
            verdict => verdict.reason().map_or_else(String::new, |r| {
                if let Cause::InvalidHost(e)
                | Cause::InvalidAuthority(e)
                | Cause::InvalidTarget(e) = r.cause
                {
                    field_error = Some(e);
                }
                r.to_string()
            }),
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
    Some((answer, text, field_error))
}

fn model_answer(case: &Case) -> Option<(Answer, String)> {
    model_answer_for(case, &case.request()).map(|(answer, text, _)| (answer, text))
}

/// Whether an accepted deviation's reading explains the user's `answer` where the model
/// answers 400 for an invalid field (`error`). Percent-decoding: the model decides the
/// request again with every field decoded (unreserved characters only), and the user's
/// answer must be that one. The other readings make of the field a host the model cannot
/// name, so they excuse only a refusal with another status, never serving.
fn excuse_decision(
    options: &Options,
    case: &Case,
    error: &AuthorityError,
    user: &Answer,
) -> Option<Deviation> {
    if options.accepts(Deviation::PercentDecoding)
        && matches!(error, AuthorityError::PercentEncoded { .. })
    {
        let decoded = case.rewritten(|field| {
            if field.contains(&b'%') {
                percent_decoded(field)
            } else {
                Some(field.to_vec())
            }
        })?;
        let (answer, _, _) = decoded.with(|request| model_answer_for(case, request))?;
        let same = answer.status == user.status && (!user.serves() || user.vhost == answer.vhost);
        return same.then_some(Deviation::PercentDecoding);
    }
    let deviation = excused_error(options, error)?;
    (!user.serves()).then_some(deviation)
}

/// Judges one decision: `user` is what the decider under test answered for `case`. A served
/// answer must name the virtual host: one that names none is a `Differs` divergence where the
/// model serves (the routing would go unjudged).
#[must_use]
pub fn judge_decider(options: &Options, case: &Case, user: &Answer) -> Judgement {
    let Some((model, why, field_error)) = model_answer_for(case, &case.request()) else {
        return Judgement::Agree { refused: true };
    };
    let class = match (model.serves(), user.serves()) {
        (true, true) => (user.vhost != model.vhost).then_some(Class::Differs),
        (false, false) => (model.status != user.status).then_some(Class::Differs),
        (false, true) => Some(Class::Serves),
        (true, false) => Some(Class::Refuses),
    };
    let Some(class) = class else {
        return Judgement::Agree {
            refused: !model.serves(),
        };
    };
    if model.status == 400 {
        if let Some(d) = field_error.and_then(|e| excuse_decision(options, case, &e, user)) {
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
        also: Box::default(),
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
                also: Box::default(),
            })),
        },
    )
}
