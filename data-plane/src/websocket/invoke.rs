//! Calls a route's integration with one event and reads its answer whole:
//! the gateway itself (MOCK: its body), an HTTP backend (HTTP_PROXY: a
//! POST, or the integration's method, with the event's headers and the
//! message as the body; see [`super::event`]), or a function (AWS_PROXY:
//! AWS's WebSocket event; the answer's `body` is the route's response).
//!
//! The answer is bounded by the node's message size: it may be sent back
//! to the client as one message. Failures are the gateway's usual
//! refusals, so a `$connect` refused by its integration answers the
//! client as any integration failure does.

use super::event::Event;
use crate::aws::AwsOutbound;
use crate::aws::integration::ProxyIntegration;
use crate::aws::lambda::{self, FunctionError};
use crate::pipeline::gateway_response::GatewayResponse;
use crate::pipeline::http_proxy::render_uri;
use crate::routes::Params;
use crate::tables::{CompiledIntegration, Route, RuntimeTables, StageTarget};
use crate::upstream::{BufferedLimits, BufferedRequest, Upstream, UpstreamError};
use archway_proto::uri_template::UriTemplate;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

/// An integration's answer to one event.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    /// Read only at `$connect` (the chosen subprotocol, the refusal's
    /// content type).
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Where integrations are called from.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub upstream: Upstream,
    pub aws: AwsOutbound,
    /// The longest answer read (the node's message size).
    pub max_answer: usize,
}

/// Calls `route`'s integration (served with `serving`'s stage variables)
/// with `event`.
pub async fn call(
    out: &Outbound,
    tables: &RuntimeTables,
    serving: &StageTarget,
    route: &Route,
    event: &Event<'_>,
) -> Result<Answer, GatewayResponse> {
    match &route.integration {
        CompiledIntegration::Mock {
            status,
            headers,
            body,
        } => Ok(Answer {
            status: *status,
            headers: headers.clone(),
            body: body.clone(),
        }),
        CompiledIntegration::HttpProxy {
            method,
            uri,
            timeout,
        } => http_event(out, serving, route, method.as_ref(), uri, *timeout, event).await,
        CompiledIntegration::AwsProxy(proxy) => {
            match &**proxy {
                ProxyIntegration::Function(function) => {
                    let payload = Bytes::from(
                        serde_json::to_vec(&event.aws_event(&serving.variables))
                            .map_err(|_| GatewayResponse::ApiConfigurationError)?,
                    );
                    let name = &function.target.function;
                    let credentials = out
                    .aws
                    .credentials(&tables.outbound, &function.call.credentials)
                    .map_err(|e| {
                        tracing::warn!(function = %name, error = %e, "function integration cannot sign");
                        GatewayResponse::ApiConfigurationError
                    })?;
                    let target = function.target_for(&serving.variables).map_err(|e| {
                    tracing::warn!(function = %name, error = %e, "the function's ARN names no function");
                    GatewayResponse::ApiConfigurationError
                })?;
                    let answer = lambda::invoke(&out.aws, credentials, &target, &function.call, payload)
                    .await
                    .map_err(|e| match e {
                        crate::aws::AwsError::TimedOut(_) => GatewayResponse::IntegrationTimeout,
                        e => {
                            tracing::warn!(function = %name, error = %e, "function integration failed");
                            GatewayResponse::FunctionFailure
                        }
                    })?;
                    if !answer.status.is_success() || FunctionError::of(&answer).is_some() {
                        tracing::warn!(function = %name, status = %answer.status, "function failed");
                        return Err(GatewayResponse::FunctionFailure);
                    }
                    function_answer(&answer.body)
                }
                ProxyIntegration::Service(_) => Err(GatewayResponse::ApiConfigurationError),
            }
        }
        CompiledIntegration::WebSocketMapped(mapping) => {
            super::mapping::call(out, tables, serving, route, event, mapping).await
        }
        // REST's mappings: a deployment of a WebSocket API never has them.
        CompiledIntegration::Mapped(_) => Err(GatewayResponse::ApiConfigurationError),
    }
}

/// One event to an HTTP backend: a POST (or the integration's method)
/// with the event's headers and the message as the body.
async fn http_event(
    out: &Outbound,
    serving: &StageTarget,
    route: &Route,
    method: Option<&Method>,
    uri: &UriTemplate,
    timeout: std::time::Duration,
    event: &Event<'_>,
) -> Result<Answer, GatewayResponse> {
    let uri = render_uri(uri, &Params::new(), &serving.variables, None)?;
    let method = method.cloned().unwrap_or(Method::POST);
    send(
        out,
        route,
        method,
        &uri,
        event.http_headers(),
        event.body.clone(),
        timeout,
    )
    .await
}

/// One buffered call to an event's HTTP backend (HTTP_PROXY, or a mapped
/// HTTP integration's rendered request), its answer read whole up to the
/// message size; failures are the gateway's usual refusals. The URI is
/// logged without its query, where a template may have put values.
pub(super) async fn send(
    out: &Outbound,
    route: &Route,
    method: Method,
    uri: &str,
    headers: HeaderMap,
    body: Bytes,
    timeout: std::time::Duration,
) -> Result<Answer, GatewayResponse> {
    let request = BufferedRequest {
        method,
        uri,
        headers,
        body,
    };
    let limits = BufferedLimits {
        timeout,
        max_response_bytes: out.max_answer,
    };
    match out.upstream.send_buffered(request, limits).await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        }
        Err(UpstreamError::TimedOut(_)) => Err(GatewayResponse::IntegrationTimeout),
        Err(e) => {
            let target = uri.split_once('?').map_or(uri, |(path, _)| path);
            tracing::warn!(uri = target, error = %e, route = route.route_key.as_deref(), "WebSocket integration failed");
            Err(GatewayResponse::IntegrationFailure)
        }
    }
}

/// A function's answer to a WebSocket event, as AWS reads it: an object
/// with `statusCode` (default 200) and `body` (base64 when
/// `isBase64Encoded`); any other JSON value is the body itself.
fn function_answer(payload: &Bytes) -> Result<Answer, GatewayResponse> {
    use base64::Engine;
    let value: serde_json::Value = serde_json::from_slice(payload).map_err(|e| {
        tracing::warn!(error = %e, "the function's answer is not JSON");
        GatewayResponse::FunctionFailure
    })?;
    let serde_json::Value::Object(fields) = &value else {
        return Ok(Answer {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: payload.clone(),
        });
    };
    if !fields.contains_key("statusCode") && !fields.contains_key("body") {
        return Ok(Answer {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: payload.clone(),
        });
    }
    let status = fields
        .get("statusCode")
        .and_then(|s| s.as_u64())
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let body = match fields.get("body") {
        None | Some(serde_json::Value::Null) => Bytes::new(),
        Some(serde_json::Value::String(text)) => {
            if fields.get("isBase64Encoded") == Some(&serde_json::Value::Bool(true)) {
                Bytes::from(
                    base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .map_err(|_| GatewayResponse::FunctionFailure)?,
                )
            } else {
                Bytes::from(text.clone())
            }
        }
        Some(other) => Bytes::from(other.to_string()),
    };
    Ok(Answer {
        status,
        headers: HeaderMap::new(),
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_answers_read_as_aws_reads_them() {
        let a = function_answer(&Bytes::from_static(br#"{"statusCode":403,"body":"no"}"#)).unwrap();
        assert_eq!((a.status, &a.body[..]), (StatusCode::FORBIDDEN, &b"no"[..]));
        let a = function_answer(&Bytes::from_static(
            br#"{"statusCode":200,"body":"aGk=","isBase64Encoded":true}"#,
        ))
        .unwrap();
        assert_eq!(&a.body[..], b"hi");
        let a = function_answer(&Bytes::from_static(br#"{"body":"only"}"#)).unwrap();
        assert_eq!((a.status, &a.body[..]), (StatusCode::OK, &b"only"[..]));
        let a = function_answer(&Bytes::from_static(br#""plain""#)).unwrap();
        assert_eq!(&a.body[..], b"\"plain\"");
        assert!(function_answer(&Bytes::from_static(b"not json")).is_err());
    }
}
