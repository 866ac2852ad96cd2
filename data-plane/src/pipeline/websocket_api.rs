//! Phases of a WEBSOCKET API's requests. A client opens a connection with
//! `GET /{stage}` and `Upgrade: websocket`; the route phase makes the
//! stage's `$connect` route the target, and the usual request phases
//! (authorize, policy, API key, throttle) run on it as on any request. What
//! follows them (the `$connect` integration, the 101, the connection
//! itself) belongs to whoever runs the node's connections, a
//! [`WebSocketApis`] the node hands the gateway: the pipeline knows the
//! phases, not the connections, so neither depends on the other's insides.
//!
//! Any other request to a WEBSOCKET API's stage is refused with 426
//! Upgrade Required (`@connections` requests are not this module's: the
//! connection management API answers them before this).

use super::GatewayBody;
use super::context::{Context, Stage, Target};
use super::gateway_response::GatewayResponse;
use super::observe::Phase;
use http::{Method, Response, header};
use std::future::Future;
use std::pin::Pin;

/// The future [`WebSocketApis::connect`] answers with.
pub type Connecting<'c> =
    Pin<Box<dyn Future<Output = Result<Response<GatewayBody>, GatewayResponse>> + Send + 'c>>;

/// What runs a node's WebSocket connections.
pub trait WebSocketApis: Send + Sync + std::fmt::Debug {
    /// After the request phases admitted a connect to `target` (the
    /// `$connect` route): calls its integration and answers 101, starting
    /// the connection, or the refusal.
    fn connect<'c, 'a: 'c>(&'c self, cx: &'c mut Context<'a>, target: Target<'a>)
    -> Connecting<'c>;

    /// A connect to `target` the request phases refused (for metrics).
    fn refused(&self, target: &Target<'_>);

    /// The id a connect about to be admitted will have: made before the
    /// request phases, as AWS's, so the REQUEST authorizer's event and
    /// the access log name the connection (also when it is refused).
    fn new_connection_id(&self) -> Box<str>;
}

/// Whether a request asks for a WebSocket (RFC 6455 section 4.1): a GET
/// with `Upgrade: websocket` and `Connection: upgrade`, both token lists
/// read without regard to case.
pub fn is_upgrade(head: &http::request::Parts) -> bool {
    fn has_token(head: &http::request::Parts, name: header::HeaderName, token: &str) -> bool {
        head.headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    }
    head.method == Method::GET
        && has_token(head, header::UPGRADE, "websocket")
        && has_token(head, header::CONNECTION, "upgrade")
}

/// The route phase of a WEBSOCKET API: an upgrade at the stage's root
/// targets `$connect`; anything else is refused.
pub fn match_connect<'a>(
    cx: &mut Context<'a>,
    stage: Stage<'a>,
) -> Result<Target<'a>, GatewayResponse> {
    let deployment = &stage.serving.deployment;
    let Some(routes) = deployment.websocket.as_deref() else {
        // A WEBSOCKET API's deployment always compiles with its table.
        return Err(GatewayResponse::ApiConfigurationError);
    };
    if !matches!(cx.stage_path(), "" | "/") {
        return Err(GatewayResponse::Forbidden);
    }
    if !is_upgrade(&cx.head) {
        return Err(GatewayResponse::UpgradeRequired);
    }
    let route = &deployment.routes[routes.connect as usize];
    cx.observation.route = Some(route);
    cx.observation.event(Phase::RouteMatched);
    Ok(Target {
        api: stage.api,
        stage: stage.stage,
        serving: stage.serving,
        route,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(method: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut request = http::Request::builder().method(method).uri("/prod");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn upgrades_are_gets_with_both_tokens_in_any_case() {
        let both = [
            ("upgrade", "WebSocket"),
            ("connection", "keep-alive, Upgrade"),
        ];
        assert!(is_upgrade(&head("GET", &both)));
        assert!(!is_upgrade(&head("POST", &both)));
        assert!(!is_upgrade(&head("GET", &both[..1])));
        assert!(!is_upgrade(&head("GET", &both[1..])));
        assert!(!is_upgrade(&head(
            "GET",
            &[("upgrade", "h2c"), ("connection", "upgrade")]
        )));
    }
}
