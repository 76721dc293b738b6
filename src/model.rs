//! The reference model: SPEC §2-§3 written as plainly as possible, with strings, vectors of
//! labels and linear scans. It is slow on purpose and shares no parsing or matching code with
//! the engine; only the call into the idna crate for UTS #46 (which both must make, with the
//! same flags) is common. Property tests and fuzz targets hold the engine equal to it.
//!
//! If code here looks clever, it is no longer a model.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A host as the model sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// A DNS name: lowercase ASCII, no trailing dot.
    Dns(String),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address.
    Ipv6(Ipv6Addr),
}

impl Host {
    /// The canonical text: the name, the dotted quad, or the IPv6 text in brackets.
    #[must_use]
    pub fn canonical(&self) -> String {
        match self {
            Host::Dns(name) => name.clone(),
            Host::Ipv4(addr) => addr.to_string(),
            Host::Ipv6(addr) => format!("[{addr}]"),
        }
    }
}

/// A name pattern as the model sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// An exact name.
    Exact(String),
    /// `*.parent`, held as the parent.
    Wildcard(String),
    /// An IP address.
    Ip(IpAddr),
}

impl Pattern {
    /// The pattern written out (`*.example.com`, `192.0.2.1`).
    #[must_use]
    pub fn text(&self) -> String {
        match self {
            Pattern::Exact(name) => name.clone(),
            Pattern::Wildcard(parent) => format!("*.{parent}"),
            Pattern::Ip(addr) => addr.to_string(),
        }
    }
}

fn is_name_byte(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
}

fn looks_numeric(label: &str) -> bool {
    if !label.is_empty() && label.chars().all(|c| c.is_ascii_digit()) {
        return true;
    }
    if label.starts_with("0x") || label.starts_with("0X") {
        return label[2..].chars().all(|c| c.is_ascii_hexdigit());
    }
    false
}

/// Strict dotted quad, the model's way: four parts, std's parser (which refuses leading
/// zeros), and a re-print that must give back the same text.
fn strict_ipv4(text: &str) -> Option<Ipv4Addr> {
    if text.split('.').count() != 4 {
        return None;
    }
    let addr: Ipv4Addr = text.parse().ok()?;
    if addr.to_string() == text {
        Some(addr)
    } else {
        None
    }
}

fn uts46_valid(lower: &str) -> bool {
    match crate::parse::name::uts46_to_ascii(lower.as_bytes(), true) {
        Ok(out) => out == lower,
        Err(_) => false,
    }
}

/// Checks a lowercase dotted name, label by label. Returns an error message or the labels.
fn check_labels(name: &str) -> Result<Vec<String>, String> {
    if name.is_empty() {
        return Err("empty name".into());
    }
    if name.len() > 253 {
        return Err("name too long".into());
    }
    let labels: Vec<String> = name.split('.').map(String::from).collect();
    for label in &labels {
        if label.is_empty() {
            return Err("empty label".into());
        }
        if label.len() > 63 {
            return Err("label too long".into());
        }
        if !label.chars().all(is_name_byte) {
            return Err("invalid byte".into());
        }
    }
    Ok(labels)
}

/// Model twin of `Authority::parse_with`: returns the host and the explicit port.
///
/// # Errors
/// A message; the model does not try to agree with the engine on which error comes first.
pub fn parse_authority(input: &[u8], convert_unicode: bool) -> Result<(Host, Option<u16>), String> {
    if input.len() > 261 {
        return Err("too long".into());
    }
    let text = std::str::from_utf8(input).map_err(|_| "not UTF-8".to_string())?;
    if !convert_unicode && !text.is_ascii() {
        return Err("non-ASCII".into());
    }
    if text.is_empty() {
        return Err("empty".into());
    }
    if text.contains('@') {
        return Err("userinfo".into());
    }
    let (host, port_text) = if text.starts_with('[') {
        let close = text.find(']').ok_or("no ]")?;
        (&text[..=close], &text[close + 1..])
    } else {
        match text.find(':') {
            Some(colon) => (&text[..colon], &text[colon..]),
            None => (text, ""),
        }
    };
    let port = if port_text.is_empty() {
        None
    } else {
        let Some(digits) = port_text.strip_prefix(':') else {
            return Err("junk after ]".into());
        };
        if digits.is_empty() {
            None
        } else {
            if digits.len() > 5 || !digits.chars().all(|c| c.is_ascii_digit()) {
                return Err("bad port".into());
            }
            let value: u32 = digits.parse().map_err(|_| "bad port".to_string())?;
            if value == 0 || value > 65535 {
                return Err("port out of range".into());
            }
            Some(u16::try_from(value).map_err(|_| "bad port".to_string())?)
        }
    };
    Ok((parse_wire_host(host, convert_unicode)?, port))
}

fn parse_wire_host(host: &str, convert_unicode: bool) -> Result<Host, String> {
    if host.is_empty() {
        return Err("empty host".into());
    }
    if host.starts_with('[') {
        if !host.ends_with(']') || host.len() < 2 {
            return Err("bad literal".into());
        }
        let inner = &host[1..host.len() - 1];
        if inner.contains('%') {
            return Err("zone id".into());
        }
        return inner
            .parse::<Ipv6Addr>()
            .map(Host::Ipv6)
            .map_err(|_| "bad IPv6".to_string());
    }
    let mut name = host.to_string();
    if !name.is_ascii() {
        if !convert_unicode {
            return Err("non-ASCII".into());
        }
        name = match crate::parse::name::uts46_to_ascii(name.as_bytes(), false) {
            Ok(out) => out.into_owned(),
            Err(_) => return Err("UTS #46 refused".into()),
        };
    }
    name = name.to_ascii_lowercase();
    if name.ends_with('.') {
        name.pop();
    }
    let labels = check_labels(&name)?;
    let last = labels.last().cloned().unwrap_or_default();
    if looks_numeric(&last) {
        return strict_ipv4(&name)
            .map(Host::Ipv4)
            .ok_or_else(|| "numeric name".to_string());
    }
    if !uts46_valid(&name) {
        return Err("invalid A-label".into());
    }
    Ok(Host::Dns(name))
}

/// Model twin of `Host::parse`: a host with no port.
///
/// # Errors
/// A message.
pub fn parse_host(input: &[u8]) -> Result<Host, String> {
    let text = std::str::from_utf8(input).map_err(|_| "not UTF-8".to_string())?;
    let after_bracket = match text.find(']') {
        Some(i) => &text[i..],
        None => text,
    };
    if after_bracket.contains(':') {
        return Err("port".into());
    }
    parse_authority(input, false).map(|(host, _)| host)
}

/// Model twin of `NamePattern::parse` (`configuration` true: U-labels converted) and
/// `NamePattern::parse_san` (`configuration` false: ASCII only).
///
/// # Errors
/// A message.
pub fn parse_pattern(input: &str, configuration: bool) -> Result<Pattern, String> {
    let mut text = input.to_string();
    if !text.is_ascii() {
        if !configuration {
            return Err("non-ASCII SAN".into());
        }
        text = match crate::parse::name::uts46_to_ascii(text.as_bytes(), false) {
            Ok(out) => out.into_owned(),
            Err(_) => return Err("UTS #46 refused".into()),
        };
    }
    let text = text.to_ascii_lowercase();
    if text.is_empty() {
        return Err("empty".into());
    }
    if text.starts_with('[') {
        return Err("brackets".into());
    }
    if text.contains(':') {
        return text
            .parse::<Ipv6Addr>()
            .map(|a| Pattern::Ip(IpAddr::V6(a)))
            .map_err(|_| "bad IPv6".to_string());
    }
    if text.len() > 253 {
        return Err("too long".into());
    }
    if text.ends_with('.') {
        return Err("trailing dot".into());
    }
    let mut labels = check_labels_allowing_star(&text)?;
    let wildcard = labels[0] == "*";
    if wildcard {
        labels.remove(0);
        if labels.is_empty() {
            return Err("lone wildcard".into());
        }
    }
    if labels.iter().any(|l| l.contains('*')) {
        return Err("misplaced wildcard".into());
    }
    for label in &labels {
        if label.starts_with('-') || label.ends_with('-') {
            return Err("hyphen at label edge".into());
        }
    }
    let name = labels.join(".");
    let last = labels.last().cloned().unwrap_or_default();
    if looks_numeric(&last) {
        if wildcard {
            return Err("numeric wildcard parent".into());
        }
        return strict_ipv4(&name)
            .map(|a| Pattern::Ip(IpAddr::V4(a)))
            .ok_or_else(|| "numeric name".to_string());
    }
    if !uts46_valid(&name) {
        return Err("invalid A-label".into());
    }
    if !wildcard {
        return Ok(Pattern::Exact(name));
    }
    if labels.len() < 2 {
        return Err("wildcard too broad".into());
    }
    #[cfg(feature = "psl")]
    {
        let suffix = psl::suffix(name.as_bytes());
        if let Some(suffix) = suffix {
            if suffix.is_known()
                && suffix.typ() == Some(psl::Type::Icann)
                && suffix.as_bytes() == name.as_bytes()
            {
                return Err("wildcard over a public suffix".into());
            }
        }
    }
    Ok(Pattern::Wildcard(name))
}

/// Like `check_labels`, but a label may hold `*` (the caller decides where it may stand).
fn check_labels_allowing_star(name: &str) -> Result<Vec<String>, String> {
    let labels: Vec<String> = name.split('.').map(String::from).collect();
    for label in &labels {
        if label.is_empty() {
            return Err("empty label".into());
        }
        if label.len() > 63 {
            return Err("label too long".into());
        }
        if !label.chars().all(|c| is_name_byte(c) || c == '*') {
            return Err("invalid byte".into());
        }
    }
    Ok(labels)
}

/// Model twin of `NamePattern::matches`, straight from RFC 9525 §6.3.
#[must_use]
pub fn pattern_matches(pattern: &Pattern, host: &Host) -> bool {
    match pattern {
        Pattern::Ip(addr) => match host {
            Host::Ipv4(h) => *addr == IpAddr::V4(*h),
            Host::Ipv6(h) => *addr == IpAddr::V6(*h),
            Host::Dns(_) => false,
        },
        Pattern::Exact(name) => match host {
            Host::Dns(h) => h == name,
            _ => false,
        },
        Pattern::Wildcard(parent) => match host {
            Host::Dns(h) => {
                let host_labels: Vec<&str> = h.split('.').collect();
                let parent_labels: Vec<&str> = parent.split('.').collect();
                host_labels.len() == parent_labels.len() + 1
                    && !host_labels[0].is_empty()
                    && host_labels[1..] == parent_labels[..]
            }
            _ => false,
        },
    }
}

/// Model twin of `NameIndex::lookup_all`: a linear scan returning the position of the first
/// exact (or IP) pattern and of the first wildcard pattern that match.
#[must_use]
pub fn index_lookup(patterns: &[Pattern], host: &Host) -> (Option<usize>, Option<usize>) {
    let mut exact = None;
    let mut wildcard = None;
    for (i, pattern) in patterns.iter().enumerate() {
        if !pattern_matches(pattern, host) {
            continue;
        }
        match pattern {
            Pattern::Wildcard(_) => {
                if wildcard.is_none() {
                    wildcard = Some(i);
                }
            }
            _ => {
                if exact.is_none() {
                    exact = Some(i);
                }
            }
        }
    }
    (exact, wildcard)
}

/// Model twin of `NameIndex::build`'s duplicate check: the first pair of equal patterns.
#[must_use]
pub fn first_duplicate(patterns: &[Pattern]) -> Option<(usize, usize)> {
    for j in 0..patterns.len() {
        for i in 0..j {
            if patterns[i] == patterns[j] {
                return Some((i, j));
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// The decision (SPEC §4-§5), as a plain function over the same inputs as `Server::decide`.
// ---------------------------------------------------------------------------------------------

use crate::decision::facts::{ConnectionFacts, Method, Request, Target, Version};
use crate::decision::server::{Config, SniPolicy, UnknownHost};
use crate::decision::verdict::{Rule, Status};
use crate::names::pattern::San;

/// The model's verdict: the status class, the rule that fired (for `Serve`, `None`), and the
/// virtual host served (its position in `Config::vhosts`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// `None` for Serve.
    pub status: Option<Status>,
    /// `None` for Serve.
    pub rule: Option<Rule>,
    /// The virtual host served, for Serve.
    pub vhost: Option<usize>,
}

fn refuse(status: Status, rule: Rule) -> Outcome {
    Outcome {
        status: Some(status),
        rule: Some(rule),
        vhost: None,
    }
}

fn serve(vhost: usize) -> Outcome {
    Outcome {
        status: None,
        rule: None,
        vhost: Some(vhost),
    }
}

fn scheme_name(bytes: &[u8]) -> Option<&'static str> {
    let lower = String::from_utf8_lossy(bytes).to_ascii_lowercase();
    if lower == "http" {
        Some("http")
    } else if lower == "https" {
        Some("https")
    } else {
        None
    }
}

fn default_port(scheme: &str) -> u16 {
    if scheme == "https" { 443 } else { 80 }
}

/// The canonical authority (host text, port or default) the model compares with.
fn canonical(host: &Host, port: Option<u16>, scheme: Option<&str>) -> (String, Option<u16>) {
    (host.canonical(), port.or(scheme.map(default_port)))
}

fn vhost_ports<T>(config: &Config<T>, vhost: usize, scheme: &str) -> Vec<u16> {
    if scheme == "https" {
        config.vhosts[vhost].https_ports.clone()
    } else {
        config.vhosts[vhost].http_ports.clone()
    }
}

/// The virtual host claiming `host` among those serving `scheme` on `port`: an exact (or IP)
/// name first, else a wildcard.
fn find_vhost<T>(config: &Config<T>, scheme: &str, port: u16, host: &Host) -> Option<usize> {
    let mut wildcard = None;
    for (i, vhost) in config.vhosts.iter().enumerate() {
        if !vhost_ports(config, i, scheme).contains(&port) {
            continue;
        }
        for name in &vhost.names {
            let Ok(pattern) = parse_pattern(name, true) else {
                continue;
            };
            if !pattern_matches(&pattern, host) {
                continue;
            }
            match pattern {
                Pattern::Wildcard(_) => {
                    if wildcard.is_none() {
                        wildcard = Some(i);
                    }
                }
                _ => return Some(i),
            }
        }
    }
    wildcard
}

/// Model twin of `NamePattern::from_san`: the SAN's kind decides what it can cover. An
/// iPAddress SAN is that address; a dNSName SAN is parsed as a certificate name, and if its
/// text is an address it is no name at all (RFC 5280 §4.2.1.6 puts addresses in iPAddress).
///
/// # Errors
/// A message for a SAN that covers nothing.
pub fn san_pattern(san: &San) -> Result<Pattern, String> {
    match san {
        San::Ip(addr) => Ok(Pattern::Ip(*addr)),
        San::Dns(bytes) => {
            let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
            match parse_pattern(text, false)? {
                Pattern::Ip(_) => Err("a dNSName holding an address".into()),
                pattern => Ok(pattern),
            }
        }
    }
}

fn certificate_covers<T>(config: &Config<T>, certificate: usize, host: &Host) -> bool {
    for san in &config.certificates[certificate].sans {
        let Ok(pattern) = san_pattern(san) else {
            continue;
        };
        if pattern_matches(&pattern, host) {
            return true;
        }
    }
    false
}

fn vhost_by_name<T>(config: &Config<T>, name: Option<&String>) -> Option<usize> {
    let name = name?;
    config.vhosts.iter().position(|v| &v.name == name)
}

/// Model twin of `Server::decide`: SPEC §5 in order, the first rule that fires wins.
///
/// # Errors
/// A message when the facts name a listener, certificate or policy the configuration lacks, or
/// a handshake does not match the listener's transport.
#[allow(clippy::too_many_lines)] // a model reads top to bottom, like the SPEC
pub fn decide<T>(
    config: &Config<T>,
    facts: &ConnectionFacts<'_>,
    request: &Request<'_>,
) -> Result<Outcome, &'static str> {
    let listener = config
        .listeners
        .get(facts.listener.0 as usize)
        .ok_or("unknown listener")?;
    // A trusted gateway's facts replace the connection's own (SPEC §4).
    let (handshake, origin_ports) = match &facts.gateway {
        Some(gateway) => (gateway.tls, vec![gateway.port]),
        None => {
            if listener.tls != facts.tls.is_some() {
                return Err("transport mismatch");
            }
            let ports = if listener.origin_ports.is_empty() {
                vec![listener.port]
            } else {
                listener.origin_ports.clone()
            };
            (facts.tls, ports)
        }
    };
    if let Some(h) = &handshake {
        if h.certificate.0 as usize >= config.certificates.len() {
            return Err("unknown certificate");
        }
        if let Some(p) = h.policy {
            if p.0 as usize >= config.policies.len() {
                return Err("unknown policy");
            }
        }
    }
    let secure = handshake.is_some();
    let connection_scheme = if secure { "https" } else { "http" };
    let knobs = &config.knobs;
    let sni: Option<String> =
        handshake
            .and_then(|h| h.sni)
            .and_then(|bytes| match parse_host(bytes) {
                Ok(Host::Dns(name)) => Some(name),
                _ => None, // absent, an IP literal, or invalid: treated as absent
            });
    let unicode = knobs.wire_unicode == crate::WireUnicode::Convert;
    let parse = |bytes: &[u8]| parse_authority(bytes, unicode);

    // Rule 0.
    // Extended CONNECT exists only in HTTP/2 and HTTP/3 (RFC 8441 §4, RFC 9220 §3).
    let http1 = request.version == Version::Http10 || request.version == Version::Http11;
    if request.method == Method::Connect || (request.method == Method::ExtendedConnect && http1) {
        // A tunnel request's own framing: Host as for any request, and a host-and-port target
        // (HTTP/1.x authority-form; HTTP/2 and HTTP/3 one :authority and no :scheme).
        let bad = Ok(refuse(Status::BadRequest, Rule::Framing));
        if request.hosts.len() > 1 {
            return bad;
        }
        if http1 {
            if let Some(bytes) = request.hosts.first() {
                if parse(bytes).is_err() {
                    return bad;
                }
            } else if request.version == Version::Http11 {
                return bad;
            }
            if !matches!(request.target, Target::Authority(_)) {
                return bad;
            }
        } else if request.scheme.is_some() || request.authorities.len() != 1 {
            return bad;
        }
        return Ok(refuse(Status::NotOrigin, Rule::NotOrigin));
    }

    // Rule 1: framing. Leaves (scheme, authority) or the HTTP/1.0 default path.
    let bad = Ok(refuse(Status::BadRequest, Rule::Framing));
    let mut http10_default = false;
    let scheme: Option<&str>;
    let mut authority: Option<(Host, Option<u16>)> = None;
    if request.hosts.len() > 1 {
        return bad;
    }
    if request.version == Version::Http10 || request.version == Version::Http11 {
        let mut host = None;
        if let Some(bytes) = request.hosts.first() {
            match parse(bytes) {
                Ok(h) => host = Some(h),
                Err(_) => return bad,
            }
        }
        // RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any
        // HTTP/1.1 request message that lacks a Host header field". Any target form.
        if request.version == Version::Http11 && host.is_none() {
            return bad;
        }
        match request.target {
            Target::Absolute {
                scheme: s,
                authority: a,
            } => {
                let Ok(target) = parse(a) else { return bad };
                scheme = scheme_name(s);
                if knobs.strict_host_consistency {
                    if let Some((h, p)) = &host {
                        if canonical(h, *p, scheme) != canonical(&target.0, target.1, scheme) {
                            return bad;
                        }
                    }
                }
                authority = Some(target);
            }
            Target::Authority(_) => return bad,
            Target::Origin | Target::Asterisk => {
                scheme = Some(connection_scheme);
                if host.is_some() {
                    authority = host;
                } else if request.version == Version::Http10 && knobs.http10_default_vhost {
                    http10_default = true;
                } else {
                    return bad;
                }
            }
        }
    } else {
        let Some(raw) = request.scheme else {
            return bad;
        };
        scheme = scheme_name(raw);
        if request.authorities.len() > 1 {
            return bad;
        }
        let mut from_authority = None;
        if let Some(bytes) = request.authorities.first() {
            match parse(bytes) {
                Ok(a) => from_authority = Some(a),
                Err(_) => return bad,
            }
        }
        let mut from_host = None;
        let host_ignored = request.version == Version::Http2
            && from_authority.is_some()
            && !knobs.strict_host_consistency;
        if let Some(bytes) = request.hosts.first() {
            if !host_ignored {
                match parse(bytes) {
                    Ok(h) => from_host = Some(h),
                    Err(_) => return bad,
                }
            }
        }
        if let (Some(a), Some(h)) = (&from_authority, &from_host) {
            if request.version == Version::Http3 {
                if request.authorities[0] != request.hosts[0] {
                    return bad;
                }
            } else if canonical(&a.0, a.1, scheme) != canonical(&h.0, h.1, scheme) {
                return bad;
            }
        }
        authority = from_authority.or(from_host);
        if authority.is_none() && scheme.is_some() {
            return bad;
        }
    }

    let sni_checked = secure && knobs.sni != SniPolicy::Insecure;
    let listener_default_tls = vhost_by_name(config, listener.default_tls_vhost.as_ref());
    // The handshake's policy: as recorded, else the one the TLS layer applies to its SNI, that
    // of the virtual host the SNI selects on the first origin port (or the listener's default
    // TLS virtual host), whatever port a request names.
    let policy_at_handshake: Option<String> = match handshake.and_then(|h| h.policy) {
        Some(p) => Some(config.policies[p.0 as usize].clone()),
        None => sni
            .as_ref()
            .and_then(|name| find_vhost(config, "https", origin_ports[0], &Host::Dns(name.clone())))
            .or(listener_default_tls)
            .map(|v| config.vhosts[v].policy.clone()),
    };
    let handshake_policy = |_sni_vhost: Option<usize>| policy_at_handshake.clone();
    let misdirected = Ok(refuse(Status::Misdirected, Rule::Sni));

    if http10_default {
        let Some(vhost) = vhost_by_name(config, listener.default_vhost.as_ref()) else {
            return bad;
        };
        if !sni_checked {
            return Ok(serve(vhost));
        }
        let mut sni_vhost = None;
        if let Some(name) = &sni {
            for port in &origin_ports {
                if let Some(v) =
                    find_vhost(config, connection_scheme, *port, &Host::Dns(name.clone()))
                {
                    sni_vhost = Some(v);
                    break;
                }
            }
        }
        let sni_vhost = sni_vhost.or(listener_default_tls);
        let same_policy =
            handshake_policy(sni_vhost).as_ref() == Some(&config.vhosts[vhost].policy);
        return match knobs.sni {
            SniPolicy::Strict => misdirected,
            SniPolicy::SameVhost if sni_vhost != Some(vhost) || !same_policy => misdirected,
            SniPolicy::Compatible if !same_policy => misdirected,
            _ => Ok(serve(vhost)),
        };
    }

    // Rule 2: scheme.
    let wrong_scheme = Ok(refuse(Status::Misdirected, Rule::Scheme));
    let Some(scheme) = scheme else {
        return wrong_scheme;
    };
    if scheme == "https" && !secure {
        return wrong_scheme;
    }
    if scheme == "http" && secure && !knobs.opportunistic_http {
        return wrong_scheme;
    }
    let Some((host, explicit_port)) = authority else {
        return wrong_scheme;
    };

    // Rule 3: port.
    let port = explicit_port.unwrap_or(default_port(scheme));
    if !origin_ports.contains(&port) {
        return Ok(refuse(Status::Misdirected, Rule::Port));
    }

    // Rule 4: certificate coverage.
    if sni_checked {
        let certificate = handshake
            .map(|h| h.certificate.0 as usize)
            .unwrap_or_default();
        if !certificate_covers(config, certificate, &host) {
            return Ok(refuse(Status::Misdirected, Rule::Certificate));
        }
    }

    // Rule 5: virtual host.
    // The listener's own fallback wins over the knob's (nginx's default_server is per listening
    // socket); either serves only a scheme and port it is configured for.
    let fallback_name = match (&listener.fallback, &knobs.unknown_host) {
        (Some(name), _) | (None, UnknownHost::Fallback(name)) => Some(name),
        (None, _) => None,
    };
    let fallback = vhost_by_name(config, fallback_name)
        .filter(|&v| vhost_ports(config, v, scheme).contains(&port));
    let vhost = match (find_vhost(config, scheme, port, &host), fallback) {
        (Some(v), _) | (None, Some(v)) => v,
        (None, None) => match &knobs.unknown_host {
            UnknownHost::NotFound => return Ok(refuse(Status::NotFound, Rule::VirtualHost)),
            _ => return Ok(refuse(Status::Misdirected, Rule::VirtualHost)),
        },
    };

    // Rule 6: SNI policy.
    if !sni_checked {
        return Ok(serve(vhost));
    }
    let sni_vhost = sni
        .as_ref()
        .and_then(|name| find_vhost(config, scheme, port, &Host::Dns(name.clone())))
        .or(listener_default_tls);
    // Strict and SameVhost add to Compatible's policy check, never replace it.
    let same_policy = handshake_policy(sni_vhost).as_ref() == Some(&config.vhosts[vhost].policy);
    let passes = match knobs.sni {
        SniPolicy::Strict => {
            same_policy
                && match &host {
                    Host::Dns(name) => sni.as_ref() == Some(name),
                    Host::Ipv4(_) | Host::Ipv6(_) => sni.is_none(),
                }
        }
        SniPolicy::SameVhost => same_policy && sni_vhost == Some(vhost),
        SniPolicy::Compatible => same_policy,
        SniPolicy::CertCovered | SniPolicy::Insecure => true,
    };
    if passes {
        Ok(serve(vhost))
    } else {
        misdirected
    }
}
