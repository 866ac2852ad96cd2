//! Stage: JWT authorizers (Cognito user pools, OIDC issuers). The token
//! must be signed by a key of the issuer's JWKS with an allowed asymmetric
//! algorithm, carry the configured issuer and one of the audiences, be
//! within exp/nbf, and, when the route names scopes, hold one of them.
//!
//! A token that passed is remembered (keyed by the SHA-256 of the token and
//! the authorizer's settings) until its exp, for at most 60 s, so a client
//! reusing its token pays for the signature check once a minute, not on
//! every request. Scopes are checked on every request.
//!
//! Only the authorizer's own JWKS is trusted: `jku`, `x5u` and `jwk` header
//! parameters are never followed, `kid` is only a lookup key, HMAC and
//! "none" are never accepted (so no RS/HS confusion), and the JWK's own
//! `alg`, when present, must match the token's.

use super::gateway_response::GatewayResponse;
use crate::jwks::JwksCache;
use crate::principal::Principal;
use crate::tables::JwtAuth;
use jsonwebtoken::{Validation, decode, decode_header};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

const MAX_TOKEN_BYTES: usize = 8 * 1024;
const MAX_CLAIMS_HEADER_BYTES: usize = 4 * 1024;

/// Tokens verified recently.
pub struct VerifiedTokens {
    cache: moka::sync::Cache<[u8; 32], Arc<Verified>>,
}

impl std::fmt::Debug for VerifiedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedTokens").finish_non_exhaustive()
    }
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        Self::with_capacity(100_000)
    }
}

impl VerifiedTokens {
    /// Remembers at most `capacity` tokens (0: none, every request pays
    /// the signature check).
    pub fn with_capacity(capacity: u64) -> Self {
        Self {
            cache: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(Duration::from_secs(60))
                .build(),
        }
    }
}

struct Verified {
    principal: Arc<Principal>,
    granted_scopes: Vec<String>,
    /// The token's exp (seconds since the epoch).
    expires_at: u64,
}

pub async fn authorize(
    auth: &JwtAuth,
    headers: &http::HeaderMap,
    jwks: &JwksCache,
    verified: &VerifiedTokens,
) -> Result<Arc<Principal>, GatewayResponse> {
    const UNAUTHORIZED: GatewayResponse = GatewayResponse::Unauthorized;
    let raw = headers
        .get(&auth.header)
        .and_then(|v| v.to_str().ok())
        .ok_or(UNAUTHORIZED)?;
    let token =
        bearer_token(raw, auth.header == http::header::AUTHORIZATION).ok_or(UNAUTHORIZED)?;
    if token.len() > MAX_TOKEN_BYTES {
        return Err(UNAUTHORIZED);
    }
    let cache_key: [u8; 32] = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(auth.fingerprint);
        h.update(token.as_bytes());
        h.finalize().into()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if let Some(hit) = verified.cache.get(&cache_key)
        && hit.expires_at > now
    {
        check_scopes(auth, &hit.granted_scopes)?;
        return Ok(hit.principal.clone());
    }
    let header = decode_header(token).map_err(|_| UNAUTHORIZED)?;
    if !auth.algorithms.contains(&header.alg) {
        return Err(UNAUTHORIZED);
    }
    // RFC 7515 §4.1.11: a recipient must refuse a token whose `crit` names
    // an extension it does not understand, and this one understands none
    // (an empty or malformed `crit` is invalid as well).
    if header.crit.is_some() {
        return Err(UNAUTHORIZED);
    }
    let kid = header
        .kid
        .as_deref()
        .filter(|k| !k.is_empty() && k.len() <= 256);
    let key = jwks
        .key(&auth.jwks_uri, kid.ok_or(UNAUTHORIZED)?)
        .await
        .ok_or(UNAUTHORIZED)?;
    if let Some(key_alg) = key.jwk.common.key_algorithm
        && key_alg.to_string() != format!("{:?}", header.alg)
    {
        return Err(UNAUTHORIZED);
    }
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&auth.issuer]);
    validation.set_audience(&auth.audiences);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.validate_nbf = true;
    validation.leeway = auth.leeway_seconds;
    let claims = decode::<Map<String, Value>>(token, &key.key, &validation)
        .map_err(|_| UNAUTHORIZED)?
        .claims;
    // jsonwebtoken checks exp and nbf but not iat: a token issued in the
    // future (beyond the leeway) comes from a wrong clock or a forger.
    if !issued_in_the_past(&claims, now, auth.leeway_seconds) {
        return Err(UNAUTHORIZED);
    }

    let granted_scopes: Vec<String> = match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(s)), _) => s.split_whitespace().map(str::to_owned).collect(),
        (_, Some(Value::Array(a))) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        (_, Some(Value::String(s))) => s.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let expires_at = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
    let encoded = serde_json::to_string(&claims)
        .ok()
        .filter(|c| c.len() <= MAX_CLAIMS_HEADER_BYTES);
    let principal = Arc::new(Principal::new(
        claims.get("sub").and_then(Value::as_str),
        encoded.as_deref(),
        None,
    ));
    verified.cache.insert(
        cache_key,
        Arc::new(Verified {
            principal: principal.clone(),
            granted_scopes: granted_scopes.clone(),
            expires_at,
        }),
    );
    check_scopes(auth, &granted_scopes)?;
    Ok(principal)
}

/// The token in an identity header's value.
///
/// In `Authorization` the value must use the `Bearer` scheme (RFC 6750
/// §2.1: `Bearer 1*SP token`); the scheme name is matched without regard
/// to case, as RFC 9110 §11.1 says of every authentication scheme, so
/// `bearer` and `BEARER` are accepted too. A bare token, or another scheme
/// (`Basic`, `AWS4-HMAC-SHA256`), is refused. Another header (an identity
/// source such as `X-Id-Token`) has no scheme registry, so it may carry the
/// token alone or with the same `Bearer ` prefix.
fn bearer_token(raw: &str, scheme_required: bool) -> Option<&str> {
    let token = match raw.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => {
            rest.trim_start_matches(' ')
        }
        _ if scheme_required => return None,
        _ => raw,
    };
    let token = token.trim_end();
    // A token is one b64token: no spaces inside. (A byte scan: a `char`
    // pattern over a ~1 KB token cost 3% of a JWT route's time.)
    let spaced = token.bytes().any(|b| b == b' ' || b == b'\t');
    (!token.is_empty() && !spaced).then_some(token)
}

/// `iat`, when present, must be a NumericDate no later than now plus the
/// leeway.
fn issued_in_the_past(claims: &Map<String, Value>, now: u64, leeway: u64) -> bool {
    match claims.get("iat") {
        None => true,
        Some(Value::Number(n)) => n
            .as_f64()
            .is_some_and(|iat| iat <= now.saturating_add(leeway) as f64),
        Some(_) => false,
    }
}

/// With scopes on the route, the token must grant one of them.
fn check_scopes(auth: &JwtAuth, granted: &[String]) -> Result<(), GatewayResponse> {
    if auth.scopes.is_empty() || auth.scopes.iter().any(|s| granted.contains(s)) {
        Ok(())
    } else {
        Err(GatewayResponse::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn authorization_needs_the_bearer_scheme_in_any_case() {
        for (raw, token) in [
            ("Bearer abc.def.ghi", Some("abc.def.ghi")),
            ("bearer abc.def.ghi", Some("abc.def.ghi")),
            ("BEARER abc.def.ghi", Some("abc.def.ghi")),
            ("Bearer   abc.def.ghi", Some("abc.def.ghi")),
            ("abc.def.ghi", None),
            ("Basic YWxhZGRpbjpvcGVuc2VzYW1l", None),
            ("Bearerabc.def.ghi", None),
            ("Bearer ", None),
            ("Bearer", None),
            ("Bearer a b", None),
            ("Token abc.def.ghi", None),
        ] {
            assert_eq!(bearer_token(raw, true), token, "{raw:?}");
        }
    }

    #[test]
    fn other_headers_take_the_token_with_or_without_the_scheme() {
        assert_eq!(bearer_token("abc.def.ghi", false), Some("abc.def.ghi"));
        assert_eq!(
            bearer_token("Bearer abc.def.ghi", false),
            Some("abc.def.ghi")
        );
        assert_eq!(bearer_token("", false), None);
        assert_eq!(bearer_token("a b", false), None);
    }

    #[test]
    fn iat_may_not_be_in_the_future_beyond_the_leeway() {
        let claims = |iat: Value| {
            let mut m = Map::new();
            m.insert("iat".into(), iat);
            m
        };
        let now = 1_000_000;
        assert!(issued_in_the_past(&Map::new(), now, 60));
        assert!(issued_in_the_past(&claims(json!(now - 10)), now, 60));
        assert!(issued_in_the_past(&claims(json!(now + 60)), now, 60));
        assert!(issued_in_the_past(
            &claims(json!(now as f64 + 59.5)),
            now,
            60
        ));
        assert!(!issued_in_the_past(&claims(json!(now + 61)), now, 60));
        assert!(!issued_in_the_past(&claims(json!(now + 1)), now, 0));
        assert!(!issued_in_the_past(&claims(json!("1000000")), now, 60));
        assert!(!issued_in_the_past(&claims(Value::Null), now, 60));
    }
}
