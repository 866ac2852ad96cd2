//! Reading an OpenAPI 3.0/3.1 or Swagger 2.0 document into the [`ApiSpec`]
//! of one API, as [`super::mapping`] describes, and the gRPC calls that
//! apply it ([`service`]).
//!
//! The reader is a walk over the document's JSON tree rather than typed
//! structs of an OpenAPI crate: one walk reads all three dialects (the
//! `openapiv3` crate reads 3.0 only, `oas3` 3.1 only, and no kept crate
//! reads Swagger 2.0), keeps every `x-amazon-apigateway-*` extension
//! wherever it sits, and knows the JSON pointer of everything it reads, so
//! each warning and error names its place. A typed parser would also refuse
//! a whole document for one field of an unexpected type, where this reader
//! reports the field and goes on.
//!
//! What the reader cannot honour becomes a warning (the import goes on
//! without it); what it cannot honour *safely* — a security scheme it
//! cannot enforce, a reference outside the document — is an error, since
//! importing the route without it would open it.
//!
//! - [`source`]: text → JSON tree (line and column of syntax errors), and
//!   the dialect.
//! - [`refs`]: `$ref`s inside the document.
//! - [`schemas`]: schemas → models (JSON Schema draft 4, references by
//!   AWS's model URLs).
//! - [`security`]: security schemes → authorizers, API keys, SigV4.
//! - [`integration`]: `x-amazon-apigateway-integration` → an integration.
//! - [`operations`]: paths and operations → routes.
//! - [`path_variables`]: one variable name per resource level.
//! - [`api`]: the API's own fields and extensions.

mod api;
mod integration;
mod operations;
mod path_variables;
mod refs;
mod schemas;
mod security;
pub mod service;
pub mod source;

pub use service::{import_rest_api, put_rest_api};

use super::mapping::pointer_token;
use crate::declarative::document::{ApiSpec, SyntaxError};
use serde_json::{Map, Value};
use source::Dialect;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Something in the document, at a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.message)
    }
}

/// Why a document was not read.
#[derive(Debug)]
pub enum ReadError {
    Syntax(SyntaxError),
    /// Every error found, each at its pointer.
    Document(Vec<Problem>),
}

/// How to read a document.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The id the API has (or will have): models refer to each other by
    /// AWS's model URLs, which hold it.
    pub api_id: String,
    /// REST, HTTP or empty (REST, or HTTP when the document carries
    /// `x-amazon-apigateway-importexport-version`).
    pub protocol: String,
    /// Make the base path (Swagger's `basePath`, the first server's path)
    /// part of every route's path; otherwise it is ignored, as AWS's
    /// default `basepath=ignore`.
    pub prepend_base_path: bool,
}

/// A document read: the API, what was not honoured, and where in the
/// document each part of the `ApiSpec` came from (to place the planner's
/// refusals).
#[derive(Debug, Clone)]
pub struct Imported {
    pub spec: ApiSpec,
    pub warnings: Vec<Problem>,
    pub origins: Origins,
}

/// The JSON pointer each entry of the `ApiSpec`'s lists came from.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    pub routes: Vec<String>,
    pub models: Vec<String>,
    pub authorizers: Vec<String>,
    pub request_validators: Vec<String>,
    pub gateway_responses: Vec<String>,
}

impl Origins {
    /// The document pointer of a planner path (`apis[0].routes[3].integration.uri`):
    /// the entry's pointer, and the rest of the path to name the field.
    pub fn locate(&self, path: &str) -> (String, String) {
        let rest = path.strip_prefix("apis[0]").unwrap_or(path);
        let lists: [(&str, &Vec<String>); 5] = [
            (".routes[", &self.routes),
            (".models[", &self.models),
            (".authorizers[", &self.authorizers),
            (".request_validators[", &self.request_validators),
            (".gateway_responses[", &self.gateway_responses),
        ];
        for (prefix, pointers) in lists {
            if let Some(tail) = rest.strip_prefix(prefix)
                && let Some((index, field)) = tail.split_once(']')
                && let Some(pointer) = index.parse::<usize>().ok().and_then(|i| pointers.get(i))
            {
                return (pointer.clone(), field.trim_start_matches('.').to_owned());
            }
        }
        (String::new(), rest.trim_start_matches('.').to_owned())
    }
}

/// The largest document an import reads (AWS takes 6 MB; public API
/// descriptions reach a few MB).
pub const MAX_DOCUMENT_BYTES: usize = 32 << 20;

/// Reads `text` as one API.
pub fn read(text: &str, options: &ReadOptions) -> Result<Imported, ReadError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(ReadError::Syntax(SyntaxError {
            message: format!(
                "the document is {} bytes; an import reads at most {MAX_DOCUMENT_BYTES}",
                text.len()
            ),
            line: None,
            column: None,
        }));
    }
    let doc = source::parse(text).map_err(ReadError::Syntax)?;
    read_tree(&doc, options)
}

/// Reads a parsed document as one API.
pub fn read_tree(doc: &Value, options: &ReadOptions) -> Result<Imported, ReadError> {
    let dialect = source::dialect(doc).map_err(|message| {
        ReadError::Document(vec![Problem {
            pointer: String::new(),
            message,
        }])
    })?;
    let http_api = match options.protocol.to_ascii_uppercase().as_str() {
        "" => doc.get(super::mapping::IMPORTEXPORT_VERSION).is_some(),
        "REST" => false,
        "HTTP" => true,
        other => {
            return Err(ReadError::Document(vec![Problem {
                pointer: String::new(),
                message: format!("protocol '{other}' cannot be imported (REST or HTTP)"),
            }]));
        }
    };
    let mut reader = Reader {
        doc,
        dialect,
        http_api,
        api_id: options.api_id.clone(),
        prepend_base_path: options.prepend_base_path,
        warnings: Vec::new(),
        errors: Vec::new(),
        spec: ApiSpec {
            protocol: http_api.then(|| "HTTP".to_owned()),
            ..Default::default()
        },
        origins: Origins::default(),
        model_names: HashMap::new(),
        taken_model_names: HashSet::new(),
        schemes: BTreeMap::new(),
        operation_names: HashSet::new(),
        converting: String::new(),
        schema_nodes: 0,
        backend_checked: HashSet::new(),
    };
    reader.api();
    reader.models();
    reader.security_schemes();
    reader.paths();
    reader.unify_path_variables();
    if reader.errors.is_empty() {
        Ok(Imported {
            spec: reader.spec,
            warnings: reader.warnings,
            origins: reader.origins,
        })
    } else {
        Err(ReadError::Document(reader.errors))
    }
}

/// The state of one read.
struct Reader<'d> {
    doc: &'d Value,
    dialect: Dialect,
    http_api: bool,
    api_id: String,
    prepend_base_path: bool,
    warnings: Vec<Problem>,
    errors: Vec<Problem>,
    spec: ApiSpec,
    origins: Origins,
    /// A schema's key in the document → its model's name.
    model_names: HashMap<String, String>,
    taken_model_names: HashSet<String>,
    /// What each security scheme stands for.
    schemes: BTreeMap<String, security::Scheme>,
    /// operationIds seen, to refuse a repeated one.
    operation_names: HashSet<String>,
    /// The pointer of the schema being converted into a model (references
    /// inside it stay inside it).
    converting: String,
    /// Schema objects converted so far (see `schemas::MAX_SCHEMA_NODES`).
    schema_nodes: usize,
    /// Schemes checked by backends that were warned about.
    backend_checked: HashSet<String>,
}

/// `base` + one more reference token.
fn child(base: &str, token: &str) -> String {
    format!("{base}/{}", pointer_token(token))
}

impl<'d> Reader<'d> {
    fn warn(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Problem {
            pointer: pointer.into(),
            message: message.into(),
        });
    }

    fn error(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Problem {
            pointer: pointer.into(),
            message: message.into(),
        });
    }

    /// The object at `value`, or None after an error when it is something
    /// else.
    fn object<'v>(&mut self, value: &'v Value, at: &str) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            other => {
                self.error(at, format!("expected an object, found {}", kind_of(other)));
                None
            }
        }
    }

    /// A string field (numbers and booleans are read as their text, as
    /// YAML writes `timeout: 500` or `version: 1.0` unquoted).
    fn text(&mut self, value: &Value, at: &str) -> Option<String> {
        match value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => {
                self.error(at, format!("expected a string, found {}", kind_of(other)));
                None
            }
        }
    }

    /// An object of strings (`requestParameters`, `responseTemplates`).
    fn string_map(&mut self, value: Option<&Value>, at: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Some(value) = value else {
            return out;
        };
        let Some(map) = self.object(value, at) else {
            return out;
        };
        for (key, v) in map {
            if let Some(text) = self.text(v, &child(at, key)) {
                out.insert(key.clone(), text);
            }
        }
        out
    }

    /// A list of strings.
    fn string_list(&mut self, value: Option<&Value>, at: &str) -> Vec<String> {
        match value {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| self.text(v, &format!("{at}/{i}")))
                .collect(),
            Some(other) => {
                self.error(at, format!("expected a list, found {}", kind_of(other)));
                Vec::new()
            }
        }
    }

    /// A whole number that fits `u32`.
    fn number(&mut self, value: &Value, at: &str) -> Option<u32> {
        let n = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        match n.and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Some(n),
            None => {
                self.error(at, format!("expected a whole number, found {value}"));
                None
            }
        }
    }

    fn boolean(&mut self, value: &Value, at: &str) -> Option<bool> {
        match value {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            other => {
                self.error(at, format!("expected true or false, found {other}"));
                None
            }
        }
    }

    /// Warns about the `x-amazon-apigateway-*` keys of `map` that are not
    /// in `known` (AWS extensions this place does not have, or that
    /// Archway does not read here).
    fn unknown_extensions(&mut self, map: &Map<String, Value>, at: &str, known: &[&str]) {
        for key in map.keys() {
            if key.starts_with("x-amazon-apigateway-") && !known.contains(&key.as_str()) {
                self.warn(
                    child(at, key),
                    format!("{key} is not read here by Archway; ignored"),
                );
            }
        }
    }
}

/// How a JSON value is named in messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
pub(crate) mod tests;
