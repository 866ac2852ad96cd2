//! API key lookup and throttle checks per request, and what a large key set
//! costs a node.
//!
//! Run: `cargo bench -p archway-data-plane --bench keys`
//! (`ARCHWAY_BENCH_KEYS=1000000` sets the key count of the scale run; it
//! prints the compile time and resident memory per key before the criterion
//! groups.)

use archway_data_plane::access_log::AccessLogSinks;
use archway_data_plane::compile::compile;
use archway_data_plane::limits::local::LocalLimits;
use archway_data_plane::limits::{BucketName, Check, Decision};
use archway_data_plane::pipeline::api_key;
use archway_data_plane::tables::{RuntimeTables, Throttle};
use archway_proto::v1::config_resource::Resource as Body;
use archway_proto::v1::*;
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::Mac;
use std::hint::black_box;

/// The node's allocator (`data-plane/src/bin/data_plane.rs`), so allocation
/// costs what it costs when serving.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn value(i: usize) -> String {
    format!("benchkey{i:024}")
}

fn hash(v: &str) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET).unwrap();
    mac.update(v.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn config(keys: usize) -> Vec<ConfigResource> {
    let res = |name: String, body: Body| ConfigResource {
        name,
        resource: Some(body),
    };
    let mut out = vec![
        res(
            "api/a".into(),
            Body::Api(RestApi {
                id: "a".into(),
                ..Default::default()
            }),
        ),
        res(
            "deployment/a/d".into(),
            Body::Deployment(Deployment {
                id: "d".into(),
                api_id: "a".into(),
                resources: vec![Resource {
                    id: "r".into(),
                    path: "/x".into(),
                    ..Default::default()
                }],
                methods: vec![Method {
                    resource_id: "r".into(),
                    http_method: "GET".into(),
                    api_key_required: true,
                    integration: Some(Integration {
                        r#type: IntegrationType::Mock as i32,
                        mock: Some(MockResponse {
                            status_code: 200,
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        ),
        res(
            "stage/a/prod".into(),
            Body::Stage(Stage {
                api_id: "a".into(),
                stage_name: "prod".into(),
                deployment_id: "d".into(),
                ..Default::default()
            }),
        ),
        res(
            "usageplan/p".into(),
            Body::UsagePlan(UsagePlan {
                id: "p".into(),
                name: "p".into(),
                throttle: Some(ThrottleSettings {
                    rate_limit: 1e6,
                    burst_limit: 1_000_000,
                }),
                api_stages: vec![UsagePlanStage {
                    api_id: "a".into(),
                    stage: "prod".into(),
                    throttle: vec![],
                }],
                ..Default::default()
            }),
        ),
        res(
            "settings".into(),
            Body::Settings(NodeSettings {
                api_key_secret: SECRET.to_vec(),
                ..Default::default()
            }),
        ),
    ];
    for i in 0..keys {
        let id = format!("k{i:09}");
        out.push(res(
            format!("apikey/{id}"),
            Body::ApiKey(ApiKey {
                id,
                enabled: true,
                value_hash: hash(&value(i)),
                usage_plan_ids: vec!["p".into()],
                ..Default::default()
            }),
        ));
    }
    out
}

fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// One-shot scale figures: compile time and memory per key.
fn scale() {
    let n: usize = std::env::var("ARCHWAY_BENCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let resources = config(n);
    let before = resident_bytes();
    let started = std::time::Instant::now();
    let tables = compile(
        1,
        &resources,
        &RuntimeTables::empty(),
        &AccessLogSinks::default(),
    )
    .unwrap();
    let compile_time = started.elapsed();
    let after = resident_bytes();
    // A version that changes no key reuses the key table.
    let started = std::time::Instant::now();
    let again = archway_data_plane::compile::compile_with(
        2,
        &resources,
        &tables,
        &AccessLogSinks::default(),
        archway_data_plane::compile::KeyUpdate::Unchanged,
    )
    .unwrap();
    let reuse_time = started.elapsed();
    // One new key on top of the million.
    let started = std::time::Instant::now();
    let one_more = archway_data_plane::compile::compile_with(
        3,
        &resources,
        &again,
        &AccessLogSinks::default(),
        archway_data_plane::compile::KeyUpdate::Delta {
            upserts: vec![ApiKey {
                id: "one-more".into(),
                enabled: true,
                value_hash: hash("one-more-value-000000"),
                ..Default::default()
            }],
            removed_ids: vec![],
        },
    )
    .unwrap();
    let delta_time = started.elapsed();
    assert_eq!(one_more.keys.len(), n + 1);
    println!(
        "scale: {n} keys compile in {compile_time:.2?} ({:.0} bytes resident per key in the key table); a version without key changes compiles in {reuse_time:.2?}, one with one new key in {delta_time:.2?}",
        after.saturating_sub(before) as f64 / n as f64
    );
    black_box((tables, again, one_more));
}

fn per_request(c: &mut Criterion) {
    scale();
    let resources = config(100_000);
    let tables = compile(
        1,
        &resources,
        &RuntimeTables::empty(),
        &AccessLogSinks::default(),
    )
    .unwrap();
    let api = &tables.apis["a"];
    let stage = &api.stages["prod"];
    let mut headers = http::HeaderMap::new();
    headers.insert("x-api-key", value(77_777).parse().unwrap());
    c.bench_function("api_key_identify_100k_keys", |b| {
        b.iter(|| {
            let identity =
                api_key::identify(&tables, api, stage, black_box(&headers), None).unwrap();
            black_box(identity.key_id);
        })
    });
    let limits = LocalLimits::default();
    let check = Check {
        bucket: BucketName::Plan {
            plan: "p",
            key: "k000077777",
        },
        throttle: Some(Throttle {
            rate: 1e9,
            burst: 1_000_000,
        }),
        quota: None,
    };
    c.bench_function("local_throttle_check", |b| {
        b.iter(|| assert_eq!(limits.check(black_box(&check)), Decision::Admit))
    });
}

criterion_group!(benches, per_request);
criterion_main!(benches);
