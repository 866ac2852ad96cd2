//! OpenAPI 3.0/3.1 and Swagger 2.0 documents, with AWS API Gateway's
//! `x-amazon-apigateway-*` extensions, in and out of Archway, and the client
//! SDKs generated from them.
//!
//! Both directions go through the declarative document's [`ApiSpec`]
//! (`crate::declarative::document`): an import reads a document into an
//! `ApiSpec` and hands it to the same planner `archwayctl apply` uses (one
//! store write, every rule the admin handlers apply), and an export turns
//! the `ApiSpec` of a stage's deployment into a document. So the round trip
//! import → export → import compares two `ApiSpec`s, and the two halves
//! agree on one mapping, written down in [`mapping`].
//!
//! - [`mapping`]: the names both directions share (extension keys, AWS's
//!   spellings of Archway's enums, the `x-archway-*` keys for what AWS's
//!   extensions cannot say).
//! - [`import`]: document → `ApiSpec` and warnings (JSON pointers).
//! - [`export`]: `ApiSpec` → OpenAPI 3.0 / Swagger 2.0.
//! - [`sdk`]: an exported OpenAPI 3.0 document → a client package.
//!
//! [`ApiSpec`]: crate::declarative::document::ApiSpec

pub mod export;
pub mod import;
pub mod mapping;
#[cfg(test)]
mod round_trip;
pub mod sdk;
