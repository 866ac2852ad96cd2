//! (being written) ApiSpec → OpenAPI 3.0 / Swagger 2.0.

use crate::api::ControlPlaneState;
use archway_proto::v1::{GetExportRequest, GetExportResponse};
use tonic::Status;

/// What an export writes besides the plain OpenAPI document.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Swagger 2.0 instead of OpenAPI 3.0.
    pub swagger: bool,
    /// `x-amazon-apigateway-integration` (and `x-archway-integration`).
    pub integrations: bool,
    /// `x-amazon-apigateway-authorizer` / `-authtype` (and
    /// `x-archway-authorizer`) on security schemes.
    pub authorizers: bool,
    /// Every other extension too (API-level ones, validators, gateway
    /// responses...). Implies `integrations` and `authorizers`.
    pub apigateway: bool,
    /// For Postman's importer: plain OpenAPI with examples.
    pub postman: bool,
}

/// A document and what it leaves out.
#[derive(Debug, Clone, Default)]
pub struct Exported {
    pub document: serde_json::Value,
    pub warnings: Vec<String>,
}

/// The document of an API as deployed to `stage_name` (empty: as currently
/// defined), `servers` naming the stage's URL. GetExport serializes it;
/// GetSdk generates from it (OpenAPI 3.0 with `apigateway` extensions).
pub fn stage_document(
    _state: &ControlPlaneState,
    _api_id: &str,
    _stage_name: &str,
    _options: &ExportOptions,
) -> Result<Exported, Status> {
    Err(Status::unimplemented("exports are being written"))
}

/// GetExport.
pub fn get_export(
    _state: &ControlPlaneState,
    _request: GetExportRequest,
) -> Result<GetExportResponse, Status> {
    Err(Status::unimplemented("GetExport is being written"))
}
