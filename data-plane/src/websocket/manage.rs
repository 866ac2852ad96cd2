//! The connection management API, as AWS's `@connections`:
//! `POST|GET|DELETE /{stage}/@connections/{connectionId}` on a WEBSOCKET
//! API's host. The pipeline driver hands such a request to the node's
//! [`Fleet`] (as its [`ConnectionsApi`]) as soon as the API and stage are
//! resolved (the path was made canonical before: `%40connections` is
//! `@connections`, `//` is `/`, `%41` is `A`).
//!
//! Authorization is IAM's, as for an `AWS_IAM` method, with AWS's action
//! and resource: a SigV4 signature by a key the fleet knows, then the
//! caller's identity policies (and the API's resource policy) must allow
//! `execute-api:ManageConnections` on
//! `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{VERB}/@connections/{connectionId}`.
//! A principal allowed only `execute-api:Invoke` is refused (403).
//!
//! Answers, as AWS's ApiGatewayManagementApi (error types in
//! `x-amzn-ErrorType`, which the SDKs read; AWS's own error bodies are
//! empty, ours say `{"message": ...}`):
//! - `POST`: 200, empty body; the body (at most 128 KiB, else 413
//!   `PayloadTooLargeException`) is sent as one message, text when UTF-8;
//! - `GET`: 200 `{"connectedAt","identity":{"sourceIp","userAgent"},"lastActiveAt"}`
//!   (ISO 8601 UTC with milliseconds);
//! - `DELETE`: 204; the connection closes (1000) and its `$disconnect` runs;
//! - 410 `GoneException` for an id that is not (or no longer) a connection
//!   of this API and stage, or not an id at all;
//! - 429 `LimitExceededException` when the connection's outbox is full (its
//!   client reads slower than it is sent to): AWS's answer when "the
//!   WebSocket client side buffer is full";
//! - 503 `ServiceUnavailableException` when the node that holds the
//!   connection cannot be asked (Redis down), 504 `GatewayTimeoutException`
//!   when it does not answer in time; see [`super::relay`].

use super::connection_id::ConnectionId;
use super::fleet::{Call, Command, ConnectionInfo, Fleet, Outcome};
use crate::pipeline::caller::{Authorization, Caller};
use crate::pipeline::connections_api::ConnectionsApi;
use crate::pipeline::context::{Context, Stage};
use crate::pipeline::gateway_response::GatewayResponse;
use crate::pipeline::observe::Phase;
use crate::pipeline::policy::Invocation;
use crate::pipeline::websocket_api::Connecting;
use crate::pipeline::{GatewayBody, buffer_body, iam};
use archway_proto::policy::MethodArn;
use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use http_body_util::{Either, Full};
use std::time::SystemTime;

/// The action every `@connections` call needs.
pub const MANAGE_CONNECTIONS_ACTION: &str = "execute-api:ManageConnections";

/// The largest `POST` body, as AWS's: 128 KB (taken as KiB, as the
/// node's message limit).
pub const MAX_POST_BYTES: usize = 128 * 1024;

/// What a management request asks, read from its method and canonical
/// path after the stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'p> {
    pub verb: Verb,
    /// The id as written (the ARN names it so); may not be an id.
    pub id: &'p str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Post,
    Get,
    Delete,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Post => "POST",
            Verb::Get => "GET",
            Verb::Delete => "DELETE",
        }
    }
}

/// `/@connections/{id}` with POST, GET or DELETE; anything else under
/// `@connections` (no id, more segments, another method) is no resource
/// of the API: 403 `Forbidden`, as AWS answers an unknown path.
pub fn parse<'p>(method: &Method, stage_path: &'p str) -> Result<Target<'p>, GatewayResponse> {
    let verb = match *method {
        Method::POST => Verb::Post,
        Method::GET => Verb::Get,
        Method::DELETE => Verb::Delete,
        _ => return Err(GatewayResponse::Forbidden),
    };
    let id = stage_path
        .strip_prefix("/@connections/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or(GatewayResponse::Forbidden)?;
    Ok(Target { verb, id })
}

impl ConnectionsApi for Fleet {
    fn handle<'c, 'a: 'c>(&'c self, cx: &'c mut Context<'a>, stage: Stage<'a>) -> Connecting<'c> {
        Box::pin(handle(cx, stage, self))
    }
}

/// Phase (instead of routing, for `@connections`): authorizes, carries
/// out the call where the connection lives, and answers.
pub async fn handle<'a>(
    cx: &mut Context<'a>,
    stage: Stage<'a>,
    fleet: &Fleet,
) -> Result<Response<GatewayBody>, GatewayResponse> {
    let path = cx.stage_path().to_owned();
    let target = parse(&cx.head.method, &path)?;
    let now = SystemTime::now();
    let data = match authorize(cx, stage, target, now).await? {
        Authorized::Data(data) => data,
        Authorized::TooLarge => return Ok(payload_too_large()),
    };
    // Not an id at all: no connection has it.
    let Some(id) = ConnectionId::parse(target.id) else {
        return Ok(answer(Outcome::Gone));
    };
    let command = match target.verb {
        Verb::Post => Command::Post(data),
        Verb::Get => Command::Get,
        Verb::Delete => Command::Delete,
    };
    let outcome = fleet
        .call(Call {
            api_id: stage.api.id.clone(),
            stage: stage.stage.name.clone(),
            id,
            command,
        })
        .await;
    if let Outcome::Unavailable(reason) = outcome {
        tracing::warn!(api = %stage.api.id, connection = %id, reason, "@connections call not carried out");
    }
    Ok(answer(outcome))
}

/// What authorization leaves for the call.
#[derive(Debug)]
pub enum Authorized {
    /// The body read (empty for GET and DELETE).
    Data(Bytes),
    /// A POST body over [`MAX_POST_BYTES`].
    TooLarge,
}

/// SigV4 by a known key, then `execute-api:ManageConnections` on the call's
/// ARN for that key's principal (with the API's resource policy). The
/// body is read (at most [`MAX_POST_BYTES`]) once the key is known.
pub async fn authorize<'a>(
    cx: &mut Context<'a>,
    stage: Stage<'a>,
    target: Target<'_>,
    now: SystemTime,
) -> Result<Authorized, GatewayResponse> {
    let tables = cx.tables;
    let signer = iam::Signer::identify(tables, &cx.head, now)?;
    let data = if target.verb == Verb::Post || signer.needs_body() {
        match buffer_body(&mut cx.body, MAX_POST_BYTES).await {
            Ok(data) => data,
            Err(GatewayResponse::RequestTooLarge) => return Ok(Authorized::TooLarge),
            Err(other) => return Err(other),
        }
    } else {
        Bytes::new()
    };
    let body_hash = signer
        .needs_body()
        .then(|| crate::sigv4::body_sha256_hex(&data));
    signer.verify(tables, body_hash.as_deref(), now)?;
    let key = signer.key;
    cx.observation.event(Phase::SignatureVerified);
    cx.authorization = Authorization {
        principal: Some(key.principal.clone()),
        caller: Caller::Iam(key),
    };
    let invocation = Invocation {
        arn: MethodArn {
            region: &tables.region,
            account: &tables.account_id,
            api_id: &stage.api.id,
            stage: &stage.stage.name,
            method: target.verb.as_str(),
            path: Some(cx.stage_path()),
        },
        source_ip: cx.client.ip,
        secure_transport: cx.client.secure,
    };
    crate::pipeline::policy::authorize_action(
        &cx.authorization,
        stage.api.resource_policy.as_ref(),
        MANAGE_CONNECTIONS_ACTION,
        &invocation,
    )?;
    cx.observation.event(Phase::PolicyAllowed);
    Ok(Authorized::Data(data))
}

/// The HTTP answer to a call's outcome.
pub fn answer(outcome: Outcome) -> Response<GatewayBody> {
    match outcome {
        Outcome::Posted => empty(StatusCode::OK),
        Outcome::Deleted => empty(StatusCode::NO_CONTENT),
        Outcome::Info(info) => json(StatusCode::OK, info_json(&info)),
        Outcome::Gone => error(
            StatusCode::GONE,
            "GoneException",
            "The connection with the provided id no longer exists.",
        ),
        Outcome::Full => error(
            StatusCode::TOO_MANY_REQUESTS,
            "LimitExceededException",
            "The WebSocket client side buffer is full.",
        ),
        Outcome::Unavailable(reason) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableException",
            &format!("The node that holds the connection cannot be reached: {reason}."),
        ),
        Outcome::TimedOut => error(
            StatusCode::GATEWAY_TIMEOUT,
            "GatewayTimeoutException",
            &format!(
                "The node that holds the connection did not answer within {:?}; \
                 the call may have been carried out.",
                super::relay::REPLY_TIMEOUT
            ),
        ),
    }
}

fn payload_too_large() -> Response<GatewayBody> {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PayloadTooLargeException",
        "The data has exceeded the maximum size allowed (128 KiB).",
    )
}

/// `GET @connections`'s body, as AWS's.
fn info_json(info: &ConnectionInfo) -> serde_json::Value {
    serde_json::json!({
        "connectedAt": iso8601(info.connected_at_ms),
        "identity": {
            "sourceIp": info.source_ip,
            "userAgent": info.user_agent,
        },
        "lastActiveAt": iso8601(info.last_active_ms),
    })
}

/// `2026-12-02T07:03:50.123Z`, as AWS writes these times.
pub fn iso8601(ms: i64) -> String {
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (year, month, day) = archway_proto::quota::civil_from_days(days);
    let (h, m, s, milli) = (
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000,
    );
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

fn empty(status: StatusCode) -> Response<GatewayBody> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::new())));
    *response.status_mut() = status;
    response
}

fn json(status: StatusCode, body: serde_json::Value) -> Response<GatewayBody> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(body.to_string()))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn error(status: StatusCode, error_type: &'static str, message: &str) -> Response<GatewayBody> {
    let mut response = json(status, serde_json::json!({ "message": message }));
    response.headers_mut().insert(
        crate::pipeline::headers::X_AMZN_ERROR_TYPE,
        HeaderValue::from_static(error_type),
    );
    response
}

#[cfg(test)]
mod tests;
