//! One whole decision to make: a configuration, a connection's facts and a request, with plain
//! accessors for a user's own server and misdirect's types for an adapter around misdirect.

use core::fmt::{self, Write as _};
use std::sync::Arc;

use misdirect::{
    CertificateConfig, Config, ConnectionFacts, Handshake, ListenerConfig, Method, Request, San,
    Server, SniPolicy, Target, UnknownHost, Version, VhostConfig, WireUnicode,
};
use self_cell::self_cell;

use crate::owned::{OwnedConnection, OwnedRequest, OwnedTarget, POLICIES};

/// The request's field lists, borrowed from the owned request beside them.
#[derive(Debug)]
struct Lists<'a> {
    authorities: Vec<&'a [u8]>,
    hosts: Vec<&'a [u8]>,
}

self_cell!(
    struct RequestCell {
        owner: OwnedRequest,
        #[covariant]
        dependent: Lists,
    }
    impl {Debug}
);

fn cell(request: OwnedRequest) -> RequestCell {
    RequestCell::new(request, |r| Lists {
        authorities: r.authorities.iter().map(Vec::as_slice).collect(),
        hosts: r.hosts.iter().map(Vec::as_slice).collect(),
    })
}

/// A configuration, a connection on one of its listeners, and a request on that connection:
/// what `check_decider` hands the decider under test.
///
/// For a server of your own, read it with the plain accessors ([`config`](Case::config),
/// [`listener`](Case::listener), [`sni`](Case::sni), [`certificate`](Case::certificate),
/// [`policy`](Case::policy), [`version`](Case::version), [`scheme`](Case::scheme),
/// [`authorities`](Case::authorities), [`hosts`](Case::hosts), [`target`](Case::target)). For
/// an adapter around misdirect, build a `Server` from [`config`](Case::config) once and use
/// [`facts`](Case::facts) and [`request`](Case::request).
///
/// Its `Display` is a TOML configuration that `misdirect::Config::from_toml` reads back, with
/// the connection and the request as comments below it, so that a divergence reproduces
/// outside the test (for example with `misdirect-explain`).
///
/// The configuration has two listeners (`tls`, TLS on 443, and `clear`, cleartext on 80),
/// virtual hosts `v0`, `v1`, ... whose value is their name, certificates `c0`, `c1`, ...,
/// and the TLS policies `public`, `mtls` and `legacy`.
#[derive(Debug)]
pub struct Case {
    config: Config<String>,
    server: Arc<Server<String>>,
    listener: String,
    sni: Option<Vec<u8>>,
    certificate: Option<String>,
    policy: Option<String>,
    request: RequestCell,
}

impl Clone for Case {
    fn clone(&self) -> Self {
        Case {
            config: self.config.clone(),
            server: Arc::clone(&self.server),
            listener: self.listener.clone(),
            sni: self.sni.clone(),
            certificate: self.certificate.clone(),
            policy: self.policy.clone(),
            request: cell(self.request.borrow_owner().clone()),
        }
    }
}

/// The configuration with each virtual host's value its name, without the SANs a TOML SAN
/// list cannot hold as they are (a dNSName whose text is an address: TOML's SAN lists read
/// address text as an iPAddress SAN), and without the virtual host ports no listener receives
/// (which the TOML loader refuses; no request can reach them, rule 3 refuses it first).
fn named(config: &Config<usize>) -> Config<String> {
    let received = |tls: bool| -> Vec<u16> {
        config
            .listeners
            .iter()
            .filter(|l| l.tls == tls || (!tls && l.tls && config.knobs.opportunistic_http))
            .flat_map(|l| l.effective_origin_ports().to_vec())
            .collect()
    };
    let (https, http) = (received(true), received(false));
    let kept = |ports: &[u16], received: &[u16]| -> Vec<u16> {
        ports
            .iter()
            .copied()
            .filter(|p| received.contains(p))
            .collect()
    };
    Config {
        listeners: config.listeners.clone(),
        vhosts: config
            .vhosts
            .iter()
            .map(|v| VhostConfig {
                name: v.name.clone(),
                names: v.names.clone(),
                http_ports: kept(&v.http_ports, &http),
                https_ports: kept(&v.https_ports, &https),
                policy: v.policy.clone(),
                value: v.name.clone(),
            })
            .collect(),
        certificates: config
            .certificates
            .iter()
            .map(|c| CertificateConfig {
                id: c.id.clone(),
                sans: c
                    .sans
                    .iter()
                    .filter(|san| match san {
                        San::Dns(bytes) => matches!(San::from_text(bytes), San::Dns(_)),
                        San::Ip(_) => true,
                    })
                    .cloned()
                    .collect(),
            })
            .collect(),
        policies: config.policies.clone(),
        knobs: config.knobs.clone(),
    }
}

impl Case {
    /// A case from a generated server and owned facts: the listener and certificate are found
    /// by position, the policy by [`POLICIES`] (or, when the facts name none, the policy the
    /// TLS layer applies to that SNI, as `Server::sni_policy` says), and a gateway is dropped
    /// (a case has none). A CONNECT without `:protocol` becomes an ordinary method: a case is
    /// always an origin request (HTTP/1.x has no `:protocol`, so there an extended CONNECT
    /// becomes one too). `None` when the configuration, made TOML-faithful, no longer builds
    /// or no longer reads back from its TOML.
    #[must_use]
    pub fn from_owned(
        server: &Server<usize>,
        connection: &OwnedConnection,
        mut request: OwnedRequest,
    ) -> Option<Case> {
        let config = named(server.config());
        let built = Arc::new(Server::build(config.clone()).ok()?);
        // What the loader would refuse (a TLS listener no virtual host serves) is no case: a
        // case must reproduce from its printed configuration.
        let probe = Case {
            config: config.clone(),
            server: Arc::clone(&built),
            listener: String::new(),
            sni: None,
            certificate: None,
            policy: None,
            request: cell(request.clone()),
        };
        let printed = ConfigText(&probe).to_string();
        if Config::<String>::from_toml(&printed, std::path::Path::new(".")).ok()? != config {
            return None;
        }
        let listener = config.listeners.get(connection.listener)?.clone();
        let listener_id = built.listener_id(&listener.name)?;
        let h1 = matches!(request.version, Version::Http10 | Version::Http11);
        if request.method == Method::Connect || (h1 && request.method == Method::ExtendedConnect) {
            request.method = Method::Other;
        }
        let (sni, certificate, policy) = if listener.tls {
            let certificate = config.certificates
                [connection.certificate % config.certificates.len()]
            .id
            .clone();
            let policy = match connection.policy {
                Some(p) => Some(POLICIES[p % POLICIES.len()].to_string()),
                None => built
                    .sni_policy(listener_id, connection.sni.as_deref())
                    .and_then(|id| built.policy_name(id))
                    .map(String::from),
            };
            (connection.sni.clone(), Some(certificate), policy)
        } else {
            (None, None, None)
        };
        Some(Case {
            config,
            server: built,
            listener: listener.name,
            sni,
            certificate,
            policy,
            request: cell(request),
        })
    }

    /// The configuration (each virtual host's value is its name).
    #[must_use]
    pub fn config(&self) -> &Config<String> {
        &self.config
    }

    /// The listener the connection came in on.
    ///
    /// # Panics
    /// Never: a case's listener is one of its configuration's.
    #[must_use]
    pub fn listener(&self) -> &ListenerConfig {
        self.config
            .listeners
            .iter()
            .find(|l| l.name == self.listener)
            .expect("a case's listener is in its configuration")
    }

    /// Whether the connection is TLS.
    #[must_use]
    pub fn tls(&self) -> bool {
        self.listener().tls
    }

    /// The SNI the handshake carried, as the client sent it (any bytes); `None` on cleartext
    /// or when the client sent none.
    #[must_use]
    pub fn sni(&self) -> Option<&[u8]> {
        self.sni.as_deref()
    }

    /// The certificate the handshake presented; `None` on cleartext.
    #[must_use]
    pub fn certificate(&self) -> Option<&CertificateConfig> {
        let id = self.certificate.as_ref()?;
        self.config.certificates.iter().find(|c| &c.id == id)
    }

    /// The TLS policy the handshake was made under (for a resumed session, the original
    /// handshake's); `None` on cleartext, or for a handshake no policy applied to.
    #[must_use]
    pub fn policy(&self) -> Option<&str> {
        self.policy.as_deref()
    }

    fn owned(&self) -> &OwnedRequest {
        self.request.borrow_owner()
    }

    /// The request's HTTP version.
    #[must_use]
    pub fn version(&self) -> Version {
        self.owned().version
    }

    /// The method class (a case never holds a CONNECT without `:protocol`).
    #[must_use]
    pub fn method(&self) -> Method {
        self.owned().method
    }

    /// `:scheme` (HTTP/2 and HTTP/3), raw.
    #[must_use]
    pub fn scheme(&self) -> Option<&[u8]> {
        self.owned().scheme.as_deref()
    }

    /// Every `:authority` (HTTP/2 and HTTP/3), raw, in order.
    #[must_use]
    pub fn authorities(&self) -> &[Vec<u8>] {
        &self.owned().authorities
    }

    /// Every `Host` field line, raw, in order.
    #[must_use]
    pub fn hosts(&self) -> &[Vec<u8>] {
        &self.owned().hosts
    }

    /// The request-target form (HTTP/1.x; origin-form for HTTP/2 and HTTP/3).
    #[must_use]
    pub fn target(&self) -> &OwnedTarget {
        &self.owned().target
    }

    /// The request as misdirect takes it.
    #[must_use]
    pub fn request(&self) -> Request<'_> {
        let owned = self.owned();
        let lists = self.request.borrow_dependent();
        Request {
            version: owned.version,
            method: owned.method,
            scheme: owned.scheme.as_deref(),
            authorities: &lists.authorities,
            hosts: &lists.hosts,
            target: match &owned.target {
                OwnedTarget::Origin => Target::Origin,
                OwnedTarget::Absolute(scheme, authority) => Target::Absolute { scheme, authority },
                OwnedTarget::Authority(authority) => Target::Authority(authority),
                OwnedTarget::Asterisk => Target::Asterisk,
            },
        }
    }

    /// The request with every authority-carrying field (`:authority`, `Host`, an absolute- or
    /// authority-form target's authority) rewritten by `f`, or `None` when `f` refuses one: a
    /// reading of the request (decoded, normalized, a planted bug's view of it), to decide
    /// with [`OwnedRequest::with`].
    pub fn rewritten(&self, mut f: impl FnMut(&[u8]) -> Option<Vec<u8>>) -> Option<OwnedRequest> {
        let mut request = self.owned().clone();
        for field in request
            .authorities
            .iter_mut()
            .chain(request.hosts.iter_mut())
        {
            *field = f(field)?;
        }
        if let OwnedTarget::Absolute(_, authority) | OwnedTarget::Authority(authority) =
            &mut request.target
        {
            *authority = f(authority)?;
        }
        Some(request)
    }

    /// The connection's facts with `server`'s ids; `server` must have been built from
    /// [`config`](Case::config) (or a configuration with the same names).
    ///
    /// # Panics
    /// If `server` lacks the case's listener, certificate or policy.
    #[must_use]
    pub fn facts<T>(&self, server: &Server<T>) -> ConnectionFacts<'_> {
        let listener = server
            .listener_id(&self.listener)
            .expect("the server has the case's listener: build it from case.config()");
        let tls = self.certificate.as_ref().map(|certificate| Handshake {
            sni: self.sni.as_deref(),
            certificate: server
                .certificate_id(certificate)
                .expect("the server has the case's certificate: build it from case.config()"),
            policy: self.policy.as_ref().map(|p| {
                server
                    .policy_id(p)
                    .expect("the server has the case's policy: build it from case.config()")
            }),
        });
        ConnectionFacts {
            listener,
            tls,
            gateway: None,
        }
    }

    /// The server the kit built from [`config`](Case::config), which the model's reasons are
    /// read from.
    #[must_use]
    pub fn server(&self) -> &Server<String> {
        &self.server
    }
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn quoted_list<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<String> = items.iter().map(|s| quoted(s.as_ref())).collect();
    format!("[{}]", items.join(", "))
}

/// Bytes for a comment line: printable ASCII as it is, anything else as `\xNN`.
pub(crate) fn escaped(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    out
}

fn san_text(san: &San) -> String {
    match san {
        San::Dns(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        San::Ip(addr) => addr.to_string(),
    }
}

fn ports(list: &[u16]) -> String {
    let items: Vec<String> = list.iter().map(u16::to_string).collect();
    format!("[{}]", items.join(", "))
}

fn version_name(version: Version) -> &'static str {
    match version {
        Version::Http10 => "HTTP/1.0",
        Version::Http11 => "HTTP/1.1",
        Version::Http2 => "HTTP/2",
        Version::Http3 => "HTTP/3",
    }
}

/// The configuration part of a case's `Display`.
struct ConfigText<'a>(&'a Case);

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", ConfigText(self))?;
        self.fmt_connection(f)
    }
}

impl fmt::Display for ConfigText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = &self.0.config;
        writeln!(f, "policies = {}", quoted_list(&config.policies))?;
        let knobs = &config.knobs;
        writeln!(f, "\n[knobs]")?;
        let sni = match knobs.sni {
            SniPolicy::Strict => "strict",
            SniPolicy::SameVhost => "same-vhost",
            SniPolicy::CertCovered => "cert-covered",
            SniPolicy::Compatible => "compatible",
            SniPolicy::Insecure => "insecure",
            _ => "a value this version of the kit cannot print",
        };
        writeln!(f, "sni = {}", quoted(sni))?;
        match &knobs.unknown_host {
            UnknownHost::Misdirected => writeln!(f, "unknown_host = \"misdirected\"")?,
            UnknownHost::NotFound => writeln!(f, "unknown_host = \"not-found\"")?,
            UnknownHost::Fallback(v) => {
                writeln!(f, "unknown_host = {{ fallback = {} }}", quoted(v))?
            }
            _ => writeln!(
                f,
                "unknown_host = \"a value this version of the kit cannot print\""
            )?,
        }
        writeln!(
            f,
            "strict_host_consistency = {}",
            knobs.strict_host_consistency
        )?;
        writeln!(f, "opportunistic_http = {}", knobs.opportunistic_http)?;
        writeln!(f, "http10_default_vhost = {}", knobs.http10_default_vhost)?;
        let unicode = match knobs.wire_unicode {
            WireUnicode::Reject => "reject",
            WireUnicode::Convert => "convert",
            _ => "a value this version of the kit cannot print",
        };
        writeln!(f, "wire_unicode = {}", quoted(unicode))?;
        for l in &config.listeners {
            writeln!(
                f,
                "\n[[listeners]]\nname = {}\ntls = {}\nport = {}",
                quoted(&l.name),
                l.tls,
                l.port
            )?;
            if !l.origin_ports.is_empty() {
                writeln!(f, "origin_ports = {}", ports(&l.origin_ports))?;
            }
            for (key, value) in [
                ("default_vhost", &l.default_vhost),
                ("default_tls_vhost", &l.default_tls_vhost),
                ("fallback", &l.fallback),
            ] {
                if let Some(value) = value {
                    writeln!(f, "{key} = {}", quoted(value))?;
                }
            }
        }
        for c in &config.certificates {
            let sans: Vec<String> = c.sans.iter().map(san_text).collect();
            writeln!(
                f,
                "\n[[certificates]]\nid = {}\nsans = {}",
                quoted(&c.id),
                quoted_list(&sans)
            )?;
        }
        for v in &config.vhosts {
            writeln!(
                f,
                "\n[[vhosts]]\nname = {}\nnames = {}\nhttps_ports = {}\nhttp_ports = {}\npolicy = {}\nvalue = {}",
                quoted(&v.name),
                quoted_list(&v.names),
                ports(&v.https_ports),
                ports(&v.http_ports),
                quoted(&v.policy),
                quoted(&v.value)
            )?;
        }
        Ok(())
    }
}

impl Case {
    fn fmt_connection(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let listener = self.listener();
        writeln!(
            f,
            "\n# connection: listener {} ({}, port {})",
            escaped(listener.name.as_bytes()),
            if listener.tls { "TLS" } else { "cleartext" },
            listener.port
        )?;
        if listener.tls {
            let sni = self.sni.as_deref().map_or("none".to_string(), escaped);
            writeln!(f, "#   sni: {sni}")?;
            let name = |n: Option<&str>| n.map_or("none".to_string(), |n| escaped(n.as_bytes()));
            writeln!(f, "#   certificate: {}", name(self.certificate.as_deref()))?;
            writeln!(f, "#   policy: {}", name(self.policy.as_deref()))?;
        }
        let request = self.owned();
        let method = match request.method {
            Method::Connect => "CONNECT",
            Method::ExtendedConnect => "CONNECT with :protocol",
            Method::Other => "GET",
        };
        writeln!(f, "# request: {} {method}", version_name(request.version))?;
        if let Some(scheme) = &request.scheme {
            writeln!(f, "#   :scheme: {}", escaped(scheme))?;
        }
        for a in &request.authorities {
            writeln!(f, "#   :authority: {}", escaped(a))?;
        }
        for h in &request.hosts {
            writeln!(f, "#   Host: {}", escaped(h))?;
        }
        match &request.target {
            OwnedTarget::Origin => writeln!(f, "#   target: origin-form /"),
            OwnedTarget::Absolute(s, a) => {
                writeln!(
                    f,
                    "#   target: absolute-form, scheme {} authority {}",
                    escaped(s),
                    escaped(a)
                )
            }
            OwnedTarget::Authority(a) => writeln!(f, "#   target: authority-form {}", escaped(a)),
            OwnedTarget::Asterisk => writeln!(f, "#   target: asterisk-form *"),
        }
    }
}
