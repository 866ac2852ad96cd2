//! `archwayctl iam`: users, roles, their policies and access keys, and
//! temporary credentials. Secrets are printed once, when created.

use super::client::{AdminClient, mask, status_error};
use super::get::{self, GetCommand};
use super::output::Format;
use anyhow::Context;
use archway_proto::v1::*;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum IamCommand {
    /// Create a user (signs with its own access keys).
    CreateUser {
        name: String,
        /// An identity policy document (JSON), repeatable.
        #[arg(long = "policy-file")]
        policy_files: Vec<PathBuf>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Create a role (signs with temporary credentials from assume-role).
    CreateRole {
        name: String,
        #[arg(long = "policy-file")]
        policy_files: Vec<PathBuf>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Replace a user's or role's policies.
    SetPolicies {
        name: String,
        #[arg(long = "policy-file")]
        policy_files: Vec<PathBuf>,
    },
    /// Users and roles.
    List,
    /// Delete a user or role with its keys and sessions.
    Delete {
        name: String,
        /// Do not ask (for scripts).
        #[arg(long)]
        yes: bool,
    },
    /// A new access key pair for a user; the secret is printed once.
    CreateKey {
        user: String,
    },
    /// A user's access keys (or a role's live sessions).
    Keys {
        name: String,
    },
    EnableKey {
        access_key_id: String,
    },
    DisableKey {
        access_key_id: String,
    },
    DeleteKey {
        access_key_id: String,
        /// Do not ask (for scripts).
        #[arg(long)]
        yes: bool,
    },
    /// Temporary credentials of a role, printed as shell exports.
    AssumeRole {
        role: String,
        #[arg(long)]
        session: String,
        /// 900 to 43200 seconds.
        #[arg(long, default_value_t = 3600)]
        duration: u32,
    },
}

fn read_policies(files: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display())))
        .collect()
}

pub async fn run(client: &mut AdminClient, what: IamCommand) -> anyhow::Result<()> {
    let mut iam = client.iam.clone();
    let iam = &mut iam;
    match what {
        IamCommand::CreateUser {
            name,
            policy_files,
            description,
        } => create(iam, name, PrincipalType::User, &policy_files, description).await?,
        IamCommand::CreateRole {
            name,
            policy_files,
            description,
        } => create(iam, name, PrincipalType::Role, &policy_files, description).await?,
        IamCommand::SetPolicies { name, policy_files } => {
            let updated = iam
                .update_principal(UpdatePrincipalRequest {
                    principal: Some(IamPrincipal {
                        name,
                        policies: read_policies(&policy_files)?,
                        ..Default::default()
                    }),
                    // Named: no files clears the policies.
                    update_mask: mask(&["policies"]),
                })
                .await
                .map_err(|s| status_error("updating the principal", s))?
                .into_inner();
            println!("{}: {} policies", updated.arn, updated.policies.len());
        }
        IamCommand::List => {
            get::run(client, GetCommand::Principals, Format::Table).await?;
        }
        IamCommand::Delete { name, yes } => {
            super::confirm::confirm(
                &format!("delete IAM principal '{name}' with its access keys and sessions"),
                yes,
            )?;
            iam.delete_principal(GetPrincipalRequest { name: name.clone() })
                .await
                .map_err(|s| status_error("deleting the principal", s))?;
            println!("deleted {name}");
        }
        IamCommand::CreateKey { user } => {
            let key = iam
                .create_access_key(CreateAccessKeyRequest { principal: user })
                .await
                .map_err(|s| status_error("creating the access key", s))?
                .into_inner();
            println!("access key id      {}", key.access_key_id);
            println!(
                "secret access key  {}   (shown once: keep it now)",
                key.secret_access_key
            );
        }
        IamCommand::Keys { name } => {
            get::run(
                client,
                GetCommand::AccessKeys { principal: name },
                Format::Table,
            )
            .await?;
        }
        IamCommand::EnableKey { access_key_id } => set_enabled(iam, access_key_id, true).await?,
        IamCommand::DisableKey { access_key_id } => set_enabled(iam, access_key_id, false).await?,
        IamCommand::DeleteKey { access_key_id, yes } => {
            super::confirm::confirm(
                &format!("delete access key '{access_key_id}' (signatures with it are refused)"),
                yes,
            )?;
            iam.delete_access_key(DeleteAccessKeyRequest {
                access_key_id: access_key_id.clone(),
            })
            .await
            .map_err(|s| status_error("deleting the access key", s))?;
            println!("deleted {access_key_id}");
        }
        IamCommand::AssumeRole {
            role,
            session,
            duration,
        } => {
            let answer = iam
                .assume_role(AssumeRoleRequest {
                    role,
                    session_name: session,
                    duration_seconds: duration,
                })
                .await
                .map_err(|s| status_error("assuming the role", s))?
                .into_inner();
            let key = answer.credentials.unwrap_or_default();
            println!("export AWS_ACCESS_KEY_ID={}", key.access_key_id);
            println!("export AWS_SECRET_ACCESS_KEY={}", key.secret_access_key);
            println!("export AWS_SESSION_TOKEN={}", answer.session_token);
            println!("# expires at {}", super::output::rfc3339(key.expires_at_ms));
        }
    }
    Ok(())
}

type Iam = archway_proto::v1::iam_service_client::IamServiceClient<super::client::AuthChannel>;

async fn create(
    iam: &mut Iam,
    name: String,
    kind: PrincipalType,
    policy_files: &[PathBuf],
    description: String,
) -> anyhow::Result<()> {
    let created = iam
        .create_principal(PutPrincipalRequest {
            principal: Some(IamPrincipal {
                name,
                r#type: kind as i32,
                description,
                policies: read_policies(policy_files)?,
                ..Default::default()
            }),
        })
        .await
        .map_err(|s| status_error("creating the principal", s))?
        .into_inner();
    println!("created {}", created.arn);
    Ok(())
}

async fn set_enabled(iam: &mut Iam, access_key_id: String, enabled: bool) -> anyhow::Result<()> {
    let key = iam
        .update_access_key(UpdateAccessKeyRequest {
            access_key_id,
            enabled: Some(enabled),
            update_mask: mask(&["enabled"]),
        })
        .await
        .map_err(|s| status_error("updating the access key", s))?
        .into_inner();
    let status = if key.enabled { "active" } else { "inactive" };
    println!("{} is {status}", key.access_key_id);
    Ok(())
}
