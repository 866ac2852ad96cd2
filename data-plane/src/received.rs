//! The configuration as the control plane sent it: the resource set that
//! deltas apply to. It may be ahead of what the node serves when a version
//! was refused, so later deltas still apply on the right base.

use archway_proto::content_digest::ContentDigest;
use archway_proto::v1::{ConfigResource, ConfigUpdate};
use std::collections::HashMap;

#[derive(Debug, Default, Clone)]
pub struct ReceivedConfig {
    pub epoch: String,
    pub version: u64,
    /// The store the configuration came from (empty: none yet, or a
    /// snapshot saved before stores had identities).
    pub store_id: String,
    pub resources: HashMap<String, ConfigResource>,
    /// The content digest of `resources`, kept with every merge; the hello
    /// carries it so a restarted control plane can skip a full re-send.
    digest: ContentDigest,
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
    /// A configuration as saved: the digest is computed afresh, never
    /// taken from the disk.
    pub fn new(
        epoch: String,
        version: u64,
        store_id: String,
        resources: HashMap<String, ConfigResource>,
    ) -> Self {
        let digest = ContentDigest::of(resources.values());
        Self {
            epoch,
            version,
            store_id,
            resources,
            digest,
        }
    }

    pub fn digest(&self) -> ContentDigest {
        self.digest
    }

    /// Whether the configuration serves any API (anything beyond settings,
    /// keys and principals).
    pub fn serves_apis(&self) -> bool {
        self.resources.keys().any(|name| name.starts_with("api/"))
    }

    /// Takes `update` (a `same_content` one) as the new name of what is
    /// held: nothing changes but the version and epoch.
    pub fn relabel(&mut self, update: &ConfigUpdate) -> Result<(), OutOfSync> {
        if update.base_version != self.version {
            return Err(OutOfSync {
                base: update.base_version,
                epoch: update.epoch.clone(),
                held: self.version,
                held_epoch: self.epoch.clone(),
            });
        }
        self.version = update.version;
        self.epoch.clone_from(&update.epoch);
        self.store_id.clone_from(&update.store_id);
        Ok(())
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
            self.digest = ContentDigest::default();
        } else if update.base_version != self.version || update.epoch != self.epoch {
            return Err(OutOfSync {
                base: update.base_version,
                epoch: update.epoch,
                held: self.version,
                held_epoch: self.epoch.clone(),
            });
        }
        for r in update.upserts {
            let old = self.resources.get(&r.name);
            self.digest.replace(old, &r);
            self.resources.insert(r.name.clone(), r);
        }
        for name in &update.removals {
            if let Some(old) = self.resources.remove(name) {
                self.digest.toggle(&old);
            }
        }
        self.version = update.version;
        self.epoch = update.epoch;
        self.store_id = update.store_id;
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

    #[test]
    fn the_digest_follows_merges_and_matches_a_fresh_count() {
        let mut held = ReceivedConfig::default();
        held.merge(ConfigUpdate {
            version: 3,
            full: true,
            upserts: vec![res("a"), res("b")],
            epoch: "e".into(),
            store_id: "s".into(),
            ..Default::default()
        })
        .unwrap();
        held.merge(ConfigUpdate {
            version: 4,
            base_version: 3,
            upserts: vec![res("c"), res("a")],
            removals: vec!["b".into(), "never".into()],
            epoch: "e".into(),
            store_id: "s".into(),
            ..Default::default()
        })
        .unwrap();
        let fresh = ReceivedConfig::new("x".into(), 0, String::new(), held.resources.clone());
        assert_eq!(held.digest(), fresh.digest());
        assert_eq!(held.store_id, "s");
    }

    #[test]
    fn a_relabel_changes_only_the_version_and_needs_the_right_base() {
        let mut held = ReceivedConfig::new("old".into(), 9, "s".into(), HashMap::new());
        let digest = held.digest();
        let relabel = |base| ConfigUpdate {
            version: 2,
            base_version: base,
            epoch: "new".into(),
            store_id: "s".into(),
            same_content: true,
            ..Default::default()
        };
        assert!(held.relabel(&relabel(8)).is_err());
        held.relabel(&relabel(9)).unwrap();
        assert_eq!((held.version, held.epoch.as_str()), (2, "new"));
        assert_eq!(held.digest(), digest);
    }
}
