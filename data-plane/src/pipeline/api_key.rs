//! Stage: API keys. For methods that require one, the key (from `x-api-key`,
//! or from the authorizer when the API says so) must exist, be enabled, and
//! belong to a usage plan that covers this stage; otherwise 403, as in AWS.
//! The value is never compared: its HMAC under the fleet's secret is looked
//! up.

use super::context::{Context, Target};
use super::gateway_response::GatewayResponse;
use super::observe::Phase;
use crate::tables::{ApiTable, CompiledPlan, KeyHash, RuntimeTables, StageTable};
use archway_proto::v1::ApiKeySource;
use hmac::Mac;
use std::sync::Arc;

/// Who is calling, for usage plans.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'t> {
    pub key_id: &'t Arc<str>,
    pub plan: &'t CompiledPlan,
}

/// The phase: for a method that requires a key, finds the caller's key
/// and usage plan ([`Context::usage`]), or refuses.
pub fn require<'a>(cx: &mut Context<'a>, target: &Target<'a>) -> Result<(), GatewayResponse> {
    if !target.route.api_key_required {
        return Ok(());
    }
    let usage_key = cx.authorization.usage_key();
    let identity = identify(
        cx.tables,
        target.api,
        target.stage,
        &cx.head.headers,
        usage_key,
    )?;
    cx.usage = Some(identity);
    cx.observation.event(Phase::ApiKeyAccepted);
    Ok(())
}

pub fn identify<'t>(
    tables: &'t RuntimeTables,
    api: &ApiTable,
    stage: &StageTable,
    headers: &http::HeaderMap,
    authorizer_key: Option<&str>,
) -> Result<Identity<'t>, GatewayResponse> {
    let value = match api.api_key_source {
        ApiKeySource::Header => headers
            .get(super::headers::X_API_KEY)
            .and_then(|v| v.to_str().ok()),
        ApiKeySource::Authorizer => authorizer_key,
    }
    .filter(|v| !v.is_empty())
    .ok_or(GatewayResponse::InvalidApiKey)?;
    let mut mac = tables
        .api_key_mac
        .clone()
        .ok_or(GatewayResponse::InvalidApiKey)?;
    mac.update(value.as_bytes());
    let hash: KeyHash = mac.finalize().into_bytes().into();
    let key = tables
        .keys
        .by_hash
        .get(&hash)
        .filter(|k| k.enabled)
        .ok_or(GatewayResponse::InvalidApiKey)?;
    let plan = key
        .plans
        .iter()
        .filter_map(|id| tables.plans.get(&**id))
        .find(|plan| {
            plan.stages
                .get(&*api.id)
                .is_some_and(|stages| stages.contains_key(&*stage.name))
        })
        .ok_or(GatewayResponse::InvalidApiKey)?;
    Ok(Identity {
        key_id: &key.id,
        plan,
    })
}
