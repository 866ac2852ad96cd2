//! Request hardening, end to end with raw TCP sockets against a real node:
//! slow and silent clients are cut off, request heads are bounded but
//! admit ordinary large ones, every spelling of a denied path is refused
//! or denied before any backend sees it, the host is one, forwarding
//! headers are the gateway's, and a backend's split Transfer-Encoding is
//! a 502.
//!
//! Each test starts its own control plane, node (with a 2 s header read
//! timeout) and backends on ephemeral loopback ports; every wait is
//! bounded.

use archway_e2e::admin::http_proxy;
use archway_e2e::{Admin, ControlPlane, DataPlane, upstream};
use archway_proto::v1::{ApiProtocol, UpdateRestApiRequest};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HOST: &str = "hard.execute-api.localhost";
/// The node's `--header-read-timeout-secs` in these tests.
const HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// A node serving API `hard`, stage `prod`:
/// - `/{proxy+}` (ANY) proxies to an echoing backend, under a resource
///   policy that allows everything but denies `/admin`;
/// - `/split-te` proxies to a backend that sends `Transfer-Encoding` over
///   two lines (`gzip`, then `chunked`);
/// - `/twice-chunked` to one that sends `chunked` on two lines;
/// - `/trickle` to one whose chunked body takes [`TRICKLE`] to arrive.
struct Fixture {
    _dir: tempfile::TempDir,
    _cp: ControlPlane,
    node: DataPlane,
    backend: upstream::Upstream,
}

impl Fixture {
    async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let backend = upstream::start("backend").await;
        let split = raw_backend(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n\
             5\r\nhello\r\n0\r\n\r\n",
        )
        .await?;
        let trickle = trickle_backend().await?;
        let twice = raw_backend(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n\
             5\r\nhello\r\n0\r\n\r\n",
        )
        .await?;
        let cp = ControlPlane::start(&dir.path().join("cp"))?;
        let timeout = HEADER_TIMEOUT.as_secs().to_string();
        let node = DataPlane::start(
            &cp.url(),
            "node",
            &dir.path().join("node"),
            &["--header-read-timeout-secs", &timeout],
        )?;
        let mut admin = Admin::connect(&cp.url()).await?;
        let api = admin.create_api("hard", ApiProtocol::Rest).await?;
        admin
            .route(
                &api,
                "/{proxy+}",
                "ANY",
                http_proxy(&format!("http://{}/{{proxy}}", backend.addr)),
            )
            .await?;
        admin
            .route(
                &api,
                "/split-te",
                "GET",
                http_proxy(&format!("http://{split}/")),
            )
            .await?;
        admin
            .route(
                &api,
                "/twice-chunked",
                "GET",
                http_proxy(&format!("http://{twice}/")),
            )
            .await?;
        admin
            .route(
                &api,
                "/trickle",
                "GET",
                http_proxy(&format!("http://{trickle}/")),
            )
            .await?;
        let policy = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
             "Resource": "execute-api:/*"},
            {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke",
             "Resource": "execute-api:/*/*/admin"},
        ]});
        admin
            .apis
            .update_rest_api(UpdateRestApiRequest {
                api_id: api.id.clone(),
                name: api.name.clone(),
                policy: Some(policy.to_string()),
                ..Default::default()
            })
            .await?;
        admin.deploy(&api, "prod").await?;
        admin.wait_converged(&["node"]).await?;
        Ok(Self {
            _dir: dir,
            _cp: cp,
            node,
            backend,
        })
    }

    fn addr(&self) -> SocketAddr {
        self.node.addr()
    }

    fn hits(&self) -> u64 {
        self.backend.hits.load(Ordering::SeqCst)
    }

    /// `GET target` with `headers` (whole lines, CRLF-ended) on a new
    /// connection, `Host` first unless `headers` names its own.
    async fn get(&self, target: &str, headers: &str) -> anyhow::Result<Answer> {
        let names_host = headers
            .lines()
            .any(|line| line.to_ascii_lowercase().starts_with("host:"));
        let host = if names_host {
            String::new()
        } else {
            format!("Host: {HOST}\r\n")
        };
        let request = format!("GET {target} HTTP/1.1\r\n{host}{headers}Connection: close\r\n\r\n");
        exchange(self.addr(), request.as_bytes()).await
    }

    /// Asserts `GET target` with `headers` gets the gateway's typed 400
    /// (JSON body, `x-amzn-ErrorType: BadRequestException`).
    async fn assert_malformed(&self, target: &str, headers: &str) -> anyhow::Result<()> {
        let answer = self.get(target, headers).await?;
        assert_eq!(answer.status, 400, "{target} {headers:?}: {}", answer.body);
        assert_eq!(answer.json()["message"], "Bad Request");
        assert!(
            answer.head.contains("BadRequestException"),
            "{}",
            answer.head
        );
        Ok(())
    }

    /// Asserts `target` is refused (400) or denied (403) by the gateway and
    /// never reaches the backend, after checking that an allowed path does.
    async fn assert_kept_out(&self, target: &str) -> anyhow::Result<()> {
        let allowed = self.get("/prod/public", "").await?;
        assert_eq!(allowed.status, 200, "the control request: {}", allowed.body);
        let before = self.hits();
        let answer = self.get(target, "").await?;
        assert!(
            answer.status == 400 || answer.status == 403,
            "{target}: {} {}",
            answer.status,
            answer.body
        );
        assert!(
            answer
                .head
                .to_ascii_lowercase()
                .contains("x-amzn-errortype"),
            "{target}: a gateway response: {}",
            answer.head
        );
        assert_eq!(self.hits(), before, "{target} reached the backend");
        Ok(())
    }
}

/// How long the `/trickle` backend takes over its body: longer than the
/// header read timeout and its grace together.
const TRICKLE: Duration = Duration::from_secs(6);
const TRICKLE_CHUNKS: usize = 10;

/// A backend that answers with a chunked body of [`TRICKLE_CHUNKS`] `x`s,
/// one every [`TRICKLE`] / [`TRICKLE_CHUNKS`].
async fn trickle_backend() -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut read = Vec::new();
                while !read.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read.extend_from_slice(&buf[..n]),
                    }
                }
                let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
                if stream.write_all(head).await.is_err() {
                    return;
                }
                for _ in 0..TRICKLE_CHUNKS {
                    tokio::time::sleep(TRICKLE / TRICKLE_CHUNKS as u32).await;
                    if stream.write_all(b"1\r\nx\r\n").await.is_err() {
                        return;
                    }
                }
                let _ = stream.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    Ok(addr)
}

/// A backend on loopback that answers every request with `response`, then
/// closes.
async fn raw_backend(response: &'static str) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut read = Vec::new();
                while !read.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Ok(addr)
}

struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Writes `request` on a new connection and reads the answer until the
/// node closes it (10 s at most).
async fn exchange(addr: SocketAddr, request: &[u8]) -> anyhow::Result<Answer> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw)).await??;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    Ok(Answer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    })
}

/// Reads from `stream` until the node closes it; the time that took, or
/// None if it was still open after `limit`. Whatever the node sends (an
/// HTTP/2 SETTINGS or GOAWAY frame) is read and dropped.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
        }
    }
}

// ---- slow and silent clients ------------------------------------------

/// 50 connections that send a request head one header line every 500 ms
/// are all closed once the header read timeout passes, not before; the
/// node still serves afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_after_the_header_timeout() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let addr = f.addr();
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await?;
            stream
                .write_all(format!("GET /prod/public HTTP/1.1\r\nHost: {HOST}\r\n").as_bytes())
                .await?;
            // Trickle for at most 20 lines (10 s); the node should cut the
            // connection long before.
            for i in 0..20 {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let line = format!("X-Slow-{i}: a\r\n");
                if stream.write_all(line.as_bytes()).await.is_err() {
                    break;
                }
                let mut probe = [0u8; 512];
                match tokio::time::timeout(Duration::from_millis(1), stream.read(&mut probe)).await
                {
                    Ok(Ok(0)) | Ok(Err(_)) => break,
                    _ => {}
                }
            }
            anyhow::Ok(closed_within(&mut stream, Duration::from_secs(3)).await)
        }));
    }
    for task in tasks {
        let closed = task.await??;
        assert!(closed.is_some(), "a slowloris connection was still open");
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= HEADER_TIMEOUT - Duration::from_millis(200),
        "closed after {elapsed:?}: before the timeout"
    );
    assert!(
        elapsed < HEADER_TIMEOUT * 4,
        "closed only after {elapsed:?}"
    );
    assert_eq!(f.get("/prod/public", "").await?.status, 200);
    Ok(())
}

/// 50 connections that send nothing at all (hyper-util waits for the
/// bytes that tell HTTP/1 from HTTP/2 without a timeout of its own) are
/// closed after the header read timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed_after_the_header_timeout() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    let mut streams = Vec::new();
    for _ in 0..50 {
        streams.push(TcpStream::connect(f.addr()).await?);
    }
    let started = Instant::now();
    for stream in &mut streams {
        let left = (HEADER_TIMEOUT * 4).saturating_sub(started.elapsed());
        assert!(
            closed_within(stream, left).await.is_some(),
            "a silent connection was still open after {:?}",
            started.elapsed()
        );
    }
    assert!(started.elapsed() >= HEADER_TIMEOUT - Duration::from_millis(200));
    Ok(())
}

/// An HTTP/2 connection that sends the preface and its SETTINGS but never
/// opens a stream is closed after the header read timeout, although it
/// is a valid, live HTTP/2 connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_connections_that_open_no_stream_are_closed() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    let mut stream = TcpStream::connect(f.addr()).await?;
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await?;
    // An empty SETTINGS frame: length 0, type 4, flags 0, stream 0.
    stream.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await?;
    let closed = closed_within(&mut stream, HEADER_TIMEOUT * 4).await;
    let closed = closed.expect("the idle HTTP/2 connection was still open");
    assert!(
        closed >= HEADER_TIMEOUT - Duration::from_millis(200),
        "{closed:?}"
    );
    Ok(())
}

/// A connection that sends part of the HTTP/2 preface (too little to tell
/// HTTP/1 from HTTP/2) is closed too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_with_half_a_preface_are_closed() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    let mut stream = TcpStream::connect(f.addr()).await?;
    stream.write_all(b"PRI * HTTP/2.0\r\n").await?;
    assert!(
        closed_within(&mut stream, HEADER_TIMEOUT * 4)
            .await
            .is_some(),
        "still open"
    );
    Ok(())
}

/// A response that streams for longer than the header read timeout is
/// not cut by the idle bound (HTTP/1.1): no request starts meanwhile, but
/// one is still being answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_responses_outlive_the_idle_bound_over_http1() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    let started = Instant::now();
    let mut stream = TcpStream::connect(f.addr()).await?;
    let request = format!("GET /prod/trickle HTTP/1.1\r\nHost: {HOST}\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while !raw.ends_with(b"0\r\n\r\n") {
        let n = tokio::time::timeout(TRICKLE * 3, stream.read(&mut buf)).await??;
        assert!(
            n > 0,
            "cut after {:?}: {}",
            started.elapsed(),
            String::from_utf8_lossy(&raw)
        );
        raw.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(text.matches("\r\nx\r\n").count(), TRICKLE_CHUNKS, "{text}");
    assert!(started.elapsed() >= TRICKLE - Duration::from_millis(500));
    Ok(())
}

/// The same over HTTP/2: the idle connection may get GOAWAY, but its
/// stream runs to the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_responses_outlive_the_idle_bound_over_http2() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    let started = Instant::now();
    let h2 = archway_e2e::http_client::GatewayClient::new(true);
    let answer =
        tokio::time::timeout(TRICKLE * 3, h2.get(f.addr(), "hard", "/prod/trickle")).await??;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body, "x".repeat(TRICKLE_CHUNKS));
    assert!(started.elapsed() >= TRICKLE - Duration::from_millis(500));
    Ok(())
}

/// Over TLS too: a client that completes the handshake, HTTP/1.1 or h2 by
/// ALPN, and then sends nothing is closed after the header read timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_connections_silent_after_the_handshake_are_closed() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = archway_e2e::tls::Pki::generate(&dir.path().join("pki"))?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let (cert, key) = (
        pki.cert.display().to_string(),
        pki.key.display().to_string(),
    );
    let timeout = HEADER_TIMEOUT.as_secs().to_string();
    let node = DataPlane::start(
        &cp.url(),
        "node",
        &dir.path().join("node"),
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--header-read-timeout-secs",
            &timeout,
        ],
    )?;
    for alpn in [&b"http/1.1"[..], b"h2"] {
        let tcp = TcpStream::connect(node.addr()).await?;
        let mut tls = tokio_rustls::TlsConnector::from(pki.client_config(&[alpn]))
            .connect(rustls::pki_types::ServerName::try_from("localhost")?, tcp)
            .await?;
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(alpn));
        let started = Instant::now();
        let mut buf = [0u8; 4096];
        let closed = loop {
            let left = (HEADER_TIMEOUT * 4).saturating_sub(started.elapsed());
            match tokio::time::timeout(left, tls.read(&mut buf)).await {
                Err(_) => break None,
                Ok(Ok(0)) | Ok(Err(_)) => break Some(started.elapsed()),
                Ok(Ok(_)) => continue,
            }
        };
        let closed = closed.unwrap_or_else(|| panic!("{alpn:?}: still open"));
        assert!(
            closed >= HEADER_TIMEOUT - Duration::from_millis(500),
            "{alpn:?}: {closed:?}"
        );
    }
    Ok(())
}

// ---- header limits ----------------------------------------------------

/// 150 header fields (hyper's default limit is 100) are admitted and
/// reach the backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_with_150_headers_are_admitted() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    let headers: String = (0..150).map(|i| format!("X-Field-{i}: {i}\r\n")).collect();
    let answer = f.get("/prod/many", &headers).await?;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let echo = answer.json();
    assert_eq!(echo["headers"]["x-field-0"], "0");
    assert_eq!(echo["headers"]["x-field-149"], "149");
    Ok(())
}

/// The same over HTTP/2 (bounded there by the header list's size, 64 KiB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_with_150_headers_are_admitted_over_http2() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    let fields: Vec<(String, String)> = (0..150)
        .map(|i| (format!("x-field-{i}"), i.to_string()))
        .collect();
    let headers: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let h2 = archway_e2e::http_client::GatewayClient::new(true);
    let answer = h2
        .send_with_headers(f.addr(), "hard", "GET", "/prod/many", "", &headers)
        .await?;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let echo: Value = serde_json::from_str(&answer.body)?;
    assert_eq!(echo["headers"]["x-field-0"], "0");
    assert_eq!(echo["headers"]["x-field-149"], "149");
    Ok(())
}

/// A head of 200 KiB is refused with 431 before the backend sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_heads_are_refused() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    let value = "v".repeat(1024);
    let headers: String = (0..200)
        .map(|i| format!("X-Big-{i}: {value}\r\n"))
        .collect();
    let answer = f.get("/prod/huge", &headers).await?;
    assert_eq!(answer.status, 431, "{}", answer.head);
    assert_eq!(f.hits(), 0);
    Ok(())
}

/// More than 256 header fields, however small, are refused with 431.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_header_fields_are_refused() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    let headers: String = (0..300).map(|i| format!("X-{i}: 1\r\n")).collect();
    let answer = f.get("/prod/many", &headers).await?;
    assert_eq!(answer.status, 431, "{}", answer.head);
    assert_eq!(f.hits(), 0);
    Ok(())
}

// ---- every spelling of a denied path ------------------------------------

/// One test per spelling of `/prod/admin` that some backend (Tomcat,
/// Spring, IIS, nginx) would serve as `/admin`: each is refused (400) or
/// denied (403) by the resource policy, and never reaches the backend.
macro_rules! kept_out {
    ($($name:ident => $target:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() -> anyhow::Result<()> {
            Fixture::start().await?.assert_kept_out($target).await
        }
    )*};
}

kept_out! {
    admin_itself_is_denied => "/prod/admin";
    admin_with_a_session_parameter_is_kept_out => "/prod/admin;jsessionid=x";
    admin_with_an_empty_parameter_is_kept_out => "/prod/admin;";
    admin_with_a_parameter_mid_path_is_kept_out => "/prod/admin;x=1/";
    admin_with_an_encoded_semicolon_is_kept_out => "/prod/admin%3Bx";
    admin_with_a_trailing_dot_is_kept_out => "/prod/admin.";
    admin_with_trailing_dots_is_kept_out => "/prod/admin..";
    admin_with_an_encoded_trailing_dot_is_kept_out => "/prod/admin%2e";
    admin_with_an_encoded_trailing_space_is_kept_out => "/prod/admin%20";
    admin_with_a_trailing_dot_and_space_is_kept_out => "/prod/admin.%20";
    admin_with_an_encoded_tab_is_kept_out => "/prod/admin%09";
    admin_with_an_encoded_nul_is_kept_out => "/prod/admin%00";
    admin_with_a_dot_segment_is_kept_out => "/prod/admin/.";
    admin_through_a_parent_segment_is_kept_out => "/prod/public/../admin";
    admin_after_a_backslash_is_kept_out => "/prod/public\\..\\admin";
    admin_with_a_trailing_slash_is_kept_out => "/prod/admin/";
    admin_with_doubled_slashes_is_kept_out => "/prod//admin";
    admin_in_upper_case_is_kept_out => "/prod/ADMIN";
    admin_in_mixed_case_is_kept_out => "/prod/aDmIn";
    admin_with_encoded_letters_is_kept_out => "/prod/%61%64min";
    admin_with_encoded_upper_case_letters_is_kept_out => "/prod/%41DMIN";
    admin_double_encoded_is_kept_out => "/prod/%2561dmin";
    admin_with_an_overlong_dot_is_kept_out => "/prod/admin%c0%ae";
    admin_with_a_file_extension_is_kept_out => "/prod/admin.json";
    admin_with_an_encoded_file_extension_is_kept_out => "/prod/admin%2Ejson";
}

// ---- the host is one; the target is ASCII ----------------------------

/// Two `Host` headers get a typed 400, whether they agree or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_host_headers_are_refused() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    for hosts in [
        format!("Host: {HOST}\r\nHost: {HOST}\r\n"),
        format!("Host: {HOST}\r\nHost: other.execute-api.localhost\r\n"),
    ] {
        f.assert_malformed("/prod/public", &hosts).await?;
    }
    assert_eq!(f.hits(), 0);
    Ok(())
}

/// `%00` anywhere in the path is a typed 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encoded_nul_in_the_path_is_refused() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    for target in [
        "/prod/pub%00lic",
        "/prod/%00/public",
        "/prod/x%0d%0aSet-Cookie:a",
    ] {
        f.assert_malformed(target, "").await?;
    }
    assert_eq!(f.hits(), 0);
    Ok(())
}

/// Raw UTF-8 in the path of an HTTP_PROXY route is a 400 (it was a 500
/// and a warning, when the backend URI failed to build).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_utf8_in_an_http_proxy_path_is_refused() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    f.assert_malformed("/prod/caf\u{e9}", "").await?;
    // Percent-encoded, the same path is served.
    let encoded = f.get("/prod/caf%C3%A9", "").await?;
    assert_eq!(encoded.status, 200, "{}", encoded.body);
    assert_eq!(encoded.json()["path"], "/caf%C3%A9");
    assert_eq!(f.hits(), 1);
    Ok(())
}

/// Raw UTF-8 in the query of an HTTP_PROXY route is a 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_utf8_in_an_http_proxy_query_is_refused() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    f.assert_malformed("/prod/search?q=caf\u{e9}", "").await?;
    let encoded = f.get("/prod/search?q=caf%C3%A9", "").await?;
    assert_eq!(encoded.status, 200, "{}", encoded.body);
    assert_eq!(encoded.json()["query"], "q=caf%C3%A9");
    assert_eq!(f.hits(), 1);
    Ok(())
}

// ---- forwarding headers ----------------------------------------------

/// The backend sees the gateway's view of the client: X-Forwarded-For
/// appended after every line the client sent, Forwarded the gateway's
/// element alone, X-Real-IP the peer, no `_` spelling of them, and no
/// X-Forwarded-Host/Port/Prefix of the client's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_are_the_gateways() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    let claims = "X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2, 3.3.3.3\r\n\
                  Forwarded: for=6.6.6.6;proto=https\r\nForwarded: for=7.7.7.7\r\n\
                  X-Real-IP: 9.9.9.9\r\nX-Real-IP: 8.8.8.8\r\nX_Real_IP: 5.5.5.5\r\n\
                  X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.test\r\n\
                  X-Forwarded-Port: 443\r\nX-Forwarded-Prefix: /admin\r\n";
    let answer = f.get("/prod/whoami", claims).await?;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let headers = &answer.json()["headers"];
    assert_eq!(
        headers["x-forwarded-for"],
        "1.1.1.1, 2.2.2.2, 3.3.3.3, 127.0.0.1"
    );
    assert_eq!(headers["forwarded"], "for=127.0.0.1;proto=http");
    for claim in ["x-forwarded-host", "x-forwarded-port", "x-forwarded-prefix"] {
        assert!(headers.get(claim).is_none(), "{claim}: {headers}");
    }
    assert_eq!(headers["x-real-ip"], "127.0.0.1");
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert!(headers.get("x_real_ip").is_none(), "{headers}");

    // Without claims, the gateway's alone.
    let plain = f.get("/prod/whoami", "").await?.json();
    assert_eq!(plain["headers"]["x-forwarded-for"], "127.0.0.1");
    assert_eq!(plain["headers"]["forwarded"], "for=127.0.0.1;proto=http");
    assert_eq!(plain["headers"]["x-real-ip"], "127.0.0.1");
    Ok(())
}

/// `X-Original-URL` and `X-Rewrite-URL`, which IIS and some frameworks
/// serve in place of the path, never reach the backend: a request for
/// `/public` cannot name `/admin` that way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_override_headers_are_dropped() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    let overrides = "X-Original-URL: /admin\r\nX-Rewrite-URL: /admin\r\nX_Original_URL: /admin\r\n";
    let answer = f.get("/prod/public", overrides).await?;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let headers = &answer.json()["headers"];
    for name in ["x-original-url", "x-rewrite-url", "x_original_url"] {
        assert!(
            headers.get(name).is_none(),
            "{name} reached the backend: {headers}"
        );
    }
    Ok(())
}

// ---- backend framing ----------------------------------------------------

/// `Transfer-Encoding: gzip` and `Transfer-Encoding: chunked` on two lines
/// are one list, `gzip, chunked`: a coding the gateway does not pass on,
/// so 502.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_transfer_encoding_split_over_two_lines_is_a_502() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    let answer = f.get("/prod/split-te", "").await?;
    assert_eq!(answer.status, 502, "{}", answer.body);
    assert_eq!(answer.json()["message"], "Bad Gateway");
    Ok(())
}

/// `chunked` on two lines is chunked twice: 502.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_chunked_twice_over_two_lines_is_a_502() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    let answer = f.get("/prod/twice-chunked", "").await?;
    assert_eq!(answer.status, 502, "{}", answer.body);
    assert_eq!(answer.json()["message"], "Bad Gateway");
    Ok(())
}
