//! Outbound credentials: the AWS keys nodes sign function and service
//! integrations' calls with (IamService's Put/List/DeleteOutboundCredential).
//!
//! Like access key secrets, the secret access key and session token are
//! sealed with the master key ([`crate::secrets`]) before they reach the
//! store, bound to the credential's name so sealed values cannot be swapped
//! between credentials; the admin API never returns them, sealed or not, and
//! nodes receive them in clear on their config stream only (a SigV4
//! signature needs the secret itself). Each change publishes only the
//! credential it touched.

use super::SharedState;
use super::records::{body, load_by_id, refuse_if_used};
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::secrets::MasterKey;
use crate::store::{View, keys};
use archway_proto::resource_name;
use archway_proto::rules::aws_arn::{Credentials, credentials};
use archway_proto::v1::*;
use tonic::Status;

/// Longest secret or session token accepted (STS tokens run to ~1-2 KB).
const MAX_SECRET_BYTES: usize = 128;
const MAX_SESSION_TOKEN_BYTES: usize = 4096;

/// The sealing context of a credential's secret (and, with `/token`, its
/// session token): the name binds the sealed value to its credential.
pub(crate) fn seal_context(name: &str, what: &str) -> String {
    format!("outbound/{name}/{what}")
}

/// What the admin API shows of a credential: never the secret or the token,
/// sealed or not.
pub(crate) fn shown(mut c: OutboundCredential) -> OutboundCredential {
    c.secret_access_key.clear();
    c.session_token.clear();
    c.sealed_secret.clear();
    c.sealed_session_token.clear();
    c
}

/// The credential's own fields as a request gives them; `field` names the
/// message in refusals (`credential`, or a document path).
pub(crate) fn check(field: &str, c: &OutboundCredential) -> ApiResult<()> {
    let f = |name: &str| format!("{field}.{name}");
    match credentials(&c.name) {
        Ok(Credentials::Name(_)) => {}
        _ => {
            return Err(ApiError::invalid(
                f("name"),
                format!("'{}': use 1 to 64 letters, digits or +=,.@_-", c.name),
            ));
        }
    }
    crate::validate::max_len(&f("description"), &c.description, 1000)?;
    if !c.role_arn.is_empty() {
        match credentials(&c.role_arn) {
            Ok(Credentials::RoleArn(_)) => {}
            _ => {
                return Err(ApiError::invalid(
                    f("role_arn"),
                    format!(
                        "'{}' is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)",
                        c.role_arn
                    ),
                ));
            }
        }
    }
    let id_ok = (16..=128).contains(&c.access_key_id.len())
        && c.access_key_id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !id_ok {
        return Err(ApiError::invalid(
            f("access_key_id"),
            "must be 16 to 128 upper-case letters and digits (AKIA…, ASIA…)",
        ));
    }
    if c.secret_access_key.is_empty() {
        return Err(ApiError::invalid(
            f("secret_access_key"),
            "is required (it is sealed and never returned)",
        ));
    }
    // Never echo the secret or token in a refusal: say what is wrong only.
    let printable = |s: &str| s.bytes().all(|b| b.is_ascii_graphic());
    if c.secret_access_key.len() > MAX_SECRET_BYTES || !printable(&c.secret_access_key) {
        return Err(ApiError::invalid(
            f("secret_access_key"),
            format!("must be at most {MAX_SECRET_BYTES} visible ASCII characters"),
        ));
    }
    if c.session_token.len() > MAX_SESSION_TOKEN_BYTES || !printable(&c.session_token) {
        return Err(ApiError::invalid(
            f("session_token"),
            format!("must be at most {MAX_SESSION_TOKEN_BYTES} visible ASCII characters"),
        ));
    }
    Ok(())
}

/// The credential as stored: secret and token sealed, never in clear.
/// `old` (the credential this one replaces) keeps its creation time.
pub(crate) fn sealed(
    master: &MasterKey,
    c: &OutboundCredential,
    old: Option<&OutboundCredential>,
    now_ms: i64,
) -> OutboundCredential {
    OutboundCredential {
        name: c.name.clone(),
        description: c.description.clone(),
        role_arn: c.role_arn.clone(),
        access_key_id: c.access_key_id.clone(),
        secret_access_key: String::new(),
        session_token: String::new(),
        sealed_secret: master.seal(
            &seal_context(&c.name, "secret"),
            c.secret_access_key.as_bytes(),
        ),
        sealed_session_token: if c.session_token.is_empty() {
            Vec::new()
        } else {
            master.seal(&seal_context(&c.name, "token"), c.session_token.as_bytes())
        },
        created_at_ms: old.map_or(now_ms, |o| o.created_at_ms),
        updated_at_ms: now_ms,
    }
}

/// Refuses a role ARN another credential already answers for: an
/// integration naming the ARN must find one key.
pub(crate) fn check_role_arn_unique(
    view: &View,
    field: &str,
    c: &OutboundCredential,
) -> ApiResult<()> {
    if c.role_arn.is_empty() {
        return Ok(());
    }
    for other in view.scan::<OutboundCredential>(keys::OUTBOUND_CREDENTIALS)? {
        if other.name != c.name && other.role_arn == c.role_arn {
            return Err(ApiError::invalid(
                format!("{field}.role_arn"),
                format!(
                    "outbound credential '{}' already answers for '{}'",
                    other.name, c.role_arn
                ),
            ));
        }
    }
    Ok(())
}

/// The integrations of served deployments (those a stage or its canary
/// points at) whose `credentials` name `c` (by name or role ARN): deleting
/// it then would leave them unable to sign.
pub(crate) fn refuse_if_served(view: &View, c: &OutboundCredential) -> ApiResult<()> {
    for stage in view.scan::<Stage>(keys::STAGES)? {
        let canary = stage.canary.as_ref().map(|c| c.deployment_id.clone());
        for deployment_id in std::iter::once(stage.deployment_id.clone()).chain(canary) {
            let Some(d) =
                view.get::<Deployment>(&keys::deployment(&stage.api_id, &deployment_id))?
            else {
                continue;
            };
            refuse_if_used(
                d.methods.iter(),
                |m| {
                    m.integration.as_ref().is_some_and(|i| {
                        !i.credentials.is_empty()
                            && (i.credentials == c.name || i.credentials == c.role_arn)
                    })
                },
                |m| {
                    format!(
                        "outbound credential '{}' signs method {} of resource '{}' in deployment '{}' that stage '{}' of API '{}' serves; point the integration elsewhere and redeploy first",
                        c.name, m.http_method, m.resource_id, d.id, stage.stage_name, stage.api_id
                    )
                },
            )?;
        }
    }
    Ok(())
}

fn load(view: &View, name: &str) -> ApiResult<OutboundCredential> {
    load_by_id(view, "name", name, keys::outbound_credential, |n| {
        format!("outbound credential '{n}'")
    })
}

pub(crate) async fn put(
    state: &SharedState,
    master: &MasterKey,
    req: PutOutboundCredentialRequest,
) -> Result<OutboundCredential, Status> {
    let c = body("credential", req.credential)?;
    check("credential", &c)?;
    let stored = state
        .write(|txn| {
            check_role_arn_unique(txn, "credential", &c)?;
            let old = txn.get::<OutboundCredential>(&keys::outbound_credential(&c.name))?;
            let stored = sealed(master, &c, old.as_ref(), ids::now_ms());
            txn.put(&keys::outbound_credential(&c.name), &stored);
            Ok::<_, ApiError>(stored)
        })
        .await?;
    Ok(shown(stored))
}

pub(crate) fn list(
    state: &SharedState,
    req: ListOutboundCredentialsRequest,
) -> Result<ListOutboundCredentialsResponse, Status> {
    let (items, next_page_token) = state.list_page::<OutboundCredential>(
        keys::OUTBOUND_CREDENTIALS,
        req.page_size,
        &req.page_token,
    )?;
    Ok(ListOutboundCredentialsResponse {
        items: items.into_iter().map(shown).collect(),
        next_page_token,
    })
}

pub(crate) async fn delete(
    state: &SharedState,
    req: DeleteOutboundCredentialRequest,
) -> Result<Empty, Status> {
    state
        .write(|txn| {
            let c = load(txn, &req.name)?;
            refuse_if_served(txn, &c)?;
            txn.delete(&keys::outbound_credential(&req.name));
            Ok::<_, ApiError>(())
        })
        .await?;
    Ok(Empty {})
}

/// What a node needs of a credential: the secret and token in clear, never
/// the sealed copies. None when they cannot be opened (the master key does
/// not match); integrations naming it then sign with nothing and fail.
pub fn resource(c: &OutboundCredential, master: &MasterKey) -> Option<ConfigResource> {
    let open = |what: &str, sealed: &[u8]| -> Option<String> {
        if sealed.is_empty() {
            return Some(String::new());
        }
        match master.open(&seal_context(&c.name, what), sealed) {
            Ok(clear) => String::from_utf8(clear).ok(),
            Err(e) => {
                tracing::error!(credential = %c.name, error = %e, "cannot open an outbound credential's secret");
                None
            }
        }
    };
    let secret = open("secret", &c.sealed_secret)?;
    let token = open("token", &c.sealed_session_token)?;
    Some(ConfigResource {
        name: resource_name::outbound_credential(&c.name),
        resource: Some(config_resource::Resource::OutboundCredential(
            OutboundCredential {
                secret_access_key: secret,
                session_token: token,
                sealed_secret: Vec::new(),
                sealed_session_token: Vec::new(),
                description: String::new(),
                ..c.clone()
            },
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential() -> OutboundCredential {
        OutboundCredential {
            name: "lambda-caller".into(),
            role_arn: "arn:aws:iam::123456789012:role/caller".into(),
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: "tok".into(),
            ..Default::default()
        }
    }

    #[test]
    fn stored_form_holds_no_secret_in_clear_and_opens_for_nodes() {
        let master = MasterKey::from_bytes(&[3; 32]);
        let c = credential();
        let stored = sealed(&master, &c, None, 5);
        assert!(stored.secret_access_key.is_empty() && stored.session_token.is_empty());
        let bytes = prost::Message::encode_to_vec(&stored);
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&c.secret_access_key), "sealed in the store");
        assert!(!text.contains("tok"), "token sealed too");
        let sent = resource(&stored, &master).unwrap();
        let Some(config_resource::Resource::OutboundCredential(sent)) = sent.resource else {
            panic!("an outbound credential");
        };
        assert_eq!(sent.secret_access_key, c.secret_access_key);
        assert_eq!(sent.session_token, "tok");
        assert!(sent.sealed_secret.is_empty());
        assert!(
            resource(&stored, &MasterKey::from_bytes(&[4; 32])).is_none(),
            "another master key opens nothing"
        );
        // A sealed secret moved to another name does not open.
        let moved = OutboundCredential {
            name: "other".into(),
            ..stored.clone()
        };
        assert!(resource(&moved, &master).is_none());
        let shown = shown(stored);
        assert!(shown.sealed_secret.is_empty() && shown.sealed_session_token.is_empty());
    }

    #[test]
    fn replacing_keeps_the_creation_time() {
        let master = MasterKey::from_bytes(&[3; 32]);
        let first = sealed(&master, &credential(), None, 5);
        let second = sealed(&master, &credential(), Some(&first), 9);
        assert_eq!((second.created_at_ms, second.updated_at_ms), (5, 9));
    }

    #[test]
    fn each_field_is_refused_by_name_without_echoing_secrets() {
        let field_of = |c: OutboundCredential| match check("credential", &c).unwrap_err() {
            ApiError::InvalidArgument { field, reason } => {
                assert!(!reason.contains("EXAMPLEKEY"), "{reason}");
                field
            }
            other => panic!("{other:?}"),
        };
        assert!(check("credential", &credential()).is_ok());
        for (c, field) in [
            (
                OutboundCredential {
                    name: "a b".into(),
                    ..credential()
                },
                "credential.name",
            ),
            (
                OutboundCredential {
                    name: "arn:aws:iam::123456789012:role/x".into(),
                    ..credential()
                },
                "credential.name",
            ),
            (
                OutboundCredential {
                    role_arn: "arn:aws:iam::123:user/x".into(),
                    ..credential()
                },
                "credential.role_arn",
            ),
            (
                OutboundCredential {
                    access_key_id: "akia".into(),
                    ..credential()
                },
                "credential.access_key_id",
            ),
            (
                OutboundCredential {
                    secret_access_key: String::new(),
                    ..credential()
                },
                "credential.secret_access_key",
            ),
            (
                OutboundCredential {
                    secret_access_key: "wJalrXUtnFEMI EXAMPLEKEY".into(),
                    ..credential()
                },
                "credential.secret_access_key",
            ),
        ] {
            assert_eq!(field_of(c), field);
        }
    }
}
