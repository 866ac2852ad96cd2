//! Nodes and archwayctl given several control-plane addresses use the one
//! that works and move on when it fails: a node follows the next replica
//! (taking its changes, never another store's configuration) and says where
//! it is connected; archwayctl uses the first replica that answers and
//! names every address it tried when none does.

use archway_e2e::admin::mock;
use archway_e2e::ctl::{ctl, ctl_run};
use archway_e2e::http_client::GatewayClient;
use archway_e2e::metrics::{sample, scrape};
use archway_e2e::{Admin, ControlPlane, DataPlane, unused_loopback_addr};
use archway_proto::v1::{
    ApiProtocol, GetUsageRequest, QuotaPeriod, QuotaSettings, RestApi, UsagePlan,
};
use http::StatusCode;
use std::time::{Duration, Instant};

/// The node's `archway_control_plane_connected` for `address` and its
/// `archway_control_plane_switches`.
async fn connection(node: &DataPlane, address: &str) -> anyhow::Result<(f64, f64)> {
    let scrape = scrape(node.admin_addr()).await?;
    Ok((
        sample(
            &scrape,
            "archway_control_plane_connected",
            &[("control_plane", address)],
        )
        .unwrap_or(f64::NAN),
        sample(&scrape, "archway_control_plane_switches_total", &[]).unwrap_or(0.0),
    ))
}

/// Waits (bounded) until the node's stream is open on `address` and it has
/// switched control planes `switches` times.
async fn wait_connected(node: &DataPlane, address: &str, switches: f64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = connection(node, address).await?;
        if now == (1.0, switches) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "node {} is not connected to {address} after {switches} switches: (connected, switches) = {now:?}",
            node.node_id
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (bounded) until `GET /prod/ping` of `api` on `node` answers `body`.
async fn wait_serves(node: &DataPlane, api: &str, body: &str) -> anyhow::Result<()> {
    let http = GatewayClient::default();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = http.get(node.addr(), api, "/prod/ping").await?;
        if (answer.status, answer.body.as_str()) == (StatusCode::OK, body) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "node {} answers {} '{}', not '{body}'",
            node.node_id,
            answer.status,
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Deploys `GET /ping` answering `body` on API `api` to stage prod.
async fn deploy_ping(admin: &mut Admin, api: &RestApi, body: &str) -> anyhow::Result<()> {
    admin.route(api, "/ping", "GET", mock(200, body)).await?;
    admin.deploy(api, "prod").await?;
    Ok(())
}

/// The node's `archway_config_applies{result}`.
async fn applies(node: &DataPlane, result: &str) -> anyhow::Result<f64> {
    let scrape = scrape(node.admin_addr()).await?;
    Ok(sample(
        &scrape,
        "archway_config_applies_total",
        &[("result", result)],
    )
    .unwrap_or(0.0))
}

/// The version node `id` last applied, as `admin`'s control plane sees it.
async fn applied_version(admin: &mut Admin, id: &str) -> anyhow::Result<u64> {
    let (_, nodes) = admin.fleet_status().await?;
    Ok(nodes
        .iter()
        .find(|n| n.node_id == id)
        .map_or(0, |n| n.applied_version))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_moves_to_the_next_control_plane_when_its_replica_is_killed() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp_dir = dir.path().join("cp");
    let mut first = ControlPlane::start(&cp_dir)?;
    let (a, b) = (first.url(), format!("http://{}", unused_loopback_addr()));
    let node = DataPlane::start(&format!("{a},{b}"), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&a).await?;
    let api = admin.create_api("steady", ApiProtocol::Rest).await?;
    deploy_ping(&mut admin, &api, "from a").await?;
    admin.wait_converged(&["n"]).await?;
    wait_serves(&node, "steady", "from a").await?;
    // Where the node is connected, from the start.
    wait_connected(&node, &a, 0.0).await?;
    assert_eq!(connection(&node, &b).await?.0, 0.0);
    let before = applied_version(&mut admin, "n").await?;

    // A dies as a crash would; a replica of the same store starts on B.
    first.process.kill();
    wait_serves(&node, "steady", "from a").await?;
    let second = ControlPlane::start_on(&cp_dir, b.trim_start_matches("http://"))?;
    let started = Instant::now();
    wait_connected(&node, &b, 1.0).await?;
    eprintln!(
        "node on B {:?} after B printed its address",
        started.elapsed()
    );
    let mut admin = Admin::connect(&second.url()).await?;
    assert_eq!(connection(&node, &a).await?.0, 0.0);
    // Same store: nothing to refuse, and no older version.
    assert!(applied_version(&mut admin, "n").await? >= before);

    // A change made through B reaches the node.
    deploy_ping(&mut admin, &api, "from b").await?;
    admin.wait_converged(&["n"]).await?;
    wait_serves(&node, "steady", "from b").await?;
    assert_eq!(applies(&node, "nack").await?, 0.0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_first_control_plane_is_down_follows_the_second_and_wraps_around()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp_dir = dir.path().join("cp");
    let a = format!("http://{}", unused_loopback_addr());
    let mut second = ControlPlane::start(&cp_dir)?;
    let b = second.url();
    let node = DataPlane::start(&format!("{a},{b}"), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&b).await?;
    let api = admin.create_api("steady", ApiProtocol::Rest).await?;
    deploy_ping(&mut admin, &api, "from b").await?;
    admin.wait_converged(&["n"]).await?;
    wait_serves(&node, "steady", "from b").await?;
    // Its first stream opened on B: that is no switch.
    wait_connected(&node, &b, 0.0).await?;
    assert_eq!(connection(&node, &a).await?.0, 0.0);

    // B goes; a replica of the same store starts on A, the first address:
    // the node comes round to it.
    second.process.kill();
    let first = ControlPlane::start_on(&cp_dir, a.trim_start_matches("http://"))?;
    let mut admin = Admin::connect(&first.url()).await?;
    wait_connected(&node, &a, 1.0).await?;
    deploy_ping(&mut admin, &api, "from a").await?;
    admin.wait_converged(&["n"]).await?;
    wait_serves(&node, "steady", "from a").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refuses_another_stores_configuration_on_its_next_control_plane()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // Two control planes on two different stores, both up.
    let mut first = ControlPlane::start(&dir.path().join("one"))?;
    let second = ControlPlane::start(&dir.path().join("two"))?;
    let (a, b) = (first.url(), second.url());
    let other_store = std::fs::read_to_string(dir.path().join("two/store-identity"))?;
    let mut other = Admin::connect(&b).await?;
    let foreign = other.create_api("foreign", ApiProtocol::Rest).await?;
    deploy_ping(&mut other, &foreign, "foreign").await?;

    let node = DataPlane::start(&format!("{a},{b}"), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&a).await?;
    let api = admin.create_api("steady", ApiProtocol::Rest).await?;
    deploy_ping(&mut admin, &api, "pong").await?;
    admin.wait_converged(&["n"]).await?;
    wait_serves(&node, "steady", "pong").await?;

    // A is stopped (SIGTERM: it closes every node stream as it shuts
    // down): the node moves to B, which serves another store. It refuses
    // that store's configuration, says why, and keeps serving A's.
    let stopping = Instant::now();
    first.process.terminate();
    wait_connected(&node, &b, 1.0).await?;
    eprintln!(
        "node on B {:?} after A was sent SIGTERM",
        stopping.elapsed()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while applies(&node, "nack").await? < 1.0 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the node never refused B's store"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, nodes) = other.fleet_status().await?;
    let status = nodes.iter().find(|n| n.node_id == "n").unwrap();
    assert!(
        status
            .last_error
            .contains(&format!("--adopt-store {}", other_store.trim())),
        "{status:?}"
    );
    let http = GatewayClient::default();
    let answer = http.get(node.addr(), "steady", "/prod/ping").await?;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (StatusCode::OK, "pong")
    );
    let answer = http.get(node.addr(), "foreign", "/prod/ping").await?;
    assert_ne!(answer.body, "foreign");
    Ok(())
}

/// Today's usage of `key` under `plan`, as `admin`'s control plane's ledger
/// holds it.
async fn used(admin: &mut Admin, plan: &str, key: &str) -> anyhow::Result<u64> {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let today = archway_proto::quota::date_string(archway_proto::quota::day_of(ms));
    let items = admin
        .plans
        .get_usage(GetUsageRequest {
            usage_plan_id: plan.into(),
            key_id: key.into(),
            start_date: today.clone(),
            end_date: today,
        })
        .await?
        .into_inner()
        .items;
    Ok(items.iter().map(|i| i.used).sum())
}

/// Sends `count` keyed requests, each answered 200.
async fn keyed_requests(node: &DataPlane, key: &str, count: usize) -> anyhow::Result<()> {
    let http = GatewayClient::default();
    for _ in 0..count {
        let answer = http
            .get_with_key(node.addr(), "shop", "/prod/orders", key)
            .await?;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    Ok(())
}

/// Waits (bounded) until the ledger holds exactly `expected`, then checks it
/// stays so over several report intervals (nothing counted twice).
async fn wait_used(admin: &mut Admin, plan: &str, key: &str, expected: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = used(admin, plan, key).await?;
        if now == expected {
            break;
        }
        anyhow::ensure!(
            now < expected && Instant::now() < deadline,
            "usage {now}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(used(admin, plan, key).await?, expected);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_reported_around_a_failover_is_counted_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp_dir = dir.path().join("cp");
    let mut first = ControlPlane::start(&cp_dir)?;
    let (a, b) = (first.url(), format!("http://{}", unused_loopback_addr()));
    let node = DataPlane::start(
        &format!("{a},{b}"),
        "n",
        &dir.path().join("n"),
        &["--usage-report-interval-ms", "100"],
    )?;
    let mut admin = Admin::connect(&a).await?;
    let api = admin.create_api("shop", ApiProtocol::Rest).await?;
    admin
        .route_with_key(&api, "/orders", "GET", mock(200, "orders"), true)
        .await?;
    admin.deploy(&api, "prod").await?;
    let (plan, key) = admin
        .plan_with_key(
            &api,
            "prod",
            UsagePlan {
                name: "metered".into(),
                quota: Some(QuotaSettings {
                    limit: 10_000,
                    period: QuotaPeriod::Day as i32,
                    offset: 0,
                }),
                ..Default::default()
            },
            "k",
        )
        .await?;
    admin.wait_converged(&["n"]).await?;
    keyed_requests(&node, &key.value, 30).await?;
    wait_used(&mut admin, &plan.id, &key.id, 30).await?;

    // More requests, and A is killed right after them: their report may be
    // unsent, in flight, or recorded but not acknowledged. The node gives
    // it to B, the same store, which counts each report once.
    keyed_requests(&node, &key.value, 20).await?;
    first.process.kill();
    keyed_requests(&node, &key.value, 5).await?;
    let second = ControlPlane::start_on(&cp_dir, b.trim_start_matches("http://"))?;
    let mut admin = Admin::connect(&second.url()).await?;
    wait_connected(&node, &b, 1.0).await?;
    wait_used(&mut admin, &plan.id, &key.id, 55).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archwayctl_uses_the_first_control_plane_that_answers() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let dead = format!("http://{}", unused_loopback_addr());
    let servers = format!("{dead},{}", cp.url());
    // A write and a read, each past the dead address.
    let created = ctl(&servers, &["tokens", "create", "ci", "--role", "read-only"]);
    assert!(!created.trim().is_empty(), "{created}");
    let listed = ctl(&servers, &["tokens", "list"]);
    assert!(listed.contains("ci"), "{listed}");
    Ok(())
}

#[test]
fn archwayctl_names_every_address_it_tried_when_none_answers() {
    let (one, two) = (
        format!("http://{}", unused_loopback_addr()),
        format!("http://{}", unused_loopback_addr()),
    );
    let run = ctl_run(&format!("{one},{two}"), &["get", "apis"]);
    let said = run.assert_refused(&[
        "cannot reach any control plane: tried",
        &format!("{one} ("),
        &format!("{two} ("),
        "pass --server",
    ]);
    assert!(said.contains("ARCHWAY_SERVER"), "{said}");
    // One address keeps its own message.
    ctl_run(&one, &["get", "apis"]).assert_refused(&[
        &format!("cannot reach the control plane at {one} ("),
        "pass --server or set ARCHWAY_SERVER",
    ]);
}

/// Applies a document serving `GET /prod/ping` of API `secure` answering
/// `body`, through archwayctl at `servers`, trusting `ca`.
fn apply_over_tls(servers: &str, ca: &std::path::Path, dir: &std::path::Path, body: &str) {
    let file = dir.join("ping.yaml");
    std::fs::write(
        &file,
        format!(
            r#"
apis:
  - name: secure
    id: secure
    routes:
      - {{ path: /ping, method: GET, integration: {{ type: MOCK, status: 200, body: "{body}" }} }}
    stages:
      - name: prod
"#
        ),
    )
    .unwrap();
    let ca = ca.display().to_string();
    let (mut command, _cwd) = archway_e2e::ctl::command(&[
        "--server",
        servers,
        "--token",
        archway_e2e::TEST_ADMIN_TOKEN,
        "--ca-file",
        &ca,
        "apply",
        "-f",
        file.to_str().unwrap(),
    ]);
    let out = command.output().expect("running archwayctl");
    assert!(
        out.status.success(),
        "archwayctl --server {servers} apply: {}",
        archway_e2e::text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_and_archwayctl_fail_over_between_https_control_planes_with_one_ca_file()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (pki, mut first) = ControlPlane::start_tls(dir.path())?;
    let a = first.url();
    let b = format!("https://{}", unused_loopback_addr());
    let ca = pki.ca.display().to_string();
    let node = DataPlane::start(
        &format!("{a},{b}"),
        "n",
        &dir.path().join("n"),
        &["--control-plane-ca-file", &ca],
    )?;
    // archwayctl past a dead https:// address, trusting the same CA.
    apply_over_tls(&format!("{b},{a}"), &pki.ca, dir.path(), "from a");
    wait_serves(&node, "secure", "from a").await?;
    wait_connected(&node, &a, 0.0).await?;

    // A replica of the same store, with the same certificate, on B.
    first.process.kill();
    let (cert, key) = (
        pki.cert.display().to_string(),
        pki.key.display().to_string(),
    );
    let _second = ControlPlane::start_with(
        &dir.path().join("cp"),
        b.trim_start_matches("https://"),
        &["--tls-cert", &cert, "--tls-key", &key],
    )?;
    wait_connected(&node, &b, 1.0).await?;
    apply_over_tls(&format!("{a},{b}"), &pki.ca, dir.path(), "from b");
    wait_serves(&node, "secure", "from b").await?;
    Ok(())
}
