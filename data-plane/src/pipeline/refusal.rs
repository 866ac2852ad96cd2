//! Phase (response side): a refusal becomes its answer. Before the API and
//! stage are known (or for a private API refused to a public caller), AWS's
//! default answer ([`GatewayResponse::into_response`]); after, the API's
//! customisation when its deployment has one for the refusal's type (or
//! DEFAULT_4XX/DEFAULT_5XX), see [`crate::tables::gateway_responses`]:
//! its status, its headers (constants, the request's parameters, stage
//! variables, `$context` values) and its body for the client's `Accept`.
//!
//! `x-amzn-ErrorType` (and `Retry-After` when throttled) stay on every
//! answer, customised or not: clients and SDKs read them.

use super::GatewayBody;
use super::context::{Context, Stage};
use super::gateway_response::GatewayResponse;
use crate::tables::gateway_responses::{ContextValue, HeaderSource, ResponseBody, Shape};
use crate::tables::validation::media_type;
use http::{HeaderValue, Response, header};
use http_body_util::{Either, Full};

/// The phase.
pub fn answer(cx: &Context<'_>, refusal: &GatewayResponse) -> Response<GatewayBody> {
    let Some(stage) = cx.resolved else {
        return refusal.into_response();
    };
    let table = &stage.serving.deployment.gateway_responses;
    if table.is_empty() {
        return refusal.into_response();
    }
    match table.shape(refusal.response_type(), refusal.default_status()) {
        Some(shape) => customised(cx, &stage, refusal, shape),
        None => refusal.into_response(),
    }
}

fn customised(
    cx: &Context<'_>,
    stage: &Stage<'_>,
    refusal: &GatewayResponse,
    shape: Shape<'_>,
) -> Response<GatewayBody> {
    let (content_type, body) = match chosen_template(cx, shape) {
        Some((content_type, ResponseBody::Plain(body))) => (content_type, body.clone()),
        None => ("application/json", refusal.default_body()),
    };
    let mut response = Response::new(Either::Right(Full::new(body)));
    *response.status_mut() = shape.status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/json")),
    );
    for (name, source) in &shape.custom.headers {
        // A value the request does not have (or that is not a header
        // value) leaves the header out, as AWS does.
        if let Some(value) = header_value(cx, stage, refusal, source) {
            headers.insert(name.clone(), value);
        }
    }
    refusal.add_error_headers(headers);
    response
}

/// The template for the first media type of the client's `Accept` that has
/// one; else `application/json`'s; else the first.
fn chosen_template<'s>(cx: &Context<'_>, shape: Shape<'s>) -> Option<(&'s str, &'s ResponseBody)> {
    let templates = &shape.custom.templates;
    let find = |media: &str| {
        templates
            .iter()
            .find(|(t, _)| **t == *media)
            .map(|(t, b)| (&**t, b))
    };
    cx.head
        .headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|accepted| find(&media_type(accepted)))
        .or_else(|| find("application/json"))
        .or_else(|| templates.first().map(|(t, b)| (&**t, b)))
}

fn header_value(
    cx: &Context<'_>,
    stage: &Stage<'_>,
    refusal: &GatewayResponse,
    source: &HeaderSource,
) -> Option<HeaderValue> {
    let text = |s: &str| HeaderValue::from_str(s).ok();
    match source {
        HeaderSource::Constant(value) => Some(value.clone()),
        HeaderSource::RequestHeader(name) => {
            cx.head.headers.get_all(name).iter().next_back().cloned()
        }
        HeaderSource::RequestHeaderAll(name) => {
            let values: Vec<&str> = cx
                .head
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            (!values.is_empty()).then(|| text(&values.join(",")))?
        }
        HeaderSource::RequestQuery(name) => {
            let query = cx.head.uri.query()?;
            let value = form_urlencoded::parse(query.as_bytes())
                .filter(|(n, _)| n == &**name)
                .last()?
                .1;
            text(&value)
        }
        HeaderSource::RequestQueryAll(name) => {
            let query = cx.head.uri.query()?;
            let values: Vec<_> = form_urlencoded::parse(query.as_bytes())
                .filter(|(n, _)| n == &**name)
                .map(|(_, v)| v)
                .collect();
            (!values.is_empty()).then(|| text(&values.join(",")))?
        }
        HeaderSource::RequestPath(name) => {
            let params = cx.params();
            let value = params.iter().find(|(n, _)| *n == &**name)?.1;
            text(value)
        }
        HeaderSource::StageVariable(name) => text(stage.serving.variables.get(&**name)?),
        HeaderSource::Context(value) => context_value(cx, stage, refusal, *value),
    }
}

fn context_value(
    cx: &Context<'_>,
    stage: &Stage<'_>,
    refusal: &GatewayResponse,
    value: ContextValue,
) -> Option<HeaderValue> {
    let text = |s: &str| HeaderValue::from_str(s).ok();
    match value {
        ContextValue::RequestId => Some(cx.observation.request_id_header()),
        ContextValue::ApiId => text(&stage.api.id),
        ContextValue::Stage => text(&stage.stage.name),
        ContextValue::HttpMethod => text(cx.head.method.as_str()),
        ContextValue::ResourcePath => text(&cx.observation.route?.resource_path),
        ContextValue::ResourceId => text(&cx.observation.route?.resource_id),
        ContextValue::Path => text(cx.path()),
        ContextValue::DomainName => cx.head.headers.get(header::HOST).cloned(),
        ContextValue::AccountId => text(&cx.tables.account_id),
        ContextValue::SourceIp => Some(cx.client.ip_header.clone()),
        ContextValue::UserAgent => cx.head.headers.get(header::USER_AGENT).cloned(),
        ContextValue::ErrorMessage => text(refusal.message()),
        ContextValue::ErrorMessageString => text(&refusal.message_string()),
        ContextValue::ErrorResponseType => text(refusal.response_type()),
        ContextValue::ErrorValidationErrorString => text(refusal.validation_error_string()),
    }
}
