//! The admin UI in a real browser (Debian's Chromium driven by
//! playwright-core) against a real control plane, a real node and a real
//! upstream: the scripts are in `admin-ui/e2e/`, the processes start here.

use archway_e2e::http_client::DOMAIN;
use archway_e2e::upstream;
use archway_e2e::{browser, config_stream};
use archway_proto::v1::TokenRole;

/// Sign in; create an API with a route; deploy it to a stage; 200 through
/// the node; the fleet page shows the node at the new version; the request
/// in the traffic chart; roll back and the old answer; a key's value shown
/// once; models, a request validator, a gateway response the node then
/// serves and an outbound credential whose secret is never shown; a
/// read-only token cannot edit; bad input's message (a path template, a
/// schema, a header mapping, an access key id) beside its field.
/// Screenshots in target/ui-screenshots/operator_flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_flow_in_a_real_browser() -> anyhow::Result<()> {
    if !browser::available("the admin UI in a browser") {
        return Ok(());
    }
    let backend = upstream::start("backend").await;
    // Report traffic every second, so the chart shows a request soon.
    let (_dir, cp, node, admin) =
        archway_e2e::started_with_node("ui-node", &["--traffic-report-interval-ms", "1000"])
            .await?;
    let reader = admin
        .with_new_token("ui-reader", TokenRole::ReadOnly)
        .await?;

    let script = tokio::task::spawn_blocking({
        let env = vec![
            ("ARCHWAY_ADMIN_URL", cp.url()),
            (
                "ARCHWAY_ADMIN_TOKEN",
                archway_e2e::TEST_ADMIN_TOKEN.to_owned(),
            ),
            ("ARCHWAY_READONLY_TOKEN", reader.secret),
            ("ARCHWAY_NODE_ADDR", node.addr().to_string()),
            ("ARCHWAY_NODE_ID", node.node_id.clone()),
            ("ARCHWAY_UPSTREAM", backend.addr.to_string()),
            ("ARCHWAY_API_DOMAIN", DOMAIN.to_owned()),
        ];
        move || browser::run_script("flow.mjs", "operator_flow", &env)
    })
    .await?;
    script?;
    Ok(())
}

/// The measurements, run by hand (`cargo test -p archway-e2e --test
/// admin_ui ui_measurements -- --ignored --nocapture`): first load over
/// loopback, the APIs page with 1,000 APIs and the fleet page with 50 node
/// streams (test streams that ACK every version, as nodes do).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, printed; run by hand"]
async fn ui_measurements() -> anyhow::Result<()> {
    const APIS: usize = 1000;
    const NODES: usize = 50;
    if !browser::available("the admin UI measurements") {
        return Ok(());
    }
    let (_dir, cp, admin) = archway_e2e::started().await?;
    let document: String = (0..APIS)
        .map(|i| format!("  - id: api-{i:04}\n    name: API {i}\n"))
        .collect();
    admin
        .config
        .clone()
        .apply_configuration(archway_proto::v1::ApplyConfigurationRequest {
            document: format!("apis:\n{document}"),
            ..Default::default()
        })
        .await?;
    let mut nodes = Vec::new();
    for i in 0..NODES {
        nodes.push(config_stream::follow(&cp.url(), &format!("node-{i:02}")).await?);
    }
    let script = tokio::task::spawn_blocking({
        let env = vec![
            ("ARCHWAY_ADMIN_URL", cp.url()),
            (
                "ARCHWAY_ADMIN_TOKEN",
                archway_e2e::TEST_ADMIN_TOKEN.to_owned(),
            ),
            ("ARCHWAY_EXPECT_APIS", APIS.to_string()),
            ("ARCHWAY_EXPECT_NODES", NODES.to_string()),
        ];
        move || browser::run_script("measure.mjs", "measurements", &env)
    })
    .await?;
    script?;
    drop(nodes);
    Ok(())
}
