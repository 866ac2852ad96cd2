//! A data-plane node: serves from its saved snapshot (if any) at once, follows
//! the control plane in the background, proxies traffic and serves its admin
//! endpoints until shutdown.

use crate::access_log::AccessLogSinks;
use crate::apply::ConfigApplier;
use crate::client::{self, ClientConfig, ConnectionMetrics};
use crate::disk::{SEAL_KEY_FILE, SealKeySource, SnapshotFile};
use crate::limits::Limits;
use crate::limits::redis_store::RedisLimits;
use crate::limits::usage::UsageRecorder;
use crate::limits::{Limiter, counters_file};
use crate::pipeline::Gateway;
use crate::stage_cache::StageCaches;
use crate::store_guard::StoreGuard;
use crate::tables::Throttle;
use crate::tables::{RuntimeTables, SharedTables};
use crate::telemetry::traffic::TrafficSource;
use crate::telemetry::{Telemetry, TelemetryConfig};
use crate::websocket::fleet::Fleet;
use crate::websocket::registry::Connections;
use crate::websocket::relay::Relay;
use crate::{admin, server};
use anyhow::Context;
use arc_swap::ArcSwap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The control planes to follow, in the order to try them (see
    /// [`crate::control_planes`]).
    pub control_planes: Vec<String>,
    /// None: read from (or create in) the state directory.
    pub node_id: Option<String>,
    /// APIs answer at `{api-id}.{domain}`.
    pub domain: String,
    /// Where the last applied snapshot is kept; None keeps nothing on disk.
    pub state_dir: Option<PathBuf>,
    pub max_payload: usize,
    pub telemetry: TelemetryConfig,
    /// Shared limits in Redis (`redis://host:port`); None: per-node limits.
    pub redis_url: Option<String>,
    /// The node-wide bucket, like AWS's account-level throttle.
    pub default_throttle: Option<Throttle>,
    /// How often admitted keyed requests are reported to the control plane.
    pub usage_report_interval: Duration,
    /// How often the node reads its request metrics for the control
    /// plane's traffic charts (see [`crate::telemetry::traffic`]).
    pub traffic_report_interval: Duration,
    /// The token the control plane gave this node (role NODE).
    pub token: Option<String>,
    /// Clients from these networks may reach PRIVATE APIs on any listener.
    pub private_cidrs: Vec<ipnet::IpNet>,
    /// HTTPS on the API listeners, public and private (see
    /// [`crate::tls::server_config`]); None: HTTP/1.1 and h2c in the clear.
    pub listener_tls: Option<Arc<rustls::ServerConfig>>,
    /// What backends, JWKS and custom authorizers at `https://` URLs are
    /// checked against (see [`crate::tls::client_config`]); None: the
    /// operating system's roots.
    pub upstream_tls: Option<Arc<rustls::ClientConfig>>,
    /// PEM CA certificates trusted for an `https://` control plane, besides
    /// the operating system's roots.
    pub control_plane_ca: Option<String>,
    /// Open client connections at most, over all API listeners.
    pub max_connections: usize,
    /// How long idle backend connections are kept for reuse.
    pub upstream_keepalive: Duration,
    /// Take configurations from this store even though the node served
    /// another's (or they would empty it): the operator's word after a
    /// store was replaced on purpose. See [`crate::store_guard`].
    pub adopt_store: Option<String>,
    /// The key IAM secrets in the saved snapshot are sealed with; None:
    /// `seal.key` in the state directory, created on first start.
    pub seal_key: Option<SealKeySource>,
    /// How long a client may take over a request head, and a client
    /// connection go without starting a request.
    pub header_read_timeout: Duration,
    /// WebSocket pass-through tunnels with no byte either way for this long
    /// are closed (see [`crate::tunnel`]).
    pub passthrough_idle_timeout: Duration,
    /// Outbound AWS calls (function and service integrations).
    pub aws: AwsNodeSettings,
    /// WebSocket APIs' limits (message and frame size, idle timeout,
    /// connection duration, message rate).
    pub websocket: crate::websocket::settings::WebSocketSettings,
}

/// A node's settings for outbound AWS calls.
#[derive(Debug, Clone, Default)]
pub struct AwsNodeSettings {
    /// `--aws-endpoint` values: `SERVICE=URL`, or `URL` for every service.
    pub endpoints: Vec<String>,
    /// `--aws-region` (or `AWS_REGION`); None: us-east-1.
    pub region: Option<String>,
    /// Sign with the environment's `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (read once, at
    /// start) when an integration names no credentials.
    pub environment_credentials: bool,
}

/// The default cap on client connections: keep the process's file
/// descriptor limit above it (e.g. LimitNOFILE=65536 in the systemd unit).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// Where a node serves API traffic.
#[derive(Debug)]
pub struct Listeners {
    pub public: TcpListener,
    /// Every connection here may reach PRIVATE APIs.
    pub private: Option<TcpListener>,
}

impl From<TcpListener> for Listeners {
    fn from(public: TcpListener) -> Self {
        Self {
            public,
            private: None,
        }
    }
}

/// Runs the node until `shutdown` completes. `admin` serves `/metrics`,
/// `/ready` and `/healthz` when given.
pub async fn run(
    config: NodeConfig,
    listeners: impl Into<Listeners>,
    admin: Option<TcpListener>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let listeners = listeners.into();
    crate::control_planes::ControlPlanes::new(&config.control_planes)?;
    let node_id = match &config.node_id {
        Some(id) => id.clone(),
        None => stable_node_id(config.state_dir.as_ref())?,
    };
    let telemetry = Arc::new(Telemetry::init(&config.telemetry)?);
    let tables: SharedTables = Arc::new(ArcSwap::from_pointee(RuntimeTables::empty()));
    let _version_gauge = {
        let tables = tables.clone();
        telemetry
            .meter()
            .u64_observable_gauge("archway_config_version")
            .with_description("The configuration version this node serves")
            .with_callback(move |gauge| gauge.observe(tables.load().version(), &[]))
            .build()
    };
    let sinks = Arc::new(AccessLogSinks::new(
        telemetry.metrics.access_log_dropped.clone(),
    ));
    let disk = match &config.state_dir {
        Some(dir) => {
            let source = config
                .seal_key
                .clone()
                .unwrap_or_else(|| SealKeySource::File(dir.join(SEAL_KEY_FILE)));
            let seal = source.load().context("loading the seal key")?;
            Some(SnapshotFile::new(dir, Arc::new(seal)))
        }
        None => None,
    };
    let stage_caches = Arc::new(StageCaches::new(Some(telemetry.metrics.clone())));
    let mut applier = ConfigApplier::new(tables.clone(), disk, sinks)
        .with_guard(StoreGuard::new(config.adopt_store.clone()))
        .with_stage_caches(stage_caches.clone());
    match applier.restore_from_disk() {
        Ok(Some(version)) => tracing::info!(version, "serving the saved snapshot"),
        Ok(None) => tracing::info!("no saved snapshot; waiting for the control plane"),
        Err(e) => tracing::error!(error = %e, "ignoring the saved snapshot"),
    }
    tracing::info!(node = %node_id, control_planes = %config.control_planes.join(","), "node starting");
    let ready = applier.ready();
    let redis = match &config.redis_url {
        Some(url) => Some(RedisLimits::connect(url)?),
        None => None,
    };
    let fallbacks = telemetry
        .meter()
        .u64_counter("archway_limit_fallbacks")
        .with_description("Limit checks done locally because Redis could not be reached")
        .build();
    let limits = Arc::new(Limits {
        limiter: Limiter::new(redis, Some(fallbacks)),
        node_default: config.default_throttle,
        usage: UsageRecorder::default(),
    });
    if let Some(dir) = &config.state_dir {
        let today = archway_proto::quota::day_of(now_ms());
        limits
            .limiter
            .local()
            .restore_quota_counters(counters_file::load(dir, today));
    }
    let save_counters = {
        let (limits, dir) = (limits.clone(), config.state_dir.clone());
        move || {
            if let Some(dir) = &dir
                && let Err(e) = counters_file::save(dir, &limits.limiter.local().quota_counters())
            {
                tracing::warn!(error = %e, "saving quota counters");
            }
        }
    };
    let housekeeping = {
        let (limits, save_counters) = (limits.clone(), save_counters.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            let mut rounds = 0u32;
            loop {
                tick.tick().await;
                let save_counters = save_counters.clone();
                let _ = tokio::task::spawn_blocking(save_counters).await;
                rounds += 1;
                if rounds.is_multiple_of(6) {
                    limits
                        .limiter
                        .housekeeping(archway_proto::quota::day_of(now_ms()));
                }
            }
        })
    };
    // One source: the task's reports and the last one at shutdown carry
    // the same reporter.
    let traffic_source = TrafficSource::new(telemetry.clone(), &node_id);
    let (traffic, traffic_task) = traffic_source.clone().spawn(config.traffic_report_interval);
    let (stop_follower, follower_stop) = tokio::sync::watch::channel(false);
    let mut follower = tokio::spawn(client::run(
        ClientConfig {
            control_planes: config.control_planes.clone(),
            node_id,
            applies: Some(telemetry.metrics.config_applies.clone()),
            connection: Some(ConnectionMetrics::new(telemetry.meter())),
            usage: Some((limits.clone(), config.usage_report_interval)),
            traffic: Some((traffic_source, traffic)),
            token: config.token.clone(),
            ca_pem: config.control_plane_ca.clone(),
        },
        applier,
        follower_stop,
    ));
    let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    let admin_task = admin.map(|listener| {
        tokio::spawn(admin::serve(listener, telemetry.clone(), ready, async {
            let _ = admin_stopped.await;
        }))
    });

    let upstream_tls = config
        .upstream_tls
        .clone()
        .unwrap_or_else(crate::tls::default_client_config);
    let upstream = crate::upstream::Upstream::new(
        &upstream_tls,
        config.upstream_keepalive,
        crate::upstream::OutboundMetrics::new(telemetry.meter()),
    );
    let aws = crate::aws::AwsOutbound::new(
        upstream.clone(),
        crate::aws::endpoints::Endpoints::new(
            config.aws.endpoints.iter().map(String::as_str),
            config.aws.region.as_deref(),
        )
        .map_err(anyhow::Error::msg)?,
        config
            .aws
            .environment_credentials
            .then(|| {
                crate::aws::credentials::Credentials::from_env(|name| std::env::var(name).ok())
            })
            .flatten(),
    );
    let websocket = Arc::new(crate::websocket::WebSocketNode::new(
        tables.clone(),
        upstream.clone(),
        aws.clone(),
        limits.clone(),
        telemetry.meter(),
        config.websocket,
    ));
    let fleet = websocket_fleet(websocket.connections().clone(), config.redis_url.as_deref())?;
    let fleet_at_shutdown = fleet.clone();
    let gateway = Arc::new(
        Gateway::new(
            tables,
            &config.domain,
            config.max_payload,
            telemetry.clone(),
            limits,
            upstream,
        )
        .with_stage_caches(stage_caches)
        .with_aws(aws)
        .with_passthrough_idle_timeout(config.passthrough_idle_timeout)
        .with_websocket(websocket.clone())
        .with_connections_api(fleet),
    );
    let tunnels = gateway.tunnels().clone();
    let private_cidrs: Arc<[ipnet::IpNet]> = config.private_cidrs.clone().into();
    let connections = Arc::new(tokio::sync::Semaphore::new(config.max_connections.max(1)));
    let (stop_private, private_stopped) = tokio::sync::oneshot::channel::<()>();
    let private_task = listeners.private.map(|listener| {
        let privacy = server::Privacy {
            listener_is_private: true,
            private_cidrs: private_cidrs.clone(),
        };
        let tls = config.listener_tls.clone();
        tokio::spawn(server::serve(
            listener,
            gateway.clone(),
            privacy,
            tls,
            connections.clone(),
            config.header_read_timeout,
            async {
                let _ = private_stopped.await;
            },
        ))
    });
    let privacy = server::Privacy {
        listener_is_private: false,
        private_cidrs,
    };
    server::serve(
        listeners.public,
        gateway,
        privacy,
        config.listener_tls.clone(),
        connections,
        config.header_read_timeout,
        shutdown,
    )
    .await;
    let _ = stop_private.send(());
    if let Some(task) = private_task {
        let _ = task.await;
    }
    // Upgraded connections left hyper's drain when they upgraded. Both
    // kinds close at once: pass-through tunnels (the listeners told them
    // to close when the drain began; each gets `tunnel::CLOSE_GRACE`), and
    // WebSocket API connections (1001, then each calls its $disconnect,
    // bounded).
    let close_tunnels = async {
        tunnels.close_all();
        if tokio::time::timeout(crate::tunnel::CLOSE_GRACE * 2, tunnels.all_closed())
            .await
            .is_err()
        {
            tracing::warn!(
                open = tunnels.open(),
                "WebSocket pass-through tunnels still open at shutdown"
            );
        }
    };
    tokio::join!(close_tunnels, websocket.shutdown());
    // Its connections are closed: other nodes may answer 410 for them now.
    fleet_at_shutdown.withdraw().await;
    // Let the follower send the last usage report, briefly.
    let _ = stop_follower.send(true);
    if tokio::time::timeout(Duration::from_secs(2), &mut follower)
        .await
        .is_err()
    {
        follower.abort();
    }
    housekeeping.abort();
    traffic_task.abort();
    let _ = tokio::task::spawn_blocking(save_counters).await;
    let _ = stop_admin.send(());
    if let Some(task) = admin_task {
        let _ = task.await;
    }
    // The exporter's flush blocks: keep it off the async workers.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    Ok(())
}

/// This process's WebSocket connections (under a node tag fresh at each
/// start, so ids of an earlier run of this node name no live connection)
/// and, with Redis, the relay to the fleet's others for `@connections`.
fn websocket_fleet(
    connections: Arc<Connections>,
    redis_url: Option<&str>,
) -> anyhow::Result<Arc<Fleet>> {
    tracing::info!(tag = %connections.node(), "WebSocket connection ids start with this node tag");
    Ok(Arc::new(match redis_url {
        Some(url) => Fleet::with_relay(
            connections.clone(),
            Relay::start(url, connections).context("the Redis URL for @connections")?,
        ),
        None => Fleet::local(connections),
    }))
}

/// A node id that survives restarts: kept in `state_dir/node-id`.
fn stable_node_id(state_dir: Option<&PathBuf>) -> anyhow::Result<String> {
    let generated = || format!("node-{:08x}", fastrand::u32(..));
    let Some(dir) = state_dir else {
        return Ok(generated());
    };
    let path = dir.join("node-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        let id = id.trim();
        if !id.is_empty() {
            return Ok(id.to_owned());
        }
    }
    let id = generated();
    std::fs::create_dir_all(dir)?;
    std::fs::write(&path, &id)?;
    Ok(id)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
