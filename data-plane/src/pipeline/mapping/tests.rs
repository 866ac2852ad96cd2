//! The mapping phase over tables compiled in memory: MOCK integrations with
//! templates, an HTTP backend (a scripted loopback server that records
//! what it was sent), passthrough refusals, parameter mappings from each
//! source, integration response selection, response parameters and
//! templates, overrides and base64 content handling.

use super::super::*;
use crate::access_log::AccessLogSinks;
use crate::compile::compile;
use crate::pipeline::headers::ClientInfo;
use archway_proto::resource_name;
use archway_proto::v1::config_resource::Resource as Body;
use archway_proto::v1::{
    ApiProtocol, ConfigResource, ContentHandling, Deployment, Integration, IntegrationResponse,
    IntegrationType, Method, MethodResponse, NodeSettings, PassthroughBehavior, Resource, RestApi,
    Stage,
};
use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DOMAIN: &str = "execute-api.test";

fn res(name: String, body: Body) -> ConfigResource {
    ConfigResource {
        name,
        resource: Some(body),
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn response(status: &str, pattern: &str) -> IntegrationResponse {
    IntegrationResponse {
        status_code: status.into(),
        selection_pattern: pattern.into(),
        ..Default::default()
    }
}

/// The API `map`, stage `prod` with `env=beta`, one method per (verb,
/// path, integration).
fn tables(routes: Vec<(&str, &str, Integration)>, binary: &[&str]) -> Arc<RuntimeTables> {
    let mut resources = Vec::new();
    let mut methods = Vec::new();
    for (i, (verb, path, integration)) in routes.into_iter().enumerate() {
        let id = format!("r{i}");
        resources.push(Resource {
            id: id.clone(),
            path: path.into(),
            ..Default::default()
        });
        // Declared as AWS requires: the method responses the integration
        // responses answer with, and the method request parameters the
        // mappings read.
        let method_responses = integration
            .integration_responses
            .iter()
            .map(|r| MethodResponse {
                status_code: r.status_code.clone(),
                response_parameters: r
                    .response_parameters
                    .keys()
                    .map(|k| (k.clone(), false))
                    .collect(),
                ..Default::default()
            })
            .collect();
        let request_parameters = integration
            .request_parameters
            .values()
            .filter(|v| v.starts_with("method.request.") && !v.starts_with("method.request.body"))
            .map(|v| (v.clone(), false))
            .collect();
        methods.push(Method {
            api_id: "map".into(),
            resource_id: id,
            http_method: verb.into(),
            integration: Some(integration),
            authorization_type: "NONE".into(),
            method_responses,
            request_parameters,
            ..Default::default()
        });
    }
    let snapshot = vec![
        res(
            "settings".into(),
            Body::Settings(NodeSettings {
                api_key_secret: b"secret".to_vec(),
                region: "us-east-1".into(),
                account_id: "123456789012".into(),
                ..Default::default()
            }),
        ),
        res(
            resource_name::api("map"),
            Body::Api(RestApi {
                id: "map".into(),
                protocol: ApiProtocol::Rest as i32,
                ..Default::default()
            }),
        ),
        res(
            resource_name::deployment("map", "d1"),
            Body::Deployment(Deployment {
                id: "d1".into(),
                api_id: "map".into(),
                resources,
                methods,
                binary_media_types: binary.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            }),
        ),
        res(
            resource_name::stage("map", "prod"),
            Body::Stage(Stage {
                api_id: "map".into(),
                stage_name: "prod".into(),
                deployment_id: "d1".into(),
                variables: [("env".to_string(), "beta".to_string())].into(),
                ..Default::default()
            }),
        ),
    ];
    Arc::new(
        compile(
            1,
            &snapshot,
            &RuntimeTables::empty(),
            &AccessLogSinks::default(),
        )
        .expect("the snapshot compiles"),
    )
}

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

async fn send(
    tables: &Arc<RuntimeTables>,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let gateway = Gateway::in_memory(tables.clone(), DOMAIN, 64 * 1024).unwrap();
    send_to(&gateway, method, path_and_query, headers, body).await
}

/// A gateway over `tables` whose AWS calls (any service) go to `endpoint`,
/// signed with environment credentials.
fn aws_gateway(tables: &Arc<RuntimeTables>, endpoint: SocketAddr) -> Gateway {
    let endpoints =
        crate::aws::endpoints::Endpoints::new([format!("http://{endpoint}").as_str()], None)
            .unwrap();
    let credentials = crate::aws::credentials::Credentials::new("AKIATEST", "secret", None);
    Gateway::in_memory(tables.clone(), DOMAIN, 64 * 1024)
        .unwrap()
        .with_aws(AwsOutbound::new(
            crate::upstream::Upstream::default(),
            endpoints,
            Some(credentials),
        ))
}

async fn send_to(
    gateway: &Gateway,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut request = http::Request::builder()
        .method(method)
        .uri(path_and_query)
        .header(http::header::HOST, format!("map.{DOMAIN}"));
    for (n, v) in headers {
        request = request.header(*n, *v);
    }
    let request = request
        .body(crate::body::streaming(http_body_util::Full::new(
            Bytes::from(body.to_vec()),
        )))
        .unwrap();
    let client = ClientInfo::new("192.0.2.9".parse().unwrap(), false, false);
    let response = gateway.handle(request, &client).await;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A loopback HTTP/1.1 backend that answers every request with `status`,
/// `headers` and `body`, and hands each raw request it read to the test.
async fn backend(
    status: u16,
    headers: &'static str,
    body: &'static str,
) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then the body its Content-Length announces.
                loop {
                    let Ok(n) = conn.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (n, v) = l.split_once(':')?;
                                n.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            let _ = tx.send(text);
                            break;
                        }
                    }
                }
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\n{headers}\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(reply.as_bytes()).await;
            });
        }
    });
    (addr, rx)
}

fn mock_with(templates: &[(&str, &str)], responses: Vec<IntegrationResponse>) -> Integration {
    Integration {
        r#type: IntegrationType::Mock as i32,
        request_templates: map(templates),
        integration_responses: responses,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_mock_takes_its_status_from_the_request_template() {
    let mut ok = response("200", "");
    ok.response_templates = map(&[(
        "application/json",
        r#"{"id": "$input.params('id')", "stage": "$context.stage", "env": "$stageVariables.env", "path": "$context.resourcePath", "ip": "$context.identity.sourceIp"}"#,
    )]);
    let mut failed = response("503", "5\\d\\d");
    failed.response_parameters = map(&[
        ("method.response.header.X-Error", "'boom'"),
        ("method.response.header.X-Stage", "stageVariables.env"),
        ("method.response.header.X-Request", "context.requestId"),
    ]);
    let t = tables(
        vec![(
            "GET",
            "/items/{id}",
            mock_with(
                &[(
                    "application/json",
                    r#"{"statusCode": #if($input.params('fail') == 'yes')500#{else}200#end}"#,
                )],
                vec![ok, failed],
            ),
        )],
        &[],
    );
    let a = send(&t, "GET", "/prod/items/7", &[], b"").await;
    assert_eq!(a.status, 200, "{}", a.body);
    let body: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"id": "7", "stage": "prod", "env": "beta", "path": "/items/{id}", "ip": "192.0.2.9"})
    );
    assert_eq!(a.headers["content-type"], "application/json");
    let a = send(&t, "GET", "/prod/items/7?fail=yes", &[], b"").await;
    assert_eq!(a.status, 503);
    assert_eq!(a.headers["x-error"], "boom");
    assert_eq!(a.headers["x-stage"], "beta");
    assert_eq!(a.headers["x-request"].len(), 36);
    assert_eq!(a.body, "");
}

#[tokio::test]
async fn without_a_template_for_the_content_type_passthrough_decides() {
    let ok = response("200", "");
    let with = |behaviour: PassthroughBehavior, templates: &[(&str, &str)]| {
        let mut i = mock_with(templates, vec![ok.clone()]);
        i.passthrough_behavior = behaviour as i32;
        i
    };
    let t = tables(
        vec![
            (
                "POST",
                "/match",
                with(
                    PassthroughBehavior::WhenNoMatch,
                    &[("application/json", "{}")],
                ),
            ),
            (
                "POST",
                "/notemplates",
                with(
                    PassthroughBehavior::WhenNoTemplates,
                    &[("application/json", "{}")],
                ),
            ),
            (
                "POST",
                "/never",
                with(PassthroughBehavior::Never, &[("application/json", "{}")]),
            ),
        ],
        &[],
    );
    let text = [("content-type", "text/plain")];
    assert_eq!(
        send(&t, "POST", "/prod/match", &text, b"x").await.status,
        200
    );
    for path in ["/prod/notemplates", "/prod/never"] {
        let a = send(&t, "POST", path, &text, b"x").await;
        assert_eq!(a.status, 415, "{path}");
        assert_eq!(
            a.headers["x-amzn-errortype"],
            "UnsupportedMediaTypeException"
        );
    }
    // A template for the type is used whatever the behaviour.
    let json = [("content-type", "application/json; charset=utf-8")];
    assert_eq!(
        send(&t, "POST", "/prod/never", &json, b"{}").await.status,
        200
    );
}

#[tokio::test]
async fn an_http_integration_maps_the_request_and_the_response() {
    let (addr, mut sent) = backend(
        201,
        "x-backend: b1\r\ncontent-type: application/json\r\n",
        r#"{"ok":true,"n":3}"#,
    )
    .await;
    let mut done = response("200", "");
    done.response_parameters = map(&[
        (
            "method.response.header.X-From",
            "integration.response.header.x-backend",
        ),
        ("method.response.header.X-N", "integration.response.body.n"),
    ]);
    done.response_templates = map(&[(
        "application/json",
        "#set($b = $input.path('$'))#set($context.responseOverride.header.X-Override = 'yes')\n{\"done\": $b.ok, \"count\": $b.n}",
    )]);
    let integration = Integration {
        r#type: IntegrationType::Http as i32,
        http_method: "PUT".into(),
        uri: format!("http://{addr}/backend/{{id}}"),
        request_parameters: map(&[
            (
                "integration.request.header.x-user",
                "method.request.querystring.user",
            ),
            (
                "integration.request.header.x-name",
                "method.request.body.name",
            ),
            ("integration.request.querystring.page", "'2'"),
            ("integration.request.path.id", "method.request.path.itemId"),
        ]),
        request_templates: map(&[(
            "application/json",
            "#set($context.requestOverride.header.x-override = 'o')\n{\"name\": \"$util.escapeJavaScript($input.path('$.name'))\", \"user\": \"$input.params('user')\"}",
        )]),
        integration_responses: vec![done],
        ..Default::default()
    };
    let t = tables(vec![("POST", "/items/{itemId}", integration)], &[]);
    let a = send(
        &t,
        "POST",
        "/prod/items/7?user=ann",
        &[("content-type", "application/json")],
        br#"{"name": "Ann \"A\""}"#,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body, r#"{"done": true, "count": 3}"#);
    assert_eq!(a.headers["x-from"], "b1");
    assert_eq!(a.headers["x-n"], "3");
    assert_eq!(a.headers["x-override"], "yes");
    let request = sent.recv().await.unwrap();
    assert!(
        request.starts_with("PUT /backend/7?page=2 HTTP/1.1\r\n"),
        "{request}"
    );
    let lower = request.to_ascii_lowercase();
    assert!(lower.contains("\r\nx-user: ann\r\n"), "{request}");
    assert!(lower.contains("\r\nx-name: ann \"a\"\r\n"), "{request}");
    assert!(lower.contains("\r\nx-override: o\r\n"), "{request}");
    assert!(
        lower.contains("\r\ncontent-type: application/json\r\n"),
        "{request}"
    );
    assert!(
        request.ends_with(r#"{"name": "Ann \"A\"", "user": "ann"}"#),
        "{request}"
    );
}

#[tokio::test]
async fn without_integration_responses_the_backend_answer_passes() {
    let (addr, _sent) = backend(404, "content-type: text/plain\r\n", "nope").await;
    let integration = Integration {
        r#type: IntegrationType::Http as i32,
        uri: format!("http://{addr}/x"),
        ..Default::default()
    };
    let t = tables(vec![("GET", "/x", integration)], &[]);
    let a = send(&t, "GET", "/prod/x", &[], b"").await;
    assert_eq!((a.status, a.body.as_str()), (404, "nope"));
    assert_eq!(a.headers["content-type"], "text/plain");
}

#[tokio::test]
async fn binary_payloads_convert_to_text_and_back() {
    let (addr, mut sent) = backend(200, "", "aGk=").await;
    let mut ok = response("200", "");
    ok.content_handling = ContentHandling::ConvertToBinary as i32;
    let integration = Integration {
        r#type: IntegrationType::Http as i32,
        uri: format!("http://{addr}/bin"),
        content_handling: ContentHandling::ConvertToText as i32,
        integration_responses: vec![ok],
        ..Default::default()
    };
    let t = tables(
        vec![("POST", "/bin", integration)],
        &["application/octet-stream"],
    );
    let a = send(
        &t,
        "POST",
        "/prod/bin",
        &[("content-type", "application/octet-stream")],
        &[0, 1, 2, 255],
    )
    .await;
    assert_eq!((a.status, a.body.as_str()), (200, "hi"));
    assert!(sent.recv().await.unwrap().ends_with("\r\n\r\nAAEC/w=="));
}

#[tokio::test]
async fn a_backend_that_is_not_there_is_a_502_and_a_slow_one_a_504() {
    let refusing = tokio::net::TcpSocket::new_v4().unwrap();
    refusing.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = |uri: String, timeout_ms| Integration {
        r#type: IntegrationType::Http as i32,
        uri,
        timeout_ms,
        ..Default::default()
    };
    let t = tables(
        vec![
            (
                "GET",
                "/refused",
                http(format!("http://{}/", refusing.local_addr().unwrap()), 1000),
            ),
            (
                "GET",
                "/silent",
                http(format!("http://{}/", silent.local_addr().unwrap()), 100),
            ),
        ],
        &[],
    );
    assert_eq!(send(&t, "GET", "/prod/refused", &[], b"").await.status, 502);
    assert_eq!(send(&t, "GET", "/prod/silent", &[], b"").await.status, 504);
}

#[tokio::test]
async fn path_parameters_reach_templates_from_their_spans() {
    // Template variables read each parameter's span of the stage path
    // (Context::param_spans, no pointer arithmetic): plain, encoded, and a
    // value equal to another segment of the path.
    let mut ok = response("200", "");
    ok.response_templates = map(&[(
        "application/json",
        r#"{"id": "$input.params('id')", "all": "$input.params().path.id"}"#,
    )]);
    let t = tables(
        vec![(
            "GET",
            "/items/{id}",
            mock_with(&[("application/json", r#"{"statusCode": 200}"#)], vec![ok]),
        )],
        &[],
    );
    for (path, id) in [
        ("/prod/items/7", "7"),
        ("/prod/items/a%20b", "a b"),
        ("/prod/items/items", "items"),
    ] {
        let a = send(&t, "GET", path, &[], b"").await;
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        let body: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(body, serde_json::json!({"id": id, "all": id}), "{path}");
    }
}

#[tokio::test]
async fn mapped_path_and_query_values_are_encoded_into_one_segment() {
    let (addr, mut sent) = backend(200, "", "ok").await;
    let integration = Integration {
        r#type: IntegrationType::Http as i32,
        http_method: "GET".into(),
        uri: format!("http://{addr}/backend/{{orderId}}/{{sub}}"),
        request_parameters: map(&[
            (
                "integration.request.path.orderId",
                "method.request.querystring.o",
            ),
            (
                "integration.request.querystring.id",
                "method.request.path.id",
            ),
            (
                "integration.request.querystring.q",
                "method.request.querystring.q",
            ),
            ("integration.request.querystring.tenant", "'a'"),
            ("integration.request.path.sub", "'x'"),
        ]),
        request_templates: map(&[(
            "application/json",
            "#set($context.requestOverride.path.sub = $input.params('s'))",
        )]),
        integration_responses: vec![response("200", "")],
        ..Default::default()
    };
    let t = tables(vec![("GET", "/orders/{id}", integration)], &[]);
    let a = send(
        &t,
        "GET",
        "/prod/orders/a%20b?o=..%2F..%2Fadmin%3Fdebug%3D1%23&q=%2F..%2F%3Fx%23&s=..",
        &[("content-type", "application/json")],
        b"",
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let request = sent.recv().await.unwrap();
    assert!(
        request.starts_with(
            "GET /backend/..%2F..%2Fadmin%3Fdebug%3D1%23/%2E%2E?id=a%20b&q=%2F..%2F%3Fx%23&tenant=a HTTP/1.1\r\n"
        ),
        "{request}"
    );
}

#[tokio::test]
async fn overrides_cannot_set_framing_or_hop_by_hop_headers() {
    let (addr, mut sent) = backend(200, "", "ok").await;
    let mut done = response("200", "");
    done.response_templates = map(&[(
        "application/json",
        "#set($context.responseOverride.header.Content-Length = $input.params('n'))#set($context.responseOverride.header.Transfer-Encoding = 'chunked')#set($context.responseOverride.header.Connection = 'close')#set($h = 'Upgrade')#set($context.responseOverride.header[$h] = 'h2c')#set($context.responseOverride.header.X-Kept = 'yes')done",
    )]);
    let integration = Integration {
        r#type: IntegrationType::Http as i32,
        http_method: "POST".into(),
        uri: format!("http://{addr}/backend"),
        request_templates: map(&[(
            "application/json",
            "#set($context.requestOverride.header.Upgrade = 'websocket')#set($context.requestOverride.header.Keep-Alive = 'timeout=5')#set($context.requestOverride.header.Trailer = 'x')#set($context.requestOverride.header.Proxy-Authorization = 'Basic eA==')#set($context.requestOverride.header.Transfer-Encoding = 'chunked')#set($context.requestOverride.header.X-Kept = 'yes')body",
        )]),
        integration_responses: vec![done],
        ..Default::default()
    };
    let t = tables(vec![("POST", "/x", integration)], &[]);
    let a = send(
        &t,
        "POST",
        "/prod/x?n=1",
        &[("content-type", "application/json")],
        b"{}",
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body, "done");
    assert_eq!(a.headers["x-kept"], "yes");
    for name in [
        "content-length",
        "transfer-encoding",
        "connection",
        "upgrade",
    ] {
        assert!(a.headers.get(name).is_none(), "{name}: {:?}", a.headers);
    }
    let request = sent.recv().await.unwrap().to_ascii_lowercase();
    assert!(request.contains("\r\nx-kept: yes\r\n"), "{request}");
    for name in [
        "upgrade",
        "keep-alive",
        "trailer",
        "proxy-authorization",
        "transfer-encoding",
    ] {
        assert!(
            !request.contains(&format!("\r\n{name}:")),
            "{name}: {request}"
        );
    }
    assert!(request.ends_with("\r\n\r\nbody"), "{request}");
}

#[tokio::test]
async fn when_no_integration_response_matches_and_none_is_default_it_is_a_500() {
    let (addr, _sent) = backend(
        500,
        "content-type: text/plain\r\n",
        "stack trace at db.internal",
    )
    .await;
    let integration = Integration {
        r#type: IntegrationType::Http as i32,
        uri: format!("http://{addr}/x"),
        integration_responses: vec![response("200", r"2\d\d"), response("404", "404")],
        ..Default::default()
    };
    let t = tables(vec![("GET", "/x", integration)], &[]);
    let a = send(&t, "GET", "/prod/x", &[], b"").await;
    assert_eq!(a.status, 500, "{}", a.body);
    assert_eq!(a.body, r#"{"message":"Internal server error"}"#);
    assert!(!a.body.contains("db.internal"));
}

/// A bracketed name keeps its quotes through compile: `$['a b'].c` was
/// once compiled as `$[a b].c`, which is no path, so the route failed.
#[tokio::test]
async fn a_body_path_with_a_quoted_name_maps_its_field() {
    let (addr, mut sent) = backend(200, "", "").await;
    let integration = Integration {
        r#type: IntegrationType::Http as i32,
        http_method: "POST".into(),
        uri: format!("http://{addr}/b"),
        request_parameters: map(&[
            (
                "integration.request.header.x-c",
                "method.request.body.$['a b'].c",
            ),
            (
                "integration.request.header.x-d",
                "method.request.body.['a b'].d",
            ),
            (
                "integration.request.header.x-all",
                "method.request.body.$..c",
            ),
        ]),
        ..Default::default()
    };
    let t = tables(vec![("POST", "/q", integration)], &[]);
    let a = send(
        &t,
        "POST",
        "/prod/q",
        &[("content-type", "application/json")],
        br#"{"a b": {"c": "see", "d": [1, 2]}}"#,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let request = sent.recv().await.unwrap().to_ascii_lowercase();
    assert!(request.contains("\r\nx-c: see\r\n"), "{request}");
    assert!(request.contains("\r\nx-d: [1,2]\r\n"), "{request}");
    assert!(request.contains("\r\nx-all: [\"see\"]\r\n"), "{request}");
}

/// An AWS integration is sent with its `http_method`, and with the
/// Content-Type of the request template that rendered the body (its key,
/// not the client's header), unless a parameter mapping sets Content-Type;
/// a passed-through body keeps the client's type.
#[tokio::test]
async fn an_aws_integration_sends_its_http_method_and_the_templates_content_type() {
    let (addr, mut sent) = backend(200, "content-type: application/json\r\n", "{}").await;
    let aws = |method: &str, uri: &str, parameters: &[(&str, &str)]| Integration {
        r#type: IntegrationType::Aws as i32,
        http_method: method.into(),
        uri: uri.into(),
        request_parameters: map(parameters),
        request_templates: map(&[("text/plain", "{\"q\": \"$input.body\"}")]),
        integration_responses: vec![response("200", "")],
        ..Default::default()
    };
    let t = tables(
        vec![
            (
                "POST",
                "/objects/{key}",
                aws(
                    "PUT",
                    "arn:aws:apigateway:us-east-1:s3:path/bucket/{key}",
                    &[("integration.request.path.key", "method.request.path.key")],
                ),
            ),
            (
                "POST",
                "/records",
                aws(
                    "POST",
                    "arn:aws:apigateway:us-east-1:kinesis:action/PutRecord",
                    &[(
                        "integration.request.header.Content-Type",
                        "'application/x-amz-json-1.1'",
                    )],
                ),
            ),
            (
                "GET",
                "/default",
                aws(
                    "",
                    "arn:aws:apigateway:us-east-1:sqs:action/ListQueues",
                    &[],
                ),
            ),
        ],
        &[],
    );
    let gateway = aws_gateway(&t, addr);
    let text = [("content-type", "Text/Plain; charset=utf-8")];
    let a = send_to(&gateway, "POST", "/prod/objects/k1", &text, b"hi").await;
    assert_eq!(a.status, 200, "{}", a.body);
    let request = sent.recv().await.unwrap();
    assert!(
        request.starts_with("PUT /bucket/k1 HTTP/1.1\r\n"),
        "{request}"
    );
    let lower = request.to_ascii_lowercase();
    assert!(
        lower.contains("\r\ncontent-type: text/plain\r\n"),
        "{request}"
    );
    assert!(request.ends_with(r#"{"q": "hi"}"#), "{request}");

    let a = send_to(&gateway, "POST", "/prod/records", &text, b"r").await;
    assert_eq!(a.status, 200, "{}", a.body);
    let request = sent.recv().await.unwrap();
    // Kinesis speaks only AWS's JSON protocol: the action is the target.
    assert!(request.starts_with("POST / HTTP/1.1\r\n"), "{request}");
    let lower = request.to_ascii_lowercase();
    assert!(
        lower.contains("\r\ncontent-type: application/x-amz-json-1.1\r\n"),
        "{request}"
    );
    assert!(
        lower.contains("\r\nx-amz-target: kinesis_20131202.putrecord\r\n"),
        "{request}"
    );
    assert_eq!(lower.matches("\r\ncontent-type:").count(), 1, "{request}");

    // No http_method: POST, the verb actions take; no template for the
    // client's type: its body and type pass through.
    let xml = [("content-type", "application/xml")];
    let a = send_to(&gateway, "GET", "/prod/default", &xml, b"<x/>").await;
    assert_eq!(a.status, 200, "{}", a.body);
    let request = sent.recv().await.unwrap();
    assert!(
        request.starts_with("POST /?Action=ListQueues HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        request
            .to_ascii_lowercase()
            .contains("\r\ncontent-type: application/xml\r\n"),
        "{request}"
    );
}

/// A MOCK's status is the rendered document's top-level `statusCode`
/// number, wherever it stands among other fields; anything else (no such
/// field, a string, a nested one, text that is not JSON) is 200.
#[test]
fn a_mock_status_is_the_rendered_documents_status_code() {
    let status = |body: &str| {
        super::mock_answer(&super::MappedRequest {
            body: Bytes::copy_from_slice(body.as_bytes()),
            content_type: None,
            headers: Vec::new(),
            query: Vec::new(),
            path: Vec::new(),
        })
        .status
        .as_u16()
    };
    assert_eq!(
        status(r#"{"items": [{"statusCode": 500}], "statusCode": 404, "x": {"y": null}}"#),
        404
    );
    for other in [
        r#"{"statusCode": "404"}"#,
        r#"{"inner": {"statusCode": 404}}"#,
        r#"{"statusCode": 99999}"#,
        "[404]",
        "not json",
        "",
    ] {
        assert_eq!(status(other), 200, "{other}");
    }
}
