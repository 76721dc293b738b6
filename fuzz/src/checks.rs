//! The checks of the decision targets (`decide`, servers from a space built once per process;
//! `server`, servers built from the input), on one server and on two.

use std::borrow::Borrow;

use crate::decide::{Input, OwnedConnection, OwnedRequest, Second};
use misdirect::{Authority, Connection, FactsError, Rule, Server, SniPolicy, Verdict, model};

/// On one server: engine verdict == model verdict (status, rule, virtual host), a reason is one
/// printable line, and the SPEC §6 invariants hold (under TLS and any sni mode but Insecure,
/// Serve implies coverage; under Compatible, the handshake's policy is the served virtual
/// host's); every origin announced for an ORIGIN frame is served, by the model's account too.
pub fn one_server(server: &Server<usize>, conn: &OwnedConnection, request: &OwnedRequest) {
    let Ok(connection) = conn.with(server, |facts| server.connection(facts)) else {
        return;
    };
    let engine = request.with(|r| match server.choose(&connection, r) {
        Ok(v) => (None, None, Some(v as usize)),
        Err(reason) => {
            // A reason is one printable line.
            let line = reason.to_string();
            assert!(line.chars().all(|c| (' '..='~').contains(&c)), "{line:?}");
            (Some(reason.status), Some(reason.rule), None)
        }
    });
    let outcome = conn
        .with(server, |facts| {
            request.with(|r| model::decide(server.config(), facts, r))
        })
        .expect("facts the engine accepted");
    assert_eq!(
        engine,
        (outcome.status, outcome.rule, outcome.vhost),
        "{conn:?} {request:?}"
    );

    // SPEC §6: under TLS and any sni mode but Insecure, Serve implies coverage; under
    // Compatible, the handshake's policy is the served virtual host's.
    let config = server.config();
    if let (Some(vhost), true) = (engine.2, connection.is_secure()) {
        if config.knobs.sni != SniPolicy::Insecure
            && let Some(field) = request.served_field()
        {
            let host = *Authority::parse_with(field, config.knobs.wire_unicode)
                .unwrap()
                .host();
            let cert = server
                .certificate_id(&config.certificates[conn.certificate_of(server)].id)
                .unwrap();
            assert!(
                server.certificate_covers(cert, &host),
                "served {host} uncovered"
            );
        }
        if let (SniPolicy::Compatible, Some(policy)) = (config.knobs.sni, conn.policy) {
            assert_eq!(config.vhosts[vhost].policy, crate::decide::POLICIES[policy]);
        }
    }
    // Every origin announced for an ORIGIN frame is served, by the model's account too.
    for origin in server.origins(&connection) {
        let authority = origin.trim_start_matches("https://");
        let authority = if authority.contains(':') {
            authority.to_string()
        } else {
            format!("{authority}:443")
        };
        let announced = OwnedRequest {
            version: misdirect::Version::Http2,
            method: misdirect::Method::Other,
            scheme: Some(b"https".to_vec()),
            authorities: vec![authority.into_bytes()],
            hosts: vec![],
            target: crate::decide::OwnedTarget::Origin,
        };
        let outcome = conn
            .with(server, |facts| {
                announced.with(|r| model::decide(server.config(), facts, r))
            })
            .unwrap();
        assert_eq!(
            outcome.status, None,
            "{origin} announced but the model says {outcome:?}"
        );
    }
}

/// A decision by what it says: the status, the rule, and the served virtual host by name.
fn named(
    server: &Server<usize>,
    connection: &Connection,
    request: &OwnedRequest,
) -> (Option<u16>, Option<Rule>, Option<String>) {
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
        (verdict.status(), verdict.reason().map(|r| r.rule), vhost)
    })
}

/// On two servers: a rebuilt or permuted server decides A's request as A does (by name);
/// facts holding A's ids get an error from B's `connection()`; a connection made by one is
/// refused by the other with rule Connection, never served.
pub fn two_servers<S: Borrow<Server<usize>>>(input: &Input<S>) {
    let a = input.a.borrow();
    let Some((b, second)) = &input.b else {
        return;
    };
    let b = b.borrow();
    // A rebuilt or permuted server decides alike, by name.
    if matches!(second, Second::Rebuilt | Second::Permuted) {
        let moved = input.conn.rebased(a, b);
        let ca = input.conn.with(a, |f| a.connection(f));
        let cb = moved.with(b, |f| b.connection(f));
        assert_eq!(ca.as_ref().err(), cb.as_ref().err(), "{:?}", input.conn);
        if let (Ok(ca), Ok(cb)) = (ca, cb) {
            assert_eq!(
                named(a, &ca, &input.request),
                named(b, &cb, &input.request),
                "{second:?}: {:?} {:?}\npermuted: {:?}",
                input.conn,
                input.request,
                b.config()
            );
        }
    }
    let (Some(conn), Some(request)) = (&input.mixed_conn, &input.b_request) else {
        return;
    };
    // Facts with A's ids, given to B.
    let (result, foreign) = conn.with_ids_of(a, b, input.sources, |facts, foreign| {
        (b.connection(facts), foreign)
    });
    if foreign {
        assert!(
            result.is_err(),
            "foreign ids accepted: {:?} {conn:?}",
            input.sources
        );
    }
    if input.sources.listener {
        assert_eq!(result.err(), Some(FactsError::UnknownListener));
    }
    // A connection of one server, used with the other.
    for (from, to) in [(a, b), (b, a)] {
        let Ok(made) = conn.with(from, |f| from.connection(f)) else {
            continue;
        };
        for request in [request, &input.request] {
            request.with(|r| {
                let verdict = to.decide(&made, r);
                assert!(
                    matches!(&verdict, Verdict::Misdirected(reason) if reason.rule == Rule::Connection),
                    "{verdict:?} on another server's connection"
                );
                assert_eq!(
                    to.choose(&made, r).map_err(|e| e.rule),
                    Err(Rule::Connection)
                );
            });
        }
        assert!(to.origins(&made).is_empty());
        let config = from.config();
        let listener = from
            .listener_id(&config.listeners[conn.listener].name)
            .unwrap();
        let cert = from
            .certificate_id(&config.certificates[conn.certificate_of(from)].id)
            .unwrap();
        assert_eq!(to.listener_name(listener), None);
        assert_eq!(to.certificate_name(cert), None);
        assert_eq!(to.sni_vhost(listener, conn.sni.as_deref()), None);
        if let Some(Ok(authority)) = request.served_field().map(Authority::parse) {
            assert!(!to.certificate_covers(cert, authority.host()));
        }
    }
}
