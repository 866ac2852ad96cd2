//! `archway-control-plane`: the admin API and config distribution server.

use anyhow::Context;
use clap::Parser;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "archway-control-plane", version, about)]
struct Args {
    /// Address for the admin API, config distribution and the admin UI.
    /// Port 0 picks a free port; the chosen address is printed.
    #[arg(long, env = "ARCHWAY_LISTEN", default_value = "127.0.0.1:7070")]
    listen: String,
    /// Where the sled store lives.
    #[arg(
        long,
        env = "ARCHWAY_DATA_DIR",
        default_value = "archway-data/control-plane"
    )]
    data_dir: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    archway_control_plane::telemetry::init_logging();
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    // Tests and scripts read this line to find the port.
    println!("archway-control-plane listening on http://{addr}");
    archway_control_plane::server::serve(listener, &args.data_dir, shutdown_signal()).await
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
