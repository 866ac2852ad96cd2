//! Support for Archway's end-to-end tests: builds and starts the real
//! binaries on ephemeral loopback ports, talks to them through the real gRPC
//! admin API and real HTTP, and runs real upstreams in the test process.
//!
//! Set `ARCHWAY_TEST_LOGS=1` to see the processes' logs.

pub mod admin;
pub mod browser;
pub mod config_stream;
pub mod ctl;
pub mod etcd;
pub mod grpc_web;
pub mod http_client;
pub mod lambda;
pub mod metrics;
pub mod moto;
pub mod openapi;
pub mod otlp;
pub mod process;
pub mod redis;
pub mod serve;
pub mod sigv4;
pub mod tls;
pub mod tools;
pub mod upstream;

pub use admin::Admin;
pub use process::{ControlPlane, DataPlane};

/// The tokens every test control plane starts with (ARCHWAY_BOOTSTRAP_*).
pub const TEST_ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef-0123";
pub const TEST_NODE_TOKEN: &str = "test-node-token-0123456789abcdef-01234";

/// A loopback address nothing listens on (bound, then released), for tests
/// of unreachable backends.
pub fn unused_loopback_addr() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address")
}

/// Seconds since the Unix epoch: for token expiries and signing times.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// A process's output as text (lossy: a test prints what it got).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A control plane in a new temporary folder and an admin client for it:
/// the start of most tests. Keep the folder alive as long as the process.
pub async fn started() -> anyhow::Result<(tempfile::TempDir, ControlPlane, Admin)> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let admin = Admin::connect(&cp.url()).await?;
    Ok((dir, cp, admin))
}

/// As [`started`], with a node `node_id` following the control plane (its
/// state in the folder's `node_id` subfolder, `extra_args` on its command
/// line): the start of most tests that send traffic.
pub async fn started_with_node(
    node_id: &str,
    extra_args: &[&str],
) -> anyhow::Result<(tempfile::TempDir, ControlPlane, DataPlane, Admin)> {
    started_with_node_env(node_id, extra_args, &[]).await
}

/// As [`started_with_node`], the node's environment also holding `env`
/// (e.g. the AWS credentials it signs outbound calls with).
pub async fn started_with_node_env(
    node_id: &str,
    extra_args: &[&str],
    env: &[(&str, &str)],
) -> anyhow::Result<(tempfile::TempDir, ControlPlane, DataPlane, Admin)> {
    let (dir, cp, admin) = started().await?;
    let node = DataPlane::start_with_env(
        &cp.url(),
        node_id,
        &dir.path().join(node_id),
        extra_args,
        env,
    )?;
    Ok((dir, cp, node, admin))
}
