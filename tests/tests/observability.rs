//! Operators see what the fleet does: request ids, traces that continue the
//! caller's trace through the gateway to the backend, Prometheus metrics on
//! every process, and per-stage access logs.

use archway_e2e::admin::{http_proxy, mock};
use archway_e2e::http_client::DOMAIN;
use archway_e2e::metrics::{sample, scrape};
use archway_e2e::otlp::{Collector, hex};
use archway_e2e::process::Process;
use archway_e2e::{Admin, ControlPlane, DataPlane, upstream};
use archway_proto::v1::{AccessLogSettings, ApiProtocol, UpdateStageRequest};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const UNSAMPLED_TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

/// Sends GET `path` with extra headers; returns status, headers and body.
async fn get(
    node: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> anyhow::Result<(u16, http::HeaderMap, String)> {
    let client = Client::builder(TokioExecutor::new()).build_http();
    let mut request = http::Request::builder()
        .uri(format!("http://{node}{path}"))
        .header("host", format!("obs.{DOMAIN}"));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = client
        .request(request.body(Full::new(Bytes::new()))?)
        .await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, headers, String::from_utf8_lossy(&body).into_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_metrics_and_access_logs() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let collector = Collector::start().await?;
    let backend = upstream::start("backend").await;
    let fast_export = [("OTEL_BSP_SCHEDULE_DELAY", "100")];
    let mut cp_env = archway_e2e::process::control_plane_env().to_vec();
    cp_env.extend(fast_export);
    let cp = ControlPlane {
        process: Process::spawn_with_env(
            "archway-control-plane",
            &[
                "--listen".into(),
                "127.0.0.1:0".into(),
                "--data-dir".into(),
                dir.path().join("cp").display().to_string(),
                "--otlp-endpoint".into(),
                collector.url(),
            ],
            1,
            &cp_env,
        )?,
        data_dir: dir.path().join("cp"),
    };
    let node = DataPlane::start_with_env(
        &cp.url(),
        "traced",
        &dir.path().join("n"),
        &[
            "--otlp-endpoint",
            &collector.url(),
            "--trace-sample-ratio",
            "1.0",
        ],
        &fast_export,
    )?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin.create_api("obs", ApiProtocol::Rest).await?;
    admin
        .route(
            &api,
            "/items/{id}",
            "GET",
            http_proxy(&format!("http://{}/items/{{id}}", backend.addr)),
        )
        .await?;
    admin.route(&api, "/ping", "GET", mock(200, "pong")).await?;
    admin.deploy(&api, "prod").await?;

    // An access log with every $context variable, one per field.
    let log_path = dir.path().join("logs/access.log");
    let names = archway_proto::access_log::variable_names().collect::<Vec<_>>();
    let format = names
        .iter()
        .map(|n| format!("{n}=$context.{n}"))
        .collect::<Vec<_>>()
        .join("\t");
    let mut stage = admin.stage(&api, "prod").await?;
    stage.access_log_settings = Some(AccessLogSettings {
        format,
        destination: format!("file:{}", log_path.display()),
    });
    admin.update_stage(stage.clone()).await?;
    admin.wait_converged(&["traced"]).await?;

    // 0. A caller that chose not to sample is not traced (even at ratio
    // 1.0): its traceparent reaches the backend untouched. Sent first, so
    // that a span wrongly made for it would be exported no later than the
    // sampled request's (checked in 2).
    let unsampled = format!("00-{UNSAMPLED_TRACE_ID}-{CLIENT_SPAN}-00");
    let (status, _, body) = get(
        node.addr(),
        "/prod/items/43",
        &[("traceparent", &unsampled)],
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let echo: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(echo["headers"]["traceparent"], unsampled.as_str());

    // 1. Request id and trace context.
    let traceparent = format!("00-{TRACE_ID}-{CLIENT_SPAN}-01");
    let (status, headers, body) = get(
        node.addr(),
        "/prod/items/42?x=1",
        &[
            ("traceparent", &traceparent),
            ("user-agent", "obs-test/1.0"),
        ],
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let request_id = headers["x-amzn-requestid"].to_str()?.to_owned();
    assert_eq!(request_id.len(), 36, "{request_id}");
    let echo: serde_json::Value = serde_json::from_str(&body)?;
    let forwarded = echo["headers"]["traceparent"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let parts: Vec<&str> = forwarded.split('-').collect();
    assert_eq!(parts.len(), 4, "the backend got a traceparent: {forwarded}");
    assert_eq!(parts[1], TRACE_ID, "same trace");
    assert_ne!(
        parts[2], CLIENT_SPAN,
        "the gateway's span is the backend's parent"
    );

    // 2. The span reached the collector with the client's trace id.
    let span = collector
        .wait_for("for the proxied request", |s| {
            s.service == "archway-data-plane" && s.trace_id() == TRACE_ID
        })
        .await?;
    assert!(
        collector
            .spans()
            .iter()
            .all(|s| s.trace_id() != UNSAMPLED_TRACE_ID),
        "the unsampled caller's request made no span"
    );
    assert_eq!(hex(&span.span.parent_span_id), CLIENT_SPAN);
    assert_eq!(hex(&span.span.span_id), parts[2]);
    assert_eq!(span.span.name, "GET /items/{id}");
    assert_eq!(span.attr("archway.api_id").as_deref(), Some("obs"));
    assert_eq!(span.attr("archway.stage").as_deref(), Some("prod"));
    assert_eq!(span.attr("http.route").as_deref(), Some("/items/{id}"));
    assert_eq!(span.attr("http.request.method").as_deref(), Some("GET"));
    assert_eq!(
        span.attr("http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(span.attr("archway.request_id"), Some(request_id.clone()));
    assert!(span.attr("archway.integration.latency_ms").is_some());
    let events: Vec<&str> = span.span.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        events,
        ["resolved", "route.matched", "integration.answered"]
    );

    // Admin calls are traced on the control plane.
    collector
        .wait_for("for CreateRestApi", |s| {
            s.service == "archway-control-plane"
                && s.span.name == "archway.v1.RestApiService/CreateRestApi"
                && s.attr("rpc.grpc.status_code").as_deref() == Some("0")
        })
        .await?;

    // 3. Metrics move as requests are sent.
    let labels = [
        ("api", "obs"),
        ("stage", "prod"),
        ("route", "/ping"),
        ("method", "GET"),
        ("status", "200"),
    ];
    let before = sample(
        &scrape(node.admin_addr()).await?,
        "archway_requests_total",
        &labels,
    )
    .unwrap_or(0.0);
    for _ in 0..5 {
        assert_eq!(get(node.addr(), "/prod/ping", &[]).await?.0, 200);
    }
    assert_eq!(get(node.addr(), "/prod/nowhere", &[]).await?.0, 403);
    let scraped = scrape(node.admin_addr()).await?;
    assert_eq!(
        sample(&scraped, "archway_requests_total", &labels),
        Some(before + 5.0)
    );
    assert_eq!(
        sample(
            &scraped,
            "archway_requests_total",
            &[("api", "obs"), ("route", "(none)"), ("status", "403")]
        ),
        Some(1.0),
        "unmatched paths share one label value"
    );
    assert!(
        sample(
            &scraped,
            "archway_request_duration_seconds",
            &[("route", "/ping")]
        )
        .is_some_and(|count| count >= 5.0)
    );
    assert!(
        sample(
            &scraped,
            "archway_integration_duration_seconds",
            &[("route", "/items/{id}")]
        )
        .is_some_and(|count| count >= 1.0)
    );
    let version = admin.wait_converged(&["traced"]).await?;
    assert_eq!(
        sample(&scraped, "archway_config_version", &[]),
        Some(version as f64)
    );
    // No raw path ever becomes a label value.
    for family in scraped.families.values() {
        for series in family.iter_samples() {
            let set = series.get_labelset().expect("a label set");
            assert!(
                !set.iter_values().any(|v| v.contains("42")),
                "a raw path leaked into {}",
                family.family_name
            );
        }
    }

    let cp_metrics = scrape(cp.process.addr).await?;
    assert_eq!(
        sample(&cp_metrics, "archway_connected_nodes", &[]),
        Some(1.0)
    );
    assert!(
        sample(
            &cp_metrics,
            "archway_admin_calls_total",
            &[
                ("method", "archway.v1.RestApiService/CreateRestApi"),
                ("code", "0")
            ]
        )
        .is_some_and(|n| n >= 1.0)
    );
    assert!(
        sample(
            &cp_metrics,
            "archway_config_push_to_ack_duration_seconds",
            &[]
        )
        .is_some_and(|n| n >= 1.0)
    );

    // 4. The access log has one line per request with every variable.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let first_line = loop {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        // Eight requests so far; the sampled one (step 1) is checked.
        if text.lines().count() >= 8 {
            let wanted = format!("requestId={request_id}\t");
            break text
                .lines()
                .find(|l| l.contains(&wanted))
                .unwrap_or_default()
                .to_owned();
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "access log: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let fields: HashMap<&str, &str> = first_line
        .split('\t')
        .filter_map(|f| f.split_once('='))
        .collect();
    let expect = |name: &str, value: &str| {
        assert_eq!(
            fields.get(name).copied(),
            Some(value),
            "{name} in {first_line}"
        );
    };
    expect("requestId", &request_id);
    expect("extendedRequestId", &request_id);
    expect("apiId", "obs");
    expect("stage", "prod");
    expect("domainName", &format!("obs.{DOMAIN}"));
    expect("httpMethod", "GET");
    expect("path", "/prod/items/42");
    expect("resourcePath", "/items/{id}");
    expect("protocol", "HTTP/1.1");
    expect("status", "200");
    expect("integrationStatus", "200");
    expect("identity.sourceIp", "127.0.0.1");
    expect("identity.userAgent", "obs-test/1.0");
    expect("traceId", TRACE_ID);
    expect("error.message", "-");
    expect("error.responseType", "-");
    for number in [
        "responseLength",
        "responseLatency",
        "integrationLatency",
        "requestTimeEpoch",
    ] {
        let value = fields.get(number).copied().unwrap_or("");
        assert!(
            value.parse::<u64>().is_ok(),
            "{number}={value} in {first_line}"
        );
    }
    let time = fields["requestTime"];
    assert!(
        time.ends_with(" +0000") && time.len() == 26,
        "requestTime={time}"
    );
    assert_eq!(
        fields.len(),
        names.len(),
        "every variable logged: {first_line}"
    );
    // The refused request is logged with its error.
    let text = std::fs::read_to_string(&log_path)?;
    let refused = text
        .lines()
        .find(|l| l.contains("status=403"))
        .expect("403 logged");
    assert!(
        refused.contains("error.responseType=MISSING_AUTHENTICATION_TOKEN"),
        "{refused}"
    );
    assert!(
        refused.contains("error.message=Missing Authentication Token"),
        "{refused}"
    );

    // 5. A bad format is refused by the admin API, naming the field.
    stage.access_log_settings = Some(AccessLogSettings {
        format: "$context.requestId $context.bogus".into(),
        destination: "stdout".into(),
    });
    let refused = admin
        .deployments
        .update_stage(UpdateStageRequest {
            stage: Some(stage),
            update_mask: None,
        })
        .await
        .expect_err("bad format");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused
            .message()
            .starts_with("stage.access_log_settings.format: unknown variable $context.bogus"),
        "{}",
        refused.message()
    );

    // Readiness: a node serving a configuration is ready.
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let ready = client
        .get(format!("http://{}/ready", node.admin_addr()).parse()?)
        .await?;
    assert_eq!(ready.status(), 200);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_configuration_is_not_ready() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // Nothing listens at this control plane address.
    let node = DataPlane::start("http://127.0.0.1:9", "lonely", &dir.path().join("n"), &[])?;
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let ready = client
        .get(format!("http://{}/ready", node.admin_addr()).parse()?)
        .await?;
    assert_eq!(ready.status(), 503);
    let health = client
        .get(format!("http://{}/healthz", node.admin_addr()).parse()?)
        .await?;
    assert_eq!(health.status(), 200);
    // Traffic still gets a request id, even when refused.
    let (status, headers, _) = get(node.addr(), "/prod/x", &[]).await?;
    assert_eq!(status, 403);
    assert!(headers.contains_key("x-amzn-requestid"));
    Ok(())
}

#[test]
fn logs_can_be_json_lines() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child =
        std::process::Command::new(archway_e2e::process::bin_dir().join("archway-data-plane"))
            .args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
            .args([
                "--control-plane",
                "http://127.0.0.1:9",
                "--log-format",
                "json",
            ])
            .arg("--state-dir")
            .arg(dir.path())
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().expect("a log line").unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let entry: serde_json::Value =
        serde_json::from_str(&first).unwrap_or_else(|e| panic!("not JSON ({e}): {first}"));
    assert_eq!(entry["level"], "INFO", "{first}");
    assert!(entry["message"].is_string(), "{first}");
    assert!(
        entry["target"]
            .as_str()
            .unwrap()
            .starts_with("archway_data_plane"),
        "{first}"
    );
}
