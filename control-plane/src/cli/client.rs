//! A connection to the admin API with one client per service.

use anyhow::Context;
use archway_proto::v1::deployment_service_client::DeploymentServiceClient;
use archway_proto::v1::fleet_service_client::FleetServiceClient;
use archway_proto::v1::rest_api_service_client::RestApiServiceClient;
use archway_proto::v1::usage_plan_service_client::UsagePlanServiceClient;
use tonic::transport::Channel;

/// The generated types, for callers of this client.
pub use archway_proto::v1 as proto;

const MAX_MESSAGE_BYTES: usize = 256 << 20;

#[derive(Clone)]
pub struct AdminClient {
    pub apis: RestApiServiceClient<Channel>,
    pub deployments: DeploymentServiceClient<Channel>,
    pub fleet: FleetServiceClient<Channel>,
    pub plans: UsagePlanServiceClient<Channel>,
}

impl AdminClient {
    pub async fn connect(server: &str) -> anyhow::Result<Self> {
        let channel = tonic::transport::Endpoint::from_shared(server.to_owned())
            .with_context(|| format!("'{server}' is not a valid server URL"))?
            .connect_timeout(std::time::Duration::from_secs(5))
            .connect()
            .await
            .with_context(|| format!("connecting to the control plane at {server}"))?;
        Ok(Self::new(channel))
    }

    pub fn new(channel: Channel) -> Self {
        Self {
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
