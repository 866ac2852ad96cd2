//! Request validators of an API (AWS's RequestValidator): what a method's
//! request validation checks. Names are unique in an API, so apply files
//! can name them; a validator a method uses cannot be deleted. They change
//! nothing served until deployed.

use super::SharedState;
use super::records::{body, load_by_id, refuse_if_used, unused_id};
use super::rest_apis::{load_api, page_of_api, prefixed};
use super::update_mask::{Fixed, Updatable, merge};
use crate::error::{ApiError, ApiResult};
use crate::store::{View, keys};
use archway_proto::v1::*;
use tonic::Status;

const VALIDATOR_UPDATE: Updatable = Updatable {
    request: "RequestValidator",
    resource: "RequestValidator",
    fields: &[
        "name",
        "validate_request_body",
        "validate_request_parameters",
    ],
    fixed: &[
        ("api_id", Fixed::Immutable("names the API")),
        ("id", Fixed::Immutable("names the validator")),
    ],
};

/// The validator's own fields: its name, at most 128 bytes (`field` names
/// the message: `request_validator`, or a document path). Apply checks with
/// this; uniqueness in the document is the planner's.
pub(crate) fn check_fields(field: &str, v: &RequestValidator) -> ApiResult<()> {
    let name_field = format!("{field}.name");
    crate::validate::name(&name_field, &v.name)?;
    crate::validate::max_len(&name_field, &v.name, 128)
}

/// The validator's fields, and its name unique among the API's validators.
pub(crate) fn check(view: &View, field: &str, v: &RequestValidator) -> ApiResult<()> {
    check_fields(field, v)?;
    let name_field = format!("{field}.name");
    for other in view.scan::<RequestValidator>(&keys::request_validators(&v.api_id))? {
        if other.id != v.id && other.name == v.name {
            return Err(ApiError::invalid(
                name_field,
                format!(
                    "validator '{}' of this API is already named '{}'",
                    other.id, v.name
                ),
            ));
        }
    }
    Ok(())
}

fn load(view: &View, api_id: &str, id: &str) -> ApiResult<RequestValidator> {
    load_by_id(
        view,
        "request_validator_id",
        id,
        |id| keys::request_validator(api_id, id),
        |id| format!("request validator '{id}' of API '{api_id}'"),
    )
}

/// Refuses to delete a validator a method uses.
pub(crate) fn refuse_if_used_by_method(view: &View, api_id: &str, id: &str) -> ApiResult<()> {
    refuse_if_used(
        view.scan::<Method>(&keys::methods_of_api(api_id))?,
        |m| m.request_validator_id == id,
        |m| {
            format!(
                "request validator '{id}' is used by method {} on resource '{}'; change the method first",
                m.http_method, m.resource_id
            )
        },
    )
}

pub(crate) async fn create(
    state: &SharedState,
    req: PutRequestValidatorRequest,
) -> Result<RequestValidator, Status> {
    let v = body("request_validator", req.request_validator)?;
    let v = state
        .write(|txn| {
            let mut v = v.clone();
            load_api(txn, &v.api_id)?;
            v.id = unused_id(txn, 6, |id| keys::request_validator(&v.api_id, id))?;
            check(txn, "request_validator", &v)?;
            txn.put(&keys::request_validator(&v.api_id, &v.id), &v);
            Ok::<_, ApiError>(v)
        })
        .await?;
    Ok(v)
}

pub(crate) fn get(
    state: &SharedState,
    req: GetRequestValidatorRequest,
) -> Result<RequestValidator, Status> {
    state.read(|view| {
        load_api(view, &req.api_id)?;
        load(view, &req.api_id, &req.request_validator_id)
    })
}

pub(crate) fn list(
    state: &SharedState,
    req: ListRequestValidatorsRequest,
) -> Result<ListRequestValidatorsResponse, Status> {
    let (items, next_page_token) = state.read(|view| {
        page_of_api(
            view,
            &req.api_id,
            keys::request_validators,
            req.page_size,
            &req.page_token,
        )
    })?;
    Ok(ListRequestValidatorsResponse {
        items,
        next_page_token,
    })
}

pub(crate) async fn update(
    state: &SharedState,
    req: UpdateRequestValidatorRequest,
) -> Result<RequestValidator, Status> {
    let patch = body("request_validator", req.request_validator)?;
    let v = state
        .write(|txn| {
            load_api(txn, &patch.api_id)?;
            let old = load(txn, &patch.api_id, &patch.id)?;
            let v = merge(&old, &patch, req.update_mask.as_ref(), &VALIDATOR_UPDATE)
                .map_err(|e| prefixed("request_validator", e))?;
            check(txn, "request_validator", &v)?;
            txn.put(&keys::request_validator(&v.api_id, &v.id), &v);
            Ok::<_, ApiError>(v)
        })
        .await?;
    Ok(v)
}

pub(crate) async fn delete(
    state: &SharedState,
    req: GetRequestValidatorRequest,
) -> Result<Empty, Status> {
    state
        .write(|txn| {
            load_api(txn, &req.api_id)?;
            load(txn, &req.api_id, &req.request_validator_id)?;
            refuse_if_used_by_method(txn, &req.api_id, &req.request_validator_id)?;
            txn.delete(&keys::request_validator(
                &req.api_id,
                &req.request_validator_id,
            ));
            Ok::<_, ApiError>(())
        })
        .await?;
    Ok(Empty {})
}
