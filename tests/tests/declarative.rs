//! The declarative path end to end: `ApplyConfiguration` applies a whole
//! document atomically (one write, one published version) or changes
//! nothing, reports every error with its path, lists exactly what it
//! changes (a dry run lists the same), leaves missing resources alone
//! unless pruned, and `ExportConfiguration` writes a document that applies
//! back to the same state. Plus `archwayctl apply/diff/export` around it.
//!
//! The `#[ignore]`d `scale_*` tests measure large documents (see
//! deploy/bench/README.md).

use archway_e2e::admin::{apply_request, authorizer};
use archway_e2e::ctl::{ctl, ctl_refused, ctl_run};
use archway_e2e::http_client::GatewayClient;
use archway_e2e::{Admin, ControlPlane, DataPlane, started};
use archway_proto::v1::*;
use std::process::Command;
use std::time::Instant;
use tonic_types::StatusExt;

async fn api_names(admin: &mut Admin) -> anyhow::Result<Vec<String>> {
    let mut names: Vec<String> = admin
        .apis
        .list_rest_apis(ListRestApisRequest::default())
        .await?
        .into_inner()
        .items
        .into_iter()
        .map(|a| a.name)
        .collect();
    names.sort();
    Ok(names)
}

const TWO_APIS: &str = r#"
apis:
  - name: orders
    id: orders
    routes:
      - { path: /orders, method: GET, integration: { type: MOCK, status: 200, body: orders } }
      - { path: "/orders/{id}", method: GET, integration: { type: MOCK, status: 200, body: one } }
    stages:
      - name: prod
  - name: users
    id: users
    routes:
      - { path: /users, method: GET, integration: { type: MOCK, status: 200, body: users } }
    stages:
      - name: prod
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_failing_on_its_last_api_changes_nothing_and_reports_every_error()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let _node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let before = admin.wait_converged(&["n"]).await?;
    let document = format!(
        "{TWO_APIS}  - name: broken\n    routes:\n      - {{ path: /a, method: GET, integration: {{ type: HTTP_PROXY, uri: \"http://127.0.0.1:1/{{id}}\" }} }}\n      - {{ path: /b, method: FETCH, integration: {{ type: MOCK }} }}\n    stages:\n      - {{ name: prod, canary: {{ percent_traffic: 150 }} }}\n"
    );
    let status = admin
        .config
        .apply_configuration(apply_request(&document, false, false))
        .await
        .expect_err("the last API is broken");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    // Every error, each with its path: in the message, one per line...
    let message = status.message();
    for path in [
        "apis[2].routes[0].integration.uri: ",
        "apis[2].routes[1].method: ",
        "apis[2].stages[0].canary",
    ] {
        assert!(message.contains(path), "{path} missing from:\n{message}");
    }
    assert_eq!(message.lines().count(), 3, "{message}");
    // ...and structured, for a UI to place them.
    let violations = status
        .get_details_bad_request()
        .expect("a BadRequest in the details")
        .field_violations;
    let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields.len(), 3, "{fields:?}");
    assert!(fields[0].starts_with("apis[2].routes[0].integration.uri"));
    // Nothing changed: no API, no new version.
    assert!(api_names(&mut admin).await?.is_empty());
    assert_eq!(admin.wait_converged(&["n"]).await?, before);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_lists_exactly_what_the_following_apply_does_in_one_version() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let before = admin.wait_converged(&["n"]).await?;
    let without_ids = |changes: &[ConfigurationChange]| {
        changes
            .iter()
            .map(|c| ConfigurationChange {
                id: String::new(),
                ..c.clone()
            })
            .collect::<Vec<_>>()
    };
    // A change to one route and one stage of an existing API.
    let round_two = TWO_APIS.replace("body: one", "body: two").replacen(
        "- name: prod",
        "- { name: prod, variables: { v: \"1\" } }",
        1,
    );
    let mut last_changes = Vec::new();
    for (round, document) in [TWO_APIS, round_two.as_str()].into_iter().enumerate() {
        let planned = admin
            .config
            .diff_configuration(apply_request(document, false, false))
            .await?
            .into_inner();
        assert!(!planned.applied);
        assert!(!planned.changes.is_empty(), "round {round}");
        // The dry run wrote nothing.
        assert_eq!(planned.revision, admin.wait_converged(&["n"]).await?);
        let applied = admin
            .config
            .apply_configuration(apply_request(document, false, false))
            .await?
            .into_inner();
        assert!(applied.applied);
        assert_eq!(
            without_ids(&planned.changes),
            without_ids(&applied.changes),
            "round {round}"
        );
        // One write, one published version, whatever it held.
        assert_eq!(applied.revision, planned.revision + 1, "round {round}");
        assert_eq!(admin.wait_converged(&["n"]).await?, applied.revision);
        last_changes = applied.changes;
    }
    assert!(before < admin.wait_converged(&["n"]).await?);
    // The second round's update lists its fields and names the deployment.
    let field = |change: &ConfigurationChange, name: &str| {
        change
            .fields
            .iter()
            .find(|f| f.field == name)
            .map(|f| (f.before.clone(), f.after.clone()))
            .unwrap_or_else(|| panic!("no {name} in {change:?}"))
    };
    let find = |kind: &str, name: &str| {
        last_changes
            .iter()
            .find(|c| c.kind == kind && c.name == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in {last_changes:#?}"))
    };
    assert_eq!(last_changes.len(), 3, "{last_changes:#?}");
    let route = find("route", "orders GET /orders/{id}");
    assert_eq!(route.action, ChangeAction::Update as i32);
    assert_eq!(route.fields.len(), 1, "{route:?}");
    let (before, after) = field(route, "integration");
    assert!(
        before.contains("\"one\"") && after.contains("\"two\""),
        "{route:?}"
    );
    let stage = find("stage", "orders/prod");
    assert_eq!(stage.action, ChangeAction::Update as i32);
    assert_eq!(stage.fields.len(), 2, "{stage:?}");
    assert_eq!(field(stage, "variables").1, r#"{"v":"1"}"#);
    let (served, next) = field(stage, "deployment");
    assert_eq!(next, "(new deployment)", "{stage:?}");
    let deployment = find("deployment", "orders");
    assert_eq!(deployment.action, ChangeAction::Create as i32);
    assert_eq!(field(deployment, "stages").1, "prod");
    assert!(
        !served.is_empty() && !deployment.id.is_empty() && served != deployment.id,
        "the stage moves from the deployment it served to the new one: {last_changes:#?}"
    );
    let http = GatewayClient::default();
    assert_eq!(
        http.get(node.addr(), "orders", "/prod/orders/1")
            .await?
            .body,
        "two"
    );
    // Applying the same document again changes nothing.
    let again = admin
        .config
        .apply_configuration(apply_request(&round_two, false, false))
        .await?
        .into_inner();
    assert!(again.changes.is_empty(), "{:?}", again.changes);
    assert!(!again.applied);
    Ok(())
}

/// A read-only token may diff and export (they change nothing) but not
/// apply; ApplyConfiguration with `dry_run` set is refused too (the token
/// check sees the method, not the body): DiffConfiguration is the read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_token_diffs_and_exports_but_cannot_apply() -> anyhow::Result<()> {
    let (_dir, _cp, admin) = started().await?;
    let mut reader = admin
        .with_new_token("reviewer", TokenRole::ReadOnly)
        .await?
        .client;
    let diff = reader
        .config
        .diff_configuration(apply_request(TWO_APIS, false, false))
        .await?
        .into_inner();
    assert!(!diff.changes.is_empty());
    reader
        .config
        .export_configuration(ExportConfigurationRequest::default())
        .await?;
    for dry_run in [false, true] {
        let status = reader
            .config
            .apply_configuration(apply_request(TWO_APIS, dry_run, false))
            .await
            .expect_err("apply needs an admin token");
        assert_eq!(
            status.code(),
            tonic::Code::PermissionDenied,
            "dry_run {dry_run}"
        );
    }
    let mut admin = admin;
    assert!(api_names(&mut admin).await?.is_empty());
    Ok(())
}

/// What was reviewed is what is applied: an apply naming the revision its
/// dry run saw is refused once anything else has changed the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_at_a_stale_revision_is_refused() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;
    let planned = admin
        .config
        .diff_configuration(apply_request(TWO_APIS, false, true))
        .await?
        .into_inner();
    // Someone else changes the store meanwhile.
    admin
        .apis
        .create_rest_api(CreateRestApiRequest {
            name: "other".into(),
            ..Default::default()
        })
        .await?;
    let status = admin
        .config
        .apply_configuration(ApplyConfigurationRequest {
            expected_revision: planned.revision,
            ..apply_request(TWO_APIS, false, true)
        })
        .await
        .expect_err("the store moved on");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(
        status.message().contains("review the changes again"),
        "{}",
        status.message()
    );
    assert_eq!(api_names(&mut admin).await?, ["other"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_resources_are_left_alone_and_listed_unless_pruned() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let server = cp.url();
    let mut admin = Admin::connect(&server).await?;
    let file = dir.path().join("api.yaml");
    std::fs::write(&file, TWO_APIS)?;
    ctl(&server, &["apply", "-f", file.to_str().unwrap()]);
    // The file now has only `orders`, and only one of its routes.
    let only_orders = TWO_APIS[..TWO_APIS.find("  - name: users").unwrap()]
        .replace("      - { path: \"/orders/{id}\", method: GET, integration: { type: MOCK, status: 200, body: one } }\n", "");
    std::fs::write(&file, &only_orders)?;
    let out = ctl(&server, &["apply", "-f", file.to_str().unwrap()]);
    assert!(
        out.contains("api users (users): left alone (not in the file; --prune deletes it)"),
        "{out}"
    );
    assert!(
        out.contains("route orders GET /orders/{id}: left alone"),
        "{out}"
    );
    assert_eq!(api_names(&mut admin).await?, ["orders", "users"]);

    // The diff shows what a prune would delete, and changes nothing.
    let diff = ctl(&server, &["diff", "-f", file.to_str().unwrap(), "--prune"]);
    assert!(diff.contains("api users (users): deleted"), "{diff}");
    assert!(
        diff.contains("route orders GET /orders/{id}: deleted"),
        "{diff}"
    );
    assert!(diff.contains("nothing was changed"), "{diff}");
    assert_eq!(api_names(&mut admin).await?, ["orders", "users"]);

    // In a script, a prune without --yes is refused before anything changes.
    ctl_run(&server, &["apply", "-f", file.to_str().unwrap(), "--prune"])
        .assert_failed(&["api users (users): deleted", "pass --yes"]);
    assert_eq!(api_names(&mut admin).await?, ["orders", "users"]);

    let out = ctl(
        &server,
        &["apply", "-f", file.to_str().unwrap(), "--prune", "--yes"],
    );
    assert!(out.contains("api users (users): deleted"), "{out}");
    assert_eq!(api_names(&mut admin).await?, ["orders"]);
    let methods = admin
        .apis
        .list_methods(ListMethodsRequest {
            api_id: "orders".into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .items;
    assert_eq!(methods.len(), 1, "{methods:?}");
    Ok(())
}

/// An API built call by call, then a file reusing its name with one of its
/// routes: the file's route is updated, the other stays (and is served).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reusing_an_api_name_leaves_its_other_routes_alone() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin
        .apis
        .create_rest_api(CreateRestApiRequest {
            id: "shop".into(),
            name: "shop".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    admin
        .route(&api, "/a", "GET", archway_e2e::admin::mock(200, "a"))
        .await?;
    admin
        .route(&api, "/b", "GET", archway_e2e::admin::mock(200, "b"))
        .await?;
    let file = "apis:\n  - name: shop\n    routes:\n      - { path: /a, method: GET, integration: { type: MOCK, status: 200, body: a2 } }\n    stages:\n      - name: prod\n";
    let applied = admin
        .config
        .apply_configuration(apply_request(file, false, false))
        .await?
        .into_inner();
    let summary: Vec<(String, i32)> = applied
        .changes
        .iter()
        .map(|c| (c.name.clone(), c.action))
        .collect();
    assert!(
        summary.contains(&("shop GET /a".into(), ChangeAction::Update as i32)),
        "{summary:?}"
    );
    assert!(
        summary.contains(&("shop GET /b".into(), ChangeAction::Keep as i32)),
        "{summary:?}"
    );
    admin.wait_converged(&["n"]).await?;
    let http = GatewayClient::default();
    assert_eq!(http.get(node.addr(), "shop", "/prod/a").await?.body, "a2");
    assert_eq!(http.get(node.addr(), "shop", "/prod/b").await?.body, "b");
    Ok(())
}

/// The README's `apply -f` examples and the all-in-one's example: export →
/// apply on an empty control plane → export gives the same file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_round_trips_the_readme_examples() -> anyhow::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md"))?;
    let mut examples: Vec<String> = readme
        .split("```yaml\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .filter(|block| block.starts_with("apis:"))
        .map(str::to_owned)
        .collect();
    assert!(examples.len() >= 4, "README examples: {}", examples.len());
    examples.push(std::fs::read_to_string(
        root.join("deploy/all-in-one/example-api.yaml"),
    )?);
    let dir = tempfile::tempdir()?;
    let first = ControlPlane::start(&dir.path().join("first"))?;
    for (i, example) in examples.iter().enumerate() {
        let file = dir.path().join(format!("example-{i}.yaml"));
        std::fs::write(&file, example)?;
        ctl(&first.url(), &["apply", "-f", file.to_str().unwrap()]);
    }
    let exported = dir.path().join("exported.yaml");
    ctl(&first.url(), &["export", "-o", exported.to_str().unwrap()]);
    let text = std::fs::read_to_string(&exported)?;
    assert!(text.contains("pets") && text.contains("profile"), "{text}");

    let second = ControlPlane::start(&dir.path().join("second"))?;
    let out = ctl(&second.url(), &["apply", "-f", exported.to_str().unwrap()]);
    assert!(out.contains("applied "), "{out}");
    let again = ctl(&second.url(), &["export"]);
    assert_eq!(text, again);
    // Applied again, the export changes nothing.
    let out = ctl(&second.url(), &["apply", "-f", exported.to_str().unwrap()]);
    assert_eq!(out.trim(), "unchanged");
    // JSON exports apply as well.
    let json = dir.path().join("exported.json");
    ctl(
        &second.url(),
        &["export", "--format", "json", "-o", json.to_str().unwrap()],
    );
    let out = ctl(&second.url(), &["diff", "-f", json.to_str().unwrap()]);
    assert!(out.starts_with("unchanged"), "{out}");
    Ok(())
}

/// Usage plans, keys by name and IAM users in the same file as the API: a
/// key's generated value is shown once, and works on the node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_by_name_plans_and_iam_in_the_same_file() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let file = dir.path().join("all.yaml");
    std::fs::write(
        &file,
        r#"
apis:
  - name: pets
    id: pets
    routes:
      - { path: /pets, method: GET, api_key_required: true, integration: { type: MOCK, status: 200, body: pets } }
    stages:
      - name: prod
usage_plans:
  - name: gold
    throttle: { rate_limit: 100, burst_limit: 100 }
    stages: [{ api: pets, stage: prod }]
api_keys:
  - { name: partner, usage_plans: [gold] }
  - { name: imported, value: "imported-key-0123456789abcdef", usage_plans: [gold] }
iam:
  users:
    - name: alice
      policies:
        - { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: "execute-api:Invoke", Resource: "*" }] }
  roles:
    - name: deployer
"#,
    )?;
    let out = ctl(&cp.url(), &["apply", "-f", file.to_str().unwrap()]);
    for expected in [
        "usage plan gold (",
        "api key partner (",
        "api key imported (",
        "iam principal alice: created",
        "iam principal deployer: created",
    ] {
        assert!(out.contains(expected), "{expected} missing from {out}");
    }
    let value = out
        .lines()
        .find(|l| l.contains(": value "))
        .and_then(|l| l.split(": value ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the generated value is shown")
        .to_owned();
    assert!(!out.contains("imported-key-0123456789abcdef"), "{out}");
    admin.wait_converged(&["n"]).await?;
    let http = GatewayClient::default();
    for key in [value.as_str(), "imported-key-0123456789abcdef"] {
        let answer = http
            .get_with_key(node.addr(), "pets", "/prod/pets", key)
            .await?;
        assert_eq!(answer.status, 200, "{key}");
    }
    assert_eq!(
        http.get(node.addr(), "pets", "/prod/pets").await?.status,
        403
    );
    let principals = admin
        .iam
        .list_principals(ListPrincipalsRequest::default())
        .await?
        .into_inner()
        .items;
    assert_eq!(principals.len(), 2);
    // Exported by name, without values; applying it again changes nothing.
    let exported = ctl(&cp.url(), &["export"]);
    assert!(exported.contains("name: partner"), "{exported}");
    assert!(!exported.contains(&value), "{exported}");
    assert!(
        !exported.contains("imported-key-0123456789abcdef"),
        "{exported}"
    );
    let out = ctl(&cp.url(), &["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(out.trim(), "unchanged");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_yaml_syntax_error_gets_its_line_and_column() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "apis:\n  - name: x\n    routes: [ { path: /a, method: GET\n",
    )?;
    // The CLI refuses it before connecting (no server listens here).
    // At the bracket left open.
    let at = format!("{}:3:15: unclosed bracket", file.display());
    ctl_run(
        "http://127.0.0.1:1",
        &["apply", "-f", file.to_str().unwrap()],
    )
    .assert_refused(&[&at]);
    // Any gRPC client gets the position from the server.
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let status = admin
        .config
        .apply_configuration(apply_request(
            &std::fs::read_to_string(&file)?,
            false,
            false,
        ))
        .await
        .expect_err("a syntax error");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("line 3, column 15"),
        "{}",
        status.message()
    );
    Ok(())
}

// ----- scale (run with --ignored; figures in deploy/bench/README.md) -----

/// One API of `routes` routes, or `apis` APIs of `routes` routes each.
fn big_document(apis: usize, routes: usize) -> String {
    let mut doc = String::from("apis:\n");
    for a in 0..apis {
        doc.push_str(&format!(
            "  - name: api{a}\n    id: api{a}\n    stages:\n      - name: prod\n    routes:\n"
        ));
        for r in 0..routes {
            doc.push_str(&format!(
                "      - {{ path: \"/r{r}/{{id}}\", method: GET, integration: {{ type: HTTP_PROXY, uri: \"http://127.0.0.1:9/r{r}/{{id}}\" }} }}\n"
            ));
        }
    }
    doc
}

/// The control plane's peak resident memory (VmHWM), in MB.
fn peak_memory_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Applies the document, as YAML or as JSON (what `archwayctl apply` sends),
/// to a new control plane with one node, and prints the timings.
async fn measure(apis: usize, routes: usize, json: bool) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let _node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    admin.wait_converged(&["n"]).await?;
    let baseline = peak_memory_mb(cp.process.pid());
    let mut doc = big_document(apis, routes);
    if json {
        doc = archway_control_plane::declarative::document::ApplyFile::parse(&doc)
            .expect("the document parses")
            .to_compact_json();
    }
    let started = Instant::now();
    let planned = admin
        .config
        .diff_configuration(apply_request(&doc, false, false))
        .await?
        .into_inner();
    let dry_run = started.elapsed();
    let after_dry_run = peak_memory_mb(cp.process.pid());
    let started = Instant::now();
    let applied = admin
        .config
        .apply_configuration(apply_request(&doc, false, false))
        .await?
        .into_inner();
    let apply = started.elapsed();
    let version = admin.wait_converged(&["n"]).await?;
    let acked = started.elapsed();
    assert_eq!(version, applied.revision, "one published version");
    assert_eq!(planned.changes.len(), applied.changes.len());
    // A second apply of the same document: the plan finds nothing to do.
    let started = Instant::now();
    let again = admin
        .config
        .apply_configuration(apply_request(&doc, false, false))
        .await?
        .into_inner();
    let unchanged = started.elapsed();
    assert!(again.changes.is_empty());
    let peak = peak_memory_mb(cp.process.pid());
    println!(
        "{apis} API(s) x {routes} routes as {} ({} KB, {} changes): dry run {:.2} s, apply {:.2} s, node ACK {:.2} s after the call started ({:.2} s after it returned), unchanged re-apply {:.2} s, control plane peak RSS {peak:.0} MB ({baseline:.0} MB before, {after_dry_run:.0} MB after the dry run)",
        if json { "JSON" } else { "YAML" },
        doc.len() / 1024,
        applied.changes.len(),
        dry_run.as_secs_f64(),
        apply.as_secs_f64(),
        acked.as_secs_f64(),
        (acked - apply).as_secs_f64(),
        unchanged.as_secs_f64(),
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: cargo test -p archway-e2e --test declarative scale -- --ignored --nocapture"]
async fn scale_one_api_of_10000_routes() -> anyhow::Result<()> {
    measure(1, 10_000, true).await?;
    measure(1, 10_000, false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: cargo test -p archway-e2e --test declarative scale -- --ignored --nocapture"]
async fn scale_1000_apis_of_10_routes() -> anyhow::Result<()> {
    measure(1000, 10, true).await?;
    measure(1000, 10, false).await
}

/// Resources made through the per-resource admin calls (which store some
/// fields differently from a document: no authorizer TTL, no authorization
/// type, a policy as typed), exported and applied back: no change, no new
/// configuration version, no new deployment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_of_handler_made_resources_applies_back_unchanged() -> anyhow::Result<()> {
    use archway_e2e::admin::mock;
    let (_dir, _cp, mut admin) = started().await?;
    let api = admin.create_api("pets", ApiProtocol::Rest).await?;
    let tokens = authorizer(
        &api,
        "tokens",
        AuthorizerType::Token,
        "http://127.0.0.1:9/auth",
    );
    let tokens = admin
        .create_authorizer(Authorizer {
            identity_source: "method.request.header.X-Token".into(),
            ..tokens
        })
        .await?;
    admin
        .put_custom_route(
            &api,
            "/pets",
            Method {
                http_method: "GET".into(),
                integration: Some(mock(200, "pets")),
                ..Default::default()
            },
            &tokens,
        )
        .await?;
    admin
        .route(&api, "/pets/{id}", "GET", mock(200, "one"))
        .await?;
    admin.deploy(&api, "prod").await?;
    admin
        .create_principal(
            "alice",
            PrincipalType::User,
            vec!["{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Action\": \"execute-api:Invoke\",\n      \"Resource\": \"*\"\n    }\n  ]\n}\n".into()],
        )
        .await?;
    admin
        .plans
        .create_usage_plan(CreateUsagePlanRequest {
            plan: Some(UsagePlan {
                name: "gold".into(),
                api_stages: vec![UsagePlanStage {
                    api_id: api.id.clone(),
                    stage: "prod".into(),
                    ..Default::default()
                }],
                throttle: Some(ThrottleSettings {
                    rate_limit: 5.0,
                    burst_limit: 5,
                }),
                ..Default::default()
            }),
        })
        .await?;
    admin
        .plans
        .create_api_key(CreateApiKeyRequest {
            name: "partner".into(),
            ..Default::default()
        })
        .await?;
    let deployments = admin.list_deployments(&api.id).await?.len();
    let exported = admin
        .config
        .export_configuration(ExportConfigurationRequest::default())
        .await?
        .into_inner();
    assert!(exported.warnings.is_empty(), "{:?}", exported.warnings);
    let response = admin
        .config
        .apply_configuration(apply_request(&exported.document, false, false))
        .await?
        .into_inner();
    assert!(
        response.changes.is_empty(),
        "{:?}\n{}",
        response.changes,
        exported.document
    );
    assert!(!response.applied, "no version is written");
    assert_eq!(admin.list_deployments(&api.id).await?.len(), deployments);
    Ok(())
}

/// A document of 500 errors: the status carries the first few within what
/// HTTP/2 clients accept in headers (tonic here, and grpcio, whose limit is
/// 8 KiB), saying how many were left out; `errors_in_response` returns all
/// of them in the body; archwayctl shows all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_errors_reach_every_client() -> anyhow::Result<()> {
    let (dir, cp, mut admin) = started().await?;
    let mut document = String::from("apis:\n  - name: bad\n    routes:\n");
    for r in 0..500 {
        document.push_str(&format!(
            "      - {{ path: /r{r}, method: FETCH, integration: {{ type: MOCK }} }}\n"
        ));
    }
    let status = admin
        .config
        .apply_configuration(apply_request(&document, false, false))
        .await
        .expect_err("500 bad routes");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let message = status.message();
    assert!(message.len() < 2048, "{} bytes", message.len());
    assert!(
        message.starts_with("apis[0].routes[0].method: "),
        "{message}"
    );
    assert!(message.contains("more error(s) (500 in all"), "{message}");
    let details = status.get_details_bad_request().expect("a BadRequest");
    assert!(!details.field_violations.is_empty() && details.field_violations.len() <= 20);
    // Every error, in the body.
    let all = admin
        .config
        .diff_configuration(ApplyConfigurationRequest {
            errors_in_response: true,
            ..apply_request(&document, false, false)
        })
        .await?
        .into_inner();
    assert_eq!(all.errors.len(), 500);
    assert!(all.changes.is_empty() && !all.applied);
    assert_eq!(all.errors[499].path, "apis[0].routes[499].method");

    // archwayctl lists all 500, each at its line.
    let file = dir.path().join("bad.yaml");
    std::fs::write(&file, &document)?;
    let last_line = format!("{}:503:", file.display());
    ctl_refused(
        &cp.url(),
        &["apply", "-f", file.to_str().unwrap()],
        &["has 500 error(s)", &last_line],
    );

    // Python's grpcio gets the status (not a transport error).
    let script = r#"
import grpc, sys
addr, token, path = sys.argv[1], sys.argv[2], sys.argv[3]
doc = open(path, 'rb').read()
def varint(n):
    out = b''
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])
body = b'\x0a' + varint(len(doc)) + doc
call = grpc.insecure_channel(addr).unary_unary(
    '/archway.v1.ConfigurationService/ApplyConfiguration',
    request_serializer=lambda b: b, response_deserializer=lambda b: b)
try:
    call(body, metadata=[('authorization', 'Bearer ' + token)], timeout=30)
    print('OK')
except grpc.RpcError as e:
    print(e.code().name)
    print(e.details().splitlines()[-1])
"#;
    let output = Command::new(archway_e2e::tools::python())
        .args([
            "-c",
            script,
            &cp.process.addr.to_string(),
            archway_e2e::TEST_ADMIN_TOKEN,
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap_or_else(|e| panic!("python: {e}; {}", archway_e2e::tools::INSTALL_HINT));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}{stdout}; {}",
        String::from_utf8_lossy(&output.stderr),
        archway_e2e::tools::INSTALL_HINT
    );
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("INVALID_ARGUMENT"), "{stdout}");
    assert!(
        lines.next().unwrap_or_default().contains("500 in all"),
        "{stdout}"
    );
    Ok(())
}

/// A read-only token may not put API key values in a diff: "another API
/// key has this value" would tell it whether a guess is a key. The same
/// document without values diffs; an admin may diff with values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_diff_may_not_carry_api_key_values() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;
    admin
        .plans
        .create_api_key(CreateApiKeyRequest {
            name: "real".into(),
            value: "abcdefghijklmnopqrstuvwxyz".into(),
            ..Default::default()
        })
        .await?;
    let mut reader = admin
        .with_new_token("reviewer", TokenRole::ReadOnly)
        .await?
        .client;
    let guess = "api_keys:\n  - { name: probe, value: abcdefghijklmnopqrstuvwxyz }\n";
    let status = reader
        .config
        .diff_configuration(apply_request(guess, false, false))
        .await
        .expect_err("key values are refused from a read-only token");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    assert!(
        status.message().contains("api_keys[0].value")
            && !status.message().contains("another API key"),
        "{}",
        status.message()
    );
    // In a flow-style YAML document too (no way around by syntax).
    let status = reader
        .config
        .diff_configuration(apply_request(
            "{api_keys: [{name: probe, value: abcdefghijklmnopqrstuvwxyz}]}",
            false,
            false,
        ))
        .await
        .expect_err("refused in flow style too");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    // Without values a read-only token diffs; an admin may send values.
    reader
        .config
        .diff_configuration(apply_request(
            "api_keys:\n  - { name: probe }\n",
            false,
            false,
        ))
        .await?;
    let admin_diff = admin
        .config
        .diff_configuration(apply_request(guess, false, false))
        .await
        .expect_err("an admin learns the value is taken (it may read keys anyway)");
    assert_eq!(admin_diff.code(), tonic::Code::InvalidArgument);
    Ok(())
}
