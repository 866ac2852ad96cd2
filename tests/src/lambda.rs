//! A Lambda Invoke API the tests run on a free loopback port: it checks
//! each invocation's SigV4 signature against the key it was given
//! (recomputed with the aws-sigv4 crate from the request as received),
//! records the event, and answers as the function named in the path is
//! scripted to (see [`reply`]).

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// One invocation as the server received it.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The function as the path names it (percent-decoded).
    pub function: String,
    pub qualifier: Option<String>,
    pub event: Value,
    /// The access key id the request was signed with.
    pub access_key: String,
    /// The credential scope's region and service.
    pub region: String,
    pub service: String,
    /// The signature matched the one recomputed with the server's secret.
    pub signature_ok: bool,
    pub session_token: Option<String>,
}

/// The running server.
#[derive(Debug, Clone)]
pub struct LambdaServer {
    pub addr: SocketAddr,
    pub invocations: Arc<Mutex<Vec<Invocation>>>,
}

impl LambdaServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn invocations(&self) -> Vec<Invocation> {
        self.invocations.lock().unwrap().clone()
    }

    /// The last invocation of `function` (the name in the function's ARN).
    pub fn last(&self, function: &str) -> Option<Invocation> {
        self.invocations()
            .into_iter()
            .rev()
            .find(|i| i.function.rsplit(':').next() == Some(function))
    }
}

/// Starts a server whose callers must sign with `access_key`/`secret`;
/// `name` is put in every answer (`servedBy`), to tell servers apart.
pub async fn start(name: &'static str, access_key: &str, secret: &str) -> LambdaServer {
    let invocations: Arc<Mutex<Vec<Invocation>>> = Arc::default();
    let (key, secret) = (access_key.to_owned(), secret.to_owned());
    let recorded = invocations.clone();
    let addr = crate::serve::spawn(None, move |req| {
        let (recorded, key, secret) = (recorded.clone(), key.clone(), secret.clone());
        async move { handle(req, name, &key, &secret, &recorded).await }
    })
    .await;
    LambdaServer { addr, invocations }
}

async fn handle(
    req: Request<Bytes>,
    name: &str,
    key: &str,
    secret: &str,
    recorded: &Mutex<Vec<Invocation>>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let Some(function) = path
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|f| f.strip_suffix("/invocations"))
    else {
        return crate::serve::answer(404, r#"{"Type":"User","message":"not an Invoke path"}"#);
    };
    let function = percent_decode(function);
    let qualifier = req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|p| p.strip_prefix("Qualifier="))
            .map(percent_decode)
    });
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let scope: Vec<&str> = auth
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split(',').next())
        .unwrap_or("")
        .split('/')
        .collect();
    let signature_ok = scope.first() == Some(&key)
        && scope.len() > 3
        && expected_signature(&req, key, secret, scope[2], scope[3]).as_deref()
            == Some(auth.as_str());
    let event: Value = serde_json::from_slice(req.body()).unwrap_or(Value::Null);
    recorded.lock().unwrap().push(Invocation {
        function: function.clone(),
        qualifier,
        event: event.clone(),
        access_key: scope.first().unwrap_or(&"").to_string(),
        region: scope.get(2).unwrap_or(&"").to_string(),
        service: scope.get(3).unwrap_or(&"").to_string(),
        signature_ok,
        session_token: req
            .headers()
            .get("x-amz-security-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    });
    if !signature_ok {
        let mut r = crate::serve::answer(
            403,
            r#"{"message":"The request signature we calculated does not match the signature you provided."}"#,
        );
        r.headers_mut().insert(
            "x-amzn-errortype",
            "InvalidSignatureException".parse().unwrap(),
        );
        return r;
    }
    reply(function.rsplit(':').next().unwrap_or(""), name, &event).await
}

/// What each scripted function answers:
/// - `echo`: 200 with the event it got as the body (1.0 response shape);
/// - `echo2`: the 2.0 shape with cookies;
/// - `bare`: a bare JSON object (2.0 infers 200);
/// - `raises`: a function error (`X-Amz-Function-Error: Unhandled`);
/// - `throttled`: the Invoke API's 429;
/// - `malformed`: an answer that is not a proxy response;
/// - `slow`: answers after 2 s.
async fn reply(function: &str, name: &str, event: &Value) -> Response<Full<Bytes>> {
    let json_answer = |status: u16, body: Value| crate::serve::answer(status, body.to_string());
    match function {
        "echo" => json_answer(
            200,
            json!({
                "statusCode": 201,
                "headers": {"content-type": "application/json", "x-served-by": name},
                "multiValueHeaders": {"x-multi": ["1", "2"]},
                "body": json!({"servedBy": name, "event": event}).to_string(),
                "isBase64Encoded": false,
            }),
        ),
        "echo2" => json_answer(
            200,
            json!({
                "statusCode": 200,
                "headers": {"content-type": "application/json"},
                "cookies": ["session=1; Path=/", "theme=dark"],
                "body": json!({"servedBy": name, "event": event}).to_string(),
            }),
        ),
        "bare" => json_answer(200, json!({"servedBy": name, "bare": true})),
        "raises" => {
            let mut r = json_answer(
                200,
                json!({"errorMessage": "boom", "errorType": "Error", "trace": []}),
            );
            r.headers_mut()
                .insert("x-amz-function-error", "Unhandled".parse().unwrap());
            r
        }
        "throttled" => {
            let mut r = json_answer(
                429,
                json!({"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."}),
            );
            r.headers_mut().insert(
                "x-amzn-errortype",
                "TooManyRequestsException".parse().unwrap(),
            );
            r
        }
        "malformed" => crate::serve::answer(200, "this is not JSON"),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(2)).await;
            json_answer(200, json!({"statusCode": 200, "body": "late"}))
        }
        _ => json_answer(
            404,
            json!({"Type": "User", "message": format!("Function not found: {function}")}),
        ),
    }
}

/// The `Authorization` header aws-sigv4 makes for this request with
/// `secret` for the `region` and `service` of its credential scope, at the
/// request's own `x-amz-date`, over the headers it says it signed.
fn expected_signature(
    req: &Request<Bytes>,
    key: &str,
    secret: &str,
    region: &str,
    service: &str,
) -> Option<String> {
    let auth = req.headers().get("authorization")?.to_str().ok()?;
    let signed: Vec<&str> = auth
        .split("SignedHeaders=")
        .nth(1)?
        .split(',')
        .next()?
        .split(';')
        .collect();
    let time = parse_amz_date(req.headers().get("x-amz-date")?.to_str().ok()?)?;
    let token = req
        .headers()
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok());
    let host = req.headers().get("host")?.to_str().ok()?;
    let uri = format!("http://{host}{}", req.uri().path_and_query()?.as_str());
    let headers: Vec<(&str, &str)> = signed
        .iter()
        .filter(|h| **h != "x-amz-date" && **h != "x-amz-security-token")
        .filter_map(|h| Some((*h, req.headers().get(*h)?.to_str().ok()?)))
        .collect();
    let signed = crate::sigv4::sign(&crate::sigv4::Signing {
        key,
        secret,
        token,
        region,
        service,
        method: req.method().as_str(),
        uri: &uri,
        headers: &headers,
        body: req.body(),
        time,
    })
    .ok()?;
    signed
        .into_iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v)
}

/// `20260102T030405Z`.
fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let days = archway_proto::quota::days_from_civil(n(0..4)?.into(), n(4..6)?, n(6..8)?);
    let secs = days * 86_400 + i64::from(n(9..11)? * 3600 + n(11..13)? * 60 + n(13..15)?);
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn amz_dates_parse() {
        let t = super::parse_amz_date("20231114T221320Z").unwrap();
        assert_eq!(
            t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
            1_700_000_000
        );
    }
}
