//! The fleet's traffic as `FleetService.GetTraffic` shows it (the admin UI's
//! traffic charts) is the nodes' own Prometheus metrics: requests, 4xx and
//! 5xx per API stage sum to what `archway_requests_total` on the node's
//! `/metrics` says, latency quantiles come from its histogram, and a node
//! that restarts neither counts twice nor loses what it reported.

use archway_e2e::admin::{assert_invalid, http_proxy, mock};
use archway_e2e::http_client::GatewayClient;
use archway_e2e::metrics::{Scrape, scrape, sum};
use archway_e2e::{Admin, ControlPlane, DataPlane, upstream};
use archway_proto::v1::{ApiProtocol, GetTrafficRequest, GetTrafficResponse, TokenRole};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Nodes here read their metrics every 100 ms (5 s by default).
const REPORT_EVERY: &[&str] = &["--traffic-report-interval-ms", "100"];

struct Fleet {
    dir: tempfile::TempDir,
    cp: ControlPlane,
    _upstream: upstream::Upstream,
    node: DataPlane,
    admin: Admin,
    client: GatewayClient,
}

impl Fleet {
    /// A control plane, a node and an upstream; API `shop` with `/ping`
    /// (a mock), `/status/{code}` and `/slow/{ms}` (the upstream answers
    /// with that status, or after that long), deployed to `prod` and `beta`.
    async fn start() -> anyhow::Result<Self> {
        let (dir, cp, node, mut admin) = archway_e2e::started_with_node("n1", REPORT_EVERY).await?;
        let upstream = upstream::start("backend").await;
        let api = admin.create_api("shop", ApiProtocol::Rest).await?;
        admin.route(&api, "/ping", "GET", mock(200, "pong")).await?;
        for path in ["/status/{code}", "/slow/{ms}"] {
            let target = format!("http://{}{}", upstream.addr, path);
            admin.route(&api, path, "GET", http_proxy(&target)).await?;
        }
        admin.deploy(&api, "prod").await?;
        admin.deploy(&api, "beta").await?;
        admin.wait_converged(&["n1"]).await?;
        Ok(Self {
            dir,
            cp,
            _upstream: upstream,
            node,
            admin,
            client: GatewayClient::default(),
        })
    }

    /// Sends GET `path` to API `shop` `times` times, expecting `status`.
    async fn send(&self, path: &str, times: usize, status: u16) -> anyhow::Result<()> {
        for _ in 0..times {
            let answer = self.client.get(self.node.addr(), "shop", path).await?;
            assert_eq!(answer.status.as_u16(), status, "{path}: {}", answer.body);
        }
        Ok(())
    }

    async fn traffic(&self, api_id: &str, stage_name: &str) -> anyhow::Result<GetTrafficResponse> {
        Ok(self
            .admin
            .fleet
            .clone()
            .get_traffic(GetTrafficRequest {
                api_id: api_id.into(),
                stage_name: stage_name.into(),
                minutes: 0,
            })
            .await?
            .into_inner())
    }

    /// Polls GetTraffic (bounded) until `api_id`/`stage_name` shows
    /// `requests` in all; returns that answer.
    async fn wait_for(
        &self,
        api_id: &str,
        stage_name: &str,
        requests: u64,
    ) -> anyhow::Result<GetTrafficResponse> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let traffic = self.traffic(api_id, stage_name).await?;
            let seen = totals(&traffic).0;
            if seen == requests {
                return Ok(traffic);
            }
            anyhow::ensure!(
                seen < requests && Instant::now() < deadline,
                "{api_id}/{stage_name}: GetTraffic shows {seen} requests, expected {requests}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Where [`archway_e2e::started_with_node`] keeps node `n1`'s state.
fn node_dir(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("n1")
}

/// Requests, 4xx and 5xx summed over every point.
fn totals(traffic: &GetTrafficResponse) -> (u64, u64, u64) {
    traffic.points.iter().fold((0, 0, 0), |(r, c, s), p| {
        (r + p.requests, c + p.client_errors, s + p.server_errors)
    })
}

/// Requests, 4xx and 5xx of `shop`/`stage` on the node's own `/metrics`.
fn from_metrics(scraped: &Scrape, stage: &str) -> (u64, u64, u64) {
    let labels = [("api", "shop"), ("stage", stage)];
    let status_in = |range: std::ops::RangeInclusive<u16>| {
        move |set: &openmetrics_parser::LabelSet<'_>| {
            set.get_label_value("status")
                .and_then(|s| s.parse::<u16>().ok())
                .is_some_and(|s| range.contains(&s))
        }
    };
    let count = |keep: &dyn Fn(&openmetrics_parser::LabelSet<'_>) -> bool| {
        sum(scraped, "archway_requests_total", &labels, keep) as u64
    };
    (
        count(&|_| true),
        count(&status_in(400..=499)),
        count(&status_in(500..=599)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_is_the_sum_of_the_nodes_metrics() -> anyhow::Result<()> {
    let fleet = Fleet::start().await?;
    fleet.send("/prod/ping", 12, 200).await?;
    fleet.send("/prod/status/404", 5, 404).await?;
    fleet.send("/prod/status/503", 3, 503).await?;
    // A path no route matches: refused by the gateway itself.
    fleet.send("/prod/nowhere", 2, 403).await?;
    fleet.send("/beta/ping", 4, 200).await?;
    // A host that is no API: no API stage, so in no chart.
    let stray = fleet.client.get(fleet.node.addr(), "nosuch", "/x").await?;
    assert!(stray.status.is_client_error(), "{stray:?}");

    let prod = fleet.wait_for("shop", "prod", 22).await?;
    let scraped = scrape(fleet.node.admin_addr()).await?;
    assert_eq!(totals(&prod), (22, 7, 3));
    assert_eq!(
        totals(&prod),
        from_metrics(&scraped, "prod"),
        "GetTraffic and the node's /metrics agree"
    );
    let beta = fleet.wait_for("shop", "beta", 4).await?;
    assert_eq!(totals(&beta), from_metrics(&scraped, "beta"));
    assert_eq!(totals(&fleet.wait_for("shop", "", 26).await?), (26, 7, 3));
    let all = fleet.wait_for("", "", 26).await?;
    assert_eq!(totals(&all), (26, 7, 3), "requests to no API are left out");

    // The shape the charts draw: 90 steps of 10 s, oldest first, the last
    // one in progress, empty steps present.
    assert_eq!(prod.step_seconds, 10);
    assert_eq!(prod.points.len(), 90);
    assert!(
        prod.points
            .windows(2)
            .all(|w| w[1].start_ms - w[0].start_ms == 10_000)
    );
    for point in &prod.points {
        assert_eq!(point.requests_per_second, point.requests as f64 / 10.0);
        if point.requests == 0 {
            assert_eq!((point.p50_seconds, point.p99_seconds), (None, None));
        } else {
            let (p50, p99) = (point.p50_seconds.unwrap(), point.p99_seconds.unwrap());
            assert!(0.0 < p50 && p50 <= p99, "{point:?}");
        }
    }
    // Every stage with traffic, whichever was asked for.
    let stages: Vec<_> = all
        .stages
        .iter()
        .map(|s| (s.api_id.as_str(), s.stage_name.as_str(), s.requests))
        .collect();
    assert_eq!(stages, [("shop", "beta", 4), ("shop", "prod", 22)]);
    assert_eq!(fleet.traffic("shop", "beta").await?.stages, all.stages);
    Ok(())
}

/// Latency comes from the node's histogram: requests the upstream holds for
/// 300 ms fall in the (0.25 s, 0.5 s] bucket, so both quantiles are there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_quantiles_come_from_the_nodes_histogram() -> anyhow::Result<()> {
    let fleet = Fleet::start().await?;
    fleet.send("/beta/slow/300", 4, 200).await?;
    let beta = fleet.wait_for("shop", "beta", 4).await?;
    let busy: Vec<_> = beta.points.iter().filter(|p| p.requests > 0).collect();
    assert!(!busy.is_empty());
    for point in busy {
        for q in [point.p50_seconds, point.p99_seconds] {
            let q = q.expect("a quantile where there were requests");
            assert!(0.25 < q && q <= 0.5, "{point:?}");
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restart_neither_double_counts_nor_loses_what_was_reported() -> anyhow::Result<()> {
    let mut fleet = Fleet::start().await?;
    fleet.send("/prod/ping", 5, 200).await?;
    fleet.send("/prod/status/500", 1, 500).await?;
    fleet.wait_for("shop", "prod", 6).await?;

    // Requests just before a stop are counted: a stopping node reports
    // what it counted since its last report.
    fleet.send("/prod/ping", 2, 200).await?;
    fleet.node.process.terminate();
    fleet.node = DataPlane::start(&fleet.cp.url(), "n1", &node_dir(&fleet.dir), REPORT_EVERY)?;
    fleet.admin.wait_converged(&["n1"]).await?;
    fleet.send("/prod/ping", 3, 200).await?;
    fleet.send("/prod/status/404", 1, 404).await?;
    let after = fleet.wait_for("shop", "prod", 12).await?;
    assert_eq!(totals(&after), (12, 1, 1));
    // The new process's counters started over: its /metrics shows only
    // what it answered.
    let scraped = scrape(fleet.node.admin_addr()).await?;
    assert_eq!(from_metrics(&scraped, "prod"), (4, 1, 0));
    // Absence cannot be awaited: let the node report a few more times (its
    // reminders and a new stream's first report repeat the same counts).
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(totals(&fleet.traffic("shop", "prod").await?), (12, 1, 1));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_traffic_refuses_what_it_cannot_answer() -> anyhow::Result<()> {
    let (_dir, _cp, admin) = archway_e2e::started().await?;
    let ask = |api_id: &str, stage_name: &str, minutes: u32| {
        let mut fleet = admin.fleet.clone();
        let request = GetTrafficRequest {
            api_id: api_id.into(),
            stage_name: stage_name.into(),
            minutes,
        };
        async move { fleet.get_traffic(request).await }
    };
    // The field also in BadRequest details, where the UI finds it to show
    // the message beside the field.
    let refused = ask("", "", 16).await.expect_err("16 minutes are not kept");
    let details =
        tonic_types::StatusExt::get_details_bad_request(&refused).expect("BadRequest details");
    assert_eq!(details.field_violations[0].field, "minutes");
    assert_invalid(ask("", "", 16).await, "minutes: 16 is more than");
    assert_invalid(ask("", "", u32::MAX).await, "minutes: ");
    assert_invalid(ask("Shop", "", 5).await, "api_id: ");
    assert_invalid(ask("shop", "pr od", 5).await, "stage_name: ");
    assert_invalid(ask("", "../prod", 5).await, "stage_name: ");
    // The label the nodes give requests that matched no stage.
    let none = ask("shop", "(none)", 5).await?.into_inner();
    assert_eq!(none.points.len(), 30);
    // Every minute from 1 to 15 is answered, 6 steps a minute; 0 is 15.
    for minutes in [1, 15, 0] {
        let answer = ask("", "", minutes).await?.into_inner();
        let expected = if minutes == 0 {
            90
        } else {
            minutes as usize * 6
        };
        assert_eq!(answer.points.len(), expected);
    }
    Ok(())
}

/// Traffic is for reading: a read-only token may ask, a node token may not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_tokens_see_traffic_and_node_tokens_do_not() -> anyhow::Result<()> {
    let (_dir, _cp, admin) = archway_e2e::started().await?;
    let reader = admin
        .with_new_token("charts", TokenRole::ReadOnly)
        .await?
        .client;
    let answer = reader
        .fleet
        .clone()
        .get_traffic(GetTrafficRequest::default())
        .await?;
    assert_eq!(answer.into_inner().points.len(), 90);
    let node = Admin::with_token(admin.channel.clone(), archway_e2e::TEST_NODE_TOKEN)?;
    let refused = node
        .fleet
        .clone()
        .get_traffic(GetTrafficRequest::default())
        .await
        .expect_err("a node token reads no traffic");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    Ok(())
}
