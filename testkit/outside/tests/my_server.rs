//! How a server author uses the kit: a host handler of their own (here, a naive one with the
//! usual mistakes) and a correct one, each through the three entry points.

use misdirect::{Authority, Host, NamePattern, Server, Verdict};
use misdirect_testkit::{Answer, Case, Class, Divergence, Options, Report, check_authority, check_decider, check_matcher};

// --- the naive server: what hand-written host handling often looks like -----------------

/// Splits at the last colon and lowercases: no validation at all.
fn naive_parse(bytes: &[u8]) -> Result<(String, Option<u16>), String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => (host, Some(port.parse::<u16>().map_err(|e| e.to_string())?)),
        _ => (text, None),
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// Byte equality, and a wildcard that takes any suffix.
fn naive_match(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix('*') {
        Some(suffix) => host.ends_with(suffix),
        None => pattern == host,
    }
}

/// Routes by the Host (or `:authority`) text alone: the first virtual host listing it.
fn naive_decide(case: &Case) -> Answer {
    let field = case.authorities().first().or(case.hosts().first());
    let Some(host) = field.and_then(|f| naive_parse(f).ok()) else {
        return Answer::refuse(400);
    };
    match case.config().vhosts.iter().find(|v| v.names.iter().any(|n| n.eq_ignore_ascii_case(&host.0))) {
        Some(vhost) => Answer::serve(&vhost.name),
        None => Answer::refuse(421),
    }
}

// --- the correct server: misdirect itself ---------------------------------------------

fn parse(bytes: &[u8]) -> Result<(String, Option<u16>), misdirect::AuthorityError> {
    let authority = Authority::parse(bytes)?;
    Ok((authority.host().to_string(), authority.port()))
}

fn matches(pattern: &str, host: &str) -> bool {
    match (NamePattern::parse_san(pattern.as_bytes()), Host::parse(host.as_bytes())) {
        (Ok(pattern), Ok(host)) => pattern.matches(&host),
        _ => false,
    }
}

fn decide(case: &Case) -> Answer {
    let server = Server::build(case.config().clone()).expect("a case's configuration builds");
    let Ok(connection) = server.connection(&case.facts(&server)) else {
        return Answer::refuse(421);
    };
    match server.decide(&connection, &case.request()) {
        Verdict::Serve(name) => Answer::serve(name),
        verdict => Answer::refuse(verdict.status().unwrap_or(501)),
    }
}

fn class_of(result: Result<Report, Divergence>) -> Class {
    match result {
        Ok(report) => panic!("not caught: {report}"),
        Err(divergence) => {
            println!("{divergence}\n");
            divergence.class()
        }
    }
}

#[test]
fn the_naive_server_is_caught() {
    assert_eq!(class_of(check_authority(Options::default(), naive_parse)), Class::Serves);
    assert_eq!(class_of(check_matcher(Options::default(), naive_match)), Class::Serves);
    assert_eq!(class_of(check_matcher(Options::default().only(Class::Refuses), naive_match)), Class::Refuses);
    assert_eq!(class_of(check_decider(Options::default(), naive_decide)), Class::Serves);
}

#[test]
fn the_correct_server_passes() {
    let report = check_authority(Options::default(), parse).unwrap_or_else(|d| panic!("{d}"));
    assert!(report.cases >= 1024, "{report}");
    check_matcher(Options::default(), matches).unwrap_or_else(|d| panic!("{d}"));
    check_decider(Options::default(), decide).unwrap_or_else(|d| panic!("{d}"));
}
