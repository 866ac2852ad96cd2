//! A connect the request phases admitted (see
//! [`crate::pipeline::websocket_api`]): the handshake's checks, the
//! `$connect` integration, and the 101 that opens the connection.
//!
//! - The handshake must be RFC 6455's (version 13 and a 16-byte key);
//!   else 400.
//! - `$connect`'s integration, when the API has a `$connect` route, gets
//!   the CONNECT event; any non-2xx answer refuses the connect with that
//!   status and body (no upgrade), as AWS does.
//! - Subprotocols: the client's `Sec-WebSocket-Protocol` offer is the
//!   integration's to accept. When the `$connect` answer carries a
//!   `Sec-WebSocket-Protocol` header naming one of the offered protocols,
//!   the 101 echoes it; otherwise none is chosen (as AWS: the backend
//!   must choose one, or clients that require one close).
//! - `Sec-WebSocket-Accept` is tungstenite's `derive_accept_key`.
//!
//! The connection's task is spawned here and waits for hyper to hand over
//! the upgraded socket once the 101 is written.

use super::connection::{self, Start};
use super::connection_id::ConnectionId;
use super::event::{Event, EventType, Identity, Peer, epoch_ms};
use super::invoke::{self, Answer};
use super::{Shared, WebSocketNode};
use crate::pipeline::GatewayBody;
use crate::pipeline::context::{Context, Target};
use crate::pipeline::gateway_response::GatewayResponse;
use crate::pipeline::websocket_api::{Connecting, WebSocketApis};
use crate::tables::websocket::CONNECT;
use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body_util::{Either, Full};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

impl WebSocketApis for WebSocketNode {
    fn connect<'c, 'a: 'c>(
        &'c self,
        cx: &'c mut Context<'a>,
        target: Target<'a>,
    ) -> Connecting<'c> {
        Box::pin(connect(&self.shared, cx, target))
    }

    fn refused(&self, target: &Target<'_>) {
        self.shared
            .metrics
            .connect(&target.api.label, &target.stage.label, "refused");
    }

    fn new_connection_id(&self) -> Box<str> {
        self.shared.connections.new_id().to_string().into()
    }
}

async fn connect<'a>(
    shared: &Arc<Shared>,
    cx: &mut Context<'a>,
    target: Target<'a>,
) -> Result<Response<GatewayBody>, GatewayResponse> {
    let (api, stage) = (&target.api.label, &target.stage.label);
    let accept = match accept_key(&cx.head.headers) {
        Ok(accept) => accept,
        Err(refusal) => {
            shared.metrics.connect(api, stage, "refused");
            return Err(refusal);
        }
    };
    // hyper leaves the upgrade in the request's extensions (HTTP/1.1).
    let Some(upgrade) = cx.head.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
        shared.metrics.connect(api, stage, "refused");
        return Err(GatewayResponse::UpgradeRequired);
    };
    let Some(routes) = target.serving.deployment.websocket.as_deref() else {
        return Err(GatewayResponse::ApiConfigurationError);
    };
    // The id the request phases named the connection by (the REQUEST
    // authorizer's event), else a new one.
    let id = cx
        .observation
        .connection_id
        .as_deref()
        .and_then(ConnectionId::parse)
        .unwrap_or_else(|| shared.connections.new_id());
    let at = SystemTime::now();
    let text = |name: header::HeaderName| {
        cx.head
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let peer = Arc::new(Peer {
        connection_id: id.to_string().into(),
        api_id: target.api.id.clone(),
        stage: target.stage.name.clone(),
        domain_name: crate::pipeline::normalize::domain_name(&cx.head).into(),
        source_ip: cx.client.ip,
        user_agent: text(header::USER_AGENT).into(),
        connected_at_ms: epoch_ms(at),
        identity: Identity::of(&cx.authorization),
        api_key_id: cx.usage.as_ref().map(|u| Arc::clone(u.key_id)),
        api_key: cx
            .usage
            .as_ref()
            .and(cx.head.headers.get("x-api-key"))
            .and_then(|v| v.to_str().ok())
            .map(Into::into),
        constant_headers: Default::default(),
    });
    cx.observation.connection_id = Some(peer.connection_id.clone());
    let mut protocol = None;
    if routes.connect_configured {
        let empty = Bytes::new();
        let event = Event {
            peer: &peer,
            kind: EventType::Connect,
            route_key: CONNECT,
            message_id: None,
            request_id: cx.observation.request_id,
            at,
            body: &empty,
            handshake: Some(&cx.head),
            disconnect: None,
        };
        let started = Instant::now();
        let answer = invoke::call(
            &shared.outbound,
            cx.tables,
            target.serving,
            target.route,
            &event,
        )
        .await;
        cx.observation.integration_latency = Some(started.elapsed());
        let answer = match answer {
            Ok(answer) => answer,
            Err(refusal) => {
                shared.metrics.connect(api, stage, "refused");
                return Err(refusal);
            }
        };
        cx.observation.integration_status = Some(answer.status);
        if !answer.status.is_success() {
            shared.metrics.connect(api, stage, "refused");
            return Ok(refused(answer));
        }
        protocol = chosen_protocol(&cx.head.headers, &answer.headers);
    }
    let usage = cx
        .usage
        .map(|u| (u.key_id.clone(), Arc::<str>::clone(&u.plan.id)));
    let canary = !std::ptr::eq(target.serving, &target.stage.primary);
    tokio::spawn(connection::run(Start {
        shared: shared.clone(),
        peer,
        id,
        usage,
        canary,
        stop: shared.stop.subscribe(),
        upgrade,
        slot: cx
            .head
            .extensions
            .remove::<crate::pipeline::passthrough::ConnectionSlot>(),
    }));
    shared.metrics.connect(api, stage, "accepted");
    let mut response = Response::new(Either::Right(Full::new(Bytes::new())));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    if let Some(protocol) = protocol {
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
    }
    Ok(response)
}

/// `Sec-WebSocket-Accept` for a valid RFC 6455 handshake; 400 otherwise.
fn accept_key(headers: &HeaderMap) -> Result<HeaderValue, GatewayResponse> {
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return Err(GatewayResponse::BadRequest);
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or(GatewayResponse::BadRequest)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(key.as_bytes())
        .map_err(|_| GatewayResponse::BadRequest)?;
    if decoded.len() != 16 {
        return Err(GatewayResponse::BadRequest);
    }
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    HeaderValue::from_str(&accept).map_err(|_| GatewayResponse::BadRequest)
}

/// The subprotocol the `$connect` answer chose, when the client offered
/// it.
fn chosen_protocol(request: &HeaderMap, answer: &HeaderMap) -> Option<HeaderValue> {
    let chosen = answer.get(header::SEC_WEBSOCKET_PROTOCOL)?;
    let chosen_text = chosen.to_str().ok()?.trim();
    let offered = request
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == chosen_text);
    offered.then(|| chosen.clone())
}

/// The `$connect` integration's refusal, passed to the client.
fn refused(answer: Answer) -> Response<GatewayBody> {
    let mut response = Response::new(Either::Right(Full::new(answer.body)));
    *response.status_mut() = answer.status;
    if let Some(content_type) = answer.headers.get(header::CONTENT_TYPE) {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        h
    }

    #[test]
    fn the_accept_key_is_rfc_6455s() {
        // RFC 6455 section 1.3's example.
        let h = headers(&[
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]);
        assert_eq!(accept_key(&h).unwrap(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn handshakes_without_version_13_or_a_16_byte_key_are_refused() {
        for bad in [
            headers(&[("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")]),
            headers(&[
                ("sec-websocket-version", "8"),
                ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ]),
            headers(&[("sec-websocket-version", "13")]),
            headers(&[
                ("sec-websocket-version", "13"),
                ("sec-websocket-key", "c2hvcnQ="),
            ]),
        ] {
            assert_eq!(accept_key(&bad), Err(GatewayResponse::BadRequest));
        }
    }

    #[test]
    fn a_subprotocol_is_echoed_only_when_offered_and_chosen() {
        let offer = headers(&[("sec-websocket-protocol", "chat.v2, chat.v1")]);
        let chose = |p: &str| headers(&[("sec-websocket-protocol", p)]);
        assert_eq!(
            chosen_protocol(&offer, &chose("chat.v1")).unwrap(),
            "chat.v1"
        );
        assert!(chosen_protocol(&offer, &chose("other")).is_none());
        assert!(chosen_protocol(&offer, &HeaderMap::new()).is_none());
        assert!(chosen_protocol(&HeaderMap::new(), &chose("chat.v1")).is_none());
    }
}
