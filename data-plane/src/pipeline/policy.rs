//! Phase: resource policy. The API's resource policy, with an IAM caller's
//! identity policies, must allow `execute-api:Invoke` on the method ARN;
//! an explicit deny anywhere wins. Runs only when there is something to
//! evaluate: a resource policy, or an IAM caller (whose identity policies
//! must allow the call even without one).

use super::caller::Authorization;
use super::context::{Context, Target};
use super::gateway_response::{GatewayResponse, IamRefusal};
use super::observe::Phase;
use archway_proto::policy::{Decision, MethodArn, Policy};
use std::net::IpAddr;

/// What the resource and identity policies see of one request.
#[derive(Debug, Clone, Copy)]
pub struct Invocation<'a> {
    pub arn: MethodArn<'a>,
    pub source_ip: IpAddr,
    pub secure_transport: bool,
}

/// The phase.
pub fn check<'a>(cx: &mut Context<'a>, target: &Target<'a>) -> Result<(), GatewayResponse> {
    let resource_policy = target.api.resource_policy.as_ref();
    if resource_policy.is_none() && cx.authorization.iam_key().is_none() {
        return Ok(());
    }
    let invocation = Invocation {
        arn: method_arn(cx, target),
        source_ip: cx.client.ip,
        secure_transport: cx.client.secure,
    };
    authorize_invoke(&cx.authorization, resource_policy, &invocation)?;
    cx.observation.event(Phase::PolicyAllowed);
    Ok(())
}

/// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}`
/// of this request, as parts (policies match it without formatting it).
pub fn method_arn<'c>(cx: &'c Context<'_>, target: &Target<'c>) -> MethodArn<'c> {
    MethodArn {
        region: &cx.tables.region,
        account: &cx.tables.account_id,
        api_id: &target.api.id,
        stage: &target.stage.name,
        // A WebSocket route's ARN ends at its key, as AWS writes it:
        // `.../prod/$connect`.
        method: match &target.route.route_key {
            Some(key) => key,
            None => cx.head.method.as_str(),
        },
        path: match target.route.route_key {
            Some(_) => None,
            None => Some(cx.stage_path()),
        },
    }
}

/// `execute-api:Invoke` for this caller, decided as every action is (see
/// [`Authorization::decide`]): an IAM caller needs an allow from its
/// identity policies or the resource policy; a custom authorizer's caller
/// has its authorizer's allow, so only an explicit deny refuses it; any
/// other caller (no authorizer, or a JWT: no IAM principal) needs the
/// resource policy's allow.
pub fn authorize_invoke(
    authorization: &Authorization<'_>,
    resource_policy: Option<&Policy>,
    invocation: &Invocation<'_>,
) -> Result<(), GatewayResponse> {
    authorize_action(
        authorization,
        resource_policy,
        archway_proto::policy::INVOKE_ACTION,
        invocation,
    )
}

/// `action` (`execute-api:Invoke`, `execute-api:ManageConnections`) for
/// this caller on the invocation's ARN, decided as [`authorize_invoke`]
/// says, and refused as AWS words it.
pub fn authorize_action(
    authorization: &Authorization<'_>,
    resource_policy: Option<&Policy>,
    action: &str,
    invocation: &Invocation<'_>,
) -> Result<(), GatewayResponse> {
    let decision = authorization.decide(resource_policy, action, invocation);
    if decision.is_allow() {
        return Ok(());
    }
    let who = authorization
        .iam_key()
        .map_or("anonymous", |k| &k.principal_arn);
    let deny = if decision == Decision::ExplicitDeny {
        " with an explicit deny"
    } else {
        ""
    };
    Err(GatewayResponse::Iam(IamRefusal::forbidden(
        "AccessDeniedException",
        format!(
            "User: {who} is not authorized to perform: {action} on resource: {}{deny}",
            masked_arn(&invocation.arn)
        ),
    )))
}

/// The ARN with the account masked but its last four digits, as AWS shows it.
fn masked_arn(arn: &MethodArn<'_>) -> String {
    let account = arn.account;
    let shown = account.len().saturating_sub(4);
    MethodArn {
        account: &format!("{}{}", "*".repeat(shown), &account[shown..]),
        ..*arn
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_all_but_the_last_four_account_digits() {
        let arn = MethodArn {
            region: "us-east-1",
            account: "123456789012",
            api_id: "abc",
            stage: "prod",
            method: "GET",
            path: Some("/pets"),
        };
        assert_eq!(
            masked_arn(&arn),
            "arn:aws:execute-api:us-east-1:********9012:abc/prod/GET/pets"
        );
    }
}
