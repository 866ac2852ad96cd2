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
        }
    }

    pub fn status(self) -> StatusCode {
        self.parts().0
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
        response
    }
}
