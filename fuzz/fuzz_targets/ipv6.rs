//! Arbitrary bytes into the crate's IPv6 text parser (the inside of a bracketed literal):
//! it accepts exactly what std's `Ipv6Addr` parser accepts (after a UTF-8 check), with the same
//! address, and reads back std's canonical text of that address.
#![no_main]

use std::net::Ipv6Addr;

use libfuzzer_sys::fuzz_target;
use misdirect::__fuzz::parse_ipv6;

fuzz_target!(|data: &[u8]| {
    let ours = parse_ipv6(data);
    let std = core::str::from_utf8(data)
        .ok()
        .and_then(|text| text.parse::<Ipv6Addr>().ok());
    assert_eq!(ours, std, "{:?}", String::from_utf8_lossy(data));
    if let Some(addr) = ours {
        assert_eq!(parse_ipv6(addr.to_string().as_bytes()), Some(addr));
    }
});
