//! WebSocket APIs' route selection expressions (AWS's
//! RouteSelectionExpression): what picks the route of each message.
//!
//! Two forms, as in AWS: `$request.body.PATH` (the whole expression is one
//! value of the JSON message), or text with `${request.body.PATH}` parts
//! joined with literal text (`${request.body.service}/${request.body.action}`).
//! PATH is a definite JSONPath (names and indices: `action`, `a.b[0]`,
//! `['x y']`) read with the template engine's parser, so the admin API
//! accepts exactly what nodes evaluate.
//!
//! A message that is not JSON, or lacks a value, selects nothing: the
//! caller sends it to `$default`.

use crate::template::jsonpath::{JsonPath, Selected};
use crate::template::{Value, parse_json_counting};

const BODY: &str = "request.body.";

/// A parsed route selection expression.
#[derive(Debug, Clone)]
pub struct RouteSelection {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Literal(Box<str>),
    Body(JsonPath),
}

impl RouteSelection {
    /// Parses an expression; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<RouteSelection, String> {
        if text.is_empty() {
            return Err("a WEBSOCKET API needs one, e.g. $request.body.action".into());
        }
        if text.len() > 256 {
            return Err("longer than 256 characters".into());
        }
        if let Some(path) = text
            .strip_prefix('$')
            .and_then(|rest| rest.strip_prefix(BODY))
            .filter(|_| !text.contains("${"))
        {
            return Ok(RouteSelection {
                parts: vec![Part::Body(body_path(path)?)],
            });
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            if at > 0 {
                parts.push(Part::Literal(rest[..at].into()));
            }
            let Some(inner) = rest[at..].strip_prefix("${") else {
                return Err(format!(
                    "'$' at '{}' must start $request.body.PATH (the whole expression) or ${{request.body.PATH}}",
                    &rest[at..]
                ));
            };
            let Some(end) = inner.find('}') else {
                return Err(format!("'${{{inner}' is not closed with '}}'"));
            };
            let Some(path) = inner[..end].strip_prefix(BODY) else {
                return Err(format!(
                    "'${{{}}}': only ${{request.body.PATH}} values can select a route",
                    &inner[..end]
                ));
            };
            parts.push(Part::Body(body_path(path)?));
            rest = &inner[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.into()));
        }
        if !parts.iter().any(|p| matches!(p, Part::Body(_))) {
            return Err("names no value of the message; use $request.body.PATH".into());
        }
        Ok(RouteSelection { parts })
    }

    /// The route key `message` selects, or `None` when it is not a JSON
    /// document or lacks a value the expression names (the `$default`
    /// route's messages). Strings are taken as they are; numbers and
    /// booleans as their JSON text; objects, arrays and null select nothing.
    pub fn select(&self, message: &[u8]) -> Option<String> {
        let root = parse_json_counting(message, &mut 0).ok()?;
        let mut key = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => key.push_str(text),
                Part::Body(path) => push_selected(&mut key, path, &root)?,
            }
        }
        Some(key)
    }
}

/// Appends the value `path` selects in `root` to a key: strings as they
/// are, numbers and booleans as their JSON text; None (the key selects
/// nothing) for a missing value, objects, arrays and null. Route and
/// template selection read message values alike.
pub(crate) fn push_selected(key: &mut String, path: &JsonPath, root: &Value) -> Option<()> {
    let Selected::One(Some(value)) = path.select(root, &mut 0) else {
        return None;
    };
    match &value {
        Value::String(s) => key.push_str(s),
        Value::Int(i) => key.push_str(&i.to_string()),
        Value::Float(f) => key.push_str(&f.to_string()),
        Value::Bool(b) => key.push_str(if *b { "true" } else { "false" }),
        Value::Null | Value::List(_) | Value::Map(_) => return None,
    }
    Some(())
}

pub(crate) fn body_path(path: &str) -> Result<JsonPath, String> {
    if path.is_empty() {
        return Err("$request.body. needs a path, e.g. $request.body.action".into());
    }
    if path.starts_with('.') {
        // The parser reads a leading '.' as a child step; the expression
        // `$request.body..x` would name `x`, which AWS refuses.
        return Err(format!("body path '{path}' starts with '.'"));
    }
    let parsed = JsonPath::parse(path).map_err(|e| format!("body path '{path}': {e}"))?;
    if !parsed.is_definite() {
        return Err(format!(
            "body path '{path}' must name one value (names and indices only)"
        ));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select(expr: &str, message: &str) -> Option<String> {
        RouteSelection::parse(expr)
            .unwrap()
            .select(message.as_bytes())
    }

    #[test]
    fn whole_expression_selects_one_value() {
        let m = r#"{"action":"sendMessage","n":7,"ok":true,"a":{"b":["x","y"]}}"#;
        assert_eq!(
            select("$request.body.action", m).as_deref(),
            Some("sendMessage")
        );
        assert_eq!(select("$request.body.n", m).as_deref(), Some("7"));
        assert_eq!(select("$request.body.ok", m).as_deref(), Some("true"));
        assert_eq!(select("$request.body.a.b[1]", m).as_deref(), Some("y"));
        assert_eq!(
            select("$request.body.['action']", m).as_deref(),
            Some("sendMessage")
        );
    }

    #[test]
    fn templates_join_values_and_text() {
        let m = r#"{"service":"chat","action":"join"}"#;
        assert_eq!(
            select("${request.body.service}/${request.body.action}", m).as_deref(),
            Some("chat/join")
        );
        assert_eq!(
            select("v1-${request.body.action}", m).as_deref(),
            Some("v1-join")
        );
    }

    #[test]
    fn messages_without_the_value_select_nothing() {
        for m in [
            "not json",
            "",
            "{}",
            r#"{"action":null}"#,
            r#"{"action":{}}"#,
            r#"{"action":[1]}"#,
            "[1,2]",
        ] {
            assert_eq!(select("$request.body.action", m), None, "{m}");
        }
        assert_eq!(
            select("${request.body.a}-${request.body.b}", r#"{"a":"x"}"#),
            None
        );
    }

    #[test]
    fn malformed_expressions_are_refused_with_a_reason() {
        for bad in [
            "",
            "action",
            "$request.body.",
            "$request.header.action",
            "${request.header.x}",
            "${request.body.action",
            "$context.routeKey",
            "$request.body.items[*]",
            "$request.body..action",
            "x$y",
            "$request.body['action']",
        ] {
            let err = RouteSelection::parse(bad).unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
        assert!(RouteSelection::parse(&format!("$request.body.{}", "a".repeat(300))).is_err());
    }
}
