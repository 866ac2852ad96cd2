//! Protocol upgrades towards a backend (WebSocket pass-through): an HTTP/1.1
//! request with `Connection: upgrade` on a connection of its own, and, when
//! the backend answers `101 Switching Protocols`, that connection handed to
//! the caller as a byte stream ([`UpgradedStream`]).
//!
//! The connection is always a new one and never goes back to the pool:
//! after a 101 it belongs to the tunnel, and after any other answer its
//! state is the backend's to decide (many close it), so it is not reused.
//! A backend that refuses the upgrade (401, 404, a plain 200...) has its
//! answer streamed back like any response.

use super::body::ResponseBody;
use super::connect::{self, Stream};
use super::metrics::CallRecord;
use super::pool::Conn;
use super::read::poll_fill;
use super::{Destination, RequestHead, Upstream, UpstreamError, request_head, response_head};
use bytes::{Buf, BytesMut};
use http::{HeaderMap, Response, StatusCode, Version};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

/// How the backend answered an upgrade request.
#[derive(Debug)]
pub enum Upgrade {
    /// `101 Switching Protocols`: its headers (hop-by-hop ones left out,
    /// `Upgrade` and `Connection` included) and the connection.
    Switched {
        headers: HeaderMap,
        stream: UpgradedStream,
    },
    /// Any other final answer, its body streaming from the backend.
    Refused(Response<ResponseBody>),
}

impl Upstream {
    /// Sends `head` (a GET carrying the `Upgrade` header) to `target` on a
    /// new connection with `Connection: upgrade`, and reads the answer
    /// within `timeout` (connecting included). A refusal's body may then go
    /// silent for `read_idle` at most.
    pub async fn upgrade(
        &self,
        target: &Destination<'_>,
        head: &RequestHead<'_>,
        timeout: Duration,
        read_idle: Duration,
    ) -> Result<Upgrade, UpstreamError> {
        let record = CallRecord::start(&self.recorded);
        let exchange = async {
            let slot = self.pool.slot(target.tls, target.authority);
            let mut conn = Conn::new(Box::pin(connect::dial(target, &self.tls)).await?, &slot);
            self.recorded.connection(false);
            conn.reusable = false;
            let mut encoded = BytesMut::with_capacity(512);
            request_head::encode_upgrade(&mut encoded, head, target);
            conn.stream
                .write_all(&encoded)
                .await
                .map_err(UpstreamError::Write)?;
            conn.stream.flush().await.map_err(UpstreamError::Write)?;
            read_answer(conn, read_idle).await
        };
        let result = tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(UpstreamError::TimedOut(timeout)));
        match &result {
            Ok(Upgrade::Switched { .. }) => record.answered(StatusCode::SWITCHING_PROTOCOLS),
            Ok(Upgrade::Refused(response)) => record.answered(response.status()),
            Err(e) => record.failed(e),
        }
        result
    }
}

/// Reads the answer to an upgrade request: interim answers other than 101
/// (`100 Continue`) are skipped.
async fn read_answer(mut conn: Conn, read_idle: Duration) -> Result<Upgrade, UpstreamError> {
    let mut received_any = !conn.read_buf.is_empty();
    loop {
        match response_head::parse(&mut conn.read_buf, false)? {
            Some(head) if head.status == StatusCode::SWITCHING_PROTOCOLS => {
                // Bytes the backend sent right after its 101 (a first
                // message) are the tunnel's, read first. Without any, the
                // read buffer (16 KiB) is not kept for the tunnel's life.
                let early = if conn.read_buf.is_empty() {
                    BytesMut::new()
                } else {
                    std::mem::take(&mut conn.read_buf)
                };
                return Ok(Upgrade::Switched {
                    headers: head.headers,
                    stream: UpgradedStream {
                        early,
                        stream: conn.stream,
                    },
                });
            }
            Some(head) if head.status.is_informational() => continue,
            Some(head) => {
                let body = ResponseBody::new(conn, head.framing, false, read_idle);
                let mut response = Response::new(body);
                *response.status_mut() = head.status;
                *response.version_mut() = Version::HTTP_11;
                *response.headers_mut() = head.headers;
                return Ok(Upgrade::Refused(response));
            }
            None => {}
        }
        match std::future::poll_fn(|cx| poll_fill(&mut conn, cx)).await {
            Ok(0) if !received_any => return Err(UpstreamError::Closed),
            Ok(0) => {
                return Err(UpstreamError::Malformed(
                    "connection closed in the middle of the response head",
                ));
            }
            Ok(_) => received_any = true,
            Err(e) => return Err(UpstreamError::Read(e)),
        }
    }
}

/// A backend connection after `101 Switching Protocols`: what the backend
/// sent behind its answer first, then the socket.
#[derive(Debug)]
pub struct UpgradedStream {
    early: BytesMut,
    stream: Stream,
}

impl AsyncRead for UpgradedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.early.is_empty() {
            let n = this.early.len().min(buf.remaining());
            buf.put_slice(&this.early[..n]);
            this.early.advance(n);
            if this.early.is_empty() {
                // Its capacity is the read buffer's: give it back.
                this.early = BytesMut::new();
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for UpgradedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    /// A backend that reads one request head, hands it to the test, writes
    /// `reply`, and then echoes what it gets (with `echo`; else it reads and
    /// stays silent).
    async fn backend(
        reply: &'static str,
        echo: bool,
    ) -> (String, tokio::sync::oneshot::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (seen, heard) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if socket.read(&mut byte).await.unwrap() == 0 {
                    return;
                }
                head.push(byte[0]);
            }
            let _ = seen.send(String::from_utf8(head).unwrap());
            socket.write_all(reply.as_bytes()).await.unwrap();
            let mut buf = [0u8; 1024];
            loop {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) if echo => socket.write_all(&buf[..n]).await.unwrap(),
                    Ok(_) => {}
                }
            }
        });
        (format!("http://{addr}/chat"), heard)
    }

    async fn upgrade(uri: &str, timeout: Duration) -> Result<Upgrade, UpstreamError> {
        let mut headers = HeaderMap::new();
        headers.insert("upgrade", "websocket".parse().unwrap());
        headers.insert(
            "sec-websocket-key",
            "dGhlIHNhbXBsZSBub25jZQ==".parse().unwrap(),
        );
        let head = RequestHead {
            method: &http::Method::GET,
            headers: &headers,
        };
        let target = Destination::parse(uri).unwrap();
        Upstream::default()
            .upgrade(&target, &head, timeout, timeout)
            .await
    }

    #[tokio::test]
    async fn a_101_hands_over_the_connection_with_the_bytes_behind_it() {
        let (uri, heard) = backend(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nEARLY",
            true,
        )
        .await;
        let Upgrade::Switched {
            headers,
            mut stream,
        } = upgrade(&uri, Duration::from_secs(5)).await.unwrap()
        else {
            panic!("not switched");
        };
        let head = heard.await.unwrap();
        assert!(head.starts_with("GET /chat HTTP/1.1\r\n"), "{head}");
        assert!(head.contains("upgrade: websocket\r\n"), "{head}");
        assert!(head.contains("connection: upgrade\r\n"), "{head}");
        assert_eq!(
            headers["sec-websocket-accept"],
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        // Hop-by-hop: the gateway writes its own to the client.
        assert!(!headers.contains_key("upgrade") && !headers.contains_key("connection"));
        let mut early = [0u8; 5];
        stream.read_exact(&mut early).await.unwrap();
        assert_eq!(&early, b"EARLY");
        stream.write_all(b"ping").await.unwrap();
        let mut echoed = [0u8; 4];
        stream.read_exact(&mut echoed).await.unwrap();
        assert_eq!(&echoed, b"ping");
    }

    #[tokio::test]
    async fn any_other_answer_is_a_refusal_with_its_body() {
        let (uri, _) = backend(
            "HTTP/1.1 403 Forbidden\r\ncontent-length: 4\r\n\r\nnope",
            false,
        )
        .await;
        let Upgrade::Refused(response) = upgrade(&uri, Duration::from_secs(5)).await.unwrap()
        else {
            panic!("switched");
        };
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"nope");
    }

    #[tokio::test]
    async fn a_silent_backend_times_out_and_a_closing_one_fails() {
        let (uri, _) = backend("", false).await;
        let waited = upgrade(&uri, Duration::from_millis(200)).await;
        assert!(
            matches!(waited, Err(UpstreamError::TimedOut(_))),
            "{waited:?}"
        );
        // Half a head, then silence: the same.
        let (uri, _) = backend("HTTP/1.1 101 Switch", false).await;
        let cut = upgrade(&uri, Duration::from_millis(200)).await;
        assert!(matches!(cut, Err(UpstreamError::TimedOut(_))), "{cut:?}");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            drop(socket);
        });
        // Closed without a word.
        let closed = upgrade(&format!("http://{addr}/"), Duration::from_secs(5)).await;
        assert!(
            matches!(
                closed,
                Err(UpstreamError::Closed)
                    | Err(UpstreamError::Write(_))
                    | Err(UpstreamError::Read(_))
            ),
            "{closed:?}"
        );
    }
}
