//! Issue 14's configuration through the real gRPC admin API: HTTP, AWS and
//! AWS_PROXY integrations with mapping, method declarations, models
//! (JSON Schema draft 4), request validators, gateway responses, CORS and
//! binary media types, and outbound credentials. Every refusal names the
//! field and the reason; what is in use cannot be deleted; an outbound
//! secret is never returned and never in the store in clear, yet reaches
//! nodes on their config stream.

use archway_e2e::admin::{apply_request, assert_invalid, assert_invalid_says, mask, string_map};
use archway_e2e::{Admin, config_stream, started};
use archway_proto::v1::config_resource::Resource as Body;
use archway_proto::v1::*;
use std::collections::BTreeMap;
use std::time::Duration;

const LAMBDA: &str = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:pets/invocations";
const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:pets";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzSECRETKEY";
const TOKEN: &str = "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue";

fn declared(pairs: &[(&str, bool)]) -> BTreeMap<String, bool> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// An HTTP (non-proxy) integration that maps a declared path parameter and
/// answers through a declared method response.
fn http_integration() -> Integration {
    Integration {
        r#type: IntegrationType::Http as i32,
        uri: "http://127.0.0.1:9/items/{id}".into(),
        request_parameters: string_map(&[
            ("integration.request.path.id", "method.request.path.petId"),
            ("integration.request.header.x-trace", "context.requestId"),
        ]),
        request_templates: string_map(&[(
            "application/json",
            "{\"id\": \"$input.params('petId')\"}",
        )]),
        integration_responses: vec![IntegrationResponse {
            status_code: "200".into(),
            response_parameters: string_map(&[(
                "method.response.header.X-Id",
                "integration.response.body.id",
            )]),
            response_templates: string_map(&[("application/json", "$input.body")]),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn http_method() -> Method {
    Method {
        http_method: "GET".into(),
        request_parameters: declared(&[("method.request.path.petId", true)]),
        method_responses: vec![MethodResponse {
            status_code: "200".into(),
            response_parameters: declared(&[("method.response.header.X-Id", false)]),
            ..Default::default()
        }],
        integration: Some(http_integration()),
        ..Default::default()
    }
}

async fn put(
    admin: &mut Admin,
    api: &RestApi,
    path: &str,
    method: Method,
) -> Result<Method, tonic::Status> {
    let resource = admin.resource(api, path).await.expect("resource");
    admin
        .apis
        .put_method(PutMethodRequest {
            method: Some(Method {
                api_id: api.id.clone(),
                resource_id: resource.id,
                ..method
            }),
        })
        .await
        .map(|r| r.into_inner())
}

fn with_integration(change: impl FnOnce(&mut Integration)) -> Method {
    let mut m = http_method();
    change(m.integration.as_mut().unwrap());
    m
}

fn aws_proxy(uri: &str) -> Integration {
    Integration {
        r#type: IntegrationType::AwsProxy as i32,
        uri: uri.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_refusals_name_the_field_and_reason() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;
    let api = admin.create_api("mapped", ApiProtocol::Rest).await?;
    let path = "/pets/{petId}";
    put(&mut admin, &api, path, http_method()).await?;

    let cases: Vec<(Method, &str)> = vec![
        (
            with_integration(|i| {
                i.request_parameters.insert(
                    "integration.request.header.x-q".into(),
                    "method.request.querystring.q".into(),
                );
            }),
            "method.integration.request_parameters[\"integration.request.header.x-q\"]: maps 'method.request.querystring.q', which the method does not declare",
        ),
        (
            with_integration(|i| {
                i.request_parameters
                    .insert("integration.request.body".into(), "'x'".into());
            }),
            "method.integration.request_parameters[\"integration.request.body\"]: 'integration.request.body' names 'body', which is not header, querystring or path",
        ),
        (
            with_integration(|i| {
                i.request_parameters.insert(
                    "integration.request.header.a".into(),
                    "integration.response.body".into(),
                );
            }),
            "method.integration.request_parameters[\"integration.request.header.a\"]: 'integration.response.body' is not available here",
        ),
        (
            with_integration(|i| {
                i.request_templates.insert("json".into(), "{}".into());
            }),
            "method.integration.request_templates[\"json\"]: 'json' is not a media type",
        ),
        (
            with_integration(|i| {
                i.request_parameters.remove("integration.request.path.id");
            }),
            "method.integration.uri: uses path parameter {id}",
        ),
        (
            with_integration(|i| {
                let mut second = i.integration_responses[0].clone();
                second.response_parameters.clear();
                i.integration_responses.push(second);
            }),
            "method.integration.integration_responses[1].selection_pattern: method.integration.integration_responses[0] is already the default",
        ),
        (
            with_integration(|i| i.integration_responses[0].selection_pattern = "5\\d{2".into()),
            "method.integration.integration_responses[0].selection_pattern: is not a regular expression",
        ),
        (
            with_integration(|i| i.integration_responses[0].status_code = "201".into()),
            "method.integration.integration_responses[0].status_code: 201 is not a method response of this method",
        ),
        (
            with_integration(|i| {
                i.integration_responses[0]
                    .response_parameters
                    .insert("method.response.header.X-Other".into(), "'v'".into());
            }),
            "method.integration.integration_responses[0].response_parameters[\"method.response.header.X-Other\"]: sets 'method.response.header.X-Other', which method response 200 does not declare",
        ),
        (
            with_integration(|i| i.credentials = "arn:aws:iam::123456789012:role/x".into()),
            "method.integration.credentials: only AWS and AWS_PROXY integrations take credentials, not HTTP",
        ),
        (
            with_integration(|i| i.passthrough_behavior = 7),
            "method.integration.passthrough_behavior: unknown passthrough behavior 7",
        ),
        (
            Method {
                integration: Some(Integration {
                    r#type: IntegrationType::Aws as i32,
                    uri: "https://sqs.us-east-1.amazonaws.com/".into(),
                    ..Default::default()
                }),
                ..http_method()
            },
            "method.integration.uri: 'https://sqs.us-east-1.amazonaws.com/' is not an API Gateway service URI",
        ),
        (
            Method {
                integration: Some(Integration {
                    r#type: IntegrationType::Aws as i32,
                    uri: "arn:aws:apigateway:us-east-1:sqs:action/SendMessage".into(),
                    credentials: "arn:aws:iam::12:role/x".into(),
                    ..Default::default()
                }),
                ..http_method()
            },
            "method.integration.credentials: 'arn:aws:iam::12:role/x' is not an IAM role ARN",
        ),
        (
            Method {
                integration: Some(Integration {
                    endpoint_url: "http://127.0.0.1:9001/2015-03-31".into(),
                    ..aws_proxy(LAMBDA)
                }),
                ..http_method()
            },
            "method.integration.endpoint_url: 'http://127.0.0.1:9001/2015-03-31' must be scheme://host[:port] only",
        ),
        (
            Method {
                integration: Some(aws_proxy(FUNCTION)),
                ..http_method()
            },
            "method.integration.uri: REST APIs name a function with its invocation URI",
        ),
        (
            Method {
                integration: Some(Integration {
                    payload_format_version: "2.0".into(),
                    ..aws_proxy(LAMBDA)
                }),
                ..http_method()
            },
            "method.integration.payload_format_version: REST APIs send payload format 1.0 only",
        ),
        (
            Method {
                integration: Some(Integration {
                    integration_subtype: "SQS-SendMessage".into(),
                    ..aws_proxy("")
                }),
                ..http_method()
            },
            "method.integration.integration_subtype: integration subtypes are for HTTP APIs",
        ),
    ];
    for (method, start) in cases {
        assert_invalid(put(&mut admin, &api, path, method).await, start);
    }

    // The same rules on PutIntegration, against the stored method's
    // declarations.
    let resource = admin.resource(&api, path).await?;
    let refused = admin
        .apis
        .put_integration(PutIntegrationRequest {
            method: Some(MethodKey {
                api_id: api.id.clone(),
                resource_id: resource.id.clone(),
                http_method: "GET".into(),
            }),
            integration: Some(Integration {
                request_parameters: string_map(&[(
                    "integration.request.querystring.x",
                    "method.request.header.undeclared",
                )]),
                ..http_integration()
            }),
        })
        .await;
    assert_invalid(
        refused,
        "integration.request_parameters[\"integration.request.querystring.x\"]: maps 'method.request.header.undeclared'",
    );

    // HTTP APIs: function ARNs, payload 2.0 and subtypes, in HTTP API forms.
    let http_api = admin.create_api("httpapi", ApiProtocol::Http).await?;
    let ok = [
        Integration {
            payload_format_version: "2.0".into(),
            credentials: "lambda-caller".into(),
            ..aws_proxy(FUNCTION)
        },
        Integration {
            integration_subtype: "SQS-SendMessage".into(),
            request_parameters: string_map(&[
                ("QueueUrl", "$stageVariables.queue"),
                ("MessageBody", "$request.body"),
            ]),
            endpoint_url: "http://127.0.0.1:5000".into(),
            ..aws_proxy("")
        },
    ];
    for (i, integration) in ok.into_iter().enumerate() {
        put(
            &mut admin,
            &http_api,
            &format!("/ok{i}"),
            Method {
                http_method: "POST".into(),
                integration: Some(integration),
                ..Default::default()
            },
        )
        .await?;
    }
    let bad_value = Method {
        http_method: "POST".into(),
        integration: Some(Integration {
            integration_subtype: "SQS-SendMessage".into(),
            request_parameters: string_map(&[
                ("QueueUrl", "$request.cookie.q"),
                ("MessageBody", "$request.body"),
            ]),
            ..aws_proxy("")
        }),
        ..Default::default()
    };
    assert_invalid(
        put(&mut admin, &http_api, "/bad", bad_value).await,
        "method.integration.request_parameters[\"QueueUrl\"]: '$request.cookie.q' refers to '$request.cookie.q', which is not one of",
    );
    let missing = Method {
        http_method: "POST".into(),
        integration: Some(Integration {
            integration_subtype: "SQS-SendMessage".into(),
            request_parameters: string_map(&[("QueueUrl", "$stageVariables.queue")]),
            ..aws_proxy("")
        }),
        ..Default::default()
    };
    assert_invalid(
        put(&mut admin, &http_api, "/bad", missing).await,
        "method.integration.request_parameters: SQS-SendMessage requires the parameters MessageBody",
    );
    let unknown_subtype = Method {
        http_method: "POST".into(),
        integration: Some(Integration {
            integration_subtype: "SQS-Send".into(),
            ..aws_proxy("")
        }),
        ..Default::default()
    };
    assert_invalid(
        put(&mut admin, &http_api, "/bad", unknown_subtype).await,
        "method.integration.integration_subtype: 'SQS-Send' is not an integration subtype",
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_declarations_are_checked_against_path_models_and_validators() -> anyhow::Result<()>
{
    let (_dir, _cp, mut admin) = started().await?;
    let api = admin.create_api("declared", ApiProtocol::Rest).await?;
    let path = "/pets/{petId}";
    let base = Method {
        http_method: "POST".into(),
        integration: Some(archway_e2e::admin::mock(200, "ok")),
        ..Default::default()
    };
    let cases = [
        (
            Method {
                request_parameters: declared(&[("method.request.path.id", true)]),
                ..base.clone()
            },
            "method.request_parameters[\"method.request.path.id\"]: 'id' is not a parameter of resource path '/pets/{petId}'",
        ),
        (
            Method {
                request_parameters: declared(&[("method.request.cookie.a", true)]),
                ..base.clone()
            },
            "method.request_parameters[\"method.request.cookie.a\"]: 'method.request.cookie.a' names 'cookie'",
        ),
        (
            Method {
                request_models: string_map(&[("application/json", "Pet")]),
                ..base.clone()
            },
            "method.request_models[\"application/json\"]: model 'Pet' does not exist in this API",
        ),
        (
            Method {
                request_validator_id: "nope".into(),
                ..base.clone()
            },
            "method.request_validator_id: request validator 'nope' does not exist in this API",
        ),
        (
            Method {
                method_responses: vec![
                    MethodResponse {
                        status_code: "200".into(),
                        ..Default::default()
                    },
                    MethodResponse {
                        status_code: "200".into(),
                        ..Default::default()
                    },
                ],
                ..base.clone()
            },
            "method.method_responses[1].status_code: 200 is declared twice",
        ),
        (
            Method {
                method_responses: vec![MethodResponse {
                    status_code: "200".into(),
                    response_parameters: declared(&[("integration.response.header.x", false)]),
                    ..Default::default()
                }],
                ..base.clone()
            },
            "method.method_responses[0].response_parameters[\"integration.response.header.x\"]",
        ),
    ];
    for (method, start) in cases {
        assert_invalid(put(&mut admin, &api, path, method).await, start);
    }
    Ok(())
}

fn model(api: &RestApi, name: &str, schema: &str) -> PutModelRequest {
    PutModelRequest {
        model: Some(Model {
            api_id: api.id.clone(),
            name: name.into(),
            schema: schema.into(),
            ..Default::default()
        }),
    }
}

fn model_url(api: &RestApi, name: &str) -> String {
    format!(
        "https://apigateway.amazonaws.com/restapis/{}/models/{name}",
        api.id
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_must_compile_as_draft_4() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;
    let api = admin.create_api("models", ApiProtocol::Rest).await?;
    let pet = admin
        .apis
        .create_model(model(
            &api,
            "Pet",
            r#"{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}"#,
        ))
        .await?
        .into_inner();
    assert_eq!(pet.content_type, "application/json", "the default");
    assert!(!pet.id.is_empty());

    for (request, start) in [
        (
            model(&api, "Bad", "{\"type\":"),
            "model.schema: is not JSON",
        ),
        (
            model(&api, "Bad", r#"{"type":"objekt"}"#),
            "model.schema: does not compile as a JSON Schema (draft 4)",
        ),
        (
            model(
                &api,
                "Bad",
                r#"{"properties":{"a":{"pattern":"(unclosed"}}}"#,
            ),
            "model.schema: does not compile as a JSON Schema (draft 4)",
        ),
        (
            model(
                &api,
                "Bad",
                &format!(r#"{{"$ref":"{}"}}"#, model_url(&api, "Missing")),
            ),
            "model.schema: refers to model 'Missing', which API 'models' does not have",
        ),
        (
            model(&api, "no-dashes", "{}"),
            "model.name: 'no-dashes' is not a model name",
        ),
    ] {
        assert_invalid(admin.apis.create_model(request).await, start);
    }
    let dup = admin.apis.create_model(model(&api, "Pet", "{}")).await;
    assert_eq!(dup.unwrap_err().code(), tonic::Code::AlreadyExists);

    // A model referring to another compiles against it.
    let pets = format!(
        r#"{{"type":"array","items":{{"$ref":"{}"}}}}"#,
        model_url(&api, "Pet")
    );
    admin.apis.create_model(model(&api, "Pets", &pets)).await?;

    // Updates are checked the same way; the mask names what changes.
    let refused = admin
        .apis
        .update_model(UpdateModelRequest {
            model: Some(Model {
                api_id: api.id.clone(),
                name: "Pet".into(),
                schema: r#"{"type": 7}"#.into(),
                ..Default::default()
            }),
            update_mask: mask(&["schema"]),
        })
        .await;
    assert_invalid(refused, "model.schema: does not compile");
    let updated = admin
        .apis
        .update_model(UpdateModelRequest {
            model: Some(Model {
                api_id: api.id.clone(),
                name: "Pet".into(),
                description: "a pet".into(),
                ..Default::default()
            }),
            update_mask: mask(&["description"]),
        })
        .await?
        .into_inner();
    assert_eq!(updated.description, "a pet");
    assert_eq!(updated.schema, pet.schema, "unmasked fields stay");

    // A change that would break a model referring to this one is refused
    // now, naming the referrer, not at the next deployment: dropping the
    // definition `Square` points at, or closing a cycle of references.
    admin
        .apis
        .create_model(model(
            &api,
            "Shape",
            r#"{"definitions": {"side": {"type": "number"}}}"#,
        ))
        .await?;
    let square = format!(
        r#"{{"type":"object","properties":{{"side":{{"$ref":"{}#/definitions/side"}}}}}}"#,
        model_url(&api, "Shape")
    );
    admin
        .apis
        .create_model(model(&api, "Square", &square))
        .await?;
    let change_shape = |schema: String| UpdateModelRequest {
        model: Some(Model {
            api_id: api.id.clone(),
            name: "Shape".into(),
            schema,
            ..Default::default()
        }),
        update_mask: mask(&["schema"]),
    };
    let dropped = admin
        .apis
        .update_model(change_shape(r#"{"type": "object"}"#.into()))
        .await;
    assert_invalid(
        dropped,
        "model.schema: model 'Square', which refers to 'Shape', would no longer compile",
    );
    let cycle = admin
        .apis
        .update_model(change_shape(format!(
            r#"{{"definitions": {{"side": {{"$ref": "{}#/properties/side"}}}}}}"#,
            model_url(&api, "Square")
        )))
        .await;
    assert_invalid(cycle, "model.schema: ");
    // A change that keeps what Square uses is taken.
    admin
        .apis
        .update_model(change_shape(
            r#"{"definitions": {"side": {"type": "integer"}}}"#.into(),
        ))
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_are_refused_while_in_use() -> anyhow::Result<()> {
    let (dir, cp, mut admin) = started().await?;
    let api = admin.create_api("inuse", ApiProtocol::Rest).await?;
    admin
        .apis
        .create_model(model(&api, "Pet", r#"{"type":"object"}"#))
        .await?;
    admin
        .apis
        .create_model(model(
            &api,
            "Pets",
            &format!(
                r#"{{"type":"array","items":{{"$ref":"{}"}}}}"#,
                model_url(&api, "Pet")
            ),
        ))
        .await?;
    admin.apis.create_model(model(&api, "Order", "{}")).await?;
    let validator = admin
        .apis
        .create_request_validator(PutRequestValidatorRequest {
            request_validator: Some(RequestValidator {
                api_id: api.id.clone(),
                name: "body-only".into(),
                validate_request_body: true,
                ..Default::default()
            }),
        })
        .await?
        .into_inner();
    let same_name = admin
        .apis
        .create_request_validator(PutRequestValidatorRequest {
            request_validator: Some(RequestValidator {
                api_id: api.id.clone(),
                name: "body-only".into(),
                ..Default::default()
            }),
        })
        .await;
    assert_invalid(same_name, "request_validator.name: validator '");
    put(
        &mut admin,
        &api,
        "/orders",
        Method {
            http_method: "POST".into(),
            request_models: string_map(&[("application/json", "Order")]),
            request_validator_id: validator.id.clone(),
            integration: Some(Integration {
                credentials: "orders-writer".into(),
                ..aws_proxy(LAMBDA)
            }),
            ..Default::default()
        },
    )
    .await?;
    admin
        .iam
        .put_outbound_credential(PutOutboundCredentialRequest {
            credential: Some(OutboundCredential {
                name: "orders-writer".into(),
                access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
                secret_access_key: SECRET.into(),
                ..Default::default()
            }),
        })
        .await?;
    admin.deploy(&api, "prod").await?;

    let model_key = |name: &str| GetModelRequest {
        api_id: api.id.clone(),
        model_name: name.into(),
    };
    let refused = |r: Result<tonic::Response<Empty>, tonic::Status>, says: &str| {
        let status = r.expect_err("refused while in use");
        assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
        assert!(status.message().contains(says), "{}", status.message());
    };
    refused(
        admin.apis.delete_model(model_key("Order")).await,
        "model 'Order' is used by method POST",
    );
    refused(
        admin.apis.delete_model(model_key("Pet")).await,
        "model 'Pet' is referenced by model 'Pets'",
    );
    let validator_key = GetRequestValidatorRequest {
        api_id: api.id.clone(),
        request_validator_id: validator.id.clone(),
    };
    refused(
        admin
            .apis
            .delete_request_validator(validator_key.clone())
            .await,
        "is used by method POST",
    );
    refused(
        admin
            .iam
            .delete_outbound_credential(DeleteOutboundCredentialRequest {
                name: "orders-writer".into(),
            })
            .await,
        "outbound credential 'orders-writer' signs method POST",
    );

    // Once nothing uses them, they go.
    admin.apis.delete_model(model_key("Pets")).await?;
    admin.apis.delete_model(model_key("Pet")).await?;
    put(
        &mut admin,
        &api,
        "/orders",
        Method {
            http_method: "POST".into(),
            integration: Some(aws_proxy(LAMBDA)),
            ..Default::default()
        },
    )
    .await?;
    admin.apis.delete_model(model_key("Order")).await?;
    admin.apis.delete_request_validator(validator_key).await?;
    // Still served by the old deployment until a new one replaces it.
    refused(
        admin
            .iam
            .delete_outbound_credential(DeleteOutboundCredentialRequest {
                name: "orders-writer".into(),
            })
            .await,
        "signs method POST",
    );
    admin.deploy(&api, "prod").await?;
    admin
        .iam
        .delete_outbound_credential(DeleteOutboundCredentialRequest {
            name: "orders-writer".into(),
        })
        .await?;
    drop((dir, cp));
    Ok(())
}

/// The bytes of every file of the control plane's store.
fn store_bytes(data_dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    let mut stack = vec![data_dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read the data folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                all.extend(std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_secrets_are_never_returned_nor_stored_in_clear() -> anyhow::Result<()> {
    let (_dir, mut cp, mut admin) = started().await?;
    let put = |role: &str| PutOutboundCredentialRequest {
        credential: Some(OutboundCredential {
            name: "lambda-caller".into(),
            description: "calls the pets function".into(),
            role_arn: role.into(),
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: SECRET.into(),
            session_token: TOKEN.into(),
            ..Default::default()
        }),
    };
    let shown = admin
        .iam
        .put_outbound_credential(put("arn:aws:iam::123456789012:role/caller"))
        .await?
        .into_inner();
    assert!(shown.secret_access_key.is_empty() && shown.session_token.is_empty());
    assert!(shown.sealed_secret.is_empty() && shown.sealed_session_token.is_empty());
    assert_eq!(shown.access_key_id, "AKIAIOSFODNN7EXAMPLE");
    let listed = admin
        .iam
        .list_outbound_credentials(ListOutboundCredentialsRequest::default())
        .await?
        .into_inner()
        .items;
    assert_eq!(listed.len(), 1);
    assert!(format!("{listed:?}").find(SECRET).is_none());
    assert!(listed[0].sealed_secret.is_empty());

    // Refusals name the field and never echo the secret.
    let mut bad = put("");
    bad.credential.as_mut().unwrap().secret_access_key = format!("{SECRET} with spaces");
    let status = admin
        .iam
        .put_outbound_credential(bad)
        .await
        .expect_err("refused");
    assert!(
        status
            .message()
            .starts_with("credential.secret_access_key: ")
    );
    assert!(!status.message().contains(SECRET), "{}", status.message());
    let mut bad = put("arn:aws:iam::123456789012:user/caller");
    bad.credential.as_mut().unwrap().name = "other".into();
    assert_invalid(
        admin.iam.put_outbound_credential(bad).await,
        "credential.role_arn: ",
    );
    let mut taken = put("arn:aws:iam::123456789012:role/caller");
    taken.credential.as_mut().unwrap().name = "second".into();
    assert_invalid(
        admin.iam.put_outbound_credential(taken).await,
        "credential.role_arn: outbound credential 'lambda-caller' already answers for",
    );

    // A node gets the secret and the token in clear on its stream.
    let (_tx, mut updates) = config_stream::open(&cp.url(), "n1").await?;
    let sent = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let update = updates.message().await?.expect("the stream stays open");
            for r in update.upserts {
                if let Some(Body::OutboundCredential(c)) = r.resource {
                    return anyhow::Ok((r.name, c));
                }
            }
        }
    })
    .await??;
    assert_eq!(sent.0, "outboundcredential/lambda-caller");
    assert_eq!(sent.1.secret_access_key, SECRET);
    assert_eq!(sent.1.session_token, TOKEN);
    assert!(sent.1.sealed_secret.is_empty());

    // In the store, sealed: neither appears in any of sled's files, even
    // after the control plane flushed and stopped.
    cp.process.terminate();
    let bytes = store_bytes(&cp.data_dir);
    assert!(!bytes.is_empty());
    assert!(
        contains(&bytes, "AKIAIOSFODNN7EXAMPLE"),
        "the store was read"
    );
    assert!(!contains(&bytes, SECRET), "the secret is sealed on disk");
    assert!(!contains(&bytes, TOKEN), "the token is sealed on disk");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_responses_cors_and_binary_types_are_checked_and_deployed() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;
    let rest = admin.create_api("shapes", ApiProtocol::Rest).await?;
    let good = GatewayResponse {
        api_id: rest.id.clone(),
        response_type: "BAD_REQUEST_BODY".into(),
        status_code: "422".into(),
        response_parameters: string_map(&[(
            "gatewayresponse.header.Access-Control-Allow-Origin",
            "'*'",
        )]),
        response_templates: string_map(&[(
            "application/json",
            "{\"message\": \"$context.error.validationErrorString\"}",
        )]),
    };
    let put = |r: GatewayResponse| PutGatewayResponseRequest {
        gateway_response: Some(r),
    };
    for (bad, start) in [
        (
            GatewayResponse {
                response_type: "TEAPOT".into(),
                ..good.clone()
            },
            "gateway_response.response_type: 'TEAPOT' is not a gateway response type",
        ),
        (
            GatewayResponse {
                status_code: "99".into(),
                ..good.clone()
            },
            "gateway_response.status_code: '99' is not an HTTP status code",
        ),
        (
            GatewayResponse {
                response_parameters: string_map(&[("method.response.header.X", "'x'")]),
                ..good.clone()
            },
            "gateway_response.response_parameters[\"method.response.header.X\"]: 'method.response.header.X' cannot be set here; expected gatewayresponse.header.NAME",
        ),
        (
            GatewayResponse {
                response_parameters: string_map(&[(
                    "gatewayresponse.header.X",
                    "method.request.body",
                )]),
                ..good.clone()
            },
            "gateway_response.response_parameters[\"gatewayresponse.header.X\"]: 'method.request.body' is not available here",
        ),
    ] {
        assert_invalid(admin.apis.put_gateway_response(put(bad)).await, start);
    }
    admin.apis.put_gateway_response(put(good.clone())).await?;
    let listed = admin
        .apis
        .list_gateway_responses(ListGatewayResponsesRequest {
            api_id: rest.id.clone(),
        })
        .await?
        .into_inner()
        .items;
    assert_eq!(listed, std::slice::from_ref(&good));

    // CORS is for HTTP APIs; binary media types are patterns.
    let cors = CorsConfiguration {
        allow_origins: vec!["https://app.example.com".into()],
        allow_methods: vec!["GET".into(), "POST".into()],
        allow_headers: vec!["content-type".into()],
        max_age_seconds: Some(600),
        allow_credentials: true,
        ..Default::default()
    };
    let create =
        |id: &str, protocol: ApiProtocol, cors: Option<CorsConfiguration>, types: &[&str]| {
            CreateRestApiRequest {
                id: id.into(),
                name: id.into(),
                protocol: protocol as i32,
                cors_configuration: cors,
                binary_media_types: types.iter().map(|t| t.to_string()).collect(),
                ..Default::default()
            }
        };
    assert_invalid(
        admin
            .apis
            .create_rest_api(create("r1", ApiProtocol::Rest, Some(cors.clone()), &[]))
            .await,
        "cors_configuration: only HTTP APIs have a CORS configuration",
    );
    let star = CorsConfiguration {
        allow_origins: vec!["*".into()],
        ..cors.clone()
    };
    assert_invalid(
        admin
            .apis
            .create_rest_api(create("h1", ApiProtocol::Http, Some(star), &[]))
            .await,
        "cors_configuration.allow_credentials: cannot be true with the origin '*'",
    );
    let path_origin = CorsConfiguration {
        allow_origins: vec!["https://app.example.com/page".into()],
        ..cors.clone()
    };
    assert_invalid(
        admin
            .apis
            .create_rest_api(create("h1", ApiProtocol::Http, Some(path_origin), &[]))
            .await,
        "cors_configuration.allow_origins[0]: ",
    );
    assert_invalid(
        admin
            .apis
            .create_rest_api(create("r1", ApiProtocol::Rest, None, &["image/png", "png"]))
            .await,
        "binary_media_types[1]: 'png' is not a media type pattern",
    );
    let http = admin
        .apis
        .create_rest_api(create(
            "h1",
            ApiProtocol::Http,
            Some(cors.clone()),
            &["image/*"],
        ))
        .await?
        .into_inner();
    assert_eq!(http.cors_configuration.as_ref(), Some(&cors));
    let widened = admin
        .apis
        .update_rest_api(UpdateRestApiRequest {
            api_id: http.id.clone(),
            binary_media_types: vec!["image/*".into(), "application/octet-stream".into()],
            update_mask: mask(&["binary_media_types"]),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(widened.binary_media_types.len(), 2);
    assert_eq!(widened.cors_configuration, Some(cors.clone()), "unmasked");
    let refused = admin
        .apis
        .update_rest_api(UpdateRestApiRequest {
            api_id: http.id.clone(),
            cors_configuration: Some(CorsConfiguration {
                max_age_seconds: Some(90_000),
                ..cors.clone()
            }),
            update_mask: mask(&["cors_configuration"]),
            ..Default::default()
        })
        .await;
    assert_invalid(refused, "cors_configuration.max_age_seconds: ");

    // A deployment copies them, with the models and validators.
    admin
        .apis
        .create_model(model(&rest, "Pet", r#"{"type":"object"}"#))
        .await?;
    admin
        .apis
        .create_request_validator(PutRequestValidatorRequest {
            request_validator: Some(RequestValidator {
                api_id: rest.id.clone(),
                name: "all".into(),
                validate_request_body: true,
                validate_request_parameters: true,
                ..Default::default()
            }),
        })
        .await?;
    admin
        .route(&rest, "/ping", "GET", archway_e2e::admin::mock(200, "pong"))
        .await?;
    let deployment = admin.deploy(&rest, "prod").await?;
    assert_eq!(deployment.gateway_responses, [good]);
    assert_eq!(deployment.models.len(), 1);
    assert_eq!(deployment.request_validators.len(), 1);
    admin
        .route(&http, "/ping", "GET", archway_e2e::admin::mock(200, "pong"))
        .await?;
    let deployment = admin.deploy(&http, "prod").await?;
    assert_eq!(deployment.cors_configuration, Some(cors));
    assert_eq!(deployment.binary_media_types.len(), 2);
    Ok(())
}

/// Every new kind in one document: models, request validators by name,
/// gateway responses, binary media types, CORS, and routes with each new
/// integration type and the methods' declarations.
const DOCUMENT: &str = r#"
apis:
  - name: orders
    id: orders
    binary_media_types: [image/png]
    models:
      - name: Order
        schema: { type: object, required: [item], properties: { item: { type: string } } }
      - name: Orders
        description: a list
        schema: { type: array, items: { $ref: "https://apigateway.amazonaws.com/restapis/orders/models/Order" } }
    request_validators:
      - { name: all, body: true, parameters: true }
    gateway_responses:
      - type: BAD_REQUEST_BODY
        status_code: "422"
        response_parameters: { gatewayresponse.header.X-Reason: "'invalid'" }
        response_templates: { application/json: '{"message": "$context.error.validationErrorString"}' }
    routes:
      - path: /orders/{id}
        method: POST
        request_parameters: { method.request.path.id: true, method.request.header.X-Trace: false }
        request_models: { application/json: Order }
        request_validator: all
        method_responses:
          - { status_code: "200", response_parameters: { method.response.header.X-Id: false } }
        integration:
          type: HTTP
          uri: http://127.0.0.1:9/orders/{orderId}
          request_parameters:
            integration.request.path.orderId: method.request.path.id
            integration.request.header.X-Trace: method.request.header.X-Trace
          request_templates: { application/json: '{"item": $input.json(''$.item'')}' }
          passthrough_behavior: NEVER
          integration_responses:
            - status_code: "200"
              response_parameters: { method.response.header.X-Id: integration.response.body.id }
              response_templates: { application/json: $input.body }
      - path: /queue
        method: POST
        integration:
          type: AWS
          uri: arn:aws:apigateway:us-east-1:sqs:action/SendMessage
          credentials: arn:aws:iam::123456789012:role/sqs-writer
          endpoint_url: http://127.0.0.1:4566
          request_templates: { application/x-www-form-urlencoded: Action=SendMessage }
      - path: /fn
        method: ANY
        integration:
          type: AWS_PROXY
          uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:orders/invocations
          credentials: orders-caller
      - path: /mock
        method: GET
        method_responses: [{ status_code: "200" }]
        integration:
          type: MOCK
          request_templates: { application/json: '{"statusCode": 200}' }
          integration_responses: [{ status_code: "200", response_templates: { application/json: '{"ok": true}' } }]
  - name: events
    id: events
    protocol: HTTP
    cors:
      allow_origins: ["https://app.example.com"]
      allow_methods: [GET, POST]
      max_age_seconds: 600
      allow_credentials: true
    routes:
      - path: /events
        method: POST
        integration:
          type: AWS_PROXY
          subtype: EventBridge-PutEvents
          request_parameters: { Detail: $request.body, DetailType: order, Source: shop }
      - path: /fn
        method: POST
        integration:
          type: AWS_PROXY
          uri: arn:aws:lambda:us-east-1:123456789012:function:events
          payload_format_version: "2.0"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_and_export_round_trip_the_new_kinds() -> anyhow::Result<()> {
    use archway_e2e::ControlPlane;
    use archway_e2e::ctl::ctl;
    let dir = tempfile::tempdir()?;
    let first = ControlPlane::start(&dir.path().join("first"))?;
    let file = dir.path().join("orders.yaml");
    std::fs::write(&file, DOCUMENT)?;
    let out = ctl(&first.url(), &["apply", "-f", file.to_str().unwrap()]);
    assert!(out.contains("applied "), "{out}");
    let exported = ctl(&first.url(), &["export"]);
    for says in [
        "name: Orders",
        "request_validator: all",
        "type: BAD_REQUEST_BODY",
        "subtype: EventBridge-PutEvents",
        "passthrough_behavior: NEVER",
        "allow_credentials: true",
        "image/png",
    ] {
        assert!(exported.contains(says), "{says} missing from:\n{exported}");
    }
    // Applied again: nothing changes.
    let again = ctl(&first.url(), &["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(again.trim(), "unchanged");
    // The export applies to an empty control plane and exports the same.
    let second = ControlPlane::start(&dir.path().join("second"))?;
    let exported_file = dir.path().join("exported.yaml");
    std::fs::write(&exported_file, &exported)?;
    ctl(
        &second.url(),
        &["apply", "-f", exported_file.to_str().unwrap()],
    );
    assert_eq!(ctl(&second.url(), &["export"]), exported);
    let out = ctl(
        &second.url(),
        &["apply", "-f", exported_file.to_str().unwrap()],
    );
    assert_eq!(out.trim(), "unchanged");

    // A document's refusals carry their document paths.
    let mut admin = Admin::connect(&second.url()).await?;
    // Three errors in one document are reported together ...
    let broken = DOCUMENT
        .replace("type: BAD_REQUEST_BODY", "type: NOT_A_TYPE")
        .replace(
            "passthrough_behavior: NEVER",
            "passthrough_behavior: SOMETIMES",
        )
        .replace("{ type: object, required", "{ type: objekt, required");
    let status = admin
        .config
        .apply_configuration(apply_request(&broken, false, false))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let message = status.message();
    for path in [
        "apis[0].models[0].schema: does not compile",
        "apis[0].gateway_responses[0].type: 'NOT_A_TYPE'",
        "apis[0].routes[0].integration.passthrough_behavior: 'SOMETIMES' is not one of",
    ] {
        assert!(message.contains(path), "{path} missing from:\n{message}");
    }
    // ... and each is refused on its own, as are those found only past
    // the others.
    for (from, to, says) in [
        (
            "{ type: object, required",
            "{ type: objekt, required",
            "apis[0].models[0].schema: does not compile",
        ),
        (
            "type: BAD_REQUEST_BODY",
            "type: NOT_A_TYPE",
            "apis[0].gateway_responses[0].type: 'NOT_A_TYPE'",
        ),
        (
            "passthrough_behavior: NEVER",
            "passthrough_behavior: SOMETIMES",
            "apis[0].routes[0].integration.passthrough_behavior: 'SOMETIMES' is not one of",
        ),
        (
            "request_validator: all",
            "request_validator: none",
            "apis[0].routes[0].request_validator: no request validator of this API is named 'none'",
        ),
        (
            "{ application/json: $input.body }",
            "{ json: $input.body }",
            "apis[0].routes[0].integration.integration_responses[0].response_templates[\"json\"]: 'json' is not a media type",
        ),
    ] {
        assert_document_refused(&mut admin, from, to, says).await;
    }
    Ok(())
}

/// `archwayctl iam put-outbound-credential` takes the secret from stdin or
/// an environment variable (there is no flag for it), never prints it, and
/// the listing shows the credential without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archwayctl_puts_outbound_credentials_without_the_secret_on_argv() -> anyhow::Result<()> {
    use archway_e2e::ctl::{command, ctl};
    use std::io::Write;
    let (_dir, cp, _admin) = started().await?;
    let base = [
        "--server",
        &cp.url(),
        "--token",
        archway_e2e::TEST_ADMIN_TOKEN,
        "iam",
        "put-outbound-credential",
    ]
    .map(str::to_owned);
    let run = |extra: &[&str], stdin: Option<&str>, env: Option<(&str, &str)>| {
        let mut args: Vec<&str> = base.iter().map(String::as_str).collect();
        args.extend_from_slice(extra);
        let (mut cmd, _cwd) = command(&args);
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("archwayctl");
        let mut input = child.stdin.take().unwrap();
        // A refused command line may exit before reading stdin.
        if let Err(e) = input.write_all(stdin.unwrap_or_default().as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
        drop(input);
        child.wait_with_output().expect("archwayctl output")
    };
    let out = run(
        &["from-stdin", "--access-key-id", "AKIAIOSFODNN7EXAMPLE"],
        Some(&format!("{SECRET}\n{TOKEN}\n")),
        None,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("from-stdin") && !stdout.contains(SECRET),
        "{stdout}"
    );
    let out = run(
        &[
            "from-env",
            "--access-key-id",
            "AKIAIOSFODNN7EXAMPLF",
            "--secret-env",
            "OUTBOUND_SECRET",
        ],
        None,
        Some(("OUTBOUND_SECRET", SECRET)),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // No secret anywhere: refused, and no flag can carry one.
    let out = run(
        &["empty", "--access-key-id", "AKIAIOSFODNN7EXAMPLG"],
        Some(""),
        None,
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no secret access key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        &[
            "argv",
            "--access-key-id",
            "AKIAIOSFODNN7EXAMPLH",
            "--secret-access-key",
            SECRET,
        ],
        Some(SECRET),
        None,
    );
    assert!(
        !out.status.success(),
        "there is no --secret-access-key flag"
    );

    let listed = ctl(&cp.url(), &["get", "outbound-credentials"]);
    assert!(
        listed.contains("from-stdin") && listed.contains("from-env"),
        "{listed}"
    );
    assert!(!listed.contains(SECRET), "{listed}");
    let yaml = ctl(&cp.url(), &["get", "outbound-credentials", "-o", "json"]);
    assert!(!yaml.contains(SECRET), "{yaml}");
    ctl(
        &cp.url(),
        &["iam", "delete-outbound-credential", "from-env", "--yes"],
    );
    let listed = ctl(&cp.url(), &["iam", "outbound-credentials"]);
    assert!(!listed.contains("from-env"), "{listed}");
    Ok(())
}

/// A mapping template with a syntax error is refused where it is written,
/// with its entry, line and column: PutMethod, PutGatewayResponse and an
/// apply file alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_with_a_syntax_error_is_refused_with_line_and_column() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;
    let api = admin.create_api("templated", ApiProtocol::Rest).await?;
    let broken = "{\n  #if($input.params('petId'))\n  \"id\": 1\n}";
    let method = with_integration(|i| {
        i.request_templates
            .insert("application/json".into(), broken.into());
    });
    assert_invalid(
        put(&mut admin, &api, "/pets/{petId}", method).await,
        "method.integration.request_templates[\"application/json\"]: does not parse: line 4, column 2: expected #end to close the #if at line 2, column 3",
    );
    let method = with_integration(|i| {
        i.integration_responses[0]
            .response_templates
            .insert("text/plain".into(), "#set($a = )".into());
    });
    assert_invalid(
        put(&mut admin, &api, "/pets/{petId}", method).await,
        "method.integration.integration_responses[0].response_templates[\"text/plain\"]: does not parse: line 1, column ",
    );
    let refused = admin
        .apis
        .put_gateway_response(PutGatewayResponseRequest {
            gateway_response: Some(GatewayResponse {
                api_id: api.id.clone(),
                response_type: "DEFAULT_4XX".into(),
                response_templates: string_map(&[("application/json", "#foreach($x in)")]),
                ..Default::default()
            }),
        })
        .await;
    assert_invalid(
        refused,
        "gateway_response.response_templates[\"application/json\"]: does not parse: line 1, column ",
    );
    assert_document_refused(
        &mut admin,
        "{ application/json: $input.body }",
        "{ application/json: \"#if(\" }",
        "apis[0].routes[0].integration.integration_responses[0].response_templates[\"application/json\"]: does not parse: line 1, column ",
    )
    .await;
    Ok(())
}

/// A template may not set a header the gateway owns through an override
/// (AWS refuses them too): refused where it is written, with the entry,
/// line and column, however the template names the header literally; the
/// method that was there stays as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_overriding_a_reserved_header_is_refused() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;
    let api = admin.create_api("reserved", ApiProtocol::Rest).await?;
    put(&mut admin, &api, "/pets/{petId}", http_method()).await?;
    let method = with_integration(|i| {
        i.request_templates.insert(
            "application/json".into(),
            "{}\n#set($context.requestOverride.header.Host = 'internal.example')".into(),
        );
    });
    assert_invalid(
        put(&mut admin, &api, "/pets/{petId}", method).await,
        "method.integration.request_templates[\"application/json\"]: line 2, column 1: $context.requestOverride.header sets 'Host' is reserved",
    );
    let method = with_integration(|i| {
        i.integration_responses[0].response_templates.insert(
            "text/plain".into(),
            "#if(true)#set($context.responseOverride.header['Content-Length'] = '0')#end".into(),
        );
    });
    assert_invalid(
        put(&mut admin, &api, "/pets/{petId}", method).await,
        "method.integration.integration_responses[0].response_templates[\"text/plain\"]: line 1, column 10: $context.responseOverride.header sets 'Content-Length' is reserved",
    );
    let refused = admin
        .apis
        .put_gateway_response(PutGatewayResponseRequest {
            gateway_response: Some(GatewayResponse {
                api_id: api.id.clone(),
                response_type: "DEFAULT_4XX".into(),
                response_templates: string_map(&[(
                    "application/json",
                    "#set($context.responseOverride.header.Transfer-Encoding = 'chunked')",
                )]),
                ..Default::default()
            }),
        })
        .await;
    assert_invalid(
        refused,
        "gateway_response.response_templates[\"application/json\"]: line 1, column 1: $context.responseOverride.header sets 'Transfer-Encoding' is reserved",
    );
    let methods = admin.list_methods(&api.id).await?;
    assert_eq!(methods.len(), 1);
    assert!(
        methods[0]
            .integration
            .as_ref()
            .is_some_and(|i| i.request_templates == http_integration().request_templates),
        "the stored method is unchanged: {methods:?}"
    );
    Ok(())
}

/// [`DOCUMENT`] with `from` replaced by `to` is refused as invalid input,
/// the message saying `says`.
async fn assert_document_refused(admin: &mut Admin, from: &str, to: &str, says: &str) {
    let document = DOCUMENT.replace(from, to);
    assert_ne!(document, DOCUMENT, "'{from}' is not in the document");
    assert_invalid_says(
        admin
            .config
            .apply_configuration(apply_request(&document, false, false))
            .await,
        says,
    );
}

/// A FailedPrecondition from CreateDeployment whose message says `says`.
fn refused_deployment(r: anyhow::Result<Deployment>, says: &[&str]) {
    let err = r.expect_err("deployment refused");
    let status = err.downcast_ref::<tonic::Status>().expect("a gRPC status");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
    for s in says {
        assert!(status.message().contains(s), "{s}: {}", status.message());
    }
}

/// An update that would leave a model referring to it uncompilable (a
/// dropped definition, a closed cycle) is refused when written, naming the
/// referrer, and the models as they are still deploy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_updates_that_break_a_referrer_are_refused() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;
    let api = admin.create_api("modeldeploy", ApiProtocol::Rest).await?;
    let defs = r#"{"type":"object","definitions":{"name":{"type":"string"}}}"#;
    admin.apis.create_model(model(&api, "B", defs)).await?;
    let a = format!(
        r#"{{"type":"object","properties":{{"name":{{"$ref":"{}#/definitions/name"}}}}}}"#,
        model_url(&api, "B")
    );
    admin.apis.create_model(model(&api, "A", &a)).await?;
    put(
        &mut admin,
        &api,
        "/pets",
        Method {
            http_method: "POST".into(),
            request_models: string_map(&[("application/json", "A")]),
            integration: Some(aws_proxy(LAMBDA)),
            ..Default::default()
        },
    )
    .await?;
    admin.deploy(&api, "prod").await?;
    let update = |name: &str, schema: String| UpdateModelRequest {
        model: Some(Model {
            api_id: api.id.clone(),
            name: name.into(),
            schema,
            ..Default::default()
        }),
        update_mask: mask(&["schema"]),
    };

    // B drops the definition A refers to: B alone still compiles, but no
    // node could compile A against it, so the update is refused at once,
    // naming A (before, it was taken and only the deployment refused).
    let dropped = admin
        .apis
        .update_model(update("B", r#"{"type":"object"}"#.into()))
        .await;
    assert_invalid_says(dropped, "'#/definitions/name' of model 'B'");
    let good = admin.deploy(&api, "prod").await?;

    // A -> B, then B -> A would close a cycle of references: refused.
    admin
        .apis
        .update_model(update(
            "A",
            format!(r#"{{"$ref":"{}"}}"#, model_url(&api, "B")),
        ))
        .await?;
    let cycle = admin
        .apis
        .update_model(update(
            "B",
            format!(r#"{{"$ref":"{}"}}"#, model_url(&api, "A")),
        ))
        .await;
    assert_invalid_says(cycle, "A -> B -> A");
    // Deployments compile the models together too (for stores written
    // before updates were checked this way; see the unit tests of
    // `compile_together`): the models as they are deploy.
    let next = admin.deploy(&api, "prod").await?;
    assert_ne!(next.id, good.id);
    let stage = admin.stage(&api, "prod").await?;
    assert_eq!(stage.deployment_id, next.id);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_naming_a_missing_outbound_credential_is_refused() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;
    let api = admin.create_api("credentials", ApiProtocol::Rest).await?;
    put(
        &mut admin,
        &api,
        "/orders",
        Method {
            http_method: "POST".into(),
            integration: Some(Integration {
                credentials: "orders-writr".into(),
                ..aws_proxy(LAMBDA)
            }),
            ..Default::default()
        },
    )
    .await?;
    refused_deployment(
        admin.deploy(&api, "prod").await,
        &["method POST /orders", "'orders-writr'"],
    );
    // An IAM role ARN is not an outbound credential's name: it deploys.
    put(
        &mut admin,
        &api,
        "/orders",
        Method {
            http_method: "POST".into(),
            integration: Some(Integration {
                credentials: "arn:aws:iam::123456789012:role/orders".into(),
                ..aws_proxy(LAMBDA)
            }),
            ..Default::default()
        },
    )
    .await?;
    admin.deploy(&api, "prod").await?;
    // Once the credential exists, naming it deploys too.
    admin
        .iam
        .put_outbound_credential(PutOutboundCredentialRequest {
            credential: Some(OutboundCredential {
                name: "orders-writr".into(),
                access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
                secret_access_key: SECRET.into(),
                ..Default::default()
            }),
        })
        .await?;
    put(
        &mut admin,
        &api,
        "/orders",
        Method {
            http_method: "POST".into(),
            integration: Some(Integration {
                credentials: "orders-writr".into(),
                ..aws_proxy(LAMBDA)
            }),
            ..Default::default()
        },
    )
    .await?;
    admin.deploy(&api, "prod").await?;
    Ok(())
}

/// A document that changes a model is checked against the models it
/// keeps: one left out of the document (no prune) that refers to a
/// definition the change drops is named, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_refuses_a_model_change_that_breaks_a_kept_model() -> anyhow::Result<()> {
    let (_dir, _cp, mut admin) = started().await?;
    let models = |shape: &str, square: bool| {
        let square = if square {
            r##"
      - name: Square
        schema: { type: object, properties: { side: { $ref: "https://apigateway.amazonaws.com/restapis/shapes/models/Shape#/definitions/side" } } }"##
        } else {
            ""
        };
        format!(
            "apis:\n  - name: shapes\n    id: shapes\n    models:\n      - name: Shape\n        schema: {shape}{square}\n"
        )
    };
    let first = models("{ definitions: { side: { type: number } } }", true);
    admin
        .config
        .apply_configuration(apply_request(&first, false, false))
        .await?;
    let breaking = models("{ type: object }", false);
    let status = admin
        .config
        .apply_configuration(apply_request(&breaking, false, false))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains(
            "apis[0].models: model 'Square' would not compile with the document's models"
        ),
        "{}",
        status.message()
    );
    let stored = admin
        .apis
        .get_model(GetModelRequest {
            api_id: "shapes".into(),
            model_name: "Shape".into(),
        })
        .await?
        .into_inner();
    assert!(stored.schema.contains("definitions"), "{}", stored.schema);
    // Pruned, Square goes with the change and nothing is left to break.
    admin
        .config
        .apply_configuration(apply_request(&breaking, false, true))
        .await?;
    Ok(())
}
