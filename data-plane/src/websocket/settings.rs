//! A node's WebSocket limits, as AWS sets them for WebSocket APIs: node
//! settings (data-plane flags and their environment variables), not API
//! configuration, because they bound what one node holds in memory and how
//! long.
//!
//! AWS's defaults: messages up to 128 KB in frames of up to 32 KB, 10
//! minutes idle, 2 hours per connection. AWS limits messages per second per
//! account and route, not per connection; a connection here gets its own
//! bucket (default 500 per second, burst 500) so one client cannot take a
//! node's throttles for itself.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct WebSocketSettings {
    /// The largest message a client may send, in bytes (over it: closed
    /// with 1009).
    pub max_message: usize,
    /// The largest frame a client may send, in bytes (over it: 1009).
    pub max_frame: usize,
    /// A connection that sends and is sent nothing for this long is closed
    /// (1001).
    pub idle_timeout: Duration,
    /// A connection is closed (1001) this long after it opened.
    pub max_duration: Duration,
    /// Messages per second a connection may send (token bucket): over it,
    /// closed with 1008.
    pub messages_per_second: f64,
    /// The bucket's burst.
    pub message_burst: u32,
    /// How long a `$disconnect` call may take (part of the shutdown's
    /// bound, [`WebSocketSettings::shutdown_bound`]).
    pub disconnect_timeout: Duration,
    /// How long one write to a client (a message, or the close frame) may
    /// wait for the client to read: a client that stops reading fills its
    /// socket, and after this the node gives up on it (1006) and calls its
    /// `$disconnect`. Without it such a client would be held, with its
    /// memory, until the kernel gave up on the TCP connection.
    pub write_timeout: Duration,
    /// Bytes that may wait in a connection's outbox (`@connections` posts
    /// its client has not taken yet); beyond them a post is refused (429).
    /// An empty outbox always takes one message, whatever its size.
    pub outbox_bytes: usize,
}

pub const DEFAULT_MAX_MESSAGE: usize = 128 * 1024;
pub const DEFAULT_MAX_FRAME: usize = 32 * 1024;
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(2 * 60 * 60);
pub const DEFAULT_MESSAGES_PER_SECOND: f64 = 500.0;
pub const DEFAULT_MESSAGE_BURST: u32 = 500;
pub const DEFAULT_DISCONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_OUTBOX_BYTES: usize = 256 * 1024;

/// How long a closing connection waits for the client's close frame.
pub const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Room in tungstenite's write buffer beyond the largest message: its
/// frame header, and a close frame queued behind a message still going
/// out.
const WRITE_SLACK: usize = 1024;

/// What each connection reads into before a message is whole, and writes
/// through: small, since most connections are idle most of the time (the
/// memory per idle connection is the cost that matters with thousands).
const READ_BUFFER: usize = 4 * 1024;

impl Default for WebSocketSettings {
    fn default() -> Self {
        Self {
            max_message: DEFAULT_MAX_MESSAGE,
            max_frame: DEFAULT_MAX_FRAME,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_duration: DEFAULT_MAX_DURATION,
            messages_per_second: DEFAULT_MESSAGES_PER_SECOND,
            message_burst: DEFAULT_MESSAGE_BURST,
            disconnect_timeout: DEFAULT_DISCONNECT_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            outbox_bytes: DEFAULT_OUTBOX_BYTES,
        }
    }
}

impl WebSocketSettings {
    /// tungstenite's settings for one connection: the size limits, small
    /// buffers, and writes that go out at once (no batching: a message is
    /// an answer someone waits for).
    pub fn protocol(&self) -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
        tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER)
            .write_buffer_size(0)
            // Each write is flushed before the next starts (the sink waits
            // for it, bounded by `write_timeout`), so the buffer holds at
            // most one outgoing message: an answer (up to `max_message`)
            // or an `@connections` post (up to 128 KiB).
            .max_write_buffer_size(self.largest_outgoing() + WRITE_SLACK)
            .max_message_size(Some(self.max_message))
            .max_frame_size(Some(self.max_frame.min(self.max_message)))
    }

    /// The largest message the node sends a client: a route's answer is cut
    /// at `max_message`, an `@connections` post at 128 KiB.
    pub fn largest_outgoing(&self) -> usize {
        self.max_message.max(DEFAULT_MAX_MESSAGE)
    }

    /// What a client that reads nothing can cost the node in memory at
    /// most: its outbox and tungstenite's write buffer (the kernel's socket
    /// buffers aside), until `write_timeout` ends it.
    pub fn memory_bound_per_client(&self) -> usize {
        // The outbox admits one message beyond its bytes when empty.
        self.outbox_bytes.max(self.largest_outgoing()) + self.largest_outgoing() + WRITE_SLACK
    }

    /// What one connection may take to end once the node shuts down: a
    /// write under way (or the close frame), the client's close, then its
    /// `$disconnect`; and a second for the rest. The shutdown waits this
    /// long at most, and every connection ends by then.
    pub fn shutdown_bound(&self) -> Duration {
        self.write_timeout + CLOSE_GRACE + self.disconnect_timeout + Duration::from_secs(1)
    }
}

/// A connection's own message bucket.
#[derive(Debug)]
pub struct MessageBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: tokio::time::Instant,
}

impl MessageBucket {
    pub fn new(settings: &WebSocketSettings) -> Self {
        let burst = f64::from(settings.message_burst.max(1));
        Self {
            rate: settings.messages_per_second.max(0.0),
            burst,
            tokens: burst,
            last: tokio::time::Instant::now(),
        }
    }

    /// Takes one message's token at `now`; false: over the rate.
    pub fn take(&mut self, now: tokio::time::Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_admits_its_burst_then_its_rate() {
        let settings = WebSocketSettings {
            messages_per_second: 10.0,
            message_burst: 3,
            ..Default::default()
        };
        let mut bucket = MessageBucket::new(&settings);
        let t0 = tokio::time::Instant::now();
        assert!((0..3).all(|_| bucket.take(t0)));
        assert!(!bucket.take(t0), "burst spent");
        assert!(
            bucket.take(t0 + Duration::from_millis(100)),
            "one more per 100 ms"
        );
        assert!(!bucket.take(t0 + Duration::from_millis(100)));
    }

    #[test]
    fn frames_never_exceed_messages_and_buffers_are_small() {
        let settings = WebSocketSettings {
            max_message: 1000,
            max_frame: 32 * 1024,
            ..Default::default()
        };
        let config = settings.protocol();
        assert_eq!(config.max_message_size, Some(1000));
        assert_eq!(config.max_frame_size, Some(1000));
        assert!(config.read_buffer_size <= 4096);
        let aws = WebSocketSettings::default();
        assert_eq!(aws.max_message, 128 * 1024);
        assert_eq!(aws.max_frame, 32 * 1024);
        assert_eq!(aws.idle_timeout, Duration::from_secs(600));
        assert_eq!(aws.max_duration, Duration::from_secs(7200));
    }

    #[test]
    fn a_client_that_reads_nothing_costs_a_bounded_amount() {
        let aws = WebSocketSettings::default();
        let config = aws.protocol();
        // One message and its frame, never a queue of them.
        assert!(config.max_write_buffer_size >= 128 * 1024 + 14);
        assert!(config.max_write_buffer_size <= 130 * 1024);
        // Outbox (256 KiB) + one message in the write buffer.
        assert!(aws.memory_bound_per_client() <= 400 * 1024);
        // A node with small messages still sends 128 KiB posts whole.
        let small = WebSocketSettings {
            max_message: 1024,
            ..Default::default()
        };
        assert!(small.protocol().max_write_buffer_size > 128 * 1024);
    }

    #[test]
    fn the_shutdown_bound_covers_a_write_the_close_and_disconnect() {
        let settings = WebSocketSettings {
            write_timeout: Duration::from_secs(3),
            disconnect_timeout: Duration::from_secs(7),
            ..Default::default()
        };
        assert!(
            settings.shutdown_bound()
                > settings.write_timeout + CLOSE_GRACE + settings.disconnect_timeout
        );
    }
}
