//! A connection to the admin API with one client per service.

use anyhow::Context;
use archway_proto::v1::admin_token_service_client::AdminTokenServiceClient;
use archway_proto::v1::deployment_service_client::DeploymentServiceClient;
use archway_proto::v1::fleet_service_client::FleetServiceClient;
use archway_proto::v1::iam_service_client::IamServiceClient;
use archway_proto::v1::rest_api_service_client::RestApiServiceClient;
use archway_proto::v1::usage_plan_service_client::UsagePlanServiceClient;
use tonic::transport::Channel;

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
            .map_err(|_| anyhow::anyhow!("the token has characters a header cannot carry"))
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

pub type AuthChannel = tonic::service::interceptor::InterceptedService<Channel, BearerToken>;

#[derive(Clone)]
pub struct AdminClient {
    pub apis: RestApiServiceClient<AuthChannel>,
    pub deployments: DeploymentServiceClient<AuthChannel>,
    pub fleet: FleetServiceClient<AuthChannel>,
    pub plans: UsagePlanServiceClient<AuthChannel>,
    pub tokens: AdminTokenServiceClient<AuthChannel>,
    pub iam: IamServiceClient<AuthChannel>,
}

impl AdminClient {
    pub async fn connect(server: &str, token: Option<&str>) -> anyhow::Result<Self> {
        Self::connect_with_ca(server, token, None).await
    }

    /// For an `https://` server, trusts the OS roots and `ca_pem` (a PEM
    /// bundle, for control planes whose certificate a private CA signed).
    pub async fn connect_with_ca(
        server: &str,
        token: Option<&str>,
        ca_pem: Option<&str>,
    ) -> anyhow::Result<Self> {
        let mut endpoint = tonic::transport::Endpoint::from_shared(server.to_owned())
            .with_context(|| format!("'{server}' is not a valid server URL"))?
            .connect_timeout(std::time::Duration::from_secs(5));
        if server.starts_with("https://") {
            let mut tls = tonic::transport::ClientTlsConfig::new().with_native_roots();
            if let Some(pem) = ca_pem {
                tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
            }
            endpoint = endpoint.tls_config(tls).context("configuring TLS")?;
        }
        let channel = endpoint
            .connect()
            .await
            .with_context(|| format!("connecting to the control plane at {server}"))?;
        Ok(Self::new(channel, BearerToken::new(token)?))
    }

    pub fn new(channel: Channel, token: BearerToken) -> Self {
        let channel = tonic::service::interceptor::InterceptedService::new(channel, token);
        Self {
            tokens: AdminTokenServiceClient::new(channel.clone()),
            iam: IamServiceClient::new(channel.clone()),
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

/// Turns a gRPC status into an error that shows the server's message.
pub fn status_error(action: &str, status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{action}: {} ({:?})", status.message(), status.code())
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

/// The mask that replaces every field an update can change: what a
/// declarative apply, which sends the whole desired record, means.
pub fn replace_all() -> Option<prost_types::FieldMask> {
    mask(&["*"])
}
