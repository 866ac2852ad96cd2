//! The usage ledger: requests admitted per usage plan, key and day, as the
//! fleet reports them, persisted in the store. GetUsage reads it; quotas
//! count against it when no Redis is shared by the nodes.

use crate::error::{ApiError, ApiResult};
use crate::store::{Store, StoreError, View, keys};
use archway_proto::quota;
use archway_proto::v1::{QuotaPeriod, UsageEntry, UsagePlan, UsageReport};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// A report on its way to the ledger, with who to tell once it is durable.
#[derive(Debug)]
pub struct Submission {
    pub report: UsageReport,
    pub applied: oneshot::Sender<()>,
}

/// Adds the reports' counts to the ledger in one durable write. A report
/// whose (reporter, sequence) was applied before is skipped, so resending a
/// report whose acknowledgement was lost never counts it twice.
pub async fn record(store: &Store, reports: &[&UsageReport]) -> Result<(), StoreError> {
    store
        .write(|txn| {
            // Several counts may name the same key and day.
            let mut totals: BTreeMap<String, u64> = BTreeMap::new();
            let mut sequences: BTreeMap<&str, u64> = BTreeMap::new();
            for report in reports {
                if !report.reporter.is_empty() {
                    let seen = match sequences.get(report.reporter.as_str()) {
                        Some(seq) => *seq,
                        None => txn
                            .get_raw(&keys::usage_sequence(&report.reporter))?
                            .map_or(0, |v| read_u64(v.get(..8).unwrap_or_default())),
                    };
                    if report.sequence <= seen {
                        continue;
                    }
                    sequences.insert(&report.reporter, report.sequence);
                }
                for c in &report.counts {
                    if c.usage_plan_id.contains('/')
                        || c.key_id.contains('/')
                        || quota::parse_date(&c.date).is_none()
                    {
                        continue;
                    }
                    let total = totals
                        .entry(keys::usage(&c.usage_plan_id, &c.key_id, &c.date))
                        .or_default();
                    *total = total.saturating_add(c.count);
                }
            }
            for (key, add) in totals {
                let old = txn.get_raw(&key)?.map_or(0, |v| read_u64(&v));
                // Saturating: a node cannot wrap a key's count back to zero.
                txn.put_raw(&key, &old.saturating_add(add).to_be_bytes());
            }
            for (reporter, seq) in sequences {
                // The sequence, then when it was written (for pruning).
                let mut value = seq.to_be_bytes().to_vec();
                value.extend_from_slice(&crate::ids::now_ms().to_be_bytes());
                txn.put_raw(&keys::usage_sequence(reporter), &value);
            }
            Ok::<_, StoreError>(())
        })
        .await
        .map(|_| ())
}

/// Persists reports as they arrive; reports that queued up meanwhile go in
/// the same durable write. Each submitter hears back once its report is
/// durable (and not if the write failed: the node then resends).
///
/// Pruning must run once per store, so on a shared store only the leading
/// replica prunes ([`crate::leader`]).
pub fn spawn_recorder(
    store: Arc<Store>,
    leadership: crate::leader::Leadership,
) -> mpsc::Sender<Submission> {
    let (tx, mut rx) = mpsc::channel::<Submission>(1024);
    // One task for both jobs: it ends when the last sender is dropped, and
    // takes its handle on the store with it (a separate pruning loop would
    // keep the store open forever).
    tokio::spawn(async move {
        let mut prune_every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            let first = tokio::select! {
                received = rx.recv() => match received {
                    Some(first) => first,
                    None => return,
                },
                _ = prune_every.tick() => {
                    if !leadership.is_leader() {
                        continue;
                    }
                    if let Err(e) = prune_sequences(&store, crate::ids::now_ms() - SEQUENCE_KEPT_MS).await {
                        tracing::warn!(error = %e, "pruning usage report sequences");
                    }
                    continue;
                }
            };
            let mut batch = vec![first];
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            let reports: Vec<&UsageReport> = batch.iter().map(|s| &s.report).collect();
            match record(&store, &reports).await {
                Ok(()) => {
                    for submission in batch {
                        let _ = submission.applied.send(());
                    }
                }
                Err(e) => tracing::error!(error = %e, "recording usage; the nodes will resend"),
            }
        }
    });
    tx
}

/// How long the last sequence of a reporter (one node process) is kept
/// after its last report: far longer than any resend takes.
const SEQUENCE_KEPT_MS: i64 = 7 * 24 * 3600 * 1000;

/// Forgets the sequences of reporters silent since `before_ms` (node
/// processes long gone: every start is a new reporter).
pub async fn prune_sequences(store: &Store, before_ms: i64) -> Result<usize, StoreError> {
    // Chosen and deleted in one write: a reporter that reports meanwhile
    // is judged by its newest record, never deleted on an older one.
    let (pruned, _) = store
        .write(|txn| {
            let stale: Vec<String> = txn
                .scan_raw(keys::USAGE_SEQUENCES)?
                .into_iter()
                .filter(|(_, v)| {
                    v.get(8..16)
                        .and_then(|b| b.try_into().ok())
                        .map(i64::from_be_bytes)
                        .is_none_or(|written| written < before_ms)
                })
                .map(|(k, _)| k)
                .collect();
            for key in &stale {
                txn.delete(key);
            }
            Ok::<_, StoreError>(stale.len())
        })
        .await?;
    Ok(pruned)
}

fn read_u64(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

/// Usage of `plan` (optionally one key) per key and day from `start` to
/// `end` inclusive (days since the epoch), with the quota left in each day's
/// period when the plan has a quota.
pub fn query(
    store: &View,
    plan: &UsagePlan,
    key_id: Option<&str>,
    start: i64,
    end: i64,
) -> ApiResult<Vec<UsageEntry>> {
    if end < start {
        return Err(ApiError::invalid("end_date", "is before start_date"));
    }
    if end - start > 366 {
        return Err(ApiError::invalid(
            "end_date",
            "a query covers at most 366 days",
        ));
    }
    let quota = plan.quota.as_ref().filter(|q| q.limit > 0);
    // Scan from the start of the first day's quota period (for `remaining`)
    // to the end date, per key: never the plan's whole history.
    let from = quota.map_or(start, |q| {
        let period = QuotaPeriod::try_from(q.period).unwrap_or(QuotaPeriod::Day);
        quota::period_start(start, period, q.offset)
    });
    let key_ids: Vec<String> = match key_id {
        Some(k) => vec![k.to_owned()],
        None => store
            .scan_raw(&keys::plan_keys(&plan.id))?
            .into_iter()
            .filter_map(|(k, _)| k.rsplit('/').next().map(str::to_owned))
            .collect(),
    };
    // key → day → used.
    let mut used: BTreeMap<String, BTreeMap<i64, u64>> = BTreeMap::new();
    for key in key_ids {
        let first = keys::usage(&plan.id, &key, &quota::date_string(from));
        let last = keys::usage(&plan.id, &key, &quota::date_string(end));
        for (k, v) in store.range_raw(&first, &last)? {
            if let Some(day) = k.rsplit('/').next().and_then(quota::parse_date) {
                used.entry(key.clone())
                    .or_default()
                    .insert(day, read_u64(&v));
            }
        }
    }
    let mut items = Vec::new();
    for (key, days) in &used {
        for (&day, &count) in days.range(start..=end) {
            let remaining = quota.map(|q| {
                let period = QuotaPeriod::try_from(q.period).unwrap_or(QuotaPeriod::Day);
                let from = quota::period_start(day, period, q.offset);
                let in_period: u64 = days.range(from..=day).map(|(_, n)| n).sum();
                q.limit.saturating_sub(in_period)
            });
            items.push(UsageEntry {
                key_id: key.clone(),
                date: quota::date_string(day),
                used: count,
                remaining,
            });
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_proto::v1::UsageCount;

    fn report(reporter: &str, sequence: u64, count: u64) -> UsageReport {
        UsageReport {
            counts: vec![UsageCount {
                usage_plan_id: "plan".into(),
                key_id: "key".into(),
                date: "2026-11-28".into(),
                count,
            }],
            reporter: reporter.into(),
            sequence,
        }
    }

    fn total(store: &Store) -> u64 {
        store
            .view()
            .get_raw(&keys::usage("plan", "key", "2026-11-28"))
            .unwrap()
            .map_or(0, |v| read_u64(&v))
    }

    #[tokio::test]
    async fn a_resent_report_counts_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        record(&store, &[&report("n1/a", 1, 5)]).await.unwrap();
        // The acknowledgement was lost: the node resends the same report.
        record(&store, &[&report("n1/a", 1, 5)]).await.unwrap();
        assert_eq!(total(&store), 5);
        // The next report, and the same report twice in one batch.
        let next = report("n1/a", 2, 3);
        record(&store, &[&next, &next]).await.unwrap();
        assert_eq!(total(&store), 8);
        // Another process of the same node numbers from 1 again.
        record(&store, &[&report("n1/b", 1, 2)]).await.unwrap();
        assert_eq!(total(&store), 10);
        // Sequences of long-silent reporters are forgotten.
        assert_eq!(prune_sequences(&store, 0).await.unwrap(), 0);
        assert_eq!(
            prune_sequences(&store, crate::ids::now_ms() + 1)
                .await
                .unwrap(),
            2
        );
        // Reports without a reporter (older nodes) are applied as they come.
        record(&store, &[&report("", 0, 1), &report("", 0, 1)])
            .await
            .unwrap();
        assert_eq!(total(&store), 12);
    }
}
