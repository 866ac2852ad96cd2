//! Idle keep-alive connections, one stack per origin (scheme and
//! authority). The most recently used connection goes out first: it is the
//! least likely to have been closed by the backend, and the stack's bottom
//! ages out. A sweeper closes connections idle for too long or closed by
//! the backend, so none sits half-closed waiting for a request.
//!
//! Idle time is counted in sweeps, not read from the clock: checking a
//! connection out or in reads no clock, and a connection idle for `n`
//! sweeps closes after between `n` and `n + 1` sweep intervals.

use super::connect::Stream;
use crate::lock::LockOrRecover;
use bytes::BytesMut;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// A backend connection and what travels with it between requests.
#[derive(Debug)]
pub struct Conn {
    pub stream: Stream,
    /// Bytes read but not used yet.
    pub read_buf: BytesMut,
    /// Where request heads are encoded, kept between requests.
    pub write_buf: BytesMut,
    /// Where the connection goes back when a response is done. Weak: the
    /// slot holds its idle connections, and the pool owns the slots.
    home: Weak<Slot>,
    /// Requests this connection carried before the current one.
    pub served: u64,
    /// False once an exchange went wrong in a way that leaves the
    /// connection's state unknown (a request cut short).
    pub reusable: bool,
    /// The sweep count when the connection went idle.
    idle_since: u64,
}

impl Conn {
    pub fn new(stream: Stream, home: &Arc<Slot>) -> Self {
        Self {
            stream,
            read_buf: BytesMut::with_capacity(super::READ_CHUNK),
            write_buf: BytesMut::with_capacity(512),
            home: Arc::downgrade(home),
            served: 0,
            reusable: true,
            idle_since: 0,
        }
    }

    /// Puts the connection back for the next request to its origin.
    pub fn release(mut self) {
        // Unread bytes after a finished response would be read as the next
        // response's head: such a connection is done. With TLS they may
        // wait, decrypted, inside rustls rather than in the buffer.
        if !self.reusable || !self.read_buf.is_empty() || self.stream.has_unread_plaintext() {
            return;
        }
        self.served += 1;
        // The pool is gone (shut down): the connection just closes.
        let Some(home) = self.home.upgrade() else {
            return;
        };
        self.idle_since = home.sweeps.load(Ordering::Relaxed);
        let mut idle = home.idle.lock_or_recover();
        if idle.len() < home.max_idle {
            idle.push(self);
        }
    }
}

/// The idle connections to one origin.
#[derive(Debug)]
pub struct Slot {
    idle: Mutex<Vec<Conn>>,
    max_idle: usize,
    /// The pool's sweep count.
    sweeps: Arc<AtomicU64>,
}

/// Origins come from configuration, so a fast hash is safe here.
type OriginMap = HashMap<Box<str>, Arc<Slot>, foldhash::fast::RandomState>;

#[derive(Debug)]
pub struct Pool {
    /// Keyed by authority, one map per scheme, so that a lookup borrows the
    /// request URI's authority instead of building a key.
    plain: Mutex<OriginMap>,
    tls: Mutex<OriginMap>,
    max_idle: usize,
    /// Sweeps a connection may stay idle through.
    idle_sweeps: u64,
    sweeps: Arc<AtomicU64>,
}

/// What a checkout found: a pooled connection, or the slot a new one
/// belongs to.
pub enum Checkout {
    Reused(Conn),
    Empty(Arc<Slot>),
}

impl Pool {
    pub fn new(max_idle: usize, idle_sweeps: u64) -> Self {
        Self {
            plain: Mutex::default(),
            tls: Mutex::default(),
            max_idle,
            idle_sweeps,
            sweeps: Arc::default(),
        }
    }

    /// The slot of an origin, made on first use.
    pub fn slot(&self, tls: bool, authority: &str) -> Arc<Slot> {
        let map = if tls { &self.tls } else { &self.plain };
        let mut map = map.lock_or_recover();
        if let Some(slot) = map.get(authority) {
            return slot.clone();
        }
        let slot = Arc::new(Slot {
            idle: Mutex::default(),
            max_idle: self.max_idle,
            sweeps: self.sweeps.clone(),
        });
        map.insert(authority.into(), slot.clone());
        slot
    }

    /// The most recently idled live connection to the origin, or its slot.
    pub fn checkout(&self, tls: bool, authority: &str) -> Checkout {
        let slot = self.slot(tls, authority);
        loop {
            let conn = slot.idle.lock_or_recover().pop();
            let Some(conn) = conn else {
                return Checkout::Empty(slot);
            };
            if !conn.stream.closed_while_idle() {
                return Checkout::Reused(conn);
            }
            // Closed by the backend: dropped here, outside the lock.
        }
    }

    /// Closes expired and backend-closed connections, and forgets origins
    /// with nothing idle and nothing in flight.
    pub(super) fn sweep(&self) {
        let now = self.sweeps.fetch_add(1, Ordering::Relaxed) + 1;
        for map in [&self.plain, &self.tls] {
            // Probe and close outside the map's lock, which every request
            // takes: one slot's lock at a time.
            let slots: Vec<Arc<Slot>> = map.lock_or_recover().values().cloned().collect();
            for slot in &slots {
                let expired: Vec<Conn> = {
                    let mut idle = slot.idle.lock_or_recover();
                    let (keep, expired) =
                        std::mem::take(&mut *idle).into_iter().partition(|conn| {
                            now - conn.idle_since <= self.idle_sweeps
                                && !conn.stream.closed_while_idle()
                        });
                    *idle = keep;
                    expired
                };
                drop(expired);
            }
            drop(slots);
            // Forget origins with nothing idle and nothing in flight
            // (connections in flight point at their slot).
            map.lock_or_recover().retain(|_, slot| {
                !slot.idle.lock_or_recover().is_empty() || Arc::weak_count(slot) > 0
            });
        }
    }

    /// How many connections sit idle, over all origins.
    #[cfg(test)]
    pub fn idle_count(&self) -> usize {
        [&self.plain, &self.tls]
            .iter()
            .map(|map| {
                map.lock_or_recover()
                    .values()
                    .map(|slot| slot.idle.lock_or_recover().len())
                    .sum::<usize>()
            })
            .sum()
    }
}

/// Sweeps `pool` every `every` until the pool is dropped.
pub async fn sweep_until_dropped(pool: Weak<Pool>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(pool) = pool.upgrade() else { return };
        pool.sweep();
    }
}
