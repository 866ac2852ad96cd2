//! Durable configuration storage on sled.
//!
//! All resources live in one sled tree under typed key prefixes (`api/`,
//! `res/`, `meth/`, `dep/`, `stage/`) with a monotonic revision under
//! `meta/revision`. One tree rather than one per kind lets every admin write —
//! which often touches several kinds, e.g. a deployment plus its stage — go in
//! as a single atomic `sled::Batch` together with the revision bump. A write
//! returns only after sled has flushed it to disk.
//!
//! sled is confined to this module; the rest of the control plane sees typed
//! reads and a [`Txn`] to write through.

pub mod identity;
pub mod keys;

use prost::Message;
use std::path::Path;

const REVISION_KEY: &[u8] = b"meta/revision";
/// The store's identity, made once when it is created (see [`identity`]).
const STORE_ID_KEY: &[u8] = b"meta/store_id";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    #[error("corrupt record at {key}: {source}")]
    Decode {
        key: String,
        source: prost::DecodeError,
    },
}

/// The configuration store. Reads are lock-free; writes are serialized.
pub struct Store {
    db: sled::Db,
    tree: sled::Tree,
    write_lock: tokio::sync::Mutex<()>,
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new().path(path).open()?;
        let tree = db.open_tree("config")?;
        Ok(Self {
            db,
            tree,
            write_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The revision of the last committed write (0 for an empty store).
    pub fn revision(&self) -> Result<u64, StoreError> {
        Ok(self
            .tree
            .get(REVISION_KEY)?
            .map(|v| decode_u64(&v))
            .unwrap_or(0))
    }

    /// The identity given to this store when it was created; None for an
    /// empty store (or one made before stores had identities).
    pub fn identity(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .tree
            .get(STORE_ID_KEY)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Records the store's identity durably. Not a configuration change:
    /// the revision stays as it is.
    pub(crate) async fn set_identity(&self, id: &str) -> Result<(), StoreError> {
        let _guard = self.write_lock.lock().await;
        self.tree.insert(STORE_ID_KEY, id.as_bytes())?;
        self.db.flush_async().await?;
        Ok(())
    }

    pub fn get<M: Message + Default>(&self, key: &str) -> Result<Option<M>, StoreError> {
        match self.tree.get(key.as_bytes())? {
            Some(bytes) => decode(key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    pub fn get_raw(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree.get(key.as_bytes())?.map(|v| v.to_vec()))
    }

    /// Every (key, raw value) under `prefix`, in key order.
    pub fn scan_raw(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.tree
            .scan_prefix(prefix.as_bytes())
            .map(|entry| {
                let (k, v) = entry?;
                Ok((String::from_utf8_lossy(&k).into_owned(), v.to_vec()))
            })
            .collect()
    }

    /// Every (key, raw value) from `first` to `last` inclusive, in key order.
    pub fn range_raw(&self, first: &str, last: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.tree
            .range(first.as_bytes()..=last.as_bytes())
            .map(|entry| {
                let (k, v) = entry?;
                Ok((String::from_utf8_lossy(&k).into_owned(), v.to_vec()))
            })
            .collect()
    }

    /// Every record under `prefix`, in key order.
    pub fn scan<M: Message + Default>(&self, prefix: &str) -> Result<Vec<M>, StoreError> {
        self.tree
            .scan_prefix(prefix.as_bytes())
            .map(|entry| {
                let (key, value) = entry?;
                decode(&String::from_utf8_lossy(&key), &value)
            })
            .collect()
    }

    /// Runs `f` over a read-only view of the committed state, without waiting
    /// for writers.
    pub fn read<T, E>(&self, f: impl FnOnce(&Txn<'_>) -> Result<T, E>) -> Result<T, E> {
        let view = Txn {
            store: self,
            batch: sled::Batch::default(),
            dirty: false,
        };
        f(&view)
    }

    /// Runs `f` with exclusive write access, then commits what it staged in
    /// one atomic batch with the next revision and waits until it is on disk.
    /// When `f` fails nothing is written. Returns `f`'s value and the new
    /// revision (unchanged when `f` staged nothing).
    pub async fn write<T, E>(
        &self,
        f: impl FnOnce(&mut Txn<'_>) -> Result<T, E>,
    ) -> Result<(T, u64), E>
    where
        E: From<StoreError>,
    {
        let _guard = self.write_lock.lock().await;
        let mut txn = Txn {
            store: self,
            batch: sled::Batch::default(),
            dirty: false,
        };
        let value = f(&mut txn)?;
        let revision = self.revision()?;
        if !txn.dirty {
            return Ok((value, revision));
        }
        let revision = revision + 1;
        let mut batch = txn.batch;
        batch.insert(REVISION_KEY, &revision.to_be_bytes());
        self.tree.apply_batch(batch).map_err(StoreError::from)?;
        self.db.flush_async().await.map_err(StoreError::from)?;
        Ok((value, revision))
    }
}

/// A write in progress: reads see the committed state; puts and deletes are
/// staged until [`Store::write`] commits them.
pub struct Txn<'a> {
    store: &'a Store,
    batch: sled::Batch,
    dirty: bool,
}

impl Txn<'_> {
    pub fn get<M: Message + Default>(&self, key: &str) -> Result<Option<M>, StoreError> {
        self.store.get(key)
    }

    pub fn scan<M: Message + Default>(&self, prefix: &str) -> Result<Vec<M>, StoreError> {
        self.store.scan(prefix)
    }

    pub fn get_raw(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get_raw(key)
    }

    pub fn scan_raw(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.store.scan_raw(prefix)
    }

    pub fn put_raw(&mut self, key: &str, value: &[u8]) {
        self.batch.insert(key.as_bytes(), value);
        self.dirty = true;
    }

    pub fn put(&mut self, key: &str, value: &impl Message) {
        self.batch.insert(key.as_bytes(), value.encode_to_vec());
        self.dirty = true;
    }

    pub fn delete(&mut self, key: &str) {
        self.batch.remove(key.as_bytes());
        self.dirty = true;
    }

    /// Stages the deletion of every key under `prefix`.
    pub fn delete_prefix(&mut self, prefix: &str) -> Result<(), StoreError> {
        for entry in self.store.tree.scan_prefix(prefix.as_bytes()) {
            let (key, _) = entry?;
            self.batch.remove(key);
            self.dirty = true;
        }
        Ok(())
    }
}

fn decode<M: Message + Default>(key: &str, bytes: &[u8]) -> Result<M, StoreError> {
    M::decode(bytes).map_err(|source| StoreError::Decode {
        key: key.to_owned(),
        source,
    })
}

fn decode_u64(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_proto::v1::RestApi;

    #[tokio::test]
    async fn writes_survive_reopening_and_bump_the_revision() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let api = RestApi {
                id: "a1".into(),
                name: "pets".into(),
                ..Default::default()
            };
            let ((), rev) = store
                .write(|txn| {
                    txn.put(&keys::api("a1"), &api);
                    Ok::<_, StoreError>(())
                })
                .await
                .unwrap();
            assert_eq!(rev, 1);
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.revision().unwrap(), 1);
        let api: RestApi = store.get(&keys::api("a1")).unwrap().unwrap();
        assert_eq!(api.name, "pets");
    }

    #[tokio::test]
    async fn a_failed_write_stages_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let result: Result<((), u64), StoreError> = store
            .write(|txn| {
                txn.put("api/x", &RestApi::default());
                Err(StoreError::Sled(sled::Error::Unsupported("test".into())))
            })
            .await;
        assert!(result.is_err());
        assert!(store.get::<RestApi>("api/x").unwrap().is_none());
        assert_eq!(store.revision().unwrap(), 0);
    }
}
