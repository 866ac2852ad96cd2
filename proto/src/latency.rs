//! The latency buckets of the nodes' `archway_request_duration` and
//! `archway_integration_duration` histograms, in seconds: from 0.5 ms to
//! 30 s (the largest integration timeout). Shared so the control plane's
//! traffic charts read the nodes' buckets with the same bounds whatever
//! reports it hears first.

pub const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
