//! What the node has answered, per API stage, read back from its own
//! Prometheus registry and sent to the control plane as a
//! [`TrafficReport`] for the admin UI's traffic charts.
//!
//! The numbers are the ones `/metrics` serves, because they are read from
//! the same registry: `archway_requests_total` summed over route, method and
//! status (split into total, 4xx and 5xx by the status label) and
//! `archway_request_duration_seconds` summed over route, method and status
//! (per-bucket counts, not cumulative, and the sum). Requests that matched
//! no API (`api="(none)"`) belong to no API stage and are left out.
//!
//! Nothing on the request path changes: a background task gathers the
//! registry every few seconds (a gather is what a Prometheus scrape costs)
//! and publishes a report only when a count moved, or once a minute while
//! any traffic was counted, so idle streams stay quiet and a control plane
//! that lost its state learns the baseline again.

use super::Telemetry;
use archway_proto::latency::LATENCY_BUCKETS;
use archway_proto::v1::{StageTraffic, TrafficReport};
use prometheus::proto::{Metric, MetricFamily};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The counter family as the Prometheus exporter names it.
const REQUESTS: &str = "archway_requests_total";
/// The latency histogram family as the Prometheus exporter names it.
const DURATION: &str = "archway_request_duration_seconds";
/// The label value of requests that resolved to no API.
const NO_API: &str = "(none)";
/// How often a node reads its metrics for a report, unless told otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// How long an unchanged, non-empty report may go unsent.
const RESEND_AFTER: Duration = Duration::from_secs(60);

/// The latest report to send, shared by the reading task and the config
/// stream (which sends it on every change and on every new stream).
pub type LatestReport = watch::Receiver<Option<Arc<TrafficReport>>>;

/// Reads this node process's traffic from its metrics registry.
#[derive(Clone)]
pub struct TrafficSource {
    telemetry: Arc<Telemetry>,
    /// "{node_id}/{random}": new at every process start, so the control
    /// plane counts a restarted node's counters from zero.
    reporter: String,
    started: Instant,
}

impl std::fmt::Debug for TrafficSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrafficSource")
            .field("reporter", &self.reporter)
            .finish()
    }
}

impl TrafficSource {
    pub fn new(telemetry: Arc<Telemetry>, node_id: &str) -> Self {
        Self {
            telemetry,
            reporter: format!("{node_id}/{:016x}", fastrand::u64(..)),
            started: Instant::now(),
        }
    }

    /// The cumulative report as of now: one registry gather.
    pub fn read(&self) -> TrafficReport {
        let mut report = report_from(&self.telemetry.gather());
        report.reporter = self.reporter.clone();
        report.uptime_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        report
    }

    /// Starts the task that reads every `every` and publishes changed
    /// reports; it ends when every receiver is gone.
    pub fn spawn(self, every: Duration) -> (LatestReport, tokio::task::JoinHandle<()>) {
        let (tx, rx) = watch::channel(None);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut published = Published::default();
            loop {
                tick.tick().await;
                // A gather walks every series: keep it off the workers that
                // serve requests.
                let source = self.clone();
                let Ok(report) = tokio::task::spawn_blocking(move || source.read()).await else {
                    return;
                };
                if published.due(&report, Instant::now()) {
                    if tx.send(Some(Arc::new(report))).is_err() {
                        return;
                    }
                } else if tx.is_closed() {
                    return;
                }
            }
        });
        (rx, task)
    }
}

/// What was last published, to send only changes (and a reminder a minute).
#[derive(Debug, Default)]
struct Published {
    last: Option<(Vec<f64>, Vec<StageTraffic>)>,
    at: Option<Instant>,
}

impl Published {
    /// Whether `report` is to be sent now; records it if so.
    fn due(&mut self, report: &TrafficReport, now: Instant) -> bool {
        let changed = self.last.as_ref().is_none_or(|(bounds, stages)| {
            *bounds != report.bucket_bounds || *stages != report.stages
        });
        let reminder = !report.stages.is_empty()
            && self
                .at
                .is_none_or(|at| now.duration_since(at) >= RESEND_AFTER);
        if report.stages.is_empty() && self.last.is_none() {
            // Nothing counted yet: nothing to say.
            return false;
        }
        if changed || reminder {
            self.last = Some((report.bucket_bounds.clone(), report.stages.clone()));
            self.at = Some(now);
            return true;
        }
        false
    }
}

/// Sums the request counter and the latency histogram of `families` by
/// (api, stage). The buckets are [`LATENCY_BUCKETS`], the histogram's own
/// and the control plane's; a series with other bounds (none: the
/// histogram is built with them) keeps its counts but adds no latency,
/// rather than mixing buckets.
pub fn report_from(families: &[MetricFamily]) -> TrafficReport {
    let mut stages: BTreeMap<(&str, &str), StageTraffic> = BTreeMap::new();
    for family in families {
        match family.name() {
            REQUESTS => {
                for metric in family.get_metric() {
                    let Some(entry) = entry(&mut stages, metric) else {
                        continue;
                    };
                    let count = metric.get_counter().get_value() as u64;
                    entry.requests += count;
                    match label(metric, "status").and_then(|s| s.parse::<u16>().ok()) {
                        Some(400..=499) => entry.client_errors += count,
                        Some(500..=599) => entry.server_errors += count,
                        _ => {}
                    }
                }
            }
            DURATION => {
                for metric in family.get_metric() {
                    let histogram = metric.get_histogram();
                    let ours = histogram
                        .get_bucket()
                        .iter()
                        .map(|b| b.upper_bound())
                        .filter(|b| b.is_finite())
                        .eq(LATENCY_BUCKETS.iter().copied());
                    if !ours {
                        tracing::debug!("a latency series with other bucket bounds; left out");
                        continue;
                    }
                    let Some(entry) = entry(&mut stages, metric) else {
                        continue;
                    };
                    let buckets = per_bucket(
                        histogram
                            .get_bucket()
                            .iter()
                            .filter(|b| b.upper_bound().is_finite())
                            .map(|b| b.cumulative_count()),
                        histogram.get_sample_count(),
                    );
                    if entry.latency_buckets.is_empty() {
                        entry.latency_buckets = buckets;
                    } else {
                        for (sum, n) in entry.latency_buckets.iter_mut().zip(buckets) {
                            *sum += n;
                        }
                    }
                    entry.latency_sum_seconds += histogram.get_sample_sum();
                }
            }
            _ => {}
        }
    }
    let width = LATENCY_BUCKETS.len() + 1;
    TrafficReport {
        bucket_bounds: LATENCY_BUCKETS.to_vec(),
        stages: stages
            .into_values()
            .map(|mut stage| {
                // A stage whose requests were counted before its first
                // latency was: all zero buckets, never a short list.
                stage.latency_buckets.resize(width, 0);
                stage
            })
            .collect(),
        ..Default::default()
    }
}

/// The (api, stage) entry of `metric`, None for requests without an API.
fn entry<'a, 'm>(
    stages: &'a mut BTreeMap<(&'m str, &'m str), StageTraffic>,
    metric: &'m Metric,
) -> Option<&'a mut StageTraffic> {
    let api = label(metric, "api")?;
    let stage = label(metric, "stage")?;
    if api == NO_API {
        return None;
    }
    Some(stages.entry((api, stage)).or_insert_with(|| StageTraffic {
        api_id: api.to_owned(),
        stage_name: stage.to_owned(),
        ..Default::default()
    }))
}

fn label<'m>(metric: &'m Metric, name: &str) -> Option<&'m str> {
    metric
        .get_label()
        .iter()
        .find(|l| l.name() == name)
        .map(|l| l.value())
}

/// Per-bucket counts from cumulative ones: one per finite bound, then the
/// +Inf bucket (`total` less the last cumulative count).
fn per_bucket(cumulative: impl Iterator<Item = u64>, total: u64) -> Vec<u64> {
    let mut previous = 0;
    let mut out: Vec<u64> = cumulative
        .map(|c| {
            let n = c.saturating_sub(previous);
            previous = c.max(previous);
            n
        })
        .collect();
    out.push(total.saturating_sub(previous));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::TelemetryConfig;
    use crate::telemetry::metrics::label as kv;
    use opentelemetry::KeyValue;

    fn telemetry() -> Arc<Telemetry> {
        Arc::new(
            Telemetry::init(&TelemetryConfig {
                otlp_endpoint: None,
                sample_ratio: 0.0,
                service_name: "test",
                metrics: true,
            })
            .unwrap(),
        )
    }

    fn record(t: &Telemetry, api: &str, stage: &str, route: &str, status: i64, secs: f64) {
        let labels = [
            kv("api", api),
            kv("stage", stage),
            kv("route", route),
            KeyValue::new("method", "GET"),
            KeyValue::new("status", status),
        ];
        t.metrics.requests.add(1, &labels);
        t.metrics.duration.record(secs, &labels);
    }

    #[test]
    fn sums_routes_methods_and_statuses_per_stage() {
        let t = telemetry();
        record(&t, "a", "prod", "/x", 200, 0.0007);
        record(&t, "a", "prod", "/y", 200, 0.003);
        record(&t, "a", "prod", "/y", 404, 0.0007);
        record(&t, "a", "prod", "/y", 503, 42.0);
        record(&t, "a", "beta", "/x", 429, 0.2);
        record(&t, "(none)", "(none)", "(none)", 404, 0.0001);
        let report = TrafficSource::new(t, "n1").read();
        assert!(report.reporter.starts_with("n1/"));
        assert_eq!(report.bucket_bounds.first(), Some(&0.0005));
        assert_eq!(report.bucket_bounds.last(), Some(&30.0));
        let width = report.bucket_bounds.len() + 1;
        let names: Vec<_> = report
            .stages
            .iter()
            .map(|s| (s.api_id.as_str(), s.stage_name.as_str()))
            .collect();
        assert_eq!(names, [("a", "beta"), ("a", "prod")], "(none) left out");
        let prod = &report.stages[1];
        assert_eq!(
            (prod.requests, prod.client_errors, prod.server_errors),
            (4, 1, 1)
        );
        assert_eq!(prod.latency_buckets.len(), width);
        // 0.5 ms < 0.7 ms <= 1 ms twice; 2.5 ms < 3 ms <= 5 ms; 42 s: +Inf.
        assert_eq!(prod.latency_buckets[1], 2);
        assert_eq!(prod.latency_buckets[3], 1);
        assert_eq!(prod.latency_buckets[width - 1], 1);
        assert_eq!(prod.latency_buckets.iter().sum::<u64>(), 4);
        assert!((prod.latency_sum_seconds - 42.0044).abs() < 1e-9);
        let beta = &report.stages[0];
        assert_eq!(
            (beta.requests, beta.client_errors, beta.server_errors),
            (1, 1, 0)
        );
    }

    #[test]
    fn the_same_numbers_as_the_metrics_endpoint() {
        let t = telemetry();
        for i in 0..30 {
            record(&t, "api1", "prod", "/r", 200 + (i % 4) * 100, 0.01);
        }
        let text = String::from_utf8(t.encode_metrics()).unwrap();
        let scraped: f64 = text
            .lines()
            .filter(|l| l.starts_with("archway_requests_total{") && l.contains("api=\"api1\""))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum();
        let report = TrafficSource::new(t, "n").read();
        assert_eq!(report.stages[0].requests as f64, scraped);
        assert_eq!(scraped, 30.0);
    }

    #[test]
    fn a_stage_counted_before_its_first_latency_has_every_bucket() {
        let t = telemetry();
        // The counter is added before the histogram records: a read can
        // fall between the two.
        t.metrics.requests.add(
            1,
            &[
                kv("api", "a"),
                kv("stage", "s"),
                kv("route", "/"),
                KeyValue::new("method", "GET"),
                KeyValue::new("status", 200),
            ],
        );
        let report = TrafficSource::new(t, "n").read();
        assert_eq!(report.bucket_bounds, LATENCY_BUCKETS);
        assert_eq!(
            report.stages[0].latency_buckets,
            vec![0; LATENCY_BUCKETS.len() + 1]
        );
    }

    #[test]
    fn no_traffic_no_report() {
        let report = TrafficSource::new(telemetry(), "n").read();
        assert!(report.stages.is_empty());
        let mut published = Published::default();
        assert!(!published.due(&report, Instant::now()));
    }

    #[test]
    fn publishes_changes_and_a_reminder_a_minute() {
        let t = telemetry();
        let source = TrafficSource::new(t.clone(), "n");
        let mut published = Published::default();
        let start = Instant::now();
        record(&t, "a", "s", "/", 200, 0.01);
        let first = source.read();
        assert!(published.due(&first, start), "first counts");
        assert!(
            !published.due(&source.read(), start + Duration::from_secs(5)),
            "unchanged: quiet"
        );
        record(&t, "a", "s", "/", 200, 0.01);
        assert!(published.due(&source.read(), start + Duration::from_secs(10)));
        assert!(!published.due(&source.read(), start + Duration::from_secs(69)));
        assert!(
            published.due(&source.read(), start + Duration::from_secs(70)),
            "a minute without a report"
        );
    }

    #[test]
    fn per_bucket_counts_from_cumulative() {
        assert_eq!(per_bucket([1, 1, 4, 9].into_iter(), 10), [1, 0, 3, 5, 1]);
        assert_eq!(per_bucket(std::iter::empty(), 3), [3]);
        // Never negative, even from a torn read.
        assert_eq!(per_bucket([5, 4].into_iter(), 4), [5, 0, 0]);
    }
}
