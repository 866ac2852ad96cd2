//! `archwayctl apply`, `diff` and `export`: thin clients of the server's
//! ConfigurationService, which parses, plans and applies the whole document
//! in one write. Here: reading the file, asking before a prune deletes,
//! printing the changes, and pointing server errors at line:column in the
//! file.

use super::client::{AdminClient, status_error};
use super::confirm::confirm;
use crate::declarative::document::ApplyFile;
use crate::declarative::locate::Locations;
use anyhow::{Context, bail};
use archway_proto::v1::*;
use std::path::Path;
use tonic_types::StatusExt;

/// What `apply` and `diff` were asked to do.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub dry_run: bool,
    pub prune: bool,
    /// Confirmed on the command line (`--yes`).
    pub yes: bool,
}

/// A document as read from its file.
#[derive(Debug)]
pub struct Document {
    /// The file's text, to point errors at line:column.
    pub text: String,
    /// What is sent: the same document as JSON, which the server reads
    /// several times faster than YAML (the paths of its errors are the
    /// same, so they still map to the file's lines).
    pub json: String,
}

/// Reads a document, refusing one that does not parse with its file,
/// line and column (before anything is sent).
pub fn read_document(file: &Path) -> anyhow::Result<Document> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the apply file {}", file.display()))?;
    match ApplyFile::parse(&text) {
        Ok(parsed) => Ok(Document {
            json: parsed.to_compact_json(),
            text,
        }),
        Err(e) => match (e.line, e.column) {
            (Some(line), Some(column)) => {
                bail!("{}:{line}:{column}: {}", file.display(), e.message)
            }
            _ => bail!("{}: {}", file.display(), e.message),
        },
    }
}

/// Applies (or diffs) `document`, read from `file`; prints the changes.
pub async fn run(
    client: &mut AdminClient,
    file: &Path,
    document: Document,
    mode: Mode,
) -> anyhow::Result<()> {
    let text = document.text;
    let request = |dry_run, expected_revision| ApplyConfigurationRequest {
        document: document.json.clone(),
        dry_run,
        prune: mode.prune,
        expected_revision,
        // Every error, however many (a status carries the first few).
        errors_in_response: true,
    };
    let mut expected_revision = 0;
    if mode.prune && !mode.dry_run {
        // Show what the prune deletes and ask first; then apply only if
        // nothing changed meanwhile, so what was confirmed is what happens.
        let plan = call(client, file, &text, request(true, 0)).await?;
        let deletions: Vec<&ConfigurationChange> = plan
            .changes
            .iter()
            .filter(|c| c.action() == ChangeAction::Delete)
            .collect();
        if !deletions.is_empty() {
            for change in &deletions {
                eprintln!("{}", describe(change));
            }
            confirm(
                &format!(
                    "delete these {} resources, which {} does not have",
                    deletions.len(),
                    file.display()
                ),
                mode.yes,
            )?;
        }
        // Always the dry run's revision, also when it found nothing to
        // delete: what appeared since must make the apply refuse, not be
        // deleted unseen.
        expected_revision = plan.revision;
    }
    let response = call(
        client,
        file,
        &text,
        request(mode.dry_run, expected_revision),
    )
    .await?;
    print(&response, mode);
    Ok(())
}

async fn call(
    client: &mut AdminClient,
    file: &Path,
    text: &str,
    request: ApplyConfigurationRequest,
) -> anyhow::Result<ApplyConfigurationResponse> {
    let result = if request.dry_run {
        client.config.diff_configuration(request).await
    } else {
        client.config.apply_configuration(request).await
    };
    match result {
        Ok(response) => {
            let response = response.into_inner();
            if response.errors.is_empty() {
                Ok(response)
            } else {
                let errors: Vec<(&str, &str)> = response
                    .errors
                    .iter()
                    .map(|e| (e.path.as_str(), e.message.as_str()))
                    .collect();
                Err(located_errors(file, text, &errors))
            }
        }
        Err(status) => Err(document_error(file, text, status)),
    }
}

/// A refused document: each error at its line and column in the file.
fn document_error(file: &Path, text: &str, status: tonic::Status) -> anyhow::Error {
    let violations = status
        .get_details_bad_request()
        .map(|b| b.field_violations)
        .unwrap_or_default();
    if status.code() != tonic::Code::InvalidArgument || violations.is_empty() {
        return status_error("applying the document", status);
    }
    let errors: Vec<(&str, &str)> = violations
        .iter()
        .map(|v| (v.field.as_str(), v.description.as_str()))
        .collect();
    located_errors(file, text, &errors)
}

/// Document errors (path, reason), each at its line and column in the file.
fn located_errors(file: &Path, text: &str, errors: &[(&str, &str)]) -> anyhow::Error {
    let locations = Locations::of(text);
    let lines: Vec<String> = errors
        .iter()
        .map(|(path, message)| {
            let at = match locations.find(path) {
                Some(p) => format!("{}:{}:{}", file.display(), p.line, p.column),
                None => file.display().to_string(),
            };
            if path.is_empty() {
                format!("{at}: {message}")
            } else {
                format!("{at}: {path}: {message}")
            }
        })
        .collect();
    anyhow::anyhow!(
        "{} has {} error(s); nothing was changed. Fix them and apply again:\n{}",
        file.display(),
        lines.len(),
        lines.join("\n")
    )
}

/// One change as a line (`route pets GET /pets: updated`), and each
/// changed field below it (`    integration: {…} -> {…}`).
pub fn describe(change: &ConfigurationChange) -> String {
    let verb = match change.action() {
        ChangeAction::Create => "created",
        ChangeAction::Update => "updated",
        ChangeAction::Delete => "deleted",
        ChangeAction::Keep => "left alone (not in the file; --prune deletes it)",
        ChangeAction::Unspecified => "changed",
    };
    let id = if change.id.is_empty() {
        String::new()
    } else {
        format!(" ({})", change.id)
    };
    let mut line = format!(
        "{} {}{id}: {verb}",
        change.kind.replace('_', " "),
        change.name
    );
    let show = |v: &str| {
        if v.is_empty() {
            "(none)".to_string()
        } else {
            v.to_string()
        }
    };
    for f in &change.fields {
        line.push_str(&format!(
            "\n    {}: {} -> {}",
            f.field,
            show(&f.before),
            show(&f.after)
        ));
    }
    line
}

/// How many resources of one kind left alone are listed one by one.
const KEPT_SHOWN_PER_KIND: usize = 20;

/// The changes made (or, in a dry run, to be made), then what was left
/// alone.
fn print(response: &ApplyConfigurationResponse, mode: Mode) {
    let (kept, acting): (Vec<_>, Vec<_>) = response
        .changes
        .iter()
        .partition(|c| c.action() == ChangeAction::Keep);
    if acting.is_empty() {
        println!("unchanged");
    }
    for change in &acting {
        println!("{}", describe(change));
    }
    for key in &response.created_api_keys {
        println!(
            "api key {} ({}): value {}  (shown only now)",
            key.name, key.id, key.value
        );
    }
    // Everything not in the file is listed, but a store of 100,000 keys
    // the file does not declare should not bury the changes: the first few
    // of each kind, then a count.
    let mut shown_per_kind: std::collections::HashMap<&str, usize> = Default::default();
    for change in &kept {
        let shown = shown_per_kind.entry(change.kind.as_str()).or_default();
        *shown += 1;
        if *shown <= KEPT_SHOWN_PER_KIND {
            println!("{}", describe(change));
        }
    }
    let mut kinds: Vec<(&&str, &usize)> = shown_per_kind.iter().collect();
    kinds.sort();
    for (kind, count) in kinds {
        if *count > KEPT_SHOWN_PER_KIND {
            println!(
                "... and {} more {} left alone (`archwayctl export` lists everything)",
                count - KEPT_SHOWN_PER_KIND,
                kind.replace('_', " ")
            );
        }
    }
    if mode.dry_run {
        println!(
            "dry run: {} change(s) listed; nothing was changed",
            acting.len()
        );
    } else if response.applied {
        println!(
            "applied {} change(s) as configuration version {}",
            acting.len(),
            response.revision
        );
    }
}

/// `archwayctl export`: the current state as a document.
pub async fn export(
    client: &mut AdminClient,
    output: Option<&Path>,
    format: &str,
) -> anyhow::Result<()> {
    let exported = client
        .config
        .export_configuration(ExportConfigurationRequest {
            format: format.to_owned(),
        })
        .await
        .map_err(|s| status_error("exporting", s))?
        .into_inner();
    // On stderr, so `export > file` keeps only the document.
    for warning in &exported.warnings {
        eprintln!("warning: {warning}");
    }
    let document = exported.document;
    match output {
        Some(path) => std::fs::write(path, &document)
            .with_context(|| format!("writing {}", path.display()))?,
        None => print!("{document}"),
    }
    Ok(())
}
