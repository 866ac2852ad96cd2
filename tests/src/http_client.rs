//! Plain HTTP requests to a node, with the Host header that selects the API.

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;

pub const DOMAIN: &str = "execute-api.localhost";

#[derive(Clone)]
pub struct GatewayClient {
    client: Client<HttpConnector, Full<Bytes>>,
    http2: bool,
}

#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }
}

impl Default for GatewayClient {
    fn default() -> Self {
        Self::new(false)
    }
}

impl crate::DataPlane {
    /// Sends one HTTP/1.1 request to API `api` on this node: what most tests
    /// send, in one argument order.
    pub async fn send(
        &self,
        api: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> anyhow::Result<Answer> {
        GatewayClient::default()
            .send_with_headers(self.addr(), api, method, path, body, headers)
            .await
    }
}

impl GatewayClient {
    /// An HTTP/1.1 client whose connections come from `local` (a loopback
    /// address such as 127.0.0.2), to test source-address rules.
    pub fn bound_to(local: std::net::IpAddr) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_local_address(Some(local));
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Self {
            client,
            http2: false,
        }
    }

    /// `http2`: speak HTTP/2 with prior knowledge (h2c).
    pub fn new(http2: bool) -> Self {
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self { client, http2 }
    }

    pub async fn send(
        &self,
        node: SocketAddr,
        api_id: &str,
        method: &str,
        path: &str,
        body: impl Into<Bytes>,
    ) -> anyhow::Result<Answer> {
        self.send_with_headers(node, api_id, method, path, body, &[])
            .await
    }

    /// Sends with extra request headers.
    pub async fn send_with_headers(
        &self,
        node: SocketAddr,
        api_id: &str,
        method: &str,
        path: &str,
        body: impl Into<Bytes>,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Answer> {
        let response = if self.http2 {
            // HTTP/2 names the host in :authority: dial the node, but put the
            // API's host name in the URI.
            let mut request = Request::builder()
                .method(method)
                .uri(format!("http://{api_id}.{DOMAIN}{path}"));
            for (k, v) in headers {
                request = request.header(*k, *v);
            }
            let request = request.body(Full::new(body.into()))?;
            let stream = tokio::net::TcpStream::connect(node).await?;
            let (mut sender, connection) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                    .await?;
            tokio::spawn(connection);
            sender.send_request(request).await?
        } else {
            let mut request = Request::builder()
                .method(method)
                .uri(format!("http://{node}{path}"))
                .header("host", format!("{api_id}.{DOMAIN}"));
            for (k, v) in headers {
                request = request.header(*k, *v);
            }
            self.client
                .request(request.body(Full::new(body.into()))?)
                .await?
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    pub async fn get(&self, node: SocketAddr, api_id: &str, path: &str) -> anyhow::Result<Answer> {
        self.send(node, api_id, "GET", path, Bytes::new()).await
    }

    /// GET with an `x-api-key` header.
    pub async fn get_with_key(
        &self,
        node: SocketAddr,
        api_id: &str,
        path: &str,
        key: &str,
    ) -> anyhow::Result<Answer> {
        self.send_with_headers(
            node,
            api_id,
            "GET",
            path,
            Bytes::new(),
            &[("x-api-key", key)],
        )
        .await
    }
}

/// GET `url` and return the status and the body as text.
pub async fn fetch(url: &str) -> anyhow::Result<(StatusCode, String)> {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let response = client.get(url.parse()?).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}
