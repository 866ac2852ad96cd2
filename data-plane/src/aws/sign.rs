//! SigV4 signing of outbound AWS calls, with the `aws-sigv4` crate (the
//! node's own [`crate::sigv4`] module verifies inbound requests; signing is
//! not hand-rolled).

use super::credentials::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use http::{HeaderMap, HeaderName, HeaderValue};
use std::time::SystemTime;

/// What a signature is scoped to: the region and the service's signing
/// name.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub region: &'a str,
    pub signing_name: &'a str,
}

/// Adds `authorization`, `x-amz-date`, and for temporary credentials
/// `x-amz-security-token`, to `headers`: a signature over the method, the
/// URI, `host` (the authority the outbound client writes), every header in
/// `headers` and the body's SHA-256.
pub fn sign_headers(
    credentials: &Credentials,
    scope: Scope<'_>,
    method: &http::Method,
    uri: &str,
    headers: &mut HeaderMap,
    body: &[u8],
    time: SystemTime,
) -> Result<(), String> {
    let authority = uri
        .parse::<http::Uri>()
        .map_err(|e| format!("the URI cannot be signed: {e}"))?
        .authority()
        .map(|a| a.as_str().to_owned())
        .ok_or("the URI has no host to sign")?;
    let identity = credentials.identity().into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(scope.region)
        .name(scope.signing_name)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("signing parameters: {e}"))?
        .into();
    let mut signed: Vec<(&str, &str)> = Vec::with_capacity(headers.len() + 1);
    signed.push(("host", &authority));
    for (name, value) in headers.iter() {
        let value = value
            .to_str()
            .map_err(|_| format!("header {name} is not text"))?;
        signed.push((name.as_str(), value));
    }
    let signable = SignableRequest::new(
        method.as_str(),
        uri,
        signed.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| format!("the request cannot be signed: {e}"))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| format!("signing: {e}"))?
        .into_parts();
    let (new_headers, _params) = instructions.into_parts();
    for header in new_headers {
        let name = HeaderName::from_bytes(header.name().as_bytes())
            .map_err(|_| "the signer made a bad header name")?;
        let mut value = HeaderValue::from_str(header.value())
            .map_err(|_| "the signer made a bad header value")?;
        // Kept out of any debug output of the request.
        value.set_sensitive(header.sensitive() || name == http::header::AUTHORIZATION);
        headers.insert(name, value);
    }
    Ok(())
}
