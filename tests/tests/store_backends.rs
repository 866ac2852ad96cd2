//! The store's contract, run against both backends: sled in a folder, and
//! etcd (a real `etcd` this test starts on free loopback ports). Then what
//! only a shared store has: a second replica on the same prefix sees every
//! write, writes from two replicas at once never lose or half-apply one,
//! an etcd that is down refuses writes clearly while reads go on, and the
//! once-only work has exactly one leader, which stops leading when it loses
//! its lease.

use archway_control_plane::leader::Leadership;
use archway_control_plane::store::etcd::EtcdAddress;
use archway_control_plane::store::{Store, StoreError};
use archway_e2e::etcd::{EtcdCluster, available};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Where a suite test's store lives; opens (and reopens) it.
enum Backend {
    Sled(tempfile::TempDir),
    Etcd {
        /// Runs as long as the backend is in use.
        _cluster: EtcdCluster,
        address: EtcdAddress,
    },
}

impl Backend {
    fn sled() -> Self {
        Self::Sled(tempfile::tempdir().unwrap())
    }

    /// None (the test skips) when etcd is not installed and not required.
    fn etcd() -> Option<Self> {
        if !available("the store suite on etcd") {
            return None;
        }
        let cluster = EtcdCluster::start(1).unwrap();
        let address = cluster.store_url("/suite").parse().unwrap();
        Some(Self::Etcd {
            _cluster: cluster,
            address,
        })
    }

    async fn open(&self) -> Arc<Store> {
        match self {
            Self::Sled(dir) => Arc::new(Store::open(dir.path()).unwrap()),
            Self::Etcd { address, .. } => Store::open_etcd(address).await.unwrap(),
        }
    }
}

fn u64_of(bytes: &[u8]) -> u64 {
    u64::from_be_bytes(bytes.try_into().unwrap())
}

async fn writes_survive_reopening_and_bump_the_revision(backend: Backend) {
    {
        let store = backend.open().await;
        let ((), revision) = store
            .write(|txn| {
                txn.put_raw("api/a1", b"pets");
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        assert_eq!(revision, 1);
    }
    let store = backend.open().await;
    assert_eq!(store.revision(), 1);
    assert_eq!(
        store.view().get_raw("api/a1").unwrap().as_deref(),
        Some(&b"pets"[..])
    );
}

async fn a_failed_write_stages_nothing(backend: Backend) {
    let store = backend.open().await;
    let result = store
        .write(|txn| {
            txn.put_raw("api/x", b"x");
            Err::<(), _>(StoreError::Contended("the caller's own failure".into()))
        })
        .await;
    assert!(result.is_err());
    assert!(store.view().get_raw("api/x").unwrap().is_none());
    assert_eq!(store.revision(), 0);
    drop(store);
    let reopened = backend.open().await;
    assert!(reopened.view().get_raw("api/x").unwrap().is_none());
}

/// Puts, overwrites, deletes and prefix deletes in one write: the last
/// change to a key wins, reads inside the write see the state it started
/// from, and a reopened store holds exactly what the copy held.
async fn every_kind_of_change_lands_and_reopens_the_same(backend: Backend) {
    let store = backend.open().await;
    store
        .write(|txn| {
            for k in ["p/1", "p/2", "p/3", "q/1"] {
                txn.put_raw(k, k.as_bytes());
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    store
        .write(|txn| {
            txn.put_raw("q/1", b"new");
            txn.put_raw("p/4", b"staged");
            txn.delete_prefix("p/")?;
            txn.put_raw("p/2", b"again");
            txn.delete("q/absent");
            assert_eq!(txn.get_raw("q/1")?.as_deref(), Some(&b"q/1"[..]));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    let expected = vec![
        ("p/2".to_string(), b"again".to_vec()),
        ("p/4".to_string(), b"staged".to_vec()),
    ];
    assert_eq!(store.view().scan_raw("p/").unwrap(), expected);
    assert_eq!(store.revision(), 2);
    let copy = store.view().scan_raw("").unwrap();
    drop(store);
    let reopened = backend.open().await;
    assert_eq!(reopened.view().scan_raw("").unwrap(), copy);
}

/// Writers move units between two keys, each move one write, so the keys
/// always sum to the same total. Readers check the sum in every version
/// they see while the writes commit. On etcd the writers are on two
/// replicas of one prefix, so most writes race another replica's and are
/// retried on the newer state: a lost or doubled move shows in the sum.
async fn reads_never_see_half_of_a_write_and_racing_writes_all_land(backend: Backend) {
    const TOTAL: u64 = 1_000;
    const MOVES_PER_WRITER: u64 = 60;
    let first = backend.open().await;
    let second = match backend {
        Backend::Sled(_) => first.clone(),
        Backend::Etcd { .. } => backend.open().await,
    };
    first
        .write(|txn| {
            txn.put_raw("acct/a", &TOTAL.to_be_bytes());
            txn.put_raw("acct/b", &0u64.to_be_bytes());
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    wait_for_revision(&second, 1).await;
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = [first.clone(), second.clone()]
        .into_iter()
        .map(|store| {
            let done = done.clone();
            std::thread::spawn(move || {
                let mut revisions = std::collections::BTreeSet::new();
                let mut reads = 0u64;
                while !done.load(Ordering::Acquire) && reads < 50_000_000 {
                    let view = store.view();
                    let sum: u64 = view
                        .scan_raw("acct/")
                        .unwrap()
                        .iter()
                        .map(|(_, v)| u64_of(v))
                        .sum();
                    assert_eq!(sum, TOTAL, "at revision {}", view.revision());
                    revisions.insert(view.revision());
                    reads += 1;
                }
                revisions.len()
            })
        })
        .collect();
    let writers: Vec<_> = (0..4u64)
        .map(|w| {
            let store = if w % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            tokio::spawn(async move {
                for i in 0..MOVES_PER_WRITER {
                    let (from, to) = if (w + i) % 2 == 0 {
                        ("acct/a", "acct/b")
                    } else {
                        ("acct/b", "acct/a")
                    };
                    store
                        .write(|txn| {
                            let f = u64_of(&txn.get_raw(from)?.unwrap());
                            let t = u64_of(&txn.get_raw(to)?.unwrap());
                            let amount = f.min(7);
                            txn.put_raw(from, &(f - amount).to_be_bytes());
                            txn.put_raw(to, &(t + amount).to_be_bytes());
                            Ok::<_, StoreError>(())
                        })
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let last = 1 + 4 * MOVES_PER_WRITER;
    wait_for_revision(&first, last).await;
    wait_for_revision(&second, last).await;
    done.store(true, Ordering::Release);
    for r in readers {
        let seen = r.join().expect("a reader saw half of a write");
        assert!(seen > 1, "a reader saw only {seen} revision(s)");
    }
    for store in [&first, &second] {
        assert_eq!(store.revision(), last, "every write landed exactly once");
        let view = store.view();
        let sum = u64_of(&view.get_raw("acct/a").unwrap().unwrap())
            + u64_of(&view.get_raw("acct/b").unwrap().unwrap());
        assert_eq!(sum, TOTAL);
    }
}

/// Waits (bounded) until `store`'s copy holds `revision`.
async fn wait_for_revision(store: &Store, revision: u64) {
    let mut published = store.subscribe();
    let reached = tokio::time::timeout(
        Duration::from_secs(10),
        published.wait_for(|r| *r >= revision),
    )
    .await;
    assert!(
        reached.is_ok(),
        "revision {revision} did not arrive (at {})",
        store.revision()
    );
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sled {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::sled()).await;
                }
            )*
        }
        mod etcd {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(backend) = super::Backend::etcd() {
                        super::$name(backend).await;
                    }
                }
            )*
        }
    };
}

on_both_backends!(
    writes_survive_reopening_and_bump_the_revision,
    a_failed_write_stages_nothing,
    every_kind_of_change_lands_and_reopens_the_same,
    reads_never_see_half_of_a_write_and_racing_writes_all_land,
);

/// etcd down: writes fail at once with an error that names the store and
/// says nothing was written, reads go on from the copy; etcd back: writes
/// work again and the other replica's watch resumes and catches up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_down_refuses_writes_clearly_and_replicas_converge_when_it_returns() {
    if !available("the store's etcd outage behaviour") {
        return;
    }
    let mut cluster = EtcdCluster::start(1).unwrap();
    let address: EtcdAddress = cluster.store_url("/outage").parse().unwrap();
    let a = Store::open_etcd(&address).await.unwrap();
    let b = Store::open_etcd(&address).await.unwrap();
    a.write(|txn| {
        txn.put_raw("api/before", b"1");
        Ok::<_, StoreError>(())
    })
    .await
    .unwrap();
    wait_for_revision(&b, 1).await;

    cluster.kill_all();
    let started = Instant::now();
    let error = a
        .write(|txn| {
            txn.put_raw("api/during", b"2");
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    let message = error.to_string();
    assert!(message.contains(&address.to_string()), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "a write waited {:?} on a dead etcd",
        started.elapsed()
    );
    // Reads go on from the copy.
    assert_eq!(
        b.view().get_raw("api/before").unwrap().as_deref(),
        Some(&b"1"[..])
    );
    assert!(a.view().get_raw("api/during").unwrap().is_none());

    cluster.restart_stopped().unwrap();
    // The first write after the outage may meet etcd still electing.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let written = a
            .write(|txn| {
                txn.put_raw("api/after", b"3");
                Ok::<_, StoreError>(())
            })
            .await;
        match written {
            Ok(((), revision)) => {
                assert_eq!(revision, 2, "the refused write took no revision");
                break;
            }
            Err(e) if Instant::now() < deadline => {
                assert!(e.is_unavailable(), "{e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("etcd came back but writes still fail: {e}"),
        }
    }
    wait_for_revision(&b, 2).await;
    assert_eq!(
        b.view().get_raw("api/after").unwrap().as_deref(),
        Some(&b"3"[..])
    );
}

/// Two replicas campaign: exactly one leads. When etcd goes away the
/// leader cannot renew its lease and stops leading before the lease could
/// expire; when etcd returns, one replica leads again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_replica_leads_and_a_leader_that_loses_its_lease_stops() {
    if !available("the leader election on etcd") {
        return;
    }
    let mut cluster = EtcdCluster::start(1).unwrap();
    let address: EtcdAddress = cluster.store_url("/leader").parse().unwrap();
    let a = Store::open_etcd(&address).await.unwrap();
    let b = Store::open_etcd(&address).await.unwrap();
    let leaders = [Leadership::on(&a, "a"), Leadership::on(&b, "b")];
    let count = |l: &[Leadership; 2]| l.iter().filter(|l| l.is_leader()).count();
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(&leaders) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count(&leaders), 1, "one leader is elected");
    // It stays one for a few renewals.
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(count(&leaders), 1, "never two leaders, never none");
    }

    cluster.kill_all();
    let lost = Instant::now();
    while count(&leaders) > 0 && lost.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count(&leaders), 0, "a leader that cannot renew stops");
    // The lease (10 s) may have been renewed last up to 2 s before etcd
    // went: a leader that stops later than 8 s could overlap the next.
    assert!(
        lost.elapsed() < Duration::from_secs(8),
        "it stopped after {:?}: later than its lease could be counted on",
        lost.elapsed()
    );

    cluster.restart_stopped().unwrap();
    let deadline = Instant::now() + Duration::from_secs(40);
    while count(&leaders) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count(&leaders), 1, "one leader again once etcd is back");
    // And only one, through several renewals and the old leases' expiry.
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(count(&leaders), 1, "never two leaders after the outage");
    }
}
