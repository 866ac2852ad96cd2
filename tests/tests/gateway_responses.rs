//! Gateway responses customised per API through a real control plane and
//! node: set through the gRPC API, they change nothing until deployed (as
//! in AWS), then every refusal of the API answers with its type's
//! customisation, or DEFAULT_4XX/DEFAULT_5XX's, or AWS's default.

use archway_e2e::admin::{authorizer, http_proxy, mock, string_map};
use archway_e2e::http_client::GatewayClient;
use archway_e2e::upstream;
use archway_proto::v1::{
    ApiProtocol, AuthorizerType, GatewayResponse, GetGatewayResponseRequest, Method, Model,
    PutGatewayResponseRequest, PutModelRequest, PutRequestValidatorRequest, RequestValidator,
    RestApi,
};
use http::StatusCode;

fn customised(
    api: &RestApi,
    kind: &str,
    status: &str,
    headers: &[(&str, &str)],
    templates: &[(&str, &str)],
) -> PutGatewayResponseRequest {
    PutGatewayResponseRequest {
        gateway_response: Some(GatewayResponse {
            api_id: api.id.clone(),
            response_type: kind.into(),
            status_code: status.into(),
            response_parameters: headers
                .iter()
                .map(|(n, v)| (format!("gatewayresponse.header.{n}"), (*v).to_owned()))
                .collect(),
            response_templates: string_map(templates),
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_answer_as_the_api_customised_them_once_deployed() -> anyhow::Result<()> {
    let backend = upstream::start("backend").await;
    let (_dir, _cp, node, mut admin) = archway_e2e::started_with_node("gr-node", &[]).await?;
    let node_addr = node.addr();
    let api = admin.create_api("shop", ApiProtocol::Rest).await?;
    admin.route(&api, "/ok", "GET", mock(200, "ok")).await?;
    let mut slow = http_proxy(&format!("http://{}/slow/3000", backend.addr));
    slow.timeout_ms = 200;
    admin.route(&api, "/slow", "GET", slow).await?;
    admin
        .route_with_key(&api, "/keyed", "GET", mock(200, "keyed"), true)
        .await?;
    // A token authorizer that is never called: requests without a token
    // are refused first.
    let guard = admin
        .create_authorizer(authorizer(
            &api,
            "guard",
            AuthorizerType::Token,
            "http://127.0.0.1:9/never-called",
        ))
        .await?;
    admin
        .put_custom_route(
            &api,
            "/guarded",
            Method {
                http_method: "GET".into(),
                integration: Some(mock(200, "guarded")),
                ..Default::default()
            },
            &guard,
        )
        .await?;
    admin
        .apis
        .create_model(PutModelRequest {
            model: Some(Model {
                api_id: api.id.clone(),
                name: "Pet".into(),
                schema: r#"{"type":"object","required":["name"]}"#.into(),
                content_type: "application/json".into(),
                ..Default::default()
            }),
        })
        .await?;
    let validator = admin
        .apis
        .create_request_validator(PutRequestValidatorRequest {
            request_validator: Some(RequestValidator {
                api_id: api.id.clone(),
                name: "body".into(),
                validate_request_body: true,
                ..Default::default()
            }),
        })
        .await?
        .into_inner();
    admin
        .put_route(
            &api,
            "/pets",
            Method {
                http_method: "POST".into(),
                integration: Some(mock(200, "stored")),
                request_validator_id: validator.id,
                request_models: [("application/json".to_owned(), "Pet".to_owned())].into(),
                request_parameters: [("method.request.header.x-tenant".to_owned(), false)].into(),
                ..Default::default()
            },
        )
        .await?;
    admin.deploy(&api, "prod").await?;
    let mut stage = admin.stage(&api, "prod").await?;
    stage.variables.insert("env".into(), "test".into());
    admin.update_stage(stage).await?;

    for put in [
        customised(
            &api,
            "DEFAULT_4XX",
            "",
            &[
                ("x-default", "'4xx'"),
                ("Access-Control-Allow-Origin", "'*'"),
            ],
            &[],
        ),
        customised(
            &api,
            "MISSING_AUTHENTICATION_TOKEN",
            "404",
            &[("x-path", "context.path")],
            &[("application/json", r#"{"error":"no such route"}"#)],
        ),
        customised(
            &api,
            "BAD_REQUEST_BODY",
            "422",
            &[
                ("x-detail", "context.error.validationErrorString"),
                ("x-type", "context.error.responseType"),
                ("x-tenant", "method.request.header.x-tenant"),
                ("x-env", "stageVariables.env"),
            ],
            &[],
        ),
        customised(&api, "DEFAULT_5XX", "503", &[("x-default", "'5xx'")], &[]),
        // AWS's documented shape: a template over $context.error.
        customised(
            &api,
            "INVALID_API_KEY",
            "",
            &[("x-caller", "context.identity.sourceIp")],
            &[(
                "application/json",
                r#"{"error":$context.error.messageString,"type":"$context.error.responseType","resource":"$context.resourcePath","env":"$stageVariables.env"}"#,
            )],
        ),
    ] {
        admin.apis.put_gateway_response(put).await?;
    }
    admin.wait_converged(&["gr-node"]).await?;

    // not_served_until_deployed: the stage still serves AWS's defaults.
    let missing = node.send("shop", "GET", "/prod/nowhere", &[], "").await?;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert_eq!(missing.json()["message"], "Missing Authentication Token");
    assert!(!missing.headers.contains_key("x-default"));

    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["gr-node"]).await?;

    // a_type_customised_itself: status, template, its own headers only.
    let missing = node.send("shop", "GET", "/prod/nowhere", &[], "").await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body, r#"{"error":"no such route"}"#);
    assert_eq!(missing.headers["x-path"], "/prod/nowhere");
    assert!(!missing.headers.contains_key("x-default"));
    assert_eq!(
        missing.headers["x-amzn-errortype"],
        "MissingAuthenticationTokenException"
    );

    // a_customised_validation_refusal carries the validation detail.
    let invalid = node
        .send(
            "shop",
            "POST",
            "/prod/pets",
            &[("content-type", "application/json"), ("x-tenant", "t9")],
            "{}",
        )
        .await?;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.json()["message"], "Invalid request body");
    // Truncated JSON is the same type, with the same customised status.
    let truncated = node
        .send(
            "shop",
            "POST",
            "/prod/pets",
            &[("content-type", "application/json")],
            "{\"name\":",
        )
        .await?;
    assert_eq!(
        truncated.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "BAD_REQUEST_BODY's own"
    );
    assert_eq!(invalid.headers["x-type"], "BAD_REQUEST_BODY");
    assert_eq!(invalid.headers["x-tenant"], "t9");
    assert_eq!(invalid.headers["x-env"], "test");
    let detail = invalid.headers["x-detail"].to_str()?;
    assert!(
        detail.contains("\"name\" is a required property"),
        "{detail}"
    );

    // a_template_renders_over_the_refusal_and_the_request.
    let key = node.send("shop", "GET", "/prod/keyed", &[], "").await?;
    assert_eq!(key.status, StatusCode::FORBIDDEN);
    assert_eq!(
        key.json(),
        serde_json::json!({
            "error": "Forbidden",
            "type": "INVALID_API_KEY",
            "resource": "/keyed",
            "env": "test"
        })
    );
    assert_eq!(key.headers["x-caller"], "127.0.0.1");
    assert!(!key.headers.contains_key("x-default"));

    // other_4xx_types_fall_back_to_default_4xx, keeping their status.
    let unauthorized = node.send("shop", "GET", "/prod/guarded", &[], "").await?;
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unauthorized.headers["x-default"], "4xx");
    assert_eq!(unauthorized.headers["access-control-allow-origin"], "*");
    assert_eq!(unauthorized.json()["message"], "Unauthorized");

    // a_5xx_type_takes_default_5xx_status_and_headers.
    let timeout = node.send("shop", "GET", "/prod/slow", &[], "").await?;
    assert_eq!(timeout.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(timeout.headers["x-default"], "5xx");
    assert_eq!(timeout.json()["message"], "Endpoint request timed out");

    // an_unknown_api_is_never_customised.
    let unknown = GatewayClient::default()
        .get(node_addr, "nosuch", "/prod/ok")
        .await?;
    assert_eq!(unknown.status, StatusCode::FORBIDDEN);
    assert!(!unknown.headers.contains_key("x-default"));

    // deleted_then_deployed: back to AWS's default.
    admin
        .apis
        .delete_gateway_response(GetGatewayResponseRequest {
            api_id: api.id.clone(),
            response_type: "MISSING_AUTHENTICATION_TOKEN".into(),
        })
        .await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["gr-node"]).await?;
    let missing = node.send("shop", "GET", "/prod/nowhere", &[], "").await?;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert_eq!(missing.json()["message"], "Missing Authentication Token");
    assert_eq!(missing.headers["x-default"], "4xx", "DEFAULT_4XX now");
    Ok(())
}
