//! proptest strategies that reach the edges of SPEC §2-§3 (names, labels, addresses, ports,
//! wire authorities, patterns), and in [`decide`] whole configurations, connections and
//! requests for SPEC §4-§5.

pub mod decide;

use proptest::prelude::*;

/// Labels that sit on the edges: case, A-labels valid and not, hyphens, digits, hex, lengths
/// (up to 63 octets with capitals anywhere in them, and 64, refused), U-labels and Unicode that
/// UTS #46 maps, and near-wildcards.
pub fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9_-]{1,8}",
        3 => "[a-z]{1,3}",
        1 => prop::sample::select(vec![
            "xn--bcher-kva", "XN--BCHER-KVA", "xn--", "xn--abc", "xn--a", "xn--mgbh0fb",
            "xn--tst-bma", "xn--nxasmq6b", "xn--zz", "xn--bcher-kva-", "xn--xn--a",
            "r1---sn-abc", "_dmarc", "-a", "a-", "ab--cd", "0x7f", "0x", "0X1F", "0xg", "1",
            "255", "256", "01", "0", "bücher", "\u{212A}", "ｅｘａｍｐｌｅ", "ß", "ς", "\u{3002}",
            "*", "f*", "*oo", "", "www", "example", "com", "co", "uk", "test",
        ])
        .prop_map(String::from),
        1 => Just("a".repeat(63)),
        1 => Just("b".repeat(64)),
        1 => "[a-zA-Z0-9]{9,63}",
        1 => "[a-z]{30,62}[A-Z]",
        1 => "[0-9]{1,4}",
    ]
}

/// A name of 1-5 labels, with 0-2 trailing dots, sometimes a U+3002 separator.
pub fn name() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(label(), 1..5),
        0usize..3,
        prop::bool::weighted(0.05),
    )
        .prop_map(|(labels, dots, ideographic)| {
            let sep = if ideographic { "\u{3002}" } else { "." };
            let mut name = labels.join(sep);
            name.push_str(&".".repeat(dots));
            name
        })
}

/// Names of 65 octets (one past the engine's old fast-path limit) to 255, mostly at 252..=255
/// around the 253-octet limit, labels of up to 63 octets, capitals anywhere (a repeating mask
/// over the whole name), sometimes one trailing dot.
pub fn long_name() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            3 => 252usize..=255,
            1 => prop::sample::select(vec![65usize, 66, 127, 128, 189, 190, 251]),
            1 => 65usize..=255,
        ],
        "[a-z0-9]{1,4}",
        prop::collection::vec(any::<bool>(), 1..12),
        prop::bool::ANY,
    )
        .prop_map(|(total, fill, mask, dot)| {
            let mut name = flip_case(
                &crate::owned::filled_name(total, "example.com", fill.as_bytes()),
                &mask,
            );
            if dot {
                name.push('.');
            }
            name
        })
}

/// IPv4 text, strict and not: leading zeros, three or five parts, hex, trailing dot.
pub fn ipv4_text() -> impl Strategy<Value = String> {
    (any::<[u8; 4]>(), 0u8..8).prop_map(|(o, variant)| match variant {
        0 => format!("{}.{}.{}.{}.", o[0], o[1], o[2], o[3]),
        1 => format!("{:03}.{}.{}.{}", o[0], o[1], o[2], o[3]),
        2 => format!("{}.{}.{}", o[0], o[1], o[2]),
        3 => format!("{}.{}.{}.{}.{}", o[0], o[1], o[2], o[3], o[0]),
        4 => format!("0x{:x}.{}", o[0], o[1]),
        5 => format!("{}", u32::from_be_bytes(o)),
        _ => format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3]),
    })
}

/// IPv6 text without brackets: compressed, uppercase, full, IPv4-mapped.
pub fn ipv6_text() -> impl Strategy<Value = String> {
    (any::<[u16; 8]>(), 0u8..6, any::<[u8; 4]>()).prop_map(|(segs, variant, v4)| {
        let addr = std::net::Ipv6Addr::from(segs);
        match variant {
            0 => addr.to_string().to_uppercase(),
            1 => segs
                .iter()
                .map(|s| format!("{s:04x}"))
                .collect::<Vec<_>>()
                .join(":"),
            2 => format!("::ffff:{}.{}.{}.{}", v4[0], v4[1], v4[2], v4[3]),
            3 => format!("::{:x}", segs[0]),
            4 => format!("{:x}::{:x}", segs[0], segs[7]),
            _ => addr.to_string(),
        }
    })
}

/// Hosts as they appear on the wire: names, IPv4, bracketed IPv6 with and without zone ids,
/// IPvFuture, unbracketed IPv6.
pub fn wire_host() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => name(),
        2 => long_name(),
        2 => ipv4_text(),
        2 => ipv6_text().prop_map(|t| format!("[{t}]")),
        1 => ipv6_text().prop_map(|t| format!("[{t}%25eth0]")),
        1 => Just("[v1.x]".to_string()),
        1 => ipv6_text(),
        1 => Just(String::new()),
    ]
}

/// Ports: absent, empty, 0, 1, 65535, 65536, leading zeros, six digits, junk.
pub fn port() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(String::new()),
        1 => prop::sample::select(vec![
            ":", ":0", ":1", ":65535", ":65536", ":0443", ":443", ":80", ":8443", ":000080",
            ":123456", ":abc", "::", ":44 3", ":-1",
        ])
        .prop_map(String::from),
        2 => (1u32..70000).prop_map(|p| format!(":{p}")),
    ]
}

/// A wire authority as bytes, sometimes with userinfo, and sometimes with one stray byte (NUL,
/// non-ASCII, space, `%`, `/`, `@`, `:`, `[`) dropped in anywhere.
pub fn wire_authority() -> impl Strategy<Value = Vec<u8>> {
    (
        wire_host(),
        port(),
        prop::sample::select(vec!["", "", "", "", "", "", "user@", "u:p@"]),
        prop::option::weighted(
            0.1,
            (
                any::<prop::sample::Index>(),
                prop::sample::select(vec![
                    0u8, 0xff, 0xc3, b' ', b'%', b'/', b'@', b':', b'[', b'*',
                ]),
            ),
        ),
    )
        .prop_map(|(host, port, userinfo, stray)| {
            let mut bytes = format!("{userinfo}{host}{port}").into_bytes();
            if let Some((at, byte)) = stray {
                let at = at.index(bytes.len() + 1);
                bytes.insert(at, byte);
            }
            bytes
        })
}

/// Flips the ASCII case of the letters the mask selects.
pub fn flip_case(text: &str, mask: &[bool]) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask.get(i % mask.len().max(1)).copied().unwrap_or(false) {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            } else {
                c
            }
        })
        .collect()
}

/// Small pool of labels for names that overlap, so that patterns and hosts meet; two of 63
/// octets, so that names of two or more labels pass 64 octets (and, case-flipped, hold capitals
/// there).
pub fn overlap_label() -> impl Strategy<Value = String> {
    let mut labels: Vec<String> = [
        "a",
        "b",
        "www",
        "Api",
        "example",
        "com",
        "co",
        "uk",
        "xn--bcher-kva",
        "_x",
        "1",
        "test",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    labels.push("l".repeat(63));
    labels.push(format!("{}Q{}", "m".repeat(40), "n".repeat(22)));
    prop::sample::select(labels)
}

/// A pattern text derived from a host's labels: the same name, a wildcard over some suffix, a
/// near-wildcard, or a case-flipped copy; plus IPs and free-form patterns.
pub fn pattern_for(labels: Vec<String>) -> BoxedStrategy<String> {
    let n = labels.len();
    (0..n, 0u8..10, prop::collection::vec(any::<bool>(), 1..8))
        .prop_map(move |(k, variant, mask)| {
            let suffix = labels[k..].join(".");
            let whole = labels.join(".");
            match variant {
                0 | 1 => whole,
                2 | 3 => format!("*.{suffix}"),
                4 => format!("*.{whole}"),
                5 => format!("f*.{suffix}"),
                6 => format!("*.*.{suffix}"),
                7 => flip_case(&format!("*.{suffix}"), &mask),
                8 => format!("{whole}."),
                _ => suffix,
            }
        })
        .boxed()
}

/// Free-form pattern texts: names, wildcards, near-wildcards, IPs with and without brackets.
pub fn pattern_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => name(),
        3 => name().prop_map(|n| format!("*.{n}")),
        1 => name().prop_map(|n| format!("f*.{n}")),
        1 => name().prop_map(|n| format!("*{n}")),
        1 => long_name().prop_map(|n| format!("*.{n}")),
        1 => long_name(),
        1 => ipv4_text(),
        1 => ipv6_text(),
        1 => ipv6_text().prop_map(|t| format!("[{t}]")),
        1 => Just("*".to_string()),
        1 => Just("*.com".to_string()),
        1 => Just("*.co.uk".to_string()),
    ]
}

/// Spellings of an authority that parsers are known to disagree on, each from a realistic
/// host: percent-encoded letters, signed and non-numeric ports, sub-delims, edge dots, empty
/// labels, IPv4 shorthand and hex, unclosed or non-address brackets, IPv4 in brackets and
/// IPv4-mapped IPv6 (never the IPv4 host), userinfo, ports past 65535, and a U+212A Kelvin
/// sign or a Cyrillic letter in place of a Latin one.
pub fn tricky_authority() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![
            "a.example",
            "www.example.com",
            "api.example.org",
            "xn--bcher-kva.example",
            "192.0.2.1",
            "[2001:db8::1]",
            "localhost",
            "r1---sn-abc.example.com",
            "_x.example",
            "xn--a.example",
            "www.xn--zz.example.com",
        ]),
        0u8..28,
        prop::collection::vec(any::<bool>(), 1..6),
    )
        .prop_map(|(host, trick, mask)| {
            let cased = flip_case(host, &mask);
            let text = match trick {
                0 => {
                    // One letter percent-encoded (unreserved: decoding it is RFC 9110's reading).
                    let at = host.find(|c: char| c.is_ascii_lowercase()).unwrap_or(0);
                    let letter = host.as_bytes().get(at).copied().unwrap_or(b'a');
                    format!(
                        "{}%{letter:02X}{}",
                        &host[..at],
                        host.get(at + 1..).unwrap_or("")
                    )
                }
                1 => format!("{host}:+443"),
                2 => format!("{host}:abc"),
                3 => format!("{host}:99999"),
                4 => format!(".{host}"),
                5 => format!("{host}.."),
                6 => host.replacen('.', "..", 1),
                7 => "127.1".to_string(),
                8 => "0x7f.0.0.1".to_string(),
                9 => "[zzz]".to_string(),
                10 => "[::1".to_string(),
                11 => format!("user@{host}"),
                12 => format!("{host}:443@evil.example"),
                13 => format!("{host}!"),
                14 => format!("{host}:"),
                15 => format!("{host}:0443"),
                16 => format!("{host}:000443"),
                17 => format!("{cased}:443"),
                18 => format!("{cased}."),
                19 => host.replacen('k', "\u{212A}", 1),
                20 => format!("{host} "),
                21 => format!("{host}:0"),
                22 => format!("{host}/"),
                23 => "[192.0.2.1]".to_string(),
                24 => "[::ffff:192.0.2.1]".to_string(),
                25 => "[::FFFF:c000:201]:443".to_string(),
                26 => host
                    .replacen('k', "\u{212A}", 1)
                    .replacen('e', "\u{0435}", 1),
                _ => cased,
            };
            text.into_bytes()
        })
}

/// The wire authorities `check_authority` draws: [`wire_authority`]'s edges and
/// [`tricky_authority`]'s known disagreements, and now and then any bytes.
pub fn authority() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => wire_authority(),
        3 => tricky_authority(),
        1 => prop::collection::vec(any::<u8>(), 0..24),
    ]
}

/// A host that a pattern's own labels suggest: the name, one label more or less, a label in
/// place of its `*`, capitals anywhere, one trailing dot, or two.
fn host_for(pattern: &str) -> impl Strategy<Value = String> + use<> {
    let base = pattern
        .trim_start_matches("*.")
        .trim_start_matches('*')
        .to_string();
    let labels: Vec<String> = base.split('.').map(String::from).collect();
    (
        0u8..10,
        prop::sample::select(vec![
            "a",
            "www",
            "b.c",
            "xn--bcher-kva",
            "A",
            "_x",
            "1",
            "f",
        ]),
        prop::collection::vec(any::<bool>(), 1..6),
        0u8..6,
    )
        .prop_map(move |(shape, label, mask, dots)| {
            let parent = labels[labels.len().min(1)..].join(".");
            let host = match shape {
                0 | 1 => base.clone(),
                2..=4 => format!("{label}.{base}"),
                5 => parent.clone(),
                6 => format!("{label}.{parent}"),
                7 => format!("{label}{base}"),
                _ => flip_case(&format!("{label}.{base}"), &mask),
            };
            let host = if shape % 3 == 0 {
                flip_case(&host, &mask)
            } else {
                host
            };
            match dots {
                0 => format!("{host}."),
                1 => format!("{host}.."),
                _ => host,
            }
        })
}

/// A (pattern, host) pair for `check_matcher`: a pattern from [`pattern_text`] (or one a
/// certificate would hold) and a host near it, or any host. Patterns include the malformed
/// ones (`f*.x`, `*.com`, trailing dots, brackets) a matcher must never match.
pub fn pattern_and_host() -> impl Strategy<Value = (String, String)> {
    let pattern = prop_oneof![
        3 => pattern_text(),
        2 => prop::sample::select(vec![
            "example.com", "*.example.com", "www.example.com", "*.a.example.org", "192.0.2.1",
            "2001:db8::1", "*.xn--bcher-kva.example", "xn--bcher-kva.example", "_x.example.com",
            "r1---sn-abc.example.com", "*.com", "example.com.", "*.example.com.", "f*.example.com",
            "WWW.Example.COM", "*.Example.Com", "a-.example.com", "*.192.0.2.1",
            "k.example.com", "*.kiss.example", "::ffff:192.0.2.1",
        ])
        .prop_map(String::from),
    ];
    pattern.prop_flat_map(|pattern| {
        let hosts = prop_oneof![
            6 => host_for(&pattern),
            1 => wire_host(),
            1 => prop::sample::select(vec![
                "[2001:db8::1]", "192.0.2.1", "[192.0.2.1]", "[::ffff:192.0.2.1]",
            ])
            .prop_map(String::from),
            // Unicode look-alikes of the pattern's letters (a matcher folding Unicode case
            // takes U+212A for `k`, U+0130 for `i`, U+017F for `s`).
            1 => Just(pattern.replacen('k', "\u{212A}", 1).replacen('i', "\u{0130}", 1).replacen('s', "\u{017F}", 1).trim_start_matches("*.").to_string()),
        ];
        (Just(pattern), hosts)
    })
}

/// A request as a browser sends it, for one of `names` (or a near-miss of one; the case
/// generator passes the names its virtual hosts serve over https): HTTP/1.1 in
/// origin-form with one `Host`, or HTTP/2 or HTTP/3 with `:scheme` (mostly `https`) and one
/// `:authority` (HTTP/3 sometimes with the same `Host`); one HTTP/1.1 request in ten repeats
/// its `Host` line, as a request smuggled past a proxy that takes the first does. Half of `check_decider`'s requests are
/// these, so that served requests, and the rules that refuse well-formed ones, are common.
pub fn plausible_request(
    names: Vec<String>,
    pool: &decide::Pool,
) -> impl Strategy<Value = crate::owned::OwnedRequest> + use<> {
    (
        prop::sample::select(vec![
            misdirect::Version::Http11,
            misdirect::Version::Http2,
            misdirect::Version::Http3,
        ]),
        decide::authority_bytes(names, pool),
        prop::bool::weighted(0.9),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(version, authority, https, both, twice)| {
            let h1 = version == misdirect::Version::Http11;
            let scheme: &[u8] = if https { b"https" } else { b"http" };
            crate::owned::OwnedRequest {
                version,
                method: misdirect::Method::Other,
                scheme: (!h1).then(|| scheme.to_vec()),
                authorities: if h1 { vec![] } else { vec![authority.clone()] },
                hosts: if h1 && twice {
                    vec![authority.clone(), authority]
                } else if h1 || (both && version == misdirect::Version::Http3) {
                    vec![authority]
                } else {
                    vec![]
                },
                target: crate::owned::OwnedTarget::Origin,
            }
        })
}

/// Makes `connection` the one a browser opens for `request`'s host: on a TLS listener, with
/// that host as SNI (lowercase, as browsers send it), the first certificate that covers it,
/// and the policy the TLS layer applies to that SNI. With `coalesced`, the SNI is instead
/// another name of that certificate (a wildcard's as `www` under it), picked by the index: the
/// connection a browser opened for one origin and reuses for this one (RFC 9113 §9.1.1).
pub(crate) fn like_a_browser(
    server: &misdirect::Server<usize>,
    connection: &mut crate::owned::OwnedConnection,
    request: &crate::owned::OwnedRequest,
    coalesced: Option<usize>,
) {
    let config = server.config();
    let Some(tls) = config.listeners.iter().position(|l| l.tls) else {
        return;
    };
    let Some(field) = request.served_field() else {
        return;
    };
    let host = crate::owned::authority_host(field).to_ascii_lowercase();
    connection.listener = tls;
    connection.policy = None;
    connection.gateway = None;
    connection.sni = Some(host.clone());
    let Ok(parsed) = misdirect::Host::parse(&host) else {
        return;
    };
    let covering = config.certificates.iter().position(|c| {
        server
            .certificate_id(&c.id)
            .is_some_and(|id| server.certificate_covers(id, &parsed))
    });
    let Some(position) = covering else {
        return;
    };
    connection.certificate = position;
    let sans = &config.certificates[position].sans;
    if let (Some(pick), false) = (coalesced, sans.is_empty()) {
        if let misdirect::San::Dns(name) = &sans[pick % sans.len()] {
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            connection.sni = Some(crate::owned::instantiate(&name, "www").into_bytes());
        }
    }
}

/// Every authority field that is an IPv4 literal (with or without a port) written as its
/// IPv4-mapped IPv6 form: another host (SPEC §2: `[::ffff:192.0.2.1]` never equals
/// `192.0.2.1`), which a server must not serve as the address's site. Applied after the
/// connection is chosen for the address, as a client that rewrote the host would.
fn ipv4_mapped(request: &mut crate::owned::OwnedRequest) {
    let map = |field: &mut Vec<u8>| {
        let Ok(text) = std::str::from_utf8(field) else {
            return;
        };
        let (host, port) = text
            .rsplit_once(':')
            .map_or((text, None), |(h, p)| (h, Some(p)));
        if host.parse::<std::net::Ipv4Addr>().is_ok() {
            let port = port.map_or(String::new(), |p| format!(":{p}"));
            *field = format!("[::ffff:{host}]{port}").into_bytes();
        }
    };
    request.authorities.iter_mut().for_each(map);
    request.hosts.iter_mut().for_each(map);
}

/// Whole cases for `check_decider`, under `knobs`: a generated server (names overlapping
/// across virtual hosts and certificates, long names, capitals, lists in any order), then a
/// connection and a request drawn from its own names and near-misses (and now and then its
/// first `Host` line twice). Half the requests are [`plausible_request`]s, and half the
/// connections are a browser's for the request's host: opened for it, or (half of those)
/// opened for another name of the same certificate and reused; the rest are drawn apart, as
/// resumption and hostile clients make them.
pub fn case(knobs: misdirect::Knobs) -> impl Strategy<Value = crate::Case> {
    decide::pool()
        .prop_flat_map(|pool| (decide::raw_config(&pool, 5), Just(pool)))
        .prop_filter_map(
            "the configuration does not build",
            move |(mut config, pool)| {
                config.knobs = knobs.clone();
                crate::owned::repair(config).map(|server| (std::sync::Arc::new(server), pool))
            },
        )
        .prop_flat_map(|(server, pool)| {
            let names = crate::owned::server_names(&server);
            // A browser asks for the names sites serve over https.
            let mut served: Vec<String> = server
                .config()
                .vhosts
                .iter()
                .filter(|v| !v.https_ports.is_empty())
                .flat_map(|v| v.names.iter().cloned())
                .collect();
            if served.is_empty() {
                served.clone_from(&names);
            }
            let requests = prop_oneof![
                decide::request(names.clone(), &pool),
                plausible_request(served, &pool),
            ];
            (
                Just(server),
                decide::connection(names, &pool),
                requests,
                prop::bool::weighted(0.12),
                prop::bool::weighted(0.5),
                prop::option::weighted(0.5, any::<usize>()),
                prop::bool::weighted(0.3),
            )
        })
        .prop_filter_map(
            "the case does not build",
            |(server, mut connection, mut request, again, browser, coalesced, mapped)| {
                if browser {
                    like_a_browser(&server, &mut connection, &request, coalesced);
                }
                if mapped {
                    ipv4_mapped(&mut request);
                }
                // Now and then the first Host line twice: a server that takes the first of two
                // then serves what must be a 400.
                if again {
                    if let Some(first) = request.hosts.first().cloned() {
                        request.hosts.push(first);
                    }
                }
                crate::Case::from_owned(&server, &connection, request)
            },
        )
}
