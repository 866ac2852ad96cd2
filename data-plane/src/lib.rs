//! Archway's data plane. A node follows the control plane's configuration
//! stream ([`client`]), compiles each version into immutable tables
//! ([`compile`], [`tables`]), swaps them in ([`apply`]) and saves them
//! ([`disk`]), while [`server`] proxies traffic through the [`pipeline`].
//!
//! Leaf modules sit below both halves and import no other module of the
//! crate's: [`body`], [`hop_by_hop`], [`media_type`], [`principal`], [`routes`], [`lock`].
//! No module imports one that imports it back (a unit test checks).

pub mod access_log;
pub mod admin;
pub mod apply;
pub mod aws;
pub mod body;
pub mod client;
pub mod compile;
pub mod control_planes;
pub mod disk;
pub mod event_mapping;
pub mod hop_by_hop;
pub mod jwks;
pub mod limits;
pub mod lock;
pub mod mapping;
pub mod media_type;
pub mod node;
pub mod pipeline;
pub mod principal;
pub mod received;
pub mod routes;
pub mod server;
pub mod sigv4;
pub mod stage_cache;
pub mod store_guard;
pub mod tables;
pub mod telemetry;
pub mod tls;
pub mod tunnel;
pub mod upstream;
pub mod uri_encode;
pub mod websocket;

#[cfg(test)]
mod module_graph;
