//! Second hostile review of misdirect-testkit. Every test here failed on the reviewed code
//! (branch `review-kit-2`): each showed a place where an accepted `Deviation` excused an
//! answer its documented reading does not give, or where a correct reading was reported as a
//! divergence. The comment above each test says what it shows and the correct behaviour (and,
//! for the one documented limit, the resolution); each now holds the fix.

use misdirect::{Knobs, WireUnicode};
use misdirect_testkit::{Class, Deviation, Judgement, Options, judge_authority, judge_matcher};

fn ok(host: &str, port: Option<u16>) -> Result<(String, Option<u16>), ()> {
    Ok((host.to_string(), port))
}

fn describe(j: &Judgement) -> String {
    match j {
        Judgement::Agree { refused } => format!("Agree {{ refused: {refused} }}"),
        Judgement::Excused(d) => format!("Excused({})", d.name()),
        Judgement::Diverges(d) => format!("Diverges({}):\n{d}", d.class()),
    }
}

fn is_serves(j: &Judgement) -> bool {
    matches!(j, Judgement::Diverges(d) if d.class() == Class::Serves)
}

fn accepting(d: Deviation) -> Options {
    Options::default().accepting(d)
}

// SEVERITY: high. `Deviation::ZoneIds` (doc: "the address must be valid without the zone (the
// host may keep it)") never checks the zone. The engine reports ZoneId for ANY `%` inside the
// brackets, and `excuse_acceptance` only checks the text before the first `%25`, then accepts
// the user's host if it equals the whole bracketed text lowercased. So a parser that hands on
// `[fe80::1%25\0]`, `[fe80::1%25\r\nx]` (header injection), an empty zone `[fe80::1%25]`,
// `[fe80::1%25a/b]` or `[fe80::1%25%00]` as the host is excused.
// Correct: RFC 6874 `ZoneID = 1*( unreserved / pct-encoded )`; a zone that is empty or holds
// any other byte is refused under that reading too: these are Serves divergences.
#[test]
fn zone_ids_excuse_nul_crlf_and_empty_zones_in_the_host() {
    let options = accepting(Deviation::ZoneIds);
    let mut excused = Vec::new();
    for input in [
        &b"[fe80::1%25\0]"[..],
        b"[fe80::1%25\r\nx]",
        b"[fe80::1%25]",
        b"[fe80::1%25a/b]",
        b"[fe80::1%25%00]",
    ] {
        let host = String::from_utf8(input.to_vec()).unwrap();
        let j = judge_authority(&options, input, Ok((host, None)));
        if !is_serves(&j) {
            excused.push(format!(
                "{:?}: {}",
                String::from_utf8_lossy(input),
                describe(&j)
            ));
        }
    }
    assert!(excused.is_empty(), "{}", excused.join("\n"));
}

// SEVERITY: medium. `Deviation::PercentDecoding` is "`%XX` decoded in a HOST", but
// `percent_decoded` decodes the whole authority, port included: `example.com:%38%30` accepted
// as (example.com, 80) is excused. RFC 3986 `port = *DIGIT` has no pct-encoded form and RFC 9110
// §4.2.3's equivalence is about the host; a front end that refuses `:%38%30` (or reads it as no
// port) and a back end that reads port 80 disagree on the port. (The same decode runs in
// check_decider's re-decision whenever the host also holds a `%XX`.)
// Correct: decode only the host part; `%` in the port stays refused (Serves).
#[test]
fn percent_decoding_excuse_decodes_the_port() {
    let options = accepting(Deviation::PercentDecoding);
    let j = judge_authority(&options, b"example.com:%38%30", ok("example.com", Some(80)));
    assert!(is_serves(&j), "{}", describe(&j));
}

// SEVERITY: low-medium. The same whole-input decode runs inside an IP-literal: `[::%31]` (the
// engine's error: ZoneId) accepted as `::1` is excused as percent-decoding. RFC 3986's
// IP-literal has no pct-encoded production (only reg-name does, and RFC 6874 makes `%25` in a
// literal the zone delimiter), so no reading of RFC 9110 §4.2.3 decodes there.
// Correct: decode only in a reg-name; `[::%31]` accepted is Serves.
#[test]
fn percent_decoding_excuse_decodes_inside_an_ipv6_literal() {
    let options = accepting(Deviation::PercentDecoding);
    let j = judge_authority(&options, b"[::%31]", ok("::1", None));
    assert!(is_serves(&j), "{}", describe(&j));
}

// SEVERITY: high. `Deviation::NumericNames` covers "a host whose last label is numeric but that
// is NO dotted quad". `numeric_name_match` never asks whether the host is a dotted quad: pattern
// `*.0.0.1` (a wildcard, so parse_san says NumericLastLabel) "matching" the IPv4 address
// `127.0.0.1` is excused. A name pattern never matches an address (RFC 9525 §6.2; the model's
// own rule text says so), under this reading too.
// Correct: a host that the model reads as an address is not a name here: Serves.
#[test]
fn numeric_names_matcher_excuse_matches_a_name_pattern_against_an_ipv4_address() {
    let options = accepting(Deviation::NumericNames);
    let j = judge_matcher(&options, "*.0.0.1", "127.0.0.1", true);
    assert!(is_serves(&j), "{}", describe(&j));
}

// SEVERITY: medium. Under `NumericNames`, `*.123` matching `a.123` is excused: the reading makes
// `123` a name, so `*.123` is a wildcard over ONE label, which SPEC refuses and only
// `Deviation::WildcardOverOneLabel` (not accepted here) may excuse. `numeric_name_match` puts
// aside every wildcard rule except "one left-most label".
// Correct: the other pattern rules still hold (at least two labels after `*`): Serves.
#[test]
fn numeric_names_matcher_excuse_lets_a_wildcard_cover_one_label() {
    let options = accepting(Deviation::NumericNames);
    let j = judge_matcher(&options, "*.123", "a.123", true);
    assert!(is_serves(&j), "{}", describe(&j));
}

// SEVERITY: medium. The first review fixed this for check_authority (`xn--a.123`), not for
// check_matcher: `numeric_name_match`'s `plain` only checks bytes and label length, so an invalid
// A-label (`xn--a`, invalid Punycode) in the host or pattern, and a pattern label with a hyphen
// at its edge (`-a`, which SPEC refuses in patterns; that is HyphenEdges' reading, not accepted
// here), are excused as numeric names.
// Correct: substitute the numeric label and hold the rest to every rule, as check_authority now
// does: all three are Serves.
#[test]
fn numeric_names_matcher_excuse_ignores_a_labels_and_hyphen_edges() {
    let options = accepting(Deviation::NumericNames);
    let mut excused = Vec::new();
    for (p, h) in [
        ("*.example.123", "xn--a.example.123"),
        ("xn--a.example.123", "xn--a.example.123"),
        ("-a.example.123", "-a.example.123"),
    ] {
        let j = judge_matcher(&options, p, h, true);
        if !is_serves(&j) {
            excused.push(format!("{p} / {h}: {}", describe(&j)));
        }
    }
    assert!(excused.is_empty(), "{}", excused.join("\n"));
}

// SEVERITY: medium-high. `excuse_match` checks `HyphenEdges` by turning EVERY `-` into `_` in
// pattern and host. That also turns `xn--a` into `xn__a`, no longer an A-label, so the A-label
// check is put aside too: pattern `*.a-.example.com` (or `xn--a.a-.example.com`) "matching"
// host `xn--a.a-.example.com`, whose `xn--a` is invalid Punycode (the model refuses the host),
// is excused. The doc promises "the pattern must then match as the model matches the same name
// with those hyphens written as another name byte": only the EDGE hyphens.
// Correct: replace only hyphens at a label's edge (or leave `xn--` prefixes alone): Serves.
#[test]
fn hyphen_edges_excuse_launders_an_invalid_a_label() {
    // The host itself is invalid: the model refuses it.
    assert!(misdirect_testkit::reference::parse_authority(b"xn--a.a-.example.com").is_err());
    let options = accepting(Deviation::HyphenEdges);
    let mut excused = Vec::new();
    for (p, h) in [
        ("*.a-.example.com", "xn--a.a-.example.com"),
        ("xn--a.a-.example.com", "xn--a.a-.example.com"),
    ] {
        let j = judge_matcher(&options, p, h, true);
        if !is_serves(&j) {
            excused.push(format!("{p} / {h}: {}", describe(&j)));
        }
    }
    assert!(excused.is_empty(), "{}", excused.join("\n"));
}

// SEVERITY: medium (false positive). `excuse_match` looks for `--` in positions 3-4 in
// `format!("{pattern} {host}")`, split on `.` and `:` only, so the pattern's last label and the
// host's FIRST label are glued into one "label" (`com ab--c`). A correct HyphensAt34 matcher that
// refuses host `ab--c.example.com` against `*.example.com` is reported as a Refuses divergence.
// Correct: check each text's labels apart; this refusal is Excused(HyphensAt34).
#[test]
fn hyphens_at_3_4_matcher_excuse_skips_the_hosts_first_label() {
    let options = accepting(Deviation::HyphensAt34);
    let j = judge_matcher(&options, "*.example.com", "ab--c.example.com", false);
    assert!(
        matches!(j, Judgement::Excused(Deviation::HyphensAt34)),
        "{}",
        describe(&j)
    );
}

// SEVERITY: low. The same glued label in the other direction: pattern `*.b.c`, host `--x.b.c`
// gives the "label" `c --x`, whose bytes 3-4 are `--`, so a matcher that misses this match is
// excused, though no label of either text has `--` in positions 3 and 4 (`--x` has them at
// 1-2, which RFC 5891 §4.2.3.1 does not forbid).
// Correct: a Refuses divergence.
#[test]
fn hyphens_at_3_4_matcher_excuse_sees_hyphens_across_the_join() {
    let options = accepting(Deviation::HyphensAt34);
    let j = judge_matcher(&options, "*.b.c", "--x.b.c", false);
    assert!(
        matches!(&j, Judgement::Diverges(d) if d.class() == Class::Refuses),
        "{}",
        describe(&j)
    );
}

// SEVERITY: medium. `PatternTrailingDot` reads "a pattern written with one trailing dot
// (`example.com.`) as the NAME without it". The excuse strips the dot and asks the model about
// the rest, which for `1.2.3.4.` is an iPAddress pattern and for `::1.` an IPv6 one: a matcher
// for which the dNSName `1.2.3.4.` matches the address `1.2.3.4` (or `::1.` matches `[::1]`)
// is excused. A DNS name never matches an IP address (RFC 9525 §6.2), trailing dot or not.
// Correct: the trimmed text must be read as a name; these are Serves divergences.
#[test]
fn pattern_trailing_dot_excuse_lets_a_name_pattern_match_an_address() {
    let options = accepting(Deviation::PatternTrailingDot);
    let mut excused = Vec::new();
    for (p, h) in [("1.2.3.4.", "1.2.3.4"), ("::1.", "[::1]")] {
        let j = judge_matcher(&options, p, h, true);
        if !is_serves(&j) {
            excused.push(format!("{p} / {h}: {}", describe(&j)));
        }
    }
    assert!(excused.is_empty(), "{}", excused.join("\n"));
}

/// Options accepting `d`, with the wire parser converting Unicode hosts (UTS #46).
fn convert(d: Deviation) -> Options {
    let mut options = accepting(d);
    options.knobs = Knobs {
        wire_unicode: WireUnicode::Convert,
        ..Knobs::default()
    };
    options
}

// SEVERITY: low (false positive, wire_unicode Convert only). With `WireUnicode::Convert` the
// engine's error for a non-ASCII host is `InvalidUnicode`, whatever the rule that failed after
// UTS #46 mapping, so `excuse_acceptance`'s match on the error finds no reading: a correct
// NumericNames parser that converts `bücher.123` to `xn--bcher-kva.123` (the same thing it
// does for `bücher.example`) is reported as Serves.
// Resolution: a documented limit (docs/testkit.md, `Options::accept`): the readings are judged
// on ASCII hosts; a non-ASCII host only a reading accepts is a divergence. This test holds the
// limit as documented, so that lifting it is a deliberate change.
#[test]
fn readings_excuse_nothing_in_a_unicode_host() {
    let j = judge_authority(
        &convert(Deviation::NumericNames),
        "bücher.123".as_bytes(),
        ok("xn--bcher-kva.123", None),
    );
    assert!(matches!(j, Judgement::Diverges(_)), "{}", describe(&j));
    // The same reading on the ASCII spelling is excused.
    let j = judge_authority(
        &convert(Deviation::NumericNames),
        b"xn--bcher-kva.123",
        ok("xn--bcher-kva.123", None),
    );
    assert!(matches!(j, Judgement::Excused(_)), "{}", describe(&j));
}

// SEVERITY: low (false positive, wire_unicode Convert only). `has_hyphens_at_3_4` counts BYTES.
// RFC 5891 §4.2.3.1 speaks of the U-label's third and fourth CHARACTERS: `bü--x` has `--` there
// (b, ü, -, -), but `ü` is two bytes, so bytes 3-4 are `\xbc-`. A correct HyphensAt34 parser
// that refuses `bü--x.example` (the model accepts it as `xn--b--x-0ra.example`) is reported as
// Refuses.
// Correct: Excused(HyphensAt34).
#[test]
fn hyphens_at_3_4_counts_bytes_not_characters() {
    let options = convert(Deviation::HyphensAt34);
    let j = judge_authority(&options, "bü--x.example".as_bytes(), Err(()));
    assert!(matches!(j, Judgement::Excused(_)), "{}", describe(&j));
}
