//! HTTPS on request: a self-signed certificate for `127.0.0.1` and `localhost`, made at
//! start and written to a file clients can be told to trust.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// Makes a fresh certificate, writes it (PEM) to `path`, and returns an acceptor that
/// serves it.
pub(crate) fn acceptor(path: &Path) -> Result<TlsAcceptor, String> {
    let made =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .map_err(|e| e.to_string())?;
    std::fs::write(path, made.cert.pem())
        .map_err(|e| format!("cannot write the certificate to {}: {e}", path.display()))?;
    let key = pki_types::PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(vec![made.cert.der().clone()], key)
    .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
