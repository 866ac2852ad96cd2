//! Telemetry of the control plane: structured logs, a span and metrics per
//! admin call, fleet metrics (connected nodes, push-to-ACK latency), all
//! through OpenTelemetry; metrics are read by Prometheus at `/metrics` on the
//! admin listener, spans go to an OTLP/gRPC collector when one is set.

use anyhow::Context as _;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter, MeterProvider as _};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};
use std::sync::Arc;
use std::time::Instant;

/// Installs the process-wide log subscriber: text or JSON lines on stderr,
/// level from `level`, else `RUST_LOG`, else info; coloured only on a
/// terminal ([`log_colours`]).
pub fn init_logging_with(level: Option<&str>, json: bool) {
    let filter = level
        .map(tracing_subscriber::EnvFilter::new)
        .or_else(|| tracing_subscriber::EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(log_colours(
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
            std::env::var_os("NO_COLOR"),
        ))
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// Whether log lines carry ANSI colours: only for a person at a terminal.
/// Escape codes in the journal, a file or a log shipper are noise that
/// breaks grep; `NO_COLOR` (set and not empty, no-color.org) turns them off
/// on a terminal too. (The data plane decides the same way.)
pub fn log_colours(stderr_is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Text logs at the level `RUST_LOG` says (default info).
pub fn init_logging() {
    init_logging_with(None, false);
}

#[derive(Debug, Clone, Default)]
pub struct TelemetryConfig {
    /// OTLP/gRPC collector for spans; None: no spans.
    pub otlp_endpoint: Option<String>,
    /// Share of admin calls traced when the caller sent no sampled context.
    pub sample_ratio: f64,
}

pub struct Telemetry {
    meter: Meter,
    tracer: Option<SdkTracer>,
    registry: prometheus::Registry,
    meter_provider: SdkMeterProvider,
    tracer_provider: Option<SdkTracerProvider>,
    admin_calls: Counter<u64>,
    admin_duration: Histogram<f64>,
}

impl Telemetry {
    /// Call inside a tokio runtime: the OTLP exporter's channel runs on it.
    pub fn init(config: &TelemetryConfig) -> anyhow::Result<Self> {
        let resource = Resource::builder()
            .with_service_name("archway-control-plane")
            .build();
        let registry = prometheus::Registry::new();
        let reader = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .without_target_info()
            .build()
            .context("building the Prometheus exporter")?;
        let meter_provider = SdkMeterProvider::builder()
            .with_reader(reader)
            .with_resource(resource.clone())
            .build();
        let meter = meter_provider.meter("archway");
        let tracer_provider = match &config.otlp_endpoint {
            None => None,
            Some(endpoint) => {
                let exporter = opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(endpoint.clone())
                    .build()
                    .with_context(|| format!("building the OTLP exporter for {endpoint}"))?;
                Some(
                    SdkTracerProvider::builder()
                        .with_batch_exporter(exporter)
                        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                            config.sample_ratio.clamp(0.0, 1.0),
                        ))))
                        .with_resource(resource)
                        .build(),
                )
            }
        };
        Ok(Self {
            admin_calls: meter
                .u64_counter("archway_admin_calls")
                .with_description("Admin API calls, by method and gRPC status code")
                .build(),
            admin_duration: meter
                .f64_histogram("archway_admin_call_duration")
                .with_unit("s")
                .with_description("Admin API call latency, by method")
                .with_boundaries(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
                ])
                .build(),
            tracer: tracer_provider.as_ref().map(|p| p.tracer("archway")),
            meter,
            registry,
            meter_provider,
            tracer_provider,
        })
    }

    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode_metrics(&self) -> String {
        use prometheus::Encoder;
        let mut out = Vec::new();
        if let Err(e) = prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "encoding metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }

    /// Flushes buffered spans; blocking, so call it off the async workers.
    pub fn shutdown(&self) {
        if let Some(provider) = &self.tracer_provider
            && let Err(e) = provider.shutdown()
        {
            tracing::warn!(error = %e, "flushing traces at shutdown");
        }
        let _ = self.meter_provider.shutdown();
    }
}

struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Axum middleware: one span and one metric sample per admin call. Node
/// streams (ConfigDistribution) are long-lived and not calls, so they are
/// left out; so are the UI's files and `/metrics` itself. gRPC-web calls
/// reach here already translated to gRPC ([`crate::grpc_web`]) and count as
/// the calls they are.
pub async fn observe_admin_call(
    State(telemetry): State<Arc<Telemetry>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let Some((service, method)) = path
        .strip_prefix('/')
        .and_then(|p| p.split_once('/'))
        .filter(|(service, _)| {
            service.starts_with("archway.v1.") && *service != "archway.v1.ConfigDistribution"
        })
    else {
        return next.run(request).await;
    };
    // Bounded label: only Archway's own services reach here.
    let call = format!("{service}/{method}");
    let mut span = telemetry.tracer.as_ref().map(|tracer| {
        let parent = TraceContextPropagator::new().extract(&Headers(request.headers()));
        let mut span = tracer
            .span_builder(call.clone())
            .with_kind(SpanKind::Server)
            .start_with_context(tracer, &parent);
        span.set_attribute(KeyValue::new("rpc.system", "grpc"));
        span.set_attribute(KeyValue::new("rpc.service", service.to_owned()));
        span.set_attribute(KeyValue::new("rpc.method", method.to_owned()));
        span
    });
    let started = Instant::now();
    let response = next.run(request).await;
    // Errors come as trailers-only responses, with the status in the headers;
    // a successful unary call carries it in the trailers: OK.
    let code = response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    let method_label = KeyValue::new("method", call);
    telemetry.admin_duration.record(
        started.elapsed().as_secs_f64(),
        std::slice::from_ref(&method_label),
    );
    telemetry
        .admin_calls
        .add(1, &[method_label, KeyValue::new("code", code)]);
    if let Some(span) = span.as_mut() {
        span.set_attribute(KeyValue::new("rpc.grpc.status_code", code));
        if code != 0 {
            span.set_status(Status::error(format!("gRPC status {code}")));
        }
        span.end();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::log_colours;

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        assert!(log_colours(true, None));
        assert!(
            log_colours(true, Some("".into())),
            "an empty NO_COLOR is unset"
        );
        assert!(!log_colours(true, Some("1".into())));
        assert!(!log_colours(false, None));
        assert!(!log_colours(false, Some("".into())));
    }
}
