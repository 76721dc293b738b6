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
    match crate::name::uts46_to_ascii(lower.as_bytes(), true) {
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
        name = match crate::name::uts46_to_ascii(name.as_bytes(), false) {
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
        text = match crate::name::uts46_to_ascii(text.as_bytes(), false) {
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
