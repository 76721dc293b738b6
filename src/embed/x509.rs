//! Subject Alternative Names read from a certificate (features `rustls`, `serde`), so a
//! [`CertificateConfig`] can come from the certificate the TLS layer presents instead of a SAN
//! list typed twice.
//!
//! Only the path to the SAN extension is walked (RFC 5280 §4.1, §4.2.1.6), with DER's rules on
//! lengths; the certificate's signature and validity are the TLS library's business. The input
//! is configuration, but it is still bounded: every length is checked against what remains.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::decision::server::CertificateConfig;
use crate::names::pattern::San;

/// id-ce-subjectAltName, 2.5.29.17 (RFC 5280 §4.2.1.6), as DER content octets.
const SAN_OID: &[u8] = &[0x55, 0x1d, 0x11];

/// A certificate whose DER does not have the shape RFC 5280 gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateError {
    /// What was expected where the walk stopped.
    pub expected: &'static str,
}

impl fmt::Display for CertificateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed certificate DER: expected {}", self.expected)
    }
}

impl std::error::Error for CertificateError {}

/// One DER element: its tag and contents.
struct Tlv<'a> {
    tag: u8,
    contents: &'a [u8],
}

/// Reads one element off the front of `input`; only single-byte tags (all X.509 needs).
fn next<'a>(input: &mut &'a [u8], expected: &'static str) -> Result<Tlv<'a>, CertificateError> {
    let err = CertificateError { expected };
    let (&tag, rest) = input.split_first().ok_or(err.clone())?;
    let (&first, mut rest) = rest.split_first().ok_or(err.clone())?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let octets = usize::from(first & 0x7f);
        if octets == 0 || octets > 4 || rest.len() < octets {
            return Err(err);
        }
        let (bytes, after) = rest.split_at(octets);
        rest = after;
        bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b))
    };
    if tag & 0x1f == 0x1f || rest.len() < len {
        return Err(err);
    }
    let (contents, after) = rest.split_at(len);
    *input = after;
    Ok(Tlv { tag, contents })
}

fn expect<'a>(
    input: &mut &'a [u8],
    tag: u8,
    expected: &'static str,
) -> Result<&'a [u8], CertificateError> {
    let tlv = next(input, expected)?;
    if tlv.tag == tag {
        Ok(tlv.contents)
    } else {
        Err(CertificateError { expected })
    }
}

/// The dNSName and iPAddress SANs of a DER certificate, each with its kind, in certificate
/// order. An iPAddress of a length other than 4 or 16 octets is left out (it names no address). Other name forms (email, URI, ...) are not names a host can
/// match (RFC 9525 §6.3) and are left out.
///
/// # Errors
/// A [`CertificateError`] when the DER is not a certificate.
pub fn certificate_sans(der: &[u8]) -> Result<Vec<San>, CertificateError> {
    let mut input = der;
    let mut cert = expect(&mut input, 0x30, "Certificate SEQUENCE")?;
    let mut tbs = expect(&mut cert, 0x30, "TBSCertificate SEQUENCE")?;
    let mut sans = Vec::new();
    while !tbs.is_empty() {
        let field = next(&mut tbs, "a TBSCertificate field")?;
        // extensions [3] EXPLICIT, the last field.
        if field.tag != 0xa3 {
            continue;
        }
        let mut explicit = field.contents;
        let mut extensions = expect(&mut explicit, 0x30, "Extensions SEQUENCE")?;
        while !extensions.is_empty() {
            let mut extension = expect(&mut extensions, 0x30, "Extension SEQUENCE")?;
            let oid = expect(&mut extension, 0x06, "extnID OBJECT IDENTIFIER")?;
            let mut value = next(&mut extension, "critical BOOLEAN or extnValue")?;
            if value.tag == 0x01 {
                value = next(&mut extension, "extnValue OCTET STRING")?;
            }
            if value.tag != 0x04 {
                return Err(CertificateError {
                    expected: "extnValue OCTET STRING",
                });
            }
            if oid != SAN_OID {
                continue;
            }
            let mut octets = value.contents;
            let mut names = expect(&mut octets, 0x30, "GeneralNames SEQUENCE")?;
            while !names.is_empty() {
                let name = next(&mut names, "GeneralName")?;
                match (name.tag, name.contents.len()) {
                    // dNSName [2] IMPLICIT IA5String
                    (0x82, _) => sans.push(San::Dns(name.contents.to_vec())),
                    // iPAddress [7] IMPLICIT OCTET STRING
                    (0x87, 4) => {
                        let octets: [u8; 4] = name.contents.try_into().unwrap_or_default();
                        sans.push(San::Ip(IpAddr::V4(Ipv4Addr::from(octets))));
                    }
                    (0x87, 16) => {
                        let octets: [u8; 16] = name.contents.try_into().unwrap_or_default();
                        sans.push(San::Ip(IpAddr::V6(Ipv6Addr::from(octets))));
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(sans)
}

/// The subject of a DER certificate as RFC 4514 writes a distinguished name: relative
/// distinguished names last first, `CN`, `O`, `OU`, `C`, `L`, `ST`, `DC`, `STREET`, `UID` by
/// name and other attribute types as dotted OIDs, string values escaped, other values as `#`
/// and their DER in hex (RFC 4514 §2.4).
///
/// # Errors
/// A [`CertificateError`] when the DER is not a certificate.
pub fn certificate_subject(der: &[u8]) -> Result<String, CertificateError> {
    let mut input = der;
    let mut cert = expect(&mut input, 0x30, "Certificate SEQUENCE")?;
    let mut tbs = expect(&mut cert, 0x30, "TBSCertificate SEQUENCE")?;
    // version [0] EXPLICIT (optional), serialNumber, signature, issuer, validity, subject.
    let mut field = next(&mut tbs, "TBSCertificate version or serialNumber")?;
    if field.tag == 0xa0 {
        field = next(&mut tbs, "serialNumber INTEGER")?;
    }
    if field.tag != 0x02 {
        return Err(CertificateError {
            expected: "serialNumber INTEGER",
        });
    }
    expect(&mut tbs, 0x30, "signature AlgorithmIdentifier")?;
    expect(&mut tbs, 0x30, "issuer Name")?;
    expect(&mut tbs, 0x30, "validity SEQUENCE")?;
    let mut name = expect(&mut tbs, 0x30, "subject Name")?;
    let mut rdns = Vec::new();
    while !name.is_empty() {
        let mut set = expect(&mut name, 0x31, "RelativeDistinguishedName SET")?;
        let mut attributes = Vec::new();
        while !set.is_empty() {
            let mut pair = expect(&mut set, 0x30, "AttributeTypeAndValue SEQUENCE")?;
            let oid = expect(&mut pair, 0x06, "AttributeType OBJECT IDENTIFIER")?;
            let kind = attribute_type(oid).ok_or(CertificateError {
                expected: "a minimal OBJECT IDENTIFIER of 64-bit arcs",
            })?;
            let value_start = pair;
            let value = next(&mut pair, "AttributeValue")?;
            // Nothing may hide after the value: what is shown is all there is.
            if !pair.is_empty() {
                return Err(CertificateError {
                    expected: "the end of AttributeTypeAndValue",
                });
            }
            let whole = &value_start[..value_start.len() - pair.len()];
            attributes.push(format!("{kind}={}", attribute_value(&value, whole)));
        }
        rdns.push(attributes.join("+"));
    }
    rdns.reverse();
    Ok(rdns.join(","))
}

/// RFC 4514 §3's short names for the common attribute types, else the dotted OID; `None`
/// for an OID that is not minimal DER (empty, an arc padded with a leading 0x80, an arc left
/// unfinished, an arc past 64 bits), which would render as another's.
fn attribute_type(oid: &[u8]) -> Option<String> {
    if oid.last().is_none_or(|b| b & 0x80 != 0) {
        return None;
    }
    let mut arc_start = true;
    for &b in oid {
        if arc_start && b == 0x80 {
            return None;
        }
        arc_start = b & 0x80 == 0;
    }
    let short = match oid {
        [0x55, 0x04, 0x03] => "CN",
        [0x55, 0x04, 0x07] => "L",
        [0x55, 0x04, 0x08] => "ST",
        [0x55, 0x04, 0x0a] => "O",
        [0x55, 0x04, 0x0b] => "OU",
        [0x55, 0x04, 0x06] => "C",
        [0x55, 0x04, 0x09] => "STREET",
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC",
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01] => "UID",
        _ => return dotted(oid),
    };
    Some(short.to_string())
}

/// The dotted form of a minimal OID's content octets; `None` when an arc passes 64 bits.
fn dotted(oid: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut arc: u64 = 0;
    for &b in oid {
        arc = arc.checked_mul(128)?.checked_add(u64::from(b & 0x7f))?;
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (arc / 40).min(2);
                arcs.push(first);
                arcs.push(arc - first * 40);
            } else {
                arcs.push(arc);
            }
            arc = 0;
        }
    }
    Some(
        arcs.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// A string value escaped as RFC 4514 §2.4 says; anything else `#` and its DER in hex.
fn attribute_value(value: &Tlv<'_>, whole: &[u8]) -> String {
    // UTF8String, PrintableString, TeletexString (read as Latin-1 would be a guess: only
    // ASCII is taken as text), IA5String.
    let text = match value.tag {
        0x0c | 0x13 | 0x14 | 0x16 => core::str::from_utf8(value.contents).ok(),
        _ => None,
    };
    let Some(text) = text.filter(|t| value.tag == 0x0c || t.is_ascii()) else {
        return format!(
            "#{}",
            whole.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
    };
    let mut out = String::with_capacity(text.len());
    let last = text.chars().count().saturating_sub(1);
    for (i, c) in text.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' | ' ' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            ' ' if i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            // Controls, and the format characters that change how text reads without being
            // seen (soft hyphen, zero-width, bidirectional controls, the BOM): escaped, so
            // one subject never looks like another.
            c if c.is_control()
                || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
                    | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}') =>
            {
                let mut buf = [0; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:02x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

impl CertificateConfig {
    /// A certificate with the SANs of a DER certificate.
    ///
    /// # Errors
    /// A [`CertificateError`] when the DER is not a certificate.
    pub fn from_der(id: &str, der: &[u8]) -> Result<Self, CertificateError> {
        Ok(CertificateConfig {
            id: id.to_string(),
            sans: certificate_sans(der)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(names: &[&str], ips: &[&str]) -> Vec<u8> {
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        for ip in ips {
            params
                .subject_alt_names
                .push(rcgen::SanType::IpAddress(ip.parse().unwrap()));
        }
        params.subject_alt_names.push(rcgen::SanType::Rfc822Name(
            "ops@example.com".try_into().unwrap(),
        ));
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn reads_dns_and_ip_sans_in_order() {
        let der = cert(
            &["a.example.test", "*.example.test"],
            &["192.0.2.1", "2001:db8::1"],
        );
        let sans = certificate_sans(&der).unwrap();
        assert_eq!(
            sans,
            [
                San::Dns(b"a.example.test".to_vec()),
                San::Dns(b"*.example.test".to_vec()),
                San::Ip("192.0.2.1".parse().unwrap()),
                San::Ip("2001:db8::1".parse().unwrap()),
            ]
        );
    }

    #[test]
    fn a_dns_name_that_reads_as_an_address_stays_a_dns_name() {
        // The hostile review's certificate: its only SAN is the dNSName "192.0.2.1" (rcgen
        // reads address text as an iPAddress, so the dNSName is written explicitly).
        let mut params = rcgen::CertificateParams::default();
        params.subject_alt_names = vec![rcgen::SanType::DnsName(
            "192.0.2.1".to_string().try_into().unwrap(),
        )];
        let key = rcgen::KeyPair::generate().unwrap();
        let der = params.self_signed(&key).unwrap().der().to_vec();
        assert_eq!(
            certificate_sans(&der).unwrap(),
            [San::Dns(b"192.0.2.1".to_vec())]
        );
    }

    #[test]
    fn truncated_or_foreign_der_is_an_error_not_a_panic() {
        let der = cert(&["a.example.test"], &[]);
        for cut in 0..der.len() {
            // The outer length no longer fits: every strict prefix is refused.
            assert!(
                certificate_sans(&der[..cut]).is_err(),
                "prefix of {cut} bytes"
            );
        }
        assert!(certificate_sans(b"").is_err());
        assert!(certificate_sans(b"\x30\x84\xff\xff\xff\xff").is_err());
        assert!(certificate_sans(&[0x30; 64]).is_err());
        let err = certificate_sans(b"-----BEGIN CERTIFICATE-----").unwrap_err();
        assert_eq!(err.expected, "Certificate SEQUENCE");
    }

    #[test]
    fn the_subject_reads_as_rfc_4514_writes_it() {
        let mut params = rcgen::CertificateParams::new(vec!["a.example".to_string()]).unwrap();
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CountryName, "DE");
        dn.push(rcgen::DnType::OrganizationName, "Partner, Inc.");
        dn.push(rcgen::DnType::CommonName, " #client+1 ");
        params.distinguished_name = dn;
        let key = rcgen::KeyPair::generate().unwrap();
        let der = params.self_signed(&key).unwrap().der().to_vec();
        assert_eq!(
            certificate_subject(&der).unwrap(),
            "CN=\\ #client\\+1\\ ,O=Partner\\, Inc.,C=DE"
        );
        for cut in 0..der.len() {
            assert!(
                certificate_subject(&der[..cut]).is_err(),
                "prefix of {cut} bytes"
            );
        }
        assert_eq!(
            dotted(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]).as_deref(),
            Some("1.2.840.113549")
        );
        // Hostile review of issue 23: OIDs that would render as another's are refused.
        for oid in [
            &[][..],
            &[0x55, 0x04, 0x03, 0x80],
            &[0x55, 0x80, 0x04, 0x2a],
            &[
                0x2a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
            ],
        ] {
            assert_eq!(attribute_type(oid), None, "{oid:02x?}");
        }
        assert_eq!(
            attribute_type(&[0x55, 0x04, 0x2a]).as_deref(),
            Some("2.5.4.42")
        );
        let value = Tlv {
            tag: 0x0c,
            contents: "a\u{202e}b\u{200b}".as_bytes(),
        };
        assert_eq!(attribute_value(&value, &[]), "a\\e2\\80\\aeb\\e2\\80\\8b");
    }
}
