//! Phases: cache lookup and cache store, the pipeline's side of the stage
//! cache (see [`crate::stage_cache`], which owns the entries and the
//! rules). The lookup turns the request into a query and answers the
//! permission question (`execute-api:InvalidateCache`) from the
//! authorization; the store hands the integration's answer to the ticket a
//! miss got.

use super::GatewayBody;
use super::context::{Context, Target};
use super::gateway_response::GatewayResponse;
use super::observe::Phase;
use super::policy::{Invocation, method_arn};
use crate::stage_cache::key::KeySource;
use crate::stage_cache::{self, CacheStatus, Query, StageCaches, StoreTicket};
use crate::tables::CompiledIntegration;
use http::Response;
use http_body_util::Either;

/// What the cache lookup phase decided. Matched at once by the driver:
/// boxing the answer would cost every hit an allocation.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Lookup {
    /// Go on to the integration; with a ticket, store its answer.
    Continue(Option<StoreTicket>),
    /// Answered from the cache.
    Answered(Response<GatewayBody>),
}

/// The lookup phase: answers from the cache, refuses (an unauthorized
/// `max-age=0` under FAIL_WITH_403) or lets the request go on.
pub fn lookup<'a>(
    cx: &mut Context<'a>,
    target: &Target<'a>,
    caches: &StageCaches,
) -> Result<Lookup, GatewayResponse> {
    let Some(config) = target.stage.cache.as_ref() else {
        return Ok(Lookup::Continue(None));
    };
    let params = cx.params();
    let query = Query {
        api_id: &target.api.id,
        stage: &target.stage.name,
        config,
        key: KeySource {
            canary: !std::ptr::eq(target.serving, &target.stage.primary),
            route: target.route.id,
            method: &cx.head.method,
            params: &target.route.cache_key,
            path_params: &params,
            query: cx.head.uri.query(),
            headers: &cx.head.headers,
        },
    };
    let may_invalidate = || {
        let invocation = Invocation {
            arn: method_arn(cx, target),
            source_ip: cx.client.ip,
            secure_transport: cx.client.secure,
        };
        cx.authorization.allows(
            target.api.resource_policy.as_ref(),
            archway_proto::policy::INVALIDATE_CACHE_ACTION,
            &invocation,
        )
    };
    let found = caches.lookup(&query, may_invalidate);
    drop(params);
    let (status, lookup) = match found {
        stage_cache::Lookup::Off => return Ok(Lookup::Continue(None)),
        stage_cache::Lookup::Refused => return Err(GatewayResponse::AccessDenied),
        stage_cache::Lookup::Bypass => (CacheStatus::Bypass, Lookup::Continue(None)),
        stage_cache::Lookup::Miss(ticket) => (ticket.status(), Lookup::Continue(Some(ticket))),
        stage_cache::Lookup::Hit(hit) => {
            cx.observation.event(Phase::CacheHit);
            (CacheStatus::Hit, Lookup::Answered(hit.map(Either::Right)))
        }
    };
    cx.observation.cache_status = Some(status);
    Ok(lookup)
}

/// The store phase: a backend's streamed answer is stored once it has
/// reached the client whole; a MOCK integration's answer is whole already.
pub fn store(
    target: &Target<'_>,
    ticket: Option<StoreTicket>,
    response: Response<GatewayBody>,
) -> Response<GatewayBody> {
    let Some(ticket) = ticket else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    match (body, &target.route.integration) {
        (Either::Left(Either::Left(backend)), _) => ticket
            .store(Response::from_parts(parts, backend))
            .map(|body| Either::Left(Either::Right(body))),
        (
            body,
            CompiledIntegration::Mock {
                status,
                headers,
                body: mock_body,
            },
        ) => {
            if ticket.warns() {
                stage_cache::store::add_warning(&mut parts.headers);
            }
            ticket.store_whole(*status, headers, mock_body);
            Response::from_parts(parts, body)
        }
        (body, _) => Response::from_parts(parts, body),
    }
}
