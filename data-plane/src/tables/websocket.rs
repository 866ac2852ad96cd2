//! A WEBSOCKET deployment's routes, as a node serves them: what picks each
//! message's route, and each route key's route. The routes themselves are
//! the deployment's ordinary [`super::Route`]s (integration, authorizer,
//! API key), so every integration and request phase serves them unchanged;
//! this table only says which one a key names.
//!
//! Built once per deployment by [`crate::compile`]; a connection reads it
//! once per message from the tables it loads.

use super::ConfigMap;
use super::validation::CompiledModel;
use archway_proto::route_selection::RouteSelection;
use archway_proto::template_selection::{DEFAULT_KEY, Message, TemplateSelection};
use std::sync::Arc;

/// Route keys with a meaning of their own, as in AWS.
pub const CONNECT: &str = "$connect";
pub const DISCONNECT: &str = "$disconnect";
pub const DEFAULT: &str = "$default";

#[derive(Debug)]
pub struct WebSocketRoutes {
    /// The deployed route selection expression.
    pub selection: RouteSelection,
    /// Custom route keys → route id.
    pub by_key: ConfigMap<Box<str>, u32>,
    /// `$connect`'s route. A deployment without one gets a route that
    /// accepts every connect (a MOCK 200, no authorization), so the
    /// upgrade's request phases always have a target: the stage's
    /// throttles and the API's resource policy still apply.
    pub connect: u32,
    /// Whether `$connect` was configured (else: no integration to call).
    pub connect_configured: bool,
    pub disconnect: Option<u32>,
    pub default: Option<u32>,
    /// By route id: the route sends its integration's answer back to the
    /// client (route response selection expression `$default`).
    pub two_way: Box<[bool]>,
    /// By route id: the models its messages must match, when it has any.
    pub models: Box<[Option<MessageModels>]>,
}

/// A route's request models, as AWS's WebSocket routes validate messages:
/// `model_selection_expression` picks a key of `request_models`, else
/// `$default`; no model, no validation.
#[derive(Debug)]
pub struct MessageModels {
    pub selection: TemplateSelection,
    /// Keyed by selection values, compared exactly.
    pub by_key: Box<[(Box<str>, Arc<CompiledModel>)]>,
}

impl MessageModels {
    /// The model `message` must match, if any.
    pub fn model_for(&self, message: &[u8]) -> Option<&CompiledModel> {
        let find = |k: &str| self.by_key.iter().find(|(key, _)| &**key == k);
        self.selection
            .select(&Message(message))
            .and_then(|key| find(&key))
            .or_else(|| find(DEFAULT_KEY))
            .map(|(_, m)| &**m)
    }
}

impl WebSocketRoutes {
    /// The route of a message whose selection gave `key` (None: the
    /// expression selected nothing): the custom key's route, else
    /// `$default`'s, else none (the client gets AWS's "Forbidden").
    pub fn route_for(&self, key: Option<&str>) -> Option<u32> {
        key.and_then(|k| self.by_key.get(k).copied())
            .or(self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_then_default_then_nothing() {
        let mut by_key = ConfigMap::default();
        by_key.insert("send".into(), 2);
        let mut routes = WebSocketRoutes {
            selection: RouteSelection::parse("$request.body.action").unwrap(),
            by_key,
            connect: 0,
            connect_configured: false,
            disconnect: None,
            default: Some(1),
            two_way: vec![false; 3].into(),
            models: (0..3).map(|_| None).collect(),
        };
        assert_eq!(routes.route_for(Some("send")), Some(2));
        assert_eq!(routes.route_for(Some("other")), Some(1));
        assert_eq!(routes.route_for(None), Some(1));
        routes.default = None;
        assert_eq!(routes.route_for(Some("other")), None);
        assert_eq!(routes.route_for(Some("send")), Some(2));
    }
}
