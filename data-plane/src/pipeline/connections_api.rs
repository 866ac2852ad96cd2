//! Phase (instead of routing): the connection management API of WEBSOCKET
//! APIs, `POST|GET|DELETE /{stage}/@connections/{connectionId}`. The
//! pipeline only recognises such a request once the stage is resolved and
//! hands it whole to a [`ConnectionsApi`] the node provides (its
//! authorization, and reaching the connection on whichever node holds it,
//! are [`crate::websocket::manage`]'s): the pipeline knows where the API
//! answers, not the connections, so neither depends on the other's
//! insides.

use super::context::{Context, Stage};
use super::websocket_api::Connecting;

/// The path segment after the stage that names the API.
pub const SEGMENT: &str = "@connections";

/// What answers a node's `@connections` requests.
pub trait ConnectionsApi: Send + Sync + std::fmt::Debug {
    /// Authorizes and carries out one `@connections` request of `stage`'s
    /// API (a WEBSOCKET API), and answers it.
    fn handle<'c, 'a: 'c>(&'c self, cx: &'c mut Context<'a>, stage: Stage<'a>) -> Connecting<'c>;
}

/// Whether a request for a WEBSOCKET API's stage is for `@connections`:
/// its canonical path after the stage starts with that segment (so
/// `%40connections` and `//@connections` are too, once normalized).
pub fn is_manage_path(stage_path: &str) -> bool {
    let rest = stage_path.strip_prefix('/').unwrap_or(stage_path);
    rest.split('/').next() == Some(SEGMENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_connections_segment_is_the_management_api() {
        assert!(is_manage_path("/@connections/x"));
        assert!(is_manage_path("/@connections"));
        for other in [
            "",
            "/",
            "/@connectionsx/y",
            "/x/@connections/y",
            "/@Connections/y",
        ] {
            assert!(!is_manage_path(other), "{other}");
        }
    }
}
