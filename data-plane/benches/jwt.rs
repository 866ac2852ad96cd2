//! What a JWT authorizer costs per request with a warm JWKS cache: header
//! parsing, key lookup, RS256 signature check and claim validation.
//!
//! Run: `cargo bench -p archway-data-plane --bench jwt` (needs `openssl` to
//! make the RSA key).

use archway_data_plane::jwks::JwksCache;
use archway_data_plane::pipeline::authorize::{VerifiedTokens, authorize};
use archway_data_plane::tables::JwtAuth;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use std::hint::black_box;
use std::process::Command;

/// The node's allocator (`data-plane/src/bin/data_plane.rs`), so allocation
/// costs what it costs when serving.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn rsa_key() -> (Vec<u8>, String) {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("k.pem");
    assert!(
        Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out"
            ])
            .arg(&pem)
            .status()
            .unwrap()
            .success()
    );
    let out = Command::new("openssl")
        .args(["rsa", "-noout", "-modulus", "-in"])
        .arg(&pem)
        .output()
        .unwrap()
        .stdout;
    let hex = String::from_utf8(out)
        .unwrap()
        .trim()
        .trim_start_matches("Modulus=")
        .to_owned();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut n = String::new();
    for chunk in bytes.chunks(3) {
        let v = chunk
            .iter()
            .enumerate()
            .fold(0u32, |v, (i, b)| v | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            n.push(A[((v >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    (std::fs::read(pem).unwrap(), n)
}

fn jwt(c: &mut Criterion) {
    let (private, n) = rsa_key();
    let uri = "http://127.0.0.1:1/jwks";
    let jwks = JwksCache::default();
    jwks.prime(
        uri,
        serde_json::from_value(serde_json::json!({"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "n": n, "e": "AQAB"}]}))
            .unwrap(),
    );
    let auth = JwtAuth {
        fingerprint: [7; 32],
        header: http::header::AUTHORIZATION,
        issuer: "https://issuer".into(),
        audiences: vec!["aud".into()],
        jwks_uri: uri.into(),
        algorithms: vec![Algorithm::RS256],
        leeway_seconds: 60,
        scopes: vec!["read".into()],
    };
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".into());
    let token = jsonwebtoken::encode(
        &header,
        &serde_json::json!({"iss": "https://issuer", "aud": "aud", "sub": "alice", "exp": exp, "scope": "read"}),
        &EncodingKey::from_rsa_pem(&private).unwrap(),
    )
    .unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // No verified-token cache: every call checks the signature.
    let none = VerifiedTokens::with_capacity(0);
    c.bench_function("jwt_rs256_signature_check", |b| {
        b.iter(|| {
            let verified = &none;
            let principal = runtime
                .block_on(authorize(&auth, black_box(&headers), &jwks, verified))
                .unwrap();
            black_box(principal)
        })
    });
    let verified = VerifiedTokens::default();
    c.bench_function("jwt_rs256_reused_token", |b| {
        b.iter(|| {
            let principal = runtime
                .block_on(authorize(&auth, black_box(&headers), &jwks, &verified))
                .unwrap();
            black_box(principal)
        })
    });
}

criterion_group!(benches, jwt);
criterion_main!(benches);
