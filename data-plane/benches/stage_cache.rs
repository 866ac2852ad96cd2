//! The stage cache's hit path: from a request's parts to the cached
//! response, as the cache lookup phase runs it (key written into the
//! per-thread buffer, the stage's cache found, the moka read, the response
//! built with its headers and a shared body).
//!
//! Run: `cargo bench -p archway-data-plane --bench stage_cache`

use archway_data_plane::stage_cache::config::StageCacheConfig;
use archway_data_plane::stage_cache::key::{self, KeySource};
use archway_data_plane::stage_cache::{Lookup, Query, StageCaches};
use archway_proto::v1::Stage;
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, StatusCode};
use std::hint::black_box;

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

criterion_group!(benches, hit);
criterion_main!(benches);
