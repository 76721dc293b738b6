//! The three classes of failure, the exit status they make, and the JUnit and JSON reports,
//! on results built by hand: every pairing of what the crate expects with what came back.

use std::net::SocketAddr;
use std::path::PathBuf;

use misdirect::Rule;
use misdirect_probe::{
    Answer, Class, Expected, Got, Group, Outcome, Report, Scenario, ScenarioResult, Shape,
};

fn response(status: u16) -> Got {
    Got::Answer(Answer::Response {
        status,
        body: Vec::new(),
    })
}

fn refuse(status: u16) -> Expected {
    Expected::Refuse {
        status,
        rule: if status == 400 {
            Rule::Framing
        } else {
            Rule::Certificate
        },
        reason: "because".into(),
    }
}

fn result(id: usize, group: Group, expected: Expected, got: Got) -> ScenarioResult {
    let outcome = match &got {
        Got::Answer(answer) if expected.matches(answer) => Outcome::Pass,
        Got::Refused(_) => Outcome::Skip,
        _ => Outcome::Fail,
    };
    ScenarioResult {
        scenario: Scenario {
            id,
            group,
            sni: Some("a.example.test".into()),
            label: format!("case {id} <&\"'>\u{1b}"),
            shape: Shape::h2("a.example.test:443"),
        },
        expected: Some(expected),
        got,
        outcome,
    }
}

fn report(results: Vec<ScenarioResult>) -> Report {
    Report {
        target: "127.0.0.1:8443".parse::<SocketAddr>().unwrap(),
        config: PathBuf::from("server.toml"),
        listener: "tls".into(),
        port: 443,
        h3: None,
        presented: Vec::new(),
        results,
        dropped: 0,
        vhosts_left_out: 0,
    }
}

#[test]
fn each_pairing_gets_its_class() {
    let serve = || Expected::Serve("a".into());
    let no_session = || Expected::NoSession {
        policy: "mtls".into(),
    };
    let cases: Vec<(Expected, Got, Option<Class>)> = vec![
        (serve(), response(200), None),
        (serve(), response(404), None),
        (serve(), response(301), None),
        (serve(), response(421), Some(Class::Refused)),
        (serve(), response(400), Some(Class::Refused)),
        (serve(), response(403), Some(Class::Refused)),
        (serve(), Got::Answer(Answer::Reset(1)), Some(Class::Refused)),
        (serve(), Got::Answer(Answer::Closed), Some(Class::Refused)),
        (
            serve(),
            Got::Error("timed out".into()),
            Some(Class::Refused),
        ),
        (refuse(421), response(200), Some(Class::Served)),
        (refuse(421), response(302), Some(Class::Served)),
        (refuse(400), response(204), Some(Class::Served)),
        (no_session(), response(200), Some(Class::Served)),
        (refuse(421), response(421), None),
        (refuse(421), response(400), Some(Class::Other)),
        (refuse(421), response(404), Some(Class::Other)),
        (refuse(400), response(421), Some(Class::Other)),
        (refuse(400), Got::Answer(Answer::Reset(1)), None),
        (refuse(421), Got::Answer(Answer::Closed), Some(Class::Other)),
        (
            refuse(421),
            Got::Error("timed out".into()),
            Some(Class::Other),
        ),
        (no_session(), response(403), None),
        (refuse(404), response(200), Some(Class::Other)),
        (serve(), Got::Refused("alert".into()), None),
    ];
    for (i, (expected, got, class)) in cases.into_iter().enumerate() {
        let r = result(i, Group::Pair, expected.clone(), got.clone());
        assert_eq!(r.class(), class, "expected {expected:?}, got {got:?}");
        assert_eq!(r.served_refused(), class == Some(Class::Served));
    }
}

#[test]
fn the_exit_status_names_the_classes_that_occurred() {
    let pass = result(1, Group::Pair, refuse(421), response(421));
    let served = result(2, Group::Pair, refuse(421), response(200));
    let refused = result(
        3,
        Group::Spelling,
        Expected::Serve("a".into()),
        response(421),
    );
    let other = result(4, Group::Malformed, refuse(400), response(421));
    assert_eq!(report(vec![pass.clone()]).exit_code(), 0);
    assert_eq!(
        report(vec![pass.clone(), served.clone()]).exit_code(),
        1 | 4
    );
    assert_eq!(report(vec![refused.clone()]).exit_code(), 1 | 8);
    assert_eq!(report(vec![other.clone()]).exit_code(), 1 | 16);
    let all = report(vec![pass, served, refused, other]);
    assert_eq!(all.exit_code(), 1 | 4 | 8 | 16);
    // Never 2: that is a run that could not start.
    assert_ne!(all.exit_code() & 2, 2);
    let line = all.text();
    assert!(
        line.contains(
            "4 scenarios: 1 passed, 3 failed (1 served where 421 or 400 is due, 1 refused where \
             the crate serves, 1 other), 0 skipped"
        ),
        "{line}"
    );
    assert!(line.contains(" SERVED"), "{line}");
    assert!(line.contains(" REFUSED"), "{line}");
}

#[test]
fn json_counts_each_class() {
    let r = report(vec![
        result(1, Group::Pair, refuse(421), response(200)),
        result(2, Group::Pair, Expected::Serve("a".into()), response(421)),
        result(3, Group::Pair, Expected::Serve("a".into()), response(400)),
    ]);
    let doc: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
    assert_eq!(doc["summary"]["classes"]["security"], 1);
    assert_eq!(doc["summary"]["classes"]["availability"], 2);
    assert_eq!(doc["summary"]["classes"]["other"], 0);
    assert_eq!(doc["summary"]["exit_code"], 1 | 4 | 8);
    assert_eq!(doc["scenarios"][0]["class"], "security");
    assert_eq!(doc["scenarios"][1]["class"], "availability");
}

#[test]
fn junit_has_a_suite_per_group_and_typed_failures() {
    let r = report(vec![
        result(1, Group::Pair, refuse(421), response(421)),
        result(2, Group::Pair, refuse(421), response(200)),
        result(
            3,
            Group::Spelling,
            Expected::Serve("a".into()),
            Got::Refused("alert".into()),
        ),
        result(
            4,
            Group::Framing,
            Expected::Serve("a".into()),
            response(421),
        ),
    ]);
    let xml = r.junit();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
    assert!(xml.contains("<testsuites name=\"misdirect-probe 127.0.0.1:8443\" tests=\"4\" failures=\"2\" skipped=\"1\">"), "{xml}");
    assert!(
        xml.contains("<testsuite name=\"pair\" tests=\"2\" failures=\"1\" skipped=\"0\">"),
        "{xml}"
    );
    assert!(
        xml.contains("<testsuite name=\"spelling\" tests=\"1\" failures=\"0\" skipped=\"1\">"),
        "{xml}"
    );
    assert!(xml.contains("<failure type=\"security\""), "{xml}");
    assert!(xml.contains("<failure type=\"availability\""), "{xml}");
    assert!(xml.contains("<skipped message="), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 4);
    assert_eq!(xml.matches("</testsuite>").count(), 3);
    // The label's markup characters are escaped and its control character written out: the
    // document holds no raw '<' outside tags, no ESC.
    assert!(
        xml.contains("case 2 &lt;&amp;&quot;&apos;&gt;\\u{1b}"),
        "{xml}"
    );
    assert!(!xml.contains('\u{1b}'));
    assert!(!xml.contains("<&"));
}

#[test]
fn groups_read_back_from_their_names() {
    for group in Group::ALL {
        assert_eq!(Group::from_name(group.name()), Some(group));
    }
    assert_eq!(Group::from_name("no-such-group"), None);
}
