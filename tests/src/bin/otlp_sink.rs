//! An OTLP/gRPC trace collector that keeps count and nothing else, for the
//! load script's telemetry-on run. Prints its address, then every 5 s the
//! number of spans received.

use archway_e2e::otlp::Collector;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let collector = Collector::start().await?;
    println!("otlp-sink listening on {}", collector.url());
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        eprintln!("otlp-sink: {} spans", collector.spans().len());
    }
}
