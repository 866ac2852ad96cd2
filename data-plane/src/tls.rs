//! TLS for the node, with rustls and the aws-lc-rs provider.
//!
//! - Outbound: one [`rustls::ClientConfig`], built once per node, used by
//!   the node's one outbound client ([`crate::upstream`]) for HTTP_PROXY
//!   integrations, JWKS fetches and custom authorizer calls alike. It
//!   trusts the operating system's roots plus an optional operator CA
//!   bundle (`--upstream-ca-file`), and
//!   always verifies the server's certificate and name: there is no switch
//!   that turns verification off. Backends are spoken to over HTTP/1.1
//!   (ALPN `http/1.1`).
//! - Inbound: a [`rustls::ServerConfig`] from a PEM certificate chain and
//!   key (`--tls-cert`, `--tls-key`), offering ALPN `h2` and `http/1.1`.

use anyhow::{Context, anyhow};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::path::Path;
use std::sync::{Arc, OnceLock};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The outbound TLS configuration: the OS trust store, plus the PEM
/// certificates in `extra_ca` when given. Fails, naming the file, when the
/// file cannot be read or holds no usable CA certificate.
pub fn client_config(extra_ca: Option<&Path>) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::warn!(%error, "reading the operating system's trusted certificates");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    if ignored > 0 {
        tracing::debug!(
            ignored,
            "unusable certificates in the operating system's trust store"
        );
    }
    if let Some(path) = extra_ca {
        let certs = read_certificates(path)?;
        for cert in certs {
            roots.add(cert).with_context(|| {
                format!(
                    "{}: a certificate there is not usable as a trust anchor",
                    path.display()
                )
            })?;
        }
    }
    tracing::debug!(
        os_roots = added,
        operator_ca = extra_ca.map(|p| p.display().to_string()),
        "outbound TLS trust store ready"
    );
    if roots.is_empty() {
        tracing::warn!(
            "no trusted CA certificates (no OS trust store, no --upstream-ca-file): \
             every https:// backend, JWKS and authorizer will fail verification"
        );
    }
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The outbound configuration with the OS roots only, built once per
/// process, for clients made without a node's configuration (benchmarks,
/// `Default` impls).
pub fn default_client_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| client_config(None).expect("the OS roots alone always make a config"))
        .clone()
}

/// The listener TLS configuration: the certificate chain in `cert` (leaf
/// first) and the private key in `key`, both PEM; ALPN `h2` and `http/1.1`.
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let chain = read_certificates(cert)?;
    let private_key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow!("{}: no usable PEM private key: {e}", key.display()))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .with_context(|| {
            format!(
                "{} and {} are not a matching certificate and key",
                cert.display(),
                key.display()
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Every certificate in a PEM file; at least one.
fn read_certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow!("{}: not a PEM certificate file: {e}", path.display()))?;
    if certs.is_empty() {
        anyhow::bail!("{}: holds no PEM certificate", path.display());
    }
    Ok(certs)
}

/// A PEM bundle of CA certificates as text, for tonic's TLS (the config
/// stream to an `https://` control plane); refused, naming the file, when
/// it holds no certificate.
pub fn read_ca_pem(path: &Path) -> anyhow::Result<String> {
    let pem =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("{}: not a PEM certificate file: {e}", path.display()))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "{}: holds no PEM certificate",
        path.display()
    );
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_bad_ca_bundle_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let empty = file(dir.path(), "empty.pem", "no certificates here\n");
        let broken = file(
            dir.path(),
            "broken.pem",
            "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
        );
        let garbage = file(
            dir.path(),
            "garbage.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        for path in [&missing, &empty, &broken, &garbage] {
            let error = format!("{:#}", client_config(Some(path)).unwrap_err());
            assert!(
                error.contains(&path.display().to_string()),
                "{}: {error}",
                path.display()
            );
        }
    }

    #[test]
    fn a_bad_certificate_or_key_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let empty = file(dir.path(), "empty.pem", "");
        let missing = dir.path().join("missing-key.pem");
        let error = format!("{:#}", server_config(&empty, &missing).unwrap_err());
        assert!(error.contains("empty.pem"), "{error}");
        let cert = file(
            dir.path(),
            "cert.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        let error = format!("{:#}", server_config(&cert, &missing).unwrap_err());
        assert!(error.contains("missing-key.pem"), "{error}");
        let key = file(
            dir.path(),
            "key.pem",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        );
        let error = format!("{:#}", server_config(&cert, &key).unwrap_err());
        assert!(
            error.contains("cert.pem") && error.contains("key.pem"),
            "{error}"
        );
    }

    #[test]
    fn the_default_client_offers_http1_and_is_shared() {
        let a = default_client_config();
        let b = default_client_config();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }
}
