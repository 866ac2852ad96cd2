//! Why a template was refused (at parse time, by the control plane) or why
//! a render stopped (at request time, in the data plane).

/// A template that does not parse: where (1-based line and column, counted
/// in characters) and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {reason}")]
pub struct ParseError {
    pub line: u32,
    pub column: u32,
    pub reason: String,
}

/// Why a render stopped. Every render is bounded: the output and every
/// string the template builds are capped ([`super::Limits::max_output_bytes`]),
/// and every node, loop iteration and unit of work counts against
/// [`super::Limits::max_steps`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    #[error("the template's output (or a string it builds) would exceed {limit} bytes")]
    OutputTooLarge { limit: usize },
    #[error("the template took more than {limit} steps (a loop too long or too much work)")]
    TooManySteps { limit: u64 },
    #[error("a list or map built by the template would be nested more than {limit} deep")]
    TooDeep { limit: usize },
    #[error("the body is not valid JSON (needed by $input.json/$input.path): {reason}")]
    BodyNotJson { reason: String },
    #[error("line {line}, column {column}: invalid JSONPath '{path}': {reason}")]
    InvalidJsonPath {
        line: u32,
        column: u32,
        path: String,
        reason: String,
    },
    #[error("line {line}, column {column}: invalid regular expression '{pattern}': {reason}")]
    InvalidRegex {
        line: u32,
        column: u32,
        pattern: String,
        reason: String,
    },
    #[error("line {line}, column {column}: $util.parseJson: not valid JSON: {reason}")]
    ParseJson {
        line: u32,
        column: u32,
        reason: String,
    },
    #[error(
        "line {line}, column {column}: $context.responseOverride.status must be an HTTP status (100-599), got '{value}'"
    )]
    InvalidStatusOverride {
        line: u32,
        column: u32,
        value: String,
    },
}
