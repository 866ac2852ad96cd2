//! The declarative file `archwayctl apply -f` reads: APIs with their routes
//! and stages, in the shape an operator would write by hand.
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

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyFile {
    #[serde(default)]
    pub apis: Vec<ApiSpec>,
    /// Matched by name. Keys are not declared in files (they are secrets):
    /// use `archwayctl keys`.
    #[serde(default)]
    pub usage_plans: Vec<UsagePlanSpec>,
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsagePlanSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub throttle: Option<ThrottleSpec>,
    #[serde(default)]
    pub quota: Option<QuotaSpec>,
    #[serde(default)]
    pub stages: Vec<PlanStageSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSpec {
    pub limit: u64,
    /// DAY, WEEK or MONTH.
    pub period: String,
    #[serde(default)]
    pub offset: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanStageSpec {
    pub api: String,
    pub stage: String,
    #[serde(default)]
    pub method_throttles: Vec<MethodThrottleSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSpec {
    pub name: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub protocol: Option<String>,
    /// HEADER (default) or AUTHORIZER.
    #[serde(default)]
    pub api_key_source: Option<String>,
    /// A resource policy, written as the IAM JSON document (in YAML or JSON
    /// syntax), e.g. to allow only some source CIDRs.
    #[serde(default)]
    pub policy: Option<serde_json::Value>,
    /// REGIONAL (default) or PRIVATE (served only on private listeners and
    /// CIDRs of the nodes).
    #[serde(default)]
    pub endpoint_type: Option<String>,
    #[serde(default)]
    pub authorizers: Vec<AuthorizerSpec>,
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
    #[serde(default)]
    pub stages: Vec<StageSpec>,
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizerSpec {
    pub name: String,
    /// JWT (the default), TOKEN or REQUEST.
    #[serde(default = "jwt_type", rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub identity_source: String,
    // JWT
    #[serde(default)]
    pub issuer: String,
    #[serde(default)]
    pub audiences: Vec<String>,
    #[serde(default)]
    pub jwks_uri: String,
    #[serde(default)]
    pub algorithms: Vec<String>,
    #[serde(default)]
    pub leeway_seconds: u32,
    // TOKEN and REQUEST
    /// The authorizer endpoint (http://).
    #[serde(default)]
    pub uri: String,
    /// How long answers are reused per identity; default 300.
    #[serde(default)]
    pub ttl_seconds: Option<u32>,
    /// TOKEN: a regular expression the token must match.
    #[serde(default)]
    pub validation_expression: String,
    #[serde(default)]
    pub timeout_ms: u32,
}

fn jwt_type() -> String {
    "JWT".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub path: String,
    pub method: String,
    pub integration: IntegrationSpec,
    #[serde(default)]
    pub api_key_required: bool,
    /// The name of an authorizer of this API (JWT, TOKEN or REQUEST).
    #[serde(default)]
    pub authorizer: Option<String>,
    /// `AWS_IAM`: requests must be SigV4-signed by an IAM principal whose
    /// policies allow them. (With `authorizer`, the authorizer's kind
    /// decides; leave this out.)
    #[serde(default)]
    pub authorization: Option<String>,
    /// With an authorizer: scopes of which the token needs one.
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IntegrationSpec {
    HttpProxy {
        uri: String,
        #[serde(default)]
        http_method: Option<String>,
        #[serde(default)]
        timeout_ms: Option<u32>,
        /// `method.request.{path,querystring,header}.NAME` that tell
        /// cached responses apart.
        #[serde(default)]
        cache_key_parameters: Vec<String>,
    },
    Mock {
        #[serde(default = "default_status")]
        status: u32,
        #[serde(default)]
        headers: BTreeMap<String, String>,
        #[serde(default)]
        body: String,
    },
}

fn default_status() -> u32 {
    200
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub canary: Option<CanarySpec>,
    #[serde(default)]
    pub access_log: Option<AccessLogSpec>,
    /// Throttle for the whole stage.
    #[serde(default)]
    pub throttle: Option<ThrottleSpec>,
    /// Throttles for single methods.
    #[serde(default)]
    pub method_throttles: Vec<MethodThrottleSpec>,
    /// The stage cache; absent: off.
    #[serde(default)]
    pub cache: Option<StageCacheSpec>,
}

/// `cache: { enabled: true, size: "0.5", ttl_seconds: 300, methods: [...] }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageCacheSpec {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// One of AWS's cluster sizes, in megabytes; absent: "0.5".
    #[serde(default)]
    pub size: Option<String>,
    #[serde(default)]
    pub ttl_seconds: Option<u32>,
    #[serde(default)]
    pub methods: Vec<MethodCacheSpec>,
}

fn yes() -> bool {
    true
}

/// Caching of one method (`*` for any path or verb).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodCacheSpec {
    pub path: String,
    pub method: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub ttl_seconds: Option<u32>,
    #[serde(default)]
    pub require_authorization: Option<bool>,
    /// FAIL_WITH_403, SUCCEED_WITH_RESPONSE_HEADER (default) or
    /// SUCCEED_WITHOUT_RESPONSE_HEADER.
    #[serde(default)]
    pub unauthorized_strategy: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSpec {
    pub rate_limit: f64,
    pub burst_limit: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodThrottleSpec {
    pub path: String,
    pub method: String,
    pub rate_limit: f64,
    pub burst_limit: u32,
}

/// `access_log: { format: JSON, destination: stdout }`; format is JSON, CLF
/// or a `$context` template; destination is stdout, stderr or file:/path.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessLogSpec {
    pub format: String,
    #[serde(default = "default_destination")]
    pub destination: String,
}

fn default_destination() -> String {
    "stdout".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanarySpec {
    pub percent_traffic: f64,
    #[serde(default)]
    pub stage_variable_overrides: BTreeMap<String, String>,
}

impl ApplyFile {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        serde_saphyr::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))
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
    fn unknown_fields_are_refused() {
        let err = ApplyFile::parse("apis:\n  - name: x\n    routs: []\n").unwrap_err();
        assert!(err.to_string().contains("routs"), "{err}");
    }
}
