#![no_main]
//! The test kit's fuzz template (docs/testkit.md), pointed at adapters around misdirect's own
//! engine written as a user writes them for a server of their own: a wire authority parser, a
//! name matcher and a whole decision, each judged against the model by the kit. A user's
//! target is this file with their functions in place of the three adapters; here it also holds
//! the engine to the kit's judges on libFuzzer's inputs.

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use misdirect::{Authority, Host, NamePattern, Server, Verdict};
use misdirect_testkit::fuzz::{PatternAndHost, WireAuthority};
use misdirect_testkit::{Answer, Case, Judgement, Options};

fn parse(bytes: &[u8]) -> Result<(String, Option<u16>), ()> {
    let authority = Authority::parse(bytes).map_err(|_| ())?;
    Ok((authority.host().to_string(), authority.port()))
}

fn matches(pattern: &str, host: &str) -> bool {
    match (
        NamePattern::parse_san(pattern.as_bytes()),
        Host::parse(host.as_bytes()),
    ) {
        (Ok(pattern), Ok(host)) => pattern.matches(&host),
        _ => false,
    }
}

fn decide(case: &Case) -> Answer {
    let Ok(server) = Server::build(case.config().clone()) else {
        return Answer::refuse(500);
    };
    let Ok(connection) = server.connection(&case.facts(&server)) else {
        return Answer::refuse(421);
    };
    match server.decide(&connection, &case.request()) {
        Verdict::Serve(name) => Answer::serve(name),
        verdict => Answer::refuse(verdict.status().unwrap_or(501)),
    }
}

fuzz_target!(|data: &[u8]| {
    let options = Options::default();
    let mut u = Unstructured::new(data);
    let judgement = match u.int_in_range(0u8..=2) {
        Ok(0) => match WireAuthority::arbitrary(&mut u) {
            Ok(WireAuthority(bytes)) => {
                misdirect_testkit::judge_authority(&options, &bytes, parse(&bytes))
            }
            Err(_) => return,
        },
        Ok(1) => match PatternAndHost::arbitrary(&mut u) {
            Ok(p) => misdirect_testkit::judge_matcher(
                &options,
                &p.pattern,
                &p.host,
                matches(&p.pattern, &p.host),
            ),
            Err(_) => return,
        },
        Ok(_) => match Case::arbitrary(&mut u) {
            Ok(case) => misdirect_testkit::judge_decider(&options, &case, &decide(&case)),
            Err(_) => return,
        },
        Err(_) => return,
    };
    if let Judgement::Diverges(divergence) = judgement {
        panic!("{divergence}");
    }
});
