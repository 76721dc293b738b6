//! rustls-webpki's certificate name check, the one rustls runs on a server certificate.
//!
//! **Called:** `webpki::EndEntityCert::try_from(&der)` on a certificate whose one SAN is the
//! pattern, then `EndEntityCert::verify_is_valid_for_subject_name(&server_name)` with
//! `rustls_pki_types::ServerName::try_from(host)`.
//!
//! **Mapping:** the certificate is made by `rcgen::CertificateParams::new(vec![pattern])`
//! and `self_signed` (one key for the whole run): rcgen writes text that is an IP address as
//! an iPAddress SAN and anything else as a dNSName, which is how the kit reads a pattern (an
//! address pattern is an iPAddress SAN). A pattern rcgen refuses (non-ASCII: a dNSName is an
//! IA5String) cannot be put in a certificate, so it matches nothing. Certificates are made
//! once per pattern and kept in a map. The kit hands canonical hosts (`canonical_hosts`):
//! webpki sits behind a parser, since rustls is handed a `ServerName` that the client made
//! from its URL's host, never a wire `Host` (so no trailing dot or capitals come to it from
//! the wire, and an IPv6 address comes without brackets). The host is handed to
//! `ServerName::try_from` as the kit gives it, except that the brackets around an IPv6 host are
//! removed, as a client does when it turns a URI's host into a `ServerName` (rustls has no
//! bracketed form); a host `ServerName` refuses matches nothing, since rustls cannot be asked
//! about it. A match is `Ok(())`.
//!
//! **Facts relied on:** `rustls-webpki-0.103.17/src/end_entity.rs`,
//! `verify_is_valid_for_subject_name`: a `DnsName` goes to `verify_dns_names`, an
//! `IpAddress` to `verify_ip_address_names` (SANs only, no CN); `rustls-pki-types-1.16.0/
//! src/server_name.rs`, `ServerName::try_from(&str)`: a `DnsName` first (`validate`: ASCII
//! letters, digits, `_`, `-` not at a label's end, one trailing dot allowed, 253 octets with
//! it, the last label not numeric), else an `IpAddr`; `rcgen-0.14.10/src/certificate.rs`,
//! `CertificateParams::new`: `IpAddr::from_str` decides iPAddress against dNSName, and a
//! dNSName must be an `Ia5String` (ASCII).

use std::collections::HashMap;

use misdirect_testkit::{Divergence, Options, Report, check_matcher};
use rustls_pki_types::{CertificateDer, ServerName};

use crate::Subject;

/// The crate's subjects: one, `verify_is_valid_for_subject_name`.
#[must_use]
pub fn subjects() -> Vec<Subject> {
    vec![Subject {
        package: "rustls-webpki",
        requirement: "0.103.",
        function: "`EndEntityCert::verify_is_valid_for_subject_name` (rcgen certificate, SAN = pattern)",
        run,
        reading: super::no_reading,
    }]
}

/// Certificates made so far, by pattern (`None`: rcgen refused the pattern).
pub struct Certificates {
    key: Option<rcgen::KeyPair>,
    made: HashMap<String, Option<CertificateDer<'static>>>,
}

impl Default for Certificates {
    fn default() -> Self {
        Certificates {
            key: rcgen::KeyPair::generate().ok(),
            made: HashMap::new(),
        }
    }
}

impl Certificates {
    fn certificate(&mut self, pattern: &str) -> Option<&CertificateDer<'static>> {
        let key = self.key.as_ref()?;
        self.made
            .entry(pattern.to_string())
            .or_insert_with(|| {
                let params = rcgen::CertificateParams::new(vec![pattern.to_string()]).ok()?;
                params.self_signed(key).ok().map(|c| c.der().clone())
            })
            .as_ref()
    }

    /// The adapter: whether a certificate whose one SAN is `pattern` is valid for `host`.
    pub fn matches(&mut self, pattern: &str, host: &str) -> bool {
        let Some(der) = self.certificate(pattern) else {
            return false;
        };
        let Ok(certificate) = webpki::EndEntityCert::try_from(der) else {
            return false;
        };
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let Ok(name) = ServerName::try_from(host) else {
            return false;
        };
        certificate.verify_is_valid_for_subject_name(&name).is_ok()
    }
}

fn run(mut options: Options) -> Result<Report, Divergence> {
    options.canonical_hosts = true;
    let mut certificates = Certificates::default();
    check_matcher(options, |pattern, host| certificates.matches(pattern, host))
}
