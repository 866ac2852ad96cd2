//! Field-level validation of admin requests. Every refusal names the field
//! and the reason, so an operator can fix the request without guessing; bad
//! configuration never reaches the store, let alone a node.

use crate::error::{ApiError, ApiResult};
use archway_proto::access_log;
use archway_proto::path::{self, PathPart};
use archway_proto::rules::stage_cache;
use archway_proto::uri_template::{Piece, UriTemplate};
use archway_proto::v1::{
    AccessLogSettings, ApiKeySource, ApiProtocol, Authorizer, AuthorizerType, CanarySettings,
    Integration, IntegrationType, MethodThrottle, Stage, ThrottleSettings,
};
use archway_proto::{HTTP_METHODS, MAX_INTEGRATION_TIMEOUT_MS, MIN_INTEGRATION_TIMEOUT_MS};
use std::collections::BTreeMap;

pub fn api_id(field: &str, id: &str) -> ApiResult<()> {
    let ok = !id.is_empty()
        && id.len() <= 63
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            format!(
                "'{id}' is not a valid API id: use 1 to 63 lowercase letters, digits or '-', starting with a letter or digit"
            ),
        ))
    }
}

pub fn name(field: &str, name: &str) -> ApiResult<()> {
    if name.trim().is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    max_len(field, name, 1024)
}

pub fn max_len(field: &str, value: &str, max: usize) -> ApiResult<()> {
    if value.len() > max {
        return Err(ApiError::invalid(
            field,
            format!("must be at most {max} bytes, got {}", value.len()),
        ));
    }
    Ok(())
}

/// REST unless said otherwise; WebSocket APIs are not served yet.
pub fn protocol(field: &str, value: i32) -> ApiResult<ApiProtocol> {
    match ApiProtocol::try_from(value) {
        Ok(ApiProtocol::Unspecified) => Ok(ApiProtocol::Rest),
        Ok(p @ (ApiProtocol::Rest | ApiProtocol::Http)) => Ok(p),
        Ok(ApiProtocol::Websocket) => Err(ApiError::invalid(
            field,
            "WEBSOCKET APIs are not supported yet; use REST or HTTP",
        )),
        Err(_) => Err(ApiError::invalid(
            field,
            format!("unknown protocol {value}"),
        )),
    }
}

pub fn api_key_source(field: &str, value: i32) -> ApiResult<()> {
    ApiKeySource::try_from(value).map(|_| ()).map_err(|_| {
        ApiError::invalid(
            field,
            format!("unknown key source {value}; use HEADER or AUTHORIZER"),
        )
    })
}

/// A token bucket: a finite, non-negative rate of at most 1,000,000 per
/// second and a burst of at most 1,000,000 (AWS's limits are far lower).
pub fn throttle(field: &str, t: &ThrottleSettings) -> ApiResult<()> {
    if !t.rate_limit.is_finite() || t.rate_limit < 0.0 || t.rate_limit > 1e6 {
        return Err(ApiError::invalid(
            format!("{field}.rate_limit"),
            format!(
                "must be between 0 and 1000000 requests per second, got {}",
                t.rate_limit
            ),
        ));
    }
    if t.burst_limit > 1_000_000 {
        return Err(ApiError::invalid(
            format!("{field}.burst_limit"),
            format!("must be at most 1000000, got {}", t.burst_limit),
        ));
    }
    if t.rate_limit > 0.0 && t.burst_limit == 0 {
        return Err(ApiError::invalid(
            format!("{field}.burst_limit"),
            "must be at least 1 when rate_limit is set",
        ));
    }
    Ok(())
}

/// A method throttle names `*` or a resource path, and `*` or a verb.
pub fn method_throttle(field: &str, m: &MethodThrottle) -> ApiResult<()> {
    if m.resource_path != "*" && !m.resource_path.starts_with('/') {
        return Err(ApiError::invalid(
            format!("{field}.resource_path"),
            format!(
                "'{}' must be '*' or a resource path such as /pets/{{petId}}",
                m.resource_path
            ),
        ));
    }
    if m.http_method != "*" {
        http_method(&format!("{field}.http_method"), &m.http_method)?;
    }
    let t = m
        .throttle
        .as_ref()
        .ok_or_else(|| ApiError::invalid(format!("{field}.throttle"), "is required"))?;
    throttle(&format!("{field}.throttle"), t)
}

/// A stage's cache settings (cluster size, TTLs, per-method entries), by
/// the rules the nodes' compiler applies too.
pub fn stage_cache(field: &str, stage: &Stage) -> ApiResult<()> {
    stage_cache::stage(field, stage).map_err(rule)
}

/// A shared rule's refusal as the admin API's.
fn rule(e: archway_proto::rules::Violation) -> ApiError {
    ApiError::invalid(e.field, e.reason)
}

pub fn path_part<'a>(field: &str, part: &'a str) -> ApiResult<PathPart<'a>> {
    path::parse_part(part).map_err(|reason| ApiError::invalid(field, reason))
}

/// Upper-cases and checks an HTTP verb.
pub fn http_method(field: &str, method: &str) -> ApiResult<String> {
    let upper = method.to_ascii_uppercase();
    if HTTP_METHODS.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(ApiError::invalid(
            field,
            format!(
                "'{method}' is not a supported HTTP method; use one of {}",
                HTTP_METHODS.join(", ")
            ),
        ))
    }
}

/// Checks an integration against the path of the resource it serves, so that
/// every `{param}` in its URI is one the path provides.
pub fn integration(field: &str, integration: &Integration, resource_path: &str) -> ApiResult<()> {
    let f = |name: &str| format!("{field}.{name}");
    stage_cache::key_parameters(
        &f("cache_key_parameters"),
        &integration.cache_key_parameters,
        resource_path,
    )
    .map_err(rule)?;
    if integration.timeout_ms != 0
        && !(MIN_INTEGRATION_TIMEOUT_MS..=MAX_INTEGRATION_TIMEOUT_MS)
            .contains(&integration.timeout_ms)
    {
        return Err(ApiError::invalid(
            f("timeout_ms"),
            format!(
                "must be between {MIN_INTEGRATION_TIMEOUT_MS} and {MAX_INTEGRATION_TIMEOUT_MS} (or 0 for the default), got {}",
                integration.timeout_ms
            ),
        ));
    }
    match IntegrationType::try_from(integration.r#type) {
        Ok(IntegrationType::HttpProxy) => {
            if !integration.http_method.is_empty() {
                http_method(&f("http_method"), &integration.http_method)?;
            }
            integration_uri(&f("uri"), &integration.uri, resource_path)
        }
        Ok(IntegrationType::Mock) => {
            let mock = integration.mock.as_ref().ok_or_else(|| {
                ApiError::invalid(f("mock"), "a MOCK integration needs a mock response")
            })?;
            if !(100..=599).contains(&mock.status_code) {
                return Err(ApiError::invalid(
                    f("mock.status_code"),
                    format!("must be between 100 and 599, got {}", mock.status_code),
                ));
            }
            for (name, value) in &mock.headers {
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(ApiError::invalid(
                        f("mock.headers"),
                        format!("'{name}' is not a valid header name"),
                    ));
                }
                if http::HeaderValue::from_str(value).is_err() {
                    return Err(ApiError::invalid(
                        format!("{field}.mock.headers.{name}"),
                        "is not a valid header value (visible ASCII only)",
                    ));
                }
            }
            max_len(&f("mock.body"), &mock.body, 1 << 20)
        }
        Ok(IntegrationType::Unspecified) => Err(ApiError::invalid(
            f("type"),
            "must be set: HTTP_PROXY or MOCK",
        )),
        Err(_) => Err(ApiError::invalid(
            f("type"),
            format!("unknown integration type {}", integration.r#type),
        )),
    }
}

fn integration_uri(field: &str, uri: &str, resource_path: &str) -> ApiResult<()> {
    if uri.is_empty() {
        return Err(ApiError::invalid(
            field,
            "an HTTP_PROXY integration needs a uri",
        ));
    }
    max_len(field, uri, 2048)?;
    let template = UriTemplate::parse(uri).map_err(|reason| ApiError::invalid(field, reason))?;
    // The scheme must be visible unless a stage variable supplies the whole start.
    match template.pieces().first() {
        Some(Piece::Literal(start))
            if !start.starts_with("http://") && !start.starts_with("https://") =>
        {
            return Err(ApiError::invalid(
                field,
                format!("'{uri}' must start with http:// or https://"),
            ));
        }
        _ => {}
    }
    // The caller's text may never choose the backend: the scheme and
    // authority come from the template and stage variables only.
    if let Some(param) = template.path_param_in_authority() {
        return Err(ApiError::invalid(
            field,
            format!(
                "path parameter {{{param}}} is in the scheme or host part of '{uri}'; a caller could pick the backend. Put the host in the URI or a stage variable, and path parameters after the first '/'"
            ),
        ));
    }
    let available: Vec<&str> = path::param_names(resource_path).collect();
    for used in template.path_params() {
        if !available.contains(&used) {
            return Err(ApiError::invalid(
                field,
                format!(
                    "uses path parameter {{{used}}}, which resource path '{resource_path}' does not have"
                ),
            ));
        }
    }
    Ok(())
}

/// Signature algorithms a JWT authorizer may allow: asymmetric only. HMAC
/// would need a secret shared with the issuer, and "none" is no signature.
pub const JWT_ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

pub fn authorizer(a: &Authorizer) -> ApiResult<()> {
    name("authorizer.name", &a.name)?;
    match AuthorizerType::try_from(a.r#type) {
        Ok(AuthorizerType::Jwt) => jwt_authorizer(a),
        Ok(AuthorizerType::Token) => {
            identity_header("authorizer.identity_source", &a.identity_source)?;
            if !a.identity_validation_expression.is_empty() {
                // Nodes match the whole token: check the form they compile.
                regex::Regex::new(&format!("^(?:{})$", a.identity_validation_expression)).map_err(
                    |e| {
                        ApiError::invalid(
                            "authorizer.identity_validation_expression",
                            format!("is not a regular expression: {e}"),
                        )
                    },
                )?;
            }
            custom_authorizer(a)
        }
        Ok(AuthorizerType::Request) => {
            if !a.identity_validation_expression.is_empty() {
                return Err(ApiError::invalid(
                    "authorizer.identity_validation_expression",
                    "only TOKEN authorizers validate their identity",
                ));
            }
            archway_proto::identity_source::parse_list(&a.identity_source)
                .map_err(|reason| ApiError::invalid("authorizer.identity_source", reason))?;
            if a.identity_source.trim().is_empty() && a.result_ttl_seconds != Some(0) {
                return Err(ApiError::invalid(
                    "authorizer.identity_source",
                    "a REQUEST authorizer whose answers are cached needs identity sources \
                     (the cache key); set result_ttl_seconds to 0 to call it on every request",
                ));
            }
            custom_authorizer(a)
        }
        _ => Err(ApiError::invalid(
            "authorizer.type",
            "must be JWT, TOKEN or REQUEST",
        )),
    }
}

/// A header name, plain or as AWS writes it (`method.request.header.NAME`).
fn identity_header(field: &str, source: &str) -> ApiResult<()> {
    if source.is_empty() {
        return Ok(());
    }
    let header = source
        .strip_prefix(archway_proto::identity_source::HEADER_PREFIX)
        .unwrap_or(source);
    http::HeaderName::from_bytes(header.as_bytes())
        .map(drop)
        .map_err(|_| ApiError::invalid(field, format!("'{source}' is not a header name")))
}

/// What TOKEN and REQUEST authorizers share: where they run and how long
/// their answers count.
fn custom_authorizer(a: &Authorizer) -> ApiResult<()> {
    if a.jwt.is_some() {
        return Err(ApiError::invalid(
            "authorizer.jwt",
            "only JWT authorizers take a JWT configuration",
        ));
    }
    web_url("authorizer.authorizer_uri", &a.authorizer_uri)?;
    if a.result_ttl_seconds.is_some_and(|t| t > 3600) {
        return Err(ApiError::invalid(
            "authorizer.result_ttl_seconds",
            "must be 0 to 3600",
        ));
    }
    if a.timeout_ms != 0 && !(100..=29_000).contains(&a.timeout_ms) {
        return Err(ApiError::invalid(
            "authorizer.timeout_ms",
            "must be 100 to 29000 (or 0 for the default of 10000)",
        ));
    }
    Ok(())
}

/// A URL nodes call: http:// or https:// (verified against the node's
/// trusted CAs), with a host.
fn web_url(field: &str, url: &str) -> ApiResult<()> {
    if url.is_empty() {
        return Err(ApiError::invalid(field, "is required"));
    }
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url
            .parse::<http::Uri>()
            .is_ok_and(|u| u.host().is_some_and(|h| !h.is_empty()));
    if !ok {
        return Err(ApiError::invalid(
            field,
            format!("'{url}' is not an http:// or https:// URL"),
        ));
    }
    Ok(())
}

fn jwt_authorizer(a: &Authorizer) -> ApiResult<()> {
    identity_header("authorizer.identity_source", &a.identity_source)?;
    if !a.authorizer_uri.is_empty() || !a.identity_validation_expression.is_empty() {
        return Err(ApiError::invalid(
            "authorizer.authorizer_uri",
            "JWT authorizers take jwt settings, not an authorizer_uri or validation expression",
        ));
    }
    let jwt = a.jwt.as_ref().ok_or_else(|| {
        ApiError::invalid("authorizer.jwt", "a JWT authorizer needs its configuration")
    })?;
    if jwt.issuer.is_empty() {
        return Err(ApiError::invalid("authorizer.jwt.issuer", "is required"));
    }
    if jwt.audiences.is_empty() || jwt.audiences.iter().any(String::is_empty) {
        return Err(ApiError::invalid(
            "authorizer.jwt.audiences",
            "needs at least one non-empty audience",
        ));
    }
    web_url("authorizer.jwt.jwks_uri", &jwt.jwks_uri)?;
    for alg in &jwt.algorithms {
        if !JWT_ALGORITHMS.contains(&alg.as_str()) {
            return Err(ApiError::invalid(
                "authorizer.jwt.algorithms",
                format!("'{alg}' is not allowed; use {}", JWT_ALGORITHMS.join(", ")),
            ));
        }
    }
    if jwt.leeway_seconds > 300 {
        return Err(ApiError::invalid(
            "authorizer.jwt.leeway_seconds",
            "must be at most 300",
        ));
    }
    Ok(())
}

pub fn stage_name(field: &str, name: &str) -> ApiResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            format!("'{name}' is not a valid stage name: use 1 to 128 letters, digits, '_' or '-'"),
        ))
    }
}

/// Stage variables as AWS allows them: names of letters, digits and '_',
/// values of at most 512 characters from `A-Za-z0-9-._~:/?#&=,`. The narrow
/// value alphabet keeps variables safe to place in URIs and headers.
pub fn stage_variables(field: &str, variables: &BTreeMap<String, String>) -> ApiResult<()> {
    for (name, value) in variables {
        if name.is_empty()
            || name.len() > 64
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(ApiError::invalid(
                field,
                format!("variable name '{name}' must be 1 to 64 letters, digits or '_'"),
            ));
        }
        if value.len() > 512 {
            return Err(ApiError::invalid(
                format!("{field}.{name}"),
                "must be at most 512 characters",
            ));
        }
        if let Some(bad) = value
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-._~:/?#&=,".contains(*c)))
        {
            return Err(ApiError::invalid(
                format!("{field}.{name}"),
                format!("has '{bad}'; values take letters, digits and -._~:/?#&=,"),
            ));
        }
    }
    Ok(())
}

/// An empty format turns access logging off; otherwise the format must parse
/// and the destination must be one a node can write to.
pub fn access_log_settings(field: &str, settings: &AccessLogSettings) -> ApiResult<()> {
    if settings.format.is_empty() {
        if settings.destination.is_empty() {
            return Ok(());
        }
        return Err(ApiError::invalid(
            format!("{field}.format"),
            "is required to log to a destination: JSON, CLF or a $context template",
        ));
    }
    max_len(&format!("{field}.format"), &settings.format, 4096)?;
    access_log::Template::parse(&settings.format)
        .map_err(|reason| ApiError::invalid(format!("{field}.format"), reason))?;
    access_log::Destination::parse(&settings.destination)
        .map_err(|reason| ApiError::invalid(format!("{field}.destination"), reason))?;
    Ok(())
}

pub fn canary(field: &str, canary: &CanarySettings) -> ApiResult<()> {
    let pct = canary.percent_traffic;
    if !pct.is_finite() || !(0.0..=100.0).contains(&pct) {
        return Err(ApiError::invalid(
            format!("{field}.percent_traffic"),
            format!("must be between 0.0 and 100.0, got {pct}"),
        ));
    }
    if canary.deployment_id.is_empty() {
        return Err(ApiError::invalid(
            format!("{field}.deployment_id"),
            "a canary needs the deployment it sends traffic to",
        ));
    }
    stage_variables(
        &format!("{field}.stage_variable_overrides"),
        &canary.stage_variable_overrides,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_proto::v1::MockResponse;

    fn field_of(err: ApiError) -> String {
        match err {
            ApiError::InvalidArgument { field, .. } => field,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn api_ids() {
        assert!(api_id("id", "petstore-1").is_ok());
        for bad in ["", "Pets", "-a", "a/b", &"a".repeat(64)] {
            assert_eq!(field_of(api_id("id", bad).unwrap_err()), "id");
        }
    }

    #[test]
    fn integration_uri_may_only_use_the_resource_params() {
        let integ = Integration {
            r#type: IntegrationType::HttpProxy as i32,
            uri: "http://127.0.0.1:1/pets/{petId}".into(),
            ..Default::default()
        };
        assert!(integration("method.integration", &integ, "/pets/{petId}").is_ok());
        let err = integration("method.integration", &integ, "/pets").unwrap_err();
        assert_eq!(field_of(err), "method.integration.uri");
    }

    #[test]
    fn cache_key_parameters_and_stage_cache_settings_are_refused_with_the_field() {
        let integ = Integration {
            r#type: IntegrationType::HttpProxy as i32,
            uri: "http://127.0.0.1:1/pets".into(),
            cache_key_parameters: vec!["method.request.path.petId".into()],
            ..Default::default()
        };
        assert!(integration("method.integration", &integ, "/pets/{petId}").is_ok());
        assert_eq!(
            field_of(integration("method.integration", &integ, "/pets").unwrap_err()),
            "method.integration.cache_key_parameters[0]"
        );
        let stage = Stage {
            cache_cluster_enabled: true,
            cache_cluster_size: "1".into(),
            ..Default::default()
        };
        assert_eq!(
            field_of(stage_cache("stage", &stage).unwrap_err()),
            "stage.cache_cluster_size"
        );
    }

    #[test]
    fn integration_needs_a_scheme_type_and_sane_timeout() {
        let base = Integration {
            r#type: IntegrationType::HttpProxy as i32,
            uri: "http://h/".into(),
            ..Default::default()
        };
        let cases = [
            (
                Integration {
                    uri: "ftp://h/".into(),
                    ..base.clone()
                },
                "i.uri",
            ),
            (
                Integration {
                    r#type: 0,
                    ..base.clone()
                },
                "i.type",
            ),
            (
                Integration {
                    timeout_ms: 10,
                    ..base.clone()
                },
                "i.timeout_ms",
            ),
            (
                Integration {
                    timeout_ms: 30_000,
                    ..base.clone()
                },
                "i.timeout_ms",
            ),
            (
                Integration {
                    r#type: IntegrationType::Mock as i32,
                    mock: Some(MockResponse {
                        status_code: 99,
                        ..Default::default()
                    }),
                    ..base.clone()
                },
                "i.mock.status_code",
            ),
        ];
        for (integ, field) in cases {
            assert_eq!(field_of(integration("i", &integ, "/").unwrap_err()), field);
        }
        let stage_var_host = Integration {
            uri: "${stageVariables.backend}/x".into(),
            ..base.clone()
        };
        assert!(integration("i", &stage_var_host, "/").is_ok());
        let https = Integration {
            uri: "https://h/x".into(),
            ..base
        };
        assert!(integration("i", &https, "/").is_ok());
    }

    /// Every place in the scheme or authority a caller's path parameter
    /// could take, refused with the field and the reason; stage variables
    /// there, and parameters after the authority, are fine.
    #[test]
    fn integration_uri_keeps_path_parameters_out_of_the_host() {
        let with_uri = |uri: &str| Integration {
            r#type: IntegrationType::HttpProxy as i32,
            uri: uri.into(),
            ..Default::default()
        };
        for uri in [
            "http://{host}/x",
            "http://{host}.internal:8080/x",
            "http://127.0.0.1:{port}/x",
            "http://{user}@127.0.0.1/x",
            "http://${stageVariables.backend}{host}/x",
            "${stageVariables.base}{host}",
            "https://{proxy}",
        ] {
            let err = integration(
                "method.integration",
                &with_uri(uri),
                "/{host}/{port}/{user}/{proxy+}",
            )
            .expect_err(uri);
            assert_eq!(
                err.to_string().split(':').next(),
                Some("method.integration.uri"),
                "{uri}"
            );
            assert!(
                err.to_string().contains("is in the scheme or host part"),
                "{uri}: {err}"
            );
        }
        for uri in [
            "http://${stageVariables.backend}/{host}",
            "${stageVariables.base}/{proxy}",
            "https://${stageVariables.h}:${stageVariables.port}/a/{port}?u={user}",
            "http://127.0.0.1:9/{proxy}",
        ] {
            assert!(
                integration("i", &with_uri(uri), "/{host}/{port}/{user}/{proxy+}").is_ok(),
                "{uri}"
            );
        }
    }

    #[test]
    fn called_urls_are_http_or_https_with_a_host() {
        for ok in ["http://idp/jwks", "https://idp.example:8443/jwks.json"] {
            assert!(web_url("f", ok).is_ok(), "{ok}");
        }
        for bad in ["", "ftp://idp/jwks", "https://", "idp/jwks", "HTTPS//idp"] {
            assert_eq!(field_of(web_url("f", bad).unwrap_err()), "f", "{bad}");
        }
    }

    #[test]
    fn stage_variables_are_restricted() {
        let ok = BTreeMap::from([("backend".to_string(), "127.0.0.1:8080".to_string())]);
        assert!(stage_variables("v", &ok).is_ok());
        let bad = BTreeMap::from([("x".to_string(), "a b".to_string())]);
        assert_eq!(field_of(stage_variables("v", &bad).unwrap_err()), "v.x");
    }

    #[test]
    fn access_log_settings_name_the_bad_part() {
        let ok = AccessLogSettings {
            format: "JSON".into(),
            destination: "stdout".into(),
        };
        assert!(access_log_settings("s", &ok).is_ok());
        assert!(access_log_settings("s", &AccessLogSettings::default()).is_ok());
        let bad_var = AccessLogSettings {
            format: "$context.nope".into(),
            ..ok.clone()
        };
        assert_eq!(
            field_of(access_log_settings("s", &bad_var).unwrap_err()),
            "s.format"
        );
        let bad_dest = AccessLogSettings {
            destination: "file:rel.log".into(),
            ..ok
        };
        assert_eq!(
            field_of(access_log_settings("s", &bad_dest).unwrap_err()),
            "s.destination"
        );
    }

    #[test]
    fn canary_percent_is_bounded() {
        let c = CanarySettings {
            deployment_id: "d".into(),
            percent_traffic: 100.5,
            ..Default::default()
        };
        assert_eq!(
            field_of(canary("stage.canary", &c).unwrap_err()),
            "stage.canary.percent_traffic"
        );
    }
}
