//! A config stream opened the way a node opens one (hello, node token),
//! for tests that watch what the control plane sends or stand in for many
//! nodes without starting their processes.

use archway_proto::v1::config_distribution_client::ConfigDistributionClient;
use archway_proto::v1::node_message::Message as NodeMsg;
use archway_proto::v1::{ConfigAck, ConfigUpdate, Heartbeat, NodeHello, NodeMessage};
use std::time::Duration;
use tokio::sync::mpsc::Sender;
use tonic::Streaming;

/// Opens a stream to the control plane at `url` as node `node_id`: what
/// the test sends goes through the returned sender (the hello is sent
/// already), what the control plane sends comes out of the stream.
pub async fn open(
    url: &str,
    node_id: &str,
) -> anyhow::Result<(Sender<NodeMessage>, Streaming<ConfigUpdate>)> {
    let channel = tonic::transport::Endpoint::from_shared(url.to_owned())?
        .connect()
        .await?;
    let mut client = ConfigDistributionClient::new(channel).max_decoding_message_size(64 << 20);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(NodeMessage {
        message: Some(NodeMsg::Hello(NodeHello {
            node_id: node_id.into(),
            build: "test".into(),
            ..Default::default()
        })),
    })
    .await?;
    let mut request = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(rx));
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", crate::TEST_NODE_TOKEN).parse()?,
    );
    let updates = client.stream_config(request).await?.into_inner();
    Ok((tx, updates))
}

/// A stream that behaves as a node: ACKs every version and sends
/// heartbeats, until dropped.
pub struct Follower(tokio::task::JoinHandle<()>);

impl Drop for Follower {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub async fn follow(url: &str, node_id: &str) -> anyhow::Result<Follower> {
    let (tx, mut updates) = open(url, node_id).await?;
    Ok(Follower(tokio::spawn(async move {
        let mut beat = tokio::time::interval(Duration::from_secs(10));
        loop {
            let message = tokio::select! {
                update = updates.message() => match update {
                    Ok(Some(u)) if u.version > 0 && !u.more => NodeMsg::Ack(ConfigAck { version: u.version }),
                    Ok(Some(_)) => continue,
                    _ => return,
                },
                _ = beat.tick() => NodeMsg::Heartbeat(Heartbeat {}),
            };
            if tx
                .send(NodeMessage {
                    message: Some(message),
                })
                .await
                .is_err()
            {
                return;
            }
        }
    })))
}
