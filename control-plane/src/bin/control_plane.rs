//! `archway-control-plane`: the admin API and config distribution server.

use anyhow::Context;
use archway_control_plane::server::{
    FleetIdentity, MasterKeySource, ServeOptions, StoreChoice, TlsFiles,
};
use archway_control_plane::store::identity::OpenMode;
use archway_control_plane::telemetry::TelemetryConfig;
use clap::Parser;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "archway-control-plane", version, about)]
struct Args {
    /// Address for the admin API, config distribution and the admin UI.
    /// Port 0 picks a free port; the chosen address is printed.
    #[arg(long, env = "ARCHWAY_LISTEN", default_value = "127.0.0.1:7070")]
    listen: String,
    /// Keep the configuration in etcd instead of sled, shared by any number
    /// of control-plane replicas: etcd://HOST:PORT[,HOST:PORT...][/PREFIX]
    /// (default prefix /archway). Every replica needs the same master key
    /// (--master-key-file or ARCHWAY_MASTER_KEY).
    #[cfg(feature = "etcd")]
    #[arg(long, env = "ARCHWAY_STORE", value_name = "etcd://...")]
    store: Option<archway_control_plane::store::etcd::EtcdAddress>,
    /// Where the sled store lives (and, with --store, the default master
    /// key file and the first tokens' files).
    #[arg(
        long,
        env = "ARCHWAY_DATA_DIR",
        default_value = "archway-data/control-plane"
    )]
    data_dir: PathBuf,
    /// OTLP/gRPC collector for admin call spans, e.g. http://127.0.0.1:4317
    /// (default: no spans).
    #[arg(long, env = "ARCHWAY_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
    /// Share of admin calls traced (0.0 to 1.0) when the caller's context is
    /// not sampled already.
    #[arg(long, env = "ARCHWAY_TRACE_SAMPLE_RATIO", default_value_t = 1.0)]
    trace_sample_ratio: f64,
    /// Log level directive (default: RUST_LOG, else info).
    #[arg(long, env = "ARCHWAY_LOG_LEVEL")]
    log_level: Option<String>,
    /// The first admin token of a new store (at least 32 characters);
    /// default: generated and written to DATA_DIR/admin-token.
    #[arg(long, env = "ARCHWAY_BOOTSTRAP_ADMIN_TOKEN", hide_env_values = true)]
    bootstrap_admin_token: Option<String>,
    /// The first node token of a new store; default: generated and written
    /// to DATA_DIR/node-token.
    #[arg(long, env = "ARCHWAY_BOOTSTRAP_NODE_TOKEN", hide_env_values = true)]
    bootstrap_node_token: Option<String>,
    /// The region in ARNs and SigV4 credential scopes.
    #[arg(long, env = "ARCHWAY_REGION", default_value = "us-east-1")]
    region: String,
    /// The 12-digit account id in ARNs.
    #[arg(long, env = "ARCHWAY_ACCOUNT_ID", default_value = "000000000000")]
    account_id: String,
    /// The master key that seals IAM secrets, as 64 hex characters.
    #[arg(long, env = "ARCHWAY_MASTER_KEY", hide_env_values = true)]
    master_key: Option<String>,
    /// A file holding the master key (created when missing);
    /// default DATA_DIR/master.key. Keep it away from the data folder in
    /// production.
    #[arg(long, env = "ARCHWAY_MASTER_KEY_FILE", conflicts_with = "master_key")]
    master_key_file: Option<PathBuf>,
    /// Serve over TLS with this certificate chain (PEM, leaf first).
    #[arg(long, env = "ARCHWAY_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "ARCHWAY_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Log lines as JSON objects instead of text.
    #[arg(long, env = "ARCHWAY_LOG_JSON")]
    log_json: bool,
    /// Create a new, empty store where an earlier one was lost or damaged
    /// (the old folder is moved aside, never deleted). Without it the
    /// control plane refuses to start on a missing or damaged store; an
    /// empty data directory gets a new store either way. Nodes refuse the
    /// new store's configuration until told to adopt it.
    #[arg(long)]
    init: bool,
    /// Serve /metrics to anyone. Without this flag a scrape needs
    /// `authorization: Bearer <admin or read-only token>`, as every admin
    /// call does (health checks are always open).
    #[arg(long, env = "ARCHWAY_METRICS_WITHOUT_AUTH")]
    metrics_without_auth: bool,
    /// The domain the nodes serve stages under, as clients reach it (with
    /// the port when not 80): API exports and SDKs name a stage's URL as
    /// `http://{api_id}.{domain}/{stage}`.
    #[arg(
        long,
        env = "ARCHWAY_PUBLIC_DOMAIN",
        default_value = archway_control_plane::server::DEFAULT_PUBLIC_DOMAIN
    )]
    public_domain: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let store = store_choice(&args);
    archway_control_plane::telemetry::init_logging_with(args.log_level.as_deref(), args.log_json);
    if !(0.0..=1.0).contains(&args.trace_sample_ratio) {
        anyhow::bail!("--trace-sample-ratio must be between 0.0 and 1.0");
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if args.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let telemetry = TelemetryConfig {
        otlp_endpoint: args.otlp_endpoint,
        sample_ratio: args.trace_sample_ratio,
    };
    let bootstrap = archway_control_plane::server::BootstrapTokens {
        admin: args.bootstrap_admin_token,
        node: args.bootstrap_node_token,
    };
    let options = ServeOptions {
        bootstrap,
        identity: FleetIdentity {
            region: args.region,
            account_id: args.account_id,
        },
        master_key: match (args.master_key, args.master_key_file) {
            (Some(hex), _) => MasterKeySource::Hex(hex),
            (None, Some(path)) => MasterKeySource::File(path),
            (None, None) => MasterKeySource::Default,
        },
        open_mode: if args.init {
            OpenMode::Init
        } else {
            OpenMode::Existing
        },
        tls: match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => anyhow::bail!("--tls-cert and --tls-key go together"),
        },
        metrics_without_auth: args.metrics_without_auth,
        public_domain: args.public_domain,
        store,
    };
    archway_control_plane::server::serve_then(
        listener,
        &args.data_dir,
        &telemetry,
        options,
        shutdown_signal(),
        // Tests and scripts read this line to find the port, and then the
        // token files: it comes once those are written.
        move || println!("archway-control-plane listening on {scheme}://{addr}"),
    )
    .await
}

#[cfg(feature = "etcd")]
fn store_choice(args: &Args) -> StoreChoice {
    match &args.store {
        Some(address) => StoreChoice::Etcd(address.clone()),
        None => StoreChoice::Sled,
    }
}

#[cfg(not(feature = "etcd"))]
fn store_choice(_: &Args) -> StoreChoice {
    StoreChoice::Sled
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}
