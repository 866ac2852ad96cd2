//! Phase (response side): a refusal becomes its answer. Before the API and
//! stage are known (or for a private API refused to a public caller), AWS's
//! default answer ([`GatewayResponse::into_response`]); after, the API's
//! customisation when its deployment has one for the refusal's type (or
//! DEFAULT_4XX/DEFAULT_5XX), see [`crate::tables::gateway_responses`]:
//! its status, its headers (constants, the request's parameters, stage
//! variables, `$context` values) and its body for the client's `Accept`,
//! rendered as a mapping template over the request
//! ([`super::template_vars::TemplateVars`], with `$context.error.*`).
//!
//! A template that fails to render (over its bounds) answers AWS's default
//! body instead, and says so in the log: a refusal always answers.
//! `x-amzn-ErrorType` (and `Retry-After` when throttled) stay on every
//! answer, customised or not: clients and SDKs read them.

use super::GatewayBody;
use super::context::{Context, Stage};
use super::gateway_response::GatewayResponse;
use super::template_vars::TemplateVars;
use crate::media_type::media_type;
use crate::tables::gateway_responses::{HeaderSource, ResponseBody, Shape};
use archway_proto::mapping_expr::Location;
use archway_proto::template::{ContextVars, Limits, Params, StageVariables};
use bytes::Bytes;
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
        Some(shape) => customised(cx, stage, refusal, shape),
        None => refusal.into_response(),
    }
}

fn customised<'a>(
    cx: &Context<'a>,
    stage: Stage<'a>,
    refusal: &GatewayResponse,
    shape: Shape<'_>,
) -> Response<GatewayBody> {
    let vars = TemplateVars::for_stage(cx, stage, cx.observation.route).with_error(refusal);
    let (content_type, body) = match chosen_template(cx, shape) {
        Some((content_type, ResponseBody::Plain(body))) => (content_type, body.clone()),
        Some((content_type, ResponseBody::Template(template))) => {
            match template.render(&vars.variables(b""), &Limits::default()) {
                Ok(rendered) => (content_type, Bytes::from(rendered.output)),
                Err(e) => {
                    tracing::warn!(
                        api = %stage.api.id,
                        response_type = refusal.response_type(),
                        error = %e,
                        "gateway response template failed; answering AWS's default body"
                    );
                    ("application/json", refusal.default_body())
                }
            }
        }
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
        if let Some(value) = header_value(&vars, source) {
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
            .find(|(t, _)| t.eq_ignore_ascii_case(media))
            .map(|(t, b)| (&**t, b))
    };
    cx.head
        .headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|accepted| find(media_type(accepted)))
        .or_else(|| find("application/json"))
        .or_else(|| templates.first().map(|(t, b)| (&**t, b)))
}

/// A header's value, read through the request's one template view
/// ([`TemplateVars`]): parameters as mapping templates read them (path
/// parameters decoded, the last of a repeated one), `$context` and stage
/// variables the same way.
fn header_value(vars: &TemplateVars<'_, '_>, source: &HeaderSource) -> Option<HeaderValue> {
    let text = |s: &str| HeaderValue::from_str(s).ok();
    let all = |location: Location, name: &str| {
        let mut values: Vec<String> = Vec::new();
        Params::each(vars, location, &mut |n, v| {
            if location.same_name(n, name) {
                values.push(v.to_owned());
            }
        });
        (!values.is_empty()).then(|| values.join(","))
    };
    match source {
        HeaderSource::Constant(value) => Some(value.clone()),
        HeaderSource::RequestHeader(name) => text(Params::header(vars, name.as_str())?),
        HeaderSource::RequestHeaderAll(name) => text(&all(Location::Header, name.as_str())?),
        HeaderSource::RequestQuery(name) => text(Params::querystring(vars, name)?),
        HeaderSource::RequestQueryAll(name) => text(&all(Location::QueryString, name)?),
        HeaderSource::RequestPath(name) => text(Params::path(vars, name)?),
        HeaderSource::StageVariable(name) => text(StageVariables::get(vars, name)?),
        HeaderSource::Context(path) => {
            let path: Vec<&str> = path.iter().map(|p| &**p).collect();
            let value = ContextVars::get(vars, &path).filter(|v| !v.is_null())?;
            text(&value.to_java_string())
        }
    }
}
