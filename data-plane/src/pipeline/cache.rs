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

#[cfg(test)]
mod tests {
    //! The cache phases in the driver, over tables compiled in memory: which
    //! phases a hit, a miss and a refused `max-age=0` pass, and what the
    //! access log is told.

    use super::super::*;
    use crate::access_log::AccessLogSinks;
    use crate::compile::compile;
    use crate::stage_cache::CacheStatus;
    use archway_proto::resource_name;
    use archway_proto::v1::config_resource::Resource as Body;
    use archway_proto::v1::{
        ConfigResource, Deployment, Integration, IntegrationType, Method, MethodCacheSetting,
        MockResponse, Resource, RestApi, Stage, UnauthorizedCacheControlHeaderStrategy,
    };
    use headers::ClientInfo;
    use observe::Phase::{self, *};

    const DOMAIN: &str = "execute-api.test";

    fn res(name: String, body: Body) -> ConfigResource {
        ConfigResource {
            name,
            resource: Some(body),
        }
    }

    /// API `c`, stage `prod` caching GET /m (a MOCK) and refusing an
    /// unauthorized `max-age=0`; POST /m is not cached.
    fn snapshot() -> Vec<ConfigResource> {
        let mock = Integration {
            r#type: IntegrationType::Mock as i32,
            mock: Some(MockResponse {
                status_code: 200,
                body: "cached".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let method = |verb: &str| Method {
            api_id: "c".into(),
            resource_id: "r".into(),
            http_method: verb.into(),
            integration: Some(mock.clone()),
            ..Default::default()
        };
        vec![
            res(
                resource_name::api("c"),
                Body::Api(RestApi {
                    id: "c".into(),
                    ..Default::default()
                }),
            ),
            res(
                resource_name::deployment("c", "d1"),
                Body::Deployment(Deployment {
                    id: "d1".into(),
                    api_id: "c".into(),
                    resources: vec![Resource {
                        id: "r".into(),
                        path: "/m".into(),
                        ..Default::default()
                    }],
                    methods: vec![method("GET"), method("POST")],
                    ..Default::default()
                }),
            ),
            res(
                resource_name::stage("c", "prod"),
                Body::Stage(Stage {
                    api_id: "c".into(),
                    stage_name: "prod".into(),
                    deployment_id: "d1".into(),
                    cache_cluster_enabled: true,
                    method_cache_settings: vec![MethodCacheSetting {
                        resource_path: "*".into(),
                        http_method: "*".into(),
                        caching_enabled: true,
                        unauthorized_cache_control_header_strategy:
                            UnauthorizedCacheControlHeaderStrategy::FailWith403 as i32,
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            ),
        ]
    }

    struct Fixture {
        gateway: Gateway,
        tables: Arc<RuntimeTables>,
    }

    fn fixture() -> Fixture {
        let tables = compile(
            1,
            &snapshot(),
            &RuntimeTables::empty(),
            &AccessLogSinks::default(),
        )
        .expect("the snapshot compiles");
        let tables = Arc::new(tables);
        let gateway = Gateway::in_memory(tables.clone(), DOMAIN, 1024).unwrap();
        Fixture { gateway, tables }
    }

    /// Status, body, phases and cache status of one request.
    async fn send(
        f: &Fixture,
        verb: &str,
        headers: &[(&str, &str)],
    ) -> (u16, Bytes, Vec<Phase>, Option<CacheStatus>) {
        let mut request = Request::builder()
            .method(verb)
            .uri("/prod/m")
            .header(http::header::HOST, format!("c.{DOMAIN}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(crate::body::streaming(http_body_util::Empty::<Bytes>::new()))
            .unwrap();
        let client = ClientInfo::new("127.0.0.1".parse().unwrap(), false, false);
        let mut cx = f.gateway.context(&f.tables, request, &client);
        let response = f.gateway.respond(&mut cx).await;
        let phases = cx.observation.phases().collect();
        let status = cx.observation.cache_status;
        let code = response.status().as_u16();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        (code, body, phases, status)
    }

    #[tokio::test]
    async fn a_hit_answers_before_the_integration_and_a_miss_goes_through_it() {
        let f = fixture();
        let (code, body, phases, status) = send(&f, "GET", &[]).await;
        assert_eq!((code, &body[..]), (200, &b"cached"[..]));
        assert_eq!(phases, [Resolved, RouteMatched, IntegrationAnswered]);
        assert_eq!(status, Some(CacheStatus::Miss));

        let (code, body, phases, status) = send(&f, "GET", &[]).await;
        assert_eq!((code, &body[..]), (200, &b"cached"[..]));
        assert_eq!(phases, [Resolved, RouteMatched, CacheHit]);
        assert_eq!(status, Some(CacheStatus::Hit));

        // POST is not cached: no cache status at all.
        let (_, _, phases, status) = send(&f, "POST", &[]).await;
        assert_eq!(phases, [Resolved, RouteMatched, IntegrationAnswered]);
        assert_eq!(status, None);
    }

    #[tokio::test]
    async fn an_unauthorized_max_age_zero_is_refused_before_the_integration() {
        let f = fixture();
        let (code, _, phases, _) = send(&f, "GET", &[("cache-control", "max-age=0")]).await;
        assert_eq!(code, 403);
        assert_eq!(phases, [Resolved, RouteMatched]);
    }
}
