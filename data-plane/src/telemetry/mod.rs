//! Telemetry of a node: structured logs, OpenTelemetry traces exported over
//! OTLP/gRPC when a collector is configured, and OpenTelemetry metrics read
//! through a Prometheus registry on the admin listener.

pub mod logging;
pub mod metrics;
pub mod propagation;
pub mod traffic;

use anyhow::Context as _;
use metrics::GatewayMetrics;
use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};

#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// OTLP/gRPC collector, e.g. `http://127.0.0.1:4317`; None: no traces.
    pub otlp_endpoint: Option<String>,
    /// Share of new traces sampled, 0.0 to 1.0. A sampled caller's
    /// `traceparent` is always followed.
    pub sample_ratio: f64,
    pub service_name: &'static str,
    /// False only to measure what metrics cost: instruments then record
    /// nothing and `/metrics` is empty.
    pub metrics: bool,
}

pub struct Telemetry {
    pub metrics: GatewayMetrics,
    /// None when no collector is configured: requests then cost no span.
    pub tracer: Option<SdkTracer>,
    /// Share of new traces sampled (0.0 to 1.0).
    sample_ratio: f64,
    meter: Meter,
    registry: prometheus::Registry,
    meter_provider: SdkMeterProvider,
    tracer_provider: Option<SdkTracerProvider>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("tracing", &self.tracer.is_some())
            .finish()
    }
}

impl Telemetry {
    /// Sets up metrics, and traces when `otlp_endpoint` is set. Call inside
    /// a tokio runtime: the OTLP exporter's channel runs on it.
    pub fn init(config: &TelemetryConfig) -> anyhow::Result<Self> {
        let resource = Resource::builder()
            .with_service_name(config.service_name)
            .build();
        let registry = prometheus::Registry::new();
        let exporter = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .without_target_info()
            .build()
            .context("building the Prometheus exporter")?;
        let mut meter_provider = SdkMeterProvider::builder().with_resource(resource.clone());
        if config.metrics {
            meter_provider = meter_provider.with_reader(exporter);
        }
        let meter_provider = meter_provider.build();
        let meter = meter_provider.meter("archway");

        let tracer_provider = match &config.otlp_endpoint {
            None => None,
            Some(endpoint) => {
                let exporter = opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(endpoint.clone())
                    .build()
                    .with_context(|| format!("building the OTLP exporter for {endpoint}"))?;
                // New traces are sampled before a span exists
                // (`sample_new_trace`), so the SDK is asked only about
                // requests already chosen, or continuing a sampled caller.
                Some(
                    SdkTracerProvider::builder()
                        .with_batch_exporter(exporter)
                        .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
                        .with_resource(resource)
                        .build(),
                )
            }
        };
        let tracer = tracer_provider.as_ref().map(|p| p.tracer("archway"));
        Ok(Self {
            metrics: GatewayMetrics::new(&meter),
            tracer,
            sample_ratio: config.sample_ratio.clamp(0.0, 1.0),
            meter,
            registry,
            meter_provider,
            tracer_provider,
        })
    }

    /// Whether a request without a caller's trace starts a sampled one.
    /// Decided before any span is built: an unsampled request then costs
    /// no span, no trace context and no header (measured with
    /// `TELEMETRY=1 TRACE_RATIO=0 deploy/bench/load.sh`, a span per request
    /// cost about 9% of the node's throughput even when dropped).
    pub fn sample_new_trace(&self) -> bool {
        self.sample_ratio >= 1.0 || (self.sample_ratio > 0.0 && fastrand::f64() < self.sample_ratio)
    }

    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// Every metric as `/metrics` serves it, in its gathered form.
    pub fn gather(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.registry.gather()
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode_metrics(&self) -> Vec<u8> {
        use prometheus::Encoder;
        let mut out = Vec::new();
        let encoder = prometheus::TextEncoder::new();
        if let Err(e) = encoder.encode(&self.gather(), &mut out) {
            tracing::error!(error = %e, "encoding metrics");
        }
        out
    }

    /// Flushes spans still buffered; call on the way out.
    pub fn shutdown(&self) {
        if let Some(provider) = &self.tracer_provider
            && let Err(e) = provider.shutdown()
        {
            tracing::warn!(error = %e, "flushing traces at shutdown");
        }
        let _ = self.meter_provider.shutdown();
    }
}
