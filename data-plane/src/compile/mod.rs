//! Compiles the configuration a node received into immutable runtime tables.
//!
//! Compilation runs off the request path, when an update arrives. Any error
//! refuses the whole version: the node keeps serving its previous tables and
//! NACKs the new version with the reason. Each resource is first checked
//! against [`archway_proto::rules`], the same rules the admin API applies,
//! so a node never serves what the control plane would have refused (a
//! snapshot from disk, an older or newer control plane). Deployments are
//! immutable, so one
//! already compiled by the previous tables is reused as is, which keeps a
//! stage change cheap however large its API.

pub mod cors;
pub mod gateway_responses;
pub mod validation;
pub mod websocket;

use crate::access_log::AccessLogSinks;
use crate::aws::credentials::OutboundCredentials;
use crate::routes::RouteTree;
use crate::stage_cache::config::StageCacheConfig;
use crate::tables::{
    ApiTable, Canary, CompiledDeployment, CompiledIntegration, CompiledPlan, ConfigMap, CustomAuth,
    CustomIdentity, IamKey, IamTable, JwtAuth, KeyTable, MethodThrottles, Quota, Route, RouteAuth,
    RuntimeTables, StageTable, StageTarget, Throttle,
};
use crate::telemetry::metrics::label;
use archway_proto::policy::{ApiRef, ParseOptions, Policy, PolicyKind};
use archway_proto::resource_name;
use archway_proto::rules;
use archway_proto::v1::config_resource::Resource as Body;
use archway_proto::v1::{
    AccessKey, ApiKey, ConfigResource, Deployment, EndpointType, IamPrincipal, IntegrationType,
    PrincipalType, QuotaPeriod, Stage, ThrottleSettings, UsagePlan,
};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Why a configuration version cannot be served.
#[derive(Debug, thiserror::Error)]
#[error("{resource}: {reason}")]
pub struct CompileError {
    pub resource: String,
    pub reason: String,
}

fn err(resource: &str, reason: impl Into<String>) -> CompileError {
    CompileError {
        resource: resource.to_owned(),
        reason: reason.into(),
    }
}

/// Builds tables for `version` from the received resources, reusing
/// deployments already compiled in `previous`.
pub fn compile<'a>(
    version: u64,
    resources: impl IntoIterator<Item = &'a ConfigResource>,
    previous: &RuntimeTables,
    sinks: &AccessLogSinks,
) -> Result<RuntimeTables, CompileError> {
    compile_with(version, resources, previous, sinks, KeyUpdate::Rebuild)
}

/// How the key table of a new version comes about.
#[derive(Debug, Default)]
pub enum KeyUpdate {
    /// From every key received (a full update, or after a refused version).
    #[default]
    Rebuild,
    /// No key changed: share the previous table.
    Unchanged,
    /// Apply these to the previous table.
    Delta {
        upserts: Vec<ApiKey>,
        removed_ids: Vec<String>,
    },
}

/// As [`compile`], building the key table as `keys` says: versions that
/// change no key, or a few, cost the same with a million keys as with ten.
pub fn compile_with<'a>(
    version: u64,
    resources: impl IntoIterator<Item = &'a ConfigResource>,
    previous: &RuntimeTables,
    sinks: &AccessLogSinks,
    keys_update: KeyUpdate,
) -> Result<RuntimeTables, CompileError> {
    let mut apis: ConfigMap<Box<str>, ApiTable> = ConfigMap::default();
    let mut keys: Option<KeyTable> = match &keys_update {
        KeyUpdate::Rebuild => Some(KeyTable::default()),
        KeyUpdate::Unchanged => None,
        KeyUpdate::Delta {
            upserts,
            removed_ids,
        } => {
            let mut table = (*previous.keys).clone();
            for id in removed_ids {
                table.remove(id);
            }
            for key in upserts {
                table
                    .upsert(key)
                    .map_err(|reason| err(&resource_name::api_key(&key.id), reason))?;
            }
            Some(table)
        }
    };
    let rebuild_keys = matches!(keys_update, KeyUpdate::Rebuild);
    let mut plans: ConfigMap<Box<str>, Arc<CompiledPlan>> = ConfigMap::default();
    let mut settings = None;
    let mut stages: Vec<(&str, &Stage)> = Vec::new();
    let mut deployments: HashMap<String, &Deployment> = HashMap::new();
    let mut principals: HashMap<&str, &IamPrincipal> = HashMap::new();
    let mut access_keys: Vec<&AccessKey> = Vec::new();
    let mut outbound = Vec::new();
    let mut api_policies: Vec<(&str, &str)> = Vec::new();
    let mut plan_rules: Vec<(&str, &UsagePlan)> = Vec::new();
    for r in resources {
        match &r.resource {
            Some(Body::Api(api)) => {
                let protocol = rules::api::protocol("protocol", api.protocol)
                    .map_err(|v| err(&r.name, v.to_string()))?;
                rules::api::endpoint_type("endpoint_type", api.endpoint_type)
                    .map_err(|v| err(&r.name, v.to_string()))?;
                let api_key_source =
                    rules::api::api_key_source("api_key_source", api.api_key_source)
                        .map_err(|v| err(&r.name, v.to_string()))?;
                if !api.policy.trim().is_empty() {
                    api_policies.push((&api.id, &api.policy));
                }
                apis.insert(
                    api.id.as_str().into(),
                    ApiTable {
                        id: api.id.as_str().into(),
                        resource_policy: None,
                        private: api.endpoint_type == EndpointType::Private as i32,
                        api_key_source,
                        label: label("api", &api.id),
                        protocol,
                        stages: ConfigMap::default(),
                    },
                );
            }
            Some(Body::Stage(stage)) => stages.push((&r.name, stage)),
            Some(Body::Deployment(d)) => {
                deployments.insert(r.name.clone(), d);
            }
            Some(Body::ApiKey(key)) => {
                if rebuild_keys && let Some(keys) = keys.as_mut() {
                    keys.upsert(key).map_err(|reason| err(&r.name, reason))?;
                }
            }
            Some(Body::UsagePlan(plan)) => {
                // Checked and compiled once every API's protocol is known
                // (below): a WEBSOCKET API's stage throttles route keys.
                plan_rules.push((&r.name, plan));
            }
            Some(Body::Settings(s)) => settings = Some(s),
            Some(Body::Principal(p)) => {
                principals.insert(&p.name, p);
            }
            Some(Body::AccessKey(k)) => access_keys.push(k),
            Some(Body::OutboundCredential(c)) => outbound.push(c),
            None => return Err(err(&r.name, "empty resource")),
        }
    }
    for (name, plan) in plan_rules {
        rules::throttle::usage_plan(plan, |id| {
            apis.get(id)
                .map_or(archway_proto::v1::ApiProtocol::Rest, |a| a.protocol)
        })
        .map_err(|v| err(name, v.to_string()))?;
        plans.insert(
            plan.id.as_str().into(),
            Arc::new(compile_plan(plan).map_err(|reason| err(name, reason))?),
        );
    }
    let settings = settings.cloned().unwrap_or_default();
    for (api_id, text) in api_policies {
        let options = ParseOptions {
            kind: PolicyKind::Resource,
            api: Some(ApiRef {
                region: &settings.region,
                account: &settings.account_id,
                api_id,
            }),
        };
        let policy = Policy::parse_with(text, &options)
            .map_err(|e| err(&resource_name::api(api_id), format!("policy: {e}")))?;
        if let Some(api) = apis.get_mut(api_id) {
            api.resource_policy = Some(policy);
        }
    }
    let iam = compile_iam(&principals, &access_keys)?;
    let outbound =
        OutboundCredentials::compile(outbound).map_err(|reason| err("outbound", reason))?;

    let mut compiled: HashMap<Box<str>, Arc<CompiledDeployment>> = HashMap::new();
    let mut target_of = |stage_res: &str,
                         api_id: &str,
                         deployment_id: &str,
                         variables: HashMap<Box<str>, Box<str>>|
     -> Result<StageTarget, CompileError> {
        let name = resource_name::deployment(api_id, deployment_id);
        let deployment = match compiled.get(name.as_str()) {
            Some(d) => d.clone(),
            None => {
                let d = match previous.deployments.get(name.as_str()) {
                    Some(d) => d.clone(),
                    None => {
                        let source = deployments.get(&name).ok_or_else(|| {
                            err(stage_res, format!("serves {name}, which was not received"))
                        })?;
                        Arc::new(compile_deployment(&name, source)?)
                    }
                };
                compiled.insert(name.into(), d.clone());
                d
            }
        };
        Ok(StageTarget {
            deployment,
            variables,
        })
    };

    for (res_name, stage) in stages {
        let protocol = apis
            .get(stage.api_id.as_str())
            .map_or(archway_proto::v1::ApiProtocol::Rest, |a| a.protocol);
        rules::stage::stage(stage, protocol).map_err(|v| err(res_name, v.to_string()))?;
        let vars = |m: &std::collections::BTreeMap<String, String>| -> HashMap<Box<str>, Box<str>> {
            m.iter()
                .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
                .collect()
        };
        let primary = target_of(
            res_name,
            &stage.api_id,
            &stage.deployment_id,
            vars(&stage.variables),
        )?;
        let canary = match &stage.canary {
            Some(c) if c.percent_traffic > 0.0 => {
                let mut variables = vars(&stage.variables);
                variables.extend(vars(&c.stage_variable_overrides));
                Some(Canary {
                    percent: c.percent_traffic,
                    target: target_of(res_name, &stage.api_id, &c.deployment_id, variables)?,
                })
            }
            _ => None,
        };
        let access_log = match &stage.access_log_settings {
            Some(settings) if !settings.format.is_empty() => Some(
                sinks
                    .stage_log(&settings.format, &settings.destination)
                    .map_err(|reason| err(res_name, reason))?,
            ),
            _ => None,
        };
        let api = apis
            .get_mut(stage.api_id.as_str())
            .ok_or_else(|| err(res_name, format!("API '{}' was not received", stage.api_id)))?;
        let mut throttles = MethodThrottles::default();
        for m in &stage.method_settings {
            throttles.insert(
                &m.resource_path,
                &m.http_method,
                throttle_of(m.throttle.as_ref())
                    .ok_or_else(|| err(res_name, "method setting without a throttle"))?,
            );
        }
        let cache = StageCacheConfig::compile(
            stage,
            resource_paths(&primary),
            canary.iter().flat_map(|c| resource_paths(&c.target)),
        )
        .map_err(|reason| err(res_name, format!("cache: {reason}")))?;
        api.stages.insert(
            stage.stage_name.as_str().into(),
            StageTable {
                name: stage.stage_name.as_str().into(),
                label: label("stage", &stage.stage_name),
                primary,
                canary,
                access_log,
                throttles,
                cache,
            },
        );
    }

    let request_authorizers = compiled.values().any(|d| {
        d.routes.iter().any(|r| {
            matches!(r.auth.as_deref(), Some(RouteAuth::Custom(c))
                if matches!(c.identity, CustomIdentity::Request(_)))
        })
    });
    Ok(RuntimeTables {
        version: version.into(),
        apis,
        deployments: compiled,
        request_authorizers,
        keys: match keys {
            Some(k) => Arc::new(k),
            None => previous.keys.clone(),
        },
        plans,
        api_key_mac: (!settings.api_key_secret.is_empty()).then(|| {
            <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&settings.api_key_secret)
                .expect("HMAC takes any key length")
        }),
        quota_resets: nest_quota_resets(settings.quota_resets),
        region: settings.region.into(),
        account_id: settings.account_id.into(),
        iam: Arc::new(iam),
        outbound: Arc::new(outbound),
    })
}

fn compile_jwt(a: &archway_proto::v1::Authorizer, scopes: &[String]) -> Result<JwtAuth, String> {
    let jwt = a.jwt.as_ref().ok_or("no JWT configuration")?;
    let header = identity_header(&a.identity_source)?;
    let names: Vec<&str> = if jwt.algorithms.is_empty() {
        vec!["RS256"]
    } else {
        jwt.algorithms.iter().map(String::as_str).collect()
    };
    let mut algorithms = Vec::new();
    for name in names {
        let alg: jsonwebtoken::Algorithm = name
            .parse()
            .map_err(|_| format!("unknown algorithm '{name}'"))?;
        if alg.family() == jsonwebtoken::AlgorithmFamily::Hmac {
            return Err(format!("algorithm '{name}' is not allowed"));
        }
        algorithms.push(alg);
    }
    let fingerprint = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for part in [jwt.issuer.as_str(), &jwt.jwks_uri, header.as_str()] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        for part in jwt.audiences.iter().chain(&jwt.algorithms) {
            h.update(part.as_bytes());
            h.update([1]);
        }
        h.update(jwt.leeway_seconds.to_be_bytes());
        h.finalize().into()
    };
    Ok(JwtAuth {
        fingerprint,
        header,
        issuer: jwt.issuer.clone(),
        audiences: jwt.audiences.clone(),
        jwks_uri: jwt.jwks_uri.clone(),
        algorithms,
        leeway_seconds: u64::from(if jwt.leeway_seconds == 0 {
            60
        } else {
            jwt.leeway_seconds
        }),
        scopes: scopes.to_vec(),
    })
}

/// Access keys with their principal's compiled identity policies. A key
/// whose principal was not received is left out (it works nowhere).
fn compile_iam(
    principals: &HashMap<&str, &IamPrincipal>,
    access_keys: &[&AccessKey],
) -> Result<IamTable, CompileError> {
    let mut policies: HashMap<&str, Arc<[Policy]>> = HashMap::new();
    for (name, p) in principals {
        let compiled: Result<Vec<Policy>, _> = p
            .policies
            .iter()
            .enumerate()
            .map(|(i, doc)| {
                Policy::parse(doc, PolicyKind::Identity).map_err(|e| {
                    err(
                        &resource_name::principal(name),
                        format!("policies[{i}]: {e}"),
                    )
                })
            })
            .collect();
        policies.insert(name, compiled?.into());
    }
    let mut keys = HashMap::with_capacity(access_keys.len());
    for k in access_keys {
        let Some(principal) = principals.get(k.principal.as_str()) else {
            continue;
        };
        let session = if k.session_token_hash.is_empty() {
            None
        } else {
            let hash: [u8; 32] = k.session_token_hash.as_slice().try_into().map_err(|_| {
                err(
                    &resource_name::access_key(&k.access_key_id),
                    "session token hash is not 32 bytes",
                )
            })?;
            Some((hash, k.expires_at_ms))
        };
        keys.insert(
            k.access_key_id.as_str().into(),
            IamKey {
                access_key_id: k.access_key_id.as_str().into(),
                secret: k.secret_access_key.as_str().into(),
                enabled: k.enabled,
                principal_arn: k.principal_arn.as_str().into(),
                principal: Arc::new(crate::principal::Principal::new(
                    Some(&k.principal_arn),
                    None,
                    None,
                )),
                username: (principal.r#type == PrincipalType::User as i32)
                    .then(|| principal.name.as_str().into()),
                session,
                policies: policies[principal.name.as_str()].clone(),
                signing_key: Default::default(),
            },
        );
    }
    Ok(IamTable { keys })
}

/// The header of a JWT or TOKEN authorizer: a plain name or AWS's
/// `method.request.header.NAME`; default Authorization.
fn identity_header(source: &str) -> Result<http::HeaderName, String> {
    if source.is_empty() {
        return Ok(http::header::AUTHORIZATION);
    }
    let name = rules::authorizer::identity_header_name(source);
    http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("bad identity source '{source}'"))
}

/// Answers are reused for 300 s unless the authorizer says otherwise.
const DEFAULT_AUTHORIZER_TTL_SECONDS: u32 = rules::authorizer::DEFAULT_RESULT_TTL_SECONDS;
const DEFAULT_AUTHORIZER_TIMEOUT_MS: u32 = rules::authorizer::DEFAULT_TIMEOUT_MS;

fn compile_custom(a: &archway_proto::v1::Authorizer) -> Result<CustomAuth, String> {
    use archway_proto::v1::AuthorizerType;
    let identity = match AuthorizerType::try_from(a.r#type) {
        Ok(AuthorizerType::Token) => CustomIdentity::Token {
            header: identity_header(&a.identity_source)?,
            validation: match a.identity_validation_expression.as_str() {
                "" => None,
                expr => Some(
                    rules::authorizer::validation_expression(expr)
                        .map_err(|e| format!("bad identity_validation_expression: {e}"))?,
                ),
            },
        },
        Ok(AuthorizerType::Request) => CustomIdentity::Request(
            archway_proto::identity_source::parse_list(&a.identity_source)
                .map_err(|e| format!("identity_source: {e}"))?,
        ),
        _ => return Err("not a TOKEN or REQUEST authorizer".into()),
    };
    // The scheme, host, TTL and timeout ranges were checked by
    // `rules::authorizer::authorizer` before this runs.
    let uri: http::Uri = a
        .authorizer_uri
        .parse()
        .map_err(|_| format!("bad authorizer_uri '{}'", a.authorizer_uri))?;
    let ttl = a
        .result_ttl_seconds
        .unwrap_or(DEFAULT_AUTHORIZER_TTL_SECONDS);
    let timeout_ms = match a.timeout_ms {
        0 => DEFAULT_AUTHORIZER_TIMEOUT_MS,
        t => t,
    };
    let fingerprint = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for part in [
            a.api_id.as_str(),
            &a.id,
            &a.authorizer_uri,
            &a.identity_source,
            &a.identity_validation_expression,
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update(a.r#type.to_be_bytes());
        h.finalize().into()
    };
    Ok(CustomAuth {
        id: a.id.as_str().into(),
        fingerprint,
        identity,
        uri,
        ttl: Duration::from_secs(ttl.into()),
        timeout: Duration::from_millis(timeout_ms.into()),
    })
}

/// "{plan}/{key}" → reset time, as the control plane sends it, into
/// plan → key → reset time.
fn nest_quota_resets(
    flat: std::collections::BTreeMap<String, i64>,
) -> ConfigMap<Box<str>, ConfigMap<Box<str>, i64>> {
    let mut nested: ConfigMap<Box<str>, ConfigMap<Box<str>, i64>> = ConfigMap::default();
    for (id, at) in flat {
        if let Some((plan, key)) = id.split_once('/') {
            nested
                .entry(plan.into())
                .or_default()
                .insert(key.into(), at);
        }
    }
    nested
}

fn throttle_of(t: Option<&ThrottleSettings>) -> Option<Throttle> {
    t.map(|t| Throttle {
        rate: t.rate_limit,
        burst: t.burst_limit,
    })
}

fn compile_plan(plan: &UsagePlan) -> Result<CompiledPlan, String> {
    let quota = plan.quota.as_ref().filter(|q| q.limit > 0).map(|q| Quota {
        limit: q.limit,
        period: QuotaPeriod::try_from(q.period).unwrap_or(QuotaPeriod::Day),
        offset: q.offset,
    });
    let mut stages = ConfigMap::default();
    for s in &plan.api_stages {
        let mut throttles = MethodThrottles::default();
        for m in &s.throttle {
            let t = throttle_of(m.throttle.as_ref()).ok_or("method throttle without a throttle")?;
            throttles.insert(&m.resource_path, &m.http_method, t);
        }
        stages
            .entry(s.api_id.as_str().into())
            .or_insert_with(ConfigMap::default)
            .insert(s.stage.as_str().into(), throttles);
    }
    Ok(CompiledPlan {
        id: plan.id.as_str().into(),
        throttle: throttle_of(plan.throttle.as_ref()).filter(|t| t.rate > 0.0 || t.burst > 0),
        quota,
        stages,
    })
}

fn compile_deployment(name: &str, d: &Deployment) -> Result<CompiledDeployment, CompileError> {
    let paths: HashMap<&str, &str> = d
        .resources
        .iter()
        .map(|r| (r.id.as_str(), r.path.as_str()))
        .collect();
    let models = validation::compile_models(&d.api_id, &d.models).map_err(|r| err(name, r))?;
    let protocol = archway_proto::v1::ApiProtocol::try_from(d.protocol).unwrap_or_default();
    // A WEBSOCKET deployment's routes are keys on the root resource, not
    // verbs on paths: the shared rules check them (as the admin API did),
    // and they are not in the path tree.
    let is_websocket = protocol == archway_proto::v1::ApiProtocol::Websocket;
    rules::websocket::deployment(d).map_err(|v| err(name, v.to_string()))?;
    let mut tree = RouteTree::default();
    let mut routes = Vec::with_capacity(d.methods.len() + usize::from(is_websocket));
    for method in &d.methods {
        let path = paths.get(method.resource_id.as_str()).ok_or_else(|| {
            err(
                name,
                format!("method on unknown resource '{}'", method.resource_id),
            )
        })?;
        if !is_websocket {
            rules::http::http_method("method.http_method", &method.http_method)
                .map_err(|v| err(name, format!("{path}: {v}")))?;
            rules::websocket::method_in("method", method, protocol, None)
                .map_err(|v| err(name, format!("{} {path}: {v}", method.http_method)))?;
        }
        let integration = method.integration.as_ref().ok_or_else(|| {
            err(
                name,
                format!("{} {path} has no integration", method.http_method),
            )
        })?;
        let scope = rules::integration::Scope {
            resource_path: path,
            protocol: archway_proto::v1::ApiProtocol::try_from(d.protocol).ok(),
            method: Some(method),
        };
        // Templates and selection patterns: parsed once, by the compilers below.
        rules::integration::integration_unparsed("integration", integration, &scope)
            .map_err(|v| err(name, format!("{} {path}: {v}", method.http_method)))?;
        // A WebSocket route's HTTP (or templated MOCK) integration maps
        // events, keyed by template selection values rather than media types.
        let ws_mapped = is_websocket
            .then(|| crate::event_mapping::compile(integration))
            .flatten();
        let compiled = match (ws_mapped, IntegrationType::try_from(integration.r#type)) {
            (Some(mapped), _) => mapped.map(|m| CompiledIntegration::WebSocketMapped(Box::new(m))),
            (None, Ok(IntegrationType::AwsProxy)) => crate::aws::integration::compile_proxy(
                integration,
                &method.http_method,
                path,
                &d.binary_media_types,
            )
            .map(|p| CompiledIntegration::AwsProxy(Box::new(p))),
            (None, _) => match crate::mapping::compile(integration, &d.binary_media_types) {
                Some(mapped) => mapped.map(|m| CompiledIntegration::Mapped(Box::new(m))),
                None => compile_integration(integration),
            },
        }
        .map_err(|reason| err(name, format!("{} {path}: {reason}", method.http_method)))?;
        if is_websocket {
            websocket::check_integration(&method.http_method, &compiled)
                .map_err(|reason| err(name, reason))?;
        }
        let cache_key =
            crate::stage_cache::key::compile(&integration.cache_key_parameters, path)
                .map_err(|reason| err(name, format!("{} {path}: {reason}", method.http_method)))?;
        // A WebSocket route is found by its key, never by a request path.
        if !is_websocket {
            tree.insert(path, &method.http_method, routes.len() as u32)
                .map_err(|reason| err(name, reason))?;
        }
        let auth = match method.authorization_type.as_str() {
            "" | "NONE" => None,
            "AWS_IAM" => Some(Arc::new(RouteAuth::Iam)),
            kind @ ("JWT" | "CUSTOM") => {
                let authorizer = d
                    .authorizers
                    .iter()
                    .find(|a| a.id == method.authorizer_id)
                    .ok_or_else(|| {
                        err(
                            name,
                            format!(
                                "{} {path}: authorizer '{}' is missing",
                                method.http_method, method.authorizer_id
                            ),
                        )
                    })?;
                rules::authorizer::authorizer(authorizer)
                    .map_err(|v| err(name, format!("authorizer '{}': {v}", authorizer.id)))?;
                let compiled = if kind == "JWT" {
                    compile_jwt(authorizer, &method.authorization_scopes).map(RouteAuth::Jwt)
                } else {
                    compile_custom(authorizer).map(RouteAuth::Custom)
                };
                Some(Arc::new(compiled.map_err(|reason| {
                    err(name, format!("authorizer '{}': {reason}", authorizer.id))
                })?))
            }
            other => {
                return Err(err(
                    name,
                    format!(
                        "{} {path}: authorization type '{other}' is not supported",
                        method.http_method
                    ),
                ));
            }
        };
        routes.push(Route {
            id: routes.len() as u32,
            resource_path: (*path).into(),
            resource_id: method.resource_id.as_str().into(),
            route_key: is_websocket.then(|| method.http_method.as_str().into()),
            // A WebSocket route's label is its key: all are on "/".
            label: label(
                "route",
                if is_websocket {
                    &method.http_method
                } else {
                    path
                },
            ),
            series: Default::default(),
            api_key_required: method.api_key_required,
            auth,
            integration: compiled,
            cache_key,
            validation: validation::compile_route(method, &d.request_validators, &models)
                .map_err(|reason| err(name, format!("{} {path}: {reason}", method.http_method)))?,
        });
    }
    let websocket = if is_websocket {
        let methods: Vec<&archway_proto::v1::Method> = d.methods.iter().collect();
        let root = d
            .resources
            .iter()
            .find(|r| r.path == "/")
            .map_or("", |r| r.id.as_str());
        Some(Box::new(
            websocket::routes(
                &d.route_selection_expression,
                &methods,
                &mut routes,
                root,
                &models,
            )
            .map_err(|reason| err(name, reason))?,
        ))
    } else {
        None
    };
    let cors = cors::compile(d.cors_configuration.as_ref(), protocol).map_err(|r| err(name, r))?;
    let gateway_responses =
        gateway_responses::compile(&d.gateway_responses).map_err(|r| err(name, r))?;
    Ok(CompiledDeployment {
        tree,
        routes,
        cors,
        gateway_responses,
        websocket,
    })
}

/// The resource paths of a target's routes, by route id.
fn resource_paths(t: &StageTarget) -> impl Iterator<Item = &str> {
    t.deployment.routes.iter().map(|r| &*r.resource_path)
}

fn compile_integration(i: &archway_proto::v1::Integration) -> Result<CompiledIntegration, String> {
    match IntegrationType::try_from(i.r#type) {
        Ok(IntegrationType::HttpProxy) => {
            let (method, uri, timeout) = crate::mapping::http_backend(i)?;
            Ok(CompiledIntegration::HttpProxy {
                method,
                uri,
                timeout,
            })
        }
        Ok(IntegrationType::Mock) => {
            let mock = i.mock.as_ref().ok_or("MOCK without a mock response")?;
            let status = u16::try_from(mock.status_code)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .ok_or_else(|| format!("bad mock status {}", mock.status_code))?;
            let mut headers = HeaderMap::with_capacity(mock.headers.len());
            for (name, value) in &mock.headers {
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("bad mock header name '{name}'"))?;
                // The server frames the answer; the admin API refuses these
                // now, and a deployment stored before it did still serves.
                if rules::http::is_reserved_header(name.as_str()) {
                    continue;
                }
                let value = HeaderValue::from_str(value)
                    .map_err(|_| format!("bad mock header value for '{name}'"))?;
                headers.append(name, value);
            }
            Ok(CompiledIntegration::Mock {
                status,
                headers,
                body: Bytes::from(mock.body.clone()),
            })
        }
        _ => Err(format!("unsupported integration type {}", i.r#type)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_proto::v1::{
        ApiProtocol, CanarySettings, Integration, Method, MockResponse, Resource, RestApi,
    };

    fn resource(name: &str, body: Body) -> ConfigResource {
        ConfigResource {
            name: name.into(),
            resource: Some(body),
        }
    }

    fn mock(status: u32) -> Integration {
        Integration {
            r#type: IntegrationType::Mock as i32,
            mock: Some(MockResponse {
                status_code: status,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn deployment(id: &str, integration: Integration) -> ConfigResource {
        resource(
            &resource_name::deployment("a", id),
            Body::Deployment(Deployment {
                id: id.into(),
                api_id: "a".into(),
                resources: vec![Resource {
                    id: "r1".into(),
                    path: "/x".into(),
                    ..Default::default()
                }],
                methods: vec![Method {
                    resource_id: "r1".into(),
                    http_method: "GET".into(),
                    integration: Some(integration),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        )
    }

    fn config(deployment_res: ConfigResource, canary: Option<&str>) -> Vec<ConfigResource> {
        vec![
            resource(
                "api/a",
                Body::Api(RestApi {
                    id: "a".into(),
                    protocol: ApiProtocol::Rest as i32,
                    ..Default::default()
                }),
            ),
            deployment_res,
            resource(
                "stage/a/prod",
                Body::Stage(Stage {
                    api_id: "a".into(),
                    stage_name: "prod".into(),
                    deployment_id: "d1".into(),
                    canary: canary.map(|id| CanarySettings {
                        deployment_id: id.into(),
                        percent_traffic: 50.0,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            ),
        ]
    }

    #[test]
    fn compiles_a_stage_with_its_routes() {
        let tables = compile(
            7,
            &config(deployment("d1", mock(200)), None),
            &RuntimeTables::empty(),
            &AccessLogSinks::default(),
        )
        .unwrap();
        assert_eq!(tables.version(), 7);
        let stage = &tables.apis["a"].stages["prod"];
        assert_eq!(stage.primary.deployment.routes.len(), 1);
        assert!(stage.canary.is_none());
    }

    /// A mock stored before the admin API refused framing headers still
    /// compiles, without them: the server frames the answer.
    #[test]
    fn a_stored_mock_s_framing_headers_are_dropped() {
        let integration = Integration {
            mock: Some(MockResponse {
                status_code: 200,
                headers: [
                    ("Content-Length".to_owned(), "999".to_owned()),
                    ("Transfer-Encoding".to_owned(), "chunked".to_owned()),
                    ("X-Kind".to_owned(), "fixed".to_owned()),
                ]
                .into(),
                body: "{}".into(),
            }),
            ..mock(200)
        };
        let Ok(CompiledIntegration::Mock { headers, .. }) = compile_integration(&integration)
        else {
            panic!("compiles");
        };
        assert_eq!(headers.len(), 1);
        assert_eq!(headers["x-kind"], "fixed");
    }

    #[test]
    fn refuses_what_it_cannot_serve() {
        // A bad mock status.
        let bad = compile(
            1,
            &config(deployment("d1", mock(1000)), None),
            &RuntimeTables::empty(),
            &AccessLogSinks::default(),
        );
        let bad = bad.unwrap_err().to_string();
        assert!(
            bad.contains("integration.mock.status_code: must be between 100 and 599"),
            "{bad}"
        );
        // A canary pointing at a deployment that never arrived.
        let dangling = compile(
            1,
            &config(deployment("d1", mock(200)), Some("d9")),
            &RuntimeTables::empty(),
            &AccessLogSinks::default(),
        );
        assert!(dangling.unwrap_err().to_string().contains("not received"));
    }

    #[test]
    fn reuses_compiled_deployments() {
        let first = compile(
            1,
            &config(deployment("d1", mock(200)), None),
            &RuntimeTables::empty(),
            &AccessLogSinks::default(),
        )
        .unwrap();
        let second = compile(
            2,
            &config(deployment("d1", mock(200)), None),
            &first,
            &AccessLogSinks::default(),
        )
        .unwrap();
        assert!(Arc::ptr_eq(
            &first.apis["a"].stages["prod"].primary.deployment,
            &second.apis["a"].stages["prod"].primary.deployment
        ));
    }
}
