//! Route lookup and snapshot compilation.
//!
//! Run: `cargo bench -p archway-data-plane --bench routing`
//!
//! Lookup should stay flat as the table grows (it walks the path's segments,
//! not the routes); compilation of a 10,000-route deployment bounds how long
//! a node takes to apply a large new version.

use archway_data_plane::access_log::AccessLogSinks;
use archway_data_plane::compile::compile;
use archway_data_plane::routes::{Lookup, RouteTree};
use archway_data_plane::tables::RuntimeTables;
use archway_proto::v1::config_resource::Resource as Body;
use archway_proto::v1::*;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// The node's allocator (`data-plane/src/bin/data_plane.rs`), so allocation
/// costs what it costs when serving.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Paths shaped like a real API: literal services, an id parameter, some
/// nested literals and a greedy catch-all per service group.
fn route_paths(n: usize) -> Vec<(String, &'static str)> {
    let mut routes = Vec::with_capacity(n);
    let mut i = 0;
    while routes.len() < n {
        let svc = format!("/svc{i}");
        routes.push((format!("{svc}/items"), "GET"));
        routes.push((format!("{svc}/items/{{id}}"), "GET"));
        routes.push((format!("{svc}/items/{{id}}/detail"), "ANY"));
        routes.push((format!("{svc}/files/{{proxy+}}"), "ANY"));
        i += 1;
    }
    routes.truncate(n);
    routes
}

fn tree(n: usize) -> RouteTree {
    let mut t = RouteTree::default();
    for (id, (path, method)) in route_paths(n).iter().enumerate() {
        t.insert(path, method, id as u32).unwrap();
    }
    t
}

fn lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("route_lookup");
    group.throughput(Throughput::Elements(1));
    for n in [10, 1_000, 10_000] {
        let t = tree(n);
        let last = n / 4 - 1;
        let requests = [
            (http::Method::GET, format!("/svc{last}/items/12345")),
            (
                http::Method::POST,
                format!("/svc{}/items/7/detail", last / 2),
            ),
            (
                http::Method::GET,
                format!("/svc{}/files/a/b/c.txt", last / 3),
            ),
        ];
        group.bench_with_input(BenchmarkId::from_parameter(n), &requests, |b, requests| {
            let mut i = 0;
            b.iter(|| {
                let (method, path) = &requests[i % requests.len()];
                i += 1;
                match t.lookup(method, black_box(path)) {
                    Lookup::Matched { route, params } => black_box((route, params.len())),
                    _ => panic!("every benchmark path matches"),
                }
            });
        });
    }
    group.finish();
}

fn snapshot(n: usize) -> Vec<ConfigResource> {
    let mut resources = Vec::new();
    let mut methods = Vec::new();
    let mut ids: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for (path, method) in route_paths(n) {
        let next = ids.len();
        let id = match ids.entry(path.clone()) {
            std::collections::hash_map::Entry::Occupied(e) => e.get().clone(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let id = format!("r{next}");
                resources.push(Resource {
                    id: id.clone(),
                    api_id: "bench".into(),
                    path,
                    ..Default::default()
                });
                e.insert(id).clone()
            }
        };
        methods.push(Method {
            api_id: "bench".into(),
            resource_id: id,
            http_method: method.into(),
            integration: Some(Integration {
                r#type: IntegrationType::HttpProxy as i32,
                uri: "http://${stageVariables.backend}/x".into(),
                ..Default::default()
            }),
            api_key_required: false,
            ..Default::default()
        });
    }
    vec![
        ConfigResource {
            name: "api/bench".into(),
            resource: Some(Body::Api(RestApi {
                id: "bench".into(),
                protocol: ApiProtocol::Rest as i32,
                ..Default::default()
            })),
        },
        ConfigResource {
            name: "deployment/bench/d1".into(),
            resource: Some(Body::Deployment(Deployment {
                id: "d1".into(),
                api_id: "bench".into(),
                resources,
                methods,
                ..Default::default()
            })),
        },
        ConfigResource {
            name: "stage/bench/prod".into(),
            resource: Some(Body::Stage(Stage {
                api_id: "bench".into(),
                stage_name: "prod".into(),
                deployment_id: "d1".into(),
                ..Default::default()
            })),
        },
    ]
}

fn compilation(c: &mut Criterion) {
    let mut group = c.benchmark_group("snapshot_compile");
    group.sample_size(20);
    let config = snapshot(10_000);
    let empty = RuntimeTables::empty();
    let sinks = AccessLogSinks::default();
    group.bench_function("10000_routes", |b| {
        b.iter(|| black_box(compile(1, &config, &empty, &sinks).unwrap()));
    });
    // A stage-only change: the compiled deployment is reused.
    let previous = compile(1, &config, &empty, &sinks).unwrap();
    group.bench_function("10000_routes_stage_change", |b| {
        b.iter(|| black_box(compile(2, &config, &previous, &sinks).unwrap()));
    });
    group.finish();
}

criterion_group!(benches, lookup, compilation);
criterion_main!(benches);
