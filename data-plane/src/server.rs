//! Listeners and connections: HTTP/1.1 and cleartext HTTP/2 (h2c, by prior
//! knowledge) on one port through hyper-util's auto builder, with bounded
//! header sizes and read timeouts, and a graceful drain on shutdown. With a
//! TLS configuration the listener serves HTTPS instead: each connection's
//! handshake (ALPN `h2` or `http/1.1`) runs in its own task under a
//! deadline, so slow or silent clients cannot hold sockets, and a client
//! that does not speak TLS is dropped after a failed handshake.

use crate::pipeline::Gateway;
use crate::pipeline::headers::ClientInfo;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_HEADER_BYTES: usize = 64 * 1024;
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
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
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    privacy: Privacy,
    tls: Option<Arc<rustls::ServerConfig>>,
    connections: Arc<tokio::sync::Semaphore>,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEADER_BYTES as u32)
        .keep_alive_interval(Some(Duration::from_secs(30)));
    // REQUEST authorizer events carry the client's header-name case, which
    // HTTP/1 keeps only when asked (HTTP/2 names are lowercase on the
    // wire). Keeping it costs a map per request, so only connections
    // accepted while such an authorizer is deployed do.
    let mut case_builder = builder.clone();
    case_builder.http1().preserve_header_case(true);
    let graceful = GracefulShutdown::new();
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
        let client = Arc::new(ClientInfo::new(
            remote.ip(),
            privacy.is_private(remote.ip()),
            acceptor.is_some(),
        ));
        let service = service_fn(move |request| {
            let gateway = gateway.clone();
            let client = client.clone();
            async move { Ok::<_, Infallible>(gateway.handle(request, &client).await) }
        });
        let Some(acceptor) = &acceptor else {
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .into_owned();
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                let _permit = permit;
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, %remote, "connection ended with an error");
                }
            });
            continue;
        };
        // The handshake runs in the connection's own task: one slow client
        // must not hold up the accept loop.
        let handshake = acceptor.accept(stream);
        let builder = builder.clone();
        let watcher = graceful.watcher();
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
                .serve_connection(TokioIo::new(stream), service)
                .into_owned();
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(error = %e, %remote, "connection ended with an error");
            }
        });
    }

    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout");
    }
}
