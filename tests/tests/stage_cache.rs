//! The stage cache end to end: a control plane, two nodes and a backend
//! that counts its calls. Each case starts its own fleet from one fixture.

use archway_e2e::admin::http_proxy;
use archway_e2e::http_client::{Answer, DOMAIN, GatewayClient, fetch};
use archway_e2e::sigv4::{REGION, get_headers};
use archway_e2e::{Admin, ControlPlane, DataPlane, upstream};
use archway_proto::v1::*;
use http::StatusCode;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

const ACCOUNT: &str = "000000000000";
const API: &str = "cached";

struct Fleet {
    _dir: tempfile::TempDir,
    _cp: ControlPlane,
    /// Node b reaches the control plane through it, so a test can cut b
    /// off and let it back.
    relay: Relay,
    a: DataPlane,
    b: DataPlane,
    backend: upstream::Upstream,
    admin: Admin,
    api: RestApi,
    http: GatewayClient,
    log: std::path::PathBuf,
}

/// Unauthorized `max-age=0` strategies, one route each.
const STRATEGIES: [(&str, UnauthorizedCacheControlHeaderStrategy); 3] = [
    ("/fail", UnauthorizedCacheControlHeaderStrategy::FailWith403),
    (
        "/warn",
        UnauthorizedCacheControlHeaderStrategy::SucceedWithResponseHeader,
    ),
    (
        "/silent",
        UnauthorizedCacheControlHeaderStrategy::SucceedWithoutResponseHeader,
    ),
];

impl Fleet {
    /// Routes (all to the counting backend):
    /// - `GET /items/{id}`, keyed by the path's id, the query's `q` and the
    ///   `X-Tenant` header;
    /// - `GET /status/{code}` (the backend answers that status), keyed by code;
    /// - `GET /iam`, AWS_IAM: alice may invoke and invalidate, bob only invoke;
    /// - `GET /fail`, `/warn`, `/silent`, one per unauthorized strategy.
    ///
    /// Stage `prod` caches when `cached` (TTL 300 s) and logs
    /// `$context.cacheStatus $context.path` to a file.
    async fn start(cached: bool) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let backend = upstream::start("backend").await;
        let cp = ControlPlane::start(&dir.path().join("cp"))?;
        let relay = Relay::start(&cp.url()).await?;
        let a = DataPlane::start(&cp.url(), "a", &dir.path().join("a"), &[])?;
        let b = DataPlane::start(&relay.url(), "b", &dir.path().join("b"), &[])?;
        let mut admin = Admin::connect(&cp.url()).await?;
        let api = admin.create_api(API, ApiProtocol::Rest).await?;
        let to_backend = |path: &str, keys: &[&str]| Integration {
            cache_key_parameters: keys.iter().map(|k| k.to_string()).collect(),
            ..http_proxy(&format!("http://{}{path}", backend.addr))
        };
        admin
            .route(
                &api,
                "/items/{id}",
                "GET",
                to_backend(
                    "/items/{id}",
                    &[
                        "method.request.path.id",
                        "method.request.querystring.q",
                        "method.request.header.X-Tenant",
                    ],
                ),
            )
            .await?;
        admin
            .route(
                &api,
                "/status/{code}",
                "GET",
                to_backend("/status/{code}", &["method.request.path.code"]),
            )
            .await?;
        let iam = admin
            .route(&api, "/iam", "GET", to_backend("/iam", &[]))
            .await?;
        admin
            .apis
            .put_method(PutMethodRequest {
                method: Some(Method {
                    authorization_type: "AWS_IAM".into(),
                    ..iam
                }),
            })
            .await?;
        for (path, _) in STRATEGIES {
            admin
                .route(&api, path, "GET", to_backend(path, &[]))
                .await?;
        }
        let arn = format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:{API}/prod/GET/iam");
        let policy = |actions: &[&str]| {
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": actions, "Resource": arn}
            ]})
            .to_string()
        };
        admin
            .create_principal(
                "alice",
                PrincipalType::User,
                vec![policy(&[
                    "execute-api:Invoke",
                    "execute-api:InvalidateCache",
                ])],
            )
            .await?;
        admin
            .create_principal(
                "bob",
                PrincipalType::User,
                vec![policy(&["execute-api:Invoke"])],
            )
            .await?;
        admin.deploy(&api, "prod").await?;
        let log = dir.path().join("access.log");
        let mut stage = admin.stage(&api, "prod").await?;
        stage.access_log_settings = Some(AccessLogSettings {
            format: "$context.cacheStatus $context.path".into(),
            destination: format!("file:{}", log.display()),
        });
        stage.cache_cluster_enabled = cached;
        stage.method_cache_settings = STRATEGIES
            .iter()
            .map(|(path, strategy)| MethodCacheSetting {
                resource_path: path.to_string(),
                http_method: "GET".into(),
                caching_enabled: true,
                unauthorized_cache_control_header_strategy: *strategy as i32,
                ..Default::default()
            })
            .collect();
        admin.update_stage(stage).await?;
        admin.wait_converged(&["a", "b"]).await?;
        Ok(Self {
            _dir: dir,
            _cp: cp,
            relay,
            a,
            b,
            backend,
            admin,
            api,
            http: GatewayClient::default(),
            log,
        })
    }

    fn calls(&self) -> u64 {
        self.backend.hits.load(Ordering::Relaxed)
    }

    async fn get(
        &self,
        node: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Answer> {
        self.http
            .send_with_headers(node, API, "GET", path, bytes::Bytes::new(), headers)
            .await
    }

    /// Sends and says whether the backend was called, checking the answer
    /// is 200.
    async fn called(
        &self,
        node: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<bool> {
        let before = self.calls();
        let answer = self.get(node, path, headers).await?;
        anyhow::ensure!(
            answer.status == StatusCode::OK,
            "{path}: {} {}",
            answer.status,
            answer.body
        );
        Ok(self.calls() > before)
    }

    /// A GET of /prod/iam signed by `user`'s key.
    async fn signed(
        &self,
        key: &AccessKey,
        extra: &[(&str, &str)],
    ) -> anyhow::Result<(Answer, bool)> {
        let host = format!("{API}.{DOMAIN}");
        let signed = get_headers(key, &host, "/prod/iam", SystemTime::now());
        let mut headers: Vec<(&str, &str)> = signed
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        headers.extend_from_slice(extra);
        let before = self.calls();
        let answer = self.get(self.a.addr(), "/prod/iam", &headers).await?;
        Ok((answer, self.calls() > before))
    }

    async fn update_stage(&mut self, change: impl FnOnce(&mut Stage)) -> anyhow::Result<()> {
        let mut stage = self.admin.stage(&self.api, "prod").await?;
        change(&mut stage);
        self.admin.update_stage(stage).await?;
        self.admin.wait_converged(&["a", "b"]).await?;
        Ok(())
    }

    /// Waits (bounded) for the access log to hold `lines` lines.
    async fn log_lines(&self, lines: usize) -> anyhow::Result<Vec<String>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let found: Vec<String> = text.lines().map(str::to_owned).collect();
            if found.len() >= lines {
                return Ok(found);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the access log has {found:?}, expected {lines} lines"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

const MAX_AGE_0: (&str, &str) = ("cache-control", "max-age=0");

/// A TCP relay to the control plane that can be cut: while cut, it drops
/// the connections it carries and every new one.
struct Relay {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    /// Bumped on every cut: carried connections of an older one end.
    cuts: Arc<tokio::sync::watch::Sender<u64>>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(control_plane_url: &str) -> anyhow::Result<Self> {
        let target: SocketAddr = control_plane_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let open = Arc::new(AtomicBool::new(true));
        let cuts = Arc::new(tokio::sync::watch::channel(0u64).0);
        let task = {
            let (open, cuts) = (open.clone(), cuts.clone());
            tokio::spawn(async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if !open.load(Ordering::SeqCst) {
                        continue;
                    }
                    let mut cut = cuts.subscribe();
                    tokio::spawn(async move {
                        let Ok(mut server) = tokio::net::TcpStream::connect(target).await else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = cut.changed() => {}
                        }
                    });
                }
            })
        };
        Ok(Self {
            addr,
            open,
            cuts,
            task,
        })
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits (bounded) until the control plane sees node `id` disconnected.
async fn wait_disconnected(admin: &mut Admin, id: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, nodes) = admin.fleet_status().await?;
        if nodes.iter().any(|n| n.node_id == id && !n.connected) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "node {id} still connected: {nodes:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_get_is_served_without_the_backend_on_the_node_that_cached_it()
-> anyhow::Result<()> {
    let fleet = Fleet::start(true).await?;
    let (a, b) = (fleet.a.addr(), fleet.b.addr());
    assert!(
        fleet.called(a, "/prod/items/1", &[]).await?,
        "first: a miss"
    );
    let first = fleet.get(a, "/prod/items/1", &[]).await?;
    let again = fleet.calls();
    assert_eq!(first.status, StatusCode::OK);
    assert!(!fleet.called(a, "/prod/items/1", &[]).await?, "a hit");
    assert_eq!(fleet.calls(), again);
    // A hit answers the stored response, with its own request id.
    let hit = fleet.get(a, "/prod/items/1", &[]).await?;
    assert_eq!(hit.body, first.body);
    assert_ne!(
        hit.headers["x-amzn-requestid"],
        first.headers["x-amzn-requestid"]
    );
    // The other node has a cache of its own.
    assert!(fleet.called(b, "/prod/items/1", &[]).await?);
    assert!(!fleet.called(b, "/prod/items/1", &[]).await?);

    let lines = fleet.log_lines(3).await?;
    assert_eq!(
        lines[..3],
        [
            "MISS /prod/items/1",
            "HIT /prod/items/1",
            "HIT /prod/items/1"
        ]
    );

    let (status, metrics) = fetch(&format!("http://{}/metrics", fleet.a.admin_addr())).await?;
    assert_eq!(status, StatusCode::OK);
    let series = |name: &str| {
        metrics
            .lines()
            .find(|l| {
                l.starts_with(name) && l.contains("api=\"cached\"") && l.contains("stage=\"prod\"")
            })
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    assert_eq!(series("archway_cache_hits"), Some(3.0), "{metrics}");
    assert_eq!(series("archway_cache_misses"), Some(1.0), "{metrics}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_cache_key_parameters_miss_and_others_do_not() -> anyhow::Result<()> {
    let fleet = Fleet::start(true).await?;
    let a = fleet.a.addr();
    assert!(
        fleet
            .called(a, "/prod/items/1?q=x", &[("x-tenant", "t1")])
            .await?
    );
    assert!(
        !fleet
            .called(a, "/prod/items/1?q=x", &[("x-tenant", "t1")])
            .await?
    );
    // Not named as key parameters: the same entry.
    assert!(
        !fleet
            .called(
                a,
                "/prod/items/1?q=x&page=2",
                &[("x-tenant", "t1"), ("x-other", "y")]
            )
            .await?
    );
    // Each named parameter tells entries apart.
    assert!(
        fleet
            .called(a, "/prod/items/2?q=x", &[("x-tenant", "t1")])
            .await?
    );
    assert!(
        fleet
            .called(a, "/prod/items/1?q=y", &[("x-tenant", "t1")])
            .await?
    );
    assert!(
        fleet
            .called(a, "/prod/items/1?q=x", &[("x-tenant", "t2")])
            .await?
    );
    assert!(
        fleet
            .called(a, "/prod/items/1", &[("x-tenant", "t1")])
            .await?
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_responses_are_not_stored() -> anyhow::Result<()> {
    let fleet = Fleet::start(true).await?;
    let a = fleet.a.addr();
    for _ in 0..2 {
        let before = fleet.calls();
        let answer = fleet.get(a, "/prod/status/503", &[]).await?;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(fleet.calls(), before + 1, "every 503 reaches the backend");
    }
    assert!(fleet.called(a, "/prod/status/200", &[]).await?);
    assert!(!fleet.called(a, "/prod/status/200", &[]).await?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_zero_refetches_for_a_caller_allowed_to_invalidate() -> anyhow::Result<()> {
    let mut fleet = Fleet::start(true).await?;
    let alice = fleet.admin.access_key("alice").await?;
    let bob = fleet.admin.access_key("bob").await?;
    fleet.admin.wait_converged(&["a", "b"]).await?;
    let (answer, called) = fleet.signed(&bob, &[]).await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(called);
    // Bob may invoke but not invalidate: the stage default ignores his
    // max-age=0 with a Warning header.
    let (answer, called) = fleet.signed(&bob, &[MAX_AGE_0]).await?;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(!called, "bob's max-age=0 is ignored");
    assert!(
        answer.headers.contains_key("warning"),
        "{:?}",
        answer.headers
    );
    // Alice may: the backend is called and the entry replaced.
    let (answer, called) = fleet.signed(&alice, &[MAX_AGE_0]).await?;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(called, "alice refetches");
    assert!(!answer.headers.contains_key("warning"));
    let (_, called) = fleet.signed(&alice, &[]).await?;
    assert!(!called, "the refetched response is cached again");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_max_age_zero_follows_each_methods_strategy() -> anyhow::Result<()> {
    let fleet = Fleet::start(true).await?;
    let a = fleet.a.addr();
    for (path, strategy) in STRATEGIES {
        let path = format!("/prod{path}");
        assert!(fleet.called(a, &path, &[]).await?, "{path}: first a miss");
        let before = fleet.calls();
        let answer = fleet.get(a, &path, &[MAX_AGE_0]).await?;
        assert_eq!(fleet.calls(), before, "{path}: never refetched");
        let warned = answer.headers.contains_key("warning");
        match strategy {
            UnauthorizedCacheControlHeaderStrategy::FailWith403 => {
                assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}")
            }
            UnauthorizedCacheControlHeaderStrategy::SucceedWithResponseHeader => {
                assert_eq!(answer.status, StatusCode::OK, "{path}");
                assert!(warned, "{path}: {:?}", answer.headers);
            }
            _ => {
                assert_eq!(answer.status, StatusCode::OK, "{path}");
                assert!(!warned, "{path}: {:?}", answer.headers);
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_clears_both_nodes_without_a_redeploy() -> anyhow::Result<()> {
    let mut fleet = Fleet::start(true).await?;
    let deployment = fleet.admin.stage(&fleet.api, "prod").await?.deployment_id;
    for node in [fleet.a.addr(), fleet.b.addr()] {
        assert!(fleet.called(node, "/prod/items/1", &[]).await?);
        assert!(!fleet.called(node, "/prod/items/1", &[]).await?);
    }
    let flushed = fleet
        .admin
        .deployments
        .flush_stage_cache(GetStageRequest {
            api_id: API.into(),
            stage_name: "prod".into(),
        })
        .await?
        .into_inner();
    assert_eq!(flushed.cache_flush_generation, 1);
    assert_eq!(flushed.deployment_id, deployment, "no redeploy");
    fleet.admin.wait_converged(&["a", "b"]).await?;
    for node in [fleet.a.addr(), fleet.b.addr()] {
        assert!(fleet.called(node, "/prod/items/1", &[]).await?, "flushed");
        assert!(!fleet.called(node, "/prod/items/1", &[]).await?);
    }
    // A stage update does not undo the flush or flush again.
    fleet.update_stage(|s| s.cache_flush_generation = 0).await?;
    assert_eq!(
        fleet
            .admin
            .stage(&fleet.api, "prod")
            .await?
            .cache_flush_generation,
        1
    );
    assert!(!fleet.called(fleet.a.addr(), "/prod/items/1", &[]).await?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_during_a_flush_flushes_when_it_connects_again() -> anyhow::Result<()> {
    let mut fleet = Fleet::start(true).await?;
    let (a, b) = (fleet.a.addr(), fleet.b.addr());
    for node in [a, b] {
        assert!(fleet.called(node, "/prod/items/1", &[]).await?);
    }
    fleet.relay.cut();
    wait_disconnected(&mut fleet.admin, "b").await?;
    fleet
        .admin
        .deployments
        .flush_stage_cache(GetStageRequest {
            api_id: API.into(),
            stage_name: "prod".into(),
        })
        .await?;
    fleet.admin.wait_converged(&["a"]).await?;
    assert!(fleet.called(a, "/prod/items/1", &[]).await?, "a flushed");
    // b has not heard of the flush: it keeps serving what it has.
    assert!(!fleet.called(b, "/prod/items/1", &[]).await?);
    fleet.relay.restore();
    fleet.admin.wait_converged(&["a", "b"]).await?;
    assert!(
        fleet.called(b, "/prod/items/1", &[]).await?,
        "b flushed on return"
    );
    assert!(!fleet.called(b, "/prod/items/1", &[]).await?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redeploy_drops_entries_and_other_stage_changes_keep_them() -> anyhow::Result<()> {
    let mut fleet = Fleet::start(true).await?;
    let a = fleet.a.addr();
    assert!(fleet.called(a, "/prod/items/1", &[]).await?);
    // A stage change that keeps the deployment (a new variable) swaps the
    // tables but keeps the entries.
    fleet
        .update_stage(|s| {
            s.variables.insert("color".into(), "blue".into());
        })
        .await?;
    assert!(!fleet.called(a, "/prod/items/1", &[]).await?, "kept");
    // A redeploy, even of the same definition, starts afresh.
    fleet.admin.deploy(&fleet.api, "prod").await?;
    fleet.admin.wait_converged(&["a", "b"]).await?;
    assert!(fleet.called(a, "/prod/items/1", &[]).await?, "dropped");
    assert!(!fleet.called(a, "/prod/items/1", &[]).await?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_the_cache_on_and_off_needs_no_redeploy() -> anyhow::Result<()> {
    let mut fleet = Fleet::start(false).await?;
    let a = fleet.a.addr();
    assert!(fleet.called(a, "/prod/items/1", &[]).await?);
    assert!(
        fleet.called(a, "/prod/items/1", &[]).await?,
        "off: no cache"
    );
    fleet
        .update_stage(|s| s.cache_cluster_enabled = true)
        .await?;
    assert!(fleet.called(a, "/prod/items/1", &[]).await?);
    assert!(!fleet.called(a, "/prod/items/1", &[]).await?, "on at once");
    fleet
        .update_stage(|s| s.cache_cluster_enabled = false)
        .await?;
    assert!(fleet.called(a, "/prod/items/1", &[]).await?, "off at once");
    // Bad settings are refused with the field and the reason.
    let mut stage = fleet.admin.stage(&fleet.api, "prod").await?;
    stage.cache_cluster_size = "2".into();
    let refused = fleet.admin.update_stage(stage).await.unwrap_err();
    let status = refused
        .downcast_ref::<tonic::Status>()
        .expect("a gRPC status");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().starts_with("stage.cache_cluster_size:"),
        "{}",
        status.message()
    );
    Ok(())
}
