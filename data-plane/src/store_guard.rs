//! Which configurations a node may take, judged by where they come from.
//!
//! The failure this prevents: a control plane started on a lost or replaced
//! store sends a configuration with nothing in it, every node applies it,
//! and the whole fleet answers 403 for every API it served. Every store has
//! an identity made when it was created (`ConfigUpdate.store_id`); a node
//! keeps the identity of the store its configuration came from, saved with
//! it on disk, and:
//!
//! - refuses (NACK, keeps serving) every update from another store, or from
//!   a control plane that names no store, unless the operator started the
//!   node with `--adopt-store ID` for exactly that store;
//! - refuses a full update that would leave it serving no API while it
//!   serves some, unless it comes from the control plane process it already
//!   follows (same epoch: it saw the APIs go) or the operator said to adopt
//!   that store. Deleting APIs one by one reaches nodes as deltas and is
//!   never refused.
//!
//! - refuses a full update older than what it holds from the same store
//!   and epoch: a control-plane replica behind the one the node followed
//!   before a failover (it would take the node back in time).
//!
//! A node holding nothing takes the first store it meets, unless it was
//! started with `--adopt-store ID`: then it takes that store only. Give new
//! nodes the fleet's store id where their state does not survive a restart
//! (an `emptyDir`), or a replaced store would fill them. A node whose saved
//! snapshot predates store identities (its identity is empty) takes the
//! first store too, except for the empty-configuration rule above.

use crate::received::ReceivedConfig;
use archway_proto::v1::ConfigUpdate;

/// The operator's instruction about stores, if any.
#[derive(Debug, Clone, Default)]
pub struct StoreGuard {
    /// Take configurations from this store whatever the node held.
    adopt: Option<String>,
}

impl StoreGuard {
    pub fn new(adopt: Option<String>) -> Self {
        Self {
            adopt: adopt.filter(|id| !id.is_empty()),
        }
    }

    /// Ok when `update` may be applied on top of `held`; otherwise the
    /// reason, for the NACK and the log.
    pub fn judge(&self, held: &ReceivedConfig, update: &ConfigUpdate) -> Result<(), String> {
        let adopted = self.adopt.as_deref() == Some(update.store_id.as_str());
        if adopted {
            return Ok(());
        }
        let expected = match (&self.adopt, held.store_id.is_empty()) {
            (_, false) => Some(held.store_id.as_str()),
            (Some(adopt), true) => Some(adopt.as_str()),
            (None, true) => None,
        };
        if let Some(expected) = expected
            && update.store_id != expected
        {
            let from = if update.store_id.is_empty() {
                "a control plane that names no store".to_owned()
            } else {
                format!("store {}", update.store_id)
            };
            return Err(format!(
                "configuration version {} comes from {from}, but this node follows store \
                 {expected}: refused, still serving version {}. If the store was replaced on \
                 purpose, restart the node with --adopt-store {}",
                update.version,
                held.version,
                if update.store_id.is_empty() {
                    "ID"
                } else {
                    &update.store_id
                },
            ));
        }
        // Same store, same epoch (the control plane process, or the
        // replicas of one store, that numbered what the node holds): an
        // older full configuration is a replica behind the others, met
        // after a failover. Taking it would serve older configuration; the
        // node refuses it and takes that replica's next delta, or another
        // replica's, once it has caught up.
        let goes_back = update.full
            && update.epoch == held.epoch
            && update.store_id == held.store_id
            && update.version < held.version;
        if goes_back {
            return Err(format!(
                "configuration version {} is older than version {} this node holds from the \
                 same store and epoch {}: this control plane is behind the one the node \
                 followed before; refused, still serving version {} until it catches up. If \
                 the store was restored from an older backup on purpose, restart the node \
                 with --adopt-store {}",
                update.version,
                held.version,
                held.epoch,
                held.version,
                if update.store_id.is_empty() {
                    "ID"
                } else {
                    &update.store_id
                },
            ));
        }
        let empties = update.full
            && !update.upserts.iter().any(|r| r.name.starts_with("api/"))
            && held.serves_apis()
            && update.epoch != held.epoch;
        if empties {
            return Err(format!(
                "configuration version {} from a newly started control plane holds no API, \
                 but this node serves some: refused, still serving version {}. If the APIs \
                 were removed on purpose, restart the node with --adopt-store {}",
                update.version,
                held.version,
                if update.store_id.is_empty() {
                    "ID"
                } else {
                    &update.store_id
                },
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_proto::v1::ConfigResource;
    use std::collections::HashMap;

    fn held(store_id: &str, names: &[&str]) -> ReceivedConfig {
        let resources: HashMap<String, ConfigResource> = names
            .iter()
            .map(|n| {
                (
                    (*n).to_owned(),
                    ConfigResource {
                        name: (*n).into(),
                        resource: None,
                    },
                )
            })
            .collect();
        ReceivedConfig::new("epoch-1".into(), 5, store_id.into(), resources)
    }

    fn full(store_id: &str, epoch: &str, names: &[&str]) -> ConfigUpdate {
        ConfigUpdate {
            version: 3,
            full: true,
            epoch: epoch.into(),
            store_id: store_id.into(),
            upserts: names
                .iter()
                .map(|n| ConfigResource {
                    name: (*n).into(),
                    resource: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_foreign_store_is_refused_with_the_way_to_adopt_it() {
        let guard = StoreGuard::default();
        let reason = guard
            .judge(&held("s1", &["api/a"]), &full("s2", "epoch-2", &["api/a"]))
            .unwrap_err();
        assert!(reason.contains("store s2"), "{reason}");
        assert!(reason.contains("--adopt-store s2"), "{reason}");
        // Deltas from it too, so the node does not reconnect in a loop.
        let delta = ConfigUpdate {
            full: false,
            ..full("s2", "epoch-2", &[])
        };
        assert!(guard.judge(&held("s1", &["api/a"]), &delta).is_err());
    }

    #[test]
    fn a_control_plane_naming_no_store_is_refused_once_a_store_is_known() {
        let guard = StoreGuard::default();
        assert!(
            guard
                .judge(&held("s1", &["api/a"]), &full("", "e", &["api/a"]))
                .is_err()
        );
    }

    #[test]
    fn the_adopted_store_is_taken_even_empty() {
        let guard = StoreGuard::new(Some("s2".into()));
        assert!(
            guard
                .judge(&held("s1", &["api/a"]), &full("s2", "epoch-2", &[]))
                .is_ok()
        );
        // Adopting one store is not adopting every store.
        assert!(
            guard
                .judge(&held("s1", &["api/a"]), &full("s3", "epoch-2", &["api/a"]))
                .is_err()
        );
    }

    #[test]
    fn an_empty_full_update_from_a_new_control_plane_is_refused() {
        let guard = StoreGuard::default();
        let serving = held("s1", &["api/a", "settings"]);
        let reason = guard
            .judge(&serving, &full("s1", "epoch-2", &["settings"]))
            .unwrap_err();
        assert!(reason.contains("holds no API"), "{reason}");
        // A node with a snapshot from before store identities, too.
        assert!(
            guard
                .judge(&held("", &["api/a"]), &full("s9", "epoch-2", &["settings"]))
                .is_err()
        );
        // From the control plane it follows, the APIs' removal was seen.
        let later = ConfigUpdate {
            version: 6,
            ..full("s1", "epoch-1", &["settings"])
        };
        assert!(guard.judge(&serving, &later).is_ok());
    }

    #[test]
    fn a_node_holding_nothing_told_its_store_takes_no_other() {
        let guard = StoreGuard::new(Some("s1".into()));
        let empty = ReceivedConfig::default();
        assert!(guard.judge(&empty, &full("s2", "e", &["api/a"])).is_err());
        assert!(guard.judge(&empty, &full("s1", "e", &["api/a"])).is_ok());
    }

    #[test]
    fn a_node_holding_nothing_takes_the_first_store() {
        let guard = StoreGuard::default();
        assert!(
            guard
                .judge(&ReceivedConfig::default(), &full("s1", "e", &[]))
                .is_ok()
        );
        assert!(
            guard
                .judge(&held("", &["api/a"]), &full("s1", "e2", &["api/b"]))
                .is_ok(),
            "a snapshot from before store identities takes its first store"
        );
    }

    #[test]
    fn an_older_full_update_of_the_same_store_and_epoch_is_refused() {
        // The node holds version 5 of epoch-1; a replica of the same store
        // that has only reached version 3 sends it whole after a failover.
        let guard = StoreGuard::default();
        let serving = held("s1", &["api/a"]);
        let reason = guard
            .judge(&serving, &full("s1", "epoch-1", &["api/a"]))
            .unwrap_err();
        assert!(
            reason.contains("version 3 is older than version 5") && reason.contains("behind"),
            "{reason}"
        );
        // The same or a later version is taken, and so is an older number
        // in another epoch (another control plane process).
        for (version, epoch) in [(5, "epoch-1"), (6, "epoch-1"), (3, "epoch-2")] {
            let update = ConfigUpdate {
                version,
                ..full("s1", epoch, &["api/a"])
            };
            assert!(guard.judge(&serving, &update).is_ok(), "{version} {epoch}");
        }
        // The operator's --adopt-store takes it (a store restored from an
        // older backup on purpose).
        assert!(
            StoreGuard::new(Some("s1".into()))
                .judge(&serving, &full("s1", "epoch-1", &["api/a"]))
                .is_ok()
        );
    }
}
