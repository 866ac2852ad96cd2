//! The order a document's keys are written in. The document is a
//! `serde_json::Value`, whose maps are sorted by key: deterministic, but
//! `components` would come before `openapi` and `info`. Written out, the
//! root's and each operation's keys come in the order OpenAPI's own
//! examples use (the rest, extensions included, after them by key), and
//! every other map stays sorted, so the bytes still depend only on the
//! document.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

const ROOT: &[&str] = &[
    "openapi",
    "swagger",
    "info",
    "servers",
    "host",
    "basePath",
    "schemes",
    "paths",
    "components",
    "definitions",
    "securityDefinitions",
];

const OPERATION: &[&str] = &[
    "operationId",
    "consumes",
    "produces",
    "parameters",
    "requestBody",
    "responses",
    "security",
];

/// `document` to serialize in reading order.
pub(super) struct ReadingOrder<'a>(pub &'a Value);

impl Serialize for ReadingOrder<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(root) = self.0 else {
            return self.0.serialize(serializer);
        };
        ordered(root, ROOT, serializer, |key, value, map| match key {
            "paths" => map.serialize_entry(key, &Paths(value)),
            _ => map.serialize_entry(key, value),
        })
    }
}

/// Path items, each operation's keys in [`OPERATION`] order.
struct Paths<'a>(&'a Value);

impl Serialize for Paths<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(paths) = self.0 else {
            return self.0.serialize(serializer);
        };
        let mut map = serializer.serialize_map(Some(paths.len()))?;
        for (path, item) in paths {
            map.serialize_entry(path, &PathItem(item))?;
        }
        map.end()
    }
}

struct PathItem<'a>(&'a Value);

impl Serialize for PathItem<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(ops) = self.0 else {
            return self.0.serialize(serializer);
        };
        let mut map = serializer.serialize_map(Some(ops.len()))?;
        for (verb, op) in ops {
            map.serialize_entry(verb, &Operation(op))?;
        }
        map.end()
    }
}

struct Operation<'a>(&'a Value);

impl Serialize for Operation<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(op) = self.0 else {
            return self.0.serialize(serializer);
        };
        ordered(op, OPERATION, serializer, |key, value, map| {
            map.serialize_entry(key, value)
        })
    }
}

/// `object`'s entries, those named in `first` in that order, then the
/// others by key; `entry` writes each.
fn ordered<S: Serializer>(
    object: &Map<String, Value>,
    first: &[&str],
    serializer: S,
    entry: impl Fn(&str, &Value, &mut S::SerializeMap) -> Result<(), S::Error>,
) -> Result<S::Ok, S::Error> {
    let mut keys: Vec<&String> = object.keys().collect();
    keys.sort_by_key(|k| {
        (
            first.iter().position(|f| f == k).unwrap_or(first.len()),
            k.as_str(),
        )
    });
    let mut map = serializer.serialize_map(Some(keys.len()))?;
    for key in keys {
        entry(key, &object[key.as_str()], &mut map)?;
    }
    map.end()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_root_and_operations_read_in_openapis_order() {
        let doc = json!({
            "x-amazon-apigateway-policy": {},
            "components": {},
            "paths": { "/a": { "get": {
                "x-amazon-apigateway-integration": {},
                "responses": {},
                "parameters": [],
                "operationId": "a"
            } } },
            "info": { "version": "1", "title": "t" },
            "openapi": "3.0.1",
            "servers": []
        });
        let text = serde_json::to_string(&ReadingOrder(&doc)).unwrap();
        assert_eq!(
            text,
            r#"{"openapi":"3.0.1","info":{"title":"t","version":"1"},"servers":[],"paths":{"/a":{"get":{"operationId":"a","parameters":[],"responses":{},"x-amazon-apigateway-integration":{}}}},"components":{},"x-amazon-apigateway-policy":{}}"#
        );
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, doc);
    }
}
