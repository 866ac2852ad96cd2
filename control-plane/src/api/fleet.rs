//! FleetService: which nodes are connected and which version each serves.

use super::SharedState;
use archway_proto::v1::fleet_service_server::FleetService;
use archway_proto::v1::{ListNodesRequest, ListNodesResponse};
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
        _request: Request<ListNodesRequest>,
    ) -> Result<Response<ListNodesResponse>, Status> {
        let distribution = &self.state.distribution;
        Ok(Response::new(ListNodesResponse {
            config_version: distribution.version(),
            nodes: distribution.fleet().list(),
        }))
    }
}
