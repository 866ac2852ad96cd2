//! The pooled HTTP client towards backends: keep-alive connections reused
//! across requests and across configuration swaps (it lives beside the
//! tables, not in them).

use http_body_util::Limited;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::time::Duration;

/// Request bodies stream through (or come from memory) with a size cap.
pub type UpstreamBody = Limited<crate::pipeline::RequestBody>;

#[derive(Clone, Debug)]
pub struct Upstream {
    client: Client<HttpConnector, UpstreamBody>,
}

impl Upstream {
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        connector.set_keepalive(Some(Duration::from_secs(60)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(2048)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        Self { client }
    }

    pub fn request(&self, request: http::Request<UpstreamBody>) -> ResponseFuture {
        self.client.request(request)
    }
}

impl Default for Upstream {
    fn default() -> Self {
        Self::new()
    }
}
