//! The client against scripted backends on loopback: each test's backend
//! answers with exact bytes, so framing, reuse and failure handling are
//! checked on the wire.

use super::*;
use crate::lock::LockOrRecover;
use bytes::BytesMut;
use http::Request;
use http_body_util::BodyExt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the scripted backend does with one request.
enum Act {
    /// Reads the body, then writes these bytes.
    Answer(String),
    /// Reads the body, writes these bytes, closes.
    AnswerAndClose(String),
    /// Reads the body and closes without a word.
    Hangup,
    /// Answers as soon as the head is in, without reading the body, and
    /// closes.
    AnswerEarly(String),
    /// Answers as soon as the head is in, then neither reads nor closes
    /// for ten seconds.
    AnswerEarlyAndHold(String),
}

/// One request as the backend saw it.
#[derive(Debug, Clone)]
struct Seen {
    connection: usize,
    head: String,
    body: Vec<u8>,
}

struct Backend {
    addr: std::net::SocketAddr,
    connections: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Backend {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock_or_recover().clone()
    }
}

/// Starts a backend that answers request `n` (over all connections,
/// counting from 0) with `script(n)`.
async fn backend(script: impl Fn(usize) -> Act + Send + Sync + 'static) -> Backend {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let requests = Arc::new(AtomicUsize::new(0));
    let script = Arc::new(script);
    let (counter, log) = (connections.clone(), seen.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let connection = counter.fetch_add(1, Ordering::SeqCst);
            let (log, script, requests) = (log.clone(), script.clone(), requests.clone());
            tokio::spawn(async move {
                let mut buf = BytesMut::new();
                loop {
                    let Some((head, length, chunked)) = read_head(&mut socket, &mut buf).await
                    else {
                        return;
                    };
                    let act = script(requests.fetch_add(1, Ordering::SeqCst));
                    if let Act::AnswerEarly(answer) | Act::AnswerEarlyAndHold(answer) = &act {
                        log.lock_or_recover().push(Seen {
                            connection,
                            head,
                            body: Vec::new(),
                        });
                        let _ = socket.write_all(answer.as_bytes()).await;
                        if matches!(act, Act::AnswerEarlyAndHold(_)) {
                            tokio::time::sleep(Duration::from_secs(10)).await;
                        }
                        return;
                    }
                    let body = read_body(&mut socket, &mut buf, length, chunked).await;
                    log.lock_or_recover().push(Seen {
                        connection,
                        head,
                        body,
                    });
                    match act {
                        Act::Answer(answer) => {
                            if socket.write_all(answer.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                        Act::AnswerAndClose(answer) => {
                            let _ = socket.write_all(answer.as_bytes()).await;
                            return;
                        }
                        Act::Hangup | Act::AnswerEarly(_) | Act::AnswerEarlyAndHold(_) => return,
                    }
                }
            });
        }
    });
    Backend {
        addr,
        connections,
        seen,
    }
}

async fn read_head(
    socket: &mut tokio::net::TcpStream,
    buf: &mut BytesMut,
) -> Option<(String, usize, bool)> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(buf.split_to(end + 4).to_vec()).unwrap();
            let lower = head.to_ascii_lowercase();
            let length = lower
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |v| v.trim().parse().unwrap());
            let chunked = lower.contains("transfer-encoding: chunked");
            return Some((head, length, chunked));
        }
        if socket.read_buf(buf).await.ok()? == 0 {
            return None;
        }
    }
}

async fn read_body(
    socket: &mut tokio::net::TcpStream,
    buf: &mut BytesMut,
    length: usize,
    chunked: bool,
) -> Vec<u8> {
    let mut body = Vec::new();
    if chunked {
        let mut decoder = chunked::Decoder::default();
        loop {
            match decoder.decode(buf).unwrap() {
                chunked::Decoded::Data(d) => body.extend_from_slice(&d),
                chunked::Decoded::NeedMore => {
                    socket.read_buf(buf).await.unwrap();
                }
                _ => return body,
            }
        }
    }
    while buf.len() < length {
        if socket.read_buf(buf).await.unwrap() == 0 {
            break;
        }
    }
    body.extend_from_slice(&buf.split_to(length.min(buf.len())));
    body
}

fn ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Backend: yes\r\n\r\n{body}",
        body.len()
    )
}

fn get(url: &str) -> Request<RequestBody> {
    request(Method::GET, url, Bytes::new())
}

fn request(method: Method, url: &str, body: impl Into<Bytes>) -> Request<RequestBody> {
    Request::builder()
        .method(method)
        .uri(url)
        .header("x-client", "1")
        .body(RequestBody::Buffered(body.into()))
        .unwrap()
}

const MAX: usize = 10 * 1024 * 1024;

/// Sends `request` to the absolute URI it carries.
async fn send(
    upstream: &Upstream,
    request: Request<RequestBody>,
    max: usize,
) -> Result<Response<ResponseBody>, UpstreamError> {
    let limits = SendLimits {
        max_body: max,
        read_idle: Duration::from_secs(5),
    };
    send_with(upstream, request, limits).await
}

async fn send_with(
    upstream: &Upstream,
    request: Request<RequestBody>,
    limits: SendLimits,
) -> Result<Response<ResponseBody>, UpstreamError> {
    let (parts, body) = request.into_parts();
    let uri = parts.uri.to_string();
    let dest = Destination::parse(&uri).expect("an absolute http(s) URI");
    let head = RequestHead {
        method: &parts.method,
        headers: &parts.headers,
    };
    upstream.send(&dest, &head, body, limits).await
}

/// The body of a GET to `url`, which must succeed.
async fn get_text(upstream: &Upstream, url: &str) -> String {
    text(send(upstream, get(url), MAX).await.unwrap()).await.1
}

async fn text(response: Response<ResponseBody>) -> (http::StatusCode, String) {
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn keep_alive_connections_carry_request_after_request() {
    let backend = backend(|n| Act::Answer(ok(&format!("answer {n}")))).await;
    let upstream = Upstream::default();
    for n in 0..5 {
        let response = send(&upstream, get(&backend.url("/pets?x=1")), MAX)
            .await
            .unwrap();
        assert_eq!(response.headers()["x-backend"], "yes");
        assert_eq!(
            text(response).await,
            (http::StatusCode::OK, format!("answer {n}"))
        );
    }
    assert_eq!(backend.connections(), 1);
    assert_eq!(upstream.pool.idle_count(), 1);
    let seen = backend.seen();
    assert!(seen.iter().all(|s| s.connection == 0));
    assert!(
        seen[0].head.starts_with(&format!(
            "GET /pets?x=1 HTTP/1.1\r\nhost: {}\r\nx-client: 1\r\n\r\n",
            backend.addr
        )),
        "{:?}",
        seen[0].head
    );
}

#[tokio::test]
async fn chunked_answers_are_decoded_with_their_trailers_and_the_connection_reused() {
    let backend = backend(|_| {
        Act::Answer(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 11\r\n\r\n"
                .into(),
        )
    })
    .await;
    let upstream = Upstream::default();
    for _ in 0..2 {
        let response = send(&upstream, get(&backend.url("/")), MAX).await.unwrap();
        assert!(!response.headers().contains_key("transfer-encoding"));
        let collected = response.into_body().collect().await.unwrap();
        assert_eq!(collected.trailers().unwrap()["x-sum"], "11");
        assert_eq!(&collected.to_bytes()[..], b"hello world");
    }
    assert_eq!(backend.connections(), 1);
}

#[tokio::test]
async fn a_body_delimited_by_close_is_read_to_the_end_and_the_connection_not_kept() {
    let backend =
        backend(|_| Act::AnswerAndClose("HTTP/1.1 200 OK\r\n\r\nuntil the end".into())).await;
    let upstream = Upstream::default();
    for _ in 0..2 {
        let response = send(&upstream, get(&backend.url("/")), MAX).await.unwrap();
        assert_eq!(text(response).await.1, "until the end");
    }
    assert_eq!(backend.connections(), 2);
    assert_eq!(upstream.pool.idle_count(), 0);
}

#[tokio::test]
async fn head_and_no_content_answers_have_no_body_and_free_the_connection_at_once() {
    let backend = backend(|n| match n {
        0 => Act::Answer("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n".into()),
        1 => Act::Answer("HTTP/1.1 204 No Content\r\n\r\n".into()),
        _ => Act::Answer(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi".into(),
        ),
    })
    .await;
    let upstream = Upstream::default();
    let head = send(&upstream, request(Method::HEAD, &backend.url("/"), ""), MAX)
        .await
        .unwrap();
    assert_eq!(head.headers()["content-length"], "1234");
    assert!(head.body().is_end_stream());
    // A HEAD announces a body that does not follow: should the backend send
    // it anyway, it would be read as the next answer. Not reused.
    assert_eq!(upstream.pool.idle_count(), 0);
    let empty = send(&upstream, get(&backend.url("/")), MAX).await.unwrap();
    assert_eq!(empty.status(), http::StatusCode::NO_CONTENT);
    assert_eq!(
        upstream.pool.idle_count(),
        1,
        "released before the body is polled"
    );
    assert_eq!(text(empty).await.1, "");
    let after_interim = send(&upstream, get(&backend.url("/")), MAX).await.unwrap();
    assert_eq!(
        text(after_interim).await,
        (http::StatusCode::OK, "hi".into())
    );
    assert_eq!(backend.connections(), 2);
}

#[tokio::test]
async fn bodies_are_sent_with_their_length() {
    let backend = backend(|_| Act::Answer(ok("stored"))).await;
    let upstream = Upstream::default();
    let large = vec![b'x'; 300 * 1024];
    for (method, path, body) in [
        (Method::POST, "/a", Bytes::from_static(b"payload")),
        (Method::PUT, "/b", Bytes::from(large.clone())),
        (Method::POST, "/c", Bytes::new()),
    ] {
        let answer = send(&upstream, request(method, &backend.url(path), body), MAX).await;
        assert_eq!(text(answer.unwrap()).await.1, "stored");
    }
    let seen = backend.seen();
    assert!(
        seen[0].head.contains("content-length: 7\r\n"),
        "{}",
        seen[0].head
    );
    assert_eq!(seen[0].body, b"payload");
    assert_eq!(seen[1].body.len(), large.len());
    assert!(seen[1].head.contains("content-length: 307200\r\n"));
    assert!(seen[2].head.contains("content-length: 0\r\n"));
    assert_eq!(backend.connections(), 1);
}

/// A streamed body of unknown length goes chunked, one of known length with
/// its length; one growing past the limit is cut off with an error. Only
/// possible to test here since the body is boxed: hyper's `Incoming`
/// cannot be made outside a connection.
#[tokio::test]
async fn streamed_bodies_are_framed_by_what_is_known_of_their_length() {
    let backend = backend(|_| Act::Answer(ok("stored"))).await;
    let upstream = Upstream::default();
    let pieces = |parts: &[&'static [u8]]| {
        let frames: Vec<Result<http_body::Frame<Bytes>, std::io::Error>> = parts
            .iter()
            .map(|p| Ok(http_body::Frame::data(Bytes::from_static(p))))
            .collect();
        crate::body::streaming(http_body_util::StreamBody::new(futures_util::stream::iter(
            frames,
        )))
    };
    let streamed = |body| {
        Request::builder()
            .method(Method::POST)
            .uri(backend.url("/up"))
            .body(RequestBody::Streaming(body))
            .unwrap()
    };
    let answer = send(&upstream, streamed(pieces(&[b"abc", b"", b"defg"])), MAX).await;
    assert_eq!(text(answer.unwrap()).await.1, "stored");
    let known = crate::body::streaming(http_body_util::Full::new(Bytes::from_static(b"whole")));
    let answer = send(&upstream, streamed(known), MAX).await;
    assert_eq!(text(answer.unwrap()).await.1, "stored");
    let seen = backend.seen();
    assert!(
        seen[0].head.contains("transfer-encoding: chunked\r\n"),
        "{}",
        seen[0].head
    );
    assert_eq!(seen[0].body, b"abcdefg");
    assert!(
        seen[1].head.contains("content-length: 5\r\n"),
        "{}",
        seen[1].head
    );
    assert_eq!(seen[1].body, b"whole");

    let over = send(&upstream, streamed(pieces(&[b"12345", b"678"])), 6).await;
    assert!(
        matches!(over, Err(UpstreamError::RequestTooLarge)),
        "{over:?}"
    );
    let failing = crate::body::streaming(http_body_util::StreamBody::new(
        futures_util::stream::iter([Err::<http_body::Frame<Bytes>, _>(std::io::Error::other(
            "client went away",
        ))]),
    ));
    let failed = send(&upstream, streamed(failing), MAX).await;
    match failed {
        Err(UpstreamError::ClientBody(e)) => assert_eq!(e.to_string(), "client went away"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_before_dialling() {
    let backend = backend(|_| Act::Answer(ok(""))).await;
    let upstream = Upstream::default();
    let refused = send(
        &upstream,
        request(Method::POST, &backend.url("/"), vec![0u8; 11]),
        10,
    )
    .await;
    assert!(
        matches!(refused, Err(UpstreamError::RequestTooLarge)),
        "{refused:?}"
    );
    assert_eq!(backend.connections(), 0);
}

#[tokio::test]
async fn an_idempotent_request_on_a_connection_the_backend_dropped_is_retried_once() {
    // Request 1 finds its pooled connection hung up on, as a backend's idle
    // timeout firing just as the request goes out would.
    let backend = backend(|n| match n {
        1 => Act::Hangup,
        n => Act::Answer(ok(&format!("answer {n}"))),
    })
    .await;
    let upstream = Upstream::default();
    assert_eq!(get_text(&upstream, &backend.url("/")).await, "answer 0");
    let retried = send(&upstream, get(&backend.url("/")), MAX).await.unwrap();
    assert_eq!(text(retried).await.1, "answer 2");
    assert_eq!(backend.connections(), 2);
}

#[tokio::test]
async fn a_non_idempotent_request_is_never_sent_twice() {
    let backend = backend(|n| match n {
        1 => Act::Hangup,
        _ => Act::Answer(ok("created")),
    })
    .await;
    let upstream = Upstream::default();
    let first = send(
        &upstream,
        request(Method::POST, &backend.url("/orders"), "1"),
        MAX,
    )
    .await
    .unwrap();
    assert_eq!(text(first).await.1, "created");
    let second = send(
        &upstream,
        request(Method::POST, &backend.url("/orders"), "2"),
        MAX,
    )
    .await;
    assert!(matches!(second, Err(UpstreamError::Closed)), "{second:?}");
    assert_eq!(backend.seen().len(), 2, "the backend saw the POST once");
}

#[tokio::test]
async fn a_connection_closed_while_idle_is_not_used() {
    let backend = backend(|_| {
        Act::AnswerAndClose(
            // Says keep-alive, closes anyway: only the socket tells.
            ok("bye"),
        )
    })
    .await;
    let upstream = Upstream::default();
    assert_eq!(get_text(&upstream, &backend.url("/")).await, "bye");
    assert_eq!(upstream.pool.idle_count(), 1);
    // Let the reactor see the close.
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let idle = upstream.pool.checkout(false, &backend.addr.to_string());
        if let Checkout::Reused(conn) = idle {
            conn.release();
            continue;
        }
        break;
    }
    assert_eq!(
        upstream.pool.idle_count(),
        0,
        "the closed connection was found and dropped within 500 ms"
    );
    let post = send(
        &upstream,
        request(Method::POST, &backend.url("/"), "x"),
        MAX,
    )
    .await
    .unwrap();
    assert_eq!(
        text(post).await.1,
        "bye",
        "a POST went out on a live connection"
    );
    assert_eq!(backend.connections(), 2);
}

#[tokio::test]
async fn an_early_answer_to_an_unread_upload_reaches_the_client() {
    let backend = backend(|_| {
        Act::AnswerEarly("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!".into())
    })
    .await;
    let upstream = Upstream::default();
    let upload = vec![b'u'; 8 * 1024 * 1024];
    let response = send(
        &upstream,
        request(Method::POST, &backend.url("/upload"), upload),
        MAX,
    )
    .await
    .unwrap();
    assert_eq!(
        text(response).await,
        (http::StatusCode::PAYLOAD_TOO_LARGE, "too big!".into())
    );
}

#[tokio::test]
async fn broken_answers_are_errors_not_guesses() {
    let backend = backend(|n| match n {
        0 => Act::AnswerAndClose("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort".into()),
        1 => Act::AnswerAndClose(
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx".into(),
        ),
        2 => Act::AnswerAndClose("SSH-2.0-OpenSSH\r\n\r\n".into()),
        3 => Act::AnswerAndClose("HTTP/1.1 200 OK\r\nContent-Le".into()),
        _ => Act::AnswerAndClose("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n".into()),
    })
    .await;
    let upstream = Upstream::default();
    let short = send(&upstream, get(&backend.url("/")), MAX).await.unwrap();
    assert!(
        short.into_body().collect().await.is_err(),
        "a body cut short is an error"
    );
    for _ in 1..5 {
        let answer = send(&upstream, get(&backend.url("/")), MAX).await;
        assert!(
            matches!(answer, Err(UpstreamError::Malformed(_))),
            "{answer:?}"
        );
    }
    assert_eq!(upstream.pool.idle_count(), 0);
}

#[tokio::test]
async fn unreachable_backends_fail_to_connect() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let upstream = Upstream::default();
    let answer = send(&upstream, get(&format!("http://{addr}/")), MAX).await;
    assert!(
        matches!(answer, Err(UpstreamError::Connect { .. })),
        "{answer:?}"
    );
}

#[tokio::test]
async fn a_half_read_body_takes_its_connection_with_it() {
    let big = "y".repeat(200 * 1024);
    let answer = ok(&big);
    let backend = backend(move |_| Act::Answer(answer.clone())).await;
    let upstream = Upstream::default();
    let response = send(&upstream, get(&backend.url("/")), MAX).await.unwrap();
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap();
    assert!(first.data_ref().is_some_and(|d| d.len() < big.len()));
    drop(body);
    assert_eq!(upstream.pool.idle_count(), 0);
    let again = send(&upstream, get(&backend.url("/")), MAX).await.unwrap();
    assert_eq!(text(again).await.1.len(), big.len());
    assert_eq!(backend.connections(), 2);
}

#[tokio::test]
async fn idle_connections_close_after_their_sweeps() {
    let backend = backend(|_| Act::Answer(ok("x"))).await;
    let upstream = Upstream::default();
    assert_eq!(get_text(&upstream, &backend.url("/")).await, "x");
    assert_eq!(upstream.pool.idle_count(), 1);
    for _ in 0..POOL_IDLE_SWEEPS {
        upstream.pool.sweep();
    }
    assert_eq!(
        upstream.pool.idle_count(),
        1,
        "idle for {POOL_IDLE_SWEEPS} sweeps: kept"
    );
    upstream.pool.sweep();
    assert_eq!(upstream.pool.idle_count(), 0, "one sweep more: closed");
    assert_eq!(get_text(&upstream, &backend.url("/")).await, "x");
    assert_eq!(backend.connections(), 2);
}

#[tokio::test]
async fn an_early_answer_is_heard_even_when_the_backend_stops_reading_and_stays() {
    let backend = backend(|_| {
        Act::AnswerEarlyAndHold(
            "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\n\r\ntoo big!".into(),
        )
    })
    .await;
    let upstream = Upstream::default();
    // Far more than the socket buffers hold: writing alone would block.
    let upload = vec![b'u'; 64 * 1024 * 1024];
    let answer = tokio::time::timeout(
        Duration::from_secs(5),
        send(
            &upstream,
            request(Method::POST, &backend.url("/upload"), upload),
            128 * 1024 * 1024,
        ),
    )
    .await
    .expect("the answer arrives while the upload is still blocked")
    .unwrap();
    assert_eq!(
        text(answer).await,
        (http::StatusCode::PAYLOAD_TOO_LARGE, "too big!".into())
    );
    assert_eq!(
        upstream.pool.idle_count(),
        0,
        "a connection whose request was cut short is not reused"
    );
}

#[tokio::test]
async fn a_backend_silent_in_the_middle_of_a_body_fails_it() {
    let backend =
        backend(|_| Act::Answer("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf".into())).await;
    let upstream = Upstream::default();
    let limits = SendLimits {
        max_body: MAX,
        read_idle: Duration::from_millis(200),
    };
    let response = send_with(&upstream, get(&backend.url("/")), limits)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let outcome = response.into_body().collect().await;
    assert!(
        matches!(outcome, Err(UpstreamError::Stalled(_))),
        "{outcome:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(upstream.pool.idle_count(), 0);
}

#[tokio::test]
async fn the_sweeper_closes_connections_after_the_keepalive_time() {
    let backend = backend(|_| Act::Answer(ok("x"))).await;
    let upstream = Upstream::new(
        &crate::tls::default_client_config(),
        Duration::from_millis(400),
    );
    assert_eq!(get_text(&upstream, &backend.url("/")).await, "x");
    assert_eq!(upstream.pool.idle_count(), 1);
    // A quarter of 400 ms is under the 250 ms floor between sweeps: the
    // connection closes after four to five sweeps, 1 to 1.25 s.
    // Polled with a generous deadline: a busy machine may run the sweeper
    // late, but never early.
    let started = std::time::Instant::now();
    while upstream.pool.idle_count() > 0 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(upstream.pool.idle_count(), 0);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not closed before its time"
    );
}
