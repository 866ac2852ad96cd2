//! Requests admitted per usage plan, key and day, collected on the request
//! path and drained into usage reports for the control plane.

use archway_proto::quota;
use archway_proto::v1::{UsageCount, UsageReport};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// (plan id, key id, day since the epoch).
type UsageKey = (Arc<str>, Arc<str>, i64);

#[derive(Debug, Default)]
pub struct UsageRecorder {
    counts: Mutex<HashMap<UsageKey, u64>>,
}

impl UsageRecorder {
    pub fn record(&self, plan: &Arc<str>, key: &Arc<str>, day: i64) {
        let mut counts = self.counts.lock().expect("usage lock");
        *counts.entry((plan.clone(), key.clone(), day)).or_default() += 1;
    }

    /// Takes everything counted so far, or None when nothing was.
    pub fn take(&self) -> Option<UsageReport> {
        let counts = std::mem::take(&mut *self.counts.lock().expect("usage lock"));
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
        })
    }

    /// Puts back a report that could not be sent.
    pub fn restore(&self, report: UsageReport) {
        let mut counts = self.counts.lock().expect("usage lock");
        for c in report.counts {
            if let Some(day) = quota::parse_date(&c.date) {
                *counts
                    .entry((c.usage_plan_id.into(), c.key_id.into(), day))
                    .or_default() += c.count;
            }
        }
    }
}
