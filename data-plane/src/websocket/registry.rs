//! The connections this node holds. The task that runs a connection
//! registers it and removes it when it ends; everything else (the
//! `@connections` API, deliveries from other nodes, shutdown) reaches a
//! connection only through its [`Connection`] handle: a bounded outbox the
//! connection's task drains, and the facts `GET @connections` reports.
//!
//! One mutex over a map: it is taken on connect, disconnect and each
//! `@connections` call, never per message (a message updates only its own
//! connection's atomics).

use super::connection_id::{ConnectionId, NodeTag};
use crate::lock::LockOrRecover;
use bytes::Bytes;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// What other parts of the node ask a connection's task to do.
#[derive(Debug)]
pub enum Outbound {
    /// Send a message: text when it is UTF-8, as AWS sends `@connections`
    /// data, binary otherwise.
    Data(Bytes),
    /// Close with a status code and reason (`DELETE @connections` sends
    /// 1000; a node shutting down 1001).
    Close { code: u16, reason: &'static str },
}

/// Why a message could not be handed to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The connection has ended (410 to an `@connections` caller).
    Gone,
    /// Its outbox is full: the client reads slower than it is sent to.
    Full,
}

/// One connection, as the rest of the node sees it.
#[derive(Debug)]
pub struct Connection {
    pub id: ConnectionId,
    pub api_id: Box<str>,
    pub stage: Box<str>,
    pub connected_at_ms: i64,
    pub source_ip: IpAddr,
    pub user_agent: Box<str>,
    last_active_ms: AtomicI64,
    outbox: mpsc::Sender<Outbound>,
}

impl Connection {
    /// A handle for a connection whose task reads `outbox`'s other end.
    pub fn new(
        id: ConnectionId,
        api_id: &str,
        stage: &str,
        connected_at_ms: i64,
        source_ip: IpAddr,
        user_agent: &str,
        outbox: mpsc::Sender<Outbound>,
    ) -> Connection {
        Connection {
            id,
            api_id: api_id.into(),
            stage: stage.into(),
            connected_at_ms,
            source_ip,
            user_agent: user_agent.into(),
            last_active_ms: AtomicI64::new(connected_at_ms),
            outbox,
        }
    }

    /// Hands `message` to the connection's task without waiting.
    pub fn send(&self, message: Outbound) -> Result<(), SendError> {
        self.outbox.try_send(message).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SendError::Full,
            mpsc::error::TrySendError::Closed(_) => SendError::Gone,
        })
    }

    /// Hands `message` to the connection's task, waiting up to `wait` for
    /// room in a full outbox (a close must reach a client that reads
    /// slowly); `Full` when there was none in time.
    pub async fn send_within(
        &self,
        message: Outbound,
        wait: std::time::Duration,
    ) -> Result<(), SendError> {
        match tokio::time::timeout(wait, self.outbox.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(SendError::Gone),
            Err(_) => Err(SendError::Full),
        }
    }

    /// Records activity (a message either way) at `now_ms`.
    pub fn touch(&self, now_ms: i64) {
        self.last_active_ms.store(now_ms, Ordering::Relaxed);
    }

    /// When the connection last sent or was sent a message.
    pub fn last_active_ms(&self) -> i64 {
        self.last_active_ms.load(Ordering::Relaxed)
    }
}

/// The connections of one node.
#[derive(Debug)]
pub struct Connections {
    node: NodeTag,
    by_id: Mutex<HashMap<ConnectionId, Arc<Connection>, foldhash::fast::RandomState>>,
}

impl Connections {
    pub fn new(node: NodeTag) -> Connections {
        Connections {
            node,
            by_id: Mutex::default(),
        }
    }

    /// This node's tag: the first part of every id it hands out.
    pub fn node(&self) -> NodeTag {
        self.node
    }

    /// A fresh id for a connection of this node.
    pub fn new_id(&self) -> ConnectionId {
        ConnectionId::new(self.node)
    }

    pub fn insert(&self, connection: Arc<Connection>) {
        self.lock().insert(connection.id, connection);
    }

    /// Removes a connection; `None` when it was not there (so a caller can
    /// tell the one removal that should call `$disconnect`).
    pub fn remove(&self, id: &ConnectionId) -> Option<Arc<Connection>> {
        self.lock().remove(id)
    }

    pub fn get(&self, id: &ConnectionId) -> Option<Arc<Connection>> {
        self.lock().get(id).cloned()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every connection held now (for shutdown, which closes them all).
    pub fn all(&self) -> Vec<Arc<Connection>> {
        self.lock().values().cloned().collect()
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        HashMap<ConnectionId, Arc<Connection>, foldhash::fast::RandomState>,
    > {
        // A panic while holding the lock leaves the map whole (each call
        // is one map operation), so a poisoned lock is still usable.
        self.by_id.lock_or_recover()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(
        registry: &Connections,
        capacity: usize,
    ) -> (Arc<Connection>, mpsc::Receiver<Outbound>) {
        let (tx, rx) = mpsc::channel(capacity);
        let c = Arc::new(Connection::new(
            registry.new_id(),
            "chat",
            "prod",
            1_000,
            "127.0.0.1".parse().unwrap(),
            "test",
            tx,
        ));
        (c, rx)
    }

    #[test]
    fn a_connection_is_found_until_removed_once() {
        let registry = Connections::new(NodeTag::random());
        let (c, _rx) = connection(&registry, 1);
        assert_eq!(c.id.node(), registry.node());
        registry.insert(c.clone());
        assert!(Arc::ptr_eq(&registry.get(&c.id).unwrap(), &c));
        assert_eq!(registry.len(), 1);
        assert!(registry.remove(&c.id).is_some());
        assert!(registry.remove(&c.id).is_none(), "removed once");
        assert!(registry.get(&c.id).is_none());
        assert!(registry.is_empty());
    }

    #[test]
    fn sends_say_full_or_gone() {
        let registry = Connections::new(NodeTag::random());
        let (c, mut rx) = connection(&registry, 1);
        c.send(Outbound::Data(Bytes::from_static(b"a"))).unwrap();
        assert_eq!(
            c.send(Outbound::Data(Bytes::from_static(b"b"))),
            Err(SendError::Full)
        );
        assert!(matches!(rx.try_recv(), Ok(Outbound::Data(d)) if &d[..] == b"a"));
        drop(rx);
        assert_eq!(
            c.send(Outbound::Data(Bytes::from_static(b"c"))),
            Err(SendError::Gone)
        );
    }

    #[test]
    fn activity_moves_last_active() {
        let registry = Connections::new(NodeTag::random());
        let (c, _rx) = connection(&registry, 1);
        assert_eq!(c.last_active_ms(), 1_000);
        c.touch(5_000);
        assert_eq!(c.last_active_ms(), 5_000);
    }
}
