//! A test CA (rcgen) issuing server and client certificates, shared by the resumption tests.
//! Included with `#[path]` as `ca`.
#![allow(dead_code)]

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A self-signed CA.
pub struct Ca(pub rcgen::CertifiedIssuer<'static, rcgen::KeyPair>);

impl Ca {
    pub fn new(name: &str) -> Ca {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        Ca(
            rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap())
                .unwrap(),
        )
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.0.der().clone()
    }

    /// A certificate and its key: a server one for `names`, or a client one.
    pub fn issue(
        &self,
        names: &[&str],
        client: bool,
    ) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.extended_key_usages = vec![if client {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.0).unwrap();
        (
            cert.der().clone(),
            PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
    }

    /// A server certificate for `names` with its key, as rustls presents it.
    pub fn certified(&self, names: &[&str]) -> std::sync::Arc<rustls::sign::CertifiedKey> {
        let (cert, key) = self.issue(names, false);
        let provider = rustls::crypto::ring::default_provider();
        let signing = provider.key_provider.load_private_key(key).unwrap();
        std::sync::Arc::new(rustls::sign::CertifiedKey::new(vec![cert], signing))
    }
}
