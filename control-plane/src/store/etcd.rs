//! The store on etcd v3, for several control-plane replicas (`--store
//! etcd://…`).
//!
//! The model is the sled store's, kept: every replica holds the whole tree
//! in memory (the configuration is small next to memory, and every node gets
//! all of it anyway) and reads only that copy, one version at a time. What
//! changes is where a version comes from:
//!
//! - **A write** is one etcd transaction: the staged puts and deletes, and
//!   the store's revision counter (`meta/revision`) bumped, *if* the counter
//!   still holds the value this replica's copy was built on. etcd commits a
//!   transaction on a quorum before it answers, so an acknowledged write is
//!   durable. If another replica wrote first, the comparison fails and
//!   nothing is written: the replica waits until its copy holds that write
//!   and runs the caller's closure again on the new state (see
//!   [`super::Store::write`]). Writes are serialized across the cluster by
//!   that counter, as they are within one process by the write lock.
//! - **Other replicas' writes** arrive through a watch on the store's
//!   prefix, from the revision the copy was loaded at; each watch response is
//!   applied whole and published as one version. etcd never splits one
//!   transaction's events across responses (fragmenting is off), so a
//!   reader never sees half of another replica's write.
//!
//! The configuration version is the counter, not etcd's own revision: it is
//! written in the same transaction as the change, so it means the same on
//! every replica, counts only configuration writes (not leases or other
//! users of the cluster), and survives `archwayctl store copy` unchanged.
//! The etcd revision is kept beside the copy to resume the watch and to know
//! which events the copy already holds.

use super::{Entries, Staged, StoreError};
use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, EventType, GetOptions, Txn, TxnOp, WatchOptions,
};
use sled::IVec;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Where the store lives in etcd: `etcd://host:port[,host:port…][/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdAddress {
    /// `http://host:port` for each member given.
    pub endpoints: Vec<String>,
    /// Every key of the store sits under it; ends with '/'.
    pub prefix: String,
}

/// The prefix when the address names none.
pub const DEFAULT_PREFIX: &str = "/archway/";

impl std::str::FromStr for EtcdAddress {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let rest = text.strip_prefix("etcd://").ok_or_else(|| {
            format!("'{text}': an etcd store is etcd://host:port[,host:port...][/prefix]")
        })?;
        let (hosts, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let mut endpoints = Vec::new();
        for host in hosts.split(',') {
            let host = host.trim();
            let (name, port) = host
                .rsplit_once(':')
                .ok_or_else(|| format!("'{host}' in '{text}': give each member as host:port"))?;
            if name.is_empty() || port.parse::<u16>().is_err() {
                return Err(format!(
                    "'{host}' in '{text}': give each member as host:port"
                ));
            }
            endpoints.push(format!("http://{host}"));
        }
        let prefix = match prefix.trim_end_matches('/') {
            "" => DEFAULT_PREFIX.to_owned(),
            p => format!("{p}/"),
        };
        if prefix.contains("//") || prefix.chars().any(|c| c.is_control()) {
            return Err(format!(
                "'{text}': the prefix '{prefix}' is not a clean path"
            ));
        }
        Ok(Self { endpoints, prefix })
    }
}

impl std::fmt::Display for EtcdAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hosts: Vec<&str> = self
            .endpoints
            .iter()
            .map(|e| e.trim_start_matches("http://"))
            .collect();
        write!(
            f,
            "etcd://{}{}",
            hosts.join(","),
            self.prefix.trim_end_matches('/')
        )
    }
}

/// How long one etcd call may take before the write (or load) fails as
/// unavailable: long enough for a leader election (etcd's default election
/// timeout is 1 s), short enough that an operator is not left waiting.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Keys per range request when loading: keeps each answer well under gRPC's
/// message limits whatever the values' sizes.
const LOAD_PAGE: i64 = 2_000;
/// Keys per transaction of a copy: well under etcd's default
/// --max-txn-ops of 128, so a copy works against any cluster.
const CHUNK_OPS: usize = 100;
/// Bytes per transaction of a copy, under etcd's default 1.5 MiB request
/// limit (a single larger value still goes, alone).
const CHUNK_BYTES: usize = 1 << 20;
/// Answers from etcd may be this large (a page of large deployments).
const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// The etcd side of a [`super::Store`]. Cheap to clone: the follower task
/// has its own handle.
#[derive(Clone)]
pub struct Etcd {
    client: Client,
    address: EtcdAddress,
    /// The etcd revision the published copy is current to. Changed only
    /// under the store's write lock, with the copy.
    revision: Arc<AtomicI64>,
}

/// What a commit that did not go through ran into.
pub(super) enum CommitError {
    /// Another replica wrote since the copy this write was built on.
    /// Nothing was written.
    Conflict,
    Failed(StoreError),
}

impl Etcd {
    /// Connects and loads every key under the prefix at one etcd revision.
    pub(super) async fn connect(address: &EtcdAddress) -> Result<(Self, Entries), StoreError> {
        let options = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(3))
            .with_timeout(CALL_TIMEOUT)
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5));
        let client = Client::connect(&address.endpoints, Some(options))
            .await
            .map_err(|e| unavailable(address, "connecting", e))?;
        let etcd = Self {
            client,
            address: address.clone(),
            revision: Arc::new(AtomicI64::new(0)),
        };
        let (entries, revision) = etcd.load().await?;
        etcd.revision.store(revision, Ordering::Release);
        Ok((etcd, entries))
    }

    /// Another client of the same members with no per-call time limit, for
    /// calls that wait on purpose (an election campaign).
    pub async fn client_without_time_limit(&self) -> Result<Client, etcd_client::Error> {
        let options = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(3))
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5));
        Client::connect(&self.address.endpoints, Some(options)).await
    }

    /// The client, for other uses of the same cluster (the leader election).
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn address(&self) -> &EtcdAddress {
        &self.address
    }

    pub(super) fn revision(&self) -> i64 {
        self.revision.load(Ordering::Acquire)
    }

    pub(super) fn set_revision(&self, revision: i64) {
        self.revision.store(revision, Ordering::Release);
    }

    /// Every key under the prefix at one revision, page by page, and that
    /// revision.
    pub(super) async fn load(&self) -> Result<(Entries, i64), StoreError> {
        let prefix = self.address.prefix.as_bytes();
        let end = range_end(prefix);
        let mut entries = Entries::new();
        let mut from = prefix.to_vec();
        let mut at = 0;
        loop {
            let mut options = GetOptions::new()
                .with_range(end.clone())
                .with_limit(LOAD_PAGE);
            if at > 0 {
                options = options.with_revision(at);
            }
            let response = self
                .unsent_retried(|mut kv| {
                    let (from, options) = (from.clone(), options.clone());
                    async move { kv.get(from, Some(options)).await }
                })
                .await
                .map_err(|e| unavailable(&self.address, "loading the store", e))?;
            if at == 0 {
                at = response.header().map_or(0, |h| h.revision());
            }
            let kvs = response.kvs();
            for kv in kvs {
                entries.insert(
                    IVec::from(&kv.key()[prefix.len()..]),
                    IVec::from(kv.value()),
                );
            }
            match kvs.last() {
                Some(last) if response.more() => {
                    from = last.key().to_vec();
                    from.push(0);
                }
                _ => break,
            }
        }
        Ok((entries, at))
    }

    /// Commits the staged changes if `meta/revision` still holds
    /// `base_revision` (is absent for 0); returns etcd's new revision.
    pub(super) async fn commit(
        &self,
        base_revision: u64,
        staged: &Staged,
    ) -> Result<i64, CommitError> {
        let key = self.key(super::REVISION_KEY);
        let guard = if base_revision == 0 {
            Compare::version(key, CompareOp::Equal, 0)
        } else {
            Compare::value(key, CompareOp::Equal, base_revision.to_be_bytes().to_vec())
        };
        let ops: Vec<TxnOp> = staged
            .iter()
            .map(|(k, v)| match v {
                Some(value) => TxnOp::put(self.key(k), value.to_vec(), None),
                None => TxnOp::delete(self.key(k), None),
            })
            .collect();
        let count = ops.len();
        let response = self
            .run_txn(Txn::new().when([guard]).and_then(ops))
            .await
            .map_err(|e| {
                let message = e.to_string();
                if message.contains("too many operations") || message.contains("too large") {
                    CommitError::Failed(StoreError::Etcd(format!(
                        "{}: this write changes {count} keys, more than the etcd cluster takes in \
                         one transaction: start etcd with a larger --max-txn-ops and \
                         --max-request-bytes (see deploy/README.md); nothing was written ({message})",
                        self.address
                    )))
                } else {
                    CommitError::Failed(unavailable(&self.address, "writing", e))
                }
            })?;
        if response.succeeded() {
            Ok(response.header().map_or(0, |h| h.revision()))
        } else {
            Err(CommitError::Conflict)
        }
    }

    /// Puts every entry, in transactions of at most [`CHUNK_OPS`] keys and
    /// about [`CHUNK_BYTES`]: for a copy into an empty store, where no one
    /// else writes, so there is nothing to compare.
    pub(super) async fn put_in_chunks<'a>(
        &self,
        entries: impl Iterator<Item = (&'a IVec, &'a Option<IVec>)>,
    ) -> Result<(), StoreError> {
        let mut ops = Vec::new();
        let mut bytes = 0;
        let mut entries = entries.peekable();
        while let Some((key, value)) = entries.next() {
            let value = value.as_ref().map(|v| v.to_vec()).unwrap_or_default();
            bytes += key.len() + value.len() + self.address.prefix.len();
            ops.push(TxnOp::put(self.key(key), value, None));
            if ops.len() >= CHUNK_OPS || bytes >= CHUNK_BYTES || entries.peek().is_none() {
                bytes = 0;
                self.run_txn(Txn::new().and_then(std::mem::take(&mut ops)))
                    .await
                    .map_err(|e| unavailable(&self.address, "copying into the store", e))?;
            }
        }
        Ok(())
    }

    /// Writes `value` at `key` only if the key does not exist; whether it
    /// was written. For the store's identity, which is no configuration
    /// change.
    pub(super) async fn create_if_absent(
        &self,
        key: &[u8],
        value: &[u8],
    ) -> Result<bool, StoreError> {
        let key = self.key(key);
        let txn = Txn::new()
            .when([Compare::version(key.clone(), CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key, value.to_vec(), None)]);
        let response = self
            .run_txn(txn)
            .await
            .map_err(|e| unavailable(&self.address, "writing the store identity", e))?;
        Ok(response.succeeded())
    }

    /// Follows the prefix from the copy's revision on, handing each batch of
    /// changes to `apply`, until `apply` says the store is gone. A broken
    /// watch is made again from where the copy is (after a pause, so an etcd
    /// that is down is not hammered); a watch whose start was compacted
    /// away reloads the whole tree.
    pub(super) async fn follow<F, Fut>(&self, mut apply: F)
    where
        F: FnMut(Update) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let prefix = self.address.prefix.as_bytes().to_vec();
        let mut pause = Duration::from_millis(100);
        loop {
            let from = self.revision() + 1;
            let options = WatchOptions::new()
                .with_range(range_end(&prefix))
                .with_start_revision(from)
                .with_progress_notify();
            let mut watch = self
                .client
                .watch_client()
                .max_decoding_message_size(MAX_MESSAGE_BYTES);
            let mut stream = match watch.watch(prefix.clone(), Some(options)).await {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::warn!(store = %self.address, error = %e, "watching the store failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            loop {
                let response = match stream.message().await {
                    Ok(Some(response)) => response,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(store = %self.address, error = %e, "the store's watch broke; watching again");
                        break;
                    }
                };
                pause = Duration::from_millis(100);
                if response.canceled() {
                    if response.compact_revision() > 0 {
                        tracing::warn!(store = %self.address, from, compacted = response.compact_revision(), "the store's history was compacted past this replica's copy; reloading it whole");
                        match self.load().await {
                            Ok((entries, at)) => {
                                if !apply(Update::Reload { entries, at }).await {
                                    return;
                                }
                            }
                            Err(e) => {
                                tracing::warn!(store = %self.address, error = %e, "reloading the store failed; retrying")
                            }
                        }
                    }
                    break;
                }
                let mut changes = Vec::new();
                let mut at = 0;
                for event in response.events() {
                    let Some(kv) = event.kv() else { continue };
                    at = at.max(kv.mod_revision());
                    let Some(key) = kv.key().strip_prefix(prefix.as_slice()) else {
                        continue;
                    };
                    let value = match event.event_type() {
                        EventType::Put => Some(IVec::from(kv.value())),
                        EventType::Delete => None,
                    };
                    changes.push((kv.mod_revision(), IVec::from(key), value));
                }
                // Progress notices (no events) go through too: they are when
                // a follower whose store was dropped finds out.
                if !apply(Update::Changes { changes, at }).await {
                    return;
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }

    /// Runs a transaction (see [`Etcd::unsent_retried`]).
    async fn run_txn(&self, txn: Txn) -> Result<etcd_client::TxnResponse, etcd_client::Error> {
        self.unsent_retried(|mut kv| {
            let txn = txn.clone();
            async move { kv.txn(txn).await }
        })
        .await
    }

    /// Runs an etcd call, again on another member when it could not even
    /// be sent (the connection to the member it went to was refused): the
    /// client balances calls over every member given, and a member that is
    /// down must not fail calls the others can serve. A call that may have
    /// reached etcd is never repeated here, because a repeated write could
    /// apply twice.
    async fn unsent_retried<T, F, Fut>(&self, mut call: F) -> Result<T, etcd_client::Error>
    where
        F: FnMut(etcd_client::KvClient) -> Fut,
        Fut: std::future::Future<Output = Result<T, etcd_client::Error>>,
    {
        // Enough tries to reach every member a few times over.
        let tries = 3 * self.address.endpoints.len().max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let kv = self
                .client
                .kv_client()
                .max_decoding_message_size(MAX_MESSAGE_BYTES);
            match call(kv).await {
                Err(e) if attempt < tries && never_sent(&e) => {
                    tokio::time::sleep(Duration::from_millis(20 * attempt as u64)).await;
                }
                result => return result,
            }
        }
    }

    fn key(&self, key: &[u8]) -> Vec<u8> {
        let mut full = Vec::with_capacity(self.address.prefix.len() + key.len());
        full.extend_from_slice(self.address.prefix.as_bytes());
        full.extend_from_slice(key);
        full
    }
}

/// A lease this replica keeps alive, for keys that must go away with it
/// (the leader's candidacy, the replica's fleet entry).
pub struct KeptLease {
    pub id: i64,
    keeper: etcd_client::LeaseKeeper,
    answers: etcd_client::LeaseKeepAliveStream,
}

impl KeptLease {
    /// Takes a new lease of `ttl` and opens its keep-alive stream.
    pub async fn take(client: &mut Client, ttl: Duration) -> Result<Self, etcd_client::Error> {
        let id = client.lease_grant(ttl.as_secs() as i64, None).await?.id();
        let (keeper, answers) = client.lease_keep_alive(id).await?;
        Ok(Self {
            id,
            keeper,
            answers,
        })
    }

    /// Renews the lease once: false when etcd refused, said the lease is
    /// gone, or did not answer within `limit`.
    pub async fn renew(&mut self, limit: Duration) -> bool {
        if self.keeper.keep_alive().await.is_err() {
            return false;
        }
        matches!(
            tokio::time::timeout(limit, self.answers.message()).await,
            Ok(Ok(Some(answer))) if answer.ttl() > 0
        )
    }
}

/// What the watch brings a replica.
pub(super) enum Update {
    /// Changes in etcd order: (etcd revision, key, value or None for a
    /// delete); `at` is the newest revision among them.
    Changes {
        changes: Vec<(i64, IVec, Option<IVec>)>,
        at: i64,
    },
    /// The whole tree at `at` (after a compaction).
    Reload { entries: Entries, at: i64 },
}

/// The end of the range of keys starting with `prefix`.
fn range_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// Whether a call failed before any byte of it could reach etcd: the
/// connection was refused or could not be made. The client reports this
/// only in the status's text (tonic's connect error), so that is read.
fn never_sent(e: &etcd_client::Error) -> bool {
    match e {
        etcd_client::Error::GRpcStatus(status) => {
            status.code() == tonic::Code::Unavailable
                && (status.message().contains("tcp connect error")
                    || status.message().contains("dns error"))
        }
        etcd_client::Error::TransportError(_) => true,
        _ => false,
    }
}

fn unavailable(address: &EtcdAddress, doing: &str, e: etcd_client::Error) -> StoreError {
    StoreError::Etcd(format!(
        "{doing}: etcd at {address} is unreachable or refused: {e}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_name_members_and_a_prefix() {
        let a: EtcdAddress = "etcd://10.0.0.1:2379,etcd-1.etcd:2379/prod/gw"
            .parse()
            .unwrap();
        assert_eq!(
            a.endpoints,
            ["http://10.0.0.1:2379", "http://etcd-1.etcd:2379"]
        );
        assert_eq!(a.prefix, "/prod/gw/");
        assert_eq!(
            a.to_string(),
            "etcd://10.0.0.1:2379,etcd-1.etcd:2379/prod/gw"
        );
        let plain: EtcdAddress = "etcd://127.0.0.1:2379".parse().unwrap();
        assert_eq!(plain.prefix, DEFAULT_PREFIX);
        for bad in [
            "http://127.0.0.1:2379",
            "etcd://127.0.0.1",
            "etcd://:2379",
            "etcd://h:99999",
            "etcd://h:1,/x",
            "etcd://h:1//x",
        ] {
            assert!(bad.parse::<EtcdAddress>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_range_of_a_prefix_ends_past_every_key_under_it() {
        assert_eq!(range_end(b"/archway/"), b"/archway0");
        assert_eq!(range_end(b"a\xff"), b"b");
        assert_eq!(range_end(b"\xff"), vec![0]);
    }
}
