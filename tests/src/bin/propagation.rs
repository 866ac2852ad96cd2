//! Measures configuration propagation: from an admin write (a stage update)
//! to the ACK of every node, on loopback, with three real nodes.
//!
//! Run: `cargo run --release -p archway-e2e --bin propagation [-- ROUNDS]`
//!
//! Each round updates a stage variable through the gRPC admin API, then
//! polls FleetService until all three nodes report the new version applied.
//! The figure includes the write's durable flush, distribution, compile and
//! swap on each node, and the ACK's way back.

use archway_e2e::admin::mock;
use archway_e2e::{Admin, ControlPlane, DataPlane};
use archway_proto::v1::ApiProtocol;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(200);
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let nodes: Vec<DataPlane> = (0..3)
        .map(|i| {
            DataPlane::start(
                &cp.url(),
                &format!("n{i}"),
                &dir.path().join(format!("n{i}")),
                &[],
            )
        })
        .collect::<Result<_, _>>()?;
    let ids: Vec<&str> = nodes.iter().map(|n| n.node_id.as_str()).collect();
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin.create_api("prop", ApiProtocol::Rest).await?;
    admin.route(&api, "/x", "GET", mock(200, "x")).await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&ids).await?;

    let mut samples = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let mut stage = admin.stage(&api, "prod").await?;
        stage.variables.insert("round".into(), round.to_string());
        let started = Instant::now();
        admin.update_stage(stage).await?;
        loop {
            let (version, nodes) = admin.fleet_status().await?;
            let acked = nodes
                .iter()
                .filter(|n| n.applied_version >= version)
                .count();
            if acked == ids.len() {
                break;
            }
            if started.elapsed() > Duration::from_secs(10) {
                anyhow::bail!("round {round}: nodes did not ACK within 10 s: {nodes:?}");
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        samples.push(started.elapsed());
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p).ceil() as usize).saturating_sub(1)];
    println!(
        "admin write -> ACK from all {} nodes over {rounds} rounds: p50 {:.2?}  p90 {:.2?}  p99 {:.2?}  max {:.2?}",
        ids.len(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        samples[samples.len() - 1]
    );
    Ok(())
}
