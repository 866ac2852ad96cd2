//! Request validation per request: a body checked against a compiled
//! model (valid, and invalid with its error list), and the whole pipeline
//! on a MOCK route with and without a request validator, so the added cost
//! of validation is the difference. Also the other per-request work of
//! issue 14's gateway side: a CORS preflight answered at the gateway and a
//! refusal shaped by a customised gateway response.
//!
//! Run: `cargo bench -p archway-data-plane --bench validation`

mod common;

use archway_data_plane::body;
use archway_data_plane::compile::validation::compile_models;
use archway_data_plane::pipeline::validate::validate_body;
use archway_proto::v1::config_resource::Resource as Body;
use archway_proto::v1::*;
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

/// The node's allocator (`data-plane/src/bin/data_plane.rs`), so allocation
/// costs what it costs when serving.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A typical model: an order with a nested customer, typed fields,
/// formats, an enum and an array of items (a `$ref` to another model).
fn models() -> Vec<Model> {
    let order = serde_json::json!({
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "required": ["id", "customer", "items"],
        "properties": {
            "id": {"type": "string", "pattern": "^[A-Z]{2}-[0-9]{6}$"},
            "customer": {
                "type": "object",
                "required": ["name", "email"],
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "email": {"type": "string", "format": "email"}
                }
            },
            "status": {"enum": ["new", "paid", "shipped"]},
            "items": {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "https://apigateway.amazonaws.com/restapis/a/models/Item"}
            }
        }
    });
    let item = serde_json::json!({
        "type": "object",
        "required": ["sku", "quantity"],
        "properties": {
            "sku": {"type": "string"},
            "quantity": {"type": "integer", "minimum": 1},
            "price": {"type": "number", "minimum": 0}
        }
    });
    [("Order", order), ("Item", item)]
        .into_iter()
        .map(|(name, schema)| Model {
            name: name.into(),
            api_id: "a".into(),
            schema: schema.to_string(),
            content_type: "application/json".into(),
            ..Default::default()
        })
        .collect()
}

const VALID: &str = r#"{"id":"AB-123456","customer":{"name":"Ada Lovelace","email":"ada@example.com"},"status":"paid","items":[{"sku":"pen-1","quantity":2,"price":1.5},{"sku":"ink-9","quantity":1,"price":12.0},{"sku":"pad-3","quantity":5,"price":3.25}]}"#;
const INVALID: &str = r#"{"id":"ab-1","customer":{"name":"","email":"nope"},"status":"lost","items":[{"sku":"pen-1","quantity":0}]}"#;

fn config() -> Vec<ConfigResource> {
    let method = |resource_id: &str, validated: bool| Method {
        resource_id: resource_id.into(),
        http_method: "POST".into(),
        integration: Some(Integration {
            r#type: IntegrationType::Mock as i32,
            mock: Some(MockResponse {
                status_code: 200,
                body: "{}".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        request_validator_id: if validated {
            "all".into()
        } else {
            String::new()
        },
        request_parameters: [("method.request.header.x-tenant".to_owned(), validated)].into(),
        request_models: [("application/json".to_owned(), "Order".to_owned())].into(),
        ..Default::default()
    };
    let resource = |id: &str| Resource {
        id: id.into(),
        path: format!("/{id}"),
        ..Default::default()
    };
    vec![
        common::api("a", ApiProtocol::Rest),
        common::res(
            "deployment/a/d",
            Body::Deployment(Deployment {
                id: "d".into(),
                api_id: "a".into(),
                protocol: ApiProtocol::Rest as i32,
                resources: vec![resource("plain"), resource("validated")],
                methods: vec![method("plain", false), method("validated", true)],
                models: models(),
                request_validators: vec![RequestValidator {
                    id: "all".into(),
                    validate_request_body: true,
                    validate_request_parameters: true,
                    ..Default::default()
                }],
                gateway_responses: vec![GatewayResponse {
                    response_type: "BAD_REQUEST_BODY".into(),
                    status_code: "422".into(),
                    response_parameters: [(
                        "gatewayresponse.header.x-detail".to_owned(),
                        "context.error.validationErrorString".to_owned(),
                    )]
                    .into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        ),
        common::stage("a", "d", &[]),
        common::api("w", ApiProtocol::Http),
        common::res(
            "deployment/w/d",
            Body::Deployment(Deployment {
                id: "d".into(),
                api_id: "w".into(),
                protocol: ApiProtocol::Http as i32,
                resources: vec![resource("plain")],
                methods: vec![method("plain", false)],
                cors_configuration: Some(CorsConfiguration {
                    allow_origins: vec!["https://app.example.com".into()],
                    allow_methods: vec!["GET".into(), "POST".into()],
                    allow_headers: vec!["content-type".into(), "x-tenant".into()],
                    max_age_seconds: Some(600),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        ),
        common::stage("w", "d", &[]),
    ]
}

/// A JSON POST from tenant `t1` (the validated route requires the header).
fn post(host: &str, path: &str, body: &'static str) -> http::Request<body::StreamingBody> {
    let mut request = common::post(host, path, body);
    request
        .headers_mut()
        .insert("x-tenant", http::HeaderValue::from_static("t1"));
    request
}

fn validation(c: &mut Criterion) {
    let compiled = compile_models("a", &models()).expect("the models compile");
    let order = compiled.get("Order").expect("the order model");
    assert_eq!(validate_body(order, VALID.as_bytes()), Ok(()));
    let errors = validate_body(order, INVALID.as_bytes()).unwrap_err();
    assert!(errors.contains("quantity"), "{errors}");
    c.bench_function("validate: a 250-byte order, valid", |b| {
        b.iter(|| validate_body(order, black_box(VALID.as_bytes())))
    });
    c.bench_function("validate: an order with 6 errors, listed", |b| {
        b.iter(|| validate_body(order, black_box(INVALID.as_bytes())))
    });

    let rt = common::runtime();
    let _entered = rt.enter();
    let (gateway, client) = common::gateway(&config());
    let a = "a.execute-api.localhost";
    let run = |path, body| common::answer(&gateway, &client, post(a, path, body));
    assert_eq!(run("/prod/plain", VALID).status(), 200);
    assert_eq!(run("/prod/validated", VALID).status(), 200);
    let refused = run("/prod/validated", INVALID);
    assert_eq!(refused.status(), 422);
    assert!(refused.headers().contains_key("x-detail"));
    c.bench_function("pipeline: POST to a MOCK route, not validated", |b| {
        b.iter(|| run("/prod/plain", VALID))
    });
    c.bench_function(
        "pipeline: POST to a MOCK route, parameters and body validated",
        |b| b.iter(|| run("/prod/validated", VALID)),
    );
    c.bench_function("pipeline: invalid body, customised BAD_REQUEST_BODY", |b| {
        b.iter(|| run("/prod/validated", INVALID))
    });

    let preflight = || {
        http::Request::options("/prod/plain")
            .header("host", "w.execute-api.localhost")
            .header("origin", "https://app.example.com")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type, x-tenant")
            .body(body::streaming(http_body_util::Empty::<Bytes>::new()))
            .expect("a valid request")
    };
    let answer = common::answer(&gateway, &client, preflight());
    assert_eq!(answer.status(), 204);
    assert!(answer.headers().contains_key("access-control-allow-origin"));
    c.bench_function("pipeline: CORS preflight answered at the gateway", |b| {
        b.iter(|| common::answer(&gateway, &client, preflight()))
    });
}

criterion_group!(benches, validation);
criterion_main!(benches);
