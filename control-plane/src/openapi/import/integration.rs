//! `x-amazon-apigateway-integration` (and Archway's
//! `x-archway-integration` beside it) → a route's integration. Every field
//! AWS defines is read for the types that use it; a field the type does
//! not use, or one Archway does not do, is a warning naming it.

use super::{Reader, child, kind_of};
use crate::declarative::document::{IntegrationResponseSpec, IntegrationSpec};
use crate::openapi::mapping::{ARCHWAY_INTEGRATION, INTEGRATION};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};

/// One object's fields, remembering which were read.
struct Fields<'v> {
    map: &'v Map<String, Value>,
    at: String,
    read: HashSet<&'static str>,
}

impl<'v> Fields<'v> {
    fn get(&mut self, key: &'static str) -> Option<&'v Value> {
        self.read.insert(key);
        self.map.get(key)
    }

    fn at(&self, key: &str) -> String {
        child(&self.at, key)
    }
}

impl<'d> Reader<'d> {
    /// The integration of the operation at `at`, None when it has none
    /// (or after recording why it is refused).
    pub(super) fn integration(
        &mut self,
        op: &'d Map<String, Value>,
        at: &str,
    ) -> Option<Option<IntegrationSpec>> {
        let Some(value) = op.get(INTEGRATION) else {
            return Some(None);
        };
        let at = child(at, INTEGRATION);
        let (value, at) = self.resolve(value, &at)?;
        let map = self.object(value, &at)?;
        let archway = op.get(ARCHWAY_INTEGRATION).and_then(Value::as_object);
        let mut f = Fields {
            map,
            at: at.clone(),
            read: HashSet::new(),
        };
        let Some(kind) = f.get("type") else {
            self.error(
                &at,
                "needs a type (http_proxy, http, mock, aws or aws_proxy)",
            );
            return None;
        };
        let kind = self.text(kind, &f.at("type"))?.to_ascii_uppercase();
        let text = |r: &mut Self, f: &mut Fields<'d>, key: &'static str| -> Option<String> {
            let value = f.get(key)?;
            r.text(value, &f.at(key))
        };
        let uri = text(self, &mut f, "uri").unwrap_or_default();
        let http_method = text(self, &mut f, "httpMethod").map(|m| m.to_ascii_uppercase());
        let timeout_ms = match f.get("timeoutInMillis") {
            Some(v) => Some(self.number(v, &f.at("timeoutInMillis"))?),
            None => None,
        };
        let credentials = text(self, &mut f, "credentials").unwrap_or_default();
        let request_parameters =
            self.string_map(f.get("requestParameters"), &f.at("requestParameters"));
        let cache_key_parameters =
            self.string_list(f.get("cacheKeyParameters"), &f.at("cacheKeyParameters"));
        let passthrough_behavior =
            text(self, &mut f, "passthroughBehavior").map(|p| p.to_ascii_uppercase());
        let content_handling =
            text(self, &mut f, "contentHandling").map(|c| c.to_ascii_uppercase());
        let endpoint_url = archway
            .and_then(|a| a.get("endpointUrl"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        self.connection(&mut f);
        let needs_uri = |r: &mut Self, uri: &str| {
            if uri.is_empty() {
                r.error(
                    child(&at, "uri"),
                    format!("a {kind} integration needs a uri"),
                );
                false
            } else {
                true
            }
        };
        // Request templates and integration responses: what the mapped
        // types (HTTP, AWS, MOCK) read; the proxies ignore them (a warning
        // below names them).
        let mapped = matches!(kind.as_str(), "HTTP" | "AWS" | "MOCK");
        let (request_templates, integration_responses) = if mapped {
            let templates = self.string_map(f.get("requestTemplates"), &f.at("requestTemplates"));
            (templates, self.integration_responses(&mut f)?)
        } else {
            Default::default()
        };
        let spec = match kind.as_str() {
            "HTTP_PROXY" => {
                if !needs_uri(self, &uri) {
                    return None;
                }
                // HTTP APIs' exports write 1.0, the one version an HTTP
                // proxy integration has.
                f.read.insert("payloadFormatVersion");
                IntegrationSpec::HttpProxy {
                    uri,
                    http_method,
                    timeout_ms,
                    cache_key_parameters,
                    request_parameters,
                }
            }
            "HTTP" => {
                if !needs_uri(self, &uri) {
                    return None;
                }
                IntegrationSpec::Http {
                    uri,
                    http_method,
                    timeout_ms,
                    cache_key_parameters,
                    request_parameters,
                    request_templates,
                    template_selection_expression: String::new(),
                    passthrough_behavior,
                    content_handling,
                    integration_responses,
                }
            }
            "AWS" => {
                if !needs_uri(self, &uri) {
                    return None;
                }
                IntegrationSpec::Aws {
                    uri,
                    http_method,
                    timeout_ms,
                    credentials,
                    endpoint_url,
                    cache_key_parameters,
                    request_parameters,
                    request_templates,
                    passthrough_behavior,
                    content_handling,
                    integration_responses,
                }
            }
            "AWS_PROXY" => {
                // A function is always invoked with POST; AWS requires the
                // field, and it says nothing more.
                f.read.insert("httpMethod");
                IntegrationSpec::AwsProxy {
                    uri,
                    subtype: text(self, &mut f, "integrationSubtype").unwrap_or_default(),
                    payload_format_version: text(self, &mut f, "payloadFormatVersion")
                        .unwrap_or_default(),
                    timeout_ms,
                    credentials,
                    endpoint_url,
                    cache_key_parameters,
                    request_parameters,
                    content_handling,
                }
            }
            "MOCK" => {
                match archway.and_then(|a| a.get("mock")) {
                    // A fixed answer: the AWS object beside it says the same
                    // in AWS's terms; its own templates and responses, if
                    // any, are in x-archway-integration too.
                    Some(fixed) => {
                        let op_at = at.rsplit_once('/').map_or("", |(h, _)| h);
                        let archway_at = child(op_at, ARCHWAY_INTEGRATION);
                        let fixed_at = child(&archway_at, "mock");
                        let fixed = self.object(fixed, &fixed_at)?;
                        let status = match fixed.get("statusCode") {
                            Some(v) => self.number(v, &child(&fixed_at, "statusCode"))?,
                            None => 200,
                        };
                        let mut own = Fields {
                            map: archway.expect("the mock is in it"),
                            at: archway_at,
                            read: HashSet::new(),
                        };
                        let body = fixed.get("body").and_then(Value::as_str);
                        IntegrationSpec::Mock {
                            status,
                            headers: self
                                .string_map(fixed.get("headers"), &child(&fixed_at, "headers")),
                            body: body.unwrap_or_default().to_owned(),
                            request_parameters,
                            request_templates: self.string_map(
                                own.get("requestTemplates"),
                                &own.at("requestTemplates"),
                            ),
                            template_selection_expression: String::new(),
                            passthrough_behavior,
                            integration_responses: self.integration_responses(&mut own)?,
                        }
                    }
                    None => IntegrationSpec::Mock {
                        status: 200,
                        headers: BTreeMap::new(),
                        body: String::new(),
                        request_parameters,
                        request_templates,
                        template_selection_expression: String::new(),
                        passthrough_behavior,
                        integration_responses,
                    },
                }
            }
            other => {
                self.error(
                    f.at("type"),
                    format!("'{other}' is not an integration type (http_proxy, http, mock, aws, aws_proxy)"),
                );
                return None;
            }
        };
        for key in map.keys() {
            if !f.read.contains(key.as_str()) {
                let message = match key.as_str() {
                    "cacheNamespace" => "cacheNamespace is not used: cached answers are told apart by cacheKeyParameters and the method".to_owned(),
                    "tlsConfig" => "tlsConfig is not used: backends' certificates are checked against the node's trust store".to_owned(),
                    _ => format!("{key} does nothing for a {kind} integration in Archway; ignored"),
                };
                self.warn(child(&at, key), message);
            }
        }
        Some(Some(spec))
    }

    /// `connectionType` / `connectionId`: Archway connects to the URI
    /// itself (no VPC links).
    fn connection(&mut self, f: &mut Fields<'d>) {
        f.get("connectionId");
        let Some(kind) = f.get("connectionType") else {
            return;
        };
        match kind.as_str() {
            Some(k) if k.eq_ignore_ascii_case("INTERNET") => {}
            Some(k) => self.warn(
                f.at("connectionType"),
                format!(
                    "connectionType {k}: Archway has no VPC links and connects to the uri directly"
                ),
            ),
            None => self.error(
                f.at("connectionType"),
                format!("expected a string, found {}", kind_of(kind)),
            ),
        }
    }

    /// `responses`: selection pattern (or `default`) → integration
    /// response, ordered by pattern so a round trip compares equal.
    fn integration_responses(
        &mut self,
        f: &mut Fields<'d>,
    ) -> Option<Vec<IntegrationResponseSpec>> {
        let Some(value) = f.get("responses") else {
            return Some(Vec::new());
        };
        let at = f.at("responses");
        let map = self.object(value, &at)?;
        let mut out = Vec::with_capacity(map.len());
        for (pattern, response) in map {
            let here = child(&at, pattern);
            let Some(response) = self.object(response, &here) else {
                continue;
            };
            let Some(status) = response.get("statusCode") else {
                self.error(&here, "needs a statusCode");
                continue;
            };
            let Some(status_code) = self.text(status, &child(&here, "statusCode")) else {
                continue;
            };
            let content_handling = match response.get("contentHandling") {
                Some(v) => self
                    .text(v, &child(&here, "contentHandling"))
                    .map(|c| c.to_ascii_uppercase()),
                None => None,
            };
            out.push(IntegrationResponseSpec {
                status_code,
                integration_response_key: String::new(),
                template_selection_expression: String::new(),
                selection_pattern: if pattern == "default" {
                    String::new()
                } else {
                    pattern.clone()
                },
                response_parameters: self.string_map(
                    response.get("responseParameters"),
                    &child(&here, "responseParameters"),
                ),
                response_templates: self.string_map(
                    response.get("responseTemplates"),
                    &child(&here, "responseTemplates"),
                ),
                content_handling,
            });
        }
        // The default response last, as AWS tries it.
        out.sort_by(|a, b| {
            (a.selection_pattern.is_empty(), &a.selection_pattern)
                .cmp(&(b.selection_pattern.is_empty(), &b.selection_pattern))
        });
        Some(out)
    }
}
