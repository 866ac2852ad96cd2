//! WebSocket APIs' template selection expressions (AWS's
//! `Integration.TemplateSelectionExpression` and
//! `IntegrationResponse.TemplateSelectionExpression`): what picks the
//! mapping template of one event, from the keys of `request_templates` or
//! of an integration response's `response_templates`.
//!
//! As AWS writes them: static text (`\$default` is the key `$default`, a
//! `\` escaping the `$`), or `${…}` values joined with text. Values are
//! `request.body.PATH` (the client's message, a definite JSONPath read as
//! route selection reads it; `$request.body.PATH` alone is the same) on
//! both sides, and on the response side `integration.response.statuscode`,
//! `integration.response.header.NAME` and
//! `integration.response.multivalueheader.NAME` (every value,
//! comma-joined). A value that is missing selects nothing: the caller then
//! takes the `$default` template, as AWS's catch-all.

use crate::route_selection::{body_path, push_selected};
use crate::template::jsonpath::JsonPath;
use crate::template::parse_json_counting;
use std::borrow::Cow;

/// The catch-all key of a template map.
pub const DEFAULT_KEY: &str = "$default";
/// Longest expression, in bytes.
pub const MAX_EXPRESSION_BYTES: usize = 256;

/// Which expression is parsed: what it may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// An integration's: the message only.
    Request,
    /// An integration response's: the message and the backend's answer.
    Response,
}

/// A parsed template selection expression.
#[derive(Debug, Clone)]
pub struct TemplateSelection {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Literal(Box<str>),
    Body(JsonPath),
    StatusCode,
    /// Lower case; `true`: every value, comma-joined.
    Header(Box<str>, bool),
}

/// What an expression is evaluated over.
pub trait SelectionInput {
    /// The client's message.
    fn message(&self) -> &[u8];
    /// The backend's status (response side).
    fn status_code(&self) -> Option<u16> {
        None
    }
    /// The backend's header `name` (lower case): the last value, or every
    /// value comma-joined when `all` (response side).
    fn header(&self, _name: &str, _all: bool) -> Option<String> {
        None
    }
}

/// A message alone: what request-side expressions read.
pub struct Message<'a>(pub &'a [u8]);

impl SelectionInput for Message<'_> {
    fn message(&self) -> &[u8] {
        self.0
    }
}

impl TemplateSelection {
    /// Parses `text` for `side`; the error says what is wrong. An empty
    /// expression selects `$default`.
    pub fn parse(text: &str, side: Side) -> Result<TemplateSelection, String> {
        if text.len() > MAX_EXPRESSION_BYTES {
            return Err(format!("longer than {MAX_EXPRESSION_BYTES} characters"));
        }
        if text.is_empty() || text == DEFAULT_KEY {
            // `$default` unescaped, as consoles and templates often write
            // it, means the catch-all too.
            return Ok(Self::literal(DEFAULT_KEY));
        }
        if let Some(path) = text
            .strip_prefix("$request.body.")
            .filter(|_| !text.contains("${"))
        {
            return Ok(TemplateSelection {
                parts: vec![Part::Body(body_path(path)?)],
            });
        }
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(at) = rest.find(['$', '\\']) {
            literal.push_str(&rest[..at]);
            let tail = &rest[at..];
            if let Some(after) = tail.strip_prefix("\\$") {
                literal.push('$');
                rest = after;
                continue;
            }
            if let Some(after) = tail.strip_prefix('\\') {
                literal.push('\\');
                rest = after;
                continue;
            }
            let Some(inner) = tail.strip_prefix("${") else {
                return Err(format!(
                    "'$' at '{tail}' must start a ${{…}} value, or be escaped as '\\$' (e.g. \\$default)"
                ));
            };
            let Some(end) = inner.find('}') else {
                return Err(format!("'${{{inner}' is not closed with '}}'"));
            };
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal).into()));
            }
            parts.push(variable(&inner[..end], side)?);
            rest = &inner[end + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal.into()));
        }
        Ok(TemplateSelection { parts })
    }

    fn literal(text: &str) -> TemplateSelection {
        TemplateSelection {
            parts: vec![Part::Literal(text.into())],
        }
    }

    /// The key `input` selects; None when a value it names is missing (the
    /// message is not JSON or lacks it, the answer lacks the header).
    /// Strings are taken as they are, numbers and booleans as their JSON
    /// text; objects, arrays and null select nothing. The message is
    /// parsed only when a part reads it.
    pub fn select(&self, input: &dyn SelectionInput) -> Option<Cow<'_, str>> {
        // A static expression (`\$default`, the usual one) costs no copy.
        if let [Part::Literal(text)] = &self.parts[..] {
            return Some(Cow::Borrowed(text));
        }
        let mut root = None;
        let mut key = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => key.push_str(text),
                Part::StatusCode => key.push_str(&input.status_code()?.to_string()),
                Part::Header(name, all) => key.push_str(&input.header(name, *all)?),
                Part::Body(path) => {
                    if root.is_none() {
                        root = Some(parse_json_counting(input.message(), &mut 0).ok()?);
                    }
                    push_selected(&mut key, path, root.as_ref()?)?;
                }
            }
        }
        Some(Cow::Owned(key))
    }
}

fn variable(name: &str, side: Side) -> Result<Part, String> {
    if let Some(path) = name.strip_prefix("request.body.") {
        return Ok(Part::Body(body_path(path)?));
    }
    let response = |part: Part| match side {
        Side::Response => Ok(part),
        Side::Request => Err(format!(
            "'${{{name}}}' is the integration's answer, which an integration response's template_selection_expression reads; a request's can read ${{request.body.PATH}}"
        )),
    };
    if name == "integration.response.statuscode" {
        return response(Part::StatusCode);
    }
    for (prefix, all) in [
        ("integration.response.header.", false),
        ("integration.response.multivalueheader.", true),
    ] {
        if let Some(header) = name.strip_prefix(prefix) {
            if !crate::rules::http::is_header_name(header) {
                return Err(format!("'{header}' is not a header name"));
            }
            return response(Part::Header(header.to_ascii_lowercase().into(), all));
        }
    }
    let allowed = match side {
        Side::Request => "${request.body.PATH}",
        Side::Response => {
            "${request.body.PATH}, ${integration.response.statuscode}, ${integration.response.header.NAME} or ${integration.response.multivalueheader.NAME}"
        }
    };
    Err(format!(
        "'${{{name}}}' cannot select a template; use {allowed}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Input<'a> {
        message: &'a str,
        status: Option<u16>,
        headers: &'a [(&'a str, &'a str)],
    }

    impl SelectionInput for Input<'_> {
        fn message(&self) -> &[u8] {
            self.message.as_bytes()
        }
        fn status_code(&self) -> Option<u16> {
            self.status
        }
        fn header(&self, name: &str, all: bool) -> Option<String> {
            let values: Vec<&str> = self
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
                .collect();
            match (values.is_empty(), all) {
                (true, _) => None,
                (false, true) => Some(values.join(",")),
                (false, false) => values.last().map(|v| v.to_string()),
            }
        }
    }

    fn select(expr: &str, side: Side, message: &str) -> Option<String> {
        let input = Input {
            message,
            status: Some(404),
            headers: &[("X-Kind", "a"), ("x-kind", "b")],
        };
        TemplateSelection::parse(expr, side)
            .unwrap()
            .select(&input)
            .map(Cow::into_owned)
    }

    #[test]
    fn static_expressions_and_the_escaped_default() {
        for (expr, key) in [
            (r"\$default", "$default"),
            ("$default", "$default"),
            ("", "$default"),
            ("application/json", "application/json"),
            (r"v1-\$x", "v1-$x"),
            (r"a\b", r"a\b"),
        ] {
            assert_eq!(
                select(expr, Side::Request, "not json").as_deref(),
                Some(key),
                "{expr}"
            );
        }
    }

    #[test]
    fn message_values_select_on_both_sides() {
        let m = r#"{"action":"join","v":2,"a":{"b":[true]}}"#;
        for side in [Side::Request, Side::Response] {
            assert_eq!(
                select("${request.body.action}", side, m).as_deref(),
                Some("join")
            );
            assert_eq!(
                select("$request.body.action", side, m).as_deref(),
                Some("join")
            );
            assert_eq!(
                select("v${request.body.v}-${request.body.a.b[0]}", side, m).as_deref(),
                Some("v2-true")
            );
            assert_eq!(select("${request.body.missing}", side, m), None);
            assert_eq!(select("${request.body.a}", side, m), None);
            assert_eq!(select("${request.body.action}", side, "not json"), None);
        }
    }

    #[test]
    fn answers_select_on_the_response_side_only() {
        let m = "{}";
        assert_eq!(
            select("${integration.response.statuscode}", Side::Response, m).as_deref(),
            Some("404")
        );
        assert_eq!(
            select("${integration.response.header.X-Kind}", Side::Response, m).as_deref(),
            Some("b")
        );
        assert_eq!(
            select(
                "k-${integration.response.multivalueheader.x-kind}",
                Side::Response,
                m
            )
            .as_deref(),
            Some("k-a,b")
        );
        assert_eq!(
            select("${integration.response.header.x-none}", Side::Response, m),
            None
        );
        for expr in [
            "${integration.response.statuscode}",
            "${integration.response.header.x}",
        ] {
            let err = TemplateSelection::parse(expr, Side::Request).unwrap_err();
            assert!(err.contains("integration response"), "{err}");
        }
    }

    #[test]
    fn malformed_expressions_are_refused_with_a_reason() {
        for bad in [
            "$request.body.",
            "${request.body.action",
            "${context.routeKey}",
            "${request.header.x}",
            "x$y",
            "${request.body.items[*]}",
            "${request.body..a}",
            "${integration.response.header.bad name}",
        ] {
            let err = TemplateSelection::parse(bad, Side::Response).unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
        assert!(TemplateSelection::parse(&"a".repeat(300), Side::Request).is_err());
    }
}
