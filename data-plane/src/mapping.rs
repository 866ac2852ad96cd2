//! Non-proxy integrations (HTTP, AWS, and MOCK with templates), compiled
//! once per deployment: request parameter mappings, request templates,
//! passthrough, content handling and integration responses, as AWS's
//! `requestParameters`, `requestTemplates`, `passthroughBehavior`,
//! `contentHandling` and `integrationResponses` describe them.
//!
//! A leaf module (the tables hold these, the pipeline's mapping phase runs
//! them): what happens per request is in `pipeline::mapping`; the choices
//! that need no request (which template for a content type, which
//! integration response for a status) are pure functions here.

use crate::media_type::media_type;
use archway_proto::mapping_expr::{self, Location, Source, Use};
use archway_proto::template::Template;
use archway_proto::template::jsonpath::JsonPath;
use archway_proto::uri_template::UriTemplate;
use archway_proto::v1::{ContentHandling, Integration, IntegrationType, PassthroughBehavior};
use http::{HeaderName, StatusCode};
use regex::Regex;
use std::time::Duration;

/// A compiled non-proxy integration.
#[derive(Debug)]
pub struct MappedIntegration {
    pub backend: Backend,
    /// `integration.request.*` mappings, in the configuration's order.
    pub request_parameters: Vec<RequestParameter>,
    /// Media type (lower case, no parameters) → template, parsed once.
    pub request_templates: Vec<(Box<str>, Template)>,
    pub passthrough: PassthroughBehavior,
    pub content_handling: ContentHandling,
    /// Integration responses with a selection pattern, in order, then the
    /// default (no pattern) if there is one.
    pub responses: Vec<ResponseRule>,
    /// The deployment's binary media types.
    pub binary_media_types: Box<[Box<str>]>,
}

#[derive(Debug)]
pub enum Backend {
    /// The gateway answers; the request template's `statusCode` picks the
    /// integration response.
    Mock,
    Http {
        /// None: the client's verb.
        method: Option<http::Method>,
        uri: UriTemplate,
        timeout: Duration,
    },
    /// An AWS action, path or function with a mapping template.
    Aws {
        target: archway_proto::rules::aws_arn::AwsTarget,
        /// The verb a service action or path is called with: the
        /// integration's `http_method` (empty: POST, the verb actions take;
        /// None: the client's, for `ANY`). Functions are invoked with POST
        /// whatever it says, as the Invoke API takes nothing else.
        method: Option<http::Method>,
        /// A function URI naming stage variables: the function to invoke
        /// is resolved per request from it, with the serving stage's
        /// values (`target` is then the shape checked with placeholders).
        staged: Option<crate::aws::integration::StagedFunction>,
        settings: crate::aws::integration::CallSettings,
    },
}

#[derive(Debug)]
pub struct RequestParameter {
    pub location: Location,
    pub name: Box<str>,
    pub source: ValueSource,
}

/// Where a mapped value comes from, ready to evaluate.
#[derive(Debug)]
pub enum ValueSource {
    MethodRequest(Location, Box<str>),
    /// Every value, comma-joined.
    MethodRequestMultiValue(Location, Box<str>),
    /// The request body (for request mappings) or the integration
    /// response's body (for response mappings).
    Body,
    /// A JSONPath over that body, parsed once here; its value a string
    /// unquoted, anything else as JSON (what `$input.json('PATH')` gives).
    BodyPath(JsonPath),
    ResponseHeader(HeaderName),
    ResponseMultiValueHeader(HeaderName),
    StageVariable(Box<str>),
    /// `context.a.b` as a path.
    Context(Box<[Box<str>]>),
    Constant(Box<str>),
}

/// One integration response.
#[derive(Debug)]
pub struct ResponseRule {
    pub status: StatusCode,
    /// Matched in full; None: the default response.
    pub pattern: Option<Regex>,
    pub parameters: Vec<(HeaderName, ValueSource)>,
    pub templates: Vec<(Box<str>, Template)>,
    pub content_handling: ContentHandling,
}

/// What to send the backend for a request's content type.
#[derive(Debug)]
pub enum RequestBodyPlan<'m> {
    /// Render this template (keyed by this media type).
    Template(&'m str, &'m Template),
    /// Send the body as it came.
    Passthrough,
    /// 415 Unsupported Media Type.
    Unsupported,
}

impl MappedIntegration {
    /// The request template for `content_type` (absent: application/json,
    /// as AWS), or what the passthrough behaviour says.
    pub fn request_plan(&self, content_type: Option<&str>) -> RequestBodyPlan<'_> {
        let media = media_type(content_type.unwrap_or("application/json"));
        if let Some((key, t)) = self
            .request_templates
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(media))
        {
            return RequestBodyPlan::Template(key, t);
        }
        match self.passthrough {
            PassthroughBehavior::Never => RequestBodyPlan::Unsupported,
            PassthroughBehavior::WhenNoTemplates if !self.request_templates.is_empty() => {
                RequestBodyPlan::Unsupported
            }
            _ => RequestBodyPlan::Passthrough,
        }
    }

    /// The integration response for `selector` (the backend's status
    /// code, or a function's errorMessage): the first whose pattern
    /// matches it in full, else the default. None: no responses configured.
    pub fn response_for(&self, selector: &str) -> Option<&ResponseRule> {
        self.responses
            .iter()
            .find(|r| r.pattern.as_ref().is_some_and(|p| p.is_match(selector)))
            .or_else(|| self.default_response())
    }

    /// The default integration response (no selection pattern): what a
    /// function's success takes, as in AWS.
    pub fn default_response(&self) -> Option<&ResponseRule> {
        self.responses.iter().find(|r| r.pattern.is_none())
    }
}

impl ResponseRule {
    /// The response template for the client's `Accept`: the first listed
    /// media type that has one, else the first template (as AWS).
    pub fn template_for(&self, accept: Option<&str>) -> Option<(&str, &Template)> {
        let wanted = accept.unwrap_or("").split(',').map(media_type);
        for m in wanted {
            if let Some((k, t)) = self
                .templates
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(m))
            {
                return Some((k, t));
            }
        }
        self.templates.first().map(|(k, t)| (&**k, t))
    }
}

/// An HTTP or HTTP_PROXY integration's backend: the method (`None`: the
/// request's, for `ANY` or unset), the URI template and the timeout.
pub fn http_backend(
    i: &Integration,
) -> Result<(Option<http::Method>, UriTemplate, Duration), String> {
    let method = match i.http_method.as_str() {
        "" | "ANY" => None,
        m => Some(
            http::Method::from_bytes(m.as_bytes()).map_err(|_| format!("bad http_method '{m}'"))?,
        ),
    };
    let uri = UriTemplate::parse(&i.uri)?;
    Ok((method, uri, crate::aws::integration::integration_timeout(i)))
}

/// Compiles a MOCK (with request templates or integration responses), HTTP
/// or AWS integration; `None` for others (HTTP_PROXY, plain MOCK,
/// AWS_PROXY), which compile elsewhere.
pub fn compile(
    i: &Integration,
    binary_media_types: &[String],
) -> Option<Result<MappedIntegration, String>> {
    let backend = match IntegrationType::try_from(i.r#type) {
        Ok(IntegrationType::Mock)
            if !i.request_templates.is_empty() || !i.integration_responses.is_empty() =>
        {
            Backend::Mock
        }
        Ok(IntegrationType::Http) => match http_backend(i) {
            Ok((method, uri, timeout)) => Backend::Http {
                method,
                uri,
                timeout,
            },
            Err(e) => return Some(Err(e)),
        },
        Ok(IntegrationType::Aws) => {
            let method = match i.http_method.as_str() {
                "" => Some(http::Method::POST),
                "ANY" => None,
                m => match http::Method::from_bytes(m.as_bytes()) {
                    Ok(m) => Some(m),
                    Err(_) => return Some(Err(format!("bad http_method '{m}'"))),
                },
            };
            let target = match archway_proto::rules::aws_arn::aws_target(&i.uri) {
                Ok(target) => target,
                Err(e) => return Some(Err(e)),
            };
            let staged = match &target {
                archway_proto::rules::aws_arn::AwsTarget::Function(_) => {
                    match crate::aws::integration::StagedFunction::of(&i.uri) {
                        Ok(staged) => staged,
                        Err(e) => return Some(Err(e)),
                    }
                }
                _ => None,
            };
            Backend::Aws {
                target,
                method,
                staged,
                settings: crate::aws::integration::CallSettings::of(i),
            }
        }
        _ => return None,
    };
    Some(compile_mapping(i, backend, binary_media_types))
}

fn compile_mapping(
    i: &Integration,
    backend: Backend,
    binary_media_types: &[String],
) -> Result<MappedIntegration, String> {
    let mut request_parameters = Vec::with_capacity(i.request_parameters.len());
    for (target, source) in &i.request_parameters {
        let t = mapping_expr::parse_target_for(Use::IntegrationRequest, target)
            .map_err(|e| format!("request_parameters: {e}"))?;
        let s = mapping_expr::parse_source_for(Use::IntegrationRequest, source)
            .map_err(|e| format!("request_parameters[{target}]: {e}"))?;
        let mapping_expr::Target::IntegrationRequest { location, name } = t else {
            return Err(format!(
                "request_parameters: '{target}' is not an integration request parameter"
            ));
        };
        request_parameters.push(RequestParameter {
            location,
            name: name.into(),
            source: value_source(s)?,
        });
    }
    let mut responses = Vec::with_capacity(i.integration_responses.len());
    let mut default = None;
    for r in &i.integration_responses {
        let status = r
            .status_code
            .parse::<u16>()
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok())
            .ok_or_else(|| {
                format!(
                    "integration response status '{}' is not an HTTP status",
                    r.status_code
                )
            })?;
        let pattern = match r.selection_pattern.as_str() {
            "" => None,
            p => Some(
                archway_proto::rules::mapping::selection_regex(p)
                    .map_err(|e| format!("selection pattern '{p}': {e}"))?,
            ),
        };
        let mut parameters = Vec::with_capacity(r.response_parameters.len());
        for (target, source) in &r.response_parameters {
            let t = mapping_expr::parse_target_for(Use::IntegrationResponse, target)
                .map_err(|e| format!("response_parameters: {e}"))?;
            let s = mapping_expr::parse_source_for(Use::IntegrationResponse, source)
                .map_err(|e| format!("response_parameters[{target}]: {e}"))?;
            let mapping_expr::Target::MethodResponseHeader(name) = t else {
                return Err(format!(
                    "response_parameters: '{target}' is not a method response header"
                ));
            };
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("response_parameters: bad header name '{name}'"))?;
            parameters.push((name, value_source(s)?));
        }
        let rule = ResponseRule {
            status,
            pattern,
            parameters,
            templates: templates(&r.response_templates, "response_templates")?,
            content_handling: ContentHandling::try_from(r.content_handling).unwrap_or_default(),
        };
        if rule.pattern.is_none() {
            default = Some(rule);
        } else {
            responses.push(rule);
        }
    }
    responses.extend(default);
    Ok(MappedIntegration {
        backend,
        request_parameters,
        request_templates: templates(&i.request_templates, "request_templates")?,
        passthrough: PassthroughBehavior::try_from(i.passthrough_behavior).unwrap_or_default(),
        content_handling: ContentHandling::try_from(i.content_handling).unwrap_or_default(),
        responses,
        binary_media_types: binary_media_types
            .iter()
            .map(|t| t.to_ascii_lowercase().into())
            .collect(),
    })
}

/// Templates in key order, so "the first template" is the same everywhere.
fn templates(
    map: &std::collections::BTreeMap<String, String>,
    field: &str,
) -> Result<Vec<(Box<str>, Template)>, String> {
    map.iter()
        .map(|(media, text)| {
            Template::parse(text)
                .map(|t| (crate::media_type::key(media), t))
                .map_err(|e| format!("{field}[\"{media}\"]: {e}"))
        })
        .collect()
}

fn value_source(s: Source) -> Result<ValueSource, String> {
    let header = |name: String| {
        HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("bad header name '{name}'"))
    };
    let body_path = |path: String| {
        JsonPath::parse(&path)
            .map(ValueSource::BodyPath)
            .map_err(|e| format!("body path '{path}': {e}"))
    };
    Ok(match s {
        Source::MethodRequest { location, name } => {
            ValueSource::MethodRequest(location, name.into())
        }
        Source::MethodRequestMultiValue { location, name } => {
            ValueSource::MethodRequestMultiValue(location, name.into())
        }
        Source::MethodRequestBody | Source::IntegrationResponseBody => ValueSource::Body,
        Source::MethodRequestBodyPath(p) | Source::IntegrationResponseBodyPath(p) => body_path(p)?,
        Source::IntegrationResponseHeader(n) => ValueSource::ResponseHeader(header(n)?),
        Source::IntegrationResponseMultiValueHeader(n) => {
            ValueSource::ResponseMultiValueHeader(header(n)?)
        }
        Source::StageVariable(n) => ValueSource::StageVariable(n.into()),
        Source::Context(n) => ValueSource::Context(n.split('.').map(Into::into).collect()),
        Source::Constant(v) => ValueSource::Constant(v.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_proto::v1::IntegrationResponse;

    fn integration() -> Integration {
        Integration {
            r#type: IntegrationType::Http as i32,
            uri: "http://backend/pets/{id}".into(),
            request_templates: [
                ("application/json".to_string(), "{\"a\": 1}".to_string()),
                ("text/plain".to_string(), "t".to_string()),
            ]
            .into(),
            integration_responses: vec![
                IntegrationResponse {
                    status_code: "200".into(),
                    ..Default::default()
                },
                IntegrationResponse {
                    status_code: "400".into(),
                    selection_pattern: "4\\d\\d".into(),
                    ..Default::default()
                },
                IntegrationResponse {
                    status_code: "502".into(),
                    selection_pattern: "5.*".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    fn compiled(i: &Integration) -> MappedIntegration {
        compile(i, &[]).expect("mapped").expect("compiles")
    }

    #[test]
    fn request_templates_are_chosen_by_content_type_defaulting_to_json() {
        let m = compiled(&integration());
        assert!(matches!(
            m.request_plan(None),
            RequestBodyPlan::Template("application/json", _)
        ));
        assert!(matches!(
            m.request_plan(Some("Text/Plain; charset=utf-8")),
            RequestBodyPlan::Template("text/plain", _)
        ));
    }

    #[test]
    fn passthrough_behaviours() {
        let mut i = integration();
        let plan = |i: &Integration| match compiled(i).request_plan(Some("application/xml")) {
            RequestBodyPlan::Template(..) => "template",
            RequestBodyPlan::Passthrough => "pass",
            RequestBodyPlan::Unsupported => "415",
        };
        assert_eq!(plan(&i), "pass", "WHEN_NO_MATCH is the default");
        i.passthrough_behavior = PassthroughBehavior::WhenNoTemplates as i32;
        assert_eq!(plan(&i), "415");
        i.passthrough_behavior = PassthroughBehavior::Never as i32;
        assert_eq!(plan(&i), "415");
        i.request_templates.clear();
        assert_eq!(plan(&i), "415", "NEVER refuses even without templates");
        i.passthrough_behavior = PassthroughBehavior::WhenNoTemplates as i32;
        assert_eq!(plan(&i), "pass");
    }

    #[test]
    fn integration_responses_match_in_full_else_the_default() {
        let m = compiled(&integration());
        let status = |sel: &str| m.response_for(sel).map(|r| r.status.as_u16());
        assert_eq!(status("404"), Some(400));
        assert_eq!(
            status("4040"),
            Some(200),
            "a pattern matches the whole selector"
        );
        assert_eq!(status("503"), Some(502));
        assert_eq!(status("201"), Some(200));
        let mut i = integration();
        i.integration_responses.remove(0);
        assert!(compiled(&i).response_for("201").is_none());
    }

    #[test]
    fn response_templates_follow_accept_else_the_first() {
        let mut i = integration();
        i.integration_responses[0].response_templates = [
            ("application/xml".to_string(), "x".to_string()),
            ("application/json".to_string(), "j".to_string()),
        ]
        .into();
        let m = compiled(&i);
        let rule = m.response_for("200").unwrap();
        let key = |accept| rule.template_for(accept).map(|(k, _)| k.to_string());
        assert_eq!(
            key(Some("text/html, application/xml;q=0.9")).as_deref(),
            Some("application/xml")
        );
        assert_eq!(key(Some("image/png")).as_deref(), Some("application/json"));
        assert_eq!(key(None).as_deref(), Some("application/json"));
    }

    #[test]
    fn bad_parts_are_refused_with_their_field() {
        let mut i = integration();
        i.request_templates
            .insert("application/json".into(), "#if(".into());
        assert!(
            compile(&i, &[])
                .unwrap()
                .unwrap_err()
                .starts_with("request_templates[\"application/json\"]")
        );
        let mut i = integration();
        i.request_parameters
            .insert("integration.request.header.x".into(), "nonsense".into());
        assert!(
            compile(&i, &[])
                .unwrap()
                .unwrap_err()
                .contains("request_parameters[integration.request.header.x]")
        );
        let mut i = integration();
        i.integration_responses[1].selection_pattern = "(".into();
        assert!(
            compile(&i, &[])
                .unwrap()
                .unwrap_err()
                .contains("selection pattern")
        );
    }

    #[test]
    fn a_selection_pattern_that_closes_the_anchoring_is_refused() {
        for p in [r"4\d\d)|(.*", ")(", r"2\d\d)|(?s:.*"] {
            let mut i = integration();
            i.integration_responses[1].selection_pattern = p.into();
            let err = compile(&i, &[]).unwrap().unwrap_err();
            assert!(err.contains("selection pattern"), "{p}: {err}");
        }
    }

    #[test]
    fn plain_mocks_and_proxies_are_not_mapped() {
        let mock = Integration {
            r#type: IntegrationType::Mock as i32,
            ..Default::default()
        };
        assert!(compile(&mock, &[]).is_none());
        let proxy = Integration {
            r#type: IntegrationType::HttpProxy as i32,
            ..Default::default()
        };
        assert!(compile(&proxy, &[]).is_none());
    }
}
