//! Stage: custom (Lambda-style) authorizers, TOKEN and REQUEST.
//!
//! The gateway POSTs AWS's authorizer event to the authorizer's URL and
//! reads AWS's answer: `principalId`, `policyDocument`, `context` and
//! `usageIdentifierKey`. The policy is evaluated against the request's
//! method ARN; the answer is cached per authorizer and identity for the
//! authorizer's TTL, and the cached policy is evaluated again for each
//! method, so one answer can allow `GET /pets` and deny `DELETE /pets`.
//!
//! Outcomes, as AWS answers them: a missing identity (or a TOKEN failing its
//! validation expression) is 401 without a call; an authorizer answering
//! 401 is 401; a Deny (or no Allow) is 403; an unreachable, slow or
//! malformed authorizer is 500. Only allowing and denying answers are
//! cached, never failures.
//!
//! Calls go through the node's outbound client ([`Upstream`]), recorded
//! under the purpose `authorizer`.

use super::gateway_response::GatewayResponse;
use crate::principal::Principal;
use crate::tables::{CustomAuth, CustomIdentity};
use crate::upstream::{
    BufferedLimits, BufferedRequest, Purpose, Upstream, UpstreamError, error_chain,
};
use archway_proto::identity_source::IdentitySource;
use archway_proto::policy::{Decision, MethodArn, Policy, PolicyKind, RequestContext, Resource};
use bytes::Bytes;
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Answers larger than this are malformed.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The authorizer context travels in one header; larger contexts are dropped.
const MAX_CONTEXT_HEADER_BYTES: usize = 4 * 1024;
const MAX_CACHED_ANSWERS: u64 = 100_000;

/// The authorizer client and its answer cache. Both live beside the tables,
/// so a configuration swap keeps warm connections and answers (answers are
/// keyed by the authorizer's settings, so a changed authorizer starts cold).
pub struct CustomAuthorizers {
    client: Upstream,
    /// `try_get_with` coalesces misses: a burst of requests with a new
    /// token makes one call, the others wait for its answer.
    answers: moka::future::Cache<[u8; 32], Arc<Answer>>,
}

impl std::fmt::Debug for CustomAuthorizers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomAuthorizers").finish_non_exhaustive()
    }
}

impl Default for CustomAuthorizers {
    fn default() -> Self {
        Self::new(Upstream::default().for_purpose(Purpose::Authorizer))
    }
}

impl CustomAuthorizers {
    /// Authorizers are called through `client` (at `https://` URLs,
    /// trusting what it trusts).
    pub fn new(client: Upstream) -> Self {
        Self {
            client,
            answers: moka::future::Cache::builder()
                .max_capacity(MAX_CACHED_ANSWERS)
                .time_to_live(Duration::from_secs(3600))
                .build(),
        }
    }
}

/// An authorizer's decision about one identity.
#[derive(Debug)]
pub struct Answer {
    pub principal: Arc<Principal>,
    policy: Policy,
    /// The API key value, for APIs whose key source is AUTHORIZER.
    pub usage_key: Option<String>,
    /// When the authorizer answered. The answer counts while the
    /// authorizer's current TTL has not passed since, so lowering a TTL
    /// shortens answers already cached.
    answered_at: Instant,
}

impl Answer {
    /// The authorizer's policy's decision on `context` (any action: the
    /// authorize phase asks about `execute-api:Invoke`, the stage cache
    /// about `execute-api:InvalidateCache`).
    pub fn decide(&self, context: &RequestContext<'_>) -> Decision {
        self.policy.evaluate(context)
    }
}

/// What the event and the method ARN are made of.
#[derive(Debug)]
pub struct Call<'a> {
    pub auth: &'a CustomAuth,
    pub region: &'a str,
    pub account_id: &'a str,
    pub api_id: &'a str,
    pub stage: &'a str,
    pub stage_variables: &'a HashMap<Box<str>, Box<str>>,
    /// The resource template, e.g. `/pets/{id}`.
    pub resource_path: &'a str,
    /// The resource's id, `requestContext.resourceId`.
    pub resource_id: &'a str,
    /// The request path after the stage, e.g. `/pets/7`.
    pub path: &'a str,
    /// A WebSocket route's key (`$connect`): the method ARN ends at it,
    /// as AWS's does (`…/prod/$connect`), and the event is AWS's
    /// WebSocket authorizer event (see [`Call::websocket_event`]).
    pub route_key: Option<&'a str>,
    /// A WebSocket connect: the id the connection will have.
    pub connection_id: Option<&'a str>,
    /// The host the client asked for, without its port.
    pub domain_name: &'a str,
    /// Path parameters: (name, raw value).
    pub params: &'a [(&'a str, &'a str)],
    pub method: &'a http::Method,
    pub headers: &'a http::HeaderMap,
    /// The request's extensions: on an HTTP/1 connection that keeps header
    /// case, hyper's record of the names as the client spelled them.
    pub extensions: &'a http::Extensions,
    pub query: Option<&'a str>,
    pub source_ip: IpAddr,
    /// The request came over TLS (`aws:SecureTransport` in the policy).
    pub secure_transport: bool,
    pub request_id: &'a str,
}

impl Call<'_> {
    /// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}`
    /// (a WebSocket route's: `…/{stage}/{route key}`), as parts: a cached
    /// answer's policy is matched without formatting it.
    fn method_arn(&self) -> MethodArn<'_> {
        match self.route_key {
            Some(key) => MethodArn {
                region: self.region,
                account: self.account_id,
                api_id: self.api_id,
                stage: self.stage,
                method: key,
                path: None,
            },
            None => MethodArn {
                region: self.region,
                account: self.account_id,
                api_id: self.api_id,
                stage: self.stage,
                method: self.method.as_str(),
                path: Some(self.path),
            },
        }
    }

    /// AWS's REQUEST authorizer event for a WebSocket connect, but for
    /// what it shares with the REST event (method ARN, headers, query
    /// string, stage variables): a `requestContext` with the route key,
    /// `eventType: CONNECT`, the connection's id and the times, and no
    /// `httpMethod`, `resource` or `path` (a route has none). Authorizers
    /// ported from AWS read these, often keyed on `connectionId`.
    fn websocket_event(&self, route_key: &str) -> Value {
        let now = std::time::SystemTime::now();
        let epoch_ms = now
            .duration_since(std::time::SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let mut request_time = String::with_capacity(26);
        let _ = super::observe::write_clf_time(&mut request_time, now);
        json!({
            "type": "REQUEST",
            "requestContext": {
                "routeKey": route_key,
                "eventType": "CONNECT",
                "extendedRequestId": self.request_id,
                "requestTime": request_time,
                "messageDirection": "IN",
                "stage": self.stage,
                "connectedAt": epoch_ms,
                "requestTimeEpoch": epoch_ms,
                "identity": {
                    "apiKey": self.header("x-api-key"),
                    "sourceIp": self.source_ip.to_string(),
                    "userAgent": self.header("user-agent"),
                },
                "requestId": self.request_id,
                "domainName": self.domain_name,
                "connectionId": self.connection_id,
                "apiId": self.api_id,
            },
        })
    }

    /// A header's one value. A header sent twice has no value here: the
    /// cache key and the authorizer must never read different copies.
    fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.get_all(name).iter();
        let value = values.next()?;
        if values.next().is_some() {
            return None;
        }
        value.to_str().ok().filter(|v| !v.is_empty())
    }

    fn query_value(&self, name: &str) -> Option<Cow<'_, str>> {
        form_urlencoded::parse(self.query?.as_bytes())
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v)
            .last()
            .filter(|v| !v.is_empty())
    }

    fn context_value(&self, name: &str) -> Option<Cow<'_, str>> {
        Some(match name {
            "requestId" => self.request_id.into(),
            "sourceIp" | "identity.sourceIp" => self.source_ip.to_string().into(),
            "identity.userAgent" => self.header("user-agent")?.into(),
            "httpMethod" => self.method.as_str().into(),
            "resourcePath" => self.resource_path.into(),
            "path" => format!("/{}{}", self.stage, self.path).into(),
            "stage" => self.stage.into(),
            "apiId" => self.api_id.into(),
            _ => return None,
        })
    }

    /// The identity the answer is cached under (borrowed from the request
    /// where it can be); None: a source is missing.
    fn identity(&self) -> Option<Vec<Cow<'_, str>>> {
        match &self.auth.identity {
            CustomIdentity::Token { header, validation } => {
                let token = self.header(header.as_str())?;
                if validation.as_ref().is_some_and(|re| !re.is_match(token)) {
                    return None;
                }
                Some(vec![Cow::Borrowed(token)])
            }
            CustomIdentity::Request(sources) => sources
                .iter()
                .map(|source| match source {
                    IdentitySource::Header(name) => self.header(name).map(Cow::Borrowed),
                    IdentitySource::Query(name) => self.query_value(name),
                    IdentitySource::StageVariable(name) => self
                        .stage_variables
                        .get(name.as_str())
                        .filter(|v| !v.is_empty())
                        .map(|v| Cow::Borrowed(&**v)),
                    IdentitySource::Context(name) => self.context_value(name),
                })
                .collect(),
        }
    }

    /// AWS's authorizer event for this request. `spellings` are the header
    /// names as the client wrote them ([`original_header_names`]); a name
    /// missing there is given as hyper holds it, lowercase.
    fn event(&self, identity: &[Cow<'_, str>], method_arn: &str, spellings: &Spellings) -> Value {
        match self.auth.identity {
            CustomIdentity::Token { .. } => json!({
                "type": "TOKEN",
                "authorizationToken": identity.first(),
                "methodArn": method_arn,
            }),
            CustomIdentity::Request(_) => {
                // As AWS: `headers` holds each header's last value,
                // `multiValueHeaders` all of them in order, both keyed by
                // the name as the client spelled it.
                let mut headers = Map::new();
                let mut multi_headers: Map<String, Value> = Map::new();
                for (name, value) in self.headers {
                    let Ok(value) = value.to_str() else { continue };
                    let name = spellings
                        .iter()
                        .find(|s| s.eq_ignore_ascii_case(name.as_str()))
                        .map_or(name.as_str(), String::as_str);
                    headers.insert(name.into(), value.into());
                    if let Value::Array(values) = multi_headers
                        .entry(name)
                        .or_insert_with(|| Value::Array(Vec::new()))
                    {
                        values.push(value.into());
                    }
                }
                let mut query = Map::new();
                let mut multi_query: Map<String, Value> = Map::new();
                for (name, value) in form_urlencoded::parse(self.query.unwrap_or("").as_bytes()) {
                    query.insert(name.to_string(), value.as_ref().into());
                    if let Value::Array(values) = multi_query
                        .entry(name.as_ref())
                        .or_insert_with(|| Value::Array(Vec::new()))
                    {
                        values.push(value.as_ref().into());
                    }
                }
                let params: Map<String, Value> = self
                    .params
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).into()))
                    .collect();
                let variables: Map<String, Value> = self
                    .stage_variables
                    .iter()
                    .map(|(k, v)| (k.to_string(), (**v).into()))
                    .collect();
                let full_path = format!("/{}{}", self.stage, self.path);
                let or_null = |m: Map<String, Value>| {
                    if m.is_empty() {
                        Value::Null
                    } else {
                        Value::Object(m)
                    }
                };
                if let Some(route_key) = self.route_key {
                    let mut event = self.websocket_event(route_key);
                    event["methodArn"] = method_arn.into();
                    event["headers"] = headers.into();
                    event["multiValueHeaders"] = multi_headers.into();
                    event["queryStringParameters"] = or_null(query);
                    event["multiValueQueryStringParameters"] = or_null(multi_query);
                    event["stageVariables"] = or_null(variables);
                    return event;
                }
                json!({
                    "type": "REQUEST",
                    "methodArn": method_arn,
                    "resource": self.resource_path,
                    "path": self.path,
                    "httpMethod": self.method.as_str(),
                    "headers": headers,
                    "multiValueHeaders": multi_headers,
                    "queryStringParameters": or_null(query),
                    "multiValueQueryStringParameters": or_null(multi_query),
                    "pathParameters": or_null(params),
                    "stageVariables": or_null(variables),
                    "requestContext": {
                        "accountId": self.account_id,
                        "apiId": self.api_id,
                        "httpMethod": self.method.as_str(),
                        "path": full_path,
                        "requestId": self.request_id,
                        "resourceId": self.resource_id,
                        "resourcePath": self.resource_path,
                        "stage": self.stage,
                        "identity": {
                            // The x-api-key the client sent, checked or not
                            // (authorizers run before keys), as in AWS.
                            "apiKey": self.header("x-api-key"),
                            "sourceIp": self.source_ip.to_string(),
                            "userAgent": self.header("user-agent"),
                        },
                    },
                })
            }
        }
    }
}

impl CustomAuthorizers {
    /// Allows the request or says why not.
    pub async fn authorize(&self, call: &Call<'_>) -> Result<Arc<Answer>, GatewayResponse> {
        let identity = call.identity().ok_or(GatewayResponse::Unauthorized)?;
        let method_arn = call.method_arn();
        let answer = if call.auth.ttl.is_zero() {
            Arc::new(self.ask(call, &identity, &method_arn).await?)
        } else {
            self.cached_answer(call, &identity, &method_arn).await?
        };
        let context = RequestContext {
            action: "execute-api:Invoke",
            resource: Resource::Method(method_arn),
            principal_arn: None,
            principal_account: None,
            username: None,
            source_ip: call.source_ip,
            secure_transport: call.secure_transport,
        };
        match answer.policy.evaluate(&context) {
            Decision::Allow => Ok(answer),
            Decision::ExplicitDeny => Err(GatewayResponse::ExplicitDeny),
            Decision::ImplicitDeny => Err(GatewayResponse::AccessDenied),
        }
    }

    /// The cached answer for this identity, asking the authorizer (once,
    /// however many requests wait) when there is none or it expired.
    /// Failures are never cached: the next request asks again.
    async fn cached_answer(
        &self,
        call: &Call<'_>,
        identity: &[Cow<'_, str>],
        method_arn: &MethodArn<'_>,
    ) -> Result<Arc<Answer>, GatewayResponse> {
        let key = cache_key(&call.auth.fingerprint, identity);
        // Twice at most: an expired entry is dropped and asked for anew.
        for _ in 0..2 {
            let answer = self
                .answers
                .try_get_with(key, async {
                    self.ask(call, identity, method_arn).await.map(Arc::new)
                })
                .await
                .map_err(|refusal: Arc<GatewayResponse>| (*refusal).clone())?;
            if answer.answered_at + call.auth.ttl > Instant::now() {
                return Ok(answer);
            }
            self.answers.invalidate(&key).await;
        }
        Ok(Arc::new(self.ask(call, identity, method_arn).await?))
    }

    /// Calls the authorizer once.
    async fn ask(
        &self,
        call: &Call<'_>,
        identity: &[Cow<'_, str>],
        method_arn: &MethodArn<'_>,
    ) -> Result<Answer, GatewayResponse> {
        let auth = call.auth;
        let failure = |why: &dyn std::fmt::Display| {
            tracing::warn!(authorizer = %auth.id, uri = %auth.uri, "authorizer failed: {why}");
            GatewayResponse::AuthorizerFailure
        };
        let spellings = match call.auth.identity {
            CustomIdentity::Request(_) => {
                original_header_names(call.headers, call.extensions).await
            }
            CustomIdentity::Token { .. } => Spellings::new(),
        };
        let event = call.event(identity, &method_arn.to_string(), &spellings);
        let body = serde_json::to_vec(&event).map_err(|e| failure(&e))?;
        let uri = auth.uri.to_string();
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        let request = BufferedRequest {
            method: http::Method::POST,
            uri: &uri,
            headers,
            body: Bytes::from(body),
        };
        // The authorizer's timeout covers the whole call: connecting,
        // asking, and reading the answer.
        let limits = BufferedLimits {
            timeout: auth.timeout,
            max_response_bytes: MAX_ANSWER_BYTES,
        };
        let started = Instant::now();
        let response = self
            .client
            .send_buffered(request, limits)
            .await
            .map_err(|e: UpstreamError| failure(&error_chain(&e)))?;
        let (status, body) = (response.status(), response.into_body());
        tracing::debug!(authorizer = %auth.id, %status, elapsed = ?started.elapsed(), "authorizer answered");
        match status {
            http::StatusCode::OK => {}
            http::StatusCode::UNAUTHORIZED => return Err(GatewayResponse::Unauthorized),
            http::StatusCode::FORBIDDEN => return Err(GatewayResponse::ExplicitDeny),
            other => return Err(failure(&format_args!("answered {other}"))),
        }
        parse_answer(&body, Instant::now()).map_err(|why| failure(&why))
    }
}

/// A request body of unknown length that never yields a frame.
struct UnendingBody;

impl hyper::body::Body for UnendingBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Pending
    }
}

/// Header names as the client spelled them, one per name.
type Spellings = Vec<String>;

/// How long recovering the header spellings may take; it is all in memory,
/// so this only guards against a bug.
const SPELLINGS_TIMEOUT: Duration = Duration::from_millis(100);

/// The header names of a request as the client spelled them on HTTP/1.
///
/// hyper keeps the spellings (with `preserve_header_case`, which the
/// server turns on while a REQUEST authorizer is deployed) in a request
/// extension whose type it does not export; its only public reader is
/// hyper's own HTTP/1 client, which writes headers in those spellings. So
/// the extensions ride on an empty request written by that client into an
/// in-memory pipe, and the names are read back from the head it wrote.
/// This runs only when a REQUEST authorizer is asked (a cache miss), never
/// on the plain request path. Empty when there is nothing to recover (an
/// HTTP/2 request, whose names are lowercase on the wire, or a connection
/// accepted before the authorizer was deployed): the event then gives the
/// names lowercase.
async fn original_header_names(
    headers: &http::HeaderMap,
    extensions: &http::Extensions,
) -> Spellings {
    if extensions.is_empty() {
        return Spellings::new();
    }
    tokio::time::timeout(SPELLINGS_TIMEOUT, written_header_names(headers, extensions))
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

async fn written_header_names(
    headers: &http::HeaderMap,
    extensions: &http::Extensions,
) -> Option<Spellings> {
    use tokio::io::AsyncReadExt;
    let (ours, mut theirs) = tokio::io::duplex(64 * 1024);
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        .handshake::<_, UnendingBody>(hyper_util::rt::TokioIo::new(ours))
        .await
        .ok()?;
    // The client writes each header of the map, spelled as the extension
    // says. A POST whose body never comes keeps it from rewriting the
    // framing headers (Content-Length, Transfer-Encoding) for an empty
    // body; it writes the head and waits, and the head is all we read.
    let mut request = http::Request::new(UnendingBody);
    *request.method_mut() = http::Method::POST;
    *request.headers_mut() = headers.clone();
    *request.extensions_mut() = extensions.clone();
    let write = async {
        let _ = tokio::join!(connection, sender.send_request(request));
        std::future::pending::<()>().await;
    };
    let read_head = async {
        let mut head = Vec::with_capacity(1024);
        let mut chunk = [0u8; 4096];
        loop {
            let n = theirs.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            head.extend_from_slice(&chunk[..n]);
            if head.windows(4).any(|w| w == b"\r\n\r\n") {
                return Some(head);
            }
        }
    };
    let head = tokio::select! {
        head = read_head => head?,
        () = write => return None,
    };
    // As many as the server admits: more would fail the parse.
    let mut slots = [httparse::EMPTY_HEADER; super::headers::MAX_REQUEST_HEADERS];
    let mut parsed = httparse::Request::new(&mut slots);
    parsed.parse(&head).ok()?;
    let mut names = Spellings::new();
    for header in parsed.headers.iter() {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(header.name)) {
            names.push(header.name.to_owned());
        }
    }
    Some(names)
}

fn cache_key(fingerprint: &[u8; 32], identity: &[Cow<'_, str>]) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(fingerprint);
    for part in identity {
        // Length-prefixed, so ("ab","c") and ("a","bc") differ.
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

/// Reads AWS's authorizer response shape.
pub(crate) fn parse_answer(body: &[u8], answered_at: Instant) -> Result<Answer, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("answer is not JSON: {e}"))?;
    let object = value.as_object().ok_or("answer is not a JSON object")?;
    let principal_id = match object.get("principalId") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err("answer has no principalId string".into()),
    };
    if !object.contains_key("policyDocument") {
        return Err("answer has no policyDocument".into());
    }
    // The policy is parsed from its own text with the strict parser, which
    // refuses duplicate keys (a Value would silently keep the last one).
    let raw: std::collections::HashMap<String, Box<serde_json::value::RawValue>> =
        serde_json::from_slice(body).map_err(|e| format!("answer is not JSON: {e}"))?;
    let policy = Policy::parse(
        raw.get("policyDocument")
            .map(|r| r.get())
            .ok_or("answer has no policyDocument")?,
        PolicyKind::Authorizer,
    )
    .map_err(|e| format!("policyDocument: {e}"))?;
    let context = match object.get("context") {
        None | Some(Value::Null) => None,
        Some(Value::Object(context)) => {
            // AWS allows only strings, numbers and booleans as values.
            if let Some((key, _)) = context
                .iter()
                .find(|(_, v)| !(v.is_string() || v.is_number() || v.is_boolean()))
            {
                return Err(format!(
                    "context.{key}: values must be strings, numbers or booleans"
                ));
            }
            let encoded = serde_json::to_string(context).map_err(|e| e.to_string())?;
            if encoded.len() > MAX_CONTEXT_HEADER_BYTES {
                tracing::warn!(
                    bytes = encoded.len(),
                    "authorizer context is too large to forward; dropped"
                );
                None
            } else {
                Some(encoded)
            }
        }
        Some(_) => return Err("context is not an object".into()),
    };
    let usage_key = match object.get("usageIdentifierKey") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("usageIdentifierKey is not a string".into()),
    };
    Ok(Answer {
        principal: Arc::new(Principal::new(
            Some(&principal_id),
            None,
            context.as_deref(),
        )),
        policy,
        usage_key,
        answered_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::LockOrRecover;

    /// Serves one HTTP/1 request from `raw` with hyper (keeping header case
    /// or not) and returns the spellings recovered for it.
    async fn spellings_of(raw: &'static [u8], keep_case: bool) -> Spellings {
        use tokio::io::AsyncWriteExt;
        let (mut client, server) = tokio::io::duplex(16 * 1024);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let tx = std::sync::Mutex::new(Some(tx));
        let service = hyper::service::service_fn(move |request: http::Request<_>| {
            let tx = tx.lock_or_recover().take();
            async move {
                let names = original_header_names(request.headers(), request.extensions()).await;
                if let Some(tx) = tx {
                    let _ = tx.send(names);
                }
                Ok::<_, std::convert::Infallible>(http::Response::new(
                    http_body_util::Empty::<Bytes>::new(),
                ))
            }
        });
        tokio::spawn(
            hyper::server::conn::http1::Builder::new()
                .preserve_header_case(keep_case)
                .serve_connection(hyper_util::rt::TokioIo::new(server), service),
        );
        client.write_all(raw).await.unwrap();
        rx.await.unwrap()
    }

    const MIXED_CASE: &[u8] = b"POST /x HTTP/1.1\r\nHost: h\r\nX-Tenant: a\r\nx-MULTI: 1\r\n\
        X-Multi: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";

    /// hyper's spellings come back through its own client, framing headers
    /// included; a repeated name keeps its first spelling.
    #[tokio::test]
    async fn header_spellings_are_recovered_when_hyper_keeps_them() {
        let names = spellings_of(MIXED_CASE, true).await;
        for expected in ["Host", "X-Tenant", "x-MULTI", "Transfer-Encoding"] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} in {names:?}"
            );
        }
        assert!(!names.iter().any(|n| n == "X-Multi"), "{names:?}");
        let names = spellings_of(
            b"POST /x HTTP/1.1\r\nHOST: h\r\nContent-LENGTH: 4\r\n\r\nabcd",
            true,
        )
        .await;
        assert_eq!(names, ["HOST", "Content-LENGTH"]);
    }

    /// Without kept case (an older connection, or HTTP/2) nothing is
    /// recovered and the event uses hyper's lowercase names.
    #[tokio::test]
    async fn no_spellings_without_kept_case() {
        assert!(spellings_of(MIXED_CASE, false).await.is_empty());
    }

    fn allow(resource: &str) -> String {
        format!(
            r#"{{"principalId":"alice","policyDocument":{{"Version":"2012-10-17","Statement":[{{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"{resource}"}}]}},"context":{{"tier":"gold","n":3,"ok":true}},"usageIdentifierKey":"k-123"}}"#
        )
    }

    #[test]
    fn reads_the_aws_answer_shape() {
        let answer = parse_answer(allow("*").as_bytes(), Instant::now()).unwrap();
        let text =
            |v: &Option<http::HeaderValue>| v.as_ref().map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(text(&answer.principal.subject).as_deref(), Some("alice"));
        assert_eq!(
            text(&answer.principal.context).as_deref(),
            Some(r#"{"n":3,"ok":true,"tier":"gold"}"#)
        );
        assert_eq!(answer.usage_key.as_deref(), Some("k-123"));
    }

    #[test]
    fn refuses_malformed_answers() {
        for (body, says) in [
            ("not json", "not JSON"),
            ("[]", "not a JSON object"),
            (r#"{"policyDocument":{}}"#, "principalId"),
            (r#"{"principalId":"a"}"#, "policyDocument"),
            (
                r#"{"principalId":"a","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]},"context":{"x":{"nested":1}}}"#,
                "context.x",
            ),
            (
                r#"{"principalId":"a","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"execute-api:Invoke","Resource":"*"}]}}"#,
                "policyDocument",
            ),
            (
                r#"{"principalId":"a","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}}"#,
                "policyDocument",
            ),
        ] {
            let err = parse_answer(body.as_bytes(), Instant::now()).unwrap_err();
            assert!(err.contains(says), "{body}: {err}");
        }
    }

    #[test]
    fn cache_keys_separate_identities_and_authorizers() {
        let a = cache_key(&[1; 32], &["ab".into(), "c".into()]);
        let b = cache_key(&[1; 32], &["a".into(), "bc".into()]);
        let c = cache_key(&[2; 32], &["ab".into(), "c".into()]);
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}
