//! An integration's mapping: request parameters (REST's
//! `integration.request.* = method.request.*` and HTTP APIs' forms, or an
//! AWS service subtype's parameters) and integration responses. Expressions
//! are read by [`crate::mapping_expr`], so both planes read them alike; the
//! rules here are AWS's about where each may be used.

use super::http::is_header_value;
use super::media::status_code;
use super::template::{Parsing, templates_parsed};
use super::{Checked, Violation};
use crate::mapping_expr::{
    self, HttpPart, Location, Source, Target, Use, parse_http_mapping, parse_http_value,
};
use crate::v1::{ApiProtocol, ContentHandling, IntegrationResponse, Method};
use crate::{aws_subtypes, path};
use std::collections::{BTreeMap, HashMap};

/// Most request parameters one integration may map (AWS's limit is 50).
pub const MAX_REQUEST_PARAMETERS: usize = 50;
/// Most integration responses of one integration.
pub const MAX_INTEGRATION_RESPONSES: usize = 50;
/// Longest selection pattern, in bytes.
pub const MAX_SELECTION_PATTERN_BYTES: usize = 1024;

/// Where an integration is checked: its resource's path, its API's
/// protocol (None: either, for callers that do not know it) and its
/// method's declarations (None: not known, e.g. the method is being
/// written with it later).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub resource_path: &'a str,
    pub protocol: Option<ApiProtocol>,
    pub method: Option<&'a Method>,
}

impl<'a> Scope<'a> {
    pub fn path(resource_path: &'a str) -> Self {
        Self {
            resource_path,
            protocol: None,
            method: None,
        }
    }

    pub fn is_http_api(&self) -> bool {
        self.protocol == Some(ApiProtocol::Http)
    }

    pub fn is_websocket_api(&self) -> bool {
        self.protocol == Some(ApiProtocol::Websocket)
    }

    pub fn is_rest_api(&self) -> bool {
        matches!(
            self.protocol,
            Some(ApiProtocol::Rest | ApiProtocol::Unspecified)
        )
    }
}

fn entry(field: &str, key: &str) -> String {
    format!("{field}[\"{key}\"]")
}

/// Request parameters of an integration without a subtype. Returns the
/// `integration.request.path` names mapped (they may appear in the URI).
pub fn request_parameters(
    field: &str,
    parameters: &BTreeMap<String, String>,
    scope: &Scope<'_>,
) -> Checked<Vec<String>> {
    if parameters.len() > MAX_REQUEST_PARAMETERS {
        return Err(Violation::new(
            field,
            format!(
                "at most {MAX_REQUEST_PARAMETERS} parameters, got {}",
                parameters.len()
            ),
        ));
    }
    let mut path_targets = Vec::new();
    for (key, value) in parameters {
        let at = entry(field, key);
        let http_form = scope.is_http_api() || (!scope.is_rest_api() && key.contains(':'));
        if http_form {
            let (_, parsed) = parse_http_mapping(key, value, false)
                .map_err(|e| Violation::new(&at, e.to_string()))?;
            for part in &parsed.parts {
                if let HttpPart::RequestPathParameter(name) = part {
                    resource_param(&at, name, scope.resource_path)?;
                }
            }
            continue;
        }
        let target = mapping_expr::parse_target_for(Use::IntegrationRequest, key)
            .map_err(|e| Violation::new(&at, e.to_string()))?;
        let source = mapping_expr::parse_source_for(Use::IntegrationRequest, value)
            .map_err(|e| Violation::new(&at, e.to_string()))?;
        if let Some((location, name)) = source.method_request_parameter() {
            if location == Location::Path {
                resource_param(&at, name, scope.resource_path)?;
            }
            declared(&at, scope.method, &source)?;
        }
        if let (
            Target::IntegrationRequest {
                location: Location::Header,
                ..
            },
            Source::Constant(v),
        ) = (&target, &source)
            && !is_header_value(v)
        {
            return Err(Violation::new(
                at,
                format!("'{v}' is not a valid header value (visible ASCII only)"),
            ));
        }
        if let Target::IntegrationRequest {
            location: Location::Path,
            name,
        } = target
        {
            path_targets.push(name);
        }
    }
    Ok(path_targets)
}

/// The parameters of an HTTP API AWS service subtype: the subtype's names
/// as keys, HTTP API values.
pub fn subtype_parameters(
    field: &str,
    subtype_field: &str,
    subtype: &str,
    parameters: &BTreeMap<String, String>,
    scope: &Scope<'_>,
) -> Checked {
    let Some(table) = aws_subtypes::lookup(subtype) else {
        return Err(Violation::new(
            subtype_field,
            format!(
                "'{subtype}' is not an integration subtype; use one of {}",
                aws_subtypes::SUBTYPES
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    table
        .check_names(parameters.keys().map(String::as_str))
        .map_err(|e| match &e {
            // An unknown name is refused at its own entry.
            aws_subtypes::ParameterError::Unknown { name, .. } => {
                Violation::new(entry(field, name), e.to_string())
            }
            aws_subtypes::ParameterError::Missing { .. } => Violation::new(field, e.to_string()),
        })?;
    for (key, value) in parameters {
        let at = entry(field, key);
        let parsed = parse_http_value(value).map_err(|e| Violation::new(&at, e.to_string()))?;
        if parsed.reads_response() {
            return Err(Violation::new(
                at,
                "a request parameter cannot read $response",
            ));
        }
        for part in &parsed.parts {
            if let HttpPart::RequestPathParameter(name) = part {
                resource_param(&at, name, scope.resource_path)?;
            }
        }
    }
    Ok(())
}

/// `name` must be a parameter of the resource's path (a mapping, a
/// method's declaration or a cache key parameter naming a path parameter).
pub(super) fn resource_param(field: &str, name: &str, resource_path: &str) -> Checked {
    if path::param_names(resource_path).any(|p| p == name) {
        Ok(())
    } else {
        Err(Violation::new(
            field,
            format!(
                "'{name}' is not a parameter of resource path '{resource_path}' (the path does not have {{{name}}})"
            ),
        ))
    }
}

/// A `method.request.*` source must be declared in the method's
/// request_parameters in its own form, as AWS requires (when the method is
/// known): `method.request.multivaluequerystring.tag` is declared as such,
/// `method.request.querystring.tag` as such.
fn declared(field: &str, method: Option<&Method>, source: &Source) -> Checked {
    let Some(method) = method else {
        return Ok(());
    };
    let key = source.to_string();
    if method.request_parameters.contains_key(&key) {
        Ok(())
    } else {
        Err(Violation::new(
            field,
            format!(
                "maps '{key}', which the method does not declare; add it to the method's request_parameters"
            ),
        ))
    }
}

/// The integration responses of an HTTP, AWS or MOCK integration; their
/// templates are parsed and selection patterns compiled if `parsing` says
/// so (their sizes are checked either way).
pub(super) fn integration_responses(
    field: &str,
    responses: &[IntegrationResponse],
    scope: &Scope<'_>,
    parsing: Parsing,
) -> Checked {
    if responses.len() > MAX_INTEGRATION_RESPONSES {
        return Err(Violation::new(
            field,
            format!("at most {MAX_INTEGRATION_RESPONSES} integration responses"),
        ));
    }
    let mut default_at: Option<usize> = None;
    let mut patterns: HashMap<&str, usize> = HashMap::new();
    for (i, r) in responses.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let f = |name: &str| format!("{at}.{name}");
        for (set, which) in [
            (
                !r.integration_response_key.is_empty(),
                "integration_response_key",
            ),
            (
                !r.template_selection_expression.is_empty(),
                "template_selection_expression",
            ),
        ] {
            if set {
                return Err(Violation::new(
                    f(which),
                    "only integration responses of WEBSOCKET routes take it; REST and HTTP ones are selected by selection_pattern and answer with status_code",
                ));
            }
        }
        status_code(&f("status_code"), &r.status_code)?;
        let method_response = match scope.method {
            Some(m) => Some(
                m.method_responses
                    .iter()
                    .find(|mr| mr.status_code == r.status_code)
                    .ok_or_else(|| {
                        Violation::new(
                            f("status_code"),
                            format!(
                                "{} is not a method response of this method; declare it in the method's method_responses",
                                r.status_code
                            ),
                        )
                    })?,
            ),
            None => None,
        };
        if r.selection_pattern.is_empty() {
            if let Some(first) = default_at {
                return Err(Violation::new(
                    f("selection_pattern"),
                    format!(
                        "{field}[{first}] is already the default (empty selection_pattern); only one may be"
                    ),
                ));
            }
            default_at = Some(i);
        } else {
            super::names::max_len(
                &f("selection_pattern"),
                &r.selection_pattern,
                MAX_SELECTION_PATTERN_BYTES,
            )?;
            if parsing == Parsing::Here {
                selection_regex(&r.selection_pattern).map_err(|e| {
                    Violation::new(
                        f("selection_pattern"),
                        format!("is not a regular expression: {e}"),
                    )
                })?;
            }
            if let Some(first) = patterns.insert(&r.selection_pattern, i) {
                return Err(Violation::new(
                    f("selection_pattern"),
                    format!(
                        "'{}' is already the pattern of {field}[{first}]",
                        r.selection_pattern
                    ),
                ));
            }
        }
        for (key, value) in &r.response_parameters {
            let pf = entry(&f("response_parameters"), key);
            let target = mapping_expr::parse_target_for(Use::IntegrationResponse, key)
                .map_err(|e| Violation::new(&pf, e.to_string()))?;
            let source = mapping_expr::parse_source_for(Use::IntegrationResponse, value)
                .map_err(|e| Violation::new(&pf, e.to_string()))?;
            if let Source::Constant(v) = &source
                && !is_header_value(v)
            {
                return Err(Violation::new(
                    pf,
                    format!("'{v}' is not a valid header value (visible ASCII only)"),
                ));
            }
            if let (Some(mr), Target::MethodResponseHeader(_)) = (method_response, &target)
                && !mr.response_parameters.contains_key(key)
            {
                return Err(Violation::new(
                    pf,
                    format!(
                        "sets '{key}', which method response {} does not declare; add it to its response_parameters",
                        r.status_code
                    ),
                ));
            }
        }
        templates_parsed(&f("response_templates"), &r.response_templates, parsing)?;
        content_handling(&f("content_handling"), r.content_handling)?;
    }
    Ok(())
}

pub fn content_handling(field: &str, value: i32) -> Checked {
    ContentHandling::try_from(value).map(|_| ()).map_err(|_| {
        Violation::new(
            field,
            format!("unknown content handling {value}; use CONVERT_TO_TEXT or CONVERT_TO_BINARY (or leave it unset)"),
        )
    })
}

/// The compiled form of an integration response's selection pattern, the
/// same for the admin API's check and the data plane: a full match over
/// the whole selector (AWS's Java `matches`), `.` matching newlines.
///
/// The pattern is parsed on its own before it is wrapped as
/// `\A(?s:{p})\z`: wrapped first, a pattern such as `4\d\d)|(.*` would
/// close the group and turn the anchoring into an alternation that
/// matches every selector.
pub fn selection_regex(pattern: &str) -> Result<regex::Regex, regex::Error> {
    const SIZE_LIMIT: usize = 1 << 20;
    regex::RegexBuilder::new(pattern)
        .size_limit(SIZE_LIMIT)
        .build()?;
    regex::RegexBuilder::new(&format!(r"\A(?s:{pattern})\z"))
        .size_limit(SIZE_LIMIT)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::MethodResponse;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn method() -> Method {
        Method {
            request_parameters: [
                ("method.request.querystring.q".to_string(), false),
                ("method.request.path.petId".to_string(), true),
            ]
            .into(),
            method_responses: vec![MethodResponse {
                status_code: "200".into(),
                response_parameters: [("method.response.header.X-Id".to_string(), false)].into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn a_multi_value_source_must_be_declared_in_its_own_form() {
        let mut m = method();
        m.request_parameters
            .insert("method.request.multivaluequerystring.tag".into(), false);
        let scope = Scope {
            resource_path: "/pets/{petId}",
            protocol: Some(ApiProtocol::Rest),
            method: Some(&m),
        };
        request_parameters(
            "i",
            &params(&[(
                "integration.request.querystring.tag",
                "method.request.multivaluequerystring.tag",
            )]),
            &scope,
        )
        .unwrap();
        // Declared only as single-value: the multi-value form is not declared.
        let err = request_parameters(
            "i",
            &params(&[(
                "integration.request.header.x",
                "method.request.multivaluequerystring.q",
            )]),
            &scope,
        )
        .unwrap_err();
        assert!(
            err.reason
                .contains("maps 'method.request.multivaluequerystring.q'"),
            "{}",
            err.reason
        );
        // And the other way round.
        let err = request_parameters(
            "i",
            &params(&[(
                "integration.request.header.x",
                "method.request.querystring.tag",
            )]),
            &scope,
        )
        .unwrap_err();
        assert!(err.reason.contains("does not declare"), "{}", err.reason);
    }

    #[test]
    fn rest_parameters_map_declared_method_parameters() {
        let m = method();
        let scope = Scope {
            resource_path: "/pets/{petId}",
            protocol: Some(ApiProtocol::Rest),
            method: Some(&m),
        };
        let mapped = request_parameters(
            "i.request_parameters",
            &params(&[
                ("integration.request.path.id", "method.request.path.petId"),
                (
                    "integration.request.header.x-q",
                    "method.request.querystring.q",
                ),
                ("integration.request.header.x-c", "'constant'"),
                ("integration.request.querystring.s", "context.stage"),
            ]),
            &scope,
        )
        .unwrap();
        assert_eq!(mapped, ["id"]);
        for (pairs, says) in [
            (
                (
                    "integration.request.header.a",
                    "method.request.header.undeclared",
                ),
                "does not declare",
            ),
            (
                ("integration.request.header.a", "method.request.path.other"),
                "does not have",
            ),
            (
                ("integration.request.body", "'x'"),
                "expected integration.request",
            ),
            (
                ("integration.request.header.a", "integration.response.body"),
                "not available here",
            ),
            (
                ("integration.request.header.a", "'tab\u{1}'"),
                "not a valid header value",
            ),
            (
                ("append:header.a", "$request.header.b"),
                "is not a mapping target",
            ),
        ] {
            let err = request_parameters("i.rp", &params(&[pairs]), &scope).unwrap_err();
            assert_eq!(err.field, format!("i.rp[\"{}\"]", pairs.0));
            assert!(err.reason.contains(says), "{pairs:?}: {err}");
        }
    }

    #[test]
    fn http_api_parameters_use_http_api_forms() {
        let scope = Scope {
            resource_path: "/pets/{petId}",
            protocol: Some(ApiProtocol::Http),
            method: None,
        };
        assert!(
            request_parameters(
                "rp",
                &params(&[
                    ("append:header.x-id", "$request.path.petId"),
                    ("remove:querystring.debug", ""),
                    ("overwrite:path", "/v2/pets/$request.path.petId"),
                ]),
                &scope
            )
            .is_ok()
        );
        let err = request_parameters(
            "rp",
            &params(&[("integration.request.header.a", "'x'")]),
            &scope,
        )
        .unwrap_err();
        assert!(
            err.reason
                .contains("no append:, overwrite: or remove: prefix"),
            "{err}"
        );
        let err = request_parameters(
            "rp",
            &params(&[("append:header.a", "$request.path.nope")]),
            &scope,
        )
        .unwrap_err();
        assert!(err.reason.contains("does not have"), "{err}");
    }

    #[test]
    fn subtype_parameters_are_names_and_http_values() {
        let scope = Scope::path("/q");
        assert!(
            subtype_parameters(
                "rp",
                "st",
                "SQS-SendMessage",
                &params(&[
                    ("QueueUrl", "$stageVariables.queue"),
                    ("MessageBody", "$request.body")
                ]),
                &scope
            )
            .is_ok()
        );
        let err = subtype_parameters("rp", "st", "SQS-Send", &params(&[]), &scope).unwrap_err();
        assert_eq!(err.field, "st");
        let err = subtype_parameters(
            "rp",
            "st",
            "SQS-PurgeQueue",
            &params(&[("QueueUrl", "$request.cookie.x")]),
            &scope,
        )
        .unwrap_err();
        assert_eq!(err.field, "rp[\"QueueUrl\"]");
        let err = subtype_parameters(
            "rp",
            "st",
            "SQS-PurgeQueue",
            &params(&[("QueueUrl", "q"), ("Queue Url", "x")]),
            &scope,
        )
        .unwrap_err();
        assert_eq!(err.field, "rp[\"Queue Url\"]");
        assert!(err.reason.contains("does not take the parameter"), "{err}");
        let err = subtype_parameters(
            "rp",
            "st",
            "SQS-SendMessage",
            &params(&[("QueueUrl", "q")]),
            &scope,
        )
        .unwrap_err();
        assert_eq!(err.field, "rp");
        assert!(
            err.reason.contains("requires the parameters MessageBody"),
            "{err}"
        );
    }

    #[test]
    fn integration_responses_follow_aws_rules() {
        let m = method();
        let scope = Scope {
            resource_path: "/",
            protocol: None,
            method: Some(&m),
        };
        let ok = IntegrationResponse {
            status_code: "200".into(),
            response_parameters: params(&[(
                "method.response.header.X-Id",
                "integration.response.body.id",
            )]),
            response_templates: params(&[("application/json", "$input.body")]),
            ..Default::default()
        };
        assert!(
            integration_responses("ir", std::slice::from_ref(&ok), &scope, Parsing::Here).is_ok()
        );
        let cases: Vec<(Vec<IntegrationResponse>, &str, &str)> = vec![
            (
                vec![ok.clone(), ok.clone()],
                "ir[1].selection_pattern",
                "already the default",
            ),
            (
                vec![IntegrationResponse {
                    selection_pattern: "4\\d{2".into(),
                    ..ok.clone()
                }],
                "ir[0].selection_pattern",
                "not a regular expression",
            ),
            (
                vec![IntegrationResponse {
                    status_code: "201".into(),
                    response_parameters: BTreeMap::new(),
                    ..ok.clone()
                }],
                "ir[0].status_code",
                "not a method response",
            ),
            (
                vec![IntegrationResponse {
                    status_code: "2000".into(),
                    ..ok.clone()
                }],
                "ir[0].status_code",
                "not an HTTP status code",
            ),
            (
                vec![IntegrationResponse {
                    response_parameters: params(&[("method.response.header.Other", "'x'")]),
                    ..ok.clone()
                }],
                "ir[0].response_parameters[\"method.response.header.Other\"]",
                "does not declare",
            ),
            (
                vec![IntegrationResponse {
                    response_templates: params(&[("json", "x")]),
                    ..ok.clone()
                }],
                "ir[0].response_templates[\"json\"]",
                "not a media type",
            ),
            (
                vec![IntegrationResponse {
                    content_handling: 9,
                    ..ok.clone()
                }],
                "ir[0].content_handling",
                "unknown content handling",
            ),
        ];
        for (responses, field, says) in cases {
            let err = integration_responses("ir", &responses, &scope, Parsing::Here).unwrap_err();
            assert_eq!(err.field, field);
            assert!(err.reason.contains(says), "{field}: {err}");
        }
    }

    #[test]
    fn a_selection_pattern_cannot_close_its_anchoring_group() {
        for p in [r"4\d\d)|(.*", ")(", r"x)|(?s:.*"] {
            assert!(selection_regex(p).is_err(), "{p}");
        }
        let re = selection_regex(r"4\d\d|5\d\d").unwrap();
        assert!(re.is_match("404") && re.is_match("500"));
        assert!(!re.is_match("200") && !re.is_match("4040") && !re.is_match("x404"));
        assert!(
            selection_regex("(?s).*error.*")
                .unwrap()
                .is_match("an\nerror")
        );
    }
}
