//! Configuration distribution to the data-plane fleet.
//!
//! The control plane keeps the desired set of resources in memory, each
//! stamped with the version that last changed it, plus a change log (version
//! → names). A node that says it holds version V of this epoch gets only the
//! resources changed after V and the names removed since; any other node gets
//! everything. Each stream then follows new versions as they are published,
//! and the node's ACK or NACK per version is recorded in the fleet status.
//!
//! Building the set happens once per change, not once per node, in the
//! spirit of go-control-plane's snapshot cache.

use crate::fleet_status::FleetStatus;
use crate::secrets::MasterKey;
use crate::snapshot;
use crate::store::{Store, StoreError, View};

/// Resources to upsert and names to remove.
type Changes = (Vec<Arc<ConfigResource>>, Vec<String>);
use archway_proto::content_digest::ContentDigest;
use archway_proto::resource_name;
use archway_proto::v1::config_distribution_server::ConfigDistribution;
use archway_proto::v1::node_message::Message as NodeMsg;
use archway_proto::v1::{
    ConfigResource, ConfigUpdate, NodeHello, NodeMessage, UsageAck, UsageReport,
};
use std::collections::{BTreeMap, BTreeSet};
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

/// Resources per message of a large update.
const RESOURCES_PER_MESSAGE: usize = 5_000;
/// How many change-log entries are kept; older deltas become full updates.
const MAX_CHANGES: usize = 100_000;
/// How long a node has to say hello after opening its stream.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// A node sends a heartbeat every 10 s: silence for this long means it is
/// gone (e.g. partitioned without a reset), and its session ends.
const IDLE_TIMEOUT: Duration = Duration::from_secs(35);

#[derive(Default)]
struct VersionedSet {
    version: u64,
    /// The store revision the set was last built from: at least `version`
    /// (writes that change nothing the fleet holds publish no version). A
    /// node that holds a version up to here holds this set's content.
    built_at: u64,
    /// Deltas can be computed from any version >= horizon.
    horizon: u64,
    resources: BTreeMap<String, Arc<ConfigResource>>,
    /// version → names of resources changed (upserted or removed) at it.
    changes: BTreeMap<u64, Vec<String>>,
    change_count: usize,
    /// The content digest of `resources`, kept up to date with every change
    /// so a reconnecting node can show it already holds them.
    digest: ContentDigest,
}

/// An update as planned under the lock: shared handles to the resources,
/// turned into an owned message (the deep copy) only after the lock is
/// released, so a large full update never holds up admin writes.
#[derive(Debug)]
struct PlannedUpdate {
    version: u64,
    full: bool,
    base_version: u64,
    upserts: Vec<Arc<ConfigResource>>,
    removals: Vec<String>,
    epoch: String,
    store_id: String,
    /// The node already holds this version's content: relabel, nothing to apply.
    same_content: bool,
}

impl PlannedUpdate {
    fn kind(&self) -> &'static str {
        if self.full {
            "full"
        } else if self.same_content {
            "relabel"
        } else {
            "delta"
        }
    }

    /// The update as messages of at most [`RESOURCES_PER_MESSAGE`]
    /// resources each, copied one part at a time as the stream takes them:
    /// a million-key full update to ten nodes never holds ten copies.
    fn into_messages(self) -> impl Iterator<Item = ConfigUpdate> {
        let parts = self.upserts.len().div_ceil(RESOURCES_PER_MESSAGE).max(1);
        let mut removals = Some(self.removals);
        (0..parts).map(move |part| {
            let start = part * RESOURCES_PER_MESSAGE;
            let end = (start + RESOURCES_PER_MESSAGE).min(self.upserts.len());
            ConfigUpdate {
                version: self.version,
                full: self.full,
                base_version: self.base_version,
                upserts: self.upserts[start..end]
                    .iter()
                    .map(|r| (**r).clone())
                    .collect(),
                // Names only: small, so all in the first part.
                removals: removals.take().unwrap_or_default(),
                epoch: self.epoch.clone(),
                usage_ack: None,
                more: part + 1 < parts,
                store_id: self.store_id.clone(),
                same_content: self.same_content,
            }
        })
    }
}

/// Who the updates come from: the control plane process (`epoch`) and the
/// store (`store_id`).
#[derive(Debug, Clone, Copy)]
struct Origin<'a> {
    epoch: &'a str,
    store_id: &'a str,
}

impl VersionedSet {
    fn planned(&self, origin: Origin<'_>, full: bool, base_version: u64) -> PlannedUpdate {
        PlannedUpdate {
            version: self.version,
            full,
            base_version,
            upserts: Vec::new(),
            removals: Vec::new(),
            epoch: origin.epoch.to_owned(),
            store_id: origin.store_id.to_owned(),
            same_content: false,
        }
    }

    fn full(&self, origin: Origin<'_>) -> PlannedUpdate {
        PlannedUpdate {
            upserts: self.resources.values().cloned().collect(),
            ..self.planned(origin, true, 0)
        }
    }

    /// The first update for a node that says hello: a delta within this
    /// epoch; a relabel when it holds exactly what this version holds (a
    /// restart of the control plane with no change); the whole set
    /// otherwise.
    fn for_hello(&self, hello: &NodeHello, origin: Origin<'_>) -> Option<PlannedUpdate> {
        if hello.epoch == origin.epoch {
            // A node that says it is current but holds other content (a
            // store restored from a backup and written to the same
            // revision again) gets everything.
            let current = hello.version == self.version
                || (hello.version > self.version && hello.version <= self.built_at);
            if current
                && !hello.content_digest.is_empty()
                && ContentDigest::from_bytes(&hello.content_digest) != Some(self.digest)
            {
                return Some(self.full(origin));
            }
            return self.since(hello.version, origin);
        }
        let same = hello.store_id == origin.store_id
            && ContentDigest::from_bytes(&hello.content_digest) == Some(self.digest);
        if same {
            return Some(PlannedUpdate {
                same_content: true,
                ..self.planned(origin, false, hello.version)
            });
        }
        Some(self.full(origin))
    }

    /// Adds or replaces a resource, keeping the digest.
    fn upsert(&mut self, resource: Arc<ConfigResource>) {
        let old = self
            .resources
            .insert(resource.name.clone(), resource.clone());
        self.digest.replace(old.as_deref(), &resource);
    }

    fn remove(&mut self, name: &str) {
        if let Some(old) = self.resources.remove(name) {
            self.digest.toggle(&old);
        }
    }

    /// The update that takes a node from `base` to the current version, or
    /// None when it is current already.
    fn since(&self, base: u64, origin: Origin<'_>) -> Option<PlannedUpdate> {
        // Versions past ours up to what we built from hold our content (on a
        // shared store, another replica may have numbered a write we
        // coalesced with a later one).
        if base == self.version || (base > self.version && base <= self.built_at) {
            return None;
        }
        if base > self.built_at {
            // The node holds a version this replica has not reached yet (it
            // came from a replica further along the store's watch). It is
            // never sent an older configuration: it keeps what it has and
            // gets what changed once this replica catches up.
            return None;
        }
        if base < self.horizon {
            return Some(self.full(origin));
        }
        let names: BTreeSet<&String> = self
            .changes
            .range(base + 1..)
            .flat_map(|(_, names)| names)
            .collect();
        let mut update = self.planned(origin, false, base);
        for name in names {
            match self.resources.get(name) {
                Some(r) => update.upserts.push(r.clone()),
                None => update.removals.push(name.clone()),
            }
        }
        Some(update)
    }

    fn prune(&mut self) {
        while self.change_count > MAX_CHANGES {
            let Some((version, names)) = self.changes.pop_first() else {
                break;
            };
            self.change_count -= names.len();
            self.horizon = version;
        }
    }
}

/// The published configuration and the streams that follow it.
pub struct Distribution {
    epoch: String,
    /// The identity of the store the configuration comes from.
    store_id: String,
    set: RwLock<VersionedSet>,
    /// The store version last published from. Its lock serializes syncs,
    /// so an older read can never overwrite a newer one.
    synced: Mutex<View>,
    version_tx: watch::Sender<u64>,
    /// Set once on shutdown: every node stream ends, so the server can drain.
    closing: watch::Sender<bool>,
    fleet: Arc<FleetStatus>,
    /// The fleet's recent traffic, from the nodes' traffic reports.
    traffic: crate::traffic::Traffic,
    /// Usage reports from nodes, for the usage ledger to persist.
    usage: Option<mpsc::Sender<crate::usage::Submission>>,
    /// Opens access keys' sealed secrets for the fleet.
    master: Arc<MasterKey>,
    /// Updates sent to nodes, by kind (full, delta, relabel).
    updates_sent: Option<opentelemetry::metrics::Counter<u64>>,
}

impl Distribution {
    /// Loads the desired set from the store. Versions continue from the
    /// store's revision. See [`epoch_for`] for when nodes resynchronise.
    pub fn new(
        store: &Store,
        fleet: Arc<FleetStatus>,
        usage: Option<mpsc::Sender<crate::usage::Submission>>,
        master: Arc<MasterKey>,
    ) -> Result<Self, StoreError> {
        // One version of the store for all of it: the set matches `version`.
        let view = store.view();
        let version = view.revision();
        let mut resources = snapshot::build(&view, &BTreeMap::new())?;
        resources.extend(snapshot::keys_and_plans(&view, &master)?);
        let digest = ContentDigest::of(resources.values().map(|r| &**r));
        let (version_tx, _) = watch::channel(version);
        let store_id = view.identity().unwrap_or_default();
        Ok(Self {
            epoch: epoch_for(store, &store_id),
            store_id,
            set: RwLock::new(VersionedSet {
                version,
                built_at: version,
                horizon: version,
                resources,
                digest,
                ..Default::default()
            }),
            synced: Mutex::new(view),
            version_tx,
            closing: watch::channel(false).0,
            fleet,
            traffic: crate::traffic::Traffic::new(),
            usage,
            master,
            updates_sent: None,
        })
    }

    /// Counts the updates sent to nodes in `counter`, by kind: how often a
    /// node gets everything rather than what changed.
    pub fn count_updates(mut self, counter: opentelemetry::metrics::Counter<u64>) -> Self {
        self.updates_sent = Some(counter);
        self
    }

    /// Ends every node stream (nodes reconnect to whoever serves next).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    pub fn version(&self) -> u64 {
        self.set.read().expect("distribution lock").version
    }

    pub fn fleet(&self) -> &Arc<FleetStatus> {
        &self.fleet
    }

    pub fn traffic(&self) -> &crate::traffic::Traffic {
        &self.traffic
    }

    /// Brings the published set up to the store's newest version: rebuilds
    /// the derived part (APIs, stages, their deployments, node settings)
    /// when anything it reads changed, and re-reads each individually
    /// published resource (keys, plans, principals, access keys, outbound
    /// credentials) whose record changed, then publishes it all as one
    /// version numbered by the store's revision.
    ///
    /// What changed is found by comparing the last version synced with the
    /// newest (the two share all unchanged structure, so the comparison
    /// costs the changes, not the store). So every write is published the
    /// same way whoever made it: an admin call on this replica (which calls
    /// this before answering), or another replica's write arriving through
    /// the store's watch (the follower task, [`Distribution::follow`]). Every
    /// replica of one store then numbers the same content with the same
    /// version, which is what lets a node move between replicas with a
    /// delta.
    pub fn sync(&self, store: &Store) -> Result<(), StoreError> {
        let mut synced = self.synced.lock().expect("sync lock");
        // Read under the lock: the last sync to run sees the newest commit.
        let view = store.view();
        if view.revision() <= synced.revision() && view.identity() == synced.identity() {
            return Ok(());
        }
        let mut derived = false;
        let mut names = Vec::new();
        for key in synced.diff(&view) {
            match snapshot::individual_name(&key) {
                Some(name) => names.push(name),
                None => derived |= feeds_the_derived_set(&key),
            }
        }
        let (mut upserts, mut removals) = if derived {
            self.derived_changes(&view)?
        } else {
            (Vec::new(), Vec::new())
        };
        let (more_upserts, more_removals) = self.individual_changes(&view, names)?;
        upserts.extend(more_upserts);
        removals.extend(more_removals);
        self.apply(view.revision(), upserts, removals);
        *synced = view;
        Ok(())
    }

    /// Syncs after every version the store publishes, whoever wrote it,
    /// until the store or this distribution goes away. A failed sync (a
    /// corrupt record) is logged and tried again at the next version.
    pub async fn follow(self: Arc<Self>, store: Arc<Store>) {
        let mut published = store.subscribe();
        let mut closing = self.closing.subscribe();
        loop {
            if let Err(e) = self.sync(&store) {
                tracing::error!(error = %e, "publishing the store's newest version failed");
            }
            tokio::select! {
                changed = published.changed() => if changed.is_err() { return },
                () = closed(&mut closing) => return,
            }
        }
    }

    /// What the derived part of the set gains and loses at `view`.
    fn derived_changes(&self, view: &View) -> Result<Changes, StoreError> {
        let known: BTreeMap<String, Arc<ConfigResource>> = self
            .set
            .read()
            .expect("distribution lock")
            .resources
            .iter()
            .filter(|(name, _)| !resource_name::is_published_individually(name))
            .map(|(n, r)| (n.clone(), r.clone()))
            .collect();
        let desired = snapshot::build(view, &known)?;
        let mut upserts = Vec::new();
        for (name, resource) in &desired {
            match known.get(name) {
                Some(old) if Arc::ptr_eq(old, resource) || old == resource => {}
                _ => upserts.push(resource.clone()),
            }
        }
        let removals: Vec<String> = known
            .keys()
            .filter(|n| !desired.contains_key(*n))
            .cloned()
            .collect();
        Ok((upserts, removals))
    }

    /// The named individually published resources as they are at `view`.
    fn individual_changes(&self, view: &View, names: Vec<String>) -> Result<Changes, StoreError> {
        let mut upserts = Vec::new();
        let mut removals = Vec::new();
        for name in names {
            match snapshot::read_individual(view, &name, &self.master)? {
                Some(resource) => upserts.push(Arc::new(resource)),
                None => removals.push(name),
            }
        }
        // Unchanged entries (e.g. a racing publish already sent them) cost nothing.
        let set = self.set.read().expect("distribution lock");
        upserts.retain(|r| set.resources.get(&r.name).is_none_or(|old| **old != **r));
        removals.retain(|n| set.resources.contains_key(n));
        Ok((upserts, removals))
    }

    /// Publishes the changes as a new version: the store revision they were
    /// read at (syncs only move forward, so it is always newer; the `max`
    /// only guards the numbering).
    fn apply(&self, revision: u64, upserts: Vec<Arc<ConfigResource>>, removals: Vec<String>) {
        if upserts.is_empty() && removals.is_empty() {
            let mut set = self.set.write().expect("distribution lock");
            set.built_at = set.built_at.max(revision);
            return;
        }
        let version = {
            let mut set = self.set.write().expect("distribution lock");
            set.built_at = set.built_at.max(revision);
            let version = revision.max(set.version + 1);
            let mut changed = Vec::with_capacity(upserts.len() + removals.len());
            for r in upserts {
                changed.push(r.name.clone());
                set.upsert(r);
            }
            for name in removals {
                set.remove(&name);
                changed.push(name);
            }
            set.version = version;
            set.change_count += changed.len();
            set.changes.insert(version, changed);
            set.prune();
            version
        };
        tracing::info!(version, "published configuration");
        self.version_tx.send_replace(version);
    }

    fn origin(&self) -> Origin<'_> {
        Origin {
            epoch: &self.epoch,
            store_id: &self.store_id,
        }
    }

    fn update_for(&self, hello: &NodeHello) -> Option<PlannedUpdate> {
        self.set
            .read()
            .expect("distribution lock")
            .for_hello(hello, self.origin())
    }

    fn update_since(&self, base: u64) -> Option<PlannedUpdate> {
        self.set
            .read()
            .expect("distribution lock")
            .since(base, self.origin())
    }
}

/// The epoch a node's version is relative to. One process's own on sled:
/// a restarted control plane cannot tell a restored backup from the store
/// it had, so every node shows what it holds again (a relabel when nothing
/// changed, see [`VersionedSet::for_hello`]). The store's on etcd: every
/// replica numbers versions by the store's own revision counter and builds
/// the same set from it, so a node that moves to another replica, or stays
/// through a replica's restart, gets only what changed.
fn epoch_for(store: &Store, store_id: &str) -> String {
    if store.is_shared() {
        format!("store-{store_id}")
    } else {
        format!("{:016x}", fastrand::u64(..))
    }
}

/// Whether the derived part of the set may read `key`: everything but
/// [`keys::BOOKKEEPING`](crate::store::keys::BOOKKEEPING).
fn feeds_the_derived_set(key: &str) -> bool {
    !crate::store::keys::BOOKKEEPING
        .iter()
        .any(|prefix| key.starts_with(prefix))
}

/// The gRPC service nodes stream from.
#[derive(Clone)]
pub struct DistributionService {
    distribution: Arc<Distribution>,
}

impl DistributionService {
    pub fn new(distribution: Arc<Distribution>) -> Self {
        Self { distribution }
    }
}

type UpdateStream = Pin<Box<dyn Stream<Item = Result<ConfigUpdate, Status>> + Send>>;

#[tonic::async_trait]
impl ConfigDistribution for DistributionService {
    type StreamConfigStream = UpdateStream;

    async fn stream_config(
        &self,
        request: Request<Streaming<NodeMessage>>,
    ) -> Result<Response<UpdateStream>, Status> {
        let peer = request
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.to_string())
            .unwrap_or_default();
        let mut inbound = request.into_inner();
        let first = tokio::time::timeout(HELLO_TIMEOUT, inbound.message())
            .await
            .map_err(|_| Status::deadline_exceeded("no hello within 10 s"))??;
        let Some(NodeMessage {
            message: Some(NodeMsg::Hello(hello)),
        }) = first
        else {
            return Err(Status::invalid_argument(
                "the first message of a stream must be a hello",
            ));
        };
        if hello.node_id.is_empty() {
            return Err(Status::invalid_argument("hello.node_id: is required"));
        }
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(run_session(
            self.distribution.clone(),
            hello,
            peer,
            inbound,
            tx,
        ));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// Sends an update part by part; false when the stream or distribution
/// closed (a node that stops reading must not hold up shutdown).
async fn send_update(
    distribution: &Distribution,
    update: PlannedUpdate,
    tx: &mpsc::Sender<Result<ConfigUpdate, Status>>,
    closing: &mut watch::Receiver<bool>,
) -> bool {
    if let Some(counter) = &distribution.updates_sent {
        counter.add(1, &[opentelemetry::KeyValue::new("kind", update.kind())]);
    }
    for part in update.into_messages() {
        tokio::select! {
            result = tx.send(Ok(part)) => if result.is_err() { return false },
            () = closed(closing) => return false,
        }
    }
    true
}

/// Hands a report to the ledger and waits until it is durable; returns
/// the acknowledgement to send, or None when the ledger failed (the node
/// will resend).
async fn submit_usage(distribution: &Distribution, report: UsageReport) -> Option<ConfigUpdate> {
    let usage = distribution.usage.as_ref()?;
    let ack = UsageAck {
        reporter: report.reporter.clone(),
        sequence: report.sequence,
    };
    let (applied, done) = tokio::sync::oneshot::channel();
    let submission = crate::usage::Submission { report, applied };
    if usage.send(submission).await.is_err() {
        tracing::error!("the usage ledger stopped");
        return None;
    }
    done.await.ok()?;
    Some(ConfigUpdate {
        usage_ack: Some(ack),
        ..Default::default()
    })
}

/// Completes once distribution is closed. (Wrapped so the watch guard is
/// dropped inside, keeping the session future `Send`.)
async fn closed(closing: &mut watch::Receiver<bool>) {
    let _ = closing.wait_for(|closed| *closed).await;
}

/// Serves one node's stream until it closes.
async fn run_session(
    distribution: Arc<Distribution>,
    hello: NodeHello,
    peer: String,
    mut inbound: Streaming<NodeMessage>,
    tx: mpsc::Sender<Result<ConfigUpdate, Status>>,
) {
    let fleet = distribution.fleet.clone();
    let node_id = hello.node_id.clone();
    let session = fleet.connected(&hello, &peer);
    tracing::info!(node = %node_id, %peer, version = hello.version, "node connected");

    let mut version_rx = distribution.version_tx.subscribe();
    version_rx.mark_unchanged();
    let mut closing = distribution.closing.subscribe();
    let mut sent = hello.version;
    if let Some(update) = distribution.update_for(&hello) {
        sent = update.version;
        fleet.sent(&node_id, session, sent);
        if !send_update(&distribution, update, &tx, &mut closing).await {
            fleet.disconnected(&node_id, session);
            return;
        }
    }

    loop {
        tokio::select! {
            () = closed(&mut closing) => break,
            changed = version_rx.changed() => {
                if changed.is_err() {
                    break;
                }
                if let Some(update) = distribution.update_since(sent) {
                    sent = update.version;
                    fleet.sent(&node_id, session, sent);
                    if !send_update(&distribution, update, &tx, &mut closing).await {
                        break;
                    }
                }
            }
            message = tokio::time::timeout(IDLE_TIMEOUT, inbound.message()) => match message.unwrap_or_else(|_| {
                tracing::warn!(node = %node_id, "no message from the node within 35 s; closing its stream");
                Ok(None)
            }) {
                Ok(Some(NodeMessage { message: Some(msg) })) => match msg {
                    NodeMsg::Ack(ack) => fleet.acked(&node_id, session, ack.version),
                    NodeMsg::Nack(nack) => {
                        tracing::warn!(node = %node_id, version = nack.version, error = %nack.error, "node refused configuration");
                        fleet.nacked(&node_id, session, nack.version, nack.error);
                    }
                    NodeMsg::Heartbeat(_) => fleet.seen(&node_id, session),
                    NodeMsg::Usage(report) => {
                        fleet.seen(&node_id, session);
                        // Wait for the durable write rather than queue
                        // without bound: a slow ledger slows this node's
                        // stream, nothing else. No ack, no loss: the node
                        // resends until acknowledged.
                        if let Some(ack) = submit_usage(&distribution, report).await {
                            // A node that stops reading must not hold up shutdown.
                            tokio::select! {
                                result = tx.send(Ok(ack)) => if result.is_err() { break },
                                () = closed(&mut closing) => break,
                            }
                        }
                    }
                    NodeMsg::Traffic(report) => {
                        fleet.seen(&node_id, session);
                        // A node speaks for its own processes only.
                        if !distribution.traffic.add(&node_id, &report, crate::ids::now_ms()) {
                            tracing::warn!(
                                node = %node_id,
                                reporter = %report.reporter,
                                "ignoring a traffic report for another node"
                            );
                        }
                    }
                    NodeMsg::Hello(_) => {
                        tracing::warn!(node = %node_id, "ignoring a second hello on one stream");
                    }
                },
                Ok(Some(NodeMessage { message: None })) => {}
                Ok(None) => break,
                Err(status) => {
                    tracing::debug!(node = %node_id, %status, "node stream failed");
                    break;
                }
            }
        }
    }
    fleet.disconnected(&node_id, session);
    tracing::info!(node = %node_id, "node disconnected");
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_proto::v1::RestApi;
    use archway_proto::v1::config_resource::Resource as Body;

    fn api(name: &str, desc: &str) -> Arc<ConfigResource> {
        Arc::new(ConfigResource {
            name: name.into(),
            resource: Some(Body::Api(RestApi {
                description: desc.into(),
                ..Default::default()
            })),
        })
    }

    const ORIGIN: Origin<'static> = Origin {
        epoch: "e",
        store_id: "s1",
    };

    fn set_with(changes: &[(u64, &[&str])], resources: &[Arc<ConfigResource>]) -> VersionedSet {
        let version = changes.last().map_or(0, |c| c.0);
        let mut set = VersionedSet {
            version,
            built_at: version,
            ..Default::default()
        };
        for (v, names) in changes {
            set.changes
                .insert(*v, names.iter().map(|n| n.to_string()).collect());
            set.change_count += names.len();
        }
        for r in resources {
            set.upsert(r.clone());
        }
        set
    }

    #[test]
    fn delta_carries_only_what_changed_since_the_base() {
        let set = set_with(
            &[(1, &["api/a", "api/b"]), (2, &["api/b"]), (3, &["api/c"])],
            &[api("api/a", ""), api("api/b", "2")],
        );
        let update = set.since(1, ORIGIN).unwrap();
        assert!(!update.full);
        assert_eq!(update.base_version, 1);
        assert_eq!(update.version, 3);
        let names: Vec<_> = update.upserts.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["api/b"]);
        assert_eq!(update.removals, ["api/c"]);
        assert!(set.since(3, ORIGIN).is_none());
    }

    #[test]
    fn large_updates_travel_in_parts() {
        let count = RESOURCES_PER_MESSAGE * 2 + 1;
        let resources: Vec<_> = (0..count).map(|i| api(&format!("api/{i}"), "")).collect();
        let set = set_with(&[(1, &[])], &resources);
        let parts: Vec<ConfigUpdate> = set.full(ORIGIN).into_messages().collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.iter().map(|p| p.upserts.len()).sum::<usize>(), count);
        assert!(parts[0].more && parts[1].more && !parts[2].more);
        assert!(parts.iter().all(|p| p.full && p.version == 1));
        // A small update is one message, removals included.
        let small = set_with(&[(1, &["api/x"]), (2, &["api/gone"])], &[api("api/x", "")]);
        let parts: Vec<ConfigUpdate> = small.since(1, ORIGIN).unwrap().into_messages().collect();
        assert_eq!(parts.len(), 1);
        assert!(!parts[0].more);
        assert_eq!(parts[0].removals, ["api/gone"]);
    }

    #[test]
    fn versions_outside_the_log_get_a_full_update() {
        let mut set = set_with(&[(5, &["api/a"])], &[api("api/a", "")]);
        set.horizon = 4;
        assert!(set.since(3, ORIGIN).unwrap().full);
        assert!(!set.since(4, ORIGIN).unwrap().full);
    }

    #[test]
    fn pruning_raises_the_horizon() {
        let mut set = set_with(&[(1, &["api/a"]), (2, &["api/b"])], &[]);
        set.change_count = MAX_CHANGES + 1;
        set.prune();
        assert_eq!(set.horizon, 1);
        assert!(set.since(0, ORIGIN).unwrap().full);
    }

    fn hello(epoch: &str, store_id: &str, digest: ContentDigest) -> NodeHello {
        NodeHello {
            node_id: "n".into(),
            version: 41,
            epoch: epoch.into(),
            store_id: store_id.into(),
            content_digest: digest.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn a_node_holding_the_same_content_after_a_restart_is_only_relabelled() {
        let set = set_with(&[(7, &["api/a"])], &[api("api/a", "1"), api("api/b", "2")]);
        let held = ContentDigest::of([&*api("api/b", "2"), &*api("api/a", "1")]);
        let update = set.for_hello(&hello("old", "s1", held), ORIGIN).unwrap();
        assert!(update.same_content && !update.full);
        assert!(update.upserts.is_empty() && update.removals.is_empty());
        assert_eq!((update.version, update.base_version), (7, 41));
        let parts: Vec<ConfigUpdate> = update.into_messages().collect();
        assert_eq!(parts.len(), 1);
        assert!(parts[0].same_content);
        assert_eq!(parts[0].store_id, "s1");
    }

    #[test]
    fn other_content_or_another_store_gets_the_whole_set() {
        let set = set_with(&[(7, &["api/a"])], &[api("api/a", "1")]);
        let other = ContentDigest::of([&*api("api/a", "changed")]);
        assert!(
            set.for_hello(&hello("old", "s1", other), ORIGIN)
                .unwrap()
                .full
        );
        let same = ContentDigest::of([&*api("api/a", "1")]);
        assert!(
            set.for_hello(&hello("old", "s2", same), ORIGIN)
                .unwrap()
                .full,
            "a node of another store never gets a relabel"
        );
        assert!(
            set.for_hello(&hello("old", "s1", ContentDigest::default()), ORIGIN)
                .unwrap()
                .full
        );
    }

    #[test]
    fn the_digest_follows_every_upsert_and_removal() {
        let mut set = set_with(&[(1, &[])], &[api("api/a", "1"), api("api/b", "1")]);
        set.upsert(api("api/a", "2"));
        set.remove("api/b");
        set.remove("api/never");
        assert_eq!(set.digest, ContentDigest::of([&*api("api/a", "2")]));
    }

    #[test]
    fn a_node_at_a_version_this_replica_built_past_is_current() {
        let mut set = set_with(&[(5, &["api/a"])], &[api("api/a", "")]);
        // Revisions 6..8 changed nothing the fleet holds (usage reports),
        // or another replica numbered a write this one coalesced.
        set.built_at = 8;
        assert!(set.since(5, ORIGIN).is_none());
        assert!(set.since(7, ORIGIN).is_none());
        assert!(set.since(8, ORIGIN).is_none());
        // Ahead of what was built: nothing yet, never an older version.
        assert!(set.since(9, ORIGIN).is_none());
    }

    #[test]
    fn a_node_claiming_this_version_with_other_content_gets_everything() {
        let set = set_with(&[(41, &["api/a"])], &[api("api/a", "1")]);
        let held = ContentDigest::of([&*api("api/a", "1")]);
        assert!(set.for_hello(&hello("e", "s1", held), ORIGIN).is_none());
        let other = ContentDigest::of([&*api("api/a", "restored from a backup")]);
        assert!(
            set.for_hello(&hello("e", "s1", other), ORIGIN)
                .unwrap()
                .full
        );
    }

    /// Every write is published at the store's revision, found by comparing
    /// versions of the store: a key written straight to the store (as
    /// another replica's write arrives) is published; bookkeeping (usage
    /// sequences) publishes nothing but moves what the set was built from.
    #[tokio::test]
    async fn every_write_is_published_at_the_stores_revision_whoever_made_it() {
        use crate::store::keys;
        use archway_proto::v1::ApiKey;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let master = Arc::new(MasterKey::from_bytes(&[7; 32]));
        let distribution =
            Distribution::new(&store, Arc::new(FleetStatus::default()), None, master).unwrap();
        let key = ApiKey {
            id: "k1".into(),
            enabled: true,
            ..Default::default()
        };
        let ((), revision) = store
            .write(|txn| {
                txn.put(&keys::api_key("k1"), &key);
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        distribution.sync(&store).unwrap();
        assert_eq!(distribution.version(), revision);
        let name = resource_name::api_key("k1");
        assert!(
            distribution
                .set
                .read()
                .unwrap()
                .resources
                .contains_key(&name)
        );

        let ((), usage) = store
            .write(|txn| {
                txn.put_raw(&keys::usage_sequence("node-1"), &1u64.to_be_bytes());
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        distribution.sync(&store).unwrap();
        assert_eq!(distribution.version(), revision, "nothing the fleet holds");
        assert_eq!(distribution.set.read().unwrap().built_at, usage);

        let ((), removed) = store
            .write(|txn| {
                txn.delete(&keys::api_key("k1"));
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        distribution.sync(&store).unwrap();
        assert_eq!(distribution.version(), removed);
        let update = distribution.update_since(revision).unwrap();
        assert_eq!(update.removals, [name]);
    }
}
