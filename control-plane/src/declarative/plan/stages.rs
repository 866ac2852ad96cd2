//! Planning an API's stages, and the one new deployment they need when the
//! API as it will be differs from what they serve (the canary gets it when
//! the stage has one).

use super::*;
use crate::api::stage_history;

impl Planner<'_> {
    /// Plans the API's stages, and the one deployment they need when the
    /// API differs from what they serve.
    pub(super) fn stages(
        &mut self,
        path: &str,
        spec: &ApiSpec,
        after: ApiAfter,
        existing: Vec<Stage>,
    ) -> Result<(), StoreError> {
        let api = &after.api;
        let mut new_deployment: Option<(String, Vec<String>)> = None;
        let mut served_cache: HashMap<String, bool> = HashMap::new();
        let mut names = Names::new(
            &existing,
            |s| s.stage_name.as_str(),
            Wording {
                one: "stage",
                many: "stages",
                twice: "",
                shared: "",
            },
        );
        for (j, s) in spec.stages.iter().enumerate() {
            let field = format!("{path}.stages[{j}]");
            // Stages are stored by name: at most one matches.
            let Some(current) = self.claim(&mut names, &field, &s.name) else {
                continue;
            };
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
            let checked = check_stage_with(&field, &stage, api.protocol(), |id| {
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
                    stage_history::finish(None, &mut stage, ids::now_ms());
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
                        // As every stage write: times and the roll-back
                        // history (the document never sets them).
                        stage_history::finish(Some(old), &mut stage, ids::now_ms());
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
            if names.taken(&old.stage_name) {
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
            self.deployment(path, after, id, stages)?;
        }
        Ok(())
    }

    /// Freezes the API as it will be into a new deployment.
    fn deployment(
        &mut self,
        path: &str,
        after: ApiAfter,
        id: String,
        stages: Vec<String>,
    ) -> Result<(), StoreError> {
        let api = &after.api;
        let frozen = freeze(
            self.view,
            api,
            FrozenParts {
                id,
                description: "ApplyConfiguration".into(),
                created_at_ms: next_deployment_time(self.view, &api.id)?,
                resources: after.resources,
                methods: after.methods,
                kinds: after.kinds,
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
            let Some(strategy) = self.enum_field(
                format!("{field}.cache.methods[{m}].unauthorized_strategy"),
                c.unauthorized_strategy.as_deref(),
                UnauthorizedCacheControlHeaderStrategy::Unspecified,
                &UNAUTHORIZED_STRATEGY,
            ) else {
                return Ok(None);
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
            // Set when written, by `stage_history::finish`.
            previous_deployment_ids: Vec::new(),
        }))
    }
}

/// True when `deployment` serves exactly the API as it will be: the same
/// methods (integration, key requirement, authorization) on the same paths,
/// with the same authorizers.
fn serves(deployment: &Deployment, after: &ApiAfter) -> bool {
    if deployment.methods.len() != after.methods.len()
        || deployment.authorizers.len() != after.kinds.authorizers.len()
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
    // The same authorizers, in whatever order (a deployment's are in id
    // order, the planned ones as planned).
    fn by_id(all: &[Authorizer]) -> BTreeMap<&str, &Authorizer> {
        all.iter().map(|a| (a.id.as_str(), a)).collect()
    }
    by_id(&deployment.authorizers) == by_id(&after.kinds.authorizers)
        && deployment.protocol == after.api.protocol
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
