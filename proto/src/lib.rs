//! Archway's contract between the control plane, the data plane and admin
//! clients: the generated protobuf types and gRPC stubs, plus the pure rules
//! both planes must agree on (path-part syntax, integration URI templates,
//! the content digest, how secrets are sealed, and the [`rules`] of valid
//! configuration).
//!
//! Nothing here does I/O.

pub mod access_log;
pub mod aws_subtypes;
pub mod content_digest;
pub mod identity_source;
pub mod latency;
pub mod mapping_expr;
pub mod models;
pub mod paging;
pub mod path;
pub mod policy;
pub mod quota;
pub mod resource_name;
pub mod route_selection;
pub mod rules;
pub mod sealing;
pub mod template;
pub mod template_selection;
pub mod uri_template;

/// Generated code for the `archway.v1` package.
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("archway.v1");
}

/// The encoded `FileDescriptorSet` of every Archway .proto file, for gRPC
/// server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/archway_descriptor.bin"));

/// HTTP verbs a method can be declared for. `ANY` matches every verb that
/// has no method of its own on the same resource.
pub const HTTP_METHODS: &[&str] = &[
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "ANY",
];

/// The default and largest integration timeout, as in AWS (29 s).
pub const MAX_INTEGRATION_TIMEOUT_MS: u32 = 29_000;
/// The smallest integration timeout, as in AWS.
pub const MIN_INTEGRATION_TIMEOUT_MS: u32 = 50;
