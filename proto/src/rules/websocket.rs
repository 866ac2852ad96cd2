//! WEBSOCKET APIs, as AWS's WebSocket APIs: what an API, its routes, its
//! authorizers, its stages and a deployment of it may say. A route is a
//! Method on the root resource whose `http_method` is the route key, so
//! the Method fields WebSocket routes have no use for (request models and
//! validators, method responses, a path) are refused with the reason here
//! rather than silently ignored by the node.
//!
//! The control plane calls these on each admin request (PutMethod,
//! CreateAuthorizer, CreateStage...) and at deployment; a node calls
//! [`deployment`] and [`stage`] on what it receives (a deployment carries
//! the API's expression and binary media types; the API record nodes get
//! carries only what routing uses), so a snapshot the admin API would
//! refuse never compiles.

use super::mapping::{MAX_INTEGRATION_RESPONSES, MAX_SELECTION_PATTERN_BYTES};
use super::template::Parsing;
use super::{Checked, Violation, sub};
use crate::route_selection::RouteSelection;
use crate::template_selection::{Side, TemplateSelection};
use crate::v1::{
    ApiProtocol, AuthorizerType, Deployment, Integration, IntegrationType, Method, MethodThrottle,
    RestApi, Stage,
};
use std::collections::HashMap;

/// The route of the upgrade request: the only one that may be authorized.
pub const CONNECT: &str = "$connect";
/// Called once when a connection ends, whoever ends it.
pub const DISCONNECT: &str = "$disconnect";
/// Messages no other route takes.
pub const DEFAULT: &str = "$default";
/// Longest custom route key, as AWS.
pub const MAX_ROUTE_KEY_LEN: usize = 128;
/// The one route response selection expression AWS allows: two-way.
pub const TWO_WAY: &str = "$default";

fn is_websocket(protocol: ApiProtocol) -> bool {
    protocol == ApiProtocol::Websocket
}

/// The API's route selection expression: required (and parsed exactly as
/// nodes evaluate it) on WEBSOCKET APIs, refused on the others, which have
/// no messages to route.
pub fn route_selection_expression(
    field: &str,
    protocol: ApiProtocol,
    expression: &str,
) -> Checked<Option<RouteSelection>> {
    if !is_websocket(protocol) {
        if expression.is_empty() {
            return Ok(None);
        }
        return Err(Violation::new(
            field,
            "only WEBSOCKET APIs route messages by a route selection expression",
        ));
    }
    RouteSelection::parse(expression)
        .map(Some)
        .map_err(|reason| Violation::new(field, reason))
}

/// An API's own fields that depend on its being a WEBSOCKET API: the route
/// selection expression, and no binary media types (WebSocket messages are
/// text or binary frames already; AWS WebSocket APIs have none). CORS is
/// [`super::cors::cors`]'s (HTTP APIs only).
pub fn api(api: &RestApi, protocol: ApiProtocol) -> Checked {
    route_selection_expression(
        "route_selection_expression",
        protocol,
        &api.route_selection_expression,
    )?;
    no_binary_media_types("binary_media_types", protocol, &api.binary_media_types)
}

fn no_binary_media_types(field: &str, protocol: ApiProtocol, types: &[String]) -> Checked {
    if is_websocket(protocol) && !types.is_empty() {
        return Err(Violation::new(
            field,
            "WEBSOCKET APIs have no binary media types: binary messages are passed as they are",
        ));
    }
    Ok(())
}

/// A route key: `$connect`, `$disconnect`, `$default`, or a custom key of 1
/// to 128 printable ASCII characters not starting with `$` (the value the
/// route selection expression must produce). Case matters, as in AWS.
pub fn route_key(field: &str, key: &str) -> Checked {
    if matches!(key, CONNECT | DISCONNECT | DEFAULT) {
        return Ok(());
    }
    if key.is_empty() {
        return Err(Violation::new(
            field,
            "a WebSocket route needs a route key: $connect, $disconnect, $default or a custom key",
        ));
    }
    if key.starts_with('$') {
        return Err(Violation::new(
            field,
            format!(
                "'{key}' is not a route key: keys starting with '$' are $connect, $disconnect and $default only"
            ),
        ));
    }
    if key.len() > MAX_ROUTE_KEY_LEN {
        return Err(Violation::new(
            field,
            format!(
                "a route key has at most {MAX_ROUTE_KEY_LEN} characters, got {}",
                key.len()
            ),
        ));
    }
    if let Some(bad) = key.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(Violation::new(
            field,
            format!("route key '{key}' has {bad:?}; route keys are printable ASCII"),
        ));
    }
    Ok(())
}

/// An authorizer of a WEBSOCKET API: REQUEST only, as in AWS (`$connect`'s
/// upgrade request has no single token to check, and JWT authorizers are
/// HTTP APIs').
pub fn authorizer_type(field: &str, protocol: ApiProtocol, kind: AuthorizerType) -> Checked {
    if !is_websocket(protocol) || kind == AuthorizerType::Request {
        return Ok(());
    }
    let name = kind.as_str_name().trim_start_matches("AUTHORIZER_TYPE_");
    Err(Violation::new(
        field,
        format!("WEBSOCKET APIs take REQUEST authorizers only, not {name}, as in AWS"),
    ))
}

/// A method of an API of `protocol`, where only the protocol decides: in a
/// WEBSOCKET API it must be a route (see [`route`]); elsewhere it cannot
/// have a route response selection expression. `authorizer` is the type of
/// the authorizer the method names (None: none, or not found; whether it
/// exists is each plane's check). `field` names the method (`method`, or a
/// document path).
pub fn method_in(
    field: &str,
    m: &Method,
    protocol: ApiProtocol,
    authorizer: Option<AuthorizerType>,
) -> Checked {
    if is_websocket(protocol) {
        return route(field, m, authorizer);
    }
    if !m.route_response_selection_expression.is_empty() {
        return Err(Violation::new(
            sub(field, "route_response_selection_expression"),
            "only routes of WEBSOCKET APIs send responses to a client; REST and HTTP methods always answer",
        ));
    }
    if !m.model_selection_expression.is_empty() {
        return Err(Violation::new(
            sub(field, "model_selection_expression"),
            "only routes of WEBSOCKET APIs select request models by expression; REST and HTTP methods select them by content type",
        ));
    }
    Ok(())
}

/// A route of a WEBSOCKET API (a Method whose `http_method` is its key).
pub fn route(field: &str, m: &Method, authorizer: Option<AuthorizerType>) -> Checked {
    let key = m.http_method.as_str();
    route_key(&sub(field, "http_method"), key)?;
    authorization(field, m, authorizer)?;
    match m.route_response_selection_expression.as_str() {
        "" => {}
        TWO_WAY if key == DISCONNECT => {
            return Err(Violation::new(
                sub(field, "route_response_selection_expression"),
                "$disconnect cannot answer: the connection is already closed",
            ));
        }
        TWO_WAY => {}
        other => {
            return Err(Violation::new(
                sub(field, "route_response_selection_expression"),
                format!(
                    "'{other}' is not supported; use $default (two-way) or leave it empty (one-way)"
                ),
            ));
        }
    }
    let unsupported = [
        (
            !m.request_validator_id.is_empty(),
            "request_validator_id",
            "a route validates each message against its request_models (picked by model_selection_expression), as AWS's WebSocket routes do, without a validator",
        ),
        (
            !m.method_responses.is_empty(),
            "method_responses",
            "a two-way route sends its integration's answer (or its integration response's template) as a message",
        ),
    ];
    for (set, which, reason) in unsupported {
        if set {
            return Err(Violation::new(
                sub(field, which),
                format!("WebSocket routes have no {which}: {reason}"),
            ));
        }
    }
    TemplateSelection::parse(&m.model_selection_expression, Side::Request)
        .map_err(|reason| Violation::new(sub(field, "model_selection_expression"), reason))?;
    for key in m.request_models.keys() {
        if key.is_empty() || key.len() > MAX_TEMPLATE_KEY_BYTES {
            return Err(Violation::new(
                format!("{}[\"{key}\"]", sub(field, "request_models")),
                format!(
                    "a request model's key is 1 to {MAX_TEMPLATE_KEY_BYTES} characters: a value of the model selection expression, or $default"
                ),
            ));
        }
    }
    if matches!(key, CONNECT | DISCONNECT) && !m.request_models.is_empty() {
        return Err(Violation::new(
            sub(field, "request_models"),
            format!(
                "{key} has no message to validate; models validate the messages of other routes"
            ),
        ));
    }
    if key != CONNECT && !m.request_parameters.is_empty() {
        return Err(Violation::new(
            sub(field, "request_parameters"),
            "only $connect declares request parameters: messages have no headers or query string",
        ));
    }
    if let Some(i) = &m.integration {
        let at = |name: &str| sub(&sub(field, "integration"), name);
        let kind = IntegrationType::try_from(i.r#type).unwrap_or_default();
        if !matches!(
            kind,
            IntegrationType::Mock
                | IntegrationType::Http
                | IntegrationType::HttpProxy
                | IntegrationType::AwsProxy
                // Not set: the integration rule says what to choose.
                | IntegrationType::Unspecified
        ) {
            let name = kind.as_str_name().trim_start_matches("INTEGRATION_TYPE_");
            return Err(Violation::new(
                at("type"),
                format!(
                    "WebSocket routes call MOCK, HTTP, HTTP_PROXY or AWS_PROXY integrations, not {name}; call the service from a function (AWS_PROXY) instead"
                ),
            ));
        }
        if !i.cache_key_parameters.is_empty() {
            return Err(Violation::new(
                at("cache_key_parameters"),
                "WebSocket routes are not cached: every message reaches its integration",
            ));
        }
        if !matches!(i.payload_format_version.as_str(), "" | "1.0") {
            return Err(Violation::new(
                at("payload_format_version"),
                "functions of WebSocket routes get AWS's WebSocket event (payload format 1.0)",
            ));
        }
        if !i.integration_subtype.is_empty() {
            return Err(Violation::new(
                at("integration_subtype"),
                "integration subtypes are for HTTP APIs; WebSocket routes call MOCK, HTTP, HTTP_PROXY or AWS_PROXY integrations",
            ));
        }
        unmapped(kind, i).map_err(|which| {
            Violation::new(
                at(which),
                "WebSocket routes map no request parameters: an HTTP backend gets the event's context as x-archway-* headers, and a request template can put any of it in the body ($context.connectionId, $context.routeKey...)",
            )
        })?;
    }
    Ok(())
}

/// What nodes cannot run on a WebSocket route: the first such setting an
/// integration has, by field name. Templates, integration responses,
/// passthrough behaviour and content handling map events (see
/// [`mapping`]); request parameter mappings do not: an event's context
/// reaches an HTTP backend as `x-archway-*` headers, and a template can
/// put any of it in the body (`$context.connectionId`...).
fn unmapped(kind: IntegrationType, i: &Integration) -> Result<(), &'static str> {
    match kind {
        IntegrationType::Http | IntegrationType::Mock if !i.request_parameters.is_empty() => {
            Err("request_parameters")
        }
        _ => Ok(()),
    }
}

/// Longest key of a WebSocket template map, in bytes.
pub const MAX_TEMPLATE_KEY_BYTES: usize = 256;

/// The mapping of a WebSocket route's HTTP or MOCK integration, as AWS's
/// WebSocket APIs write it: `template_selection_expression` picks a key of
/// `request_templates` (keys are its values, not content types; `$default`
/// is the catch-all); integration responses are keyed by
/// `integration_response_key` (`$default`, or `/REGEX/` matched in full
/// against the status code) and pick a response template by their own
/// `template_selection_expression`. Messages have no status to answer
/// with and no headers to map, so `status_code`, `selection_pattern` and
/// `response_parameters` are refused. Templates are parsed here unless
/// `parsing` leaves them to the node's compiler.
pub(super) fn mapping(field: &str, i: &Integration, parsing: Parsing) -> Checked {
    let at = |name: &str| sub(field, name);
    TemplateSelection::parse(&i.template_selection_expression, Side::Request)
        .map_err(|reason| Violation::new(at("template_selection_expression"), reason))?;
    templates(&at("request_templates"), &i.request_templates, parsing)?;
    let responses = &i.integration_responses;
    if responses.len() > MAX_INTEGRATION_RESPONSES {
        return Err(Violation::new(
            at("integration_responses"),
            format!("at most {MAX_INTEGRATION_RESPONSES} integration responses"),
        ));
    }
    let mut keys: HashMap<&str, usize> = HashMap::new();
    for (n, r) in responses.iter().enumerate() {
        let entry = format!("{}[{n}]", at("integration_responses"));
        let f = |name: &str| sub(&entry, name);
        let refused = [
            (!r.status_code.is_empty(), "status_code"),
            (!r.selection_pattern.is_empty(), "selection_pattern"),
            (!r.response_parameters.is_empty(), "response_parameters"),
        ];
        for (set, which) in refused {
            if set {
                return Err(Violation::new(
                    f(which),
                    "a WebSocket route's integration response has no status or headers to answer with (a message is only a body); key it with integration_response_key ($default or /REGEX/) and shape the answer with response_templates",
                ));
            }
        }
        let key = r.integration_response_key.as_str();
        integration_response_key(&f("integration_response_key"), key, parsing)?;
        if let Some(first) = keys.insert(key, n) {
            return Err(Violation::new(
                f("integration_response_key"),
                format!(
                    "'{key}' is already the key of {}[{first}]",
                    at("integration_responses")
                ),
            ));
        }
        TemplateSelection::parse(&r.template_selection_expression, Side::Response)
            .map_err(|reason| Violation::new(f("template_selection_expression"), reason))?;
        templates(&f("response_templates"), &r.response_templates, parsing)?;
        super::mapping::content_handling(&f("content_handling"), r.content_handling)?;
    }
    Ok(())
}

/// `$default`, or a pattern between slashes (`/4\d\d/`), compiled as
/// REST's selection patterns are (a full match).
fn integration_response_key(field: &str, key: &str, parsing: Parsing) -> Checked {
    if key == DEFAULT {
        return Ok(());
    }
    let Some(pattern) = key
        .strip_prefix('/')
        .and_then(|k| k.strip_suffix('/'))
        .filter(|p| !p.is_empty())
    else {
        return Err(Violation::new(
            field,
            if key.is_empty() {
                "a WebSocket route's integration response needs a key: $default, or /REGEX/ matched against the backend's status code".to_string()
            } else {
                format!("'{key}' is not $default or a /REGEX/ between slashes")
            },
        ));
    };
    super::names::max_len(field, pattern, MAX_SELECTION_PATTERN_BYTES)?;
    if parsing == Parsing::Here {
        super::mapping::selection_regex(pattern)
            .map_err(|e| Violation::new(field, format!("is not a regular expression: {e}")))?;
    }
    Ok(())
}

/// A WebSocket template map: keys are selection values (any text up to
/// [`MAX_TEMPLATE_KEY_BYTES`], compared exactly), each template checked as
/// REST's are.
fn templates(
    field: &str,
    map: &std::collections::BTreeMap<String, String>,
    parsing: Parsing,
) -> Checked {
    for (key, text) in map {
        let entry = format!("{field}[\"{key}\"]");
        if key.is_empty() || key.len() > MAX_TEMPLATE_KEY_BYTES {
            return Err(Violation::new(
                entry,
                format!(
                    "a template's key is 1 to {MAX_TEMPLATE_KEY_BYTES} characters: a value of the template selection expression, or $default"
                ),
            ));
        }
        match parsing {
            Parsing::Here => super::template::template(&entry, text)?,
            Parsing::ByCompiler => {
                super::names::max_len(&entry, text, super::template::MAX_TEMPLATE_BYTES)?
            }
        }
    }
    Ok(())
}

/// Only `$connect` is authorized (AWS checks a connection once, at the
/// upgrade): NONE, AWS_IAM, or CUSTOM with a REQUEST authorizer, and API
/// keys. Other routes inherit the connection's identity.
fn authorization(field: &str, m: &Method, authorizer: Option<AuthorizerType>) -> Checked {
    let kind = m.authorization_type.to_ascii_uppercase();
    let authorized = !matches!(kind.as_str(), "" | "NONE");
    if m.http_method != CONNECT {
        let set = [
            (authorized, "authorization_type"),
            (!m.authorizer_id.is_empty(), "authorizer_id"),
            (m.api_key_required, "api_key_required"),
            (!m.authorization_scopes.is_empty(), "authorization_scopes"),
        ];
        for (set, which) in set {
            if set {
                return Err(Violation::new(
                    sub(field, which),
                    format!(
                        "only $connect is authorized; route '{}' runs with the identity its connection was given at $connect",
                        m.http_method
                    ),
                ));
            }
        }
        return Ok(());
    }
    match kind.as_str() {
        "" | "NONE" | "AWS_IAM" | "CUSTOM" => {}
        "JWT" => {
            return Err(Violation::new(
                sub(field, "authorization_type"),
                "WEBSOCKET APIs do not take JWT authorization, as in AWS; use CUSTOM with a REQUEST authorizer or AWS_IAM",
            ));
        }
        // Unknown kinds: the control plane's authorization check (and
        // the node's compiler) name them.
        _ => return Ok(()),
    }
    if kind == "CUSTOM"
        && let Some(t) = authorizer
        && t != AuthorizerType::Request
    {
        let name = t.as_str_name().trim_start_matches("AUTHORIZER_TYPE_");
        return Err(Violation::new(
            sub(field, "authorizer_id"),
            format!(
                "authorizer '{}' is a {name} authorizer; $connect takes REQUEST authorizers only, as in AWS",
                m.authorizer_id
            ),
        ));
    }
    Ok(())
}

/// A deployment: for a WEBSOCKET API, its route selection expression, only
/// the root resource, at least one route (AWS deploys none without), each
/// route checked with [`route`] and REQUEST authorizers only (fields named
/// as the admin API names them, `method` and `authorizer`, the route key or
/// authorizer id said at the end of the reason); for the others, no route
/// selection expression.
pub fn deployment(d: &Deployment) -> Checked {
    let protocol = ApiProtocol::try_from(d.protocol).unwrap_or_default();
    route_selection_expression(
        "route_selection_expression",
        protocol,
        &d.route_selection_expression,
    )?;
    if !is_websocket(protocol) {
        return Ok(());
    }
    no_binary_media_types("binary_media_types", protocol, &d.binary_media_types)?;
    let root = d.resources.iter().find(|r| r.parent_id.is_empty());
    if let Some(r) = d.resources.iter().find(|r| !r.parent_id.is_empty()) {
        return Err(Violation::new(
            "resources",
            format!(
                "'{}': a WEBSOCKET API has no resources besides its root; its routes are keys, not paths",
                r.path
            ),
        ));
    }
    if d.methods.is_empty() {
        return Err(Violation::new(
            "routes",
            "a WEBSOCKET API needs at least one route (e.g. $default) to be deployed",
        ));
    }
    for a in &d.authorizers {
        authorizer_type("authorizer.type", protocol, a.r#type()).map_err(|v| {
            Violation::new(v.field, format!("{} (authorizer '{}')", v.reason, a.id))
        })?;
    }
    for m in &d.methods {
        if root.is_none_or(|r| r.id != m.resource_id) {
            return Err(Violation::new(
                "method.resource_id",
                format!("route '{}' is not on the root resource", m.http_method),
            ));
        }
        let authorizer = d
            .authorizers
            .iter()
            .find(|a| a.id == m.authorizer_id)
            .map(|a| a.r#type());
        route("method", m, authorizer).map_err(|v| {
            Violation::new(v.field, format!("{} (route {})", v.reason, m.http_method))
        })?;
    }
    Ok(())
}

/// A stage of a WEBSOCKET API: no cache (every message reaches its
/// integration), no canary (a connection stays on the deployment it was
/// opened on; AWS's WebSocket stages have none), and throttles keyed by
/// resource `/` (or `*`) and a route key (or `*`). Other APIs' stages:
/// nothing here.
pub fn stage(stage: &Stage, protocol: ApiProtocol) -> Checked {
    if !is_websocket(protocol) {
        return Ok(());
    }
    let refused = [
        (stage.cache_cluster_enabled, "cache_cluster_enabled"),
        (!stage.cache_cluster_size.is_empty(), "cache_cluster_size"),
        (stage.cache_ttl_seconds.is_some(), "cache_ttl_seconds"),
        (
            !stage.method_cache_settings.is_empty(),
            "method_cache_settings",
        ),
    ];
    for (set, which) in refused {
        if set {
            return Err(Violation::new(
                format!("stage.{which}"),
                "a WEBSOCKET API's stage has no cache: every message reaches its route's integration",
            ));
        }
    }
    if stage.canary.is_some() {
        return Err(Violation::new(
            "stage.canary",
            "a WEBSOCKET API's stage has no canary, as in AWS: a connection stays on the deployment it was opened on",
        ));
    }
    for (i, m) in stage.method_settings.iter().enumerate() {
        route_throttle(&format!("stage.method_settings[{i}]"), m)?;
    }
    Ok(())
}

/// A throttle of a WebSocket route: resource `/` or `*`, a route key or
/// `*`; the limits are [`super::throttle::throttle`]'s.
pub fn route_throttle(field: &str, m: &MethodThrottle) -> Checked {
    if !matches!(m.resource_path.as_str(), "/" | "*") {
        return Err(Violation::new(
            sub(field, "resource_path"),
            format!(
                "'{}': WebSocket routes are all on '/' (or use '*')",
                m.resource_path
            ),
        ));
    }
    if m.http_method != "*" {
        route_key(&sub(field, "http_method"), &m.http_method)?;
    }
    let t = m
        .throttle
        .as_ref()
        .ok_or_else(|| Violation::new(sub(field, "throttle"), "is required"))?;
    super::throttle::throttle(&sub(field, "throttle"), t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::{Authorizer, Integration, MethodResponse, Resource, ThrottleSettings};

    const WS: ApiProtocol = ApiProtocol::Websocket;

    fn route_of(key: &str) -> Method {
        Method {
            api_id: "a".into(),
            resource_id: "root".into(),
            http_method: key.into(),
            integration: Some(Integration {
                r#type: IntegrationType::HttpProxy as i32,
                uri: "http://127.0.0.1:9/chat".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn refusal(m: &Method) -> (String, String) {
        let v = route("method", m, None).unwrap_err();
        (v.field, v.reason)
    }

    fn deployment_of(methods: Vec<Method>) -> Deployment {
        Deployment {
            id: "d".into(),
            api_id: "a".into(),
            protocol: WS as i32,
            route_selection_expression: "$request.body.action".into(),
            resources: vec![Resource {
                id: "root".into(),
                api_id: "a".into(),
                path: "/".into(),
                ..Default::default()
            }],
            methods,
            ..Default::default()
        }
    }

    #[test]
    fn a_websocket_api_without_a_route_selection_expression_is_refused() {
        let v = route_selection_expression("rse", WS, "").unwrap_err();
        assert_eq!(v.field, "rse");
        assert!(v.reason.contains("needs one"), "{}", v.reason);
        assert!(route_selection_expression("rse", WS, "$request.body.action").is_ok());
        assert!(route_selection_expression("rse", WS, "${request.body.a}/x").is_ok());
        let v = route_selection_expression("rse", WS, "$request.header.x").unwrap_err();
        assert!(v.reason.contains("$request.body"), "{}", v.reason);
    }

    #[test]
    fn a_route_selection_expression_outside_websocket_apis_is_refused() {
        for p in [ApiProtocol::Rest, ApiProtocol::Http] {
            let v = route_selection_expression("rse", p, "$request.body.action").unwrap_err();
            assert!(v.reason.contains("only WEBSOCKET APIs"), "{}", v.reason);
            assert!(route_selection_expression("rse", p, "").is_ok());
        }
    }

    #[test]
    fn binary_media_types_on_a_websocket_api_are_refused() {
        let a = RestApi {
            route_selection_expression: "$request.body.action".into(),
            binary_media_types: vec!["image/png".into()],
            ..Default::default()
        };
        assert_eq!(api(&a, WS).unwrap_err().field, "binary_media_types");
        assert!(api(&a, ApiProtocol::Rest).is_err(), "the expression");
    }

    #[test]
    fn route_keys_are_the_reserved_three_or_printable_custom_keys() {
        for ok in [
            "$connect",
            "$disconnect",
            "$default",
            "sendMessage",
            "a/b c~",
            "x",
        ] {
            route_key("k", ok).unwrap();
        }
        route_key("k", &"k".repeat(128)).unwrap();
        for bad in ["", "$other", "$CONNECT", "tab\there", "é", &"k".repeat(129)] {
            assert_eq!(route_key("k", bad).unwrap_err().field, "k", "{bad:?}");
        }
    }

    #[test]
    fn authorization_on_a_route_other_than_connect_is_refused() {
        let mut m = route_of("sendMessage");
        m.authorization_type = "AWS_IAM".into();
        let (field, reason) = refusal(&m);
        assert_eq!(field, "method.authorization_type");
        assert!(reason.contains("only $connect"), "{reason}");
        let mut m = route_of("$default");
        m.api_key_required = true;
        assert_eq!(refusal(&m).0, "method.api_key_required");
        let mut m = route_of("$disconnect");
        m.authorization_type = "NONE".into();
        route("method", &m, None).unwrap();
    }

    #[test]
    fn jwt_authorization_on_connect_is_refused() {
        let mut m = route_of("$connect");
        m.authorization_type = "JWT".into();
        m.authorizer_id = "j".into();
        let (field, reason) = refusal(&m);
        assert_eq!(field, "method.authorization_type");
        assert!(reason.contains("JWT"), "{reason}");
    }

    #[test]
    fn a_token_authorizer_on_connect_is_refused() {
        let mut m = route_of("$connect");
        m.authorization_type = "CUSTOM".into();
        m.authorizer_id = "t".into();
        let v = route("method", &m, Some(AuthorizerType::Token)).unwrap_err();
        assert_eq!(v.field, "method.authorizer_id");
        assert!(v.reason.contains("REQUEST"), "{}", v.reason);
        route("method", &m, Some(AuthorizerType::Request)).unwrap();
        m.authorization_type = "AWS_IAM".into();
        m.authorizer_id.clear();
        m.api_key_required = true;
        route("method", &m, None).unwrap();
    }

    #[test]
    fn token_and_jwt_authorizers_in_a_websocket_api_are_refused() {
        for t in [AuthorizerType::Token, AuthorizerType::Jwt] {
            let v = authorizer_type("authorizer.type", WS, t).unwrap_err();
            assert!(
                v.reason.contains("REQUEST authorizers only"),
                "{}",
                v.reason
            );
            authorizer_type("authorizer.type", ApiProtocol::Rest, t).unwrap();
        }
        authorizer_type("authorizer.type", WS, AuthorizerType::Request).unwrap();
    }

    #[test]
    fn aws_service_integrations_on_a_route_are_refused() {
        let mut m = route_of("sendMessage");
        m.integration.as_mut().unwrap().r#type = IntegrationType::Aws as i32;
        let (field, reason) = refusal(&m);
        assert_eq!(field, "method.integration.type");
        assert!(reason.contains("not AWS"), "{reason}");
        for ok in [
            IntegrationType::Mock,
            IntegrationType::Http,
            IntegrationType::HttpProxy,
            IntegrationType::AwsProxy,
        ] {
            m.integration.as_mut().unwrap().r#type = ok as i32;
            route("method", &m, None).unwrap();
        }
    }

    #[test]
    fn route_integration_caching_and_http_api_forms_are_refused() {
        let mut m = route_of("sendMessage");
        m.integration.as_mut().unwrap().cache_key_parameters = vec!["x".into()];
        assert_eq!(refusal(&m).0, "method.integration.cache_key_parameters");
        let mut m = route_of("sendMessage");
        let i = m.integration.as_mut().unwrap();
        i.r#type = IntegrationType::AwsProxy as i32;
        i.payload_format_version = "2.0".into();
        assert_eq!(refusal(&m).0, "method.integration.payload_format_version");
    }

    /// Request parameter mappings are the one mapping setting routes do
    /// not take (an event's context reaches backends as headers, and
    /// templates); the shared rule names it, for both planes.
    #[test]
    fn request_parameters_on_route_integrations_are_refused() {
        use crate::v1::{ContentHandling, PassthroughBehavior};
        type Change = fn(&mut Integration);
        let http = |change: Change| {
            let mut m = route_of("sendMessage");
            let i = m.integration.as_mut().unwrap();
            i.r#type = IntegrationType::Http as i32;
            change(i);
            m
        };
        let params: Change = |i| {
            i.request_parameters.insert(
                "integration.request.header.x-user".into(),
                "context.connectionId".into(),
            );
        };
        let (field, reason) = refusal(&http(params));
        assert_eq!(field, "method.integration.request_parameters");
        assert!(reason.contains("x-archway-*"), "{reason}");
        method_in("method", &http(params), ApiProtocol::Rest, None).unwrap();
        let v = deployment(&deployment_of(vec![http(params)])).unwrap_err();
        assert!(v.reason.ends_with("(route sendMessage)"), "{}", v.reason);
        // What maps events: templates, passthrough and content handling.
        for change in [
            (|i| {
                i.request_templates.insert("$default".into(), "{}".into());
            }) as Change,
            |i| i.content_handling = ContentHandling::ConvertToText as i32,
            |i| i.passthrough_behavior = PassthroughBehavior::Never as i32,
        ] {
            route("method", &http(change), None).unwrap();
        }
    }

    fn websocket_scope() -> super::super::mapping::Scope<'static> {
        super::super::mapping::Scope {
            resource_path: "/",
            protocol: Some(ApiProtocol::Websocket),
            method: None,
        }
    }

    fn mapped(change: impl FnOnce(&mut Integration)) -> Result<(), Violation> {
        let mut i = Integration {
            r#type: IntegrationType::Http as i32,
            uri: "http://127.0.0.1:9000/events".into(),
            template_selection_expression: "${request.body.action}".into(),
            request_templates: [
                (
                    "join".to_string(),
                    r#"{"who": "$context.connectionId"}"#.to_string(),
                ),
                ("$default".to_string(), "$input.body".to_string()),
            ]
            .into(),
            integration_responses: vec![
                crate::v1::IntegrationResponse {
                    integration_response_key: "$default".into(),
                    template_selection_expression: "${integration.response.statuscode}".into(),
                    response_templates: [("200".to_string(), "ok".to_string())].into(),
                    ..Default::default()
                },
                crate::v1::IntegrationResponse {
                    integration_response_key: r"/4\d\d/".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        change(&mut i);
        super::super::integration::integration_in("i", &i, &websocket_scope())
    }

    #[test]
    fn websocket_mappings_take_aws_websocket_forms() {
        mapped(|_| {}).unwrap();
        let field = |change: fn(&mut Integration)| mapped(change).unwrap_err().field;
        assert_eq!(
            field(|i| i.template_selection_expression = "${request.header.x}".into()),
            "i.template_selection_expression"
        );
        assert_eq!(
            field(|i| {
                i.request_templates.insert("join".into(), "#if(".into());
            }),
            "i.request_templates[\"join\"]"
        );
        assert_eq!(
            field(|i| i.integration_responses[1].integration_response_key = "4\\d\\d".into()),
            "i.integration_responses[1].integration_response_key"
        );
        assert_eq!(
            field(|i| i.integration_responses[1].integration_response_key = "/(/".into()),
            "i.integration_responses[1].integration_response_key"
        );
        assert_eq!(
            field(|i| i.integration_responses[1].integration_response_key = "$default".into()),
            "i.integration_responses[1].integration_response_key",
            "two defaults"
        );
        assert_eq!(
            field(|i| i.integration_responses[0].integration_response_key.clear()),
            "i.integration_responses[0].integration_response_key"
        );
        for (which, change) in [
            (
                "status_code",
                (|i| i.integration_responses[0].status_code = "200".into()) as fn(&mut Integration),
            ),
            ("selection_pattern", |i| {
                i.integration_responses[0].selection_pattern = "2.*".into()
            }),
            ("response_parameters", |i| {
                i.integration_responses[0]
                    .response_parameters
                    .insert("method.response.header.x".into(), "'v'".into());
            }),
        ] {
            let v = mapped(change).unwrap_err();
            assert_eq!(v.field, format!("i.integration_responses[0].{which}"));
            assert!(
                v.reason.contains("integration_response_key"),
                "{}",
                v.reason
            );
        }
        assert_eq!(
            field(
                |i| i.integration_responses[0].template_selection_expression =
                    "${context.x}".into()
            ),
            "i.integration_responses[0].template_selection_expression"
        );
    }

    #[test]
    fn websocket_forms_are_refused_on_other_apis() {
        let rest = super::super::mapping::Scope::path("/");
        let i = Integration {
            r#type: IntegrationType::Http as i32,
            uri: "http://127.0.0.1:9000/x".into(),
            template_selection_expression: "\\$default".into(),
            ..Default::default()
        };
        let v = super::super::integration::integration_in("i", &i, &rest).unwrap_err();
        assert_eq!(v.field, "i.template_selection_expression");
        let i = Integration {
            r#type: IntegrationType::Http as i32,
            uri: "http://127.0.0.1:9000/x".into(),
            integration_responses: vec![crate::v1::IntegrationResponse {
                status_code: "200".into(),
                integration_response_key: "$default".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let v = super::super::integration::integration_in("i", &i, &rest).unwrap_err();
        assert_eq!(
            v.field,
            "i.integration_responses[0].integration_response_key"
        );
    }

    #[test]
    fn route_response_selection_other_than_default_is_refused() {
        let mut m = route_of("sendMessage");
        m.route_response_selection_expression = "$default".into();
        route("method", &m, None).unwrap();
        m.route_response_selection_expression = "$request.body.x".into();
        let (field, reason) = refusal(&m);
        assert_eq!(field, "method.route_response_selection_expression");
        assert!(reason.contains("$default"), "{reason}");
    }

    #[test]
    fn a_two_way_disconnect_route_is_refused() {
        let mut m = route_of("$disconnect");
        m.route_response_selection_expression = "$default".into();
        let (field, reason) = refusal(&m);
        assert_eq!(field, "method.route_response_selection_expression");
        assert!(reason.contains("already closed"), "{reason}");
    }

    #[test]
    fn a_route_response_selection_outside_websocket_apis_is_refused() {
        let mut m = route_of("GET");
        m.route_response_selection_expression = "$default".into();
        for p in [ApiProtocol::Rest, ApiProtocol::Http] {
            let v = method_in("method", &m, p, None).unwrap_err();
            assert_eq!(v.field, "method.route_response_selection_expression");
        }
        m.route_response_selection_expression.clear();
        method_in("method", &m, ApiProtocol::Rest, None).unwrap();
        // In a WEBSOCKET API the verb is no route key... but a custom one.
        method_in("method", &m, WS, None).unwrap();
        m.http_method = "$get".into();
        assert_eq!(
            method_in("method", &m, WS, None).unwrap_err().field,
            "method.http_method"
        );
    }

    #[test]
    fn validators_method_responses_and_models_without_messages_are_refused() {
        // Models keyed by selection values validate a message route.
        let mut m = route_of("sendMessage");
        m.model_selection_expression = "${request.body.kind}".into();
        m.request_models.insert("order".into(), "Order".into());
        m.request_models.insert("$default".into(), "Any".into());
        route("method", &m, None).unwrap();
        m.model_selection_expression = "${context.x}".into();
        assert_eq!(refusal(&m).0, "method.model_selection_expression");
        for key in [CONNECT, DISCONNECT] {
            let mut m = route_of(key);
            m.request_models.insert("$default".into(), "M".into());
            let (field, reason) = refusal(&m);
            assert_eq!(field, "method.request_models");
            assert!(reason.contains("no message"), "{reason}");
        }
        let mut rest = route_of("GET");
        rest.model_selection_expression = "\\$default".into();
        let v = method_in("method", &rest, ApiProtocol::Rest, None).unwrap_err();
        assert_eq!(v.field, "method.model_selection_expression");
        let mut m = route_of("sendMessage");
        m.request_validator_id = "v".into();
        assert_eq!(refusal(&m).0, "method.request_validator_id");
        let mut m = route_of("sendMessage");
        m.method_responses.push(MethodResponse {
            status_code: "200".into(),
            ..Default::default()
        });
        let (field, reason) = refusal(&m);
        assert_eq!(field, "method.method_responses");
        assert!(reason.contains("WebSocket routes have no"), "{reason}");
    }

    #[test]
    fn request_parameters_on_a_message_route_are_refused() {
        let mut m = route_of("sendMessage");
        m.request_parameters
            .insert("method.request.header.X-Key".into(), true);
        assert_eq!(refusal(&m).0, "method.request_parameters");
        m.http_method = CONNECT.into();
        route("method", &m, None).unwrap();
    }

    #[test]
    fn a_websocket_deployment_without_routes_is_refused() {
        let v = deployment(&deployment_of(vec![])).unwrap_err();
        assert_eq!(v.field, "routes");
        assert!(v.reason.contains("at least one route"), "{}", v.reason);
        deployment(&deployment_of(vec![route_of("$default")])).unwrap();
    }

    #[test]
    fn a_websocket_deployment_with_resources_besides_the_root_is_refused() {
        let mut d = deployment_of(vec![route_of("$default")]);
        d.resources.push(Resource {
            id: "r1".into(),
            parent_id: "root".into(),
            path_part: "chat".into(),
            path: "/chat".into(),
            ..Default::default()
        });
        let v = deployment(&d).unwrap_err();
        assert_eq!(v.field, "resources");
        assert!(v.reason.contains("'/chat'"), "{}", v.reason);
    }

    #[test]
    fn a_websocket_deployment_names_the_route_it_refuses() {
        let mut connect = route_of("$connect");
        connect.authorization_type = "CUSTOM".into();
        connect.authorizer_id = "t".into();
        let mut d = deployment_of(vec![connect]);
        d.authorizers.push(Authorizer {
            id: "t".into(),
            r#type: AuthorizerType::Token as i32,
            ..Default::default()
        });
        let v = deployment(&d).unwrap_err();
        assert_eq!(v.field, "authorizer.type");
        assert!(v.reason.ends_with("(authorizer 't')"), "{}", v.reason);
        d.authorizers[0].r#type = AuthorizerType::Request as i32;
        deployment(&d).unwrap();
        d.methods[0].http_method = "$nope".into();
        let v = deployment(&d).unwrap_err();
        assert_eq!(v.field, "method.http_method");
        assert!(v.reason.ends_with("(route $nope)"), "{}", v.reason);
        let mut d = deployment_of(vec![route_of("$default")]);
        d.route_selection_expression.clear();
        assert_eq!(
            deployment(&d).unwrap_err().field,
            "route_selection_expression"
        );
    }

    #[test]
    fn caching_and_canaries_on_a_websocket_stage_are_refused() {
        let base = Stage {
            stage_name: "prod".into(),
            ..Default::default()
        };
        stage(&base, WS).unwrap();
        let cached = Stage {
            cache_cluster_enabled: true,
            ..base.clone()
        };
        let v = stage(&cached, WS).unwrap_err();
        assert_eq!(v.field, "stage.cache_cluster_enabled");
        assert!(v.reason.contains("no cache"), "{}", v.reason);
        stage(&cached, ApiProtocol::Rest).unwrap();
        let canary = Stage {
            canary: Some(Default::default()),
            ..base.clone()
        };
        assert_eq!(stage(&canary, WS).unwrap_err().field, "stage.canary");
    }

    #[test]
    fn route_throttles_take_route_keys_on_the_root() {
        let t = |path: &str, key: &str| MethodThrottle {
            resource_path: path.into(),
            http_method: key.into(),
            throttle: Some(ThrottleSettings {
                rate_limit: 10.0,
                burst_limit: 5,
            }),
        };
        for (path, key) in [("/", "sendMessage"), ("/", "$connect"), ("*", "*")] {
            route_throttle("s", &t(path, key)).unwrap();
        }
        assert_eq!(
            route_throttle("s", &t("/chat", "x")).unwrap_err().field,
            "s.resource_path"
        );
        assert_eq!(
            route_throttle("s", &t("/", "$nope")).unwrap_err().field,
            "s.http_method"
        );
    }
}
