//! The stage cache's own rules, without a listener: lookups, stores, the
//! capacity bound, TTLs and what a table swap keeps.

use super::*;
use archway_proto::v1::{MethodCacheSetting, Stage, UnauthorizedCacheControlHeaderStrategy};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use std::time::Duration;

fn stage(deployment: &str, generation: u64, settings: Vec<MethodCacheSetting>) -> Stage {
    Stage {
        deployment_id: deployment.into(),
        cache_cluster_enabled: true,
        cache_flush_generation: generation,
        method_cache_settings: settings,
        ..Default::default()
    }
}

fn config(stage: &Stage) -> StageCacheConfig {
    StageCacheConfig::compile(stage, ["/a"], [])
        .unwrap()
        .unwrap()
}

/// Responses are told apart by the query parameter `q`.
static BY_Q: std::sync::LazyLock<Box<[key::KeyParam]>> = std::sync::LazyLock::new(|| {
    key::compile(&["method.request.querystring.q".into()], "/a").unwrap()
});

fn query<'a>(config: &'a StageCacheConfig, headers: &'a HeaderMap, query: &'a str) -> Query<'a> {
    Query {
        api_id: "api",
        stage: "prod",
        config,
        key: KeySource {
            canary: false,
            route: 0,
            method: &Method::GET,
            params: &BY_Q,
            path_params: &[],
            query: Some(query),
            headers,
        },
    }
}

fn no() -> bool {
    false
}

/// Looks up and, on a miss, stores `body`; returns what the lookup said.
fn fetch(caches: &StageCaches, q: &Query<'_>, body: &'static str) -> &'static str {
    match caches.lookup(q, no) {
        Lookup::Off => "off",
        Lookup::Bypass => "bypass",
        Lookup::Refused => "refused",
        Lookup::Hit(_) => "hit",
        Lookup::Miss(ticket) => {
            ticket.store_whole(
                StatusCode::OK,
                &HeaderMap::new(),
                &Bytes::from_static(body.as_bytes()),
            );
            "miss"
        }
    }
}

#[test]
fn a_swap_keeps_entries_while_the_deployment_holds_and_drops_them_on_redeploy_or_flush() {
    let caches = StageCaches::default();
    let headers = HeaderMap::new();
    let v1 = config(&stage("d1", 0, vec![]));
    assert_eq!(
        fetch(&caches, &query(&v1, &headers, ""), "x"),
        "bypass",
        "before any reconcile"
    );
    caches.reconcile([("api", "prod", &v1)]);
    assert_eq!(fetch(&caches, &query(&v1, &headers, ""), "x"), "miss");
    assert_eq!(fetch(&caches, &query(&v1, &headers, ""), "x"), "hit");

    // A new version of the tables with the same deployment (say, a TTL or
    // a stage variable changed): the entries stay.
    let same = config(&Stage {
        cache_ttl_seconds: Some(60),
        ..stage("d1", 0, vec![])
    });
    caches.reconcile([("api", "prod", &same)]);
    assert_eq!(fetch(&caches, &query(&same, &headers, ""), "x"), "hit");

    // A redeploy: a fresh cache. Until the reconcile, requests of the new
    // tables bypass the old cache rather than read it.
    let redeployed = config(&stage("d2", 0, vec![]));
    assert_eq!(
        fetch(&caches, &query(&redeployed, &headers, ""), "x"),
        "bypass"
    );
    caches.reconcile([("api", "prod", &redeployed)]);
    assert_eq!(
        fetch(&caches, &query(&redeployed, &headers, ""), "x"),
        "miss"
    );
    assert_eq!(
        fetch(&caches, &query(&redeployed, &headers, ""), "x"),
        "hit"
    );

    // A flush: the same.
    let flushed = config(&stage("d2", 1, vec![]));
    caches.reconcile([("api", "prod", &flushed)]);
    assert_eq!(fetch(&caches, &query(&flushed, &headers, ""), "x"), "miss");

    // A stage that stops caching loses its cache.
    caches.reconcile([]);
    assert!(caches.stage("api", "prod").is_none());
}

#[test]
fn a_ticket_from_before_a_flush_stores_into_the_old_cache_only() {
    let caches = StageCaches::default();
    let headers = HeaderMap::new();
    let v1 = config(&stage("d1", 0, vec![]));
    caches.reconcile([("api", "prod", &v1)]);
    let Lookup::Miss(ticket) = caches.lookup(&query(&v1, &headers, ""), no) else {
        panic!("expected a miss");
    };
    let v2 = config(&stage("d1", 1, vec![]));
    caches.reconcile([("api", "prod", &v2)]);
    ticket.store_whole(
        StatusCode::OK,
        &HeaderMap::new(),
        &Bytes::from_static(b"old"),
    );
    assert_eq!(fetch(&caches, &query(&v2, &headers, ""), "new"), "miss");
}

#[test]
fn memory_never_grows_past_the_capacity() {
    let epoch = CacheEpoch {
        primary_deployment: "d".into(),
        canary_deployment: None,
        flush_generation: 0,
        capacity_bytes: 20_000,
    };
    let cache = Arc::new(StageCache::new(epoch, None, "api", "prod"));
    for i in 0..200u32 {
        let ticket = StoreTicket {
            cache: cache.clone(),
            key: i.to_le_bytes().into(),
            ttl: Duration::from_secs(60),
            status: CacheStatus::Miss,
            warn: false,
        };
        ticket.store_whole(
            StatusCode::OK,
            &HeaderMap::new(),
            &Bytes::from(vec![b'x'; 1000]),
        );
        assert!(
            cache.weighted_size() <= 20_000,
            "after {i} stores: {} bytes",
            cache.weighted_size()
        );
    }
    assert!(cache.entry_count() > 0, "something is kept");
}

#[test]
fn stale_entries_are_not_served() {
    let epoch = CacheEpoch {
        primary_deployment: "d".into(),
        canary_deployment: None,
        flush_generation: 0,
        capacity_bytes: 1_000_000,
    };
    let cache = Arc::new(StageCache::new(epoch, None, "api", "prod"));
    let ticket = StoreTicket {
        cache: cache.clone(),
        key: Box::from(&b"k"[..]),
        ttl: Duration::from_secs(30),
        status: CacheStatus::Miss,
        warn: false,
    };
    let before = Instant::now();
    ticket.store_whole(StatusCode::OK, &HeaderMap::new(), &Bytes::from_static(b"v"));
    let after = Instant::now();
    assert!(cache.get(b"k", after).is_some());
    assert!(cache.get(b"k", before + Duration::from_secs(29)).is_some());
    assert!(cache.get(b"k", after + Duration::from_secs(30)).is_none());
}

#[test]
fn only_complete_2xx_responses_without_cookies_are_stored() {
    let caches = StageCaches::default();
    let headers = HeaderMap::new();
    let c = config(&stage("d1", 0, vec![]));
    caches.reconcile([("api", "prod", &c)]);
    let miss = |q: &str| match caches.lookup(&query(&c, &headers, &format!("q={q}")), no) {
        Lookup::Miss(t) => t,
        other => panic!("expected a miss for {q}, got {other:?}"),
    };
    miss("404").store_whole(StatusCode::NOT_FOUND, &HeaderMap::new(), &Bytes::new());
    assert_eq!(fetch(&caches, &query(&c, &headers, "q=404"), "x"), "miss");
    let mut cookie = HeaderMap::new();
    cookie.insert(http::header::SET_COOKIE, "s=1".parse().unwrap());
    miss("cookie").store_whole(StatusCode::OK, &cookie, &Bytes::new());
    assert_eq!(
        fetch(&caches, &query(&c, &headers, "q=cookie"), "x"),
        "miss"
    );
    miss("ok").store_whole(StatusCode::NO_CONTENT, &HeaderMap::new(), &Bytes::new());
    assert_eq!(fetch(&caches, &query(&c, &headers, "q=ok"), "x"), "hit");
}

type Chunk = Result<http_body::Frame<Bytes>, std::io::Error>;
type Streamed = http_body_util::StreamBody<futures_util::stream::Iter<std::vec::IntoIter<Chunk>>>;

fn streamed(chunks: Vec<Chunk>) -> Streamed {
    http_body_util::StreamBody::new(futures_util::stream::iter(chunks))
}

#[tokio::test]
async fn a_streamed_body_is_passed_on_whole_and_stored_only_on_a_clean_end() {
    let caches = StageCaches::default();
    let headers = HeaderMap::new();
    let c = config(&stage("d1", 0, vec![]));
    caches.reconcile([("api", "prod", &c)]);
    let ticket = |q: &str| match caches.lookup(&query(&c, &headers, &format!("q={q}")), no) {
        Lookup::Miss(t) => t,
        other => panic!("expected a miss for {q}, got {other:?}"),
    };
    let data = |s: &'static str| Ok(http_body::Frame::data(Bytes::from_static(s.as_bytes())));

    let response = ticket("clean").store(Response::new(streamed(vec![data("he"), data("llo")])));
    let passed = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(passed, "hello");
    match caches.lookup(&query(&c, &headers, "q=clean"), no) {
        Lookup::Hit(hit) => {
            assert_eq!(hit.into_body().collect().await.unwrap().to_bytes(), "hello")
        }
        other => panic!("expected a hit, got {other:?}"),
    }

    let broken = vec![data("he"), Err(std::io::Error::other("backend reset"))];
    let response = ticket("broken").store(Response::new(streamed(broken)));
    assert!(response.into_body().collect().await.is_err());
    assert_eq!(
        fetch(&caches, &query(&c, &headers, "q=broken"), "x"),
        "miss"
    );

    let trailers = vec![data("he"), Ok(http_body::Frame::trailers(HeaderMap::new()))];
    let response = ticket("trailers").store(Response::new(streamed(trailers)));
    response.into_body().collect().await.unwrap();
    assert_eq!(
        fetch(&caches, &query(&c, &headers, "q=trailers"), "x"),
        "miss"
    );

    // Larger than one response may be: passed on, not kept.
    let big = vec![
        Ok(http_body::Frame::data(Bytes::from(vec![
            0;
            MAX_ENTRY_BYTES
        ]))),
        data("x"),
    ];
    let response = ticket("big").store(Response::new(streamed(big)));
    let passed = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(passed.len(), MAX_ENTRY_BYTES + 1);
    assert_eq!(fetch(&caches, &query(&c, &headers, "q=big"), "x"), "miss");

    // A client that goes away before the end stores nothing.
    let response = ticket("gone").store(Response::new(streamed(vec![data("he"), data("llo")])));
    drop(response);
    assert_eq!(fetch(&caches, &query(&c, &headers, "q=gone"), "x"), "miss");
}

use archway_proto::rules::stage_cache::MAX_ENTRY_BYTES;

#[test]
fn max_age_zero_refreshes_for_allowed_callers_and_follows_the_strategy_for_others() {
    let caches = StageCaches::default();
    let strategy = |s: UnauthorizedCacheControlHeaderStrategy| MethodCacheSetting {
        resource_path: "*".into(),
        http_method: "*".into(),
        caching_enabled: true,
        unauthorized_cache_control_header_strategy: s as i32,
        ..Default::default()
    };
    let mut refresh = HeaderMap::new();
    refresh.insert(http::header::CACHE_CONTROL, "max-age=0".parse().unwrap());
    let plain = HeaderMap::new();
    for (s, expected) in [
        (
            UnauthorizedCacheControlHeaderStrategy::FailWith403,
            "refused",
        ),
        (
            UnauthorizedCacheControlHeaderStrategy::SucceedWithResponseHeader,
            "warned",
        ),
        (
            UnauthorizedCacheControlHeaderStrategy::SucceedWithoutResponseHeader,
            "silent",
        ),
    ] {
        let c = config(&stage("d1", 0, vec![strategy(s)]));
        caches.reconcile([("api", "prod", &c)]);
        assert_eq!(fetch(&caches, &query(&c, &plain, ""), "x"), "miss");
        let unauthorized = match caches.lookup(&query(&c, &refresh, ""), || false) {
            Lookup::Refused => "refused",
            Lookup::Hit(r) if r.headers().contains_key(http::header::WARNING) => "warned",
            Lookup::Hit(_) => "silent",
            other => panic!("{other:?}"),
        };
        assert_eq!(unauthorized, expected, "{s:?}");
        match caches.lookup(&query(&c, &refresh, ""), || true) {
            Lookup::Miss(t) => assert_eq!(t.status(), CacheStatus::Refresh),
            other => panic!("an allowed caller refreshes: {other:?}"),
        }
        caches.reconcile([]);
    }
}
