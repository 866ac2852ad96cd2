//! `archwayctl import`: an OpenAPI / Swagger file into an API, through
//! `ImportRestApi` (new API) or `PutRestApi` (`--api`). The file is parsed
//! here first, with the server's own reader: a syntax error is shown as
//! `file:line:column` before anything is sent, and a YAML file travels as
//! compact JSON, which the server reads several times faster. Progress
//! lines go to stderr, so a large file never looks stuck.

use super::apply::describe;
use super::client::{AdminClient, status_error};
use super::resolve;
use crate::openapi::import::source;
use anyhow::{Context, bail};
use archway_proto::v1::*;
use std::path::Path;
use std::time::Instant;

/// What `import` was asked to do.
#[derive(Debug)]
pub struct Request<'a> {
    pub file: &'a Path,
    pub api: Option<&'a str>,
    pub mode: &'a str,
    pub protocol: &'a str,
    pub options: ImportOptions,
}

pub async fn run(client: &mut AdminClient, request: Request<'_>) -> anyhow::Result<()> {
    let started = Instant::now();
    let file = request.file;
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the OpenAPI file {}", file.display()))?;
    eprintln!("reading {} ({})", file.display(), size(text.len()));
    let tree = source::parse(&text).map_err(|e| match (e.line, e.column) {
        (Some(line), Some(column)) => {
            anyhow::anyhow!("{}:{line}:{column}: {}", file.display(), e.message)
        }
        _ => anyhow::anyhow!("{}: {}", file.display(), e.message),
    })?;
    let operations = count_operations(&tree);
    let body = if text.trim_start().starts_with('{') {
        text
    } else {
        serde_json::to_string(&tree).context("re-encoding the document as JSON")?
    };
    eprintln!(
        "parsed in {} ms: {operations} operations; {} the API...",
        started.elapsed().as_millis(),
        if request.options.dry_run {
            "planning"
        } else {
            "importing"
        }
    );
    let sent = Instant::now();
    let dry_run = request.options.dry_run;
    let answer = match request.api {
        None => client
            .openapi
            .import_rest_api(ImportRestApiRequest {
                body,
                options: Some(request.options),
                protocol: request.protocol.to_owned(),
            })
            .await
            .map_err(|s| status_error("importing the API", s))?,
        Some(api) => {
            let api_id = resolve::api_id(client, api).await?;
            client
                .openapi
                .put_rest_api(PutRestApiRequest {
                    api_id,
                    body,
                    mode: request.mode.to_owned(),
                    options: Some(request.options),
                })
                .await
                .map_err(|s| status_error("updating the API", s))?
        }
    }
    .into_inner();
    for warning in &answer.warnings {
        let at = if warning.pointer.is_empty() {
            "/"
        } else {
            &warning.pointer
        };
        eprintln!("warning: {at}: {}", warning.message);
    }
    let shown = answer
        .changes
        .iter()
        .filter(|c| c.action() != ChangeAction::Keep)
        .collect::<Vec<_>>();
    for change in &shown {
        println!("{}", describe(change));
    }
    let what = match (dry_run, answer.applied) {
        (true, _) => "planned (dry run: nothing changed)".to_owned(),
        (false, true) => format!("imported API {}", answer.api_id),
        (false, false) => format!("API {} unchanged", answer.api_id),
    };
    eprintln!(
        "{what}: {} changes, {} warnings, revision {}, {} ms on the server ({} ms in all)",
        shown.len(),
        answer.warnings.len(),
        answer.revision,
        sent.elapsed().as_millis(),
        started.elapsed().as_millis()
    );
    if !dry_run && answer.applied && request.api.is_none() {
        eprintln!(
            "deploy it to serve it: archwayctl deploy {} --stage STAGE --create-stage",
            answer.api_id
        );
    }
    if answer.api_id.is_empty() && !dry_run {
        bail!("the control plane answered without an API id");
    }
    Ok(())
}

/// The operations of a document (for the progress line).
fn count_operations(tree: &serde_json::Value) -> usize {
    tree.get("paths")
        .and_then(serde_json::Value::as_object)
        .map_or(0, |paths| {
            paths
                .values()
                .filter_map(serde_json::Value::as_object)
                .map(|item| {
                    item.keys()
                        .filter(|k| {
                            crate::openapi::mapping::VERBS.contains(&k.as_str())
                                || *k == crate::openapi::mapping::ANY_METHOD
                        })
                        .count()
                })
                .sum()
        })
}

fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MB", bytes as f64 / (1 << 20) as f64)
    } else {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    }
}
