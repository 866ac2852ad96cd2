//! Requests through two real nodes reach a real upstream, routed as AWS
//! routes them, with the gateway's own answers where AWS gives them.

use archway_e2e::admin::{http_proxy, mock};
use archway_e2e::http_client::GatewayClient;
use archway_e2e::{Admin, ControlPlane, DataPlane, upstream};
use archway_proto::v1::ApiProtocol;
use http::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_route_and_proxy_like_aws() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let backend = upstream::start("backend").await;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node_a = DataPlane::start(&cp.url(), "node-a", &dir.path().join("a"), &[])?;
    let node_b = DataPlane::start(
        &cp.url(),
        "node-b",
        &dir.path().join("b"),
        &["--max-payload-bytes", "1024"],
    )?;
    let mut admin = Admin::connect(&cp.url()).await?;

    let api = admin.create_api("pets", ApiProtocol::Rest).await?;
    let base = "http://${stageVariables.backend}";
    admin
        .route(&api, "/pets", "GET", http_proxy(&format!("{base}/pets")))
        .await?;
    admin
        .route(&api, "/pets/mine", "GET", mock(200, "all mine"))
        .await?;
    admin
        .route(
            &api,
            "/pets/{petId}",
            "GET",
            http_proxy(&format!("{base}/pet/{{petId}}")),
        )
        .await?;
    admin
        .route(
            &api,
            "/files/{proxy+}",
            "ANY",
            http_proxy(&format!("{base}/files/{{proxy}}")),
        )
        .await?;
    let mut slow = http_proxy(&format!("{base}/slow/3000"));
    slow.timeout_ms = 300;
    admin.route(&api, "/slow", "GET", slow).await?;
    admin
        .route(
            &api,
            "/down",
            "GET",
            http_proxy("http://127.0.0.1:9/nothing-listens"),
        )
        .await?;
    // A stage variable supplies the whole start of this URI: a value that
    // makes no usable URI is the API's configuration error, not the client's.
    admin
        .route(
            &api,
            "/misconfigured",
            "GET",
            http_proxy("${stageVariables.target}/x"),
        )
        .await?;
    admin.deploy(&api, "prod").await?;
    let mut stage = admin.stage(&api, "prod").await?;
    stage
        .variables
        .insert("backend".into(), backend.addr.to_string());
    stage
        .variables
        .insert("target".into(), "ftp://files.example".into());
    admin.update_stage(stage).await?;
    admin.wait_converged(&["node-a", "node-b"]).await?;

    let http = GatewayClient::default();
    for node in [node_a.addr(), node_b.addr()] {
        // Param substitution, query string passed through, forwarded-for set.
        let answer = http
            .get(node, "pets", "/prod/pets/42?color=red&x=1")
            .await?;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let echo = answer.json();
        assert_eq!(echo["path"], "/pet/42");
        assert_eq!(echo["query"], "color=red&x=1");
        assert_eq!(echo["headers"]["x-forwarded-for"], "127.0.0.1");
        assert_eq!(echo["headers"]["x-forwarded-proto"], "http");
        assert_eq!(echo["headers"]["host"], backend.addr.to_string());
        assert_eq!(answer.headers["x-upstream"], "yes");

        // Literal beats parameter.
        let answer = http.get(node, "pets", "/prod/pets/mine").await?;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (StatusCode::OK, "all mine")
        );

        // Greedy path with any verb and a streamed body.
        let answer = http
            .send(node, "pets", "PUT", "/prod/files/a/b/c.txt", "0123456789")
            .await?;
        let echo = answer.json();
        assert_eq!(echo["method"], "PUT");
        assert_eq!(echo["path"], "/files/a/b/c.txt");
        assert_eq!(echo["body_len"], 10);

        // Unmatched routes and verbs: 403 Missing Authentication Token, as AWS REST APIs answer.
        for (method, path) in [
            ("GET", "/prod/nope"),
            ("POST", "/prod/pets"),
            ("GET", "/prod"),
        ] {
            let answer = http.send(node, "pets", method, path, "").await?;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{method} {path}");
            assert_eq!(answer.json()["message"], "Missing Authentication Token");
        }
        // Unknown stage or API: 403 Forbidden.
        for (api_id, path) in [("pets", "/staging/pets"), ("nosuch", "/prod/pets")] {
            let answer = http.get(node, api_id, path).await?;
            assert_eq!(answer.status, StatusCode::FORBIDDEN);
            assert_eq!(answer.json()["message"], "Forbidden");
        }
        // Integration timeout: 504 well before the backend answers.
        let started = std::time::Instant::now();
        let answer = http.get(node, "pets", "/prod/slow").await?;
        assert_eq!(answer.status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(answer.json()["message"], "Endpoint request timed out");
        assert!(started.elapsed() < std::time::Duration::from_millis(2500));
        let answer = http.get(node, "pets", "/prod/misconfigured").await?;
        assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(answer.json()["message"], "Internal server error");
        // A backend that cannot be reached: 502 with a JSON message.
        let answer = http.get(node, "pets", "/prod/down").await?;
        assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
        assert!(answer.json()["message"].is_string());
    }

    // Payload limit (node B allows 1 KiB): declared and streamed bodies.
    let big = vec![b'x'; 4096];
    let answer = http
        .send(
            node_b.addr(),
            "pets",
            "POST",
            "/prod/files/upload",
            big.clone(),
        )
        .await?;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.json()["message"], "Request Too Long");
    let answer = http
        .send(node_a.addr(), "pets", "POST", "/prod/files/upload", big)
        .await?;
    assert_eq!(answer.json()["body_len"], 4096);

    // A chunked upload (no length known in advance) streams through and is
    // sent on chunked; the backend gets all of it.
    let answer = raw_exchange(
        node_a.addr(),
        "PUT /prod/files/chunked HTTP/1.1\r\nHost: pets.execute-api.localhost\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    )
    .await?;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let echo: serde_json::Value =
        serde_json::from_str(&answer[answer.find("\r\n\r\n").unwrap() + 4..])?;
    assert_eq!(
        (echo["body"].as_str(), echo["body_len"].as_u64()),
        (Some("hello world"), Some(11))
    );
    assert_eq!(echo["headers"]["transfer-encoding"], "chunked");
    assert!(echo["headers"].get("content-length").is_none());

    // HTTP/2 cleartext (prior knowledge) downstream.
    let h2 = GatewayClient::new(true);
    let answer = h2.get(node_a.addr(), "pets", "/prod/pets/7").await?;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["path"], "/pet/7");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_apis_answer_404_for_unmatched_routes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(&cp.url(), "node", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin.create_api("httpapi", ApiProtocol::Http).await?;
    admin.route(&api, "/", "GET", mock(204, "")).await?;
    admin.deploy(&api, "v1").await?;
    admin.wait_converged(&["node"]).await?;

    let http = GatewayClient::default();
    assert_eq!(
        http.get(node.addr(), "httpapi", "/v1").await?.status,
        StatusCode::NO_CONTENT
    );
    let answer = http.get(node.addr(), "httpapi", "/v1/missing").await?;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.json()["message"], "Not Found");
    assert_eq!(answer.headers["content-type"], "application/json");
    Ok(())
}

/// Writes `request` on a new connection and reads until the node closes it.
async fn raw_exchange(addr: std::net::SocketAddr, request: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await??;
    Ok(String::from_utf8(answer)?)
}

/// One request on an open connection; the answer's status line, or None
/// when nothing came within `wait`.
async fn status_line(
    stream: &mut tokio::net::TcpStream,
    wait: std::time::Duration,
) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = "GET /prod/ok HTTP/1.1\r\nHost: capped.execute-api.localhost\r\n\r\n";
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(wait, stream.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.lines().next().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_cap_their_open_connections() -> anyhow::Result<()> {
    use std::time::Duration;
    let dir = tempfile::tempdir()?;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(
        &cp.url(),
        "n",
        &dir.path().join("n"),
        &["--max-connections", "2"],
    )?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin.create_api("capped", ApiProtocol::Rest).await?;
    admin.route(&api, "/ok", "GET", mock(200, "ok")).await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["n"]).await?;

    let connect = || tokio::net::TcpStream::connect(node.addr());
    let (mut first, mut second) = (connect().await?, connect().await?);
    let long = Duration::from_secs(5);
    assert_eq!(
        status_line(&mut first, long).await.as_deref(),
        Some("HTTP/1.1 200 OK")
    );
    assert_eq!(
        status_line(&mut second, long).await.as_deref(),
        Some("HTTP/1.1 200 OK")
    );
    // A third connection waits in the backlog while two are open...
    let mut third = connect().await?;
    assert_eq!(
        status_line(&mut third, Duration::from_millis(500)).await,
        None
    );
    // ...and is served once one of them closes.
    drop(first);
    let mut buf = vec![0u8; 1024];
    let n =
        tokio::time::timeout(long, tokio::io::AsyncReadExt::read(&mut third, &mut buf)).await??;
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200 OK"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    Ok(())
}

/// A caller's path parameter never picks the backend at run time. After
/// the authority it stays in the path, whatever it holds (`@host`,
/// `host:port`); and where a stage variable leaves the authority open (the
/// template looks fine to the admin API, `http:/` then `/{proxy}`), the
/// node refuses the rendered URI instead of calling the caller's host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_parameter_never_picks_the_backend() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let backend = upstream::start("backend").await;
    let decoy = upstream::start("decoy").await;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(&cp.url(), "node", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin.create_api("hosts", ApiProtocol::Rest).await?;
    admin
        .route(
            &api,
            "/pets/{proxy+}",
            "GET",
            http_proxy("http://${stageVariables.backend}/{proxy}"),
        )
        .await?;
    admin
        .route(
            &api,
            "/open/{proxy+}",
            "GET",
            http_proxy("${stageVariables.scheme}/{proxy}"),
        )
        .await?;
    admin.deploy(&api, "prod").await?;
    let mut stage = admin.stage(&api, "prod").await?;
    stage
        .variables
        .insert("backend".into(), backend.addr.to_string());
    stage.variables.insert("scheme".into(), "http:/".into());
    admin.update_stage(stage).await?;
    admin.wait_converged(&["node"]).await?;

    let http = GatewayClient::default();
    let decoy_addr = decoy.addr.to_string();
    for value in [
        format!("@{decoy_addr}/x"),
        format!("{decoy_addr}/x"),
        format!("x@{decoy_addr}"),
    ] {
        let answer = http
            .get(node.addr(), "hosts", &format!("/prod/pets/{value}"))
            .await?;
        assert_eq!(answer.status, StatusCode::OK, "{value}: {}", answer.body);
        assert_eq!(answer.json()["upstream"], "backend", "{value}");
        assert_eq!(answer.json()["path"], format!("/{value}"), "{value}");
    }
    let answer = http
        .get(node.addr(), "hosts", &format!("/prod/open/{decoy_addr}/x"))
        .await?;
    assert_eq!(
        answer.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        answer.body
    );
    assert_eq!(answer.json()["message"], "Internal server error");
    Ok(())
}
