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
    txn: &mut crate::store::Txn,
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
    if store.view().any_under(keys::ADMIN_TOKENS) {
        return Ok(());
    }
    let admin = FirstToken::choose(data_dir.join(ADMIN_TOKEN_FILE), admin)?;
    let node = FirstToken::choose(data_dir.join(NODE_TOKEN_FILE), node)?;
    let (created, _) = store
        .write(|txn| {
            // Checked again inside the write: replicas of a shared store
            // starting together race to register their first tokens.
            if txn.any_under(keys::ADMIN_TOKENS) {
                return Ok::<_, ApiError>(false);
            }
            insert(txn, &admin.token, "bootstrap admin", TokenRole::Admin)?;
            insert(txn, &node.token, "bootstrap node", TokenRole::Node)?;
            Ok(true)
        })
        .await
        .map_err(|e| anyhow::anyhow!("creating the first tokens: {e}"))?;
    if !created {
        return Ok(());
    }
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

/// What a request to the control plane's port needs. Deny by default:
/// only gRPC health checks, the static admin UI ([`is_admin_ui_file`]) and,
/// when the operator says so, `/metrics` are open; every other path (Archway's services,
/// server reflection, paths nothing serves) needs a token whose role allows
/// it, so an unauthenticated caller learns nothing, not even which
/// services exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Open,
    /// A token whose role may call the path ([`role_may_call`]).
    Token,
}

/// The access policy for the control plane's port.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessPolicy {
    /// `--metrics-without-auth`: serve `/metrics` to anyone (for a
    /// Prometheus that cannot send a token); otherwise it needs one.
    pub metrics_without_auth: bool,
}

/// Health checks, for load balancers and orchestrators that carry no token.
const HEALTH_PREFIX: &str = "/grpc.health.v1.Health/";

impl AccessPolicy {
    fn access(&self, method: &http::Method, path: &str) -> Access {
        if path.starts_with(HEALTH_PREFIX) {
            return Access::Open;
        }
        // The admin UI is static and holds no data; it calls the API with
        // the operator's token.
        if (method == http::Method::GET || method == http::Method::HEAD) && is_admin_ui_file(path) {
            return Access::Open;
        }
        if path == "/metrics" && self.metrics_without_auth {
            return Access::Open;
        }
        Access::Token
    }
}

/// The admin UI's files, as the browser asks for them: exactly `/`,
/// `/index.html` and `/assets/<name>` with a plain file name (letters,
/// digits, `-`, `_` and `.`, not starting with a dot), the only names vite
/// writes. Everything that merely looks like one (`//assets/x`,
/// `/assets/../archway.v1…`, `/assets/%2e%2e`, `/assets/x/y`, `/assetsX`)
/// is matched as written, never decoded or normalized, so it stays closed:
/// no other router or proxy in front can read it as another path.
fn is_admin_ui_file(path: &str) -> bool {
    if path == "/" || path == "/index.html" {
        return true;
    }
    path.strip_prefix("/assets/").is_some_and(|name| {
        !name.is_empty()
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    })
}

/// Calls that only read, besides Get* and List*: a dry-run diff and an
/// export change nothing.
const READ_ONLY_CALLS: &[(&str, &str)] = &[
    ("ConfigurationService", "DiffConfiguration"),
    ("ConfigurationService", "ExportConfiguration"),
];

/// Whether `role` may call `path`: Archway's services by role (ADMIN
/// anything, READ_ONLY Get*, List* and [`READ_ONLY_CALLS`], NODE only the
/// config stream);
/// reflection, `/metrics` and paths nothing serves need ADMIN or READ_ONLY.
fn role_may_call(role: TokenRole, path: &str) -> bool {
    let reader = matches!(role, TokenRole::Admin | TokenRole::ReadOnly);
    let Some((service, method)) = path
        .strip_prefix("/archway.v1.")
        .and_then(|rest| rest.split_once('/'))
    else {
        return reader;
    };
    match service {
        "ConfigDistribution" => matches!(role, TokenRole::Node | TokenRole::Admin),
        "AdminTokenService" => role == TokenRole::Admin,
        _ => match role {
            TokenRole::Admin => true,
            TokenRole::ReadOnly => {
                method.starts_with("Get")
                    || method.starts_with("List")
                    || READ_ONLY_CALLS.contains(&(service, method))
            }
            _ => false,
        },
    }
}

/// A role as operators write it (`archwayctl tokens create --role`).
fn role_name(role: TokenRole) -> &'static str {
    match role {
        TokenRole::Admin => "admin",
        TokenRole::ReadOnly => "read-only",
        TokenRole::Node => "node",
        TokenRole::Unspecified => "no role",
    }
}

/// Which tokens may call `path`, for a refusal that says what to use
/// instead; derived from [`role_may_call`], so the two never disagree.
fn roles_that_may_call(path: &str) -> String {
    let names: Vec<&str> = [TokenRole::Admin, TokenRole::ReadOnly, TokenRole::Node]
        .into_iter()
        .filter(|role| role_may_call(*role, path))
        .map(role_name)
        .collect();
    let article = if names.first().is_some_and(|n| n.starts_with('a')) {
        "an"
    } else {
        "a"
    };
    format!("{article} {} token", names.join(" or "))
}

fn lookup(store: &Store, token: &str) -> Result<Option<AdminToken>, StoreError> {
    store.view().get(&keys::admin_token(&hash(token)))
}

/// The token of an `authorization: Bearer <token>` header; the scheme's
/// case does not matter (RFC 9110 §11.1).
fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Why a request was refused, answered as gRPC to gRPC clients and as
/// plain HTTP (401 with `WWW-Authenticate`, or 403) to others, so a
/// scraper of `/metrics` sees a failure and not an empty page.
fn refuse(grpc: bool, status: tonic::Status) -> Response {
    if grpc {
        return status.into_http::<axum::body::Body>().into_response();
    }
    let code = match status.code() {
        tonic::Code::Unauthenticated => http::StatusCode::UNAUTHORIZED,
        tonic::Code::PermissionDenied => http::StatusCode::FORBIDDEN,
        _ => http::StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut response = (code, format!("{}\n", status.message())).into_response();
    if code == http::StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

/// The role of the token a call carried, put in the request's extensions
/// (tonic's `Request::extensions()`) for handlers whose answer depends on
/// it. Absent when the path needs no token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallerRole(pub TokenRole);

/// Axum middleware: lets a request through only if [`AccessPolicy`] opens
/// its path or it carries a token whose role may call it; otherwise answers
/// UNAUTHENTICATED or PERMISSION_DENIED. The role goes along as a
/// [`CallerRole`].
pub async fn require_token(
    State((store, policy)): State<(Arc<Store>, AccessPolicy)>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let path = path.as_str();
    if policy.access(request.method(), path) == Access::Open {
        return next.run(request).await;
    }
    let grpc = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    let refusal = match bearer(request.headers()).map(|t| lookup(&store, t)) {
        None => Some(tonic::Status::unauthenticated(
            "this call needs 'authorization: Bearer <token>'",
        )),
        Some(Err(e)) => Some(tonic::Status::internal(format!("token store: {e}"))),
        Some(Ok(None)) => Some(tonic::Status::unauthenticated("unknown token")),
        Some(Ok(Some(record))) => {
            let role = TokenRole::try_from(record.role).unwrap_or(TokenRole::Unspecified);
            request.extensions_mut().insert(CallerRole(role));
            (!role_may_call(role, path)).then(|| {
                tonic::Status::permission_denied(format!(
                    "token '{}' ({}) may not call {path}: it needs {}",
                    record.id,
                    role_name(role),
                    roles_that_may_call(path)
                ))
            })
        }
    };
    match refusal {
        None => next.run(request).await,
        Some(status) => refuse(grpc, status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn allowed(path: &str, role: TokenRole) -> Option<bool> {
        match AccessPolicy::default().access(&Method::POST, path) {
            Access::Open => None,
            Access::Token => Some(role_may_call(role, path)),
        }
    }

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
        // The declarative path: diff and export read, apply writes.
        let apply = "/archway.v1.ConfigurationService/ApplyConfiguration";
        let diff = "/archway.v1.ConfigurationService/DiffConfiguration";
        let export = "/archway.v1.ConfigurationService/ExportConfiguration";
        assert_eq!(allowed(apply, TokenRole::ReadOnly), Some(false));
        assert_eq!(allowed(apply, TokenRole::Admin), Some(true));
        assert_eq!(allowed(diff, TokenRole::ReadOnly), Some(true));
        assert_eq!(allowed(export, TokenRole::ReadOnly), Some(true));
        assert_eq!(allowed(export, TokenRole::Node), Some(false));
        assert_eq!(
            allowed("/grpc.health.v1.Health/Check", TokenRole::Unspecified),
            None
        );
    }

    /// Deny by default: reflection, metrics, unknown paths and services,
    /// and look-alikes of the open paths all need a token.
    #[test]
    fn everything_but_health_and_the_ui_page_needs_a_token() {
        let reflection = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
        let reflection_alpha = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
        for path in [
            reflection,
            reflection_alpha,
            "/metrics",
            "/metrics/",
            "/nothing/here",
            "/archway.v1.NoSuchService/Get",
            "/archway.v1.",
            "/grpc.health.v1.HealthX/Check",
            "/grpc.health.v2.Health/Check",
            "//",
            "",
        ] {
            assert_eq!(allowed(path, TokenRole::Unspecified), Some(false), "{path}");
            assert_eq!(allowed(path, TokenRole::Node), Some(false), "{path}");
            assert_eq!(allowed(path, TokenRole::ReadOnly), Some(true), "{path}");
            assert_eq!(allowed(path, TokenRole::Admin), Some(true), "{path}");
        }
        let policy = AccessPolicy::default();
        assert_eq!(policy.access(&Method::GET, "/"), Access::Open);
        assert_eq!(policy.access(&Method::HEAD, "/"), Access::Open);
        assert_ne!(policy.access(&Method::POST, "/"), Access::Open);
        assert_eq!(
            policy.access(&Method::POST, "/grpc.health.v1.Health/Watch"),
            Access::Open
        );
    }

    #[test]
    fn the_admin_ui_files_are_open() {
        let policy = AccessPolicy::default();
        for path in [
            "/",
            "/index.html",
            "/assets/index-BxQ3a9_z.js",
            "/assets/index-4f2a.css",
            "/assets/app-abc123.js.br",
        ] {
            assert_eq!(policy.access(&Method::GET, path), Access::Open, "{path}");
            assert_eq!(policy.access(&Method::HEAD, path), Access::Open, "{path}");
            // Only reading is open.
            assert_eq!(policy.access(&Method::POST, path), Access::Token, "{path}");
            assert_eq!(policy.access(&Method::PUT, path), Access::Token, "{path}");
        }
    }

    /// Look-alikes of the UI's paths, spelled as a client may send them
    /// (servers in front might decode or normalize them to an API path).
    fn assert_needs_a_token(path: &str) {
        let policy = AccessPolicy::default();
        assert_eq!(policy.access(&Method::GET, path), Access::Token, "{path}");
        assert_eq!(policy.access(&Method::POST, path), Access::Token, "{path}");
    }

    #[test]
    fn dot_dot_out_of_assets_needs_a_token() {
        assert_needs_a_token("/assets/../archway.v1.RestApiService/ListRestApis");
        assert_needs_a_token("/assets/..");
        assert_needs_a_token("/assets/.");
        assert_needs_a_token("/assets/./x.js");
    }

    #[test]
    fn percent_encoded_asset_names_need_a_token() {
        assert_needs_a_token("/assets/%2e%2e");
        assert_needs_a_token("/assets/%2E%2E/archway.v1.RestApiService/ListRestApis");
        assert_needs_a_token("/assets/%2fetc");
        assert_needs_a_token("/assets/x%00.js");
        assert_needs_a_token("/%61ssets/x.js");
    }

    #[test]
    fn double_slash_assets_needs_a_token() {
        assert_needs_a_token("//assets/x.js");
        assert_needs_a_token("/assets//x.js");
        assert_needs_a_token("//");
        assert_needs_a_token("//index.html");
    }

    #[test]
    fn nested_asset_paths_need_a_token() {
        assert_needs_a_token("/assets/x/y");
        assert_needs_a_token("/assets/x.js/");
        assert_needs_a_token("/assets/");
        assert_needs_a_token("/assets");
    }

    #[test]
    fn asset_prefix_look_alikes_need_a_token() {
        assert_needs_a_token("/assetsX");
        assert_needs_a_token("/assetsX/x.js");
        assert_needs_a_token("/Assets/x.js");
        assert_needs_a_token("/index.htm");
        assert_needs_a_token("/index.html/");
        assert_needs_a_token("/index.html/archway.v1.RestApiService/ListRestApis");
        assert_needs_a_token("/assets/x.js\\..\\y");
        assert_needs_a_token("/assets/.hidden");
    }

    #[test]
    fn metrics_open_only_with_the_flag() {
        let closed = AccessPolicy::default();
        let open = AccessPolicy {
            metrics_without_auth: true,
        };
        assert_ne!(closed.access(&Method::GET, "/metrics"), Access::Open);
        assert_eq!(open.access(&Method::GET, "/metrics"), Access::Open);
        // The flag opens exactly /metrics.
        assert_ne!(open.access(&Method::GET, "/metrics/x"), Access::Open);
        assert_ne!(
            open.access(&Method::POST, "/archway.v1.RestApiService/GetRestApi"),
            Access::Open
        );
    }

    /// A refusal names the tokens that would have been let in.
    #[test]
    fn refusals_name_the_role_a_call_needs() {
        assert_eq!(
            roles_that_may_call("/archway.v1.RestApiService/CreateRestApi"),
            "an admin token"
        );
        assert_eq!(
            roles_that_may_call("/archway.v1.RestApiService/ListRestApis"),
            "an admin or read-only token"
        );
        assert_eq!(
            roles_that_may_call("/archway.v1.ConfigDistribution/StreamConfig"),
            "an admin or node token"
        );
    }

    #[test]
    fn bearer_scheme_in_any_case() {
        let with = |v: &str| {
            let mut h = http::HeaderMap::new();
            h.insert(http::header::AUTHORIZATION, v.parse().unwrap());
            bearer(&h).map(str::to_owned)
        };
        assert_eq!(with("Bearer t0k").as_deref(), Some("t0k"));
        assert_eq!(with("bearer t0k").as_deref(), Some("t0k"));
        assert_eq!(with("Basic t0k"), None);
        assert_eq!(with("t0k"), None);
        assert_eq!(with("Bearer "), None);
        assert_eq!(bearer(&http::HeaderMap::new()), None);
    }
}
