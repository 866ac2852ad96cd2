//! Stage: throttling and quotas, broadest first so a refused request costs
//! no quota: the node's default bucket (per node, like AWS's account limit),
//! the stage's bucket (or its method's), then the caller's usage plan
//! (its method throttle or plan throttle, and its quota). An admitted keyed
//! request is counted for usage reports.

use super::api_key::Identity;
use super::context::{Context, Target};
use super::gateway_response::GatewayResponse;
use super::observe::Phase;
use crate::limits::{BucketName, Check, Decision, Limits, QuotaCounter};
use crate::tables::RuntimeTables;
use archway_proto::quota;
use std::time::Duration;

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

/// The phase. A WebSocket route's verb is its route key (`$connect`), as
/// stage and plan method throttles name it.
pub async fn admit<'a>(
    cx: &mut Context<'a>,
    target: &Target<'a>,
    limits: &Limits,
) -> Result<(), GatewayResponse> {
    let verb = match &target.route.route_key {
        Some(key) => key,
        None => cx.head.method.as_str(),
    };
    let checked = check(cx.tables, target, verb, cx.usage, limits).await?;
    if checked {
        cx.observation.event(Phase::LimitsPassed);
    }
    Ok(())
}

/// The throttles and quota of one call of `target`'s route with `verb`, by
/// the caller `usage` identifies: what [`admit`] checks for a request, and
/// a WebSocket connection for each message (with the key identified at
/// `$connect`). Whether any limit was checked.
pub async fn check<'a>(
    tables: &'a RuntimeTables,
    target: &Target<'a>,
    verb: &str,
    usage: Option<Identity<'a>>,
    limits: &Limits,
) -> Result<bool, GatewayResponse> {
    let Target {
        api, stage, route, ..
    } = *target;
    let mut checked = false;
    if let Some(throttle) = limits.node_default {
        refused(limits.limiter.check_local(&Check {
            bucket: BucketName::Node,
            throttle: Some(throttle),
            quota: None,
        }))?;
        checked = true;
    }
    if !stage.throttles.is_empty()
        && let Some(throttle) = stage.throttles.find(&route.resource_path, verb)
    {
        let bucket = BucketName::Stage {
            api: &api.id,
            stage: &stage.name,
            path: &route.resource_path,
            method: verb,
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
        checked = true;
    }
    let Some(identity) = usage else {
        return Ok(checked);
    };
    let plan = identity.plan;
    let method_throttle = plan
        .stages
        .get(&*api.id)
        .and_then(|stages| stages.get(&*stage.name))
        .and_then(|t| t.find(&route.resource_path, verb));
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
                method: verb,
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
        checked = true;
    }
    limits.usage.record(&plan.id, identity.key_id, today);
    Ok(checked)
}
