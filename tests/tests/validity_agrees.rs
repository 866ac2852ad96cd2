//! The control plane's shared validate functions and a node's compiler
//! agree on what is valid: a table of configurations, each one change away
//! from a valid one, goes through `archway_control_plane::validate` (the
//! functions the admin API's handlers call on these fields) and through
//! the data plane's compiler, and both must give the verdict the table
//! expects, the node naming the same field with the same reason. This
//! fails if the validate functions or the compiler stop applying a rule;
//! it does not drive the handlers themselves, so a handler that stopped
//! calling a validate function is caught by the admin API's own end-to-end
//! tests (admin_api.rs, usage_plans.rs, ...), not here.
//!
//! No processes: both planes' checks are libraries, reached here through
//! dev-dependencies (the planes never depend on each other).

use archway_control_plane::error::ApiResult;
use archway_control_plane::validate;
use archway_data_plane::access_log::AccessLogSinks;
use archway_data_plane::compile;
use archway_data_plane::tables::RuntimeTables;
use archway_proto::resource_name;
use archway_proto::rules::integration::Scope;
use archway_proto::v1::config_resource::Resource as Body;
use archway_proto::v1::*;
use std::collections::BTreeMap;

/// One API with a method, its authorizer, a stage and a usage plan: every
/// kind of resource whose settings the rules cover.
#[derive(Clone)]
struct Config {
    api: RestApi,
    method: Method,
    authorizer: Authorizer,
    stage: Stage,
    plan: UsagePlan,
}

const RESOURCE_PATH: &str = "/pets/{petId}";

fn is_websocket(c: &Config) -> bool {
    c.api.protocol == ApiProtocol::Websocket as i32
}

/// Where the method is: a WEBSOCKET API's routes are on the root.
fn resource_path(c: &Config) -> &'static str {
    if is_websocket(c) { "/" } else { RESOURCE_PATH }
}

fn protocol(c: &Config) -> ApiProtocol {
    ApiProtocol::try_from(c.api.protocol)
        .ok()
        .filter(|p| *p != ApiProtocol::Unspecified)
        .unwrap_or(ApiProtocol::Rest)
}

fn valid() -> Config {
    Config {
        api: RestApi {
            id: "a".into(),
            name: "pets".into(),
            protocol: ApiProtocol::Rest as i32,
            ..Default::default()
        },
        method: Method {
            api_id: "a".into(),
            resource_id: "r2".into(),
            http_method: "GET".into(),
            integration: Some(Integration {
                r#type: IntegrationType::HttpProxy as i32,
                uri: "http://127.0.0.1:9/pets/{petId}".into(),
                ..Default::default()
            }),
            authorization_type: "CUSTOM".into(),
            authorizer_id: "au".into(),
            ..Default::default()
        },
        authorizer: Authorizer {
            id: "au".into(),
            api_id: "a".into(),
            name: "check".into(),
            r#type: AuthorizerType::Token as i32,
            authorizer_uri: "http://127.0.0.1:9/auth".into(),
            ..Default::default()
        },
        stage: Stage {
            api_id: "a".into(),
            stage_name: "prod".into(),
            deployment_id: "d1".into(),
            variables: BTreeMap::from([("backend".into(), "127.0.0.1:9".into())]),
            canary: Some(CanarySettings {
                deployment_id: "d1".into(),
                percent_traffic: 10.0,
                ..Default::default()
            }),
            access_log_settings: Some(AccessLogSettings {
                format: "JSON".into(),
                destination: "stderr".into(),
            }),
            method_settings: vec![MethodThrottle {
                resource_path: "*".into(),
                http_method: "*".into(),
                throttle: Some(ThrottleSettings {
                    rate_limit: 100.0,
                    burst_limit: 10,
                }),
            }],
            ..Default::default()
        },
        plan: UsagePlan {
            id: "p1".into(),
            name: "gold".into(),
            throttle: Some(ThrottleSettings {
                rate_limit: 5.0,
                burst_limit: 5,
            }),
            quota: Some(QuotaSettings {
                limit: 1000,
                period: QuotaPeriod::Week as i32,
                offset: 2,
            }),
            api_stages: vec![UsagePlanStage {
                api_id: "a".into(),
                stage: "prod".into(),
                ..Default::default()
            }],
            ..Default::default()
        },
    }
}

/// The validate functions the admin API's handlers call on these fields:
/// CreateRestApi, PutMethod, CreateAuthorizer, CreateStage and
/// CreateUsagePlan (their store lookups, such as whether the stage's
/// deployment exists, pass here by construction).
fn admin_api_verdict(c: &Config) -> Result<(), String> {
    let checks = || -> ApiResult<()> {
        let protocol = validate::protocol("protocol", c.api.protocol)?;
        validate::api_key_source("api_key_source", c.api.api_key_source)?;
        validate::endpoint_type("endpoint_type", c.api.endpoint_type)?;
        validate::websocket_api(&c.api, protocol)?;
        validate::authorizer(&c.authorizer)?;
        validate::authorizer_in("authorizer.type", protocol, c.authorizer.r#type())?;
        validate::method_key("method.http_method", protocol, &c.method.http_method)?;
        let authorizer = (c.method.authorizer_id == c.authorizer.id).then(|| c.authorizer.r#type());
        validate::method_in("method", &c.method, protocol, authorizer)?;
        if let Some(integration) = &c.method.integration {
            let scope = Scope {
                protocol: Some(protocol),
                method: Some(&c.method),
                ..Scope::path(resource_path(c))
            };
            validate::integration_in("method.integration", integration, &scope)?;
        }
        validate::stage(&c.stage, protocol)?;
        validate::usage_plan(&c.plan, |_| protocol)?;
        Ok(())
    };
    checks().map_err(|e| e.to_string())
}

/// What a node does with the snapshot the control plane would send.
fn node_verdict(c: &Config) -> Result<(), String> {
    let wrap = |name: String, body| ConfigResource {
        name,
        resource: Some(body),
    };
    let mut deployment = Deployment {
        id: "d1".into(),
        api_id: "a".into(),
        protocol: protocol(c) as i32,
        // What CreateDeployment copies from the API: nodes read them here
        // (the API record they get carries only what routing uses).
        route_selection_expression: c.api.route_selection_expression.clone(),
        binary_media_types: c.api.binary_media_types.clone(),
        resources: vec![
            Resource {
                id: "r0".into(),
                api_id: "a".into(),
                path: "/".into(),
                ..Default::default()
            },
            Resource {
                id: "r1".into(),
                api_id: "a".into(),
                parent_id: "r0".into(),
                path_part: "pets".into(),
                path: "/pets".into(),
            },
            Resource {
                id: "r2".into(),
                api_id: "a".into(),
                parent_id: "r1".into(),
                path_part: "{petId}".into(),
                path: RESOURCE_PATH.into(),
            },
        ],
        methods: vec![c.method.clone()],
        authorizers: vec![c.authorizer.clone()],
        ..Default::default()
    };
    if is_websocket(c) {
        // Its routes are keys on the root, its only resource.
        deployment.resources.truncate(1);
    }
    let resources = [
        wrap(resource_name::api("a"), Body::Api(c.api.clone())),
        wrap(
            resource_name::deployment("a", "d1"),
            Body::Deployment(deployment),
        ),
        wrap(
            resource_name::stage("a", "prod"),
            Body::Stage(c.stage.clone()),
        ),
        wrap(
            resource_name::usage_plan("p1"),
            Body::UsagePlan(c.plan.clone()),
        ),
    ];
    compile::compile(
        1,
        &resources,
        &RuntimeTables::empty(),
        &AccessLogSinks::default(),
    )
    .map(drop)
    .map_err(|e| e.to_string())
}

type Change = fn(&mut Config);

fn integration(c: &mut Config) -> &mut Integration {
    c.method.integration.as_mut().unwrap()
}

fn mock(status: u32) -> Integration {
    Integration {
        r#type: IntegrationType::Mock as i32,
        mock: Some(MockResponse {
            status_code: status,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn jwt(c: &mut Config) {
    c.method.authorization_type = "JWT".into();
    c.authorizer = Authorizer {
        r#type: AuthorizerType::Jwt as i32,
        authorizer_uri: String::new(),
        jwt: Some(JwtConfiguration {
            issuer: "https://idp".into(),
            audiences: vec!["pets".into()],
            jwks_uri: "https://idp/jwks".into(),
            algorithms: vec!["RS256".into(), "ES256".into()],
            leeway_seconds: 30,
        }),
        ..c.authorizer.clone()
    };
}

fn jwt_settings(c: &mut Config) -> &mut JwtConfiguration {
    jwt(c);
    c.authorizer.jwt.as_mut().unwrap()
}

/// A WEBSOCKET API whose `$connect` route is authorized by a REQUEST
/// authorizer; its stage throttles a route by key.
fn websocket(c: &mut Config) {
    c.api.protocol = ApiProtocol::Websocket as i32;
    c.api.route_selection_expression = "$request.body.action".into();
    c.method.resource_id = "r0".into();
    c.method.http_method = "$connect".into();
    integration(c).uri = "http://127.0.0.1:9/connect".into();
    c.authorizer.r#type = AuthorizerType::Request as i32;
    c.authorizer.identity_source = "method.request.header.X-Key".into();
    c.stage.canary = None;
    c.stage.method_settings[0].resource_path = "/".into();
    c.stage.method_settings[0].http_method = "sendMessage".into();
}

/// A WEBSOCKET API's custom route `key`, unauthorized.
fn websocket_route(c: &mut Config, key: &str) {
    websocket(c);
    c.method.http_method = key.into();
    c.method.authorization_type = "NONE".into();
    c.method.authorizer_id.clear();
}

/// Configurations both planes accept.
const VALID: &[(&str, Change)] = &[
    ("the base configuration", |_| {}),
    ("a mock integration", |c| {
        c.method.integration = Some(mock(204))
    }),
    ("a backend from a stage variable", |c| {
        integration(c).uri = "http://${stageVariables.backend}/pets/{petId}".into()
    }),
    ("the longest integration timeout", |c| {
        integration(c).timeout_ms = 29_000
    }),
    ("a JWT authorizer", jwt),
    ("a REQUEST authorizer", |c| {
        c.authorizer.r#type = AuthorizerType::Request as i32;
        c.authorizer.identity_source = "method.request.header.X-Key".into();
    }),
    ("an HTTP API", |c| c.api.protocol = ApiProtocol::Http as i32),
    ("an API whose protocol is left to the default", |c| {
        c.api.protocol = 0
    }),
    ("a canary taking all traffic", |c| {
        c.stage.canary.as_mut().unwrap().percent_traffic = 100.0
    }),
    ("no quota", |c| c.plan.quota = None),
    ("a WEBSOCKET API", websocket),
    ("a two-way WebSocket route", |c| {
        websocket_route(c, "sendMessage");
        c.method.route_response_selection_expression = "$default".into();
    }),
    ("a WebSocket $connect requiring an API key", |c| {
        websocket(c);
        c.method.authorization_type = "AWS_IAM".into();
        c.method.authorizer_id.clear();
        c.method.api_key_required = true;
    }),
    ("a usage plan throttling a WebSocket route by key", |c| {
        websocket(c);
        c.plan.api_stages[0].throttle = c.stage.method_settings.clone();
    }),
    ("a WebSocket route calling a function", |c| {
        websocket_route(c, "$default");
        c.method.integration = Some(Integration {
            r#type: IntegrationType::AwsProxy as i32,
            uri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:chat/invocations".into(),
            ..Default::default()
        })
    }),
    ("a plain HTTP integration on a WebSocket route", |c| {
        websocket_route(c, "sendMessage");
        integration(c).r#type = IntegrationType::Http as i32;
        integration(c).http_method = "POST".into();
    }),
    (
        "a WebSocket route's HTTP integration mapped by templates",
        |c| {
            websocket_route(c, "sendMessage");
            let i = integration(c);
            i.r#type = IntegrationType::Http as i32;
            i.template_selection_expression = "${request.body.kind}".into();
            i.request_templates = BTreeMap::from([
                (
                    "join".to_owned(),
                    "{\"id\": \"$context.connectionId\"}".to_owned(),
                ),
                ("$default".to_owned(), "$input.body".to_owned()),
            ]);
            i.integration_responses.push(IntegrationResponse {
                integration_response_key: "$default".into(),
                template_selection_expression: "${integration.response.statuscode}".into(),
                response_templates: BTreeMap::from([("200".to_owned(), "ok".to_owned())]),
                ..Default::default()
            });
        },
    ),
    ("a function behind its invocation URI", |c| {
        c.method.integration = Some(Integration {
            r#type: IntegrationType::AwsProxy as i32,
            uri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:pets:live/invocations".into(),
            ..Default::default()
        })
    }),
];

/// Configurations both planes refuse.
const INVALID: &[(&str, Change)] = &[
    (
        "a WEBSOCKET API without a route selection expression",
        |c| {
            websocket(c);
            c.api.route_selection_expression.clear();
        },
    ),
    ("a route selection expression reading a header", |c| {
        websocket(c);
        c.api.route_selection_expression = "$request.header.action".into();
    }),
    ("a route selection expression on a REST API", |c| {
        c.api.route_selection_expression = "$request.body.action".into();
    }),
    ("a WebSocket route key starting with '$'", |c| {
        websocket_route(c, "$message")
    }),
    ("a WebSocket route key of 129 characters", |c| {
        websocket_route(c, &"k".repeat(129))
    }),
    ("an authorized WebSocket route other than $connect", |c| {
        websocket(c);
        c.method.http_method = "sendMessage".into();
    }),
    ("an API key on a WebSocket route other than $connect", |c| {
        websocket_route(c, "$default");
        c.method.api_key_required = true;
    }),
    ("a TOKEN authorizer in a WEBSOCKET API", |c| {
        websocket(c);
        c.authorizer.r#type = AuthorizerType::Token as i32;
        c.authorizer.identity_source = "Authorization".into();
    }),
    ("JWT authorization of $connect", |c| {
        websocket(c);
        jwt(c);
        c.authorizer.identity_source.clear();
    }),
    ("an AWS service integration on a WebSocket route", |c| {
        websocket_route(c, "sendMessage");
        c.method.integration = Some(Integration {
            r#type: IntegrationType::Aws as i32,
            uri: "arn:aws:apigateway:us-east-1:sqs:path/123456789012/chat".into(),
            http_method: "POST".into(),
            ..Default::default()
        })
    }),
    (
        "a WebSocket template selection expression reading a header",
        |c| {
            websocket_route(c, "sendMessage");
            integration(c).r#type = IntegrationType::Http as i32;
            integration(c).template_selection_expression = "${request.header.x}".into();
            integration(c)
                .request_templates
                .insert("$default".into(), "{}".into());
        },
    ),
    (
        "integration responses on a WebSocket route's HTTP integration",
        |c| {
            websocket_route(c, "$default");
            integration(c).r#type = IntegrationType::Http as i32;
            integration(c)
                .integration_responses
                .push(IntegrationResponse {
                    status_code: "200".into(),
                    ..Default::default()
                });
        },
    ),
    (
        "an integration response key that is no pattern on a WebSocket MOCK",
        |c| {
            websocket_route(c, "$default");
            c.method.integration = Some(Integration {
                request_templates: BTreeMap::from([(
                    "$default".to_owned(),
                    "{\"statusCode\": 200}".to_owned(),
                )]),
                integration_responses: vec![IntegrationResponse {
                    integration_response_key: "2\\d\\d".into(),
                    ..Default::default()
                }],
                ..mock(200)
            });
        },
    ),
    ("a route response selection other than $default", |c| {
        websocket_route(c, "sendMessage");
        c.method.route_response_selection_expression = "$request.body.x".into();
    }),
    ("a two-way $disconnect", |c| {
        websocket_route(c, "$disconnect");
        c.method.route_response_selection_expression = "$default".into();
    }),
    ("a route response selection on a REST method", |c| {
        c.method.route_response_selection_expression = "$default".into();
    }),
    ("a request model on a WebSocket $connect", |c| {
        websocket_route(c, "$connect");
        c.method
            .request_models
            .insert("$default".into(), "Message".into());
    }),
    ("a method response on a WebSocket route", |c| {
        websocket_route(c, "sendMessage");
        c.method.method_responses.push(MethodResponse {
            status_code: "200".into(),
            ..Default::default()
        });
    }),
    ("a cache on a WEBSOCKET API's stage", |c| {
        websocket(c);
        c.stage.cache_cluster_enabled = true;
        c.stage.cache_cluster_size = "0.5".into();
    }),
    ("a canary on a WEBSOCKET API's stage", |c| {
        websocket(c);
        c.stage.canary = valid().stage.canary;
    }),
    ("a usage plan throttling a route key of a REST API", |c| {
        c.plan.api_stages[0].throttle = vec![MethodThrottle {
            resource_path: "/".into(),
            http_method: "sendMessage".into(),
            throttle: c.stage.method_settings[0].throttle,
        }];
    }),
    ("a WebSocket stage throttle on a path", |c| {
        websocket(c);
        c.stage.method_settings[0].resource_path = "/chat".into();
    }),
    ("binary media types on a WEBSOCKET API", |c| {
        websocket(c);
        c.api.binary_media_types = vec!["image/png".into()];
    }),
    ("an unknown endpoint type", |c| c.api.endpoint_type = 9),
    ("an unknown API key source", |c| c.api.api_key_source = 9),
    ("an unknown method verb", |c| {
        c.method.http_method = "FETCH".into()
    }),
    ("an ftp integration", |c| {
        integration(c).uri = "ftp://127.0.0.1/pets".into()
    }),
    ("a path parameter choosing the backend host", |c| {
        integration(c).uri = "http://{petId}/pets".into()
    }),
    ("a path parameter the resource lacks", |c| {
        integration(c).uri = "http://127.0.0.1:9/{ownerId}".into()
    }),
    ("an integration timeout below 50 ms", |c| {
        integration(c).timeout_ms = 10
    }),
    ("an integration timeout above 29 s", |c| {
        integration(c).timeout_ms = 30_000
    }),
    ("an unknown integration verb", |c| {
        integration(c).http_method = "FETCH".into()
    }),
    ("an integration without a type", |c| {
        integration(c).r#type = 0
    }),
    ("a function URI that names no function", |c| {
        c.method.integration = Some(Integration {
            r#type: IntegrationType::AwsProxy as i32,
            uri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:pets/invocations".into(),
            ..Default::default()
        })
    }),
    ("a mock status above 599", |c| {
        c.method.integration = Some(mock(600))
    }),
    ("a mock header that is no header name", |c| {
        let mut m = mock(200);
        m.mock
            .as_mut()
            .unwrap()
            .headers
            .insert("bad header".into(), "x".into());
        c.method.integration = Some(m);
    }),
    ("an HMAC JWT algorithm", |c| {
        jwt_settings(c).algorithms = vec!["HS256".into()]
    }),
    ("a JWT leeway above 300 s", |c| {
        jwt_settings(c).leeway_seconds = 301
    }),
    ("a JWKS URL that is not http(s)", |c| {
        jwt_settings(c).jwks_uri = "file:///jwks".into()
    }),
    ("a JWT without an issuer", |c| {
        jwt_settings(c).issuer.clear()
    }),
    ("an authorizer result TTL above 3600 s", |c| {
        c.authorizer.result_ttl_seconds = Some(3601)
    }),
    ("an authorizer timeout below 100 ms", |c| {
        c.authorizer.timeout_ms = 99
    }),
    ("a token validation expression that does not parse", |c| {
        c.authorizer.identity_validation_expression = "(".into()
    }),
    ("an authorizer URL that is not http(s)", |c| {
        c.authorizer.authorizer_uri = "ftp://127.0.0.1/auth".into()
    }),
    ("a token header that is no header name", |c| {
        c.authorizer.identity_source = "bad header".into()
    }),
    (
        "a cached REQUEST authorizer without identity sources",
        |c| c.authorizer.r#type = AuthorizerType::Request as i32,
    ),
    ("an authorizer without a name", |c| {
        c.authorizer.name.clear()
    }),
    ("a stage variable value with a space", |c| {
        c.stage.variables.insert("backend".into(), "a b".into());
    }),
    ("a stage variable name with a dash", |c| {
        c.stage.variables.insert("a-b".into(), "x".into());
    }),
    ("a stage throttle rate that is not a number", |c| {
        c.stage.method_settings[0]
            .throttle
            .as_mut()
            .unwrap()
            .rate_limit = f64::NAN
    }),
    ("a stage throttle rate without a burst", |c| {
        c.stage.method_settings[0]
            .throttle
            .as_mut()
            .unwrap()
            .burst_limit = 0
    }),
    ("a stage throttle on a path without '/'", |c| {
        c.stage.method_settings[0].resource_path = "pets".into()
    }),
    ("a stage method setting without a throttle", |c| {
        c.stage.method_settings[0].throttle = None
    }),
    ("a canary over 100 percent", |c| {
        c.stage.canary.as_mut().unwrap().percent_traffic = 150.0
    }),
    ("a canary percent that is not a number", |c| {
        c.stage.canary.as_mut().unwrap().percent_traffic = f64::NAN
    }),
    ("an access log format with an unknown variable", |c| {
        c.stage.access_log_settings.as_mut().unwrap().format = "$context.nope".into()
    }),
    ("an access log file path that is not absolute", |c| {
        c.stage.access_log_settings.as_mut().unwrap().destination = "file:rel.log".into()
    }),
    ("a stage name with a space", |c| {
        c.stage.stage_name = "pr od".into()
    }),
    ("a negative plan rate", |c| {
        c.plan.throttle.as_mut().unwrap().rate_limit = -1.0
    }),
    ("a plan burst above a million", |c| {
        c.plan.throttle.as_mut().unwrap().burst_limit = 2_000_000
    }),
    ("a weekly quota starting on day 7", |c| {
        c.plan.quota.as_mut().unwrap().offset = 7
    }),
    ("a quota without a period", |c| {
        c.plan.quota.as_mut().unwrap().period = 0
    }),
    ("a plan listing a stage twice", |c| {
        let again = c.plan.api_stages[0].clone();
        c.plan.api_stages.push(again);
    }),
    ("a plan without a name", |c| c.plan.name.clear()),
];

#[test]
fn both_planes_accept_the_same_valid_configurations() {
    for (what, change) in VALID {
        let mut c = valid();
        change(&mut c);
        assert_eq!(admin_api_verdict(&c), Ok(()), "admin API on {what}");
        assert_eq!(node_verdict(&c), Ok(()), "node on {what}");
    }
}

#[test]
fn both_planes_refuse_the_same_invalid_configurations() {
    let mut disagreements = Vec::new();
    for (what, change) in INVALID {
        let mut c = valid();
        change(&mut c);
        let (admin, node) = (admin_api_verdict(&c), node_verdict(&c));
        if admin.is_ok() || node.is_ok() {
            disagreements.push(format!("{what}: admin API {admin:?}, node {node:?}"));
        }
    }
    assert!(
        disagreements.is_empty(),
        "accepted by at least one plane:\n{}",
        disagreements.join("\n")
    );
}

/// Where both refuse, they name the same field: the node's reason carries
/// the admin API's `field: reason` (under its resource), so an operator
/// reading a NACK sees what the admin API would have said.
#[test]
fn a_node_refuses_with_the_admin_apis_field_and_reason() {
    let mut checked = 0;
    for (what, change) in INVALID {
        let mut c = valid();
        change(&mut c);
        let (Err(admin), Err(node)) = (admin_api_verdict(&c), node_verdict(&c)) else {
            continue;
        };
        // The admin API names a method's integration fields under its
        // request ("method.integration.uri"), the node under the route it
        // compiles ("GET /pets/{petId}: integration.uri"); every other
        // field is spelled the same. Field and reason must both be there.
        let expected = admin
            .strip_prefix("method.")
            .filter(|rest| rest.starts_with("integration."))
            .unwrap_or(&admin);
        assert!(
            node.contains(expected),
            "{what}: node said '{node}', admin API '{admin}'"
        );
        checked += 1;
    }
    // Every case was compared (none skipped as accepted by a plane).
    assert_eq!(checked, INVALID.len(), "cases refused by both planes");
}
