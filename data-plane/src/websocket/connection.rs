//! One connection's task, from the upgrade to `$disconnect`.
//!
//! The task registers the connection in the node's [`Connections`] (so the
//! `@connections` API and shutdown can reach it through its outbox), then
//! serves it: each message it reads is routed (the deployment's route
//! selection, else `$default`, else AWS's "Forbidden" message), checked
//! against the connection's own message rate and the stage's and usage
//! plan's throttles (the API key identified at `$connect`), and handed to
//! the route's integration; a two-way route's answer goes back as one
//! message. Messages of one connection are handled in order, one at a
//! time, as they arrive.
//!
//! It ends on the first of: the client's close, a broken connection, a
//! limit (message or frame too big: 1009; over the message rate: 1008;
//! idle or too old: 1001), a close asked through the outbox, or the node's
//! shutdown (1001). Then it removes itself from the registry and calls
//! `$disconnect` exactly once (bounded by the node's disconnect timeout;
//! best effort: a failure is logged, not retried).
//!
//! Per message the task loads the tables once and looks up its API and
//! stage by name: no table is rebuilt, and a redeployed stage serves its
//! next message with the new routes.

use super::Shared;
use super::connection_id::ConnectionId;
use super::event::{Event, EventType, Peer, epoch_ms, message_id};
use super::invoke;
use super::log::{self, Outcome};
use super::metrics::Direction;
use super::registry::{Connection, Outbound};
use super::settings::MessageBucket;
use crate::pipeline::api_key::Identity;
use crate::pipeline::context::Target;
use crate::pipeline::gateway_response::GatewayResponse;
use crate::pipeline::observe::RequestId;
use crate::pipeline::throttle;
use crate::tables::websocket::DISCONNECT;
use crate::tables::{ApiTable, RuntimeTables, StageTable, StageTarget};
use crate::telemetry::metrics::label;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use opentelemetry::KeyValue;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

/// Messages waiting for the connection's task; beyond this a sender is
/// told the connection is slow ([`super::registry::SendError::Full`]).
pub const OUTBOX: usize = 16;

/// How long a closing connection waits for the client's close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

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
    ));
    let (api_label, stage_label) = labels(&shared, &peer);
    shared.connections.insert(connection.clone());
    shared.metrics.open(&api_label, &stage_label, 1);
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
            session.serve(socket, &mut outbox, &mut stop).await
        }
        Err(e) => {
            tracing::debug!(error = %e, connection = %peer.connection_id, "the upgrade did not complete");
            (1006, Cow::Borrowed("upgrade failed"))
        }
    };
    shared.connections.remove(&id);
    shared.metrics.open(&api_label, &stage_label, -1);
    drop(outbox);
    let bound = shared.settings.disconnect_timeout;
    if tokio::time::timeout(bound, disconnect(&shared, &peer, canary, &ending))
        .await
        .is_err()
    {
        tracing::warn!(connection = %peer.connection_id, ?bound, "$disconnect did not finish in time");
    }
    // `stop` drops here: the shutdown waits for this.
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
        let idle = tokio::time::sleep(settings.idle_timeout);
        let too_old = tokio::time::sleep(settings.max_duration);
        tokio::pin!(idle, too_old);
        if *stop.borrow_and_update() {
            return close(&mut socket, 1001, "Going away").await;
        }
        loop {
            tokio::select! {
                biased;
                _ = stop.changed() => return close(&mut socket, 1001, "Going away").await,
                out = outbox.recv() => match out {
                    Some(Outbound::Data(data)) => {
                        if let Err(e) = self.send(&mut socket, data, None).await {
                            return broken(&e);
                        }
                    }
                    Some(Outbound::Close { code, reason }) => {
                        return close(&mut socket, code, reason).await;
                    }
                    // The connection holds the sender: never closed first.
                    None => return close(&mut socket, 1011, "Internal error").await,
                },
                incoming = socket.next() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        if let Err(ending) = self.on_message(&mut socket, Bytes::from(text)).await {
                            return ending;
                        }
                    }
                    Some(Ok(Message::Binary(data))) => {
                        if let Err(ending) = self.on_message(&mut socket, data).await {
                            return ending;
                        }
                    }
                    // tungstenite answers pings itself (on the next read);
                    // a ping keeps the connection from idling, as AWS's do.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => self.active(),
                    Some(Ok(Message::Close(frame))) => {
                        // tungstenite queued its reply: send it.
                        let _ = socket.flush().await;
                        return match frame {
                            Some(f) => (u16::from(f.code), Cow::Owned(f.reason.to_string())),
                            None => (1005, Cow::Borrowed("")),
                        };
                    }
                    Some(Ok(Message::Frame(_))) => {}
                    Some(Err(WsError::Capacity(_))) => {
                        return close(&mut socket, 1009, "Message too big").await;
                    }
                    Some(Err(e)) => return broken(&e),
                    None => return (1006, Cow::Borrowed("connection lost")),
                },
                () = &mut idle => {
                    let due = self.last_activity + settings.idle_timeout;
                    if due <= tokio::time::Instant::now() {
                        return close(&mut socket, 1001, "Going away").await;
                    }
                    idle.as_mut().reset(due);
                }
                () = &mut too_old => return close(&mut socket, 1001, "Going away").await,
            }
        }
    }

    /// One message from the client. Err: the connection must end (over
    /// its message rate, its stage gone, or the socket broke).
    async fn on_message(&mut self, socket: &mut Socket, body: Bytes) -> Result<(), Ending> {
        let started = Instant::now();
        let at = SystemTime::now();
        self.active();
        if !self.bucket.take(tokio::time::Instant::now()) {
            return Err(close(socket, 1008, "Rate exceeded").await);
        }
        // One load per message: the message sees one version.
        let tables = self.shared.tables.load_full();
        let Some((api, stage, serving)) = serving(&tables, self.peer, self.canary) else {
            // The API or stage was deleted: nothing serves this connection.
            return Err(close(socket, 1001, "Going away").await);
        };
        let Some(routes) = serving.deployment.websocket.as_deref() else {
            return Err(close(socket, 1011, "Internal error").await);
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
        let result =
            match throttle::check(&tables, &target, route_key, usage, &self.shared.limits).await {
                Err(refusal) => Err(refusal),
                Ok(_) => {
                    let called = Instant::now();
                    let answer =
                        invoke::call(&self.shared.outbound, &tables, serving, route, &event).await;
                    integration_latency = Some(called.elapsed());
                    answer
                }
            };
        let (status, sent, refusal) = match result {
            Ok(answer) => {
                let mut sent = 0;
                if routes.two_way[route_id as usize] && !answer.body.is_empty() {
                    sent = answer.body.len();
                    if let Err(e) = self.send(socket, answer.body, Some(&route.label)).await {
                        return Err(broken(&e));
                    }
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
        self.send(socket, Bytes::from(body), route)
            .await
            .map_err(|e| broken(&e))?;
        Ok(len)
    }
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

    /// Sends one message: text when it is UTF-8, binary otherwise.
    async fn send(
        &mut self,
        socket: &mut Socket,
        data: Bytes,
        route: Option<&KeyValue>,
    ) -> Result<(), WsError> {
        let len = data.len();
        // A clone of the handle, not the bytes: the check consumes it.
        let message = match Utf8Bytes::try_from(data.clone()) {
            Ok(text) => Message::Text(text),
            Err(_) => Message::Binary(data),
        };
        socket.send(message).await?;
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
/// close frame.
async fn close(socket: &mut Socket, code: u16, reason: &'static str) -> Ending {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: Utf8Bytes::from_static(reason),
    };
    if socket.close(Some(frame)).await.is_ok() {
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while let Some(Ok(_)) = socket.next().await {}
        })
        .await;
    }
    (code, Cow::Borrowed(reason))
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
