//! The control-plane server: opens the store, then serves the admin API
//! (with reflection and health), config distribution and the admin web UI
//! on one listener. gRPC, gRPC-web (the UI's transport, [`crate::grpc_web`])
//! and plain HTTP share the port through axum's router. Every path but
//! health checks and the UI's files needs a token
//! ([`crate::auth::AccessPolicy`]); `/metrics` too, unless
//! `metrics_without_auth`.

use crate::api::configuration::Configuration;
use crate::api::deployments::Deployments;
use crate::api::fleet::Fleet;
use crate::api::iam::Iam;
use crate::api::openapi::OpenApis;
use crate::api::rest_apis::RestApis;
use crate::api::tokens::Tokens;
use crate::api::usage_plans::UsagePlans;
use crate::api::{ControlPlaneState, SharedState};
use crate::distribution::{Distribution, DistributionService};
use crate::fleet_status::FleetStatus;
use crate::secrets::MasterKey;
use crate::store::Store;
use crate::store::identity::OpenMode;
use crate::telemetry::{Telemetry, TelemetryConfig, observe_admin_call};
use anyhow::Context;
use archway_proto::v1::admin_token_service_server::AdminTokenServiceServer;
use archway_proto::v1::config_distribution_server::ConfigDistributionServer;
use archway_proto::v1::configuration_service_server::ConfigurationServiceServer;
use archway_proto::v1::deployment_service_server::DeploymentServiceServer;
use archway_proto::v1::fleet_service_server::FleetServiceServer;
use archway_proto::v1::iam_service_server::IamServiceServer;
use archway_proto::v1::open_api_service_server::OpenApiServiceServer;
use archway_proto::v1::rest_api_service_server::RestApiServiceServer;
use archway_proto::v1::usage_plan_service_server::UsagePlanServiceServer;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Largest message a node or admin client may receive: a full update holds
/// every served deployment.
const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// Opens the store under `data_dir` and serves on `listener` until `shutdown`
/// completes.
/// The first tokens of a new store; None: generate them.
#[derive(Debug, Clone, Default)]
pub struct BootstrapTokens {
    pub admin: Option<String>,
    pub node: Option<String>,
}

/// Where the fleet says it is: ARNs (`arn:aws:execute-api:{region}:{account}:…`)
/// and SigV4 credential scopes carry these, so policies and signing clients
/// written for AWS work unchanged.
#[derive(Debug, Clone)]
pub struct FleetIdentity {
    pub region: String,
    pub account_id: String,
}

impl Default for FleetIdentity {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
        }
    }
}

impl FleetIdentity {
    /// A region of lowercase letters, digits and '-'; an account of 12 digits.
    pub fn check(&self) -> anyhow::Result<()> {
        let region_ok = !self.region.is_empty()
            && self.region.len() <= 32
            && self
                .region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        anyhow::ensure!(
            region_ok,
            "region '{}': use 1 to 32 lowercase letters, digits or '-'",
            self.region
        );
        anyhow::ensure!(
            self.account_id.len() == 12 && self.account_id.bytes().all(|b| b.is_ascii_digit()),
            "account id '{}': use 12 digits",
            self.account_id
        );
        Ok(())
    }
}

/// Where the master key (which seals IAM secrets) comes from.
#[derive(Debug, Clone, Default)]
pub enum MasterKeySource {
    /// DATA_DIR/master.key, created on first start.
    #[default]
    Default,
    /// A file holding 64 hex characters, created when missing.
    File(std::path::PathBuf),
    /// 64 hex characters.
    Hex(String),
}

impl MasterKeySource {
    fn load(&self, data_dir: &Path) -> anyhow::Result<MasterKey> {
        match self {
            Self::Default => MasterKey::load_or_create(&data_dir.join("master.key")),
            Self::File(path) => MasterKey::load_or_create(path),
            Self::Hex(hex) => MasterKey::from_hex(hex),
        }
    }
}

/// How a control plane starts, beyond where it listens and keeps its data.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    pub bootstrap: BootstrapTokens,
    pub identity: FleetIdentity,
    pub master_key: MasterKeySource,
    /// Serve the admin API, config streams and UI over TLS.
    pub tls: Option<TlsFiles>,
    /// Whether a new store may be created where an earlier one was
    /// (`--init`); an empty data directory always gets one.
    pub open_mode: OpenMode,
    /// Serve `/metrics` without a token (`--metrics-without-auth`).
    pub metrics_without_auth: bool,
    /// The domain the fleet serves stages under, as clients call it
    /// (`--public-domain`); empty: [`DEFAULT_PUBLIC_DOMAIN`].
    pub public_domain: String,
    /// Where the configuration is kept.
    pub store: StoreChoice,
}

/// Where the configuration is kept (`--store`).
#[derive(Debug, Clone, Default)]
pub enum StoreChoice {
    /// sled in the data directory: one control plane.
    #[default]
    Sled,
    /// etcd: any number of replicas on one cluster.
    #[cfg(feature = "etcd")]
    Etcd(crate::store::etcd::EtcdAddress),
}

/// Where a node listens in development, by default.
pub const DEFAULT_PUBLIC_DOMAIN: &str = "execute-api.localhost:8080";

/// A certificate chain and its key, PEM.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

pub async fn serve(
    listener: TcpListener,
    data_dir: &Path,
    telemetry: &TelemetryConfig,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_then(listener, data_dir, telemetry, options, shutdown, || {}).await
}

/// [`serve`], calling `ready` once the store is open and the first tokens
/// are on disk, just before requests are taken. Scripts wait for what
/// `ready` prints and then read `node-token`: announcing earlier raced them.
pub async fn serve_then(
    listener: TcpListener,
    data_dir: &Path,
    telemetry: &TelemetryConfig,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
    ready: impl FnOnce(),
) -> anyhow::Result<()> {
    let ServeOptions {
        bootstrap,
        identity,
        master_key,
        tls,
        open_mode,
        metrics_without_auth,
        public_domain,
        store: store_choice,
    } = options;
    // A bad certificate is reported before anything starts.
    let tls = tls
        .map(|files| crate::tls::server_config(&files.cert, &files.key))
        .transpose()?;
    let opened = match &store_choice {
        StoreChoice::Sled => crate::store::identity::open(data_dir, open_mode).await?,
        #[cfg(feature = "etcd")]
        StoreChoice::Etcd(address) => {
            anyhow::ensure!(
                open_mode == OpenMode::Existing,
                "--init applies to a sled store in --data-dir; an etcd store is created by the first replica that finds its prefix empty"
            );
            crate::store::identity::open_etcd(address).await?
        }
    };
    tracing::info!(store = %opened.id, at = %opened.store.location(), created = opened.created, "store open");
    let store = opened.store;
    ensure_api_key_secret(&store).await?;
    identity.check()?;
    record_identity(&store, &identity).await?;
    let master = Arc::new(master_key.load(data_dir)?);
    check_master_key(&store, &master).await?;
    crate::auth::bootstrap(&store, data_dir, bootstrap.admin, bootstrap.node).await?;
    let telemetry = Arc::new(Telemetry::init(telemetry)?);
    let push_to_ack = telemetry
        .meter()
        .f64_histogram("archway_config_push_to_ack_duration")
        .with_unit("s")
        .with_description("Time from pushing a configuration version to a node to its ACK")
        .with_boundaries(vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ])
        .build();
    let fleet = Arc::new(FleetStatus::with_metrics(push_to_ack));
    let replica = format!(
        "{}-{}",
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default(),
        std::process::id()
    );
    let leadership = crate::leader::Leadership::on(&store, &replica);
    let usage = crate::usage::spawn_recorder(store.clone(), leadership);
    let updates_sent = telemetry
        .meter()
        .u64_counter("archway_config_updates_sent")
        .with_description(
            "Configuration updates sent to nodes, by kind: full (everything), delta (what changed), relabel (same content, new version)",
        )
        .build();
    let distribution = Arc::new(
        Distribution::new(&store, fleet.clone(), Some(usage), master.clone())?
            .count_updates(updates_sent),
    );
    let _gauges = {
        let (fleet, dist) = (fleet.clone(), distribution.clone());
        (
            telemetry
                .meter()
                .u64_observable_gauge("archway_connected_nodes")
                .with_description("Data-plane nodes with an open config stream")
                .with_callback(move |g| g.observe(fleet.connected_count(), &[]))
                .build(),
            telemetry
                .meter()
                .u64_observable_gauge("archway_config_version")
                .with_description("The configuration version the control plane serves")
                .with_callback(move |g| g.observe(dist.version(), &[]))
                .build(),
        )
    };
    // Publishes every version the store gets, including other replicas'
    // writes on a shared store.
    tokio::spawn(distribution.clone().follow(store.clone()));
    #[cfg(feature = "etcd")]
    let fleet_share = store
        .etcd()
        .map(|etcd| crate::fleet_share::FleetShare::start(etcd.clone(), &replica, fleet.clone()));
    let state: SharedState = Arc::new(ControlPlaneState {
        store,
        distribution: distribution.clone(),
        public_domain: if public_domain.is_empty() {
            DEFAULT_PUBLIC_DOMAIN.to_owned()
        } else {
            public_domain
        },
        #[cfg(feature = "etcd")]
        fleet_share,
    });

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<RestApiServiceServer<RestApis>>()
        .await;
    let (reflection_v1, reflection_v1alpha) = crate::reflection::services()?;

    let routes = tonic::service::Routes::new(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            RestApiServiceServer::new(RestApis::new(state.clone()))
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            DeploymentServiceServer::new(Deployments::new(state.clone()))
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            ConfigurationServiceServer::new(Configuration::new(state.clone()))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            OpenApiServiceServer::new(OpenApis::new(state.clone()))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(FleetServiceServer::new(Fleet::new(state.clone())))
        .add_service(IamServiceServer::new(Iam::new(state.clone(), master)))
        .add_service(AdminTokenServiceServer::new(Tokens::new(state.clone())))
        .add_service(
            UsagePlanServiceServer::new(UsagePlans::new(state.clone()))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            ConfigDistributionServer::new(DistributionService::new(distribution.clone()))
                .max_encoding_message_size(MAX_MESSAGE_BYTES)
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
        );
    let metrics_source = telemetry.clone();
    let serves_tls = tls.is_some();
    let router = routes
        .into_axum_router()
        .merge(crate::admin_ui::routes())
        .route(
            "/metrics",
            axum::routing::get(move || {
                let telemetry = metrics_source.clone();
                async move {
                    (
                        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                        telemetry.encode_metrics(),
                    )
                }
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            (
                state.store.clone(),
                crate::auth::AccessPolicy {
                    metrics_without_auth,
                },
            ),
            crate::auth::require_token,
        ))
        .layer(axum::middleware::from_fn_with_state(
            telemetry.clone(),
            observe_admin_call,
        ));
    // gRPC-web is translated outside the token check and the metrics, so
    // both treat it as the gRPC call it is.
    let router = crate::grpc_web::accept(router).layer(axum::middleware::map_response_with_state(
        crate::security_headers::Transport { tls: serves_tls },
        crate::security_headers::add,
    ));

    ready();
    // Node streams never end on their own: close them first, or the
    // graceful shutdown would wait on them forever.
    let shutdown = async move {
        shutdown.await;
        distribution.close();
    };
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let served = match tls {
        None => {
            axum::serve(listener, service)
                .with_graceful_shutdown(shutdown)
                .await
        }
        Some(config) => {
            use axum::serve::ListenerExt;
            // tap_io keeps the peer address available as ConnectInfo.
            let listener = crate::tls::TlsListener::new(listener, config)?.tap_io(|_| ());
            axum::serve(listener, service)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
    .context("serving the admin API");
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    served
}

/// Refuses to start with a master key that cannot open the store's
/// secrets: serving would silently break every IAM signature. The store
/// keeps a probe sealed under the first master key it saw, so a replica
/// given another key is refused even before any secret exists (replicas of
/// an etcd store each load their own key, and all must be the same).
async fn check_master_key(store: &Store, master: &MasterKey) -> anyhow::Result<()> {
    let keys = store
        .view()
        .scan::<archway_proto::v1::AccessKey>(crate::store::keys::ACCESS_KEYS)
        .context("reading access keys")?;
    if let Some(key) = keys.first() {
        master
            .open(&key.access_key_id, &key.sealed_secret)
            .context("the master key does not open the store's access keys (wrong --master-key-file or ARCHWAY_MASTER_KEY?)")?;
    }
    let probe = store
        .write(|txn| {
            match txn.get_raw(crate::store::keys::MASTER_KEY_PROBE)? {
                Some(sealed) => return Ok::<_, crate::store::StoreError>(Some(sealed)),
                None => txn.put_raw(
                    crate::store::keys::MASTER_KEY_PROBE,
                    &master.seal(MASTER_KEY_PROBE_CONTEXT, b"archway"),
                ),
            }
            Ok(None)
        })
        .await
        .context("recording the master key's probe")?
        .0;
    if let Some(sealed) = probe {
        master.open(MASTER_KEY_PROBE_CONTEXT, &sealed).context(
            "this master key is not the one the store's secrets are sealed with: every control plane of a store needs the same key (--master-key-file or ARCHWAY_MASTER_KEY)",
        )?;
    }
    Ok(())
}

/// What the master key's probe is sealed for.
const MASTER_KEY_PROBE_CONTEXT: &str = "master-key-probe";

/// Keeps the fleet identity in the store, where the snapshot reads it.
/// Writes only what changed: a restart with the same flags is no write, so
/// it publishes nothing new to the fleet.
async fn record_identity(store: &Store, identity: &FleetIdentity) -> anyhow::Result<()> {
    use crate::store::keys::{ACCOUNT_ID, REGION};
    store
        .write(|txn| {
            for (key, value) in [
                (REGION, &identity.region),
                (ACCOUNT_ID, &identity.account_id),
            ] {
                if txn.get_raw(key)?.as_deref() != Some(value.as_bytes()) {
                    txn.put_raw(key, value.as_bytes());
                }
            }
            Ok::<_, crate::store::StoreError>(())
        })
        .await
        .context("recording the region and account id")?;
    Ok(())
}

async fn ensure_api_key_secret(store: &Store) -> anyhow::Result<()> {
    store
        .write(|txn| {
            if txn.get_raw(crate::store::keys::API_KEY_SECRET)?.is_none() {
                txn.put_raw(
                    crate::store::keys::API_KEY_SECRET,
                    &crate::api_keys::new_secret(),
                );
            }
            Ok::<_, crate::store::StoreError>(())
        })
        .await
        .context("creating the API key secret")?;
    Ok(())
}
