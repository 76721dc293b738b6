//! Live reconfiguration (issue 13) below the example server: generations, the drain rule in the
//! layer, what a reload reports, per-listener fallbacks, and a property over random pairs of
//! configurations: a connection keeps its generation's decisions, a new one gets the new ones.
#![cfg(all(feature = "reload", feature = "tower", feature = "model"))]

mod common;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::decide_gen::*;
use http_body_util::Full;
use misdirect::{
    BuildError, CertificateConfig, Changes, Config, ConnectionFacts, Handshake, Knobs,
    ListenerConfig, MisdirectLayer, Reloadable, Retirement, Rule, Scheme, Server, UnknownHost,
    Verdict, VhostConfig,
};
use proptest::prelude::*;
use tower::{ServiceBuilder, ServiceExt};

fn site(names: &[&str], extra: Option<&str>) -> Config<&'static str> {
    let mut vhosts = vec![
        VhostConfig::new("a", &["a.example.com"], "public", "a"),
        VhostConfig::new("b", &["b.example.com"], "public", "b"),
    ];
    if let Some(name) = extra {
        vhosts.push(VhostConfig::new(
            name,
            &[format!("{name}.example.com")],
            "public",
            "extra",
        ));
    }
    Config {
        policies: vec!["public".into()],
        certificates: vec![CertificateConfig::new("edge", names)],
        vhosts,
        listeners: vec![ListenerConfig::new("tls", true, 443)],
        ..Config::default()
    }
}

fn tls_facts(server: &Server<&'static str>) -> ConnectionFacts<'static> {
    ConnectionFacts {
        listener: server.listener_id("tls").unwrap(),
        tls: Some(Handshake {
            sni: Some(b"a.example.com"),
            certificate: server.certificate_id("edge").unwrap(),
            policy: server.policy_id("public"),
        }),
        gateway: None,
    }
}

#[test]
fn a_failed_reload_changes_nothing_and_a_good_one_retires_the_old_generation() {
    let reloadable = Reloadable::new(Arc::new(
        Server::build(site(&["*.example.com"], None)).unwrap(),
    ));
    let first = reloadable.current();
    assert_eq!((first.number(), first.retired_for()), (1, None));
    let error = reloadable
        .try_reload(|_| {
            // A virtual host whose policy is not declared: the build refuses it.
            let mut config = site(&["*.example.com"], None);
            config.vhosts[0].policy = "nope".into();
            Server::build(config).map(Arc::new)
        })
        .unwrap_err();
    assert!(matches!(error, BuildError::UnknownPolicy { .. }), "{error}");
    assert!(Arc::ptr_eq(&reloadable.current(), &first));
    assert_eq!(first.retired_for(), None);

    let second = reloadable
        .try_reload(|_| Server::build(site(&["*.example.com"], Some("c"))).map(Arc::new))
        .unwrap();
    assert_eq!(second.number(), 2);
    assert!(first.retired_for().is_some());
    assert!(Arc::ptr_eq(&reloadable.current(), &second));
}

#[tokio::test]
async fn superseded_resolves_for_older_generations_only() {
    let reloadable = Arc::new(Reloadable::new(0u8));
    let waiting = {
        let reloadable = Arc::clone(&reloadable);
        tokio::spawn(async move { reloadable.superseded(1).await })
    };
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished());
    reloadable.replace(1);
    tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("generation 1 is superseded")
        .unwrap();
    // Generation 2 is current: waiting for it to be superseded does not end now.
    let current = tokio::time::timeout(Duration::from_millis(50), reloadable.superseded(2)).await;
    assert!(current.is_err());
}

/// One request through a layer tied to `generation`: status and `connection` header.
async fn through_layer(
    server: &Arc<Server<&'static str>>,
    generation: Arc<dyn Retirement>,
    grace: Duration,
    version: http::Version,
) -> (u16, Option<String>) {
    let conn = server.connection(&tls_facts(server)).unwrap();
    let service = ServiceBuilder::new()
        .layer(MisdirectLayer::new(Arc::clone(server), conn).draining(generation, grace))
        .service_fn(|_: http::Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(b"inner"))))
        });
    let request = http::Request::builder()
        .version(version)
        .uri("/")
        .header("host", "a.example.com")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    let close = response
        .headers()
        .get("connection")
        .map(|v| v.to_str().unwrap().to_string());
    (response.status().as_u16(), close)
}

#[tokio::test]
async fn the_layer_drains_a_retired_generation_and_refuses_past_the_grace() {
    let server = Arc::new(Server::build(site(&["*.example.com"], None)).unwrap());
    let reloadable = Reloadable::new(Arc::clone(&server));
    let generation = reloadable.current();
    let h1 = http::Version::HTTP_11;
    // Current: served, the connection kept.
    assert_eq!(
        through_layer(&server, generation.clone(), Duration::from_secs(60), h1).await,
        (200, None)
    );
    reloadable.replace(Arc::clone(&server));
    // Retired, within the grace: served, and HTTP/1.1 is asked to close.
    assert_eq!(
        through_layer(&server, generation.clone(), Duration::from_secs(60), h1).await,
        (200, Some("close".into()))
    );
    let h2 = http::Version::HTTP_2;
    assert_eq!(
        through_layer(&server, generation.clone(), Duration::from_secs(60), h2).await,
        (200, None)
    );
    // Past the grace: 421, whatever the request, so the client retries on a new connection.
    assert_eq!(
        through_layer(&server, generation.clone(), Duration::ZERO, h1).await,
        (421, Some("close".into()))
    );
    assert_eq!(
        through_layer(&server, generation, Duration::ZERO, h2)
            .await
            .0,
        421
    );
    assert_eq!(misdirect::Reason::retired().rule, Rule::Connection);
}

#[test]
fn changes_name_what_a_reload_adds_removes_and_renews_and_ignore_order() {
    let old = site(&["*.example.com"], Some("c"));
    let mut new = site(&["*.example.com", "d.example.org"], Some("d"));
    new.vhosts[0].names.push("www.example.com".into());
    new.vhosts[1].https_ports = vec![443, 8443];
    new.knobs.sni = misdirect::SniPolicy::Strict;
    new.policies.push("mtls".into());
    let changes = Changes::between(&old, &new);
    assert_eq!(
        changes.lines,
        [
            "~ virtual host \"a\": + name www.example.com",
            "~ virtual host \"b\": https ports {443} -> {443, 8443}",
            "- virtual host \"c\" (c.example.com)",
            "+ virtual host \"d\" (d.example.com)",
            "~ certificate \"edge\": + SAN DNS:d.example.org",
            "+ policy mtls",
            "~ knob sni: Compatible -> Strict",
        ]
    );
    // Order carries no meaning: the same configuration with every list reversed is no change.
    let mut reversed = old.clone();
    reversed.vhosts.reverse();
    reversed.certificates[0].sans.reverse();
    assert!(Changes::between(&old, &reversed).is_empty());
    assert_eq!(Changes::between(&old, &old).to_string(), "no changes");
}

/// A listener's own fallback: nginx's `default_server` belongs to a listening socket, and a
/// fallback needs to serve only what its listener receives.
#[test]
fn a_fallback_is_per_listener_and_needs_only_what_its_listener_receives() {
    let mut config = site(&["*.example.com"], None);
    // Virtual host b also serves cleartext on 80, which no listener receives: a fallback that
    // does not serve http 80 is still fine (it was refused before).
    config.vhosts[1].http_ports = vec![80];
    config.knobs.unknown_host = UnknownHost::Fallback("a".into());
    let server = Server::build(config.clone()).unwrap();
    let conn = server.connection(&tls_facts(&server)).unwrap();
    let unknown: &[&[u8]] = &[b"zzz.example.com"];
    let request = |authorities| misdirect::Request {
        version: misdirect::Version::Http2,
        method: misdirect::Method::Other,
        scheme: Some(b"https"),
        authorities,
        hosts: &[],
        target: misdirect::Target::Origin,
    };
    assert_eq!(
        server.decide(&conn, &request(unknown)),
        Verdict::Serve(&"a")
    );

    // A listener that names its own fallback overrides the knob.
    let mut own = config.clone();
    own.listeners[0].fallback = Some("b".into());
    let server = Server::build(own.clone()).unwrap();
    let conn = server.connection(&tls_facts(&server)).unwrap();
    assert_eq!(
        server.decide(&conn, &request(unknown)),
        Verdict::Serve(&"b")
    );
    let facts = tls_facts(&server);
    let outcome = misdirect::model::decide(server.config(), &facts, &request(unknown)).unwrap();
    assert_eq!(outcome.vhost, Some(1), "the model agrees");

    // A listener fallback that does not serve what the listener receives is a build error that
    // names both.
    let mut cleartext = own.clone();
    cleartext.listeners.push(ListenerConfig {
        fallback: Some("a".into()),
        ..ListenerConfig::new("clear", false, 80)
    });
    let error = Server::build(cleartext).unwrap_err();
    assert_eq!(
        error.to_string(),
        "fallback virtual host \"a\" does not serve http port 80, which listener \"clear\" receives"
    );
    assert!(matches!(
        error,
        BuildError::FallbackNotServing {
            scheme: Scheme::Http,
            port: 80,
            ..
        }
    ));
    // With opportunistic http, a TLS listener receives http too.
    let mut opportunistic = own;
    opportunistic.knobs = Knobs {
        opportunistic_http: true,
        ..opportunistic.knobs
    };
    assert!(matches!(
        Server::build(opportunistic),
        Err(BuildError::FallbackNotServing {
            scheme: Scheme::Http,
            port: 443,
            ..
        })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/reload.txt"),
        )),
        ..ProptestConfig::default()
    })]

    /// SPEC §4 and issue 13: for random pairs of configurations, requests on a connection of
    /// generation N get generation N's decisions after N+1 is current; a new connection gets
    /// N+1's; and N's connection is never read by N+1's server (421, never Serve).
    #[test]
    fn connections_keep_their_generation_and_new_ones_get_the_new_one(
        (first, conn, request) in decision_case(8),
        (second, conn2, request2) in decision_case(8),
    ) {
        let reloadable = Reloadable::new(Arc::clone(&first));
        let generation = reloadable.current();
        let Ok(made) = conn.with(&generation, |facts| generation.connection(facts)) else {
            return Ok(());
        };
        let before = request.with(|r| outcome(&generation.decide(&made, r)));
        reloadable.replace(Arc::clone(&second));
        // Generation 1's connection still decides with generation 1.
        prop_assert!(generation.retired_for().is_some());
        prop_assert_eq!(request.with(|r| outcome(&generation.decide(&made, r))), before);
        // Read by generation 2's server: refused, never served.
        for r in [&request, &request2] {
            let verdict = r.with(|r| outcome(&reloadable.current().decide(&made, r)));
            prop_assert_eq!(verdict, (Some(421), Some(Rule::Connection), None));
        }
        // A new connection binds to generation 2 and gets exactly what generation 2 decides.
        let current = reloadable.current();
        if let Ok(fresh) = conn2.with(&current, |facts| current.connection(facts)) {
            prop_assert_eq!(
                request2.with(|r| outcome(&current.decide(&fresh, r))),
                request2.with(|r| outcome(&second.decide(&fresh, r)))
            );
            let model = conn2.with(&second, |facts| {
                request2.with(|r| misdirect::model::decide(second.config(), facts, r))
            }).unwrap();
            let engine = request2.with(|r| outcome(&current.decide(&fresh, r)));
            // The model names the virtual host by position; the engine gives its value.
            prop_assert_eq!(engine.2, model.vhost.map(|p| second.config().vhosts[p].value));
        }
    }
}

/// Status, rule and served virtual host (by value) of a verdict.
fn outcome(verdict: &Verdict<'_, usize>) -> (Option<u16>, Option<Rule>, Option<usize>) {
    match verdict {
        Verdict::Serve(v) => (None, None, Some(**v)),
        other => (other.status(), other.reason().map(|r| r.rule), None),
    }
}
