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

pub mod connection_id;
pub mod fleet;
pub mod manage;
pub mod registry;
pub mod relay;
pub mod wire;
