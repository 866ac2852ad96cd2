//! WebSocket routes' non-proxy integrations (HTTP, and MOCK with
//! templates), as AWS's WebSocket APIs map events:
//!
//! 1. the integration's `template_selection_expression` (static text, or
//!    values of the message: `${request.body.action}`) picks a key of its
//!    `request_templates`; a key without a template, or a message without
//!    the value, takes the `$default` template; with none, the passthrough
//!    behaviour passes the message as it is (WHEN_NO_MATCH,
//!    WHEN_NO_TEMPLATES without templates) or refuses it (415
//!    Unsupported Media Type). The template renders over the message with
//!    the event's `$context` ([`super::template_vars`]);
//! 2. MOCK answers with the rendered template's `statusCode` (else 200);
//!    HTTP is one buffered call with the event's `x-archway-*` headers, the
//!    rendered body (`Content-Type: application/json` unless the
//!    template's `requestOverride` says otherwise) and the template's
//!    header and query string overrides;
//! 3. the integration response whose `integration_response_key` pattern
//!    (`/REGEX/`) matches the status in full, else `$default`, picks a
//!    response template by its own expression (`${integration.response.statuscode}`
//!    and the backend's headers as well) and renders the answer: what a
//!    two-way route sends the client, and `$connect`'s refusal body. No
//!    integration responses: the backend's answer as it is.
//!
//! Both content handlings convert as REST's do (a message that is not
//! UTF-8 is the binary payload).

use super::event::Event;
use super::invoke::{Answer, Outbound};
use super::template_vars::EventVars;
use crate::event_mapping::{RequestPlan, WsBackend, WsMapping};
use crate::pipeline::gateway_response::GatewayResponse;
use crate::pipeline::http_proxy::render_uri;
use crate::pipeline::mapping::{convert, insert_pairs, mock_status};
use crate::routes::Params;
use crate::tables::{Route, RuntimeTables, StageTarget};
use archway_proto::template::Limits;
use archway_proto::template_selection::SelectionInput;
use archway_proto::v1::ContentHandling;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};

/// What a response expression reads: the message and the answer.
struct AnswerInput<'a> {
    message: &'a [u8],
    answer: &'a Answer,
}

impl SelectionInput for AnswerInput<'_> {
    fn message(&self) -> &[u8] {
        self.message
    }
    fn status_code(&self) -> Option<u16> {
        Some(self.answer.status.as_u16())
    }
    fn header(&self, name: &str, all: bool) -> Option<String> {
        let mut values = self
            .answer
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok());
        if all {
            let joined: Vec<&str> = values.collect();
            (!joined.is_empty()).then(|| joined.join(","))
        } else {
            values.next_back().map(str::to_owned)
        }
    }
}

/// Calls `mapping` (route `route`'s integration, served with `serving`'s
/// stage variables) with `event`.
pub async fn call(
    out: &Outbound,
    tables: &RuntimeTables,
    serving: &StageTarget,
    route: &Route,
    event: &Event<'_>,
    mapping: &WsMapping,
) -> Result<Answer, GatewayResponse> {
    let vars = EventVars::new(event, &serving.variables, &tables.account_id);
    let limits = Limits {
        max_output_bytes: out.max_answer,
        ..Limits::default()
    };
    let binary = std::str::from_utf8(event.body).is_err();
    let payload = if mapping.content_handling == ContentHandling::ConvertToText && binary {
        Bytes::from(BASE64.encode(event.body))
    } else {
        event.body.clone()
    };
    let (mut body, overrides) = match mapping.request_plan(event.body) {
        RequestPlan::Unsupported => return Err(GatewayResponse::UnsupportedMediaType),
        RequestPlan::Template(template) => {
            let rendered = template
                .render(&vars.variables(&payload), &limits)
                .map_err(|e| {
                    tracing::warn!(route = route.route_key.as_deref(), error = %e, "WebSocket request template failed");
                    GatewayResponse::ApiConfigurationError
                })?;
            (Bytes::from(rendered.output), Some(rendered.overrides))
        }
        RequestPlan::Passthrough => (payload, None),
    };
    if mapping.content_handling == ContentHandling::ConvertToBinary {
        body = BASE64
            .decode(&body)
            .map(Bytes::from)
            .map_err(|_| GatewayResponse::ApiConfigurationError)?;
    }
    let answer = match &mapping.backend {
        WsBackend::Mock => Answer {
            status: mock_status(&body),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        },
        WsBackend::Http {
            method,
            uri,
            timeout,
        } => {
            let mut headers = event.http_headers();
            let mut query = None;
            if let Some(overrides) = &overrides {
                headers.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                insert_pairs(&mut headers, &overrides.request_headers);
                if !overrides.request_querystring.is_empty() {
                    query = Some(crate::uri_encode::query(
                        overrides
                            .request_querystring
                            .iter()
                            .map(|(n, v)| (n.as_str(), v.as_str())),
                    ));
                }
            }
            let uri = render_uri(uri, &Params::new(), &serving.variables, query.as_deref())?;
            let method = method.clone().unwrap_or(Method::POST);
            super::invoke::send(out, route, method, &uri, headers, body, *timeout).await?
        }
    };
    respond(mapping, &vars, event, answer, &limits)
}

/// Step 3: the integration response for the answer's status, and its
/// template over the answer's body.
fn respond(
    mapping: &WsMapping,
    vars: &EventVars<'_>,
    event: &Event<'_>,
    answer: Answer,
    limits: &Limits,
) -> Result<Answer, GatewayResponse> {
    if !mapping.has_responses() {
        return Ok(answer);
    }
    let Some(rule) = mapping.response_for(answer.status) else {
        // As REST: passing the answer on would leak what the admin mapped away.
        tracing::warn!(
            status = answer.status.as_u16(),
            route = event.route_key,
            "no integration response key matches the status and none is $default"
        );
        return Err(GatewayResponse::ApiConfigurationError);
    };
    let template = rule.template(&AnswerInput {
        message: event.body,
        answer: &answer,
    });
    let body = match template {
        Some(template) => Bytes::from(
            template
                .render(&vars.variables(&answer.body), limits)
                .map_err(|e| {
                    tracing::warn!(route = event.route_key, error = %e, "WebSocket response template failed");
                    GatewayResponse::ApiConfigurationError
                })?
                .output,
        ),
        None => answer.body.clone(),
    };
    let body = convert(rule.content_handling, body)?;
    Ok(Answer {
        status: answer.status,
        headers: answer.headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_mapping::compile;
    use crate::pipeline::observe::RequestId;
    use crate::principal::Principal;
    use crate::websocket::event::{EventType, Identity, Peer};
    use archway_proto::v1::{
        Integration, IntegrationResponse, IntegrationType, PassthroughBehavior,
    };
    use http::StatusCode;
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::Duration;

    fn peer() -> Peer {
        Peer {
            identity: Identity::Authorizer(Arc::new(Principal::new(
                Some("user-7"),
                None,
                Some(r#"{"team":"blue","level":3}"#),
            ))),
            ..crate::websocket::event::tests::peer()
        }
    }

    fn mock(templates: &[(&str, &str)], responses: Vec<IntegrationResponse>) -> WsMapping {
        let i = Integration {
            r#type: IntegrationType::Mock as i32,
            template_selection_expression: "${request.body.action}".into(),
            request_templates: templates
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            integration_responses: responses,
            ..Default::default()
        };
        compile(&i).expect("mapped").expect("compiles")
    }

    fn render(m: &WsMapping, event: &Event<'_>) -> Option<String> {
        let vars = HashMap::from([("room".into(), "lobby".into())]);
        let vars = EventVars::new(event, &vars, "123456789012");
        let RequestPlan::Template(t) = m.request_plan(event.body) else {
            return None;
        };
        Some(
            t.render(&vars.variables(event.body), &Limits::default())
                .unwrap()
                .output,
        )
    }

    fn message<'e>(peer: &'e Peer, body: &'e Bytes) -> Event<'e> {
        Event {
            peer,
            kind: EventType::Message,
            route_key: "sendMessage",
            message_id: Some("m-1"),
            request_id: RequestId::new(),
            at: std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_001),
            body,
            handshake: None,
            disconnect: None,
        }
    }

    #[test]
    fn the_selected_template_else_default_renders_the_events_context() {
        let m = mock(
            &[
                (
                    "join",
                    r#"{"who":"$context.authorizer.principalId","team":"$context.authorizer.team","level":"$context.authorizer.level","room":"$stageVariables.room","id":"$context.connectionId","route":"$context.routeKey","type":"$context.eventType","msg":"$context.messageId","name":$input.json('$.name')}"#,
                ),
                ("$default", "default:$input.body"),
            ],
            vec![],
        );
        let peer = peer();
        let body = Bytes::from_static(br#"{"action":"join","name":"ann"}"#);
        assert_eq!(
            render(&m, &message(&peer, &body)).unwrap(),
            r#"{"who":"user-7","team":"blue","level":"3","room":"lobby","id":"AAAAAAAAAAAAAAAA","route":"sendMessage","type":"MESSAGE","msg":"m-1","name":"ann"}"#
        );
        for other in [&br#"{"action":"leave"}"#[..], b"not json"] {
            let body = Bytes::copy_from_slice(other);
            assert_eq!(
                render(&m, &message(&peer, &body)).unwrap(),
                format!("default:{}", String::from_utf8_lossy(other))
            );
        }
    }

    #[test]
    fn passthrough_behaviours_decide_without_a_template() {
        let mut i = Integration {
            r#type: IntegrationType::Http as i32,
            uri: "http://127.0.0.1:9/x".into(),
            template_selection_expression: "${request.body.action}".into(),
            request_templates: [("join".to_string(), "j".to_string())].into(),
            ..Default::default()
        };
        let plan = |i: &Integration| match compile(i)
            .unwrap()
            .unwrap()
            .request_plan(b"{\"action\":\"other\"}")
        {
            RequestPlan::Template(_) => "template",
            RequestPlan::Passthrough => "pass",
            RequestPlan::Unsupported => "refused",
        };
        assert_eq!(plan(&i), "pass", "WHEN_NO_MATCH is the default");
        i.passthrough_behavior = PassthroughBehavior::WhenNoTemplates as i32;
        assert_eq!(plan(&i), "refused");
        i.passthrough_behavior = PassthroughBehavior::Never as i32;
        assert_eq!(plan(&i), "refused");
        i.request_templates.clear();
        assert_eq!(plan(&i), "refused", "NEVER refuses without templates too");
        i.passthrough_behavior = PassthroughBehavior::WhenNoTemplates as i32;
        assert_eq!(plan(&i), "pass");
    }

    #[test]
    fn integration_responses_are_chosen_by_key_and_pick_templates() {
        let responses = vec![
            IntegrationResponse {
                integration_response_key: "$default".into(),
                template_selection_expression: "${integration.response.statuscode}".into(),
                response_templates: [
                    (
                        "200".to_string(),
                        r#"{"ok":true,"echo":$input.json('$.n')}"#.to_string(),
                    ),
                    ("$default".to_string(), "other $input.body".to_string()),
                ]
                .into(),
                ..Default::default()
            },
            IntegrationResponse {
                integration_response_key: r"/4\d\d/".into(),
                response_templates: [("$default".to_string(), "client error".to_string())].into(),
                ..Default::default()
            },
        ];
        let m = mock(&[], responses);
        let peer = peer();
        let body = Bytes::new();
        let event = message(&peer, &body);
        let vars = HashMap::new();
        let vars = EventVars::new(&event, &vars, "1");
        let answer = |status: u16, body: &'static str| Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
        };
        let sent = |status, body| {
            let a = respond(&m, &vars, &event, answer(status, body), &Limits::default()).unwrap();
            (
                a.status.as_u16(),
                String::from_utf8(a.body.to_vec()).unwrap(),
            )
        };
        assert_eq!(
            sent(200, r#"{"n":7}"#),
            (200, r#"{"ok":true,"echo":7}"#.into())
        );
        assert_eq!(sent(201, "x"), (201, "other x".into()));
        assert_eq!(sent(404, "x"), (404, "client error".into()));
        assert_eq!(sent(504, "x").1, "other x");
        let only_errors = mock(
            &[],
            vec![IntegrationResponse {
                integration_response_key: r"/5\d\d/".into(),
                ..Default::default()
            }],
        );
        assert!(
            respond(
                &only_errors,
                &vars,
                &event,
                answer(200, "x"),
                &Limits::default()
            )
            .is_err(),
            "no key matches and none is $default: a configuration error"
        );
    }

    #[test]
    fn a_mock_status_comes_from_its_rendered_template() {
        let m = mock(
            &[("$default", r#"{"statusCode": $input.json('$.code')}"#)],
            vec![],
        );
        let peer = peer();
        let body = Bytes::from_static(br#"{"code":403}"#);
        let rendered = render(&m, &message(&peer, &body)).unwrap();
        assert_eq!(mock_status(rendered.as_bytes()), StatusCode::FORBIDDEN);
    }
}
