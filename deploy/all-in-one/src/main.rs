//! `archway`: the all-in-one developer mode. Starts a control plane (sled in
//! a local folder, admin API and UI), one data-plane node, and a small echo
//! backend; on first start it applies the example API so a first request
//! works at once.

mod echo;

use anyhow::Context;
use archway_control_plane::cli::{apply::describe, client::AdminClient};
use archway_control_plane::declarative::document::ApplyFile;
use archway_data_plane::node::{self, NodeConfig};
use archway_data_plane::pipeline::DEFAULT_MAX_PAYLOAD;
use archway_data_plane::telemetry::TelemetryConfig;
use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::TcpListener;

const EXAMPLE: &str = include_str!("../example-api.yaml");

#[derive(Debug, Parser)]
#[command(name = "archway", version, about)]
struct Args {
    /// Folder for the control plane's store and the node's saved snapshot.
    #[arg(long, default_value = "archway-data")]
    data_dir: PathBuf,
    /// Admin API (gRPC) and admin UI.
    #[arg(long, default_value = "127.0.0.1:7070")]
    admin_listen: String,
    /// API traffic.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// The node's admin endpoints: /metrics, /ready, /healthz.
    #[arg(long, default_value = "127.0.0.1:9901")]
    node_admin_listen: String,
    /// The built-in echo backend the example API proxies to.
    #[arg(long, default_value = "127.0.0.1:8081")]
    echo_listen: String,
    #[arg(long, default_value = "execute-api.localhost")]
    domain: String,
}

async fn bind(addr: &str, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the {what} to {addr} (is another Archway running?)"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    archway_control_plane::telemetry::init_logging();
    let args = Args::parse();
    let admin = bind(&args.admin_listen, "admin API").await?;
    let gateway = bind(&args.listen, "gateway").await?;
    let echo = bind(&args.echo_listen, "echo backend").await?;
    let node_admin = bind(&args.node_admin_listen, "node admin").await?;
    let node_admin_addr = node_admin.local_addr()?;
    let admin_addr = admin.local_addr()?;
    let gateway_addr = gateway.local_addr()?;
    let echo_addr = echo.local_addr()?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    let cp_dir_for_server = args.data_dir.join("control-plane");
    // Exports and SDKs name a stage's URL on this node's domain and port.
    let public_domain = format!("{}:{}", args.domain, gateway_addr.port());
    let control_plane = tokio::spawn({
        let stop = stopped(stop_rx.clone());
        async move {
            let telemetry = archway_control_plane::telemetry::TelemetryConfig::default();
            let bootstrap = archway_control_plane::server::BootstrapTokens::default();
            let options = archway_control_plane::server::ServeOptions {
                bootstrap,
                public_domain,
                ..Default::default()
            };
            archway_control_plane::server::serve(
                admin,
                &cp_dir_for_server,
                &telemetry,
                options,
                stop,
            )
            .await
        }
    });
    tokio::spawn(echo::serve(echo));

    let admin_url = format!("http://{admin_addr}");
    let cp_dir = args.data_dir.join("control-plane");
    let admin_token = read_token(&cp_dir.join("admin-token")).await?;
    let node_token = read_token(&cp_dir.join("node-token")).await?;
    apply_example(&admin_url, &admin_token, &echo_addr.to_string()).await?;

    let node_config = NodeConfig {
        control_planes: vec![admin_url.clone()],
        node_id: Some("all-in-one".into()),
        domain: args.domain.clone(),
        state_dir: Some(args.data_dir.join("node")),
        max_payload: DEFAULT_MAX_PAYLOAD,
        telemetry: TelemetryConfig {
            otlp_endpoint: None,
            sample_ratio: 0.0,
            service_name: "archway-data-plane",
            metrics: true,
        },
        redis_url: None,
        default_throttle: None,
        usage_report_interval: std::time::Duration::from_secs(10),
        traffic_report_interval: archway_data_plane::telemetry::traffic::DEFAULT_INTERVAL,
        token: Some(node_token),
        private_cidrs: Vec::new(),
        // Developer mode: a cleartext listener; https:// backends are
        // checked against the operating system's roots.
        listener_tls: None,
        upstream_tls: None,
        control_plane_ca: None,
        max_connections: node::DEFAULT_MAX_CONNECTIONS,
        upstream_keepalive: archway_data_plane::upstream::DEFAULT_KEEPALIVE,
        adopt_store: None,
        seal_key: None,
        header_read_timeout: archway_data_plane::server::DEFAULT_HEADER_READ_TIMEOUT,
        passthrough_idle_timeout: archway_data_plane::tunnel::DEFAULT_IDLE_TIMEOUT,
        aws: node::AwsNodeSettings {
            environment_credentials: true,
            ..Default::default()
        },
        websocket: Default::default(),
    };
    let node = tokio::spawn(node::run(
        node_config,
        gateway,
        Some(node_admin),
        stopped(stop_rx.clone()),
    ));

    // The banner's commands work once the node serves the example API.
    if !wait_ready(node_admin_addr, Duration::from_secs(15)).await {
        eprintln!("the node is not ready yet; the first requests may get 403 until it is");
    }
    let port = gateway_addr.port();
    println!(
        "\nArchway is running.\n  admin API and UI  {admin_url}   (metrics: {admin_url}/metrics, with the admin token)\n  gateway           http://{gateway_addr}\n  node metrics      http://{node_admin_addr}/metrics\n\nTry:\n  curl http://example.{domain}:{port}/dev/hello\n  curl http://example.{domain}:{port}/dev/echo/anything?x=1\n  (or: curl -H 'Host: example.{domain}' http://{gateway_addr}/dev/hello)\n\nPress Ctrl-C to stop.",
        domain = args.domain,
    );

    tokio::signal::ctrl_c().await?;
    let _ = stop_tx.send(true);
    node.await??;
    control_plane.await??;
    Ok(())
}

/// Polls the node's `/ready` (200 once it serves a configuration).
async fn wait_ready(admin: std::net::SocketAddr, within: Duration) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(admin).await {
            let request = b"GET /ready HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n";
            let mut answer = Vec::new();
            if stream.write_all(request).await.is_ok()
                && stream.read_to_end(&mut answer).await.is_ok()
                && answer.starts_with(b"HTTP/1.1 200")
            {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Applies the example API unless it exists already (the operator may have
/// changed it since).
async fn apply_example(admin_url: &str, token: &str, echo_addr: &str) -> anyhow::Result<()> {
    let mut client = connect(admin_url, token).await?;
    let exists = client
        .apis
        .get_rest_api(
            archway_control_plane::cli::client::proto::GetRestApiRequest {
                api_id: "example".into(),
            },
        )
        .await
        .is_ok();
    if exists {
        return Ok(());
    }
    let mut spec = ApplyFile::parse(EXAMPLE).context("parsing the example API")?;
    for stage in spec.apis.iter_mut().flat_map(|a| a.stages.iter_mut()) {
        stage.variables.insert("backend".into(), echo_addr.into());
    }
    // The server-side path, as `archwayctl apply` takes: one atomic write.
    let applied = client
        .config
        .apply_configuration(
            archway_control_plane::cli::client::proto::ApplyConfigurationRequest {
                document: spec.to_compact_json(),
                ..Default::default()
            },
        )
        .await
        .map_err(|s| anyhow::anyhow!("applying the example API: {}", s.message()))?
        .into_inner();
    for change in &applied.changes {
        tracing::info!("example API: {}", describe(change));
    }
    Ok(())
}

/// The control plane writes its first tokens while starting: wait for them.
async fn read_token(path: &std::path::Path) -> anyhow::Result<String> {
    for _ in 0..100 {
        if let Ok(token) = tokio::fs::read_to_string(path).await
            && !token.trim().is_empty()
        {
            return Ok(token.trim().to_owned());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("the control plane did not write {}", path.display())
}

async fn connect(admin_url: &str, token: &str) -> anyhow::Result<AdminClient> {
    let mut last = None;
    for _ in 0..50 {
        match AdminClient::connect(admin_url, Some(token)).await {
            Ok(client) => return Ok(client),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last.expect("at least one attempt"))
}
