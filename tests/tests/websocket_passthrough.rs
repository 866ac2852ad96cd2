//! WebSocket pass-through on HTTP_PROXY routes: a real WebSocket backend
//! (tokio-tungstenite) behind a node configured through the gRPC API, and
//! tokio-tungstenite clients through the node, over HTTP/1.1 upgrades and
//! HTTP/2 extended CONNECT (RFC 8441). Messages of every kind both ways,
//! close handshakes from either side, refusals (the gateway's and the
//! backend's), the idle timeout and node shutdown.

use archway_e2e::admin::http_proxy;
use archway_e2e::http_client::DOMAIN;
use archway_e2e::metrics::{sample, scrape};
use archway_e2e::tls::Pki;
use archway_e2e::{Admin, ControlPlane, DataPlane, now};
use archway_proto::v1::*;
use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use http_body_util::Empty;
use hyper_util::rt::{TokioExecutor, TokioIo};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

const API: &str = "live";
const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "passthrough-tests";
/// Every wait in these tests is bounded by this.
const WITHIN: Duration = Duration::from_secs(10);

/// A WebSocket backend on loopback (over TLS with `tls`). By the request
/// path: `/refuse` answers 403 instead of switching; `/whoami` first sends
/// what the gateway told it (the principal and the path it was asked for);
/// every connection then echoes what it gets, except that `push` makes it
/// send two texts and a binary message of its own, and `close-please` makes
/// it start the close handshake (1000, "bye"). A client asking for the
/// subprotocol `chat` gets it.
async fn websocket_backend(tls: Option<Arc<rustls::ServerConfig>>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match acceptor {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            serve_websocket(stream).await;
                        }
                    }
                    None => serve_websocket(stream).await,
                }
            });
        }
    });
    addr
}

async fn serve_websocket<S: AsyncRead + AsyncWrite + Unpin>(stream: S) {
    let mut seen = serde_json::Value::Null;
    let seen_ref = &mut seen;
    // The error type is tungstenite's, for its handshake callback.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, mut response: Response| {
        if request.uri().path() == "/refuse" {
            let mut refusal = ErrorResponse::new(Some("no sockets here".into()));
            *refusal.status_mut() = StatusCode::FORBIDDEN;
            return Err(refusal);
        }
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        *seen_ref = serde_json::json!({
            "path": request.uri().path(),
            "principal": header("x-archway-principal"),
            "forwarded_for": header("x-forwarded-for"),
        });
        if header("sec-websocket-protocol").contains("chat") {
            response
                .headers_mut()
                .insert("sec-websocket-protocol", "chat".parse().unwrap());
        }
        Ok(response)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    if seen["path"] == "/whoami" {
        let _ = ws.send(Message::text(seen.to_string())).await;
    }
    while let Some(Ok(message)) = ws.next().await {
        let reply = match message {
            Message::Text(text) if text.as_str() == "push" => {
                for pushed in [
                    Message::text("pushed 1"),
                    Message::text("pushed 2"),
                    Message::binary(vec![1u8, 2, 3]),
                ] {
                    let _ = ws.send(pushed).await;
                }
                continue;
            }
            Message::Text(text) if text.as_str() == "close-please" => {
                let _ = ws
                    .close(Some(CloseFrame {
                        code: CloseCode::Normal,
                        reason: "bye".into(),
                    }))
                    .await;
                continue;
            }
            Message::Text(_) | Message::Binary(_) => message,
            // Pings are answered, closes acknowledged, by tungstenite.
            _ => continue,
        };
        if ws.send(reply).await.is_err() {
            return;
        }
    }
}

/// A control plane and a node (with `node_args`), the API `live` (HTTP)
/// deployed to `v1` with `routes`: (path, integration URI).
async fn gateway(
    dir: &Path,
    node_args: &[&str],
    routes: &[(&str, String)],
) -> anyhow::Result<(ControlPlane, DataPlane, Admin, RestApi)> {
    let cp = ControlPlane::start(&dir.join("cp"))?;
    let node = DataPlane::start(&cp.url(), "n", &dir.join("n"), node_args)?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin.create_api(API, ApiProtocol::Http).await?;
    for (path, uri) in routes {
        admin.route(&api, path, "GET", http_proxy(uri)).await?;
    }
    Ok((cp, node, admin, api))
}

async fn deploy(admin: &mut Admin, api: &RestApi) -> anyhow::Result<()> {
    admin.deploy(api, "v1").await?;
    admin.wait_converged(&["n"]).await?;
    Ok(())
}

/// An HTTP/1.1 WebSocket handshake with the node for `path` of the API,
/// with extra request headers.
async fn connect(
    node: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<WebSocketStream<TcpStream>, WsError> {
    connect_to(node, API, path, headers).await
}

/// As [`connect`], for `path` of the API `api`.
async fn connect_to(
    node: SocketAddr,
    api: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<WebSocketStream<TcpStream>, WsError> {
    let mut request = format!("ws://{api}.{DOMAIN}{path}").into_client_request()?;
    for (name, value) in headers {
        request.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            value.parse().expect("a header value"),
        );
    }
    let stream = TcpStream::connect(node).await?;
    let (ws, _) = tokio::time::timeout(WITHIN, tokio_tungstenite::client_async(request, stream))
        .await
        .expect("the handshake ends")?;
    Ok(ws)
}

/// The next data message, within [`WITHIN`].
async fn next<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) -> Message {
    loop {
        let message = tokio::time::timeout(WITHIN, ws.next())
            .await
            .expect("a message in time")
            .expect("the connection is open")
            .expect("a valid message");
        if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
            return message;
        }
    }
}

/// Waits (bounded) until the connection ends, however it ends.
async fn ends<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) -> Duration {
    let started = Instant::now();
    tokio::time::timeout(WITHIN, async { while let Some(Ok(_)) = ws.next().await {} })
        .await
        .expect("the connection ends in time");
    started.elapsed()
}

/// The status a refused handshake answered.
fn refused_status(result: Result<WebSocketStream<TcpStream>, WsError>) -> (StatusCode, String) {
    match result {
        Err(WsError::Http(response)) => (
            response.status(),
            String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned(),
        ),
        Err(e) => panic!("refused in another way: {e}"),
        Ok(_) => panic!("switched"),
    }
}

/// Messages of every kind both ways and close handshakes from either end:
/// what one end sends, the other gets unchanged.
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) {
    ws.send(Message::text("hello")).await.unwrap();
    assert_eq!(next(ws).await, Message::text("hello"));
    ws.send(Message::binary(vec![0u8, 159, 146, 150]))
        .await
        .unwrap();
    assert_eq!(next(ws).await, Message::binary(vec![0u8, 159, 146, 150]));
    // Larger than every copy buffer on the way, many times over.
    let large: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    ws.send(Message::binary(large.clone())).await.unwrap();
    assert_eq!(next(ws).await, Message::binary(large));
    // Messages the backend sends of its own accord.
    ws.send(Message::text("push")).await.unwrap();
    assert_eq!(next(ws).await, Message::text("pushed 1"));
    assert_eq!(next(ws).await, Message::text("pushed 2"));
    assert_eq!(next(ws).await, Message::binary(vec![1u8, 2, 3]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_pass_both_ways_and_either_side_can_close() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let backend = websocket_backend(None).await;
    let (_cp, node, mut admin, api) = gateway(
        dir.path(),
        &[],
        &[
            ("/chat", format!("http://{backend}/echo")),
            ("/whoami", format!("http://{backend}/whoami")),
        ],
    )
    .await?;
    deploy(&mut admin, &api).await?;

    // The client closes: the backend's acknowledgement comes back.
    let mut ws = connect(node.addr(), "/v1/chat", &[]).await?;
    converse(&mut ws).await;
    ws.close(Some(CloseFrame {
        code: CloseCode::Away,
        reason: "done".into(),
    }))
    .await?;
    let echoed = tokio::time::timeout(WITHIN, ws.next()).await?;
    match echoed {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Away),
        other => panic!("expected the close acknowledged, got {other:?}"),
    }
    ends(&mut ws).await;
    // The backend closed its connection: the client closes its own, which
    // ends the tunnel (until then it is half-closed, as TCP allows).
    drop(ws);

    // The backend closes: the client gets its close frame.
    let mut ws = connect(node.addr(), "/v1/chat", &[]).await?;
    ws.send(Message::text("close-please")).await?;
    match next(&mut ws).await {
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::Normal);
            assert_eq!(frame.reason.as_str(), "bye");
        }
        other => panic!("expected the backend's close, got {other:?}"),
    }
    ends(&mut ws).await;
    drop(ws);

    // The backend gets the request mapped as any proxied request (its own
    // path, the forwarding headers), and negotiates the subprotocol itself.
    let request = format!("ws://{API}.{DOMAIN}/v1/whoami?x=1").into_client_request()?;
    let mut request = request;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "chat, superchat".parse()?);
    let stream = TcpStream::connect(node.addr()).await?;
    let (mut ws, response) = tokio_tungstenite::client_async(request, stream).await?;
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
    assert!(response.headers().contains_key("x-amzn-requestid"));
    let Message::Text(seen) = next(&mut ws).await else {
        panic!("the backend's greeting");
    };
    let seen: serde_json::Value = serde_json::from_str(seen.as_str())?;
    assert_eq!(seen["path"], "/whoami");
    assert_eq!(seen["forwarded_for"], "127.0.0.1");
    ws.close(None).await?;
    ends(&mut ws).await;
    drop(ws);

    // Counted: bytes both ways (the 3 MB message each way at least), and
    // no tunnel left open.
    let deadline = Instant::now() + WITHIN;
    loop {
        let metrics = scrape(node.process.addrs[1]).await?;
        let labels = [("api", API), ("stage", "v1")];
        let open = sample(&metrics, "archway_passthrough_tunnels", &labels).unwrap_or(-1.0);
        let up = sample(
            &metrics,
            "archway_passthrough_bytes_total",
            &[("api", API), ("direction", "client_to_backend")],
        )
        .unwrap_or(0.0);
        let down = sample(
            &metrics,
            "archway_passthrough_bytes_total",
            &[("api", API), ("direction", "backend_to_client")],
        )
        .unwrap_or(0.0);
        let ended = sample(
            &metrics,
            "archway_passthrough_closes_total",
            &[("api", API), ("reason", "ended")],
        )
        .unwrap_or(0.0);
        if open == 0.0 && up > 3e6 && down > 3e6 && ended == 3.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "open {open}, up {up}, down {down}, ended {ended}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// An RSA key made by openssl: (private PEM, modulus).
fn rsa_key(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let private = dir.join("jwt.pem");
    let ok = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&private)
        .status()
        .expect("openssl")
        .success();
    assert!(ok, "openssl genpkey");
    let modulus = Command::new("openssl")
        .args(["rsa", "-noout", "-modulus", "-in"])
        .arg(&private)
        .output()
        .unwrap()
        .stdout;
    let hex = String::from_utf8(modulus).unwrap();
    let hex = hex.trim().trim_start_matches("Modulus=");
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    (std::fs::read(private).unwrap(), bytes)
}

fn b64url(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_protected_route_refuses_an_upgrade_without_a_token() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (private, modulus) = rsa_key(dir.path());
    let jwks = serde_json::json!({"keys": [{
        "kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
        "n": b64url(&modulus), "e": "AQAB"
    }]})
    .to_string();
    let jwks = archway_e2e::serve::spawn(None, move |_request| {
        let jwks = jwks.clone();
        async move { archway_e2e::serve::answer(200, jwks) }
    })
    .await;
    let backend = websocket_backend(None).await;
    let (_cp, node, mut admin, api) = gateway(dir.path(), &[], &[]).await?;
    let authorizer = admin
        .apis
        .create_authorizer(PutAuthorizerRequest {
            authorizer: Some(Authorizer {
                api_id: api.id.clone(),
                name: "users".into(),
                r#type: AuthorizerType::Jwt as i32,
                jwt: Some(JwtConfiguration {
                    issuer: ISSUER.into(),
                    audiences: vec![AUDIENCE.into()],
                    jwks_uri: format!("http://{jwks}/jwks.json"),
                    algorithms: vec!["RS256".into()],
                    leeway_seconds: 0,
                }),
                ..Default::default()
            }),
        })
        .await?
        .into_inner();
    admin
        .put_route(
            &api,
            "/whoami",
            Method {
                http_method: "GET".into(),
                authorization_type: "JWT".into(),
                authorizer_id: authorizer.id.clone(),
                integration: Some(http_proxy(&format!("http://{backend}/whoami"))),
                ..Default::default()
            },
        )
        .await?;
    deploy(&mut admin, &api).await?;

    // No token, a forged one: refused like any request, nothing switched.
    let (status, body) = refused_status(connect(node.addr(), "/v1/whoami", &[]).await);
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("Unauthorized"), "{body}");
    let claims = serde_json::json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "alice",
        "exp": now() + 600, "nbf": now() - 10
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".into());
    let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_pem(&private)?)?;
    let forged = format!("{}x", &token[..token.len() - 1]);
    let (status, _) = refused_status(
        connect(
            node.addr(),
            "/v1/whoami",
            &[("authorization", &format!("Bearer {forged}"))],
        )
        .await,
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A valid token switches, and the backend learns who called; a
    // client cannot claim to be someone else.
    let bearer = format!("Bearer {token}");
    let mut ws = connect(
        node.addr(),
        "/v1/whoami",
        &[
            ("authorization", &bearer),
            ("x-archway-principal", "mallory"),
        ],
    )
    .await?;
    let Message::Text(seen) = next(&mut ws).await else {
        panic!("the backend's greeting");
    };
    let seen: serde_json::Value = serde_json::from_str(seen.as_str())?;
    assert_eq!(seen["principal"], "alice");
    ws.send(Message::text("still here")).await?;
    assert_eq!(next(&mut ws).await, Message::text("still here"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rest_api_http_proxy_method_passes_websockets_through() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let backend = websocket_backend(None).await;
    let (_cp, node, mut admin, _) = gateway(dir.path(), &[], &[]).await?;
    let rest = admin.create_api("rooms", ApiProtocol::Rest).await?;
    admin
        .route(
            &rest,
            "/lobby",
            "GET",
            http_proxy(&format!("http://{backend}/whoami")),
        )
        .await?;
    admin.deploy(&rest, "prod").await?;
    admin.wait_converged(&["n"]).await?;
    let mut ws = connect_to(node.addr(), "rooms", "/prod/lobby", &[]).await?;
    let Message::Text(seen) = next(&mut ws).await else {
        panic!("the backend's greeting");
    };
    let seen: serde_json::Value = serde_json::from_str(seen.as_str())?;
    assert_eq!(seen["path"], "/whoami");
    converse(&mut ws).await;
    ws.close(None).await?;
    ends(&mut ws).await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_refusing_the_upgrade_has_its_answer_passed_on() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let backend = websocket_backend(None).await;
    let gone = archway_e2e::unused_loopback_addr();
    let (_cp, node, mut admin, api) = gateway(
        dir.path(),
        &[],
        &[
            ("/refused", format!("http://{backend}/refuse")),
            ("/nobody", format!("http://{gone}/chat")),
        ],
    )
    .await?;
    deploy(&mut admin, &api).await?;
    let (status, body) = refused_status(connect(node.addr(), "/v1/refused", &[]).await);
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Streamed on (chunked: the backend gave no length), and tungstenite's
    // client shows the body as it came on the wire.
    assert!(body.contains("no sockets here"), "{body}");
    // A backend that cannot be reached: the gateway's own 502.
    let (status, _) = refused_status(connect(node.addr(), "/v1/nobody", &[]).await);
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_tunnel_is_closed_and_a_busy_one_is_not() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let backend = websocket_backend(None).await;
    let (_cp, node, mut admin, api) = gateway(
        dir.path(),
        &["--passthrough-idle-timeout-secs", "1"],
        &[("/chat", format!("http://{backend}/echo"))],
    )
    .await?;
    deploy(&mut admin, &api).await?;
    let mut idle = connect(node.addr(), "/v1/chat", &[]).await?;
    idle.send(Message::text("once")).await?;
    assert_eq!(next(&mut idle).await, Message::text("once"));
    let mut busy = connect(node.addr(), "/v1/chat", &[]).await?;
    let idle_closed = tokio::spawn(async move { ends(&mut idle).await });
    // Busy for three timeouts: a message every 300 ms.
    for i in 0..10 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        busy.send(Message::text(format!("tick {i}"))).await?;
        assert_eq!(next(&mut busy).await, Message::text(format!("tick {i}")));
    }
    // The idle one closed after 1 to 1.25 s (plus scheduling), not later.
    let waited = idle_closed.await?;
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    ends(&mut busy).await;
    let metrics = scrape(node.process.addrs[1]).await?;
    let idle_closes = sample(
        &metrics,
        "archway_passthrough_closes_total",
        &[("api", API), ("reason", "idle")],
    );
    assert_eq!(idle_closes, Some(2.0));
    Ok(())
}

/// What an extended CONNECT got: the answer, the WebSocket when it
/// switched, and the HTTP/2 connection's handle (kept while the WebSocket
/// is used).
type H2WebSocket = (
    http::Response<hyper::body::Incoming>,
    Option<WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>>,
    hyper::client::conn::http2::SendRequest<Empty<bytes::Bytes>>,
);

/// An HTTP/2 connection to the node and a WebSocket on an extended CONNECT
/// stream of it (RFC 8441) for `path` of the API.
async fn connect_h2(node: SocketAddr, path: &str) -> anyhow::Result<H2WebSocket> {
    let stream = TcpStream::connect(node).await?;
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await?;
    // The server's SETTINGS (SETTINGS_ENABLE_CONNECT_PROTOCOL) come first:
    // the connection is driven until they are in.
    let mut connection = Box::pin(connection);
    let deadline = Instant::now() + WITHIN;
    while !connection.is_extended_connect_protocol_enabled() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the node did not enable extended CONNECT"
        );
        tokio::select! {
            ended = &mut connection => anyhow::bail!("the connection ended: {ended:?}"),
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
    }
    tokio::spawn(connection);
    let mut sender = sender;
    let request = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(format!("http://{API}.{DOMAIN}{path}"))
        .extension(hyper::ext::Protocol::from_static("websocket"))
        .header("sec-websocket-version", "13")
        .body(Empty::<bytes::Bytes>::new())?;
    let mut response = sender.send_request(request).await?;
    if response.status() != StatusCode::OK {
        return Ok((response, None, sender));
    }
    let upgraded = hyper::upgrade::on(&mut response).await?;
    let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Client, None).await;
    Ok((response, Some(ws), sender))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_over_http2_extended_connect_reach_an_http1_backend() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let backend = websocket_backend(None).await;
    let (_cp, node, mut admin, api) = gateway(
        dir.path(),
        &[],
        &[
            ("/chat", format!("http://{backend}/echo")),
            ("/refused", format!("http://{backend}/refuse")),
        ],
    )
    .await?;
    admin
        .route(&api, "/static", "GET", archway_e2e::admin::mock(200, "hi"))
        .await?;
    deploy(&mut admin, &api).await?;

    let (response, ws, _connection) = connect_h2(node.addr(), "/v1/chat").await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        !response.headers().contains_key("sec-websocket-accept"),
        "answers the gateway's key, not the client's"
    );
    let mut ws = ws.expect("switched");
    converse(&mut ws).await;
    ws.send(Message::text("close-please")).await?;
    assert!(matches!(next(&mut ws).await, Message::Close(Some(_))));
    ends(&mut ws).await;

    // Refusals: the backend's, and a route that cannot switch.
    let (response, ws, _connection) = connect_h2(node.addr(), "/v1/refused").await?;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(ws.is_none());
    let (response, ws, _connection) = connect_h2(node.addr(), "/v1/static").await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(ws.is_none());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_backend_is_reached_over_wss() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::generate(&dir.path().join("pki"))?;
    let backend = websocket_backend(Some(pki.server_config())).await;
    let ca = pki.ca.display().to_string();
    let (_cp, node, mut admin, api) = gateway(
        dir.path(),
        &["--upstream-ca-file", &ca],
        &[(
            "/chat",
            format!("https://localhost:{}/echo", backend.port()),
        )],
    )
    .await?;
    deploy(&mut admin, &api).await?;
    let mut ws = connect(node.addr(), "/v1/chat", &[]).await?;
    converse(&mut ws).await;
    ws.close(None).await?;
    ends(&mut ws).await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_shutdown_closes_open_tunnels_without_holding_the_drain() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let backend = websocket_backend(None).await;
    let (_cp, mut node, mut admin, api) = gateway(
        dir.path(),
        &[],
        &[("/chat", format!("http://{backend}/echo"))],
    )
    .await?;
    deploy(&mut admin, &api).await?;
    let mut h1 = connect(node.addr(), "/v1/chat", &[]).await?;
    h1.send(Message::text("before")).await?;
    assert_eq!(next(&mut h1).await, Message::text("before"));
    let (_, h2, _connection) = connect_h2(node.addr(), "/v1/chat").await?;
    let mut h2 = h2.expect("switched");
    h2.send(Message::text("before")).await?;
    assert_eq!(next(&mut h2).await, Message::text("before"));

    let h1_closed = tokio::spawn(async move { ends(&mut h1).await });
    let h2_closed = tokio::spawn(async move { ends(&mut h2).await });
    let started = Instant::now();
    let exited = tokio::task::spawn_blocking(move || {
        node.process.terminate();
        node
    })
    .await?;
    let took = started.elapsed();
    h1_closed.await?;
    h2_closed.await?;
    // The drain waits up to 10 s for open requests: an HTTP/2 connection
    // carrying a tunnel would hold it that long if tunnels were left open.
    assert!(took < Duration::from_secs(6), "shutdown took {took:?}");
    drop(exited);
    Ok(())
}
