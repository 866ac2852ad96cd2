//! Signing test requests with the aws-sigv4 crate at a chosen time
//! (botocore, the other signer the tests use, always signs with the
//! current time).

use archway_proto::v1::AccessKey;
use std::time::SystemTime;

/// The region test control planes run with (their default).
pub const REGION: &str = "us-east-1";

/// The headers that sign `GET http://{host}{path}` with `key` for
/// `execute-api` at `time`.
pub fn get_headers(
    key: &AccessKey,
    host: &str,
    path: &str,
    time: SystemTime,
) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let identity = aws_credential_types::Credentials::new(
        &key.access_key_id,
        &key.secret_access_key,
        None,
        None,
        "test",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("execute-api")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .expect("complete signing parameters")
        .into();
    let uri = format!("http://{host}{path}");
    let signable = SignableRequest::new(
        "GET",
        &uri,
        [("host", host)].into_iter(),
        SignableBody::Bytes(b""),
    )
    .expect("a signable request");
    let (instructions, _) = sign(signable, &params)
        .expect("signing succeeds")
        .into_parts();
    instructions
        .headers()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}
