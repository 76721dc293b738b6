//! Certificate coverage against an independent implementation: for a DNS host and a DNS pattern
//! that both sides accept, `NamePattern::matches` equals rustls-webpki's
//! `verify_is_valid_for_subject_name` on a certificate (made with rcgen) holding that SAN.
//!
//! Intentional differences, excluded by rule, never by luck:
//! - Presented names: webpki accepts some names misdirect refuses as malformed (invalid
//!   `xn--` Punycode, a `0x`-hex last label, which a URL parser reads as an IPv4 address). Only
//!   patterns misdirect accepts (`NamePattern::parse_san`) are compared.
//! - Reference names: misdirect's wire parser accepts labels that begin or end with `-` (SPEC
//!   §2 puts no position rule on the wire), which webpki refuses as reference names. Only hosts
//!   that `rustls_pki_types::DnsName` accepts are compared.
//! - Public suffixes: webpki allows `*.co.uk`; so does misdirect without its `psl` feature, which
//!   this fuzz crate does not enable.
//! - Certificates rcgen refuses to build are skipped (none is expected for accepted patterns).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use misdirect::Host;
use misdirect_fuzz::inputs;
use rustls_pki_types::{DnsName, ServerName};

fn key() -> &'static rcgen::KeyPair {
    static KEY: OnceLock<rcgen::KeyPair> = OnceLock::new();
    KEY.get_or_init(|| rcgen::KeyPair::generate().expect("key generation"))
}

fuzz_target!(|data: &[u8]| {
    let Some((_, Some((pattern, host_text)))) = inputs::webpki(data) else {
        return;
    };
    let Ok(Host::Dns(host)) = Host::parse(host_text.as_bytes()) else {
        return;
    };
    let Ok(reference) = DnsName::try_from(host.as_str().to_string()) else {
        return;
    };

    let Ok(params) = rcgen::CertificateParams::new(vec![pattern.to_string()]) else {
        return;
    };
    let Ok(cert) = params.self_signed(key()) else {
        return;
    };
    let ee =
        webpki::EndEntityCert::try_from(cert.der()).expect("webpki parses rcgen's certificate");
    let webpki = ee
        .verify_is_valid_for_subject_name(&ServerName::DnsName(reference))
        .is_ok();
    assert_eq!(
        pattern.matches(&Host::Dns(host)),
        webpki,
        "pattern {pattern} host {host}: misdirect and webpki disagree"
    );
});
