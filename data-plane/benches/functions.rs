//! What a function integration adds to a request on the gateway's side:
//! building AWS's proxy event (payload 1.0 and 2.0) from a typical request
//! (POST with eight headers, a two-parameter query, one path parameter,
//! two stage variables, a custom authorizer's context and a 200-byte JSON
//! body), and parsing the function's typical answer (status, three
//! headers, a JSON body). Signing and the network are not measured.
//!
//! Run: `cargo bench -p archway-data-plane --bench functions`

use archway_data_plane::aws::integration::PayloadFormat;
use archway_data_plane::pipeline::function::{
    Authorizer, EventInput, event_v1, event_v2, response,
};
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderMap;
use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

/// The node's allocator (`data-plane/src/bin/data_plane.rs`), so allocation
/// costs what it costs when serving.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in [
        ("host", "abc123.execute-api.localhost"),
        ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) bench/1.0"),
        ("accept", "application/json"),
        ("accept-encoding", "gzip, deflate, br"),
        ("content-type", "application/json"),
        ("content-length", "200"),
        (
            "x-request-trace",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ),
        ("cookie", "session=abc; theme=dark"),
    ] {
        h.append(http::HeaderName::from_static(k), v.parse().unwrap());
    }
    h
}

fn bench(c: &mut Criterion) {
    let headers = headers();
    let variables: HashMap<Box<str>, Box<str>> = [
        ("env".into(), "prod".into()),
        ("table".into(), "orders".into()),
    ]
    .into();
    let body = format!(
        r#"{{"order":{{"id":"o-1234567890","items":[{{"sku":"A-1","qty":2}},{{"sku":"B-2","qty":1}}],"note":"{}"}}}}"#,
        "x".repeat(110)
    );
    let params = [("id", "42")];
    let input = |format_v2: bool| EventInput {
        resource_path: "/orders/{id}",
        resource_id: "r-orders-id",
        stage: "prod",
        path: "/orders/42",
        method: "POST",
        headers: &headers,
        query: Some("limit=10&offset=20"),
        params: &params,
        stage_variables: &variables,
        account_id: "123456789012",
        api_id: "abc123",
        domain_name: "abc123.execute-api.localhost",
        request_id: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        time: UNIX_EPOCH + Duration::from_secs(1_764_633_600),
        source_ip: "192.0.2.10",
        protocol: "HTTP/1.1",
        route_key: if format_v2 { "POST /orders/{id}" } else { "" },
        authorizer: Authorizer::Lambda {
            principal_id: Some("user-7"),
            context: Some(r#"{"tenant":"acme","tier":"gold"}"#),
        },
        api_key_id: None,
        body: body.as_bytes(),
        binary: false,
    };
    let answer = Bytes::from_static(
        br#"{"statusCode":201,"headers":{"content-type":"application/json","x-order":"o-1234567890","cache-control":"no-store"},"body":"{\"id\":\"o-1234567890\",\"status\":\"accepted\"}","isBase64Encoded":false}"#,
    );
    c.bench_function("function event 1.0 + response parse", |b| {
        let input = input(false);
        b.iter(|| {
            let event = event_v1::build(black_box(&input)).unwrap();
            let response = response::parse(PayloadFormat::V1, black_box(&answer)).unwrap();
            black_box((event, response))
        })
    });
    c.bench_function("function event 2.0 + response parse", |b| {
        let input = input(true);
        b.iter(|| {
            let event = event_v2::build(black_box(&input)).unwrap();
            let response = response::parse(PayloadFormat::V2, black_box(&answer)).unwrap();
            black_box((event, response))
        })
    });
    c.bench_function("function event 1.0 build", |b| {
        let input = input(false);
        b.iter(|| black_box(event_v1::build(black_box(&input)).unwrap()))
    });
    c.bench_function("function response parse", |b| {
        b.iter(|| black_box(response::parse(PayloadFormat::V1, black_box(&answer)).unwrap()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
