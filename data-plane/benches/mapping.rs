//! What mapping adds to a request, through the whole pipeline in memory
//! (`Gateway::handle`, no sockets): a POST with a JSON body of ten items
//! on a MOCK integration with a request template (`$input.path`,
//! `#foreach`, `$context`, `$util.escapeJavaScript`), parameter mappings,
//! an integration response with response parameters and a response
//! template; beside the same route as a plain MOCK, so the difference is
//! the mapping's own cost.
//!
//! Run: `cargo bench -p archway-data-plane --bench mapping`

mod common;

use archway_proto::v1::config_resource::Resource as Body;
use archway_proto::v1::*;
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};

/// The node's allocator (`data-plane/src/bin/data_plane.rs`), so allocation
/// costs what it costs when serving.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const REQUEST_TEMPLATE: &str = r#"#set($order = $input.path('$'))
{
  "orderId": "$util.escapeJavaScript($order.id)",
  "customer": $input.json('$.customer'),
  "requestId": "$context.requestId",
  "sourceIp": "$context.identity.sourceIp",
  "stage": "$context.stage",
  "lines": [
#foreach($item in $order.items)
    {"sku": "$util.escapeJavaScript($item.sku)", "qty": $item.qty}#if($foreach.hasNext),#end
#end
  ],
  "statusCode": 200
}"#;

const RESPONSE_TEMPLATE: &str =
    r#"{"accepted": true, "stage": "$context.stage", "order": "$input.params('id')"}"#;

fn config() -> Vec<ConfigResource> {
    let map = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let plain = Integration {
        r#type: IntegrationType::Mock as i32,
        mock: Some(MockResponse {
            status_code: 200,
            body: "{}".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mapped = Integration {
        r#type: IntegrationType::Mock as i32,
        request_parameters: map(&[
            (
                "integration.request.header.x-order",
                "method.request.path.id",
            ),
            ("integration.request.header.x-request", "context.requestId"),
        ]),
        request_templates: map(&[("application/json", REQUEST_TEMPLATE)]),
        integration_responses: vec![IntegrationResponse {
            status_code: "200".into(),
            response_parameters: map(&[
                ("method.response.header.X-Stage", "stageVariables.tier"),
                ("method.response.header.Access-Control-Allow-Origin", "'*'"),
            ]),
            response_templates: map(&[("application/json", RESPONSE_TEMPLATE)]),
            ..Default::default()
        }],
        ..Default::default()
    };
    let method = |resource_id: &str, integration: Integration, mapped: bool| Method {
        resource_id: resource_id.into(),
        http_method: "POST".into(),
        integration: Some(integration),
        request_parameters: if mapped {
            [("method.request.path.id".to_string(), true)].into()
        } else {
            Default::default()
        },
        method_responses: if mapped {
            vec![MethodResponse {
                status_code: "200".into(),
                response_parameters: [
                    ("method.response.header.X-Stage".to_string(), false),
                    (
                        "method.response.header.Access-Control-Allow-Origin".to_string(),
                        false,
                    ),
                ]
                .into(),
                ..Default::default()
            }]
        } else {
            Vec::new()
        },
        ..Default::default()
    };
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
                        id: "plain".into(),
                        path: "/plain/{id}".into(),
                        ..Default::default()
                    },
                    Resource {
                        id: "mapped".into(),
                        path: "/orders/{id}".into(),
                        ..Default::default()
                    },
                ],
                methods: vec![
                    method("plain", plain, false),
                    method("mapped", mapped, true),
                ],
                ..Default::default()
            }),
        ),
        common::stage("a", "d", &[("tier", "gold")]),
    ]
}

fn order_body() -> Bytes {
    let items: Vec<String> = (0..10)
        .map(|i| format!(r#"{{"sku": "SKU-{i:04}", "qty": {}}}"#, i + 1))
        .collect();
    Bytes::from(format!(
        r#"{{"id": "ord-123", "customer": {{"name": "Ana", "email": "ana@example.com"}}, "items": [{}]}}"#,
        items.join(", ")
    ))
}

fn mapping(c: &mut Criterion) {
    let rt = common::runtime();
    let _entered = rt.enter();
    let (gateway, client) = common::gateway(&config());
    let body = order_body();
    let run = |path| {
        common::answer(
            &gateway,
            &client,
            common::post(common::HOST, path, body.clone()),
        )
    };
    assert_eq!(run("/prod/plain/1").status(), 200);
    // Only POST is declared: a GET is refused before any mapping.
    let get = common::answer(&gateway, &client, common::get("/prod/orders/1", None));
    assert_eq!(get.status(), 403);
    let mapped = run("/prod/orders/ord-123");
    assert_eq!(mapped.status(), 200);
    assert_eq!(mapped.headers()["x-stage"], "gold");
    c.bench_function("mapping: plain MOCK, POST with a 10-item JSON body", |b| {
        b.iter(|| run("/prod/plain/1"))
    });
    c.bench_function(
        "mapping: mapped MOCK (request + response templates, parameter mappings)",
        |b| b.iter(|| run("/prod/orders/ord-123")),
    );
}

criterion_group!(benches, mapping);
criterion_main!(benches);
