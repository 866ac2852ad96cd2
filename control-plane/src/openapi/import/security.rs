//! Security schemes → what a route requires: an API key, a SigV4 signature
//! (`x-amazon-apigateway-authtype: awsSigv4`), or an authorizer
//! (`x-amazon-apigateway-authorizer`: JWT, Cognito user pools, TOKEN or
//! REQUEST).
//!
//! Two kinds of scheme are not checked by the gateway, and are told apart:
//! - OpenAPI's own schemes without an AWS extension (HTTP basic or bearer,
//!   OAuth 2, OpenID Connect, an API key in a query or cookie) describe
//!   what the *backend* checks: AWS ignores them, and so does Archway, with
//!   a warning at the scheme. The credentials travel to the backend, which
//!   keeps checking them (public descriptions such as Stripe's are written
//!   this way; refusing them would refuse the document).
//! - An AWS authorizer Archway cannot run (a Lambda authorizer) or that is
//!   broken (a user pool authorizer without a pool) is a check the
//!   document asks the *gateway* to make, in front of backends that may
//!   not check anything: a route that requires it is refused (an error),
//!   never imported open.

use super::{Reader, child, kind_of};
use crate::declarative::document::{AuthorizerSpec, RouteSpec};
use crate::openapi::mapping::{
    API_KEY_HEADER, ARCHWAY_AUTHORIZER, AUTHORIZER, AUTHTYPE, AUTHTYPE_COGNITO, AUTHTYPE_CUSTOM,
    AUTHTYPE_JWT, AUTHTYPE_SIGV4,
};
use archway_proto::identity_source::HEADER_PREFIX;
use serde_json::{Map, Value};

/// What a security scheme stands for.
#[derive(Debug, Clone)]
pub(super) enum Scheme {
    ApiKey,
    Sigv4,
    /// The authorizer of this name.
    Authorizer(String),
    /// Checked by the backend, not the gateway (why, for the warning).
    Backend(String),
    /// A gateway check Archway cannot make (why, for the error).
    Refused(String),
}

impl<'d> Reader<'d> {
    fn schemes_pointer(&self) -> &'static str {
        if self.dialect.is_swagger() {
            "/securityDefinitions"
        } else {
            "/components/securitySchemes"
        }
    }

    /// Reads every security scheme; authorizers join the API.
    pub(super) fn security_schemes(&mut self) {
        let at = self.schemes_pointer();
        let Some(schemes) = self.doc.pointer(at) else {
            return;
        };
        let Some(schemes) = self.object(schemes, at) else {
            return;
        };
        for (name, scheme) in schemes {
            let here = child(at, name);
            let Some((scheme, here)) = self.resolve(scheme, &here) else {
                continue;
            };
            let Some(map) = self.object(scheme, &here) else {
                continue;
            };
            let kind = self.scheme(name, map, &here);
            self.schemes.insert(name.clone(), kind);
        }
    }

    fn scheme(&mut self, name: &str, map: &'d Map<String, Value>, at: &str) -> Scheme {
        let field = |key: &str| map.get(key).and_then(Value::as_str).unwrap_or_default();
        let authtype = field(AUTHTYPE);
        if authtype.eq_ignore_ascii_case(AUTHTYPE_SIGV4) {
            return Scheme::Sigv4;
        }
        if let Some(authorizer) = map.get(AUTHORIZER) {
            return self.authorizer(name, map, authorizer, &child(at, AUTHORIZER));
        }
        // A gateway authorizer the document names but does not describe
        // (an export without `authorizers`): not an API key.
        if [AUTHTYPE_CUSTOM, AUTHTYPE_JWT, AUTHTYPE_COGNITO]
            .iter()
            .any(|t| authtype.eq_ignore_ascii_case(t))
        {
            return Scheme::Refused(format!(
                "'{name}' is a gateway authorizer ({AUTHTYPE}: {authtype}) without {AUTHORIZER} saying how it checks (export with extensions=authorizers or apigateway)"
            ));
        }
        match field("type") {
            "apiKey" if field("in") == "header" => {
                if !field("name").eq_ignore_ascii_case(API_KEY_HEADER) {
                    self.warn(
                        child(at, "name"),
                        format!(
                            "API keys are read from the {API_KEY_HEADER} header (as AWS's), not '{}'",
                            field("name")
                        ),
                    );
                }
                Scheme::ApiKey
            }
            "apiKey" => Scheme::Backend(format!(
                "API keys in the {} are not read by the gateway (its keys travel in the {API_KEY_HEADER} header)",
                field("in")
            )),
            "http" => Scheme::Backend(format!(
                "HTTP {} credentials are not checked by the gateway (a bearer JWT is, with x-amazon-apigateway-authorizer type jwt)",
                field("scheme")
            )),
            "oauth2" | "openIdConnect" => Scheme::Backend(format!(
                "{} tokens are not checked by the gateway without x-amazon-apigateway-authorizer (type jwt or cognito_user_pools)",
                field("type")
            )),
            other => Scheme::Backend(format!(
                "security scheme type '{other}' is not checked by the gateway"
            )),
        }
    }

    /// `x-amazon-apigateway-authorizer` of scheme `name`.
    fn authorizer(
        &mut self,
        name: &str,
        scheme: &Map<String, Value>,
        value: &'d Value,
        at: &str,
    ) -> Scheme {
        let Some(map) = self.object(value, at) else {
            return Scheme::Refused("its authorizer is not an object".into());
        };
        let text = |key: &str| {
            map.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let extra = scheme.get(ARCHWAY_AUTHORIZER).and_then(Value::as_object);
        let extra_at = format!(
            "{}/{ARCHWAY_AUTHORIZER}",
            at.rsplit_once('/').map_or(at, |(h, _)| h)
        );
        // The header an authorizer reads: its identity source, else the
        // scheme's own header name.
        let header = match scheme.get("in").and_then(Value::as_str) {
            Some("header") => scheme
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        };
        let mut spec = AuthorizerSpec {
            name: name.to_owned(),
            kind: String::new(),
            identity_source: identity_source(&text("identitySource"), header.as_deref()),
            issuer: String::new(),
            audiences: Vec::new(),
            jwks_uri: String::new(),
            algorithms: Vec::new(),
            leeway_seconds: 0,
            uri: String::new(),
            ttl_seconds: None,
            validation_expression: String::new(),
            timeout_ms: 0,
        };
        let kind = text("type").to_ascii_lowercase();
        match kind.as_str() {
            "token" | "request" => {
                spec.kind = kind.to_ascii_uppercase();
                let uri = text("authorizerUri");
                if uri.starts_with("arn:") {
                    return Scheme::Refused(format!(
                        "authorizer '{name}' calls a Lambda function ({uri}); Archway's custom authorizers call an http(s) endpoint: set authorizerUri to it"
                    ));
                }
                spec.uri = uri;
                spec.validation_expression = text("identityValidationExpression");
                if let Some(ttl) = map.get("authorizerResultTtlInSeconds") {
                    spec.ttl_seconds = self.number(ttl, &child(at, "authorizerResultTtlInSeconds"));
                }
                if let Some(credentials) = map.get("authorizerCredentials") {
                    self.warn(
                        child(at, "authorizerCredentials"),
                        format!("an http(s) authorizer is called without AWS credentials; {credentials} is not used"),
                    );
                }
                if kind == "request" && spec.identity_source.is_empty() {
                    spec.ttl_seconds = Some(0);
                }
            }
            "jwt" => {
                spec.kind = "JWT".into();
                let config = map.get("jwtConfiguration").and_then(Value::as_object);
                let config_at = child(at, "jwtConfiguration");
                spec.issuer = config
                    .and_then(|c| c.get("issuer"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                spec.audiences = self.string_list(
                    config.and_then(|c| c.get("audience")),
                    &child(&config_at, "audience"),
                );
            }
            AUTHTYPE_COGNITO => {
                spec.kind = "JWT".into();
                let arns = self.string_list(map.get("providerARNs"), &child(at, "providerARNs"));
                let Some(issuer) = arns.first().and_then(|arn| cognito_issuer(arn)) else {
                    return Scheme::Refused(format!(
                        "authorizer '{name}' needs providerARNs naming a user pool (arn:aws:cognito-idp:REGION:ACCOUNT:userpool/POOL_ID)"
                    ));
                };
                if arns.len() > 1 {
                    self.warn(
                        child(at, "providerARNs"),
                        "Archway's JWT authorizers trust one issuer: only the first user pool is used",
                    );
                }
                spec.jwks_uri = format!("{issuer}/.well-known/jwks.json");
                spec.issuer = issuer;
            }
            other => {
                return Scheme::Refused(format!(
                    "authorizer type '{other}' is not one of token, request, jwt, cognito_user_pools"
                ));
            }
        }
        if let Some(extra) = extra {
            self.archway_authorizer(&mut spec, extra, &extra_at);
        }
        if spec.kind == "JWT" && spec.jwks_uri.is_empty() && !spec.issuer.is_empty() {
            // What AWS finds through the issuer's discovery document.
            spec.jwks_uri = format!(
                "{}/.well-known/jwks.json",
                spec.issuer.trim_end_matches('/')
            );
            self.warn(
                at,
                format!("the keys of '{name}' are read from {} (set {ARCHWAY_AUTHORIZER}.jwksUri if they are elsewhere)", spec.jwks_uri),
            );
        }
        self.spec.authorizers.push(spec);
        self.origins.authorizers.push(at.to_owned());
        Scheme::Authorizer(name.to_owned())
    }

    /// `x-archway-authorizer`: what AWS's authorizer object cannot say.
    fn archway_authorizer(
        &mut self,
        spec: &mut AuthorizerSpec,
        extra: &Map<String, Value>,
        at: &str,
    ) {
        for (key, value) in extra {
            let here = child(at, key);
            match key.as_str() {
                "jwksUri" => spec.jwks_uri = self.text(value, &here).unwrap_or_default(),
                "algorithms" => spec.algorithms = self.string_list(Some(value), &here),
                "audiences" => spec.audiences = self.string_list(Some(value), &here),
                "leewaySeconds" => spec.leeway_seconds = self.number(value, &here).unwrap_or(0),
                "timeoutInMillis" => spec.timeout_ms = self.number(value, &here).unwrap_or(0),
                other => self.warn(
                    here,
                    format!("'{other}' is not a setting of {ARCHWAY_AUTHORIZER}; ignored"),
                ),
            }
        }
    }

    /// Applies the operation's security requirement (or the document's) to
    /// `route`.
    pub(super) fn route_security(
        &mut self,
        op: &Map<String, Value>,
        at: &str,
        route: &mut RouteSpec,
    ) {
        let (requirements, req_at) = match op.get("security") {
            Some(s) => (s, child(at, "security")),
            None => match self.doc.get("security") {
                Some(s) => (s, "/security".to_owned()),
                None => return,
            },
        };
        let Some(alternatives) = requirements.as_array() else {
            self.error(
                req_at,
                format!(
                    "expected a list of security requirements, found {}",
                    kind_of(requirements)
                ),
            );
            return;
        };
        // AWS applies one requirement; an empty one (`{}`) makes security
        // optional, which a gateway cannot honour without opening the
        // route, so the first requirement that requires something is used.
        let Some((index, requirement)) = alternatives
            .iter()
            .enumerate()
            .find(|(_, r)| r.as_object().is_some_and(|m| !m.is_empty()))
        else {
            return;
        };
        if alternatives.len() > 1 {
            self.warn(
                &req_at,
                format!("a route enforces one security requirement: requirement {index} is used, the other {} alternatives are not accepted", alternatives.len() - 1),
            );
        }
        let here = format!("{req_at}/{index}");
        let Some(requirement) = self.object(requirement, &here) else {
            return;
        };
        for (name, scopes) in requirement {
            let at = child(&here, name);
            match self.schemes.get(name).cloned() {
                None => self.error(at, format!("no security scheme is named '{name}'")),
                Some(Scheme::Refused(reason)) => self.error(
                    at,
                    format!("cannot be enforced, so the route is not imported open: {reason}"),
                ),
                Some(Scheme::Backend(reason)) => {
                    // Once per scheme, where it is defined.
                    if self.backend_checked.insert(name.clone()) {
                        let scheme_at = child(self.schemes_pointer(), name);
                        self.warn(
                            scheme_at,
                            format!("{reason}: routes that require '{name}' pass the credentials on to their backend, which must check them"),
                        );
                    }
                }
                Some(Scheme::ApiKey) => route.api_key_required = true,
                Some(Scheme::Sigv4) => route.authorization = Some("AWS_IAM".into()),
                Some(Scheme::Authorizer(authorizer)) => {
                    if let Some(first) = &route.authorizer {
                        self.error(
                            at,
                            format!("a route has one authorizer; '{first}' is required already"),
                        );
                        continue;
                    }
                    route.authorizer = Some(authorizer);
                    route.scopes = self.string_list(Some(scopes), &at);
                }
            }
        }
    }
}

/// An authorizer's identity source in Archway's spelling
/// (`method.request.header.X`): AWS's REST form as it is, HTTP APIs'
/// `$request.header.X` rewritten, else the scheme's header.
fn identity_source(source: &str, header: Option<&str>) -> String {
    let parts: Vec<String> = source
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.strip_prefix("$request.header.") {
            Some(name) => format!("{HEADER_PREFIX}{name}"),
            None => match p.strip_prefix("$request.querystring.") {
                Some(name) => format!("method.request.querystring.{name}"),
                None => match p.strip_prefix("$context.") {
                    Some(name) => format!("context.{name}"),
                    None => match p.strip_prefix("$stageVariables.") {
                        Some(name) => format!("stageVariables.{name}"),
                        None => p.to_owned(),
                    },
                },
            },
        })
        .collect();
    if parts.is_empty() {
        return header
            .filter(|h| !h.eq_ignore_ascii_case("authorization"))
            .map(|h| format!("{HEADER_PREFIX}{h}"))
            .unwrap_or_default();
    }
    parts.join(", ")
}

/// The issuer of a Cognito user pool ARN.
fn cognito_issuer(arn: &str) -> Option<String> {
    let rest = arn.strip_prefix("arn:aws:cognito-idp:")?;
    let (region, rest) = rest.split_once(':')?;
    let (_account, pool) = rest.split_once(':')?;
    let pool = pool.strip_prefix("userpool/")?;
    (!region.is_empty() && !pool.is_empty())
        .then(|| format!("https://cognito-idp.{region}.amazonaws.com/{pool}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_sources_are_spelled_as_archway_reads_them() {
        assert_eq!(
            identity_source("$request.header.Authorization", None),
            "method.request.header.Authorization"
        );
        assert_eq!(
            identity_source("method.request.header.X-Tenant, $context.sourceIp", None),
            "method.request.header.X-Tenant, context.sourceIp"
        );
        assert_eq!(
            identity_source("", Some("X-Token")),
            "method.request.header.X-Token"
        );
        // Authorization is the default: left empty, as exports write it.
        assert_eq!(identity_source("", Some("Authorization")), "");
    }

    #[test]
    fn cognito_pool_arns_name_their_issuer() {
        assert_eq!(
            cognito_issuer("arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbC")
                .as_deref(),
            Some("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC")
        );
        assert_eq!(
            cognito_issuer("arn:aws:cognito-idp:eu-west-1:1:identitypool/x"),
            None
        );
        assert_eq!(cognito_issuer("arn:aws:iam::1:role/x"), None);
    }
}
