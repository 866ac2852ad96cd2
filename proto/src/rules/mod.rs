//! The rules of valid configuration, shared by both planes: the control
//! plane refuses what breaks them at the admin API (with the field and the
//! reason), and a node's compiler refuses a snapshot that breaks them. One
//! copy of each rule means the two can never disagree on what is valid: a
//! configuration the admin API accepted always compiles, and one it would
//! refuse never does.
//!
//! Each check takes the field it reports (as the admin API names it, e.g.
//! `method.integration`) and returns a [`Violation`] naming the exact
//! sub-field and why. Pure functions: no I/O, no store; checks that need
//! other records (does the deployment exist?) stay with their plane.

pub mod api;
pub mod authorizer;
pub mod aws_arn;
pub mod cors;
pub mod gateway_response;
pub mod http;
pub mod integration;
pub mod mapping;
pub mod media;
pub mod method;
pub mod names;
pub mod stage;
pub mod stage_cache;
pub mod template;
pub mod throttle;
pub mod websocket;

/// A broken rule: the field, as the admin API names it, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Violation {
    pub field: String,
    pub reason: String,
}

impl Violation {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// What every check returns.
pub type Checked<T = ()> = Result<T, Violation>;

/// `field.name`, the way nested fields are reported.
pub(crate) fn sub(field: &str, name: &str) -> String {
    format!("{field}.{name}")
}
