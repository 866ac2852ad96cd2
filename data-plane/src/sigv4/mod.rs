//! AWS Signature Version 4 verification for methods whose authorization is
//! `AWS_IAM`, answering the way AWS API Gateway does.
//!
//! Pure code: no I/O, no clock, no key store. The gateway
//! 1. calls [`parse`] on the request head — `Ok(None)` means the request
//!    carries no SigV4 at all (API Gateway answers "Missing Authentication
//!    Token"), an error is already the 403 to send;
//! 2. looks up the secret for [`Signed::credential`]'s access key id (an
//!    unknown id is "The security token included in the request is
//!    invalid.") and checks [`Signed::session_token`] when present;
//! 3. hashes the body if [`PayloadHash::needs_body`] says so; and
//! 4. calls [`verify`] with the secret, the body hash, its region and the
//!    current time.
//!
//! Both forms are understood: the `Authorization: AWS4-HMAC-SHA256 ...`
//! header with `X-Amz-Date` (or `Date`), and presigned query strings
//! (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`,
//! `X-Amz-SignedHeaders`, `X-Amz-Signature`). The canonical request is
//! rebuilt from the request exactly as received (see [`canonical`]); the
//! signing key and the signature come from `aws_sigv4` so the HMAC chain is
//! the SDK's own.

mod canonical;
mod time;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;
use std::fmt::Write as _;
use std::time::SystemTime;

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use sha2::{Digest, Sha256};

/// The service name API Gateway's signatures are scoped to.
pub const SERVICE: &str = "execute-api";

/// The only algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// `x-amz-content-sha256` value that opts out of signing the body.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// SHA-256 of the empty body, for callers that know there is none (a GET)
/// and need not hash anything.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// How far a header-signed request's time may be from ours, either way.
pub const MAX_SKEW_SECONDS: i64 = 5 * 60;

/// The longest validity a presigned request may ask for (seven days, the
/// lifetime of a SigV4 signing key).
pub const MAX_EXPIRES_SECONDS: u32 = 604_800;

const TERMINATOR: &str = "aws4_request";

// Prebuilt names: looking a header up by `&str` parses the name each time.
const X_AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
const X_AMZ_SECURITY_TOKEN: HeaderName = HeaderName::from_static("x-amz-security-token");
const X_AMZ_CONTENT_SHA256: HeaderName = HeaderName::from_static("x-amz-content-sha256");
const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// The parts of a request that SigV4 covers, borrowed from the server's
/// request head.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub method: &'a Method,
    /// The path as received: still percent-encoded, not normalised
    /// (`uri.path()`).
    pub path: &'a str,
    /// The raw query string without `?` (`uri.query()`).
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The request's authority when it is not in a `Host` header — HTTP/2
    /// sends `:authority` instead (`uri.authority()`). Used only for a
    /// signed `host` that the header map lacks.
    pub authority: Option<&'a str>,
}

/// Where the signature was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// `Authorization: AWS4-HMAC-SHA256 ...`
    Header,
    /// Presigned: `?X-Amz-Signature=...`
    Query,
}

/// What stands for the body in the canonical request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadHash<'a> {
    /// `x-amz-content-sha256: UNSIGNED-PAYLOAD`: the body is not signed.
    Unsigned,
    /// The hex SHA-256 the client declared in `x-amz-content-sha256`. The
    /// signature covers this value, so [`verify`] also requires the body's
    /// real hash and checks the two agree.
    Given(&'a str),
    /// Nothing declared: the canonical request ends with the body's hash,
    /// which the caller must compute and pass to [`verify`].
    Body,
}

impl PayloadHash<'_> {
    /// Whether [`verify`] needs `body_sha256_hex`, i.e. whether the caller
    /// has to read and hash the body before verifying.
    pub fn needs_body(&self) -> bool {
        !matches!(self, PayloadHash::Unsigned)
    }
}

/// The credential scope `AKID/20150830/us-east-1/execute-api/aws4_request`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credential<'a> {
    pub access_key_id: &'a str,
    /// `YYYYMMDD`
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    /// Always `aws4_request` in a valid scope.
    pub terminator: &'a str,
}

/// A syntactically complete SigV4 signature, not yet checked. Values from a
/// presigned query are percent-decoded, hence the `Cow`s; header values are
/// borrowed as they are.
#[derive(Clone)]
pub struct Signed<'a> {
    /// The whole scope; split on demand by [`Signed::credential`] (parse
    /// made sure it has five parts).
    credential: Cow<'a, str>,
    signed_headers: Cow<'a, str>,
    signature: Cow<'a, str>,
    /// The request time in basic format: `X-Amz-Date` as sent, or `Date`
    /// converted, since that is what the string to sign holds.
    amz_date: Cow<'a, str>,
    timestamp: i64,
    session_token: Option<Cow<'a, str>>,
    payload: PayloadHash<'a>,
    location: Location,
    expires: Option<u32>,
}

impl<'a> Signed<'a> {
    pub fn credential(&self) -> Credential<'_> {
        let mut parts = self.credential.splitn(5, '/');
        let mut next = || parts.next().unwrap_or("");
        Credential {
            access_key_id: next(),
            date: next(),
            region: next(),
            service: next(),
            terminator: next(),
        }
    }

    /// The `;`-separated header names the client signed, as sent.
    pub fn signed_headers(&self) -> &str {
        &self.signed_headers
    }

    /// The client's hex signature.
    pub fn signature(&self) -> &str {
        &self.signature
    }

    /// The request time in ISO 8601 basic format (`20150830T123600Z`).
    pub fn amz_date(&self) -> &str {
        &self.amz_date
    }

    /// The request time.
    pub fn timestamp(&self) -> SystemTime {
        time::system_time(self.timestamp)
    }

    /// `X-Amz-Security-Token`, for temporary credentials; the caller must
    /// check it belongs to the access key id. In header form it need not be
    /// among the signed headers: some SDKs add it after signing, and AWS
    /// accepts that.
    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref()
    }

    pub fn payload(&self) -> PayloadHash<'a> {
        self.payload
    }

    pub fn location(&self) -> Location {
        self.location
    }

    /// `X-Amz-Expires` of a presigned request, in seconds.
    pub fn expires(&self) -> Option<u32> {
        self.expires
    }
}

impl fmt::Debug for Signed<'_> {
    /// Leaves the session token out: it is a bearer credential.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signed")
            .field("credential", &self.credential)
            .field("signed_headers", &self.signed_headers)
            .field("signature", &self.signature)
            .field("amz_date", &self.amz_date)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("payload", &self.payload)
            .field("location", &self.location)
            .field("expires", &self.expires)
            .finish()
    }
}

/// Which of API Gateway's answers an error is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The signature is missing parts or they are malformed
    /// (`IncompleteSignatureException`).
    IncompleteSignature,
    /// Well formed but not acceptable: scope, clock, expiry, unsigned host,
    /// payload hash (`InvalidSignatureException`).
    InvalidSignature,
    /// The signature does not match (`InvalidSignatureException` as well).
    SignatureDoesNotMatch,
    /// The caller did not pass the body hash that [`PayloadHash::needs_body`]
    /// asked for: a gateway bug, answered as a 500.
    MissingBodyHash,
}

/// Why a request's signature was refused, with the status, error type and
/// message to answer with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigV4Error {
    kind: ErrorKind,
    message: String,
    /// For a mismatch: the canonical request and string to sign we
    /// computed, for the gateway's debug log (AWS shows them to the client;
    /// we leave that choice to the caller).
    computed: Option<Box<(String, String)>>,
}

impl SigV4Error {
    fn incomplete(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::IncompleteSignature,
            message: message.into(),
            computed: None,
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::InvalidSignature,
            message: message.into(),
            computed: None,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message for the `{"message": ...}` body, worded as AWS does.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// 403 for everything the client did; 500 for [`ErrorKind::MissingBodyHash`].
    pub fn status(&self) -> StatusCode {
        match self.kind {
            ErrorKind::MissingBodyHash => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::FORBIDDEN,
        }
    }

    /// The `x-amzn-ErrorType` API Gateway sends with the answer.
    pub fn error_type(&self) -> &'static str {
        match self.kind {
            ErrorKind::IncompleteSignature => "IncompleteSignatureException",
            ErrorKind::InvalidSignature | ErrorKind::SignatureDoesNotMatch => {
                "InvalidSignatureException"
            }
            ErrorKind::MissingBodyHash => "InternalServerErrorException",
        }
    }

    /// The canonical request we computed, when the signature did not match.
    pub fn canonical_request(&self) -> Option<&str> {
        self.computed.as_deref().map(|(c, _)| c.as_str())
    }

    /// The string to sign we computed, when the signature did not match.
    pub fn string_to_sign(&self) -> Option<&str> {
        self.computed.as_deref().map(|(_, s)| s.as_str())
    }
}

impl fmt::Display for SigV4Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SigV4Error {}

/// Lowercase hex SHA-256 of a body, for `body_sha256_hex`.
pub fn body_sha256_hex(body: &[u8]) -> String {
    let mut out = String::with_capacity(64);
    push_hex(&mut out, &Sha256::digest(body));
    out
}

/// Finds and checks the shape of a SigV4 signature.
///
/// `Ok(None)`: no `Authorization` header and no presigned query parameter
/// (`X-Amz-Algorithm`, `X-Amz-Credential` or `X-Amz-Signature`). Any
/// `Authorization` header is taken as an attempt, so a `Bearer` token on an
/// `AWS_IAM` method gets AWS's "requires 'Credential' parameter" listing,
/// as it does from API Gateway.
pub fn parse<'a>(req: &Request<'a>) -> Result<Option<Signed<'a>>, SigV4Error> {
    let authorization = req.headers.get(http::header::AUTHORIZATION);
    let presigned = req.query.is_some_and(has_query_auth);
    match (authorization, presigned) {
        (None, false) => Ok(None),
        (Some(_), true) => Err(SigV4Error::incomplete(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        )),
        (Some(authorization), false) => parse_header(req, authorization).map(Some),
        (None, true) => parse_query(req, req.query.unwrap_or("")).map(Some),
    }
}

/// Checks a parsed signature against the request for API Gateway
/// (service `execute-api`), in this order: credential scope, `host`
/// signed, clock (±5 minutes for the header form; for presigned, not more
/// than 5 minutes early and not after `X-Amz-Date + X-Amz-Expires`), body
/// hash, then the signature itself, compared in constant time.
///
/// `body_sha256_hex` is the lowercase hex SHA-256 of the body as received
/// ([`body_sha256_hex`], or [`EMPTY_PAYLOAD_SHA256`] for no body); it is
/// required unless [`PayloadHash::needs_body`] is false.
pub fn verify(
    signed: &Signed<'_>,
    req: &Request<'_>,
    secret_access_key: &str,
    body_sha256_hex: Option<&str>,
    expected_region: &str,
    now: SystemTime,
) -> Result<(), SigV4Error> {
    verify_with_key(
        signed,
        req,
        &|credential, time| signing_key(secret_access_key, credential, time),
        body_sha256_hex,
        expected_region,
        now,
    )
}

/// [`verify`] with the signing key from `key` (given the credential scope
/// and the signature's time) instead of derived from the secret every
/// time: the key depends only on the secret, the date, the region and the
/// service, so callers can cache it per day.
pub fn verify_with_key(
    signed: &Signed<'_>,
    req: &Request<'_>,
    key: &dyn Fn(&Credential<'_>, SystemTime) -> [u8; 32],
    body_sha256_hex: Option<&str>,
    expected_region: &str,
    now: SystemTime,
) -> Result<(), SigV4Error> {
    verify_for_service(
        signed,
        req,
        key,
        body_sha256_hex,
        expected_region,
        SERVICE,
        now,
    )
}

/// The SigV4 signing key for a credential scope (the HMAC chain over the
/// date, region, service and `aws4_request`).
pub fn signing_key(
    secret_access_key: &str,
    credential: &Credential<'_>,
    time: SystemTime,
) -> [u8; 32] {
    let key = aws_sigv4::sign::v4::generate_signing_key(
        secret_access_key,
        time,
        credential.region,
        credential.service,
    );
    let mut out = [0u8; 32];
    out.copy_from_slice(key.as_ref());
    out
}

/// [`verify`] with the service as a parameter, so the AWS test suite
/// (signed for service `service`) can drive it.
fn verify_for_service(
    signed: &Signed<'_>,
    req: &Request<'_>,
    signing_key: &dyn Fn(&Credential<'_>, SystemTime) -> [u8; 32],
    body_sha256_hex: Option<&str>,
    expected_region: &str,
    service: &str,
    now: SystemTime,
) -> Result<(), SigV4Error> {
    check_scope(signed, expected_region, service)?;
    if !signed
        .signed_headers
        .split(';')
        .any(|h| h.eq_ignore_ascii_case("host"))
    {
        return Err(SigV4Error::invalid(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    check_clock(signed, time::unix_seconds(now))?;
    let payload_hash = payload_hash(signed.payload, body_sha256_hex)?;

    let credential = signed.credential();
    let key = signing_key(&credential, time::system_time(signed.timestamp));
    let mut creq = Vec::with_capacity(canonical_capacity(req, signed));
    // API Gateway's reading of the query first; the others only when the
    // query has something they read differently (a `+`, a lowercase or
    // needless escape), so an ordinary request hashes once.
    let mut first_attempt = None;
    for reading in canonical::QueryReading::ALL {
        if !reading.may_differ(req.query.unwrap_or("")) {
            continue;
        }
        creq.clear();
        write_canonical_request(&mut creq, signed, req, payload_hash, reading);
        let string_to_sign = string_to_sign(signed, &Sha256::digest(&creq));
        let expected = aws_sigv4::sign::v4::calculate_signature(key, string_to_sign.as_bytes());
        if constant_time_eq(expected.as_bytes(), signed.signature.as_bytes()) {
            return Ok(());
        }
        if first_attempt.is_none() {
            first_attempt = Some((String::from_utf8_lossy(&creq).into_owned(), string_to_sign));
        }
    }
    Err(SigV4Error {
        kind: ErrorKind::SignatureDoesNotMatch,
        message: MISMATCH.to_owned(),
        computed: first_attempt.map(Box::new),
    })
}

/// The canonical request, the pieces joined by newlines: method, URI,
/// query, header lines, blank, signed header list, payload hash.
fn write_canonical_request(
    out: &mut Vec<u8>,
    signed: &Signed<'_>,
    req: &Request<'_>,
    payload_hash: &str,
    reading: canonical::QueryReading,
) {
    out.extend_from_slice(req.method.as_str().as_bytes());
    out.push(b'\n');
    canonical::write_uri(out, req.path);
    out.push(b'\n');
    if let Some(query) = req.query {
        canonical::write_query(out, query, signed.location == Location::Query, reading);
    }
    out.push(b'\n');
    canonical::write_headers(out, req.headers, req.authority, &signed.signed_headers);
    out.push(b'\n');
    out.extend_from_slice(signed.signed_headers.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
}

/// A capacity that fits the canonical request of ordinary requests in one
/// allocation.
fn canonical_capacity(req: &Request<'_>, signed: &Signed<'_>) -> usize {
    let headers: usize = req
        .headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 2)
        .sum();
    req.path.len() * 3 / 2
        + req.query.map_or(0, |q| q.len() * 3 / 2)
        + headers
        + signed.signed_headers.len()
        + 96
}

/// `AWS4-HMAC-SHA256\n<date>\n<scope>\n<hex of the canonical request hash>`,
/// with the scope as the client wrote it (verified equal to ours by then).
fn string_to_sign(signed: &Signed<'_>, creq_hash: &[u8]) -> String {
    let scope = signed
        .credential
        .split_once('/')
        .map_or("", |(_, scope)| scope);
    let mut s = String::with_capacity(ALGORITHM.len() + signed.amz_date.len() + scope.len() + 67);
    s.push_str(ALGORITHM);
    s.push('\n');
    s.push_str(&signed.amz_date);
    s.push('\n');
    s.push_str(scope);
    s.push('\n');
    push_hex(&mut s, creq_hash);
    s
}

/// Reports every scope problem at once, as AWS does.
fn check_scope(signed: &Signed<'_>, region: &str, service: &str) -> Result<(), SigV4Error> {
    let credential = signed.credential();
    let mut message = String::new();
    if credential.region != region {
        message.push_str("Credential should be scoped to a valid region. ");
    }
    if credential.service != service {
        let _ = write!(
            message,
            "Credential should be scoped to correct service: '{service}'. "
        );
    }
    if credential.terminator != TERMINATOR {
        let _ = write!(
            message,
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{}'. ",
            credential.terminator
        );
    }
    let request_day = signed.amz_date.get(..8).unwrap_or("");
    if credential.date != request_day {
        let _ = write!(
            message,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{request_day}', from '{}'.",
            credential.date, signed.amz_date
        );
    }
    if message.is_empty() {
        Ok(())
    } else {
        Err(SigV4Error::invalid(message))
    }
}

fn check_clock(signed: &Signed<'_>, now: i64) -> Result<(), SigV4Error> {
    let t = signed.timestamp;
    if t > now.saturating_add(MAX_SKEW_SECONDS) {
        return Err(SigV4Error::invalid(format!(
            "Signature not yet current: {} is still later than {} ({} + 5 min.)",
            time::Basic(t),
            time::Basic(now.saturating_add(MAX_SKEW_SECONDS)),
            time::Basic(now)
        )));
    }
    let window = signed.expires.map_or(MAX_SKEW_SECONDS, i64::from);
    if t < now.saturating_sub(window) {
        return Err(SigV4Error::invalid(format!(
            "Signature expired: {} is now earlier than {} ({} - {})",
            time::Basic(t),
            time::Basic(now.saturating_sub(window)),
            time::Basic(now),
            match signed.expires {
                None => "5 min.".to_owned(),
                Some(e) if e.is_multiple_of(60) => format!("{} min.", e / 60),
                Some(e) => format!("{e} sec."),
            }
        )));
    }
    Ok(())
}

fn payload_hash<'p>(
    payload: PayloadHash<'p>,
    body_sha256_hex: Option<&'p str>,
) -> Result<&'p str, SigV4Error> {
    let body = || {
        body_sha256_hex.ok_or_else(|| SigV4Error {
            kind: ErrorKind::MissingBodyHash,
            message: "Internal server error".to_owned(),
            computed: None,
        })
    };
    match payload {
        PayloadHash::Unsigned => Ok(UNSIGNED_PAYLOAD),
        PayloadHash::Body => body(),
        PayloadHash::Given(declared) => {
            if declared.eq_ignore_ascii_case(body()?) {
                Ok(declared)
            } else {
                Err(SigV4Error::invalid(
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                ))
            }
        }
    }
}

fn parse_header<'a>(
    req: &Request<'a>,
    authorization: &'a HeaderValue,
) -> Result<Signed<'a>, SigV4Error> {
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    let text = authorization.to_str().unwrap_or("").trim();
    let (algorithm, params) = text.split_once(' ').unwrap_or((text, ""));
    if algorithm == ALGORITHM {
        for param in params.split(',') {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            let value = value.trim();
            let slot = match name.trim() {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                _ => continue,
            };
            if slot.is_none() && !value.is_empty() {
                *slot = Some(value);
            }
        }
    }
    let x_amz_date = header_str(req.headers, &X_AMZ_DATE);
    let date = x_amz_date.or_else(|| header_str(req.headers, &http::header::DATE));

    let mut missing = String::new();
    for (present, name) in [
        (credential.is_some(), "Credential"),
        (signature.is_some(), "Signature"),
        (signed_headers.is_some(), "SignedHeaders"),
    ] {
        if !present {
            let _ = write!(
                missing,
                "Authorization header requires '{name}' parameter. "
            );
        }
    }
    if date.is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    let (Some(credential), Some(signed_headers), Some(signature), Some(date)) =
        (credential, signed_headers, signature, date)
    else {
        // AWS echoes the whole header; only its scheme is echoed here, so
        // a bearer token sent to the wrong method never reaches a response
        // or an access log.
        let text = String::from_utf8_lossy(authorization.as_bytes());
        let scheme = text.split_whitespace().next().unwrap_or_default();
        let _ = write!(missing, "Authorization={scheme} ...");
        return Err(SigV4Error::incomplete(missing));
    };

    let (amz_date, timestamp) = if x_amz_date.is_some() {
        (Cow::Borrowed(date), time::parse_basic(date))
    } else {
        match time::parse_basic(date) {
            Some(t) => (Cow::Borrowed(date), Some(t)),
            None => {
                let t = time::parse_http_date(date);
                (
                    Cow::Owned(t.map(|t| time::Basic(t).to_string()).unwrap_or_default()),
                    t,
                )
            }
        }
    };
    let timestamp = timestamp.ok_or_else(|| bad_date(date))?;
    check_credential_shape(credential)?;

    let session_token = req
        .headers
        .get(&X_AMZ_SECURITY_TOKEN)
        .map(|v| match v.to_str() {
            Ok(token) => Cow::Borrowed(token),
            // Cannot be a real token; kept so the caller refuses it.
            Err(_) => String::from_utf8_lossy(v.as_bytes()),
        });
    // A header that is not text cannot be what the client hashed; treating
    // it as absent just makes the signature not match.
    let payload = match header_str(req.headers, &X_AMZ_CONTENT_SHA256) {
        Some(value) => declared_payload(value)?,
        None => PayloadHash::Body,
    };
    Ok(Signed {
        credential: Cow::Borrowed(credential),
        signed_headers: Cow::Borrowed(signed_headers),
        signature: Cow::Borrowed(signature),
        amz_date,
        timestamp,
        session_token,
        payload,
        location: Location::Header,
        expires: None,
    })
}

/// The presigned parameters, named as on the wire.
const Q_ALGORITHM: &str = "X-Amz-Algorithm";
const Q_CREDENTIAL: &str = "X-Amz-Credential";
const Q_DATE: &str = "X-Amz-Date";
const Q_EXPIRES: &str = "X-Amz-Expires";
const Q_SIGNED_HEADERS: &str = "X-Amz-SignedHeaders";
const Q_SIGNATURE: &str = canonical::SIGNATURE_PARAM;
const Q_SECURITY_TOKEN: &str = "X-Amz-Security-Token";
const Q_CONTENT_SHA256: &str = "X-Amz-Content-Sha256";

fn has_query_auth(query: &str) -> bool {
    query_pairs(query).any(|(name, _)| matches!(&*name, Q_ALGORITHM | Q_CREDENTIAL | Q_SIGNATURE))
}

/// Decoded `(name, raw value)` pairs of a query.
fn query_pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, &str)> {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode_str(name), value)
    })
}

/// A decoded query component as text (lossy for bytes that are not UTF-8,
/// which then cannot match anything they are compared with).
fn decode_str(raw: &str) -> Cow<'_, str> {
    match canonical::decode(raw) {
        Cow::Borrowed(_) => Cow::Borrowed(raw),
        Cow::Owned(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
    }
}

fn parse_query<'a>(req: &Request<'a>, query: &'a str) -> Result<Signed<'a>, SigV4Error> {
    const NAMES: [&str; 8] = [
        Q_ALGORITHM,
        Q_CREDENTIAL,
        Q_SIGNATURE,
        Q_SIGNED_HEADERS,
        Q_DATE,
        Q_EXPIRES,
        Q_SECURITY_TOKEN,
        Q_CONTENT_SHA256,
    ];
    let mut values: [Option<&'a str>; 8] = [None; 8];
    for (name, value) in query_pairs(query) {
        let Some(i) = NAMES.iter().position(|n| *n == name) else {
            continue;
        };
        // One value each: the canonical query is sorted, so with two
        // `X-Amz-Expires` a client could reorder them to pick the longer.
        if values[i].is_some() {
            return Err(SigV4Error::incomplete(format!(
                "AWS query-string parameters must include '{}' only once. Re-examine the query-string parameters.",
                NAMES[i]
            )));
        }
        values[i] = Some(value);
    }
    let [
        algorithm,
        credential,
        signature,
        signed_headers,
        date,
        expires,
        token,
        _,
    ] = values.map(|v| v.filter(|v| !v.is_empty()).map(decode_str));

    let mut missing = String::new();
    for (present, name) in [
        (algorithm.is_some(), Q_ALGORITHM),
        (credential.is_some(), Q_CREDENTIAL),
        (signature.is_some(), Q_SIGNATURE),
        (signed_headers.is_some(), Q_SIGNED_HEADERS),
        (date.is_some(), Q_DATE),
        (expires.is_some(), Q_EXPIRES),
    ] {
        if !present {
            let _ = write!(
                missing,
                "AWS query-string parameters must include '{name}'. "
            );
        }
    }
    let (
        Some(algorithm),
        Some(credential),
        Some(signature),
        Some(signed_headers),
        Some(date),
        Some(expires),
    ) = (
        algorithm,
        credential,
        signature,
        signed_headers,
        date,
        expires,
    )
    else {
        missing.push_str("Re-examine the query-string parameters.");
        return Err(SigV4Error::incomplete(missing));
    };
    if algorithm != ALGORITHM {
        return Err(SigV4Error::incomplete(format!(
            "X-Amz-Algorithm only supports '{ALGORITHM}'. Got '{algorithm}'."
        )));
    }
    let timestamp = time::parse_basic(&date).ok_or_else(|| bad_date(&date))?;
    let expires = parse_expires(&expires)?;
    check_credential_shape(&credential)?;
    // Hex and `UNSIGNED-PAYLOAD` need no decoding, so the raw value is used.
    let declared = values[7].filter(|v| !v.is_empty());
    let payload = match declared.or_else(|| header_str(req.headers, &X_AMZ_CONTENT_SHA256)) {
        Some(value) => declared_payload(value)?,
        None => PayloadHash::Body,
    };
    Ok(Signed {
        credential,
        signed_headers,
        signature,
        amz_date: date,
        timestamp,
        session_token: token,
        payload,
        location: Location::Query,
        expires: Some(expires),
    })
}

fn declared_payload(value: &str) -> Result<PayloadHash<'_>, SigV4Error> {
    if value == UNSIGNED_PAYLOAD {
        Ok(PayloadHash::Unsigned)
    } else if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(PayloadHash::Given(value))
    } else {
        Err(SigV4Error::invalid(
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value.",
        ))
    }
}

fn parse_expires(raw: &str) -> Result<u32, SigV4Error> {
    if raw.starts_with('-') {
        return Err(SigV4Error::incomplete("X-Amz-Expires must be non-negative"));
    }
    if !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SigV4Error::incomplete("X-Amz-Expires should be a number"));
    }
    match raw.parse::<u64>() {
        Ok(0) => Err(SigV4Error::incomplete(
            "X-Amz-Expires must be greater than 0",
        )),
        Ok(e) if e <= u64::from(MAX_EXPIRES_SECONDS) => Ok(e as u32),
        _ => Err(SigV4Error::incomplete(format!(
            "X-Amz-Expires must be less than a week (in seconds) that is; {MAX_EXPIRES_SECONDS}"
        ))),
    }
}

fn check_credential_shape(credential: &str) -> Result<(), SigV4Error> {
    if credential.split('/').count() == 5 {
        Ok(())
    } else {
        Err(SigV4Error::incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
        )))
    }
}

fn bad_date(got: &str) -> SigV4Error {
    SigV4Error::incomplete(format!(
        "Date must be in ISO-8601 'basic format'. Got '{got}'. See http://en.wikipedia.org/wiki/ISO_8601"
    ))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
}

/// Compares without an early exit, so the time taken does not tell an
/// attacker how many leading characters of a forged signature were right.
/// (The length is not secret: it is always 64.)
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}
