//! ApiSpec → OpenAPI 3.0 / Swagger 2.0, with AWS's extensions, as
//! [`crate::openapi::mapping`] says.
//!
//! The API is read as an [`ApiSpec`] through the same code the
//! configuration export uses (`declarative::export::api_definition`), from
//! the store's current records or from the records the stage's deployment
//! froze; [`document::document`] turns it into a document, a pure function
//! split by part of the document: [`operations`] (paths, parameters,
//! bodies, responses), [`schemas`] (models and their `$ref`s),
//! [`security`] (schemes and requirements), [`integration`] (the
//! integration objects) and [`examples`] (for Postman).
//!
//! [`ApiSpec`]: crate::declarative::document::ApiSpec

mod context;
pub mod document;
mod examples;
mod integration;
mod operations;
mod order;
mod schemas;
mod security;

use crate::api::ControlPlaneState;
use crate::api::records::load;
use crate::api::rest_apis::load_api;
use crate::declarative::document::ApiSpec;
use crate::declarative::export::{ApiRecords, api_definition};
use crate::error::{ApiError, ApiResult};
use crate::store::{View, keys};
use archway_proto::v1::{ApiProtocol, Deployment, GetExportRequest, GetExportResponse, Stage};
use document::Target;
use tonic::Status;

/// What an export writes besides the plain OpenAPI document.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Swagger 2.0 instead of OpenAPI 3.0.
    pub swagger: bool,
    /// `x-amazon-apigateway-integration` (and `x-archway-integration`).
    pub integrations: bool,
    /// `x-amazon-apigateway-authorizer` / `-authtype` (and
    /// `x-archway-authorizer`) on security schemes.
    pub authorizers: bool,
    /// Every other extension too (API-level ones, validators, gateway
    /// responses...). Implies `integrations` and `authorizers`.
    pub apigateway: bool,
    /// For Postman's importer: plain OpenAPI with examples.
    pub postman: bool,
}

impl ExportOptions {
    /// The options of a GetExport request: `export_type` (oas30, the
    /// default, or swagger) and the comma-separated `extensions`; anything
    /// else is refused naming its field.
    pub fn parse(export_type: &str, extensions: &str) -> ApiResult<Self> {
        let mut options = Self {
            swagger: match export_type.trim().to_ascii_lowercase().as_str() {
                "" | "oas30" => false,
                "swagger" => true,
                other => {
                    return Err(ApiError::invalid(
                        "export_type",
                        format!("'{other}' is not an export type; expected oas30 or swagger"),
                    ));
                }
            },
            ..Self::default()
        };
        for extension in extensions.split(',').map(str::trim) {
            match extension.to_ascii_lowercase().as_str() {
                "" => {}
                "integrations" => options.integrations = true,
                "authorizers" => options.authorizers = true,
                "apigateway" => options.apigateway = true,
                "postman" => options.postman = true,
                _ => {
                    return Err(ApiError::invalid(
                        "extensions",
                        format!(
                            "'{extension}' is not an extension; expected a comma-separated list of integrations, authorizers, apigateway and postman"
                        ),
                    ));
                }
            }
        }
        Ok(options)
    }
}

/// A document and what it leaves out.
#[derive(Debug, Clone, Default)]
pub struct Exported {
    pub document: serde_json::Value,
    pub warnings: Vec<String>,
}

/// The document of an API as deployed to `stage_name` (empty: as currently
/// defined), `servers` naming the stage's URL. GetExport serializes it;
/// GetSdk generates from it (OpenAPI 3.0 with `apigateway` extensions).
pub fn stage_document(
    state: &ControlPlaneState,
    api_id: &str,
    stage_name: &str,
    options: &ExportOptions,
) -> Result<Exported, Status> {
    let (spec, target, left_out) =
        state.read(|view| stage_spec(view, api_id, stage_name, &state.public_domain))?;
    let mut exported = document::document(&spec, &target, options);
    let mut warnings: Vec<String> = left_out
        .into_iter()
        .map(|route| {
            format!(
                "route {route} has no integration yet and is left out (it cannot be deployed either)"
            )
        })
        .collect();
    warnings.append(&mut exported.warnings);
    exported.warnings = warnings;
    Ok(exported)
}

/// The stage's URL as its clients call it.
pub fn stage_url(public_domain: &str, api_id: &str, stage_name: &str) -> String {
    format!("http://{api_id}.{public_domain}/{stage_name}")
}

/// The API as the stage's deployment froze it (or as now, for no stage),
/// where it is served, and the routes left out for lack of an integration.
fn stage_spec(
    view: &View,
    api_id: &str,
    stage_name: &str,
    public_domain: &str,
) -> ApiResult<(ApiSpec, Target, Vec<String>)> {
    let api = load_api(view, api_id)?;
    if api.protocol() == ApiProtocol::Websocket {
        return Err(ApiError::FailedPrecondition(format!(
            "API '{}' is a WEBSOCKET API, which has no OpenAPI form (AWS exports none either); only REST and HTTP APIs are exported",
            api.id
        )));
    }
    let mut left_out = Vec::new();
    if stage_name.is_empty() {
        let records = ApiRecords::current(view, &api.id)?;
        let spec = api_definition(&api, records, &mut left_out);
        let target = Target {
            version: "draft".into(),
            server_url: None,
        };
        return Ok((spec, target, left_out));
    }
    let stage: Stage = load(view, &keys::stage(&api.id, stage_name), || {
        format!("stage '{stage_name}' of API '{}'", api.id)
    })?;
    let deployment: Deployment = load(
        view,
        &keys::deployment(&api.id, &stage.deployment_id),
        || {
            format!(
                "deployment '{}' that stage '{stage_name}' of API '{}' serves",
                stage.deployment_id, api.id
            )
        },
    )?;
    let version = deployment.id.clone();
    let (deployed, records) = ApiRecords::deployed(&api, deployment);
    let spec = api_definition(&deployed, records, &mut left_out);
    let target = Target {
        version,
        server_url: Some(stage_url(public_domain, &api.id, stage_name)),
    };
    Ok((spec, target, left_out))
}

/// GetExport.
pub fn get_export(
    state: &ControlPlaneState,
    request: GetExportRequest,
) -> Result<GetExportResponse, Status> {
    let options = ExportOptions::parse(&request.export_type, &request.extensions)?;
    let yaml = match request.format.trim().to_ascii_lowercase().as_str() {
        "" | "json" => false,
        "yaml" => true,
        other => {
            return Err(ApiError::invalid(
                "format",
                format!("'{other}' is not a format; expected json or yaml"),
            )
            .into());
        }
    };
    if request.api_id.is_empty() {
        return Err(ApiError::invalid("api_id", "is required").into());
    }
    let exported = stage_document(state, &request.api_id, &request.stage_name, &options)?;
    let (content_type, body) = serialize(&exported.document, yaml);
    Ok(GetExportResponse {
        content_type: content_type.into(),
        body,
        warnings: exported.warnings,
    })
}

/// The document as pretty JSON or YAML, in reading order (see [`order`]),
/// and its content type.
pub fn serialize(document: &serde_json::Value, yaml: bool) -> (&'static str, String) {
    let document = order::ReadingOrder(document);
    if yaml {
        (
            "application/yaml",
            serde_saphyr::to_string(&document).expect("a JSON value always serializes"),
        )
    } else {
        (
            "application/json",
            serde_json::to_string_pretty(&document).expect("a JSON value always serializes"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn options_are_parsed_with_the_field_named_in_refusals() {
        let o = ExportOptions::parse("", "").unwrap();
        assert!(!o.swagger && !o.integrations && !o.authorizers && !o.apigateway && !o.postman);
        let o = ExportOptions::parse("swagger", " integrations, Authorizers,,postman").unwrap();
        assert!(o.swagger && o.integrations && o.authorizers && o.postman && !o.apigateway);
        assert!(
            ExportOptions::parse("OAS30", "apigateway")
                .unwrap()
                .apigateway
        );
        let e = ExportOptions::parse("oas31", "").unwrap_err().to_string();
        assert!(e.starts_with("export_type: 'oas31'"), "{e}");
        let e = ExportOptions::parse("", "integrations,lambda")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("extensions: 'lambda'"), "{e}");
    }

    #[test]
    fn yaml_reads_back_as_the_same_document() {
        let doc = json!({
            "openapi": "3.0.1",
            "paths": { "/a": { "get": { "responses": { "200": { "description": "200 response" } } } } },
            "x": ["yes", "no", "on", "null", "1.0", "0x10", "~", "", "a: b", "#c", "- d"],
            "n": [1, 2.5, true, null]
        });
        let (content_type, text) = serialize(&doc, true);
        assert_eq!(content_type, "application/yaml");
        let back: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, doc, "{text}");
        let (content_type, text) = serialize(&doc, false);
        assert_eq!(content_type, "application/json");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            doc
        );
    }

    #[test]
    fn the_stage_url_names_the_api_and_stage() {
        assert_eq!(
            stage_url("execute-api.localhost:8080", "pets", "prod"),
            "http://pets.execute-api.localhost:8080/prod"
        );
    }
}
