//! An API's models compiled together, the one way both planes do it: JSON
//! Schema draft 4 (as AWS's models are), references only among the models
//! of one API (by AWS's model URL,
//! `https://apigateway.amazonaws.com/restapis/{api}/models/{name}`) or to
//! `#/definitions/...` inside one schema, and nothing fetched (the crate's
//! HTTP and file retrieval are compiled out). The node keeps the
//! validators; the admin API compiles a deployment's models the same way so
//! that it refuses what a node would.
//!
//! Patterns (`pattern`, `patternProperties`) compile with fancy-regex, so
//! look-around and back-references work as in AWS's Java patterns. Patterns
//! without those features run on the linear-time `regex` engine inside it;
//! the others backtrack at most [`PATTERN_BACKTRACK_LIMIT`] steps per match,
//! beyond which the value counts as not matching: a client cannot make a
//! pattern run away.

use crate::v1::Model;
use jsonschema::{Draft, PatternOptions, Registry, Retrieve, Uri, Validator};
use serde_json::Value;
use std::fmt;

/// Where AWS's model URLs start.
pub const MODEL_URL_PREFIX: &str = "https://apigateway.amazonaws.com/restapis/";

/// Backtracking steps one pattern match may take (fancy-regex's default is
/// a million; a body field never needs that many).
pub const PATTERN_BACKTRACK_LIMIT: usize = 100_000;

/// The URL a model is known by in `$ref`s, as in AWS.
pub fn model_url(api_id: &str, name: &str) -> String {
    format!("{MODEL_URL_PREFIX}{api_id}/models/{name}")
}

/// The API id, model name and fragment (the pointer after `#`, e.g.
/// `/properties/x`, or empty) of a model URL; None for any other reference.
pub fn parse_model_url(url: &str) -> Option<(&str, &str, &str)> {
    let rest = url.strip_prefix(MODEL_URL_PREFIX)?;
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (api, name) = rest.split_once("/models/")?;
    Some((api, name, fragment))
}

/// Why an API's models do not compile together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError {
    /// The model at fault; empty when the fault is the set of models as a
    /// whole (the registry of them would not build).
    pub model: String,
    pub reason: String,
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.model.is_empty() {
            write!(f, "models: {}", self.reason)
        } else {
            write!(f, "model '{}': {}", self.model, self.reason)
        }
    }
}

impl std::error::Error for ModelError {}

/// One model of an API with its schema read as JSON and the URL it is known
/// by.
pub struct ParsedModel<'a> {
    pub model: &'a Model,
    pub url: String,
    pub schema: Value,
}

/// Reads every model's schema as JSON (so that a caller can look at the
/// schemas, e.g. for references, before [`compile`]).
pub fn parse<'a>(api_id: &str, models: &'a [Model]) -> Result<Vec<ParsedModel<'a>>, ModelError> {
    models
        .iter()
        .map(|model| {
            let schema = serde_json::from_str(&model.schema).map_err(|e| ModelError {
                model: model.name.clone(),
                reason: format!("schema is not JSON: {e}"),
            })?;
            Ok(ParsedModel {
                model,
                url: model_url(api_id, &model.name),
                schema,
            })
        })
        .collect()
}

/// Answers references the registry does not hold: always with an error
/// that names what was referred to, since models resolve only to models of
/// the same API.
struct SameApiOnly {
    /// `https://…/restapis/{api}/models/`.
    prefix: String,
}

impl Retrieve for SameApiOnly {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let uri = uri.as_str();
        Err(match uri.strip_prefix(&self.prefix) {
            Some(name) => format!("no model '{name}' in this deployment").into(),
            None => format!(
                "'{uri}' is not a model of this API (a schema may refer to the API's models, \
                 by their URL, and to its own definitions; nothing is fetched)"
            )
            .into(),
        })
    }
}

/// Compiles the models of `api_id` together: each registered under its
/// URL, so they may refer to one another, and nothing else resolvable. A
/// schema that is not a valid draft 4 schema, or refers to something that
/// is not one of these models, fails with the model's name and the reason.
/// The validators come back in the order of `models`.
pub fn compile<'a>(
    api_id: &str,
    models: &[ParsedModel<'a>],
) -> Result<Vec<(&'a Model, Validator)>, ModelError> {
    if models.is_empty() {
        return Ok(Vec::new());
    }
    let retriever = || SameApiOnly {
        prefix: model_url(api_id, ""),
    };
    let registry = Registry::new()
        .draft(Draft::Draft4)
        .retrieve_known_draft_meta_schemas(false)
        .retriever(retriever())
        .extend(models.iter().map(|m| {
            (
                m.url.as_str(),
                Draft::Draft4.create_resource(m.schema.clone()),
            )
        }))
        .and_then(|builder| builder.prepare())
        .map_err(|e| ModelError {
            model: String::new(),
            reason: e.to_string(),
        })?;
    models
        .iter()
        .map(|m| {
            jsonschema::options()
                .with_draft(Draft::Draft4)
                .with_base_uri(m.url.clone())
                .with_registry(&registry)
                .with_retriever(retriever())
                .with_pattern_options(
                    PatternOptions::fancy_regex().backtrack_limit(PATTERN_BACKTRACK_LIMIT),
                )
                .build(&m.schema)
                .map(|validator| (m.model, validator))
                .map_err(|e| ModelError {
                    model: m.model.name.clone(),
                    reason: e.to_string(),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model(name: &str, schema: Value) -> Model {
        Model {
            api_id: "api1".into(),
            name: name.into(),
            schema: schema.to_string(),
            ..Default::default()
        }
    }

    fn compiled(models: &[Model]) -> Result<Vec<(&Model, Validator)>, ModelError> {
        compile("api1", &parse("api1", models)?)
    }

    #[test]
    fn model_urls_read_back_into_their_parts() {
        let url = format!("{}#/properties/name", model_url("api1", "Owner"));
        assert_eq!(
            parse_model_url(&url),
            Some(("api1", "Owner", "/properties/name"))
        );
        assert_eq!(parse_model_url(&model_url("a", "P")), Some(("a", "P", "")));
        assert_eq!(parse_model_url("#/definitions/Shape"), None);
        assert_eq!(parse_model_url(MODEL_URL_PREFIX), None);
    }

    #[test]
    fn models_refer_to_each_other_by_url_and_come_back_in_order() {
        let models = [
            model(
                "Pet",
                json!({"type": "object", "properties": {"owner": {"$ref": model_url("api1", "Owner")}}}),
            ),
            model("Owner", json!({"type": "object", "required": ["id"]})),
        ];
        let compiled = compiled(&models).unwrap();
        let names: Vec<&str> = compiled.iter().map(|(m, _)| m.name.as_str()).collect();
        assert_eq!(names, ["Pet", "Owner"]);
        assert!(compiled[0].1.is_valid(&json!({"owner": {"id": 1}})));
        assert!(!compiled[0].1.is_valid(&json!({"owner": {}})));
    }

    #[test]
    fn anything_but_a_model_of_the_api_is_refused_with_the_model_named() {
        for (url, says) in [
            (
                model_url("api1", "Ghost"),
                "no model 'Ghost' in this deployment",
            ),
            (model_url("other", "Pet"), "is not a model of this API"),
            (
                "http://127.0.0.1:9/s.json".into(),
                "is not a model of this API",
            ),
        ] {
            let err = compiled(&[model("Pet", json!({"$ref": url}))]).unwrap_err();
            assert!(err.to_string().contains(says), "{err}");
        }
        let err = compiled(&[Model {
            name: "Bad".into(),
            schema: "{".into(),
            ..Default::default()
        }])
        .unwrap_err();
        assert_eq!(err.model, "Bad");
        assert!(
            err.to_string()
                .starts_with("model 'Bad': schema is not JSON")
        );
    }

    #[test]
    fn a_pattern_stops_at_the_backtrack_limit_and_then_does_not_match() {
        // The first alternative backtracks through 2^n ways before the
        // second matches: at n = 15, beyond the bound and within
        // fancy-regex's default one.
        let schema = json!({"type": "string", "pattern": r"^(?:(a|a)*\1c|a*b)$"});
        let slow = json!(format!("{}b", "a".repeat(15)));
        let unbounded = jsonschema::options()
            .with_draft(Draft::Draft4)
            .build(&schema)
            .unwrap();
        assert!(unbounded.is_valid(&slow), "matches, given enough steps");
        let models = [model("Slow", schema)];
        let compiled = compiled(&models).unwrap();
        assert!(!compiled[0].1.is_valid(&slow), "over the bound");
        assert!(compiled[0].1.is_valid(&json!("aab")));
    }
}
