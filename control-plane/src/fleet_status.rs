//! What each data-plane node last told us: the version it applied, the last
//! version it refused and why, and when it was last heard from; and how long
//! each pushed version took to be acknowledged.

use crate::ids::now_ms;
use archway_proto::v1::{NodeHello, NodeStatus};
use opentelemetry::metrics::Histogram;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Disconnected nodes are listed this long (ms), then forgotten.
const FORGET_AFTER_MS: i64 = 24 * 3600 * 1000;

struct NodeEntry {
    /// A node that reconnects gets a new session number, so the end of its
    /// old stream does not mark the new one disconnected.
    session: u64,
    status: NodeStatus,
    /// The first version pushed and not yet acknowledged, and when.
    pending: Option<(u64, Instant)>,
}

#[derive(Default)]
pub struct FleetStatus {
    nodes: Mutex<HashMap<String, NodeEntry>>,
    sessions: AtomicU64,
    push_to_ack: Option<Histogram<f64>>,
}

impl FleetStatus {
    pub fn with_metrics(push_to_ack: Histogram<f64>) -> Self {
        Self {
            push_to_ack: Some(push_to_ack),
            ..Self::default()
        }
    }

    pub fn connected(&self, hello: &NodeHello, peer: &str) -> u64 {
        let session = self.sessions.fetch_add(1, Ordering::Relaxed);
        let mut nodes = self.nodes.lock().expect("fleet lock");
        let entry = nodes
            .entry(hello.node_id.clone())
            .or_insert_with(|| NodeEntry {
                session,
                status: NodeStatus::default(),
                pending: None,
            });
        entry.session = session;
        entry.pending = None;
        let status = &mut entry.status;
        status.node_id = hello.node_id.clone();
        status.build = hello.build.clone();
        status.peer_address = peer.to_owned();
        status.connected = true;
        status.applied_version = hello.applied_version;
        status.last_seen_ms = now_ms();
        session
    }

    fn update(&self, node_id: &str, session: u64, f: impl FnOnce(&mut NodeEntry)) {
        let mut nodes = self.nodes.lock().expect("fleet lock");
        if let Some(entry) = nodes.get_mut(node_id)
            && entry.session == session
        {
            entry.status.last_seen_ms = now_ms();
            f(entry);
        }
    }

    pub fn sent(&self, node_id: &str, session: u64, version: u64) {
        self.update(node_id, session, |e| {
            e.status.sent_version = version;
            e.pending.get_or_insert((version, Instant::now()));
        });
    }

    /// Records the ACK, and the push-to-ACK latency of the oldest version
    /// the ACK covers.
    pub fn acked(&self, node_id: &str, session: u64, version: u64) {
        let histogram = self.push_to_ack.as_ref();
        self.update(node_id, session, |e| {
            e.status.applied_version = version;
            if let Some((pushed, at)) = e.pending
                && version >= pushed
            {
                if let Some(h) = histogram {
                    h.record(at.elapsed().as_secs_f64(), &[]);
                }
                e.pending = None;
            }
        });
    }

    pub fn nacked(&self, node_id: &str, session: u64, version: u64, error: String) {
        self.update(node_id, session, |e| {
            e.status.last_error = error;
            e.status.last_error_version = version;
            e.pending = None;
        });
    }

    pub fn seen(&self, node_id: &str, session: u64) {
        self.update(node_id, session, |_| {});
    }

    pub fn disconnected(&self, node_id: &str, session: u64) {
        self.update(node_id, session, |e| {
            e.status.connected = false;
            e.pending = None;
        });
    }

    pub fn connected_count(&self) -> u64 {
        let nodes = self.nodes.lock().expect("fleet lock");
        nodes.values().filter(|e| e.status.connected).count() as u64
    }

    /// All nodes, sorted by id. Nodes disconnected for over a day are
    /// forgotten (e.g. pods replaced by a rollout).
    pub fn list(&self) -> Vec<NodeStatus> {
        let mut nodes = self.nodes.lock().expect("fleet lock");
        let cutoff = now_ms() - FORGET_AFTER_MS;
        nodes.retain(|_, e| e.status.connected || e.status.last_seen_ms > cutoff);
        let mut list: Vec<NodeStatus> = nodes.values().map(|e| e.status.clone()).collect();
        list.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        list
    }
}
