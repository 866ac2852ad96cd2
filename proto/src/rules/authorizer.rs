//! Authorizers: JWT (checked by the node against the issuer's keys) and
//! custom TOKEN and REQUEST authorizers (a URL the node calls). Fields are
//! reported under `authorizer`, as the admin API's request names it.

use super::http::{is_header_name, web_url};
use super::names::name;
use super::{Checked, Violation};
use crate::identity_source;
use crate::v1::{Authorizer, AuthorizerType};

/// Signature algorithms a JWT authorizer may allow: asymmetric only. HMAC
/// would need a secret shared with the issuer, and "none" is no signature.
pub const JWT_ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];
/// The most clock skew a JWT authorizer may allow, in seconds.
pub const MAX_JWT_LEEWAY_SECONDS: u32 = 300;
/// How long a custom authorizer's answer may be reused, at most.
pub const MAX_RESULT_TTL_SECONDS: u32 = 3600;
/// The range of a custom authorizer's timeout (0 means the default).
pub const TIMEOUT_MS: std::ops::RangeInclusive<u32> = 100..=29_000;
pub const DEFAULT_TIMEOUT_MS: u32 = 10_000;
/// Answers are reused for 300 s unless the authorizer says otherwise.
pub const DEFAULT_RESULT_TTL_SECONDS: u32 = 300;

pub fn authorizer(a: &Authorizer) -> Checked {
    name("authorizer.name", &a.name)?;
    match AuthorizerType::try_from(a.r#type) {
        Ok(AuthorizerType::Jwt) => jwt_authorizer(a),
        Ok(AuthorizerType::Token) => {
            identity_header("authorizer.identity_source", &a.identity_source)?;
            if !a.identity_validation_expression.is_empty() {
                validation_expression(&a.identity_validation_expression).map_err(|e| {
                    Violation::new(
                        "authorizer.identity_validation_expression",
                        format!("is not a regular expression: {e}"),
                    )
                })?;
            }
            custom_authorizer(a)
        }
        Ok(AuthorizerType::Request) => {
            if !a.identity_validation_expression.is_empty() {
                return Err(Violation::new(
                    "authorizer.identity_validation_expression",
                    "only TOKEN authorizers validate their identity",
                ));
            }
            identity_source::parse_list(&a.identity_source)
                .map_err(|reason| Violation::new("authorizer.identity_source", reason))?;
            if a.identity_source.trim().is_empty() && a.result_ttl_seconds != Some(0) {
                return Err(Violation::new(
                    "authorizer.identity_source",
                    "a REQUEST authorizer whose answers are cached needs identity sources \
                     (the cache key); set result_ttl_seconds to 0 to call it on every request",
                ));
            }
            custom_authorizer(a)
        }
        _ => Err(Violation::new(
            "authorizer.type",
            "must be JWT, TOKEN or REQUEST",
        )),
    }
}

/// A TOKEN authorizer's validation expression as nodes compile it: the
/// whole token must match, as in AWS.
pub fn validation_expression(expression: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?:{expression})$"))
}

/// The header a JWT or TOKEN authorizer reads: a plain name or AWS's
/// `method.request.header.NAME`; empty means Authorization.
pub fn identity_header_name(source: &str) -> &str {
    source
        .strip_prefix(identity_source::HEADER_PREFIX)
        .unwrap_or(source)
}

/// A header name, plain or as AWS writes it (`method.request.header.NAME`).
fn identity_header(field: &str, source: &str) -> Checked {
    if source.is_empty() || is_header_name(identity_header_name(source)) {
        return Ok(());
    }
    Err(Violation::new(
        field,
        format!("'{source}' is not a header name"),
    ))
}

/// What TOKEN and REQUEST authorizers share: where they run and how long
/// their answers count.
fn custom_authorizer(a: &Authorizer) -> Checked {
    if a.jwt.is_some() {
        return Err(Violation::new(
            "authorizer.jwt",
            "only JWT authorizers take a JWT configuration",
        ));
    }
    web_url("authorizer.authorizer_uri", &a.authorizer_uri)?;
    if a.result_ttl_seconds
        .is_some_and(|t| t > MAX_RESULT_TTL_SECONDS)
    {
        return Err(Violation::new(
            "authorizer.result_ttl_seconds",
            "must be 0 to 3600",
        ));
    }
    if a.timeout_ms != 0 && !TIMEOUT_MS.contains(&a.timeout_ms) {
        return Err(Violation::new(
            "authorizer.timeout_ms",
            "must be 100 to 29000 (or 0 for the default of 10000)",
        ));
    }
    Ok(())
}

fn jwt_authorizer(a: &Authorizer) -> Checked {
    identity_header("authorizer.identity_source", &a.identity_source)?;
    if !a.authorizer_uri.is_empty() || !a.identity_validation_expression.is_empty() {
        return Err(Violation::new(
            "authorizer.authorizer_uri",
            "JWT authorizers take jwt settings, not an authorizer_uri or validation expression",
        ));
    }
    let jwt = a.jwt.as_ref().ok_or_else(|| {
        Violation::new("authorizer.jwt", "a JWT authorizer needs its configuration")
    })?;
    if jwt.issuer.is_empty() {
        return Err(Violation::new("authorizer.jwt.issuer", "is required"));
    }
    if jwt.audiences.is_empty() || jwt.audiences.iter().any(String::is_empty) {
        return Err(Violation::new(
            "authorizer.jwt.audiences",
            "needs at least one non-empty audience",
        ));
    }
    web_url("authorizer.jwt.jwks_uri", &jwt.jwks_uri)?;
    for alg in &jwt.algorithms {
        if !JWT_ALGORITHMS.contains(&alg.as_str()) {
            return Err(Violation::new(
                "authorizer.jwt.algorithms",
                format!("'{alg}' is not allowed; use {}", JWT_ALGORITHMS.join(", ")),
            ));
        }
    }
    if jwt.leeway_seconds > MAX_JWT_LEEWAY_SECONDS {
        return Err(Violation::new(
            "authorizer.jwt.leeway_seconds",
            "must be at most 300",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::JwtConfiguration;

    fn jwt() -> Authorizer {
        Authorizer {
            name: "idp".into(),
            r#type: AuthorizerType::Jwt as i32,
            jwt: Some(JwtConfiguration {
                issuer: "https://idp".into(),
                audiences: vec!["api".into()],
                jwks_uri: "https://idp/jwks".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn token() -> Authorizer {
        Authorizer {
            name: "lambda".into(),
            r#type: AuthorizerType::Token as i32,
            authorizer_uri: "http://auth.internal/check".into(),
            ..Default::default()
        }
    }

    #[test]
    fn each_bad_setting_names_its_field() {
        assert!(authorizer(&jwt()).is_ok());
        assert!(authorizer(&token()).is_ok());
        let with_jwt = |f: fn(&mut JwtConfiguration)| {
            let mut a = jwt();
            f(a.jwt.as_mut().unwrap());
            authorizer(&a).unwrap_err().field
        };
        assert_eq!(
            with_jwt(|j| j.algorithms = vec!["HS256".into()]),
            "authorizer.jwt.algorithms"
        );
        assert_eq!(
            with_jwt(|j| j.leeway_seconds = 301),
            "authorizer.jwt.leeway_seconds"
        );
        assert_eq!(
            with_jwt(|j| j.audiences.clear()),
            "authorizer.jwt.audiences"
        );
        let with_token = |f: fn(&mut Authorizer)| {
            let mut a = token();
            f(&mut a);
            authorizer(&a).unwrap_err().field
        };
        assert_eq!(
            with_token(|a| a.result_ttl_seconds = Some(3601)),
            "authorizer.result_ttl_seconds"
        );
        assert_eq!(with_token(|a| a.timeout_ms = 99), "authorizer.timeout_ms");
        assert_eq!(
            with_token(|a| a.identity_validation_expression = "(".into()),
            "authorizer.identity_validation_expression"
        );
        assert_eq!(
            with_token(|a| a.identity_source = "bad header".into()),
            "authorizer.identity_source"
        );
        assert_eq!(
            with_token(|a| a.authorizer_uri = "ftp://x/".into()),
            "authorizer.authorizer_uri"
        );
    }

    #[test]
    fn validation_expressions_match_the_whole_token() {
        let re = validation_expression("Bearer [a-z]+").unwrap();
        assert!(re.is_match("Bearer abc"));
        assert!(!re.is_match("xBearer abc"));
        assert!(!re.is_match("Bearer abc1"));
    }
}
