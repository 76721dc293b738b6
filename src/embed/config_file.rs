//! The server configuration from TOML (feature `serde`).
//!
//! ```toml
//! # TLS policy ids; when left out, those the virtual hosts name, in order of appearance.
//! policies = ["public", "mtls"]
//!
//! [knobs]                          # every knob is optional; these are the defaults
//! sni = "compatible"               # strict | same-vhost | cert-covered | compatible | insecure
//! unknown_host = "misdirected"     # misdirected | not-found | { fallback = "vhost name" }
//! strict_host_consistency = true
//! opportunistic_http = false
//! http10_default_vhost = false
//! wire_unicode = "reject"          # reject | convert
//!
//! [[listeners]]
//! name = "tls"
//! tls = true
//! port = 443
//! origin_ports = [443]             # optional; default [port]
//! default_tls_vhost = "a"          # optional
//! default_vhost = "a"              # optional (HTTP/1.0 without Host)
//! fallback = "a"                   # optional: serves unknown hosts on this listener
//!
//! [[certificates]]
//! id = "wildcard"
//! sans = ["*.example.com"]         # either the SANs (an address is an iPAddress SAN)...
//!
//! [[certificates]]
//! id = "other"
//! file = "certs/other.pem"         # ...or a PEM file (relative to the configuration file),
//!                                  # whose first certificate's SANs are read
//!
//! [[vhosts]]
//! name = "a"
//! names = ["a.example.com"]
//! https_ports = [443]              # optional; default [443]
//! http_ports = []                  # optional
//! policy = "public"
//! value = "anything the embedder's T deserializes from"   # optional; default T::default()
//! ```
//!
//! Unknown keys are errors (a misspelt knob must not silently keep its default). Syntax and
//! type errors carry the TOML parser's line and column; errors found after parsing name the
//! entry (`certificates[1] "other"`), and [`Server::build`](crate::Server::build) names the
//! virtual hosts, certificates and listeners involved in its own errors.

use core::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::decision::server::{
    CertificateConfig, Config, Knobs, ListenerConfig, SniPolicy, UnknownHost, VhostConfig,
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
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Io { error, .. } => Some(error),
            ConfigError::Toml(e) => Some(e),
            ConfigError::Certificate { error, .. } => Some(error),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, bound = "T: Deserialize<'de> + Default")]
struct File<T> {
    #[serde(default)]
    policies: Option<Vec<String>>,
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
        let file: File<T> = toml::from_str(text).map_err(ConfigError::Toml)?;
        let mut certificates = Vec::new();
        for (i, cert) in file.certificates.into_iter().enumerate() {
            let entry = format!("certificates[{i}] {:?}", cert.id);
            let sans = match (cert.sans, cert.file) {
                (Some(sans), None) => sans
                    .iter()
                    .map(|san| San::from_text(san.as_bytes()))
                    .collect(),
                (None, Some(path)) => read_sans(&entry, &base.join(path))?,
                _ => return Err(ConfigError::CertificateSource { entry }),
            };
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
        let policies = file.policies.unwrap_or_else(|| {
            let mut policies: Vec<String> = Vec::new();
            for v in &vhosts {
                if !policies.contains(&v.policy) {
                    policies.push(v.policy.clone());
                }
            }
            policies
        });
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
        Ok(Config {
            listeners,
            vhosts,
            certificates,
            policies,
            knobs,
        })
    }

    /// Reads a configuration file; certificate files are read relative to its directory.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the file, the line or the entry.
    pub fn from_toml_file(path: &Path) -> Result<Config<T>, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        Config::from_toml(&text, path.parent().unwrap_or(Path::new(".")))
    }
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
}
