//! The planner: from a document and one version of the store to the exact
//! changes (for people) and the store writes (for the commit) that make the
//! store match the document.
//!
//! Dry-run and apply both run [`plan`]; apply then stages the writes in one
//! store transaction, dry-run drops them. So what a dry-run lists is what
//! the apply does, by construction. Every error in the document is
//! collected (with its path in the document) before anything is decided:
//! one bad route does not hide another.
//!
//! The checks are the admin handlers' own ([`crate::validate`], resource
//! placement, authorization, stage and plan checks, policy parsing,
//! deployment freezing), called with the planned state instead of the store
//! where the document creates what they look up.

use super::document::*;
use super::export;
use crate::api::deployments::{FrozenParts, check_stage_with, freeze, rebase};
use crate::api::iam::{account_id, check_principal_at, keys_of, principal_arn};
use crate::api::rest_apis::{
    Siblings, api_record_keys, check_authorization_with, check_placement, check_resource_policy,
    child_path,
};
use crate::api::usage_plans::{
    check_key, check_no_shared_stage_with, check_plan_with, key_record_keys, new_key, secret,
};
use crate::error::{ApiError, ApiResult};
use crate::store::{StoreError, View, keys};
use crate::{api_keys, ids, validate};
use archway_proto::resource_name;
use archway_proto::v1::*;
use prost::Message;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// An error in the document: where (`apis[2].routes[5].integration.uri`)
/// and why.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for DocumentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The document: every error in it.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Document(Vec<DocumentError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One staged store write.
#[derive(Debug, Clone)]
pub enum Write {
    Put(String, Vec<u8>),
    Delete(String),
}

/// What applying a document changes.
#[derive(Debug, Default)]
pub struct Plan {
    /// For people: each resource created, updated, deleted or left alone.
    pub changes: Vec<ConfigurationChange>,
    /// For the store: one batch.
    pub writes: Vec<Write>,
    /// Keys, plans, principals and access keys to publish individually.
    pub publish: Vec<String>,
    /// Values generated for new keys, shown once after the commit.
    pub created_keys: Vec<CreatedApiKey>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Delete what exists and the document does not have.
    pub prune: bool,
    /// Report no ids for what is created (nothing will have them).
    pub dry_run: bool,
}

/// Plans `doc` against `view`.
pub fn plan(view: &View, doc: &ApplyFile, options: Options) -> Result<Plan, PlanError> {
    let mut planner = Planner {
        view,
        options,
        errors: Vec::new(),
        plan: Plan::default(),
        new_ids: HashSet::new(),
        final_apis: Vec::new(),
        final_stages: HashSet::new(),
    };
    planner.apis(doc)?;
    let plan_ids = planner.usage_plans(doc)?;
    planner.api_keys(doc, &plan_ids)?;
    planner.principals(doc)?;
    if planner.errors.is_empty() {
        Ok(planner.plan)
    } else {
        Err(PlanError::Document(planner.errors))
    }
}

struct Planner<'a> {
    view: &'a View,
    options: Options,
    errors: Vec<DocumentError>,
    plan: Plan,
    /// Ids handed out by this plan, so two new records never share one.
    new_ids: HashSet<String>,
    /// (id, name) of every API after the plan, for plans naming them.
    final_apis: Vec<(String, String)>,
    /// (API id, stage) of every stage after the plan.
    final_stages: HashSet<(String, String)>,
}

/// The stage name a new deployment is shown as in stage changes: the same
/// in a dry run and an apply (the deployment change carries the id).
const NEW_DEPLOYMENT: &str = "(new deployment)";

/// Which record of `existing` the document's `wanted` matches. More than
/// one is ambiguous: the caller refuses it.
fn matching<T>(existing: &[T], wanted: impl Fn(&T) -> bool) -> Vec<&T> {
    existing.iter().filter(|e| wanted(e)).collect()
}

/// The fields (as the document spells them) whose values differ between
/// two document forms of one resource.
fn field_changes<T: Serialize>(before: &T, after: &T) -> Vec<FieldChange> {
    let as_map = |v: &T| match serde_json::to_value(v) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (before, after) = (as_map(before), as_map(after));
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let text = |v: Option<&serde_json::Value>| v.map(|v| v.to_string()).unwrap_or_default();
    names
        .into_iter()
        .filter(|name| before.get(*name) != after.get(*name))
        .map(|name| FieldChange {
            field: name.clone(),
            before: text(before.get(name)),
            after: text(after.get(name)),
        })
        .collect()
}

fn change(kind: &str, action: ChangeAction, name: String) -> ConfigurationChange {
    ConfigurationChange {
        kind: kind.into(),
        action: action as i32,
        name,
        ..Default::default()
    }
}

/// Upper-cases a short enum name and finds it (`REST` in ApiProtocol is
/// API_PROTOCOL_REST).
fn enum_value<E>(
    value: Option<&str>,
    default: E,
    prefix: &str,
    choices: &str,
    parse: impl Fn(&str) -> Option<E>,
) -> Result<E, String> {
    match value {
        None => Ok(default),
        Some(v) => parse(&format!("{prefix}{}", v.to_ascii_uppercase()))
            .ok_or_else(|| format!("'{v}' is not one of {choices}")),
    }
}

/// A route path in the stored form: leading '/', no trailing '/'.
fn normalize_path(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err(format!("'{path}' must start with '/'"));
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

/// The state of one API after the plan, for deployments and stages.
struct ApiAfter {
    api: RestApi,
    resources: Vec<Resource>,
    methods: Vec<Method>,
    authorizers: Vec<Authorizer>,
}

impl Planner<'_> {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(DocumentError {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Records a refusal of a shared check: a field it names is a document
    /// path (the checks were given one); other refusals sit at `path`.
    /// Store failures end the plan.
    fn check<T>(&mut self, path: &str, result: ApiResult<T>) -> Result<Option<T>, StoreError> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(ApiError::Store(e)) => Err(e),
            Err(ApiError::InvalidArgument { field, reason }) => {
                self.error(field, reason);
                Ok(None)
            }
            Err(other) => {
                self.error(path, other.to_string());
                Ok(None)
            }
        }
    }

    fn put(&mut self, key: String, value: &impl Message) {
        self.plan
            .writes
            .push(Write::Put(key, value.encode_to_vec()));
    }

    fn delete(&mut self, key: String) {
        self.plan.writes.push(Write::Delete(key));
    }

    fn push(&mut self, change: ConfigurationChange) {
        self.plan.changes.push(change);
    }

    /// The id a created record is reported with: none in a dry run.
    fn shown_id(&self, id: &str) -> String {
        if self.options.dry_run {
            String::new()
        } else {
            id.to_owned()
        }
    }

    /// A new id of `len` characters unused in the store and in this plan.
    fn fresh_id(&mut self, len: usize, key: impl Fn(&str) -> String) -> Result<String, StoreError> {
        loop {
            let id = ids::generate(len);
            if self.view.get_raw(&key(&id))?.is_none() && self.new_ids.insert(key(&id)) {
                return Ok(id);
            }
        }
    }

    // ----- APIs -----

    fn apis(&mut self, doc: &ApplyFile) -> Result<(), StoreError> {
        let existing: Vec<RestApi> = self.view.scan(keys::APIS)?;
        let mut claimed: HashMap<String, usize> = HashMap::new();
        for (i, spec) in doc.apis.iter().enumerate() {
            let path = format!("apis[{i}]");
            let found = match &spec.id {
                Some(id) => matching(&existing, |a| &a.id == id),
                None => matching(&existing, |a| a.name == spec.name),
            };
            if found.len() > 1 {
                self.error(
                    format!("{path}.name"),
                    format!(
                        "{} APIs are named '{}'; give the one to apply with `id:`",
                        found.len(),
                        spec.name
                    ),
                );
                continue;
            }
            let current = found.first().map(|a| (*a).clone());
            // The same API twice in the document: the second would undo the first.
            let identity = match (&spec.id, &current) {
                (Some(id), _) => format!("id {id}"),
                (None, Some(api)) => format!("id {}", api.id),
                (None, None) => format!("name {}", spec.name),
            };
            if let Some(first) = claimed.insert(identity.clone(), i) {
                self.error(
                    path.clone(),
                    format!("apis[{first}] is the same API ({identity}); merge the two"),
                );
                continue;
            }
            self.api(&path, spec, current)?;
        }
        // APIs the document does not have.
        let in_doc: HashSet<&str> = self
            .final_apis
            .iter()
            .map(|(id, _)| id.as_str())
            .collect::<HashSet<_>>();
        let missing: Vec<&RestApi> = existing
            .iter()
            .filter(|a| !in_doc.contains(a.id.as_str()))
            .collect();
        for api in missing {
            let name = api.name.clone();
            if self.options.prune {
                for key in api_record_keys(self.view, &api.id) {
                    self.delete(key);
                }
                self.push(ConfigurationChange {
                    id: api.id.clone(),
                    ..change("api", ChangeAction::Delete, name)
                });
            } else {
                self.final_apis.push((api.id.clone(), api.name.clone()));
                for stage in self.view.scan::<Stage>(&keys::stages(&api.id))? {
                    self.final_stages.insert((api.id.clone(), stage.stage_name));
                }
                self.push(ConfigurationChange {
                    id: api.id.clone(),
                    ..change("api", ChangeAction::Keep, name)
                });
            }
        }
        Ok(())
    }

    /// The API's own record as the document wants it, or None after
    /// recording why not.
    fn api_record(
        &mut self,
        path: &str,
        spec: &ApiSpec,
        current: Option<&RestApi>,
    ) -> Result<Option<RestApi>, StoreError> {
        let before = self.errors.len();
        let field = |f: &str| format!("{path}.{f}");
        self.check(&field("name"), validate::name(&field("name"), &spec.name))?;
        self.check(
            &field("description"),
            validate::max_len(&field("description"), &spec.description, 4096),
        )?;
        let protocol = enum_value(
            spec.protocol.as_deref(),
            ApiProtocol::Rest,
            "API_PROTOCOL_",
            "REST, HTTP",
            ApiProtocol::from_str_name,
        );
        let protocol = match protocol {
            Ok(p) => self
                .check(
                    &field("protocol"),
                    validate::protocol(&field("protocol"), p as i32),
                )?
                .unwrap_or(p),
            Err(reason) => {
                self.error(field("protocol"), reason);
                ApiProtocol::Rest
            }
        };
        let key_source = enum_value(
            spec.api_key_source.as_deref(),
            ApiKeySource::Header,
            "API_KEY_SOURCE_",
            "HEADER, AUTHORIZER",
            ApiKeySource::from_str_name,
        )
        .unwrap_or_else(|reason| {
            self.error(field("api_key_source"), reason);
            ApiKeySource::Header
        });
        let endpoint_type = enum_value(
            spec.endpoint_type.as_deref(),
            EndpointType::Regional,
            "ENDPOINT_TYPE_",
            "REGIONAL, PRIVATE",
            EndpointType::from_str_name,
        )
        .unwrap_or_else(|reason| {
            self.error(field("endpoint_type"), reason);
            EndpointType::Regional
        });
        let id = match (&spec.id, current) {
            (_, Some(api)) => api.id.clone(),
            (Some(id), None) => {
                self.check(&field("id"), validate::api_id(&field("id"), id))?;
                id.clone()
            }
            (None, None) => self.fresh_id(10, keys::api)?,
        };
        if let Some(api) = current
            && api.protocol != protocol as i32
        {
            self.error(
                field("protocol"),
                format!(
                    "API '{}' is {}; a protocol cannot change (create another API)",
                    api.id,
                    api.protocol()
                        .as_str_name()
                        .trim_start_matches("API_PROTOCOL_")
                ),
            );
        }
        let api = RestApi {
            id,
            name: spec.name.clone(),
            description: spec.description.clone(),
            protocol: protocol as i32,
            root_resource_id: current
                .map(|a| a.root_resource_id.clone())
                .unwrap_or_default(),
            created_at_ms: current.map_or_else(ids::now_ms, |a| a.created_at_ms),
            api_key_source: key_source as i32,
            policy: spec
                .policy
                .as_ref()
                .map(|p| serde_json::to_string(p).unwrap_or_default())
                .unwrap_or_default(),
            endpoint_type: endpoint_type as i32,
        };
        let checked = check_resource_policy(self.view, &api).map_err(|e| match e {
            ApiError::InvalidArgument { field: f, reason } => ApiError::InvalidArgument {
                field: format!("{path}.{f}"),
                reason,
            },
            other => other,
        });
        self.check(path, checked)?;
        Ok((self.errors.len() == before).then_some(api))
    }

    fn api(
        &mut self,
        path: &str,
        spec: &ApiSpec,
        current: Option<RestApi>,
    ) -> Result<(), StoreError> {
        let Some(mut api) = self.api_record(path, spec, current.as_ref())? else {
            // Still check what is inside, to report every error at once.
            let placeholder = RestApi {
                id: "_".into(),
                ..Default::default()
            };
            self.api_contents(path, spec, &placeholder, None)?;
            return Ok(());
        };
        self.final_apis.push((api.id.clone(), api.name.clone()));
        let root = match &current {
            Some(_) => None,
            None => {
                let root = Resource {
                    id: self.fresh_id(10, |id| keys::resource(&api.id, id))?,
                    api_id: api.id.clone(),
                    parent_id: String::new(),
                    path_part: String::new(),
                    path: "/".into(),
                };
                api.root_resource_id = root.id.clone();
                Some(root)
            }
        };
        let api_change = match &current {
            None => Some(ConfigurationChange {
                id: self.shown_id(&api.id),
                document_path: path.to_owned(),
                ..change("api", ChangeAction::Create, spec.name.clone())
            }),
            Some(old) => {
                let fields = field_changes(&export::api_fields(old), &export::api_fields(&api));
                (!fields.is_empty()).then(|| ConfigurationChange {
                    id: api.id.clone(),
                    document_path: path.to_owned(),
                    fields,
                    ..change("api", ChangeAction::Update, spec.name.clone())
                })
            }
        };
        // The API's change comes before its routes'.
        if let Some(api_change) = api_change {
            self.put(keys::api(&api.id), &api);
            self.push(api_change);
        }
        self.api_contents(path, spec, &api, root)?;
        Ok(())
    }

    /// Authorizers, routes and stages of one API.
    fn api_contents(
        &mut self,
        path: &str,
        spec: &ApiSpec,
        api: &RestApi,
        new_root: Option<Resource>,
    ) -> Result<(), StoreError> {
        let is_new = new_root.is_some() || api.id == "_";
        fn stored<M: Message + Default>(
            view: &View,
            is_new: bool,
            prefix: String,
        ) -> Result<Vec<M>, StoreError> {
            if is_new {
                Ok(Vec::new())
            } else {
                view.scan(&prefix)
            }
        }
        let view = self.view;
        let authorizers: Vec<Authorizer> = stored(view, is_new, keys::authorizers(&api.id))?;
        let mut resources: Vec<Resource> = stored(view, is_new, keys::resources(&api.id))?;
        let methods: Vec<Method> = stored(view, is_new, keys::methods_of_api(&api.id))?;
        let stages: Vec<Stage> = stored(view, is_new, keys::stages(&api.id))?;
        if let Some(root) = new_root {
            self.put(keys::resource(&api.id, &root.id), &root);
            resources.push(root);
        }
        let authorizers = self.authorizers(path, spec, api, authorizers)?;
        let after = self.routes(path, spec, api, resources, methods, authorizers)?;
        if api.id != "_" {
            self.stages(path, spec, after, stages)?;
        }
        Ok(())
    }

    /// Plans the API's authorizers; returns them as they will be.
    fn authorizers(
        &mut self,
        path: &str,
        spec: &ApiSpec,
        api: &RestApi,
        existing: Vec<Authorizer>,
    ) -> Result<Vec<Authorizer>, StoreError> {
        let mut after = Vec::new();
        let mut seen = HashSet::new();
        for (j, a) in spec.authorizers.iter().enumerate() {
            let field = format!("{path}.authorizers[{j}]");
            if !seen.insert(a.name.clone()) {
                self.error(
                    format!("{field}.name"),
                    format!("authorizer '{}' appears twice", a.name),
                );
                continue;
            }
            let found = matching(&existing, |e| e.name == a.name);
            if found.len() > 1 {
                self.error(
                    format!("{field}.name"),
                    format!(
                        "{} authorizers of this API are named '{}'",
                        found.len(),
                        a.name
                    ),
                );
                continue;
            }
            let current = found.first().copied();
            let kind = match enum_value(
                Some(&a.kind),
                AuthorizerType::Jwt,
                "AUTHORIZER_TYPE_",
                "JWT, TOKEN, REQUEST",
                AuthorizerType::from_str_name,
            ) {
                Ok(AuthorizerType::Unspecified) | Err(_) => {
                    self.error(
                        format!("{field}.type"),
                        format!("'{}' is not one of JWT, TOKEN, REQUEST", a.kind),
                    );
                    continue;
                }
                Ok(kind) => kind,
            };
            let id = match current {
                Some(c) => c.id.clone(),
                None => self.fresh_id(8, |id| keys::authorizer(&api.id, id))?,
            };
            let mut desired = Authorizer {
                id,
                api_id: api.id.clone(),
                name: a.name.clone(),
                r#type: kind as i32,
                identity_source: a.identity_source.clone(),
                ..Default::default()
            };
            if kind == AuthorizerType::Jwt {
                desired.jwt = Some(JwtConfiguration {
                    issuer: a.issuer.clone(),
                    audiences: a.audiences.clone(),
                    jwks_uri: a.jwks_uri.clone(),
                    algorithms: a.algorithms.clone(),
                    leeway_seconds: a.leeway_seconds,
                });
            } else {
                desired.authorizer_uri = a.uri.clone();
                desired.result_ttl_seconds = Some(a.ttl_seconds.unwrap_or(300));
                desired.identity_validation_expression = a.validation_expression.clone();
                desired.timeout_ms = a.timeout_ms;
            }
            let checked =
                validate::authorizer(&desired).map_err(|e| rebase(e, "authorizer", &field));
            if self.check(&field, checked)?.is_none() {
                continue;
            }
            let name = format!("{} {}", api.name, a.name);
            match current {
                None => {
                    self.put(keys::authorizer(&api.id, &desired.id), &desired);
                    self.push(ConfigurationChange {
                        id: self.shown_id(&desired.id),
                        document_path: field,
                        ..change("authorizer", ChangeAction::Create, name)
                    });
                }
                Some(old) if *old != desired => {
                    self.put(keys::authorizer(&api.id, &desired.id), &desired);
                    self.push(ConfigurationChange {
                        id: desired.id.clone(),
                        document_path: field,
                        fields: field_changes(
                            &export::authorizer_spec(old),
                            &export::authorizer_spec(&desired),
                        ),
                        ..change("authorizer", ChangeAction::Update, name)
                    });
                }
                Some(_) => {}
            }
            after.push(desired);
        }
        for old in existing {
            if seen.contains(&old.name) {
                continue;
            }
            let name = format!("{} {}", api.name, old.name);
            if self.options.prune {
                self.delete(keys::authorizer(&api.id, &old.id));
                self.push(ConfigurationChange {
                    id: old.id.clone(),
                    ..change("authorizer", ChangeAction::Delete, name)
                });
            } else {
                self.push(ConfigurationChange {
                    id: old.id.clone(),
                    ..change("authorizer", ChangeAction::Keep, name)
                });
                after.push(old);
            }
        }
        Ok(after)
    }

    /// Plans the API's resources and methods; returns the API as it will be.
    fn routes(
        &mut self,
        path: &str,
        spec: &ApiSpec,
        api: &RestApi,
        resources: Vec<Resource>,
        methods: Vec<Method>,
        authorizers: Vec<Authorizer>,
    ) -> Result<ApiAfter, StoreError> {
        let auth_by_name: HashMap<&str, (&str, AuthorizerType)> = authorizers
            .iter()
            .map(|a| (a.name.as_str(), (a.id.as_str(), a.r#type())))
            .collect();
        let auth_by_id: HashMap<&str, AuthorizerType> = authorizers
            .iter()
            .map(|a| (a.id.as_str(), a.r#type()))
            .collect();
        // The routes the document wants, by (path, verb).
        let mut wanted: BTreeMap<(String, String), (usize, Method)> = BTreeMap::new();
        let mut wanted_paths: BTreeSet<String> = BTreeSet::from(["/".to_string()]);
        // The first route at or under each path: it names a refused path.
        let mut first_route_under: HashMap<String, usize> = HashMap::new();
        for (k, route) in spec.routes.iter().enumerate() {
            let field = format!("{path}.routes[{k}]");
            let route_path = match normalize_path(&route.path) {
                Ok(p) => p,
                Err(reason) => {
                    self.error(format!("{field}.path"), reason);
                    continue;
                }
            };
            let Some(verb) = self.check(
                &format!("{field}.method"),
                validate::http_method(&format!("{field}.method"), &route.method),
            )?
            else {
                continue;
            };
            let integration = integration_of(&route.integration);
            let checked =
                validate::integration(&format!("{field}.integration"), &integration, &route_path);
            self.check(&field, checked)?;
            let (authorization_type, authorizer_id) = match authorization_of(route, &auth_by_name) {
                Ok(a) => a,
                Err((f, reason)) => {
                    self.error(format!("{field}.{f}"), reason);
                    continue;
                }
            };
            let mut method = Method {
                api_id: api.id.clone(),
                resource_id: String::new(),
                http_method: verb.clone(),
                integration: Some(integration),
                api_key_required: route.api_key_required,
                authorization_type,
                authorizer_id,
                authorization_scopes: route.scopes.clone(),
            };
            let checked =
                check_authorization_with(&field, &mut method, |id| Ok(auth_by_id.get(id).copied()));
            if self.check(&field, checked)?.is_none() {
                continue;
            }
            let key = (route_path.clone(), verb);
            if let Some((first, _)) = wanted.get(&key) {
                self.error(
                    field,
                    format!("routes[{first}] is the same route ({} {})", key.1, key.0),
                );
                continue;
            }
            let mut p = route_path.clone();
            while p != "/" {
                first_route_under.entry(p.clone()).or_insert(k);
                wanted_paths.insert(p.clone());
                p = parent_of(&p).0.to_string();
            }
            wanted.insert(key, (k, method));
        }

        let path_of_id: HashMap<String, String> = resources
            .iter()
            .map(|r| (r.id.clone(), r.path.clone()))
            .collect();
        // Existing methods not in the document: left alone, or pruned.
        let mut kept_methods = Vec::new();
        for m in methods {
            let Some(p) = path_of_id.get(&m.resource_id) else {
                continue;
            };
            let key = (p.clone(), m.http_method.clone());
            if wanted.contains_key(&key) {
                kept_methods.push(m);
                continue;
            }
            let name = format!("{} {} {}", api.name, m.http_method, p);
            if self.options.prune {
                self.delete(keys::method(&api.id, &m.resource_id, &m.http_method));
                self.push(change("route", ChangeAction::Delete, name));
            } else {
                // Still valid with the authorizers as they will be?
                let mut checked = m.clone();
                let result = check_authorization_with(
                    &format!("{path} route {} {p}", m.http_method),
                    &mut checked,
                    |id| Ok(auth_by_id.get(id).copied()),
                );
                let result = result.map_err(|e| match e {
                    ApiError::InvalidArgument { field, reason } => ApiError::invalid(
                        path,
                        format!("{field} (not in the document, left alone): {reason}; add the route to the document or apply with --prune"),
                    ),
                    other => other,
                });
                self.check(path, result)?;
                self.push(change("route", ChangeAction::Keep, name));
                kept_methods.push(m);
            }
        }
        // Resources: with prune exactly the routes' paths; without, the
        // existing ones plus what the routes need.
        let mut by_path: HashMap<String, Resource> = HashMap::new();
        for r in resources {
            if self.options.prune && !wanted_paths.contains(&r.path) {
                self.delete(keys::resource(&api.id, &r.id));
            } else {
                by_path.insert(r.path.clone(), r);
            }
        }
        let mut siblings: HashMap<String, Siblings> = HashMap::new();
        for r in by_path.values() {
            siblings
                .entry(r.parent_id.clone())
                .or_default()
                .add(&r.path_part);
        }
        let mut missing: Vec<&String> = wanted_paths
            .iter()
            .filter(|p| !by_path.contains_key(*p))
            .collect();
        missing.sort_by_key(|p| p.matches('/').count());
        for p in missing {
            let (parent_path, part) = parent_of(p);
            let Some(parent) = by_path.get(parent_path).cloned() else {
                continue; // Its parent was refused: already reported.
            };
            let k = first_route_under.get(p.as_str()).copied().unwrap_or(0);
            let field = format!("{path}.routes[{k}].path");
            let placed = check_placement(
                &field,
                &parent,
                part,
                siblings.entry(parent.id.clone()).or_default(),
            );
            if self.check(&field, placed)?.is_none() {
                continue;
            }
            let resource = Resource {
                id: self.fresh_id(10, |id| keys::resource(&api.id, id))?,
                api_id: api.id.clone(),
                parent_id: parent.id.clone(),
                path_part: part.to_owned(),
                path: child_path(&parent.path, part),
            };
            siblings.entry(parent.id.clone()).or_default().add(part);
            self.put(keys::resource(&api.id, &resource.id), &resource);
            by_path.insert(p.clone(), resource);
        }
        // Methods the document has: created or updated.
        let existing_methods: HashMap<(String, String), Method> = kept_methods
            .iter()
            .filter_map(|m| {
                let p = path_of_id.get(&m.resource_id)?;
                Some(((p.clone(), m.http_method.clone()), m.clone()))
            })
            .collect();
        let names_by_id: HashMap<String, String> = authorizers
            .iter()
            .map(|a| (a.id.clone(), a.name.clone()))
            .collect();
        let mut after_methods: Vec<Method> = kept_methods
            .into_iter()
            .filter(|m| {
                path_of_id
                    .get(&m.resource_id)
                    .is_none_or(|p| !wanted.contains_key(&(p.clone(), m.http_method.clone())))
            })
            .collect();
        for ((p, verb), (k, mut method)) in wanted {
            let Some(resource) = by_path.get(&p) else {
                continue; // Refused above.
            };
            method.resource_id = resource.id.clone();
            let name = format!("{} {verb} {p}", api.name);
            let field = format!("{path}.routes[{k}]");
            match existing_methods.get(&(p.clone(), verb.clone())) {
                None => {
                    self.put(keys::method(&api.id, &method.resource_id, &verb), &method);
                    self.push(ConfigurationChange {
                        document_path: field,
                        ..change("route", ChangeAction::Create, name)
                    });
                }
                Some(old) if *old != method => {
                    self.put(keys::method(&api.id, &method.resource_id, &verb), &method);
                    self.push(ConfigurationChange {
                        document_path: field,
                        fields: field_changes(
                            &export::route_spec(old, &p, &names_by_id),
                            &export::route_spec(&method, &p, &names_by_id),
                        ),
                        ..change("route", ChangeAction::Update, name)
                    });
                }
                Some(_) => {}
            }
            after_methods.push(method);
        }
        Ok(ApiAfter {
            api: api.clone(),
            resources: by_path.into_values().collect(),
            methods: after_methods,
            authorizers,
        })
    }

    /// Plans the API's stages, and the one deployment they need when the
    /// API differs from what they serve.
    fn stages(
        &mut self,
        path: &str,
        spec: &ApiSpec,
        after: ApiAfter,
        existing: Vec<Stage>,
    ) -> Result<(), StoreError> {
        let api = &after.api;
        let mut new_deployment: Option<(String, Vec<String>)> = None;
        let mut served_cache: HashMap<String, bool> = HashMap::new();
        let mut seen = HashSet::new();
        for (j, s) in spec.stages.iter().enumerate() {
            let field = format!("{path}.stages[{j}]");
            if !seen.insert(s.name.clone()) {
                self.error(
                    format!("{field}.name"),
                    format!("stage '{}' appears twice", s.name),
                );
                continue;
            }
            let current = existing.iter().find(|e| e.stage_name == s.name);
            // The deployment new versions go to: the canary if there is one.
            let latest = current.map(|c| match (&c.canary, &s.canary) {
                (Some(canary), Some(_)) => canary.deployment_id.clone(),
                _ => c.deployment_id.clone(),
            });
            let up_to_date = match &latest {
                Some(id) => match served_cache.get(id) {
                    Some(v) => *v,
                    None => {
                        let v = match self
                            .view
                            .get::<Deployment>(&keys::deployment(&api.id, id))?
                        {
                            Some(d) => serves(&d, &after),
                            None => false,
                        };
                        served_cache.insert(id.clone(), v);
                        v
                    }
                },
                None => false,
            };
            let target = if up_to_date {
                latest.clone().expect("up to date implies a deployment")
            } else {
                match &mut new_deployment {
                    Some((id, stages)) => {
                        stages.push(s.name.clone());
                        id.clone()
                    }
                    None => {
                        let id = self.fresh_id(10, |id| keys::deployment(&api.id, id))?;
                        new_deployment = Some((id.clone(), vec![s.name.clone()]));
                        id
                    }
                }
            };
            let Some(mut stage) = self.stage_record(&field, s, api, current)? else {
                continue;
            };
            let canary = |deployment_id: String| {
                s.canary.as_ref().map(|c| CanarySettings {
                    deployment_id,
                    percent_traffic: c.percent_traffic,
                    stage_variable_overrides: c.stage_variable_overrides.clone(),
                })
            };
            (stage.deployment_id, stage.canary) = match (current, &s.canary) {
                (Some(c), Some(_)) => (c.deployment_id.clone(), canary(target.clone())),
                (None, Some(_)) => (target.clone(), canary(target.clone())),
                (_, None) => (target.clone(), None),
            };
            let new_id = new_deployment.as_ref().map(|(id, _)| id.clone());
            let view = self.view;
            let checked = check_stage_with(&field, &stage, |id| {
                Ok(Some(id) == new_id.as_deref()
                    || view.get_raw(&keys::deployment(&api.id, id))?.is_some())
            });
            if self.check(&field, checked)?.is_none() {
                continue;
            }
            self.final_stages.insert((api.id.clone(), s.name.clone()));
            let shown = |id: &str| {
                if Some(id) == new_id.as_deref() {
                    NEW_DEPLOYMENT.to_owned()
                } else {
                    id.to_owned()
                }
            };
            let name = format!("{}/{}", api.name, s.name);
            match current {
                None => {
                    let mut fields = vec![FieldChange {
                        field: "deployment".into(),
                        before: String::new(),
                        after: shown(&stage.deployment_id),
                    }];
                    if let Some(c) = &stage.canary {
                        fields.push(FieldChange {
                            field: "canary.deployment".into(),
                            before: String::new(),
                            after: shown(&c.deployment_id),
                        });
                    }
                    self.put(keys::stage(&api.id, &stage.stage_name), &stage);
                    self.push(ConfigurationChange {
                        document_path: field,
                        fields,
                        ..change("stage", ChangeAction::Create, name)
                    });
                }
                Some(old) => {
                    let mut fields =
                        field_changes(&export::stage_spec(old), &export::stage_spec(&stage));
                    if old.deployment_id != stage.deployment_id {
                        fields.push(FieldChange {
                            field: "deployment".into(),
                            before: old.deployment_id.clone(),
                            after: shown(&stage.deployment_id),
                        });
                    }
                    let deployment_of = |c: &Option<CanarySettings>| {
                        c.as_ref()
                            .map(|c| c.deployment_id.clone())
                            .unwrap_or_default()
                    };
                    let (was, will) = (deployment_of(&old.canary), deployment_of(&stage.canary));
                    if was != will {
                        fields.push(FieldChange {
                            field: "canary.deployment".into(),
                            before: was,
                            after: if will.is_empty() { will } else { shown(&will) },
                        });
                    }
                    if !fields.is_empty() {
                        stage.updated_at_ms = ids::now_ms();
                        self.put(keys::stage(&api.id, &stage.stage_name), &stage);
                        self.push(ConfigurationChange {
                            document_path: field,
                            fields,
                            ..change("stage", ChangeAction::Update, name)
                        });
                    }
                }
            }
        }
        for old in &existing {
            if seen.contains(&old.stage_name) {
                continue;
            }
            let name = format!("{}/{}", api.name, old.stage_name);
            if self.options.prune {
                self.delete(keys::stage(&api.id, &old.stage_name));
                self.push(change("stage", ChangeAction::Delete, name));
            } else {
                self.final_stages
                    .insert((api.id.clone(), old.stage_name.clone()));
                self.push(change("stage", ChangeAction::Keep, name));
            }
        }
        if let Some((id, stages)) = new_deployment {
            self.deployment(path, &after, id, stages)?;
        }
        Ok(())
    }

    /// Freezes the API as it will be into a new deployment.
    fn deployment(
        &mut self,
        path: &str,
        after: &ApiAfter,
        id: String,
        stages: Vec<String>,
    ) -> Result<(), StoreError> {
        let api = &after.api;
        let latest = self
            .view
            .scan::<Deployment>(&keys::deployments(&api.id))?
            .iter()
            .map(|d| d.created_at_ms)
            .max()
            .unwrap_or(0);
        let mut resources = after.resources.clone();
        resources.sort_by(|a, b| a.id.cmp(&b.id));
        let mut methods = after.methods.clone();
        methods.sort_by(|a, b| {
            (&a.resource_id, &a.http_method).cmp(&(&b.resource_id, &b.http_method))
        });
        let mut authorizers = after.authorizers.clone();
        authorizers.sort_by(|a, b| a.id.cmp(&b.id));
        let frozen = freeze(
            api,
            FrozenParts {
                id,
                description: "archwayctl apply".into(),
                created_at_ms: ids::now_ms().max(latest + 1),
                resources,
                methods,
                authorizers,
            },
        );
        let Some(deployment) = self.check(&format!("{path}.stages"), frozen)? else {
            return Ok(());
        };
        self.push(ConfigurationChange {
            id: self.shown_id(&deployment.id),
            document_path: path.to_owned(),
            fields: vec![FieldChange {
                field: "stages".into(),
                before: String::new(),
                after: stages.join(", "),
            }],
            ..change("deployment", ChangeAction::Create, api.name.clone())
        });
        self.put(keys::deployment(&api.id, &deployment.id), &deployment);
        Ok(())
    }

    /// A stage's settings as the document wants them (deployments are set
    /// by the caller).
    fn stage_record(
        &mut self,
        field: &str,
        s: &StageSpec,
        api: &RestApi,
        current: Option<&Stage>,
    ) -> Result<Option<Stage>, StoreError> {
        let mut method_cache_settings = Vec::new();
        for (m, c) in s.cache.iter().flat_map(|c| c.methods.iter()).enumerate() {
            let strategy = match c.unauthorized_strategy.as_deref() {
                None => UnauthorizedCacheControlHeaderStrategy::Unspecified,
                Some(name) => match UnauthorizedCacheControlHeaderStrategy::from_str_name(&format!(
                    "UNAUTHORIZED_CACHE_CONTROL_HEADER_STRATEGY_{}",
                    name.to_ascii_uppercase()
                )) {
                    Some(s) => s,
                    None => {
                        self.error(
                            format!("{field}.cache.methods[{m}].unauthorized_strategy"),
                            format!("'{name}' is not one of FAIL_WITH_403, SUCCEED_WITH_RESPONSE_HEADER, SUCCEED_WITHOUT_RESPONSE_HEADER"),
                        );
                        return Ok(None);
                    }
                },
            };
            method_cache_settings.push(MethodCacheSetting {
                resource_path: c.path.clone(),
                http_method: c.method.to_ascii_uppercase(),
                caching_enabled: c.enabled,
                cache_ttl_in_seconds: c.ttl_seconds,
                require_authorization_for_cache_control: c.require_authorization,
                unauthorized_cache_control_header_strategy: strategy as i32,
            });
        }
        let now = ids::now_ms();
        Ok(Some(Stage {
            api_id: api.id.clone(),
            stage_name: s.name.clone(),
            deployment_id: String::new(),
            description: s.description.clone(),
            variables: s.variables.clone(),
            canary: None,
            created_at_ms: current.map_or(now, |c| c.created_at_ms),
            updated_at_ms: current.map_or(now, |c| c.updated_at_ms),
            access_log_settings: s.access_log.as_ref().map(|log| AccessLogSettings {
                format: log.format.clone(),
                destination: log.destination.clone(),
            }),
            method_settings: stage_throttles(s),
            cache_cluster_enabled: s.cache.as_ref().is_some_and(|c| c.enabled),
            cache_cluster_size: s
                .cache
                .as_ref()
                .and_then(|c| c.size.clone())
                .unwrap_or_default(),
            cache_ttl_seconds: s.cache.as_ref().and_then(|c| c.ttl_seconds),
            method_cache_settings,
            // Only FlushStageCache moves it.
            cache_flush_generation: current.map_or(0, |c| c.cache_flush_generation),
        }))
    }

    // ----- usage plans, keys, IAM -----

    /// Plans usage plans; returns name → id of every plan after the plan.
    fn usage_plans(&mut self, doc: &ApplyFile) -> Result<HashMap<String, UsagePlan>, StoreError> {
        let existing: Vec<UsagePlan> = self.view.scan(keys::USAGE_PLANS)?;
        let mut after: HashMap<String, UsagePlan> = HashMap::new();
        for (i, spec) in doc.usage_plans.iter().enumerate() {
            let field = format!("usage_plans[{i}]");
            if after.contains_key(&spec.name) {
                self.error(
                    format!("{field}.name"),
                    format!("usage plan '{}' appears twice", spec.name),
                );
                continue;
            }
            let found = matching(&existing, |p| p.name == spec.name);
            if found.len() > 1 {
                self.error(
                    format!("{field}.name"),
                    format!(
                        "{} usage plans are named '{}'; rename one",
                        found.len(),
                        spec.name
                    ),
                );
                continue;
            }
            let current = found.first().copied();
            let mut api_stages = Vec::new();
            for (j, s) in spec.stages.iter().enumerate() {
                let by_id: Vec<&(String, String)> = self
                    .final_apis
                    .iter()
                    .filter(|(id, _)| *id == s.api)
                    .collect();
                let by_name: Vec<&(String, String)> = self
                    .final_apis
                    .iter()
                    .filter(|(_, name)| *name == s.api)
                    .collect();
                let api_id = match (by_id.first(), by_name.as_slice()) {
                    (Some((id, _)), _) => id.clone(),
                    (None, [(id, _)]) => id.clone(),
                    (None, []) => {
                        self.error(
                            format!("{field}.stages[{j}].api"),
                            format!("no API has the id or name '{}'", s.api),
                        );
                        continue;
                    }
                    (None, _) => {
                        self.error(
                            format!("{field}.stages[{j}].api"),
                            format!(
                                "{} APIs are named '{}'; use the API's id",
                                by_name.len(),
                                s.api
                            ),
                        );
                        continue;
                    }
                };
                api_stages.push(UsagePlanStage {
                    api_id,
                    stage: s.stage.clone(),
                    throttle: s.method_throttles.iter().map(method_throttle_of).collect(),
                });
            }
            let quota = match &spec.quota {
                None => None,
                Some(q) => match QuotaPeriod::from_str_name(&format!(
                    "QUOTA_PERIOD_{}",
                    q.period.to_ascii_uppercase()
                )) {
                    Some(period) if period != QuotaPeriod::Unspecified => Some(QuotaSettings {
                        limit: q.limit,
                        period: period as i32,
                        offset: q.offset,
                    }),
                    _ => {
                        self.error(
                            format!("{field}.quota.period"),
                            format!("'{}' is not DAY, WEEK or MONTH", q.period),
                        );
                        continue;
                    }
                },
            };
            let id = match current {
                Some(p) => p.id.clone(),
                None => self.fresh_id(10, keys::usage_plan)?,
            };
            let plan = UsagePlan {
                id,
                name: spec.name.clone(),
                description: spec.description.clone(),
                throttle: spec.throttle.as_ref().map(|t| ThrottleSettings {
                    rate_limit: t.rate_limit,
                    burst_limit: t.burst_limit,
                }),
                quota,
                api_stages,
                created_at_ms: current.map_or_else(ids::now_ms, |p| p.created_at_ms),
            };
            let stages = &self.final_stages;
            let checked = check_plan_with(&field, &plan, |api, stage| {
                Ok(stages.contains(&(api.to_owned(), stage.to_owned())))
            });
            // Stage refusals name the document's `stages`, not `api_stages`.
            let checked = checked.map_err(|e| {
                rebase(
                    e,
                    &format!("{field}.api_stages"),
                    &format!("{field}.stages"),
                )
            });
            if self.check(&field, checked)?.is_none() {
                continue;
            }
            let name = spec.name.clone();
            match current {
                None => {
                    self.put(keys::usage_plan(&plan.id), &plan);
                    self.plan.publish.push(resource_name::usage_plan(&plan.id));
                    self.push(ConfigurationChange {
                        id: self.shown_id(&plan.id),
                        document_path: field,
                        ..change("usage_plan", ChangeAction::Create, name)
                    });
                }
                Some(old) if *old != plan => {
                    self.put(keys::usage_plan(&plan.id), &plan);
                    self.plan.publish.push(resource_name::usage_plan(&plan.id));
                    self.push(ConfigurationChange {
                        id: plan.id.clone(),
                        document_path: field,
                        fields: field_changes(
                            &export::usage_plan_spec(old),
                            &export::usage_plan_spec(&plan),
                        ),
                        ..change("usage_plan", ChangeAction::Update, name)
                    });
                }
                Some(_) => {}
            }
            after.insert(spec.name.clone(), plan);
        }
        let in_doc: HashSet<&str> = doc.usage_plans.iter().map(|p| p.name.as_str()).collect();
        for old in existing {
            if in_doc.contains(old.name.as_str()) {
                continue;
            }
            if self.options.prune {
                self.delete(keys::usage_plan(&old.id));
                for (key, _) in self
                    .view
                    .scan_raw(&format!("{}{}/", keys::QUOTA_RESETS, old.id))?
                {
                    self.delete(key);
                }
                self.plan.publish.push(resource_name::usage_plan(&old.id));
                self.push(ConfigurationChange {
                    id: old.id.clone(),
                    ..change("usage_plan", ChangeAction::Delete, old.name.clone())
                });
            } else {
                self.push(ConfigurationChange {
                    id: old.id.clone(),
                    ..change("usage_plan", ChangeAction::Keep, old.name.clone())
                });
                // Left alone: keys may stay in it (by id; a clash of names
                // with a plan of the document was refused above).
                after.entry(old.name.clone()).or_insert(old);
            }
        }
        Ok(after)
    }

    fn api_keys(
        &mut self,
        doc: &ApplyFile,
        plans: &HashMap<String, UsagePlan>,
    ) -> Result<(), StoreError> {
        let existing: Vec<ApiKey> = self.view.scan(keys::API_KEYS)?;
        let plans_by_id: HashMap<&str, &UsagePlan> =
            plans.values().map(|p| (p.id.as_str(), p)).collect();
        let secret = match secret(self.view) {
            Ok(s) => s,
            Err(ApiError::Store(e)) => return Err(e),
            Err(other) => {
                if !doc.api_keys.is_empty() {
                    self.error("api_keys", other.to_string());
                }
                return Ok(());
            }
        };
        let mut seen = HashSet::new();
        let mut new_hashes = HashSet::new();
        for (i, spec) in doc.api_keys.iter().enumerate() {
            let field = format!("api_keys[{i}]");
            if !seen.insert(spec.name.clone()) {
                self.error(
                    format!("{field}.name"),
                    format!("API key '{}' appears twice", spec.name),
                );
                continue;
            }
            let found = matching(&existing, |k| k.name == spec.name);
            if found.len() > 1 {
                self.error(
                    format!("{field}.name"),
                    format!(
                        "{} API keys are named '{}'; rename one",
                        found.len(),
                        spec.name
                    ),
                );
                continue;
            }
            let current = found.first().copied();
            let mut plan_ids = Vec::new();
            for (j, name) in spec.usage_plans.iter().enumerate() {
                match plans.get(name) {
                    Some(p) => plan_ids.push(p.id.clone()),
                    None => self.error(
                        format!("{field}.usage_plans[{j}]"),
                        format!("no usage plan is named '{name}'"),
                    ),
                }
            }
            let value = spec.value.clone().unwrap_or_else(api_keys::generate);
            let Some(hash) = self.check(
                &field,
                check_key(&secret, &field, &spec.name, &spec.description, &value),
            )?
            else {
                continue;
            };
            let mut key = match current {
                Some(k) => {
                    if spec.value.is_some() && k.value_hash != hash {
                        self.error(
                            format!("{field}.value"),
                            "differs from the key's value, which cannot change; leave `value` out, or delete the key to import another",
                        );
                        continue;
                    }
                    ApiKey {
                        description: spec.description.clone(),
                        enabled: spec.enabled,
                        ..k.clone()
                    }
                }
                None => {
                    let index = keys::api_key_hash(&api_keys::hex(&hash));
                    if self.view.get_raw(&index)?.is_some() || !new_hashes.insert(index.clone()) {
                        self.error(format!("{field}.value"), "another API key has this value");
                        continue;
                    }
                    let id = self.fresh_id(10, keys::api_key)?;
                    self.plan
                        .writes
                        .push(Write::Put(index, id.as_bytes().to_vec()));
                    if spec.value.is_none() {
                        self.plan.created_keys.push(CreatedApiKey {
                            name: spec.name.clone(),
                            id: id.clone(),
                            value: value.clone(),
                        });
                    }
                    new_key(
                        id,
                        &spec.name,
                        &spec.description,
                        &value,
                        hash,
                        spec.enabled,
                    )
                }
            };
            plan_ids.sort();
            plan_ids.dedup();
            let before: BTreeSet<String> = key.usage_plan_ids.iter().cloned().collect();
            key.usage_plan_ids = plan_ids;
            for plan_id in &key.usage_plan_ids {
                let plan = plans_by_id[plan_id.as_str()];
                let checked = check_no_shared_stage_with(&key, plan, |id| {
                    plans_by_id
                        .get(id)
                        .map(|p| (*p).clone())
                        .ok_or_else(|| ApiError::NotFound(format!("usage plan '{id}'")))
                });
                self.check(&format!("{field}.usage_plans"), checked)?;
                if !before.contains(plan_id) {
                    self.plan
                        .writes
                        .push(Write::Put(keys::plan_key(plan_id, &key.id), Vec::new()));
                }
            }
            for plan_id in &before {
                if !key.usage_plan_ids.contains(plan_id) {
                    self.delete(keys::plan_key(plan_id, &key.id));
                }
            }
            let name = spec.name.clone();
            match current {
                None => {
                    self.put(keys::api_key(&key.id), &key);
                    self.plan.publish.push(resource_name::api_key(&key.id));
                    self.push(ConfigurationChange {
                        id: self.shown_id(&key.id),
                        document_path: field,
                        ..change("api_key", ChangeAction::Create, name)
                    });
                }
                Some(old) if *old != key => {
                    let plan_names: HashMap<String, String> = plans
                        .values()
                        .map(|p| (p.id.clone(), p.name.clone()))
                        .chain(
                            self.view
                                .scan::<UsagePlan>(keys::USAGE_PLANS)?
                                .into_iter()
                                .map(|p| (p.id, p.name)),
                        )
                        .collect();
                    self.put(keys::api_key(&key.id), &key);
                    self.plan.publish.push(resource_name::api_key(&key.id));
                    self.push(ConfigurationChange {
                        id: key.id.clone(),
                        document_path: field,
                        fields: field_changes(
                            &export::api_key_spec(old, &plan_names),
                            &export::api_key_spec(&key, &plan_names),
                        ),
                        ..change("api_key", ChangeAction::Update, name)
                    });
                }
                Some(_) => {}
            }
        }
        for old in existing {
            if seen.contains(&old.name) {
                continue;
            }
            if self.options.prune {
                for key in key_record_keys(&old) {
                    self.delete(key);
                }
                self.plan.publish.push(resource_name::api_key(&old.id));
                self.push(ConfigurationChange {
                    id: old.id.clone(),
                    ..change("api_key", ChangeAction::Delete, old.name.clone())
                });
            } else {
                self.push(ConfigurationChange {
                    id: old.id.clone(),
                    ..change("api_key", ChangeAction::Keep, old.name.clone())
                });
            }
        }
        Ok(())
    }

    fn principals(&mut self, doc: &ApplyFile) -> Result<(), StoreError> {
        let existing: Vec<IamPrincipal> = self.view.scan(keys::PRINCIPALS)?;
        let account = match account_id(self.view) {
            Ok(a) => a,
            Err(ApiError::Store(e)) => return Err(e),
            Err(_) => "000000000000".into(),
        };
        let mut seen = HashSet::new();
        let all = doc
            .iam
            .users
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("iam.users[{i}]"), PrincipalType::User, p))
            .chain(
                doc.iam
                    .roles
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (format!("iam.roles[{i}]"), PrincipalType::Role, p)),
            );
        for (field, kind, spec) in all {
            if !seen.insert(spec.name.clone()) {
                self.error(
                    format!("{field}.name"),
                    format!(
                        "principal '{}' appears twice (names are shared by users and roles)",
                        spec.name
                    ),
                );
                continue;
            }
            let current = existing.iter().find(|p| p.name == spec.name);
            let desired = IamPrincipal {
                name: spec.name.clone(),
                r#type: kind as i32,
                arn: principal_arn(&account, kind, &spec.name),
                description: spec.description.clone(),
                policies: spec
                    .policies
                    .iter()
                    .map(|p| match p {
                        serde_json::Value::String(text) => text.clone(),
                        other => other.to_string(),
                    })
                    .collect(),
                created_at_ms: current.map_or_else(ids::now_ms, |p| p.created_at_ms),
            };
            if self
                .check(&field, check_principal_at(&field, &desired))?
                .is_none()
            {
                continue;
            }
            let name = spec.name.clone();
            match current {
                Some(old) if old.r#type != desired.r#type => {
                    self.error(
                        field,
                        format!(
                            "'{}' exists as a {}; a principal's type cannot change",
                            old.name,
                            if old.r#type() == PrincipalType::Role {
                                "role"
                            } else {
                                "user"
                            }
                        ),
                    );
                }
                None => {
                    self.put(keys::principal(&desired.name), &desired);
                    self.plan
                        .publish
                        .push(resource_name::principal(&desired.name));
                    self.push(ConfigurationChange {
                        document_path: field,
                        ..change("iam_principal", ChangeAction::Create, name)
                    });
                }
                Some(old) if *old != desired => {
                    self.put(keys::principal(&desired.name), &desired);
                    self.plan
                        .publish
                        .push(resource_name::principal(&desired.name));
                    self.push(ConfigurationChange {
                        document_path: field,
                        fields: field_changes(
                            &export::principal_spec(old),
                            &export::principal_spec(&desired),
                        ),
                        ..change("iam_principal", ChangeAction::Update, name)
                    });
                }
                Some(_) => {}
            }
        }
        for old in existing {
            if seen.contains(&old.name) {
                continue;
            }
            if self.options.prune {
                let access_keys = match keys_of(self.view, &old.name) {
                    Ok(k) => k,
                    Err(ApiError::Store(e)) => return Err(e),
                    Err(_) => Vec::new(),
                };
                for key in access_keys {
                    self.delete(keys::access_key(&key.access_key_id));
                    self.plan
                        .publish
                        .push(resource_name::access_key(&key.access_key_id));
                }
                self.delete(keys::principal(&old.name));
                self.plan.publish.push(resource_name::principal(&old.name));
                self.push(change(
                    "iam_principal",
                    ChangeAction::Delete,
                    old.name.clone(),
                ));
            } else {
                self.push(change(
                    "iam_principal",
                    ChangeAction::Keep,
                    old.name.clone(),
                ));
            }
        }
        Ok(())
    }
}

/// True when `deployment` serves exactly the API as it will be: the same
/// methods (integration, key requirement, authorization) on the same paths,
/// with the same authorizers.
fn serves(deployment: &Deployment, after: &ApiAfter) -> bool {
    if deployment.methods.len() != after.methods.len()
        || deployment.authorizers.len() != after.authorizers.len()
    {
        return false;
    }
    // A method as served: its resource named by path, not by id.
    fn by_path<'m>(
        methods: &'m [Method],
        resources: &[Resource],
    ) -> BTreeMap<(String, String), &'m Method> {
        let paths: HashMap<&str, &str> = resources
            .iter()
            .map(|r| (r.id.as_str(), r.path.as_str()))
            .collect();
        methods
            .iter()
            .map(|m| {
                let path = paths.get(m.resource_id.as_str()).copied().unwrap_or("?");
                ((path.to_owned(), m.http_method.clone()), m)
            })
            .collect()
    }
    let same = |a: &Method, b: &Method| {
        a.http_method == b.http_method
            && a.integration == b.integration
            && a.api_key_required == b.api_key_required
            && a.authorization_type == b.authorization_type
            && a.authorizer_id == b.authorizer_id
            && a.authorization_scopes == b.authorization_scopes
    };
    let deployed = by_path(&deployment.methods, &deployment.resources);
    let current = by_path(&after.methods, &after.resources);
    if deployed.len() != current.len()
        || !deployed
            .iter()
            .zip(current.iter())
            .all(|((ka, a), (kb, b))| ka == kb && same(a, b))
    {
        return false;
    }
    let mut deployed_auth = deployment.authorizers.clone();
    let mut current_auth = after.authorizers.clone();
    deployed_auth.sort_by(|a, b| a.id.cmp(&b.id));
    current_auth.sort_by(|a, b| a.id.cmp(&b.id));
    deployed_auth == current_auth && deployment.protocol == after.api.protocol
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

fn stage_throttles(spec: &StageSpec) -> Vec<MethodThrottle> {
    let whole = spec.throttle.iter().map(|t| MethodThrottle {
        resource_path: "*".into(),
        http_method: "*".into(),
        throttle: Some(ThrottleSettings {
            rate_limit: t.rate_limit,
            burst_limit: t.burst_limit,
        }),
    });
    whole
        .chain(spec.method_throttles.iter().map(method_throttle_of))
        .collect()
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

/// A route's authorization as stored: (type, authorizer id); or the field
/// and reason it is refused with.
fn authorization_of(
    route: &RouteSpec,
    authorizers: &HashMap<&str, (&str, AuthorizerType)>,
) -> Result<(String, String), (&'static str, String)> {
    let declared = route.authorization.as_deref().map(str::to_ascii_uppercase);
    match (&route.authorizer, declared.as_deref()) {
        (Some(name), None) => {
            let (id, kind) = authorizers.get(name.as_str()).ok_or((
                "authorizer",
                format!("no authorizer of this API is named '{name}'"),
            ))?;
            let kind = if *kind == AuthorizerType::Jwt {
                "JWT"
            } else {
                "CUSTOM"
            };
            Ok((kind.into(), (*id).to_owned()))
        }
        (Some(_), Some(_)) => Err((
            "authorization",
            "give either an authorizer or authorization, not both".into(),
        )),
        (None, Some(kind @ ("NONE" | "AWS_IAM"))) => Ok((kind.into(), String::new())),
        (None, Some(other)) => Err((
            "authorization",
            format!("'{other}' is not NONE or AWS_IAM (name an authorizer for JWT or CUSTOM)"),
        )),
        (None, None) => Ok(("NONE".into(), String::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .write(|txn| {
                txn.put_raw(keys::API_KEY_SECRET, b"0123456789abcdef0123456789abcdef");
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        (dir, store)
    }

    fn doc(text: &str) -> ApplyFile {
        ApplyFile::parse(text).unwrap()
    }

    /// Plans and commits as `ApplyConfiguration` does.
    async fn apply(store: &Store, doc: &ApplyFile, prune: bool) -> Plan {
        let options = Options {
            prune,
            dry_run: false,
        };
        let (plan, _) = store
            .write(|txn| {
                let plan = plan(txn, doc, options)?;
                for w in &plan.writes {
                    match w {
                        Write::Put(k, v) => txn.put_raw(k, v),
                        Write::Delete(k) => txn.delete(k),
                    }
                }
                Ok::<_, PlanError>(plan)
            })
            .await
            .unwrap();
        plan
    }

    fn dry_run(store: &Store, doc: &ApplyFile, prune: bool) -> Result<Plan, PlanError> {
        plan(
            &store.view(),
            doc,
            Options {
                prune,
                dry_run: true,
            },
        )
    }

    /// (kind, action, name) of each change.
    fn summary(plan: &Plan) -> Vec<(String, ChangeAction, String)> {
        plan.changes
            .iter()
            .map(|c| (c.kind.clone(), c.action(), c.name.clone()))
            .collect()
    }

    const PETS: &str = r#"
apis:
  - name: pets
    id: pets
    routes:
      - { path: /pets, method: GET, integration: { type: MOCK, status: 200 } }
      - { path: "/pets/{id}", method: GET, integration: { type: HTTP_PROXY, uri: "http://127.0.0.1:9/pets/{id}" } }
    stages:
      - name: prod
        variables: { backend: "127.0.0.1:9000" }
"#;

    #[tokio::test]
    async fn every_error_is_reported_with_its_document_path() {
        let (_dir, store) = store().await;
        let bad = doc(r#"
apis:
  - name: ok
    routes:
      - { path: /a, method: GET, integration: { type: MOCK } }
  - name: broken
    protocol: SOAP
    authorizers:
      - { name: users, type: TOKEN }
    routes:
      - { path: /a, method: GET, integration: { type: HTTP_PROXY, uri: "http://127.0.0.1:1/{id}" } }
      - { path: /b, method: FETCH, integration: { type: MOCK } }
      - { path: /c, method: GET, authorizer: nobody, integration: { type: MOCK } }
usage_plans:
  - { name: gold, stages: [{ api: nowhere, stage: prod }] }
"#);
        let Err(PlanError::Document(errors)) = dry_run(&store, &bad, false) else {
            panic!("the document has errors");
        };
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        for expected in [
            "apis[1].protocol",
            "apis[1].authorizers[0].authorizer_uri",
            "apis[1].routes[0].integration.uri",
            "apis[1].routes[1].method",
            "apis[1].routes[2].authorizer",
            "usage_plans[0].stages[0].api",
        ] {
            assert!(
                paths.iter().any(|p| p.starts_with(expected)),
                "{expected} missing from {errors:?}"
            );
        }
        // Nothing of the good API was planned either: no partial apply.
        assert_eq!(store.view().scan::<RestApi>(keys::APIS).unwrap().len(), 0);
    }

    #[tokio::test]
    async fn a_dry_run_lists_what_the_apply_then_does_and_a_second_apply_nothing() {
        let (_dir, store) = store().await;
        let pets = doc(PETS);
        let planned = dry_run(&store, &pets, false).unwrap();
        let applied = apply(&store, &pets, false).await;
        assert_eq!(summary(&planned), summary(&applied));
        let fields = |p: &Plan| {
            p.changes
                .iter()
                .map(|c| c.fields.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(&planned), fields(&applied));
        assert_eq!(
            summary(&applied),
            vec![
                ("api".into(), ChangeAction::Create, "pets".into()),
                (
                    "route".into(),
                    ChangeAction::Create,
                    "pets GET /pets".into()
                ),
                (
                    "route".into(),
                    ChangeAction::Create,
                    "pets GET /pets/{id}".into()
                ),
                ("stage".into(), ChangeAction::Create, "pets/prod".into()),
                ("deployment".into(), ChangeAction::Create, "pets".into()),
            ]
        );
        // Dry runs name no ids; applies do.
        assert!(planned.changes.iter().all(|c| c.id.is_empty()));
        assert!(!applied.changes[4].id.is_empty());
        let again = apply(&store, &pets, false).await;
        assert!(again.changes.is_empty(), "{:?}", again.changes);
        assert!(again.writes.is_empty());
    }

    #[tokio::test]
    async fn reusing_an_api_name_leaves_its_other_routes_alone_unless_pruned() {
        let (_dir, store) = store().await;
        apply(&store, &doc(PETS), false).await;
        let partial = doc(r#"
apis:
  - name: pets
    routes:
      - { path: /pets, method: GET, integration: { type: MOCK, status: 204 } }
    stages:
      - name: prod
        variables: { backend: "127.0.0.1:9000" }
"#);
        let plan = apply(&store, &partial, false).await;
        let s = summary(&plan);
        assert!(
            s.contains(&(
                "route".into(),
                ChangeAction::Update,
                "pets GET /pets".into()
            )),
            "{s:?}"
        );
        assert!(
            s.contains(&(
                "route".into(),
                ChangeAction::Keep,
                "pets GET /pets/{id}".into()
            )),
            "{s:?}"
        );
        let update = &plan
            .changes
            .iter()
            .find(|c| c.action() == ChangeAction::Update && c.kind == "route")
            .unwrap();
        assert_eq!(update.fields[0].field, "integration");
        assert!(update.fields[0].before.contains("200") && update.fields[0].after.contains("204"));
        // The stage gets the new definition (a new deployment), naming it.
        let stage = plan.changes.iter().find(|c| c.kind == "stage").unwrap();
        assert_eq!(stage.fields.last().unwrap().field, "deployment");
        assert_eq!(stage.fields.last().unwrap().after, NEW_DEPLOYMENT);
        let methods = store
            .view()
            .scan::<Method>(&keys::methods_of_api("pets"))
            .unwrap();
        assert_eq!(methods.len(), 2, "the other route is still there");

        let pruned = apply(&store, &partial, true).await;
        let s = summary(&pruned);
        assert!(
            s.contains(&(
                "route".into(),
                ChangeAction::Delete,
                "pets GET /pets/{id}".into()
            )),
            "{s:?}"
        );
        let view = store.view();
        assert_eq!(
            view.scan::<Method>(&keys::methods_of_api("pets"))
                .unwrap()
                .len(),
            1
        );
        let paths: Vec<String> = view
            .scan::<Resource>(&keys::resources("pets"))
            .unwrap()
            .into_iter()
            .map(|r| r.path)
            .collect();
        assert_eq!(paths.len(), 2, "/ and /pets: {paths:?}");
    }

    #[tokio::test]
    async fn missing_apis_are_kept_and_listed_or_pruned() {
        let (_dir, store) = store().await;
        apply(&store, &doc(PETS), false).await;
        let other = doc(
            "apis:\n  - name: other\n    routes:\n      - { path: /x, method: GET, integration: { type: MOCK } }\n",
        );
        let kept = dry_run(&store, &other, false).unwrap();
        assert!(summary(&kept).contains(&("api".into(), ChangeAction::Keep, "pets".into())));
        let pruned = dry_run(&store, &other, true).unwrap();
        assert!(summary(&pruned).contains(&("api".into(), ChangeAction::Delete, "pets".into())));
        apply(&store, &other, true).await;
        assert!(store.view().get_raw(&keys::api("pets")).unwrap().is_none());
        assert!(store.view().keys_under("stage/pets/").is_empty());
    }

    #[tokio::test]
    async fn a_canary_stage_gets_new_versions_as_its_canary() {
        let (_dir, store) = store().await;
        let with_canary = PETS.replace(
            "variables: { backend: \"127.0.0.1:9000\" }",
            "variables: { backend: \"127.0.0.1:9000\" }\n        canary: { percent_traffic: 10 }",
        );
        apply(&store, &doc(&with_canary), false).await;
        let first: Stage = store
            .view()
            .get(&keys::stage("pets", "prod"))
            .unwrap()
            .unwrap();
        let changed = with_canary.replace("status: 200", "status: 201");
        let plan = apply(&store, &doc(&changed), false).await;
        let stage = plan.changes.iter().find(|c| c.kind == "stage").unwrap();
        let fields: Vec<&str> = stage.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["canary.deployment"], "only the canary moves");
        let after: Stage = store
            .view()
            .get(&keys::stage("pets", "prod"))
            .unwrap()
            .unwrap();
        assert_eq!(after.deployment_id, first.deployment_id);
        assert_ne!(after.canary.unwrap().deployment_id, first.deployment_id);
    }

    #[tokio::test]
    async fn keys_plans_and_principals_by_name() {
        let (_dir, store) = store().await;
        let text = format!(
            "{PETS}usage_plans:\n  - {{ name: gold, stages: [{{ api: pets, stage: prod }}] }}\napi_keys:\n  - {{ name: partner, usage_plans: [gold] }}\n  - {{ name: imported, value: \"abcdefghijklmnopqrstuvwxyz\" }}\niam:\n  users:\n    - {{ name: alice, policies: [{{ Version: \"2012-10-17\", Statement: [{{ Effect: Allow, Action: \"execute-api:Invoke\", Resource: \"*\" }}] }}] }}\n"
        );
        let plan = apply(&store, &doc(&text), false).await;
        assert_eq!(
            plan.created_keys.len(),
            1,
            "only the generated value is returned"
        );
        assert_eq!(plan.created_keys[0].name, "partner");
        let view = store.view();
        let keys_: Vec<ApiKey> = view.scan(keys::API_KEYS).unwrap();
        assert_eq!(keys_.len(), 2);
        let plan_id = view.scan::<UsagePlan>(keys::USAGE_PLANS).unwrap()[0]
            .id
            .clone();
        let partner = keys_.iter().find(|k| k.name == "partner").unwrap();
        assert_eq!(partner.usage_plan_ids, vec![plan_id.clone()]);
        assert!(
            view.get_raw(&keys::plan_key(&plan_id, &partner.id))
                .unwrap()
                .is_some()
        );
        assert!(
            view.get::<IamPrincipal>(&keys::principal("alice"))
                .unwrap()
                .is_some()
        );
        assert!(plan.publish.len() >= 4);
        // Applying again changes nothing (values are never compared but by hash).
        assert!(apply(&store, &doc(&text), false).await.changes.is_empty());
        // A different value for an existing key is refused.
        let changed = text.replace("abcdefghijklmnopqrstuvwxyz", "zyxwvutsrqponmlkjihgfedcba");
        let Err(PlanError::Document(errors)) = dry_run(&store, &doc(&changed), false) else {
            panic!("a key's value cannot change");
        };
        assert_eq!(errors[0].path, "api_keys[1].value");
    }

    #[tokio::test]
    async fn export_round_trips_through_an_empty_store() {
        let (_dir, store) = store().await;
        let text = format!(
            "{PETS}    authorizers:\n      - {{ name: users, issuer: \"https://issuer.example\", audiences: [app], jwks_uri: \"http://idp/jwks.json\" }}\nusage_plans:\n  - {{ name: gold, throttle: {{ rate_limit: 5, burst_limit: 5 }}, quota: {{ limit: 100, period: DAY }}, stages: [{{ api: pets, stage: prod }}] }}\napi_keys:\n  - {{ name: partner, usage_plans: [gold] }}\niam:\n  roles:\n    - {{ name: deployer }}\n"
        );
        apply(&store, &doc(&text), false).await;
        let exported = export::export(&store.view()).unwrap().to_yaml();
        let (_dir2, empty) = self::store().await;
        let plan = apply(&empty, &ApplyFile::parse(&exported).unwrap(), false).await;
        assert!(!plan.changes.is_empty());
        let again = export::export(&empty.view()).unwrap().to_yaml();
        assert_eq!(exported, again);
        // And the export applied back to where it came from changes nothing.
        assert!(
            apply(&store, &ApplyFile::parse(&exported).unwrap(), false)
                .await
                .changes
                .is_empty()
        );
    }

    /// An API matched by name must be the only one of that name; the
    /// document may not name one API twice; a key's value may not be
    /// another key's.
    #[tokio::test]
    async fn ambiguous_and_repeated_resources_are_refused_with_their_paths() {
        let (_dir, store) = store().await;
        store
            .write(|txn| {
                for id in ["d1", "d2"] {
                    let api = RestApi {
                        id: id.into(),
                        name: "dup".into(),
                        protocol: ApiProtocol::Rest as i32,
                        ..Default::default()
                    };
                    txn.put(&keys::api(id), &api);
                }
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        let errors = |text: &str| match dry_run(&store, &doc(text), false) {
            Err(PlanError::Document(errors)) => errors,
            other => panic!("expected errors, got {other:?}"),
        };
        let e = errors("apis:\n  - name: dup\n");
        assert_eq!(e[0].path, "apis[0].name");
        assert!(
            e[0].message.contains("give the one to apply with `id:`"),
            "{e:?}"
        );
        // Naming it by id is not ambiguous.
        let by_id = dry_run(&store, &doc("apis:\n  - { name: dup, id: d1 }\n"), false);
        assert!(by_id.is_ok(), "{by_id:?}");
        let e = errors("apis:\n  - { name: x, id: same }\n  - { name: y, id: same }\n");
        assert_eq!(e[0].path, "apis[1]");
        let e = errors(
            "apis:\n  - name: a\n    routes:\n      - { path: /a, method: GET, integration: { type: MOCK } }\n      - { path: /a/, method: get, integration: { type: MOCK } }\n",
        );
        assert_eq!(e[0].path, "apis[0].routes[1]");
        let e = errors(
            "api_keys:\n  - { name: a, value: abcdefghijklmnopqrstuvwxyz }\n  - { name: b, value: abcdefghijklmnopqrstuvwxyz }\n",
        );
        assert_eq!(e[0].path, "api_keys[1].value");
        let e = errors("iam:\n  users: [{ name: sam }]\n  roles: [{ name: sam }]\n");
        assert_eq!(e[0].path, "iam.roles[0].name");
    }

    /// A document path of a rule's refusal (the rules name proto fields)
    /// still points into the document, and a left-alone route that the
    /// document's authorizer change would break is refused.
    #[tokio::test]
    async fn a_kept_route_broken_by_an_authorizer_change_is_refused() {
        let (_dir, store) = store().await;
        let jwt = "apis:\n  - name: a\n    id: a\n    authorizers:\n      - { name: users, issuer: \"https://i.example\", audiences: [x], jwks_uri: \"http://i/jwks\" }\n    routes:\n      - { path: /a, method: GET, authorizer: users, integration: { type: MOCK } }\n      - { path: /b, method: GET, integration: { type: MOCK } }\n";
        apply(&store, &doc(jwt), false).await;
        // /a leaves the file, /b stays; users becomes a TOKEN authorizer.
        let token = "apis:\n  - name: a\n    id: a\n    authorizers:\n      - { name: users, type: TOKEN, uri: \"http://127.0.0.1:1/auth\", identity_source: method.request.header.Authorization }\n    routes:\n      - { path: /b, method: GET, integration: { type: MOCK } }\n";
        let Err(PlanError::Document(errors)) = dry_run(&store, &doc(token), false) else {
            panic!("the kept route /a would name a JWT authorizer that is now TOKEN");
        };
        assert_eq!(errors[0].path, "apis[0]");
        assert!(errors[0].message.contains("route GET /a"), "{errors:?}");
        // With --prune the route goes too, and the change is fine.
        assert!(dry_run(&store, &doc(token), true).is_ok());
    }
}
