//! Which store a data directory holds, and whether the control plane may
//! open it.
//!
//! The failure this guards against: sled's `snap.*` files (or the whole
//! `store/` folder) go missing, sled opens an empty database without
//! complaint, and a control plane serving it would tell every node to drop
//! every API. So a store gets an identity when it is created, kept twice:
//! inside the store (`meta/store_id`) and beside it in `DATA_DIR/store-identity`.
//! On start the two must agree. A data directory that shows an earlier
//! control plane lived there (the identity file, the store folder, token
//! files) but whose store is empty or missing is refused with what is
//! wrong; a new store is created only in an empty data directory or when
//! the operator says `--init`, which moves a damaged store aside instead of
//! deleting it.
//!
//! Nodes keep the identity with their saved configuration and refuse a
//! configuration from another store (see `ConfigUpdate.store_id`), so even
//! a data directory lost whole (a new identity) cannot empty the fleet.

use super::{Store, StoreError};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// The file beside the store that names its identity.
pub const IDENTITY_FILE: &str = "store-identity";
/// The store's folder inside the data directory.
pub const STORE_DIR: &str = "store";
/// Files that show a control plane used this data directory before.
const EARLIER_STATE: &[&str] = &[STORE_DIR, IDENTITY_FILE, "admin-token", "node-token"];

/// How to open the data directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OpenMode {
    /// Open the store that is there; create one only in an empty directory.
    #[default]
    Existing,
    /// Create a new, empty store where none is usable (`--init`): a
    /// missing, empty or corrupt store is moved aside; a healthy one is
    /// never replaced (the start fails, saying so).
    Init,
}

/// An opened store and what happened on the way.
pub struct OpenedStore {
    pub store: std::sync::Arc<Store>,
    pub id: String,
    /// A new store was created.
    pub created: bool,
}

impl std::fmt::Debug for OpenedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedStore")
            .field("id", &self.id)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

/// Opens (or, where allowed, creates) the store in `data_dir`.
pub async fn open(data_dir: &Path, mode: OpenMode) -> anyhow::Result<OpenedStore> {
    let store_dir = data_dir.join(STORE_DIR);
    let id_file = data_dir.join(IDENTITY_FILE);
    let earlier: Vec<&str> = EARLIER_STATE
        .iter()
        .copied()
        .filter(|name| data_dir.join(name).exists())
        .collect();
    let file_id = read_identity_file(&id_file)?;

    if earlier.is_empty() {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        return create(data_dir, &store_dir, &id_file).await;
    }
    if mode == OpenMode::Init {
        return init_over(data_dir, &store_dir, &id_file, file_id).await;
    }
    if !store_dir.is_dir() {
        anyhow::bail!(
            "{} holds state of an earlier control plane ({}) but no store folder {}: \
             it was lost or moved. Restore it from a backup, or start with --init to create \
             a new, empty store (nodes keep serving their configuration and refuse the new \
             store until told to adopt it)",
            data_dir.display(),
            earlier.join(", "),
            store_dir.display()
        );
    }
    let store = std::sync::Arc::new(open_sled(&store_dir)?);
    let store_id = store.identity();
    let revision = store.revision();
    match (file_id, store_id) {
        (Some(file), Some(inner)) if file == inner => Ok(OpenedStore {
            store,
            id: inner,
            created: false,
        }),
        (Some(file), Some(inner)) => anyhow::bail!(
            "{} names store {file} but {} holds store {inner}: the folder comes from \
             another data directory. Put the matching files together, or start with --init",
            id_file.display(),
            store_dir.display()
        ),
        (Some(file), None) => anyhow::bail!(
            "the store in {} holds no data (revision {revision}) but {} says it held store \
             {file}: its files were lost or damaged (sled's snap.* files missing?). Restore \
             them from a backup, or start with --init to create a new, empty store",
            store_dir.display(),
            id_file.display()
        ),
        (None, Some(inner)) => {
            // The store is intact; only the file beside it went missing.
            write_identity_file(&id_file, &inner)?;
            tracing::warn!(store = %inner, file = %id_file.display(), "the store identity file was missing; wrote it again from the store");
            Ok(OpenedStore {
                store,
                id: inner,
                created: false,
            })
        }
        (None, None) if revision > 0 => {
            // A store made before stores had identities: give it one.
            let id = new_identity();
            store.set_identity(&id).await?;
            write_identity_file(&id_file, &id)?;
            tracing::info!(store = %id, "gave the existing store an identity");
            Ok(OpenedStore {
                store,
                id,
                created: false,
            })
        }
        (None, None) => anyhow::bail!(
            "the store in {} is empty, but {} holds files of an earlier control plane \
             ({}): the store's files were lost or damaged. Restore them from a backup, or \
             start with --init to create a new, empty store",
            store_dir.display(),
            data_dir.display(),
            earlier.join(", ")
        ),
    }
}

/// `--init` where something was there before: a healthy store is never
/// replaced; a damaged or empty one is moved aside, not deleted.
async fn init_over(
    data_dir: &Path,
    store_dir: &Path,
    id_file: &Path,
    file_id: Option<String>,
) -> anyhow::Result<OpenedStore> {
    if store_dir.is_dir() {
        let healthy = match Store::open(store_dir) {
            Ok(store) => {
                let id = store.identity();
                let revision = store.revision();
                (id.is_some() || revision > 0).then(|| (id.unwrap_or_default(), revision))
            }
            // Only a store sled reads as corrupt is moved aside. Any other
            // failure (another control plane holds its lock, an I/O error,
            // too many open files) says nothing about the store: replacing
            // it then could hide a live one.
            Err(StoreError::Sled(sled::Error::Corruption { .. })) => None,
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "--init: could not open {} to see whether it is usable (is another control plane running on it?)",
                    store_dir.display()
                )));
            }
        };
        if let Some((id, revision)) = healthy {
            anyhow::bail!(
                "--init: {} already holds store {id} (revision {revision}); --init only \
                 creates a store where none is usable. Move the folder away first to replace it",
                store_dir.display()
            );
        }
    }
    let suffix = format!("lost-{}", crate::ids::now_ms());
    for path in [store_dir, id_file] {
        if path.exists() {
            let aside = PathBuf::from(format!("{}.{suffix}", path.display()));
            std::fs::rename(path, &aside).with_context(|| {
                format!("moving {} aside to {}", path.display(), aside.display())
            })?;
            tracing::warn!(from = %path.display(), to = %aside.display(), "moved the unusable store aside");
        }
    }
    if let Some(old) = file_id {
        tracing::warn!(old_store = %old, "--init: creating a new store in place of store {old}; nodes refuse it until told to adopt it");
    }
    create(data_dir, store_dir, id_file).await
}

async fn create(data_dir: &Path, store_dir: &Path, id_file: &Path) -> anyhow::Result<OpenedStore> {
    let store = std::sync::Arc::new(open_sled(store_dir)?);
    anyhow::ensure!(
        store.identity().is_none() && store.revision() == 0,
        "{} is not empty: refusing to create a store over it",
        store_dir.display()
    );
    let id = new_identity();
    store.set_identity(&id).await?;
    write_identity_file(id_file, &id)?;
    tracing::info!(store = %id, dir = %data_dir.display(), "created a new store");
    Ok(OpenedStore {
        store,
        id,
        created: true,
    })
}

fn open_sled(store_dir: &Path) -> anyhow::Result<Store> {
    Store::open(store_dir).with_context(|| {
        format!(
            "opening the store in {} (damaged? restore it from a backup, or start with --init)",
            store_dir.display()
        )
    })
}

/// Opens the store under an etcd prefix, shared by every replica. There is
/// no data directory to compare with: the identity lives only in etcd, and
/// the first replica to find the prefix empty creates it (the others find
/// it there). A wiped cluster therefore gets a new identity, which every
/// node refuses until told to adopt it, as with a lost sled store.
#[cfg(feature = "etcd")]
pub async fn open_etcd(address: &super::etcd::EtcdAddress) -> anyhow::Result<OpenedStore> {
    let store = Store::open_etcd(address)
        .await
        .with_context(|| format!("opening the store at {address}"))?;
    if let Some(id) = store.identity() {
        return Ok(OpenedStore {
            store,
            id,
            created: false,
        });
    }
    let ours = new_identity();
    let id = store.set_identity(&ours).await?;
    let created = id == ours && store.revision() == 0;
    if created {
        tracing::info!(store = %id, at = %address, "created a new store");
    }
    Ok(OpenedStore { store, id, created })
}

/// 128 random bits, as 32 hex characters.
fn new_identity() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source");
    crate::api_keys::hex(&bytes)
}

fn read_identity_file(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let id = text.trim();
            anyhow::ensure!(
                !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()),
                "{} does not hold a store identity",
                path.display()
            );
            Ok(Some(id.to_owned()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

pub(crate) fn write_identity_file(path: &Path, id: &str) -> anyhow::Result<()> {
    crate::secrets::create_private(path, &format!("{id}\n"))
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn first_start(dir: &Path) -> String {
        let opened = open(dir, OpenMode::Existing).await.unwrap();
        assert!(opened.created);
        // Something written, as a running control plane would.
        opened
            .store
            .write(|txn| {
                txn.put_raw("api/a", b"x");
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        std::fs::write(dir.join("admin-token"), "t").unwrap();
        opened.id
    }

    #[tokio::test]
    async fn an_empty_data_dir_gets_a_new_store_and_reopens_as_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let id = first_start(dir.path()).await;
        let again = open(dir.path(), OpenMode::Existing).await.unwrap();
        assert!(!again.created);
        assert_eq!(again.id, id);
        assert_eq!(
            std::fs::read_to_string(dir.path().join(IDENTITY_FILE))
                .unwrap()
                .trim(),
            id
        );
    }

    #[tokio::test]
    async fn a_store_whose_sled_files_were_lost_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        first_start(dir.path()).await;
        // What an operator saw: sled's files gone, sled opens empty.
        let store_dir = dir.path().join(STORE_DIR);
        std::fs::remove_dir_all(&store_dir).unwrap();
        std::fs::create_dir_all(&store_dir).unwrap();
        let err = open(dir.path(), OpenMode::Existing).await.unwrap_err();
        let message = format!("{err:#}");
        assert!(message.contains("holds no data"), "{message}");
        assert!(message.contains("--init"), "{message}");
    }

    #[tokio::test]
    async fn a_missing_store_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        first_start(dir.path()).await;
        std::fs::remove_dir_all(dir.path().join(STORE_DIR)).unwrap();
        let message = format!(
            "{:#}",
            open(dir.path(), OpenMode::Existing).await.unwrap_err()
        );
        assert!(message.contains("no store folder"), "{message}");
        // Token files alone are enough to show a store lived here.
        std::fs::remove_file(dir.path().join(IDENTITY_FILE)).unwrap();
        assert!(open(dir.path(), OpenMode::Existing).await.is_err());
    }

    #[tokio::test]
    async fn a_store_from_another_data_dir_is_refused() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        first_start(a.path()).await;
        first_start(b.path()).await;
        std::fs::remove_dir_all(a.path().join(STORE_DIR)).unwrap();
        std::fs::rename(b.path().join(STORE_DIR), a.path().join(STORE_DIR)).unwrap();
        let message = format!(
            "{:#}",
            open(a.path(), OpenMode::Existing).await.unwrap_err()
        );
        assert!(message.contains("another data directory"), "{message}");
    }

    #[tokio::test]
    async fn init_moves_a_damaged_store_aside_and_never_replaces_a_healthy_one() {
        let dir = tempfile::tempdir().unwrap();
        let old = first_start(dir.path()).await;
        let message = format!("{:#}", open(dir.path(), OpenMode::Init).await.unwrap_err());
        assert!(message.contains("already holds store"), "{message}");

        let store_dir = dir.path().join(STORE_DIR);
        std::fs::remove_dir_all(&store_dir).unwrap();
        std::fs::create_dir_all(&store_dir).unwrap();
        std::fs::write(store_dir.join("marker"), "left by the old store").unwrap();
        let fresh = open(dir.path(), OpenMode::Init).await.unwrap();
        assert!(fresh.created);
        assert_ne!(fresh.id, old);
        let aside: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".lost-"))
            .collect();
        assert_eq!(aside.len(), 2, "the store and its identity file: {aside:?}");
    }

    #[tokio::test]
    async fn a_lost_identity_file_is_written_again_from_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let id = first_start(dir.path()).await;
        std::fs::remove_file(dir.path().join(IDENTITY_FILE)).unwrap();
        assert_eq!(open(dir.path(), OpenMode::Existing).await.unwrap().id, id);
        assert!(dir.path().join(IDENTITY_FILE).exists());
    }
}
