//! `archway-data-plane`: one proxy node of the fleet.

use anyhow::Context;
use archway_data_plane::control_planes::ControlPlanes;
use archway_data_plane::disk::SealKeySource;
use archway_data_plane::node::{self, NodeConfig};
use archway_data_plane::pipeline::DEFAULT_MAX_PAYLOAD;
use archway_data_plane::tables::Throttle;
use archway_data_plane::telemetry::TelemetryConfig;
use archway_data_plane::telemetry::logging::{self, LogFormat};
use archway_data_plane::tls;
use archway_data_plane::websocket::settings as ws;
use clap::Parser;
use std::path::PathBuf;

/// mimalloc: the proxy allocates and frees small buffers on every request,
/// where it measured faster than the system allocator (see deploy/bench).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "archway-data-plane", version, about)]
struct Args {
    /// Address to serve API traffic on. Port 0 picks a free port; the chosen
    /// address is printed.
    #[arg(long, env = "ARCHWAY_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// The control plane's address, or several replicas' separated by
    /// commas: the node follows the first that works and moves to the next
    /// when its stream ends or goes silent.
    #[arg(
        long,
        env = "ARCHWAY_CONTROL_PLANE",
        default_value = "http://127.0.0.1:7070",
        value_delimiter = ','
    )]
    control_plane: Vec<String>,
    /// The node token the control plane issued (see its node-token file).
    #[arg(long, env = "ARCHWAY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// File holding the node token.
    #[arg(long, env = "ARCHWAY_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// This node's name in the fleet status (default: kept in the state dir).
    #[arg(long, env = "ARCHWAY_NODE_ID")]
    node_id: Option<String>,
    /// APIs answer at http://{api-id}.{domain}/{stage}/...
    #[arg(long, env = "ARCHWAY_DOMAIN", default_value = "execute-api.localhost")]
    domain: String,
    /// Where the last applied configuration is saved.
    #[arg(long, env = "ARCHWAY_STATE_DIR", default_value = "archway-data/node")]
    state_dir: PathBuf,
    /// Take the configuration of this store (its id is in the control
    /// plane's DATA_DIR/store-identity, and in this node's refusals) even
    /// though the node served another store's, or it holds no API. Without
    /// it a node refuses a replaced store and keeps serving.
    #[arg(long, env = "ARCHWAY_ADOPT_STORE")]
    adopt_store: Option<String>,
    /// The key (64 hex characters) that seals IAM secrets in the saved
    /// snapshot.
    #[arg(long, env = "ARCHWAY_SEAL_KEY", hide_env_values = true)]
    seal_key: Option<String>,
    /// A file holding the seal key, created (mode 0600) when missing;
    /// default STATE_DIR/seal.key. Keep it apart from the state dir (a
    /// secret mount) so a copy of the snapshot reveals no secret.
    #[arg(long, env = "ARCHWAY_SEAL_KEY_FILE", conflicts_with = "seal_key")]
    seal_key_file: Option<PathBuf>,
    /// Seconds an idle backend connection is kept for reuse (closed after
    /// 1 to 1.25 times that). Keep it below the backends' own idle timeout.
    #[arg(long, env = "ARCHWAY_UPSTREAM_KEEPALIVE_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    upstream_keepalive_secs: u64,
    /// Seconds a client has to send each request head (HTTP/1), and that a
    /// client connection (HTTP/1 or HTTP/2) may go without starting a
    /// request before it is closed: slow and silent clients cannot hold
    /// connections.
    #[arg(long, env = "ARCHWAY_HEADER_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_read_timeout_secs: u64,
    /// Seconds a WebSocket pass-through connection (an upgrade proxied on
    /// an HTTP_PROXY route) may go without a byte either way before it is
    /// closed; AWS closes idle WebSocket connections after 10 minutes.
    #[arg(long, env = "ARCHWAY_PASSTHROUGH_IDLE_TIMEOUT_SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    passthrough_idle_timeout_secs: u64,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "ARCHWAY_MAX_PAYLOAD_BYTES", default_value_t = DEFAULT_MAX_PAYLOAD)]
    max_payload_bytes: usize,
    /// A second listener for PRIVATE APIs (and all others): its clients
    /// count as private. Printed on a third line.
    #[arg(long, env = "ARCHWAY_PRIVATE_LISTEN")]
    private_listen: Option<String>,
    /// Clients from this network count as private on any listener
    /// (repeatable, or comma-separated in the environment).
    #[arg(
        long = "private-cidr",
        env = "ARCHWAY_PRIVATE_CIDRS",
        value_delimiter = ','
    )]
    private_cidrs: Vec<ipnet::IpNet>,
    /// Serve HTTPS (ALPN h2 and http/1.1) on the API listeners, public and
    /// private, with this PEM certificate chain (leaf first); needs
    /// --tls-key. Without it the listeners speak HTTP/1.1 and h2c.
    #[arg(long, env = "ARCHWAY_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "ARCHWAY_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Where outbound AWS calls (function and service integrations) go:
    /// `SERVICE=URL` for one service (`lambda=http://127.0.0.1:9001`), or
    /// `URL` for every service (an emulator serving all of them);
    /// repeatable. An integration's own endpoint_url comes first; without
    /// either, AWS's https://{service}.{region}.amazonaws.com.
    #[arg(
        long = "aws-endpoint",
        env = "ARCHWAY_AWS_ENDPOINTS",
        value_delimiter = ','
    )]
    aws_endpoints: Vec<String>,
    /// The region outbound AWS calls go to and are signed for when the
    /// integration's ARN names none.
    #[arg(long, env = "AWS_REGION")]
    aws_region: Option<String>,
    /// PEM CA certificates trusted for every https:// --control-plane,
    /// besides the operating system's roots.
    #[arg(long, env = "ARCHWAY_CONTROL_PLANE_CA_FILE")]
    control_plane_ca_file: Option<PathBuf>,
    /// PEM CA certificates trusted for https:// backends, JWKS and custom
    /// authorizers, besides the operating system's roots.
    #[arg(long, env = "ARCHWAY_UPSTREAM_CA_FILE")]
    upstream_ca_file: Option<PathBuf>,
    /// Open client connections at most, over the API listeners; at the cap
    /// new clients wait in the kernel's backlog.
    #[arg(long, env = "ARCHWAY_MAX_CONNECTIONS", default_value_t = node::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Admin endpoints (/metrics, /ready, /healthz). Port 0 picks a free
    /// port; the chosen address is printed on a second line.
    #[arg(long, env = "ARCHWAY_ADMIN_LISTEN", default_value = "127.0.0.1:9901")]
    admin_listen: String,
    /// OTLP/gRPC collector for traces, e.g. http://127.0.0.1:4317 (default:
    /// no traces).
    #[arg(long, env = "ARCHWAY_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
    /// Share of new traces sampled (0.0 to 1.0); a sampled caller's
    /// traceparent is always followed.
    #[arg(long, env = "ARCHWAY_TRACE_SAMPLE_RATIO", default_value_t = 0.01)]
    trace_sample_ratio: f64,
    /// Log level directive, e.g. info or archway_data_plane=debug (default:
    /// RUST_LOG, else info).
    #[arg(long, env = "ARCHWAY_LOG_LEVEL")]
    log_level: Option<String>,
    #[arg(long, env = "ARCHWAY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Redis for fleet-wide throttles and quotas, e.g. redis://127.0.0.1:6379
    /// (default: each node limits on its own).
    #[arg(long, env = "ARCHWAY_REDIS_URL")]
    redis_url: Option<String>,
    /// A node-wide throttle in requests per second, like AWS's account-level
    /// limit (default 0: none; a self-hosted node has no other tenants to
    /// protect, and a silent cap would surprise under load).
    #[arg(long, env = "ARCHWAY_DEFAULT_RATE_LIMIT", default_value_t = 0.0)]
    default_rate_limit: f64,
    /// The node-wide throttle's burst (with --default-rate-limit).
    #[arg(long, env = "ARCHWAY_DEFAULT_BURST_LIMIT", default_value_t = 5_000)]
    default_burst_limit: u32,
    /// How often usage is reported to the control plane, in milliseconds.
    #[arg(
        long,
        env = "ARCHWAY_USAGE_REPORT_INTERVAL_MS",
        default_value_t = 10_000
    )]
    usage_report_interval_ms: u64,
    /// How often the node reads its request metrics and reports what
    /// changed to the control plane's traffic charts, in milliseconds.
    #[arg(
        long,
        env = "ARCHWAY_TRAFFIC_REPORT_INTERVAL_MS",
        default_value_t = archway_data_plane::telemetry::traffic::DEFAULT_INTERVAL.as_millis() as u64
    )]
    traffic_report_interval_ms: u64,
    /// Record no metrics (for measuring what they cost; see deploy/bench).
    #[arg(long, hide = true)]
    no_metrics: bool,
    /// WebSocket APIs: the largest message a client may send, in bytes
    /// (AWS: 128 KB); over it the connection is closed with 1009.
    #[arg(long, env = "ARCHWAY_WEBSOCKET_MAX_MESSAGE_BYTES", default_value_t = ws::DEFAULT_MAX_MESSAGE, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=(16 << 20)))]
    websocket_max_message_bytes: usize,
    /// WebSocket APIs: the largest frame, in bytes (AWS: 32 KB).
    #[arg(long, env = "ARCHWAY_WEBSOCKET_MAX_FRAME_BYTES", default_value_t = ws::DEFAULT_MAX_FRAME, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=(16 << 20)))]
    websocket_max_frame_bytes: usize,
    /// WebSocket APIs: a connection with no message either way (pings
    /// count) for this long is closed with 1001 (AWS: 10 minutes).
    #[arg(long, env = "ARCHWAY_WEBSOCKET_IDLE_TIMEOUT_SECS", default_value_t = ws::DEFAULT_IDLE_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400))]
    websocket_idle_timeout_secs: u64,
    /// WebSocket APIs: a connection is closed with 1001 this long after it
    /// opened (AWS: 2 hours).
    #[arg(long, env = "ARCHWAY_WEBSOCKET_MAX_DURATION_SECS", default_value_t = ws::DEFAULT_MAX_DURATION.as_secs(), value_parser = clap::value_parser!(u64).range(1..=604_800))]
    websocket_max_duration_secs: u64,
    /// WebSocket APIs: messages per second one connection may send; over
    /// it (after the burst) the connection is closed with 1008.
    #[arg(long, env = "ARCHWAY_WEBSOCKET_MESSAGES_PER_SECOND", default_value_t = ws::DEFAULT_MESSAGES_PER_SECOND)]
    websocket_messages_per_second: f64,
    /// WebSocket APIs: the per-connection message bucket's burst.
    #[arg(long, env = "ARCHWAY_WEBSOCKET_MESSAGE_BURST", default_value_t = ws::DEFAULT_MESSAGE_BURST)]
    websocket_message_burst: u32,
    /// WebSocket APIs: how long one write to a client (a message or the
    /// close frame) may wait for it to read; a client that takes nothing for
    /// this long is dropped (1006) and its `$disconnect` called.
    #[arg(long, env = "ARCHWAY_WEBSOCKET_WRITE_TIMEOUT_SECS", default_value_t = ws::DEFAULT_WRITE_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3_600))]
    websocket_write_timeout_secs: u64,
    /// WebSocket APIs: bytes of `@connections` posts that may wait for one
    /// connection's client (an empty outbox takes one message of any size);
    /// beyond them a post gets 429.
    #[arg(long, env = "ARCHWAY_WEBSOCKET_OUTBOX_BYTES", default_value_t = ws::DEFAULT_OUTBOX_BYTES, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=(64 << 20)))]
    websocket_outbox_bytes: usize,
    /// WebSocket APIs: how long a `$disconnect` integration call may take
    /// (part of the shutdown's bound).
    #[arg(long, env = "ARCHWAY_WEBSOCKET_DISCONNECT_TIMEOUT_SECS", default_value_t = ws::DEFAULT_DISCONNECT_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=300))]
    websocket_disconnect_timeout_secs: u64,
    /// Proxy worker threads (default: the CPUs this process may use). With
    /// one, the node runs tokio's single-threaded scheduler, which skips the
    /// work-stealing machinery a lone worker has no use for.
    #[arg(long, env = "ARCHWAY_WORKER_THREADS")]
    worker_threads: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    logging::init(args.log_level.as_deref(), args.log_format);
    if !(0.0..=1.0).contains(&args.trace_sample_ratio) {
        anyhow::bail!("--trace-sample-ratio must be between 0.0 and 1.0");
    }
    let threads = args
        .worker_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let token = match (&args.token, &args.token_file) {
        (Some(token), _) => Some(token.clone()),
        (None, Some(file)) => Some(
            std::fs::read_to_string(file)
                .with_context(|| format!("reading the node token from {}", file.display()))?
                .trim()
                .to_owned(),
        ),
        (None, None) => None,
    };
    // Certificates and keys are read before any port opens, so a bad file
    // stops the node at once, naming it.
    let listener_tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls::server_config(cert, key)?),
        _ => None,
    };
    let upstream_tls = tls::client_config(args.upstream_ca_file.as_deref())?;
    // A bad address stops the node at once, naming it.
    ControlPlanes::new(&args.control_plane)?;
    let control_plane_ca = args
        .control_plane_ca_file
        .as_deref()
        .map(tls::read_ca_pem)
        .transpose()?;
    let scheme = if listener_tls.is_some() {
        "https"
    } else {
        "http"
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let admin = tokio::net::TcpListener::bind(&args.admin_listen)
        .await
        .with_context(|| format!("binding {}", args.admin_listen))?;
    // Tests and scripts read these lines to find the ports.
    println!(
        "archway-data-plane listening on {scheme}://{}",
        listener.local_addr()?
    );
    println!("archway-data-plane admin on http://{}", admin.local_addr()?);
    let private = match &args.private_listen {
        Some(addr) => {
            let private = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            println!(
                "archway-data-plane private listener on {scheme}://{}",
                private.local_addr()?
            );
            Some(private)
        }
        None => None,
    };
    let config = NodeConfig {
        control_planes: args.control_plane,
        node_id: args.node_id,
        domain: args.domain,
        state_dir: Some(args.state_dir),
        max_payload: args.max_payload_bytes,
        telemetry: TelemetryConfig {
            otlp_endpoint: args.otlp_endpoint,
            sample_ratio: args.trace_sample_ratio,
            service_name: "archway-data-plane",
            metrics: !args.no_metrics,
        },
        redis_url: args.redis_url,
        default_throttle: (args.default_rate_limit > 0.0).then_some(Throttle {
            rate: args.default_rate_limit,
            burst: args.default_burst_limit,
        }),
        usage_report_interval: std::time::Duration::from_millis(
            args.usage_report_interval_ms.max(100),
        ),
        traffic_report_interval: std::time::Duration::from_millis(
            args.traffic_report_interval_ms.max(100),
        ),
        token,
        private_cidrs: args.private_cidrs,
        listener_tls,
        upstream_tls: Some(upstream_tls),
        control_plane_ca,
        max_connections: args.max_connections,
        upstream_keepalive: std::time::Duration::from_secs(args.upstream_keepalive_secs),
        adopt_store: args.adopt_store,
        seal_key: match (args.seal_key, args.seal_key_file) {
            (Some(hex), _) => Some(SealKeySource::Hex(hex)),
            (None, Some(path)) => Some(SealKeySource::File(path)),
            (None, None) => None,
        },
        header_read_timeout: std::time::Duration::from_secs(args.header_read_timeout_secs),
        passthrough_idle_timeout: std::time::Duration::from_secs(
            args.passthrough_idle_timeout_secs,
        ),
        aws: node::AwsNodeSettings {
            endpoints: args.aws_endpoints,
            region: args.aws_region,
            environment_credentials: true,
        },
        websocket: ws::WebSocketSettings {
            max_message: args.websocket_max_message_bytes,
            max_frame: args.websocket_max_frame_bytes,
            idle_timeout: std::time::Duration::from_secs(args.websocket_idle_timeout_secs),
            max_duration: std::time::Duration::from_secs(args.websocket_max_duration_secs),
            messages_per_second: args.websocket_messages_per_second,
            message_burst: args.websocket_message_burst,
            write_timeout: std::time::Duration::from_secs(args.websocket_write_timeout_secs),
            outbox_bytes: args.websocket_outbox_bytes,
            disconnect_timeout: std::time::Duration::from_secs(
                args.websocket_disconnect_timeout_secs,
            ),
        },
    };
    let listeners = node::Listeners {
        public: listener,
        private,
    };
    node::run(config, listeners, Some(admin), shutdown_signal()).await
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}
