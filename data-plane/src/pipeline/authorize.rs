//! Stage: JWT authorizers (Cognito user pools, OIDC issuers). The token
//! must be signed by a key of the issuer's JWKS with an allowed asymmetric
//! algorithm, carry the configured issuer and one of the audiences, be
//! within exp/nbf, and, when the route names scopes, hold one of them.
//!
//! Only the authorizer's own JWKS is trusted: `jku`, `x5u` and `jwk` header
//! parameters are never followed, `kid` is only a lookup key, HMAC and
//! "none" are never accepted (so no RS/HS confusion), and the JWK's own
//! `alg`, when present, must match the token's.

use super::gateway_response::GatewayResponse;
use crate::jwks::JwksCache;
use crate::tables::RouteAuth;
use jsonwebtoken::{Validation, decode, decode_header};
use serde_json::{Map, Value};

const MAX_TOKEN_BYTES: usize = 8 * 1024;
const MAX_CLAIMS_HEADER_BYTES: usize = 4 * 1024;

/// What the integration learns of the caller.
#[derive(Debug, Default)]
pub struct Principal {
    /// `sub`, sent as `x-archway-principal`.
    pub subject: Option<String>,
    /// All claims as compact JSON, sent as `x-archway-claims`.
    pub claims: Option<String>,
}

pub async fn authorize(
    auth: &RouteAuth,
    headers: &http::HeaderMap,
    jwks: &JwksCache,
) -> Result<Principal, GatewayResponse> {
    let unauthorized = GatewayResponse::Unauthorized;
    let raw = headers
        .get(&auth.header)
        .and_then(|v| v.to_str().ok())
        .ok_or(unauthorized)?;
    let token = match raw.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => &raw[7..],
        _ => raw,
    }
    .trim();
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        return Err(unauthorized);
    }
    let header = decode_header(token).map_err(|_| unauthorized)?;
    if !auth.algorithms.contains(&header.alg) {
        return Err(unauthorized);
    }
    let kid = header
        .kid
        .as_deref()
        .filter(|k| !k.is_empty() && k.len() <= 256);
    let key = jwks
        .key(&auth.jwks_uri, kid.ok_or(unauthorized)?)
        .await
        .ok_or(unauthorized)?;
    if let Some(key_alg) = key.jwk.common.key_algorithm
        && key_alg.to_string() != format!("{:?}", header.alg)
    {
        return Err(unauthorized);
    }
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&auth.issuer]);
    validation.set_audience(&auth.audiences);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.validate_nbf = true;
    validation.leeway = auth.leeway_seconds;
    let claims = decode::<Map<String, Value>>(token, &key.key, &validation)
        .map_err(|_| unauthorized)?
        .claims;

    if !auth.scopes.is_empty() {
        let granted: Vec<&str> = match (claims.get("scope"), claims.get("scp")) {
            (Some(Value::String(s)), _) => s.split_whitespace().collect(),
            (_, Some(Value::Array(a))) => a.iter().filter_map(Value::as_str).collect(),
            (_, Some(Value::String(s))) => s.split_whitespace().collect(),
            _ => Vec::new(),
        };
        if !auth.scopes.iter().any(|s| granted.contains(&s.as_str())) {
            return Err(GatewayResponse::Forbidden);
        }
    }
    let subject = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
    let claims = serde_json::to_string(&claims)
        .ok()
        .filter(|c| c.len() <= MAX_CLAIMS_HEADER_BYTES);
    Ok(Principal { subject, claims })
}
