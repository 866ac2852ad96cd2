//! CORS of an HTTP API through a real control plane and node: the API's
//! CORS configuration (set through the gRPC API, deployed) answers
//! preflights at the gateway and adds headers to every answer. Checked on
//! the wire, then by a real browser (Debian's Chromium through
//! playwright-core, `admin-ui/e2e/cors.mjs`) on a page served from one
//! loopback origin fetching the gateway on another.

use archway_e2e::admin::mock;
use archway_e2e::http_client::{Answer, DOMAIN};
use archway_e2e::{Admin, ControlPlane, DataPlane, browser, serve};
use archway_proto::v1::{ApiProtocol, CorsConfiguration, CreateRestApiRequest, RestApi};
use bytes::Bytes;
use http::StatusCode;
use std::net::SocketAddr;

/// An HTTP API `web`: GET and PUT /items (MOCK), CORS for `allowed`.
async fn cors_api(admin: &mut Admin, allowed: &str) -> anyhow::Result<RestApi> {
    let api = admin
        .apis
        .create_rest_api(CreateRestApiRequest {
            id: "web".into(),
            name: "web".into(),
            protocol: ApiProtocol::Http as i32,
            cors_configuration: Some(CorsConfiguration {
                allow_origins: vec![allowed.into()],
                allow_methods: vec!["GET".into(), "PUT".into()],
                allow_headers: vec!["x-tenant".into(), "content-type".into()],
                expose_headers: vec!["x-backend".into()],
                max_age_seconds: Some(300),
                allow_credentials: true,
            }),
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut items = mock(200, "items");
    let m = items
        .mock
        .as_mut()
        .expect("mock() makes a MOCK integration");
    m.headers.insert("x-backend".into(), "1".into());
    // The API's configuration is the one answer: a backend's own CORS
    // headers never widen it.
    m.headers
        .insert("access-control-allow-origin".into(), "*".into());
    admin.route(&api, "/items", "GET", items).await?;
    admin
        .route(&api, "/items", "PUT", mock(200, "stored"))
        .await?;
    admin.deploy(&api, "prod").await?;
    Ok(api)
}

fn cors_headers(answer: &Answer) -> Vec<(String, String)> {
    answer
        .headers
        .iter()
        .filter(|(n, _)| n.as_str().starts_with("access-control-"))
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("?").to_owned()))
        .collect()
}

/// A control plane and a node serving the `web` API, converged.
async fn node_with_cors(
    allowed: &str,
) -> anyhow::Result<(tempfile::TempDir, ControlPlane, DataPlane)> {
    let (dir, cp, node, mut admin) = archway_e2e::started_with_node("cors-node", &[]).await?;
    cors_api(&mut admin, allowed).await?;
    admin.wait_converged(&["cors-node"]).await?;
    Ok((dir, cp, node))
}

const APP: &str = "http://app.test:8080";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflights_and_answers_on_the_wire() -> anyhow::Result<()> {
    let (_dir, _cp, node) = node_with_cors(APP).await?;

    // A preflight, answered before routing (there is no OPTIONS route).
    let preflight = node
        .send(
            "web",
            "OPTIONS",
            "/prod/items",
            &[
                ("origin", APP),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "x-tenant,content-type"),
            ],
            "",
        )
        .await?;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert_eq!(
        cors_headers(&preflight),
        [
            ("access-control-allow-origin".into(), APP.into()),
            ("access-control-allow-credentials".into(), "true".into()),
            ("access-control-allow-methods".into(), "GET,PUT".into()),
            (
                "access-control-allow-headers".into(),
                "x-tenant,content-type".into()
            ),
            ("access-control-max-age".into(), "300".into()),
        ]
    );
    // The answer, and a refusal, carry the API's headers, not the backend's.
    let answer = node
        .send("web", "GET", "/prod/items", &[("origin", APP)], "")
        .await?;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (StatusCode::OK, "items")
    );
    // One value only: the backend's `*` is neither kept beside it nor after it.
    let origins: Vec<_> = answer
        .headers
        .get_all("access-control-allow-origin")
        .iter()
        .collect();
    assert_eq!(origins, [APP]);
    assert_eq!(answer.headers["access-control-expose-headers"], "x-backend");
    assert_eq!(answer.headers["vary"], "Origin");
    let refused = node
        .send("web", "GET", "/prod/nowhere", &[("origin", APP)], "")
        .await?;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(refused.headers["access-control-allow-origin"], APP);

    // Ways around: none of these gets a CORS header.
    let verb = node
        .send(
            "web",
            "OPTIONS",
            "/prod/items",
            &[("origin", APP), ("access-control-request-method", "DELETE")],
            "",
        )
        .await?;
    assert_eq!(verb.status, StatusCode::NO_CONTENT);
    assert_eq!(cors_headers(&verb), []);
    for origin in [
        "http://app.test:8080/",
        "http://app.test:8080.evil.test",
        "null",
        "http://evil.test",
    ] {
        let answer = node
            .send("web", "GET", "/prod/items", &[("origin", origin)], "")
            .await?;
        assert_eq!(cors_headers(&answer), [], "{origin}");
    }
    let twice = node
        .send(
            "web",
            "GET",
            "/prod/items",
            &[("origin", APP), ("origin", "http://evil.test")],
            "",
        )
        .await?;
    assert_eq!(cors_headers(&twice), []);
    Ok(())
}

/// The page both origins load: the browser script fetches from it.
async fn page_server() -> SocketAddr {
    serve::spawn(None, |_request| async {
        http::Response::builder()
            .header("content-type", "text/html; charset=utf-8")
            .body(http_body_util::Full::new(Bytes::from_static(
                b"<!doctype html><html><head><title>cors</title></head><body>cors</body></html>",
            )))
            .expect("a page")
    })
    .await
}

/// A real browser: the allowed origin reads answers (simple, preflighted,
/// credentialed, a refusal); a verb or header not allowed and another
/// origin are refused by the browser itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_on_another_origin() -> anyhow::Result<()> {
    if !browser::available("CORS in a browser") {
        return Ok(());
    }
    let pages = page_server().await;
    let allowed = format!("http://127.0.0.1:{}", pages.port());
    let (_dir, _cp, node) = node_with_cors(&allowed).await?;
    let env = vec![
        ("ARCHWAY_ALLOWED_PAGE", format!("{allowed}/")),
        (
            "ARCHWAY_REFUSED_PAGE",
            format!("http://localhost:{}/", pages.port()),
        ),
        (
            "ARCHWAY_GATEWAY",
            format!("http://web.{DOMAIN}:{}/prod", node.addr().port()),
        ),
    ];
    tokio::task::spawn_blocking(move || browser::run_script("cors.mjs", "cors", &env)).await??;
    Ok(())
}
