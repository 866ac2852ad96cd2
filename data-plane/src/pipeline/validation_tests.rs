//! Request validation, customised gateway responses and CORS through the
//! gateway's phases, over a snapshot compiled in memory by the real
//! compiler (no listener). Each way around a check is a named test.

use super::*;
use crate::access_log::AccessLogSinks;
use crate::compile::compile;
use archway_proto::resource_name;
use archway_proto::v1::config_resource::Resource as Body;
use archway_proto::v1::{
    ApiProtocol, ConfigResource, CorsConfiguration, Deployment, GatewayResponse as Customised,
    Integration, IntegrationType, Method, MockResponse, Model, RequestValidator, Resource, RestApi,
    Stage,
};
use http_body_util::BodyExt;

const DOMAIN: &str = "execute-api.test";
const MAX_PAYLOAD: usize = 4096;
const APP: &str = "http://app.test:8080";

fn res(name: String, body: Body) -> ConfigResource {
    ConfigResource {
        name,
        resource: Some(body),
    }
}

fn mock(headers: &[(&str, &str)]) -> Integration {
    Integration {
        r#type: IntegrationType::Mock as i32,
        mock: Some(MockResponse {
            status_code: 200,
            body: "{}".into(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        }),
        ..Default::default()
    }
}

fn method(resource: &str, verb: &str) -> Method {
    Method {
        resource_id: resource.into(),
        http_method: verb.into(),
        integration: Some(mock(&[])),
        ..Default::default()
    }
}

fn resource(id: &str, path: &str) -> Resource {
    Resource {
        id: id.into(),
        path: path.into(),
        ..Default::default()
    }
}

fn pet_schema() -> String {
    serde_json::json!({
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}
    })
    .to_string()
}

/// A REST API `pets` with validated methods and customised responses, and
/// an HTTP API `web` with CORS.
fn snapshot() -> Vec<ConfigResource> {
    let pets = Deployment {
        id: "d1".into(),
        api_id: "pets".into(),
        protocol: ApiProtocol::Rest as i32,
        resources: vec![
            resource("r1", "/pets"),
            resource("r2", "/pets/{id}"),
            resource("r3", "/open"),
        ],
        methods: vec![
            Method {
                request_validator_id: "all".into(),
                request_parameters: [("method.request.header.x-tenant".to_owned(), true)].into(),
                request_models: [("application/json".to_owned(), "Pet".to_owned())].into(),
                ..method("r1", "POST")
            },
            Method {
                request_validator_id: "all".into(),
                request_models: [
                    ("application/json".to_owned(), "Pet".to_owned()),
                    ("$default".to_owned(), "Pet".to_owned()),
                ]
                .into(),
                ..method("r1", "PUT")
            },
            Method {
                request_validator_id: "params".into(),
                request_parameters: [
                    ("method.request.querystring.q".to_owned(), true),
                    ("method.request.path.id".to_owned(), true),
                    ("method.request.header.x-tenant".to_owned(), false),
                ]
                .into(),
                // Not validated: the validator checks parameters only.
                request_models: [("application/json".to_owned(), "Pet".to_owned())].into(),
                ..method("r2", "GET")
            },
            method("r3", "GET"),
        ],
        models: vec![Model {
            name: "Pet".into(),
            schema: pet_schema(),
            content_type: "application/json".into(),
            ..Default::default()
        }],
        request_validators: vec![
            RequestValidator {
                id: "all".into(),
                validate_request_body: true,
                validate_request_parameters: true,
                ..Default::default()
            },
            RequestValidator {
                id: "params".into(),
                validate_request_parameters: true,
                ..Default::default()
            },
        ],
        gateway_responses: vec![
            Customised {
                response_type: "BAD_REQUEST_BODY".into(),
                status_code: "422".into(),
                response_parameters: [
                    (
                        "gatewayresponse.header.x-detail".to_owned(),
                        "context.error.validationErrorString".to_owned(),
                    ),
                    (
                        "gatewayresponse.header.x-tenant".to_owned(),
                        "method.request.header.x-tenant".to_owned(),
                    ),
                    (
                        "gatewayresponse.header.x-env".to_owned(),
                        "stageVariables.env".to_owned(),
                    ),
                ]
                .into(),
                response_templates: [
                    (
                        "application/json".to_owned(),
                        r#"{"invalid":true}"#.to_owned(),
                    ),
                    ("text/plain".to_owned(), "invalid".to_owned()),
                ]
                .into(),
                ..Default::default()
            },
            Customised {
                response_type: "BAD_REQUEST_PARAMETERS".into(),
                response_templates: [(
                    "application/json".to_owned(),
                    concat!(
                        r#"{"error":$context.error.messageString,"#,
                        r#""type":"$context.error.responseType","#,
                        r#""at":"$context.resourcePath","env":"$stageVariables.env"}"#
                    )
                    .to_owned(),
                )]
                .into(),
                response_parameters: [(
                    "gatewayresponse.header.x-stage".to_owned(),
                    "context.stage".to_owned(),
                )]
                .into(),
                ..Default::default()
            },
            Customised {
                response_type: "DEFAULT_4XX".into(),
                response_parameters: [(
                    "gatewayresponse.header.x-default".to_owned(),
                    "'4xx'".to_owned(),
                )]
                .into(),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let web = Deployment {
        id: "d1".into(),
        api_id: "web".into(),
        protocol: ApiProtocol::Http as i32,
        resources: vec![resource("r1", "/items")],
        methods: vec![Method {
            integration: Some(mock(&[
                ("access-control-allow-origin", "*"),
                ("x-backend", "1"),
            ])),
            ..method("r1", "GET")
        }],
        cors_configuration: Some(CorsConfiguration {
            allow_origins: vec![APP.into()],
            allow_methods: vec!["GET".into(), "PUT".into()],
            allow_headers: vec!["x-tenant".into(), "content-type".into()],
            expose_headers: vec!["x-backend".into()],
            max_age_seconds: Some(300),
            allow_credentials: true,
        }),
        ..Default::default()
    };
    let mut out = Vec::new();
    for (id, protocol, deployment) in [
        ("pets", ApiProtocol::Rest, pets),
        ("web", ApiProtocol::Http, web),
    ] {
        out.push(res(
            resource_name::api(id),
            Body::Api(RestApi {
                id: id.into(),
                protocol: protocol as i32,
                ..Default::default()
            }),
        ));
        out.push(res(
            resource_name::deployment(id, "d1"),
            Body::Deployment(deployment),
        ));
        out.push(res(
            format!("stage/{id}/prod"),
            Body::Stage(Stage {
                api_id: id.into(),
                stage_name: "prod".into(),
                deployment_id: "d1".into(),
                variables: [("env".to_owned(), "test".to_owned())].into(),
                ..Default::default()
            }),
        ));
    }
    out
}

fn gateway() -> Gateway {
    let tables = compile(
        1,
        &snapshot(),
        &RuntimeTables::empty(),
        &AccessLogSinks::default(),
    )
    .expect("the snapshot compiles");
    Gateway::in_memory(Arc::new(tables), DOMAIN, MAX_PAYLOAD).unwrap()
}

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

async fn send(
    gateway: &Gateway,
    verb: &str,
    api: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &'static str,
) -> Answer {
    let mut request = http::Request::builder()
        .method(verb)
        .uri(path)
        .header(http::header::HOST, format!("{api}.{DOMAIN}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(crate::body::streaming(http_body_util::Full::new(
            Bytes::from_static(body.as_bytes()),
        )))
        .unwrap();
    let client = ClientInfo::new("127.0.0.1".parse().unwrap(), false, false);
    let response = gateway.handle(request, &client).await;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

const JSON: (&str, &str) = ("content-type", "application/json");
const TENANT: (&str, &str) = ("x-tenant", "t1");

#[tokio::test]
async fn a_valid_request_reaches_the_integration() {
    let g = gateway();
    let ok = send(
        &g,
        "POST",
        "pets",
        "/prod/pets",
        &[JSON, TENANT],
        r#"{"name":"Rex"}"#,
    )
    .await;
    assert_eq!((ok.status, ok.body.as_str()), (200, "{}"));
    let ok = send(&g, "GET", "pets", "/prod/pets/7?q=x", &[], "").await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn missing_parameters_are_listed_as_aws_does() {
    let g = gateway();
    let refused = send(&g, "GET", "pets", "/prod/pets/7", &[], "").await;
    assert_eq!(refused.status, 400);
    // The API's template, rendered over the request and the refusal.
    assert_eq!(
        refused.body,
        r#"{"error":"Missing required request parameters: [q]","type":"BAD_REQUEST_PARAMETERS","at":"/pets/{id}","env":"test"}"#
    );
    assert_eq!(refused.header("x-stage"), Some("prod"));
    assert_eq!(
        refused.header("x-amzn-errortype"),
        Some("BadRequestException")
    );
    // Customised itself: DEFAULT_4XX's header does not apply.
    assert_eq!(refused.header("x-default"), None);
    // Parameters are checked before the body.
    let both = send(&g, "POST", "pets", "/prod/pets", &[JSON], "not json").await;
    assert!(
        both.body
            .contains(r#""error":"Missing required request parameters: [x-tenant]""#),
        "{}",
        both.body
    );
}

#[tokio::test]
async fn a_parameter_present_but_blank_is_missing() {
    let g = gateway();
    for query in ["?q=", "?q", "?q=%20%20", "?Q=x"] {
        let refused = send(&g, "GET", "pets", &format!("/prod/pets/7{query}"), &[], "").await;
        assert_eq!(refused.status, 400, "{query}");
    }
    let blank_header = send(
        &g,
        "POST",
        "pets",
        "/prod/pets",
        &[JSON, ("x-tenant", "   ")],
        r#"{"name":"Rex"}"#,
    )
    .await;
    assert_eq!(blank_header.status, 400);
}

#[tokio::test]
async fn a_duplicated_required_parameter_must_be_non_blank_every_time() {
    let g = gateway();
    let refused = send(&g, "GET", "pets", "/prod/pets/7?q=x&q=", &[], "").await;
    assert_eq!(refused.status, 400);
    let refused = send(
        &g,
        "POST",
        "pets",
        "/prod/pets",
        &[JSON, ("x-tenant", "t1"), ("x-tenant", "")],
        r#"{"name":"Rex"}"#,
    )
    .await;
    assert_eq!(refused.status, 400);
    let both_set = send(
        &g,
        "POST",
        "pets",
        "/prod/pets",
        &[JSON, ("x-tenant", "t1"), ("x-tenant", "t2")],
        r#"{"name":"Rex"}"#,
    )
    .await;
    assert_eq!(both_set.status, 200);
}

#[tokio::test]
async fn an_invalid_body_answers_as_the_api_customised_it() {
    let g = gateway();
    let refused = send(
        &g,
        "POST",
        "pets",
        "/prod/pets",
        &[JSON, TENANT],
        r#"{"age":"x"}"#,
    )
    .await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.body, r#"{"invalid":true}"#);
    assert_eq!(refused.header("content-type"), Some("application/json"));
    assert_eq!(refused.header("x-tenant"), Some("t1"));
    assert_eq!(refused.header("x-env"), Some("test"));
    assert_eq!(
        refused.header("x-amzn-errortype"),
        Some("BadRequestException")
    );
    assert!(refused.header("x-amzn-requestid").is_some());
    let detail = refused.header("x-detail").unwrap();
    assert!(
        detail.starts_with('[') && detail.contains(r#""name" is a required property"#),
        "{detail}"
    );
    assert!(detail.contains("/age: "), "{detail}");
    // The template for the client's Accept.
    let plain = send(
        &g,
        "POST",
        "pets",
        "/prod/pets",
        &[JSON, TENANT, ("accept", "text/html, text/plain;q=0.9")],
        "{}",
    )
    .await;
    assert_eq!((plain.status, plain.body.as_str()), (422, "invalid"));
    assert_eq!(plain.header("content-type"), Some("text/plain"));
}

#[tokio::test]
async fn an_empty_body_or_bad_json_is_an_invalid_body() {
    let g = gateway();
    for body in ["", "   ", "{", "[1,2", "nul"] {
        let refused = send(&g, "POST", "pets", "/prod/pets", &[JSON, TENANT], body).await;
        assert_eq!(refused.status, 422, "{body:?}");
    }
}

#[tokio::test]
async fn a_content_type_in_other_spelling_is_still_validated() {
    let g = gateway();
    for content_type in [
        "Application/JSON",
        "application/json; charset=utf-8",
        " application/json ",
    ] {
        let refused = send(
            &g,
            "POST",
            "pets",
            "/prod/pets",
            &[("content-type", content_type), TENANT],
            "{}",
        )
        .await;
        assert_eq!(refused.status, 422, "{content_type}");
    }
    // No Content-Type is application/json, as in AWS.
    let refused = send(&g, "POST", "pets", "/prod/pets", &[TENANT], "{}").await;
    assert_eq!(refused.status, 422);
}

#[tokio::test]
async fn a_wrong_content_type_meets_default_or_is_not_validated_as_aws() {
    let g = gateway();
    // PUT has a $default model: any other content type is validated too.
    let refused = send(
        &g,
        "PUT",
        "pets",
        "/prod/pets",
        &[("content-type", "text/plain")],
        "{}",
    )
    .await;
    assert_eq!(refused.status, 422);
    // POST has none: a content type without a model is not validated
    // (AWS's passthrough behaviour decides what happens to it).
    let passed = send(
        &g,
        "POST",
        "pets",
        "/prod/pets",
        &[("content-type", "text/plain"), TENANT],
        "{}",
    )
    .await;
    assert_eq!(passed.status, 200);
    // Two content types, one choosing no model: refused, not guessed.
    let refused = send(
        &g,
        "POST",
        "pets",
        "/prod/pets",
        &[("content-type", "text/plain"), JSON, TENANT],
        "{}",
    )
    .await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.header("x-detail"),
        Some("[more than one Content-Type header]")
    );
    // A list in one header is refused the same way.
    let refused = send(
        &g,
        "POST",
        "pets",
        "/prod/pets",
        &[("content-type", "text/plain, application/json"), TENANT],
        "{}",
    )
    .await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.header("x-detail"),
        Some("[more than one media type in Content-Type]")
    );
}

#[tokio::test]
async fn a_body_over_the_payload_limit_is_too_large() {
    let g = gateway();
    let large: &'static str =
        Box::leak(format!(r#"{{"name":"{}"}}"#, "x".repeat(MAX_PAYLOAD)).into_boxed_str());
    let refused = send(&g, "POST", "pets", "/prod/pets", &[JSON, TENANT], large).await;
    assert_eq!(refused.status, 413);
}

#[tokio::test]
async fn refusals_before_the_api_is_known_answer_as_aws() {
    let g = gateway();
    let unknown = send(&g, "GET", "nope", "/prod/pets", &[], "").await;
    assert_eq!(unknown.status, 403);
    assert_eq!(unknown.body, r#"{"message":"Forbidden"}"#);
    assert!(unknown.header("x-default").is_none());
    // Known API, unknown route: DEFAULT_4XX applies.
    let missing = send(&g, "GET", "pets", "/prod/nowhere", &[], "").await;
    assert_eq!(missing.status, 403);
    assert_eq!(
        missing.body,
        r#"{"message":"Missing Authentication Token"}"#
    );
    assert_eq!(missing.header("x-default"), Some("4xx"));
}

const ORIGIN: (&str, &str) = ("origin", APP);

fn preflight(verb: &'static str) -> [(&'static str, &'static str); 2] {
    [ORIGIN, ("access-control-request-method", verb)]
}

#[tokio::test]
async fn a_preflight_is_answered_at_the_gateway() {
    let g = gateway();
    let mut headers = preflight("PUT").to_vec();
    headers.push(("access-control-request-headers", "X-Tenant, Content-Type"));
    // No OPTIONS route, no /anything resource: answered before routing.
    for path in ["/prod/items", "/prod/anything"] {
        let answer = send(&g, "OPTIONS", "web", path, &headers, "").await;
        assert_eq!(answer.status, 204, "{path}");
        assert_eq!(answer.header("access-control-allow-origin"), Some(APP));
        assert_eq!(
            answer.header("access-control-allow-methods"),
            Some("GET,PUT")
        );
        assert_eq!(
            answer.header("access-control-allow-headers"),
            Some("x-tenant,content-type")
        );
        assert_eq!(answer.header("access-control-max-age"), Some("300"));
        assert_eq!(
            answer.header("access-control-allow-credentials"),
            Some("true")
        );
        assert_eq!(answer.header("vary"), Some("Origin"));
    }
}

#[tokio::test]
async fn a_preflight_for_a_verb_or_header_not_allowed_gets_no_cors_headers() {
    let g = gateway();
    let verb = send(
        &g,
        "OPTIONS",
        "web",
        "/prod/items",
        &preflight("DELETE"),
        "",
    )
    .await;
    let mut headers = preflight("GET").to_vec();
    headers.push(("access-control-request-headers", "x-secret"));
    let header = send(&g, "OPTIONS", "web", "/prod/items", &headers, "").await;
    for answer in [verb, header] {
        assert_eq!(answer.status, 204);
        assert!(
            !answer
                .headers
                .keys()
                .any(|n| n.as_str().starts_with("access-control-")),
            "{:?}",
            answer.headers
        );
    }
}

#[tokio::test]
async fn responses_carry_cors_headers_for_allowed_origins_only() {
    let g = gateway();
    let allowed = send(&g, "GET", "web", "/prod/items", &[ORIGIN], "").await;
    assert_eq!(allowed.status, 200);
    assert_eq!(allowed.header("access-control-allow-origin"), Some(APP));
    assert_eq!(
        allowed.header("access-control-expose-headers"),
        Some("x-backend")
    );
    assert_eq!(
        allowed.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(allowed.header("vary"), Some("Origin"));
    // Refusals too.
    let missing = send(&g, "GET", "web", "/prod/nowhere", &[ORIGIN], "").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("access-control-allow-origin"), Some(APP));
}

#[tokio::test]
async fn every_answer_varies_by_origin_once() {
    let g = gateway();
    // A disallowed origin, and no origin, get `Vary: Origin` too: a shared
    // cache must not serve their answer to an allowed origin.
    for headers in [&[("origin", "http://evil.test")][..], &[]] {
        let answer = send(&g, "GET", "web", "/prod/items", headers, "").await;
        let vary: Vec<_> = answer.headers.get_all("vary").iter().collect();
        assert_eq!(vary, ["Origin"], "{headers:?}");
    }
    let allowed = send(&g, "GET", "web", "/prod/items", &[ORIGIN], "").await;
    assert_eq!(allowed.headers.get_all("vary").iter().count(), 1);
}

#[tokio::test]
async fn the_backends_own_cors_headers_never_widen_the_api() {
    let g = gateway();
    // The mock says `*`; the API's configuration is the one answer.
    let other = send(
        &g,
        "GET",
        "web",
        "/prod/items",
        &[("origin", "http://evil.test")],
        "",
    )
    .await;
    assert_eq!(other.status, 200);
    assert_eq!(other.header("access-control-allow-origin"), None);
    let none = send(&g, "GET", "web", "/prod/items", &[], "").await;
    assert_eq!(none.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn origins_in_other_spellings_are_other_origins() {
    let g = gateway();
    for origin in [
        "http://app.test:8080/",
        "http://app.test",
        "https://app.test:8080",
        "http://app.test:8080.evil.test",
        "null",
        "http://app.test:8080, http://evil.test",
    ] {
        let answer = send(&g, "GET", "web", "/prod/items", &[("origin", origin)], "").await;
        assert_eq!(
            answer.header("access-control-allow-origin"),
            None,
            "{origin}"
        );
        let pre = send(
            &g,
            "OPTIONS",
            "web",
            "/prod/items",
            &[("origin", origin), ("access-control-request-method", "GET")],
            "",
        )
        .await;
        assert_eq!(pre.header("access-control-allow-origin"), None, "{origin}");
    }
    // Scheme and host are case-insensitive: the same origin.
    let upper = send(
        &g,
        "GET",
        "web",
        "/prod/items",
        &[("origin", "HTTP://APP.TEST:8080")],
        "",
    )
    .await;
    assert_eq!(
        upper.header("access-control-allow-origin"),
        Some("HTTP://APP.TEST:8080")
    );
}

#[tokio::test]
async fn a_duplicated_origin_gets_no_cors_headers() {
    let g = gateway();
    let headers = [ORIGIN, ("origin", "http://evil.test")];
    let answer = send(&g, "GET", "web", "/prod/items", &headers, "").await;
    assert_eq!(answer.header("access-control-allow-origin"), None);
    let twice = [ORIGIN, ORIGIN, ("access-control-request-method", "GET")];
    let pre = send(&g, "OPTIONS", "web", "/prod/items", &twice, "").await;
    assert_eq!(pre.status, 204);
    assert_eq!(pre.header("access-control-allow-origin"), None);
}

/// A REST API answers OPTIONS through its own methods (MOCK with header
/// mappings), as in AWS, never with the gateway's CORS: not even when its
/// deployment, claiming to be an HTTP API's, carries a CORS configuration
/// (the node compiles a deployment by its own protocol field).
#[tokio::test]
async fn rest_apis_get_no_gateway_cors() {
    let g = gateway();
    let answer = send(&g, "OPTIONS", "pets", "/prod/open", &preflight("GET"), "").await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.header("access-control-allow-origin"), None);

    let mut resources = snapshot();
    let web_deployment = |r: &ConfigResource| match &r.resource {
        Some(Body::Deployment(d)) if d.api_id == "web" => Some(d.clone()),
        _ => None,
    };
    let web = resources
        .iter()
        .find_map(web_deployment)
        .expect("the web deployment");
    resources.extend([
        res(
            resource_name::api("legacy"),
            Body::Api(RestApi {
                id: "legacy".into(),
                protocol: ApiProtocol::Rest as i32,
                ..Default::default()
            }),
        ),
        res(
            resource_name::deployment("legacy", "d1"),
            Body::Deployment(Deployment {
                api_id: "legacy".into(),
                ..web
            }),
        ),
        res(
            "stage/legacy/prod".into(),
            Body::Stage(Stage {
                api_id: "legacy".into(),
                stage_name: "prod".into(),
                deployment_id: "d1".into(),
                ..Default::default()
            }),
        ),
    ]);
    let tables = compile(
        1,
        &resources,
        &RuntimeTables::empty(),
        &AccessLogSinks::default(),
    )
    .expect("the snapshot compiles");
    let g = Gateway::in_memory(Arc::new(tables), DOMAIN, MAX_PAYLOAD).unwrap();
    let pre = send(
        &g,
        "OPTIONS",
        "legacy",
        "/prod/items",
        &preflight("GET"),
        "",
    )
    .await;
    assert_eq!(pre.header("access-control-allow-origin"), None);
    assert_eq!(pre.header("access-control-allow-methods"), None);
    let get = send(&g, "GET", "legacy", "/prod/items", &[ORIGIN], "").await;
    assert_eq!(get.status, 200);
    assert_eq!(
        get.header("access-control-allow-origin"),
        Some("*"),
        "the backend's own"
    );
    assert_eq!(get.header("vary"), None);
}
