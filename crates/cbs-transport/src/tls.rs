//! The rustls client configuration: which roots to trust.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Builds the client TLS configuration with the `ring` provider, trusting the bundled
/// roots (per the crate's features) and the caller's extra certificates.
pub(crate) fn client_config(
    extra_roots: &[CertificateDer<'static>],
    builtin_roots: bool,
) -> Result<rustls::ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    if builtin_roots {
        #[cfg(feature = "webpki-roots")]
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        #[cfg(feature = "native-roots")]
        {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // A platform certificate rustls cannot use is skipped, as browsers do.
                let _ = roots.add(cert);
            }
        }
    }
    for cert in extra_roots {
        roots
            .add(cert.clone())
            .map_err(|e| format!("the added root certificate is not usable: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Every certificate of a PEM bundle, or the bytes as one DER certificate.
pub(crate) fn parse_certificates(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    if bytes.starts_with(b"-----") || bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(bytes).collect();
        let certs = certs.map_err(|e| format!("the PEM certificate bundle is malformed: {e}"))?;
        if certs.is_empty() {
            return Err("the PEM bundle holds no certificate".into());
        }
        return Ok(certs);
    }
    Ok(vec![CertificateDer::from(bytes.to_vec())])
}
