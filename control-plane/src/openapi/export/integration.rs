//! A route's integration as `x-amazon-apigateway-integration` (AWS's
//! field names, `type` and `passthroughBehavior` in AWS's lower-case export
//! spelling, `contentHandling` as AWS writes it) and, for what AWS cannot
//! say, `x-archway-integration`: an AWS integration's endpoint override,
//! and a MOCK's fixed answer.

use crate::declarative::document::{IntegrationResponseSpec, IntegrationSpec};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The AWS object and, when there is something only Archway says, the
/// Archway one.
pub(super) fn objects(integration: &IntegrationSpec) -> (Value, Option<Value>) {
    let mut aws = Map::new();
    let mut archway = Map::new();
    match integration {
        IntegrationSpec::HttpProxy {
            uri,
            http_method,
            timeout_ms,
            cache_key_parameters,
            request_parameters,
        } => {
            aws.insert("type".into(), json!("http_proxy"));
            aws.insert("uri".into(), json!(uri));
            common(
                &mut aws,
                http_method.as_deref(),
                *timeout_ms,
                cache_key_parameters,
                request_parameters,
            );
        }
        IntegrationSpec::Mock {
            status,
            headers,
            body,
            request_parameters,
            request_templates,
            passthrough_behavior,
            integration_responses,
            ..
        } => {
            aws.insert("type".into(), json!("mock"));
            common(&mut aws, None, None, &[], request_parameters);
            passthrough(&mut aws, passthrough_behavior.as_deref());
            // The planner's own test of a fixed answer.
            if integration.has_fixed_answer() {
                let mut mock = Map::new();
                mock.insert("statusCode".into(), json!(status));
                if !headers.is_empty() {
                    mock.insert("headers".into(), json!(headers));
                }
                if !body.is_empty() {
                    mock.insert("body".into(), json!(body));
                }
                archway.insert("mock".into(), Value::Object(mock));
                // Archway reads the templates and responses of a fixed
                // mock from here; AWS's object says the same answer in
                // AWS's terms when the route has none of its own.
                templates(&mut archway, request_templates);
                responses(&mut archway, integration_responses);
                if request_templates.is_empty() && integration_responses.is_empty() {
                    aws.insert(
                        "requestTemplates".into(),
                        json!({ "application/json": format!("{{\"statusCode\": {status}}}") }),
                    );
                    let mut default = Map::new();
                    default.insert("statusCode".into(), json!(status.to_string()));
                    if !headers.is_empty() {
                        let parameters: BTreeMap<String, String> = headers
                            .iter()
                            .map(|(name, value)| {
                                (
                                    format!("method.response.header.{name}"),
                                    format!("'{value}'"),
                                )
                            })
                            .collect();
                        default.insert("responseParameters".into(), json!(parameters));
                    }
                    if !body.is_empty() {
                        default.insert(
                            "responseTemplates".into(),
                            json!({ "application/json": body }),
                        );
                    }
                    aws.insert("responses".into(), json!({ "default": default }));
                    return (Value::Object(aws), Some(Value::Object(archway)));
                }
            }
            templates(&mut aws, request_templates);
            responses(&mut aws, integration_responses);
        }
        // HTTP and AWS map requests and responses alike; AWS adds where and
        // as whom it signs.
        IntegrationSpec::Http {
            uri,
            http_method,
            timeout_ms,
            cache_key_parameters,
            request_parameters,
            request_templates,
            passthrough_behavior,
            content_handling,
            integration_responses,
            ..
        }
        | IntegrationSpec::Aws {
            uri,
            http_method,
            timeout_ms,
            cache_key_parameters,
            request_parameters,
            request_templates,
            passthrough_behavior,
            content_handling,
            integration_responses,
            ..
        } => {
            let aws_service = matches!(integration, IntegrationSpec::Aws { .. });
            aws.insert(
                "type".into(),
                json!(if aws_service { "aws" } else { "http" }),
            );
            aws.insert("uri".into(), json!(uri));
            common(
                &mut aws,
                http_method.as_deref(),
                *timeout_ms,
                cache_key_parameters,
                request_parameters,
            );
            if let IntegrationSpec::Aws {
                credentials,
                endpoint_url,
                ..
            } = integration
            {
                if !credentials.is_empty() {
                    aws.insert("credentials".into(), json!(credentials));
                }
                if !endpoint_url.is_empty() {
                    archway.insert("endpointUrl".into(), json!(endpoint_url));
                }
            }
            templates(&mut aws, request_templates);
            passthrough(&mut aws, passthrough_behavior.as_deref());
            content(&mut aws, content_handling.as_deref());
            responses(&mut aws, integration_responses);
        }
        IntegrationSpec::AwsProxy {
            uri,
            subtype,
            payload_format_version,
            timeout_ms,
            credentials,
            endpoint_url,
            cache_key_parameters,
            request_parameters,
            content_handling,
        } => {
            aws.insert("type".into(), json!("aws_proxy"));
            if !uri.is_empty() {
                aws.insert("uri".into(), json!(uri));
                // A function is always invoked with POST, and AWS wants
                // it said; the import does not read it back.
                aws.insert("httpMethod".into(), json!("POST"));
            }
            if !subtype.is_empty() {
                aws.insert("integrationSubtype".into(), json!(subtype));
            }
            if !payload_format_version.is_empty() {
                aws.insert("payloadFormatVersion".into(), json!(payload_format_version));
            }
            common(
                &mut aws,
                None,
                *timeout_ms,
                cache_key_parameters,
                request_parameters,
            );
            if !credentials.is_empty() {
                aws.insert("credentials".into(), json!(credentials));
            }
            content(&mut aws, content_handling.as_deref());
            if !endpoint_url.is_empty() {
                archway.insert("endpointUrl".into(), json!(endpoint_url));
            }
        }
    }
    let archway = (!archway.is_empty()).then_some(Value::Object(archway));
    (Value::Object(aws), archway)
}

fn common(
    aws: &mut Map<String, Value>,
    http_method: Option<&str>,
    timeout_ms: Option<u32>,
    cache_key_parameters: &[String],
    request_parameters: &BTreeMap<String, String>,
) {
    if let Some(method) = http_method {
        aws.insert("httpMethod".into(), json!(method));
    }
    if let Some(timeout) = timeout_ms {
        aws.insert("timeoutInMillis".into(), json!(timeout));
    }
    if !cache_key_parameters.is_empty() {
        aws.insert("cacheKeyParameters".into(), json!(cache_key_parameters));
    }
    if !request_parameters.is_empty() {
        aws.insert("requestParameters".into(), json!(request_parameters));
    }
}

fn templates(o: &mut Map<String, Value>, request_templates: &BTreeMap<String, String>) {
    if !request_templates.is_empty() {
        o.insert("requestTemplates".into(), json!(request_templates));
    }
}

fn passthrough(aws: &mut Map<String, Value>, behavior: Option<&str>) {
    if let Some(b) = behavior {
        aws.insert("passthroughBehavior".into(), json!(b.to_ascii_lowercase()));
    }
}

fn content(o: &mut Map<String, Value>, handling: Option<&str>) {
    if let Some(h) = handling {
        o.insert("contentHandling".into(), json!(h));
    }
}

/// `responses`, keyed by selection pattern (`default` for the one
/// without).
fn responses(o: &mut Map<String, Value>, list: &[IntegrationResponseSpec]) {
    if list.is_empty() {
        return;
    }
    let mut out = Map::new();
    for r in list {
        let key = if r.selection_pattern.is_empty() {
            "default".to_owned()
        } else {
            r.selection_pattern.clone()
        };
        let mut response = Map::new();
        response.insert("statusCode".into(), json!(r.status_code));
        if !r.response_parameters.is_empty() {
            response.insert("responseParameters".into(), json!(r.response_parameters));
        }
        if !r.response_templates.is_empty() {
            response.insert("responseTemplates".into(), json!(r.response_templates));
        }
        content(&mut response, r.content_handling.as_deref());
        out.insert(key, Value::Object(response));
    }
    o.insert("responses".into(), Value::Object(out));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> IntegrationSpec {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn http_proxy() {
        let (aws, archway) = objects(&spec(
            "type: HTTP_PROXY\nuri: http://b/{id}\nhttp_method: GET\ntimeout_ms: 5000\ncache_key_parameters: [method.request.path.id]\nrequest_parameters: { integration.request.path.id: method.request.path.id }\n",
        ));
        assert_eq!(
            aws,
            json!({
                "type": "http_proxy", "uri": "http://b/{id}", "httpMethod": "GET",
                "timeoutInMillis": 5000, "cacheKeyParameters": ["method.request.path.id"],
                "requestParameters": { "integration.request.path.id": "method.request.path.id" }
            })
        );
        assert!(archway.is_none());
    }

    #[test]
    fn http_with_templates_and_responses() {
        let (aws, _) = objects(&spec(
            r#"
type: HTTP
uri: http://b/x
request_templates: { application/json: '{"a": 1}' }
passthrough_behavior: WHEN_NO_TEMPLATES
content_handling: CONVERT_TO_TEXT
integration_responses:
  - { status_code: "200", response_templates: { application/json: "$input.body" } }
  - { status_code: "404", selection_pattern: "4\\d{2}", response_parameters: { method.response.header.x: "'y'" }, content_handling: CONVERT_TO_BINARY }
"#,
        ));
        assert_eq!(aws["type"], "http");
        assert_eq!(aws["passthroughBehavior"], "when_no_templates");
        assert_eq!(aws["contentHandling"], "CONVERT_TO_TEXT");
        assert_eq!(aws["requestTemplates"]["application/json"], "{\"a\": 1}");
        assert_eq!(
            aws["responses"],
            json!({
                "default": { "statusCode": "200", "responseTemplates": { "application/json": "$input.body" } },
                "4\\d{2}": { "statusCode": "404", "responseParameters": { "method.response.header.x": "'y'" }, "contentHandling": "CONVERT_TO_BINARY" }
            })
        );
    }

    #[test]
    fn aws_endpoint_override_is_archways() {
        let (aws, archway) = objects(&spec(
            "type: AWS\nuri: arn:aws:apigateway:us-east-1:sqs:path/1/q\nhttp_method: POST\ncredentials: arn:aws:iam::1:role/r\nendpoint_url: http://127.0.0.1:4566\n",
        ));
        assert_eq!(aws["type"], "aws");
        assert_eq!(aws["credentials"], "arn:aws:iam::1:role/r");
        assert!(aws.get("endpointUrl").is_none());
        assert_eq!(
            archway,
            Some(json!({ "endpointUrl": "http://127.0.0.1:4566" }))
        );
    }

    #[test]
    fn aws_proxy_functions_are_posted() {
        let (aws, archway) = objects(&spec(
            "type: AWS_PROXY\nuri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:f/invocations\npayload_format_version: '2.0'\n",
        ));
        assert_eq!(aws["type"], "aws_proxy");
        assert_eq!(aws["httpMethod"], "POST");
        assert_eq!(aws["payloadFormatVersion"], "2.0");
        assert!(archway.is_none());
        let (aws, _) = objects(&spec(
            "type: AWS_PROXY\nsubtype: SQS-SendMessage\nrequest_parameters: { QueueUrl: q, MessageBody: $request.body }\n",
        ));
        assert_eq!(aws["integrationSubtype"], "SQS-SendMessage");
        assert!(aws.get("uri").is_none() && aws.get("httpMethod").is_none());
    }

    #[test]
    fn a_fixed_mock_is_said_twice() {
        let (aws, archway) = objects(&spec(
            "type: MOCK\nstatus: 201\nheaders: { x-a: b }\nbody: made\n",
        ));
        assert_eq!(
            archway,
            Some(
                json!({ "mock": { "statusCode": 201, "headers": { "x-a": "b" }, "body": "made" } })
            )
        );
        assert_eq!(
            aws,
            json!({
                "type": "mock",
                "requestTemplates": { "application/json": "{\"statusCode\": 201}" },
                "responses": { "default": {
                    "statusCode": "201",
                    "responseParameters": { "method.response.header.x-a": "'b'" },
                    "responseTemplates": { "application/json": "made" }
                } }
            })
        );
        // The plainest mock is fixed too (no templates).
        let (_, archway) = objects(&spec("type: MOCK\n"));
        assert_eq!(archway, Some(json!({ "mock": { "statusCode": 200 } })));
    }

    #[test]
    fn an_aws_mock_has_no_archway_object() {
        let (aws, archway) = objects(&spec(
            "type: MOCK\nrequest_templates: { application/json: '{\"statusCode\": 200}' }\npassthrough_behavior: NEVER\nintegration_responses: [{ status_code: '200' }]\n",
        ));
        assert!(archway.is_none());
        assert_eq!(aws["passthroughBehavior"], "never");
        assert_eq!(aws["responses"]["default"]["statusCode"], "200");
    }

    #[test]
    fn a_fixed_mock_with_templates_keeps_them_in_archways_object() {
        let (aws, archway) = objects(&spec(
            "type: MOCK\nstatus: 202\nrequest_templates: { application/json: '{\"statusCode\": 200}' }\nintegration_responses: [{ status_code: '200' }]\n",
        ));
        let archway = archway.unwrap();
        assert_eq!(archway["mock"]["statusCode"], 202);
        assert_eq!(
            archway["requestTemplates"], aws["requestTemplates"],
            "both say the route's own"
        );
        assert_eq!(archway["responses"], aws["responses"]);
    }
}
