//! JWT authorizers: tokens minted at run time against a JWKS served by the
//! test on loopback; valid tokens pass with their claims forwarded, every
//! known attack is refused, and rotated keys are picked up.

use archway_e2e::admin::{http_proxy, mock};
use archway_e2e::http_client::{Answer, GatewayClient};
use archway_e2e::{Admin, ControlPlane, DataPlane, now, upstream};
use archway_proto::v1::*;
use bytes::Bytes;
use http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "archway-tests";

/// An RSA key made by openssl: (private PEM, public PEM, modulus).
fn rsa_key(dir: &Path, name: &str) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let private = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub.pem"));
    let ok = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&private)
        .status()
        .expect("openssl")
        .success();
    assert!(ok, "openssl genpkey");
    assert!(
        Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&private)
            .arg("-out")
            .arg(&public)
            .status()
            .unwrap()
            .success()
    );
    let modulus = Command::new("openssl")
        .args(["rsa", "-noout", "-modulus", "-in"])
        .arg(&private)
        .output()
        .unwrap()
        .stdout;
    let hex = String::from_utf8(modulus).unwrap();
    let hex = hex.trim().trim_start_matches("Modulus=");
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    (
        std::fs::read(private).unwrap(),
        std::fs::read(public).unwrap(),
        bytes,
    )
}

fn b64url(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn jwk(kid: &str, modulus: &[u8]) -> serde_json::Value {
    serde_json::json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64url(modulus), "e": "AQAB"})
}

fn claims(extra: serde_json::Value) -> serde_json::Value {
    let mut c = serde_json::json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "alice",
        "exp": now() + 600, "nbf": now() - 10, "scope": "read"
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn sign(kid: &str, private: &[u8], claims: &serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(private).unwrap(),
    )
    .unwrap()
}

/// A JWKS endpoint on loopback whose document the test can change.
async fn jwks_server(doc: Arc<Mutex<String>>, fetches: Arc<AtomicU32>) -> std::net::SocketAddr {
    archway_e2e::serve::spawn(None, move |_req| {
        let (doc, fetches) = (doc.clone(), fetches.clone());
        async move {
            fetches.fetch_add(1, Ordering::Relaxed);
            let body = doc.lock().unwrap().clone();
            archway_e2e::serve::answer(200, body)
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_authorizers_accept_valid_tokens_and_refuse_attacks() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (trusted, trusted_pub, trusted_n) = rsa_key(dir.path(), "trusted");
    let (rotated, _, rotated_n) = rsa_key(dir.path(), "rotated");
    let (attacker, _, attacker_n) = rsa_key(dir.path(), "attacker");
    let doc = Arc::new(Mutex::new(
        serde_json::json!({"keys": [jwk("k1", &trusted_n)]}).to_string(),
    ));
    let fetches = Arc::new(AtomicU32::new(0));
    let jwks = jwks_server(doc.clone(), fetches.clone()).await;
    let backend = upstream::start("backend").await;

    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin.create_api("secure", ApiProtocol::Http).await?;
    let authorizer = Authorizer {
        api_id: api.id.clone(),
        name: "users".into(),
        r#type: AuthorizerType::Jwt as i32,
        jwt: Some(JwtConfiguration {
            issuer: ISSUER.into(),
            audiences: vec![AUDIENCE.into()],
            jwks_uri: format!("http://{jwks}/.well-known/jwks.json"),
            algorithms: vec!["RS256".into()],
            leeway_seconds: 0,
        }),
        ..Default::default()
    };
    // Bad configurations are refused, naming the field.
    for (bad, field) in [
        (
            Authorizer {
                jwt: Some(JwtConfiguration {
                    jwks_uri: "ftp://idp/jwks".into(),
                    ..authorizer.jwt.clone().unwrap()
                }),
                ..authorizer.clone()
            },
            "authorizer.jwt.jwks_uri:",
        ),
        (
            Authorizer {
                jwt: Some(JwtConfiguration {
                    algorithms: vec!["HS256".into()],
                    ..authorizer.jwt.clone().unwrap()
                }),
                ..authorizer.clone()
            },
            "authorizer.jwt.algorithms:",
        ),
        (
            Authorizer {
                jwt: Some(JwtConfiguration {
                    audiences: vec![],
                    ..authorizer.jwt.clone().unwrap()
                }),
                ..authorizer.clone()
            },
            "authorizer.jwt.audiences:",
        ),
    ] {
        let status = admin
            .apis
            .create_authorizer(PutAuthorizerRequest {
                authorizer: Some(bad),
            })
            .await
            .expect_err("refused");
        assert!(status.message().starts_with(field), "{}", status.message());
    }
    let authorizer = admin
        .apis
        .create_authorizer(PutAuthorizerRequest {
            authorizer: Some(authorizer),
        })
        .await?
        .into_inner();
    let with_auth = |method: Method, scopes: &[&str]| Method {
        authorization_type: "JWT".into(),
        authorizer_id: authorizer.id.clone(),
        authorization_scopes: scopes.iter().map(|s| s.to_string()).collect(),
        ..method
    };
    let me = admin
        .route(
            &api,
            "/me",
            "GET",
            http_proxy(&format!("http://{}/me", backend.addr)),
        )
        .await?;
    admin
        .apis
        .put_method(PutMethodRequest {
            method: Some(with_auth(me, &[])),
        })
        .await?;
    let adm = admin
        .route(&api, "/admin", "GET", mock(200, "admin"))
        .await?;
    admin
        .apis
        .put_method(PutMethodRequest {
            method: Some(with_auth(adm, &["admin"])),
        })
        .await?;
    admin
        .route(&api, "/public", "GET", mock(200, "public"))
        .await?;
    let bad_ref = admin.route(&api, "/x", "GET", mock(200, "x")).await?;
    let status = admin
        .apis
        .put_method(PutMethodRequest {
            method: Some(Method {
                authorization_type: "JWT".into(),
                authorizer_id: "nope".into(),
                ..bad_ref
            }),
        })
        .await
        .expect_err("unknown authorizer");
    assert!(
        status.message().starts_with("method.authorizer_id:"),
        "{}",
        status.message()
    );
    admin.deploy(&api, "v1").await?;
    admin.wait_converged(&["n"]).await?;

    let http = GatewayClient::default();
    let call = |path: &'static str, token: Option<String>, extra: Vec<(&'static str, String)>| {
        let http = http.clone();
        let addr = node.addr();
        async move {
            let mut headers: Vec<(&str, String)> = extra;
            if let Some(t) = token {
                headers.push(("authorization", format!("Bearer {t}")));
            }
            let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            http.send_with_headers(addr, "secure", "GET", path, Bytes::new(), &refs)
                .await
                .unwrap()
        }
    };
    let unauthorized = |a: Answer, what: &str| {
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{what}: {}", a.body);
        assert_eq!(a.json()["message"], "Unauthorized", "{what}");
    };

    // Valid: passes, the backend learns who called, and a client cannot forge it.
    let good = sign("k1", &trusted, &claims(serde_json::json!({})));
    let answer = call(
        "/v1/me",
        Some(good.clone()),
        vec![("x-archway-principal", "mallory".into())],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let echo = answer.json();
    assert_eq!(echo["headers"]["x-archway-principal"], "alice");
    let forwarded: serde_json::Value =
        serde_json::from_str(echo["headers"]["x-archway-claims"].as_str().unwrap())?;
    assert_eq!(forwarded["sub"], "alice");
    assert_eq!(
        call("/v1/public", None, vec![]).await.status,
        StatusCode::OK
    );

    // Missing, malformed, oversized.
    unauthorized(call("/v1/me", None, vec![]).await, "no token");
    unauthorized(
        call("/v1/me", Some("abc.def".into()), vec![]).await,
        "malformed",
    );
    unauthorized(
        call(
            "/v1/me",
            Some(format!("{good}{}", "A".repeat(10_000))),
            vec![],
        )
        .await,
        "oversized",
    );
    // alg none: a header and payload with an empty signature.
    let none = format!(
        "{}.{}.",
        b64url(br#"{"alg":"none","kid":"k1"}"#),
        b64url(claims(serde_json::json!({})).to_string().as_bytes())
    );
    unauthorized(call("/v1/me", Some(none), vec![]).await, "alg none");
    // RS/HS confusion: HMAC keyed with the issuer's public key.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("k1".into());
    let confused = jsonwebtoken::encode(
        &hs,
        &claims(serde_json::json!({})),
        &EncodingKey::from_secret(&trusted_pub),
    )?;
    unauthorized(
        call("/v1/me", Some(confused), vec![]).await,
        "RS/HS confusion",
    );
    // An attacker's key, advertised in the token (jku, jwk) or by kid tricks.
    let mut injected = Header::new(Algorithm::RS256);
    injected.kid = Some("evil".into());
    injected.jku = Some(format!("http://{jwks}/evil.json"));
    let forged = jsonwebtoken::encode(
        &injected,
        &claims(serde_json::json!({})),
        &EncodingKey::from_rsa_pem(&attacker)?,
    )?;
    unauthorized(call("/v1/me", Some(forged), vec![]).await, "jku injection");
    let _ = attacker_n;
    for kid in ["../../k1", "k1\u{0}", ""] {
        let token = sign(kid, &attacker, &claims(serde_json::json!({})));
        unauthorized(
            call("/v1/me", Some(token), vec![]).await,
            &format!("kid {kid:?}"),
        );
    }
    unauthorized(
        call(
            "/v1/me",
            Some(sign("k1", &attacker, &claims(serde_json::json!({})))),
            vec![],
        )
        .await,
        "wrong key, right kid",
    );
    // Claims.
    for (extra, what) in [
        (serde_json::json!({"exp": now() - 120}), "expired"),
        (serde_json::json!({"nbf": now() + 3600}), "not yet valid"),
        (
            serde_json::json!({"iss": "https://evil.test"}),
            "wrong issuer",
        ),
        (serde_json::json!({"aud": "someone-else"}), "wrong audience"),
    ] {
        unauthorized(
            call("/v1/me", Some(sign("k1", &trusted, &claims(extra))), vec![]).await,
            what,
        );
    }
    // Scopes: a valid token without the route's scope is forbidden.
    let answer = call("/v1/admin", Some(good.clone()), vec![]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    let admin_token = sign(
        "k1",
        &trusted,
        &claims(serde_json::json!({"scope": "read admin"})),
    );
    assert_eq!(
        call("/v1/admin", Some(admin_token), vec![]).await.status,
        StatusCode::OK
    );

    // Key rotation: a new kid is fetched (once the refetch pause is over).
    let fetched_before = fetches.load(Ordering::Relaxed);
    *doc.lock().unwrap() =
        serde_json::json!({"keys": [jwk("k1", &trusted_n), jwk("k2", &rotated_n)]}).to_string();
    tokio::time::sleep(Duration::from_millis(5_200)).await;
    let rotated_token = sign("k2", &rotated, &claims(serde_json::json!({})));
    let answer = call("/v1/me", Some(rotated_token), vec![]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let fetched = fetches.load(Ordering::Relaxed);
    assert_eq!(fetched, fetched_before + 1, "one refetch for the new kid");
    assert!(
        fetched <= 4,
        "unknown kids did not hammer the issuer: {fetched} fetches"
    );
    Ok(())
}

/// An HTTP API with one JWT route (`GET /v1/me`, leeway 30 s) on a node,
/// for the tests of single ways around the check.
struct StrictApi {
    node: DataPlane,
    _cp: ControlPlane,
    trusted: Vec<u8>,
    http: GatewayClient,
    _dir: tempfile::TempDir,
}

impl StrictApi {
    async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let (trusted, _, trusted_n) = rsa_key(dir.path(), "trusted");
        let doc = Arc::new(Mutex::new(
            serde_json::json!({"keys": [jwk("k1", &trusted_n)]}).to_string(),
        ));
        let jwks = jwks_server(doc, Arc::new(AtomicU32::new(0))).await;
        let cp = ControlPlane::start(&dir.path().join("cp"))?;
        let node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
        let mut admin = Admin::connect(&cp.url()).await?;
        let api = admin.create_api("strict", ApiProtocol::Http).await?;
        let authorizer = admin
            .apis
            .create_authorizer(PutAuthorizerRequest {
                authorizer: Some(Authorizer {
                    api_id: api.id.clone(),
                    name: "users".into(),
                    r#type: AuthorizerType::Jwt as i32,
                    jwt: Some(JwtConfiguration {
                        issuer: ISSUER.into(),
                        audiences: vec![AUDIENCE.into()],
                        jwks_uri: format!("http://{jwks}/jwks.json"),
                        algorithms: vec!["RS256".into()],
                        leeway_seconds: 30,
                    }),
                    ..Default::default()
                }),
            })
            .await?
            .into_inner();
        let me = admin.route(&api, "/me", "GET", mock(200, "me")).await?;
        admin
            .apis
            .put_method(PutMethodRequest {
                method: Some(Method {
                    authorization_type: "JWT".into(),
                    authorizer_id: authorizer.id.clone(),
                    ..me
                }),
            })
            .await?;
        admin.deploy(&api, "v1").await?;
        admin.wait_converged(&["n"]).await?;
        Ok(Self {
            node,
            _cp: cp,
            trusted,
            http: GatewayClient::default(),
            _dir: dir,
        })
    }

    /// The status of `GET /v1/me` with this Authorization value.
    async fn status(&self, authorization: &str) -> StatusCode {
        self.http
            .send_with_headers(
                self.node.addr(),
                "strict",
                "GET",
                "/v1/me",
                Bytes::new(),
                &[("authorization", authorization)],
            )
            .await
            .unwrap()
            .status
    }

    /// A token signed by the trusted key with this header (kid k1 added).
    fn token(&self, mut header: Header, claims: &serde_json::Value) -> String {
        header.kid = Some("k1".into());
        jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_rsa_pem(&self.trusted).unwrap(),
        )
        .unwrap()
    }
}

/// RFC 7515 §4.1.11: a `crit` header naming an extension the node does
/// not understand (here any: it understands none) is refused, even when
/// the named parameter is present; so is an empty `crit` and RFC 7797's
/// unencoded payload. The same token without `crit` passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_refuses_a_crit_header() -> anyhow::Result<()> {
    let api = StrictApi::start().await?;
    let claims = claims(serde_json::json!({}));
    let plain = api.token(Header::new(Algorithm::RS256), &claims);
    assert_eq!(api.status(&format!("Bearer {plain}")).await, StatusCode::OK);
    let mut named = Header::new(Algorithm::RS256);
    named.crit = Some(vec!["urn:example:tenant".into()]);
    named.extras.insert("urn:example:tenant", "acme");
    let mut empty = Header::new(Algorithm::RS256);
    empty.crit = Some(vec![]);
    let mut b64 = Header::new(Algorithm::RS256);
    b64.crit = Some(vec!["b64".into()]);
    b64.extras.insert("b64", false);
    for (header, what) in [
        (named, "an extension"),
        (empty, "empty"),
        (b64, "b64=false"),
    ] {
        let token = api.token(header, &claims);
        assert_eq!(
            api.status(&format!("Bearer {token}")).await,
            StatusCode::UNAUTHORIZED,
            "crit {what}"
        );
    }
    Ok(())
}

/// An `iat` in the future beyond the leeway (30 s here), or one that is
/// not a number, is refused; within the leeway or in the past it passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_refuses_an_iat_beyond_the_leeway() -> anyhow::Result<()> {
    let api = StrictApi::start().await?;
    for (iat, expected, what) in [
        (
            serde_json::json!(now() + 3600),
            StatusCode::UNAUTHORIZED,
            "an hour ahead",
        ),
        (
            serde_json::json!(now() + 90),
            StatusCode::UNAUTHORIZED,
            "past the leeway",
        ),
        (
            serde_json::json!("0"),
            StatusCode::UNAUTHORIZED,
            "not a number",
        ),
        (
            serde_json::json!(now() + 10),
            StatusCode::OK,
            "within the leeway",
        ),
        (serde_json::json!(now() - 60), StatusCode::OK, "in the past"),
    ] {
        let token = api.token(
            Header::new(Algorithm::RS256),
            &claims(serde_json::json!({"iat": iat})),
        );
        assert_eq!(
            api.status(&format!("Bearer {token}")).await,
            expected,
            "iat {what}"
        );
    }
    Ok(())
}

/// `Authorization` needs the `Bearer` scheme, in any case (RFC 9110
/// §11.1); a bare token, another scheme or no space is refused, even for a
/// token that passed before and is remembered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_requires_the_bearer_scheme() -> anyhow::Result<()> {
    let api = StrictApi::start().await?;
    let good = api.token(
        Header::new(Algorithm::RS256),
        &claims(serde_json::json!({})),
    );
    for (value, expected) in [
        (format!("Bearer {good}"), StatusCode::OK),
        (format!("bearer {good}"), StatusCode::OK),
        (format!("BEARER {good}"), StatusCode::OK),
        (good.clone(), StatusCode::UNAUTHORIZED),
        (format!("Bearer{good}"), StatusCode::UNAUTHORIZED),
        (format!("Basic {good}"), StatusCode::UNAUTHORIZED),
        (format!("Token {good}"), StatusCode::UNAUTHORIZED),
        ("Bearer ".to_owned(), StatusCode::UNAUTHORIZED),
    ] {
        assert_eq!(api.status(&value).await, expected, "{value:.12}");
    }
    Ok(())
}
