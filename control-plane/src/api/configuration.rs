//! ConfigurationService: whole documents applied, diffed and exported. The
//! work is in [`crate::declarative`]; this maps it to gRPC.
//!
//! A bad document is one INVALID_ARGUMENT status whose message lists the
//! errors as `path: reason`, one per line, and whose details carry them as
//! a `google.rpc.BadRequest` (field = document path): a status rather than
//! fields of the response, because nothing was applied (every gRPC client
//! sees a failure as a failure), and BadRequest because clients in every
//! language decode it without our .proto. Both travel in HTTP/2 headers,
//! which clients cap (grpcio at 8 KiB in all), so a status carries only the
//! first errors within [`MESSAGE_BUDGET`] and [`DETAILS_BUDGET`]; a client
//! that sets `errors_in_response` gets OK with every error in the body
//! instead (archwayctl does).

use super::SharedState;
use crate::auth::CallerRole;
use crate::declarative::apply::{self, ApplyError, apply_document};
use crate::declarative::document::ApplyFile;
use crate::declarative::export::{ExportError, export};
use crate::error::ApiError;
use archway_proto::v1::configuration_service_server::ConfigurationService;
use archway_proto::v1::*;
use tonic::{Request, Response, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

pub struct Configuration {
    state: SharedState,
}

impl Configuration {
    pub fn new(state: SharedState) -> Self {
        Self { state }
    }

    /// Parses the document (once), lets `screen` refuse it, then applies
    /// or plans it.
    async fn run(
        &self,
        req: ApplyConfigurationRequest,
        dry_run: bool,
        screen: impl FnOnce(&ApplyFile) -> Result<(), Status>,
    ) -> Result<Response<ApplyConfigurationResponse>, Status> {
        let request = apply::Request {
            dry_run,
            prune: req.prune,
            expected_revision: req.expected_revision,
            definition_only: false,
        };
        let applied = match apply::parse(&req.document) {
            Ok(doc) => {
                screen(&doc)?;
                apply_document(&self.state, &doc, request).await
            }
            Err(e) => Err(e),
        };
        // The errors of a refused document (a syntax error is one, at no path).
        let errors = match applied {
            Ok(outcome) => {
                return Ok(Response::new(ApplyConfigurationResponse {
                    changes: outcome.changes,
                    applied: outcome.applied,
                    revision: outcome.revision,
                    created_api_keys: outcome.created_keys,
                    errors: Vec::new(),
                }));
            }
            Err(ApplyError::Syntax(syntax)) => vec![DocumentError {
                path: String::new(),
                message: syntax.to_string(),
            }],
            Err(ApplyError::Document(errors)) => errors,
            Err(other) => return Err(not_the_document(other)),
        };
        if !req.errors_in_response {
            return Err(refusal(
                errors,
                tonic::Code::InvalidArgument,
                "set errors_in_response to get every one",
            ));
        }
        Ok(Response::new(ApplyConfigurationResponse {
            errors,
            revision: self.state.store.revision(),
            ..Default::default()
        }))
    }
}

/// Refuses API key values in a document from a caller that is not an
/// admin: a dry run's "another API key has this value" would otherwise
/// tell a read-only token whether a guessed value is a key. A caller with
/// no role passed no token check (auth is off for the path): nothing to
/// protect from it.
///
/// It sees only a document that parses (one that does not has no values to
/// look up: the dry run reports its syntax error).
fn refuse_key_values_unless_admin(
    role: Option<&CallerRole>,
    doc: &ApplyFile,
) -> Result<(), Status> {
    let Some(CallerRole(role)) = role else {
        return Ok(());
    };
    if *role == TokenRole::Admin {
        return Ok(());
    }
    let with_values: Vec<String> = doc
        .api_keys
        .iter()
        .enumerate()
        .filter(|(_, k)| k.value.is_some())
        .map(|(i, _)| format!("api_keys[{i}].value"))
        .collect();
    if with_values.is_empty() {
        return Ok(());
    }
    Err(Status::permission_denied(format!(
        "{} set API key values; only an admin token may send key values (a read-only token could test guesses against the keys). Leave `value` out to diff, or use an admin token",
        with_values.join(", ")
    )))
}

/// The status of a refusal that is not about the document: the store
/// moved since the expected revision, or failed.
pub(crate) fn not_the_document(e: ApplyError) -> Status {
    match e {
        ApplyError::Store(store) => ApiError::Store(store).into(),
        other => Status::failed_precondition(other.to_string()),
    }
}

/// At most this many errors are listed in a status.
const ERRORS_IN_STATUS: usize = 20;
/// Bytes of `grpc-message` for the listed errors (newlines are
/// percent-encoded on the wire, 3 bytes each: within the margin).
const MESSAGE_BUDGET: usize = 1536;
/// Bytes of the encoded BadRequest (base64 on the wire: 4 KiB), so that
/// message and details stay well inside grpcio's 8 KiB of metadata.
const DETAILS_BUDGET: usize = 3072;

/// The status for a refused document: its errors as BadRequest details
/// and message lines, within the metadata budgets; `more` says how to get
/// the ones left out.
pub(crate) fn refusal(errors: Vec<DocumentError>, code: tonic::Code, more: &str) -> Status {
    let violations: Vec<FieldViolation> = errors
        .into_iter()
        .map(|d| FieldViolation::new(d.path, d.message))
        .collect();
    let total = violations.len();
    let mut lines = Vec::new();
    let mut message_len = 0;
    let mut details = Vec::new();
    let mut details_len = 0;
    for v in violations {
        let line = if v.field.is_empty() {
            format!("document: {}", v.description)
        } else {
            format!("{}: {}", v.field, v.description)
        };
        // The field and description, their tags and lengths, the
        // violation's own tag and length.
        let size = v.field.len() + v.description.len() + 10;
        let fits_message =
            lines.len() < ERRORS_IN_STATUS && message_len + line.len() < MESSAGE_BUDGET;
        let fits_details = details.len() < ERRORS_IN_STATUS && details_len + size < DETAILS_BUDGET;
        if !fits_message && !fits_details {
            break;
        }
        if fits_message {
            message_len += line.len() + 1;
            lines.push(line);
        }
        if fits_details {
            details_len += size;
            details.push(v);
        }
    }
    let left_out = total - lines.len();
    let mut message = lines.join("\n");
    if left_out > 0 {
        message.push_str(&format!(
            "\n... and {left_out} more error(s) ({total} in all; {more})"
        ));
    }
    Status::with_error_details(code, message, ErrorDetails::with_bad_request(details))
}

#[tonic::async_trait]
impl ConfigurationService for Configuration {
    async fn apply_configuration(
        &self,
        request: Request<ApplyConfigurationRequest>,
    ) -> Result<Response<ApplyConfigurationResponse>, Status> {
        // Admin tokens only (auth.rs): key values are theirs to send.
        let req = request.into_inner();
        let dry_run = req.dry_run;
        self.run(req, dry_run, |_| Ok(())).await
    }

    async fn diff_configuration(
        &self,
        request: Request<ApplyConfigurationRequest>,
    ) -> Result<Response<ApplyConfigurationResponse>, Status> {
        let role = request.extensions().get::<CallerRole>().cloned();
        let req = request.into_inner();
        self.run(req, true, |doc| {
            refuse_key_values_unless_admin(role.as_ref(), doc)
        })
        .await
    }

    async fn export_configuration(
        &self,
        request: Request<ExportConfigurationRequest>,
    ) -> Result<Response<ExportConfigurationResponse>, Status> {
        let format = request.into_inner().format.to_ascii_lowercase();
        let exported = self.state.read(|view| match export(view) {
            Ok(exported) => Ok(exported),
            Err(ExportError::Store(e)) => Err(ApiError::Store(e)),
            Err(e @ ExportError::SharedNames(_)) => {
                Err(ApiError::FailedPrecondition(e.to_string()))
            }
        })?;
        let doc = &exported.document;
        let document = match format.as_str() {
            "" | "yaml" => doc.to_yaml(),
            "json" => doc.to_json(),
            other => {
                return Err(
                    ApiError::invalid("format", format!("'{other}' is not yaml or json")).into(),
                );
            }
        };
        Ok(Response::new(ExportConfigurationResponse {
            document,
            warnings: exported.warnings,
        }))
    }
}
