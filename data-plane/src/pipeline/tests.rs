//! The pipeline over tables compiled in memory, without a listener: a
//! snapshot built here goes through the real compiler, and requests with
//! in-memory bodies go through the gateway's phases. One table of cases
//! says, for each request, the status, AWS's error type and the phases it
//! passed, in order.

use super::*;
use crate::access_log::AccessLogSinks;
use crate::compile::compile;
use archway_proto::resource_name;
use archway_proto::v1::config_resource::Resource as Body;
use archway_proto::v1::{
    AccessKey, ApiKey, ApiProtocol, Authorizer, AuthorizerType, ConfigResource, Deployment,
    EndpointType, IamPrincipal, Integration, IntegrationType, JwtConfiguration, Method,
    MethodThrottle, MockResponse, NodeSettings, PrincipalType, QuotaPeriod, QuotaSettings,
    Resource, RestApi, Stage, ThrottleSettings, UsagePlan, UsagePlanStage,
};
use hmac::Mac;
use observe::Phase::{self, *};
use std::net::SocketAddr;

const DOMAIN: &str = "execute-api.test";
const MAX_PAYLOAD: usize = 1024;
const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const KEY_SECRET: &[u8] = b"the fleet's API key secret";
const PLAIN_KEY: &str = "plain-key-value-0001";
const METERED_KEY: &str = "metered-key-value-01";
const ALICE_KEY: &str = "AKIDALICE00000000001";
const MALLORY_KEY: &str = "AKIDMALLORY000000001";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// Nothing listens here: authorizers and JWKS at it are never reached by
/// the cases, which are refused before any call.
const NOWHERE: &str = "http://127.0.0.1:9";

fn res(name: String, body: Body) -> ConfigResource {
    ConfigResource {
        name,
        resource: Some(body),
    }
}

fn api(id: &str, protocol: ApiProtocol, private: bool, policy: &str) -> ConfigResource {
    res(
        resource_name::api(id),
        Body::Api(RestApi {
            id: id.into(),
            protocol: protocol as i32,
            endpoint_type: if private {
                EndpointType::Private
            } else {
                EndpointType::Regional
            } as i32,
            policy: policy.into(),
            ..Default::default()
        }),
    )
}

fn mock() -> Integration {
    Integration {
        r#type: IntegrationType::Mock as i32,
        mock: Some(MockResponse {
            status_code: 200,
            body: "{}".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn proxy(to: SocketAddr, timeout_ms: u32) -> Integration {
    Integration {
        r#type: IntegrationType::HttpProxy as i32,
        uri: format!("http://{to}/backend"),
        timeout_ms,
        ..Default::default()
    }
}

/// A method on its own resource at `path`.
struct Route {
    path: &'static str,
    verb: &'static str,
    integration: Integration,
    authorization: &'static str,
    authorizer: &'static str,
    key_required: bool,
}

fn route(path: &'static str, integration: Integration) -> Route {
    Route {
        path,
        verb: "GET",
        integration,
        authorization: "NONE",
        authorizer: "",
        key_required: false,
    }
}

fn deployment(api_id: &str, routes: Vec<Route>, authorizers: Vec<Authorizer>) -> ConfigResource {
    let mut resources = Vec::new();
    let mut methods = Vec::new();
    for (i, r) in routes.into_iter().enumerate() {
        let id = format!("r{i}");
        resources.push(Resource {
            id: id.clone(),
            path: r.path.into(),
            ..Default::default()
        });
        methods.push(Method {
            api_id: api_id.into(),
            resource_id: id,
            http_method: r.verb.into(),
            integration: Some(r.integration),
            api_key_required: r.key_required,
            authorization_type: r.authorization.into(),
            authorizer_id: r.authorizer.into(),
            ..Default::default()
        });
    }
    res(
        resource_name::deployment(api_id, "d1"),
        Body::Deployment(Deployment {
            id: "d1".into(),
            api_id: api_id.into(),
            resources,
            methods,
            authorizers,
            ..Default::default()
        }),
    )
}

fn stage(api_id: &str, method_settings: Vec<MethodThrottle>) -> ConfigResource {
    res(
        resource_name::stage(api_id, "prod"),
        Body::Stage(Stage {
            api_id: api_id.into(),
            stage_name: "prod".into(),
            deployment_id: "d1".into(),
            method_settings,
            ..Default::default()
        }),
    )
}

fn key_hash(value: &str) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(KEY_SECRET).unwrap();
    mac.update(value.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn api_key(id: &str, value: &str, plan: &str) -> ConfigResource {
    res(
        resource_name::api_key(id),
        Body::ApiKey(ApiKey {
            id: id.into(),
            enabled: true,
            value_hash: key_hash(value),
            usage_plan_ids: vec![plan.into()],
            ..Default::default()
        }),
    )
}

fn plan(id: &str, throttle: Option<ThrottleSettings>, quota: Option<u64>) -> ConfigResource {
    res(
        resource_name::usage_plan(id),
        Body::UsagePlan(UsagePlan {
            id: id.into(),
            name: id.into(),
            throttle,
            quota: quota.map(|limit| QuotaSettings {
                limit,
                period: QuotaPeriod::Day as i32,
                offset: 0,
            }),
            api_stages: vec![UsagePlanStage {
                api_id: "shop".into(),
                stage: "prod".into(),
                throttle: Vec::new(),
            }],
            ..Default::default()
        }),
    )
}

fn principal(name: &str, allowed_resource: &str) -> [ConfigResource; 2] {
    let key_id = if name == "alice" {
        ALICE_KEY
    } else {
        MALLORY_KEY
    };
    let arn = format!("arn:aws:iam::{ACCOUNT}:user/{name}");
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"{allowed_resource}"}}]}}"#
    );
    [
        res(
            resource_name::principal(name),
            Body::Principal(IamPrincipal {
                name: name.into(),
                r#type: PrincipalType::User as i32,
                arn: arn.clone(),
                policies: vec![policy],
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

/// The snapshot every case runs against. `refused` refuses connections,
/// `silent` accepts them and never answers.
fn snapshot(refused: SocketAddr, silent: SocketAddr) -> Vec<ConfigResource> {
    let jwt = Authorizer {
        id: "jwt".into(),
        name: "jwt".into(),
        r#type: AuthorizerType::Jwt as i32,
        jwt: Some(JwtConfiguration {
            issuer: "https://issuer.test".into(),
            audiences: vec!["shop".into()],
            jwks_uri: format!("{NOWHERE}/jwks"),
            ..Default::default()
        }),
        ..Default::default()
    };
    let token = Authorizer {
        id: "token".into(),
        name: "token".into(),
        r#type: AuthorizerType::Token as i32,
        authorizer_uri: format!("{NOWHERE}/authorize"),
        ..Default::default()
    };
    let authorized = |path, authorization, authorizer| Route {
        authorization,
        authorizer,
        ..route(path, mock())
    };
    let keyed = |path| Route {
        key_required: true,
        ..route(path, mock())
    };
    let shop_routes = vec![
        route("/ok", mock()),
        route("/items/{id}", mock()),
        authorized("/jwt", "JWT", "jwt"),
        authorized("/custom", "CUSTOM", "token"),
        authorized("/iam", "AWS_IAM", ""),
        keyed("/keyed"),
        keyed("/metered"),
        route("/throttled", mock()),
        route("/refused", proxy(refused, 1_000)),
        route("/silent", proxy(silent, 100)),
    ];
    let zero_bucket = MethodThrottle {
        resource_path: "/throttled".into(),
        http_method: "GET".into(),
        throttle: Some(ThrottleSettings {
            rate_limit: 0.0,
            burst_limit: 0,
        }),
    };
    let guarded_policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"*"},
        {"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:guarded/*/GET/denied"}]}"#;
    let mut resources = vec![
        res(
            "settings".into(),
            Body::Settings(NodeSettings {
                api_key_secret: KEY_SECRET.to_vec(),
                region: REGION.into(),
                account_id: ACCOUNT.into(),
                ..Default::default()
            }),
        ),
        api("shop", ApiProtocol::Rest, false, ""),
        deployment("shop", shop_routes, vec![jwt, token]),
        stage("shop", vec![zero_bucket]),
        api("shophttp", ApiProtocol::Http, false, ""),
        deployment("shophttp", vec![route("/ok", mock())], Vec::new()),
        stage("shophttp", Vec::new()),
        api("internal", ApiProtocol::Rest, true, ""),
        deployment("internal", vec![route("/ok", mock())], Vec::new()),
        stage("internal", Vec::new()),
        api("guarded", ApiProtocol::Rest, false, guarded_policy),
        deployment(
            "guarded",
            vec![route("/open", mock()), route("/denied", mock())],
            Vec::new(),
        ),
        stage("guarded", Vec::new()),
        plan(
            "basic",
            Some(ThrottleSettings {
                rate_limit: 1000.0,
                burst_limit: 1000,
            }),
            None,
        ),
        plan("metered", None, Some(1)),
        api_key("k-plain", PLAIN_KEY, "basic"),
        api_key("k-metered", METERED_KEY, "metered"),
    ];
    resources.extend(principal(
        "alice",
        &format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:shop/prod/GET/iam"),
    ));
    resources.extend(principal(
        "mallory",
        &format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:shop/prod/GET/ok"),
    ));
    resources
}

/// A gateway over the snapshot, with the listeners its integrations use.
struct Fixture {
    gateway: Gateway,
    tables: Arc<RuntimeTables>,
    /// Accepts connections and never answers (kept open for the test).
    _silent: tokio::net::TcpListener,
    /// Bound but not listening, so connections to it are refused; held for
    /// the test so no other process can take its port meanwhile.
    _refusing: tokio::net::TcpSocket,
}

async fn fixture() -> Fixture {
    let refusing = tokio::net::TcpSocket::new_v4().unwrap();
    refusing.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let refused = refusing.local_addr().unwrap();
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tables = compile(
        1,
        &snapshot(refused, silent.local_addr().unwrap()),
        &RuntimeTables::empty(),
        &AccessLogSinks::default(),
    )
    .expect("the snapshot compiles");
    let tables = Arc::new(tables);
    let gateway = Gateway::in_memory(tables.clone(), DOMAIN, MAX_PAYLOAD).unwrap();
    Fixture {
        gateway,
        tables,
        _silent: silent,
        _refusing: refusing,
    }
}

/// SigV4 headers for `GET {path}` on the shop API, signed now.
fn signed_headers(access_key: &str, path: &str) -> Vec<(&'static str, String)> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let host = format!("shop.{DOMAIN}");
    let uri = format!("http://{host}{path}");
    let identity =
        aws_credential_types::Credentials::new(access_key, SECRET, None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("execute-api")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        "GET",
        &uri,
        [("host", host.as_str())].into_iter(),
        SignableBody::Bytes(b""),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut request = http::Request::get(&uri).body(()).unwrap();
    instructions.apply_to_request_http1x(&mut request);
    request
        .headers()
        .iter()
        .map(|(name, value)| {
            let name: &'static str = match name.as_str() {
                "authorization" => "authorization",
                "x-amz-date" => "x-amz-date",
                "x-amz-content-sha256" => "x-amz-content-sha256",
                other => panic!("unexpected signed header {other}"),
            };
            (name, value.to_str().unwrap().to_owned())
        })
        .collect()
}

/// One request and what the pipeline must make of it.
struct Case {
    name: &'static str,
    method: &'static str,
    /// The API id, the first label of the host.
    api: &'static str,
    path: &'static str,
    headers: Vec<(&'static str, String)>,
    /// The connection is private (may reach PRIVATE APIs).
    private: bool,
    /// Identical requests sent first (their answers are not checked).
    before: usize,
    status: u16,
    /// `x-amzn-ErrorType` of a refusal; None: the integration answered.
    error_type: Option<&'static str>,
    phases: &'static [Phase],
}

fn case(name: &'static str, api: &'static str, path: &'static str) -> Case {
    Case {
        name,
        method: "GET",
        api,
        path,
        headers: Vec::new(),
        private: false,
        before: 0,
        status: 200,
        error_type: None,
        phases: &[],
    }
}

impl Case {
    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn method(mut self, method: &'static str) -> Self {
        self.method = method;
        self
    }

    fn private(mut self) -> Self {
        self.private = true;
        self
    }

    fn after(mut self, before: usize) -> Self {
        self.before = before;
        self
    }

    fn answered(mut self, phases: &'static [Phase]) -> Self {
        self.phases = phases;
        self
    }

    fn refused(mut self, status: u16, error_type: &'static str, phases: &'static [Phase]) -> Self {
        self.status = status;
        self.error_type = Some(error_type);
        self.phases = phases;
        self
    }

    fn request(&self) -> Request<StreamingBody> {
        let mut request = Request::builder()
            .method(self.method)
            .uri(self.path)
            .header(http::header::HOST, format!("{}.{DOMAIN}", self.api));
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        request
            .body(crate::body::streaming(http_body_util::Empty::<Bytes>::new()))
            .unwrap()
    }
}

/// What one request came to.
struct Outcome {
    response: Response<GatewayBody>,
    phases: Vec<Phase>,
    refusal: Option<GatewayResponse>,
}

/// The phases [`Gateway::handle`] runs, over the fixture's tables, keeping
/// what the observation recorded before logging consumes it.
async fn run(f: &Fixture, request: Request<StreamingBody>, client: &ClientInfo) -> Outcome {
    let mut cx = f.gateway.context(&f.tables, request, client);
    let response = f.gateway.respond(&mut cx).await;
    let phases = cx.observation.phases().collect();
    let refusal = cx.observation.refusal.clone();
    cx.observation.finish(&response, &f.gateway.telemetry);
    Outcome {
        response,
        phases,
        refusal,
    }
}

fn client(private: bool) -> ClientInfo {
    ClientInfo::new("127.0.0.1".parse().unwrap(), private, false)
}

/// Refused after routing, before any phase after it passed.
const ROUTED: &[Phase] = &[Resolved, RouteMatched];
/// Routed and answered, with no authorizer, key, limit or policy on the way.
const SERVED: &[Phase] = &[Resolved, RouteMatched, IntegrationAnswered];

fn cases() -> Vec<Case> {
    vec![
        // Served.
        case("a mock route", "shop", "/prod/ok").answered(SERVED),
        case("path parameters", "shop", "/prod/items/42").answered(SERVED),
        case("a path normalization rewrites", "shop", "/prod//items/4%32").answered(SERVED),
        case(
            "a private API on a private connection",
            "internal",
            "/prod/ok",
        )
        .private()
        .answered(SERVED),
        case("an API key in a throttled plan", "shop", "/prod/keyed")
            .header("x-api-key", PLAIN_KEY)
            .answered(&[
                Resolved,
                RouteMatched,
                ApiKeyAccepted,
                LimitsPassed,
                IntegrationAnswered,
            ]),
        case("the first request of a quota", "shop", "/prod/metered")
            .header("x-api-key", METERED_KEY)
            .answered(&[
                Resolved,
                RouteMatched,
                ApiKeyAccepted,
                LimitsPassed,
                IntegrationAnswered,
            ]),
        case("a resource policy's allow", "guarded", "/prod/open").answered(&[
            Resolved,
            RouteMatched,
            PolicyAllowed,
            IntegrationAnswered,
        ]),
        // Admission: before any table is read.
        case("a declared body over the limit", "shop", "/prod/ok")
            .method("POST")
            .header("content-length", &(MAX_PAYLOAD + 1).to_string())
            .refused(413, "RequestTooLargeException", &[]),
        case("an unreadable content-length", "shop", "/prod/ok")
            .header("content-length", "12abc")
            .refused(400, "BadRequestException", &[]),
        case("a dot-dot segment", "shop", "/prod/a/../ok").refused(400, "BadRequestException", &[]),
        // Resolve.
        case("two Host headers", "shop", "/prod/ok")
            .header("host", "other.execute-api.test")
            .refused(400, "BadRequestException", &[]),
        case("a host with labels before the API id", "x.shop", "/prod/ok").refused(
            403,
            "ForbiddenException",
            &[],
        ),
        case("an unknown API", "nope", "/prod/ok").refused(403, "ForbiddenException", &[]),
        case("an unknown stage", "shop", "/beta/ok").refused(403, "ForbiddenException", &[]),
        case(
            "a private API on a public connection",
            "internal",
            "/prod/ok",
        )
        .refused(403, "ForbiddenException", &[]),
        // Route.
        case("REST: no such resource", "shop", "/prod/nothing").refused(
            403,
            "MissingAuthenticationTokenException",
            &[Resolved],
        ),
        case("REST: no such method", "shop", "/prod/ok")
            .method("DELETE")
            .refused(403, "MissingAuthenticationTokenException", &[Resolved]),
        case("HTTP API: no such route", "shophttp", "/prod/nothing").refused(
            404,
            "NotFoundException",
            &[Resolved],
        ),
        // Authorize.
        case("JWT: no token", "shop", "/prod/jwt").refused(401, "UnauthorizedException", ROUTED),
        case("JWT: not a bearer token", "shop", "/prod/jwt")
            .header("authorization", "Basic YTpi")
            .refused(401, "UnauthorizedException", ROUTED),
        case("JWT: not a JWT", "shop", "/prod/jwt")
            .header("authorization", "Bearer not-a-jwt")
            .refused(401, "UnauthorizedException", ROUTED),
        case("custom authorizer: no token", "shop", "/prod/custom").refused(
            401,
            "UnauthorizedException",
            ROUTED,
        ),
        case("IAM: unsigned", "shop", "/prod/iam").refused(
            403,
            "MissingAuthenticationTokenException",
            ROUTED,
        ),
        // Resource and identity policies.
        case("a resource policy's deny", "guarded", "/prod/denied").refused(
            403,
            "AccessDeniedException",
            ROUTED,
        ),
        // API keys.
        case("API key: missing", "shop", "/prod/keyed").refused(403, "ForbiddenException", ROUTED),
        case("API key: unknown", "shop", "/prod/keyed")
            .header("x-api-key", "not-a-key-of-ours")
            .refused(403, "ForbiddenException", ROUTED),
        // Throttles and quotas.
        case("a zero stage throttle", "shop", "/prod/throttled").refused(
            429,
            "TooManyRequestsException",
            ROUTED,
        ),
        case("over the plan's quota", "shop", "/prod/metered")
            .header("x-api-key", METERED_KEY)
            .after(1)
            .refused(
                429,
                "LimitExceededException",
                &[Resolved, RouteMatched, ApiKeyAccepted],
            ),
        // Integration.
        case(
            "a backend that refuses connections",
            "shop",
            "/prod/refused",
        )
        .refused(502, "IntegrationFailureException", SERVED),
        case("a backend that never answers", "shop", "/prod/silent").refused(
            504,
            "IntegrationTimeoutException",
            SERVED,
        ),
    ]
}

/// The cases whose requests are signed (their headers depend on the
/// clock, so they are made when the table runs).
fn signed_cases() -> Vec<Case> {
    let signed = |name, key| {
        let mut case = case(name, "shop", "/prod/iam");
        case.headers = signed_headers(key, "/prod/iam");
        case
    };
    vec![
        signed("IAM: a principal whose policy allows the method", ALICE_KEY).answered(&[
            Resolved,
            RouteMatched,
            SignatureVerified,
            PolicyAllowed,
            IntegrationAnswered,
        ]),
        signed("IAM: a principal whose policy does not", MALLORY_KEY).refused(
            403,
            "AccessDeniedException",
            &[Resolved, RouteMatched, SignatureVerified],
        ),
        signed("IAM: an unknown access key", "AKIDUNKNOWN000000001").refused(
            403,
            "UnrecognizedClientException",
            ROUTED,
        ),
        {
            let mut tampered = signed("IAM: a signature for another path", ALICE_KEY);
            tampered.headers = signed_headers(ALICE_KEY, "/prod/ok");
            tampered.refused(403, "InvalidSignatureException", ROUTED)
        },
    ]
}

#[tokio::test]
async fn every_case_gets_its_status_error_type_and_phases() {
    let f = fixture().await;
    let mut failures = Vec::new();
    for case in cases().into_iter().chain(signed_cases()) {
        let client = client(case.private);
        for _ in 0..case.before {
            run(&f, case.request(), &client).await;
        }
        let outcome = run(&f, case.request(), &client).await;
        let status = outcome.response.status().as_u16();
        let error_type = outcome
            .response
            .headers()
            .get(headers::X_AMZN_ERROR_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let expected_type = case.error_type.map(str::to_owned);
        if status != case.status
            || error_type != expected_type
            || outcome.phases != case.phases
            || outcome.refusal.is_some() != case.error_type.is_some()
        {
            failures.push(format!(
                "{}: got {status} {error_type:?} {:?} (refusal {:?}), want {} {expected_type:?} {:?}",
                case.name, outcome.phases, outcome.refusal, case.status, case.phases
            ));
        }
        assert!(
            outcome
                .response
                .headers()
                .contains_key(headers::X_AMZN_REQUEST_ID),
            "{}: every answer carries the request id",
            case.name
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The route phase keeps parameters as spans of the canonical path, also
/// when normalization rewrote it (here `%41` is decoded, `//` dropped).
#[tokio::test]
async fn path_parameters_are_read_from_the_canonical_path() {
    let f = fixture().await;
    let client = client(false);
    for (path, stage_path, id) in [
        ("/prod/items/42", "/items/42", "42"),
        ("/prod//items/a%41b", "/items/aAb", "aAb"),
    ] {
        let request = case("params", "shop", path).request();
        let mut cx = f.gateway.context(&f.tables, request, &client);
        let response = f.gateway.respond(&mut cx).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(cx.stage_path(), stage_path);
        assert_eq!(&cx.params()[..], &[("id", id)]);
    }
}

/// The authorize phase's answer says how the caller proved itself.
#[tokio::test]
async fn an_iam_caller_is_authorized_as_its_access_key() {
    let f = fixture().await;
    let client = client(false);
    let mut signed = case("signed", "shop", "/prod/iam");
    signed.headers = signed_headers(ALICE_KEY, "/prod/iam");
    let mut cx = f.gateway.context(&f.tables, signed.request(), &client);
    assert_eq!(f.gateway.respond(&mut cx).await.status(), 200);
    let key = cx.authorization.iam_key().expect("an IAM caller");
    assert_eq!(&*key.principal_arn, "arn:aws:iam::123456789012:user/alice");
    assert!(cx.authorization.principal.is_some());
    let mut anonymous = f.gateway.context(
        &f.tables,
        case("open", "shop", "/prod/ok").request(),
        &client,
    );
    f.gateway.respond(&mut anonymous).await;
    assert!(matches!(
        anonymous.authorization.caller,
        caller::Caller::Anonymous
    ));
}

/// `handle` itself: the tables it loads, the request id it stamps.
#[tokio::test]
async fn handle_answers_from_the_shared_tables() {
    let f = fixture().await;
    let client = client(false);
    let ok = f
        .gateway
        .handle(case("ok", "shop", "/prod/ok").request(), &client)
        .await;
    assert_eq!(ok.status(), 200);
    assert!(ok.headers().contains_key(headers::X_AMZN_REQUEST_ID));
    let refused = f
        .gateway
        .handle(case("nope", "nope", "/prod/ok").request(), &client)
        .await;
    assert_eq!(refused.status(), 403);
    assert!(refused.headers().contains_key(headers::X_AMZN_REQUEST_ID));
}
