//! Browser-facing protections on every HTTP answer of the admin port. They
//! matter for the admin UI's page and assets, and are harmless on gRPC and
//! `/metrics` answers, so one layer sets them everywhere rather than a list
//! of paths that could miss one.
//!
//! The Content-Security-Policy allows only this origin's own scripts,
//! styles, fonts and API calls (no inline script or style, no third-party
//! origin, no plugins, no framing, no forms posting anywhere), so an
//! injected string in an API name cannot run as code. `data:` images are
//! allowed for icons a build inlines. Cross-Origin-Resource-Policy and
//! -Opener-Policy keep other sites from loading these answers or holding a
//! handle on the UI's window; they are not CORS, which the port never
//! answers (the UI is same-origin).

use axum::extract::State;
use axum::response::Response;
use http::{HeaderName, HeaderValue, header};

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// A year: the admin port that served TLS once keeps doing so.
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

const ALWAYS: [(&str, &str); 6] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-resource-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
];

/// Whether the port serves TLS: HSTS only then (browsers ignore it over
/// plain HTTP, and it would be a lie).
#[derive(Debug, Clone, Copy)]
pub struct Transport {
    pub tls: bool,
}

/// Axum `map_response` layer: adds the headers an answer does not set itself.
pub async fn add(State(transport): State<Transport>, mut response: Response) -> Response {
    set(response.headers_mut(), transport);
    response
}

fn set(headers: &mut http::HeaderMap, transport: Transport) {
    for (name, value) in ALWAYS {
        headers
            .entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    }
    if transport.tls {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static(STRICT_TRANSPORT_SECURITY));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_gets_the_policy_and_hsts_only_over_tls() {
        let mut plain = http::HeaderMap::new();
        set(&mut plain, Transport { tls: false });
        assert_eq!(
            plain[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(plain[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(plain[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(plain[header::X_FRAME_OPTIONS], "DENY");
        assert!(plain.get(header::STRICT_TRANSPORT_SECURITY).is_none());
        assert!(plain.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        let mut tls = http::HeaderMap::new();
        set(&mut tls, Transport { tls: true });
        assert_eq!(tls[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000");
    }

    /// The policy names no other origin and allows nothing inline.
    #[test]
    fn the_policy_is_same_origin_only() {
        for directive in CONTENT_SECURITY_POLICY.split(';') {
            for source in directive.split_whitespace().skip(1) {
                assert!(
                    ["'self'", "'none'", "data:"].contains(&source),
                    "{directive}"
                );
            }
        }
        assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'none';"));
    }
}
