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
