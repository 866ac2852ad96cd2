//! What a mapping template sees of a request: `$input.params(..)`,
//! `$context.*` and `$stageVariables.*`, as the engine's traits
//! ([`archway_proto::template::Params`], [`ContextVars`],
//! [`StageVariables`]) over the request's [`Context`] and [`Target`].
//!
//! The view borrows the request; nothing is copied up front. The query
//! string and percent-encoded path parameters are decoded on first use, the
//! authorizer's claims or context parsed on first use, once per view. One
//! view serves every template of a request (request, response, gateway
//! response), built after the route is known.
//!
//! `$context` names: AWS's, matched here in one `match` rather than through
//! the access log's [`archway_proto::access_log::ContextVar`] list: that
//! list holds response-side names (status, latencies, response length) a
//! template cannot know yet, and lacks the identity and authorizer names
//! templates use; the names both have read the same sources
//! (request id, received time, Host, protocol, client address).
//!
//! - `requestId`, `extendedRequestId`, `apiId`, `stage`, `httpMethod`,
//!   `resourcePath`, `resourceId`, `path` (`/{stage}/…`), `protocol`,
//!   `domainName`, `domainPrefix`, `requestTime` (CLF), `requestTimeEpoch`
//!   (ms), `accountId`;
//! - `identity.sourceIp`, `userAgent`, `apiKey` (the `x-api-key` sent for a
//!   method that requires a key), `apiKeyId`, and for SigV4 callers
//!   `accessKey`, `caller`, `user`, `userArn`, `accountId`; the Cognito
//!   names are empty, as for callers AWS did not authenticate with Cognito;
//! - `authorizer.principalId`, `authorizer.claims.NAME` (JWT), and
//!   `authorizer.NAME` (a custom authorizer's context, stringified as AWS
//!   does: numbers and booleans as text);
//! - `error.message`, `error.messageString`, `error.responseType`,
//!   `error.validationErrorString` for gateway response templates
//!   ([`TemplateVars::with_error`]).

use super::caller::Caller;
use super::context::{Context, Stage, Target};
use super::gateway_response::GatewayResponse;
use crate::tables::Route;
use archway_proto::mapping_expr::Location;
use archway_proto::template::jsonpath::{JsonPath, Selected};
use archway_proto::template::{ContextVars, Params, StageVariables, Value, Variables};
use archway_proto::template::{Limits, Map};
use std::borrow::Cow;
use std::cell::OnceCell;

/// One request as templates see it.
pub struct TemplateVars<'r, 'a> {
    cx: &'r Context<'a>,
    stage: Stage<'a>,
    /// None before routing (a refusal's gateway response when no route
    /// matched): `resourcePath` and `resourceId` are then absent.
    route: Option<&'a Route>,
    error: Option<&'r GatewayResponse>,
    path: OnceCell<Vec<(&'r str, Cow<'r, str>)>>,
    query: OnceCell<Vec<(Cow<'r, str>, Cow<'r, str>)>>,
    /// JWT claims or a custom authorizer's context, parsed.
    authorizer: OnceCell<Option<serde_json::Map<String, serde_json::Value>>>,
}

impl<'r, 'a> TemplateVars<'r, 'a> {
    pub fn new(cx: &'r Context<'a>, target: &'r Target<'a>) -> Self {
        let stage = Stage {
            api: target.api,
            stage: target.stage,
            serving: target.serving,
        };
        Self::for_stage(cx, stage, Some(target.route))
    }

    /// A request whose API and stage are known, and its route when one
    /// matched: what gateway response templates see of a refusal.
    pub fn for_stage(cx: &'r Context<'a>, stage: Stage<'a>, route: Option<&'a Route>) -> Self {
        Self {
            cx,
            stage,
            route,
            error: None,
            path: OnceCell::new(),
            query: OnceCell::new(),
            authorizer: OnceCell::new(),
        }
    }

    /// `$context.error.*` answers from `refusal` (gateway response
    /// templates).
    pub fn with_error(mut self, refusal: &'r GatewayResponse) -> Self {
        self.error = Some(refusal);
        self
    }

    /// The engine's input over `body` (the request's, or the backend's
    /// answer for response templates).
    pub fn variables<'v>(&'v self, body: &'v [u8]) -> Variables<'v> {
        Variables {
            body,
            params: self,
            context: self,
            stage_variables: self,
        }
    }

    fn path_params(&self) -> &[(&'r str, Cow<'r, str>)] {
        self.path.get_or_init(|| {
            let path = self.cx.stage_path();
            self.cx
                .param_spans()
                .map(|(name, span)| {
                    // Read the span from the path with the view's lifetime;
                    // a span out of range reads as empty, never panics.
                    let raw: &'r str = path.get(span).unwrap_or_default();
                    (
                        name,
                        percent_encoding::percent_decode_str(raw).decode_utf8_lossy(),
                    )
                })
                .collect()
        })
    }

    fn query_params(&self) -> &[(Cow<'r, str>, Cow<'r, str>)] {
        self.query.get_or_init(|| {
            let query: &'r str = self.cx.head.uri.query().unwrap_or("");
            form_urlencoded::parse(query.as_bytes()).collect()
        })
    }

    fn header_text(&self, name: &str) -> Option<&'r str> {
        self.cx
            .head
            .headers
            .get_all(name)
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
    }

    fn authorizer_fields(&self) -> Option<&serde_json::Map<String, serde_json::Value>> {
        self.authorizer
            .get_or_init(|| {
                let principal = self.cx.authorization.principal.as_deref()?;
                let text = match &self.cx.authorization.caller {
                    Caller::Jwt { .. } => principal.claims.as_ref()?,
                    Caller::Authorizer(_) => principal.context.as_ref()?,
                    _ => return None,
                };
                match serde_json::from_slice(text.as_bytes()) {
                    Ok(serde_json::Value::Object(map)) => Some(map),
                    _ => None,
                }
            })
            .as_ref()
    }

    fn identity(&self, name: &str) -> Option<Value> {
        let iam = self.cx.authorization.iam_key();
        let text = |s: &str| Some(Value::string(s));
        match name {
            "sourceIp" => Some(Value::String(self.cx.client.ip.to_string().into())),
            "userAgent" => text(self.header_text("user-agent").unwrap_or("")),
            "apiKey" => self
                .cx
                .usage
                .as_ref()
                .and(self.header_text("x-api-key"))
                .map(Value::string),
            "apiKeyId" => self.cx.usage.as_ref().map(|u| Value::string(u.key_id)),
            "accessKey" => iam.map(|k| Value::string(&k.access_key_id)),
            "caller" | "userArn" => iam.map(|k| Value::string(&k.principal_arn)),
            "user" => iam.map(|k| Value::string(k.username.as_deref().unwrap_or(&k.principal_arn))),
            "accountId" => iam.map(|k| Value::string(k.account_id())),
            "cognitoAuthenticationProvider"
            | "cognitoAuthenticationType"
            | "cognitoIdentityId"
            | "cognitoIdentityPoolId"
            | "principalOrgId" => text(""),
            _ => None,
        }
    }

    fn authorizer_value(&self, path: &[&str]) -> Option<Value> {
        let principal = self.cx.authorization.principal.as_deref();
        match (path, &self.cx.authorization.caller) {
            (["principalId"], Caller::Authorizer(_) | Caller::Jwt { .. }) => principal?
                .subject
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .map(Value::string),
            (["claims", name], Caller::Jwt { .. }) => {
                self.authorizer_fields()?.get(*name).map(stringified)
            }
            ([name], Caller::Authorizer(_)) => {
                self.authorizer_fields()?.get(*name).map(stringified)
            }
            _ => None,
        }
    }

    fn domain(&self) -> &'r str {
        super::normalize::domain_name(&self.cx.head)
    }
}

/// AWS hands authorizer values to templates as strings: `1`, `true`.
fn stringified(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::String(s) => Value::string(s),
        other => Value::String(other.to_string().into()),
    }
}

impl Params for TemplateVars<'_, '_> {
    fn path(&self, name: &str) -> Option<&str> {
        self.path_params()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| &**v)
    }

    /// The last value of a repeated parameter, as AWS's mapping reads it.
    fn querystring(&self, name: &str) -> Option<&str> {
        self.query_params()
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| &**v)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.header_text(name)
    }

    fn each(&self, location: Location, f: &mut dyn FnMut(&str, &str)) {
        match location {
            Location::Path => self.path_params().iter().for_each(|(n, v)| f(n, v)),
            Location::QueryString => self.query_params().iter().for_each(|(n, v)| f(n, v)),
            Location::Header => {
                for (name, value) in &self.cx.head.headers {
                    if let Ok(v) = value.to_str() {
                        f(name.as_str(), v);
                    }
                }
            }
        }
    }
}

impl ContextVars for TemplateVars<'_, '_> {
    fn get(&self, path: &[&str]) -> Option<Value> {
        let cx = self.cx;
        let t = &self.stage;
        let text = |s: &str| Some(Value::string(s));
        match path {
            ["requestId" | "extendedRequestId"] => text(cx.observation.request_id.as_str()),
            ["apiId"] => text(&t.api.id),
            ["stage"] => text(&t.stage.name),
            ["httpMethod"] => text(cx.head.method.as_str()),
            ["resourcePath"] => text(&self.route?.resource_path),
            ["resourceId"] => text(&self.route?.resource_id),
            ["path"] => {
                let rest = cx.stage_path();
                let rest = if rest.is_empty() { "/" } else { rest };
                Some(Value::String(format!("/{}{rest}", t.stage.name).into()))
            }
            ["protocol"] => text(super::normalize::protocol_name(cx.head.version)),
            ["domainName"] => text(self.domain()),
            ["domainPrefix"] => text(self.domain().split('.').next().unwrap_or("")),
            ["requestTime"] => {
                let mut out = String::with_capacity(26);
                let _ = super::observe::write_clf_time(&mut out, cx.observation.received_at());
                Some(Value::String(out.into()))
            }
            ["requestTimeEpoch"] => Some(Value::Int(
                cx.observation
                    .received_at()
                    .duration_since(std::time::SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64),
            )),
            ["accountId"] => text(&cx.tables.account_id),
            ["identity", name] => self.identity(name),
            ["authorizer", rest @ ..] => self.authorizer_value(rest),
            ["error", name] => {
                let e = self.error?;
                match *name {
                    "message" => text(e.message()),
                    "messageString" => Some(Value::String(e.message_string().into())),
                    "responseType" => text(e.response_type()),
                    "validationErrorString" => text(e.validation_error_string()),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

impl StageVariables for TemplateVars<'_, '_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.stage.serving.variables.get(name).map(|v| &**v)
    }
}

/// A body as JSON for body-path mappings (`method.request.body.a.b`,
/// `$request.body.a`, `integration.response.body.x`): parsed at most once
/// however many mappings read it, within the steps a template's
/// `$input.json(..)` may take ([`Limits::default`]). An empty body reads as
/// `{}`, as in AWS.
pub struct BodyJson<'b> {
    text: &'b [u8],
    parsed: Option<Result<Value, String>>,
    /// Steps taken so far: parsing, then each selection.
    work: u64,
}

impl<'b> BodyJson<'b> {
    pub fn new(text: &'b [u8]) -> Self {
        BodyJson {
            text,
            parsed: None,
            work: 0,
        }
    }

    /// What `path` selects: None when a definite path finds nothing, a list
    /// for any other path. Err: the body is not JSON, or the work passed
    /// the limit.
    pub fn select(&mut self, path: &JsonPath) -> Result<Option<Value>, String> {
        let max = Limits::default().max_steps;
        let text = self.text;
        let work = &mut self.work;
        let root = self
            .parsed
            .get_or_insert_with(|| {
                if text.iter().all(u8::is_ascii_whitespace) {
                    return Ok(Value::map(Map::new()));
                }
                // A step per 64 bytes and per value, as templates pay.
                *work += text.len() as u64 / 64;
                archway_proto::template::parse_json_counting(text, work)
            })
            .as_ref()
            .map_err(|e| format!("the body is not JSON: {e}"))?;
        let too_much = || format!("the body path took more than {max} steps");
        if self.work > max {
            return Err(too_much());
        }
        Ok(
            match path
                .select_within(root, &mut self.work, max)
                .map_err(|_| too_much())?
            {
                Selected::One(v) => v,
                Selected::Many(vs) => Some(Value::list(vs)),
            },
        )
    }

    /// [`BodyJson::select`] as a mapped value: see [`BodyJson::value_text`].
    pub fn text(&mut self, path: &JsonPath, max_bytes: usize) -> Result<Option<String>, String> {
        match self.select(path)? {
            Some(v) => Self::value_text(&v, max_bytes).map(Some),
            None => Ok(None),
        }
    }

    /// A selected value as mapped text: a string unquoted, any other value
    /// as compact JSON (at most `max_bytes`).
    pub fn value_text(v: &Value, max_bytes: usize) -> Result<String, String> {
        if let Value::String(s) = v {
            return Ok(s.to_string());
        }
        let mut out = String::new();
        if !archway_proto::template::write_json_within(v, &mut out, max_bytes) {
            return Err(format!(
                "the body path's value is longer than {max_bytes} bytes"
            ));
        }
        Ok(out)
    }
}
