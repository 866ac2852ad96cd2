//! Phase: route. Which method of the stage's deployment the request calls,
//! by verb and the path after the stage (see [`crate::routes`] for the
//! precedence), and its path parameters.

use super::context::{Context, Stage, Target, param_spans};
use super::gateway_response::GatewayResponse;
use super::observe::Phase;
use crate::routes::Lookup;
use archway_proto::v1::ApiProtocol;

/// The phase. No match is AWS's answer for the API's protocol: a REST API
/// says 403 "Missing Authentication Token", an HTTP API 404.
pub fn match_route<'a>(
    cx: &mut Context<'a>,
    stage: Stage<'a>,
) -> Result<Target<'a>, GatewayResponse> {
    let deployment = &stage.serving.deployment;
    let path = cx.stage_path();
    let (route, spans) = match deployment.tree.lookup(&cx.head.method, path) {
        Lookup::Matched { route, params } => (
            &deployment.routes[route as usize],
            param_spans(path, &params),
        ),
        Lookup::NoResource | Lookup::NoMethod => {
            return Err(match stage.api.protocol {
                ApiProtocol::Http => GatewayResponse::NotFound,
                _ => GatewayResponse::MissingAuthenticationToken,
            });
        }
    };
    cx.set_params(spans);
    cx.observation.route = Some(route);
    cx.observation.event(Phase::RouteMatched);
    Ok(Target {
        api: stage.api,
        stage: stage.stage,
        serving: stage.serving,
        route,
    })
}
