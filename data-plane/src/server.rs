//! Listeners and connections: HTTP/1.1 and cleartext HTTP/2 (h2c, by prior
//! knowledge) on one port through hyper-util's auto builder, with bounded
//! request heads and read timeouts, and a graceful drain on shutdown. With a
//! TLS configuration the listener serves HTTPS instead: each connection's
//! handshake (ALPN `h2` or `http/1.1`) runs in its own task under a
//! deadline, so slow or silent clients cannot hold sockets, and a client
//! that does not speak TLS is dropped after a failed handshake.
//!
//! Slow and silent clients (slowloris) hold a socket, a task and a slot
//! under `--max-connections` each, at no cost to themselves. So a client
//! gets `--header-read-timeout-secs` (default 10) for each request head
//! (hyper's HTTP/1 header read timeout, which also runs while an HTTP/1
//! connection waits idle for its next request), and every connection,
//! HTTP/1 or HTTP/2, that starts no request for that long and has none in
//! progress is closed gracefully (see `drive`). That covers what hyper does
//! not: a connection that sends nothing, or too little to tell HTTP/1 from
//! HTTP/2, and an HTTP/2 connection that opens no stream (answering pings
//! keeps it alive as far as hyper is concerned).
//!
//! Request heads are bounded in fields (256; hyper's default of 100 refuses
//! ordinary requests behind a few proxies with many cookies) and in bytes
//! (64 KiB, request line included; HTTP/2: the header list); over either,
//! the client gets 431.

use crate::pipeline::Gateway;
use crate::pipeline::headers::ClientInfo;
use crate::pipeline::passthrough::ConnectionSlot;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;

/// How long a client may take over a request head, and a connection go
/// without starting a request, by default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub use crate::pipeline::headers::MAX_REQUEST_HEADERS;
/// Bytes in one request head, at most.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection that never started a request, closed gracefully for its
/// silence, is dropped if still open after this long.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(1);
/// A TLS client gets this long from accept to a finished handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Which connections may reach PRIVATE APIs.
#[derive(Debug, Clone, Default)]
pub struct Privacy {
    /// Every connection of this listener is private.
    pub listener_is_private: bool,
    /// Connections from these networks are private on any listener.
    pub private_cidrs: Arc<[ipnet::IpNet]>,
}

impl Privacy {
    fn is_private(&self, ip: std::net::IpAddr) -> bool {
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
            v4 => v4,
        };
        self.listener_is_private || self.private_cidrs.iter().any(|net| net.contains(&ip))
    }
}

/// Serves `gateway` on `listener` until `shutdown` completes, then lets open
/// requests finish for up to ten seconds. With `tls`, every connection is
/// HTTPS; without, HTTP/1.1 and h2c.
///
/// `connections` caps the open client connections (shared by a node's
/// listeners): at the cap the loop stops accepting, so new clients wait in
/// the kernel's backlog instead of exhausting file descriptors and memory.
/// `header_read_timeout` bounds each request head and each silence between
/// requests.
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    privacy: Privacy,
    tls: Option<Arc<rustls::ServerConfig>>,
    connections: Arc<tokio::sync::Semaphore>,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let idle = header_read_timeout.max(Duration::from_millis(100));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(idle)
        .max_headers(MAX_REQUEST_HEADERS)
        .max_buf_size(MAX_HEADER_BYTES.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEADER_BYTES as u32)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        // RFC 8441: WebSockets over HTTP/2 streams (see
        // `pipeline::passthrough`).
        .enable_connect_protocol();
    // REQUEST authorizer events carry the client's header-name case, which
    // HTTP/1 keeps only when asked (HTTP/2 names are lowercase on the
    // wire). Keeping it costs a map per request, so only connections
    // accepted while such an authorizer is deployed do.
    let mut case_builder = builder.clone();
    case_builder.http1().preserve_header_case(true);
    // Each connection task holds a receiver: a value tells it to close
    // gracefully, and the drain is over when all are gone.
    let (stop, stopped) = tokio::sync::watch::channel(());
    tokio::pin!(shutdown);

    loop {
        let permit = match connections.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                tracing::warn!(
                    "at the connection cap (--max-connections): not accepting until one closes"
                );
                tokio::select! {
                    permit = connections.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Typically out of file descriptors: back off briefly.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let builder = if gateway.keeps_header_case() {
            &case_builder
        } else {
            &builder
        };
        let gateway = gateway.clone();
        let permit = Arc::new(permit);
        let peer = Arc::new(Peer {
            slot: ConnectionSlot(permit.clone()),
            client: ClientInfo::new(
                remote.ip(),
                privacy.is_private(remote.ip()),
                acceptor.is_some(),
            ),
            activity: Activity::default(),
        });
        let service_peer = peer.clone();
        let service = service_fn(move |request| {
            let gateway = gateway.clone();
            let peer = service_peer.clone();
            async move {
                let _in_flight = peer.activity.start();
                // Boxed once here: the pipeline takes any body.
                let mut request = request.map(crate::body::streaming);
                // A request the connection can switch (hyper saw an upgrade
                // or a CONNECT) carries the connection's slot under
                // --max-connections: a tunnel keeps it once the connection
                // has handed its socket over.
                if request
                    .extensions()
                    .get::<hyper::upgrade::OnUpgrade>()
                    .is_some()
                {
                    request.extensions_mut().insert(peer.slot.clone());
                }
                Ok::<_, Infallible>(gateway.handle(request, &peer.client).await)
            }
        });
        let stop = stopped.clone();
        let Some(acceptor) = &acceptor else {
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            tokio::spawn(async move {
                let _permit = permit;
                let shutdown = |c: Pin<&mut _>| auto::UpgradeableConnection::graceful_shutdown(c);
                if let Err(e) = drive(connection, shutdown, &peer.activity, idle, stop).await {
                    tracing::debug!(error = %e, %remote, "connection ended with an error");
                }
            });
            continue;
        };
        // The handshake runs in the connection's own task: one slow client
        // must not hold up the accept loop.
        let handshake = acceptor.accept(stream);
        let builder = builder.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, %remote, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%remote, "TLS handshake timed out");
                    return;
                }
            };
            // hyper-util's auto builder tells HTTP/2 (ALPN h2) from
            // HTTP/1.1 by the connection preface.
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            let shutdown = |c: Pin<&mut _>| auto::UpgradeableConnection::graceful_shutdown(c);
            if let Err(e) = drive(connection, shutdown, &peer.activity, idle, stop).await {
                tracing::debug!(error = %e, %remote, "connection ended with an error");
            }
        });
    }

    drop(listener);
    drop(stopped);
    let _ = stop.send(());
    // WebSocket pass-through tunnels have left their HTTP/1 connections
    // (an HTTP/2 one still carries its streams): closed now, bounded, so
    // that the drain never waits on them.
    gateway.tunnels().close_all();
    if tokio::time::timeout(DRAIN_TIMEOUT, stop.closed())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout");
    }
}

/// One client connection: who it is, and what it is doing.
struct Peer {
    client: ClientInfo,
    activity: Activity,
    /// Its slot under the connection cap.
    slot: ConnectionSlot,
}

/// A connection's requests, counted for its idle check: two relaxed
/// atomic additions per request, no clock read.
#[derive(Default)]
struct Activity {
    started: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn start(&self) -> InFlight<'_> {
        self.started.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }
}

/// A request until its response head is ready (or it is dropped). After
/// that a graceful close lets its body finish, so the body need not be
/// tracked.
struct InFlight<'a>(&'a Activity);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs `connection` to its end, closing it gracefully (`shutdown`) when
/// the node stops, or when no request has started on it for a whole
/// `idle` period and none is in progress: a silent connection closes
/// `idle` after its last request began (or after it was accepted), at
/// most twice that after its last request ended. A response body still
/// streaming then is not cut: HTTP/1 finishes it before closing, HTTP/2
/// sends GOAWAY and lets its streams end.
///
/// A graceful HTTP/2 close waits for the client to answer a PING, which a
/// silent client never does: a connection that never started a request
/// and is not gone [`IDLE_CLOSE_GRACE`] later is dropped (nothing on it to
/// lose). One that did start requests is left to hyper's keep-alive
/// PINGs, which drop a client that stops answering.
async fn drive<F, E>(
    connection: F,
    shutdown: impl Fn(Pin<&mut F>),
    activity: &Activity,
    idle: Duration,
    mut stop: tokio::sync::watch::Receiver<()>,
) -> Result<(), E>
where
    F: Future<Output = Result<(), E>>,
{
    #[derive(PartialEq)]
    enum Closing {
        No,
        /// Closing a connection that never started a request: dropped at
        /// the next check.
        Silent,
        /// Closing gracefully, for as long as that takes.
        Graceful,
    }
    let mut connection = std::pin::pin!(connection);
    let check = tokio::time::sleep(idle);
    tokio::pin!(check);
    let mut seen = 0;
    let mut closing = Closing::No;
    loop {
        // Polled on every wake-up of the connection: the connection first,
        // no random branch order.
        tokio::select! {
            biased;
            result = connection.as_mut() => return result,
            () = &mut check, if closing != Closing::Graceful => {
                if closing == Closing::Silent {
                    // A request that slipped in during the grace (an HTTP/2
                    // stream opened before the GOAWAY arrived) is served to
                    // its end, never cut.
                    if activity.started.load(Ordering::Relaxed) == 0 {
                        tracing::debug!("a silent connection did not close gracefully: dropped");
                        return Ok(());
                    }
                    closing = Closing::Graceful;
                    continue;
                }
                let started = activity.started.load(Ordering::Relaxed);
                if started == seen && activity.in_flight.load(Ordering::Relaxed) == 0 {
                    shutdown(connection.as_mut());
                    if started == 0 {
                        closing = Closing::Silent;
                        check.as_mut().reset(tokio::time::Instant::now() + IDLE_CLOSE_GRACE);
                    } else {
                        closing = Closing::Graceful;
                    }
                } else {
                    seen = started;
                    check.as_mut().reset(tokio::time::Instant::now() + idle);
                }
            }
            _ = stop.changed(), if closing == Closing::No => {
                closing = Closing::Graceful;
                shutdown(connection.as_mut());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use tokio::sync::Notify;

    const IDLE: Duration = Duration::from_millis(50);

    /// A stand-in for a client connection.
    type Conn<'a> = Pin<Box<dyn Future<Output = Result<(), ()>> + 'a>>;

    /// Drives a connection that ends when asked to close (`obeys`) or
    /// never, for up to `within`: how it ended (None: still running), and
    /// how often it was asked to close.
    async fn run(
        obeys: bool,
        activity: &Activity,
        stop: tokio::sync::watch::Receiver<()>,
        within: Duration,
    ) -> (Option<Result<(), ()>>, usize) {
        let asked = AtomicUsize::new(0);
        let notify = Notify::new();
        let connection: Conn<'_> = Box::pin(async {
            if obeys {
                notify.notified().await;
            } else {
                std::future::pending::<()>().await;
            }
            Ok(())
        });
        let shutdown = |_: Pin<&mut Conn<'_>>| {
            asked.fetch_add(1, Ordering::SeqCst);
            notify.notify_one();
        };
        let driven = drive(connection, shutdown, activity, IDLE, stop);
        let ended = tokio::time::timeout(within, driven).await.ok();
        (ended, asked.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_connection_that_never_starts_a_request_is_dropped_if_it_ignores_the_close() {
        let (_stop, stopped) = tokio::sync::watch::channel(());
        let activity = Activity::default();
        let (ended, asked) = run(false, &activity, stopped, IDLE_CLOSE_GRACE * 3).await;
        assert_eq!(ended, Some(Ok(())), "dropped after the grace");
        assert_eq!(asked, 1);
    }

    #[tokio::test]
    async fn an_idle_connection_that_served_requests_is_closed_gracefully_not_dropped() {
        let (_stop, stopped) = tokio::sync::watch::channel(());
        let activity = Activity::default();
        drop(activity.start());
        let (ended, asked) = run(false, &activity, stopped, IDLE_CLOSE_GRACE * 2).await;
        assert_eq!(
            ended, None,
            "a response may still be streaming: not dropped"
        );
        assert_eq!(asked, 1, "but asked to close");
    }

    #[tokio::test]
    async fn an_idle_connection_that_obeys_ends() {
        let (_stop, stopped) = tokio::sync::watch::channel(());
        let activity = Activity::default();
        drop(activity.start());
        let (ended, asked) = run(true, &activity, stopped, IDLE * 20).await;
        assert_eq!(ended, Some(Ok(())));
        assert_eq!(asked, 1);
    }

    #[tokio::test]
    async fn a_request_in_progress_keeps_its_connection() {
        let (_stop, stopped) = tokio::sync::watch::channel(());
        let activity = Activity::default();
        let _in_flight = activity.start();
        let (ended, asked) = run(true, &activity, stopped, IDLE * 8).await;
        assert_eq!((ended, asked), (None, 0));
    }

    #[tokio::test]
    async fn steady_requests_keep_their_connection() {
        let (_stop, stopped) = tokio::sync::watch::channel(());
        let activity = Arc::new(Activity::default());
        let busy = activity.clone();
        let client = tokio::spawn(async move {
            for _ in 0..40 {
                drop(busy.start());
                tokio::time::sleep(IDLE / 5).await;
            }
        });
        let (ended, asked) = run(true, &activity, stopped, IDLE * 6).await;
        assert_eq!((ended, asked), (None, 0));
        client.abort();
    }

    #[tokio::test]
    async fn stopping_the_node_closes_busy_connections_gracefully() {
        let (stop, stopped) = tokio::sync::watch::channel(());
        let activity = Activity::default();
        let _in_flight = activity.start();
        stop.send(()).unwrap();
        let (ended, asked) = run(true, &activity, stopped, IDLE * 20).await;
        assert_eq!(ended, Some(Ok(())));
        assert_eq!(asked, 1);
    }
}
