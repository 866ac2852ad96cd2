//! What one traffic report costs the node: a gather of its metrics registry
//! (what a Prometheus scrape of `/metrics` does, less the text encoding)
//! and the sums by API stage, with 100 routes' series in the registry.
//! The reading task does this once per interval (5 s by default), off the
//! request path; requests record exactly what they recorded before.
//!
//! Run: `cargo bench -p archway-data-plane --bench traffic`
//!
//! Measured 2026-12-02 on a shared 2-core machine (with
//! `CARGO_PROFILE_BENCH_LTO=false CARGO_PROFILE_BENCH_CODEGEN_UNITS=16`):
//! one report 1.7 ms (the gather about 1.6 ms, the sums 0.11 ms), a
//! `/metrics` encoding 4.2 ms; at the default 5 s interval, about 0.03% of
//! one core.

use archway_data_plane::telemetry::metrics::label;
use archway_data_plane::telemetry::traffic::{TrafficSource, report_from};
use archway_data_plane::telemetry::{Telemetry, TelemetryConfig};
use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::KeyValue;
use std::hint::black_box;
use std::sync::Arc;

/// The node's allocator (`data-plane/src/bin/data_plane.rs`), so allocation
/// costs what it costs when serving.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// 100 routes over 10 APIs with 2 stages each, each route answering 200,
/// 404 and 500: 300 counter series and 300 histogram series.
fn telemetry() -> Arc<Telemetry> {
    let telemetry = Arc::new(
        Telemetry::init(&TelemetryConfig {
            otlp_endpoint: None,
            sample_ratio: 0.0,
            service_name: "bench",
            metrics: true,
        })
        .unwrap(),
    );
    for route in 0..100 {
        let api = format!("api{}", route % 10);
        let stage = if (route / 10) % 2 == 0 {
            "prod"
        } else {
            "beta"
        };
        for status in [200_i64, 404, 500] {
            let labels = [
                label("api", &api),
                label("stage", stage),
                label("route", &format!("/items{route}/{{id}}")),
                KeyValue::new("method", "GET"),
                KeyValue::new("status", status),
            ];
            for i in 0..10 {
                telemetry.metrics.requests.add(1, &labels);
                telemetry
                    .metrics
                    .duration
                    .record(0.001 * f64::from(i), &labels);
            }
        }
    }
    telemetry
}

fn report(c: &mut Criterion) {
    let telemetry = telemetry();
    let source = TrafficSource::new(telemetry.clone(), "bench");
    assert_eq!(source.read().stages.len(), 20);
    c.bench_function("traffic: one report (gather + sums), 100 routes", |b| {
        b.iter(|| black_box(source.read()))
    });
    let families = telemetry.gather();
    c.bench_function("traffic: the sums alone, on one gather", |b| {
        b.iter(|| black_box(report_from(black_box(&families))))
    });
    c.bench_function("traffic: for scale, a /metrics scrape's encoding", |b| {
        b.iter(|| black_box(telemetry.encode_metrics()))
    });
}

criterion_group!(benches, report);
criterion_main!(benches);
