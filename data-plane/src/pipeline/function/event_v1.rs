//! Payload format 1.0: the event REST APIs (and HTTP APIs that ask for
//! 1.0) send a function.

use super::{
    Authorizer, EventInput, LastHeaders, LastQuery, MultiHeaders, MultiQuery, OrNull, PathParams,
    RawJson, Scopes, Variables, parse_query,
};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    /// As AWS sends it with HTTP APIs' 1.0 events (REST APIs' functions
    /// ignore it).
    version: &'static str,
    resource: &'a str,
    path: &'a str,
    http_method: &'a str,
    headers: LastHeaders<'a>,
    multi_value_headers: MultiHeaders<'a>,
    query_string_parameters: OrNull<LastQuery<'a, 'a>>,
    multi_value_query_string_parameters: OrNull<MultiQuery<'a, 'a>>,
    path_parameters: OrNull<PathParams<'a>>,
    stage_variables: OrNull<Variables<'a>>,
    request_context: RequestContext<'a>,
    body: Option<std::borrow::Cow<'a, str>>,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext<'a> {
    account_id: &'a str,
    api_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizer: Option<AuthorizerV1<'a>>,
    domain_name: &'a str,
    domain_prefix: &'a str,
    extended_request_id: &'a str,
    http_method: &'a str,
    identity: Identity<'a>,
    path: super::FullPath<'a>,
    protocol: &'a str,
    request_id: &'a str,
    request_time: String,
    request_time_epoch: u64,
    resource_id: &'a str,
    resource_path: &'a str,
    stage: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Identity<'a> {
    access_key: Option<&'a str>,
    account_id: Option<&'a str>,
    api_key: Option<&'a str>,
    api_key_id: Option<&'a str>,
    caller: Option<&'a str>,
    cognito_authentication_provider: Option<&'a str>,
    cognito_authentication_type: Option<&'a str>,
    cognito_identity_id: Option<&'a str>,
    cognito_identity_pool_id: Option<&'a str>,
    principal_org_id: Option<&'a str>,
    source_ip: &'a str,
    user: Option<&'a str>,
    user_agent: Option<&'a str>,
    user_arn: Option<&'a str>,
}

/// 1.0's `requestContext.authorizer`: a custom authorizer's principal and
/// context side by side, or a JWT's claims and scopes.
enum AuthorizerV1<'a> {
    Lambda {
        principal_id: Option<&'a str>,
        context: Option<&'a str>,
    },
    Jwt {
        claims: Option<&'a str>,
        scopes: &'a [String],
    },
}

impl Serialize for AuthorizerV1<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        match self {
            AuthorizerV1::Lambda {
                principal_id,
                context,
            } => {
                map.serialize_entry("principalId", principal_id)?;
                // The context's members beside it, each embedded as its own
                // JSON text; a key with escapes needs the tree.
                match context.map(|c| (c, super::object_members(c))) {
                    Some((_, Some(members))) => {
                        for (k, v) in members {
                            if k != "principalId" {
                                map.serialize_entry(k, v)?;
                            }
                        }
                    }
                    Some((text, None)) => {
                        if let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(text) {
                            for (k, v) in fields {
                                if k != "principalId" {
                                    map.serialize_entry(&k, &v)?;
                                }
                            }
                        }
                    }
                    None => {}
                }
                map.serialize_entry("integrationLatency", &0)?;
            }
            AuthorizerV1::Jwt { claims, scopes } => {
                map.serialize_entry("claims", &RawJson(*claims))?;
                map.serialize_entry("scopes", &Scopes(scopes))?;
            }
        }
        map.end()
    }
}

/// The 1.0 event as JSON bytes.
pub fn build(input: &EventInput<'_>) -> Result<Vec<u8>, serde_json::Error> {
    let query = parse_query(input.query);
    let (authorizer, iam) = match &input.authorizer {
        Authorizer::None => (None, None),
        Authorizer::Lambda {
            principal_id,
            context,
        } => (
            Some(AuthorizerV1::Lambda {
                principal_id: *principal_id,
                context: *context,
            }),
            None,
        ),
        Authorizer::Jwt { claims, scopes } => (
            Some(AuthorizerV1::Jwt {
                claims: *claims,
                scopes,
            }),
            None,
        ),
        Authorizer::Iam {
            access_key,
            user_arn,
            user,
            account_id,
        } => (None, Some((*access_key, *user_arn, *user, *account_id))),
    };
    let event = Event {
        version: "1.0",
        resource: input.resource_path,
        path: input.path_or_root(),
        http_method: input.method,
        headers: LastHeaders(input.headers),
        multi_value_headers: MultiHeaders(input.headers),
        query_string_parameters: OrNull(LastQuery(&query)),
        multi_value_query_string_parameters: OrNull(MultiQuery(&query)),
        path_parameters: OrNull(PathParams(input.params)),
        stage_variables: OrNull(Variables(input.stage_variables)),
        request_context: RequestContext {
            account_id: input.account_id,
            api_id: input.api_id,
            authorizer,
            domain_name: input.domain_name,
            domain_prefix: input.domain_name.split('.').next().unwrap_or(""),
            extended_request_id: input.request_id,
            http_method: input.method,
            identity: Identity {
                access_key: iam.map(|i| i.0),
                account_id: iam.map(|i| i.3),
                api_key: input.header("x-api-key"),
                api_key_id: input.api_key_id,
                caller: iam.map(|i| i.1),
                cognito_authentication_provider: None,
                cognito_authentication_type: None,
                cognito_identity_id: None,
                cognito_identity_pool_id: None,
                principal_org_id: None,
                source_ip: input.source_ip,
                user: iam.and_then(|i| i.2),
                user_agent: input.header("user-agent"),
                user_arn: iam.map(|i| i.1),
            },
            path: input.full_path(),
            protocol: input.protocol,
            request_id: input.request_id,
            request_time: input.request_time(),
            request_time_epoch: input.time_epoch_ms(),
            resource_id: input.resource_id,
            resource_path: input.resource_path,
            stage: input.stage,
        },
        body: input.body_text(),
        is_base64_encoded: input.binary && !input.body.is_empty(),
    };
    let mut out = Vec::with_capacity(input.event_capacity());
    serde_json::to_writer(&mut out, &event)?;
    Ok(out)
}
