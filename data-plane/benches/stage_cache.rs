//! The stage cache's hit path: from a request's parts to the cached
//! response, as the cache lookup phase runs it (key written into the
//! per-thread buffer, the stage's cache found, the moka read, the response
//! built with its headers and a shared body).
//!
//! Also the whole pipeline (`Gateway::handle` over in-memory tables, as
//! `benches/pipeline.rs` runs it) on one MOCK route served from the cache
//! and from the integration: what a hit costs beside the gateway's own work.
//!
//! Run: `cargo bench -p archway-data-plane --bench stage_cache`

mod common;

use archway_data_plane::stage_cache::config::StageCacheConfig;
use archway_data_plane::stage_cache::key::{self, KeySource};
use archway_data_plane::stage_cache::{Lookup, Query, StageCaches};
use archway_proto::v1::Stage;
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, StatusCode};
use std::hint::black_box;

/// The node's allocator (`data-plane/src/bin/data_plane.rs`), so allocation
/// costs what it costs when serving.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn hit(c: &mut Criterion) {
    let stage = Stage {
        deployment_id: "d1".into(),
        cache_cluster_enabled: true,
        ..Default::default()
    };
    let config = StageCacheConfig::compile(&stage, ["/items/{id}"], [])
        .unwrap()
        .unwrap();
    let caches = StageCaches::default();
    caches.reconcile([("api", "prod", &config)]);
    let params = key::compile(
        &[
            "method.request.path.id".into(),
            "method.request.querystring.lang".into(),
        ],
        "/items/{id}",
    )
    .unwrap();
    // A browser-like request head.
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("host", "api.execute-api.localhost"),
        ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) bench"),
        ("accept", "application/json"),
        ("accept-encoding", "gzip, deflate"),
        ("connection", "keep-alive"),
    ] {
        headers.insert(name, value.parse().unwrap());
    }
    let query = Query {
        api_id: "api",
        stage: "prod",
        config: &config,
        key: KeySource {
            canary: false,
            route: 0,
            method: &http::Method::GET,
            params: &params,
            path_params: &[("id", "42")],
            query: Some("lang=en&page=2"),
            headers: &headers,
        },
    };
    // A typical small JSON answer with a few headers.
    let mut stored = HeaderMap::new();
    stored.insert("content-type", "application/json".parse().unwrap());
    stored.insert("content-length", "512".parse().unwrap());
    stored.insert("date", "Tue, 01 Dec 2026 19:00:00 GMT".parse().unwrap());
    match caches.lookup(&query, || false) {
        Lookup::Miss(ticket) => {
            ticket.store_whole(StatusCode::OK, &stored, &Bytes::from(vec![b'x'; 512]))
        }
        other => panic!("expected a miss first, got {other:?}"),
    }
    c.bench_function("stage_cache/hit", |b| {
        b.iter(|| match caches.lookup(black_box(&query), || false) {
            Lookup::Hit(response) => black_box(response),
            other => panic!("expected a hit, got {other:?}"),
        })
    });
    // The parts of a hit, for where its time goes.
    let moka: moka::sync::Cache<Box<[u8]>, std::sync::Arc<Vec<u8>>> = moka::sync::Cache::new(1000);
    let mut key_bytes = Vec::new();
    key::write(&mut key_bytes, &query.key);
    moka.insert(key_bytes.clone().into(), std::sync::Arc::new(vec![0; 512]));
    c.bench_function("stage_cache/moka_get", |b| {
        b.iter(|| black_box(moka.get(black_box(&key_bytes[..]))))
    });
    c.bench_function("stage_cache/headers_clone", |b| {
        b.iter(|| black_box(black_box(&stored).clone()))
    });
    let mut buffer = Vec::new();
    c.bench_function("stage_cache/key", |b| {
        b.iter(|| {
            key::write(&mut buffer, black_box(&query.key));
            black_box(buffer.len())
        })
    });
}

/// API `a`, `GET /items/{id}` (a MOCK keyed by `id`), deployed to stage
/// `cached` (stage cache on) and to stage `plain` (off).
fn pipeline_config() -> Vec<archway_proto::v1::ConfigResource> {
    use archway_proto::v1::config_resource::Resource as Body;
    use archway_proto::v1::*;
    let stage = |name: &str, cached: bool| {
        common::res(
            &format!("stage/a/{name}"),
            Body::Stage(Stage {
                api_id: "a".into(),
                stage_name: name.into(),
                deployment_id: "d".into(),
                cache_cluster_enabled: cached,
                ..Default::default()
            }),
        )
    };
    vec![
        common::settings(),
        common::api("a", ApiProtocol::Rest),
        common::res(
            "deployment/a/d",
            Body::Deployment(Deployment {
                id: "d".into(),
                api_id: "a".into(),
                resources: vec![Resource {
                    id: "items".into(),
                    path: "/items/{id}".into(),
                    ..Default::default()
                }],
                methods: vec![Method {
                    resource_id: "items".into(),
                    http_method: "GET".into(),
                    integration: Some(Integration {
                        r#type: IntegrationType::Mock as i32,
                        mock: Some(MockResponse {
                            status_code: 200,
                            body: "{}".into(),
                            ..Default::default()
                        }),
                        cache_key_parameters: vec!["method.request.path.id".into()],
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        ),
        stage("cached", true),
        stage("plain", false),
    ]
}

fn pipeline(c: &mut Criterion) {
    let rt = common::runtime();
    let _entered = rt.enter();
    let (gateway, client) = common::gateway(&pipeline_config());
    let run = |path: &'static str| {
        let response = common::answer(&gateway, &client, common::get(path, None));
        assert_eq!(response.status(), 200);
        response
    };
    run("/cached/items/42");
    // The timed requests below must be hits, not misses that store again.
    let cached = gateway
        .stage_caches()
        .stage("a", "cached")
        .expect("stage a/cached caches");
    assert_eq!(cached.entry_count(), 1, "the warm-up stored its answer");
    c.bench_function("pipeline: MOCK route, stage cache off", |b| {
        b.iter(|| run("/plain/items/42"))
    });
    c.bench_function("pipeline: the same route, a stage cache hit", |b| {
        b.iter(|| run("/cached/items/42"))
    });
}

criterion_group!(benches, hit, pipeline);
criterion_main!(benches);
