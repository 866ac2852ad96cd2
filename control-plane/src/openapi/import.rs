//! (being written) OpenAPI / Swagger → ApiSpec.

use crate::api::ControlPlaneState;
use archway_proto::v1::{ImportRestApiRequest, ImportRestApiResponse, PutRestApiRequest};
use tonic::Status;

/// ImportRestApi.
pub async fn import_rest_api(
    _state: &ControlPlaneState,
    _request: ImportRestApiRequest,
) -> Result<ImportRestApiResponse, Status> {
    Err(Status::unimplemented("ImportRestApi is being written"))
}

/// PutRestApi.
pub async fn put_rest_api(
    _state: &ControlPlaneState,
    _request: PutRestApiRequest,
) -> Result<ImportRestApiResponse, Status> {
    Err(Status::unimplemented("PutRestApi is being written"))
}
