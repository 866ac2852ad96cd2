//! The node's one policy for std locks: a poisoned lock is used anyway,
//! never turned into a panic.
//!
//! A std `Mutex` or `RwLock` is poisoned when a thread panics while holding
//! it, and `.lock().unwrap()` then panics in every later caller: one bad
//! request would take down every request that touches the same limiter,
//! pool or log sink, on every worker, until the process restarts.
//!
//! Recovering the guard is sound here because of what the node's locks
//! guard and how: token buckets and quota counters, idle connections,
//! JWKS entries, usage counts, access-log senders and a last-warning time.
//! Each critical section is one lookup, insert, remove or counter update
//! of a map or a slot; none leaves a multi-step invariant half done across
//! a point that can panic. A panic inside one leaves, at worst, one entry
//! missing or one count off — what the next request already copes with (it
//! builds the bucket again, opens a new connection, fetches the keys
//! again) — whereas refusing every request after it would not be.
//!
//! `clippy.toml` disallows `Mutex::lock`, `RwLock::read` and
//! `RwLock::write` in this crate, so every lock goes through here; keep the
//! reasoning above true of any new lock (one-step critical sections), or
//! give it its own policy with a reason.

#![allow(clippy::disallowed_methods)]

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// [`Mutex::lock`], recovering the guard of a poisoned lock.
pub trait LockOrRecover<T: ?Sized> {
    fn lock_or_recover(&self) -> MutexGuard<'_, T>;
}

impl<T: ?Sized> LockOrRecover<T> for Mutex<T> {
    fn lock_or_recover(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// [`RwLock::read`] and [`RwLock::write`], recovering the guard of a
/// poisoned lock.
pub trait ReadWriteOrRecover<T: ?Sized> {
    fn read_or_recover(&self) -> RwLockReadGuard<'_, T>;
    fn write_or_recover(&self) -> RwLockWriteGuard<'_, T>;
}

impl<T: ?Sized> ReadWriteOrRecover<T> for RwLock<T> {
    fn read_or_recover(&self) -> RwLockReadGuard<'_, T> {
        self.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_or_recover(&self) -> RwLockWriteGuard<'_, T> {
        self.write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Poisons `lock` by panicking in a thread that holds it.
    fn poison<L: Send + Sync + 'static>(lock: &Arc<L>, hold: fn(&L)) {
        let held = lock.clone();
        let panicked = std::thread::spawn(move || hold(&held)).join();
        assert!(panicked.is_err());
    }

    #[test]
    fn a_poisoned_mutex_still_locks_with_its_value() {
        let counts = Arc::new(Mutex::new(vec![1, 2]));
        poison(&counts, |m| {
            let mut guard = m.lock_or_recover();
            guard.push(3);
            panic!("a request panicked while holding the lock");
        });
        assert!(counts.is_poisoned());
        let mut guard = counts.lock_or_recover();
        assert_eq!(*guard, [1, 2, 3]);
        guard.push(4);
    }

    #[test]
    fn a_poisoned_rwlock_still_reads_and_writes() {
        let value = Arc::new(RwLock::new(7));
        poison(&value, |l| {
            let _guard = l.write_or_recover();
            panic!("a request panicked while holding the lock");
        });
        assert!(value.is_poisoned());
        *value.write_or_recover() += 1;
        assert_eq!(*value.read_or_recover(), 8);
    }
}
