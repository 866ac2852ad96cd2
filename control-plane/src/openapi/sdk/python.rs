//! The Python package: models as `TypedDict`s (what `json.loads` gives,
//! typed) and string enums as `Literal`s; a client over the standard
//! library's `urllib.request`, one method per operation with keyword
//! arguments; SigV4 with botocore's `SigV4Auth`, as boto3 signs. Typed
//! throughout (`py.typed`), clean under `mypy --strict`.

use super::model::{ApiModel, ModelKind, ParamLocation, Type};
use super::names::{Case, PYTHON_RESERVED, Scope, cased};
use super::{SdkOptions, doc_lines, operation_doc, render};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct Context {
    title: String,
    doc: Vec<String>,
    package: String,
    distribution: String,
    client: String,
    base_url: String,
    api_key: bool,
    sigv4: bool,
    token: bool,
    models: Vec<ModelContext>,
    operations: Vec<OperationContext>,
}

#[derive(Serialize)]
struct ModelContext {
    ident: String,
    doc: Vec<String>,
    kind: &'static str,
    /// Every key is an identifier (class syntax), else the functional
    /// syntax.
    class_syntax: bool,
    fields: Vec<FieldContext>,
    /// `Literal[...]` or the aliased type.
    alias: String,
}

#[derive(Serialize)]
struct FieldContext {
    /// The JSON key, as a Python string literal.
    key: String,
    /// The key itself (class syntax).
    name: String,
    ty: String,
    doc: Vec<String>,
}

#[derive(Serialize, Clone)]
struct ArgContext {
    ident: String,
    ty: String,
    required: bool,
    /// The name sent, as a Python string literal.
    sent: String,
    greedy: bool,
}

#[derive(Serialize)]
struct OperationContext {
    method: String,
    doc: Vec<String>,
    http_method: String,
    path: String,
    args: Vec<ArgContext>,
    path_args: Vec<ArgContext>,
    query_args: Vec<ArgContext>,
    header_args: Vec<ArgContext>,
    body: Option<BodyContext>,
    returns: String,
    /// Whether the result is cast (anything but `Any`).
    cast: bool,
    api_key: bool,
    sigv4: bool,
    token_headers: Vec<String>,
}

#[derive(Serialize)]
struct BodyContext {
    ty: String,
    required: bool,
    content_type: String,
    json: bool,
}

fn is_identifier(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !super::names::PYTHON_KEYWORDS.contains(&text)
}

/// `ty` in Python; model names prefixed with `prefix` (`_models.` outside
/// models.py).
fn py_type(ty: &Type, idents: &BTreeMap<String, String>, prefix: &str) -> String {
    match ty {
        Type::String => "str".into(),
        Type::Integer { .. } => "int".into(),
        Type::Number => "float".into(),
        Type::Boolean => "bool".into(),
        Type::Any => "Any".into(),
        Type::Array(item) => format!("list[{}]", py_type(item, idents, prefix)),
        Type::Map(value) => format!("dict[str, {}]", py_type(value, idents, prefix)),
        Type::Named(name) => match idents.get(name) {
            Some(ident) => format!("{prefix}{ident}"),
            None => "Any".into(),
        },
        Type::Nullable(inner) => format!("{} | None", py_type(inner, idents, prefix)),
    }
}

fn literal(text: &str) -> String {
    // A JSON string is a Python string literal (the escapes agree).
    serde_json::to_string(text).unwrap_or_default()
}

pub fn files(
    api: &ApiModel,
    options: &SdkOptions,
) -> Result<Vec<(String, String)>, minijinja::Error> {
    let (client, idents, _) = super::names::type_names(api, PYTHON_RESERVED);
    let models = api
        .models
        .iter()
        .map(|m| {
            let mut context = ModelContext {
                ident: idents[&m.name].clone(),
                doc: doc_lines(&m.description),
                kind: "alias",
                class_syntax: true,
                fields: Vec::new(),
                alias: String::new(),
            };
            match &m.kind {
                ModelKind::Object(fields) => {
                    context.kind = "object";
                    context.class_syntax = fields.iter().all(|f| is_identifier(&f.name));
                    context.fields = fields
                        .iter()
                        .map(|f| {
                            let ty = py_type(&f.ty, &idents, "");
                            FieldContext {
                                key: literal(&f.name),
                                name: f.name.clone(),
                                ty: if f.required {
                                    ty
                                } else {
                                    format!("NotRequired[{ty}]")
                                },
                                doc: doc_lines(&f.description),
                            }
                        })
                        .collect();
                }
                ModelKind::Enum(values) => {
                    let values: Vec<String> = values.iter().map(|v| literal(v)).collect();
                    context.alias = format!("Literal[{}]", values.join(", "));
                }
                ModelKind::Alias(ty) => context.alias = literal(&py_type(ty, &idents, "")),
            }
            context
        })
        .collect();
    let mut methods = Scope::new(PYTHON_RESERVED, "_");
    for own in [
        "base_url",
        "headers",
        "api_key",
        "token",
        "credentials",
        "region",
        "timeout",
    ] {
        methods.take(own);
    }
    let operations = api
        .operations
        .iter()
        .map(|op| {
            let mut args_scope = Scope::new(PYTHON_RESERVED, "_");
            let args: Vec<(ParamLocation, ArgContext)> = op
                .params
                .iter()
                .map(|p| {
                    (
                        p.location,
                        ArgContext {
                            ident: args_scope.unique(cased(&p.name, Case::Snake, "param", "p_")),
                            ty: py_type(&p.ty, &idents, "_models."),
                            required: p.required,
                            sent: literal(&p.name),
                            greedy: p.greedy,
                        },
                    )
                })
                .collect();
            let of = |location: ParamLocation| -> Vec<ArgContext> {
                args.iter()
                    .filter(|(l, _)| *l == location)
                    .map(|(_, a)| a.clone())
                    .collect()
            };
            let doc = operation_doc(op, "``", false);
            let returns = py_type(&op.response, &idents, "_models.");
            OperationContext {
                method: methods.unique(cased(&op.name, Case::Snake, "call", "op_")),
                doc,
                http_method: op.method.clone(),
                path: literal(&op.path),
                path_args: of(ParamLocation::Path),
                query_args: of(ParamLocation::Query),
                header_args: of(ParamLocation::Header),
                args: args.into_iter().map(|(_, a)| a).collect(),
                body: op.body.as_ref().map(|b| BodyContext {
                    ty: py_type(&b.ty, &idents, "_models."),
                    required: b.required,
                    content_type: literal(&b.content_type),
                    json: b.json,
                }),
                cast: returns != "Any",
                returns,
                api_key: op.auth.api_key,
                sigv4: op.auth.sigv4,
                token_headers: op.auth.token_headers.iter().map(|h| literal(h)).collect(),
            }
        })
        .collect();
    let uses = api.uses();
    let context = Context {
        title: api.title.clone(),
        doc: doc_lines(&api.description),
        package: options.package_name.clone(),
        distribution: options.package_name.replace('_', "-"),
        client,
        base_url: literal(&options.base_url),
        api_key: uses.api_key,
        sigv4: uses.sigv4,
        token: !uses.token_headers.is_empty(),
        models,
        operations,
    };
    let package = &options.package_name;
    Ok(vec![
        (
            "pyproject.toml".into(),
            render(
                "pyproject.toml",
                include_str!("templates/python/pyproject.toml.j2"),
                &context,
            )?,
        ),
        (
            "README.md".into(),
            render(
                "README.md",
                include_str!("templates/python/README.md.j2"),
                &context,
            )?,
        ),
        (
            format!("{package}/__init__.py"),
            render(
                "__init__.py",
                include_str!("templates/python/__init__.py.j2"),
                &context,
            )?,
        ),
        (
            format!("{package}/models.py"),
            render(
                "models.py",
                include_str!("templates/python/models.py.j2"),
                &context,
            )?,
        ),
        (
            format!("{package}/client.py"),
            render(
                "client.py",
                include_str!("templates/python/client.py.j2"),
                &context,
            )?,
        ),
        (format!("{package}/py.typed"), String::new()),
    ])
}
