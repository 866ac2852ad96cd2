//! Integrations: where a method's requests go (an HTTP backend) or what it
//! answers itself (a mock).

use super::http::{http_method, is_header_name, is_header_value};
use super::names::max_len;
use super::{Checked, Violation, sub};
use crate::path;
use crate::uri_template::{Piece, UriTemplate};
use crate::v1::{Integration, IntegrationType};
use crate::{MAX_INTEGRATION_TIMEOUT_MS, MIN_INTEGRATION_TIMEOUT_MS};

/// Largest integration URI, in bytes.
pub const MAX_URI_BYTES: usize = 2048;
/// Largest mock response body, in bytes.
pub const MAX_MOCK_BODY_BYTES: usize = 1 << 20;

/// Checks an integration against the path of the resource it serves, so that
/// every `{param}` in its URI is one the path provides.
pub fn integration(field: &str, integration: &Integration, resource_path: &str) -> Checked {
    let f = |name: &str| sub(field, name);
    super::stage_cache::key_parameters(
        &f("cache_key_parameters"),
        &integration.cache_key_parameters,
        resource_path,
    )?;
    if integration.timeout_ms != 0
        && !(MIN_INTEGRATION_TIMEOUT_MS..=MAX_INTEGRATION_TIMEOUT_MS)
            .contains(&integration.timeout_ms)
    {
        return Err(Violation::new(
            f("timeout_ms"),
            format!(
                "must be between {MIN_INTEGRATION_TIMEOUT_MS} and {MAX_INTEGRATION_TIMEOUT_MS} (or 0 for the default), got {}",
                integration.timeout_ms
            ),
        ));
    }
    match IntegrationType::try_from(integration.r#type) {
        Ok(IntegrationType::HttpProxy) => {
            if !integration.http_method.is_empty() {
                http_method(&f("http_method"), &integration.http_method)?;
            }
            uri(&f("uri"), &integration.uri, resource_path)
        }
        Ok(IntegrationType::Mock) => {
            let mock = integration.mock.as_ref().ok_or_else(|| {
                Violation::new(f("mock"), "a MOCK integration needs a mock response")
            })?;
            if !(100..=599).contains(&mock.status_code) {
                return Err(Violation::new(
                    f("mock.status_code"),
                    format!("must be between 100 and 599, got {}", mock.status_code),
                ));
            }
            for (name, value) in &mock.headers {
                if !is_header_name(name) {
                    return Err(Violation::new(
                        f("mock.headers"),
                        format!("'{name}' is not a valid header name"),
                    ));
                }
                if !is_header_value(value) {
                    return Err(Violation::new(
                        format!("{field}.mock.headers.{name}"),
                        "is not a valid header value (visible ASCII only)",
                    ));
                }
            }
            max_len(&f("mock.body"), &mock.body, MAX_MOCK_BODY_BYTES)
        }
        // Checked further as their rules land (issue 14, being built);
        // nodes refuse what they cannot compile.
        Ok(IntegrationType::Http | IntegrationType::Aws | IntegrationType::AwsProxy) => Ok(()),
        Ok(IntegrationType::Unspecified) => {
            Err(Violation::new(f("type"), "must be set: HTTP_PROXY or MOCK"))
        }
        Err(_) => Err(Violation::new(
            f("type"),
            format!("unknown integration type {}", integration.r#type),
        )),
    }
}

/// An HTTP_PROXY integration's URI template.
fn uri(field: &str, uri: &str, resource_path: &str) -> Checked {
    if uri.is_empty() {
        return Err(Violation::new(
            field,
            "an HTTP_PROXY integration needs a uri",
        ));
    }
    max_len(field, uri, MAX_URI_BYTES)?;
    let template = UriTemplate::parse(uri).map_err(|reason| Violation::new(field, reason))?;
    // The scheme must be visible unless a stage variable supplies the whole start.
    match template.pieces().first() {
        Some(Piece::Literal(start))
            if !start.starts_with("http://") && !start.starts_with("https://") =>
        {
            return Err(Violation::new(
                field,
                format!("'{uri}' must start with http:// or https://"),
            ));
        }
        _ => {}
    }
    // The caller's text may never choose the backend: the scheme and
    // authority come from the template and stage variables only.
    if let Some(param) = template.path_param_in_authority() {
        return Err(Violation::new(
            field,
            format!(
                "path parameter {{{param}}} is in the scheme or host part of '{uri}'; a caller could pick the backend. Put the host in the URI or a stage variable, and path parameters after the first '/'"
            ),
        ));
    }
    let available: Vec<&str> = path::param_names(resource_path).collect();
    for used in template.path_params() {
        if !available.contains(&used) {
            return Err(Violation::new(
                field,
                format!(
                    "uses path parameter {{{used}}}, which resource path '{resource_path}' does not have"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::MockResponse;

    fn field_of(v: Violation) -> String {
        v.field
    }

    #[test]
    fn uri_may_only_use_the_resource_params() {
        let integ = Integration {
            r#type: IntegrationType::HttpProxy as i32,
            uri: "http://127.0.0.1:1/pets/{petId}".into(),
            ..Default::default()
        };
        assert!(integration("method.integration", &integ, "/pets/{petId}").is_ok());
        let err = integration("method.integration", &integ, "/pets").unwrap_err();
        assert_eq!(field_of(err), "method.integration.uri");
    }

    #[test]
    fn needs_a_scheme_type_and_sane_timeout() {
        let base = Integration {
            r#type: IntegrationType::HttpProxy as i32,
            uri: "http://h/".into(),
            ..Default::default()
        };
        let cases = [
            (
                Integration {
                    uri: "ftp://h/".into(),
                    ..base.clone()
                },
                "i.uri",
            ),
            (
                Integration {
                    r#type: 0,
                    ..base.clone()
                },
                "i.type",
            ),
            (
                Integration {
                    timeout_ms: 10,
                    ..base.clone()
                },
                "i.timeout_ms",
            ),
            (
                Integration {
                    timeout_ms: 30_000,
                    ..base.clone()
                },
                "i.timeout_ms",
            ),
            (
                Integration {
                    r#type: IntegrationType::Mock as i32,
                    mock: Some(MockResponse {
                        status_code: 99,
                        ..Default::default()
                    }),
                    ..base.clone()
                },
                "i.mock.status_code",
            ),
        ];
        for (integ, field) in cases {
            assert_eq!(field_of(integration("i", &integ, "/").unwrap_err()), field);
        }
        let stage_var_host = Integration {
            uri: "${stageVariables.backend}/x".into(),
            ..base.clone()
        };
        assert!(integration("i", &stage_var_host, "/").is_ok());
        let https = Integration {
            uri: "https://h/x".into(),
            ..base
        };
        assert!(integration("i", &https, "/").is_ok());
    }

    /// Every place in the scheme or authority a caller's path parameter
    /// could take, refused with the field and the reason; stage variables
    /// there, and parameters after the authority, are fine.
    #[test]
    fn uri_keeps_path_parameters_out_of_the_host() {
        let with_uri = |uri: &str| Integration {
            r#type: IntegrationType::HttpProxy as i32,
            uri: uri.into(),
            ..Default::default()
        };
        for uri in [
            "http://{host}/x",
            "http://{host}.internal:8080/x",
            "http://127.0.0.1:{port}/x",
            "http://{user}@127.0.0.1/x",
            "http://${stageVariables.backend}{host}/x",
            "${stageVariables.base}{host}",
            "https://{proxy}",
        ] {
            let err = integration(
                "method.integration",
                &with_uri(uri),
                "/{host}/{port}/{user}/{proxy+}",
            )
            .expect_err(uri);
            assert_eq!(err.field, "method.integration.uri", "{uri}");
            assert!(
                err.reason.contains("is in the scheme or host part"),
                "{uri}: {err}"
            );
        }
        for uri in [
            "http://${stageVariables.backend}/{host}",
            "${stageVariables.base}/{proxy}",
            "https://${stageVariables.h}:${stageVariables.port}/a/{port}?u={user}",
            "http://127.0.0.1:9/{proxy}",
        ] {
            assert!(
                integration("i", &with_uri(uri), "/{host}/{port}/{user}/{proxy+}").is_ok(),
                "{uri}"
            );
        }
    }
}
