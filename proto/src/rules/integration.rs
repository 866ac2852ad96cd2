//! Integrations: where a method's requests go (an HTTP backend, a function,
//! an AWS service) or what it answers itself (a mock), and how requests and
//! responses are mapped on the way.

use super::aws_arn;
use super::http::{http_method, is_header_name, is_header_value};
use super::names::max_len;
use super::template::Parsing;
use super::{Checked, Violation, sub};
use crate::path;
use crate::uri_template::{Piece, UriTemplate};
use crate::v1::{Integration, IntegrationType, PassthroughBehavior};

pub use super::mapping::Scope;
use crate::{MAX_INTEGRATION_TIMEOUT_MS, MIN_INTEGRATION_TIMEOUT_MS};

/// Largest integration URI, in bytes.
pub const MAX_URI_BYTES: usize = 2048;
/// Largest mock response body, in bytes.
pub const MAX_MOCK_BODY_BYTES: usize = 1 << 20;

/// Checks an integration against the path of the resource it serves, so that
/// every `{param}` in its URI is one the path provides. Without the API's
/// protocol or the method: see [`integration_in`].
pub fn integration(field: &str, integration: &Integration, resource_path: &str) -> Checked {
    integration_in(field, integration, &Scope::path(resource_path))
}

/// Checks an integration where it is used: its resource's path, its API's
/// protocol (HTTP APIs' forms, payload format 2.0, subtypes) and, when
/// known, its method's declarations (mapped method parameters, method
/// responses).
pub fn integration_in(field: &str, integration: &Integration, scope: &Scope<'_>) -> Checked {
    checked(field, integration, scope, Parsing::Here)
}

/// [`integration_in`] without parsing the templates or compiling the
/// selection patterns (their sizes are still checked), for a caller whose
/// compiler parses them anyway and refuses with the same parser's errors
/// (the node: one parse per template on each plane, not two on the node).
pub fn integration_unparsed(field: &str, integration: &Integration, scope: &Scope<'_>) -> Checked {
    checked(field, integration, scope, Parsing::ByCompiler)
}

fn checked(field: &str, integration: &Integration, scope: &Scope<'_>, parsing: Parsing) -> Checked {
    let f = |name: &str| sub(field, name);
    let resource_path = scope.resource_path;
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
    let kind = match IntegrationType::try_from(integration.r#type) {
        Ok(IntegrationType::Unspecified) => {
            return Err(Violation::new(
                f("type"),
                "must be set: HTTP_PROXY, MOCK, HTTP, AWS or AWS_PROXY",
            ));
        }
        Ok(kind) => kind,
        Err(_) => {
            return Err(Violation::new(
                f("type"),
                format!("unknown integration type {}", integration.r#type),
            ));
        }
    };
    let name = kind.as_str_name().trim_start_matches("INTEGRATION_TYPE_");
    let signs = matches!(kind, IntegrationType::Aws | IntegrationType::AwsProxy);
    let maps = matches!(
        kind,
        IntegrationType::Http | IntegrationType::Aws | IntegrationType::Mock
    );
    // Fields only some types use: refused elsewhere, so that nothing set is
    // silently ignored.
    if !signs {
        for (set, which) in [
            (!integration.credentials.is_empty(), "credentials"),
            (!integration.endpoint_url.is_empty(), "endpoint_url"),
        ] {
            if set {
                return Err(Violation::new(
                    f(which),
                    format!("only AWS and AWS_PROXY integrations take {which}, not {name}"),
                ));
            }
        }
    }
    if !integration.integration_subtype.is_empty() && kind != IntegrationType::AwsProxy {
        return Err(Violation::new(
            f("integration_subtype"),
            format!("only AWS_PROXY integrations (of HTTP APIs) take a subtype, not {name}"),
        ));
    }
    if !maps {
        for (set, which) in [
            (
                !integration.request_templates.is_empty(),
                "request_templates",
            ),
            (
                !integration.integration_responses.is_empty(),
                "integration_responses",
            ),
            (
                integration.passthrough_behavior != 0,
                "passthrough_behavior",
            ),
        ] {
            if set {
                return Err(Violation::new(
                    f(which),
                    format!(
                        "a {name} integration passes requests and responses through; {which} are for HTTP, AWS and MOCK integrations"
                    ),
                ));
            }
        }
    }
    payload_format_version(&f("payload_format_version"), integration, kind, scope)?;
    credentials(&f("credentials"), &integration.credentials)?;
    if !integration.endpoint_url.is_empty() {
        endpoint_url(&f("endpoint_url"), &integration.endpoint_url)?;
    }
    PassthroughBehavior::try_from(integration.passthrough_behavior).map_err(|_| {
        Violation::new(
            f("passthrough_behavior"),
            format!(
                "unknown passthrough behavior {}; use WHEN_NO_MATCH, WHEN_NO_TEMPLATES or NEVER",
                integration.passthrough_behavior
            ),
        )
    })?;
    super::mapping::content_handling(&f("content_handling"), integration.content_handling)?;
    let path_targets = if !integration.integration_subtype.is_empty() {
        if scope.is_rest_api() {
            return Err(Violation::new(
                f("integration_subtype"),
                "integration subtypes are for HTTP APIs; REST APIs call services with AWS integrations and an arn:aws:apigateway URI",
            ));
        }
        super::mapping::subtype_parameters(
            &f("request_parameters"),
            &f("integration_subtype"),
            &integration.integration_subtype,
            &integration.request_parameters,
            scope,
        )?;
        Vec::new()
    } else {
        super::mapping::request_parameters(
            &f("request_parameters"),
            &integration.request_parameters,
            scope,
        )?
    };
    if scope.is_websocket_api() {
        // Keyed by template selection values, answered as messages: the
        // WebSocket forms (see `rules::websocket::mapping`).
        super::websocket::mapping(field, integration, parsing)?;
    } else {
        if !integration.template_selection_expression.is_empty() {
            return Err(Violation::new(
                f("template_selection_expression"),
                "only WEBSOCKET routes select request templates by expression; REST integrations select them by the request's content type",
            ));
        }
        super::template::templates_parsed(
            &f("request_templates"),
            &integration.request_templates,
            parsing,
        )?;
        super::mapping::integration_responses(
            &f("integration_responses"),
            &integration.integration_responses,
            scope,
            parsing,
        )?;
    }
    if !integration.http_method.is_empty() {
        http_method(&f("http_method"), &integration.http_method)?;
    }
    match kind {
        IntegrationType::HttpProxy | IntegrationType::Http => {
            let mut available: Vec<&str> = path::param_names(resource_path).collect();
            available.extend(path_targets.iter().map(String::as_str));
            uri(&f("uri"), &integration.uri, name, &available, resource_path)
        }
        IntegrationType::Mock => {
            // AWS's MOCK: with request templates the template picks the
            // integration response; without, the fixed mock answers.
            let Some(mock) = integration.mock.as_ref() else {
                if integration.request_templates.is_empty() {
                    return Err(Violation::new(
                        f("mock"),
                        "a MOCK integration needs a mock response, or request templates and integration responses",
                    ));
                }
                return Ok(());
            };
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
        IntegrationType::Aws => {
            let uri_field = f("uri");
            if integration.uri.is_empty() {
                return Err(Violation::new(
                    uri_field,
                    "an AWS integration needs a uri: arn:aws:apigateway:{region}:{service}:action/{Action} or …:path/{path}",
                ));
            }
            max_len(&uri_field, &integration.uri, MAX_URI_BYTES)?;
            aws_arn::service_uri(&integration.uri)
                .map(|_| ())
                .map_err(|reason| Violation::new(uri_field, reason))
        }
        IntegrationType::AwsProxy => aws_proxy_uri(&f("uri"), integration, scope),
        IntegrationType::Unspecified => unreachable!("refused above"),
    }
}

/// An AWS_PROXY integration's target: a Lambda invocation URI, a function
/// ARN (HTTP APIs) or, with a subtype, nothing.
fn aws_proxy_uri(field: &str, integration: &Integration, scope: &Scope<'_>) -> Checked {
    let uri = integration.uri.as_str();
    if !integration.integration_subtype.is_empty() {
        if !uri.is_empty() {
            return Err(Violation::new(
                field,
                "an integration with an integration_subtype takes no uri; its request_parameters name the target",
            ));
        }
        return Ok(());
    }
    if uri.is_empty() {
        return Err(Violation::new(
            field,
            "an AWS_PROXY integration needs a uri (a Lambda invocation URI or function ARN) or an integration_subtype",
        ));
    }
    max_len(field, uri, MAX_URI_BYTES)?;
    if uri.starts_with("arn:aws:lambda:") {
        aws_arn::function_arn(uri).map_err(|reason| Violation::new(field, reason))?;
        if scope.is_rest_api() {
            return Err(Violation::new(
                field,
                format!(
                    "REST APIs name a function with its invocation URI: arn:aws:apigateway:{{region}}:lambda:path/2015-03-31/functions/{uri}/invocations"
                ),
            ));
        }
        return Ok(());
    }
    match aws_arn::service_uri(uri) {
        Ok(aws_arn::ServiceUri::LambdaInvoke { .. }) => Ok(()),
        Ok(_) => Err(Violation::new(
            field,
            format!(
                "'{uri}' is not a Lambda invocation URI; AWS_PROXY calls functions (services: an AWS integration, or an integration_subtype on HTTP APIs)"
            ),
        )),
        Err(reason) => Err(Violation::new(field, reason)),
    }
}

/// "1.0" (or empty) everywhere; "2.0" for functions of HTTP APIs only.
fn payload_format_version(
    field: &str,
    integration: &Integration,
    kind: IntegrationType,
    scope: &Scope<'_>,
) -> Checked {
    match integration.payload_format_version.as_str() {
        "" | "1.0" => Ok(()),
        "2.0" => {
            if kind != IntegrationType::AwsProxy || !integration.integration_subtype.is_empty() {
                Err(Violation::new(
                    field,
                    "2.0 is the payload format of AWS_PROXY function integrations only; use 1.0",
                ))
            } else if scope.is_rest_api() {
                Err(Violation::new(
                    field,
                    "REST APIs send payload format 1.0 only; 2.0 is for HTTP APIs",
                ))
            } else {
                Ok(())
            }
        }
        other => Err(Violation::new(
            field,
            format!("'{other}' is not a payload format version; use 1.0 or 2.0"),
        )),
    }
}

fn credentials(field: &str, value: &str) -> Checked {
    aws_arn::credentials(value)
        .map(|_| ())
        .map_err(|reason| Violation::new(field, reason))
}

/// An outbound AWS endpoint override: http(s), a host and an optional port,
/// no path, query or user info (the service's path is the integration's).
fn endpoint_url(field: &str, url: &str) -> Checked {
    super::http::web_url(field, url)?;
    let parsed: http::Uri = url
        .parse()
        .map_err(|_| Violation::new(field, format!("'{url}' is not a URL")))?;
    let path_ok = parsed.path() == "/" || parsed.path().is_empty();
    let bare = path_ok
        && parsed.query().is_none()
        && !parsed.authority().is_some_and(|a| a.as_str().contains('@'))
        && !url.trim_end_matches('/').ends_with('?');
    if !bare {
        return Err(Violation::new(
            field,
            format!("'{url}' must be scheme://host[:port] only: no path, query or user info"),
        ));
    }
    Ok(())
}

/// An HTTP_PROXY or HTTP integration's URI template; `{param}`s must be in
/// `available` (the resource path's parameters and, for HTTP, the mapped
/// `integration.request.path` names).
fn uri(field: &str, uri: &str, kind: &str, available: &[&str], resource_path: &str) -> Checked {
    if uri.is_empty() {
        return Err(Violation::new(
            field,
            format!("an {kind} integration needs a uri"),
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
    use crate::v1::{ApiProtocol, MockResponse};

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

    fn scope(protocol: ApiProtocol) -> Scope<'static> {
        Scope {
            resource_path: "/pets/{petId}",
            protocol: Some(protocol),
            method: None,
        }
    }

    const LAMBDA: &str = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:pets/invocations";
    const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:pets";

    /// Each new type's accepted forms, and each refusal with its field.
    #[test]
    fn http_aws_and_aws_proxy_rules() {
        let http = Integration {
            r#type: IntegrationType::Http as i32,
            uri: "http://backend/items/{id}".into(),
            request_parameters: [(
                "integration.request.path.id".to_string(),
                "method.request.path.petId".to_string(),
            )]
            .into(),
            request_templates: [("application/json".to_string(), "{}".to_string())].into(),
            ..Default::default()
        };
        let aws = Integration {
            r#type: IntegrationType::Aws as i32,
            uri: "arn:aws:apigateway:us-east-1:sqs:action/SendMessage".into(),
            credentials: "arn:aws:iam::123456789012:role/sqs".into(),
            endpoint_url: "http://127.0.0.1:4566".into(),
            ..Default::default()
        };
        let proxy = Integration {
            r#type: IntegrationType::AwsProxy as i32,
            uri: LAMBDA.into(),
            credentials: "lambda-caller".into(),
            ..Default::default()
        };
        let subtype = Integration {
            r#type: IntegrationType::AwsProxy as i32,
            integration_subtype: "SQS-SendMessage".into(),
            request_parameters: [
                ("QueueUrl".to_string(), "$stageVariables.queue".to_string()),
                ("MessageBody".to_string(), "$request.body".to_string()),
            ]
            .into(),
            ..Default::default()
        };
        let rest = scope(ApiProtocol::Rest);
        let httpapi = scope(ApiProtocol::Http);
        for (i, s) in [
            (&http, &rest),
            (&aws, &rest),
            (&proxy, &rest),
            (&subtype, &httpapi),
            (
                &Integration {
                    uri: FUNCTION.into(),
                    payload_format_version: "2.0".into(),
                    ..proxy.clone()
                },
                &httpapi,
            ),
        ] {
            integration_in("i", i, s).unwrap_or_else(|e| panic!("{i:?}: {e}"));
        }
        let cases: Vec<(Integration, &Scope, &str, &str)> = vec![
            (
                Integration {
                    request_parameters: Default::default(),
                    ..http.clone()
                },
                &rest,
                "i.uri",
                "does not have",
            ),
            (
                Integration {
                    request_templates: [("json".to_string(), "{}".to_string())].into(),
                    ..http.clone()
                },
                &rest,
                "i.request_templates[\"json\"]",
                "not a media type",
            ),
            (
                Integration {
                    credentials: "arn:aws:iam::123456789012:role/x".into(),
                    ..http.clone()
                },
                &rest,
                "i.credentials",
                "only AWS and AWS_PROXY",
            ),
            (
                Integration {
                    uri: "https://sqs.amazonaws.com/".into(),
                    ..aws.clone()
                },
                &rest,
                "i.uri",
                "not an API Gateway service URI",
            ),
            (
                Integration {
                    credentials: "arn:aws:iam::1:role/x".into(),
                    ..aws.clone()
                },
                &rest,
                "i.credentials",
                "not an IAM role ARN",
            ),
            (
                Integration {
                    endpoint_url: "http://127.0.0.1:4566/path".into(),
                    ..aws.clone()
                },
                &rest,
                "i.endpoint_url",
                "no path, query",
            ),
            (
                Integration {
                    uri: FUNCTION.into(),
                    ..proxy.clone()
                },
                &rest,
                "i.uri",
                "REST APIs name a function with its invocation URI",
            ),
            (
                Integration {
                    payload_format_version: "2.0".into(),
                    ..proxy.clone()
                },
                &rest,
                "i.payload_format_version",
                "1.0 only",
            ),
            (
                Integration {
                    payload_format_version: "3.0".into(),
                    ..proxy.clone()
                },
                &httpapi,
                "i.payload_format_version",
                "not a payload format version",
            ),
            (
                Integration {
                    uri: "arn:aws:apigateway:us-east-1:sqs:action/SendMessage".into(),
                    ..proxy.clone()
                },
                &rest,
                "i.uri",
                "not a Lambda invocation URI",
            ),
            (
                Integration {
                    request_templates: [("application/json".to_string(), "{}".to_string())].into(),
                    ..proxy.clone()
                },
                &rest,
                "i.request_templates",
                "passes requests and responses through",
            ),
            (
                subtype.clone(),
                &rest,
                "i.integration_subtype",
                "for HTTP APIs",
            ),
            (
                Integration {
                    uri: LAMBDA.into(),
                    ..subtype.clone()
                },
                &httpapi,
                "i.uri",
                "takes no uri",
            ),
            (
                Integration {
                    integration_subtype: "SQS-Nope".into(),
                    ..subtype.clone()
                },
                &httpapi,
                "i.integration_subtype",
                "not an integration subtype",
            ),
            (
                Integration {
                    integration_subtype: "SQS-SendMessage".into(),
                    ..aws.clone()
                },
                &rest,
                "i.integration_subtype",
                "only AWS_PROXY",
            ),
            (
                Integration {
                    r#type: IntegrationType::Mock as i32,
                    uri: String::new(),
                    request_parameters: Default::default(),
                    request_templates: Default::default(),
                    ..http.clone()
                },
                &rest,
                "i.mock",
                "needs a mock response",
            ),
        ];
        for (i, s, field, says) in cases {
            let err = integration_in("i", &i, s).unwrap_err();
            assert_eq!(err.field, field, "{err}");
            assert!(err.reason.contains(says), "{field}: {err}");
        }
        let aws_mock = Integration {
            r#type: IntegrationType::Mock as i32,
            request_templates: [(
                "application/json".to_string(),
                "{\"statusCode\": 200}".to_string(),
            )]
            .into(),
            ..Default::default()
        };
        assert!(integration_in("i", &aws_mock, &rest).is_ok(), "AWS's MOCK");
    }

    #[test]
    fn unparsed_leaves_templates_and_patterns_to_the_compiler_but_not_their_sizes() {
        use crate::rules::mapping::MAX_SELECTION_PATTERN_BYTES;
        use crate::rules::template::MAX_TEMPLATE_BYTES;
        use crate::v1::IntegrationResponse;
        let rest = scope(ApiProtocol::Rest);
        let mock = |template: &str, pattern: &str| Integration {
            r#type: IntegrationType::Mock as i32,
            request_templates: [("application/json".to_string(), template.to_string())].into(),
            integration_responses: vec![IntegrationResponse {
                status_code: "200".into(),
                selection_pattern: pattern.into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        for (bad, field) in [
            (
                mock("#if($x)", "4\\d\\d"),
                "i.request_templates[\"application/json\"]",
            ),
            (
                mock("{}", "4\\d\\d)|(.*"),
                "i.integration_responses[0].selection_pattern",
            ),
        ] {
            assert_eq!(integration_in("i", &bad, &rest).unwrap_err().field, field);
            assert!(integration_unparsed("i", &bad, &rest).is_ok(), "{field}");
        }
        for (large, field) in [
            (
                mock(&"a".repeat(MAX_TEMPLATE_BYTES + 1), "4\\d\\d"),
                "i.request_templates[\"application/json\"]",
            ),
            (
                mock("{}", &"a".repeat(MAX_SELECTION_PATTERN_BYTES + 1)),
                "i.integration_responses[0].selection_pattern",
            ),
        ] {
            let err = integration_unparsed("i", &large, &rest).unwrap_err();
            assert_eq!(err.field, field);
            assert!(err.reason.contains("at most"), "{err}");
        }
    }
}
