//! `archwayctl export API`: an API as an OpenAPI 3.0 or Swagger 2.0
//! document (GetExport), to stdout or a file, warnings on stderr.

use super::client::{AdminClient, status_error};
use anyhow::Context;
use archway_proto::v1::GetExportRequest;
use std::path::Path;

pub async fn run(
    client: &mut AdminClient,
    request: GetExportRequest,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let what = if request.stage_name.is_empty() {
        format!("API '{}'", request.api_id)
    } else {
        format!("stage '{}' of API '{}'", request.stage_name, request.api_id)
    };
    let exported = client
        .openapi
        .get_export(request)
        .await
        .map_err(|s| status_error(&format!("exporting {what}"), s))?
        .into_inner();
    // On stderr, so `export API > file` keeps only the document.
    for warning in &exported.warnings {
        eprintln!("warning: {warning}");
    }
    let mut body = exported.body;
    if !body.ends_with('\n') {
        body.push('\n');
    }
    match output {
        Some(path) => {
            std::fs::write(path, &body).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{body}"),
    }
    Ok(())
}
