//! Request validation, compiled: a deployment's models as JSON Schema
//! draft 4 validators (as AWS's models are), and each method's checks (its
//! request validator's body and parameter switches over its request models
//! and required request parameters).
//!
//! Schemas are compiled here, once per deployment (and deployments are
//! reused across versions), never on the request path, by the function the
//! admin API compiles them with ([`archway_proto::models`]: references only
//! among the deployment's models, nothing fetched, pattern backtracking
//! bounded per match).

use crate::stage_cache::key::KeyParam;
use crate::tables::validation::{
    BodyModels, CompiledModel, Models, RequiredParameter, RouteValidation,
};
use archway_proto::mapping_expr::Location;
use archway_proto::rules;
use archway_proto::rules::method::DEFAULT_MODEL_KEY;
use archway_proto::v1::{Method, Model, RequestValidator};
use std::sync::Arc;

/// Compiles every model of a deployment of `api_id`
/// ([`archway_proto::models::compile`], as the admin API does). A schema
/// that is not JSON, not a valid draft 4 schema, or refers to something
/// that is not a model of the deployment fails with the model's name and
/// the reason.
pub fn compile_models(api_id: &str, models: &[Model]) -> Result<Models, String> {
    for (i, model) in models.iter().enumerate() {
        rules::method::model_name(&format!("models[{i}].name"), &model.name)
            .map_err(|v| v.to_string())?;
    }
    let parsed = archway_proto::models::parse(api_id, models).map_err(|e| e.to_string())?;
    let compiled = archway_proto::models::compile(api_id, &parsed).map_err(|e| e.to_string())?;
    let by_name = compiled
        .into_iter()
        .map(|(model, validator)| {
            let name: Box<str> = model.name.as_str().into();
            (name, Arc::new(CompiledModel { validator }))
        })
        .collect();
    Ok(Models { by_name })
}

/// A method's validation, from its request validator (found in
/// `validators` by id), request models (found in `models` by name) and
/// request parameters. None: the method validates nothing.
pub fn compile_route(
    method: &Method,
    validators: &[RequestValidator],
    models: &Models,
) -> Result<Option<Box<RouteValidation>>, String> {
    if method.request_validator_id.is_empty() {
        return Ok(None);
    }
    let validator = validators
        .iter()
        .find(|v| v.id == method.request_validator_id)
        .ok_or_else(|| {
            format!(
                "request validator '{}' is not in the deployment",
                method.request_validator_id
            )
        })?;
    let parameters = if validator.validate_request_parameters {
        method
            .request_parameters
            .iter()
            .filter(|(_, required)| **required)
            .map(|(name, _)| required_parameter(name))
            .collect::<Result<Box<[_]>, _>>()?
    } else {
        Box::default()
    };
    let body = if validator.validate_request_body && !method.request_models.is_empty() {
        let mut by_type = Vec::with_capacity(method.request_models.len());
        let mut default = None;
        for (content_type, name) in &method.request_models {
            let model = models.get(name).ok_or_else(|| {
                format!("request_models['{content_type}']: no model '{name}' in the deployment")
            })?;
            if content_type == DEFAULT_MODEL_KEY {
                default = Some(model.clone());
            } else {
                by_type.push((crate::media_type::key(content_type), model.clone()));
            }
        }
        Some(BodyModels {
            by_type: by_type.into(),
            default,
        })
    } else {
        None
    };
    if parameters.is_empty() && body.is_none() {
        return Ok(None);
    }
    Ok(Some(Box::new(RouteValidation { parameters, body })))
}

/// `method.request.querystring.q` → (q, the query parameter), by the
/// shared rules' reading of a declaration.
fn required_parameter(declared: &str) -> Result<RequiredParameter, String> {
    let (location, name) = rules::method::request_parameter(declared)
        .map_err(|reason| format!("request_parameters[\"{declared}\"]: {reason}"))?;
    let source = match location {
        Location::Path => KeyParam::Path(name.into()),
        Location::QueryString => KeyParam::Query(name.into()),
        Location::Header => KeyParam::Header(
            http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("request_parameters: '{name}' is not a header name"))?,
        ),
    };
    Ok(RequiredParameter {
        name: name.into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn model(name: &str, schema: Value) -> Model {
        Model {
            id: format!("m-{name}"),
            api_id: "api1".into(),
            name: name.into(),
            schema: schema.to_string(),
            content_type: "application/json".into(),
            ..Default::default()
        }
    }

    fn validator(body: bool, parameters: bool) -> RequestValidator {
        RequestValidator {
            id: "v1".into(),
            api_id: "api1".into(),
            name: "both".into(),
            validate_request_body: body,
            validate_request_parameters: parameters,
        }
    }

    #[test]
    fn models_refer_to_each_other_by_aws_url_and_to_their_definitions() {
        let models = compile_models(
            "api1",
            &[
                model(
                    "Pet",
                    json!({
                        "$schema": "http://json-schema.org/draft-04/schema#",
                        "type": "object",
                        "required": ["name", "owner"],
                        "properties": {
                            "name": {"$ref": "#/definitions/name"},
                            "owner": {"$ref": "https://apigateway.amazonaws.com/restapis/api1/models/Owner"}
                        },
                        "definitions": {"name": {"type": "string", "minLength": 1}}
                    }),
                ),
                model(
                    "Owner",
                    json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}),
                ),
            ],
        )
        .unwrap();
        let pet = &models.get("Pet").unwrap().validator;
        assert!(pet.is_valid(&json!({"name": "Rex", "owner": {"id": 7}})));
        assert!(!pet.is_valid(&json!({"name": "", "owner": {"id": 7}})));
        assert!(!pet.is_valid(&json!({"name": "Rex", "owner": {"id": "7"}})));
        assert!(!pet.is_valid(&json!({"name": "Rex"})));
    }

    #[test]
    fn a_reference_outside_the_deployment_fails_with_the_model_named() {
        let missing = compile_models(
            "api1",
            &[model(
                "Pet",
                json!({"$ref": "https://apigateway.amazonaws.com/restapis/api1/models/Ghost"}),
            )],
        )
        .unwrap_err();
        assert!(
            missing.contains("no model 'Ghost' in this deployment"),
            "{missing}"
        );
        // Another API's model, or any other URL: never fetched.
        for url in [
            "https://apigateway.amazonaws.com/restapis/other/models/Pet",
            "http://127.0.0.1:9/schema.json",
        ] {
            let elsewhere =
                compile_models("api1", &[model("Pet", json!({"$ref": url}))]).unwrap_err();
            assert!(
                elsewhere.contains("is not a model of this API"),
                "{elsewhere}"
            );
        }
        let dangling = compile_models(
            "api1",
            &[model("Pet", json!({"$ref": "#/definitions/nowhere"}))],
        )
        .unwrap_err();
        assert!(dangling.starts_with("model 'Pet': "), "{dangling}");
    }

    #[test]
    fn schemas_that_are_not_draft_4_or_not_json_fail() {
        let bad = |schema: &str| {
            compile_models(
                "api1",
                &[Model {
                    name: "Bad".into(),
                    schema: schema.into(),
                    ..Default::default()
                }],
            )
            .unwrap_err()
        };
        assert!(bad("{").contains("model 'Bad': schema is not JSON"));
        assert!(bad(r#"{"type": "whatever"}"#).starts_with("model 'Bad': "));
        assert!(bad(r#"{"type": "string", "pattern": "(a"}"#).starts_with("model 'Bad': "));
    }

    #[test]
    fn multi_value_declarations_are_required_like_single_value_ones() {
        let method = Method {
            request_validator_id: "v1".into(),
            request_parameters: [
                ("method.request.multivaluequerystring.tag".to_owned(), true),
                ("method.request.multivalueheader.X-Tag".to_owned(), true),
            ]
            .into(),
            ..Default::default()
        };
        let route = compile_route(&method, &[validator(false, true)], &Models::default())
            .unwrap()
            .unwrap();
        let found: Vec<(&str, bool)> = route
            .parameters
            .iter()
            .map(|p| (&*p.name, matches!(p.source, KeyParam::Query(_))))
            .collect();
        assert_eq!(found, [("X-Tag", false), ("tag", true)]);
    }

    #[test]
    fn a_route_validates_what_its_validator_says() {
        let models = compile_models("api1", &[model("Pet", json!({"type": "object"}))]).unwrap();
        let method = Method {
            request_validator_id: "v1".into(),
            request_parameters: [
                ("method.request.querystring.q".to_owned(), true),
                ("method.request.header.X-Tenant".to_owned(), true),
                ("method.request.path.id".to_owned(), true),
                ("method.request.querystring.optional".to_owned(), false),
            ]
            .into(),
            request_models: [
                ("Application/JSON".to_owned(), "Pet".to_owned()),
                ("$default".to_owned(), "Pet".to_owned()),
            ]
            .into(),
            ..Default::default()
        };
        let both = compile_route(&method, &[validator(true, true)], &models)
            .unwrap()
            .unwrap();
        let names: Vec<&str> = both.parameters.iter().map(|p| &*p.name).collect();
        assert_eq!(names, ["X-Tenant", "id", "q"]);
        let body = both.body.as_ref().unwrap();
        assert!(Arc::ptr_eq(
            body.for_media_type("application/json").unwrap(),
            &models.by_name["Pet"]
        ));
        assert!(body.for_media_type("text/plain").is_some(), "$default");

        let params_only = compile_route(&method, &[validator(false, true)], &models)
            .unwrap()
            .unwrap();
        assert!(params_only.body.is_none());
        let nothing = compile_route(&method, &[validator(false, false)], &models).unwrap();
        assert!(nothing.is_none());
        let no_validator = Method {
            request_validator_id: String::new(),
            ..method.clone()
        };
        assert!(
            compile_route(&no_validator, &[], &models)
                .unwrap()
                .is_none()
        );

        let unknown = compile_route(&method, &[], &models).unwrap_err();
        assert!(unknown.contains("request validator 'v1' is not in the deployment"));
        let no_model =
            compile_route(&method, &[validator(true, false)], &Models::default()).unwrap_err();
        assert!(
            no_model.contains("no model 'Pet' in the deployment"),
            "{no_model}"
        );
        let bad_param = Method {
            request_parameters: [("method.request.body.x".to_owned(), true)].into(),
            ..method
        };
        let bad_param = compile_route(&bad_param, &[validator(false, true)], &models).unwrap_err();
        assert!(bad_param.contains("'method.request.body.x'"), "{bad_param}");
    }
}
