//! Storing responses: a ticket handed out on a miss, and a body wrapper
//! that passes the backend's body through to the client unchanged while
//! keeping a copy, and stores it only when the body ended cleanly.
//!
//! A response is stored only when it is 2xx, sets no cookie, fits the
//! per-response limit and its body arrived whole (no error, no trailers,
//! the client did not go away first).

use super::entry::CachedResponse;
use super::{CacheStatus, StageCache};
use archway_proto::rules::stage_cache::MAX_ENTRY_BYTES;
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The right to store the response of one request that missed (or asked
/// for a refresh).
#[derive(Debug)]
pub struct StoreTicket {
    pub(super) cache: Arc<StageCache>,
    pub(super) key: Box<[u8]>,
    pub(super) ttl: Duration,
    pub(super) status: CacheStatus,
    pub(super) warn: bool,
}

impl StoreTicket {
    /// MISS or REFRESH, for the access log.
    pub fn status(&self) -> CacheStatus {
        self.status
    }

    /// Wraps the integration's response so its body is stored once it has
    /// been passed on whole. Responses that cannot be stored pass through
    /// as they are.
    pub fn store<B>(self, response: Response<B>) -> Response<StoringBody<B>>
    where
        B: Body<Data = Bytes>,
    {
        let (mut parts, body) = response.into_parts();
        let storable = storable(parts.status, &parts.headers)
            && body
                .size_hint()
                .upper()
                .is_none_or(|n| n <= MAX_ENTRY_BYTES as u64);
        let warn = self.warn;
        let pending = storable.then(|| {
            Box::new(Pending {
                status: parts.status,
                headers: parts.headers.clone(),
                buffer: BytesMut::with_capacity(body.size_hint().exact().map_or(0, |n| n as usize)),
                ticket: self,
            })
        });
        if warn {
            add_warning(&mut parts.headers);
        }
        let mut body = StoringBody {
            inner: body,
            pending,
        };
        // An empty body is never polled: it is whole already.
        if body.inner.is_end_stream() {
            body.complete();
        }
        Response::from_parts(parts, body)
    }

    /// Stores a response that is whole already (a MOCK integration's).
    pub fn store_whole(self, status: StatusCode, headers: &HeaderMap, body: &Bytes) {
        if storable(status, headers) {
            self.insert(status, headers.clone(), body.clone());
        }
    }

    /// Whether the response to this request must carry the `Warning`
    /// header (an unauthorized `max-age=0` that was ignored).
    pub fn warns(&self) -> bool {
        self.warn
    }

    fn insert(self, status: StatusCode, headers: HeaderMap, body: Bytes) {
        let now = Instant::now();
        if let Some(entry) =
            CachedResponse::new(self.key.len(), status, headers, body, now + self.ttl)
        {
            self.cache.insert(self.key, entry);
        }
    }
}

/// 2xx and no cookie: a `Set-Cookie` is one client's, never to be replayed
/// to another.
fn storable(status: StatusCode, headers: &HeaderMap) -> bool {
    status.is_success() && !headers.contains_key(http::header::SET_COOKIE)
}

/// Adds AWS's warning for an ignored, unauthorized `max-age=0`.
pub fn add_warning(headers: &mut HeaderMap) {
    headers.append(
        http::header::WARNING,
        http::HeaderValue::from_static(super::control::WARNING),
    );
}

#[derive(Debug)]
struct Pending {
    status: StatusCode,
    headers: HeaderMap,
    buffer: BytesMut,
    ticket: StoreTicket,
}

/// A response body passed through unchanged; with a pending store, a copy
/// of it is kept and stored at its clean end.
#[derive(Debug)]
pub struct StoringBody<B> {
    inner: B,
    /// Boxed: bodies that store nothing stay small.
    pending: Option<Box<Pending>>,
}

impl<B> StoringBody<B> {
    fn complete(&mut self) {
        if let Some(p) = self.pending.take() {
            let Pending {
                status,
                headers,
                buffer,
                ticket,
            } = *p;
            ticket.insert(status, headers, buffer.freeze());
        }
    }
}

impl<B> Body for StoringBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let keep = this
                        .pending
                        .as_ref()
                        .is_some_and(|p| p.buffer.len() + data.len() <= MAX_ENTRY_BYTES);
                    match &mut this.pending {
                        Some(p) if keep => p.buffer.extend_from_slice(data),
                        _ => this.pending = None,
                    }
                    // hyper stops polling once the body says it ended.
                    if this.inner.is_end_stream() {
                        this.complete();
                    }
                } else {
                    // Trailers: not something a cached response replays.
                    this.pending = None;
                }
            }
            Poll::Ready(Some(Err(_))) => this.pending = None,
            Poll::Ready(None) => this.complete(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
