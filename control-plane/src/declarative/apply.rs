//! Applying a document: parse, plan against one version of the store and,
//! unless it is a dry run, commit the plan's writes as one store batch and
//! publish the result to the fleet as one configuration version.

use super::document::{ApplyFile, SyntaxError};
use super::plan::{self, Options, Plan, PlanError, Write, error_lines};
use crate::api::ControlPlaneState;
use crate::store::StoreError;
use archway_proto::v1::{ConfigurationChange, CreatedApiKey, DocumentError};

/// What an apply (or dry run) did.
#[derive(Debug)]
pub struct Outcome {
    pub changes: Vec<ConfigurationChange>,
    /// Whether a write was committed.
    pub applied: bool,
    /// The store revision after the call.
    pub revision: u64,
    pub created_keys: Vec<CreatedApiKey>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("document: {0}")]
    Syntax(SyntaxError),
    #[error("{}", error_lines(.0))]
    Document(Vec<DocumentError>),
    /// The store moved on from the revision the caller reviewed.
    #[error(
        "the configuration changed since revision {expected} (it is at {actual}); review the changes again"
    )]
    Moved { expected: u64, actual: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<PlanError> for ApplyError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Document(errors) => Self::Document(errors),
            PlanError::Store(e) => Self::Store(e),
        }
    }
}

/// How to apply a document.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request {
    /// Plan only.
    pub dry_run: bool,
    /// Delete what the document does not have.
    pub prune: bool,
    /// Apply only at this store revision (0: any).
    pub expected_revision: u64,
    /// Only the APIs' definitions (see [`Options::definition_only`]).
    pub definition_only: bool,
}

/// Parses a document, once: the caller may look at it before applying it.
pub fn parse(text: &str) -> Result<ApplyFile, ApplyError> {
    let started = std::time::Instant::now();
    let doc = ApplyFile::parse(text).map_err(ApplyError::Syntax)?;
    tracing::debug!(
        parse_ms = started.elapsed().as_millis() as u64,
        bytes = text.len(),
        "parsed configuration document"
    );
    Ok(doc)
}

/// Applies a parsed document (or, with `dry_run`, only plans it).
pub async fn apply_document(
    state: &ControlPlaneState,
    doc: &ApplyFile,
    request: Request,
) -> Result<Outcome, ApplyError> {
    let options = Options {
        prune: request.prune,
        dry_run: request.dry_run,
        definition_only: request.definition_only,
    };
    if request.dry_run {
        let view = state.store.view();
        let plan = plan::plan(&view, doc, options)?;
        return Ok(Outcome {
            changes: plan.changes,
            applied: false,
            revision: view.revision(),
            created_keys: Vec::new(),
        });
    }
    let started = std::time::Instant::now();
    let mut planned = std::time::Duration::ZERO;
    let (plan, revision) = state
        .store
        .write(|txn| {
            let actual = txn.revision();
            if request.expected_revision != 0 && request.expected_revision != actual {
                return Err(ApplyError::Moved {
                    expected: request.expected_revision,
                    actual,
                });
            }
            let plan: Plan = plan::plan(txn, doc, options)?;
            planned = started.elapsed();
            for write in &plan.writes {
                match write {
                    Write::Put(key, value) => txn.put_raw(key, value),
                    Write::Delete(key) => txn.delete(key),
                }
            }
            Ok::<_, ApplyError>(plan)
        })
        .await?;
    let committed = started.elapsed();
    let applied = !plan.writes.is_empty();
    if applied {
        state.distribution.sync(&state.store)?;
    }
    tracing::info!(
        changes = plan.changes.len(),
        writes = plan.writes.len(),
        revision,
        plan_ms = planned.as_millis() as u64,
        commit_ms = committed.as_millis() as u64,
        total_ms = started.elapsed().as_millis() as u64,
        "applied configuration document"
    );
    Ok(Outcome {
        changes: plan.changes,
        applied,
        revision,
        created_keys: plan.created_keys,
    })
}
