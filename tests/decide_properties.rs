//! The decision: engine == model on random servers, connections and requests, and the SPEC §6
//! invariants, each a test of its own. Failures persist in
//! `proptest-regressions/decide_properties.txt`.

mod common;

use common::config;
use common::decide_gen::*;
use common::shared::case_and_dot_variants;
use misdirect::model;
use misdirect::{
    Authority, Connection, FactsError, Method, NamePattern, Rule, San, Server, SniPolicy, Status,
    Verdict, Version,
};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::sync::Arc;

const REGRESSIONS: &str = "proptest-regressions/decide_properties.txt";

type Engine = (Option<Status>, Option<Rule>, Option<usize>);

fn engine(
    server: &Server<usize>,
    conn: &OwnedConnection,
    request: &OwnedRequest,
) -> Option<Engine> {
    let connection = conn.with(server, |facts| server.connection(facts)).ok()?;
    Some(request.with(|r| match server.choose(&connection, r) {
        Ok(v) => (None, None, Some(v as usize)),
        Err(reason) => (Some(reason.status), Some(reason.rule), None),
    }))
}

fn model_outcome(
    server: &Server<usize>,
    conn: &OwnedConnection,
    request: &OwnedRequest,
) -> Option<Engine> {
    let outcome = conn
        .with(server, |facts| {
            request.with(|r| model::decide(server.config(), facts, r))
        })
        .ok()?;
    Some((outcome.status, outcome.rule, outcome.vhost))
}

fn case() -> impl Strategy<Value = (Arc<Server<usize>>, OwnedConnection, OwnedRequest)> {
    decision_case(12)
}

fn big_case() -> impl Strategy<Value = (Arc<Server<usize>>, OwnedConnection, OwnedRequest)> {
    decision_case(50)
}

/// Applies an ASCII case swap (a bijection: HTTP/3's byte-for-byte comparison is kept), and,
/// where `add` allows, one trailing dot and an explicit default port, to a field that parses.
fn transform(bytes: &[u8], scheme: Option<&str>, dot: bool, port: bool) -> Vec<u8> {
    let Ok(authority) = Authority::parse_with(bytes, misdirect::WireUnicode::Convert) else {
        return bytes.to_vec();
    };
    let mut out: Vec<u8> = bytes
        .iter()
        .map(|b| {
            if b.is_ascii_alphabetic() {
                b ^ 0x20
            } else {
                *b
            }
        })
        .collect();
    let bracketed = out.first() == Some(&b'[');
    let colon = if bracketed {
        out.iter()
            .position(|&b| b == b']')
            .map(|i| i + 1)
            .filter(|&i| i < out.len())
    } else {
        out.iter().position(|&b| b == b':')
    };
    if dot && !bracketed && !authority.host().is_ip() {
        let host_end = colon.unwrap_or(out.len());
        if out[..host_end].last() != Some(&b'.') {
            out.insert(host_end, b'.');
        }
    }
    // Only http and https have a default port to write out (RFC 9110 §4.2); for any other
    // scheme ":80" would be a different authority.
    match scheme {
        Some(scheme) if port && authority.port().is_none() && colon.is_none() => {
            out.extend_from_slice(if scheme == "https" { b":443" } else { b":80" });
        }
        _ => {}
    }
    out
}

/// A decision by what it says, not by positions: the verdict's class, the rule that fired, and
/// the served virtual host by name.
type Named = (Option<Status>, Option<Rule>, Option<String>);

fn class<T>(verdict: &Verdict<'_, T>) -> Option<Status> {
    match verdict {
        Verdict::Serve(_) => None,
        Verdict::Misdirected(_) => Some(Status::Misdirected),
        Verdict::BadRequest(_) => Some(Status::BadRequest),
        Verdict::NotFound(_) => Some(Status::NotFound),
        Verdict::NotOrigin(_) => Some(Status::NotOrigin),
    }
}

fn named(server: &Server<usize>, connection: &Connection, request: &OwnedRequest) -> Named {
    request.with(|r| {
        let verdict = server.decide(connection, r);
        let vhost = match &verdict {
            Verdict::Serve(value) => server
                .config()
                .vhosts
                .iter()
                .find(|v| v.value == **value)
                .map(|v| v.name.clone()),
            _ => None,
        };
        (class(&verdict), verdict.reason().map(|r| r.rule), vhost)
    })
}

/// Every DNS name a server is configured with, in canonical (lowercase) text: its virtual
/// hosts' exact names and its certificates' exact dNSNames, and one of `labels` under each
/// wildcard of either (the label rotating through them).
fn configured_hosts(server: &Server<usize>, labels: &[String]) -> BTreeSet<String> {
    let config = server.config();
    let patterns = config
        .vhosts
        .iter()
        .flat_map(|v| v.names.iter().filter_map(|n| NamePattern::parse(n).ok()))
        .chain(
            config
                .certificates
                .iter()
                .flat_map(|c| c.sans.iter().filter_map(|s| NamePattern::from_san(s).ok())),
        );
    let mut hosts = BTreeSet::new();
    for (i, pattern) in patterns.enumerate() {
        match pattern {
            NamePattern::Exact(name) => hosts.insert(name.to_string()),
            NamePattern::Wildcard(parent) => hosts.insert(format!(
                "{}.{parent}",
                labels[i % labels.len()].to_ascii_lowercase()
            )),
            NamePattern::Ip(_) => false,
        };
    }
    hosts
}

/// How the case-and-dot property writes its request: the version (HTTP/1.1 `Host`, HTTP/2 or
/// HTTP/3 `:authority`), the scheme, and a port suffix.
fn host_request(version: Version, scheme: &str, port: &str, host: &str) -> OwnedRequest {
    let field = format!("{host}{port}").into_bytes();
    let h1 = matches!(version, Version::Http10 | Version::Http11);
    OwnedRequest {
        version,
        method: Method::Other,
        scheme: (!h1).then(|| scheme.as_bytes().to_vec()),
        authorities: if h1 { vec![] } else { vec![field.clone()] },
        hosts: if h1 { vec![field] } else { vec![] },
        target: OwnedTarget::Origin,
    }
}

/// How the case-and-dot property writes its request: version, scheme, port suffix.
type RequestShape = (Version, &'static str, &'static str);

/// A server, its pool, a connection, and a request shape.
type LongNameCase = (Arc<Server<usize>>, Pool, OwnedConnection, RequestShape);

/// Servers A and B, facts, a request, and which server each id comes from (listener,
/// certificate, policy).
type TwoServersCase = (
    Arc<Server<usize>>,
    Arc<Server<usize>>,
    OwnedConnection,
    OwnedRequest,
    (bool, bool, bool),
);

/// A server whose pool always has long members (names of 65-253 octets and past, labels of 63
/// and 64), a connection drawn from its names, and how to write the request: the version, the
/// scheme (mostly the connection's own, so that most requests reach the name rules) and a
/// port suffix.
fn long_name_case() -> impl Strategy<Value = LongNameCase> {
    server_case(pool_with(1..=2), 6).prop_flat_map(|(server, pool)| {
        let names = server_names(&server);
        let config = server.clone();
        (
            Just(server),
            Just(pool.clone()),
            connection(names, &pool),
            (
                prop::sample::select(vec![Version::Http11, Version::Http2, Version::Http3]),
                prop::bool::weighted(0.15),
                prop::sample::select(vec!["", "", "", ":443", ":8443", ":80"]),
            ),
        )
            .prop_map(move |(server, pool, conn, (version, other_scheme, port))| {
                let secure = match conn.gateway {
                    Some((_, tls)) => tls,
                    None => config.config().listeners[conn.listener].tls,
                };
                let scheme = if secure != other_scheme {
                    "https"
                } else {
                    "http"
                };
                (server, pool, conn, (version, scheme, port))
            })
    })
}

/// A server, the same configuration with every list permuted (as pre-drawn choices), and
/// connections and requests drawn from its names.
fn rebuild_case() -> impl Strategy<
    Value = (
        Arc<Server<usize>>,
        Vec<prop::sample::Index>,
        Vec<OwnedConnection>,
        Vec<OwnedRequest>,
    ),
> {
    server_case(pool(), 12).prop_flat_map(|(server, pool)| {
        let names = server_names(&server);
        (
            Just(server),
            prop::collection::vec(any::<prop::sample::Index>(), 64),
            prop::collection::vec(connection(names.clone(), &pool), 1..4),
            prop::collection::vec(request(names, &pool), 8),
        )
    })
}

/// Two servers: independent, the first one's configuration built again, or built again
/// permuted. A connection's facts and a request drawn from both servers' names.
fn two_servers_case() -> impl Strategy<Value = TwoServersCase> {
    server_case(pool(), 8)
        .prop_flat_map(|(a, a_pool)| {
            let again = a.clone();
            let permuted = a.clone();
            let b = prop_oneof![
                2 => server_case(pool(), 8).prop_map(|(b, _)| b),
                1 => prop::strategy::LazyJust::new(move || {
                    Arc::new(Server::build(again.config().clone()).expect("built once"))
                }),
                1 => prop::collection::vec(any::<prop::sample::Index>(), 48).prop_map(move |order| {
                    Arc::new(Server::build(permute(permuted.config(), picker(order))).expect("permuted"))
                }),
            ];
            (Just(a), Just(a_pool), b)
        })
        .prop_flat_map(|(a, pool, b)| {
            let mut names = server_names(&a);
            names.extend(server_names(&b));
            (
                Just(a),
                Just(b.clone()),
                connection(names.clone(), &pool),
                request(server_names(&b), &pool),
                any::<(bool, bool, bool)>(),
            )
        })
}

proptest! {
    #![proptest_config(config(REGRESSIONS))]

    #[test]
    fn decide_engine_equals_model((server, conn, request) in case()) {
        let e = engine(&server, &conn, &request);
        let m = model_outcome(&server, &conn, &request);
        prop_assert_eq!(e, m, "conn {:?} request {:?}", conn, request);
    }

    /// Every reason's one-line Display is printable and escapes what it echoes.
    #[test]
    fn reasons_are_one_printable_line((server, conn, request) in case()) {
        let Ok(connection) = conn.with(&server, |f| server.connection(f)) else { return Ok(()) };
        request.with(|r| {
            if let Some(reason) = server.decide(&connection, r).reason() {
                let line = reason.to_string();
                prop_assert!(!line.is_empty());
                prop_assert!(line.chars().all(|c| (' '..='~').contains(&c)), "{:?}", line);
            }
            Ok(())
        })?;
    }

    /// `decide` (which writes a refusal's host after making the verdict) and `choose` (which
    /// builds it with the reason) give the same answer: the same virtual host, or the same
    /// reason, field for field.
    #[test]
    fn decide_and_choose_agree((server, conn, request) in case()) {
        let Ok(connection) = conn.with(&server, |f| server.connection(f)) else { return Ok(()) };
        request.with(|r| {
            match (server.decide(&connection, r), server.choose(&connection, r)) {
                (Verdict::Serve(value), Ok(vhost)) => {
                    prop_assert_eq!(*value, server.config().vhosts[vhost as usize].value);
                }
                (verdict, Err(reason)) => {
                    prop_assert_eq!(verdict.reason(), Some(&reason));
                    let class = match verdict {
                        Verdict::Misdirected(_) => Status::Misdirected,
                        Verdict::BadRequest(_) => Status::BadRequest,
                        Verdict::NotFound(_) => Status::NotFound,
                        Verdict::NotOrigin(_) | Verdict::Serve(_) => Status::NotOrigin,
                    };
                    prop_assert_eq!(class, reason.status);
                }
                (verdict, Ok(vhost)) => prop_assert!(false, "{:?} vs {}", verdict, vhost),
            }
            Ok(())
        })?;
    }

    /// SPEC §6: every origin listed for an ORIGIN frame is served on that connection, and the
    /// model agrees (no listed name would get 421).
    #[test]
    fn origin_set_is_served((server, conn, _request) in case()) {
        let Ok(connection) = conn.with(&server, |f| server.connection(f)) else { return Ok(()) };
        for origin in server.origins(&connection) {
            let authority = origin.trim_start_matches("https://");
            let authority = if authority.contains(':') { authority.to_string() } else { format!("{authority}:443") };
            let request = OwnedRequest {
                version: Version::Http2,
                method: misdirect::Method::Other,
                scheme: Some(b"https".to_vec()),
                authorities: vec![authority.into_bytes()],
                hosts: vec![],
                target: OwnedTarget::Origin,
            };
            let m = model_outcome(&server, &conn, &request).unwrap();
            prop_assert_eq!(m.0, None, "{} is listed but the model says {:?}", origin, m);
            let e = engine(&server, &conn, &request).unwrap();
            prop_assert_eq!(e.0, None, "{} is listed but not served", origin);
        }
    }

    /// SPEC §6: a decision does not change under ASCII case changes, one added trailing dot, or
    /// writing a default port explicitly, applied to every authority field at once and to the
    /// SNI.
    #[test]
    fn decision_ignores_case_dot_and_default_port(
        (server, conn, request) in case(),
        dot in any::<bool>(),
        port in any::<bool>(),
    ) {
        let Some(before) = engine(&server, &conn, &request) else { return Ok(()) };
        let secure = match conn.gateway {
            Some((_, tls)) => tls,
            None => server.config().listeners[conn.listener].tls,
        };
        let scheme = request.named_scheme(secure);
        // HTTP/3 compares :authority and Host byte for byte: only the case swap (a bijection)
        // keeps that comparison as it was.
        let h3_both = request.version == Version::Http3 && !request.authorities.is_empty() && !request.hosts.is_empty();
        let (dot, port) = if h3_both { (false, false) } else { (dot, port) };
        let mut changed = request.clone();
        for field in changed.authorities.iter_mut().chain(changed.hosts.iter_mut()) {
            *field = transform(field, scheme, dot, port);
        }
        if let OwnedTarget::Absolute(_, authority) = &mut changed.target {
            *authority = transform(authority, scheme, dot, port);
        }
        let mut conn2 = conn.clone();
        if let Some(sni) = &mut conn2.sni {
            let transformed = transform(sni, scheme, dot, false);
            *sni = transformed;
        }
        let after = engine(&server, &conn2, &changed);
        prop_assert_eq!(Some(before), after, "changed request {:?}", changed);
    }

    /// SPEC §4: an embedder that cannot say which TLS policy the handshake applied gets the
    /// policy of the SNI's virtual host, the one [`Server::sni_policy`] names for the listener
    /// and SNI (what a TLS layer applies). A handshake without a policy is decided as a
    /// handshake under that policy.
    ///
    /// The TLS listener serves the origins of both 443 and 8443 here (in either order), so
    /// that the SNI's virtual host on the listener's first origin port and the request's
    /// virtual host on another port can differ.
    #[test]
    fn a_handshake_without_a_policy_is_decided_under_the_sni_policy(
        (server, conn, request) in case(),
        first_443 in any::<bool>(),
    ) {
        let mut config = server.config().clone();
        for listener in config.listeners.iter_mut().filter(|l| l.tls) {
            listener.origin_ports = if first_443 { vec![443, 8443] } else { vec![8443, 443] };
        }
        let Some(server) = repair(config) else { return Ok(()) };
        let listener = &server.config().listeners[conn.listener];
        if !listener.tls {
            return Ok(());
        }
        let id = server.listener_id(&listener.name).unwrap();
        let Some(policy) = server.sni_policy(id, conn.sni.as_deref()) else { return Ok(()) };
        let name = server.policy_name(policy).unwrap();
        let unsaid = OwnedConnection { policy: None, gateway: None, ..conn.clone() };
        let said = OwnedConnection {
            policy: POLICIES.iter().position(|p| *p == name),
            ..unsaid.clone()
        };
        let (Ok(a), Ok(b)) = (
            unsaid.with(&server, |f| server.connection(f)),
            said.with(&server, |f| server.connection(f)),
        ) else { return Ok(()) };
        prop_assert_eq!(
            named(&server, &a, &request),
            named(&server, &b, &request),
            "SNI {:?} selects policy {} on listener {} (origin ports {:?}); request {:?}",
            conn.sni.as_deref().map(String::from_utf8_lossy),
            name,
            listener.name,
            listener.origin_ports,
            request
        );
    }

    /// SPEC §6: under TLS and any sni mode but Insecure, Serve implies the certificate presented
    /// covers the host.
    #[test]
    fn never_serves_an_uncovered_host((server, conn, request) in case()) {
        if server.config().knobs.sni == SniPolicy::Insecure { return Ok(()) }
        let Ok(connection) = conn.with(&server, |f| server.connection(f)) else { return Ok(()) };
        if !connection.is_secure() { return Ok(()) }
        let served = request.with(|r| matches!(server.decide(&connection, r), Verdict::Serve(_)));
        let Some(field) = request.served_field() else { return Ok(()) };
        if !served { return Ok(()) }
        let host = *Authority::parse_with(field, server.config().knobs.wire_unicode).unwrap().host();
        // Local and gateway handshakes present the same certificate in these facts.
        let id = &server.config().certificates[conn.certificate_of(&server)].id;
        prop_assert!(server.certificate_covers(server.certificate_id(id).unwrap(), &host),
            "served {} not covered by {}", host, id);
    }

    /// SPEC §6: Serve under Compatible implies the handshake's policy is the served virtual
    /// host's.
    #[test]
    fn compatible_serves_only_the_handshake_policy((server, conn, request) in case()) {
        if server.config().knobs.sni != SniPolicy::Compatible { return Ok(()) }
        let Some(policy) = conn.policy else { return Ok(()) };
        let Ok(connection) = conn.with(&server, |f| server.connection(f)) else { return Ok(()) };
        if !connection.is_secure() { return Ok(()) }
        if let Some(vhost) = request.with(|r| server.choose(&connection, r).ok()) {
            prop_assert_eq!(&server.config().vhosts[vhost as usize].policy, POLICIES[policy]);
        }
    }
}

/// The properties below take longer per case (every case variant of every configured name;
/// eight requests on a rebuilt server; two servers; servers of up to 50 virtual hosts): fewer
/// cases, so that the suite stays within tens of seconds on two cores, unless `PROPTEST_CASES`
/// says.
fn heavy(cases: u32) -> proptest::test_runner::Config {
    let mut config = config(REGRESSIONS);
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config
}

proptest! {
    #![proptest_config(heavy(1024))]

    /// SPEC §6 on a server's own names, long ones in particular (defect 1: names over 64
    /// octets with a capital): for every configured name and a label under every wildcard,
    /// each single capital at every position, all capitals, and each with one trailing dot,
    /// `decide` gives the same verdict class, rule and virtual host as the name in lowercase;
    /// and the lowercase name's decision is the model's.
    #[test]
    fn every_case_and_dot_variant_of_a_configured_name_decides_as_its_lowercase(
        (server, pool, conn, (version, scheme, port)) in long_name_case()
    ) {
        let Ok(connection) = conn.with(&server, |f| server.connection(f)) else { return Ok(()) };
        for host in configured_hosts(&server, &pool.labels) {
            let lower = host_request(version, scheme, port, &host);
            let expected = named(&server, &connection, &lower);
            let model = conn
                .with(&server, |f| lower.with(|r| model::decide(server.config(), f, r)))
                .unwrap();
            let model_vhost = model.vhost.map(|v| server.config().vhosts[v].name.clone());
            prop_assert_eq!(
                &expected,
                &(model.status, model.rule, model_vhost),
                "engine and model differ on {:?} (conn {:?})", lower, conn
            );
            for variant in case_and_dot_variants(&host) {
                let request = host_request(version, scheme, port, &variant);
                prop_assert_eq!(
                    &named(&server, &connection, &request),
                    &expected,
                    "{} ({} octets) decides otherwise than {} (conn {:?})",
                    variant, variant.len(), host, conn
                );
            }
        }
    }

    /// No position carries meaning: the same configuration with every list permuted
    /// (listeners, virtual hosts, each one's names and ports, certificates, each one's SANs,
    /// policies) builds, skips the same SANs, makes the same connections from the same facts
    /// (listener and certificate found by name), announces the same origins, and decides every
    /// request alike: verdict class, rule, and the served virtual host by name.
    #[test]
    fn a_permuted_configuration_decides_alike_by_name(
        (a, order, conns, requests) in rebuild_case()
    ) {
        let b = Server::build(permute(a.config(), picker(order)));
        prop_assert!(b.is_ok(), "the permuted configuration does not build: {:?}", b.err());
        let b = b.unwrap();
        let skipped = |s: &Server<usize>| {
            let mut v: Vec<String> = s.skipped_sans().iter().map(ToString::to_string).collect();
            v.sort();
            v
        };
        prop_assert_eq!(skipped(&a), skipped(&b));
        for conn in &conns {
            let moved = conn.rebased(&a, &b);
            let ca = conn.with(&a, |f| a.connection(f));
            let cb = moved.with(&b, |f| b.connection(f));
            prop_assert_eq!(ca.as_ref().err(), cb.as_ref().err(), "conn {:?}", conn);
            let (Ok(ca), Ok(cb)) = (ca, cb) else { continue };
            let origins = |s: &Server<usize>, c: &Connection| s.origins(c).into_iter().collect::<BTreeSet<_>>();
            prop_assert_eq!(origins(&a, &ca), origins(&b, &cb), "conn {:?}", conn);
            for request in &requests {
                prop_assert_eq!(
                    named(&a, &ca, request),
                    named(&b, &cb, request),
                    "conn {:?} request {:?}\npermuted: {:?}", conn, request, b.config()
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(heavy(2048))]

    #[test]
    fn decide_engine_equals_model_on_large_servers((server, conn, request) in big_case()) {
        prop_assert_eq!(engine(&server, &conn, &request), model_outcome(&server, &conn, &request));
    }

    /// Identity across a rebuild (defect 3): a connection made by one server, used with
    /// another (independent, the same configuration built again, or built again permuted), is
    /// refused with 421 by rule Connection, never served, never a panic; the other server lists
    /// no origin for it. Facts holding another server's listener, certificate or policy id get
    /// an error from `connection()`, and the other server names, covers and selects nothing
    /// with those ids.
    #[test]
    fn connections_and_ids_of_another_server_are_refused(
        (a, b, conn, request, (listener, certificate, policy)) in two_servers_case()
    ) {
        let sources = IdSources { listener, certificate, policy };
        let (result, foreign) = conn.with_ids_of(&a, &b, sources, |facts, foreign| {
            (b.connection(facts), foreign)
        });
        if foreign {
            prop_assert!(result.is_err(), "foreign ids accepted: {:?} {:?}", sources, conn);
        }
        if listener {
            prop_assert_eq!(result.err(), Some(FactsError::UnknownListener));
        }
        for (from, to) in [(&a, &b), (&b, &a)] {
            let Ok(made) = conn.with(from, |f| from.connection(f)) else { continue };
            request.with(|r| {
                let verdict = to.decide(&made, r);
                prop_assert!(
                    matches!(&verdict, Verdict::Misdirected(reason) if reason.rule == Rule::Connection),
                    "{:?} on another server's connection", verdict
                );
                prop_assert_eq!(to.choose(&made, r).map_err(|e| e.rule), Err(Rule::Connection));
                Ok(())
            })?;
            prop_assert!(to.origins(&made).is_empty());
            let config = from.config();
            let listener = from.listener_id(&config.listeners[conn.listener].name).unwrap();
            let cert = from
                .certificate_id(&config.certificates[conn.certificate_of(from)].id)
                .unwrap();
            prop_assert_eq!(to.listener_name(listener), None);
            prop_assert_eq!(to.certificate_name(cert), None);
            prop_assert_eq!(to.sni_vhost(listener, conn.sni.as_deref()), None);
            if let Some(field) = request.served_field() {
                if let Ok(authority) = Authority::parse(field) {
                    prop_assert!(!to.certificate_covers(cert, authority.host()));
                }
            }
            if let Some(p) = conn.policy {
                prop_assert_eq!(to.policy_name(from.policy_id(POLICIES[p]).unwrap()), None);
            }
        }
    }
}

/// The generators reach every rule and every verdict, so the equality above means something.
/// Deterministic: a fixed seed, 3,000 cases. The histogram prints with `--nocapture`.
#[test]
fn generators_reach_every_rule_and_verdict() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = case();
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..3000 {
        let (server, conn, request) = strategy.new_tree(&mut runner).unwrap().current();
        if let Some((status, rule, _)) = engine(&server, &conn, &request) {
            *seen.entry(format!("{status:?} {rule:?}")).or_default() += 1;
        }
    }
    for (k, n) in &seen {
        println!("{n:6}  {k}");
    }
    for expected in [
        "None None",
        "Some(NotOrigin) Some(NotOrigin)",
        "Some(BadRequest) Some(Framing)",
        "Some(Misdirected) Some(Scheme)",
        "Some(Misdirected) Some(Port)",
        "Some(Misdirected) Some(Certificate)",
        "Some(Misdirected) Some(VirtualHost)",
        "Some(NotFound) Some(VirtualHost)",
        "Some(Misdirected) Some(Sni)",
    ] {
        assert!(
            seen.get(expected).copied().unwrap_or(0) >= 10,
            "{expected} reached too rarely: {seen:?}"
        );
    }
}

/// The generators reach the edges the hostile review found unreached: request hosts over 64
/// octets with a capital (served, and refused by the SNI rule), exact names over 64 octets
/// beside a wildcard over their parent in a virtual host of another TLS policy, configured
/// names near 253 octets, dNSName SANs holding address text, and lists out of their written
/// order; and the case-and-dot property's long configured names are served and refused by
/// the SNI rule. Deterministic: a fixed seed, 2,000 and 300 cases. The counts print with
/// `--nocapture`.
#[test]
fn generators_reach_long_names_address_sans_and_any_order() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = case();
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    let cases = 2000;
    for _ in 0..cases {
        let (server, conn, request) = strategy.new_tree(&mut runner).unwrap().current();
        let config = server.config();
        let mut count = |what| *seen.entry(what).or_default() += 1;
        if request.fields().iter().any(|f| long_with_capital(f)) {
            count("request host > 64 octets with a capital");
            match engine(&server, &conn, &request) {
                Some((None, None, Some(_))) => count("... served"),
                Some((_, Some(Rule::Sni), _)) => count("... refused by rule Sni"),
                _ => {}
            }
        }
        if conn.sni.as_deref().is_some_and(long_with_capital) {
            count("SNI > 64 octets with a capital");
        }
        let patterns: Vec<(usize, NamePattern)> = config
            .vhosts
            .iter()
            .enumerate()
            .flat_map(|(i, v)| {
                v.names
                    .iter()
                    .filter_map(move |n| Some((i, NamePattern::parse(n).ok()?)))
            })
            .collect();
        let beside = patterns.iter().any(|(i, exact)| {
            let NamePattern::Exact(name) = exact else {
                return false;
            };
            name.len() > 64
                && patterns.iter().any(|(j, wild)| {
                    matches!(wild, NamePattern::Wildcard(_))
                        && config.vhosts[*i].policy != config.vhosts[*j].policy
                        && wild.matches(&misdirect::Host::parse(name.as_bytes()).unwrap())
                })
        });
        if beside {
            count("exact name > 64 octets beside a wildcard of another policy");
        }
        if patterns.iter().any(|(_, p)| p.to_string().len() >= 240) {
            count("configured name of 240-253 octets");
        }
        if config.certificates.iter().flat_map(|c| &c.sans).any(|s| {
            matches!(s, San::Dns(bytes) if std::str::from_utf8(bytes).is_ok_and(|t| t.parse::<std::net::IpAddr>().is_ok()))
        }) {
            count("dNSName SAN holding an address");
        }
        if config.vhosts[0].name != "v0" {
            count("virtual host v0 not first");
        }
        if config.listeners[0].name != "tls" {
            count("listener tls not first");
        }
        if config.policies != POLICIES {
            count("policies out of order");
        }
    }
    // The case-and-dot property's cases: configured names over 64 octets, and how their
    // lowercase form is decided (served, refused by the SNI rule).
    let strategy = long_name_case();
    for _ in 0..300 {
        let (server, pool, conn, (version, scheme, port)) =
            strategy.new_tree(&mut runner).unwrap().current();
        let Ok(connection) = conn.with(&server, |f| server.connection(f)) else {
            continue;
        };
        for host in configured_hosts(&server, &pool.labels) {
            if host.len() <= 64 {
                continue;
            }
            *seen
                .entry("long configured name (case property)")
                .or_default() += 1;
            match named(
                &server,
                &connection,
                &host_request(version, scheme, port, &host),
            ) {
                (None, _, _) => *seen.entry("... served (case property)").or_default() += 1,
                (_, Some(Rule::Sni), _) => {
                    *seen
                        .entry("... refused by rule Sni (case property)")
                        .or_default() += 1;
                }
                _ => {}
            }
        }
    }
    for (k, n) in &seen {
        println!("{n:6}  {k}");
    }
    for (what, at_least) in [
        ("long configured name (case property)", 1000),
        // About half of what the fixed seed gives (92 to 131 as the generators changed): a new
        // generator shifts the random stream, and these count edges reached, not rates.
        ("... served (case property)", 50),
        ("... refused by rule Sni (case property)", 10),
        ("request host > 64 octets with a capital", cases / 5),
        // Served long hosts are rarer since a handshake without a recorded policy is decided
        // under the policy its SNI selects (19 of 2,000 with the fixed seed); 10 still shows
        // the edge is reached.
        ("... served", 10),
        ("... refused by rule Sni", 5),
        ("SNI > 64 octets with a capital", cases / 10),
        (
            "exact name > 64 octets beside a wildcard of another policy",
            cases / 10,
        ),
        ("configured name of 240-253 octets", cases / 20),
        ("dNSName SAN holding an address", cases / 10),
        ("virtual host v0 not first", cases / 2),
        ("listener tls not first", cases / 4),
        ("policies out of order", cases / 2),
    ] {
        let n = seen.get(what).copied().unwrap_or(0);
        assert!(
            n >= at_least,
            "{what}: {n} of {cases}, expected at least {at_least}: {seen:?}"
        );
    }
}
