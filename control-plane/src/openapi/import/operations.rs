//! Paths and operations → routes: the verb (`x-amazon-apigateway-any-method`
//! is ANY), the operationId, declared parameters, body models, method
//! responses, security, the request validator and the integration.
//!
//! An operation without `x-amazon-apigateway-integration` (a plain OpenAPI
//! document) still becomes a route that answers, with a warning: proxied to
//! the document's server (`servers[0].url`, Swagger's `host` +
//! `basePath`) when it names an http(s) one, as Kong's and Tyk's importers
//! do, else a MOCK answering the operation's first success status with its
//! example. AWS would create a method that cannot be deployed.

use super::{Reader, child, kind_of, refs};
use crate::declarative::document::{IntegrationSpec, MethodResponseSpec, RouteSpec};
use crate::openapi::mapping::{
    ANY_CONTENT_TYPE, ANY_METHOD, ARCHWAY_REQUIRED, ARCHWAY_UNDECLARED, DEFAULT_MODEL_KEY,
    INTEGRATION, REQUEST_VALIDATOR, VERBS,
};
use archway_proto::rules::http::reserved_header;
use archway_proto::rules::method::operation_name;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The extensions an operation may carry.
const OPERATION_EXTENSIONS: &[&str] = &[INTEGRATION, REQUEST_VALIDATOR, "x-amazon-apigateway-auth"];

impl<'d> Reader<'d> {
    pub(super) fn paths(&mut self) {
        let Some(paths) = self.doc.get("paths") else {
            self.warn("", "the document has no paths: the API has no routes");
            return;
        };
        let Some(paths) = self.object(paths, "/paths") else {
            return;
        };
        let base = if self.prepend_base_path {
            self.base_path()
        } else {
            String::new()
        };
        for (path, item) in paths {
            let at = child("/paths", path);
            if path.starts_with("x-") {
                continue;
            }
            let Some((item, item_at)) = self.resolve(item, &at) else {
                continue;
            };
            let Some(item) = self.object(item, &item_at) else {
                continue;
            };
            let route_path = if path == "$default" {
                // HTTP APIs' catch-all route.
                self.warn(
                    &at,
                    "the $default route is served as /{proxy+} (every path below the stage, not the stage's root itself)",
                );
                format!("{base}/{{proxy+}}")
            } else {
                format!("{base}{path}")
            };
            if let Some(segment) = super::path_variables::partial_segment(&route_path) {
                self.warn(
                    &at,
                    format!("the path segment '{segment}' mixes a variable with other text, which a gateway resource cannot match (a variable is a whole segment, as in AWS); its operations are left out"),
                );
                continue;
            }
            let shared = item.get("parameters");
            for (key, op) in item {
                let verb = match key.as_str() {
                    ANY_METHOD => "ANY".to_owned(),
                    v if VERBS.contains(&v) => v.to_ascii_uppercase(),
                    "trace" => {
                        self.warn(child(&at, key), "TRACE is not a gateway method; left out");
                        continue;
                    }
                    "servers" => {
                        self.warn(child(&at, key), "servers of one path are not used: routes go where their integration says");
                        continue;
                    }
                    _ => continue,
                };
                let op_at = child(&at, key);
                let Some(op) = self.object(op, &op_at) else {
                    continue;
                };
                self.operation(&route_path, &verb, op, shared, &op_at);
            }
            self.unknown_extensions(item, &at, &[ANY_METHOD]);
        }
    }

    /// The base path: Swagger's `basePath`, or the path of the first
    /// server's URL (its variables at their defaults).
    fn base_path(&self) -> String {
        let raw = if self.dialect.is_swagger() {
            self.doc
                .get("basePath")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        } else {
            let url = self.server_url().unwrap_or_default();
            match url.split_once("://") {
                Some((_, rest)) => rest
                    .find('/')
                    .map_or(String::new(), |i| rest[i..].to_owned()),
                None => url,
            }
        };
        let trimmed = raw.trim_end_matches('/');
        if trimmed.is_empty() || trimmed.starts_with('/') {
            trimmed.to_owned()
        } else {
            format!("/{trimmed}")
        }
    }

    /// The first server's URL with its variables at their defaults
    /// (Swagger: `{scheme}://{host}{basePath}`).
    fn server_url(&self) -> Option<String> {
        if self.dialect.is_swagger() {
            let host = self.doc.get("host")?.as_str()?;
            let scheme = self
                .doc
                .get("schemes")
                .and_then(Value::as_array)
                .and_then(|s| s.first())
                .and_then(Value::as_str)
                .unwrap_or("https");
            let base = self
                .doc
                .get("basePath")
                .and_then(Value::as_str)
                .unwrap_or_default();
            return Some(format!("{scheme}://{host}{}", base.trim_end_matches('/')));
        }
        let server = self.doc.get("servers")?.as_array()?.first()?;
        let mut url = server.get("url")?.as_str()?.to_owned();
        if let Some(vars) = server.get("variables").and_then(Value::as_object) {
            for (name, var) in vars {
                let default = var
                    .get("default")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                url = url.replace(&format!("{{{name}}}"), default);
            }
        }
        Some(url.trim_end_matches('/').to_owned())
    }

    fn operation(
        &mut self,
        path: &str,
        verb: &str,
        op: &'d Map<String, Value>,
        shared: Option<&'d Value>,
        at: &str,
    ) {
        let name = self.operation_name(op, at);
        let mut route = RouteSpec {
            route_key: None,
            path: path.to_owned(),
            method: verb.to_owned(),
            operation_name: name.clone(),
            // Replaced by the operation's integration below.
            integration: IntegrationSpec::fixed_mock(200, BTreeMap::new(), String::new()),
            route_response_selection_expression: None,
            model_selection_expression: None,
            api_key_required: false,
            authorizer: None,
            authorization: None,
            scopes: Vec::new(),
            request_parameters: BTreeMap::new(),
            request_models: BTreeMap::new(),
            request_validator: None,
            method_responses: Vec::new(),
        };
        // Names of models made from inline schemas start with this.
        let base = match &name {
            Some(id) => upper_first(id),
            None => fallback_name(verb, path),
        };
        self.parameters(op, shared, at, &base, &mut route);
        if !self.http_api {
            if let Some(body) = op.get("requestBody") {
                self.request_body(body, &child(at, "requestBody"), &base, &mut route);
            }
            self.responses(op, at, &base, &mut route);
        }
        self.route_security(op, at, &mut route);
        if let Some(auth) = op.get("x-amazon-apigateway-auth") {
            let auth_at = child(at, "x-amazon-apigateway-auth");
            match auth
                .get("type")
                .and_then(Value::as_str)
                .map(str::to_ascii_uppercase)
                .as_deref()
            {
                Some("AWS_IAM") => route.authorization = Some("AWS_IAM".into()),
                Some("NONE") => {}
                _ => self.error(auth_at, "expected {type: AWS_IAM} or {type: NONE}"),
            }
        }
        route.request_validator = match op.get(REQUEST_VALIDATOR) {
            _ if self.http_api => None,
            Some(v) => self.text(v, &child(at, REQUEST_VALIDATOR)),
            None => self
                .doc
                .get(REQUEST_VALIDATOR)
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        // HTTP APIs and unvalidated routes: "NONE" is AWS's explicit "no validator".
        if route
            .request_validator
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case("NONE"))
        {
            route.request_validator = None;
        }
        match self.integration(op, at) {
            None => return,
            Some(Some(integration)) => route.integration = integration,
            Some(None) => route.integration = self.default_integration(op, verb, path, at),
        }
        for key in ["callbacks", "servers"] {
            if op.contains_key(key) {
                self.warn(
                    child(at, key),
                    format!("{key} of an operation are not used by the gateway"),
                );
            }
        }
        self.unknown_extensions(op, at, OPERATION_EXTENSIONS);
        self.spec.routes.push(route);
        self.origins.routes.push(at.to_owned());
    }

    /// The operationId as the method's name, when it is one SDKs can use
    /// and no other operation has it.
    fn operation_name(&mut self, op: &Map<String, Value>, at: &str) -> Option<String> {
        let id = op.get("operationId")?;
        let here = child(at, "operationId");
        let id = self.text(id, &here)?;
        if let Err(v) = operation_name(&here, &id) {
            self.warn(
                here,
                format!("{}; the route is imported without a name", v.reason),
            );
            return None;
        }
        if !self.operation_names.insert(id.clone()) {
            self.warn(here, format!("operationId '{id}' is used by another operation too; this one is imported without a name"));
            return None;
        }
        Some(id)
    }

    /// Path-level and operation-level parameters (the operation's win, by
    /// name and place) → the route's declared request parameters; a
    /// Swagger body parameter → its models.
    fn parameters(
        &mut self,
        op: &'d Map<String, Value>,
        shared: Option<&'d Value>,
        at: &str,
        base: &str,
        route: &mut RouteSpec,
    ) {
        let at_path = at.rsplit_once('/').map_or("", |(h, _)| h).to_owned();
        let mut all: Vec<(&'d Value, String)> = Vec::new();
        for (list, list_at) in [
            (shared, child(&at_path, "parameters")),
            (op.get("parameters"), child(at, "parameters")),
        ] {
            let Some(list) = list else {
                continue;
            };
            let Some(items) = list.as_array() else {
                self.error(
                    list_at,
                    format!("expected a list of parameters, found {}", kind_of(list)),
                );
                continue;
            };
            for (i, p) in items.iter().enumerate() {
                all.push((p, format!("{list_at}/{i}")));
            }
        }
        let mut by_key: BTreeMap<(String, String), (&'d Value, String)> = BTreeMap::new();
        for (p, p_at) in all {
            let Some((p, p_at)) = self.resolve(p, &p_at) else {
                continue;
            };
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let place = p
                .get("in")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            by_key.insert((place, name), (p, p_at));
        }
        for ((place, name), (p, p_at)) in by_key {
            let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
            let is_array = p
                .get("type")
                .or_else(|| p.pointer("/schema/type"))
                .and_then(Value::as_str)
                == Some("array");
            let key = match place.as_str() {
                // Exports mark the template variables a route does not
                // declare (OpenAPI needs a parameter for each).
                "path" if p.get(ARCHWAY_UNDECLARED) == Some(&Value::Bool(true)) => continue,
                "path" => format!("method.request.path.{name}"),
                "query" if is_array => format!("method.request.multivaluequerystring.{name}"),
                "query" => format!("method.request.querystring.{name}"),
                "header" if is_array => format!("method.request.multivalueheader.{name}"),
                "header" => format!("method.request.header.{name}"),
                "body" => {
                    if !self.http_api
                        && let Some(schema) = p.get("schema")
                    {
                        let types = self.media_types(op, "consumes");
                        self.body_models(schema, &child(&p_at, "schema"), &types, base, route);
                    }
                    continue;
                }
                other => {
                    self.warn(p_at, format!("{other} parameters are not request parameters a gateway declares; left out"));
                    continue;
                }
            };
            route
                .request_parameters
                .insert(key, place == "path" || required);
        }
    }

    /// The media types a Swagger operation consumes or produces (`key`),
    /// its own or the document's; JSON when neither says.
    fn media_types(&self, op: &Map<String, Value>, key: &str) -> Vec<String> {
        let list = op
            .get(key)
            .or_else(|| self.doc.get(key))
            .and_then(Value::as_array);
        let types: Vec<String> = list
            .map(|l| {
                l.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if types.is_empty() {
            vec!["application/json".to_owned()]
        } else {
            types
        }
    }

    /// One schema for each of `types`.
    fn body_models(
        &mut self,
        schema: &'d Value,
        at: &str,
        types: &[String],
        base: &str,
        route: &mut RouteSpec,
    ) {
        let Some(model) = self.model_for(schema, at, &format!("{base}Request")) else {
            return;
        };
        for content_type in types {
            route
                .request_models
                .insert(model_key(content_type), model.clone());
        }
    }

    /// OpenAPI 3's requestBody → a model per content type.
    fn request_body(&mut self, body: &'d Value, at: &str, base: &str, route: &mut RouteSpec) {
        let Some((body, at)) = self.resolve(body, at) else {
            return;
        };
        let Some(content) = body.get("content").and_then(Value::as_object) else {
            return;
        };
        let several = content.len() > 1;
        for (content_type, media) in content {
            let Some(schema) = media.get("schema") else {
                continue;
            };
            let here = child(&child(&child(&at, "content"), content_type), "schema");
            let fallback = if several {
                format!("{base}Request{}", type_word(content_type))
            } else {
                format!("{base}Request")
            };
            if let Some(model) = self.model_for(schema, &here, &fallback) {
                route.request_models.insert(model_key(content_type), model);
            }
        }
    }

    /// `responses` → method responses: status codes with their headers
    /// and models. `default` and ranges (`2XX`) have no method response.
    fn responses(
        &mut self,
        op: &'d Map<String, Value>,
        at: &str,
        base: &str,
        route: &mut RouteSpec,
    ) {
        let Some(responses) = op.get("responses") else {
            return;
        };
        let at = child(at, "responses");
        let Some(responses) = self.object(responses, &at) else {
            return;
        };
        for (code, response) in responses {
            let here = child(&at, code);
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
                // A `default` that only describes (what exports write for a
                // route without method responses) declares nothing.
                let describes_only = response
                    .as_object()
                    .is_some_and(|r| r.keys().all(|k| k == "description"));
                if !describes_only && !code.starts_with("x-") {
                    self.warn(here, format!("'{code}' is not one status code; method responses are declared per code, so it is left out"));
                }
                continue;
            }
            let Some((response, here)) = self.resolve(response, &here) else {
                continue;
            };
            let mut declared = MethodResponseSpec {
                status_code: code.clone(),
                response_parameters: BTreeMap::new(),
                response_models: BTreeMap::new(),
            };
            if let Some(headers) = response.get("headers").and_then(Value::as_object) {
                for (name, header) in headers {
                    if let Some(reason) = reserved_header(name) {
                        self.warn(
                            child(&child(&here, "headers"), name),
                            format!("{reason}; the declaration is left out"),
                        );
                        continue;
                    }
                    let header = refs::follow(self.doc, header, &child(&here, name))
                        .map(|(h, _)| h)
                        .unwrap_or(header);
                    let required = header
                        .get("required")
                        .or_else(|| header.get(ARCHWAY_REQUIRED))
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    declared
                        .response_parameters
                        .insert(format!("method.response.header.{name}"), required);
                }
            }
            let fallback = format!("{base}Response{code}");
            if self.dialect.is_swagger() {
                if let Some(schema) = response.get("schema")
                    && let Some(model) = self.model_for(schema, &child(&here, "schema"), &fallback)
                {
                    for content_type in self.media_types(op, "produces") {
                        declared.response_models.insert(content_type, model.clone());
                    }
                }
            } else if let Some(content) = response.get("content").and_then(Value::as_object) {
                let several = content.len() > 1;
                for (content_type, media) in content {
                    let Some(schema) = media.get("schema") else {
                        continue;
                    };
                    let name = if several {
                        format!("{fallback}{}", type_word(content_type))
                    } else {
                        fallback.clone()
                    };
                    let schema_at = child(&child(&child(&here, "content"), content_type), "schema");
                    if let Some(model) = self.model_for(schema, &schema_at, &name) {
                        declared.response_models.insert(content_type.clone(), model);
                    }
                }
            }
            route.method_responses.push(declared);
        }
    }

    /// What answers an operation the document gives no integration.
    fn default_integration(
        &mut self,
        op: &Map<String, Value>,
        verb: &str,
        path: &str,
        at: &str,
    ) -> IntegrationSpec {
        if let Some(server) = self
            .server_url()
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        {
            let uri = format!("{server}{}", path.replace("+}", "}"));
            self.warn(
                at,
                format!("no {INTEGRATION}: proxied to the document's server, {uri} (HTTP_PROXY); add the extension to choose"),
            );
            return IntegrationSpec::HttpProxy {
                uri,
                http_method: (verb != "ANY").then(|| verb.to_owned()),
                timeout_ms: None,
                cache_key_parameters: Vec::new(),
                request_parameters: BTreeMap::new(),
            };
        }
        let (status, body) = self.example_answer(op);
        self.warn(
            at,
            format!("no {INTEGRATION} and no server to proxy to: answered by a MOCK with status {status} and the operation's example; add the extension to choose"),
        );
        let headers = if body.is_empty() {
            BTreeMap::new()
        } else {
            [("Content-Type".to_owned(), "application/json".to_owned())].into()
        };
        IntegrationSpec::fixed_mock(status, headers, body)
    }

    /// The first success status an operation declares and its JSON example
    /// (empty when it has none).
    fn example_answer(&self, op: &Map<String, Value>) -> (u32, String) {
        let Some(responses) = op.get("responses").and_then(Value::as_object) else {
            return (200, String::new());
        };
        let Some((code, response)) = responses
            .iter()
            .find(|(c, _)| c.starts_with('2') && c.len() == 3)
        else {
            return (200, String::new());
        };
        let status = code.parse().unwrap_or(200);
        let response = refs::follow(self.doc, response, "")
            .map(|(r, _)| r)
            .unwrap_or(response);
        let example = response
            .pointer("/content/application~1json/example")
            .or_else(|| {
                response
                    .pointer("/content/application~1json/examples")
                    .and_then(Value::as_object)
                    .and_then(|e| e.values().next())
                    .and_then(|e| e.get("value"))
            })
            .or_else(|| response.pointer("/examples/application~1json"));
        (status, example.map(Value::to_string).unwrap_or_default())
    }
}

/// `request_models`' key for a content type (`*/*` is AWS's `$default`).
fn model_key(content_type: &str) -> String {
    if content_type == ANY_CONTENT_TYPE {
        DEFAULT_MODEL_KEY.to_owned()
    } else {
        content_type.to_owned()
    }
}

/// A content type as a word of a model name (`application/xml` → `Xml`).
fn type_word(content_type: &str) -> String {
    let sub = content_type.rsplit('/').next().unwrap_or(content_type);
    let mut out = String::new();
    for part in sub.split(|c: char| !c.is_ascii_alphanumeric()) {
        out.push_str(&upper_first(part));
    }
    out
}

/// `listPets` → `ListPets`.
fn upper_first(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_ascii_uppercase().to_string() + chars.as_str()
    })
}

/// A model-name stem for an operation without an operationId: the verb and
/// the path's words (`POST /pets/{id}/toys` → `PostPetsIdToys`).
fn fallback_name(verb: &str, path: &str) -> String {
    let mut out = String::new();
    for word in std::iter::once(verb.to_ascii_lowercase().as_str())
        .chain(path.split(|c: char| !c.is_ascii_alphanumeric()))
    {
        out.push_str(&upper_first(word));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_inline_models_come_from_the_verb_and_path() {
        assert_eq!(fallback_name("POST", "/pets/{id}/toys"), "PostPetsIdToys");
        assert_eq!(fallback_name("ANY", "/{proxy+}"), "AnyProxy");
        assert_eq!(type_word("application/vnd.api+json"), "VndApiJson");
        assert_eq!(model_key("*/*"), "$default");
    }
}
