//! (being written) ApiSpec → OpenAPI 3.0 / Swagger 2.0.

use crate::api::ControlPlaneState;
use archway_proto::v1::{GetExportRequest, GetExportResponse};
use tonic::Status;

/// GetExport.
pub fn get_export(
    _state: &ControlPlaneState,
    _request: GetExportRequest,
) -> Result<GetExportResponse, Status> {
    Err(Status::unimplemented("GetExport is being written"))
}
