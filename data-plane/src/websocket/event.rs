//! What a backend learns of each WebSocket event (CONNECT, MESSAGE,
//! DISCONNECT), as AWS tells it: for HTTP backends as `x-archway-*`
//! headers beside the message body, for functions as AWS's WebSocket event
//! (`APIGatewayWebsocketProxyRequest`).
//!
//! A connection's constant facts ([`Peer`]) are made once, at connect, and
//! shared by all its events; an [`Event`] adds only what changes (route,
//! type, message id, time), so a message costs no copies of them.

use crate::hop_by_hop;
use crate::pipeline::observe::{RequestId, write_clf_time};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value, json};
use std::net::IpAddr;
use std::time::SystemTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Connect,
    Message,
    Disconnect,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Connect => "CONNECT",
            EventType::Message => "MESSAGE",
            EventType::Disconnect => "DISCONNECT",
        }
    }
}

/// One connection's facts, the same in all its events.
#[derive(Debug)]
pub struct Peer {
    pub connection_id: Box<str>,
    pub api_id: Box<str>,
    pub stage: Box<str>,
    /// The host the client connected to: `{api}.{domain}`.
    pub domain_name: Box<str>,
    pub source_ip: IpAddr,
    pub user_agent: Box<str>,
    pub connected_at_ms: i64,
}

/// One event of a connection.
pub struct Event<'e> {
    pub peer: &'e Peer,
    pub kind: EventType,
    pub route_key: &'e str,
    /// MESSAGE only.
    pub message_id: Option<&'e str>,
    pub request_id: RequestId,
    pub at: SystemTime,
    /// The message (empty for CONNECT and DISCONNECT).
    pub body: &'e Bytes,
    /// CONNECT only: the client's handshake request.
    pub handshake: Option<&'e http::request::Parts>,
    /// DISCONNECT only: the close code and reason, as AWS reports them
    /// (`disconnectStatusCode`, `disconnectReason`).
    pub disconnect: Option<(u16, &'e str)>,
}

/// The headers an HTTP backend gets with every event.
pub const CONNECTION_ID: &str = "x-archway-connection-id";
pub const ROUTE_KEY: &str = "x-archway-route-key";
pub const EVENT_TYPE: &str = "x-archway-event-type";
pub const MESSAGE_ID: &str = "x-archway-message-id";
pub const REQUEST_TIME_EPOCH: &str = "x-archway-request-time-epoch";
pub const DOMAIN_NAME: &str = "x-archway-domain-name";
pub const STAGE: &str = "x-archway-stage";
pub const API_ID: &str = "x-archway-api-id";
pub const SOURCE_IP: &str = "x-archway-source-ip";
pub const CONNECTED_AT: &str = "x-archway-connected-at";
pub const REQUEST_ID: &str = "x-archway-request-id";
/// On CONNECT: the client's query string, as it sent it.
pub const QUERY: &str = "x-archway-query";

/// A fresh message id: 16 URL-safe characters, like AWS's.
pub fn message_id() -> String {
    use base64::Engine;
    let mut b = [0u8; 12];
    b[..8].copy_from_slice(&fastrand::u64(..).to_le_bytes());
    b[8..].copy_from_slice(&fastrand::u32(..).to_le_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub fn epoch_ms(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Event<'_> {
    /// The headers of the HTTP request that carries this event to a
    /// backend. On CONNECT the client's handshake headers come first
    /// (minus hop-by-hop, `Sec-WebSocket-*`, `Host` and any `x-archway-*`
    /// the client claimed), then the gateway's.
    pub fn http_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(16);
        if let Some(handshake) = self.handshake {
            for (name, value) in &handshake.headers {
                let n = name.as_str();
                if hop_by_hop::is_hop_by_hop(name)
                    || n.starts_with("sec-websocket-")
                    || n.starts_with("x-archway-")
                    || name == http::header::HOST
                    || name == http::header::CONTENT_LENGTH
                {
                    continue;
                }
                headers.append(name.clone(), value.clone());
            }
            if let Some(query) = handshake.uri.query()
                && let Ok(value) = HeaderValue::from_str(query)
            {
                headers.insert(HeaderName::from_static(QUERY), value);
            }
        }
        let peer = self.peer;
        let mut put = |name: &'static str, value: &str| {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        };
        put(CONNECTION_ID, &peer.connection_id);
        put(ROUTE_KEY, self.route_key);
        put(EVENT_TYPE, self.kind.as_str());
        if let Some(id) = self.message_id {
            put(MESSAGE_ID, id);
        }
        put(REQUEST_TIME_EPOCH, &epoch_ms(self.at).to_string());
        put(DOMAIN_NAME, &peer.domain_name);
        put(STAGE, &peer.stage);
        put(API_ID, &peer.api_id);
        put(SOURCE_IP, &peer.source_ip.to_string());
        put(CONNECTED_AT, &peer.connected_at_ms.to_string());
        put(REQUEST_ID, self.request_id.as_str());
        if !self.body.is_empty() {
            let content_type = if std::str::from_utf8(self.body).is_ok() {
                "text/plain; charset=utf-8"
            } else {
                "application/octet-stream"
            };
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(content_type),
            );
        }
        headers
    }

    /// AWS's WebSocket event for a function (AWS_PROXY). As AWS: CONNECT
    /// carries the handshake's headers and query string, MESSAGE the body
    /// (base64 when it is not UTF-8), and every event the request context.
    pub fn aws_event(&self) -> Value {
        let peer = self.peer;
        let mut request_time = String::with_capacity(26);
        let _ = write_clf_time(&mut request_time, self.at);
        let mut context = json!({
            "routeKey": self.route_key,
            "eventType": self.kind.as_str(),
            "extendedRequestId": self.request_id.as_str(),
            "requestTime": request_time,
            "messageDirection": "IN",
            "stage": &*peer.stage,
            "connectedAt": peer.connected_at_ms,
            "requestTimeEpoch": epoch_ms(self.at),
            "identity": {
                "sourceIp": peer.source_ip.to_string(),
                "userAgent": &*peer.user_agent,
            },
            "requestId": self.request_id.as_str(),
            "domainName": &*peer.domain_name,
            "connectionId": &*peer.connection_id,
            "apiId": &*peer.api_id,
        });
        if let Some(id) = self.message_id {
            context["messageId"] = id.into();
        }
        if let Some((code, reason)) = self.disconnect {
            context["disconnectStatusCode"] = code.into();
            context["disconnectReason"] = reason.into();
        }
        let mut event = Map::new();
        if let Some(handshake) = self.handshake {
            let mut headers = Map::new();
            let mut multi: Map<String, Value> = Map::new();
            for (name, value) in &handshake.headers {
                let Ok(value) = value.to_str() else { continue };
                headers.insert(name.as_str().into(), value.into());
                if let Value::Array(values) = multi
                    .entry(name.as_str())
                    .or_insert_with(|| Value::Array(Vec::new()))
                {
                    values.push(value.into());
                }
            }
            event.insert("headers".into(), headers.into());
            event.insert("multiValueHeaders".into(), multi.into());
            if let Some(query) = handshake.uri.query() {
                let mut single = Map::new();
                let mut multi: Map<String, Value> = Map::new();
                for (name, value) in form_urlencoded::parse(query.as_bytes()) {
                    single.insert(name.to_string(), value.as_ref().into());
                    if let Value::Array(values) = multi
                        .entry(name.as_ref())
                        .or_insert_with(|| Value::Array(Vec::new()))
                    {
                        values.push(value.as_ref().into());
                    }
                }
                event.insert("queryStringParameters".into(), single.into());
                event.insert("multiValueQueryStringParameters".into(), multi.into());
            }
        }
        event.insert("requestContext".into(), context);
        if self.kind == EventType::Message {
            match std::str::from_utf8(self.body) {
                Ok(text) => {
                    event.insert("body".into(), text.into());
                    event.insert("isBase64Encoded".into(), false.into());
                }
                Err(_) => {
                    use base64::Engine;
                    let encoded = base64::engine::general_purpose::STANDARD.encode(self.body);
                    event.insert("body".into(), encoded.into());
                    event.insert("isBase64Encoded".into(), true.into());
                }
            }
        } else {
            event.insert("isBase64Encoded".into(), false.into());
        }
        Value::Object(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> Peer {
        Peer {
            connection_id: "AAAAAAAAAAAAAAAA".into(),
            api_id: "chat".into(),
            stage: "prod".into(),
            domain_name: "chat.execute-api.localhost".into(),
            source_ip: "127.0.0.1".parse().unwrap(),
            user_agent: "test-client".into(),
            connected_at_ms: 1_700_000_000_000,
        }
    }

    fn handshake() -> http::request::Parts {
        http::Request::get("/prod?room=7&room=8")
            .header("host", "chat.execute-api.localhost")
            .header("upgrade", "websocket")
            .header("connection", "Upgrade")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("x-archway-stage", "claimed")
            .header("authorization", "Bearer t")
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    #[test]
    fn http_backends_get_the_context_as_headers() {
        let peer = peer();
        let body = Bytes::from_static(b"{\"action\":\"send\"}");
        let event = Event {
            peer: &peer,
            kind: EventType::Message,
            route_key: "send",
            message_id: Some("m1"),
            request_id: RequestId::new(),
            at: SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1234),
            body: &body,
            handshake: None,
            disconnect: None,
        };
        let h = event.http_headers();
        assert_eq!(h[CONNECTION_ID], "AAAAAAAAAAAAAAAA");
        assert_eq!(h[ROUTE_KEY], "send");
        assert_eq!(h[EVENT_TYPE], "MESSAGE");
        assert_eq!(h[MESSAGE_ID], "m1");
        assert_eq!(h[REQUEST_TIME_EPOCH], "1234");
        assert_eq!(h[DOMAIN_NAME], "chat.execute-api.localhost");
        assert_eq!(h[STAGE], "prod");
        assert_eq!(h[API_ID], "chat");
        assert_eq!(h[SOURCE_IP], "127.0.0.1");
        assert_eq!(h[CONNECTED_AT], "1700000000000");
        assert_eq!(h[http::header::CONTENT_TYPE], "text/plain; charset=utf-8");
    }

    #[test]
    fn connect_passes_the_handshake_but_not_its_protocol_headers_or_claims() {
        let peer = peer();
        let body = Bytes::new();
        let handshake = handshake();
        let event = Event {
            peer: &peer,
            kind: EventType::Connect,
            route_key: "$connect",
            message_id: None,
            request_id: RequestId::new(),
            at: SystemTime::now(),
            body: &body,
            handshake: Some(&handshake),
            disconnect: None,
        };
        let h = event.http_headers();
        assert_eq!(h["authorization"], "Bearer t");
        assert_eq!(h[STAGE], "prod", "the client's claim is dropped");
        assert_eq!(h[QUERY], "room=7&room=8");
        for gone in ["upgrade", "connection", "sec-websocket-key", "host"] {
            assert!(!h.contains_key(gone), "{gone}");
        }
        assert!(!h.contains_key(MESSAGE_ID));
    }

    /// The event parses as `aws_lambda_events`' WebSocket request, with
    /// the values where AWS puts them.
    #[test]
    fn functions_get_aws_websocket_events() {
        use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
        let peer = peer();
        let handshake = handshake();
        let empty = Bytes::new();
        let connect = Event {
            peer: &peer,
            kind: EventType::Connect,
            route_key: "$connect",
            message_id: None,
            request_id: RequestId::new(),
            at: SystemTime::now(),
            body: &empty,
            handshake: Some(&handshake),
            disconnect: None,
        };
        let parsed: ApiGatewayWebsocketProxyRequest =
            serde_json::from_value(connect.aws_event()).unwrap();
        let cx = &parsed.request_context;
        assert_eq!(cx.route_key.as_deref(), Some("$connect"));
        assert_eq!(cx.event_type.as_deref(), Some("CONNECT"));
        assert_eq!(cx.connection_id.as_deref(), Some("AAAAAAAAAAAAAAAA"));
        assert_eq!(cx.stage.as_deref(), Some("prod"));
        assert_eq!(cx.apiid.as_deref(), Some("chat"));
        assert_eq!(
            cx.domain_name.as_deref(),
            Some("chat.execute-api.localhost")
        );
        assert_eq!(cx.connected_at, 1_700_000_000_000);
        assert_eq!(cx.identity.source_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(cx.identity.user_agent.as_deref(), Some("test-client"));
        assert_eq!(parsed.headers["authorization"], "Bearer t");
        assert_eq!(
            parsed.multi_value_query_string_parameters.all("room"),
            Some(vec!["7", "8"])
        );

        let body = Bytes::from_static(b"{\"action\":\"send\"}");
        let message = Event {
            kind: EventType::Message,
            route_key: "send",
            message_id: Some("m1"),
            handshake: None,
            body: &body,
            ..connect
        };
        let parsed: ApiGatewayWebsocketProxyRequest =
            serde_json::from_value(message.aws_event()).unwrap();
        assert_eq!(parsed.body.as_deref(), Some("{\"action\":\"send\"}"));
        assert!(!parsed.is_base64_encoded);
        assert_eq!(parsed.request_context.message_id.as_deref(), Some("m1"));
        assert_eq!(
            parsed.request_context.event_type.as_deref(),
            Some("MESSAGE")
        );
        assert_eq!(
            parsed.request_context.message_direction.as_deref(),
            Some("IN")
        );
        assert!(parsed.request_context.request_time_epoch > 0);

        let binary = Bytes::from_static(&[0xff, 0x00]);
        let message = Event {
            body: &binary,
            ..message
        };
        let parsed: ApiGatewayWebsocketProxyRequest =
            serde_json::from_value(message.aws_event()).unwrap();
        assert!(parsed.is_base64_encoded);
        assert_eq!(parsed.body.as_deref(), Some("/wA="));

        let disconnect = Event {
            kind: EventType::Disconnect,
            route_key: "$disconnect",
            message_id: None,
            body: &empty,
            disconnect: Some((1001, "Going away")),
            ..message
        };
        let parsed: ApiGatewayWebsocketProxyRequest =
            serde_json::from_value(disconnect.aws_event()).unwrap();
        let cx = &parsed.request_context;
        assert_eq!(cx.event_type.as_deref(), Some("DISCONNECT"));
        assert_eq!(cx.disconnect_status_code, Some(1001));
        assert_eq!(cx.disconnect_reason.as_deref(), Some("Going away"));
        assert!(parsed.body.is_none());
    }
}
