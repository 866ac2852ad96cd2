//! Redeploys reach every node live, and swapping tables under load drops no
//! request.

use archway_e2e::admin::mock;
use archway_e2e::http_client::GatewayClient;
use archway_e2e::{Admin, ControlPlane, DataPlane, upstream};
use archway_proto::v1::ApiProtocol;
use http::StatusCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redeploy_reaches_both_nodes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let a = DataPlane::start(&cp.url(), "a", &dir.path().join("a"), &[])?;
    let b = DataPlane::start(&cp.url(), "b", &dir.path().join("b"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin.create_api("greeter", ApiProtocol::Rest).await?;
    admin.route(&api, "/hi", "GET", mock(200, "v1")).await?;
    admin.deploy(&api, "prod").await?;
    let first = admin.wait_converged(&["a", "b"]).await?;

    let http = GatewayClient::default();
    for node in [a.addr(), b.addr()] {
        assert_eq!(http.get(node, "greeter", "/prod/hi").await?.body, "v1");
    }
    // Editing the API alone changes nothing served...
    admin.route(&api, "/hi", "GET", mock(200, "v2")).await?;
    admin.route(&api, "/new", "GET", mock(201, "new")).await?;
    for node in [a.addr(), b.addr()] {
        assert_eq!(http.get(node, "greeter", "/prod/hi").await?.body, "v1");
    }
    // ...until it is deployed.
    admin.deploy(&api, "prod").await?;
    let second = admin.wait_converged(&["a", "b"]).await?;
    assert!(second > first);
    for node in [a.addr(), b.addr()] {
        assert_eq!(http.get(node, "greeter", "/prod/hi").await?.body, "v2");
        assert_eq!(
            http.get(node, "greeter", "/prod/new").await?.status,
            StatusCode::CREATED
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_redeploys_under_load_fail_no_request() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let backend = upstream::start("backend").await;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let a = DataPlane::start(&cp.url(), "a", &dir.path().join("a"), &[])?;
    let b = DataPlane::start(&cp.url(), "b", &dir.path().join("b"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin.create_api("busy", ApiProtocol::Rest).await?;
    let uri = format!("http://{}/items", backend.addr);
    admin
        .route(&api, "/items", "GET", archway_e2e::admin::http_proxy(&uri))
        .await?;
    admin.route(&api, "/version", "GET", mock(200, "0")).await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["a", "b"]).await?;

    // Bounded load: 8 workers, each at most 5,000 requests, until the
    // redeploys are done.
    let done = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for i in 0..8 {
        let node = if i % 2 == 0 { a.addr() } else { b.addr() };
        let (done, ok, failed) = (done.clone(), ok.clone(), failed.clone());
        workers.push(tokio::spawn(async move {
            let http = GatewayClient::default();
            for n in 0..5_000 {
                if done.load(Ordering::Relaxed) {
                    break;
                }
                let path = if n % 2 == 0 {
                    "/prod/items"
                } else {
                    "/prod/version"
                };
                match http.get(node, "busy", path).await {
                    Ok(answer) if answer.status == StatusCode::OK => {
                        ok.fetch_add(1, Ordering::Relaxed)
                    }
                    other => {
                        eprintln!("failed request: {other:?}");
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        }));
    }
    for version in 1..=100 {
        admin
            .route(&api, "/version", "GET", mock(200, &version.to_string()))
            .await?;
        admin.deploy(&api, "prod").await?;
    }
    admin.wait_converged(&["a", "b"]).await?;
    done.store(true, Ordering::Relaxed);
    for w in workers {
        w.await?;
    }
    let http = GatewayClient::default();
    for node in [a.addr(), b.addr()] {
        assert_eq!(http.get(node, "busy", "/prod/version").await?.body, "100");
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprintln!("{ok} requests succeeded during 100 redeploys, {failed} failed");
    assert_eq!(failed, 0);
    assert!(
        ok > 100,
        "the load ran alongside the redeploys ({ok} requests)"
    );
    Ok(())
}
