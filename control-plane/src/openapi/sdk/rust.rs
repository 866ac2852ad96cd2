//! The Rust crate: models as serde structs and enums, an async client
//! over reqwest (its `rustls` TLS a default feature, so `http://`-only
//! users can leave it out), one method per operation; SigV4 with the
//! `aws-sigv4` crate, as the AWS SDK for Rust signs.

use super::model::{ApiModel, ModelKind, ParamLocation, Type};
use super::names::{Case, RUST_KEYWORDS, RUST_RESERVED, Scope, cased};
use super::{SdkOptions, doc_lines, operation_doc, render};
use serde::Serialize;
use std::collections::BTreeMap;

/// Words a method's parameters may not be: keywords, and the names its
/// body uses.
const PARAM_RESERVED: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen", "union", "body",
    "call", "answer", "item",
];

#[derive(Serialize)]
struct Context {
    title: String,
    doc: Vec<String>,
    crate_name: String,
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
    fields: Vec<FieldContext>,
    variants: Vec<VariantContext>,
    alias: String,
}

#[derive(Serialize)]
struct FieldContext {
    ident: String,
    /// The JSON key when it differs from the identifier.
    rename: Option<String>,
    ty: String,
    /// Not required: left out when None.
    optional: bool,
    doc: Vec<String>,
}

#[derive(Serialize)]
struct VariantContext {
    ident: String,
    value: String,
}

#[derive(Serialize)]
struct ArgContext {
    ident: String,
    /// The parameter's type in the method's signature.
    ty: String,
    required: bool,
    /// Repeated (a slice).
    list: bool,
    sent: String,
    location: &'static str,
    greedy: bool,
}

#[derive(Serialize)]
struct OperationContext {
    method: String,
    doc: Vec<String>,
    http_method: String,
    path: String,
    args: Vec<ArgContext>,
    body: Option<BodyContext>,
    returns: String,
    /// The answer is decoded into a model (else it is the JSON value).
    typed: bool,
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

fn literal(text: &str) -> String {
    // Rust's escapes, written by hand: JSON's `\uXXXX` is no Rust escape.
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn rust_type(ty: &Type, idents: &BTreeMap<String, String>) -> String {
    match ty {
        Type::String => "String".into(),
        Type::Integer { bits32: true } => "i32".into(),
        Type::Integer { bits32: false } => "i64".into(),
        Type::Number => "f64".into(),
        Type::Boolean => "bool".into(),
        Type::Any => "serde_json::Value".into(),
        Type::Array(item) => format!("Vec<{}>", rust_type(item, idents)),
        Type::Map(value) => format!(
            "std::collections::BTreeMap<String, {}>",
            rust_type(value, idents)
        ),
        Type::Named(name) => idents
            .get(name)
            .cloned()
            .unwrap_or_else(|| "serde_json::Value".into()),
        Type::Nullable(inner) => format!("Option<{}>", rust_type(inner, idents)),
    }
}

/// `ty` with its model behind a `Box` (`Option<Box<Pet>>`).
fn boxed_type(ty: &Type, idents: &BTreeMap<String, String>) -> String {
    match ty {
        Type::Named(_) => format!("Box<{}>", rust_type(ty, idents)),
        Type::Nullable(inner) => format!("Option<{}>", boxed_type(inner, idents)),
        _ => rust_type(ty, idents),
    }
}

/// A parameter's scalar type as an argument (`&str` for strings).
fn arg_scalar(ty: &Type) -> &'static str {
    match ty {
        Type::Integer { bits32: true } => "i32",
        Type::Integer { bits32: false } => "i64",
        Type::Number => "f64",
        Type::Boolean => "bool",
        _ => "&str",
    }
}

pub fn files(
    api: &ApiModel,
    options: &SdkOptions,
) -> Result<Vec<(String, String)>, minijinja::Error> {
    let (client, idents, _) = super::names::type_names(api, RUST_RESERVED);
    let models = api
        .models
        .iter()
        .map(|m| {
            let mut context = ModelContext {
                ident: idents[&m.name].clone(),
                doc: doc_lines(&m.description),
                kind: "alias",
                fields: Vec::new(),
                variants: Vec::new(),
                alias: String::new(),
            };
            match &m.kind {
                ModelKind::Object(fields) => {
                    context.kind = "object";
                    let mut scope = Scope::new(RUST_KEYWORDS, "_");
                    context.fields = fields
                        .iter()
                        .map(|f| {
                            let ident = scope.unique(cased(&f.name, Case::Snake, "field", "f_"));
                            // A struct holding itself (through other
                            // structs) needs a pointer there.
                            let ty = match f.ty.direct_refs() {
                                Some(target) if api.reaches_directly(target, &m.name) => {
                                    boxed_type(&f.ty, &idents)
                                }
                                _ => rust_type(&f.ty, &idents),
                            };
                            let optional = !f.required && !matches!(f.ty, Type::Nullable(_));
                            FieldContext {
                                rename: (ident != f.name).then(|| literal(&f.name)),
                                ident,
                                ty: if optional {
                                    format!("Option<{ty}>")
                                } else {
                                    ty
                                },
                                optional: !f.required,
                                doc: doc_lines(&f.description),
                            }
                        })
                        .collect();
                }
                ModelKind::Enum(values) => {
                    context.kind = "enum";
                    let mut scope = Scope::new(&["Self"], "Value");
                    context.variants = values
                        .iter()
                        .map(|v| VariantContext {
                            ident: scope.unique(cased(v, Case::Pascal, "Empty", "V")),
                            value: literal(v),
                        })
                        .collect();
                }
                ModelKind::Alias(ty) => context.alias = rust_type(ty, &idents),
            }
            context
        })
        .collect();
    let mut methods = Scope::new(
        &[
            "new",
            "with_base_url",
            "with_client",
            "header",
            "api_key",
            "token",
            "credentials",
            "region",
            "base_url",
            "send",
            "self",
            "Self",
            "type",
            "fn",
            "mod",
            "use",
            "impl",
            "match",
            "loop",
            "move",
            "ref",
            "return",
            "static",
            "struct",
            "super",
            "trait",
            "where",
            "async",
            "await",
            "dyn",
            "crate",
            "box",
            "try",
            "gen",
            "macro",
            "yield",
            "as",
            "break",
            "const",
            "continue",
            "else",
            "enum",
            "extern",
            "false",
            "for",
            "if",
            "in",
            "let",
            "mut",
            "pub",
            "true",
            "unsafe",
            "while",
            "abstract",
            "become",
            "do",
            "final",
            "override",
            "priv",
            "typeof",
            "unsized",
            "virtual",
            "union",
        ],
        "_op",
    );
    let operations = api
        .operations
        .iter()
        .map(|op| {
            let mut scope = Scope::new(PARAM_RESERVED, "_");
            let args = op
                .params
                .iter()
                .map(|p| {
                    let (list, scalar) = match &p.ty {
                        Type::Array(item) => (true, arg_scalar(item)),
                        ty => (false, arg_scalar(ty)),
                    };
                    let ty = if list {
                        format!("&[{scalar}]")
                    } else {
                        scalar.to_owned()
                    };
                    ArgContext {
                        ident: scope.unique(cased(&p.name, Case::Snake, "param", "p_")),
                        ty: if p.required {
                            ty
                        } else {
                            format!("Option<{ty}>")
                        },
                        required: p.required,
                        list,
                        sent: literal(&p.name),
                        location: match p.location {
                            ParamLocation::Path => "path",
                            ParamLocation::Query => "query",
                            ParamLocation::Header => "header",
                        },
                        greedy: p.greedy,
                    }
                })
                .collect();
            let doc = operation_doc(op, "`", true);
            let returns = rust_type(&op.response, &idents);
            OperationContext {
                method: methods.unique(cased(&op.name, Case::Snake, "call", "op_")),
                doc,
                http_method: op.method.clone(),
                path: literal(&op.path),
                args,
                body: op.body.as_ref().map(|b| {
                    let ty = if b.json {
                        format!("&{}", rust_type(&b.ty, &idents))
                    } else {
                        "&str".to_owned()
                    };
                    BodyContext {
                        ty: if b.required {
                            ty
                        } else {
                            format!("Option<{ty}>")
                        },
                        required: b.required,
                        content_type: literal(&b.content_type),
                        json: b.json,
                    }
                }),
                typed: op.response != Type::Any,
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
        crate_name: options.package_name.clone(),
        client,
        base_url: literal(&options.base_url),
        api_key: uses.api_key,
        sigv4: uses.sigv4,
        token: !uses.token_headers.is_empty(),
        models,
        operations,
    };
    Ok(vec![
        (
            "Cargo.toml".into(),
            render(
                "Cargo.toml",
                include_str!("templates/rust/Cargo.toml.j2"),
                &context,
            )?,
        ),
        (
            "src/lib.rs".into(),
            render("lib.rs", include_str!("templates/rust/lib.rs.j2"), &context)?,
        ),
        (
            "README.md".into(),
            render(
                "README.md",
                include_str!("templates/rust/README.md.j2"),
                &context,
            )?,
        ),
    ])
}
