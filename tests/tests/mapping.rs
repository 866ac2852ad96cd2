//! Mapping templates end to end, configured through the real gRPC admin
//! API and served by a real node: an HTTP (non-proxy) integration reshapes
//! the request to a real upstream (which echoes what it received) and the
//! upstream's answer back, a failing upstream's status selecting the error
//! response; a MOCK integration answers from its templates;
//! REST-style CORS is an OPTIONS MOCK method whose integration response
//! maps constant `Access-Control-*` headers.

use archway_e2e::admin::string_map;
use archway_e2e::{started_with_node, upstream};
use archway_proto::v1::*;
use http::StatusCode;
use std::collections::BTreeMap;

fn declared(names: &[&str]) -> BTreeMap<String, bool> {
    names.iter().map(|k| (k.to_string(), false)).collect()
}

fn method_response(status: &str, headers: &[&str]) -> MethodResponse {
    MethodResponse {
        status_code: status.into(),
        response_parameters: declared(headers),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_mock_and_cors_methods_map_requests_and_responses() -> anyhow::Result<()> {
    let backend = upstream::start("orders").await;
    let (_dir, _cp, node, mut admin) = started_with_node("map", &[]).await?;
    let api = admin.create_api("maps", ApiProtocol::Rest).await?;

    // HTTP non-proxy: the request template reshapes the body, mappings set
    // a header, a query parameter and the URI's path parameter; the
    // response template reshapes the upstream's echo.
    let ok = IntegrationResponse {
        status_code: "200".into(),
        response_parameters: string_map(&[
            (
                "method.response.header.X-Upstream",
                "integration.response.header.x-upstream",
            ),
            (
                "method.response.header.X-Order",
                "integration.response.body.path",
            ),
        ]),
        response_templates: string_map(&[(
            "application/json",
            r#"#set($echo = $input.path('$'))
#set($sent = $util.parseJson($echo.body))
{
  "backendPath": "$echo.path",
  "backendQuery": "$echo.query",
  "customer": "$echo.headers.get('x-customer')",
  "sent": $echo.body,
  "firstSku": "$util.escapeJavaScript($sent.items[0].sku)",
  "stage": "$context.stage"
}"#,
        )]),
        ..Default::default()
    };
    let failed = IntegrationResponse {
        status_code: "502".into(),
        selection_pattern: "5\\d\\d".into(),
        response_templates: string_map(&[(
            "application/json",
            r#"{"error": "the backend failed"}"#,
        )]),
        ..Default::default()
    };
    admin
        .put_route(
            &api,
            "/orders/{id}",
            Method {
                http_method: "POST".into(),
                request_parameters: declared(&[
                    "method.request.path.id",
                    "method.request.header.x-customer",
                ]),
                method_responses: vec![
                    method_response(
                        "200",
                        &[
                            "method.response.header.X-Upstream",
                            "method.response.header.X-Order",
                        ],
                    ),
                    method_response("502", &[]),
                ],
                integration: Some(Integration {
                    r#type: IntegrationType::Http as i32,
                    http_method: "PUT".into(),
                    uri: format!("http://{}/backend/{{orderId}}", backend.addr),
                    request_parameters: string_map(&[
                        ("integration.request.path.orderId", "method.request.path.id"),
                        (
                            "integration.request.header.x-customer",
                            "method.request.header.x-customer",
                        ),
                        ("integration.request.querystring.source", "'archway'"),
                    ]),
                    request_templates: string_map(&[(
                        "application/json",
                        r#"#set($order = $input.path('$'))
{"items": [
#foreach($line in $order.lines)
  {"sku": "$util.escapeJavaScript($line.sku)", "qty": $line.qty}#if($foreach.hasNext),#end
#end
], "count": $order.lines.size()}"#,
                    )]),
                    passthrough_behavior: PassthroughBehavior::Never as i32,
                    integration_responses: vec![ok, failed.clone()],
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await?;
    // The same error mapping where the backend fails: its 503 selects the
    // 502 integration response by status.
    admin
        .put_route(
            &api,
            "/broken",
            Method {
                http_method: "GET".into(),
                method_responses: vec![method_response("200", &[]), method_response("502", &[])],
                integration: Some(Integration {
                    r#type: IntegrationType::Http as i32,
                    http_method: "GET".into(),
                    uri: format!("http://{}/status/503", backend.addr),
                    integration_responses: vec![
                        IntegrationResponse {
                            status_code: "200".into(),
                            ..Default::default()
                        },
                        failed,
                    ],
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await?;

    // MOCK with templates: the request template's statusCode picks the
    // integration response.
    admin
        .put_route(
            &api,
            "/pets/{petId}",
            Method {
                http_method: "GET".into(),
                method_responses: vec![method_response("200", &[]), method_response("404", &[])],
                integration: Some(Integration {
                    r#type: IntegrationType::Mock as i32,
                    request_templates: string_map(&[(
                        "application/json",
                        r#"{"statusCode": #if($input.params('petId') == '1')200#{else}404#end}"#,
                    )]),
                    integration_responses: vec![
                        IntegrationResponse {
                            status_code: "200".into(),
                            response_templates: string_map(&[(
                                "application/json",
                                r#"{"id": $input.params('petId'), "name": "Rex"}"#,
                            )]),
                            ..Default::default()
                        },
                        IntegrationResponse {
                            status_code: "404".into(),
                            selection_pattern: "404".into(),
                            response_templates: string_map(&[(
                                "application/json",
                                r#"{"message": "no pet $input.params('petId')"}"#,
                            )]),
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await?;

    // REST CORS: OPTIONS answered by a MOCK whose integration response maps
    // constant headers.
    let cors = [
        "method.response.header.Access-Control-Allow-Origin",
        "method.response.header.Access-Control-Allow-Methods",
        "method.response.header.Access-Control-Allow-Headers",
    ];
    admin
        .put_route(
            &api,
            "/pets/{petId}",
            Method {
                http_method: "OPTIONS".into(),
                method_responses: vec![method_response("200", &cors)],
                integration: Some(Integration {
                    r#type: IntegrationType::Mock as i32,
                    request_templates: string_map(&[(
                        "application/json",
                        r#"{"statusCode": 200}"#,
                    )]),
                    integration_responses: vec![IntegrationResponse {
                        status_code: "200".into(),
                        response_parameters: string_map(&[
                            (cors[0], "'*'"),
                            (cors[1], "'GET,OPTIONS'"),
                            (cors[2], "'Content-Type,X-Api-Key'"),
                        ]),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["map"]).await?;

    let json = [("content-type", "application/json"), ("x-customer", "ann")];
    let order = r#"{"lines": [{"sku": "a\"1", "qty": 2}, {"sku": "b2", "qty": 1}]}"#;
    let answer = node
        .send("maps", "POST", "/prod/orders/77", &json, order)
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.headers["x-upstream"], "yes");
    assert_eq!(answer.headers["x-order"], "/backend/77");
    assert_eq!(
        answer.json(),
        serde_json::json!({
            "backendPath": "/backend/77",
            "backendQuery": "source=archway",
            "customer": "ann",
            "sent": {"items": [{"sku": "a\"1", "qty": 2}, {"sku": "b2", "qty": 1}], "count": 2},
            "firstSku": "a\"1",
            "stage": "prod"
        })
    );
    assert_eq!(backend.hits.load(std::sync::atomic::Ordering::Relaxed), 1);

    // NEVER passes a body it has no template for: 415, the backend untouched.
    let answer = node
        .send(
            "maps",
            "POST",
            "/prod/orders/77",
            &[("content-type", "text/plain")],
            "x",
        )
        .await?;
    assert_eq!(
        answer.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        answer.body
    );
    assert_eq!(backend.hits.load(std::sync::atomic::Ordering::Relaxed), 1);

    let answer = node.send("maps", "GET", "/prod/broken", &[], "").await?;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{}", answer.body);
    assert_eq!(
        answer.json(),
        serde_json::json!({"error": "the backend failed"})
    );
    assert_eq!(backend.hits.load(std::sync::atomic::Ordering::Relaxed), 2);

    let answer = node.send("maps", "GET", "/prod/pets/1", &[], "").await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.json(), serde_json::json!({"id": 1, "name": "Rex"}));
    let answer = node.send("maps", "GET", "/prod/pets/9", &[], "").await?;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);
    assert_eq!(answer.json(), serde_json::json!({"message": "no pet 9"}));

    let answer = node
        .send(
            "maps",
            "OPTIONS",
            "/prod/pets/1",
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "GET"),
            ],
            "",
        )
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.headers["access-control-allow-origin"], "*");
    assert_eq!(
        answer.headers["access-control-allow-methods"],
        "GET,OPTIONS"
    );
    assert_eq!(
        answer.headers["access-control-allow-headers"],
        "Content-Type,X-Api-Key"
    );
    Ok(())
}
