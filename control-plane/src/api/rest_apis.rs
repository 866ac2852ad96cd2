//! RestApiService: APIs, their resource trees, methods and integrations.
//! Nothing here changes what the fleet serves until a deployment is made.

use super::SharedState;
use super::records::{
    body, ensure_absent, load_by_id, page_of, refuse_if_used, required, unused_id,
};
use super::update_mask::{Fixed, Updatable, merge};
use crate::enums::AUTHORIZER_TYPE;
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::store::{Txn, View, keys};
use crate::validate;
use archway_proto::path::PathPart;
use archway_proto::v1::rest_api_service_server::RestApiService;
use archway_proto::v1::*;
use std::collections::HashMap;
use tonic::{Request, Response, Status};

pub struct RestApis {
    state: SharedState,
}

impl RestApis {
    pub fn new(state: SharedState) -> Self {
        Self { state }
    }
}

pub(crate) fn load_api(view: &View, api_id: &str) -> ApiResult<RestApi> {
    load_by_id(view, "api_id", api_id, keys::api, |id| {
        format!("API '{id}'")
    })
}

/// One page of the records of one API under the prefix `keys_of(api_id)`
/// gives (its resources, stages...); NotFound when the API does not exist.
pub(crate) fn page_of_api<M: prost::Message + Default>(
    view: &View,
    api_id: &str,
    keys_of: impl FnOnce(&str) -> String,
    page_size: i32,
    page_token: &str,
) -> ApiResult<(Vec<M>, String)> {
    load_api(view, api_id)?;
    page_of(view, &keys_of(api_id), page_size, page_token)
}

/// What UpdateRestApi may change.
const API_UPDATE: Updatable = Updatable {
    request: "UpdateRestApiRequest",
    resource: "RestApi",
    fields: &[
        "name",
        "description",
        "api_key_source",
        "policy",
        "endpoint_type",
        "binary_media_types",
        "cors_configuration",
        "route_selection_expression",
    ],
    fixed: &[("api_id", Fixed::Immutable("names the API"))],
};

/// What UpdateResource may change.
const RESOURCE_UPDATE: Updatable = Updatable {
    request: "UpdateResourceRequest",
    resource: "Resource",
    fields: &["parent_id", "path_part"],
    fixed: &[
        ("api_id", Fixed::Immutable("names the API")),
        ("resource_id", Fixed::Immutable("names the resource")),
    ],
};

/// What UpdateAuthorizer may change.
const AUTHORIZER_UPDATE: Updatable = Updatable {
    request: "Authorizer",
    resource: "Authorizer",
    fields: &[
        "name",
        "identity_source",
        "jwt",
        "authorizer_uri",
        "result_ttl_seconds",
        "identity_validation_expression",
        "timeout_ms",
    ],
    fixed: &[
        ("id", Fixed::Immutable("names the authorizer")),
        ("api_id", Fixed::Immutable("names the API")),
        (
            "type",
            Fixed::Immutable(
                "methods chose JWT or CUSTOM to match it; create a new authorizer instead",
            ),
        ),
    ],
};

fn load_resource(view: &View, api_id: &str, resource_id: &str) -> ApiResult<Resource> {
    load_by_id(
        view,
        "resource_id",
        resource_id,
        |id| keys::resource(api_id, id),
        |id| format!("resource '{id}' of API '{api_id}'"),
    )
}

fn load_method(view: &View, key: &MethodKey) -> ApiResult<Method> {
    let api = load_api(view, &key.api_id)?;
    let http_method = validate::method_key("http_method", api.protocol(), &key.http_method)?;
    view.get(&keys::method(&key.api_id, &key.resource_id, &http_method))?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "method {http_method} on resource '{}' of API '{}'",
                key.resource_id, key.api_id
            ))
        })
}

pub(crate) fn child_path(parent_path: &str, part: &str) -> String {
    if parent_path == "/" {
        format!("/{part}")
    } else {
        format!("{parent_path}/{part}")
    }
}

/// The children of one resource, as [`check_placement`] needs them: their
/// path parts and the variable part among them (at most one). The handler
/// builds it from the store for each call; `apply` keeps one per parent as
/// it adds resources, so a parent with 10,000 children costs no scan per
/// child.
#[derive(Debug, Default)]
pub(crate) struct Siblings {
    parts: std::collections::HashSet<String>,
    variable: Option<String>,
}

impl Siblings {
    pub(crate) fn of<'a>(children: impl IntoIterator<Item = &'a Resource>) -> Self {
        let mut siblings = Self::default();
        for child in children {
            siblings.add(&child.path_part);
        }
        siblings
    }

    pub(crate) fn add(&mut self, part: &str) {
        if part.starts_with('{') {
            self.variable = Some(part.to_owned());
        }
        self.parts.insert(part.to_owned());
    }
}

/// Checks that `part` may sit under `parent` next to `siblings`, as AWS
/// requires: unique parts, at most one variable part per parent, nothing
/// under a greedy part, and no parameter name twice along a path. `field`
/// names the path part in the refusal.
pub(crate) fn check_placement(
    field: &str,
    parent: &Resource,
    part: &str,
    siblings: &Siblings,
) -> ApiResult<()> {
    let parsed = validate::path_part(field, part)?;
    if parent.path.ends_with("+}") {
        return Err(ApiError::invalid(
            if field == "path_part" {
                "parent_id"
            } else {
                field
            },
            format!(
                "'{}' is a greedy path variable and cannot have child resources",
                parent.path
            ),
        ));
    }
    let is_variable = !matches!(parsed, PathPart::Literal(_));
    if siblings.parts.contains(part) {
        return Err(ApiError::AlreadyExists(format!(
            "resource '{}'",
            child_path(&parent.path, part)
        )));
    }
    if is_variable && let Some(sibling) = &siblings.variable {
        return Err(ApiError::invalid(
            field,
            format!(
                "sibling '{sibling}' is already a variable path part; only one is allowed per parent"
            ),
        ));
    }
    if let PathPart::Param(name) | PathPart::Greedy(name) = parsed
        && archway_proto::path::param_names(&parent.path).any(|n| n == name)
    {
        return Err(ApiError::invalid(
            field,
            format!("parameter '{name}' is already used in '{}'", parent.path),
        ));
    }
    Ok(())
}

/// Rewrites the paths of `root` and all its descendants after a rename or a
/// move, and re-checks their methods' integrations against the new paths.
fn repath_subtree(txn: &mut Txn, api_id: &str, root: &Resource) -> ApiResult<()> {
    let all: Vec<Resource> = txn.scan(&keys::resources(api_id))?;
    let mut children: HashMap<&str, Vec<&Resource>> = HashMap::new();
    for r in &all {
        children.entry(r.parent_id.as_str()).or_default().push(r);
    }
    let api = load_api(txn, api_id)?;
    let mut stack = vec![(root.id.clone(), root.path.clone())];
    while let Some((id, path)) = stack.pop() {
        for method in txn.scan::<Method>(&keys::methods_of_resource(api_id, &id))? {
            let field = format!("resource '{path}' method {}", method.http_method);
            let integration_field = format!("{field}.integration");
            check_method(txn, &api, &field, &integration_field, &method, &path)?;
        }
        for child in children.get(id.as_str()).into_iter().flatten() {
            let mut child = (*child).clone();
            child.path = child_path(&path, &child.path_part);
            txn.put(&keys::resource(api_id, &child.id), &child);
            stack.push((child.id.clone(), child.path.clone()));
        }
    }
    Ok(())
}
/// The checks of an API's own fields (name, description, protocol, key
/// source, endpoint type, binary media types, CORS, route selection
/// expression), shared by CreateRestApi, UpdateRestApi and
/// ApplyConfiguration: every refusal, each naming `field(name)` (a handler
/// answers with the first, a document reports them all), and the protocol
/// as stored (unspecified is REST; REST where refused).
pub(crate) fn check_api_fields(api: &RestApi) -> (ApiProtocol, Vec<ApiError>) {
    let mut errors = Vec::new();
    let mut note = |result: ApiResult<()>| {
        if let Err(e) = result {
            errors.push(e);
        }
    };
    note(validate::name("name", &api.name));
    note(validate::max_len("description", &api.description, 4096));
    note(validate::api_key_source(
        "api_key_source",
        api.api_key_source,
    ));
    note(validate::endpoint_type("endpoint_type", api.endpoint_type));
    let (protocol, protocol_known) = match validate::protocol("protocol", api.protocol) {
        Ok(p) => (p, true),
        Err(e) => {
            errors.push(e);
            (ApiProtocol::Rest, false)
        }
    };
    let rules = |r: archway_proto::rules::Checked| r.map_err(ApiError::from);
    if let Err(e) = rules(archway_proto::rules::cors::binary_media_types(
        "binary_media_types",
        &api.binary_media_types,
    )) {
        errors.push(e);
    }
    if let Some(cors) = &api.cors_configuration
        && let Err(e) = rules(archway_proto::rules::cors::cors(
            "cors_configuration",
            cors,
            protocol,
        ))
    {
        errors.push(e);
    }
    // Against the protocol given (an unknown one has no such rules).
    if protocol_known && let Err(e) = validate::websocket_api(api, protocol) {
        errors.push(e);
    }
    (protocol, errors)
}

/// The API's resource policy must parse as nodes will read it: with
/// `execute-api:/…` resources expanded to this API's ARN.
pub(crate) fn check_resource_policy(view: &View, api: &RestApi) -> ApiResult<()> {
    validate::endpoint_type("endpoint_type", api.endpoint_type)?;
    if api.policy.trim().is_empty() {
        return Ok(());
    }
    validate::max_len("policy", &api.policy, 20 * 1024)?;
    let text = |key| -> ApiResult<String> {
        Ok(String::from_utf8_lossy(&view.get_raw(key)?.unwrap_or_default()).into_owned())
    };
    let (region, account) = (text(keys::REGION)?, text(keys::ACCOUNT_ID)?);
    let options = archway_proto::policy::ParseOptions {
        kind: archway_proto::policy::PolicyKind::Resource,
        api: Some(archway_proto::policy::ApiRef {
            region: &region,
            account: &account,
            api_id: &api.id,
        }),
    };
    archway_proto::policy::Policy::parse_with(&api.policy, &options)
        .map_err(|e| ApiError::invalid(format!("policy.{}", e.field), e.reason))?;
    Ok(())
}

/// A method's declarations (request parameters, models, validator, method
/// responses) and its integration, where it is: its resource's path, its
/// API's protocol, and the API's models, validators and authorizers as
/// `lookups` find them (WEBSOCKET APIs' `$connect` takes REQUEST
/// authorizers only). `field` names the method (`method`, or a
/// document path); the integration is reported as `integration_field`.
pub(crate) fn check_method_with(
    field: &str,
    integration_field: &str,
    method: &Method,
    resource_path: &str,
    protocol: ApiProtocol,
    lookups: ApiLookups<
        impl Fn(&str) -> ApiResult<bool>,
        impl Fn(&str) -> ApiResult<bool>,
        impl Fn(&str) -> ApiResult<Option<AuthorizerType>>,
    >,
) -> ApiResult<()> {
    let ApiLookups {
        model_exists,
        validator_exists,
        authorizer_type,
    } = lookups;
    let authorizer = if method.authorizer_id.is_empty() {
        None
    } else {
        authorizer_type(&method.authorizer_id)?
    };
    // The integration's refusals named as the caller names it (PutIntegration:
    // `integration`).
    validate::method_in(field, method, protocol, authorizer).map_err(|e| {
        super::deployments::rebase(e, &format!("{field}.integration"), integration_field)
    })?;
    archway_proto::rules::method::declarations_in(
        field,
        method,
        resource_path,
        protocol == ApiProtocol::Websocket,
    )?;
    let missing_model = |at: String, name: &str| {
        ApiError::invalid(at, format!("model '{name}' does not exist in this API"))
    };
    for (content_type, name) in &method.request_models {
        if !model_exists(name)? {
            return Err(missing_model(
                format!("{field}.request_models[\"{content_type}\"]"),
                name,
            ));
        }
    }
    for (i, r) in method.method_responses.iter().enumerate() {
        for (content_type, name) in &r.response_models {
            if !model_exists(name)? {
                return Err(missing_model(
                    format!("{field}.method_responses[{i}].response_models[\"{content_type}\"]"),
                    name,
                ));
            }
        }
    }
    if !method.request_validator_id.is_empty() && !validator_exists(&method.request_validator_id)? {
        return Err(ApiError::invalid(
            format!("{field}.request_validator_id"),
            format!(
                "request validator '{}' does not exist in this API",
                method.request_validator_id
            ),
        ));
    }
    if let Some(integration) = &method.integration {
        let scope = archway_proto::rules::integration::Scope {
            resource_path,
            protocol: Some(protocol),
            method: Some(method),
        };
        validate::integration_in(integration_field, integration, &scope)?;
    }
    Ok(())
}

/// How [`check_method_with`] finds what a method names in its API: a model
/// by name, a request validator by id (do they exist?) and an authorizer's
/// type by id (None: no such authorizer).
pub(crate) struct ApiLookups<M, V, A> {
    pub model_exists: M,
    pub validator_exists: V,
    pub authorizer_type: A,
}

/// [`check_method_with`] against the store, for a method of `api` (which
/// the caller has loaded).
fn check_method(
    view: &View,
    api: &RestApi,
    field: &str,
    integration_field: &str,
    method: &Method,
    resource_path: &str,
) -> ApiResult<()> {
    check_method_with(
        field,
        integration_field,
        method,
        resource_path,
        api.protocol(),
        ApiLookups {
            model_exists: |name: &str| Ok(view.get_raw(&keys::model(&api.id, name))?.is_some()),
            validator_exists: |id: &str| {
                Ok(view
                    .get_raw(&keys::request_validator(&api.id, id))?
                    .is_some())
            },
            authorizer_type: |id: &str| {
                Ok(view
                    .get::<Authorizer>(&keys::authorizer(&api.id, id))?
                    .map(|a| a.r#type()))
            },
        },
    )?;
    // Most routes have no operation name: then there is nothing to compare.
    if method.operation_name.is_empty() {
        return Ok(());
    }
    let others = view.scan::<Method>(&keys::methods_of_api(&api.id))?;
    match operation_name_clash(method, &others) {
        Some(other) => Err(operation_name_taken(field, method, other)),
        None => Ok(()),
    }
}

/// Another route of the API (of `others`) with `method`'s operation name,
/// case aside: generated SDKs name a method after it, so it is one route's.
pub(crate) fn operation_name_clash<'m>(
    method: &Method,
    others: &'m [Method],
) -> Option<&'m Method> {
    if method.operation_name.is_empty() {
        return None;
    }
    others.iter().find(|o| {
        (&o.resource_id, &o.http_method) != (&method.resource_id, &method.http_method)
            && o.operation_name
                .eq_ignore_ascii_case(&method.operation_name)
    })
}

/// The refusal of an operation name `other` has already.
pub(crate) fn operation_name_taken(field: &str, method: &Method, other: &Method) -> ApiError {
    ApiError::invalid(
        format!("{field}.operation_name"),
        format!(
            "'{}' is already the operation name of {} on resource '{}' (SDK methods are named after it, so it is one route's)",
            method.operation_name, other.http_method, other.resource_id
        ),
    )
}

/// NONE, AWS_IAM, or JWT / CUSTOM with an authorizer of that kind in the
/// same API (as stored).
fn check_authorization(view: &View, method: &mut Method) -> ApiResult<()> {
    let api_id = method.api_id.clone();
    check_authorization_with("method", method, |id| {
        Ok(view
            .get::<Authorizer>(&keys::authorizer(&api_id, id))?
            .map(|a| a.r#type()))
    })
}

/// NONE, AWS_IAM, or JWT / CUSTOM with an authorizer of that kind, whose
/// type `authorizer_type` looks up by id (None: no such authorizer in this
/// API); normalizes the authorization type. `field` names the method in
/// refusals (`method`, or a document path).
pub(crate) fn check_authorization_with(
    field: &str,
    method: &mut Method,
    authorizer_type: impl FnOnce(&str) -> ApiResult<Option<AuthorizerType>>,
) -> ApiResult<()> {
    let kind = method.authorization_type.to_ascii_uppercase();
    let kind = match kind.as_str() {
        "" => "NONE",
        other => other,
    };
    match kind {
        "NONE" | "AWS_IAM" => {
            if !method.authorizer_id.is_empty() {
                return Err(ApiError::invalid(
                    format!("{field}.authorizer_id"),
                    "an authorizer needs authorization_type JWT or CUSTOM",
                ));
            }
        }
        "JWT" | "CUSTOM" => {
            required(&format!("{field}.authorizer_id"), &method.authorizer_id)?;
            let Some(authorizer_type) = authorizer_type(&method.authorizer_id)? else {
                return Err(ApiError::invalid(
                    format!("{field}.authorizer_id"),
                    format!(
                        "authorizer '{}' does not exist in this API",
                        method.authorizer_id
                    ),
                ));
            };
            let is_jwt = authorizer_type == AuthorizerType::Jwt;
            if is_jwt != (kind == "JWT") {
                return Err(ApiError::invalid(
                    format!("{field}.authorization_type"),
                    format!(
                        "authorizer '{}' is a {} authorizer; use authorization_type {}",
                        method.authorizer_id,
                        AUTHORIZER_TYPE.short(authorizer_type),
                        if is_jwt { "JWT" } else { "CUSTOM" }
                    ),
                ));
            }
        }
        other => {
            return Err(ApiError::invalid(
                format!("{field}.authorization_type"),
                format!("'{other}' is not one of NONE, AWS_IAM, JWT or CUSTOM"),
            ));
        }
    }
    if kind != "JWT" && !method.authorization_scopes.is_empty() {
        return Err(ApiError::invalid(
            format!("{field}.authorization_scopes"),
            "scopes need authorization_type JWT",
        ));
    }
    method.authorization_type = kind.into();
    Ok(())
}

/// A WEBSOCKET API has its root resource only: its routes are keys on it,
/// not paths (AWS's WebSocket APIs have no resources).
fn refuse_websocket_resources(api: &RestApi) -> ApiResult<()> {
    if api.protocol() == ApiProtocol::Websocket {
        return Err(ApiError::invalid(
            "api_id",
            format!(
                "API '{}' is a WEBSOCKET API: it has no resources besides its root; put its routes (PutMethod with a route key such as $connect or sendMessage) on the root resource",
                api.id
            ),
        ));
    }
    Ok(())
}

/// Every key an API's records live under (the API, its resources, methods,
/// deployments, stages, authorizers, models, request validators and gateway
/// responses): what deleting the API deletes.
pub(crate) fn api_record_keys(view: &View, api_id: &str) -> Vec<String> {
    let mut all = vec![keys::api(api_id)];
    for prefix in [
        keys::resources(api_id),
        keys::methods_of_api(api_id),
        keys::deployments(api_id),
        keys::stages(api_id),
        keys::authorizers(api_id),
        keys::models(api_id),
        keys::request_validators(api_id),
        keys::gateway_responses(api_id),
    ] {
        all.extend(view.keys_under(&prefix));
    }
    all
}

/// A field error of a request's body message named as the request names it
/// (`authorizer.name`); mask errors keep their `update_mask` field.
pub(crate) fn prefixed(body: &str, err: ApiError) -> ApiError {
    err.map_field(|field| {
        if field.starts_with("update_mask") {
            field
        } else {
            format!("{body}.{field}")
        }
    })
}

fn load_authorizer(view: &View, api_id: &str, id: &str) -> ApiResult<Authorizer> {
    load_by_id(
        view,
        "authorizer_id",
        id,
        |id| keys::authorizer(api_id, id),
        |id| format!("authorizer '{id}' of API '{api_id}'"),
    )
}

#[tonic::async_trait]
impl RestApiService for RestApis {
    async fn create_model(
        &self,
        request: Request<PutModelRequest>,
    ) -> Result<Response<Model>, Status> {
        Ok(Response::new(
            super::models::create(&self.state, request.into_inner()).await?,
        ))
    }

    async fn get_model(
        &self,
        request: Request<GetModelRequest>,
    ) -> Result<Response<Model>, Status> {
        Ok(Response::new(super::models::get(
            &self.state,
            request.into_inner(),
        )?))
    }

    async fn list_models(
        &self,
        request: Request<ListModelsRequest>,
    ) -> Result<Response<ListModelsResponse>, Status> {
        Ok(Response::new(super::models::list(
            &self.state,
            request.into_inner(),
        )?))
    }

    async fn update_model(
        &self,
        request: Request<UpdateModelRequest>,
    ) -> Result<Response<Model>, Status> {
        Ok(Response::new(
            super::models::update(&self.state, request.into_inner()).await?,
        ))
    }

    async fn delete_model(
        &self,
        request: Request<GetModelRequest>,
    ) -> Result<Response<Empty>, Status> {
        Ok(Response::new(
            super::models::delete(&self.state, request.into_inner()).await?,
        ))
    }

    async fn create_request_validator(
        &self,
        request: Request<PutRequestValidatorRequest>,
    ) -> Result<Response<RequestValidator>, Status> {
        Ok(Response::new(
            super::validators::create(&self.state, request.into_inner()).await?,
        ))
    }

    async fn get_request_validator(
        &self,
        request: Request<GetRequestValidatorRequest>,
    ) -> Result<Response<RequestValidator>, Status> {
        Ok(Response::new(super::validators::get(
            &self.state,
            request.into_inner(),
        )?))
    }

    async fn list_request_validators(
        &self,
        request: Request<ListRequestValidatorsRequest>,
    ) -> Result<Response<ListRequestValidatorsResponse>, Status> {
        Ok(Response::new(super::validators::list(
            &self.state,
            request.into_inner(),
        )?))
    }

    async fn update_request_validator(
        &self,
        request: Request<UpdateRequestValidatorRequest>,
    ) -> Result<Response<RequestValidator>, Status> {
        Ok(Response::new(
            super::validators::update(&self.state, request.into_inner()).await?,
        ))
    }

    async fn delete_request_validator(
        &self,
        request: Request<GetRequestValidatorRequest>,
    ) -> Result<Response<Empty>, Status> {
        Ok(Response::new(
            super::validators::delete(&self.state, request.into_inner()).await?,
        ))
    }

    async fn put_gateway_response(
        &self,
        request: Request<PutGatewayResponseRequest>,
    ) -> Result<Response<GatewayResponse>, Status> {
        Ok(Response::new(
            super::gateway_responses::put(&self.state, request.into_inner()).await?,
        ))
    }

    async fn get_gateway_response(
        &self,
        request: Request<GetGatewayResponseRequest>,
    ) -> Result<Response<GatewayResponse>, Status> {
        Ok(Response::new(super::gateway_responses::get(
            &self.state,
            request.into_inner(),
        )?))
    }

    async fn list_gateway_responses(
        &self,
        request: Request<ListGatewayResponsesRequest>,
    ) -> Result<Response<ListGatewayResponsesResponse>, Status> {
        Ok(Response::new(super::gateway_responses::list(
            &self.state,
            request.into_inner(),
        )?))
    }

    async fn delete_gateway_response(
        &self,
        request: Request<GetGatewayResponseRequest>,
    ) -> Result<Response<Empty>, Status> {
        Ok(Response::new(
            super::gateway_responses::delete(&self.state, request.into_inner()).await?,
        ))
    }

    async fn create_authorizer(
        &self,
        request: Request<PutAuthorizerRequest>,
    ) -> Result<Response<Authorizer>, Status> {
        let a = body("authorizer", request.into_inner().authorizer)?;
        validate::authorizer(&a)?;
        let a = self
            .state
            .write(|txn| {
                let mut a = a.clone();
                let api = load_api(txn, &a.api_id)?;
                validate::authorizer_in("authorizer.type", api.protocol(), a.r#type())?;
                a.id = unused_id(txn, 8, |id| keys::authorizer(&a.api_id, id))?;
                txn.put(&keys::authorizer(&a.api_id, &a.id), &a);
                Ok::<_, ApiError>(a)
            })
            .await?;
        Ok(Response::new(a))
    }

    async fn get_authorizer(
        &self,
        request: Request<GetAuthorizerRequest>,
    ) -> Result<Response<Authorizer>, Status> {
        let req = request.into_inner();
        let a = self.state.read(|txn| {
            load_api(txn, &req.api_id)?;
            load_authorizer(txn, &req.api_id, &req.authorizer_id)
        })?;
        Ok(Response::new(a))
    }

    async fn list_authorizers(
        &self,
        request: Request<ListAuthorizersRequest>,
    ) -> Result<Response<ListAuthorizersResponse>, Status> {
        let req = request.into_inner();
        let (items, next_page_token) = self.state.read(|view| {
            page_of_api(
                view,
                &req.api_id,
                keys::authorizers,
                req.page_size,
                &req.page_token,
            )
        })?;
        Ok(Response::new(ListAuthorizersResponse {
            items,
            next_page_token,
        }))
    }

    async fn update_authorizer(
        &self,
        request: Request<UpdateAuthorizerRequest>,
    ) -> Result<Response<Authorizer>, Status> {
        let req = request.into_inner();
        let patch = body("authorizer", req.authorizer)?;
        let a = self
            .state
            .write(|txn| {
                load_api(txn, &patch.api_id)?;
                let old = load_authorizer(txn, &patch.api_id, &patch.id)?;
                let a = merge(&old, &patch, req.update_mask.as_ref(), &AUTHORIZER_UPDATE)
                    .map_err(|e| prefixed("authorizer", e))?;
                validate::authorizer(&a)?;
                txn.put(&keys::authorizer(&a.api_id, &a.id), &a);
                Ok::<_, ApiError>(a)
            })
            .await?;
        Ok(Response::new(a))
    }

    async fn delete_authorizer(
        &self,
        request: Request<GetAuthorizerRequest>,
    ) -> Result<Response<Empty>, Status> {
        let req = request.into_inner();
        self.state
            .write(|txn| {
                load_api(txn, &req.api_id)?;
                load_authorizer(txn, &req.api_id, &req.authorizer_id)?;
                refuse_if_used(
                    txn.scan::<Method>(&keys::methods_of_api(&req.api_id))?,
                    |m| m.authorizer_id == req.authorizer_id,
                    |m| {
                        format!(
                            "method {} on resource '{}' uses authorizer '{}'",
                            m.http_method, m.resource_id, req.authorizer_id
                        )
                    },
                )?;
                txn.delete(&keys::authorizer(&req.api_id, &req.authorizer_id));
                Ok(())
            })
            .await?;
        Ok(Response::new(Empty {}))
    }

    async fn create_rest_api(
        &self,
        request: Request<CreateRestApiRequest>,
    ) -> Result<Response<RestApi>, Status> {
        let req = request.into_inner();
        let (protocol, errors) = check_api_fields(&RestApi {
            name: req.name.clone(),
            description: req.description.clone(),
            protocol: req.protocol,
            api_key_source: req.api_key_source,
            endpoint_type: req.endpoint_type,
            binary_media_types: req.binary_media_types.clone(),
            cors_configuration: req.cors_configuration.clone(),
            route_selection_expression: req.route_selection_expression.clone(),
            ..Default::default()
        });
        if let Some(e) = errors.into_iter().next() {
            return Err(e.into());
        }
        if !req.id.is_empty() {
            validate::api_id("id", &req.id)?;
        }
        let api = self
            .state
            .write(|txn| {
                let id = if req.id.is_empty() {
                    unused_id(txn, 10, keys::api)?
                } else {
                    ensure_absent(txn, &keys::api(&req.id), || format!("API '{}'", req.id))?;
                    req.id.clone()
                };
                let root = Resource {
                    id: ids::generate(10),
                    api_id: id.clone(),
                    parent_id: String::new(),
                    path_part: String::new(),
                    path: "/".into(),
                };
                let api = RestApi {
                    id: id.clone(),
                    name: req.name.clone(),
                    description: req.description.clone(),
                    protocol: protocol as i32,
                    root_resource_id: root.id.clone(),
                    created_at_ms: ids::now_ms(),
                    api_key_source: req.api_key_source,
                    policy: req.policy.clone(),
                    endpoint_type: req.endpoint_type,
                    binary_media_types: req.binary_media_types.clone(),
                    cors_configuration: req.cors_configuration.clone(),
                    route_selection_expression: req.route_selection_expression.clone(),
                };
                check_resource_policy(txn, &api)?;
                txn.put(&keys::resource(&id, &root.id), &root);
                txn.put(&keys::api(&id), &api);
                Ok::<_, ApiError>(api)
            })
            .await?;
        // The API record itself travels to nodes (for its protocol).
        Ok(Response::new(api))
    }

    async fn get_rest_api(
        &self,
        request: Request<GetRestApiRequest>,
    ) -> Result<Response<RestApi>, Status> {
        let req = request.into_inner();
        let api = self.state.read(|txn| load_api(txn, &req.api_id))?;
        Ok(Response::new(api))
    }

    async fn list_rest_apis(
        &self,
        request: Request<ListRestApisRequest>,
    ) -> Result<Response<ListRestApisResponse>, Status> {
        let req = request.into_inner();
        let (items, next_page_token) =
            self.state
                .list_page(keys::APIS, req.page_size, &req.page_token)?;
        Ok(Response::new(ListRestApisResponse {
            items,
            next_page_token,
        }))
    }

    async fn update_rest_api(
        &self,
        request: Request<UpdateRestApiRequest>,
    ) -> Result<Response<RestApi>, Status> {
        let req = request.into_inner();
        let api = self
            .state
            .write(|txn| {
                let stored = load_api(txn, &req.api_id)?;
                let api = merge(&stored, &req, req.update_mask.as_ref(), &API_UPDATE)?;
                if let Some(e) = check_api_fields(&api).1.into_iter().next() {
                    return Err(e);
                }
                check_resource_policy(txn, &api)?;
                txn.put(&keys::api(&api.id), &api);
                Ok::<_, ApiError>(api)
            })
            .await?;
        Ok(Response::new(api))
    }

    async fn delete_rest_api(
        &self,
        request: Request<DeleteRestApiRequest>,
    ) -> Result<Response<Empty>, Status> {
        let req = request.into_inner();
        self.state
            .write(|txn| {
                load_api(txn, &req.api_id)?;
                for key in api_record_keys(txn, &req.api_id) {
                    txn.delete(&key);
                }
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(Response::new(Empty {}))
    }

    async fn create_resource(
        &self,
        request: Request<CreateResourceRequest>,
    ) -> Result<Response<Resource>, Status> {
        let req = request.into_inner();
        let resource = self
            .state
            .write(|txn| {
                refuse_websocket_resources(&load_api(txn, &req.api_id)?)?;
                let parent =
                    load_resource(txn, &req.api_id, &req.parent_id).map_err(|e| match e {
                        ApiError::NotFound(what) => {
                            ApiError::invalid("parent_id", format!("{what} not found"))
                        }
                        other => other,
                    })?;
                let all = txn.scan::<Resource>(&keys::resources(&req.api_id))?;
                let siblings = Siblings::of(all.iter().filter(|r| r.parent_id == parent.id));
                check_placement("path_part", &parent, &req.path_part, &siblings)?;
                let resource = Resource {
                    id: unused_id(txn, 10, |id| keys::resource(&req.api_id, id))?,
                    api_id: req.api_id.clone(),
                    parent_id: parent.id.clone(),
                    path_part: req.path_part.clone(),
                    path: child_path(&parent.path, &req.path_part),
                };
                txn.put(&keys::resource(&req.api_id, &resource.id), &resource);
                Ok::<_, ApiError>(resource)
            })
            .await?;
        Ok(Response::new(resource))
    }

    async fn get_resource(
        &self,
        request: Request<GetResourceRequest>,
    ) -> Result<Response<Resource>, Status> {
        let req = request.into_inner();
        let resource = self.state.read(|txn| {
            load_api(txn, &req.api_id)?;
            load_resource(txn, &req.api_id, &req.resource_id)
        })?;
        Ok(Response::new(resource))
    }

    async fn list_resources(
        &self,
        request: Request<ListResourcesRequest>,
    ) -> Result<Response<ListResourcesResponse>, Status> {
        let req = request.into_inner();
        let (items, next_page_token) = self.state.read(|view| {
            page_of_api(
                view,
                &req.api_id,
                keys::resources,
                req.page_size,
                &req.page_token,
            )
        })?;
        Ok(Response::new(ListResourcesResponse {
            items,
            next_page_token,
        }))
    }

    async fn update_resource(
        &self,
        request: Request<UpdateResourceRequest>,
    ) -> Result<Response<Resource>, Status> {
        let req = request.into_inner();
        let resource = self
            .state
            .write(|txn| {
                load_api(txn, &req.api_id)?;
                let mut resource = load_resource(txn, &req.api_id, &req.resource_id)?;
                if resource.parent_id.is_empty() {
                    return Err(ApiError::invalid(
                        "resource_id",
                        "the root resource '/' cannot be renamed or moved",
                    ));
                }
                let wanted = merge(&resource, &req, req.update_mask.as_ref(), &RESOURCE_UPDATE)?;
                required("parent_id", &wanted.parent_id)?;
                let parent = load_resource(txn, &req.api_id, &wanted.parent_id)?;
                let own_prefix = format!("{}/", resource.path);
                if parent.id == resource.id || parent.path.starts_with(&own_prefix) {
                    return Err(ApiError::invalid(
                        "parent_id",
                        "a resource cannot move under itself or its descendants",
                    ));
                }
                let all = txn.scan::<Resource>(&keys::resources(&req.api_id))?;
                let siblings = Siblings::of(
                    all.iter()
                        .filter(|r| r.parent_id == parent.id && r.id != resource.id),
                );
                check_placement("path_part", &parent, &wanted.path_part, &siblings)?;
                resource.parent_id = parent.id.clone();
                resource.path = child_path(&parent.path, &wanted.path_part);
                resource.path_part = wanted.path_part;
                txn.put(&keys::resource(&req.api_id, &resource.id), &resource);
                repath_subtree(txn, &req.api_id, &resource)?;
                Ok(resource)
            })
            .await?;
        Ok(Response::new(resource))
    }

    async fn delete_resource(
        &self,
        request: Request<DeleteResourceRequest>,
    ) -> Result<Response<Empty>, Status> {
        let req = request.into_inner();
        self.state
            .write(|txn| {
                load_api(txn, &req.api_id)?;
                let resource = load_resource(txn, &req.api_id, &req.resource_id)?;
                if resource.parent_id.is_empty() {
                    return Err(ApiError::invalid(
                        "resource_id",
                        "the root resource '/' cannot be deleted",
                    ));
                }
                let own_prefix = format!("{}/", resource.path);
                for r in txn.scan::<Resource>(&keys::resources(&req.api_id))? {
                    if r.id == resource.id || r.path.starts_with(&own_prefix) {
                        txn.delete(&keys::resource(&req.api_id, &r.id));
                        txn.delete_prefix(&keys::methods_of_resource(&req.api_id, &r.id))?;
                    }
                }
                Ok(())
            })
            .await?;
        Ok(Response::new(Empty {}))
    }

    async fn put_method(
        &self,
        request: Request<PutMethodRequest>,
    ) -> Result<Response<Method>, Status> {
        let method = body("method", request.into_inner().method)?;
        let method = self
            .state
            .write(|txn| {
                let mut method = method.clone();
                let api = load_api(txn, &method.api_id)?;
                method.http_method = validate::method_key(
                    "method.http_method",
                    api.protocol(),
                    &method.http_method,
                )?;
                let resource = load_resource(txn, &method.api_id, &method.resource_id)?;
                let path = &resource.path;
                check_method(txn, &api, "method", "method.integration", &method, path)?;
                check_authorization(txn, &mut method)?;
                txn.put(
                    &keys::method(&method.api_id, &method.resource_id, &method.http_method),
                    &method,
                );
                Ok::<_, ApiError>(method)
            })
            .await?;
        Ok(Response::new(method))
    }

    async fn get_method(&self, request: Request<MethodKey>) -> Result<Response<Method>, Status> {
        let key = request.into_inner();
        let method = self.state.read(|txn| load_method(txn, &key))?;
        Ok(Response::new(method))
    }

    async fn list_methods(
        &self,
        request: Request<ListMethodsRequest>,
    ) -> Result<Response<ListMethodsResponse>, Status> {
        let req = request.into_inner();
        let (items, next_page_token) = self.state.read(|txn| {
            load_api(txn, &req.api_id)?;
            let prefix = if req.resource_id.is_empty() {
                keys::methods_of_api(&req.api_id)
            } else {
                load_resource(txn, &req.api_id, &req.resource_id)?;
                keys::methods_of_resource(&req.api_id, &req.resource_id)
            };
            page_of(txn, &prefix, req.page_size, &req.page_token)
        })?;
        Ok(Response::new(ListMethodsResponse {
            items,
            next_page_token,
        }))
    }

    async fn delete_method(&self, request: Request<MethodKey>) -> Result<Response<Empty>, Status> {
        let key = request.into_inner();
        self.state
            .write(|txn| {
                let method = load_method(txn, &key)?;
                txn.delete(&keys::method(
                    &method.api_id,
                    &method.resource_id,
                    &method.http_method,
                ));
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(Response::new(Empty {}))
    }

    async fn put_integration(
        &self,
        request: Request<PutIntegrationRequest>,
    ) -> Result<Response<Integration>, Status> {
        let req = request.into_inner();
        let key = body("method", req.method)?;
        let integration = body("integration", req.integration)?;
        self.state
            .write(|txn| {
                let mut method = load_method(txn, &key)?;
                let api = load_api(txn, &method.api_id)?;
                let resource = load_resource(txn, &method.api_id, &method.resource_id)?;
                method.integration = Some(integration.clone());
                check_method(txn, &api, "method", "integration", &method, &resource.path)?;
                txn.put(
                    &keys::method(&method.api_id, &method.resource_id, &method.http_method),
                    &method,
                );
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(Response::new(integration))
    }

    async fn get_integration(
        &self,
        request: Request<MethodKey>,
    ) -> Result<Response<Integration>, Status> {
        let key = request.into_inner();
        let method = self.state.read(|txn| load_method(txn, &key))?;
        let integration = method.integration.ok_or_else(|| {
            ApiError::NotFound(format!(
                "integration of method {} on resource '{}'",
                method.http_method, method.resource_id
            ))
        })?;
        Ok(Response::new(integration))
    }

    async fn delete_integration(
        &self,
        request: Request<MethodKey>,
    ) -> Result<Response<Empty>, Status> {
        let key = request.into_inner();
        self.state
            .write(|txn| {
                let mut method = load_method(txn, &key)?;
                if method.integration.take().is_none() {
                    return Err(ApiError::NotFound("integration".into()));
                }
                txn.put(
                    &keys::method(&method.api_id, &method.resource_id, &method.http_method),
                    &method,
                );
                Ok(())
            })
            .await?;
        Ok(Response::new(Empty {}))
    }
}
