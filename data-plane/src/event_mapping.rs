//! WebSocket routes' non-proxy integrations (HTTP, and MOCK with
//! templates), compiled once per deployment: the template selection
//! expressions, request templates keyed by their values, passthrough,
//! content handling and integration responses keyed by
//! `integration_response_key`, as AWS's WebSocket APIs describe them.
//!
//! A leaf module, as [`crate::mapping`] is for REST's (the tables hold
//! these; `websocket::mapping` runs them per event): the choices that need
//! no event (which template for a key, which integration response for a
//! status) are here.

use archway_proto::template::Template;
use archway_proto::template_selection::{
    DEFAULT_KEY, Message, SelectionInput, Side, TemplateSelection,
};
use archway_proto::uri_template::UriTemplate;
use archway_proto::v1::{ContentHandling, Integration, IntegrationType, PassthroughBehavior};
use http::Method;
use regex::Regex;
use std::time::Duration;

/// A WebSocket route's compiled non-proxy integration.
#[derive(Debug)]
pub struct WsMapping {
    pub backend: WsBackend,
    selection: TemplateSelection,
    /// Keyed by selection values, compared exactly.
    request_templates: Vec<(Box<str>, Template)>,
    passthrough: PassthroughBehavior,
    pub content_handling: ContentHandling,
    /// Those with a pattern, in order, then the default.
    responses: Vec<WsResponse>,
}

#[derive(Debug)]
pub enum WsBackend {
    Mock,
    Http {
        /// None: POST, as events are sent.
        method: Option<Method>,
        uri: UriTemplate,
        timeout: Duration,
    },
}

#[derive(Debug)]
pub struct WsResponse {
    /// Matched in full against the status; None: `$default`.
    pattern: Option<Regex>,
    selection: TemplateSelection,
    templates: Vec<(Box<str>, Template)>,
    pub content_handling: ContentHandling,
}

/// Compiles a WebSocket route's HTTP integration, or MOCK with templates
/// or integration responses; None for the others (a plain MOCK,
/// HTTP_PROXY, AWS_PROXY), which compile as on other APIs. The shared
/// rule (`rules::websocket::mapping`) checked the shapes; templates,
/// expressions and patterns are parsed here, once.
pub fn compile(i: &Integration) -> Option<Result<WsMapping, String>> {
    let backend = match IntegrationType::try_from(i.r#type) {
        Ok(IntegrationType::Http) => match crate::mapping::http_backend(i) {
            Ok((method, uri, timeout)) => WsBackend::Http {
                method,
                uri,
                timeout,
            },
            Err(e) => return Some(Err(e)),
        },
        Ok(IntegrationType::Mock)
            if !i.request_templates.is_empty() || !i.integration_responses.is_empty() =>
        {
            WsBackend::Mock
        }
        _ => return None,
    };
    Some(compile_mapping(i, backend))
}

fn compile_mapping(i: &Integration, backend: WsBackend) -> Result<WsMapping, String> {
    let selection = TemplateSelection::parse(&i.template_selection_expression, Side::Request)
        .map_err(|e| format!("template_selection_expression: {e}"))?;
    let mut responses = Vec::with_capacity(i.integration_responses.len());
    let mut default = None;
    for (n, r) in i.integration_responses.iter().enumerate() {
        let field = format!("integration_responses[{n}]");
        let key = r.integration_response_key.as_str();
        let pattern = match key {
            DEFAULT_KEY => None,
            _ => {
                let inner = key
                    .strip_prefix('/')
                    .and_then(|k| k.strip_suffix('/'))
                    .ok_or_else(|| {
                        format!(
                            "{field}.integration_response_key: '{key}' is not $default or /REGEX/"
                        )
                    })?;
                Some(
                    archway_proto::rules::mapping::selection_regex(inner)
                        .map_err(|e| format!("{field}.integration_response_key: {e}"))?,
                )
            }
        };
        let rule = WsResponse {
            pattern,
            selection: TemplateSelection::parse(&r.template_selection_expression, Side::Response)
                .map_err(|e| format!("{field}.template_selection_expression: {e}"))?,
            templates: templates(
                &r.response_templates,
                &format!("{field}.response_templates"),
            )?,
            content_handling: ContentHandling::try_from(r.content_handling).unwrap_or_default(),
        };
        if rule.pattern.is_none() {
            default = Some(rule);
        } else {
            responses.push(rule);
        }
    }
    responses.extend(default);
    Ok(WsMapping {
        backend,
        selection,
        request_templates: templates(&i.request_templates, "request_templates")?,
        passthrough: PassthroughBehavior::try_from(i.passthrough_behavior).unwrap_or_default(),
        content_handling: ContentHandling::try_from(i.content_handling).unwrap_or_default(),
        responses,
    })
}

fn templates(
    map: &std::collections::BTreeMap<String, String>,
    field: &str,
) -> Result<Vec<(Box<str>, Template)>, String> {
    map.iter()
        .map(|(key, text)| {
            Template::parse(text)
                .map(|t| (key.as_str().into(), t))
                .map_err(|e| format!("{field}[\"{key}\"]: {e}"))
        })
        .collect()
}

/// The template of `key`, else the `$default` one.
pub(crate) fn template_for<'t>(
    templates: &'t [(Box<str>, Template)],
    key: Option<&str>,
) -> Option<&'t Template> {
    let find = |k: &str| templates.iter().find(|(t, _)| &**t == k).map(|(_, t)| t);
    key.and_then(find).or_else(|| find(DEFAULT_KEY))
}

/// What to send the backend for a message.
pub enum RequestPlan<'m> {
    Template(&'m Template),
    /// The message as it came.
    Passthrough,
    /// The passthrough behaviour refuses it (415).
    Unsupported,
}

impl WsMapping {
    /// The request template for `message`, or what the passthrough
    /// behaviour says.
    pub fn request_plan(&self, message: &[u8]) -> RequestPlan<'_> {
        if !self.request_templates.is_empty() {
            let key = self.selection.select(&Message(message));
            if let Some(t) = template_for(&self.request_templates, key.as_deref()) {
                return RequestPlan::Template(t);
            }
        }
        match self.passthrough {
            PassthroughBehavior::Never => RequestPlan::Unsupported,
            PassthroughBehavior::WhenNoTemplates if !self.request_templates.is_empty() => {
                RequestPlan::Unsupported
            }
            _ => RequestPlan::Passthrough,
        }
    }

    /// Whether any integration response is configured (none: the answer
    /// passes as it is).
    pub fn has_responses(&self) -> bool {
        !self.responses.is_empty()
    }

    /// The integration response for `status`: the first whose key's
    /// pattern matches it in full, else `$default`.
    pub fn response_for(&self, status: http::StatusCode) -> Option<&WsResponse> {
        // An HTTP status is three digits: written on the stack, not into a
        // String per message.
        let code = status.as_u16();
        let digits = [100, 10, 1].map(|d| b'0' + (code / d % 10) as u8);
        let status = std::str::from_utf8(&digits).unwrap_or_default();
        self.responses
            .iter()
            .find(|r| r.pattern.as_ref().is_none_or(|p| p.is_match(status)))
    }
}

impl WsResponse {
    /// The template its expression picks over `input`, else `$default`'s.
    pub fn template(&self, input: &dyn SelectionInput) -> Option<&Template> {
        template_for(&self.templates, self.selection.select(input).as_deref())
    }
}
