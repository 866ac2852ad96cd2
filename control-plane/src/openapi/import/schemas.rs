//! Schemas → models. Each schema of `components.schemas` (Swagger's
//! `definitions`) becomes a model of the same name; a body or response
//! schema written inline becomes a model named after its operation. Models
//! are JSON Schema draft 4, as AWS's: OpenAPI's dialect is converted
//! (`nullable`, 3.1's numeric `exclusiveMinimum`/`exclusiveMaximum` and
//! `const`), and references to other schemas become AWS's model URLs, the
//! form models refer to each other by in the store and on the nodes.

use super::{Reader, child, refs};
use crate::declarative::document::ModelSpec;
use crate::openapi::mapping::MODEL_CONTENT_TYPE;
use archway_proto::models::model_url;
use serde_json::{Map, Value};

/// How deep a schema may nest (objects in objects, and references inlined
/// where they do not name a model).
const MAX_DEPTH: usize = 64;

/// How many schema objects one document's models may hold once references
/// that do not name a model are inlined. A few references to references
/// can otherwise multiply a small document into an exponential tree (each
/// level naming the next twice); real documents stay far below this.
pub(super) const MAX_SCHEMA_NODES: usize = 200_000;

impl<'d> Reader<'d> {
    /// Where the document keeps its named schemas.
    fn schemas_pointer(&self) -> &'static str {
        if self.dialect.is_swagger() {
            "/definitions"
        } else {
            "/components/schemas"
        }
    }

    /// Names every schema first (references between them need the names),
    /// then converts each into a model. HTTP APIs have no models (AWS's
    /// HTTP API import ignores schemas too).
    pub(super) fn models(&mut self) {
        if self.http_api {
            return;
        }
        let at = self.schemas_pointer();
        let Some(schemas) = self.doc.pointer(at) else {
            return;
        };
        let Some(schemas) = self.object(schemas, at) else {
            return;
        };
        for key in schemas.keys() {
            let name = self.unique_model_name(key);
            if name != *key {
                self.warn(
                    child(at, key),
                    format!("model names are letters and digits only (as AWS's): imported as model '{name}'"),
                );
            }
            self.model_names.insert(key.clone(), name);
        }
        for (key, schema) in schemas {
            let pointer = child(at, key);
            let name = self.model_names[key].clone();
            self.push_model(name, schema, &pointer);
        }
    }

    /// A model name from `wanted`: its letters and digits (at most 128),
    /// made unique with a number.
    pub(super) fn unique_model_name(&mut self, wanted: &str) -> String {
        let mut base: String = wanted
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(120)
            .collect();
        if base.is_empty() {
            base = "Model".into();
        }
        let mut name = base.clone();
        let mut n = 2;
        while !self.taken_model_names.insert(name.clone()) {
            name = format!("{base}{n}");
            n += 1;
        }
        name
    }

    fn push_model(&mut self, name: String, schema: &'d Value, pointer: &str) {
        self.converting = pointer.to_owned();
        let converted = self.convert(schema, pointer, 0);
        self.converting.clear();
        let Some(converted) = converted else {
            return;
        };
        let description = schema
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let content_type = schema
            .get(MODEL_CONTENT_TYPE)
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut converted = converted;
        if let Value::Object(map) = &mut converted {
            map.remove(MODEL_CONTENT_TYPE);
        }
        self.spec.models.push(ModelSpec {
            name,
            description,
            content_type,
            schema: converted,
        });
        self.origins.models.push(pointer.to_owned());
    }

    /// The model a body or response schema is: the named schema it refers
    /// to, or a new model (named `fallback`) for a schema written inline.
    pub(super) fn model_for(
        &mut self,
        schema: &'d Value,
        at: &str,
        fallback: &str,
    ) -> Option<String> {
        if let Some(target) = refs::reference(schema)
            && let Some(name) = self.named_schema(target)
        {
            return Some(name);
        }
        let (resolved, pointer) = self.resolve(schema, at)?;
        if is_empty_schema(resolved) {
            return Some(self.empty_model());
        }
        let name = self.unique_model_name(fallback);
        self.push_model(name.clone(), resolved, &pointer);
        Some(name)
    }

    /// AWS's `Empty` model (`{}`: any body), for schemas that say nothing:
    /// the document's own when it has one that is empty, else one added.
    fn empty_model(&mut self) -> String {
        let empty = |m: &&ModelSpec| m.schema.as_object().is_some_and(Map::is_empty);
        if let Some(model) = self
            .spec
            .models
            .iter()
            .filter(empty)
            .find(|m| m.name.starts_with("Empty"))
        {
            return model.name.clone();
        }
        let name = self.unique_model_name("Empty");
        self.spec.models.push(ModelSpec {
            name: name.clone(),
            description: String::new(),
            content_type: None,
            schema: Value::Object(Map::new()),
        });
        self.origins.models.push(String::new());
        name
    }

    /// The model name of a reference to a named schema
    /// (`#/components/schemas/Pet`), if it is one.
    fn named_schema(&self, target: &str) -> Option<String> {
        let key = target
            .strip_prefix('#')?
            .strip_prefix(self.schemas_pointer())?
            .strip_prefix('/')?;
        let key = percent_encoding::percent_decode_str(key)
            .decode_utf8()
            .ok()?;
        let key = key.replace("~1", "/").replace("~0", "~");
        self.model_names.get(&key).cloned()
    }

    /// The pointer a reference points to inside the model being converted
    /// (`/definitions/x`), if it points inside it (not at its root).
    fn within_converting(&self, target: &str) -> Option<String> {
        if self.converting.is_empty() {
            return None;
        }
        let fragment = target.strip_prefix('#')?;
        let decoded = percent_encoding::percent_decode_str(fragment)
            .decode_utf8()
            .ok()?;
        let rest = decoded.strip_prefix(self.converting.as_str())?;
        rest.starts_with('/').then(|| rest.to_owned())
    }

    /// `schema` as a draft-4 model schema.
    fn convert(&mut self, schema: &'d Value, at: &str, depth: usize) -> Option<Value> {
        if self.schema_nodes == MAX_SCHEMA_NODES {
            self.schema_nodes += 1;
            self.error(
                at,
                format!("the document's schemas expand to more than {MAX_SCHEMA_NODES} schema objects through references; refer to named schemas (components) instead of into them"),
            );
        }
        if self.schema_nodes > MAX_SCHEMA_NODES {
            return None;
        }
        self.schema_nodes += 1;
        if depth > MAX_DEPTH {
            self.error(
                at,
                format!("the schema nests more than {MAX_DEPTH} levels deep"),
            );
            return None;
        }
        let map = match schema {
            Value::Object(map) => map,
            // `true`/`false` schemas (3.1) and anything else: as they are.
            other => return Some(other.clone()),
        };
        if let Some(target) = refs::reference(schema) {
            // Into the model being converted: a pointer within it, which
            // draft 4 resolves against the model itself (as exports write
            // it: `#/components/schemas/NAME/definitions/x`).
            if let Some(inner) = self.within_converting(target) {
                return Some(serde_json::json!({ "$ref": format!("#{inner}") }));
            }
            if let Some(name) = self.named_schema(target) {
                // A model URL (draft 4 ignores a $ref's siblings, as here).
                return Some(serde_json::json!({ "$ref": model_url(&self.api_id, &name) }));
            }
            // A reference to something else in the document: inlined.
            let (resolved, pointer) = self.resolve(schema, at)?;
            return self.convert(resolved, &pointer, depth + 1);
        }
        let mut out = Map::with_capacity(map.len());
        for (key, value) in map {
            let here = child(at, key);
            let converted = match key.as_str() {
                // Keywords holding one schema.
                "items" | "additionalProperties" | "not" | "additionalItems"
                    if value.is_object() =>
                {
                    self.convert(value, &here, depth + 1)?
                }
                "items" if value.is_array() => self.convert_list(value, &here, depth)?,
                // Keywords holding a list of schemas.
                "allOf" | "anyOf" | "oneOf" => self.convert_list(value, &here, depth)?,
                // Keywords holding a map of schemas.
                "properties" | "patternProperties" | "definitions" => {
                    let Some(members) = value.as_object() else {
                        self.error(&here, "expected an object of schemas");
                        return None;
                    };
                    let mut converted = Map::with_capacity(members.len());
                    for (name, member) in members {
                        let v = self.convert(member, &child(&here, name), depth + 1)?;
                        converted.insert(name.clone(), v);
                    }
                    Value::Object(converted)
                }
                // Other keywords hold data, not schemas (`enum`, `example`,
                // vendor extensions); references in them are rewritten as
                // exports write them, never followed.
                _ => self.data_refs(value),
            };
            out.insert(key.clone(), converted);
        }
        self.draft4_keywords(&mut out, at);
        Some(Value::Object(out))
    }

    /// `value` with the `$ref`s an export rewrote (into the model being
    /// converted, to a named schema) read back; anything else as it is.
    fn data_refs(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut out = Map::with_capacity(map.len());
                for (key, v) in map {
                    let rewritten = match (key.as_str(), v) {
                        ("$ref", Value::String(target)) => {
                            if let Some(inner) = self.within_converting(target) {
                                Value::String(format!("#{inner}"))
                            } else if let Some(name) = self.named_schema(target) {
                                Value::String(model_url(&self.api_id, &name))
                            } else {
                                v.clone()
                            }
                        }
                        _ => self.data_refs(v),
                    };
                    out.insert(key.clone(), rewritten);
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.data_refs(v)).collect()),
            other => other.clone(),
        }
    }

    fn convert_list(&mut self, value: &'d Value, at: &str, depth: usize) -> Option<Value> {
        let Some(items) = value.as_array() else {
            self.error(at, "expected a list of schemas");
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            out.push(self.convert(item, &format!("{at}/{i}"), depth + 1)?);
        }
        Some(Value::Array(out))
    }

    /// OpenAPI's keywords that draft 4 spells otherwise.
    fn draft4_keywords(&mut self, schema: &mut Map<String, Value>, at: &str) {
        // 3.0: `nullable: true` → null is one more type.
        if let Some(nullable) = schema.remove("nullable")
            && nullable == Value::Bool(true)
        {
            match schema.get_mut("type") {
                Some(Value::String(t)) => {
                    let t = std::mem::take(t);
                    schema.insert("type".into(), serde_json::json!([t, "null"]));
                }
                Some(Value::Array(types)) if !types.iter().any(|t| t == "null") => {
                    types.push("null".into());
                }
                _ => {}
            }
        }
        // 3.1 (JSON Schema 2020-12): numeric exclusive bounds.
        for (exclusive, bound) in [
            ("exclusiveMinimum", "minimum"),
            ("exclusiveMaximum", "maximum"),
        ] {
            if let Some(Value::Number(n)) = schema.get(exclusive).cloned() {
                schema.insert(bound.into(), Value::Number(n));
                schema.insert(exclusive.into(), Value::Bool(true));
            }
        }
        // 3.1: `const` → a one-value enum.
        if let Some(value) = schema.remove("const") {
            schema.insert("enum".into(), Value::Array(vec![value]));
        }
        for keyword in [
            "if",
            "then",
            "else",
            "dependentSchemas",
            "prefixItems",
            "unevaluatedProperties",
            "$dynamicRef",
        ] {
            if schema.contains_key(keyword) {
                self.warn(
                    child(at, keyword),
                    format!("models are JSON Schema draft 4 (as AWS's), which has no '{keyword}': requests are not checked against it"),
                );
            }
        }
    }
}

/// A schema that constrains nothing (`{}`, or only annotations).
fn is_empty_schema(schema: &Value) -> bool {
    schema.as_object().is_some_and(|m| {
        m.keys()
            .all(|k| matches!(k.as_str(), "description" | "title" | "example" | "examples"))
    })
}
