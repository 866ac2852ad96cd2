//! Refusals the gateway answers itself, with the status codes, JSON bodies
//! and `x-amzn-ErrorType` headers users of AWS API Gateway expect.

use super::GatewayBody;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{Either, Full};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayResponse {
    /// No API or stage answers to this host and path.
    Forbidden,
    /// REST API: no resource or method matches (AWS answers 403, not 404).
    MissingAuthenticationToken,
    /// HTTP API: no route matches.
    NotFound,
    RequestTooLarge,
    /// A body or its declared length that cannot be read.
    BadRequest,
    /// A request target or host with no one safe reading: two `Host`
    /// headers, a path spelling refused by [`super::normalize`], raw
    /// non-ASCII in the query.
    MalformedRequest,
    /// The backend did not answer within the integration timeout.
    IntegrationTimeout,
    /// The backend could not be reached or broke the connection.
    IntegrationFailure,
    /// A function failed (an error it raised, a malformed answer, a
    /// throttled or unavailable function), as AWS answers it: 502 with
    /// "Internal server error".
    FunctionFailure,
    /// The configuration produced something unusable, e.g. a bad URI.
    ApiConfigurationError,
    /// A method requires an API key and the request's is missing, unknown,
    /// disabled, or not in a usage plan of this stage.
    InvalidApiKey,
    /// Over a throttle; retry after this many seconds.
    Throttled(u32),
    /// Over a usage plan's quota for the period.
    QuotaExceeded,
    /// A method's authorizer refused the token (missing, invalid, expired).
    Unauthorized,
    /// A policy (an authorizer's, an IAM principal's or the API's resource
    /// policy) denies the request explicitly.
    ExplicitDeny,
    /// No policy allows the request.
    AccessDenied,
    /// A custom authorizer could not be reached, timed out, or answered
    /// something that is not an authorizer response.
    AuthorizerFailure,
    /// An IAM (SigV4) refusal whose message names specifics, as AWS's do:
    /// a bad or expired signature, an unknown key, a denied principal.
    Iam(IamRefusal),
}

/// The parts of an IAM refusal: always 403 but for gateway faults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamRefusal {
    pub status: StatusCode,
    /// `x-amzn-ErrorType`, e.g. `InvalidSignatureException`.
    pub error_type: &'static str,
    pub message: std::sync::Arc<str>,
}

impl IamRefusal {
    pub fn forbidden(error_type: &'static str, message: impl Into<std::sync::Arc<str>>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            error_type,
            message: message.into(),
        }
    }
}

impl GatewayResponse {
    fn parts(&self) -> (StatusCode, &'static str, &'static [u8]) {
        use GatewayResponse::*;
        match self {
            Iam(r) => (r.status, r.error_type, b""),
            Forbidden => (
                StatusCode::FORBIDDEN,
                "ForbiddenException",
                br#"{"message":"Forbidden"}"#,
            ),
            MissingAuthenticationToken => (
                StatusCode::FORBIDDEN,
                "MissingAuthenticationTokenException",
                br#"{"message":"Missing Authentication Token"}"#,
            ),
            NotFound => (
                StatusCode::NOT_FOUND,
                "NotFoundException",
                br#"{"message":"Not Found"}"#,
            ),
            RequestTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLargeException",
                br#"{"message":"Request Too Long"}"#,
            ),
            BadRequest => (
                StatusCode::BAD_REQUEST,
                "BadRequestException",
                br#"{"message":"Bad Request"}"#,
            ),
            MalformedRequest => (
                StatusCode::BAD_REQUEST,
                "BadRequestException",
                br#"{"message":"Bad Request"}"#,
            ),
            IntegrationTimeout => (
                StatusCode::GATEWAY_TIMEOUT,
                "IntegrationTimeoutException",
                br#"{"message":"Endpoint request timed out"}"#,
            ),
            IntegrationFailure => (
                StatusCode::BAD_GATEWAY,
                "IntegrationFailureException",
                br#"{"message":"Bad Gateway"}"#,
            ),
            FunctionFailure => (
                StatusCode::BAD_GATEWAY,
                "InternalServerErrorException",
                br#"{"message":"Internal server error"}"#,
            ),
            ApiConfigurationError => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "ApiConfigurationException",
                br#"{"message":"Internal server error"}"#,
            ),
            InvalidApiKey => (
                StatusCode::FORBIDDEN,
                "ForbiddenException",
                br#"{"message":"Forbidden"}"#,
            ),
            Throttled(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                br#"{"message":"Too Many Requests"}"#,
            ),
            QuotaExceeded => (
                StatusCode::TOO_MANY_REQUESTS,
                "LimitExceededException",
                br#"{"message":"Limit Exceeded"}"#,
            ),
            Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "UnauthorizedException",
                br#"{"message":"Unauthorized"}"#,
            ),
            ExplicitDeny => (
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                br#"{"message":"User is not authorized to access this resource with an explicit deny"}"#,
            ),
            AccessDenied => (
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                br#"{"message":"User is not authorized to access this resource"}"#,
            ),
            AuthorizerFailure => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "AuthorizerFailureException",
                br#"{"message":"Internal server error"}"#,
            ),
        }
    }

    /// AWS's name for the response type (`$context.error.responseType`).
    pub fn response_type(&self) -> &'static str {
        use GatewayResponse::*;
        match self {
            Iam(r) if r.status.is_server_error() => "DEFAULT_5XX",
            Iam(r) if r.error_type == "AccessDeniedException" => "ACCESS_DENIED",
            Iam(r) if r.error_type == "MissingAuthenticationTokenException" => {
                "MISSING_AUTHENTICATION_TOKEN"
            }
            Iam(r) if r.error_type == "ExpiredTokenException" => "EXPIRED_TOKEN",
            Iam(r) if r.error_type == "UnrecognizedClientException" => "INVALID_SIGNATURE",
            Iam(_) => "INVALID_SIGNATURE",
            Forbidden => "ACCESS_DENIED",
            MissingAuthenticationToken => "MISSING_AUTHENTICATION_TOKEN",
            NotFound => "RESOURCE_NOT_FOUND",
            RequestTooLarge => "REQUEST_TOO_LARGE",
            BadRequest => "BAD_REQUEST_BODY",
            MalformedRequest => "DEFAULT_4XX",
            IntegrationTimeout => "INTEGRATION_TIMEOUT",
            IntegrationFailure | FunctionFailure => "INTEGRATION_FAILURE",
            ApiConfigurationError => "API_CONFIGURATION_ERROR",
            InvalidApiKey => "INVALID_API_KEY",
            Throttled(_) => "THROTTLED",
            QuotaExceeded => "QUOTA_EXCEEDED",
            Unauthorized => "UNAUTHORIZED",
            ExplicitDeny | AccessDenied => "ACCESS_DENIED",
            AuthorizerFailure => "AUTHORIZER_FAILURE",
        }
    }

    /// The message of the JSON body (`$context.error.message`).
    pub fn message(&self) -> &str {
        if let GatewayResponse::Iam(r) = self {
            return &r.message;
        }
        let body = self.parts().2;
        let body = std::str::from_utf8(body).unwrap_or_default();
        body.strip_prefix(r#"{"message":""#)
            .and_then(|m| m.strip_suffix(r#""}"#))
            .unwrap_or(body)
    }

    pub fn into_response(&self) -> Response<GatewayBody> {
        let (status, error_type, body) = self.parts();
        let body = match self {
            GatewayResponse::Iam(r) => Bytes::from(
                serde_json::to_vec(&serde_json::json!({ "message": &*r.message }))
                    .unwrap_or_default(),
            ),
            _ => Bytes::from_static(body),
        };
        let mut response = Response::new(Either::Right(Full::new(body)));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            super::headers::X_AMZN_ERROR_TYPE,
            HeaderValue::from_static(error_type),
        );
        if let GatewayResponse::Throttled(seconds) = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from((*seconds).max(1)));
        }
        response
    }
}
