//! Moving a whole store to another backend (`archwayctl store copy`), for
//! an installation that outgrows one machine: sled to etcd, or back.
//!
//! Everything is copied as it is, the store's identity and revision
//! included, so nodes take the copy as the same store (they refuse another
//! store's configuration) and the control planes on it continue the same
//! version numbering. The copy is offline: the source's control plane must
//! be stopped (sled's lock makes sure of it), and the destination must be
//! empty. Afterwards both sides are read back and compared by a count and
//! a SHA-256 over every key and value in order.

use super::{Store, StoreError};
use anyhow::Context;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;

/// One side of a copy: `sled:DATA_DIR` (the control plane's `--data-dir`,
/// whose `store/` folder holds sled) or `etcd://…` (as `--store`).
#[derive(Debug, Clone)]
pub enum Location {
    Sled(PathBuf),
    #[cfg(feature = "etcd")]
    Etcd(super::etcd::EtcdAddress),
}

impl std::str::FromStr for Location {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if let Some(dir) = text.strip_prefix("sled:") {
            if dir.is_empty() {
                return Err("sled: needs the data directory, e.g. sled:/var/lib/archway".into());
            }
            return Ok(Self::Sled(PathBuf::from(dir)));
        }
        #[cfg(feature = "etcd")]
        if text.starts_with("etcd://") {
            return text.parse().map(Self::Etcd);
        }
        Err(format!(
            "'{text}': a store is sled:DATA_DIR or etcd://HOST:PORT[,HOST:PORT...][/PREFIX]"
        ))
    }
}

impl Location {
    fn sled_dir(&self) -> Option<&std::path::Path> {
        match self {
            Self::Sled(dir) => Some(dir),
            #[cfg(feature = "etcd")]
            Self::Etcd(_) => None,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sled(dir) => write!(f, "sled:{}", dir.display()),
            #[cfg(feature = "etcd")]
            Self::Etcd(address) => address.fmt(f),
        }
    }
}

/// What a store holds, in two numbers that any difference changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub keys: usize,
    /// SHA-256 over every (key, value) in key order, each length-prefixed,
    /// as hex.
    pub sha256: String,
    pub revision: u64,
    pub store_id: Option<String>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} keys, revision {}, store {}, sha256 {}",
            self.keys,
            self.revision,
            self.store_id.as_deref().unwrap_or("(none)"),
            self.sha256
        )
    }
}

impl Summary {
    pub fn of(store: &Store) -> Self {
        let view = store.view();
        let mut hash = Sha256::new();
        let mut keys = 0;
        for (key, value) in view.entries.iter() {
            hash.update((key.len() as u64).to_be_bytes());
            hash.update(key);
            hash.update((value.len() as u64).to_be_bytes());
            hash.update(value);
            keys += 1;
        }
        Self {
            keys,
            sha256: crate::api_keys::hex(&hash.finalize()),
            revision: view.revision(),
            store_id: view.identity(),
        }
    }
}

/// Opens a location for reading or writing.
async fn open(location: &Location) -> anyhow::Result<Arc<Store>> {
    match location {
        Location::Sled(dir) => {
            let store_dir = dir.join(super::identity::STORE_DIR);
            Ok(Arc::new(Store::open(&store_dir).with_context(|| {
                format!(
                    "opening {} (is a control plane still running on it? stop it first)",
                    store_dir.display()
                )
            })?))
        }
        #[cfg(feature = "etcd")]
        Location::Etcd(address) => Store::open_etcd(address)
            .await
            .with_context(|| format!("opening {address}")),
    }
}

/// Copies everything from `from` into the empty `to`, then reads `to` back
/// from scratch and checks it holds the same. Returns the source's summary.
pub async fn copy(from: &Location, to: &Location) -> anyhow::Result<Summary> {
    if let Some(dir) = from.sled_dir() {
        anyhow::ensure!(
            dir.join(super::identity::STORE_DIR).is_dir(),
            "{from}: no store folder {} (give the control plane's --data-dir)",
            dir.join(super::identity::STORE_DIR).display()
        );
    }
    let source = open(from).await?;
    let expected = Summary::of(&source);
    anyhow::ensure!(expected.keys > 0, "{from} holds nothing to copy");
    {
        let destination = open(to).await?;
        let already = Summary::of(&destination);
        anyhow::ensure!(
            already.keys == 0,
            "{to} already holds a store ({already}): a copy goes only into an empty store"
        );
        let view = source.view();
        destination
            .fill(view.entries.iter().map(|(k, v)| (k.clone(), v.clone())))
            .await
            .with_context(|| format!("writing into {to}"))?;
    }
    if let (Some(dir), Some(id)) = (to.sled_dir(), &expected.store_id) {
        super::identity::write_identity_file(&dir.join(super::identity::IDENTITY_FILE), id)?;
    }
    drop(source);
    // Read back through a store opened anew, not the copy in memory.
    let written = Summary::of(&*open(to).await?);
    anyhow::ensure!(
        written == expected,
        "the copy differs from the source: {from} holds {expected}, {to} holds {written}"
    );
    Ok(expected)
}

impl Store {
    /// Writes `entries` as they are into this empty store: no revision is
    /// added (the entries carry theirs). On etcd in transactions of a
    /// bounded size, the revision counter last, so replicas started on a
    /// half-done copy see no revision and refuse to serve it as a store.
    pub(crate) async fn fill(
        &self,
        entries: impl Iterator<Item = (sled::IVec, sled::IVec)>,
    ) -> Result<(), StoreError> {
        let _guard = self.write_lock.lock().await;
        let mut staged = super::Staged::new();
        let mut next = super::Entries::new();
        for (key, value) in entries {
            next.insert(key.clone(), value.clone());
            staged.insert(key, Some(value));
        }
        match &self.backend {
            super::Backend::Sled { .. } => self.commit_sled(&staged, next).await,
            #[cfg(feature = "etcd")]
            super::Backend::Etcd(etcd) => {
                let revision = staged.remove(super::REVISION_KEY);
                etcd.put_in_chunks(staged.iter()).await?;
                if let Some(Some(revision)) = revision {
                    let mut last = super::Staged::new();
                    last.insert(sled::IVec::from(super::REVISION_KEY), Some(revision));
                    etcd.put_in_chunks(last.iter()).await?;
                }
                self.publish_entries(next);
                Ok(())
            }
        }
    }
}
