//! IamService: users and roles, their identity policies, access keys, and
//! temporary credentials of roles (AssumeRole).
//!
//! Like API keys, each change publishes only the principals and keys it
//! touched. Secret access keys are shown once and kept sealed with the
//! master key ([`crate::secrets`]); nodes receive them in clear on their
//! authenticated config stream, because checking a SigV4 signature needs
//! the secret itself. Session tokens are kept only as SHA-256 hashes.

use super::SharedState;
use super::paging::PageRequest;
use super::records::{body, ensure_absent, load_by_id};
use super::rest_apis::prefixed;
use super::update_mask::{Fixed, Updatable, merge};
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::secrets::{MasterKey, random_string};
use crate::store::{StoreError, View, keys};
use archway_proto::policy::{Policy, PolicyKind};
use archway_proto::v1::iam_service_server::IamService;
use archway_proto::v1::*;
use sha2::Digest;
use std::collections::HashMap;
use std::sync::Arc;
use tonic::{Request, Response, Status};

const KEY_ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const MAX_POLICIES: usize = 10;
const MAX_POLICY_BYTES: usize = 10 * 1024;
/// Role sessions last 900 s to 12 h, 1 h unless asked otherwise (as STS).
const SESSION_SECONDS: std::ops::RangeInclusive<u32> = 900..=43_200;
const DEFAULT_SESSION_SECONDS: u32 = 3600;
/// Users may hold two keys at once (for rotation), as in IAM.
const MAX_KEYS_PER_USER: usize = 2;

/// What UpdatePrincipal may change.
const PRINCIPAL_UPDATE: Updatable = Updatable {
    request: "IamPrincipal",
    resource: "IamPrincipal",
    fields: &["description", "policies"],
    fixed: &[
        ("name", Fixed::Immutable("names the principal")),
        (
            "type",
            Fixed::Immutable("a user cannot become a role; create a new principal instead"),
        ),
        ("arn", Fixed::OutputOnly("computed from the name")),
        (
            "created_at_ms",
            Fixed::OutputOnly("set by the control plane"),
        ),
    ],
};

/// What UpdateAccessKey may change.
const ACCESS_KEY_UPDATE: Updatable = Updatable {
    request: "UpdateAccessKeyRequest",
    resource: "AccessKey",
    fields: &["enabled"],
    fixed: &[("access_key_id", Fixed::Immutable("names the key"))],
};

pub struct Iam {
    state: SharedState,
    master: Arc<MasterKey>,
}

impl Iam {
    pub fn new(state: SharedState, master: Arc<MasterKey>) -> Self {
        Self { state, master }
    }
}

/// `role` or `user`, as ARNs and messages name a principal's type.
pub(crate) fn principal_kind(kind: PrincipalType) -> &'static str {
    if kind == PrincipalType::Role {
        "role"
    } else {
        "user"
    }
}

/// `arn:aws:iam::{account}:user/{name}` or `…:role/{name}`.
pub(crate) fn principal_arn(account: &str, kind: PrincipalType, name: &str) -> String {
    format!("arn:aws:iam::{account}:{}/{name}", principal_kind(kind))
}

pub(crate) fn account_id(view: &View) -> Result<String, StoreError> {
    Ok(view
        .get_raw(keys::ACCOUNT_ID)?
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .unwrap_or_else(|| "000000000000".into()))
}

/// IAM's name rule: 1 to 64 of letters, digits and `+=,.@_-`.
fn check_name(field: &str, name: &str) -> ApiResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            format!("'{name}': use 1 to 64 letters, digits or +=,.@_-"),
        ))
    }
}

fn check_principal(p: &IamPrincipal) -> ApiResult<()> {
    check_principal_at("principal", p)
}

/// A principal's name, type, description and policies; `field` names it in
/// refusals (`principal`, or a document path).
pub(crate) fn check_principal_at(field: &str, p: &IamPrincipal) -> ApiResult<()> {
    check_principal_fields(p).map_err(|e| super::deployments::rebase(e, "principal", field))
}

fn check_principal_fields(p: &IamPrincipal) -> ApiResult<()> {
    check_name("principal.name", &p.name)?;
    match PrincipalType::try_from(p.r#type) {
        Ok(PrincipalType::User | PrincipalType::Role) => {}
        _ => return Err(ApiError::invalid("principal.type", "must be USER or ROLE")),
    }
    crate::validate::max_len("principal.description", &p.description, 1000)?;
    if p.policies.len() > MAX_POLICIES {
        return Err(ApiError::invalid(
            "principal.policies",
            format!("at most {MAX_POLICIES} policies"),
        ));
    }
    for (i, doc) in p.policies.iter().enumerate() {
        let field = format!("principal.policies[{i}]");
        crate::validate::max_len(&field, doc, MAX_POLICY_BYTES)?;
        Policy::parse(doc, PolicyKind::Identity)
            .map_err(|e| ApiError::invalid(format!("{field}.{}", e.field), e.reason))?;
    }
    Ok(())
}

fn load_principal(view: &View, name: &str) -> ApiResult<IamPrincipal> {
    load_by_id(view, "name", name, keys::principal, |name| {
        format!("principal '{name}'")
    })
}

fn load_access_key(view: &View, id: &str) -> ApiResult<AccessKey> {
    load_by_id(view, "access_key_id", id, keys::access_key, |id| {
        format!("access key '{id}'")
    })
}

pub(crate) fn keys_of(view: &View, principal: &str) -> Result<Vec<AccessKey>, StoreError> {
    Ok(view
        .scan::<AccessKey>(keys::ACCESS_KEYS)?
        .into_iter()
        .filter(|k| k.principal == principal)
        .collect())
}

/// Every access key by its principal's name, in id order: one scan for
/// many principals.
pub(crate) fn keys_by_principal(
    view: &View,
) -> Result<HashMap<String, Vec<AccessKey>>, StoreError> {
    let mut by_principal: HashMap<String, Vec<AccessKey>> = HashMap::new();
    for key in view.scan::<AccessKey>(keys::ACCESS_KEYS)? {
        by_principal
            .entry(key.principal.clone())
            .or_default()
            .push(key);
    }
    Ok(by_principal)
}

/// What the admin API shows of a key: never the secret, sealed or not.
fn shown(mut key: AccessKey) -> AccessKey {
    key.secret_access_key.clear();
    key.sealed_secret.clear();
    key.session_token_hash.clear();
    key
}

/// A new key id with `prefix` (AKIA or ASIA) that no key has.
fn new_key_id(view: &View, prefix: &str) -> ApiResult<String> {
    loop {
        let id = format!("{prefix}{}", random_string(KEY_ID_ALPHABET, 16));
        if view.get_raw(&keys::access_key(&id))?.is_none() {
            return Ok(id);
        }
    }
}

#[tonic::async_trait]
impl IamService for Iam {
    async fn put_outbound_credential(
        &self,
        request: Request<PutOutboundCredentialRequest>,
    ) -> Result<Response<OutboundCredential>, Status> {
        let c = super::outbound::put(&self.state, &self.master, request.into_inner()).await?;
        Ok(Response::new(c))
    }

    async fn list_outbound_credentials(
        &self,
        request: Request<ListOutboundCredentialsRequest>,
    ) -> Result<Response<ListOutboundCredentialsResponse>, Status> {
        Ok(Response::new(super::outbound::list(
            &self.state,
            request.into_inner(),
        )?))
    }

    async fn delete_outbound_credential(
        &self,
        request: Request<DeleteOutboundCredentialRequest>,
    ) -> Result<Response<Empty>, Status> {
        let done = super::outbound::delete(&self.state, request.into_inner()).await?;
        Ok(Response::new(done))
    }

    async fn create_principal(
        &self,
        request: Request<PutPrincipalRequest>,
    ) -> Result<Response<IamPrincipal>, Status> {
        let p = body("principal", request.into_inner().principal)?;
        check_principal(&p)?;
        let p = self
            .state
            .write(|txn| {
                let mut p = p.clone();
                ensure_absent(txn, &keys::principal(&p.name), || {
                    format!("principal '{}'", p.name)
                })?;
                p.arn = principal_arn(&account_id(txn)?, p.r#type(), &p.name);
                p.created_at_ms = ids::now_ms();
                txn.put(&keys::principal(&p.name), &p);
                Ok(p)
            })
            .await?;
        Ok(Response::new(p))
    }

    async fn get_principal(
        &self,
        request: Request<GetPrincipalRequest>,
    ) -> Result<Response<IamPrincipal>, Status> {
        let name = request.into_inner().name;
        let p = self.state.read(|txn| load_principal(txn, &name))?;
        Ok(Response::new(p))
    }

    async fn list_principals(
        &self,
        request: Request<ListPrincipalsRequest>,
    ) -> Result<Response<ListPrincipalsResponse>, Status> {
        let req = request.into_inner();
        let (items, next_page_token) =
            self.state
                .list_page(keys::PRINCIPALS, req.page_size, &req.page_token)?;
        Ok(Response::new(ListPrincipalsResponse {
            items,
            next_page_token,
        }))
    }

    async fn update_principal(
        &self,
        request: Request<UpdatePrincipalRequest>,
    ) -> Result<Response<IamPrincipal>, Status> {
        let req = request.into_inner();
        let patch = body("principal", req.principal)?;
        let p = self
            .state
            .write(|txn| {
                let old = load_principal(txn, &patch.name)?;
                let updated = merge(&old, &patch, req.update_mask.as_ref(), &PRINCIPAL_UPDATE)
                    .map_err(|e| prefixed("principal", e))?;
                check_principal(&updated)?;
                txn.put(&keys::principal(&updated.name), &updated);
                Ok(updated)
            })
            .await?;
        Ok(Response::new(p))
    }

    async fn delete_principal(
        &self,
        request: Request<GetPrincipalRequest>,
    ) -> Result<Response<Empty>, Status> {
        let name = request.into_inner().name;
        self.state
            .write(|txn| {
                load_principal(txn, &name)?;
                for key in keys_of(txn, &name)? {
                    txn.delete(&keys::access_key(&key.access_key_id));
                }
                txn.delete(&keys::principal(&name));
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(Response::new(Empty {}))
    }

    async fn create_access_key(
        &self,
        request: Request<CreateAccessKeyRequest>,
    ) -> Result<Response<AccessKey>, Status> {
        let principal = request.into_inner().principal;
        let secret = random_string(SECRET_ALPHABET, 40);
        let key = self
            .state
            .write(|txn| {
                let p = load_principal(txn, &principal)?;
                if p.r#type() != PrincipalType::User {
                    return Err(ApiError::invalid(
                        "principal",
                        format!("'{principal}' is a role: roles get temporary credentials through AssumeRole"),
                    ));
                }
                if keys_of(txn, &principal)?.len() >= MAX_KEYS_PER_USER {
                    return Err(ApiError::FailedPrecondition(format!(
                        "user '{principal}' already has {MAX_KEYS_PER_USER} access keys; delete one first"
                    )));
                }
                let id = new_key_id(txn, "AKIA")?;
                let key = AccessKey {
                    sealed_secret: self.master.seal(&id, secret.as_bytes()),
                    access_key_id: id,
                    principal: p.name.clone(),
                    enabled: true,
                    created_at_ms: ids::now_ms(),
                    principal_arn: p.arn.clone(),
                    ..Default::default()
                };
                txn.put(&keys::access_key(&key.access_key_id), &key);
                Ok(key)
            })
            .await?;
        Ok(Response::new(AccessKey {
            secret_access_key: secret,
            ..shown(key)
        }))
    }

    async fn list_access_keys(
        &self,
        request: Request<ListAccessKeysRequest>,
    ) -> Result<Response<ListAccessKeysResponse>, Status> {
        let req = request.into_inner();
        let (items, next_page_token) = self.state.read(|view| {
            load_principal(view, &req.principal)?;
            // Keys are stored by id: this list is the principal's keys
            // among them, so its scope names the principal.
            let page = PageRequest::new(
                format!("{}?principal={}", keys::ACCESS_KEYS, req.principal),
                req.page_size,
                &req.page_token,
            )?;
            let records = view
                .scan_after::<AccessKey>(keys::ACCESS_KEYS, page.after())
                .filter(|r| {
                    r.as_ref()
                        .map_or(true, |(_, k)| k.principal == req.principal)
                });
            Ok::<_, ApiError>(page.take(records)?)
        })?;
        Ok(Response::new(ListAccessKeysResponse {
            items: items.into_iter().map(shown).collect(),
            next_page_token,
        }))
    }

    async fn update_access_key(
        &self,
        request: Request<UpdateAccessKeyRequest>,
    ) -> Result<Response<AccessKey>, Status> {
        let req = request.into_inner();
        let key = self
            .state
            .write(|txn| {
                let stored = load_access_key(txn, &req.access_key_id)?;
                let key = merge(&stored, &req, req.update_mask.as_ref(), &ACCESS_KEY_UPDATE)?;
                txn.put(&keys::access_key(&key.access_key_id), &key);
                Ok::<_, ApiError>(key)
            })
            .await?;
        Ok(Response::new(shown(key)))
    }

    async fn delete_access_key(
        &self,
        request: Request<DeleteAccessKeyRequest>,
    ) -> Result<Response<Empty>, Status> {
        let id = request.into_inner().access_key_id;
        self.state
            .write(|txn| {
                load_access_key(txn, &id)?;
                txn.delete(&keys::access_key(&id));
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(Response::new(Empty {}))
    }

    async fn assume_role(
        &self,
        request: Request<AssumeRoleRequest>,
    ) -> Result<Response<AssumeRoleResponse>, Status> {
        let req = request.into_inner();
        check_name("session_name", &req.session_name)?;
        let seconds = match req.duration_seconds {
            0 => DEFAULT_SESSION_SECONDS,
            s if SESSION_SECONDS.contains(&s) => s,
            _ => {
                return Err(ApiError::invalid(
                    "duration_seconds",
                    "must be 900 to 43200 (or 0 for 3600)",
                )
                .into());
            }
        };
        let secret = random_string(SECRET_ALPHABET, 40);
        let token = random_string(SECRET_ALPHABET, 96);
        let now = ids::now_ms();
        let key = self
            .state
            .write(|txn| {
                let role = load_principal(txn, &req.role)?;
                if role.r#type() != PrincipalType::Role {
                    return Err(ApiError::invalid(
                        "role",
                        format!("'{}' is a user, not a role", req.role),
                    ));
                }
                // Sessions that ended are dropped as new ones start.
                for old in keys_of(txn, &role.name)? {
                    if old.expires_at_ms != 0 && old.expires_at_ms <= now {
                        txn.delete(&keys::access_key(&old.access_key_id));
                    }
                }
                let id = new_key_id(txn, "ASIA")?;
                let key = AccessKey {
                    sealed_secret: self.master.seal(&id, secret.as_bytes()),
                    access_key_id: id,
                    principal: role.name.clone(),
                    enabled: true,
                    created_at_ms: now,
                    session_name: req.session_name.clone(),
                    session_token_hash: sha2::Sha256::digest(token.as_bytes()).to_vec(),
                    expires_at_ms: now + i64::from(seconds) * 1000,
                    principal_arn: format!(
                        "arn:aws:sts::{}:assumed-role/{}/{}",
                        account_id(txn)?,
                        role.name,
                        req.session_name
                    ),
                    ..Default::default()
                };
                txn.put(&keys::access_key(&key.access_key_id), &key);
                Ok(key)
            })
            .await?;
        Ok(Response::new(AssumeRoleResponse {
            credentials: Some(AccessKey {
                secret_access_key: secret,
                ..shown(key)
            }),
            session_token: token,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_policies_are_checked() {
        let mut p = IamPrincipal {
            name: "alice".into(),
            r#type: PrincipalType::User as i32,
            policies: vec![
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}}"#.into(),
            ],
            ..Default::default()
        };
        check_principal(&p).unwrap();
        p.policies.push(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"*"}}"#.into());
        let err = check_principal(&p).unwrap_err().to_string();
        assert!(err.starts_with("principal.policies[1].Statement"), "{err}");
        p.policies.pop();
        p.name = "no spaces".into();
        assert!(
            check_principal(&p)
                .unwrap_err()
                .to_string()
                .starts_with("principal.name:")
        );
    }

    #[test]
    fn arns_name_users_and_roles() {
        assert_eq!(
            principal_arn("123456789012", PrincipalType::User, "alice"),
            "arn:aws:iam::123456789012:user/alice"
        );
        assert_eq!(
            principal_arn("123456789012", PrincipalType::Role, "deployer"),
            "arn:aws:iam::123456789012:role/deployer"
        );
    }
}
