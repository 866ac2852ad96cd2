//! `archwayctl`: declarative apply is idempotent and converges, and stages
//! can be rolled back and canaries promoted.

use archway_e2e::http_client::GatewayClient;
use archway_e2e::process::bin_dir;
use archway_e2e::{Admin, ControlPlane, DataPlane, upstream};
use std::process::Command;

fn ctl(server: &str, args: &[&str]) -> String {
    let output = Command::new(bin_dir().join("archwayctl"))
        .arg("--server")
        .arg(server)
        .args(["--token", archway_e2e::TEST_ADMIN_TOKEN])
        .args(args)
        .output()
        .expect("running archwayctl");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "archwayctl {args:?} failed: {}{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_rollback_and_promote() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let backend = upstream::start("backend").await;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let server = cp.url();
    let http = GatewayClient::default();

    let file = dir.path().join("api.yaml");
    let write = |body: &str, canary: &str| {
        std::fs::write(
            &file,
            format!(
                r#"
apis:
  - name: store
    id: store
    routes:
      - path: /orders/{{id}}
        method: GET
        integration:
          type: HTTP_PROXY
          uri: http://${{stageVariables.backend}}/orders/{{id}}
      - path: /health
        method: GET
        integration: {{ type: MOCK, status: 200, body: "{body}" }}
    stages:
      - name: prod
        variables: {{ backend: "{}" }}
{canary}
"#,
                backend.addr
            ),
        )
    };

    write("v1", "")?;
    let out = ctl(&server, &["apply", "-f", file.to_str().unwrap()]);
    assert!(out.contains("api store (store): created"), "{out}");
    assert!(out.contains("stage prod: created"), "{out}");
    assert_eq!(
        ctl(&server, &["apply", "-f", file.to_str().unwrap()]).trim(),
        "unchanged"
    );
    admin.wait_converged(&["n"]).await?;
    assert_eq!(
        http.get(node.addr(), "store", "/prod/health").await?.body,
        "v1"
    );
    let echo = http
        .get(node.addr(), "store", "/prod/orders/9")
        .await?
        .json();
    assert_eq!(echo["path"], "/orders/9");

    // A changed file deploys once; the stage serves the new version.
    write("v2", "")?;
    let out = ctl(&server, &["apply", "-f", file.to_str().unwrap()]);
    assert!(out.contains("method GET /health: updated"), "{out}");
    assert!(out.contains("deployment "), "{out}");
    admin.wait_converged(&["n"]).await?;
    assert_eq!(
        http.get(node.addr(), "store", "/prod/health").await?.body,
        "v2"
    );

    // Rollback to the previous deployment.
    let out = ctl(&server, &["rollback", "store", "--stage", "prod"]);
    assert!(out.contains("stage prod:"), "{out}");
    admin.wait_converged(&["n"]).await?;
    assert_eq!(
        http.get(node.addr(), "store", "/prod/health").await?.body,
        "v1"
    );

    // With a canary at 100%, a new version goes to the canary; promote makes it main.
    write("v3", "        canary: { percent_traffic: 100 }")?;
    ctl(&server, &["apply", "-f", file.to_str().unwrap()]);
    admin.wait_converged(&["n"]).await?;
    assert_eq!(
        http.get(node.addr(), "store", "/prod/health").await?.body,
        "v3"
    );
    let stages = ctl(&server, &["get", "stages", "store"]);
    assert!(stages.contains("at 100%"), "{stages}");
    ctl(&server, &["promote", "store", "--stage", "prod"]);
    write("v3", "")?;
    assert_eq!(
        ctl(&server, &["apply", "-f", file.to_str().unwrap()]).trim(),
        "unchanged"
    );
    admin.wait_converged(&["n"]).await?;
    assert_eq!(
        http.get(node.addr(), "store", "/prod/health").await?.body,
        "v3"
    );

    let nodes = ctl(&server, &["get", "nodes"]);
    assert!(nodes.contains("n "), "{nodes}");
    Ok(())
}

#[test]
fn apply_reports_a_bad_file_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(&file, "apis:\n  - name: x\n    routs: []\n").unwrap();
    let output = Command::new(bin_dir().join("archwayctl"))
        .args(["--server", "http://127.0.0.1:1", "apply", "-f"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown field") && stderr.contains("routs"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_declares_usage_plans_by_name() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let server = cp.url();
    let file = dir.path().join("plans.yaml");
    let write = |rate: u32| {
        std::fs::write(
            &file,
            format!(
                r#"
apis:
  - name: catalog
    routes:
      - path: /items
        method: GET
        api_key_required: true
        integration: {{ type: MOCK, status: 200 }}
    stages:
      - name: prod
usage_plans:
  - name: gold
    throttle: {{ rate_limit: {rate}, burst_limit: 10 }}
    quota: {{ limit: 1000, period: WEEK, offset: 2 }}
    stages:
      - api: catalog
        stage: prod
        method_throttles:
          - {{ path: /items, method: get, rate_limit: 5, burst_limit: 5 }}
"#
            ),
        )
    };
    write(50)?;
    let out = ctl(&server, &["apply", "-f", file.to_str().unwrap()]);
    assert!(out.contains("usage plan gold ("), "{out}");
    assert_eq!(
        ctl(&server, &["apply", "-f", file.to_str().unwrap()]).trim(),
        "unchanged"
    );
    write(60)?;
    let out = ctl(&server, &["apply", "-f", file.to_str().unwrap()]);
    assert!(
        out.contains("usage plan gold") && out.contains("updated"),
        "{out}"
    );
    let plans = ctl(&server, &["plans", "list"]);
    assert!(
        plans.contains("60/s burst 10") && plans.contains("1000/WEEK"),
        "{plans}"
    );
    // A key from the CLI, shown once, works with the plan.
    let plan_id = plans
        .lines()
        .find(|l| l.contains("gold"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    let created = ctl(&server, &["keys", "create", "alice", "--plan", &plan_id]);
    assert!(created.contains("value "), "{created}");
    let keys = ctl(&server, &["keys", "list"]);
    assert!(keys.contains("alice") && keys.contains(&plan_id), "{keys}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_declares_jwt_authorizers_and_redeploys_when_they_change() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let server = cp.url();
    let file = dir.path().join("auth.yaml");
    let write = |audience: &str| {
        std::fs::write(
            &file,
            format!(
                r#"
apis:
  - name: profile
    authorizers:
      - name: users
        issuer: https://issuer.test
        audiences: [{audience}]
        jwks_uri: http://127.0.0.1:1/jwks.json
    routes:
      - path: /me
        method: GET
        authorizer: users
        scopes: [read]
        integration: {{ type: MOCK, status: 200 }}
    stages:
      - name: prod
"#
            ),
        )
    };
    write("app-1")?;
    let out = ctl(&server, &["apply", "-f", file.to_str().unwrap()]);
    assert!(out.contains("authorizer users: created"), "{out}");
    assert_eq!(
        ctl(&server, &["apply", "-f", file.to_str().unwrap()]).trim(),
        "unchanged"
    );
    write("app-2")?;
    let out = ctl(&server, &["apply", "-f", file.to_str().unwrap()]);
    assert!(out.contains("authorizer users: updated"), "{out}");
    assert!(
        out.contains("deployment "),
        "a changed authorizer is redeployed: {out}"
    );
    // A route naming an authorizer the file does not declare is refused.
    std::fs::write(
        &file,
        std::fs::read_to_string(&file)?.replace("authorizer: users", "authorizer: nobody"),
    )?;
    let output = Command::new(bin_dir().join("archwayctl"))
        .args([
            "--server",
            &server,
            "--token",
            archway_e2e::TEST_ADMIN_TOKEN,
        ])
        .args(["apply", "-f", file.to_str().unwrap()])
        .output()?;
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no authorizer named 'nobody'"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_declares_custom_authorizers_iam_routes_and_resource_policies() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let server = cp.url();
    let file = dir.path().join("secure.yaml");
    let write = |cidr: &str, kind: &str| {
        std::fs::write(
            &file,
            format!(
                r#"
apis:
  - name: secure
    id: secure
    endpoint_type: PRIVATE
    policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: "*"
          Action: execute-api:Invoke
          Resource: execute-api:/*
          Condition: {{ IpAddress: {{ "aws:SourceIp": ["{cidr}"] }} }}
    authorizers:
      - name: tokens
        type: {kind}
        uri: http://127.0.0.1:1/authorize
        identity_source: method.request.header.X-Token
        ttl_seconds: 60
    routes:
      - {{ path: /custom, method: GET, authorizer: tokens, integration: {{ type: MOCK, status: 200 }} }}
      - {{ path: /signed, method: GET, authorization: AWS_IAM, integration: {{ type: MOCK, status: 200 }} }}
    stages:
      - name: prod
"#
            ),
        )
    };
    write("10.0.0.0/8", "TOKEN")?;
    let out = ctl(&server, &["apply", "-f", file.to_str().unwrap()]);
    assert!(out.contains("authorizer tokens: created"), "{out}");
    assert_eq!(
        ctl(&server, &["apply", "-f", file.to_str().unwrap()]).trim(),
        "unchanged"
    );
    let mut admin = Admin::connect(&server).await?;
    let api = admin
        .apis
        .get_rest_api(archway_proto::v1::GetRestApiRequest {
            api_id: "secure".into(),
        })
        .await?
        .into_inner();
    assert_eq!(
        api.endpoint_type,
        archway_proto::v1::EndpointType::Private as i32
    );
    assert!(api.policy.contains("10.0.0.0/8"), "{}", api.policy);
    let methods = admin.list_methods("secure").await?;
    let kinds: std::collections::BTreeSet<&str> = methods
        .iter()
        .map(|m| m.authorization_type.as_str())
        .collect();
    assert_eq!(kinds, ["AWS_IAM", "CUSTOM"].into_iter().collect());

    // A changed policy updates the API; a changed authorizer type replaces
    // the authorizer.
    write("192.168.0.0/16", "REQUEST")?;
    let out = ctl(&server, &["apply", "-f", file.to_str().unwrap()]);
    assert!(out.contains("api secure (secure): updated"), "{out}");
    assert!(out.contains("authorizer tokens: created"), "{out}");
    let authorizers = admin.list_authorizers("secure").await?;
    assert_eq!(
        authorizers.len(),
        1,
        "the old authorizer is gone: {authorizers:?}"
    );

    // A bad policy is refused by the admin API with the field.
    write("not-a-cidr", "TOKEN")?;
    let output = Command::new(bin_dir().join("archwayctl"))
        .args([
            "--server",
            &server,
            "--token",
            archway_e2e::TEST_ADMIN_TOKEN,
        ])
        .args(["apply", "-f", file.to_str().unwrap()])
        .output()?;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("policy.Statement"), "{stderr}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_cache_from_an_apply_file_then_flushed_and_turned_off_from_the_cli()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let backend = upstream::start("backend").await;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let server = cp.url();
    let http = GatewayClient::default();
    let file = dir.path().join("api.yaml");
    std::fs::write(
        &file,
        format!(
            r#"
apis:
  - name: shop
    id: shop
    routes:
      - path: /items/{{id}}
        method: GET
        integration:
          type: HTTP_PROXY
          uri: http://{}/items/{{id}}
          cache_key_parameters: [method.request.path.id]
    stages:
      - name: prod
        cache:
          size: "1.6"
          ttl_seconds: 600
          methods:
            - {{ path: "/items/{{id}}", method: GET, unauthorized_strategy: FAIL_WITH_403 }}
"#,
            backend.addr
        ),
    )?;
    let apply = || ctl(&server, &["apply", "-f", file.to_str().unwrap()]);
    assert!(apply().contains("stage prod: created"));
    assert_eq!(apply().trim(), "unchanged");
    admin.wait_converged(&["n"]).await?;
    let calls = || backend.hits.load(std::sync::atomic::Ordering::Relaxed);
    let get = |path: &'static str| http.get(node.addr(), "shop", path);
    get("/prod/items/1").await?;
    get("/prod/items/1").await?;
    get("/prod/items/2").await?;
    assert_eq!(calls(), 2, "one call per id");

    let out = ctl(&server, &["flush-stage-cache", "shop", "--stage", "prod"]);
    assert!(out.contains("cache flushed (generation 1)"), "{out}");
    admin.wait_converged(&["n"]).await?;
    get("/prod/items/1").await?;
    get("/prod/items/1").await?;
    assert_eq!(calls(), 3, "flushed once, cached again");
    // The flush is the control plane's: applying the file again changes
    // nothing.
    assert_eq!(apply().trim(), "unchanged");

    let out = ctl(
        &server,
        &[
            "stage-cache",
            "shop",
            "--stage",
            "prod",
            "--enabled",
            "false",
        ],
    );
    assert!(out.contains("cache off (size 1.6 MB, ttl 600 s)"), "{out}");
    admin.wait_converged(&["n"]).await?;
    get("/prod/items/1").await?;
    get("/prod/items/1").await?;
    assert_eq!(calls(), 5, "off: every request reaches the backend");
    Ok(())
}
