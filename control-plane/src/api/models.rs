//! Models of an API (JSON Schema draft 4, as AWS): RestApiService's
//! Create/Get/List/Update/DeleteModel.
//!
//! A schema is refused unless it parses as JSON and compiles as draft 4
//! with the `jsonschema` crate (the one nodes validate bodies with), so a
//! node never meets a model it cannot compile. References to other models
//! use AWS's model URL
//! (`https://apigateway.amazonaws.com/restapis/{api}/models/{name}`): they
//! must name a model of the same API, and compile against it; a model that
//! a method or another model names cannot be deleted. Models change nothing
//! served until deployed.

use super::SharedState;
use super::records::{body, ensure_absent, load_by_id, refuse_if_used};
use super::rest_apis::{load_api, page_of_api, prefixed};
use super::update_mask::{Fixed, Updatable, merge};
use crate::error::{ApiError, ApiResult};
use crate::store::{View, keys};
use archway_proto::models::{MODEL_URL_PREFIX, ParsedModel, model_url};
use archway_proto::rules::{media, method as method_rules};
use archway_proto::v1::*;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use tonic::Status;

/// Largest schema, in bytes: large public API descriptions have models of
/// 80 KB and more (GitHub's webhook payloads).
pub const MAX_SCHEMA_BYTES: usize = 400 * 1024;

const MODEL_UPDATE: Updatable = Updatable {
    request: "Model",
    resource: "Model",
    fields: &["description", "schema", "content_type"],
    fixed: &[
        ("api_id", Fixed::Immutable("names the API")),
        (
            "name",
            Fixed::Immutable("methods and models name it; create a new model instead"),
        ),
        ("id", Fixed::OutputOnly("set by the control plane")),
    ],
};

/// The models a schema refers to by AWS's model URL: (api id, name) of
/// each `$ref` that starts with [`MODEL_URL_PREFIX`], in order, each once.
pub fn referenced_models(schema: &Value) -> Vec<(String, String)> {
    fn walk(v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    if k == "$ref"
                        && let Value::String(r) = child
                        && r.starts_with(MODEL_URL_PREFIX)
                    {
                        // A model URL without `/models/` names no model of
                        // any API: kept whole as the API, so it is refused.
                        let (api, name) = archway_proto::models::parse_model_url(r)
                            .map_or((&r[MODEL_URL_PREFIX.len()..], ""), |(a, n, _)| (a, n));
                        let found = (api.to_owned(), name.to_owned());
                        if !out.contains(&found) {
                            out.push(found);
                        }
                    }
                    walk(child, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(schema, &mut out);
    out
}

/// An API's models by name, their schemas parsed once: what a schema
/// being written may refer to. Built once per write (or per planned
/// document, for all of its models), so checking n models parses each
/// schema once rather than n times.
#[derive(Debug, Default)]
pub struct ModelSchemas {
    parsed: HashMap<String, Value>,
    /// Models whose stored text is not JSON (the admin API never stores
    /// one): their parse error, for the model that refers to them.
    broken: HashMap<String, String>,
}

impl ModelSchemas {
    /// Parses each `(name, schema text)`.
    pub fn parse<'a>(models: impl IntoIterator<Item = (&'a str, &'a str)>) -> Arc<Self> {
        let mut out = Self::default();
        for (name, text) in models {
            match serde_json::from_str(text) {
                Ok(v) => {
                    out.parsed.insert(name.to_owned(), v);
                }
                Err(e) => {
                    out.broken.insert(name.to_owned(), e.to_string());
                }
            }
        }
        Arc::new(out)
    }
}

/// Serves the API's models to the compiler by their URL, so that
/// references resolve without any network or file access; the schema being
/// written is served as itself, not as its stored version.
struct ApiModels {
    /// `https://…/restapis/{api}/models/`.
    prefix: String,
    own_url: String,
    own: Value,
    others: Arc<ModelSchemas>,
}

impl jsonschema::Retrieve for ApiModels {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let url = uri.as_str();
        let url = url.split('#').next().unwrap_or(url);
        if url == self.own_url {
            return Ok(self.own.clone());
        }
        url.strip_prefix(&self.prefix)
            .and_then(|name| self.others.parsed.get(name))
            .cloned()
            .ok_or_else(|| format!("'{url}' is not a model of this API").into())
    }
}

/// Parses and compiles `schema`, model `name`'s, as draft 4; `others` are
/// the API's models by name, which references may name. The schema is
/// known by its own model URL too, so a reference that comes back to it
/// (from itself, or through another model) resolves to the schema being
/// written (a cycle of references is refused when the models are compiled
/// together for a deployment, which names it). `field` names the schema in
/// refusals.
pub fn compile_schema(
    field: &str,
    api_id: &str,
    name: &str,
    schema: &str,
    others: &Arc<ModelSchemas>,
) -> ApiResult<()> {
    if schema.trim().is_empty() {
        return Err(ApiError::invalid(
            field,
            "is required (a JSON Schema, draft 4)",
        ));
    }
    crate::validate::max_len(field, schema, MAX_SCHEMA_BYTES)?;
    let value: Value = serde_json::from_str(schema)
        .map_err(|e| ApiError::invalid(field, format!("is not JSON: {e}")))?;
    for (api, other) in referenced_models(&value) {
        if api != api_id {
            return Err(ApiError::invalid(
                field,
                format!(
                    "refers to a model of API '{api}'; models may only refer to models of their own API ('{api_id}')"
                ),
            ));
        }
        if other == name || others.parsed.contains_key(&other) {
            continue;
        }
        return Err(ApiError::invalid(
            field,
            match others.broken.get(&other) {
                Some(e) => format!("refers to model '{other}', whose schema is not JSON: {e}"),
                None => format!("refers to model '{other}', which API '{api_id}' does not have"),
            },
        ));
    }
    let own_url = model_url(api_id, name);
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .with_base_uri(own_url.clone())
        .with_retriever(ApiModels {
            prefix: model_url(api_id, ""),
            own_url,
            own: value.clone(),
            others: others.clone(),
        })
        .build(&value)
        .map_err(|e| {
            ApiError::invalid(
                field,
                format!("does not compile as a JSON Schema (draft 4): {e}"),
            )
        })?;
    Ok(())
}

/// Compiles all the models of a deployment together, as a node does (both
/// with [`archway_proto::models::compile`]), so that a deployment a node
/// would refuse is refused here instead. Writing one model checks it
/// against the others as they are then; a later change to a model another
/// one refers to (dropping a definition, closing a cycle of references) is
/// only seen here, which first checks the references itself to name the
/// model that refers. `Err` holds the model's name and the reason.
pub(crate) fn compile_together(api_id: &str, models: &[Model]) -> Result<(), (String, String)> {
    let refused = |e: archway_proto::models::ModelError| (e.model, e.reason);
    let schemas = archway_proto::models::parse(api_id, models).map_err(refused)?;
    for parsed in &schemas {
        let name = &parsed.model.name;
        let mut refs = Vec::new();
        ref_pointers(&parsed.schema, String::new(), &mut refs);
        for pointer in refs {
            missing_target(api_id, parsed.schema.pointer(&pointer), &schemas)
                .map_err(|reason| (name.clone(), reason))?;
            if let Some(cycle) = alias_cycle(api_id, (name.clone(), pointer), &schemas) {
                return Err((
                    name.clone(),
                    format!(
                        "its $ref chain {cycle} comes back to itself without describing any value (a reference cycle no body can be checked against)"
                    ),
                ));
            }
        }
    }
    archway_proto::models::compile(api_id, &schemas).map_err(refused)?;
    Ok(())
}

/// Refuses a change to model `name` (already checked as itself) that
/// breaks another model naming it: `models` are all of the API's models as
/// they will be. A model's own check compiles it against the others, but
/// not the others against it, so without this a referrer would only fail
/// at the next deployment (a `$ref` to a definition the change dropped, a
/// cycle it closed). `field` is the changed model's schema field; the
/// reason names the referrer.
pub(crate) fn refuse_if_referrers_break(
    field: &str,
    api_id: &str,
    name: &str,
    models: &[Model],
) -> ApiResult<()> {
    match compile_together(api_id, models) {
        Ok(()) => Ok(()),
        Err((model, reason)) if model == name => Err(ApiError::invalid(field, reason)),
        Err((model, reason)) => Err(ApiError::invalid(
            field,
            format!(
                "model '{model}', which refers to '{name}', would no longer compile with this schema: {reason}"
            ),
        )),
    }
}

/// Refuses a `$ref` (of the object `node`) that names no model of the
/// deployment or a fragment its model does not have: the compiler's own
/// error for these does not say which model refers.
fn missing_target(
    api_id: &str,
    node: Option<&Value>,
    schemas: &[ParsedModel<'_>],
) -> Result<(), String> {
    let Some(reference) = node.and_then(|n| n.get("$ref")).and_then(Value::as_str) else {
        return Ok(());
    };
    let (base, fragment) = reference.split_once('#').unwrap_or((reference, ""));
    if base.is_empty() {
        return Ok(()); // the compiler names the model for its own fragments
    }
    let Some(name) = base.strip_prefix(&model_url(api_id, "")) else {
        return Err(format!(
            "refers to '{reference}', which is not a model of this API (models refer to models of their API by URL, {})",
            model_url(api_id, "NAME")
        ));
    };
    let Some(target) = schemas
        .iter()
        .find(|p| p.model.name == name)
        .map(|p| &p.schema)
    else {
        return Err(format!(
            "refers to model '{name}', which is not in this deployment (API '{api_id}' has no such model)"
        ));
    };
    if fragment.starts_with('/') && target.pointer(fragment).is_none() {
        return Err(format!(
            "refers to '#{fragment}' of model '{name}', which that model does not have"
        ));
    }
    Ok(())
}

/// The JSON pointers of every object in `v` that has a `$ref`.
fn ref_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if map.get("$ref").is_some_and(Value::is_string) {
                out.push(at.clone());
            }
            for (k, child) in map {
                let key = k.replace('~', "~0").replace('/', "~1");
                ref_pointers(child, format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                ref_pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// A chain of `$ref`s starting at `start` (a model and a JSON pointer in it) that comes back to
/// a place already on it (`{"$ref": "#"}`, or A → B → A), written
/// `A -> B -> A`. In draft 4 an object with `$ref` is nothing but the
/// reference, so such a chain never reaches a schema that says anything: a
/// validator following it would recurse forever. References below a
/// keyword (`properties`, `items`...) consume part of the value and may
/// recurse legitimately (a tree of nodes), so they are not followed.
fn alias_cycle(
    api_id: &str,
    start: (String, String),
    schemas: &[ParsedModel<'_>],
) -> Option<String> {
    let prefix = model_url(api_id, "");
    let mut at = start;
    let mut seen: Vec<(String, String)> = Vec::new();
    let place = |(model, pointer): &(String, String)| {
        if pointer.is_empty() {
            model.clone()
        } else {
            format!("{model}#{pointer}")
        }
    };
    loop {
        if seen.contains(&at) {
            seen.push(at);
            return Some(seen.iter().map(place).collect::<Vec<_>>().join(" -> "));
        }
        let root = &schemas.iter().find(|p| p.model.name == at.0)?.schema;
        let node = if at.1.is_empty() {
            root
        } else {
            root.pointer(&at.1)?
        };
        let reference = node.get("$ref")?.as_str()?;
        let (base, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        let model = if base.is_empty() {
            at.0.clone()
        } else {
            base.strip_prefix(&prefix)?.to_owned()
        };
        seen.push(at);
        at = (model, fragment.to_owned());
    }
}

/// The API's models' schemas by name, but `except` (the one being written).
pub(crate) fn schemas_of(view: &View, api_id: &str, except: &str) -> ApiResult<Arc<ModelSchemas>> {
    let models = view.scan::<Model>(&keys::models(api_id))?;
    Ok(ModelSchemas::parse(
        models
            .iter()
            .filter(|m| m.name != except)
            .map(|m| (m.name.as_str(), m.schema.as_str())),
    ))
}

/// A model's own fields and its schema against the API's other models;
/// `field` names the model (`model`, or a document path). Normalizes an
/// empty content type to application/json.
pub(crate) fn check(field: &str, m: &mut Model, others: &Arc<ModelSchemas>) -> ApiResult<()> {
    let f = |name: &str| format!("{field}.{name}");
    method_rules::model_name(&f("name"), &m.name)?;
    crate::validate::max_len(&f("description"), &m.description, 4096)?;
    if m.content_type.is_empty() {
        m.content_type = "application/json".into();
    }
    media::media_type(&f("content_type"), &m.content_type)?;
    compile_schema(&f("schema"), &m.api_id, &m.name, &m.schema, others)
}

fn load(view: &View, api_id: &str, name: &str) -> ApiResult<Model> {
    load_by_id(
        view,
        "model_name",
        name,
        |n| keys::model(api_id, n),
        |n| format!("model '{n}' of API '{api_id}'"),
    )
}

/// Whether `referrer`'s schema names model `name` of API `api_id` (by
/// AWS's model URL), other than itself.
pub(crate) fn names_model(referrer: &Model, api_id: &str, name: &str) -> bool {
    referrer.name != name
        && serde_json::from_str::<Value>(&referrer.schema).is_ok_and(|v| {
            referenced_models(&v)
                .iter()
                .any(|(a, n)| a == api_id && n == name)
        })
}

/// Refuses to delete a model a method (request or response models) or
/// another model's schema names.
pub(crate) fn refuse_if_named(view: &View, api_id: &str, name: &str) -> ApiResult<()> {
    refuse_if_used(
        view.scan::<Method>(&keys::methods_of_api(api_id))?,
        |m| {
            m.request_models.values().any(|n| n == name)
                || m.method_responses
                    .iter()
                    .any(|r| r.response_models.values().any(|n| n == name))
        },
        |m| {
            format!(
                "model '{name}' is used by method {} on resource '{}'; change the method first",
                m.http_method, m.resource_id
            )
        },
    )?;
    refuse_if_used(
        view.scan::<Model>(&keys::models(api_id))?,
        |m| names_model(m, api_id, name),
        |m| format!("model '{name}' is referenced by model '{}'", m.name),
    )
}

pub(crate) async fn create(state: &SharedState, req: PutModelRequest) -> Result<Model, Status> {
    let m = body("model", req.model)?;
    let m = state
        .write(|txn| {
            let mut m = m.clone();
            load_api(txn, &m.api_id)?;
            let others = schemas_of(txn, &m.api_id, &m.name)?;
            check("model", &mut m, &others)?;
            ensure_absent(txn, &keys::model(&m.api_id, &m.name), || {
                format!("model '{}' of API '{}'", m.name, m.api_id)
            })?;
            // Ids are unique among the API's models (names are the keys).
            let taken: Vec<String> = txn
                .scan::<Model>(&keys::models(&m.api_id))?
                .into_iter()
                .map(|m| m.id)
                .collect();
            m.id = crate::ids::unused(6, |id| Ok::<_, ApiError>(taken.iter().any(|t| t == id)))?;
            txn.put(&keys::model(&m.api_id, &m.name), &m);
            Ok::<_, ApiError>(m)
        })
        .await?;
    Ok(m)
}

pub(crate) fn get(state: &SharedState, req: GetModelRequest) -> Result<Model, Status> {
    state.read(|view| {
        load_api(view, &req.api_id)?;
        load(view, &req.api_id, &req.model_name)
    })
}

pub(crate) fn list(
    state: &SharedState,
    req: ListModelsRequest,
) -> Result<ListModelsResponse, Status> {
    let (items, next_page_token) = state.read(|view| {
        page_of_api(
            view,
            &req.api_id,
            keys::models,
            req.page_size,
            &req.page_token,
        )
    })?;
    Ok(ListModelsResponse {
        items,
        next_page_token,
    })
}

pub(crate) async fn update(state: &SharedState, req: UpdateModelRequest) -> Result<Model, Status> {
    let patch = body("model", req.model)?;
    let m = state
        .write(|txn| {
            load_api(txn, &patch.api_id)?;
            let old = load(txn, &patch.api_id, &patch.name)?;
            let mut m = merge(&old, &patch, req.update_mask.as_ref(), &MODEL_UPDATE)
                .map_err(|e| prefixed("model", e))?;
            let others = schemas_of(txn, &m.api_id, &m.name)?;
            check("model", &mut m, &others)?;
            let mut all = txn.scan::<Model>(&keys::models(&m.api_id))?;
            if all.iter().any(|o| names_model(o, &m.api_id, &m.name)) {
                for stored in all.iter_mut().filter(|o| o.name == m.name) {
                    *stored = m.clone();
                }
                refuse_if_referrers_break("model.schema", &m.api_id, &m.name, &all)?;
            }
            txn.put(&keys::model(&m.api_id, &m.name), &m);
            Ok::<_, ApiError>(m)
        })
        .await?;
    Ok(m)
}

pub(crate) async fn delete(state: &SharedState, req: GetModelRequest) -> Result<Empty, Status> {
    state
        .write(|txn| {
            load_api(txn, &req.api_id)?;
            load(txn, &req.api_id, &req.model_name)?;
            refuse_if_named(txn, &req.api_id, &req.model_name)?;
            txn.delete(&keys::model(&req.api_id, &req.model_name));
            Ok::<_, ApiError>(())
        })
        .await?;
    Ok(Empty {})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(e: ApiError) -> String {
        match e {
            ApiError::InvalidArgument { field, reason } => {
                assert_eq!(field, "model.schema");
                reason
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn schemas_compile_as_draft_4_with_references_to_models_of_the_api() {
        let none = ModelSchemas::parse([]);
        compile_schema(
            "model.schema",
            "pets",
            "Pet",
            r#"{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}"#,
            &none,
        )
        .unwrap();
        assert!(
            reason(compile_schema("model.schema", "pets", "Pets", "{", &none).unwrap_err())
                .contains("is not JSON")
        );
        assert!(
            reason(
                compile_schema(
                    "model.schema",
                    "pets",
                    "Pets",
                    r#"{"type":"objekt"}"#,
                    &none
                )
                .unwrap_err()
            )
            .contains("does not compile")
        );
        assert!(
            reason(
                compile_schema("model.schema", "pets", "Pets", r#"{"pattern":"("}"#, &none)
                    .unwrap_err()
            )
            .contains("does not compile")
        );
        assert!(
            reason(compile_schema("model.schema", "pets", "Pets", " ", &none).unwrap_err())
                .contains("is required")
        );
        let pet = format!(
            r#"{{"type":"array","items":{{"$ref":"{}"}}}}"#,
            model_url("pets", "Pet")
        );
        assert!(
            reason(compile_schema("model.schema", "pets", "Pets", &pet, &none).unwrap_err())
                .contains("does not have")
        );
        let others = ModelSchemas::parse([("Pet", r#"{"type":"object"}"#)]);
        compile_schema("model.schema", "pets", "Pets", &pet, &others).unwrap();
        let foreign = format!(r#"{{"$ref":"{}"}}"#, model_url("other", "Pet"));
        assert!(
            reason(compile_schema("model.schema", "pets", "Pets", &foreign, &others).unwrap_err())
                .contains("own API")
        );
        // Pets refers to Pet, which refers back to Pets: Pets resolves to
        // the schema being written.
        let back = format!(r#"{{"$ref":"{}"}}"#, model_url("pets", "Pets"));
        let others = ModelSchemas::parse([("Pet", back.as_str())]);
        let to_pet = format!(
            r#"{{"type":"array","items":{{"$ref":"{}"}}}}"#,
            model_url("pets", "Pet")
        );
        compile_schema("model.schema", "pets", "Pets", &to_pet, &others).unwrap();
    }

    #[test]
    fn references_are_found_anywhere_once() {
        let v: Value = serde_json::from_str(&format!(
            r##"{{"a":{{"$ref":"{0}"}},"b":[{{"$ref":"{0}#/definitions/x"}},{{"$ref":"{1}"}}],"c":{{"$ref":"#/definitions/local"}}}}"##,
            model_url("p", "A"),
            model_url("p", "B")
        ))
        .unwrap();
        assert_eq!(
            referenced_models(&v),
            [
                ("p".to_string(), "A".to_string()),
                ("p".to_string(), "B".to_string())
            ]
        );
    }

    fn models(pairs: &[(&str, serde_json::Value)]) -> Vec<Model> {
        pairs
            .iter()
            .map(|(name, schema)| Model {
                api_id: "pets".into(),
                name: name.to_string(),
                schema: schema.to_string(),
                ..Default::default()
            })
            .collect()
    }

    fn url(name: &str) -> String {
        model_url("pets", name)
    }

    #[test]
    fn models_compiled_together_refuse_missing_fragments_and_reference_cycles() {
        use serde_json::json;
        // A recursive data structure is fine: each step consumes a level.
        compile_together(
            "pets",
            &models(&[
                (
                    "Tree",
                    json!({"type":"object","properties":{"children":{"type":"array","items":{"$ref": url("Tree")}}}}),
                ),
                ("Self", json!({"properties": {"next": {"$ref": "#"}}})),
            ]),
        )
        .unwrap();
        // B dropped the definition A refers to.
        let (name, reason) = compile_together(
            "pets",
            &models(&[
                ("A", json!({"$ref": format!("{}#/definitions/x", url("B"))})),
                ("B", json!({"type": "object"})),
            ]),
        )
        .unwrap_err();
        assert_eq!(name, "A", "{reason}");
        assert!(
            reason.contains("'#/definitions/x' of model 'B'"),
            "{reason}"
        );
        // A model that is only a reference to itself.
        let (name, reason) =
            compile_together("pets", &models(&[("Loop", json!({"$ref": "#"}))])).unwrap_err();
        assert_eq!(name, "Loop");
        assert!(reason.contains("Loop -> Loop"), "{reason}");
        // A -> B -> A, and a cycle hidden below a property.
        let (name, reason) = compile_together(
            "pets",
            &models(&[
                ("A", json!({"$ref": url("B")})),
                ("B", json!({"$ref": url("A")})),
            ]),
        )
        .unwrap_err();
        assert_eq!(name, "A");
        assert!(reason.contains("A -> B -> A"), "{reason}");
        let (name, reason) = compile_together(
            "pets",
            &models(&[(
                "P",
                json!({"properties": {"p": {"$ref": "#/definitions/x"}},
                       "definitions": {"x": {"$ref": "#/definitions/y"}, "y": {"$ref": "#/definitions/x"}}}),
            )]),
        )
        .unwrap_err();
        assert_eq!(name, "P");
        assert!(reason.contains("cycle"), "{reason}");
        // Something outside the deployment.
        let (name, reason) =
            compile_together("pets", &models(&[("A", json!({"$ref": url("Gone")}))])).unwrap_err();
        assert_eq!(name, "A");
        assert!(reason.contains("Gone"), "{reason}");
    }
}
