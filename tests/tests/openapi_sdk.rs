//! Generated SDKs (GetSdk, `archwayctl sdk`): each language's package
//! passes its own toolchain's checks (`tsc` in strict mode; `python -m
//! compileall` and `mypy --strict`; `cargo check`), and the three SDKs call
//! a running gateway: a route with a path parameter and a JSON body model,
//! an API-key route, a route behind a TOKEN authorizer and an AWS_IAM
//! (SigV4) route, with the refusals when the key, the token or the
//! signature is wrong.
//!
//! The toolchain checks run on a hand-written document shaped as the
//! export writes it (control-plane/src/openapi/sdk/fixtures/pets.json, with
//! reserved words, keys that are no identifiers, recursion, enums, every
//! kind of auth); the end-to-end test generates from the real export.
//!
//! The TypeScript compiler and the signer's packages come from
//! tests/sdk/package-lock.json (`tests/run` runs `npm ci` there), mypy and
//! botocore's stubs from tests/requirements.txt; the Rust crate is checked
//! in target/sdk-check with its own warm target folder, so only a test
//! run's first check builds its dependencies.

use archway_control_plane::openapi::sdk::{Language, SdkOptions, generate};
use archway_e2e::admin::{Bearer, apply_request};
use archway_e2e::ctl::{ctl, ctl_refused};
use archway_e2e::tools::{self, available, required};
use archway_e2e::{TEST_ADMIN_TOKEN, started_with_node, upstream};
use archway_proto::v1::open_api_service_client::OpenApiServiceClient;
use archway_proto::v1::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

fn fixture() -> Value {
    let path = workspace().join("control-plane/src/openapi/sdk/fixtures/pets.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("the fixture")).expect("JSON")
}

/// Writes `files` under `dir` (replacing what a previous run left there).
fn write_package(dir: &Path, files: &[(String, String)]) {
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
    }
}

fn fixture_package(language: Language, dir: &Path) {
    let package = generate(
        &fixture(),
        language,
        &SdkOptions {
            package_name: language.default_package("Pet Store"),
            base_url: "http://pets.execute-api.localhost:8080/prod".into(),
        },
    )
    .expect("the fixture generates");
    write_package(dir, &package.files);
}

/// Runs `command`, failing the test with its output unless it succeeds;
/// returns stdout and how long it took.
fn run(command: &mut Command, what: &str) -> (String, std::time::Duration) {
    let started = Instant::now();
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start {command:?}: {e}"));
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{}\n{}",
        out.status,
        archway_e2e::text(&out.stdout),
        archway_e2e::text(&out.stderr)
    );
    eprintln!("{what}: {:.1} s", took.as_secs_f64());
    (archway_e2e::text(&out.stdout), took)
}

/// tests/sdk's node_modules (TypeScript and the signer), or None (the
/// test skips) when it or node is missing and `tests/run` did not promise
/// them.
fn typescript_tools() -> Option<PathBuf> {
    let modules = workspace().join("tests/sdk/node_modules");
    if !available("node", &["--version"], "the TypeScript SDK") {
        return None;
    }
    if modules.join("typescript/bin/tsc").exists() {
        return Some(modules);
    }
    if required("node") {
        panic!("tests/sdk/node_modules is missing: run tests/run (it runs npm ci in tests/sdk)");
    }
    eprintln!(
        "skipped: tests/sdk/node_modules is missing (npm ci in tests/sdk): the TypeScript SDK is not checked here"
    );
    None
}

/// Compiles the TypeScript package in `dir` with tsc (strict, as its
/// tsconfig says), emitting dist/ when `emit`.
fn tsc(modules: &Path, dir: &Path, emit: bool) {
    let link = dir.join("node_modules");
    if !link.exists() {
        std::os::unix::fs::symlink(modules, &link).unwrap();
    }
    let mut command = Command::new("node");
    command
        .arg(modules.join("typescript/bin/tsc"))
        .arg("-p")
        .arg(dir);
    if !emit {
        command.arg("--noEmit");
    }
    run(&mut command, "tsc of the TypeScript SDK");
}

/// The tests' Python with mypy, or None (the test skips) where it is
/// missing and `tests/run` did not promise it.
fn python_with_mypy() -> Option<PathBuf> {
    let python = tools::python();
    let works = Command::new(&python)
        .args(["-m", "mypy", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        return Some(python);
    }
    if required("mypy") {
        panic!(
            "mypy is required (ARCHWAY_TEST_REQUIRE_TOOLS) but {} has none; {}",
            python.display(),
            tools::INSTALL_HINT
        );
    }
    eprintln!(
        "skipped: {} has no mypy: the Python SDK is not checked here; {}",
        python.display(),
        tools::INSTALL_HINT
    );
    None
}

fn mypy(python: &Path, dir: &Path, package: &str) {
    run(
        Command::new(python)
            .args(["-m", "compileall", "-q"])
            .arg(dir.join(package)),
        "python -m compileall of the Python SDK",
    );
    run(
        Command::new(python)
            .current_dir(dir)
            .args([
                "-m",
                "mypy",
                "--strict",
                "--no-error-summary",
                "--cache-dir",
            ])
            // One cache per package: tests run at once.
            .arg(
                workspace()
                    .join("target/sdk-check/mypy-cache")
                    .join(package),
            )
            .arg(package),
        "mypy --strict of the Python SDK",
    );
}

/// `cargo` with the generated crates' shared target folder.
fn cargo(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .current_dir(dir)
        .args(args)
        .env(
            "CARGO_TARGET_DIR",
            workspace().join("target/sdk-check/target"),
        )
        // A generated crate compiles without a warning (the same flags for
        // every command, so they share what is built).
        .env("RUSTFLAGS", "-D warnings")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    command
}

/// A folder under target/sdk-check that keeps its Cargo.lock between
/// runs (so checks resolve offline once resolved), emptied of sources.
fn crate_dir(name: &str) -> PathBuf {
    let dir = workspace().join("target/sdk-check").join(name);
    let _ = std::fs::remove_dir_all(dir.join("src"));
    let _ = std::fs::remove_dir_all(dir.join("examples"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_typescript_sdk_type_checks_with_tsc() {
    let Some(modules) = typescript_tools() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    fixture_package(Language::TypeScript, dir.path());
    tsc(&modules, dir.path(), false);
}

#[test]
fn the_python_sdk_compiles_and_passes_mypy_strict() {
    let Some(python) = python_with_mypy() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    fixture_package(Language::Python, dir.path());
    mypy(&python, dir.path(), "pet_store");
}

#[test]
fn the_rust_sdk_passes_cargo_check() {
    let dir = crate_dir("fixture");
    fixture_package(Language::Rust, &dir);
    run(
        &mut cargo(&dir, &["check", "--quiet", "--all-targets"]),
        "cargo check of the Rust SDK",
    );
}

/// The API the SDKs call: a route with a path parameter, a query and a
/// header parameter and a JSON body model; one requiring an API key; one
/// behind a TOKEN authorizer (the token in `X-Auth-Token`); one signed
/// with SigV4 (AWS_IAM). All proxy to an upstream that echoes the request.
fn document(backend: &str, authorizer: &str) -> String {
    format!(
        r#"
apis:
  - name: sdk pets
    id: sdkpets
    authorizers:
      - name: check
        type: TOKEN
        uri: "{authorizer}"
        identity_source: method.request.header.X-Auth-Token
    models:
      - name: Echo
        schema:
          type: object
          required: [upstream, method, path]
          properties:
            upstream: {{ type: string }}
            method: {{ type: string }}
            path: {{ type: string }}
            query: {{ type: string }}
            body: {{ type: string }}
            headers: {{ type: object, additionalProperties: {{ type: string }} }}
      - name: NewPet
        schema:
          type: object
          required: [name]
          properties:
            name: {{ type: string }}
            age: {{ type: integer }}
            kind: {{ type: string, enum: [cat, dog] }}
    routes:
      - path: /pets/{{petId}}
        method: POST
        operation_name: updatePet
        request_parameters:
          method.request.path.petId: true
          method.request.querystring.note: false
          method.request.header.x-trace: false
        request_models: {{ application/json: NewPet }}
        method_responses:
          - {{ status_code: "200", response_models: {{ application/json: Echo }} }}
        integration: {{ type: HTTP_PROXY, uri: "http://{backend}/pets/{{petId}}" }}
      - path: /keyed
        method: GET
        operation_name: keyed
        api_key_required: true
        method_responses:
          - {{ status_code: "200", response_models: {{ application/json: Echo }} }}
        integration: {{ type: HTTP_PROXY, uri: "http://{backend}/keyed" }}
      - path: /token
        method: GET
        operation_name: withToken
        authorizer: check
        method_responses:
          - {{ status_code: "200", response_models: {{ application/json: Echo }} }}
        integration: {{ type: HTTP_PROXY, uri: "http://{backend}/token" }}
      - path: /signed
        method: GET
        operation_name: signed
        authorization: AWS_IAM
        method_responses:
          - {{ status_code: "200", response_models: {{ application/json: Echo }} }}
        integration: {{ type: HTTP_PROXY, uri: "http://{backend}/signed" }}
    stages:
      - name: prod
usage_plans:
  - name: sdk-plan
    stages: [{{ api: sdkpets, stage: prod }}]
api_keys:
  - {{ name: sdk-key, value: "{API_KEY}", usage_plans: [sdk-plan] }}
iam:
  users:
    - name: sdk-user
      policies:
        - {{ Version: "2012-10-17", Statement: [{{ Effect: Allow, Action: "execute-api:Invoke", Resource: "arn:aws:execute-api:*:*:sdkpets/prod/*" }}] }}
"#
    )
}

const API_KEY: &str = "sdk-key-0123456789abcdef0123";
/// The one token the TOKEN authorizer lets in.
const TOKEN: &str = "let-me-in";

/// A TOKEN authorizer (AWS's Lambda authorizer contract over HTTP): allows
/// the API for [`TOKEN`], answers 401 Unauthorized for any other token.
async fn token_authorizer() -> String {
    let addr = archway_e2e::serve::spawn(None, |req| async move {
        let event: Value = serde_json::from_slice(req.body()).unwrap_or_default();
        // arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/VERB/PATH
        let arn = event["methodArn"].as_str().unwrap_or_default();
        let api = arn.split('/').next().unwrap_or_default();
        let (status, body) = if event["authorizationToken"] == TOKEN {
            let policy = json!({"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [format!("{api}/*")]}
            ]});
            (200, json!({"principalId": "sdk", "policyDocument": policy}))
        } else {
            (401, json!({"message": "Unauthorized"}))
        };
        let mut response = http::Response::new(http_body_util::Full::new(bytes::Bytes::from(
            body.to_string(),
        )));
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
        response
    })
    .await;
    format!("http://{addr}/authorize")
}

/// What each SDK's script does and prints (one JSON object): update
/// (`POST /pets/rex?note=hi` with `x-trace: t1` and a NewPet body, the
/// echo), keyed with and without the key, with the token and a wrong one,
/// signed with the credentials and with a wrong secret (the status of each
/// refusal).
fn assert_calls(language: &str, printed: &str) {
    let result: Value = serde_json::from_str(printed.trim())
        .unwrap_or_else(|e| panic!("{language}: not JSON ({e}): {printed}"));
    let update = &result["update"];
    assert_eq!(update["path"], "/pets/rex", "{language}: {result}");
    assert_eq!(update["method"], "POST", "{language}: {result}");
    assert_eq!(update["query"], "note=hi", "{language}: {result}");
    assert_eq!(update["headers"]["x-trace"], "t1", "{language}: {result}");
    let body: Value = serde_json::from_str(update["body"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{language}: the body sent is JSON ({e}): {result}"));
    assert_eq!(
        body,
        json!({"name": "Rex", "age": 3, "kind": "dog"}),
        "{language}"
    );
    assert_eq!(result["keyed"]["path"], "/keyed", "{language}: {result}");
    assert_eq!(result["keyed_without_key"], 403, "{language}: {result}");
    assert_eq!(result["token"]["path"], "/token", "{language}: {result}");
    assert_eq!(result["token_wrong"], 401, "{language}: {result}");
    assert_eq!(result["signed"]["path"], "/signed", "{language}: {result}");
    assert_eq!(result["signed_badly"], 403, "{language}: {result}");
}

const TYPESCRIPT_SCRIPT: &str = r#"
// Calls the gateway through the generated client. Node's fetch resolves no
// *.localhost name, so the client gets a fetch that connects to the node
// on loopback and keeps the URL's host as the Host header.
import http from "node:http";
import { SdkPetsClient, ApiError } from "./dist/index.js";

const [node, accessKeyId, secretAccessKey, apiKey, TOKEN] = process.argv.slice(2);
const [nodeHost, nodePort] = node.split(":");

async function loopbackFetch(input, init = {}) {
  const url = new URL(input);
  return await new Promise((resolve, reject) => {
    const request = http.request(
      { host: nodeHost, port: Number(nodePort), method: init.method, path: url.pathname + url.search,
        headers: { ...init.headers, host: url.host } },
      (response) => {
        const chunks = [];
        response.on("data", (c) => chunks.push(c));
        response.on("end", () => {
          const headers = new Headers();
          for (const [k, v] of Object.entries(response.headers)) headers.set(k, String(v));
          resolve(new Response(Buffer.concat(chunks), { status: response.statusCode, headers }));
        });
      },
    );
    request.on("error", reject);
    if (init.body !== undefined) request.write(init.body);
    request.end();
  });
}

const client = new SdkPetsClient({ fetch: loopbackFetch, apiKey, token: TOKEN, credentials: { accessKeyId, secretAccessKey } });
const status = async (call) => {
  try { await call(); return 200; } catch (e) { if (e instanceof ApiError) return e.status; throw e; }
};
const result = {
  update: await client.updatePet({ petId: "rex", note: "hi", "x-trace": "t1", body: { name: "Rex", age: 3, kind: "dog" } }),
  keyed: await client.keyed(),
  keyed_without_key: await status(() => new SdkPetsClient({ fetch: loopbackFetch }).keyed()),
  token: await client.withToken(),
  token_wrong: await status(() => new SdkPetsClient({ fetch: loopbackFetch, token: "wrong" }).withToken()),
  signed: await client.signed(),
  signed_badly: await status(() => new SdkPetsClient({ fetch: loopbackFetch, credentials: { accessKeyId, secretAccessKey: "x".repeat(40) } }).signed()),
};
console.log(JSON.stringify(result));
"#;

const PYTHON_SCRIPT: &str = r#"
"""Calls the gateway through the generated client; *.localhost names
resolve to the node on loopback (the system resolver knows none)."""
import json
import socket
import sys

from sdk_pets import ApiError, AwsCredentials, SdkPetsClient

node, access_key, secret, api_key, token = sys.argv[1:6]
node_host, node_port = node.split(":")
resolve = socket.getaddrinfo


def loopback(host, port, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".localhost"):
        return resolve(node_host, int(node_port), *args, **kwargs)
    return resolve(host, port, *args, **kwargs)


socket.getaddrinfo = loopback


def status(call):
    try:
        call()
        return 200
    except ApiError as error:
        return error.status


client = SdkPetsClient(api_key=api_key, token=token, credentials=AwsCredentials(access_key, secret))
result = {
    "update": client.update_pet(pet_id="rex", note="hi", x_trace="t1", body={"name": "Rex", "age": 3, "kind": "dog"}),
    "keyed": client.keyed(),
    "keyed_without_key": status(lambda: SdkPetsClient().keyed()),
    "token": client.with_token(),
    "token_wrong": status(lambda: SdkPetsClient(token="wrong").with_token()),
    "signed": client.signed(),
    "signed_badly": status(lambda: SdkPetsClient(credentials=AwsCredentials(access_key, "x" * 40)).signed()),
}
print(json.dumps(result))
"#;

const RUST_EXAMPLE: &str = r#"
//! Calls the gateway through the generated client; the client's reqwest
//! resolves the API's host name to the node on loopback.
use sdk_pets::{AwsCredentials, Error, NewPet, NewPetKind, SdkPetsClient};

fn status<T>(result: Result<T, Error>) -> u16 {
    match result {
        Ok(_) => 200,
        Err(Error::Api { status, .. }) => status,
        Err(e) => panic!("{e}"),
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (node, key_id, secret, api_key, token) = (&args[0], &args[1], &args[2], &args[3], &args[4]);
    let base_url = std::env::var("SDK_BASE_URL").unwrap();
    let host = base_url.trim_start_matches("http://").split(':').next().unwrap().to_owned();
    let http = reqwest::Client::builder()
        .resolve(&host, node.parse().unwrap())
        .build()
        .unwrap();
    let client = SdkPetsClient::with_client(&base_url, http.clone())
        .api_key(api_key.as_str())
        .token(token.as_str())
        .credentials(AwsCredentials::new(key_id.as_str(), secret.as_str(), None));
    let pet = NewPet { name: "Rex".into(), age: Some(3), kind: Some(NewPetKind::Dog) };
    let update = client.update_pet("rex", Some("hi"), Some("t1"), Some(&pet)).await.unwrap();
    let keyed = client.keyed().await.unwrap();
    let keyed_without_key = status(SdkPetsClient::with_client(&base_url, http.clone()).keyed().await);
    let with_token = client.with_token().await.unwrap();
    let token_wrong = status(
        SdkPetsClient::with_client(&base_url, http.clone())
            .token("wrong")
            .with_token()
            .await,
    );
    let signed = client.signed().await.unwrap();
    let signed_badly = status(
        SdkPetsClient::with_client(&base_url, http.clone())
            .credentials(AwsCredentials::new(key_id.as_str(), "x".repeat(40), None))
            .signed()
            .await,
    );
    println!(
        "{}",
        serde_json::json!({
            "update": update, "keyed": keyed, "keyed_without_key": keyed_without_key,
            "token": with_token, "token_wrong": token_wrong,
            "signed": signed, "signed_badly": signed_badly,
        })
    );
}
"#;

async fn sdk(
    client: &mut OpenApiServiceClient<archway_e2e::admin::AuthChannel>,
    sdk_type: &str,
    base_url: &str,
) -> anyhow::Result<GetSdkResponse> {
    Ok(client
        .get_sdk(GetSdkRequest {
            api_id: "sdkpets".into(),
            stage_name: "prod".into(),
            sdk_type: sdk_type.into(),
            base_url: base_url.into(),
            package_name: String::new(),
        })
        .await?
        .into_inner())
}

fn files(response: &GetSdkResponse) -> Vec<(String, String)> {
    response
        .files
        .iter()
        .map(|f| (f.path.clone(), f.content.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_sdks_call_a_running_gateway() -> anyhow::Result<()> {
    let backend = upstream::start("backend").await;
    let authorizer = token_authorizer().await;
    let (dir, cp, node, mut admin) = started_with_node("n", &[]).await?;
    admin
        .config
        .apply_configuration(apply_request(
            &document(&backend.addr.to_string(), &authorizer).replace("{API_KEY}", API_KEY),
            false,
            false,
        ))
        .await?;
    let key = admin.access_key("sdk-user").await?;
    admin.wait_converged(&["n"]).await?;
    let mut openapi =
        OpenApiServiceClient::new(tonic::service::interceptor::InterceptedService::new(
            admin.channel.clone(),
            Bearer(TEST_ADMIN_TOKEN.into()),
        ));
    let node_addr = node.addr().to_string();
    let base_url = format!(
        "http://sdkpets.execute-api.localhost:{}/prod",
        node.addr().port()
    );
    let args = [
        node_addr.as_str(),
        key.access_key_id.as_str(),
        key.secret_access_key.as_str(),
        API_KEY,
        TOKEN,
    ];

    // TypeScript: compiled by tsc, run by node.
    if let Some(modules) = typescript_tools() {
        let package = sdk(&mut openapi, "typescript", &base_url).await?;
        let ts = dir.path().join("ts");
        write_package(&ts, &files(&package));
        assert!(ts.join("src/index.ts").exists());
        tsc(&modules, &ts, true);
        std::fs::write(ts.join("call.mjs"), TYPESCRIPT_SCRIPT)?;
        let (printed, _) = run(
            Command::new("node")
                .current_dir(&ts)
                .arg("call.mjs")
                .args(args),
            "the TypeScript SDK's calls",
        );
        assert_calls("typescript", &printed);
    }

    // Python: checked by mypy, run with the tests' Python (botocore signs).
    let package_python = sdk(&mut openapi, "python", &base_url).await?;
    let py = dir.path().join("py");
    write_package(&py, &files(&package_python));
    if let Some(python) = python_with_mypy() {
        mypy(&python, &py, "sdk_pets");
    }
    std::fs::write(py.join("call.py"), PYTHON_SCRIPT)?;
    let (printed, _) = run(
        Command::new(tools::python())
            .current_dir(&py)
            .arg("call.py")
            .args(args),
        "the Python SDK's calls",
    );
    assert_calls("python", &printed);

    // Rust: an example in the generated crate, built and run.
    let package = sdk(&mut openapi, "rust", &base_url).await?;
    let rs = crate_dir("e2e");
    write_package(&rs, &files(&package));
    std::fs::create_dir_all(rs.join("examples"))?;
    std::fs::write(rs.join("examples/call.rs"), RUST_EXAMPLE)?;
    let (printed, _) = run(
        cargo(&rs, &["run", "--quiet", "--example", "call", "--"])
            .args(args)
            .env("SDK_BASE_URL", &base_url),
        "the Rust SDK's calls",
    );
    assert_calls("rust", &printed);

    // archwayctl writes the same package (the API named by its name).
    let out_dir = dir.path().join("cli-py");
    let out = ctl(
        &cp.url(),
        &[
            "sdk",
            "sdk pets",
            "--stage",
            "prod",
            "--lang",
            "python",
            "--base-url",
            &base_url,
            "-o",
            out_dir.to_str().unwrap(),
        ],
    );
    assert!(out.contains("wrote the python SDK"), "{out}");
    for (path, content) in files(&package_python) {
        assert_eq!(
            std::fs::read_to_string(out_dir.join(&path))?,
            content,
            "{path}"
        );
    }
    Ok(())
}

/// GetSdk's refusals: the field and the reason, for each way in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_sdk_refuses_unknown_apis_stages_languages_and_websocket_apis() -> anyhow::Result<()> {
    let (dir, cp, _node, mut admin) = started_with_node("n", &[]).await?;
    admin
        .config
        .apply_configuration(apply_request(
            r#"
apis:
  - name: plain
    id: plain
    routes:
      - { path: /a, method: GET, integration: { type: MOCK, status: 200, body: a } }
    stages:
      - name: prod
  - name: chat
    id: chat
    protocol: WEBSOCKET
    route_selection_expression: $request.body.action
    routes:
      - { route_key: $default, integration: { type: MOCK, status: 200, body: hi } }
    stages:
      - name: prod
"#,
            false,
            false,
        ))
        .await?;
    let mut openapi =
        OpenApiServiceClient::new(tonic::service::interceptor::InterceptedService::new(
            admin.channel.clone(),
            Bearer(TEST_ADMIN_TOKEN.into()),
        ));
    let request = |api: &str, stage: &str, sdk_type: &str| GetSdkRequest {
        api_id: api.into(),
        stage_name: stage.into(),
        sdk_type: sdk_type.into(),
        ..Default::default()
    };
    let refused =
        |r: Result<tonic::Response<GetSdkResponse>, tonic::Status>| r.expect_err("refused");
    let status = refused(openapi.get_sdk(request("plain", "prod", "java")).await);
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status
            .message()
            .starts_with("sdk_type: 'java' is not one of"),
        "{}",
        status.message()
    );
    let status = refused(openapi.get_sdk(request("nope", "prod", "rust")).await);
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
    let status = refused(openapi.get_sdk(request("plain", "staging", "rust")).await);
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
    assert!(status.message().contains("staging"), "{}", status.message());
    let status = refused(openapi.get_sdk(request("plain", "", "rust")).await);
    assert!(
        status.message().starts_with("stage_name: "),
        "{}",
        status.message()
    );
    let status = refused(openapi.get_sdk(request("chat", "prod", "typescript")).await);
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
    assert!(
        status.message().contains("WebSocket"),
        "{}",
        status.message()
    );
    // A package name the language cannot have is refused, naming the field.
    let status = refused(
        openapi
            .get_sdk(GetSdkRequest {
                package_name: "Not A Crate".into(),
                ..request("plain", "prod", "rust")
            })
            .await,
    );
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().starts_with("package_name: "),
        "{}",
        status.message()
    );
    let status = refused(
        openapi
            .get_sdk(GetSdkRequest {
                base_url: "ftp://example.com".into(),
                ..request("plain", "prod", "python")
            })
            .await,
    );
    assert!(
        status.message().starts_with("base_url: "),
        "{}",
        status.message()
    );

    // The CLI says the same, and writes nothing.
    let out_dir = dir.path().join("out");
    let out = out_dir.to_str().unwrap();
    ctl_refused(
        &cp.url(),
        &[
            "sdk", "plain", "--stage", "staging", "--lang", "rust", "-o", out,
        ],
        &["generating the SDK: ", "staging", "not found"],
    );
    ctl_refused(
        &cp.url(),
        &[
            "sdk", "chat", "--stage", "prod", "--lang", "python", "-o", out,
        ],
        &["WebSocket"],
    );
    let run = archway_e2e::ctl::ctl_run(
        &cp.url(),
        &[
            "sdk", "plain", "--stage", "prod", "--lang", "java", "-o", out,
        ],
    );
    assert!(
        !run.ok && run.stderr.contains("typescript"),
        "{}",
        run.stderr
    );
    assert!(!out_dir.exists());
    Ok(())
}
