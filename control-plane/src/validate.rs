//! Field-level validation of admin requests. Every refusal names the field
//! and the reason, so an operator can fix the request without guessing; bad
//! configuration never reaches the store, let alone a node.
//!
//! The rules themselves live in [`archway_proto::rules`], where a node's
//! compiler checks the same ones: what the admin API accepts always
//! compiles on a node, and what it refuses never does. This module gives
//! them the admin API's error type; checks that need the store (does the
//! deployment exist?) are in the services.

use crate::error::{ApiError, ApiResult};
use archway_proto::path::{self, PathPart};
use archway_proto::rules;
use archway_proto::v1::{
    ApiProtocol, Authorizer, AuthorizerType, Integration, Method, RestApi, Stage, UsagePlan,
};

pub fn api_id(field: &str, id: &str) -> ApiResult<()> {
    Ok(rules::names::api_id(field, id)?)
}

pub fn name(field: &str, name: &str) -> ApiResult<()> {
    Ok(rules::names::name(field, name)?)
}

pub fn max_len(field: &str, value: &str, max: usize) -> ApiResult<()> {
    Ok(rules::names::max_len(field, value, max)?)
}

/// REST unless said otherwise.
pub fn protocol(field: &str, value: i32) -> ApiResult<ApiProtocol> {
    Ok(rules::api::protocol(field, value)?)
}

pub fn api_key_source(field: &str, value: i32) -> ApiResult<()> {
    rules::api::api_key_source(field, value)?;
    Ok(())
}

pub fn endpoint_type(field: &str, value: i32) -> ApiResult<()> {
    rules::api::endpoint_type(field, value)?;
    Ok(())
}

/// A usage plan's own settings, with the protocol of each API it names
/// (`protocol_of`); its stages' existence is checked against the store by
/// the service.
pub fn usage_plan(plan: &UsagePlan, protocol_of: impl Fn(&str) -> ApiProtocol) -> ApiResult<()> {
    Ok(rules::throttle::usage_plan(plan, protocol_of)?)
}

pub fn path_part<'a>(field: &str, part: &'a str) -> ApiResult<PathPart<'a>> {
    path::parse_part(part).map_err(|reason| crate::error::ApiError::invalid(field, reason))
}

/// Upper-cases and checks an HTTP verb.
pub fn http_method(field: &str, method: &str) -> ApiResult<String> {
    Ok(rules::http::http_method(field, method)?)
}

/// A method's `http_method` in an API of `protocol`: an HTTP verb
/// (upper-cased), or in a WEBSOCKET API a route key (as it is: keys are
/// case-sensitive).
pub fn method_key(field: &str, protocol: ApiProtocol, key: &str) -> ApiResult<String> {
    if protocol == ApiProtocol::Websocket {
        rules::websocket::route_key(field, key)?;
        Ok(key.to_owned())
    } else {
        http_method(field, key)
    }
}

/// An API's fields that depend on its being a WEBSOCKET API: the route
/// selection expression (required there, refused elsewhere) and no binary
/// media types.
pub fn websocket_api(api: &RestApi, protocol: ApiProtocol) -> ApiResult<()> {
    Ok(rules::websocket::api(api, protocol)?)
}

/// What a method may say in an API of `protocol` (a WEBSOCKET API's
/// routes: route keys, `$connect`-only authorization, their integrations);
/// `authorizer` is the type of the authorizer it names, when found.
pub fn method_in(
    field: &str,
    method: &Method,
    protocol: ApiProtocol,
    authorizer: Option<AuthorizerType>,
) -> ApiResult<()> {
    Ok(rules::websocket::method_in(
        field, method, protocol, authorizer,
    )?)
}

/// An authorizer's type in an API of `protocol` (REQUEST only in WEBSOCKET
/// APIs).
pub fn authorizer_in(field: &str, protocol: ApiProtocol, kind: AuthorizerType) -> ApiResult<()> {
    Ok(rules::websocket::authorizer_type(field, protocol, kind)?)
}

/// Checks an integration where it is used: path, protocol and method.
///
/// A fixed mock answer may not set a framing or hop-by-hop header
/// (`Content-Length` disagreeing with its body, `Transfer-Encoding`,
/// `Connection`...): refused here, when written. Nodes drop such headers
/// when they compile a mock rather than refuse it, so a deployment stored
/// before this check still serves (which is why the check is the admin
/// API's and not in the rules nodes share).
pub fn integration_in(
    field: &str,
    integration: &Integration,
    scope: &rules::integration::Scope<'_>,
) -> ApiResult<()> {
    rules::integration::integration_in(field, integration, scope)?;
    if let Some(mock) = &integration.mock {
        for name in mock.headers.keys() {
            if let Some(reason) = rules::http::reserved_header(name) {
                return Err(ApiError::invalid(
                    format!("{field}.mock.headers.{name}"),
                    reason,
                ));
            }
        }
    }
    Ok(())
}

pub fn authorizer(a: &Authorizer) -> ApiResult<()> {
    Ok(rules::authorizer::authorizer(a)?)
}

pub fn stage_name(field: &str, name: &str) -> ApiResult<()> {
    Ok(rules::names::stage_name(field, name)?)
}

/// A stage's own settings, for a stage of an API of `protocol`; the
/// deployments it names are checked against the store by the service.
pub fn stage(stage: &Stage, protocol: ApiProtocol) -> ApiResult<()> {
    Ok(rules::stage::stage(stage, protocol)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules' violations reach the admin API as InvalidArgument with
    /// the same field and reason.
    #[test]
    fn violations_become_invalid_arguments() {
        match api_id("id", "Pets").unwrap_err() {
            ApiError::InvalidArgument { field, reason } => {
                assert_eq!(field, "id");
                assert!(reason.contains("not a valid API id"), "{reason}");
            }
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    fn field_of(e: ApiError) -> String {
        match e {
            ApiError::InvalidArgument { field, .. } => field,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn a_mock_cannot_set_framing_or_hop_by_hop_headers() {
        use archway_proto::v1::{IntegrationType, MockResponse};
        let mock = |name: &str| Integration {
            r#type: IntegrationType::Mock as i32,
            mock: Some(MockResponse {
                status_code: 200,
                headers: [(name.to_owned(), "1".to_owned())].into(),
                body: "{}".into(),
            }),
            ..Default::default()
        };
        let at = rules::integration::Scope::path("/");
        for reserved in [
            "Content-Length",
            "transfer-encoding",
            "Connection",
            "Proxy-Authenticate",
        ] {
            let refused = integration_in("method.integration", &mock(reserved), &at).unwrap_err();
            assert_eq!(
                field_of(refused),
                format!("method.integration.mock.headers.{reserved}")
            );
        }
        assert!(integration_in("method.integration", &mock("X-Request-Kind"), &at).is_ok());
    }

    #[test]
    fn cache_key_parameters_and_stage_cache_settings_are_refused_with_the_field() {
        use archway_proto::v1::IntegrationType;
        let integ = Integration {
            r#type: IntegrationType::HttpProxy as i32,
            uri: "http://127.0.0.1:1/pets".into(),
            cache_key_parameters: vec!["method.request.path.petId".into()],
            ..Default::default()
        };
        let at = |path| rules::integration::Scope::path(path);
        assert!(integration_in("method.integration", &integ, &at("/pets/{petId}")).is_ok());
        assert_eq!(
            field_of(integration_in("method.integration", &integ, &at("/pets")).unwrap_err()),
            "method.integration.cache_key_parameters[0]"
        );
        let stage = Stage {
            stage_name: "prod".into(),
            cache_cluster_enabled: true,
            cache_cluster_size: "1".into(),
            ..Default::default()
        };
        assert_eq!(
            field_of(super::stage(&stage, ApiProtocol::Rest).unwrap_err()),
            "stage.cache_cluster_size"
        );
    }
}
