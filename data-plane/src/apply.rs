//! Turns configuration updates into served tables: merge, compile, swap,
//! persist. A version that does not compile is refused and never served.

use crate::access_log::AccessLogSinks;
use crate::compile::{KeyUpdate, compile, compile_with};
use crate::disk::SnapshotFile;
use crate::received::{OutOfSync, ReceivedConfig};
use crate::stage_cache::StageCaches;
use crate::store_guard::StoreGuard;
use crate::tables::{RuntimeTables, SharedTables};
use archway_proto::content_digest::ContentDigest;
use archway_proto::v1::ConfigUpdate;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Configurations up to this many resources are saved before the ACK.
const SAVE_BEFORE_ACK_UP_TO: usize = 10_000;
/// Larger ones are saved at most this often: a million keys are ~100 MB,
/// and a stream of one-key changes must not rewrite them every time. A
/// node that stops in between restarts from an older snapshot and catches
/// up from the control plane.
const LARGE_SAVE_INTERVAL: Duration = Duration::from_secs(5);

/// The keys a delta changes, or None for a full update.
fn key_delta(update: &ConfigUpdate) -> Option<KeyUpdate> {
    use archway_proto::v1::config_resource::Resource as Body;
    if update.full {
        return None;
    }
    Some(KeyUpdate::Delta {
        upserts: update
            .upserts
            .iter()
            .filter_map(|r| match &r.resource {
                Some(Body::ApiKey(key)) => Some(key.clone()),
                _ => None,
            })
            .collect(),
        removed_ids: update
            .removals
            .iter()
            .filter_map(|n| n.strip_prefix("apikey/").map(str::to_owned))
            .collect(),
    })
}

/// What became of one update.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied {
        version: u64,
    },
    /// The node already held this version's content (a restarted control
    /// plane with no change): renamed, nothing compiled or swapped.
    Relabelled {
        version: u64,
    },
    Refused {
        version: u64,
        error: String,
    },
}

pub struct ConfigApplier {
    tables: SharedTables,
    /// None while the last applied version is being saved: the saving task
    /// owns it and gives it back (see `settle`).
    received: Option<ReceivedConfig>,
    saving: Option<tokio::task::JoinHandle<ReceivedConfig>>,
    /// The received version and epoch, readable while saving.
    received_version: (u64, String),
    disk: Option<SnapshotFile>,
    sinks: Arc<AccessLogSinks>,
    /// Set once a configuration is served (from disk or the control plane).
    ready: Arc<AtomicBool>,
    /// A key changed since the last version that compiled.
    keys_dirty: bool,
    /// When a large configuration was last saved.
    last_large_save: Option<Instant>,
    /// The applied version is not on disk yet (a deferred large save).
    unsaved: bool,
    /// Which stores' configurations may be taken.
    guard: StoreGuard,
    /// The content digest of what the served tables were compiled from: a
    /// relabel is taken only for exactly that content, never for content
    /// this node refused (version numbers alone can collide across epochs).
    served_digest: Option<ContentDigest>,
    /// The stage caches, reconciled after each swap.
    stage_caches: Option<Arc<StageCaches>>,
}

impl ConfigApplier {
    pub fn new(
        tables: SharedTables,
        disk: Option<SnapshotFile>,
        sinks: Arc<AccessLogSinks>,
    ) -> Self {
        Self {
            tables,
            received: Some(ReceivedConfig::default()),
            saving: None,
            received_version: (0, String::new()),
            disk,
            sinks,
            ready: Arc::default(),
            keys_dirty: true,
            last_large_save: None,
            unsaved: false,
            guard: StoreGuard::default(),
            served_digest: None,
            stage_caches: None,
        }
    }

    /// Takes configurations only as `guard` allows.
    pub fn with_guard(mut self, guard: StoreGuard) -> Self {
        self.guard = guard;
        self
    }

    /// Keeps the stage caches beside the tables in step with each swap.
    pub fn with_stage_caches(mut self, caches: Arc<StageCaches>) -> Self {
        self.stage_caches = Some(caches);
        self
    }

    /// Serves `tables` from now on; then keeps or starts afresh each
    /// stage's cache by what the new tables say.
    fn swap_in(&self, tables: RuntimeTables) {
        let tables = Arc::new(tables);
        self.tables.store(tables.clone());
        if let Some(caches) = &self.stage_caches {
            caches.reconcile(tables.stage_caches());
        }
    }

    /// True from the first configuration served on.
    pub fn ready(&self) -> Arc<AtomicBool> {
        self.ready.clone()
    }

    /// The version received (what deltas apply to) and its epoch.
    pub fn received(&self) -> (u64, &str) {
        (self.received_version.0, &self.received_version.1)
    }

    /// What the hello says the node holds: its store and content digest
    /// (None while a save owns the configuration: call `settle` first).
    pub fn held(&self) -> Option<(&str, archway_proto::content_digest::ContentDigest)> {
        self.received
            .as_ref()
            .map(|r| (r.store_id.as_str(), r.digest()))
    }

    /// Waits for a save in progress to finish.
    pub async fn settle(&mut self) {
        if let Some(saving) = self.saving.take() {
            let received = saving.await.expect("the save task does not panic");
            self.received = Some(received);
        }
    }

    /// Saves the applied version if its save was deferred, once
    /// [`LARGE_SAVE_INTERVAL`] has passed (`force`: now, e.g. at shutdown).
    /// Called between updates, so a quiet fleet's last change reaches the
    /// disk too.
    pub async fn save_deferred(&mut self, force: bool) {
        let due = self
            .last_large_save
            .is_none_or(|at| at.elapsed() >= LARGE_SAVE_INTERVAL);
        if !self.unsaved || !(due || force) {
            return;
        }
        self.settle().await;
        let (Some(received), Some(disk)) = (self.received.take(), self.disk.clone()) else {
            return;
        };
        self.unsaved = false;
        self.last_large_save = Some(Instant::now());
        let saving = tokio::task::spawn_blocking(move || {
            if let Err(e) = disk.save(&received) {
                tracing::error!(error = %e, path = %disk.path().display(), "could not save the snapshot; serving it anyway");
            }
            received
        });
        self.saving = Some(saving);
        if force {
            self.settle().await;
        }
    }

    /// The version being served.
    pub fn applied_version(&self) -> u64 {
        self.tables.load().version()
    }

    /// Serves the snapshot saved on disk, if any. A snapshot that does not
    /// decode or compile is reported and left unserved: the node then starts
    /// empty and takes a full update from the control plane.
    pub fn restore_from_disk(&mut self) -> anyhow::Result<Option<u64>> {
        let Some(disk) = &self.disk else {
            return Ok(None);
        };
        let Some((received, in_clear)) = disk.load_checked()? else {
            return Ok(None);
        };
        if in_clear {
            // Saved before secrets were sealed: seal them now rather than
            // at the next change, which may be far off.
            match disk.save(&received) {
                Ok(()) => {
                    tracing::info!(path = %disk.path().display(), "sealed the IAM secrets of a snapshot saved in clear")
                }
                Err(e) => {
                    tracing::error!(error = %e, path = %disk.path().display(), "could not seal the IAM secrets of the saved snapshot")
                }
            }
        }
        let tables = compile(
            received.version,
            received.resources.values(),
            &RuntimeTables::empty(),
            &self.sinks,
        )
        .map_err(|e| anyhow::anyhow!("the saved snapshot does not compile: {e}"))?;
        let version = tables.version();
        self.swap_in(tables);
        self.received_version = (received.version, received.epoch.clone());
        self.served_digest = Some(received.digest());
        self.received = Some(received);
        self.ready.store(true, Ordering::Relaxed);
        self.keys_dirty = false;
        Ok(Some(version))
    }

    /// Merges `update`, compiles the result and, when it compiles, swaps it
    /// in; the snapshot is then saved while the caller acknowledges it (the
    /// next update waits for the save, so versions reach the disk in
    /// order). Both run on a blocking thread: a large configuration must not
    /// stall the proxy's workers.
    pub async fn apply(&mut self, update: ConfigUpdate) -> Result<Outcome, OutOfSync> {
        self.settle().await;
        let held = self.received.as_mut().expect("settled above");
        if let Err(error) = self.guard.judge(held, &update) {
            return Ok(Outcome::Refused {
                version: update.version,
                error,
            });
        }
        if update.same_content {
            // The control plane restarted and holds what this node holds:
            // a new name for the same tables, nothing to compile.
            let served = self.tables.load();
            let was_served = self.served_digest == Some(held.digest());
            held.relabel(&update)?;
            self.received_version = (held.version, held.epoch.clone());
            if !was_served {
                return Ok(Outcome::Refused {
                    version: update.version,
                    error: format!(
                        "version {} holds the configuration this node refused before; still serving version {}",
                        update.version,
                        served.version()
                    ),
                });
            }
            served.relabel(update.version);
            // The new name reaches the disk with the next save.
            self.unsaved = self.disk.is_some();
            return Ok(Outcome::Relabelled {
                version: update.version,
            });
        }
        let mut received = self.received.take().expect("settled above");
        let delta = key_delta(&update);
        let keys_changed = match received.merge(update) {
            Ok(changed) => changed,
            Err(e) => {
                self.received = Some(received);
                return Err(e);
            }
        };
        self.received_version = (received.version, received.epoch.clone());
        let digest = received.digest();
        let keys_update = match delta {
            // A full update, or keys changed in a version that was refused.
            _ if self.keys_dirty => KeyUpdate::Rebuild,
            None => KeyUpdate::Rebuild,
            Some(_) if !keys_changed => KeyUpdate::Unchanged,
            Some(delta) => delta,
        };
        self.keys_dirty = true;
        let version = received.version;
        let previous = self.tables.load_full();
        let large = received.resources.len() > SAVE_BEFORE_ACK_UP_TO;
        // A large configuration saved recently waits for the next due save.
        let defer = large
            && self
                .last_large_save
                .is_some_and(|at| at.elapsed() < LARGE_SAVE_INTERVAL);
        let disk = if defer { None } else { self.disk.clone() };
        let sinks = self.sinks.clone();
        let (compiled_tx, compiled_rx) = tokio::sync::oneshot::channel();
        let task = tokio::task::spawn_blocking(move || {
            let result = compile_with(
                version,
                received.resources.values(),
                &previous,
                &sinks,
                keys_update,
            );
            let save = |received: &ReceivedConfig| {
                if let Some(disk) = &disk
                    && let Err(e) = disk.save(received)
                {
                    tracing::error!(error = %e, path = %disk.path().display(), "could not save the snapshot; serving it anyway");
                }
            };
            // A small configuration is on disk before it is acknowledged; a
            // large one (a million keys take ~0.3 s to write) is saved while
            // the ACK travels.
            if result.is_ok() && received.resources.len() <= SAVE_BEFORE_ACK_UP_TO {
                save(&received);
                let _ = compiled_tx.send(result);
            } else {
                let ok = result.is_ok();
                let _ = compiled_tx.send(result);
                if ok {
                    save(&received);
                }
            }
            received
        });
        let result = compiled_rx.await.expect("the compile task does not panic");
        self.saving = Some(task);
        if result.is_ok() && self.disk.is_some() {
            self.unsaved = defer;
            if large && !defer {
                self.last_large_save = Some(Instant::now());
            }
        } else if result.is_err() {
            // What is held now is the refused version (merged on top of the
            // applied one): a deferred save must not write it, or the node
            // would restart from a snapshot it refuses. The disk keeps the
            // last version saved.
            self.unsaved = false;
        }
        Ok(match result {
            Ok(tables) => {
                self.swap_in(tables);
                self.served_digest = Some(digest);
                self.ready.store(true, Ordering::Relaxed);
                self.keys_dirty = false;
                Outcome::Applied { version }
            }
            Err(e) => Outcome::Refused {
                version,
                error: e.to_string(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arc_swap::ArcSwap;
    use archway_proto::v1::config_resource::Resource as Body;
    use archway_proto::v1::{
        ApiProtocol, ConfigResource, Deployment, Integration, IntegrationType, Method,
        MockResponse, Resource, RestApi, Stage,
    };

    fn update(version: u64, mock_status: u32) -> ConfigUpdate {
        let res = |name: &str, body: Body| ConfigResource {
            name: name.into(),
            resource: Some(body),
        };
        ConfigUpdate {
            version,
            full: true,
            epoch: "e".into(),
            store_id: "s1".into(),
            upserts: vec![
                res(
                    "api/a",
                    Body::Api(RestApi {
                        id: "a".into(),
                        protocol: ApiProtocol::Rest as i32,
                        ..Default::default()
                    }),
                ),
                res(
                    &format!("deployment/a/d{version}"),
                    Body::Deployment(Deployment {
                        id: format!("d{version}"),
                        api_id: "a".into(),
                        resources: vec![Resource {
                            id: "r".into(),
                            path: "/".into(),
                            ..Default::default()
                        }],
                        methods: vec![Method {
                            resource_id: "r".into(),
                            http_method: "GET".into(),
                            integration: Some(Integration {
                                r#type: IntegrationType::Mock as i32,
                                mock: Some(MockResponse {
                                    status_code: mock_status,
                                    ..Default::default()
                                }),
                                ..Default::default()
                            }),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                ),
                res(
                    "stage/a/prod",
                    Body::Stage(Stage {
                        api_id: "a".into(),
                        stage_name: "prod".into(),
                        deployment_id: format!("d{version}"),
                        ..Default::default()
                    }),
                ),
            ],
            ..Default::default()
        }
    }

    fn test_seal_key() -> Arc<archway_proto::sealing::SealingKey> {
        Arc::new(archway_proto::sealing::SealingKey::from_bytes(&[3; 32]))
    }

    /// A fresh applier serving an empty table, saving to a temporary folder.
    fn applier_with_disk() -> (tempfile::TempDir, SharedTables, SnapshotFile, ConfigApplier) {
        let dir = tempfile::tempdir().unwrap();
        let tables: SharedTables = Arc::new(ArcSwap::from_pointee(RuntimeTables::empty()));
        let disk = SnapshotFile::new(dir.path(), test_seal_key());
        let applier = ConfigApplier::new(tables.clone(), Some(disk.clone()), Arc::default());
        (dir, tables, disk, applier)
    }

    #[tokio::test]
    async fn a_version_that_does_not_compile_is_refused_and_never_served() {
        let (_dir, tables, disk, mut applier) = applier_with_disk();

        assert_eq!(
            applier.apply(update(1, 200)).await.unwrap(),
            Outcome::Applied { version: 1 }
        );
        let served = tables.load_full();

        let refused = applier.apply(update(2, 1000)).await.unwrap();
        assert!(
            matches!(refused, Outcome::Refused { version: 2, ref error } if error.contains("mock.status_code"))
        );
        // Still serving version 1, from memory and from disk.
        applier.settle().await;
        assert!(Arc::ptr_eq(&served, &tables.load_full()));
        assert_eq!(applier.applied_version(), 1);
        assert_eq!(applier.received().0, 2);
        assert_eq!(disk.load().unwrap().unwrap().version, 1);

        // A restarted node serves what was saved.
        let restored: SharedTables = Arc::new(ArcSwap::from_pointee(RuntimeTables::empty()));
        let mut fresh = ConfigApplier::new(restored.clone(), Some(disk), Arc::default());
        assert_eq!(fresh.restore_from_disk().unwrap(), Some(1));
        assert!(restored.load().apis["a"].stages.contains_key("prod"));
    }
    /// `update(version, 200)` plus enough API keys to count as large.
    fn large_update(version: u64) -> ConfigUpdate {
        let mut u = update(version, 200);
        for i in 0..=SAVE_BEFORE_ACK_UP_TO {
            u.upserts.push(ConfigResource {
                name: format!("apikey/k{i}"),
                resource: Some(Body::ApiKey(archway_proto::v1::ApiKey {
                    id: format!("k{i}"),
                    enabled: true,
                    value_hash: {
                        use sha2::Digest;
                        sha2::Sha256::digest(i.to_be_bytes()).to_vec()
                    },
                    ..Default::default()
                })),
            });
        }
        u
    }

    #[tokio::test]
    async fn large_configurations_are_saved_at_most_every_interval() {
        let (_dir, tables, disk, mut applier) = applier_with_disk();
        let saved = |disk: &SnapshotFile| disk.load().unwrap().map(|s| s.version);

        applier.apply(large_update(1)).await.unwrap();
        applier.settle().await;
        assert_eq!(saved(&disk), Some(1), "the first large version is saved");
        // Right after: served, acknowledged, but its save is deferred.
        assert_eq!(
            applier.apply(large_update(2)).await.unwrap(),
            Outcome::Applied { version: 2 }
        );
        applier.settle().await;
        assert_eq!(tables.load().version(), 2);
        assert_eq!(saved(&disk), Some(1));
        applier.save_deferred(false).await;
        applier.settle().await;
        assert_eq!(saved(&disk), Some(1), "not due yet");
        // At shutdown (or once due) the deferred version reaches the disk.
        applier.save_deferred(true).await;
        assert_eq!(saved(&disk), Some(2));
    }

    #[tokio::test]
    async fn a_refused_version_is_never_saved_in_place_of_a_deferred_one() {
        let (_dir, _tables, disk, mut applier) = applier_with_disk();
        let saved = |disk: &SnapshotFile| disk.load().unwrap().map(|s| s.version);

        applier.apply(large_update(1)).await.unwrap();
        applier.apply(large_update(2)).await.unwrap();
        applier.settle().await;
        assert_eq!(saved(&disk), Some(1), "version 2's save is deferred");
        // Version 3 does not compile (mock status 1000): refused.
        let mut bad = large_update(3);
        bad.upserts.extend(update(3, 1000).upserts);
        assert!(matches!(
            applier.apply(bad).await.unwrap(),
            Outcome::Refused { version: 3, .. }
        ));
        applier.save_deferred(true).await;
        assert_ne!(
            saved(&disk),
            Some(3),
            "the refused version never reaches the disk"
        );
        // A restarted node serves what is on disk.
        let restored: SharedTables = Arc::new(ArcSwap::from_pointee(RuntimeTables::empty()));
        let mut fresh = ConfigApplier::new(restored, Some(disk), Arc::default());
        assert_eq!(fresh.restore_from_disk().unwrap(), Some(1));
    }

    #[tokio::test]
    async fn a_foreign_store_is_refused_and_the_node_keeps_serving() {
        let (_dir, tables, disk, mut applier) = applier_with_disk();
        applier.apply(update(1, 200)).await.unwrap();
        let served = tables.load_full();
        let mut foreign = update(2, 201);
        foreign.store_id = "s2".into();
        foreign.epoch = "other".into();
        let outcome = applier.apply(foreign).await.unwrap();
        assert!(
            matches!(outcome, Outcome::Refused { version: 2, ref error } if error.contains("--adopt-store s2")),
            "{outcome:?}"
        );
        applier.settle().await;
        assert!(Arc::ptr_eq(&served, &tables.load_full()));
        assert_eq!(disk.load().unwrap().unwrap().store_id, "s1");

        // Told to adopt it, the node takes it.
        let adopted = ConfigApplier::new(tables.clone(), Some(disk), Arc::default())
            .with_guard(StoreGuard::new(Some("s2".into())));
        let mut adopted = adopted;
        assert_eq!(adopted.restore_from_disk().unwrap(), Some(1));
        let mut foreign = update(3, 201);
        foreign.store_id = "s2".into();
        assert_eq!(
            adopted.apply(foreign).await.unwrap(),
            Outcome::Applied { version: 3 }
        );
    }

    #[tokio::test]
    async fn the_same_content_is_relabelled_without_compiling() {
        let (_dir, tables, disk, mut applier) = applier_with_disk();
        applier.apply(update(1, 200)).await.unwrap();
        applier.settle().await;
        let served = tables.load_full();
        let relabel = ConfigUpdate {
            version: 9,
            base_version: 1,
            epoch: "restarted".into(),
            store_id: "s1".into(),
            same_content: true,
            ..Default::default()
        };
        assert_eq!(
            applier.apply(relabel).await.unwrap(),
            Outcome::Relabelled { version: 9 }
        );
        assert!(Arc::ptr_eq(&served, &tables.load_full()), "nothing swapped");
        assert_eq!(applier.applied_version(), 9);
        assert_eq!(applier.received(), (9, "restarted"));
        applier.save_deferred(true).await;
        let saved = disk.load().unwrap().unwrap();
        assert_eq!((saved.version, saved.epoch.as_str()), (9, "restarted"));
        // Deltas now apply on the new name.
        let mut next = update(10, 202);
        next.full = false;
        next.base_version = 9;
        next.epoch = "restarted".into();
        assert_eq!(
            applier.apply(next).await.unwrap(),
            Outcome::Applied { version: 10 }
        );
    }

    #[tokio::test]
    async fn a_relabel_of_refused_content_is_refused_whatever_the_version_numbers() {
        let (_dir, tables, _disk, mut applier) = applier_with_disk();
        applier.apply(update(40, 200)).await.unwrap();
        // A new control plane sends content this node refuses, under the
        // same version number in another epoch.
        // (Another deployment: deployments are immutable, so one of the
        // same name would be reused, not compiled again.)
        let mut refused = update(41, 1000);
        refused.version = 40;
        refused.epoch = "b".into();
        assert!(matches!(
            applier.apply(refused).await.unwrap(),
            Outcome::Refused { .. }
        ));
        let served = tables.load_full();
        let relabel = ConfigUpdate {
            version: 40,
            base_version: 40,
            epoch: "c".into(),
            store_id: "s1".into(),
            same_content: true,
            ..Default::default()
        };
        assert!(matches!(
            applier.apply(relabel).await.unwrap(),
            Outcome::Refused { version: 40, .. }
        ));
        assert!(Arc::ptr_eq(&served, &tables.load_full()));
    }
}
