//! The request pipeline, one module per stage, composed in order in
//! [`Gateway::handle`]: payload limit → resolve API and stage → match route →
//! integration (mock or HTTP proxy). Each refusal is a typed
//! [`GatewayResponse`]. Later stages (authorizers, keys, throttling,
//! validation, caching, mapping) slot in between route and integration.

pub mod gateway_response;
pub mod headers;
pub mod http_proxy;
pub mod mock;
pub mod resolve;

use crate::apply::SharedTables;
use crate::compile::routes::Lookup;
use crate::tables::CompiledIntegration;
use crate::upstream::Upstream;
use archway_proto::v1::ApiProtocol;
use bytes::Bytes;
use gateway_response::GatewayResponse;
use headers::ClientInfo;
use http::{Request, Response};
use http_body_util::{Either, Full};
use hyper::body::Incoming;

/// Responses stream from a backend or come whole from the gateway.
pub type GatewayBody = Either<Incoming, Full<Bytes>>;

/// The default payload limit, as in AWS: 10 MB.
pub const DEFAULT_MAX_PAYLOAD: usize = 10 * 1024 * 1024;

#[derive(Debug)]
pub struct Gateway {
    tables: SharedTables,
    /// With a leading dot: `.execute-api.localhost`.
    domain: Box<str>,
    upstream: Upstream,
    max_payload: usize,
}

impl Gateway {
    pub fn new(tables: SharedTables, domain: &str, max_payload: usize) -> Self {
        let domain = format!(".{}", domain.trim_start_matches('.').to_ascii_lowercase());
        Self {
            tables,
            domain: domain.into(),
            upstream: Upstream::new(),
            max_payload,
        }
    }

    pub async fn handle(
        &self,
        request: Request<Incoming>,
        client: &ClientInfo,
    ) -> Response<GatewayBody> {
        match self.process(request, client).await {
            Ok(response) => response,
            Err(refusal) => refusal.into_response(),
        }
    }

    async fn process(
        &self,
        request: Request<Incoming>,
        client: &ClientInfo,
    ) -> Result<Response<GatewayBody>, GatewayResponse> {
        check_declared_length(&request, self.max_payload)?;
        // One load per request: the whole request sees one version.
        let tables = self.tables.load_full();
        let host = request
            .uri()
            .host()
            .or_else(|| request.headers().get(http::header::HOST)?.to_str().ok());
        let resolve::Resolved { api, target, path } =
            resolve::resolve(&tables, &self.domain, host, request.uri().path())?;
        let no_route = match api.protocol {
            ApiProtocol::Http => GatewayResponse::NotFound,
            _ => GatewayResponse::MissingAuthenticationToken,
        };
        let deployment = &target.deployment;
        let (route, params) = match deployment.tree.lookup(request.method(), path) {
            Lookup::Matched { route, params } => (&deployment.routes[route as usize], params),
            Lookup::NoResource | Lookup::NoMethod => return Err(no_route),
        };
        match &route.integration {
            CompiledIntegration::Mock {
                status,
                headers,
                body,
            } => Ok(mock::respond(*status, headers, body)),
            CompiledIntegration::HttpProxy {
                method,
                uri,
                timeout,
            } => {
                let uri =
                    http_proxy::render_uri(uri, &params, &target.variables, request.uri().query())?;
                // The parameters borrow the request's path; release them
                // before the request moves on.
                drop(params);
                let forward = http_proxy::Forward {
                    upstream: &self.upstream,
                    method: method.as_ref(),
                    uri,
                    timeout: *timeout,
                    client,
                    max_payload: self.max_payload,
                };
                http_proxy::forward(forward, request).await
            }
        }
    }
}

/// Refuses a body whose declared length is over the limit before reading it.
fn check_declared_length<B>(request: &Request<B>, max: usize) -> Result<(), GatewayResponse> {
    let Some(value) = request.headers().get(http::header::CONTENT_LENGTH) else {
        return Ok(());
    };
    let length: u64 = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or(GatewayResponse::BadRequest)?;
    if length > max as u64 {
        return Err(GatewayResponse::RequestTooLarge);
    }
    Ok(())
}
