//! The HTTP/1.1 client towards backends, run inside each request's own
//! task.
//!
//! Why not hyper's client: it drives every backend connection in a task of
//! its own and passes each request, response and body chunk across
//! channels between that task and the request's. On a proxy answering small
//! requests that hand-off was the largest cost outside the kernel (see
//! deploy/bench/README.md). Here the request's task writes the request,
//! reads the response head, and the response body is read straight from
//! the socket as the client's side asks for it, so one task and one wake-up
//! per readiness event serve the whole exchange, as in nginx. Parsing is
//! `httparse`'s, the same parser hyper uses.
//!
//! Connections are pooled per origin ([`pool`]), reused LIFO, probed for a
//! close before reuse, and swept when idle too long. A request that fails
//! on a reused connection before any response byte arrived is retried once
//! on a new connection when that is safe: an idempotent method and a body
//! that can be sent again.
//!
//! The request is written whole before the response is read. A backend
//! that answers early and stops reading (say, 413 to a large upload) is
//! still heard: a failed write is followed by an attempt to read its answer.

mod body;
mod chunked;
mod connect;
mod destination;
mod pool;
mod request_head;
mod response_head;

pub use body::ResponseBody;
pub use destination::{BadDestination, Destination};

use crate::pipeline::RequestBody;
use bytes::{Bytes, BytesMut};
use http::{Method, Response, Version};
use http_body::Body;
use pool::{Checkout, Conn, Pool};
use request_head::BodyFraming;
use std::io;
use std::sync::{Arc, Once};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio_rustls::TlsConnector;

/// Room made in a connection's read buffer before each read.
const READ_CHUNK: usize = 16 * 1024;
/// A small body is copied behind the head so both go in one write.
const COALESCE_BODY_BYTES: usize = 16 * 1024;
const POOL_MAX_IDLE_PER_ORIGIN: usize = 2048;
/// Idle connections close after 60 to 75 s (four to five sweeps).
const POOL_SWEEP_EVERY: Duration = Duration::from_secs(15);
const POOL_IDLE_SWEEPS: u64 = 4;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("connecting to {origin}: {source}")]
    Connect { origin: Box<str>, source: io::Error },
    #[error("TLS handshake with {origin}: {source}")]
    Tls { origin: Box<str>, source: io::Error },
    #[error("sending the request to the backend: {0}")]
    Write(io::Error),
    #[error("reading the backend's response: {0}")]
    Read(io::Error),
    #[error("the backend's response was cut off: {0}")]
    CutOff(io::Error),
    #[error("the backend closed the connection without answering")]
    Closed,
    #[error("malformed response from the backend: {0}")]
    Malformed(&'static str),
    #[error("the request body is over the payload limit")]
    RequestTooLarge,
    #[error("reading the request body from the client: {0}")]
    ClientBody(hyper::Error),
}

impl UpstreamError {
    /// Failed before the backend could have seen a complete request or said
    /// anything: safe to try again on a fresh connection.
    fn nothing_exchanged(&self) -> bool {
        matches!(self, UpstreamError::Closed)
            || matches!(self, UpstreamError::Write(e) | UpstreamError::Read(e)
                if matches!(e.kind(), io::ErrorKind::ConnectionReset
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionAborted))
    }
}

#[derive(Clone)]
pub struct Upstream {
    pool: Arc<Pool>,
    tls: TlsConnector,
    sweeper: Arc<Once>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl Upstream {
    /// A client trusting what `tls` trusts for `https://` backends.
    pub fn new(tls: &Arc<rustls::ClientConfig>) -> Self {
        Self {
            pool: Arc::new(Pool::new(POOL_MAX_IDLE_PER_ORIGIN, POOL_IDLE_SWEEPS)),
            tls: TlsConnector::from(tls.clone()),
            sweeper: Arc::new(Once::new()),
        }
    }

    /// Sends a request to `dest` and returns the response once its head has
    /// arrived; the body streams after. The request body may be at most
    /// `max_body` bytes.
    pub async fn send(
        &self,
        dest: &Destination<'_>,
        head: &RequestHead<'_>,
        body: RequestBody,
        max_body: usize,
    ) -> Result<Response<ResponseBody>, UpstreamError> {
        self.start_sweeper();
        let target = dest;
        let mut outgoing = Outgoing::new(body, max_body)?;
        let retry_safe = is_idempotent(head.method) && outgoing.replayable();
        let checkout = self.pool.checkout(target.tls, target.authority);
        let (conn, reused) = match checkout {
            Checkout::Reused(conn) => (conn, true),
            Checkout::Empty(slot) => (
                // Boxed: dialling is rare, and its future is large.
                Conn::new(Box::pin(connect::dial(target, &self.tls)).await?, &slot),
                false,
            ),
        };
        match exchange(conn, head, target, &mut outgoing).await {
            Err(e) if reused && retry_safe && e.nothing_exchanged() => {
                tracing::debug!(error = %e, origin = target.authority, "reused backend connection failed; retrying on a new one");
                // Only a new connection is certain to be open.
                let slot = self.pool.slot(target.tls, target.authority);
                let conn = Conn::new(Box::pin(connect::dial(target, &self.tls)).await?, &slot);
                exchange(conn, head, target, &mut outgoing).await
            }
            result => result,
        }
    }

    fn start_sweeper(&self) {
        self.sweeper.call_once(|| {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(pool::sweep_until_dropped(
                    Arc::downgrade(&self.pool),
                    POOL_SWEEP_EVERY,
                ));
            }
        });
    }
}

impl Default for Upstream {
    fn default() -> Self {
        Self::new(&crate::tls::default_client_config())
    }
}

fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// The request body on its way out, and how it is framed.
enum Outgoing {
    /// Known whole: sent with a Content-Length, and again on a retry.
    Buffered(Bytes),
    /// Streams from the client.
    Streaming {
        body: hyper::body::Incoming,
        framing: BodyFraming,
        max: usize,
    },
}

impl Outgoing {
    fn new(body: RequestBody, max: usize) -> Result<Self, UpstreamError> {
        Ok(match body {
            RequestBody::Buffered(bytes) if bytes.len() > max => {
                return Err(UpstreamError::RequestTooLarge);
            }
            RequestBody::Buffered(bytes) => Outgoing::Buffered(bytes),
            RequestBody::Streaming(body) if body.is_end_stream() => {
                Outgoing::Buffered(Bytes::new())
            }
            RequestBody::Streaming(body) => {
                let framing = match body.size_hint().exact() {
                    Some(length) if length > max as u64 => {
                        return Err(UpstreamError::RequestTooLarge);
                    }
                    Some(length) => BodyFraming::Length(length),
                    None => BodyFraming::Chunked,
                };
                Outgoing::Streaming { body, framing, max }
            }
        })
    }

    fn replayable(&self) -> bool {
        matches!(self, Outgoing::Buffered(_))
    }

    fn framing(&self) -> BodyFraming {
        match self {
            Outgoing::Buffered(bytes) if bytes.is_empty() => BodyFraming::Empty,
            Outgoing::Buffered(bytes) => BodyFraming::Length(bytes.len() as u64),
            Outgoing::Streaming { framing, .. } => *framing,
        }
    }
}

/// What goes in a backend request's head besides its destination.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    pub method: &'a Method,
    /// Forwarded as they are, but for framing and connection headers,
    /// which this client writes itself.
    pub headers: &'a http::HeaderMap,
}

/// One request and its response head on `conn`.
async fn exchange(
    mut conn: Conn,
    head: &RequestHead<'_>,
    target: &Destination<'_>,
    outgoing: &mut Outgoing,
) -> Result<Response<ResponseBody>, UpstreamError> {
    let head_request = *head.method == Method::HEAD;
    if let Err(e) = write_request(&mut conn, head, target, outgoing).await {
        // A backend may answer before reading the whole body and close its
        // side; its answer is still the best thing to pass on.
        if matches!(e, UpstreamError::Write(_))
            && let Ok(Some(response)) = read_response(conn, head_request, false).await
        {
            return Ok(response);
        }
        return Err(e);
    }
    match read_response(conn, head_request, true).await? {
        Some(response) => Ok(response),
        None => Err(UpstreamError::Closed),
    }
}

async fn write_request(
    conn: &mut Conn,
    request: &RequestHead<'_>,
    target: &Destination<'_>,
    outgoing: &mut Outgoing,
) -> Result<(), UpstreamError> {
    let mut head = BytesMut::with_capacity(512);
    request_head::encode(&mut head, request, target, outgoing.framing());
    match outgoing {
        Outgoing::Buffered(bytes) if bytes.len() <= COALESCE_BODY_BYTES => {
            head.extend_from_slice(bytes);
            write_all(conn, &head).await?;
        }
        Outgoing::Buffered(bytes) => {
            write_all(conn, &head).await?;
            write_all(conn, bytes).await?;
        }
        Outgoing::Streaming { body, framing, max } => {
            stream_body(conn, head, body, *framing, *max).await?;
        }
    }
    conn.stream.flush().await.map_err(UpstreamError::Write)
}

/// Writes the head, then the client's body as it arrives, framed as
/// `framing` says and capped at `max` bytes.
async fn stream_body(
    conn: &mut Conn,
    mut pending: BytesMut,
    body: &mut hyper::body::Incoming,
    framing: BodyFraming,
    max: usize,
) -> Result<(), UpstreamError> {
    use http_body_util::BodyExt;
    let chunked = framing == BodyFraming::Chunked;
    let mut sent: u64 = 0;
    // The head waits for the first piece of body, so the two usually share
    // one write.
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(UpstreamError::ClientBody)?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers from the client are not forwarded
        };
        if data.is_empty() {
            continue;
        }
        sent += data.len() as u64;
        if sent > max as u64 {
            return Err(UpstreamError::RequestTooLarge);
        }
        if chunked {
            chunked::write_chunk_header(&mut pending, data.len());
        }
        if data.len() <= COALESCE_BODY_BYTES {
            pending.extend_from_slice(&data);
            if chunked {
                pending.extend_from_slice(chunked::CHUNK_END);
            }
            write_all(conn, &pending).await?;
            pending.clear();
        } else {
            write_all(conn, &pending).await?;
            pending.clear();
            write_all(conn, &data).await?;
            if chunked {
                pending.extend_from_slice(chunked::CHUNK_END);
            }
        }
    }
    if chunked {
        pending.extend_from_slice(chunked::LAST_CHUNK);
    }
    if !pending.is_empty() {
        write_all(conn, &pending).await?;
    }
    Ok(())
}

async fn write_all(conn: &mut Conn, bytes: &[u8]) -> Result<(), UpstreamError> {
    conn.stream
        .write_all(bytes)
        .await
        .map_err(UpstreamError::Write)
}

/// Reads the response head (skipping interim 1xx answers). `Ok(None)`: the
/// backend closed the connection before sending a byte. With `strict`
/// false, any failure is `Ok(None)` too (a best-effort read after a failed
/// write).
async fn read_response(
    mut conn: Conn,
    head_request: bool,
    strict: bool,
) -> Result<Option<Response<ResponseBody>>, UpstreamError> {
    let mut received_any = !conn.read_buf.is_empty();
    loop {
        match response_head::parse(&mut conn.read_buf, head_request) {
            Ok(Some(head)) if head.status == http::StatusCode::SWITCHING_PROTOCOLS => {
                return fail(
                    strict,
                    UpstreamError::Malformed("unexpected protocol upgrade"),
                );
            }
            Ok(Some(head)) if head.status.is_informational() => continue,
            Ok(Some(head)) => {
                let mut response =
                    Response::new(ResponseBody::new(conn, head.framing, head.keep_alive));
                *response.status_mut() = head.status;
                *response.version_mut() = Version::HTTP_11;
                *response.headers_mut() = head.headers;
                return Ok(Some(response));
            }
            Ok(None) => {}
            Err(e) => return fail(strict, e),
        }
        match std::future::poll_fn(|cx| poll_fill(&mut conn, cx)).await {
            Ok(0) if !received_any => return Ok(None),
            Ok(0) => {
                return fail(
                    strict,
                    UpstreamError::Malformed(
                        "connection closed in the middle of the response head",
                    ),
                );
            }
            Ok(_) => received_any = true,
            Err(e) if !received_any => return fail(strict, UpstreamError::Read(e)),
            Err(e) => return fail(strict, UpstreamError::CutOff(e)),
        }
    }
}

fn fail<T>(strict: bool, error: UpstreamError) -> Result<Option<T>, UpstreamError> {
    if strict { Err(error) } else { Ok(None) }
}

/// Reads what the socket has into the connection's buffer; `Ok(0)` at the
/// end of the stream.
fn poll_fill(conn: &mut Conn, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
    if conn.read_buf.capacity() - conn.read_buf.len() < READ_CHUNK / 4 {
        conn.read_buf.reserve(READ_CHUNK);
    }
    tokio_util::io::poll_read_buf(std::pin::Pin::new(&mut conn.stream), cx, &mut conn.read_buf)
}

#[cfg(test)]
mod tests;
