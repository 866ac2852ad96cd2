//! Durable configuration storage on sled.
//!
//! All resources live in one sled tree under typed key prefixes (`api/`,
//! `res/`, `meth/`, `dep/`, `stage/`) with a monotonic revision under
//! `meta/revision`. One tree rather than one per kind lets every admin write —
//! which often touches several kinds, e.g. a deployment plus its stage — go in
//! as a single atomic `sled::Batch` together with the revision bump. A write
//! returns only after sled has flushed it to disk.
//!
//! Reads go to an immutable in-memory copy of the tree, one committed batch
//! at a time (see [`Store`]), never to sled itself: sled has no snapshot
//! reads, and a logical read (a snapshot build, a handler's checks) must not
//! straddle a concurrent write.
//!
//! sled is confined to this module; the rest of the control plane reads
//! through a [`View`] and writes through a [`Txn`].

pub mod copy;
#[cfg(feature = "etcd")]
pub mod etcd;
pub mod identity;
pub mod keys;

use arc_swap::ArcSwap;
use imbl::OrdMap;
use prost::Message;
use sled::IVec;
use std::collections::BTreeMap;
use std::ops::{Bound, Deref};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::watch;

const REVISION_KEY: &[u8] = b"meta/revision";
/// The store's identity, made once when it is created (see [`identity`]).
const STORE_ID_KEY: &[u8] = b"meta/store_id";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    /// The etcd cluster could not be reached or refused the write; nothing
    /// the caller asked for was written.
    #[error("store unavailable: {0}")]
    Etcd(String),
    /// Writes kept colliding with other replicas' for longer than a write
    /// may wait; nothing was written.
    #[error("store busy: {0}")]
    Contended(String),
    #[error("corrupt record at {key}: {source}")]
    Decode {
        key: String,
        source: prost::DecodeError,
    },
}

impl StoreError {
    /// Whether the store could not take the call now (worth retrying later,
    /// with nothing written), as opposed to a broken store.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Etcd(_) | Self::Contended(_))
    }
}

/// The whole tree at one committed batch: an immutable, structurally shared
/// map, so publishing a new one after a write copies O(log n) nodes, and a
/// reader holding an old one is never disturbed.
type Entries = OrdMap<IVec, IVec>;

/// A write's changes by key, the last one to each key winning: a value, or
/// None for a delete.
type Staged = BTreeMap<IVec, Option<IVec>>;

/// Where the durable copy lives.
enum Backend {
    Sled {
        db: sled::Db,
        tree: sled::Tree,
    },
    /// Boxed: the client is several times sled's two handles.
    #[cfg(feature = "etcd")]
    Etcd(Box<etcd::Etcd>),
}

/// How long a write keeps running again on a newer copy, while other
/// replicas' writes keep coming first, before the caller is told to retry.
/// A time, not a count: a replica whose writes wait for the watch loses
/// every race to a busy replica that writes on its own fresh copy (seen in
/// the racing-writers test, 20 losses in a row), until that one pauses.
#[cfg(feature = "etcd")]
const CONTENDED_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// The configuration store.
///
/// sled has no snapshot reads: two gets (or a scan and a get) straight from
/// its tree can land on either side of a batch committed between them, so a
/// reader could see a deployment without the stage that points at it. So
/// the store keeps an immutable copy of the tree in memory, loaded at open
/// and replaced through an [`ArcSwap`] after each committed batch. Every read
/// works on one such [`View`]; it never waits for writers and never sees
/// half of a batch. sled stays the durable copy: a batch goes to sled first
/// and is published only after it is flushed. Writes are serialized.
///
/// The configuration is small next to memory (it is all sent to every node
/// anyway), and sled caches the same pages; the copy shares the values'
/// buffers with sled where sled hands them out (`IVec` is reference counted).
///
/// On etcd ([`etcd`]) the copy works the same way; versions also arrive
/// from other replicas' writes, through a watch.
pub struct Store {
    backend: Backend,
    committed: ArcSwap<Entries>,
    write_lock: tokio::sync::Mutex<()>,
    /// The revision of the newest published version, whoever wrote it: the
    /// fleet's configuration follows this.
    published: watch::Sender<u64>,
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = open_db(path)?;
        let tree = db.open_tree("config")?;
        let mut entries = Entries::new();
        for entry in tree.iter() {
            let (key, value) = entry?;
            entries.insert(key, value);
        }
        Ok(Self::with(Backend::Sled { db, tree }, entries))
    }

    fn with(backend: Backend, entries: Entries) -> Self {
        let revision = revision_of(&entries);
        Self {
            backend,
            committed: ArcSwap::from_pointee(entries),
            write_lock: tokio::sync::Mutex::new(()),
            published: watch::channel(revision).0,
        }
    }

    /// Connects to etcd, loads the store under the address's prefix and
    /// follows other replicas' writes from then on, for as long as the
    /// store is in use.
    #[cfg(feature = "etcd")]
    pub async fn open_etcd(address: &etcd::EtcdAddress) -> Result<Arc<Self>, StoreError> {
        let (backend, entries) = etcd::Etcd::connect(address).await?;
        let store = Arc::new(Self::with(Backend::Etcd(Box::new(backend)), entries));
        Self::spawn_follower(&store);
        Ok(store)
    }

    /// A short description of where the store lives, for logs and errors.
    pub fn location(&self) -> String {
        match &self.backend {
            Backend::Sled { .. } => "sled".to_owned(),
            #[cfg(feature = "etcd")]
            Backend::Etcd(etcd) => etcd.address().to_string(),
        }
    }

    /// The etcd side of a shared store (None on sled).
    #[cfg(feature = "etcd")]
    pub fn etcd(&self) -> Option<&etcd::Etcd> {
        match &self.backend {
            Backend::Etcd(etcd) => Some(etcd),
            Backend::Sled { .. } => None,
        }
    }

    /// Whether several control planes may share this store (etcd): work that
    /// must run once then needs a leader.
    pub fn is_shared(&self) -> bool {
        !matches!(self.backend, Backend::Sled { .. })
    }

    /// The committed state as it is now: one version, however many reads
    /// are made through it. Hold it for one logical operation (a request, a
    /// snapshot build), not longer: it keeps that version's memory alive.
    pub fn view(&self) -> View {
        View {
            entries: self.committed.load_full(),
        }
    }

    /// Follows the revision of every version published from now on, by
    /// this process's writes and (on etcd) other replicas'.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.published.subscribe()
    }

    /// The revision of the last committed write (0 for an empty store).
    pub fn revision(&self) -> u64 {
        self.view().revision()
    }

    /// The identity given to this store when it was created; None for an
    /// empty store (or one made before stores had identities).
    pub fn identity(&self) -> Option<String> {
        self.view().identity()
    }

    /// Records the store's identity durably. Not a configuration change:
    /// the revision stays as it is. On a shared store only the first
    /// identity written counts: the identity the store holds afterwards is
    /// returned.
    pub(crate) async fn set_identity(&self, id: &str) -> Result<String, StoreError> {
        let _guard = self.write_lock.lock().await;
        let mut staged = Staged::new();
        staged.insert(IVec::from(STORE_ID_KEY), Some(IVec::from(id.as_bytes())));
        match &self.backend {
            Backend::Sled { .. } => {
                let mut next = Entries::clone(&self.committed.load());
                next.insert(IVec::from(STORE_ID_KEY), IVec::from(id.as_bytes()));
                self.commit_sled(&staged, next).await?;
                Ok(id.to_owned())
            }
            #[cfg(feature = "etcd")]
            Backend::Etcd(etcd) => {
                // Whoever wrote first, the store holds one identity now:
                // read it back whole (the key bumps no revision, so there
                // is nothing to wait for on the watch).
                etcd.create_if_absent(STORE_ID_KEY, id.as_bytes()).await?;
                let (entries, at) = etcd.load().await?;
                if at > etcd.revision() {
                    self.publish_at(etcd, entries, at);
                }
                self.identity()
                    .ok_or_else(|| StoreError::Etcd("the store identity was not written".into()))
            }
        }
    }

    /// Runs `f` over one consistent version of the committed state, without
    /// waiting for writers.
    pub fn read<T, E>(&self, f: impl FnOnce(&View) -> Result<T, E>) -> Result<T, E> {
        f(&self.view())
    }

    /// Runs `f` with exclusive write access, then commits what it staged in
    /// one atomic batch with the next revision and waits until it is
    /// durable. When `f` fails nothing is written. Returns `f`'s value and
    /// the new revision (unchanged when `f` staged nothing).
    ///
    /// On a shared store `f` may run more than once: when another replica
    /// committed first, this write's batch is dropped and `f` runs again on
    /// the newer state, so its checks always hold for what it commits.
    pub async fn write<T, E>(
        &self,
        mut f: impl FnMut(&mut Txn) -> Result<T, E>,
    ) -> Result<(T, u64), E>
    where
        E: From<StoreError>,
    {
        #[cfg(feature = "etcd")]
        let give_up = tokio::time::Instant::now() + CONTENDED_FOR;
        loop {
            let _guard = self.write_lock.lock().await;
            // Under the write lock nothing else publishes: this is the latest.
            let base = self.view();
            let mut txn = Txn {
                next: Entries::clone(&base.entries),
                base,
                staged: Staged::new(),
            };
            let value = f(&mut txn)?;
            let revision = txn.base.revision();
            if txn.staged.is_empty() {
                return Ok((value, revision));
            }
            let revision = revision + 1;
            txn.stage(
                IVec::from(REVISION_KEY),
                Some(IVec::from(&revision.to_be_bytes()[..])),
            );
            let Txn { staged, next, .. } = txn;
            match &self.backend {
                Backend::Sled { .. } => {
                    // Publishes `next`, and its revision to followers.
                    self.commit_sled(&staged, next).await?;
                    return Ok((value, revision));
                }
                #[cfg(feature = "etcd")]
                Backend::Etcd(etcd) => match etcd.commit(revision - 1, &staged).await {
                    Ok(at) => {
                        self.publish_at(etcd, next, at);
                        return Ok((value, revision));
                    }
                    Err(etcd::CommitError::Failed(e)) => return Err(e.into()),
                    Err(etcd::CommitError::Conflict) => {
                        if tokio::time::Instant::now() >= give_up {
                            return Err(StoreError::Contended(format!(
                                "{}: other replicas' writes kept coming first for {} s; nothing was written, try again",
                                etcd.address(),
                                CONTENDED_FOR.as_secs()
                            ))
                            .into());
                        }
                        drop(_guard);
                        self.wait_past(etcd, revision - 1).await?;
                    }
                },
            }
        }
    }

    /// Waits until the copy holds another replica's write on top of
    /// `base` (the write that made this one's comparison fail; the watch
    /// brings it), for at most a few seconds.
    #[cfg(feature = "etcd")]
    async fn wait_past(&self, etcd: &etcd::Etcd, base: u64) -> Result<(), StoreError> {
        let mut published = self.published.subscribe();
        let arrived = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            published.wait_for(|revision| *revision != base),
        )
        .await;
        match arrived {
            Ok(Ok(_)) => Ok(()),
            _ => Err(StoreError::Etcd(format!(
                "{}: another replica's write did not reach this replica within 5 s; nothing was written, try again",
                etcd.address()
            ))),
        }
    }

    /// Applies `staged` to sled, flushes it, then publishes `next` (the
    /// committed map with the same changes). Called under the write lock.
    async fn commit_sled(&self, staged: &Staged, next: Entries) -> Result<(), StoreError> {
        let (db, tree) = match &self.backend {
            Backend::Sled { db, tree } => (db, tree),
            #[cfg(feature = "etcd")]
            Backend::Etcd(_) => unreachable!("commit_sled on etcd"),
        };
        let mut batch = sled::Batch::default();
        for (key, value) in staged {
            match value {
                Some(value) => batch.insert(key.clone(), value.clone()),
                None => batch.remove(key.clone()),
            }
        }
        // sled applies a batch atomically or not at all.
        tree.apply_batch(batch)?;
        // From here sled's tree holds the batch, so the copy must follow
        // whatever happens: on a failed flush (sled keeps the batch and a
        // later flush may persist it) and when the caller's future is
        // dropped during the flush (a client hung up), the guard still
        // publishes on drop. Otherwise the copy would miss a write sled has,
        // and the next batch would be built on a stale base.
        let publish = PublishOnDrop {
            store: self,
            next: Some(next),
        };
        let flushed = db.flush_async().await;
        drop(publish);
        flushed?;
        Ok(())
    }

    fn publish_entries(&self, next: Entries) {
        self.committed.store(Arc::new(next));
    }

    /// Publishes `next` as the copy at etcd's revision `at`, and its store
    /// revision to followers. Called under the write lock.
    #[cfg(feature = "etcd")]
    fn publish_at(&self, etcd: &etcd::Etcd, next: Entries, at: i64) {
        let revision = revision_of(&next);
        self.publish_entries(next);
        etcd.set_revision(at);
        self.published.send_replace(revision);
    }

    /// Starts the task that applies other replicas' writes to the copy. It
    /// holds the store weakly: once nobody else holds it, following ends.
    #[cfg(feature = "etcd")]
    fn spawn_follower(store: &Arc<Self>) {
        let Backend::Etcd(etcd) = &store.backend else {
            return;
        };
        let etcd = etcd.clone();
        let weak = Arc::downgrade(store);
        tokio::spawn(async move {
            etcd.follow(|update| {
                let weak = weak.clone();
                async move {
                    match weak.upgrade() {
                        Some(store) => {
                            store.apply_update(update).await;
                            true
                        }
                        None => false,
                    }
                }
            })
            .await;
        });
    }

    /// Applies what the watch brought, as one version.
    #[cfg(feature = "etcd")]
    async fn apply_update(&self, update: etcd::Update) {
        let Backend::Etcd(etcd) = &self.backend else {
            return;
        };
        let _guard = self.write_lock.lock().await;
        let known = etcd.revision();
        let (next, at) = match update {
            etcd::Update::Changes { changes, at } => {
                let mut next = Entries::clone(&self.committed.load());
                for (revision, key, value) in changes {
                    if revision <= known {
                        continue;
                    }
                    match value {
                        Some(value) => next.insert(key, value),
                        None => next.remove(&key),
                    };
                }
                (next, at)
            }
            etcd::Update::Reload { entries, at } => (entries, at),
        };
        // Nothing newer than the copy (its own write, a progress notice).
        if at > known {
            self.publish_at(etcd, next, at);
        }
    }
}

/// How long [`open_db`] waits for a store's file lock.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens sled at `path`, waiting up to [`LOCK_WAIT`] for its file lock.
/// sled's background I/O threads hold the file (and its lock) for a moment
/// after the last handle in this process is dropped, so a store reopened
/// right after it was closed (a restart in the same process, the identity
/// checks) could otherwise fail at random on a loaded machine. Another
/// process holding the store still gets sled's lock error, after the wait.
fn open_db(path: &Path) -> Result<sled::Db, StoreError> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match sled::Config::new().path(path).open() {
            Err(sled::Error::Io(e)) if is_lock_held(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            result => return Ok(result?),
        }
    }
}

/// sled reports a held lock as an `Other` I/O error whose message carries
/// the OS error (EWOULDBLOCK); its text is the only sign.
fn is_lock_held(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock
        || e.to_string().starts_with("could not acquire lock")
}

/// Publishes a version when dropped: see [`Store::commit_sled`].
struct PublishOnDrop<'a> {
    store: &'a Store,
    next: Option<Entries>,
}

impl Drop for PublishOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(next) = self.next.take() {
            let revision = revision_of(&next);
            self.store.publish_entries(next);
            self.store.published.send_replace(revision);
        }
    }
}

fn revision_of(entries: &Entries) -> u64 {
    entries
        .get(REVISION_KEY)
        .map(|v| decode_u64(v))
        .unwrap_or(0)
}

/// One committed version of the store, immutable: reads through it agree
/// with each other whatever is written meanwhile. Cheap to clone.
#[derive(Clone)]
pub struct View {
    entries: Arc<Entries>,
}

impl View {
    /// The revision of the last write this version holds (0 for none).
    pub fn revision(&self) -> u64 {
        self.entries
            .get(REVISION_KEY)
            .map(|v| decode_u64(v))
            .unwrap_or(0)
    }

    /// See [`Store::identity`].
    pub fn identity(&self) -> Option<String> {
        self.entries
            .get(STORE_ID_KEY)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    pub fn get<M: Message + Default>(&self, key: &str) -> Result<Option<M>, StoreError> {
        match self.entries.get(key.as_bytes()) {
            Some(bytes) => decode(key, bytes).map(Some),
            None => Ok(None),
        }
    }

    pub fn get_raw(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.entries.get(key.as_bytes()).map(|v| v.to_vec()))
    }

    /// Every (key, raw value) under `prefix`, in key order.
    pub fn scan_raw(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(self
            .prefixed(prefix)
            .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), v.to_vec()))
            .collect())
    }

    /// Every (key, raw value) from `first` to `last` inclusive, in key order.
    pub fn range_raw(&self, first: &str, last: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let bounds: (Bound<&[u8]>, Bound<&[u8]>) = (
            Bound::Included(first.as_bytes()),
            Bound::Included(last.as_bytes()),
        );
        if first > last {
            return Ok(Vec::new());
        }
        Ok(self
            .entries
            .range::<_, [u8]>(bounds)
            .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), v.to_vec()))
            .collect())
    }

    /// Every record under `prefix`, in key order.
    pub fn scan<M: Message + Default>(&self, prefix: &str) -> Result<Vec<M>, StoreError> {
        self.prefixed(prefix)
            .map(|(key, value)| decode(&String::from_utf8_lossy(key), value))
            .collect()
    }

    /// Every key under `prefix`, in key order.
    pub fn keys_under(&self, prefix: &str) -> Vec<String> {
        self.prefixed(prefix)
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .collect()
    }

    /// The records under `prefix` whose keys come after `prefix` +
    /// `after` (all of them without `after`), in key order, each with its
    /// key below `prefix`; decoded one at a time as the caller goes, so a
    /// page of a long list reads only that page.
    pub fn scan_after<'a, M: Message + Default>(
        &'a self,
        prefix: &'a str,
        after: Option<&str>,
    ) -> impl Iterator<Item = Result<(String, M), StoreError>> + 'a {
        let start = after.map(|a| format!("{prefix}{a}"));
        let from: Bound<&[u8]> = match &start {
            Some(key) => Bound::Excluded(key.as_bytes()),
            None => Bound::Included(prefix.as_bytes()),
        };
        self.entries
            .range::<_, [u8]>((from, Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix.as_bytes()))
            .map(move |(key, value)| {
                let key = String::from_utf8_lossy(key).into_owned();
                let record = decode(&key, value)?;
                Ok((key[prefix.len()..].to_owned(), record))
            })
    }

    /// Every key whose value differs between this version and `newer`
    /// (added, changed or removed). Versions of one store share the
    /// structure of what did not change, so this costs the changes.
    pub fn diff(&self, newer: &View) -> Vec<String> {
        self.entries
            .diff(&newer.entries)
            .map(|item| {
                let key = match item {
                    imbl::ordmap::DiffItem::Add(k, _) => k,
                    imbl::ordmap::DiffItem::Update { new: (k, _), .. } => k,
                    imbl::ordmap::DiffItem::Remove(k, _) => k,
                };
                String::from_utf8_lossy(key).into_owned()
            })
            .collect()
    }

    /// Whether anything is stored under `prefix`.
    pub fn any_under(&self, prefix: &str) -> bool {
        self.prefixed(prefix).next().is_some()
    }

    fn prefixed<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a IVec, &'a IVec)> + 'a {
        let from: (Bound<&[u8]>, Bound<&[u8]>) =
            (Bound::Included(prefix.as_bytes()), Bound::Unbounded);
        self.entries
            .range::<_, [u8]>(from)
            .take_while(move |(k, _)| k.starts_with(prefix.as_bytes()))
    }
}

/// A write in progress: reads (through [`View`], which a `Txn` derefs to)
/// see the committed state the write started from; puts and deletes are
/// staged until [`Store::write`] commits them.
pub struct Txn {
    base: View,
    /// `base` with the staged changes, published once the write is durable.
    next: Entries,
    /// The same changes, for the durable copy. Both apply the last change
    /// to a key, so they end up equal.
    staged: Staged,
}

impl Deref for Txn {
    type Target = View;

    fn deref(&self) -> &View {
        &self.base
    }
}

impl Txn {
    pub fn put_raw(&mut self, key: &str, value: &[u8]) {
        self.stage(IVec::from(key.as_bytes()), Some(IVec::from(value)));
    }

    pub fn put(&mut self, key: &str, value: &impl Message) {
        self.stage(
            IVec::from(key.as_bytes()),
            Some(IVec::from(value.encode_to_vec())),
        );
    }

    pub fn delete(&mut self, key: &str) {
        self.stage(IVec::from(key.as_bytes()), None);
    }

    /// Stages the deletion of every key under `prefix` in the committed
    /// state (keys staged by this write are not affected).
    pub fn delete_prefix(&mut self, prefix: &str) -> Result<(), StoreError> {
        let base = self.base.clone();
        for (key, _) in base.prefixed(prefix) {
            self.stage(key.clone(), None);
        }
        Ok(())
    }

    fn stage(&mut self, key: IVec, value: Option<IVec>) {
        match &value {
            Some(value) => self.next.insert(key.clone(), value.clone()),
            None => self.next.remove(&key),
        };
        self.staged.insert(key, value);
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

    /// A store another handle is about to let go of opens once it is
    /// released, instead of failing on the lock (the reopen that flaked).
    #[test]
    fn opening_waits_for_a_lock_about_to_be_released() {
        let dir = tempfile::tempdir().unwrap();
        let held = Store::open(dir.path()).unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(held);
        });
        let reopened = Store::open(dir.path());
        releaser.join().unwrap();
        assert!(reopened.is_ok(), "{:?}", reopened.err());
    }

    /// What sled holds, for comparing with the published copy.
    fn sled_entries(store: &Store) -> Vec<(Vec<u8>, Vec<u8>)> {
        let tree = match &store.backend {
            Backend::Sled { tree, .. } => tree,
            #[cfg(feature = "etcd")]
            Backend::Etcd(_) => unreachable!("a sled test"),
        };
        tree.iter()
            .map(|e| {
                let (k, v) = e.unwrap();
                (k.to_vec(), v.to_vec())
            })
            .collect()
    }

    fn copy_entries(store: &Store) -> Vec<(Vec<u8>, Vec<u8>)> {
        store
            .view()
            .entries
            .iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect()
    }

    /// A write whose caller goes away while sled flushes (a client hung up)
    /// has still been applied to sled: the copy must show it, or the next
    /// write would be built on a base that misses it.
    #[tokio::test]
    async fn a_write_dropped_during_its_flush_is_still_published() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for i in 0..20u32 {
            let key = format!("k/{i}");
            // A zero timeout polls the write once, then drops it: wherever
            // the write stopped, sled and the copy must agree.
            let _ = tokio::time::timeout(
                std::time::Duration::ZERO,
                store.write(|txn| {
                    txn.put_raw(&key, b"v");
                    Ok::<_, StoreError>(())
                }),
            )
            .await;
            assert_eq!(copy_entries(&store), sled_entries(&store), "write {i}");
        }
        assert_eq!(store.revision(), 20);
    }
}
