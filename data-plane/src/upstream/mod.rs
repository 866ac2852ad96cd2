//! The node's one outbound HTTP/1.1 client: integrations, JWKS fetches and
//! custom authorizer calls all go through it, run inside the calling
//! request's own task, and share its connection pool, connect timeout, TLS
//! roots (the node's outbound `rustls::ClientConfig`, with the operator's
//! `--upstream-ca-file`) and metrics ([`OutboundMetrics`], labelled by
//! [`Purpose`]). Two ways to call: [`Upstream::send`] streams both bodies
//! (the proxy path), [`Upstream::send_buffered`] sends and reads whole
//! messages under one deadline and a response size bound (authorizers,
//! JWKS, and the function and service integrations to come).
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
//! While the request is being written its read side is watched too
//! ([`write`]): a backend that answers early (say, 413 to a large upload)
//! is heard whether it stops reading or closes.

mod body;
mod chunked;
mod connect;
mod destination;
mod metrics;
mod pool;
mod read;
mod request_head;
mod response_head;
mod upgrade;
mod write;

pub use body::ResponseBody;
pub use destination::{BadDestination, Destination};
pub use metrics::{OutboundMetrics, Purpose};
pub use upgrade::{Upgrade, UpgradedStream};

use crate::body::{BodyError, RequestBody, StreamingBody};
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, Response};
use http_body::Body;
use http_body_util::BodyExt;
use metrics::{CallRecord, PurposeMetrics};
use pool::{Checkout, Conn, Pool};
use request_head::BodyFraming;
use std::io;
use std::sync::{Arc, Once};
use std::time::Duration;
use tokio_rustls::TlsConnector;

/// Room made in a connection's read buffer before each read.
const READ_CHUNK: usize = 16 * 1024;
/// A small body is copied behind the head so both go in one write.
const COALESCE_BODY_BYTES: usize = 16 * 1024;
const POOL_MAX_IDLE_PER_ORIGIN: usize = 2048;
/// An idle connection lives through this many sweeps: with a sweep every
/// quarter of the keep-alive time, it closes after 1 to 1.25 times it.
const POOL_IDLE_SWEEPS: u64 = 4;
/// How long idle backend connections are kept by default, as nginx's
/// upstream `keepalive_timeout`.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(60);

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
    #[error("the backend sent nothing for {0:?} in the middle of the body")]
    Stalled(Duration),
    #[error("the backend's response was cut off: {0}")]
    CutOff(io::Error),
    #[error("the backend closed the connection without answering")]
    Closed,
    #[error("malformed response from the backend: {0}")]
    Malformed(&'static str),
    #[error("the request body is over the payload limit")]
    RequestTooLarge,
    #[error("reading the request body from the client: {0}")]
    ClientBody(BodyError),
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
    #[error("the response body is over the limit of {0} bytes")]
    ResponseTooLarge(usize),
    #[error("the URI cannot be called: {0}")]
    BadUri(BadDestination),
}

/// An error and its causes, e.g. `TLS handshake with idp:443: invalid peer
/// certificate: UnknownIssuer`, so a log says what failed. A cause whose
/// message its parent's already ends with (this client's errors quote their
/// source) is not repeated.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(err) = cause {
        let message = err.to_string();
        if !text.ends_with(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        cause = err.source();
    }
    text
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

/// A handle on the client for one [`Purpose`]: handles made with
/// [`Upstream::for_purpose`] share the pool (a connection to an origin
/// serves any purpose), the TLS roots and the instruments; each records its
/// calls under its own purpose.
#[derive(Clone)]
pub struct Upstream {
    pool: Arc<Pool>,
    tls: TlsConnector,
    sweeper: Arc<Once>,
    sweep_every: Duration,
    metrics: Arc<OutboundMetrics>,
    /// This handle's purpose's instruments.
    recorded: Arc<PurposeMetrics>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl Upstream {
    /// A client trusting what `tls` trusts for `https://` backends, closing
    /// connections idle for `keepalive` (to 1.25 times that). Set it below
    /// the backends' own idle timeout (Node.js: 5 s), so that the gateway,
    /// not the backend, closes idle connections. The handle returned is for
    /// integrations; [`Upstream::for_purpose`] makes the others.
    pub fn new(
        tls: &Arc<rustls::ClientConfig>,
        keepalive: Duration,
        metrics: OutboundMetrics,
    ) -> Self {
        let metrics = Arc::new(metrics);
        Self {
            pool: Arc::new(Pool::new(POOL_MAX_IDLE_PER_ORIGIN, POOL_IDLE_SWEEPS)),
            tls: TlsConnector::from(tls.clone()),
            sweeper: Arc::new(Once::new()),
            sweep_every: (keepalive / POOL_IDLE_SWEEPS as u32).max(Duration::from_millis(250)),
            recorded: metrics.purpose(Purpose::Integration).clone(),
            metrics,
        }
    }

    /// The same client, recording its calls as made for `purpose`.
    pub fn for_purpose(&self, purpose: Purpose) -> Self {
        Self {
            recorded: self.metrics.purpose(purpose).clone(),
            ..self.clone()
        }
    }

    /// Sends a request to `target` and returns the response once its head has
    /// arrived (within `limits.head_timeout`); the body streams after.
    pub async fn send(
        &self,
        target: &Destination<'_>,
        head: &RequestHead<'_>,
        body: RequestBody,
        limits: SendLimits,
    ) -> Result<Response<ResponseBody>, UpstreamError> {
        let record = CallRecord::start(&self.recorded);
        let sent = self.dispatch(target, head, body, limits.max_body, limits.read_idle);
        match tokio::time::timeout(limits.head_timeout, sent).await {
            Ok(Ok(mut response)) => {
                record.answered(response.status());
                response.body_mut().count_errors(&self.recorded);
                Ok(response)
            }
            Ok(Err(e)) => {
                record.failed(&e);
                Err(e)
            }
            Err(_elapsed) => {
                let e = UpstreamError::TimedOut(limits.head_timeout);
                record.failed(&e);
                Err(e)
            }
        }
    }

    /// Sends a whole request and reads the whole response, all within
    /// `limits.timeout`. A response body over `limits.max_response_bytes`
    /// is refused ([`UpstreamError::ResponseTooLarge`]), never cut short:
    /// refused at once when its declared length is over, else as soon as
    /// what arrived is. Trailers are dropped.
    pub async fn send_buffered(
        &self,
        request: BufferedRequest<'_>,
        limits: BufferedLimits,
    ) -> Result<Response<Bytes>, UpstreamError> {
        let record = CallRecord::start(&self.recorded);
        let exchange = async {
            let target = Destination::parse(request.uri).map_err(UpstreamError::BadUri)?;
            let head = RequestHead {
                method: &request.method,
                headers: &request.headers,
            };
            // The deadline bounds everything, silences in the body included:
            // the silence timer is set past it, so a call that runs out of
            // time always fails as `TimedOut`.
            let body = RequestBody::Buffered(request.body);
            let read_idle = limits.timeout.saturating_mul(2);
            let response = self
                .dispatch(&target, &head, body, usize::MAX, read_idle)
                .await?;
            let (parts, body) = response.into_parts();
            let body = read_bounded(body, limits.max_response_bytes).await?;
            Ok(Response::from_parts(parts, body))
        };
        let result = tokio::time::timeout(limits.timeout, exchange)
            .await
            .unwrap_or(Err(UpstreamError::TimedOut(limits.timeout)));
        match &result {
            Ok(response) => record.answered(response.status()),
            Err(e) => record.failed(e),
        }
        result
    }

    /// One request on a pooled or new connection, and once more on a new
    /// one when that is safe ([`UpstreamError::nothing_exchanged`]).
    async fn dispatch(
        &self,
        target: &Destination<'_>,
        head: &RequestHead<'_>,
        body: RequestBody,
        max_body: usize,
        read_idle: Duration,
    ) -> Result<Response<ResponseBody>, UpstreamError> {
        self.start_sweeper();
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
        self.recorded.connection(reused);
        match exchange(conn, head, target, &mut outgoing, read_idle).await {
            Err(e) if reused && retry_safe && e.nothing_exchanged() => {
                tracing::debug!(error = %e, origin = target.authority, "reused backend connection failed; retrying on a new one");
                // Only a new connection is certain to be open.
                let slot = self.pool.slot(target.tls, target.authority);
                let conn = Conn::new(Box::pin(connect::dial(target, &self.tls)).await?, &slot);
                self.recorded.connection(false);
                exchange(conn, head, target, &mut outgoing, read_idle).await
            }
            result => result,
        }
    }

    fn start_sweeper(&self) {
        self.sweeper.call_once(|| {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(pool::sweep_until_dropped(
                    Arc::downgrade(&self.pool),
                    self.sweep_every,
                ));
            }
        });
    }
}

impl Default for Upstream {
    /// Trusting the OS roots, recording no metrics: for tests and benchmarks.
    fn default() -> Self {
        Self::new(
            &crate::tls::default_client_config(),
            DEFAULT_KEEPALIVE,
            OutboundMetrics::unrecorded(),
        )
    }
}

/// A whole request for [`Upstream::send_buffered`].
#[derive(Debug, Clone)]
pub struct BufferedRequest<'a> {
    pub method: Method,
    /// An absolute `http://` or `https://` URI.
    pub uri: &'a str,
    /// Sent as they are, but for framing and connection headers, which the
    /// client writes itself (the body goes with a `Content-Length`).
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Bounds on a buffered call.
#[derive(Debug, Clone, Copy)]
pub struct BufferedLimits {
    /// For the whole call: connecting, sending, and reading the response.
    pub timeout: Duration,
    /// The longest response body accepted.
    pub max_response_bytes: usize,
}

/// The whole of `body`, unless it is longer than `max`. A body that
/// arrives in one piece (most do, with its head) is passed on uncopied.
async fn read_bounded(mut body: ResponseBody, max: usize) -> Result<Bytes, UpstreamError> {
    if body.size_hint().lower() > max as u64 {
        return Err(UpstreamError::ResponseTooLarge(max));
    }
    let mut first = Bytes::new();
    let mut joined = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue; // trailers
        };
        if first.len() + joined.len() + data.len() > max {
            return Err(UpstreamError::ResponseTooLarge(max));
        }
        if first.is_empty() && joined.is_empty() {
            first = data;
        } else {
            if joined.is_empty() {
                joined.extend_from_slice(&std::mem::take(&mut first));
            }
            joined.extend_from_slice(&data);
        }
    }
    Ok(if joined.is_empty() {
        first
    } else {
        joined.freeze()
    })
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
        body: StreamingBody,
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

/// Bounds on one exchange.
#[derive(Debug, Clone, Copy)]
pub struct SendLimits {
    /// The request body may be at most this long.
    pub max_body: usize,
    /// The response head must arrive within this long (connecting and
    /// sending the request included): [`UpstreamError::TimedOut`] else.
    pub head_timeout: Duration,
    /// Once the response head is in, the body fails when the backend sends
    /// nothing for this long (a stalled backend must not hold the client's
    /// and the backend's connections forever).
    pub read_idle: Duration,
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
    read_idle: Duration,
) -> Result<Response<ResponseBody>, UpstreamError> {
    let head_request = *head.method == Method::HEAD;
    // The connection's buffer: no allocation per request once it has grown.
    let mut encoded = std::mem::take(&mut conn.write_buf);
    encoded.clear();
    request_head::encode(&mut encoded, head, target, outgoing.framing());
    let written = write::request(&mut conn, &mut encoded, outgoing).await;
    conn.write_buf = encoded;
    if let Err(e) = written {
        // A backend may answer before reading the whole body and close its
        // side; its answer is still the best thing to pass on.
        conn.reusable = false;
        if matches!(e, UpstreamError::Write(_))
            && let Ok(Some(response)) = read::response(conn, head_request, read_idle, false).await
        {
            return Ok(response);
        }
        return Err(e);
    }
    match read::response(conn, head_request, read_idle, true).await? {
        Some(response) => Ok(response),
        None => Err(UpstreamError::Closed),
    }
}

#[cfg(test)]
mod tests;
