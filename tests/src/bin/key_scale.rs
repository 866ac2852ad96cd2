//! What a large key set costs the fleet: imports N keys (default 1,000,000)
//! through the admin API, then measures how long one more key takes to be
//! applied (ACKed) by a node, and the node's resident memory.
//!
//! Run: `cargo run --release -p archway-e2e --bin key_scale [-- N]`

use archway_e2e::{Admin, ControlPlane, DataPlane};
use archway_proto::v1::{CreateApiKeyRequest, ImportApiKeysRequest};
use std::time::Instant;

fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/statm"))
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |pages| pages * 4096.0 / (1024.0 * 1024.0))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(&cp.url(), "scale", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    admin.wait_converged(&["scale"]).await?;
    let pid = node.process.pid();
    let rss_before = rss_mib(pid);

    let started = Instant::now();
    let batch = 100_000;
    for start in (0..n).step_by(batch) {
        let rows: String = (start..(start + batch).min(n))
            .map(|i| format!("k{i},scalekey{i:020}xxxxx\n"))
            .collect();
        admin
            .plans
            .clone()
            .max_encoding_message_size(256 << 20)
            .max_decoding_message_size(256 << 20)
            .import_api_keys(ImportApiKeysRequest {
                csv: format!("name,key\n{rows}"),
            })
            .await?;
    }
    admin.wait_converged(&["scale"]).await?;
    let imported = started.elapsed();
    let rss_after = rss_mib(pid);

    let mut samples = Vec::new();
    let mut writes = Vec::new();
    for i in 0..5 {
        // Spaced out, as single key changes are: the previous version's
        // snapshot save (which runs after its ACK) has finished.
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let started = Instant::now();
        admin
            .plans
            .create_api_key(CreateApiKeyRequest {
                name: format!("one-more-{i}"),
                ..Default::default()
            })
            .await?;
        writes.push(started.elapsed());
        admin.wait_converged(&["scale"]).await?;
        samples.push(started.elapsed());
    }
    samples.sort();
    writes.sort();
    println!(
        "of which the durable admin write (CreateApiKey) took: median {:.0?}",
        writes[writes.len() / 2]
    );
    println!(
        "{n} keys: imported and applied in {imported:.1?}; node RSS {rss_before:.0} -> {rss_after:.0} MiB ({:.0} bytes per key); one more key to ACK: median {:.0?}, max {:.0?}",
        (rss_after - rss_before) * 1024.0 * 1024.0 / n as f64,
        samples[samples.len() / 2],
        samples[samples.len() - 1]
    );
    Ok(())
}
