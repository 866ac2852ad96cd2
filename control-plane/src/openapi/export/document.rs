//! An [`ApiSpec`] as a whole OpenAPI 3.0.1 or Swagger 2.0 document: the
//! root (info, servers, components, API-level extensions); paths,
//! schemas, security schemes and integrations are written by their own
//! modules. Pure: the same spec and options give the same bytes (every
//! map is a `serde_json::Map`, ordered by key; every list is in the spec's
//! order, which `declarative::export` sorts by name).

use super::context::Context;
use super::{ExportOptions, Exported, operations, schemas, security};
use crate::declarative::document::ApiSpec;
use crate::openapi::mapping::*;
use serde_json::{Map, Value, json};

/// Where the document says the API is served, and which version of it.
#[derive(Debug, Clone)]
pub struct Target {
    /// `info.version`: the deployment's id, or "draft" for the current
    /// definition.
    pub version: String,
    /// The stage's URL (`http://{api_id}.{domain}/{stage}`); none for the
    /// current definition, which no URL serves.
    pub server_url: Option<String>,
}

/// The document of `spec`, and what it leaves out.
pub fn document(spec: &ApiSpec, target: &Target, options: &ExportOptions) -> Exported {
    let mut cx = Context::new(spec, options);
    let mut doc = Map::new();
    if cx.swagger {
        doc.insert("swagger".into(), json!("2.0"));
    } else {
        doc.insert("openapi".into(), json!("3.0.1"));
    }
    let mut info = Map::new();
    info.insert("title".into(), json!(spec.name));
    if !spec.description.is_empty() {
        info.insert("description".into(), json!(spec.description));
    }
    info.insert("version".into(), json!(target.version));
    doc.insert("info".into(), Value::Object(info));
    server(&mut doc, &cx, target);
    doc.insert("paths".into(), Value::Object(operations::paths(&mut cx)));
    let schemas = schemas::components(&mut cx);
    let schemes = security::schemes(&mut cx);
    if cx.swagger {
        if !schemas.is_empty() {
            doc.insert("definitions".into(), Value::Object(schemas));
        }
        if !schemes.is_empty() {
            doc.insert("securityDefinitions".into(), Value::Object(schemes));
        }
    } else {
        let mut components = Map::new();
        if !schemas.is_empty() {
            components.insert("schemas".into(), Value::Object(schemas));
        }
        if !schemes.is_empty() {
            components.insert("securitySchemes".into(), Value::Object(schemes));
        }
        if !components.is_empty() {
            doc.insert("components".into(), Value::Object(components));
        }
    }
    api_extensions(&mut doc, &mut cx);
    Exported {
        document: Value::Object(doc),
        warnings: cx.warnings,
    }
}

/// OAS3 `servers`; Swagger `host`, `basePath` and `schemes`. An endpoint
/// type other than the default is also said on the server, as AWS does.
fn server(doc: &mut Map<String, Value>, cx: &Context, target: &Target) {
    let Some(url) = &target.server_url else {
        return;
    };
    if cx.swagger {
        let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
        let (host, base_path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        doc.insert("host".into(), json!(host));
        doc.insert("basePath".into(), json!(base_path));
        doc.insert("schemes".into(), json!([scheme]));
    } else {
        let mut server = Map::new();
        server.insert("url".into(), json!(url));
        if cx.apigateway
            && let Some(types) = endpoint_configuration(cx.spec)
        {
            server.insert(ENDPOINT_CONFIGURATION.into(), types);
        }
        doc.insert("servers".into(), json!([server]));
    }
}

fn endpoint_configuration(spec: &ApiSpec) -> Option<Value> {
    spec.endpoint_type
        .as_ref()
        .map(|t| json!({ "types": [t.to_ascii_uppercase()] }))
}

/// The API's own settings as AWS's root extensions (`apigateway` only,
/// except [`IMPORTEXPORT_VERSION`], which says the document is an HTTP
/// API's and so is always written for one).
fn api_extensions(doc: &mut Map<String, Value>, cx: &mut Context) {
    let spec = cx.spec;
    if spec.protocol.as_deref() == Some("HTTP") {
        doc.insert(IMPORTEXPORT_VERSION.into(), json!("1.0"));
    }
    if !cx.apigateway {
        let mut left_out = Vec::new();
        let settings = [
            (spec.api_key_source.is_some(), "the API key source"),
            (spec.policy.is_some(), "the resource policy"),
            (spec.endpoint_type.is_some(), "the endpoint type"),
            (!spec.binary_media_types.is_empty(), "binary media types"),
            (spec.cors.is_some(), "CORS"),
            (!spec.request_validators.is_empty(), "request validators"),
            (!spec.gateway_responses.is_empty(), "gateway responses"),
            (
                spec.models.iter().any(|m| m.content_type.is_some()),
                "models' content types",
            ),
        ];
        for (present, what) in settings {
            if present {
                left_out.push(what);
            }
        }
        if !left_out.is_empty() {
            cx.warnings.push(format!(
                "{} are left out: export with extensions=apigateway to include them",
                left_out.join(", ")
            ));
        }
        return;
    }
    if let Some(source) = &spec.api_key_source {
        doc.insert(API_KEY_SOURCE.into(), json!(source.to_ascii_uppercase()));
    }
    if let Some(policy) = &spec.policy {
        doc.insert(POLICY.into(), policy.clone());
    }
    if let Some(types) = endpoint_configuration(spec) {
        doc.insert(ENDPOINT_CONFIGURATION.into(), types);
    }
    if !spec.binary_media_types.is_empty() {
        doc.insert(BINARY_MEDIA_TYPES.into(), json!(spec.binary_media_types));
    }
    if let Some(cors) = &spec.cors {
        let mut c = Map::new();
        let lists = [
            ("allowOrigins", &cors.allow_origins),
            ("allowMethods", &cors.allow_methods),
            ("allowHeaders", &cors.allow_headers),
            ("exposeHeaders", &cors.expose_headers),
        ];
        for (key, list) in lists {
            if !list.is_empty() {
                c.insert(key.into(), json!(list));
            }
        }
        if let Some(max_age) = cors.max_age_seconds {
            c.insert("maxAge".into(), json!(max_age));
        }
        if cors.allow_credentials {
            c.insert("allowCredentials".into(), json!(true));
        }
        doc.insert(CORS.into(), Value::Object(c));
    }
    if !spec.request_validators.is_empty() {
        let validators: Map<String, Value> = spec
            .request_validators
            .iter()
            .map(|v| {
                (
                    v.name.clone(),
                    json!({
                        "validateRequestBody": v.body,
                        "validateRequestParameters": v.parameters,
                    }),
                )
            })
            .collect();
        doc.insert(REQUEST_VALIDATORS.into(), Value::Object(validators));
    }
    if !spec.gateway_responses.is_empty() {
        let responses: Map<String, Value> = spec
            .gateway_responses
            .iter()
            .map(|r| {
                let mut o = Map::new();
                if !r.status_code.is_empty() {
                    o.insert("statusCode".into(), json!(r.status_code));
                }
                if !r.response_parameters.is_empty() {
                    o.insert("responseParameters".into(), json!(r.response_parameters));
                }
                if !r.response_templates.is_empty() {
                    o.insert("responseTemplates".into(), json!(r.response_templates));
                }
                (r.response_type.clone(), Value::Object(o))
            })
            .collect();
        doc.insert(GATEWAY_RESPONSES.into(), Value::Object(responses));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::declarative::document::{
        CorsSpec, GatewayResponseSpec, IntegrationSpec, RequestValidatorSpec, RouteSpec,
    };

    pub(crate) fn spec(yaml: &str) -> ApiSpec {
        serde_saphyr::from_str(yaml).expect("a test spec parses")
    }

    fn target() -> Target {
        Target {
            version: "d1".into(),
            server_url: Some("http://pets.execute-api.localhost:8080/prod".into()),
        }
    }

    fn all() -> ExportOptions {
        ExportOptions {
            apigateway: true,
            ..Default::default()
        }
    }

    #[test]
    fn the_root_names_the_api_its_version_and_its_stage() {
        let api = spec("name: pets\nid: pets\ndescription: Pets\n");
        let oas = document(&api, &target(), &ExportOptions::default()).document;
        assert_eq!(oas["openapi"], "3.0.1");
        assert_eq!(oas["info"]["title"], "pets");
        assert_eq!(oas["info"]["description"], "Pets");
        assert_eq!(oas["info"]["version"], "d1");
        assert_eq!(
            oas["servers"],
            json!([{ "url": "http://pets.execute-api.localhost:8080/prod" }])
        );
        assert_eq!(oas["paths"], json!({}));
        let swagger = ExportOptions {
            swagger: true,
            ..Default::default()
        };
        let sw = document(&api, &target(), &swagger).document;
        assert_eq!(sw["swagger"], "2.0");
        assert_eq!(sw["host"], "pets.execute-api.localhost:8080");
        assert_eq!(sw["basePath"], "/prod");
        assert_eq!(sw["schemes"], json!(["http"]));
        assert!(sw.get("servers").is_none() && sw.get("openapi").is_none());
    }

    #[test]
    fn the_current_definition_has_no_server() {
        let api = spec("name: pets\n");
        let draft = Target {
            version: "draft".into(),
            server_url: None,
        };
        let oas = document(&api, &draft, &ExportOptions::default()).document;
        assert_eq!(oas["info"]["version"], "draft");
        assert!(oas.get("servers").is_none());
    }

    fn with_settings() -> ApiSpec {
        let mut api = spec(
            "name: pets\nid: pets\napi_key_source: AUTHORIZER\nendpoint_type: PRIVATE\nbinary_media_types: [image/png]\npolicy: { Version: '2012-10-17', Statement: [] }\n",
        );
        api.cors = Some(CorsSpec {
            allow_origins: vec!["https://a.example".into()],
            max_age_seconds: Some(60),
            allow_credentials: true,
            ..Default::default()
        });
        api.request_validators = vec![RequestValidatorSpec {
            name: "all".into(),
            body: true,
            parameters: true,
        }];
        api.gateway_responses = vec![GatewayResponseSpec {
            response_type: "BAD_REQUEST_BODY".into(),
            status_code: "422".into(),
            response_parameters: [(
                "gatewayresponse.header.x-why".to_string(),
                "'bad'".to_string(),
            )]
            .into(),
            response_templates: Default::default(),
        }];
        api
    }

    #[test]
    fn api_settings_are_aws_root_extensions_with_apigateway() {
        let oas = document(&with_settings(), &target(), &all()).document;
        assert_eq!(oas[API_KEY_SOURCE], "AUTHORIZER");
        assert_eq!(oas[ENDPOINT_CONFIGURATION], json!({"types": ["PRIVATE"]}));
        assert_eq!(
            oas["servers"][0][ENDPOINT_CONFIGURATION],
            json!({"types": ["PRIVATE"]})
        );
        assert_eq!(oas[BINARY_MEDIA_TYPES], json!(["image/png"]));
        assert_eq!(oas[POLICY]["Version"], "2012-10-17");
        assert_eq!(
            oas[CORS],
            json!({"allowOrigins": ["https://a.example"], "maxAge": 60, "allowCredentials": true})
        );
        assert_eq!(
            oas[REQUEST_VALIDATORS],
            json!({"all": {"validateRequestBody": true, "validateRequestParameters": true}})
        );
        assert_eq!(
            oas[GATEWAY_RESPONSES],
            json!({"BAD_REQUEST_BODY": {"statusCode": "422", "responseParameters": {"gatewayresponse.header.x-why": "'bad'"}}})
        );
        assert!(oas.get(IMPORTEXPORT_VERSION).is_none(), "a REST API's");
    }

    #[test]
    fn without_apigateway_the_settings_are_left_out_with_a_warning() {
        let out = document(&with_settings(), &target(), &ExportOptions::default());
        let root = out.document.as_object().unwrap();
        assert!(
            root.keys().all(|k| !k.starts_with("x-")),
            "{:?}",
            root.keys()
        );
        assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
        assert!(out.warnings[0].contains("request validators, gateway responses"));
        // Integrations and authorizers alone do not bring them either.
        let some = ExportOptions {
            integrations: true,
            authorizers: true,
            ..Default::default()
        };
        let doc = document(&with_settings(), &target(), &some).document;
        assert!(doc.get(REQUEST_VALIDATORS).is_none() && doc.get(POLICY).is_none());
    }

    #[test]
    fn an_http_api_says_so_in_every_export() {
        let api = spec("name: h\nprotocol: HTTP\n");
        let doc = document(&api, &target(), &ExportOptions::default()).document;
        assert_eq!(doc[IMPORTEXPORT_VERSION], "1.0");
    }

    /// The same API gives the same bytes, whatever order its routes come
    /// in (a deployment stores them by id, the current definition by key).
    #[test]
    fn output_is_deterministic() {
        let mut api = with_settings();
        for i in 0..20 {
            api.routes.push(RouteSpec {
                route_key: None,
                path: format!("/r{}/{{id}}", i % 7),
                method: ["GET", "POST", "DELETE"][i % 3].into(),
                operation_name: None,
                integration: IntegrationSpec::HttpProxy {
                    uri: format!("http://b/{i}"),
                    http_method: None,
                    timeout_ms: None,
                    cache_key_parameters: vec![],
                    request_parameters: Default::default(),
                },
                route_response_selection_expression: None,
                model_selection_expression: None,
                api_key_required: i % 2 == 0,
                authorizer: None,
                authorization: None,
                scopes: vec![],
                request_parameters: [
                    ("method.request.querystring.b".to_string(), false),
                    ("method.request.header.a".to_string(), true),
                ]
                .into(),
                request_models: Default::default(),
                request_validator: Some("all".into()),
                method_responses: vec![],
            });
        }
        let a = serde_json::to_string(&document(&api, &target(), &all()).document).unwrap();
        api.routes.reverse();
        let b = serde_json::to_string(&document(&api, &target(), &all()).document).unwrap();
        assert_eq!(a, b);
    }

    /// The pure part of an export of 500 routes and 50 models (building
    /// the document and writing it as JSON and YAML), without the store
    /// read and gRPC that tests/tests/openapi_export.rs's measurement
    /// includes. Run with `cargo test -p archway-control-plane --lib
    /// export_of_500_routes -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement; run it by name"]
    fn export_of_500_routes() {
        let mut api = with_settings();
        api.models = (0..50)
            .map(|m| crate::declarative::document::ModelSpec {
                name: format!("M{m}"),
                description: String::new(),
                content_type: None,
                schema: json!({ "type": "object", "properties": {
                    "a": { "type": "string" },
                    "next": { "$ref": archway_proto::models::model_url("pets", &format!("M{}", (m + 1) % 50)) }
                } }),
            })
            .collect();
        for r in 0..500 {
            api.routes.push(RouteSpec {
                route_key: None,
                path: format!("/r{}/{{id}}/s{r}", r / 5),
                method: ["GET", "POST", "PUT", "DELETE", "PATCH"][r % 5].into(),
                operation_name: Some(format!("op{r}")),
                integration: IntegrationSpec::HttpProxy {
                    uri: format!("http://b/{r}/{{id}}"),
                    http_method: None,
                    timeout_ms: None,
                    cache_key_parameters: vec![],
                    request_parameters: [(
                        "integration.request.path.id".to_string(),
                        "method.request.path.id".to_string(),
                    )]
                    .into(),
                },
                route_response_selection_expression: None,
                model_selection_expression: None,
                api_key_required: r % 2 == 0,
                authorizer: None,
                authorization: None,
                scopes: vec![],
                request_parameters: [
                    ("method.request.path.id".to_string(), true),
                    ("method.request.querystring.q".to_string(), false),
                ]
                .into(),
                request_models: [("application/json".to_string(), format!("M{}", r % 50))].into(),
                request_validator: Some("all".into()),
                method_responses: vec![crate::declarative::document::MethodResponseSpec {
                    status_code: "200".into(),
                    response_parameters: Default::default(),
                    response_models: [(
                        "application/json".to_string(),
                        format!("M{}", (r + 1) % 50),
                    )]
                    .into(),
                }],
            });
        }
        for swagger in [false, true] {
            let options = ExportOptions {
                apigateway: true,
                swagger,
                ..Default::default()
            };
            let runs = 10;
            let (mut build, mut json, mut yaml) = (Vec::new(), Vec::new(), Vec::new());
            let mut sizes = (0, 0);
            for _ in 0..runs {
                let started = std::time::Instant::now();
                let out = document(&api, &target(), &options);
                build.push(started.elapsed());
                let started = std::time::Instant::now();
                let (_, text) = super::super::serialize(&out.document, false);
                json.push(started.elapsed());
                sizes.0 = text.len();
                let started = std::time::Instant::now();
                let (_, text) = super::super::serialize(&out.document, true);
                yaml.push(started.elapsed());
                sizes.1 = text.len();
            }
            for times in [&mut build, &mut json, &mut yaml] {
                times.sort();
            }
            println!(
                "{}: build median {:?}, JSON median {:?} ({} bytes), YAML median {:?} ({} bytes)",
                if swagger { "swagger" } else { "oas30" },
                build[runs / 2],
                json[runs / 2],
                sizes.0,
                yaml[runs / 2],
                sizes.1
            );
        }
    }
}
