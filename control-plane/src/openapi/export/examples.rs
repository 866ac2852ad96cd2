//! Example values for the `postman` export: Postman's importer fills a
//! request's body from its example, so each body and response gets one
//! made from its model (a schema's own `example` or `default` first, then
//! a value of its type; models it names are followed to a bounded depth).

use super::context::Context;
use serde_json::{Map, Value, json};

/// How deep examples follow properties, items and model references (a
/// model may name itself).
const MAX_DEPTH: usize = 6;

/// An example of the model named `name` (null when there is none).
pub(super) fn of_model(cx: &Context, name: &str) -> Value {
    cx.models
        .get(name)
        .map_or(Value::Null, |m| of_schema(cx, &m.schema, 0))
}

fn of_schema(cx: &Context, schema: &Value, depth: usize) -> Value {
    let Value::Object(s) = schema else {
        return Value::Null;
    };
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(v) = s.get("example").or_else(|| s.get("default")) {
        return v.clone();
    }
    if let Some(Value::Array(values)) = s.get("enum")
        && let Some(first) = values.first()
    {
        return first.clone();
    }
    if let Some(Value::String(r)) = s.get("$ref") {
        // A whole model (not a part of one, nor a pointer inside the schema).
        return match archway_proto::models::parse_model_url(r) {
            Some((_, name, "")) => cx
                .models
                .get(name)
                .map_or(Value::Null, |m| of_schema(cx, &m.schema, depth + 1)),
            _ => Value::Null,
        };
    }
    for combined in ["allOf", "oneOf", "anyOf"] {
        if let Some(Value::Array(list)) = s.get(combined)
            && let Some(first) = list.first()
        {
            if combined != "allOf" {
                return of_schema(cx, first, depth + 1);
            }
            let mut merged = Map::new();
            for part in list {
                if let Value::Object(o) = of_schema(cx, part, depth + 1) {
                    merged.extend(o);
                }
            }
            return Value::Object(merged);
        }
    }
    let kind = match s.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if s.contains_key("properties") => "object",
        _ => "",
    };
    match kind {
        "object" => {
            let mut o = Map::new();
            if let Some(Value::Object(props)) = s.get("properties") {
                for (name, p) in props {
                    o.insert(name.clone(), of_schema(cx, p, depth + 1));
                }
            }
            Value::Object(o)
        }
        "array" => match s.get("items") {
            Some(items) => json!([of_schema(cx, items, depth + 1)]),
            None => json!([]),
        },
        "string" => json!("string"),
        "integer" | "number" => json!(0),
        "boolean" => json!(true),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::super::ExportOptions;
    use super::*;
    use crate::declarative::document::ApiSpec;

    #[test]
    fn examples_follow_types_refs_and_given_values() {
        let spec: ApiSpec = serde_json::from_value(json!({
            "name": "a",
            "models": [
                { "name": "Pet", "schema": { "type": "object", "properties": {
                    "kind": { "type": "string", "enum": ["cat", "dog"] },
                    "legs": { "type": "integer", "example": 4 },
                    "tags": { "type": "array", "items": { "type": "string" } },
                    "owner": { "$ref": "#/components/schemas/Owner" },
                    "ok": { "type": "boolean" }
                }}},
                { "name": "Owner", "schema": { "type": "object", "properties": {
                    "friend": { "$ref": "https://apigateway.amazonaws.com/restapis/a/models/Owner" }
                }}}
            ]
        }))
        .unwrap();
        let cx = Context::new(&spec, &ExportOptions::default());
        let pet = of_model(&cx, "Pet");
        assert_eq!(pet["kind"], "cat");
        assert_eq!(pet["legs"], 4);
        assert_eq!(pet["tags"], json!(["string"]));
        assert_eq!(pet["ok"], true);
        // A model naming itself ends at the depth bound.
        let mut owner = &pet["owner"];
        let mut depth = 0;
        while let Some(next) = owner.get("friend") {
            owner = next;
            depth += 1;
            assert!(depth <= MAX_DEPTH);
        }
        assert_eq!(of_model(&cx, "Missing"), Value::Null);
    }
}
