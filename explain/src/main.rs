//! `explain`: what misdirect decides for one request, rule by rule (SPEC §5), on a server given
//! by a configuration file or inline SANs and virtual hosts.
//!
//! ```text
//! cargo run -p misdirect-explain -- --san '*.example.com' \
//!     --vhost a=a.example.com --vhost b=b.example.com --sni a.example.com \
//!     https://b.example.com/
//! cargo run -p misdirect-explain -- --config server.toml --sni a.example.com \
//!     --port 443 --http-version 1.1 c.example.org
//! ```
//!
//! With no arguments it prints what misdirect makes of a built-in set of wire hosts and name
//! patterns (the canonical form or the error of each, and which patterns cover which hosts),
//! then a table of decisions on a built-in server: connection, request, verdict and reason.

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
    if std::env::args_os().len() <= 1 {
        hosts_and_patterns();
        println!();
        decisions();
        return;
    }
    // `explain diff OLD.toml NEW.toml`: what a reload from one file to the other changes.
    let words: Vec<String> = std::env::args().skip(1).collect();
    if let [command, old, new] = words.as_slice() {
        if command == "diff" {
            match cli::diff(old.as_ref(), new.as_ref()) {
                Ok(changes) => {
                    println!("{changes}");
                    std::process::exit(i32::from(!changes.is_empty()));
                }
                Err(e) => {
                    eprintln!("explain: {e}");
                    std::process::exit(2);
                }
            }
        }
    }
    let args = cli::Args::parse_args();
    match cli::explain(&args) {
        Ok(served) => std::process::exit(if served { 0 } else { 3 }),
        Err(e) => {
            eprintln!("explain: {e}");
            std::process::exit(2);
        }
    }
}

/// One request explained, from the command line.
mod cli {
    use clap::Parser;
    use misdirect::{
        Authority, CertificateConfig, Config, ConnectionFacts, Handshake, ListenerConfig, Method,
        Request, Rule, Scheme, Server, Target, Version, VhostConfig,
    };

    /// What misdirect decides for one request, rule by rule (SPEC §5). Exit status: 0 served,
    /// 3 refused (421, 400, 404) or not an origin request, 2 bad arguments or configuration.
    #[derive(Parser, Debug)]
    #[command(name = "explain")]
    pub struct Args {
        /// Server configuration (TOML; see the crate's `Config::from_toml`).
        #[arg(long, conflicts_with_all = ["san", "vhost"])]
        config: Option<std::path::PathBuf>,
        /// Inline: a SAN of the certificate presented (repeat for more).
        #[arg(long)]
        san: Vec<String>,
        /// Inline: a virtual host, `name=pattern[,pattern...][@policy]` (repeat for more).
        #[arg(long)]
        vhost: Vec<String>,
        /// The listener (by name) with --config; default: the one on --port with the scheme's
        /// transport.
        #[arg(long)]
        listener: Option<String>,
        /// The certificate presented (by id) with --config; default: the first covering the
        /// SNI, else the first.
        #[arg(long)]
        cert: Option<String>,
        /// The SNI the client sent (TLS only).
        #[arg(long)]
        sni: Option<String>,
        /// The connection's local port; default 443 for https, 80 for http.
        #[arg(long)]
        port: Option<u16>,
        /// The connection's scheme: https (TLS) or http (cleartext); default: the URL's, else
        /// https.
        #[arg(long)]
        scheme: Option<String>,
        /// The request's HTTP version: 1.0, 1.1, 2 or 3.
        #[arg(long, default_value = "2")]
        http_version: String,
        /// A `Host` field line to add (repeat for more).
        #[arg(long)]
        host: Vec<String>,
        /// The method (CONNECT is not an origin request).
        #[arg(long, default_value = "GET")]
        method: String,
        /// The request: an authority (`a.example.com:443`) or a URL (`https://a.example.com/`).
        target: String,
    }

    impl Args {
        pub fn parse_args() -> Args {
            Args::parse()
        }
    }

    type Error = Box<dyn std::error::Error>;

    /// Splits a URL into scheme and authority; an authority stays as it is.
    fn split_target(target: &str) -> (Option<&str>, &str) {
        match target.split_once("://") {
            Some((scheme, rest)) => {
                let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
                (Some(scheme), &rest[..end])
            }
            None => (None, target),
        }
    }

    fn inline_config(args: &Args, tls: bool, port: u16) -> Result<Config<String>, Error> {
        let mut config = Config {
            certificates: vec![CertificateConfig::new("cli", &args.san)],
            ..Config::default()
        };
        for spec in &args.vhost {
            let (name, rest) = spec
                .split_once('=')
                .ok_or_else(|| format!("--vhost {spec:?}: expected name=pattern[,...][@policy]"))?;
            let (patterns, policy) = rest.rsplit_once('@').unwrap_or((rest, "default"));
            let names: Vec<&str> = patterns.split(',').collect();
            let mut vhost = VhostConfig::new(name, &names, policy, name.to_string());
            vhost.http_ports = vec![port];
            vhost.https_ports = if tls && !args.san.is_empty() {
                vec![port]
            } else {
                Vec::new()
            };
            if !config.policies.iter().any(|p| p == policy) {
                config.policies.push(policy.to_string());
            }
            config.vhosts.push(vhost);
        }
        config.listeners = vec![ListenerConfig::new("cli", tls, port)];
        Ok(config)
    }

    /// What a reload from `old` to `new` changes: both files must build, as a reload would
    /// require of `new`.
    pub fn diff(old: &std::path::Path, new: &std::path::Path) -> Result<misdirect::Changes, Error> {
        let read = |path: &std::path::Path| -> Result<Config<String>, Error> {
            let config = Config::<String>::from_toml_file(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Server::build(config.clone()).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(config)
        };
        Ok(misdirect::Changes::between(&read(old)?, &read(new)?))
    }

    /// Prints the rules and the verdict; returns whether the request is served.
    pub fn explain(args: &Args) -> Result<bool, Error> {
        let (url_scheme, authority) = split_target(&args.target);
        let scheme = args.scheme.as_deref().or(url_scheme).unwrap_or("https");
        let tls = match Scheme::parse(scheme.as_bytes()) {
            Some(Scheme::Https) => true,
            Some(Scheme::Http) => false,
            None => return Err(format!("--scheme {scheme:?}: http or https").into()),
        };
        let port = args.port.unwrap_or(if tls { 443 } else { 80 });
        let config = match &args.config {
            Some(path) => Config::<String>::from_toml_file(path)?,
            None => inline_config(args, tls, port)?,
        };
        let server = Server::build(config)?;
        for skipped in server.skipped_sans() {
            println!("note: {skipped}");
        }
        let listener = match &args.listener {
            Some(name) => server
                .listener_id(name)
                .ok_or_else(|| format!("no listener {name:?}"))?,
            // As the probe picks it: the listener on the port, else, without --port, the only
            // one of the transport.
            None => server
                .listener_for(tls, port)
                .or_else(|| {
                    let mut of_transport =
                        server.config().listeners.iter().filter(|l| l.tls == tls);
                    match (args.port, of_transport.next(), of_transport.next()) {
                        (None, Some(only), None) => server.listener_id(&only.name),
                        _ => None,
                    }
                })
                .ok_or_else(|| {
                    format!(
                        "no {} listener on port {port} (use --listener or --port)",
                        if tls { "TLS" } else { "cleartext" }
                    )
                })?,
        };
        let handshake = if tls {
            let sni_host = args
                .sni
                .as_deref()
                .and_then(|s| Authority::parse(s.as_bytes()).ok());
            let certificates = &server.config().certificates;
            let certificate = match &args.cert {
                Some(id) => server
                    .certificate_id(id)
                    .ok_or_else(|| format!("no certificate {id:?}"))?,
                None => {
                    // As the TLS build's resolver picks it: a certificate with the SNI as an
                    // exact SAN before one covering it by a wildcard; among equals, the id that
                    // sorts first.
                    let exact = |c: &CertificateConfig, host: &misdirect::Host| {
                        c.sans.iter().any(|san| {
                            matches!(misdirect::NamePattern::from_san(san),
                                Ok(p @ misdirect::NamePattern::Exact(_)) if p.matches(host))
                        })
                    };
                    let covering = certificates
                        .iter()
                        .filter_map(|c| {
                            let id = server.certificate_id(&c.id)?;
                            let a = sni_host.as_ref()?;
                            server
                                .certificate_covers(id, a.host())
                                .then(|| (!exact(c, a.host()), c.id.clone(), c))
                        })
                        .min_by(|x, y| (x.0, &x.1).cmp(&(y.0, &y.1)))
                        .map(|(.., c)| c);
                    let chosen = covering.or(certificates.first()).ok_or(
                        "a TLS connection needs a certificate (--san or [[certificates]])",
                    )?;
                    server.certificate_id(&chosen.id).ok_or("certificate id")?
                }
            };
            Some(Handshake {
                sni: args.sni.as_deref().map(str::as_bytes),
                certificate,
                policy: server.sni_policy(listener, args.sni.as_deref().map(str::as_bytes)),
            })
        } else {
            None
        };
        let conn = server.connection(&ConnectionFacts {
            listener,
            tls: handshake,
            gateway: None,
        })?;
        let version = match args.http_version.as_str() {
            "1.0" => Version::Http10,
            "1.1" => Version::Http11,
            "2" => Version::Http2,
            "3" => Version::Http3,
            other => return Err(format!("--http-version {other:?}: 1.0, 1.1, 2 or 3").into()),
        };
        let method = if args.method.eq_ignore_ascii_case("CONNECT") {
            Method::Connect
        } else {
            Method::Other
        };
        let h1 = matches!(version, Version::Http10 | Version::Http11);
        let mut hosts: Vec<&[u8]> = args.host.iter().map(|h| h.as_bytes()).collect();
        let authorities: Vec<&[u8]> = if h1 {
            Vec::new()
        } else {
            vec![authority.as_bytes()]
        };
        let target = match (h1, url_scheme, method) {
            (true, _, Method::Connect) => Target::Authority(authority.as_bytes()),
            (true, Some(s), _) => Target::Absolute {
                scheme: s.as_bytes(),
                authority: authority.as_bytes(),
            },
            (true, None, _) => {
                hosts.insert(0, authority.as_bytes());
                Target::Origin
            }
            _ => Target::Origin,
        };
        let request = Request {
            version,
            method,
            scheme: (!h1).then_some(scheme.as_bytes()),
            authorities: &authorities,
            hosts: &hosts,
            target,
        };

        println!(
            "connection: listener {:?}, {}",
            server.listener_name(listener).unwrap_or("?"),
            match (&handshake, conn.sni()) {
                (Some(h), Some(sni)) => format!(
                    "TLS, {sni}, certificate {:?}, policy {}",
                    server.certificate_name(h.certificate).unwrap_or("?"),
                    h.policy
                        .and_then(|p| server.policy_name(p))
                        .unwrap_or("none (no virtual host for the SNI, no default_tls_vhost)")
                ),
                _ => "cleartext".to_string(),
            }
        );
        println!(
            "request:    {version:?} {} {}{}",
            args.method,
            args.target,
            if args.host.is_empty() {
                String::new()
            } else {
                format!(" Host: {}", args.host.join(", "))
            }
        );
        let outcome = server.choose(&conn, &request);
        let fired = outcome.as_ref().err().map(|r| r.rule);
        let parsed = Authority::parse(authority.as_bytes());
        let host = parsed
            .as_ref()
            .map_or_else(|e| format!("(invalid: {e})"), |a| a.host().to_string());
        const RULES: [Rule; 8] = [
            Rule::Connection,
            Rule::NotOrigin,
            Rule::Framing,
            Rule::Scheme,
            Rule::Port,
            Rule::Certificate,
            Rule::VirtualHost,
            Rule::Sni,
        ];
        for rule in RULES {
            let line = match fired {
                Some(f) if rule == f => {
                    let reason = outcome
                        .as_ref()
                        .err()
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    format!("FIRES   {reason}")
                }
                Some(f) if rule > f => "not reached".to_string(),
                _ => format!(
                    "passes  {}",
                    passing(rule, &server, &conn, handshake.as_ref(), &host, tls)
                ),
            };
            println!("rule {} {:<22} {line}", rule.number(), rule.name());
        }
        match outcome {
            Ok(vhost) => {
                println!(
                    "verdict:    serve, virtual host {:?}",
                    server.config().vhosts[vhost as usize].name
                );
                Ok(true)
            }
            Err(reason) => {
                println!("verdict:    {reason}");
                Ok(false)
            }
        }
    }

    fn passing<T>(
        rule: Rule,
        server: &Server<T>,
        conn: &misdirect::Connection,
        handshake: Option<&Handshake<'_>>,
        host: &str,
        tls: bool,
    ) -> String {
        match rule {
            Rule::NotOrigin => "not CONNECT: an origin request".into(),
            Rule::Framing => format!("one authority, canonical host {host}"),
            Rule::Scheme => format!(
                "scheme matches the {} connection",
                if tls { "TLS" } else { "cleartext" }
            ),
            Rule::Port => "the port is one of the connection's origin ports".into(),
            Rule::Certificate => match handshake {
                Some(h) => format!(
                    "certificate {:?} covers {host}",
                    server.certificate_name(h.certificate).unwrap_or("?")
                ),
                None => "cleartext: no certificate to check".into(),
            },
            Rule::VirtualHost => "a virtual host serves the host on this scheme and port".into(),
            Rule::Sni => match conn.sni() {
                Some(sni) => format!("{sni}: policy {:?} allows it", server.config().knobs.sni),
                None => "cleartext: no SNI".into(),
            },
            Rule::Connection => "the connection was made by this build of the server".into(),
        }
    }
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
