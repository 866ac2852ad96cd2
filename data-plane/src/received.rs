//! The configuration as the control plane sent it: the resource set that
//! deltas apply to. It may be ahead of what the node serves when a version
//! was refused, so later deltas still apply on the right base.

use archway_proto::v1::{ConfigResource, ConfigUpdate, NodeSnapshot};
use std::collections::HashMap;

#[derive(Debug, Default, Clone)]
pub struct ReceivedConfig {
    pub epoch: String,
    pub version: u64,
    pub resources: HashMap<String, ConfigResource>,
}

/// A delta that does not apply to what the node holds.
#[derive(Debug, thiserror::Error)]
#[error(
    "delta from version {base} (epoch {epoch}) does not apply to version {held} (epoch {held_epoch})"
)]
pub struct OutOfSync {
    pub base: u64,
    pub epoch: String,
    pub held: u64,
    pub held_epoch: String,
}

impl ReceivedConfig {
    pub fn from_snapshot(snapshot: NodeSnapshot) -> Self {
        Self {
            epoch: snapshot.epoch,
            version: snapshot.version,
            resources: snapshot
                .resources
                .into_iter()
                .map(|r| (r.name.clone(), r))
                .collect(),
        }
    }

    /// Merges an update: a full one replaces everything, a delta must start
    /// from the version held. Returns whether any API key changed, so the
    /// (possibly very large) key table is rebuilt only then.
    pub fn merge(&mut self, update: ConfigUpdate) -> Result<bool, OutOfSync> {
        let keys_changed = update.full
            || update
                .upserts
                .iter()
                .map(|r| r.name.as_str())
                .chain(update.removals.iter().map(String::as_str))
                .any(|n| n.starts_with("apikey/"));
        if update.full {
            self.resources.clear();
        } else if update.base_version != self.version || update.epoch != self.epoch {
            return Err(OutOfSync {
                base: update.base_version,
                epoch: update.epoch,
                held: self.version,
                held_epoch: self.epoch.clone(),
            });
        }
        for r in update.upserts {
            self.resources.insert(r.name.clone(), r);
        }
        for name in &update.removals {
            self.resources.remove(name);
        }
        self.version = update.version;
        self.epoch = update.epoch;
        Ok(keys_changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(name: &str) -> ConfigResource {
        ConfigResource {
            name: name.into(),
            resource: None,
        }
    }

    #[test]
    fn deltas_apply_only_on_their_base() {
        let mut held = ReceivedConfig::default();
        held.merge(ConfigUpdate {
            version: 3,
            full: true,
            upserts: vec![res("a"), res("b")],
            epoch: "e".into(),
            ..Default::default()
        })
        .unwrap();
        held.merge(ConfigUpdate {
            version: 5,
            base_version: 3,
            upserts: vec![res("c")],
            removals: vec!["a".into()],
            epoch: "e".into(),
            ..Default::default()
        })
        .unwrap();
        let mut names: Vec<_> = held.resources.keys().cloned().collect::<Vec<_>>();
        names.sort();
        assert_eq!(names, ["b", "c"]);
        assert_eq!(held.version, 5);
        let stale = held.merge(ConfigUpdate {
            version: 9,
            base_version: 4,
            epoch: "e".into(),
            ..Default::default()
        });
        assert!(stale.is_err());
        assert_eq!(held.version, 5);
    }
}
