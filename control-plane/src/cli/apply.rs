//! `archwayctl apply`: makes the control plane match a declarative file.
//!
//! Applying is idempotent. For each API in the file it creates what is
//! missing, updates what differs and deletes resources and methods the file
//! no longer has; then, for each stage in the file, it makes a new deployment
//! only when the API's definition differs from what the stage serves. A stage
//! with a `canary` gets new versions as its canary; `archwayctl promote` makes
//! the canary the stage's deployment. Stages absent from the file are left
//! alone: deleting an environment takes an explicit `archwayctl delete stage`.

use super::client::{AdminClient, status_error};
use super::spec::{
    ApiSpec, ApplyFile, AuthorizerSpec, IntegrationSpec, MethodCacheSpec, MethodThrottleSpec,
    RouteSpec, StageSpec, UsagePlanSpec,
};
use anyhow::{Context, bail};
use archway_proto::v1::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tonic::Code;

/// Applies every API in `file`; returns one line per change made.
pub async fn apply(client: &mut AdminClient, file: &ApplyFile) -> anyhow::Result<Vec<String>> {
    let mut changes = Vec::new();
    for spec in &file.apis {
        apply_api(client, spec, &mut changes)
            .await
            .with_context(|| format!("applying API '{}'", spec.name))?;
    }
    for spec in &file.usage_plans {
        apply_plan(client, spec, &mut changes)
            .await
            .with_context(|| format!("applying usage plan '{}'", spec.name))?;
    }
    Ok(changes)
}

fn method_throttle_of(m: &MethodThrottleSpec) -> MethodThrottle {
    MethodThrottle {
        resource_path: m.path.clone(),
        http_method: m.method.to_ascii_uppercase(),
        throttle: Some(ThrottleSettings {
            rate_limit: m.rate_limit,
            burst_limit: m.burst_limit,
        }),
    }
}

/// Creates or updates a usage plan, matched by name. Plans not in the file
/// are left alone.
async fn apply_plan(
    client: &mut AdminClient,
    spec: &UsagePlanSpec,
    changes: &mut Vec<String>,
) -> anyhow::Result<()> {
    let apis = crate::all_pages!(
        client.apis,
        list_rest_apis,
        ListRestApisRequest::default(),
        "listing APIs"
    )?;
    let mut api_stages = Vec::new();
    for s in &spec.stages {
        let api = apis
            .iter()
            .find(|a| a.id == s.api)
            .or_else(|| apis.iter().find(|a| a.name == s.api))
            .with_context(|| {
                format!(
                    "stage {}:{}: no API has the id or name '{}'",
                    s.api, s.stage, s.api
                )
            })?;
        api_stages.push(UsagePlanStage {
            api_id: api.id.clone(),
            stage: s.stage.clone(),
            throttle: s.method_throttles.iter().map(method_throttle_of).collect(),
        });
    }
    let quota = match &spec.quota {
        None => None,
        Some(q) => Some(QuotaSettings {
            limit: q.limit,
            period: match q.period.to_ascii_uppercase().as_str() {
                "DAY" => QuotaPeriod::Day,
                "WEEK" => QuotaPeriod::Week,
                "MONTH" => QuotaPeriod::Month,
                other => bail!("quota.period: '{other}' is not DAY, WEEK or MONTH"),
            } as i32,
            offset: q.offset,
        }),
    };
    let plans = crate::all_pages!(
        client.plans,
        list_usage_plans,
        ListUsagePlansRequest::default(),
        "listing usage plans"
    )?;
    let existing: Vec<&UsagePlan> = plans.iter().filter(|p| p.name == spec.name).collect();
    if existing.len() > 1 {
        bail!(
            "{} usage plans are named '{}'; rename one",
            existing.len(),
            spec.name
        );
    }
    let desired = UsagePlan {
        id: existing.first().map(|p| p.id.clone()).unwrap_or_default(),
        name: spec.name.clone(),
        description: spec.description.clone(),
        throttle: spec.throttle.as_ref().map(|t| ThrottleSettings {
            rate_limit: t.rate_limit,
            burst_limit: t.burst_limit,
        }),
        quota,
        api_stages,
        created_at_ms: existing.first().map_or(0, |p| p.created_at_ms),
    };
    match existing.first() {
        None => {
            let plan = client
                .plans
                .create_usage_plan(CreateUsagePlanRequest {
                    plan: Some(desired),
                })
                .await
                .map_err(|s| status_error("creating the plan", s))?
                .into_inner();
            changes.push(format!("usage plan {} ({}): created", plan.name, plan.id));
        }
        Some(current) if **current != desired => {
            client
                .plans
                .update_usage_plan(UpdateUsagePlanRequest {
                    plan: Some(desired),
                    update_mask: super::client::replace_all(),
                })
                .await
                .map_err(|s| status_error("updating the plan", s))?;
            changes.push(format!(
                "usage plan {} ({}): updated",
                current.name, current.id
            ));
        }
        Some(_) => {}
    }
    Ok(())
}

fn protocol_of(spec: &ApiSpec) -> anyhow::Result<ApiProtocol> {
    match spec
        .protocol
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("REST") => Ok(ApiProtocol::Rest),
        Some("HTTP") => Ok(ApiProtocol::Http),
        Some(other) => bail!("protocol: '{other}' is not one of REST, HTTP"),
    }
}

fn normalize_path(path: &str) -> anyhow::Result<String> {
    if !path.starts_with('/') {
        bail!("route path '{path}' must start with '/'");
    }
    let trimmed = path.trim_end_matches('/');
    Ok(if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.into()
    })
}

fn parent_of(path: &str) -> (&str, &str) {
    let i = path.rfind('/').expect("normalized paths start with '/'");
    let parent = if i == 0 { "/" } else { &path[..i] };
    (parent, &path[i + 1..])
}

fn integration_of(spec: &IntegrationSpec) -> Integration {
    match spec {
        IntegrationSpec::HttpProxy {
            uri,
            http_method,
            timeout_ms,
            cache_key_parameters,
        } => Integration {
            r#type: IntegrationType::HttpProxy as i32,
            http_method: http_method.clone().unwrap_or_default().to_ascii_uppercase(),
            uri: uri.clone(),
            timeout_ms: timeout_ms.unwrap_or(0),
            mock: None,
            cache_key_parameters: cache_key_parameters.clone(),
        },
        IntegrationSpec::Mock {
            status,
            headers,
            body,
        } => Integration {
            r#type: IntegrationType::Mock as i32,
            mock: Some(MockResponse {
                status_code: *status,
                headers: headers.clone().into_iter().collect(),
                body: body.clone(),
            }),
            ..Default::default()
        },
    }
}

async fn apply_api(
    client: &mut AdminClient,
    spec: &ApiSpec,
    changes: &mut Vec<String>,
) -> anyhow::Result<()> {
    let protocol = protocol_of(spec)?;
    let api = ensure_api(client, spec, protocol, changes).await?;
    let resources = ensure_resources(client, &api, &spec.routes, changes).await?;
    let (authorizers, unused) =
        ensure_authorizers(client, &api, &spec.authorizers, changes).await?;
    let methods = ensure_methods(
        client,
        &api,
        &resources,
        &authorizers,
        &spec.routes,
        changes,
    )
    .await?;
    // Authorizers the file dropped go once no method uses them.
    for (name, id) in unused {
        client
            .apis
            .delete_authorizer(GetAuthorizerRequest {
                api_id: api.id.clone(),
                authorizer_id: id,
            })
            .await
            .map_err(|s| status_error(&format!("deleting authorizer {name}"), s))?;
        changes.push(format!("authorizer {name}: deleted"));
    }
    let authorizers = crate::all_pages!(
        client.apis,
        list_authorizers,
        ListAuthorizersRequest {
            api_id: api.id.clone(),
            ..Default::default()
        },
        "listing authorizers"
    )?;
    let mut new_deployment: Option<String> = None;
    for stage in &spec.stages {
        ensure_stage(
            client,
            &api,
            stage,
            &resources,
            &methods,
            &authorizers,
            &mut new_deployment,
            changes,
        )
        .await
        .with_context(|| format!("stage '{}'", stage.name))?;
    }
    Ok(())
}

async fn ensure_api(
    client: &mut AdminClient,
    spec: &ApiSpec,
    protocol: ApiProtocol,
    changes: &mut Vec<String>,
) -> anyhow::Result<RestApi> {
    let apis = crate::all_pages!(
        client.apis,
        list_rest_apis,
        ListRestApisRequest::default(),
        "listing APIs"
    )?;
    let existing: Vec<&RestApi> = match &spec.id {
        Some(id) => apis.iter().filter(|a| &a.id == id).collect(),
        None => apis.iter().filter(|a| a.name == spec.name).collect(),
    };
    if existing.len() > 1 {
        bail!(
            "{} APIs are named '{}'; give the one to apply with `id:`",
            existing.len(),
            spec.name
        );
    }
    let Some(api) = existing.first() else {
        let api = client
            .apis
            .create_rest_api(CreateRestApiRequest {
                id: spec.id.clone().unwrap_or_default(),
                name: spec.name.clone(),
                description: spec.description.clone(),
                protocol: protocol as i32,
                api_key_source: key_source_of(spec)? as i32,
                policy: policy_of(spec)?,
                endpoint_type: endpoint_type_of(spec)? as i32,
            })
            .await
            .map_err(|s| status_error("creating the API", s))?
            .into_inner();
        changes.push(format!("api {} ({}): created", api.name, api.id));
        return Ok(api);
    };
    if api.protocol != protocol as i32 {
        bail!(
            "API '{}' exists with another protocol; a protocol cannot change",
            api.id
        );
    }
    let key_source = key_source_of(spec)? as i32;
    let policy = policy_of(spec)?;
    let endpoint_type = endpoint_type_of(spec)? as i32;
    if api.name != spec.name
        || api.description != spec.description
        || api.api_key_source != key_source
        || api.policy != policy
        || api.endpoint_type != endpoint_type
    {
        let updated = client
            .apis
            .update_rest_api(UpdateRestApiRequest {
                api_id: api.id.clone(),
                name: spec.name.clone(),
                description: spec.description.clone(),
                api_key_source: key_source,
                policy: Some(policy),
                endpoint_type: Some(endpoint_type),
                update_mask: super::client::replace_all(),
            })
            .await
            .map_err(|s| status_error("updating the API", s))?
            .into_inner();
        changes.push(format!("api {} ({}): updated", updated.name, updated.id));
        return Ok(updated);
    }
    Ok((*api).clone())
}

/// The resource policy as compact JSON (empty: none).
fn policy_of(spec: &ApiSpec) -> anyhow::Result<String> {
    match &spec.policy {
        None => Ok(String::new()),
        Some(policy) => {
            serde_json::to_string(policy).with_context(|| format!("API {}: policy", spec.name))
        }
    }
}

fn endpoint_type_of(spec: &ApiSpec) -> anyhow::Result<EndpointType> {
    match spec
        .endpoint_type
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("REGIONAL") => Ok(EndpointType::Regional),
        Some("PRIVATE") => Ok(EndpointType::Private),
        Some(other) => bail!(
            "API {}: endpoint_type '{other}' is not REGIONAL or PRIVATE",
            spec.name
        ),
    }
}

/// Makes the resource tree hold exactly the routes' paths and their
/// prefixes; returns path → resource.
async fn ensure_resources(
    client: &mut AdminClient,
    api: &RestApi,
    routes: &[RouteSpec],
    changes: &mut Vec<String>,
) -> anyhow::Result<BTreeMap<String, Resource>> {
    let mut by_path: BTreeMap<String, Resource> = crate::all_pages!(
        client.apis,
        list_resources,
        ListResourcesRequest {
            api_id: api.id.clone(),
            ..Default::default()
        },
        "listing resources"
    )?
    .into_iter()
    .map(|r| (r.path.clone(), r))
    .collect();

    let mut desired: BTreeSet<String> = BTreeSet::from(["/".to_string()]);
    for route in routes {
        let mut path = normalize_path(&route.path)?;
        while path != "/" {
            desired.insert(path.clone());
            path = parent_of(&path).0.to_string();
        }
    }

    // Delete the topmost resources the file no longer has (children go with them).
    let extra: Vec<String> = by_path
        .keys()
        .filter(|p| !desired.contains(*p))
        .cloned()
        .collect();
    for path in &extra {
        if extra.contains(&parent_of(path).0.to_string()) {
            continue;
        }
        let resource = &by_path[path];
        client
            .apis
            .delete_resource(DeleteResourceRequest {
                api_id: api.id.clone(),
                resource_id: resource.id.clone(),
            })
            .await
            .map_err(|s| status_error(&format!("deleting resource {path}"), s))?;
        changes.push(format!("resource {path}: deleted"));
    }
    by_path.retain(|p, _| desired.contains(p));

    // Create missing resources, parents before children.
    let mut missing: Vec<&String> = desired
        .iter()
        .filter(|p| !by_path.contains_key(*p))
        .collect();
    missing.sort_by_key(|p| p.matches('/').count());
    for path in missing {
        let (parent, part) = parent_of(path);
        let parent_id = by_path[parent].id.clone();
        let resource = client
            .apis
            .create_resource(CreateResourceRequest {
                api_id: api.id.clone(),
                parent_id,
                path_part: part.to_string(),
            })
            .await
            .map_err(|s| status_error(&format!("creating resource {path}"), s))?
            .into_inner();
        changes.push(format!("resource {path}: created"));
        by_path.insert(path.clone(), resource);
    }
    Ok(by_path)
}

/// Creates and updates the file's authorizers (matched by name); returns
/// name → id, and the existing ones the file no longer has (deleted by the
/// caller once no method uses them).
async fn ensure_authorizers(
    client: &mut AdminClient,
    api: &RestApi,
    specs: &[AuthorizerSpec],
    changes: &mut Vec<String>,
) -> anyhow::Result<(
    HashMap<String, (String, AuthorizerType)>,
    Vec<(String, String)>,
)> {
    let existing = crate::all_pages!(
        client.apis,
        list_authorizers,
        ListAuthorizersRequest {
            api_id: api.id.clone(),
            ..Default::default()
        },
        "listing authorizers"
    )?;
    let mut ids = HashMap::new();
    for spec in specs {
        let kind = match spec.kind.to_ascii_uppercase().as_str() {
            "JWT" => AuthorizerType::Jwt,
            "TOKEN" => AuthorizerType::Token,
            "REQUEST" => AuthorizerType::Request,
            other => bail!(
                "authorizer {}: type '{other}' is not JWT, TOKEN or REQUEST",
                spec.name
            ),
        };
        let current = existing.iter().find(|a| a.name == spec.name);
        let mut desired = Authorizer {
            id: current.map(|a| a.id.clone()).unwrap_or_default(),
            api_id: api.id.clone(),
            name: spec.name.clone(),
            r#type: kind as i32,
            identity_source: spec.identity_source.clone(),
            ..Default::default()
        };
        if kind == AuthorizerType::Jwt {
            desired.jwt = Some(JwtConfiguration {
                issuer: spec.issuer.clone(),
                audiences: spec.audiences.clone(),
                jwks_uri: spec.jwks_uri.clone(),
                algorithms: spec.algorithms.clone(),
                leeway_seconds: spec.leeway_seconds,
            });
        } else {
            desired.authorizer_uri = spec.uri.clone();
            desired.result_ttl_seconds = Some(spec.ttl_seconds.unwrap_or(300));
            desired.identity_validation_expression = spec.validation_expression.clone();
            desired.timeout_ms = spec.timeout_ms;
        }
        // A type cannot change in place: replace the authorizer (methods
        // are re-pointed when the routes are applied).
        let current = current.filter(|a| a.r#type == desired.r#type);
        if current.is_none() {
            desired.id.clear();
        }
        let id = match current {
            Some(a) if *a == desired => a.id.clone(),
            Some(a) => {
                client
                    .apis
                    .update_authorizer(UpdateAuthorizerRequest {
                        authorizer: Some(desired),
                        update_mask: super::client::replace_all(),
                    })
                    .await
                    .map_err(|s| status_error(&format!("authorizer {}", spec.name), s))?;
                changes.push(format!("authorizer {}: updated", spec.name));
                a.id.clone()
            }
            None => {
                let created = client
                    .apis
                    .create_authorizer(PutAuthorizerRequest {
                        authorizer: Some(desired),
                    })
                    .await
                    .map_err(|s| status_error(&format!("authorizer {}", spec.name), s))?
                    .into_inner();
                changes.push(format!("authorizer {}: created", spec.name));
                created.id
            }
        };
        ids.insert(spec.name.clone(), (id, kind));
    }
    let unused = existing
        .into_iter()
        .filter(|a| ids.get(&a.name).is_none_or(|(id, _)| *id != a.id))
        .map(|a| (a.name, a.id))
        .collect();
    Ok((ids, unused))
}

/// As the admin API stores a route's authorization: (type, authorizer id).
fn authorization_of(
    route: &RouteSpec,
    authorizers: &HashMap<String, (String, AuthorizerType)>,
) -> anyhow::Result<(String, String)> {
    let declared = route.authorization.as_deref().map(str::to_ascii_uppercase);
    match (&route.authorizer, declared.as_deref()) {
        (Some(name), None) => {
            let (id, kind) = authorizers.get(name).with_context(|| {
                format!(
                    "route {} {}: no authorizer named '{name}'",
                    route.method, route.path
                )
            })?;
            let kind = if *kind == AuthorizerType::Jwt {
                "JWT"
            } else {
                "CUSTOM"
            };
            Ok((kind.into(), id.clone()))
        }
        (Some(_), Some(_)) => bail!(
            "route {} {}: give either an authorizer or authorization, not both",
            route.method,
            route.path
        ),
        (None, Some(kind @ ("NONE" | "AWS_IAM"))) => Ok((kind.into(), String::new())),
        (None, Some(other)) => bail!(
            "route {} {}: authorization '{other}' is not NONE or AWS_IAM (name an authorizer for JWT or CUSTOM)",
            route.method,
            route.path
        ),
        (None, None) => Ok(("NONE".into(), String::new())),
    }
}

/// Makes the methods match the routes; returns (resource id, verb) → method.
async fn ensure_methods(
    client: &mut AdminClient,
    api: &RestApi,
    resources: &BTreeMap<String, Resource>,
    authorizers: &HashMap<String, (String, AuthorizerType)>,
    routes: &[RouteSpec],
    changes: &mut Vec<String>,
) -> anyhow::Result<HashMap<(String, String), Method>> {
    let existing: HashMap<(String, String), Method> = crate::all_pages!(
        client.apis,
        list_methods,
        ListMethodsRequest {
            api_id: api.id.clone(),
            resource_id: String::new(),
            ..Default::default()
        },
        "listing methods"
    )?
    .into_iter()
    .map(|m| ((m.resource_id.clone(), m.http_method.clone()), m))
    .collect();

    let mut desired: HashMap<(String, String), Method> = HashMap::new();
    for route in routes {
        let path = normalize_path(&route.path)?;
        let method = Method {
            api_id: api.id.clone(),
            resource_id: resources[&path].id.clone(),
            http_method: route.method.to_ascii_uppercase(),
            integration: Some(integration_of(&route.integration)),
            api_key_required: route.api_key_required,
            authorization_type: authorization_of(route, authorizers)?.0,
            authorizer_id: authorization_of(route, authorizers)?.1,
            authorization_scopes: route.scopes.clone(),
        };
        let key = (method.resource_id.clone(), method.http_method.clone());
        if desired.insert(key, method).is_some() {
            bail!("route {} {path} appears twice", route.method);
        }
    }
    let path_of = |resource_id: &str| {
        resources
            .values()
            .find(|r| r.id == resource_id)
            .map_or("?".to_string(), |r| r.path.clone())
    };

    for (key, method) in &existing {
        if !desired.contains_key(key) && resources.values().any(|r| r.id == key.0) {
            client
                .apis
                .delete_method(MethodKey {
                    api_id: api.id.clone(),
                    resource_id: key.0.clone(),
                    http_method: key.1.clone(),
                })
                .await
                .map_err(|s| status_error("deleting a method", s))?;
            changes.push(format!(
                "method {} {}: deleted",
                method.http_method,
                path_of(&key.0)
            ));
        }
    }
    for (key, method) in &desired {
        if existing.get(key) == Some(method) {
            continue;
        }
        let label = format!("method {} {}", method.http_method, path_of(&key.0));
        client
            .apis
            .put_method(PutMethodRequest {
                method: Some(method.clone()),
            })
            .await
            .map_err(|s| status_error(&label, s))?;
        let verb = if existing.contains_key(key) {
            "updated"
        } else {
            "created"
        };
        changes.push(format!("{label}: {verb}"));
    }
    Ok(desired)
}

/// True when `deployment` serves exactly these methods (integration, key
/// requirement, authorization) on these paths, with these authorizers.
fn serves(
    deployment: &Deployment,
    resources: &BTreeMap<String, Resource>,
    methods: &HashMap<(String, String), Method>,
    authorizers: &[Authorizer],
) -> bool {
    // A method as served: its resource named by path, not by id.
    let by_path = |m: &Method, path: &str| Method {
        api_id: String::new(),
        resource_id: path.to_owned(),
        ..m.clone()
    };
    let deployed_paths: HashMap<&str, &str> = deployment
        .resources
        .iter()
        .map(|r| (r.id.as_str(), r.path.as_str()))
        .collect();
    let mut deployed: Vec<Method> = deployment
        .methods
        .iter()
        .map(|m| {
            by_path(
                m,
                deployed_paths
                    .get(m.resource_id.as_str())
                    .copied()
                    .unwrap_or("?"),
            )
        })
        .collect();
    let mut current: Vec<Method> = methods
        .values()
        .map(|m| {
            let path = resources
                .values()
                .find(|r| r.id == m.resource_id)
                .map_or("?", |r| r.path.as_str());
            by_path(m, path)
        })
        .collect();
    let key = |m: &Method| (m.resource_id.clone(), m.http_method.clone());
    deployed.sort_by_key(key);
    current.sort_by_key(key);
    let mut deployed_auth = deployment.authorizers.clone();
    let mut current_auth = authorizers.to_vec();
    deployed_auth.sort_by(|a, b| a.id.cmp(&b.id));
    current_auth.sort_by(|a, b| a.id.cmp(&b.id));
    deployed == current && deployed_auth == current_auth
}

fn stage_throttles(spec: &StageSpec) -> Vec<MethodThrottle> {
    let whole = spec.throttle.iter().map(|t| MethodThrottle {
        resource_path: "*".into(),
        http_method: "*".into(),
        throttle: Some(ThrottleSettings {
            rate_limit: t.rate_limit,
            burst_limit: t.burst_limit,
        }),
    });
    let methods = spec.method_throttles.iter().map(method_throttle_of);
    whole.chain(methods).collect()
}

fn method_cache_of(m: &MethodCacheSpec) -> anyhow::Result<MethodCacheSetting> {
    let strategy = match m.unauthorized_strategy.as_deref() {
        None => UnauthorizedCacheControlHeaderStrategy::Unspecified,
        Some(name) => UnauthorizedCacheControlHeaderStrategy::from_str_name(&format!(
            "UNAUTHORIZED_CACHE_CONTROL_HEADER_STRATEGY_{}",
            name.to_ascii_uppercase()
        ))
        .with_context(|| {
            format!(
                "cache method {} {}: unauthorized_strategy '{name}' is not one of FAIL_WITH_403, SUCCEED_WITH_RESPONSE_HEADER, SUCCEED_WITHOUT_RESPONSE_HEADER",
                m.method, m.path
            )
        })?,
    };
    Ok(MethodCacheSetting {
        resource_path: m.path.clone(),
        http_method: m.method.to_ascii_uppercase(),
        caching_enabled: m.enabled,
        cache_ttl_in_seconds: m.ttl_seconds,
        require_authorization_for_cache_control: m.require_authorization,
        unauthorized_cache_control_header_strategy: strategy as i32,
    })
}

fn key_source_of(spec: &ApiSpec) -> anyhow::Result<ApiKeySource> {
    match spec
        .api_key_source
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("HEADER") => Ok(ApiKeySource::Header),
        Some("AUTHORIZER") => Ok(ApiKeySource::Authorizer),
        Some(other) => bail!("api_key_source: '{other}' is not one of HEADER, AUTHORIZER"),
    }
}

#[allow(clippy::too_many_arguments)]
async fn ensure_stage(
    client: &mut AdminClient,
    api: &RestApi,
    spec: &StageSpec,
    resources: &BTreeMap<String, Resource>,
    methods: &HashMap<(String, String), Method>,
    authorizers: &[Authorizer],
    new_deployment: &mut Option<String>,
    changes: &mut Vec<String>,
) -> anyhow::Result<()> {
    let current = match client
        .deployments
        .get_stage(GetStageRequest {
            api_id: api.id.clone(),
            stage_name: spec.name.clone(),
        })
        .await
    {
        Ok(stage) => Some(stage.into_inner()),
        Err(status) if status.code() == Code::NotFound => None,
        Err(status) => return Err(status_error("reading the stage", status)),
    };

    // The deployment new versions go to: the canary if there is one.
    let latest_served = current.as_ref().map(|s| match (&s.canary, &spec.canary) {
        (Some(c), Some(_)) => c.deployment_id.clone(),
        _ => s.deployment_id.clone(),
    });
    let up_to_date = match &latest_served {
        Some(id) => {
            let deployment = client
                .deployments
                .get_deployment(GetDeploymentRequest {
                    api_id: api.id.clone(),
                    deployment_id: id.clone(),
                })
                .await
                .map_err(|s| status_error("reading the stage's deployment", s))?
                .into_inner();
            serves(&deployment, resources, methods, authorizers)
        }
        None => false,
    };
    let target = if up_to_date {
        latest_served
            .clone()
            .expect("up to date implies a deployment")
    } else {
        match new_deployment {
            Some(id) => id.clone(),
            None => {
                let deployment = client
                    .deployments
                    .create_deployment(CreateDeploymentRequest {
                        api_id: api.id.clone(),
                        description: "archwayctl apply".into(),
                        stage_name: String::new(),
                        create_stage: false,
                    })
                    .await
                    .map_err(|s| status_error("creating a deployment", s))?
                    .into_inner();
                changes.push(format!("deployment {}: created", deployment.id));
                *new_deployment = Some(deployment.id.clone());
                deployment.id
            }
        }
    };

    let (primary, canary) = match (&current, &spec.canary) {
        (Some(stage), Some(c)) => (
            stage.deployment_id.clone(),
            Some(CanarySettings {
                deployment_id: target.clone(),
                percent_traffic: c.percent_traffic,
                stage_variable_overrides: c.stage_variable_overrides.clone(),
            }),
        ),
        (None, Some(c)) => (
            target.clone(),
            Some(CanarySettings {
                deployment_id: target.clone(),
                percent_traffic: c.percent_traffic,
                stage_variable_overrides: c.stage_variable_overrides.clone(),
            }),
        ),
        (_, None) => (target.clone(), None),
    };
    let desired = Stage {
        api_id: api.id.clone(),
        stage_name: spec.name.clone(),
        deployment_id: primary,
        description: spec.description.clone(),
        variables: spec.variables.clone(),
        canary,
        created_at_ms: 0,
        updated_at_ms: 0,
        access_log_settings: spec.access_log.as_ref().map(|log| AccessLogSettings {
            format: log.format.clone(),
            destination: log.destination.clone(),
        }),
        method_settings: stage_throttles(spec),
        cache_cluster_enabled: spec.cache.as_ref().is_some_and(|c| c.enabled),
        cache_cluster_size: spec
            .cache
            .as_ref()
            .and_then(|c| c.size.clone())
            .unwrap_or_default(),
        cache_ttl_seconds: spec.cache.as_ref().and_then(|c| c.ttl_seconds),
        method_cache_settings: match &spec.cache {
            Some(c) => c
                .methods
                .iter()
                .map(method_cache_of)
                .collect::<anyhow::Result<_>>()?,
            None => Vec::new(),
        },
        // Only FlushStageCache moves it.
        cache_flush_generation: current.as_ref().map_or(0, |s| s.cache_flush_generation),
    };
    match current {
        None => {
            client
                .deployments
                .create_stage(CreateStageRequest {
                    stage: Some(desired),
                })
                .await
                .map_err(|s| status_error("creating the stage", s))?;
            changes.push(format!("stage {}: created on {target}", spec.name));
        }
        Some(stage) => {
            let comparable = Stage {
                created_at_ms: 0,
                updated_at_ms: 0,
                ..stage
            };
            if comparable != desired {
                client
                    .deployments
                    .update_stage(UpdateStageRequest {
                        stage: Some(desired),
                        update_mask: super::client::replace_all(),
                    })
                    .await
                    .map_err(|s| status_error("updating the stage", s))?;
                changes.push(format!("stage {}: updated (serving {target})", spec.name));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalize_and_split() {
        assert_eq!(normalize_path("/a/b/").unwrap(), "/a/b");
        assert_eq!(normalize_path("/").unwrap(), "/");
        assert!(normalize_path("a").is_err());
        assert_eq!(parent_of("/a/b"), ("/a", "b"));
        assert_eq!(parent_of("/a"), ("/", "a"));
    }
}
