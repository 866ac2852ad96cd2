//! The node's metrics, through OpenTelemetry, read by Prometheus from the
//! admin listener.
//!
//! Labels are bounded: API ids and stage names come from configuration, the
//! route is the resource path template (never the raw path), the method is
//! one of the standard verbs or OTHER, and requests that match no API share
//! the label value `(none)`.

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter};

/// Buckets in seconds, from 0.5 ms to 30 s (the largest integration timeout).
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Clone)]
pub struct GatewayMetrics {
    pub requests: Counter<u64>,
    pub duration: Histogram<f64>,
    pub integration_duration: Histogram<f64>,
    pub config_applies: Counter<u64>,
    pub access_log_dropped: Counter<u64>,
}

impl GatewayMetrics {
    pub fn new(meter: &Meter) -> Self {
        Self {
            requests: meter
                .u64_counter("archway_requests")
                .with_description("Requests answered, by api, stage, route, method and status")
                .build(),
            duration: meter
                .f64_histogram("archway_request_duration")
                .with_unit("s")
                .with_description("Time from request to response head")
                .with_boundaries(LATENCY_BUCKETS.to_vec())
                .build(),
            integration_duration: meter
                .f64_histogram("archway_integration_duration")
                .with_unit("s")
                .with_description("Time the integration took to answer")
                .with_boundaries(LATENCY_BUCKETS.to_vec())
                .build(),
            config_applies: meter
                .u64_counter("archway_config_applies")
                .with_description(
                    "Configuration versions applied (result=ack) or refused (result=nack)",
                )
                .build(),
            access_log_dropped: meter
                .u64_counter("archway_access_log_dropped")
                .with_description("Access log lines dropped because the writer fell behind")
                .build(),
        }
    }
}

/// A label built once per configuration version. The value is reference
/// counted, so recording it per request copies a pointer, not the string.
pub fn label(key: &'static str, value: &str) -> KeyValue {
    KeyValue::new(key, std::sync::Arc::<str>::from(value))
}

/// Label for requests that resolved to no API, stage or route.
pub fn none_label(key: &'static str) -> KeyValue {
    KeyValue::new(key, "(none)")
}

/// The method label: the standard verbs by name, anything else as OTHER.
pub fn method_label(method: &http::Method) -> KeyValue {
    let name: &'static str = match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::PATCH => "PATCH",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    };
    KeyValue::new("method", name)
}
