//! The stage cache, as AWS API Gateway's: responses of cached methods kept
//! per node and stage, answered without calling the integration.
//!
//! The entries live here, beside the runtime tables and never inside them:
//! one cache per API and stage ([`StageCache`], moka weighted by bytes so
//! memory never grows past the stage's capacity), found by ids. After each
//! table swap, [`StageCaches::reconcile`] keeps a stage's cache while the
//! [`CacheEpoch`] it was made under is unchanged and starts it afresh when
//! the stage serves another deployment, was flushed (a new flush
//! generation, distributed with the configuration, so nodes that were away
//! flush when they connect) or has another capacity. A request also checks
//! the epoch itself, so it never reads entries of another epoch in the
//! moment between a swap and the reconcile.
//!
//! The request path asks one question, [`StageCaches::lookup`], and gets a
//! ready response (a hit), a [`StoreTicket`] (a miss: the ticket wraps the
//! integration's response and stores it when its body ended cleanly), or
//! nothing to do. A hit costs a lock-free map load, two hash lookups, a key
//! written into a per-thread buffer and one moka read; no lock is held
//! across an await.
//!
//! Modules: [`config`] (settings compiled per version), [`key`] (cache
//! keys), [`control`] (`Cache-Control: max-age=0` and who may use it),
//! [`entry`] (a cached response), [`store`] (storing on a clean end).

pub mod config;
pub mod control;
pub mod entry;
pub mod key;
pub mod store;

use crate::lock::LockOrRecover;
use crate::telemetry::metrics::{GatewayMetrics, label};
use arc_swap::ArcSwap;
use bytes::Bytes;
use config::{CacheEpoch, StageCacheConfig};
use control::Decision;
use entry::CachedResponse;
use http::Response;
use http_body_util::Full;
use key::KeySource;
use opentelemetry::metrics::BoundCounter;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
pub use store::{StoreTicket, StoringBody};

/// What the cache did for a request: `$context.cacheStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Answered from the cache.
    Hit,
    /// Not in the cache (or stale): fetched, and stored if it can be.
    Miss,
    /// `max-age=0` from a caller who may: fetched and replaced.
    Refresh,
    /// The method is cached, but this request neither read nor stored (the
    /// stage's cache was being replaced).
    Bypass,
}

impl CacheStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "HIT",
            Self::Miss => "MISS",
            Self::Refresh => "REFRESH",
            Self::Bypass => "BYPASS",
        }
    }
}

/// The answer to [`StageCaches::lookup`].
#[derive(Debug)]
pub enum Lookup {
    /// The method is not cached: go on as if there were no cache.
    Off,
    /// The method is cached but this request bypasses the cache.
    Bypass,
    /// The cached response (with a `Warning` header when the caller's
    /// `max-age=0` was ignored).
    Hit(Response<Full<Bytes>>),
    /// Fetch, then hand the response to the ticket.
    Miss(StoreTicket),
    /// The caller asked to invalidate, may not, and the method's strategy
    /// is FAIL_WITH_403.
    Refused,
}

/// What a lookup is about.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    pub api_id: &'a str,
    pub stage: &'a str,
    pub config: &'a StageCacheConfig,
    pub key: KeySource<'a>,
}

/// The caches of every API and stage that caches, by API id and stage.
/// Keys come from configuration (clients only choose what is looked up):
/// a fast seeded hash, as the tables' maps use.
type CacheMap = Map<Box<str>, Map<Box<str>, Arc<StageCache>>>;
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Every stage cache of the node.
#[derive(Debug)]
pub struct StageCaches {
    caches: ArcSwap<CacheMap>,
    /// Serialises reconciles (one config applier, but tests may call too).
    reconciling: Mutex<()>,
    metrics: Option<GatewayMetrics>,
}

impl Default for StageCaches {
    fn default() -> Self {
        Self::new(None)
    }
}

thread_local! {
    /// The key of the lookup in progress on this thread: a hit allocates
    /// no key. Used only between two non-async calls.
    static KEY: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl StageCaches {
    /// `metrics`: where hits, misses and evictions are counted.
    pub fn new(metrics: Option<GatewayMetrics>) -> Self {
        Self {
            caches: ArcSwap::default(),
            reconciling: Mutex::new(()),
            metrics,
        }
    }

    /// Makes the caches match the stages that cache now: a stage whose
    /// epoch is unchanged keeps its entries; a new epoch starts empty; a
    /// stage that no longer caches loses its cache (memory is freed when
    /// the last request using it is done).
    pub fn reconcile<'a>(
        &self,
        stages: impl IntoIterator<Item = (&'a str, &'a str, &'a StageCacheConfig)>,
    ) {
        let _one_at_a_time = self.reconciling.lock_or_recover();
        let current = self.caches.load();
        let mut next = CacheMap::default();
        for (api_id, stage, config) in stages {
            let kept = current
                .get(api_id)
                .and_then(|stages| stages.get(stage))
                .filter(|c| c.epoch == config.epoch)
                .cloned();
            let cache = kept.unwrap_or_else(|| {
                Arc::new(StageCache::new(
                    config.epoch.clone(),
                    self.metrics.as_ref(),
                    api_id,
                    stage,
                ))
            });
            next.entry(api_id.into())
                .or_default()
                .insert(stage.into(), cache);
        }
        self.caches.store(Arc::new(next));
    }

    /// The cache's answer for one request. `may_invalidate` answers whether
    /// the caller is allowed `execute-api:InvalidateCache` on the method; it
    /// is asked only for a `Cache-Control: max-age=0` that needs it.
    pub fn lookup(&self, query: &Query<'_>, may_invalidate: impl FnOnce() -> bool) -> Lookup {
        let k = &query.key;
        let Some(method) = query.config.method(k.canary, k.route, k.method) else {
            return Lookup::Off;
        };
        let decision = control::decide(&method, control::wants_refresh(k.headers), may_invalidate);
        let warn = match decision {
            Decision::Refuse => return Lookup::Refused,
            Decision::Serve { warn } => warn,
            Decision::Refresh => false,
        };
        let caches = self.caches.load();
        let Some(cache) = caches
            .get(query.api_id)
            .and_then(|stages| stages.get(query.stage))
            .filter(|c| c.epoch == query.config.epoch)
        else {
            return Lookup::Bypass;
        };
        KEY.with_borrow_mut(|key| {
            key::write(key, k);
            if decision != Decision::Refresh
                && let Some(hit) = cache.get(key, Instant::now())
            {
                cache.count_hit();
                let mut response = hit.to_response();
                if warn {
                    store::add_warning(response.headers_mut());
                }
                return Lookup::Hit(response);
            }
            cache.count_miss();
            Lookup::Miss(StoreTicket {
                key: key.as_slice().into(),
                cache: cache.clone(),
                ttl: method.ttl,
                status: if decision == Decision::Refresh {
                    CacheStatus::Refresh
                } else {
                    CacheStatus::Miss
                },
                warn,
            })
        })
    }

    /// The cache of a stage, if it has one (tests and metrics).
    pub fn stage(&self, api_id: &str, stage: &str) -> Option<Arc<StageCache>> {
        self.caches.load().get(api_id)?.get(stage).cloned()
    }
}

/// One stage's cached responses, under one epoch.
#[derive(Debug)]
pub struct StageCache {
    epoch: CacheEpoch,
    entries: moka::sync::Cache<Box<[u8]>, Arc<CachedResponse>>,
    hits: Option<BoundCounter<u64>>,
    misses: Option<BoundCounter<u64>>,
}

/// moka reclaims an entry's memory once its TTL has passed.
struct EntryExpiry;

impl moka::Expiry<Box<[u8]>, Arc<CachedResponse>> for EntryExpiry {
    fn expire_after_create(
        &self,
        _key: &Box<[u8]>,
        value: &Arc<CachedResponse>,
        created_at: Instant,
    ) -> Option<std::time::Duration> {
        Some(value.time_to_live(created_at))
    }

    fn expire_after_update(
        &self,
        _key: &Box<[u8]>,
        value: &Arc<CachedResponse>,
        updated_at: Instant,
        _duration_until_expiry: Option<std::time::Duration>,
    ) -> Option<std::time::Duration> {
        Some(value.time_to_live(updated_at))
    }
}

impl StageCache {
    fn new(epoch: CacheEpoch, metrics: Option<&GatewayMetrics>, api_id: &str, stage: &str) -> Self {
        let labels = [label("api", api_id), label("stage", stage)];
        let evictions = metrics.map(|m| m.cache_evictions.bind(&labels));
        let mut builder = moka::sync::Cache::<Box<[u8]>, Arc<CachedResponse>>::builder()
            .max_capacity(epoch.capacity_bytes)
            .weigher(|key, value| value.weight().saturating_add(key.len() as u32))
            .expire_after(EntryExpiry);
        if let Some(evictions) = evictions {
            builder = builder.eviction_listener(move |_, _, cause| {
                if cause == moka::notification::RemovalCause::Size {
                    evictions.add(1);
                }
            });
        }
        Self {
            epoch,
            entries: builder.build(),
            hits: metrics.map(|m| m.cache_hits.bind(&labels)),
            misses: metrics.map(|m| m.cache_misses.bind(&labels)),
        }
    }

    /// The fresh entry for `key`, if any.
    fn get(&self, key: &[u8], now: Instant) -> Option<Arc<CachedResponse>> {
        self.entries.get(key).filter(|e| e.is_fresh(now))
    }

    /// Stores (or replaces) an entry. moka evicts what is over the capacity
    /// in its own maintenance, which runs as reads and writes go by; running
    /// it here would take its lock and drain its logs on every store, at the
    /// end of a response body on the worker that sends it.
    fn insert(&self, key: Box<[u8]>, entry: CachedResponse) {
        self.entries.insert(key, Arc::new(entry));
    }

    /// Bytes held, by the entries' weights.
    pub fn weighted_size(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.weighted_size()
    }

    pub fn entry_count(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }

    fn count_hit(&self) {
        if let Some(c) = &self.hits {
            c.add(1);
        }
    }

    fn count_miss(&self) {
        if let Some(c) = &self.misses {
            c.add(1);
        }
    }
}

#[cfg(test)]
mod tests;
