//! Prints what misdirect makes of a built-in set of wire hosts and name patterns (the canonical
//! form or the error of each, and which patterns cover which hosts), then a table of decisions
//! on a built-in server: connection, request, verdict and reason.
//!
//! Run it with `cargo run --example explain`.

use misdirect::{
    Authority, CertificateConfig, Config, ConnectionFacts, Gateway, Handshake, ListenerConfig,
    Method, NameIndex, NamePattern, Request, Server, Target, Verdict, Version, VhostConfig,
    WireUnicode,
};

/// Wire authorities as clients send them, good and bad.
const HOSTS: &[&str] = &[
    "api.example.com:443",
    "API.Example.COM.",
    "www.example.com:0443",
    "a.b.example.com",
    "example.com",
    "xn--bcher-kva.example",
    "bücher.example",
    "secure.example.com.evil",
    "192.0.2.1:8443",
    "[2001:DB8::1]",
    "[::ffff:192.0.2.1]",
    "0x7f.1",
    "1.2.3",
    "example.com..",
    "user@example.com",
    "[::1%25eth0]",
    "example.com:0",
    "exa\0mple.com",
];

/// Names as they appear in configuration or certificates, good and bad.
const PATTERNS: &[&str] = &[
    "*.example.com",
    "example.com",
    "api.example.com",
    "bücher.example",
    "192.0.2.1",
    "2001:db8::1",
    "*.com",
    "f*.example.com",
    "*.*.example.com",
    "*.co.uk",
    "example.com.",
    "-bad.example.com",
    "xn--abc.example",
];

fn main() {
    hosts_and_patterns();
    println!();
    decisions();
}

fn hosts_and_patterns() {
    println!("Wire authorities (SPEC §2), default policy: raw Unicode refused");
    println!("{:<28} {:<26} port / error", "input", "canonical host");
    for input in HOSTS {
        let shown = input.escape_debug().to_string();
        match Authority::parse(input.as_bytes()) {
            Ok(a) => println!(
                "{shown:<28} {:<26} {}",
                a.host().to_string(),
                a.port().map_or("default".to_string(), |p| p.to_string())
            ),
            Err(e) => println!("{shown:<28} {:<26} {e}", "-"),
        }
    }
    if let Ok(a) = Authority::parse_with("bücher.example".as_bytes(), WireUnicode::Convert) {
        println!(
            "(with WireUnicode::Convert, bücher.example is {})",
            a.host()
        );
    }

    println!();
    println!("Name patterns (SPEC §3), from configuration");
    let mut valid = Vec::new();
    for text in PATTERNS {
        match NamePattern::parse(text) {
            Ok(p) => {
                println!("{text:<20} -> {p}");
                valid.push(p);
            }
            Err(e) => println!("{text:<20} refused: {e}"),
        }
    }

    println!();
    println!("Which valid pattern covers each valid host (exact before wildcard)");
    let index = match NameIndex::build(valid.iter().cloned().map(|p| {
        let text = p.to_string();
        (p, text)
    })) {
        Ok(index) => index,
        Err(e) => {
            eprintln!("index: {e}");
            std::process::exit(1);
        }
    };
    for input in HOSTS {
        let Ok(a) = Authority::parse(input.as_bytes()) else {
            continue;
        };
        let covering: Vec<String> = valid
            .iter()
            .filter(|p| p.matches(a.host()))
            .map(ToString::to_string)
            .collect();
        let best = index
            .lookup(a.host())
            .map_or("none (421 under TLS)".to_string(), |hit| {
                format!("{} ({:?})", hit.value, hit.kind)
            });
        println!(
            "{:<26} best: {best:<34} all: {}",
            a.host().to_string(),
            if covering.is_empty() {
                "-".to_string()
            } else {
                covering.join(", ")
            }
        );
    }
}

/// The built-in server: two certificates, a wildcard, an mTLS virtual host, an Alt-Svc listener.
fn server() -> Server<&'static str> {
    let mut a = VhostConfig::new("a", &["a.example.com"], "public", "site a");
    a.http_ports = vec![80];
    let mut tls = ListenerConfig::new("tls", true, 443);
    tls.default_tls_vhost = Some("a".into());
    let mut alt = ListenerConfig::new("alt-svc", true, 8443);
    alt.origin_ports = vec![443];
    let config = Config {
        policies: vec!["public".into(), "mtls".into()],
        certificates: vec![
            CertificateConfig::new("wild", &["*.example.com", "example.com"]),
            CertificateConfig::new("admin", &["admin.example.net"]),
        ],
        vhosts: vec![
            a,
            VhostConfig::new("b", &["b.example.com"], "public", "site b"),
            VhostConfig::new("star", &["*.example.com"], "public", "wildcard site"),
            VhostConfig::new(
                "secure",
                &["secure.example.com"],
                "mtls",
                "client-cert site",
            ),
            VhostConfig::new("admin", &["admin.example.net"], "mtls", "admin site"),
        ],
        listeners: vec![tls, alt, ListenerConfig::new("clear", false, 80)],
        ..Config::default()
    };
    match Server::build(config) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("built-in server: {e}");
            std::process::exit(1);
        }
    }
}

fn decisions() {
    let server = server();
    let id = |name: &str| server.certificate_id(name).expect("built-in certificate");
    let public = server.policy_id("public");
    let listener = |name: &str| server.listener_id(name).expect("built-in listener");
    let tls = |sni: &'static [u8], cert: &str| ConnectionFacts {
        listener: listener("tls"),
        tls: Some(Handshake {
            sni: Some(sni),
            certificate: id(cert),
            policy: public,
        }),
        gateway: None,
    };
    let a = tls(b"a.example.com", "wild");
    let alt = ConnectionFacts {
        listener: listener("alt-svc"),
        ..a
    };
    let clear = ConnectionFacts {
        listener: listener("clear"),
        tls: None,
        gateway: None,
    };
    let gateway = ConnectionFacts {
        gateway: Some(Gateway {
            port: 443,
            tls: Some(Handshake {
                sni: Some(b"a.example.com"),
                certificate: id("wild"),
                policy: public,
            }),
        }),
        ..clear
    };
    let h2 = |authority: &'static [u8]| {
        (
            Version::Http2,
            Method::Other,
            Some(&b"https"[..]),
            authority,
            &b""[..],
        )
    };
    let h1 = |host: &'static [u8]| (Version::Http11, Method::Other, None, &b""[..], host);
    type Row<'a> = (
        &'a str,
        ConnectionFacts<'a>,
        (Version, Method, Option<&'a [u8]>, &'a [u8], &'a [u8]),
    );
    let rows: Vec<Row<'_>> = vec![
        ("SNI a, cert wild, policy public", a, h2(b"a.example.com")),
        ("same connection, coalesced", a, h2(b"b.example.com")),
        ("same connection, wildcard vhost", a, h2(b"C.Example.com.")),
        ("same connection, mTLS vhost", a, h2(b"secure.example.com")),
        (
            "same connection, other cert's host",
            a,
            h2(b"admin.example.net"),
        ),
        ("same connection, two labels", a, h2(b"x.y.example.com")),
        ("same connection, port 8443", a, h2(b"a.example.com:8443")),
        ("Alt-Svc listener 8443 for :443", alt, h2(b"a.example.com")),
        ("cleartext, https", clear, h2(b"a.example.com")),
        ("cleartext, Host a", clear, h1(b"a.example.com")),
        ("trusted gateway (TLS, 443)", gateway, h1(b"b.example.com")),
        ("HTTP/1.1 Host with userinfo", a, h1(b"a@b.example.com")),
        ("HTTP/1.1 Host 0x7f.1", clear, h1(b"0x7f.1")),
    ];
    println!("Decisions on the built-in server (SPEC §5; sni policy Compatible)");
    for (what, facts, (version, method, scheme, authority, host)) in rows {
        let authorities: &[&[u8]] = if authority.is_empty() {
            &[]
        } else {
            &[authority]
        };
        let hosts: &[&[u8]] = if host.is_empty() { &[] } else { &[host] };
        let request = Request {
            version,
            method,
            scheme,
            authorities,
            hosts,
            target: Target::Origin,
        };
        let field = String::from_utf8_lossy(if authority.is_empty() {
            host
        } else {
            authority
        })
        .into_owned();
        let conn = match server.connection(&facts) {
            Ok(conn) => conn,
            Err(e) => {
                println!("{what:<36} facts refused: {e}");
                continue;
            }
        };
        let outcome = match server.decide(&conn, &request) {
            Verdict::Serve(value) => format!("serve {value}"),
            other => other.reason().map(ToString::to_string).unwrap_or_default(),
        };
        println!(
            "{what:<36} {:<8} {field:<22} {outcome}",
            format!("{version:?}")
        );
    }
    let conn = server.connection(&a).expect("built-in facts");
    println!();
    println!(
        "ORIGIN frame for the SNI-a connection (RFC 8336): {}",
        server.origins(&conn).join(" ")
    );
}
