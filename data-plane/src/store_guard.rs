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
                adopt_hint(update),
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
                adopt_hint(update),
            ));
        }
        Ok(())
    }
}

/// The store id to name in `--adopt-store` for a refused update.
fn adopt_hint(update: &ConfigUpdate) -> &str {
    if update.store_id.is_empty() {
        "ID"
    } else {
        &update.store_id
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
}
