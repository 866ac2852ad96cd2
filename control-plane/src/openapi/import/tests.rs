//! The reader against whole documents of each dialect: what each part
//! becomes, and what is warned about or refused, at which pointer.

use super::*;
use crate::declarative::document::IntegrationSpec;

fn options() -> ReadOptions {
    ReadOptions {
        api_id: "abc123".into(),
        ..Default::default()
    }
}

fn read_ok(text: &str) -> Imported {
    match read(text, &options()) {
        Ok(i) => i,
        Err(ReadError::Syntax(e)) => panic!("syntax: {e}"),
        Err(ReadError::Document(errors)) => panic!("errors: {errors:#?}"),
    }
}

fn errors_of(text: &str) -> Vec<Problem> {
    match read(text, &options()) {
        Ok(i) => panic!("read without errors: {:#?}", i.spec),
        Err(ReadError::Syntax(e)) => panic!("syntax: {e}"),
        Err(ReadError::Document(errors)) => errors,
    }
}

fn warned_at(imported: &Imported, pointer: &str) -> bool {
    imported.warnings.iter().any(|w| w.pointer == pointer)
}

pub(crate) const PETSTORE_30: &str = r##"
openapi: 3.0.3
info: { title: Petstore, description: Pets for sale, version: 1.0.0 }
servers: [{ url: "http://127.0.0.1:9000/v1" }]
paths:
  /pets:
    get:
      operationId: listPets
      parameters:
        - { name: limit, in: query, schema: { type: integer } }
        - { name: tags, in: query, required: true, schema: { type: array, items: { type: string } } }
      responses:
        200:
          description: pets
          headers: { x-next: { required: true, schema: { type: string } } }
          content: { application/json: { schema: { $ref: "#/components/schemas/Pets" } } }
        default: { description: error, content: { application/json: { schema: { type: object } } } }
    post:
      operationId: createPet
      requestBody:
        content: { application/json: { schema: { $ref: "#/components/schemas/New_Pet" } } }
      responses: { "201": { description: created } }
  /pets/{petId}:
    parameters: [{ $ref: "#/components/parameters/PetId" }]
    get:
      operationId: showPet
      responses:
        "200":
          description: a pet
          content: { application/json: { schema: { type: object, properties: { id: { type: integer } } } } }
components:
  parameters:
    PetId: { name: petId, in: path, required: true, schema: { type: string } }
  schemas:
    Pet:
      type: object
      required: [id]
      properties:
        id: { type: integer }
        tag: { type: string, nullable: true }
    Pets: { type: array, items: { $ref: "#/components/schemas/Pet" } }
    New_Pet: { allOf: [{ $ref: "#/components/schemas/Pet" }], description: a new pet }
"##;

#[test]
fn a_plain_openapi_30_document_becomes_routes_models_and_proxies() {
    let imported = read_ok(PETSTORE_30);
    let spec = &imported.spec;
    assert_eq!(spec.name, "Petstore");
    assert_eq!(spec.description, "Pets for sale");
    assert_eq!(spec.protocol, None);
    let names: Vec<_> = spec
        .routes
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(names, ["GET /pets", "POST /pets", "GET /pets/{petId}"]);
    let list = &spec.routes[0];
    assert_eq!(list.operation_name.as_deref(), Some("listPets"));
    assert_eq!(
        list.request_parameters
            .get("method.request.querystring.limit"),
        Some(&false)
    );
    assert_eq!(
        list.request_parameters
            .get("method.request.multivaluequerystring.tags"),
        Some(&true)
    );
    assert_eq!(
        list.method_responses.len(),
        1,
        "default is not a status code"
    );
    assert_eq!(
        list.method_responses[0]
            .response_parameters
            .get("method.response.header.x-next"),
        Some(&true)
    );
    assert_eq!(
        list.method_responses[0]
            .response_models
            .get("application/json")
            .map(String::as_str),
        Some("Pets")
    );
    // A `default` with a body cannot be declared: warned about. (One that
    // only describes, as exports write, declares nothing to lose.)
    assert!(warned_at(&imported, "/paths/~1pets/get/responses/default"));
    // No integration: proxied to the server, with a warning at the operation.
    match &list.integration {
        IntegrationSpec::HttpProxy {
            uri, http_method, ..
        } => {
            assert_eq!(uri, "http://127.0.0.1:9000/v1/pets");
            assert_eq!(http_method.as_deref(), Some("GET"));
        }
        other => panic!("{other:?}"),
    }
    assert!(warned_at(&imported, "/paths/~1pets/get"));
    // The path-level parameter, through its $ref.
    let show = &spec.routes[2];
    assert_eq!(
        show.request_parameters.get("method.request.path.petId"),
        Some(&true)
    );
    // Named schemas are models (a name AWS cannot have is renamed, with a
    // warning), references between them are model URLs, nullable is draft 4.
    let models: Vec<_> = spec.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(models, ["NewPet", "Pet", "Pets", "ShowPetResponse200"]);
    assert!(warned_at(&imported, "/components/schemas/New_Pet"));
    assert_eq!(
        spec.routes[1]
            .request_models
            .get("application/json")
            .map(String::as_str),
        Some("NewPet")
    );
    let pet = &spec.models[1].schema;
    assert_eq!(
        pet["properties"]["tag"]["type"],
        serde_json::json!(["string", "null"])
    );
    let pets = &spec.models[2].schema;
    assert_eq!(
        pets["items"]["$ref"],
        "https://apigateway.amazonaws.com/restapis/abc123/models/Pet"
    );
    assert_eq!(spec.models[0].description, "a new pet");
    assert_eq!(imported.origins.routes[2], "/paths/~1pets~1{petId}/get");
}

pub(crate) const AWS_HEAVY: &str = r##"{
  "swagger": "2.0",
  "info": {"title": "orders", "version": "2024-01-01"},
  "x-amazon-apigateway-api-key-source": "HEADER",
  "x-amazon-apigateway-binary-media-types": ["image/png", "application~1octet-stream"],
  "x-amazon-apigateway-policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"execute-api:Invoke\",\"Resource\":\"execute-api:/*\"}]}",
  "x-amazon-apigateway-endpoint-configuration": {"types": ["EDGE"]},
  "x-amazon-apigateway-minimum-compression-size": 1024,
  "x-amazon-apigateway-request-validators": {
    "all": {"validateRequestBody": true, "validateRequestParameters": true},
    "params": {"validateRequestBody": false, "validateRequestParameters": true}
  },
  "x-amazon-apigateway-request-validator": "params",
  "x-amazon-apigateway-gateway-responses": {
    "BAD_REQUEST_BODY": {"statusCode": 422, "responseTemplates": {"application/json": "{\"message\": $context.error.validationErrorString}"}}
  },
  "securityDefinitions": {
    "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"},
    "sigv4": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"},
    "tokens": {"type": "apiKey", "name": "X-Token", "in": "header", "x-amazon-apigateway-authtype": "custom",
      "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": "http://127.0.0.1:9100/authorize",
        "identityValidationExpression": "^Bearer .+$", "authorizerResultTtlInSeconds": 60},
      "x-archway-authorizer": {"timeoutInMillis": 2000}},
    "pool": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "cognito_user_pools",
      "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools", "providerARNs": ["arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Ab"]},
      "x-archway-authorizer": {"audiences": ["client-1"]}}
  },
  "definitions": {"Order": {"type": "object", "properties": {"qty": {"type": "integer", "minimum": 1}}}},
  "paths": {
    "/orders": {
      "post": {
        "operationId": "createOrder",
        "consumes": ["application/json"],
        "parameters": [{"name": "body", "in": "body", "schema": {"$ref": "#/definitions/Order"}},
                       {"name": "X-Trace", "in": "header", "required": true, "type": "string"}],
        "security": [{"api_key": [], "tokens": []}],
        "x-amazon-apigateway-request-validator": "all",
        "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Order"}}},
        "x-amazon-apigateway-integration": {
          "type": "aws", "uri": "arn:aws:apigateway:us-east-1:sqs:path/123456789012/orders",
          "httpMethod": "POST", "credentials": "arn:aws:iam::123456789012:role/sqs",
          "requestParameters": {"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},
          "requestTemplates": {"application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"},
          "passthroughBehavior": "never", "timeoutInMillis": 5000, "cacheNamespace": "x1",
          "connectionType": "INTERNET",
          "responses": {"default": {"statusCode": "200"}, "4\\d{2}": {"statusCode": "400", "responseTemplates": {"application/json": "{}"}}}
        }
      },
      "x-amazon-apigateway-any-method": {
        "security": [{"sigv4": []}],
        "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST",
          "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:orders/invocations"},
        "x-archway-integration": {"endpointUrl": "http://127.0.0.1:9200"}
      }
    },
    "/orders/{id}": {
      "get": {
        "parameters": [{"name": "id", "in": "path", "required": true, "type": "string"}],
        "security": [{"pool": ["orders/read"]}],
        "x-amazon-apigateway-request-validator": "NONE",
        "x-amazon-apigateway-integration": {"type": "mock",
          "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
          "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": "{\"id\": \"$input.params('id')\"}"}}}}
      },
      "delete": {
        "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 204}"},
          "responses": {"default": {"statusCode": "204"}}},
        "x-archway-integration": {"mock": {"statusCode": 204, "headers": {"x-gone": "yes"}}}
      }
    }
  }
}"##;

#[test]
fn aws_extensions_of_a_swagger_document_are_read_as_aws_reads_them() {
    let imported = read_ok(AWS_HEAVY);
    let spec = &imported.spec;
    assert_eq!(spec.api_key_source.as_deref(), Some("HEADER"));
    assert_eq!(
        spec.binary_media_types,
        ["image/png", "application/octet-stream"]
    );
    assert_eq!(
        spec.policy.as_ref().unwrap()["Statement"][0]["Effect"],
        "Allow"
    );
    assert_eq!(spec.endpoint_type, None, "EDGE is served as REGIONAL");
    assert!(warned_at(
        &imported,
        "/x-amazon-apigateway-endpoint-configuration/types"
    ));
    assert!(warned_at(
        &imported,
        "/x-amazon-apigateway-minimum-compression-size"
    ));
    assert_eq!(spec.request_validators.len(), 2);
    assert!(spec.request_validators[0].body && spec.request_validators[0].parameters);
    assert_eq!(spec.gateway_responses[0].response_type, "BAD_REQUEST_BODY");
    assert_eq!(spec.gateway_responses[0].status_code, "422");
    // Authorizers.
    let tokens = spec
        .authorizers
        .iter()
        .find(|a| a.name == "tokens")
        .unwrap();
    assert_eq!(tokens.kind, "TOKEN");
    assert_eq!(tokens.uri, "http://127.0.0.1:9100/authorize");
    assert_eq!(tokens.identity_source, "method.request.header.X-Token");
    assert_eq!(tokens.ttl_seconds, Some(60));
    assert_eq!(tokens.timeout_ms, 2000);
    let pool = spec.authorizers.iter().find(|a| a.name == "pool").unwrap();
    assert_eq!(pool.kind, "JWT");
    assert_eq!(
        pool.issuer,
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab"
    );
    assert_eq!(
        pool.jwks_uri,
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab/.well-known/jwks.json"
    );
    assert_eq!(pool.audiences, ["client-1"]);
    // Routes: paths sorted, verbs in the document's order.
    let by = |m: &str, p: &str| {
        spec.routes
            .iter()
            .find(|r| r.method == m && r.path == p)
            .unwrap()
    };
    let create = by("POST", "/orders");
    assert!(create.api_key_required);
    assert_eq!(create.authorizer.as_deref(), Some("tokens"));
    assert_eq!(create.request_validator.as_deref(), Some("all"));
    assert_eq!(
        create
            .request_models
            .get("application/json")
            .map(String::as_str),
        Some("Order")
    );
    assert_eq!(
        create
            .request_parameters
            .get("method.request.header.X-Trace"),
        Some(&true)
    );
    assert_eq!(
        create.method_responses[0]
            .response_models
            .get("application/json")
            .map(String::as_str),
        Some("Order")
    );
    match &create.integration {
        IntegrationSpec::Aws {
            uri,
            credentials,
            passthrough_behavior,
            timeout_ms,
            integration_responses,
            request_templates,
            ..
        } => {
            assert!(uri.ends_with(":sqs:path/123456789012/orders"));
            assert!(credentials.ends_with("role/sqs"));
            assert_eq!(passthrough_behavior.as_deref(), Some("NEVER"));
            assert_eq!(*timeout_ms, Some(5000));
            assert!(request_templates["application/json"].starts_with("Action=SendMessage"));
            // The default response last.
            let patterns: Vec<_> = integration_responses
                .iter()
                .map(|r| r.selection_pattern.as_str())
                .collect();
            assert_eq!(patterns, ["4\\d{2}", ""]);
        }
        other => panic!("{other:?}"),
    }
    assert!(warned_at(
        &imported,
        "/paths/~1orders/post/x-amazon-apigateway-integration/cacheNamespace"
    ));
    let any = by("ANY", "/orders");
    assert_eq!(any.authorization.as_deref(), Some("AWS_IAM"));
    assert_eq!(
        any.request_validator.as_deref(),
        Some("params"),
        "the document's default"
    );
    assert!(
        matches!(&any.integration, IntegrationSpec::AwsProxy { endpoint_url, .. } if endpoint_url == "http://127.0.0.1:9200")
    );
    let show = by("GET", "/orders/{id}");
    assert_eq!(show.authorizer.as_deref(), Some("pool"));
    assert_eq!(show.scopes, ["orders/read"]);
    assert_eq!(show.request_validator, None, "NONE is no validator");
    assert!(
        matches!(&show.integration, IntegrationSpec::Mock { request_templates, integration_responses, .. }
        if request_templates.len() == 1 && integration_responses.len() == 1)
    );
    let delete = by("DELETE", "/orders/{id}");
    assert!(
        matches!(&delete.integration, IntegrationSpec::Mock { status: 204, headers, request_templates, .. }
        if headers["x-gone"] == "yes" && request_templates.is_empty())
    );
}

#[test]
fn gateway_checks_archway_cannot_make_refuse_the_import_rather_than_open_routes() {
    let doc = |scheme: &str| {
        format!(
            "openapi: 3.0.0\ninfo: {{title: t}}\ncomponents: {{securitySchemes: {{s: {scheme}}}}}\npaths:\n  /a:\n    get:\n      security: [{{s: []}}]\n      x-amazon-apigateway-integration: {{type: mock}}\n"
        )
    };
    // AWS authorizers: checks the document asks the gateway to make.
    for scheme in [
        "{type: apiKey, in: header, name: Authorization, x-amazon-apigateway-authorizer: {type: token, authorizerUri: 'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:auth/invocations'}}",
        "{type: apiKey, in: header, name: Authorization, x-amazon-apigateway-authorizer: {type: cognito_user_pools, providerARNs: []}}",
        "{type: apiKey, in: header, name: Authorization, x-amazon-apigateway-authorizer: {type: magic}}",
        // An export without `authorizers`: named a gateway authorizer, not
        // described; never read as an API key.
        "{type: apiKey, in: header, name: X-Token, x-amazon-apigateway-authtype: custom}",
    ] {
        let errors = errors_of(&doc(scheme));
        assert_eq!(
            errors[0].pointer, "/paths/~1a/get/security/0/s",
            "{scheme}: {errors:?}"
        );
        assert!(
            errors[0].message.contains("not imported open"),
            "{scheme}: {errors:?}"
        );
    }
    // OpenAPI's own schemes describe what the backend checks: imported
    // without a gateway check, with one warning at the scheme.
    for scheme in [
        "{type: http, scheme: basic}",
        "{type: http, scheme: bearer}",
        "{type: oauth2, flows: {}}",
        "{type: openIdConnect, openIdConnectUrl: 'https://idp.example/.well-known/openid-configuration'}",
        "{type: apiKey, in: query, name: key}",
    ] {
        let imported = read_ok(&doc(scheme));
        let route = &imported.spec.routes[0];
        assert!(
            !route.api_key_required && route.authorizer.is_none() && route.authorization.is_none()
        );
        let at: Vec<_> = imported
            .warnings
            .iter()
            .filter(|w| w.message.contains("backend"))
            .map(|w| w.pointer.as_str())
            .collect();
        assert_eq!(at, ["/components/securitySchemes/s"], "{scheme}");
    }
    // An unknown scheme name is an error.
    let errors = errors_of(
        "openapi: 3.0.0\ninfo: {title: t}\nsecurity: [{nope: []}]\npaths: {/a: {get: {x-amazon-apigateway-integration: {type: mock}}}}\n",
    );
    assert_eq!(errors[0].pointer, "/security/0/nope");
}

#[test]
fn an_optional_security_alternative_does_not_open_the_route() {
    // `[{}, {api_key: []}]` means "no key or a key": the gateway enforces
    // the key (the requirement that requires something) and says so.
    let text = "openapi: 3.0.0\ninfo: {title: t}\ncomponents: {securitySchemes: {api_key: {type: apiKey, in: header, name: x-api-key}}}\npaths: {/a: {get: {security: [{}, {api_key: []}], x-amazon-apigateway-integration: {type: mock}}}}\n";
    let imported = read_ok(text);
    assert!(imported.spec.routes[0].api_key_required);
    assert!(warned_at(&imported, "/paths/~1a/get/security"));
    // `security: []` on the operation: none, whatever the document's default.
    let text = "openapi: 3.0.0\ninfo: {title: t}\ncomponents: {securitySchemes: {api_key: {type: apiKey, in: header, name: x-api-key}}}\nsecurity: [{api_key: []}]\npaths: {/a: {get: {security: [], x-amazon-apigateway-integration: {type: mock}}}, /b: {get: {x-amazon-apigateway-integration: {type: mock}}}}\n";
    let spec = read_ok(text).spec;
    assert!(!spec.routes[0].api_key_required);
    assert!(spec.routes[1].api_key_required, "the document's default");
}

#[test]
fn references_outside_the_document_are_refused_with_their_pointer() {
    let errors = errors_of(
        "openapi: 3.0.0\ninfo: {title: t}\npaths:\n  /a:\n    get:\n      parameters: [{$ref: 'common.yaml#/id'}]\n      x-amazon-apigateway-integration: {type: mock}\n",
    );
    assert_eq!(errors[0].pointer, "/paths/~1a/get/parameters/0/$ref");
    assert!(errors[0].message.contains("outside this document"));
}

#[test]
fn openapi_31_schemas_are_converted_to_draft_4() {
    let text = r#"
openapi: 3.1.0
info: { title: t }
components:
  schemas:
    Thing:
      type: object
      properties:
        n: { type: number, exclusiveMinimum: 0, exclusiveMaximum: 10 }
        kind: { const: fixed }
        maybe: { type: [string, "null"] }
        rule: { if: { type: string }, then: { minLength: 1 } }
paths: {}
"#;
    let imported = read_ok(text);
    let schema = &imported.spec.models[0].schema;
    assert_eq!(schema["properties"]["n"]["minimum"], 0);
    assert_eq!(schema["properties"]["n"]["exclusiveMinimum"], true);
    assert_eq!(schema["properties"]["n"]["maximum"], 10);
    assert_eq!(
        schema["properties"]["kind"]["enum"],
        serde_json::json!(["fixed"])
    );
    assert!(warned_at(
        &imported,
        "/components/schemas/Thing/properties/rule/if"
    ));
}

#[test]
fn an_http_api_reads_its_cors_jwt_authorizers_and_function_integrations() {
    let text = r#"
openapi: 3.0.1
info: { title: chat-http }
x-amazon-apigateway-importexport-version: "1.0"
x-amazon-apigateway-cors:
  allowOrigins: ["https://app.example.com"]
  allowMethods: [GET, POST]
  maxAge: 600
  allowCredentials: true
components:
  securitySchemes:
    users:
      type: oauth2
      flows: {}
      x-amazon-apigateway-authorizer:
        type: jwt
        identitySource: $request.header.Authorization
        jwtConfiguration: { issuer: "https://idp.example", audience: [app] }
      x-archway-authorizer: { jwksUri: "http://127.0.0.1:9300/jwks.json", algorithms: [RS256] }
  schemas:
    Ignored: { type: object }
paths:
  /messages:
    post:
      security: [{ users: [chat/write] }]
      requestBody: { content: { application/json: { schema: { type: object } } } }
      x-amazon-apigateway-integration:
        type: aws_proxy
        uri: arn:aws:lambda:us-east-1:123456789012:function:post
        payloadFormatVersion: "2.0"
  /queue:
    post:
      x-amazon-apigateway-integration:
        type: aws_proxy
        integrationSubtype: SQS-SendMessage
        credentials: arn:aws:iam::123456789012:role/q
        requestParameters: { QueueUrl: "$request.header.queue", MessageBody: "$request.body" }
        payloadFormatVersion: "1.0"
"#;
    let imported = read_ok(text);
    let spec = &imported.spec;
    assert_eq!(spec.protocol.as_deref(), Some("HTTP"));
    let cors = spec.cors.as_ref().unwrap();
    assert_eq!(cors.allow_origins, ["https://app.example.com"]);
    assert_eq!(cors.max_age_seconds, Some(600));
    assert!(cors.allow_credentials);
    assert!(spec.models.is_empty(), "HTTP APIs have no models");
    let users = &spec.authorizers[0];
    assert_eq!(
        (users.kind.as_str(), users.issuer.as_str()),
        ("JWT", "https://idp.example")
    );
    assert_eq!(users.identity_source, "method.request.header.Authorization");
    assert_eq!(users.jwks_uri, "http://127.0.0.1:9300/jwks.json");
    assert_eq!(spec.routes[0].scopes, ["chat/write"]);
    assert!(spec.routes[0].request_models.is_empty());
    assert!(
        matches!(&spec.routes[0].integration, IntegrationSpec::AwsProxy { payload_format_version, .. } if payload_format_version == "2.0")
    );
    assert!(
        matches!(&spec.routes[1].integration, IntegrationSpec::AwsProxy { subtype, request_parameters, .. }
        if subtype == "SQS-SendMessage" && request_parameters["QueueUrl"] == "$request.header.queue")
    );
}

#[test]
fn a_document_without_servers_mocks_operations_with_their_examples() {
    let text = r#"
openapi: 3.0.0
info: { title: t }
paths:
  /hello:
    get:
      responses:
        "201":
          description: hi
          content: { application/json: { example: { hello: world } } }
"#;
    let imported = read_ok(text);
    match &imported.spec.routes[0].integration {
        IntegrationSpec::Mock { status, body, .. } => {
            assert_eq!(*status, 201);
            assert_eq!(body, r#"{"hello":"world"}"#);
        }
        other => panic!("{other:?}"),
    }
    assert!(warned_at(&imported, "/paths/~1hello/get"));
}

#[test]
fn the_base_path_is_ignored_unless_prepended() {
    let text = "swagger: '2.0'\ninfo: {title: t}\nhost: 127.0.0.1:9000\nbasePath: /v2/\npaths: {/a: {get: {x-amazon-apigateway-integration: {type: mock}}}}\n";
    assert_eq!(read_ok(text).spec.routes[0].path, "/a");
    let prepended = read(
        text,
        &ReadOptions {
            prepend_base_path: true,
            ..options()
        },
    )
    .unwrap();
    assert_eq!(prepended.spec.routes[0].path, "/v2/a");
    let text = "openapi: 3.0.0\ninfo: {title: t}\nservers: [{url: 'https://api.example.com/{base}', variables: {base: {default: prod}}}]\npaths: {/a: {get: {x-amazon-apigateway-integration: {type: mock}}}}\n";
    let prepended = read(
        text,
        &ReadOptions {
            prepend_base_path: true,
            ..options()
        },
    )
    .unwrap();
    assert_eq!(prepended.spec.routes[0].path, "/prod/a");
}

#[test]
fn problems_name_their_place_and_every_one_is_reported() {
    let text = r#"
openapi: 3.0.0
info: { title: "" }
paths:
  /a:
    get:
      operationId: "get a"
      x-amazon-apigateway-integration: { type: lambda }
    put:
      x-amazon-apigateway-integration: { type: http }
    post:
      x-amazon-apigateway-integration: { type: mock, timeoutInMillis: soon }
"#;
    let errors = errors_of(text);
    let at: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
    assert_eq!(
        at,
        [
            "/info/title",
            "/paths/~1a/get/x-amazon-apigateway-integration/type",
            "/paths/~1a/post/x-amazon-apigateway-integration/timeoutInMillis",
            "/paths/~1a/put/x-amazon-apigateway-integration/uri",
        ],
        "{errors:#?}"
    );
}

#[test]
fn operation_ids_sdks_cannot_use_are_dropped_with_a_warning() {
    let text = "openapi: 3.0.0\ninfo: {title: t}\npaths:\n  /a: {get: {operationId: 'get a', x-amazon-apigateway-integration: {type: mock}}, put: {operationId: same, x-amazon-apigateway-integration: {type: mock}}, post: {operationId: same, x-amazon-apigateway-integration: {type: mock}}}\n";
    let imported = read_ok(text);
    let names: Vec<_> = imported
        .spec
        .routes
        .iter()
        .map(|r| r.operation_name.clone())
        .collect();
    assert_eq!(names, [None, Some("same".into()), None]);
    assert!(warned_at(&imported, "/paths/~1a/get/operationId"));
    // Operations are read in the order of their verbs' names: POST first.
    assert!(warned_at(&imported, "/paths/~1a/put/operationId"));
}

#[test]
fn unknown_aws_extensions_are_warned_about_not_dropped_in_silence() {
    let text = "openapi: 3.0.0\ninfo: {title: t}\nx-amazon-apigateway-documentation: {version: 1}\nx-other-vendor: 1\npaths:\n  /a:\n    x-amazon-apigateway-foo: 1\n    get:\n      x-amazon-apigateway-bar: 1\n      x-amazon-apigateway-integration: {type: http_proxy, uri: 'http://127.0.0.1:1/a', connectionType: VPC_LINK, connectionId: abc}\n";
    let imported = read_ok(text);
    for at in [
        "/x-amazon-apigateway-documentation",
        "/paths/~1a/x-amazon-apigateway-foo",
        "/paths/~1a/get/x-amazon-apigateway-bar",
        "/paths/~1a/get/x-amazon-apigateway-integration/connectionType",
    ] {
        assert!(warned_at(&imported, at), "{at}: {:#?}", imported.warnings);
    }
    assert!(
        !imported
            .warnings
            .iter()
            .any(|w| w.pointer.contains("x-other-vendor"))
    );
}

#[test]
fn planner_paths_are_placed_at_their_pointer() {
    let imported = read_ok(PETSTORE_30);
    let o = &imported.origins;
    assert_eq!(
        o.locate("apis[0].routes[1].integration.uri"),
        (
            "/paths/~1pets/post".to_owned(),
            "integration.uri".to_owned()
        )
    );
    assert_eq!(
        o.locate("apis[0].models[1].schema"),
        ("/components/schemas/Pet".to_owned(), "schema".to_owned())
    );
    assert_eq!(o.locate("apis[0].name"), (String::new(), "name".to_owned()));
}

#[test]
fn an_http_apis_default_route_is_a_greedy_path() {
    let text = "openapi: 3.0.1\ninfo: {title: t}\nx-amazon-apigateway-importexport-version: '1.0'\npaths:\n  $default:\n    x-amazon-apigateway-any-method:\n      x-amazon-apigateway-integration: {type: http_proxy, uri: 'http://127.0.0.1:9/', payloadFormatVersion: '1.0'}\n";
    let imported = read_ok(text);
    let route = &imported.spec.routes[0];
    assert_eq!(
        (route.method.as_str(), route.path.as_str()),
        ("ANY", "/{proxy+}")
    );
    assert!(warned_at(&imported, "/paths/$default"));
}

#[test]
fn references_that_multiply_schemas_exponentially_are_refused_quickly() {
    // Each level names the next four times: 4^20 schema objects if inlined
    // (references into another schema are inlined; into the model being
    // converted they stay references).
    let mut text = String::from(
        "openapi: 3.0.0\ninfo: {title: t}\npaths: {}\ncomponents:\n  schemas:\n    Root: { $ref: '#/components/schemas/Other/properties/l0' }\n    Other:\n      type: object\n      properties:\n",
    );
    for level in 0..20 {
        let r = format!(
            "{{ $ref: '#/components/schemas/Other/properties/l{}' }}",
            level + 1
        );
        text.push_str(&format!(
            "        l{level}: {{ type: object, properties: {{ a: {r}, b: {r}, c: {r}, d: {r} }} }}\n"
        ));
    }
    text.push_str("        l20: { type: string }\n");
    let started = std::time::Instant::now();
    let errors = errors_of(&text);
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("expand to more than")),
        "{errors:#?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn yaml_alias_bombs_and_deep_nesting_are_refused_not_expanded() {
    // The billion laughs: nine levels of ten aliases each.
    let mut bomb = String::from("openapi: 3.0.0\ninfo: {title: t}\nx-lol0: &l0 [lol]\n");
    for level in 1..10 {
        let prev = level - 1;
        bomb.push_str(&format!("x-lol{level}: &l{level} [*l{prev}, *l{prev}, *l{prev}, *l{prev}, *l{prev}, *l{prev}, *l{prev}, *l{prev}, *l{prev}, *l{prev}]\n"));
    }
    bomb.push_str("paths: {}\n");
    let started = std::time::Instant::now();
    assert!(matches!(read(&bomb, &options()), Err(ReadError::Syntax(_))));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // Nesting deeper than a parser should follow, in both syntaxes.
    let deep_json = format!(
        "{{\"openapi\": \"3.0.0\", \"x\": {}{}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    assert!(matches!(
        read(&deep_json, &options()),
        Err(ReadError::Syntax(_))
    ));
    let deep_yaml = format!(
        "openapi: 3.0.0\nx: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    assert!(matches!(
        read(&deep_yaml, &options()),
        Err(ReadError::Syntax(_))
    ));
    // Larger than an import reads.
    let huge = format!("openapi: 3.0.0\nx: '{}'\n", "a".repeat(MAX_DOCUMENT_BYTES));
    match read(&huge, &options()) {
        Err(ReadError::Syntax(e)) => assert!(e.message.contains("at most"), "{e}"),
        other => panic!("{:?}", other.map(|i| i.spec.name)),
    }
}

#[test]
fn sibling_path_variables_take_one_name_everywhere_the_route_names_them() {
    let text = r#"
openapi: 3.0.0
info: { title: t }
paths:
  /users/{id}:
    get:
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      x-amazon-apigateway-integration: { type: http_proxy, uri: "http://127.0.0.1:9/users/{id}" }
  /users/{name}/repos:
    get:
      parameters: [{ name: name, in: path, required: true, schema: { type: string } }]
      x-amazon-apigateway-integration:
        type: http_proxy
        uri: "http://127.0.0.1:9/u/{name}/repos"
        requestParameters: { integration.request.header.X-User: method.request.path.name }
        cacheKeyParameters: [method.request.path.name]
"#;
    let imported = read_ok(text);
    let repos = &imported.spec.routes[1];
    assert_eq!(repos.path, "/users/{id}/repos");
    assert_eq!(
        repos.request_parameters.get("method.request.path.id"),
        Some(&true)
    );
    assert!(
        !repos
            .request_parameters
            .contains_key("method.request.path.name")
    );
    match &repos.integration {
        IntegrationSpec::HttpProxy {
            uri,
            request_parameters,
            cache_key_parameters,
            ..
        } => {
            assert_eq!(uri, "http://127.0.0.1:9/u/{id}/repos");
            assert_eq!(
                request_parameters["integration.request.header.X-User"],
                "method.request.path.id"
            );
            assert_eq!(cache_key_parameters, &["method.request.path.id"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(warned_at(&imported, "/paths/~1users~1{name}~1repos/get"));
}

#[test]
fn paths_a_resource_cannot_match_and_reserved_response_headers_are_left_out_with_warnings() {
    let text = r#"
openapi: 3.0.0
info: { title: t }
paths:
  /compare/{base}...{head}:
    get: { x-amazon-apigateway-integration: { type: mock } }
  /markdown:
    post:
      responses:
        "200":
          description: html
          headers: { Content-Length: { schema: { type: integer } }, X-Id: { schema: { type: string } } }
      x-amazon-apigateway-integration: { type: mock }
"#;
    let imported = read_ok(text);
    let paths: Vec<_> = imported
        .spec
        .routes
        .iter()
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(paths, ["/markdown"]);
    assert!(warned_at(&imported, "/paths/~1compare~1{base}...{head}"));
    let declared = &imported.spec.routes[0].method_responses[0].response_parameters;
    assert_eq!(
        declared.keys().collect::<Vec<_>>(),
        ["method.response.header.X-Id"]
    );
    assert!(warned_at(
        &imported,
        "/paths/~1markdown/post/responses/200/headers/Content-Length"
    ));
}
