//! Planning what is not part of an API: usage plans, API keys by name (their
//! plan memberships and hash index) and IAM users and roles.

use super::*;

/// The usage plans as keys see them.
pub(super) struct Plans {
    /// Every plan after the plan, by name.
    by_name: HashMap<String, UsagePlan>,
    /// Id → name of every plan before or after the plan: a key's old
    /// memberships may name one being pruned.
    names: HashMap<String, String>,
}

impl Planner<'_> {
    /// Plans usage plans; returns them as keys see them.
    pub(super) fn usage_plans(&mut self, doc: &ApplyFile) -> Result<Plans, StoreError> {
        let existing: Vec<UsagePlan> = self.view.scan(keys::USAGE_PLANS)?;
        let mut after: HashMap<String, UsagePlan> = HashMap::new();
        let mut names = Names::new(
            &existing,
            |p| p.name.as_str(),
            Wording {
                one: "usage plan",
                many: "usage plans",
                twice: "",
                shared: "; rename one",
            },
        );
        for (i, spec) in doc.usage_plans.iter().enumerate() {
            let field = format!("usage_plans[{i}]");
            let Some(current) = self.claim(&mut names, &field, &spec.name) else {
                continue;
            };
            let mut api_stages = Vec::new();
            for (j, s) in spec.stages.iter().enumerate() {
                let found = id_or_name(&self.final_apis, &s.api, |a| &a.0, |a| &a.1);
                let api_id = match found {
                    Found::One((id, _)) => Ok(id.clone()),
                    Found::None => Err(format!("no API has the id or name '{}'", s.api)),
                    Found::Shared(all) => Err(format!(
                        "{} APIs are named '{}'; use the API's id",
                        all.len(),
                        s.api
                    )),
                };
                let api_id = match api_id {
                    Ok(id) => id,
                    Err(reason) => {
                        self.error(format!("{field}.stages[{j}].api"), reason);
                        continue;
                    }
                };
                api_stages.push(UsagePlanStage {
                    api_id,
                    stage: s.stage.clone(),
                    throttle: s.method_throttles.iter().map(method_throttle_of).collect(),
                });
            }
            // The spelling is the planner's to read; which periods a quota
            // may have is the rules' (check_plan_with, below).
            let quota = match &spec.quota {
                None => None,
                Some(q) => {
                    let Some(period) = self.enum_field(
                        format!("{field}.quota.period"),
                        Some(&q.period),
                        QuotaPeriod::Unspecified,
                        &QUOTA_PERIOD,
                    ) else {
                        continue;
                    };
                    Some(QuotaSettings {
                        limit: q.limit,
                        period: period as i32,
                        offset: q.offset,
                    })
                }
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
            let (stages, protocols) = (&self.final_stages, &self.final_protocols);
            let checked = check_plan_with(
                &field,
                &plan,
                |api, stage| Ok(stages.contains(&(api.to_owned(), stage.to_owned()))),
                |api| protocols.get(api).copied().unwrap_or(ApiProtocol::Rest),
            );
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
            // Decided by the document form, as described.
            let entry = Entry {
                kind: "usage_plan",
                key: keys::usage_plan(&plan.id),
                id: plan.id.clone(),
                name: spec.name.clone(),
                document_path: field,
            };
            let plan = self.write_record(entry, current, plan, export::usage_plan_spec);
            after.insert(spec.name.clone(), plan);
        }
        let mut plan_names: HashMap<String, String> = after
            .values()
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect();
        let taken = names.into_taken();
        for old in existing {
            plan_names.insert(old.id.clone(), old.name.clone());
            if taken.contains(&old.name) {
                continue;
            }
            let view = self.view;
            let delete = || {
                let resets = view.keys_under(&keys::quota_resets(&old.id));
                std::iter::once(keys::usage_plan(&old.id)).chain(resets)
            };
            let (id, name) = (old.id.clone(), old.name.clone());
            if self.leave_or_prune("usage_plan", id, name, delete) {
                // Left alone: keys may stay in it (by id; a clash of names
                // with a plan of the document was refused above).
                after.entry(old.name.clone()).or_insert(old);
            }
        }
        Ok(Plans {
            by_name: after,
            names: plan_names,
        })
    }

    pub(super) fn api_keys(&mut self, doc: &ApplyFile, plans: &Plans) -> Result<(), StoreError> {
        let existing: Vec<ApiKey> = self.view.scan(keys::API_KEYS)?;
        let plans_by_id: HashMap<&str, &UsagePlan> =
            plans.by_name.values().map(|p| (p.id.as_str(), p)).collect();
        // Only the document's keys need the secret: without it the keys
        // that exist are still listed, or pruned.
        let secret = match secret(self.view) {
            Ok(s) => s,
            Err(ApiError::Store(e)) => return Err(e),
            Err(other) if !doc.api_keys.is_empty() => {
                // The plan is refused: nothing else about keys matters.
                self.error("api_keys", other.to_string());
                return Ok(());
            }
            Err(_) => Vec::new(),
        };
        let mut names = Names::new(
            &existing,
            |k| k.name.as_str(),
            Wording {
                one: "API key",
                many: "API keys",
                twice: "",
                shared: "; rename one",
            },
        );
        let mut new_hashes = HashSet::new();
        for (i, spec) in doc.api_keys.iter().enumerate() {
            let field = format!("api_keys[{i}]");
            let Some(current) = self.claim(&mut names, &field, &spec.name) else {
                continue;
            };
            let mut plan_ids = Vec::new();
            for (j, name) in spec.usage_plans.iter().enumerate() {
                match plans.by_name.get(name) {
                    Some(p) => plan_ids.push(p.id.clone()),
                    None => self.error(
                        format!("{field}.usage_plans[{j}]"),
                        format!("no usage plan is named '{name}'"),
                    ),
                }
            }
            // A value is generated only for a key to create: an existing
            // key's stays as it is, and the document's is only compared.
            let value = match (&spec.value, current) {
                (Some(value), _) => Some(value.clone()),
                (None, None) => Some(api_keys::generate()),
                (None, Some(_)) => None,
            };
            let checked = match &value {
                Some(value) => check_key(&secret, &field, &spec.name, &spec.description, value),
                None => {
                    check_key_fields(&field, &spec.name, &spec.description).map(|()| Vec::new())
                }
            };
            let Some(hash) = self.check(&field, checked)? else {
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
                    let value = value.expect("a key to create has a value");
                    let index = match unused_value_index(self.view, &hash)? {
                        Some(index) if new_hashes.insert(index.clone()) => index,
                        _ => {
                            self.error(format!("{field}.value"), "another API key has this value");
                            continue;
                        }
                    };
                    let id = self.fresh_id(10, keys::api_key)?;
                    self.put_raw(index, id.as_bytes().to_vec());
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
                    self.put_raw(keys::plan_key(plan_id, &key.id), Vec::new());
                }
            }
            for plan_id in &before {
                if !key.usage_plan_ids.contains(plan_id) {
                    self.delete(keys::plan_key(plan_id, &key.id));
                }
            }
            // Decided by the document form, as described.
            let entry = Entry {
                kind: "api_key",
                key: keys::api_key(&key.id),
                id: key.id.clone(),
                name: spec.name.clone(),
                document_path: field,
            };
            self.write_record(entry, current, key, |k| {
                export::api_key_spec(k, &plans.names)
            });
        }
        for old in &existing {
            if names.taken(&old.name) {
                continue;
            }
            let (id, name) = (old.id.clone(), old.name.clone());
            self.leave_or_prune("api_key", id, name, || key_record_keys(old));
        }
        Ok(())
    }

    pub(super) fn principals(&mut self, doc: &ApplyFile) -> Result<(), StoreError> {
        let existing: Vec<IamPrincipal> = self.view.scan(keys::PRINCIPALS)?;
        let account = account_id(self.view)?;
        let mut names = Names::new(
            &existing,
            |p| p.name.as_str(),
            Wording {
                one: "principal",
                many: "principals",
                twice: " (names are shared by users and roles)",
                shared: "",
            },
        );
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
            // Principals are stored by name: at most one matches.
            let Some(current) = self.claim(&mut names, &field, &spec.name) else {
                continue;
            };
            let desired = IamPrincipal {
                name: spec.name.clone(),
                r#type: kind as i32,
                arn: principal_arn(&account, kind, &spec.name),
                description: spec.description.clone(),
                policies: spec.policies.iter().map(export::policy_text).collect(),
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
                            principal_kind(old.r#type())
                        ),
                    );
                }
                // Decided by the document form, as described: a policy
                // stored as typed (pretty JSON) equals the document's
                // compact one, and is kept as typed.
                current => {
                    let entry = Entry {
                        kind: "iam_principal",
                        key: keys::principal(&desired.name),
                        id: String::new(),
                        name,
                        document_path: field,
                    };
                    self.write_record(entry, current, desired, export::principal_spec);
                }
            }
        }
        // A pruned principal's access keys go with it: all found in one scan.
        let mut access_keys =
            if self.options.prune && existing.iter().any(|p| !names.taken(&p.name)) {
                keys_by_principal(self.view)?
            } else {
                HashMap::new()
            };
        for old in &existing {
            if names.taken(&old.name) {
                continue;
            }
            let key = keys::principal(&old.name);
            let name = old.name.clone();
            if !self.leave_or_prune("iam_principal", String::new(), name, || [key]) {
                // Its access keys go with it: listed by id (never the
                // secret), after the principal.
                for key in access_keys.remove(&old.name).unwrap_or_default() {
                    self.delete(keys::access_key(&key.access_key_id));
                    self.push(ConfigurationChange {
                        id: key.access_key_id.clone(),
                        ..change(
                            "access_key",
                            ChangeAction::Delete,
                            format!("{} {}", old.name, key.access_key_id),
                        )
                    });
                }
            }
        }
        Ok(())
    }
}
