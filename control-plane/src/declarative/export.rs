//! From stored records to the document: what `ExportConfiguration` writes,
//! and the form the planner compares resources in (a field differs when it
//! reads differently in the file), so a diff speaks the file's language.
//!
//! Export is the inverse of the planner's reading: applying an exported
//! document to an empty control plane and exporting again gives the same
//! document. Secrets (key values, access keys) and deployments (history,
//! not configuration) are never exported.

use super::document::*;
use crate::api::deployments::ApiKinds;
use crate::enums::{
    API_KEY_SOURCE, API_PROTOCOL, AUTHORIZER_TYPE, CONTENT_HANDLING, ENDPOINT_TYPE,
    PASSTHROUGH_BEHAVIOR, QUOTA_PERIOD, UNAUTHORIZED_STRATEGY,
};
use crate::store::{StoreError, View, keys};
use archway_proto::v1::*;
use std::collections::{BTreeMap, HashMap};

/// An export: the document and what it leaves out.
#[derive(Debug, Default)]
pub struct Exported {
    pub document: ApplyFile,
    /// What the document cannot say faithfully and so leaves out (it stays
    /// as it is when the document is applied, unless pruned).
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Names the document matches resources by are shared, so the document
    /// would not apply back: each clash, and how to resolve it.
    #[error(
        "the configuration cannot be exported as a document that applies back, because a document names these by name and they share one: {}. Rename all but one of each (their update calls take a new name), then export again",
        .0.join("; ")
    )]
    SharedNames(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Each name that `records` (kind, (name, id)) share: `usage plans named
/// 'gold' (ids a, b)`.
fn shared_names<'r>(kind: &str, records: impl Iterator<Item = (&'r str, &'r str)>) -> Vec<String> {
    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, id) in records {
        by_name.entry(name).or_default().push(id);
    }
    by_name
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(name, ids)| format!("{kind} named '{name}' (ids {})", ids.join(", ")))
        .collect()
}

/// The whole current state as a document. Refused when it would not apply
/// back (names the document matches by are shared); routes it cannot say
/// are left out with a warning.
pub fn export(view: &View) -> Result<Exported, ExportError> {
    let mut apis: Vec<RestApi> = view.scan(keys::APIS)?;
    apis.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    let mut out = Exported::default();
    let mut clashes = Vec::new();
    for api in &apis {
        let records = ApiRecords::current(view, &api.id)?;
        clashes.extend(shared_names(
            &format!("authorizers of API '{}' ({})", api.name, api.id),
            records
                .kinds
                .authorizers
                .iter()
                .map(|a| (a.name.as_str(), a.id.as_str())),
        ));
        let spec = api_spec(view, api, records, &mut out.warnings)?;
        out.document.apis.push(spec);
    }
    let mut plans: Vec<UsagePlan> = view.scan(keys::USAGE_PLANS)?;
    plans.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    clashes.extend(shared_names(
        "usage plans",
        plans.iter().map(|p| (p.name.as_str(), p.id.as_str())),
    ));
    let plan_names: HashMap<String, String> = plans
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    out.document.usage_plans = plans.iter().map(usage_plan_spec).collect();
    let mut api_keys: Vec<ApiKey> = view.scan(keys::API_KEYS)?;
    api_keys.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    clashes.extend(shared_names(
        "API keys",
        api_keys.iter().map(|k| (k.name.as_str(), k.id.as_str())),
    ));
    out.document.api_keys = api_keys
        .iter()
        .map(|k| api_key_spec(k, &plan_names))
        .collect();
    for p in view.scan::<IamPrincipal>(keys::PRINCIPALS)? {
        let spec = principal_spec(&p);
        if p.r#type() == PrincipalType::Role {
            out.document.iam.roles.push(spec);
        } else {
            out.document.iam.users.push(spec);
        }
    }
    if !clashes.is_empty() {
        return Err(ExportError::SharedNames(clashes));
    }
    Ok(out)
}

/// The records an API's definition is made of: the store's current ones
/// ([`ApiRecords::current`]) or those a deployment froze
/// ([`ApiRecords::deployed`]). One reading of them, [`api_definition`],
/// serves the configuration export and the OpenAPI export of a stage alike.
pub(crate) struct ApiRecords {
    pub resources: Vec<Resource>,
    pub methods: Vec<Method>,
    pub kinds: ApiKinds,
}

impl ApiRecords {
    /// The API's records as they are now (undeployed changes included).
    pub(crate) fn current(view: &View, api_id: &str) -> Result<Self, StoreError> {
        Ok(Self {
            resources: view.scan(&keys::resources(api_id))?,
            methods: view.scan(&keys::methods_of_api(api_id))?,
            kinds: ApiKinds {
                authorizers: view.scan(&keys::authorizers(api_id))?,
                models: view.scan(&keys::models(api_id))?,
                request_validators: view.scan(&keys::request_validators(api_id))?,
                gateway_responses: view.scan(&keys::gateway_responses(api_id))?,
            },
        })
    }

    /// The records `deployment` froze, and `api` as it was deployed: the
    /// settings a deployment freezes (binary media types, CORS, the route
    /// selection expression) are the deployment's; the others (name, key
    /// source, policy, endpoint type) take effect without a deployment, so
    /// they are the API's own.
    pub(crate) fn deployed(api: &RestApi, deployment: Deployment) -> (RestApi, Self) {
        let api = RestApi {
            binary_media_types: deployment.binary_media_types,
            cors_configuration: deployment.cors_configuration,
            route_selection_expression: deployment.route_selection_expression,
            ..api.clone()
        };
        let records = Self {
            resources: deployment.resources,
            methods: deployment.methods,
            kinds: ApiKinds {
                authorizers: deployment.authorizers,
                models: deployment.models,
                request_validators: deployment.request_validators,
                gateway_responses: deployment.gateway_responses,
            },
        };
        (api, records)
    }
}

/// One API with its authorizers, routes and stages, as stored now.
fn api_spec(
    view: &View,
    api: &RestApi,
    records: ApiRecords,
    warnings: &mut Vec<String>,
) -> Result<ApiSpec, StoreError> {
    let mut stages: Vec<Stage> = view.scan(&keys::stages(&api.id))?;
    stages.sort_by(|a, b| a.stage_name.cmp(&b.stage_name));
    let mut without_integration = Vec::new();
    let spec = api_definition(api, records, &mut without_integration);
    for route in without_integration {
        warnings.push(format!(
            "route {route} of API '{}' ({}) has no integration, which a document cannot say, so it is left out: applying this document leaves it as it is (and the API's stages cannot get a new deployment while it has none) or, with --prune, deletes it. Give it an integration (or delete it) and export again",
            api.name, api.id
        ));
    }
    Ok(ApiSpec {
        stages: stages.iter().map(stage_spec).collect(),
        ..spec
    })
}

/// An API's definition (everything but its stages) from `records`, in the
/// document's order (by name; routes by path and verb). A method without
/// an integration (made through the per-resource API and not finished) has
/// no document form: left out, and named (`GET /path`) in
/// `without_integration` for the caller to warn about in its own terms.
pub(crate) fn api_definition(
    api: &RestApi,
    records: ApiRecords,
    without_integration: &mut Vec<String>,
) -> ApiSpec {
    let ApiRecords {
        resources,
        methods,
        kinds,
    } = records;
    let mut authorizers = kinds.authorizers;
    authorizers.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    let authorizer_names: HashMap<String, String> = authorizers
        .iter()
        .map(|a| (a.id.clone(), a.name.clone()))
        .collect();
    let paths: HashMap<String, String> = resources.into_iter().map(|r| (r.id, r.path)).collect();
    let mut validators = kinds.request_validators;
    validators.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    let validator_names: HashMap<String, String> = validators
        .iter()
        .map(|v| (v.id.clone(), v.name.clone()))
        .collect();
    let mut routes = Vec::new();
    for m in &methods {
        let Some(path) = paths.get(&m.resource_id) else {
            continue;
        };
        if m.integration.is_none() {
            without_integration.push(format!("{} {path}", m.http_method));
            continue;
        }
        routes.push(route_spec(
            m,
            path,
            api.protocol() == ApiProtocol::Websocket,
            |id| authorizer_names.get(id).map(String::as_str),
            |id| validator_names.get(id).map(String::as_str),
        ));
    }
    routes.sort_by(|a, b| {
        (&a.path, &a.method, &a.route_key).cmp(&(&b.path, &b.method, &b.route_key))
    });
    let mut models = kinds.models;
    models.sort_by(|a, b| a.name.cmp(&b.name));
    let mut gateway_responses = kinds.gateway_responses;
    gateway_responses.sort_by(|a, b| a.response_type.cmp(&b.response_type));
    ApiSpec {
        authorizers: authorizers.iter().map(authorizer_spec).collect(),
        models: models.iter().map(model_spec).collect(),
        request_validators: validators.iter().map(validator_spec).collect(),
        gateway_responses: gateway_responses
            .iter()
            .map(gateway_response_spec)
            .collect(),
        routes,
        ..api_fields(api)
    }
}

/// An API's own fields (no authorizers, routes or stages).
pub(crate) fn api_fields(api: &RestApi) -> ApiSpec {
    ApiSpec {
        name: api.name.clone(),
        id: Some(api.id.clone()),
        description: api.description.clone(),
        protocol: Some(API_PROTOCOL.short(api.protocol()).to_owned()),
        route_selection_expression: (!api.route_selection_expression.is_empty())
            .then(|| api.route_selection_expression.clone()),
        api_key_source: API_KEY_SOURCE.short_unless(api.api_key_source(), ApiKeySource::Header),
        policy: policy_value(&api.policy),
        endpoint_type: ENDPOINT_TYPE.short_unless(api.endpoint_type(), EndpointType::Regional),
        binary_media_types: api.binary_media_types.clone(),
        cors: api.cors_configuration.as_ref().map(cors_spec),
        ..Default::default()
    }
}

pub(crate) fn cors_spec(c: &CorsConfiguration) -> CorsSpec {
    CorsSpec {
        allow_origins: c.allow_origins.clone(),
        allow_methods: c.allow_methods.clone(),
        allow_headers: c.allow_headers.clone(),
        expose_headers: c.expose_headers.clone(),
        max_age_seconds: c.max_age_seconds,
        allow_credentials: c.allow_credentials,
    }
}

/// A model, its schema as JSON in the document (a string when the stored
/// text is not JSON, which the admin API never accepts).
pub(crate) fn model_spec(m: &Model) -> ModelSpec {
    ModelSpec {
        name: m.name.clone(),
        description: m.description.clone(),
        content_type: (m.content_type != "application/json" && !m.content_type.is_empty())
            .then(|| m.content_type.clone()),
        schema: serde_json::from_str(&m.schema)
            .unwrap_or_else(|_| serde_json::Value::String(m.schema.clone())),
    }
}

pub(crate) fn validator_spec(v: &RequestValidator) -> RequestValidatorSpec {
    RequestValidatorSpec {
        name: v.name.clone(),
        body: v.validate_request_body,
        parameters: v.validate_request_parameters,
    }
}

pub(crate) fn gateway_response_spec(r: &GatewayResponse) -> GatewayResponseSpec {
    GatewayResponseSpec {
        response_type: r.response_type.clone(),
        status_code: r.status_code.clone(),
        response_parameters: r.response_parameters.clone(),
        response_templates: r.response_templates.clone(),
    }
}

/// A policy as the document holds it: JSON, not a string of JSON.
fn policy_value(text: &str) -> Option<serde_json::Value> {
    if text.trim().is_empty() {
        return None;
    }
    Some(serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.into())))
}

/// A policy's stored text from the document's JSON: a string is the text
/// itself (not JSON of a string), anything else its compact JSON.
pub(crate) fn policy_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

pub(crate) fn authorizer_spec(a: &Authorizer) -> AuthorizerSpec {
    let kind = AUTHORIZER_TYPE.short(a.r#type()).to_owned();
    let jwt = a.jwt.clone().unwrap_or_default();
    let custom = a.r#type() != AuthorizerType::Jwt;
    AuthorizerSpec {
        name: a.name.clone(),
        kind,
        identity_source: a.identity_source.clone(),
        issuer: jwt.issuer,
        audiences: jwt.audiences,
        jwks_uri: jwt.jwks_uri,
        algorithms: jwt.algorithms,
        leeway_seconds: jwt.leeway_seconds,
        uri: a.authorizer_uri.clone(),
        ttl_seconds: if custom { a.result_ttl_seconds } else { None },
        validation_expression: a.identity_validation_expression.clone(),
        timeout_ms: a.timeout_ms,
    }
}

/// A method as a route (by its key in a WEBSOCKET API, by path and verb
/// in the others); `authorizer_name` and `validator_name` name its API's
/// authorizers and request validators by id.
pub(crate) fn route_spec<'n>(
    m: &Method,
    path: &str,
    websocket: bool,
    authorizer_name: impl Fn(&str) -> Option<&'n str>,
    validator_name: impl Fn(&str) -> Option<&'n str>,
) -> RouteSpec {
    let (authorizer, authorization) = match m.authorization_type.as_str() {
        "JWT" | "CUSTOM" => (
            Some(
                authorizer_name(&m.authorizer_id)
                    .map_or_else(|| m.authorizer_id.clone(), str::to_owned),
            ),
            None,
        ),
        "" | "NONE" => (None, None),
        other => (None, Some(other.to_owned())),
    };
    let (route_key, path, method) = if websocket {
        (Some(m.http_method.clone()), String::new(), String::new())
    } else {
        (None, path.to_owned(), m.http_method.clone())
    };
    RouteSpec {
        route_key,
        path,
        method,
        operation_name: (!m.operation_name.is_empty()).then(|| m.operation_name.clone()),
        integration: integration_spec(m.integration.as_ref()),
        route_response_selection_expression: (!m.route_response_selection_expression.is_empty())
            .then(|| m.route_response_selection_expression.clone()),
        model_selection_expression: (!m.model_selection_expression.is_empty())
            .then(|| m.model_selection_expression.clone()),
        api_key_required: m.api_key_required,
        authorizer,
        authorization,
        scopes: m.authorization_scopes.clone(),
        request_parameters: m.request_parameters.clone(),
        request_models: m.request_models.clone(),
        request_validator: (!m.request_validator_id.is_empty()).then(|| {
            validator_name(&m.request_validator_id)
                .map_or_else(|| m.request_validator_id.clone(), str::to_owned)
        }),
        method_responses: m
            .method_responses
            .iter()
            .map(|r| MethodResponseSpec {
                status_code: r.status_code.clone(),
                response_parameters: r.response_parameters.clone(),
                response_models: r.response_models.clone(),
            })
            .collect(),
    }
}

fn integration_responses_of(i: &Integration) -> Vec<IntegrationResponseSpec> {
    i.integration_responses
        .iter()
        .map(|r| IntegrationResponseSpec {
            status_code: r.status_code.clone(),
            integration_response_key: r.integration_response_key.clone(),
            template_selection_expression: r.template_selection_expression.clone(),
            selection_pattern: r.selection_pattern.clone(),
            response_parameters: r.response_parameters.clone(),
            response_templates: r.response_templates.clone(),
            content_handling: CONTENT_HANDLING
                .short_unless(r.content_handling(), ContentHandling::Unspecified),
        })
        .collect()
}

fn integration_spec(integration: Option<&Integration>) -> IntegrationSpec {
    let Some(i) = integration else {
        // Only methods made through the per-resource API can lack one.
        // Export leaves them out; the planner compares a document's route
        // with such a method in this form (any document integration then
        // differs from it unless it is this very one).
        return IntegrationSpec::fixed_mock(200, BTreeMap::new(), String::new());
    };
    let http_method = (!i.http_method.is_empty()).then(|| i.http_method.clone());
    let timeout_ms = (i.timeout_ms != 0).then_some(i.timeout_ms);
    let passthrough_behavior = PASSTHROUGH_BEHAVIOR
        .short_unless(i.passthrough_behavior(), PassthroughBehavior::Unspecified);
    let content_handling =
        CONTENT_HANDLING.short_unless(i.content_handling(), ContentHandling::Unspecified);
    match i.r#type() {
        IntegrationType::Mock => {
            let mock = i.mock.clone().unwrap_or_default();
            IntegrationSpec::Mock {
                status: if i.mock.is_some() {
                    mock.status_code
                } else {
                    200
                },
                headers: mock.headers.into_iter().collect(),
                body: mock.body,
                request_parameters: i.request_parameters.clone(),
                request_templates: i.request_templates.clone(),
                template_selection_expression: i.template_selection_expression.clone(),
                passthrough_behavior,
                integration_responses: integration_responses_of(i),
            }
        }
        IntegrationType::Http => IntegrationSpec::Http {
            uri: i.uri.clone(),
            http_method,
            timeout_ms,
            cache_key_parameters: i.cache_key_parameters.clone(),
            request_parameters: i.request_parameters.clone(),
            request_templates: i.request_templates.clone(),
            template_selection_expression: i.template_selection_expression.clone(),
            passthrough_behavior,
            content_handling,
            integration_responses: integration_responses_of(i),
        },
        IntegrationType::Aws => IntegrationSpec::Aws {
            uri: i.uri.clone(),
            http_method,
            timeout_ms,
            credentials: i.credentials.clone(),
            endpoint_url: i.endpoint_url.clone(),
            cache_key_parameters: i.cache_key_parameters.clone(),
            request_parameters: i.request_parameters.clone(),
            request_templates: i.request_templates.clone(),
            passthrough_behavior,
            content_handling,
            integration_responses: integration_responses_of(i),
        },
        IntegrationType::AwsProxy => IntegrationSpec::AwsProxy {
            uri: i.uri.clone(),
            subtype: i.integration_subtype.clone(),
            payload_format_version: i.payload_format_version.clone(),
            timeout_ms,
            credentials: i.credentials.clone(),
            endpoint_url: i.endpoint_url.clone(),
            cache_key_parameters: i.cache_key_parameters.clone(),
            request_parameters: i.request_parameters.clone(),
            content_handling,
        },
        _ => IntegrationSpec::HttpProxy {
            uri: i.uri.clone(),
            http_method,
            timeout_ms,
            cache_key_parameters: i.cache_key_parameters.clone(),
            request_parameters: i.request_parameters.clone(),
        },
    }
}

/// A stage's settings; which deployments it serves is not configuration
/// the document holds (apply deploys when the API differs from them).
pub(crate) fn stage_spec(s: &Stage) -> StageSpec {
    let throttle_of = |m: &MethodThrottle| m.throttle.unwrap_or_default();
    let whole = s
        .method_settings
        .iter()
        .find(|m| m.resource_path == "*" && m.http_method == "*");
    StageSpec {
        name: s.stage_name.clone(),
        description: s.description.clone(),
        variables: s.variables.clone(),
        canary: s.canary.as_ref().map(|c| CanarySpec {
            percent_traffic: c.percent_traffic,
            stage_variable_overrides: c.stage_variable_overrides.clone(),
        }),
        access_log: s.access_log_settings.as_ref().map(|l| AccessLogSpec {
            format: l.format.clone(),
            destination: l.destination.clone(),
        }),
        throttle: whole.map(|m| {
            let t = throttle_of(m);
            ThrottleSpec {
                rate_limit: t.rate_limit,
                burst_limit: t.burst_limit,
            }
        }),
        method_throttles: s
            .method_settings
            .iter()
            .filter(|m| !(m.resource_path == "*" && m.http_method == "*"))
            .map(method_throttle_spec)
            .collect(),
        cache: stage_cache_spec(s),
    }
}

fn method_throttle_spec(m: &MethodThrottle) -> MethodThrottleSpec {
    let t = m.throttle.unwrap_or_default();
    MethodThrottleSpec {
        path: m.resource_path.clone(),
        method: m.http_method.clone(),
        rate_limit: t.rate_limit,
        burst_limit: t.burst_limit,
    }
}

fn stage_cache_spec(s: &Stage) -> Option<StageCacheSpec> {
    let configured = s.cache_cluster_enabled
        || !s.cache_cluster_size.is_empty()
        || s.cache_ttl_seconds.is_some()
        || !s.method_cache_settings.is_empty();
    configured.then(|| StageCacheSpec {
        enabled: s.cache_cluster_enabled,
        size: (!s.cache_cluster_size.is_empty()).then(|| s.cache_cluster_size.clone()),
        ttl_seconds: s.cache_ttl_seconds,
        methods: s
            .method_cache_settings
            .iter()
            .map(|m| MethodCacheSpec {
                path: m.resource_path.clone(),
                method: m.http_method.clone(),
                enabled: m.caching_enabled,
                ttl_seconds: m.cache_ttl_in_seconds,
                require_authorization: m.require_authorization_for_cache_control,
                unauthorized_strategy: UNAUTHORIZED_STRATEGY.short_unless(
                    m.unauthorized_cache_control_header_strategy(),
                    UnauthorizedCacheControlHeaderStrategy::Unspecified,
                ),
            })
            .collect(),
    })
}

pub(crate) fn usage_plan_spec(p: &UsagePlan) -> UsagePlanSpec {
    UsagePlanSpec {
        name: p.name.clone(),
        description: p.description.clone(),
        throttle: p.throttle.as_ref().map(|t| ThrottleSpec {
            rate_limit: t.rate_limit,
            burst_limit: t.burst_limit,
        }),
        quota: p.quota.as_ref().map(|q| QuotaSpec {
            limit: q.limit,
            period: QUOTA_PERIOD.short(q.period()).to_owned(),
            offset: q.offset,
        }),
        stages: p
            .api_stages
            .iter()
            .map(|s| PlanStageSpec {
                api: s.api_id.clone(),
                stage: s.stage.clone(),
                method_throttles: s.throttle.iter().map(method_throttle_spec).collect(),
            })
            .collect(),
    }
}

/// A key by name, with its plans by name; never its value.
pub(crate) fn api_key_spec(k: &ApiKey, plan_names: &HashMap<String, String>) -> ApiKeySpec {
    let mut usage_plans: Vec<String> = k
        .usage_plan_ids
        .iter()
        .map(|id| plan_names.get(id).cloned().unwrap_or_else(|| id.clone()))
        .collect();
    usage_plans.sort();
    ApiKeySpec {
        name: k.name.clone(),
        description: k.description.clone(),
        enabled: k.enabled,
        value: None,
        usage_plans,
    }
}

pub(crate) fn principal_spec(p: &IamPrincipal) -> PrincipalSpec {
    PrincipalSpec {
        name: p.name.clone(),
        description: p.description.clone(),
        policies: p
            .policies
            .iter()
            .filter_map(|text| policy_value(text))
            .collect(),
    }
}
