//! The facts `docs/field-report.md` states beyond the table, each pinned on the crate as
//! compiled: the table shows one minimal input per class, and these are the others the report
//! names (from reading each crate's source, then checked here).

use misdirect_field::adapters::{actix, http_authority, rama, url_host, warp_host};

#[test]
fn http_authority_accepts_what_no_host_is() {
    let parse = |s: &str| http_authority::parse(s.as_bytes()).ok();
    assert_eq!(parse("user@a.example"), Some(("a.example".into(), None)));
    assert_eq!(
        parse("a.example:+443"),
        Some(("a.example".into(), Some(443)))
    );
    assert_eq!(parse("a.example:abc"), Some(("a.example".into(), None)));
    assert_eq!(parse("[zzz]"), Some(("[zzz]".into(), None)));
    assert_eq!(parse("a..example"), Some(("a..example".into(), None)));
    assert_eq!(parse("0x7f.1"), Some(("0x7f.1".into(), None)));
    assert_eq!(parse("a.example."), Some(("a.example.".into(), None)));
}

#[test]
fn url_reads_hosts_as_whatwg_does() {
    let parse = |s: &str| url_host::parse(s.as_bytes()).ok();
    assert_eq!(parse("0x7f.1"), Some(("127.0.0.1".into(), None)));
    assert_eq!(parse("1.2.3"), Some(("1.2.0.3".into(), None)));
    assert_eq!(parse("exa%6Dple.com"), Some(("example.com".into(), None)));
    assert_eq!(parse("user@a.example"), Some(("a.example".into(), None)));
    assert_eq!(parse("a..example"), Some(("a..example".into(), None)));
    assert_eq!(parse("a.example."), Some(("a.example.".into(), None)));
    assert_eq!(
        parse("a.example:443"),
        Some(("a.example".into(), Some(443)))
    );
}

#[test]
fn rama_accepts_wildcards_bare_ipv6_and_signed_ports() {
    let parse = |s: &str| rama::parse(s.as_bytes()).ok();
    assert_eq!(
        parse("a.example:+443"),
        Some(("a.example".into(), Some(443)))
    );
    assert_eq!(parse("::1"), Some(("::1".into(), None)));
    assert_eq!(parse("*.a.example"), Some(("*.a.example".into(), None)));
    assert_eq!(parse(".ab"), Some(("ab".into(), None)));
    // `is_valid_name` (`src/address/domain.rs`) skips a leading dot by moving the label's start
    // two bytes on, so the byte after the dot is never checked.
    assert_eq!(parse(".!b"), Some(("!b".into(), None)));
    assert_eq!(parse("-a.example"), None);
}

#[test]
fn rama_host_from_four_bytes_is_an_address() {
    // `Host::try_from(&[u8])` tries the bytes as a raw address first (`try_to_parse_bytes_to_ip`
    // in `src/address/host.rs`): four bytes of a name are an IPv4 address.
    let host = rama_net::address::Host::try_from(&b"abcd"[..]).map(|h| h.to_string());
    assert_eq!(host.ok().as_deref(), Some("97.98.99.100"));
}

#[test]
fn actix_guard_compares_hosts_byte_for_byte() {
    assert!(actix::matches("a.example", "a.example"));
    assert!(actix::matches("a.example", "a.example:8080"));
    assert!(!actix::matches("a.example", "A.example"));
    assert!(!actix::matches("a.example", "a.example."));
    // The `Host` value is parsed as a URI, so userinfo before the host passes the guard.
    assert!(actix::matches("a.example", "user@a.example"));
}

#[test]
fn warp_exact_compares_authorities_port_included() {
    assert!(warp_host::matches("a.example", "A.EXAMPLE"));
    assert!(!warp_host::matches("a.example", "a.example."));
    assert!(!warp_host::matches("a.example", "a.example:443"));
}

#[cfg(feature = "sozu")]
#[test]
fn sozu_parser_has_no_length_rule_and_keeps_the_dot() {
    use misdirect_field::adapters::sozu;
    let label = "b".repeat(64);
    assert_eq!(
        sozu::parse(label.as_bytes()).ok(),
        Some((label.clone(), None))
    );
    assert_eq!(
        sozu::parse(b"a.example.").ok(),
        Some(("a.example.".into(), None))
    );
    assert!(!sozu::matches("a.example", "a.example."));
    assert!(sozu::matches("a.example", "A.EXAMPLE:8080"));
    // sozu#1349 (fixed in PR #1368): a frontend written with capitals is found by any case.
    assert!(sozu::matches("WWW.Example.COM", "www.example.com"));
}

#[test]
fn every_subject_names_a_locked_version() {
    for subject in misdirect_field::subjects() {
        assert_ne!(
            subject.version(),
            "not in Cargo.lock",
            "{}",
            subject.package
        );
    }
}
