//! Security schemes (`components.securitySchemes`, Swagger
//! `securityDefinitions`) and each operation's `security`: API keys,
//! SigV4 (AWS_IAM) and the API's authorizers, as AWS writes them. An
//! authorizer is an `apiKey` scheme on the header it reads (what a client
//! must send); with `authorizers`, AWS's `x-amazon-apigateway-authorizer`
//! says how it checks, and `x-archway-authorizer` what AWS cannot say.

use super::context::Context;
use crate::declarative::document::{AuthorizerSpec, RouteSpec};
use crate::openapi::mapping::*;
use archway_proto::identity_source::{HEADER_PREFIX, QUERY_PREFIX};
use serde_json::{Map, Value, json};

/// The schemes: every authorizer of the API (used or not, so they come
/// back on import), and API keys and SigV4 where a route asks for them.
pub(super) fn schemes(cx: &mut Context) -> Map<String, Value> {
    let spec = cx.spec;
    let mut out = Map::new();
    if spec.routes.iter().any(|r| r.api_key_required) {
        out.insert(
            API_KEY_SCHEME.into(),
            json!({ "type": "apiKey", "name": API_KEY_HEADER, "in": "header" }),
        );
    }
    if spec.routes.iter().any(is_iam) {
        // Always with its authtype: without it the scheme would say an
        // `Authorization` header, not SigV4.
        out.insert(
            SIGV4_SCHEME.into(),
            json!({ "type": "apiKey", "name": "Authorization", "in": "header", AUTHTYPE: AUTHTYPE_SIGV4 }),
        );
    }
    let mut described = 0;
    for a in &spec.authorizers {
        if out.contains_key(&a.name) {
            cx.warnings.push(format!(
                "authorizer '{}' has the name export gives {}; the document's scheme of that name is the authorizer's. Rename the authorizer to keep both",
                a.name,
                if a.name == API_KEY_SCHEME { "API keys" } else { "SigV4" }
            ));
        }
        let scheme = authorizer_scheme(a, cx.authorizers);
        described += usize::from(cx.authorizers);
        out.insert(a.name.clone(), scheme);
    }
    if described == 0 && !spec.authorizers.is_empty() {
        cx.warnings.push(format!(
            "how the {} authorizer(s) check requests is left out: export with extensions=authorizers (or apigateway) to include it",
            spec.authorizers.len()
        ));
    }
    out
}

fn is_iam(route: &RouteSpec) -> bool {
    route.authorizer.is_none() && route.authorization.as_deref() == Some("AWS_IAM")
}

/// An authorizer's scheme: where the client puts its identity and, with
/// `described`, AWS's and Archway's extensions.
fn authorizer_scheme(a: &AuthorizerSpec, described: bool) -> Value {
    let (location, name) = identity_parameter(&a.identity_source);
    let mut scheme = Map::new();
    scheme.insert("type".into(), json!("apiKey"));
    scheme.insert("name".into(), json!(name));
    scheme.insert("in".into(), json!(location));
    // Always said, as SigV4's is: without it the scheme reads as an API
    // key, and an import would trade the authorizer for a key check.
    let jwt = a.kind.eq_ignore_ascii_case("JWT");
    let authtype = if jwt { AUTHTYPE_JWT } else { AUTHTYPE_CUSTOM };
    scheme.insert(AUTHTYPE.into(), json!(authtype));
    if !described {
        return Value::Object(scheme);
    }
    let mut aws = Map::new();
    let mut archway = Map::new();
    if !a.identity_source.is_empty() {
        aws.insert("identitySource".into(), json!(a.identity_source));
    }
    if jwt {
        aws.insert("type".into(), json!("jwt"));
        let mut jwt = Map::new();
        jwt.insert("issuer".into(), json!(a.issuer));
        if !a.audiences.is_empty() {
            jwt.insert("audience".into(), json!(a.audiences));
        }
        aws.insert("jwtConfiguration".into(), Value::Object(jwt));
        if !a.jwks_uri.is_empty() {
            archway.insert("jwksUri".into(), json!(a.jwks_uri));
        }
        if !a.algorithms.is_empty() {
            archway.insert("algorithms".into(), json!(a.algorithms));
        }
        if a.leeway_seconds != 0 {
            archway.insert("leewaySeconds".into(), json!(a.leeway_seconds));
        }
    } else {
        aws.insert("type".into(), json!(a.kind.to_ascii_lowercase()));
        aws.insert("authorizerUri".into(), json!(a.uri));
        if !a.validation_expression.is_empty() {
            aws.insert(
                "identityValidationExpression".into(),
                json!(a.validation_expression),
            );
        }
        if let Some(ttl) = a.ttl_seconds {
            aws.insert("authorizerResultTtlInSeconds".into(), json!(ttl));
        }
        if a.timeout_ms != 0 {
            archway.insert("timeoutInMillis".into(), json!(a.timeout_ms));
        }
    }
    scheme.insert(AUTHORIZER.into(), Value::Object(aws));
    if !archway.is_empty() {
        scheme.insert(ARCHWAY_AUTHORIZER.into(), Value::Object(archway));
    }
    Value::Object(scheme)
}

/// Where a client sends the identity an authorizer reads: the first
/// header (or query parameter) of its identity source, AWS's
/// (`method.request.header.X`) or HTTP APIs' (`$request.header.X`)
/// spelling; `Authorization` when it names none (a JWT authorizer's
/// default).
fn identity_parameter(identity_source: &str) -> (&'static str, &str) {
    for part in identity_source.split(',').map(str::trim) {
        if let Some(h) = part
            .strip_prefix(HEADER_PREFIX)
            .or_else(|| part.strip_prefix("$request.header."))
        {
            return ("header", h);
        }
        if let Some(q) = part
            .strip_prefix(QUERY_PREFIX)
            .or_else(|| part.strip_prefix("$request.querystring."))
        {
            return ("query", q);
        }
        // A JWT or TOKEN authorizer may name its header plainly (`X-Token`).
        if !part.is_empty() && !part.contains('.') {
            return ("header", part);
        }
    }
    ("header", "Authorization")
}

/// A route's `security`: one requirement with every scheme it needs (all
/// must be met), or none for an open route.
pub(super) fn requirement(cx: &mut Context, route: &RouteSpec) -> Option<Value> {
    let mut needs = Map::new();
    if let Some(name) = &route.authorizer {
        needs.insert(name.clone(), json!(route.scopes));
    } else if is_iam(route) {
        needs.insert(SIGV4_SCHEME.into(), json!([]));
    } else if let Some(other) = &route.authorization {
        cx.warnings.push(format!(
            "route {} {}: authorization '{other}' has no OpenAPI form and is left out",
            route.method, route.path
        ));
    }
    if route.api_key_required {
        needs.insert(API_KEY_SCHEME.into(), json!([]));
    }
    (!needs.is_empty()).then(|| json!([needs]))
}

#[cfg(test)]
mod tests {
    use super::super::{ExportOptions, document::Target, document::document};
    use super::*;
    use crate::declarative::document::ApiSpec;

    fn api() -> ApiSpec {
        serde_saphyr::from_str(
            r#"
name: pets
id: pets
authorizers:
  - name: users
    issuer: https://idp.example
    audiences: [app]
    jwks_uri: http://idp.example/jwks.json
    algorithms: [RS256]
    leeway_seconds: 30
  - name: tokens
    type: TOKEN
    uri: http://127.0.0.1:9100/authorize
    identity_source: method.request.header.X-Token
    validation_expression: "^Bearer .+$"
    ttl_seconds: 0
    timeout_ms: 800
  - name: tenants
    type: REQUEST
    uri: http://127.0.0.1:9100/authorize
    identity_source: method.request.querystring.tenant, context.sourceIp
routes:
  - { path: /a, method: GET, integration: { type: MOCK }, api_key_required: true }
  - { path: /b, method: GET, integration: { type: MOCK }, authorization: AWS_IAM }
  - { path: /c, method: GET, integration: { type: MOCK }, authorizer: users, scopes: [read], api_key_required: true }
  - { path: /d, method: GET, integration: { type: MOCK } }
"#,
        )
        .unwrap()
    }

    fn export(options: ExportOptions) -> (Value, Vec<String>) {
        let target = Target {
            version: "v".into(),
            server_url: None,
        };
        let out = document(&api(), &target, &options);
        (out.document, out.warnings)
    }

    #[test]
    fn routes_name_the_schemes_they_need() {
        let (oas, _) = export(ExportOptions::default());
        let security = |path: &str| oas["paths"][path]["get"]["security"].clone();
        assert_eq!(security("/a"), json!([{ "api_key": [] }]));
        assert_eq!(security("/b"), json!([{ "sigv4": [] }]));
        assert_eq!(
            security("/c"),
            json!([{ "users": ["read"], "api_key": [] }])
        );
        assert_eq!(security("/d"), Value::Null);
        let schemes = &oas["components"]["securitySchemes"];
        assert_eq!(
            schemes["api_key"],
            json!({"type": "apiKey", "name": "x-api-key", "in": "header"})
        );
        assert_eq!(
            schemes["sigv4"],
            json!({"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"})
        );
    }

    /// Without `authorizers` a scheme says where the identity goes and
    /// that it is an authorizer (without the authtype an import would read
    /// it as an API key and drop the authorizer's check).
    #[test]
    fn plain_authorizer_schemes_say_what_they_are_and_where_the_identity_goes() {
        let (oas, warnings) = export(ExportOptions::default());
        let schemes = &oas["components"]["securitySchemes"];
        assert_eq!(
            schemes["users"],
            json!({"type": "apiKey", "name": "Authorization", "in": "header", AUTHTYPE: "jwt"})
        );
        assert_eq!(
            schemes["tokens"],
            json!({"type": "apiKey", "name": "X-Token", "in": "header", AUTHTYPE: "custom"})
        );
        assert_eq!(
            schemes["tenants"],
            json!({"type": "apiKey", "name": "tenant", "in": "query", AUTHTYPE: "custom"})
        );
        // A header named plainly in the identity source is the header.
        assert_eq!(identity_parameter("X-Token"), ("header", "X-Token"));
        assert_eq!(identity_parameter(""), ("header", "Authorization"));
        assert_eq!(
            identity_parameter("context.sourceIp"),
            ("header", "Authorization")
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("3 authorizer(s)") && w.contains("extensions=authorizers")),
            "{warnings:?}"
        );
    }

    #[test]
    fn authorizers_extension_describes_each_kind() {
        for options in [
            ExportOptions {
                authorizers: true,
                ..Default::default()
            },
            ExportOptions {
                apigateway: true,
                swagger: true,
                ..Default::default()
            },
        ] {
            let (doc, warnings) = export(options.clone());
            let schemes = if options.swagger {
                &doc["securityDefinitions"]
            } else {
                &doc["components"]["securitySchemes"]
            };
            assert_eq!(schemes["users"][AUTHTYPE], "jwt");
            assert_eq!(
                schemes["users"][AUTHORIZER],
                json!({"type": "jwt", "jwtConfiguration": {"issuer": "https://idp.example", "audience": ["app"]}})
            );
            assert_eq!(
                schemes["users"][ARCHWAY_AUTHORIZER],
                json!({"jwksUri": "http://idp.example/jwks.json", "algorithms": ["RS256"], "leewaySeconds": 30})
            );
            assert_eq!(schemes["tokens"][AUTHTYPE], "custom");
            assert_eq!(
                schemes["tokens"][AUTHORIZER],
                json!({
                    "type": "token",
                    "authorizerUri": "http://127.0.0.1:9100/authorize",
                    "identitySource": "method.request.header.X-Token",
                    "identityValidationExpression": "^Bearer .+$",
                    "authorizerResultTtlInSeconds": 0
                })
            );
            assert_eq!(
                schemes["tokens"][ARCHWAY_AUTHORIZER],
                json!({"timeoutInMillis": 800})
            );
            assert_eq!(schemes["tenants"][AUTHORIZER]["type"], "request");
            assert!(schemes["tenants"].get(ARCHWAY_AUTHORIZER).is_none());
            assert!(
                warnings.iter().all(|w| !w.contains("authorizer(s)")),
                "{warnings:?}"
            );
        }
    }

    #[test]
    fn http_api_identity_sources_name_the_header() {
        assert_eq!(
            identity_parameter("$request.header.X-Id"),
            ("header", "X-Id")
        );
        assert_eq!(
            identity_parameter("context.sourceIp"),
            ("header", "Authorization")
        );
    }
}
