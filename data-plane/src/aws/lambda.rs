//! The Lambda Invoke API: `POST /2015-03-31/functions/{function}/invocations`
//! with the payload, answered by the function's output, and by
//! `X-Amz-Function-Error` when the function raised an error (the body is
//! then `{"errorMessage": …, "errorType": …}`).

use super::credentials::Credentials;
use super::integration::CallSettings;
use super::{AwsAnswer, AwsError, AwsOutbound, AwsRequest, Service};
use crate::uri_encode;
use archway_proto::rules::aws_arn::FunctionTarget;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, header};

/// The header the Invoke API marks a function's error with.
pub const FUNCTION_ERROR: &str = "x-amz-function-error";

/// A function's error, from the Invoke API's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    /// `Unhandled` or `Handled`, from the header.
    pub kind: String,
    /// `errorType` of the body, if it says.
    pub error_type: Option<String>,
    /// `errorMessage` of the body: what non-proxy integrations match
    /// selection patterns against.
    pub message: Option<String>,
}

impl FunctionError {
    /// The function error an answer reports, if any.
    pub fn of(answer: &AwsAnswer) -> Option<Self> {
        let kind = answer
            .headers
            .get(FUNCTION_ERROR)?
            .to_str()
            .unwrap_or("Unhandled");
        let body: Option<serde_json::Value> = serde_json::from_slice(&answer.body).ok();
        let field = |name: &str| {
            body.as_ref()
                .and_then(|b| b.get(name))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        Some(Self {
            kind: kind.to_owned(),
            error_type: field("errorType"),
            message: field("errorMessage"),
        })
    }
}

/// How many characters of a function's `errorMessage` a log line keeps.
pub const LOGGED_MESSAGE_CHARS: usize = 256;

impl FunctionError {
    /// The error for one log line: kind, `errorType`, and the first
    /// [`LOGGED_MESSAGE_CHARS`] of `errorMessage`. The function writes the
    /// message (up to 6 MB: stack traces, echoed request data), so it is cut
    /// short, and control characters (newlines that would forge log lines)
    /// are escaped in both fields.
    pub fn log_summary(&self) -> String {
        format!(
            "({}): {}: {}",
            escape_controls(&self.kind, LOGGED_MESSAGE_CHARS),
            escape_controls(
                self.error_type.as_deref().unwrap_or("-"),
                LOGGED_MESSAGE_CHARS
            ),
            escape_controls(self.message.as_deref().unwrap_or("-"), LOGGED_MESSAGE_CHARS)
        )
    }
}

/// The first `max` characters of `text`, control characters escaped as
/// Rust writes them (`\n`, `\u{1b}`), with how much was left off.
pub fn escape_controls(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 32));
    let mut chars = text.char_indices();
    for (_, c) in chars.by_ref().take(max) {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    if let Some((at, _)) = chars.next() {
        out.push_str(&format!("… ({} more bytes)", text.len() - at));
    }
    out
}

/// The error type of an Invoke API refusal (4xx/5xx): the
/// `x-amzn-ErrorType` header, else the body's `Type` or `__type`.
pub fn api_error_type(answer: &AwsAnswer) -> String {
    if let Some(t) = answer
        .headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
    {
        return t.split(':').next().unwrap_or(t).to_owned();
    }
    let body: Option<serde_json::Value> = serde_json::from_slice(&answer.body).ok();
    body.as_ref()
        .and_then(|b| b.get("Type").or_else(|| b.get("__type")))
        .and_then(|v| v.as_str())
        .unwrap_or("unknown")
        .to_owned()
}

/// The Invoke API's path and query:
/// `/2015-03-31/functions/{function}/invocations[?Qualifier=q]`, the
/// function written as one path segment, as every outbound AWS URL is
/// (`uri_encode`).
pub fn invoke_path(target: &FunctionTarget) -> String {
    let mut path = format!(
        "/2015-03-31/functions/{}/invocations",
        uri_encode::path_segment(&target.function)
    );
    if let Some(q) = &target.qualifier {
        path.push('?');
        path.push_str(&uri_encode::query([("Qualifier", q.as_ref())]));
    }
    path
}

/// Invokes `target` synchronously (`RequestResponse`) with `payload`.
pub async fn invoke(
    aws: &AwsOutbound,
    credentials: &Credentials,
    target: &FunctionTarget,
    settings: &CallSettings,
    payload: Bytes,
) -> Result<AwsAnswer, AwsError> {
    let path = invoke_path(target);
    let mut headers = HeaderMap::with_capacity(4);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        "x-amz-invocation-type",
        HeaderValue::from_static("RequestResponse"),
    );
    let service = Service {
        endpoint_prefix: "lambda",
        subdomain: None,
        signing_name: "lambda",
        region: Some(&target.region),
        endpoint_url: settings.endpoint_url.as_deref(),
    };
    let request = AwsRequest {
        method: Method::POST,
        path_and_query: &path,
        headers,
        body: payload,
    };
    aws.send(&service, credentials, request, settings.timeout)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoke_paths_write_the_function_and_qualifier_as_aws_sdks_do() {
        let target = |function: &str, qualifier: Option<&str>| FunctionTarget {
            function: function.into(),
            qualifier: qualifier.map(Into::into),
            region: "us-east-1".into(),
        };
        assert_eq!(
            invoke_path(&target(
                "arn:aws:lambda:us-east-1:123456789012:function:my-fn",
                Some("v~1 live")
            )),
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/invocations?Qualifier=v~1%20live"
        );
        assert_eq!(
            invoke_path(&target("..", None)),
            "/2015-03-31/functions/%2E%2E/invocations"
        );
    }

    #[test]
    fn a_function_error_message_is_logged_short_and_on_one_line() {
        let error = FunctionError {
            kind: "Unhandled".into(),
            error_type: Some("Boom\nINFO forged".into()),
            message: Some(format!(
                "line one\nWARN forged line\r\u{1b}[31m{}",
                "x".repeat(6_000_000)
            )),
        };
        let logged = error.log_summary();
        assert!(!logged.chars().any(char::is_control), "{logged:.300}");
        assert!(logged.len() < 700, "{} bytes", logged.len());
        assert!(
            logged.starts_with(
                "(Unhandled): Boom\\nINFO forged: line one\\nWARN forged line\\r\\u{1b}[31mxxx"
            ),
            "{logged}"
        );
        assert!(logged.ends_with("more bytes)"), "{logged}");
        assert_eq!(escape_controls("short", 256), "short");
        assert_eq!(escape_controls("éé", 1), "é… (2 more bytes)");
    }

    fn answer(headers: &[(&str, &str)], body: &str) -> AwsAnswer {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        AwsAnswer {
            status: http::StatusCode::OK,
            headers: map,
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn function_errors_carry_their_message() {
        let a = answer(
            &[("X-Amz-Function-Error", "Unhandled")],
            r#"{"errorMessage":"boom","errorType":"Error"}"#,
        );
        assert_eq!(
            FunctionError::of(&a),
            Some(FunctionError {
                kind: "Unhandled".into(),
                error_type: Some("Error".into()),
                message: Some("boom".into()),
            })
        );
        assert_eq!(
            FunctionError::of(&answer(&[], r#"{"errorMessage":"x"}"#)),
            None
        );
        let odd =
            FunctionError::of(&answer(&[("x-amz-function-error", "Handled")], "not json")).unwrap();
        assert_eq!((odd.kind.as_str(), odd.message), ("Handled", None));
    }

    #[test]
    fn api_errors_are_named() {
        let throttled = answer(
            &[(
                "x-amzn-ErrorType",
                "TooManyRequestsException:http://internal.amazon.com/",
            )],
            "{}",
        );
        assert_eq!(api_error_type(&throttled), "TooManyRequestsException");
        assert_eq!(
            api_error_type(&answer(&[], r#"{"Type":"User","__type":"x"}"#)),
            "User"
        );
        assert_eq!(api_error_type(&answer(&[], "")), "unknown");
    }
}
