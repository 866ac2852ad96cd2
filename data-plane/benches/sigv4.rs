//! What verifying an AWS_IAM (SigV4) request costs: parse the
//! `Authorization` header, rebuild the canonical request, derive the
//! signing key and compare signatures. The request is a typical signed GET
//! with four signed headers (`accept`, `host`, `x-amz-date`,
//! `x-amz-security-token`) and a two-parameter query, signed by the AWS
//! SDK's signer. Key lookup and body hashing are the caller's and not
//! measured (a GET has no body: the empty-body hash is a constant).
//!
//! Run: `cargo bench -p archway-data-plane --bench sigv4`

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use archway_data_plane::sigv4::{self, EMPTY_PAYLOAD_SHA256, Request};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use criterion::{Criterion, criterion_group, criterion_main};

/// The node's allocator (`data-plane/src/bin/data_plane.rs`), so allocation
/// costs what it costs when serving.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

fn signed_get() -> http::Request<()> {
    let uri = "https://abc123.execute-api.localhost/prod/pets/42?limit=10&offset=20";
    let headers = [
        ("host", "abc123.execute-api.localhost"),
        ("accept", "application/json"),
    ];
    let identity =
        Credentials::new("AKIDEXAMPLE", SECRET, Some(TOKEN.to_owned()), None, "bench").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("execute-api")
        .time(UNIX_EPOCH + Duration::from_secs(1_440_938_160))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        "GET",
        uri,
        headers.iter().copied(),
        SignableBody::Bytes(b""),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut builder = http::Request::builder().method("GET").uri(uri);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    let mut request = builder.body(()).unwrap();
    instructions.apply_to_request_http1x(&mut request);
    request
}

fn bench(c: &mut Criterion) {
    let request = signed_get();
    let req = Request {
        method: request.method(),
        path: request.uri().path(),
        query: request.uri().query(),
        headers: request.headers(),
        authority: None,
    };
    let now = UNIX_EPOCH + Duration::from_secs(1_440_938_160 + 30);
    let signed = sigv4::parse(&req).unwrap().unwrap();
    assert_eq!(
        signed.signed_headers(),
        "accept;host;x-amz-date;x-amz-security-token"
    );
    sigv4::verify(
        &signed,
        &req,
        SECRET,
        Some(EMPTY_PAYLOAD_SHA256),
        "us-east-1",
        now,
    )
    .unwrap();

    c.bench_function("sigv4 parse+verify GET, 4 signed headers", |b| {
        b.iter(|| {
            let req = black_box(&req);
            let signed = sigv4::parse(req).unwrap().unwrap();
            sigv4::verify(
                &signed,
                req,
                SECRET,
                Some(EMPTY_PAYLOAD_SHA256),
                "us-east-1",
                now,
            )
        })
    });
    c.bench_function("sigv4 parse only", |b| {
        b.iter(|| {
            sigv4::parse(black_box(&req))
                .unwrap()
                .unwrap()
                .signature()
                .len()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
