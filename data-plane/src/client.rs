//! The node's side of config distribution: one long-lived stream to a
//! control plane, reopened whenever it ends — on the next of the node's
//! control-plane addresses, with capped exponential backoff (see
//! [`crate::control_planes`]). The node keeps serving its current tables
//! the whole time, also while every control plane is down.

use crate::apply::{ConfigApplier, Outcome};
use crate::control_planes::{ControlPlanes, jittered};
use crate::limits::Limits;
use crate::limits::usage::UsageOutbox;
use crate::telemetry::traffic::{LatestReport, TrafficSource};
use anyhow::Context;
use archway_proto::v1::config_distribution_client::ConfigDistributionClient;
use archway_proto::v1::node_message::Message as NodeMsg;
use archway_proto::v1::{
    ConfigAck, ConfigNack, ConfigUpdate, Heartbeat, NodeHello, NodeMessage, TrafficReport,
    UsageReport,
};
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

/// How often a node says it is alive on an idle stream (the control plane
/// ends a session silent for 35 s).
const HEARTBEAT: Duration = Duration::from_secs(10);
/// Connecting (TCP, TLS, HTTP/2) to one control plane: past it, the next.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// From connected to the stream's response head: a replica that accepts
/// connections but never opens the stream (hung, or busy shutting down) is
/// left for the next after this long. The control plane reads the hello
/// within 10 s of the stream opening.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2 pings on the stream's connection: a replica that goes silent
/// (its machine gone, or a network partition without a reset) is noticed
/// within interval + timeout, and the node moves on. The control plane
/// sends nothing on an idle stream, so these pings are what tell silence
/// from quiet.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);
/// A usage report unacknowledged this long means the replica reads the
/// stream but no longer answers (its ledger stuck): the node moves on, and
/// the report goes again, with the same sequence, to the next replica.
const USAGE_ACK_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_MESSAGE_BYTES: usize = 256 << 20;
/// How long a stopping node spends handing over its last usage reports.
const LAST_REPORT_WAIT: Duration = Duration::from_millis(1500);

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The control planes to follow, tried in order (see
    /// [`crate::control_planes`]), e.g. `http://127.0.0.1:7070`.
    pub control_planes: Vec<String>,
    pub node_id: String,
    /// Counts versions applied and refused.
    pub applies: Option<Counter<u64>>,
    /// Which control plane the node follows, and how often it moved.
    pub connection: Option<ConnectionMetrics>,
    /// Usage to report, and how often.
    pub usage: Option<(Arc<Limits>, Duration)>,
    /// Traffic to report: where it is read, and the latest report the
    /// reading task published (sent on each change and on each new stream).
    pub traffic: Option<(TrafficSource, LatestReport)>,
    /// The node token the control plane asks for.
    pub token: Option<String>,
    /// PEM CA certificates for every `https://` control plane, besides the
    /// OS roots.
    pub ca_pem: Option<String>,
}

/// `archway_control_plane_connected{control_plane}` (1 for the address
/// whose stream is open, 0 for the others) and
/// `archway_control_plane_switches` (streams opened on another address
/// than the one before).
#[derive(Debug, Clone)]
pub struct ConnectionMetrics {
    pub connected: Gauge<u64>,
    pub switches: Counter<u64>,
}

impl ConnectionMetrics {
    pub fn new(meter: &opentelemetry::metrics::Meter) -> Self {
        Self {
            connected: meter
                .u64_gauge("archway_control_plane_connected")
                .with_description(
                    "1 for the control plane whose config stream is open, 0 for the other addresses",
                )
                .build(),
            switches: meter
                .u64_counter("archway_control_plane_switches")
                .with_description(
                    "Config streams opened on another control plane than the one before",
                )
                .build(),
        }
    }

    fn set(&self, address: &str, connected: bool) {
        self.connected.record(
            u64::from(connected),
            &[KeyValue::new("control_plane", address.to_owned())],
        );
    }
}

/// Follows the control planes until `stop` turns true; then sends the usage
/// counted since the last report (when connected) and returns.
pub async fn run(
    config: ClientConfig,
    mut applier: ConfigApplier,
    mut stop: watch::Receiver<bool>,
) {
    let mut planes = match ControlPlanes::new(&config.control_planes) {
        Ok(planes) => planes,
        Err(e) => {
            // `node::run` checks the list before starting anything: only
            // a caller of this function alone gets here.
            tracing::error!(error = %e, "no control plane to follow");
            return;
        }
    };
    if let Some(metrics) = &config.connection {
        for address in planes.addresses() {
            metrics.set(address, false);
        }
    }
    // Outlives streams: a report unacknowledged when one stream ends is
    // sent again on the next, whichever replica that is.
    let mut outbox = UsageOutbox::new(&config.node_id);
    // The address of the last stream that opened.
    let mut followed: Option<String> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        let address = planes.current().to_owned();
        let started = tokio::time::Instant::now();
        let result = match open(&config, &address, &mut applier).await {
            Ok((tx, updates)) => {
                opened(&config, &mut followed, &address);
                let result =
                    session(&config, &mut applier, &mut outbox, &mut stop, tx, updates).await;
                if let Some(metrics) = &config.connection {
                    metrics.set(&address, false);
                }
                result
            }
            Err(e) => Err(e),
        };
        if *stop.borrow() {
            // The last applied version reaches the disk before we go.
            applier.save_deferred(true).await;
            applier.settle().await;
            return;
        }
        match result {
            Ok(()) => {
                tracing::warn!(control_plane = %address, "the control plane closed the config stream")
            }
            Err(e) => {
                tracing::warn!(control_plane = %address, error = format!("{e:#}"), "config stream failed")
            }
        }
        let wait = jittered(planes.ended(started.elapsed()));
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {
                applier.save_deferred(true).await;
                applier.settle().await;
                return;
            }
        }
    }
}

/// A stream opened on `address`: says so in the metrics, and in the log
/// when it is another control plane than the last one.
fn opened(config: &ClientConfig, followed: &mut Option<String>, address: &str) {
    if let Some(metrics) = &config.connection {
        metrics.set(address, true);
    }
    match followed.as_deref() {
        Some(previous) if previous != address => {
            tracing::warn!(
                from = %previous,
                to = %address,
                "control plane switched from {previous} to {address}"
            );
            if let Some(metrics) = &config.connection {
                metrics.switches.add(1, &[]);
            }
        }
        _ => {}
    }
    *followed = Some(address.to_owned());
}

type Outbound = mpsc::Sender<NodeMessage>;

/// Connects to `address`, says hello (what the node holds: version, epoch,
/// store and content digest, so the control plane sends a delta, a full
/// update, or a relabel) and opens the config stream.
async fn open(
    config: &ClientConfig,
    address: &str,
    applier: &mut ConfigApplier,
) -> anyhow::Result<(Outbound, tonic::Streaming<ConfigUpdate>)> {
    let mut endpoint = tonic::transport::Endpoint::from_shared(address.to_owned())?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT);
    // The stream carries IAM secrets: over any network, use https://.
    if address.starts_with("https://") {
        let mut tls = tonic::transport::ClientTlsConfig::new().with_native_roots();
        if let Some(pem) = &config.ca_pem {
            tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
        }
        endpoint = endpoint.tls_config(tls)?;
    }
    let channel = endpoint
        .connect()
        .await
        .with_context(|| format!("connecting to {address}"))?;
    let mut client =
        ConfigDistributionClient::new(channel).max_decoding_message_size(MAX_MESSAGE_BYTES);

    let (tx, rx) = mpsc::channel(8);
    // The hello shows what the node holds (store and content digest), so a
    // restarted control plane, or another replica of the same store, with
    // the same content only relabels it. A replica of another store is
    // refused by the applier's store guard, as any other would be.
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
    let updates = tokio::time::timeout(OPEN_TIMEOUT, client.stream_config(request))
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "{address} accepted the connection but did not open the stream within {} s",
                OPEN_TIMEOUT.as_secs()
            )
        })??
        .into_inner();
    tracing::info!(control_plane = %address, version, "config stream open");
    Ok((tx, updates))
}

/// Follows one open stream: applies updates, answers them, and sends
/// heartbeats, traffic and usage reports, until the stream ends or `stop`.
async fn session(
    config: &ClientConfig,
    applier: &mut ConfigApplier,
    outbox: &mut UsageOutbox,
    stop: &mut watch::Receiver<bool>,
    tx: Outbound,
    mut updates: tonic::Streaming<ConfigUpdate>,
) -> anyhow::Result<()> {
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    let report_every = config.usage.as_ref().map_or(HEARTBEAT, |(_, every)| *every);
    let mut report = tokio::time::interval(report_every);
    report.tick().await;
    let mut parts = UpdateParts::default();
    // When the usage report in flight on this stream must be answered by.
    let mut ack_due: Option<tokio::time::Instant> = None;
    // Cumulative: a new stream starts with the latest report, which gives a
    // control plane that restarted (or a replica this node just moved to)
    // its baseline at once.
    let mut traffic = config.traffic.as_ref().map(|(_, latest)| latest.clone());
    if let Some(report) = traffic.as_mut().and_then(|l| l.borrow_and_update().clone()) {
        tx.send(message(NodeMsg::Traffic(TrafficReport::clone(&report))))
            .await?;
    }
    // What the last stream left unacknowledged goes first, with its
    // sequence: the ledger counts a (reporter, sequence) once, so a report
    // the last replica recorded but could not acknowledge is not counted
    // twice.
    if outbox.in_flight()
        && let Some(pending) = next_report(config, outbox)
    {
        tx.send(message(NodeMsg::Usage(pending))).await?;
        ack_due = Some(tokio::time::Instant::now() + USAGE_ACK_TIMEOUT);
    }
    loop {
        tokio::select! {
            update = updates.message() => {
                let Some(update) = update? else { return Ok(()) };
                if let Some(ack) = &update.usage_ack {
                    outbox.acknowledged(ack);
                    if !outbox.in_flight() {
                        ack_due = None;
                    }
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
                    ack_due.get_or_insert_with(|| tokio::time::Instant::now() + USAGE_ACK_TIMEOUT);
                }
            }
            () = until(ack_due) => {
                anyhow::bail!(
                    "no acknowledgement of usage report {} within {} s",
                    outbox.pending_sequence().unwrap_or_default(),
                    USAGE_ACK_TIMEOUT.as_secs()
                );
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

/// Completes at `due`; never without one.
async fn until(due: Option<tokio::time::Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
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

    /// Log lines written while running `f`, uncoloured.
    fn logged(f: impl FnOnce()) -> String {
        use crate::lock::LockOrRecover;
        #[derive(Clone, Default)]
        struct Lines(Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock_or_recover().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8(lines.0.lock_or_recover().clone()).unwrap()
    }

    #[test]
    fn a_switch_is_logged_only_when_a_stream_opens_on_another_address() {
        let config = ClientConfig {
            control_planes: vec!["http://a".into(), "http://b".into()],
            node_id: "n".into(),
            applies: None,
            connection: None,
            usage: None,
            traffic: None,
            token: None,
            ca_pem: None,
        };
        let mut followed = None;
        // The first stream, and a reconnect to the same replica: no switch.
        let quiet = logged(|| {
            opened(&config, &mut followed, "http://b");
            opened(&config, &mut followed, "http://b");
        });
        assert!(!quiet.contains("switched"), "{quiet}");
        let said = logged(|| opened(&config, &mut followed, "http://a"));
        assert!(
            said.contains("control plane switched from http://b to http://a"),
            "{said}"
        );
        assert_eq!(followed.as_deref(), Some("http://a"));
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
