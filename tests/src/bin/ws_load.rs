//! Load for WebSocket APIs, run as its own process (the nodes it measures
//! keep their file descriptors and memory to themselves). Three
//! measurements, each printing one `RESULT name=value ...` line that
//! `deploy/bench/websocket.sh` reads:
//!
//! - `idle`: opens N connections to a node and holds them idle; the node's
//!   resident memory (VmRSS of `--node-pid`) before and after, per
//!   connection.
//! - `echo`: C connections each keep W messages in flight to a two-way
//!   route (`{"action":"echo"}`) for S seconds; answers per second.
//! - `cross`: a client on node A; `POST @connections` on node B (SigV4) to
//!   it, one at a time; the time from sending the POST until the client
//!   reads the message, p50/p99/max.
//!
//! Run: `ws_load MODE --name value ...` (see `usage()`); built by
//! `cargo build --release -p archway-e2e --bin ws_load`.

use anyhow::{Context, bail};
use archway_e2e::sigv4::{Signing, sign};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

fn usage() -> &'static str {
    "usage:
  ws_load idle  --node ADDR --host HOST --stage STAGE --connections N --node-pid PID [--settle-secs 3]
  ws_load echo  --node ADDR --host HOST --stage STAGE [--connections 50] [--window 8] [--seconds 10]
  ws_load cross --node-a ADDR --node-b ADDR --host HOST --stage STAGE --key KEY_ID --secret SECRET
                [--region us-east-1] [--samples 2000] [--warmup 100]"
}

/// `--name value` pairs.
struct Args(HashMap<String, String>);

impl Args {
    fn parse(rest: &[String]) -> anyhow::Result<Args> {
        let mut map = HashMap::new();
        let mut it = rest.iter();
        while let Some(name) = it.next() {
            let Some(name) = name.strip_prefix("--") else {
                bail!("expected --name, got {name:?}\n{}", usage());
            };
            let value = it
                .next()
                .with_context(|| format!("--{name} needs a value\n{}", usage()))?;
            map.insert(name.to_owned(), value.clone());
        }
        Ok(Args(map))
    }

    fn get(&self, name: &str) -> anyhow::Result<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .with_context(|| format!("--{name} is required\n{}", usage()))
    }

    fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> anyhow::Result<T>
    where
        T::Err: std::fmt::Display,
    {
        match self.0.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|e| anyhow::anyhow!("--{name} {v:?}: {e}")),
        }
    }
}

type Socket = WebSocketStream<TcpStream>;

/// Small buffers: ten thousand idle clients must not cost the load
/// generator gigabytes.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// One client of `host`'s `stage` on `node`.
async fn open(node: SocketAddr, host: &str, stage: &str) -> anyhow::Result<Socket> {
    let stream = TcpStream::connect(node).await?;
    stream.set_nodelay(true)?;
    let request = format!("ws://{host}:{}/{stage}", node.port()).into_client_request()?;
    let (socket, _) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(client_config())).await?;
    Ok(socket)
}

/// The next text or binary message (pings are answered by the library).
async fn next_data(socket: &mut Socket) -> anyhow::Result<Bytes> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(t))) => return Ok(Bytes::copy_from_slice(t.as_bytes())),
            Some(Ok(Message::Binary(b))) => return Ok(b),
            Some(Ok(Message::Close(frame))) => bail!("closed by the node: {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => bail!("the connection ended"),
        }
    }
}

fn vm_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS line")
}

async fn idle(args: &Args) -> anyhow::Result<()> {
    let node: SocketAddr = args.get("node")?.parse()?;
    let (host, stage) = (args.get("host")?.to_owned(), args.get("stage")?.to_owned());
    let n: usize = args.num("connections", 10_000)?;
    let pid: u32 = args.get("node-pid")?.parse()?;
    let settle = Duration::from_secs(args.num("settle-secs", 3)?);
    let before = vm_rss_kib(pid)?;
    let started = Instant::now();
    // Opened 256 at a time: a burst of thousands would only fill the
    // listen backlog.
    let mut sockets = Vec::with_capacity(n);
    let mut pending = tokio::task::JoinSet::new();
    let mut next = 0;
    while sockets.len() < n {
        while next < n && pending.len() < 256 {
            let (host, stage) = (host.clone(), stage.clone());
            pending.spawn(async move { open(node, &host, &stage).await });
            next += 1;
        }
        let opened = pending.join_next().await.context("a pending connect")???;
        sockets.push(opened);
    }
    let opening = started.elapsed();
    tokio::time::sleep(settle).await;
    let after = vm_rss_kib(pid)?;
    // Every connection is still open: each answers a ping.
    for socket in &mut sockets {
        socket.send(Message::Ping(Bytes::new())).await?;
    }
    let mut alive = 0;
    for socket in &mut sockets {
        let pong = tokio::time::timeout(Duration::from_secs(10), socket.next()).await;
        if matches!(pong, Ok(Some(Ok(Message::Pong(_))))) {
            alive += 1;
        }
    }
    let per_connection = (after.saturating_sub(before) * 1024) as f64 / n as f64;
    println!(
        "idle: {n} connections opened in {opening:.1?}, {alive} answered a ping; node RSS {before} KiB -> {after} KiB"
    );
    println!(
        "RESULT idle_connections={n} alive={alive} rss_before_kib={before} rss_after_kib={after} bytes_per_connection={per_connection:.0}"
    );
    if alive != n {
        bail!("{} connections did not answer a ping", n - alive);
    }
    Ok(())
}

async fn echo(args: &Args) -> anyhow::Result<()> {
    let node: SocketAddr = args.get("node")?.parse()?;
    let (host, stage) = (args.get("host")?, args.get("stage")?);
    let connections: usize = args.num("connections", 50)?;
    let window: usize = args.num("window", 8)?;
    let seconds: u64 = args.num("seconds", 10)?;
    let answered = Arc::new(AtomicU64::new(0));
    let mut sockets = Vec::with_capacity(connections);
    for _ in 0..connections {
        sockets.push(open(node, host, stage).await?);
    }
    let message = Message::text(r#"{"action":"echo","data":"0123456789abcdef"}"#);
    // A warm-up second, then the measured run.
    let warmup = Duration::from_secs(1);
    let run = Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for socket in sockets {
        let (answered, message) = (answered.clone(), message.clone());
        tasks.spawn(async move {
            let (mut tx, mut rx) = socket.split();
            for _ in 0..window {
                tx.send(message.clone()).await?;
            }
            let counting_from = started + warmup;
            let until = counting_from + run;
            while Instant::now() < until {
                match rx.next().await {
                    Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                        if Instant::now() >= counting_from {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        tx.send(message.clone()).await?;
                    }
                    Some(Ok(Message::Close(frame))) => bail!("closed by the node: {frame:?}"),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e.into()),
                    None => bail!("the connection ended"),
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let total = answered.load(Ordering::Relaxed);
    let per_second = total as f64 / run.as_secs_f64();
    println!(
        "echo: {connections} connections x {window} in flight for {seconds} s: {total} answers, {per_second:.0}/s"
    );
    println!(
        "RESULT echo_connections={connections} window={window} seconds={seconds} answers={total} answers_per_second={per_second:.0}"
    );
    Ok(())
}

async fn cross(args: &Args) -> anyhow::Result<()> {
    let node_a: SocketAddr = args.get("node-a")?.parse()?;
    let node_b: SocketAddr = args.get("node-b")?.parse()?;
    let (host, stage) = (args.get("host")?, args.get("stage")?);
    let (key, secret) = (args.get("key")?, args.get("secret")?);
    let region = args.0.get("region").map_or("us-east-1", String::as_str);
    let samples: usize = args.num("samples", 2000)?;
    let warmup: usize = args.num("warmup", 100)?;

    // The client on node A learns its id from AWS's answer to a message
    // no route takes.
    let mut client = open(node_a, host, stage).await?;
    client.send(Message::text(r#"{"action":"whoami"}"#)).await?;
    let answer: serde_json::Value = serde_json::from_slice(&next_data(&mut client).await?)?;
    let id = answer["connectionId"]
        .as_str()
        .with_context(|| format!("no connectionId in {answer}"))?
        .to_owned();

    let http: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let path = format!("/{stage}/@connections/{id}");
    let mut latencies = Vec::with_capacity(samples);
    for i in 0..warmup + samples {
        let body = format!("sample-{i}");
        let headers = sign(&Signing {
            key,
            secret,
            token: None,
            region,
            service: "execute-api",
            method: "POST",
            uri: &format!("http://{host}{path}"),
            headers: &[("host", host)],
            body: body.as_bytes(),
            time: SystemTime::now(),
        })?;
        let mut request =
            http::Request::post(format!("http://{node_b}{path}")).header("host", host);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        let request = request.body(Full::new(Bytes::from(body.clone())))?;
        let started = Instant::now();
        let response = http.request(request).await?;
        let status = response.status();
        let answer = response.into_body().collect().await?.to_bytes();
        if status != http::StatusCode::OK {
            bail!(
                "POST @connections answered {status}: {}",
                String::from_utf8_lossy(&answer)
            );
        }
        let received = tokio::time::timeout(Duration::from_secs(10), next_data(&mut client))
            .await
            .context("the client read nothing within 10 s")??;
        let elapsed = started.elapsed();
        if received != body.as_bytes() {
            bail!("the client read {received:?}, not {body:?}");
        }
        if i >= warmup {
            latencies.push(elapsed);
        }
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let (p50, p99, max) = (at(0.50), at(0.99), latencies[latencies.len() - 1]);
    println!(
        "cross: {samples} POSTs on node B to a client on node A: p50 {p50:.2?}, p99 {p99:.2?}, max {max:.2?}"
    );
    println!(
        "RESULT cross_samples={samples} p50_us={} p99_us={} max_us={}",
        p50.as_micros(),
        p99.as_micros(),
        max.as_micros()
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((mode, rest)) = argv.split_first() else {
        bail!("{}", usage());
    };
    let args = Args::parse(rest)?;
    // One worker thread: the client is pinned to one core by the script,
    // and a single-threaded runtime costs it the least there.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match mode.as_str() {
            "idle" => idle(&args).await,
            "echo" => echo(&args).await,
            "cross" => cross(&args).await,
            other => bail!("unknown mode {other:?}\n{}", usage()),
        }
    })
}
