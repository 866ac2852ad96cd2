//! API keys and usage plans: keys gate methods per stage, throttles and
//! quotas hold across the fleet with Redis, usage reaches the control plane,
//! and bad input is refused with clear errors.

use archway_e2e::admin::{assert_invalid, mock};
use archway_e2e::http_client::GatewayClient;
use archway_e2e::redis::RedisServer;
use archway_e2e::{Admin, ControlPlane, DataPlane, started};
use archway_proto::v1::*;
use http::StatusCode;
use std::time::{Duration, Instant};
use tonic::Code;

fn today() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    archway_proto::quota::date_string(archway_proto::quota::day_of(ms))
}

fn plan(name: &str, api: &str, stage: &str, throttle: Option<(f64, u32)>, quota: u64) -> UsagePlan {
    UsagePlan {
        name: name.into(),
        throttle: throttle.map(|(rate_limit, burst_limit)| ThrottleSettings {
            rate_limit,
            burst_limit,
        }),
        quota: (quota > 0).then_some(QuotaSettings {
            limit: quota,
            period: QuotaPeriod::Day as i32,
            offset: 0,
        }),
        api_stages: vec![UsagePlanStage {
            api_id: api.into(),
            stage: stage.into(),
            throttle: vec![],
        }],
        ..Default::default()
    }
}

async fn create_plan(admin: &mut Admin, p: UsagePlan) -> anyhow::Result<UsagePlan> {
    Ok(admin
        .plans
        .create_usage_plan(CreateUsagePlanRequest { plan: Some(p) })
        .await?
        .into_inner())
}

async fn create_key(admin: &mut Admin, name: &str, plan: Option<&str>) -> anyhow::Result<ApiKey> {
    let key = admin
        .plans
        .create_api_key(CreateApiKeyRequest {
            name: name.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    if let Some(plan) = plan {
        admin
            .plans
            .add_key_to_plan(UsagePlanKeyRequest {
                usage_plan_id: plan.into(),
                key_id: key.id.clone(),
            })
            .await?;
    }
    Ok(key)
}

async fn usage_of(admin: &mut Admin, plan: &str, key: &str) -> anyhow::Result<u64> {
    let items = admin
        .plans
        .get_usage(GetUsageRequest {
            usage_plan_id: plan.into(),
            key_id: key.into(),
            start_date: today(),
            end_date: today(),
        })
        .await?
        .into_inner()
        .items;
    Ok(items.iter().map(|i| i.used).sum())
}

/// An API "shop" with a keyed route on stages prod and dev, served by the
/// given nodes.
async fn shop(admin: &mut Admin, nodes: &[&str]) -> anyhow::Result<RestApi> {
    let api = admin.create_api("shop", ApiProtocol::Rest).await?;
    admin
        .route_with_key(&api, "/orders", "GET", mock(200, "orders"), true)
        .await?;
    admin.route(&api, "/open", "GET", mock(200, "open")).await?;
    admin.deploy(&api, "prod").await?;
    admin.deploy(&api, "dev").await?;
    admin.wait_converged(nodes).await?;
    Ok(api)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_throttles_and_quotas_hold_across_two_nodes_with_redis() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut redis = RedisServer::start()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node_args = [
        "--redis-url",
        &redis.url(),
        "--usage-report-interval-ms",
        "200",
    ];
    let a = DataPlane::start(&cp.url(), "a", &dir.path().join("a"), &node_args)?;
    let b = DataPlane::start(&cp.url(), "b", &dir.path().join("b"), &node_args)?;
    let mut admin = Admin::connect(&cp.url()).await?;
    shop(&mut admin, &["a", "b"]).await?;
    let throttled = create_plan(
        &mut admin,
        plan("gold", "shop", "prod", Some((50.0, 10)), 0),
    )
    .await?;
    let metered = create_plan(
        &mut admin,
        plan("trial", "shop", "prod", Some((1000.0, 1000)), 100),
    )
    .await?;
    let fast = create_key(&mut admin, "fast", Some(&throttled.id)).await?;
    let counted = create_key(&mut admin, "counted", Some(&metered.id)).await?;
    let idle = create_key(&mut admin, "idle", None).await?;
    assert!(
        fast.value.len() >= 30,
        "generated values are long: {}",
        fast.value
    );
    assert!(fast.value_hash.is_empty(), "the hash is never shown");
    admin.wait_converged(&["a", "b"]).await?;
    let http = GatewayClient::default();

    // Who may call.
    let forbidden = |answer: archway_e2e::http_client::Answer| {
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
        assert_eq!(answer.json()["message"], "Forbidden");
    };
    forbidden(http.get(a.addr(), "shop", "/prod/orders").await?);
    forbidden(
        http.get_with_key(a.addr(), "shop", "/prod/orders", "not-a-key-at-all-00000")
            .await?,
    );
    forbidden(
        http.get_with_key(a.addr(), "shop", "/prod/orders", &idle.value)
            .await?,
    );
    forbidden(
        http.get_with_key(b.addr(), "shop", "/dev/orders", &fast.value)
            .await?,
    );
    assert_eq!(
        http.get(a.addr(), "shop", "/prod/open").await?.status,
        StatusCode::OK
    );
    let ok = http
        .get_with_key(b.addr(), "shop", "/prod/orders", &fast.value)
        .await?;
    assert_eq!(ok.status, StatusCode::OK);
    // Disabled keys are refused.
    admin
        .plans
        .update_api_key(UpdateApiKeyRequest {
            key_id: idle.id.clone(),
            enabled: Some(false),
            ..Default::default()
        })
        .await?;

    // Throttle: 50 rps, burst 10, driven at 200 rps across both nodes for 5 s.
    tokio::time::sleep(Duration::from_secs(1)).await; // let the bucket refill
    let started = Instant::now();
    let mut admitted = 0u32;
    let mut throttled_answers = 0u32;
    for i in 0..1000u32 {
        let due = started + Duration::from_millis(5 * u64::from(i));
        tokio::time::sleep_until(due.into()).await;
        let node = if i % 2 == 0 { a.addr() } else { b.addr() };
        let answer = http
            .get_with_key(node, "shop", "/prod/orders", &fast.value)
            .await?;
        match answer.status {
            StatusCode::OK => admitted += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(answer.json()["message"], "Too Many Requests");
                assert!(answer.headers.contains_key("retry-after"));
                throttled_answers += 1;
            }
            other => panic!("unexpected {other}: {}", answer.body),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rate = f64::from(admitted.saturating_sub(10)) / elapsed;
    eprintln!("admitted {admitted} of 1000 in {elapsed:.2}s: {rate:.1} rps beyond the burst");
    assert!((45.0..=55.0).contains(&rate), "50 rps ±10%, got {rate:.1}");
    assert_eq!(admitted + throttled_answers, 1000);

    // Quota: exactly 100 per day across both nodes.
    let mut admitted = 0;
    for i in 0..120 {
        let node = if i % 2 == 0 { a.addr() } else { b.addr() };
        let answer = http
            .get_with_key(node, "shop", "/prod/orders", &counted.value)
            .await?;
        match answer.status {
            StatusCode::OK => admitted += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(answer.json()["message"], "Limit Exceeded");
                assert!(i >= 100, "refused before the quota was used: request {i}");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(admitted, 100);
    // Usage reached the control plane.
    let deadline = Instant::now() + Duration::from_secs(10);
    while usage_of(&mut admin, &metered.id, &counted.id).await? < 100 {
        anyhow::ensure!(Instant::now() < deadline, "usage never reached 100");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(usage_of(&mut admin, &metered.id, &counted.id).await?, 100);

    // A restarted node keeps the count.
    drop(a);
    let a = DataPlane::start(&cp.url(), "a", &dir.path().join("a"), &node_args)?;
    admin.wait_converged(&["a", "b"]).await?;
    let mut refused = 0;
    for _ in 0..20 {
        let answer = http
            .get_with_key(a.addr(), "shop", "/prod/orders", &counted.value)
            .await?;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert_eq!(refused, 20, "the quota still holds after a restart");

    // Redis gone: nodes keep serving with local limits.
    redis.stop();
    let answer = http
        .get_with_key(b.addr(), "shop", "/prod/orders", &fast.value)
        .await?;
    assert!(
        answer.status == StatusCode::OK || answer.status == StatusCode::TOO_MANY_REQUESTS,
        "{}",
        answer.status
    );
    assert_eq!(
        http.get(b.addr(), "shop", "/prod/open").await?.status,
        StatusCode::OK
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_is_reported_without_redis_and_can_be_reset() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(
        &cp.url(),
        "solo",
        &dir.path().join("n"),
        &["--usage-report-interval-ms", "200"],
    )?;
    let mut admin = Admin::connect(&cp.url()).await?;
    shop(&mut admin, &["solo"]).await?;
    let p = create_plan(&mut admin, plan("basic", "shop", "prod", None, 40)).await?;
    let key = create_key(&mut admin, "k", Some(&p.id)).await?;
    admin.wait_converged(&["solo"]).await?;
    let http = GatewayClient::default();
    for _ in 0..37 {
        let answer = http
            .get_with_key(node.addr(), "shop", "/prod/orders", &key.value)
            .await?;
        assert_eq!(answer.status, StatusCode::OK);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let used = usage_of(&mut admin, &p.id, &key.id).await?;
        if used == 37 {
            break;
        }
        anyhow::ensure!(
            used < 37 && Instant::now() < deadline,
            "usage {used}, expected 37"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let items = admin
        .plans
        .get_usage(GetUsageRequest {
            usage_plan_id: p.id.clone(),
            key_id: String::new(),
            start_date: today(),
            end_date: today(),
        })
        .await?
        .into_inner()
        .items;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].remaining, Some(3));

    // Three left, then the quota is spent.
    for expected in [200, 200, 200, 429] {
        let answer = http
            .get_with_key(node.addr(), "shop", "/prod/orders", &key.value)
            .await?;
        assert_eq!(answer.status.as_u16(), expected);
    }
    // A node stopped and started again keeps counting, and its last usage
    // report went out on the way down.
    let mut node = node;
    node.process.terminate();
    let node = DataPlane::start(
        &cp.url(),
        "solo",
        &dir.path().join("n"),
        &["--usage-report-interval-ms", "200"],
    )?;
    let answer = http
        .get_with_key(node.addr(), "shop", "/prod/orders", &key.value)
        .await?;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    let deadline = Instant::now() + Duration::from_secs(5);
    while usage_of(&mut admin, &p.id, &key.id).await? != 40 {
        anyhow::ensure!(Instant::now() < deadline, "the last usage report was lost");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A reset starts the period over.
    admin
        .plans
        .reset_usage(UsagePlanKeyRequest {
            usage_plan_id: p.id.clone(),
            key_id: key.id.clone(),
        })
        .await?;
    admin.wait_converged(&["solo"]).await?;
    let answer = http
        .get_with_key(node.addr(), "shop", "/prod/orders", &key.value)
        .await?;
    assert_eq!(answer.status, StatusCode::OK);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_one_new_key_is_one_resource_on_the_wire() -> anyhow::Result<()> {
    let (_dir, cp, mut admin) = started().await?;
    shop(&mut admin, &[]).await?;
    let p = create_plan(
        &mut admin,
        plan("basic", "shop", "prod", Some((10.0, 5)), 0),
    )
    .await?;

    let mut bad_plan = plan("neg", "shop", "prod", Some((-1.0, 5)), 0);
    assert_invalid(
        admin
            .plans
            .create_usage_plan(CreateUsagePlanRequest {
                plan: Some(bad_plan.clone()),
            })
            .await,
        "plan.throttle.rate_limit:",
    );
    bad_plan.throttle = None;
    bad_plan.api_stages[0].stage = "nope".into();
    assert_invalid(
        admin
            .plans
            .create_usage_plan(CreateUsagePlanRequest {
                plan: Some(bad_plan.clone()),
            })
            .await,
        "plan.api_stages[0]:",
    );
    bad_plan.api_stages[0].stage = "prod".into();
    bad_plan.quota = Some(QuotaSettings {
        limit: 10,
        period: 0,
        offset: 0,
    });
    assert_invalid(
        admin
            .plans
            .create_usage_plan(CreateUsagePlanRequest {
                plan: Some(bad_plan),
            })
            .await,
        "plan.quota.period:",
    );
    let missing = admin
        .plans
        .add_key_to_plan(UsagePlanKeyRequest {
            usage_plan_id: "no-such-plan".into(),
            key_id: "x".into(),
        })
        .await
        .expect_err("unknown plan");
    assert_eq!(missing.code(), Code::NotFound);
    assert_invalid(
        admin
            .plans
            .create_api_key(CreateApiKeyRequest {
                name: "short".into(),
                value: "tooshort".into(),
                ..Default::default()
            })
            .await,
        "value:",
    );

    // CSV: all rows or none, errors name the line.
    let import = |csv: String| ImportApiKeysRequest { csv };
    for (csv, expect) in [
        (
            "name,description\nx,y\n".to_string(),
            "csv: the header line needs",
        ),
        (
            "name,key,colour\nx,abcdefghijklmnopqrstu,red\n".into(),
            "csv: unknown column 'colour'",
        ),
        (
            format!("name,key,enabled\na,{},maybe\n", "k".repeat(24)),
            "csv: line 2: enabled",
        ),
        (
            format!("name,key,usageplanIds\na,{},nosuchplan\n", "k".repeat(24)),
            "csv line 2: usage plan",
        ),
        (
            format!("name,key\na,{0}\nb,{0}\n", "k".repeat(24)),
            "csv line 3: repeats",
        ),
        ("name,key\n\"unclosed,abc\n".into(), "csv"),
    ] {
        assert_invalid(admin.plans.import_api_keys(import(csv)).await, expect);
    }
    assert!(
        admin
            .plans
            .list_api_keys(ListApiKeysRequest::default())
            .await?
            .into_inner()
            .items
            .is_empty()
    );
    let csv = format!(
        "Name,key,description,Enabled,usageplanIds\na,{},first,true,{}\nb,{},second,false,\n",
        "A".repeat(24),
        p.id,
        "B".repeat(24)
    );
    let imported = admin
        .plans
        .import_api_keys(import(csv))
        .await?
        .into_inner()
        .items;
    assert_eq!(imported.len(), 2);
    assert_eq!(imported[0].usage_plan_ids, std::slice::from_ref(&p.id));
    assert!(!imported[1].enabled);

    // A fleet holding many keys gets one new key as one resource.
    let rows: String = (0..1000)
        .map(|i| format!("bulk{i},bulkkey{i:016}xxxx\n"))
        .collect();
    admin
        .plans
        .import_api_keys(import(format!("name,key\n{rows}")))
        .await?;
    let (_tx, mut updates) = archway_e2e::config_stream::open(&cp.url(), "observer").await?;
    let full = updates.message().await?.expect("a full update");
    assert!(full.full);
    let keys_held = full
        .upserts
        .iter()
        .filter(|r| r.name.starts_with("apikey/"))
        .count();
    assert_eq!(keys_held, 1002);
    let new = create_key(&mut admin, "one-more", None).await?;
    let delta = tokio::time::timeout(Duration::from_secs(10), updates.message())
        .await??
        .expect("a delta");
    assert!(!delta.full);
    assert_eq!(delta.base_version, full.version);
    let names: Vec<&str> = delta.upserts.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, [format!("apikey/{}", new.id)]);
    let Some(config_resource::Resource::ApiKey(sent)) = &delta.upserts[0].resource else {
        panic!("an API key resource");
    };
    assert!(
        sent.name.is_empty() && sent.value.is_empty(),
        "nodes get the hash only"
    );
    assert_eq!(sent.value_hash.len(), 32);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_and_method_throttles_apply_without_keys() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = shop(&mut admin, &["n"]).await?;
    let mut stage = admin.stage(&api, "prod").await?;
    let bucket = |path: &str, method: &str, rate: f64, burst: u32| MethodThrottle {
        resource_path: path.into(),
        http_method: method.into(),
        throttle: Some(ThrottleSettings {
            rate_limit: rate,
            burst_limit: burst,
        }),
    };
    // The stage allows plenty; /open allows a burst of 3 at 0.1 rps.
    stage.method_settings = vec![
        bucket("*", "*", 1000.0, 1000),
        bucket("/open", "GET", 0.1, 3),
    ];
    admin.update_stage(stage.clone()).await?;
    admin.wait_converged(&["n"]).await?;
    let http = GatewayClient::default();
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(
            http.get(node.addr(), "shop", "/prod/open")
                .await?
                .status
                .as_u16(),
        );
    }
    assert_eq!(codes, [200, 200, 200, 429, 429]);
    // Another stage has no throttle.
    for _ in 0..5 {
        assert_eq!(
            http.get(node.addr(), "shop", "/dev/open").await?.status,
            StatusCode::OK
        );
    }
    // A bad method setting is refused, naming it.
    stage.method_settings = vec![bucket("open", "GET", 1.0, 1)];
    assert_invalid(
        admin
            .deployments
            .update_stage(UpdateStageRequest {
                stage: Some(stage),
                update_mask: None,
            })
            .await,
        "stage.method_settings[0].resource_path:",
    );
    Ok(())
}
