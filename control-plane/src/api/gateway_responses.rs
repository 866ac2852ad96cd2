//! Gateway responses customised per API (AWS's GatewayResponse), one per
//! response type: Put creates or replaces, Delete goes back to AWS's
//! default. They change nothing served until deployed.

use super::SharedState;
use super::records::{body, load_by_id};
use super::rest_apis::load_api;
use crate::error::{ApiError, ApiResult};
use crate::store::{View, keys};
use archway_proto::rules::gateway_response;
use archway_proto::v1::*;
use tonic::Status;

fn load(view: &View, api_id: &str, response_type: &str) -> ApiResult<GatewayResponse> {
    load_by_id(
        view,
        "response_type",
        response_type,
        |t| keys::gateway_response(api_id, t),
        |t| format!("customised gateway response {t} of API '{api_id}'"),
    )
}

pub(crate) async fn put(
    state: &SharedState,
    req: PutGatewayResponseRequest,
) -> Result<GatewayResponse, Status> {
    let r = body("gateway_response", req.gateway_response)?;
    gateway_response::gateway_response("gateway_response", &r).map_err(ApiError::from)?;
    state
        .write(|txn| {
            load_api(txn, &r.api_id)?;
            txn.put(&keys::gateway_response(&r.api_id, &r.response_type), &r);
            Ok::<_, ApiError>(())
        })
        .await?;
    Ok(r)
}

pub(crate) fn get(
    state: &SharedState,
    req: GetGatewayResponseRequest,
) -> Result<GatewayResponse, Status> {
    state.read(|view| {
        load_api(view, &req.api_id)?;
        gateway_response::response_type("response_type", &req.response_type)
            .map_err(ApiError::from)?;
        load(view, &req.api_id, &req.response_type)
    })
}

pub(crate) fn list(
    state: &SharedState,
    req: ListGatewayResponsesRequest,
) -> Result<ListGatewayResponsesResponse, Status> {
    let items = state.read(|view| {
        load_api(view, &req.api_id)?;
        Ok(view.scan::<GatewayResponse>(&keys::gateway_responses(&req.api_id))?)
    })?;
    Ok(ListGatewayResponsesResponse { items })
}

pub(crate) async fn delete(
    state: &SharedState,
    req: GetGatewayResponseRequest,
) -> Result<Empty, Status> {
    state
        .write(|txn| {
            load_api(txn, &req.api_id)?;
            gateway_response::response_type("response_type", &req.response_type)
                .map_err(ApiError::from)?;
            load(txn, &req.api_id, &req.response_type)?;
            txn.delete(&keys::gateway_response(&req.api_id, &req.response_type));
            Ok::<_, ApiError>(())
        })
        .await?;
    Ok(Empty {})
}
