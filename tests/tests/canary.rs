//! A stage's canary takes its share of the traffic, with its own stage
//! variables, on every node.

use archway_e2e::admin::http_proxy;
use archway_e2e::http_client::GatewayClient;
use archway_e2e::{Admin, ControlPlane, DataPlane, upstream};
use archway_proto::v1::{ApiProtocol, CanarySettings};
use std::collections::BTreeMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_split_holds_within_tolerance() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let stable = upstream::start("stable").await;
    let canary = upstream::start("canary").await;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let a = DataPlane::start(&cp.url(), "a", &dir.path().join("a"), &[])?;
    let b = DataPlane::start(&cp.url(), "b", &dir.path().join("b"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin.create_api("shop", ApiProtocol::Rest).await?;
    admin
        .route(
            &api,
            "/cart",
            "GET",
            http_proxy("http://${stageVariables.backend}/v1"),
        )
        .await?;
    let v1 = admin.deploy(&api, "prod").await?;
    admin
        .route(
            &api,
            "/cart",
            "GET",
            http_proxy("http://${stageVariables.backend}/v2"),
        )
        .await?;
    // A deployment not yet on any stage.
    let v2 = admin
        .deployments
        .create_deployment(archway_proto::v1::CreateDeploymentRequest {
            api_id: api.id.clone(),
            description: "v2".into(),
            stage_name: String::new(),
            create_stage: false,
        })
        .await?
        .into_inner();
    let mut stage = admin.stage(&api, "prod").await?;
    assert_eq!(stage.deployment_id, v1.id);
    stage.variables = BTreeMap::from([("backend".into(), stable.addr.to_string())]);
    stage.canary = Some(CanarySettings {
        deployment_id: v2.id.clone(),
        percent_traffic: 25.0,
        stage_variable_overrides: BTreeMap::from([("backend".into(), canary.addr.to_string())]),
    });
    admin.update_stage(stage).await?;
    admin.wait_converged(&["a", "b"]).await?;

    let http = GatewayClient::default();
    const N: usize = 800;
    let mut canary_hits = 0;
    for i in 0..N {
        let node = if i % 2 == 0 { a.addr() } else { b.addr() };
        let echo = http.get(node, "shop", "/prod/cart").await?.json();
        // The canary deployment with the canary's variables, or neither.
        match (echo["upstream"].as_str(), echo["path"].as_str()) {
            (Some("canary"), Some("/v2")) => canary_hits += 1,
            (Some("stable"), Some("/v1")) => {}
            other => panic!("mixed primary and canary settings: {other:?}"),
        }
    }
    let share = canary_hits as f64 / N as f64;
    eprintln!("canary share {share:.3} for a 25% canary over {N} requests");
    // Binomial(800, 0.25) has a standard deviation of about 1.5%: ±6% is 4σ.
    assert!((0.19..=0.31).contains(&share), "canary share {share}");
    Ok(())
}
