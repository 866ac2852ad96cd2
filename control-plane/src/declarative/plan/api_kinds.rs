//! Planning an API's models, request validators and gateway responses:
//! matched by name (by type for gateway responses), checked as their
//! handlers check them, created, updated, kept or (with prune) deleted.

use super::*;
use crate::api::{models, validators};

impl Planner<'_> {
    /// Plans the API's models; returns them as they will be. Each schema
    /// compiles against the others as they will be.
    pub(super) fn models(
        &mut self,
        path: &str,
        spec: &ApiSpec,
        api: &RestApi,
        existing: Vec<Model>,
    ) -> Result<Vec<Model>, StoreError> {
        let mut names = Names::new(
            &existing,
            |m| m.name.as_str(),
            Wording {
                one: "model",
                many: "models of this API",
                twice: "",
                shared: "",
            },
        );
        // Ids are unique among the API's models, as CreateModel draws them.
        let stored_ids: HashSet<&str> = existing.iter().map(|m| m.id.as_str()).collect();
        let mut wanted: Vec<(String, Option<&Model>, Model)> = Vec::new();
        for (j, m) in spec.models.iter().enumerate() {
            let field = format!("{path}.models[{j}]");
            let Some(current) = self.claim(&mut names, &field, &m.name) else {
                continue;
            };
            let id = match current {
                Some(c) => c.id.clone(),
                None => self.fresh_id_unless(
                    6,
                    |id| format!("model id {}/{id}", api.id),
                    |id| Ok(stored_ids.contains(id)),
                )?,
            };
            let desired = Model {
                id,
                api_id: api.id.clone(),
                name: m.name.clone(),
                description: m.description.clone(),
                schema: export::policy_text(&m.schema),
                content_type: m.content_type.clone().unwrap_or_default(),
            };
            wanted.push((field, current, desired));
        }
        let taken = names.into_taken();
        let left: Vec<&Model> = existing
            .iter()
            .filter(|m| !taken.contains(&m.name))
            .collect();
        // Each schema compiles against the others as they will be: the
        // document's, and the ones it does not name unless pruned.
        let kept = left.iter().filter(|_| !self.options.prune);
        // Parsed once for all of them (each model is served as itself when
        // checked, so its own entry here is never read instead).
        let schemas = models::ModelSchemas::parse(
            wanted
                .iter()
                .map(|(_, _, m)| (m.name.as_str(), m.schema.as_str()))
                .chain(kept.map(|m| (m.name.as_str(), m.schema.as_str()))),
        );
        let mut after = Vec::new();
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut all_checked = true;
        for (field, current, mut desired) in wanted {
            let checked = models::check("model", &mut desired, &schemas)
                .map_err(|e| rebase(e, "model", &field));
            if self.check(&field, checked)?.is_none() {
                all_checked = false;
                continue;
            }
            fields.push((desired.name.clone(), field.clone()));
            let entry = Entry {
                kind: "model",
                key: keys::model(&api.id, &desired.name),
                id: desired.id.clone(),
                name: format!("{} {}", api.name, desired.name),
                document_path: field,
            };
            after.push(self.write_record(entry, current, desired, export::model_spec));
        }
        for old in left {
            let key = keys::model(&api.id, &old.name);
            let name = format!("{} {}", api.name, old.name);
            if self.leave_or_prune("model", old.id.clone(), name, || [key]) {
                after.push(old.clone());
            }
        }
        // Each model compiled against the others as they will be, but a
        // kept model was not compiled against the document's: all of them
        // together, as the next deployment will (once each passed alone,
        // so a failure here is one model breaking another).
        if all_checked && let Err((model, reason)) = models::compile_together(&api.id, &after) {
            let field = match fields.iter().find(|(name, _)| *name == model) {
                Some((_, field)) => format!("{field}.schema"),
                None => format!("{path}.models"),
            };
            self.error(
                field,
                format!("model '{model}' would not compile with the document's models: {reason}"),
            );
        }
        Ok(after)
    }

    /// Plans the API's request validators; returns them as they will be.
    pub(super) fn request_validators(
        &mut self,
        path: &str,
        spec: &ApiSpec,
        api: &RestApi,
        existing: Vec<RequestValidator>,
    ) -> Result<Vec<RequestValidator>, StoreError> {
        let mut names = Names::new(
            &existing,
            |v| v.name.as_str(),
            Wording {
                one: "request validator",
                many: "request validators of this API",
                twice: "",
                shared: "",
            },
        );
        let mut after = Vec::new();
        for (j, v) in spec.request_validators.iter().enumerate() {
            let field = format!("{path}.request_validators[{j}]");
            let Some(current) = self.claim(&mut names, &field, &v.name) else {
                continue;
            };
            let id = match current {
                Some(c) => c.id.clone(),
                None => self.fresh_id(6, |id| keys::request_validator(&api.id, id))?,
            };
            let desired = RequestValidator {
                id,
                api_id: api.id.clone(),
                name: v.name.clone(),
                validate_request_body: v.body,
                validate_request_parameters: v.parameters,
            };
            let checked = validators::check_fields(&field, &desired);
            if self.check(&field, checked)?.is_none() {
                continue;
            }
            let entry = Entry {
                kind: "request_validator",
                key: keys::request_validator(&api.id, &desired.id),
                id: desired.id.clone(),
                name: format!("{} {}", api.name, desired.name),
                document_path: field,
            };
            after.push(self.write_record(entry, current, desired, export::validator_spec));
        }
        for old in &existing {
            if names.taken(&old.name) {
                continue;
            }
            let key = keys::request_validator(&api.id, &old.id);
            let name = format!("{} {}", api.name, old.name);
            if self.leave_or_prune("request_validator", old.id.clone(), name, || [key]) {
                after.push(old.clone());
            }
        }
        Ok(after)
    }

    /// Plans the API's customised gateway responses, by type.
    pub(super) fn gateway_responses(
        &mut self,
        path: &str,
        spec: &ApiSpec,
        api: &RestApi,
        existing: Vec<GatewayResponse>,
    ) -> Result<Vec<GatewayResponse>, StoreError> {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut after = Vec::new();
        for (j, g) in spec.gateway_responses.iter().enumerate() {
            let field = format!("{path}.gateway_responses[{j}]");
            if let Some(first) = seen.insert(g.response_type.clone(), j) {
                self.error(
                    format!("{field}.type"),
                    format!("gateway_responses[{first}] is already {}", g.response_type),
                );
                continue;
            }
            let desired = GatewayResponse {
                api_id: api.id.clone(),
                response_type: g.response_type.clone(),
                status_code: g.status_code.clone(),
                response_parameters: g.response_parameters.clone(),
                response_templates: g.response_templates.clone(),
            };
            let checked =
                archway_proto::rules::gateway_response::gateway_response(&field, &desired)
                    .map_err(ApiError::from)
                    .map_err(|e| {
                        rebase(
                            e,
                            &format!("{field}.response_type"),
                            &format!("{field}.type"),
                        )
                    });
            if self.check(&field, checked)?.is_none() {
                continue;
            }
            let current = existing.iter().find(|e| e.response_type == g.response_type);
            let entry = Entry {
                kind: "gateway_response",
                key: keys::gateway_response(&api.id, &desired.response_type),
                id: String::new(),
                name: format!("{} {}", api.name, desired.response_type),
                document_path: field,
            };
            let spec = export::gateway_response_spec;
            after.push(self.write_record(entry, current, desired, spec));
        }
        for old in existing {
            if seen.contains_key(&old.response_type) {
                continue;
            }
            let key = keys::gateway_response(&api.id, &old.response_type);
            let name = format!("{} {}", api.name, old.response_type);
            if self.leave_or_prune("gateway_response", String::new(), name, || [key]) {
                after.push(old);
            }
        }
        Ok(after)
    }
}
