//! The integration phase for a function: event in, response out.
//!
//! How each failure is answered, as AWS does: the function raised an error
//! (`X-Amz-Function-Error`), the Invoke API refused (4xx/5xx: throttled,
//! missing, not permitted), the endpoint could not be reached, or the
//! answer is malformed → 502 "Internal server error"; no answer within the
//! integration timeout → 504. Each is logged once with the function and the
//! reason, never a secret.

use super::{Authorizer, EventInput, event_v1, event_v2, is_binary, response};
use crate::aws::AwsError;
use crate::aws::AwsOutbound;
use crate::aws::integration::{FunctionIntegration, PayloadFormat};
use crate::aws::lambda::{self, FunctionError};
use crate::pipeline::GatewayBody;
use crate::pipeline::buffer_body;
use crate::pipeline::caller::Caller;
use crate::pipeline::context::{Context, Target};
use crate::pipeline::gateway_response::GatewayResponse;
use crate::pipeline::normalize;
use bytes::Bytes;
use http::Response;
use http_body_util::{Either, Full};

/// The phase for a function integration.
pub async fn call<'a>(
    cx: &mut Context<'a>,
    target: &Target<'a>,
    function: &FunctionIntegration,
    aws: &AwsOutbound,
) -> Result<Response<GatewayBody>, GatewayResponse> {
    let body = buffer_body(&mut cx.body, cx.max_payload).await?;
    let payload = Bytes::from(event(cx, target, function, &body)?);
    let credentials = aws
        .credentials(&cx.tables.outbound, &function.call.credentials)
        .map_err(|e| {
            tracing::warn!(function = %function.target.function, error = %e, "function integration cannot sign");
            GatewayResponse::ApiConfigurationError
        })?;
    let function_target = function
        .target_for(&target.serving.variables)
        .map_err(|e| {
            tracing::warn!(function = %function.target.function, error = %e, "the function's ARN, with the stage's variables, names no function");
            GatewayResponse::ApiConfigurationError
        })?;
    let started = std::time::Instant::now();
    let result = lambda::invoke(aws, credentials, &function_target, &function.call, payload).await;
    cx.observation.integration_latency = Some(started.elapsed());
    let failed = |why: &dyn std::fmt::Display| {
        tracing::warn!(function = %function.target.function, "function integration failed: {why}");
        GatewayResponse::FunctionFailure
    };
    let answer = match result {
        Ok(answer) => answer,
        Err(AwsError::TimedOut(after)) => {
            tracing::warn!(function = %function.target.function, ?after, "function did not answer within the integration timeout");
            return Err(GatewayResponse::IntegrationTimeout);
        }
        Err(e) => return Err(failed(&e)),
    };
    cx.observation.integration_status = Some(answer.status);
    if !answer.status.is_success() {
        return Err(failed(&format_args!(
            "the Invoke API answered {} ({})",
            answer.status,
            lambda::api_error_type(&answer)
        )));
    }
    if let Some(error) = FunctionError::of(&answer) {
        return Err(failed(&format_args!(
            "the function raised an error {}",
            error.log_summary()
        )));
    }
    let response = response::parse(function.format, &answer.body)
        .map_err(|why| failed(&format_args!("malformed answer: {why}")))?;
    Ok(response.map(|body| Either::Right(Full::new(body))))
}

/// The event for this request, per the integration's payload format.
fn event(
    cx: &Context<'_>,
    target: &Target<'_>,
    function: &FunctionIntegration,
    body: &[u8],
) -> Result<Vec<u8>, GatewayResponse> {
    let params = cx.params();
    let source_ip = cx.client.ip.to_string();
    let protocol = normalize::protocol_name(cx.head.version);
    let domain_name = normalize::domain_name(&cx.head);
    let content_type = cx
        .head
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let principal = cx.authorization.principal.as_deref();
    fn text(v: Option<&http::HeaderValue>) -> Option<&str> {
        v.and_then(|v| v.to_str().ok())
    }
    let claims = text(principal.and_then(|p| p.claims.as_ref()));
    let scopes = claims.map(jwt_scopes).unwrap_or_default();
    let authorizer = match &cx.authorization.caller {
        Caller::Anonymous => Authorizer::None,
        Caller::Jwt { .. } => Authorizer::Jwt {
            claims,
            scopes: &scopes,
        },
        Caller::Authorizer(_) => Authorizer::Lambda {
            principal_id: text(principal.and_then(|p| p.subject.as_ref())),
            context: text(principal.and_then(|p| p.context.as_ref())),
        },
        Caller::Iam(key) => Authorizer::Iam {
            access_key: &key.access_key_id,
            user_arn: &key.principal_arn,
            user: key.username.as_deref(),
            account_id: key.account_id(),
        },
    };
    let input = EventInput {
        resource_path: &target.route.resource_path,
        resource_id: &target.route.resource_id,
        stage: &target.stage.name,
        path: cx.stage_path(),
        method: cx.head.method.as_str(),
        headers: &cx.head.headers,
        query: cx.head.uri.query(),
        params: &params[..],
        stage_variables: &target.serving.variables,
        account_id: &cx.tables.account_id,
        api_id: &target.api.id,
        domain_name,
        request_id: cx.observation.request_id.as_str(),
        time: cx.observation.received_at(),
        source_ip: &source_ip,
        protocol,
        route_key: &function.route_key,
        authorizer,
        api_key_id: cx.usage.as_ref().map(|u| &**u.key_id),
        body,
        binary: is_binary(content_type, &function.binary_media_types, body),
    };
    let built = match function.format {
        PayloadFormat::V1 => event_v1::build(&input),
        PayloadFormat::V2 => event_v2::build(&input),
    };
    built.map_err(|e| {
        tracing::warn!(function = %function.target.function, error = %e, "the function's event cannot be built");
        GatewayResponse::ApiConfigurationError
    })
}

/// The scopes a JWT grants, as AWS lists them in
/// `requestContext.authorizer.jwt.scopes`: the `scope` claim (a
/// space-separated string, RFC 8693) or `scp` (a list or such a string).
fn jwt_scopes(claims: &str) -> Vec<String> {
    let Ok(serde_json::Value::Object(claims)) = serde_json::from_str(claims) else {
        return Vec::new();
    };
    let from = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
            serde_json::Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str())
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    };
    claims
        .get("scope")
        .or_else(|| claims.get("scp"))
        .map(from)
        .unwrap_or_default()
}

#[cfg(test)]
mod scope_tests {
    use super::jwt_scopes;

    #[test]
    fn jwt_scopes_come_from_the_scope_or_scp_claim() {
        assert_eq!(
            jwt_scopes(r#"{"sub":"u","scope":"read  write"}"#),
            ["read", "write"]
        );
        assert_eq!(
            jwt_scopes(r#"{"scp":["pets:read","x"]}"#),
            ["pets:read", "x"]
        );
        assert_eq!(jwt_scopes(r#"{"scp":"a b"}"#), ["a", "b"]);
        assert!(jwt_scopes(r#"{"sub":"u"}"#).is_empty());
        assert!(jwt_scopes("not json").is_empty());
    }
}
