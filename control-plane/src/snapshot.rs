//! What the fleet should hold: built from the store as a map from resource
//! name to resource. Only what serves traffic travels — APIs, stages and the
//! deployments a stage or its canary points at — so old deployments kept for
//! rollback cost the nodes nothing.

use crate::secrets::MasterKey;
use crate::store::{StoreError, View, keys};
use archway_proto::resource_name;
use archway_proto::v1::config_resource::Resource as Body;
use archway_proto::v1::{
    AccessKey, ApiKey, ConfigResource, Deployment, IamPrincipal, NodeSettings, OutboundCredential,
    RestApi, Stage, UsagePlan,
};
use std::collections::BTreeMap;
use std::sync::Arc;

pub type DesiredSet = BTreeMap<String, Arc<ConfigResource>>;

/// Builds the desired set from one version of the store (a stage and the
/// deployment it points at always come from the same commit). `known` is the
/// previous set: deployments are immutable, so one already present is reused
/// instead of read again.
pub fn build(
    store: &View,
    known: &BTreeMap<String, Arc<ConfigResource>>,
) -> Result<DesiredSet, StoreError> {
    let mut set = DesiredSet::new();
    for api in store.scan::<RestApi>(keys::APIS)? {
        let name = resource_name::api(&api.id);
        // Nodes need only what routing uses: a renamed API costs them nothing.
        let served = RestApi {
            id: api.id,
            protocol: api.protocol,
            api_key_source: api.api_key_source,
            policy: api.policy,
            endpoint_type: api.endpoint_type,
            // WEBSOCKET APIs: nodes check it as the admin API did (the
            // deployment carries the one that routes).
            route_selection_expression: api.route_selection_expression,
            ..Default::default()
        };
        set.insert(name.clone(), wrap(name, Body::Api(served)));
    }
    for stage in store.scan::<Stage>(keys::STAGES)? {
        let canary = stage.canary.as_ref().map(|c| c.deployment_id.clone());
        for deployment_id in std::iter::once(stage.deployment_id.clone()).chain(canary) {
            let name = resource_name::deployment(&stage.api_id, &deployment_id);
            if set.contains_key(&name) {
                continue;
            }
            if let Some(existing) = known.get(&name) {
                set.insert(name, existing.clone());
            } else if let Some(d) =
                store.get::<Deployment>(&keys::deployment(&stage.api_id, &deployment_id))?
            {
                set.insert(name.clone(), wrap(name, Body::Deployment(d)));
            }
        }
        let name = resource_name::stage(&stage.api_id, &stage.stage_name);
        // What the stage served before is the control plane's (for roll
        // back): a deleted old deployment leaving it costs the nodes nothing.
        let served = Stage {
            previous_deployment_ids: Vec::new(),
            ..stage
        };
        set.insert(name.clone(), wrap(name, Body::Stage(served)));
    }
    let secret = store.get_raw(keys::API_KEY_SECRET)?.unwrap_or_default();
    let quota_resets = store
        .scan_raw(keys::QUOTA_RESETS)?
        .into_iter()
        .filter_map(|(k, v)| {
            let id = k.strip_prefix(keys::QUOTA_RESETS)?.to_owned();
            Some((id, i64::from_be_bytes(v.try_into().ok()?)))
        })
        .collect();
    let text = |key| -> Result<String, StoreError> {
        Ok(String::from_utf8_lossy(&store.get_raw(key)?.unwrap_or_default()).into_owned())
    };
    let settings = NodeSettings {
        api_key_secret: secret,
        quota_resets,
        region: text(keys::REGION)?,
        account_id: text(keys::ACCOUNT_ID)?,
    };
    set.insert(
        resource_name::SETTINGS.into(),
        wrap(resource_name::SETTINGS.into(), Body::Settings(settings)),
    );
    Ok(set)
}

/// Every key, plan, IAM principal, access key and outbound credential, for a control plane
/// starting up.
pub fn keys_and_plans(store: &View, master: &MasterKey) -> Result<DesiredSet, StoreError> {
    let mut set = DesiredSet::new();
    for p in store.scan::<IamPrincipal>(keys::PRINCIPALS)? {
        let r = principal_resource(&p);
        set.insert(r.name.clone(), Arc::new(r));
    }
    for k in store.scan::<AccessKey>(keys::ACCESS_KEYS)? {
        if let Some(r) = access_key_resource(&k, master) {
            set.insert(r.name.clone(), Arc::new(r));
        }
    }
    for c in store.scan::<OutboundCredential>(keys::OUTBOUND_CREDENTIALS)? {
        if let Some(r) = crate::api::outbound::resource(&c, master) {
            set.insert(r.name.clone(), Arc::new(r));
        }
    }
    for key in store.scan::<ApiKey>(keys::API_KEYS)? {
        let r = api_key_resource(&key);
        set.insert(r.name.clone(), Arc::new(r));
    }
    for plan in store.scan::<UsagePlan>(keys::USAGE_PLANS)? {
        let r = usage_plan_resource(&plan);
        set.insert(r.name.clone(), Arc::new(r));
    }
    Ok(set)
}

/// The individually published resource (see [`read_individual`]) whose
/// record is at store key `key`, if it is one.
pub fn individual_name(key: &str) -> Option<String> {
    if let Some(name) = key.strip_prefix(keys::PRINCIPALS) {
        return Some(resource_name::principal(name));
    }
    if let Some(id) = key.strip_prefix(keys::ACCESS_KEYS) {
        return Some(resource_name::access_key(id));
    }
    if let Some(name) = key.strip_prefix(keys::OUTBOUND_CREDENTIALS) {
        return Some(resource_name::outbound_credential(name));
    }
    if let Some(id) = key.strip_prefix(keys::API_KEYS) {
        return Some(resource_name::api_key(id));
    }
    if let Some(id) = key.strip_prefix(keys::USAGE_PLANS) {
        return Some(resource_name::usage_plan(id));
    }
    None
}

/// The current state of one individually published resource (`apikey/…`,
/// `usageplan/…`, `principal/…`, `accesskey/…`), or None when it no longer
/// exists.
pub fn read_individual(
    store: &View,
    name: &str,
    master: &MasterKey,
) -> Result<Option<ConfigResource>, StoreError> {
    if let Some(id) = name.strip_prefix("principal/") {
        return Ok(store
            .get::<IamPrincipal>(&keys::principal(id))?
            .map(|p| principal_resource(&p)));
    }
    if let Some(id) = name.strip_prefix("accesskey/") {
        return Ok(store
            .get::<AccessKey>(&keys::access_key(id))?
            .and_then(|k| access_key_resource(&k, master)));
    }
    if let Some(id) = name.strip_prefix("outboundcredential/") {
        return Ok(store
            .get::<OutboundCredential>(&keys::outbound_credential(id))?
            .and_then(|c| crate::api::outbound::resource(&c, master)));
    }
    if let Some(id) = name.strip_prefix("apikey/") {
        return Ok(store
            .get::<ApiKey>(&keys::api_key(id))?
            .map(|k| api_key_resource(&k)));
    }
    if let Some(id) = name.strip_prefix("usageplan/") {
        return Ok(store
            .get::<UsagePlan>(&keys::usage_plan(id))?
            .map(|p| usage_plan_resource(&p)));
    }
    Ok(None)
}

/// What a node needs of a key: no name or description, the hash not the value.
pub fn api_key_resource(key: &ApiKey) -> ConfigResource {
    ConfigResource {
        name: resource_name::api_key(&key.id),
        resource: Some(Body::ApiKey(ApiKey {
            id: key.id.clone(),
            enabled: key.enabled,
            value_hash: key.value_hash.clone(),
            usage_plan_ids: key.usage_plan_ids.clone(),
            ..Default::default()
        })),
    }
}

pub fn principal_resource(p: &IamPrincipal) -> ConfigResource {
    ConfigResource {
        name: resource_name::principal(&p.name),
        resource: Some(Body::Principal(IamPrincipal {
            description: String::new(),
            ..p.clone()
        })),
    }
}

/// What a node needs of an access key: the secret in clear (SigV4 is
/// checked with it), never the sealed copy. None when the secret cannot be
/// opened (the master key does not match); the key then works nowhere.
pub fn access_key_resource(k: &AccessKey, master: &MasterKey) -> Option<ConfigResource> {
    let secret = match master.open(&k.access_key_id, &k.sealed_secret) {
        Ok(secret) => String::from_utf8(secret).ok()?,
        Err(e) => {
            tracing::error!(access_key = %k.access_key_id, error = %e, "cannot open an access key's secret");
            return None;
        }
    };
    Some(ConfigResource {
        name: resource_name::access_key(&k.access_key_id),
        resource: Some(Body::AccessKey(AccessKey {
            secret_access_key: secret,
            sealed_secret: Vec::new(),
            ..k.clone()
        })),
    })
}

pub fn usage_plan_resource(plan: &UsagePlan) -> ConfigResource {
    ConfigResource {
        name: resource_name::usage_plan(&plan.id),
        resource: Some(Body::UsagePlan(UsagePlan {
            description: String::new(),
            ..plan.clone()
        })),
    }
}

fn wrap(name: String, body: Body) -> Arc<ConfigResource> {
    Arc::new(ConfigResource {
        name,
        resource: Some(body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// A stage's history is the control plane's: nodes get the stage
    /// without it, so a change to the history alone (a deleted old
    /// deployment leaving it) publishes nothing.
    #[tokio::test]
    async fn a_stages_history_does_not_travel_to_the_nodes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let stage = |history: &[&str]| Stage {
            api_id: "pets".into(),
            stage_name: "prod".into(),
            deployment_id: "d3".into(),
            previous_deployment_ids: history.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let write = async |stage: Stage| {
            store
                .write(|txn| {
                    txn.put(&keys::stage("pets", "prod"), &stage);
                    txn.put(
                        &keys::deployment("pets", "d3"),
                        &Deployment {
                            id: "d3".into(),
                            api_id: "pets".into(),
                            ..Default::default()
                        },
                    );
                    Ok::<_, StoreError>(())
                })
                .await
                .unwrap();
            build(&store.view(), &BTreeMap::new()).unwrap()
        };
        let with_history = write(stage(&["d2", "d1"])).await;
        let name = resource_name::stage("pets", "prod");
        let Some(Body::Stage(sent)) = &with_history[&name].resource else {
            panic!("the stage is in the set: {with_history:?}");
        };
        assert_eq!(sent.deployment_id, "d3");
        assert!(sent.previous_deployment_ids.is_empty(), "{sent:?}");
        assert_eq!(write(stage(&["d1"])).await, with_history);
    }
}
