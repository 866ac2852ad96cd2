//! Fleet-wide limits in Redis: one Lua script per request checks the token
//! bucket (GCRA, on Redis's own clock so node clocks do not matter) and, for
//! usage plans, the quota counter, atomically.

use super::{Check, Decision};
use arc_swap::ArcSwapOption;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Returns {0, 0} admitted, {1, retry_ms} throttled, {2, 0} over quota.
const CHECK_SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local new_tat = nil
if interval > 0 or burst == 0 then
  local tau = interval * burst
  local tat = tonumber(redis.call('GET', KEYS[1])) or now
  if tat < now then tat = now end
  new_tat = tat + interval
  if burst == 0 or new_tat - now > tau then
    return {1, math.max(1, math.ceil(new_tat - now - tau))}
  end
end
local limit = tonumber(ARGV[3])
if limit > 0 then
  local used = tonumber(redis.call('GET', KEYS[2])) or 0
  if used >= limit then return {2, 0} end
  redis.call('INCR', KEYS[2])
  if used == 0 then redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4])) end
end
if new_tat then
  redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(interval * burst + interval) + 1000)
end
return {0, 0}
"#;

/// How long a request waits for Redis before the node limits locally.
const TIMEOUT: Duration = Duration::from_millis(100);

/// After a failure Redis is not asked again for this long: during an
/// outage requests go straight to local limits instead of each waiting out
/// the timeout.
const BACKOFF_MS: u64 = 1000;

pub struct RedisLimits {
    connection: Arc<ArcSwapOption<ConnectionManager>>,
    script: redis::Script,
    /// Monotonic ms (since `epoch`) before which Redis is skipped.
    skip_until: AtomicU64,
    epoch: Instant,
}

impl RedisLimits {
    /// Connects in the background (retrying every second until it works),
    /// so a node starts and serves even while Redis is down.
    pub fn connect(url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let connection: Arc<ArcSwapOption<ConnectionManager>> = Arc::default();
        let slot = connection.clone();
        tokio::spawn(async move {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(1)))
                .set_response_timeout(Some(TIMEOUT))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_secs(1));
            loop {
                match ConnectionManager::new_with_config(client.clone(), config.clone()).await {
                    Ok(manager) => {
                        tracing::info!("connected to Redis for fleet-wide limits");
                        slot.store(Some(Arc::new(manager)));
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot reach Redis yet; limiting locally");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Self {
            connection,
            script: redis::Script::new(CHECK_SCRIPT),
            skip_until: AtomicU64::new(0),
            epoch: Instant::now(),
        })
    }

    pub async fn check(&self, check: &Check<'_>) -> Result<Decision, String> {
        let now = self.epoch.elapsed().as_millis() as u64;
        if now < self.skip_until.load(Ordering::Relaxed) {
            return Err("backing off after a failure".into());
        }
        let result = self.ask(check).await;
        if result.is_err() {
            self.skip_until.store(now + BACKOFF_MS, Ordering::Relaxed);
        }
        result
    }

    async fn ask(&self, check: &Check<'_>) -> Result<Decision, String> {
        let Some(manager) = self.connection.load_full() else {
            return Err("not connected".into());
        };
        let mut connection = (*manager).clone();
        let (interval_ms, burst) = match check.throttle {
            Some(t) if t.rate > 0.0 => (1000.0 / t.rate, t.burst),
            Some(t) => (0.0, t.burst),
            None => (0.0, 1),
        };
        let (quota_key, limit, ttl) = match check.quota {
            Some((counter, quota)) => (
                format!("archway:q:{counter}"),
                quota.limit,
                // Long enough for the longest period (a month) and a margin.
                32 * 86_400u64,
            ),
            None => ("archway:q:none".to_owned(), 0, 0),
        };
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(format!("archway:tb:{}", check.bucket))
            .key(quota_key)
            .arg(interval_ms)
            .arg(if check.throttle.is_some() { burst } else { 1 })
            .arg(limit)
            .arg(ttl);
        let result: Result<(i64, i64), _> =
            match tokio::time::timeout(TIMEOUT, invocation.invoke_async(&mut connection)).await {
                Ok(r) => r,
                Err(_) => return Err("timed out".into()),
            };
        match result {
            Ok((0, _)) => Ok(Decision::Admit),
            Ok((1, retry_ms)) => Ok(Decision::Throttled(Duration::from_millis(
                retry_ms.max(1) as u64
            ))),
            Ok((2, _)) => Ok(Decision::QuotaExceeded),
            Ok(other) => Err(format!("unexpected script answer {other:?}")),
            Err(e) => Err(e.to_string()),
        }
    }
}
