//! Stage: throttling and quotas, broadest first so a refused request costs
//! no quota: the node's default bucket (per node, like AWS's account limit),
//! the stage's bucket (or its method's), then the caller's usage plan
//! (its method throttle or plan throttle, and its quota). An admitted keyed
//! request is counted for usage reports.

use super::api_key::Identity;
use super::gateway_response::GatewayResponse;
use crate::limits::usage::UsageRecorder;
use crate::limits::{BucketName, Check, Decision, Limiter, QuotaCounter};
use crate::tables::{ApiTable, Route, RuntimeTables, StageTable, Throttle};
use archway_proto::quota;
use std::time::Duration;

/// Limits that do not come from configuration.
#[derive(Debug)]
pub struct Limits {
    pub limiter: Limiter,
    /// Per node; None: none.
    pub node_default: Option<Throttle>,
    pub usage: UsageRecorder,
}

fn refused(decision: Decision) -> Result<(), GatewayResponse> {
    match decision {
        Decision::Admit => Ok(()),
        Decision::Throttled(wait) => Err(GatewayResponse::Throttled(retry_secs(wait))),
        Decision::QuotaExceeded => Err(GatewayResponse::QuotaExceeded),
    }
}

fn retry_secs(wait: Duration) -> u32 {
    wait.as_secs_f64().ceil().clamp(1.0, 3600.0) as u32
}

#[allow(clippy::too_many_arguments)]
pub async fn admit(
    limits: &Limits,
    tables: &RuntimeTables,
    api: &ApiTable,
    stage: &StageTable,
    route: &Route,
    method: &http::Method,
    identity: Option<Identity<'_>>,
) -> Result<(), GatewayResponse> {
    if let Some(throttle) = limits.node_default {
        refused(limits.limiter.check_local(&Check {
            bucket: BucketName::Node,
            throttle: Some(throttle),
            quota: None,
        }))?;
    }
    if !stage.throttles.is_empty()
        && let Some(throttle) = stage.throttles.find(&route.resource_path, method.as_str())
    {
        let bucket = BucketName::Stage {
            api: &api.id,
            stage: &stage.name,
            path: &route.resource_path,
            method: method.as_str(),
        };
        refused(
            limits
                .limiter
                .check(&Check {
                    bucket,
                    throttle: Some(throttle),
                    quota: None,
                })
                .await,
        )?;
    }
    let Some(identity) = identity else {
        return Ok(());
    };
    let plan = identity.plan;
    let method_throttle = plan
        .stages
        .get(&*api.id)
        .and_then(|stages| stages.get(&*stage.name))
        .and_then(|t| t.find(&route.resource_path, method.as_str()));
    let throttle = method_throttle.or(plan.throttle);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let today = quota::day_of(now_ms);
    let counter = plan.quota.map(|q| {
        let start = quota::period_start(today, q.period, q.offset);
        let reset = tables
            .quota_resets
            .get(&*plan.id)
            .and_then(|keys| keys.get(&**identity.key_id))
            .copied()
            .unwrap_or(0);
        (
            QuotaCounter {
                plan: &plan.id,
                key: identity.key_id,
                start,
                reset,
            },
            q,
        )
    });
    if throttle.is_some() || counter.is_some() {
        let bucket = match method_throttle {
            Some(_) => BucketName::PlanMethod {
                plan: &plan.id,
                key: identity.key_id,
                path: &route.resource_path,
                method: method.as_str(),
            },
            None => BucketName::Plan {
                plan: &plan.id,
                key: identity.key_id,
            },
        };
        refused(
            limits
                .limiter
                .check(&Check {
                    bucket,
                    throttle,
                    quota: counter,
                })
                .await,
        )?;
    }
    limits.usage.record(&plan.id, identity.key_id, today);
    Ok(())
}
