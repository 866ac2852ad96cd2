//! `archwayctl`, the operator CLI: declarative `apply`, plus get, delete,
//! deploy, rollback and promote over the gRPC admin API.

pub mod apply;
pub mod client;
pub mod confirm;
pub mod iam;
pub mod promote;
pub mod spec;

use anyhow::{Context, bail};
use archway_proto::v1::*;
use clap::{Parser, Subcommand};
use client::{AdminClient, status_error};

#[derive(Debug, Parser)]
#[command(name = "archwayctl", version, about = "Operate an Archway API gateway")]
pub struct Cli {
    /// The control plane's admin API.
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
    /// Make APIs, routes and stages match a YAML file (idempotent).
    Apply {
        #[arg(short = 'f', long = "file")]
        file: std::path::PathBuf,
    },
    /// Show resources.
    Get {
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
    /// Point a stage back at an earlier deployment (by default the one
    /// before the deployment it serves now).
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
    /// Print a shell completion script, e.g.
    /// `archwayctl completion bash > /etc/bash_completion.d/archwayctl`,
    /// `archwayctl completion zsh > "${fpath[1]}/_archwayctl"`,
    /// `archwayctl completion fish > ~/.config/fish/completions/archwayctl.fish`.
    Completion { shell: clap_complete::Shell },
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
    Import {
        file: std::path::PathBuf,
    },
    List,
    Enable {
        key_id: String,
    },
    Disable {
        key_id: String,
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
    List,
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
pub enum GetCommand {
    Apis,
    /// One API with its routes.
    Api {
        api_id: String,
    },
    Stages {
        api_id: String,
    },
    Deployments {
        api_id: String,
    },
    /// The data-plane fleet and the version each node serves.
    Nodes,
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

/// Where the all-in-one mode (run from the repository) keeps its admin token.
const DEFAULT_TOKEN_FILE: &str = "archway-data/control-plane/admin-token";

/// Runs one CLI command, printing its result to stdout.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Completion { shell } = cli.command {
        return print_completion(shell);
    }
    // A bad file is reported before anything else, even with no server.
    let spec = match &cli.command {
        Command::Apply { file } => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the apply file {}", file.display()))?;
            Some(
                spec::ApplyFile::parse(&text)
                    .with_context(|| format!("parsing {}", file.display()))?,
            )
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
        Command::Usage {
            plan_id,
            key,
            from,
            to,
            reset,
        } => usage(&mut client, plan_id, key, from, to, reset).await?,
        Command::Apply { .. } => {
            let spec = spec.expect("parsed above");
            let changes = apply::apply(&mut client, &spec).await?;
            if changes.is_empty() {
                println!("unchanged");
            }
            for line in changes {
                println!("{line}");
            }
        }
        Command::Get { what } => get(&mut client, what).await?,
        Command::Delete { what } => delete(&mut client, what).await?,
        Command::Deploy {
            api_id,
            stage,
            create_stage,
            description,
        } => {
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
            let mut current = get_stage(&mut client, &api_id, &stage).await?;
            let target = match to {
                Some(id) => id,
                None => previous_deployment(&mut client, &api_id, &current.deployment_id).await?,
            };
            let from = std::mem::replace(&mut current.deployment_id, target.clone());
            client
                .deployments
                .update_stage(UpdateStageRequest {
                    stage: Some(current),
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
            let mut current = get_stage(&mut client, &api_id, &stage).await?;
            if let Some(enabled) = enabled {
                current.cache_cluster_enabled = enabled;
            }
            if let Some(size) = size {
                current.cache_cluster_size = size;
            }
            if ttl_seconds.is_some() {
                current.cache_ttl_seconds = ttl_seconds;
            }
            let updated = client
                .deployments
                .update_stage(UpdateStageRequest {
                    stage: Some(current),
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
        } => promote::promote(&mut client, &api_id, &stage, force).await?,
        Command::Completion { .. } => unreachable!("answered before connecting"),
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
async fn previous_deployment(
    client: &mut AdminClient,
    api_id: &str,
    current: &str,
) -> anyhow::Result<String> {
    let list = client
        .deployments
        .list_deployments(ListDeploymentsRequest {
            api_id: api_id.into(),
        })
        .await
        .map_err(|s| status_error("listing deployments", s))?
        .into_inner()
        .items;
    let Some(pos) = list.iter().position(|d| d.id == current) else {
        bail!(
            "the stage's deployment '{current}' is not among the API's deployments: \
             pass --to ID (archwayctl get deployments {api_id} lists them)"
        );
    };
    list.get(pos + 1).map(|d| d.id.clone()).with_context(|| {
        format!(
            "no deployment older than '{current}' to roll back to: pass --to ID \
                 (archwayctl get deployments {api_id} lists them)"
        )
    })
}

fn protocol_name(value: i32) -> &'static str {
    match ApiProtocol::try_from(value) {
        Ok(ApiProtocol::Http) => "HTTP",
        Ok(ApiProtocol::Websocket) => "WEBSOCKET",
        _ => "REST",
    }
}

fn describe_integration(integration: Option<&Integration>) -> String {
    let Some(i) = integration else {
        return "(no integration)".into();
    };
    match IntegrationType::try_from(i.r#type) {
        Ok(IntegrationType::HttpProxy) => format!("HTTP_PROXY {}", i.uri),
        Ok(IntegrationType::Mock) => {
            format!("MOCK {}", i.mock.as_ref().map_or(0, |m| m.status_code))
        }
        _ => "?".into(),
    }
}

async fn get(client: &mut AdminClient, what: GetCommand) -> anyhow::Result<()> {
    match what {
        GetCommand::Apis => {
            let apis = client
                .apis
                .list_rest_apis(ListRestApisRequest {})
                .await
                .map_err(|s| status_error("listing APIs", s))?
                .into_inner()
                .items;
            println!("{:<16} {:<8} NAME", "ID", "PROTOCOL");
            for api in apis {
                println!(
                    "{:<16} {:<8} {}",
                    api.id,
                    protocol_name(api.protocol),
                    api.name
                );
            }
        }
        GetCommand::Api { api_id } => {
            let api = client
                .apis
                .get_rest_api(GetRestApiRequest {
                    api_id: api_id.clone(),
                })
                .await
                .map_err(|s| status_error("reading the API", s))?
                .into_inner();
            println!("{} ({}) {}", api.name, api.id, protocol_name(api.protocol));
            let resources = client
                .apis
                .list_resources(ListResourcesRequest {
                    api_id: api_id.clone(),
                })
                .await
                .map_err(|s| status_error("listing resources", s))?
                .into_inner()
                .items;
            let methods = client
                .apis
                .list_methods(ListMethodsRequest {
                    api_id,
                    resource_id: String::new(),
                })
                .await
                .map_err(|s| status_error("listing methods", s))?
                .into_inner()
                .items;
            for r in &resources {
                for m in methods.iter().filter(|m| m.resource_id == r.id) {
                    println!(
                        "  {:<8} {:<32} {}",
                        m.http_method,
                        r.path,
                        describe_integration(m.integration.as_ref())
                    );
                }
            }
        }
        GetCommand::Stages { api_id } => {
            let stages = client
                .deployments
                .list_stages(ListStagesRequest { api_id })
                .await
                .map_err(|s| status_error("listing stages", s))?
                .into_inner()
                .items;
            println!("{:<16} {:<12} CANARY", "STAGE", "DEPLOYMENT");
            for s in stages {
                let canary = s.canary.map_or("-".to_string(), |c| {
                    format!("{} at {}%", c.deployment_id, c.percent_traffic)
                });
                println!("{:<16} {:<12} {canary}", s.stage_name, s.deployment_id);
            }
        }
        GetCommand::Deployments { api_id } => {
            let list = client
                .deployments
                .list_deployments(ListDeploymentsRequest { api_id })
                .await
                .map_err(|s| status_error("listing deployments", s))?
                .into_inner()
                .items;
            println!("{:<12} {:<15} DESCRIPTION", "ID", "CREATED(ms)");
            for d in list {
                println!("{:<12} {:<15} {}", d.id, d.created_at_ms, d.description);
            }
        }
        GetCommand::Nodes => {
            let fleet = client
                .fleet
                .list_nodes(ListNodesRequest {})
                .await
                .map_err(|s| status_error("listing nodes", s))?
                .into_inner();
            println!("control plane version {}", fleet.config_version);
            println!(
                "{:<24} {:<10} {:<8} {:<8} {:<10} LAST ERROR",
                "NODE", "CONNECTED", "APPLIED", "SENT", "SEEN"
            );
            let now = crate::ids::now_ms();
            for n in fleet.nodes {
                let seen = format!("{}s ago", (now - n.last_seen_ms).max(0) / 1000);
                let error = if n.last_error.is_empty() {
                    String::new()
                } else {
                    format!("v{}: {}", n.last_error_version, n.last_error)
                };
                println!(
                    "{:<24} {:<10} {:<8} {:<8} {:<10} {error}",
                    n.node_id, n.connected, n.applied_version, n.sent_version, seen
                );
            }
        }
    }
    Ok(())
}

async fn delete(client: &mut AdminClient, what: DeleteCommand) -> anyhow::Result<()> {
    match what {
        DeleteCommand::Api { api_id, yes } => {
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
    let plans = &mut client.plans;
    match what {
        KeysCommand::Create {
            name,
            value,
            plan,
            description,
        } => {
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
            if let Some(plan) = plan {
                plans
                    .add_key_to_plan(UsagePlanKeyRequest {
                        usage_plan_id: plan,
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
            let items = plans
                .import_api_keys(ImportApiKeysRequest { csv })
                .await
                .map_err(|s| status_error("importing keys", s))?
                .into_inner()
                .items;
            println!("imported {} keys", items.len());
        }
        KeysCommand::List => {
            let items = plans
                .list_api_keys(ListApiKeysRequest {})
                .await
                .map_err(|s| status_error("listing keys", s))?
                .into_inner()
                .items;
            println!(
                "{:<12} {:<8} {:<8} {:<24} PLANS",
                "ID", "ENABLED", "PREFIX", "NAME"
            );
            for k in items {
                println!(
                    "{:<12} {:<8} {:<8} {:<24} {}",
                    k.id,
                    k.enabled,
                    k.value_prefix,
                    k.name,
                    k.usage_plan_ids.join(",")
                );
            }
        }
        KeysCommand::Enable { key_id } => set_enabled(plans, key_id, true).await?,
        KeysCommand::Disable { key_id } => set_enabled(plans, key_id, false).await?,
        KeysCommand::Delete { key_id, yes } => {
            confirm::confirm(
                &format!("delete API key '{key_id}' (requests with it are refused)"),
                yes,
            )?;
            plans
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

async fn set_enabled(
    plans: &mut archway_proto::v1::usage_plan_service_client::UsagePlanServiceClient<
        client::AuthChannel,
    >,
    key_id: String,
    enabled: bool,
) -> anyhow::Result<()> {
    let key = plans
        .get_api_key(GetApiKeyRequest {
            key_id: key_id.clone(),
        })
        .await
        .map_err(|s| status_error("reading the key", s))?
        .into_inner();
    plans
        .update_api_key(UpdateApiKeyRequest {
            key_id: key_id.clone(),
            name: key.name,
            description: key.description,
            enabled,
        })
        .await
        .map_err(|s| status_error("updating the key", s))?;
    println!(
        "key {key_id}: {}",
        if enabled { "enabled" } else { "disabled" }
    );
    Ok(())
}

async fn plans(client: &mut AdminClient, what: PlansCommand) -> anyhow::Result<()> {
    let plans = &mut client.plans;
    match what {
        PlansCommand::Create {
            name,
            stages,
            rate,
            burst,
            quota,
            period,
        } => {
            let api_stages = stages
                .iter()
                .map(|s| {
                    let (api_id, stage) = s.split_once(':').with_context(|| {
                        format!("--stage '{s}' is not API_ID:STAGE (e.g. --stage pets:prod)")
                    })?;
                    Ok(UsagePlanStage {
                        api_id: api_id.into(),
                        stage: stage.into(),
                        throttle: vec![],
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let period = match period.to_ascii_uppercase().as_str() {
                "DAY" => QuotaPeriod::Day,
                "WEEK" => QuotaPeriod::Week,
                "MONTH" => QuotaPeriod::Month,
                other => bail!("--period '{other}' is not DAY, WEEK or MONTH"),
            };
            let plan = plans
                .create_usage_plan(CreateUsagePlanRequest {
                    plan: Some(UsagePlan {
                        name,
                        throttle: rate.map(|rate_limit| ThrottleSettings {
                            rate_limit,
                            burst_limit: burst.unwrap_or(rate_limit.ceil() as u32),
                        }),
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
        PlansCommand::List => {
            let items = plans
                .list_usage_plans(ListUsagePlansRequest {})
                .await
                .map_err(|s| status_error("listing plans", s))?
                .into_inner()
                .items;
            println!(
                "{:<12} {:<20} {:<16} {:<14} STAGES",
                "ID", "NAME", "THROTTLE", "QUOTA"
            );
            for p in items {
                let throttle = p.throttle.map_or("-".into(), |t| {
                    format!("{}/s burst {}", t.rate_limit, t.burst_limit)
                });
                let quota = p.quota.filter(|q| q.limit > 0).map_or("-".into(), |q| {
                    let period = QuotaPeriod::try_from(q.period).unwrap_or(QuotaPeriod::Day);
                    format!("{}/{:?}", q.limit, period)
                });
                let stages: Vec<String> = p
                    .api_stages
                    .iter()
                    .map(|s| format!("{}:{}", s.api_id, s.stage))
                    .collect();
                println!(
                    "{:<12} {:<20} {:<16} {:<14} {}",
                    p.id,
                    p.name,
                    throttle,
                    quota,
                    stages.join(",")
                );
            }
        }
        PlansCommand::Delete { plan_id, yes } => {
            confirm::confirm(&format!("delete usage plan '{plan_id}'"), yes)?;
            plans
                .delete_usage_plan(GetUsagePlanRequest {
                    usage_plan_id: plan_id.clone(),
                })
                .await
                .map_err(|s| status_error("deleting the plan", s))?;
            println!("usage plan {plan_id}: deleted");
        }
        PlansCommand::AddKey { plan_id, key_id } => {
            plans
                .add_key_to_plan(UsagePlanKeyRequest {
                    usage_plan_id: plan_id.clone(),
                    key_id: key_id.clone(),
                })
                .await
                .map_err(|s| status_error("adding the key", s))?;
            println!("key {key_id} added to usage plan {plan_id}");
        }
        PlansCommand::RemoveKey { plan_id, key_id } => {
            plans
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

async fn usage(
    client: &mut AdminClient,
    plan_id: String,
    key: Option<String>,
    from: Option<String>,
    to: Option<String>,
    reset: bool,
) -> anyhow::Result<()> {
    if reset {
        let key_id = key.expect("clap requires --key with --reset");
        client
            .plans
            .reset_usage(UsagePlanKeyRequest {
                usage_plan_id: plan_id.clone(),
                key_id: key_id.clone(),
            })
            .await
            .map_err(|s| status_error("resetting usage", s))?;
        println!("key {key_id}: quota period of usage plan {plan_id} started over");
        return Ok(());
    }
    let today =
        archway_proto::quota::date_string(archway_proto::quota::day_of(crate::ids::now_ms()));
    let items = client
        .plans
        .get_usage(GetUsageRequest {
            usage_plan_id: plan_id,
            key_id: key.unwrap_or_default(),
            start_date: from.unwrap_or_else(|| today.clone()),
            end_date: to.unwrap_or(today),
        })
        .await
        .map_err(|s| status_error("reading usage", s))?
        .into_inner()
        .items;
    println!(
        "{:<12} {:<12} {:>10} {:>10}",
        "KEY", "DATE", "USED", "REMAINING"
    );
    for i in items {
        let remaining = i.remaining.map_or("-".to_string(), |r| r.to_string());
        println!(
            "{:<12} {:<12} {:>10} {:>10}",
            i.key_id, i.date, i.used, remaining
        );
    }
    Ok(())
}

async fn tokens(client: &mut AdminClient, what: TokensCommand) -> anyhow::Result<()> {
    let tokens = &mut client.tokens;
    match what {
        TokensCommand::Create { name, role } => {
            let role = match role.to_ascii_lowercase().as_str() {
                "admin" => TokenRole::Admin,
                "read-only" | "readonly" => TokenRole::ReadOnly,
                "node" => TokenRole::Node,
                other => bail!("--role '{other}' is not admin, read-only or node"),
            };
            let created = tokens
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
        TokensCommand::List => {
            let items = tokens
                .list_tokens(ListTokensRequest {})
                .await
                .map_err(|s| status_error("listing tokens", s))?
                .into_inner()
                .items;
            println!("{:<14} {:<10} NAME", "ID", "ROLE");
            for t in items {
                let role = match TokenRole::try_from(t.role) {
                    Ok(TokenRole::Admin) => "admin",
                    Ok(TokenRole::ReadOnly) => "read-only",
                    Ok(TokenRole::Node) => "node",
                    _ => "?",
                };
                println!("{:<14} {:<10} {}", t.id, role, t.name);
            }
        }
        TokensCommand::Delete { id, yes } => {
            confirm::confirm(
                &format!("delete token '{id}' (calls with it are refused)"),
                yes,
            )?;
            tokens
                .delete_token(DeleteTokenRequest { id: id.clone() })
                .await
                .map_err(|s| status_error("deleting the token", s))?;
            println!("token {id}: deleted");
        }
    }
    Ok(())
}
