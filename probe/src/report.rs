//! A run's report as text (one line per scenario) and as one JSON document.

use core::fmt::Write as _;

use serde_json::{Value, json};

use super::{Answer, Class, Expected, Got, Outcome, Report, ScenarioResult};

fn sni(sni: Option<&str>) -> String {
    sni.map_or_else(|| "no SNI".to_string(), |s| format!("SNI {s}"))
}

fn outcome(result: &ScenarioResult) -> &'static str {
    match result.outcome {
        Outcome::Pass => "pass",
        Outcome::Fail => "FAIL",
        Outcome::Skip => "skip",
    }
}

fn expected(result: &ScenarioResult) -> String {
    match &result.expected {
        Some(e @ Expected::NoSession { .. }) => e.rule(),
        Some(e) => format!("{} {}", e.status(), e.rule()),
        None if matches!(result.got, Got::NotSent(_)) => "- (not sent)".to_string(),
        None => "- (no handshake)".to_string(),
    }
}

fn got(result: &ScenarioResult) -> String {
    let mut got = result.got.to_string();
    match result.class() {
        Some(Class::Served) => got.push_str(" SERVED"),
        Some(Class::Refused) => got.push_str(" REFUSED"),
        _ => {}
    }
    got
}

/// The summary line: counts, the failures by class.
fn summary(report: &Report) -> String {
    let classes: Vec<String> = Class::ALL
        .iter()
        .map(|c| format!("{} {}", report.count_class(*c), c.words()))
        .collect();
    let mut line = format!(
        "{} scenarios: {} passed, {} failed ({}), {} skipped",
        report.results.len(),
        report.count(Outcome::Pass),
        report.count(Outcome::Fail),
        classes.join(", "),
        report.count(Outcome::Skip),
    );
    if report.vhosts_left_out > 0 {
        let _ = write!(
            line,
            "; {} virtual hosts past the first eight were not probed",
            report.vhosts_left_out
        );
    }
    if report.dropped > 0 {
        let _ = write!(
            line,
            "; {} more generated past the request limit were not sent",
            report.dropped
        );
    }
    line
}

pub(super) fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "misdirect-probe {} as listener {:?} (origin port {}), configuration {}",
        report.target,
        report.listener,
        report.port,
        report.config.display()
    );
    if let Some((addr, listener)) = &report.h3 {
        let _ = writeln!(out, "HTTP/3 at {addr} (UDP) as listener {listener:?}");
    }
    out.push_str("handshakes:\n");
    let width = report
        .presented
        .iter()
        .map(|p| sni(p.sni.as_deref()).len())
        .max()
        .unwrap_or(0);
    for p in &report.presented {
        let _ = write!(
            out,
            "  {} {:<width$}  ",
            if p.quic { "QUIC" } else { "TCP " },
            sni(p.sni.as_deref())
        );
        match &p.certificate {
            Some(id) => {
                let _ = write!(
                    out,
                    "certificate {id:?} [{}] ({}), policy {}",
                    p.sans.join(", "),
                    if p.configured {
                        "the configuration's, matched by SANs"
                    } else {
                        "read from the handshake"
                    },
                    p.policy.as_deref().unwrap_or("none")
                );
            }
            None => out.push_str("no certificate"),
        }
        if let Some(alpn) = &p.alpn {
            let _ = write!(out, ", ALPN {alpn}");
        }
        if let Some(error) = &p.error {
            let _ = write!(out, "; handshake failed: {error}");
        }
        out.push('\n');
    }
    out.push_str("scenarios:\n");
    let sent: Vec<String> = report
        .results
        .iter()
        .map(|r| runs(&r.scenario.shape.to_string()))
        .collect();
    let sni_width = report
        .results
        .iter()
        .map(|r| sni(r.scenario.sni.as_deref()).len())
        .max()
        .unwrap_or(0);
    let sent_width = sent.iter().map(String::len).max().unwrap_or(0);
    let expected_width = report
        .results
        .iter()
        .map(|r| expected(r).len())
        .max()
        .unwrap_or(0);
    for (r, sent) in report.results.iter().zip(&sent) {
        let _ = writeln!(
            out,
            "{} {:>3} {:<sni_width$}  {:<sent_width$}  expected {:<expected_width$}  got {}  | {}",
            outcome(r),
            r.scenario.id,
            sni(r.scenario.sni.as_deref()),
            sent,
            expected(r),
            got(r),
            r.scenario.label,
        );
    }
    let _ = writeln!(out, "{}", summary(report));
    out
}

/// Runs of ten or more of one character written `c{n}`, so a 253-octet name fits a line; the
/// JSON document keeps every byte.
fn runs(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let mut n = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            n += 1;
        }
        if n >= 10 {
            let _ = write!(out, "{c}{{{n}}}");
        } else {
            out.extend(std::iter::repeat_n(c, n));
        }
    }
    out
}

fn got_json(got: &Got) -> Value {
    match got {
        Got::Answer(Answer::Response { status, body }) => json!({
            "kind": "response",
            "status": status,
            "body": String::from_utf8_lossy(&body[..body.len().min(512)]),
        }),
        Got::Answer(Answer::Reset(code)) => json!({ "kind": "rst_stream", "code": code }),
        Got::Answer(Answer::GoAway(code)) => json!({ "kind": "goaway", "code": code }),
        Got::Answer(Answer::Closed) => json!({ "kind": "closed" }),
        Got::Refused(why) => json!({ "kind": "tls_refused", "detail": why }),
        Got::Error(why) => json!({ "kind": "error", "detail": why }),
        Got::NotSent(why) => json!({ "kind": "not_sent", "detail": why }),
    }
}

fn expected_json(expected: Option<&Expected>) -> Value {
    match expected {
        Some(Expected::Serve(vhost)) => json!({ "status": 200, "serve": vhost }),
        Some(Expected::NoSession { policy }) => {
            json!({ "status": null, "no_session": true, "policy": policy })
        }
        Some(Expected::Refuse {
            status,
            rule,
            reason,
        }) => json!({
            "status": status,
            "rule": rule.number(),
            "rule_name": rule.name(),
            "reason": reason,
        }),
        None => Value::Null,
    }
}

pub(super) fn json(report: &Report) -> String {
    let handshakes: Vec<Value> = report
        .presented
        .iter()
        .map(|p| {
            json!({
                "sni": p.sni,
                "certificate": p.certificate,
                "sans": p.sans,
                "configured": p.configured,
                "policy": p.policy,
                "alpn": p.alpn,
                "error": p.error,
                "transport": if p.quic { "quic" } else { "tcp" },
            })
        })
        .collect();
    let scenarios: Vec<Value> = report
        .results
        .iter()
        .map(|r| {
            json!({
                "id": r.scenario.id,
                "group": r.scenario.group.name(),
                "sni": r.scenario.sni,
                "version": match r.scenario.shape.version() {
                    misdirect::Version::Http10 => "HTTP/1.0",
                    misdirect::Version::Http11 => "HTTP/1.1",
                    misdirect::Version::Http3 => "HTTP/3",
                    _ => "HTTP/2",
                },
                "sent": r.scenario.shape.to_string(),
                "label": r.scenario.label,
                "expected": expected_json(r.expected.as_ref()),
                "got": got_json(&r.got),
                "result": match r.outcome {
                    Outcome::Pass => "pass",
                    Outcome::Fail => "fail",
                    Outcome::Skip => "skip",
                },
                "served_refused": r.served_refused(),
                "class": r.class().map(Class::name),
            })
        })
        .collect();
    let document = json!({
        "target": report.target.to_string(),
        "config": report.config.display().to_string(),
        "listener": report.listener,
        "port": report.port,
        "h3": report.h3.as_ref().map(|(addr, listener)| json!({
            "target": addr.to_string(),
            "listener": listener,
        })),
        "handshakes": handshakes,
        "scenarios": scenarios,
        "summary": {
            "scenarios": report.results.len(),
            "passed": report.count(Outcome::Pass),
            "failed": report.count(Outcome::Fail),
            "skipped": report.count(Outcome::Skip),
            "served_refused": report.count_class(Class::Served),
            "classes": {
                "security": report.count_class(Class::Served),
                "availability": report.count_class(Class::Refused),
                "other": report.count_class(Class::Other),
            },
            "exit_code": report.exit_code(),
            "dropped": report.dropped,
            "vhosts_left_out": report.vhosts_left_out,
            "line": summary(report),
        },
    });
    serde_json::to_string_pretty(&document).unwrap_or_default()
}

/// Text for an XML attribute or element: the five markup characters escaped, and characters
/// XML 1.0 cannot hold (controls but tab and newline) written `\u{..}`.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

pub(super) fn junit(report: &Report) -> String {
    let mut groups: Vec<&str> = Vec::new();
    for r in &report.results {
        let name = r.scenario.group.name();
        if !groups.contains(&name) {
            groups.push(name);
        }
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"misdirect-probe {}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
        xml(&report.target.to_string()),
        report.results.len(),
        report.count(Outcome::Fail),
        report.count(Outcome::Skip),
    );
    for group in groups {
        let rows: Vec<&ScenarioResult> = report
            .results
            .iter()
            .filter(|r| r.scenario.group.name() == group)
            .collect();
        let count = |o: Outcome| rows.iter().filter(|r| r.outcome == o).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{group}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
            rows.len(),
            count(Outcome::Fail),
            count(Outcome::Skip),
        );
        for r in rows {
            let name = format!(
                "{} {} {}",
                r.scenario.id,
                sni(r.scenario.sni.as_deref()),
                r.scenario.shape
            );
            let _ = write!(
                out,
                "    <testcase classname=\"misdirect-probe.{group}\" name=\"{}\"",
                xml(&name)
            );
            let detail = format!(
                "expected {}, got {}: {}",
                expected(r),
                r.got,
                r.scenario.label
            );
            match (r.outcome, r.class()) {
                (Outcome::Fail, Some(class)) => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure type=\"{}\" message=\"{}: {}\">{}</failure>\n    </testcase>",
                        class.name(),
                        class.words(),
                        xml(&detail),
                        xml(&detail),
                    );
                }
                (Outcome::Skip, _) => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml(&detail)
                    );
                }
                _ => out.push_str("/>\n"),
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
