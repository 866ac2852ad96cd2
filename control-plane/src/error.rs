//! The one error type of the admin API, mapped once to a gRPC status.
//!
//! A refused field travels twice: in the message (`field: reason`, what
//! archwayctl prints) and as a `google.rpc.BadRequest` field violation in the
//! status details, so a client (the admin UI) can put the reason beside the
//! field without parsing the message.

use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Bad configuration: names the field and says why.
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The request is well formed but the current state forbids it.
    #[error("{0}")]
    FailedPrecondition(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The refusal with its field renamed by `rename` (other errors as they
    /// are): how a shared check's field is moved to where the caller's
    /// request or document has it.
    pub fn map_field(self, rename: impl FnOnce(String) -> String) -> Self {
        match self {
            Self::InvalidArgument { field, reason } => Self::InvalidArgument {
                field: rename(field),
                reason,
            },
            other => other,
        }
    }
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Self {
        let message = err.to_string();
        match err {
            ApiError::InvalidArgument { field, reason } => Status::with_error_details(
                tonic::Code::InvalidArgument,
                message,
                ErrorDetails::with_bad_request_violation(field, reason),
            ),
            ApiError::NotFound(_) => Status::not_found(message),
            ApiError::AlreadyExists(_) => Status::already_exists(message),
            ApiError::FailedPrecondition(_) => Status::failed_precondition(message),
            ApiError::Store(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, "store unavailable; the call wrote nothing");
                Status::unavailable(e.to_string())
            }
            ApiError::Store(e) => {
                tracing::error!(error = %e, "store failure");
                Status::internal(format!("store failure: {e}"))
            }
        }
    }
}

/// A broken configuration rule is refused with its field and reason.
impl From<archway_proto::rules::Violation> for ApiError {
    fn from(v: archway_proto::rules::Violation) -> Self {
        Self::InvalidArgument {
            field: v.field,
            reason: v.reason,
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_field_is_in_the_message_and_the_details() {
        let status = Status::from(ApiError::invalid("path_part", "must not contain '/'"));
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(status.message(), "path_part: must not contain '/'");
        let details = status
            .get_details_bad_request()
            .expect("a BadRequest in the details");
        assert_eq!(details.field_violations.len(), 1);
        assert_eq!(details.field_violations[0].field, "path_part");
        assert_eq!(
            details.field_violations[0].description,
            "must not contain '/'"
        );
    }

    #[test]
    fn other_errors_carry_no_details() {
        let status = Status::from(ApiError::NotFound("api 'x'".into()));
        assert_eq!(status.code(), tonic::Code::NotFound);
        assert!(status.get_details_bad_request().is_none());
        assert!(status.details().is_empty());
    }
}
