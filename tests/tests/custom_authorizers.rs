//! Custom (Lambda-style) authorizers: an authorizer service run by the test
//! on loopback decides by the token it is given. Allow, deny, context,
//! caching (one call within the TTL, the cached policy evaluated per
//! method), REQUEST events, every failure mode, and an API whose key comes
//! from the authorizer's usageIdentifierKey.

use archway_e2e::admin::{authorizer, http_proxy};
use archway_e2e::http_client::{Answer, GatewayClient};
use archway_e2e::{Admin, ControlPlane, DataPlane, upstream};
use archway_proto::v1::*;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::Full;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every event the authorizer received.
type Events = Arc<Mutex<Vec<Value>>>;

/// The test's authorizer. The token (TOKEN) or the `x-tenant` header
/// (REQUEST) says what to answer:
/// - `allow-NAME`: Allow GET on every path of the stage, principal NAME,
///   a context, and usageIdentifierKey NAME's key (from the `keys` map);
/// - `deny`: an explicit Deny of everything;
/// - `nothing`: a policy that allows nothing on this API;
/// - `unauthorized`: 401; `error`: 500; `broken`: 200 with a non-answer;
/// - `slow`: answers after 2 s.
async fn authorizer_service(events: Events, keys: Arc<Mutex<Vec<(String, String)>>>) -> String {
    let addr = archway_e2e::serve::spawn(None, move |req| {
        let (events, keys) = (events.clone(), keys.clone());
        async move {
            let event: Value = serde_json::from_slice(req.body()).unwrap();
            events.lock().unwrap().push(event.clone());
            decide(&event, &keys).await
        }
    })
    .await;
    format!("http://{addr}/authorize")
}

async fn decide(event: &Value, keys: &Mutex<Vec<(String, String)>>) -> http::Response<Full<Bytes>> {
    let token = match event["type"].as_str() {
        Some("TOKEN") => event["authorizationToken"].as_str().unwrap_or_default(),
        // Header names keep the client's case, as in AWS: look up without it.
        _ => event["headers"]
            .as_object()
            .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-tenant")))
            .and_then(|(_, v)| v.as_str())
            .unwrap_or_default(),
    }
    .to_owned();
    let arn = event["methodArn"].as_str().unwrap();
    // arn:aws:execute-api:region:account:api/stage/VERB/path
    let (prefix, rest) = arn.rsplit_once(':').unwrap();
    let mut parts = rest.splitn(3, '/');
    let (api, stage) = (parts.next().unwrap(), parts.next().unwrap());
    let policy = |effect: &str, resource: String| {
        json!({"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": effect, "Resource": [resource]}
        ]})
    };
    let answer = |status: u16, body: String| {
        let mut r = http::Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = StatusCode::from_u16(status).unwrap();
        r
    };
    match token.as_str() {
        "deny" => answer(
            200,
            json!({"principalId": "mallory", "policyDocument": policy("Deny", format!("{prefix}:{api}/*"))})
                .to_string(),
        ),
        "nothing" => answer(
            200,
            json!({"principalId": "nobody", "policyDocument": policy("Allow", format!("{prefix}:otherapi/*"))})
                .to_string(),
        ),
        "unauthorized" => answer(401, r#"{"message":"Unauthorized"}"#.into()),
        "error" => answer(500, "boom".into()),
        "broken" => answer(200, r#"{"principalId": 7}"#.into()),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(2)).await;
            answer(
                200,
                json!({"principalId": "late", "policyDocument": policy("Allow", "*".into())})
                    .to_string(),
            )
        }
        t if t.starts_with("allow-") => {
            let name = &t["allow-".len()..];
            // Slow enough that concurrent requests overlap the call.
            if name.starts_with("wait") {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            let key = keys
                .lock()
                .unwrap()
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, k)| k.clone());
            answer(
                200,
                json!({
                    "principalId": name,
                    "policyDocument": policy("Allow", format!("{prefix}:{api}/{stage}/GET/*")),
                    "context": {"tier": "gold", "level": 3, "admin": false},
                    "usageIdentifierKey": key,
                })
                .to_string(),
            )
        }
        _ => answer(401, String::new()),
    }
}

fn calls(events: &Events) -> usize {
    events.lock().unwrap().len()
}

async fn get(
    client: &GatewayClient,
    node: &DataPlane,
    api: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Answer {
    client
        .send_with_headers(node.addr(), api, "GET", path, Bytes::new(), headers)
        .await
        .unwrap()
}

/// `verb path` proxied to the backend, behind `authorizer`.
async fn protected_route(
    admin: &mut Admin,
    api: &RestApi,
    path: &str,
    verb: &str,
    backend: &upstream::Upstream,
    authorizer: &Authorizer,
) -> anyhow::Result<Method> {
    // The backend path is the route's own, `{id}` included (filled in).
    let target = format!("http://{}{path}", backend.addr);
    let method = Method {
        http_method: verb.into(),
        integration: Some(http_proxy(&target)),
        ..Default::default()
    };
    admin.put_custom_route(api, path, method, authorizer).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_and_request_authorizers_decide_and_are_cached() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let events: Events = Arc::default();
    let keys = Arc::default();
    let authorizer_uri = authorizer_service(events.clone(), keys).await;
    let backend = upstream::start("backend").await;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin.create_api("custom", ApiProtocol::Rest).await?;

    let token_authorizer = Authorizer {
        identity_source: "method.request.header.Authorization".into(),
        result_ttl_seconds: Some(300),
        identity_validation_expression: "[a-z]+(-[a-z]+)?".into(),
        timeout_ms: 500,
        ..authorizer(&api, "tokens", AuthorizerType::Token, &authorizer_uri)
    };
    // Bad configurations are refused, naming the field.
    for (bad, field) in [
        (
            Authorizer {
                authorizer_uri: "ftp://x".into(),
                ..token_authorizer.clone()
            },
            "authorizer.authorizer_uri:",
        ),
        (
            Authorizer {
                result_ttl_seconds: Some(3601),
                ..token_authorizer.clone()
            },
            "authorizer.result_ttl_seconds:",
        ),
        (
            Authorizer {
                identity_validation_expression: "([a-z".into(),
                ..token_authorizer.clone()
            },
            "authorizer.identity_validation_expression:",
        ),
        (
            Authorizer {
                r#type: AuthorizerType::Request as i32,
                identity_source: "method.request.header.X-Tenant, headers.bogus".into(),
                identity_validation_expression: String::new(),
                ..token_authorizer.clone()
            },
            "authorizer.identity_source:",
        ),
    ] {
        let status = admin.create_authorizer(bad).await.expect_err("refused");
        assert!(status.to_string().contains(field), "{field}: {status}");
    }
    let tokens = admin.create_authorizer(token_authorizer.clone()).await?;
    let requests = admin.create_authorizer(Authorizer {
            name: "tenants".into(),
            r#type: AuthorizerType::Request as i32,
            identity_source: "method.request.header.X-Tenant, method.request.querystring.user, stageVariables.realm".into(),
            identity_validation_expression: String::new(),
            result_ttl_seconds: Some(0),
            ..token_authorizer.clone()
        },
    )
    .await?;
    let unreachable = admin
        .create_authorizer(Authorizer {
            name: "gone".into(),
            authorizer_uri: format!("http://{}/authorize", archway_e2e::unused_loopback_addr()),
            ..token_authorizer.clone()
        })
        .await?;

    let pets = protected_route(&mut admin, &api, "/pets", "GET", &backend, &tokens).await?;
    protected_route(&mut admin, &api, "/pets", "DELETE", &backend, &tokens).await?;
    protected_route(
        &mut admin,
        &api,
        "/tenants/{id}",
        "GET",
        &backend,
        &requests,
    )
    .await?;
    protected_route(&mut admin, &api, "/down", "GET", &backend, &unreachable).await?;
    // A method cannot name a custom authorizer with the wrong type.
    let refused = admin
        .apis
        .put_method(PutMethodRequest {
            method: Some(Method {
                authorization_type: "JWT".into(),
                authorizer_id: tokens.id.clone(),
                ..pets.clone()
            }),
        })
        .await
        .expect_err("JWT with a TOKEN authorizer");
    assert!(
        refused.message().contains("authorization_type"),
        "{refused:?}"
    );

    admin.deploy(&api, "prod").await?;
    let mut stage = admin.stage(&api, "prod").await?;
    stage.variables.insert("realm".into(), "north".into());
    admin.update_stage(stage).await?;
    admin.wait_converged(&["n"]).await?;

    let client = GatewayClient::new(false);
    let id = api.id.as_str();

    // Missing identity, or one failing the validation expression: 401, no call.
    let missing = get(&client, &node, id, "/prod/pets", &[]).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED, "{}", missing.body);
    assert_eq!(missing.json()["message"], "Unauthorized");
    let invalid = get(
        &client,
        &node,
        id,
        "/prod/pets",
        &[("authorization", "Not A Token!")],
    )
    .await;
    assert_eq!(invalid.status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls(&events), 0);

    // Allow: the integration gets the principal and the context.
    let allowed = get(
        &client,
        &node,
        id,
        "/prod/pets",
        &[("authorization", "allow-alice")],
    )
    .await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.body);
    let echo = allowed.json();
    assert_eq!(echo["headers"]["x-archway-principal"], "alice");
    let context: Value = serde_json::from_str(
        echo["headers"]["x-archway-authorizer-context"]
            .as_str()
            .unwrap(),
    )?;
    assert_eq!(context, json!({"tier": "gold", "level": 3, "admin": false}));
    assert_eq!(calls(&events), 1);
    let event = events.lock().unwrap()[0].clone();
    assert_eq!(event["type"], "TOKEN");
    assert_eq!(event["authorizationToken"], "allow-alice");
    assert_eq!(
        event["methodArn"],
        format!("arn:aws:execute-api:us-east-1:000000000000:{id}/prod/GET/pets")
    );

    // Cached: more requests, no more calls; the cached policy allows only
    // GET, so DELETE is refused without asking again.
    for _ in 0..5 {
        let again = get(
            &client,
            &node,
            id,
            "/prod/pets",
            &[("authorization", "allow-alice")],
        )
        .await;
        assert_eq!(again.status, StatusCode::OK);
    }
    let deleted = client
        .send_with_headers(
            node.addr(),
            id,
            "DELETE",
            "/prod/pets",
            Bytes::new(),
            &[("authorization", "allow-alice")],
        )
        .await?;
    assert_eq!(deleted.status, StatusCode::FORBIDDEN, "{}", deleted.body);
    assert_eq!(
        deleted.json()["message"],
        "User is not authorized to access this resource"
    );
    assert_eq!(calls(&events), 1, "answers are cached within the TTL");
    // A burst with a new token while its answer is pending: one call.
    let before = calls(&events);
    let burst: Vec<_> = (0..20)
        .map(|_| {
            let (client, addr) = (client.clone(), node.addr());
            tokio::spawn(async move {
                client
                    .send_with_headers(
                        addr,
                        "custom",
                        "GET",
                        "/prod/pets",
                        Bytes::new(),
                        &[("authorization", "allow-waiter")],
                    )
                    .await
                    .unwrap()
                    .status
            })
        })
        .collect();
    for request in burst {
        assert_eq!(request.await?, StatusCode::OK);
    }
    assert_eq!(
        calls(&events),
        before + 1,
        "concurrent misses share one call"
    );
    // A client cannot pose as a principal.
    let forged = get(
        &client,
        &node,
        id,
        "/prod/pets",
        &[
            ("authorization", "allow-bob"),
            ("x-archway-principal", "root"),
        ],
    )
    .await;
    assert_eq!(forged.json()["headers"]["x-archway-principal"], "bob");
    assert_eq!(calls(&events), 3);

    // Deny and "allows nothing": 403.
    let denied = get(
        &client,
        &node,
        id,
        "/prod/pets",
        &[("authorization", "deny")],
    )
    .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(
        denied.json()["message"],
        "User is not authorized to access this resource with an explicit deny"
    );
    assert_eq!(denied.headers["x-amzn-errortype"], "AccessDeniedException");
    let nothing = get(
        &client,
        &node,
        id,
        "/prod/pets",
        &[("authorization", "nothing")],
    )
    .await;
    assert_eq!(nothing.status, StatusCode::FORBIDDEN);
    // 401 from the authorizer: 401.
    let unauthorized = get(
        &client,
        &node,
        id,
        "/prod/pets",
        &[("authorization", "unauthorized")],
    )
    .await;
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);
    // Failures: 500, and never cached.
    let before = calls(&events);
    for token in ["error", "broken", "slow", "error"] {
        let failed = get(
            &client,
            &node,
            id,
            "/prod/pets",
            &[("authorization", token)],
        )
        .await;
        assert_eq!(
            failed.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{token}: {}",
            failed.body
        );
        assert_eq!(
            failed.headers["x-amzn-errortype"],
            "AuthorizerFailureException"
        );
    }
    assert_eq!(calls(&events), before + 4, "failures are not cached");
    let down = get(
        &client,
        &node,
        id,
        "/prod/down",
        &[("authorization", "allow-alice")],
    )
    .await;
    assert_eq!(down.status, StatusCode::INTERNAL_SERVER_ERROR);

    // REQUEST: the event carries the request; every identity source is
    // required; TTL 0 asks every time.
    let before = calls(&events);
    let tenant = get(
        &client,
        &node,
        id,
        "/prod/tenants/acme?user=carol&tag=a&tag=b",
        &[("x-tenant", "allow-carol")],
    )
    .await;
    assert_eq!(tenant.status, StatusCode::OK, "{}", tenant.body);
    assert_eq!(tenant.json()["headers"]["x-archway-principal"], "carol");
    let event = events.lock().unwrap().last().unwrap().clone();
    assert_eq!(event["type"], "REQUEST");
    assert_eq!(event["resource"], "/tenants/{id}");
    assert_eq!(event["path"], "/tenants/acme");
    assert_eq!(event["httpMethod"], "GET");
    assert_eq!(event["pathParameters"]["id"], "acme");
    assert_eq!(event["queryStringParameters"]["user"], "carol");
    assert_eq!(
        event["multiValueQueryStringParameters"]["tag"],
        json!(["a", "b"])
    );
    assert_eq!(event["stageVariables"]["realm"], "north");
    assert_eq!(event["requestContext"]["stage"], "prod");
    assert_eq!(event["requestContext"]["path"], "/prod/tenants/acme");
    assert_eq!(event["requestContext"]["identity"]["sourceIp"], "127.0.0.1");
    assert!(
        !event["requestContext"]["requestId"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    let again = get(
        &client,
        &node,
        id,
        "/prod/tenants/acme?user=carol",
        &[("x-tenant", "allow-carol")],
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(calls(&events), before + 2, "TTL 0: every request asks");
    // An identity header sent twice: the authorizer and the cache could
    // read different copies, so it is refused without a call.
    let twice = get(
        &client,
        &node,
        id,
        "/prod/tenants/acme?user=carol",
        &[("x-tenant", "allow-carol"), ("x-tenant", "allow-mallory")],
    )
    .await;
    assert_eq!(twice.status, StatusCode::UNAUTHORIZED, "{}", twice.body);
    assert_eq!(calls(&events), before + 2, "refused without a call");
    let no_user = get(
        &client,
        &node,
        id,
        "/prod/tenants/acme",
        &[("x-tenant", "allow-carol")],
    )
    .await;
    assert_eq!(no_user.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        calls(&events),
        before + 2,
        "a missing identity source is refused without a call"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_can_come_from_the_authorizer() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let events: Events = Arc::default();
    let keys: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let authorizer_uri = authorizer_service(events.clone(), keys.clone()).await;
    let backend = upstream::start("backend").await;
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let node = DataPlane::start(&cp.url(), "n", &dir.path().join("n"), &[])?;
    let mut admin = Admin::connect(&cp.url()).await?;
    let api = admin
        .apis
        .create_rest_api(CreateRestApiRequest {
            id: "metered".into(),
            name: "metered".into(),
            protocol: ApiProtocol::Rest as i32,
            api_key_source: ApiKeySource::Authorizer as i32,
            ..Default::default()
        })
        .await?
        .into_inner();
    let tokens = admin
        .create_authorizer(authorizer(
            &api,
            "tokens",
            AuthorizerType::Token,
            &authorizer_uri,
        ))
        .await?;
    let method = Method {
        http_method: "GET".into(),
        integration: Some(http_proxy(&format!("http://{}/data", backend.addr))),
        api_key_required: true,
        ..Default::default()
    };
    admin
        .put_custom_route(&api, "/data", method, &tokens)
        .await?;
    admin.deploy(&api, "prod").await?;
    let (_, key) = admin
        .plan_with_key(
            &api,
            "prod",
            UsagePlan {
                name: "gold".into(),
                quota: Some(QuotaSettings {
                    limit: 2,
                    period: QuotaPeriod::Day as i32,
                    offset: 0,
                }),
                ..Default::default()
            },
            "dave",
        )
        .await?;
    keys.lock()
        .unwrap()
        .push(("dave".into(), key.value.clone()));
    admin.wait_converged(&["n"]).await?;

    let client = GatewayClient::new(false);
    // The key the authorizer names counts against its plan's quota; the
    // client's own x-api-key header is not what counts.
    for _ in 0..2 {
        let ok = get(
            &client,
            &node,
            "metered",
            "/prod/data",
            &[("authorization", "allow-dave")],
        )
        .await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    }
    let over = get(
        &client,
        &node,
        "metered",
        "/prod/data",
        &[("authorization", "allow-dave")],
    )
    .await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS, "{}", over.body);
    // An authorizer that names no key (or an unknown one): 403.
    let no_key = get(
        &client,
        &node,
        "metered",
        "/prod/data",
        &[
            ("authorization", "allow-erin"),
            ("x-api-key", key.value.as_str()),
        ],
    )
    .await;
    assert_eq!(no_key.status, StatusCode::FORBIDDEN, "{}", no_key.body);
    Ok(())
}

/// Sends raw HTTP/1.1 bytes, so header names go out exactly as written.
async fn raw_request(addr: std::net::SocketAddr, request: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await??;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// A REQUEST event as AWS sends it: header names as the client spelled
/// them (HTTP/1), the last value in `headers` and every value in
/// `multiValueHeaders`, `requestContext.resourceId`,
/// `requestContext.identity.apiKey`, and `path` without the stage. Over
/// HTTP/2 names are lowercase on the wire, and so in the event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_events_keep_header_case_and_carry_aws_fields() -> anyhow::Result<()> {
    let events: Events = Arc::default();
    let authorizer_uri = authorizer_service(events.clone(), Arc::default()).await;
    let backend = upstream::start("backend").await;
    let (_dir, _cp, node, mut admin) = archway_e2e::started_with_node("n", &[]).await?;
    let api = admin.create_api("cased", ApiProtocol::Rest).await?;
    let requests = admin
        .create_authorizer(Authorizer {
            identity_source: "method.request.header.X-Tenant".into(),
            result_ttl_seconds: Some(0),
            timeout_ms: 2000,
            ..authorizer(&api, "tenants", AuthorizerType::Request, &authorizer_uri)
        })
        .await?;
    let method = protected_route(
        &mut admin,
        &api,
        "/tenants/{id}",
        "GET",
        &backend,
        &requests,
    )
    .await?;
    admin.deploy(&api, "prod").await?;
    admin.wait_converged(&["n"]).await?;

    // Connected after the REQUEST authorizer is deployed: the connection
    // keeps header case.
    let host = format!(
        "cased.{}:{}",
        archway_e2e::http_client::DOMAIN,
        node.addr().port()
    );
    let answer = raw_request(
        node.addr(),
        &format!(
            "GET /prod/tenants/acme?user=dave HTTP/1.1\r\nHost: {host}\r\nX-Tenant: allow-dave\r\n\
             X-Multi: one\r\nx-MULTI: two\r\nX-Api-Key: key-123\r\nUser-Agent: Raw/1.0\r\n\
             Connection: close\r\n\r\n"
        ),
    )
    .await?;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let event = events.lock().unwrap().last().unwrap().clone();
    let headers = event["headers"].as_object().unwrap();
    assert_eq!(headers["X-Tenant"], "allow-dave", "{headers:?}");
    assert_eq!(headers["User-Agent"], "Raw/1.0", "{headers:?}");
    assert!(!headers.contains_key("x-tenant"), "{headers:?}");
    // A repeated header: the first spelling names it; the last value in
    // headers, all of them in multiValueHeaders.
    assert_eq!(headers["X-Multi"], "two", "{headers:?}");
    assert_eq!(event["multiValueHeaders"]["X-Multi"], json!(["one", "two"]));
    assert_eq!(
        event["multiValueHeaders"]["X-Tenant"],
        json!(["allow-dave"])
    );
    assert_eq!(event["path"], "/tenants/acme");
    assert_eq!(event["requestContext"]["path"], "/prod/tenants/acme");
    assert_eq!(event["requestContext"]["resourceId"], method.resource_id);
    assert!(!method.resource_id.is_empty());
    assert_eq!(event["requestContext"]["identity"]["apiKey"], "key-123");
    assert_eq!(event["requestContext"]["identity"]["userAgent"], "Raw/1.0");

    // HTTP/2: lowercase names, as sent; no API key sent: null.
    let h2 = GatewayClient::new(true);
    let answer = get(
        &h2,
        &node,
        "cased",
        "/prod/tenants/acme",
        &[("x-tenant", "allow-erin")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let event = events.lock().unwrap().last().unwrap().clone();
    assert_eq!(event["headers"]["x-tenant"], "allow-erin");
    assert!(event["requestContext"]["identity"]["apiKey"].is_null());
    Ok(())
}
