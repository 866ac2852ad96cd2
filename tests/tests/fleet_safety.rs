//! A control plane on a lost, damaged or replaced store must never empty the
//! fleet: it refuses to start on a store that lost its files, creates a new
//! one only in an empty folder or with `--init`, and nodes refuse a foreign
//! store's configuration (still serving) until told to adopt it. A restart
//! with no writes makes no node re-apply anything.

use archway_e2e::admin::mock;
use archway_e2e::http_client::{GatewayClient, fetch};
use archway_e2e::process::bin_dir;
use archway_e2e::{Admin, ControlPlane, DataPlane};
use archway_proto::v1::ApiProtocol;
use http::StatusCode;
use std::path::Path;
use std::time::{Duration, Instant};

/// Runs the control plane on `data_dir` expecting it to refuse to start;
/// returns what it said on stderr.
fn refused_start(data_dir: &Path, extra: &[&str]) -> String {
    let mut command = std::process::Command::new(bin_dir().join("archway-control-plane"));
    command
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .envs(archway_e2e::process::control_plane_env())
        .stdin(std::process::Stdio::null());
    let out = command.output().expect("running archway-control-plane");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "the control plane started: {}\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

/// A control plane with one API deployed, stopped again; returns its data
/// folder's token files' contents.
async fn store_with_an_api(cp_dir: &Path) -> anyhow::Result<(String, String)> {
    let mut cp = ControlPlane::start(cp_dir)?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin.create_api("kept", ApiProtocol::Rest).await?;
    admin.route(&api, "/ping", "GET", mock(200, "pong")).await?;
    admin.deploy(&api, "prod").await?;
    cp.process.terminate();
    Ok((
        std::fs::read_to_string(cp_dir.join("admin-token"))?,
        std::fs::read_to_string(cp_dir.join("node-token"))?,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_whose_sled_snapshot_files_were_lost_is_refused() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp_dir = dir.path().join("cp");
    let tokens = store_with_an_api(&cp_dir).await?;
    let mut removed = 0;
    for entry in std::fs::read_dir(cp_dir.join("store"))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("snap.") || name == "db" || name == "blobs" {
            if entry.path().is_dir() {
                std::fs::remove_dir_all(entry.path())?;
            } else {
                std::fs::remove_file(entry.path())?;
            }
            removed += 1;
        }
    }
    assert!(removed > 0, "sled keeps its data in snap.* and db");
    let said = refused_start(&cp_dir, &[]);
    assert!(said.contains("holds no data"), "{said}");
    assert!(said.contains("--init"), "{said}");
    // Token files are untouched.
    assert_eq!(
        (
            std::fs::read_to_string(cp_dir.join("admin-token"))?,
            std::fs::read_to_string(cp_dir.join("node-token"))?
        ),
        tokens
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_store_folder_is_refused_and_init_makes_a_new_one_keeping_tokens()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp_dir = dir.path().join("cp");
    let (admin_token, node_token) = store_with_an_api(&cp_dir).await?;
    std::fs::remove_dir_all(cp_dir.join("store"))?;
    let said = refused_start(&cp_dir, &[]);
    assert!(said.contains("no store folder"), "{said}");

    // --init: a new, empty store; the token files are neither rewritten
    // nor dropped (the bootstrap tokens given win for the new store).
    let old_id = std::fs::read_to_string(cp_dir.join("store-identity"))?;
    let cp = ControlPlane::start_with(&cp_dir, "127.0.0.1:0", &["--init"])?;
    let new_id = std::fs::read_to_string(cp_dir.join("store-identity"))?;
    assert_ne!(old_id, new_id);
    assert_eq!(
        std::fs::read_to_string(cp_dir.join("admin-token"))?,
        admin_token
    );
    assert_eq!(
        std::fs::read_to_string(cp_dir.join("node-token"))?,
        node_token
    );
    let mut admin = Admin::connect(&cp.url()).await?;
    let apis = admin
        .apis
        .list_rest_apis(archway_proto::v1::ListRestApisRequest::default())
        .await?
        .into_inner();
    assert!(apis.items.is_empty(), "a new store is empty");
    // The unusable identity was moved aside, not deleted.
    let aside = std::fs::read_dir(&cp_dir)?.filter_map(Result::ok).any(|e| {
        e.file_name()
            .to_string_lossy()
            .starts_with("store-identity.lost-")
    });
    assert!(aside);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_never_replaces_a_healthy_store() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp_dir = dir.path().join("cp");
    store_with_an_api(&cp_dir).await?;
    let said = refused_start(&cp_dir, &["--init"]);
    assert!(said.contains("already holds store"), "{said}");
    Ok(())
}

/// Reads one labelled counter from a node's /metrics (0 when absent).
async fn applies(node: &DataPlane, result: &str) -> anyhow::Result<u64> {
    let (_, text) = fetch(&format!("http://{}/metrics", node.admin_addr())).await?;
    let wanted = format!("result=\"{result}\"");
    Ok(text
        .lines()
        .filter(|l| l.starts_with("archway_config_applies_total") && l.contains(&wanted))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum())
}

/// Waits until `node` has counted `result` at least `count` times.
async fn wait_applies(node: &DataPlane, result: &str, count: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while applies(node, result).await? < count {
        anyhow::ensure!(
            Instant::now() < deadline,
            "node {} never counted {count} {result}",
            node.node_id
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// A control plane and nodes `a` and `b` serving `GET /prod/ping` of API
/// `api_id` (a mock answering `body`).
struct Fleet {
    dir: tempfile::TempDir,
    cp_dir: std::path::PathBuf,
    cp: ControlPlane,
    cp_addr: String,
    a: DataPlane,
    b: DataPlane,
    api: archway_proto::v1::RestApi,
}

impl Fleet {
    async fn serving(api_id: &str, body: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let cp_dir = dir.path().join("cp");
        let cp = ControlPlane::start(&cp_dir)?;
        let cp_addr = cp.process.addr.to_string();
        let a = DataPlane::start(&cp.url(), "a", &dir.path().join("a"), &[])?;
        let b = DataPlane::start(&cp.url(), "b", &dir.path().join("b"), &[])?;
        let mut admin = Admin::connect(&cp.url()).await?;
        let api = admin.create_api(api_id, ApiProtocol::Rest).await?;
        admin.route(&api, "/ping", "GET", mock(200, body)).await?;
        admin.deploy(&api, "prod").await?;
        admin.wait_converged(&["a", "b"]).await?;
        Ok(Self {
            dir,
            cp_dir,
            cp,
            cp_addr,
            a,
            b,
            api,
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_keep_serving_when_the_control_plane_returns_on_a_new_store() -> anyhow::Result<()> {
    let Fleet {
        dir,
        cp_dir,
        cp,
        cp_addr,
        a,
        b,
        ..
    } = Fleet::serving("steady", "pong").await?;
    let mut cp = cp;

    // The control plane's whole data folder is lost; it comes back on the
    // same address with the same bootstrap tokens, as the deploy files
    // start it, and so on a new, empty store.
    cp.process.kill();
    std::fs::remove_dir_all(&cp_dir)?;
    let cp = ControlPlane::start_on(&cp_dir, &cp_addr)?;
    let new_store = std::fs::read_to_string(cp_dir.join("store-identity"))?;
    let new_store = new_store.trim();
    let mut admin = Admin::connect(&cp.url()).await?;

    // Both nodes refuse it, say why, and keep serving.
    wait_applies(&a, "nack", 1).await?;
    wait_applies(&b, "nack", 1).await?;
    let (_, nodes) = admin.fleet_status().await?;
    for id in ["a", "b"] {
        let node = nodes.iter().find(|n| n.node_id == id).unwrap();
        assert!(
            node.last_error
                .contains(&format!("--adopt-store {new_store}")),
            "{node:?}"
        );
    }
    let http = GatewayClient::default();
    for node in [&a, &b] {
        let answer = http.get(node.addr(), "steady", "/prod/ping").await?;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (StatusCode::OK, "pong")
        );
    }
    // Changes on the new store are refused as well (no reconnect loop).
    let other = admin.create_api("fresh", ApiProtocol::Rest).await?;
    admin.route(&other, "/hi", "GET", mock(200, "hi")).await?;
    admin.deploy(&other, "prod").await?;
    wait_applies(&a, "nack", 2).await?;
    assert_eq!(
        http.get(a.addr(), "steady", "/prod/ping").await?.status,
        StatusCode::OK
    );

    // Told to adopt the new store, node a takes it.
    drop(a);
    let a = DataPlane::start(
        &cp.url(),
        "a",
        &dir.path().join("a"),
        &["--adopt-store", new_store],
    )?;
    // The restarted node reports the version of its cached (old store)
    // configuration until it applies the new store's; both stores took the
    // same number of writes, so "converged" alone can be that cached
    // version. Wait (bounded) for what adopting means: the new API served.
    admin.wait_converged(&["a"]).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = http.get(a.addr(), "fresh", "/prod/hi").await?;
        if answer.body == "hi" {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "node a never served the new store's API: {} {}",
            answer.status,
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        http.get(a.addr(), "steady", "/prod/ping").await?.status,
        StatusCode::FORBIDDEN
    );
    // Node b still serves the old store's configuration.
    assert_eq!(
        http.get(b.addr(), "steady", "/prod/ping").await?.status,
        StatusCode::OK
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_plane_restart_without_writes_makes_no_node_reapply() -> anyhow::Result<()> {
    let Fleet {
        dir: _dir,
        cp_dir,
        mut cp,
        cp_addr,
        a,
        b,
        api,
    } = Fleet::serving("calm", "v1").await?;
    let acks = (applies(&a, "ack").await?, applies(&b, "ack").await?);

    for restart in 1..=2u64 {
        cp.process.terminate();
        cp = ControlPlane::start_on(&cp_dir, &cp_addr)?;
        let mut admin = Admin::connect(&cp.url()).await?;
        admin.wait_converged(&["a", "b"]).await?;
        wait_applies(&a, "unchanged", restart).await?;
        wait_applies(&b, "unchanged", restart).await?;
        assert_eq!(
            (applies(&a, "ack").await?, applies(&b, "ack").await?),
            acks,
            "nothing compiled again after restart {restart}"
        );
    }

    // Later changes reach both nodes as usual.
    let mut admin = Admin::connect(&cp.url()).await?;
    admin.route(&api, "/ping", "GET", mock(200, "v2")).await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["a", "b"]).await?;
    let http = GatewayClient::default();
    for node in [&a, &b] {
        assert_eq!(
            http.get(node.addr(), "calm", "/prod/ping").await?.body,
            "v2"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_secrets_are_sealed_on_disk_and_verify_after_a_restart_from_it() -> anyhow::Result<()> {
    use archway_proto::v1::{Method, PrincipalType, PutMethodRequest};
    let dir = tempfile::tempdir()?;
    let mut cp = ControlPlane::start(&dir.path().join("cp"))?;
    let state = dir.path().join("n");
    let node = DataPlane::start(&cp.url(), "n", &state, &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin.create_api("sealed", ApiProtocol::Rest).await?;
    let method = admin.route(&api, "/ping", "GET", mock(200, "pong")).await?;
    admin
        .apis
        .put_method(PutMethodRequest {
            method: Some(Method {
                authorization_type: "AWS_IAM".into(),
                ..method
            }),
        })
        .await?;
    let allow_all = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]});
    admin
        .create_principal("alice", PrincipalType::User, vec![allow_all.to_string()])
        .await?;
    let key = admin.access_key("alice").await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["n"]).await?;

    let http = GatewayClient::default();
    let signed = |node: &DataPlane| {
        let headers = archway_e2e::sigv4::get_headers(
            &key,
            "sealed.execute-api.localhost",
            "/prod/ping",
            std::time::SystemTime::now(),
        );
        let http = &http;
        let addr = node.addr();
        async move {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            http.send_with_headers(addr, "sealed", "GET", "/prod/ping", "", &headers)
                .await
        }
    };
    assert_eq!(signed(&node).await?.status, StatusCode::OK);

    // On disk the secret is sealed, not in clear.
    let saved = std::fs::read(state.join("snapshot.pb"))?;
    let secret = key.secret_access_key.as_bytes();
    assert!(!saved.windows(secret.len()).any(|w| w == secret));
    assert!(state.join("seal.key").exists());

    // With the control plane gone, a restarted node opens the secrets it
    // saved and still verifies signatures.
    cp.process.kill();
    let cp_url = cp.url();
    drop(node);
    let node = DataPlane::start(&cp_url, "n", &state, &[])?;
    assert_eq!(signed(&node).await?.status, StatusCode::OK);

    // With another seal key the saved secrets do not open: signatures fail
    // (until the control plane sends the secrets again), nothing else does.
    drop(node);
    let other_key = "11".repeat(32);
    let node = DataPlane::start_with_env(
        &cp_url,
        "n",
        &state,
        &[],
        &[("ARCHWAY_SEAL_KEY", other_key.as_str())],
    )?;
    assert_eq!(signed(&node).await?.status, StatusCode::FORBIDDEN);
    Ok(())
}
