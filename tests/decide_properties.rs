//! The decision: engine == model on random servers, connections and requests, and the SPEC §6
//! invariants, each a test of its own. Failures persist in
//! `proptest-regressions/decide_properties.txt`.

mod common;

use common::config;
use common::decide_gen::*;
use misdirect::model;
use misdirect::{Authority, Rule, Server, SniPolicy, Status, Verdict, Version};
use proptest::prelude::*;
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

proptest! {
    #![proptest_config(config(REGRESSIONS))]

    #[test]
    fn decide_engine_equals_model((server, conn, request) in case()) {
        let e = engine(&server, &conn, &request);
        let m = model_outcome(&server, &conn, &request);
        prop_assert_eq!(e, m, "conn {:?} request {:?}", conn, request);
    }

    #[test]
    fn decide_engine_equals_model_on_large_servers((server, conn, request) in big_case()) {
        prop_assert_eq!(engine(&server, &conn, &request), model_outcome(&server, &conn, &request));
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
