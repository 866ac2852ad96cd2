//! Compiles an HTTP API's CORS configuration (copied into its deployment)
//! into the [`CorsPolicy`] the pipeline's `cors` phase applies. The
//! configuration is checked by the shared rules first
//! ([`archway_proto::rules::cors`], as the admin API checks it: `*` origins
//! with credentials, origins that are not `scheme://host[:port]`, verbs and
//! header names, a max age over a day, a REST API with one), then its lists
//! are normalised once so a request compares without allocating.

use crate::tables::cors::{Allowed, CorsPolicy};
use archway_proto::rules;
use archway_proto::v1::{ApiProtocol, CorsConfiguration};
use http::HeaderValue;

/// None: no CORS (no configuration, or one that allows no origin), and
/// the API's own routes answer preflights like any other request.
pub fn compile(
    config: Option<&CorsConfiguration>,
    protocol: ApiProtocol,
) -> Result<Option<CorsPolicy>, String> {
    let Some(c) = config.filter(|c| **c != CorsConfiguration::default()) else {
        return Ok(None);
    };
    rules::cors::cors("cors_configuration", c, protocol).map_err(|v| v.to_string())?;
    if c.allow_origins.is_empty() {
        return Ok(None);
    }
    let origins = allowed(&c.allow_origins, str::to_ascii_lowercase);
    let methods = allowed(&c.allow_methods, str::to_ascii_uppercase);
    let headers = allowed(&c.allow_headers, str::to_ascii_lowercase);
    let max_age = c.max_age_seconds.map(HeaderValue::from);
    Ok(Some(CorsPolicy {
        methods_value: joined(&methods)?,
        headers_value: joined(&headers)?,
        expose_headers: if c.expose_headers.is_empty() {
            None
        } else {
            Some(header_value(&c.expose_headers.join(","))?)
        },
        origins,
        methods,
        headers,
        max_age,
        credentials: c.allow_credentials,
    }))
}

/// `*` anywhere in the list allows anything; otherwise each entry,
/// normalised by `each`.
fn allowed(list: &[String], each: impl Fn(&str) -> String) -> Allowed {
    if list.iter().any(|v| v.trim() == "*") {
        return Allowed::Any;
    }
    Allowed::Listed(list.iter().map(|v| each(v.trim()).into()).collect())
}

fn joined(allowed: &Allowed) -> Result<Option<HeaderValue>, String> {
    match allowed {
        Allowed::Any => Ok(None),
        Allowed::Listed(list) if list.is_empty() => Ok(None),
        Allowed::Listed(list) => header_value(&list.join(",")).map(Some),
    }
}

fn header_value(text: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(text)
        .map_err(|_| format!("cors_configuration: '{text}' is not a header value"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CorsConfiguration {
        CorsConfiguration {
            allow_origins: vec![
                "https://App.example.com".into(),
                "http://127.0.0.1:8080".into(),
            ],
            allow_methods: vec!["GET".into(), "put".into()],
            allow_headers: vec!["X-Tenant".into(), "content-type".into()],
            expose_headers: vec!["x-request-id".into()],
            max_age_seconds: Some(600),
            allow_credentials: true,
        }
    }

    #[test]
    fn lists_are_normalised_and_fixed_values_made_once() {
        let policy = compile(Some(&config()), ApiProtocol::Http)
            .unwrap()
            .unwrap();
        assert!(policy.allows_origin("https://app.example.com"));
        assert!(policy.allows_origin("https://APP.example.com"));
        assert!(policy.headers.allows("x-tenant"));
        assert!(policy.methods.allows("PUT") && !policy.methods.allows("put"));
        assert_eq!(policy.methods_value.unwrap(), "GET,PUT");
        assert_eq!(policy.headers_value.unwrap(), "x-tenant,content-type");
        assert_eq!(policy.expose_headers.unwrap(), "x-request-id");
        assert_eq!(policy.max_age.unwrap(), "600");
        assert!(policy.credentials);
    }

    #[test]
    fn origins_match_whole_never_by_prefix_suffix_or_null() {
        let policy = compile(Some(&config()), ApiProtocol::Http)
            .unwrap()
            .unwrap();
        for other in [
            "https://app.example.com/",
            "https://app.example.com.evil.test",
            "https://evil.app.example.com",
            "http://app.example.com",
            "https://app.example.com:443",
            "https://app.example.com, http://127.0.0.1:8080",
            "null",
            "",
        ] {
            assert!(!policy.allows_origin(other), "{other}");
        }
        let any = compile(
            Some(&CorsConfiguration {
                allow_origins: vec!["*".into()],
                ..Default::default()
            }),
            ApiProtocol::Http,
        )
        .unwrap()
        .unwrap();
        assert!(any.allows_origin("null") && any.allows_origin("https://x.test"));
        assert!(any.methods_value.is_none() && any.headers_value.is_none());
    }

    #[test]
    fn no_origins_is_no_cors() {
        assert!(compile(None, ApiProtocol::Http).unwrap().is_none());
        let empty = CorsConfiguration::default();
        assert!(compile(Some(&empty), ApiProtocol::Http).unwrap().is_none());
        assert!(compile(Some(&empty), ApiProtocol::Rest).unwrap().is_none());
    }

    #[test]
    fn the_shared_rules_refuse_with_the_field() {
        let refused = |c: CorsConfiguration, protocol| compile(Some(&c), protocol).unwrap_err();
        let e = refused(
            CorsConfiguration {
                allow_origins: vec!["*".into()],
                allow_credentials: true,
                ..Default::default()
            },
            ApiProtocol::Http,
        );
        assert!(
            e.starts_with("cors_configuration.allow_credentials: "),
            "{e}"
        );
        for bad in ["null", "https://a.test/", "a.test", "https://a.test/x"] {
            let e = refused(
                CorsConfiguration {
                    allow_origins: vec!["https://ok.test".into(), bad.into()],
                    ..Default::default()
                },
                ApiProtocol::Http,
            );
            assert!(
                e.starts_with("cors_configuration.allow_origins[1]: "),
                "{e}"
            );
        }
        let e = refused(config(), ApiProtocol::Rest);
        assert!(
            e.contains("only HTTP APIs have a CORS configuration"),
            "{e}"
        );
        let e = refused(
            CorsConfiguration {
                max_age_seconds: Some(rules::cors::MAX_AGE_SECONDS + 1),
                ..config()
            },
            ApiProtocol::Http,
        );
        assert!(e.starts_with("cors_configuration.max_age_seconds"), "{e}");
    }
}
