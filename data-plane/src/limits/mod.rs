//! Throttles and quotas, and the usage they count. State lives here, beside
//! the tables and keyed by stable ids, so it survives configuration swaps.
//!
//! Without Redis every node limits on its own (a fleet of N nodes admits up
//! to N times a limit). With `--redis-url`, buckets and quota counters live
//! in Redis and are checked by one atomic script per request, so limits
//! hold across the fleet; when Redis cannot be reached the node falls back to
//! its local limits, logs it and counts it in `archway_limit_fallbacks_total`.

pub mod counters_file;
pub mod local;
pub mod names;
pub mod redis_store;
pub mod usage;

use crate::lock::LockOrRecover;
use crate::tables::{Quota, Throttle};
pub use names::{BucketName, QuotaCounter};
use opentelemetry::metrics::Counter;
use std::time::Duration;
use usage::UsageRecorder;

/// The node's limit state: the limiter, the node-wide default throttle
/// (from the command line, not configuration) and the usage recorder.
#[derive(Debug)]
pub struct Limits {
    pub limiter: Limiter,
    /// Per node; None: none.
    pub node_default: Option<Throttle>,
    pub usage: UsageRecorder,
}

impl Limits {
    /// Counted on this node alone (no Redis), with no node-wide default.
    pub fn local() -> Self {
        Self {
            limiter: Limiter::new(None, None),
            node_default: None,
            usage: UsageRecorder::default(),
        }
    }
}

/// A limit check's answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    Admit,
    /// Over the rate; retry after this long.
    Throttled(Duration),
    QuotaExceeded,
}

/// One check: a bucket and, for usage plans, a quota counted with it.
#[derive(Debug)]
pub struct Check<'a> {
    pub bucket: BucketName<'a>,
    pub throttle: Option<Throttle>,
    /// The counter (named for its period) and the limit.
    pub quota: Option<(QuotaCounter<'a>, Quota)>,
}

pub struct Limiter {
    local: local::LocalLimits,
    redis: Option<redis_store::RedisLimits>,
    fallbacks: Option<Counter<u64>>,
    last_warning: std::sync::Mutex<Option<std::time::Instant>>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("redis", &self.redis.is_some())
            .finish()
    }
}

impl Limiter {
    pub fn new(redis: Option<redis_store::RedisLimits>, fallbacks: Option<Counter<u64>>) -> Self {
        Self {
            local: local::LocalLimits::default(),
            redis,
            fallbacks,
            last_warning: std::sync::Mutex::new(None),
        }
    }

    pub async fn check(&self, check: &Check<'_>) -> Decision {
        if let Some(redis) = &self.redis {
            // Boxed: the Redis exchange is a large future, and keeping it
            // inline would grow every request's state.
            match Box::pin(redis.check(check)).await {
                Ok(decision) => return decision,
                Err(e) => self.fell_back(&e),
            }
        }
        self.local.check(check)
    }

    /// Checks on this node only, whatever the backend (node-wide limits).
    pub fn check_local(&self, check: &Check<'_>) -> Decision {
        self.local.check(check)
    }

    pub fn housekeeping(&self, today: i64) {
        self.local.housekeeping(today);
    }

    pub fn local(&self) -> &local::LocalLimits {
        &self.local
    }

    fn fell_back(&self, error: &str) {
        if let Some(counter) = &self.fallbacks {
            counter.add(1, &[]);
        }
        // One warning per 10 s, not one per request.
        let mut last = self.last_warning.lock_or_recover();
        if last.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
            *last = Some(std::time::Instant::now());
            tracing::warn!(
                error,
                "Redis unreachable: enforcing limits locally on this node"
            );
        }
    }
}
