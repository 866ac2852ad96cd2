//! The fleet's traffic over the last 15 minutes, per API stage, for
//! `FleetService.GetTraffic` (the admin UI's traffic charts).
//!
//! Nodes send cumulative [`TrafficReport`]s: their own `archway_requests`
//! and `archway_request_duration` metrics summed by API stage. This keeps
//! the last report of each reporter (one node process) and adds the
//! differences into 10-second steps, so the sums over the fleet are the
//! sums of the nodes' Prometheus counters over the same steps. A report
//! lost or late loses nothing (the next one carries it); a new reporter
//! (a restarted node) counts from zero; a counter that went down counts
//! from zero too.
//!
//! Everything is in memory and bounded: at most [`MAX_KEYS`] API stages
//! with up to [`STEPS`] steps each, one reporter per node (its current
//! process) for at most [`MAX_NODES`] nodes holding at most
//! [`MAX_REMEMBERED`] (node, stage) counts, each forgotten after 15 minutes
//! without a report. Keyed by node, a fleet of any size keeps its counts
//! (a bound on processes would evict reporters before their next report),
//! and a node's stream can only replace its own reporter. A restarted control
//! plane starts with empty charts; reporters it does not know whose
//! processes are older than [`NEW_PROCESS_MS`] are taken as a baseline
//! rather than counted into the current step, since their counts are from
//! unknown times.

use archway_proto::v1::{StageTraffic, TrafficPoint, TrafficReport, TrafficStage};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// The width of one step.
pub const STEP_MS: i64 = 10_000;
/// Steps kept per API stage: 15 minutes.
const STEPS: i64 = 90;
/// The longest window a query can ask for: everything kept.
pub const WINDOW_MINUTES: u32 = (STEPS * STEP_MS / 60_000) as u32;
/// API stages kept at most; stages past it are not charted (logged).
const MAX_KEYS: usize = 2_048;
/// Nodes whose last counts are kept at most; past it the longest silent
/// is forgotten.
const MAX_NODES: usize = 4_096;
/// (node, stage) counts kept at most, over all nodes: past it the longest
/// silent nodes are forgotten.
const MAX_REMEMBERED: usize = 262_144;
/// Longest API id or stage name taken from a report (ids are at most 63
/// characters, stage names 128).
const MAX_NAME: usize = 255;
/// A reporter not heard from for this long is forgotten.
const FORGET_AFTER_MS: i64 = STEP_MS * STEPS;
/// An unknown reporter whose process ran longer than this is a baseline.
const NEW_PROCESS_MS: u64 = 120_000;
/// The stage label of requests to an API that matched none of its stages.
pub const NO_STAGE: &str = "(none)";
/// Latency buckets accepted per report (the node sends 16).
const MAX_BUCKETS: usize = 64;

/// (api id, stage name).
type Key = (String, String);

/// The traffic of one API stage in one step (or a reporter's cumulative
/// counts: the same shape).
#[derive(Debug, Clone, Default, PartialEq)]
struct Counts {
    requests: u64,
    client_errors: u64,
    server_errors: u64,
    /// Per bucket, in the aggregator's bounds, the last one +Inf.
    buckets: Vec<u64>,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.requests += other.requests;
        self.client_errors += other.client_errors;
        self.server_errors += other.server_errors;
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (sum, n) in self.buckets.iter_mut().zip(&other.buckets) {
            *sum += n;
        }
    }

    /// What `self` counted since `before`; everything if a count went down
    /// (the counter started over).
    fn since(&self, before: &Counts) -> Counts {
        let reset = self.requests < before.requests
            || self.client_errors < before.client_errors
            || self.server_errors < before.server_errors
            || self.buckets.len() != before.buckets.len()
            || self.buckets.iter().zip(&before.buckets).any(|(a, b)| a < b);
        if reset {
            return self.clone();
        }
        Counts {
            requests: self.requests - before.requests,
            client_errors: self.client_errors - before.client_errors,
            server_errors: self.server_errors - before.server_errors,
            buckets: self
                .buckets
                .iter()
                .zip(&before.buckets)
                .map(|(a, b)| a - b)
                .collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.requests == 0 && self.buckets.iter().all(|n| *n == 0)
    }
}

/// One API stage's recent steps, oldest first: a ring of at most
/// [`STEPS`] entries that holds only steps with traffic.
#[derive(Debug, Default)]
struct Series {
    steps: VecDeque<(i64, Counts)>,
}

impl Series {
    fn add(&mut self, step: i64, counts: &Counts) {
        match self.steps.back_mut() {
            // Should the clock step back, the newest step takes it: the
            // ring stays in order.
            Some((last, sum)) if *last >= step => sum.add(counts),
            _ => self.steps.push_back((step, counts.clone())),
        }
        self.expire(step);
    }

    /// Drops steps that left the 15-minute window ending at `step`.
    fn expire(&mut self, step: i64) {
        while self
            .steps
            .front()
            .is_some_and(|(first, _)| *first <= step - STEPS)
        {
            self.steps.pop_front();
        }
    }
}

#[derive(Debug)]
struct Reporter {
    /// The node process these counts are from ("{node_id}/{random}").
    process: String,
    last: HashMap<Key, Counts>,
    /// The process the node ran before, whose last report may still be on
    /// its way.
    retired: Option<Retired>,
    heard_ms: i64,
}

#[derive(Debug)]
struct Retired {
    process: String,
    last: HashMap<Key, Counts>,
}

impl Reporter {
    /// (node, stage) counts held, for [`MAX_REMEMBERED`].
    fn size(&self) -> usize {
        self.last.len() + self.retired.as_ref().map_or(0, |r| r.last.len())
    }
}

#[derive(Debug, Default)]
struct State {
    /// Upper bounds of the finite buckets (the nodes' own,
    /// [`archway_proto::latency::LATENCY_BUCKETS`]); reports with other
    /// bounds are mapped onto these.
    bounds: Vec<f64>,
    /// By node id: the last counts of its current process.
    reporters: HashMap<String, Reporter>,
    /// The sum of every reporter's `last.len()`.
    remembered: usize,
    series: HashMap<Key, Series>,
    /// Whether stages past [`MAX_KEYS`] were left out (logged once).
    full_logged: bool,
}

/// The fleet's traffic, shared by the config streams (which add reports)
/// and the admin API (which reads it).
#[derive(Debug)]
pub struct Traffic {
    state: Mutex<State>,
}

impl Default for Traffic {
    fn default() -> Self {
        Self::with_bounds(archway_proto::latency::LATENCY_BUCKETS.to_vec())
    }
}

/// The answer to one traffic query.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub points: Vec<TrafficPoint>,
    pub stages: Vec<TrafficStage>,
}

impl Traffic {
    pub fn new() -> Self {
        Self::default()
    }

    /// An aggregator whose latency buckets have these upper bounds.
    fn with_bounds(bounds: Vec<f64>) -> Self {
        Self {
            state: Mutex::new(State {
                bounds,
                ..State::default()
            }),
        }
    }

    /// Adds what `report` counted since its reporter's previous one into the
    /// step of `now_ms`.
    ///
    /// `node_id` is the node whose stream carried it: a report of another
    /// node's process is ignored (false), so a node can only move its own
    /// counts.
    pub fn add(&self, node_id: &str, report: &TrafficReport, now_ms: i64) -> bool {
        if !is_process_of(node_id, &report.reporter) {
            return false;
        }
        let mut state = self.state.lock().expect("traffic lock");
        state.add(node_id, report, now_ms);
        true
    }

    /// The traffic of `api_id`'s `stage_name` (empty: all) over the last
    /// `minutes`, one point per step, the last the step of `now_ms`.
    pub fn window(&self, api_id: &str, stage_name: &str, minutes: u32, now_ms: i64) -> Window {
        let state = self.state.lock().expect("traffic lock");
        state.window(api_id, stage_name, minutes, now_ms)
    }
}

impl State {
    fn add(&mut self, node_id: &str, report: &TrafficReport, now_ms: i64) {
        if report.bucket_bounds.len() >= MAX_BUCKETS
            || report.bucket_bounds.iter().any(|b| !b.is_finite())
            || report.stages.len() > MAX_KEYS
        {
            tracing::warn!(reporter = %report.reporter, "ignoring a malformed traffic report");
            return;
        }
        let node = node_id.to_owned();
        let step = now_ms.div_euclid(STEP_MS);
        self.forget_silent(now_ms);
        let cumulative: HashMap<Key, Counts> = report
            .stages
            .iter()
            .filter(|s| s.api_id.len() <= MAX_NAME && s.stage_name.len() <= MAX_NAME)
            .map(|s| {
                (
                    (s.api_id.clone(), s.stage_name.clone()),
                    self.counts_of(s, &report.bucket_bounds),
                )
            })
            .collect();
        let known = self.reporters.remove(&node);
        if let Some(known) = &known {
            self.remembered -= known.size();
        }
        // Which counts this report continues, and what becomes of the rest.
        let (previous, baseline, current, retired) = match known {
            Some(known) if known.process == report.reporter => {
                (known.last, false, None, known.retired)
            }
            // A late report of the process the node ran before: counted
            // against that process's own last counts.
            Some(known)
                if known
                    .retired
                    .as_ref()
                    .is_some_and(|r| r.process == report.reporter) =>
            {
                let retired = known.retired.expect("matched above");
                let current = (known.process, known.last);
                (retired.last, false, Some(current), None)
            }
            // A new process of the node (it restarted: what the old one
            // counted stays counted, and a late report of it still counts),
            // or a node we had not heard of. A process that ran a while
            // before we heard of it has counts from unknown times, so they
            // only set the baseline.
            Some(known) => (
                HashMap::new(),
                report.uptime_ms > NEW_PROCESS_MS,
                None,
                Some(Retired {
                    process: known.process,
                    last: known.last,
                }),
            ),
            None => (
                HashMap::new(),
                report.uptime_ms > NEW_PROCESS_MS,
                None,
                None,
            ),
        };
        if !baseline {
            for (key, counts) in &cumulative {
                let delta = match previous.get(key) {
                    Some(before) => counts.since(before),
                    None => counts.clone(),
                };
                if !delta.is_empty() {
                    self.add_step(key, step, &delta);
                }
            }
        }
        // A stage a report left out keeps its last counts, so that it is
        // not counted again from zero should it come back.
        let left_out = previous
            .keys()
            .filter(|key| !cumulative.contains_key(*key))
            .count();
        let mut last = previous;
        if left_out + cumulative.len() > MAX_KEYS {
            last.clear();
        }
        last.extend(cumulative);
        let reporter = match current {
            // The late report updated the retired process; the node's
            // current process stays current.
            Some((process, current_last)) => Reporter {
                process,
                last: current_last,
                retired: Some(Retired {
                    process: report.reporter.clone(),
                    last,
                }),
                heard_ms: now_ms,
            },
            None => Reporter {
                process: report.reporter.clone(),
                last,
                retired,
                heard_ms: now_ms,
            },
        };
        while self.reporters.len() >= MAX_NODES
            || (self.remembered + reporter.size() > MAX_REMEMBERED && !self.reporters.is_empty())
        {
            let Some(oldest) = self
                .reporters
                .iter()
                .min_by_key(|(_, r)| r.heard_ms)
                .map(|(id, _)| id.clone())
            else {
                break;
            };
            if let Some(gone) = self.reporters.remove(&oldest) {
                self.remembered -= gone.size();
            }
        }
        self.remembered += reporter.size();
        self.reporters.insert(node, reporter);
    }

    /// A stage's counts in this aggregator's buckets: the same buckets when
    /// the bounds agree (they do across one release); otherwise each
    /// reported bucket goes to the first of ours whose bound is at least its
    /// own, so quantiles can only err upwards.
    fn counts_of(&self, stage: &StageTraffic, bounds: &[f64]) -> Counts {
        let width = self.bounds.len() + 1;
        let mut buckets = vec![0u64; width];
        if bounds == self.bounds.as_slice() {
            for (sum, n) in buckets.iter_mut().zip(&stage.latency_buckets) {
                *sum = *n;
            }
        } else {
            for (i, n) in stage.latency_buckets.iter().enumerate() {
                let target = bounds.get(i).map_or(width - 1, |bound| {
                    self.bounds.partition_point(|ours| ours < bound)
                });
                buckets[target] += n;
            }
        }
        Counts {
            requests: stage.requests,
            client_errors: stage.client_errors,
            server_errors: stage.server_errors,
            buckets,
        }
    }

    fn add_step(&mut self, key: &Key, step: i64, delta: &Counts) {
        if !self.series.contains_key(key) && self.series.len() >= MAX_KEYS {
            // Make room from stages with nothing left in the window.
            self.series.retain(|_, series| {
                series.expire(step);
                !series.steps.is_empty()
            });
            if self.series.len() >= MAX_KEYS {
                if !self.full_logged {
                    tracing::warn!(
                        max = MAX_KEYS,
                        "more API stages with traffic than the traffic charts keep; new ones are left out"
                    );
                    self.full_logged = true;
                }
                return;
            }
        }
        self.series.entry(key.clone()).or_default().add(step, delta);
    }

    fn forget_silent(&mut self, now_ms: i64) {
        let mut forgotten = 0;
        self.reporters.retain(|_, r| {
            let keep = now_ms - r.heard_ms < FORGET_AFTER_MS;
            if !keep {
                forgotten += r.size();
            }
            keep
        });
        self.remembered -= forgotten;
    }

    fn window(&self, api_id: &str, stage_name: &str, minutes: u32, now_ms: i64) -> Window {
        let minutes = if minutes == 0 {
            WINDOW_MINUTES
        } else {
            minutes.min(WINDOW_MINUTES)
        };
        let count = i64::from(minutes) * 60_000 / STEP_MS;
        let last = now_ms.div_euclid(STEP_MS);
        let first = last - count + 1;
        let mut sums: Vec<Counts> = vec![Counts::default(); count as usize];
        let mut stages = Vec::new();
        for ((api, stage), series) in &self.series {
            let mut total = 0;
            let chosen = (api_id.is_empty() || api == api_id)
                && (stage_name.is_empty() || stage == stage_name);
            for (step, counts) in &series.steps {
                if (first..=last).contains(step) {
                    total += counts.requests;
                    if chosen {
                        sums[(step - first) as usize].add(counts);
                    }
                }
            }
            if total > 0 {
                stages.push(TrafficStage {
                    api_id: api.clone(),
                    stage_name: stage.clone(),
                    requests: total,
                });
            }
        }
        stages.sort_by(|a, b| (&a.api_id, &a.stage_name).cmp(&(&b.api_id, &b.stage_name)));
        let step_seconds = (STEP_MS / 1000) as f64;
        let points = sums
            .iter()
            .enumerate()
            .map(|(i, counts)| TrafficPoint {
                start_ms: (first + i as i64) * STEP_MS,
                requests: counts.requests,
                client_errors: counts.client_errors,
                server_errors: counts.server_errors,
                requests_per_second: counts.requests as f64 / step_seconds,
                p50_seconds: quantile(0.5, &self.bounds, &counts.buckets),
                p99_seconds: quantile(0.99, &self.bounds, &counts.buckets),
            })
            .collect();
        Window { points, stages }
    }
}

/// Whether `reporter` names a process of node `node_id` ("{node_id}/..."):
/// a node's stream carries reports of its own processes only.
pub fn is_process_of(node_id: &str, reporter: &str) -> bool {
    reporter
        .strip_prefix(node_id)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|process| !process.is_empty())
}

/// The `q` quantile of a histogram as Prometheus's `histogram_quantile`
/// estimates it: find the bucket holding the rank, interpolate linearly
/// within it (the first bucket starts at 0); a rank in the +Inf bucket
/// answers the largest finite bound. None without observations or bounds.
fn quantile(q: f64, bounds: &[f64], buckets: &[u64]) -> Option<f64> {
    let total: u64 = buckets.iter().sum();
    if total == 0 || bounds.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let rank = q * total as f64;
    let mut below = 0u64;
    for (i, bound) in bounds.iter().enumerate() {
        let n = buckets.get(i).copied().unwrap_or(0);
        if (below + n) as f64 >= rank {
            if i == 0 && *bound <= 0.0 {
                return Some(*bound);
            }
            let start = if i == 0 { 0.0 } else { bounds[i - 1] };
            if n == 0 {
                // Only for q = 0.
                return Some(start);
            }
            return Some(start + (bound - start) * (rank - below as f64) / n as f64);
        }
        below += n;
    }
    bounds.last().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Traffic {
        /// As a node's stream adds it: the node named by the reporter.
        fn add_as_reporter(&self, report: &TrafficReport, now_ms: i64) {
            let node = report.reporter.split_once('/').map_or("", |(node, _)| node);
            self.add(node, report, now_ms);
        }
    }

    const BOUNDS: [f64; 4] = [0.01, 0.1, 1.0, 10.0];
    const T0: i64 = 1_800_000_000_000;

    fn stage(
        api: &str,
        stage: &str,
        requests: u64,
        c4: u64,
        c5: u64,
        buckets: [u64; 5],
    ) -> StageTraffic {
        StageTraffic {
            api_id: api.into(),
            stage_name: stage.into(),
            requests,
            client_errors: c4,
            server_errors: c5,
            latency_buckets: buckets.to_vec(),
            latency_sum_seconds: 0.0,
        }
    }

    /// `requests` 2xx answers of `api`'s `stage`, all in the first bucket.
    fn ok(api: &str, stage_name: &str, requests: u64) -> StageTraffic {
        stage(api, stage_name, requests, 0, 0, [requests, 0, 0, 0, 0])
    }

    fn report(reporter: &str, uptime_ms: u64, stages: Vec<StageTraffic>) -> TrafficReport {
        TrafficReport {
            reporter: reporter.into(),
            bucket_bounds: BOUNDS.to_vec(),
            stages,
            uptime_ms,
        }
    }

    fn requests(window: &Window) -> Vec<u64> {
        window.points.iter().map(|p| p.requests).collect()
    }

    fn total(window: &Window) -> (u64, u64, u64) {
        window.points.iter().fold((0, 0, 0), |(r, c, s), p| {
            (r + p.requests, c + p.client_errors, s + p.server_errors)
        })
    }

    #[test]
    fn differences_land_in_the_step_they_arrive_in() {
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        t.add_as_reporter(
            &report(
                "n1/a",
                1_000,
                vec![stage("a", "prod", 10, 2, 1, [10, 0, 0, 0, 0])],
            ),
            T0,
        );
        t.add_as_reporter(
            &report(
                "n1/a",
                6_000,
                vec![stage("a", "prod", 15, 2, 3, [12, 3, 0, 0, 0])],
            ),
            T0 + STEP_MS,
        );
        // Unchanged: nothing more.
        t.add_as_reporter(
            &report(
                "n1/a",
                11_000,
                vec![stage("a", "prod", 15, 2, 3, [12, 3, 0, 0, 0])],
            ),
            T0 + 2 * STEP_MS,
        );
        let w = t.window("a", "prod", 1, T0 + 2 * STEP_MS);
        assert_eq!(w.points.len(), 6);
        assert_eq!(requests(&w), [0, 0, 0, 10, 5, 0]);
        assert_eq!(total(&w), (15, 2, 3));
        assert_eq!(w.points[4].requests_per_second, 0.5);
        assert_eq!(w.points[5].p50_seconds, None, "no requests, no quantile");
        assert_eq!(
            w.points[5].start_ms,
            (T0 / STEP_MS + 2) * STEP_MS,
            "the step in progress is last"
        );
    }

    #[test]
    fn a_restarted_node_counts_from_zero_without_double_counting() {
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        t.add_as_reporter(&report("n1/a", 1_000, vec![ok("a", "p", 40)]), T0);
        // The node restarts: a new reporter whose counters start over.
        t.add_as_reporter(
            &report(
                "n1/b",
                3_000,
                vec![stage("a", "p", 7, 1, 0, [7, 0, 0, 0, 0])],
            ),
            T0 + STEP_MS,
        );
        // The old process's last report, late, unchanged: nothing added.
        t.add_as_reporter(&report("n1/a", 9_000, vec![ok("a", "p", 40)]), T0 + STEP_MS);
        t.add_as_reporter(
            &report(
                "n1/b",
                8_000,
                vec![stage("a", "p", 9, 1, 0, [9, 0, 0, 0, 0])],
            ),
            T0 + 2 * STEP_MS,
        );
        assert_eq!(total(&t.window("", "", 0, T0 + 2 * STEP_MS)), (49, 1, 0));
    }

    #[test]
    fn a_stage_left_out_of_one_report_is_not_counted_again() {
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        let a = || ok("a", "p", 5);
        let b = ok("b", "p", 1);
        t.add_as_reporter(&report("n/a", 1, vec![a(), b.clone()]), T0);
        t.add_as_reporter(&report("n/a", 2, vec![b]), T0 + STEP_MS);
        t.add_as_reporter(&report("n/a", 3, vec![a()]), T0 + 2 * STEP_MS);
        assert_eq!(total(&t.window("a", "", 0, T0 + 2 * STEP_MS)).0, 5);
    }

    #[test]
    fn a_counter_that_went_down_counts_from_zero() {
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        t.add_as_reporter(&report("n1/a", 1_000, vec![ok("a", "p", 40)]), T0);
        t.add_as_reporter(&report("n1/a", 6_000, vec![ok("a", "p", 3)]), T0 + STEP_MS);
        assert_eq!(requests(&t.window("a", "p", 1, T0 + STEP_MS))[4..], [40, 3]);
    }

    #[test]
    fn an_old_process_unknown_to_a_restarted_control_plane_is_a_baseline() {
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        t.add_as_reporter(
            &report("n1/a", NEW_PROCESS_MS + 1, vec![ok("a", "p", 1_000)]),
            T0,
        );
        assert_eq!(
            total(&t.window("", "", 0, T0)),
            (0, 0, 0),
            "counts from unknown times"
        );
        t.add_as_reporter(
            &report("n1/a", NEW_PROCESS_MS + 5_001, vec![ok("a", "p", 1_004)]),
            T0 + STEP_MS,
        );
        assert_eq!(total(&t.window("", "", 0, T0 + STEP_MS)), (4, 0, 0));
        // Uptime unknown (0): counted from zero, as a new process.
        t.add_as_reporter(&report("n2/a", 0, vec![ok("a", "p", 6)]), T0 + STEP_MS);
        assert_eq!(total(&t.window("", "", 0, T0 + STEP_MS)), (10, 0, 0));
    }

    #[test]
    fn steps_leave_the_ring_after_15_minutes() {
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        let mut count = 0;
        // 100 steps, one request each: the ring keeps the last 90.
        for i in 0..100 {
            count += 1;
            t.add_as_reporter(
                &report("n/a", 1, vec![ok("a", "p", count)]),
                T0 + i * STEP_MS,
            );
        }
        let now = T0 + 99 * STEP_MS;
        let w = t.window("a", "p", 15, now);
        assert_eq!(w.points.len(), 90);
        assert!(w.points.iter().all(|p| p.requests == 1));
        let state = t.state.lock().unwrap();
        assert_eq!(
            state.series[&("a".to_owned(), "p".to_owned())].steps.len(),
            90
        );
        drop(state);
        // 15 minutes later, nothing is left in the window.
        assert_eq!(total(&t.window("a", "p", 15, now + 90 * STEP_MS)).0, 0);
    }

    #[test]
    fn a_clock_stepping_back_keeps_the_ring_in_order() {
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        t.add_as_reporter(&report("n/a", 1, vec![ok("a", "p", 2)]), T0 + STEP_MS);
        t.add_as_reporter(&report("n/a", 2, vec![ok("a", "p", 5)]), T0);
        let state = t.state.lock().unwrap();
        let steps = &state.series[&("a".to_owned(), "p".to_owned())].steps;
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].1.requests, 5);
    }

    #[test]
    fn window_edges() {
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        t.add_as_reporter(&report("n/a", 1, vec![ok("a", "p", 1)]), T0);
        // Exactly 15 minutes (90 steps) later the step is gone; one before, kept.
        let step_start = T0.div_euclid(STEP_MS) * STEP_MS;
        assert_eq!(total(&t.window("", "", 15, step_start + 89 * STEP_MS)).0, 1);
        assert_eq!(total(&t.window("", "", 15, step_start + 90 * STEP_MS)).0, 0);
        // One minute: the last 6 steps.
        assert_eq!(total(&t.window("", "", 1, step_start + 5 * STEP_MS)).0, 1);
        assert_eq!(total(&t.window("", "", 1, step_start + 6 * STEP_MS)).0, 0);
        assert_eq!(t.window("", "", 0, T0).points.len(), 90, "0: 15 minutes");
        assert_eq!(t.window("", "", 7, T0).points.len(), 42);
    }

    #[test]
    fn filters_and_stages() {
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        t.add_as_reporter(
            &report(
                "n/a",
                1,
                vec![
                    stage("a", "prod", 3, 1, 0, [3, 0, 0, 0, 0]),
                    stage("a", "beta", 2, 0, 1, [2, 0, 0, 0, 0]),
                    ok("b", "prod", 5),
                    ok("c", "prod", 0),
                ],
            ),
            T0,
        );
        assert_eq!(total(&t.window("a", "prod", 0, T0)), (3, 1, 0));
        assert_eq!(total(&t.window("a", "", 0, T0)), (5, 1, 1));
        assert_eq!(total(&t.window("", "prod", 0, T0)), (8, 1, 0));
        assert_eq!(total(&t.window("", "", 0, T0)), (10, 1, 1));
        assert_eq!(total(&t.window("zz", "", 0, T0)), (0, 0, 0));
        let w = t.window("a", "prod", 0, T0);
        let stages: Vec<_> = w
            .stages
            .iter()
            .map(|s| (s.api_id.as_str(), s.stage_name.as_str(), s.requests))
            .collect();
        assert_eq!(
            stages,
            [("a", "beta", 2), ("a", "prod", 3), ("b", "prod", 5)]
        );
    }

    #[test]
    fn quantiles_interpolate_as_prometheus_does() {
        // 10 in (0, 0.01], 10 in (0.01, 0.1]: the median is the first
        // bucket's bound; p75 is halfway through the second.
        let b = [10, 10, 0, 0, 0];
        assert_eq!(quantile(0.5, &BOUNDS, &b), Some(0.01));
        assert!((quantile(0.75, &BOUNDS, &b).unwrap() - 0.055).abs() < 1e-12);
        // Within the first bucket, from 0.
        assert!((quantile(0.25, &BOUNDS, &b).unwrap() - 0.005).abs() < 1e-12);
        // Empty buckets before the rank are skipped, not interpolated in.
        assert!((quantile(0.5, &BOUNDS, &[0, 0, 4, 0, 0]).unwrap() - 0.55).abs() < 1e-12);
        // A rank in the +Inf bucket: the largest finite bound.
        assert_eq!(quantile(0.99, &BOUNDS, &[1, 0, 0, 0, 99]), Some(10.0));
        assert_eq!(quantile(0.5, &BOUNDS, &[0, 0, 0, 0, 3]), Some(10.0));
        assert_eq!(quantile(0.5, &BOUNDS, &[0; 5]), None);
        assert_eq!(quantile(0.5, &[], &[3]), None);
    }

    #[test]
    fn other_bounds_map_onto_ours_upwards() {
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        t.add_as_reporter(&report("n/a", 1, vec![ok("a", "p", 1)]), T0);
        let other = TrafficReport {
            reporter: "m/a".into(),
            bucket_bounds: vec![0.05, 20.0],
            stages: vec![StageTraffic {
                api_id: "a".into(),
                stage_name: "p".into(),
                requests: 3,
                latency_buckets: vec![1, 1, 1],
                ..Default::default()
            }],
            uptime_ms: 1,
        };
        t.add_as_reporter(&other, T0);
        let state = t.state.lock().unwrap();
        let series = &state.series[&("a".to_owned(), "p".to_owned())];
        // 0.05 -> 0.1; 20 -> +Inf; +Inf -> +Inf.
        assert_eq!(series.steps[0].1.buckets, [1, 1, 0, 0, 2]);
    }

    #[test]
    fn keys_and_reporters_are_bounded() {
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        let stages: Vec<_> = (0..MAX_KEYS + 10)
            .map(|i| ok(&format!("api{i}"), "p", 1))
            .collect();
        t.add_as_reporter(&report("n/a", 1, stages[..MAX_KEYS].to_vec()), T0);
        t.add_as_reporter(&report("n/b", 1, stages[MAX_KEYS..].to_vec()), T0);
        assert_eq!(t.state.lock().unwrap().series.len(), MAX_KEYS);
        // 15 minutes later the old stages make room.
        t.add_as_reporter(
            &report("n/c", 1, stages[MAX_KEYS..].to_vec()),
            T0 + FORGET_AFTER_MS,
        );
        assert_eq!(t.state.lock().unwrap().series.len(), 10);
        for i in 0..MAX_NODES + 5 {
            t.add_as_reporter(
                &report(&format!("n{i}/a"), 1, Vec::new()),
                T0 + FORGET_AFTER_MS + i as i64,
            );
        }
        let state = t.state.lock().unwrap();
        assert_eq!(state.reporters.len(), MAX_NODES);
        assert!(
            !state.reporters.contains_key("n0"),
            "the longest silent went first"
        );
    }

    #[test]
    fn silent_reporters_are_forgotten() {
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        t.add_as_reporter(&report("n/a", 1, vec![ok("a", "p", 5)]), T0);
        t.add_as_reporter(&report("m/a", 1, Vec::new()), T0 + FORGET_AFTER_MS);
        let state = t.state.lock().unwrap();
        assert!(!state.reporters.contains_key("n"));
        assert_eq!(state.remembered, 0, "m's report holds no stages");
    }

    #[test]
    fn a_node_reports_for_its_own_processes_only() {
        assert!(is_process_of("n1", "n1/0123abcd"));
        assert!(!is_process_of("n1", "n10/0123abcd"), "a longer id");
        assert!(!is_process_of("n1", "n2/0123abcd"));
        assert!(!is_process_of("n1", "n1"));
        assert!(!is_process_of("n1", "n1/"));
        assert!(!is_process_of("n1", ""));
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        assert!(!t.add("n1", &report("n2/a", 1, vec![ok("a", "p", 5)]), T0));
        assert!(t.window("", "", 0, T0).stages.is_empty(), "not counted");
    }

    #[test]
    fn malformed_reports_are_ignored() {
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        let mut bad = report("n/a", 1, vec![ok("a", "p", 5)]);
        bad.bucket_bounds = vec![f64::NAN, 1.0, 2.0, 3.0];
        t.add_as_reporter(&bad, T0);
        bad.bucket_bounds = vec![0.5; MAX_BUCKETS];
        t.add_as_reporter(&bad, T0);
        assert_eq!(total(&t.window("", "", 0, T0)).0, 0);
    }

    #[test]
    fn a_fleet_larger_than_any_process_bound_keeps_counting() {
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        let nodes = 600;
        for round in 1..=2u64 {
            for i in 0..nodes {
                t.add_as_reporter(
                    &report(&format!("n{i}/p"), 1_000, vec![ok("a", "p", round)]),
                    T0,
                );
            }
        }
        assert_eq!(total(&t.window("", "", 0, T0)).0, 2 * nodes as u64);
    }

    #[test]
    fn a_node_inventing_processes_replaces_only_its_own_counts() {
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        t.add_as_reporter(&report("honest/a", 1_000, vec![ok("a", "p", 5)]), T0);
        for i in 0..10_000 {
            t.add_as_reporter(&report(&format!("noisy/{i}"), 1, Vec::new()), T0);
        }
        let state = t.state.lock().unwrap();
        assert_eq!(state.reporters.len(), 2);
        assert_eq!(state.reporters["honest"].process, "honest/a");
    }

    #[test]
    fn a_late_report_of_the_previous_process_counts_its_difference_once() {
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        let at = |reporter: &str, n: u64| {
            report(
                reporter,
                1_000,
                vec![stage("a", "p", n, 0, 0, [n, 0, 0, 0, 0])],
            )
        };
        t.add_as_reporter(&at("n/old", 10), T0);
        t.add_as_reporter(&at("n/new", 3), T0);
        // The old process's last report arrives after the new one's first.
        t.add_as_reporter(&at("n/old", 12), T0);
        t.add_as_reporter(&at("n/old", 12), T0);
        t.add_as_reporter(&at("n/new", 4), T0);
        assert_eq!(total(&t.window("", "", 0, T0)).0, 12 + 4);
    }

    #[test]
    fn latency_needs_no_bounds_from_the_first_report() {
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        // Read between the counter and the histogram: no buckets yet.
        let mut early = report("n/a", 1_000, vec![stage("a", "p", 1, 0, 0, [0; 5])]);
        early.bucket_bounds.clear();
        early.stages[0].latency_buckets.clear();
        t.add_as_reporter(&early, T0);
        t.add_as_reporter(
            &report(
                "n/a",
                1_000,
                vec![stage("a", "p", 3, 0, 0, [1, 2, 0, 0, 0])],
            ),
            T0,
        );
        let window = t.window("a", "p", 1, T0);
        let last = window.points.last().unwrap();
        assert_eq!(last.requests, 3);
        assert!(last.p50_seconds.is_some_and(|p| p > 0.01 && p <= 0.1));
    }

    #[test]
    fn over_long_names_are_not_kept() {
        let t = Traffic::with_bounds(BOUNDS.to_vec());
        let long = "x".repeat(MAX_NAME + 1);
        t.add_as_reporter(&report("n/a", 1_000, vec![ok(&long, "p", 5)]), T0);
        assert!(t.window("", "", 0, T0).stages.is_empty());
    }
}
