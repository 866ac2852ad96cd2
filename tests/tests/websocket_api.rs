//! WEBSOCKET APIs on one node, configured through the real gRPC API:
//! connects (and their refusals), messages routed by `action` to MOCK and
//! HTTP backends and `$default`, the context backends get, the node's
//! limits, and `$disconnect` called once whichever side ends a connection
//! (the client, a limit, the node's shutdown). The backend is a real HTTP
//! server in the test that records every request it gets.

use archway_e2e::admin::{authorizer, http_proxy, mock};
use archway_e2e::http_client::GatewayClient;
use archway_e2e::{Admin, DataPlane, started};
use archway_proto::v1::*;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{WebSocketStream, client_async};

type Client = WebSocketStream<TcpStream>;

/// One request the backend got.
#[derive(Debug, Clone)]
struct Recorded {
    path: String,
    headers: http::HeaderMap,
    body: Bytes,
}

/// A backend that records what it gets and answers by path:
/// `/connect` 200 (403 "no entry" when the client's query had `deny=1`),
/// `/echo` 200 `echo:BODY`, `/missing` 404 `gone`, `/slow` 200 after 20 s, `/authorize` a REQUEST authorizer's answer
/// (Allow for `X-Token: good`, else Deny; principal `tester`, context
/// `{"tier":"gold","seats":3}`), anything else 200 empty.
struct Backend {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Backend {
    async fn start() -> Backend {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let record = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let record = record.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: http::Request<Incoming>| {
                        let record = record.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let path = parts.uri.path().to_owned();
                            if path == "/slow" {
                                tokio::time::sleep(Duration::from_secs(20)).await;
                            }
                            record.lock().unwrap().push(Recorded {
                                path: path.clone(),
                                headers: parts.headers.clone(),
                                body: body.clone(),
                            });
                            Ok::<_, Infallible>(answer(&path, &parts.headers, &body))
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Backend { addr, seen, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn calls(&self, path: &str) -> Vec<Recorded> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Waits (bounded) until `path` was called `n` times.
    async fn wait_calls(&self, path: &str, n: usize) -> Vec<Recorded> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let calls = self.calls(path);
            if calls.len() >= n || Instant::now() > deadline {
                return calls;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn answer(path: &str, headers: &http::HeaderMap, body: &Bytes) -> http::Response<Full<Bytes>> {
    let respond = |status: StatusCode, body: Bytes| {
        let mut r = http::Response::new(Full::new(body));
        *r.status_mut() = status;
        r
    };
    match path {
        "/connect" => {
            let query = headers
                .get("x-archway-query")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if query.contains("deny=1") {
                respond(StatusCode::FORBIDDEN, Bytes::from_static(b"no entry"))
            } else {
                respond(StatusCode::OK, Bytes::new())
            }
        }
        "/missing" => respond(StatusCode::NOT_FOUND, Bytes::from_static(b"gone")),
        "/echo" => {
            let mut out = b"echo:".to_vec();
            out.extend_from_slice(body);
            respond(StatusCode::OK, Bytes::from(out))
        }
        "/authorize" => {
            let event: Value = serde_json::from_slice(body).unwrap_or_default();
            let token = event["headers"]
                .as_object()
                .and_then(|h| {
                    h.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("x-token"))
                        .map(|(_, v)| v.clone())
                })
                .unwrap_or_default();
            let effect = if token == "good" { "Allow" } else { "Deny" };
            let policy = json!({
                "principalId": "tester",
                "context": {"tier": "gold", "seats": 3},
                "policyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Action": "execute-api:Invoke",
                        "Effect": effect,
                        "Resource": event["methodArn"],
                    }],
                },
            });
            respond(StatusCode::OK, Bytes::from(policy.to_string()))
        }
        _ => respond(StatusCode::OK, Bytes::new()),
    }
}

/// A WEBSOCKET API routing by `$request.body.action`.
async fn websocket_api(admin: &mut Admin, id: &str) -> anyhow::Result<RestApi> {
    Ok(admin
        .apis
        .create_rest_api(CreateRestApiRequest {
            id: id.into(),
            name: format!("{id} api"),
            protocol: ApiProtocol::Websocket as i32,
            route_selection_expression: "$request.body.action".into(),
            ..Default::default()
        })
        .await?
        .into_inner())
}

/// A route: `key` with `integration`, two-way or not.
fn route(key: &str, integration: Integration, two_way: bool) -> Method {
    Method {
        http_method: key.into(),
        integration: Some(integration),
        route_response_selection_expression: if two_way {
            "$default".into()
        } else {
            String::new()
        },
        ..Default::default()
    }
}

/// Opens a WebSocket to `api`'s stage on `node`.
async fn open(
    node: SocketAddr,
    api: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
) -> Result<Client, WsError> {
    let mut request =
        format!("ws://{api}.execute-api.localhost{path_and_query}").into_client_request()?;
    for (name, value) in headers {
        request.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_str(value).unwrap(),
        );
    }
    let tcp = TcpStream::connect(node).await.map_err(WsError::Io)?;
    Ok(client_async(request, tcp).await?.0)
}

/// The status a refused connect got.
fn refused_status(result: Result<Client, WsError>) -> StatusCode {
    match result {
        Err(WsError::Http(response)) => response.status(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("expected a refusal, the connect succeeded"),
    }
}

/// The next data message (text) within five seconds.
async fn next_text(client: &mut Client) -> String {
    let deadline = Duration::from_secs(5);
    loop {
        match tokio::time::timeout(deadline, client.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return text.to_string(),
            Ok(Some(Ok(Message::Binary(b)))) => return String::from_utf8_lossy(&b).into_owned(),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

/// The close frame the node ends the connection with, within `within`.
async fn close_frame(client: &mut Client, within: Duration) -> Option<CloseFrame> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, client.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame,
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => panic!("the connection failed instead of closing: {e}"),
            Ok(None) => panic!("the connection ended without a close frame"),
            Err(_) => panic!("no close frame within {within:?}"),
        }
    }
}

fn header<'r>(r: &'r Recorded, name: &str) -> &'r str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} in {:?}", r.headers))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_route_by_action_and_disconnect_is_called_once_on_close_and_shutdown()
-> anyhow::Result<()> {
    let backend = Backend::start().await;
    let (dir, cp, mut admin) = started().await?;
    let api = websocket_api(&mut admin, "chat").await?;
    for m in [
        route("$connect", http_proxy(&backend.url("/connect")), false),
        route(
            "$disconnect",
            http_proxy(&backend.url("/disconnect")),
            false,
        ),
        route("$default", mock(200, "default answer"), true),
        route("ping", mock(200, "pong"), true),
        route("echo", http_proxy(&backend.url("/echo")), true),
        route("oneway", http_proxy(&backend.url("/oneway")), false),
        route("slow", http_proxy(&backend.url("/slow")), true),
        // HTTP with nothing to map: served as HTTP_PROXY is.
        route(
            "plain",
            Integration {
                r#type: IntegrationType::Http as i32,
                http_method: "POST".into(),
                uri: backend.url("/echo"),
                ..Default::default()
            },
            true,
        ),
    ] {
        admin.put_route(&api, "/", m).await?;
    }
    admin.deploy(&api, "prod").await?;
    let mut node = DataPlane::start(&cp.url(), "ws1", &dir.path().join("ws1"), &[])?;
    admin.wait_converged(&["ws1"]).await?;
    let addr = node.addr();

    // Not an upgrade: refused, with a reason.
    let plain = GatewayClient::default().get(addr, "chat", "/prod").await?;
    assert_eq!(plain.status, StatusCode::UPGRADE_REQUIRED, "{}", plain.body);

    let mut client = open(
        addr,
        "chat",
        "/prod?room=7",
        &[("user-agent", "e2e-client")],
    )
    .await?;
    let connects = backend.wait_calls("/connect", 1).await;
    assert_eq!(connects.len(), 1);
    let connect = &connects[0];
    assert_eq!(header(connect, "x-archway-event-type"), "CONNECT");
    assert_eq!(header(connect, "x-archway-route-key"), "$connect");
    assert_eq!(header(connect, "x-archway-query"), "room=7");
    assert_eq!(header(connect, "user-agent"), "e2e-client");
    assert!(connect.headers.get("sec-websocket-key").is_none());
    let connection_id = header(connect, "x-archway-connection-id").to_owned();
    assert_eq!(connection_id.len(), 16);

    // MOCK, two-way.
    client.send(Message::text(r#"{"action":"ping"}"#)).await?;
    assert_eq!(next_text(&mut client).await, "pong");
    // HTTP backend, two-way: the message is the body, the context headers.
    let message = r#"{"action":"echo","text":"hello"}"#;
    client.send(Message::text(message)).await?;
    assert_eq!(next_text(&mut client).await, format!("echo:{message}"));
    let echo = &backend.calls("/echo")[0];
    assert_eq!(backend.calls("/echo").len(), 1);
    assert_eq!(echo.body, message.as_bytes());
    assert_eq!(header(echo, "x-archway-connection-id"), connection_id);
    assert_eq!(header(echo, "x-archway-route-key"), "echo");
    assert_eq!(header(echo, "x-archway-event-type"), "MESSAGE");
    assert_eq!(header(echo, "x-archway-stage"), "prod");
    assert_eq!(header(echo, "x-archway-api-id"), "chat");
    assert_eq!(header(echo, "x-archway-source-ip"), "127.0.0.1");
    assert_eq!(
        header(echo, "x-archway-domain-name"),
        "chat.execute-api.localhost"
    );
    assert_eq!(header(echo, "x-archway-message-id").len(), 16);
    let connected_at: i64 = header(echo, "x-archway-connected-at").parse()?;
    let request_time: i64 = header(echo, "x-archway-request-time-epoch").parse()?;
    assert!(request_time >= connected_at && connected_at > 0);
    assert!(
        echo.headers
            .get("user-agent")
            .is_none_or(|v| v != "e2e-client"),
        "handshake headers go with CONNECT only"
    );
    client.send(Message::text(r#"{"action":"plain"}"#)).await?;
    assert_eq!(next_text(&mut client).await, r#"echo:{"action":"plain"}"#);
    // One-way: the backend gets it, the client nothing back; the next
    // two-way answer is the next message the client reads.
    client.send(Message::text(r#"{"action":"oneway"}"#)).await?;
    backend.wait_calls("/oneway", 1).await;
    // No route takes it, or it is not JSON: $default.
    client.send(Message::text(r#"{"action":"nobody"}"#)).await?;
    assert_eq!(next_text(&mut client).await, "default answer");
    client.send(Message::text("not json at all")).await?;
    assert_eq!(next_text(&mut client).await, "default answer");

    // The client closes: $disconnect, once, for this connection.
    client.close(None).await?;
    let disconnects = backend.wait_calls("/disconnect", 1).await;
    assert_eq!(disconnects.len(), 1);
    assert_eq!(
        header(&disconnects[0], "x-archway-event-type"),
        "DISCONNECT"
    );
    assert_eq!(
        header(&disconnects[0], "x-archway-connection-id"),
        connection_id
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(backend.calls("/disconnect").len(), 1, "called once");

    let scrape = archway_e2e::metrics::scrape(node.admin_addr()).await?;
    let messages_in = archway_e2e::metrics::sample(
        &scrape,
        "archway_websocket_messages_total",
        &[("api", "chat"), ("route", "echo"), ("direction", "in")],
    );
    assert_eq!(messages_in, Some(1.0));

    // The node shuts down: its connections are closed with 1001 and each
    // gets its $disconnect before the process exits, even one whose
    // message waits on a slow backend.
    let mut first = open(addr, "chat", "/prod", &[]).await?;
    let mut second = open(addr, "chat", "/prod", &[]).await?;
    first.send(Message::text(r#"{"action":"ping"}"#)).await?;
    assert_eq!(next_text(&mut first).await, "pong");
    second.send(Message::text(r#"{"action":"slow"}"#)).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = backend.calls("/disconnect").len();
    let shutdown_started = Instant::now();
    let stopping = tokio::task::spawn_blocking(move || {
        node.process.terminate();
        node
    });
    for client in [&mut first, &mut second] {
        let frame = close_frame(client, Duration::from_secs(15)).await;
        assert_eq!(frame.map(|f| u16::from(f.code)), Some(1001));
    }
    let _node = stopping.await?;
    // Fast: the connections end at once (the shutdown's bound, 17 s by
    // default, is for clients that do not read), though the slow backend
    // would take 20 s.
    assert!(
        shutdown_started.elapsed() < Duration::from_secs(8),
        "shutdown took {:?}",
        shutdown_started.elapsed()
    );
    assert!(
        backend.calls("/slow").is_empty(),
        "the slow answer never came"
    );
    // Exited: every $disconnect was called before.
    assert_eq!(backend.calls("/disconnect").len(), before + 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_is_refused_by_the_authorizer_a_missing_api_key_and_its_integration()
-> anyhow::Result<()> {
    let backend = Backend::start().await;
    let (dir, cp, mut admin) = started().await?;
    let api = websocket_api(&mut admin, "guarded").await?;
    let request_authorizer = admin
        .create_authorizer(Authorizer {
            identity_source: "method.request.header.X-Token".into(),
            result_ttl_seconds: Some(0),
            ..authorizer(
                &api,
                "tokens",
                AuthorizerType::Request,
                &backend.url("/authorize"),
            )
        })
        .await?;
    admin
        .put_custom_route(
            &api,
            "/",
            Method {
                api_key_required: true,
                ..route("$connect", http_proxy(&backend.url("/connect")), false)
            },
            &request_authorizer,
        )
        .await?;
    admin
        .put_route(&api, "/", route("$default", mock(200, "in"), true))
        .await?;
    admin
        .put_route(
            &api,
            "/",
            route("whoami", http_proxy(&backend.url("/whoami")), false),
        )
        .await?;
    admin.deploy(&api, "prod").await?;
    // Messages to $default: a burst of 2, then one each 10 s.
    let mut stage = admin.stage(&api, "prod").await?;
    stage.method_settings = vec![MethodThrottle {
        resource_path: "/".into(),
        http_method: "$default".into(),
        throttle: Some(ThrottleSettings {
            rate_limit: 0.1,
            burst_limit: 2,
        }),
    }];
    admin.update_stage(stage).await?;
    let (_, key) = admin
        .plan_with_key(
            &api,
            "prod",
            UsagePlan {
                name: "members".into(),
                ..Default::default()
            },
            "member",
        )
        .await?;
    let node = DataPlane::start(&cp.url(), "ws2", &dir.path().join("ws2"), &[])?;
    admin.wait_converged(&["ws2"]).await?;
    let addr = node.addr();

    // No identity source: 401; the authorizer's Deny: 403. Neither
    // reaches $connect's integration.
    assert_eq!(
        refused_status(open(addr, "guarded", "/prod", &[("x-api-key", &key.value)]).await),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refused_status(
            open(
                addr,
                "guarded",
                "/prod",
                &[("x-token", "bad"), ("x-api-key", &key.value)]
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );
    // Allowed by the authorizer, but no API key, or one that is not real.
    assert_eq!(
        refused_status(open(addr, "guarded", "/prod", &[("x-token", "good")]).await),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        refused_status(
            open(
                addr,
                "guarded",
                "/prod",
                &[("x-token", "good"), ("x-api-key", "not-a-key-0000000000")]
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );
    assert!(
        backend.calls("/connect").is_empty(),
        "refused before $connect"
    );
    // Everything in order, but $connect's integration says no: its status.
    let good = [("x-token", "good"), ("x-api-key", key.value.as_str())];
    assert_eq!(
        refused_status(open(addr, "guarded", "/prod?deny=1", &good).await),
        StatusCode::FORBIDDEN
    );
    assert_eq!(backend.calls("/connect").len(), 1);
    // And with all of it: connected, and messages flow.
    let mut client = open(addr, "guarded", "/prod", &good).await?;
    // The authorizer was asked about AWS's ARN of the route, which ends
    // at its key.
    let asked = backend.calls("/authorize");
    let event: Value = serde_json::from_slice(&asked.last().expect("asked").body)?;
    assert_eq!(
        event["methodArn"],
        "arn:aws:execute-api:us-east-1:000000000000:guarded/prod/$connect"
    );
    // AWS's WebSocket authorizer event, naming the connection the
    // $connect integration then got.
    let cx = &event["requestContext"];
    assert_eq!(cx["routeKey"], "$connect");
    assert_eq!(cx["eventType"], "CONNECT");
    assert_eq!(cx["stage"], "prod");
    assert_eq!(cx["apiId"], "guarded");
    assert_eq!(cx["domainName"], "guarded.execute-api.localhost");
    let connected = backend.calls("/connect");
    let connected = connected.last().expect("$connect called");
    assert_eq!(
        cx["connectionId"],
        header(connected, "x-archway-connection-id")
    );
    assert!(event.get("httpMethod").is_none(), "{event}");
    client.send(Message::text("hi")).await?;
    assert_eq!(next_text(&mut client).await, "in");
    // The stage's throttle of the route applies per message.
    client.send(Message::text("again")).await?;
    assert_eq!(next_text(&mut client).await, "in");
    client.send(Message::text("once more")).await?;
    let throttled: Value = serde_json::from_str(&next_text(&mut client).await)?;
    assert_eq!(throttled["message"], "Too Many Requests");
    assert_eq!(throttled["connectionId"].as_str().map(str::len), Some(16));
    // A message's event carries who the authorizer said the caller is at
    // $connect: its principal and context.
    client.send(Message::text(r#"{"action":"whoami"}"#)).await?;
    let seen = backend.wait_calls("/whoami", 1).await;
    let whoami = seen.first().expect("the message reached its route");
    assert_eq!(header(whoami, "x-archway-event-type"), "MESSAGE");
    assert_eq!(header(whoami, "x-archway-principal"), "tester");
    let context: Value = serde_json::from_str(header(whoami, "x-archway-authorizer-context"))?;
    assert_eq!(context, json!({"tier": "gold", "seats": 3}));

    let scrape = archway_e2e::metrics::scrape(node.admin_addr()).await?;
    let connects = |outcome: &str| {
        archway_e2e::metrics::sample(
            &scrape,
            "archway_websocket_connects_total",
            &[("api", "guarded"), ("stage", "prod"), ("outcome", outcome)],
        )
    };
    assert_eq!(connects("refused"), Some(5.0), "4 by phases, 1 by $connect");
    assert_eq!(connects("accepted"), Some(1.0));
    assert_eq!(
        archway_e2e::metrics::sample(
            &scrape,
            "archway_websocket_connections",
            &[("api", "guarded")]
        ),
        Some(1.0)
    );
    Ok(())
}

/// `$connect`'s ARN is AWS's, `…/{stage}/$connect` with no trailing `/`,
/// so resource and IAM policies copied from AWS apply to it exactly: an
/// exact Deny refuses the connect (it was a way around the policy while
/// the ARN ended in `/`), an exact Allow admits it, and the `/`-ended
/// spelling allows nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_policies_match_the_route_arn_as_aws_writes_it() -> anyhow::Result<()> {
    const ARN: &str = "arn:aws:execute-api:us-east-1:000000000000";
    let (dir, cp, mut admin) = started().await?;
    let statement = |effect: &str, resource: String| {
        json!({
            "Effect": effect,
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": resource,
        })
    };
    // prod: only an exact Allow of $connect. dev: everything allowed but
    // an exact Deny of $connect.
    let resource_policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            statement("Allow", format!("{ARN}:policed/prod/$connect")),
            statement("Allow", format!("{ARN}:policed/dev/*")),
            statement("Deny", format!("{ARN}:policed/dev/$connect")),
        ],
    });
    let policed = admin
        .apis
        .create_rest_api(CreateRestApiRequest {
            id: "policed".into(),
            name: "policed".into(),
            protocol: ApiProtocol::Websocket as i32,
            route_selection_expression: "$request.body.action".into(),
            policy: resource_policy.to_string(),
            ..Default::default()
        })
        .await?
        .into_inner();
    admin
        .put_route(&policed, "/", route("$default", mock(200, "in"), true))
        .await?;
    admin.deploy(&policed, "prod").await?;
    admin.deploy(&policed, "dev").await?;

    // $connect signed with SigV4; each principal's identity policies
    // decide.
    let signed = websocket_api(&mut admin, "signed").await?;
    admin
        .put_route(
            &signed,
            "/",
            Method {
                authorization_type: "AWS_IAM".into(),
                ..route("$connect", mock(200, ""), false)
            },
        )
        .await?;
    admin
        .put_route(&signed, "/", route("$default", mock(200, "in"), true))
        .await?;
    admin.deploy(&signed, "prod").await?;
    let identity = |statements: Vec<Value>| {
        json!({"Version": "2012-10-17", "Statement": statements}).to_string()
    };
    let invoke = |effect: &str, resource: &str| json!({"Effect": effect, "Action": "execute-api:Invoke", "Resource": resource});
    let exact = format!("{ARN}:signed/prod/$connect");
    admin
        .create_principal(
            "exact-allow",
            PrincipalType::User,
            vec![identity(vec![invoke("Allow", &exact)])],
        )
        .await?;
    admin
        .create_principal(
            "exact-deny",
            PrincipalType::User,
            vec![identity(vec![invoke("Allow", "*"), invoke("Deny", &exact)])],
        )
        .await?;
    admin
        .create_principal(
            "slash-allow",
            PrincipalType::User,
            vec![identity(vec![invoke("Allow", &format!("{exact}/"))])],
        )
        .await?;
    let allowed = admin.access_key("exact-allow").await?;
    let denied = admin.access_key("exact-deny").await?;
    let slashed = admin.access_key("slash-allow").await?;

    let node = DataPlane::start(&cp.url(), "ws-arn", &dir.path().join("ws-arn"), &[])?;
    admin.wait_converged(&["ws-arn"]).await?;
    let addr = node.addr();

    // The resource policy.
    let mut client = open(addr, "policed", "/prod", &[]).await?;
    client.send(Message::text("hi")).await?;
    assert_eq!(next_text(&mut client).await, "in");
    assert_eq!(
        refused_status(open(addr, "policed", "/dev", &[]).await),
        StatusCode::FORBIDDEN,
        "an exact Deny of $connect refuses it"
    );

    // Identity policies.
    let host = "signed.execute-api.localhost";
    let connect = |key: &AccessKey| {
        let headers = archway_e2e::sigv4::get_headers(key, host, "/prod", SystemTime::now());
        async move {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            open(addr, "signed", "/prod", &headers).await
        }
    };
    let mut client = connect(&allowed).await?;
    client.send(Message::text("hi")).await?;
    assert_eq!(next_text(&mut client).await, "in");
    assert_eq!(
        refused_status(connect(&denied).await),
        StatusCode::FORBIDDEN,
        "an exact Deny of $connect refuses it"
    );
    assert_eq!(
        refused_status(connect(&slashed).await),
        StatusCode::FORBIDDEN,
        "the ARN does not end in '/'"
    );
    assert_eq!(
        refused_status(open(addr, "signed", "/prod", &[]).await),
        StatusCode::FORBIDDEN,
        "unsigned"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_oversized_connections_are_closed_and_disconnected() -> anyhow::Result<()> {
    let backend = Backend::start().await;
    let (dir, cp, mut admin) = started().await?;
    let api = websocket_api(&mut admin, "limits").await?;
    for m in [
        route(
            "$disconnect",
            http_proxy(&backend.url("/disconnect")),
            false,
        ),
        route("$default", mock(200, "ok"), true),
    ] {
        admin.put_route(&api, "/", m).await?;
    }
    admin.deploy(&api, "prod").await?;
    let log_path = dir.path().join("access.log");
    let mut stage = admin.stage(&api, "prod").await?;
    stage.access_log_settings = Some(AccessLogSettings {
        format: "$context.eventType $context.connectionId $context.routeKey $context.status".into(),
        destination: format!("file:{}", log_path.display()),
    });
    admin.update_stage(stage).await?;
    let node = DataPlane::start(
        &cp.url(),
        "ws3",
        &dir.path().join("ws3"),
        &[
            "--websocket-idle-timeout-secs",
            "1",
            "--websocket-max-message-bytes",
            "1024",
            "--websocket-max-frame-bytes",
            "1024",
            "--websocket-messages-per-second",
            "5",
            "--websocket-message-burst",
            "20",
        ],
    )?;
    admin.wait_converged(&["ws3"]).await?;
    let addr = node.addr();

    // A message over the limit: 1009, and $disconnect.
    let mut big = open(addr, "limits", "/prod", &[]).await?;
    big.send(Message::text("ok?")).await?;
    assert_eq!(next_text(&mut big).await, "ok", "within the limit");
    big.send(Message::text("x".repeat(2000))).await?;
    let frame = close_frame(&mut big, Duration::from_secs(5)).await;
    assert_eq!(frame.map(|f| u16::from(f.code)), Some(1009));
    assert_eq!(backend.wait_calls("/disconnect", 1).await.len(), 1);

    // A connection that sends nothing: closed with 1001 after the idle
    // timeout, not before; activity keeps another open.
    let opened = Instant::now();
    let mut idle = open(addr, "limits", "/prod", &[]).await?;
    let mut busy = open(addr, "limits", "/prod", &[]).await?;
    let chatter = tokio::spawn(async move {
        for _ in 0..8 {
            busy.send(Message::text("still here")).await.unwrap();
            assert_eq!(next_text(&mut busy).await, "ok");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        busy
    });
    let frame = close_frame(&mut idle, Duration::from_secs(5)).await;
    assert_eq!(frame.map(|f| u16::from(f.code)), Some(1001));
    assert!(
        opened.elapsed() >= Duration::from_millis(900),
        "not before the timeout"
    );
    assert_eq!(backend.wait_calls("/disconnect", 2).await.len(), 2);
    let mut busy = chatter.await?;
    busy.send(Message::text("and now?")).await?;
    assert_eq!(next_text(&mut busy).await, "ok", "active connections stay");

    // Over the connection's message rate: 1008, and $disconnect.
    let mut flood = open(addr, "limits", "/prod", &[]).await?;
    for _ in 0..40 {
        if flood.send(Message::text("more")).await.is_err() {
            break;
        }
    }
    let frame = close_frame(&mut flood, Duration::from_secs(5)).await;
    assert_eq!(frame.map(|f| u16::from(f.code)), Some(1008));
    assert_eq!(backend.wait_calls("/disconnect", 3).await.len(), 3);

    // Each event has its line, with the connection's id.
    let big_id = header(&backend.calls("/disconnect")[0], "x-archway-connection-id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.lines().filter(|l| l.starts_with("DISCONNECT")).count() >= 3
            || Instant::now() > deadline
        {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for line in [
        format!("CONNECT {big_id} $connect 101"),
        format!("MESSAGE {big_id} $default 200"),
        format!("DISCONNECT {big_id} $disconnect 200"),
    ] {
        assert!(log.lines().any(|l| l == line), "no '{line}' in:\n{log}");
    }
    Ok(())
}

/// Opens a WebSocket to `api`'s prod stage whose client will read nothing:
/// small socket buffers, so what the node writes to it backs up at once.
async fn open_deaf(node: SocketAddr, api: &str) -> anyhow::Result<Client> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(4096)?;
    socket.set_send_buffer_size(4096)?;
    let tcp = socket.connect(node).await?;
    let request = format!("ws://{api}.execute-api.localhost/prod").into_client_request()?;
    Ok(client_async(request, tcp).await?.0)
}

/// Sends 30 KiB messages (one frame each, under the 32 KiB frame limit;
/// each answered by an echo the client never reads) until one is not taken
/// within a second: the node has stopped reading because it waits to
/// write. True once that happened (or the node already dropped the
/// client), false if it never did.
async fn send_until_stalled(client: &mut Client) -> bool {
    let message = "x".repeat(30 * 1024);
    for _ in 0..1000 {
        let sent = tokio::time::timeout(
            Duration::from_secs(1),
            client.send(Message::text(message.clone())),
        )
        .await;
        if !matches!(sent, Ok(Ok(()))) {
            return true;
        }
    }
    false
}

/// Reads what the node sent until the connection ends; true when it ended
/// without a close frame (the node gave up on the client), false on a
/// close frame. Panics if it is still open after `within`.
async fn ends_without_close(client: &mut Client, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, client.next()).await {
            Ok(Some(Ok(Message::Close(_)))) => return false,
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) => return true,
            Err(_) => panic!("the connection was still open after {within:?}"),
        }
    }
}

/// A client that completes its handshake, then stops reading while its
/// messages' answers pile up: no write waits longer than the node's write
/// timeout, so the node drops it (1006, no close frame it would not read)
/// and calls its `$disconnect` once; and a node shutting down while a
/// write to such a client waits still ends within its bound, with the
/// `$disconnect` called before it exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_and_disconnected() -> anyhow::Result<()> {
    let backend = Backend::start().await;
    let (dir, cp, mut admin) = started().await?;
    let api = websocket_api(&mut admin, "deaf").await?;
    for m in [
        route(
            "$disconnect",
            http_proxy(&backend.url("/disconnect")),
            false,
        ),
        route("$default", http_proxy(&backend.url("/echo")), true),
    ] {
        admin.put_route(&api, "/", m).await?;
    }
    admin.deploy(&api, "prod").await?;
    let mut node = DataPlane::start(
        &cp.url(),
        "ws5",
        &dir.path().join("ws5"),
        &["--websocket-write-timeout-secs", "3"],
    )?;
    admin.wait_converged(&["ws5"]).await?;
    let addr = node.addr();

    let mut deaf = open_deaf(addr, "deaf").await?;
    let stalled_at = Instant::now();
    assert!(send_until_stalled(&mut deaf).await, "the node never waited");
    let disconnects = backend.wait_calls("/disconnect", 1).await;
    assert_eq!(disconnects.len(), 1, "$disconnect within the write timeout");
    assert!(
        stalled_at.elapsed() < Duration::from_secs(10),
        "took {:?}",
        stalled_at.elapsed()
    );
    assert!(
        ends_without_close(&mut deaf, Duration::from_secs(10)).await,
        "dropped, not closed with a frame it would not read"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(backend.calls("/disconnect").len(), 1, "called once");

    // Shutdown while a write to another such client waits: bounded by the
    // write timeout (3 s), the close grace (1 s), the $disconnect timeout
    // (5 s) and a second; the $disconnect is called before the exit.
    let mut second = open_deaf(addr, "deaf").await?;
    assert!(
        send_until_stalled(&mut second).await,
        "the node never waited"
    );
    let shutdown_started = Instant::now();
    let stopping = tokio::task::spawn_blocking(move || {
        node.process.terminate();
        node
    });
    let _node = stopping.await?;
    assert!(
        shutdown_started.elapsed() < Duration::from_secs(13),
        "shutdown took {:?}",
        shutdown_started.elapsed()
    );
    assert_eq!(backend.calls("/disconnect").len(), 2);
    Ok(())
}

/// Functions get AWS's WebSocket event, signed as every Lambda call is,
/// and a two-way route sends the function's `body` back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_get_aws_websocket_events() -> anyhow::Result<()> {
    const KEY: &str = "AKIAFUNCTIONTEST0001";
    const SECRET: &str = "fUnCtIoNsEcReT/K7MDENG+bPxRfiCYEXAMPLE";
    let server = archway_e2e::lambda::start("ws-functions", KEY, SECRET).await;
    let endpoint = format!("lambda={}", server.url());
    let (_dir, _cp, node, mut admin) = archway_e2e::started_with_node_env(
        "ws5",
        &["--aws-endpoint", &endpoint, "--aws-region", "eu-west-1"],
        &[
            ("AWS_ACCESS_KEY_ID", KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
        ],
    )
    .await?;
    let api = websocket_api(&mut admin, "fns").await?;
    let function = Integration {
        r#type: IntegrationType::AwsProxy as i32,
        uri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:echo/invocations".into(),
        ..Default::default()
    };
    admin
        .put_route(&api, "/", route("fn", function, true))
        .await?;
    // $connect is signed: the IAM caller's identity is in every event.
    admin
        .put_route(
            &api,
            "/",
            Method {
                authorization_type: "AWS_IAM".into(),
                ..route("$connect", mock(200, ""), false)
            },
        )
        .await?;
    let invoke_all = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}"#;
    admin
        .create_principal("fn-caller", PrincipalType::User, vec![invoke_all.into()])
        .await?;
    let key = admin.access_key("fn-caller").await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["ws5"]).await?;
    let signed = archway_e2e::sigv4::get_headers(
        &key,
        "fns.execute-api.localhost",
        "/prod",
        SystemTime::now(),
    );
    let signed: Vec<(&str, &str)> = signed
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut client = open(node.addr(), "fns", "/prod", &signed).await?;
    // Stage variables set after the connect reach its next event.
    let mut stage = admin.stage(&api, "prod").await?;
    stage.variables = [("env".to_owned(), "blue".to_owned())].into();
    admin.update_stage(stage).await?;
    admin.wait_converged(&["ws5"]).await?;
    let message = r#"{"action":"fn","n":7}"#;
    client.send(Message::text(message)).await?;
    // The "echo" function answers {"servedBy", "event"} as its body.
    let answer: Value = serde_json::from_str(&next_text(&mut client).await)?;
    let event = &answer["event"];
    assert_eq!(event["body"], message);
    assert_eq!(event["isBase64Encoded"], false);
    assert_eq!(event["stageVariables"], serde_json::json!({"env": "blue"}));
    let cx = &event["requestContext"];
    assert_eq!(cx["routeKey"], "fn");
    assert_eq!(cx["eventType"], "MESSAGE");
    assert_eq!(cx["messageDirection"], "IN");
    assert_eq!(cx["stage"], "prod");
    assert_eq!(cx["apiId"], "fns");
    assert_eq!(cx["domainName"], "fns.execute-api.localhost");
    assert_eq!(cx["connectionId"].as_str().map(str::len), Some(16));
    assert_eq!(cx["messageId"].as_str().map(str::len), Some(16));
    assert_eq!(cx["identity"]["sourceIp"], "127.0.0.1");
    let user_arn = cx["identity"]["userArn"].as_str().unwrap_or_default();
    assert!(user_arn.ends_with(":user/fn-caller"), "{user_arn}");
    assert_eq!(cx["identity"]["caller"], user_arn);
    assert_eq!(cx["identity"]["accessKey"], key.access_key_id.as_str());
    assert_eq!(cx["identity"]["user"], "fn-caller");
    assert!(cx["connectedAt"].as_i64() > Some(0));
    let invocation = server.last("echo").expect("invoked");
    assert!(invocation.signature_ok, "signed with the node's key");
    Ok(())
}

/// A WebSocket route's HTTP or MOCK integration with templates, as AWS's
/// WebSocket APIs map events.
fn mapped(
    r#type: IntegrationType,
    uri: &str,
    selection: &str,
    templates: &[(&str, &str)],
    responses: Vec<IntegrationResponse>,
) -> Integration {
    Integration {
        r#type: r#type as i32,
        uri: uri.into(),
        template_selection_expression: selection.into(),
        request_templates: templates
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        integration_responses: responses,
        ..Default::default()
    }
}

/// An integration response keyed `key` (`$default` or `/REGEX/`) whose
/// `selection` picks one of `templates`.
fn keyed_response(key: &str, selection: &str, templates: &[(&str, &str)]) -> IntegrationResponse {
    IntegrationResponse {
        integration_response_key: key.into(),
        template_selection_expression: selection.into(),
        response_templates: templates
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapped_routes_render_templates_over_events_and_answers() -> anyhow::Result<()> {
    let backend = Backend::start().await;
    let (dir, cp, mut admin) = started().await?;
    let api = websocket_api(&mut admin, "mapped").await?;
    let routes = [
        // $connect: a MOCK whose template decides, from the handshake.
        route(
            "$connect",
            mapped(
                IntegrationType::Mock,
                "",
                r"\$default",
                &[(
                    "$default",
                    r#"#if($input.params('x-deny') == "1"){"statusCode": 403}#else{"statusCode": 200}#end"#,
                )],
                vec![],
            ),
            false,
        ),
        // HTTP: the template picked by the message's `kind` shapes the
        // request; the answer's status picks the response template.
        route(
            "join",
            mapped(
                IntegrationType::Http,
                &backend.url("/echo"),
                "${request.body.kind}",
                &[
                    (
                        "member",
                        r#"{"id":"$context.connectionId","room":$input.json('$.room'),"color":"$stageVariables.color","route":"$context.routeKey"}"#,
                    ),
                    ("$default", r#"{"guest":true}"#),
                ],
                vec![keyed_response(
                    "$default",
                    "${integration.response.statuscode}",
                    &[("200", "reply:$input.body"), ("$default", "other")],
                )],
            ),
            true,
        ),
        // Integration responses keyed by status patterns.
        route(
            "lookup",
            mapped(
                IntegrationType::Http,
                &backend.url("/missing"),
                "",
                &[],
                vec![
                    keyed_response(r"/4\d\d/", "", &[("$default", "not found: $input.body")]),
                    keyed_response("$default", "", &[("$default", "found")]),
                ],
            ),
            true,
        ),
        // NEVER: a message no template takes is refused.
        route(
            "strict",
            Integration {
                passthrough_behavior: PassthroughBehavior::Never as i32,
                ..mapped(
                    IntegrationType::Http,
                    &backend.url("/strict"),
                    "${request.body.kind}",
                    &[("known", "{}")],
                    vec![],
                )
            },
            true,
        ),
        // A MOCK: its template's statusCode, its response template's body.
        route(
            "$default",
            mapped(
                IntegrationType::Mock,
                "",
                "",
                &[("$default", r#"{"statusCode": 200}"#)],
                vec![keyed_response(
                    "$default",
                    "",
                    &[(
                        "$default",
                        r#"{"route":"$context.routeKey","type":"$context.eventType"}"#,
                    )],
                )],
            ),
            true,
        ),
    ];
    for m in routes {
        admin.put_route(&api, "/", m).await?;
    }
    // Messages validated by the model their `kind` picks (else $default's).
    admin
        .apis
        .create_model(PutModelRequest {
            model: Some(Model {
                api_id: api.id.clone(),
                name: "Order".into(),
                schema: r#"{"type":"object","required":["qty"],"properties":{"qty":{"type":"integer","minimum":1}}}"#.into(),
                content_type: "application/json".into(),
                ..Default::default()
            }),
        })
        .await?;
    admin
        .put_route(
            &api,
            "/",
            Method {
                model_selection_expression: "${request.body.kind}".into(),
                request_models: [("order".to_string(), "Order".to_string())].into(),
                ..route("order", mock(200, "accepted"), true)
            },
        )
        .await?;
    admin.deploy(&api, "prod").await?;
    let mut stage = admin.stage(&api, "prod").await?;
    stage.variables = [("color".to_owned(), "teal".to_owned())].into();
    admin.update_stage(stage).await?;
    let _node = DataPlane::start(&cp.url(), "wsm", &dir.path().join("wsm"), &[])?;
    admin.wait_converged(&["wsm"]).await?;
    let addr = _node.addr();

    // $connect's template refuses with the status it renders.
    let refused = open(addr, "mapped", "/prod", &[("x-deny", "1")]).await;
    assert_eq!(refused_status(refused), StatusCode::FORBIDDEN);
    let mut client = open(addr, "mapped", "/prod", &[]).await?;

    client
        .send(Message::text(
            r#"{"action":"join","kind":"member","room":"r1"}"#,
        ))
        .await?;
    let reply = next_text(&mut client).await;
    let sent = backend.wait_calls("/echo", 1).await;
    let request: Value = serde_json::from_slice(&sent[0].body)?;
    assert_eq!(request["room"], "r1");
    assert_eq!(request["color"], "teal");
    assert_eq!(request["route"], "join");
    let connection_id = header(&sent[0], "x-archway-connection-id");
    assert_eq!(request["id"], connection_id);
    assert_eq!(header(&sent[0], "content-type"), "application/json");
    assert_eq!(
        reply,
        format!("reply:echo:{}", String::from_utf8_lossy(&sent[0].body))
    );
    // No template of that key: the $default one.
    client
        .send(Message::text(r#"{"action":"join","kind":"visitor"}"#))
        .await?;
    assert_eq!(next_text(&mut client).await, r#"reply:echo:{"guest":true}"#);

    client.send(Message::text(r#"{"action":"lookup"}"#)).await?;
    assert_eq!(next_text(&mut client).await, "not found: gone");

    client
        .send(Message::text(r#"{"action":"strict","kind":"unknown"}"#))
        .await?;
    let refusal: Value = serde_json::from_str(&next_text(&mut client).await)?;
    assert_eq!(refusal["message"], "Unsupported Media Type", "{refusal}");
    assert_eq!(refusal["connectionId"], connection_id);
    assert!(backend.calls("/strict").is_empty(), "never called");
    client
        .send(Message::text(r#"{"action":"strict","kind":"known"}"#))
        .await?;
    // Its empty answer sends nothing back.
    assert_eq!(backend.wait_calls("/strict", 1).await[0].body, "{}");

    client.send(Message::text("not json")).await?;
    let answer: Value = serde_json::from_str(&next_text(&mut client).await)?;
    assert_eq!(answer["route"], "$default");
    assert_eq!(answer["type"], "MESSAGE");

    // Request models: a message its model refuses goes nowhere.
    for bad in [
        r#"{"action":"order","kind":"order"}"#,
        r#"{"action":"order","kind":"order","qty":0}"#,
        r#"{"action":"order","kind":"order","qty":"2"}"#,
    ] {
        client.send(Message::text(bad)).await?;
        let refusal: Value = serde_json::from_str(&next_text(&mut client).await)?;
        assert_eq!(
            refusal["message"], "Invalid request body",
            "{bad}: {refusal}"
        );
    }
    client
        .send(Message::text(
            r#"{"action":"order","kind":"order","qty":2}"#,
        ))
        .await?;
    assert_eq!(next_text(&mut client).await, "accepted");
    // No model for its kind, and no $default model: not validated.
    client
        .send(Message::text(r#"{"action":"order","kind":"note"}"#))
        .await?;
    assert_eq!(next_text(&mut client).await, "accepted");
    Ok(())
}

/// An open WebSocket keeps its client connection's slot under
/// `--max-connections`: a node at the cap accepts no more until one ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_count_against_the_connection_cap() -> anyhow::Result<()> {
    let (dir, cp, mut admin) = started().await?;
    let api = websocket_api(&mut admin, "capped").await?;
    admin
        .put_route(&api, "/", route("$default", mock(200, "ok"), true))
        .await?;
    admin.deploy(&api, "prod").await?;
    let node = DataPlane::start(
        &cp.url(),
        "ws6",
        &dir.path().join("ws6"),
        &["--max-connections", "2"],
    )?;
    admin.wait_converged(&["ws6"]).await?;
    let addr = node.addr();
    let mut first = open(addr, "capped", "/prod", &[]).await?;
    let _second = open(addr, "capped", "/prod", &[]).await?;
    let third = tokio::spawn(async move { open(addr, "capped", "/prod", &[]).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!third.is_finished(), "at the cap: not accepted yet");
    first.close(None).await?;
    let mut third = tokio::time::timeout(Duration::from_secs(10), third).await???;
    third.send(Message::text("in")).await?;
    assert_eq!(next_text(&mut third).await, "ok");
    Ok(())
}

/// Another client than the tests' own: Python's `websockets`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_clients_connect_and_route() -> anyhow::Result<()> {
    let python = archway_e2e::tools::python();
    let has_websockets = std::process::Command::new(&python)
        .args(["-c", "import websockets"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_websockets {
        if archway_e2e::tools::required("python") {
            panic!(
                "Python's websockets is required: {}",
                archway_e2e::tools::INSTALL_HINT
            );
        }
        eprintln!(
            "skipped: {} has no websockets package ({})",
            python.display(),
            archway_e2e::tools::INSTALL_HINT
        );
        return Ok(());
    }
    let backend = Backend::start().await;
    let (dir, cp, mut admin) = started().await?;
    let api = websocket_api(&mut admin, "py").await?;
    for m in [
        route("ping", mock(200, "pong"), true),
        route("echo", http_proxy(&backend.url("/echo")), true),
    ] {
        admin.put_route(&api, "/", m).await?;
    }
    admin.deploy(&api, "prod").await?;
    let node = DataPlane::start(&cp.url(), "ws4", &dir.path().join("ws4"), &[])?;
    admin.wait_converged(&["ws4"]).await?;
    let script = r#"
import asyncio, json, sys
from websockets.asyncio.client import connect

async def main(port):
    async with connect("ws://py.execute-api.localhost/prod", host="127.0.0.1", port=port) as ws:
        await ws.send(json.dumps({"action": "ping"}))
        print(await ws.recv())
        await ws.send(json.dumps({"action": "echo", "n": 1}))
        print(await ws.recv())
        await ws.send(json.dumps({"action": "nobody"}))
        print(await ws.recv())

asyncio.run(asyncio.wait_for(main(int(sys.argv[1])), 20))
"#;
    let output = tokio::process::Command::new(&python)
        .args(["-c", script, &node.addr().port().to_string()])
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "pong");
    assert_eq!(lines[1], r#"echo:{"action": "echo", "n": 1}"#);
    // No route and no $default: AWS's answer, naming the connection.
    let refusal: Value = serde_json::from_str(lines[2])?;
    assert_eq!(refusal["message"], "Forbidden");
    assert_eq!(refusal["connectionId"].as_str().map(str::len), Some(16));
    assert!(refusal["requestId"].is_string());
    Ok(())
}

/// The node's resident memory, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Measures memory per idle connection and messages per second through
/// one node (a debug build here: see the report for the figures).
/// `cargo test -p archway-e2e --test websocket_api -- --ignored --nocapture`;
/// ARCHWAY_WS_CONNECTIONS sets how many idle connections (default 10000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check: run it on purpose"]
async fn measure_idle_memory_and_message_rate() -> anyhow::Result<()> {
    let connections: usize = std::env::var("ARCHWAY_WS_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let (dir, cp, mut admin) = started().await?;
    let api = websocket_api(&mut admin, "bench").await?;
    admin
        .put_route(&api, "/", route("echo", mock(200, "pong"), true))
        .await?;
    admin.deploy(&api, "prod").await?;
    let node = DataPlane::start(
        &cp.url(),
        "bench",
        &dir.path().join("bench"),
        &[
            "--max-connections",
            "20000",
            "--worker-threads",
            "1",
            "--websocket-messages-per-second",
            "1000000",
            "--websocket-message-burst",
            "1000000",
        ],
    )?;
    admin.wait_converged(&["bench"]).await?;
    let addr = node.addr();
    let pid = node.process.pid();

    // Messages per second: clients each send and wait for the answer.
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(open(addr, "bench", "/prod", &[]).await?);
    }
    let window = Duration::from_secs(5);
    let started_at = Instant::now();
    let mut tasks = Vec::new();
    for mut client in clients {
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while started_at.elapsed() < window {
                client
                    .send(Message::text(r#"{"action":"echo"}"#))
                    .await
                    .unwrap();
                assert_eq!(next_text(&mut client).await, "pong");
                n += 1;
            }
            n
        }));
    }
    let mut messages = 0;
    for t in tasks {
        messages += t.await?;
    }
    let rate = messages as f64 / started_at.elapsed().as_secs_f64();
    eprintln!(
        "messages: {messages} in {window:?} through 8 connections: {rate:.0}/s (node on one worker thread)"
    );

    // Memory per idle connection.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(pid);
    let mut idle = Vec::with_capacity(connections);
    let opening = Instant::now();
    while idle.len() < connections {
        let batch = (connections - idle.len()).min(100);
        let opened =
            futures_util::future::join_all((0..batch).map(|_| open(addr, "bench", "/prod", &[])))
                .await;
        for c in opened {
            idle.push(c?);
        }
    }
    // Let every task reach its idle state.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid);
    eprintln!(
        "{connections} idle connections opened in {:?}: node RSS {before} KiB -> {after} KiB, {:.1} KiB per connection",
        opening.elapsed(),
        (after.saturating_sub(before)) as f64 / connections as f64
    );
    let scrape = archway_e2e::metrics::scrape(node.admin_addr()).await?;
    eprintln!(
        "archway_websocket_connections: {:?}",
        archway_e2e::metrics::sample(
            &scrape,
            "archway_websocket_connections",
            &[("api", "bench")]
        )
    );
    drop(idle);
    Ok(())
}
