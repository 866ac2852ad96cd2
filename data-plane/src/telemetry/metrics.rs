//! The node's metrics, through OpenTelemetry, read by Prometheus from the
//! admin listener.
//!
//! Labels are bounded: API ids and stage names come from configuration, the
//! route is the resource path template (never the raw path), the method is
//! one of the standard verbs or OTHER, and requests that match no API share
//! the label value `(none)`.

use opentelemetry::KeyValue;
use opentelemetry::metrics::{BoundCounter, BoundHistogram, Counter, Histogram, Meter};
use std::sync::Arc;

use archway_proto::latency::LATENCY_BUCKETS;

#[derive(Debug, Clone)]
pub struct GatewayMetrics {
    pub requests: Counter<u64>,
    pub duration: Histogram<f64>,
    pub integration_duration: Histogram<f64>,
    pub config_applies: Counter<u64>,
    pub access_log_dropped: Counter<u64>,
    /// Stage cache answers and evictions, by api and stage.
    pub cache_hits: Counter<u64>,
    pub cache_misses: Counter<u64>,
    pub cache_evictions: Counter<u64>,
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
            cache_hits: meter
                .u64_counter("archway_cache_hits")
                .with_description("Requests answered from the stage cache, by api and stage")
                .build(),
            cache_misses: meter
                .u64_counter("archway_cache_misses")
                .with_description(
                    "Requests to cached methods that called the integration (misses and refreshes), by api and stage",
                )
                .build(),
            cache_evictions: meter
                .u64_counter("archway_cache_evictions")
                .with_description("Stage cache entries evicted to stay within the capacity, by api and stage")
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

/// Method label values, by [`method_index`].
const METHOD_NAMES: [&str; 8] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "OTHER",
];

/// The method label: the standard verbs by name, anything else as OTHER.
pub fn method_label(method: &http::Method) -> KeyValue {
    KeyValue::new("method", METHOD_NAMES[usize::from(method_index(method))])
}

/// A route's request metrics, bound to their full label set the first time
/// a (stage, method, status) combination is seen.
///
/// Recording through OpenTelemetry's attribute slices sorts, hashes and
/// looks up five labels per instrument per request; with bound instruments
/// a request costs a short scan of this route's few combinations and three
/// direct updates. Measured with deploy/bench/load.sh: the unbound path was
/// about 5% of the node's CPU per proxied request.
#[derive(Debug, Default)]
pub struct RouteSeries {
    bound: arc_swap::ArcSwap<Vec<Arc<BoundSeries>>>,
}

/// A route sees few (stage, method, status) combinations; a route seeing
/// more falls back to unbound recording rather than growing without bound.
const MAX_BOUND_PER_ROUTE: usize = 64;

#[derive(Debug)]
struct BoundSeries {
    stage: Box<str>,
    method: u8,
    status: u16,
    requests: BoundCounter<u64>,
    duration: BoundHistogram<f64>,
    integration_duration: BoundHistogram<f64>,
}

/// One request's measurements and, should the series not be bound yet,
/// its labels.
pub struct Measurement<'a> {
    pub stage: &'a str,
    pub method: &'a http::Method,
    pub status: http::StatusCode,
    pub elapsed: std::time::Duration,
    pub integration: Option<std::time::Duration>,
    /// api, stage, route, method, status: made only when needed.
    pub labels: &'a dyn Fn() -> [KeyValue; 5],
}

impl RouteSeries {
    pub fn record(&self, metrics: &GatewayMetrics, m: &Measurement<'_>) {
        let method = method_index(m.method);
        let status = m.status.as_u16();
        let bound = self.bound.load();
        if let Some(series) = bound
            .iter()
            .find(|b| b.status == status && b.method == method && *b.stage == *m.stage)
        {
            return series.record(m);
        }
        drop(bound);
        match self.bind(metrics, m, method, status) {
            Some(series) => series.record(m),
            None => record_unbound(metrics, m),
        }
    }

    fn bind(
        &self,
        metrics: &GatewayMetrics,
        m: &Measurement<'_>,
        method: u8,
        status: u16,
    ) -> Option<Arc<BoundSeries>> {
        if self.bound.load().len() >= MAX_BOUND_PER_ROUTE {
            return None;
        }
        let labels = (m.labels)();
        let series = Arc::new(BoundSeries {
            stage: m.stage.into(),
            method,
            status,
            requests: metrics.requests.bind(&labels),
            duration: metrics.duration.bind(&labels),
            integration_duration: metrics.integration_duration.bind(&labels[..4]),
        });
        self.bound.rcu(|current| {
            let mut next = Vec::clone(current);
            if !next
                .iter()
                .any(|b| b.status == status && b.method == method && b.stage == series.stage)
            {
                next.push(series.clone());
            }
            next
        });
        Some(series)
    }
}

impl BoundSeries {
    fn record(&self, m: &Measurement<'_>) {
        self.requests.add(1);
        self.duration.record(m.elapsed.as_secs_f64());
        if let Some(latency) = m.integration {
            self.integration_duration.record(latency.as_secs_f64());
        }
    }
}

/// For requests without a route (and routes past their bound series).
pub fn record_unbound(metrics: &GatewayMetrics, m: &Measurement<'_>) {
    let labels = (m.labels)();
    metrics.requests.add(1, &labels);
    metrics.duration.record(m.elapsed.as_secs_f64(), &labels);
    if let Some(latency) = m.integration {
        metrics
            .integration_duration
            .record(latency.as_secs_f64(), &labels[..4]);
    }
}

fn method_index(method: &http::Method) -> u8 {
    crate::routes::verb_slot(method).map_or(7, |slot| slot as u8)
}
