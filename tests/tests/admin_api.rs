//! The admin API refuses bad configuration with the field and the reason,
//! keeps everything across a restart, and lists deployments for rollback.

use archway_e2e::admin::{assert_invalid, http_proxy, mock};
use archway_e2e::{Admin, ControlPlane, started};
use archway_proto::v1::*;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_is_refused_with_field_and_reason() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;

    let bad_api = admin
        .apis
        .create_rest_api(CreateRestApiRequest {
            id: "Not Valid".into(),
            name: "x".into(),
            ..Default::default()
        })
        .await;
    assert_invalid(bad_api, "id: ");
    let no_name = admin
        .apis
        .create_rest_api(CreateRestApiRequest::default())
        .await;
    assert_invalid(no_name, "name: ");

    let api = admin.create_api("strict", ApiProtocol::Rest).await?;
    let root = admin.resource(&api, "/").await?;
    let bad_part = admin
        .apis
        .create_resource(CreateResourceRequest {
            api_id: api.id.clone(),
            parent_id: root.id.clone(),
            path_part: "{unclosed".into(),
        })
        .await;
    assert_invalid(bad_part, "path_part: ");
    admin.resource(&api, "/items/{id}").await?;
    let items = admin.resource(&api, "/items").await?;
    let second_variable = admin
        .apis
        .create_resource(CreateResourceRequest {
            api_id: api.id.clone(),
            parent_id: items.id.clone(),
            path_part: "{other}".into(),
        })
        .await;
    assert_invalid(second_variable, "path_part: ");

    // An integration using a path parameter its resource does not have.
    let wrong_param = admin
        .route(&api, "/items", "GET", http_proxy("http://127.0.0.1:1/{id}"))
        .await;
    let status = wrong_param.unwrap_err().downcast::<tonic::Status>()?;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("method.integration.uri: "),
        "{status:?}"
    );
    let bad_verb = admin
        .apis
        .put_method(PutMethodRequest {
            method: Some(Method {
                api_id: api.id.clone(),
                resource_id: items.id.clone(),
                http_method: "FETCH".into(),
                integration: Some(mock(200, "")),
                api_key_required: false,
                ..Default::default()
            }),
        })
        .await;
    assert_invalid(bad_verb, "method.http_method: ");
    let bad_timeout = admin
        .route(
            &api,
            "/items/{id}",
            "GET",
            Integration {
                timeout_ms: 40_000,
                ..http_proxy("http://127.0.0.1:1/{id}")
            },
        )
        .await;
    let status = bad_timeout.unwrap_err().downcast::<tonic::Status>()?;
    assert!(
        status
            .message()
            .starts_with("method.integration.timeout_ms: "),
        "{status:?}"
    );

    // Nothing to deploy yet: refused, and nothing was created.
    let empty = admin.deploy(&api, "prod").await;
    let status = empty.unwrap_err().downcast::<tonic::Status>()?;
    assert_eq!(status.code(), Code::FailedPrecondition);

    admin
        .route(
            &api,
            "/items/{id}",
            "GET",
            http_proxy("http://127.0.0.1:1/{id}"),
        )
        .await?;
    let deployment = admin.deploy(&api, "prod").await?;
    let mut stage = admin.stage(&api, "prod").await?;
    stage.variables.insert("bad".into(), "has space".into());
    assert_invalid(
        admin
            .deployments
            .update_stage(UpdateStageRequest {
                stage: Some(stage.clone()),
                update_mask: None,
            })
            .await,
        "stage.variables.bad: ",
    );
    stage.variables.clear();
    stage.canary = Some(CanarySettings {
        deployment_id: deployment.id.clone(),
        percent_traffic: 150.0,
        ..Default::default()
    });
    assert_invalid(
        admin
            .deployments
            .update_stage(UpdateStageRequest {
                stage: Some(stage.clone()),
                update_mask: None,
            })
            .await,
        "stage.canary.percent_traffic: ",
    );
    stage.canary = None;
    stage.deployment_id = "missing".into();
    assert_invalid(
        admin
            .deployments
            .update_stage(UpdateStageRequest {
                stage: Some(stage),
                update_mask: None,
            })
            .await,
        "stage.deployment_id: ",
    );
    // A deployment a stage serves cannot be deleted.
    let in_use = admin
        .deployments
        .delete_deployment(GetDeploymentRequest {
            api_id: api.id.clone(),
            deployment_id: deployment.id.clone(),
        })
        .await;
    assert_eq!(in_use.unwrap_err().code(), Code::FailedPrecondition);
    // The stage still serves the deployment it had.
    assert_eq!(
        admin.stage(&api, "prod").await?.deployment_id,
        deployment.id
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_loses_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp_dir = dir.path().join("cp");
    let mut cp = ControlPlane::start(&cp_dir)?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin.create_api("durable", ApiProtocol::Http).await?;
    admin
        .route(&api, "/a/{b}", "POST", http_proxy("http://127.0.0.1:1/{b}"))
        .await?;
    let first = admin.deploy(&api, "prod").await?;
    admin.route(&api, "/c", "GET", mock(200, "c")).await?;
    let second = admin.deploy(&api, "prod").await?;
    // SIGKILL: acknowledged writes must already be on disk.
    cp.process.kill();

    let cp = ControlPlane::start(&cp_dir)?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let apis = admin.list_apis().await?;
    assert_eq!(apis.len(), 1);
    assert_eq!(apis[0].protocol, ApiProtocol::Http as i32);
    let methods = admin.list_methods(&api.id).await?;
    assert_eq!(methods.len(), 2);
    let deployments = admin.list_deployments(&api.id).await?;
    let ids: Vec<_> = deployments.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, [second.id.as_str(), first.id.as_str()], "newest first");
    let stage = admin.stage(&api, "prod").await?;
    assert_eq!(stage.deployment_id, second.id);
    let full = admin
        .deployments
        .get_deployment(GetDeploymentRequest {
            api_id: api.id.clone(),
            deployment_id: first.id,
        })
        .await?
        .into_inner();
    assert_eq!(
        full.methods.len(),
        1,
        "a deployment keeps the API as it was"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_call_needs_a_token_with_the_right_role() -> anyhow::Result<()> {
    use archway_proto::v1::rest_api_service_client::RestApiServiceClient;
    let (dir, _cp, mut admin) = started().await?;
    admin.create_api("guarded", ApiProtocol::Rest).await?;

    // No token, a wrong token: UNAUTHENTICATED.
    let mut anonymous = RestApiServiceClient::new(admin.channel.clone());
    let refused = anonymous
        .list_rest_apis(ListRestApisRequest::default())
        .await
        .expect_err("no token");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    let wrong = Admin::with_token(
        admin.channel.clone(),
        "not-a-real-token-0123456789abcdefxyz",
    )?;
    let refused = wrong
        .apis
        .clone()
        .list_rest_apis(ListRestApisRequest::default())
        .await;
    assert_eq!(
        refused.expect_err("wrong token").code(),
        Code::Unauthenticated
    );

    // A read-only token reads but does not write; a node token does neither.
    let new = admin
        .with_new_token("dashboards", TokenRole::ReadOnly)
        .await?;
    let (reader, mut read_only) = (new.token, new.client);
    let listed = read_only
        .apis
        .list_rest_apis(ListRestApisRequest::default())
        .await?;
    assert_eq!(listed.into_inner().items.len(), 1);
    let denied = read_only.create_api("nope", ApiProtocol::Rest).await;
    let status = denied.unwrap_err().downcast::<tonic::Status>()?;
    assert_eq!(status.code(), Code::PermissionDenied);
    let node = Admin::with_token(admin.channel.clone(), archway_e2e::TEST_NODE_TOKEN)?;
    let denied = node
        .apis
        .clone()
        .list_rest_apis(ListRestApisRequest::default())
        .await;
    assert_eq!(
        denied.expect_err("node token").code(),
        Code::PermissionDenied
    );

    // Tokens are listed without their secrets and can be revoked.
    let mut tokens = admin.tokens.clone();
    let listed = tokens
        .list_tokens(ListTokensRequest::default())
        .await?
        .into_inner()
        .items;
    assert_eq!(listed.len(), 3, "bootstrap admin and node, plus the reader");
    let id = reader.id;
    tokens.delete_token(DeleteTokenRequest { id }).await?;
    let revoked = read_only
        .apis
        .list_rest_apis(ListRestApisRequest::default())
        .await;
    assert_eq!(revoked.expect_err("revoked").code(), Code::Unauthenticated);

    // The first tokens are in the data directory, readable by the owner only.
    use std::os::unix::fs::PermissionsExt;
    let file = dir.path().join("cp/admin-token");
    assert_eq!(
        std::fs::read_to_string(&file)?.trim(),
        archway_e2e::TEST_ADMIN_TOKEN
    );
    assert_eq!(
        std::fs::metadata(&file)?.permissions().mode() & 0o777,
        0o600
    );
    Ok(())
}

/// One request to the control plane's port: `(HTTP status, grpc-status,
/// body)`. gRPC calls go over h2c with `content-type: application/grpc`.
async fn call_port(
    addr: std::net::SocketAddr,
    path: &str,
    token: Option<&str>,
    grpc_body: Option<&'static [u8]>,
) -> anyhow::Result<(u16, Option<String>, bytes::Bytes)> {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let mut builder = Client::builder(TokioExecutor::new());
    let client: Client<_, Full<bytes::Bytes>> =
        builder.http2_only(grpc_body.is_some()).build_http();
    let mut request = http::Request::builder().uri(format!("http://{addr}{path}"));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = match grpc_body {
        Some(body) => request
            .method("POST")
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(Full::new(bytes::Bytes::from_static(body)))?,
        None => request.method("GET").body(Full::default())?,
    };
    let response = client.request(request).await?;
    let status = response.status().as_u16();
    let header_status = response
        .headers()
        .get("grpc-status")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let collected = response.into_body().collect().await?;
    let trailer_status = collected
        .trailers()
        .and_then(|t| t.get("grpc-status"))
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    Ok((
        status,
        header_status.or(trailer_status),
        collected.to_bytes(),
    ))
}

/// A gRPC frame of `ServerReflectionRequest { list_services: "" }`.
const LIST_SERVICES: &[u8] = &[0, 0, 0, 0, 2, 0x3a, 0];
/// A gRPC frame of an empty `HealthCheckRequest`.
const HEALTH_CHECK: &[u8] = &[0, 0, 0, 0, 0];
const UNAUTHENTICATED: &str = "16";
const PERMISSION_DENIED: &str = "7";

const REFLECTION: &str = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
const REFLECTION_ALPHA: &str = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

/// A control plane that has answered a call (so it is serving).
async fn serving_control_plane(
    dir: &std::path::Path,
    extra: &[&str],
) -> anyhow::Result<ControlPlane> {
    let cp = ControlPlane::start_with(dir, "127.0.0.1:0", extra)?;
    Admin::connect(&cp.url())
        .await?
        .fleet
        .list_nodes(ListNodesRequest::default())
        .await?;
    Ok(cp)
}

/// Server reflection lists every service, so it needs a token: refused
/// without one, with an unknown one and with a node token (v1 and
/// v1alpha); an admin token lists the services.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_needs_a_token() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = serving_control_plane(&dir.path().join("cp"), &[]).await?;
    let addr = cp.process.addr;
    for path in [REFLECTION, REFLECTION_ALPHA] {
        for (token, expected, what) in [
            (None, UNAUTHENTICATED, "no token"),
            (Some("not-a-token"), UNAUTHENTICATED, "an unknown token"),
            (
                Some(archway_e2e::TEST_NODE_TOKEN),
                PERMISSION_DENIED,
                "a node token",
            ),
        ] {
            let (_, status, _) = call_port(addr, path, token, Some(LIST_SERVICES)).await?;
            assert_eq!(status.as_deref(), Some(expected), "{path} with {what}");
        }
    }
    let (_, status, body) = call_port(
        addr,
        REFLECTION,
        Some(archway_e2e::TEST_ADMIN_TOKEN),
        Some(LIST_SERVICES),
    )
    .await?;
    assert_eq!(status.as_deref(), Some("0"), "reflection with a token");
    let listing = String::from_utf8_lossy(&body);
    assert!(listing.contains("archway.v1.RestApiService"), "{listing}");
    Ok(())
}

/// Paths nothing serves are refused before the router says so (a caller
/// without a token cannot probe for services); health checks and the
/// static UI page stay open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_need_a_token_and_health_does_not() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = serving_control_plane(&dir.path().join("cp"), &[]).await?;
    let addr = cp.process.addr;
    let admin_token = Some(archway_e2e::TEST_ADMIN_TOKEN);
    for path in ["/archway.v1.NoSuchService/Get", "/no.such.Service/Call"] {
        let (_, status, _) = call_port(addr, path, None, Some(HEALTH_CHECK)).await?;
        assert_eq!(status.as_deref(), Some(UNAUTHENTICATED), "{path}");
        let (_, status, _) = call_port(addr, path, admin_token, Some(HEALTH_CHECK)).await?;
        assert_eq!(
            status.as_deref(),
            Some("12"),
            "{path} with a token: UNIMPLEMENTED"
        );
    }
    let (http_status, _, _) = call_port(addr, "/no/such/page", None, None).await?;
    assert_eq!(http_status, 401, "unknown plain HTTP path");
    let (_, status, _) = call_port(
        addr,
        "/grpc.health.v1.Health/Check",
        None,
        Some(HEALTH_CHECK),
    )
    .await?;
    assert_eq!(status.as_deref(), Some("0"), "health without a token");
    // The static UI page holds no data and stays open (the built page,
    // embedded; tests/admin_ui_serving.rs covers the UI's files).
    let (http_status, _, body) = call_port(addr, "/", None, None).await?;
    assert_eq!(http_status, 200);
    let page = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../admin-ui/dist/index.html"
    ))?;
    assert_eq!(body, page);
    Ok(())
}

/// `/metrics` needs an admin or read-only token (401 for a scraper without
/// one, not an empty page; 403 for a node token); `--metrics-without-auth`
/// opens it, and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_a_token_unless_opened_by_flag() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = serving_control_plane(&dir.path().join("cp"), &[]).await?;
    let addr = cp.process.addr;
    let (http_status, _, body) = call_port(addr, "/metrics", None, None).await?;
    assert_eq!(http_status, 401, "{}", String::from_utf8_lossy(&body));
    let node_token = Some(archway_e2e::TEST_NODE_TOKEN);
    let (http_status, _, _) = call_port(addr, "/metrics", node_token, None).await?;
    assert_eq!(http_status, 403, "a node token does not read metrics");
    let admin_token = Some(archway_e2e::TEST_ADMIN_TOKEN);
    let (http_status, _, body) = call_port(addr, "/metrics", admin_token, None).await?;
    assert_eq!(http_status, 200);
    assert!(
        String::from_utf8_lossy(&body).contains("archway_"),
        "metrics text"
    );

    let open = serving_control_plane(&dir.path().join("open"), &["--metrics-without-auth"]).await?;
    let (http_status, _, _) = call_port(open.process.addr, "/metrics", None, None).await?;
    assert_eq!(http_status, 200, "metrics with the flag");
    let (_, status, _) =
        call_port(open.process.addr, REFLECTION, None, Some(LIST_SERVICES)).await?;
    assert_eq!(
        status.as_deref(),
        Some(UNAUTHENTICATED),
        "reflection with the flag"
    );
    Ok(())
}

/// A caller's path parameter may not choose the backend: the admin API
/// refuses it in the scheme or host of an integration URI, naming the
/// field and the reason; a stage variable there is fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_uri_refuses_path_parameters_in_the_host() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;
    let api = admin.create_api("hosts", ApiProtocol::Rest).await?;
    let resource = admin.resource(&api, "/r/{host}/{proxy+}").await?;
    for uri in [
        "http://{host}/x",
        "http://{host}.internal:8080/x",
        "http://127.0.0.1:{host}/x",
        "http://{host}@127.0.0.1/x",
        "http://${stageVariables.backend}{proxy}",
    ] {
        let refused = admin
            .apis
            .put_method(PutMethodRequest {
                method: Some(Method {
                    api_id: api.id.clone(),
                    resource_id: resource.id.clone(),
                    http_method: "GET".into(),
                    integration: Some(http_proxy(uri)),
                    ..Default::default()
                }),
            })
            .await;
        let status = refused.expect_err(uri);
        assert_eq!(status.code(), Code::InvalidArgument, "{uri}: {status:?}");
        assert!(
            status
                .message()
                .starts_with("method.integration.uri: path parameter {")
                && status.message().contains("is in the scheme or host part"),
            "{uri}: {}",
            status.message()
        );
    }
    admin
        .apis
        .put_method(PutMethodRequest {
            method: Some(Method {
                api_id: api.id.clone(),
                resource_id: resource.id.clone(),
                http_method: "GET".into(),
                authorization_type: "NONE".into(),
                integration: Some(http_proxy(
                    "http://${stageVariables.backend}/{host}/{proxy}",
                )),
                ..Default::default()
            }),
        })
        .await?;
    Ok(())
}

/// Any admin client can typo a stage name, not only the CLI: the API
/// refuses a deployment to a stage the API does not have unless the caller
/// sets `create_stage`, and writes nothing (no stage, no deployment).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_deployment_refuses_an_unknown_stage_without_create_stage() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;
    let api = admin.create_api("pets", ApiProtocol::Rest).await?;
    admin
        .route(&api, "/health", "GET", archway_e2e::admin::mock(200, "ok"))
        .await?;
    let request = |stage: &str, create_stage: bool| CreateDeploymentRequest {
        api_id: api.id.clone(),
        description: String::new(),
        stage_name: stage.into(),
        create_stage,
    };
    let refused = admin
        .deployments
        .create_deployment(request("prod", false))
        .await
        .expect_err("the API has no stage yet");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused
            .message()
            .contains("has no stage 'prod' (it has no stage yet)"),
        "{refused:?}"
    );
    admin
        .deployments
        .create_deployment(request("prod", true))
        .await?;
    let refused = admin
        .deployments
        .create_deployment(request("prdo", false))
        .await
        .expect_err("a typo");
    assert!(
        refused.message().contains("its stages: prod")
            && refused.message().contains("create_stage"),
        "{refused:?}"
    );
    let missing = admin
        .stage(&api, "prdo")
        .await
        .expect_err("no stage was made")
        .downcast::<tonic::Status>()?;
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    let deployments = admin
        .deployments
        .list_deployments(ListDeploymentsRequest {
            api_id: api.id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .items;
    assert_eq!(deployments.len(), 1, "the refused calls made no deployment");
    // A deployment to an existing stage, or to none, needs no flag.
    admin
        .deployments
        .create_deployment(request("prod", false))
        .await?;
    admin
        .deployments
        .create_deployment(request("", false))
        .await?;
    Ok(())
}
