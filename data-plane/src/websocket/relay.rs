//! `@connections` calls for another node's connections, over Redis pub/sub.
//!
//! Every node with `--redis-url` subscribes to its own channel,
//! `archway:ws:{node tag}` (the tag every id it hands out starts with). A
//! node that gets a call for an id of another node publishes the call on
//! that node's channel with a correlation number and its own channel to
//! reply on, then waits (bounded) for the reply. So:
//! - `PUBLISH` answering 0 receivers means no node listens for that tag
//!   now. That alone does not mean the owner is gone: a live owner that
//!   lost its subscription (a Redis blip, a failover) is not listening
//!   while it resubscribes, and its clients are still connected. So every
//!   node keeps a presence key, `archway:ws:node:{tag}`, rewritten every
//!   [`Timing::presence_every`] with a lifetime of [`Timing::presence_ttl`]
//!   for as long as it runs (subscribed or not). The owner is gone (410)
//!   only when its key has expired too, and only when this node has
//!   listened for at least that lifetime itself (Redis may have restarted
//!   and lost every key just before: live owners rewrite theirs within
//!   it). Otherwise the owner is alive but not listening now
//!   ([`Outcome::Unavailable`], 503). A node that stopped (a restarted node
//!   has a new tag) is gone once its key expires; one shut down gracefully
//!   deletes its key once its connections are closed ([`Relay::withdraw`]),
//!   so its ids are gone at once;
//! - Redis unreachable, or this node not subscribed (still connecting, or
//!   reconnecting after losing Redis): the call cannot be carried out now
//!   ([`Outcome::Unavailable`], 503);
//! - no reply within [`REPLY_TIMEOUT`] (the owner is overloaded, or died
//!   without Redis noticing yet): [`Outcome::TimedOut`] (504). The call may
//!   still have been carried out.
//!
//! The subscription is re-established with exponential backoff (100 ms to
//! 5 s) whenever it is lost, and a ping every few seconds notices a
//! connection that died silently. Publishing (and the presence key) goes
//! through a [`ConnectionManager`], which reconnects by itself.

use super::connection_id::NodeTag;
use super::fleet::{self, Call, Outcome};
use super::registry::Connections;
use super::wire::{self, Message};
use crate::lock::LockOrRecover;
use arc_swap::ArcSwapOption;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How long a caller waits for the owner node's reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(3);
/// How often a node rewrites its presence key.
pub const PRESENCE_EVERY: Duration = Duration::from_secs(3);
/// How long a presence key outlives its last write: a node that stopped
/// is gone (410) this long after, at most.
pub const PRESENCE_TTL: Duration = Duration::from_secs(10);
/// How long a `PUBLISH` (or a reply's) may take.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(1);
/// How long connecting and subscribing may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the subscription's connection is checked, and how long the
/// check may take.
const PING_EVERY: Duration = Duration::from_secs(5);
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// Reconnection backoff: doubles from the first to the last.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_LAST: Duration = Duration::from_secs(5);

/// The channel the node tagged `node` listens on.
pub fn channel_of(node: NodeTag) -> String {
    format!("archway:ws:{node}")
}

/// The key that says the node tagged `node` runs (see the module's doc).
pub fn presence_key_of(node: NodeTag) -> String {
    format!("archway:ws:node:{node}")
}

/// The relay's clocks; [`Timing::default`] in nodes, shorter in tests.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How long a caller waits for the owner node's reply.
    pub reply_timeout: Duration,
    /// How often the node rewrites its presence key.
    pub presence_every: Duration,
    /// The presence key's lifetime (well above `presence_every`, so a
    /// slow write or two does not make a live node gone).
    pub presence_ttl: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            reply_timeout: REPLY_TIMEOUT,
            presence_every: PRESENCE_EVERY,
            presence_ttl: PRESENCE_TTL,
        }
    }
}

type Pending = HashMap<u64, oneshot::Sender<Outcome>, foldhash::fast::RandomState>;

#[derive(Debug)]
pub struct Relay {
    /// This node's channel: requests for its connections and replies to
    /// its own requests both arrive here.
    channel: String,
    /// This node's presence key.
    presence: String,
    publisher: ArcSwapOption<ConnectionManager>,
    subscribed: AtomicBool,
    /// Since when this node has listened without a break (None: it does
    /// not listen now).
    subscribed_at: Mutex<Option<Instant>>,
    pending: Mutex<Pending>,
    next_correlation: AtomicU64,
    timing: Timing,
    /// Held around each write of the presence key; true once the node
    /// withdrew it (shutting down), after which it is never written again.
    withdrawn: tokio::sync::Mutex<bool>,
}

impl Relay {
    /// Starts relaying for `connections`' node through the Redis at `url`:
    /// connects and subscribes in the background (a node starts and serves
    /// its own connections while Redis is down).
    pub fn start(url: &str, connections: Arc<Connections>) -> anyhow::Result<Arc<Relay>> {
        Self::start_with(url, connections, Timing::default())
    }

    /// [`Relay::start`] with other clocks (tests).
    pub fn start_with(
        url: &str,
        connections: Arc<Connections>,
        timing: Timing,
    ) -> anyhow::Result<Arc<Relay>> {
        let client = redis::Client::open(url)?;
        let relay = Arc::new(Relay {
            channel: channel_of(connections.node()),
            presence: presence_key_of(connections.node()),
            publisher: ArcSwapOption::empty(),
            subscribed: AtomicBool::new(false),
            subscribed_at: Mutex::new(None),
            pending: Mutex::default(),
            next_correlation: AtomicU64::new(1),
            timing,
            withdrawn: tokio::sync::Mutex::new(false),
        });
        tokio::spawn(connect_publisher(relay.clone(), client.clone()));
        tokio::spawn(keep_present(relay.clone()));
        tokio::spawn(keep_subscribed(relay.clone(), client, connections));
        Ok(relay)
    }

    /// Deletes this node's presence key for good, once its connections
    /// are closed at shutdown: other nodes then answer 410 for its ids at
    /// once instead of 503 until the key expires. Until the process exits
    /// it still listens, and answers 410 for ids it no longer holds. Best
    /// effort and bounded: without Redis the key expires as it would.
    pub async fn withdraw(&self) {
        let mut withdrawn = self.withdrawn.lock().await;
        *withdrawn = true;
        let Some(publisher) = self.publisher.load_full() else {
            return;
        };
        let mut connection = (*publisher).clone();
        let mut command = redis::cmd("DEL");
        command.arg(&self.presence);
        let deleted = command.query_async::<()>(&mut connection);
        match tokio::time::timeout(PUBLISH_TIMEOUT, deleted).await {
            Ok(Ok(())) => {
                tracing::info!(key = %self.presence, "withdrew the node's @connections presence")
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, key = %self.presence, "withdrawing the node's @connections presence")
            }
            Err(_) => tracing::warn!(
                key = %self.presence,
                "withdrawing the node's @connections presence took over {PUBLISH_TIMEOUT:?}"
            ),
        }
    }

    /// Whether this node listens on its channel now (replies can reach it).
    pub fn is_subscribed(&self) -> bool {
        self.subscribed.load(Ordering::Acquire)
    }

    /// Carries out `call` on the node its id names.
    pub async fn call(&self, call: Call) -> Outcome {
        if !self.is_subscribed() {
            return Outcome::Unavailable(
                "this node is not subscribed to Redis (connecting or reconnecting)",
            );
        }
        let Some(publisher) = self.publisher.load_full() else {
            return Outcome::Unavailable("this node is not connected to Redis yet");
        };
        let correlation = self.next_correlation.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending_map().insert(correlation, tx);
        // Removes the entry however this call ends (answered, timed out,
        // or the caller gone).
        let _pending = PendingEntry {
            relay: self,
            correlation,
        };
        let message = wire::encode_request(correlation, &self.channel, &call);
        let owner = channel_of(call.id.node());
        match publish(&publisher, &owner, &message).await {
            Err(reason) => {
                tracing::warn!(error = %reason, channel = %owner, "relaying an @connections call");
                return Outcome::Unavailable("Redis did not take the call");
            }
            Ok(0) => return self.not_listening(&publisher, call.id.node()).await,
            Ok(_) => {}
        }
        match tokio::time::timeout(self.timing.reply_timeout, rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Outcome::Unavailable("the Redis subscription was lost while waiting"),
            Err(_) => Outcome::TimedOut,
        }
    }

    /// No node listens for `owner`'s tag: gone (410) only when its
    /// presence key expired and this node has listened long enough to know
    /// the key is not missing because Redis lost it; else the owner may be
    /// alive and resubscribing (503, which SDKs retry).
    async fn not_listening(&self, publisher: &ConnectionManager, owner: NodeTag) -> Outcome {
        if !self.listened_for(self.timing.presence_ttl) {
            return Outcome::Unavailable(
                "the node that holds the connection is not listening on Redis, and this node subscribed too recently to tell whether it stopped",
            );
        }
        let key = presence_key_of(owner);
        let mut connection = publisher.clone();
        let mut command = redis::cmd("EXISTS");
        command.arg(&key);
        let exists = command.query_async::<i64>(&mut connection);
        match tokio::time::timeout(PUBLISH_TIMEOUT, exists).await {
            Ok(Ok(0)) => Outcome::Gone,
            Ok(Ok(_)) => Outcome::Unavailable(
                "the node that holds the connection runs but is not listening on Redis now (resubscribing)",
            ),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, %key, "checking an @connections owner's presence");
                Outcome::Unavailable(
                    "Redis did not say whether the node that holds the connection runs",
                )
            }
            Err(_) => Outcome::Unavailable(
                "Redis did not say in time whether the node that holds the connection runs",
            ),
        }
    }

    /// Whether this node has listened on its channel, without a break, for
    /// at least `span`.
    fn listened_for(&self, span: Duration) -> bool {
        self.subscribed_at
            .lock_or_recover()
            .is_some_and(|since| since.elapsed() >= span)
    }

    fn pending_map(&self) -> std::sync::MutexGuard<'_, Pending> {
        // Each use is one map operation: a poisoned map is still whole.
        self.pending.lock_or_recover()
    }

    /// Handles one message from the node's channel.
    fn receive(self: &Arc<Self>, payload: &[u8], connections: &Arc<Connections>) {
        match wire::decode(payload) {
            Some(Message::Reply {
                correlation,
                outcome,
            }) => {
                // No entry: the caller stopped waiting.
                if let Some(waiting) = self.pending_map().remove(&correlation) {
                    let _ = waiting.send(outcome);
                }
            }
            Some(Message::Request {
                correlation,
                reply_to,
                call,
            }) => {
                let (relay, connections) = (self.clone(), connections.clone());
                tokio::spawn(async move {
                    let outcome = fleet::execute(&connections, &call).await;
                    let reply = wire::encode_reply(correlation, &outcome);
                    let Some(publisher) = relay.publisher.load_full() else {
                        return;
                    };
                    if let Err(e) = publish(&publisher, &reply_to, &reply).await {
                        tracing::warn!(error = %e, channel = %reply_to, "replying to an @connections call");
                    }
                });
            }
            None => tracing::warn!(
                channel = %self.channel,
                bytes = payload.len(),
                "ignoring a message on the @connections channel that is not one"
            ),
        }
    }

    /// The subscription is lost: no reply can arrive, so every waiting
    /// call ends now (as unavailable) rather than at its timeout.
    fn lost_subscription(&self) {
        self.subscribed.store(false, Ordering::Release);
        *self.subscribed_at.lock_or_recover() = None;
        self.pending_map().clear();
    }
}

struct PendingEntry<'a> {
    relay: &'a Relay,
    correlation: u64,
}

impl Drop for PendingEntry<'_> {
    fn drop(&mut self) {
        self.relay.pending_map().remove(&self.correlation);
    }
}

async fn publish(
    publisher: &ConnectionManager,
    channel: &str,
    message: &[u8],
) -> Result<i64, String> {
    let mut connection = publisher.clone();
    let mut command = redis::cmd("PUBLISH");
    command.arg(channel).arg(message);
    let publish = command.query_async::<i64>(&mut connection);
    match tokio::time::timeout(PUBLISH_TIMEOUT, publish).await {
        Ok(Ok(receivers)) => Ok(receivers),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {PUBLISH_TIMEOUT:?}")),
    }
}

/// Connects the publishing connection, retrying with backoff until it
/// works; from then on the manager reconnects by itself.
async fn connect_publisher(relay: Arc<Relay>, client: redis::Client) {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(PUBLISH_TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(BACKOFF_LAST);
    let mut backoff = BACKOFF_FIRST;
    loop {
        match ConnectionManager::new_with_config(client.clone(), config.clone()).await {
            Ok(manager) => {
                relay.publisher.store(Some(Arc::new(manager)));
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "cannot reach Redis for @connections yet");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_LAST);
            }
        }
    }
}

/// Rewrites the node's presence key for as long as the node runs, whether
/// it listens on its channel or not: while it runs its connections are
/// there, even when it cannot be asked about them now.
async fn keep_present(relay: Arc<Relay>) {
    let mut tick = tokio::time::interval(relay.timing.presence_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ttl_ms = u64::try_from(relay.timing.presence_ttl.as_millis()).unwrap_or(u64::MAX);
    loop {
        tick.tick().await;
        // Not connected yet: connect_publisher is on it.
        let Some(publisher) = relay.publisher.load_full() else {
            continue;
        };
        // Held across the write, so a withdrawal never races a rewrite.
        let withdrawn = relay.withdrawn.lock().await;
        if *withdrawn {
            return;
        }
        let mut connection = (*publisher).clone();
        let mut command = redis::cmd("SET");
        command.arg(&relay.presence).arg(1).arg("PX").arg(ttl_ms);
        let set = command.query_async::<()>(&mut connection);
        match tokio::time::timeout(PUBLISH_TIMEOUT, set).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, key = %relay.presence, "refreshing the node's @connections presence")
            }
            Err(_) => tracing::warn!(
                key = %relay.presence,
                "refreshing the node's @connections presence took over {PUBLISH_TIMEOUT:?}"
            ),
        }
    }
}

/// Keeps the node subscribed to its channel, resubscribing with backoff
/// whenever the connection is lost.
async fn keep_subscribed(relay: Arc<Relay>, client: redis::Client, connections: Arc<Connections>) {
    let mut backoff = BACKOFF_FIRST;
    loop {
        let result = serve_subscription(&relay, &client, &connections).await;
        let was_subscribed = relay.is_subscribed();
        relay.lost_subscription();
        if was_subscribed {
            backoff = BACKOFF_FIRST;
        }
        match result {
            Err(e) if was_subscribed => {
                tracing::warn!(error = %e, "lost the Redis subscription for @connections; resubscribing")
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "cannot subscribe to Redis for @connections yet")
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_LAST);
    }
}

/// Subscribes and handles messages until the connection fails.
async fn serve_subscription(
    relay: &Arc<Relay>,
    client: &redis::Client,
    connections: &Arc<Connections>,
) -> Result<std::convert::Infallible, String> {
    let pubsub = tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_pubsub())
        .await
        .map_err(|_| "connecting timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    let (mut sink, mut stream) = pubsub.split();
    tokio::time::timeout(CONNECT_TIMEOUT, sink.subscribe(&relay.channel))
        .await
        .map_err(|_| "subscribing timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    *relay.subscribed_at.lock_or_recover() = Some(Instant::now());
    relay.subscribed.store(true, Ordering::Release);
    tracing::info!(channel = %relay.channel, "subscribed to Redis for @connections");
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(message) => relay.receive(message.get_payload_bytes(), connections),
                None => return Err("the connection closed".into()),
            },
            _ = ping.tick() => {
                match tokio::time::timeout(PING_TIMEOUT, sink.ping::<redis::Value>()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Err(format!("ping failed: {e}")),
                    Err(_) => return Err(format!("no answer to a ping within {PING_TIMEOUT:?}")),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::websocket::connection_id::ConnectionId;
    use crate::websocket::fleet::Command;

    fn call(node: NodeTag) -> Call {
        Call {
            api_id: "chat".into(),
            stage: "prod".into(),
            id: ConnectionId::new(node),
            command: Command::Get,
        }
    }

    #[test]
    fn channels_and_presence_keys_name_the_node_tag() {
        let tag = NodeTag([0x0a, 0x0b, 0x0c, 0xff]);
        assert_eq!(channel_of(tag), "archway:ws:0a0b0cff");
        assert_eq!(presence_key_of(tag), "archway:ws:node:0a0b0cff");
        let t = Timing::default();
        assert!(
            t.presence_ttl >= t.presence_every * 3,
            "a missed write or two is not gone"
        );
    }

    #[tokio::test]
    async fn without_redis_calls_are_unavailable_not_gone() {
        // Nothing listens on port 9: the relay never subscribes.
        let connections = Arc::new(Connections::new(NodeTag::random()));
        let relay = Relay::start("redis://127.0.0.1:9", connections).unwrap();
        assert!(!relay.is_subscribed());
        assert!(matches!(
            relay.call(call(NodeTag::random())).await,
            Outcome::Unavailable(_)
        ));
    }

    #[tokio::test]
    async fn a_lost_subscription_ends_waiting_calls_at_once() {
        let relay = Relay {
            channel: "archway:ws:00000000".into(),
            presence: "archway:ws:node:00000000".into(),
            publisher: ArcSwapOption::empty(),
            subscribed: AtomicBool::new(true),
            subscribed_at: Mutex::new(Some(Instant::now())),
            pending: Mutex::default(),
            next_correlation: AtomicU64::new(1),
            timing: Timing {
                reply_timeout: Duration::from_secs(60),
                ..Timing::default()
            },
            withdrawn: tokio::sync::Mutex::new(false),
        };
        let (tx, rx) = oneshot::channel::<Outcome>();
        relay.pending_map().insert(1, tx);
        relay.lost_subscription();
        assert!(!relay.is_subscribed());
        assert!(!relay.listened_for(Duration::ZERO), "a break in listening");
        assert!(rx.await.is_err(), "the waiting call is woken");
    }

    #[test]
    fn urls_that_are_not_redis_are_refused_at_start() {
        let connections = Arc::new(Connections::new(NodeTag::random()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            assert!(Relay::start("http://127.0.0.1:6379", connections).is_err());
        });
    }
}
