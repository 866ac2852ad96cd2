//! Traffic never depends on the control plane being up: nodes keep serving
//! without it, a node restarted meanwhile serves its saved snapshot, and both
//! catch up when it returns.

use archway_e2e::admin::mock;
use archway_e2e::http_client::GatewayClient;
use archway_e2e::{Admin, ControlPlane, DataPlane};
use archway_proto::v1::ApiProtocol;
use http::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_serve_through_a_control_plane_outage() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp_dir = dir.path().join("cp");
    let mut cp = ControlPlane::start(&cp_dir)?;
    let cp_addr = cp.process.addr.to_string();
    let a = DataPlane::start(&cp.url(), "a", &dir.path().join("a"), &[])?;
    let mut b = DataPlane::start(&cp.url(), "b", &dir.path().join("b"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin.create_api("steady", ApiProtocol::Rest).await?;
    admin
        .route(&api, "/ping", "GET", mock(200, "pong v1"))
        .await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["a", "b"]).await?;

    cp.process.kill();
    let http = GatewayClient::default();
    for node in [a.addr(), b.addr()] {
        assert_eq!(
            http.get(node, "steady", "/prod/ping").await?.body,
            "pong v1"
        );
    }

    // Restart node b while the control plane is down: it serves from disk.
    b.process.kill();
    let b = DataPlane::start(&cp_addr_url(&cp_addr), "b", &dir.path().join("b"), &[])?;
    let answer = http.get(b.addr(), "steady", "/prod/ping").await?;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (StatusCode::OK, "pong v1")
    );

    // The control plane returns on the same address with its data intact;
    // both nodes reconnect and take a change made after it.
    let cp = ControlPlane::start_on(&cp_dir, &cp_addr)?;
    let mut admin = Admin::connect(&cp.url()).await?;
    admin.wait_converged(&["a", "b"]).await?;
    admin
        .route(&api, "/ping", "GET", mock(200, "pong v2"))
        .await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["a", "b"]).await?;
    for node in [a.addr(), b.addr()] {
        assert_eq!(
            http.get(node, "steady", "/prod/ping").await?.body,
            "pong v2"
        );
    }
    Ok(())
}

fn cp_addr_url(addr: &str) -> String {
    format!("http://{addr}")
}
