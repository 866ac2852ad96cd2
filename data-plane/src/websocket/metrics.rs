//! The node's WebSocket instruments, beside the request metrics: how many
//! connections are open, how connects end, and the messages and bytes
//! each way. Labels are the tables' prebuilt `api`, `stage` and `route`
//! values, so a message costs clones of shared strings, not formatting.

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Meter, UpDownCounter};

#[derive(Debug, Clone)]
pub struct WebSocketMetrics {
    /// `archway_websocket_connections` (api, stage).
    pub connections: UpDownCounter<i64>,
    /// `archway_websocket_connects_total` (api, stage, outcome).
    pub connects: Counter<u64>,
    /// `archway_websocket_messages_total` (api, stage, route, direction).
    pub messages: Counter<u64>,
    /// `archway_websocket_bytes_total` (api, stage, direction).
    pub bytes: Counter<u64>,
}

/// Which way a message went.
#[derive(Debug, Clone, Copy)]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    fn label(self) -> KeyValue {
        KeyValue::new(
            "direction",
            match self {
                Direction::In => "in",
                Direction::Out => "out",
            },
        )
    }
}

impl WebSocketMetrics {
    pub fn new(meter: &Meter) -> Self {
        Self {
            connections: meter
                .i64_up_down_counter("archway_websocket_connections")
                .with_description("WebSocket connections open on this node")
                .build(),
            connects: meter
                .u64_counter("archway_websocket_connects")
                .with_description(
                    "WebSocket connects, by outcome (accepted, refused by a phase or the $connect integration)",
                )
                .build(),
            messages: meter
                .u64_counter("archway_websocket_messages")
                .with_description("WebSocket messages received (in) and sent (out)")
                .build(),
            bytes: meter
                .u64_counter("archway_websocket_bytes")
                .with_description("WebSocket message bytes received (in) and sent (out)")
                .build(),
        }
    }

    pub fn connect(&self, api: &KeyValue, stage: &KeyValue, outcome: &'static str) {
        self.connects.add(
            1,
            &[
                api.clone(),
                stage.clone(),
                KeyValue::new("outcome", outcome),
            ],
        );
    }

    pub fn open(&self, api: &KeyValue, stage: &KeyValue, delta: i64) {
        self.connections.add(delta, &[api.clone(), stage.clone()]);
    }

    pub fn message(
        &self,
        api: &KeyValue,
        stage: &KeyValue,
        route: &KeyValue,
        direction: Direction,
        bytes: usize,
    ) {
        self.messages.add(
            1,
            &[api.clone(), stage.clone(), route.clone(), direction.label()],
        );
        self.bytes.add(
            bytes as u64,
            &[api.clone(), stage.clone(), direction.label()],
        );
    }
}
