//! `archwayctl sdk`: the client package GetSdk generates for a stage,
//! written file by file under a folder.

use super::client::{AdminClient, status_error};
use super::resolve;
use anyhow::{Context, bail};
use archway_proto::v1::GetSdkRequest;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct SdkArgs {
    /// The API's id or name.
    pub api_id: String,
    /// The deployed stage the client calls.
    #[arg(long)]
    pub stage: String,
    /// The client's language.
    #[arg(long, value_parser = ["typescript", "python", "rust"])]
    pub lang: String,
    /// The folder the package is written to (made when missing; files of
    /// the same names are replaced).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// The URL the client calls by default (default: the stage's URL).
    #[arg(long)]
    pub base_url: Option<String>,
    /// The package's name (default: the API's name in the language's style).
    #[arg(long)]
    pub package_name: Option<String>,
}

/// Where `relative` goes under `root`: only plain names, so no file the
/// server names lands outside the folder.
fn under(root: &Path, relative: &str) -> anyhow::Result<PathBuf> {
    let path = Path::new(relative);
    if relative.is_empty() || !path.components().all(|c| matches!(c, Component::Normal(_))) {
        bail!("the server named a file '{relative}' outside the package: nothing written");
    }
    Ok(root.join(path))
}

pub async fn run(client: &mut AdminClient, args: SdkArgs) -> anyhow::Result<()> {
    let api_id = resolve::api_id(client, &args.api_id).await?;
    let response = client
        .openapi
        .get_sdk(GetSdkRequest {
            api_id,
            stage_name: args.stage.clone(),
            sdk_type: args.lang.clone(),
            base_url: args.base_url.unwrap_or_default(),
            package_name: args.package_name.unwrap_or_default(),
        })
        .await
        .map_err(|s| status_error("generating the SDK", s))?
        .into_inner();
    // Every path is checked before anything is written.
    let files = response
        .files
        .iter()
        .map(|f| Ok((under(&args.output, &f.path)?, &f.content)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for (path, content) in &files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot make the folder {}", parent.display()))?;
        }
        std::fs::write(path, content)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    for warning in &response.warnings {
        eprintln!("warning: {warning}");
    }
    println!(
        "wrote the {} SDK of stage {} ({} files) to {}",
        args.lang,
        args.stage,
        files.len(),
        args.output.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_stay_inside_the_output_folder() {
        let root = Path::new("/out");
        assert_eq!(
            under(root, "src/index.ts").unwrap(),
            Path::new("/out/src/index.ts")
        );
        for outside in ["../x", "/etc/passwd", "src/../../x", "", "./x"] {
            assert!(under(root, outside).is_err(), "{outside}");
        }
    }
}
