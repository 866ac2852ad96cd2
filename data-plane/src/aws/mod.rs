//! Outbound calls to AWS: functions (the Lambda Invoke API) and service
//! actions, from `AWS` and `AWS_PROXY` integrations.
//!
//! One path for all of them: find the credentials ([`credentials`]: the
//! integration's, else the node's environment), the endpoint and region
//! ([`endpoints`], [`arn`]), sign with SigV4 ([`sign`], the `aws-sigv4`
//! crate), and send the whole request through the node's outbound client
//! ([`Upstream`], recorded under the purpose `integration`) within the
//! integration's timeout. [`AwsOutbound::send`] is that path; the function
//! and service integrations (`pipeline::function`, `pipeline::aws_service`)
//! and the mapping flow's `AWS` integrations build requests for it.
//!
//! Secrets never reach logs: errors name the key id at most.

pub mod action;
pub mod credentials;
pub mod endpoints;
pub mod integration;
pub mod lambda;
pub mod sign;

pub use action::{CallAnswer, RenderedRequest, call};

use crate::upstream::{BufferedLimits, BufferedRequest, Upstream, UpstreamError, error_chain};
use bytes::Bytes;
use credentials::{Credentials, OutboundCredentials};
use endpoints::Endpoints;
use http::{HeaderMap, Method, StatusCode};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The largest answer read from AWS, as AWS caps a function's response
/// payload (6 MB) with room for the encoding.
pub const MAX_ANSWER_BYTES: usize = 10 * 1024 * 1024;

/// The node's side of outbound AWS calls: the client, the endpoint
/// overrides and default region, the environment's credentials.
#[derive(Debug, Clone)]
pub struct AwsOutbound {
    client: Upstream,
    endpoints: Arc<Endpoints>,
    /// Read once at start.
    environment: Option<Arc<Credentials>>,
}

impl Default for AwsOutbound {
    /// No overrides, us-east-1, no environment credentials: for tests and
    /// benchmarks.
    fn default() -> Self {
        Self::new(Upstream::default(), Endpoints::default(), None)
    }
}

/// Which service, where, and signed as what: everything but the request.
#[derive(Debug, Clone, Copy)]
pub struct Service<'a> {
    /// The endpoint prefix (`sqs`, `lambda`, `sync-states`).
    pub endpoint_prefix: &'a str,
    /// A subdomain before the service's host (`bucket` in
    /// `bucket.s3.{region}.amazonaws.com`); only for AWS's own endpoints.
    pub subdomain: Option<&'a str>,
    /// The SigV4 service name.
    pub signing_name: &'a str,
    /// None: the node's region.
    pub region: Option<&'a str>,
    /// The integration's `endpoint_url`; empty or None: the node's.
    pub endpoint_url: Option<&'a str>,
}

/// One whole request, before signing.
#[derive(Debug, Clone)]
pub struct AwsRequest<'a> {
    pub method: Method,
    /// `/path?query`, encoded as it is sent.
    pub path_and_query: &'a str,
    /// Besides `host` and the signature's: content type, `x-amz-target`...
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// What the service answered, whatever its status.
#[derive(Debug, Clone)]
pub struct AwsAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// The integration names a credential the node does not hold, or none
    /// and the node's environment has none.
    #[error("no AWS credentials: {0}")]
    NoCredentials(String),
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
    #[error("{0}")]
    Failed(String),
}

impl AwsOutbound {
    pub fn new(client: Upstream, endpoints: Endpoints, environment: Option<Credentials>) -> Self {
        Self {
            client,
            endpoints: Arc::new(endpoints),
            environment: environment.map(Arc::new),
        }
    }

    /// The node's default region.
    pub fn region(&self) -> &str {
        self.endpoints.region()
    }

    /// The credentials an integration signs with: the outbound credential
    /// its `credentials` names (by name or role ARN), or with none named,
    /// the node's environment.
    pub fn credentials<'t>(
        &'t self,
        table: &'t OutboundCredentials,
        named: &str,
    ) -> Result<&'t Arc<Credentials>, AwsError> {
        if named.is_empty() {
            return self.environment.as_ref().ok_or_else(|| {
                AwsError::NoCredentials(
                    "the integration names none and the node's environment has no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY".into(),
                )
            });
        }
        table.find(named).ok_or_else(|| {
            AwsError::NoCredentials(format!(
                "no outbound credential is named '{named}' or has it as its role ARN"
            ))
        })
    }

    /// The absolute URL of `path_and_query` at `service`'s endpoint.
    pub fn url(&self, service: &Service<'_>, path_and_query: &str) -> String {
        let region = service.region.unwrap_or(self.region());
        let overridden = self
            .endpoints
            .overridden(service.endpoint_prefix, service.endpoint_url);
        let mut url = match service.subdomain {
            // AWS's own host for the subdomain.
            Some(sub) if !overridden => format!(
                "https://{sub}.{}.{region}.amazonaws.com",
                service.endpoint_prefix
            ),
            _ => self
                .endpoints
                .base_url(service.endpoint_prefix, region, service.endpoint_url),
        };
        if let (Some(sub), true) = (service.subdomain, overridden) {
            // An override endpoint serves every bucket: the subdomain moves
            // to the path, as path-style requests put it.
            url.push('/');
            url.push_str(sub);
        }
        url.push_str(path_and_query);
        url
    }

    /// Signs `request` for `service` with `credentials` and sends it, the
    /// whole exchange within `timeout`. Any answer the service gives is
    /// returned, errors included (the caller knows what they mean); an
    /// error here means there was no answer.
    pub async fn send(
        &self,
        service: &Service<'_>,
        credentials: &Credentials,
        mut request: AwsRequest<'_>,
        timeout: Duration,
    ) -> Result<AwsAnswer, AwsError> {
        let region = service.region.unwrap_or(self.region());
        // The host is AWS's own unless the node or the integration names
        // an endpoint; nothing a request supplies may choose it.
        if !endpoints::is_region(region) {
            return Err(AwsError::Failed(format!(
                "{region:?} is not an AWS region name"
            )));
        }
        if let Some(sub) = service.subdomain.filter(|s| !endpoints::is_host_labels(s)) {
            return Err(AwsError::Failed(format!(
                "{sub:?} cannot be part of an AWS hostname"
            )));
        }
        let url = self.url(service, request.path_and_query);
        sign::sign_headers(
            credentials,
            sign::Scope {
                region,
                signing_name: service.signing_name,
            },
            &request.method,
            &url,
            &mut request.headers,
            &request.body,
            SystemTime::now(),
        )
        .map_err(AwsError::Failed)?;
        let buffered = BufferedRequest {
            method: request.method,
            uri: &url,
            headers: request.headers,
            body: request.body,
        };
        let limits = BufferedLimits {
            timeout,
            max_response_bytes: MAX_ANSWER_BYTES,
        };
        match self.client.send_buffered(buffered, limits).await {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                Ok(AwsAnswer {
                    status: parts.status,
                    headers: parts.headers,
                    body,
                })
            }
            Err(UpstreamError::TimedOut(t)) => Err(AwsError::TimedOut(t)),
            Err(e) => Err(AwsError::Failed(format!(
                "calling {} at {}: {}",
                service.signing_name,
                strip_query(&url),
                error_chain(&e)
            ))),
        }
    }
}

/// A URL for a log line: without its query string.
fn strip_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(u, _)| u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbound(flags: &[&str]) -> AwsOutbound {
        AwsOutbound::new(
            Upstream::default(),
            Endpoints::new(flags.iter().copied(), Some("eu-west-1")).unwrap(),
            Some(Credentials::new("AKIAENV", "env-secret", None)),
        )
    }

    fn service<'a>(endpoint_url: Option<&'a str>, subdomain: Option<&'a str>) -> Service<'a> {
        Service {
            endpoint_prefix: "s3",
            subdomain,
            signing_name: "s3",
            region: None,
            endpoint_url,
        }
    }

    #[test]
    fn urls_follow_the_endpoint_order() {
        let aws = outbound(&[]);
        assert_eq!(
            aws.url(&service(None, None), "/k"),
            "https://s3.eu-west-1.amazonaws.com/k"
        );
        assert_eq!(
            aws.url(&service(None, Some("bucket")), "/k"),
            "https://bucket.s3.eu-west-1.amazonaws.com/k"
        );
        let local = outbound(&["http://127.0.0.1:5000"]);
        assert_eq!(
            local.url(&service(None, Some("bucket")), "/k"),
            "http://127.0.0.1:5000/bucket/k"
        );
        assert_eq!(
            local.url(&service(Some("http://127.0.0.1:7/"), None), "/k?x=1"),
            "http://127.0.0.1:7/k?x=1"
        );
    }

    /// A region from the request (`x@127.0.0.1:PORT/`) would put AWS's
    /// hostname in the userinfo and send the signed call to the caller's
    /// host; it is refused before any connection.
    #[tokio::test]
    async fn a_request_supplied_region_cannot_pick_the_host() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let aws = outbound(&[]);
        let credentials = Credentials::new("AKIAENV", "env-secret", Some("session-token"));
        for region in [
            format!("x@127.0.0.1:{port}/"),
            format!("127.0.0.1:{port}/"),
            "evil.example/".to_owned(),
        ] {
            let service = Service {
                endpoint_prefix: "sqs",
                subdomain: None,
                signing_name: "sqs",
                region: Some(&region),
                endpoint_url: None,
            };
            let request = AwsRequest {
                method: Method::POST,
                path_and_query: "/",
                headers: HeaderMap::new(),
                body: Bytes::from_static(b"{}"),
            };
            let e = aws
                .send(&service, &credentials, request, Duration::from_secs(2))
                .await
                .unwrap_err();
            assert!(e.to_string().contains("not an AWS region"), "{region}: {e}");
        }
        let accepted = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
        assert!(accepted.is_err(), "the node connected to the caller's host");
    }

    #[test]
    fn credentials_come_from_the_table_or_the_environment() {
        let aws = outbound(&[]);
        let table = OutboundCredentials::compile(&[archway_proto::v1::OutboundCredential {
            name: "invoker".into(),
            role_arn: "arn:aws:iam::123456789012:role/invoker".into(),
            access_key_id: "AKIATABLE".into(),
            secret_access_key: "table-secret".into(),
            ..Default::default()
        }])
        .unwrap();
        assert_eq!(
            &*aws.credentials(&table, "").unwrap().access_key_id,
            "AKIAENV"
        );
        assert_eq!(
            &*aws
                .credentials(&table, "arn:aws:iam::123456789012:role/invoker")
                .unwrap()
                .access_key_id,
            "AKIATABLE"
        );
        let e = aws.credentials(&table, "other").unwrap_err().to_string();
        assert!(e.contains("'other'"), "{e}");
        let bare = AwsOutbound::default();
        assert!(matches!(
            bare.credentials(&table, ""),
            Err(AwsError::NoCredentials(_))
        ));
    }

    /// The signature the node sends is the one AWS computes: recomputed
    /// with the crate from the same request, it matches, and it covers the
    /// host the client writes and the body.
    #[test]
    fn signs_with_the_crate_over_host_and_body() {
        const SCOPE: sign::Scope<'_> = sign::Scope {
            region: "us-east-1",
            signing_name: "lambda",
        };
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("tok"),
        );
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        let url = "http://127.0.0.1:9001/2015-03-31/functions/f/invocations";
        sign::sign_headers(
            &credentials,
            SCOPE,
            &Method::POST,
            url,
            &mut headers,
            b"{}",
            time,
        )
        .unwrap();
        let auth = headers["authorization"].to_str().unwrap().to_owned();
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/lambda/aws4_request"
            ),
            "{auth}"
        );
        assert!(
            auth.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"),
            "{auth}"
        );
        assert_eq!(headers["x-amz-security-token"], "tok");
        assert!(headers["authorization"].is_sensitive());
        let mut other_body = HeaderMap::new();
        other_body.insert("content-type", "application/json".parse().unwrap());
        sign::sign_headers(
            &credentials,
            SCOPE,
            &Method::POST,
            url,
            &mut other_body,
            b"{ }",
            time,
        )
        .unwrap();
        assert_ne!(other_body["authorization"], headers["authorization"]);
        let mut other_host = HeaderMap::new();
        other_host.insert("content-type", "application/json".parse().unwrap());
        sign::sign_headers(
            &credentials,
            SCOPE,
            &Method::POST,
            &url.replace("9001", "9002"),
            &mut other_host,
            b"{}",
            time,
        )
        .unwrap();
        assert_ne!(other_host["authorization"], headers["authorization"]);
    }
}
