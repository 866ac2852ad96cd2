//! Requests admitted per usage plan, key and day, collected on the request
//! path and drained into usage reports for the control plane.

use crate::lock::LockOrRecover;
use archway_proto::quota;
use archway_proto::v1::{UsageAck, UsageCount, UsageReport};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// (plan id, key id, day since the epoch).
type UsageKey = (Arc<str>, Arc<str>, i64);

#[derive(Debug, Default)]
pub struct UsageRecorder {
    /// Keys come from configuration: a fast hash is safe.
    counts: Mutex<HashMap<UsageKey, u64, foldhash::fast::RandomState>>,
}

impl UsageRecorder {
    pub fn record(&self, plan: &Arc<str>, key: &Arc<str>, day: i64) {
        let mut counts = self.counts.lock_or_recover();
        *counts.entry((plan.clone(), key.clone(), day)).or_default() += 1;
    }

    /// Takes everything counted so far, or None when nothing was.
    pub fn take(&self) -> Option<UsageReport> {
        let counts = std::mem::take(&mut *self.counts.lock_or_recover());
        if counts.is_empty() {
            return None;
        }
        Some(UsageReport {
            counts: counts
                .into_iter()
                .map(|((plan, key, day), count)| UsageCount {
                    usage_plan_id: plan.to_string(),
                    key_id: key.to_string(),
                    date: quota::date_string(day),
                    count,
                })
                .collect(),
            ..Default::default()
        })
    }
}

/// The node's half of exactly-once usage reporting: at most one numbered
/// report is in flight, and it is sent again (same number) on every report
/// tick and every new stream until the control plane acknowledges it; the
/// control plane applies each number once. Counts made meanwhile wait in
/// the recorder for the next report.
#[derive(Debug)]
pub struct UsageOutbox {
    reporter: String,
    next_sequence: u64,
    pending: Option<UsageReport>,
}

impl UsageOutbox {
    /// A new numbering for this node process.
    pub fn new(node_id: &str) -> Self {
        Self {
            reporter: format!("{node_id}/{:016x}", fastrand::u64(..)),
            next_sequence: 1,
            pending: None,
        }
    }

    /// The report to send now: the unacknowledged one again, else a new one
    /// from what `recorder` counted (None: nothing to report).
    pub fn next(&mut self, recorder: &UsageRecorder) -> Option<UsageReport> {
        if self.pending.is_none() {
            let mut report = recorder.take()?;
            report.reporter = self.reporter.clone();
            report.sequence = self.next_sequence;
            self.next_sequence += 1;
            self.pending = Some(report);
        }
        self.pending.clone()
    }

    /// Retires the in-flight report if `ack` is for it.
    pub fn acknowledged(&mut self, ack: &UsageAck) {
        if self
            .pending
            .as_ref()
            .is_some_and(|p| p.reporter == ack.reporter && p.sequence == ack.sequence)
        {
            self.pending = None;
        }
    }

    /// Whether a report still waits for its acknowledgement.
    pub fn in_flight(&self) -> bool {
        self.pending.is_some()
    }

    /// The sequence of the report waiting for its acknowledgement.
    pub fn pending_sequence(&self) -> Option<u64> {
        self.pending.as_ref().map(|p| p.sequence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resends_until_acknowledged_then_numbers_the_next() {
        let recorder = UsageRecorder::default();
        let mut outbox = UsageOutbox::new("n1");
        assert!(outbox.next(&recorder).is_none(), "nothing counted");
        let (plan, key): (Arc<str>, Arc<str>) = ("p".into(), "k".into());
        recorder.record(&plan, &key, 20_000);
        recorder.record(&plan, &key, 20_000);
        let first = outbox.next(&recorder).unwrap();
        assert_eq!((first.sequence, first.counts[0].count), (1, 2));
        assert!(first.reporter.starts_with("n1/"));
        // Counted while the first is unacknowledged: not in the resend.
        recorder.record(&plan, &key, 20_000);
        assert_eq!(outbox.next(&recorder).unwrap(), first);
        // A stale or foreign ack changes nothing.
        outbox.acknowledged(&UsageAck {
            reporter: "other/1".into(),
            sequence: 1,
        });
        assert!(outbox.in_flight());
        outbox.acknowledged(&UsageAck {
            reporter: first.reporter.clone(),
            sequence: 1,
        });
        assert!(!outbox.in_flight());
        let second = outbox.next(&recorder).unwrap();
        assert_eq!((second.sequence, second.counts[0].count), (2, 1));
    }
}
