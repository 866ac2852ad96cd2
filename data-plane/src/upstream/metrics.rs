//! Metrics of every call the node makes, labelled by what it was for
//! ([`Purpose`]): requests and their duration by outcome, errors by kind,
//! and connections opened or reused.
//!
//! Every label value is known in advance, so each series is bound to its
//! full label set once, the first time it is recorded (binding up front
//! would put some 370 lines of zeros in every scrape): after that, a call
//! costs a few direct updates, no attribute hashing or lookups (see
//! `telemetry::metrics::RouteSeries` for what that saved on the proxy path).

use super::UpstreamError;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{BoundCounter, BoundHistogram, Counter, Histogram, Meter};
use std::sync::OnceLock;
use std::time::Duration;

/// What a call to the outside is for: the `purpose` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// HTTP_PROXY (and later function and service) integrations.
    Integration = 0,
    /// JWKS fetches of JWT authorizers.
    Jwks = 1,
    /// Calls to custom (Lambda-style) authorizers.
    Authorizer = 2,
}

impl Purpose {
    const ALL: [Purpose; 3] = [Purpose::Integration, Purpose::Jwks, Purpose::Authorizer];

    pub fn label(self) -> &'static str {
        match self {
            Purpose::Integration => "integration",
            Purpose::Jwks => "jwks",
            Purpose::Authorizer => "authorizer",
        }
    }
}

/// The `outcome` label: the answer's status class, or `error` when there
/// was no answer to pass on.
const OUTCOMES: [&str; 6] = ["2xx", "3xx", "4xx", "5xx", "other", "error"];
const ERROR_OUTCOME: usize = 5;

fn outcome_index(status: http::StatusCode) -> usize {
    match status.as_u16() {
        200..=299 => 0,
        300..=399 => 1,
        400..=499 => 2,
        500..=599 => 3,
        _ => 4,
    }
}

/// The `kind` label of errors, by [`UpstreamError::kind`].
const ERROR_KINDS: [&str; 13] = [
    "connect",
    "tls",
    "write",
    "read",
    "stalled",
    "closed",
    "malformed",
    "request_too_large",
    "client_body",
    "timeout",
    "response_too_large",
    "bad_uri",
    // The caller stopped waiting before the client was done: its own
    // deadline, or the client it serves went away.
    "abandoned",
];
const ABANDONED: usize = 12;

impl UpstreamError {
    /// Index into [`ERROR_KINDS`].
    fn kind(&self) -> usize {
        match self {
            UpstreamError::Connect { .. } => 0,
            UpstreamError::Tls { .. } => 1,
            UpstreamError::Write(_) => 2,
            UpstreamError::Read(_) | UpstreamError::CutOff(_) => 3,
            UpstreamError::Stalled(_) => 4,
            UpstreamError::Closed => 5,
            UpstreamError::Malformed(_) => 6,
            UpstreamError::RequestTooLarge => 7,
            UpstreamError::ClientBody(_) => 8,
            UpstreamError::TimedOut(_) => 9,
            UpstreamError::ResponseTooLarge(_) => 10,
            UpstreamError::BadUri(_) => 11,
        }
    }
}

/// Buckets in seconds, from 1 ms to 30 s (the longest integration timeout).
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The `state` label of connections.
const CONNECTION_STATES: [&str; 2] = ["opened", "reused"];

/// The instruments, shared by every purpose.
#[derive(Debug, Clone)]
struct Instruments {
    requests: Counter<u64>,
    duration: Histogram<f64>,
    errors: Counter<u64>,
    connections: Counter<u64>,
}

/// One purpose's series, each bound on first use.
#[derive(Debug)]
pub(super) struct PurposeMetrics {
    purpose: Purpose,
    instruments: Instruments,
    requests: [OnceLock<BoundCounter<u64>>; OUTCOMES.len()],
    duration: [OnceLock<BoundHistogram<f64>>; OUTCOMES.len()],
    errors: [OnceLock<BoundCounter<u64>>; ERROR_KINDS.len()],
    connections: [OnceLock<BoundCounter<u64>>; CONNECTION_STATES.len()],
}

impl PurposeMetrics {
    fn new(purpose: Purpose, instruments: Instruments) -> Self {
        Self {
            purpose,
            instruments,
            requests: [const { OnceLock::new() }; OUTCOMES.len()],
            duration: [const { OnceLock::new() }; OUTCOMES.len()],
            errors: [const { OnceLock::new() }; ERROR_KINDS.len()],
            connections: [const { OnceLock::new() }; CONNECTION_STATES.len()],
        }
    }

    fn labels(&self, key: &'static str, value: &'static str) -> [KeyValue; 2] {
        [
            KeyValue::new("purpose", self.purpose.label()),
            KeyValue::new(key, value),
        ]
    }

    /// A call that got an answer with `status` after `elapsed`.
    pub(super) fn answered(&self, status: http::StatusCode, elapsed: Duration) {
        self.record_call(outcome_index(status), elapsed);
    }

    /// A call that failed with the error of `kind` after `elapsed`.
    pub(super) fn failed(&self, kind: usize, elapsed: Duration) {
        self.record_call(ERROR_OUTCOME, elapsed);
        self.record_error(kind);
    }

    /// An error after the call was counted: in a response body that was
    /// streaming to the caller.
    pub(super) fn body_failed(&self, error: &UpstreamError) {
        self.record_error(error.kind());
    }

    pub(super) fn connection(&self, reused: bool) {
        let state = usize::from(reused);
        self.connections[state]
            .get_or_init(|| {
                let labels = self.labels("state", CONNECTION_STATES[state]);
                self.instruments.connections.bind(&labels)
            })
            .add(1);
    }

    fn record_call(&self, outcome: usize, elapsed: Duration) {
        let labels = || self.labels("outcome", OUTCOMES[outcome]);
        self.requests[outcome]
            .get_or_init(|| self.instruments.requests.bind(&labels()))
            .add(1);
        self.duration[outcome]
            .get_or_init(|| self.instruments.duration.bind(&labels()))
            .record(elapsed.as_secs_f64());
    }

    fn record_error(&self, kind: usize) {
        self.errors[kind]
            .get_or_init(|| {
                let labels = self.labels("kind", ERROR_KINDS[kind]);
                self.instruments.errors.bind(&labels)
            })
            .add(1);
    }
}

/// Every purpose's instruments, made once per node.
#[derive(Debug)]
pub struct OutboundMetrics {
    by_purpose: [std::sync::Arc<PurposeMetrics>; Purpose::ALL.len()],
}

impl OutboundMetrics {
    pub fn new(meter: &Meter) -> Self {
        let instruments = Instruments {
            requests: meter
                .u64_counter("archway_outbound_requests")
                .with_description(
                    "Calls the node made (integrations, JWKS, authorizers), by purpose and outcome \
                 (status class, or error)",
                )
                .build(),
            duration: meter
                .f64_histogram("archway_outbound_duration")
                .with_unit("s")
                .with_description(
                    "Time a call took: to the response head when the body streams on, to the \
                 whole response when buffered",
                )
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            errors: meter
                .u64_counter("archway_outbound_errors")
                .with_description(
                    "Failed calls, and failures in streamed bodies, by purpose and kind",
                )
                .build(),
            connections: meter
                .u64_counter("archway_outbound_connections")
                .with_description(
                    "Connections a call used, by purpose and state (opened or reused)",
                )
                .build(),
        };
        let by_purpose = Purpose::ALL
            .map(|purpose| std::sync::Arc::new(PurposeMetrics::new(purpose, instruments.clone())));
        Self { by_purpose }
    }

    /// For clients made outside a node (tests, benchmarks): recorded nowhere.
    pub fn unrecorded() -> Self {
        use opentelemetry::metrics::MeterProvider as _;
        Self::new(&opentelemetry::metrics::noop::NoopMeterProvider::new().meter("archway"))
    }

    pub(super) fn purpose(&self, purpose: Purpose) -> &std::sync::Arc<PurposeMetrics> {
        &self.by_purpose[purpose as usize]
    }
}

/// Records one call: its answer or error when it ends, or `abandoned` when
/// the caller drops it first (a deadline above the client, or the client's
/// own client gone).
pub(super) struct CallRecord<'a> {
    metrics: &'a PurposeMetrics,
    started: std::time::Instant,
    done: bool,
}

impl<'a> CallRecord<'a> {
    pub fn start(metrics: &'a PurposeMetrics) -> Self {
        Self {
            metrics,
            started: std::time::Instant::now(),
            done: false,
        }
    }

    pub fn answered(mut self, status: http::StatusCode) {
        self.done = true;
        self.metrics.answered(status, self.started.elapsed());
    }

    pub fn failed(mut self, error: &UpstreamError) {
        self.done = true;
        self.metrics.failed(error.kind(), self.started.elapsed());
    }
}

impl Drop for CallRecord<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.metrics.failed(ABANDONED, self.started.elapsed());
        }
    }
}
