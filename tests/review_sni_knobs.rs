//! Review: the `Strict` and `SameVhost` SNI knobs never compare the handshake's TLS policy with
//! the chosen virtual host's. A request can pick a virtual host whose policy the handshake did
//! not apply: the same name on another origin port of the listener, or the listener's fallback.
//! The TLS layer ([`Server::sni_policy`], the `Acceptor`) applied the policy of the virtual host
//! the SNI selects on the listener's first origin port; `Compatible` refuses these requests,
//! the two knobs that are meant to be stricter serve them.
#![cfg(feature = "model")]

use misdirect::{
    CertificateConfig, Config, ConnectionFacts, Handshake, ListenerConfig, Method, Request, Server,
    SniPolicy, Target, Verdict, Version, VhostConfig, model,
};

fn h2<'a>(authority: &'a [&'a [u8]]) -> Request<'a> {
    Request {
        version: Version::Http2,
        method: Method::Other,
        scheme: Some(b"https"),
        authorities: authority,
        hosts: &[],
        target: Target::Origin,
    }
}

/// One TLS listener serving the origins of ports 443 and 8443 (RFC 7838 Alt-Svc). The name
/// admin.example.com is a public site on 443 and an mTLS site on 8443.
fn two_port_server(sni: SniPolicy) -> Server<&'static str> {
    let mut public = VhostConfig::new("admin-443", &["admin.example.com"], "public", "public");
    public.https_ports = vec![443];
    let mut mtls = VhostConfig::new("admin-8443", &["admin.example.com"], "mtls", "MTLS SITE");
    mtls.https_ports = vec![8443];
    let mut listener = ListenerConfig::new("tls", true, 443);
    listener.origin_ports = vec![443, 8443];
    let mut config = Config {
        policies: vec!["public".into(), "mtls".into()],
        certificates: vec![CertificateConfig::new("edge", &["*.example.com"])],
        vhosts: vec![public, mtls],
        listeners: vec![listener],
        ..Config::default()
    };
    config.knobs.sni = sni;
    Server::build(config).unwrap()
}

/// Under every knob that checks rule 6, the mTLS site on 8443 must not be served on a
/// handshake made (and recorded) under `public`: the policy the TLS layer applied to SNI
/// admin.example.com on this listener.
#[test]
fn strict_and_same_vhost_refuse_an_mtls_site_on_another_port_to_a_public_handshake() {
    let mut failures = Vec::new();
    for knob in [
        SniPolicy::Compatible,
        SniPolicy::SameVhost,
        SniPolicy::Strict,
    ] {
        let server = two_port_server(knob);
        let listener = server.listener_id("tls").unwrap();
        // What the Acceptor records for SNI admin.example.com on this listener.
        let applied = server.sni_policy(listener, Some(b"admin.example.com"));
        assert_eq!(server.policy_name(applied.unwrap()), Some("public"));
        let facts = ConnectionFacts {
            listener,
            tls: Some(Handshake {
                sni: Some(b"admin.example.com"),
                certificate: server.certificate_id("edge").unwrap(),
                policy: applied,
            }),
            gateway: None,
        };
        let conn = server.connection(&facts).unwrap();
        let authorities = [&b"admin.example.com:8443"[..]];
        let request = h2(&authorities);
        let verdict = server.decide(&conn, &request);
        let outcome = model::decide(server.config(), &facts, &request).unwrap();
        println!("{knob:?}: engine {verdict:?}; model {outcome:?}");
        if matches!(verdict, Verdict::Serve(_)) {
            failures.push(format!(
                "{knob:?}: admin.example.com:8443 (policy mtls) served on a handshake under \
                 public: {verdict:?} (model agrees: {outcome:?})"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// `Strict` and the listener's fallback: an SNI no virtual host claims gets the default policy
/// at the handshake; the same name as the request's host reaches the fallback, an mTLS site.
#[test]
fn strict_refuses_an_mtls_fallback_to_a_public_handshake() {
    let mut failures = Vec::new();
    for knob in [SniPolicy::Compatible, SniPolicy::Strict] {
        let mut listener = ListenerConfig::new("tls", true, 443);
        listener.fallback = Some("internal".into());
        let mut config = Config {
            policies: vec!["public".into(), "mtls".into()],
            certificates: vec![CertificateConfig::new("edge", &["*.example.com"])],
            vhosts: vec![
                VhostConfig::new("www", &["www.example.com"], "public", "www"),
                VhostConfig::new(
                    "internal",
                    &["internal.example.com"],
                    "mtls",
                    "MTLS FALLBACK",
                ),
            ],
            listeners: vec![listener],
            ..Config::default()
        };
        config.knobs.sni = knob;
        let server = Server::build(config).unwrap();
        let listener = server.listener_id("tls").unwrap();
        // No virtual host claims zzz.example.com and there is no default TLS virtual host:
        // the TLS layer applies its default policy, public.
        assert_eq!(server.sni_policy(listener, Some(b"zzz.example.com")), None);
        let facts = ConnectionFacts {
            listener,
            tls: Some(Handshake {
                sni: Some(b"zzz.example.com"),
                certificate: server.certificate_id("edge").unwrap(),
                policy: server.policy_id("public"),
            }),
            gateway: None,
        };
        let conn = server.connection(&facts).unwrap();
        let authorities = [&b"zzz.example.com"[..]];
        let verdict = server.decide(&conn, &h2(&authorities));
        println!("{knob:?}: {verdict:?}");
        if matches!(verdict, Verdict::Serve(_)) {
            failures.push(format!(
                "{knob:?}: the mTLS fallback served on a public handshake: {verdict:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
