//! A data-plane node: serves from its saved snapshot (if any) at once, follows
//! the control plane in the background, and proxies traffic until shutdown.

use crate::apply::{ConfigApplier, SharedTables};
use crate::client::{self, ClientConfig};
use crate::disk::SnapshotFile;
use crate::pipeline::Gateway;
use crate::server;
use crate::tables::RuntimeTables;
use arc_swap::ArcSwap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub control_plane: String,
    /// None: read from (or create in) the state directory.
    pub node_id: Option<String>,
    /// APIs answer at `{api-id}.{domain}`.
    pub domain: String,
    /// Where the last applied snapshot is kept; None keeps nothing on disk.
    pub state_dir: Option<PathBuf>,
    pub max_payload: usize,
}

pub async fn run(
    config: NodeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let node_id = match &config.node_id {
        Some(id) => id.clone(),
        None => stable_node_id(config.state_dir.as_ref())?,
    };
    let tables: SharedTables = Arc::new(ArcSwap::from_pointee(RuntimeTables::empty()));
    let mut applier = ConfigApplier::new(
        tables.clone(),
        config.state_dir.as_deref().map(SnapshotFile::new),
    );
    match applier.restore_from_disk() {
        Ok(Some(version)) => tracing::info!(version, "serving the saved snapshot"),
        Ok(None) => tracing::info!("no saved snapshot; waiting for the control plane"),
        Err(e) => tracing::error!(error = %e, "ignoring the saved snapshot"),
    }
    tracing::info!(node = %node_id, control_plane = %config.control_plane, "node starting");
    let follower = tokio::spawn(client::run(
        ClientConfig {
            control_plane: config.control_plane.clone(),
            node_id,
        },
        applier,
    ));
    let gateway = Arc::new(Gateway::new(tables, &config.domain, config.max_payload));
    server::serve(listener, gateway, shutdown).await;
    follower.abort();
    Ok(())
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
