//! WEBSOCKET deployments: route keys instead of verbs, and the table that
//! finds a message's route ([`WebSocketRoutes`]).
//!
//! A WEBSOCKET API's routes are methods on its root resource whose verb is
//! the route key (see the contract in `config.proto`). Each compiles as any
//! method does (integration, authorizer, API key), in
//! [`super::compile_deployment`]; what is WebSocket-only is here: the key's
//! shape, which routes may be authorized, the route selection expression,
//! and the implicit `$connect` a deployment without one gets. A deployment
//! that breaks any of it is refused, so a node never swaps in a WebSocket
//! API it cannot serve.

use crate::tables::websocket::{CONNECT, DEFAULT, DISCONNECT, WebSocketRoutes};
use crate::tables::{CompiledIntegration, ConfigMap, Route};
use crate::telemetry::metrics::label;
use archway_proto::route_selection::RouteSelection;
use archway_proto::v1::Method;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};

/// Checks one route (a method of a WEBSOCKET deployment), as AWS does:
/// on the root resource, a key of 1-128 printable ASCII characters whose
/// `$` keys are the three AWS defines, authorization and API keys on
/// `$connect` only, and no route response on `$disconnect`.
pub fn check_route(method: &Method, path: &str) -> Result<(), String> {
    let key = method.http_method.as_str();
    if path != "/" {
        return Err(format!(
            "route '{key}' is on resource '{path}'; WEBSOCKET routes are on the root resource"
        ));
    }
    if key.is_empty() || key.len() > 128 || !key.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(format!(
            "route key '{key}' must be 1-128 printable ASCII characters"
        ));
    }
    if key.starts_with('$') && ![CONNECT, DISCONNECT, DEFAULT].contains(&key) {
        return Err(format!(
            "route key '{key}': keys starting with '$' are {CONNECT}, {DISCONNECT} and {DEFAULT}"
        ));
    }
    let authorized = !matches!(method.authorization_type.as_str(), "" | "NONE");
    if key != CONNECT && (authorized || method.api_key_required) {
        return Err(format!(
            "route '{key}': only {CONNECT} may be authorized or require an API key"
        ));
    }
    if key == CONNECT && method.authorization_type == "JWT" {
        return Err(format!(
            "route '{key}': WebSocket APIs authorize with AWS_IAM or a CUSTOM REQUEST authorizer, not JWT"
        ));
    }
    match method.route_response_selection_expression.as_str() {
        "" => Ok(()),
        "$default" if key != DISCONNECT => Ok(()),
        "$default" => Err(format!("route '{key}' cannot send a route response")),
        other => Err(format!(
            "route '{key}': route response selection expression '{other}' is not supported; use $default or nothing"
        )),
    }
}

/// Whether a node serves `integration` on a WebSocket route: MOCK,
/// HTTP_PROXY and functions (AWS_PROXY). Mapped integrations (templates)
/// and service actions are refused until events can be mapped.
pub fn check_integration(key: &str, integration: &CompiledIntegration) -> Result<(), String> {
    use crate::aws::integration::ProxyIntegration;
    match integration {
        CompiledIntegration::Mock { .. } | CompiledIntegration::HttpProxy { .. } => Ok(()),
        CompiledIntegration::AwsProxy(p) if matches!(**p, ProxyIntegration::Function(_)) => Ok(()),
        _ => Err(format!(
            "route '{key}': WebSocket routes are served with MOCK, HTTP_PROXY or AWS_PROXY (function) integrations; mapping templates and service actions are not supported on them"
        )),
    }
}

/// The route a deployment without `$connect` gets: every connect is
/// accepted (subject to the stage's throttles and the API's resource
/// policy, which run on it), and no integration is called.
pub fn implicit_connect(id: u32, resource_id: &str) -> Route {
    Route {
        id,
        resource_path: "/".into(),
        resource_id: resource_id.into(),
        route_key: Some(CONNECT.into()),
        label: label("route", CONNECT),
        series: Default::default(),
        api_key_required: false,
        auth: None,
        integration: CompiledIntegration::Mock {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        },
        cache_key: Box::default(),
        validation: None,
    }
}

/// The routes-by-key table of a deployment whose routes are `routes`
/// (each with its key) and whose methods are `methods` (same order, for
/// the route responses). Appends the implicit `$connect` when there is
/// none.
pub fn routes(
    expression: &str,
    methods: &[&Method],
    routes: &mut Vec<Route>,
    root_resource_id: &str,
) -> Result<WebSocketRoutes, String> {
    let selection = RouteSelection::parse(expression)
        .map_err(|e| format!("route selection expression '{expression}': {e}"))?;
    let mut by_key = ConfigMap::default();
    let (mut connect, mut disconnect, mut default) = (None, None, None);
    let mut two_way = Vec::with_capacity(routes.len() + 1);
    for (route, method) in routes.iter().zip(methods) {
        let key = route.route_key.as_deref().unwrap_or_default();
        let slot = match key {
            CONNECT => &mut connect,
            DISCONNECT => &mut disconnect,
            DEFAULT => &mut default,
            custom => {
                if by_key.insert(custom.into(), route.id).is_some() {
                    return Err(format!("route key '{custom}' is defined twice"));
                }
                two_way.push(method.route_response_selection_expression == "$default");
                continue;
            }
        };
        if slot.replace(route.id).is_some() {
            return Err(format!("route key '{key}' is defined twice"));
        }
        two_way.push(method.route_response_selection_expression == "$default");
    }
    let connect_configured = connect.is_some();
    let connect = match connect {
        Some(id) => id,
        None => {
            let id = routes.len() as u32;
            routes.push(implicit_connect(id, root_resource_id));
            two_way.push(false);
            id
        }
    };
    Ok(WebSocketRoutes {
        selection,
        by_key,
        connect,
        connect_configured,
        disconnect,
        default,
        two_way: two_way.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(key: &str) -> Method {
        Method {
            http_method: key.into(),
            ..Default::default()
        }
    }

    #[test]
    fn route_keys_are_checked_as_aws_does() {
        for good in [
            "$connect",
            "$disconnect",
            "$default",
            "sendMessage",
            "a b/c",
        ] {
            check_route(&method(good), "/").unwrap();
        }
        for bad in ["", "$other", "caf\u{e9}", &"k".repeat(129)] {
            assert!(check_route(&method(bad), "/").is_err(), "{bad:?}");
        }
        assert!(check_route(&method("send"), "/pets").is_err(), "root only");
    }

    #[test]
    fn only_connect_is_authorized_or_keyed() {
        let keyed = |key: &str| Method {
            api_key_required: true,
            ..method(key)
        };
        let authorized = |key: &str, kind: &str| Method {
            authorization_type: kind.into(),
            ..method(key)
        };
        check_route(&keyed("$connect"), "/").unwrap();
        check_route(&authorized("$connect", "AWS_IAM"), "/").unwrap();
        check_route(&authorized("$connect", "CUSTOM"), "/").unwrap();
        assert!(check_route(&authorized("$connect", "JWT"), "/").is_err());
        assert!(check_route(&keyed("send"), "/").is_err());
        assert!(check_route(&authorized("$default", "AWS_IAM"), "/").is_err());
    }

    #[test]
    fn route_responses_are_default_or_none_and_never_on_disconnect() {
        let two_way = |key: &str, rrse: &str| Method {
            route_response_selection_expression: rrse.into(),
            ..method(key)
        };
        check_route(&two_way("send", "$default"), "/").unwrap();
        check_route(&two_way("$connect", ""), "/").unwrap();
        assert!(check_route(&two_way("$disconnect", "$default"), "/").is_err());
        assert!(check_route(&two_way("send", "$request.body.x"), "/").is_err());
    }

    fn keyed_route(id: u32, key: &str) -> Route {
        Route {
            route_key: Some(key.into()),
            ..implicit_connect(id, "root")
        }
    }

    #[test]
    fn a_deployment_without_connect_gets_one_that_accepts() {
        let methods = [method("send"), method("$default")];
        let methods: Vec<&Method> = methods.iter().collect();
        let mut list = vec![keyed_route(0, "send"), keyed_route(1, "$default")];
        let table = super::routes("$request.body.action", &methods, &mut list, "root").unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(table.connect, 2);
        assert!(!table.connect_configured);
        assert_eq!(list[2].route_key.as_deref(), Some("$connect"));
        assert_eq!(table.default, Some(1));
        assert_eq!(table.by_key.get("send"), Some(&0));
        assert_eq!(table.two_way.len(), 3);
    }

    #[test]
    fn duplicate_keys_and_bad_expressions_are_refused() {
        let methods = [method("send"), method("send")];
        let methods: Vec<&Method> = methods.iter().collect();
        let mut list = vec![keyed_route(0, "send"), keyed_route(1, "send")];
        assert!(super::routes("$request.body.action", &methods, &mut list, "r").is_err());
        let mut list = vec![];
        let err = super::routes("action", &[], &mut list, "r").unwrap_err();
        assert!(err.contains("route selection expression"), "{err}");
        let two_way = Method {
            route_response_selection_expression: "$default".into(),
            ..method("echo")
        };
        let mut list = vec![keyed_route(0, "echo")];
        let table = super::routes("$request.body.action", &[&two_way], &mut list, "r").unwrap();
        assert!(table.two_way[0]);
        assert!(table.connect_configured.eq(&false));
    }
}
