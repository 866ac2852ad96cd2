//! The control plane over TLS (`--tls-cert/--tls-key`): archwayctl and
//! nodes that trust its CA (`--ca-file`, `--control-plane-ca-file`) work;
//! those that do not are refused by the handshake, never served in clear.

use archway_e2e::http_client::GatewayClient;
use archway_e2e::{ControlPlane, DataPlane, text};
use http::StatusCode;
use std::process::Output;
use std::time::{Duration, Instant};

/// archwayctl against `server` with the admin token, trusting `ca` if given.
fn ctl(server: &str, ca: Option<&std::path::Path>, args: &[&str]) -> Output {
    let ca = ca.map(|ca| ca.display().to_string());
    let mut all = vec!["--server", server, "--token", archway_e2e::TEST_ADMIN_TOKEN];
    if let Some(ca) = &ca {
        all.extend(["--ca-file", ca]);
    }
    all.extend_from_slice(args);
    let (mut command, _cwd) = archway_e2e::ctl::command(&all);
    command.output().expect("running archwayctl")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_and_config_streams_run_over_tls() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (pki, cp) = ControlPlane::start_tls(dir.path())?;
    let url = cp.url();
    assert!(url.starts_with("https://"), "{url}");

    // The CLI with the CA: apply an API.
    let file = dir.path().join("api.yaml");
    std::fs::write(
        &file,
        r#"
apis:
  - name: hello
    id: hello
    routes:
      - { path: /hi, method: GET, integration: { type: MOCK, status: 200, body: "over tls" } }
    stages:
      - name: prod
"#,
    )?;
    let applied = ctl(
        &url,
        Some(&pki.ca),
        &["apply", "-f", file.to_str().unwrap()],
    );
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    // Without the CA the handshake fails: nothing is sent in clear.
    let refused = ctl(&url, None, &["get", "apis"]);
    assert!(!refused.status.success());
    // Plain http:// to the TLS port gets no admin answer either.
    let plain = ctl(&url.replace("https://", "http://"), None, &["get", "apis"]);
    assert!(!plain.status.success());

    // A node that trusts the CA follows the control plane and serves.
    let ca = pki.ca.display().to_string();
    let node = DataPlane::start(
        &url,
        "trusting",
        &dir.path().join("n1"),
        &["--control-plane-ca-file", &ca],
    )?;
    let untrusting = DataPlane::start(&url, "untrusting", &dir.path().join("n2"), &[])?;
    let client = GatewayClient::new(false);
    let deadline = Instant::now() + Duration::from_secs(20);
    let answer = loop {
        let answer = client.get(node.addr(), "hello", "/prod/hi").await?;
        if answer.status == StatusCode::OK || Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body, "over tls");
    // The node that does not trust the CA never got the configuration.
    let nothing = client.get(untrusting.addr(), "hello", "/prod/hi").await?;
    assert_eq!(nothing.status, StatusCode::FORBIDDEN);
    let nodes = ctl(&url, Some(&pki.ca), &["get", "nodes"]);
    let listed = text(&nodes.stdout);
    assert!(listed.contains("trusting"), "{listed}");
    assert!(!listed.contains("untrusting"), "{listed}");
    Ok(())
}
