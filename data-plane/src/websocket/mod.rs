//! WebSocket APIs, as AWS runs them: the node holds each client's
//! connection, routes every message it receives to a route's integration,
//! and lets backends push to any connection of the fleet through the
//! `@connections` API.
//!
//! - [`connection_id`]: the ids clients and backends see; each names the
//!   node that holds the connection, so any node can find its owner.
//! - [`registry`]: the connections this node holds, and how other parts of
//!   the node send to or close one.
//! - [`manage`]: the `@connections` API (SigV4, ManageConnections) over
//!   [`fleet`], which carries a call out on the node that holds the
//!   connection: this one, or another through the [`relay`] (Redis pub/sub,
//!   messages in [`wire`]'s format).
//! - [`upgrade`]: a connect the request phases admitted: the `$connect`
//!   integration, then 101 and the connection's task.
//! - [`connection`]: one connection's task: messages in, routes, answers
//!   and outbox out, limits, and `$disconnect` once at the end.
//! - [`event`], [`invoke`]: what a backend gets for each event, and the
//!   call of a route's integration.
//! - [`settings`], [`metrics`], [`log`]: the node's limits, instruments,
//!   and access-log lines for events.
//!
//! The compiled routes are in [`crate::tables::websocket`] (built by
//! [`crate::compile::websocket`]): the tables sit below this module.

pub mod connection;
pub mod connection_id;
pub mod event;
pub mod fleet;
pub mod invoke;
pub mod log;
pub mod manage;
pub mod mapping;
pub mod metrics;
pub mod registry;
pub mod relay;
pub mod settings;
pub mod template_vars;
pub mod upgrade;
pub mod wire;

use crate::aws::AwsOutbound;
use crate::limits::Limits;
use crate::tables::SharedTables;
use crate::upstream::Upstream;
use connection_id::NodeTag;
use registry::Connections;
use settings::WebSocketSettings;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::watch;

/// The node's WebSocket side: its connections and what their tasks share.
/// The gateway reaches it through [`crate::pipeline::websocket_api`];
/// shutdown through [`WebSocketNode::shutdown`].
#[derive(Debug)]
pub struct WebSocketNode {
    shared: Arc<Shared>,
}

/// What every connection task of a node uses.
#[derive(Debug)]
pub struct Shared {
    pub tables: SharedTables,
    pub outbound: invoke::Outbound,
    pub limits: Arc<Limits>,
    pub settings: WebSocketSettings,
    pub connections: Arc<Connections>,
    pub metrics: metrics::WebSocketMetrics,
    /// `true` once the node shuts down. Every connection task holds a
    /// receiver from the moment its connect is admitted, so the shutdown
    /// knows it is over when all are gone.
    pub stop: watch::Sender<bool>,
    /// Set once the node shuts down, before `stop`: when every connection
    /// must have ended (closed and called its `$disconnect`). Connections
    /// cut their `$disconnect` to it; the shutdown waits no longer.
    pub shutdown_deadline: OnceLock<tokio::time::Instant>,
}

impl WebSocketNode {
    pub fn new(
        tables: SharedTables,
        upstream: Upstream,
        aws: AwsOutbound,
        limits: Arc<Limits>,
        meter: &opentelemetry::metrics::Meter,
        settings: WebSocketSettings,
    ) -> Self {
        let (stop, _) = watch::channel(false);
        Self {
            shared: Arc::new(Shared {
                tables,
                outbound: invoke::Outbound {
                    upstream,
                    aws,
                    max_answer: settings.max_message,
                },
                limits,
                settings,
                connections: Arc::new(Connections::new(NodeTag::random())),
                metrics: metrics::WebSocketMetrics::new(meter),
                stop,
                shutdown_deadline: OnceLock::new(),
            }),
        }
    }

    /// The connections this node holds (for the `@connections` API).
    pub fn connections(&self) -> &Arc<Connections> {
        &self.shared.connections
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Closes every connection with 1001 (Going Away) and waits until each
    /// has called its `$disconnect`, bounded by one deadline shared with
    /// the connections: [`WebSocketSettings::shutdown_bound`] from now,
    /// what one connection may take (a write under way or the close frame,
    /// both cut by the write timeout, the client's close, then its
    /// `$disconnect`, cut to the deadline). Connects admitted during the
    /// wait are closed as soon as they open. Call it once the listeners
    /// stopped accepting.
    pub async fn shutdown(&self) {
        let open = self.shared.connections.len();
        let deadline = tokio::time::Instant::now() + self.shared.settings.shutdown_bound();
        let deadline = *self.shared.shutdown_deadline.get_or_init(|| deadline);
        self.shared.stop.send_replace(true);
        // A moment past the connections' own deadline, for their last
        // steps after it.
        let bound = deadline + Duration::from_millis(100);
        if tokio::time::timeout_at(bound, self.shared.stop.closed())
            .await
            .is_err()
        {
            tracing::warn!(
                left = self.shared.stop.receiver_count(),
                "WebSocket connections still ending after the shutdown's bound"
            );
        } else if open > 0 {
            tracing::info!(
                connections = open,
                "WebSocket connections closed for shutdown"
            );
        }
    }
}
