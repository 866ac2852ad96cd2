//! (being written) An exported OpenAPI 3.0 document → a client package.

use crate::api::ControlPlaneState;
use archway_proto::v1::{GetSdkRequest, GetSdkResponse};
use tonic::Status;

/// GetSdk.
pub fn get_sdk(
    _state: &ControlPlaneState,
    _request: GetSdkRequest,
) -> Result<GetSdkResponse, Status> {
    Err(Status::unimplemented("GetSdk is being written"))
}
