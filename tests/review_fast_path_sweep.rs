//! Review (checked, sound): the fast path against the model over case, trailing-dot and port
//! variants of exact names shadowed by a wildcard of another policy, on two ports, in every
//! request shape that reaches the fast path (HTTP/2 `:authority`, HTTP/1.1 `Host`, HTTP/1.1
//! absolute-form). Passing is the expected result.
#![cfg(feature = "model")]

use misdirect::{
    CertificateConfig, Config, ConnectionFacts, Handshake, ListenerConfig, Method, Request, Server,
    Target, Verdict, Version, VhostConfig, model,
};

fn long(len: usize, suffix: &str) -> String {
    let mut body = "q".repeat(len - suffix.len());
    for at in (63..body.len()).step_by(64) {
        body.replace_range(at..=at, ".");
    }
    if body.ends_with('.') {
        body.pop();
        body.push('q');
    }
    format!("{body}{suffix}")
}

#[test]
fn fast_path_variants_agree_with_the_model() {
    let mut checked = 0;
    for len in [16, 63, 64, 65, 127, 128, 129, 200, 252, 253] {
        let name = long(len, ".example.com");
        assert_eq!(name.len(), len);
        let mut exact443 = VhostConfig::new("exact443", &[name.as_str()], "mtls", "exact443");
        exact443.https_ports = vec![443];
        let mut exact8443 = VhostConfig::new("exact8443", &[name.as_str()], "mtls", "exact8443");
        exact8443.https_ports = vec![8443];
        let mut wild = VhostConfig::new("wild", &["*.example.com"], "public", "wild");
        wild.https_ports = vec![443, 8443];
        let mut listener = ListenerConfig::new("tls", true, 443);
        listener.origin_ports = vec![443, 8443];
        let server = Server::build(Config {
            policies: vec!["public".into(), "mtls".into()],
            certificates: vec![CertificateConfig::new("edge", &["*.example.com", &name])],
            vhosts: vec![exact443, exact8443, wild],
            listeners: vec![listener],
            ..Config::default()
        })
        .unwrap();
        let host_variants = {
            let mut v = vec![name.clone(), name.to_ascii_uppercase()];
            for i in [0, len / 2, len - 1] {
                let mut s = name.clone().into_bytes();
                s[i] = s[i].to_ascii_uppercase();
                v.push(String::from_utf8(s).unwrap());
            }
            let dotted: Vec<String> = v.iter().map(|h| format!("{h}.")).collect();
            v.extend(dotted);
            v.push(format!("{name}.."));
            v
        };
        let ports = [
            "", ":", ":443", ":0443", ":00443", ":000443", ":8443", ":08443", ":80",
        ];
        for policy in ["public", "mtls"] {
            let facts = ConnectionFacts {
                listener: server.listener_id("tls").unwrap(),
                tls: Some(Handshake {
                    sni: Some(b"www.example.com"),
                    certificate: server.certificate_id("edge").unwrap(),
                    policy: server.policy_id(policy),
                }),
                gateway: None,
            };
            let conn = server.connection(&facts).unwrap();
            for host in &host_variants {
                for port in ports {
                    let authority = format!("{host}{port}");
                    let one = [authority.as_bytes()];
                    let requests = [
                        Request {
                            version: Version::Http2,
                            method: Method::Other,
                            scheme: Some(b"https"),
                            authorities: &one,
                            hosts: &[],
                            target: Target::Origin,
                        },
                        Request {
                            version: Version::Http11,
                            method: Method::Other,
                            scheme: None,
                            authorities: &[],
                            hosts: &one,
                            target: Target::Origin,
                        },
                        Request {
                            version: Version::Http11,
                            method: Method::Other,
                            scheme: None,
                            authorities: &[],
                            hosts: &one,
                            target: Target::Absolute {
                                scheme: b"HTTPS",
                                authority: authority.as_bytes(),
                            },
                        },
                    ];
                    for request in requests {
                        let verdict = server.decide(&conn, &request);
                        let outcome = model::decide(server.config(), &facts, &request).unwrap();
                        let engine = match &verdict {
                            Verdict::Serve(v) => Ok(**v),
                            other => Err(other.reason().map(|r| r.rule)),
                        };
                        let model = match outcome.vhost {
                            Some(v) => Ok(server.config().vhosts[v].value),
                            None => Err(outcome.rule),
                        };
                        assert_eq!(engine, model, "{policy} {authority} {request:?}");
                        checked += 1;
                    }
                }
            }
        }
    }
    println!("{checked} decisions agree");
}
