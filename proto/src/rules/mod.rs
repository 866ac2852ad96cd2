//! Validation rules both planes apply to the same configuration: the admin
//! API refuses what breaks them (with the field and the reason), and a
//! node's compiler refuses a snapshot that breaks them, so the two cannot
//! disagree on what is valid.
//!
//! (Branch `cp-store` creates this module with every shared rule; its
//! [`Violation`] and [`Checked`] are the same as here, so merging is taking
//! its `mod.rs` and adding `pub mod stage_cache;`.)

pub mod stage_cache;

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
