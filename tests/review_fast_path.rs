//! Hostile review 2: the case-blind name index, the wildcard fast path and what it carries to
//! the full parse (`Exact::Absent`, `Exact::AbsentBoth`), the wire scan split, the `@` search,
//! and the IPv6 text parser. Every test compares the engine with an independent reference: the
//! model (`misdirect::model`, no fast path, no hash), std's `Ipv6Addr` parser, or
//! `NamePattern::matches`.
#![cfg(feature = "model")]

use std::net::Ipv6Addr;

use misdirect::{
    Authority, AuthorityError, CertificateConfig, Config, ConnectionFacts, Handshake, Host, Knobs,
    ListenerConfig, Method, NameIndex, NamePattern, Request, Rule, Server, SniPolicy, Status,
    Target, UnknownHost, Version, VhostConfig, WireUnicode, model,
};

// ---------------------------------------------------------------------------------------------
// A server whose names make every exit of the fast path reachable.
// ---------------------------------------------------------------------------------------------

/// A name of exactly `len` octets ending in `.{suffix}`, labels of at most 63 octets.
fn long_name(len: usize, suffix: &str) -> String {
    let mut body = "l".repeat(len - suffix.len() - 1);
    for at in (63..body.len()).step_by(64) {
        body.replace_range(at..=at, ".");
    }
    if body.ends_with('.') {
        body.pop();
        body.push('l');
    }
    let name = format!("{body}.{suffix}");
    assert_eq!(name.len(), len, "{name}");
    name
}

/// The longest wildcard parent §3 allows: `*.` and 251 octets make 253.
fn long_parent() -> String {
    long_name(251, "example.net")
}

/// A parent of 200 octets: a label of 52 over it makes 253, of 53 makes 254.
fn mid_parent() -> String {
    long_name(200, "example.org")
}

fn long_exact() -> String {
    long_name(253, "example.com")
}

/// A virtual host: name, names, policy, `https` ports, `http` ports.
type Vhost = (&'static str, Vec<String>, &'static str, Vec<u16>, Vec<u16>);

fn vhosts() -> Vec<Vhost> {
    let s = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
    vec![
        ("apex", s(&["example.com"]), "mtls", vec![443], vec![80]),
        ("wild", s(&["*.example.com"]), "public", vec![443], vec![80]),
        (
            "exacts",
            s(&[
                "api.example.com",
                "a_b.example.com",
                "xn--bcher-kva.example.com",
                "x-y.example.com",
                "0.example.com",
                "0x1.example.com",
            ]),
            "mtls",
            vec![443],
            vec![80],
        ),
        ("deep", s(&["*.a.example.com"]), "mtls", vec![443], vec![]),
        (
            "deepexact",
            s(&["b.a.example.com"]),
            "public",
            vec![443],
            vec![],
        ),
        (
            "under",
            s(&["*.s_u.example.org", "s_u.example.org"]),
            "mtls",
            vec![443],
            vec![80],
        ),
        (
            "idn",
            s(&["*.xn--bcher-kva.example"]),
            "public",
            vec![443],
            vec![],
        ),
        (
            "rtl",
            s(&["*.xn--mgbh0fb.example"]),
            "mtls",
            vec![443],
            vec![],
        ),
        (
            "digits",
            s(&["*.1x.example.net", "*.0xg.example.net", "*.a-1.example.net"]),
            "public",
            vec![443],
            vec![80],
        ),
        (
            "long",
            vec![format!("*.{}", long_parent())],
            "mtls",
            vec![443],
            vec![],
        ),
        (
            "mid",
            vec![format!("*.{}", mid_parent())],
            "public",
            vec![443],
            vec![],
        ),
        ("longexact", vec![long_exact()], "mtls", vec![443], vec![]),
        (
            "alt",
            s(&["*.example.com", "api.example.com", "example.com"]),
            "public",
            vec![8443],
            vec![],
        ),
        (
            "ips",
            s(&["192.0.2.1", "2001:db8::1"]),
            "public",
            vec![443],
            vec![80],
        ),
    ]
}

fn sans() -> Vec<String> {
    let mut sans: Vec<String> = [
        "example.com",
        "*.example.com",
        "*.a.example.com",
        "*.s_u.example.org",
        "s_u.example.org",
        "*.xn--bcher-kva.example",
        "*.xn--mgbh0fb.example",
        "*.1x.example.net",
        "*.0xg.example.net",
        "*.a-1.example.net",
        "192.0.2.1",
        "2001:db8::1",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    sans.push(format!("*.{}", long_parent()));
    sans.push(format!("*.{}", mid_parent()));
    sans.push(long_exact());
    sans
}

fn build(knobs: Knobs) -> Server<usize> {
    let vhosts = vhosts()
        .into_iter()
        .enumerate()
        .map(|(i, (name, names, policy, https, http))| {
            let mut v = VhostConfig::new(name, &names, policy, i);
            v.https_ports = https;
            v.http_ports = http;
            v
        })
        .collect();
    let mut tls = ListenerConfig::new("tls", true, 443);
    tls.origin_ports = vec![443, 8443];
    let plain = ListenerConfig::new("plain", false, 80);
    Server::build(Config {
        policies: vec!["public".into(), "mtls".into()],
        certificates: vec![
            CertificateConfig::new("edge", &sans()),
            CertificateConfig::new("narrow", &["api.example.com", "*.a.example.com"]),
        ],
        vhosts,
        listeners: vec![tls, plain],
        knobs,
    })
    .unwrap()
}

/// Every knob setting the sweep runs under.
fn servers() -> Vec<(&'static str, Server<usize>)> {
    vec![
        ("default", build(Knobs::default())),
        (
            "strict",
            build(Knobs {
                sni: SniPolicy::Strict,
                ..Knobs::default()
            }),
        ),
        (
            "convert+notfound+samevhost",
            build(Knobs {
                sni: SniPolicy::SameVhost,
                unknown_host: UnknownHost::NotFound,
                wire_unicode: WireUnicode::Convert,
                ..Knobs::default()
            }),
        ),
    ]
}

type Outcome = (Option<Status>, Option<Rule>, Option<usize>);

/// The connections a sweep decides on: TLS with each policy, a recorded-or-assumed policy, SNI
/// in capitals, the narrow certificate; and cleartext.
fn connection_facts(server: &Server<usize>) -> Vec<ConnectionFacts<'static>> {
    let tls = |sni: Option<&'static [u8]>, cert: &str, policy: Option<&str>| ConnectionFacts {
        listener: server.listener_id("tls").unwrap(),
        tls: Some(Handshake {
            sni,
            certificate: server.certificate_id(cert).unwrap(),
            policy: policy.and_then(|p| server.policy_id(p)),
        }),
        gateway: None,
    };
    vec![
        tls(Some(b"www.example.com"), "edge", Some("public")),
        tls(Some(b"api.example.com"), "edge", Some("mtls")),
        tls(Some(b"API.Example.COM."), "edge", None),
        tls(None, "narrow", Some("mtls")),
        ConnectionFacts {
            listener: server.listener_id("plain").unwrap(),
            tls: None,
            gateway: None,
        },
    ]
}

/// Engine and model on one request: `Err` with both outcomes when they differ.
fn compare(
    server: &Server<usize>,
    facts: &ConnectionFacts<'_>,
    request: &Request<'_>,
) -> Result<Outcome, (Outcome, Outcome)> {
    let conn = server.connection(facts).unwrap();
    let engine: Outcome = match server.choose(&conn, request) {
        Ok(v) => (None, None, Some(v as usize)),
        Err(reason) => (Some(reason.status), Some(reason.rule), None),
    };
    // `decide` must agree with `choose` (another way of writing the reason).
    let verdict = server.decide(&conn, request);
    assert_eq!(
        verdict.reason().map(|r| (r.status, r.rule)),
        engine.0.zip(engine.1),
        "decide vs choose: {request:?}"
    );
    let outcome = model::decide(server.config(), facts, request).unwrap();
    let model: Outcome = (outcome.status, outcome.rule, outcome.vhost);
    if engine == model {
        Ok(engine)
    } else {
        Err((engine, model))
    }
}

/// The request shapes that reach the fast path, for one field value (`swapped`: the same
/// bytes with ASCII case swapped, as a second field that must name the same authority).
fn shapes<'a>(
    field: &'a [&'a [u8]; 1],
    swapped: &'a [&'a [u8]; 1],
    scheme: &'static [u8],
) -> Vec<Request<'a>> {
    vec![
        Request {
            version: Version::Http2,
            method: Method::Other,
            scheme: Some(scheme),
            authorities: field,
            hosts: &[],
            target: Target::Origin,
        },
        Request {
            version: Version::Http11,
            method: Method::Other,
            scheme: None,
            authorities: &[],
            hosts: field,
            target: Target::Origin,
        },
        Request {
            version: Version::Http11,
            method: Method::Other,
            scheme: None,
            authorities: &[],
            hosts: field,
            target: Target::Absolute {
                scheme,
                authority: field[0],
            },
        },
        // HTTP/3 with both fields: `:authority` takes the fast path, `Host` the full parse.
        Request {
            version: Version::Http3,
            method: Method::Other,
            scheme: Some(scheme),
            authorities: field,
            hosts: field,
            target: Target::Origin,
        },
        // HTTP/2 with both (strict consistency): the fast path's view against the full parse's.
        Request {
            version: Version::Http2,
            method: Method::Other,
            scheme: Some(scheme),
            authorities: field,
            hosts: swapped,
            target: Target::Origin,
        },
        // Absolute-form with a `Host` in other case.
        Request {
            version: Version::Http11,
            method: Method::Other,
            scheme: None,
            authorities: &[],
            hosts: swapped,
            target: Target::Absolute {
                scheme,
                authority: field[0],
            },
        },
    ]
}

fn swap_case(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|&b| if b.is_ascii_alphabetic() { b ^ 0x20 } else { b })
        .collect()
}

/// Hosts built around the configured names: left-most labels of every class the fast path
/// sorts (plain, capitals, `xn--`, leading digit, `_`, edge hyphens, 63 and 64 octets, empty)
/// over every parent (configured, capitalized, with a trailing dot, numeric), and the names
/// themselves.
fn hosts() -> Vec<Vec<u8>> {
    let labels: Vec<String> = [
        "",
        "a",
        "z",
        "api",
        "A",
        "Api",
        "1a",
        "0",
        "1",
        "_",
        "-",
        "a-",
        "-a",
        "a_b",
        "x-y",
        "xn--bcher-kva",
        "xn--bcher-xxx",
        "XN--bcher-kva",
        "xn--",
        "0x1",
        "0x",
        "s_u",
        "b",
        "ab",
        "a.b",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .chain([
        "w".repeat(52),
        "w".repeat(53),
        "w".repeat(63),
        "w".repeat(64),
    ])
    .collect();
    let parents: Vec<String> = [
        "example.com",
        "a.example.com",
        "s_u.example.org",
        "xn--bcher-kva.example",
        "xn--mgbh0fb.example",
        "1x.example.net",
        "0xg.example.net",
        "a-1.example.net",
        "example.org",
        "EXAMPLE.com",
        "example.COM",
        "example.com.",
        "com",
        "2.3.4",
        "example.0x",
        "example.1",
        "example.com:443",
        "s_U.example.org",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .chain([long_parent(), mid_parent(), long_parent().to_uppercase()])
    .collect();
    let mut hosts: Vec<Vec<u8>> = Vec::new();
    for label in &labels {
        for parent in &parents {
            hosts.push(format!("{label}.{parent}").into_bytes());
        }
    }
    for (_, names, ..) in vhosts() {
        for name in names {
            let bare = name.trim_start_matches("*.").to_string();
            hosts.push(bare.clone().into_bytes());
            hosts.push(bare.to_uppercase().into_bytes());
        }
    }
    // Unicode spellings of configured names (the `Convert` server maps them; the others
    // refuse them): fullwidth letters, U+3002 for a dot (also as the trailing dot), the Kelvin
    // sign for `k`. Their canonical form is a configured name the bytes as sent are not, even up
    // to case: what the fast path probed must not be trusted for them.
    for name in [
        "api.example.com",
        "example.com",
        "x-y.example.com",
        "b.a.example.com",
        "s_u.example.org",
        "www.example.com",
        "kk.example.com",
    ] {
        let fullwidth: String = name
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i == 0 && c.is_ascii_lowercase() {
                    char::from_u32(c as u32 - 'a' as u32 + 0xff41).unwrap()
                } else {
                    c
                }
            })
            .collect();
        hosts.push(fullwidth.clone().into_bytes());
        hosts.push(fullwidth.to_uppercase().into_bytes());
        hosts.push(name.replace('.', "\u{3002}").into_bytes());
        hosts.push(name.replacen('.', "\u{3002}", 1).into_bytes());
        hosts.push(format!("{name}\u{3002}").into_bytes());
        hosts.push(name.replace('k', "\u{212a}").into_bytes());
        hosts.push(format!("{name}\u{ff1a}443").into_bytes());
    }
    for h in [
        "192.0.2.1",
        "192.0.2.1.",
        "[2001:db8::1]",
        "[2001:DB8:0::1]",
        "[::ffff:192.0.2.1]",
        "1.2.3.4.",
        ".",
        "..",
        "",
        "a",
        "0x7f.1",
        "example.com..",
        ".example.com",
    ] {
        hosts.push(h.as_bytes().to_vec());
    }
    hosts.sort();
    hosts.dedup();
    hosts
}

/// Bytes a mutation writes at one position: each differs from a name byte in bit 0x20 only
/// (`\r`/`-`, 0x0e/`.`, 0x10../digits, DEL/`_`, `@`/`` ` ``), or is a byte the parse names.
const MUTATION_BYTES: &[u8] = &[
    b'\r', 0x0e, 0x10, 0x11, 0x19, 0x7f, b'@', b'`', b'%', b':', b'.', b'*', b' ', 0xc3, 0xe1,
    0x80, 0xff, 0x00, b'/', b'{', b'~', b'^', b'[', b']',
];

const SUFFIXES: &[&str] = &[
    "", ".", "..", ":", ":443", ":0443", ":00443", ":000443", ".:443", ".:", ":8443", ".:08443",
    ":80", ":0", ":65536", ":99999", ":443:443", ":44a", "@x", ":443@", "%2e",
];

/// The sweep: the fast path (and what it hands the full parse) against the model, which has
/// neither a fast path nor a case-blind hash, on every host above with every suffix and shape,
/// and on one-byte mutations of each host under two suffixes.
#[test]
fn fast_path_sweep_agrees_with_the_model() {
    let hosts = hosts();
    let mut failures = Vec::new();
    let mut checked = 0usize;
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for (knobs, server) in servers() {
        let facts = connection_facts(&server);
        let mut run = |bytes: &[u8], all_shapes: bool, facts_sel: &[ConnectionFacts<'_>]| {
            let field = [bytes];
            let swapped_bytes = swap_case(bytes);
            let swapped = [swapped_bytes.as_slice()];
            for (fi, f) in facts_sel.iter().enumerate() {
                let scheme: &'static [u8] = if f.tls.is_some() { b"https" } else { b"http" };
                let mut requests = shapes(&field, &swapped, scheme);
                if !all_shapes {
                    requests.truncate(1);
                }
                for request in &requests {
                    checked += 1;
                    match compare(&server, f, request) {
                        Ok((_, _, Some(v))) => {
                            *seen
                                .entry(format!("serve {}", server.config().vhosts[v].name))
                                .or_default() += 1;
                        }
                        Ok((status, rule, None)) => {
                            *seen.entry(format!("{status:?} {rule:?}")).or_default() += 1;
                        }
                        Err((engine, model)) => failures.push(format!(
                            "{knobs} conn#{fi} {:?} {:?}: engine {engine:?} model {model:?}",
                            request.version,
                            String::from_utf8_lossy(bytes),
                        )),
                    }
                }
            }
        };
        for host in &hosts {
            for suffix in SUFFIXES {
                let bytes = [host.as_slice(), suffix.as_bytes()].concat();
                run(&bytes, true, &facts);
            }
            // One-byte mutations: every position of short hosts, the first and last 12 bytes
            // of long ones.
            let positions: Vec<usize> = if host.len() <= 40 {
                (0..host.len()).collect()
            } else {
                (0..12).chain(host.len() - 12..host.len()).collect()
            };
            for at in positions {
                let original = host[at];
                let mut bytes_to_try: Vec<u8> = MUTATION_BYTES.to_vec();
                bytes_to_try.push(original ^ 0x20);
                for b in bytes_to_try {
                    if b == original {
                        continue;
                    }
                    let mut mutated = host.clone();
                    mutated[at] = b;
                    for suffix in ["", ".:443"] {
                        let bytes = [mutated.as_slice(), suffix.as_bytes()].concat();
                        run(&bytes, false, &facts[..2]);
                    }
                }
            }
        }
    }
    println!("{checked} decisions compared: {seen:#?}");
    // Not vacuous: every virtual host is served, and every rule that reads the host fires.
    for (name, ..) in vhosts() {
        assert!(
            seen.contains_key(&format!("serve {name}")),
            "{name} never served: {seen:#?}"
        );
    }
    for rule in ["Framing", "Certificate", "VirtualHost", "Sni", "Port"] {
        assert!(
            seen.keys().any(|k| k.ends_with(&format!("Some({rule})"))),
            "{rule}: {seen:#?}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} decisions differ, first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
}

/// Every host the engine serves parses under the full parse, and its canonical host is what a
/// full lookup serves: no refused host is served through a wildcard, and no exact name loses to
/// a wildcard, whatever the case of the bytes sent (the property SPEC §6 states, held directly
/// rather than through the model).
#[test]
fn served_hosts_parse_and_win_as_a_full_lookup_would() {
    let server = build(Knobs::default());
    let facts = connection_facts(&server);
    let mut served = 0;
    for host in hosts() {
        for suffix in SUFFIXES {
            let bytes = [host.as_slice(), suffix.as_bytes()].concat();
            for f in &facts[..2] {
                let conn = server.connection(f).unwrap();
                let field = [bytes.as_slice()];
                let request = &shapes(&field, &field, b"https")[0];
                let Ok(vhost) = server.choose(&conn, request) else {
                    continue;
                };
                served += 1;
                let parsed = Authority::parse(&bytes);
                assert!(parsed.is_ok(), "served {bytes:?} the full parse refuses");
                let parsed = parsed.unwrap();
                let port = parsed.effective_port(443);
                // The model's index over the vhosts serving https on that port.
                let mut patterns = Vec::new();
                let mut owners = Vec::new();
                for (i, v) in server.config().vhosts.iter().enumerate() {
                    if v.https_ports.contains(&port) {
                        for n in &v.names {
                            patterns.push(model::parse_pattern(n, true).unwrap());
                            owners.push(i);
                        }
                    }
                }
                let host = match parsed.host() {
                    Host::Dns(n) => model::Host::Dns(n.as_str().to_string()),
                    Host::Ipv4(a) => model::Host::Ipv4(*a),
                    Host::Ipv6(a) => model::Host::Ipv6(*a),
                };
                let (exact, wildcard) = model::index_lookup(&patterns, &host);
                let best = exact.or(wildcard).map(|p| owners[p]);
                assert_eq!(
                    best,
                    Some(vhost as usize),
                    "{:?}",
                    String::from_utf8_lossy(&bytes)
                );
            }
        }
    }
    assert!(served > 100, "{served}");
}

// ---------------------------------------------------------------------------------------------
// The name index's public API: case-blind probes against `NamePattern::matches`.
// ---------------------------------------------------------------------------------------------

/// `NameIndex::lookup` answers as `NamePattern::matches` for every pattern it holds: the index
/// may compare faster, never differently. `NamePattern`'s variants are public, so an embedder
/// can build an index from a pattern it wrote by hand; before the case-blind probe a lookup
/// was byte equality, as `matches` is.
///
/// Finding: `same_name`'s word path marks a stored byte as a "letter" when adding 0x1f carries
/// into bit 0x80, which holds for 0x61..=0xe0, not only `a`..=`z`; a stored DEL (0x7f) then
/// matches a request's `_` (0x5f), in names of 8 bytes or more only (the short path checks
/// `is_ascii_lowercase`). The canonical host `abcdefg_` is found under the pattern
/// `abcdefg\x7f`, which `matches` says does not cover it.
#[test]
fn index_lookup_agrees_with_pattern_matches_for_hand_built_patterns() {
    let cases: &[(NamePattern, &str)] = &[
        (NamePattern::Exact("abcdefg\u{7f}".into()), "abcdefg_"),
        (
            NamePattern::Exact("api.exampl\u{7f}.com".into()),
            "api.exampl_.com",
        ),
        (
            NamePattern::Wildcard("exampl\u{7f}.com".into()),
            "a.exampl_.com",
        ),
        // Short names take the byte-by-byte path, which is right.
        (NamePattern::Exact("a\u{7f}b".into()), "a_b"),
        // Capitals in a hand-built pattern: neither matches.
        (
            NamePattern::Exact("API.example.com".into()),
            "api.example.com",
        ),
    ];
    let mut wrong = Vec::new();
    for (pattern, host) in cases {
        let host = Host::parse(host.as_bytes()).unwrap();
        let index = NameIndex::build([(pattern.clone(), ())]).unwrap();
        let found = index.lookup(&host).is_some();
        if found != pattern.matches(&host) {
            wrong.push(format!(
                "{pattern:?} vs {host}: lookup {found}, matches {}",
                pattern.matches(&host)
            ));
        }
        assert_eq!(index.covers(&host), found);
        let all = index.lookup_all(&host);
        assert_eq!(all.best().is_some(), found);
    }
    // Two hand-built patterns that are different names, `abcdefg_` (canonical, what
    // `NamePattern::parse` gives) and `abcdefg\x7f`: the build takes both (it compares bytes),
    // and the case-blind hash puts them in one bucket, so a lookup of `abcdefg_` can return the
    // DEL pattern's value instead of its own exact name's.
    for order in [false, true] {
        let real = (NamePattern::parse("abcdefg_").unwrap(), "real");
        let garbage = (NamePattern::Exact("abcdefg\u{7f}".into()), "garbage");
        let list = if order {
            vec![real, garbage]
        } else {
            vec![garbage, real]
        };
        let index = NameIndex::build(list).unwrap();
        let host = Host::parse(b"abcdefg_").unwrap();
        let found = index.lookup(&host).map(|h| *h.value);
        if found != Some("real") {
            wrong.push(format!(
                "garbage first: {}: abcdefg_ found {found:?}",
                !order
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Canonical patterns (the only ones `Server::build` makes): the index agrees with the model's
/// linear scan for hosts next to each pattern in every way a case-blind probe could confuse.
#[test]
fn index_lookup_agrees_with_the_model_next_to_every_pattern() {
    let texts: Vec<String> = vhosts()
        .into_iter()
        .flat_map(|(_, names, ..)| names)
        .collect();
    // Names repeated on other ports once: one index holds each pattern once.
    let mut seen = std::collections::HashSet::new();
    let texts: Vec<String> = texts
        .into_iter()
        .filter(|t| seen.insert(t.clone()))
        .collect();
    let patterns: Vec<NamePattern> = texts
        .iter()
        .map(|t| NamePattern::parse(t).unwrap())
        .collect();
    let models: Vec<model::Pattern> = texts
        .iter()
        .map(|t| model::parse_pattern(t, true).unwrap())
        .collect();
    let index = NameIndex::build(patterns.iter().cloned().zip(0..)).unwrap();
    let mut hosts = hosts();
    // Flip each byte's bit 0x20 in every host: a canonical host never equals another name up
    // to case, so each must be found exactly where the model finds it.
    for h in hosts.clone() {
        for at in 0..h.len() {
            let mut m = h.clone();
            m[at] ^= 0x20;
            hosts.push(m);
        }
    }
    let mut compared = 0;
    for bytes in hosts {
        let (Ok(host), Ok(mhost)) = (Host::parse(&bytes), model::parse_host(&bytes)) else {
            continue;
        };
        compared += 1;
        let all = index.lookup_all(&host);
        let (exact, wildcard) = model::index_lookup(&models, &mhost);
        assert_eq!(
            (
                all.exact.map(|h| h.position),
                all.wildcard.map(|h| h.position)
            ),
            (exact, wildcard),
            "{host}"
        );
    }
    assert!(compared > 500, "{compared}");
}

// ---------------------------------------------------------------------------------------------
// The wire scan (numeric last label after the loop) and the `@` search.
// ---------------------------------------------------------------------------------------------

/// Every string of up to 6 bytes over an alphabet that makes numeric last labels (`1`, `0x`, `-`,
/// `0X1f`), trailing dots, ports and capitals: the engine's parse accepts exactly what the
/// model's does, with the same host and port.
#[test]
fn wire_scan_agrees_with_the_model_exhaustively() {
    const ALPHABET: &[u8] = b"0xX1fg.:a-";
    fn walk(text: &mut Vec<u8>, left: usize, count: &mut usize) {
        let engine = Authority::parse(text).map(|a| (a.host().to_string(), a.port()));
        let model = model::parse_authority(text, false).map(|(h, p)| (h.canonical(), p));
        assert_eq!(
            engine.as_ref().ok(),
            model.as_ref().ok(),
            "{:?}: engine {engine:?} model {model:?}",
            String::from_utf8_lossy(text)
        );
        *count += 1;
        if left == 0 {
            return;
        }
        for &b in ALPHABET {
            text.push(b);
            walk(text, left - 1, count);
            text.pop();
        }
    }
    let mut count = 0;
    walk(&mut Vec::new(), 6, &mut count);
    assert!(count > 1_000_000);
}

/// Names at the length limits with numeric, `0x` and trailing-dot last labels.
#[test]
fn wire_scan_agrees_with_the_model_at_the_limits() {
    for len in [251, 252, 253, 254] {
        for last in ["1", "0x", "0x1f", "0xg", "a", "1a", "09"] {
            let name = long_name(len.max(last.len() + 70), "example.com");
            let name = format!("{}.{last}", &name[..name.len() - 4 - last.len()]);
            for suffix in ["", ".", "..", ":443", ".:443"] {
                let text = format!("{name}{suffix}");
                let engine =
                    Authority::parse(text.as_bytes()).map(|a| (a.host().to_string(), a.port()));
                let model =
                    model::parse_authority(text.as_bytes(), false).map(|(h, p)| (h.canonical(), p));
                assert_eq!(engine.as_ref().ok(), model.as_ref().ok(), "{text}");
            }
        }
    }
    for text in [
        "1.2.3.4.",
        "1.2.3.4..",
        ".",
        "0x",
        "0x.",
        "a.0x.",
        "a.0X1F.",
        "a.0x1g.",
    ] {
        let engine = Authority::parse(text.as_bytes()).map(|a| (a.host().to_string(), a.port()));
        let model = model::parse_authority(text.as_bytes(), false).map(|(h, p)| (h.canonical(), p));
        assert_eq!(engine.as_ref().ok(), model.as_ref().ok(), "{text}");
    }
}

/// An `@` anywhere in an input under the length cap is reported as userinfo at the first `@`,
/// whatever else is wrong (SPEC §2: "any `@`"), at every offset and alignment.
#[test]
fn userinfo_is_reported_at_the_first_at_sign_everywhere() {
    let fillers: &[&[u8]] = &[
        b"a", b"A", b".", b":", b"\xc0", b"`", b"\x00", b"%", b"[", b"]", b"?", b"\x80",
    ];
    for len in 1..=MAX {
        for &filler in fillers {
            for first in [0, 1, 7, 8, 9, 15, 16, 17, len / 2, len.saturating_sub(1)] {
                if first >= len {
                    continue;
                }
                let mut bytes: Vec<u8> = filler.iter().copied().cycle().take(len).collect();
                bytes[first] = b'@';
                if first + 5 < len {
                    bytes[first + 5] = b'@';
                }
                let error = Authority::parse(&bytes).unwrap_err();
                assert_eq!(
                    error,
                    AuthorityError::Userinfo { offset: first },
                    "{bytes:?}"
                );
            }
        }
    }
    const MAX: usize = misdirect::MAX_AUTHORITY_LEN;
    // Over the cap, length first.
    let long = vec![b'@'; MAX + 1];
    assert_eq!(
        Authority::parse(&long).unwrap_err(),
        AuthorityError::TooLong { len: MAX + 1 }
    );
}

// ---------------------------------------------------------------------------------------------
// The IPv6 text parser against std.
// ---------------------------------------------------------------------------------------------

fn std_ipv6(text: &[u8]) -> Option<Ipv6Addr> {
    core::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse::<Ipv6Addr>().ok())
}

fn check_ipv6(text: &[u8]) {
    let ours = misdirect::__fuzz::parse_ipv6(text);
    assert_eq!(ours, std_ipv6(text), "{:?}", String::from_utf8_lossy(text));
    // Through the wire parser too: a bracketed literal is that address, or refused.
    let literal = [&b"["[..], text, b"]"].concat();
    if !text.contains(&b']') {
        match Authority::parse(&literal) {
            Ok(a) => assert_eq!(
                Some(*a.host()),
                ours.map(Host::Ipv6),
                "{:?}",
                String::from_utf8_lossy(text)
            ),
            Err(_) => assert_eq!(ours, None, "{:?}", String::from_utf8_lossy(text)),
        }
    }
}

/// Every string of up to 9 bytes over `0 1 f : .`: 2,441,406 strings, enough to reach a dotted
/// quad after `::` (`::0.0.0.0` is nine bytes) and every count of groups and separators.
#[test]
fn ipv6_exhaustive_short_strings_over_digits_colons_dots() {
    fn walk(text: &mut Vec<u8>, left: usize) {
        check_ipv6(text);
        if left == 0 {
            return;
        }
        for &b in b"01f:." {
            text.push(b);
            walk(text, left - 1);
            text.pop();
        }
    }
    walk(&mut Vec::new(), 9);
}

/// Structured texts: 0 to 10 groups of 0 to 5 digits, each separator one to three colons,
/// and optionally a dotted quad of octets near the limits at the end (or in the middle).
#[test]
fn ipv6_structured_texts_match_std() {
    let groups = [
        "", "0", "1", "ff", "FfF", "0000", "ffff", "12345", "00000", "g", "1.2",
    ];
    let octets = ["0", "1", "00", "01", "255", "256", "999", "1000", "a", ""];
    // A deterministic xorshift, so a failure names its input.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    for _ in 0..400_000 {
        let mut text = String::new();
        if next(4) == 0 {
            text.push_str(&":".repeat(1 + next(3)));
        }
        let count = next(11);
        for i in 0..count {
            if i > 0 {
                text.push_str(match next(8) {
                    0 => "::",
                    1 => ":::",
                    _ => ":",
                });
            }
            text.push_str(groups[next(groups.len())]);
        }
        match next(4) {
            0 => {
                if !text.is_empty() && !text.ends_with(':') {
                    text.push(':');
                }
                let quad: Vec<&str> = (0..3 + next(3))
                    .map(|_| octets[next(octets.len())])
                    .collect();
                text.push_str(&quad.join("."));
                if next(4) == 0 {
                    text.push_str(&format!(":{}", groups[next(groups.len())]));
                }
            }
            1 => text.push_str(&":".repeat(1 + next(3))),
            _ => {}
        }
        check_ipv6(text.as_bytes());
    }
}

/// Every address with runs of zero groups at every place, printed by std in both forms, and
/// its uppercase and fully expanded forms.
#[test]
fn ipv6_printed_forms_read_back() {
    for mask in 0u32..256 {
        let groups: Vec<u16> = (0..8)
            .map(|i| {
                if mask >> i & 1 == 1 {
                    0
                } else {
                    0x1000 + i as u16
                }
            })
            .collect();
        let addr = Ipv6Addr::new(
            groups[0], groups[1], groups[2], groups[3], groups[4], groups[5], groups[6], groups[7],
        );
        for text in [
            addr.to_string(),
            addr.to_string().to_uppercase(),
            groups
                .iter()
                .map(|g| format!("{g:04x}"))
                .collect::<Vec<_>>()
                .join(":"),
            format!(
                "{}:{}.{}.{}.{}",
                groups[..6]
                    .iter()
                    .map(|g| format!("{g:x}"))
                    .collect::<Vec<_>>()
                    .join(":"),
                groups[6] >> 8,
                groups[6] & 0xff,
                groups[7] >> 8,
                groups[7] & 0xff
            ),
        ] {
            check_ipv6(text.as_bytes());
        }
    }
}
