//! Per-node token buckets (governor's GCRA) and quota counters.

use super::names::{id_of, id_of_str};
use super::{Check, Decision};
use crate::lock::LockOrRecover;
use crate::tables::Throttle;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::HashMapStateStore;
use governor::{Quota as GovernorQuota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Limiters by (nanoseconds per token, burst): governor fixes one rate per
/// limiter, so buckets with the same rate share one keyed limiter.
/// (nanoseconds per token, burst).
type Rate = (u64, u32);
/// Keyed by bucket ids, which are hashes already: a fast hash is enough.
type Bucket = Arc<RateLimiter<u64, HashMapStateStore<u64, FastHash>, DefaultClock>>;
type FastHash = foldhash::fast::RandomState;

#[derive(Default)]
pub struct LocalLimits {
    limiters: Mutex<HashMap<Rate, Bucket, FastHash>>,
    /// By the id of the counter's name ([`id_of`]); the name is kept for the
    /// counters file and for housekeeping.
    quotas: Mutex<HashMap<u64, (Box<str>, u64), FastHash>>,
}

impl LocalLimits {
    /// The quota counters, to save across restarts.
    pub fn quota_counters(&self) -> Vec<(String, u64)> {
        let quotas = self.quotas.lock_or_recover();
        quotas
            .values()
            .map(|(name, used)| (name.to_string(), *used))
            .collect()
    }

    /// Restores saved quota counters (keeping the higher count when one is
    /// already being counted).
    pub fn restore_quota_counters(&self, counters: impl IntoIterator<Item = (String, u64)>) {
        let mut quotas = self.quotas.lock_or_recover();
        for (name, count) in counters {
            let (_, used) = quotas
                .entry(id_of_str(&name))
                .or_insert_with(|| (name.into(), 0));
            *used = (*used).max(count);
        }
    }

    /// Forgets buckets that are full again, so idle keys cost no memory, and
    /// quota counters of periods long over (ids carry the period's first
    /// day: `{plan}:{key}:{day}:{reset}`).
    pub fn housekeeping(&self, today: i64) {
        self.quotas.lock_or_recover().retain(|_, (counter, _)| {
            counter
                .split(':')
                .nth(2)
                .and_then(|d| d.parse::<i64>().ok())
                .is_none_or(|day| today - day <= 35)
        });
        let limiters: Vec<_> = self.limiters.lock_or_recover().values().cloned().collect();
        for limiter in limiters {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    fn limiter(&self, t: Throttle) -> Option<Bucket> {
        if t.rate <= 0.0 {
            return None;
        }
        // The admin API keeps rates in 0.001..=1e6 per second; clamp anyway
        // so a bad value can never panic a request.
        let period = Duration::try_from_secs_f64(1.0 / t.rate)
            .unwrap_or(Duration::from_secs(3600))
            .clamp(Duration::from_nanos(1), Duration::from_secs(3600));
        let burst = NonZeroU32::new(t.burst.max(1)).expect("at least 1");
        let key = (period.as_nanos() as u64, burst.get());
        let mut limiters = self.limiters.lock_or_recover();
        Some(
            limiters
                .entry(key)
                .or_insert_with(|| {
                    let quota = GovernorQuota::with_period(period)
                        .expect("a non-zero period")
                        .allow_burst(burst);
                    Arc::new(RateLimiter::hashmap_with_hasher(quota, FastHash::default()))
                })
                .clone(),
        )
    }

    pub fn check(&self, check: &Check<'_>) -> Decision {
        if let Some(t) = check.throttle {
            if t.rate <= 0.0 && t.burst == 0 {
                // A zero bucket admits nothing, as in AWS.
                return Decision::Throttled(Duration::from_secs(1));
            }
            if let Some(limiter) = self.limiter(t)
                && let Err(not_until) = limiter.check_key(&check.bucket.id())
            {
                return Decision::Throttled(
                    not_until.wait_time_from(DefaultClock::default().now()),
                );
            }
        }
        if let Some((counter, quota)) = check.quota {
            let mut quotas = self.quotas.lock_or_recover();
            let (_, used) = quotas
                .entry(id_of(counter))
                .or_insert_with(|| (counter.to_string().into(), 0));
            if *used >= quota.limit {
                return Decision::QuotaExceeded;
            }
            *used += 1;
        }
        Decision::Admit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{BucketName, QuotaCounter};
    use crate::tables::Quota;
    use archway_proto::v1::QuotaPeriod;

    #[test]
    fn bucket_admits_its_burst_then_throttles() {
        let limits = LocalLimits::default();
        let check = Check {
            bucket: BucketName::Plan {
                plan: "p",
                key: "b",
            },
            throttle: Some(Throttle {
                rate: 1.0,
                burst: 3,
            }),
            quota: None,
        };
        for _ in 0..3 {
            assert_eq!(limits.check(&check), Decision::Admit);
        }
        assert!(matches!(limits.check(&check), Decision::Throttled(d) if d > Duration::ZERO));
        // Another bucket is untouched.
        let other = Check {
            bucket: BucketName::Plan {
                plan: "p",
                key: "c",
            },
            ..check
        };
        assert_eq!(limits.check(&other), Decision::Admit);
    }

    #[test]
    fn quota_admits_exactly_its_limit() {
        let limits = LocalLimits::default();
        let quota = Quota {
            limit: 2,
            period: QuotaPeriod::Day,
            offset: 0,
        };
        let check = Check {
            bucket: BucketName::Plan {
                plan: "p",
                key: "b",
            },
            throttle: None,
            quota: Some((
                QuotaCounter {
                    plan: "p",
                    key: "b",
                    start: 1,
                    reset: 0,
                },
                quota,
            )),
        };
        assert_eq!(limits.check(&check), Decision::Admit);
        assert_eq!(limits.check(&check), Decision::Admit);
        assert_eq!(limits.check(&check), Decision::QuotaExceeded);
    }
}
