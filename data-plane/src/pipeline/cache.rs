//! The cache lookup and cache store phases: the pipeline's side of the
//! stage cache (see [`crate::stage_cache`]), which owns the entries and the
//! rules; here the request is turned into a query and the permission
//! question is answered from the authorization.

use super::gateway_response::GatewayResponse;
use super::{GatewayBody, iam, observe::Observation};
use crate::stage_cache::key::KeySource;
use crate::stage_cache::{CacheStatus, Lookup, Query, StageCaches, StoreTicket};
use crate::tables::{ApiTable, StageTable, StageTarget};
use http::Response;
use http_body_util::Either;

/// What the request looks like to the cache.
pub struct CachedRequest<'a> {
    pub api: &'a ApiTable,
    pub stage: &'a StageTable,
    pub target: &'a StageTarget,
    pub route: u32,
    pub parts: &'a http::request::Parts,
    pub params: &'a [(&'a str, &'a str)],
    pub caller: iam::Caller<'a>,
    pub authorizer: Option<&'a super::custom_authorizer::Answer>,
    pub invocation: iam::Invocation<'a>,
}

/// What the cache lookup phase decided. Matched at once by the caller:
/// boxing the answer would cost every hit an allocation.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Phase {
    /// Go on to the integration; with a ticket, store its response.
    Continue(Option<StoreTicket>),
    /// Answered from the cache.
    Answered(Response<GatewayBody>),
}

/// Answers from the cache, refuses (an unauthorized `max-age=0` with
/// FAIL_WITH_403) or lets the request go on.
pub fn lookup(
    caches: &StageCaches,
    r: &CachedRequest<'_>,
    observation: &mut Observation<'_>,
) -> Result<Phase, GatewayResponse> {
    let Some(config) = r.stage.cache.as_ref() else {
        return Ok(Phase::Continue(None));
    };
    let route = &r.target.deployment.routes[r.route as usize];
    let query = Query {
        api_id: &r.api.id,
        stage: &r.stage.name,
        config,
        key: KeySource {
            canary: !std::ptr::eq(r.target, &r.stage.primary),
            route: r.route,
            method: &r.parts.method,
            params: &route.cache_key,
            path_params: r.params,
            query: r.parts.uri.query(),
            headers: &r.parts.headers,
        },
    };
    let may_invalidate = || {
        iam::may_invalidate_cache(
            r.caller,
            r.authorizer,
            r.api.resource_policy.as_ref(),
            &r.invocation,
        )
    };
    match caches.lookup(&query, may_invalidate) {
        Lookup::Off => Ok(Phase::Continue(None)),
        Lookup::Bypass => {
            observation.cache_status = Some(CacheStatus::Bypass);
            Ok(Phase::Continue(None))
        }
        Lookup::Refused => Err(GatewayResponse::AccessDenied),
        Lookup::Hit(response) => {
            observation.cache_status = Some(CacheStatus::Hit);
            observation.event("cache.hit");
            Ok(Phase::Answered(response.map(Either::Right)))
        }
        Lookup::Miss(ticket) => {
            observation.cache_status = Some(ticket.status());
            Ok(Phase::Continue(Some(ticket)))
        }
    }
}

/// Hands a streamed integration response to the ticket, which stores it
/// once it has reached the client whole.
pub fn store(ticket: StoreTicket, response: Response<GatewayBody>) -> Response<GatewayBody> {
    let (parts, body) = response.into_parts();
    match body {
        Either::Left(Either::Left(backend)) => ticket
            .store(Response::from_parts(parts, backend))
            .map(|body| Either::Left(Either::Right(body))),
        // Whole bodies are stored by the caller (mock), or were never the
        // integration's (a gateway response).
        body => Response::from_parts(parts, body),
    }
}
