//! Which replica does the work that must run once per store.
//!
//! Every replica serves the admin API and node streams, but some work must
//! not run on several at once: today, pruning the usage ledger. On sled there
//! is one control plane, and it always leads. On etcd the replicas hold an
//! election with etcd's own election service, under a lease: the leader
//! keeps its lease alive, and a replica that cannot (etcd unreachable, the
//! process paused past the lease's time to live) stops leading *before* the
//! lease can expire in etcd, so two replicas never lead at once; another
//! replica is elected once the lease has expired.

use crate::store::Store;
use tokio::sync::watch;

/// Whether this replica leads, kept up to date.
#[derive(Clone)]
pub struct Leadership {
    leading: watch::Receiver<bool>,
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leadership")
            .field("leading", &*self.leading.borrow())
            .finish()
    }
}

impl Leadership {
    /// Leadership on `store`: always this process's on sled; an election
    /// among the replicas (identified by `replica`) on etcd.
    pub fn on(store: &Store, replica: &str) -> Self {
        #[cfg(feature = "etcd")]
        if let Some(etcd) = store.etcd() {
            return campaign::start(etcd.clone(), replica.to_owned());
        }
        let _ = (store, replica);
        Self::always()
    }

    /// A replica that is the only one.
    pub fn always() -> Self {
        let (tx, leading) = watch::channel(true);
        // The sender is dropped: the value stays as it is.
        drop(tx);
        Self { leading }
    }

    pub fn is_leader(&self) -> bool {
        *self.leading.borrow()
    }
}

#[cfg(feature = "etcd")]
mod campaign {
    use super::Leadership;
    use crate::store::etcd::{Etcd, KeptLease};
    use std::time::Duration;
    use tokio::sync::watch;

    /// The lease's time to live: how long a dead leader keeps the work from
    /// the others.
    const LEASE_TTL: Duration = Duration::from_secs(10);
    /// How often the lease is renewed.
    const RENEW_EVERY: Duration = Duration::from_secs(2);
    /// A leader that has not renewed for this long stops leading: well
    /// inside the lease's time to live, so it stops before anyone else can
    /// be elected.
    const STOP_AFTER: Duration = Duration::from_secs(6);

    pub(super) fn start(etcd: Etcd, replica: String) -> Leadership {
        let (tx, leading) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                if tx.is_closed() {
                    return;
                }
                if let Err(e) = run_once(&etcd, &replica, &tx).await {
                    tracing::warn!(replica = %replica, error = %e, "leader election failed; trying again");
                }
                tx.send_if_modified(|leading| std::mem::replace(leading, false));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        Leadership { leading }
    }

    /// One lease: campaign with it, lead while it is kept alive. Returns
    /// when the lease is lost (or cannot be had).
    async fn run_once(
        etcd: &Etcd,
        replica: &str,
        tx: &watch::Sender<bool>,
    ) -> Result<(), etcd_client::Error> {
        let mut client = etcd.client().clone();
        let untimed = etcd.client_without_time_limit().await?;
        let mut kept = KeptLease::take(&mut client, LEASE_TTL).await?;
        let lease = kept.id;
        // Beside the store's prefix, not under it: the store's watch (and
        // `store copy`) must see only the store's own keys.
        let name = format!("{}.leader", etcd.address().prefix.trim_end_matches('/'));
        // Renews every RENEW_EVERY; ends when a renewal is refused or not
        // answered within STOP_AFTER of being asked.
        let renew = async {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                if !kept.renew(STOP_AFTER).await {
                    return;
                }
            }
        };
        let lead = async {
            // A campaign waits, as long as it takes, until this lease's
            // candidacy is first in line; so it goes through a client
            // without the per-call time limit. (A campaign cut short by a
            // limit and asked again raced etcd's clean-up of the first
            // call, which deleted the candidacy the second call had just
            // been granted leadership with: two leaders, seen in a test.)
            let mut answer = untimed
                .election_client()
                .campaign(name.clone(), replica, lease)
                .await?;
            let leader = answer.take_leader();
            // Leading only if etcd says so now: the candidacy's key must
            // still be the first in line.
            let current = untimed.election_client().leader(name.clone()).await?;
            let ours = leader.as_ref().map(|l| l.key().to_vec());
            if current.kv().map(|kv| kv.key().to_vec()) != ours {
                return Err(etcd_client::Error::ElectError(
                    "campaign answered but the candidacy is not the leader".into(),
                ));
            }
            tracing::info!(replica = %replica, "leading: this replica runs the store's once-only work");
            tx.send_replace(true);
            Ok(leader)
        };
        tokio::pin!(renew);
        let leader = tokio::select! {
            () = &mut renew => {
                tracing::warn!(replica = %replica, "lost the election lease while campaigning");
                return Ok(());
            }
            leader = lead => match leader {
                Ok(leader) => leader,
                Err(e) => {
                    // The candidacy goes with its lease.
                    let _ = client.lease_revoke(lease).await;
                    return Err(e);
                }
            },
        };
        // Leading until the lease cannot be kept.
        renew.await;
        tx.send_replace(false);
        tracing::warn!(replica = %replica, "stopped leading: the lease could not be renewed");
        // Best effort: let the next leader in now rather than after the TTL.
        if let Some(leader) = leader {
            let _ = client
                .election_client()
                .resign(Some(etcd_client::ResignOptions::new().with_leader(leader)))
                .await;
        }
        let _ = client.lease_revoke(lease).await;
        Ok(())
    }
}
