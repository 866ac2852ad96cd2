//! Writing a request to a backend while listening to it.
//!
//! A backend may answer before it has read the whole request (a 413 or 401
//! to an upload) and then stop reading without closing. Writing blindly
//! would wait on a full socket buffer until the integration timeout; so
//! whenever a write (or the client's next piece of body) has to wait, the
//! connection's read side is polled too. When a final response head has
//! arrived, writing stops and the answer is passed on; the connection is
//! then not reused, its request being cut short.

use super::chunked;
use super::pool::Conn;
use super::read::poll_fill;
use super::request_head::BodyFraming;
use super::{COALESCE_BODY_BYTES, Outgoing, UpstreamError};
use crate::body::{BodyError, StreamingBody};
use bytes::{Buf, Bytes, BytesMut};
use http_body::{Body, Frame};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::AsyncWrite;

/// How writing the request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// All of it is with the backend.
    All,
    /// The backend answered (or closed) first; what it said is in the
    /// connection's read buffer.
    Answered,
}

/// Writes `head` and the body in `outgoing`. `head` is the connection's
/// own buffer, handed back cleared for the next request.
pub async fn request(
    conn: &mut Conn,
    head: &mut BytesMut,
    outgoing: &mut Outgoing,
) -> Result<Sent, UpstreamError> {
    let sent = match outgoing {
        Outgoing::Buffered(bytes) if bytes.len() <= COALESCE_BODY_BYTES => {
            head.extend_from_slice(bytes);
            write_all(conn, head).await?
        }
        Outgoing::Buffered(bytes) => match write_all(conn, head).await? {
            Sent::All => write_all(conn, bytes).await?,
            answered => answered,
        },
        Outgoing::Streaming { body, framing, max } => {
            stream_body(conn, head, body, *framing, *max).await?
        }
    };
    head.clear();
    if sent == Sent::Answered {
        conn.reusable = false;
    }
    Ok(sent)
}

/// Writes the head, then the client's body as it arrives, framed as
/// `framing` says and capped at `max` bytes.
async fn stream_body(
    conn: &mut Conn,
    pending: &mut BytesMut,
    body: &mut StreamingBody,
    framing: BodyFraming,
    max: usize,
) -> Result<Sent, UpstreamError> {
    let chunked = framing == BodyFraming::Chunked;
    let mut sent: u64 = 0;
    // The head waits for the first piece of body, so the two usually share
    // one write.
    loop {
        let frame = match next_frame(conn, body).await {
            Next::Answered => return Ok(Sent::Answered),
            Next::Frame(None) => break,
            Next::Frame(Some(frame)) => frame.map_err(UpstreamError::ClientBody)?,
        };
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
            chunked::write_chunk_header(pending, data.len());
        }
        let answered = if data.len() <= COALESCE_BODY_BYTES {
            pending.extend_from_slice(&data);
            if chunked {
                pending.extend_from_slice(chunked::CHUNK_END);
            }
            write_all(conn, pending).await?
        } else {
            match write_all(conn, pending).await? {
                Sent::All => write_all(conn, &data).await?,
                answered => answered,
            }
        };
        pending.clear();
        if answered == Sent::Answered {
            return Ok(Sent::Answered);
        }
        if chunked && data.len() > COALESCE_BODY_BYTES {
            pending.extend_from_slice(chunked::CHUNK_END);
        }
    }
    if chunked {
        pending.extend_from_slice(chunked::LAST_CHUNK);
    }
    write_all(conn, pending).await
}

enum Next {
    Frame(Option<Result<Frame<Bytes>, BodyError>>),
    Answered,
}

/// The client's next piece of body, unless the backend answers first.
async fn next_frame(conn: &mut Conn, body: &mut StreamingBody) -> Next {
    std::future::poll_fn(|cx| match Pin::new(&mut *body).poll_frame(cx) {
        Poll::Ready(frame) => Poll::Ready(Next::Frame(frame)),
        Poll::Pending => match listen(conn, cx) {
            Poll::Ready(()) => Poll::Ready(Next::Answered),
            Poll::Pending => Poll::Pending,
        },
    })
    .await
}

/// Writes and flushes `bytes`, unless the backend answers first.
async fn write_all(conn: &mut Conn, mut bytes: &[u8]) -> Result<Sent, UpstreamError> {
    std::future::poll_fn(|cx| {
        loop {
            let progress = if bytes.is_empty() {
                Pin::new(&mut conn.stream).poll_flush(cx).map_ok(|()| 0)
            } else {
                Pin::new(&mut conn.stream).poll_write(cx, bytes)
            };
            match progress {
                Poll::Ready(Ok(0)) if bytes.is_empty() => return Poll::Ready(Ok(Sent::All)),
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(UpstreamError::Write(io::ErrorKind::WriteZero.into())));
                }
                Poll::Ready(Ok(n)) => bytes.advance(n),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(UpstreamError::Write(e))),
                Poll::Pending => {
                    ready!(listen(conn, cx));
                    return Poll::Ready(Ok(Sent::Answered));
                }
            }
        }
    })
    .await
}

/// Ready once the backend has sent a final response head (interim `1xx`
/// answers are dropped), closed, or failed; pending otherwise, with the
/// connection's read side registered for wake-up.
fn listen(conn: &mut Conn, cx: &mut Context<'_>) -> Poll<()> {
    loop {
        let mut slots = [httparse::EMPTY_HEADER; super::response_head::MAX_HEADERS];
        let mut head = httparse::Response::new(&mut slots);
        match head.parse(&conn.read_buf) {
            Ok(httparse::Status::Complete(length))
                if head
                    .code
                    .is_some_and(|c| (100..200).contains(&c) && c != 101) =>
            {
                conn.read_buf.advance(length);
                continue;
            }
            // A final answer, or bytes that are not one: either way the
            // response reader decides what to make of them.
            Ok(httparse::Status::Complete(_)) | Err(_) => return Poll::Ready(()),
            Ok(httparse::Status::Partial) => {}
        }
        match poll_fill(conn, cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(()),
            Poll::Ready(Ok(_)) => {}
        }
    }
}
