//! Refusals the gateway answers itself, with the status codes, JSON bodies
//! and `x-amzn-ErrorType` headers users of AWS API Gateway expect.

use super::GatewayBody;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{Either, Full};
use std::sync::Arc;

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
    /// Request validation: the body does not match the method's model (or
    /// is not JSON). Holds `$context.error.validationErrorString`, AWS's
    /// bracketed list of what failed: `[instance failed to match ...]`.
    BadRequestBody(Arc<str>),
    /// Request validation: required parameters are missing or blank. Holds
    /// the message, `Missing required request parameters: [a, b]`.
    BadRequestParameters(Arc<str>),
    /// No request template for the request's content type, and the
    /// integration's passthrough behaviour does not pass it through.
    UnsupportedMediaType,
    /// A request to a WEBSOCKET API's stage that does not open a
    /// WebSocket.
    UpgradeRequired,
}

/// The parts of an IAM refusal: always 403 but for gateway faults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamRefusal {
    pub status: StatusCode,
    /// `x-amzn-ErrorType`, e.g. `InvalidSignatureException`.
    pub error_type: &'static str,
    pub message: Arc<str>,
}

impl IamRefusal {
    pub fn forbidden(error_type: &'static str, message: impl Into<Arc<str>>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            error_type,
            message: message.into(),
        }
    }
}

/// What a response type answers unless an API customises it: the status,
/// `x-amzn-ErrorType`, the message, and the JSON body built from it at
/// compile time, so a plain refusal (a 403, 404 or 429 flood) allocates
/// no body.
struct Defaults {
    status: StatusCode,
    error_type: &'static str,
    message: &'static str,
    /// AWS's default template, `{"message":$context.error.messageString}`,
    /// for `message`; the messages are plain ASCII with nothing to escape
    /// (`static_bodies_are_the_default_template` checks every one).
    body: &'static [u8],
}

macro_rules! defaults {
    ($status:expr, $error_type:expr, $message:literal $(,)?) => {
        Defaults {
            status: $status,
            error_type: $error_type,
            message: $message,
            body: concat!(r#"{"message":""#, $message, r#""}"#).as_bytes(),
        }
    };
}

impl GatewayResponse {
    fn defaults(&self) -> Defaults {
        use GatewayResponse::*;
        match self {
            Iam(r) => defaults!(r.status, r.error_type, ""),
            Forbidden => defaults!(StatusCode::FORBIDDEN, "ForbiddenException", "Forbidden"),
            MissingAuthenticationToken => defaults!(
                StatusCode::FORBIDDEN,
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            ),
            NotFound => defaults!(StatusCode::NOT_FOUND, "NotFoundException", "Not Found"),
            RequestTooLarge => defaults!(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLargeException",
                "Request Too Long",
            ),
            BadRequest | MalformedRequest => defaults!(
                StatusCode::BAD_REQUEST,
                "BadRequestException",
                "Bad Request",
            ),
            IntegrationTimeout => defaults!(
                StatusCode::GATEWAY_TIMEOUT,
                "IntegrationTimeoutException",
                "Endpoint request timed out",
            ),
            IntegrationFailure => defaults!(
                StatusCode::BAD_GATEWAY,
                "IntegrationFailureException",
                "Bad Gateway",
            ),
            FunctionFailure => defaults!(
                StatusCode::BAD_GATEWAY,
                "InternalServerErrorException",
                "Internal server error",
            ),
            ApiConfigurationError => defaults!(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ApiConfigurationException",
                "Internal server error",
            ),
            InvalidApiKey => defaults!(StatusCode::FORBIDDEN, "ForbiddenException", "Forbidden"),
            Throttled(_) => defaults!(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                "Too Many Requests",
            ),
            QuotaExceeded => defaults!(
                StatusCode::TOO_MANY_REQUESTS,
                "LimitExceededException",
                "Limit Exceeded",
            ),
            Unauthorized => defaults!(
                StatusCode::UNAUTHORIZED,
                "UnauthorizedException",
                "Unauthorized",
            ),
            ExplicitDeny => defaults!(
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                "User is not authorized to access this resource with an explicit deny",
            ),
            AccessDenied => defaults!(
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                "User is not authorized to access this resource",
            ),
            AuthorizerFailure => defaults!(
                StatusCode::INTERNAL_SERVER_ERROR,
                "AuthorizerFailureException",
                "Internal server error",
            ),
            BadRequestBody(_) => defaults!(
                StatusCode::BAD_REQUEST,
                "BadRequestException",
                "Invalid request body",
            ),
            BadRequestParameters(_) => {
                defaults!(StatusCode::BAD_REQUEST, "BadRequestException", "")
            }
            UnsupportedMediaType => defaults!(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaTypeException",
                "Unsupported Media Type",
            ),
            UpgradeRequired => defaults!(
                StatusCode::UPGRADE_REQUIRED,
                "BadRequestException",
                "Upgrade Required: open a WebSocket (GET /{stage} with Upgrade: websocket)",
            ),
        }
    }

    /// The status AWS answers this refusal with when the API does not
    /// customise it.
    pub fn default_status(&self) -> StatusCode {
        self.defaults().status
    }

    /// `x-amzn-ErrorType`.
    pub fn error_type(&self) -> &'static str {
        self.defaults().error_type
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
            BadRequest | BadRequestBody(_) => "BAD_REQUEST_BODY",
            BadRequestParameters(_) => "BAD_REQUEST_PARAMETERS",
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
            UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            UpgradeRequired => "DEFAULT_4XX",
        }
    }

    /// The message of the JSON body (`$context.error.message`).
    pub fn message(&self) -> &str {
        match self {
            GatewayResponse::Iam(r) => &r.message,
            GatewayResponse::BadRequestParameters(message) => message,
            _ => self.defaults().message,
        }
    }

    /// The message as a JSON string, quotes included
    /// (`$context.error.messageString`), as AWS's default template
    /// `{"message":$context.error.messageString}` uses it.
    pub fn message_string(&self) -> String {
        serde_json::Value::from(self.message()).to_string()
    }

    /// What request validation found (`$context.error.validationErrorString`);
    /// empty for other refusals.
    pub fn validation_error_string(&self) -> &str {
        match self {
            GatewayResponse::BadRequestBody(detail) => detail,
            GatewayResponse::BadRequestParameters(message) => message,
            _ => "",
        }
    }

    /// The default body: AWS's default template,
    /// `{"message":$context.error.messageString}`. Static but for the two
    /// refusals whose messages vary.
    pub fn default_body(&self) -> Bytes {
        match self {
            GatewayResponse::Iam(_) | GatewayResponse::BadRequestParameters(_) => {
                let message = self.message_string();
                let mut body = Vec::with_capacity(message.len() + 12);
                body.extend_from_slice(br#"{"message":"#);
                body.extend_from_slice(message.as_bytes());
                body.push(b'}');
                Bytes::from(body)
            }
            _ => Bytes::from_static(self.defaults().body),
        }
    }

    /// The answer as AWS gives it when the API does not customise it.
    pub fn into_response(&self) -> Response<GatewayBody> {
        let mut response = Response::new(Either::Right(Full::new(self.default_body())));
        *response.status_mut() = self.default_status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        self.add_error_headers(headers);
        response
    }

    /// `x-amzn-ErrorType`, and `Retry-After` for a throttled request:
    /// headers every answer of this refusal carries, customised or not.
    pub fn add_error_headers(&self, headers: &mut http::HeaderMap) {
        headers.insert(
            super::headers::X_AMZN_ERROR_TYPE,
            HeaderValue::from_static(self.error_type()),
        );
        if let GatewayResponse::Throttled(seconds) = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from((*seconds).max(1)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(response: Response<GatewayBody>) -> String {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn default_answers_are_aws_bodies_and_headers() {
        let cases = [
            (
                GatewayResponse::Forbidden,
                403,
                r#"{"message":"Forbidden"}"#,
            ),
            (
                GatewayResponse::BadRequestBody("[object has missing required properties]".into()),
                400,
                r#"{"message":"Invalid request body"}"#,
            ),
            (
                GatewayResponse::BadRequestParameters(
                    "Missing required request parameters: [a, b]".into(),
                ),
                400,
                r#"{"message":"Missing required request parameters: [a, b]"}"#,
            ),
            (
                GatewayResponse::UnsupportedMediaType,
                415,
                r#"{"message":"Unsupported Media Type"}"#,
            ),
            (
                GatewayResponse::Iam(IamRefusal::forbidden(
                    "InvalidSignatureException",
                    "a \"quoted\" reason",
                )),
                403,
                r#"{"message":"a \"quoted\" reason"}"#,
            ),
        ];
        for (refusal, status, body) in cases {
            let response = refusal.into_response();
            assert_eq!(response.status(), status, "{refusal:?}");
            assert_eq!(
                response.headers()[super::super::headers::X_AMZN_ERROR_TYPE],
                refusal.error_type()
            );
            assert_eq!(body_of(response).await, body, "{refusal:?}");
        }
    }

    /// The bodies built at compile time are AWS's template applied to the
    /// message, as the varying ones are built at request time.
    #[test]
    fn static_bodies_are_the_default_template() {
        use GatewayResponse::*;
        let every = [
            Forbidden,
            MissingAuthenticationToken,
            NotFound,
            RequestTooLarge,
            BadRequest,
            MalformedRequest,
            IntegrationTimeout,
            IntegrationFailure,
            FunctionFailure,
            ApiConfigurationError,
            InvalidApiKey,
            Throttled(1),
            QuotaExceeded,
            Unauthorized,
            ExplicitDeny,
            AccessDenied,
            AuthorizerFailure,
            BadRequestBody("[x]".into()),
            BadRequestParameters("a \"quoted\" name".into()),
            UnsupportedMediaType,
            Iam(IamRefusal::forbidden("InvalidSignatureException", "m\n")),
        ];
        for refusal in every {
            let expected = serde_json::json!({ "message": refusal.message() }).to_string();
            assert_eq!(
                std::str::from_utf8(&refusal.default_body()).unwrap(),
                expected,
                "{refusal:?}"
            );
        }
    }

    #[test]
    fn default_statuses_agree_with_the_shared_table() {
        use GatewayResponse::*;
        use archway_proto::rules::gateway_response::RESPONSE_TYPES;
        let every = [
            Forbidden,
            MissingAuthenticationToken,
            NotFound,
            RequestTooLarge,
            BadRequest,
            IntegrationTimeout,
            IntegrationFailure,
            ApiConfigurationError,
            InvalidApiKey,
            Throttled(1),
            QuotaExceeded,
            Unauthorized,
            ExplicitDeny,
            AccessDenied,
            AuthorizerFailure,
            BadRequestBody("[x]".into()),
            BadRequestParameters("m".into()),
            UnsupportedMediaType,
            Iam(IamRefusal::forbidden("InvalidSignatureException", "m")),
            Iam(IamRefusal::forbidden("ExpiredTokenException", "m")),
        ];
        for refusal in every {
            let (_, status) = RESPONSE_TYPES
                .iter()
                .find(|(t, _)| *t == refusal.response_type())
                .unwrap_or_else(|| panic!("{refusal:?}: unknown type"));
            if let Some(status) = status {
                assert_eq!(
                    refusal.default_status().as_u16(),
                    *status,
                    "{refusal:?} ({})",
                    refusal.response_type()
                );
            }
        }
    }

    #[test]
    fn error_variables_as_templates_read_them() {
        let body = GatewayResponse::BadRequestBody("[x]".into());
        assert_eq!(body.response_type(), "BAD_REQUEST_BODY");
        assert_eq!(body.message(), "Invalid request body");
        assert_eq!(body.message_string(), r#""Invalid request body""#);
        assert_eq!(body.validation_error_string(), "[x]");
        let params = GatewayResponse::BadRequestParameters(
            "Missing required request parameters: [q]".into(),
        );
        assert_eq!(params.response_type(), "BAD_REQUEST_PARAMETERS");
        assert_eq!(params.message(), params.validation_error_string());
        assert_eq!(GatewayResponse::Throttled(1).validation_error_string(), "");
        assert_eq!(
            GatewayResponse::UnsupportedMediaType.response_type(),
            "UNSUPPORTED_MEDIA_TYPE"
        );
    }
}
