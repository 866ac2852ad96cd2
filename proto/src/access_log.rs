//! Access-log formats and destinations, as a stage configures them.
//!
//! A format is a template of `$context.*` variables, as in AWS API Gateway
//! (`$context.requestId $context.status`), or a keyword for a standard format
//! (`JSON`, `CLF`). The control plane parses formats to refuse unknown
//! variables; the data plane parses them once per version and renders them
//! per request.

/// A request fact a template can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextVar {
    RequestId,
    ApiId,
    Stage,
    DomainName,
    HttpMethod,
    Path,
    ResourcePath,
    Protocol,
    Status,
    ResponseLength,
    ResponseLatency,
    IntegrationLatency,
    IntegrationStatus,
    RequestTime,
    RequestTimeEpoch,
    SourceIp,
    UserAgent,
    ErrorMessage,
    ErrorResponseType,
    /// What request validation found (empty for other answers).
    ErrorValidationErrorString,
    TraceId,
    /// HIT, MISS, REFRESH or BYPASS for methods the stage cache caches,
    /// empty for others.
    CacheStatus,
    /// WebSocket APIs: the connection's id (empty for other requests).
    ConnectionId,
    /// WebSocket APIs: CONNECT, MESSAGE or DISCONNECT.
    EventType,
    /// WebSocket APIs: the route key of the event.
    RouteKey,
    /// WebSocket APIs: the message's id (MESSAGE events).
    MessageId,
}

/// `$context.` names, longest first so that a prefix never shadows a longer
/// name (`$context.requestTimeEpoch` before `$context.requestTime`).
const VARIABLES: &[(&str, ContextVar)] = &[
    (
        "error.validationErrorString",
        ContextVar::ErrorValidationErrorString,
    ),
    ("identity.userAgent", ContextVar::UserAgent),
    ("integrationLatency", ContextVar::IntegrationLatency),
    ("extendedRequestId", ContextVar::RequestId),
    ("error.responseType", ContextVar::ErrorResponseType),
    ("integrationStatus", ContextVar::IntegrationStatus),
    ("identity.sourceIp", ContextVar::SourceIp),
    ("requestTimeEpoch", ContextVar::RequestTimeEpoch),
    ("responseLatency", ContextVar::ResponseLatency),
    ("responseLength", ContextVar::ResponseLength),
    ("error.message", ContextVar::ErrorMessage),
    ("resourcePath", ContextVar::ResourcePath),
    ("connectionId", ContextVar::ConnectionId),
    ("cacheStatus", ContextVar::CacheStatus),
    ("eventType", ContextVar::EventType),
    ("messageId", ContextVar::MessageId),
    ("routeKey", ContextVar::RouteKey),
    ("domainName", ContextVar::DomainName),
    ("requestTime", ContextVar::RequestTime),
    ("httpMethod", ContextVar::HttpMethod),
    ("requestId", ContextVar::RequestId),
    ("protocol", ContextVar::Protocol),
    ("traceId", ContextVar::TraceId),
    ("status", ContextVar::Status),
    ("apiId", ContextVar::ApiId),
    ("stage", ContextVar::Stage),
    ("path", ContextVar::Path),
];

/// The names a template may use, for error messages and docs.
pub fn variable_names() -> impl Iterator<Item = &'static str> {
    VARIABLES.iter().map(|(name, _)| *name)
}

/// `JSON`: one object per line with every variable.
pub const JSON_FORMAT: &str = concat!(
    r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","#,
    r#""requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","#,
    r#""path":"$context.path","resourcePath":"$context.resourcePath","#,
    r#""status":"$context.status","protocol":"$context.protocol","#,
    r#""responseLength":"$context.responseLength","responseLatency":"$context.responseLatency","#,
    r#""integrationLatency":"$context.integrationLatency","integrationStatus":"$context.integrationStatus","#,
    r#""apiId":"$context.apiId","stage":"$context.stage","userAgent":"$context.identity.userAgent","#,
    r#""errorType":"$context.error.responseType","traceId":"$context.traceId","#,
    r#""cacheStatus":"$context.cacheStatus"}"#
);

/// `CLF`: the Common Log Format, with the request id at the end.
pub const CLF_FORMAT: &str = r#"$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.path $context.protocol" $context.status $context.responseLength $context.requestId"#;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Literal(String),
    Var(ContextVar),
}

/// A parsed format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses a format (or a keyword), saying why when it is not valid.
    pub fn parse(format: &str) -> Result<Self, String> {
        let format = match format.trim() {
            f if f.eq_ignore_ascii_case("json") => JSON_FORMAT,
            f if f.eq_ignore_ascii_case("clf") => CLF_FORMAT,
            "" => return Err("must not be empty; use JSON, CLF or a $context template".into()),
            _ => format,
        };
        if format.contains(['\n', '\r']) {
            return Err("must be one line: each request is one line".into());
        }
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = format;
        while let Some(at) = rest.find("$context.") {
            literal.push_str(&rest[..at]);
            let after = &rest[at + "$context.".len()..];
            let (name, var) = VARIABLES
                .iter()
                .find(|(name, _)| {
                    after.starts_with(name)
                        && !after[name.len()..].starts_with(|c: char| c.is_ascii_alphanumeric())
                })
                .ok_or_else(|| {
                    let word: String = after
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
                        .collect();
                    format!(
                        "unknown variable $context.{word}; known: {}",
                        variable_names().collect::<Vec<_>>().join(", ")
                    )
                })?;
            if !literal.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Var(*var));
            rest = &after[name.len()..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        if !pieces.iter().any(|p| matches!(p, Piece::Var(_))) {
            return Err("uses no $context variable".into());
        }
        Ok(Self { pieces })
    }

    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// Renders one line (without the newline). Values are escaped for JSON
    /// strings (quotes, backslashes, control characters) whatever the
    /// format, so a client cannot forge or break log lines.
    pub fn render(&self, out: &mut String, value: impl Fn(ContextVar, &mut String)) {
        let mut scratch = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::Var(var) => {
                    scratch.clear();
                    value(*var, &mut scratch);
                    if scratch.is_empty() {
                        out.push('-');
                    } else {
                        escape_into(out, &scratch);
                    }
                }
            }
        }
    }
}

fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
}

/// Where a stage's lines go.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Destination {
    Stdout,
    Stderr,
    File(String),
}

impl Destination {
    pub fn parse(destination: &str) -> Result<Self, String> {
        match destination {
            "stdout" => Ok(Self::Stdout),
            "stderr" => Ok(Self::Stderr),
            d => {
                let path = d
                    .strip_prefix("file:")
                    .ok_or_else(|| format!("'{d}' is not stdout, stderr or file:/absolute/path"))?;
                if !path.starts_with('/') {
                    return Err(format!("'{path}' must be an absolute path"));
                }
                if path.contains('\0') || path.ends_with('/') {
                    return Err(format!("'{path}' is not a file path"));
                }
                Ok(Self::File(path.to_owned()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_variables_longest_first() {
        let t = Template::parse("$context.requestTimeEpoch $context.requestTime!").unwrap();
        assert_eq!(
            t.pieces(),
            [
                Piece::Var(ContextVar::RequestTimeEpoch),
                Piece::Literal(" ".into()),
                Piece::Var(ContextVar::RequestTime),
                Piece::Literal("!".into()),
            ]
        );
        let t = Template::parse("$context.error.validationErrorString").unwrap();
        assert_eq!(
            t.pieces(),
            [Piece::Var(ContextVar::ErrorValidationErrorString)]
        );
    }

    #[test]
    fn keywords_expand_and_every_variable_is_known() {
        assert!(Template::parse("json").is_ok());
        assert!(Template::parse("CLF").is_ok());
        for name in variable_names() {
            assert!(
                Template::parse(&format!("$context.{name}")).is_ok(),
                "{name}"
            );
        }
    }

    #[test]
    fn refuses_unknown_variables_and_empty_formats() {
        let err = Template::parse("$context.requestIdx").unwrap_err();
        assert!(err.contains("$context.requestIdx"), "{err}");
        assert!(Template::parse("$context.nope").is_err());
        assert!(Template::parse("").is_err());
        assert!(Template::parse("static text").is_err());
        assert!(Template::parse("$context.status\n").is_err());
    }

    #[test]
    fn renders_with_escaping_and_dashes_for_missing_values() {
        let t =
            Template::parse(r#"{"ua":"$context.identity.userAgent","e":"$context.error.message"}"#)
                .unwrap();
        let mut out = String::new();
        t.render(&mut out, |var, s| {
            if var == ContextVar::UserAgent {
                s.push_str("evil\"\n");
            }
        });
        assert_eq!(out, r#"{"ua":"evil\"\u000a","e":"-"}"#);
    }

    #[test]
    fn destinations() {
        assert_eq!(Destination::parse("stdout"), Ok(Destination::Stdout));
        assert_eq!(
            Destination::parse("file:/var/log/a.log"),
            Ok(Destination::File("/var/log/a.log".into()))
        );
        assert!(Destination::parse("file:relative.log").is_err());
        assert!(Destination::parse("syslog").is_err());
    }
}
