//! The one error type of the admin API, mapped once to a gRPC status.

use tonic::Status;

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
            ApiError::InvalidArgument { .. } => Status::invalid_argument(message),
            ApiError::NotFound(_) => Status::not_found(message),
            ApiError::AlreadyExists(_) => Status::already_exists(message),
            ApiError::FailedPrecondition(_) => Status::failed_precondition(message),
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
