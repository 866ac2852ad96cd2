//! `@connections` across the fleet: calls for a connection held by another
//! node travel over a real redis-server's pub/sub (the tests start one),
//! answer 410 once the owner is gone (its presence key expired), 503 while
//! Redis is down or the owner runs but does not listen, 504 when the owner
//! does not answer; the relay resubscribes when Redis comes back.
//!
//! Two kinds of tests: the real binaries (a control plane, two nodes, real
//! WebSocket clients, a backend that posts through `@connections` on the
//! other node), and relays run in this process over connection registries
//! whose outboxes the test reads (what a connection's task would send its
//! client), for what is hard to arrange with whole nodes (a hung owner,
//! Redis restarting on the same port).

use archway_data_plane::websocket::connection_id::{ConnectionId, NodeTag};
use archway_data_plane::websocket::fleet::{Call, Command, Fleet, Outcome};
use archway_data_plane::websocket::registry::{Connection, Connections, Outbound};
use archway_data_plane::websocket::relay::{Relay, Timing, channel_of, presence_key_of};
use archway_e2e::admin::{Admin, http_proxy};
use archway_e2e::http_client::{Answer, DOMAIN};
use archway_e2e::redis::RedisServer;
use archway_e2e::sigv4::{REGION, Signing, sign};
use archway_e2e::{DataPlane, started};
use archway_proto::v1::{AccessKey, CreateRestApiRequest, Method, PrincipalType, RestApi};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// One node's side: its registry, and the fleet it calls through.
struct Node {
    connections: Arc<Connections>,
    relay: Arc<Relay>,
    fleet: Fleet,
}

/// The relays' clocks here: presence keys that expire in 2 s rather than
/// 10 s, so a stopped node is gone sooner.
const TIMING: Timing = Timing {
    reply_timeout: Duration::from_secs(3),
    presence_every: Duration::from_millis(500),
    presence_ttl: Duration::from_secs(2),
};

impl Node {
    fn start(redis_url: &str) -> Node {
        let connections = Arc::new(Connections::new(NodeTag::random()));
        let relay = Relay::start_with(redis_url, connections.clone(), TIMING).expect("a Redis URL");
        let fleet = Fleet::with_relay(connections.clone(), relay.clone());
        Node {
            connections,
            relay,
            fleet,
        }
    }

    /// A connection of chat/prod on this node, with an outbox of
    /// `capacity` messages.
    fn connect(&self, capacity: usize) -> (ConnectionId, mpsc::Receiver<Outbound>) {
        let (tx, rx) = mpsc::channel(capacity);
        let connection = Arc::new(Connection::new(
            self.connections.new_id(),
            "chat",
            "prod",
            1_764_658_430_123,
            "192.0.2.7".parse().unwrap(),
            "client/2",
            tx,
            256 * 1024,
        ));
        let id = connection.id;
        self.connections.insert(connection);
        (id, rx)
    }

    async fn call(&self, id: ConnectionId, command: Command) -> Outcome {
        self.fleet
            .call(Call {
                api_id: "chat".into(),
                stage: "prod".into(),
                id,
                command,
            })
            .await
    }
}

/// Waits (bounded) until every relay listens on its channel.
async fn subscribed(nodes: &[&Node], within: Duration) {
    let deadline = Instant::now() + within;
    while !nodes.iter().all(|n| n.relay.is_subscribed()) {
        assert!(Instant::now() < deadline, "relays did not subscribe");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn next(rx: &mut mpsc::Receiver<Outbound>) -> Outbound {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a message within 5 s")
        .expect("the outbox is open")
}

#[tokio::test]
async fn calls_reach_another_nodes_connection_through_redis() -> anyhow::Result<()> {
    let redis = RedisServer::start()?;
    let (a, b) = (Node::start(&redis.url()), Node::start(&redis.url()));
    subscribed(&[&a, &b], Duration::from_secs(10)).await;
    let (id, mut outbox) = a.connect(1);

    // POST from B to A's connection: its data, as sent.
    let data = Bytes::from_static(b"{\"from\":\"b\"}");
    assert_eq!(
        b.call(id, Command::Post(data.clone())).await,
        Outcome::Posted
    );
    assert!(matches!(next(&mut outbox).await, Outbound::Data(d) if d == data));
    // Binary data travels whole too.
    let binary = Bytes::from_static(b"\x00\xff\xfe bytes");
    assert_eq!(
        b.call(id, Command::Post(binary.clone())).await,
        Outcome::Posted
    );
    // Its outbox (capacity 1) is full until the client reads.
    assert_eq!(
        b.call(id, Command::Post(Bytes::from_static(b"more"))).await,
        Outcome::Full
    );
    assert!(matches!(next(&mut outbox).await, Outbound::Data(d) if d == binary));

    // GET from B: A's facts about it.
    match b.call(id, Command::Get).await {
        Outcome::Info(info) => {
            assert_eq!(info.connected_at_ms, 1_764_658_430_123);
            assert_eq!(info.source_ip, "192.0.2.7");
            assert_eq!(info.user_agent, "client/2");
            assert!(
                info.last_active_ms > info.connected_at_ms,
                "posts are activity"
            );
        }
        other => panic!("GET answered {other:?}"),
    }

    // A connection of another API is gone to this one, on its owner too.
    let other_api = b
        .fleet
        .call(Call {
            api_id: "other".into(),
            stage: "prod".into(),
            id,
            command: Command::Get,
        })
        .await;
    assert_eq!(other_api, Outcome::Gone);

    // DELETE from B: A's connection is told to close (apart from its
    // outbox, so even a full one).
    assert_eq!(b.call(id, Command::Delete).await, Outcome::Deleted);
    let held = a.connections.get(&id).expect("held until its task ends");
    assert_eq!(held.close_asked(), Some((1000, "")));
    // Its task ends and leaves the registry: from then on, gone.
    drop(outbox);
    a.connections.remove(&id);
    assert_eq!(b.call(id, Command::Get).await, Outcome::Gone);
    assert_eq!(
        b.call(id, Command::Post(Bytes::from_static(b"late"))).await,
        Outcome::Gone
    );

    // An id of a node no one runs: nobody receives the PUBLISH and no
    // presence key says it runs. Gone, once B has listened for a presence
    // key's lifetime (before that a missing key may be one Redis lost).
    let nobody = ConnectionId::new(NodeTag::random());
    let deadline = Instant::now() + TIMING.presence_ttl + Duration::from_secs(5);
    loop {
        match b.call(nobody, Command::Get).await {
            Outcome::Gone => break,
            Outcome::Unavailable(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            other => panic!("a node no one runs answered {other:?}"),
        }
    }
    Ok(())
}

/// A runtime of its own for a node the test stops: shutting it down ends
/// the node's tasks, and Redis sees its subscription close.
fn node_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
}

/// Stops a node's runtime, off the test's own (a runtime cannot be dropped
/// inside another's task).
async fn stop_node(runtime: tokio::runtime::Runtime) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || runtime.shutdown_timeout(Duration::from_secs(1))).await?;
    Ok(())
}

#[tokio::test]
async fn a_stopped_node_s_connections_are_gone() -> anyhow::Result<()> {
    let redis = RedisServer::start()?;
    let b = Node::start(&redis.url());
    // A's node, on a runtime of its own that the test shuts down: the
    // process ends, and Redis sees its subscription close.
    let a_runtime = node_runtime()?;
    let url = redis.url();
    let (a_connections, _outbox, id) = a_runtime
        .spawn(async move {
            let a = Node::start(&url);
            subscribed(&[&a], Duration::from_secs(10)).await;
            let (id, outbox) = a.connect(4);
            (a.connections, outbox, id)
        })
        .await?;
    subscribed(&[&b], Duration::from_secs(10)).await;
    assert!(matches!(b.call(id, Command::Get).await, Outcome::Info(_)));
    let stopped = Instant::now();
    stop_node(a_runtime).await?;
    drop(a_connections);
    // Redis notices the closed subscription at once, and A's presence key
    // expires within its lifetime: unavailable (never gone while the key
    // lives), then gone.
    let deadline = Instant::now() + TIMING.presence_ttl + Duration::from_secs(5);
    loop {
        match b.call(id, Command::Get).await {
            Outcome::Gone => {
                // A wrote its key at most 0.5 s before it stopped.
                assert!(
                    stopped.elapsed() >= Duration::from_secs(1),
                    "gone before its key expired"
                );
                break;
            }
            other => assert!(
                Instant::now() < deadline,
                "a stopped node's connection answered {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// A node shut down gracefully (its connections closed, then
/// `Fleet::withdraw`) deletes its presence key and never writes it again:
/// other nodes answer gone (410) for its ids as soon as it stops
/// listening, not once a key with a minute to live expires.
#[tokio::test]
async fn a_node_shut_down_gracefully_is_gone_at_once() -> anyhow::Result<()> {
    let redis = RedisServer::start()?;
    let b = Node::start(&redis.url());
    let a_runtime = node_runtime()?;
    let url = redis.url();
    let (id, key) = a_runtime
        .spawn(async move {
            // A key that would outlive the test.
            let timing = Timing {
                presence_ttl: Duration::from_secs(60),
                ..TIMING
            };
            let connections = Arc::new(Connections::new(NodeTag::random()));
            let relay = Relay::start_with(&url, connections.clone(), timing).expect("a Redis URL");
            let a = Node {
                fleet: Fleet::with_relay(connections.clone(), relay.clone()),
                connections,
                relay,
            };
            subscribed(&[&a], Duration::from_secs(10)).await;
            let (id, _outbox) = a.connect(4);
            // Its key written, then the shutdown: connections closed,
            // presence withdrawn.
            tokio::time::sleep(TIMING.presence_every * 2).await;
            a.connections.remove(&id);
            a.fleet.withdraw().await;
            // Rewrites stop: the key stays gone while A still runs.
            tokio::time::sleep(TIMING.presence_every * 3).await;
            (id, presence_key_of(a.connections.node()))
        })
        .await?;
    assert_eq!(redis_cli(&redis, &["EXISTS", &key]), "0");
    stop_node(a_runtime).await?;
    // B knows a missing key means gone once it has listened a key's
    // lifetime itself (its own: 2 s); then gone at once.
    subscribed(&[&b], Duration::from_secs(10)).await;
    tokio::time::sleep(TIMING.presence_ttl).await;
    let asked = Instant::now();
    let outcome = b.call(id, Command::Get).await;
    assert!(matches!(outcome, Outcome::Gone), "{outcome:?}");
    assert!(asked.elapsed() < Duration::from_secs(2));
    Ok(())
}

/// `redis-cli` against the test's server; its answer.
fn redis_cli(redis: &RedisServer, args: &[&str]) -> String {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &redis.port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// An owner that runs but does not listen (Redis dropped its subscription
/// and refuses it back, as in a failover) keeps its presence key fresh:
/// calls for its connections answer unavailable (503, which SDKs retry),
/// never gone (410, after which backends forget the client for good),
/// however long it lasts; once it listens again they are carried out.
#[tokio::test]
async fn an_owner_that_is_not_listening_is_unavailable_not_gone() -> anyhow::Result<()> {
    let redis = RedisServer::start()?;
    // The owner connects as a Redis user of its own, whose channels the
    // test can take away.
    let created = redis_cli(
        &redis,
        &[
            "ACL", "SETUSER", "owner", "on", ">secret", "~*", "&*", "+@all",
        ],
    );
    assert_eq!(created, "OK");
    let owner_url = format!("redis://owner:secret@127.0.0.1:{}", redis.port);
    let (a, b) = (Node::start(&owner_url), Node::start(&redis.url()));
    subscribed(&[&a, &b], Duration::from_secs(10)).await;
    let (id, mut outbox) = a.connect(4);
    // B has listened long enough to take a missing presence key at its
    // word (so an answer other than gone below is the key's doing).
    tokio::time::sleep(TIMING.presence_ttl).await;
    let key = presence_key_of(id.node());
    assert_eq!(redis_cli(&redis, &["EXISTS", &key]), "1");

    // Redis drops A's subscription (its channels revoked) and refuses to
    // take it back.
    assert_eq!(
        redis_cli(&redis, &["ACL", "SETUSER", "owner", "resetchannels"]),
        "OK"
    );
    let channel = channel_of(id.node());
    let deadline = Instant::now() + Duration::from_secs(5);
    while redis_cli(&redis, &["PUBSUB", "NUMSUB", &channel]) != format!("{channel}\n0") {
        assert!(Instant::now() < deadline, "A is still subscribed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Longer than a presence key lives: A rewrites its key all along.
    let until = Instant::now() + TIMING.presence_ttl * 2;
    let mut calls = 0;
    while Instant::now() < until {
        match b.call(id, Command::Post(Bytes::from_static(b"x"))).await {
            Outcome::Unavailable(why) => assert!(why.contains("not listening"), "{why}"),
            other => panic!("an owner that runs but does not listen answered {other:?}"),
        }
        calls += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(calls >= 10, "{calls} calls");

    // Its channels given back: A resubscribes (backoff at most 5 s) and
    // the call is carried out.
    assert_eq!(redis_cli(&redis, &["ACL", "SETUSER", "owner", "&*"]), "OK");
    subscribed(&[&a], Duration::from_secs(10)).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match b.call(id, Command::Post(Bytes::from_static(b"back"))).await {
            Outcome::Posted => break,
            other => assert!(
                Instant::now() < deadline,
                "after A listened again a call answered {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(matches!(next(&mut outbox).await, Outbound::Data(d) if &d[..] == b"back"));
    Ok(())
}

#[tokio::test]
async fn an_owner_that_does_not_answer_times_out() -> anyhow::Result<()> {
    let redis = RedisServer::start()?;
    let b = Node::start(&redis.url());
    subscribed(&[&b], Duration::from_secs(10)).await;
    // Something subscribed on a node's channel that never answers (a node
    // hung, or one that died without Redis noticing yet).
    let tag = NodeTag::random();
    let mut silent = std::process::Command::new("redis-cli")
        .args(["-p", &redis.port.to_string(), "SUBSCRIBE", &channel_of(tag)])
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let id = ConnectionId::new(tag);
    // Bounded: until redis-cli has subscribed, the PUBLISH reaches no one.
    let deadline = Instant::now() + Duration::from_secs(10);
    let outcome = loop {
        let started = Instant::now();
        match b.call(id, Command::Get).await {
            Outcome::Gone | Outcome::Unavailable(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            other => break (other, started.elapsed()),
        }
    };
    let _ = silent.kill();
    let _ = silent.wait();
    assert_eq!(outcome.0, Outcome::TimedOut);
    assert!(
        outcome.1 >= Duration::from_secs(3) && outcome.1 < Duration::from_secs(5),
        "waited {:?}",
        outcome.1
    );
    Ok(())
}

#[tokio::test]
async fn redis_down_is_unavailable_and_the_relay_resubscribes() -> anyhow::Result<()> {
    let mut redis = RedisServer::start()?;
    let port = redis.port;
    let (a, b) = (Node::start(&redis.url()), Node::start(&redis.url()));
    subscribed(&[&a, &b], Duration::from_secs(10)).await;
    let (id, mut outbox) = a.connect(4);

    redis.stop();
    // The subscription's connection closes: calls are refused at once as
    // unavailable (not gone: the connection may well be there).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match b.call(id, Command::Post(Bytes::from_static(b"x"))).await {
            Outcome::Unavailable(_) => break,
            other => assert!(
                Instant::now() < deadline,
                "with Redis down a call answered {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A's own connections are still A's to reach.
    assert_eq!(
        a.call(id, Command::Post(Bytes::from_static(b"local")))
            .await,
        Outcome::Posted
    );
    assert!(matches!(next(&mut outbox).await, Outbound::Data(d) if &d[..] == b"local"));

    // Redis back on the same port: both relays resubscribe (backoff at
    // most 5 s) and calls across nodes work again.
    let _redis = RedisServer::start_on(port)?;
    subscribed(&[&a, &b], Duration::from_secs(15)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match b.call(id, Command::Post(Bytes::from_static(b"back"))).await {
            Outcome::Posted => break,
            other => assert!(
                Instant::now() < deadline,
                "after Redis came back a call answered {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(matches!(next(&mut outbox).await, Outbound::Data(d) if &d[..] == b"back"));
    Ok(())
}

// ---- the real binaries ----

/// One event a route's HTTP integration received.
#[derive(Debug, Clone)]
struct Event {
    event_type: String,
    connection_id: String,
    body: String,
}

/// A backend for every route: records each event (the context headers the
/// node sends) and answers 200 with no body.
async fn recording_backend() -> (SocketAddr, mpsc::UnboundedReceiver<Event>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request: http::Request<Incoming>| {
                        let tx = tx.clone();
                        async move {
                            let header = |name: &str| {
                                request
                                    .headers()
                                    .get(name)
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or_default()
                                    .to_owned()
                            };
                            let (event_type, connection_id) = (
                                header("x-archway-event-type"),
                                header("x-archway-connection-id"),
                            );
                            let body = request.into_body().collect().await.map(|b| b.to_bytes());
                            let _ = tx.send(Event {
                                event_type,
                                connection_id,
                                body: String::from_utf8_lossy(&body.unwrap_or_default())
                                    .into_owned(),
                            });
                            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                                Bytes::new(),
                            )))
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, rx)
}

/// The next event of `event_type` (others are skipped), within 10 s.
async fn event(events: &mut mpsc::UnboundedReceiver<Event>, event_type: &str) -> Event {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(left, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no {event_type} event within 10 s"))
            .expect("the backend runs");
        if event.event_type == event_type {
            return event;
        }
    }
}

type Client = WebSocketStream<TcpStream>;

/// A WebSocket client of the chat API's prod stage on `node`.
/// The WEBSOCKET API `chat` (routed by `$request.body.action`), with each
/// of `route_keys` sent to the recording backend's `/events`.
async fn chat_api(
    admin: &mut Admin,
    backend: SocketAddr,
    route_keys: &[&str],
) -> anyhow::Result<RestApi> {
    let api: RestApi = admin
        .apis
        .create_rest_api(CreateRestApiRequest {
            id: "chat".into(),
            name: "chat".into(),
            protocol: archway_proto::v1::ApiProtocol::Websocket as i32,
            route_selection_expression: "$request.body.action".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    for route_key in route_keys {
        admin
            .put_route(
                &api,
                "/",
                Method {
                    http_method: (*route_key).into(),
                    integration: Some(http_proxy(&format!("http://{backend}/events"))),
                    ..Default::default()
                },
            )
            .await?;
    }
    Ok(api)
}

async fn open(node: SocketAddr, user_agent: &str) -> anyhow::Result<Client> {
    let stream = TcpStream::connect(node).await?;
    let mut request = format!("ws://chat.{DOMAIN}:{}/prod", node.port()).into_client_request()?;
    request
        .headers_mut()
        .insert("user-agent", user_agent.parse()?);
    let (client, response) = tokio_tungstenite::client_async(request, stream).await?;
    assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);
    Ok(client)
}

/// The next data message the client reads (pings are the library's),
/// within 10 s.
async fn read(client: &mut Client) -> Message {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), client.next())
            .await
            .expect("a message within 10 s")
            .expect("the connection is open")
            .expect("a readable message");
        if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
            return message;
        }
    }
}

/// `@connections` on `node`, signed by `key` (unsigned without one).
async fn manage(
    node: &DataPlane,
    key: Option<&AccessKey>,
    method: &str,
    id: &str,
    body: &str,
) -> anyhow::Result<Answer> {
    let path = format!("/prod/@connections/{id}");
    let host = format!("chat.{DOMAIN}");
    let signed = match key {
        Some(key) => sign(&Signing {
            key: &key.access_key_id,
            secret: &key.secret_access_key,
            token: None,
            region: REGION,
            service: "execute-api",
            method,
            uri: &format!("http://{host}{path}"),
            headers: &[("host", &host)],
            body: body.as_bytes(),
            time: SystemTime::now(),
        })?,
        None => Vec::new(),
    };
    let headers: Vec<(&str, &str)> = signed
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    node.send("chat", method, &path, &headers, body.to_owned())
        .await
}

/// Calls until the answer has `status` (the owner's connection task ends
/// a moment after the event; a killed node's presence key expires within
/// 10 s), within 20 s.
async fn manage_until(
    node: &DataPlane,
    key: &AccessKey,
    method: &str,
    id: &str,
    status: u16,
) -> anyhow::Result<Answer> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = manage(node, Some(key), method, id, "").await?;
        if answer.status.as_u16() == status {
            return Ok(answer);
        }
        assert!(
            Instant::now() < deadline,
            "{method} {id}: still {answer:?}, not {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_backend_manages_connections_held_by_another_node() -> anyhow::Result<()> {
    let mut redis = RedisServer::start()?;
    let (dir, cp, mut admin) = started().await?;
    let redis_url = redis.url();
    let node_args = ["--redis-url", redis_url.as_str()];
    let mut node_a = DataPlane::start(&cp.url(), "node-a", &dir.path().join("a"), &node_args)?;
    let node_b = DataPlane::start(&cp.url(), "node-b", &dir.path().join("b"), &node_args)?;
    let (backend, mut events) = recording_backend().await;

    // The backend's principal may manage chat's connections; another may
    // only invoke.
    let manage_policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:ManageConnections","Resource":"arn:aws:execute-api:*:*:chat/prod/*/@connections/*"}]}"#;
    let invoke_policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}"#;
    admin
        .create_principal("backend", PrincipalType::User, vec![manage_policy.into()])
        .await?;
    admin
        .create_principal("invoker", PrincipalType::User, vec![invoke_policy.into()])
        .await?;
    let key = admin.access_key("backend").await?;
    let invoker = admin.access_key("invoker").await?;

    let api = chat_api(
        &mut admin,
        backend,
        &["$connect", "$disconnect", "$default"],
    )
    .await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["node-a", "node-b"]).await?;

    // A client on each node; the backend learns their ids at $connect.
    let mut alice = open(node_a.addr(), "alice-agent/1").await?;
    let alice_id = event(&mut events, "CONNECT").await.connection_id;
    let mut bob = open(node_b.addr(), "bob-agent/1").await?;
    let bob_id = event(&mut events, "CONNECT").await.connection_id;
    assert_ne!(alice_id, bob_id);

    // Alice says something (to node A); the backend answers both clients
    // through node B: Alice's connection is node A's.
    alice
        .send(Message::text(r#"{"action":"say","text":"hi"}"#))
        .await?;
    let said = event(&mut events, "MESSAGE").await;
    assert_eq!(said.connection_id, alice_id);
    assert_eq!(said.body, r#"{"action":"say","text":"hi"}"#);
    let answer = manage(&node_b, Some(&key), "POST", &alice_id, "to alice via B").await?;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(read(&mut alice).await, Message::text("to alice via B"));
    let answer = manage(&node_b, Some(&key), "POST", &bob_id, "to bob on B").await?;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(read(&mut bob).await, Message::text("to bob on B"));
    // And the other way: node A reaches Bob on node B.
    let answer = manage(&node_a, Some(&key), "POST", &bob_id, "to bob via A").await?;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(read(&mut bob).await, Message::text("to bob via A"));

    // GET across nodes: AWS's JSON, from the owner.
    let info = manage(&node_b, Some(&key), "GET", &alice_id, "").await?;
    assert_eq!(info.status, 200, "{info:?}");
    let info = info.json();
    assert_eq!(info["identity"]["userAgent"], "alice-agent/1");
    assert_eq!(info["identity"]["sourceIp"], "127.0.0.1");
    for field in ["connectedAt", "lastActiveAt"] {
        let at = info[field].as_str().unwrap();
        assert!(at.len() == 24 && at.ends_with('Z'), "{field}: {at}");
    }
    let info = manage(&node_a, Some(&key), "GET", &bob_id, "").await?;
    assert_eq!(info.json()["identity"]["userAgent"], "bob-agent/1");

    // Refused: unsigned, and a principal allowed only to invoke.
    let unsigned = manage(&node_b, None, "POST", &alice_id, "x").await?;
    assert_eq!(unsigned.status, 403, "{unsigned:?}");
    let not_allowed = manage(&node_b, Some(&invoker), "POST", &alice_id, "x").await?;
    assert_eq!(not_allowed.status, 403, "{not_allowed:?}");
    assert!(not_allowed.body.contains("execute-api:ManageConnections"));

    // DELETE through node B: Alice's connection closes, its $disconnect
    // runs, and from then on it is gone.
    let deleted = manage(&node_b, Some(&key), "DELETE", &alice_id, "").await?;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    match read(&mut alice).await {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1000),
        other => panic!("alice read {other:?}, not a close"),
    }
    assert_eq!(
        event(&mut events, "DISCONNECT").await.connection_id,
        alice_id
    );
    let gone = manage_until(&node_b, &key, "GET", &alice_id, 410).await?;
    assert_eq!(
        gone.headers.get("x-amzn-errortype").unwrap(),
        "GoneException"
    );
    manage_until(&node_a, &key, "POST", &alice_id, 410).await?;

    // Node A killed: its connections are unavailable to node B (503: it
    // could be resubscribing) until its presence key expires, then gone.
    let _carol = open(node_a.addr(), "carol-agent/1").await?;
    let carol_id = event(&mut events, "CONNECT").await.connection_id;
    let answer = manage(&node_b, Some(&key), "POST", &carol_id, "hi carol").await?;
    assert_eq!(answer.status, 200, "{answer:?}");
    node_a.process.kill();
    let killed = Instant::now();
    let unavailable = manage_until(&node_b, &key, "POST", &carol_id, 503).await?;
    assert!(
        unavailable.body.contains("not listening"),
        "{unavailable:?}"
    );
    manage_until(&node_b, &key, "POST", &carol_id, 410).await?;
    assert!(
        killed.elapsed() > Duration::from_secs(3),
        "gone only once the key expired"
    );

    // Redis down: another node's connection cannot be reached (503, said
    // so), node B's own still can.
    redis.stop();
    let unavailable = manage_until(&node_b, &key, "POST", &carol_id, 503).await?;
    assert_eq!(
        unavailable.headers.get("x-amzn-errortype").unwrap(),
        "ServiceUnavailableException"
    );
    assert!(
        unavailable.json()["message"]
            .as_str()
            .unwrap()
            .contains("cannot be reached")
    );
    let answer = manage(&node_b, Some(&key), "POST", &bob_id, "still here").await?;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(read(&mut bob).await, Message::text("still here"));
    Ok(())
}

/// A client of the chat API's prod stage on `node` that will read nothing:
/// small socket buffers, so what the node sends it backs up at once.
async fn open_deaf(node: SocketAddr) -> anyhow::Result<Client> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(4096)?;
    socket.set_send_buffer_size(4096)?;
    let stream = socket.connect(node).await?;
    let request = format!("ws://chat.{DOMAIN}:{}/prod", node.port()).into_client_request()?;
    let (client, _) = tokio_tungstenite::client_async(request, stream).await?;
    Ok(client)
}

/// The connections an operator most wants to delete are the ones that do
/// not read: posts to such a client fill its outbox (429), and `DELETE`
/// still answers 204 at once (the close is a signal apart from the outbox),
/// the connection ends within the node's write timeout, its `$disconnect`
/// runs once, and from then on it is gone. One node, no Redis.
#[tokio::test]
async fn delete_closes_a_connection_whose_client_reads_nothing() -> anyhow::Result<()> {
    let (dir, cp, mut admin) = started().await?;
    let node = DataPlane::start(
        &cp.url(),
        "deaf-node",
        &dir.path().join("deaf"),
        &["--websocket-write-timeout-secs", "2"],
    )?;
    let (backend, mut events) = recording_backend().await;
    let manage_policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:ManageConnections","Resource":"arn:aws:execute-api:*:*:chat/prod/*/@connections/*"}]}"#;
    admin
        .create_principal("backend", PrincipalType::User, vec![manage_policy.into()])
        .await?;
    let key = admin.access_key("backend").await?;
    let api = chat_api(&mut admin, backend, &["$connect", "$disconnect"]).await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["deaf-node"]).await?;

    let _deaf = open_deaf(node.addr()).await?;
    let id = event(&mut events, "CONNECT").await.connection_id;
    let data = "a".repeat(100 * 1024);
    let mut full = false;
    // The kernel's buffers take some first (up to a few MiB on loopback).
    for _ in 0..100 {
        let answer = manage(&node, Some(&key), "POST", &id, &data).await?;
        match answer.status.as_u16() {
            200 => continue,
            429 => {
                full = true;
                break;
            }
            other => panic!("POST answered {other}: {answer:?}"),
        }
    }
    assert!(full, "the outbox of a client that reads nothing filled");
    let deleted = manage(&node, Some(&key), "DELETE", &id, "").await?;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert_eq!(event(&mut events, "DISCONNECT").await.connection_id, id);
    manage_until(&node, &key, "GET", &id, 410).await?;
    // Once: no second $disconnect comes.
    let again = tokio::time::timeout(Duration::from_millis(500), async {
        loop {
            match events.recv().await {
                Some(e) if e.event_type == "DISCONNECT" => return e,
                Some(_) => continue,
                None => std::future::pending().await,
            }
        }
    })
    .await;
    assert!(again.is_err(), "a second $disconnect: {again:?}");
    Ok(())
}
