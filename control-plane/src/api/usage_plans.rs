//! UsagePlanService: API keys, usage plans, plan membership and usage. Keys
//! and plans take effect at once: each change publishes just the resources
//! it touched, so one new key costs one resource on the wire.

use super::SharedState;
use super::records::{body, load_by_id, unused_id};
use super::rest_apis::prefixed;
use super::update_mask::{Fixed, Updatable, merge};
use crate::api_keys;
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::store::{StoreError, Txn, View, keys};
use crate::usage;
use crate::validate;
use archway_proto::quota;
use archway_proto::v1::usage_plan_service_server::UsagePlanService;
use archway_proto::v1::*;
use std::collections::HashSet;
use tonic::{Request, Response, Status};

pub struct UsagePlans {
    state: SharedState,
}

impl UsagePlans {
    pub fn new(state: SharedState) -> Self {
        Self { state }
    }
}

/// What the admin API shows of a key: never the hash.
fn shown(mut key: ApiKey) -> ApiKey {
    key.value_hash = Vec::new();
    key
}

/// What UpdateApiKey may change.
const KEY_UPDATE: Updatable = Updatable {
    request: "UpdateApiKeyRequest",
    resource: "ApiKey",
    fields: &["name", "description", "enabled"],
    fixed: &[("key_id", Fixed::Immutable("names the key"))],
};

/// What UpdateUsagePlan may change.
const PLAN_UPDATE: Updatable = Updatable {
    request: "UsagePlan",
    resource: "UsagePlan",
    fields: &["name", "description", "throttle", "quota", "api_stages"],
    fixed: &[
        ("id", Fixed::Immutable("names the plan")),
        (
            "created_at_ms",
            Fixed::OutputOnly("set by the control plane"),
        ),
    ],
};

fn load_key(view: &View, key_id: &str) -> ApiResult<ApiKey> {
    load_by_id(view, "key_id", key_id, keys::api_key, |id| {
        format!("API key '{id}'")
    })
}

pub(crate) fn load_plan(view: &View, plan_id: &str) -> ApiResult<UsagePlan> {
    load_by_id(view, "usage_plan_id", plan_id, keys::usage_plan, |id| {
        format!("usage plan '{id}'")
    })
}

pub(crate) fn secret(view: &View) -> ApiResult<Vec<u8>> {
    view.get_raw(keys::API_KEY_SECRET)?
        .ok_or_else(|| ApiError::FailedPrecondition("the API key secret is missing".into()))
}

/// Stages a new key; refuses a value another key already has.
fn insert_key(
    txn: &mut Txn,
    secret: &[u8],
    field: &str,
    name: &str,
    description: &str,
    value: &str,
    enabled: bool,
) -> ApiResult<ApiKey> {
    let hash = check_key(secret, field, name, description, value)?;
    let Some(index) = unused_value_index(txn, &hash)? else {
        return Err(ApiError::AlreadyExists(format!(
            "an API key with the value given in {field}.value"
        )));
    };
    let id = unused_id(txn, 10, keys::api_key)?;
    let key = new_key(id, name, description, value, hash, enabled);
    txn.put_raw(&index, key.id.as_bytes());
    txn.put(&keys::api_key(&key.id), &key);
    Ok(key)
}

/// The index entry (value hash to key id) a new key with this value hash
/// gets, or None when another key has the value: values are unique, as the
/// data plane finds a key by its value. CreateApiKey, ImportApiKeys and
/// ApplyConfiguration all take this.
pub(crate) fn unused_value_index(view: &View, hash: &[u8]) -> Result<Option<String>, StoreError> {
    let index = keys::api_key_hash(&api_keys::hex(hash));
    Ok(view.get_raw(&index)?.is_none().then_some(index))
}

/// Checks a key's name, description and value (`field` names the key in
/// refusals); returns the value's hash, under which the index keeps it.
pub(crate) fn check_key(
    secret: &[u8],
    field: &str,
    name: &str,
    description: &str,
    value: &str,
) -> ApiResult<Vec<u8>> {
    check_key_fields(field, name, description)?;
    api_keys::check_value(value).map_err(|r| ApiError::invalid(format!("{field}.value"), r))?;
    Ok(api_keys::hash(secret, value))
}

/// A key's name and description (without a value: an existing key's
/// stays as it is).
pub(crate) fn check_key_fields(field: &str, name: &str, description: &str) -> ApiResult<()> {
    validate::name(&format!("{field}.name"), name)?;
    validate::max_len(&format!("{field}.description"), description, 4096)
}

/// The record of a new key: the value itself is never stored.
pub(crate) fn new_key(
    id: String,
    name: &str,
    description: &str,
    value: &str,
    hash: Vec<u8>,
    enabled: bool,
) -> ApiKey {
    ApiKey {
        id,
        name: name.to_owned(),
        description: description.to_owned(),
        enabled,
        created_at_ms: ids::now_ms(),
        value: String::new(),
        value_prefix: value.chars().take(4).collect(),
        value_hash: hash,
        usage_plan_ids: Vec::new(),
    }
}

/// Every key a key's records live under (the key, its hash index, its
/// plan memberships and quota resets): what deleting it deletes.
pub(crate) fn key_record_keys(key: &ApiKey) -> Vec<String> {
    let mut all = vec![
        keys::api_key(&key.id),
        keys::api_key_hash(&api_keys::hex(&key.value_hash)),
    ];
    for plan in &key.usage_plan_ids {
        all.push(keys::plan_key(plan, &key.id));
        all.push(keys::quota_reset(plan, &key.id));
    }
    all
}

/// Checks a plan's settings and that its stages exist.
fn check_plan(view: &View, plan: &UsagePlan) -> ApiResult<()> {
    let protocols = plan
        .api_stages
        .iter()
        .map(|s| {
            let protocol = view
                .get::<RestApi>(&keys::api(&s.api_id))?
                .map_or(ApiProtocol::Rest, |a| a.protocol());
            Ok((s.api_id.clone(), protocol))
        })
        .collect::<ApiResult<std::collections::HashMap<_, _>>>()?;
    check_plan_with(
        "plan",
        plan,
        |api_id, stage| Ok(view.get_raw(&keys::stage(api_id, stage))?.is_some()),
        |api_id| protocols.get(api_id).copied().unwrap_or(ApiProtocol::Rest),
    )
}

/// A plan's settings (the shared rules, with each API's protocol as
/// `protocol_of` gives it), then that its stages exist as `stage_exists`
/// says. `field` names the plan in refusals.
pub(crate) fn check_plan_with(
    field: &str,
    plan: &UsagePlan,
    stage_exists: impl Fn(&str, &str) -> ApiResult<bool>,
    protocol_of: impl Fn(&str) -> ApiProtocol,
) -> ApiResult<()> {
    validate::usage_plan(plan, protocol_of)
        .map_err(|e| super::deployments::rebase(e, "plan", field))?;
    for (i, s) in plan.api_stages.iter().enumerate() {
        if !stage_exists(&s.api_id, &s.stage)? {
            return Err(ApiError::invalid(
                format!("{field}.api_stages[{i}]"),
                format!("stage '{}' of API '{}' does not exist", s.stage, s.api_id),
            ));
        }
    }
    Ok(())
}

/// AWS allows a key in several plans, but not two that share a stage: the
/// gateway could not tell which plan a request counts against.
fn check_no_shared_stage(view: &View, key: &ApiKey, plan: &UsagePlan) -> ApiResult<()> {
    check_no_shared_stage_with(key, plan, |id| load_plan(view, id))
}

/// As [`check_no_shared_stage`], with the key's other plans given by `plan_of`.
pub(crate) fn check_no_shared_stage_with(
    key: &ApiKey,
    plan: &UsagePlan,
    plan_of: impl Fn(&str) -> ApiResult<UsagePlan>,
) -> ApiResult<()> {
    let stages: HashSet<(&str, &str)> = plan
        .api_stages
        .iter()
        .map(|s| (s.api_id.as_str(), s.stage.as_str()))
        .collect();
    for other_id in key.usage_plan_ids.iter().filter(|id| **id != plan.id) {
        let other = plan_of(other_id)?;
        if let Some(s) = other
            .api_stages
            .iter()
            .find(|s| stages.contains(&(s.api_id.as_str(), s.stage.as_str())))
        {
            return Err(ApiError::FailedPrecondition(format!(
                "key '{}' is in plan '{}', which also covers stage {}/{}",
                key.id, other.id, s.api_id, s.stage
            )));
        }
    }
    Ok(())
}

const CSV_COLUMNS: &[&str] = &["name", "key", "description", "enabled", "usageplanids"];

#[tonic::async_trait]
impl UsagePlanService for UsagePlans {
    async fn create_api_key(
        &self,
        request: Request<CreateApiKeyRequest>,
    ) -> Result<Response<ApiKey>, Status> {
        let req = request.into_inner();
        let value = if req.value.is_empty() {
            api_keys::generate()
        } else {
            req.value.clone()
        };
        let mut key = self
            .state
            .write(|txn| {
                let secret = secret(txn)?;
                insert_key(
                    txn,
                    &secret,
                    "key",
                    &req.name,
                    &req.description,
                    &value,
                    req.enabled.unwrap_or(true),
                )
                // This request's fields are top level.
                .map_err(|e| match e {
                    ApiError::InvalidArgument { field, reason } => ApiError::InvalidArgument {
                        field: field.trim_start_matches("key.").to_owned(),
                        reason,
                    },
                    other => other,
                })
            })
            .await?;
        key.value = value;
        Ok(Response::new(shown(key)))
    }

    async fn import_api_keys(
        &self,
        request: Request<ImportApiKeysRequest>,
    ) -> Result<Response<ImportApiKeysResponse>, Status> {
        let csv_text = request.into_inner().csv;
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(csv_text.as_bytes());
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| ApiError::invalid("csv", format!("header line: {e}")))?
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        for h in &headers {
            if !CSV_COLUMNS.contains(&h.as_str()) {
                return Err(ApiError::invalid(
                    "csv",
                    format!("unknown column '{h}'; columns are name,key,description,enabled,usageplanIds"),
                )
                .into());
            }
        }
        let column = |name: &str| headers.iter().position(|h| h == name);
        let (Some(name_col), Some(key_col)) = (column("name"), column("key")) else {
            return Err(
                ApiError::invalid("csv", "the header line needs the columns name and key").into(),
            );
        };
        let mut rows = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let line = i + 2;
            let record =
                record.map_err(|e| ApiError::invalid("csv", format!("line {line}: {e}")))?;
            let get = |col: Option<usize>| col.and_then(|c| record.get(c)).unwrap_or("").to_owned();
            let enabled = match get(column("enabled")).to_ascii_lowercase().as_str() {
                "" | "true" => true,
                "false" => false,
                other => {
                    return Err(ApiError::invalid(
                        "csv",
                        format!("line {line}: enabled must be true or false, got '{other}'"),
                    )
                    .into());
                }
            };
            let mut plans: Vec<String> = get(column("usageplanids"))
                .split(';')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
            plans.sort();
            plans.dedup();
            rows.push((
                line,
                get(Some(name_col)),
                get(Some(key_col)),
                get(column("description")),
                enabled,
                plans,
            ));
        }
        if rows.is_empty() {
            return Err(ApiError::invalid("csv", "has no rows").into());
        }
        if rows.len() > 100_000 {
            return Err(ApiError::invalid("csv", "at most 100000 rows per import").into());
        }
        let created = self
            .state
            .write(|txn| {
                let secret = secret(txn)?;
                let mut created = Vec::new();
                let mut values = HashSet::new();
                let mut plans_touched: Vec<UsagePlan> = Vec::new();
                for (line, name, value, description, enabled, plan_ids) in &rows {
                    let field = format!("csv line {line}");
                    if !values.insert(value.clone()) {
                        return Err(ApiError::invalid(
                            field,
                            "repeats the key of an earlier line",
                        ));
                    }
                    let mut key =
                        insert_key(txn, &secret, &field, name, description, value, *enabled)?;
                    for plan_id in plan_ids {
                        let plan = match plans_touched.iter().find(|p| &p.id == plan_id) {
                            Some(p) => p.clone(),
                            None => {
                                let p = load_plan(txn, plan_id).map_err(|_| {
                                    ApiError::invalid(
                                        &field,
                                        format!("usage plan '{plan_id}' does not exist"),
                                    )
                                })?;
                                plans_touched.push(p.clone());
                                p
                            }
                        };
                        check_no_shared_stage(txn, &key, &plan)?;
                        key.usage_plan_ids.push(plan.id.clone());
                        txn.put_raw(&keys::plan_key(&plan.id, &key.id), b"");
                    }
                    txn.put(&keys::api_key(&key.id), &key);
                    key.value = value.clone();
                    created.push(key);
                }
                Ok(created)
            })
            .await?;
        Ok(Response::new(ImportApiKeysResponse {
            items: created.into_iter().map(shown).collect(),
        }))
    }

    async fn get_api_key(
        &self,
        request: Request<GetApiKeyRequest>,
    ) -> Result<Response<ApiKey>, Status> {
        let req = request.into_inner();
        let key = self.state.read(|txn| load_key(txn, &req.key_id))?;
        Ok(Response::new(shown(key)))
    }

    async fn list_api_keys(
        &self,
        request: Request<ListApiKeysRequest>,
    ) -> Result<Response<ListApiKeysResponse>, Status> {
        let req = request.into_inner();
        let (items, next_page_token) =
            self.state
                .list_page::<ApiKey>(keys::API_KEYS, req.page_size, &req.page_token)?;
        Ok(Response::new(ListApiKeysResponse {
            items: items.into_iter().map(shown).collect(),
            next_page_token,
        }))
    }

    async fn update_api_key(
        &self,
        request: Request<UpdateApiKeyRequest>,
    ) -> Result<Response<ApiKey>, Status> {
        let req = request.into_inner();
        let key = self
            .state
            .write(|txn| {
                let stored = load_key(txn, &req.key_id)?;
                let key = merge(&stored, &req, req.update_mask.as_ref(), &KEY_UPDATE)?;
                validate::name("name", &key.name)?;
                validate::max_len("description", &key.description, 4096)?;
                txn.put(&keys::api_key(&key.id), &key);
                Ok::<_, ApiError>(key)
            })
            .await?;
        Ok(Response::new(shown(key)))
    }

    async fn delete_api_key(
        &self,
        request: Request<GetApiKeyRequest>,
    ) -> Result<Response<Empty>, Status> {
        let req = request.into_inner();
        self.state
            .write(|txn| {
                let key = load_key(txn, &req.key_id)?;
                for record in key_record_keys(&key) {
                    txn.delete(&record);
                }
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(Response::new(Empty {}))
    }

    async fn create_usage_plan(
        &self,
        request: Request<CreateUsagePlanRequest>,
    ) -> Result<Response<UsagePlan>, Status> {
        let plan = body("plan", request.into_inner().plan)?;
        let plan = self
            .state
            .write(|txn| {
                let mut plan = plan.clone();
                check_plan(txn, &plan)?;
                plan.id = unused_id(txn, 10, keys::usage_plan)?;
                plan.created_at_ms = ids::now_ms();
                txn.put(&keys::usage_plan(&plan.id), &plan);
                Ok::<_, ApiError>(plan)
            })
            .await?;
        Ok(Response::new(plan))
    }

    async fn get_usage_plan(
        &self,
        request: Request<GetUsagePlanRequest>,
    ) -> Result<Response<UsagePlan>, Status> {
        let req = request.into_inner();
        let plan = self.state.read(|txn| load_plan(txn, &req.usage_plan_id))?;
        Ok(Response::new(plan))
    }

    async fn list_usage_plans(
        &self,
        request: Request<ListUsagePlansRequest>,
    ) -> Result<Response<ListUsagePlansResponse>, Status> {
        let req = request.into_inner();
        let (items, next_page_token) =
            self.state
                .list_page(keys::USAGE_PLANS, req.page_size, &req.page_token)?;
        Ok(Response::new(ListUsagePlansResponse {
            items,
            next_page_token,
        }))
    }

    async fn update_usage_plan(
        &self,
        request: Request<UpdateUsagePlanRequest>,
    ) -> Result<Response<UsagePlan>, Status> {
        let req = request.into_inner();
        let patch = body("plan", req.plan)?;
        let plan = self
            .state
            .write(|txn| {
                let current = load_plan(txn, &patch.id)?;
                let plan = merge(&current, &patch, req.update_mask.as_ref(), &PLAN_UPDATE)
                    .map_err(|e| prefixed("plan", e))?;
                check_plan(txn, &plan)?;
                for (k, _) in txn.scan_raw(&keys::plan_keys(&plan.id))? {
                    let key_id = k.rsplit('/').next().unwrap_or_default();
                    let key = load_key(txn, key_id)?;
                    check_no_shared_stage(txn, &key, &plan)?;
                }
                txn.put(&keys::usage_plan(&plan.id), &plan);
                Ok::<_, ApiError>(plan)
            })
            .await?;
        Ok(Response::new(plan))
    }

    async fn delete_usage_plan(
        &self,
        request: Request<GetUsagePlanRequest>,
    ) -> Result<Response<Empty>, Status> {
        let req = request.into_inner();
        self.state
            .write(|txn| {
                load_plan(txn, &req.usage_plan_id)?;
                if txn.any_under(&keys::plan_keys(&req.usage_plan_id)) {
                    return Err(ApiError::FailedPrecondition(format!(
                        "usage plan '{}' still has keys; remove them first",
                        req.usage_plan_id
                    )));
                }
                txn.delete(&keys::usage_plan(&req.usage_plan_id));
                txn.delete_prefix(&keys::quota_resets(&req.usage_plan_id))?;
                Ok(())
            })
            .await?;
        Ok(Response::new(Empty {}))
    }

    async fn add_key_to_plan(
        &self,
        request: Request<UsagePlanKeyRequest>,
    ) -> Result<Response<Empty>, Status> {
        let req = request.into_inner();
        self.state
            .write(|txn| {
                let plan = load_plan(txn, &req.usage_plan_id)?;
                let mut key = load_key(txn, &req.key_id)?;
                if key.usage_plan_ids.contains(&plan.id) {
                    return Err(ApiError::AlreadyExists(format!(
                        "key '{}' in usage plan '{}'",
                        key.id, plan.id
                    )));
                }
                check_no_shared_stage(txn, &key, &plan)?;
                key.usage_plan_ids.push(plan.id.clone());
                txn.put(&keys::api_key(&key.id), &key);
                txn.put_raw(&keys::plan_key(&plan.id, &key.id), b"");
                Ok(())
            })
            .await?;
        Ok(Response::new(Empty {}))
    }

    async fn remove_key_from_plan(
        &self,
        request: Request<UsagePlanKeyRequest>,
    ) -> Result<Response<Empty>, Status> {
        let req = request.into_inner();
        self.state
            .write(|txn| {
                let mut key = load_key(txn, &req.key_id)?;
                let before = key.usage_plan_ids.len();
                key.usage_plan_ids.retain(|p| *p != req.usage_plan_id);
                if key.usage_plan_ids.len() == before {
                    return Err(ApiError::NotFound(format!(
                        "key '{}' in usage plan '{}'",
                        key.id, req.usage_plan_id
                    )));
                }
                txn.put(&keys::api_key(&key.id), &key);
                txn.delete(&keys::plan_key(&req.usage_plan_id, &key.id));
                Ok(())
            })
            .await?;
        Ok(Response::new(Empty {}))
    }

    async fn get_usage(
        &self,
        request: Request<GetUsageRequest>,
    ) -> Result<Response<GetUsageResponse>, Status> {
        let req = request.into_inner();
        let date = |field: &str, value: &str| {
            quota::parse_date(value).ok_or_else(|| {
                ApiError::invalid(field, format!("'{value}' is not a YYYY-MM-DD date"))
            })
        };
        let start = date("start_date", &req.start_date)?;
        let end = date("end_date", &req.end_date)?;
        // The plan, its keys and their counts from one version of the store.
        let items = self.state.read(|view| {
            let plan = load_plan(view, &req.usage_plan_id)?;
            let key = (!req.key_id.is_empty()).then_some(req.key_id.as_str());
            usage::query(view, &plan, key, start, end)
        })?;
        Ok(Response::new(GetUsageResponse { items }))
    }

    async fn reset_usage(
        &self,
        request: Request<UsagePlanKeyRequest>,
    ) -> Result<Response<Empty>, Status> {
        let req = request.into_inner();
        self.state
            .write(|txn| {
                let plan = load_plan(txn, &req.usage_plan_id)?;
                let key = load_key(txn, &req.key_id)?;
                let today = quota::day_of(ids::now_ms());
                let (period, offset) = plan.quota.as_ref().map_or((QuotaPeriod::Day, 0), |q| {
                    (
                        QuotaPeriod::try_from(q.period).unwrap_or(QuotaPeriod::Day),
                        q.offset,
                    )
                });
                let from = quota::period_start(today, period, offset);
                for day in from..=today {
                    txn.delete(&keys::usage(&plan.id, &key.id, &quota::date_string(day)));
                }
                txn.put_raw(
                    &keys::quota_reset(&plan.id, &key.id),
                    &ids::now_ms().to_be_bytes(),
                );
                Ok::<_, ApiError>(())
            })
            .await?;
        // The reset time travels in the node settings.
        Ok(Response::new(Empty {}))
    }
}
