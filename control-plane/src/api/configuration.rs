//! ConfigurationService: whole documents applied, diffed and exported. The
//! work is in [`crate::declarative`]; this maps it to gRPC.
//!
//! A bad document is one INVALID_ARGUMENT status whose message lists every
//! error as `path: reason`, one per line, and whose details carry the same
//! list as a `google.rpc.BadRequest` (field = document path): a status
//! rather than fields of the response, because nothing was applied (every
//! gRPC client sees a failure as a failure), and BadRequest because clients
//! in every language decode it without our .proto.

use super::SharedState;
use crate::declarative::apply::{self, ApplyError, apply};
use crate::declarative::export::export;
use crate::error::ApiError;
use archway_proto::v1::configuration_service_server::ConfigurationService;
use archway_proto::v1::*;
use tonic::{Request, Response, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

pub struct Configuration {
    state: SharedState,
}

impl Configuration {
    pub fn new(state: SharedState) -> Self {
        Self { state }
    }

    async fn run(
        &self,
        req: ApplyConfigurationRequest,
        dry_run: bool,
    ) -> Result<Response<ApplyConfigurationResponse>, Status> {
        let request = apply::Request {
            dry_run,
            prune: req.prune,
            expected_revision: req.expected_revision,
        };
        let outcome = apply(&self.state, &req.document, request)
            .await
            .map_err(refusal)?;
        Ok(Response::new(ApplyConfigurationResponse {
            changes: outcome.changes,
            applied: outcome.applied,
            revision: outcome.revision,
            created_api_keys: outcome.created_keys,
        }))
    }
}

/// The status for a refused document (or a store failure).
fn refusal(e: ApplyError) -> Status {
    let violations: Vec<FieldViolation> = match &e {
        ApplyError::Syntax(syntax) => vec![FieldViolation::new("", syntax.to_string())],
        ApplyError::Document(errors) => errors
            .iter()
            .map(|d| FieldViolation::new(d.path.clone(), d.message.clone()))
            .collect(),
        ApplyError::Moved { .. } => return Status::failed_precondition(e.to_string()),
        ApplyError::Store(_) => {
            let ApplyError::Store(store) = e else {
                unreachable!()
            };
            return ApiError::Store(store).into();
        }
    };
    Status::with_error_details(
        tonic::Code::InvalidArgument,
        e.to_string(),
        ErrorDetails::with_bad_request(violations),
    )
}

#[tonic::async_trait]
impl ConfigurationService for Configuration {
    async fn apply_configuration(
        &self,
        request: Request<ApplyConfigurationRequest>,
    ) -> Result<Response<ApplyConfigurationResponse>, Status> {
        let req = request.into_inner();
        let dry_run = req.dry_run;
        self.run(req, dry_run).await
    }

    async fn diff_configuration(
        &self,
        request: Request<ApplyConfigurationRequest>,
    ) -> Result<Response<ApplyConfigurationResponse>, Status> {
        self.run(request.into_inner(), true).await
    }

    async fn export_configuration(
        &self,
        request: Request<ExportConfigurationRequest>,
    ) -> Result<Response<ExportConfigurationResponse>, Status> {
        let format = request.into_inner().format.to_ascii_lowercase();
        let doc = self.state.read(|view| Ok(export(view)?))?;
        let document = match format.as_str() {
            "" | "yaml" => doc.to_yaml(),
            "json" => doc.to_json(),
            other => {
                return Err(
                    ApiError::invalid("format", format!("'{other}' is not yaml or json")).into(),
                );
            }
        };
        Ok(Response::new(ExportConfigurationResponse { document }))
    }
}
