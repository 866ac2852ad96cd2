//! The node's side of config distribution: one long-lived stream to the
//! control plane, reopened with capped exponential backoff whenever it ends.
//! The node keeps serving its current tables the whole time.

use crate::apply::{ConfigApplier, Outcome};
use crate::limits::Limits;
use crate::limits::usage::UsageOutbox;
use crate::telemetry::traffic::{LatestReport, TrafficSource};
use archway_proto::v1::config_distribution_client::ConfigDistributionClient;
use archway_proto::v1::node_message::Message as NodeMsg;
use archway_proto::v1::{
    ConfigAck, ConfigNack, ConfigUpdate, Heartbeat, NodeHello, NodeMessage, TrafficReport,
    UsageReport,
};
use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
const STABLE_SESSION: Duration = Duration::from_secs(10);
const HEARTBEAT: Duration = Duration::from_secs(10);
const MAX_MESSAGE_BYTES: usize = 256 << 20;
/// How long a stopping node spends handing over its last usage reports.
const LAST_REPORT_WAIT: Duration = Duration::from_millis(1500);

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// e.g. `http://127.0.0.1:7070`
    pub control_plane: String,
    pub node_id: String,
    /// Counts versions applied and refused.
    pub applies: Option<Counter<u64>>,
    /// Usage to report, and how often.
    pub usage: Option<(Arc<Limits>, Duration)>,
    /// Traffic to report: where it is read, and the latest report the
    /// reading task published (sent on each change and on each new stream).
    pub traffic: Option<(TrafficSource, LatestReport)>,
    /// The node token the control plane asks for.
    pub token: Option<String>,
    /// PEM CA certificates for an `https://` control plane, besides the OS
    /// roots.
    pub ca_pem: Option<String>,
}

/// Follows the control plane until `stop` turns true; then sends the usage
/// counted since the last report (when connected) and returns.
pub async fn run(
    config: ClientConfig,
    mut applier: ConfigApplier,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = MIN_BACKOFF;
    // Outlives streams: a report unacknowledged when one stream ends is
    // sent again on the next.
    let mut outbox = UsageOutbox::new(&config.node_id);
    loop {
        if *stop.borrow() {
            return;
        }
        let started = tokio::time::Instant::now();
        let result = session(&config, &mut applier, &mut outbox, &mut stop).await;
        if *stop.borrow() {
            // The last applied version reaches the disk before we go.
            applier.save_deferred(true).await;
            applier.settle().await;
            return;
        }
        match result {
            Ok(()) => tracing::warn!("the control plane closed the config stream"),
            Err(e) => tracing::warn!(error = %e, "config stream failed"),
        }
        // A stream that lived a while was healthy: start the backoff over.
        if started.elapsed() > STABLE_SESSION {
            backoff = MIN_BACKOFF;
        }
        // ±20% jitter, so a fleet does not reconnect in lockstep.
        tokio::select! {
            () = tokio::time::sleep(backoff.mul_f64(fastrand::f64() * 0.4 + 0.8)) => {}
            _ = stop.changed() => {
                applier.save_deferred(true).await;
                applier.settle().await;
                return;
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn session(
    config: &ClientConfig,
    applier: &mut ConfigApplier,
    outbox: &mut UsageOutbox,
    stop: &mut watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut endpoint = tonic::transport::Endpoint::from_shared(config.control_plane.clone())?
        .connect_timeout(Duration::from_secs(3))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(5));
    // The stream carries IAM secrets: over any network, use https://.
    if config.control_plane.starts_with("https://") {
        let mut tls = tonic::transport::ClientTlsConfig::new().with_native_roots();
        if let Some(pem) = &config.ca_pem {
            tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
        }
        endpoint = endpoint.tls_config(tls)?;
    }
    let channel = endpoint.connect().await?;
    let mut client =
        ConfigDistributionClient::new(channel).max_decoding_message_size(MAX_MESSAGE_BYTES);

    let (tx, rx) = mpsc::channel(8);
    // The hello shows what the node holds (store and content digest), so a
    // restarted control plane with the same content only relabels it.
    applier.settle().await;
    let (store_id, digest) = applier
        .held()
        .map(|(store, digest)| (store.to_owned(), digest))
        .unwrap_or_default();
    let (version, epoch) = applier.received();
    tx.send(message(NodeMsg::Hello(NodeHello {
        node_id: config.node_id.clone(),
        version,
        applied_version: applier.applied_version(),
        build: env!("CARGO_PKG_VERSION").into(),
        epoch: epoch.to_owned(),
        store_id,
        content_digest: if version == 0 {
            Vec::new()
        } else {
            digest.as_bytes().to_vec()
        },
    })))
    .await?;
    let mut request = tonic::Request::new(ReceiverStream::new(rx));
    if let Some(token) = &config.token {
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {}", token.trim()).parse().map_err(|_| {
                anyhow::anyhow!("the node token has characters a header cannot carry")
            })?,
        );
    }
    let mut updates = client.stream_config(request).await?.into_inner();
    tracing::info!(control_plane = %config.control_plane, version, "config stream open");

    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    let report_every = config.usage.as_ref().map_or(HEARTBEAT, |(_, every)| *every);
    let mut report = tokio::time::interval(report_every);
    report.tick().await;
    let mut parts = UpdateParts::default();
    // Cumulative: a new stream starts with the latest report, which gives a
    // control plane that restarted its baseline at once.
    let mut traffic = config.traffic.as_ref().map(|(_, latest)| latest.clone());
    if let Some(report) = traffic.as_mut().and_then(|l| l.borrow_and_update().clone()) {
        tx.send(message(NodeMsg::Traffic(TrafficReport::clone(&report))))
            .await?;
    }
    // What the last stream left unacknowledged goes first.
    if outbox.in_flight()
        && let Some(pending) = next_report(config, outbox)
    {
        tx.send(message(NodeMsg::Usage(pending))).await?;
    }
    loop {
        tokio::select! {
            update = updates.message() => {
                let Some(update) = update? else { return Ok(()) };
                if let Some(ack) = &update.usage_ack {
                    outbox.acknowledged(ack);
                    continue;
                }
                // A large update comes in parts: gather them, apply the whole.
                let Some(update) = parts.add(update)? else { continue };
                let reply = match applier.apply(update).await? {
                    Outcome::Applied { version } => {
                        tracing::info!(version, "applied configuration");
                        count(config, "ack");
                        NodeMsg::Ack(ConfigAck { version })
                    }
                    Outcome::Relabelled { version } => {
                        tracing::info!(version, "the control plane holds what this node serves; relabelled, nothing applied");
                        count(config, "unchanged");
                        NodeMsg::Ack(ConfigAck { version })
                    }
                    Outcome::Refused { version, error } => {
                        tracing::error!(version, %error, "refused configuration; still serving the previous one");
                        count(config, "nack");
                        NodeMsg::Nack(ConfigNack { version, error })
                    }
                };
                tx.send(message(reply)).await?;
            }
            _ = heartbeat.tick() => {
                tx.send(message(NodeMsg::Heartbeat(Heartbeat {}))).await?;
                applier.save_deferred(false).await;
            }
            report = next_traffic(&mut traffic) => {
                if let Some(report) = report {
                    tx.send(message(NodeMsg::Traffic(TrafficReport::clone(&report)))).await?;
                }
            }
            _ = stop.changed() => {
                let deadline = tokio::time::Instant::now() + LAST_REPORT_WAIT;
                // The requests answered since the last traffic report; a
                // stalled stream (its queue full) gets no longer than the
                // usage reports below, which matter more.
                if let Some((source, _)) = &config.traffic {
                    let _ = tokio::time::timeout_at(
                        deadline,
                        tx.send(message(NodeMsg::Traffic(source.read()))),
                    )
                    .await;
                }
                // Hand over everything counted, report after report (the
                // one in flight first), each once acknowledged, for a
                // short while.
                let _ = tokio::time::timeout_at(deadline, async {
                    while let Some(usage) = next_report(config, outbox) {
                        if tx.send(message(NodeMsg::Usage(usage))).await.is_err() {
                            return;
                        }
                        while outbox.in_flight() {
                            match updates.message().await {
                                Ok(Some(update)) => {
                                    if let Some(ack) = &update.usage_ack {
                                        outbox.acknowledged(ack);
                                    }
                                }
                                _ => return,
                            }
                        }
                    }
                })
                .await;
                if outbox.in_flight() {
                    tracing::warn!("the last usage report was not acknowledged before shutdown");
                }
                // Close our half and wait for the control plane to close
                // its own: it has then read everything sent before (the
                // last traffic report has no acknowledgement of its own).
                // Returning at once would reset the stream, and with it
                // whatever was still queued.
                drop(tx);
                let _ = tokio::time::timeout_at(deadline, async {
                    while let Ok(Some(_)) = updates.message().await {}
                })
                .await;
                return Ok(());
            }
            _ = report.tick() => {
                if let Some(usage) = next_report(config, outbox) {
                    // Unsent or unacknowledged, it stays in the outbox.
                    tx.send(message(NodeMsg::Usage(usage))).await?;
                }
            }
        }
    }
}

/// The parts of one large update, gathered until the last.
#[derive(Debug, Default)]
struct UpdateParts {
    pending: Option<ConfigUpdate>,
}

impl UpdateParts {
    /// The whole update once `part` is its last; None while more follow.
    fn add(&mut self, part: ConfigUpdate) -> anyhow::Result<Option<ConfigUpdate>> {
        let more = part.more;
        let whole = match self.pending.take() {
            None => part,
            Some(mut pending) => {
                anyhow::ensure!(
                    pending.version == part.version && pending.epoch == part.epoch,
                    "a part of version {} came in the middle of version {}",
                    part.version,
                    pending.version
                );
                pending.upserts.extend(part.upserts);
                pending.removals.extend(part.removals);
                pending
            }
        };
        if more {
            self.pending = Some(whole);
            Ok(None)
        } else {
            Ok(Some(ConfigUpdate {
                more: false,
                ..whole
            }))
        }
    }
}

/// The next traffic report the reading task publishes; pending forever
/// when this node reports no traffic (or the task ended).
async fn next_traffic(latest: &mut Option<LatestReport>) -> Option<Arc<TrafficReport>> {
    let Some(receiver) = latest else {
        return std::future::pending().await;
    };
    if receiver.changed().await.is_err() {
        *latest = None;
        return None;
    }
    receiver.borrow_and_update().clone()
}

/// The usage report to send now, if this node reports usage.
fn next_report(config: &ClientConfig, outbox: &mut UsageOutbox) -> Option<UsageReport> {
    let (limits, _) = config.usage.as_ref()?;
    outbox.next(&limits.usage)
}

fn count(config: &ClientConfig, result: &'static str) {
    if let Some(applies) = &config.applies {
        applies.add(1, &[KeyValue::new("result", result)]);
    }
}

fn message(msg: NodeMsg) -> NodeMessage {
    NodeMessage { message: Some(msg) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_proto::v1::ConfigResource;

    fn part(version: u64, names: &[&str], more: bool) -> ConfigUpdate {
        ConfigUpdate {
            version,
            full: true,
            epoch: "e".into(),
            upserts: names
                .iter()
                .map(|n| ConfigResource {
                    name: (*n).into(),
                    resource: None,
                })
                .collect(),
            more,
            ..Default::default()
        }
    }

    #[test]
    fn parts_are_gathered_into_one_update() {
        let mut parts = UpdateParts::default();
        assert!(parts.add(part(7, &["a", "b"], true)).unwrap().is_none());
        assert!(parts.add(part(7, &["c"], true)).unwrap().is_none());
        let whole = parts.add(part(7, &["d"], false)).unwrap().unwrap();
        let names: Vec<&str> = whole.upserts.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        assert!(whole.full && !whole.more);
        // A single-part update passes straight through.
        assert_eq!(
            parts.add(part(8, &["x"], false)).unwrap().unwrap().version,
            8
        );
        // A part of another version in the middle is an error (resync).
        assert!(parts.add(part(9, &["a"], true)).unwrap().is_none());
        assert!(parts.add(part(10, &["b"], false)).is_err());
    }
}
