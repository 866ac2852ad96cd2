//! The admin API refuses bad configuration with the field and the reason,
//! keeps everything across a restart, and lists deployments for rollback.

use archway_e2e::admin::{http_proxy, mock};
use archway_e2e::{Admin, ControlPlane};
use archway_proto::v1::*;
use tonic::Code;

fn assert_invalid(result: Result<impl std::fmt::Debug, tonic::Status>, field: &str) {
    let status = result.expect_err("should be refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().starts_with(&format!("{field}: ")),
        "expected the message to name {field}: {}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_is_refused_with_field_and_reason() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let mut admin = Admin::connect(&cp.url()).await?;

    let bad_api = admin
        .apis
        .create_rest_api(CreateRestApiRequest {
            id: "Not Valid".into(),
            name: "x".into(),
            ..Default::default()
        })
        .await;
    assert_invalid(bad_api, "id");
    let no_name = admin
        .apis
        .create_rest_api(CreateRestApiRequest::default())
        .await;
    assert_invalid(no_name, "name");

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
    assert_invalid(bad_part, "path_part");
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
    assert_invalid(second_variable, "path_part");

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
    assert_invalid(bad_verb, "method.http_method");
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
            })
            .await,
        "stage.variables.bad",
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
            })
            .await,
        "stage.canary.percent_traffic",
    );
    stage.canary = None;
    stage.deployment_id = "missing".into();
    assert_invalid(
        admin
            .deployments
            .update_stage(UpdateStageRequest { stage: Some(stage) })
            .await,
        "stage.deployment_id",
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
    let apis = admin
        .apis
        .list_rest_apis(ListRestApisRequest {})
        .await?
        .into_inner()
        .items;
    assert_eq!(apis.len(), 1);
    assert_eq!(apis[0].protocol, ApiProtocol::Http as i32);
    let methods = admin
        .apis
        .list_methods(ListMethodsRequest {
            api_id: api.id.clone(),
            resource_id: String::new(),
        })
        .await?
        .into_inner()
        .items;
    assert_eq!(methods.len(), 2);
    let deployments = admin
        .deployments
        .list_deployments(ListDeploymentsRequest {
            api_id: api.id.clone(),
        })
        .await?
        .into_inner()
        .items;
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
    use archway_proto::v1::admin_token_service_client::AdminTokenServiceClient;
    use archway_proto::v1::rest_api_service_client::RestApiServiceClient;
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let mut admin = Admin::connect(&cp.url()).await?;
    admin.create_api("guarded", ApiProtocol::Rest).await?;

    // No token, a wrong token: UNAUTHENTICATED.
    let mut anonymous = RestApiServiceClient::new(admin.channel.clone());
    let refused = anonymous
        .list_rest_apis(ListRestApisRequest {})
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
        .list_rest_apis(ListRestApisRequest {})
        .await;
    assert_eq!(
        refused.expect_err("wrong token").code(),
        Code::Unauthenticated
    );

    // A read-only token reads but does not write; a node token does neither.
    let mut tokens = AdminTokenServiceClient::with_interceptor(
        admin.channel.clone(),
        archway_e2e::admin::Bearer(archway_e2e::TEST_ADMIN_TOKEN),
    );
    let reader = tokens
        .create_token(CreateTokenRequest {
            name: "dashboards".into(),
            role: TokenRole::ReadOnly as i32,
        })
        .await?
        .into_inner();
    let reader_secret: &'static str = Box::leak(reader.secret.clone().into_boxed_str());
    let mut read_only = Admin::with_token(admin.channel.clone(), reader_secret)?;
    let listed = read_only
        .apis
        .list_rest_apis(ListRestApisRequest {})
        .await?;
    assert_eq!(listed.into_inner().items.len(), 1);
    let denied = read_only.create_api("nope", ApiProtocol::Rest).await;
    let status = denied.unwrap_err().downcast::<tonic::Status>()?;
    assert_eq!(status.code(), Code::PermissionDenied);
    let node = Admin::with_token(admin.channel.clone(), archway_e2e::TEST_NODE_TOKEN)?;
    let denied = node
        .apis
        .clone()
        .list_rest_apis(ListRestApisRequest {})
        .await;
    assert_eq!(
        denied.expect_err("node token").code(),
        Code::PermissionDenied
    );

    // Tokens are listed without their secrets and can be revoked.
    let listed = tokens
        .list_tokens(ListTokensRequest {})
        .await?
        .into_inner()
        .items;
    assert_eq!(listed.len(), 3, "bootstrap admin and node, plus the reader");
    let id = reader.token.expect("the token record").id;
    tokens.delete_token(DeleteTokenRequest { id }).await?;
    let revoked = read_only.apis.list_rest_apis(ListRestApisRequest {}).await;
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
