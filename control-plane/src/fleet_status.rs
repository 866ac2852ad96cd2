//! What each data-plane node last told us: the version it applied, the last
//! version it refused and why, and when it was last heard from.

use crate::ids::now_ms;
use archway_proto::v1::{NodeHello, NodeStatus};
use std::collections::HashMap;
use std::sync::Mutex;

/// One entry per node id. A node that reconnects gets a new session number,
/// so the end of its old stream does not mark the new one disconnected.
#[derive(Default)]
pub struct FleetStatus {
    nodes: Mutex<HashMap<String, (u64, NodeStatus)>>,
    sessions: std::sync::atomic::AtomicU64,
}

impl FleetStatus {
    pub fn connected(&self, hello: &NodeHello, peer: &str) -> u64 {
        let session = self
            .sessions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut nodes = self.nodes.lock().expect("fleet lock");
        let entry = nodes.entry(hello.node_id.clone()).or_default();
        entry.0 = session;
        let status = &mut entry.1;
        status.node_id = hello.node_id.clone();
        status.build = hello.build.clone();
        status.peer_address = peer.to_owned();
        status.connected = true;
        status.applied_version = hello.applied_version;
        status.last_seen_ms = now_ms();
        session
    }

    fn update(&self, node_id: &str, session: u64, f: impl FnOnce(&mut NodeStatus)) {
        let mut nodes = self.nodes.lock().expect("fleet lock");
        if let Some((current, status)) = nodes.get_mut(node_id)
            && *current == session
        {
            status.last_seen_ms = now_ms();
            f(status);
        }
    }

    pub fn sent(&self, node_id: &str, session: u64, version: u64) {
        self.update(node_id, session, |s| s.sent_version = version);
    }

    pub fn acked(&self, node_id: &str, session: u64, version: u64) {
        self.update(node_id, session, |s| s.applied_version = version);
    }

    pub fn nacked(&self, node_id: &str, session: u64, version: u64, error: String) {
        self.update(node_id, session, |s| {
            s.last_error = error;
            s.last_error_version = version;
        });
    }

    pub fn seen(&self, node_id: &str, session: u64) {
        self.update(node_id, session, |_| {});
    }

    pub fn disconnected(&self, node_id: &str, session: u64) {
        self.update(node_id, session, |s| s.connected = false);
    }

    /// All nodes, sorted by id.
    pub fn list(&self) -> Vec<NodeStatus> {
        let nodes = self.nodes.lock().expect("fleet lock");
        let mut list: Vec<NodeStatus> = nodes.values().map(|(_, s)| s.clone()).collect();
        list.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        list
    }
}
