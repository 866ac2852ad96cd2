//! What the benches that drive the whole pipeline share (`pipeline.rs`,
//! `stage_cache.rs`, `mapping.rs`, `validation.rs`): the configuration
//! resources they all compile, a gateway over tables compiled in memory,
//! no sockets, and requests for it answered in one poll.

// Each bench uses its own part of these.
#![allow(dead_code)]

use archway_data_plane::access_log::AccessLogSinks;
use archway_data_plane::body;
use archway_data_plane::compile::compile;
use archway_data_plane::pipeline::headers::ClientInfo;
use archway_data_plane::pipeline::{Gateway, GatewayBody};
use archway_data_plane::tables::RuntimeTables;
use archway_proto::v1::config_resource::Resource as Body;
use archway_proto::v1::{ApiProtocol, ConfigResource, NodeSettings, RestApi, Stage};
use bytes::Bytes;
use futures_util::FutureExt;
use std::hint::black_box;
use std::sync::Arc;

/// The host API `a` is served on.
pub const HOST: &str = "a.execute-api.localhost";

/// The secret the node hashes API keys with (see [`settings`]).
pub const API_KEY_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

/// A configuration resource `name` holding `body`.
pub fn res(name: &str, body: Body) -> ConfigResource {
    ConfigResource {
        name: name.into(),
        resource: Some(body),
    }
}

/// The node's settings: [`API_KEY_SECRET`], a region and an account.
pub fn settings() -> ConfigResource {
    res(
        "settings",
        Body::Settings(NodeSettings {
            api_key_secret: API_KEY_SECRET.to_vec(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            ..Default::default()
        }),
    )
}

/// API `id` of `protocol`.
pub fn api(id: &str, protocol: ApiProtocol) -> ConfigResource {
    res(
        &format!("api/{id}"),
        Body::Api(RestApi {
            id: id.into(),
            protocol: protocol as i32,
            ..Default::default()
        }),
    )
}

/// Stage `prod` of API `api`, serving `deployment` with `variables`.
pub fn stage(api: &str, deployment: &str, variables: &[(&str, &str)]) -> ConfigResource {
    res(
        &format!("stage/{api}/prod"),
        Body::Stage(Stage {
            api_id: api.into(),
            stage_name: "prod".into(),
            deployment_id: deployment.into(),
            variables: variables
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }),
    )
}

/// A runtime for the gateway: enter it (`let _entered = rt.enter();`)
/// before [`gateway`] and stay in it while timing.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A gateway serving `config` (compiled as version 1) and the client it
/// sees requests from; call it inside the [`runtime`].
pub fn gateway(config: &[ConfigResource]) -> (Gateway, ClientInfo) {
    let tables = compile(
        1,
        config,
        &RuntimeTables::empty(),
        &AccessLogSinks::default(),
    )
    .expect("the bench's configuration compiles");
    let gateway = Gateway::in_memory(Arc::new(tables), "execute-api.localhost", 10 * 1024 * 1024)
        .expect("an in-memory gateway");
    let client = ClientInfo::new("127.0.0.1".parse().unwrap(), false, false);
    (gateway, client)
}

/// A GET of `path` on API `a`, with `key` as its API key if given.
pub fn get(path: &str, key: Option<&str>) -> http::Request<body::StreamingBody> {
    let mut request = http::Request::get(path).header("host", HOST);
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    request
        .body(body::streaming(http_body_util::Empty::<Bytes>::new()))
        .expect("a valid request")
}

/// A JSON POST of `body` to `path` on `host`.
pub fn post(host: &str, path: &str, body: impl Into<Bytes>) -> http::Request<body::StreamingBody> {
    http::Request::post(path)
        .header("host", host)
        .header("content-type", "application/json")
        .body(body::streaming(http_body_util::Full::new(body.into())))
        .expect("a valid request")
}

/// The gateway's answer to `request`, which must come in one poll (a MOCK
/// route, a cache hit or a refusal never wait).
pub fn answer(
    gateway: &Gateway,
    client: &ClientInfo,
    request: http::Request<body::StreamingBody>,
) -> http::Response<GatewayBody> {
    gateway
        .handle(black_box(request), client)
        .now_or_never()
        .expect("a MOCK route, a hit or a refusal answers in one poll")
}
