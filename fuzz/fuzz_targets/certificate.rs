//! `certificate_sans` (the DER walk behind `CertificateConfig::from_der` and certificate files):
//! any bytes give an error or a list, never a panic; and a certificate rcgen builds from DNS
//! names and IP addresses reads back as exactly those SANs, in order (rcgen is the independent
//! implementation: it writes the DER this code reads).
#![no_main]

use std::net::IpAddr;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use misdirect::San;

static KEY: OnceLock<rcgen::KeyPair> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(input) = misdirect_fuzz::inputs::certificate(data) else {
        return;
    };
    let _ = misdirect::certificate_sans(&input.bytes);

    let names: Vec<String> = input
        .names
        .into_iter()
        .filter(|n| !n.is_empty() && n.len() <= 253 && n.bytes().all(|b| b.is_ascii_graphic()))
        .take(6)
        .collect();
    let ips: Vec<IpAddr> = input
        .ips
        .iter()
        .take(3)
        .map(|o| {
            if input.v4 {
                IpAddr::from([o[0], o[1], o[2], o[3]])
            } else {
                IpAddr::from(*o)
            }
        })
        .collect();
    if names.is_empty() && ips.is_empty() {
        return;
    }
    let Ok(mut params) = rcgen::CertificateParams::new(names.clone()) else {
        return;
    };
    for ip in &ips {
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress(*ip));
    }
    let key = KEY.get_or_init(|| rcgen::KeyPair::generate().expect("key"));
    let Ok(cert) = params.self_signed(key) else {
        return;
    };
    // rcgen writes a name that parses as an IP address as an iPAddress SAN; the kind must come
    // back as written.
    let mut want: Vec<San> = names
        .into_iter()
        .map(|n| match n.parse::<IpAddr>() {
            Ok(ip) => San::Ip(ip),
            Err(_) => San::Dns(n.into_bytes()),
        })
        .collect();
    want.extend(ips.iter().map(|ip| San::Ip(*ip)));
    let got = misdirect::certificate_sans(cert.der()).expect("rcgen's certificate reads");
    assert_eq!(got, want);

    // A corrupted copy: an error or some list, never a panic.
    if let Some((at, bit)) = input.flip {
        let mut der = cert.der().to_vec();
        let at = usize::from(at) % der.len();
        der[at] ^= 1 << (bit % 8);
        let _ = misdirect::certificate_sans(&der);
    }
});
