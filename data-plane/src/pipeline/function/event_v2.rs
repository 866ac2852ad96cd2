//! Payload format 2.0: the event HTTP APIs send a function.

use super::{
    Authorizer, EventInput, JoinedHeaders, JoinedQuery, PathParams, RawJson, Scopes, Variables,
    cookies, parse_query,
};
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    version: &'static str,
    route_key: &'a str,
    raw_path: super::FullPath<'a>,
    raw_query_string: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cookies: Vec<&'a str>,
    headers: JoinedHeaders<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_string_parameters: Option<JoinedQuery<'a, 'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_parameters: Option<PathParams<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage_variables: Option<Variables<'a>>,
    request_context: RequestContext<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<std::borrow::Cow<'a, str>>,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext<'a> {
    account_id: &'a str,
    api_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizer: Option<AuthorizerV2<'a>>,
    domain_name: &'a str,
    domain_prefix: &'a str,
    http: Http<'a>,
    request_id: &'a str,
    route_key: &'a str,
    stage: &'a str,
    time: String,
    time_epoch: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Http<'a> {
    method: &'a str,
    path: super::FullPath<'a>,
    protocol: &'a str,
    source_ip: &'a str,
    user_agent: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum AuthorizerV2<'a> {
    Jwt {
        claims: RawJson<'a>,
        scopes: Scopes<'a>,
    },
    Lambda(RawJson<'a>),
    Iam(Iam<'a>),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Iam<'a> {
    access_key: &'a str,
    account_id: &'a str,
    caller_id: &'a str,
    user_arn: &'a str,
    user_id: Option<&'a str>,
}

/// The 2.0 event as JSON bytes.
pub fn build(input: &EventInput<'_>) -> Result<Vec<u8>, serde_json::Error> {
    let query = parse_query(input.query);
    let full_path = input.full_path();
    let authorizer = match &input.authorizer {
        Authorizer::None => None,
        Authorizer::Jwt { claims, scopes } => Some(AuthorizerV2::Jwt {
            claims: RawJson(*claims),
            scopes: Scopes(scopes),
        }),
        Authorizer::Lambda { context, .. } => Some(AuthorizerV2::Lambda(RawJson(*context))),
        Authorizer::Iam {
            access_key,
            user_arn,
            user,
            account_id,
        } => Some(AuthorizerV2::Iam(Iam {
            access_key,
            account_id,
            caller_id: user_arn,
            user_arn,
            user_id: *user,
        })),
    };
    let event = Event {
        version: "2.0",
        route_key: input.route_key,
        raw_path: full_path,
        raw_query_string: input.query.unwrap_or(""),
        cookies: cookies(input.headers),
        headers: JoinedHeaders(input.headers),
        query_string_parameters: (!query.is_empty()).then_some(JoinedQuery(&query)),
        path_parameters: (!input.params.is_empty()).then_some(PathParams(input.params)),
        stage_variables: (!input.stage_variables.is_empty())
            .then_some(Variables(input.stage_variables)),
        request_context: RequestContext {
            account_id: input.account_id,
            api_id: input.api_id,
            authorizer,
            domain_name: input.domain_name,
            domain_prefix: input.domain_name.split('.').next().unwrap_or(""),
            http: Http {
                method: input.method,
                path: full_path,
                protocol: input.protocol,
                source_ip: input.source_ip,
                user_agent: input.header("user-agent").unwrap_or(""),
            },
            request_id: input.request_id,
            route_key: input.route_key,
            stage: input.stage,
            time: input.request_time(),
            time_epoch: input.time_epoch_ms(),
        },
        body: input.body_text(),
        is_base64_encoded: input.binary && !input.body.is_empty(),
    };
    let mut out = Vec::with_capacity(input.event_capacity());
    serde_json::to_writer(&mut out, &event)?;
    Ok(out)
}
