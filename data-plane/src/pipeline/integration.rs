//! Phase: integration. The method's integration answers the request: the
//! gateway itself (MOCK), the backend (HTTP_PROXY), a function or an AWS
//! service action (AWS_PROXY, see [`super::function`] and
//! [`super::aws_service`]).

use super::context::{Context, Target};
use super::gateway_response::GatewayResponse;
use super::observe::Phase;
use super::{GatewayBody, aws_service, function, http_proxy, mapping, mock};
use crate::aws::AwsOutbound;
use crate::aws::integration::ProxyIntegration;
use crate::body::RequestBody;
use crate::tables::CompiledIntegration;
use crate::upstream::Upstream;
use http::Response;
use std::time::Instant;

/// The phase. The backend request takes the context's head headers and
/// body: phases after this one read neither.
pub async fn call<'a>(
    cx: &mut Context<'a>,
    target: &Target<'a>,
    upstream: &Upstream,
    aws: &AwsOutbound,
) -> Result<Response<GatewayBody>, GatewayResponse> {
    let result = match &target.route.integration {
        CompiledIntegration::Mock {
            status,
            headers,
            body,
        } => Ok(mock::respond(*status, headers, body)),
        CompiledIntegration::HttpProxy {
            method,
            uri,
            timeout,
        } => {
            let uri = http_proxy::render_uri(
                uri,
                &cx.params(),
                &target.serving.variables,
                cx.head.uri.query(),
            )?;
            let body = std::mem::replace(&mut cx.body, RequestBody::Buffered(Default::default()));
            let forward = http_proxy::Forward {
                principal: cx.authorization.principal.as_ref(),
                upstream,
                trace: cx.observation.span_context(),
                method: method.as_ref(),
                uri: &uri,
                timeout: *timeout,
                client: cx.client,
                max_payload: cx.max_payload,
            };
            let started = Instant::now();
            let result = http_proxy::forward(forward, &mut cx.head, body).await;
            cx.observation.integration_latency = Some(started.elapsed());
            if let Ok(response) = &result {
                cx.observation.integration_status = Some(response.status());
            }
            result
        }
        CompiledIntegration::AwsProxy(proxy) => match &**proxy {
            ProxyIntegration::Function(f) => {
                Box::pin(function::invoke::call(cx, target, f, aws)).await
            }
            ProxyIntegration::Service(s) => Box::pin(aws_service::call(cx, target, s, aws)).await,
        },
        CompiledIntegration::Mapped(m) => {
            Box::pin(mapping::call(cx, target, m, upstream, aws)).await
        }
        // WebSocket routes are called with events, never with requests.
        CompiledIntegration::WebSocketMapped(_) => Err(GatewayResponse::ApiConfigurationError),
    };
    // Answered, or failed: the integration was tried either way.
    cx.observation.event(Phase::IntegrationAnswered);
    result
}
