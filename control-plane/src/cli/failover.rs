//! One gRPC channel over several control-plane replicas
//! (`--server A,B,C`): every call goes to the replica in use, and moves to
//! the next when that one cannot take it.
//!
//! When a call may move on is the whole design: a call retried on another
//! replica must not be applied twice.
//! - The replica could not be reached (tonic's [`tonic::ConnectError`]: no
//!   connection, so the request was never sent): every call moves on.
//! - The replica took the request and then failed (the connection broke
//!   mid-call), or answered `Unavailable`: only a call that changes nothing
//!   (`Get*`, `List*`, `Diff*`, `Export*`) moves on. A write may have been
//!   applied before the failure — etcd may commit a write whose replica
//!   dies before answering, and a replica's `Unavailable` does not say
//!   whether it wrote — so it fails, saying so, and the operator checks
//!   before running it again.
//!
//! The replica that answered stays in use for the calls after it.

use http_body_util::BodyExt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use tonic::body::Body;
use tonic::transport::Channel;
use tower::ServiceExt;

/// A control plane's address and the (possibly lazy) channel to it.
#[derive(Clone)]
pub struct Replica {
    pub address: String,
    pub channel: Channel,
}

/// A [`Channel`] over several replicas; clones share which one is in use.
#[derive(Clone)]
pub struct FailoverChannel {
    replicas: Arc<[Replica]>,
    current: Arc<AtomicUsize>,
}

impl FailoverChannel {
    /// Calls go to `replicas[current]` first, then to the ones after it.
    pub fn new(replicas: Vec<Replica>, current: usize) -> Self {
        assert!(
            current < replicas.len(),
            "the replica in use is one of them"
        );
        Self {
            replicas: replicas.into(),
            current: Arc::new(AtomicUsize::new(current)),
        }
    }

    /// The address calls go to now.
    pub fn current(&self) -> &str {
        &self.replicas[self.current.load(Ordering::Relaxed)].address
    }
}

/// Whether the gRPC method at `path` (`/package.Service/Method`) only reads,
/// so running it twice changes nothing.
pub fn only_reads(path: &str) -> bool {
    let method = path.rsplit('/').next().unwrap_or_default();
    ["Get", "List", "Diff", "Export"]
        .iter()
        .any(|verb| method.starts_with(verb))
}

/// Whether `error` (a channel's) happened before the request was sent: no
/// connection to the replica could be made.
fn before_sending(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error.is::<tonic::ConnectError>() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// The innermost cause of an error (e.g. "Connection refused (os error
/// 111)"): a transport error's own text says nothing of what failed.
pub fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// Whether a response head is a trailers-only `Unavailable` (how a gRPC
/// server answers a call it failed without a message).
fn unavailable(response: &http::Response<Body>) -> bool {
    response
        .headers()
        .get("grpc-status")
        .is_some_and(|status| status.as_bytes() == b"14")
}

impl tower::Service<http::Request<Body>> for FailoverChannel {
    type Response = http::Response<Body>;
    type Error = tower::BoxError;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Each call waits for its replica's channel in `call`.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            // Admin calls are unary: one message, kept to send again.
            let body = body.collect().await?.to_bytes();
            let reads = only_reads(parts.uri.path());
            let first = this.current.load(Ordering::Relaxed);
            let count = this.replicas.len();
            let mut tried: Vec<String> = Vec::with_capacity(count);
            for step in 0..count {
                let index = (first + step) % count;
                let replica = &this.replicas[index];
                let request = http::Request::from_parts(
                    parts.clone(),
                    Body::new(http_body_util::Full::new(body.clone())),
                );
                let answer = match replica.channel.clone().ready().await {
                    Ok(channel) => channel.call(request).await,
                    Err(e) => Err(e),
                };
                let moves_on = match &answer {
                    Ok(response) if unavailable(response) && reads => {
                        let message = response
                            .headers()
                            .get("grpc-message")
                            .and_then(|m| m.to_str().ok())
                            .unwrap_or("Unavailable");
                        format!("{} (answered: {message})", replica.address)
                    }
                    Ok(_) => {
                        this.current.store(index, Ordering::Relaxed);
                        return answer.map_err(Into::into);
                    }
                    Err(e) if before_sending(e) || reads => {
                        format!("{} ({})", replica.address, root_cause(e))
                    }
                    Err(e) => {
                        return Err(tonic::Status::unavailable(format!(
                            "the control plane at {} failed during the call ({}); it may or \
                             may not have made the change: check before running it again",
                            replica.address,
                            root_cause(e)
                        ))
                        .into());
                    }
                };
                tried.push(moves_on);
            }
            Err(tonic::Status::unavailable(format!(
                "no control plane answered: tried {}",
                tried.join(", ")
            ))
            .into())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reads_are_sent_again_after_a_replica_took_them() {
        for read in [
            "/archway.v1.RestApiService/GetRestApi",
            "/archway.v1.RestApiService/ListRestApis",
            "/archway.v1.ConfigurationService/DiffConfiguration",
            "/archway.v1.ConfigurationService/ExportConfiguration",
            "/archway.v1.OpenApiService/GetExport",
        ] {
            assert!(only_reads(read), "{read}");
        }
        for write in [
            "/archway.v1.RestApiService/CreateRestApi",
            "/archway.v1.RestApiService/DeleteRestApi",
            "/archway.v1.DeploymentService/CreateDeployment",
            "/archway.v1.ConfigurationService/ApplyConfiguration",
            "/archway.v1.UsagePlanService/ResetUsage",
            "/archway.v1.IamService/AssumeRole",
            "/archway.v1.StageService/PromoteCanary",
            // A service named Get... does not make its writes reads.
            "/archway.v1.GetterService/CreateThing",
        ] {
            assert!(!only_reads(write), "{write}");
        }
    }

    #[test]
    fn a_connect_error_anywhere_in_the_chain_means_nothing_was_sent() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let connect = tonic::ConnectError(Box::new(refused));
        let wrapped: tower::BoxError = Box::new(Wrapper(Box::new(connect)));
        assert!(before_sending(wrapped.as_ref()));
        assert_eq!(root_cause(wrapped.as_ref()), "refused");
        let broken: tower::BoxError = Box::new(Wrapper(Box::new(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        ))));
        assert!(!before_sending(broken.as_ref()));
    }

    #[test]
    fn a_trailers_only_unavailable_is_told_from_other_answers() {
        let answer = |status: &str| {
            http::Response::builder()
                .header("grpc-status", status)
                .body(Body::empty())
                .unwrap()
        };
        assert!(unavailable(&answer("14")));
        assert!(!unavailable(&answer("5")));
        assert!(!unavailable(
            &http::Response::builder().body(Body::empty()).unwrap()
        ));
    }

    /// A gRPC server on a free loopback port that answers every call with
    /// `code` (trailers-only, as tonic answers a failed call) and counts
    /// the calls it took.
    async fn answering(code: tonic::Code) -> (String, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new().fallback({
            let calls = calls.clone();
            move || {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    (
                        [
                            ("content-type", "application/grpc".to_owned()),
                            ("grpc-status", (code as i32).to_string()),
                            ("grpc-message", "answered".to_owned()),
                        ],
                        "",
                    )
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}"), calls)
    }

    /// A loopback address nothing listens on.
    fn nothing_at() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    }

    fn over(addresses: &[&str]) -> (FailoverChannel, RestApiServiceClient<FailoverChannel>) {
        let replicas = addresses
            .iter()
            .map(|address| Replica {
                address: (*address).to_owned(),
                channel: tonic::transport::Endpoint::from_shared((*address).to_owned())
                    .unwrap()
                    .connect_timeout(std::time::Duration::from_secs(2))
                    .connect_lazy(),
            })
            .collect();
        let channel = FailoverChannel::new(replicas, 0);
        (channel.clone(), RestApiServiceClient::new(channel))
    }

    use archway_proto::v1::rest_api_service_client::RestApiServiceClient;
    use archway_proto::v1::{CreateRestApiRequest, GetRestApiRequest};

    #[tokio::test]
    async fn a_replica_that_cannot_be_reached_passes_any_call_to_the_next() {
        let dead = nothing_at();
        let (alive, calls) = answering(tonic::Code::NotFound).await;
        let (channel, mut client) = over(&[&dead, &alive]);
        let status = client
            .create_rest_api(CreateRestApiRequest::default())
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // The replica that answered stays in use.
        assert_eq!(channel.current(), alive);
        client
            .get_rest_api(GetRestApiRequest::default())
            .await
            .unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_unavailable_replica_passes_reads_on_but_not_writes() {
        let (unavailable, refused) = answering(tonic::Code::Unavailable).await;
        let (alive, calls) = answering(tonic::Code::NotFound).await;
        let (_, mut client) = over(&[&unavailable, &alive]);
        // A write the first replica took is not sent again: it may have
        // been applied there.
        let status = client
            .create_rest_api(CreateRestApiRequest::default())
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        assert_eq!(
            (refused.load(Ordering::SeqCst), calls.load(Ordering::SeqCst)),
            (1, 0)
        );
        // A read is.
        let status = client
            .get_rest_api(GetRestApiRequest::default())
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
        assert_eq!(
            (refused.load(Ordering::SeqCst), calls.load(Ordering::SeqCst)),
            (2, 1)
        );
    }

    #[tokio::test]
    async fn when_no_replica_answers_the_error_names_every_address() {
        let (one, two) = (nothing_at(), nothing_at());
        let (_, mut client) = over(&[&one, &two]);
        let status = client
            .create_rest_api(CreateRestApiRequest::default())
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unavailable);
        let message = status.message();
        assert!(
            message.starts_with("no control plane answered: tried")
                && message.contains(&format!("{one} ("))
                && message.contains(&format!("{two} (")),
            "{message}"
        );
    }

    /// An error that wraps another, as the transport's layers do.
    #[derive(Debug)]
    struct Wrapper(tower::BoxError);

    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("transport error")
        }
    }

    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(self.0.as_ref())
        }
    }
}
