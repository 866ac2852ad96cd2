//! Planning an API's models, request validators and gateway responses:
//! matched by name (by type for gateway responses), checked as their
//! handlers check them, created, updated, kept or (with prune) deleted.

use super::*;
use crate::api::{models, validators};

impl Planner<'_> {
    /// Kept or pruned: the stored records the document does not name.
    fn leftovers<T: Clone>(
        &mut self,
        kind: &'static str,
        api: &RestApi,
        left: Vec<(T, String, String, String)>,
        after: &mut Vec<T>,
    ) {
        for (record, key, id, name) in left {
            let name = format!("{} {name}", api.name);
            if self.options.prune {
                self.delete(key);
                self.push(ConfigurationChange {
                    id,
                    ..change(kind, ChangeAction::Delete, name)
                });
            } else {
                self.push(ConfigurationChange {
                    id,
                    ..change(kind, ChangeAction::Keep, name)
                });
                after.push(record);
            }
        }
    }

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
        let mut wanted: Vec<(String, Option<&Model>, Model)> = Vec::new();
        for (j, m) in spec.models.iter().enumerate() {
            let field = format!("{path}.models[{j}]");
            let Some(current) = self.claim(&mut names, &field, &m.name) else {
                continue;
            };
            let desired = Model {
                id: current
                    .map(|c| c.id.clone())
                    .unwrap_or_else(|| ids::generate(6)),
                api_id: api.id.clone(),
                name: m.name.clone(),
                description: m.description.clone(),
                schema: export::policy_text(&m.schema),
                content_type: m.content_type.clone().unwrap_or_default(),
            };
            wanted.push((field, current, desired));
        }
        let taken = names.into_taken();
        let left: Vec<_> = existing
            .iter()
            .filter(|m| !taken.contains(&m.name))
            .map(|m| {
                (
                    m.clone(),
                    keys::model(&api.id, &m.name),
                    m.id.clone(),
                    m.name.clone(),
                )
            })
            .collect();
        let mut after = Vec::new();
        self.leftovers("model", api, left, &mut after);
        let schemas: HashMap<String, String> = wanted
            .iter()
            .map(|(_, _, m)| (m.name.clone(), m.schema.clone()))
            .chain(after.iter().map(|m| (m.name.clone(), m.schema.clone())))
            .collect();
        for (field, current, mut desired) in wanted {
            let mut others = schemas.clone();
            others.remove(&desired.name);
            let checked = models::check("model", &mut desired, &others)
                .map_err(|e| rebase(e, "model", &field));
            if self.check(&field, checked)?.is_none() {
                continue;
            }
            let fields = current
                .map(|old| field_changes(&export::model_spec(old), &export::model_spec(&desired)));
            let entry = Entry {
                kind: "model",
                key: keys::model(&api.id, &desired.name),
                publish: None,
                id: &desired.id,
                name: format!("{} {}", api.name, desired.name),
                document_path: field,
                fields,
            };
            if !self.write_entry(entry, &desired)
                && let Some(old) = current
            {
                after.push(old.clone());
                continue;
            }
            after.push(desired);
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
            let fields = current.map(|old| {
                field_changes(
                    &export::validator_spec(old),
                    &export::validator_spec(&desired),
                )
            });
            let entry = Entry {
                kind: "request_validator",
                key: keys::request_validator(&api.id, &desired.id),
                publish: None,
                id: &desired.id,
                name: format!("{} {}", api.name, desired.name),
                document_path: field,
                fields,
            };
            if !self.write_entry(entry, &desired)
                && let Some(old) = current
            {
                after.push(old.clone());
                continue;
            }
            after.push(desired);
        }
        let taken = names.into_taken();
        let left: Vec<_> = existing
            .iter()
            .filter(|v| !taken.contains(&v.name))
            .map(|v| {
                (
                    v.clone(),
                    keys::request_validator(&api.id, &v.id),
                    v.id.clone(),
                    v.name.clone(),
                )
            })
            .collect();
        self.leftovers("request_validator", api, left, &mut after);
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
            let fields = current.map(|old| {
                field_changes(
                    &export::gateway_response_spec(old),
                    &export::gateway_response_spec(&desired),
                )
            });
            let entry = Entry {
                kind: "gateway_response",
                key: keys::gateway_response(&api.id, &desired.response_type),
                publish: None,
                id: "",
                name: format!("{} {}", api.name, desired.response_type),
                document_path: field,
                fields,
            };
            if !self.write_entry(entry, &desired)
                && let Some(old) = current
            {
                after.push(old.clone());
                continue;
            }
            after.push(desired);
        }
        let left: Vec<_> = existing
            .iter()
            .filter(|g| !seen.contains_key(&g.response_type))
            .map(|g| {
                (
                    g.clone(),
                    keys::gateway_response(&api.id, &g.response_type),
                    String::new(),
                    g.response_type.clone(),
                )
            })
            .collect();
        self.leftovers("gateway_response", api, left, &mut after);
        Ok(after)
    }
}
