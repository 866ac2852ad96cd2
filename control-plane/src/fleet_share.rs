//! The fleet as every replica sees it, on a shared store.
//!
//! Each replica knows only the nodes whose streams it holds, but an operator
//! asking any replica (through a load balancer, say) wants the whole fleet.
//! So on etcd each replica writes the status of its nodes every
//! [`SHARE_EVERY`] under a key of its own, beside the store's prefix (never
//! in it: this is no configuration change, and bumps no version), held by a
//! lease so a replica that dies takes its entry with it. `ListNodes` adds
//! the other replicas' entries to its own nodes.

use crate::fleet_status::FleetStatus;
use crate::store::etcd::{Etcd, KeptLease};
use archway_proto::v1::{ListNodesResponse, NodeStatus};
use etcd_client::{GetOptions, PutOptions};
use prost::Message;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How often a replica writes its nodes' status: how stale another
/// replica's nodes may look.
const SHARE_EVERY: Duration = Duration::from_secs(2);
/// The lease an entry is held by: a replica gone this long is forgotten.
const ENTRY_TTL: Duration = Duration::from_secs(10);

/// Shares this replica's nodes and reads the others'.
pub struct FleetShare {
    etcd: Etcd,
    /// Every replica's entry is under it.
    prefix: String,
    /// This replica's entry.
    key: String,
}

impl FleetShare {
    /// Starts writing `fleet` (this replica's nodes) as `replica`'s entry.
    pub fn start(etcd: Etcd, replica: &str, fleet: Arc<FleetStatus>) -> Arc<Self> {
        let prefix = format!("{}.fleet/", etcd.address().prefix.trim_end_matches('/'));
        let share = Arc::new(Self {
            key: format!("{prefix}{replica}"),
            prefix,
            etcd,
        });
        let weak = Arc::downgrade(&share);
        tokio::spawn(async move {
            let mut lease: Option<KeptLease> = None;
            loop {
                let Some(share) = weak.upgrade() else { return };
                match share.write(&fleet, &mut lease).await {
                    Ok(()) => {}
                    Err(e) => {
                        tracing::debug!(error = %e, "sharing this replica's nodes failed; trying again");
                        lease = None;
                    }
                }
                drop(share);
                tokio::time::sleep(SHARE_EVERY).await;
            }
        });
        share
    }

    /// Writes this replica's entry under its lease, renewing the lease (or
    /// taking a new one when it is gone).
    async fn write(
        &self,
        fleet: &FleetStatus,
        lease: &mut Option<KeptLease>,
    ) -> Result<(), etcd_client::Error> {
        let mut client = self.etcd.client().clone();
        let kept = match lease.take() {
            Some(mut kept) => {
                if kept.renew(SHARE_EVERY).await {
                    kept
                } else {
                    KeptLease::take(&mut client, ENTRY_TTL).await?
                }
            }
            None => KeptLease::take(&mut client, ENTRY_TTL).await?,
        };
        let id = kept.id;
        *lease = Some(kept);
        let entry = ListNodesResponse {
            nodes: fleet.list(),
            ..Default::default()
        };
        client
            .put(
                self.key.clone(),
                entry.encode_to_vec(),
                Some(PutOptions::new().with_lease(id)),
            )
            .await?;
        Ok(())
    }

    /// The nodes the other replicas hold, as they last wrote them. A
    /// replica that cannot read them answers with its own nodes only.
    pub async fn others(&self) -> Vec<NodeStatus> {
        let mut client = self.etcd.client().clone();
        let answer = match client
            .get(self.prefix.clone(), Some(GetOptions::new().with_prefix()))
            .await
        {
            Ok(answer) => answer,
            Err(e) => {
                tracing::warn!(error = %e, "reading the other replicas' nodes failed; listing this replica's only");
                return Vec::new();
            }
        };
        answer
            .kvs()
            .iter()
            .filter(|kv| kv.key() != self.key.as_bytes())
            .filter_map(|kv| ListNodesResponse::decode(kv.value()).ok())
            .flat_map(|entry| entry.nodes)
            .collect()
    }
}

/// One status per node, sorted by id: where a node appears on several
/// replicas (it moved, and the old replica's entry still shows it), the
/// connected one, else the one seen last.
pub fn merge(mine: Vec<NodeStatus>, others: Vec<NodeStatus>) -> Vec<NodeStatus> {
    let mut nodes: BTreeMap<String, NodeStatus> = BTreeMap::new();
    for node in mine.into_iter().chain(others) {
        match nodes.get(&node.node_id) {
            Some(kept)
                if (kept.connected, kept.last_seen_ms) >= (node.connected, node.last_seen_ms) => {}
            _ => {
                nodes.insert(node.node_id.clone(), node);
            }
        }
    }
    nodes.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, connected: bool, seen: i64, applied: u64) -> NodeStatus {
        NodeStatus {
            node_id: id.into(),
            connected,
            last_seen_ms: seen,
            applied_version: applied,
            ..Default::default()
        }
    }

    #[test]
    fn a_node_on_several_replicas_is_listed_once_as_the_one_holding_it_sees_it() {
        let mine = vec![node("a", false, 100, 3), node("c", true, 50, 7)];
        let others = vec![
            node("a", true, 90, 5),
            node("b", true, 10, 7),
            node("c", false, 60, 6),
        ];
        let merged = merge(mine, others);
        let seen: Vec<(&str, bool, u64)> = merged
            .iter()
            .map(|n| (n.node_id.as_str(), n.connected, n.applied_version))
            .collect();
        assert_eq!(seen, [("a", true, 5), ("b", true, 7), ("c", true, 7)]);
        // Neither connected: the one seen last.
        let merged = merge(vec![node("d", false, 1, 1)], vec![node("d", false, 2, 2)]);
        assert_eq!(merged[0].applied_version, 2);
    }
}
