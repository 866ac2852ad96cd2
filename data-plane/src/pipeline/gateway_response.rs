//! Refusals the gateway answers itself, with the status codes, JSON bodies
//! and `x-amzn-ErrorType` headers users of AWS API Gateway expect.

use super::GatewayBody;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{Either, Full};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayResponse {
    /// No API or stage answers to this host and path.
    Forbidden,
    /// REST API: no resource or method matches (AWS answers 403, not 404).
    MissingAuthenticationToken,
    /// HTTP API: no route matches.
    NotFound,
    RequestTooLarge,
    BadRequest,
    /// The backend did not answer within the integration timeout.
    IntegrationTimeout,
    /// The backend could not be reached or broke the connection.
    IntegrationFailure,
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
}

impl GatewayResponse {
    fn parts(self) -> (StatusCode, &'static str, &'static [u8]) {
        use GatewayResponse::*;
        match self {
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
        }
    }

    /// AWS's name for the response type (`$context.error.responseType`).
    pub fn response_type(self) -> &'static str {
        use GatewayResponse::*;
        match self {
            Forbidden => "ACCESS_DENIED",
            MissingAuthenticationToken => "MISSING_AUTHENTICATION_TOKEN",
            NotFound => "RESOURCE_NOT_FOUND",
            RequestTooLarge => "REQUEST_TOO_LARGE",
            BadRequest => "BAD_REQUEST_BODY",
            IntegrationTimeout => "INTEGRATION_TIMEOUT",
            IntegrationFailure => "INTEGRATION_FAILURE",
            ApiConfigurationError => "API_CONFIGURATION_ERROR",
            InvalidApiKey => "INVALID_API_KEY",
            Throttled(_) => "THROTTLED",
            QuotaExceeded => "QUOTA_EXCEEDED",
            Unauthorized => "UNAUTHORIZED",
        }
    }

    /// The message of the JSON body (`$context.error.message`).
    pub fn message(self) -> &'static str {
        let body = self.parts().2;
        let body = std::str::from_utf8(body).unwrap_or_default();
        body.strip_prefix(r#"{"message":""#)
            .and_then(|m| m.strip_suffix(r#""}"#))
            .unwrap_or(body)
    }

    pub fn into_response(self) -> Response<GatewayBody> {
        let (status, error_type, body) = self.parts();
        let mut response = Response::new(Either::Right(Full::new(Bytes::from_static(body))));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert("x-amzn-errortype", HeaderValue::from_static(error_type));
        if let GatewayResponse::Throttled(seconds) = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}
