//! The request pipeline, one module per stage, composed in order in
//! [`Gateway::handle`]: observe (request id, span) → payload limit →
//! resolve API and stage → match route → integration (mock or HTTP proxy) →
//! observe (metrics, span, access log). Each refusal is a typed
//! [`GatewayResponse`]. Later stages (authorizers, keys, throttling,
//! validation, caching, mapping) slot in between route and integration.

pub mod api_key;
pub mod authorize;
pub mod cache;
pub mod custom_authorizer;
pub mod gateway_response;
pub mod headers;
pub mod http_proxy;
pub mod iam;
pub mod mock;
pub mod normalize;
pub mod observe;
pub mod resolve;
pub mod throttle;

use crate::apply::SharedTables;
use crate::compile::routes::Lookup;
use crate::tables::{CompiledIntegration, RouteAuth, RuntimeTables};
use crate::telemetry::Telemetry;
use crate::upstream::Upstream;
use archway_proto::policy::MethodArn;
use archway_proto::v1::ApiProtocol;
use bytes::Bytes;
use gateway_response::GatewayResponse;
use headers::ClientInfo;
use http::{Request, Response};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use observe::Observation;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// Responses stream from a backend or come whole from the gateway.
/// A backend's body is passed through as is, or through the stage cache's
/// store (see [`cache::store`]).
pub type GatewayBody = Either<
    Either<
        crate::upstream::ResponseBody,
        crate::stage_cache::StoringBody<crate::upstream::ResponseBody>,
    >,
    Full<Bytes>,
>;

/// A request body on its way to the integration.
#[derive(Debug)]
pub enum RequestBody {
    /// Streams from the client as it arrives.
    Streaming(Incoming),
    /// Read whole already, to check a signature over it.
    Buffered(Bytes),
}

/// The default payload limit, as in AWS: 10 MB.
pub const DEFAULT_MAX_PAYLOAD: usize = 10 * 1024 * 1024;

#[derive(Debug)]
pub struct Gateway {
    tables: SharedTables,
    /// With a leading dot: `.execute-api.localhost`.
    domain: Box<str>,
    upstream: Upstream,
    max_payload: usize,
    telemetry: Arc<Telemetry>,
    limits: Arc<throttle::Limits>,
    jwks: crate::jwks::JwksCache,
    verified_tokens: authorize::VerifiedTokens,
    custom_authorizers: custom_authorizer::CustomAuthorizers,
    stage_caches: Arc<crate::stage_cache::StageCaches>,
}

impl Gateway {
    /// `upstream` is the backend client; `tls` the outbound TLS
    /// configuration, shared by the JWKS and custom authorizer clients.
    pub fn new(
        tables: SharedTables,
        domain: &str,
        max_payload: usize,
        telemetry: Arc<Telemetry>,
        limits: Arc<throttle::Limits>,
        upstream: Upstream,
        tls: &Arc<rustls::ClientConfig>,
    ) -> Self {
        let domain = format!(".{}", domain.trim_start_matches('.').to_ascii_lowercase());
        Self {
            tables,
            domain: domain.into(),
            upstream,
            max_payload,
            telemetry,
            limits,
            jwks: crate::jwks::JwksCache::new(tls),
            verified_tokens: authorize::VerifiedTokens::default(),
            custom_authorizers: custom_authorizer::CustomAuthorizers::new(tls),
            stage_caches: Arc::default(),
        }
    }

    /// Caches responses in `caches` (which the config applier reconciles
    /// with each table swap); without it, no stage caches.
    pub fn with_stage_caches(mut self, caches: Arc<crate::stage_cache::StageCaches>) -> Self {
        self.stage_caches = caches;
        self
    }

    /// Whether new HTTP/1 connections should keep the client's header-name
    /// case: only while some route has a REQUEST authorizer, whose event
    /// carries it, since keeping it costs every request a map.
    pub fn keeps_header_case(&self) -> bool {
        self.tables.load().request_authorizers
    }

    pub async fn handle(
        &self,
        request: Request<Incoming>,
        client: &ClientInfo,
    ) -> Response<GatewayBody> {
        // One load per request: the whole request sees one version.
        let tables = self.tables.load_full();
        let mut observation = Observation::start(&request, &self.telemetry);
        let mut response = match self
            .process(&tables, request, client, &mut observation)
            .await
        {
            Ok(response) => response,
            Err(refusal) => {
                let response = refusal.into_response();
                observation.refusal = Some(refusal);
                response
            }
        };
        observation.finish(&mut response, &self.telemetry);
        response
    }

    async fn process<'t>(
        &self,
        tables: &'t RuntimeTables,
        request: Request<Incoming>,
        client: &ClientInfo,
        observation: &mut Observation<'t>,
    ) -> Result<Response<GatewayBody>, GatewayResponse> {
        // Split once: stages read the head while the body stays free to be
        // buffered (IAM signs bodies) and to move on to the integration.
        let (parts, body) = request.into_parts();
        let mut body = RequestBody::Streaming(body);
        check_declared_length(&parts.headers, self.max_payload)?;
        let host = normalize::request_host(&parts)?;
        // Routing, policies and the backend URI all read this one path.
        let canonical = normalize::canonical_path(parts.uri.path())?;
        normalize::check_query(parts.uri.query())?;
        let resolved = resolve::resolve(tables, &self.domain, host, &canonical);
        if let Ok(r) = &resolved {
            observation.api = Some(r.api);
            observation.stage = Some(r.stage);
        }
        observation.keep_details(&parts, client);
        let resolve::Resolved {
            api,
            stage,
            target,
            path,
        } = resolved?;
        // A private API does not exist for public connections.
        if api.private && !client.private {
            return Err(GatewayResponse::Forbidden);
        }
        observation.event("resolved");

        let no_route = match api.protocol {
            ApiProtocol::Http => GatewayResponse::NotFound,
            _ => GatewayResponse::MissingAuthenticationToken,
        };
        let deployment = &target.deployment;
        let (route_id, route, params) = match deployment.tree.lookup(&parts.method, path) {
            Lookup::Matched { route, params } => {
                (route, &deployment.routes[route as usize], params)
            }
            Lookup::NoResource | Lookup::NoMethod => return Err(no_route),
        };
        observation.route = Some(route);
        observation.event("route.matched");

        let (principal, authorizer_key, caller) = match route.auth.as_deref() {
            None => (None, None, iam::Caller::Anonymous),
            Some(RouteAuth::Jwt(auth)) => {
                // Boxed, as are the other authorizers below: an inline
                // future would make every request's state kilobytes larger
                // (and copied as such), authorized or not.
                let principal = Box::pin(authorize::authorize(
                    auth,
                    &parts.headers,
                    &self.jwks,
                    &self.verified_tokens,
                ))
                .await?;
                observation.event("authorized");
                (Some(principal), None, iam::Caller::Anonymous)
            }
            Some(RouteAuth::Custom(auth)) => {
                let request_id = observation.request_id;
                let call = custom_authorizer::Call {
                    auth,
                    region: &tables.region,
                    account_id: &tables.account_id,
                    api_id: &api.id,
                    stage: &stage.name,
                    stage_variables: &target.variables,
                    resource_path: &route.resource_path,
                    resource_id: &route.resource_id,
                    path,
                    params: &params[..],
                    method: &parts.method,
                    headers: &parts.headers,
                    extensions: &parts.extensions,
                    query: parts.uri.query(),
                    source_ip: client.ip,
                    secure_transport: client.secure,
                    request_id: request_id.as_str(),
                };
                let answer = Box::pin(self.custom_authorizers.authorize(&call)).await?;
                observation.event("authorized");
                (
                    Some(answer.principal.clone()),
                    Some(answer),
                    iam::Caller::AuthorizerAllowed,
                )
            }
            Some(RouteAuth::Iam) => {
                let now = SystemTime::now();
                // The key must be known before a signed body is read.
                let signer = iam::Signer::identify(tables, &parts, now)?;
                let body_hash = if signer.needs_body() {
                    Some(Box::pin(iam::hash_body(&mut body, self.max_payload)).await?)
                } else {
                    None
                };
                signer.verify(tables, body_hash.as_deref(), now)?;
                observation.event("signature.verified");
                let key = signer.key;
                (Some(key.principal.clone()), None, iam::Caller::Iam(key))
            }
        };
        let invocation = iam::Invocation {
            arn: MethodArn {
                region: &tables.region,
                account: &tables.account_id,
                api_id: &api.id,
                stage: &stage.name,
                method: parts.method.as_str(),
                path,
            },
            source_ip: client.ip,
            secure_transport: client.secure,
        };
        if api.resource_policy.is_some() || matches!(caller, iam::Caller::Iam(_)) {
            iam::authorize(caller, api.resource_policy.as_ref(), &invocation)?;
            observation.event("policy.allowed");
        }
        let identity = if route.api_key_required {
            let usage_key = authorizer_key.as_ref().and_then(|a| a.usage_key.as_deref());
            let identity = api_key::identify(tables, api, stage, &parts.headers, usage_key)?;
            observation.event("api_key.accepted");
            Some(identity)
        } else {
            None
        };
        throttle::admit(
            &self.limits,
            tables,
            api,
            stage,
            route,
            &parts.method,
            identity,
        )
        .await?;
        let cached = cache::CachedRequest {
            api,
            stage,
            target,
            route: route_id,
            parts: &parts,
            params: &params,
            caller,
            authorizer: authorizer_key.as_deref(),
            invocation,
        };
        let ticket = match cache::lookup(&self.stage_caches, &cached, observation)? {
            cache::Phase::Answered(response) => return Ok(response),
            cache::Phase::Continue(ticket) => ticket,
        };

        match &route.integration {
            CompiledIntegration::Mock {
                status,
                headers,
                body,
            } => {
                let mut response = mock::respond(*status, headers, body);
                if let Some(ticket) = ticket {
                    if ticket.warns() {
                        crate::stage_cache::store::add_warning(response.headers_mut());
                    }
                    ticket.store_whole(*status, headers, body);
                }
                Ok(response)
            }
            CompiledIntegration::HttpProxy {
                method,
                uri,
                timeout,
            } => {
                let uri =
                    http_proxy::render_uri(uri, &params, &target.variables, parts.uri.query())?;
                // The parameters borrow the request's path; release them
                // before the request moves on.
                drop(params);
                drop(canonical);
                let forward = http_proxy::Forward {
                    principal: principal.as_ref(),
                    upstream: &self.upstream,
                    trace: observation.span_context(),
                    method: method.as_ref(),
                    uri: &uri,
                    timeout: *timeout,
                    client,
                    max_payload: self.max_payload,
                };
                let started = Instant::now();
                let result = http_proxy::forward(forward, Request::from_parts(parts, body)).await;
                observation.integration_latency = Some(started.elapsed());
                if let Ok(response) = &result {
                    observation.integration_status = Some(response.status());
                }
                observation.event("integration.answered");
                match ticket {
                    Some(ticket) => result.map(|response| cache::store(ticket, response)),
                    None => result,
                }
            }
        }
    }
}

/// Refuses a body whose declared length is over the limit before reading it.
fn check_declared_length(headers: &http::HeaderMap, max: usize) -> Result<(), GatewayResponse> {
    let Some(value) = headers.get(http::header::CONTENT_LENGTH) else {
        return Ok(());
    };
    let length: u64 = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or(GatewayResponse::BadRequest)?;
    if length > max as u64 {
        return Err(GatewayResponse::RequestTooLarge);
    }
    Ok(())
}
