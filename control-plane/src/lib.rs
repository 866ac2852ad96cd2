//! Archway's control plane: keeps APIs, deployments and stages in sled,
//! serves the gRPC admin API, and streams configuration to the data-plane
//! fleet. The `cli` module is the operator CLI (`archwayctl`) as a library;
//! [`declarative`] is the server-side apply, diff and export of whole
//! documents.

pub mod admin_ui;
pub mod api;
pub mod api_keys;
pub mod auth;
pub mod cli;
pub mod declarative;
pub mod descriptors;
pub mod distribution;
pub mod enums;
pub mod error;
#[cfg(feature = "etcd")]
pub mod fleet_share;
pub mod fleet_status;
pub mod grpc_web;
pub mod ids;
pub mod leader;
pub mod lookup;
pub mod openapi;
pub mod reflection;
pub mod secrets;
pub mod security_headers;
pub mod server;
pub mod snapshot;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod traffic;
pub mod usage;
pub mod validate;
