//! CORS for HTTP APIs, as AWS does it when an API has a CORS configuration
//! (compiled in `compile/cors.rs`):
//!
//! - phase (request side, right after resolve, before routing and
//!   authorization): a preflight — `OPTIONS` with `Origin` and
//!   `Access-Control-Request-Method` — is answered by the gateway, 204,
//!   whether or not the API has an OPTIONS route. When the origin, the verb
//!   and every requested header are allowed, the answer carries
//!   `Access-Control-Allow-Origin/-Methods/-Headers`, `-Max-Age` and
//!   `-Allow-Credentials`; otherwise it carries none, and the browser
//!   refuses the actual request;
//! - response side, on every answer after resolve (the backend's, cache
//!   hits and refusals): `Access-Control-Allow-Origin`, `-Expose-Headers`,
//!   `-Allow-Credentials` and `Vary: Origin` for an allowed origin. The
//!   backend's own `Access-Control-*` headers are dropped, as AWS ignores
//!   them when the API has a configuration: the API's configuration is the
//!   one answer, and a backend cannot widen it.
//!
//! Ways around, and what closes them: an origin matches whole and
//! case-insensitively (a trailing slash, a suffix, another scheme or port
//! is another origin), `null` matches only `*`, and a request with two
//! `Origin` headers (or a list in one) gets no CORS headers at all.

use super::GatewayBody;
use super::context::{Context, Stage};
use crate::tables::cors::{Allowed, CorsPolicy};
use archway_proto::v1::ApiProtocol;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body_util::{Either, Full};

const TRUE: HeaderValue = HeaderValue::from_static("true");
const ANY: HeaderValue = HeaderValue::from_static("*");
const VARY_ORIGIN: HeaderValue = HeaderValue::from_static("Origin");

/// The API's CORS policy, when it is an HTTP API that has one. The
/// deployment's compile refuses CORS for a REST deployment, but the node
/// does not check that a deployment's protocol is its API's, so the API's
/// protocol decides here (`rest_apis_get_no_gateway_cors`).
fn policy<'a>(stage: &Stage<'a>) -> Option<&'a CorsPolicy> {
    if stage.api.protocol != ApiProtocol::Http {
        return None;
    }
    stage.serving.deployment.cors.as_ref()
}

/// A CORS preflight: `OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`.
fn is_preflight(head: &http::request::Parts) -> bool {
    head.method == Method::OPTIONS
        && head.headers.contains_key(ORIGIN)
        && head.headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD)
}

/// The phase: answers a preflight for an API with CORS; None: not one,
/// the request goes on to routing.
pub fn preflight(cx: &Context<'_>, stage: &Stage<'_>) -> Option<Response<GatewayBody>> {
    let policy = policy(stage)?;
    if !is_preflight(&cx.head) {
        return None;
    }
    let mut response = Response::new(Either::Right(Full::default()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    vary_by_origin(policy, response.headers_mut());
    let headers = &cx.head.headers;
    let Some(origin) = single(headers, &ORIGIN).filter(|o| policy.allows_origin(o)) else {
        return Some(response);
    };
    let Some(method) = single(headers, &ACCESS_CONTROL_REQUEST_METHOD) else {
        return Some(response);
    };
    if !policy.methods.allows(method.trim()) {
        return Some(response);
    }
    let requested: Vec<String> = headers
        .get_all(ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    if !requested.iter().all(|h| policy.headers.allows(h)) {
        return Some(response);
    }
    let out = response.headers_mut();
    allow_origin(policy, origin, out);
    let methods = match &policy.methods_value {
        Some(listed) => Some(listed.clone()),
        // `*`: the verb asked for (a literal `*` means nothing to a
        // browser sending credentials).
        None => HeaderValue::from_str(method.trim()).ok(),
    };
    if let Some(methods) = methods {
        out.insert(ACCESS_CONTROL_ALLOW_METHODS, methods);
    }
    let allowed_headers = match (&policy.headers, &policy.headers_value) {
        (Allowed::Listed(_), Some(listed)) => Some(listed.clone()),
        (Allowed::Any, _) if !requested.is_empty() => {
            HeaderValue::from_str(&requested.join(",")).ok()
        }
        _ => None,
    };
    if let Some(allowed_headers) = allowed_headers {
        out.insert(ACCESS_CONTROL_ALLOW_HEADERS, allowed_headers);
    }
    if let Some(max_age) = &policy.max_age {
        out.insert(ACCESS_CONTROL_MAX_AGE, max_age.clone());
    }
    Some(response)
}

/// The request's one `name` header (`Origin`,
/// `Access-Control-Request-Method`); None when absent, repeated or not
/// text.
fn single<'h>(headers: &'h HeaderMap, name: &http::HeaderName) -> Option<&'h str> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (Some(one), None) => one.to_str().ok(),
        _ => None,
    }
}

/// `Access-Control-Allow-Origin` (the origin itself, or `*` when any is
/// allowed and credentials are not), `-Allow-Credentials` and
/// `Vary: Origin`.
fn allow_origin(policy: &CorsPolicy, origin: &str, out: &mut HeaderMap) {
    let value = match policy.origins {
        Allowed::Any => ANY,
        Allowed::Listed(_) => match HeaderValue::from_str(origin) {
            Ok(v) => v,
            Err(_) => return,
        },
    };
    out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
    if policy.credentials {
        out.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
    }
    vary_by_origin(policy, out);
}

/// `Vary: Origin` once, when the answer depends on the origin (listed
/// origins): on every answer of the API, allowed origin or not, so a
/// shared cache never serves one origin's answer to another.
fn vary_by_origin(policy: &CorsPolicy, out: &mut HeaderMap) {
    if policy.origins == Allowed::Any {
        return;
    }
    let listed = out.get_all(VARY).iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("origin") || t.trim() == "*")
        })
    });
    if !listed {
        out.append(VARY, VARY_ORIGIN);
    }
}

/// The response side: every answer of an API with CORS (except the
/// gateway's own preflight answers, made whole above) loses the backend's
/// `Access-Control-*` headers and gains the API's for an allowed origin.
pub fn add_headers(cx: &Context<'_>, response: &mut Response<GatewayBody>) {
    let Some(policy) = cx.resolved.as_ref().and_then(policy) else {
        return;
    };
    if is_preflight(&cx.head) {
        return;
    }
    let out = response.headers_mut();
    for name in [
        ACCESS_CONTROL_ALLOW_ORIGIN,
        ACCESS_CONTROL_ALLOW_CREDENTIALS,
        ACCESS_CONTROL_EXPOSE_HEADERS,
        ACCESS_CONTROL_ALLOW_METHODS,
        ACCESS_CONTROL_ALLOW_HEADERS,
        ACCESS_CONTROL_MAX_AGE,
    ] {
        out.remove(name);
    }
    let Some(origin) = single(&cx.head.headers, &ORIGIN).filter(|o| policy.allows_origin(o)) else {
        vary_by_origin(policy, out);
        return;
    };
    allow_origin(policy, origin, out);
    if let Some(expose) = &policy.expose_headers {
        out.insert(ACCESS_CONTROL_EXPOSE_HEADERS, expose.clone());
    }
}
