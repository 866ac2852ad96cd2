//! The declarative document `ApplyConfiguration` takes (`archwayctl apply
//! -f`) and `ExportConfiguration` writes: APIs with their routes,
//! authorizers and stages, usage plans, API keys by name and IAM users and
//! roles, in the shape an operator would write by hand. Parsed on the
//! server, so every client shares one reading; serialized for export, with
//! defaults left out so an exported file reads like a written one.
//!
//! ```yaml
//! apis:
//!   - name: pets
//!     id: pets              # optional: fixes the API id (and its host name)
//!     protocol: REST        # or HTTP
//!     routes:
//!       - path: /pets/{petId}
//!         method: GET
//!         integration:
//!           type: HTTP_PROXY
//!           uri: http://${stageVariables.backend}/pets/{petId}
//!           timeout_ms: 5000
//!       - path: /health
//!         method: GET
//!         integration: { type: MOCK, status: 200, body: "ok" }
//!     stages:
//!       - name: prod
//!         variables: { backend: "127.0.0.1:9000" }
//!         canary: { percent_traffic: 10 }   # new versions go to the canary first
//!         access_log: { format: JSON, destination: "file:/var/log/archway/pets.log" }
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyFile {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apis: Vec<ApiSpec>,
    /// Matched by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage_plans: Vec<UsagePlanSpec>,
    /// Matched by name. A key's value is a secret: it is in a file only to
    /// import a known value, and never exported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_keys: Vec<ApiKeySpec>,
    /// IAM users and roles with their identity policies, matched by name.
    /// Access keys are secrets and not declared here (`archwayctl iam
    /// create-key`).
    #[serde(default, skip_serializing_if = "IamSpec::is_empty")]
    pub iam: IamSpec,
}

/// ```yaml
/// api_keys:
///   - name: partner-a
///     usage_plans: [gold]      # plan names
///     enabled: true            # default
///     # value: "…"            # only to import a known value (20+ characters)
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// The key's value, to import one; absent: a new key gets a generated
    /// value (returned once), an existing key keeps its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage_plans: Vec<String>,
}

/// ```yaml
/// iam:
///   users:
///     - name: alice
///       policies:
///         - { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: "execute-api:Invoke", Resource: "*" }] }
///   roles:
///     - name: deployer
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<PrincipalSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<PrincipalSpec>,
}

impl IamSpec {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.roles.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// IAM JSON policy documents (in YAML or JSON syntax).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<serde_json::Value>,
}

/// ```yaml
/// usage_plans:
///   - name: gold
///     throttle: { rate_limit: 50, burst_limit: 10 }
///     quota: { limit: 10000, period: DAY }
///     stages:
///       - api: pets            # an API's id or name
///         stage: prod
///         method_throttles:
///           - { path: /pets, method: GET, rate_limit: 5, burst_limit: 5 }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsagePlanSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<PlanStageSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSpec {
    pub limit: u64,
    /// DAY, WEEK or MONTH.
    pub period: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanStageSpec {
    pub api: String,
    pub stage: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub method_throttles: Vec<MethodThrottleSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// REST (default), HTTP or WEBSOCKET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// WEBSOCKET APIs (required there): what picks a message's route, e.g.
    /// `$request.body.action`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_selection_expression: Option<String>,
    /// HEADER (default) or AUTHORIZER.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_source: Option<String>,
    /// A resource policy, written as the IAM JSON document (in YAML or JSON
    /// syntax), e.g. to allow only some source CIDRs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<serde_json::Value>,
    /// REGIONAL (default) or PRIVATE (served only on private listeners and
    /// CIDRs of the nodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_type: Option<String>,
    /// Content types whose payloads are binary (`image/png`, `image/*`,
    /// `*/*`), as AWS's binaryMediaTypes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binary_media_types: Vec<String>,
    /// HTTP APIs only: the gateway answers CORS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors: Option<CorsSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorizers: Vec<AuthorizerSpec>,
    /// JSON Schemas (draft 4) routes' request models name, matched by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<ModelSpec>,
    /// Matched by name; routes name them in `request_validator`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_validators: Vec<RequestValidatorSpec>,
    /// Customised gateway responses, matched by type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateway_responses: Vec<GatewayResponseSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageSpec>,
}

/// ```yaml
/// cors:
///   allow_origins: ["https://app.example.com"]
///   allow_methods: [GET, POST]
///   allow_headers: [content-type]
///   max_age_seconds: 600
///   allow_credentials: true
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_origins: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_methods: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expose_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_credentials: bool,
}

/// ```yaml
/// models:
///   - name: Pet
///     schema: { type: object, required: [name], properties: { name: { type: string } } }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Default application/json.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The JSON Schema, in YAML or JSON syntax (or as a string of JSON).
    pub schema: serde_json::Value,
}

/// `request_validators: [{ name: all, body: true, parameters: true }]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestValidatorSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub body: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub parameters: bool,
}

/// ```yaml
/// gateway_responses:
///   - type: BAD_REQUEST_BODY
///     status_code: "422"
///     response_parameters: { gatewayresponse.header.Access-Control-Allow-Origin: "'*'" }
///     response_templates: { application/json: '{"message": "$context.error.validationErrorString"}' }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayResponseSpec {
    #[serde(rename = "type")]
    pub response_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status_code: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_parameters: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_templates: BTreeMap<String, String>,
}

/// One status code a route declares (AWS's MethodResponse).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodResponseSpec {
    pub status_code: String,
    /// `method.response.header.NAME` -> required.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_parameters: BTreeMap<String, bool>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_models: BTreeMap<String, String>,
}

/// How an HTTP, AWS or MOCK integration's answer becomes the route's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationResponseSpec {
    /// REST and HTTP APIs: the method response to answer with.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status_code: String,
    /// WEBSOCKET routes: `$default` or `/REGEX/` over the status code.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub integration_response_key: String,
    /// WEBSOCKET routes: what picks a key of `response_templates`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub template_selection_expression: String,
    /// Empty: the default response.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub selection_pattern: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_parameters: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_templates: BTreeMap<String, String>,
    /// CONVERT_TO_TEXT or CONVERT_TO_BINARY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_handling: Option<String>,
}

/// An authorizer, matched by name within its API.
///
/// ```yaml
/// authorizers:
///   - name: users                 # JWT (Cognito user pools, OIDC)
///     issuer: https://idp.example
///     audiences: [my-app]
///     jwks_uri: http://idp.example/.well-known/jwks.json
///   - name: tokens                # TOKEN: a custom authorizer given one header
///     type: TOKEN
///     uri: http://127.0.0.1:9100/authorize
///     identity_source: method.request.header.Authorization
///     validation_expression: "^Bearer [A-Za-z0-9._-]+$"
///     ttl_seconds: 300
///   - name: tenants               # REQUEST: keyed on several request parts
///     type: REQUEST
///     uri: http://127.0.0.1:9100/authorize
///     identity_source: method.request.header.X-Tenant, context.sourceIp
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizerSpec {
    pub name: String,
    /// JWT (the default), TOKEN or REQUEST.
    #[serde(default = "jwt_type", rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identity_source: String,
    // JWT
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub issuer: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jwks_uri: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub algorithms: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub leeway_seconds: u32,
    // TOKEN and REQUEST
    /// The authorizer endpoint (http://).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uri: String,
    /// How long answers are reused per identity; default 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u32>,
    /// TOKEN: a regular expression the token must match.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub validation_expression: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeout_ms: u32,
}

fn jwt_type() -> String {
    "JWT".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// WEBSOCKET APIs: the route (`$connect`, `$disconnect`, `$default` or
    /// a custom key such as `sendMessage`), instead of a path and method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_key: Option<String>,
    /// REST and HTTP APIs: the resource path and the verb.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub method: String,
    /// The operation's name (OpenAPI's operationId): what generated SDKs
    /// call the method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_name: Option<String>,
    pub integration: IntegrationSpec,
    /// WEBSOCKET APIs: `$default` sends the integration's answer back to
    /// the client (two-way); absent, the route is one-way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_response_selection_expression: Option<String>,
    /// WEBSOCKET APIs: what picks the key of `request_models` whose model
    /// each message must match (`${request.body.PATH}`, static text);
    /// absent: `$default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_selection_expression: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub api_key_required: bool,
    /// The name of an authorizer of this API (JWT, TOKEN or REQUEST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer: Option<String>,
    /// `AWS_IAM`: requests must be SigV4-signed by an IAM principal whose
    /// policies allow them. (With `authorizer`, the authorizer's kind
    /// decides; leave this out.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<String>,
    /// With an authorizer: scopes of which the token needs one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// `method.request.querystring|header|path.NAME` -> required.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_parameters: BTreeMap<String, bool>,
    /// Content type (or `$default`) -> a model's name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_models: BTreeMap<String, String>,
    /// The name of a request validator of this API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_validator: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub method_responses: Vec<MethodResponseSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IntegrationSpec {
    HttpProxy {
        uri: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        http_method: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u32>,
        /// `method.request.{path,querystring,header}.NAME` that tell
        /// cached responses apart.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        cache_key_parameters: Vec<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        request_parameters: BTreeMap<String, String>,
    },
    /// Without request templates: the fixed status, headers and body. With
    /// them (AWS's MOCK): the template's `{"statusCode": N}` picks the
    /// integration response.
    Mock {
        #[serde(default = "default_status")]
        status: u32,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        body: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        request_parameters: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        request_templates: BTreeMap<String, String>,
        /// WEBSOCKET routes: what picks a key of `request_templates`.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        template_selection_expression: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        passthrough_behavior: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        integration_responses: Vec<IntegrationResponseSpec>,
    },
    /// An HTTP backend behind mapping templates (AWS's HTTP integration).
    Http {
        uri: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        http_method: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u32>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        cache_key_parameters: Vec<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        request_parameters: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        request_templates: BTreeMap<String, String>,
        /// WEBSOCKET routes: what picks a key of `request_templates`.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        template_selection_expression: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        passthrough_behavior: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content_handling: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        integration_responses: Vec<IntegrationResponseSpec>,
    },
    /// An AWS service action or path (`arn:aws:apigateway:…`), or a
    /// function behind mapping, SigV4-signed.
    Aws {
        uri: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        http_method: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u32>,
        /// An IAM role ARN or an outbound credential's name.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        credentials: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        endpoint_url: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        cache_key_parameters: Vec<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        request_parameters: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        request_templates: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        passthrough_behavior: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content_handling: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        integration_responses: Vec<IntegrationResponseSpec>,
    },
    /// A function with AWS's proxy event, or (HTTP APIs) an AWS service
    /// `subtype` with its `request_parameters`.
    AwsProxy {
        #[serde(default, skip_serializing_if = "String::is_empty")]
        uri: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        subtype: String,
        /// "1.0" (default) or "2.0" (HTTP APIs).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        payload_format_version: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u32>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        credentials: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        endpoint_url: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        cache_key_parameters: Vec<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        request_parameters: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content_handling: Option<String>,
    },
}

fn default_status() -> u32 {
    200
}

impl IntegrationSpec {
    /// Whether a MOCK answers with its fixed status, headers and body: when
    /// one of them is set, or it has no request template to pick an
    /// integration response (AWS's MOCK). The planner stores it so and the
    /// OpenAPI export writes it so.
    pub fn has_fixed_answer(&self) -> bool {
        match self {
            Self::Mock {
                status,
                headers,
                body,
                request_templates,
                ..
            } => {
                *status != 200
                    || !headers.is_empty()
                    || !body.is_empty()
                    || request_templates.is_empty()
            }
            _ => false,
        }
    }

    /// A MOCK with a fixed answer and nothing else (no templates, mappings
    /// or integration responses).
    pub fn fixed_mock(status: u32, headers: BTreeMap<String, String>, body: String) -> Self {
        Self::Mock {
            status,
            headers,
            body,
            request_parameters: BTreeMap::new(),
            request_templates: BTreeMap::new(),
            template_selection_expression: String::new(),
            passthrough_behavior: None,
            integration_responses: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanarySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_log: Option<AccessLogSpec>,
    /// Throttle for the whole stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleSpec>,
    /// Throttles for single methods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub method_throttles: Vec<MethodThrottleSpec>,
    /// The stage cache; absent: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<StageCacheSpec>,
}

/// `cache: { enabled: true, size: "0.5", ttl_seconds: 300, methods: [...] }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageCacheSpec {
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// One of AWS's cluster sizes, in megabytes; absent: "0.5".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<MethodCacheSpec>,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Caching of one method (`*` for any path or verb).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodCacheSpec {
    pub path: String,
    pub method: String,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_authorization: Option<bool>,
    /// FAIL_WITH_403, SUCCEED_WITH_RESPONSE_HEADER (default) or
    /// SUCCEED_WITHOUT_RESPONSE_HEADER.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unauthorized_strategy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSpec {
    pub rate_limit: f64,
    pub burst_limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodThrottleSpec {
    pub path: String,
    pub method: String,
    pub rate_limit: f64,
    pub burst_limit: u32,
}

/// `access_log: { format: JSON, destination: stdout }`; format is JSON, CLF
/// or a `$context` template; destination is stdout, stderr or file:/path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessLogSpec {
    pub format: String,
    #[serde(default = "default_destination")]
    pub destination: String,
}

fn default_destination() -> String {
    "stdout".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanarySpec {
    pub percent_traffic: f64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stage_variable_overrides: BTreeMap<String, String>,
}

/// A document that does not parse: the reason and, where the parser knows
/// it, the 1-based line and column.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub message: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "line {line}, column {column}: ")?,
            (Some(line), None) => write!(f, "line {line}: ")?,
            _ => {}
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for SyntaxError {}

impl ApplyFile {
    /// Reads a document: YAML, or JSON (what a web UI sends, and
    /// `export --format json`), read with a JSON parser for speed.
    ///
    /// Text starting with `{` is tried as JSON first; YAML's flow form
    /// (`{apis: [...]}`) starts the same way, so when JSON refuses it the
    /// text is read as YAML (JSON is YAML too). Which error is reported when
    /// both refuse: JSON's, when the text is valid JSON syntax and only its
    /// content is wrong (a misspelt field: JSON's message and position are
    /// the precise ones); YAML's otherwise (the text is not JSON at all).
    pub fn parse(text: &str) -> Result<Self, SyntaxError> {
        if text.trim_start().starts_with('{') {
            let json_error = match serde_json::from_str(text) {
                Ok(doc) => return Ok(doc),
                Err(e) => SyntaxError {
                    message: e.to_string(),
                    line: Some(e.line() as u32),
                    column: Some(e.column() as u32),
                },
            };
            return match Self::parse_yaml(text) {
                Ok(doc) => Ok(doc),
                Err(_) if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() => {
                    Err(json_error)
                }
                Err(yaml_error) => Err(yaml_error),
            };
        }
        Self::parse_yaml(text)
    }

    fn parse_yaml(text: &str) -> Result<Self, SyntaxError> {
        serde_saphyr::from_str(text).map_err(|e| {
            let location = e.location();
            // The position is given separately; the message alone reads
            // better without the parser's source snippet.
            let message = e.to_string();
            let mut message = message.lines().next().unwrap_or_default();
            message = message.strip_prefix("error: ").unwrap_or(message);
            // "line 7 column 23: …": the position is kept apart.
            if let Some((head, rest)) = message.split_once(": ")
                && head.starts_with("line ")
            {
                message = rest;
            }
            let message = message.to_owned();
            SyntaxError {
                message,
                line: location.map(|l| l.line() as u32),
                column: location.map(|l| l.column() as u32),
            }
        })
    }

    /// The document as YAML.
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(self).expect("a document always serializes")
    }

    /// The document as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a document always serializes")
    }

    /// The document as compact JSON (to send, not to read).
    pub fn to_compact_json(&self) -> String {
        serde_json::to_string(self).expect("a document always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shape() {
        let file = ApplyFile::parse(
            r#"
apis:
  - name: pets
    id: pets
    routes:
      - path: /pets/{petId}
        method: GET
        integration:
          type: HTTP_PROXY
          uri: http://${stageVariables.backend}/pets/{petId}
      - path: /health
        method: GET
        integration: { type: MOCK, status: 204 }
    stages:
      - name: prod
        variables: { backend: "127.0.0.1:9000" }
        canary: { percent_traffic: 10 }
"#,
        )
        .unwrap();
        let api = &file.apis[0];
        assert_eq!(api.routes.len(), 2);
        assert!(matches!(
            api.routes[1].integration,
            IntegrationSpec::Mock { status: 204, .. }
        ));
        assert_eq!(api.stages[0].canary.as_ref().unwrap().percent_traffic, 10.0);
    }

    #[test]
    fn syntax_errors_have_a_line_and_column() {
        let err = ApplyFile::parse("apis:\n  - name: x\n    routes: [\n").unwrap_err();
        assert!(err.line.is_some() && err.column.is_some(), "{err:?}");
        assert!(!err.message.starts_with("error"), "{err:?}");
        assert!(!err.message.starts_with("line"), "{err:?}");
    }

    #[test]
    fn a_document_serializes_back_to_itself() {
        let text = "apis:\n  - name: pets\n    routes:\n      - { path: /a, method: GET, integration: { type: MOCK, status: 204 } }\niam:\n  users:\n    - { name: alice }\n";
        let file = ApplyFile::parse(text).unwrap();
        assert_eq!(ApplyFile::parse(&file.to_yaml()).unwrap(), file);
        assert_eq!(ApplyFile::parse(&file.to_json()).unwrap(), file);
        let err = ApplyFile::parse("{\"apis\": [\n  {\"nme\": 1}]}").unwrap_err();
        assert_eq!(err.line, Some(2), "{err:?}");
        assert!(err.message.contains("nme"), "{err:?}");
    }

    /// YAML's flow form starts with `{` like JSON and is read as YAML; the
    /// error of text that is neither is YAML's (where YAML stopped).
    #[test]
    fn a_yaml_flow_document_is_read_as_yaml() {
        let file = ApplyFile::parse(
            "{apis: [{name: pets, routes: [{path: /a, method: GET, integration: {type: MOCK}}]}]}",
        )
        .unwrap();
        assert_eq!(file.apis[0].name, "pets");
        assert_eq!(file.apis[0].routes[0].path, "/a");
        // Neither JSON nor YAML: YAML's error, with its position.
        let err = ApplyFile::parse("{apis: [\n  {name: pets}\n").unwrap_err();
        assert!(err.line.is_some(), "{err:?}");
        // Valid JSON with a wrong field: JSON's error (checked above too).
        let err = ApplyFile::parse("{\"apis\": [{\"name\": \"a\", \"x\": 1}]}").unwrap_err();
        assert!(err.message.contains("unknown field `x`"), "{err:?}");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = ApplyFile::parse("apis:\n  - name: x\n    routs: []\n").unwrap_err();
        assert!(err.to_string().contains("routs"), "{err}");
    }
}
