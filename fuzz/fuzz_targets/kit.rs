#![no_main]
//! The test kit's fuzz template (docs/testkit.md), pointed at the kit's `reference` adapters
//! (misdirect's own engine behind the signatures a user's server implements): a wire authority
//! parser, a name matcher and a whole decision, each judged against the model by the kit. A
//! user's target is this file with their functions in place of the three `reference` ones;
//! here it also holds the engine to the kit's judges on libFuzzer's inputs.

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use misdirect_testkit::fuzz::{PatternAndHost, WireAuthority};
use misdirect_testkit::{Case, Judgement, Options, reference};

fn parse(bytes: &[u8]) -> Result<(String, Option<u16>), ()> {
    reference::parse_authority(bytes).map_err(|_| ())
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
                reference::name_matches(&p.pattern, &p.host),
            ),
            Err(_) => return,
        },
        Ok(_) => match Case::arbitrary(&mut u) {
            Ok(case) => {
                misdirect_testkit::judge_decider(&options, &case, &reference::decide(&case))
            }
            Err(_) => return,
        },
        Err(_) => return,
    };
    if let Judgement::Diverges(divergence) = judgement {
        panic!("{divergence}");
    }
});
