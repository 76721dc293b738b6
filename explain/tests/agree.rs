//! `explain` reads SPEC §4's one rule for a handshake's policy (`Server::sni_policy`), as the
//! acceptors and the probe do (probe/tests/client_auth.rs runs the probe against an acceptor):
//! for each SNI the probe's scenarios use, with and without `default_tls_vhost`, the policy
//! the binary reports is the rule's.

use std::process::Command;

use misdirect::{Config, Server};

const SITE: &str = r#"
[[policies]]
name = "public"
client_auth = "none"

[[policies]]
name = "mtls"
client_auth = "required"
client_cas = ["partner-ca.pem"]

[[listeners]]
name = "tls"
tls = true
port = 8443
DEFAULT

[[certificates]]
id = "edge"
sans = ["*.example.test"]

[[vhosts]]
name = "www"
names = ["www.example.test"]
https_ports = [8443]
policy = "public"

[[vhosts]]
name = "admin"
names = ["admin.example.test"]
https_ports = [8443]
policy = "mtls"
"#;

#[test]
fn explain_reports_the_rules_policy_for_every_sni() {
    let dir = std::env::temp_dir().join(format!("misdirect-explain-agree-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for default in [false, true] {
        let text = SITE.replace(
            "DEFAULT",
            if default {
                "default_tls_vhost = \"www\""
            } else {
                ""
            },
        );
        let path = dir.join("site.toml");
        std::fs::write(&path, &text).unwrap();
        let server = Server::build(Config::<String>::from_toml_file(&path).unwrap()).unwrap();
        let listener = server.listener_id("tls").unwrap();
        for sni in [
            None,
            Some("www.example.test"),
            Some("WWW.Example.Test."),
            Some("admin.example.test"),
            Some("probe-unknown.example.test"),
        ] {
            let rule = server
                .sni_policy(listener, sni.map(str::as_bytes))
                .and_then(|p| server.policy_name(p))
                .unwrap_or("none");
            let mut command = Command::new(env!("CARGO_BIN_EXE_misdirect-explain"));
            command.arg("--config").arg(&path);
            if let Some(sni) = sni {
                command.args(["--sni", sni]);
            }
            // No --port: explain picks the only TLS listener, as the probe does.
            let output = command
                .arg("https://www.example.test:8443/")
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            let line = stdout
                .lines()
                .find(|l| l.starts_with("connection:"))
                .unwrap_or_else(|| {
                    panic!(
                        "no connection line: {stdout}{}",
                        String::from_utf8_lossy(&output.stderr)
                    )
                });
            let policy = line.split(", policy ").nth(1).unwrap_or("?");
            assert!(
                policy.split(' ').next() == Some(rule),
                "default_tls_vhost {default}, SNI {sni:?}: explain says {line:?}, the rule {rule:?}"
            );
            // Served exactly when the handshake's policy is www's.
            assert_eq!(
                output.status.code(),
                Some(if rule == "public" { 0 } else { 3 }),
                "{stdout}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
