//! The API as an SDK sees it, read once from the exported OpenAPI 3.0
//! document (see [`crate::openapi::mapping`] for its shape), the same for
//! every language: operations with their typed parameters, body and
//! response, the models they use, and how each operation authenticates.
//!
//! Reading never fails: what a generator cannot type (JSON Schema beyond
//! the draft-4 subset below, cookie parameters) becomes
//! "any JSON" or is left out, with a warning naming the JSON pointer.
//!
//! The schema subset: `$ref` to `#/components/schemas/NAME`; `type`
//! object (`properties`, `required`, `additionalProperties`), array
//! (`items`), string, integer, number, boolean; string `enum`s; `nullable`
//! (3.0) and `type: [T, "null"]` (3.1). Inline objects and enums become
//! models of their own, named after where they appear.

use crate::openapi::mapping;
use serde_json::Value;
use std::collections::BTreeSet;

/// A value's type, by meaning; each language writes it its own way.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    String,
    /// `format: int32` is 32 bits; any other integer 64.
    Integer {
        bits32: bool,
    },
    Number,
    Boolean,
    /// Any JSON value.
    Any,
    Array(Box<Type>),
    /// A JSON object with string keys and values of one type.
    Map(Box<Type>),
    /// A model, by its name in [`ApiModel::models`].
    Named(String),
    Nullable(Box<Type>),
}

impl Type {
    /// The models this type uses without an array or map between (what
    /// makes a Rust struct infinitely large when it leads back).
    pub fn direct_refs(&self) -> Option<&str> {
        match self {
            Type::Named(name) => Some(name),
            Type::Nullable(inner) => inner.direct_refs(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The JSON property name, as in the document.
    pub name: String,
    pub ty: Type,
    pub required: bool,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ModelKind {
    Object(Vec<Field>),
    /// A string enum.
    Enum(Vec<String>),
    /// Any other schema: an array, a map, a primitive.
    Alias(Type),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The schema's name in `components.schemas`, or for an inline schema
    /// one made from where it is (`PetOwner` for `Pet.owner`).
    pub name: String,
    pub description: String,
    pub kind: ModelKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamLocation {
    Path,
    Query,
    Header,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// As sent: the path template's name, the query key, the header name.
    pub name: String,
    pub location: ParamLocation,
    pub required: bool,
    /// A scalar, or an array of scalars (a repeated query key).
    pub ty: Type,
    pub description: String,
    /// A greedy path parameter (`{proxy+}`): its `/`s stay separators.
    pub greedy: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    pub content_type: String,
    /// JSON (content types with `json`, and `*/*`); else the body is text.
    pub json: bool,
    pub ty: Type,
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The operationId, or `VERB /path` made into words.
    pub name: String,
    pub summary: String,
    /// Upper case.
    pub method: String,
    /// The path template, e.g. `/pets/{id}`.
    pub path: String,
    pub params: Vec<Param>,
    pub body: Option<Body>,
    /// The first 2xx response's JSON schema; [`Type::Any`] when it has none.
    pub response: Type,
    pub auth: OperationAuth,
}

/// What an operation's `security` asks for (every scheme any of its
/// alternatives names: the client sends what it has been given).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperationAuth {
    /// The API key, in `x-api-key`.
    pub api_key: bool,
    /// AWS SigV4 (AWS_IAM methods).
    pub sigv4: bool,
    /// Headers a bearer token (JWT or custom authorizer) goes in.
    pub token_headers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiModel {
    pub title: String,
    pub description: String,
    /// `servers[0].url`.
    pub server_url: String,
    pub models: Vec<Model>,
    pub operations: Vec<Operation>,
    pub warnings: Vec<String>,
}

impl ApiModel {
    /// Whether any operation uses each kind of auth (what the client's
    /// options offer).
    pub fn uses(&self) -> OperationAuth {
        let mut all = OperationAuth::default();
        for op in &self.operations {
            all.api_key |= op.auth.api_key;
            all.sigv4 |= op.auth.sigv4;
            for h in &op.auth.token_headers {
                if !all.token_headers.contains(h) {
                    all.token_headers.push(h.clone());
                }
            }
        }
        all
    }

    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }

    /// Whether `from` is `to` or leads to it through object fields that
    /// are neither arrays nor maps (so a Rust struct of `to` holding a
    /// `from` needs a `Box` there).
    pub fn reaches_directly(&self, from: &str, to: &str) -> bool {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(name) = stack.pop() {
            if name == to {
                return true;
            }
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Some(Model {
                kind: ModelKind::Object(fields),
                ..
            }) = self.model(&name)
            {
                stack.extend(
                    fields
                        .iter()
                        .filter_map(|f| f.ty.direct_refs())
                        .map(str::to_owned),
                );
            }
        }
        false
    }
}

/// The verbs an `ANY` method is offered as (HEAD and OPTIONS answer
/// nothing a client reads).
const ANY_VERBS: &[&str] = &["get", "post", "put", "patch", "delete"];

/// Reads the document (OpenAPI 3.x as [`crate::openapi::export`] writes
/// it, `$ref`s local).
pub fn read(document: &Value) -> ApiModel {
    let mut reader = Reader {
        document,
        models: Vec::new(),
        names: BTreeSet::new(),
        warnings: Vec::new(),
    };
    let schemas = document
        .pointer("/components/schemas")
        .and_then(Value::as_object);
    if let Some(schemas) = schemas {
        reader.names.extend(schemas.keys().cloned());
        for (name, schema) in schemas {
            let pointer = format!("/components/schemas/{}", mapping::pointer_token(name));
            reader.named_model(name.clone(), schema, &pointer);
        }
    }
    let schemes = document
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object);
    let root_security = document.get("security");
    let mut operations: Vec<Operation> = Vec::new();
    let mut operation_names = BTreeSet::new();
    // Each operation with its auth, under a name no other has.
    let mut push = |reader: &mut Reader, mut operation: Operation, op: &Value, pointer: &str| {
        operation.auth = reader.auth(
            op.get("security").or(root_security),
            schemes,
            &format!("{pointer}/security"),
        );
        let mut name = operation.name.clone();
        let mut n = 2;
        while !operation_names.insert(name.to_ascii_lowercase()) {
            name = format!("{}{n}", operation.name);
            n += 1;
        }
        operation.name = name;
        operations.push(operation);
    };
    if let Some(paths) = document.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            let item_pointer = format!("/paths/{}", mapping::pointer_token(path));
            for verb in mapping::VERBS {
                let Some(op) = item.get(*verb) else { continue };
                let operation = reader.operation(path, verb, item, op, &item_pointer);
                push(
                    &mut reader,
                    operation,
                    op,
                    &format!("{item_pointer}/{verb}"),
                );
            }
            // ANY answers every verb without a method of its own: one typed
            // method per such verb (`orders` → `ordersPost`...; a GET sends
            // no body).
            if let Some(any) = item.get(mapping::ANY_METHOD) {
                let pointer = format!("{item_pointer}/{}", mapping::ANY_METHOD);
                for verb in ANY_VERBS.iter().filter(|v| item.get(**v).is_none()) {
                    let mut operation = reader.operation(path, verb, item, any, &item_pointer);
                    if let Some(id) = any.get("operationId").and_then(Value::as_str) {
                        operation.name = format!("{id}_{verb}");
                    }
                    if *verb == "get" {
                        operation.body = None;
                    }
                    push(&mut reader, operation, any, &pointer);
                }
            }
        }
    }
    reader.models.sort_by(|a, b| a.name.cmp(&b.name));
    ApiModel {
        // The API's name is free text: it goes into comments and docstrings
        // as one line, so it cannot end one and become code.
        title: super::one_line(
            document
                .pointer("/info/title")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        ),
        description: document
            .pointer("/info/description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        server_url: document
            .pointer("/servers/0/url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        models: reader.models,
        operations,
        warnings: reader.warnings,
    }
}

struct Reader<'d> {
    document: &'d Value,
    models: Vec<Model>,
    /// Model names taken (the document's and the ones made for inline
    /// schemas).
    names: BTreeSet<String>,
    warnings: Vec<String>,
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `Pet` + `owner` → `PetOwner`.
fn joined(parent: &str, part: &str) -> String {
    let mut part_chars = part.chars();
    let part = match part_chars.next() {
        Some(first) => first.to_uppercase().chain(part_chars).collect(),
        None => String::new(),
    };
    format!("{parent}{part}")
}

impl Reader<'_> {
    /// A new model name near `wanted` (inline schemas).
    fn fresh_name(&mut self, wanted: String) -> String {
        let mut name = wanted.clone();
        let mut n = 2;
        while self.names.contains(&name) {
            name = format!("{wanted}{n}");
            n += 1;
        }
        self.names.insert(name.clone());
        name
    }

    fn named_model(&mut self, name: String, schema: &Value, pointer: &str) {
        let description = text(schema, "description");
        let kind = if let Some(values) = self.string_enum(schema) {
            ModelKind::Enum(values)
        } else if schema.get("properties").is_some_and(Value::is_object) {
            ModelKind::Object(self.fields(&name, schema, pointer))
        } else {
            ModelKind::Alias(self.schema_type(schema, &name, pointer))
        };
        self.models.push(Model {
            name,
            description,
            kind,
        });
    }

    fn string_enum(&self, schema: &Value) -> Option<Vec<String>> {
        let values = schema.get("enum")?.as_array()?;
        let strings: Vec<String> = values
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()?;
        (!strings.is_empty()).then_some(strings)
    }

    fn fields(&mut self, model: &str, schema: &Value, pointer: &str) -> Vec<Field> {
        let required: BTreeSet<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            return Vec::new();
        };
        properties
            .iter()
            .map(|(name, property)| Field {
                ty: self.schema_type(
                    property,
                    &joined(
                        model,
                        &super::names::cased(name, super::names::Case::Pascal, "Field", "F"),
                    ),
                    &format!("{pointer}/properties/{}", mapping::pointer_token(name)),
                ),
                required: required.contains(name.as_str()),
                description: text(property, "description"),
                name: name.clone(),
            })
            .collect()
    }

    /// The type of `schema`; an inline object or enum becomes a model
    /// named `hint` (or near it).
    fn schema_type(&mut self, schema: &Value, hint: &str, pointer: &str) -> Type {
        let ty = self.non_null_type(schema, hint, pointer);
        let nullable = schema.get("nullable").and_then(Value::as_bool) == Some(true)
            || schema
                .get("type")
                .and_then(Value::as_array)
                .is_some_and(|types| types.iter().any(|t| t == "null"));
        if nullable && ty != Type::Any {
            Type::Nullable(Box::new(ty))
        } else {
            ty
        }
    }

    fn non_null_type(&mut self, schema: &Value, hint: &str, pointer: &str) -> Type {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            return match reference.strip_prefix("#/components/schemas/") {
                Some(name)
                    if self
                        .document
                        .pointer("/components/schemas")
                        .and_then(|s| s.get(name))
                        .is_some() =>
                {
                    Type::Named(name.to_owned())
                }
                _ => {
                    self.warnings.push(format!(
                        "{pointer}/$ref: '{reference}' is not a schema of this document; typed as any JSON"
                    ));
                    Type::Any
                }
            };
        }
        let kind = match schema.get("type") {
            Some(Value::String(kind)) => Some(kind.as_str()),
            // 3.1: ["string", "null"].
            Some(Value::Array(kinds)) => {
                let kinds: Vec<&str> = kinds
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|k| *k != "null")
                    .collect();
                match kinds[..] {
                    [one] => Some(one),
                    _ => None,
                }
            }
            _ => None,
        };
        if let (Some(values), None | Some("string")) = (self.string_enum(schema), kind) {
            let name = self.fresh_name(hint.to_owned());
            self.models.push(Model {
                name: name.clone(),
                description: text(schema, "description"),
                kind: ModelKind::Enum(values),
            });
            return Type::Named(name);
        }
        match kind {
            Some("string") => Type::String,
            Some("integer") => Type::Integer {
                bits32: schema.get("format").and_then(Value::as_str) == Some("int32"),
            },
            Some("number") => Type::Number,
            Some("boolean") => Type::Boolean,
            Some("array") => {
                let items = schema.get("items").unwrap_or(&Value::Null);
                let item = if items.is_object() {
                    self.schema_type(items, &format!("{hint}Item"), &format!("{pointer}/items"))
                } else {
                    Type::Any
                };
                Type::Array(Box::new(item))
            }
            Some("object") | None if schema.get("properties").is_some_and(Value::is_object) => {
                let name = self.fresh_name(hint.to_owned());
                let fields = self.fields(&name, schema, pointer);
                self.models.push(Model {
                    name: name.clone(),
                    description: text(schema, "description"),
                    kind: ModelKind::Object(fields),
                });
                Type::Named(name)
            }
            Some("object") => match schema.get("additionalProperties") {
                Some(values) if values.is_object() => Type::Map(Box::new(self.schema_type(
                    values,
                    &format!("{hint}Value"),
                    &format!("{pointer}/additionalProperties"),
                ))),
                _ => Type::Map(Box::new(Type::Any)),
            },
            None if schema.as_object().is_some_and(|s| {
                s.keys()
                    .all(|k| k == "description" || k == "title" || k.starts_with("x-"))
            }) =>
            {
                Type::Any
            }
            other => {
                self.warnings.push(format!(
                    "{pointer}: {} is beyond the SDK's schema subset; typed as any JSON",
                    match other {
                        Some(kind) => format!("type '{kind}'"),
                        None => "a schema without one type".to_owned(),
                    }
                ));
                Type::Any
            }
        }
    }

    fn operation(
        &mut self,
        path: &str,
        verb: &str,
        item: &Value,
        op: &Value,
        item_pointer: &str,
    ) -> Operation {
        let pointer = format!("{item_pointer}/{verb}");
        let name = op
            .get("operationId")
            .and_then(Value::as_str)
            .filter(|id| id.chars().any(|c| c.is_ascii_alphabetic()))
            .map(str::to_owned)
            .unwrap_or_else(|| derived_name(verb, path));
        let type_hint = super::names::cased(&name, super::names::Case::Pascal, "Operation", "Op");
        // Operation parameters override the path item's of the same name
        // and location.
        let mut params: Vec<Param> = Vec::new();
        for (list, list_pointer) in [
            (item.get("parameters"), format!("{item_pointer}/parameters")),
            (op.get("parameters"), format!("{pointer}/parameters")),
        ] {
            let Some(list) = list.and_then(Value::as_array) else {
                continue;
            };
            for (i, raw) in list.iter().enumerate() {
                let at = format!("{list_pointer}/{i}");
                let Some(param) = self.param(self.resolve(raw), &type_hint, &at) else {
                    continue;
                };
                params.retain(|p| !(p.name == param.name && p.location == param.location));
                params.push(param);
            }
        }
        // Path parameters the template names but the document does not
        // declare are still needed to call it.
        for segment in path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                let name = name.trim_end_matches('+');
                if !params
                    .iter()
                    .any(|p| p.location == ParamLocation::Path && p.name == name)
                {
                    params.push(Param {
                        name: name.to_owned(),
                        location: ParamLocation::Path,
                        required: true,
                        ty: Type::String,
                        description: String::new(),
                        greedy: false,
                    });
                }
            }
        }
        for param in params
            .iter_mut()
            .filter(|p| p.location == ParamLocation::Path)
        {
            param.greedy = path.contains(&format!("{{{}+}}", param.name));
        }
        // Path parameters first, in the template's order, then query and
        // header parameters each in the document's order: the order of a
        // Rust method's arguments.
        params.sort_by_key(|p| match p.location {
            ParamLocation::Path => (0, path.find(&format!("{{{}", p.name)).unwrap_or(0)),
            ParamLocation::Query => (1, 0),
            ParamLocation::Header => (2, 0),
        });
        let body = op
            .get("requestBody")
            .map(|b| self.resolve(b))
            .and_then(|b| self.body(b, &type_hint, &format!("{pointer}/requestBody")));
        let response = self.response(op, &type_hint, &format!("{pointer}/responses"));
        Operation {
            name,
            summary: op
                .get("summary")
                .or_else(|| op.get("description"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            method: verb.to_ascii_uppercase(),
            path: path.to_owned(),
            params,
            body,
            response,
            auth: OperationAuth::default(),
        }
    }

    /// A `$ref` to a component (parameters, request bodies, responses)
    /// followed once; anything else as it is.
    fn resolve<'v>(&self, value: &'v Value) -> &'v Value
    where
        Self: 'v,
    {
        value
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|pointer| self.document.pointer(pointer))
            .unwrap_or(value)
    }

    fn param(&mut self, raw: &Value, hint: &str, pointer: &str) -> Option<Param> {
        let name = raw.get("name").and_then(Value::as_str)?.to_owned();
        let location = match raw.get("in").and_then(Value::as_str) {
            Some("path") => ParamLocation::Path,
            Some("query") => ParamLocation::Query,
            Some("header") => ParamLocation::Header,
            other => {
                self.warnings.push(format!(
                    "{pointer}/in: a parameter in '{}' is not sent by the SDK",
                    other.unwrap_or("?")
                ));
                return None;
            }
        };
        let schema = raw.get("schema").unwrap_or(&Value::Null);
        let hint = joined(
            hint,
            &super::names::cased(&name, super::names::Case::Pascal, "Param", "P"),
        );
        let ty = match self.schema_type(schema, &hint, &format!("{pointer}/schema")) {
            Type::Array(item) if is_scalar(&item) => Type::Array(item),
            ty if is_scalar(&ty) => ty,
            _ => Type::String,
        };
        Some(Param {
            required: location == ParamLocation::Path
                || raw.get("required").and_then(Value::as_bool) == Some(true),
            description: text(raw, "description"),
            name,
            location,
            ty,
            greedy: false,
        })
    }

    fn body(&mut self, body: &Value, hint: &str, pointer: &str) -> Option<Body> {
        let content = body.get("content")?.as_object()?;
        let (content_type, media) = content
            .iter()
            .find(|(t, _)| t.as_str() == "application/json")
            .or_else(|| content.iter().next())?;
        let json = content_type.contains("json") || content_type == mapping::ANY_CONTENT_TYPE;
        let ty = if json {
            match media.get("schema") {
                Some(schema) => self.schema_type(
                    schema,
                    &format!("{hint}Body"),
                    &format!(
                        "{pointer}/content/{}/schema",
                        mapping::pointer_token(content_type)
                    ),
                ),
                None => Type::Any,
            }
        } else {
            Type::String
        };
        Some(Body {
            content_type: if content_type == mapping::ANY_CONTENT_TYPE {
                "application/json".to_owned()
            } else {
                content_type.clone()
            },
            json,
            ty,
            required: body.get("required").and_then(Value::as_bool) == Some(true),
        })
    }

    fn response(&mut self, op: &Value, hint: &str, pointer: &str) -> Type {
        let Some(responses) = op.get("responses").and_then(Value::as_object) else {
            return Type::Any;
        };
        let mut success: Vec<&String> = responses.keys().filter(|s| s.starts_with('2')).collect();
        success.sort();
        let Some(status) = success.first() else {
            return Type::Any;
        };
        let response = self.resolve(&responses[status.as_str()]);
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            return Type::Any;
        };
        let Some((content_type, media)) =
            content
                .iter()
                .find(|(t, _)| t.contains("json"))
                .or_else(|| {
                    content
                        .iter()
                        .find(|(t, _)| t.as_str() == mapping::ANY_CONTENT_TYPE)
                })
        else {
            return Type::Any;
        };
        match media.get("schema") {
            Some(schema) => self.schema_type(
                schema,
                &format!("{hint}Response"),
                &format!(
                    "{pointer}/{status}/content/{}/schema",
                    mapping::pointer_token(content_type)
                ),
            ),
            None => Type::Any,
        }
    }

    fn auth(
        &mut self,
        security: Option<&Value>,
        schemes: Option<&serde_json::Map<String, Value>>,
        pointer: &str,
    ) -> OperationAuth {
        let mut auth = OperationAuth::default();
        let names = security
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .flat_map(|requirement| requirement.keys());
        for name in names {
            let Some(scheme) = schemes.and_then(|s| s.get(name)).map(|s| self.resolve(s)) else {
                self.warnings.push(format!(
                    "{pointer}: security scheme '{name}' is not in components.securitySchemes"
                ));
                continue;
            };
            let kind = scheme
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let authtype = scheme
                .get(mapping::AUTHTYPE)
                .and_then(Value::as_str)
                .unwrap_or_default();
            let header = scheme
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let in_header = scheme.get("in").and_then(Value::as_str) == Some("header");
            if authtype.eq_ignore_ascii_case(mapping::AUTHTYPE_SIGV4) {
                auth.sigv4 = true;
            } else if kind == "apiKey"
                && in_header
                && authtype.is_empty()
                && header.eq_ignore_ascii_case(mapping::API_KEY_HEADER)
            {
                auth.api_key = true;
            } else if kind == "apiKey" && in_header && !header.is_empty() {
                push_unique(&mut auth.token_headers, header);
            } else if matches!(kind, "oauth2" | "openIdConnect")
                || (kind == "http"
                    && scheme
                        .get("scheme")
                        .and_then(Value::as_str)
                        .is_some_and(|s| s.eq_ignore_ascii_case("bearer")))
            {
                push_unique(&mut auth.token_headers, "Authorization");
            } else {
                self.warnings.push(format!(
                    "/components/securitySchemes/{}: a '{kind}' scheme the SDK cannot send; operations naming it are called without it",
                    mapping::pointer_token(name)
                ));
            }
        }
        auth
    }
}

fn push_unique(headers: &mut Vec<String>, header: &str) {
    if !headers.iter().any(|h| h.eq_ignore_ascii_case(header)) {
        headers.push(header.to_owned());
    }
}

/// A type a parameter can carry as it is; anything else (an enum model
/// included) is sent as a string.
fn is_scalar(ty: &Type) -> bool {
    matches!(
        ty,
        Type::String | Type::Integer { .. } | Type::Number | Type::Boolean
    )
}

/// `GET /pets/{id}/toys` → `get pets by id toys` (the language cases it).
pub fn derived_name(verb: &str, path: &str) -> String {
    let mut words = vec![verb.to_ascii_lowercase()];
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(param) => {
                words.push("by".into());
                words.push(param.trim_end_matches('+').to_owned());
            }
            None => words.push(segment.to_owned()),
        }
    }
    if words.len() == 1 {
        words.push("root".into());
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pets() -> Value {
        json!({
            "openapi": "3.0.1",
            "info": {"title": "Pet Store", "version": "d1"},
            "servers": [{"url": "http://pets.execute-api.localhost:8080/prod"}],
            "paths": {
                "/pets/{petId}": {
                    "parameters": [{"name": "petId", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "get": {
                        "operationId": "getPet",
                        "parameters": [
                            {"name": "verbose", "in": "query", "schema": {"type": "boolean"}},
                            {"name": "tag", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
                            {"name": "x-trace-id", "in": "header", "required": true, "schema": {"type": "string"}},
                            {"name": "session", "in": "cookie", "schema": {"type": "string"}}
                        ],
                        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}},
                        "security": [{"api_key": []}]
                    },
                    "put": {
                        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
                        "responses": {"204": {"description": "done"}},
                        "security": [{"sigv4": []}, {"jwt": ["pets/write"]}]
                    }
                },
                "/": {"x-amazon-apigateway-any-method": {}, "get": {"responses": {}}}
            },
            "components": {
                "schemas": {
                    "Pet": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {
                            "name": {"type": "string"},
                            "age": {"type": "integer", "format": "int32"},
                            "kind": {"type": "string", "enum": ["cat", "dog"]},
                            "owner": {"type": "object", "properties": {"email": {"type": "string", "nullable": true}}},
                            "tags": {"type": "array", "items": {"type": "string"}},
                            "extra": {"type": "object", "additionalProperties": {"type": "number"}},
                            "parent": {"$ref": "#/components/schemas/Pet"},
                            "odd": {"oneOf": [{"type": "string"}, {"type": "integer"}]}
                        }
                    },
                    "Pets": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}
                },
                "securitySchemes": {
                    "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"},
                    "sigv4": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"},
                    "jwt": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "jwt"}
                }
            }
        })
    }

    #[test]
    fn models_are_typed_and_inline_schemas_named_after_where_they_are() {
        let api = read(&pets());
        assert_eq!(api.title, "Pet Store");
        assert_eq!(
            api.server_url,
            "http://pets.execute-api.localhost:8080/prod"
        );
        let names: Vec<&str> = api.models.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["Pet", "PetKind", "PetOwner", "Pets"]);
        let ModelKind::Object(fields) = &api.model("Pet").unwrap().kind else {
            panic!("Pet is an object")
        };
        let field = |n: &str| fields.iter().find(|f| f.name == n).unwrap();
        assert!(field("name").required && !field("age").required);
        assert_eq!(field("age").ty, Type::Integer { bits32: true });
        assert_eq!(field("kind").ty, Type::Named("PetKind".into()));
        assert_eq!(field("owner").ty, Type::Named("PetOwner".into()));
        assert_eq!(field("tags").ty, Type::Array(Box::new(Type::String)));
        assert_eq!(field("extra").ty, Type::Map(Box::new(Type::Number)));
        assert_eq!(field("parent").ty, Type::Named("Pet".into()));
        assert_eq!(field("odd").ty, Type::Any);
        assert_eq!(
            api.model("PetKind").unwrap().kind,
            ModelKind::Enum(vec!["cat".into(), "dog".into()])
        );
        let ModelKind::Object(owner) = &api.model("PetOwner").unwrap().kind else {
            panic!()
        };
        assert_eq!(owner[0].ty, Type::Nullable(Box::new(Type::String)));
        assert_eq!(
            api.model("Pets").unwrap().kind,
            ModelKind::Alias(Type::Array(Box::new(Type::Named("Pet".into()))))
        );
        assert!(api.reaches_directly("Pet", "Pet"));
        assert!(!api.reaches_directly("PetOwner", "Pet"));
        // Through an array there is no need for a Box.
        assert!(!api.reaches_directly("Pets", "Pet"));
        // What cannot be typed is said, with where it is.
        assert!(
            api.warnings
                .iter()
                .any(|w| w.starts_with("/components/schemas/Pet/properties/odd: ")),
            "{:?}",
            api.warnings
        );
    }

    #[test]
    fn operations_have_typed_path_query_and_header_parameters_body_response_and_auth() {
        let api = read(&pets());
        let names: Vec<&str> = api.operations.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "get root",
                "post root",
                "put root",
                "patch root",
                "delete root",
                "getPet",
                "put pets by petId"
            ],
            "ANY is offered as each verb without its own method"
        );
        assert!(api.operations[4].method == "DELETE" && api.operations[4].path == "/");
        let get = &api.operations[5];
        assert_eq!(
            (get.method.as_str(), get.path.as_str()),
            ("GET", "/pets/{petId}")
        );
        let params: Vec<(&str, ParamLocation, bool, &Type)> = get
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.location, p.required, &p.ty))
            .collect();
        assert_eq!(
            params,
            [
                ("petId", ParamLocation::Path, true, &Type::String),
                ("verbose", ParamLocation::Query, false, &Type::Boolean),
                (
                    "tag",
                    ParamLocation::Query,
                    false,
                    &Type::Array(Box::new(Type::String))
                ),
                ("x-trace-id", ParamLocation::Header, true, &Type::String),
            ]
        );
        assert_eq!(get.response, Type::Named("Pet".into()));
        assert!(get.auth.api_key && !get.auth.sigv4);
        let put = &api.operations[6];
        assert_eq!(put.params.len(), 1, "the path item's parameter");
        let body = put.body.as_ref().unwrap();
        assert!(body.json && body.required);
        assert_eq!(body.ty, Type::Named("Pet".into()));
        assert_eq!(put.response, Type::Any);
        assert!(put.auth.sigv4 && !put.auth.api_key);
        assert_eq!(put.auth.token_headers, ["Authorization"]);
        // The cookie is left out, and said so.
        assert!(
            api.warnings
                .iter()
                .any(|w| w.contains("/parameters/3/in: "))
        );
        let uses = api.uses();
        assert!(uses.api_key && uses.sigv4);
    }

    #[test]
    fn undeclared_path_parameters_are_still_parameters_and_names_are_unique() {
        let api = read(&json!({
            "paths": {
                "/a/{id}": {"get": {"operationId": "list"}},
                "/b/{proxy+}": {"get": {"operationId": "list"}}
            }
        }));
        let names: Vec<&str> = api.operations.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["list", "list2"]);
        assert_eq!(api.operations[0].params[0].name, "id");
        assert_eq!(api.operations[1].params[0].name, "proxy");
        assert!(api.operations[1].params[0].required && api.operations[1].params[0].greedy);
        assert!(!api.operations[0].params[0].greedy);
    }

    #[test]
    fn derived_names_read_as_the_route() {
        assert_eq!(
            derived_name("get", "/pets/{id}/toys"),
            "get pets by id toys"
        );
        assert_eq!(derived_name("delete", "/{proxy+}"), "delete by proxy");
        assert_eq!(derived_name("get", "/"), "get root");
    }
}
