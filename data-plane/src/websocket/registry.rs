//! The connections this node holds. The task that runs a connection
//! registers it and removes it when it ends; everything else (the
//! `@connections` API, deliveries from other nodes, shutdown) reaches a
//! connection only through its [`Connection`] handle: an outbox the
//! connection's task drains (bounded in messages and in bytes, so a client
//! that reads nothing costs a small, known amount), a close signal apart
//! from it (so a close is never stuck behind data), and the facts
//! `GET @connections` reports.
//!
//! One mutex over a map: it is taken on connect, disconnect and each
//! `@connections` call, never per message (a message updates only its own
//! connection's atomics).

use super::connection_id::{ConnectionId, NodeTag};
use crate::lock::LockOrRecover;
use bytes::Bytes;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{Notify, mpsc};

/// Messages a connection's outbox holds at most (its bytes are bounded
/// too, by [`Connection::new`]'s `outbox_bytes`).
pub const OUTBOX: usize = 16;

/// What other parts of the node hand a connection's task to send.
#[derive(Debug)]
pub enum Outbound {
    /// Send a message: text when it is UTF-8, as AWS sends `@connections`
    /// data, binary otherwise.
    Data(Bytes),
}

impl Outbound {
    /// The bytes it holds (what the outbox's byte bound counts).
    pub fn len(&self) -> usize {
        match self {
            Outbound::Data(data) => data.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a message could not be handed to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The connection has ended (410 to an `@connections` caller).
    Gone,
    /// Its outbox is full: the client reads slower than it is sent to.
    Full,
}

/// A close asked of a connection: its code and reason.
pub type CloseAsked = (u16, &'static str);

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
    /// Bytes in the outbox, and the one message the task is writing.
    queued: AtomicUsize,
    outbox_bytes: usize,
    /// The first close asked (`DELETE @connections`); the task polls
    /// `closing` before its outbox.
    close: OnceLock<CloseAsked>,
    closing: Notify,
}

impl Connection {
    /// A handle for a connection whose task reads `outbox`'s other end;
    /// at most `outbox_bytes` wait in it (an empty one takes any message).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: ConnectionId,
        api_id: &str,
        stage: &str,
        connected_at_ms: i64,
        source_ip: IpAddr,
        user_agent: &str,
        outbox: mpsc::Sender<Outbound>,
        outbox_bytes: usize,
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
            queued: AtomicUsize::new(0),
            outbox_bytes,
            close: OnceLock::new(),
            closing: Notify::new(),
        }
    }

    /// Hands `message` to the connection's task without waiting: `Full`
    /// when its outbox holds [`OUTBOX`] messages, or its bytes and this
    /// message's would pass `outbox_bytes`.
    pub fn send(&self, message: Outbound) -> Result<(), SendError> {
        let len = message.len();
        let limit = self.outbox_bytes;
        if self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                let after = queued.saturating_add(len);
                (queued == 0 || after <= limit).then_some(after)
            })
            .is_err()
        {
            return if self.outbox.is_closed() {
                Err(SendError::Gone)
            } else {
                Err(SendError::Full)
            };
        }
        self.outbox.try_send(message).map_err(|e| {
            self.sent(len);
            match e {
                mpsc::error::TrySendError::Full(_) => SendError::Full,
                mpsc::error::TrySendError::Closed(_) => SendError::Gone,
            }
        })
    }

    /// The connection's task is done with `len` bytes of its outbox (they
    /// were written, or will never be).
    pub fn sent(&self, len: usize) {
        // Never below zero, even for bytes this handle did not count.
        let _ = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                Some(queued.saturating_sub(len))
            });
    }

    /// Bytes waiting in the outbox (and the message being written).
    pub fn queued_bytes(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Asks the connection's task to close with `code` and `reason`, ahead
    /// of anything in its outbox: a close reaches even a client that reads
    /// nothing (if its socket takes no close frame, the task gives up on it
    /// after the write timeout). The first close asked wins. `Gone` when
    /// the task has ended.
    pub fn close(&self, code: u16, reason: &'static str) -> Result<(), SendError> {
        if self.outbox.is_closed() {
            return Err(SendError::Gone);
        }
        let _ = self.close.set((code, reason));
        // A permit when the task is not waiting now: it sees it next.
        self.closing.notify_one();
        Ok(())
    }

    /// The close asked of this connection, if any.
    pub fn close_asked(&self) -> Option<CloseAsked> {
        self.close.get().copied()
    }

    /// Completes once a close is asked, at once if one already was (for
    /// the connection's task, which polls it beside its outbox).
    pub async fn closing(&self) -> CloseAsked {
        loop {
            if let Some(asked) = self.close_asked() {
                return asked;
            }
            self.closing.notified().await;
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
            1024,
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
    fn the_outbox_is_bounded_in_bytes() {
        let registry = Connections::new(NodeTag::random());
        let (c, mut rx) = connection(&registry, OUTBOX);
        let data = |n: usize| Outbound::Data(Bytes::from(vec![b'a'; n]));
        // An empty outbox takes one message of any size...
        c.send(data(4000)).unwrap();
        assert_eq!(c.queued_bytes(), 4000);
        // ...and nothing more until it is written.
        assert_eq!(c.send(data(1)), Err(SendError::Full));
        assert!(matches!(rx.try_recv(), Ok(Outbound::Data(d)) if d.len() == 4000));
        assert_eq!(c.send(data(1)), Err(SendError::Full), "still being written");
        c.sent(4000);
        assert_eq!(c.queued_bytes(), 0);
        // Up to 1024 bytes wait; the byte that would pass it is refused.
        c.send(data(1000)).unwrap();
        c.send(data(24)).unwrap();
        assert_eq!(c.send(data(1)), Err(SendError::Full));
        assert_eq!(c.queued_bytes(), 1024);
        // A refused send leaves the count as it was; a gone task says so.
        drop(rx);
        c.sent(1024);
        assert_eq!(c.send(data(10)), Err(SendError::Gone));
        assert_eq!(c.queued_bytes(), 0);
    }

    #[test]
    fn the_outbox_is_bounded_in_messages_too() {
        let registry = Connections::new(NodeTag::random());
        let (c, _rx) = connection(&registry, 2);
        c.send(Outbound::Data(Bytes::new())).unwrap();
        c.send(Outbound::Data(Bytes::from_static(b"x"))).unwrap();
        assert_eq!(
            c.send(Outbound::Data(Bytes::from_static(b"y"))),
            Err(SendError::Full)
        );
        assert_eq!(c.queued_bytes(), 1, "the refused message is not counted");
    }

    #[tokio::test]
    async fn a_close_is_asked_apart_from_a_full_outbox() {
        let registry = Connections::new(NodeTag::random());
        let (c, rx) = connection(&registry, 1);
        c.send(Outbound::Data(Bytes::from_static(b"queued")))
            .unwrap();
        assert_eq!(c.close_asked(), None);
        // Asked before the task waits for it: kept.
        c.close(1000, "").unwrap();
        c.close(1001, "later").unwrap();
        assert_eq!(c.close_asked(), Some((1000, "")), "the first close wins");
        let asked = tokio::time::timeout(std::time::Duration::from_secs(1), c.closing())
            .await
            .expect("the close is seen");
        assert_eq!(asked, (1000, ""));
        // Asked while the task waits: it wakes.
        let (d, _rx2) = connection(&registry, 1);
        let waiter = tokio::spawn({
            let d = d.clone();
            async move { d.closing().await }
        });
        tokio::task::yield_now().await;
        d.close(1000, "bye").unwrap();
        let asked = tokio::time::timeout(std::time::Duration::from_secs(1), waiter)
            .await
            .expect("the waiting task wakes")
            .unwrap();
        assert_eq!(asked, (1000, "bye"));
        // A connection whose task ended is gone.
        drop(rx);
        assert_eq!(c.close(1000, ""), Err(SendError::Gone));
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
