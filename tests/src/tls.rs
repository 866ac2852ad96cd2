//! A throwaway PKI for TLS tests, made at run time with the `openssl`
//! command: a CA, and a server certificate for `localhost` and `127.0.0.1`
//! signed by it. Plus the rustls configurations the test side needs and an
//! HTTPS client that reports the protocol ALPN chose.

use crate::http_client::{Answer, DOMAIN};
use anyhow::{Context, bail};
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// PEM files in a folder of the test's.
#[derive(Debug, Clone)]
pub struct Pki {
    /// The CA certificate: what `--upstream-ca-file` takes.
    pub ca: PathBuf,
    /// The server certificate (SAN `localhost`, `127.0.0.1`), signed by the CA.
    pub cert: PathBuf,
    /// The server certificate's private key (PKCS#8, P-256).
    pub key: PathBuf,
}

fn openssl(args: &[&str], dir: &Path) -> anyhow::Result<()> {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .context("running openssl (install it: apt-get install openssl)")?;
    if !output.status.success() {
        bail!(
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

impl Pki {
    /// Makes a CA and a server certificate in `dir`.
    pub fn generate(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Archway Test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&ca, dir)?;
        let mut request = vec!["req", "-new"];
        request.extend(ec);
        request.extend([
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        openssl(&request, dir)?;
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n\
             basicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\n",
        )?;
        openssl(
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                "2",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.pem",
            ],
            dir,
        )?;
        Ok(Self {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        })
    }

    /// A server configuration with the server certificate, offering ALPN
    /// `h2` and `http/1.1`.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let chain = CertificateDer::pem_file_iter(&self.cert)
            .expect("server certificate")
            .collect::<Result<Vec<_>, _>>()
            .expect("server certificate");
        let key = PrivateKeyDer::from_pem_file(&self.key).expect("server key");
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("certificate and key");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(config)
    }

    /// A client configuration trusting only the CA, offering `alpn`.
    pub fn client_config(&self, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&self.ca).expect("CA certificate") {
            roots.add(cert.expect("CA certificate")).expect("usable CA");
        }
        let mut config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }

    /// The server certificate's key, for signing test JWTs (ES256).
    pub fn key_pem(&self) -> Vec<u8> {
        std::fs::read(&self.key).expect("server key")
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// One request over a fresh TLS connection to `addr` (verified as
/// `localhost`), for API `api_id` of a node: HTTP/2 when the handshake
/// chose `h2`, HTTP/1.1 otherwise. Returns the answer and the protocol ALPN
/// chose.
pub async fn https_get(
    config: Arc<rustls::ClientConfig>,
    addr: SocketAddr,
    api_id: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> anyhow::Result<(Answer, Option<Vec<u8>>)> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(ServerName::try_from("localhost")?, tcp)
        .await
        .context("TLS handshake")?;
    let alpn = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    let host = format!("{api_id}.{DOMAIN}");
    let response = if alpn.as_deref() == Some(b"h2") {
        // HTTP/2 names the host in :authority.
        let mut request = Request::get(format!("https://{host}{path}"));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await?;
        tokio::spawn(connection);
        sender
            .send_request(request.body(Full::new(Bytes::new()))?)
            .await?
    } else {
        let mut request = Request::get(path).header("host", host);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        sender
            .send_request(request.body(Full::new(Bytes::new()))?)
            .await?
    };
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        },
        alpn,
    ))
}
