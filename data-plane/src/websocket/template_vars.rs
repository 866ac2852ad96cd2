//! What a mapping template sees of a WebSocket event, as AWS's WebSocket
//! APIs show it: `$input` over the message (`$input.params()` has the
//! handshake's headers and query string on CONNECT, nothing on other
//! events), `$stageVariables` of the stage serving the event, and
//! `$context`:
//!
//! - `connectionId`, `routeKey`, `eventType`, `messageId` (MESSAGE),
//!   `messageDirection` (`IN`), `requestId`, `extendedRequestId`,
//!   `requestTime` (CLF), `requestTimeEpoch` and `connectedAt` (ms),
//!   `domainName`, `stage`, `apiId`, `accountId`;
//! - `identity.sourceIp`, `userAgent`, `apiKey` and `apiKeyId` (when
//!   `$connect` required a key), and for SigV4 callers `accessKey`,
//!   `caller`, `user`, `userArn`, `accountId`;
//! - `authorizer.principalId` and `authorizer.NAME` (the REQUEST
//!   authorizer's context at `$connect`, stringified as AWS does);
//! - `disconnectStatusCode` and `disconnectReason` (DISCONNECT).
//!
//! The view borrows the event; the query string and the authorizer's
//! context are parsed on first use.

use super::event::{Event, Identity, epoch_ms};
use archway_proto::mapping_expr::Location;
use archway_proto::template::{ContextVars, Params, StageVariables, Value, Variables};
use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;

/// One event as templates see it.
pub struct EventVars<'r> {
    event: &'r Event<'r>,
    stage_variables: &'r HashMap<Box<str>, Box<str>>,
    account_id: &'r str,
    query: OnceCell<Vec<(Cow<'r, str>, Cow<'r, str>)>>,
    authorizer: OnceCell<Option<serde_json::Map<String, serde_json::Value>>>,
}

impl<'r> EventVars<'r> {
    pub fn new(
        event: &'r Event<'r>,
        stage_variables: &'r HashMap<Box<str>, Box<str>>,
        account_id: &'r str,
    ) -> Self {
        EventVars {
            event,
            stage_variables,
            account_id,
            query: OnceCell::new(),
            authorizer: OnceCell::new(),
        }
    }

    /// The engine's input over `body` (the message, or the backend's
    /// answer for response templates).
    pub fn variables<'v>(&'v self, body: &'v [u8]) -> Variables<'v> {
        Variables {
            body,
            params: self,
            context: self,
            stage_variables: self,
        }
    }

    fn query_params(&self) -> &[(Cow<'r, str>, Cow<'r, str>)] {
        self.query.get_or_init(|| {
            let query = self
                .event
                .handshake
                .and_then(|h| h.uri.query())
                .unwrap_or("");
            form_urlencoded::parse(query.as_bytes()).collect()
        })
    }

    fn authorizer_context(&self) -> Option<&serde_json::Map<String, serde_json::Value>> {
        self.authorizer
            .get_or_init(|| {
                let Identity::Authorizer(p) = &self.event.peer.identity else {
                    return None;
                };
                match serde_json::from_slice(p.context.as_ref()?.as_bytes()) {
                    Ok(serde_json::Value::Object(map)) => Some(map),
                    _ => None,
                }
            })
            .as_ref()
    }

    fn identity(&self, name: &str) -> Option<Value> {
        let peer = self.event.peer;
        let iam = match &peer.identity {
            Identity::Iam {
                access_key,
                user_arn,
                user,
                account_id,
                ..
            } => Some((access_key, user_arn, user, account_id)),
            _ => None,
        };
        match name {
            "sourceIp" => Some(Value::String(peer.source_ip.to_string().into())),
            "userAgent" => Some(Value::string(&peer.user_agent)),
            "apiKey" => peer.api_key.as_deref().map(Value::string),
            "apiKeyId" => peer.api_key_id.as_deref().map(Value::string),
            "accessKey" => iam.map(|(k, ..)| Value::string(k)),
            "caller" | "userArn" => iam.map(|(_, arn, ..)| Value::string(arn)),
            "user" => iam.map(|(_, arn, user, _)| Value::string(user.as_deref().unwrap_or(arn))),
            "accountId" => iam.map(|(.., account)| Value::string(account)),
            _ => None,
        }
    }

    fn authorizer_value(&self, path: &[&str]) -> Option<Value> {
        let Identity::Authorizer(p) = &self.event.peer.identity else {
            return None;
        };
        match path {
            ["principalId"] => p
                .subject
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .map(Value::string),
            [name] => self.authorizer_context()?.get(*name).map(|v| match v {
                serde_json::Value::String(s) => Value::string(s),
                other => Value::String(other.to_string().into()),
            }),
            _ => None,
        }
    }
}

impl Params for EventVars<'_> {
    fn path(&self, _: &str) -> Option<&str> {
        None
    }

    fn querystring(&self, name: &str) -> Option<&str> {
        self.query_params()
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| &**v)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.event
            .handshake?
            .headers
            .get_all(name)
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
    }

    fn each(&self, location: Location, f: &mut dyn FnMut(&str, &str)) {
        match location {
            Location::Path => {}
            Location::QueryString => self.query_params().iter().for_each(|(n, v)| f(n, v)),
            Location::Header => {
                if let Some(handshake) = self.event.handshake {
                    for (name, value) in &handshake.headers {
                        if let Ok(v) = value.to_str() {
                            f(name.as_str(), v);
                        }
                    }
                }
            }
        }
    }
}

impl ContextVars for EventVars<'_> {
    fn get(&self, path: &[&str]) -> Option<Value> {
        let e = self.event;
        let peer = e.peer;
        let text = |s: &str| Some(Value::string(s));
        match path {
            ["connectionId"] => text(&peer.connection_id),
            ["routeKey"] => text(e.route_key),
            ["eventType"] => text(e.kind.as_str()),
            ["messageId"] => e.message_id.map(Value::string),
            ["messageDirection"] => text("IN"),
            ["requestId" | "extendedRequestId"] => text(e.request_id.as_str()),
            ["requestTime"] => {
                let mut out = String::with_capacity(26);
                let _ = crate::pipeline::observe::write_clf_time(&mut out, e.at);
                Some(Value::String(out.into()))
            }
            ["requestTimeEpoch"] => Some(Value::Int(epoch_ms(e.at))),
            ["connectedAt"] => Some(Value::Int(peer.connected_at_ms)),
            ["domainName"] => text(&peer.domain_name),
            ["stage"] => text(&peer.stage),
            ["apiId"] => text(&peer.api_id),
            ["accountId"] => text(self.account_id),
            ["disconnectStatusCode"] => e.disconnect.map(|(code, _)| Value::Int(code.into())),
            ["disconnectReason"] => e.disconnect.map(|(_, reason)| Value::string(reason)),
            ["identity", name] => self.identity(name),
            ["authorizer", rest @ ..] => self.authorizer_value(rest),
            _ => None,
        }
    }
}

impl StageVariables for EventVars<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.stage_variables.get(name).map(|v| &**v)
    }
}
