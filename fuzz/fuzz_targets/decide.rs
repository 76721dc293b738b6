//! A whole server, connection and request, with request hosts and SNI drawn from the server's
//! own names and mutated: engine verdict == model verdict (status, rule, virtual host), and the
//! SPEC §6 invariants hold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use misdirect::{Authority, SniPolicy, model};
use misdirect_fuzz::decide::{connection, names, request, server};

fuzz_target!(|data: &[u8]| {
    let mut u = arbitrary::Unstructured::new(data);
    let Ok(Some(server)) = server(&mut u) else {
        return;
    };
    let names = names(&server);
    let Ok(conn) = connection(&mut u, &names, server.config().certificates.len()) else {
        return;
    };
    let Ok(request) = request(&mut u, &names) else {
        return;
    };

    let Ok(connection) = conn.with(&server, |facts| server.connection(facts)) else {
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
        .with(&server, |facts| {
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
        if config.knobs.sni != SniPolicy::Insecure {
            if let Some(field) = request.served_field() {
                let host = *Authority::parse_with(field, config.knobs.wire_unicode)
                    .unwrap()
                    .host();
                let cert = server
                    .certificate_id(&config.certificates[conn.certificate_of(&server)].id)
                    .unwrap();
                assert!(
                    server.certificate_covers(cert, &host),
                    "served {host} uncovered"
                );
            }
        }
        if let (SniPolicy::Compatible, Some(policy)) = (config.knobs.sni, conn.policy) {
            assert_eq!(
                config.vhosts[vhost].policy,
                misdirect_fuzz::decide::POLICIES[policy]
            );
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
        let announced = misdirect_fuzz::decide::OwnedRequest {
            version: misdirect::Version::Http2,
            method: misdirect::Method::Other,
            scheme: Some(b"https".to_vec()),
            authorities: vec![authority.into_bytes()],
            hosts: vec![],
            target: misdirect_fuzz::decide::OwnedTarget::Origin,
        };
        let outcome = conn
            .with(&server, |facts| {
                announced.with(|r| model::decide(server.config(), facts, r))
            })
            .unwrap();
        assert_eq!(
            outcome.status, None,
            "{origin} announced but the model says {outcome:?}"
        );
    }
});
