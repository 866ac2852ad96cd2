//! Phase: integration, for non-proxy integrations (HTTP, AWS, and MOCK
//! with templates; compiled in [`crate::mapping`]). Three steps, as AWS:
//!
//! 1. request: the body is read whole; the request template for its
//!    content type renders the integration request's body (or the
//!    passthrough behaviour passes it, or refuses with 415); request
//!    parameter mappings and the template's `requestOverride` make its
//!    headers, query string and path parameters; content handling converts
//!    between text and binary (base64);
//! 2. backend: MOCK answers from the gateway (the rendered template's
//!    `statusCode`, else 200), HTTP is one buffered call through the node's
//!    outbound client within the integration timeout, AWS goes through
//!    [`crate::aws::action::call`];
//! 3. response: the integration response whose selection pattern matches
//!    the backend's status (or a function's errorMessage) in full, else
//!    the default (a function's success always takes the default, as in
//!    AWS), sets the status, maps headers and renders its template
//!    over the backend's body (`$input` is that body there), with the
//!    template's `responseOverride`. No integration responses: the
//!    backend's answer passes as it is.
//!
//! HTTP_PROXY never comes here: its streaming path stays untouched.

use super::context::{Context, Target};
use super::gateway_response::GatewayResponse;
use super::template_vars::{BodyJson, TemplateVars};
use super::{GatewayBody, function};
use crate::aws::AwsOutbound;
use crate::hop_by_hop::is_reserved;
use crate::mapping::{Backend, MappedIntegration, RequestBodyPlan, ValueSource};
use crate::upstream::{BufferedLimits, BufferedRequest, Upstream, UpstreamError};
use archway_proto::mapping_expr::Location;
use archway_proto::template::{Limits, Overrides, Params};
use archway_proto::v1::ContentHandling;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::{Either, Full};
use std::time::Instant;

/// The integration request the mapping made.
struct MappedRequest {
    body: Bytes,
    /// The media type of `body`: the template's key, or the client's.
    content_type: Option<String>,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    path: Vec<(String, String)>,
}

/// What the backend answered, before response mapping.
struct BackendAnswer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    /// What selection patterns match: the status code, or a function's
    /// errorMessage. None: a function that answered without an error,
    /// which takes the default integration response, as in AWS (its
    /// patterns are for errors).
    selector: Option<String>,
}

pub async fn call<'a>(
    cx: &mut Context<'a>,
    target: &Target<'a>,
    mapped: &MappedIntegration,
    upstream: &Upstream,
    aws: &AwsOutbound,
) -> Result<Response<GatewayBody>, GatewayResponse> {
    let body = super::buffer_body(&mut cx.body, cx.max_payload).await?;
    let request = map_request(cx, target, mapped, &body)?;
    let started = Instant::now();
    let answer = match &mapped.backend {
        Backend::Mock => mock_answer(&request),
        Backend::Http {
            method,
            uri,
            timeout,
        } => {
            let uri = render_uri(cx, target, uri, &request)?;
            let call = BufferedRequest {
                method: method.clone().unwrap_or_else(|| cx.head.method.clone()),
                uri: &uri,
                headers: integration_headers(&request),
                body: request.body.clone(),
            };
            let limits = BufferedLimits {
                timeout: *timeout,
                max_response_bytes: cx.max_payload,
            };
            match upstream.send_buffered(call, limits).await {
                Ok(response) => {
                    let (parts, body) = response.into_parts();
                    BackendAnswer {
                        selector: Some(parts.status.as_u16().to_string()),
                        status: parts.status,
                        headers: parts.headers,
                        body,
                    }
                }
                Err(UpstreamError::TimedOut(_)) => return Err(GatewayResponse::IntegrationTimeout),
                Err(e) => {
                    // Without the query: mapped values (keys, tokens) may be in it.
                    let target = uri.split_once('?').map_or(uri.as_str(), |(path, _)| path);
                    tracing::warn!(uri = target, error = %crate::upstream::error_chain(&e), "HTTP integration failed");
                    return Err(GatewayResponse::IntegrationFailure);
                }
            }
        }
        Backend::Aws {
            target: aws_target,
            method,
            staged,
            settings,
        } => {
            let resolved;
            let aws_target = match staged {
                Some(staged) => {
                    resolved = staged
                        .resolve(&target.serving.variables)
                        .map(archway_proto::rules::aws_arn::AwsTarget::Function)
                        .map_err(|e| {
                            tracing::warn!(error = %e, "the function's ARN, with the stage's variables, names no function");
                            GatewayResponse::ApiConfigurationError
                        })?;
                    &resolved
                }
                None => aws_target,
            };
            let rendered = crate::aws::action::RenderedRequest {
                method: method.clone().unwrap_or_else(|| cx.head.method.clone()),
                headers: integration_headers(&request),
                query: &request.query,
                path_params: &request.path,
                body: request.body.clone(),
            };
            match crate::aws::action::call(aws, &cx.tables.outbound, aws_target, settings, rendered)
                .await
            {
                Ok(answer)
                    if is_function(aws_target)
                        && answer.function_error.is_none()
                        && !answer.answer.status.is_success() =>
                {
                    // The Invoke API refused (throttled, no such function,
                    // a bad signature): no function answered, so there is
                    // nothing for integration responses to select; the
                    // function integrations' failure, as for AWS_PROXY.
                    // Observed as every answer is: the access log shows
                    // the Invoke API's status.
                    cx.observation.integration_latency = Some(started.elapsed());
                    cx.observation.integration_status = Some(answer.answer.status);
                    tracing::warn!(
                        status = %answer.answer.status,
                        error_type = %crate::aws::lambda::api_error_type(&answer.answer),
                        "function integration failed: the Invoke API refused"
                    );
                    return Err(GatewayResponse::FunctionFailure);
                }
                Ok(answer) => BackendAnswer {
                    selector: selector(aws_target, &answer),
                    status: answer.answer.status,
                    headers: answer.answer.headers,
                    body: answer.answer.body,
                },
                Err(crate::aws::AwsError::TimedOut(_)) => {
                    return Err(GatewayResponse::IntegrationTimeout);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "AWS integration failed");
                    return Err(GatewayResponse::IntegrationFailure);
                }
            }
        }
    };
    if !matches!(mapped.backend, Backend::Mock) {
        cx.observation.integration_latency = Some(started.elapsed());
        cx.observation.integration_status = Some(answer.status);
    }
    map_response(cx, target, mapped, answer)
}

/// The integration request's headers, as AWS sends them to HTTP and AWS
/// backends alike: `Content-Type` is the media type of the request
/// template that rendered the body (the client's own when the body passed
/// through), unless a parameter mapping or the template's
/// `requestOverride` sets `Content-Type`; then the mapped headers.
fn integration_headers(request: &MappedRequest) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(request.headers.len() + 1);
    if let Some(ct) = request
        .content_type
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        headers.insert(http::header::CONTENT_TYPE, ct);
    }
    insert_pairs(&mut headers, &request.headers);
    headers
}

/// Mapped and override headers into `headers`: names or values that
/// cannot be headers, and reserved ones ([`is_reserved`]), are dropped.
/// One template can name them at run time
/// (`$context.responseOverride.header[$x]`), and a client-influenced
/// `Content-Length` on a response would split the client's connection, so
/// they are dropped here for both directions.
pub(crate) fn insert_pairs(headers: &mut HeaderMap, pairs: &[(String, String)]) {
    for (name, value) in pairs {
        let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            continue;
        };
        if is_reserved(&n) {
            tracing::debug!(header = %n, "override or mapped header is framing or hop-by-hop; dropped");
            continue;
        }
        headers.insert(n, v);
    }
}

fn is_function(target: &archway_proto::rules::aws_arn::AwsTarget) -> bool {
    matches!(
        target,
        archway_proto::rules::aws_arn::AwsTarget::Function(_)
    )
}

/// What an AWS answer's integration response is selected by, as AWS
/// selects for each kind of target: a function's error by its
/// `errorMessage` (none: empty), a function's success by nothing (the
/// default response), a service's answer by its status code.
fn selector(
    target: &archway_proto::rules::aws_arn::AwsTarget,
    answer: &crate::aws::CallAnswer,
) -> Option<String> {
    match (&answer.function_error, target) {
        (Some(error), _) => Some(error.message.clone().unwrap_or_default()),
        (None, archway_proto::rules::aws_arn::AwsTarget::Function(_)) => None,
        (None, _) => Some(answer.answer.status.as_u16().to_string()),
    }
}

/// Step 1: the integration request's body, parameters and overrides.
fn map_request<'a>(
    cx: &Context<'a>,
    target: &Target<'a>,
    mapped: &MappedIntegration,
    body: &Bytes,
) -> Result<MappedRequest, GatewayResponse> {
    let content_type = cx
        .head
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    // CONVERT_TO_TEXT: a binary payload reaches templates (and the backend)
    // as base64 text.
    let binary = function::is_binary(content_type, &mapped.binary_media_types, body);
    let payload = if mapped.content_handling == ContentHandling::ConvertToText && binary {
        Bytes::from(BASE64.encode(body))
    } else {
        body.clone()
    };
    let vars = TemplateVars::new(cx, target);
    let limits = Limits {
        max_output_bytes: cx.max_payload,
        ..Limits::default()
    };
    let (mut out_body, out_type, overrides) = match mapped.request_plan(content_type) {
        RequestBodyPlan::Unsupported => return Err(GatewayResponse::UnsupportedMediaType),
        RequestBodyPlan::Passthrough => (
            payload,
            content_type.map(str::to_owned),
            Overrides::default(),
        ),
        RequestBodyPlan::Template(key, template) => {
            let rendered = template
                .render(&vars.variables(&payload), &limits)
                .map_err(|e| {
                    tracing::warn!(error = %e, "request mapping template failed");
                    GatewayResponse::ApiConfigurationError
                })?;
            (
                Bytes::from(rendered.output),
                Some(key.to_owned()),
                rendered.overrides,
            )
        }
    };
    if mapped.content_handling == ContentHandling::ConvertToBinary {
        out_body = BASE64
            .decode(&out_body)
            .map(Bytes::from)
            .map_err(|_| GatewayResponse::ApiConfigurationError)?;
    }
    let mut request = MappedRequest {
        body: out_body,
        content_type: out_type,
        headers: Vec::new(),
        query: Vec::new(),
        path: Vec::new(),
    };
    let mut json = BodyJson::new(body);
    for p in &mapped.request_parameters {
        let Some(value) = request_value(&vars, &p.source, body, &mut json)? else {
            continue;
        };
        let list = match p.location {
            Location::Header => &mut request.headers,
            Location::QueryString => &mut request.query,
            Location::Path => &mut request.path,
        };
        set(list, &p.name, value);
    }
    // The template's requestOverride wins over the mappings, as in AWS.
    for (n, v) in overrides.request_headers {
        set(&mut request.headers, &n, v);
    }
    for (n, v) in overrides.request_querystring {
        set(&mut request.query, &n, v);
    }
    for (n, v) in overrides.request_path {
        set(&mut request.path, &n, v);
    }
    Ok(request)
}

fn set(list: &mut Vec<(String, String)>, name: &str, value: String) {
    match list.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        Some(entry) => entry.1 = value,
        None => list.push((name.to_owned(), value)),
    }
}

/// A request mapping's value; None when the source has none (the mapping
/// is then left out, as AWS leaves out absent parameters).
fn request_value(
    vars: &TemplateVars<'_, '_>,
    source: &ValueSource,
    body: &Bytes,
    json: &mut BodyJson<'_>,
) -> Result<Option<String>, GatewayResponse> {
    Ok(match source {
        ValueSource::MethodRequest(location, name) => match location {
            Location::Header => vars.header(name),
            Location::QueryString => vars.querystring(name),
            Location::Path => vars.path(name),
        }
        .map(str::to_owned),
        ValueSource::MethodRequestMultiValue(location, name) => {
            let mut values = Vec::new();
            vars.each(*location, &mut |n, v| {
                if location.same_name(n, name) {
                    values.push(v.to_owned());
                }
            });
            (!values.is_empty()).then(|| values.join(","))
        }
        ValueSource::Body => Some(String::from_utf8_lossy(body).into_owned()),
        ValueSource::BodyPath(p) => body_path(p, json)?,
        ValueSource::StageVariable(name) => {
            archway_proto::template::StageVariables::get(vars, name).map(str::to_owned)
        }
        ValueSource::Context(path) => context_text(vars, path),
        ValueSource::Constant(v) => Some(v.to_string()),
        ValueSource::ResponseHeader(_) | ValueSource::ResponseMultiValueHeader(_) => None,
    })
}

/// A body mapping's value (a JSON string unquoted); a body that is not
/// JSON is the configuration's error, as `$input.json` makes it.
fn body_path(
    path: &archway_proto::template::jsonpath::JsonPath,
    json: &mut BodyJson<'_>,
) -> Result<Option<String>, GatewayResponse> {
    json.text(path, Limits::default().max_output_bytes)
        .map_err(|e| {
            tracing::warn!(error = %e, "a body mapping failed");
            GatewayResponse::ApiConfigurationError
        })
}

fn context_text(vars: &TemplateVars<'_, '_>, path: &[Box<str>]) -> Option<String> {
    let names: Vec<&str> = path.iter().map(|s| &**s).collect();
    let v = archway_proto::template::ContextVars::get(vars, &names)?;
    Some(match v.as_str() {
        Some(s) => s.to_owned(),
        None => v.to_java_string(),
    })
}

/// An integration response's content handling over its body:
/// CONVERT_TO_TEXT base64-encodes it, CONVERT_TO_BINARY decodes it (a body
/// that is not base64 is the configuration's error), unset passes it.
/// REST and WebSocket integration responses convert alike.
pub(crate) fn convert(handling: ContentHandling, body: Bytes) -> Result<Bytes, GatewayResponse> {
    Ok(match handling {
        ContentHandling::ConvertToText => Bytes::from(BASE64.encode(&body)),
        ContentHandling::ConvertToBinary => BASE64
            .decode(&body)
            .map(Bytes::from)
            .map_err(|_| GatewayResponse::ApiConfigurationError)?,
        _ => body,
    })
}

/// MOCK: the rendered request's `statusCode` (else 200) and no body.
fn mock_answer(request: &MappedRequest) -> BackendAnswer {
    let status = mock_status(&request.body);
    BackendAnswer {
        selector: Some(status.as_u16().to_string()),
        status,
        headers: HeaderMap::new(),
        body: Bytes::new(),
    }
}

/// A MOCK's status, as AWS reads it from the rendered request template:
/// its `statusCode` when it is an object with one that is an HTTP status,
/// else 200. WebSocket routes' MOCKs read it alike.
pub(crate) fn mock_status(rendered: &[u8]) -> StatusCode {
    /// Only `statusCode` of the rendered document: the rest is skipped as
    /// it is read rather than built into a tree, which cost a mapped MOCK
    /// an allocation per value of whatever the template rendered.
    #[derive(serde::Deserialize)]
    struct MockRequest {
        #[serde(rename = "statusCode", default)]
        status_code: Option<serde_json::Number>,
    }
    // An object only (the derive would also take `[404]` as the field).
    let object = rendered.trim_ascii_start().first() == Some(&b'{');
    object
        .then(|| serde_json::from_slice::<MockRequest>(rendered).ok())
        .flatten()
        .and_then(|m| m.status_code?.as_u64())
        .and_then(|s| StatusCode::from_u16(u16::try_from(s).ok()?).ok())
        .unwrap_or(StatusCode::OK)
}

/// The backend URI: `{name}` from the mapped path parameters (else the
/// method's own of that name), stage variables, and the mapped query.
///
/// Mapped path values are decoded or free text, so each is percent-encoded
/// as one path segment (`../x` stays `..%2Fx`, `?` and `#` stay inside the
/// segment), and the mapped query is RFC 3986 encoded, as the AWS arm does.
/// Unmapped method parameters are the request path's own raw spans, still
/// encoded as the client sent them.
fn render_uri(
    cx: &Context<'_>,
    target: &Target<'_>,
    uri: &archway_proto::uri_template::UriTemplate,
    request: &MappedRequest,
) -> Result<String, GatewayResponse> {
    let method_params = cx.params();
    let encoded: Vec<(&str, String)> = request
        .path
        .iter()
        .map(|(n, v)| (n.as_str(), crate::uri_encode::path_segment(v)))
        .collect();
    let mut params: Vec<(&str, &str)> = encoded.iter().map(|(n, v)| (*n, v.as_str())).collect();
    for (n, v) in method_params.iter() {
        if !params.iter().any(|(m, _)| m == n) {
            params.push((n, v));
        }
    }
    let query =
        crate::uri_encode::query(request.query.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    super::http_proxy::render_uri(
        uri,
        &params.into_iter().collect(),
        &target.serving.variables,
        Some(&query),
    )
}

/// Step 3: the method's answer from the backend's.
fn map_response<'a>(
    cx: &Context<'a>,
    target: &Target<'a>,
    mapped: &MappedIntegration,
    answer: BackendAnswer,
) -> Result<Response<GatewayBody>, GatewayResponse> {
    let rule = match &answer.selector {
        Some(selector) => mapped.response_for(selector),
        None => mapped.default_response(),
    };
    let Some(rule) = rule else {
        if !mapped.responses.is_empty() {
            // AWS: "No match for output mapping and no default output
            // mapping" is a configuration error, a 500; passing the
            // backend's answer on would leak what the admin mapped away
            // (its 5xx bodies, stack traces, internal names).
            tracing::warn!(
                selector = answer
                    .selector
                    .as_deref()
                    .unwrap_or("(a function's success)"),
                "no integration response matches and none is the default"
            );
            return Err(GatewayResponse::ApiConfigurationError);
        }
        // No integration responses at all: the backend's answer as it is.
        // AWS would answer nothing useful here (it requires one); passing
        // through keeps a route that was never given responses working,
        // and nothing the admin mapped can leak.
        let mut response = Response::new(Either::Right(Full::new(answer.body)));
        *response.status_mut() = answer.status;
        if let Some(ct) = answer.headers.get(http::header::CONTENT_TYPE) {
            response
                .headers_mut()
                .insert(http::header::CONTENT_TYPE, ct.clone());
        }
        return Ok(response);
    };
    let vars = TemplateVars::new(cx, target);
    let mut headers = HeaderMap::new();
    let mut json = BodyJson::new(&answer.body);
    for (name, source) in &rule.parameters {
        let value = match source {
            ValueSource::ResponseHeader(h) => answer
                .headers
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            ValueSource::ResponseMultiValueHeader(h) => {
                let all: Vec<&str> = answer
                    .headers
                    .get_all(h)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect();
                (!all.is_empty()).then(|| all.join(","))
            }
            ValueSource::Body => Some(String::from_utf8_lossy(&answer.body).into_owned()),
            ValueSource::BodyPath(p) => body_path(p, &mut json)?,
            ValueSource::StageVariable(n) => {
                archway_proto::template::StageVariables::get(&vars, n).map(str::to_owned)
            }
            ValueSource::Context(path) => context_text(&vars, path),
            ValueSource::Constant(v) => Some(v.to_string()),
            ValueSource::MethodRequest(..) | ValueSource::MethodRequestMultiValue(..) => None,
        };
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            if is_reserved(name) {
                tracing::debug!(header = %name, "mapped header is framing or hop-by-hop; dropped");
                continue;
            }
            headers.insert(name.clone(), v);
        }
    }
    let accept = cx
        .head
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let mut status = rule.status;
    let (mut body, content_type) = match rule.template_for(accept) {
        Some((key, template)) => {
            let limits = Limits {
                max_output_bytes: cx.max_payload,
                ..Limits::default()
            };
            let rendered = template
                .render(&vars.variables(&answer.body), &limits)
                .map_err(|e| {
                    tracing::warn!(error = %e, "response mapping template failed");
                    GatewayResponse::ApiConfigurationError
                })?;
            let o = &rendered.overrides;
            if let Some(s) = o.response_status.and_then(|s| StatusCode::from_u16(s).ok()) {
                status = s;
            }
            insert_pairs(&mut headers, &o.response_headers);
            (
                Bytes::from(rendered.output),
                Some(HeaderValue::from_str(key).ok()),
            )
        }
        None => (
            answer.body.clone(),
            Some(answer.headers.get(http::header::CONTENT_TYPE).cloned()),
        ),
    };
    body = convert(rule.content_handling, body)?;
    if let Some(Some(ct)) = content_type
        && !headers.contains_key(http::header::CONTENT_TYPE)
    {
        headers.insert(http::header::CONTENT_TYPE, ct);
    }
    let mut response = Response::new(Either::Right(Full::new(body)));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

#[cfg(test)]
mod tests;
