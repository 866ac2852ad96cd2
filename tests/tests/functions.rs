//! Function integrations (AWS_PROXY): a Lambda Invoke API run by the test
//! (`archway_e2e::lambda`) checks each invocation's SigV4 signature and
//! records its event; the node reaches it through `--aws-endpoint` or an
//! integration's own `endpoint_url`, signing with the credentials in its
//! environment. Both payload formats, and every way a function fails.

use archway_e2e::lambda::{self, LambdaServer};
use archway_e2e::{Admin, ControlPlane, DataPlane};
use archway_proto::v1::*;
use http::StatusCode;
use serde_json::Value;

const KEY: &str = "AKIAFUNCTIONTEST0001";
const SECRET: &str = "fUnCtIoNsEcReT/K7MDENG+bPxRfiCYEXAMPLE";
const ACCOUNT: &str = "123456789012";
/// The key of an outbound credential configured through the admin API.
const OWN_KEY: &str = "AKIAOUTBOUNDCRED0001";
const OWN_SECRET: &str = "oUtBoUnDsEcReT/K7MDENG+bPxRfiCYEXAMPLE";

fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}")
}

/// How REST APIs name a function: its invocation URI.
fn invocation_uri(name: &str) -> String {
    format!(
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{}/invocations",
        function_arn(name)
    )
}

/// AWS_PROXY to `uri` (any form AWS writes) with payload `format`.
fn function(uri: &str, format: &str) -> Integration {
    Integration {
        r#type: IntegrationType::AwsProxy as i32,
        uri: uri.into(),
        payload_format_version: format.into(),
        ..Default::default()
    }
}

/// A control plane, and a node whose outbound Lambda calls go to `server`,
/// signed with [`KEY`] from its environment.
async fn started(
    server: &LambdaServer,
) -> anyhow::Result<(tempfile::TempDir, ControlPlane, DataPlane, Admin)> {
    let endpoint = format!("lambda={}", server.url());
    archway_e2e::started_with_node_env(
        "fn",
        &["--aws-endpoint", &endpoint, "--aws-region", "eu-west-1"],
        &[
            ("AWS_ACCESS_KEY_ID", KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_SESSION_TOKEN", "session-token-1"),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_functions_get_the_1_0_event_signed_and_answer() -> anyhow::Result<()> {
    let server = lambda::start("node-endpoint", KEY, SECRET).await;
    let own = lambda::start("integration-endpoint", OWN_KEY, OWN_SECRET).await;
    let (_dir, _cp, node, mut admin) = started(&server).await?;
    let api = admin.create_api("fns", ApiProtocol::Rest).await?;
    // The REST form of the URI, naming an alias.
    let rest_uri = invocation_uri("echo:live");
    admin
        .route(&api, "/pets/{id}", "POST", function(&rest_uri, ""))
        .await?;
    // The integration's own endpoint comes before the node's; its
    // credentials, an outbound credential named by its role ARN (set
    // through the gRPC API), before the node's environment.
    admin
        .iam
        .put_outbound_credential(PutOutboundCredentialRequest {
            credential: Some(OutboundCredential {
                name: "invoker".into(),
                role_arn: format!("arn:aws:iam::{ACCOUNT}:role/invoker"),
                access_key_id: OWN_KEY.into(),
                secret_access_key: OWN_SECRET.into(),
                ..Default::default()
            }),
        })
        .await?;
    admin
        .route(
            &api,
            "/own",
            "GET",
            Integration {
                endpoint_url: own.url(),
                credentials: format!("arn:aws:iam::{ACCOUNT}:role/invoker"),
                ..function(&invocation_uri("echo"), "1.0")
            },
        )
        .await?;
    // Behind a custom authorizer: its principal and context reach the
    // function in requestContext.authorizer.
    let authorizer_addr = archway_e2e::serve::spawn(None, |_req| async {
        archway_e2e::serve::answer(
            200,
            serde_json::json!({
                "principalId": "alice",
                "policyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]},
                "context": {"tenant": "acme", "level": 3},
            })
            .to_string(),
        )
    })
    .await;
    let tokens = admin
        .create_authorizer(Authorizer {
            identity_source: "method.request.header.Authorization".into(),
            result_ttl_seconds: Some(0),
            ..archway_e2e::admin::authorizer(
                &api,
                "tokens",
                AuthorizerType::Token,
                &format!("http://{authorizer_addr}/authorize"),
            )
        })
        .await?;
    admin
        .put_custom_route(
            &api,
            "/me",
            Method {
                http_method: "GET".into(),
                integration: Some(function(&invocation_uri("echo"), "")),
                ..Default::default()
            },
            &tokens,
        )
        .await?;
    // The alias from a stage variable, as AWS resolves it per stage.
    admin
        .route(
            &api,
            "/staged",
            "GET",
            function(&invocation_uri("echo:${stageVariables.alias}"), "1.0"),
        )
        .await?;
    admin.deploy(&api, "prod").await?;
    let mut stage = admin.stage(&api, "prod").await?;
    stage.variables.insert("tier".into(), "gold".into());
    stage.variables.insert("alias".into(), "blue".into());
    admin.update_stage(stage).await?;
    admin.wait_converged(&["fn"]).await?;

    let answer = node.send("fns", "GET", "/prod/staged", &[], "").await?;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let staged = server
        .last("echo")
        .expect("the staged function was invoked");
    assert_eq!(staged.function, function_arn("echo"));
    assert_eq!(
        staged.qualifier.as_deref(),
        Some("blue"),
        "the alias is the stage's variable, not the literal"
    );

    let answer = node
        .send(
            "fns",
            "POST",
            "/prod/pets/a%20b?q=1&q=2",
            &[
                ("content-type", "application/json"),
                ("x-multi", "a"),
                ("x-multi", "b"),
            ],
            r#"{"name":"rex"}"#,
        )
        .await?;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    assert_eq!(answer.headers["x-served-by"], "node-endpoint");
    let multi: Vec<_> = answer.headers.get_all("x-multi").iter().collect();
    assert_eq!(multi, ["1", "2"]);
    let invocation = server.last("echo").expect("the function was invoked");
    assert!(
        invocation.signature_ok,
        "the signature verifies with the key"
    );
    assert_eq!(
        (invocation.access_key.as_str(), invocation.service.as_str()),
        (KEY, "lambda")
    );
    assert_eq!(
        invocation.region, "us-east-1",
        "the region comes from the ARN"
    );
    assert_eq!(invocation.session_token.as_deref(), Some("session-token-1"));
    assert_eq!(invocation.function, function_arn("echo"));
    assert_eq!(invocation.qualifier.as_deref(), Some("live"));
    let event = &invocation.event;
    assert_eq!(event["resource"], "/pets/{id}");
    assert_eq!(event["path"], "/pets/a%20b");
    assert_eq!(event["httpMethod"], "POST");
    assert_eq!(event["body"], r#"{"name":"rex"}"#);
    assert_eq!(event["isBase64Encoded"], false);
    assert_eq!(event["pathParameters"]["id"], "a b");
    assert_eq!(event["queryStringParameters"]["q"], "2");
    assert_eq!(
        event["multiValueQueryStringParameters"]["q"],
        serde_json::json!(["1", "2"])
    );
    assert_eq!(
        event["multiValueHeaders"]["x-multi"],
        serde_json::json!(["a", "b"])
    );
    assert_eq!(event["stageVariables"]["tier"], "gold");
    let rc = &event["requestContext"];
    assert_eq!(rc["stage"], "prod");
    assert_eq!(rc["path"], "/prod/pets/a%20b");
    assert_eq!(rc["resourcePath"], "/pets/{id}");
    assert_eq!(rc["apiId"], "fns");
    assert_eq!(rc["identity"]["sourceIp"], "127.0.0.1");
    assert!(rc["requestTimeEpoch"].as_u64().unwrap() > 1_700_000_000_000);
    // The request id the client is given is the one the function saw.
    assert_eq!(
        rc["requestId"],
        answer.headers["x-amzn-requestid"].to_str()?,
        "{:?}",
        answer.headers
    );

    let answer = node
        .send(
            "fns",
            "GET",
            "/prod/me",
            &[("authorization", "token-1")],
            "",
        )
        .await?;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let authorizer = &server.last("echo").unwrap().event["requestContext"]["authorizer"];
    assert_eq!(authorizer["principalId"], "alice");
    assert_eq!(authorizer["tenant"], "acme");
    assert_eq!(authorizer["level"], 3);

    let answer = node.send("fns", "GET", "/prod/own", &[], "").await?;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    assert_eq!(answer.headers["x-served-by"], "integration-endpoint");
    let invocation = own.last("echo").unwrap();
    assert!(invocation.signature_ok);
    assert_eq!(invocation.access_key, OWN_KEY);
    assert_eq!(invocation.session_token, None);
    assert_eq!(invocation.event["body"], Value::Null);
    assert_eq!(invocation.event["queryStringParameters"], Value::Null);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_api_functions_get_the_2_0_event_and_bare_json_is_200() -> anyhow::Result<()> {
    let server = lambda::start("node-endpoint", KEY, SECRET).await;
    let (_dir, _cp, node, mut admin) = started(&server).await?;
    let api = admin.create_api("fns2", ApiProtocol::Http).await?;
    admin
        .route(
            &api,
            "/items/{id}",
            "GET",
            function(&function_arn("echo2"), "2.0"),
        )
        .await?;
    admin
        .route(&api, "/bare", "GET", function(&function_arn("bare"), "2.0"))
        .await?;
    admin
        .route(
            &api,
            "/upload",
            "POST",
            function(&function_arn("echo2"), "2.0"),
        )
        .await?;
    admin.deploy(&api, "v1").await?;
    admin.wait_converged(&["fn"]).await?;

    let answer = node
        .send(
            "fns2",
            "GET",
            "/v1/items/7?a=1&a=2",
            &[("cookie", "c1=x; c2=y"), ("x-multi", "a"), ("x-multi", "b")],
            "",
        )
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let cookies: Vec<_> = answer.headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["session=1; Path=/", "theme=dark"]);
    let event = server.last("echo2").unwrap().event;
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "GET /items/{id}");
    assert_eq!(event["rawPath"], "/v1/items/7");
    assert_eq!(event["rawQueryString"], "a=1&a=2");
    assert_eq!(event["queryStringParameters"]["a"], "1,2");
    assert_eq!(event["cookies"], serde_json::json!(["c1=x", "c2=y"]));
    assert_eq!(event["headers"]["x-multi"], "a,b");
    assert_eq!(event["pathParameters"]["id"], "7");
    assert_eq!(event["requestContext"]["http"]["method"], "GET");
    assert_eq!(event["requestContext"]["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(event["requestContext"]["stage"], "v1");

    // A bare JSON answer is AWS's inferred 200 application/json.
    let answer = node.send("fns2", "GET", "/v1/bare", &[], "").await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(answer.json()["bare"], true);

    // A body that is not text travels base64-encoded.
    let answer = node
        .send(
            "fns2",
            "POST",
            "/v1/upload",
            &[("content-type", "application/octet-stream")],
            vec![0xff, 0xfe, 0x00],
        )
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let event = server.last("echo2").unwrap().event;
    assert_eq!(event["routeKey"], "POST /upload");
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["body"], "//4A");
    // The function saw the same event the server recorded.
    assert_eq!(answer.json()["event"]["body"], "//4A");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_failures_answer_as_aws() -> anyhow::Result<()> {
    let server = lambda::start("node-endpoint", KEY, SECRET).await;
    // A server that knows another secret: the node's signatures fail there.
    let other_key = lambda::start("other-key", KEY, "not-the-secret").await;
    let (_dir, _cp, node, mut admin) = started(&server).await?;
    let api = admin.create_api("failing", ApiProtocol::Rest).await?;
    for name in ["raises", "throttled", "malformed", "missing"] {
        admin
            .route(
                &api,
                &format!("/{name}"),
                "GET",
                function(&invocation_uri(name), ""),
            )
            .await?;
    }
    admin
        .route(
            &api,
            "/slow",
            "GET",
            Integration {
                timeout_ms: 300,
                ..function(&invocation_uri("slow"), "")
            },
        )
        .await?;
    admin
        .route(
            &api,
            "/badsig",
            "GET",
            Integration {
                endpoint_url: other_key.url(),
                ..function(&invocation_uri("echo"), "")
            },
        )
        .await?;
    let nowhere = archway_e2e::unused_loopback_addr();
    admin
        .route(
            &api,
            "/unreachable",
            "GET",
            Integration {
                endpoint_url: format!("http://{nowhere}"),
                ..function(&invocation_uri("echo"), "")
            },
        )
        .await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["fn"]).await?;

    for path in [
        "/raises",
        "/throttled",
        "/malformed",
        "/missing",
        "/badsig",
        "/unreachable",
    ] {
        let answer = node
            .send("failing", "GET", &format!("/prod{path}"), &[], "")
            .await?;
        assert_eq!(
            answer.status,
            StatusCode::BAD_GATEWAY,
            "{path}: {}",
            answer.body
        );
        assert_eq!(answer.json()["message"], "Internal server error", "{path}");
        assert_eq!(
            answer.headers["x-amzn-errortype"], "InternalServerErrorException",
            "{path}"
        );
    }
    assert!(!other_key.last("echo").unwrap().signature_ok);
    let started = std::time::Instant::now();
    let answer = node.send("failing", "GET", "/prod/slow", &[], "").await?;
    assert_eq!(
        answer.status,
        StatusCode::GATEWAY_TIMEOUT,
        "{}",
        answer.body
    );
    assert_eq!(answer.json()["message"], "Endpoint request timed out");
    assert!(started.elapsed() < std::time::Duration::from_millis(1900));
    // Every invocation that reached the right server was signed right.
    assert!(server.invocations().iter().all(|i| i.signature_ok));
    Ok(())
}

/// A REST API's non-proxy function integration (`AWS` with an invocation
/// URI), with the integration responses AWS users write for it.
fn non_proxy(name: &str) -> Method {
    let response = |status: &str, pattern: &str, template: &str| IntegrationResponse {
        status_code: status.into(),
        selection_pattern: pattern.into(),
        response_templates: archway_e2e::admin::string_map(&[("application/json", template)]),
        ..Default::default()
    };
    Method {
        http_method: "POST".into(),
        method_responses: ["200", "400", "418"]
            .into_iter()
            .map(|status| MethodResponse {
                status_code: status.into(),
                ..Default::default()
            })
            .collect(),
        integration: Some(Integration {
            r#type: IntegrationType::Aws as i32,
            http_method: "POST".into(),
            uri: invocation_uri(name),
            request_templates: archway_e2e::admin::string_map(&[(
                "application/json",
                r#"{"pet": "$input.path('$.name')", "stage": "$context.stage"}"#,
            )]),
            integration_responses: vec![
                response("200", "", r#"{"served": $input.json('$.statusCode')}"#),
                // A success is never matched against patterns: this one,
                // which "200" would match, is for errors only.
                response("418", r"2\d\d", r#"{"teapot": true}"#),
                response(
                    "400",
                    "bo+m",
                    r#"{"error": "$input.path('$.errorMessage')"}"#,
                ),
            ],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// As AWS selects a Lambda (non-proxy) integration's response: a success
/// takes the default (empty pattern), whatever the patterns would match;
/// a function error is matched by its `errorMessage`. The function gets
/// the request template's output, signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_non_proxy_functions_select_the_default_on_success_and_match_error_messages()
-> anyhow::Result<()> {
    let server = lambda::start("node-endpoint", KEY, SECRET).await;
    let (_dir, _cp, node, mut admin) = started(&server).await?;
    let api = admin.create_api("nonproxy", ApiProtocol::Rest).await?;
    admin.put_route(&api, "/echo", non_proxy("echo")).await?;
    admin
        .put_route(&api, "/raises", non_proxy("raises"))
        .await?;
    admin
        .put_route(&api, "/missing", non_proxy("missing"))
        .await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["fn"]).await?;

    let json = [("content-type", "application/json")];
    let answer = node
        .send("nonproxy", "POST", "/prod/echo", &json, r#"{"name":"rex"}"#)
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.json(), serde_json::json!({"served": 201}));
    let invocation = server.last("echo").expect("the function was invoked");
    assert!(invocation.signature_ok);
    assert_eq!(
        invocation.event,
        serde_json::json!({"pet": "rex", "stage": "prod"})
    );

    let answer = node
        .send("nonproxy", "POST", "/prod/raises", &json, "{}")
        .await?;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert_eq!(answer.json(), serde_json::json!({"error": "boom"}));

    // The Invoke API's refusal is no function's answer: not a success to
    // map, but the function integrations' 502.
    let answer = node
        .send("nonproxy", "POST", "/prod/missing", &json, "{}")
        .await?;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{}", answer.body);
    assert_eq!(answer.json()["message"], "Internal server error");
    Ok(())
}

/// A non-proxy function URI may name the function (or alias) with a stage
/// variable, as AWS allows and as proxy URIs already do: each stage
/// invokes its own function; a value that leaves no valid ARN is refused
/// (500, nothing invoked) rather than sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_non_proxy_function_names_take_the_stages_variables() -> anyhow::Result<()> {
    let server = lambda::start("node-endpoint", KEY, SECRET).await;
    let (_dir, _cp, node, mut admin) = started(&server).await?;
    let api = admin.create_api("staged", ApiProtocol::Rest).await?;
    admin
        .put_route(&api, "/pets", non_proxy("${stageVariables.fn}"))
        .await?;
    for (stage, function) in [("prod", "echo"), ("broken", "echo:a:b")] {
        admin.deploy(&api, stage).await?;
        let mut settings = admin.stage(&api, stage).await?;
        settings.variables.insert("fn".into(), function.into());
        admin.update_stage(settings).await?;
    }
    admin.wait_converged(&["fn"]).await?;

    let json = [("content-type", "application/json")];
    let answer = node
        .send("staged", "POST", "/prod/pets", &json, r#"{"name":"rex"}"#)
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let invocation = server
        .last("echo")
        .expect("the stage's function was invoked");
    assert_eq!(invocation.function, function_arn("echo"));
    assert_eq!(invocation.event["pet"], "rex");

    let before = server.invocations().len();
    let answer = node
        .send("staged", "POST", "/broken/pets", &json, "{}")
        .await?;
    assert_eq!(
        answer.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        answer.body
    );
    assert_eq!(server.invocations().len(), before, "nothing was invoked");
    Ok(())
}
