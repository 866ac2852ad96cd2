//! AWS service integrations against moto in server mode, started on a free
//! loopback port: HTTP APIs' integration subtypes (SQS-SendMessage,
//! EventBridge-PutEvents, StepFunctions-StartExecution) configured through
//! the gRPC API, a request through Archway, and what landed read back with
//! botocore; and the REST `AWS` integrations' call (`aws::call`, an
//! `action/` URI) straight against moto.

use archway_e2e::admin::string_map;
use archway_e2e::moto::Moto;
use archway_proto::v1::*;
use http::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

fn subtype(name: &str, params: &[(&str, &str)]) -> Integration {
    Integration {
        r#type: IntegrationType::AwsProxy as i32,
        integration_subtype: name.into(),
        payload_format_version: "1.0".into(),
        request_parameters: string_map(params),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subtypes_land_messages_events_and_executions_in_moto() -> anyhow::Result<()> {
    let moto = Moto::start().await?;
    let setup = moto.client("setup", json!({})).await?;
    let queue_url = setup["queue_url"].as_str().unwrap().to_owned();
    let machine = setup["state_machine_arn"].as_str().unwrap().to_owned();

    let (_dir, _cp, node, mut admin) = archway_e2e::started_with_node_env(
        "svc",
        // One endpoint for every service, as moto serves them.
        &["--aws-endpoint", &moto.url()],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIAMOTOTEST00000001"),
            ("AWS_SECRET_ACCESS_KEY", "moto-secret"),
        ],
    )
    .await?;
    let api = admin.create_api("svc", ApiProtocol::Http).await?;
    admin
        .route(
            &api,
            "/orders",
            "POST",
            subtype(
                "SQS-SendMessage",
                &[
                    ("QueueUrl", &queue_url),
                    ("MessageBody", "$request.body"),
                    ("Region", "us-east-1"),
                ],
            ),
        )
        .await?;
    admin
        .route(
            &api,
            "/events",
            "POST",
            subtype(
                "EventBridge-PutEvents",
                &[
                    ("Source", "archway.test"),
                    ("DetailType", "$request.header.x-detail-type"),
                    ("Detail", "$request.body"),
                ],
            ),
        )
        .await?;
    admin
        .route(
            &api,
            "/flows/{name}",
            "POST",
            subtype(
                "StepFunctions-StartExecution",
                &[
                    ("StateMachineArn", &machine),
                    ("Name", "$request.path.name"),
                    ("Input", "$request.body.input"),
                ],
            ),
        )
        .await?;
    admin
        .route(
            &api,
            "/nowhere",
            "POST",
            subtype(
                "SQS-SendMessage",
                &[
                    ("QueueUrl", &format!("{}/123456789012/missing", moto.url())),
                    ("MessageBody", "$request.body"),
                ],
            ),
        )
        .await?;
    // A $context variable a subtype parameter reads is the one templates
    // read (one per-request view): $context.protocol, which only the
    // template side had.
    admin
        .route(
            &api,
            "/context",
            "POST",
            subtype(
                "SQS-SendMessage",
                &[
                    ("QueueUrl", &queue_url),
                    ("MessageBody", "$context.protocol"),
                    ("Region", "us-east-1"),
                ],
            ),
        )
        .await?;
    // A Region mapped from the request: a value that is not a region is
    // refused before any call.
    admin
        .route(
            &api,
            "/regional",
            "POST",
            subtype(
                "SQS-SendMessage",
                &[
                    ("QueueUrl", &queue_url),
                    ("MessageBody", "$request.body"),
                    ("Region", "$request.header.x-region"),
                ],
            ),
        )
        .await?;
    admin.deploy(&api, "v1").await?;
    admin.wait_converged(&["svc"]).await?;

    // SQS: the message lands on the queue.
    let answer = node
        .send("svc", "POST", "/v1/orders", &[], r#"{"order":42}"#)
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.json()["MessageId"].is_string(), "{}", answer.body);
    let bodies = moto
        .client("receive", json!({"queue_url": queue_url}))
        .await?;
    assert_eq!(bodies, json!([r#"{"order":42}"#]));

    let answer = node.send("svc", "POST", "/v1/context", &[], "").await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let bodies = moto
        .client("receive", json!({"queue_url": queue_url}))
        .await?;
    assert_eq!(bodies, json!(["HTTP/1.1"]));

    // A request-supplied Region cannot pick the host: 400, nothing sent.
    for region in ["x@127.0.0.1:1/", "evil.example/", "US-EAST-1"] {
        let answer = node
            .send("svc", "POST", "/v1/regional", &[("x-region", region)], "r")
            .await?;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{region}: {}",
            answer.body
        );
    }
    let answer = node
        .send(
            "svc",
            "POST",
            "/v1/regional",
            &[("x-region", "us-east-1")],
            "ok",
        )
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let bodies = moto
        .client("receive", json!({"queue_url": queue_url}))
        .await?;
    assert_eq!(
        bodies,
        json!(["ok"]),
        "only the valid region's message was sent"
    );

    // EventBridge: the event matches the rule and reaches its queue.
    let answer = node
        .send(
            "svc",
            "POST",
            "/v1/events",
            &[("x-detail-type", "OrderPlaced")],
            r#"{"id":7}"#,
        )
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.json()["FailedEntryCount"], 0, "{}", answer.body);
    let delivered = moto
        .client("receive", json!({"queue_url": setup["events_queue_url"]}))
        .await?;
    let event: Value = serde_json::from_str(delivered[0].as_str().unwrap())?;
    assert_eq!(event["source"], "archway.test");
    assert_eq!(event["detail-type"], "OrderPlaced");
    assert_eq!(event["detail"], json!({"id": 7}));

    // Step Functions: an execution named from the path, with the input.
    let answer = node
        .send(
            "svc",
            "POST",
            "/v1/flows/run-1",
            &[],
            r#"{"input":"{\"n\":1}"}"#,
        )
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        answer.json()["executionArn"]
            .as_str()
            .unwrap()
            .contains("run-1")
    );
    let executions = moto
        .client("executions", json!({"state_machine_arn": machine}))
        .await?;
    assert_eq!(executions[0]["name"], "run-1");
    assert_eq!(executions[0]["input"], r#"{"n":1}"#);

    // The service's refusal is passed back, status and body.
    let answer = node.send("svc", "POST", "/v1/nowhere", &[], "x").await?;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert!(answer.body.contains("QueueDoesNotExist"), "{}", answer.body);
    Ok(())
}

/// REST APIs' `AWS` integrations: the mapping flow hands the rendered
/// request to `aws::call`; here it is called directly with what a request
/// template for SQS's query protocol renders. moto's server does not check
/// signatures by default, so this proves the call and its answer, not the
/// signing (functions.rs checks signatures against `archway_e2e::lambda`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_aws_action_calls_are_answered() -> anyhow::Result<()> {
    use archway_data_plane::aws::credentials::OutboundCredentials;
    use archway_data_plane::aws::integration::CallSettings;
    use archway_data_plane::aws::{AwsOutbound, RenderedRequest, call, endpoints::Endpoints};
    let moto = Moto::start().await?;
    let setup = moto.client("setup", json!({})).await?;
    let queue_url = setup["queue_url"].as_str().unwrap().to_owned();
    let table = OutboundCredentials::compile(&[OutboundCredential {
        name: "sender".into(),
        role_arn: "arn:aws:iam::123456789012:role/sender".into(),
        access_key_id: "AKIAMOTOTEST00000002".into(),
        secret_access_key: "moto-secret-2".into(),
        ..Default::default()
    }])
    .map_err(anyhow::Error::msg)?;
    let aws = AwsOutbound::new(
        Default::default(),
        Endpoints::new([moto.url().as_str()], None).map_err(anyhow::Error::msg)?,
        None,
    );
    let target = archway_proto::rules::aws_arn::aws_target(
        "arn:aws:apigateway:us-east-1:sqs:action/SendMessage",
    )
    .map_err(anyhow::Error::msg)?;
    let settings = CallSettings::of(&Integration {
        credentials: "arn:aws:iam::123456789012:role/sender".into(),
        timeout_ms: 5000,
        ..Default::default()
    });
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("QueueUrl", queue_url.as_str()),
            ("MessageBody", "from a template"),
            ("Version", "2012-11-05"),
        ])
        .finish();
    let answer = call(
        &aws,
        &table,
        &target,
        &settings,
        RenderedRequest {
            method: http::Method::POST,
            headers: Default::default(),
            query: &[],
            path_params: &[],
            body: body.into(),
        },
    )
    .await?;
    let text = String::from_utf8_lossy(&answer.answer.body).into_owned();
    assert_eq!(answer.answer.status, StatusCode::OK, "{text}");
    assert!(text.contains("SendMessageResponse"), "{text}");
    assert!(answer.function_error.is_none());
    let bodies = moto
        .client("receive", json!({"queue_url": queue_url}))
        .await?;
    assert_eq!(bodies, json!(["from a template"]));

    // Credentials the node does not hold are refused before any call.
    let unknown = CallSettings::of(&Integration {
        credentials: "arn:aws:iam::123456789012:role/other".into(),
        ..Default::default()
    });
    let refused = call(
        &aws,
        &table,
        &target,
        &unknown,
        RenderedRequest {
            method: http::Method::POST,
            headers: Default::default(),
            query: &[],
            path_params: &[],
            body: Default::default(),
        },
    )
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("role/other"), "{refused}");
    Ok(())
}

/// An HTTP API's service call sees its route's key in `$context.routeKey`
/// (`POST /queue`), as AWS gives it; it was empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_parameters_read_the_route_key() -> anyhow::Result<()> {
    let moto = Moto::start().await?;
    let setup = moto.client("setup", json!({})).await?;
    let queue_url = setup["queue_url"].as_str().unwrap().to_owned();
    let (_dir, _cp, node, mut admin) = archway_e2e::started_with_node_env(
        "svc",
        &["--aws-endpoint", &moto.url()],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIAMOTOTEST00000001"),
            ("AWS_SECRET_ACCESS_KEY", "moto-secret"),
        ],
    )
    .await?;
    let api = admin.create_api("keys", ApiProtocol::Http).await?;
    admin
        .route(
            &api,
            "/queue",
            "POST",
            subtype(
                "SQS-SendMessage",
                &[
                    ("QueueUrl", &queue_url),
                    ("MessageBody", "route=${context.routeKey}"),
                    ("Region", "us-east-1"),
                ],
            ),
        )
        .await?;
    admin.deploy(&api, "v1").await?;
    admin.wait_converged(&["svc"]).await?;
    let answer = node.send("keys", "POST", "/v1/queue", &[], "").await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let bodies = moto
        .client("receive", json!({"queue_url": queue_url}))
        .await?;
    assert_eq!(bodies, json!(["route=POST /queue"]));
    Ok(())
}

/// A route's path, its subtype and the subtype's parameters.
type Route<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// The subtypes moto serves beyond those above, each through Archway and
/// checked with botocore: SQS-ReceiveMessage hands out a message that
/// SQS-DeleteMessage then removes with its receipt handle; SQS-PurgeQueue
/// empties a queue; Kinesis-PutRecord lands a record (its data sent as a
/// blob, read back decoded); StepFunctions-StopExecution aborts an
/// execution that StepFunctions-StartExecution started.
///
/// Not here, as moto does not serve them: StepFunctions-StartSyncExecution
/// (its Step Functions responses have no StartSyncExecution) and
/// AppConfig-GetConfiguration (moto serves AppConfig's configuration
/// profiles and hosted versions, not the deprecated
/// `/applications/{a}/environments/{e}/configurations/{c}` call).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_delete_purge_put_record_and_stop_execution_in_moto() -> anyhow::Result<()> {
    let moto = Moto::start().await?;
    let setup = moto.client("setup", json!({})).await?;
    let machine = setup["state_machine_arn"].as_str().unwrap().to_owned();
    let work = moto.client("create_queue", json!({"name": "work"})).await?;
    let work = work.as_str().unwrap().to_owned();
    let purged = moto
        .client("create_queue", json!({"name": "purged"}))
        .await?;
    let purged = purged.as_str().unwrap().to_owned();
    let stream = moto
        .client("create_stream", json!({"name": "clicks"}))
        .await?;
    let stream = stream.as_str().unwrap().to_owned();

    let (_dir, _cp, node, mut admin) = archway_e2e::started_with_node_env(
        "svc",
        &["--aws-endpoint", &moto.url()],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIAMOTOTEST00000001"),
            ("AWS_SECRET_ACCESS_KEY", "moto-secret"),
        ],
    )
    .await?;
    let api = admin.create_api("more", ApiProtocol::Http).await?;
    let routes: [Route<'_>; 6] = [
        (
            "/receive",
            "SQS-ReceiveMessage",
            &[("QueueUrl", &work), ("MaxNumberOfMessages", "1")],
        ),
        (
            "/delete",
            "SQS-DeleteMessage",
            &[
                ("QueueUrl", &work),
                ("ReceiptHandle", "$request.body.handle"),
            ],
        ),
        ("/purge", "SQS-PurgeQueue", &[("QueueUrl", &purged)]),
        (
            "/clicks/{key}",
            "Kinesis-PutRecord",
            &[
                ("StreamName", &stream),
                ("Data", "$request.body"),
                ("PartitionKey", "$request.path.key"),
            ],
        ),
        (
            "/start",
            "StepFunctions-StartExecution",
            &[
                ("StateMachineArn", &machine),
                ("Name", "$request.header.x-name"),
            ],
        ),
        (
            "/stop",
            "StepFunctions-StopExecution",
            &[
                ("ExecutionArn", "$request.body.arn"),
                ("Cause", "$request.header.x-cause"),
            ],
        ),
    ];
    for (path, name, params) in routes {
        admin
            .route(&api, path, "POST", subtype(name, params))
            .await?;
    }
    admin.deploy(&api, "v1").await?;
    admin.wait_converged(&["svc"]).await?;

    // ReceiveMessage, then DeleteMessage with its receipt handle.
    moto.client("send", json!({"queue_url": work, "body": "job-1"}))
        .await?;
    let answer = node.send("more", "POST", "/v1/receive", &[], "").await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let message = &answer.json()["Messages"][0];
    assert_eq!(message["Body"], "job-1", "{}", answer.body);
    let handle = message["ReceiptHandle"].as_str().unwrap().to_owned();
    let size = moto
        .client("queue_size", json!({"queue_url": work}))
        .await?;
    assert_eq!(size, 1, "received, not yet deleted");
    let answer = node
        .send(
            "more",
            "POST",
            "/v1/delete",
            &[],
            json!({"handle": handle}).to_string(),
        )
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let size = moto
        .client("queue_size", json!({"queue_url": work}))
        .await?;
    assert_eq!(size, 0, "deleted");

    // PurgeQueue.
    for body in ["a", "b"] {
        moto.client("send", json!({"queue_url": purged, "body": body}))
            .await?;
    }
    let size = moto
        .client("queue_size", json!({"queue_url": purged}))
        .await?;
    assert_eq!(size, 2);
    let answer = node.send("more", "POST", "/v1/purge", &[], "").await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let size = moto
        .client("queue_size", json!({"queue_url": purged}))
        .await?;
    assert_eq!(size, 0, "purged");

    // Kinesis-PutRecord: the body is the record's data.
    let answer = node
        .send("more", "POST", "/v1/clicks/user-7", &[], "clicked")
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        answer.json()["SequenceNumber"].is_string(),
        "{}",
        answer.body
    );
    let records = moto
        .client("records", json!({"stream_name": stream}))
        .await?;
    assert_eq!(
        records,
        json!([{"data": "clicked", "partition_key": "user-7"}])
    );

    // StopExecution aborts what StartExecution started.
    let answer = node
        .send("more", "POST", "/v1/start", &[("x-name", "to-stop")], "")
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let arn = answer.json()["executionArn"].as_str().unwrap().to_owned();
    let answer = node
        .send(
            "more",
            "POST",
            "/v1/stop",
            &[("x-cause", "test over")],
            json!({"arn": arn}).to_string(),
        )
        .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.json()["stopDate"].is_number(), "{}", answer.body);
    let executions = moto
        .client("executions", json!({"state_machine_arn": machine}))
        .await?;
    assert_eq!(executions[0]["name"], "to-stop");
    assert_eq!(executions[0]["status"], "ABORTED");
    Ok(())
}

/// A REST API as an S3 proxy, as AWS's tutorial builds one: `PUT` and
/// `GET /{folder}/{item}` call `arn:aws:apigateway:…:s3:path/{bucket}/{key}`
/// with the path parameters mapped, signed with an outbound credential.
/// moto checks every signature (it is started with auth on after its
/// setup), so an S3 request signed the way other services are signed
/// (the path encoded twice, no `x-amz-content-sha256`) is refused: a key
/// with a space and a binary object go in and come back, and a credential
/// with the wrong secret gets S3's `SignatureDoesNotMatch`, mapped to 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_s3_path_integrations_store_and_read_objects_signed_as_s3() -> anyhow::Result<()> {
    // s3_setup's four calls go unchecked; every later one is checked.
    let moto = Moto::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "4")]).await?;
    let key = moto.client("s3_setup", json!({"bucket": "photos"})).await?;
    let key_id = key["access_key_id"].as_str().unwrap().to_owned();
    let secret = key["secret_access_key"].as_str().unwrap().to_owned();

    let (_dir, _cp, node, mut admin) =
        archway_e2e::started_with_node("s3", &["--aws-endpoint", &moto.url()]).await?;
    for (name, secret) in [
        ("s3-writer", secret.as_str()),
        ("s3-wrong", "not-the-secret"),
    ] {
        admin
            .iam
            .put_outbound_credential(PutOutboundCredentialRequest {
                credential: Some(OutboundCredential {
                    name: name.into(),
                    access_key_id: key_id.clone(),
                    secret_access_key: secret.into(),
                    ..Default::default()
                }),
            })
            .await?;
    }
    let api = admin
        .apis
        .create_rest_api(CreateRestApiRequest {
            id: "files".into(),
            name: "files".into(),
            protocol: ApiProtocol::Rest as i32,
            binary_media_types: vec!["image/png".into()],
            ..Default::default()
        })
        .await?
        .into_inner();
    let declared = |names: &[&str]| names.iter().map(|n| (n.to_string(), true)).collect();
    let responses = |statuses: &[&str]| {
        statuses
            .iter()
            .map(|s| MethodResponse {
                status_code: s.to_string(),
                response_parameters: declared(&["method.response.header.Content-Type"]),
                ..Default::default()
            })
            .collect()
    };
    // 2xx by default; S3's 403 by its status, as AWS's tutorial maps it.
    let integration_responses = || {
        [("200", ""), ("403", "403")]
            .iter()
            .map(|(status, pattern)| IntegrationResponse {
                status_code: status.to_string(),
                selection_pattern: pattern.to_string(),
                response_parameters: string_map(&[(
                    "method.response.header.Content-Type",
                    "integration.response.header.Content-Type",
                )]),
                ..Default::default()
            })
            .collect()
    };
    let s3_method = |verb: &str, credentials: &str| Method {
        http_method: verb.into(),
        request_parameters: declared(&[
            "method.request.path.folder",
            "method.request.path.item",
            "method.request.header.Content-Type",
        ]),
        method_responses: responses(&["200", "403"]),
        integration: Some(Integration {
            r#type: IntegrationType::Aws as i32,
            http_method: verb.into(),
            uri: "arn:aws:apigateway:us-east-1:s3:path/{bucket}/{key}".into(),
            credentials: credentials.into(),
            request_parameters: string_map(&[
                (
                    "integration.request.path.bucket",
                    "method.request.path.folder",
                ),
                ("integration.request.path.key", "method.request.path.item"),
                (
                    "integration.request.header.Content-Type",
                    "method.request.header.Content-Type",
                ),
            ]),
            integration_responses: integration_responses(),
            timeout_ms: 10_000,
            ..Default::default()
        }),
        ..Default::default()
    };
    admin
        .put_route(&api, "/{folder}/{item}", s3_method("PUT", "s3-writer"))
        .await?;
    admin
        .put_route(&api, "/{folder}/{item}", s3_method("GET", "s3-writer"))
        .await?;
    admin
        .put_route(&api, "/wrong/{folder}/{item}", s3_method("PUT", "s3-wrong"))
        .await?;
    admin.deploy(&api, "v1").await?;

    let text = [("content-type", "text/plain")];
    let put = node
        .send(
            "files",
            "PUT",
            "/v1/photos/my%20notes.txt",
            &text,
            "hello, S3",
        )
        .await?;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    // Not UTF-8: it travels as bytes, as a binary media type.
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe";
    let put = node
        .send(
            "files",
            "PUT",
            "/v1/photos/pic.png",
            &[("content-type", "image/png")],
            png,
        )
        .await?;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);

    let stored = moto
        .client(
            "s3_objects",
            json!({"bucket": "photos", "access_key_id": key_id, "secret_access_key": secret}),
        )
        .await?;
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    assert_eq!(
        stored,
        json!({"my notes.txt": b64(b"hello, S3"), "pic.png": b64(png)})
    );

    let got = node
        .send("files", "GET", "/v1/photos/my%20notes.txt", &[], "")
        .await?;
    assert_eq!(
        (got.status, got.body.as_str()),
        (StatusCode::OK, "hello, S3")
    );
    assert_eq!(got.headers["content-type"], "text/plain");
    let got = node
        .send(
            "files",
            "GET",
            "/v1/photos/pic.png",
            &[("accept", "image/png")],
            "",
        )
        .await?;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(got.body, String::from_utf8_lossy(png));

    let refused = node
        .send("files", "PUT", "/v1/wrong/photos/x.txt", &text, "no")
        .await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(
        refused.body.contains("SignatureDoesNotMatch"),
        "{}",
        refused.body
    );
    Ok(())
}

/// AWS's DynamoDB-proxy tutorial: a REST `AWS` integration to
/// `…:dynamodb:action/PutItem` whose request template writes the item.
/// DynamoDB speaks only its JSON protocol, so the action goes as
/// `X-Amz-Target: DynamoDB_20120810.PutItem` with
/// `application/x-amz-json-1.0` to `POST /` (as AWS API Gateway sends it),
/// not as a query-protocol `?Action=PutItem`: the item lands in moto's
/// table, and a recording server sees the request's shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_actions_of_json_protocol_services_use_x_amz_target() -> anyhow::Result<()> {
    let moto = Moto::start().await?;
    moto.client("create_table", json!({"name": "pets"})).await?;
    let recorded = Arc::new(Mutex::new(Vec::<http::Request<bytes::Bytes>>::new()));
    let recorder = archway_e2e::serve::spawn(None, {
        let recorded = recorded.clone();
        move |req| {
            recorded.lock().unwrap().push(req);
            async { archway_e2e::serve::answer(200, "{}") }
        }
    })
    .await;
    let (_dir, _cp, node, mut admin) = archway_e2e::started_with_node_env(
        "ddb",
        &["--aws-endpoint", &moto.url()],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIAMOTOTEST00000001"),
            ("AWS_SECRET_ACCESS_KEY", "moto-secret"),
        ],
    )
    .await?;
    let api = admin.create_api("pets", ApiProtocol::Rest).await?;
    let put_item = |endpoint_url: String| Method {
        http_method: "POST".into(),
        method_responses: vec![MethodResponse {
            status_code: "200".into(),
            ..Default::default()
        }],
        integration: Some(Integration {
            r#type: IntegrationType::Aws as i32,
            http_method: "POST".into(),
            uri: "arn:aws:apigateway:us-east-1:dynamodb:action/PutItem".into(),
            endpoint_url,
            request_templates: string_map(&[(
                "application/json",
                r#"{"TableName": "pets", "Item": {
  "id": {"S": "$input.path('$.id')"},
  "name": {"S": "$util.escapeJavaScript($input.path('$.name'))"}
}}"#,
            )]),
            integration_responses: vec![IntegrationResponse {
                status_code: "200".into(),
                response_templates: string_map(&[("application/json", r#"{"stored": true}"#)]),
                ..Default::default()
            }],
            timeout_ms: 10_000,
            ..Default::default()
        }),
        ..Default::default()
    };
    admin
        .put_route(&api, "/pets", put_item(String::new()))
        .await?;
    admin
        .put_route(&api, "/shape", put_item(format!("http://{recorder}")))
        .await?;
    admin.deploy(&api, "v1").await?;

    let json = [("content-type", "application/json")];
    let put = node
        .send(
            "pets",
            "POST",
            "/v1/pets",
            &json,
            r#"{"id": "p1", "name": "Rex \"the\" dog"}"#,
        )
        .await?;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.json(), json!({"stored": true}));
    let item = moto
        .client("get_item", json!({"table": "pets", "id": "p1"}))
        .await?;
    assert_eq!(
        item,
        json!({"id": {"S": "p1"}, "name": {"S": "Rex \"the\" dog"}})
    );

    let shaped = node
        .send(
            "pets",
            "POST",
            "/v1/shape",
            &json,
            r#"{"id": "p2", "name": "Tom"}"#,
        )
        .await?;
    assert_eq!(shaped.status, StatusCode::OK, "{}", shaped.body);
    let request = recorded
        .lock()
        .unwrap()
        .pop()
        .expect("the call was recorded");
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(request.uri().path(), "/");
    assert_eq!(request.uri().query(), None, "no query-protocol Action");
    assert_eq!(
        request.headers()["x-amz-target"],
        "DynamoDB_20120810.PutItem"
    );
    assert_eq!(
        request.headers()["content-type"],
        "application/x-amz-json-1.0"
    );
    let auth = request.headers()["authorization"].to_str()?;
    assert!(auth.contains("/us-east-1/dynamodb/aws4_request"), "{auth}");
    assert!(
        auth.contains("x-amz-target"),
        "the target is signed: {auth}"
    );
    let body: Value = serde_json::from_slice(request.body())?;
    assert_eq!(body["Item"]["name"], json!({"S": "Tom"}));
    Ok(())
}
