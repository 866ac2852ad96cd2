//! WEBSOCKET deployments: route keys instead of verbs, and the table that
//! finds a message's route ([`WebSocketRoutes`]).
//!
//! A WEBSOCKET API's routes are methods on its root resource whose verb is
//! the route key (see the contract in `config.proto`). Each compiles as any
//! method does (integration, authorizer, API key), in
//! [`super::compile_deployment`], after the shared rules
//! (`archway_proto::rules::websocket`, the admin API's) checked keys,
//! authorization and route responses. What is the node's own is here: the
//! integrations a node can call with events, the routes-by-key table, and
//! the implicit `$connect` a deployment without one gets. A deployment that
//! fails any of it is refused, so a node never swaps in a WebSocket API it
//! cannot serve.

use crate::tables::validation::Models;
use crate::tables::websocket::{CONNECT, DEFAULT, DISCONNECT, MessageModels, WebSocketRoutes};
use crate::tables::{CompiledIntegration, ConfigMap, Route};
use crate::telemetry::metrics::label;
use archway_proto::route_selection::RouteSelection;
use archway_proto::template_selection::{Side, TemplateSelection};
use archway_proto::v1::Method;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};

/// Whether a node serves `integration` on a WebSocket route: MOCK,
/// HTTP_PROXY, HTTP and MOCK mapped for events
/// ([`crate::websocket::mapping`]), and functions (AWS_PROXY). The shared
/// rule (`rules::websocket::route`, which the admin API and this compiler
/// both run first) already refuses parameter mappings and service actions
/// on routes, by field; this is the node's own guard that it never swaps
/// in a route it cannot call.
pub fn check_integration(key: &str, integration: &CompiledIntegration) -> Result<(), String> {
    use crate::aws::integration::ProxyIntegration;
    match integration {
        CompiledIntegration::Mock { .. } | CompiledIntegration::HttpProxy { .. } => Ok(()),
        CompiledIntegration::AwsProxy(p) if matches!(**p, ProxyIntegration::Function(_)) => Ok(()),
        CompiledIntegration::WebSocketMapped(_) => Ok(()),
        _ => Err(format!(
            "route '{key}': WebSocket routes are served with MOCK, HTTP, HTTP_PROXY or AWS_PROXY (function) integrations, not service actions"
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
    deployed_models: &Models,
) -> Result<WebSocketRoutes, String> {
    let selection = RouteSelection::parse(expression)
        .map_err(|e| format!("route selection expression '{expression}': {e}"))?;
    let mut by_key = ConfigMap::default();
    let (mut connect, mut disconnect, mut default) = (None, None, None);
    let mut two_way = Vec::with_capacity(routes.len() + 1);
    let mut models = Vec::with_capacity(routes.len() + 1);
    for (route, method) in routes.iter().zip(methods) {
        let key = route.route_key.as_deref().unwrap_or_default();
        models.push(message_models(key, method, deployed_models)?);
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
            models.push(None);
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
        models: models.into(),
    })
}

/// Route `key`'s request models, found in the deployment's compiled
/// models by name; None when it has none.
fn message_models(
    key: &str,
    method: &Method,
    deployed: &Models,
) -> Result<Option<MessageModels>, String> {
    if method.request_models.is_empty() {
        return Ok(None);
    }
    let selection = TemplateSelection::parse(&method.model_selection_expression, Side::Request)
        .map_err(|e| format!("route '{key}': model_selection_expression: {e}"))?;
    let by_key = method
        .request_models
        .iter()
        .map(|(k, name)| {
            deployed
                .get(name)
                .map(|m| (k.as_str().into(), m.clone()))
                .ok_or_else(|| {
                    format!("route '{key}': request_models[\"{k}\"]: no model '{name}' in the deployment")
                })
        })
        .collect::<Result<_, String>>()?;
    Ok(Some(MessageModels { selection, by_key }))
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
    fn mapped_http_routes_are_served_and_service_actions_are_not() {
        use archway_proto::v1::{Integration, IntegrationType};
        let http = |templates: &[(&str, &str)]| Integration {
            r#type: IntegrationType::Http as i32,
            http_method: "POST".into(),
            uri: "http://127.0.0.1:9/events".into(),
            request_templates: templates
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            ..Default::default()
        };
        let compiled = |i: &Integration| {
            CompiledIntegration::WebSocketMapped(Box::new(
                crate::event_mapping::compile(i).expect("mapped").unwrap(),
            ))
        };
        check_integration("send", &compiled(&http(&[]))).unwrap();
        check_integration("send", &compiled(&http(&[("$default", "{\"a\": 1}")]))).unwrap();
        check_integration("send", &implicit_connect(0, "r").integration).unwrap();
        let action = Integration {
            r#type: IntegrationType::Aws as i32,
            uri: "arn:aws:apigateway:us-east-1:sqs:action/SendMessage".into(),
            ..Default::default()
        };
        let rest = CompiledIntegration::Mapped(Box::new(
            crate::mapping::compile(&action, &[])
                .expect("mapped")
                .unwrap(),
        ));
        let err = check_integration("send", &rest).unwrap_err();
        assert!(err.contains("route 'send'"), "{err}");
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
        let table = super::routes(
            "$request.body.action",
            &methods,
            &mut list,
            "root",
            &Models::default(),
        )
        .unwrap();
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
        assert!(
            super::routes(
                "$request.body.action",
                &methods,
                &mut list,
                "r",
                &Models::default()
            )
            .is_err()
        );
        let mut list = vec![];
        let err = super::routes("action", &[], &mut list, "r", &Models::default()).unwrap_err();
        assert!(err.contains("route selection expression"), "{err}");
        let two_way = Method {
            route_response_selection_expression: "$default".into(),
            ..method("echo")
        };
        let mut list = vec![keyed_route(0, "echo")];
        let table = super::routes(
            "$request.body.action",
            &[&two_way],
            &mut list,
            "r",
            &Models::default(),
        )
        .unwrap();
        assert!(table.two_way[0]);
        assert!(table.connect_configured.eq(&false));
    }
}
