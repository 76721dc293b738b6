//! The configuration file (feature `serde`): one TOML file says what the decision reads
//! ([`Config`]) and what the TLS build reads ([`TlsDeclarations`]: each policy's client
//! certificates, versions and ALPN; each certificate's chain and key). [`Config::from_toml`]
//! reads the first half; [`Site::from_toml`] reads both, and `Site::build` (feature `rustls`)
//! makes the server, the certificate resolver, one rustls configuration per policy and the
//! acceptors from it, so a policy the file names is a policy that is built.
//!
//! Every key, with its default (this file is parsed by the crate's tests as it is shown):
//!
#![doc = concat!("```toml\n", include_str!("schema.toml"), "```")]
//!
//! # Checks
//!
//! Unknown keys are errors (a misspelt knob must not silently keep its default). Syntax and
//! type errors carry the TOML parser's line and column; errors found after parsing name the
//! key (`vhosts[1] "admin".https_ports`), and [`Site::from_toml_file`] names the file. What
//! parses but can only be wrong is refused before anything is served:
//!
//! - a virtual host's `https_ports` or `http_ports` entry that no listener serves (its
//!   requests would all be 421: a virtual host left at the default 443 while the only TLS
//!   listener is on 8443);
//! - a TLS listener on whose origin ports no virtual host serves https;
//! - a policy whose `client_cas` contradict its `client_auth` (CAs under `"none"`, none under
//!   `"optional"` or `"required"`), or that offers no version;
//! - a `key` given with `sans` instead of the `file` holding its chain.
//!
//! [`Server::build`](crate::Server::build) then names the virtual hosts, certificates and
//! listeners involved in its own errors (a duplicate id, a policy no `policies` entry has),
//! and the TLS build refuses a policy without a `[[policies]]` table and a certificate it
//! cannot read.

use core::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::decision::server::{
    CertificateConfig, Config, Knobs, ListenerConfig, Scheme, SniPolicy, UnknownHost, VhostConfig,
};
use crate::embed::x509::{CertificateError, certificate_sans};
use crate::names::pattern::San;
use crate::parse::authority::WireUnicode;

/// A configuration file that could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// TOML syntax, a wrong type, a missing or unknown key: the message gives line and column.
    Toml(toml::de::Error),
    /// A certificate entry has both `sans` and `file`, or neither.
    CertificateSource {
        /// The entry, as `certificates[i] "id"`.
        entry: String,
    },
    /// A certificate file holds no PEM certificate.
    NoCertificateInFile {
        /// The entry.
        entry: String,
        /// The file.
        path: PathBuf,
    },
    /// A certificate file's first certificate is not valid DER.
    Certificate {
        /// The entry.
        entry: String,
        /// The file.
        path: PathBuf,
        /// Why.
        error: CertificateError,
    },
    /// A value that parses but can only be wrong: a virtual host's port that no listener
    /// serves, a TLS listener on which no virtual host serves, a policy whose client CAs
    /// contradict its `client_auth`, a `key` without its chain.
    Invalid {
        /// The key, as `vhosts[1] "admin".https_ports`.
        entry: String,
        /// What is wrong, and what would be right.
        reason: String,
    },
    /// An error in a configuration file, with the file's path.
    InFile {
        /// The configuration file.
        path: PathBuf,
        /// The error.
        error: Box<ConfigError>,
    },
}

/// A configuration file read whole: the engine's [`Config`], and the TLS declarations the
/// engine does not read but a TLS build does (what each policy demands of a handshake, each
/// certificate's chain and key files). `Site::build` (features `rustls` and `serde`) makes
/// the server and everything TLS needs from it in one call.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Site<T> {
    /// What the decision reads.
    pub config: Config<T>,
    /// What the TLS build reads.
    pub tls: TlsDeclarations,
}

/// The TLS half of a configuration file: policies declared as tables, and certificates
/// given with a `key`. Paths are resolved against the configuration file's directory; no file
/// named here is read until the TLS build.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsDeclarations {
    /// Each `[[policies]]` table, in file order. A policy named bare (`policies = ["a"]`) or
    /// only by a virtual host has none, and the TLS build refuses it.
    pub policies: Vec<PolicyDeclaration>,
    /// Each certificate with a `key`, in file order.
    pub certificates: Vec<CertificateFiles>,
}

/// What a TLS policy demands of a handshake, as a `[[policies]]` table declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicyDeclaration {
    /// The policy's id, which virtual hosts name.
    pub name: String,
    /// The table, as `policies[1] "mtls"`, for errors.
    pub entry: String,
    /// Whether a client certificate is asked for, and whether it is required.
    pub client_auth: ClientAuthMode,
    /// PEM files of the client CAs trusted: at least one unless `client_auth` is `none`, and
    /// none then.
    pub client_cas: Vec<PathBuf>,
    /// The protocol versions offered (default both).
    pub versions: Vec<TlsVersion>,
    /// The ALPN protocols offered over TCP, in order of preference (default `h2`, `http/1.1`).
    /// QUIC offers `h3`.
    pub alpn: Vec<String>,
}

/// A policy's client-certificate mode (`client_auth` in a `[[policies]]` table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ClientAuthMode {
    /// `"none"`: no client certificate is asked for.
    None,
    /// `"optional"`: one is asked for; a client may send none, and one it sends must chain
    /// to a `client_cas` root.
    Optional,
    /// `"required"`: a client certificate chaining to a `client_cas` root is required; the
    /// handshake fails without one.
    Required,
}

/// A TLS protocol version (`versions` in a `[[policies]]` table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[non_exhaustive]
pub enum TlsVersion {
    /// `"1.2"`.
    #[serde(rename = "1.2")]
    Tls12,
    /// `"1.3"`.
    #[serde(rename = "1.3")]
    Tls13,
}

/// Where a certificate's chain and private key are (`file` and `key` of a `[[certificates]]`
/// entry).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateFiles {
    /// The certificate's id.
    pub id: String,
    /// The entry, as `certificates[0] "edge"`, for errors.
    pub entry: String,
    /// The PEM chain, end-entity certificate first.
    pub chain: PathBuf,
    /// The PEM private key (PKCS #8, PKCS #1 or SEC1).
    pub key: PathBuf,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            ConfigError::Toml(e) => write!(f, "{e}"),
            ConfigError::CertificateSource { entry } => {
                write!(f, "{entry}: give exactly one of `sans` and `file`")
            }
            ConfigError::NoCertificateInFile { entry, path } => write!(
                f,
                "{entry}: {} holds no PEM CERTIFICATE block",
                path.display()
            ),
            ConfigError::Certificate { entry, path, error } => {
                write!(f, "{entry}: {}: {error}", path.display())
            }
            ConfigError::Invalid { entry, reason } => write!(f, "{entry}: {reason}"),
            ConfigError::InFile { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Io { error, .. } => Some(error),
            ConfigError::Toml(e) => Some(e),
            ConfigError::Certificate { error, .. } => Some(error),
            ConfigError::InFile { error, .. } => Some(error),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, bound = "T: Deserialize<'de> + Default")]
struct File<T> {
    #[serde(default)]
    policies: Option<Vec<PolicyEntry>>,
    #[serde(default)]
    knobs: KnobsFile,
    #[serde(default)]
    listeners: Vec<ListenerFile>,
    #[serde(default)]
    certificates: Vec<CertificateFile>,
    #[serde(default)]
    vhosts: Vec<VhostFile<T>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct KnobsFile {
    sni: Option<SniFile>,
    unknown_host: Option<UnknownHostFile>,
    strict_host_consistency: Option<bool>,
    opportunistic_http: Option<bool>,
    http10_default_vhost: Option<bool>,
    wire_unicode: Option<WireUnicodeFile>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum SniFile {
    Strict,
    SameVhost,
    CertCovered,
    Compatible,
    Insecure,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum UnknownHostFile {
    Misdirected,
    NotFound,
    Fallback(String),
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum WireUnicodeFile {
    Reject,
    Convert,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListenerFile {
    name: String,
    tls: bool,
    port: u16,
    #[serde(default)]
    origin_ports: Vec<u16>,
    default_vhost: Option<String>,
    default_tls_vhost: Option<String>,
    fallback: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificateFile {
    id: String,
    sans: Option<Vec<String>>,
    file: Option<PathBuf>,
    key: Option<PathBuf>,
}

/// An entry of `policies`: a bare name (the engine's id only; its TLS settings are built by
/// hand) or a table declaring what the policy demands of a handshake.
enum PolicyEntry {
    Name(String),
    Declared(PolicyFile),
}

impl<'de> Deserialize<'de> for PolicyEntry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = PolicyEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a policy name or a policy table")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PolicyEntry, E> {
                Ok(PolicyEntry::Name(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<PolicyEntry, A::Error> {
                // Through the table's own deserializer, so an unknown or misspelt key is
                // named with its line, as everywhere else in the file.
                PolicyFile::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(PolicyEntry::Declared)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    name: String,
    client_auth: ClientAuthMode,
    #[serde(default)]
    client_cas: Vec<PathBuf>,
    versions: Option<Vec<TlsVersion>>,
    alpn: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, bound = "T: Deserialize<'de> + Default")]
struct VhostFile<T> {
    name: String,
    names: Vec<String>,
    #[serde(default)]
    http_ports: Vec<u16>,
    https_ports: Option<Vec<u16>>,
    policy: String,
    #[serde(default)]
    value: T,
}

impl<T: DeserializeOwned + Default> Config<T> {
    /// Reads a configuration from TOML text; certificate files are read relative to `base`.
    ///
    /// ```
    /// use misdirect::{Config, Server};
    /// let config: Config<String> = Config::from_toml(r#"
    ///     [[listeners]]
    ///     name = "tls"
    ///     tls = true
    ///     port = 443
    ///
    ///     [[certificates]]
    ///     id = "edge"
    ///     sans = ["*.example.com"]
    ///
    ///     [[vhosts]]
    ///     name = "a"
    ///     names = ["a.example.com"]
    ///     policy = "public"
    ///     value = "site a"
    /// "#, std::path::Path::new(".")).unwrap();
    /// assert_eq!(config.policies, ["public"]);
    /// let server = Server::build(config).unwrap();
    /// assert!(server.listener_id("tls").is_some());
    ///
    /// let typo = Config::<String>::from_toml("[knobs]\nsni = \"strickt\"\n", ".".as_ref());
    /// assert!(typo.unwrap_err().to_string().contains("line 2"));
    /// ```
    ///
    /// # Errors
    /// A [`ConfigError`] naming the line or the entry.
    pub fn from_toml(text: &str, base: &Path) -> Result<Config<T>, ConfigError> {
        Site::from_toml(text, base).map(|site| site.config)
    }

    /// Reads a configuration file; certificate files are read relative to its directory.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the file, the line or the entry.
    pub fn from_toml_file(path: &Path) -> Result<Config<T>, ConfigError> {
        Site::from_toml_file(path).map(|site| site.config)
    }
}

impl<T: DeserializeOwned + Default> Site<T> {
    /// Reads a configuration and its TLS declarations from TOML text; paths are relative to
    /// `base`. Certificate files' SANs are read now; chains, keys and client CAs at the TLS
    /// build.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the line or the entry.
    pub fn from_toml(text: &str, base: &Path) -> Result<Site<T>, ConfigError> {
        let file: File<T> = toml::from_str(text).map_err(ConfigError::Toml)?;
        let mut tls = TlsDeclarations::default();
        let mut certificates = Vec::new();
        for (i, cert) in file.certificates.into_iter().enumerate() {
            let entry = format!("certificates[{i}] {:?}", cert.id);
            let sans = match (cert.sans, &cert.file) {
                (Some(sans), None) => {
                    if cert.key.is_some() {
                        return Err(ConfigError::Invalid {
                            entry: format!("{entry}.key"),
                            reason: "a key needs its chain: give `file` (the PEM chain) \
                                     instead of `sans`"
                                .to_string(),
                        });
                    }
                    sans.iter()
                        .map(|san| San::from_text(san.as_bytes()))
                        .collect()
                }
                (None, Some(path)) => read_sans(&entry, &base.join(path))?,
                _ => return Err(ConfigError::CertificateSource { entry }),
            };
            if let (Some(chain), Some(key)) = (&cert.file, &cert.key) {
                tls.certificates.push(CertificateFiles {
                    id: cert.id.clone(),
                    entry: entry.clone(),
                    chain: base.join(chain),
                    key: base.join(key),
                });
            }
            certificates.push(CertificateConfig { id: cert.id, sans });
        }
        let vhosts: Vec<VhostConfig<T>> = file
            .vhosts
            .into_iter()
            .map(|v| VhostConfig {
                name: v.name,
                names: v.names,
                http_ports: v.http_ports,
                https_ports: v.https_ports.unwrap_or_else(|| vec![443]),
                policy: v.policy,
                value: v.value,
            })
            .collect();
        let policies = match file.policies {
            Some(entries) => {
                let mut names = Vec::new();
                for (i, entry) in entries.into_iter().enumerate() {
                    match entry {
                        PolicyEntry::Name(name) => names.push(name),
                        PolicyEntry::Declared(policy) => {
                            let entry = format!("policies[{i}] {:?}", policy.name);
                            names.push(policy.name.clone());
                            tls.policies.push(declaration(entry, policy, base)?);
                        }
                    }
                }
                names
            }
            None => {
                let mut policies: Vec<String> = Vec::new();
                for v in &vhosts {
                    if !policies.contains(&v.policy) {
                        policies.push(v.policy.clone());
                    }
                }
                policies
            }
        };
        let defaults = Knobs::default();
        let k = file.knobs;
        let knobs = Knobs {
            sni: match k.sni {
                None => defaults.sni,
                Some(SniFile::Strict) => SniPolicy::Strict,
                Some(SniFile::SameVhost) => SniPolicy::SameVhost,
                Some(SniFile::CertCovered) => SniPolicy::CertCovered,
                Some(SniFile::Compatible) => SniPolicy::Compatible,
                Some(SniFile::Insecure) => SniPolicy::Insecure,
            },
            unknown_host: match k.unknown_host {
                None => defaults.unknown_host,
                Some(UnknownHostFile::Misdirected) => UnknownHost::Misdirected,
                Some(UnknownHostFile::NotFound) => UnknownHost::NotFound,
                Some(UnknownHostFile::Fallback(name)) => UnknownHost::Fallback(name),
            },
            strict_host_consistency: k
                .strict_host_consistency
                .unwrap_or(defaults.strict_host_consistency),
            opportunistic_http: k.opportunistic_http.unwrap_or(defaults.opportunistic_http),
            http10_default_vhost: k
                .http10_default_vhost
                .unwrap_or(defaults.http10_default_vhost),
            wire_unicode: match k.wire_unicode {
                None => defaults.wire_unicode,
                Some(WireUnicodeFile::Reject) => WireUnicode::Reject,
                Some(WireUnicodeFile::Convert) => WireUnicode::Convert,
            },
        };
        let listeners = file
            .listeners
            .into_iter()
            .map(|l| ListenerConfig {
                name: l.name,
                tls: l.tls,
                port: l.port,
                origin_ports: l.origin_ports,
                default_vhost: l.default_vhost,
                default_tls_vhost: l.default_tls_vhost,
                fallback: l.fallback,
            })
            .collect();
        let config = Config {
            listeners,
            vhosts,
            certificates,
            policies,
            knobs,
        };
        check_ports(&config)?;
        Ok(Site { config, tls })
    }

    /// Reads a configuration file; paths in it are relative to its directory. Errors after
    /// the file was read name it.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the file, the line or the entry.
    pub fn from_toml_file(path: &Path) -> Result<Site<T>, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        Site::from_toml(&text, path.parent().unwrap_or(Path::new("."))).map_err(|error| {
            ConfigError::InFile {
                path: path.to_path_buf(),
                error: Box::new(error),
            }
        })
    }
}

/// A `[[policies]]` table checked: its client CAs agree with its mode, it offers a version,
/// and its ALPN protocols are not empty (RFC 7301 §3.1).
fn declaration(
    entry: String,
    policy: PolicyFile,
    base: &Path,
) -> Result<PolicyDeclaration, ConfigError> {
    let invalid = |key: &str, reason: &str| ConfigError::Invalid {
        entry: format!("{entry}.{key}"),
        reason: reason.to_string(),
    };
    match (policy.client_auth, policy.client_cas.is_empty()) {
        (ClientAuthMode::None, false) => {
            return Err(invalid(
                "client_cas",
                "client_auth = \"none\" asks for no client certificate, so no client CA is \
                 trusted: set client_auth to \"required\" or \"optional\", or remove client_cas",
            ));
        }
        (ClientAuthMode::Optional | ClientAuthMode::Required, true) => {
            return Err(invalid(
                "client_cas",
                "a policy that asks for client certificates needs at least one client CA (PEM file)",
            ));
        }
        _ => {}
    }
    let mut versions = policy
        .versions
        .unwrap_or_else(|| vec![TlsVersion::Tls13, TlsVersion::Tls12]);
    if versions.is_empty() {
        return Err(invalid(
            "versions",
            "offers no protocol version: give \"1.2\", \"1.3\" or both",
        ));
    }
    versions.sort_unstable_by(|a, b| b.cmp(a));
    versions.dedup();
    let alpn = policy
        .alpn
        .unwrap_or_else(|| vec!["h2".to_string(), "http/1.1".to_string()]);
    if alpn.iter().any(|p| p.is_empty() || p.len() > 255) {
        return Err(invalid(
            "alpn",
            "an ALPN protocol is 1 to 255 octets (RFC 7301 §3.1)",
        ));
    }
    Ok(PolicyDeclaration {
        name: policy.name,
        entry,
        client_auth: policy.client_auth,
        client_cas: policy.client_cas.iter().map(|p| base.join(p)).collect(),
        versions,
        alpn,
    })
}

/// What can only be wrong about ports: a virtual host's port no listener receives (it is never
/// served), and a TLS listener no virtual host serves on (every request on it is refused).
fn check_ports<T>(config: &Config<T>) -> Result<(), ConfigError> {
    let received: Vec<(Scheme, u16)> = config
        .listeners
        .iter()
        .flat_map(|l| l.received(&config.knobs))
        .collect();
    let describe = |tls: bool| {
        let list: Vec<String> = config
            .listeners
            .iter()
            .filter(|l| l.tls == tls)
            .map(|l| format!("{:?} for port(s) {:?}", l.name, l.effective_origin_ports()))
            .collect();
        if list.is_empty() {
            "there is none".to_string()
        } else {
            format!("there is {}", list.join(", "))
        }
    };
    for (i, v) in config.vhosts.iter().enumerate() {
        for (scheme, key, ports) in [
            (Scheme::Https, "https_ports", &v.https_ports),
            (Scheme::Http, "http_ports", &v.http_ports),
        ] {
            if let Some(port) = ports.iter().find(|&&p| !received.contains(&(scheme, p))) {
                let default = if key == "https_ports" && v.https_ports == [443] {
                    " (443 is the default when https_ports is left out)"
                } else {
                    ""
                };
                return Err(ConfigError::Invalid {
                    entry: format!("vhosts[{i}] {:?}.{key}", v.name),
                    reason: format!(
                        "no {} listener serves port {port}{default}: {}; add the port to a \
                         listener's origin_ports, or remove it here",
                        if scheme == Scheme::Https {
                            "TLS"
                        } else {
                            "cleartext"
                        },
                        describe(scheme == Scheme::Https),
                    ),
                });
            }
        }
    }
    for (i, l) in config.listeners.iter().enumerate() {
        let served = l.received(&config.knobs).iter().any(|&(scheme, port)| {
            config
                .vhosts
                .iter()
                .any(|v| v.ports(scheme).contains(&port))
        });
        if l.tls && !config.vhosts.is_empty() && !served {
            return Err(ConfigError::Invalid {
                entry: format!("listeners[{i}] {:?}.port", l.name),
                reason: format!(
                    "no virtual host serves https on port(s) {:?}, so every request on this TLS \
                     listener would be refused; list the port in a virtual host's https_ports \
                     (default [443])",
                    l.effective_origin_ports()
                ),
            });
        }
    }
    Ok(())
}

fn read_sans(entry: &str, path: &Path) -> Result<Vec<San>, ConfigError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let pem = std::fs::read(path).map_err(|error| ConfigError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let der = CertificateDer::pem_slice_iter(&pem)
        .next()
        .and_then(Result::ok)
        .ok_or_else(|| ConfigError::NoCertificateInFile {
            entry: entry.to_string(),
            path: path.to_path_buf(),
        })?;
    certificate_sans(&der).map_err(|error| ConfigError::Certificate {
        entry: entry.to_string(),
        path: path.to_path_buf(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::server::Server;

    fn parse(text: &str) -> Result<Config<String>, ConfigError> {
        Config::from_toml(text, Path::new("."))
    }

    #[test]
    fn every_knob_reads() {
        let config = parse(
            r#"
            policies = ["p", "q"]
            [knobs]
            sni = "same-vhost"
            unknown_host = { fallback = "a" }
            strict_host_consistency = false
            opportunistic_http = true
            http10_default_vhost = true
            wire_unicode = "convert"
            "#,
        )
        .unwrap();
        assert_eq!(config.policies, ["p", "q"]);
        assert_eq!(config.knobs.sni, SniPolicy::SameVhost);
        assert_eq!(config.knobs.unknown_host, UnknownHost::Fallback("a".into()));
        assert!(!config.knobs.strict_host_consistency);
        assert!(config.knobs.opportunistic_http);
        assert!(config.knobs.http10_default_vhost);
        assert_eq!(config.knobs.wire_unicode, WireUnicode::Convert);
        let defaults = parse("").unwrap();
        assert_eq!(defaults.knobs, Knobs::default());
    }

    #[test]
    fn errors_point_at_the_entry() {
        let e =
            parse("[[vhosts]]\nname = \"a\"\nnames = [\"a.example\"]\npolicy = \"p\"\nport = 4\n")
                .unwrap_err()
                .to_string();
        assert!(
            e.contains("line 5") && e.contains("unknown field `port`"),
            "{e}"
        );
        let e = parse("[[certificates]]\nid = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "certificates[0] \"x\": give exactly one of `sans` and `file`"
        );
        let e = parse("[[certificates]]\nid = \"x\"\nfile = \"/nonexistent/x.pem\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/nonexistent/x.pem: "), "{e}");
        let e = parse("[[listeners]]\nname = \"l\"\ntls = true\nport = 70000\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 4"), "{e}");
    }

    #[test]
    fn certificate_file_sans_are_read() {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["*.example.test".to_string()]).unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        let dir = std::env::temp_dir().join(format!("misdirect-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("wild.pem"), pem).unwrap();
        std::fs::write(dir.join("empty.pem"), "not pem").unwrap();
        let text = r#"
            [[listeners]]
            name = "tls"
            tls = true
            port = 8443
            [[certificates]]
            id = "wild"
            file = "wild.pem"
            [[vhosts]]
            name = "a"
            names = ["a.example.test"]
            https_ports = [8443]
            policy = "public"
        "#;
        std::fs::write(dir.join("server.toml"), text).unwrap();
        let config: Config<String> = Config::from_toml_file(&dir.join("server.toml")).unwrap();
        assert_eq!(
            config.certificates[0].sans,
            [San::Dns(b"*.example.test".to_vec())]
        );
        assert!(Server::build(config).is_ok());
        let e = Config::<String>::from_toml(
            "[[certificates]]\nid = \"e\"\nfile = \"empty.pem\"\n",
            &dir,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("certificates[0] \"e\"") && e.contains("no PEM"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A directory holding a self-signed certificate at `certs/edge.pem`, removed on drop.
    struct Dir(std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn dir_with_edge(tag: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("misdirect-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("certs")).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["*.example.com".to_string()]).unwrap();
        std::fs::write(
            dir.join("certs/edge.pem"),
            params.self_signed(&key).unwrap().pem(),
        )
        .unwrap();
        Dir(dir)
    }

    #[test]
    fn the_documented_schema_parses_as_shown() {
        let dir = dir_with_edge("schema");
        let site: Site<String> = Site::from_toml(include_str!("schema.toml"), &dir.0).unwrap();
        let config = &site.config;
        assert_eq!(config.policies, ["public", "mtls"]);
        assert_eq!(config.knobs, Knobs::default());
        assert_eq!(config.vhosts[1].https_ports, [443]);
        assert_eq!(config.vhosts[0].http_ports, [80]);
        let mtls = &site.tls.policies[1];
        assert_eq!(mtls.entry, "policies[1] \"mtls\"");
        assert_eq!(mtls.client_auth, ClientAuthMode::Required);
        assert_eq!(mtls.client_cas, [dir.0.join("certs/partner-ca.pem")]);
        assert_eq!(mtls.versions, [TlsVersion::Tls13]);
        let public = &site.tls.policies[0];
        assert_eq!(public.versions, [TlsVersion::Tls13, TlsVersion::Tls12]);
        assert_eq!(public.alpn, ["h2", "http/1.1"]);
        assert_eq!(
            site.tls.certificates,
            [CertificateFiles {
                id: "edge".into(),
                entry: "certificates[0] \"edge\"".into(),
                chain: dir.0.join("certs/edge.pem"),
                key: dir.0.join("certs/edge.key"),
            }]
        );
        if let Err(e) = Server::build(site.config) {
            panic!("{e}");
        }
    }

    const TLS_443: &str = "[[listeners]]\nname = \"tls\"\ntls = true\nport = 443\n";

    #[test]
    fn a_policy_says_what_it_demands_or_is_refused() {
        let vhost = "[[vhosts]]\nname = \"a\"\nnames = [\"a.example\"]\npolicy = \"p\"\n";
        let with = |table: &str| {
            parse(&format!(
                "{TLS_443}[[policies]]\nname = \"p\"\n{table}\n{vhost}"
            ))
        };
        let e = with("").unwrap_err().to_string();
        assert!(e.contains("missing field `client_auth`"), "{e}");
        let e = with("client_auth = \"required\"").unwrap_err().to_string();
        assert_eq!(
            e,
            "policies[0] \"p\".client_cas: a policy that asks for client certificates needs at \
             least one client CA (PEM file)"
        );
        let e = with("client_auth = \"optional\"").unwrap_err().to_string();
        assert!(e.starts_with("policies[0] \"p\".client_cas: "), "{e}");
        let e = with("client_auth = \"none\"\nclient_cas = [\"ca.pem\"]")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("policies[0] \"p\".client_cas: client_auth = \"none\""),
            "{e}"
        );
        let e = with("client_auth = \"none\"\nversions = []")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("policies[0] \"p\".versions: "), "{e}");
        let e = with("client_auth = \"none\"\nversions = [\"1.1\"]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 8"), "{e}");
        let e = with("client_auth = \"none\"\nalpn = [\"\"]")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("policies[0] \"p\".alpn: "), "{e}");
        let e = with("client_auth = \"maybe\"").unwrap_err().to_string();
        assert!(e.contains("line 7") && e.contains("maybe"), "{e}");
        let e = with("client_auth = \"none\"\nclient_ca = [\"x\"]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `client_ca`"), "{e}");
        // Bare names and tables mix; a bare name declares nothing.
        let site: Site<String> = Site::from_toml(
            &format!(
                "policies = [\"q\", {{ name = \"p\", client_auth = \"none\" }}]\n{TLS_443}{vhost}"
            ),
            Path::new("."),
        )
        .unwrap();
        assert_eq!(site.config.policies, ["q", "p"]);
        assert_eq!(site.tls.policies.len(), 1);
        assert_eq!(site.tls.policies[0].entry, "policies[1] \"p\"");
    }

    #[test]
    fn ports_no_listener_or_no_virtual_host_serves_are_refused() {
        let vhost = |ports: &str| {
            format!("[[vhosts]]\nname = \"a\"\nnames = [\"a.example\"]\npolicy = \"p\"\n{ports}\n")
        };
        // The user's mistake: the only TLS listener is on 8443, the virtual host left at 443.
        let e = parse(&format!(
            "[[listeners]]\nname = \"tls\"\ntls = true\nport = 8443\n{}",
            vhost("")
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with(
                "vhosts[0] \"a\".https_ports: no TLS listener serves port 443 (443 is the default"
            ) && e.contains("\"tls\" for port(s) [8443]"),
            "{e}"
        );
        let e = parse(&format!("{TLS_443}{}", vhost("http_ports = [80]")))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "vhosts[0] \"a\".http_ports: no cleartext listener serves port 80: there is none"
            ),
            "{e}"
        );
        // A cleartext port on a TLS listener is served with opportunistic_http (RFC 8164).
        assert!(
            parse(&format!(
                "[knobs]\nopportunistic_http = true\n{TLS_443}{}",
                vhost("http_ports = [443]")
            ))
            .is_ok()
        );
        let e = parse(&format!(
            "{TLS_443}[[listeners]]\nname = \"alt\"\ntls = true\nport = 8443\n{}",
            vhost("")
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with(
                "listeners[1] \"alt\".port: no virtual host serves https on port(s) [8443]"
            ),
            "{e}"
        );
        // origin_ports put the listener's port where the virtual hosts are.
        assert!(
            parse(&format!(
                "[[listeners]]\nname = \"tls\"\ntls = true\nport = 8443\norigin_ports = [443]\n{}",
                vhost("")
            ))
            .is_ok()
        );
        // A cleartext listener no virtual host serves is allowed (it may only redirect).
        assert!(
            parse(&format!(
                "{TLS_443}[[listeners]]\nname = \"plain\"\ntls = false\nport = 80\n{}",
                vhost("")
            ))
            .is_ok()
        );
    }

    #[test]
    fn errors_of_a_file_name_it_and_a_key_needs_its_chain() {
        let dir = dir_with_edge("in-file");
        let path = dir.0.join("site.toml");
        std::fs::write(
            &path,
            "[[certificates]]\nid = \"e\"\nsans = [\"a.example\"]\nkey = \"e.key\"\n",
        )
        .unwrap();
        let e = Site::<String>::from_toml_file(&path)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "{}: certificates[0] \"e\".key: a key needs its chain: give `file` (the PEM chain) instead of `sans`",
                path.display()
            )
        );
        std::fs::write(&path, "[knobs]\nsni = 1\n").unwrap();
        let e = Config::<String>::from_toml_file(&path)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("{}: ", path.display())) && e.contains("line 2"),
            "{e}"
        );
    }
}
