//! Mapping templates in AWS API Gateway's dialect of Apache Velocity (VTL),
//! the language AWS users write request and response mappings in.
//!
//! No maintained Rust crate implements this dialect, so it lives here, pure
//! and without I/O, for both planes: the control plane calls
//! [`Template::parse`] to refuse a template that does not parse (with line,
//! column and what was expected), the data plane parses each template once
//! per snapshot and calls [`Template::render`] per request.
//!
//! ```text
//! #set($body = $input.path('$'))
//! {
//!   "user": "$util.escapeJavaScript($body.name)",
//!   "ip": "$context.identity.sourceIp",
//!   "items": [
//! #foreach($item in $body.items)
//!     {"id": $item.id}#if($foreach.hasNext),#end
//! #end
//!   ]
//! }
//! ```
//!
//! What a template sees comes through [`Variables`]: the body (parsed as
//! JSON lazily, once per render, only if `$input.json`/`$input.path` are
//! used), the request's parameters through [`Params`], `$context` through
//! [`ContextVars`] and `$stageVariables` through [`StageVariables`]. These
//! are borrowed trait objects so the data plane renders straight from its
//! request without copying it into maps first.
//!
//! Semantics (Velocity 1.7, as AWS runs it; see the module docs of
//! [`parser`] for whitespace and escapes, [`methods`] for Java methods,
//! [`jsonpath`] for paths, [`util`] for `$util`):
//! - A reference whose value is null renders as its own source text
//!   (`$missing`), except quiet ones (`$!x`) and AWS's objects (`$input...`,
//!   `$context...`, `$stageVariables...`, `$util...`), which render nothing
//!   as AWS users expect of `"$context.authorizer.claims.email"`.
//! - `#set($x = <null>)` leaves `$x` unchanged (Velocity 1.7).
//! - Only null and false are false in `#if` (an empty string is true).
//! - `#set($context.requestOverride.header.X = ..)` (and `.querystring.X`,
//!   `.path.X`, `$context.responseOverride.status`,
//!   `$context.responseOverride.header.X`) land in [`Overrides`], not in
//!   the output; no other part of `$context` can be set.
//! - `$input.params('x')` looks in the path, then the query string, then
//!   the headers, and is an empty string when none has it.
//! - `$input.json(p)` of nothing is an empty string; `$input.path(p)` null.
//! - `$input.json`/`$input.path` on a body that is not JSON stop the render
//!   ([`RenderError::BodyNotJson`]); an empty body reads as `{}`.
//!
//! Bounds: see [`Limits`] and [`eval`]'s module docs; the parser refuses
//! nesting deeper than [`parser::MAX_DEPTH`].

mod ast;
mod error;
mod eval;
mod json;
pub mod jsonpath;
pub mod methods;
pub mod parser;
pub mod util;
mod value;

#[cfg(test)]
mod tests;

pub use error::{ParseError, RenderError};
pub use json::{
    escape_string_into as escape_json_string_into, parse_counting as parse_json_counting,
    write_within as write_json_within,
};
pub use value::{Map, Value};

use crate::mapping_expr::Location;
use std::collections::{BTreeMap, HashMap};

/// A parsed template: immutable, `Send + Sync`, cheap to share in an `Arc`.
#[derive(Debug)]
pub struct Template {
    nodes: Vec<ast::Node>,
    locals: u32,
    mutates: bool,
    text_len: usize,
}

impl Template {
    /// Parses `source`, or says where and why it is not a valid template.
    pub fn parse(source: &str) -> Result<Template, ParseError> {
        let parser::Parsed {
            nodes,
            locals,
            mutates,
            text_len,
        } = parser::parse(source)?;
        Ok(Template {
            nodes,
            locals,
            mutates,
            text_len,
        })
    }

    /// Renders the template for one request.
    pub fn render(&self, vars: &Variables<'_>, limits: &Limits) -> Result<Rendered, RenderError> {
        let mut renderer = eval::Renderer::new(vars, limits, self.locals, !self.mutates);
        let capacity = (self.text_len + vars.body.len()).min(limits.max_output_bytes);
        let mut output = String::with_capacity(capacity);
        renderer.render(&self.nodes, &mut output).map_err(|e| *e)?;
        Ok(Rendered {
            output,
            overrides: renderer.overrides,
        })
    }
}

/// A header an override `#set` names in the template's text
/// (`$context.requestOverride.header.Host`,
/// `$context.responseOverride.header['Content-Length']`), and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideHeader<'t> {
    pub name: &'t str,
    /// `responseOverride` (else `requestOverride`).
    pub response: bool,
    pub line: u32,
    pub column: u32,
}

impl Template {
    /// Every header an override names literally, in source order: what the
    /// admin API checks against the headers the gateway owns. A name
    /// computed at render time (`header[$name]`) is not known here; the
    /// node drops a reserved one when it applies the override.
    pub fn override_headers(&self) -> Vec<OverrideHeader<'_>> {
        fn literal(key: &ast::Key) -> Option<&str> {
            match key {
                ast::Key::Name(n) | ast::Key::Expr(ast::Expr::Str(n)) => Some(n),
                ast::Key::Expr(ast::Expr::Interpolated(nodes)) => match nodes.as_slice() {
                    [ast::Node::Text(n)] => Some(n),
                    _ => None,
                },
                ast::Key::Expr(_) => None,
            }
        }
        fn walk<'t>(nodes: &'t [ast::Node], out: &mut Vec<OverrideHeader<'t>>) {
            for node in nodes {
                match node {
                    ast::Node::Set {
                        target: ast::Target::Override(o),
                        pos,
                        ..
                    } => {
                        let (key, response) = match o {
                            ast::Override::RequestHeader(k) => (k, false),
                            ast::Override::ResponseHeader(k) => (k, true),
                            _ => continue,
                        };
                        if let Some(name) = literal(key) {
                            out.push(OverrideHeader {
                                name,
                                response,
                                line: pos.line,
                                column: pos.column,
                            });
                        }
                    }
                    ast::Node::If {
                        branches,
                        otherwise,
                    } => {
                        for (_, body) in branches {
                            walk(body, out);
                        }
                        walk(otherwise, out);
                    }
                    ast::Node::Foreach { body, .. } => walk(body, out),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.nodes, &mut out);
        out
    }
}

/// How much one render may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest output, and the largest string built on the way.
    pub max_output_bytes: usize,
    /// Steps: one per node, expression, loop iteration and method call, and
    /// one per 64 bytes or per value of data-sized work.
    pub max_steps: u64,
}

impl Default for Limits {
    /// 1 MiB of output (AWS's limit on mapping templates' output is the
    /// payload limit) and a million steps (a few milliseconds of work).
    fn default() -> Self {
        Limits {
            max_output_bytes: 1 << 20,
            max_steps: 1_000_000,
        }
    }
}

/// What a template sees of its request.
pub struct Variables<'a> {
    /// `$input.body`, read as UTF-8 (invalid bytes become U+FFFD).
    pub body: &'a [u8],
    pub params: &'a dyn Params,
    pub context: &'a dyn ContextVars,
    pub stage_variables: &'a dyn StageVariables,
}

/// The method request's parameters, for `$input.params(..)`.
pub trait Params {
    fn path(&self, name: &str) -> Option<&str>;
    fn querystring(&self, name: &str) -> Option<&str>;
    /// Names match without regard to case.
    fn header(&self, name: &str) -> Option<&str>;
    /// Calls `f(name, value)` for each parameter of `location`, in order;
    /// used only when a template calls `$input.params()`.
    fn each(&self, location: Location, f: &mut dyn FnMut(&str, &str));
}

/// `$context`: `get(&["identity", "sourceIp"])` for
/// `$context.identity.sourceIp`. The renderer passes the whole property
/// chain it sees (`$context.authorizer.claims.sub` asks for
/// `["authorizer", "claims", "sub"]`); answer `None` for what does not
/// exist, or a [`Value::map`] for a prefix (`["authorizer", "claims"]`)
/// when templates may call methods on it.
pub trait ContextVars {
    fn get(&self, path: &[&str]) -> Option<Value>;
}

/// `$stageVariables.name`.
pub trait StageVariables {
    fn get(&self, name: &str) -> Option<&str>;
}

/// A rendered template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub output: String,
    pub overrides: Overrides,
}

/// What the template set through `$context.requestOverride` and
/// `$context.responseOverride`, in the order it first set each name (a name
/// set again keeps its place and takes the new value; header names compare
/// without regard to case).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub request_headers: Vec<(String, String)>,
    pub request_querystring: Vec<(String, String)>,
    pub request_path: Vec<(String, String)>,
    pub response_status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
}

impl Overrides {
    pub fn is_empty(&self) -> bool {
        *self == Overrides::default()
    }
}

/// No parameters, no context, no stage variables: for templates rendered
/// outside a request (gateway responses, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct Empty;

impl Params for Empty {
    fn path(&self, _: &str) -> Option<&str> {
        None
    }
    fn querystring(&self, _: &str) -> Option<&str> {
        None
    }
    fn header(&self, _: &str) -> Option<&str> {
        None
    }
    fn each(&self, _: Location, _: &mut dyn FnMut(&str, &str)) {}
}

impl ContextVars for Empty {
    fn get(&self, _: &[&str]) -> Option<Value> {
        None
    }
}

impl StageVariables for Empty {
    fn get(&self, _: &str) -> Option<&str> {
        None
    }
}

/// Parameters held in vectors of `(name, value)`: for tests, tools and
/// callers that have no request of their own to borrow from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParamList {
    pub path: Vec<(String, String)>,
    pub querystring: Vec<(String, String)>,
    pub header: Vec<(String, String)>,
}

impl Params for ParamList {
    fn path(&self, name: &str) -> Option<&str> {
        self.path
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn querystring(&self, name: &str) -> Option<&str> {
        self.querystring
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.header
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn each(&self, location: Location, f: &mut dyn FnMut(&str, &str)) {
        let list = match location {
            Location::Path => &self.path,
            Location::QueryString => &self.querystring,
            Location::Header => &self.header,
        };
        for (n, v) in list {
            f(n, v);
        }
    }
}

/// A JSON document as `$context`: `["identity", "sourceIp"]` walks objects.
impl ContextVars for serde_json::Value {
    fn get(&self, path: &[&str]) -> Option<Value> {
        let mut v = self;
        for name in path {
            v = v.as_object()?.get(*name)?;
        }
        let mut work = 0;
        Some(Value::from_json(v, &mut work))
    }
}

impl StageVariables for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

impl StageVariables for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        BTreeMap::get(self, name).map(String::as_str)
    }
}

#[cfg(test)]
mod api_tests {
    use super::*;

    #[test]
    fn templates_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Template>();
        check::<Rendered>();
    }

    #[test]
    fn parse_errors_read_line_column_reason() {
        let e = Template::parse("a\n  #if(").unwrap_err();
        assert_eq!((e.line, e.column), (2, 7));
        assert!(
            e.to_string()
                .starts_with("line 2, column 7: expected a value"),
            "{e}"
        );
    }
}
