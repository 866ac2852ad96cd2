//! `archwayctl`, the operator CLI: declarative `apply`, plus get, delete,
//! deploy, rollback and promote over the gRPC admin API.

pub mod apply;
pub mod client;
pub mod confirm;
pub mod failover;
pub mod get;
pub mod iam;
pub mod import;
pub mod openapi_export;
pub mod output;
pub mod resolve;
pub mod sdk;

use anyhow::{Context, bail};
use archway_proto::v1::*;
use clap::{Parser, Subcommand};
use client::{AdminClient, mask, status_error};
use get::GetCommand;

#[derive(Debug, Parser)]
#[command(name = "archwayctl", version, about = "Operate an Archway API gateway")]
pub struct Cli {
    /// The control plane's admin API, or several replicas' separated by
    /// commas: the first that answers is used, and a call moves to the next
    /// when its replica cannot be reached (reads also when it fails
    /// mid-call).
    #[arg(long, env = "ARCHWAY_SERVER", default_value = "http://127.0.0.1:7070")]
    pub server: String,
    /// Admin API token (default: read from --token-file).
    #[arg(long, env = "ARCHWAY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// File holding the token; by default the all-in-one's
    /// archway-data/control-plane/admin-token when it exists.
    #[arg(long, env = "ARCHWAY_TOKEN_FILE")]
    pub token_file: Option<std::path::PathBuf>,
    /// CA certificates (PEM) to trust for an https:// server, besides the
    /// OS roots.
    #[arg(long, env = "ARCHWAY_CA_FILE")]
    pub ca_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make the control plane match a YAML (or JSON) document: all of it in
    /// one atomic change, or nothing (idempotent; prints every change).
    Apply {
        #[arg(short = 'f', long = "file")]
        file: std::path::PathBuf,
        /// Show what would change; change nothing (as `diff`).
        #[arg(long)]
        dry_run: bool,
        /// Delete resources the file does not have (asks first).
        #[arg(long)]
        prune: bool,
        /// Confirm the prune's deletions without asking (for scripts).
        #[arg(long)]
        yes: bool,
    },
    /// Show what `apply -f FILE` would change, changing nothing.
    Diff {
        #[arg(short = 'f', long = "file")]
        file: std::path::PathBuf,
        /// Include the deletions `apply --prune` would make.
        #[arg(long)]
        prune: bool,
    },
    /// Write the current state as a document `apply` accepts, or, given an
    /// API, that API as an OpenAPI 3.0 or Swagger 2.0 document.
    ///
    /// Without an API: the file records the working copy (the API
    /// definitions as they are now), not which deployment each stage
    /// serves. Applying it deploys the working copy to every stage that
    /// serves something else: it undoes a rollback (a stage with a canary
    /// gets it as its canary). Routes the file cannot say (no integration)
    /// are left out, with a warning on stderr; names shared by two plans,
    /// keys or authorizers of one API refuse the export.
    ///
    /// With an API: `archwayctl export API --stage prod --type oas30
    /// --extensions apigateway -o api.json` writes the API as the stage's
    /// deployment serves it (without --stage: as currently defined), with
    /// AWS's `x-amazon-apigateway-*` extensions as asked; what the document
    /// leaves out is warned about on stderr.
    Export {
        /// The API (id or name) to export as OpenAPI; none: the whole
        /// configuration as an `apply` document.
        api: Option<String>,
        /// The stage whose deployment is exported (OpenAPI only); none:
        /// the API as currently defined.
        #[arg(long, requires = "api")]
        stage: Option<String>,
        /// oas30 or swagger (OpenAPI only).
        #[arg(long = "type", requires = "api", default_value = "oas30", value_parser = ["oas30", "swagger"])]
        export_type: String,
        /// Comma-separated: integrations, authorizers, apigateway (every
        /// extension), postman (examples) (OpenAPI only).
        #[arg(long, requires = "api", default_value = "")]
        extensions: String,
        /// Write to this file instead of stdout.
        #[arg(short = 'o', long = "output")]
        output: Option<std::path::PathBuf>,
        /// yaml or json; default yaml for the configuration, json for an
        /// OpenAPI document.
        #[arg(long, value_parser = ["yaml", "json"])]
        format: Option<String>,
    },
    /// Create an API from an OpenAPI 3.0/3.1 or Swagger 2.0 document (JSON
    /// or YAML, with AWS's x-amazon-apigateway-* extensions), or update one
    /// with --api. One atomic change; stages keep serving until you deploy.
    /// What Archway cannot honour is printed as warnings with their JSON
    /// pointers.
    Import {
        #[arg(short = 'f', long = "file")]
        file: std::path::PathBuf,
        /// Update this API (id or name) instead of creating one.
        #[arg(long)]
        api: Option<String>,
        /// With --api: merge (add and update what the file has) or
        /// overwrite (the API becomes what the file says).
        #[arg(long, default_value = "merge")]
        mode: String,
        /// Show what would change and the warnings; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Refuse the import when there is any warning.
        #[arg(long)]
        fail_on_warnings: bool,
        /// REST or HTTP for a new API (default REST, or HTTP for a file
        /// with x-amazon-apigateway-importexport-version).
        #[arg(long, default_value = "")]
        protocol: String,
        /// ignore the base path (default) or prepend it to every path.
        #[arg(long, default_value = "ignore")]
        basepath: String,
    },
    /// Show resources: a table, or YAML or JSON with `-o`. Names are
    /// accepted wherever an id is.
    Get {
        /// table, yaml or json.
        #[arg(short = 'o', long, value_enum, default_value_t, global = true)]
        output: output::Format,
        #[command(subcommand)]
        what: GetCommand,
    },
    /// Delete resources.
    Delete {
        #[command(subcommand)]
        what: DeleteCommand,
    },
    /// Deploy the API's current definition to a stage.
    Deploy {
        /// The API's id or name.
        api_id: String,
        /// An existing stage of the API (see --create-stage).
        #[arg(long)]
        stage: String,
        /// Create the stage when the API has none of that name (without it
        /// an unknown stage is refused, so a typo never goes live).
        #[arg(long)]
        create_stage: bool,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Point a stage back at an earlier deployment: by default the one this
    /// stage served before (its own history, never another stage's
    /// deployment); again to go back further.
    Rollback {
        api_id: String,
        #[arg(long)]
        stage: String,
        #[arg(long)]
        to: Option<String>,
    },
    /// Make a stage's canary deployment its main deployment.
    Promote {
        api_id: String,
        #[arg(long)]
        stage: String,
        /// Promote even when the canary's deployment is older than the
        /// stage's (which rolls the stage back).
        #[arg(long)]
        force: bool,
    },
    /// Set a stage's cache (AWS's cache cluster) without a redeploy.
    StageCache {
        api_id: String,
        #[arg(long)]
        stage: String,
        /// Turn the cache on (true) or off (false).
        #[arg(long)]
        enabled: Option<bool>,
        /// Capacity per node in megabytes, one of AWS's cluster sizes
        /// (0.5, 1.6, 6.1, 13.5, 28.4, 58.2, 118, 237).
        #[arg(long)]
        size: Option<String>,
        /// How long responses are kept, 0 to 3600 seconds.
        #[arg(long)]
        ttl_seconds: Option<u32>,
    },
    /// Drop every cached response of a stage on every node.
    FlushStageCache {
        api_id: String,
        #[arg(long)]
        stage: String,
    },
    /// API keys.
    Keys {
        #[command(subcommand)]
        what: KeysCommand,
    },
    /// Usage plans.
    Plans {
        #[command(subcommand)]
        what: PlansCommand,
    },
    /// IAM users, roles, access keys and temporary credentials, for
    /// methods with authorization AWS_IAM.
    Iam {
        #[command(subcommand)]
        what: iam::IamCommand,
    },
    /// Tokens for the admin API and for nodes.
    Tokens {
        #[command(subcommand)]
        what: TokensCommand,
    },
    /// Requests per key and day of a usage plan.
    Usage {
        plan_id: String,
        #[arg(long)]
        key: Option<String>,
        /// First day, YYYY-MM-DD (default: today, UTC).
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (default: today, UTC).
        #[arg(long)]
        to: Option<String>,
        /// Start the key's quota period over instead of showing usage.
        #[arg(long, requires = "key")]
        reset: bool,
    },
    /// Generate a client package (TypeScript, Python or Rust) for an API
    /// as deployed to a stage, with its models, URL and auth.
    Sdk(sdk::SdkArgs),
    /// Print a shell completion script, e.g.
    /// `archwayctl completion bash > /etc/bash_completion.d/archwayctl`,
    /// `archwayctl completion zsh > "${fpath[1]}/_archwayctl"`,
    /// `archwayctl completion fish > ~/.config/fish/completions/archwayctl.fish`.
    Completion { shell: clap_complete::Shell },
    /// Work on a store directly, with no control plane running on it.
    Store {
        #[command(subcommand)]
        what: StoreCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; its value is printed once.
    Create {
        name: String,
        /// Import this value instead of generating one.
        #[arg(long)]
        value: Option<String>,
        /// Add the key to this usage plan.
        #[arg(long)]
        plan: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Import keys from a CSV file (header: name,key[,description][,enabled][,usageplanIds]).
    Import { file: std::path::PathBuf },
    /// The keys (as `get keys`).
    List,
    /// Enable a key (by id or name).
    Enable { key_id: String },
    /// Disable a key (by id or name).
    Disable { key_id: String },
    /// Rename a key or change its description; only what is given changes.
    Update {
        key_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    Delete {
        key_id: String,
        /// Do not ask (for scripts).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token; its secret is printed once.
    Create {
        name: String,
        /// admin, read-only or node.
        #[arg(long, default_value = "read-only")]
        role: String,
    },
    List,
    Delete {
        id: String,
        /// Do not ask (for scripts).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PlansCommand {
    Create {
        #[arg(long)]
        name: String,
        /// API stages the plan covers, as API_ID:STAGE (repeatable).
        #[arg(long = "stage", required = true)]
        stages: Vec<String>,
        /// Requests per second per key.
        #[arg(long)]
        rate: Option<f64>,
        #[arg(long)]
        burst: Option<u32>,
        /// Requests per key per period.
        #[arg(long)]
        quota: Option<u64>,
        /// DAY, WEEK or MONTH.
        #[arg(long, default_value = "DAY")]
        period: String,
    },
    /// The plans (as `get plans`).
    List,
    /// Change a plan (by id or name); only what is given changes.
    Update {
        plan_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// Requests per second per key (with --burst).
        #[arg(long)]
        rate: Option<f64>,
        #[arg(long, requires = "rate")]
        burst: Option<u32>,
        /// Requests per key per period (with --period).
        #[arg(long)]
        quota: Option<u64>,
        /// DAY, WEEK or MONTH.
        #[arg(long, requires = "quota")]
        period: Option<String>,
        /// Remove the plan's throttle.
        #[arg(long, conflicts_with = "rate")]
        no_throttle: bool,
        /// Remove the plan's quota.
        #[arg(long, conflicts_with = "quota")]
        no_quota: bool,
    },
    Delete {
        plan_id: String,
        /// Do not ask (for scripts).
        #[arg(long)]
        yes: bool,
    },
    AddKey {
        plan_id: String,
        key_id: String,
    },
    RemoveKey {
        plan_id: String,
        key_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeleteCommand {
    /// An API with its routes, authorizers, deployments and stages.
    Api {
        api_id: String,
        /// Do not ask (for scripts).
        #[arg(long)]
        yes: bool,
    },
    Stage {
        api_id: String,
        stage: String,
        /// Do not ask (for scripts).
        #[arg(long)]
        yes: bool,
    },
    Deployment {
        api_id: String,
        deployment_id: String,
        /// Do not ask (for scripts).
        #[arg(long)]
        yes: bool,
    },
}

/// Writes the completion script for `shell` to stdout. Generated into a
/// buffer first: clap_complete panics on a failed write, and a reader that
/// stops early (`| head`) is no error.
fn print_completion(shell: clap_complete::Shell) -> anyhow::Result<()> {
    use clap::CommandFactory;
    use std::io::Write;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "archwayctl", &mut script);
    match std::io::stdout().lock().write_all(&script) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("writing the completion script")
        }
        _ => Ok(()),
    }
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy a whole store into an empty one, e.g. from one control plane's
    /// sled folder to etcd for several replicas: identity, revision and
    /// every record as they are, then both read back and compared by count
    /// and SHA-256. Stop the source's control plane first.
    Copy {
        /// sled:DATA_DIR (the control plane's --data-dir) or etcd://HOST:PORT[,...][/PREFIX]
        #[arg(long)]
        from: crate::store::copy::Location,
        /// The empty destination, in the same forms.
        #[arg(long)]
        to: crate::store::copy::Location,
    },
}

/// Where the all-in-one mode (run from the repository) keeps its admin token.
const DEFAULT_TOKEN_FILE: &str = "archway-data/control-plane/admin-token";

/// Runs one CLI command, printing its result to stdout.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Completion { shell } => return print_completion(*shell),
        Command::Store {
            what: StoreCommand::Copy { from, to },
        } => {
            let summary = crate::store::copy::copy(from, to).await?;
            println!("copied {from} to {to}: {summary}; read back and verified");
            return Ok(());
        }
        _ => {}
    }
    // A file that does not parse is reported (with its line and column)
    // before anything else, even with no server.
    let document = match &cli.command {
        Command::Apply { file, .. } | Command::Diff { file, .. } => {
            Some(apply::read_document(file)?)
        }
        _ => None,
    };
    let token = match (&cli.token, &cli.token_file) {
        (Some(token), _) => Some(token.clone()),
        (None, Some(file)) => Some(
            std::fs::read_to_string(file)
                .with_context(|| {
                    format!(
                        "cannot read the token file {} (--token-file or ARCHWAY_TOKEN_FILE)",
                        file.display()
                    )
                })?
                .trim()
                .to_owned(),
        ),
        (None, None) => std::fs::read_to_string(DEFAULT_TOKEN_FILE)
            .ok()
            .map(|t| t.trim().to_owned()),
    };
    // Every admin call needs a token: say so before the server does.
    let token = token.filter(|t| !t.is_empty()).with_context(|| {
        format!(
            "no admin token: pass --token or set ARCHWAY_TOKEN, or --token-file \
             (a new control plane writes one to DATA_DIR/admin-token; \
             {DEFAULT_TOKEN_FILE} is read when it exists)"
        )
    })?;
    let ca = cli
        .ca_file
        .as_deref()
        .map(crate::tls::read_ca_pem)
        .transpose()?;
    let mut client = AdminClient::connect_with_ca(&cli.server, Some(&token), ca.as_deref()).await?;
    match cli.command {
        Command::Keys { what } => keys(&mut client, what).await?,
        Command::Plans { what } => plans(&mut client, what).await?,
        Command::Tokens { what } => tokens(&mut client, what).await?,
        Command::Iam { what } => iam::run(&mut client, what).await?,
        Command::Sdk(args) => sdk::run(&mut client, args).await?,
        Command::Usage {
            plan_id,
            key,
            from,
            to,
            reset,
        } => {
            if reset {
                let key = key.expect("clap requires --key with --reset");
                reset_usage(&client, &plan_id, &key).await?;
            } else {
                let what = GetCommand::Usage {
                    plan: plan_id,
                    key,
                    from,
                    to,
                };
                get::run(&client, what, output::Format::Table).await?;
            }
        }
        Command::Apply {
            file,
            dry_run,
            prune,
            yes,
        } => {
            let text = document.expect("read above");
            let mode = apply::Mode {
                dry_run,
                prune,
                yes,
            };
            apply::run(&mut client, &file, text, mode).await?;
        }
        Command::Diff { file, prune } => {
            let text = document.expect("read above");
            let mode = apply::Mode {
                dry_run: true,
                prune,
                yes: false,
            };
            apply::run(&mut client, &file, text, mode).await?;
        }
        Command::Import {
            file,
            api,
            mode,
            dry_run,
            fail_on_warnings,
            protocol,
            basepath,
        } => {
            let request = import::Request {
                file: &file,
                api: api.as_deref(),
                mode: &mode,
                protocol: &protocol,
                options: ImportOptions {
                    fail_on_warnings,
                    dry_run,
                    basepath,
                },
            };
            import::run(&mut client, request).await?;
        }
        Command::Export {
            api: None,
            output,
            format,
            ..
        } => {
            let format = format.as_deref().unwrap_or("yaml");
            apply::export(&mut client, output.as_deref(), format).await?;
        }
        Command::Export {
            api: Some(api),
            stage,
            export_type,
            extensions,
            output,
            format,
        } => {
            let request = GetExportRequest {
                api_id: resolve::api_id(&client, &api).await?,
                stage_name: stage.unwrap_or_default(),
                export_type,
                extensions,
                format: format.unwrap_or_else(|| "json".into()),
            };
            openapi_export::run(&mut client, request, output.as_deref()).await?;
        }
        Command::Get { output, what } => get::run(&client, what, output).await?,
        Command::Delete { what } => delete(&mut client, what).await?,
        Command::Deploy {
            api_id,
            stage,
            create_stage,
            description,
        } => {
            let api_id = resolve::api_id(&client, &api_id).await?;
            let deployment = client
                .deployments
                .create_deployment(CreateDeploymentRequest {
                    api_id,
                    description,
                    stage_name: stage.clone(),
                    create_stage,
                })
                .await
                .map_err(|s| status_error("deploying", s))?
                .into_inner();
            println!("deployment {} serves stage {stage}", deployment.id);
        }
        Command::Rollback { api_id, stage, to } => {
            let api_id = resolve::api_id(&client, &api_id).await?;
            let mut current = get_stage(&mut client, &api_id, &stage).await?;
            let target = match to {
                Some(id) => id,
                None => previous_deployment(&api_id, &current)?,
            };
            let from = std::mem::replace(&mut current.deployment_id, target.clone());
            client
                .deployments
                .update_stage(UpdateStageRequest {
                    stage: Some(current),
                    update_mask: mask(&["deployment_id"]),
                })
                .await
                .map_err(|s| status_error("rolling back", s))?;
            println!("stage {stage}: {from} -> {target}");
        }
        Command::StageCache {
            api_id,
            stage,
            enabled,
            size,
            ttl_seconds,
        } => {
            let api_id = resolve::api_id(&client, &api_id).await?;
            let mut paths = Vec::new();
            let mut change = Stage {
                api_id,
                stage_name: stage.clone(),
                ..Default::default()
            };
            if let Some(enabled) = enabled {
                change.cache_cluster_enabled = enabled;
                paths.push("cache_cluster_enabled");
            }
            if let Some(size) = size {
                change.cache_cluster_size = size;
                paths.push("cache_cluster_size");
            }
            if ttl_seconds.is_some() {
                change.cache_ttl_seconds = ttl_seconds;
                paths.push("cache_ttl_seconds");
            }
            if paths.is_empty() {
                bail!("nothing to change: pass --enabled, --size or --ttl-seconds");
            }
            let updated = client
                .deployments
                .update_stage(UpdateStageRequest {
                    stage: Some(change),
                    update_mask: mask(&paths),
                })
                .await
                .map_err(|s| status_error("updating the stage cache", s))?
                .into_inner();
            println!(
                "stage {stage}: cache {} (size {} MB, ttl {} s)",
                if updated.cache_cluster_enabled {
                    "on"
                } else {
                    "off"
                },
                if updated.cache_cluster_size.is_empty() {
                    archway_proto::rules::stage_cache::DEFAULT_CLUSTER_SIZE
                } else {
                    &updated.cache_cluster_size
                },
                updated
                    .cache_ttl_seconds
                    .unwrap_or(archway_proto::rules::stage_cache::DEFAULT_TTL_SECONDS)
            );
        }
        Command::FlushStageCache { api_id, stage } => {
            let api_id = resolve::api_id(&client, &api_id).await?;
            let flushed = client
                .deployments
                .flush_stage_cache(GetStageRequest {
                    api_id,
                    stage_name: stage.clone(),
                })
                .await
                .map_err(|s| status_error("flushing the stage cache", s))?
                .into_inner();
            println!(
                "stage {stage}: cache flushed (generation {})",
                flushed.cache_flush_generation
            );
        }
        Command::Promote {
            api_id,
            stage,
            force,
        } => {
            let api_id = resolve::api_id(&client, &api_id).await?;
            // The server refuses a canary older than the stage's deployment
            // (it would roll the stage back) unless `force`.
            let promoted = client
                .deployments
                .promote_canary(PromoteCanaryRequest {
                    api_id,
                    stage_name: stage.clone(),
                    force,
                })
                .await
                .map_err(|s| status_error("promoting", s))?
                .into_inner();
            println!("stage {stage}: now serves {}", promoted.deployment_id);
        }
        Command::Completion { .. } | Command::Store { .. } => {
            unreachable!("answered before connecting")
        }
    }
    Ok(())
}

pub(crate) async fn get_stage(
    client: &mut AdminClient,
    api_id: &str,
    stage: &str,
) -> anyhow::Result<Stage> {
    Ok(client
        .deployments
        .get_stage(GetStageRequest {
            api_id: api_id.into(),
            stage_name: stage.into(),
        })
        .await
        .map_err(|s| status_error("reading the stage", s))?
        .into_inner())
}

/// The newest deployment older than `current`.
/// What `rollback` points the stage at without `--to`: the deployment it
/// served before the current one, as the control plane recorded it for this
/// stage (a deployment made for another stage is never picked).
fn previous_deployment(api_id: &str, stage: &Stage) -> anyhow::Result<String> {
    stage
        .previous_deployment_ids
        .first()
        .cloned()
        .with_context(|| {
            format!(
                "stage '{}' has no earlier deployment of its own to roll back to \
             (none that still exists, or it was rolled back as far as its history goes): \
             pass --to ID (archwayctl get deployments {api_id} lists them)",
                stage.stage_name
            )
        })
}

async fn delete(client: &mut AdminClient, what: DeleteCommand) -> anyhow::Result<()> {
    match what {
        DeleteCommand::Api { api_id, yes } => {
            let api_id = resolve::api_id(client, &api_id).await?;
            confirm::confirm(
                &format!(
                    "delete API '{api_id}' with its routes, authorizers, deployments and stages"
                ),
                yes,
            )?;
            client
                .apis
                .delete_rest_api(DeleteRestApiRequest {
                    api_id: api_id.clone(),
                })
                .await
                .map_err(|s| status_error("deleting the API", s))?;
            println!("api {api_id}: deleted");
        }
        DeleteCommand::Stage { api_id, stage, yes } => {
            let api_id = resolve::api_id(client, &api_id).await?;
            confirm::confirm(
                &format!("delete stage '{stage}' of API '{api_id}' (it stops serving)"),
                yes,
            )?;
            client
                .deployments
                .delete_stage(GetStageRequest {
                    api_id,
                    stage_name: stage.clone(),
                })
                .await
                .map_err(|s| status_error("deleting the stage", s))?;
            println!("stage {stage}: deleted");
        }
        DeleteCommand::Deployment {
            api_id,
            deployment_id,
            yes,
        } => {
            let api_id = resolve::api_id(client, &api_id).await?;
            confirm::confirm(
                &format!("delete deployment '{deployment_id}' of API '{api_id}'"),
                yes,
            )?;
            client
                .deployments
                .delete_deployment(GetDeploymentRequest {
                    api_id,
                    deployment_id: deployment_id.clone(),
                })
                .await
                .map_err(|s| status_error("deleting the deployment", s))?;
            println!("deployment {deployment_id}: deleted");
        }
    }
    Ok(())
}

async fn keys(client: &mut AdminClient, what: KeysCommand) -> anyhow::Result<()> {
    match what {
        KeysCommand::Create {
            name,
            value,
            plan,
            description,
        } => {
            let plan_id = match plan {
                Some(plan) => Some(resolve::plan_id(client, &plan).await?),
                None => None,
            };
            let plans = &mut client.plans;
            let key = plans
                .create_api_key(CreateApiKeyRequest {
                    name,
                    description,
                    value: value.unwrap_or_default(),
                    enabled: Some(true),
                })
                .await
                .map_err(|s| status_error("creating the key", s))?
                .into_inner();
            if let Some(plan_id) = plan_id {
                plans
                    .add_key_to_plan(UsagePlanKeyRequest {
                        usage_plan_id: plan_id,
                        key_id: key.id.clone(),
                    })
                    .await
                    .map_err(|s| status_error("adding the key to the plan", s))?;
            }
            println!("id     {}", key.id);
            println!("value  {}   (shown once: keep it now)", key.value);
        }
        KeysCommand::Import { file } => {
            let csv = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let items = client
                .plans
                .import_api_keys(ImportApiKeysRequest { csv })
                .await
                .map_err(|s| status_error("importing keys", s))?
                .into_inner()
                .items;
            println!("imported {} keys", items.len());
        }
        KeysCommand::List => get::run(client, GetCommand::Keys, output::Format::Table).await?,
        KeysCommand::Enable { key_id } => set_enabled(client, &key_id, true).await?,
        KeysCommand::Disable { key_id } => set_enabled(client, &key_id, false).await?,
        KeysCommand::Update {
            key_id,
            name,
            description,
        } => {
            let key_id = resolve::key_id(client, &key_id).await?;
            let mut paths = Vec::new();
            if name.is_some() {
                paths.push("name");
            }
            if description.is_some() {
                paths.push("description");
            }
            if paths.is_empty() {
                bail!("nothing to change: pass --name or --description");
            }
            let key = client
                .plans
                .update_api_key(UpdateApiKeyRequest {
                    key_id,
                    name: name.unwrap_or_default(),
                    description: description.unwrap_or_default(),
                    enabled: None,
                    update_mask: mask(&paths),
                })
                .await
                .map_err(|s| status_error("updating the key", s))?
                .into_inner();
            println!("key {}: updated ({})", key.id, key.name);
        }
        KeysCommand::Delete { key_id, yes } => {
            let key_id = resolve::key_id(client, &key_id).await?;
            confirm::confirm(
                &format!("delete API key '{key_id}' (requests with it are refused)"),
                yes,
            )?;
            client
                .plans
                .delete_api_key(GetApiKeyRequest {
                    key_id: key_id.clone(),
                })
                .await
                .map_err(|s| status_error("deleting the key", s))?;
            println!("key {key_id}: deleted");
        }
    }
    Ok(())
}

/// Enables or disables a key, changing nothing else (the mask names only
/// `enabled`).
async fn set_enabled(client: &mut AdminClient, key: &str, enabled: bool) -> anyhow::Result<()> {
    let key_id = resolve::key_id(client, key).await?;
    client
        .plans
        .update_api_key(UpdateApiKeyRequest {
            key_id: key_id.clone(),
            enabled: Some(enabled),
            update_mask: mask(&["enabled"]),
            ..Default::default()
        })
        .await
        .map_err(|s| status_error("updating the key", s))?;
    println!(
        "key {key_id}: {}",
        if enabled { "enabled" } else { "disabled" }
    );
    Ok(())
}

fn quota_period(period: &str) -> anyhow::Result<QuotaPeriod> {
    crate::enums::QUOTA_PERIOD
        .read(Some(period), QuotaPeriod::Day)
        .map_err(|reason| anyhow::anyhow!("--period {reason}"))
}

/// `--rate` and `--burst` as a plan throttle: the burst defaults to one
/// second's worth of the rate.
fn throttle(rate_limit: f64, burst: Option<u32>) -> ThrottleSettings {
    ThrottleSettings {
        rate_limit,
        burst_limit: burst.unwrap_or(rate_limit.ceil() as u32),
    }
}

/// `--stage API:STAGE` values, the API by id or name.
async fn plan_stages(
    client: &AdminClient,
    stages: &[String],
) -> anyhow::Result<Vec<UsagePlanStage>> {
    let mut out = Vec::new();
    for s in stages {
        let (api, stage) = s.split_once(':').with_context(|| {
            format!("--stage '{s}' is not API:STAGE; pass it as API_ID_OR_NAME:STAGE")
        })?;
        out.push(UsagePlanStage {
            api_id: resolve::api_id(client, api).await?,
            stage: stage.into(),
            throttle: vec![],
        });
    }
    Ok(out)
}

async fn plans(client: &mut AdminClient, what: PlansCommand) -> anyhow::Result<()> {
    match what {
        PlansCommand::Create {
            name,
            stages,
            rate,
            burst,
            quota,
            period,
        } => {
            let api_stages = plan_stages(client, &stages).await?;
            let period = quota_period(&period)?;
            let plan = client
                .plans
                .create_usage_plan(CreateUsagePlanRequest {
                    plan: Some(UsagePlan {
                        name,
                        throttle: rate.map(|rate| throttle(rate, burst)),
                        quota: quota.map(|limit| QuotaSettings {
                            limit,
                            period: period as i32,
                            offset: 0,
                        }),
                        api_stages,
                        ..Default::default()
                    }),
                })
                .await
                .map_err(|s| status_error("creating the plan", s))?
                .into_inner();
            println!("usage plan {} created", plan.id);
        }
        PlansCommand::List => get::run(client, GetCommand::Plans, output::Format::Table).await?,
        PlansCommand::Update {
            plan_id,
            name,
            description,
            rate,
            burst,
            quota,
            period,
            no_throttle,
            no_quota,
        } => {
            let id = resolve::plan_id(client, &plan_id).await?;
            let mut paths = Vec::new();
            let mut change = UsagePlan {
                id,
                ..Default::default()
            };
            if let Some(name) = name {
                change.name = name;
                paths.push("name");
            }
            if let Some(description) = description {
                change.description = description;
                paths.push("description");
            }
            if let Some(rate) = rate {
                change.throttle = Some(throttle(rate, burst));
            }
            if rate.is_some() || no_throttle {
                paths.push("throttle");
            }
            if let Some(limit) = quota {
                change.quota = Some(QuotaSettings {
                    limit,
                    period: quota_period(period.as_deref().unwrap_or("DAY"))? as i32,
                    offset: 0,
                });
            }
            if quota.is_some() || no_quota {
                paths.push("quota");
            }
            if paths.is_empty() {
                bail!(
                    "nothing to change: pass --name, --description, --rate, --quota, --no-throttle or --no-quota"
                );
            }
            let plan = client
                .plans
                .update_usage_plan(UpdateUsagePlanRequest {
                    plan: Some(change),
                    update_mask: mask(&paths),
                })
                .await
                .map_err(|s| status_error("updating the plan", s))?
                .into_inner();
            println!("usage plan {}: updated ({})", plan.id, paths.join(", "));
        }
        PlansCommand::Delete { plan_id, yes } => {
            let plan_id = resolve::plan_id(client, &plan_id).await?;
            confirm::confirm(&format!("delete usage plan '{plan_id}'"), yes)?;
            client
                .plans
                .delete_usage_plan(GetUsagePlanRequest {
                    usage_plan_id: plan_id.clone(),
                })
                .await
                .map_err(|s| status_error("deleting the plan", s))?;
            println!("usage plan {plan_id}: deleted");
        }
        PlansCommand::AddKey { plan_id, key_id } => {
            let plan_id = resolve::plan_id(client, &plan_id).await?;
            let key_id = resolve::key_id(client, &key_id).await?;
            client
                .plans
                .add_key_to_plan(UsagePlanKeyRequest {
                    usage_plan_id: plan_id.clone(),
                    key_id: key_id.clone(),
                })
                .await
                .map_err(|s| status_error("adding the key", s))?;
            println!("key {key_id} added to usage plan {plan_id}");
        }
        PlansCommand::RemoveKey { plan_id, key_id } => {
            let plan_id = resolve::plan_id(client, &plan_id).await?;
            let key_id = resolve::key_id(client, &key_id).await?;
            client
                .plans
                .remove_key_from_plan(UsagePlanKeyRequest {
                    usage_plan_id: plan_id.clone(),
                    key_id: key_id.clone(),
                })
                .await
                .map_err(|s| status_error("removing the key", s))?;
            println!("key {key_id} removed from usage plan {plan_id}");
        }
    }
    Ok(())
}

async fn reset_usage(client: &AdminClient, plan: &str, key: &str) -> anyhow::Result<()> {
    let plan_id = resolve::plan_id(client, plan).await?;
    let key_id = resolve::key_id(client, key).await?;
    client
        .plans
        .clone()
        .reset_usage(UsagePlanKeyRequest {
            usage_plan_id: plan_id.clone(),
            key_id: key_id.clone(),
        })
        .await
        .map_err(|s| status_error("resetting usage", s))?;
    println!("key {key_id}: quota period of usage plan {plan_id} started over");
    Ok(())
}

async fn tokens(client: &mut AdminClient, what: TokensCommand) -> anyhow::Result<()> {
    match what {
        TokensCommand::Create { name, role } => {
            let role = match role.to_ascii_lowercase().as_str() {
                "admin" => TokenRole::Admin,
                "read-only" | "readonly" => TokenRole::ReadOnly,
                "node" => TokenRole::Node,
                other => bail!("--role '{other}' is not admin, read-only or node"),
            };
            let created = client
                .tokens
                .create_token(CreateTokenRequest {
                    name,
                    role: role as i32,
                })
                .await
                .map_err(|s| status_error("creating the token", s))?
                .into_inner();
            let id = created.token.map(|t| t.id).unwrap_or_default();
            println!("id      {id}");
            println!("secret  {}   (shown once: keep it now)", created.secret);
        }
        TokensCommand::List => get::run(client, GetCommand::Tokens, output::Format::Table).await?,
        TokensCommand::Delete { id, yes } => {
            confirm::confirm(
                &format!("delete token '{id}' (calls with it are refused)"),
                yes,
            )?;
            client
                .tokens
                .delete_token(DeleteTokenRequest { id: id.clone() })
                .await
                .map_err(|s| status_error("deleting the token", s))?;
            println!("token {id}: deleted");
        }
    }
    Ok(())
}
