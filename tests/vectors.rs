//! Table-driven vectors from `tests/vectors/*.toml`, one harness per file. With the `model`
//! feature each vector is also checked against the reference model.

use std::path::Path;

use misdirect::{Authority, Host, NamePattern, WireUnicode};
use serde::Deserialize;

#[derive(Deserialize)]
struct File<T> {
    case: Vec<T>,
}

fn load_text(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load<T: for<'de> Deserialize<'de>>(name: &str) -> Vec<T> {
    toml::from_str::<File<T>>(&load_text(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .case
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

#[derive(Deserialize)]
struct AuthorityCase {
    input: Option<String>,
    input_hex: Option<String>,
    unicode: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    error: Option<String>,
    source: String,
}

#[test]
fn authority_vectors() {
    let cases: Vec<AuthorityCase> = load("authority.toml");
    assert!(cases.len() >= 100, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        assert!(!case.source.is_empty());
        let input = match (&case.input, &case.input_hex) {
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(h)) => hex(h),
            _ => panic!(
                "a case needs exactly one of input, input_hex ({})",
                case.source
            ),
        };
        let unicode = match case.unicode.as_deref() {
            None => WireUnicode::Reject,
            Some("convert") => WireUnicode::Convert,
            Some(other) => panic!("unknown unicode mode {other}"),
        };
        let got = Authority::parse_with(&input, unicode);
        let expected_ok = case.error.is_none();
        let agrees = match (&got, &case.error) {
            (Ok(a), None) => Some(a.host().to_string()) == case.host && a.port() == case.port,
            (Err(e), Some(kind)) => e.kind() == kind,
            _ => false,
        };
        if !agrees {
            failures.push(format!(
                "{:?} ({unicode:?}): got {:?}, expected {} [{}]",
                String::from_utf8_lossy(&input),
                got.map(|a| (a.host().to_string(), a.port()))
                    .map_err(|e| e.kind()),
                case.error
                    .clone()
                    .unwrap_or_else(|| format!("{:?}:{:?}", case.host, case.port)),
                case.source
            ));
        }
        if let Ok(a) = &got {
            // Every error message is printable one-line text; every host re-parses.
            assert_eq!(
                Host::parse(a.host().to_string().as_bytes()).as_ref(),
                Ok(a.host())
            );
        } else if let Err(e) = &got {
            let message = e.to_string();
            assert!(
                !message.contains('\n') && !message.contains('\0'),
                "{message:?}"
            );
        }
        #[cfg(feature = "model")]
        {
            let model = misdirect::model::parse_authority(&input, unicode == WireUnicode::Convert);
            assert_eq!(
                model.is_ok(),
                expected_ok,
                "model disagrees on {:?}: {model:?}",
                case.source
            );
            if let (Ok((host, port)), Some(expected)) = (&model, &case.host) {
                assert_eq!((&host.canonical(), port), (expected, &case.port));
            }
        }
        let _ = expected_ok;
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[derive(Deserialize)]
struct PatternCase {
    pattern: String,
    #[serde(default)]
    san: bool,
    canonical: Option<String>,
    error: Option<String>,
    psl_error: Option<String>,
    source: String,
}

#[test]
fn pattern_vectors() {
    let cases: Vec<PatternCase> = load("pattern.toml");
    assert!(cases.len() >= 50);
    let mut failures = Vec::new();
    for case in &cases {
        assert!(!case.source.is_empty());
        let got = if case.san {
            NamePattern::parse_san(case.pattern.as_bytes())
        } else {
            NamePattern::parse(&case.pattern)
        };
        let expected_error = if cfg!(feature = "psl") && case.psl_error.is_some() {
            case.psl_error.as_ref()
        } else {
            case.error.as_ref()
        };
        let agrees = match (&got, expected_error) {
            (Ok(p), None) => Some(p.to_string()) == case.canonical,
            (Err(e), Some(kind)) => e.kind() == kind,
            _ => false,
        };
        if !agrees {
            failures.push(format!(
                "{:?} (san: {}): got {:?}, expected {:?} [{}]",
                case.pattern,
                case.san,
                got.as_ref().map(ToString::to_string).map_err(|e| e.kind()),
                expected_error.or(case.canonical.as_ref()),
                case.source
            ));
        }
        #[cfg(feature = "model")]
        {
            let model = misdirect::model::parse_pattern(&case.pattern, !case.san);
            assert_eq!(
                model.as_ref().ok().map(misdirect::model::Pattern::text),
                got.as_ref().ok().map(ToString::to_string),
                "model disagrees on {:?}",
                case.pattern
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[derive(Deserialize)]
struct MatchCase {
    pattern: String,
    host: String,
    matches: bool,
    psl_error: Option<String>,
    source: String,
}

#[test]
fn match_vectors() {
    let cases: Vec<MatchCase> = load("match.toml");
    assert!(cases.len() >= 50);
    let mut failures = Vec::new();
    for case in &cases {
        assert!(!case.source.is_empty());
        let authority = Authority::parse(case.host.as_bytes())
            .unwrap_or_else(|e| panic!("vector host {:?}: {e}", case.host));
        let pattern = match NamePattern::parse(&case.pattern) {
            Ok(p) => p,
            Err(e) if cfg!(feature = "psl") && case.psl_error.as_deref() == Some(e.kind()) => {
                continue;
            }
            Err(e) => panic!("vector pattern {:?}: {e}", case.pattern),
        };
        let got = pattern.matches(authority.host());
        if got != case.matches {
            failures.push(format!(
                "{:?} vs {:?}: got {got} [{}]",
                case.pattern, case.host, case.source
            ));
        }
        #[cfg(feature = "model")]
        {
            use misdirect::model;
            let (host, _) = model::parse_authority(case.host.as_bytes(), false).unwrap();
            let p = model::parse_pattern(&case.pattern, true).unwrap();
            assert_eq!(
                model::pattern_matches(&p, &host),
                case.matches,
                "model: {:?}",
                case.source
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The source counts, printed for the record (`cargo test --test vectors -- --nocapture`).
#[test]
fn every_vector_names_its_source() {
    let mut sources = std::collections::BTreeMap::<String, usize>::new();
    let mut total = 0;
    for source in load::<AuthorityCase>("authority.toml")
        .into_iter()
        .map(|c| c.source)
        .chain(
            load::<PatternCase>("pattern.toml")
                .into_iter()
                .map(|c| c.source),
        )
        .chain(
            load::<MatchCase>("match.toml")
                .into_iter()
                .map(|c| c.source),
        )
    {
        // Group by document: "RFC 9525", "UTS #46", "SPEC", "WHATWG", "CVE-2022-23632", ...
        let mut words = source
            .split([' ', ':', ',', ';', '('])
            .filter(|w| !w.is_empty());
        let first = words.next().unwrap_or("");
        let key = match first {
            "RFC" | "UTS" | "CA/B" => format!("{first} {}", words.next().unwrap_or("")),
            _ => first.to_string(),
        };
        assert!(!key.is_empty(), "a vector without a source");
        *sources.entry(key).or_default() += 1;
        total += 1;
    }
    assert!(total >= 200, "{total} vectors");
    println!("{total} vectors");
    for (source, n) in sources {
        println!("{n:4}  {source}");
    }
}

mod decide {
    use super::load_text;
    use misdirect::{
        CertificateConfig, Config, ConnectionFacts, Gateway, Handshake, ListenerConfig, Method,
        Request, Rule, Server, SniPolicy, Target, UnknownHost, Verdict, Version, VhostConfig,
        WireUnicode,
    };
    use serde::Deserialize;

    /// A decision table: one server, then cases.
    #[derive(Deserialize)]
    pub(super) struct File {
        pub(super) server: ServerSpec,
        pub(super) case: Vec<Case>,
    }

    #[derive(Deserialize)]
    pub(super) struct ServerSpec {
        policies: Vec<String>,
        certificates: Vec<CertSpec>,
        vhosts: Vec<VhostSpec>,
        listeners: Vec<ListenerSpec>,
    }

    #[derive(Deserialize)]
    struct CertSpec {
        id: String,
        sans: Vec<String>,
    }

    #[derive(Deserialize)]
    struct VhostSpec {
        name: String,
        names: Vec<String>,
        #[serde(default)]
        https: Vec<u16>,
        #[serde(default)]
        http: Vec<u16>,
        policy: String,
    }

    #[derive(Deserialize)]
    struct ListenerSpec {
        name: String,
        tls: bool,
        port: u16,
        #[serde(default)]
        origin_ports: Vec<u16>,
        default_vhost: Option<String>,
        default_tls_vhost: Option<String>,
        fallback: Option<String>,
    }

    #[derive(Deserialize)]
    pub(super) struct Case {
        pub(super) name: String,
        conn: ConnSpec,
        request: RequestSpec,
        pub(super) expect: String,
        pub(super) source: String,
        sni: Option<String>,
        unknown_host: Option<String>,
        strict_host_consistency: Option<bool>,
        opportunistic_http: Option<bool>,
        http10_default_vhost: Option<bool>,
        wire_unicode: Option<String>,
    }

    #[derive(Deserialize)]
    struct ConnSpec {
        listener: String,
        sni: Option<String>,
        certificate: Option<String>,
        policy: Option<String>,
        gateway: Option<GatewaySpec>,
    }

    #[derive(Deserialize)]
    struct GatewaySpec {
        port: u16,
        certificate: Option<String>,
        sni: Option<String>,
        policy: Option<String>,
    }

    #[derive(Deserialize)]
    struct RequestSpec {
        version: String,
        method: Option<String>,
        scheme: Option<String>,
        #[serde(default)]
        authority: Vec<String>,
        #[serde(default)]
        host: Vec<String>,
        target: Option<String>,
        target_scheme: Option<String>,
        target_authority: Option<String>,
    }

    fn config(spec: &ServerSpec, case: &Case) -> Config<String> {
        let mut config = Config {
            policies: spec.policies.clone(),
            ..Config::default()
        };
        config.certificates = spec
            .certificates
            .iter()
            .map(|c| CertificateConfig::new(&c.id, &c.sans))
            .collect();
        config.vhosts = spec
            .vhosts
            .iter()
            .map(|v| VhostConfig {
                name: v.name.clone(),
                names: v.names.clone(),
                http_ports: v.http.clone(),
                https_ports: v.https.clone(),
                policy: v.policy.clone(),
                value: v.name.clone(),
            })
            .collect();
        config.listeners = spec
            .listeners
            .iter()
            .map(|l| ListenerConfig {
                name: l.name.clone(),
                tls: l.tls,
                port: l.port,
                origin_ports: l.origin_ports.clone(),
                default_vhost: l.default_vhost.clone(),
                default_tls_vhost: l.default_tls_vhost.clone(),
                fallback: l.fallback.clone(),
            })
            .collect();
        let knobs = &mut config.knobs;
        if let Some(sni) = &case.sni {
            knobs.sni = match sni.as_str() {
                "strict" => SniPolicy::Strict,
                "same-vhost" => SniPolicy::SameVhost,
                "cert-covered" => SniPolicy::CertCovered,
                "compatible" => SniPolicy::Compatible,
                "insecure" => SniPolicy::Insecure,
                other => panic!("sni {other}"),
            };
        }
        if let Some(unknown) = &case.unknown_host {
            knobs.unknown_host = match unknown.as_str() {
                "misdirected" => UnknownHost::Misdirected,
                "not-found" => UnknownHost::NotFound,
                other => UnknownHost::Fallback(
                    other
                        .strip_prefix("fallback:")
                        .expect("fallback:<vhost>")
                        .to_string(),
                ),
            };
        }
        if let Some(v) = case.strict_host_consistency {
            knobs.strict_host_consistency = v;
        }
        if let Some(v) = case.opportunistic_http {
            knobs.opportunistic_http = v;
        }
        if let Some(v) = case.http10_default_vhost {
            knobs.http10_default_vhost = v;
        }
        if let Some(v) = &case.wire_unicode {
            knobs.wire_unicode = if v == "convert" {
                WireUnicode::Convert
            } else {
                WireUnicode::Reject
            };
        }
        config
    }

    fn rule_name(rule: Rule) -> &'static str {
        match rule {
            Rule::NotOrigin => "not-origin",
            Rule::Framing => "framing",
            Rule::Scheme => "scheme",
            Rule::Port => "port",
            Rule::Certificate => "certificate",
            Rule::VirtualHost => "virtual-host",
            Rule::Sni => "sni",
            Rule::Connection => "connection",
        }
    }

    fn verdict_text(verdict: &Verdict<'_, String>) -> String {
        match verdict {
            Verdict::Serve(v) => format!("serve:{v}"),
            Verdict::Misdirected(r) => format!("421:{}", rule_name(r.rule)),
            Verdict::BadRequest(_) => "400".to_string(),
            Verdict::NotFound(_) => "404".to_string(),
            Verdict::NotOrigin(_) => "not-origin".to_string(),
        }
    }

    /// A case's server: the file's, with the case's knobs.
    pub(super) fn server(spec: &ServerSpec, case: &Case) -> Server<String> {
        Server::build(config(spec, case)).unwrap_or_else(|e| panic!("{}: {e}", case.name))
    }

    /// What a case's request got on its connection.
    pub(super) struct Decided {
        /// The engine's verdict, in the vectors' vocabulary.
        pub(super) engine: String,
        /// The engine's reason, for a failure report.
        pub(super) reason: String,
        /// The model's verdict, in the same vocabulary (feature `model`).
        pub(super) model: Option<String>,
    }

    /// Builds the case's connection and request and decides it with the engine and, with the
    /// `model` feature, the model.
    pub(super) fn decide_case(server: &Server<String>, case: &Case) -> Decided {
        fn handshake<'a>(
            server: &Server<String>,
            sni: &'a Option<String>,
            cert: &Option<String>,
            policy: &Option<String>,
        ) -> Option<Handshake<'a>> {
            cert.as_ref().map(|c| Handshake {
                sni: sni.as_deref().map(str::as_bytes),
                certificate: server.certificate_id(c).expect("certificate"),
                policy: policy
                    .as_ref()
                    .map(|p| server.policy_id(p).expect("policy")),
            })
        }
        let c = &case.conn;
        let facts = ConnectionFacts {
            listener: server.listener_id(&c.listener).expect("listener"),
            tls: handshake(server, &c.sni, &c.certificate, &c.policy),
            gateway: c.gateway.as_ref().map(|g| Gateway {
                port: g.port,
                tls: handshake(server, &g.sni, &g.certificate, &g.policy),
            }),
        };
        let r = &case.request;
        let authorities: Vec<&[u8]> = r.authority.iter().map(|s| s.as_bytes()).collect();
        let hosts: Vec<&[u8]> = r.host.iter().map(|s| s.as_bytes()).collect();
        let request = Request {
            version: match r.version.as_str() {
                "1.0" => Version::Http10,
                "1.1" => Version::Http11,
                "2" => Version::Http2,
                "3" => Version::Http3,
                other => panic!("version {other}"),
            },
            method: match r.method.as_deref() {
                None | Some("other") => Method::Other,
                Some("connect") => Method::Connect,
                Some("extended-connect") => Method::ExtendedConnect,
                Some(other) => panic!("method {other}"),
            },
            scheme: r.scheme.as_deref().map(str::as_bytes),
            authorities: &authorities,
            hosts: &hosts,
            target: match r.target.as_deref() {
                None | Some("origin") => Target::Origin,
                Some("absolute") => Target::Absolute {
                    scheme: r.target_scheme.as_deref().unwrap_or("http").as_bytes(),
                    authority: r.target_authority.as_deref().unwrap_or("").as_bytes(),
                },
                Some("authority") => {
                    Target::Authority(r.target_authority.as_deref().unwrap_or("").as_bytes())
                }
                Some("asterisk") => Target::Asterisk,
                Some(other) => panic!("target {other}"),
            },
        };
        let conn = server
            .connection(&facts)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let verdict = server.decide(&conn, &request);
        let engine = verdict_text(&verdict);
        let reason = verdict
            .reason()
            .map(ToString::to_string)
            .unwrap_or_default();
        #[cfg(feature = "model")]
        let model = {
            let outcome = misdirect::model::decide(server.config(), &facts, &request).unwrap();
            Some(match (outcome.status, outcome.rule, outcome.vhost) {
                (None, _, Some(v)) => format!("serve:{}", server.config().vhosts[v].name),
                (Some(misdirect::Status::Misdirected), Some(rule), _) => {
                    format!("421:{}", rule_name(rule))
                }
                (Some(misdirect::Status::BadRequest), _, _) => "400".to_string(),
                (Some(misdirect::Status::NotFound), _, _) => "404".to_string(),
                (Some(misdirect::Status::NotOrigin), _, _) => "not-origin".to_string(),
                other => panic!("{other:?}"),
            })
        };
        #[cfg(not(feature = "model"))]
        let model = None;
        Decided {
            engine,
            reason,
            model,
        }
    }

    #[test]
    fn decision_vectors() {
        let file: File = toml::from_str(&load_text("decide.toml")).expect("decide.toml");
        assert!(file.case.len() >= 80, "{} cases", file.case.len());
        let mut failures = Vec::new();
        for case in &file.case {
            assert!(!case.source.is_empty(), "{}: no source", case.name);
            let server = server(&file.server, case);
            assert_eq!(
                server.skipped_sans().len(),
                2,
                "f*.example.net and bad..name are reported"
            );
            let decided = decide_case(&server, case);
            let got = &decided.engine;
            if *got != case.expect {
                failures.push(format!(
                    "{}: got {got} ({}), expected {} [{}]",
                    case.name, decided.reason, case.expect, case.source
                ));
            }
            if std::env::var_os("SHOW_REASONS").is_some() {
                let shown = if decided.reason.is_empty() {
                    got
                } else {
                    &decided.reason
                };
                println!("{:<60} {shown}", case.name);
            }
            if let Some(model) = &decided.model {
                assert_eq!(
                    model, got,
                    "model disagrees with the engine on {}",
                    case.name
                );
            }
        }
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}

/// The framing table (`tests/vectors/framing.toml`): every cell of version × target form (or
/// `:scheme` present or absent) × `Host` lines × `:authority` × method, with the verdict the
/// RFCs set. The engine and the model are each held to the table, not to each other, so a
/// reading of the RFCs that both share is checked too.
mod framing {
    use std::collections::BTreeMap;

    use super::decide::{File, decide_case, server};
    use super::load_text;

    const VERSIONS: [&str; 4] = ["HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/3"];
    const H1_FORMS: [&str; 4] = [
        "origin-form",
        "absolute-form",
        "authority-form",
        "asterisk-form",
    ];
    /// HTTP/2 and HTTP/3 have only origin-form; `:scheme` varies instead.
    const H23_FORMS: [&str; 2] = ["origin-form with :scheme", "origin-form without :scheme"];
    const HOSTS: [&str; 4] = ["none", "valid", "invalid", "two"];
    const H23_AUTHORITIES: [&str; 3] = ["none", "one", "two"];
    const METHODS: [&str; 3] = ["ordinary", "CONNECT", "extended CONNECT"];

    /// Every cell, named as the table's rows name them.
    fn cells() -> Vec<String> {
        let mut cells = Vec::new();
        for version in VERSIONS {
            let h1 = version.starts_with("HTTP/1");
            let forms: &[&str] = if h1 { &H1_FORMS } else { &H23_FORMS };
            let authorities: &[&str] = if h1 { &["none"] } else { &H23_AUTHORITIES };
            for form in forms {
                for host in HOSTS {
                    for authority in authorities {
                        for method in METHODS {
                            cells.push(format!(
                                "{version}; {form}; Host {host}; :authority {authority}; {method}"
                            ));
                        }
                    }
                }
            }
        }
        cells
    }

    /// A row's cell: its name's first five parts (a sixth qualifies a row beyond the grid).
    fn cell_of(name: &str) -> String {
        name.splitn(6, "; ").take(5).collect::<Vec<_>>().join("; ")
    }

    #[test]
    fn every_framing_cell_gets_the_verdict_its_rfc_sentence_sets() {
        let file: File = toml::from_str(&load_text("framing.toml")).expect("framing.toml");
        let cells = cells();
        assert_eq!(cells.len(), 240, "the grid as enumerated");
        assert!(
            file.case.len() >= cells.len(),
            "{} rows for {} cells",
            file.case.len(),
            cells.len()
        );
        let mut rows = BTreeMap::<String, usize>::new();
        for case in &file.case {
            assert!(
                case.source.contains("RFC ") && case.source.contains('"'),
                "{}: the source quotes no RFC sentence",
                case.name
            );
            *rows.entry(cell_of(&case.name)).or_default() += 1;
        }
        let missing: Vec<&String> = cells.iter().filter(|c| !rows.contains_key(*c)).collect();
        assert!(missing.is_empty(), "cells without a row: {missing:#?}");
        let strays: Vec<&String> = rows.keys().filter(|r| !cells.contains(r)).collect();
        assert!(strays.is_empty(), "rows naming no cell: {strays:#?}");
        let grid_names: Vec<&str> = file
            .case
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| cells.iter().any(|c| c == n))
            .collect();
        assert_eq!(
            grid_names.len(),
            cells.len(),
            "each cell has exactly one plain row"
        );

        let mut failures = Vec::new();
        for case in &file.case {
            let server = server(&file.server, case);
            let decided = decide_case(&server, case);
            if decided.engine != case.expect {
                failures.push(format!(
                    "engine: {}: got {} ({}), expected {} [{}]",
                    case.name, decided.engine, decided.reason, case.expect, case.source
                ));
            }
            if let Some(model) = decided.model.filter(|m| *m != case.expect) {
                failures.push(format!(
                    "model: {}: got {model}, expected {} [{}]",
                    case.name, case.expect, case.source
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} failures in {} rows:\n{}",
            failures.len(),
            file.case.len(),
            failures.join("\n")
        );
    }
}
