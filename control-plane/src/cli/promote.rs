//! `archwayctl promote`: makes a stage's canary deployment its main one,
//! through the server's PromoteCanary, which refuses a canary older than
//! the stage's deployment (it would roll the stage back) unless `--force`.

use super::client::{AdminClient, status_error};
use archway_proto::v1::PromoteCanaryRequest;

pub async fn promote(
    client: &mut AdminClient,
    api_id: &str,
    stage_name: &str,
    force: bool,
) -> anyhow::Result<()> {
    let stage = client
        .deployments
        .promote_canary(PromoteCanaryRequest {
            api_id: api_id.into(),
            stage_name: stage_name.into(),
            force,
        })
        .await
        .map_err(|s| status_error("promoting", s))?
        .into_inner();
    println!("stage {stage_name}: now serves {}", stage.deployment_id);
    Ok(())
}
