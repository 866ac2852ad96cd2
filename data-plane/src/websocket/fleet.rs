//! Where an `@connections` call is carried out: on this node when the id
//! names it, else on the owner node through the [`Relay`] (Redis pub/sub)
//! when the node has one. The HTTP side ([`super::manage`]) only says what
//! to do and turns the [`Outcome`] into AWS's answer.

use super::connection_id::ConnectionId;
use super::registry::{Connections, Outbound, SendError};
use super::relay::Relay;
use bytes::Bytes;
use std::sync::Arc;

/// What an `@connections` call asks of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `POST`: send this data (text when UTF-8).
    Post(Bytes),
    /// `GET`: the connection's facts.
    Get,
    /// `DELETE`: close it (its `$disconnect` runs, by the connection's task).
    Delete,
}

/// One `@connections` call, after authorization: a connection of `api_id`
/// on `stage` (a connection of another API or stage is gone to it, as a
/// connection id is only meaningful for the API that handed it out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub api_id: Box<str>,
    pub stage: Box<str>,
    pub id: ConnectionId,
    pub command: Command,
}

/// `GET @connections`'s facts about a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub connected_at_ms: i64,
    pub last_active_ms: i64,
    pub source_ip: String,
    pub user_agent: String,
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// POST: handed to the connection's outbox.
    Posted,
    /// GET.
    Info(ConnectionInfo),
    /// DELETE: the connection's task was told to close, ahead of anything
    /// queued for it (so even a connection whose client reads nothing).
    Deleted,
    /// No such connection (any more), on its owner or its owner is gone.
    Gone,
    /// POST: the connection's outbox is full: its client reads slower than
    /// it is sent to.
    Full,
    /// The owner could not be asked: Redis is unreachable, or this node is
    /// not (yet) subscribed to its reply channel. Says why.
    Unavailable(&'static str),
    /// The owner was asked and did not answer in time.
    TimedOut,
}

/// This node's connections and, with Redis, the way to the others'.
#[derive(Debug)]
pub struct Fleet {
    connections: Arc<Connections>,
    relay: Option<Arc<Relay>>,
}

impl Fleet {
    /// A node on its own (no Redis): only its own connections can be
    /// reached; ids of other nodes are gone to it.
    pub fn local(connections: Arc<Connections>) -> Fleet {
        Fleet {
            connections,
            relay: None,
        }
    }

    /// A node that reaches the others' connections through `relay`.
    pub fn with_relay(connections: Arc<Connections>, relay: Arc<Relay>) -> Fleet {
        Fleet {
            connections,
            relay: Some(relay),
        }
    }

    /// At shutdown, once this node's connections are closed: tells the
    /// fleet its ids are gone (see [`Relay::withdraw`]).
    pub async fn withdraw(&self) {
        if let Some(relay) = &self.relay {
            relay.withdraw().await;
        }
    }

    /// Carries out `call` where its connection lives.
    pub async fn call(&self, call: Call) -> Outcome {
        if call.id.node() == self.connections.node() {
            return execute(&self.connections, &call).await;
        }
        match &self.relay {
            Some(relay) => relay.call(call).await,
            None => Outcome::Gone,
        }
    }
}

/// Carries out `call` on a connection of this node: the same code answers
/// a local call and one relayed from another node.
pub async fn execute(connections: &Connections, call: &Call) -> Outcome {
    let Some(connection) = connections
        .get(&call.id)
        .filter(|c| *c.api_id == *call.api_id && *c.stage == *call.stage)
    else {
        return Outcome::Gone;
    };
    match &call.command {
        Command::Post(data) => match connection.send(Outbound::Data(data.clone())) {
            Ok(()) => {
                connection.touch(super::event::epoch_ms(std::time::SystemTime::now()));
                Outcome::Posted
            }
            Err(SendError::Full) => Outcome::Full,
            Err(SendError::Gone) => Outcome::Gone,
        },
        Command::Get => Outcome::Info(ConnectionInfo {
            connected_at_ms: connection.connected_at_ms,
            last_active_ms: connection.last_active_ms(),
            source_ip: connection.source_ip.to_string(),
            user_agent: connection.user_agent.to_string(),
        }),
        Command::Delete => match connection.close(1000, "") {
            Ok(()) => Outcome::Deleted,
            Err(_) => Outcome::Gone,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::websocket::connection_id::NodeTag;
    use crate::websocket::registry::Connection;
    use tokio::sync::mpsc;

    fn held(
        connections: &Connections,
        capacity: usize,
    ) -> (Arc<Connection>, mpsc::Receiver<Outbound>) {
        let (tx, rx) = mpsc::channel(capacity);
        let c = Arc::new(Connection::new(
            connections.new_id(),
            "chat",
            "prod",
            1_000,
            "192.0.2.1".parse().unwrap(),
            "agent/1",
            tx,
            1024,
        ));
        connections.insert(c.clone());
        (c, rx)
    }

    fn call(id: ConnectionId, command: Command) -> Call {
        Call {
            api_id: "chat".into(),
            stage: "prod".into(),
            id,
            command,
        }
    }

    #[tokio::test]
    async fn posts_reach_the_outbox_and_say_full() {
        let connections = Connections::new(NodeTag::random());
        let (c, mut rx) = held(&connections, 1);
        let post = |d: &'static [u8]| call(c.id, Command::Post(Bytes::from_static(d)));
        assert_eq!(execute(&connections, &post(b"hi")).await, Outcome::Posted);
        assert!(c.last_active_ms() > 1_000, "a post is activity");
        assert_eq!(execute(&connections, &post(b"more")).await, Outcome::Full);
        assert!(matches!(rx.recv().await, Some(Outbound::Data(d)) if &d[..] == b"hi"));
        drop(rx);
        assert_eq!(execute(&connections, &post(b"late")).await, Outcome::Gone);
    }

    #[tokio::test]
    async fn get_reports_the_connection() {
        let connections = Connections::new(NodeTag::random());
        let (c, _rx) = held(&connections, 1);
        c.touch(5_000);
        assert_eq!(
            execute(&connections, &call(c.id, Command::Get)).await,
            Outcome::Info(ConnectionInfo {
                connected_at_ms: 1_000,
                last_active_ms: 5_000,
                source_ip: "192.0.2.1".into(),
                user_agent: "agent/1".into(),
            })
        );
    }

    #[tokio::test]
    async fn delete_closes_a_connection_whose_outbox_is_full() {
        let connections = Connections::new(NodeTag::random());
        let (c, mut rx) = held(&connections, 1);
        c.send(Outbound::Data(Bytes::from_static(b"queued")))
            .unwrap();
        // Nobody drains the outbox: the close does not wait behind it.
        let deleted = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            execute(&connections, &call(c.id, Command::Delete)),
        )
        .await
        .expect("DELETE answers at once");
        assert_eq!(deleted, Outcome::Deleted);
        assert_eq!(c.close_asked(), Some((1000, "")));
        // The queued data stays where it was; the task closes first.
        assert!(matches!(rx.try_recv(), Ok(Outbound::Data(_))));
        // Once the task has ended, DELETE is gone.
        drop(rx);
        assert_eq!(
            execute(&connections, &call(c.id, Command::Delete)).await,
            Outcome::Gone
        );
    }

    #[tokio::test]
    async fn another_api_or_stage_or_an_unknown_id_is_gone() {
        let connections = Connections::new(NodeTag::random());
        let (c, _rx) = held(&connections, 1);
        let mut other_api = call(c.id, Command::Get);
        other_api.api_id = "other".into();
        assert_eq!(execute(&connections, &other_api).await, Outcome::Gone);
        let mut other_stage = call(c.id, Command::Get);
        other_stage.stage = "dev".into();
        assert_eq!(execute(&connections, &other_stage).await, Outcome::Gone);
        let unknown = call(connections.new_id(), Command::Get);
        assert_eq!(execute(&connections, &unknown).await, Outcome::Gone);
    }

    #[tokio::test]
    async fn without_a_relay_other_nodes_ids_are_gone() {
        let fleet = Fleet::local(Arc::new(Connections::new(NodeTag::random())));
        let elsewhere = ConnectionId::new(NodeTag::random());
        assert_eq!(
            fleet.call(call(elsewhere, Command::Get)).await,
            Outcome::Gone
        );
    }
}
