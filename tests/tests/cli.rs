//! `archwayctl`: declarative apply is idempotent and converges, and stages
//! can be rolled back and canaries promoted. Every refusal starts once with
//! `error:` and says what to do; a deploy to an unknown stage, a promote
//! that would roll back and a delete in a script without `--yes` are
//! refused; completion scripts need no server.

use archway_e2e::ctl::{ctl, ctl_as, ctl_raw, ctl_run};
use archway_e2e::http_client::GatewayClient;
use archway_e2e::process::{bin_dir, on_a_pty, stdout_until};
use archway_e2e::{Admin, ControlPlane, DataPlane, upstream};
use std::process::Command;
use std::time::Duration;

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
    assert!(out.contains("stage store/prod: created"), "{out}");
    assert!(
        out.contains("deployment: (none) -> (new deployment)"),
        "{out}"
    );
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
    assert!(out.contains("route store GET /health: updated"), "{out}");
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
    let output = ctl_raw(&[
        "--server",
        "http://127.0.0.1:1",
        "apply",
        "-f",
        file.to_str().unwrap(),
    ]);
    assert!(!output.ok);
    let stderr = output.stderr;
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
    assert!(out.contains("authorizer profile users ("), "{out}");
    assert_eq!(
        ctl(&server, &["apply", "-f", file.to_str().unwrap()]).trim(),
        "unchanged"
    );
    write("app-2")?;
    let out = ctl(&server, &["apply", "-f", file.to_str().unwrap()]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("authorizer profile users") && l.ends_with("updated")),
        "{out}"
    );
    assert!(
        out.contains("audiences: [\"app-1\"] -> [\"app-2\"]"),
        "{out}"
    );
    assert!(
        out.contains("deployment "),
        "a changed authorizer is redeployed: {out}"
    );
    // A route naming an authorizer the file does not declare is refused.
    std::fs::write(
        &file,
        std::fs::read_to_string(&file)?.replace("authorizer: users", "authorizer: nobody"),
    )?;
    let output = ctl_run(&server, &["apply", "-f", file.to_str().unwrap()]);
    assert!(!output.ok);
    // At its line and column in the file (the route's `authorizer:` key).
    let at = format!("{}:12:9: ", file.display());
    assert!(
        output.stderr.contains(&format!(
            "{at}apis[0].routes[0].authorizer: no authorizer of this API is named 'nobody'"
        )),
        "{}",
        output.stderr
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
    assert!(out.contains("authorizer secure tokens ("), "{out}");
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

    // A changed policy updates the API; a changed authorizer type is an
    // update of the authorizer (its methods are checked against the new type).
    write("192.168.0.0/16", "REQUEST")?;
    let out = ctl(&server, &["apply", "-f", file.to_str().unwrap()]);
    assert!(out.contains("api secure (secure): updated"), "{out}");
    assert!(out.contains("type: \"TOKEN\" -> \"REQUEST\""), "{out}");
    let authorizers = admin.list_authorizers("secure").await?;
    assert_eq!(
        authorizers.len(),
        1,
        "the old authorizer is gone: {authorizers:?}"
    );

    // A bad policy is refused by the admin API with the field.
    write("not-a-cidr", "TOKEN")?;
    let output = ctl_run(&server, &["apply", "-f", file.to_str().unwrap()]);
    assert!(!output.ok);
    let stderr = output.stderr;
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
    assert!(apply().contains("stage shop/prod: created"));
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

#[test]
fn without_a_token_the_cli_says_how_to_pass_one() {
    let run = ctl_raw(&["--server", "http://127.0.0.1:1", "get", "apis"]);
    run.assert_refused(&["no admin token", "--token", "ARCHWAY_TOKEN", "--token-file"]);
}

#[test]
fn an_unreachable_server_is_named_with_the_flag_to_fix_it() {
    let server = format!("http://{}", archway_e2e::unused_loopback_addr());
    let run = ctl_as(&server, "some-token", &["get", "apis"]);
    run.assert_refused(&[
        &format!("is the control plane running at {server}?"),
        "--server",
        "ARCHWAY_SERVER",
    ]);
    let run = ctl_as("127.0.0.1:7070", "some-token", &["get", "apis"]);
    run.assert_refused(&["not a server URL", "http://HOST:PORT"]);
}

#[test]
fn bad_flags_are_refused_once_with_error_and_usage() {
    let run = ctl_raw(&["get", "apis", "--bogus"]);
    run.assert_refused(&["unexpected argument '--bogus'", "--help"]);
    let run = ctl_raw(&["deploy", "pets"]);
    run.assert_refused(&["--stage <STAGE>", "Usage: archwayctl deploy"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_the_role_or_resource_and_what_to_do() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let server = cp.url();

    let created = ctl(&server, &["tokens", "create", "viewer"]);
    let reader = created
        .lines()
        .find_map(|l| l.strip_prefix("secret"))
        .map(|s| s.split_whitespace().next().unwrap().to_owned())
        .expect("the secret is printed");
    // The API exists, so the refusal is the role's, not a missing name's.
    let mut admin_client = Admin::connect(&server).await?;
    deployed_api(&mut admin_client, "pets").await?;
    let run = ctl_as(&server, &reader, &["deploy", "pets", "--stage", "prod"]);
    run.assert_refused(&["(read-only)", "it needs an admin token", "--role admin"]);
    // Reading is what a read-only token may do.
    assert!(ctl_as(&server, &reader, &["get", "apis"]).ok);

    let run = ctl_as(&server, "not-a-token-at-all", &["get", "apis"]);
    run.assert_refused(&["unknown token", "--token or ARCHWAY_TOKEN"]);

    let run = ctl_run(&server, &["get", "api", "nope"]);
    // Names are resolved first: an unknown one is refused by the CLI.
    run.assert_refused(&["no API has the id or name 'nope'", "archwayctl get apis"]);
    // What only the server can find missing gets its NotFound and a hint.
    let run = ctl_run(&server, &["rollback", "pets", "--stage", "nostage"]);
    run.assert_refused(&["'nostage'", "not found", "check the name or id"]);

    let run = ctl_run(&server, &["tokens", "create", "x", "--role", "boss"]);
    run.assert_refused(&["--role 'boss' is not admin, read-only or node"]);
    Ok(())
}

/// An API with one route, deployed to stage `prod`.
async fn deployed_api(admin: &mut Admin, id: &str) -> anyhow::Result<archway_proto::v1::RestApi> {
    let api = admin
        .create_api(id, archway_proto::v1::ApiProtocol::Rest)
        .await?;
    admin
        .route(&api, "/health", "GET", archway_e2e::admin::mock(200, "ok"))
        .await?;
    admin.deploy(&api, "prod").await?;
    Ok(api)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_refuses_an_unknown_stage_unless_create_stage() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let server = cp.url();
    let mut admin = Admin::connect(&server).await?;
    deployed_api(&mut admin, "pets").await?;
    let deployments = || {
        ctl(&server, &["get", "deployments", "pets"])
            .lines()
            .count()
    };
    let before = deployments();

    let run = ctl_run(&server, &["deploy", "pets", "--stage", "prdo"]);
    run.assert_refused(&["no stage 'prdo'", "its stages: prod", "--create-stage"]);
    let stages = ctl(&server, &["get", "stages", "pets"]);
    assert!(!stages.contains("prdo"), "no stage was made: {stages}");
    assert_eq!(deployments(), before, "no deployment was made either");

    // The existing stage deploys as before; a new one only when asked.
    ctl(&server, &["deploy", "pets", "--stage", "prod"]);
    let out = ctl(
        &server,
        &["deploy", "pets", "--stage", "qa", "--create-stage"],
    );
    assert!(out.contains("serves stage qa"), "{out}");
    assert!(ctl(&server, &["get", "stages", "pets"]).contains("qa"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promote_refuses_a_canary_older_than_the_stage_unless_forced() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let server = cp.url();
    let mut admin = Admin::connect(&server).await?;
    let api = deployed_api(&mut admin, "shop").await?;
    let older = admin.stage(&api, "prod").await?.deployment_id;
    // The stage is deployed to directly after its canary was set up with
    // the older deployment.
    let newer = admin.deploy(&api, "prod").await?.id;
    let mut stage = admin.stage(&api, "prod").await?;
    stage.canary = Some(archway_proto::v1::CanarySettings {
        deployment_id: older.clone(),
        percent_traffic: 10.0,
        ..Default::default()
    });
    admin.update_stage(stage).await?;

    let run = ctl_run(&server, &["promote", "shop", "--stage", "prod"]);
    run.assert_refused(&[
        &format!("the canary's deployment '{older}' is older"),
        &format!("'{newer}' is newer"),
        "--force",
    ]);
    assert_eq!(admin.stage(&api, "prod").await?.deployment_id, newer);
    // The refusal is the server's: every admin client (the web UI, grpcurl)
    // gets it, not only the CLI.
    let status = admin
        .deployments
        .promote_canary(archway_proto::v1::PromoteCanaryRequest {
            api_id: api.id.clone(),
            stage_name: "prod".into(),
            force: false,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
    assert!(
        status.message().contains("would roll the stage back"),
        "{status:?}"
    );
    assert_eq!(admin.stage(&api, "prod").await?.deployment_id, newer);

    ctl(&server, &["promote", "shop", "--stage", "prod", "--force"]);
    let stage = admin.stage(&api, "prod").await?;
    assert_eq!(stage.deployment_id, older);
    assert!(stage.canary.is_none());
    // Without a canary there is nothing to promote.
    let run = ctl_run(&server, &["promote", "shop", "--stage", "prod"]);
    run.assert_refused(&["has no canary to promote"]);
    Ok(())
}

/// Rollback goes back through what the stage itself served, never to a
/// deployment made for another stage, and further back each time: prod
/// gets d1, beta d2, prod d3; rolling prod back serves d1 (the API's newest
/// deployment older than d3 is beta's d2, which prod never served). Each
/// step is proved by a request through a real node; a deleted deployment is
/// skipped, and an empty history is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_returns_to_what_the_stage_itself_served() -> anyhow::Result<()> {
    let (_dir, cp, node, mut admin) = archway_e2e::started_with_node("n", &[]).await?;
    let server = cp.url();
    let api = admin
        .create_api("shop", archway_proto::v1::ApiProtocol::Rest)
        .await?;
    let mut shop = Releases {
        admin,
        api,
        server: server.clone(),
        node: node.addr(),
        http: GatewayClient::default(),
    };
    let d1 = shop.release("v1", "prod").await?;
    let d2 = shop.release("v2", "beta").await?;
    let d3 = shop.release("v3", "prod").await?;
    assert_eq!(shop.serves("prod").await?, "v3");
    assert_eq!(shop.serves("beta").await?, "v2");
    let rollback = || ctl(&server, &["rollback", "shop", "--stage", "prod"]);

    let out = rollback();
    assert!(
        out.contains(&format!("{d3} -> {d1}")),
        "not beta's {d2}: {out}"
    );
    assert_eq!(shop.serves("prod").await?, "v1");
    assert_eq!(shop.serves("beta").await?, "v2");
    // Rolled back as far as prod goes: refused, and nothing moves.
    let run = ctl_run(&server, &["rollback", "shop", "--stage", "prod"]);
    run.assert_refused(&[
        "stage 'prod' has no earlier deployment of its own",
        "--to ID",
    ]);
    assert_eq!(shop.serves("prod").await?, "v1");

    // Twice goes back twice, never toggling between the last two.
    let d4 = shop.release("v4", "prod").await?;
    let d5 = shop.release("v5", "prod").await?;
    let d6 = shop.release("v6", "prod").await?;
    assert_eq!(shop.serves("prod").await?, "v6");
    let out = rollback();
    assert!(out.contains(&format!("{d6} -> {d5}")), "{out}");
    assert_eq!(shop.serves("prod").await?, "v5");
    let out = rollback();
    assert!(out.contains(&format!("{d5} -> {d4}")), "{out}");
    assert_eq!(shop.serves("prod").await?, "v4");

    // A deleted deployment leaves the history: the next rollback skips it.
    let d7 = shop.release("v7", "prod").await?;
    ctl(&server, &["delete", "deployment", "shop", &d4, "--yes"]);
    let out = rollback();
    assert!(out.contains(&format!("{d7} -> {d1}")), "{out}");
    assert_eq!(shop.serves("prod").await?, "v1");
    assert_eq!(shop.serves("beta").await?, "v2");
    Ok(())
}

/// Releases of one API, each deployed with `archwayctl deploy`, and what
/// one node serves.
struct Releases {
    admin: Admin,
    api: archway_proto::v1::RestApi,
    server: String,
    node: std::net::SocketAddr,
    http: GatewayClient,
}

impl Releases {
    /// Makes /health answer `body` and deploys that to `stage` (created if
    /// needed): the new deployment's id.
    async fn release(&mut self, body: &str, stage: &str) -> anyhow::Result<String> {
        let answer = archway_e2e::admin::mock(200, body);
        self.admin
            .route(&self.api, "/health", "GET", answer)
            .await?;
        let out = ctl(
            &self.server,
            &["deploy", "shop", "--stage", stage, "--create-stage"],
        );
        out.strip_prefix("deployment ")
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no deployment id in {out}"))
    }

    /// What `stage` answers at /health through the node, once it applied
    /// the current version.
    async fn serves(&mut self, stage: &str) -> anyhow::Result<String> {
        self.admin.wait_converged(&["n"]).await?;
        let url = format!("/{stage}/health");
        Ok(self.http.get(self.node, "shop", &url).await?.body)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destructive_deletes_ask_and_take_yes_in_scripts() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let server = cp.url();
    let mut admin = Admin::connect(&server).await?;
    let api = deployed_api(&mut admin, "pets").await?;
    let spare = admin.deploy(&api, "prod").await?.id;
    let first = ctl(&server, &["get", "deployments", "pets"])
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .find(|id| *id != spare)
        .expect("the first deployment");
    ctl(
        &server,
        &["deploy", "pets", "--stage", "dev", "--create-stage"],
    );
    let first_field = |out: String, name: &str| {
        out.lines()
            .find(|l| l.contains(name))
            .and_then(|l| l.split_whitespace().next())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("{name} in {out}"))
    };
    ctl(
        &server,
        &["plans", "create", "--name", "gold", "--stage", "pets:prod"],
    );
    let plan = first_field(ctl(&server, &["plans", "list"]), "gold");
    ctl(&server, &["keys", "create", "alice"]);
    let key = first_field(ctl(&server, &["keys", "list"]), "alice");
    ctl(&server, &["iam", "create-user", "bob"]);
    let access_key = ctl(&server, &["iam", "create-key", "bob"])
        .lines()
        .find_map(|l| l.strip_prefix("access key id"))
        .map(|s| s.trim().to_owned())
        .expect("an access key id");
    ctl(&server, &["tokens", "create", "ci", "--role", "admin"]);
    let token = first_field(ctl(&server, &["tokens", "list"]), " ci");

    // (delete command, what lists the resource, its name in that list)
    let cases: Vec<(Vec<&str>, Vec<&str>, &str)> = vec![
        (
            vec!["delete", "deployment", "pets", &first],
            vec!["get", "deployments", "pets"],
            &first,
        ),
        (
            vec!["delete", "stage", "pets", "dev"],
            vec!["get", "stages", "pets"],
            "dev ",
        ),
        (vec!["plans", "delete", &plan], vec!["plans", "list"], &plan),
        (vec!["keys", "delete", &key], vec!["keys", "list"], &key),
        (
            vec!["iam", "delete-key", &access_key],
            vec!["iam", "keys", "bob"],
            &access_key,
        ),
        (vec!["iam", "delete", "bob"], vec!["iam", "list"], "bob"),
        (
            vec!["tokens", "delete", &token],
            vec!["tokens", "list"],
            &token,
        ),
        (vec!["delete", "api", "pets"], vec!["get", "apis"], "pets"),
    ];
    for (delete, list, name) in cases {
        let run = ctl_run(&server, &delete);
        run.assert_refused(&["without confirmation", "pass --yes"]);
        assert!(
            ctl(&server, &list).contains(name),
            "{delete:?} without --yes deleted nothing"
        );
        let mut confirmed = delete.clone();
        confirmed.push("--yes");
        ctl(&server, &confirmed);
        assert!(
            !ctl(&server, &list).contains(name),
            "{confirmed:?} deleted it"
        );
    }
    Ok(())
}

#[test]
fn completion_scripts_for_bash_zsh_and_fish_need_no_server() {
    for shell in ["bash", "zsh", "fish"] {
        let run = ctl_raw(&["completion", shell]);
        assert!(run.ok, "{shell}: {}", run.stderr);
        // Subcommands and flags only some subcommands have (any script
        // names the program): deploy's --create-stage, promote's --force,
        // the deletes' --yes. Fish spells a long flag `-l name`.
        let flag = |name: &str| match shell {
            "fish" => format!("-l {name}"),
            _ => format!("--{name}"),
        };
        let words = [
            "deploy".to_owned(),
            "stage-cache".to_owned(),
            flag("create-stage"),
            flag("force"),
            flag("yes"),
        ];
        for word in words {
            assert!(run.stdout.contains(&word), "{shell} completes {word}");
        }
    }
    // The bash script is valid bash.
    let script = ctl_raw(&["completion", "bash"]).stdout;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("archwayctl.bash");
    std::fs::write(&file, script).unwrap();
    let syntax = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    let run = ctl_raw(&["completion", "tcsh"]);
    run.assert_refused(&["invalid value 'tcsh'", "bash"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_delete_asks_and_only_yes_deletes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let server = cp.url();
    let mut admin = Admin::connect(&server).await?;
    deployed_api(&mut admin, "pets").await?;
    // archwayctl on a pty (util-linux's script), answering the prompt.
    let on_a_terminal = |answer: &str| {
        let line = format!(
            "{} --server {server} --token {} delete api pets",
            bin_dir().join("archwayctl").display(),
            archway_e2e::TEST_ADMIN_TOKEN
        );
        let mut child = on_a_pty(&line)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("util-linux's script gives archwayctl a terminal");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        // Until archwayctl exits (stdout closes), at most 30 s.
        stdout_until(child, |_| false, Duration::from_secs(30))
    };
    let declined = on_a_terminal("n\n");
    assert!(
        declined.contains("delete API 'pets' with its routes") && declined.contains("[y/N]"),
        "asked: {declined}"
    );
    assert!(declined.contains("not confirmed"), "{declined}");
    assert!(ctl(&server, &["get", "apis"]).contains("pets"));
    let confirmed = on_a_terminal("y\n");
    assert!(confirmed.contains("api pets: deleted"), "{confirmed}");
    assert!(!ctl(&server, &["get", "apis"]).contains("pets"));
    Ok(())
}
