//! `@connections` through the whole pipeline ([`Gateway::handle`]) over
//! tables compiled in memory, with connections held in the gateway's own
//! registry: what is parsed, what is authorized, what reaches the
//! connection, and the ways around authorization, each a named test.

use super::*;
use crate::access_log::AccessLogSinks;
use crate::compile::compile;
use crate::pipeline::Gateway;
use crate::pipeline::headers::ClientInfo;
use crate::tables::RuntimeTables;
use crate::websocket::connection_id::NodeTag;
use crate::websocket::registry::{Connection, Connections, Outbound};
use archway_proto::resource_name;
use archway_proto::v1::config_resource::Resource as Body;
use archway_proto::v1::{
    AccessKey, ApiProtocol, ConfigResource, Deployment, IamPrincipal, Integration, IntegrationType,
    Method as ApiMethod, MockResponse, NodeSettings, PrincipalType, Resource, RestApi,
    Stage as ApiStage,
};
use http_body_util::BodyExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

const DOMAIN: &str = "execute-api.test";
const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// Allowed ManageConnections on the chat API's prod stage.
const OPS: &str = "AKIDOPS0000000000001";
/// Allowed only execute-api:Invoke, on everything.
const INVOKER: &str = "AKIDINVOKER000000001";
/// Allowed ManageConnections everywhere, explicitly denied DELETE.
const FENCED: &str = "AKIDFENCED0000000001";

fn res(name: String, body: Body) -> ConfigResource {
    ConfigResource {
        name,
        resource: Some(body),
    }
}

/// An API with a stage `prod` (compiled as REST, then made WEBSOCKET in
/// the tables: these tests are about `@connections`, not about compiling
/// routes).
fn api(id: &str) -> [ConfigResource; 3] {
    [
        res(
            resource_name::api(id),
            Body::Api(RestApi {
                id: id.into(),
                protocol: ApiProtocol::Rest as i32,
                ..Default::default()
            }),
        ),
        res(
            resource_name::deployment(id, "d1"),
            Body::Deployment(Deployment {
                id: "d1".into(),
                api_id: id.into(),
                resources: vec![Resource {
                    id: "root".into(),
                    path: "/".into(),
                    ..Default::default()
                }],
                methods: vec![ApiMethod {
                    api_id: id.into(),
                    resource_id: "root".into(),
                    http_method: "GET".into(),
                    authorization_type: "NONE".into(),
                    integration: Some(Integration {
                        r#type: IntegrationType::Mock as i32,
                        mock: Some(MockResponse {
                            status_code: 200,
                            body: "{}".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        ),
        res(
            resource_name::stage(id, "prod"),
            Body::Stage(ApiStage {
                api_id: id.into(),
                stage_name: "prod".into(),
                deployment_id: "d1".into(),
                ..Default::default()
            }),
        ),
    ]
}

fn principal(name: &str, key_id: &str, statements: &str) -> [ConfigResource; 2] {
    let arn = format!("arn:aws:iam::{ACCOUNT}:user/{name}");
    [
        res(
            resource_name::principal(name),
            Body::Principal(IamPrincipal {
                name: name.into(),
                r#type: PrincipalType::User as i32,
                arn: arn.clone(),
                policies: vec![format!(
                    r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#
                )],
                ..Default::default()
            }),
        ),
        res(
            resource_name::access_key(key_id),
            Body::AccessKey(AccessKey {
                access_key_id: key_id.into(),
                principal: name.into(),
                secret_access_key: SECRET.into(),
                enabled: true,
                principal_arn: arn,
                ..Default::default()
            }),
        ),
    ]
}

fn tables() -> RuntimeTables {
    let statement = |effect: &str, action: &str, resource: &str| {
        format!(r#"{{"Effect":"{effect}","Action":"{action}","Resource":"{resource}"}}"#)
    };
    let chat = format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:chat/prod");
    let mut resources = vec![res(
        "settings".into(),
        Body::Settings(NodeSettings {
            region: REGION.into(),
            account_id: ACCOUNT.into(),
            ..Default::default()
        }),
    )];
    resources.extend(api("chat"));
    resources.extend(api("other"));
    resources.extend(api("shop"));
    resources.extend(principal(
        "ops",
        OPS,
        &statement(
            "Allow",
            MANAGE_CONNECTIONS_ACTION,
            &format!("{chat}/*/@connections/*"),
        ),
    ));
    resources.extend(principal(
        "invoker",
        INVOKER,
        &statement("Allow", "execute-api:Invoke", "*"),
    ));
    resources.extend(principal(
        "fenced",
        FENCED,
        &[
            statement("Allow", MANAGE_CONNECTIONS_ACTION, "*"),
            statement(
                "Deny",
                MANAGE_CONNECTIONS_ACTION,
                &format!("{chat}/DELETE/@connections/*"),
            ),
        ]
        .join(","),
    ));
    let mut tables = compile(
        1,
        &resources,
        &RuntimeTables::empty(),
        &AccessLogSinks::default(),
    )
    .expect("the snapshot compiles");
    for id in ["chat", "other"] {
        tables.apis.get_mut(id).unwrap().protocol = ApiProtocol::Websocket;
    }
    tables
}

struct Fixture {
    gateway: Gateway,
    connections: Arc<Connections>,
}

fn fixture() -> Fixture {
    let connections = Arc::new(Connections::new(NodeTag::random()));
    let gateway = Gateway::in_memory(Arc::new(tables()), DOMAIN, 1024 * 1024)
        .unwrap()
        .with_connections_api(Arc::new(Fleet::local(connections.clone())));
    Fixture {
        gateway,
        connections,
    }
}

impl Fixture {
    /// A connection of the chat API's prod stage, whose outbox holds
    /// `capacity` messages.
    fn connect(&self, capacity: usize) -> (ConnectionId, mpsc::Receiver<Outbound>) {
        let (tx, rx) = mpsc::channel(capacity);
        let connection = Arc::new(Connection::new(
            self.connections.new_id(),
            "chat",
            "prod",
            1_764_658_430_123,
            "192.0.2.9".parse().unwrap(),
            "test-client/1.0",
            tx,
            crate::websocket::settings::DEFAULT_OUTBOX_BYTES,
        ));
        let id = connection.id;
        self.connections.insert(connection);
        (id, rx)
    }

    async fn send(&self, request: http::Request<Vec<u8>>) -> Answer {
        let client = ClientInfo::new("127.0.0.1".parse().unwrap(), false, false);
        let request = request
            .map(|body| crate::body::streaming(http_body_util::Full::new(Bytes::from(body))));
        let response = self.gateway.handle(request, &client).await;
        let status = response.status();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            error_type,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    error_type: Option<String>,
    body: String,
}

impl Answer {
    fn assert(&self, status: u16, error_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        assert_eq!(self.error_type.as_deref(), error_type, "{self:?}");
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A request to `api`'s host; `path` exactly as sent.
fn request(method: &str, api: &str, path: &str, body: &[u8]) -> http::Request<Vec<u8>> {
    http::Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, format!("{api}.{DOMAIN}"))
        .body(body.to_vec())
        .unwrap()
}

/// The request signed by `key` at `time`, as an SDK signs it.
fn signed_at(
    key: &str,
    mut request: http::Request<Vec<u8>>,
    time: SystemTime,
) -> http::Request<Vec<u8>> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let host = request.headers()[header::HOST].to_str().unwrap().to_owned();
    let uri = format!("http://{host}{}", request.uri());
    let identity = aws_credential_types::Credentials::new(key, SECRET, None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("execute-api")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        request.method().as_str(),
        &uri,
        [("host", host.as_str())].into_iter(),
        SignableBody::Bytes(request.body()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(&mut request);
    request
}

fn signed(key: &str, request: http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
    signed_at(key, request, SystemTime::now())
}

// ---- parsing ----

#[test]
fn parses_the_three_verbs_and_one_id() {
    for (method, verb) in [
        (Method::POST, Verb::Post),
        (Method::GET, Verb::Get),
        (Method::DELETE, Verb::Delete),
    ] {
        assert_eq!(
            parse(&method, "/@connections/AbCdEfGhIjKlMnOp").unwrap(),
            Target {
                verb,
                id: "AbCdEfGhIjKlMnOp"
            }
        );
    }
}

#[test]
fn other_shapes_under_connections_are_forbidden() {
    for path in [
        "/@connections",
        "/@connections/",
        "/@connections/a/b",
        "/@connections/a/",
    ] {
        assert_eq!(
            parse(&Method::GET, path),
            Err(GatewayResponse::Forbidden),
            "{path}"
        );
    }
    for method in [Method::PUT, Method::PATCH, Method::HEAD, Method::OPTIONS] {
        assert_eq!(
            parse(&method, "/@connections/AbCdEfGhIjKlMnOp"),
            Err(GatewayResponse::Forbidden),
            "{method}"
        );
    }
}

#[test]
fn times_are_written_as_aws_writes_them() {
    assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(iso8601(1_764_658_430_123), "2025-12-02T06:53:50.123Z");
    assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
}

#[test]
fn the_arn_names_the_verb_and_the_connection() {
    let arn = MethodArn {
        region: REGION,
        account: ACCOUNT,
        api_id: "chat",
        stage: "prod",
        method: Verb::Delete.as_str(),
        path: Some("/@connections/AbCdEfGhIjKlMnOp"),
    };
    assert_eq!(
        arn.to_string(),
        "arn:aws:execute-api:us-east-1:123456789012:chat/prod/DELETE/@connections/AbCdEfGhIjKlMnOp"
    );
}

// ---- what a call does ----

#[tokio::test]
async fn a_signed_post_reaches_the_connection_as_its_data() {
    let f = fixture();
    let (id, mut rx) = f.connect(4);
    let path = format!("/prod/@connections/{id}");
    let answer = f
        .send(signed(OPS, request("POST", "chat", &path, b"hello")))
        .await;
    answer.assert(200, None);
    assert_eq!(answer.body, "");
    assert!(matches!(rx.try_recv(), Ok(Outbound::Data(d)) if &d[..] == b"hello"));
}

#[tokio::test]
async fn get_answers_awss_json() {
    let f = fixture();
    let (id, _rx) = f.connect(4);
    let path = format!("/prod/@connections/{id}");
    let answer = f
        .send(signed(OPS, request("GET", "chat", &path, b"")))
        .await;
    answer.assert(200, None);
    let info = answer.json();
    assert_eq!(info["connectedAt"], "2025-12-02T06:53:50.123Z");
    assert_eq!(info["identity"]["sourceIp"], "192.0.2.9");
    assert_eq!(info["identity"]["userAgent"], "test-client/1.0");
    assert_eq!(info["lastActiveAt"], "2025-12-02T06:53:50.123Z");
}

#[tokio::test]
async fn delete_closes_the_connection() {
    let f = fixture();
    let (id, mut rx) = f.connect(4);
    let path = format!("/prod/@connections/{id}");
    let answer = f
        .send(signed(OPS, request("DELETE", "chat", &path, b"")))
        .await;
    answer.assert(204, None);
    let connection = f.connections.get(&id).expect("held until its task ends");
    assert_eq!(connection.close_asked(), Some((1000, "")));
    assert!(rx.try_recv().is_err(), "the close is not queued as data");
}

/// A full outbox is LimitExceeded (429), and a DELETE still reaches it.
#[tokio::test]
async fn a_full_outbox_is_limit_exceeded_and_delete_still_answers_204() {
    let f = fixture();
    let (id, _rx) = f.connect(1);
    let path = format!("/prod/@connections/{id}");
    f.send(signed(OPS, request("POST", "chat", &path, b"1")))
        .await
        .assert(200, None);
    f.send(signed(OPS, request("POST", "chat", &path, b"2")))
        .await
        .assert(429, Some("LimitExceededException"));
    f.send(signed(OPS, request("DELETE", "chat", &path, b"")))
        .await
        .assert(204, None);
    let connection = f.connections.get(&id).unwrap();
    assert_eq!(connection.close_asked(), Some((1000, "")));
}

#[tokio::test]
async fn unknown_malformed_and_other_nodes_ids_are_gone() {
    let f = fixture();
    let unknown = f.connections.new_id().to_string();
    let elsewhere = ConnectionId::new(NodeTag::random()).to_string();
    for id in [unknown.as_str(), "not-an-id", elsewhere.as_str()] {
        let path = format!("/prod/@connections/{id}");
        let answer = f
            .send(signed(OPS, request("POST", "chat", &path, b"x")))
            .await;
        answer.assert(410, Some("GoneException"));
        assert!(answer.json()["message"].is_string());
    }
}

#[tokio::test]
async fn a_connection_of_another_api_is_gone_to_it() {
    let f = fixture();
    let (id, mut rx) = f.connect(4);
    // Fenced may manage any API's connections: the id is still chat's.
    let path = format!("/prod/@connections/{id}");
    let answer = f
        .send(signed(FENCED, request("POST", "other", &path, b"x")))
        .await;
    answer.assert(410, Some("GoneException"));
    assert!(rx.try_recv().is_err(), "nothing delivered");
}

#[tokio::test]
async fn a_post_over_128_kib_is_payload_too_large() {
    let f = fixture();
    let (id, mut rx) = f.connect(4);
    let path = format!("/prod/@connections/{id}");
    let at_limit = vec![b'a'; MAX_POST_BYTES];
    f.send(signed(OPS, request("POST", "chat", &path, &at_limit)))
        .await
        .assert(200, None);
    let over = vec![b'a'; MAX_POST_BYTES + 1];
    f.send(signed(OPS, request("POST", "chat", &path, &over)))
        .await
        .assert(413, Some("PayloadTooLargeException"));
    assert!(matches!(rx.try_recv(), Ok(Outbound::Data(d)) if d.len() == MAX_POST_BYTES));
    assert!(rx.try_recv().is_err(), "the large one was not sent");
}

// ---- refusals, and the ways around them ----

#[tokio::test]
async fn unsigned_is_refused() {
    let f = fixture();
    let (id, mut rx) = f.connect(4);
    let path = format!("/prod/@connections/{id}");
    for method in ["POST", "GET", "DELETE"] {
        f.send(request(method, "chat", &path, b"x"))
            .await
            .assert(403, Some("MissingAuthenticationTokenException"));
    }
    assert!(rx.try_recv().is_err(), "nothing delivered");
}

#[tokio::test]
async fn a_principal_allowed_only_invoke_is_refused() {
    let f = fixture();
    let (id, mut rx) = f.connect(4);
    let path = format!("/prod/@connections/{id}");
    let answer = f
        .send(signed(INVOKER, request("POST", "chat", &path, b"x")))
        .await;
    answer.assert(403, Some("AccessDeniedException"));
    assert_eq!(
        answer.json()["message"],
        format!(
            "User: arn:aws:iam::{ACCOUNT}:user/invoker is not authorized to perform: \
             execute-api:ManageConnections on resource: \
             arn:aws:execute-api:us-east-1:********9012:chat/prod/POST/@connections/{id}"
        )
    );
    assert!(rx.try_recv().is_err(), "nothing delivered");
}

#[tokio::test]
async fn another_apis_arn_is_refused() {
    let f = fixture();
    // Ops may manage chat's connections, not other's: refused before the
    // id is even looked at.
    let id = f.connections.new_id();
    let path = format!("/prod/@connections/{id}");
    f.send(signed(OPS, request("GET", "other", &path, b"")))
        .await
        .assert(403, Some("AccessDeniedException"));
}

#[tokio::test]
async fn an_explicit_deny_of_one_verb_wins() {
    let f = fixture();
    let (id, mut rx) = f.connect(4);
    let path = format!("/prod/@connections/{id}");
    let answer = f
        .send(signed(FENCED, request("DELETE", "chat", &path, b"")))
        .await;
    answer.assert(403, Some("AccessDeniedException"));
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .ends_with("with an explicit deny")
    );
    assert!(rx.try_recv().is_err(), "nothing delivered");
    assert_eq!(
        f.connections.get(&id).unwrap().close_asked(),
        None,
        "not closed"
    );
    f.send(signed(FENCED, request("GET", "chat", &path, b"")))
        .await
        .assert(200, None);
}

#[tokio::test]
async fn a_signature_outside_the_clock_skew_is_refused() {
    let f = fixture();
    let (id, mut rx) = f.connect(4);
    let path = format!("/prod/@connections/{id}");
    for skew in [
        SystemTime::now() - Duration::from_secs(6 * 60),
        SystemTime::now() + Duration::from_secs(6 * 60),
    ] {
        let answer = f
            .send(signed_at(OPS, request("POST", "chat", &path, b"x"), skew))
            .await;
        answer.assert(403, Some("InvalidSignatureException"));
        assert!(
            answer.json()["message"]
                .as_str()
                .unwrap()
                .starts_with("Signature"),
            "{answer:?}"
        );
    }
    assert!(rx.try_recv().is_err(), "nothing delivered");
}

#[tokio::test]
async fn a_signature_over_another_body_is_refused() {
    let f = fixture();
    let (id, mut rx) = f.connect(4);
    let path = format!("/prod/@connections/{id}");
    let mut tampered = signed(OPS, request("POST", "chat", &path, b"signed"));
    *tampered.body_mut() = b"swapped".to_vec();
    tampered.headers_mut().remove(header::CONTENT_LENGTH);
    f.send(tampered)
        .await
        .assert(403, Some("InvalidSignatureException"));
    assert!(rx.try_recv().is_err(), "nothing delivered");
}

#[tokio::test]
async fn an_encoded_connections_segment_is_the_same_resource() {
    let f = fixture();
    let (id, mut rx) = f.connect(4);
    let path = format!("/prod/%40connections/{id}");
    // Unsigned or signed by a principal without the right: refused as for
    // `@connections` itself, never routed elsewhere.
    f.send(request("POST", "chat", &path, b"x"))
        .await
        .assert(403, Some("MissingAuthenticationTokenException"));
    f.send(signed(INVOKER, request("POST", "chat", &path, b"x")))
        .await
        .assert(403, Some("AccessDeniedException"));
    f.send(signed(OPS, request("POST", "chat", &path, b"encoded")))
        .await
        .assert(200, None);
    assert!(matches!(rx.try_recv(), Ok(Outbound::Data(d)) if &d[..] == b"encoded"));
}

#[tokio::test]
async fn double_slashes_are_the_same_resource() {
    let f = fixture();
    let (id, mut rx) = f.connect(4);
    for path in [
        format!("/prod//@connections/{id}"),
        format!("//prod/@connections//{id}"),
        format!("/prod/@connections/{id}/"),
    ] {
        f.send(request("POST", "chat", &path, b"x"))
            .await
            .assert(403, Some("MissingAuthenticationTokenException"));
        f.send(signed(INVOKER, request("POST", "chat", &path, b"x")))
            .await
            .assert(403, Some("AccessDeniedException"));
    }
    assert!(rx.try_recv().is_err(), "nothing delivered");
}

#[tokio::test]
async fn an_encoded_id_is_read_decoded() {
    let f = fixture();
    let (id, mut rx) = f.connect(4);
    let text = id.to_string();
    // The first character percent-encoded: the same id, and the same ARN
    // (the principal's policy names the decoded one through a wildcard;
    // the refusal below shows the ARN is the decoded id's).
    let encoded = format!("%{:02X}{}", text.as_bytes()[0], &text[1..]);
    let path = format!("/prod/@connections/{encoded}");
    f.send(signed(OPS, request("POST", "chat", &path, b"via encoding")))
        .await
        .assert(200, None);
    assert!(matches!(rx.try_recv(), Ok(Outbound::Data(d)) if &d[..] == b"via encoding"));
    let refused = f
        .send(signed(INVOKER, request("POST", "chat", &path, b"x")))
        .await;
    assert!(
        refused.body.contains(&format!("@connections/{text}")),
        "{refused:?}"
    );
    // An encoded `/` inside the id is refused before anything else.
    let slashed = format!("/prod/@connections/{}%2F{}", &text[..8], &text[8..]);
    f.send(signed(OPS, request("POST", "chat", &slashed, b"x")))
        .await
        .assert(400, Some("BadRequestException"));
    assert!(rx.try_recv().is_err(), "nothing more delivered");
}

#[tokio::test]
async fn a_rest_api_has_no_connections_api() {
    let f = fixture();
    let (id, mut rx) = f.connect(4);
    let path = format!("/prod/@connections/{id}");
    // Signed by a principal allowed ManageConnections everywhere: a REST
    // API taking `@connections` would deliver or answer 410; it has no
    // such route, so the answer is the missing route's.
    let answer = f
        .send(signed(FENCED, request("POST", "shop", &path, b"x")))
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{answer:?}");
    assert!(
        format!("{answer:?}").contains("Missing Authentication Token"),
        "{answer:?}"
    );
    assert!(rx.try_recv().is_err(), "nothing delivered");
}
