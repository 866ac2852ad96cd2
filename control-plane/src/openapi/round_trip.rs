//! The round trip both halves promise: a document imported, exported (with
//! every extension, as OpenAPI 3.0 and as Swagger 2.0, as JSON and as
//! YAML) and imported again gives the same API definition; and an API
//! written as a declarative document (as the admin API makes them) comes
//! back from export → import unchanged.

use super::export::document::{Target, document};
use super::export::{ExportOptions, serialize};
use super::import::tests::{AWS_HEAVY, PETSTORE_30};
use super::import::{ReadError, ReadOptions, read};
use crate::declarative::document::{ApiSpec, ApplyFile};

fn options(protocol: &str) -> ReadOptions {
    ReadOptions {
        api_id: "abc123".into(),
        protocol: protocol.into(),
        prepend_base_path: false,
    }
}

fn imported(text: &str, protocol: &str) -> ApiSpec {
    match read(text, &options(protocol)) {
        Ok(i) => i.spec,
        Err(ReadError::Syntax(e)) => panic!("syntax: {e}\n{text}"),
        Err(ReadError::Document(e)) => panic!("errors: {e:#?}\n{text}"),
    }
}

/// `spec` with the lists that are sets (matched by name, type or path and
/// verb) in one order: a configuration does not change with their order.
fn canonical(spec: &ApiSpec) -> ApiSpec {
    let mut spec = spec.clone();
    spec.authorizers.sort_by(|a, b| a.name.cmp(&b.name));
    spec.models.sort_by(|a, b| a.name.cmp(&b.name));
    spec.request_validators.sort_by(|a, b| a.name.cmp(&b.name));
    spec.gateway_responses
        .sort_by(|a, b| a.response_type.cmp(&b.response_type));
    spec.routes
        .sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
    for route in &mut spec.routes {
        route
            .method_responses
            .sort_by(|a, b| a.status_code.cmp(&b.status_code));
    }
    spec
}

/// `spec` exported in every form and imported again: each must equal it.
fn assert_round_trips(spec: &ApiSpec, protocol: &str, what: &str) {
    let spec = &canonical(spec);
    let target = Target {
        version: "d1".into(),
        server_url: Some("http://abc123.execute-api.localhost:8080/prod".into()),
    };
    // HTTP APIs are OpenAPI 3 only (as AWS's).
    let dialects: &[bool] = if protocol == "HTTP" {
        &[false]
    } else {
        &[false, true]
    };
    // Exported as stored: with its id, which its models' URLs hold.
    let stored = ApiSpec {
        id: Some("abc123".into()),
        ..spec.clone()
    };
    for &swagger in dialects {
        let exported = document(
            &stored,
            &target,
            &ExportOptions {
                swagger,
                apigateway: true,
                ..Default::default()
            },
        );
        for yaml in [false, true] {
            let (_, text) = serialize(&exported.document, yaml);
            let again = canonical(&imported(&text, protocol));
            if &again != spec {
                let [a, b] = [spec, &again].map(|s| serde_saphyr::to_string(s).unwrap());
                let differing: Vec<String> = a
                    .lines()
                    .zip(b.lines())
                    .filter(|(x, y)| x != y)
                    .take(6)
                    .map(|(x, y)| format!("- {x}\n+ {y}"))
                    .collect();
                panic!(
                    "{what}: swagger={swagger} yaml={yaml} does not round-trip:\n{}\nthe document:\n{text}",
                    differing.join("\n")
                );
            }
        }
    }
}

#[test]
fn imported_documents_come_back_the_same_through_export() {
    for (what, text, protocol) in [
        ("petstore (OpenAPI 3.0)", PETSTORE_30, ""),
        ("AWS extensions (Swagger 2.0)", AWS_HEAVY, ""),
        ("HTTP API", HTTP_API, "HTTP"),
        ("OpenAPI 3.1", OPENAPI_31, ""),
    ] {
        let first = imported(text, protocol);
        assert!(!first.routes.is_empty(), "{what}");
        assert_round_trips(&first, protocol, what);
    }
}

#[test]
fn an_api_written_as_a_document_comes_back_unchanged() {
    let file = ApplyFile::parse(ADMIN_MADE).expect("the document parses");
    let mut spec = file.apis.into_iter().next().expect("one API");
    // What OpenAPI does not carry: the id and the stages.
    spec.id = None;
    spec.stages.clear();
    assert_round_trips(&spec, "", "an API made through the admin API");
}

const HTTP_API: &str = r#"
openapi: 3.0.1
info: { title: chat-http, description: chat over HTTP }
x-amazon-apigateway-importexport-version: "1.0"
x-amazon-apigateway-cors: { allowOrigins: ["https://app.example.com"], allowMethods: [GET, POST], maxAge: 600 }
components:
  securitySchemes:
    users:
      type: oauth2
      flows: {}
      x-amazon-apigateway-authorizer:
        type: jwt
        identitySource: $request.header.Authorization
        jwtConfiguration: { issuer: "https://idp.example", audience: [app] }
      x-archway-authorizer: { jwksUri: "http://127.0.0.1:9300/jwks.json" }
paths:
  /messages/{room}:
    post:
      operationId: postMessage
      security: [{ users: [chat/write] }]
      x-amazon-apigateway-integration:
        type: aws_proxy
        uri: arn:aws:lambda:us-east-1:123456789012:function:post
        payloadFormatVersion: "2.0"
        timeoutInMillis: 5000
  /queue:
    post:
      x-amazon-apigateway-integration:
        type: aws_proxy
        integrationSubtype: SQS-SendMessage
        credentials: arn:aws:iam::123456789012:role/q
        requestParameters: { QueueUrl: "$request.header.queue", MessageBody: "$request.body" }
        payloadFormatVersion: "1.0"
  /{proxy+}:
    x-amazon-apigateway-any-method:
      x-amazon-apigateway-integration: { type: http_proxy, uri: "http://127.0.0.1:9000/{proxy}", httpMethod: ANY }
"#;

const OPENAPI_31: &str = r##"
openapi: 3.1.0
info: { title: things }
x-amazon-apigateway-request-validators: { body: { validateRequestBody: true } }
components:
  schemas:
    Tree:
      type: object
      properties:
        label: { type: [string, "null"] }
        children: { type: array, items: { $ref: "#/components/schemas/Tree" } }
        size: { type: number, exclusiveMinimum: 0 }
        shape: { $ref: "#/components/schemas/Tree/definitions/Shape" }
      definitions:
        Shape: { enum: [round, square] }
      # Vendor data holding references (GitHub's descriptions have them).
      x-vendor-changes: [{ patch: { value: { $ref: "#/components/schemas/Tree" } } }]
paths:
  /trees:
    put:
      operationId: putTree
      x-amazon-apigateway-request-validator: body
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/Tree" } } } }
      responses: { "204": { description: stored } }
      x-amazon-apigateway-integration:
        type: http
        uri: http://127.0.0.1:9000/trees
        httpMethod: PUT
        requestTemplates: { application/json: "$input.json('$')" }
        passthroughBehavior: when_no_templates
        responses: { default: { statusCode: "204" } }
"##;

/// What an operator writes with `archwayctl apply` (every kind of route).
const ADMIN_MADE: &str = r#"
apis:
  - name: made
    description: made through the admin API
    api_key_source: HEADER
    binary_media_types: [image/png]
    policy: { Version: "2012-10-17", Statement: [{ Effect: Allow, Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*" }] }
    authorizers:
      - { name: tokens, type: TOKEN, uri: "http://127.0.0.1:9100/authorize", identity_source: method.request.header.X-Token, ttl_seconds: 60, timeout_ms: 2000 }
      - { name: users, issuer: "https://idp.example", audiences: [app], jwks_uri: "http://127.0.0.1:9300/jwks.json", algorithms: [RS256], leeway_seconds: 30 }
      - { name: tenants, type: REQUEST, uri: "http://127.0.0.1:9100/tenant", identity_source: "method.request.header.X-Tenant, context.sourceIp" }
    models:
      - { name: Pet, schema: { type: object, required: [name], properties: { name: { type: string } } } }
      - { name: Pets, schema: { type: array, items: { $ref: "https://apigateway.amazonaws.com/restapis/abc123/models/Pet" } } }
    request_validators:
      - { name: all, body: true, parameters: true }
    gateway_responses:
      - { type: BAD_REQUEST_BODY, status_code: "422", response_templates: { application/json: '{"message": $context.error.validationErrorString}' } }
    routes:
      - path: /pets
        method: GET
        operation_name: listPets
        api_key_required: true
        request_parameters: { method.request.querystring.limit: false, method.request.multivaluequerystring.tag: false }
        integration: { type: HTTP_PROXY, uri: "http://127.0.0.1:9000/pets", timeout_ms: 5000 }
      - path: /pets
        method: POST
        authorizer: users
        scopes: [pets/write]
        request_models: { application/json: Pet }
        request_validator: all
        method_responses:
          - { status_code: "200", response_models: { application/json: Pet }, response_parameters: { method.response.header.X-Id: false } }
        integration:
          type: HTTP
          uri: "http://127.0.0.1:9000/pets"
          http_method: POST
          request_templates: { application/json: '{"name": $input.json(''$.name'')}' }
          integration_responses:
            - { status_code: "200", response_parameters: { method.response.header.X-Id: "integration.response.header.X-Id" } }
      - path: /pets/{id}
        method: GET
        authorizer: tokens
        request_parameters: { method.request.path.id: true }
        integration: { type: MOCK, status: 200, body: '{"id": 1}', headers: { content-type: application/json } }
      - path: /pets/{id}
        method: DELETE
        authorization: AWS_IAM
        integration: { type: MOCK, status: 204 }
      - path: /tenants/{proxy+}
        method: ANY
        authorizer: tenants
        integration: { type: HTTP_PROXY, uri: "http://127.0.0.1:9000/t/{proxy}" }
      - path: /orders
        method: POST
        integration:
          type: AWS
          uri: "arn:aws:apigateway:us-east-1:sqs:path/123456789012/orders"
          http_method: POST
          credentials: "arn:aws:iam::123456789012:role/sqs"
          endpoint_url: "http://127.0.0.1:9400"
          request_parameters: { integration.request.header.Content-Type: "'application/x-www-form-urlencoded'" }
          request_templates: { application/json: "Action=SendMessage&MessageBody=$util.urlEncode($input.body)" }
          passthrough_behavior: NEVER
      - path: /fn
        method: POST
        integration: { type: AWS_PROXY, uri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:fn/invocations", endpoint_url: "http://127.0.0.1:9200" }
    stages:
      - name: prod
"#;
