//! The request pipeline: named phases over one per-request [`Context`], in
//! the spirit of pingora's `ProxyHttp`. [`Gateway::process`] is the whole
//! order, read top to bottom:
//!
//! - request phases: admit ([`normalize`]) → [`resolve`] → (a WEBSOCKET
//!   API's `@connections` request is answered here, [`connections_api`]) →
//!   [`cors`] preflight (an HTTP API with CORS answers it here) → [`route`] →
//!   authorize ([`caller`]) → resource [`policy`] → [`api_key`] →
//!   [`throttle`] → [`validate`] → [`cache`] lookup (a hit answers here) → [`integration`];
//! - response phases on the integration's answer (response mapping goes
//!   there; the [`cache`] store is one), then header finishing ([`finish`],
//!   [`cors`] headers) on every answer, refusals and cache hits included;
//! - logging ([`observe`]: metrics, span, access log).
//!
//! [`Gateway::handle`] runs them all; its unit tests (`pipeline/tests.rs`)
//! run them over tables compiled in memory, without a listener.
//!
//! Each phase is a function in the module of its stage, taking the context
//! (and, after routing, the [`Target`] the route phase found). A phase
//! refuses with a typed [`GatewayResponse`], which ends the request phases.
//! A new phase is one line in [`Gateway::process`] and a function in its
//! own module: request validation and request mapping go between throttle
//! and integration.

pub mod api_key;
pub mod authorize;
pub mod aws_service;
pub mod cache;
pub mod caller;
pub mod connections_api;
pub mod context;
pub mod cors;
pub mod custom_authorizer;
pub mod finish;
pub mod function;
pub mod gateway_response;
pub mod headers;
pub mod http_proxy;
pub mod iam;
pub mod integration;
pub mod mapping;
pub mod mock;
pub mod normalize;
pub mod observe;
pub mod passthrough;
pub mod policy;
pub mod refusal;
pub mod resolve;
pub mod route;
pub mod template_vars;
pub mod throttle;
pub mod validate;
pub mod websocket_api;

use crate::aws::AwsOutbound;
use crate::body::{RequestBody, StreamingBody};
use crate::limits::Limits;
use crate::stage_cache::StageCaches;
use crate::tables::{RuntimeTables, SharedTables};
use crate::telemetry::Telemetry;
use crate::tunnel::Tunnels;
use crate::upstream::Upstream;
use bytes::Bytes;
use caller::Authorizers;
use context::{Context, Target};
use gateway_response::GatewayResponse;
use headers::ClientInfo;
use http::{Request, Response};
use http_body_util::{Either, Full};
use observe::Observation;
use std::sync::Arc;

/// Responses stream from a backend (passed through as they are, or through
/// the stage cache's store, see [`cache::store`]) or come whole from the
/// gateway.
pub type GatewayBody = Either<
    Either<
        crate::upstream::ResponseBody,
        crate::stage_cache::StoringBody<crate::upstream::ResponseBody>,
    >,
    Full<Bytes>,
>;

/// The default payload limit, as in AWS: 10 MB.
pub const DEFAULT_MAX_PAYLOAD: usize = 10 * 1024 * 1024;

/// How long a body read whole (to check a signature, validate, map or
/// put in an event) may take to arrive.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The whole body (within `max` bytes and [`BODY_READ_TIMEOUT`]), left in
/// `body` as the bytes read for whoever reads it next; a handle on them
/// (cheap: `Bytes` are shared) is returned. Every phase that needs the body
/// whole reads it through here, so a body too large or broken gets one
/// answer whichever phase read it first.
pub async fn buffer_body(body: &mut RequestBody, max: usize) -> Result<Bytes, GatewayResponse> {
    body.read_whole(max, BODY_READ_TIMEOUT)
        .await
        .cloned()
        .map_err(|e| match e {
            crate::body::ReadError::TooLarge => GatewayResponse::RequestTooLarge,
            crate::body::ReadError::Failed => GatewayResponse::BadRequest,
        })
}

#[derive(Debug)]
pub struct Gateway {
    tables: SharedTables,
    /// With a leading dot: `.execute-api.localhost`.
    domain: Box<str>,
    upstream: Upstream,
    max_payload: usize,
    telemetry: Arc<Telemetry>,
    limits: Arc<Limits>,
    authorizers: Authorizers,
    /// The stage caches' entries, beside the tables.
    stage_caches: Arc<StageCaches>,
    /// Outbound AWS calls: functions and service actions.
    aws: AwsOutbound,
    /// Answers WEBSOCKET APIs' `@connections` requests; None: they are
    /// refused (500), as a gateway built without connections has none.
    connections_api: Option<Arc<dyn connections_api::ConnectionsApi>>,
    /// Runs WEBSOCKET APIs' connections; None: their connects are refused
    /// (500), as a gateway built without them cannot hold one.
    websocket: Option<Arc<dyn websocket_api::WebSocketApis>>,
    /// WebSocket pass-through tunnels (see [`passthrough`]).
    tunnels: Arc<Tunnels>,
}

impl Gateway {
    /// `upstream` is the node's outbound client: integrations, JWKS
    /// fetches and custom authorizers all call through it.
    pub fn new(
        tables: SharedTables,
        domain: &str,
        max_payload: usize,
        telemetry: Arc<Telemetry>,
        limits: Arc<Limits>,
        upstream: Upstream,
    ) -> Self {
        let domain = format!(".{}", domain.trim_start_matches('.').to_ascii_lowercase());
        let authorizers = Authorizers::new(&upstream);
        let aws = AwsOutbound::new(upstream.clone(), Default::default(), None);
        let tunnels = Arc::new(Tunnels::new(
            crate::tunnel::DEFAULT_IDLE_TIMEOUT,
            Some(telemetry.meter()),
        ));
        Self {
            aws,
            tunnels,
            tables,
            domain: domain.into(),
            upstream,
            max_payload,
            telemetry,
            limits,
            authorizers,
            stage_caches: Arc::default(),
            connections_api: None,
            websocket: None,
        }
    }

    /// Answers `@connections` requests through `api`.
    pub fn with_connections_api(mut self, api: Arc<dyn connections_api::ConnectionsApi>) -> Self {
        self.connections_api = Some(api);
        self
    }

    /// Serves WEBSOCKET APIs' connections through `apis`.
    pub fn with_websocket(mut self, apis: Arc<dyn websocket_api::WebSocketApis>) -> Self {
        self.websocket = Some(apis);
        self
    }

    /// Calls AWS (functions, service actions) with the node's endpoints,
    /// region and environment credentials.
    pub fn with_aws(mut self, aws: AwsOutbound) -> Self {
        self.aws = aws;
        self
    }

    /// Closes WebSocket pass-through tunnels after `idle` without a byte
    /// either way (default: [`crate::tunnel::DEFAULT_IDLE_TIMEOUT`]).
    pub fn with_passthrough_idle_timeout(mut self, idle: std::time::Duration) -> Self {
        self.tunnels = Arc::new(Tunnels::new(idle, Some(self.telemetry.meter())));
        self
    }

    /// The node's WebSocket pass-through tunnels: closed at shutdown.
    pub fn tunnels(&self) -> &Arc<Tunnels> {
        &self.tunnels
    }

    /// Caches responses in `caches` (which the config applier reconciles
    /// with each table swap); without it, no stage caches.
    pub fn with_stage_caches(mut self, caches: Arc<StageCaches>) -> Self {
        self.stage_caches = caches;
        self
    }

    /// A gateway over `tables` alone, as the pipeline's unit tests and
    /// benchmarks run it: no listener, local limits (no Redis), metrics but
    /// no trace exporter, the default outbound client, and stage caches
    /// reconciled with the tables.
    pub fn in_memory(
        tables: Arc<RuntimeTables>,
        domain: &str,
        max_payload: usize,
    ) -> anyhow::Result<Self> {
        let telemetry = Telemetry::init(&crate::telemetry::TelemetryConfig {
            otlp_endpoint: None,
            sample_ratio: 0.0,
            service_name: "archway-in-memory",
            metrics: true,
        })?;
        let caches = Arc::new(StageCaches::default());
        caches.reconcile(tables.stage_caches());
        let shared: SharedTables = Arc::new(arc_swap::ArcSwap::new(tables));
        Ok(Self::new(
            shared,
            domain,
            max_payload,
            Arc::new(telemetry),
            Arc::new(Limits::local()),
            Upstream::default(),
        )
        .with_stage_caches(caches))
    }

    /// The stage caches this gateway answers from (benchmarks check that a
    /// request they time is a hit).
    pub fn stage_caches(&self) -> &StageCaches {
        &self.stage_caches
    }

    /// Whether new HTTP/1 connections should keep the client's header-name
    /// case: only while some route has a REQUEST authorizer, whose event
    /// carries it, since keeping it costs every request a map.
    pub fn keeps_header_case(&self) -> bool {
        self.tables.load().request_authorizers
    }

    /// Answers one request: the phases of [`Gateway::respond`], then
    /// logging.
    pub async fn handle(
        &self,
        request: Request<StreamingBody>,
        client: &ClientInfo,
    ) -> Response<GatewayBody> {
        // One load per request: the whole request sees one version.
        let tables = self.tables.load_full();
        let mut cx = self.context(&tables, request, client);
        let response = self.respond(&mut cx).await;
        cx.observation.finish(&response, &self.telemetry);
        response
    }

    /// A request's context over `tables`.
    fn context<'a>(
        &self,
        tables: &'a RuntimeTables,
        request: Request<StreamingBody>,
        client: &'a ClientInfo,
    ) -> Context<'a> {
        let observation = Observation::start(&request, &self.telemetry);
        // Split once: phases read the head while the body stays free to be
        // buffered (IAM signs bodies) and to move on to the integration.
        let (mut head, body) = request.into_parts();
        passthrough::adopt_extended_connect(&mut head);
        let body = RequestBody::Streaming(body);
        Context::new(tables, client, head, body, self.max_payload, observation)
    }

    /// The request phases and the integration ([`Gateway::process`]), or
    /// the refusal that ended them, then the response phases every answer
    /// passes.
    async fn respond(&self, cx: &mut Context<'_>) -> Response<GatewayBody> {
        let mut response = match self.process(cx).await {
            Ok(response) => response,
            Err(refused) => {
                let response = refusal::answer(cx, &refused);
                cx.observation.refusal = Some(refused);
                response
            }
        };
        finish::finish_headers(cx, &mut response);
        cors::add_headers(cx, &mut response);
        response
    }

    /// The request phases, the integration, and the response phases on its
    /// answer, in order. The first refusal ends them.
    async fn process(
        &self,
        cx: &mut Context<'_>,
    ) -> Result<Response<GatewayBody>, GatewayResponse> {
        normalize::admit(cx)?;
        let stage = resolve::resolve_stage(cx, &self.domain)?;
        if stage.api.protocol == archway_proto::v1::ApiProtocol::Websocket
            && connections_api::is_manage_path(cx.stage_path())
        {
            let Some(api) = &self.connections_api else {
                return Err(GatewayResponse::ApiConfigurationError);
            };
            return api.handle(cx, stage).await;
        }
        if let Some(preflight) = cors::preflight(cx, &stage) {
            return Ok(preflight);
        }
        if stage.api.protocol == archway_proto::v1::ApiProtocol::Websocket {
            return self.connect(cx, stage).await;
        }
        let target: Target<'_> = route::match_route(cx, stage)?;
        caller::authorize(cx, &target, &self.authorizers).await?;
        policy::check(cx, &target)?;
        api_key::require(cx, &target)?;
        throttle::admit(cx, &target, &self.limits).await?;
        validate::check(cx, target.route).await?;
        // A WebSocket handshake is never answered from the cache nor stored.
        let upgrade = passthrough::requested(&cx.head);
        let ticket = match upgrade {
            Some(_) => None,
            None => match cache::lookup(cx, &target, &self.stage_caches)? {
                cache::Lookup::Answered(hit) => return Ok(hit),
                cache::Lookup::Continue(ticket) => ticket,
            },
        };
        let response = match upgrade {
            Some(handshake) => {
                let outbound = passthrough::Outbound {
                    upstream: &self.upstream,
                    aws: &self.aws,
                    tunnels: &self.tunnels,
                };
                passthrough::call(cx, &target, handshake, outbound).await?
            }
            None => integration::call(cx, &target, &self.upstream, &self.aws).await?,
        };
        Ok(cache::store(&target, ticket, response))
    }

    /// A WEBSOCKET API's request: the request phases with `$connect` as
    /// the target, then the connection's start (see [`websocket_api`]).
    async fn connect<'a>(
        &self,
        cx: &mut Context<'a>,
        stage: context::Stage<'a>,
    ) -> Result<Response<GatewayBody>, GatewayResponse> {
        let target = websocket_api::match_connect(cx, stage)?;
        let Some(websocket) = &self.websocket else {
            return Err(GatewayResponse::ApiConfigurationError);
        };
        cx.observation.connection_id = Some(websocket.new_connection_id());
        if let Err(refusal) = self.admit_connect(cx, &target).await {
            websocket.refused(&target);
            return Err(refusal);
        }
        websocket.connect(cx, target).await
    }

    /// The request phases of a connect, on its `$connect` target.
    async fn admit_connect<'a>(
        &self,
        cx: &mut Context<'a>,
        target: &Target<'a>,
    ) -> Result<(), GatewayResponse> {
        caller::authorize(cx, target, &self.authorizers).await?;
        policy::check(cx, target)?;
        api_key::require(cx, target)?;
        throttle::admit(cx, target, &self.limits).await
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod validation_tests;
