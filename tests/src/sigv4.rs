//! Signing test requests with the aws-sigv4 crate at a chosen time
//! (botocore, the other signer the tests use, always signs with the
//! current time), and recomputing a received request's signature.

use archway_proto::v1::AccessKey;
use std::time::SystemTime;

/// The region test control planes run with (their default).
pub const REGION: &str = "us-east-1";

/// One request to sign: who signs, for which scope, over what.
pub struct Signing<'a> {
    pub key: &'a str,
    pub secret: &'a str,
    pub token: Option<&'a str>,
    pub region: &'a str,
    pub service: &'a str,
    pub method: &'a str,
    pub uri: &'a str,
    /// The headers signed besides those the signer adds itself.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    pub time: SystemTime,
}

/// The headers aws-sigv4 adds to sign `s` (`authorization`, `x-amz-date`,
/// and `x-amz-security-token` with a token).
pub fn sign(s: &Signing) -> anyhow::Result<Vec<(String, String)>> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let identity = aws_credential_types::Credentials::new(
        s.key,
        s.secret,
        s.token.map(str::to_owned),
        None,
        "test",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(s.region)
        .name(s.service)
        .time(s.time)
        .settings(SigningSettings::default())
        .build()?
        .into();
    let signable = SignableRequest::new(
        s.method,
        s.uri,
        s.headers.iter().copied(),
        SignableBody::Bytes(s.body),
    )?;
    let (instructions, _) = sign(signable, &params)?.into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

/// The headers that sign `GET http://{host}{path}` with `key` for
/// `execute-api` at `time`.
pub fn get_headers(
    key: &AccessKey,
    host: &str,
    path: &str,
    time: SystemTime,
) -> Vec<(String, String)> {
    sign(&Signing {
        key: &key.access_key_id,
        secret: &key.secret_access_key,
        token: None,
        region: REGION,
        service: "execute-api",
        method: "GET",
        uri: &format!("http://{host}{path}"),
        headers: &[("host", host)],
        body: b"",
        time,
    })
    .expect("signing succeeds")
}
