//! `archwayctl promote`: makes a stage's canary deployment its main one.
//!
//! A canary is meant to carry the newer version. When it carries an older
//! one — the stage was deployed to directly after the canary was set up —
//! promoting would quietly roll the stage back, so it is refused unless
//! the operator says `--force`.

use super::client::{AdminClient, status_error};
use anyhow::bail;
use archway_proto::v1::{Deployment, GetDeploymentRequest, UpdateStageRequest};

pub async fn promote(
    client: &mut AdminClient,
    api_id: &str,
    stage_name: &str,
    force: bool,
) -> anyhow::Result<()> {
    let mut stage = super::get_stage(client, api_id, stage_name).await?;
    let Some(canary) = stage.canary.take() else {
        bail!(
            "stage '{stage_name}' has no canary to promote: `archwayctl get stages {api_id}` \
             shows each stage's canary"
        );
    };
    if !force {
        let serving = deployment(client, api_id, &stage.deployment_id).await?;
        let candidate = deployment(client, api_id, &canary.deployment_id).await?;
        check_promotion(stage_name, &serving, &candidate)?;
    }
    stage.deployment_id = canary.deployment_id.clone();
    client
        .deployments
        .update_stage(UpdateStageRequest {
            stage: Some(stage),
            // The canary is named and absent: cleared.
            update_mask: super::client::mask(&["deployment_id", "canary"]),
        })
        .await
        .map_err(|s| status_error("promoting", s))?;
    println!("stage {stage_name}: now serves {}", canary.deployment_id);
    Ok(())
}

async fn deployment(
    client: &mut AdminClient,
    api_id: &str,
    deployment_id: &str,
) -> anyhow::Result<Deployment> {
    Ok(client
        .deployments
        .get_deployment(GetDeploymentRequest {
            api_id: api_id.into(),
            deployment_id: deployment_id.into(),
        })
        .await
        .map_err(|s| status_error(&format!("reading deployment '{deployment_id}'"), s))?
        .into_inner())
}

/// Refuses to promote a canary deployment older than the one the stage
/// serves, naming which is newer and what to do instead.
fn check_promotion(
    stage_name: &str,
    serving: &Deployment,
    candidate: &Deployment,
) -> anyhow::Result<()> {
    if candidate.created_at_ms >= serving.created_at_ms {
        return Ok(());
    }
    bail!(
        "the canary's deployment '{}' is older than the deployment '{}' that stage \
         '{stage_name}' serves ('{}' is newer by {}): promoting would roll the stage back. \
         Deploy the version you want to the canary (or to the stage) first, \
         or pass --force to promote the older deployment anyway",
        candidate.id,
        serving.id,
        serving.id,
        age(serving.created_at_ms - candidate.created_at_ms)
    )
}

/// A duration in the largest whole unit, e.g. "3 min" or "2 h".
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

    fn made_at(id: &str, created_at_ms: i64) -> Deployment {
        Deployment {
            id: id.into(),
            created_at_ms,
            ..Default::default()
        }
    }

    #[test]
    fn a_newer_or_equal_canary_may_be_promoted() {
        let serving = made_at("old", 1_000);
        assert!(check_promotion("prod", &serving, &made_at("new", 5_000)).is_ok());
        assert!(check_promotion("prod", &serving, &made_at("same", 1_000)).is_ok());
    }

    #[test]
    fn an_older_canary_is_refused_naming_the_newer_deployment() {
        let refusal = check_promotion(
            "prod",
            &made_at("d-new", 200_000),
            &made_at("d-old", 20_000),
        )
        .unwrap_err()
        .to_string();
        assert!(
            refusal.starts_with("the canary's deployment 'd-old' is older than the deployment 'd-new' that stage 'prod' serves ('d-new' is newer by 3 min)"),
            "{refusal}"
        );
        assert!(refusal.contains("--force"), "{refusal}");
    }
}
