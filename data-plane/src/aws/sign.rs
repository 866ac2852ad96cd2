//! SigV4 signing of outbound AWS calls, with the `aws-sigv4` crate (the
//! node's own [`crate::sigv4`] module verifies inbound requests; signing is
//! not hand-rolled).

use super::credentials::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use std::time::SystemTime;

/// What a signature is scoped to: the region and the service's signing
/// name.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub region: &'a str,
    pub signing_name: &'a str,
}

impl Scope<'_> {
    /// How the signature reads the request. Every service but S3 signs the
    /// path encoded twice and normalized, and the body's hash only inside
    /// the signature. S3 (and its variants, `s3-object-lambda`,
    /// `s3-outposts`) signs the path exactly as sent (an object key's
    /// `%2F` or `..` are part of the key, not to be re-encoded or
    /// resolved) and requires the body's hash in `x-amz-content-sha256`:
    /// signed the other way, S3 answers `SignatureDoesNotMatch`.
    fn settings(&self) -> SigningSettings {
        let mut settings = SigningSettings::default();
        if self.signing_name == "s3" || self.signing_name.starts_with("s3-") {
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        settings
    }
}

/// Adds `authorization`, `x-amz-date`, for temporary credentials
/// `x-amz-security-token`, and for S3 `x-amz-content-sha256`, to `headers`: a signature over the method, the
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
        .settings(scope.settings())
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const EXAMPLE_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    /// 2013-05-24T00:00:00Z, the time of AWS's S3 signing examples.
    const EXAMPLE_TIME: u64 = 1_369_353_600;

    fn signed(scope: Scope<'_>, uri: &str, headers: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        sign_headers(
            &Credentials::new(EXAMPLE_KEY, EXAMPLE_SECRET, None),
            scope,
            &http::Method::GET,
            uri,
            &mut map,
            b"",
            SystemTime::UNIX_EPOCH + Duration::from_secs(EXAMPLE_TIME),
        )
        .unwrap();
        map
    }

    fn signature(headers: &HeaderMap) -> &str {
        let auth = headers[http::header::AUTHORIZATION].to_str().unwrap();
        auth.rsplit_once("Signature=").unwrap().1
    }

    /// AWS's documented S3 example (GET /test.txt of `examplebucket` with
    /// `Range: bytes=0-9`): the body's hash travels in
    /// `x-amz-content-sha256` and is signed, and the signature is the one
    /// AWS's documentation gives for that request.
    #[test]
    fn s3_requests_are_signed_as_s3_checks_them() {
        let s3 = Scope {
            region: "us-east-1",
            signing_name: "s3",
        };
        let headers = signed(
            s3,
            "https://examplebucket.s3.amazonaws.com/test.txt",
            &[("range", "bytes=0-9")],
        );
        assert_eq!(
            headers["x-amz-content-sha256"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let auth = headers[http::header::AUTHORIZATION].to_str().unwrap();
        assert!(
            auth.contains("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date"),
            "{auth}"
        );
        assert_eq!(
            signature(&headers),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    /// An object key's escapes are signed as sent: S3 reads `%2F` and `..`
    /// in a key as part of the key, where other services' signatures
    /// encode the path again and resolve dot segments.
    #[test]
    fn s3_keys_are_signed_as_sent_and_other_services_paths_are_not() {
        let scope = |signing_name| Scope {
            region: "us-east-1",
            signing_name,
        };
        let key = "https://s3.us-east-1.amazonaws.com/b/a%2Fb/../c%20d";
        let same_key_other_spelling = "https://s3.us-east-1.amazonaws.com/b/c%20d";
        let s3 = |uri| signature(&signed(scope("s3"), uri, &[])).to_owned();
        assert_ne!(s3(key), s3(same_key_other_spelling));
        // Elsewhere, dot segments are resolved before signing, and the
        // body's hash is not a header.
        let sqs = |uri| signed(scope("sqs"), uri, &[]);
        assert_eq!(
            signature(&sqs("https://sqs.us-east-1.amazonaws.com/a/../b")),
            signature(&sqs("https://sqs.us-east-1.amazonaws.com/b"))
        );
        assert!(!sqs(key).contains_key("x-amz-content-sha256"));
        assert!(signed(scope("s3-object-lambda"), key, &[]).contains_key("x-amz-content-sha256"));
    }
}
