//! Models as `components.schemas` (Swagger: `definitions`). A stored
//! model names another by AWS's model URL
//! (`https://apigateway.amazonaws.com/restapis/{api}/models/{name}`),
//! which means nothing in a document: those `$ref`s become
//! `#/components/schemas/NAME` (`#/definitions/NAME`). The import turns
//! them back.

use super::context::Context;
use crate::declarative::document::ModelSpec;
use crate::openapi::mapping::{MODEL_CONTENT_TYPE, schema_ref};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// Every model, by name.
pub(super) fn components(cx: &mut Context) -> Map<String, Value> {
    let mut out = Map::new();
    for model in &cx.spec.models {
        let schema = model_schema(cx, model);
        out.insert(model.name.clone(), schema);
    }
    out
}

fn model_schema(cx: &mut Context, model: &ModelSpec) -> Value {
    let mut schema = match &model.schema {
        Value::Object(o) => o.clone(),
        other => {
            cx.warnings.push(format!(
                "model '{}': its schema is not a JSON object ({other}), so the document has an empty schema for it",
                model.name
            ));
            Map::new()
        }
    };
    // OpenAPI's Schema Object has no `$schema`; Archway reads every model
    // as draft 4 whatever it says.
    schema.remove("$schema");
    if !model.description.is_empty() {
        schema.insert("description".into(), json!(model.description));
    }
    if cx.apigateway
        && let Some(content_type) = &model.content_type
    {
        schema.insert(MODEL_CONTENT_TYPE.into(), json!(content_type));
    }
    let mut schema = Value::Object(schema);
    let mut foreign = BTreeSet::new();
    rewrite_refs(
        &mut schema,
        cx.api_id,
        &model.name,
        cx.swagger,
        &mut foreign,
    );
    for r in foreign {
        cx.warnings.push(format!(
            "model '{}': $ref '{r}' names no model of this API and is written as it is",
            model.name
        ));
    }
    let mut unknown = BTreeSet::new();
    unsupported_keywords(&schema, cx.swagger, &mut unknown);
    if !unknown.is_empty() {
        cx.warnings.push(format!(
            "model '{}' uses JSON Schema keywords {} schemas do not have ({}): tools that check the document against {} may refuse it; Archway reads it back as it is",
            model.name,
            cx.version_name(),
            unknown.into_iter().collect::<Vec<_>>().join(", "),
            cx.version_name(),
        ));
    }
    schema
}

/// Rewrites every `$ref` to one of `api_id`'s models (with or without a
/// fragment) to the document's reference, and every reference within the
/// model `model` itself (`#/definitions/X`: its root is the model's
/// schema, not the document) to the same place in the document
/// (`#/components/schemas/MODEL/definitions/X`); other `$ref`s are kept
/// and collected in `foreign`.
pub(super) fn rewrite_refs(
    value: &mut Value,
    api_id: &str,
    model: &str,
    swagger: bool,
    foreign: &mut BTreeSet<String>,
) {
    match value {
        Value::Object(o) => {
            for (key, v) in o.iter_mut() {
                if key == "$ref"
                    && let Value::String(r) = v
                {
                    if let Some((_, name, fragment)) =
                        archway_proto::models::parse_model_url(r).filter(|(a, ..)| *a == api_id)
                    {
                        *r = format!("{}{fragment}", schema_ref(swagger, name));
                    } else if let Some(pointer) = r.strip_prefix('#') {
                        *r = format!("{}{pointer}", schema_ref(swagger, model));
                    } else {
                        foreign.insert(r.clone());
                    }
                } else {
                    rewrite_refs(v, api_id, model, swagger, foreign);
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                rewrite_refs(v, api_id, model, swagger, foreign);
            }
        }
        _ => {}
    }
}

/// The Schema Object's fields, OpenAPI 3.0 and Swagger 2.0.
const OAS30_KEYWORDS: &[&str] = &[
    "title",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxProperties",
    "minProperties",
    "required",
    "enum",
    "type",
    "not",
    "allOf",
    "oneOf",
    "anyOf",
    "items",
    "properties",
    "additionalProperties",
    "description",
    "format",
    "default",
    "nullable",
    "discriminator",
    "readOnly",
    "writeOnly",
    "example",
    "externalDocs",
    "deprecated",
    "xml",
    "$ref",
];
const SWAGGER_ONLY_MISSING: &[&str] = &[
    "not",
    "oneOf",
    "anyOf",
    "nullable",
    "writeOnly",
    "deprecated",
];

/// The keywords of `schema` (and its subschemas) a Schema Object lacks,
/// and `type: [..]` lists, which neither version allows.
fn unsupported_keywords(schema: &Value, swagger: bool, out: &mut BTreeSet<String>) {
    let Value::Object(o) = schema else { return };
    for (key, v) in o {
        let known = OAS30_KEYWORDS.contains(&key.as_str())
            && !(swagger && SWAGGER_ONLY_MISSING.contains(&key.as_str()));
        if !known && !key.starts_with("x-") {
            out.insert(key.clone());
            continue;
        }
        match key.as_str() {
            "type" if v.is_array() => {
                out.insert("type (a list)".into());
            }
            "properties" => {
                if let Value::Object(props) = v {
                    props
                        .values()
                        .for_each(|p| unsupported_keywords(p, swagger, out));
                }
            }
            "items" if v.is_array() => {
                out.insert("items (a list)".into());
            }
            "items" | "additionalProperties" | "not" => unsupported_keywords(v, swagger, out),
            "allOf" | "oneOf" | "anyOf" => {
                if let Value::Array(list) = v {
                    list.iter()
                        .for_each(|s| unsupported_keywords(s, swagger, out));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ExportOptions, document::Target, document::document};
    use super::*;
    use crate::declarative::document::ApiSpec;
    use archway_proto::models::model_url;

    fn spec_with(models: Value) -> ApiSpec {
        serde_json::from_value(json!({ "name": "pets", "id": "pets", "models": models })).unwrap()
    }

    fn export(spec: &ApiSpec, options: ExportOptions) -> (Value, Vec<String>) {
        let target = Target {
            version: "v".into(),
            server_url: None,
        };
        let out = document(spec, &target, &options);
        (out.document, out.warnings)
    }

    fn pets() -> ApiSpec {
        spec_with(json!([
            { "name": "Pet", "description": "A pet", "schema": {
                "$schema": "http://json-schema.org/draft-04/schema#",
                "type": "object",
                "properties": {
                    "owner": { "$ref": model_url("pets", "Owner") },
                    "tags": { "type": "array", "items": { "$ref": model_url("pets", "Tag") } },
                    "name": { "$ref": format!("{}#/properties/name", model_url("pets", "Owner")) }
                }
            }},
            { "name": "Owner", "content_type": "application/xml", "schema": { "type": "object", "properties": { "name": { "type": "string" } } } },
            { "name": "Tag", "schema": { "type": "string" } }
        ]))
    }

    #[test]
    fn model_urls_become_component_refs() {
        let (oas, warnings) = export(&pets(), ExportOptions::default());
        let pet = &oas["components"]["schemas"]["Pet"];
        assert_eq!(
            pet["properties"]["owner"]["$ref"],
            "#/components/schemas/Owner"
        );
        assert_eq!(
            pet["properties"]["tags"]["items"]["$ref"],
            "#/components/schemas/Tag"
        );
        assert_eq!(
            pet["properties"]["name"]["$ref"],
            "#/components/schemas/Owner/properties/name"
        );
        assert_eq!(pet["description"], "A pet");
        assert!(pet.get("$schema").is_none());
        assert!(warnings.iter().all(|w| !w.contains("$ref")), "{warnings:?}");
    }

    #[test]
    fn swagger_refs_point_at_definitions() {
        let options = ExportOptions {
            swagger: true,
            ..Default::default()
        };
        let (sw, _) = export(&pets(), options);
        assert!(sw.get("components").is_none());
        assert_eq!(
            sw["definitions"]["Pet"]["properties"]["owner"]["$ref"],
            "#/definitions/Owner"
        );
    }

    #[test]
    fn a_content_type_other_than_json_is_an_extension_with_apigateway() {
        let (plain, _) = export(&pets(), ExportOptions::default());
        assert!(
            plain["components"]["schemas"]["Owner"]
                .get(MODEL_CONTENT_TYPE)
                .is_none()
        );
        let options = ExportOptions {
            apigateway: true,
            ..Default::default()
        };
        let (full, _) = export(&pets(), options);
        assert_eq!(
            full["components"]["schemas"]["Owner"][MODEL_CONTENT_TYPE],
            "application/xml"
        );
        assert!(
            full["components"]["schemas"]["Pet"]
                .get(MODEL_CONTENT_TYPE)
                .is_none()
        );
    }

    #[test]
    fn refs_to_other_apis_are_kept_with_a_warning() {
        let spec = spec_with(json!([{ "name": "A", "schema": {
            "type": "object",
            "properties": { "b": { "$ref": model_url("other", "B") } }
        }}]));
        let (oas, warnings) = export(&spec, ExportOptions::default());
        assert_eq!(
            oas["components"]["schemas"]["A"]["properties"]["b"]["$ref"],
            model_url("other", "B")
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("names no model of this API"));
    }

    /// A model's own `#/...` pointers are relative to its schema, which
    /// in the document sits under the model's name.
    #[test]
    fn refs_within_a_model_point_into_it() {
        let spec = spec_with(json!([{ "name": "Tree", "schema": {
            "type": "object",
            "properties": { "kids": { "type": "array", "items": { "$ref": "#" } }, "leaf": { "$ref": "#/properties/kids" } }
        }}]));
        let (oas, warnings) = export(&spec, ExportOptions::default());
        let tree = &oas["components"]["schemas"]["Tree"]["properties"];
        assert_eq!(tree["kids"]["items"]["$ref"], "#/components/schemas/Tree");
        assert_eq!(
            tree["leaf"]["$ref"],
            "#/components/schemas/Tree/properties/kids"
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        let options = ExportOptions {
            swagger: true,
            ..Default::default()
        };
        let (sw, _) = export(&spec, options);
        assert_eq!(
            sw["definitions"]["Tree"]["properties"]["leaf"]["$ref"],
            "#/definitions/Tree/properties/kids"
        );
    }

    #[test]
    fn keywords_a_schema_object_lacks_are_warned_about() {
        let spec = spec_with(json!([{ "name": "A", "schema": {
            "type": "object",
            "patternProperties": { "^x": { "type": "string" } },
            "properties": { "n": { "type": ["string", "null"] }, "o": { "oneOf": [{ "type": "string" }] } }
        }}]));
        let (_, warnings) = export(&spec, ExportOptions::default());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("(patternProperties, type (a list))"),
            "{warnings:?}"
        );
        let options = ExportOptions {
            swagger: true,
            ..Default::default()
        };
        let (_, warnings) = export(&spec, options);
        assert!(warnings[0].contains("oneOf"), "{warnings:?}");
        assert!(warnings[0].contains("Swagger 2.0"), "{warnings:?}");
    }
}
