//! WebSocket pass-through on HTTP_PROXY routes (HTTP APIs, and REST APIs'
//! proxy integrations): a WebSocket handshake that passed every request
//! phase (route, authorizers, policy, API key, throttles) is sent on to the
//! route's backend as an HTTP/1.1 upgrade; when the backend answers 101 the
//! client gets the switch too, and the two upgraded connections are joined
//! by a [`crate::tunnel`] (bytes copied both ways, no frame parsing). A
//! backend that answers anything else has that answer passed on.
//!
//! Two handshakes are accepted from clients:
//! - HTTP/1.1: `GET` with `Connection: upgrade`, `Upgrade: websocket`,
//!   `Sec-WebSocket-Key` and `Sec-WebSocket-Version`. The hop-by-hop rules
//!   strip `Upgrade` and `Connection` from every proxied request; this one
//!   gets them back, and its `Sec-WebSocket-*` headers go as they came, so
//!   the key, subprotocols and extensions are negotiated between the client
//!   and the backend (the client checks the backend's
//!   `Sec-WebSocket-Accept`).
//! - HTTP/2 extended CONNECT (RFC 8441): `CONNECT` with `:protocol
//!   websocket`. It is routed, authorized and signed as the `GET` it stands
//!   for ([`adopt_extended_connect`]), sent to the backend as an HTTP/1.1
//!   upgrade with a key of the gateway's (whose answer the gateway checks,
//!   since the client has no key to check), and answered 200 on success.

use super::context::{Context, Target};
use super::gateway_response::GatewayResponse;
use super::http_proxy::{self, Forward};
use super::{GatewayBody, observe::Phase};
use crate::aws::AwsOutbound;
use crate::tables::CompiledIntegration;
use crate::telemetry::metrics::label;
use crate::tunnel::Tunnels;
use crate::upstream::{Destination, RequestHead, Upgrade, Upstream, UpstreamError};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Method, Response, StatusCode, Version};
use http_body_util::{Either, Full};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

const SEC_WEBSOCKET_KEY: HeaderName = HeaderName::from_static("sec-websocket-key");
const SEC_WEBSOCKET_ACCEPT: HeaderName = HeaderName::from_static("sec-websocket-accept");
const SEC_WEBSOCKET_VERSION: HeaderName = HeaderName::from_static("sec-websocket-version");
const WEBSOCKET: HeaderValue = HeaderValue::from_static("websocket");

/// A client connection's slot under `--max-connections`, put in the
/// extensions of a request that may switch protocols: the tunnel holds it
/// after the connection handed its socket over, so tunnels count against
/// the cap as the connections they were.
#[derive(Debug, Clone)]
pub struct ConnectionSlot(pub Arc<tokio::sync::OwnedSemaphorePermit>);

/// The WebSocket handshake a request makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    /// HTTP/1.1 `GET` with `Upgrade: websocket`.
    Http1,
    /// HTTP/2 extended CONNECT with `:protocol websocket` (RFC 8441).
    ExtendedConnect,
}

/// RFC 8441 §5: an HTTP/2 `CONNECT` with `:protocol websocket` is the
/// HTTP/2 form of a WebSocket `GET`. It becomes that `GET` before any phase
/// reads the method, so routes, method ARNs, policies and signatures see
/// the request the client means; the `:protocol` (kept in the extensions)
/// still tells it apart ([`requested`]).
pub fn adopt_extended_connect(head: &mut Parts) {
    if head.method == Method::CONNECT
        && head
            .extensions
            .get::<hyper::ext::Protocol>()
            .is_some_and(|p| p.as_str().eq_ignore_ascii_case("websocket"))
    {
        head.method = Method::GET;
    }
}

/// Which WebSocket handshake `head` makes, if it makes one the server can
/// switch (hyper left the upgrade in its extensions).
pub fn requested(head: &Parts) -> Option<Handshake> {
    if head.method != Method::GET || head.extensions.get::<hyper::upgrade::OnUpgrade>().is_none() {
        return None;
    }
    if head.version == Version::HTTP_2 {
        let protocol = head.extensions.get::<hyper::ext::Protocol>()?;
        return protocol
            .as_str()
            .eq_ignore_ascii_case("websocket")
            .then_some(Handshake::ExtendedConnect);
    }
    let headers = &head.headers;
    let upgrades_to_websocket = has_token(headers, &header::UPGRADE, "websocket")
        && has_token(headers, &header::CONNECTION, "upgrade")
        && headers.contains_key(SEC_WEBSOCKET_KEY)
        && headers.contains_key(SEC_WEBSOCKET_VERSION);
    (head.version == Version::HTTP_11 && upgrades_to_websocket).then_some(Handshake::Http1)
}

/// Whether a comma-separated header holds `token` (any case).
fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The node's outbound clients and tunnels.
#[derive(Clone, Copy)]
pub struct Outbound<'a> {
    pub upstream: &'a Upstream,
    pub aws: &'a AwsOutbound,
    pub tunnels: &'a Arc<Tunnels>,
}

/// The integration phase for a WebSocket handshake ([`requested`]): on an
/// HTTP_PROXY route, the pass-through ([`open`]). Other integrations answer
/// an HTTP/1.1 handshake as the plain GET it also is (without switching);
/// an extended CONNECT, which only a switch can answer, is refused (400).
pub async fn call<'a>(
    cx: &mut Context<'a>,
    target: &Target<'a>,
    handshake: Handshake,
    outbound: Outbound<'_>,
) -> Result<Response<GatewayBody>, GatewayResponse> {
    let CompiledIntegration::HttpProxy { uri, timeout, .. } = &target.route.integration else {
        return match handshake {
            Handshake::Http1 => {
                super::integration::call(cx, target, outbound.upstream, outbound.aws).await
            }
            Handshake::ExtendedConnect => Err(GatewayResponse::BadRequest),
        };
    };
    let uri = http_proxy::render_uri(
        uri,
        &cx.params(),
        &target.serving.variables,
        cx.head.uri.query(),
    )?;
    open(cx, target, handshake, outbound, &uri, *timeout).await
}

/// The integration for a WebSocket handshake on an HTTP_PROXY route: the
/// upgrade to the backend at `uri` (its answer within `timeout`), and on
/// its 101 the switch for the client, with the tunnel joining them spawned
/// to start once the client's side has switched.
async fn open(
    cx: &mut Context<'_>,
    target: &Target<'_>,
    handshake: Handshake,
    outbound: Outbound<'_>,
    uri: &str,
    timeout: Duration,
) -> Result<Response<GatewayBody>, GatewayResponse> {
    let dest = Destination::parse(uri).map_err(|e| {
        tracing::warn!(uri = uri, error = %e, "integration URI cannot be used");
        GatewayResponse::ApiConfigurationError
    })?;
    let forward = Forward {
        upstream: outbound.upstream,
        trace: cx.observation.span_context(),
        principal: cx.authorization.principal.as_ref(),
        method: None,
        uri,
        timeout,
        client: cx.client,
        max_payload: cx.max_payload,
    };
    let headers = &mut cx.head.headers;
    http_proxy::backend_headers(&forward, headers);
    headers.insert(header::UPGRADE, WEBSOCKET);
    // The client of an extended CONNECT has no key: the gateway makes one
    // for the backend's handshake and checks its answer.
    let key = match handshake {
        Handshake::Http1 => None,
        Handshake::ExtendedConnect => {
            let key = generate_key();
            headers.insert(
                SEC_WEBSOCKET_KEY,
                HeaderValue::from_str(&key).expect("base64 is a header value"),
            );
            headers
                .entry(SEC_WEBSOCKET_VERSION)
                .or_insert(HeaderValue::from_static("13"));
            Some(key)
        }
    };
    let head = RequestHead {
        method: &Method::GET,
        headers: &cx.head.headers,
    };
    let started = Instant::now();
    let answer = outbound
        .upstream
        .upgrade(&dest, &head, timeout, timeout)
        .await;
    cx.observation.integration_latency = Some(started.elapsed());
    cx.observation.event(Phase::IntegrationAnswered);
    let (mut headers, backend) = match answer {
        Err(UpstreamError::TimedOut(_)) => return Err(GatewayResponse::IntegrationTimeout),
        Err(e) => {
            tracing::warn!(error = %e, "WebSocket pass-through: the backend's upgrade failed");
            return Err(GatewayResponse::IntegrationFailure);
        }
        Ok(Upgrade::Refused(response)) => {
            cx.observation.integration_status = Some(response.status());
            // To an extended CONNECT, any 2xx means "tunnel open": a backend
            // that answered without switching has failed the handshake.
            if handshake == Handshake::ExtendedConnect && response.status().is_success() {
                tracing::warn!(status = %response.status(), "WebSocket pass-through: the backend answered without switching protocols");
                return Err(GatewayResponse::IntegrationFailure);
            }
            let (parts, body) = response.into_parts();
            return Ok(Response::from_parts(
                parts,
                Either::Left(Either::Left(body)),
            ));
        }
        Ok(Upgrade::Switched { headers, stream }) => (headers, stream),
    };
    cx.observation.integration_status = Some(StatusCode::SWITCHING_PROTOCOLS);
    if let Some(key) = key {
        let expected = derive_accept_key(key.as_bytes());
        if headers.get(SEC_WEBSOCKET_ACCEPT).map(HeaderValue::as_bytes) != Some(expected.as_bytes())
        {
            tracing::warn!(
                "WebSocket pass-through: the backend's Sec-WebSocket-Accept does not match the key"
            );
            return Err(GatewayResponse::IntegrationFailure);
        }
    }
    let Some(client) = cx.head.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
        // `requested` saw it: only a bug gets here.
        return Err(GatewayResponse::IntegrationFailure);
    };
    let labels = [
        label("api", &target.api.id),
        label("stage", &target.stage.name),
    ];
    let tunnels = outbound.tunnels.clone();
    let slot = cx.head.extensions.remove::<ConnectionSlot>();
    tokio::spawn(async move {
        let _slot = slot;
        match client.await {
            Ok(client) => {
                tunnels.run(TokioIo::new(client), backend, &labels).await;
            }
            Err(e) => {
                tracing::debug!(error = %e, "WebSocket pass-through: the client did not switch")
            }
        }
    });
    headers.remove(header::CONTENT_LENGTH);
    let status = match handshake {
        Handshake::Http1 => {
            headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            headers.insert(header::UPGRADE, WEBSOCKET);
            StatusCode::SWITCHING_PROTOCOLS
        }
        Handshake::ExtendedConnect => {
            // The accept answers the gateway's key, not the client's.
            headers.remove(SEC_WEBSOCKET_ACCEPT);
            StatusCode::OK
        }
    };
    let mut response = Response::new(Either::Right(Full::new(Bytes::new())));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(request: http::request::Builder, upgradable: bool) -> Parts {
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        if upgradable {
            // What hyper leaves in a request it can switch (this one never
            // switches, which these tests do not need).
            parts
                .extensions
                .insert(hyper::upgrade::on(http::Request::new(())));
        }
        parts
    }

    fn websocket_get() -> http::request::Builder {
        http::Request::get("http://api/prod/chat")
            .header("connection", "keep-alive, Upgrade")
            .header("upgrade", "WebSocket")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", "13")
    }

    #[test]
    fn an_http1_websocket_handshake_is_recognised() {
        assert_eq!(
            requested(&head(websocket_get(), true)),
            Some(Handshake::Http1)
        );
    }

    #[test]
    fn requests_that_are_not_a_complete_websocket_handshake_are_plain_requests() {
        // Not switchable by the server (hyper saw no upgrade).
        assert_eq!(requested(&head(websocket_get(), false)), None);
        // Not a GET.
        assert_eq!(requested(&head(websocket_get().method("POST"), true)), None);
        // Another protocol.
        let h2c = websocket_get().header("upgrade", "h2c");
        let mut parts = head(h2c, true);
        parts
            .headers
            .insert("upgrade", HeaderValue::from_static("h2c"));
        assert_eq!(requested(&parts), None);
        // No Connection: upgrade, no key, no version.
        for missing in ["connection", "sec-websocket-key", "sec-websocket-version"] {
            let mut parts = head(websocket_get(), true);
            parts.headers.remove(missing);
            assert_eq!(requested(&parts), None, "without {missing}");
        }
        // HTTP/1.0 has no upgrades.
        assert_eq!(
            requested(&head(websocket_get().version(Version::HTTP_10), true)),
            None
        );
    }

    #[test]
    fn an_extended_connect_for_websocket_is_routed_as_a_get() {
        let connect = http::Request::connect("https://api/prod/chat")
            .version(Version::HTTP_2)
            .extension(hyper::ext::Protocol::from_static("websocket"))
            .header("sec-websocket-version", "13");
        let mut parts = head(connect, true);
        assert_eq!(requested(&parts), None, "a CONNECT until adopted");
        adopt_extended_connect(&mut parts);
        assert_eq!(parts.method, Method::GET);
        assert_eq!(requested(&parts), Some(Handshake::ExtendedConnect));
    }

    #[test]
    fn other_connects_stay_connects() {
        let plain = http::Request::connect("https://api:443").version(Version::HTTP_2);
        let mut parts = head(plain, true);
        adopt_extended_connect(&mut parts);
        assert_eq!(parts.method, Method::CONNECT);
        let other = http::Request::connect("https://api/prod/x")
            .version(Version::HTTP_2)
            .extension(hyper::ext::Protocol::from_static("connect-udp"));
        let mut parts = head(other, true);
        adopt_extended_connect(&mut parts);
        assert_eq!(parts.method, Method::CONNECT);
        assert_eq!(requested(&parts), None);
    }
}
