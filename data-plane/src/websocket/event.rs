//! What a backend learns of each WebSocket event (CONNECT, MESSAGE,
//! DISCONNECT), as AWS tells it: for HTTP backends as `x-archway-*`
//! headers beside the message body, for functions as AWS's WebSocket event
//! (`APIGatewayWebsocketProxyRequest`).
//!
//! A connection's constant facts ([`Peer`]) are made once, at connect, and
//! shared by all its events; an [`Event`] adds only what changes (route,
//! type, message id, time), so a message costs no copies of them. Among
//! them is who the caller proved to be at `$connect` ([`Identity`]): a
//! WebSocket is authorized once, and as in AWS every later event (MESSAGE,
//! DISCONNECT) carries that identity, so a backend knows who sent a
//! message without keeping its own table of connections.

use crate::hop_by_hop;
use crate::pipeline::caller::{Authorization, Caller};
use crate::pipeline::http_proxy::{CONTEXT_HEADER, PRINCIPAL_HEADER};
use crate::pipeline::observe::{RequestId, write_clf_time};
use crate::principal::Principal;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
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
    /// Who the caller proved to be at `$connect`.
    pub identity: Identity,
    /// The API key identified at `$connect` (for a `$connect` that
    /// requires one): its id, and the `x-api-key` the client sent, which
    /// every event's `requestContext.identity` carries (`apiKeyId`,
    /// `apiKey`), as AWS and REST events (`$context.identity`) give them.
    pub api_key_id: Option<Arc<str>>,
    pub api_key: Option<Box<str>>,
    /// The headers every HTTP event of the connection carries alike
    /// (connection id, domain, stage, API, source IP, connected-at and the
    /// caller), made at its first event rather than at every message.
    pub constant_headers: std::sync::OnceLock<HeaderMap>,
}

impl Peer {
    fn constant_headers(&self) -> &HeaderMap {
        self.constant_headers.get_or_init(|| {
            let mut headers = HeaderMap::with_capacity(8);
            let mut put = |name: &'static str, value: &str| {
                if let Ok(value) = HeaderValue::from_str(value) {
                    headers.insert(HeaderName::from_static(name), value);
                }
            };
            put(CONNECTION_ID, &self.connection_id);
            put(DOMAIN_NAME, &self.domain_name);
            put(STAGE, &self.stage);
            put(API_ID, &self.api_id);
            put(SOURCE_IP, &self.source_ip.to_string());
            put(CONNECTED_AT, &self.connected_at_ms.to_string());
            if let Some(id) = &self.api_key_id {
                put(API_KEY_ID, id);
            }
            // Who the caller is, on every event: the headers HTTP_PROXY
            // methods get (the client's own spellings are dropped from the
            // handshake's headers).
            if let Some(p) = self.identity.principal() {
                for (name, value) in [(PRINCIPAL_HEADER, &p.subject), (CONTEXT_HEADER, &p.context)]
                {
                    if let Some(value) = value {
                        headers.insert(HeaderName::from_static(name), value.clone());
                    }
                }
            }
            headers
        })
    }
}

/// Who a connection's caller proved to be at `$connect`, as its events
/// tell backends (AWS's `requestContext.authorizer` and `identity.*`; for
/// HTTP backends the headers HTTP_PROXY methods get).
#[derive(Debug, Default)]
pub enum Identity {
    /// `$connect` is not authorized.
    #[default]
    Anonymous,
    /// A REQUEST authorizer allowed it: its `principalId` and `context`,
    /// as the integration receives them (shared with the cached answer).
    Authorizer(Arc<Principal>),
    /// Signed with SigV4 by an IAM principal.
    Iam {
        /// Its ARN as the integration receives it.
        principal: Arc<Principal>,
        access_key: Box<str>,
        user_arn: Box<str>,
        /// Users only.
        user: Option<Box<str>>,
        account_id: Box<str>,
    },
}

impl Identity {
    /// What the authorize phase learned at `$connect`, kept for the
    /// connection's life.
    pub fn of(authorization: &Authorization<'_>) -> Identity {
        match &authorization.caller {
            // WEBSOCKET APIs take no JWT authorizers (the shared rule
            // refuses them), so a JWT caller is not seen here.
            Caller::Anonymous | Caller::Jwt { .. } => Identity::Anonymous,
            Caller::Authorizer(answer) => Identity::Authorizer(answer.principal.clone()),
            Caller::Iam(key) => Identity::Iam {
                principal: key.principal.clone(),
                access_key: key.access_key_id.clone(),
                user_arn: key.principal_arn.clone(),
                user: key.username.clone(),
                account_id: key.account_id().into(),
            },
        }
    }

    fn principal(&self) -> Option<&Principal> {
        match self {
            Identity::Anonymous => None,
            Identity::Authorizer(p) | Identity::Iam { principal: p, .. } => Some(p),
        }
    }

    /// `requestContext.authorizer` of a REQUEST authorizer's caller: its
    /// `principalId` and its context's keys side by side, as AWS gives
    /// them (None for other callers, which have none).
    fn aws_authorizer(&self) -> Option<Value> {
        let Identity::Authorizer(p) = self else {
            return None;
        };
        let text =
            |v: &Option<HeaderValue>| v.as_ref().and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut fields = Map::new();
        if let Some(Value::Object(context)) = text(&p.context)
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
        {
            fields.extend(context.into_iter().filter(|(k, _)| k != "principalId"));
        }
        fields.insert("principalId".into(), text(&p.subject).into());
        fields.insert("integrationLatency".into(), 0.into());
        Some(Value::Object(fields))
    }
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
/// The id of the API key identified at `$connect`, when it requires one.
pub const API_KEY_ID: &str = "x-archway-api-key-id";
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
                    || name == http::header::HOST
                    || name == http::header::CONTENT_LENGTH
                {
                    continue;
                }
                headers.append(name.clone(), value.clone());
            }
            // The gateway's own headers, in both spellings (`x-archway-*`
            // and `x_archway_*`, which CGI and WSGI backends read alike).
            crate::pipeline::http_proxy::remove_gateway_headers(&mut headers);
            if let Some(query) = handshake.uri.query()
                && let Ok(value) = HeaderValue::from_str(query)
            {
                headers.insert(HeaderName::from_static(QUERY), value);
            }
        }
        // Shared values: a clone is a reference count, not a copy.
        for (name, value) in self.peer.constant_headers() {
            headers.insert(name.clone(), value.clone());
        }
        let mut put = |name: &'static str, value: &str| {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        };
        put(ROUTE_KEY, self.route_key);
        put(EVENT_TYPE, self.kind.as_str());
        if let Some(id) = self.message_id {
            put(MESSAGE_ID, id);
        }
        put(REQUEST_TIME_EPOCH, &epoch_ms(self.at).to_string());
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
    /// (base64 when it is not UTF-8), and every event the request context
    /// and the stage variables of the stage serving it (`null` when it has
    /// none), read per event so a stage update reaches open connections.
    pub fn aws_event(&self, stage_variables: &HashMap<Box<str>, Box<str>>) -> Value {
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
        if let Some(authorizer) = peer.identity.aws_authorizer() {
            context["authorizer"] = authorizer;
        }
        if let Identity::Iam {
            access_key,
            user_arn,
            user,
            account_id,
            ..
        } = &peer.identity
        {
            let identity = &mut context["identity"];
            identity["accessKey"] = Value::from(&**access_key);
            identity["accountId"] = Value::from(&**account_id);
            identity["caller"] = Value::from(&**user_arn);
            identity["userArn"] = Value::from(&**user_arn);
            identity["user"] = Value::from(user.as_deref());
        }
        if let Some(id) = &peer.api_key_id {
            let identity = &mut context["identity"];
            identity["apiKeyId"] = Value::from(&**id);
            identity["apiKey"] = Value::from(peer.api_key.as_deref());
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
        let variables = (!stage_variables.is_empty()).then(|| {
            stage_variables
                .iter()
                .map(|(k, v)| (k.to_string(), Value::from(&**v)))
                .collect::<Map<String, Value>>()
        });
        event.insert("stageVariables".into(), variables.into());
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
pub(crate) mod tests {
    use super::*;

    /// A connection's facts for tests: anonymous, no API key.
    pub(crate) fn peer() -> Peer {
        Peer {
            connection_id: "AAAAAAAAAAAAAAAA".into(),
            api_id: "chat".into(),
            stage: "prod".into(),
            domain_name: "chat.execute-api.localhost".into(),
            source_ip: "127.0.0.1".parse().unwrap(),
            user_agent: "test-client".into(),
            connected_at_ms: 1_700_000_000_000,
            identity: Identity::Anonymous,
            api_key_id: None,
            api_key: None,
            constant_headers: Default::default(),
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

    /// A MESSAGE event of `peer` on route `$default` carrying `body`.
    fn message_event<'e>(peer: &'e Peer, body: &'e Bytes) -> Event<'e> {
        Event {
            peer,
            kind: EventType::Message,
            route_key: "$default",
            message_id: Some("m1"),
            request_id: RequestId::new(),
            at: SystemTime::now(),
            body,
            handshake: None,
            disconnect: None,
        }
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

    /// A REQUEST authorizer's principal and context, given at `$connect`,
    /// reach every later event: headers for HTTP backends, AWS's
    /// `requestContext.authorizer` for functions.
    #[test]
    fn the_connect_authorizers_answer_reaches_every_event() {
        use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
        let peer = Peer {
            identity: Identity::Authorizer(Arc::new(Principal::new(
                Some("user-7"),
                None,
                Some(r#"{"tier":"gold","seats":3,"principalId":"claimed"}"#),
            ))),
            ..peer()
        };
        let body = Bytes::from_static(b"{\"action\":\"send\"}");
        let message = Event {
            route_key: "send",
            ..message_event(&peer, &body)
        };
        let h = message.http_headers();
        assert_eq!(h[PRINCIPAL_HEADER], "user-7");
        let context: Value = serde_json::from_slice(h[CONTEXT_HEADER].as_bytes()).unwrap();
        assert_eq!(context["tier"], "gold");
        let parsed: ApiGatewayWebsocketProxyRequest =
            serde_json::from_value(message.aws_event(&HashMap::new())).unwrap();
        let authorizer = &parsed.request_context.authorizer.fields;
        assert_eq!(
            authorizer["principalId"], "user-7",
            "the authorizer's, not the context's"
        );
        assert_eq!(authorizer["tier"], "gold");
        assert_eq!(authorizer["seats"], 3);
        let empty = Bytes::new();
        let disconnect = Event {
            kind: EventType::Disconnect,
            route_key: "$disconnect",
            message_id: None,
            body: &empty,
            disconnect: Some((1000, "")),
            ..message
        };
        assert_eq!(disconnect.http_headers()[PRINCIPAL_HEADER], "user-7");
        assert_eq!(
            disconnect.aws_event(&HashMap::new())["requestContext"]["authorizer"]["principalId"],
            "user-7"
        );
        // An anonymous connection's events have neither.
        let anonymous = self::peer();
        let event = Event {
            peer: &anonymous,
            ..disconnect
        };
        assert!(!event.http_headers().contains_key(PRINCIPAL_HEADER));
        assert!(
            event.aws_event(&HashMap::new())["requestContext"]
                .get("authorizer")
                .is_none()
        );
    }

    /// The serving stage's variables and the API key identified at
    /// `$connect` reach every event, as AWS gives them; a stage without
    /// variables gives `null`, as REST events do.
    #[test]
    fn stage_variables_and_the_api_key_reach_every_event() {
        use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
        let peer = Peer {
            api_key_id: Some("k1".into()),
            api_key: Some("secret-key-value".into()),
            ..peer()
        };
        let body = Bytes::from_static(b"hi");
        let message = message_event(&peer, &body);
        let variables: HashMap<Box<str>, Box<str>> = [("env".into(), "prod".into())].into();
        let parsed: ApiGatewayWebsocketProxyRequest =
            serde_json::from_value(message.aws_event(&variables)).unwrap();
        assert_eq!(
            parsed.stage_variables.get("env").map(String::as_str),
            Some("prod")
        );
        let identity = &parsed.request_context.identity;
        assert_eq!(identity.api_key_id.as_deref(), Some("k1"));
        assert_eq!(identity.api_key.as_deref(), Some("secret-key-value"));
        assert_eq!(message.http_headers()[API_KEY_ID], "k1");
        let none = message.aws_event(&HashMap::new());
        assert!(none["stageVariables"].is_null(), "{none}");
    }

    /// An IAM caller's identity, as AWS gives it in `requestContext.identity`.
    #[test]
    fn an_iam_callers_identity_reaches_every_event() {
        use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
        let arn = "arn:aws:iam::123456789012:user/alice";
        let peer = Peer {
            identity: Identity::Iam {
                principal: Arc::new(Principal::new(Some(arn), None, None)),
                access_key: "AKIAIOSFODNN7EXAMPLE".into(),
                user_arn: arn.into(),
                user: Some("alice".into()),
                account_id: "123456789012".into(),
            },
            ..peer()
        };
        let body = Bytes::from_static(b"hi");
        let message = message_event(&peer, &body);
        assert_eq!(message.http_headers()[PRINCIPAL_HEADER], arn);
        let parsed: ApiGatewayWebsocketProxyRequest =
            serde_json::from_value(message.aws_event(&HashMap::new())).unwrap();
        let identity = &parsed.request_context.identity;
        assert_eq!(identity.user_arn.as_deref(), Some(arn));
        assert_eq!(identity.caller.as_deref(), Some(arn));
        assert_eq!(identity.account_id.as_deref(), Some("123456789012"));
        assert_eq!(identity.access_key.as_deref(), Some("AKIAIOSFODNN7EXAMPLE"));
        assert_eq!(identity.user.as_deref(), Some("alice"));
        assert_eq!(identity.source_ip.as_deref(), Some("127.0.0.1"));
    }

    /// A client cannot pass for someone else at `$connect`: its own
    /// identity headers, in any spelling, do not reach the backend.
    #[test]
    fn a_clients_claimed_identity_headers_are_dropped_at_connect() {
        let peer = Peer {
            identity: Identity::Authorizer(Arc::new(Principal::new(Some("user-7"), None, None))),
            ..peer()
        };
        let mut handshake = handshake();
        for name in [
            "x-archway-principal",
            "x_archway_principal",
            "x_archway-authorizer-context",
        ] {
            handshake.headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static("admin"),
            );
        }
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
        let h = connect.http_headers();
        assert_eq!(
            h.get_all(PRINCIPAL_HEADER).iter().collect::<Vec<_>>(),
            ["user-7"]
        );
        assert!(!h.contains_key("x_archway_principal"));
        assert!(!h.contains_key("x_archway-authorizer-context"));
        assert!(!h.contains_key(CONTEXT_HEADER));
        assert_eq!(h["authorization"], "Bearer t", "other headers pass");
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
            serde_json::from_value(connect.aws_event(&HashMap::new())).unwrap();
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
            serde_json::from_value(message.aws_event(&HashMap::new())).unwrap();
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
            serde_json::from_value(message.aws_event(&HashMap::new())).unwrap();
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
            serde_json::from_value(disconnect.aws_event(&HashMap::new())).unwrap();
        let cx = &parsed.request_context;
        assert_eq!(cx.event_type.as_deref(), Some("DISCONNECT"));
        assert_eq!(cx.disconnect_status_code, Some(1001));
        assert_eq!(cx.disconnect_reason.as_deref(), Some("Going away"));
        assert!(parsed.body.is_none());
    }
}
