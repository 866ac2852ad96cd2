//! Parameter-mapping expressions, as AWS writes them, read into typed values
//! that both planes use: the control plane refuses what does not parse (with
//! what was expected), and a node's compiler turns the same values into its
//! mapping steps, so the two never read an expression differently.
//!
//! Two dialects:
//! - REST APIs (AWS's `requestParameters` / `responseParameters`): a
//!   [`Target`] such as `integration.request.header.x-id` or
//!   `method.response.header.Location` is set from a [`Source`] such as
//!   `method.request.querystring.id`, `integration.response.body.$.id`,
//!   `context.requestId` or a quoted constant `'value'`. Which sources a
//!   target may use depends on where the mapping is ([`Use`]).
//! - HTTP APIs (parameter mapping and the request parameters of AWS service
//!   subtypes): values are text with `$request.header.NAME`,
//!   `$request.querystring.NAME`, `$request.path.NAME`, `$request.body`,
//!   `$request.body.NAME…`, `$context.NAME` and `$stageVariables.NAME`
//!   references in it ([`HttpValue`]), and mapping keys carry AWS's
//!   `append:`, `overwrite:` or `remove:` action ([`HttpTarget`]).
//!
//! JSONPath text (`method.request.body.JSONPATH`,
//! `integration.response.body.JSONPATH`, `$request.body.NAME…`) is kept as
//! text in its `$`-rooted form (`$.a.b[0]`): the template engine evaluates
//! it; here only its shape is checked.

use crate::template::jsonpath::JsonPath;
use std::fmt;

/// Longest name (header, query string, path, stage variable, context
/// variable) an expression may carry.
pub const MAX_NAME_BYTES: usize = 256;

/// Why an expression does not parse: the text and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' {reason}")]
pub struct ParseError {
    pub text: String,
    pub reason: String,
}

impl ParseError {
    fn new(text: &str, reason: impl Into<String>) -> Self {
        Self {
            text: text.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Where a request parameter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Location {
    Header,
    QueryString,
    Path,
}

impl Location {
    /// AWS's word for it, as in `method.request.querystring.NAME`.
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Header => "header",
            Location::QueryString => "querystring",
            Location::Path => "path",
        }
    }

    /// Whether parameter names `a` and `b` are the same here: header names
    /// without regard to case, query and path names exactly.
    pub fn same_name(self, a: &str, b: &str) -> bool {
        match self {
            Location::Header => a.eq_ignore_ascii_case(b),
            Location::QueryString | Location::Path => a == b,
        }
    }

    fn parse(word: &str) -> Option<Self> {
        match word {
            "header" => Some(Location::Header),
            "querystring" => Some(Location::QueryString),
            "path" => Some(Location::Path),
            _ => None,
        }
    }
}

/// What a REST mapping sets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// `integration.request.header|querystring|path.NAME`: a parameter of
    /// the request to the backend.
    IntegrationRequest { location: Location, name: String },
    /// `method.response.header.NAME`: a header of the method's answer.
    MethodResponseHeader(String),
    /// `gatewayresponse.header.NAME`: a header of a gateway response.
    GatewayResponseHeader(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::IntegrationRequest { location, name } => {
                write!(f, "integration.request.{}.{name}", location.as_str())
            }
            Target::MethodResponseHeader(name) => write!(f, "method.response.header.{name}"),
            Target::GatewayResponseHeader(name) => write!(f, "gatewayresponse.header.{name}"),
        }
    }
}

/// Where a REST mapping's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// `method.request.header|querystring|path.NAME`: the client's value
    /// (the last one when repeated).
    MethodRequest { location: Location, name: String },
    /// `method.request.multivalueheader|multivaluequerystring.NAME`: every
    /// value, comma-joined (only Header or QueryString).
    MethodRequestMultiValue { location: Location, name: String },
    /// `method.request.body`: the whole request body.
    MethodRequestBody,
    /// `method.request.body.JSONPATH`: a field of a JSON request body; the
    /// path in its `$`-rooted form.
    MethodRequestBodyPath(String),
    /// `integration.response.header.NAME`.
    IntegrationResponseHeader(String),
    /// `integration.response.multivalueheader.NAME`.
    IntegrationResponseMultiValueHeader(String),
    /// `integration.response.body`.
    IntegrationResponseBody,
    /// `integration.response.body.JSONPATH`, `$`-rooted.
    IntegrationResponseBodyPath(String),
    /// `stageVariables.NAME`.
    StageVariable(String),
    /// `context.NAME` (may contain dots: `context.identity.sourceIp`).
    Context(String),
    /// `'value'`: the text between the quotes.
    Constant(String),
}

impl Source {
    /// Whether the value is taken from the method request (and so needs the
    /// parameter declared on the method, as AWS requires).
    pub fn method_request_parameter(&self) -> Option<(Location, &str)> {
        match self {
            Source::MethodRequest { location, name }
            | Source::MethodRequestMultiValue { location, name } => Some((*location, name)),
            _ => None,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::MethodRequest { location, name } => {
                write!(f, "method.request.{}.{name}", location.as_str())
            }
            Source::MethodRequestMultiValue { location, name } => {
                write!(f, "method.request.multivalue{}.{name}", location.as_str())
            }
            Source::MethodRequestBody => f.write_str("method.request.body"),
            Source::MethodRequestBodyPath(path) => {
                write!(f, "method.request.body.{}", unroot(path))
            }
            Source::IntegrationResponseHeader(name) => {
                write!(f, "integration.response.header.{name}")
            }
            Source::IntegrationResponseMultiValueHeader(name) => {
                write!(f, "integration.response.multivalueheader.{name}")
            }
            Source::IntegrationResponseBody => f.write_str("integration.response.body"),
            Source::IntegrationResponseBodyPath(path) => {
                write!(f, "integration.response.body.{}", unroot(path))
            }
            Source::StageVariable(name) => write!(f, "stageVariables.{name}"),
            Source::Context(name) => write!(f, "context.{name}"),
            Source::Constant(value) => write!(f, "'{value}'"),
        }
    }
}

/// Where a REST mapping is written: each place allows its own targets and
/// sources, as AWS does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Integration.request_parameters: `integration.request.*` from the
    /// method request, stage variables, context or constants.
    IntegrationRequest,
    /// IntegrationResponse.response_parameters: `method.response.header.*`
    /// from the integration response, stage variables, context or constants.
    IntegrationResponse,
    /// GatewayResponse.response_parameters: `gatewayresponse.header.*` from
    /// the method request, stage variables, context or constants.
    GatewayResponse,
}

impl Use {
    fn expected_target(self) -> &'static str {
        match self {
            Use::IntegrationRequest => "integration.request.header|querystring|path.NAME",
            Use::IntegrationResponse => "method.response.header.NAME",
            Use::GatewayResponse => "gatewayresponse.header.NAME",
        }
    }

    fn expected_sources(self) -> &'static str {
        match self {
            Use::IntegrationRequest => {
                "method.request.header|querystring|path.NAME, \
                 method.request.multivalueheader|multivaluequerystring.NAME, \
                 method.request.body, method.request.body.JSONPATH, stageVariables.NAME, \
                 context.NAME or a quoted constant ('value')"
            }
            Use::IntegrationResponse => {
                "integration.response.header.NAME, integration.response.multivalueheader.NAME, \
                 integration.response.body, integration.response.body.JSONPATH, \
                 stageVariables.NAME, context.NAME or a quoted constant ('value')"
            }
            Use::GatewayResponse => {
                "method.request.header|querystring|path.NAME, \
                 method.request.multivalueheader|multivaluequerystring.NAME, \
                 stageVariables.NAME, context.NAME or a quoted constant ('value')"
            }
        }
    }

    fn allows_target(self, target: &Target) -> bool {
        matches!(
            (self, target),
            (Use::IntegrationRequest, Target::IntegrationRequest { .. })
                | (Use::IntegrationResponse, Target::MethodResponseHeader(_))
                | (Use::GatewayResponse, Target::GatewayResponseHeader(_))
        )
    }

    fn allows_source(self, source: &Source) -> bool {
        match source {
            Source::StageVariable(_) | Source::Context(_) | Source::Constant(_) => true,
            Source::MethodRequest { .. } | Source::MethodRequestMultiValue { .. } => {
                matches!(self, Use::IntegrationRequest | Use::GatewayResponse)
            }
            Source::MethodRequestBody | Source::MethodRequestBodyPath(_) => {
                self == Use::IntegrationRequest
            }
            Source::IntegrationResponseHeader(_)
            | Source::IntegrationResponseMultiValueHeader(_)
            | Source::IntegrationResponseBody
            | Source::IntegrationResponseBodyPath(_) => self == Use::IntegrationResponse,
        }
    }
}

/// Parses a mapping key for `usage`.
pub fn parse_target_for(usage: Use, text: &str) -> Result<Target, ParseError> {
    let target = parse_target(text).map_err(|e| ParseError {
        reason: format!("{}; expected {}", e.reason, usage.expected_target()),
        ..e
    })?;
    if !usage.allows_target(&target) {
        return Err(ParseError::new(
            text,
            format!("cannot be set here; expected {}", usage.expected_target()),
        ));
    }
    Ok(target)
}

/// Parses a mapping value for `usage`.
pub fn parse_source_for(usage: Use, text: &str) -> Result<Source, ParseError> {
    let source = parse_source(text).map_err(|e| ParseError {
        reason: format!("{}; expected {}", e.reason, usage.expected_sources()),
        ..e
    })?;
    if !usage.allows_source(&source) {
        return Err(ParseError::new(
            text,
            format!(
                "is not available here; expected {}",
                usage.expected_sources()
            ),
        ));
    }
    Ok(source)
}

/// Parses any REST mapping target.
pub fn parse_target(text: &str) -> Result<Target, ParseError> {
    if let Some(rest) = text.strip_prefix("integration.request.") {
        let (word, name) = split_word(rest);
        let location = Location::parse(word).ok_or_else(|| {
            ParseError::new(
                text,
                format!("names '{word}', which is not header, querystring or path"),
            )
        })?;
        let name = match location {
            Location::Header => target_header_name(text, name)?,
            _ => parameter_name(text, location, name)?,
        };
        return Ok(Target::IntegrationRequest { location, name });
    }
    if let Some(rest) = text.strip_prefix("method.response.header.") {
        return Ok(Target::MethodResponseHeader(target_header_name(
            text, rest,
        )?));
    }
    if let Some(rest) = text.strip_prefix("gatewayresponse.header.") {
        return Ok(Target::GatewayResponseHeader(target_header_name(
            text, rest,
        )?));
    }
    Err(ParseError::new(text, "is not a mapping target"))
}

/// Parses any REST mapping source.
pub fn parse_source(text: &str) -> Result<Source, ParseError> {
    if text.len() >= 2 && text.starts_with('\'') && text.ends_with('\'') {
        return Ok(Source::Constant(text[1..text.len() - 1].to_owned()));
    }
    if text.starts_with('\'') || text.ends_with('\'') {
        return Err(ParseError::new(
            text,
            "is an unterminated constant: put the value between single quotes",
        ));
    }
    if text == "method.request.body" {
        return Ok(Source::MethodRequestBody);
    }
    if let Some(path) = text.strip_prefix("method.request.body.") {
        return Ok(Source::MethodRequestBodyPath(json_path(text, path)?));
    }
    if let Some(rest) = text.strip_prefix("method.request.") {
        let (word, name) = split_word(rest);
        if let Some(location) = Location::parse(word) {
            let name = parameter_name(text, location, name)?;
            return Ok(Source::MethodRequest { location, name });
        }
        let location = match word {
            "multivalueheader" => Location::Header,
            "multivaluequerystring" => Location::QueryString,
            _ => {
                return Err(ParseError::new(
                    text,
                    format!(
                        "names '{word}', which is not header, querystring, path, \
                         multivalueheader, multivaluequerystring or body"
                    ),
                ));
            }
        };
        let name = parameter_name(text, location, name)?;
        return Ok(Source::MethodRequestMultiValue { location, name });
    }
    if text == "integration.response.body" {
        return Ok(Source::IntegrationResponseBody);
    }
    if let Some(path) = text.strip_prefix("integration.response.body.") {
        return Ok(Source::IntegrationResponseBodyPath(json_path(text, path)?));
    }
    if let Some(rest) = text.strip_prefix("integration.response.header.") {
        return Ok(Source::IntegrationResponseHeader(header_name(text, rest)?));
    }
    if let Some(rest) = text.strip_prefix("integration.response.multivalueheader.") {
        return Ok(Source::IntegrationResponseMultiValueHeader(header_name(
            text, rest,
        )?));
    }
    if let Some(rest) = text.strip_prefix("stageVariables.") {
        return Ok(Source::StageVariable(variable_name(text, rest, false)?));
    }
    if let Some(rest) = text.strip_prefix("context.") {
        return Ok(Source::Context(variable_name(text, rest, true)?));
    }
    Err(ParseError::new(text, "is not a mapping source"))
}

/// `header.rest` → ("header", "rest"); no dot: (all, "").
fn split_word(rest: &str) -> (&str, &str) {
    rest.split_once('.').unwrap_or((rest, ""))
}

fn parameter_name(text: &str, location: Location, name: &str) -> Result<String, ParseError> {
    match location {
        Location::Header => header_name(text, name),
        Location::QueryString => query_name(text, name),
        Location::Path => path_name(text, name),
    }
}

/// A header a mapping writes: a header name that is not one the gateway
/// must own ([`crate::rules::http::reserved_header`]).
fn target_header_name(text: &str, name: &str) -> Result<String, ParseError> {
    let name = header_name(text, name)?;
    match crate::rules::http::reserved_header(&name) {
        Some(reason) => Err(ParseError::new(text, reason)),
        None => Ok(name),
    }
}

/// A header name: an HTTP token.
fn header_name(text: &str, name: &str) -> Result<String, ParseError> {
    non_empty(text, name)?;
    if !crate::rules::http::is_token(name) {
        return Err(ParseError::new(
            text,
            format!(
                "has '{name}', which is not a header name (letters, digits and !#$%&'*+-.^_`|~)"
            ),
        ));
    }
    Ok(name.to_owned())
}

/// A query string name: visible ASCII without the characters that delimit
/// a query string.
fn query_name(text: &str, name: &str) -> Result<String, ParseError> {
    non_empty(text, name)?;
    if !name
        .bytes()
        .all(|b| b.is_ascii_graphic() && !b"&=#?'\"".contains(&b))
    {
        return Err(ParseError::new(
            text,
            format!(
                "has '{name}', which is not a query string name (visible characters except &=#?'\")"
            ),
        ));
    }
    Ok(name.to_owned())
}

/// A path parameter name, as in `{petId}`: letters, digits, `_` and `-`.
fn path_name(text: &str, name: &str) -> Result<String, ParseError> {
    non_empty(text, name)?;
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(ParseError::new(
            text,
            format!("has '{name}', which is not a path parameter name (letters, digits, _ and -)"),
        ));
    }
    Ok(name.to_owned())
}

/// A stage variable name (letters, digits, `_`) or a context variable
/// (the same, in dot-separated parts: `identity.sourceIp`).
fn variable_name(text: &str, name: &str, dotted: bool) -> Result<String, ParseError> {
    non_empty(text, name)?;
    let part_ok = |part: &str| {
        !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    let ok = if dotted {
        name.split('.').all(part_ok)
    } else {
        part_ok(name)
    };
    if !ok {
        return Err(ParseError::new(
            text,
            if dotted {
                format!(
                    "has '{name}', which is not a context variable (letters, digits and _ in dot-separated parts)"
                )
            } else {
                format!("has '{name}', which is not a stage variable name (letters, digits and _)")
            },
        ));
    }
    Ok(name.to_owned())
}

fn non_empty(text: &str, name: &str) -> Result<(), ParseError> {
    if name.is_empty() {
        return Err(ParseError::new(text, "needs a name after the last '.'"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(ParseError::new(
            text,
            format!("has a name longer than {MAX_NAME_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Checks a JSONPath written after `body.` (`a.b[0]`, `$.a.b`,
/// `['a b'].c`, `items[*].id`) with the parser the node evaluates it with
/// ([`JsonPath::parse`]), so what the admin API accepts is what runs, and
/// returns it `$`-rooted.
fn json_path(text: &str, path: &str) -> Result<String, ParseError> {
    let rooted = if path.starts_with('$') {
        path.to_owned()
    } else if path.starts_with('[') {
        format!("${path}")
    } else {
        format!("$.{path}")
    };
    if let Some(open) = rooted.rfind('[')
        && !rooted[open..].contains(']')
    {
        return Err(ParseError::new(
            text,
            format!("has a JSONPath '[' at byte {open} without ']'"),
        ));
    }
    JsonPath::parse(&rooted)
        .map_err(|reason| ParseError::new(text, format!("has a JSONPath that {reason}")))?;
    Ok(rooted)
}

/// `$.a.b` → `a.b`, `$['a']` → `['a']`: how AWS writes it after `body.`.
fn unroot(path: &str) -> &str {
    path.strip_prefix("$.")
        .or_else(|| path.strip_prefix('$'))
        .unwrap_or(path)
}

// ---------------------------------------------------------------------------
// HTTP APIs

/// What an HTTP API parameter mapping does to its target (AWS's prefixes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpAction {
    /// `append:`: add a value (a header's values, a query parameter's).
    Append,
    /// `overwrite:`: replace every value.
    Overwrite,
    /// `remove:`: drop it (the mapping's value must be empty).
    Remove,
}

impl HttpAction {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpAction::Append => "append",
            HttpAction::Overwrite => "overwrite",
            HttpAction::Remove => "remove",
        }
    }
}

/// What an HTTP API parameter mapping changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HttpTarget {
    /// `ACTION:header.NAME`.
    Header { action: HttpAction, name: String },
    /// `ACTION:querystring.NAME`.
    QueryString { action: HttpAction, name: String },
    /// `overwrite:path`: the whole path of the request to the backend.
    Path,
    /// `overwrite:statuscode` (response mappings only).
    StatusCode,
}

impl fmt::Display for HttpTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpTarget::Header { action, name } => write!(f, "{}:header.{name}", action.as_str()),
            HttpTarget::QueryString { action, name } => {
                write!(f, "{}:querystring.{name}", action.as_str())
            }
            HttpTarget::Path => f.write_str("overwrite:path"),
            HttpTarget::StatusCode => f.write_str("overwrite:statuscode"),
        }
    }
}

const HTTP_TARGETS: &str = "append|overwrite|remove:header.NAME, \
     append|overwrite|remove:querystring.NAME, overwrite:path or overwrite:statuscode";

/// Parses an HTTP API parameter mapping key.
pub fn parse_http_target(text: &str) -> Result<HttpTarget, ParseError> {
    let expected = |what: String| ParseError::new(text, format!("{what}; expected {HTTP_TARGETS}"));
    let (action, rest) = text
        .split_once(':')
        .ok_or_else(|| expected("has no append:, overwrite: or remove: prefix".into()))?;
    let action = match action {
        "append" => HttpAction::Append,
        "overwrite" => HttpAction::Overwrite,
        "remove" => HttpAction::Remove,
        other => return Err(expected(format!("has the unknown action '{other}'"))),
    };
    if rest == "path" || rest == "statuscode" {
        if action != HttpAction::Overwrite {
            return Err(expected(format!(
                "{rest} can only be overwritten, not {}ed",
                action.as_str().trim_end_matches('e')
            )));
        }
        return Ok(if rest == "path" {
            HttpTarget::Path
        } else {
            HttpTarget::StatusCode
        });
    }
    let (word, name) = split_word(rest);
    match word {
        "header" => Ok(HttpTarget::Header {
            action,
            name: target_header_name(text, name)?,
        }),
        "querystring" => Ok(HttpTarget::QueryString {
            action,
            name: query_name(text, name)?,
        }),
        other => Err(expected(format!(
            "names '{other}', which is not header, querystring, path or statuscode"
        ))),
    }
}

/// One piece of an HTTP API mapping value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HttpPart {
    Literal(String),
    /// `$request.header.NAME`.
    RequestHeader(String),
    /// `$request.querystring.NAME`.
    RequestQueryString(String),
    /// `$request.path.NAME`.
    RequestPathParameter(String),
    /// `$request.path`: the request's whole path.
    RequestPath,
    /// `$request.body`: the whole body.
    RequestBody,
    /// `$request.body.NAME…`: a field of a JSON body, `$`-rooted JSONPath.
    RequestBodyPath(String),
    /// `$context.NAME`.
    Context(String),
    /// `$stageVariables.NAME`.
    StageVariable(String),
    /// `$response.header.NAME` (response mappings).
    ResponseHeader(String),
    /// `$response.body` (response mappings).
    ResponseBody,
    /// `$response.body.NAME…` (response mappings), `$`-rooted JSONPath.
    ResponseBodyPath(String),
}

/// An HTTP API mapping value: literal text and references, in order.
/// References may be written bare (`$request.header.x`, ending at the
/// first character that cannot be in a name) or braced
/// (`${request.header.x}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct HttpValue {
    pub parts: Vec<HttpPart>,
}

impl HttpValue {
    /// Whether any part reads the response (allowed in response mappings only).
    pub fn reads_response(&self) -> bool {
        self.parts.iter().any(|p| {
            matches!(
                p,
                HttpPart::ResponseHeader(_)
                    | HttpPart::ResponseBody
                    | HttpPart::ResponseBodyPath(_)
            )
        })
    }
}

const HTTP_SOURCES: &str = "$request.header.NAME, $request.querystring.NAME, $request.path.NAME, \
     $request.path, $request.body, $request.body.NAME, $context.NAME, $stageVariables.NAME, \
     $response.header.NAME, $response.body or $response.body.NAME";

/// Parses an HTTP API mapping value.
pub fn parse_http_value(text: &str) -> Result<HttpValue, ParseError> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        literal.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (reference, consumed) = if let Some(braced) = after.strip_prefix('{') {
            let close = braced
                .find('}')
                .ok_or_else(|| ParseError::new(text, "has '${' without a closing '}'"))?;
            (&braced[..close], close + 2)
        } else {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || "_-.[]*".contains(c)))
                .unwrap_or(after.len());
            let mut r = &after[..len];
            // A sentence-ending dot is not part of a name.
            while let Some(trimmed) = r.strip_suffix('.') {
                r = trimmed;
            }
            (r, r.len())
        };
        if !reference.starts_with(|c: char| c.is_ascii_alphabetic()) {
            // A lone '$' (e.g. a price): literal text.
            literal.push('$');
            rest = after;
            continue;
        }
        if !literal.is_empty() {
            parts.push(HttpPart::Literal(std::mem::take(&mut literal)));
        }
        parts.push(http_reference(text, reference)?);
        rest = &after[consumed..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(HttpPart::Literal(literal));
    }
    Ok(HttpValue { parts })
}

fn http_reference(text: &str, reference: &str) -> Result<HttpPart, ParseError> {
    let unknown = || {
        ParseError::new(
            text,
            format!("refers to '${reference}', which is not one of {HTTP_SOURCES}"),
        )
    };
    let (root, rest) = split_word(reference);
    match root {
        "request" => {
            if rest == "path" {
                return Ok(HttpPart::RequestPath);
            }
            if rest == "body" {
                return Ok(HttpPart::RequestBody);
            }
            if let Some(path) = rest.strip_prefix("body.") {
                return Ok(HttpPart::RequestBodyPath(json_path(text, path)?));
            }
            let (word, name) = split_word(rest);
            match word {
                "header" => Ok(HttpPart::RequestHeader(header_name(text, name)?)),
                "querystring" => Ok(HttpPart::RequestQueryString(query_name(text, name)?)),
                "path" => Ok(HttpPart::RequestPathParameter(path_name(text, name)?)),
                _ => Err(unknown()),
            }
        }
        "response" => {
            if rest == "body" {
                return Ok(HttpPart::ResponseBody);
            }
            if let Some(path) = rest.strip_prefix("body.") {
                return Ok(HttpPart::ResponseBodyPath(json_path(text, path)?));
            }
            match split_word(rest) {
                ("header", name) => Ok(HttpPart::ResponseHeader(header_name(text, name)?)),
                _ => Err(unknown()),
            }
        }
        "context" => Ok(HttpPart::Context(variable_name(text, rest, true)?)),
        "stageVariables" => Ok(HttpPart::StageVariable(variable_name(text, rest, false)?)),
        _ => Err(unknown()),
    }
}

/// Parses one HTTP API parameter mapping: its key and value together, with
/// AWS's rules between them (`remove:` takes an empty value; a request
/// mapping cannot read the response).
pub fn parse_http_mapping(
    key: &str,
    value: &str,
    response: bool,
) -> Result<(HttpTarget, HttpValue), ParseError> {
    let target = parse_http_target(key)?;
    let parsed = parse_http_value(value)?;
    let removes = matches!(
        &target,
        HttpTarget::Header {
            action: HttpAction::Remove,
            ..
        } | HttpTarget::QueryString {
            action: HttpAction::Remove,
            ..
        }
    );
    if removes && !value.is_empty() {
        return Err(ParseError::new(
            value,
            format!("is given to {key}; a remove: mapping takes an empty value"),
        ));
    }
    if !response && parsed.reads_response() {
        return Err(ParseError::new(
            value,
            "reads $response, which a request mapping does not have",
        ));
    }
    if !response && target == HttpTarget::StatusCode {
        return Err(ParseError::new(key, "can only be in a response mapping"));
    }
    if response && matches!(target, HttpTarget::Path | HttpTarget::QueryString { .. }) {
        return Err(ParseError::new(
            key,
            "cannot be in a response mapping; expected ACTION:header.NAME or overwrite:statuscode",
        ));
    }
    Ok((target, parsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Source {
        parse_source(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn reads_every_rest_target() {
        for (text, want) in [
            (
                "integration.request.header.x-id",
                Target::IntegrationRequest {
                    location: Location::Header,
                    name: "x-id".into(),
                },
            ),
            (
                "integration.request.querystring.page",
                Target::IntegrationRequest {
                    location: Location::QueryString,
                    name: "page".into(),
                },
            ),
            (
                "integration.request.path.petId",
                Target::IntegrationRequest {
                    location: Location::Path,
                    name: "petId".into(),
                },
            ),
            (
                "method.response.header.Location",
                Target::MethodResponseHeader("Location".into()),
            ),
            (
                "gatewayresponse.header.Access-Control-Allow-Origin",
                Target::GatewayResponseHeader("Access-Control-Allow-Origin".into()),
            ),
        ] {
            let got = parse_target(text).unwrap();
            assert_eq!(got, want, "{text}");
            assert_eq!(got.to_string(), text, "round trip");
        }
    }

    #[test]
    fn reads_every_rest_source() {
        for (text, want) in [
            (
                "method.request.header.Authorization",
                Source::MethodRequest {
                    location: Location::Header,
                    name: "Authorization".into(),
                },
            ),
            (
                "method.request.querystring.q",
                Source::MethodRequest {
                    location: Location::QueryString,
                    name: "q".into(),
                },
            ),
            (
                "method.request.path.petId",
                Source::MethodRequest {
                    location: Location::Path,
                    name: "petId".into(),
                },
            ),
            (
                "method.request.multivalueheader.Accept",
                Source::MethodRequestMultiValue {
                    location: Location::Header,
                    name: "Accept".into(),
                },
            ),
            (
                "method.request.multivaluequerystring.tag",
                Source::MethodRequestMultiValue {
                    location: Location::QueryString,
                    name: "tag".into(),
                },
            ),
            ("method.request.body", Source::MethodRequestBody),
            (
                "method.request.body.address.city",
                Source::MethodRequestBodyPath("$.address.city".into()),
            ),
            (
                "integration.response.header.ETag",
                Source::IntegrationResponseHeader("ETag".into()),
            ),
            (
                "integration.response.multivalueheader.Set-Cookie",
                Source::IntegrationResponseMultiValueHeader("Set-Cookie".into()),
            ),
            ("integration.response.body", Source::IntegrationResponseBody),
            (
                "integration.response.body.items[0].id",
                Source::IntegrationResponseBodyPath("$.items[0].id".into()),
            ),
            (
                "stageVariables.backend",
                Source::StageVariable("backend".into()),
            ),
            ("context.requestId", Source::Context("requestId".into())),
            (
                "context.identity.sourceIp",
                Source::Context("identity.sourceIp".into()),
            ),
            (
                "'application/json'",
                Source::Constant("application/json".into()),
            ),
            ("''", Source::Constant(String::new())),
            ("'it''s'", Source::Constant("it''s".into())),
        ] {
            let got = src(text);
            assert_eq!(got, want, "{text}");
            assert_eq!(got.to_string(), text, "round trip of {text}");
        }
    }

    #[test]
    fn json_paths_are_kept_rooted_in_every_written_form() {
        assert_eq!(
            src("method.request.body.$.a.b"),
            Source::MethodRequestBodyPath("$.a.b".into())
        );
        assert_eq!(
            src("method.request.body.['a b'].c"),
            Source::MethodRequestBodyPath("$['a b'].c".into())
        );
        assert_eq!(
            src("integration.response.body.items[*].id"),
            Source::IntegrationResponseBodyPath("$.items[*].id".into())
        );
        assert_eq!(
            src("integration.response.body..id"),
            Source::IntegrationResponseBodyPath("$..id".into())
        );
        assert_eq!(json_path("t", "$").unwrap(), "$");
        assert_eq!(json_path("t", "a.b").unwrap(), "$.a.b");
        for bad in ["$.a..", "$.a[", "$.a[x]", "$.a b", "$.a.", "$x"] {
            assert!(json_path("t", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_rest_expressions_say_what_was_expected() {
        for (text, says) in [
            (
                "integration.request.cookie.a",
                "not header, querystring or path",
            ),
            ("integration.request.header.", "needs a name"),
            ("integration.request.header.a b", "not a header name"),
            ("integration.request.path.a/b", "not a path parameter name"),
            (
                "integration.request.querystring.a&b",
                "not a query string name",
            ),
            ("method.response.header.", "needs a name"),
            ("response.header.x", "is not a mapping target"),
        ] {
            let err = parse_target(text).unwrap_err();
            assert_eq!(err.text, text);
            assert!(err.reason.contains(says), "{text}: {err}");
        }
        for (text, says) in [
            ("'unterminated", "unterminated constant"),
            ("trailing'", "unterminated constant"),
            ("'", "unterminated constant"),
            (
                "method.request.cookie.a",
                "not header, querystring, path, multivalueheader",
            ),
            ("method.request.header", "needs a name"),
            ("method.request.body.a..", "JSONPath"),
            ("method.request.body.a[", "without ']'"),
            ("integration.response.header.", "needs a name"),
            ("stageVariables.a-b", "not a stage variable name"),
            ("stageVariables.", "needs a name"),
            ("context.a..b", "not a context variable"),
            ("context.", "needs a name"),
            ("request.header.x", "is not a mapping source"),
            ("", "is not a mapping source"),
        ] {
            let err = parse_source(text).unwrap_err();
            assert!(err.reason.contains(says), "{text}: {err}");
        }
        let long = format!("stageVariables.{}", "a".repeat(MAX_NAME_BYTES + 1));
        assert!(
            parse_source(&long)
                .unwrap_err()
                .reason
                .contains("longer than")
        );
    }

    #[test]
    fn each_use_allows_its_own_targets_and_sources() {
        use Use::*;
        assert!(parse_target_for(IntegrationRequest, "integration.request.path.id").is_ok());
        let err = parse_target_for(IntegrationRequest, "method.response.header.x").unwrap_err();
        assert!(err.reason.contains("expected integration.request"), "{err}");
        assert!(parse_target_for(IntegrationResponse, "method.response.header.x").is_ok());
        assert!(parse_target_for(IntegrationResponse, "gatewayresponse.header.x").is_err());
        assert!(parse_target_for(GatewayResponse, "gatewayresponse.header.x").is_ok());
        let err = parse_target_for(GatewayResponse, "bogus").unwrap_err();
        assert!(
            err.reason.contains("expected gatewayresponse.header.NAME"),
            "{err}"
        );

        for (usage, ok, refused) in [
            (
                IntegrationRequest,
                &[
                    "method.request.body.a",
                    "method.request.multivalueheader.a",
                    "context.stage",
                ][..],
                &["integration.response.body", "integration.response.header.a"][..],
            ),
            (
                IntegrationResponse,
                &[
                    "integration.response.body.a",
                    "integration.response.multivalueheader.a",
                    "'x'",
                ][..],
                &["method.request.header.a", "method.request.body"][..],
            ),
            (
                GatewayResponse,
                &[
                    "method.request.header.a",
                    "method.request.path.p",
                    "stageVariables.s",
                ][..],
                &["method.request.body", "integration.response.header.a"][..],
            ),
        ] {
            for text in ok {
                assert!(parse_source_for(usage, text).is_ok(), "{usage:?} {text}");
            }
            for text in refused {
                let err = parse_source_for(usage, text).unwrap_err();
                assert!(
                    err.reason.contains("is not available here; expected"),
                    "{usage:?} {text}: {err}"
                );
            }
        }
        let err = parse_source_for(IntegrationRequest, "nope").unwrap_err();
        assert!(
            err.reason.contains("expected method.request.header"),
            "{err}"
        );
    }

    #[test]
    fn method_request_parameters_are_named_for_the_declaration_check() {
        assert_eq!(
            src("method.request.multivaluequerystring.t").method_request_parameter(),
            Some((Location::QueryString, "t"))
        );
        assert_eq!(src("context.stage").method_request_parameter(), None);
    }

    #[test]
    fn reads_every_http_target() {
        for (text, want) in [
            (
                "append:header.x-a",
                HttpTarget::Header {
                    action: HttpAction::Append,
                    name: "x-a".into(),
                },
            ),
            (
                "overwrite:header.x-tenant",
                HttpTarget::Header {
                    action: HttpAction::Overwrite,
                    name: "x-tenant".into(),
                },
            ),
            (
                "remove:querystring.debug",
                HttpTarget::QueryString {
                    action: HttpAction::Remove,
                    name: "debug".into(),
                },
            ),
            ("overwrite:path", HttpTarget::Path),
            ("overwrite:statuscode", HttpTarget::StatusCode),
        ] {
            let got = parse_http_target(text).unwrap();
            assert_eq!(got, want, "{text}");
            assert_eq!(got.to_string(), text);
        }
        for (text, says) in [
            ("header.x", "no append:, overwrite: or remove: prefix"),
            ("replace:header.x", "unknown action 'replace'"),
            ("append:path", "can only be overwritten"),
            ("remove:statuscode", "can only be overwritten"),
            ("append:cookie.x", "names 'cookie'"),
            ("append:header.", "needs a name"),
            ("append:header.a b", "not a header name"),
        ] {
            let err = parse_http_target(text).unwrap_err();
            assert!(err.reason.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn reads_every_http_value_form() {
        use HttpPart::*;
        for (text, want) in [
            ("$request.header.x-id", vec![RequestHeader("x-id".into())]),
            (
                "$request.querystring.q",
                vec![RequestQueryString("q".into())],
            ),
            (
                "$request.path.petId",
                vec![RequestPathParameter("petId".into())],
            ),
            ("$request.path", vec![RequestPath]),
            ("$request.body", vec![RequestBody]),
            (
                "$request.body.message",
                vec![RequestBodyPath("$.message".into())],
            ),
            (
                "$request.body.a.b[0]",
                vec![RequestBodyPath("$.a.b[0]".into())],
            ),
            ("$context.requestId", vec![Context("requestId".into())]),
            (
                "$context.identity.sourceIp",
                vec![Context("identity.sourceIp".into())],
            ),
            ("$stageVariables.queue", vec![StageVariable("queue".into())]),
            ("$response.header.etag", vec![ResponseHeader("etag".into())]),
            ("$response.body.id", vec![ResponseBodyPath("$.id".into())]),
            ("static value", vec![Literal("static value".into())]),
            ("costs $5", vec![Literal("costs $5".into())]),
            (
                "https://sqs/${stageVariables.account}/q",
                vec![
                    Literal("https://sqs/".into()),
                    StageVariable("account".into()),
                    Literal("/q".into()),
                ],
            ),
            (
                "Bearer $request.header.token.",
                vec![
                    Literal("Bearer ".into()),
                    RequestHeader("token".into()),
                    Literal(".".into()),
                ],
            ),
            ("", vec![]),
        ] {
            let got = parse_http_value(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(got.parts, want, "{text}");
        }
        assert_eq!(
            parse_http_value("plain").unwrap().parts,
            [Literal("plain".into())]
        );
        assert_eq!(
            parse_http_value("$request.body").unwrap().parts,
            [RequestBody]
        );
    }

    #[test]
    fn bad_http_values_say_what_was_expected() {
        for (text, says) in [
            ("$request.cookie.a", "not one of $request.header.NAME"),
            ("$bogus.x", "not one of"),
            ("${request.header.x", "without a closing '}'"),
            ("$request.header.", "needs a name"),
            ("$request.body.a[", "without ']'"),
            ("$stageVariables.a-b", "not a stage variable name"),
            ("$response.status", "not one of"),
        ] {
            let err = parse_http_value(text).unwrap_err();
            assert!(err.reason.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn http_mappings_keep_aws_rules_between_key_and_value() {
        assert!(parse_http_mapping("append:header.x", "$request.header.y", false).is_ok());
        assert!(parse_http_mapping("remove:header.x", "", false).is_ok());
        let err = parse_http_mapping("remove:header.x", "v", false).unwrap_err();
        assert!(err.reason.contains("takes an empty value"), "{err}");
        let err = parse_http_mapping("append:header.x", "$response.header.y", false).unwrap_err();
        assert!(
            err.reason.contains("request mapping does not have"),
            "{err}"
        );
        assert!(parse_http_mapping("append:header.x", "$response.header.y", true).is_ok());
        assert!(parse_http_mapping("overwrite:statuscode", "404", true).is_ok());
        assert!(parse_http_mapping("overwrite:statuscode", "404", false).is_err());
        assert!(parse_http_mapping("overwrite:path", "/x", true).is_err());
        assert!(parse_http_mapping("overwrite:path", "/v2/$request.path.id", false).is_ok());
    }

    #[test]
    fn framing_and_hop_by_hop_headers_are_refused_as_targets() {
        for name in [
            "Content-Length",
            "transfer-encoding",
            "Connection",
            "Keep-Alive",
            "Upgrade",
            "TE",
            "Trailer",
            "Host",
            "Proxy-Authorization",
        ] {
            for text in [
                format!("integration.request.header.{name}"),
                format!("method.response.header.{name}"),
                format!("gatewayresponse.header.{name}"),
            ] {
                let err = parse_target(&text).unwrap_err();
                assert!(err.reason.contains("is reserved"), "{text}: {err}");
            }
            for action in ["append", "overwrite", "remove"] {
                let text = format!("{action}:header.{name}");
                let err = parse_http_target(&text).unwrap_err();
                assert!(err.reason.contains("is reserved"), "{text}: {err}");
            }
        }
        // Reading them is still allowed, and near names are not reserved.
        assert!(parse_source("method.request.header.Host").is_ok());
        assert!(parse_target("integration.request.header.X-Forwarded-Host").is_ok());
        assert!(parse_target("integration.request.querystring.host").is_ok());
        assert!(parse_http_target("overwrite:header.tenant").is_ok());
    }
}
