//! Who may call the control plane. Every gRPC call to an Archway service
//! carries `authorization: Bearer <token>`; the token's SHA-256 is looked up
//! in the store (tokens are long and random, so a fast hash is enough; the
//! token itself is never stored). Roles: ADMIN may do anything, READ_ONLY
//! may call Get* and List*, NODE may only open the config stream.
//!
//! On first start the control plane creates an admin and a node token
//! (taken from ARCHWAY_BOOTSTRAP_ADMIN_TOKEN / ARCHWAY_BOOTSTRAP_NODE_TOKEN
//! when set, generated otherwise) and writes them, readable by the owner
//! only, to `admin-token` and `node-token` in its data directory.

use crate::error::ApiError;
use crate::ids;
use crate::store::{Store, StoreError, keys};
use anyhow::Context;
use archway_proto::v1::{AdminToken, TokenRole};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

pub const ADMIN_TOKEN_FILE: &str = "admin-token";
pub const NODE_TOKEN_FILE: &str = "node-token";
/// Supplied tokens must be at least this long.
pub const MIN_TOKEN_LENGTH: usize = 32;

pub fn hash(token: &str) -> String {
    crate::api_keys::hex(&Sha256::digest(token.as_bytes()))
}

/// A new token: `awt_` and 40 random characters.
pub fn generate() -> String {
    format!("awt_{}", crate::api_keys::generate())
}

/// Files a token under its hash; returns its record.
pub fn insert(
    txn: &mut crate::store::Txn<'_>,
    token: &str,
    name: &str,
    role: TokenRole,
) -> Result<AdminToken, ApiError> {
    if token.len() < MIN_TOKEN_LENGTH {
        return Err(ApiError::invalid(
            "token",
            format!("must be at least {MIN_TOKEN_LENGTH} characters"),
        ));
    }
    let hash = hash(token);
    let record = AdminToken {
        id: hash[..12].to_owned(),
        name: name.to_owned(),
        role: role as i32,
        created_at_ms: ids::now_ms(),
    };
    txn.put(&keys::admin_token(&hash), &record);
    Ok(record)
}

/// Creates the first tokens of a new store and writes them to files.
///
/// Token files are never overwritten: a token file left by an earlier
/// store (say the control plane was started with `--init` after losing its
/// store) is read and its token admitted by the new store, so nodes and
/// scripts that use it keep working. A token given with
/// `--bootstrap-*-token` wins over a file; the file is then left as it is.
pub async fn bootstrap(
    store: &Store,
    data_dir: &Path,
    admin: Option<String>,
    node: Option<String>,
) -> anyhow::Result<()> {
    if !store.scan_raw(keys::ADMIN_TOKENS)?.is_empty() {
        return Ok(());
    }
    let admin = FirstToken::choose(data_dir.join(ADMIN_TOKEN_FILE), admin)?;
    let node = FirstToken::choose(data_dir.join(NODE_TOKEN_FILE), node)?;
    store
        .write(|txn| {
            insert(txn, &admin.token, "bootstrap admin", TokenRole::Admin)?;
            insert(txn, &node.token, "bootstrap node", TokenRole::Node)?;
            Ok::<_, ApiError>(())
        })
        .await
        .map_err(|e| anyhow::anyhow!("creating the first tokens: {e}"))?;
    admin.write_if_missing()?;
    node.write_if_missing()?;
    tracing::info!(
        dir = %data_dir.display(),
        "created the first admin and node tokens (files admin-token and node-token)"
    );
    Ok(())
}

/// One of a new store's first tokens and the file that should hold it.
struct FirstToken {
    token: String,
    file: std::path::PathBuf,
    file_exists: bool,
}

impl FirstToken {
    /// The given token, else the one in the file, else a new one.
    fn choose(file: std::path::PathBuf, given: Option<String>) -> anyhow::Result<Self> {
        let existing = match std::fs::read_to_string(&file) {
            Ok(text) => Some(text.trim().to_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
        };
        let file_exists = existing.is_some();
        let token = match (given, existing) {
            (Some(given), Some(existing)) => {
                if given != existing {
                    tracing::warn!(file = %file.display(), "the token file differs from the bootstrap token given; the file is left as it is");
                }
                given
            }
            (Some(given), None) => given,
            (None, Some(existing)) => {
                tracing::info!(file = %file.display(), "the new store admits the token already in this file");
                existing
            }
            (None, None) => generate(),
        };
        Ok(Self {
            token,
            file,
            file_exists,
        })
    }

    fn write_if_missing(&self) -> anyhow::Result<()> {
        if self.file_exists {
            return Ok(());
        }
        crate::secrets::create_private(&self.file, &format!("{}\n", self.token))
            .with_context(|| format!("writing {}", self.file.display()))
    }
}

/// The role a call to `path` (`/archway.v1.Service/Method`) needs, or None
/// for paths outside Archway's services (health, reflection, UI, metrics).
fn allowed(path: &str, role: TokenRole) -> Option<bool> {
    let (service, method) = path.strip_prefix("/archway.v1.")?.split_once('/')?;
    Some(match service {
        "ConfigDistribution" => matches!(role, TokenRole::Node | TokenRole::Admin),
        "AdminTokenService" => role == TokenRole::Admin,
        _ => match role {
            TokenRole::Admin => true,
            TokenRole::ReadOnly => method.starts_with("Get") || method.starts_with("List"),
            _ => false,
        },
    })
}

fn lookup(store: &Store, token: &str) -> Result<Option<AdminToken>, StoreError> {
    store.get(&keys::admin_token(&hash(token)))
}

/// Axum middleware: refuses calls to Archway's services without a token
/// that allows them, as gRPC UNAUTHENTICATED or PERMISSION_DENIED.
pub async fn require_token(
    State(store): State<Arc<Store>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if allowed(path, TokenRole::Admin).is_none() {
        return next.run(request).await;
    }
    let token = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let refusal = match token.map(|t| lookup(&store, t)) {
        None => Some(tonic::Status::unauthenticated(
            "this call needs 'authorization: Bearer <token>'",
        )),
        Some(Err(e)) => Some(tonic::Status::internal(format!("token store: {e}"))),
        Some(Ok(None)) => Some(tonic::Status::unauthenticated("unknown token")),
        Some(Ok(Some(record))) => {
            let role = TokenRole::try_from(record.role).unwrap_or(TokenRole::Unspecified);
            (allowed(path, role) != Some(true)).then(|| {
                tonic::Status::permission_denied(format!(
                    "token '{}' ({:?}) may not call {path}",
                    record.id, role
                ))
            })
        }
    };
    match refusal {
        None => next.run(request).await,
        Some(status) => status.into_http::<axum::body::Body>().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        let get = "/archway.v1.RestApiService/GetRestApi";
        let create = "/archway.v1.RestApiService/CreateRestApi";
        let stream = "/archway.v1.ConfigDistribution/StreamConfig";
        let tokens = "/archway.v1.AdminTokenService/ListTokens";
        assert_eq!(allowed(get, TokenRole::ReadOnly), Some(true));
        assert_eq!(allowed(create, TokenRole::ReadOnly), Some(false));
        assert_eq!(allowed(create, TokenRole::Admin), Some(true));
        assert_eq!(allowed(stream, TokenRole::Node), Some(true));
        assert_eq!(allowed(get, TokenRole::Node), Some(false));
        assert_eq!(allowed(tokens, TokenRole::ReadOnly), Some(false));
        assert_eq!(
            allowed("/grpc.health.v1.Health/Check", TokenRole::Unspecified),
            None
        );
        assert_eq!(allowed("/metrics", TokenRole::Unspecified), None);
    }
}
