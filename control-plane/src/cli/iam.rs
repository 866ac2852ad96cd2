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
    /// Create or replace the AWS credentials nodes sign outbound calls of
    /// function and service integrations with. The secret access key is
    /// read from the environment variable `--secret-env` names, or else
    /// from the first line of stdin (never from the command line, where
    /// other users and shell history would see it); a session token from
    /// `--session-token-env` or stdin's second line. Never shown again.
    PutOutboundCredential {
        name: String,
        #[arg(long)]
        access_key_id: String,
        /// Integrations whose credentials name this role ARN use the key.
        #[arg(long, default_value = "")]
        role_arn: String,
        #[arg(long, default_value = "")]
        description: String,
        /// The environment variable holding the secret access key.
        #[arg(long)]
        secret_env: Option<String>,
        /// The environment variable holding a session token.
        #[arg(long)]
        session_token_env: Option<String>,
    },
    /// Outbound credentials (never their secrets).
    OutboundCredentials,
    /// Delete an outbound credential (refused while a served deployment's
    /// integration names it).
    DeleteOutboundCredential {
        name: String,
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

/// The secret (and session token) of an outbound credential: from the
/// named environment variables, else stdin's first (and second) line.
fn outbound_secrets(
    secret_env: Option<&str>,
    token_env: Option<&str>,
) -> anyhow::Result<(String, String)> {
    let from_env = |name: &str| {
        std::env::var(name).with_context(|| format!("reading the environment variable {name}"))
    };
    let mut stdin_lines: Option<Vec<String>> = None;
    let mut line = |n: usize| -> anyhow::Result<String> {
        if stdin_lines.is_none() {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .context("reading the secret from stdin")?;
            stdin_lines = Some(text.lines().map(|l| l.trim().to_owned()).collect());
        }
        Ok(stdin_lines
            .as_ref()
            .and_then(|lines| lines.get(n).cloned())
            .unwrap_or_default())
    };
    let secret = match secret_env {
        Some(name) => from_env(name)?,
        None => line(0)?,
    };
    if secret.is_empty() {
        anyhow::bail!(
            "no secret access key: give it on stdin's first line or name an environment variable with --secret-env"
        );
    }
    let token = match (token_env, secret_env) {
        (Some(name), _) => from_env(name)?,
        (None, None) => line(1)?,
        (None, Some(_)) => String::new(),
    };
    Ok((secret, token))
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
        IamCommand::PutOutboundCredential {
            name,
            access_key_id,
            role_arn,
            description,
            secret_env,
            session_token_env,
        } => {
            let (secret, token) =
                outbound_secrets(secret_env.as_deref(), session_token_env.as_deref())?;
            let shown = iam
                .put_outbound_credential(PutOutboundCredentialRequest {
                    credential: Some(OutboundCredential {
                        name,
                        description,
                        role_arn,
                        access_key_id,
                        secret_access_key: secret,
                        session_token: token,
                        ..Default::default()
                    }),
                })
                .await
                .map_err(|s| status_error("putting the outbound credential", s))?
                .into_inner();
            println!(
                "outbound credential {} ({}) saved; its secret is sealed and never shown",
                shown.name, shown.access_key_id
            );
        }
        IamCommand::OutboundCredentials => {
            get::run(client, GetCommand::OutboundCredentials, Format::Table).await?;
        }
        IamCommand::DeleteOutboundCredential { name, yes } => {
            super::confirm::confirm(
                &format!(
                    "delete outbound credential '{name}' (integrations naming it can no longer sign)"
                ),
                yes,
            )?;
            iam.delete_outbound_credential(DeleteOutboundCredentialRequest { name: name.clone() })
                .await
                .map_err(|s| status_error("deleting the outbound credential", s))?;
            println!("deleted {name}");
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
