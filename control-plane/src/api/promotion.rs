//! Promoting a stage's canary: the canary's deployment becomes the stage's
//! and the canary goes away.
//!
//! A canary is meant to carry the newer version. When it carries an older
//! one (the stage was deployed to directly after the canary was set up),
//! promoting would quietly roll the stage back, so the server refuses it
//! unless the caller says `force`: the CLI, the web UI and any gRPC client
//! get the same protection.

use crate::error::{ApiError, ApiResult};
use archway_proto::v1::{Deployment, Stage};

/// The stage after promoting its canary, given the deployments it serves
/// now (`serving`) and would serve (`candidate`).
pub(crate) fn promoted(
    mut stage: Stage,
    serving: &Deployment,
    candidate: &Deployment,
    force: bool,
) -> ApiResult<Stage> {
    if !force && candidate.created_at_ms < serving.created_at_ms {
        return Err(ApiError::FailedPrecondition(format!(
            "the canary's deployment '{}' is older than the deployment '{}' that stage \
             '{}' serves ('{}' is newer by {}): promoting would roll the stage back. \
             Deploy the version you want to the canary (or to the stage) first, \
             or promote with force (archwayctl promote --force) to serve the older deployment",
            candidate.id,
            serving.id,
            stage.stage_name,
            serving.id,
            age(serving.created_at_ms - candidate.created_at_ms)
        )));
    }
    stage.deployment_id = candidate.id.clone();
    stage.canary = None;
    Ok(stage)
}

fn age(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        ..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_proto::v1::CanarySettings;

    fn made_at(id: &str, created_at_ms: i64) -> Deployment {
        Deployment {
            id: id.into(),
            created_at_ms,
            ..Default::default()
        }
    }

    fn stage() -> Stage {
        Stage {
            stage_name: "prod".into(),
            deployment_id: "old".into(),
            canary: Some(CanarySettings {
                deployment_id: "new".into(),
                percent_traffic: 10.0,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_newer_or_equal_canary_becomes_the_stages_deployment() {
        let serving = made_at("old", 1_000);
        for candidate in [made_at("new", 5_000), made_at("new", 1_000)] {
            let promoted = promoted(stage(), &serving, &candidate, false).unwrap();
            assert_eq!(promoted.deployment_id, "new");
            assert!(promoted.canary.is_none());
        }
    }

    #[test]
    fn an_older_canary_is_refused_naming_the_newer_deployment_unless_forced() {
        let serving = made_at("d-new", 200_000);
        let candidate = made_at("d-old", 20_000);
        let refusal = promoted(stage(), &serving, &candidate, false)
            .unwrap_err()
            .to_string();
        assert!(
            refusal.contains(
                "the canary's deployment 'd-old' is older than the deployment 'd-new' that stage 'prod' serves ('d-new' is newer by 3 min)"
            ),
            "{refusal}"
        );
        assert!(refusal.contains("force"), "{refusal}");
        let forced = promoted(stage(), &serving, &candidate, true).unwrap();
        assert_eq!(forced.deployment_id, "d-old");
    }
}
