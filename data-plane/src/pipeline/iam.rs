//! Stage: AWS_IAM authorization. The request must carry a SigV4 signature
//! (Authorization header or presigned query) by an access key the fleet
//! knows; temporary credentials must present their session token and be
//! unexpired. (The principal's identity policies are evaluated, with the
//! API's resource policy, by the [`super::policy`] phase.)
//!
//! When the signature covers the body (no `UNSIGNED-PAYLOAD`), the body is
//! read (within the payload limit) and hashed before the check, and then
//! forwarded from memory: a signed body cannot be streamed unchecked.

use super::gateway_response::{GatewayResponse, IamRefusal};
use crate::body::RequestBody;
use crate::sigv4;
use crate::tables::{IamKey, RuntimeTables, SigningKey};
use http::request::Parts;
use sha2::Digest;
use std::sync::Arc;
use std::time::SystemTime;

const INVALID_TOKEN: &str = "The security token included in the request is invalid.";
const EXPIRED_TOKEN: &str = "The security token included in the request is expired";

fn invalid_token() -> GatewayResponse {
    GatewayResponse::Iam(IamRefusal::forbidden(
        "UnrecognizedClientException",
        INVALID_TOKEN,
    ))
}

fn refusal(e: &sigv4::SigV4Error) -> GatewayResponse {
    GatewayResponse::Iam(IamRefusal {
        status: e.status(),
        error_type: e.error_type(),
        message: e.message().into(),
    })
}

/// Checks a request's SigV4 signature in two steps, so a body is read only
/// for a known, enabled key with a valid session: [`Signer::identify`],
/// then (with the body's hash when [`Signer::needs_body`]) [`Signer::verify`].
pub struct Signer<'p, 't> {
    request: sigv4::Request<'p>,
    signed: sigv4::Signed<'p>,
    pub key: &'t IamKey,
}

impl<'p, 't> Signer<'p, 't> {
    /// The signature's shape, its access key and session token.
    pub fn identify(
        tables: &'t RuntimeTables,
        parts: &'p Parts,
        now: SystemTime,
    ) -> Result<Self, GatewayResponse> {
        let request = signed_request(parts);
        let signed = sigv4::parse(&request)
            .map_err(|e| refusal(&e))?
            .ok_or(GatewayResponse::MissingAuthenticationToken)?;
        let key = tables
            .iam
            .keys
            .get(signed.credential().access_key_id)
            .filter(|k| k.enabled)
            .ok_or_else(invalid_token)?;
        match (&key.session, signed.session_token()) {
            (None, None) => {}
            (None, Some(_)) | (Some(_), None) => return Err(invalid_token()),
            (Some((hash, expires_at_ms)), Some(token)) => {
                let given: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
                if !sigv4::constant_time_eq(&given, hash) {
                    return Err(invalid_token());
                }
                let now_ms = now
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                if *expires_at_ms <= now_ms {
                    return Err(GatewayResponse::Iam(IamRefusal::forbidden(
                        "ExpiredTokenException",
                        EXPIRED_TOKEN,
                    )));
                }
            }
        }
        Ok(Self {
            request,
            signed,
            key,
        })
    }

    /// Whether the signature covers the body, which must then be read and
    /// hashed before [`Signer::verify`].
    pub fn needs_body(&self) -> bool {
        self.signed.payload().needs_body()
    }

    /// Scope, clock, body hash and signature.
    pub fn verify(
        &self,
        tables: &RuntimeTables,
        body_sha256_hex: Option<&str>,
        now: SystemTime,
    ) -> Result<(), GatewayResponse> {
        sigv4::verify_with_key(
            &self.signed,
            &self.request,
            &|credential, time| cached_signing_key(self.key, credential, time),
            body_sha256_hex,
            &tables.region,
            now,
        )
        .map_err(|e| {
            // The string to sign holds no header values (tokens stay out
            // of the logs); it is enough to compare with the client's.
            if let Some(string_to_sign) = e.string_to_sign() {
                tracing::debug!(
                    access_key = self.signed.credential().access_key_id,
                    %string_to_sign,
                    "SigV4 mismatch"
                );
            }
            refusal(&e)
        })
    }
}

/// The signer of a verified request, for callers that have the body's hash
/// (or need none).
pub fn authenticate<'t>(
    tables: &'t RuntimeTables,
    parts: &Parts,
    body_sha256_hex: Option<&str>,
    now: SystemTime,
) -> Result<&'t IamKey, GatewayResponse> {
    let signer = Signer::identify(tables, parts, now)?;
    signer.verify(tables, body_sha256_hex, now)?;
    Ok(signer.key)
}

/// Reads the whole body (within `max` bytes and [`super::BODY_READ_TIMEOUT`]) and
/// hashes it; the body is put back as the bytes read, for the integration.
pub async fn hash_body(body: &mut RequestBody, max: usize) -> Result<String, GatewayResponse> {
    let bytes = super::buffer_body(body, max).await?;
    Ok(sigv4::body_sha256_hex(&bytes))
}

fn signed_request(parts: &Parts) -> sigv4::Request<'_> {
    sigv4::Request {
        method: &parts.method,
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
        authority: parts.uri.authority().map(|a| a.as_str()),
    }
}

/// The key's signing key for this scope, from the cache when the scope is
/// the one last used (lock-free: a swap of an `Arc`).
fn cached_signing_key(
    key: &IamKey,
    credential: &sigv4::Credential<'_>,
    time: SystemTime,
) -> [u8; 32] {
    let scope_matches = |cached: &SigningKey| {
        let mut parts = cached.scope.split('/');
        parts.next() == Some(credential.date)
            && parts.next() == Some(credential.region)
            && parts.next() == Some(credential.service)
    };
    if let Some(cached) = key.signing_key.load().as_deref()
        && scope_matches(cached)
    {
        return cached.key;
    }
    let derived = sigv4::signing_key(&key.secret, credential, time);
    key.signing_key.store(Some(Arc::new(SigningKey {
        scope: format!(
            "{}/{}/{}",
            credential.date, credential.region, credential.service
        )
        .into(),
        key: derived,
    })));
    derived
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_keys_are_cached_per_scope() {
        let key = IamKey {
            access_key_id: "AKIDEXAMPLE".into(),
            secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            enabled: true,
            principal_arn: "arn:aws:iam::123456789012:user/a".into(),
            principal: Arc::default(),
            username: None,
            session: None,
            policies: Arc::from(Vec::new()),
            signing_key: Default::default(),
        };
        let scope = |date| sigv4::Credential {
            access_key_id: "AKIA",
            date,
            region: "us-east-1",
            service: "execute-api",
            terminator: "aws4_request",
        };
        let day = |secs| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        let monday = cached_signing_key(&key, &scope("20150830"), day(1_440_938_160));
        assert_eq!(
            monday,
            sigv4::signing_key(&key.secret, &scope("20150830"), day(1_440_938_160))
        );
        let cached = key.signing_key.load_full().unwrap();
        assert_eq!(cached.scope.as_ref(), "20150830/us-east-1/execute-api");
        // Same scope: the cache answers. A new day: derived again.
        assert_eq!(
            cached_signing_key(&key, &scope("20150830"), day(1_440_938_160)),
            monday
        );
        let tuesday = cached_signing_key(&key, &scope("20150831"), day(1_441_024_560));
        assert_ne!(tuesday, monday);
        assert_eq!(
            key.signing_key.load_full().unwrap().scope.as_ref(),
            "20150831/us-east-1/execute-api"
        );
    }
}
