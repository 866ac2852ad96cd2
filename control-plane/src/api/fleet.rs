//! FleetService: which nodes are connected and which version each serves.

use super::SharedState;
use super::paging::PageRequest;
use crate::error::ApiError;
use crate::traffic;
use crate::validate;
use archway_proto::v1::fleet_service_server::FleetService;
use archway_proto::v1::{
    GetTrafficRequest, GetTrafficResponse, ListNodesRequest, ListNodesResponse,
};
use tonic::{Request, Response, Status};

/// How far back GetTraffic reaches: what the aggregation keeps.
use traffic::WINDOW_MINUTES as MAX_MINUTES;

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
        let mine = distribution.fleet().list();
        // On a shared store, with the other replicas' nodes.
        #[cfg(feature = "etcd")]
        let mine = match &self.state.fleet_share {
            Some(share) => crate::fleet_share::merge(mine, share.others().await),
            None => mine,
        };
        // The fleet's list is in node id order.
        let (nodes, next_page_token) = page.take(
            mine.into_iter()
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
        request: Request<GetTrafficRequest>,
    ) -> Result<Response<GetTrafficResponse>, Status> {
        let req = request.into_inner();
        if req.minutes > MAX_MINUTES {
            return Err(ApiError::invalid(
                "minutes",
                format!(
                    "{} is more than the {MAX_MINUTES} minutes kept (0 asks for all {MAX_MINUTES})",
                    req.minutes
                ),
            )
            .into());
        }
        if !req.api_id.is_empty() {
            validate::api_id("api_id", &req.api_id)?;
        }
        // "(none)": the requests to an API that matched none of its stages,
        // as the nodes' metrics label them.
        if !req.stage_name.is_empty() && req.stage_name != traffic::NO_STAGE {
            validate::stage_name("stage_name", &req.stage_name)?;
        }
        let window = self.state.distribution.traffic().window(
            &req.api_id,
            &req.stage_name,
            req.minutes,
            crate::ids::now_ms(),
        );
        Ok(Response::new(GetTrafficResponse {
            step_seconds: (traffic::STEP_MS / 1000) as u32,
            points: window.points,
            stages: window.stages,
        }))
    }
}
