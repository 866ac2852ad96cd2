//! The whole pipeline per request, without sockets: `Gateway::handle` over
//! tables compiled in memory, on MOCK routes (so the figure is the
//! gateway's own work: phases, context, observation, metrics, response
//! headers). What a restructuring of the pipeline costs or saves shows up
//! here before it reaches `deploy/bench/load.sh`.
//!
//! Run: `cargo bench -p archway-data-plane --bench pipeline`

mod common;

use archway_proto::v1::config_resource::Resource as Body;
use archway_proto::v1::*;
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::Mac;

/// The node's allocator (`data-plane/src/bin/data_plane.rs`), so allocation
/// costs what it costs when serving.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const KEY: &str = "benchkey000000000000000000000001";

fn config() -> Vec<ConfigResource> {
    let mock = || Integration {
        r#type: IntegrationType::Mock as i32,
        mock: Some(MockResponse {
            status_code: 200,
            body: "{}".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let method = |resource_id: &str, key: bool| Method {
        resource_id: resource_id.into(),
        http_method: "GET".into(),
        api_key_required: key,
        integration: Some(mock()),
        ..Default::default()
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(common::API_KEY_SECRET).unwrap();
    mac.update(KEY.as_bytes());
    vec![
        common::settings(),
        common::api("a", ApiProtocol::Rest),
        common::res(
            "deployment/a/d",
            Body::Deployment(Deployment {
                id: "d".into(),
                api_id: "a".into(),
                resources: vec![
                    Resource {
                        id: "items".into(),
                        path: "/items/{id}".into(),
                        ..Default::default()
                    },
                    Resource {
                        id: "keyed".into(),
                        path: "/keyed".into(),
                        ..Default::default()
                    },
                ],
                methods: vec![method("items", false), method("keyed", true)],
                ..Default::default()
            }),
        ),
        common::stage("a", "d", &[]),
        common::res(
            "usageplan/p",
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
                    ..Default::default()
                }],
                ..Default::default()
            }),
        ),
        common::res(
            "apikey/k",
            Body::ApiKey(ApiKey {
                id: "k".into(),
                enabled: true,
                value_hash: mac.finalize().into_bytes().to_vec(),
                usage_plan_ids: vec!["p".into()],
                ..Default::default()
            }),
        ),
    ]
}

fn pipeline(c: &mut Criterion) {
    let rt = common::runtime();
    let _entered = rt.enter();
    let (gateway, client) = common::gateway(&config());
    // MOCK routes never wait: the request completes in one poll.
    let run = |path, key| {
        let response = common::answer(&gateway, &client, common::get(path, key));
        assert!(response.status().as_u16() < 500);
        response
    };
    assert_eq!(run("/prod/items/42", None).status(), 200);
    assert_eq!(run("/prod/keyed", Some(KEY)).status(), 200);
    assert_eq!(run("/prod/nothing", None).status(), 403);
    c.bench_function("pipeline: MOCK route with a path parameter", |b| {
        b.iter(|| run("/prod/items/42", None))
    });
    c.bench_function(
        "pipeline: MOCK route with an API key and plan throttle",
        |b| b.iter(|| run("/prod/keyed", Some(KEY))),
    );
    c.bench_function("pipeline: refused, no such route", |b| {
        b.iter(|| run("/prod/nothing", None))
    });
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
