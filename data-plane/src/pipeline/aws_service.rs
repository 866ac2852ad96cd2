//! `AWS_PROXY` integrations with an integration subtype (HTTP APIs): the
//! request's mapped parameters become one service action (SQS, EventBridge,
//! Kinesis, Step Functions, AppConfig), and the service's answer, status
//! and body, is the response, as AWS passes it back.
//!
//! The subtype table (`archway_proto::aws_subtypes`) says where each
//! parameter goes and in what shape; this module evaluates the parameters
//! against the request and writes the wire request (JSON 1.0/1.1 with
//! `X-Amz-Target`, or REST).

use super::GatewayBody;
use super::buffer_body;
use super::context::{Context, Target};
use super::gateway_response::GatewayResponse;
use super::template_vars::{BodyJson, TemplateVars};
use crate::aws::integration::{ServiceIntegration, ServicePart};
use crate::aws::{AwsError, AwsOutbound, AwsRequest, Service};
use archway_proto::aws_subtypes::{Parameter, Placement, Protocol, Shape};
use archway_proto::mapping_expr::HttpPart;
use archway_proto::template::{ContextVars, Value as TemplateValue};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, header};
use http_body_util::{Either, Full};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The phase for a service integration.
pub async fn call<'a>(
    cx: &mut Context<'a>,
    target: &Target<'a>,
    service: &ServiceIntegration,
    aws: &AwsOutbound,
) -> Result<Response<GatewayBody>, GatewayResponse> {
    let body = if service.needs_body {
        buffer_body(&mut cx.body, cx.max_payload).await?
    } else {
        Bytes::new()
    };
    let values = evaluate(cx, target, service, &body);
    let region = values
        .iter()
        .find(|(p, _)| p.placement == Placement::Region)
        .map(|(_, v)| v.to_string());
    if let Some(region) = region
        .as_deref()
        .filter(|r| !crate::aws::endpoints::is_region(r))
    {
        // The region is part of the outbound host: a mapped value that is
        // not a region name (`evil.example/`, `x@host`) is the caller's,
        // refused before any call, as AWS refuses an invalid parameter.
        tracing::info!(subtype = service.subtype.name, region = ?region.chars().take(64).collect::<String>(), "refused: the Region parameter is not an AWS region");
        return Err(GatewayResponse::BadRequestParameters(
            "Invalid request parameter: Region".into(),
        ));
    }
    let (method, path, headers, payload) = wire_request(service, &values);
    let credentials = aws
        .credentials(&cx.tables.outbound, &service.call.credentials)
        .map_err(|e| {
            tracing::warn!(subtype = service.subtype.name, error = %e, "service integration cannot sign");
            GatewayResponse::ApiConfigurationError
        })?;
    let subtype = service.subtype;
    let endpoint = Service {
        endpoint_prefix: subtype.service,
        subdomain: None,
        signing_name: subtype.signing_name,
        region: region.as_deref(),
        endpoint_url: service.call.endpoint_url.as_deref(),
    };
    let request = AwsRequest {
        method,
        path_and_query: &path,
        headers,
        body: Bytes::from(payload),
    };
    let started = std::time::Instant::now();
    let result = aws
        .send(&endpoint, credentials, request, service.call.timeout)
        .await;
    cx.observation.integration_latency = Some(started.elapsed());
    let answer = match result {
        Ok(answer) => answer,
        Err(AwsError::TimedOut(after)) => {
            tracing::warn!(
                subtype = subtype.name,
                ?after,
                "the service did not answer within the integration timeout"
            );
            return Err(GatewayResponse::IntegrationTimeout);
        }
        Err(e) => {
            tracing::warn!(subtype = subtype.name, error = %e, "service integration failed");
            return Err(GatewayResponse::IntegrationFailure);
        }
    };
    cx.observation.integration_status = Some(answer.status);
    if !answer.status.is_success() {
        tracing::info!(subtype = subtype.name, status = %answer.status, "the service refused the action");
    }
    let mut response = Response::new(Either::Right(Full::new(answer.body)));
    *response.status_mut() = answer.status;
    let content_type = answer
        .headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("application/json"));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    Ok(response)
}

/// Each mapped parameter's value for this request: its parts in order,
/// references filled in. A parameter whose references are all absent (a
/// header not sent) and that has no literal text is left out, as AWS
/// leaves it.
fn evaluate<'s, 'a>(
    cx: &Context<'a>,
    target: &Target<'a>,
    service: &'s ServiceIntegration,
    body: &Bytes,
) -> Vec<(&'s Parameter, String)> {
    let params = cx.params();
    let vars = TemplateVars::new(cx, target);
    let mut json = BodyJson::new(body);
    let mut out = Vec::with_capacity(service.parameters.len());
    for (parameter, parts) in &service.parameters {
        let mut text = String::new();
        let mut found = false;
        for part in parts {
            let part = match part {
                // A body that is not JSON, or a JSON null, gives nothing.
                ServicePart::BodyPath(path) => {
                    if let Ok(Some(v)) = json.select(path)
                        && !matches!(v, TemplateValue::Null)
                        && let Ok(v) = BodyJson::value_text(&v, usize::MAX)
                    {
                        found = true;
                        text.push_str(&v);
                    }
                    continue;
                }
                ServicePart::Other(part) => part,
            };
            let piece: Option<Cow<'_, str>> = match part {
                HttpPart::Literal(v) => {
                    found = true;
                    Some(Cow::Borrowed(v))
                }
                HttpPart::RequestHeader(name) => {
                    let values: Vec<&str> = cx
                        .head
                        .headers
                        .get_all(name.as_str())
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .collect();
                    (!values.is_empty()).then(|| Cow::Owned(values.join(",")))
                }
                HttpPart::RequestQueryString(name) => {
                    let values: Vec<String> =
                        form_urlencoded::parse(cx.head.uri.query().unwrap_or("").as_bytes())
                            .filter(|(k, _)| k == name)
                            .map(|(_, v)| v.into_owned())
                            .collect();
                    (!values.is_empty()).then(|| Cow::Owned(values.join(",")))
                }
                HttpPart::RequestPathParameter(name) => {
                    params.iter().find(|(n, _)| n == name).map(|(_, v)| {
                        percent_encoding::percent_decode_str(v)
                            .decode_utf8_lossy()
                            .into_owned()
                            .into()
                    })
                }
                HttpPart::RequestPath => Some(Cow::Owned(cx.path().to_owned())),
                HttpPart::RequestBody => Some(String::from_utf8_lossy(body)),
                HttpPart::StageVariable(name) => target
                    .serving
                    .variables
                    .get(name.as_str())
                    .map(|v| Cow::Owned(v.to_string())),
                // The route key is the integration's (templates, which are
                // REST APIs', have none).
                HttpPart::Context(name) if name == "routeKey" => {
                    Some(Cow::Borrowed(&*service.route_key))
                }
                HttpPart::Context(name) => context_value(&vars, name).map(Cow::Owned),
                // Compiled as ServicePart::BodyPath; refused when compiled:
                // request parameters read no response.
                HttpPart::RequestBodyPath(_)
                | HttpPart::ResponseHeader(_)
                | HttpPart::ResponseBody
                | HttpPart::ResponseBodyPath(_) => None,
            };
            if let Some(piece) = piece {
                found = true;
                text.push_str(&piece);
            }
        }
        if found {
            out.push((*parameter, text));
        }
    }
    out
}

/// `$context.NAME` (`identity.sourceIp`...) as mapping templates read it:
/// one per-request view ([`TemplateVars`]) for templates and subtype
/// parameters, so both give the same answer for the same request.
fn context_value(vars: &TemplateVars<'_, '_>, name: &str) -> Option<String> {
    let path: Vec<&str> = name.split('.').collect();
    match ContextVars::get(vars, &path)? {
        TemplateValue::Null => None,
        v => Some(v.to_java_string()),
    }
}

/// A parameter's value in its wire shape.
fn shaped(shape: Shape, value: &str) -> Value {
    match shape {
        Shape::Text => Value::String(value.to_owned()),
        Shape::Integer => value
            .trim()
            .parse::<i64>()
            .map_or_else(|_| Value::String(value.to_owned()), Value::from),
        Shape::Json => {
            serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()))
        }
        Shape::List => match serde_json::from_str(value) {
            Ok(Value::Array(items)) => Value::Array(items),
            _ => Value::Array(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            ),
        },
        Shape::Blob => {
            use base64::Engine;
            Value::String(base64::engine::general_purpose::STANDARD.encode(value))
        }
    }
}

/// The service request: verb, path and query, headers, body.
pub fn wire_request(
    service: &ServiceIntegration,
    values: &[(&Parameter, String)],
) -> (http::Method, String, HeaderMap, Vec<u8>) {
    let subtype = service.subtype;
    let mut headers = HeaderMap::with_capacity(2);
    match subtype.protocol {
        Protocol::Json10 { .. } | Protocol::Json11 { .. } => {
            let mut body = Map::new();
            let mut entry = Map::new();
            for (p, v) in values {
                match p.placement {
                    Placement::Body(wire) => {
                        body.insert(wire.to_owned(), shaped(p.shape, v));
                    }
                    Placement::Entry => {
                        entry.insert(p.name.to_owned(), shaped(p.shape, v));
                    }
                    _ => {}
                }
            }
            if service.has_entries {
                body.insert("Entries".into(), Value::Array(vec![Value::Object(entry)]));
            }
            if let Some(ct) = subtype.protocol.content_type() {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            }
            if let Some(t) = &service.amz_target {
                headers.insert("x-amz-target", t.clone());
            }
            let body = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
            (http::Method::POST, "/".to_owned(), headers, body)
        }
        Protocol::Rest { method, path } => {
            let mut path = path.to_owned();
            let mut pairs = Vec::new();
            for (p, v) in values {
                match p.placement {
                    Placement::Path => {
                        path = path.replace(
                            &format!("{{{}}}", p.name),
                            &crate::uri_encode::path_segment(v),
                        );
                    }
                    Placement::Query(wire) => pairs.push((wire, v.as_str())),
                    _ => {}
                }
            }
            let query = crate::uri_encode::query(pairs);
            if !query.is_empty() {
                path.push('?');
                path.push_str(&query);
            }
            let method = http::Method::from_bytes(method.as_bytes()).unwrap_or(http::Method::GET);
            (method, path, headers, Vec::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::integration::{ProxyIntegration, compile_proxy};
    use archway_proto::v1::{Integration, IntegrationType};

    fn service(subtype: &str, params: &[(&str, &str)]) -> ServiceIntegration {
        let i = Integration {
            r#type: IntegrationType::AwsProxy as i32,
            integration_subtype: subtype.into(),
            request_parameters: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        match compile_proxy(&i, "POST", "/", &[]).unwrap() {
            ProxyIntegration::Service(s) => s,
            ProxyIntegration::Function(_) => panic!(),
        }
    }

    fn values<'s>(s: &'s ServiceIntegration, v: &[(&str, &str)]) -> Vec<(&'s Parameter, String)> {
        v.iter()
            .map(|(n, v)| (s.subtype.parameter(n).unwrap(), v.to_string()))
            .collect()
    }

    #[test]
    fn sqs_send_message_is_json_1_0_with_its_target() {
        let s = service(
            "SQS-SendMessage",
            &[
                ("QueueUrl", "q"),
                ("MessageBody", "$request.body"),
                ("DelaySeconds", "2"),
                ("Region", "eu-west-1"),
            ],
        );
        let (method, path, headers, body) = wire_request(
            &s,
            &values(
                &s,
                &[
                    ("QueueUrl", "http://q/1"),
                    ("MessageBody", "hi"),
                    ("DelaySeconds", "2"),
                    ("Region", "eu-west-1"),
                ],
            ),
        );
        assert_eq!((method, path.as_str()), (http::Method::POST, "/"));
        assert_eq!(headers["x-amz-target"], "AmazonSQS.SendMessage");
        assert_eq!(headers["content-type"], "application/x-amz-json-1.0");
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"QueueUrl": "http://q/1", "MessageBody": "hi", "DelaySeconds": 2})
        );
    }

    #[test]
    fn eventbridge_puts_one_entry() {
        let s = service(
            "EventBridge-PutEvents",
            &[
                ("Detail", "$request.body"),
                ("DetailType", "t"),
                ("Source", "s"),
                ("Resources", "a,b"),
            ],
        );
        let (_, _, headers, body) = wire_request(
            &s,
            &values(
                &s,
                &[
                    ("Detail", r#"{"a":1}"#),
                    ("DetailType", "t"),
                    ("Source", "s"),
                    ("Resources", "a, b"),
                ],
            ),
        );
        assert_eq!(headers["x-amz-target"], "AWSEvents.PutEvents");
        assert_eq!(headers["content-type"], "application/x-amz-json-1.1");
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"Entries": [{"Detail": r#"{"a":1}"#, "DetailType": "t", "Source": "s", "Resources": ["a", "b"]}]})
        );
    }

    #[test]
    fn kinesis_data_is_base64_and_appconfig_is_rest() {
        let k = service(
            "Kinesis-PutRecord",
            &[
                ("StreamName", "s"),
                ("Data", "$request.body"),
                ("PartitionKey", "p"),
            ],
        );
        let (_, _, _, body) = wire_request(
            &k,
            &values(
                &k,
                &[
                    ("StreamName", "s"),
                    ("Data", "hello"),
                    ("PartitionKey", "p"),
                ],
            ),
        );
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["Data"], "aGVsbG8=");
        let a = service(
            "AppConfig-GetConfiguration",
            &[
                ("Application", "a"),
                ("Environment", "e"),
                ("Configuration", "c"),
                ("ClientId", "id"),
            ],
        );
        let (method, path, headers, body) = wire_request(
            &a,
            &values(
                &a,
                &[
                    ("Application", "my app"),
                    ("Environment", "prod"),
                    ("Configuration", "c/1"),
                    ("ClientId", "x&y"),
                ],
            ),
        );
        assert_eq!(method, http::Method::GET);
        assert_eq!(
            path,
            "/applications/my%20app/environments/prod/configurations/c%2F1?client_id=x%26y"
        );
        assert!(headers.is_empty() && body.is_empty());
    }

    fn appconfig(values_: &[(&str, &str)]) -> String {
        let a = service(
            "AppConfig-GetConfiguration",
            &[
                ("Application", "a"),
                ("Environment", "e"),
                ("Configuration", "c"),
                ("ClientId", "id"),
            ],
        );
        wire_request(&a, &values(&a, values_)).1
    }

    #[test]
    fn a_dot_dot_path_parameter_stays_inside_the_prefix() {
        assert_eq!(
            appconfig(&[
                ("Application", ".."),
                ("Environment", "."),
                ("Configuration", "../../x"),
                ("ClientId", "c"),
            ]),
            "/applications/%2E%2E/environments/%2E/configurations/..%2F..%2Fx?client_id=c"
        );
    }

    #[test]
    fn the_outbound_query_is_rfc_3986_encoded() {
        assert_eq!(
            appconfig(&[
                ("Application", "a"),
                ("Environment", "e"),
                ("Configuration", "c"),
                ("ClientId", "a b+c"),
            ]),
            "/applications/a/environments/e/configurations/c?client_id=a%20b%2Bc"
        );
    }

    #[test]
    fn shapes_fall_back_to_text() {
        assert_eq!(shaped(Shape::Integer, "x"), Value::String("x".into()));
        assert_eq!(
            shaped(Shape::Json, r#"{"a":{"DataType":"String"}}"#)["a"]["DataType"],
            "String"
        );
        assert_eq!(
            shaped(Shape::Json, "{not json"),
            Value::String("{not json".into())
        );
        assert_eq!(
            shaped(Shape::List, r#"["All"]"#),
            serde_json::json!(["All"])
        );
    }
}
