//! OpenApiService: imports, exports and SDKs. The work is in
//! [`crate::openapi`]; this maps it to gRPC.

use super::SharedState;
use archway_proto::v1::open_api_service_server::OpenApiService;
use archway_proto::v1::*;
use tonic::{Request, Response, Status};

pub struct OpenApis {
    state: SharedState,
}

impl OpenApis {
    pub fn new(state: SharedState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl OpenApiService for OpenApis {
    async fn import_rest_api(
        &self,
        request: Request<ImportRestApiRequest>,
    ) -> Result<Response<ImportRestApiResponse>, Status> {
        crate::openapi::import::import_rest_api(&self.state, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn put_rest_api(
        &self,
        request: Request<PutRestApiRequest>,
    ) -> Result<Response<ImportRestApiResponse>, Status> {
        crate::openapi::import::put_rest_api(&self.state, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_export(
        &self,
        request: Request<GetExportRequest>,
    ) -> Result<Response<GetExportResponse>, Status> {
        crate::openapi::export::get_export(&self.state, request.into_inner()).map(Response::new)
    }

    async fn get_sdk(
        &self,
        request: Request<GetSdkRequest>,
    ) -> Result<Response<GetSdkResponse>, Status> {
        crate::openapi::sdk::get_sdk(&self.state, request.into_inner()).map(Response::new)
    }
}
