//! Per-request cost of the authorizer kinds with warm caches, beside the
//! JWT bench (`--bench jwt`):
//! - a custom TOKEN authorizer whose answer is cached: identity, cache
//!   lookup and the cached policy evaluated against the method ARN;
//! - AWS_IAM: SigV4 parse and verify of a signed GET, key lookup, and the
//!   identity policies with a resource policy;
//! - a resource policy alone (source CIDR condition) for anonymous callers.
//!
//! The custom authorizer is called once, for real, by a server this bench
//! runs on loopback, to warm the cache.
//!
//! Run: `cargo bench -p archway-data-plane --bench authorizers`

use archway_data_plane::pipeline::caller::{Authorization, Caller};
use archway_data_plane::pipeline::custom_authorizer::{Call, CustomAuthorizers};
use archway_data_plane::pipeline::iam;
use archway_data_plane::pipeline::policy::{Invocation, authorize_invoke};
use archway_data_plane::tables::{CustomAuth, CustomIdentity, IamKey, IamTable, RuntimeTables};
use archway_proto::policy::{MethodArn, Policy, PolicyKind};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The node's allocator (`data-plane/src/bin/data_plane.rs`), so allocation
/// costs what it costs when serving.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// An authorizer that allows GET on the whole API, on a loopback port.
fn authorizer_server(rt: &tokio::runtime::Runtime) -> String {
    use http_body_util::Full;
    use hyper::service::service_fn;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let service = service_fn(|_req| async {
                    let body = format!(
                        r#"{{"principalId":"alice","policyDocument":{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:{REGION}:{ACCOUNT}:abc123/prod/GET/*"}}]}},"context":{{"tier":"gold"}}}}"#
                    );
                    Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                        bytes::Bytes::from(body),
                    )))
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}/authorize")
}

fn custom(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let uri = authorizer_server(&rt);
    let auth = CustomAuth {
        id: "tokens".into(),
        fingerprint: [7; 32],
        identity: CustomIdentity::Token {
            header: http::header::AUTHORIZATION,
            validation: Some(regex::Regex::new("^(?:Bearer [A-Za-z0-9._-]+)$").unwrap()),
        },
        uri: uri.parse().unwrap(),
        ttl: Duration::from_secs(300),
        timeout: Duration::from_secs(5),
    };
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        "Bearer eyJhbGciOiJSUzI1NiJ9.payload.signature"
            .parse()
            .unwrap(),
    );
    let variables = HashMap::new();
    let extensions = http::Extensions::new();
    let call = Call {
        auth: &auth,
        region: REGION,
        account_id: ACCOUNT,
        api_id: "abc123",
        stage: "prod",
        stage_variables: &variables,
        resource_path: "/pets/{id}",
        resource_id: "r3s0urce",
        path: "/pets/42",
        route_key: None,
        connection_id: None,
        domain_name: "abc123.execute-api.localhost",
        params: &[("id", "42")],
        method: &http::Method::GET,
        headers: &headers,
        extensions: &extensions,
        query: None,
        source_ip: "127.0.0.1".parse().unwrap(),
        secure_transport: false,
        request_id: "c0ffee00-0000-4000-8000-000000000000",
    };
    let authorizers = CustomAuthorizers::default();
    // The one real call, which fills the cache.
    rt.block_on(authorizers.authorize(&call)).unwrap();
    c.bench_function("custom TOKEN authorizer, cached answer", |b| {
        b.iter(|| {
            // A cache hit never waits, so one poll finishes it.
            authorizers
                .authorize(black_box(&call))
                .now_or_never()
                .expect("answered from the cache")
                .unwrap()
        })
    });
}

fn signed_get() -> http::request::Parts {
    let uri = "http://abc123.execute-api.localhost/prod/pets/42?limit=10";
    let identity = Credentials::new("AKIAEXAMPLEEXAMPLE01", SECRET, None, None, "bench").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("execute-api")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let headers = [("host", "abc123.execute-api.localhost")];
    let signable =
        SignableRequest::new("GET", uri, headers.into_iter(), SignableBody::Bytes(b"")).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut request = http::Request::builder()
        .method("GET")
        .uri(uri)
        .header("host", "abc123.execute-api.localhost")
        .body(())
        .unwrap();
    instructions.apply_to_request_http1x(&mut request);
    request.into_parts().0
}

fn iam_policies() -> (Arc<[Policy]>, Policy) {
    let identity = Policy::parse(
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[
                {{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:{REGION}:{ACCOUNT}:abc123/prod/GET/*"}},
                {{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/DELETE/*"}}]}}"#
        ),
        PolicyKind::Identity,
    )
    .unwrap();
    let resource = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","127.0.0.0/8"]}}},
            {"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/*/admin/*"}]}"#,
        PolicyKind::Resource,
    )
    .unwrap();
    (vec![identity].into(), resource)
}

fn iam_bench(c: &mut Criterion) {
    let (identity, resource) = iam_policies();
    let key = IamKey {
        access_key_id: "AKIDEXAMPLE".into(),
        secret: SECRET.into(),
        enabled: true,
        principal_arn: format!("arn:aws:iam::{ACCOUNT}:user/alice").into(),
        principal: Default::default(),
        username: Some("alice".into()),
        session: None,
        policies: identity,
        signing_key: Default::default(),
    };
    let tables = RuntimeTables {
        region: REGION.into(),
        account_id: ACCOUNT.into(),
        iam: Arc::new(IamTable {
            keys: HashMap::from([("AKIAEXAMPLEEXAMPLE01".into(), key)]),
        }),
        ..RuntimeTables::empty()
    };
    let parts = signed_get();
    let invocation = Invocation {
        arn: MethodArn {
            region: REGION,
            account: ACCOUNT,
            api_id: "abc123",
            stage: "prod",
            method: "GET",
            path: Some("/pets/42"),
        },
        source_ip: "127.0.0.1".parse().unwrap(),
        secure_transport: false,
    };
    let empty = archway_data_plane::sigv4::EMPTY_PAYLOAD_SHA256;
    c.bench_function(
        "AWS_IAM: SigV4 verify + identity and resource policies",
        |b| {
            b.iter(|| {
                let key =
                    iam::authenticate(&tables, black_box(&parts), Some(empty), SystemTime::now())
                        .unwrap();
                let caller = Authorization {
                    principal: None,
                    caller: Caller::Iam(key),
                };
                authorize_invoke(&caller, Some(&resource), black_box(&invocation)).unwrap()
            })
        },
    );
    c.bench_function("resource policy, anonymous caller", |b| {
        b.iter(|| {
            let caller = Authorization::anonymous();
            authorize_invoke(&caller, Some(&resource), black_box(&invocation)).unwrap()
        })
    });
}

criterion_group!(benches, custom, iam_bench);
criterion_main!(benches);
