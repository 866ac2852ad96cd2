//! TLS, with a CA and certificates made by openssl at run time: nodes reach
//! https:// backends, custom authorizers and JWKS only when they trust the
//! issuing CA (`--upstream-ca-file`), and serve HTTPS themselves with
//! `--tls-cert`/`--tls-key` — HTTP/1.1 and HTTP/2 by ALPN, telling backends
//! `X-Forwarded-Proto: https` and resource policies `aws:SecureTransport`.

use archway_e2e::admin::{authorizer, http_proxy};
use archway_e2e::http_client::GatewayClient;
use archway_e2e::metrics::{sample, scrape};
use archway_e2e::process::bin_dir;
use archway_e2e::tls::{Pki, https_get};
use archway_e2e::{Admin, ControlPlane, DataPlane, now, upstream};
use archway_proto::v1::*;
use bytes::Bytes;
use http::StatusCode;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "tls-tests";

fn path_arg(path: &std::path::Path) -> String {
    path.display().to_string()
}

/// A control plane with two nodes: one trusting `pki`'s CA for outbound
/// TLS (`--upstream-ca-file`), one with the operating system's roots only.
async fn trusting_and_untrusting(
    dir: &std::path::Path,
    pki: &Pki,
) -> anyhow::Result<(ControlPlane, DataPlane, DataPlane, Admin)> {
    let cp = ControlPlane::start(&dir.join("cp"))?;
    let ca = path_arg(&pki.ca);
    let trusting = DataPlane::start(
        &cp.url(),
        "trusting",
        &dir.join("trusting"),
        &["--upstream-ca-file", &ca],
    )?;
    let untrusting = DataPlane::start(&cp.url(), "untrusting", &dir.join("untrusting"), &[])?;
    let admin = Admin::connect(&cp.url()).await?;
    Ok((cp, trusting, untrusting, admin))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_backends_are_reached_only_through_a_trusted_ca() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::generate(&dir.path().join("pki"))?;
    let backend = upstream::start_tls("secure-backend", pki.server_config()).await;
    let (_cp, trusting, untrusting, mut admin) = trusting_and_untrusting(dir.path(), &pki).await?;
    let api = admin.create_api("secure", ApiProtocol::Http).await?;
    // By IP (checked against the certificate's IP SAN) and by name.
    admin
        .route(
            &api,
            "/by-ip/{proxy+}",
            "ANY",
            http_proxy(&format!(
                "https://127.0.0.1:{}/{{proxy}}",
                backend.addr.port()
            )),
        )
        .await?;
    admin
        .route(
            &api,
            "/by-name",
            "GET",
            http_proxy(&format!("https://localhost:{}/named", backend.addr.port())),
        )
        .await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["trusting", "untrusting"]).await?;

    let client = GatewayClient::default();
    let answer = client
        .send(
            trusting.addr(),
            "secure",
            "POST",
            "/prod/by-ip/echo/this?x=1",
            "hello",
        )
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let echo = answer.json();
    assert_eq!(echo["upstream"], "secure-backend");
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/echo/this");
    assert_eq!(echo["query"], "x=1");
    assert_eq!(echo["body"], "hello");
    // The client came in cleartext.
    assert_eq!(echo["headers"]["x-forwarded-proto"], "http");
    let answer = client
        .get(trusting.addr(), "secure", "/prod/by-name")
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.json()["path"], "/named");
    let hits = backend.hits.load(Ordering::Relaxed);
    assert_eq!(hits, 2);

    // A node that does not trust the CA never talks to the backend.
    for path in ["/prod/by-ip/echo", "/prod/by-name"] {
        let answer = client.get(untrusting.addr(), "secure", path).await?;
        assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{}", answer.body);
        assert!(!answer.body.contains("secure-backend"), "{}", answer.body);
        assert!(!answer.headers.contains_key("x-upstream"));
        assert_eq!(
            answer.headers["x-amzn-errortype"], "IntegrationFailureException",
            "{:?}",
            answer.headers
        );
    }
    assert_eq!(backend.hits.load(Ordering::Relaxed), hits);
    Ok(())
}

/// An HTTPS service playing both the identity provider (`/jwks`) and a
/// TOKEN authorizer (`/authorize`: token `good` is allowed everything,
/// anything else gets 401). Counts the requests it answered.
async fn identity_service(
    tls: Arc<rustls::ServerConfig>,
    jwks: String,
    answered: Arc<AtomicU32>,
) -> SocketAddr {
    archway_e2e::serve::spawn(Some(tls), move |req| {
        let (jwks, answered) = (jwks.clone(), answered.clone());
        async move {
            answered.fetch_add(1, Ordering::Relaxed);
            let (status, body) = match req.uri().path() {
                "/jwks" => (200, jwks),
                "/authorize" => {
                    let event: serde_json::Value =
                        serde_json::from_slice(req.body()).unwrap_or_default();
                    if event["authorizationToken"] == "good" {
                        let policy = json!({"Version": "2012-10-17", "Statement": [
                            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}
                        ]});
                        (
                            200,
                            json!({"principalId": "tls-user", "policyDocument": policy})
                                .to_string(),
                        )
                    } else {
                        (401, r#"{"message":"Unauthorized"}"#.to_owned())
                    }
                }
                _ => (404, String::new()),
            };
            archway_e2e::serve::answer(status, body)
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_authorizers_and_jwks_are_verified_against_the_operator_ca() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::generate(&dir.path().join("pki"))?;
    // The test signs its tokens with the server certificate's key (ES256).
    let signing_key = EncodingKey::from_ec_pem(&pki.key_pem())?;
    let mut jwk = Jwk::from_encoding_key(&signing_key, Algorithm::ES256)?;
    jwk.common.key_id = Some("k1".into());
    let jwks = serde_json::to_string(&JwkSet { keys: vec![jwk] })?;
    let answered = Arc::new(AtomicU32::new(0));
    let idp = identity_service(pki.server_config(), jwks, answered.clone()).await;
    let backend = upstream::start("backend").await;
    let (_cp, trusting, untrusting, mut admin) = trusting_and_untrusting(dir.path(), &pki).await?;
    let api = admin.create_api("guarded", ApiProtocol::Rest).await?;

    let jwt_authorizer = Authorizer {
        api_id: api.id.clone(),
        name: "users".into(),
        r#type: AuthorizerType::Jwt as i32,
        jwt: Some(JwtConfiguration {
            issuer: ISSUER.into(),
            audiences: vec![AUDIENCE.into()],
            // By name: checked against the certificate's DNS SAN.
            jwks_uri: format!("https://localhost:{}/jwks", idp.port()),
            algorithms: vec!["ES256".into()],
            leeway_seconds: 0,
        }),
        ..Default::default()
    };
    let authorize_uri = format!("https://127.0.0.1:{}/authorize", idp.port());
    let token_authorizer = Authorizer {
        identity_source: "method.request.header.Authorization".into(),
        result_ttl_seconds: Some(0),
        timeout_ms: 2000,
        ..authorizer(&api, "tokens", AuthorizerType::Token, &authorize_uri)
    };
    // The control plane takes https:// URLs now, and still refuses other
    // schemes, naming the field.
    for (bad, field) in [
        (
            Authorizer {
                jwt: Some(JwtConfiguration {
                    jwks_uri: format!("ftp://localhost:{}/jwks", idp.port()),
                    ..jwt_authorizer.jwt.clone().unwrap()
                }),
                ..jwt_authorizer.clone()
            },
            "authorizer.jwt.jwks_uri:",
        ),
        (
            Authorizer {
                authorizer_uri: "ftp://127.0.0.1/authorize".into(),
                ..token_authorizer.clone()
            },
            "authorizer.authorizer_uri:",
        ),
    ] {
        let status = admin.create_authorizer(bad).await.expect_err("refused");
        assert!(status.to_string().contains(field), "{field}: {status}");
    }
    let refused = admin
        .route(&api, "/ftp", "GET", http_proxy("ftp://127.0.0.1/x"))
        .await
        .expect_err("ftp integration refused");
    assert!(
        refused.to_string().contains("method.integration.uri"),
        "{refused}"
    );
    let jwt = admin.create_authorizer(jwt_authorizer).await?;
    let tokens = admin.create_authorizer(token_authorizer).await?;
    for (path, kind, authorizer) in [("/jwt", "JWT", &jwt), ("/custom", "CUSTOM", &tokens)] {
        let method = admin
            .route(
                &api,
                path,
                "GET",
                http_proxy(&format!("http://{}{path}", backend.addr)),
            )
            .await?;
        admin
            .apis
            .put_method(PutMethodRequest {
                method: Some(Method {
                    authorization_type: kind.into(),
                    authorizer_id: authorizer.id.clone(),
                    ..method
                }),
            })
            .await?;
    }
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["trusting", "untrusting"]).await?;

    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("k1".into());
    let token = jsonwebtoken::encode(
        &header,
        &json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": now() + 600, "nbf": now() - 10}),
        &signing_key,
    )?;
    let bearer = format!("Bearer {token}");
    let client = GatewayClient::default();
    let get = |node: &DataPlane, path: &'static str, auth: Option<String>| {
        let (client, addr) = (client.clone(), node.addr());
        async move {
            let headers: Vec<(&str, &str)> = auth
                .as_deref()
                .map(|a| vec![("authorization", a)])
                .unwrap_or_default();
            client
                .send_with_headers(addr, "guarded", "GET", path, Bytes::new(), &headers)
                .await
                .unwrap()
        }
    };

    // Trusting the CA: the JWKS is fetched and the authorizer asked over TLS.
    let answer = get(&trusting, "/prod/jwt", Some(bearer.clone())).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.json()["headers"]["x-archway-principal"], "alice");
    let answer = get(&trusting, "/prod/custom", Some("good".into())).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.json()["headers"]["x-archway-principal"], "tls-user");
    let answer = get(&trusting, "/prod/custom", Some("bad".into())).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    let answer = get(&trusting, "/prod/jwt", None).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    let seen = answered.load(Ordering::Relaxed);
    assert_eq!(seen, 3, "one JWKS fetch and two authorizer calls");

    // Not trusting it: no key set, no authorizer answer, no request served.
    let answer = get(&untrusting, "/prod/jwt", Some(bearer)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    let answer = get(&untrusting, "/prod/custom", Some("good".into())).await;
    assert_eq!(
        answer.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        answer.body
    );
    assert_eq!(
        answer.headers["x-amzn-errortype"],
        "AuthorizerFailureException"
    );
    assert_eq!(answered.load(Ordering::Relaxed), seen);

    // Every call above went through the node's one outbound client, and
    // its metrics say so by purpose: what was answered, and what failed
    // how (the untrusting node's handshakes).
    let requests = "archway_outbound_requests_total";
    let errors = "archway_outbound_errors_total";
    let metrics = scrape(trusting.admin_addr()).await?;
    for (purpose, outcome, count) in [
        ("jwks", "2xx", 1.0),
        ("authorizer", "2xx", 1.0),
        ("authorizer", "4xx", 1.0),
        ("integration", "2xx", 2.0),
    ] {
        let labels = [("purpose", purpose), ("outcome", outcome)];
        assert_eq!(
            sample(&metrics, requests, &labels),
            Some(count),
            "{purpose} {outcome}"
        );
        assert_eq!(
            sample(&metrics, "archway_outbound_duration_seconds", &labels),
            Some(count),
            "{purpose} {outcome}"
        );
    }
    assert_eq!(
        sample(&metrics, requests, &[("outcome", "error")]),
        None,
        "the trusting node's calls all succeeded"
    );
    let connections = |purpose, state| {
        let labels = [("purpose", purpose), ("state", state)];
        sample(&metrics, "archway_outbound_connections_total", &labels).unwrap_or(0.0)
    };
    assert_eq!(connections("jwks", "opened"), 1.0);
    assert_eq!(connections("authorizer", "opened"), 1.0);
    assert_eq!(connections("integration", "opened"), 1.0);
    assert_eq!(
        connections("authorizer", "reused") + connections("integration", "reused"),
        2.0,
        "the second authorizer call and the second integration reuse a connection"
    );
    let metrics = scrape(untrusting.admin_addr()).await?;
    for purpose in ["jwks", "authorizer"] {
        let labels = [("purpose", purpose), ("outcome", "error")];
        assert_eq!(sample(&metrics, requests, &labels), Some(1.0), "{purpose}");
        let labels = [("purpose", purpose), ("kind", "tls")];
        assert_eq!(sample(&metrics, errors, &labels), Some(1.0), "{purpose}");
    }
    assert_eq!(
        sample(&metrics, requests, &[("purpose", "integration")]),
        None
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_serve_https_over_http1_and_http2() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::generate(&dir.path().join("pki"))?;
    let backend = upstream::start("backend").await;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let (cert, key) = (path_arg(&pki.cert), path_arg(&pki.key));
    let secure = DataPlane::start_with_private(
        &cp.url(),
        "secure",
        &dir.path().join("secure"),
        &["--tls-cert", &cert, "--tls-key", &key],
    )?;
    let plain = DataPlane::start(&cp.url(), "plain", &dir.path().join("plain"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    // Only callers over TLS may invoke this API.
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
         "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    ]});
    let api = admin
        .apis
        .create_rest_api(CreateRestApiRequest {
            id: "tlsonly".into(),
            name: "tlsonly".into(),
            protocol: ApiProtocol::Rest as i32,
            policy: policy.to_string(),
            ..Default::default()
        })
        .await?
        .into_inner();
    admin
        .route(
            &api,
            "/echo",
            "GET",
            http_proxy(&format!("http://{}/echo", backend.addr)),
        )
        .await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["secure", "plain"]).await?;

    let http1 = pki.client_config(&[b"http/1.1"]);
    let http2 = pki.client_config(&[b"h2", b"http/1.1"]);
    for (config, alpn, version) in [
        (&http1, &b"http/1.1"[..], "HTTP/1.1"),
        (&http2, &b"h2"[..], "HTTP/2"),
    ] {
        let (answer, chosen) =
            https_get(config.clone(), secure.addr(), "tlsonly", "/prod/echo", &[]).await?;
        assert_eq!(chosen.as_deref(), Some(alpn), "{version}");
        assert_eq!(answer.status, StatusCode::OK, "{version}: {}", answer.body);
        let echo = answer.json();
        assert_eq!(echo["upstream"], "backend");
        assert_eq!(echo["headers"]["x-forwarded-proto"], "https", "{version}");
        assert!(answer.headers.contains_key("x-amzn-requestid"));
    }
    // The private listener serves HTTPS too.
    let (answer, _) = https_get(
        http2.clone(),
        secure.private_addr(),
        "tlsonly",
        "/prod/echo",
        &[],
    )
    .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // aws:SecureTransport is false in the clear.
    let answer = GatewayClient::default()
        .get(plain.addr(), "tlsonly", "/prod/echo")
        .await?;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);

    // Cleartext HTTP (and h2c) to the TLS port fails cleanly: the
    // connection closes without an HTTP answer, and the node goes on.
    for preface in [
        &b"GET /prod/echo HTTP/1.1\r\nhost: tlsonly.execute-api.localhost\r\n\r\n"[..],
        &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..],
    ] {
        let mut tcp = tokio::net::TcpStream::connect(secure.addr()).await?;
        tcp.write_all(preface).await?;
        let mut got = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(15), tcp.read_to_end(&mut got)).await;
        assert!(closed.is_ok(), "the node kept a non-TLS connection open");
        assert!(
            !got.starts_with(b"HTTP/"),
            "{:?}",
            String::from_utf8_lossy(&got)
        );
    }
    let answer = GatewayClient::default()
        .get(secure.addr(), "tlsonly", "/prod/echo")
        .await;
    assert!(answer.is_err(), "cleartext answered: {answer:?}");
    // A client trusting another CA (not none at all, which would fail
    // against any server) does not accept the node's certificate.
    let other_ca = Pki::generate(&dir.path().join("other-pki"))?;
    let stranger = other_ca.client_config(&[b"http/1.1"]);
    assert!(
        https_get(stranger, secure.addr(), "tlsonly", "/prod/echo", &[])
            .await
            .is_err()
    );
    let (answer, _) = https_get(http1, secure.addr(), "tlsonly", "/prod/echo", &[]).await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    Ok(())
}

#[test]
fn a_bad_tls_file_stops_the_node_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.pem");
    std::fs::write(&bogus, "not a certificate\n").unwrap();
    let missing = dir.path().join("missing-key.pem");
    let bogus_arg = path_arg(&bogus);
    let missing_arg = path_arg(&missing);
    for (args, named) in [
        (vec!["--upstream-ca-file", &bogus_arg], &bogus_arg),
        (
            vec!["--tls-cert", &bogus_arg, "--tls-key", &missing_arg],
            &bogus_arg,
        ),
    ] {
        let output = std::process::Command::new(bin_dir().join("archway-data-plane"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
                "--control-plane",
                "http://127.0.0.1:1",
                "--state-dir",
            ])
            .arg(dir.path().join("state"))
            .args(&args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?} started");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(!stdout.contains("listening"), "{stdout}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(named.as_str()), "{args:?}: {stderr}");
    }
    // --tls-cert needs --tls-key.
    let output = std::process::Command::new(bin_dir().join("archway-data-plane"))
        .args(["--tls-cert", &bogus_arg])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--tls-key"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
