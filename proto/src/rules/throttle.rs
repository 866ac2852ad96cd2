//! Throttles and quotas: token buckets for stages, methods and usage plans,
//! and the request quotas of usage plans.

use super::names::{max_len, name};
use super::{Checked, Violation, sub};
use crate::v1::{
    ApiProtocol, MethodThrottle, QuotaPeriod, QuotaSettings, ThrottleSettings, UsagePlan,
};
use std::collections::HashSet;

/// The largest rate (per second) and burst a bucket may have (AWS's limits
/// are far lower).
pub const MAX_RATE: f64 = 1e6;
pub const MAX_BURST: u32 = 1_000_000;

/// A token bucket: a finite, non-negative rate of at most 1,000,000 per
/// second and a burst of at most 1,000,000.
pub fn throttle(field: &str, t: &ThrottleSettings) -> Checked {
    if !t.rate_limit.is_finite() || t.rate_limit < 0.0 || t.rate_limit > MAX_RATE {
        return Err(Violation::new(
            sub(field, "rate_limit"),
            format!(
                "must be between 0 and 1000000 requests per second, got {}",
                t.rate_limit
            ),
        ));
    }
    if t.burst_limit > MAX_BURST {
        return Err(Violation::new(
            sub(field, "burst_limit"),
            format!("must be at most 1000000, got {}", t.burst_limit),
        ));
    }
    if t.rate_limit > 0.0 && t.burst_limit == 0 {
        return Err(Violation::new(
            sub(field, "burst_limit"),
            "must be at least 1 when rate_limit is set",
        ));
    }
    Ok(())
}

/// A method throttle names `*` or a resource path, and `*` or a verb.
pub fn method_throttle(field: &str, m: &MethodThrottle) -> Checked {
    if m.resource_path != "*" && !m.resource_path.starts_with('/') {
        return Err(Violation::new(
            sub(field, "resource_path"),
            format!(
                "'{}' must be '*' or a resource path such as /pets/{{petId}}",
                m.resource_path
            ),
        ));
    }
    if m.http_method != "*" {
        super::http::http_method(&sub(field, "http_method"), &m.http_method)?;
    }
    let t = m
        .throttle
        .as_ref()
        .ok_or_else(|| Violation::new(sub(field, "throttle"), "is required"))?;
    throttle(&sub(field, "throttle"), t)
}

/// A quota with a limit needs a period, and an offset within it.
pub fn quota(field: &str, q: &QuotaSettings) -> Checked {
    if q.limit == 0 {
        return Ok(());
    }
    let (period, max_offset) = match QuotaPeriod::try_from(q.period) {
        Ok(QuotaPeriod::Day) => (QuotaPeriod::Day, 0),
        Ok(QuotaPeriod::Week) => (QuotaPeriod::Week, 6),
        Ok(QuotaPeriod::Month) => (QuotaPeriod::Month, 27),
        _ => {
            return Err(Violation::new(
                sub(field, "period"),
                "must be DAY, WEEK or MONTH when a limit is set",
            ));
        }
    };
    if q.offset > max_offset {
        return Err(Violation::new(
            sub(field, "offset"),
            format!(
                "must be at most {max_offset} for a {period:?} period, got {}",
                q.offset
            ),
        ));
    }
    Ok(())
}

/// A usage plan's own settings (whether its stages exist is the control
/// plane's to check). `protocol_of` gives the protocol of each API the plan
/// names: a WEBSOCKET API's stage throttles routes by key on `/`
/// ([`super::websocket::route_throttle`]), the others methods on paths.
pub fn usage_plan(plan: &UsagePlan, protocol_of: impl Fn(&str) -> ApiProtocol) -> Checked {
    name("plan.name", &plan.name)?;
    max_len("plan.description", &plan.description, 4096)?;
    if let Some(t) = &plan.throttle {
        throttle("plan.throttle", t)?;
    }
    if let Some(q) = &plan.quota {
        quota("plan.quota", q)?;
    }
    let mut seen = HashSet::new();
    for (i, s) in plan.api_stages.iter().enumerate() {
        let field = format!("plan.api_stages[{i}]");
        if !seen.insert((s.api_id.as_str(), s.stage.as_str())) {
            return Err(Violation::new(field, "lists a stage twice"));
        }
        let websocket = protocol_of(&s.api_id) == ApiProtocol::Websocket;
        for (j, m) in s.throttle.iter().enumerate() {
            let at = format!("{field}.throttle[{j}]");
            if websocket {
                super::websocket::route_throttle(&at, m)?;
            } else {
                method_throttle(&at, m)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::UsagePlanStage as ApiStage;

    fn bucket(rate: f64, burst: u32) -> ThrottleSettings {
        ThrottleSettings {
            rate_limit: rate,
            burst_limit: burst,
        }
    }

    #[test]
    fn buckets_are_finite_and_bounded() {
        assert!(throttle("t", &bucket(10.0, 5)).is_ok());
        assert!(throttle("t", &bucket(0.0, 0)).is_ok());
        for (t, field) in [
            (bucket(f64::NAN, 1), "t.rate_limit"),
            (bucket(f64::INFINITY, 1), "t.rate_limit"),
            (bucket(-1.0, 1), "t.rate_limit"),
            (bucket(2e6, 1), "t.rate_limit"),
            (bucket(1.0, 2_000_000), "t.burst_limit"),
            (bucket(1.0, 0), "t.burst_limit"),
        ] {
            assert_eq!(throttle("t", &t).unwrap_err().field, field, "{t:?}");
        }
    }

    fn rest(_: &str) -> ApiProtocol {
        ApiProtocol::Rest
    }

    #[test]
    fn plans_throttle_websocket_routes_by_key_and_rest_methods_by_verb() {
        let plan = UsagePlan {
            name: "gold".into(),
            api_stages: vec![ApiStage {
                api_id: "chat".into(),
                stage: "prod".into(),
                throttle: vec![MethodThrottle {
                    resource_path: "/".into(),
                    http_method: "sendMessage".into(),
                    throttle: Some(bucket(1.0, 1)),
                }],
            }],
            ..Default::default()
        };
        usage_plan(&plan, |_| ApiProtocol::Websocket).unwrap();
        assert_eq!(
            usage_plan(&plan, rest).unwrap_err().field,
            "plan.api_stages[0].throttle[0].http_method"
        );
        let mut on_a_path = plan.clone();
        on_a_path.api_stages[0].throttle[0].resource_path = "/rooms".into();
        assert_eq!(
            usage_plan(&on_a_path, |_| ApiProtocol::Websocket)
                .unwrap_err()
                .field,
            "plan.api_stages[0].throttle[0].resource_path"
        );
    }

    #[test]
    fn plans_name_the_bad_stage_throttle_or_quota() {
        let plan = UsagePlan {
            name: "gold".into(),
            quota: Some(QuotaSettings {
                limit: 10,
                period: QuotaPeriod::Week as i32,
                offset: 7,
            }),
            ..Default::default()
        };
        assert_eq!(
            usage_plan(&plan, rest).unwrap_err().field,
            "plan.quota.offset"
        );
        let stage = ApiStage {
            api_id: "a".into(),
            stage: "prod".into(),
            throttle: vec![MethodThrottle {
                resource_path: "pets".into(),
                http_method: "GET".into(),
                throttle: Some(bucket(1.0, 1)),
            }],
        };
        let plan = UsagePlan {
            quota: None,
            api_stages: vec![stage.clone()],
            ..plan
        };
        assert_eq!(
            usage_plan(&plan, rest).unwrap_err().field,
            "plan.api_stages[0].throttle[0].resource_path"
        );
        let twice = ApiStage {
            throttle: Vec::new(),
            ..stage
        };
        let plan = UsagePlan {
            api_stages: vec![twice.clone(), twice],
            ..plan
        };
        assert_eq!(
            usage_plan(&plan, rest).unwrap_err().field,
            "plan.api_stages[1]"
        );
    }
}
