//! Reading the document's text: JSON or YAML into one JSON tree, with the
//! line and column of a syntax error, and which of the three dialects it
//! is.

use crate::declarative::document::SyntaxError;
use serde_json::Value;

/// The dialects an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Swagger2,
    OpenApi30,
    OpenApi31,
}

impl Dialect {
    pub fn is_swagger(self) -> bool {
        self == Self::Swagger2
    }
}

/// The document as a JSON tree. Text starting with `{` is read as JSON
/// (the fast path for large generated documents), anything else as YAML;
/// JSON that does not parse is tried as YAML too (YAML's flow style starts
/// with `{` as well) and reported as JSON's error when neither reads it.
pub fn parse(text: &str) -> Result<Value, SyntaxError> {
    if text.trim_start().starts_with('{') {
        return match serde_json::from_str(text) {
            Ok(tree) => Ok(tree),
            Err(json) => parse_yaml(text).map_err(|_| SyntaxError {
                message: strip_position(&json.to_string()),
                line: Some(json.line() as u32),
                column: Some(json.column() as u32),
            }),
        };
    }
    parse_yaml(text)
}

fn parse_yaml(text: &str) -> Result<Value, SyntaxError> {
    serde_saphyr::from_str(text).map_err(|e| {
        let location = e.location();
        let message = e.to_string();
        let first = message.lines().next().unwrap_or_default();
        SyntaxError {
            message: strip_position(first.strip_prefix("error: ").unwrap_or(first)),
            line: location.map(|l| l.line() as u32),
            column: location.map(|l| l.column() as u32),
        }
    })
}

/// "line 7 column 23: reason" → "reason" (the position is given apart).
fn strip_position(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    match message.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") => rest.to_owned(),
        _ => message.to_owned(),
    }
}

/// Which dialect `doc` is written in, from its `swagger` or `openapi`
/// field; why not when it says none of the three.
pub fn dialect(doc: &Value) -> Result<Dialect, String> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        // `openapi: 3.0` unquoted in YAML is a number.
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if !doc.is_object() {
        return Err("is not an OpenAPI document (expected an object at the top)".into());
    }
    if let Some(version) = doc.get("swagger").and_then(text) {
        return if version == "2.0" || version == "2" {
            Ok(Dialect::Swagger2)
        } else {
            Err(format!("swagger '{version}' is not supported (2.0 is)"))
        };
    }
    match doc.get("openapi").and_then(text) {
        Some(v) if v == "3.0" || v.starts_with("3.0.") => Ok(Dialect::OpenApi30),
        Some(v) if v == "3.1" || v.starts_with("3.1.") => Ok(Dialect::OpenApi31),
        Some(v) => Err(format!(
            "openapi '{v}' is not supported (3.0.x, 3.1.x and swagger 2.0 are)"
        )),
        None => Err(
            "is not an OpenAPI document: it has neither `openapi: 3.x` nor `swagger: \"2.0\"`"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_status_codes_written_as_numbers_are_keys() {
        let doc = parse("openapi: 3.0.3\npaths:\n  /a:\n    get:\n      responses:\n        200: { description: ok }\n        default: { description: other }\n").unwrap();
        assert!(
            doc.pointer("/paths/~1a/get/responses/200").is_some(),
            "{doc}"
        );
        assert_eq!(dialect(&doc), Ok(Dialect::OpenApi30));
    }

    #[test]
    fn json_and_yaml_errors_have_a_line_and_column() {
        let err = parse("{\n  \"openapi\": \"3.0.0\",\n  \"paths\": {,}\n}").unwrap_err();
        assert_eq!((err.line, err.column), (Some(3), Some(13)), "{err:?}");
        assert!(!err.message.contains("line"), "{err:?}");
        let err = parse("openapi: 3.0.0\npaths:\n  /a: [\n").unwrap_err();
        assert!(err.line.is_some() && err.column.is_some(), "{err:?}");
    }

    #[test]
    fn the_dialect_comes_from_the_version_field() {
        let of = |text: &str| dialect(&parse(text).unwrap());
        assert_eq!(of("swagger: '2.0'"), Ok(Dialect::Swagger2));
        assert_eq!(of("openapi: 3.1.0"), Ok(Dialect::OpenApi31));
        assert_eq!(of("openapi: 3.0"), Ok(Dialect::OpenApi30));
        assert!(of("openapi: 2.5.0").unwrap_err().contains("not supported"));
        assert!(of("info: {}").unwrap_err().contains("neither"));
        assert!(of("- a").unwrap_err().contains("object"));
    }

    #[test]
    fn a_yaml_flow_document_starting_with_a_brace_reads() {
        let doc = parse("{openapi: 3.0.0, paths: {}}").unwrap();
        assert_eq!(dialect(&doc), Ok(Dialect::OpenApi30));
    }
}
