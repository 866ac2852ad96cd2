//! FleetService: which nodes are connected and which version each serves.

use super::SharedState;
use super::paging::PageRequest;
use crate::error::ApiError;
use archway_proto::v1::fleet_service_server::FleetService;
use archway_proto::v1::{
    GetTrafficRequest, GetTrafficResponse, ListNodesRequest, ListNodesResponse,
};
use tonic::{Request, Response, Status};

pub struct Fleet {
    state: SharedState,
}

impl Fleet {
    pub fn new(state: SharedState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl FleetService for Fleet {
    async fn list_nodes(
        &self,
        request: Request<ListNodesRequest>,
    ) -> Result<Response<ListNodesResponse>, Status> {
        let req = request.into_inner();
        let page = PageRequest::new("nodes/", req.page_size, &req.page_token)?;
        let distribution = &self.state.distribution;
        // The fleet's list is in node id order.
        let (nodes, next_page_token) = page.take(
            distribution
                .fleet()
                .list()
                .into_iter()
                .map(|n| Ok::<_, ApiError>((n.node_id.clone(), n))),
        )?;
        Ok(Response::new(ListNodesResponse {
            config_version: distribution.version(),
            nodes,
            next_page_token,
        }))
    }

    async fn get_traffic(
        &self,
        _request: Request<GetTrafficRequest>,
    ) -> Result<Response<GetTrafficResponse>, Status> {
        // Replaced by the traffic aggregation (issue 13, in progress).
        Err(Status::unimplemented("traffic is not aggregated yet"))
    }
}
