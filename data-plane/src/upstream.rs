//! The pooled HTTP client towards backends: keep-alive connections reused
//! across requests and across configuration swaps (it lives beside the
//! tables, not in them). `http://` backends are dialled in the clear,
//! `https://` ones through rustls with the node's client configuration
//! (see [`crate::tls`]), always over HTTP/1.1.

use http_body_util::Limited;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::sync::Arc;
use std::time::Duration;

/// Request bodies stream through (or come from memory) with a size cap.
pub type UpstreamBody = Limited<crate::pipeline::RequestBody>;

#[derive(Clone, Debug)]
pub struct Upstream {
    client: Client<crate::tls::Connector, UpstreamBody>,
}

impl Upstream {
    /// A client trusting what `tls` trusts for `https://` backends.
    pub fn new(tls: &Arc<rustls::ClientConfig>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        connector.set_keepalive(Some(Duration::from_secs(60)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(2048)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(crate::tls::connector(connector, tls));
        Self { client }
    }

    pub fn request(&self, request: http::Request<UpstreamBody>) -> ResponseFuture {
        self.client.request(request)
    }
}

impl Default for Upstream {
    fn default() -> Self {
        Self::new(&crate::tls::default_client_config())
    }
}
