//! HTTP_PROXY integrations: the request goes to the rendered backend URI as
//! it came — verb, headers (minus hop-by-hop ones), query string and a
//! streamed body — and the backend's answer streams back unchanged.
//!
//! The integration timeout covers the wait for the backend's response head;
//! the body then streams for as long as it takes. Request bodies are capped
//! while they stream, so a chunked upload cannot exceed the payload limit.

use super::GatewayBody;
use super::gateway_response::GatewayResponse;
use super::headers::{ClientInfo, add_forwarded};
use crate::body::RequestBody;
use crate::hop_by_hop::strip_hop_by_hop;
use crate::principal::Principal;
use crate::routes::Params;
use crate::telemetry::propagation;

/// The authorized caller's `sub`, for the integration.
pub const PRINCIPAL_HEADER: &str = "x-archway-principal";
/// The authorized caller's claims as JSON, for the integration.
pub const CLAIMS_HEADER: &str = "x-archway-claims";
/// A custom authorizer's context as JSON, for the integration.
pub const CONTEXT_HEADER: &str = "x-archway-authorizer-context";
use crate::upstream::{Destination, RequestHead, SendLimits, Upstream, UpstreamError};
use archway_proto::uri_template::{self, UriTemplate};
use http::Response;
use http_body_util::Either;
use opentelemetry::trace::SpanContext;
use std::collections::HashMap;
use std::time::Duration;

/// Renders the backend URI from the template, the path parameters, the
/// stage variables, and appends the client's query string. Refuses (as a
/// configuration error, 500) a URI in which a path parameter, the caller's
/// text, landed in the scheme or authority: the control plane refuses such
/// templates, but a stage variable can hide where the authority ends. The
/// rest is checked when it is used ([`Destination::parse`]).
pub fn render_uri(
    template: &UriTemplate,
    params: &Params<'_, '_>,
    variables: &HashMap<Box<str>, Box<str>>,
    query: Option<&str>,
) -> Result<String, GatewayResponse> {
    let mut uri = String::new();
    let first_param = template.render(
        &mut uri,
        |name| params.iter().find(|(n, _)| *n == name).map(|(_, v)| *v),
        |name| variables.get(name).map(|v| &**v),
    );
    if !uri_template::params_stay_out_of_authority(&uri, first_param) {
        tracing::warn!(
            uri,
            "a path parameter would be part of the integration URI's scheme or authority; refused"
        );
        return Err(GatewayResponse::ApiConfigurationError);
    }
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        uri.push(if uri.contains('?') { '&' } else { '?' });
        uri.push_str(query);
    }
    Ok(uri)
}

pub struct Forward<'a> {
    pub upstream: &'a Upstream,
    /// The request's span, continued in the backend request's `traceparent`.
    pub trace: Option<&'a SpanContext>,
    /// Who the authorizer found the caller to be.
    pub principal: Option<&'a std::sync::Arc<Principal>>,
    pub method: Option<&'a http::Method>,
    /// The rendered integration URI.
    pub uri: &'a str,
    pub timeout: Duration,
    pub client: &'a ClientInfo,
    pub max_payload: usize,
}

/// Sends the request to the backend: `head`'s headers are made the
/// backend request's in place (hop-by-hop and client-claimed gateway
/// headers out, forwarding and identity headers in), so nothing is copied.
pub async fn forward(
    f: Forward<'_>,
    parts: &mut http::request::Parts,
    body: RequestBody,
) -> Result<Response<GatewayBody>, GatewayResponse> {
    let dest = Destination::parse(f.uri).map_err(|e| {
        tracing::warn!(uri = f.uri, error = %e, "integration URI cannot be used");
        GatewayResponse::ApiConfigurationError
    })?;
    backend_headers(&f, &mut parts.headers);
    let head = RequestHead {
        method: f.method.unwrap_or(&parts.method),
        headers: &parts.headers,
    };
    let limits = SendLimits {
        max_body: f.max_payload,
        // The route's timeout bounds the wait for the head, and each
        // silence in the middle of the body.
        head_timeout: f.timeout,
        read_idle: f.timeout,
    };
    let response = match f.upstream.send(&dest, &head, body, limits).await {
        Err(UpstreamError::TimedOut(_)) => return Err(GatewayResponse::IntegrationTimeout),
        Err(UpstreamError::RequestTooLarge) => return Err(GatewayResponse::RequestTooLarge),
        Err(UpstreamError::ClientBody(e)) => {
            tracing::debug!(error = %e, "the client's request body failed");
            return Err(GatewayResponse::BadRequest);
        }
        Err(e) => {
            tracing::warn!(error = %e, "integration failed");
            return Err(GatewayResponse::IntegrationFailure);
        }
        Ok(response) => response,
    };
    // Hop-by-hop headers were left out when the head was read.
    let (parts, body) = response.into_parts();
    Ok(Response::from_parts(
        parts,
        Either::Left(Either::Left(body)),
    ))
}

/// Makes the client's headers the backend request's, in place: hop-by-hop
/// and client-claimed gateway headers out, forwarding, trace and identity
/// headers in. The client's Host is not forwarded: the upstream client
/// writes the backend's own, from the URI.
pub(super) fn backend_headers(f: &Forward<'_>, headers: &mut http::HeaderMap) {
    strip_hop_by_hop(headers);
    add_forwarded(headers, f.client);
    if let Some(trace) = f.trace {
        propagation::inject(trace, headers);
    }
    // Only the gateway speaks for the caller: drop what the client claimed.
    remove_gateway_headers(headers);
    if let Some(p) = f.principal {
        for (name, value) in [
            (PRINCIPAL_HEADER, &p.subject),
            (CLAIMS_HEADER, &p.claims),
            (CONTEXT_HEADER, &p.context),
        ] {
            if let Some(value) = value {
                headers.insert(name, value.clone());
            }
        }
    }
}

/// Removes every `x-archway-*` header a client sent, also spelled with
/// `_` for `-` (CGI, WSGI and PHP backends read `x_archway_principal` as
/// the same variable as `x-archway-principal`); the `_` spellings of the
/// forwarding headers the gateway sets (`x_real_ip`, `x_forwarded_for`,
/// `x_forwarded_proto`), which those backends could read in place of the
/// gateway's; and `X-Original-URL` / `X-Rewrite-URL` in any spelling,
/// which IIS's URL Rewrite and some frameworks (Symfony, Zend) serve in
/// place of the request's path: a request for `/public` carrying
/// `X-Original-URL: /admin` would reach `/admin` past a Deny on it; and the
/// client's `X-Forwarded-Host`, `-Port` and `-Prefix` in any spelling, which
/// frameworks trust to build absolute URLs (host-header poisoning) and
/// the gateway does not set.
pub(crate) fn remove_gateway_headers(headers: &mut http::HeaderMap) {
    const PREFIX: &[u8] = b"x-archway-";
    const FORWARDING: [&[u8]; 3] = [b"x-real-ip", b"x-forwarded-for", b"x-forwarded-proto"];
    const CLAIMS: [&[u8]; 5] = [
        b"x-original-url",
        b"x-rewrite-url",
        b"x-forwarded-host",
        b"x-forwarded-port",
        b"x-forwarded-prefix",
    ];
    let same = |(a, b): (&u8, &u8)| *a == *b || (*a == b'_' && *b == b'-');
    let spells = |name: &[u8], of: &[u8]| name.len() == of.len() && name.iter().zip(of).all(same);
    let is_gateway = |name: &http::HeaderName| {
        let name = name.as_str().as_bytes();
        (name.len() > PREFIX.len() && name[..PREFIX.len()].iter().zip(PREFIX).all(same))
            // Lengths first: most names are ruled out without a scan.
            || (FORWARDING.iter().any(|f| spells(name, f)) && name.contains(&b'_'))
            || CLAIMS.iter().any(|f| spells(name, f))
    };
    if !headers.keys().any(is_gateway) {
        return;
    }
    let names: Vec<http::HeaderName> = headers.keys().filter(|n| is_gateway(n)).cloned().collect();
    for name in names {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str, value: &'static str, base: &str) -> Result<String, GatewayResponse> {
        let template = UriTemplate::parse(template).unwrap();
        let mut params = Params::new();
        params.push(("p", value));
        let variables: HashMap<Box<str>, Box<str>> = [("base".into(), base.into())].into();
        render_uri(&template, &params, &variables, Some("q=1"))
    }

    /// Whatever a path parameter holds, the backend's host and port are the
    /// template's: a value rendered after the authority stays in the path,
    /// and a value the template would let into the authority is refused.
    #[test]
    fn a_path_parameter_never_moves_the_backend_host() {
        for value in ["@evil.test", "evil.test", ":1", "x%2F@evil.test", "a@b:1"] {
            let uri = render("http://127.0.0.1:9/pets/{p}", value, "").unwrap();
            let dest = Destination::parse(&uri).unwrap();
            assert_eq!((dest.host, dest.port), ("127.0.0.1", 9), "{uri}");
            let uri = render("${stageVariables.base}/{p}", value, "http://127.0.0.1:9").unwrap();
            let dest = Destination::parse(&uri).unwrap();
            assert_eq!((dest.host, dest.port), ("127.0.0.1", 9), "{uri}");
        }
        for value in ["@evil.test", ".evil.test", ":1", "/x", ""] {
            assert_eq!(
                render("${stageVariables.base}{p}", value, "http://127.0.0.1"),
                Err(GatewayResponse::ApiConfigurationError),
                "{value}"
            );
        }
    }

    #[test]
    fn client_sent_gateway_headers_go_in_every_spelling() {
        let mut headers = http::HeaderMap::new();
        for name in [
            "x-archway-principal",
            "x_archway_principal",
            "x-archway_claims",
            "x_archway-authorizer-context",
            "x-archwayish",
            "x-api-key",
            "x_real_ip",
            "x-real_ip",
            "x_forwarded_for",
            "x_forwarded-proto",
            "x_forwarded_host",
            "x-original-url",
            "x_original_url",
            "x-forwarded-host",
            "x_forwarded_port",
            "x-forwarded-prefix",
            "x-rewrite-url",
            "x-rewrite_url",
        ] {
            headers.insert(http::HeaderName::from_static(name), "v".parse().unwrap());
        }
        remove_gateway_headers(&mut headers);
        let left: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
        assert_eq!(left.len(), 2, "{left:?}");
        assert!(left.contains(&"x-archwayish") && left.contains(&"x-api-key"));
    }

    #[test]
    fn identities_outside_ascii_reach_the_backend_escaped() {
        use crate::principal::ascii_header_value;
        assert_eq!(ascii_header_value("alice"), "alice");
        assert_eq!(ascii_header_value("José"), "Jos%C3%A9");
        let json = ascii_header_value(r#"{"name":"José 😀"}"#);
        let back: serde_json::Value = serde_json::from_slice(json.as_bytes()).unwrap();
        assert_eq!(back["name"], "José 😀");
    }
}
