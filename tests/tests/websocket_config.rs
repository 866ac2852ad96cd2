//! WEBSOCKET APIs' configuration end to end: made through the real gRPC
//! admin API (CreateRestApi, UpdateRestApi, PutMethod with route keys,
//! CreateDeployment) and through `archwayctl apply -f` with a YAML
//! document, down to a node that receives and accepts the snapshot. What
//! WebSocket APIs cannot say is refused with the field and the reason, and
//! an export applies back unchanged.
//!
//! Serving connections is the data plane's (websocket_api.rs); here a node
//! only shows that what the admin API accepted compiles.

use archway_e2e::admin::{assert_invalid, authorizer, http_proxy, mask, mock};
use archway_e2e::ctl::{ctl, ctl_run};
use archway_e2e::{Admin, ControlPlane, DataPlane};
use archway_proto::v1::*;

const RSE: &str = "$request.body.action";

async fn websocket_api(admin: &mut Admin, id: &str) -> anyhow::Result<RestApi> {
    Ok(admin
        .apis
        .create_rest_api(CreateRestApiRequest {
            id: id.into(),
            name: id.into(),
            protocol: ApiProtocol::Websocket as i32,
            route_selection_expression: RSE.into(),
            ..Default::default()
        })
        .await?
        .into_inner())
}

/// A route of `api`: `key` on its root resource.
fn route(api: &RestApi, key: &str, integration: Integration) -> Method {
    Method {
        api_id: api.id.clone(),
        resource_id: api.root_resource_id.clone(),
        http_method: key.into(),
        integration: Some(integration),
        ..Default::default()
    }
}

async fn put(admin: &mut Admin, method: Method) -> Result<Method, tonic::Status> {
    admin
        .apis
        .put_method(PutMethodRequest {
            method: Some(method),
        })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_api_is_made_updated_and_deployed_through_the_admin_api() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let _node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = websocket_api(&mut admin, "chat").await?;
    assert_eq!(api.protocol(), ApiProtocol::Websocket);
    assert_eq!(api.route_selection_expression, RSE);

    // $connect authorized by a REQUEST authorizer and an API key, a
    // two-way custom route, $default and $disconnect.
    let check = admin
        .create_authorizer(Authorizer {
            identity_source: "method.request.header.X-Key".into(),
            ..authorizer(
                &api,
                "check",
                AuthorizerType::Request,
                "http://127.0.0.1:9/auth",
            )
        })
        .await?;
    put(
        &mut admin,
        Method {
            authorization_type: "CUSTOM".into(),
            authorizer_id: check.id.clone(),
            api_key_required: true,
            request_parameters: [("method.request.header.X-Key".to_string(), true)].into(),
            ..route(&api, "$connect", http_proxy("http://127.0.0.1:9/connect"))
        },
    )
    .await?;
    let send = put(
        &mut admin,
        Method {
            route_response_selection_expression: "$default".into(),
            ..route(&api, "sendMessage", mock(200, "sent"))
        },
    )
    .await?;
    assert_eq!(
        send.http_method, "sendMessage",
        "route keys keep their case"
    );
    put(
        &mut admin,
        route(&api, "$default", http_proxy("http://127.0.0.1:9/default")),
    )
    .await?;
    put(
        &mut admin,
        route(&api, "$disconnect", http_proxy("http://127.0.0.1:9/bye")),
    )
    .await?;
    // Read back by key.
    let got = admin
        .apis
        .get_method(MethodKey {
            api_id: api.id.clone(),
            resource_id: api.root_resource_id.clone(),
            http_method: "sendMessage".into(),
        })
        .await?
        .into_inner();
    assert_eq!(got.route_response_selection_expression, "$default");

    // The expression changes through UpdateRestApi, with a mask...
    let updated = admin
        .apis
        .update_rest_api(UpdateRestApiRequest {
            api_id: api.id.clone(),
            route_selection_expression: "${request.body.service}/${request.body.action}".into(),
            update_mask: mask(&["route_selection_expression"]),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(
        updated.route_selection_expression,
        "${request.body.service}/${request.body.action}"
    );
    // ...and without one, only when given: a rename keeps it.
    let renamed = admin
        .apis
        .update_rest_api(UpdateRestApiRequest {
            api_id: api.id.clone(),
            name: "chat2".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(
        renamed.route_selection_expression,
        updated.route_selection_expression
    );
    admin
        .apis
        .update_rest_api(UpdateRestApiRequest {
            api_id: api.id.clone(),
            route_selection_expression: RSE.into(),
            ..Default::default()
        })
        .await?;

    // Deployed: the deployment carries the expression and the routes, and
    // the node accepts the snapshot (it converges on the new version).
    let deployment = admin.deploy(&api, "prod").await?;
    assert_eq!(deployment.route_selection_expression, RSE);
    let mut keys: Vec<&str> = deployment
        .methods
        .iter()
        .map(|m| m.http_method.as_str())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["$connect", "$default", "$disconnect", "sendMessage"],
        "{deployment:?}"
    );
    assert_eq!(deployment.resources.len(), 1, "the root only");
    // A stage throttling a route by key.
    let mut stage = admin.stage(&api, "prod").await?;
    stage.method_settings = vec![MethodThrottle {
        resource_path: "/".into(),
        http_method: "sendMessage".into(),
        throttle: Some(ThrottleSettings {
            rate_limit: 10.0,
            burst_limit: 5,
        }),
    }];
    admin.update_stage(stage).await?;
    // A usage plan throttling a route by key on the API's stage; a verb on
    // a path is no route there.
    let plan = |resource_path: &str, http_method: &str| CreateUsagePlanRequest {
        plan: Some(UsagePlan {
            name: "gold".into(),
            api_stages: vec![UsagePlanStage {
                api_id: api.id.clone(),
                stage: "prod".into(),
                throttle: vec![MethodThrottle {
                    resource_path: resource_path.into(),
                    http_method: http_method.into(),
                    throttle: Some(ThrottleSettings {
                        rate_limit: 2.0,
                        burst_limit: 2,
                    }),
                }],
            }],
            ..Default::default()
        }),
    };
    assert_invalid(
        admin.plans.create_usage_plan(plan("/pets", "GET")).await,
        "plan.api_stages[0].throttle[0].resource_path: '/pets': WebSocket routes are all on '/'",
    );
    admin
        .plans
        .create_usage_plan(plan("/", "sendMessage"))
        .await?;
    admin.wait_converged(&["n"]).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_selection_expressions_are_required_on_websocket_apis_and_refused_elsewhere()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let create = |protocol: ApiProtocol, rse: &str| CreateRestApiRequest {
        name: "x".into(),
        protocol: protocol as i32,
        route_selection_expression: rse.into(),
        ..Default::default()
    };
    assert_invalid(
        admin
            .apis
            .create_rest_api(create(ApiProtocol::Websocket, ""))
            .await,
        "route_selection_expression: a WEBSOCKET API needs one",
    );
    assert_invalid(
        admin
            .apis
            .create_rest_api(create(ApiProtocol::Websocket, "$request.header.action"))
            .await,
        "route_selection_expression: '$' at '$request.header.action' must start $request.body.PATH",
    );
    assert_invalid(
        admin
            .apis
            .create_rest_api(create(ApiProtocol::Rest, RSE))
            .await,
        "route_selection_expression: only WEBSOCKET APIs route messages",
    );
    // The way around: clearing it on an existing WEBSOCKET API.
    let api = websocket_api(&mut admin, "chat").await?;
    assert_invalid(
        admin
            .apis
            .update_rest_api(UpdateRestApiRequest {
                api_id: api.id.clone(),
                update_mask: mask(&["route_selection_expression"]),
                ..Default::default()
            })
            .await,
        "route_selection_expression: a WEBSOCKET API needs one",
    );
    // Nothing was lost.
    let stored = admin
        .apis
        .get_rest_api(GetRestApiRequest {
            api_id: api.id.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(stored.route_selection_expression, RSE);
    assert_invalid(
        admin
            .apis
            .create_rest_api(CreateRestApiRequest {
                binary_media_types: vec!["image/png".into()],
                ..create(ApiProtocol::Websocket, RSE)
            })
            .await,
        "binary_media_types: WEBSOCKET APIs have no binary media types",
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_api_has_no_resources_and_its_routes_are_route_keys() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = websocket_api(&mut admin, "chat").await?;
    assert_invalid(
        admin
            .apis
            .create_resource(CreateResourceRequest {
                api_id: api.id.clone(),
                parent_id: api.root_resource_id.clone(),
                path_part: "rooms".into(),
            })
            .await,
        "api_id: API 'chat' is a WEBSOCKET API: it has no resources besides its root",
    );
    for (key, says) in [
        (
            "$message",
            "method.http_method: '$message' is not a route key",
        ),
        (
            "",
            "method.http_method: a WebSocket route needs a route key",
        ),
        (
            "tab\there",
            "method.http_method: route key 'tab\there' has '\\t'",
        ),
    ] {
        assert_invalid(put(&mut admin, route(&api, key, mock(200, ""))).await, says);
    }
    let long = "k".repeat(129);
    assert_invalid(
        put(&mut admin, route(&api, &long, mock(200, ""))).await,
        "method.http_method: a route key has at most 128 characters",
    );
    // The longest key is fine, and keys are not verbs: "get" stays "get".
    put(&mut admin, route(&api, &"k".repeat(128), mock(200, ""))).await?;
    let get = put(&mut admin, route(&api, "get", mock(200, ""))).await?;
    assert_eq!(get.http_method, "get");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_connect_is_authorized_and_only_by_request_authorizers() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = websocket_api(&mut admin, "chat").await?;
    // TOKEN and JWT authorizers are refused in a WEBSOCKET API, as in AWS.
    assert_invalid(
        admin
            .apis
            .create_authorizer(PutAuthorizerRequest {
                authorizer: Some(authorizer(
                    &api,
                    "tok",
                    AuthorizerType::Token,
                    "http://127.0.0.1:9/auth",
                )),
            })
            .await,
        "authorizer.type: WEBSOCKET APIs take REQUEST authorizers only, not TOKEN",
    );
    assert_invalid(
        admin
            .apis
            .create_authorizer(PutAuthorizerRequest {
                authorizer: Some(Authorizer {
                    jwt: Some(JwtConfiguration {
                        issuer: "https://idp".into(),
                        audiences: vec!["chat".into()],
                        jwks_uri: "https://idp/jwks".into(),
                        ..Default::default()
                    }),
                    ..authorizer(&api, "jwt", AuthorizerType::Jwt, "")
                }),
            })
            .await,
        "authorizer.type: WEBSOCKET APIs take REQUEST authorizers only, not JWT",
    );
    let request = admin
        .create_authorizer(Authorizer {
            identity_source: "method.request.header.X-Key".into(),
            ..authorizer(
                &api,
                "req",
                AuthorizerType::Request,
                "http://127.0.0.1:9/auth",
            )
        })
        .await?;
    // A message route cannot be authorized, nor require an API key: it
    // runs with its connection's identity.
    assert_invalid(
        put(
            &mut admin,
            Method {
                authorization_type: "CUSTOM".into(),
                authorizer_id: request.id.clone(),
                ..route(&api, "sendMessage", mock(200, ""))
            },
        )
        .await,
        "method.authorization_type: only $connect is authorized",
    );
    assert_invalid(
        put(
            &mut admin,
            Method {
                api_key_required: true,
                ..route(&api, "$default", mock(200, ""))
            },
        )
        .await,
        "method.api_key_required: only $connect is authorized",
    );
    assert_invalid(
        put(
            &mut admin,
            Method {
                authorization_type: "JWT".into(),
                authorizer_id: request.id.clone(),
                ..route(&api, "$connect", mock(200, ""))
            },
        )
        .await,
        "method.authorization_type: WEBSOCKET APIs do not take JWT authorization",
    );
    put(
        &mut admin,
        Method {
            authorization_type: "CUSTOM".into(),
            authorizer_id: request.id.clone(),
            api_key_required: true,
            ..route(&api, "$connect", mock(200, ""))
        },
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_websocket_routes_do_not_support_is_refused_with_the_reason() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = websocket_api(&mut admin, "chat").await?;
    let aws = Integration {
        r#type: IntegrationType::Aws as i32,
        uri: "arn:aws:apigateway:us-east-1:sqs:path/123456789012/chat".into(),
        http_method: "POST".into(),
        ..Default::default()
    };
    let cases: Vec<(Method, &str)> = vec![
        (
            route(&api, "sendMessage", aws.clone()),
            "method.integration.type: WebSocket routes call MOCK, HTTP, HTTP_PROXY or AWS_PROXY integrations, not AWS",
        ),
        (
            Method {
                route_response_selection_expression: "$default".into(),
                ..route(&api, "$disconnect", mock(200, ""))
            },
            "method.route_response_selection_expression: $disconnect cannot answer",
        ),
        (
            Method {
                route_response_selection_expression: "$request.body.kind".into(),
                ..route(&api, "sendMessage", mock(200, ""))
            },
            "method.route_response_selection_expression: '$request.body.kind' is not supported",
        ),
        (
            Method {
                request_models: [("$default".to_string(), "Empty".to_string())].into(),
                ..route(&api, "$connect", mock(200, ""))
            },
            "method.request_models: $connect has no message to validate",
        ),
        (
            Method {
                method_responses: vec![MethodResponse {
                    status_code: "200".into(),
                    ..Default::default()
                }],
                ..route(&api, "sendMessage", mock(200, ""))
            },
            "method.method_responses: WebSocket routes have no method_responses",
        ),
        (
            Method {
                request_parameters: [("method.request.header.X-Key".to_string(), true)].into(),
                ..route(&api, "sendMessage", mock(200, ""))
            },
            "method.request_parameters: only $connect declares request parameters",
        ),
        (
            Method {
                integration: Some(Integration {
                    cache_key_parameters: vec!["method.request.header.X-Key".into()],
                    ..http_proxy("http://127.0.0.1:9/x")
                }),
                ..route(&api, "sendMessage", mock(200, ""))
            },
            "method.integration.cache_key_parameters: WebSocket routes are not cached",
        ),
        (
            route(
                &api,
                "sendMessage",
                Integration {
                    r#type: IntegrationType::Http as i32,
                    request_parameters: [(
                        "integration.request.header.x-id".to_string(),
                        "context.connectionId".to_string(),
                    )]
                    .into(),
                    ..http_proxy("http://127.0.0.1:9/x")
                },
            ),
            "method.integration.request_parameters: WebSocket routes map no request parameters",
        ),
        (
            route(
                &api,
                "sendMessage",
                Integration {
                    r#type: IntegrationType::Http as i32,
                    integration_responses: vec![IntegrationResponse {
                        status_code: "200".into(),
                        ..Default::default()
                    }],
                    ..http_proxy("http://127.0.0.1:9/x")
                },
            ),
            "method.integration.integration_responses[0].status_code: a WebSocket route's integration response has no status",
        ),
        (
            route(
                &api,
                "sendMessage",
                Integration {
                    r#type: IntegrationType::Http as i32,
                    template_selection_expression: "${request.header.x}".into(),
                    ..http_proxy("http://127.0.0.1:9/x")
                },
            ),
            "method.integration.template_selection_expression: '${request.header.x}' cannot select a template",
        ),
    ];
    for (method, says) in cases {
        assert_invalid(put(&mut admin, method).await, says);
    }
    // The way around: PutIntegration on a route PutMethod accepted.
    put(&mut admin, route(&api, "sendMessage", mock(200, ""))).await?;
    assert_invalid(
        admin
            .apis
            .put_integration(PutIntegrationRequest {
                method: Some(MethodKey {
                    api_id: api.id.clone(),
                    resource_id: api.root_resource_id.clone(),
                    http_method: "sendMessage".into(),
                }),
                integration: Some(aws.clone()),
            })
            .await,
        "integration.type: WebSocket routes call MOCK, HTTP, HTTP_PROXY or AWS_PROXY integrations, not AWS",
    );
    admin
        .apis
        .delete_method(MethodKey {
            api_id: api.id.clone(),
            resource_id: api.root_resource_id.clone(),
            http_method: "sendMessage".into(),
        })
        .await?;
    // Outside WEBSOCKET APIs, a route response selection is refused too.
    let rest = admin.create_api("pets", ApiProtocol::Rest).await?;
    assert_invalid(
        put(
            &mut admin,
            Method {
                http_method: "GET".into(),
                route_response_selection_expression: "$default".into(),
                ..route(&rest, "GET", mock(200, ""))
            },
        )
        .await,
        "method.route_response_selection_expression: only routes of WEBSOCKET APIs",
    );
    // Nothing was stored.
    assert!(admin.list_methods(&api.id).await?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_api_without_routes_cannot_be_deployed_nor_cached_on_its_stage()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = websocket_api(&mut admin, "chat").await?;
    let status = admin
        .deploy(&api, "prod")
        .await
        .expect_err("no route")
        .downcast::<tonic::Status>()?;
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(
        status
            .message()
            .contains("WEBSOCKET API 'chat' has no routes"),
        "{}",
        status.message()
    );
    put(&mut admin, route(&api, "$default", mock(200, "hi"))).await?;
    admin.deploy(&api, "prod").await?;
    let stage = admin.stage(&api, "prod").await?;
    for (change, says) in [
        (
            Stage {
                cache_cluster_enabled: true,
                cache_cluster_size: "0.5".into(),
                ..stage.clone()
            },
            "stage.cache_cluster_enabled: a WEBSOCKET API's stage has no cache",
        ),
        (
            Stage {
                canary: Some(CanarySettings {
                    deployment_id: stage.deployment_id.clone(),
                    percent_traffic: 10.0,
                    ..Default::default()
                }),
                ..stage.clone()
            },
            "stage.canary: a WEBSOCKET API's stage has no canary",
        ),
        (
            Stage {
                method_settings: vec![MethodThrottle {
                    resource_path: "/rooms".into(),
                    http_method: "sendMessage".into(),
                    throttle: Some(ThrottleSettings {
                        rate_limit: 1.0,
                        burst_limit: 1,
                    }),
                }],
                ..stage.clone()
            },
            "stage.method_settings[0].resource_path: '/rooms': WebSocket routes are all on '/'",
        ),
    ] {
        assert_invalid(
            admin
                .deployments
                .update_stage(UpdateStageRequest {
                    stage: Some(change),
                    update_mask: None,
                })
                .await,
            says,
        );
    }
    Ok(())
}

const CHAT: &str = r#"apis:
  - name: chat
    id: chat
    protocol: WEBSOCKET
    route_selection_expression: $request.body.action
    authorizers:
      - name: check
        type: REQUEST
        uri: http://127.0.0.1:9/auth
        identity_source: method.request.header.X-Key
    routes:
      - route_key: $connect
        authorizer: check
        api_key_required: true
        integration: { type: HTTP_PROXY, uri: "http://127.0.0.1:9/connect" }
      - route_key: sendMessage
        route_response_selection_expression: $default
        integration: { type: MOCK, status: 200, body: sent }
      - route_key: $disconnect
        integration: { type: HTTP_PROXY, uri: "http://127.0.0.1:9/bye" }
      - route_key: join
        route_response_selection_expression: $default
        model_selection_expression: \$default
        request_models: { $default: Join }
        integration:
          type: HTTP
          uri: "http://127.0.0.1:9/join"
          template_selection_expression: ${request.body.kind}
          request_templates:
            member: '{"id": "$context.connectionId"}'
            $default: '{}'
          integration_responses:
            - integration_response_key: $default
              template_selection_expression: ${integration.response.statuscode}
              response_templates: { "200": "ok $input.body" }
            - integration_response_key: /4\d\d/
              response_templates: { $default: "refused" }
    stages:
      - name: prod
    models:
      - name: Join
        schema: { type: object, required: [kind] }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_f_makes_a_websocket_api_whose_export_applies_back_unchanged() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let _node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let server = cp.url();
    let mut admin = Admin::connect(&server).await?;
    let file = dir.path().join("chat.yaml");
    std::fs::write(&file, CHAT)?;
    let out = ctl(&server, &["apply", "-f", file.to_str().unwrap()]);
    for line in [
        "route chat $connect: created",
        "route chat sendMessage: created",
        "route chat $disconnect: created",
        "route chat join: created",
    ] {
        assert!(out.contains(line), "'{line}' in:\n{out}");
    }
    admin.wait_converged(&["n"]).await?;
    let methods = admin.list_methods("chat").await?;
    let send = methods
        .iter()
        .find(|m| m.http_method == "sendMessage")
        .expect("sendMessage");
    assert_eq!(send.route_response_selection_expression, "$default");
    let join = methods
        .iter()
        .find(|m| m.http_method == "join")
        .and_then(|m| m.integration.as_ref())
        .expect("join's integration");
    let join_route = methods
        .iter()
        .find(|m| m.http_method == "join")
        .expect("join");
    assert_eq!(join_route.model_selection_expression, r"\$default");
    assert_eq!(join_route.request_models["$default"], "Join");
    assert_eq!(join.template_selection_expression, "${request.body.kind}");
    assert_eq!(join.request_templates.len(), 2);
    let keys: Vec<&str> = join
        .integration_responses
        .iter()
        .map(|r| r.integration_response_key.as_str())
        .collect();
    assert_eq!(keys, ["$default", r"/4\d\d/"]);
    assert_eq!(
        join.integration_responses[0].template_selection_expression,
        "${integration.response.statuscode}"
    );
    let api = admin
        .apis
        .get_rest_api(GetRestApiRequest {
            api_id: "chat".into(),
        })
        .await?
        .into_inner();
    assert!(
        methods
            .iter()
            .all(|m| m.resource_id == api.root_resource_id)
    );
    let deployments = admin.list_deployments("chat").await?;
    assert_eq!(deployments.len(), 1);

    // Unchanged when applied again; a changed route is named by its key.
    assert_eq!(
        ctl(&server, &["apply", "-f", file.to_str().unwrap()]).trim(),
        "unchanged"
    );
    std::fs::write(&file, CHAT.replace("body: sent", "body: ok"))?;
    let diff = ctl(&server, &["diff", "-f", file.to_str().unwrap()]);
    assert!(diff.contains("route chat sendMessage: updated"), "{diff}");

    // `get` lists routes by key, with the expression.
    let shown = ctl(&server, &["get", "api", "chat"]);
    assert!(
        shown.contains("ROUTE BY    $request.body.action"),
        "{shown}"
    );
    assert!(shown.contains("ROUTE KEY"), "{shown}");
    let send_line = shown
        .lines()
        .find(|l| l.starts_with("sendMessage"))
        .unwrap_or_else(|| panic!("a sendMessage row: {shown}"));
    assert!(send_line.contains("two-way"), "{send_line}");

    // The export writes route keys back; on an empty control plane it
    // applies to the same export, and applied again changes nothing.
    let exported = dir.path().join("exported.yaml");
    ctl(&server, &["export", "-o", exported.to_str().unwrap()]);
    let text = std::fs::read_to_string(&exported)?;
    for needle in [
        "protocol: WEBSOCKET",
        "route_selection_expression: $request.body.action",
        "route_key: sendMessage",
        "route_response_selection_expression: $default",
        "template_selection_expression: ${request.body.kind}",
        "integration_response_key: $default",
        "model_selection_expression: \\$default",
    ] {
        assert!(text.contains(needle), "'{needle}' in:\n{text}");
    }
    assert!(!text.contains("path: /"), "no paths:\n{text}");
    let second = ControlPlane::start(&dir.path().join("second"))?;
    ctl(&second.url(), &["apply", "-f", exported.to_str().unwrap()]);
    assert_eq!(ctl(&second.url(), &["export"]), text);
    assert_eq!(
        ctl(&second.url(), &["apply", "-f", exported.to_str().unwrap()]).trim(),
        "unchanged"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_refuses_paths_and_bad_keys_in_websocket_apis_at_their_lines()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let server = cp.url();
    let file = dir.path().join("bad.yaml");
    let bad = CHAT
        .replace(
            "      - route_key: sendMessage\n",
            "      - route_key: sendMessage\n        path: /send\n",
        )
        .replace("route_key: $disconnect", "route_key: $bye")
        .replace(
            "    routes:\n",
            "    routes:\n      - { path: /x, method: GET, integration: { type: MOCK } }\n",
        );
    std::fs::write(&file, &bad)?;
    let run = ctl_run(&server, &["apply", "-f", file.to_str().unwrap()]);
    let f = file.display();
    let err = run.assert_refused(&[
        &format!("{f}:12:"),
        "apis[0].routes[0].path: a WEBSOCKET API's routes have a route_key, not a path and method",
        &format!("{f}:18:"),
        "apis[0].routes[2].path: a WEBSOCKET API's routes have a route_key",
        "apis[0].routes[3].route_key: '$bye' is not a route key",
    ]);
    assert!(err.contains("3 error(s); nothing was changed"), "{err}");
    // Nothing was made.
    let admin = Admin::connect(&server).await?;
    assert!(admin.list_apis().await?.is_empty());
    // A route key in a REST API is refused too.
    let rest = "apis:\n  - name: pets\n    routes:\n      - { route_key: sendMessage, integration: { type: MOCK } }\n";
    std::fs::write(&file, rest)?;
    ctl_run(&server, &["apply", "-f", file.to_str().unwrap()]).assert_refused(&[
        "apis[0].routes[0].route_key: only WEBSOCKET APIs' routes have a route key",
    ]);
    // Without a route selection expression.
    std::fs::write(
        &file,
        CHAT.replace("    route_selection_expression: $request.body.action\n", ""),
    )?;
    ctl_run(&server, &["apply", "-f", file.to_str().unwrap()])
        .assert_refused(&["apis[0].route_selection_expression: a WEBSOCKET API needs one"]);
    assert!(admin.list_apis().await?.is_empty());
    Ok(())
}
