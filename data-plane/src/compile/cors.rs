//! Compiles an HTTP API's CORS configuration (copied into its deployment)
//! into the [`CorsPolicy`] the pipeline's `cors` phase applies. What a
//! browser could be tricked by is refused here, with the field: `*` origins
//! with credentials (as AWS refuses it), origins that are not
//! `scheme://host[:port]` (a path, a trailing slash, `null`), verbs and
//! header names that are not tokens, a max age over a day.

use crate::tables::cors::{Allowed, CorsPolicy};
use archway_proto::v1::CorsConfiguration;
use http::HeaderValue;

/// AWS's ceiling for `maxAge`: a day.
pub const MAX_AGE_SECONDS: u32 = 86_400;

/// None: no CORS (no configuration, or one that allows no origin), and
/// the API's own routes answer preflights like any other request.
pub fn compile(config: Option<&CorsConfiguration>) -> Result<Option<CorsPolicy>, String> {
    let Some(c) = config else {
        return Ok(None);
    };
    if c.allow_origins.is_empty() {
        return Ok(None);
    }
    let origins = allowed("cors_configuration.allow_origins", &c.allow_origins, |o| {
        origin(o).map(|()| o.to_ascii_lowercase())
    })?;
    if c.allow_credentials && origins == Allowed::Any {
        return Err("cors_configuration: allow_credentials cannot be used with '*' origins".into());
    }
    let methods = allowed("cors_configuration.allow_methods", &c.allow_methods, |m| {
        token(m).map(|()| m.to_owned())
    })?;
    let headers = allowed("cors_configuration.allow_headers", &c.allow_headers, |h| {
        token(h).map(|()| h.to_ascii_lowercase())
    })?;
    for (i, h) in c.expose_headers.iter().enumerate() {
        if h != "*" {
            token(h).map_err(|r| format!("cors_configuration.expose_headers[{i}]: {r}"))?;
        }
    }
    let max_age = match c.max_age_seconds {
        Some(s) if s > MAX_AGE_SECONDS => {
            return Err(format!(
                "cors_configuration.max_age_seconds: {s} is over {MAX_AGE_SECONDS}"
            ));
        }
        Some(s) => Some(HeaderValue::from(s)),
        None => None,
    };
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

/// `*` anywhere in the list allows anything; otherwise each entry is
/// checked and normalised by `each`.
fn allowed(
    field: &str,
    list: &[String],
    each: impl Fn(&str) -> Result<String, String>,
) -> Result<Allowed, String> {
    if list.iter().any(|v| v.trim() == "*") {
        return Ok(Allowed::Any);
    }
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            each(v.trim())
                .map(Into::into)
                .map_err(|r| format!("{field}[{i}]: {r}"))
        })
        .collect::<Result<Box<[Box<str>]>, _>>()
        .map(Allowed::Listed)
}

fn joined(allowed: &Allowed) -> Result<Option<HeaderValue>, String> {
    match allowed {
        Allowed::Any => Ok(None),
        Allowed::Listed(list) if list.is_empty() => Ok(None),
        Allowed::Listed(list) => header_value(&list.join(",")).map(Some),
    }
}

fn header_value(text: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(text).map_err(|_| format!("'{text}' is not a header value"))
}

/// `scheme://host[:port]`, exactly as a browser sends it in `Origin`.
fn origin(text: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("'{text}' is not an origin ({why})"));
    let Some((scheme, rest)) = text.split_once("://") else {
        return bad("scheme://host[:port] expected");
    };
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return bad("bad scheme");
    }
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ', '*']) {
        return bad("no path, trailing slash, credentials or wildcard");
    }
    Ok(())
}

/// An HTTP token: a verb or header name.
fn token(text: &str) -> Result<(), String> {
    let ok = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!("'{text}' is not a token"))
    }
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
            allow_methods: vec!["GET".into(), "PUT".into()],
            allow_headers: vec!["X-Tenant".into(), "content-type".into()],
            expose_headers: vec!["x-request-id".into()],
            max_age_seconds: Some(600),
            allow_credentials: true,
        }
    }

    #[test]
    fn lists_are_normalised_and_fixed_values_made_once() {
        let policy = compile(Some(&config())).unwrap().unwrap();
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
        let policy = compile(Some(&config())).unwrap().unwrap();
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
        let any = compile(Some(&CorsConfiguration {
            allow_origins: vec!["*".into()],
            ..Default::default()
        }))
        .unwrap()
        .unwrap();
        assert!(any.allows_origin("null") && any.allows_origin("https://x.test"));
        assert!(any.methods_value.is_none() && any.headers_value.is_none());
    }

    #[test]
    fn no_origins_is_no_cors() {
        assert!(compile(None).unwrap().is_none());
        assert!(
            compile(Some(&CorsConfiguration::default()))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn what_a_browser_could_be_tricked_by_is_refused_with_the_field() {
        let refused = |c: CorsConfiguration| compile(Some(&c)).unwrap_err();
        let e = refused(CorsConfiguration {
            allow_origins: vec!["*".into()],
            allow_credentials: true,
            ..Default::default()
        });
        assert!(
            e.contains("allow_credentials cannot be used with '*' origins"),
            "{e}"
        );
        for bad in [
            "null",
            "https://a.test/",
            "a.test",
            "https://*.a.test",
            "https://a.test/x",
        ] {
            let e = refused(CorsConfiguration {
                allow_origins: vec!["https://ok.test".into(), bad.into()],
                ..Default::default()
            });
            assert!(
                e.starts_with("cors_configuration.allow_origins[1]: "),
                "{e}"
            );
        }
        let e = refused(CorsConfiguration {
            allow_origins: vec!["https://ok.test".into()],
            allow_headers: vec!["bad header".into()],
            ..Default::default()
        });
        assert!(
            e.starts_with("cors_configuration.allow_headers[0]: "),
            "{e}"
        );
        let e = refused(CorsConfiguration {
            max_age_seconds: Some(MAX_AGE_SECONDS + 1),
            ..config()
        });
        assert!(e.starts_with("cors_configuration.max_age_seconds"), "{e}");
    }
}
