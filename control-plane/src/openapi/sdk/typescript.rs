//! The TypeScript package: `src/index.ts` (models as interfaces and
//! unions, one async method per operation over `fetch`), `package.json`,
//! `tsconfig.json`. SigV4 with `@smithy/signature-v4` and
//! `@aws-crypto/sha256-js`, as AWS's own JavaScript SDK signs.

use super::model::{ApiModel, ModelKind, ParamLocation, Type};
use super::names::{Case, Scope, TYPESCRIPT_RESERVED, cased};
use super::{SdkOptions, doc_lines, operation_doc, render};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// The versions the generated package.json asks for (tests/sdk checks
/// the package with exactly these).
pub const SIGNATURE_V4_VERSION: &str = "5.7.5";
pub const SHA256_JS_VERSION: &str = "5.2.0";
pub const TYPESCRIPT_VERSION: &str = "5.9.3";

#[derive(Serialize)]
struct Context {
    title: String,
    doc: Vec<String>,
    package_name: String,
    client: String,
    base_url: String,
    api_key: bool,
    sigv4: bool,
    token: bool,
    models: Vec<ModelContext>,
    operations: Vec<OperationContext>,
    signature_v4_version: &'static str,
    sha256_js_version: &'static str,
    typescript_version: &'static str,
}

#[derive(Serialize)]
struct ModelContext {
    ident: String,
    doc: Vec<String>,
    kind: &'static str,
    fields: Vec<FieldContext>,
    /// Enum values as TypeScript string literals.
    values: Vec<String>,
    alias: String,
}

#[derive(Serialize)]
struct FieldContext {
    key: String,
    optional: bool,
    ty: String,
    doc: Vec<String>,
}

#[derive(Serialize)]
struct OperationContext {
    method: String,
    doc: Vec<String>,
    /// The input type's name; empty when the operation takes nothing.
    input: String,
    /// Every input field is optional (the argument may be left out).
    input_optional: bool,
    fields: Vec<FieldContext>,
    returns: String,
    /// The operation's description for the client's `send`, as a
    /// TypeScript object literal (JSON).
    spec: String,
}

/// `text` as a property key: bare when it is an identifier, else quoted.
fn key(text: &str) -> String {
    let identifier = text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if identifier {
        text.to_owned()
    } else {
        serde_json::to_string(text).unwrap_or_default()
    }
}

fn ts_type(ty: &Type, idents: &BTreeMap<String, String>) -> String {
    match ty {
        Type::String => "string".into(),
        Type::Integer { .. } | Type::Number => "number".into(),
        Type::Boolean => "boolean".into(),
        Type::Any => "unknown".into(),
        Type::Array(item) => format!("Array<{}>", ts_type(item, idents)),
        Type::Map(value) => format!("Record<string, {}>", ts_type(value, idents)),
        Type::Named(name) => idents
            .get(name)
            .cloned()
            .unwrap_or_else(|| "unknown".into()),
        Type::Nullable(inner) => format!("{} | null", ts_type(inner, idents)),
    }
}

pub fn files(
    api: &ApiModel,
    options: &SdkOptions,
) -> Result<Vec<(String, String)>, minijinja::Error> {
    let (client, idents, mut types) = super::names::type_names(api, TYPESCRIPT_RESERVED);
    let models = api
        .models
        .iter()
        .map(|m| {
            let mut context = ModelContext {
                ident: idents[&m.name].clone(),
                doc: doc_lines(&m.description),
                kind: "alias",
                fields: Vec::new(),
                values: Vec::new(),
                alias: String::new(),
            };
            match &m.kind {
                ModelKind::Object(fields) => {
                    context.kind = "object";
                    context.fields = fields
                        .iter()
                        .map(|f| FieldContext {
                            key: key(&f.name),
                            optional: !f.required,
                            ty: ts_type(&f.ty, &idents),
                            doc: doc_lines(&f.description),
                        })
                        .collect();
                }
                ModelKind::Enum(values) => {
                    context.kind = "enum";
                    context.values = values
                        .iter()
                        .map(|v| serde_json::to_string(v).unwrap_or_default())
                        .collect();
                }
                ModelKind::Alias(ty) => context.alias = ts_type(ty, &idents),
            }
            context
        })
        .collect();
    let mut methods = Scope::new(&["constructor", "send", "baseUrl", "options"], "Op");
    let operations = api
        .operations
        .iter()
        .map(|op| {
            let method = methods.unique(cased(&op.name, Case::Camel, "call", "op"));
            let mut keys = Scope::new(&[], "");
            let mut fields = Vec::new();
            let mut params = Vec::new();
            for p in &op.params {
                let input_key = keys.unique(p.name.clone());
                fields.push(FieldContext {
                    key: key(&input_key),
                    optional: !p.required,
                    ty: ts_type(&p.ty, &idents),
                    doc: doc_lines(&p.description),
                });
                params.push(json!({
                    "name": p.name,
                    "key": input_key,
                    "in": match p.location {
                        ParamLocation::Path => "path",
                        ParamLocation::Query => "query",
                        ParamLocation::Header => "header",
                    },
                    "greedy": p.greedy,
                }));
            }
            let body = op.body.as_ref().map(|b| {
                let body_key = keys.unique(
                    if op.params.iter().any(|p| p.name == "body") {
                        "requestBody"
                    } else {
                        "body"
                    }
                    .into(),
                );
                fields.push(FieldContext {
                    key: key(&body_key),
                    optional: !b.required,
                    ty: ts_type(&b.ty, &idents),
                    doc: Vec::new(),
                });
                json!({"key": body_key, "json": b.json, "contentType": b.content_type})
            });
            let spec = json!({
                "name": method,
                "method": op.method,
                "path": op.path,
                "params": params,
                "body": body,
                "apiKey": op.auth.api_key,
                "sigv4": op.auth.sigv4,
                "tokenHeaders": op.auth.token_headers,
                "typed": op.response != Type::Any,
            });
            let doc = operation_doc(op, "`", false);
            OperationContext {
                input: if fields.is_empty() {
                    String::new()
                } else {
                    types.unique(format!(
                        "{}Input",
                        cased(&op.name, Case::Pascal, "Call", "Op")
                    ))
                },
                input_optional: fields.iter().all(|f| f.optional),
                fields,
                returns: ts_type(&op.response, &idents),
                spec: serde_json::to_string(&spec).unwrap_or_default(),
                method,
                doc,
            }
        })
        .collect();
    let uses = api.uses();
    let context = Context {
        title: api.title.clone(),
        doc: doc_lines(&api.description),
        package_name: options.package_name.clone(),
        client,
        base_url: options.base_url.clone(),
        api_key: uses.api_key,
        sigv4: uses.sigv4,
        token: !uses.token_headers.is_empty(),
        models,
        operations,
        signature_v4_version: SIGNATURE_V4_VERSION,
        sha256_js_version: SHA256_JS_VERSION,
        typescript_version: TYPESCRIPT_VERSION,
    };
    Ok(vec![
        (
            "package.json".into(),
            render(
                "package.json",
                include_str!("templates/typescript/package.json.j2"),
                &context,
            )?,
        ),
        (
            "tsconfig.json".into(),
            render(
                "tsconfig.json",
                include_str!("templates/typescript/tsconfig.json.j2"),
                &context,
            )?,
        ),
        (
            "src/index.ts".into(),
            render(
                "index.ts",
                include_str!("templates/typescript/index.ts.j2"),
                &context,
            )?,
        ),
        (
            "README.md".into(),
            render(
                "README.md",
                include_str!("templates/typescript/README.md.j2"),
                &context,
            )?,
        ),
    ])
}
