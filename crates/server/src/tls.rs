//! TLS for the store (rustls, ring): the certificate and key read from PEM files and read
//! again when those files change, so a renewed certificate (certbot, an operator's copy)
//! takes effect without a restart and without dropping a connection.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Where the store's certificate (chain, leaf first) and private key are, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// How often the files are checked for a change.
    pub reload_every: Duration,
}

/// A certificate or key that cannot be used, in words naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {why}")]
pub struct TlsError {
    /// The file at fault.
    pub path: String,
    /// What is wrong with it.
    pub why: String,
}

impl TlsFiles {
    /// Whether the files hold a certificate chain and the key that goes with it.
    pub fn check(&self) -> Result<(), TlsError> {
        load(self).map(|_| ())
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load(files: &TlsFiles) -> Result<CertifiedKey, TlsError> {
    let at = |path: &Path, why: String| TlsError {
        path: path.display().to_string(),
        why,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| at(&files.cert, format!("cannot read it ({e})")))?
        .collect::<Result<_, _>>()
        .map_err(|e| at(&files.cert, format!("not a PEM certificate chain ({e})")))?;
    if certs.is_empty() {
        return Err(at(
            &files.cert,
            "holds no certificate (expected -----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| at(&files.key, format!("not a PEM private key ({e})")))?;
    CertifiedKey::from_der(certs, key, &provider()).map_err(|e| {
        at(
            &files.key,
            format!("does not go with {}: {e}", files.cert.display()),
        )
    })
}

/// The certificate in use, swapped when its files change.
#[derive(Debug)]
struct Reloading {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        ))
    }
}

/// What identifies a version of the files: their modification times and sizes.
fn stamp(files: &TlsFiles) -> Option<[(SystemTime, u64); 2]> {
    let of = |p: &Path| {
        let m = std::fs::metadata(p).ok()?;
        Some((m.modified().ok()?, m.len()))
    };
    Some([of(&files.cert)?, of(&files.key)?])
}

/// A TLS configuration serving `files`' certificate (HTTP/2 and HTTP/1.1 by ALPN), and a
/// task to run beside the server that reloads them when they change.
pub fn server_config(
    files: &TlsFiles,
) -> Result<(Arc<ServerConfig>, impl Future<Output = ()> + Send + 'static), TlsError> {
    let resolver = Arc::new(Reloading {
        files: files.clone(),
        current: RwLock::new(Arc::new(load(files)?)),
    });
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError {
            path: files.cert.display().to_string(),
            why: e.to_string(),
        })?
        .with_no_client_auth()
        .with_cert_resolver(Arc::clone(&resolver) as Arc<dyn ResolvesServerCert>);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let watch = async move {
        let mut seen = stamp(&resolver.files);
        let mut tick = tokio::time::interval(resolver.files.reload_every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let now = stamp(&resolver.files);
            if now == seen {
                continue;
            }
            seen = now;
            // A renewal writes two files: a pair that does not go together yet is refused, and
            // read again when the second file changes.
            match load(&resolver.files) {
                Ok(key) => {
                    *resolver
                        .current
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(key);
                    tracing::info!(cert = %resolver.files.cert.display(), "TLS certificate reloaded");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the changed TLS certificate cannot be used yet; the previous one stays");
                }
            }
        }
    };
    Ok((Arc::new(config), watch))
}
