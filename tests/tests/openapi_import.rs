//! OpenAPI imports end to end: documents of each dialect through
//! `ImportRestApi` / `PutRestApi` and `archwayctl import`, deployed and
//! called through a node; refusals (syntax, content, warnings with
//! `fail_on_warnings`) change nothing; merge and overwrite never touch
//! what a stage serves.
//!
//! The `#[ignore]`d `scale_*` test measures a 2.5 MB document (see
//! deploy/bench/README.md).

use archway_e2e::admin::apply_request;
use archway_e2e::ctl::{command, ctl_run};
use archway_e2e::openapi::large_document;
use archway_e2e::{Admin, ControlPlane, DataPlane, upstream};
use archway_proto::v1::*;
use http::StatusCode;
use std::time::Instant;
use tonic_types::StatusExt;

fn import(body: &str) -> ImportRestApiRequest {
    ImportRestApiRequest {
        body: body.to_owned(),
        options: None,
        protocol: String::new(),
    }
}

async fn routes_of(admin: &Admin, api_id: &str) -> anyhow::Result<Vec<String>> {
    let mut routes: Vec<String> = Vec::new();
    let resources = admin
        .apis
        .clone()
        .list_resources(ListResourcesRequest {
            api_id: api_id.into(),
            page_size: 1000,
            ..Default::default()
        })
        .await?
        .into_inner()
        .items;
    for m in admin.list_methods(api_id).await? {
        let path = resources
            .iter()
            .find(|r| r.id == m.resource_id)
            .map(|r| r.path.clone())
            .unwrap_or_default();
        routes.push(format!("{} {path}", m.http_method));
    }
    routes.sort();
    Ok(routes)
}

fn petstore(backend: &str) -> String {
    format!(
        r##"
openapi: 3.0.3
info: {{ title: petstore, version: 1.0.0 }}
servers: [{{ url: "http://{backend}/v1" }}]
x-amazon-apigateway-request-validators:
  all: {{ validateRequestBody: true, validateRequestParameters: true }}
x-amazon-apigateway-request-validator: all
paths:
  /pets:
    get:
      operationId: listPets
      parameters: [{{ name: limit, in: query, schema: {{ type: integer }} }}]
      responses: {{ 200: {{ description: pets }} }}
    post:
      operationId: createPet
      requestBody:
        content: {{ application/json: {{ schema: {{ $ref: "#/components/schemas/Pet" }} }} }}
      responses: {{ 200: {{ description: created }} }}
  /pets/{{petId}}:
    get:
      operationId: showPet
      parameters: [{{ name: petId, in: path, required: true, schema: {{ type: string }} }}]
      responses: {{ 200: {{ description: a pet }} }}
components:
  schemas:
    Pet:
      type: object
      required: [name]
      properties:
        name: {{ type: string, minLength: 1 }}
        tag: {{ type: string, nullable: true }}
"##
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_openapi_document_is_imported_deployed_and_served() -> anyhow::Result<()> {
    let backend = upstream::start("pets").await;
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let imported = admin
        .openapi
        .import_rest_api(import(&petstore(&backend.addr.to_string())))
        .await?
        .into_inner();
    assert!(imported.applied);
    assert_eq!(imported.api_id.len(), 10);
    // Each operation without an integration is proxied to the server, and
    // says so at its pointer.
    let pointers: Vec<&str> = imported
        .warnings
        .iter()
        .map(|w| w.pointer.as_str())
        .collect();
    assert!(pointers.contains(&"/paths/~1pets/get"), "{pointers:?}");
    assert_eq!(
        routes_of(&admin, &imported.api_id).await?,
        ["GET /pets", "GET /pets/{petId}", "POST /pets"]
    );
    let methods = admin.list_methods(&imported.api_id).await?;
    assert!(methods.iter().any(|m| m.operation_name == "showPet"));
    let api = admin
        .apis
        .get_rest_api(GetRestApiRequest {
            api_id: imported.api_id.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(api.name, "petstore");
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["n"]).await?;

    let answer = node.send(&api.id, "GET", "/prod/pets/7", &[], "").await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.json()["path"], "/v1/pets/7", "{}", answer.body);
    // The schema became a model the validator checks.
    let json = [("content-type", "application/json")];
    let bad = node
        .send(&api.id, "POST", "/prod/pets", &json, r#"{"name": ""}"#)
        .await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body.contains("Invalid request body"), "{}", bad.body);
    let good = node
        .send(
            &api.id,
            "POST",
            "/prod/pets",
            &json,
            r#"{"name": "rex", "tag": null}"#,
        )
        .await?;
    assert_eq!(good.status, StatusCode::OK, "{}", good.body);
    Ok(())
}

const AWS_DOCUMENT: &str = r##"{
  "swagger": "2.0",
  "info": {"title": "shop", "version": "1"},
  "x-amazon-apigateway-gateway-responses": {
    "INVALID_API_KEY": {"statusCode": "401", "responseTemplates": {"application/json": "{\"error\": \"a key is needed\"}"}}
  },
  "securityDefinitions": {
    "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"},
    "sigv4": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}
  },
  "paths": {
    "/orders": {
      "get": {
        "security": [{"api_key": []}],
        "produces": ["application/json"],
        "responses": {"200": {"description": "ok", "headers": {"x-count": {"type": "string"}}}},
        "x-amazon-apigateway-integration": {
          "type": "mock",
          "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
          "responses": {"default": {"statusCode": "200",
            "responseParameters": {"method.response.header.x-count": "'2'"},
            "responseTemplates": {"application/json": "{\"orders\": [1, 2]}"}}}
        }
      }
    },
    "/admin": {
      "x-amazon-apigateway-any-method": {
        "security": [{"sigv4": []}],
        "responses": {"200": {"description": "ok"}},
        "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
          "responses": {"default": {"statusCode": "200"}}}
      }
    }
  }
}"##;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aws_swagger_document_keeps_its_keys_signatures_and_mapping() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let imported = admin
        .openapi
        .import_rest_api(import(AWS_DOCUMENT))
        .await?
        .into_inner();
    // The keyed route's usage plan and key, made with a document:
    let id = &imported.api_id;
    let plan = format!(
        "usage_plans:\n  - name: gold\n    stages: [{{ api: {id}, stage: prod }}]\napi_keys:\n  - {{ name: buyer, value: buyer-key-0123456789abcdef, usage_plans: [gold] }}\n"
    );
    let api = admin
        .apis
        .get_rest_api(GetRestApiRequest { api_id: id.clone() })
        .await?
        .into_inner();
    admin.deploy(&api, "prod").await?;
    admin
        .config
        .apply_configuration(apply_request(&plan, false, false))
        .await?;
    admin.wait_converged(&["n"]).await?;

    // A missing or wrong key is INVALID_API_KEY, customised by the document.
    let without = node.send(id, "GET", "/prod/orders", &[], "").await?;
    assert_eq!(without.status, StatusCode::UNAUTHORIZED, "{}", without.body);
    let wrong = node
        .send(
            id,
            "GET",
            "/prod/orders",
            &[("x-api-key", "not-a-key-0123456789abcdef")],
            "",
        )
        .await?;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    assert_eq!(wrong.json()["error"], "a key is needed");
    let with = node
        .send(
            id,
            "GET",
            "/prod/orders",
            &[("x-api-key", "buyer-key-0123456789abcdef")],
            "",
        )
        .await?;
    assert_eq!(with.status, StatusCode::OK, "{}", with.body);
    assert_eq!(with.json()["orders"], serde_json::json!([1, 2]));
    assert_eq!(with.headers["x-count"], "2");
    // ANY with SigV4: unsigned requests are refused, whatever the verb.
    for verb in ["GET", "DELETE"] {
        let unsigned = node.send(id, verb, "/prod/admin", &[], "").await?;
        assert_eq!(
            unsigned.status,
            StatusCode::FORBIDDEN,
            "{verb}: {}",
            unsigned.body
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_imports_change_nothing_and_say_where() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let revision = |admin: &mut Admin| {
        let mut admin = admin.clone();
        async move { anyhow::Ok(admin.fleet_status().await?.0) }
    };
    let before = revision(&mut admin).await?;

    // Not YAML: the line and column.
    let status = admin
        .openapi
        .import_rest_api(import(
            "openapi: 3.0.0\ninfo: {title: t}\npaths:\n  /a: [\n",
        ))
        .await
        .expect_err("does not parse");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().starts_with("document: line "),
        "{}",
        status.message()
    );

    // The reader's refusals and the planner's, at their pointers, all at once.
    let doc = r#"
openapi: 3.0.0
info: { title: broken }
components:
  securitySchemes:
    lambda:
      type: apiKey
      in: header
      name: Authorization
      x-amazon-apigateway-authorizer:
        type: token
        authorizerUri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:auth/invocations"
paths:
  /a:
    get:
      security: [{ lambda: [] }]
      x-amazon-apigateway-integration: { type: mock }
  /b:
    get:
      x-amazon-apigateway-integration: { type: http_proxy, uri: "ftp://127.0.0.1/b" }
"#;
    let status = admin
        .openapi
        .import_rest_api(import(doc))
        .await
        .expect_err("a Lambda authorizer");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("/paths/~1a/get/security/0/lambda: cannot be enforced"),
        "{}",
        status.message()
    );
    let fields: Vec<String> = status
        .get_details_bad_request()
        .expect("BadRequest details")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, ["/paths/~1a/get/security/0/lambda"]);
    // With the reader satisfied, the planner's rule on the URI.
    let doc = doc.replace("security: [{ lambda: [] }]", "security: []");
    let status = admin
        .openapi
        .import_rest_api(import(&doc))
        .await
        .expect_err("ftp");
    assert!(
        status.message().contains("/paths/~1b/get: integration.uri"),
        "{}",
        status.message()
    );

    // Warnings refuse only with fail_on_warnings.
    let warned = "openapi: 3.0.0\ninfo: {title: warned}\nx-amazon-apigateway-minimum-compression-size: 10\npaths: {/a: {get: {x-amazon-apigateway-integration: {type: mock}}}}\n";
    let mut strict = import(warned);
    strict.options = Some(ImportOptions {
        fail_on_warnings: true,
        ..Default::default()
    });
    let status = admin
        .openapi
        .import_rest_api(strict)
        .await
        .expect_err("a warning");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(
        status
            .message()
            .contains("/x-amazon-apigateway-minimum-compression-size"),
        "{}",
        status.message()
    );
    // A dry run writes nothing either, and lists what it would do.
    let mut dry = import(warned);
    dry.options = Some(ImportOptions {
        dry_run: true,
        ..Default::default()
    });
    let planned = admin.openapi.import_rest_api(dry).await?.into_inner();
    assert!(!planned.applied && planned.api_id.is_empty());
    assert_eq!(planned.warnings.len(), 1);
    assert!(
        planned.changes.iter().any(|c| c.kind == "route"),
        "{:?}",
        planned.changes
    );

    assert!(admin.list_apis().await?.is_empty(), "nothing was created");
    assert_eq!(revision(&mut admin).await?, before, "no new version");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_and_overwrite_change_the_definition_never_what_a_stage_serves() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let mock = |body: &str| {
        format!(
            "{{x-amazon-apigateway-integration: {{type: mock}}, x-archway-integration: {{mock: {{statusCode: 200, body: {body}}}}}}}"
        )
    };
    let doc = |paths: &[(&str, &str)]| {
        let mut text = "openapi: 3.0.0\ninfo: {title: evolving}\npaths:\n".to_owned();
        for (path, body) in paths {
            text.push_str(&format!("  {path}: {{get: {}}}\n", mock(body)));
        }
        text
    };
    let first = admin
        .openapi
        .import_rest_api(import(&doc(&[("/a", "a1"), ("/b", "b1")])))
        .await?
        .into_inner();
    let id = first.api_id.clone();
    let api = admin
        .apis
        .get_rest_api(GetRestApiRequest { api_id: id.clone() })
        .await?
        .into_inner();
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["n"]).await?;
    let put = |mode: &str, paths: &[(&str, &str)]| PutRestApiRequest {
        api_id: id.clone(),
        body: doc(paths),
        mode: mode.into(),
        options: None,
    };

    let merged = admin
        .openapi
        .put_rest_api(put("merge", &[("/a", "a2"), ("/c", "c2")]))
        .await?
        .into_inner();
    assert!(merged.applied);
    assert_eq!(
        routes_of(&admin, &id).await?,
        ["GET /a", "GET /b", "GET /c"]
    );
    // The stage still serves the first deployment.
    admin.wait_converged(&["n"]).await?;
    assert_eq!(node.send(&id, "GET", "/prod/a", &[], "").await?.body, "a1");
    assert_ne!(
        node.send(&id, "GET", "/prod/c", &[], "").await?.status,
        StatusCode::OK
    );

    let overwritten = admin
        .openapi
        .put_rest_api(put("overwrite", &[("/c", "c3")]))
        .await?
        .into_inner();
    assert!(
        overwritten
            .changes
            .iter()
            .any(|c| c.action() == ChangeAction::Delete),
        "{:?}",
        overwritten.changes
    );
    assert_eq!(routes_of(&admin, &id).await?, ["GET /c"]);
    let stage = admin.stage(&api, "prod").await?;
    assert_eq!(
        stage.deployment_id,
        admin.list_deployments(&id).await?[0].id,
        "the stage is left alone"
    );
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["n"]).await?;
    assert_eq!(node.send(&id, "GET", "/prod/c", &[], "").await?.body, "c3");
    assert_ne!(
        node.send(&id, "GET", "/prod/a", &[], "").await?.status,
        StatusCode::OK
    );

    // The same document again changes nothing.
    let again = admin
        .openapi
        .put_rest_api(put("overwrite", &[("/c", "c3")]))
        .await?
        .into_inner();
    assert!(!again.applied, "{:?}", again.changes);
    // Unknown modes and APIs are refused.
    let status = admin
        .openapi
        .put_rest_api(put("replace", &[]))
        .await
        .expect_err("mode");
    assert!(
        status.message().starts_with("mode:"),
        "{}",
        status.message()
    );
    let mut missing = put("merge", &[]);
    missing.api_id = "nope".into();
    let status = admin
        .openapi
        .put_rest_api(missing)
        .await
        .expect_err("no API");
    assert_eq!(status.code(), tonic::Code::NotFound);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archwayctl_imports_a_file_with_progress_and_points_at_syntax_errors() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let admin = Admin::connect(&cp.url()).await?;
    let file = dir.path().join("api.yaml");
    let doc = serde_saphyr::to_string(&large_document(40, "http://127.0.0.1:9"))?;
    std::fs::write(&file, &doc)?;
    let path = file.to_str().unwrap();

    let dry = ctl_run(&cp.url(), &["import", "-f", path, "--dry-run"]);
    assert!(dry.ok, "{}", dry.stderr);
    assert!(dry.stderr.contains("80 operations"), "{}", dry.stderr);
    assert!(
        dry.stderr.contains("dry run: nothing changed"),
        "{}",
        dry.stderr
    );
    assert!(admin.list_apis().await?.is_empty());

    let run = ctl_run(&cp.url(), &["import", "-f", path]);
    assert!(run.ok, "{}", run.stderr);
    assert!(run.stderr.starts_with("reading "), "{}", run.stderr);
    assert!(run.stderr.contains("imported API "), "{}", run.stderr);
    let apis = admin.list_apis().await?;
    assert_eq!(apis.len(), 1);
    assert_eq!(routes_of(&admin, &apis[0].id).await?.len(), 80);

    // Updating it by name, with a syntax error first: file:line:column,
    // nothing sent.
    std::fs::write(
        &file,
        "openapi: 3.0.0\ninfo: {title: generated}\npaths:\n  /a: [\n",
    )?;
    let bad = ctl_run(&cp.url(), &["import", "-f", path, "--api", "generated"]);
    assert!(!bad.ok);
    assert!(bad.stderr.contains(&format!("{path}:")), "{}", bad.stderr);
    let (mut help, _cwd) = command(&["import", "--help"]);
    let help = String::from_utf8(help.output()?.stdout)?;
    assert!(
        help.contains("--mode") && help.contains("--fail-on-warnings"),
        "{help}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_generated_document_imports_in_one_version_and_serves() -> anyhow::Result<()> {
    let backend = upstream::start("big").await;
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let (before, _) = admin.fleet_status().await?;
    let doc = large_document(300, &format!("http://{}", backend.addr));
    let imported = admin
        .openapi
        .import_rest_api(import(&serde_json::to_string(&doc)?))
        .await?
        .into_inner();
    assert_eq!(imported.revision, before + 1, "one configuration version");
    assert_eq!(routes_of(&admin, &imported.api_id).await?.len(), 600);
    let api = admin
        .apis
        .get_rest_api(GetRestApiRequest {
            api_id: imported.api_id.clone(),
        })
        .await?
        .into_inner();
    admin.deploy(&api, "v1").await?;
    admin.wait_converged(&["n"]).await?;
    let json = [("content-type", "application/json")];
    let created = node
        .send(
            &api.id,
            "POST",
            "/v1/group3/resources292",
            &json,
            r#"{"field0": 1}"#,
        )
        .await?;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert_eq!(created.json()["path"], "/group3/resources292");
    // The shared schema became a model the validator checks.
    let refused = node
        .send(
            &api.id,
            "POST",
            "/v1/group3/resources292",
            &json,
            r#"{"field1": "x"}"#,
        )
        .await?;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    Ok(())
}

/// An API made with the admin API (here a declarative document), exported
/// with every extension and put back over itself: nothing changes. Then
/// the same document imported as a new API exports to the same document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exported_api_imports_back_unchanged() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let made = r#"
apis:
  - name: made
    id: made
    api_key_source: HEADER
    binary_media_types: [image/png]
    authorizers:
      - { name: tokens, type: TOKEN, uri: "http://127.0.0.1:9100/authorize", identity_source: method.request.header.X-Token, ttl_seconds: 60 }
      - { name: users, issuer: "https://idp.example", audiences: [app], jwks_uri: "http://127.0.0.1:9300/jwks.json" }
    models:
      - { name: Pet, schema: { type: object, required: [name], properties: { name: { type: string } } } }
      - { name: Pets, schema: { type: array, items: { $ref: "https://apigateway.amazonaws.com/restapis/made/models/Pet" } } }
    request_validators: [{ name: all, body: true, parameters: true }]
    gateway_responses:
      - { type: BAD_REQUEST_BODY, status_code: "422" }
    routes:
      - { path: /pets, method: GET, operation_name: listPets, api_key_required: true, integration: { type: HTTP_PROXY, uri: "http://127.0.0.1:9000/pets" },
          method_responses: [{ status_code: "200", response_models: { application/json: Pets } }] }
      - path: /pets
        method: POST
        authorizer: users
        scopes: [pets/write]
        request_models: { application/json: Pet }
        request_validator: all
        method_responses: [{ status_code: "200", response_parameters: { method.response.header.X-Id: true } }]
        integration:
          type: HTTP
          uri: "http://127.0.0.1:9000/pets"
          http_method: POST
          request_templates: { application/json: '{"name": $input.json(''$.name'')}' }
          integration_responses: [{ status_code: "200", response_parameters: { method.response.header.X-Id: "integration.response.header.X-Id" } }]
      - { path: "/pets/{id}", method: GET, authorizer: tokens, integration: { type: MOCK, status: 200, body: '{"id": 1}' } }
      - { path: "/pets/{id}", method: DELETE, authorization: AWS_IAM, integration: { type: MOCK, status: 204 } }
      - { path: /fn, method: POST, integration: { type: AWS_PROXY, uri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:fn/invocations" } }
"#;
    admin
        .config
        .apply_configuration(apply_request(made, false, false))
        .await?;
    let export = |api: &str, swagger: bool| GetExportRequest {
        api_id: api.into(),
        stage_name: String::new(),
        export_type: if swagger { "swagger" } else { "oas30" }.into(),
        extensions: "apigateway".into(),
        format: "yaml".into(),
    };
    for swagger in [false, true] {
        let document = admin
            .openapi
            .get_export(export("made", swagger))
            .await?
            .into_inner()
            .body;
        let put = admin
            .openapi
            .put_rest_api(PutRestApiRequest {
                api_id: "made".into(),
                body: document.clone(),
                mode: "overwrite".into(),
                options: Some(ImportOptions {
                    fail_on_warnings: true,
                    ..Default::default()
                }),
            })
            .await?
            .into_inner();
        assert!(
            !put.applied,
            "swagger={swagger}: {:#?}\n{document}",
            put.changes
        );
        // A new API from the document exports the same document (but for
        // its id, in the model URLs and server).
        let copy = admin
            .openapi
            .import_rest_api(import(&document))
            .await?
            .into_inner();
        let again = admin
            .openapi
            .get_export(export(&copy.api_id, swagger))
            .await?
            .into_inner()
            .body;
        assert_eq!(
            again.replace(&copy.api_id, "made"),
            document,
            "swagger={swagger}"
        );
    }
    Ok(())
}

/// Measures the import of a 2.5 MB document: the time of the call and the
/// control plane's peak memory (VmHWM) before and after. Run with
/// `cargo test --release -p archway-e2e --test openapi_import -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement"]
async fn scale_import_of_a_large_document() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let doc = large_document(430, "http://127.0.0.1:9");
    let mut documents = vec![
        (
            "generated json".to_owned(),
            serde_json::to_string_pretty(&doc)?,
        ),
        ("generated yaml".to_owned(), serde_saphyr::to_string(&doc)?),
    ];
    // Real descriptions too, e.g. GitHub's (`npm pack @octokit/openapi`,
    // generated/api.github.com.json): ARCHWAY_OPENAPI_FILES=a.json,b.yaml.
    for file in std::env::var("ARCHWAY_OPENAPI_FILES")
        .unwrap_or_default()
        .split(',')
    {
        if !file.is_empty() {
            documents.push((file.to_owned(), std::fs::read_to_string(file)?));
        }
    }
    for (format, text) in documents {
        let peak_before = peak_kb(cp.process.pid());
        let started = Instant::now();
        let imported = admin
            .openapi
            .import_rest_api(import(&text))
            .await?
            .into_inner();
        let took = started.elapsed();
        let routes = routes_of(&admin, &imported.api_id).await?.len();
        if format.starts_with("generated") {
            assert_eq!(routes, 860, "430 paths of two operations each");
        }
        eprintln!(
            "{format}: {:.2} MB, {routes} routes, import {:.0} ms, control plane peak {} MB (before {} MB)",
            text.len() as f64 / 1e6,
            took.as_secs_f64() * 1000.0,
            peak_kb(cp.process.pid()) / 1024,
            peak_before / 1024,
        );
        // Export it and put it back over itself: nothing may change.
        let started = Instant::now();
        let exported = admin
            .openapi
            .get_export(GetExportRequest {
                api_id: imported.api_id.clone(),
                extensions: "apigateway".into(),
                ..Default::default()
            })
            .await?
            .into_inner();
        let export_ms = started.elapsed().as_secs_f64() * 1000.0;
        let put = admin
            .openapi
            .put_rest_api(PutRestApiRequest {
                api_id: imported.api_id.clone(),
                body: exported.body,
                mode: "overwrite".into(),
                options: Some(ImportOptions {
                    dry_run: true,
                    ..Default::default()
                }),
            })
            .await?
            .into_inner();
        let changed = put
            .changes
            .iter()
            .filter(|c| c.action() != ChangeAction::Keep)
            .count();
        eprintln!("{format}: export {export_ms:.0} ms; export put back over it changes {changed}");
        assert_eq!(changed, 0, "{:#?}", put.changes);
    }
    Ok(())
}

/// A process's peak resident memory, in KB.
fn peak_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
