//! What the fleet should hold: built from the store as a map from resource
//! name to resource. Only what serves traffic travels — APIs, stages and the
//! deployments a stage or its canary points at — so old deployments kept for
//! rollback cost the nodes nothing.

use crate::store::{Store, StoreError, keys};
use archway_proto::resource_name;
use archway_proto::v1::config_resource::Resource as Body;
use archway_proto::v1::{ConfigResource, Deployment, RestApi, Stage};
use std::collections::BTreeMap;
use std::sync::Arc;

pub type DesiredSet = BTreeMap<String, Arc<ConfigResource>>;

/// Builds the desired set. `known` is the previous set: deployments are
/// immutable, so one already present is reused instead of read again.
pub fn build(
    store: &Store,
    known: &BTreeMap<String, Arc<ConfigResource>>,
) -> Result<DesiredSet, StoreError> {
    let mut set = DesiredSet::new();
    for api in store.scan::<RestApi>(keys::APIS)? {
        let name = resource_name::api(&api.id);
        // Nodes need only what routing uses: a renamed API costs them nothing.
        let served = RestApi {
            id: api.id,
            protocol: api.protocol,
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
        set.insert(name.clone(), wrap(name, Body::Stage(stage)));
    }
    Ok(set)
}

fn wrap(name: String, body: Body) -> Arc<ConfigResource> {
    Arc::new(ConfigResource {
        name,
        resource: Some(body),
    })
}
