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

    /// Waits until this replica leads.
    pub async fn wait_to_lead(&mut self) {
        let _ = self.leading.wait_for(|leading| *leading).await;
    }
}

#[cfg(feature = "etcd")]
mod campaign {
    use super::Leadership;
    use crate::store::etcd::Etcd;
    use std::time::Duration;
    use tokio::sync::watch;

    /// The lease's time to live: how long a dead leader keeps the work from
    /// the others.
    pub(super) const LEASE_TTL: Duration = Duration::from_secs(10);
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
        let lease = client
            .lease_grant(LEASE_TTL.as_secs() as i64, None)
            .await?
            .id();
        let (mut keeper, mut answers) = client.lease_keep_alive(lease).await?;
        let name = format!("{}leader", etcd.address().prefix);
        // Renews every RENEW_EVERY; ends when a renewal is refused or not
        // answered within STOP_AFTER of being asked.
        let renew = async {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                if keeper.keep_alive().await.is_err() {
                    return;
                }
                match tokio::time::timeout(STOP_AFTER, answers.message()).await {
                    Ok(Ok(Some(answer))) if answer.ttl() > 0 => {}
                    _ => return,
                }
            }
        };
        let lead = async {
            // A campaign waits until this lease's candidacy is first in
            // line; calls time out (the client's per-call limit), so it is
            // asked again with the same lease, which keeps its place.
            let leader = loop {
                match client
                    .election_client()
                    .campaign(name.clone(), replica, lease)
                    .await
                {
                    Ok(mut answer) => break answer.take_leader(),
                    Err(etcd_client::Error::GRpcStatus(status))
                        if status.code() == tonic::Code::DeadlineExceeded
                            || status.code() == tonic::Code::Cancelled =>
                    {
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            };
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
            leader = lead => leader?,
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
