//! One connection's task, from the upgrade to `$disconnect`.
//!
//! The task registers the connection in the node's [`Connections`] (so the
//! `@connections` API can reach it through its outbox and close signal),
//! then serves it: each message it reads is routed (the deployment's route
//! selection, else `$default`, else AWS's "Forbidden" message), checked
//! against the connection's own message rate and the stage's and usage
//! plan's throttles (the API key identified at `$connect`), and handed to
//! the route's integration; a two-way route's answer goes back as one
//! message. Messages of one connection are handled in order, one at a
//! time, as they arrive.
//!
//! It ends on the first of: the client's close, a broken connection, a
//! limit (message or frame too big: 1009; over the message rate: 1008;
//! idle or too old: 1001), a close asked by `DELETE @connections` (a
//! signal apart from the outbox, seen before anything queued), the node's
//! shutdown (1001), or a client that does not take a write (a message or
//! the close frame) within the node's write timeout (1006: the node gives
//! up on it, so a client that stops reading cannot hold its connection,
//! its memory or its `$disconnect`). Then it removes itself from the
//! registry and calls `$disconnect` once (bounded by the node's disconnect
//! timeout, and by the shutdown's deadline when the node is stopping; best
//! effort: a failure is logged, not retried). A panic while serving (a
//! bug) ends the connection as 1011 and still calls `$disconnect`; the
//! registry entry and the open-connections gauge are released by a drop
//! guard however the task ends.
//!
//! Per message the task loads the tables once and looks up its API and
//! stage by name: no table is rebuilt, and a redeployed stage serves its
//! next message with the new routes.

use super::Shared;
use super::connection_id::ConnectionId;
use super::event::{Event, EventType, Peer, epoch_ms, message_id};
use super::invoke;
use super::log::{self, Outcome};
use super::metrics::{Direction, WebSocketMetrics};
use super::registry::{Connection, Connections, OUTBOX, Outbound};
use super::settings::{CLOSE_GRACE, MessageBucket};
use crate::pipeline::api_key::Identity;
use crate::pipeline::context::Target;
use crate::pipeline::gateway_response::GatewayResponse;
use crate::pipeline::observe::RequestId;
use crate::pipeline::throttle;
use crate::tables::websocket::DISCONNECT;
use crate::tables::{ApiTable, RuntimeTables, StageTable, StageTarget};
use crate::telemetry::metrics::label;
use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use opentelemetry::KeyValue;
use std::borrow::Cow;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Why a connection ended: the close code and reason, as the
/// `$disconnect` event reports them.
type Ending = (u16, Cow<'static, str>);

/// Everything a connection's task starts with.
pub struct Start {
    pub shared: Arc<Shared>,
    pub peer: Arc<Peer>,
    pub id: ConnectionId,
    /// The API key and usage plan identified at `$connect`.
    pub usage: Option<(Arc<str>, Arc<str>)>,
    /// The connect was served by the stage's canary deployment: so are its
    /// messages.
    pub canary: bool,
    pub stop: watch::Receiver<bool>,
    pub upgrade: hyper::upgrade::OnUpgrade,
    /// The client connection's slot under `--max-connections`, held until
    /// the connection ends: a WebSocket counts as the connection it was.
    pub slot: Option<crate::pipeline::passthrough::ConnectionSlot>,
}

/// Runs one connection to its end (see the module's doc).
pub async fn run(start: Start) {
    let Start {
        shared,
        peer,
        id,
        usage,
        canary,
        mut stop,
        upgrade,
        slot,
    } = start;
    let (tx, mut outbox) = mpsc::channel(OUTBOX);
    let connection = Arc::new(Connection::new(
        id,
        &peer.api_id,
        &peer.stage,
        peer.connected_at_ms,
        peer.source_ip,
        &peer.user_agent,
        tx,
        shared.settings.outbox_bytes,
    ));
    let (api_label, stage_label) = labels(&shared, &peer);
    let registered = Registered::new(
        &shared.connections,
        &shared.metrics,
        connection.clone(),
        &api_label,
        &stage_label,
    );
    let ending = match upgrade.await {
        Ok(upgraded) => {
            let socket = WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(shared.settings.protocol()),
            )
            .await;
            let mut session = Session {
                shared: &shared,
                peer: &peer,
                connection: &connection,
                usage: usage.as_ref(),
                canary,
                bucket: MessageBucket::new(&shared.settings),
                last_activity: tokio::time::Instant::now(),
                api_label: &api_label,
                stage_label: &stage_label,
            };
            caught(session.serve(socket, &mut outbox, &mut stop)).await
        }
        Err(e) => {
            tracing::debug!(error = %e, connection = %peer.connection_id, "the upgrade did not complete");
            (1006, Cow::Borrowed("upgrade failed"))
        }
    };
    drop(registered);
    drop(outbox);
    let bound = disconnect_bound(&shared);
    // Boxed: the call's future is large and lives only at the end, so it
    // is not part of every idle connection's task.
    let called = Box::pin(disconnect(&shared, &peer, canary, &ending));
    if tokio::time::timeout(bound, called).await.is_err() {
        tracing::warn!(connection = %peer.connection_id, ?bound, "$disconnect did not finish in time");
    }
    drop(slot);
    // `stop` drops here: the shutdown waits for this.
}

/// How long the `$disconnect` call may take: the node's disconnect timeout,
/// cut to what is left of the shutdown's deadline when the node is
/// stopping (every connection ends by then, see [`super::WebSocketNode::shutdown`]).
fn disconnect_bound(shared: &Shared) -> Duration {
    let timeout = shared.settings.disconnect_timeout;
    match shared.shutdown_deadline.get() {
        Some(deadline) => {
            timeout.min(deadline.saturating_duration_since(tokio::time::Instant::now()))
        }
        None => timeout,
    }
}

/// Runs `serving` to its ending; a panic in it (a bug: an index out of
/// range, an integration's code) ends the connection as 1011 instead of
/// ending the task, so `$disconnect` is still called. The socket dropped
/// with the panicked future closes the client's connection.
async fn caught(serving: impl Future<Output = Ending>) -> Ending {
    match AssertUnwindSafe(serving).catch_unwind().await {
        Ok(ending) => ending,
        Err(_) => {
            tracing::error!(
                "a WebSocket connection's task panicked while serving; it ends as 1011"
            );
            (1011, Cow::Borrowed("Internal error"))
        }
    }
}

/// A connection's place in the node's registry and open-connections
/// gauge, released when this drops: at the task's end, or while unwinding
/// from a panic, or when the runtime drops the task, so no path leaves a
/// dead connection answering `GET @connections` or counted as open.
struct Registered<'r> {
    connections: &'r Connections,
    metrics: &'r WebSocketMetrics,
    id: ConnectionId,
    api_label: &'r KeyValue,
    stage_label: &'r KeyValue,
}

impl<'r> Registered<'r> {
    fn new(
        connections: &'r Connections,
        metrics: &'r WebSocketMetrics,
        connection: Arc<Connection>,
        api_label: &'r KeyValue,
        stage_label: &'r KeyValue,
    ) -> Self {
        let id = connection.id;
        connections.insert(connection);
        metrics.open(api_label, stage_label, 1);
        Registered {
            connections,
            metrics,
            id,
            api_label,
            stage_label,
        }
    }
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.connections.remove(&self.id);
        self.metrics.open(self.api_label, self.stage_label, -1);
    }
}

/// The metric labels of the connection's API and stage, as the tables
/// hold them.
fn labels(shared: &Shared, peer: &Peer) -> (KeyValue, KeyValue) {
    let tables = shared.tables.load();
    let api = tables.apis.get(&*peer.api_id);
    let stage = api.and_then(|a| a.stages.get(&*peer.stage));
    (
        api.map_or_else(|| label("api", &peer.api_id), |a| a.label.clone()),
        stage.map_or_else(|| label("stage", &peer.stage), |s| s.label.clone()),
    )
}

/// The connection's API, stage and deployment in `tables`; None when the
/// stage is gone.
fn serving<'t>(
    tables: &'t RuntimeTables,
    peer: &Peer,
    canary: bool,
) -> Option<(&'t ApiTable, &'t StageTable, &'t StageTarget)> {
    let api = tables.apis.get(&*peer.api_id)?;
    let stage = api.stages.get(&*peer.stage)?;
    let target = match (&stage.canary, canary) {
        (Some(c), true) => &c.target,
        _ => &stage.primary,
    };
    Some((api, stage, target))
}

struct Session<'s> {
    shared: &'s Shared,
    peer: &'s Peer,
    connection: &'s Connection,
    usage: Option<&'s (Arc<str>, Arc<str>)>,
    canary: bool,
    bucket: MessageBucket,
    /// The last message either way.
    last_activity: tokio::time::Instant,
    api_label: &'s KeyValue,
    stage_label: &'s KeyValue,
}

impl Session<'_> {
    async fn serve(
        &mut self,
        mut socket: Socket,
        outbox: &mut mpsc::Receiver<Outbound>,
        stop: &mut watch::Receiver<bool>,
    ) -> Ending {
        let settings = self.shared.settings;
        let write_timeout = settings.write_timeout;
        let connection = self.connection;
        let idle = tokio::time::sleep(settings.idle_timeout);
        let too_old = tokio::time::sleep(settings.max_duration);
        tokio::pin!(idle, too_old);
        if *stop.borrow_and_update() {
            return close(&mut socket, write_timeout, 1001, "Going away").await;
        }
        loop {
            tokio::select! {
                biased;
                _ = stop.changed() => return close(&mut socket, write_timeout, 1001, "Going away").await,
                // Before the outbox: a DELETE does not wait behind data.
                (code, reason) = connection.closing() => {
                    return close(&mut socket, write_timeout, code, reason).await;
                }
                out = outbox.recv() => match out {
                    Some(Outbound::Data(data)) => {
                        let len = data.len();
                        let sent = self.send(&mut socket, data, None).await;
                        connection.sent(len);
                        if let Err(ending) = sent {
                            return ending;
                        }
                    }
                    // The connection holds the sender: never closed first.
                    None => return close(&mut socket, write_timeout, 1011, "Internal error").await,
                },
                incoming = socket.next() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        if let Err(ending) = self.handle(&mut socket, Bytes::from(text), stop).await {
                            return ending;
                        }
                    }
                    Some(Ok(Message::Binary(data))) => {
                        if let Err(ending) = self.handle(&mut socket, data, stop).await {
                            return ending;
                        }
                    }
                    // tungstenite answers pings itself (on the next read);
                    // a ping keeps the connection from idling, as AWS's do.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => self.active(),
                    Some(Ok(Message::Close(frame))) => {
                        // tungstenite queued its reply: send it, if the
                        // client takes it in time.
                        let _ = tokio::time::timeout(write_timeout, socket.flush()).await;
                        return match frame {
                            Some(f) => (u16::from(f.code), Cow::Owned(f.reason.to_string())),
                            None => (1005, Cow::Borrowed("")),
                        };
                    }
                    Some(Ok(Message::Frame(_))) => {}
                    Some(Err(WsError::Capacity(_))) => {
                        return close(&mut socket, write_timeout, 1009, "Message too big").await;
                    }
                    Some(Err(e)) => return broken(&e),
                    None => return (1006, Cow::Borrowed("connection lost")),
                },
                () = &mut idle => {
                    let due = self.last_activity + settings.idle_timeout;
                    if due <= tokio::time::Instant::now() {
                        return close(&mut socket, write_timeout, 1001, "Going away").await;
                    }
                    idle.as_mut().reset(due);
                }
                () = &mut too_old => return close(&mut socket, write_timeout, 1001, "Going away").await,
            }
        }
    }

    /// [`Session::on_message`], unless the node shuts down or a close is
    /// asked first: a message waiting on a slow integration must not keep
    /// the connection (and its `$disconnect`) past the shutdown's bound, or
    /// a `DELETE @connections` waiting.
    async fn handle(
        &mut self,
        socket: &mut Socket,
        body: Bytes,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), Ending> {
        let connection = self.connection;
        let write_timeout = self.shared.settings.write_timeout;
        let (code, reason) = {
            // Boxed: a message's future (routing, throttles, the
            // integration's call) is large and lives only while the message
            // is handled; inlined, it would make every idle connection's
            // task as large as the largest call it might make.
            let message = Box::pin(self.on_message(socket, body));
            tokio::select! {
                biased;
                _ = stop.changed() => (1001, "Going away"),
                asked = connection.closing() => asked,
                result = message => return result,
            }
        };
        Err(close(socket, write_timeout, code, reason).await)
    }

    /// One message from the client. Err: the connection must end (over
    /// its message rate, its stage gone, or the socket broke).
    async fn on_message(&mut self, socket: &mut Socket, body: Bytes) -> Result<(), Ending> {
        let started = Instant::now();
        let at = SystemTime::now();
        self.active();
        let write_timeout = self.shared.settings.write_timeout;
        if !self.bucket.take(tokio::time::Instant::now()) {
            return Err(close(socket, write_timeout, 1008, "Rate exceeded").await);
        }
        // One load per message: the message sees one version.
        let tables = self.shared.tables.load_full();
        let Some((api, stage, serving)) = serving(&tables, self.peer, self.canary) else {
            // The API or stage was deleted: nothing serves this connection.
            return Err(close(socket, write_timeout, 1001, "Going away").await);
        };
        let Some(routes) = serving.deployment.websocket.as_deref() else {
            return Err(close(socket, write_timeout, 1011, "Internal error").await);
        };
        let request_id = RequestId::new();
        let selected = routes.selection.select(&body);
        let Some(route_id) = routes.route_for(selected.as_deref()) else {
            // AWS's answer to a message no route takes.
            let none = KeyValue::new("route", "(none)");
            self.shared.metrics.message(
                self.api_label,
                self.stage_label,
                &none,
                Direction::In,
                body.len(),
            );
            let refusal = GatewayResponse::Forbidden;
            let sent = self.tell(socket, &refusal, &request_id, None).await?;
            let event = message_event(
                self.peer,
                EventType::Message,
                selected.as_deref().unwrap_or(""),
                None,
                request_id,
                at,
                &body,
            );
            if let Some(log) = &stage.access_log {
                log::write(
                    log,
                    &event,
                    &Outcome {
                        status: refusal.default_status().as_u16(),
                        latency: started.elapsed(),
                        integration_latency: None,
                        refusal: Some(&refusal),
                        response_length: sent,
                    },
                );
            }
            return Ok(());
        };
        let route = &serving.deployment.routes[route_id as usize];
        let route_key = route.route_key.as_deref().unwrap_or_default();
        self.shared.metrics.message(
            self.api_label,
            self.stage_label,
            &route.label,
            Direction::In,
            body.len(),
        );
        let target = Target {
            api,
            stage,
            serving,
            route,
        };
        let usage = self.usage.and_then(|(key, plan)| {
            Some(Identity {
                key_id: key,
                plan: tables.plans.get(&**plan)?,
            })
        });
        let message_id = message_id();
        let event = message_event(
            self.peer,
            EventType::Message,
            route_key,
            Some(&message_id),
            request_id,
            at,
            &body,
        );
        let mut integration_latency = None;
        let result = match throttle::check(&tables, &target, route_key, usage, &self.shared.limits)
            .await
        {
            Err(refusal) => Err(refusal),
            Ok(_) => match valid(&routes.models[route_id as usize], &body) {
                Err(refusal) => Err(refusal),
                Ok(()) => {
                    let called = Instant::now();
                    let answer =
                        invoke::call(&self.shared.outbound, &tables, serving, route, &event).await;
                    integration_latency = Some(called.elapsed());
                    answer
                }
            },
        };
        let (status, sent, refusal) = match result {
            Ok(answer) => {
                let mut sent = 0;
                if routes.two_way[route_id as usize] && !answer.body.is_empty() {
                    sent = answer.body.len();
                    self.send(socket, answer.body, Some(&route.label)).await?;
                }
                (answer.status.as_u16(), sent, None)
            }
            Err(refusal) => {
                let sent = self
                    .tell(socket, &refusal, &request_id, Some(&route.label))
                    .await?;
                (refusal.default_status().as_u16(), sent, Some(refusal))
            }
        };
        if let Some(log) = &stage.access_log {
            log::write(
                log,
                &event,
                &Outcome {
                    status,
                    latency: started.elapsed(),
                    integration_latency,
                    refusal: refusal.as_ref(),
                    response_length: sent,
                },
            );
        }
        Ok(())
    }

    /// Tells the client its message failed, as AWS does: a JSON message
    /// with the refusal's message, the connection id and the request id.
    /// Integration failures say "Internal server error", as AWS's do.
    async fn tell(
        &mut self,
        socket: &mut Socket,
        refusal: &GatewayResponse,
        request_id: &RequestId,
        route: Option<&KeyValue>,
    ) -> Result<usize, Ending> {
        let message = match refusal {
            GatewayResponse::IntegrationFailure
            | GatewayResponse::IntegrationTimeout
            | GatewayResponse::FunctionFailure
            | GatewayResponse::ApiConfigurationError => "Internal server error",
            other => other.message(),
        };
        let body = serde_json::json!({
            "message": message,
            "connectionId": &*self.peer.connection_id,
            "requestId": request_id.as_str(),
        })
        .to_string();
        let len = body.len();
        self.send(socket, Bytes::from(body), route).await?;
        Ok(len)
    }
}

/// Whether `message` matches the model its route picks for it (AWS's
/// WebSocket request validation); a mismatch is `Invalid request body`,
/// and the message goes no further.
fn valid(
    models: &Option<crate::tables::websocket::MessageModels>,
    message: &[u8],
) -> Result<(), GatewayResponse> {
    let Some(model) = models.as_ref().and_then(|m| m.model_for(message)) else {
        return Ok(());
    };
    crate::pipeline::validate::validate_body(model, message).map_err(|detail| {
        tracing::debug!(errors = %detail, "a WebSocket message does not match its route's model");
        GatewayResponse::BadRequestBody(detail.into())
    })
}

/// A MESSAGE event of the connection `peer`.
fn message_event<'e>(
    peer: &'e Peer,
    kind: EventType,
    route_key: &'e str,
    message_id: Option<&'e str>,
    request_id: RequestId,
    at: SystemTime,
    body: &'e Bytes,
) -> Event<'e> {
    Event {
        peer,
        kind,
        route_key,
        message_id,
        request_id,
        at,
        body,
        handshake: None,
        disconnect: None,
    }
}

impl Session<'_> {
    fn active(&mut self) {
        self.last_activity = tokio::time::Instant::now();
        self.connection.touch(epoch_ms(SystemTime::now()));
    }

    /// Sends one message: text when it is UTF-8, binary otherwise. Err:
    /// the connection must end, because the socket broke or the client did
    /// not take the message within the write timeout.
    async fn send(
        &mut self,
        socket: &mut Socket,
        data: Bytes,
        route: Option<&KeyValue>,
    ) -> Result<(), Ending> {
        let len = data.len();
        // A clone of the handle, not the bytes: the check consumes it.
        let message = match Utf8Bytes::try_from(data.clone()) {
            Ok(text) => Message::Text(text),
            Err(_) => Message::Binary(data),
        };
        match tokio::time::timeout(self.shared.settings.write_timeout, socket.send(message)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(broken(&e)),
            Err(_) => return Err(write_timed_out(self.peer)),
        }
        self.active();
        let none = KeyValue::new("route", "(none)");
        self.shared.metrics.message(
            self.api_label,
            self.stage_label,
            route.unwrap_or(&none),
            Direction::Out,
            len,
        );
        Ok(())
    }
}

/// Closes with `code` and `reason`, waiting briefly for the client's
/// close frame. A client that does not take the close frame within
/// `write_timeout` is given up on: the connection ends as 1006 (the socket
/// is dropped with the task).
async fn close(
    socket: &mut Socket,
    write_timeout: Duration,
    code: u16,
    reason: &'static str,
) -> Ending {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: Utf8Bytes::from_static(reason),
    };
    match tokio::time::timeout(write_timeout, socket.close(Some(frame))).await {
        Ok(Ok(())) => {
            let _ = tokio::time::timeout(CLOSE_GRACE, async {
                while let Some(Ok(_)) = socket.next().await {}
            })
            .await;
        }
        Ok(Err(e)) => tracing::debug!(error = %e, "the close frame was not sent"),
        Err(_) => {
            tracing::debug!(
                code,
                "the client took no close frame within the write timeout"
            );
            return (1006, Cow::Borrowed(WRITE_TIMED_OUT));
        }
    }
    (code, Cow::Borrowed(reason))
}

/// The `$disconnect` reason of a client that stopped taking writes.
const WRITE_TIMED_OUT: &str = "write timed out";

/// A client that did not take a message within the write timeout: the node
/// gives up on it without a close frame (it would not be read either).
fn write_timed_out(peer: &Peer) -> Ending {
    tracing::debug!(connection = %peer.connection_id, "a WebSocket client stopped reading; closing it");
    (1006, Cow::Borrowed(WRITE_TIMED_OUT))
}

/// A socket that failed: AWS reports these as 1006.
fn broken(e: &WsError) -> Ending {
    tracing::debug!(error = %e, "WebSocket connection broke");
    (1006, Cow::Borrowed("connection lost"))
}

/// Calls the `$disconnect` route's integration, if the stage still has
/// one, and logs the event.
async fn disconnect(shared: &Shared, peer: &Peer, canary: bool, ending: &Ending) {
    let started = Instant::now();
    let tables = shared.tables.load_full();
    let Some((_, stage, serving)) = serving(&tables, peer, canary) else {
        return;
    };
    let Some(route_id) = serving
        .deployment
        .websocket
        .as_deref()
        .and_then(|w| w.disconnect)
    else {
        return;
    };
    let route = &serving.deployment.routes[route_id as usize];
    let empty = Bytes::new();
    let event = Event {
        peer,
        kind: EventType::Disconnect,
        route_key: DISCONNECT,
        message_id: None,
        request_id: RequestId::new(),
        at: SystemTime::now(),
        body: &empty,
        handshake: None,
        disconnect: Some((ending.0, &ending.1)),
    };
    let called = Instant::now();
    let result = invoke::call(&shared.outbound, &tables, serving, route, &event).await;
    let integration_latency = Some(called.elapsed());
    let (status, refusal) = match &result {
        Ok(answer) => (answer.status.as_u16(), None),
        Err(refusal) => {
            tracing::warn!(connection = %peer.connection_id, error = refusal.message(), "$disconnect failed");
            (refusal.default_status().as_u16(), Some(refusal))
        }
    };
    if let Some(log) = &stage.access_log {
        log::write(
            log,
            &event,
            &Outcome {
                status,
                latency: started.elapsed(),
                integration_latency,
                refusal,
                response_length: 0,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::websocket::connection_id::NodeTag;

    fn telemetry() -> crate::telemetry::Telemetry {
        crate::telemetry::Telemetry::init(&crate::telemetry::TelemetryConfig {
            otlp_endpoint: None,
            sample_ratio: 0.0,
            service_name: "test",
            metrics: true,
        })
        .unwrap()
    }

    /// `archway_websocket_connections` for chat/prod, as `/metrics` says.
    fn open_gauge(telemetry: &crate::telemetry::Telemetry) -> Option<f64> {
        let text = String::from_utf8(telemetry.encode_metrics()).unwrap();
        text.lines()
            .filter(|l| l.starts_with("archway_websocket_connections{"))
            .find(|l| l.contains("api=\"chat\"") && l.contains("stage=\"prod\""))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    }

    fn bug() -> Ending {
        panic!("a bug while serving")
    }

    #[tokio::test]
    async fn a_connection_task_that_panics_leaves_the_registry_and_the_gauge() {
        let telemetry = telemetry();
        let metrics = Arc::new(WebSocketMetrics::new(telemetry.meter()));
        let connections = Arc::new(Connections::new(NodeTag::random()));
        let (tx, _rx) = mpsc::channel(1);
        let connection = Arc::new(Connection::new(
            connections.new_id(),
            "chat",
            "prod",
            1_000,
            "127.0.0.1".parse().unwrap(),
            "test",
            tx,
            1024,
        ));
        let id = connection.id;
        let (registered_tx, registered_rx) = tokio::sync::oneshot::channel();
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn({
            let (connections, metrics) = (connections.clone(), metrics.clone());
            async move {
                let (api, stage) = (label("api", "chat"), label("stage", "prod"));
                let _registered = Registered::new(&connections, &metrics, connection, &api, &stage);
                registered_tx.send(()).unwrap();
                let _ = go_rx.await;
                bug();
            }
        });
        registered_rx.await.unwrap();
        assert!(connections.get(&id).is_some(), "registered while it runs");
        assert_eq!(open_gauge(&telemetry), Some(1.0));
        go_tx.send(()).unwrap();
        assert!(task.await.unwrap_err().is_panic());
        assert!(connections.get(&id).is_none(), "a dead connection is gone");
        assert!(connections.is_empty());
        assert_eq!(open_gauge(&telemetry), Some(0.0), "and no longer counted");
    }

    #[tokio::test]
    async fn a_panic_while_serving_ends_the_connection_as_1011() {
        let ending = caught(async { bug() }).await;
        assert_eq!(ending, (1011, Cow::Borrowed("Internal error")));
        let ending = caught(async { (1000, Cow::Borrowed("bye")) }).await;
        assert_eq!(ending, (1000, Cow::Borrowed("bye")));
    }
}
