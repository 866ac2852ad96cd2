//! Routes as `paths`: one operation per route, `ANY` as
//! `x-amazon-apigateway-any-method`, with its parameters, request body,
//! responses, security, request validator and integration.
//!
//! Where the versions differ: OpenAPI 3.0 parameters carry a `schema` and
//! bodies are `requestBody.content`; Swagger 2.0 parameters carry `type`,
//! a body is one `in: body` parameter with `consumes`, and a response has
//! one `schema` with `produces`.

use super::context::Context;
use super::{examples, integration, security};
use crate::declarative::document::{MethodResponseSpec, RouteSpec};
use crate::openapi::mapping::*;
use archway_proto::mapping_expr::{Location, Source, parse_source};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// `paths`, keyed by resource path, each with its operations by verb.
pub(super) fn paths(cx: &mut Context) -> Map<String, Value> {
    let mut paths: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    let mut without_integration = 0;
    for route in &cx.spec.routes {
        if route.route_key.is_some() || route.path.is_empty() {
            cx.warnings.push(format!(
                "route '{}' has no path and verb, which OpenAPI needs, and is left out",
                route.route_key.as_deref().unwrap_or_default()
            ));
            continue;
        }
        let verb = route.method.to_ascii_lowercase();
        let key = if verb == "any" {
            ANY_METHOD.to_owned()
        } else if VERBS.contains(&verb.as_str()) {
            verb
        } else {
            cx.warnings.push(format!(
                "route {} {}: OpenAPI has no verb {}, so the route is left out",
                route.method, route.path, route.method
            ));
            continue;
        };
        let op = operation(cx, route);
        without_integration += usize::from(!cx.integrations);
        paths
            .entry(route.path.as_str())
            .or_default()
            .insert(key, op);
    }
    if without_integration > 0 {
        cx.warnings.push(format!(
            "the integrations of {without_integration} route(s) are left out: export with extensions=integrations (or apigateway) to include them"
        ));
    }
    paths
        .into_iter()
        .map(|(path, ops)| (path.to_owned(), Value::Object(ops)))
        .collect()
}

fn operation(cx: &mut Context, route: &RouteSpec) -> Value {
    let mut op = Map::new();
    if let Some(name) = &route.operation_name {
        op.insert("operationId".into(), json!(name));
    }
    let mut parameters = parameters(cx, route);
    if let Some(body) = request_body(cx, route) {
        match body {
            Body::Oas3(body) => {
                op.insert("requestBody".into(), body);
            }
            Body::Swagger {
                consumes,
                parameter,
            } => {
                op.insert("consumes".into(), json!(consumes));
                parameters.push(parameter);
            }
        }
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    let (responses, produces) = responses(cx, route);
    if !produces.is_empty() {
        op.insert("produces".into(), json!(produces));
    }
    op.insert("responses".into(), Value::Object(responses));
    if let Some(security) = security::requirement(cx, route) {
        op.insert("security".into(), security);
    }
    if cx.apigateway
        && let Some(validator) = &route.request_validator
    {
        op.insert(REQUEST_VALIDATOR.into(), json!(validator));
    }
    if cx.integrations {
        let (aws, archway) = integration::objects(&route.integration);
        op.insert(INTEGRATION.into(), aws);
        if let Some(archway) = archway {
            op.insert(ARCHWAY_INTEGRATION.into(), archway);
        }
    }
    Value::Object(op)
}

/// The variables of a path template, in order: `/a/{id}/{proxy+}` →
/// `id`, `proxy` (a greedy variable's parameter is named without `+`, as
/// AWS names it).
pub(super) fn path_variables(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        out.push(name.strip_suffix('+').unwrap_or(name));
        rest = &rest[open + close + 1..];
    }
    out
}

/// One parameter: where, whether required, and whether multi-valued.
struct Declared {
    required: bool,
    multi: bool,
    declared: bool,
}

/// Path parameters in template order (each variable one, declared by the
/// route or not), then query, then header parameters, by name.
fn parameters(cx: &mut Context, route: &RouteSpec) -> Vec<Value> {
    let mut by_place: BTreeMap<(u8, &str), Declared> = BTreeMap::new();
    let mut order_of_path: Vec<&str> = Vec::new();
    for name in path_variables(&route.path) {
        order_of_path.push(name);
        by_place.insert(
            (0, name),
            Declared {
                required: true,
                multi: false,
                declared: false,
            },
        );
    }
    for (key, required) in &route.request_parameters {
        let Ok(source) = parse_source(key) else {
            continue;
        };
        let (location, name, multi) = match &source {
            Source::MethodRequest { location, .. } => (*location, key_name(key), false),
            Source::MethodRequestMultiValue { location, .. } => (*location, key_name(key), true),
            _ => continue,
        };
        let place = match location {
            Location::Path => 0,
            Location::QueryString => 1,
            Location::Header => 2,
        };
        if location == Location::Path && !required {
            cx.warnings.push(format!(
                "route {} {}: path parameter '{name}' is declared not required, but OpenAPI's path parameters always are; it is written as required",
                route.method, route.path
            ));
        }
        match by_place.get_mut(&(place, name)) {
            Some(p) if p.declared => {
                // Both the single- and the multi-value form: one parameter,
                // the multi-value one (which reads every value).
                cx.warnings.push(format!(
                    "route {} {}: {} parameter '{name}' is declared in both its single- and multi-value forms, which OpenAPI cannot tell apart; it is written once, as multi-valued",
                    route.method,
                    route.path,
                    location.as_str()
                ));
                p.required |= *required;
                p.multi = true;
            }
            Some(p) => {
                p.declared = true;
                p.multi = multi;
            }
            None => {
                by_place.insert(
                    (place, name),
                    Declared {
                        required: *required,
                        multi,
                        declared: true,
                    },
                );
            }
        }
    }
    let mut out = Vec::new();
    let path_first = order_of_path
        .iter()
        .map(|name| ((0u8, *name), &by_place[&(0, *name)]));
    let others = by_place.iter().filter(|((place, _), _)| *place != 0);
    for ((place, name), p) in path_first.chain(others.map(|(k, v)| (*k, v))) {
        let location = ["path", "query", "header"][usize::from(place)];
        out.push(parameter(cx, location, name, p));
    }
    out
}

/// The parameter's name as written: the key ends with it.
fn key_name(key: &str) -> &str {
    key.rsplit_once('.').map_or(key, |(_, name)| name)
}

fn parameter(cx: &Context, location: &str, name: &str, p: &Declared) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(name));
    o.insert("in".into(), json!(location));
    o.insert("required".into(), json!(location == "path" || p.required));
    let schema = if p.multi {
        json!({ "type": "array", "items": { "type": "string" } })
    } else {
        json!({ "type": "string" })
    };
    if cx.swagger {
        let Value::Object(schema) = schema else {
            unreachable!()
        };
        o.extend(schema);
        if p.multi {
            let format = if location == "query" { "multi" } else { "csv" };
            o.insert("collectionFormat".into(), json!(format));
        }
    } else {
        o.insert("schema".into(), schema);
    }
    if cx.postman {
        o.insert("example".into(), json!(name));
        if cx.swagger {
            // Swagger's non-body parameters have no `example`.
            o.remove("example");
            o.insert("x-example".into(), json!(name));
        }
    }
    if cx.apigateway && location == "path" && !p.declared {
        o.insert(ARCHWAY_UNDECLARED.into(), json!(true));
    }
    Value::Object(o)
}

enum Body {
    Oas3(Value),
    Swagger {
        consumes: Vec<String>,
        parameter: Value,
    },
}

fn content_type(key: &str) -> &str {
    if key == DEFAULT_MODEL_KEY {
        ANY_CONTENT_TYPE
    } else {
        key
    }
}

fn request_body(cx: &mut Context, route: &RouteSpec) -> Option<Body> {
    if route.request_models.is_empty() {
        return None;
    }
    if !cx.swagger {
        let content: Map<String, Value> = route
            .request_models
            .iter()
            .map(|(key, model)| (content_type(key).to_owned(), media(cx, model)))
            .collect();
        return Some(Body::Oas3(json!({ "content": content })));
    }
    let consumes: Vec<String> = route
        .request_models
        .keys()
        .map(|k| content_type(k).to_owned())
        .collect();
    let model = one_model(cx, route, "request", &route.request_models)?;
    let mut parameter = json!({
        "in": "body",
        "name": model,
        "required": true,
        "schema": { "$ref": schema_ref(true, model) },
    });
    if cx.postman {
        parameter["schema"]["example"] = examples::of_model(cx, model);
    }
    Some(Body::Swagger {
        consumes,
        parameter,
    })
}

/// Swagger's single schema for a set of content types: the model of
/// `application/json` (else the first), with a warning when they differ.
fn one_model<'m>(
    cx: &mut Context,
    route: &RouteSpec,
    what: &str,
    models: &'m BTreeMap<String, String>,
) -> Option<&'m str> {
    let chosen = models
        .get("application/json")
        .or_else(|| models.values().next())?;
    if models.values().any(|m| m != chosen) {
        cx.warnings.push(format!(
            "route {} {}: Swagger 2.0 has one {what} schema for every content type, so the {what} models other than '{chosen}' are left out",
            route.method, route.path
        ));
    }
    Some(chosen)
}

/// A media type object naming `model` (with an example for Postman).
fn media(cx: &Context, model: &str) -> Value {
    let mut m = json!({ "schema": { "$ref": schema_ref(false, model) } });
    if cx.postman {
        m["example"] = examples::of_model(cx, model);
    }
    m
}

/// `responses` (and Swagger's `produces`). A route that declares no status
/// has OpenAPI's `default` response, which the import does not read as a
/// method response (AWS's are status codes).
fn responses(cx: &mut Context, route: &RouteSpec) -> (Map<String, Value>, Vec<String>) {
    let mut out = Map::new();
    let mut produces: Vec<String> = Vec::new();
    for r in &route.method_responses {
        let response = method_response(cx, route, r, &mut produces);
        out.insert(r.status_code.clone(), response);
    }
    if out.is_empty() {
        out.insert(
            "default".into(),
            json!({ "description": DEFAULT_RESPONSE_DESCRIPTION }),
        );
    }
    produces.sort();
    produces.dedup();
    (out, produces)
}

fn method_response(
    cx: &mut Context,
    route: &RouteSpec,
    r: &MethodResponseSpec,
    produces: &mut Vec<String>,
) -> Value {
    let mut o = Map::new();
    o.insert(
        "description".into(),
        json!(format!("{} response", r.status_code)),
    );
    let mut headers = Map::new();
    let mut lost_required = false;
    for (key, required) in &r.response_parameters {
        let name = key.strip_prefix("method.response.header.").unwrap_or(key);
        let header = if cx.swagger {
            lost_required |= *required;
            json!({ "type": "string" })
        } else {
            json!({ "required": required, "schema": { "type": "string" } })
        };
        headers.insert(name.to_owned(), header);
    }
    if lost_required {
        cx.warnings.push(format!(
            "route {} {}: Swagger 2.0's response headers cannot be required, so response {}'s are written as optional",
            route.method, route.path, r.status_code
        ));
    }
    if !headers.is_empty() {
        o.insert("headers".into(), Value::Object(headers));
    }
    if r.response_models.is_empty() {
        return Value::Object(o);
    }
    if cx.swagger {
        produces.extend(r.response_models.keys().cloned());
        let what = format!("response {}", r.status_code);
        if let Some(model) = one_model(cx, route, &what, &r.response_models) {
            o.insert("schema".into(), json!({ "$ref": schema_ref(true, model) }));
            if cx.postman {
                let example = examples::of_model(cx, model);
                let examples: Map<String, Value> = r
                    .response_models
                    .iter()
                    .filter(|(_, m)| *m == model)
                    .map(|(ct, _)| (ct.clone(), example.clone()))
                    .collect();
                o.insert("examples".into(), Value::Object(examples));
            }
        }
    } else {
        let content: Map<String, Value> = r
            .response_models
            .iter()
            .map(|(ct, model)| (ct.clone(), media(cx, model)))
            .collect();
        o.insert("content".into(), Value::Object(content));
    }
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::super::{ExportOptions, document::Target, document::document};
    use super::*;
    use crate::declarative::document::ApiSpec;

    fn api() -> ApiSpec {
        serde_saphyr::from_str(
            r#"
name: pets
id: pets
models:
  - { name: Pet, schema: { type: object, properties: { name: { type: string }, age: { type: integer } } } }
  - { name: Error, schema: { type: object, properties: { message: { type: string } } } }
  - { name: Text, content_type: text/plain, schema: { type: string } }
request_validators: [{ name: all, body: true, parameters: true }]
routes:
  - path: /pets/{petId}/files/{file+}
    method: GET
    operation_name: getFile
    integration: { type: HTTP_PROXY, uri: "http://b/{petId}" }
    request_parameters:
      method.request.path.petId: true
      method.request.querystring.q: false
      method.request.multivaluequerystring.tag: true
      method.request.header.X-Trace: true
      method.request.multivalueheader.X-Many: false
    request_validator: all
    method_responses:
      - status_code: "200"
        response_parameters: { method.response.header.X-Rate: true }
        response_models: { application/json: Pet }
      - status_code: "404"
        response_models: { application/json: Error }
  - path: /pets
    method: POST
    integration: { type: MOCK }
    request_models: { application/json: Pet, $default: Text }
  - path: /pets
    method: ANY
    integration: { type: MOCK }
"#,
        )
        .unwrap()
    }

    fn export(options: ExportOptions) -> (Value, Vec<String>) {
        let target = Target {
            version: "v".into(),
            server_url: None,
        };
        let out = document(&api(), &target, &options);
        (out.document, out.warnings)
    }

    #[test]
    fn path_variables_in_order_without_the_greedy_plus() {
        assert_eq!(path_variables("/a/{id}/b/{proxy+}"), ["id", "proxy"]);
        assert!(path_variables("/").is_empty());
    }

    #[test]
    fn oas3_parameters_have_schemas_and_every_path_variable_is_one() {
        let (oas, _) = export(ExportOptions::default());
        let op = &oas["paths"]["/pets/{petId}/files/{file+}"]["get"];
        assert_eq!(op["operationId"], "getFile");
        assert_eq!(
            op["parameters"],
            json!([
                { "name": "petId", "in": "path", "required": true, "schema": { "type": "string" } },
                { "name": "file", "in": "path", "required": true, "schema": { "type": "string" } },
                { "name": "q", "in": "query", "required": false, "schema": { "type": "string" } },
                { "name": "tag", "in": "query", "required": true, "schema": { "type": "array", "items": { "type": "string" } } },
                { "name": "X-Many", "in": "header", "required": false, "schema": { "type": "array", "items": { "type": "string" } } },
                { "name": "X-Trace", "in": "header", "required": true, "schema": { "type": "string" } },
            ])
        );
        assert!(op.get(REQUEST_VALIDATOR).is_none(), "apigateway only");
        assert!(op.get(INTEGRATION).is_none(), "integrations only");
    }

    #[test]
    fn undeclared_path_variables_are_marked_with_apigateway() {
        let options = ExportOptions {
            apigateway: true,
            ..Default::default()
        };
        let (oas, _) = export(options);
        let op = &oas["paths"]["/pets/{petId}/files/{file+}"]["get"];
        assert!(op["parameters"][0].get(ARCHWAY_UNDECLARED).is_none());
        assert_eq!(op["parameters"][1][ARCHWAY_UNDECLARED], true);
        assert_eq!(op[REQUEST_VALIDATOR], "all");
        assert_eq!(op[INTEGRATION]["type"], "http_proxy");
    }

    #[test]
    fn swagger_parameters_are_typed_and_multi_values_have_a_collection_format() {
        let options = ExportOptions {
            swagger: true,
            ..Default::default()
        };
        let (sw, warnings) = export(options);
        let op = &sw["paths"]["/pets/{petId}/files/{file+}"]["get"];
        assert_eq!(
            op["parameters"][3],
            json!({ "name": "tag", "in": "query", "required": true, "type": "array", "items": { "type": "string" }, "collectionFormat": "multi" })
        );
        assert_eq!(op["parameters"][4]["collectionFormat"], "csv");
        assert_eq!(op["parameters"][0]["type"], "string");
        assert_eq!(op["produces"], json!(["application/json"]));
        assert_eq!(
            op["responses"]["200"],
            json!({ "description": "200 response", "headers": { "X-Rate": { "type": "string" } }, "schema": { "$ref": "#/definitions/Pet" } })
        );
        assert!(
            warnings.iter().any(|w| w.contains("cannot be required")),
            "{warnings:?}"
        );
    }

    #[test]
    fn oas3_responses_have_content_and_headers() {
        let (oas, _) = export(ExportOptions::default());
        let op = &oas["paths"]["/pets/{petId}/files/{file+}"]["get"];
        assert_eq!(
            op["responses"]["200"],
            json!({
                "description": "200 response",
                "headers": { "X-Rate": { "required": true, "schema": { "type": "string" } } },
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Pet" } } }
            })
        );
        assert_eq!(
            oas["paths"]["/pets"]["post"]["responses"],
            json!({ "default": { "description": DEFAULT_RESPONSE_DESCRIPTION } })
        );
    }

    #[test]
    fn request_bodies_by_version() {
        let (oas, _) = export(ExportOptions::default());
        assert_eq!(
            oas["paths"]["/pets"]["post"]["requestBody"],
            json!({ "content": {
                "application/json": { "schema": { "$ref": "#/components/schemas/Pet" } },
                "*/*": { "schema": { "$ref": "#/components/schemas/Text" } }
            } })
        );
        let options = ExportOptions {
            swagger: true,
            ..Default::default()
        };
        let (sw, warnings) = export(options);
        let post = &sw["paths"]["/pets"]["post"];
        assert_eq!(post["consumes"], json!(["*/*", "application/json"]));
        assert_eq!(
            post["parameters"],
            json!([{ "in": "body", "name": "Pet", "required": true, "schema": { "$ref": "#/definitions/Pet" } }])
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("other than 'Pet' are left out")),
            "{warnings:?}"
        );
    }

    #[test]
    fn any_is_aws_any_method() {
        let (oas, _) = export(ExportOptions::default());
        assert!(oas["paths"]["/pets"][ANY_METHOD].is_object());
    }

    #[test]
    fn integrations_switch_writes_integration_objects_only() {
        let (plain, warnings) = export(ExportOptions::default());
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("integrations of 3 route(s)")),
            "{warnings:?}"
        );
        assert!(plain["paths"]["/pets"]["post"].get(INTEGRATION).is_none());
        let options = ExportOptions {
            integrations: true,
            ..Default::default()
        };
        let (doc, warnings) = export(options);
        let post = &doc["paths"]["/pets"]["post"];
        assert_eq!(post[INTEGRATION]["type"], "mock");
        assert_eq!(post[ARCHWAY_INTEGRATION]["mock"]["statusCode"], 200);
        assert!(warnings.iter().all(|w| !w.contains("integrations of")));
        assert!(
            doc["paths"]["/pets/{petId}/files/{file+}"]["get"]
                .get(REQUEST_VALIDATOR)
                .is_none()
        );
    }

    #[test]
    fn postman_adds_examples() {
        let options = ExportOptions {
            postman: true,
            ..Default::default()
        };
        let (oas, _) = export(options);
        let media = &oas["paths"]["/pets"]["post"]["requestBody"]["content"]["application/json"];
        assert_eq!(media["example"], json!({ "name": "string", "age": 0 }));
        let op = &oas["paths"]["/pets/{petId}/files/{file+}"]["get"];
        assert_eq!(op["parameters"][0]["example"], "petId");
        let (plain, _) = export(ExportOptions::default());
        assert!(
            plain["paths"]["/pets"]["post"]["requestBody"]["content"]["application/json"]
                .get("example")
                .is_none()
        );
    }
}
