//! Configuration names canonicalized by misdirect equal the idna crate's own UTS #46 output,
//! wherever both accept: against `Uts46::to_ascii` with the flags SPEC §2 names, and against
//! `idna::domain_to_ascii_strict` (STD3 rules, CheckHyphens, VerifyDnsLength), a stricter
//! profile whose every answer misdirect must reproduce.
#![no_main]

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
use libfuzzer_sys::fuzz_target;
use misdirect::NamePattern;
use misdirect_fuzz::inputs;

fuzz_target!(|data: &[u8]| {
    let Some(text) = inputs::idna(data) else {
        return;
    };
    let Ok(NamePattern::Exact(ours)) = NamePattern::parse(&text) else {
        return;
    };
    // SPEC §2 flags: nontransitional, no STD3 deny list, hyphens allowed, lengths verified.
    let theirs = Uts46::new()
        .to_ascii(
            text.as_bytes(),
            AsciiDenyList::EMPTY,
            Hyphens::Allow,
            DnsLength::Verify,
        )
        .expect("misdirect accepted a name UTS #46 refuses");
    assert_eq!(&*ours, &*theirs, "{text:?}");
    if let Ok(strict) = idna::domain_to_ascii_strict(&text) {
        assert_eq!(&*ours, strict, "{text:?} (strict profile)");
    }
    // The canonical name is a fixed point.
    assert_eq!(
        NamePattern::parse(&ours).map(|p| p.to_string()),
        Ok(ours.to_string())
    );
});
