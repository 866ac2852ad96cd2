//! `archwayctl`, the operator CLI: declarative `apply`, plus get, delete,
//! deploy, rollback and promote over the gRPC admin API.

pub mod apply;
pub mod client;
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
        #[arg(long)]
        stage: String,
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
    Api {
        api_id: String,
    },
    Stage {
        api_id: String,
        stage: String,
    },
    Deployment {
        api_id: String,
        deployment_id: String,
    },
}

/// Runs one CLI command, printing its result to stdout.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // A bad file is reported before anything else, even with no server.
    let spec = match &cli.command {
        Command::Apply { file } => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            Some(
                spec::ApplyFile::parse(&text)
                    .with_context(|| format!("parsing {}", file.display()))?,
            )
        }
        _ => None,
    };
    let mut client = AdminClient::connect(&cli.server).await?;
    match cli.command {
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
            description,
        } => {
            let deployment = client
                .deployments
                .create_deployment(CreateDeploymentRequest {
                    api_id,
                    description,
                    stage_name: stage.clone(),
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
        Command::Promote { api_id, stage } => {
            let mut current = get_stage(&mut client, &api_id, &stage).await?;
            let Some(canary) = current.canary.take() else {
                bail!("stage '{stage}' has no canary to promote");
            };
            current.deployment_id = canary.deployment_id.clone();
            client
                .deployments
                .update_stage(UpdateStageRequest {
                    stage: Some(current),
                })
                .await
                .map_err(|s| status_error("promoting", s))?;
            println!("stage {stage}: now serves {}", canary.deployment_id);
        }
    }
    Ok(())
}

async fn get_stage(client: &mut AdminClient, api_id: &str, stage: &str) -> anyhow::Result<Stage> {
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
        bail!("the stage's deployment '{current}' is not in the list");
    };
    list.get(pos + 1)
        .map(|d| d.id.clone())
        .with_context(|| format!("no deployment older than '{current}' to roll back to"))
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
        DeleteCommand::Api { api_id } => {
            client
                .apis
                .delete_rest_api(DeleteRestApiRequest {
                    api_id: api_id.clone(),
                })
                .await
                .map_err(|s| status_error("deleting the API", s))?;
            println!("api {api_id}: deleted");
        }
        DeleteCommand::Stage { api_id, stage } => {
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
        } => {
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
