//! OpenAPI documents the import, export and SDK tests share: a large
//! generated one, shaped like the public API descriptions teams keep
//! (hundreds of paths, verbose descriptions, shared parameters and
//! schemas, AWS integrations on every operation).

use serde_json::{Value, json};

/// A document with `paths` resources of two operations each (plus a shared
/// path parameter and `paths / 2` models), proxying to `backend`. About
/// 5.8 KB a path as pretty JSON: 430 paths make the 2.5 MB of a large public API
/// description.
pub fn large_document(paths: usize, backend: &str) -> Value {
    let prose = "This operation is part of a generated API description used to measure imports. \
                 It carries the kind of long description real documents have, with notes on \
                 pagination, errors, rate limits and the fields of each answer.";
    let mut path_items = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    for i in 0..paths / 2 {
        let mut properties = serde_json::Map::new();
        for p in 0..12 {
            properties.insert(
                format!("field{p}"),
                json!({ "type": if p % 3 == 0 { "integer" } else { "string" }, "description": format!("Field {p} of resource {i}: {prose}") }),
            );
        }
        schemas.insert(
            format!("Resource{i}"),
            json!({ "type": "object", "required": ["field0"], "properties": properties }),
        );
    }
    for i in 0..paths {
        let model = format!("#/components/schemas/Resource{}", i / 2);
        let collection = format!("/group{}/resources{i}", i % 17);
        let integration = |verb: &str, path: &str| {
            json!({
                "type": "http_proxy",
                "httpMethod": verb,
                "uri": format!("{backend}{path}"),
                "timeoutInMillis": 10000,
                "passthroughBehavior": "when_no_match"
            })
        };
        path_items.insert(
            collection.clone(),
            json!({
                "get": {
                    "operationId": format!("listResources{i}"),
                    "summary": format!("List resources of kind {i}"),
                    "description": prose,
                    "tags": [format!("group{}", i % 17)],
                    "parameters": [
                        { "name": "limit", "in": "query", "schema": { "type": "integer", "maximum": 100 }, "description": prose },
                        { "name": "cursor", "in": "query", "schema": { "type": "string" }, "description": prose },
                        { "$ref": "#/components/parameters/RequestId" }
                    ],
                    "responses": {
                        "200": { "description": prose, "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": model } } } } },
                        "default": { "description": "An error." }
                    },
                    "x-amazon-apigateway-integration": integration("GET", &collection)
                },
                "post": {
                    "operationId": format!("createResource{i}"),
                    "summary": format!("Create a resource of kind {i}"),
                    "description": prose,
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": model } } } },
                    "responses": {
                        "201": { "description": prose, "content": { "application/json": { "schema": { "$ref": model } } } }
                    },
                    "x-amazon-apigateway-request-validator": "body",
                    "x-amazon-apigateway-integration": integration("POST", &collection)
                }
            }),
        );
    }
    json!({
        "openapi": "3.0.3",
        "info": { "title": "generated", "version": "1.0.0", "description": prose },
        "x-amazon-apigateway-request-validators": {
            "body": { "validateRequestBody": true, "validateRequestParameters": false }
        },
        "paths": path_items,
        "components": {
            "parameters": {
                "RequestId": { "name": "X-Request-Id", "in": "header", "schema": { "type": "string" }, "description": prose }
            },
            "schemas": schemas
        }
    })
}
