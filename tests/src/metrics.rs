//! Reading a process's Prometheus metrics: scraped from `/metrics` and
//! parsed with a Prometheus text-format parser, so a test also checks that
//! the exposition parses.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;

pub type Scrape = openmetrics_parser::MetricsExposition<
    openmetrics_parser::PrometheusType,
    openmetrics_parser::PrometheusValue,
>;

/// Scrapes `/metrics` and parses it with a Prometheus text-format parser.
/// Sends the admin token, which the control plane's `/metrics` needs (a
/// node's admin listener ignores it).
pub async fn scrape(addr: SocketAddr) -> anyhow::Result<Scrape> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let request = http::Request::get(format!("http://{addr}/metrics"))
        .header(
            "authorization",
            format!("Bearer {}", crate::TEST_ADMIN_TOKEN),
        )
        .body(Full::default())?;
    let response = client.request(request).await?;
    anyhow::ensure!(
        response.status() == 200,
        "metrics answered {}",
        response.status()
    );
    let text = String::from_utf8(response.into_body().collect().await?.to_bytes().to_vec())?;
    openmetrics_parser::prometheus::parse_prometheus(&text)
        .map_err(|e| anyhow::anyhow!("metrics do not parse: {e:?}\n{text}"))
}

/// The value of the series of family `name` whose labels include all of
/// `labels`: a counter's or gauge's value, a histogram's count.
pub fn sample(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    use openmetrics_parser::PrometheusValue;
    scrape.families.get(name)?.iter_samples().find_map(|s| {
        let set = s.get_labelset().ok()?;
        if !labels
            .iter()
            .all(|(k, v)| set.get_label_value(k) == Some(*v))
        {
            return None;
        }
        Some(match &s.value {
            PrometheusValue::Counter(c) => c.value.as_f64(),
            PrometheusValue::Gauge(n) | PrometheusValue::Unknown(n) => n.as_f64(),
            PrometheusValue::Histogram(h) => h.count.unwrap_or(0) as f64,
            PrometheusValue::Summary(_) => f64::NAN,
        })
    })
}

/// The sum over every series of family `name` whose labels include all of
/// `labels` and pass `keep` (given the series' labels): what a Prometheus
/// `sum(...)` over those series answers.
pub fn sum(
    scrape: &Scrape,
    name: &str,
    labels: &[(&str, &str)],
    keep: impl Fn(&openmetrics_parser::LabelSet<'_>) -> bool,
) -> f64 {
    use openmetrics_parser::PrometheusValue;
    let Some(family) = scrape.families.get(name) else {
        return 0.0;
    };
    family
        .iter_samples()
        .filter_map(|s| {
            let set = s.get_labelset().ok()?;
            let chosen = labels
                .iter()
                .all(|(k, v)| set.get_label_value(k) == Some(*v))
                && keep(&set);
            chosen.then(|| match &s.value {
                PrometheusValue::Counter(c) => c.value.as_f64(),
                PrometheusValue::Gauge(n) | PrometheusValue::Unknown(n) => n.as_f64(),
                PrometheusValue::Histogram(h) => h.count.unwrap_or(0) as f64,
                PrometheusValue::Summary(_) => f64::NAN,
            })
        })
        .sum()
}
