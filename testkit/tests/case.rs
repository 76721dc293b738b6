//! A case prints itself as a configuration the loader reads back, and its accessors agree with
//! the misdirect types it lends out.

use std::path::Path;

use misdirect::{Config, Server, Target};
use misdirect_testkit::owned::OwnedTarget;
use misdirect_testkit::strategy;
use proptest::prelude::*;
use proptest::strategy::ValueTree;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_case_prints_a_configuration_that_reads_back(case in strategy::case(misdirect::Knobs::default())) {
        let text = case.to_string();
        let read = Config::<String>::from_toml(&text, Path::new("."))
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&read, case.config(), "{}", text);
        // The same server, so the same ids: the printed case decides as the case does.
        let server = Server::build(read).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let facts = case.facts(&server);
        prop_assert_eq!(server.listener_name(facts.listener), Some(case.listener().name.as_str()));
        prop_assert_eq!(facts.tls.is_some(), case.tls());
        if let Some(handshake) = facts.tls {
            prop_assert_eq!(handshake.sni, case.sni());
            prop_assert_eq!(server.certificate_name(handshake.certificate), case.certificate().map(|c| c.id.as_str()));
            prop_assert_eq!(handshake.policy.and_then(|p| server.policy_name(p)), case.policy());
        }
        let request = case.request();
        prop_assert_eq!(request.version, case.version());
        prop_assert_eq!(request.scheme, case.scheme());
        prop_assert_eq!(request.authorities.len(), case.authorities().len());
        prop_assert_eq!(request.hosts.len(), case.hosts().len());
        for (a, b) in request.authorities.iter().zip(case.authorities()).chain(request.hosts.iter().zip(case.hosts())) {
            prop_assert_eq!(*a, b.as_slice());
        }
        let same_target = match (request.target, case.target()) {
            (Target::Origin, OwnedTarget::Origin) | (Target::Asterisk, OwnedTarget::Asterisk) => true,
            (Target::Absolute { scheme, authority }, OwnedTarget::Absolute(s, a)) => scheme == s.as_slice() && authority == a.as_slice(),
            (Target::Authority(a), OwnedTarget::Authority(b)) => a == b.as_slice(),
            _ => false,
        };
        prop_assert!(same_target);
        prop_assert_ne!(case.method(), misdirect::Method::Connect);
    }
}

#[test]
fn a_clone_is_the_same_case() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..32 {
        let case = strategy::case(misdirect::Knobs::default())
            .new_tree(&mut runner)
            .expect("a case")
            .current();
        let clone = case.clone();
        assert_eq!(clone.to_string(), case.to_string());
        assert_eq!(clone.request(), case.request());
    }
}
