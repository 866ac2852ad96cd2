//! Byte tunnels between a client and a backend after a protocol upgrade
//! (WebSocket pass-through): what one side sends is copied to the other as
//! it arrives, through two fixed buffers per tunnel, with no frame parsing
//! and nothing allocated per message.
//!
//! Every tunnel is bounded, since neither end has to send anything once the
//! upgrade is done:
//! - an idle timeout: a tunnel with no byte in either direction for that
//!   long is closed (checked every quarter of it, at most every 5 s, so it
//!   closes after between 1 and 1.25 times the timeout);
//! - node shutdown: [`Tunnels::close_all`] closes every tunnel (both sides
//!   shut down, then dropped, within [`CLOSE_GRACE`]), so the drain of the
//!   client connections never waits on one (an HTTP/2 connection carrying
//!   an extended CONNECT stream would otherwise hold the drain to its end).
//!
//! The node's tunnels are counted in metrics: `archway_passthrough_tunnels`
//! (open now), `archway_passthrough_bytes` (by direction, added as they
//! flow, at every check) and `archway_passthrough_closes` (by reason), each
//! by api and stage.

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Meter, UpDownCounter};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;

/// AWS closes idle WebSocket connections after 10 minutes.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// How long closing one side of a tunnel (a TLS close_notify, an HTTP/2
/// END_STREAM) may take before the tunnel is dropped.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Each direction's copy buffer, allocated for the tunnel's life: an idle
/// tunnel cost the node 18.3 KiB with 8 KiB buffers and 10.2 KiB with 4 KiB
/// (2,000 idle tunnels, node RSS), with no change in what one tunnel
/// carried (about 100 MiB/s each way of 64 KiB messages, debug build).
const BUFFER_BYTES: usize = 4 * 1024;
/// The idle check runs at least this often (the byte counters are added to
/// the metrics then too).
const MAX_CHECK_EVERY: Duration = Duration::from_secs(5);

/// Why a tunnel ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Both sides finished (each side's end passed on to the other).
    Ended,
    /// A side failed (reset, broken pipe).
    Failed,
    /// No byte either way for the idle timeout.
    Idle,
    /// The node is shutting down.
    Shutdown,
}

impl Closed {
    fn as_str(self) -> &'static str {
        match self {
            Closed::Ended => "ended",
            Closed::Failed => "failed",
            Closed::Idle => "idle",
            Closed::Shutdown => "shutdown",
        }
    }
}

#[derive(Debug, Clone)]
struct TunnelMetrics {
    open: UpDownCounter<i64>,
    bytes: Counter<u64>,
    closes: Counter<u64>,
}

impl TunnelMetrics {
    fn new(meter: &Meter) -> Self {
        Self {
            open: meter
                .i64_up_down_counter("archway_passthrough_tunnels")
                .with_description("Open WebSocket pass-through tunnels, by api and stage")
                .build(),
            bytes: meter
                // No unit: the exporter would append `_bytes` again.
                .u64_counter("archway_passthrough_bytes")
                .with_description(
                    "Bytes copied through WebSocket pass-through tunnels, by api, stage and direction (client_to_backend, backend_to_client)",
                )
                .build(),
            closes: meter
                .u64_counter("archway_passthrough_closes")
                .with_description(
                    "WebSocket pass-through tunnels closed, by api, stage and reason (ended, failed, idle, shutdown)",
                )
                .build(),
        }
    }
}

/// The node's tunnels: their settings, metrics and shutdown signal.
#[derive(Debug)]
pub struct Tunnels {
    idle_timeout: Duration,
    metrics: Option<TunnelMetrics>,
    /// True once the node shuts down; every tunnel holds a receiver, so the
    /// sender sees when the last one ended.
    closing: watch::Sender<bool>,
}

impl Tunnels {
    /// Tunnels closed after `idle_timeout` without a byte either way,
    /// recorded in `meter` (None: not recorded).
    pub fn new(idle_timeout: Duration, meter: Option<&Meter>) -> Self {
        Self {
            idle_timeout: idle_timeout.max(Duration::from_millis(10)),
            metrics: meter.map(TunnelMetrics::new),
            closing: watch::channel(false).0,
        }
    }

    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// Tells every tunnel, and any opened from now on, to close.
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }

    /// Waits until no tunnel is open (at once when none is).
    pub async fn all_closed(&self) {
        self.closing.closed().await;
    }

    /// Tunnels open now.
    pub fn open(&self) -> usize {
        self.closing.receiver_count()
    }

    /// Joins `client` and `backend` until both ends finish, one fails, the
    /// tunnel goes idle or the node shuts down; says which. `labels` (api
    /// and stage) label its metrics.
    pub async fn run<C, B>(&self, client: C, backend: B, labels: &[KeyValue]) -> Closed
    where
        C: AsyncRead + AsyncWrite + Unpin,
        B: AsyncRead + AsyncWrite + Unpin,
    {
        let mut closing = self.closing.subscribe();
        let _open = OpenGauge::new(self.metrics.as_ref(), labels);
        let up = AtomicU64::new(0);
        let down = AtomicU64::new(0);
        let mut client = Counted {
            inner: client,
            read: &up,
        };
        let mut backend = Counted {
            inner: backend,
            read: &down,
        };
        let mut reported = (0, 0);
        let report = |reported: &mut (u64, u64)| {
            let now = (up.load(Ordering::Relaxed), down.load(Ordering::Relaxed));
            if let Some(m) = &self.metrics {
                for (delta, direction) in [
                    (now.0 - reported.0, "client_to_backend"),
                    (now.1 - reported.1, "backend_to_client"),
                ] {
                    if delta > 0 {
                        let mut attributes = labels.to_vec();
                        attributes.push(KeyValue::new("direction", direction));
                        m.bytes.add(delta, &attributes);
                    }
                }
            }
            *reported = now;
        };
        let closed = if *closing.borrow_and_update() {
            Closed::Shutdown
        } else {
            let check_every = (self.idle_timeout / 4).min(MAX_CHECK_EVERY);
            let mut checks = tokio::time::interval_at(Instant::now() + check_every, check_every);
            checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut quiet_since = Instant::now();
            let mut seen = 0;
            let copy = tokio::io::copy_bidirectional_with_sizes(
                &mut client,
                &mut backend,
                BUFFER_BYTES,
                BUFFER_BYTES,
            );
            tokio::pin!(copy);
            loop {
                tokio::select! {
                    result = &mut copy => break match result {
                        Ok(_) => Closed::Ended,
                        Err(e) => {
                            tracing::debug!(error = %e, "pass-through tunnel failed");
                            Closed::Failed
                        }
                    },
                    _ = checks.tick() => {
                        let total = up.load(Ordering::Relaxed) + down.load(Ordering::Relaxed);
                        if total != seen {
                            seen = total;
                            quiet_since = Instant::now();
                        } else if quiet_since.elapsed() >= self.idle_timeout {
                            break Closed::Idle;
                        }
                        report(&mut reported);
                    }
                    _ = closing.wait_for(|closing| *closing) => break Closed::Shutdown,
                }
            }
        };
        if closed != Closed::Ended {
            // Each side's end, briefly: then both are dropped anyway.
            let _ = tokio::time::timeout(CLOSE_GRACE, async {
                let _ = client.inner.shutdown().await;
                let _ = backend.inner.shutdown().await;
            })
            .await;
        }
        report(&mut reported);
        if let Some(m) = &self.metrics {
            let mut attributes = labels.to_vec();
            attributes.push(KeyValue::new("reason", closed.as_str()));
            m.closes.add(1, &attributes);
        }
        tracing::debug!(
            reason = closed.as_str(),
            client_to_backend = reported.0,
            backend_to_client = reported.1,
            "pass-through tunnel closed"
        );
        closed
    }
}

/// The open-tunnels gauge, up while the tunnel lives.
struct OpenGauge<'a> {
    metrics: Option<&'a TunnelMetrics>,
    labels: &'a [KeyValue],
}

impl<'a> OpenGauge<'a> {
    fn new(metrics: Option<&'a TunnelMetrics>, labels: &'a [KeyValue]) -> Self {
        if let Some(m) = metrics {
            m.open.add(1, labels);
        }
        Self { metrics, labels }
    }
}

impl Drop for OpenGauge<'_> {
    fn drop(&mut self) {
        if let Some(m) = self.metrics {
            m.open.add(-1, self.labels);
        }
    }
}

/// A side of a tunnel, counting the bytes read from it.
struct Counted<'a, S> {
    inner: S,
    read: &'a AtomicU64,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<'_, S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            self.read.fetch_add(read as u64, Ordering::Relaxed);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<'_, S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, DuplexStream, duplex};

    /// A tunnel between two in-memory pipes: the client's far end, the
    /// backend's far end, and the running tunnel.
    fn tunnel(
        tunnels: &Arc<Tunnels>,
    ) -> (DuplexStream, DuplexStream, tokio::task::JoinHandle<Closed>) {
        let (client, client_far) = duplex(64 * 1024);
        let (backend, backend_far) = duplex(64 * 1024);
        let tunnels = tunnels.clone();
        let running = tokio::spawn(async move { tunnels.run(client, backend, &[]).await });
        (client_far, backend_far, running)
    }

    #[tokio::test]
    async fn bytes_go_both_ways_unchanged_and_ends_pass_through() {
        let tunnels = Arc::new(Tunnels::new(Duration::from_secs(60), None));
        let (mut client, mut backend, running) = tunnel(&tunnels);
        let large: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (sent, received) = tokio::join!(client.write_all(&large), async {
            let mut got = vec![0; large.len()];
            backend.read_exact(&mut got).await.map(|_| got)
        });
        sent.unwrap();
        assert_eq!(received.unwrap(), large);
        backend.write_all(b"hello").await.unwrap();
        let mut got = [0; 5];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello");
        assert_eq!(tunnels.open(), 1);
        // The backend closes: the client sees its end, then closes too.
        backend.shutdown().await.unwrap();
        assert_eq!(client.read(&mut got).await.unwrap(), 0);
        client.shutdown().await.unwrap();
        let closed = tokio::time::timeout(Duration::from_secs(5), running).await;
        assert_eq!(closed.unwrap().unwrap(), Closed::Ended);
        assert_eq!(tunnels.open(), 0);
    }

    #[tokio::test]
    async fn a_silent_tunnel_closes_after_the_idle_timeout_and_traffic_keeps_one_open() {
        let idle = Duration::from_millis(200);
        let tunnels = Arc::new(Tunnels::new(idle, None));
        let (mut client, mut backend, running) = tunnel(&tunnels);
        // Traffic every half timeout for three timeouts keeps it open.
        let mut byte = [0u8; 1];
        for _ in 0..6 {
            tokio::time::sleep(idle / 2).await;
            client.write_all(b"x").await.unwrap();
            backend.read_exact(&mut byte).await.unwrap();
        }
        assert!(!running.is_finished(), "closed while in use");
        let started = std::time::Instant::now();
        let closed = tokio::time::timeout(idle * 4, running).await;
        assert_eq!(closed.unwrap().unwrap(), Closed::Idle);
        assert!(started.elapsed() >= idle, "{:?}", started.elapsed());
        // Both sides see the end.
        assert_eq!(client.read(&mut byte).await.unwrap(), 0);
        assert_eq!(backend.read(&mut byte).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn closing_all_ends_open_tunnels_and_refuses_new_ones() {
        let tunnels = Arc::new(Tunnels::new(Duration::from_secs(600), None));
        let (mut client, mut backend, running) = tunnel(&tunnels);
        let (_client2, _backend2, running2) = tunnel(&tunnels);
        tokio::task::yield_now().await;
        tunnels.close_all();
        tokio::time::timeout(Duration::from_secs(5), tunnels.all_closed())
            .await
            .expect("every tunnel closed");
        assert_eq!(running.await.unwrap(), Closed::Shutdown);
        assert_eq!(running2.await.unwrap(), Closed::Shutdown);
        let mut byte = [0u8; 1];
        assert_eq!(client.read(&mut byte).await.unwrap(), 0);
        assert_eq!(backend.read(&mut byte).await.unwrap(), 0);
        // One opened during the drain closes at once.
        let (_c, _b, late) = tunnel(&tunnels);
        let closed = tokio::time::timeout(Duration::from_secs(5), late).await;
        assert_eq!(closed.unwrap().unwrap(), Closed::Shutdown);
    }
}
