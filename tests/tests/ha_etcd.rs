//! Several control-plane replicas on one etcd cluster (a real 3-member
//! `etcd` this test starts on free loopback ports), with real nodes:
//! a write through one replica reaches nodes on another; a replica killed
//! with SIGKILL in the middle of a burst of writes loses none it
//! acknowledged; its node moves to another replica and gets a delta, not
//! everything; with etcd down, writes are refused with a clear error and
//! nodes keep serving; with etcd back, everything converges.

use archway_e2e::admin::mock;
use archway_e2e::etcd::{EtcdCluster, available};
use archway_e2e::http_client::GatewayClient;
use archway_e2e::metrics::{sample, scrape};
use archway_e2e::{Admin, ControlPlane, DataPlane};
use archway_proto::v1::{ApiProtocol, PrincipalType};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// Every replica of a store needs the same master key.
const MASTER_KEY: &str = "4d6173746572206b657920666f7220746865204841207465737473202121212a";

fn replica(dir: &Path, name: &str, store: &str) -> anyhow::Result<ControlPlane> {
    ControlPlane::start_with(
        &dir.join(name),
        "127.0.0.1:0",
        &["--store", store, "--master-key", MASTER_KEY],
    )
}

/// Waits (bounded) until `node` is connected to the replica `admin` talks
/// to and has applied `version`.
async fn wait_applied(admin: &mut Admin, node: &str, version: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, nodes) = admin.fleet_status().await?;
        if nodes
            .iter()
            .any(|n| n.node_id == node && n.connected && n.applied_version >= version)
        {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "node {node} did not apply version {version}: {nodes:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The configuration version a replica serves.
async fn version_of(admin: &mut Admin) -> anyhow::Result<u64> {
    Ok(admin.fleet_status().await?.0)
}

/// Waits until every replica serves the same version; returns it.
async fn wait_same_version(admins: &mut [&mut Admin]) -> anyhow::Result<u64> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut versions = Vec::new();
        for admin in admins.iter_mut() {
            versions.push(version_of(admin).await?);
        }
        if versions.windows(2).all(|w| w[0] == w[1]) {
            return Ok(versions[0]);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "replicas disagree on the version: {versions:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Updates of `kind` a replica has sent to nodes.
async fn updates_sent(replica: SocketAddr, kind: &str) -> anyhow::Result<f64> {
    let metrics = scrape(replica).await?;
    Ok(sample(
        &metrics,
        "archway_config_updates_sent_total",
        &[("kind", kind)],
    )
    .unwrap_or(0.0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_serve_one_store_and_losing_one_loses_no_acknowledged_write()
-> anyhow::Result<()> {
    if !available("the control-plane replicas on etcd") {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let cluster = EtcdCluster::start(3)?;
    let store = cluster.store_url("/ha");
    let mut a = replica(dir.path(), "a", &store)?;
    let b = replica(dir.path(), "b", &store)?;
    let c = replica(dir.path(), "c", &store)?;
    let mut admin_a = Admin::connect(&a.url()).await?;
    let mut admin_b = Admin::connect(&b.url()).await?;
    let mut admin_c = Admin::connect(&c.url()).await?;

    // A node on A (with C to fall back on) and a node on C only.
    let n1 = DataPlane::start(
        &format!("{},{}", a.url(), c.url()),
        "n1",
        &dir.path().join("n1"),
        &[],
    )?;
    let n2 = DataPlane::start(&c.url(), "n2", &dir.path().join("n2"), &[])?;

    // Written through A; served by the node on C.
    let api = admin_a.create_api("ha", ApiProtocol::Rest).await?;
    admin_a.route(&api, "/hi", "GET", mock(200, "v1")).await?;
    admin_a.deploy(&api, "prod").await?;
    let version = wait_same_version(&mut [&mut admin_a, &mut admin_b, &mut admin_c]).await?;
    wait_applied(&mut admin_a, "n1", version).await?;
    wait_applied(&mut admin_c, "n2", version).await?;
    let http = GatewayClient::default();
    for node in [n1.addr(), n2.addr()] {
        assert_eq!(http.get(node, "ha", "/prod/hi").await?.body, "v1");
    }
    // B holds no node stream, yet lists the whole fleet: each replica
    // shares its nodes through etcd.
    wait_applied(&mut admin_b, "n1", version).await?;
    wait_applied(&mut admin_b, "n2", version).await?;

    // A burst of writes through A; A is killed with SIGKILL in the middle.
    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel();
    let writer = {
        let mut admin = Admin::connect(&a.url()).await?;
        tokio::spawn(async move {
            for i in 0..200 {
                let id = format!("burst{i}");
                match admin.create_api(&id, ApiProtocol::Rest).await {
                    Ok(_) => {
                        let _ = acked_tx.send(id);
                    }
                    Err(_) => return,
                }
            }
        })
    };
    let mut acked = Vec::new();
    while acked.len() < 15 {
        match tokio::time::timeout(Duration::from_secs(20), acked_rx.recv()).await {
            Ok(Some(path)) => acked.push(path),
            _ => anyhow::bail!("the burst stalled after {} writes", acked.len()),
        }
    }
    a.process.kill();
    writer.await?;
    while let Ok(path) = acked_rx.try_recv() {
        acked.push(path);
    }
    // Every acknowledged write is in the store, as the other replicas see it.
    for admin in [&mut admin_b, &mut admin_c] {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let apis = admin.list_apis().await?;
            let missing: Vec<&String> = acked
                .iter()
                .filter(|id| !apis.iter().any(|a| a.id == **id))
                .collect();
            if missing.is_empty() {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "acknowledged writes lost: {missing:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // n1 moves to C: it already holds what C serves, so C sends it no
    // full update, then a delta for the next change.
    let full_before = updates_sent(c.process.addr, "full").await?;
    // C holds both streams now (its own gauge: the fleet list also shows
    // A's last entry for a few seconds).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let held = sample(
            &scrape(c.process.addr).await?,
            "archway_connected_nodes",
            &[],
        );
        if held == Some(2.0) {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "n1 did not move to C: {held:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    admin_b.route(&api, "/hi", "GET", mock(200, "v2")).await?;
    admin_b.deploy(&api, "prod").await?;
    let version = wait_same_version(&mut [&mut admin_b, &mut admin_c]).await?;
    wait_applied(&mut admin_c, "n1", version).await?;
    wait_applied(&mut admin_c, "n2", version).await?;
    for node in [n1.addr(), n2.addr()] {
        assert_eq!(http.get(node, "ha", "/prod/hi").await?.body, "v2");
    }
    assert_eq!(
        updates_sent(c.process.addr, "full").await?,
        full_before,
        "a node that moved between replicas of one store was sent everything"
    );
    assert!(updates_sent(c.process.addr, "delta").await? >= 1.0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_etcd_down_writes_are_refused_nodes_keep_serving_and_all_converge_after()
-> anyhow::Result<()> {
    if !available("the control-plane replicas on etcd") {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let mut cluster = EtcdCluster::start(3)?;
    let store = cluster.store_url("/outage");
    let a = replica(dir.path(), "a", &store)?;
    let b = replica(dir.path(), "b", &store)?;
    let mut admin_a = Admin::connect(&a.url()).await?;
    let mut admin_b = Admin::connect(&b.url()).await?;
    let n1 = DataPlane::start(&a.url(), "n1", &dir.path().join("n1"), &[])?;
    let n2 = DataPlane::start(&b.url(), "n2", &dir.path().join("n2"), &[])?;
    let api = admin_a.create_api("steady", ApiProtocol::Rest).await?;
    admin_a.route(&api, "/hi", "GET", mock(200, "v1")).await?;
    admin_a.deploy(&api, "prod").await?;
    let version = wait_same_version(&mut [&mut admin_a, &mut admin_b]).await?;
    wait_applied(&mut admin_a, "n1", version).await?;
    wait_applied(&mut admin_b, "n2", version).await?;

    // One member down: the quorum still commits. (If it was the leader, a
    // call may meet the election and be refused as unavailable, nothing
    // written: it is tried again, as an operator would.)
    cluster.kill(2);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match admin_b.route(&api, "/two", "GET", mock(200, "2")).await {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline => {
                let status = e.downcast_ref::<tonic::Status>();
                assert!(
                    status.is_some_and(|s| s.code() == tonic::Code::Unavailable),
                    "{e:#}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => anyhow::bail!("two of three members do not commit: {e:#}"),
        }
    }

    // All down: a write is refused, saying why, and nothing is lost.
    cluster.kill_all();
    let started = Instant::now();
    let refused = admin_a.route(&api, "/down", "GET", mock(200, "x")).await;
    let error = refused.expect_err("a write with etcd down");
    let status = error
        .downcast_ref::<tonic::Status>()
        .expect("a gRPC status");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(
        status.message().starts_with("store unavailable") && status.message().contains(&store),
        "{status:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    let http = GatewayClient::default();
    for node in [n1.addr(), n2.addr()] {
        assert_eq!(http.get(node, "steady", "/prod/hi").await?.body, "v1");
    }

    // etcd back: writes go through again and everything converges.
    cluster.restart_stopped()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match admin_a.route(&api, "/hi", "GET", mock(200, "v2")).await {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => anyhow::bail!("etcd is back but writes still fail: {e:#}"),
        }
    }
    admin_a.deploy(&api, "prod").await?;
    let version = wait_same_version(&mut [&mut admin_a, &mut admin_b]).await?;
    wait_applied(&mut admin_a, "n1", version).await?;
    wait_applied(&mut admin_b, "n2", version).await?;
    for node in [n1.addr(), n2.addr()] {
        assert_eq!(http.get(node, "steady", "/prod/hi").await?.body, "v2");
        assert_eq!(http.get(node, "steady", "/prod/two").await?.body, "2");
    }
    // The refused write is nowhere.
    assert_eq!(
        http.get(n1.addr(), "steady", "/prod/down").await?.status,
        http::StatusCode::FORBIDDEN
    );
    Ok(())
}

/// An installation on one control plane's sled folder moves to etcd with
/// `archwayctl store copy`: everything arrives (count and checksum read
/// back), replicas on etcd serve it as the same store, and the node that
/// followed the sled control plane takes the replica's configuration as
/// the one it holds. A copy into a store that is not empty is refused, and
/// copying back gives the same checksum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_copy_moves_a_sled_installation_to_etcd_without_losing_anything() -> anyhow::Result<()>
{
    if !available("store copy to etcd") {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let sled_dir = dir.path().join("single");
    let mut single =
        ControlPlane::start_with(&sled_dir, "127.0.0.1:0", &["--master-key", MASTER_KEY])?;
    let mut admin = Admin::connect(&single.url()).await?;
    let api = admin.create_api("moved", ApiProtocol::Rest).await?;
    admin.route(&api, "/hi", "GET", mock(200, "kept")).await?;
    admin.deploy(&api, "prod").await?;
    admin
        .create_principal("mover", PrincipalType::User, Vec::new())
        .await?;
    admin.access_key("mover").await?;
    let node = DataPlane::start(&single.url(), "n", &dir.path().join("n"), &[])?;
    admin.wait_converged(&["n"]).await?;
    drop(node);
    single.process.terminate();

    let cluster = EtcdCluster::start(1)?;
    let store = cluster.store_url("/moved");
    let from = format!("sled:{}", sled_dir.display());
    let copied = archway_e2e::ctl::ctl_raw(&["store", "copy", "--from", &from, "--to", &store]);
    assert!(copied.ok, "{}{}", copied.stdout, copied.stderr);
    assert!(
        copied.stdout.contains("read back and verified") && copied.stdout.contains("sha256"),
        "{}",
        copied.stdout
    );
    // Not into a store that holds something.
    archway_e2e::ctl::ctl_raw(&["store", "copy", "--from", &from, "--to", &store])
        .assert_refused(&["already holds a store"]);

    let replica = replica(dir.path(), "r", &store)?;
    let mut admin = Admin::connect(&replica.url()).await?;
    assert!(admin.list_apis().await?.iter().any(|a| a.id == "moved"));
    assert_eq!(admin.list_access_keys("mover").await?.len(), 1);
    // The node's saved configuration is of the same store: it is served
    // by the replica without a refusal.
    let node = DataPlane::start(&replica.url(), "n", &dir.path().join("n"), &[])?;
    admin.wait_converged(&["n"]).await?;
    let http = GatewayClient::default();
    assert_eq!(
        http.get(node.addr(), "moved", "/prod/hi").await?.body,
        "kept"
    );
    drop(node);
    drop(replica);

    // And back into an empty sled data directory (the store has moved on
    // meanwhile: the replica recorded the node's usage reports), read back
    // and verified the same way.
    let back = dir.path().join("back");
    let returned = archway_e2e::ctl::ctl_raw(&[
        "store",
        "copy",
        "--from",
        &store,
        "--to",
        &format!("sled:{}", back.display()),
    ]);
    assert!(returned.ok, "{}", returned.stderr);
    assert!(
        returned.stdout.contains("read back and verified"),
        "{}",
        returned.stdout
    );
    let single = ControlPlane::start_with(&back, "127.0.0.1:0", &["--master-key", MASTER_KEY])?;
    let admin = Admin::connect(&single.url()).await?;
    assert!(admin.list_apis().await?.iter().any(|a| a.id == "moved"));
    Ok(())
}

/// The time from an admin write to its ACK by every node, and admin writes
/// per second, on one replica on sled beside three replicas on a 3-member
/// etcd. A measurement, not a check (run with
/// `cargo test --release -p archway-e2e --test ha_etcd -- --ignored --nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run on a quiet machine"]
async fn write_to_ack_and_writes_per_second_on_sled_and_on_etcd() -> anyhow::Result<()> {
    const WRITES: usize = 200;
    let dir = tempfile::tempdir()?;
    // sled: one control plane, two nodes.
    {
        let cp = ControlPlane::start(&dir.path().join("sled"))?;
        let _n1 = DataPlane::start(&cp.url(), "s1", &dir.path().join("s1"), &[])?;
        let _n2 = DataPlane::start(&cp.url(), "s2", &dir.path().join("s2"), &[])?;
        let mut admin = Admin::connect(&cp.url()).await?;
        let mut watchers = [
            (Admin::connect(&cp.url()).await?, "s1"),
            (Admin::connect(&cp.url()).await?, "s2"),
        ];
        let (ack, rate) = measure(&mut admin, &mut watchers, WRITES).await?;
        println!("sled, 1 control plane, 2 nodes: write->ACK on all nodes {ack}; {rate}");
    }
    // etcd: three members, three replicas; nodes on A and on C, writes through A.
    if available("the etcd measurement") {
        let cluster = EtcdCluster::start(3)?;
        let store = cluster.store_url("/bench");
        let a = replica(dir.path(), "a", &store)?;
        let _b = replica(dir.path(), "b", &store)?;
        let c = replica(dir.path(), "c", &store)?;
        let _n1 = DataPlane::start(&a.url(), "e1", &dir.path().join("e1"), &[])?;
        let _n2 = DataPlane::start(&c.url(), "e2", &dir.path().join("e2"), &[])?;
        let mut admin = Admin::connect(&a.url()).await?;
        let mut watchers = [
            (Admin::connect(&a.url()).await?, "e1"),
            (Admin::connect(&c.url()).await?, "e2"),
        ];
        let (ack, rate) = measure(&mut admin, &mut watchers, WRITES).await?;
        println!(
            "etcd, 3 members, 3 replicas, nodes on A and C, writes through A: write->ACK on all nodes {ack}; {rate}"
        );
    }
    Ok(())
}

/// Writes a stage variable `writes` times through `admin`; after each,
/// polls until every (replica, node) has applied the version the write
/// published. Returns the latency percentiles and the write rate (writes
/// alone, without waiting for nodes, measured separately).
async fn measure(
    admin: &mut Admin,
    watchers: &mut [(Admin, &str)],
    writes: usize,
) -> anyhow::Result<(String, String)> {
    let api = admin.create_api("bench", ApiProtocol::Rest).await?;
    admin.route(&api, "/hi", "GET", mock(200, "x")).await?;
    admin.deploy(&api, "prod").await?;
    for (watcher, node) in watchers.iter_mut() {
        wait_applied(watcher, node, version_of(admin).await?).await?;
    }
    let mut latencies = Vec::with_capacity(writes);
    for i in 0..writes {
        let mut stage = admin.stage(&api, "prod").await?;
        stage.variables.insert("n".into(), i.to_string());
        let started = Instant::now();
        admin.update_stage(stage).await?;
        let version = version_of(admin).await?;
        for (watcher, node) in watchers.iter_mut() {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let (_, nodes) = watcher.fleet_status().await?;
                if nodes
                    .iter()
                    .any(|n| n.node_id == *node && n.applied_version >= version)
                {
                    break;
                }
                anyhow::ensure!(Instant::now() < deadline, "{node} did not apply {version}");
            }
        }
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let ack = format!(
        "p50 {:.1} ms, p99 {:.1} ms over {writes}",
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3
    );
    // Writes per second: sequential stage updates, nobody waiting on nodes.
    let mut stage = admin.stage(&api, "prod").await?;
    let started = Instant::now();
    for i in 0..writes {
        stage.variables.insert("m".into(), i.to_string());
        stage = admin.update_stage(stage).await?;
    }
    let rate = format!(
        "{:.0} sequential admin writes/s",
        writes as f64 / started.elapsed().as_secs_f64()
    );
    Ok((ack, rate))
}

/// Every replica must have the store's master key: one started with
/// another refuses to start, saying so, even before any secret is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_with_another_master_key_refuses_to_start() -> anyhow::Result<()> {
    if !available("the master key check of replicas") {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let cluster = EtcdCluster::start(1)?;
    let store = cluster.store_url("/keys");
    let _first = replica(dir.path(), "a", &store)?;
    let other_key = "11".repeat(32);
    let mut child =
        std::process::Command::new(archway_e2e::process::bin_dir().join("archway-control-plane"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("b"))
            .args(["--store", &store, "--master-key", &other_key])
            .envs(archway_e2e::process::control_plane_env())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            anyhow::bail!("a replica with another master key kept running");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut said = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut said)?;
    assert!(!status.success());
    assert!(
        said.contains("not the one the store's secrets are sealed with"),
        "{said}"
    );
    Ok(())
}
