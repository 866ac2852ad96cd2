//! ImportRestApi and PutRestApi: a document read into one API's
//! definition, then planned and written by the declarative path
//! ([`crate::declarative::apply`]) in one store transaction, with only that
//! API in scope (`definition_only`): other APIs, plans, keys and principals
//! are not touched, and the API's stages keep serving what they serve.

use super::{Imported, Problem, ReadError, ReadOptions, read};
use crate::api::ControlPlaneState;
use crate::api::configuration::{not_the_document, refusal};
use crate::declarative::apply::{ApplyError, Request, apply_document};
use crate::declarative::document::ApplyFile;
use crate::declarative::export::api_fields;
use crate::enums::API_PROTOCOL;
use crate::error::ApiError;
use crate::ids;
use crate::store::keys;
use archway_proto::v1::*;
use tonic::Status;

/// What a refusal that lists only the first warnings says of the rest (a
/// dry run's response has all of them).
const MORE_WARNINGS: &str = "run it with dry_run to see every one";
/// What a refusal that lists only the first errors says of the rest.
const MORE_ERRORS: &str = "fix these and import again to see the rest";

/// ImportRestApi: a new API.
pub async fn import_rest_api(
    state: &ControlPlaneState,
    request: ImportRestApiRequest,
) -> Result<ImportRestApiResponse, Status> {
    let options = request.options.unwrap_or_default();
    let prepend = base_path_mode(&options.basepath)?;
    let view = state.store.view();
    let api_id = ids::unused(10, |id| view.get_raw(&keys::api(id)).map(|v| v.is_some()))
        .map_err(|e| Status::from(ApiError::Store(e)))?;
    let imported = read_document(
        &request.body,
        &ReadOptions {
            api_id: api_id.clone(),
            protocol: request.protocol,
            prepend_base_path: prepend,
        },
    )?;
    apply(state, imported, &api_id, &options, false).await
}

/// PutRestApi: an existing API, merged or overwritten.
pub async fn put_rest_api(
    state: &ControlPlaneState,
    request: PutRestApiRequest,
) -> Result<ImportRestApiResponse, Status> {
    let options = request.options.unwrap_or_default();
    let prepend = base_path_mode(&options.basepath)?;
    let overwrite = match request.mode.to_ascii_lowercase().as_str() {
        "" | "merge" => false,
        "overwrite" => true,
        other => {
            return Err(Status::invalid_argument(format!(
                "mode: '{other}' is not merge or overwrite"
            )));
        }
    };
    let current: RestApi = state
        .store
        .view()
        .get(&keys::api(&request.api_id))
        .map_err(|e| Status::from(ApiError::Store(e)))?
        .ok_or_else(|| Status::not_found(format!("API '{}' does not exist", request.api_id)))?;
    if current.protocol() == ApiProtocol::Websocket {
        return Err(Status::failed_precondition(format!(
            "API '{}' is a WEBSOCKET API, which OpenAPI does not describe",
            current.id
        )));
    }
    let mut imported = read_document(
        &request.body,
        &ReadOptions {
            api_id: current.id.clone(),
            protocol: API_PROTOCOL.short(current.protocol()).to_owned(),
            prepend_base_path: prepend,
        },
    )?;
    if !overwrite {
        // Merge: what the document does not say of the API itself stays.
        let kept = api_fields(&current);
        let spec = &mut imported.spec;
        if spec.description.is_empty() {
            spec.description = kept.description;
        }
        spec.api_key_source = spec.api_key_source.take().or(kept.api_key_source);
        spec.policy = spec.policy.take().or(kept.policy);
        spec.endpoint_type = spec.endpoint_type.take().or(kept.endpoint_type);
        spec.cors = spec.cors.take().or(kept.cors);
        if spec.binary_media_types.is_empty() {
            spec.binary_media_types = kept.binary_media_types;
        }
    }
    apply(state, imported, &current.id, &options, overwrite).await
}

/// `basepath`: ignore (default) or prepend.
fn base_path_mode(mode: &str) -> Result<bool, Status> {
    match mode.to_ascii_lowercase().as_str() {
        "" | "ignore" => Ok(false),
        "prepend" => Ok(true),
        other => Err(Status::invalid_argument(format!(
            "options.basepath: '{other}' is not ignore or prepend"
        ))),
    }
}

fn read_document(body: &str, options: &ReadOptions) -> Result<Imported, Status> {
    let started = std::time::Instant::now();
    let read = read(body, options).map_err(|e| match e {
        ReadError::Syntax(syntax) => Status::invalid_argument(format!("document: {syntax}")),
        ReadError::Document(errors) => refusal(
            errors.into_iter().map(document_error).collect(),
            tonic::Code::InvalidArgument,
            MORE_ERRORS,
        ),
    })?;
    tracing::debug!(
        read_ms = started.elapsed().as_millis() as u64,
        bytes = body.len(),
        routes = read.spec.routes.len(),
        warnings = read.warnings.len(),
        "read OpenAPI document"
    );
    Ok(read)
}

fn document_error(p: Problem) -> DocumentError {
    DocumentError {
        path: p.pointer,
        message: p.message,
    }
}

/// Plans and (unless a dry run) writes the imported API.
async fn apply(
    state: &ControlPlaneState,
    imported: Imported,
    api_id: &str,
    options: &ImportOptions,
    prune: bool,
) -> Result<ImportRestApiResponse, Status> {
    let Imported {
        mut spec,
        warnings,
        origins,
    } = imported;
    if options.fail_on_warnings && !warnings.is_empty() {
        return Err(refusal(
            warnings.into_iter().map(document_error).collect(),
            tonic::Code::FailedPrecondition,
            MORE_WARNINGS,
        ));
    }
    spec.id = Some(api_id.to_owned());
    let doc = ApplyFile {
        apis: vec![spec],
        ..Default::default()
    };
    let request = Request {
        dry_run: options.dry_run,
        prune,
        expected_revision: 0,
        definition_only: true,
    };
    let outcome = apply_document(state, &doc, request)
        .await
        .map_err(|e| match e {
            ApplyError::Document(errors) => refusal(
                errors
                    .into_iter()
                    .map(|e| {
                        let (pointer, field) = origins.locate(&e.path);
                        DocumentError {
                            path: pointer,
                            message: if field.is_empty() {
                                e.message
                            } else {
                                format!("{field}: {}", e.message)
                            },
                        }
                    })
                    .collect(),
                tonic::Code::InvalidArgument,
                MORE_ERRORS,
            ),
            other => not_the_document(other),
        })?;
    let created = !options.dry_run
        || state
            .store
            .view()
            .get_raw(&keys::api(api_id))
            .ok()
            .flatten()
            .is_some();
    Ok(ImportRestApiResponse {
        api_id: if created {
            api_id.to_owned()
        } else {
            String::new()
        },
        warnings: warnings
            .into_iter()
            .map(|w| ImportWarning {
                pointer: w.pointer,
                message: w.message,
            })
            .collect(),
        changes: outcome.changes,
        revision: outcome.revision,
        applied: outcome.applied,
    })
}
