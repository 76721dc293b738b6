//! Arbitrary bytes into `Authority::parse`: no panic; the canonical text re-parses to the same
//! host and port; engine == model on accept/reject and on the result, in both Unicode modes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use misdirect::{Authority, Host, WireUnicode, model};
use misdirect_fuzz::engine_host;

fuzz_target!(|data: &[u8]| {
    for (mode, convert) in [(WireUnicode::Reject, false), (WireUnicode::Convert, true)] {
        let engine = Authority::parse_with(data, mode);
        let model = model::parse_authority(data, convert);
        assert_eq!(
            engine
                .as_ref()
                .ok()
                .map(|a| (engine_host(a.host()), a.port())),
            model.as_ref().ok().cloned(),
            "{mode:?}: engine {engine:?} model {model:?}"
        );
        if let Ok(authority) = engine {
            let text = authority.to_string();
            assert_eq!(Authority::parse(text.as_bytes()), Ok(authority), "{text:?}");
            assert_eq!(
                Host::parse(authority.host().to_string().as_bytes()),
                Ok(*authority.host())
            );
        } else if let Err(e) = engine {
            // Error messages never carry raw bytes.
            assert!(e.to_string().chars().all(|c| (' '..='~').contains(&c)));
        }
    }
    let engine = Host::parse(data).ok().map(|h| engine_host(&h));
    assert_eq!(engine, model::parse_host(data).ok());
});
