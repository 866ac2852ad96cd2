//! Validation rules both planes apply to the same configuration: the admin
//! API refuses what breaks them (with the field and the reason), and a
//! node's compiler refuses a snapshot that breaks them, so the two cannot
//! disagree on what is valid.

pub mod stage_cache;
