//! A connection to the admin API with one client per service.

use super::failover::{FailoverChannel, Replica, root_cause};
use anyhow::Context;
use archway_proto::v1::admin_token_service_client::AdminTokenServiceClient;
use archway_proto::v1::configuration_service_client::ConfigurationServiceClient;
use archway_proto::v1::deployment_service_client::DeploymentServiceClient;
use archway_proto::v1::fleet_service_client::FleetServiceClient;
use archway_proto::v1::iam_service_client::IamServiceClient;
use archway_proto::v1::open_api_service_client::OpenApiServiceClient;
use archway_proto::v1::rest_api_service_client::RestApiServiceClient;
use archway_proto::v1::usage_plan_service_client::UsagePlanServiceClient;
use tonic::transport::Endpoint;

/// The generated types, for callers of this client.
pub use archway_proto::v1 as proto;

const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct BearerToken(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl BearerToken {
    pub fn new(token: Option<&str>) -> anyhow::Result<Self> {
        token
            .map(|t| format!("Bearer {}", t.trim()).parse())
            .transpose()
            .map(Self)
            .map_err(|_| {
                anyhow::anyhow!(
                    "the token has characters a header cannot carry: check --token, \
                     ARCHWAY_TOKEN or the --token-file"
                )
            })
    }
}

impl tonic::service::Interceptor for BearerToken {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

pub type AuthChannel =
    tonic::service::interceptor::InterceptedService<FailoverChannel, BearerToken>;

#[derive(Clone)]
pub struct AdminClient {
    pub apis: RestApiServiceClient<AuthChannel>,
    pub deployments: DeploymentServiceClient<AuthChannel>,
    pub fleet: FleetServiceClient<AuthChannel>,
    pub plans: UsagePlanServiceClient<AuthChannel>,
    pub tokens: AdminTokenServiceClient<AuthChannel>,
    pub iam: IamServiceClient<AuthChannel>,
    pub config: ConfigurationServiceClient<AuthChannel>,
    /// OpenAPI imports, exports and SDKs.
    pub openapi: OpenApiServiceClient<AuthChannel>,
}

impl AdminClient {
    pub async fn connect(server: &str, token: Option<&str>) -> anyhow::Result<Self> {
        Self::connect_with_ca(server, token, None).await
    }

    /// Connects to `server`: one control plane's URL, or several replicas'
    /// separated by commas, tried in order until one answers (each gets
    /// [`CONNECT_TIMEOUT`]); calls then fail over between them (see
    /// [`super::failover`]). For an `https://` server, trusts the OS roots
    /// and `ca_pem` (a PEM bundle, for control planes whose certificate a
    /// private CA signed).
    pub async fn connect_with_ca(
        server: &str,
        token: Option<&str>,
        ca_pem: Option<&str>,
    ) -> anyhow::Result<Self> {
        let token = BearerToken::new(token)?;
        let addresses: Vec<&str> = server.split(',').map(str::trim).collect();
        let endpoints = addresses
            .iter()
            .map(|address| endpoint(address, ca_pem))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut failures = Vec::with_capacity(endpoints.len());
        for (index, endpoint) in endpoints.iter().enumerate() {
            match endpoint.connect().await {
                Ok(channel) => {
                    // The others connect when a call first needs them.
                    let replicas = addresses
                        .iter()
                        .zip(&endpoints)
                        .enumerate()
                        .map(|(i, (address, endpoint))| Replica {
                            address: (*address).to_owned(),
                            channel: if i == index {
                                channel.clone()
                            } else {
                                endpoint.connect_lazy()
                            },
                        })
                        .collect();
                    return Ok(Self::new(FailoverChannel::new(replicas, index), token));
                }
                Err(e) => failures.push((addresses[index], root_cause(&e))),
            }
        }
        if let [(server, cause)] = failures.as_slice() {
            anyhow::bail!(
                "cannot reach the control plane at {server} ({cause}): is the control plane \
                 running at {server}? pass --server or set ARCHWAY_SERVER"
            );
        }
        let tried: Vec<String> = failures
            .iter()
            .map(|(server, cause)| format!("{server} ({cause})"))
            .collect();
        anyhow::bail!(
            "cannot reach any control plane: tried {}: is a control plane running at one of \
             them? pass --server (URLs separated by commas) or set ARCHWAY_SERVER",
            tried.join(", ")
        )
    }

    pub fn new(channel: FailoverChannel, token: BearerToken) -> Self {
        let channel = tonic::service::interceptor::InterceptedService::new(channel, token);
        Self {
            tokens: AdminTokenServiceClient::new(channel.clone()),
            iam: IamServiceClient::new(channel.clone()),
            openapi: OpenApiServiceClient::new(channel.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
            config: ConfigurationServiceClient::new(channel.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
            apis: RestApiServiceClient::new(channel.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
            deployments: DeploymentServiceClient::new(channel.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
            fleet: FleetServiceClient::new(channel.clone()),
            plans: UsagePlanServiceClient::new(channel)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        }
    }
}

/// How long connecting to one control plane may take before the next is
/// tried.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The endpoint of one control plane at `server`, refused with what to do
/// when it is not a URL.
fn endpoint(server: &str, ca_pem: Option<&str>) -> anyhow::Result<Endpoint> {
    if !(server.starts_with("http://") || server.starts_with("https://")) {
        anyhow::bail!(
            "'{server}' is not a server URL: pass --server http://HOST:PORT \
             (or https://) or set ARCHWAY_SERVER"
        );
    }
    let mut endpoint = Endpoint::from_shared(server.to_owned())
        .with_context(|| {
            format!(
                "'{server}' is not a valid server URL: pass --server http://HOST:PORT \
                 (or https://) or set ARCHWAY_SERVER"
            )
        })?
        .connect_timeout(CONNECT_TIMEOUT);
    if server.starts_with("https://") {
        let mut tls = tonic::transport::ClientTlsConfig::new().with_native_roots();
        if let Some(pem) = ca_pem {
            tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
        }
        endpoint = endpoint.tls_config(tls).context("configuring TLS")?;
    }
    Ok(endpoint)
}

/// Turns a gRPC status into an error that shows the server's message and,
/// for the refusals an operator can fix from here, what to do.
pub fn status_error(action: &str, status: tonic::Status) -> anyhow::Error {
    let code = status.code();
    match what_to_do(code) {
        Some(hint) => anyhow::anyhow!("{action}: {} ({code:?}): {hint}", status.message()),
        None => anyhow::anyhow!("{action}: {} ({code:?})", status.message()),
    }
}

/// What an operator can do about a refusal with `code`. Refusals whose
/// message already says what is wrong with the request (a field and its
/// reason, a state that forbids it) need no more.
fn what_to_do(code: tonic::Code) -> Option<&'static str> {
    use tonic::Code;
    Some(match code {
        Code::Unauthenticated => {
            "pass a valid token with --token or ARCHWAY_TOKEN, or --token-file \
             (a new control plane writes one to DATA_DIR/admin-token)"
        }
        Code::PermissionDenied => {
            "use a token with the role named above \
             (an admin makes one with: archwayctl tokens create NAME --role admin|read-only)"
        }
        Code::NotFound => {
            "check the name or id: archwayctl get apis, get stages API, \
             get deployments API, keys list, plans list, iam list and tokens list show what exists"
        }
        Code::AlreadyExists => "choose another name or id, or change the existing one",
        Code::Unavailable => {
            "is the control plane running at the --server address? \
             pass --server or set ARCHWAY_SERVER"
        }
        Code::DeadlineExceeded => "the control plane did not answer in time: try again",
        Code::Internal | Code::Unknown | Code::DataLoss => {
            "the control plane failed: its log says why"
        }
        _ => return None,
    })
}

/// Every item of a List* call, following its pages (the one place the CLI
/// pages): `all_pages!(client.apis, list_rest_apis, request, "listing APIs")`.
#[macro_export]
macro_rules! all_pages {
    ($service:expr, $method:ident, $request:expr, $action:expr) => {{
        let service = $service.clone();
        archway_proto::paging::all_pages($request, move |request| {
            let mut service = service.clone();
            async move {
                service
                    .$method(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        })
        .await
        .map_err(|s| $crate::cli::client::status_error($action, s))
    }};
}

/// An update mask of `paths`.
pub fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_an_operator_can_fix_say_what_to_do() {
        let error = status_error(
            "deleting the API",
            tonic::Status::not_found("API 'pets' not found"),
        )
        .to_string();
        assert!(
            error.starts_with("deleting the API: API 'pets' not found (NotFound): check the name"),
            "{error}"
        );
        let error = status_error(
            "listing APIs",
            tonic::Status::unauthenticated("unknown token"),
        )
        .to_string();
        assert!(error.contains("--token or ARCHWAY_TOKEN"), "{error}");
        // The server's message names the field and reason: nothing to add.
        let error = status_error(
            "creating the API",
            tonic::Status::invalid_argument("name: must not be empty"),
        )
        .to_string();
        assert_eq!(
            error,
            "creating the API: name: must not be empty (InvalidArgument)"
        );
    }

    #[tokio::test]
    async fn an_unreachable_server_is_named_with_what_to_do() {
        // Bound, then released: nothing listens there.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let server = format!("http://{addr}");
        let error = AdminClient::connect(&server, Some("t"))
            .await
            .err()
            .expect("nothing listens")
            .to_string();
        assert!(
            error.starts_with(&format!("cannot reach the control plane at {server} (")),
            "{error}"
        );
        assert!(
            error.contains("pass --server or set ARCHWAY_SERVER") && !error.starts_with("error"),
            "{error}"
        );
    }
}
