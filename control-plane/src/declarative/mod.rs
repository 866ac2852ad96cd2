//! The declarative path: a whole document in, the exact changes out, and
//! all of them applied in one store write and one published configuration
//! version — or none.
//!
//! - [`document`]: the document's types (what operators write and export).
//! - [`plan`]: document + store → changes and writes (dry-run and apply
//!   both run it).
//! - [`apply`]: runs a plan in one transaction and publishes once.
//! - [`export`]: store → document.
//! - [`locate`]: document path → line and column, for messages.

pub mod apply;
pub mod document;
pub mod export;
pub mod locate;
pub mod plan;
