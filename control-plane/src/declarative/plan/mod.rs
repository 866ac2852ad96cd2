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
//! The rules are the admin handlers' own functions, called with the planned
//! state instead of the store where the document creates what they look
//! up: an API's fields (`rest_apis::check_api_fields`), resource placement,
//! authorization, resource policies, authorizers and integrations
//! ([`crate::validate`]), stage and usage-plan checks, key checks with
//! value uniqueness and its index (`usage_plans::unused_value_index`),
//! plan membership entries (`keys::plan_key`), principal
//! checks, deployment freezing and its creation time
//! (`deployments::next_deployment_time`).
//!
//! What the planner decides itself, and why: reading the document's
//! spelling (enum short names, route paths, names instead of ids);
//! refusing ambiguous or repeated names; and pruning. A pruned usage plan
//! is deleted without DeleteUsagePlan's "still has keys" refusal because
//! the same plan removes its memberships (a key in the document cannot
//! name a plan the document lacks, and keys missing from it are pruned
//! too); a pruned principal's access keys are deleted (and listed) as
//! DeletePrincipal deletes them.
//!
//! One submodule per part of the document: `apis` (APIs and their
//! authorizers), `routes`, `stages` (with the deployment they need) and
//! `accounts` (usage plans, API keys, IAM principals); this module holds the
//! plan's types, the shared helpers and the tests.

use super::document::*;
use super::export;
use crate::api::deployments::{
    ApiKinds, FrozenParts, check_stage_with, freeze, next_deployment_time, rebase,
};
use crate::api::iam::{
    account_id, check_principal_at, keys_by_principal, principal_arn, principal_kind,
};
use crate::api::rest_apis::{
    ApiLookups, Siblings, api_record_keys, check_api_fields, check_authorization_with,
    check_method_with, check_placement, check_resource_policy, child_path, operation_name_clash,
    operation_name_taken, prefixed,
};
use crate::api::usage_plans::{
    check_key, check_key_fields, check_no_shared_stage_with, check_plan_with, key_record_keys,
    new_key, secret, unused_value_index,
};
use crate::enums::{
    API_KEY_SOURCE, API_PROTOCOL, AUTHORIZER_TYPE, CONTENT_HANDLING, ENDPOINT_TYPE,
    PASSTHROUGH_BEHAVIOR, QUOTA_PERIOD, Spelling, UNAUTHORIZED_STRATEGY,
};
use crate::error::{ApiError, ApiResult};
use crate::lookup::{Found, id_or_name};
use crate::store::{StoreError, View, keys};
use crate::{api_keys, ids, validate};
use archway_proto::v1::*;
use prost::Message;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

mod accounts;
mod api_kinds;
mod apis;
mod routes;
mod stages;

/// The errors in a document (where, `apis[2].routes[5].integration.uri`,
/// and why), as they are sent: one a line.
pub fn error_lines(errors: &[DocumentError]) -> String {
    let line = |e: &DocumentError| {
        if e.path.is_empty() {
            e.message.clone()
        } else {
            format!("{}: {}", e.path, e.message)
        }
    };
    errors.iter().map(line).collect::<Vec<_>>().join("\n")
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The document: every error in it, as the API reports them.
    #[error("{}", error_lines(.0))]
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
    /// Values generated for new keys, shown once after the commit.
    pub created_keys: Vec<CreatedApiKey>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Delete what exists and the document does not have.
    pub prune: bool,
    /// Report no ids for what is created (nothing will have them).
    pub dry_run: bool,
    /// The document is the definition of its APIs and nothing else (an
    /// OpenAPI import): other APIs, usage plans, keys and principals are
    /// neither listed nor pruned, and the APIs' stages are left as they are
    /// (an import changes what the next deployment freezes, never what a
    /// stage serves).
    pub definition_only: bool,
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
        final_protocols: HashMap::new(),
        check_only: false,
    };
    planner.apis(doc)?;
    if !options.definition_only {
        let plans = planner.usage_plans(doc)?;
        planner.api_keys(doc, &plans)?;
        planner.principals(doc)?;
    }
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
    /// The protocol of every API after the plan (a plan's throttles of a
    /// WEBSOCKET API's stage are by route key).
    final_protocols: HashMap<String, ApiProtocol>,
    /// Only checking what the document says (of an API already refused):
    /// no ids are drawn and nothing is staged.
    check_only: bool,
}

/// The stage name a new deployment is shown as in stage changes: the same
/// in a dry run and an apply (the deployment change carries the id).
const NEW_DEPLOYMENT: &str = "(new deployment)";

/// How refusals of names word one kind of record: "usage plan 'gold'
/// appears twice", "2 usage plans are named 'gold'; rename one".
struct Wording {
    one: &'static str,
    many: &'static str,
    /// After "appears twice".
    twice: &'static str,
    /// After "N … are named 'x'".
    shared: &'static str,
}

/// The existing records of one kind by name, and the names the document
/// has taken so far: the document names each record once, and a name it
/// matches by must be one record's.
struct Names<'e, T> {
    wording: Wording,
    existing: HashMap<&'e str, Vec<&'e T>>,
    taken: HashSet<String>,
}

impl<'e, T> Names<'e, T> {
    fn new(existing: &'e [T], name: impl Fn(&'e T) -> &'e str, wording: Wording) -> Self {
        let mut by_name: HashMap<&str, Vec<&T>> = HashMap::new();
        for record in existing {
            by_name.entry(name(record)).or_default().push(record);
        }
        Self {
            wording,
            existing: by_name,
            taken: HashSet::new(),
        }
    }

    /// The record the document's `name` matches (None: it is new); why not
    /// when the document had the name already or records share it.
    fn claim(&mut self, name: &str) -> Result<Option<&'e T>, String> {
        let w = &self.wording;
        if !self.taken.insert(name.to_owned()) {
            return Err(format!("{} '{name}' appears twice{}", w.one, w.twice));
        }
        match self.existing.get(name).map_or(&[][..], Vec::as_slice) {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            all => Err(format!(
                "{} {} are named '{name}'{}",
                all.len(),
                w.many,
                w.shared
            )),
        }
    }

    /// Whether the document has the name (existing records it lacks are
    /// left alone or pruned).
    fn taken(&self, name: &str) -> bool {
        self.taken.contains(name)
    }

    /// The names the document has, freeing the records.
    fn into_taken(self) -> HashSet<String> {
        self.taken
    }
}

/// The fields (as the document spells them) whose values differ between
/// two document forms of one resource.
fn field_changes<T: Serialize + PartialEq>(before: &T, after: &T) -> Vec<FieldChange> {
    if before == after {
        return Vec::new();
    }
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

/// A document entry to write with [`Planner::write_record`].
struct Entry {
    kind: &'static str,
    /// The store key of the record.
    key: String,
    /// The record's id, as reported (empty for kinds named by name).
    id: String,
    name: String,
    document_path: String,
}

fn change(kind: &str, action: ChangeAction, name: String) -> ConfigurationChange {
    ConfigurationChange {
        kind: kind.into(),
        action: action as i32,
        name,
        ..Default::default()
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
    kinds: ApiKinds,
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

    /// Records the document's entry at `field` named `name` in `names`:
    /// the existing record it matches (None: a new one), or None after
    /// recording why it is refused.
    fn claim<'e, T>(
        &mut self,
        names: &mut Names<'e, T>,
        field: &str,
        name: &str,
    ) -> Option<Option<&'e T>> {
        match names.claim(name) {
            Ok(found) => Some(found),
            Err(reason) => {
                self.error(format!("{field}.name"), reason);
                None
            }
        }
    }

    fn put(&mut self, key: String, value: &impl Message) {
        self.put_raw(key, value.encode_to_vec());
    }

    fn put_raw(&mut self, key: String, value: Vec<u8>) {
        if !self.check_only {
            self.plan.writes.push(Write::Put(key, value));
        }
    }

    fn delete(&mut self, key: String) {
        if !self.check_only {
            self.plan.writes.push(Write::Delete(key));
        }
    }

    fn push(&mut self, change: ConfigurationChange) {
        self.plan.changes.push(change);
    }

    /// The document's spelling of an enum at `field`, `default` when absent;
    /// None, with the refusal recorded, when it spells no value.
    fn enum_field<E>(
        &mut self,
        field: String,
        value: Option<&str>,
        default: E,
        spelling: &Spelling<E>,
    ) -> Option<E> {
        spelling
            .read(value, default)
            .map_err(|reason| self.error(field, reason))
            .ok()
    }

    /// Writes one entry of the document over its stored record `current`,
    /// the same way for every kind, deciding by the document form `spec`
    /// shows: no stored record creates it, changed fields update it, no
    /// changed fields keep the stored record as it is (no write, nothing
    /// published, no change listed; a record differing only in what the
    /// document cannot say is not rewritten). Returns the record as it will
    /// be.
    fn write_record<T: Message + Clone, S: Serialize + PartialEq>(
        &mut self,
        entry: Entry,
        current: Option<&T>,
        desired: T,
        spec: impl Fn(&T) -> S,
    ) -> T {
        let (action, id, fields) = match current {
            None => (ChangeAction::Create, self.shown_id(&entry.id), Vec::new()),
            Some(old) => {
                let fields = field_changes(&spec(old), &spec(&desired));
                if fields.is_empty() {
                    return old.clone();
                }
                (ChangeAction::Update, entry.id, fields)
            }
        };
        self.put(entry.key, &desired);
        self.push(ConfigurationChange {
            id,
            document_path: entry.document_path,
            fields,
            ..change(entry.kind, action, entry.name)
        });
        desired
    }

    /// A stored record the document does not name, the same way for every
    /// kind: with prune it is deleted (`delete` gives its keys, asked only
    /// then), else left alone;
    /// listed either way. Returns whether it is kept.
    fn leave_or_prune<I: IntoIterator<Item = String>>(
        &mut self,
        kind: &'static str,
        id: String,
        name: String,
        delete: impl FnOnce() -> I,
    ) -> bool {
        if !self.options.prune {
            self.push(ConfigurationChange {
                id,
                ..change(kind, ChangeAction::Keep, name)
            });
            return true;
        }
        for key in delete() {
            self.delete(key);
        }
        self.push(ConfigurationChange {
            id,
            ..change(kind, ChangeAction::Delete, name)
        });
        false
    }

    /// The id a created record is reported with: none in a dry run.
    fn shown_id(&self, id: &str) -> String {
        if self.options.dry_run {
            String::new()
        } else {
            id.to_owned()
        }
    }

    /// A new id of `len` characters unused in the store and in this plan;
    /// when only checking, one unique in the plan without looking at the
    /// store (nothing will have it).
    fn fresh_id(&mut self, len: usize, key: impl Fn(&str) -> String) -> Result<String, StoreError> {
        let view = self.view;
        self.fresh_id_unless(len, &key, |id| Ok(view.get_raw(&key(id))?.is_some()))
    }

    /// [`Self::fresh_id`] for ids that are not their record's key (a model
    /// is stored by name, its id unique among the API's models as
    /// CreateModel draws it): `key` names the id within this plan, `taken`
    /// says whether a stored record has it.
    fn fresh_id_unless(
        &mut self,
        len: usize,
        key: impl Fn(&str) -> String,
        taken: impl Fn(&str) -> Result<bool, StoreError>,
    ) -> Result<String, StoreError> {
        if self.check_only {
            let id = format!("_{}", self.new_ids.len());
            self.new_ids.insert(id.clone());
            return Ok(id);
        }
        let new_ids = &mut self.new_ids;
        ids::unused(len, |id| Ok(taken(id)? || !new_ids.insert(key(id))))
    }
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
            ..Options::default()
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
                ..Options::default()
            },
        )
    }

    /// The resource of API `api` at `path`, which must exist.
    fn resource_at(store: &Store, api: &str, path: &str) -> Resource {
        store
            .view()
            .scan::<Resource>(&keys::resources(api))
            .unwrap()
            .into_iter()
            .find(|r| r.path == path)
            .unwrap_or_else(|| panic!("API {api} has no resource at {path}"))
    }

    /// (kind, action, name) of each change.
    fn summary(plan: &Plan) -> Vec<(String, ChangeAction, String)> {
        plan.changes
            .iter()
            .map(|c| (c.kind.clone(), c.action(), c.name.clone()))
            .collect()
    }

    /// Operation names (OpenAPI's operationId) name SDK methods: two routes
    /// of one API cannot share one, in any case; other APIs may.
    #[tokio::test]
    async fn two_routes_of_one_api_cannot_share_an_operation_name() {
        let (_dir, store) = store().await;
        let text = "apis:\n  - name: a\n    routes:\n      - { path: /x, method: GET, operation_name: listPets, integration: { type: MOCK } }\n      - { path: /y, method: GET, operation_name: LISTPETS, integration: { type: MOCK } }\n  - name: b\n    routes:\n      - { path: /x, method: GET, operation_name: listPets, integration: { type: MOCK } }\n";
        let Err(PlanError::Document(errors)) = dry_run(&store, &doc(text), false) else {
            panic!("the shared name is refused");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            fields,
            [
                "apis[0].routes[0].operation_name",
                "apis[0].routes[1].operation_name"
            ],
            "{errors:?}"
        );
        assert!(errors[0].message.contains("SDK methods"), "{errors:?}");
        let distinct = text.replace("LISTPETS", "showPet");
        dry_run(&store, &doc(&distinct), false).unwrap();
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

    /// Issue 14's kinds in a document: request validation, models,
    /// templates, credentials, binary media types and CORS.
    const VALIDATED: &str = r#"
apis:
  - name: orders
    id: orders
    binary_media_types: [image/png]
    models:
      - { name: Order, schema: { type: object, required: [item] } }
    request_validators:
      - { name: all, body: true, parameters: true }
    routes:
      - path: /orders/{id}
        method: POST
        request_parameters: { method.request.path.id: true }
        request_models: { application/json: Order }
        request_validator: all
        method_responses: [{ status_code: "200" }]
        integration:
          type: HTTP
          uri: http://127.0.0.1:9/orders/{orderId}
          timeout_ms: 5000
          request_parameters: { integration.request.path.orderId: method.request.path.id }
          request_templates: { application/json: '{"item": $input.json(''$.item'')}' }
          integration_responses: [{ status_code: "200", response_templates: { application/json: $input.body } }]
      - path: /fn
        method: POST
        integration:
          type: AWS_PROXY
          uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:orders/invocations
          credentials: orders-caller
  - name: events
    id: events
    protocol: HTTP
    cors: { allow_origins: ["https://app.example.com"], max_age_seconds: 600 }
    routes:
      - { path: /events, method: POST, integration: { type: HTTP_PROXY, uri: "http://127.0.0.1:9/events" } }
"#;

    fn methods_of(store: &Store, api: &str) -> Vec<Method> {
        store.view().scan(&keys::methods_of_api(api)).unwrap()
    }

    fn api_of(store: &Store, api: &str) -> RestApi {
        store.view().get(&keys::api(api)).unwrap().unwrap()
    }

    #[tokio::test]
    async fn apply_never_erases_validation_cors_templates_or_credentials_it_does_not_change() {
        let (_dir, store) = store().await;
        apply(&store, &doc(VALIDATED), false).await;
        let (orders, events) = (api_of(&store, "orders"), api_of(&store, "events"));
        let methods = methods_of(&store, "orders");
        let post = |ms: &[Method]| {
            ms.iter()
                .find(|m| m.integration.as_ref().is_some_and(|i| i.timeout_ms != 0))
                .cloned()
                .unwrap()
        };
        assert!(!post(&methods).request_validator_id.is_empty());
        assert!(events.cors_configuration.is_some());

        // A change elsewhere in the same records keeps everything else.
        let changed = VALIDATED
            .replace(
                "    id: orders\n",
                "    id: orders\n    description: changed\n",
            )
            .replace("timeout_ms: 5000", "timeout_ms: 6000")
            .replace(
                "    protocol: HTTP\n",
                "    protocol: HTTP\n    description: changed\n",
            );
        apply(&store, &doc(&changed), false).await;
        let after = api_of(&store, "orders");
        assert_eq!(after.description, "changed");
        assert_eq!(
            RestApi {
                description: String::new(),
                ..after
            },
            orders
        );
        let after = api_of(&store, "events");
        assert_eq!(after.cors_configuration, events.cors_configuration);
        let after_methods = methods_of(&store, "orders");
        let mut expected = post(&methods);
        expected.integration.as_mut().unwrap().timeout_ms = 6000;
        assert_eq!(post(&after_methods), expected);
        for m in methods.iter().filter(|m| **m != post(&methods)) {
            assert!(
                after_methods.contains(m),
                "the other routes are untouched: {m:?}"
            );
        }
        let models: Vec<Model> = store.view().scan(&keys::models("orders")).unwrap();
        assert_eq!(models.len(), 1);

        // A document that does not mention them: nothing is removed
        // without the plan listing it, field by field, and models and
        // validators the document leaves out are kept (no prune).
        let bare = changed
            .replace("    binary_media_types: [image/png]\n", "")
            .replace("        request_validator: all\n", "")
            .replace(
                "    cors: { allow_origins: [\"https://app.example.com\"], max_age_seconds: 600 }\n",
                "",
            )
            .replace(
                "    models:\n      - { name: Order, schema: { type: object, required: [item] } }\n",
                "",
            )
            .replace("    request_validators:\n      - { name: all, body: true, parameters: true }\n", "")
            .replace("        request_models: { application/json: Order }\n", "");
        let plan = dry_run(&store, &doc(&bare), false).unwrap();
        let fields = |kind: &str| -> Vec<String> {
            plan.changes
                .iter()
                .filter(|c| c.kind == kind && c.action() == ChangeAction::Update)
                .flat_map(|c| c.fields.iter().map(|f| f.field.clone()))
                .collect()
        };
        assert!(
            fields("api").contains(&"binary_media_types".to_string()),
            "{:?}",
            plan.changes
        );
        assert!(
            fields("api").contains(&"cors".to_string()),
            "{:?}",
            plan.changes
        );
        assert!(
            fields("route").contains(&"request_validator".to_string()),
            "{:?}",
            plan.changes
        );
        assert!(
            fields("route").contains(&"request_models".to_string()),
            "{:?}",
            plan.changes
        );
        let s = summary(&plan);
        assert!(
            s.contains(&("model".into(), ChangeAction::Keep, "orders Order".into())),
            "{s:?}"
        );
        assert!(
            s.contains(&(
                "request_validator".into(),
                ChangeAction::Keep,
                "orders all".into()
            )),
            "{s:?}"
        );
        // Dry run: nothing written.
        assert_eq!(methods_of(&store, "orders"), after_methods);
    }

    /// A stage deploys the API: an integration whose credentials name no
    /// outbound credential is refused there, as CreateDeployment refuses
    /// it, and deploys once the credential exists.
    #[tokio::test]
    async fn a_deployment_through_apply_refuses_credentials_that_name_nothing() {
        let (_dir, store) = store().await;
        let staged = doc(&VALIDATED.replace(
            "  - name: events\n",
            "    stages:\n      - name: prod\n  - name: events\n",
        ));
        assert!(!staged.apis[0].stages.is_empty());
        let Err(PlanError::Document(errors)) = dry_run(&store, &staged, false) else {
            panic!("credentials naming no outbound credential are refused at deploy");
        };
        assert!(
            errors
                .iter()
                .any(|e| e.path == "apis[0].stages" && e.message.contains("'orders-caller'")),
            "{errors:?}"
        );
        store
            .write(|txn| {
                let credential = OutboundCredential {
                    name: "orders-caller".into(),
                    ..Default::default()
                };
                txn.put(&keys::outbound_credential("orders-caller"), &credential);
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        let plan = apply(&store, &staged, false).await;
        assert!(
            summary(&plan)
                .iter()
                .any(|(kind, action, _)| kind == "deployment" && *action == ChangeAction::Create),
            "{:?}",
            plan.changes
        );
    }

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

    /// Apply checks a validator with the handler's rule: a name
    /// PutRequestValidator refuses (over 128 bytes) is refused here too.
    #[tokio::test]
    async fn a_request_validator_name_the_handler_refuses_is_refused() {
        let (_dir, store) = store().await;
        let long = "v".repeat(129);
        let bad = doc(&format!(
            "apis:\n  - name: orders\n    request_validators:\n      - {{ name: {long}, body: true }}\n"
        ));
        let Err(PlanError::Document(errors)) = dry_run(&store, &bad, false) else {
            panic!("a 129-byte validator name is refused");
        };
        assert!(
            errors
                .iter()
                .any(|e| e.path == "apis[0].request_validators[0].name"),
            "{errors:?}"
        );
        // 128 bytes is the handler's limit, and allowed.
        let ok = doc(&format!(
            "apis:\n  - name: orders\n    request_validators:\n      - {{ name: {}, body: true }}\n",
            "v".repeat(128)
        ));
        dry_run(&store, &ok, false).unwrap();
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
        assert!(
            after.previous_deployment_ids.is_empty(),
            "the stage still serves its first deployment: nothing to roll back to"
        );
    }

    /// Apply moves a stage as every other write does: the deployment it
    /// served goes in front of its history; a canary-only move and an
    /// unchanged document leave the history alone; the export never says it.
    #[tokio::test]
    async fn an_applied_deployment_records_what_the_stage_served_before() {
        let (_dir, store) = store().await;
        let prod = |store: &Store| -> Stage {
            store
                .view()
                .get(&keys::stage("pets", "prod"))
                .unwrap()
                .unwrap()
        };
        apply(&store, &doc(PETS), false).await;
        let first = prod(&store);
        assert!(first.previous_deployment_ids.is_empty());
        let v2 = PETS.replace("status: 200", "status: 201");
        apply(&store, &doc(&v2), false).await;
        let second = prod(&store);
        assert_ne!(second.deployment_id, first.deployment_id);
        assert_eq!(
            second.previous_deployment_ids,
            [first.deployment_id.as_str()]
        );
        apply(&store, &doc(&v2), false).await;
        assert_eq!(prod(&store), second, "an unchanged document writes nothing");
        let v3 = PETS.replace("status: 200", "status: 202");
        apply(&store, &doc(&v3), false).await;
        assert_eq!(
            prod(&store).previous_deployment_ids,
            [second.deployment_id.as_str(), first.deployment_id.as_str()]
        );
        let exported = export::export(&store.view()).unwrap().document.to_yaml();
        assert!(!exported.contains(&first.deployment_id), "{exported}");
        assert!(!exported.contains("previous"), "{exported}");
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
        let exported = export::export(&store.view()).unwrap().document.to_yaml();
        let (_dir2, empty) = self::store().await;
        let plan = apply(&empty, &ApplyFile::parse(&exported).unwrap(), false).await;
        assert!(!plan.changes.is_empty());
        let again = export::export(&empty.view()).unwrap().document.to_yaml();
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

    /// Enum spellings are read by the planner, and what is allowed is the
    /// rules': an unknown spelling and UNSPECIFIED are both refused, each
    /// at the document's field.
    #[tokio::test]
    async fn enum_spellings_and_authorizations_are_refused_at_their_fields() {
        let (_dir, store) = store().await;
        let refused = |text: &str| match dry_run(&store, &doc(text), false) {
            Err(PlanError::Document(errors)) => errors,
            other => panic!("expected errors, got {other:?}"),
        };
        for period in ["YEAR", "unspecified"] {
            let e = refused(&format!(
                "usage_plans:\n  - {{ name: gold, quota: {{ limit: 5, period: {period} }} }}\n"
            ));
            assert_eq!(e[0].path, "usage_plans[0].quota.period", "{e:?}");
        }
        for kind in ["OAUTH", "UNSPECIFIED"] {
            let e = refused(&format!(
                "apis:\n  - name: a\n    authorizers:\n      - {{ name: t, type: {kind}, uri: \"http://127.0.0.1:1/a\" }}\n"
            ));
            assert_eq!(e[0].path, "apis[0].authorizers[0].type", "{e:?}");
        }
        let route = |authorization: &str| {
            format!(
                "apis:\n  - name: a\n    routes:\n      - {{ path: /a, method: GET, authorization: {authorization}, integration: {{ type: MOCK }} }}\n"
            )
        };
        let e = refused(&route("BASIC"));
        assert_eq!(e[0].path, "apis[0].routes[0].authorization", "{e:?}");
        assert!(e[0].message.contains("'BASIC'"), "{e:?}");
        // JWT needs an authorizer: named where the document names one.
        let e = refused(&route("JWT"));
        assert_eq!(e[0].path, "apis[0].routes[0].authorizer", "{e:?}");
        assert!(dry_run(&store, &doc(&route("aws_iam")), false).is_ok());
    }

    /// A WEBSOCKET API's routes are written by key: plan lines name them
    /// so, paths and methods are refused there (and keys elsewhere), and
    /// the rules' refusals point at the document's fields.
    #[tokio::test]
    async fn websocket_routes_are_planned_by_key_and_refused_at_their_fields() {
        let (_dir, store) = store().await;
        let ws = |routes: &str| {
            format!(
                "apis:\n  - name: chat\n    protocol: WEBSOCKET\n    route_selection_expression: $request.body.action\n    routes:\n{routes}"
            )
        };
        let planned = dry_run(
            &store,
            &doc(&ws(
                "      - { route_key: sendMessage, route_response_selection_expression: $default, integration: { type: MOCK } }\n      - { route_key: $default, integration: { type: MOCK } }\n",
            )),
            false,
        )
        .expect("a valid WEBSOCKET document");
        let names: Vec<&str> = planned
            .changes
            .iter()
            .filter(|c| c.kind == "route")
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["chat $default", "chat sendMessage"], "{names:?}");
        let refused = |text: &str| match dry_run(&store, &doc(text), false) {
            Err(PlanError::Document(errors)) => errors,
            other => panic!("expected errors, got {other:?}"),
        };
        let e = refused(&ws(
            "      - { route_key: a, authorization: AWS_IAM, integration: { type: MOCK } }\n",
        ));
        assert_eq!(e[0].path, "apis[0].routes[0].authorization", "{e:?}");
        assert!(e[0].message.contains("only $connect"), "{e:?}");
        let e = refused(&ws(
            "      - { route_key: $disconnect, route_response_selection_expression: $default, integration: { type: MOCK } }\n",
        ));
        assert_eq!(
            e[0].path, "apis[0].routes[0].route_response_selection_expression",
            "{e:?}"
        );
        let e = refused(&ws("      - { integration: { type: MOCK } }\n"));
        assert_eq!(e[0].path, "apis[0].routes[0].route_key", "{e:?}");
        let e = refused(&ws(
            "      - { route_key: a, integration: { type: MOCK } }\n      - { route_key: a, integration: { type: MOCK } }\n",
        ));
        assert_eq!(e[0].path, "apis[0].routes[1]", "{e:?}");
        assert!(e[0].message.contains("same route (a)"), "{e:?}");
        // A REST route without a path or method says which is missing.
        let e = refused(
            "apis:\n  - name: a\n    routes:\n      - { method: GET, integration: { type: MOCK } }\n",
        );
        assert_eq!(e[0].path, "apis[0].routes[0].path", "{e:?}");
        assert_eq!(e[0].message, "is required");
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

    /// Records as the per-resource admin handlers store them: an
    /// authorizer without a TTL (CreateAuthorizer leaves it absent), a
    /// method whose authorization type was never set (""), a policy stored
    /// as typed (pretty JSON). Exported and applied back, nothing changes:
    /// change is decided by the document form the diff shows.
    #[tokio::test]
    async fn records_as_the_handlers_store_them_apply_back_unchanged() {
        let (_dir, store) = store().await;
        apply(&store, &doc("apis:\n  - { name: a, id: a }\n"), false).await;
        let root = resource_at(&store, "a", "/");
        store
            .write(|txn| {
                txn.put(
                    &keys::authorizer("a", "auth1"),
                    &Authorizer {
                        id: "auth1".into(),
                        api_id: "a".into(),
                        name: "tokens".into(),
                        r#type: AuthorizerType::Token as i32,
                        identity_source: "method.request.header.X-Token".into(),
                        authorizer_uri: "http://127.0.0.1:9/auth".into(),
                        result_ttl_seconds: None,
                        ..Default::default()
                    },
                );
                txn.put(
                    &keys::method("a", &root.id, "GET"),
                    &Method {
                        api_id: "a".into(),
                        resource_id: root.id.clone(),
                        http_method: "GET".into(),
                        integration: Some(Integration {
                            r#type: IntegrationType::Mock as i32,
                            mock: Some(MockResponse {
                                status_code: 200,
                                ..Default::default()
                            }),
                            ..Default::default()
                        }),
                        authorization_type: String::new(),
                        ..Default::default()
                    },
                );
                txn.put(
                    &keys::principal("alice"),
                    &IamPrincipal {
                        name: "alice".into(),
                        r#type: PrincipalType::User as i32,
                        arn: "arn:aws:iam::000000000000:user/alice".into(),
                        policies: vec![
                            "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"execute-api:Invoke\", \"Resource\": \"*\"}\n  ]\n}\n".into(),
                        ],
                        created_at_ms: 1,
                        ..Default::default()
                    },
                );
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        let exported = export::export(&store.view()).unwrap().document;
        let plan = apply(&store, &exported, false).await;
        assert!(plan.changes.is_empty(), "{:?}", plan.changes);
        assert!(plan.writes.is_empty(), "{:?}", plan.writes);
        // The principal's policy is still as typed.
        let alice: IamPrincipal = store
            .view()
            .get(&keys::principal("alice"))
            .unwrap()
            .unwrap();
        assert!(alice.policies[0].contains('\n'));
    }

    /// A changed TTL is still a change; an absent one stays absent.
    #[tokio::test]
    async fn an_authorizer_ttl_is_stored_as_the_document_says() {
        let (_dir, store) = store().await;
        let text = "apis:\n  - name: a\n    id: a\n    authorizers:\n      - { name: t, type: TOKEN, uri: \"http://127.0.0.1:1/auth\", identity_source: method.request.header.Authorization }\n";
        apply(&store, &doc(text), false).await;
        let stored = |store: &Store| {
            store
                .view()
                .scan::<Authorizer>(&keys::authorizers("a"))
                .unwrap()[0]
                .result_ttl_seconds
        };
        assert_eq!(stored(&store), None);
        let with_ttl = text.replace("Authorization }", "Authorization, ttl_seconds: 60 }");
        let plan = apply(&store, &doc(&with_ttl), false).await;
        assert_eq!(plan.changes[0].fields[0].field, "ttl_seconds");
        assert_eq!(stored(&store), Some(60));
    }

    /// A prune lists everything it deletes: a path with no method, and a
    /// pruned principal's access keys (by id, never the secret).
    #[tokio::test]
    async fn a_prune_lists_methodless_resources_and_access_keys() {
        let (_dir, store) = store().await;
        apply(&store, &doc(PETS), false).await;
        let root = resource_at(&store, "pets", "/");
        store
            .write(|txn| {
                txn.put(
                    &keys::resource("pets", "empty1"),
                    &Resource {
                        id: "empty1".into(),
                        api_id: "pets".into(),
                        parent_id: root.id.clone(),
                        path_part: "empty".into(),
                        path: "/empty".into(),
                    },
                );
                txn.put(
                    &keys::principal("bob"),
                    &IamPrincipal {
                        name: "bob".into(),
                        r#type: PrincipalType::User as i32,
                        ..Default::default()
                    },
                );
                txn.put(
                    &keys::access_key("AKIAEXAMPLE000000001"),
                    &AccessKey {
                        access_key_id: "AKIAEXAMPLE000000001".into(),
                        principal: "bob".into(),
                        secret_access_key: "secret-never-shown".into(),
                        enabled: true,
                        ..Default::default()
                    },
                );
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        let planned = dry_run(&store, &doc(PETS), true).unwrap();
        let s = summary(&planned);
        assert!(
            s.contains(&(
                "resource".into(),
                ChangeAction::Delete,
                "pets /empty".into()
            )),
            "{s:?}"
        );
        assert!(
            s.contains(&(
                "access_key".into(),
                ChangeAction::Delete,
                "bob AKIAEXAMPLE000000001".into()
            )),
            "{s:?}"
        );
        assert!(!format!("{:?}", planned.changes).contains("secret-never-shown"));
        // Exactly the listed deletions are written.
        let deleted: Vec<&str> = planned
            .writes
            .iter()
            .filter_map(|w| match w {
                Write::Delete(k) => Some(k.as_str()),
                Write::Put(..) => None,
            })
            .collect();
        assert_eq!(deleted.len(), 3, "{deleted:?}");
        // Without prune, the resource is left alone and not listed as deleted.
        let kept = dry_run(&store, &doc(PETS), false).unwrap();
        assert!(
            !summary(&kept)
                .iter()
                .any(|(_, action, _)| *action == ChangeAction::Delete)
        );
    }

    /// Without the key secret no key can be checked, but the keys that
    /// exist are still listed, and pruned when the document lacks them.
    #[tokio::test]
    async fn a_prune_without_the_key_secret_still_deletes_keys_the_document_lacks() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .write(|txn| {
                txn.put(
                    &keys::api_key("k1"),
                    &ApiKey {
                        id: "k1".into(),
                        name: "old".into(),
                        ..Default::default()
                    },
                );
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        let empty = doc("apis: []\n");
        let kept = dry_run(&store, &empty, false).unwrap();
        assert_eq!(
            summary(&kept),
            [("api_key".into(), ChangeAction::Keep, "old".into())]
        );
        let pruned = apply(&store, &empty, true).await;
        assert_eq!(
            summary(&pruned),
            [("api_key".into(), ChangeAction::Delete, "old".into())]
        );
        assert!(
            store
                .view()
                .get_raw(&keys::api_key("k1"))
                .unwrap()
                .is_none()
        );
        // A document with keys is refused for want of the secret.
        let Err(PlanError::Document(errors)) =
            dry_run(&store, &doc("api_keys:\n  - { name: new }\n"), false)
        else {
            panic!("no key can be checked without the secret");
        };
        assert_eq!(errors[0].path, "api_keys");
    }

    /// Names the document matches by must be unique to export: two usage
    /// plans, two keys or two authorizers of one API sharing a name make
    /// the export fail, naming them and saying what to do.
    #[tokio::test]
    async fn an_export_refuses_names_a_document_could_not_tell_apart() {
        let (_dir, store) = store().await;
        apply(&store, &doc("apis:\n  - { name: a, id: a }\n"), false).await;
        store
            .write(|txn| {
                for id in ["p1", "p2"] {
                    txn.put(
                        &keys::usage_plan(id),
                        &UsagePlan {
                            id: id.into(),
                            name: "gold".into(),
                            ..Default::default()
                        },
                    );
                }
                for id in ["k1", "k2"] {
                    txn.put(
                        &keys::api_key(id),
                        &ApiKey {
                            id: id.into(),
                            name: "partner".into(),
                            ..Default::default()
                        },
                    );
                }
                for id in ["z1", "z2"] {
                    txn.put(
                        &keys::authorizer("a", id),
                        &Authorizer {
                            id: id.into(),
                            api_id: "a".into(),
                            name: "users".into(),
                            r#type: AuthorizerType::Jwt as i32,
                            ..Default::default()
                        },
                    );
                }
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        let Err(export::ExportError::SharedNames(clashes)) = export::export(&store.view()) else {
            panic!("the export cannot apply back");
        };
        assert_eq!(
            clashes,
            [
                "authorizers of API 'a' (a) named 'users' (ids z1, z2)",
                "usage plans named 'gold' (ids p1, p2)",
                "API keys named 'partner' (ids k1, k2)",
            ]
        );
        let message = export::ExportError::SharedNames(clashes).to_string();
        assert!(message.contains("Rename all but one"), "{message}");
    }

    /// A method without an integration has no document form: the export
    /// leaves it out with a warning (not as a made-up MOCK 200), and
    /// applying the export leaves it alone.
    #[tokio::test]
    async fn an_export_leaves_out_a_method_without_integration_with_a_warning() {
        let (_dir, store) = store().await;
        apply(&store, &doc(PETS), false).await;
        let root = resource_at(&store, "pets", "/pets");
        store
            .write(|txn| {
                txn.put(
                    &keys::method("pets", &root.id, "POST"),
                    &Method {
                        api_id: "pets".into(),
                        resource_id: root.id.clone(),
                        http_method: "POST".into(),
                        integration: None,
                        ..Default::default()
                    },
                );
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        let exported = export::export(&store.view()).unwrap();
        assert_eq!(exported.warnings.len(), 1, "{:?}", exported.warnings);
        assert!(
            exported.warnings[0].contains("POST /pets")
                && exported.warnings[0].contains("no integration"),
            "{:?}",
            exported.warnings
        );
        let routes = &exported.document.apis[0].routes;
        assert!(!routes.iter().any(|r| r.method == "POST"), "{routes:?}");
        // Applied back, the method is left alone: the API then differs from
        // what its stage serves, and a deployment of a method without an
        // integration is refused, as CreateDeployment refuses it.
        let Err(PlanError::Document(errors)) = dry_run(&store, &exported.document, false) else {
            panic!("the stage cannot be deployed with the method as it is");
        };
        assert!(errors[0].message.contains("POST /pets"), "{errors:?}");
        // Pruned, it goes (listed).
        let plan = apply(&store, &exported.document, true).await;
        assert!(
            summary(&plan).contains(&(
                "route".into(),
                ChangeAction::Delete,
                "pets POST /pets".into()
            )),
            "{:?}",
            plan.changes
        );
    }
}
