//! DeploymentService: immutable deployments of an API and the stages that
//! serve them. Every change here is what the fleet serves, so each write ends
//! by refreshing distribution.

use super::SharedState;
use super::promotion;
use super::records::{body, ensure_absent, load_by_id, refuse_if_used, required, unused_id};
use super::rest_apis::{load_api, page_of_api, prefixed};
use super::stage_history;
use super::update_mask::{Fixed, Updatable, merge};
use crate::declarative::export::ApiRecords;
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::store::{StoreError, View, keys};
use crate::validate;
use archway_proto::rules::aws_arn::{self, Credentials};
use archway_proto::v1::deployment_service_server::DeploymentService;
use archway_proto::v1::*;
use tonic::{Request, Response, Status};

pub struct Deployments {
    state: SharedState,
}

impl Deployments {
    pub fn new(state: SharedState) -> Self {
        Self { state }
    }

    /// Replaces an existing stage with what `change` makes of it (given the
    /// write's view and the stage as stored), finished as every stage write
    /// is ([`stage_history::finish`]), and publishes it to the fleet.
    async fn change_stage(
        &self,
        api_id: &str,
        stage_name: &str,
        mut change: impl FnMut(&View, Stage) -> ApiResult<Stage>,
    ) -> Result<Response<Stage>, Status> {
        let stage = self
            .state
            .write(|txn| {
                load_api(txn, api_id)?;
                let current = load_stage(txn, api_id, stage_name)?;
                let mut stage = change(txn, current.clone())?;
                stage_history::finish(Some(&current), &mut stage, ids::now_ms());
                txn.put(&keys::stage(&stage.api_id, &stage.stage_name), &stage);
                Ok(stage)
            })
            .await?;
        Ok(Response::new(stage))
    }
}

/// What UpdateStage may change.
const STAGE_UPDATE: Updatable = Updatable {
    request: "Stage",
    resource: "Stage",
    fields: &[
        "deployment_id",
        "description",
        "variables",
        "canary",
        "access_log_settings",
        "method_settings",
        "cache_cluster_enabled",
        "cache_cluster_size",
        "cache_ttl_seconds",
        "method_cache_settings",
    ],
    fixed: &[
        ("api_id", Fixed::Immutable("names the API")),
        ("stage_name", Fixed::Immutable("names the stage")),
        (
            "created_at_ms",
            Fixed::OutputOnly("set by the control plane"),
        ),
        (
            "updated_at_ms",
            Fixed::OutputOnly("set by the control plane"),
        ),
        (
            "cache_flush_generation",
            Fixed::OutputOnly("only FlushStageCache raises it"),
        ),
        (
            "previous_deployment_ids",
            Fixed::OutputOnly(
                "the control plane keeps it as the stage's deployment_id changes; \
                 to roll back, set deployment_id to its first entry",
            ),
        ),
    ],
};

fn load_deployment(view: &View, api_id: &str, deployment_id: &str) -> ApiResult<Deployment> {
    load_by_id(
        view,
        "deployment_id",
        deployment_id,
        |id| keys::deployment(api_id, id),
        |id| format!("deployment '{id}' of API '{api_id}'"),
    )
}

pub(crate) fn load_stage(view: &View, api_id: &str, stage_name: &str) -> ApiResult<Stage> {
    load_by_id(
        view,
        "stage_name",
        stage_name,
        |name| keys::stage(api_id, name),
        |name| format!("stage '{name}' of API '{api_id}'"),
    )
}

/// A deployment names a stage that exists, unless the caller asked for a
/// new one (`create_stage`): a typo (`prdo`) would otherwise go live as a
/// stage of its own, with no variables, while `prod` kept the old version.
fn refuse_unknown_stage(view: &View, api_id: &str, stage_name: &str) -> ApiResult<()> {
    if view
        .get::<Stage>(&keys::stage(api_id, stage_name))?
        .is_some()
    {
        return Ok(());
    }
    let stages: Vec<Stage> = view.scan(&keys::stages(api_id))?;
    let names: Vec<&str> = stages.iter().map(|s| s.stage_name.as_str()).collect();
    let known = if names.is_empty() {
        "it has no stage yet".to_owned()
    } else {
        format!("its stages: {}", names.join(", "))
    };
    Err(ApiError::FailedPrecondition(format!(
        "API '{api_id}' has no stage '{stage_name}' ({known}); nothing was deployed. \
         To create the stage, set create_stage (archwayctl deploy --create-stage)"
    )))
}

/// Validates a stage's settings, then that the deployments it names exist.
fn check_stage(view: &View, stage: &Stage) -> ApiResult<()> {
    let protocol = load_api(view, &stage.api_id)?.protocol();
    check_stage_with("stage", stage, protocol, |id| {
        Ok(view
            .get_raw(&keys::deployment(&stage.api_id, id))?
            .is_some())
    })
}

/// A stage's settings (the shared rules, for a stage of an API of
/// `protocol`), then that the deployments it
/// names exist as `deployment_exists` says. `field` names the stage in
/// refusals (`stage`, or a document path).
pub(crate) fn check_stage_with(
    field: &str,
    stage: &Stage,
    protocol: ApiProtocol,
    deployment_exists: impl Fn(&str) -> ApiResult<bool>,
) -> ApiResult<()> {
    validate::stage(stage, protocol).map_err(|e| rebase(e, "stage", field))?;
    required(&format!("{field}.deployment_id"), &stage.deployment_id)?;
    if !deployment_exists(&stage.deployment_id)? {
        return Err(ApiError::invalid(
            format!("{field}.deployment_id"),
            format!("deployment '{}' does not exist", stage.deployment_id),
        ));
    }
    if let Some(canary) = &stage.canary
        && !deployment_exists(&canary.deployment_id)?
    {
        return Err(ApiError::invalid(
            format!("{field}.canary.deployment_id"),
            format!("deployment '{}' does not exist", canary.deployment_id),
        ));
    }
    Ok(())
}

/// Moves a refusal's field from under `from` (e.g. `stage.variables`) to
/// under `to` (e.g. `apis[0].stages[1].variables`).
pub(crate) fn rebase(e: ApiError, from: &str, to: &str) -> ApiError {
    e.map_field(|field| match field.strip_prefix(from) {
        Some(rest) if from != to && (rest.is_empty() || rest.starts_with(['.', '['])) => {
            format!("{to}{rest}")
        }
        _ => field,
    })
}

/// Freezes the API's current resources and methods into a deployment, after
/// checking that every method can be served.
fn snapshot_api(view: &View, api: &RestApi, description: &str) -> ApiResult<Deployment> {
    let records = ApiRecords::current(view, &api.id)?;
    freeze(
        view,
        api,
        FrozenParts {
            id: unused_id(view, 10, |id| keys::deployment(&api.id, id))?,
            description: description.to_owned(),
            created_at_ms: next_deployment_time(view, &api.id)?,
            resources: records.resources,
            methods: records.methods,
            kinds: records.kinds,
        },
    )
}

/// Every integration whose `credentials` names an outbound credential (not
/// an IAM role ARN, nor empty for the node's own) must name one that
/// exists: otherwise each request to the method would fail to sign, after
/// a deployment that looked fine. (Deleting a credential a served
/// deployment names is refused by `outbound::refuse_if_served`.)
fn refuse_missing_credentials(view: &View, d: &Deployment) -> ApiResult<()> {
    for m in &d.methods {
        let Some(i) = &m.integration else { continue };
        if let Ok(Credentials::Name(name)) = aws_arn::credentials(&i.credentials)
            && view.get_raw(&keys::outbound_credential(name))?.is_none()
        {
            let path = d
                .resources
                .iter()
                .find(|r| r.id == m.resource_id)
                .map_or(m.resource_id.as_str(), |r| r.path.as_str());
            return Err(ApiError::FailedPrecondition(format!(
                "method {} {path}: integration credentials '{name}' name no outbound credential; create it (CreateOutboundCredential) or correct the integration, then deploy again",
                m.http_method
            )));
        }
    }
    Ok(())
}

/// The creation time of a new deployment of `api_id`: now, but strictly
/// after its latest one. Creation times order deployments for rollback, so
/// they must keep increasing even when two land in the same millisecond
/// (CreateDeployment and ApplyConfiguration both use this).
pub(crate) fn next_deployment_time(view: &View, api_id: &str) -> Result<i64, StoreError> {
    let latest = view
        .scan::<DeploymentTime>(&keys::deployments(api_id))?
        .iter()
        .map(|d| d.created_at_ms)
        .max()
        .unwrap_or(0);
    Ok(ids::now_ms().max(latest + 1))
}

/// A deployment's creation time alone: decoding it skips the resources,
/// methods and authorizers (up to 10,000 methods a deployment) that
/// [`next_deployment_time`] does not need.
#[derive(Clone, PartialEq, prost::Message)]
struct DeploymentTime {
    /// `Deployment.created_at_ms`'s tag.
    #[prost(int64, tag = "4")]
    created_at_ms: i64,
}

/// An API's authorizers, models, request validators and gateway responses:
/// what a deployment freezes besides its routes (a new kind is added here
/// once, for CreateDeployment and ApplyConfiguration alike).
pub(crate) struct ApiKinds {
    pub authorizers: Vec<Authorizer>,
    pub models: Vec<Model>,
    pub request_validators: Vec<RequestValidator>,
    pub gateway_responses: Vec<GatewayResponse>,
}

/// What a new deployment is made of.
pub(crate) struct FrozenParts {
    pub id: String,
    pub description: String,
    pub created_at_ms: i64,
    pub resources: Vec<Resource>,
    pub methods: Vec<Method>,
    pub kinds: ApiKinds,
}

/// A deployment of `api` from its parts, refused when a method cannot be
/// served (none at all, one without an integration, or one whose
/// credentials name no outbound credential in `view`) or its models do not
/// compile together as a node compiles them. The parts are
/// stored in id order (methods by resource id, then verb), whatever order
/// they come in: a deployment's form does not depend on who made it.
pub(crate) fn freeze(view: &View, api: &RestApi, mut parts: FrozenParts) -> ApiResult<Deployment> {
    parts.resources.sort_by(|a, b| a.id.cmp(&b.id));
    parts
        .methods
        .sort_by(|a, b| (&a.resource_id, &a.http_method).cmp(&(&b.resource_id, &b.http_method)));
    parts.kinds.authorizers.sort_by(|a, b| a.id.cmp(&b.id));
    parts.kinds.models.sort_by(|a, b| a.name.cmp(&b.name));
    parts
        .kinds
        .request_validators
        .sort_by(|a, b| a.id.cmp(&b.id));
    parts
        .kinds
        .gateway_responses
        .sort_by(|a, b| a.response_type.cmp(&b.response_type));
    let websocket = api.protocol() == ApiProtocol::Websocket;
    if parts.methods.is_empty() {
        return Err(ApiError::FailedPrecondition(if websocket {
            // AWS deploys no WebSocket API without a route.
            format!(
                "WEBSOCKET API '{}' has no routes; add one (e.g. $default or $connect) before deploying",
                api.id
            )
        } else {
            format!("API '{}' has no methods; add one before deploying", api.id)
        }));
    }
    if let Some(method) = parts.methods.iter().find(|m| m.integration.is_none()) {
        let path = parts
            .resources
            .iter()
            .find(|r| r.id == method.resource_id)
            .map_or("?", |r| r.path.as_str());
        return Err(ApiError::FailedPrecondition(format!(
            "no integration defined for method {} {path}",
            method.http_method
        )));
    }
    super::models::compile_together(&api.id, &parts.kinds.models).map_err(|(model, reason)| {
        ApiError::FailedPrecondition(format!(
            "model '{model}' of API '{}' would not compile on the nodes: {reason}; fix the model (UpdateModel) and deploy again",
            api.id
        ))
    })?;
    let deployment = Deployment {
        id: parts.id,
        api_id: api.id.clone(),
        description: parts.description,
        created_at_ms: parts.created_at_ms,
        protocol: api.protocol,
        resources: parts.resources,
        methods: parts.methods,
        authorizers: parts.kinds.authorizers,
        // As in AWS, these change what is served only when deployed.
        models: parts.kinds.models,
        request_validators: parts.kinds.request_validators,
        gateway_responses: parts.kinds.gateway_responses,
        binary_media_types: api.binary_media_types.clone(),
        cors_configuration: api.cors_configuration.clone(),
        route_selection_expression: api.route_selection_expression.clone(),
    };
    // What nodes check of a WEBSOCKET deployment, checked before it is
    // stored: each piece was checked when written, but the API's
    // expression or an authorizer may have changed since.
    archway_proto::rules::websocket::deployment(&deployment).map_err(|v| {
        ApiError::FailedPrecondition(format!(
            "API '{}' cannot be deployed: {v}; correct it and deploy again",
            api.id
        ))
    })?;
    refuse_missing_credentials(view, &deployment)?;
    Ok(deployment)
}

#[tonic::async_trait]
impl DeploymentService for Deployments {
    async fn create_deployment(
        &self,
        request: Request<CreateDeploymentRequest>,
    ) -> Result<Response<Deployment>, Status> {
        let req = request.into_inner();
        validate::max_len("description", &req.description, 4096)?;
        if !req.stage_name.is_empty() {
            validate::stage_name("stage_name", &req.stage_name)?;
        }
        let deployment = self
            .state
            .write(|txn| {
                let api = load_api(txn, &req.api_id)?;
                if !req.stage_name.is_empty() && !req.create_stage {
                    refuse_unknown_stage(txn, &api.id, &req.stage_name)?;
                }
                let deployment = snapshot_api(txn, &api, &req.description)?;
                txn.put(&keys::deployment(&api.id, &deployment.id), &deployment);
                if !req.stage_name.is_empty() {
                    let stored = txn.get::<Stage>(&keys::stage(&api.id, &req.stage_name))?;
                    let mut stage = Stage {
                        deployment_id: deployment.id.clone(),
                        ..stored.clone().unwrap_or_else(|| Stage {
                            api_id: api.id.clone(),
                            stage_name: req.stage_name.clone(),
                            ..Default::default()
                        })
                    };
                    stage_history::finish(stored.as_ref(), &mut stage, ids::now_ms());
                    txn.put(&keys::stage(&api.id, &stage.stage_name), &stage);
                }
                Ok::<_, ApiError>(deployment)
            })
            .await?;
        Ok(Response::new(deployment))
    }

    async fn get_deployment(
        &self,
        request: Request<GetDeploymentRequest>,
    ) -> Result<Response<Deployment>, Status> {
        let req = request.into_inner();
        let deployment = self.state.read(|txn| {
            load_api(txn, &req.api_id)?;
            load_deployment(txn, &req.api_id, &req.deployment_id)
        })?;
        Ok(Response::new(deployment))
    }

    /// In id order (pages follow the store's keys; sort by created_at_ms
    /// for newest first), without the resources, methods and authorizers
    /// (GetDeployment has them): a deployment of a large API is large.
    async fn list_deployments(
        &self,
        request: Request<ListDeploymentsRequest>,
    ) -> Result<Response<ListDeploymentsResponse>, Status> {
        let req = request.into_inner();
        let (mut items, next_page_token) = self.state.read(|view| {
            page_of_api::<Deployment>(
                view,
                &req.api_id,
                keys::deployments,
                req.page_size,
                &req.page_token,
            )
        })?;
        for d in &mut items {
            d.resources = Vec::new();
            d.methods = Vec::new();
            d.authorizers = Vec::new();
        }
        Ok(Response::new(ListDeploymentsResponse {
            items,
            next_page_token,
        }))
    }

    async fn delete_deployment(
        &self,
        request: Request<GetDeploymentRequest>,
    ) -> Result<Response<Empty>, Status> {
        let req = request.into_inner();
        self.state
            .write(|txn| {
                load_api(txn, &req.api_id)?;
                load_deployment(txn, &req.api_id, &req.deployment_id)?;
                let stages = txn.scan::<Stage>(&keys::stages(&req.api_id))?;
                refuse_if_used(
                    &stages,
                    |stage| {
                        let canary = stage.canary.as_ref().map(|c| c.deployment_id.as_str());
                        stage.deployment_id == req.deployment_id
                            || canary == Some(req.deployment_id.as_str())
                    },
                    |stage| {
                        format!(
                            "stage '{}' serves deployment '{}'; move or delete the stage first",
                            stage.stage_name, req.deployment_id
                        )
                    },
                )?;
                txn.delete(&keys::deployment(&req.api_id, &req.deployment_id));
                // No stage may roll back to what no longer exists. Nodes do
                // not get the history, so nothing is published.
                for mut stage in stages {
                    if stage_history::forget(&mut stage, &req.deployment_id) {
                        txn.put(&keys::stage(&stage.api_id, &stage.stage_name), &stage);
                    }
                }
                Ok(())
            })
            .await?;
        Ok(Response::new(Empty {}))
    }

    async fn create_stage(
        &self,
        request: Request<CreateStageRequest>,
    ) -> Result<Response<Stage>, Status> {
        let stage = body("stage", request.into_inner().stage)?;
        let stage = self
            .state
            .write(|txn| {
                let mut stage = stage.clone();
                load_api(txn, &stage.api_id)?;
                check_stage(txn, &stage)?;
                ensure_absent(txn, &keys::stage(&stage.api_id, &stage.stage_name), || {
                    format!("stage '{}' of API '{}'", stage.stage_name, stage.api_id)
                })?;
                stage_history::finish(None, &mut stage, ids::now_ms());
                txn.put(&keys::stage(&stage.api_id, &stage.stage_name), &stage);
                Ok(stage)
            })
            .await?;
        Ok(Response::new(stage))
    }

    async fn get_stage(
        &self,
        request: Request<GetStageRequest>,
    ) -> Result<Response<Stage>, Status> {
        let req = request.into_inner();
        let stage = self.state.read(|txn| {
            load_api(txn, &req.api_id)?;
            load_stage(txn, &req.api_id, &req.stage_name)
        })?;
        Ok(Response::new(stage))
    }

    async fn list_stages(
        &self,
        request: Request<ListStagesRequest>,
    ) -> Result<Response<ListStagesResponse>, Status> {
        let req = request.into_inner();
        let (items, next_page_token) = self.state.read(|view| {
            page_of_api(
                view,
                &req.api_id,
                keys::stages,
                req.page_size,
                &req.page_token,
            )
        })?;
        Ok(Response::new(ListStagesResponse {
            items,
            next_page_token,
        }))
    }

    async fn update_stage(
        &self,
        request: Request<UpdateStageRequest>,
    ) -> Result<Response<Stage>, Status> {
        let req = request.into_inner();
        let patch = body("stage", req.stage)?;
        let (api_id, name) = (patch.api_id.clone(), patch.stage_name.clone());
        self.change_stage(&api_id, &name, |view, current| {
            let stage = merge(&current, &patch, req.update_mask.as_ref(), &STAGE_UPDATE)
                .map_err(|e| prefixed("stage", e))?;
            check_stage(view, &stage)?;
            Ok(stage)
        })
        .await
    }

    async fn promote_canary(
        &self,
        request: Request<PromoteCanaryRequest>,
    ) -> Result<Response<Stage>, Status> {
        let req = request.into_inner();
        self.change_stage(&req.api_id, &req.stage_name, |view, current| {
            let Some(canary) = current.canary.as_ref() else {
                return Err(ApiError::FailedPrecondition(format!(
                    "stage '{}' of API '{}' has no canary to promote",
                    req.stage_name, req.api_id
                )));
            };
            let serving = load_deployment(view, &req.api_id, &current.deployment_id)?;
            let candidate = load_deployment(view, &req.api_id, &canary.deployment_id)?;
            promotion::promoted(current, &serving, &candidate, req.force)
        })
        .await
    }

    /// Raises the stage's flush generation: every node drops the stage's
    /// cached responses when it applies the version that carries it, and a
    /// node that was away applies it when it connects, so the flush reaches
    /// the whole fleet without a one-shot message that could be missed.
    async fn flush_stage_cache(
        &self,
        request: Request<GetStageRequest>,
    ) -> Result<Response<Stage>, Status> {
        let req = request.into_inner();
        self.change_stage(&req.api_id, &req.stage_name, |_, current| {
            Ok(Stage {
                cache_flush_generation: current.cache_flush_generation + 1,
                ..current
            })
        })
        .await
    }

    async fn delete_stage(
        &self,
        request: Request<GetStageRequest>,
    ) -> Result<Response<Empty>, Status> {
        let req = request.into_inner();
        self.state
            .write(|txn| {
                load_api(txn, &req.api_id)?;
                load_stage(txn, &req.api_id, &req.stage_name)?;
                txn.delete(&keys::stage(&req.api_id, &req.stage_name));
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(Response::new(Empty {}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    /// `DeploymentTime` names `Deployment.created_at_ms` by its tag: a
    /// renumbered proto field would silently read 0 and break the order
    /// of deployment times.
    #[test]
    fn deployment_time_reads_a_deployments_creation_time() {
        let deployment = Deployment {
            id: "d1".into(),
            description: "x".into(),
            created_at_ms: 1_800_000_000_123,
            ..Default::default()
        };
        let time = DeploymentTime::decode(deployment.encode_to_vec().as_slice()).unwrap();
        assert_eq!(time.created_at_ms, 1_800_000_000_123);
    }
}
