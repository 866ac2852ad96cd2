use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::*;

const API: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123";
const ALICE: &str = "arn:aws:iam::123456789012:user/alice";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test IP")
}

/// An anonymous GET of /pets/1 on abc123/prod over TLS from 203.0.113.9.
fn anon(resource: &str) -> RequestContext<'_> {
    RequestContext {
        action: INVOKE_ACTION,
        resource: Resource::Arn(resource),
        principal_arn: None,
        principal_account: None,
        username: None,
        source_ip: ip("203.0.113.9"),
        secure_transport: true,
    }
}

fn as_alice(resource: &str) -> RequestContext<'_> {
    RequestContext {
        principal_arn: Some(ALICE),
        username: Some("alice"),
        ..anon(resource)
    }
}

fn pets1() -> String {
    format!("{API}/prod/GET/pets/1")
}

fn policy(json: &str, kind: PolicyKind) -> Policy {
    match Policy::parse(json, kind) {
        Ok(p) => p,
        Err(e) => panic!("test policy refused: {e}\n{json}"),
    }
}

fn identity(json: &str) -> Policy {
    policy(json, PolicyKind::Identity)
}

fn resource_policy(json: &str) -> Policy {
    policy(json, PolicyKind::Resource)
}

/// An identity policy of one statement.
fn stmt(effect: &str, action: &str, resource: &str) -> Policy {
    identity(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Action":"{action}","Resource":"{resource}"}}]}}"#
    ))
}

fn refused(json: &str, kind: PolicyKind) -> PolicyError {
    match Policy::parse(json, kind) {
        Ok(_) => panic!("accepted but should be refused: {json}"),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------- parsing

#[test]
fn parses_single_object_and_list_statements() {
    let single = identity(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}}"#,
    );
    assert_eq!(single.statement_count(), 1);
    assert_eq!(single.kind(), PolicyKind::Identity);
    let r = pets1();
    assert_eq!(single.evaluate(&as_alice(&r)), Decision::Allow);

    let list = identity(
        r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"One","Effect":"Allow","Action":["execute-api:Invoke"],"Resource":["arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/*"]},
            {"Sid":"Two","Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/pets"}
        ]}"#,
    );
    assert_eq!(list.statement_count(), 2);
    assert_eq!(list.statement_sid(0), Some("One"));
    assert_eq!(list.statement_sid(1), Some("Two"));
    assert_eq!(list.statement_sid(2), None);
    assert_eq!(list.evaluate(&as_alice(&r)), Decision::Allow);
}

#[test]
fn string_and_list_forms_are_equivalent() {
    let r = pets1();
    let a = identity(
        r#"{"Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*"}}"#,
    );
    let b = identity(
        r#"{"Statement":[{"Effect":"Allow","Action":["s3:GetObject","execute-api:Invoke"],"Resource":["arn:aws:s3:::bucket/*","arn:aws:execute-api:*"]}]}"#,
    );
    assert_eq!(a.evaluate(&as_alice(&r)), Decision::Allow);
    assert_eq!(b.evaluate(&as_alice(&r)), Decision::Allow);
}

#[test]
fn tolerant_where_aws_is() {
    let r = pets1();
    // Missing Version, element names and Effect in other cases, older
    // Version, action case, whitespace around the version.
    for json in [
        r#"{"Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}}"#,
        r#"{"version":"2012-10-17","statement":{"effect":"allow","action":"EXECUTE-API:invoke","resource":"*"}}"#,
        r#"{"Version":" 2008-10-17 ","Id":"p1","Statement":{"Effect":"ALLOW","Action":"Execute-Api:*","Resource":"*"}}"#,
    ] {
        assert_eq!(
            identity(json).evaluate(&as_alice(&r)),
            Decision::Allow,
            "{json}"
        );
    }
}

#[test]
fn every_refusal_names_the_field() {
    use PolicyKind::{Authorizer, Identity, Resource as Res};
    const OK: &str = r#""Effect":"Allow","Action":"execute-api:Invoke","Resource":"*""#;
    let cases: Vec<(String, PolicyKind, &str, &str)> = vec![
        ("not json".into(), Identity, "document", "not valid JSON"),
        ("[]".into(), Identity, "document", "must be a JSON object"),
        (
            r#"{"Statement":{"Effect":"Deny","Effect":"Allow","Action":"*","Resource":"*"}}"#.into(),
            Identity,
            "document",
            "duplicate key \"Effect\"",
        ),
        (format!(r#"{{"Foo":1,"Statement":{{{OK}}}}}"#), Identity, "Foo", "unknown element"),
        (format!(r#"{{"Version":"2020-01-01","Statement":{{{OK}}}}}"#), Identity, "Version", "2012-10-17"),
        (format!(r#"{{"Id":5,"Statement":{{{OK}}}}}"#), Identity, "Id", "must be a string"),
        (r#"{"Version":"2012-10-17"}"#.into(), Identity, "Statement", "is required"),
        (r#"{"Statement":[]}"#.into(), Identity, "Statement", "must not be an empty list"),
        (r#"{"Statement":"x"}"#.into(), Identity, "Statement", "statement object"),
        (format!(r#"{{"Statement":[{{{OK},"Foo":1}}]}}"#), Identity, "Statement[0].Foo", "unknown element"),
        (
            format!(r#"{{"Statement":[{{{OK},"action":"*"}}]}}"#),
            Identity,
            "Statement[0].action",
            "repeats Action",
        ),
        (format!(r#"{{"Statement":[{{{OK},"Sid":1}}]}}"#), Identity, "Statement[0].Sid", "must be a string"),
        (
            r#"{"Statement":[{"Action":"*","Resource":"*"}]}"#.into(),
            Identity,
            "Statement[0].Effect",
            "is required",
        ),
        (
            r#"{"Statement":{"Action":"*","Resource":"*"}}"#.into(),
            Identity,
            "Statement.Effect",
            "is required",
        ),
        (
            r#"{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}"#.into(),
            Identity,
            "Statement[0].Effect",
            "\"Allow\" or \"Deny\"",
        ),
        (
            format!(r#"{{"Statement":[{{{OK}}},{{{OK},"NotAction":"*"}}]}}"#),
            Identity,
            "Statement[1].NotAction",
            "cannot be used together with Action",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Resource":"*"}]}"#.into(),
            Identity,
            "Statement[0].Action",
            "is required (or NotAction)",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}"#.into(),
            Identity,
            "Statement[0].Action",
            "must not be an empty list",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":["execute-api:Invoke",""],"Resource":"*"}]}"#.into(),
            Identity,
            "Statement[0].Action[1]",
            "must not be empty",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":["execute-api:Invoke",7],"Resource":"*"}]}"#.into(),
            Identity,
            "Statement[0].Action[1]",
            "must be a string",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"Invoke","Resource":"*"}]}"#.into(),
            Identity,
            "Statement[0].Action",
            "service:action",
        ),
        (
            r#"{"Statement":[{"Effect":"Deny","Action":"execute-api:Invok","Resource":"*"}]}"#.into(),
            Identity,
            "Statement[0].Action",
            "unknown execute-api action",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"*"}]}"#.into(),
            Identity,
            "Statement[0].Resource",
            "is required (or NotResource)",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}]}"#.into(),
            Identity,
            "Statement[0].NotResource",
            "cannot be used together with Resource",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":["*","pets"]}]}"#.into(),
            Identity,
            "Statement[0].Resource[1]",
            "an ARN",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"execute-api:/prod/*"}]}"#.into(),
            Identity,
            "Statement[0].Resource",
            "shorthand",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:execute-api:*:*:*/${aws:username}/*"}]}"#.into(),
            Identity,
            "Statement[0].Resource",
            "policy variables",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Principal":"*"}}]}}"#),
            Identity,
            "Statement[0].Principal",
            "not allowed in an identity policy",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"NotPrincipal":{{"AWS":"123456789012"}}}}]}}"#),
            Identity,
            "Statement[0].NotPrincipal",
            "not allowed in an identity policy",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Principal":"*"}}]}}"#),
            Authorizer,
            "Statement[0].Principal",
            "not allowed in an authorizer policy",
        ),
        (
            format!(r#"{{"Statement":[{{{OK}}}]}}"#),
            Res,
            "Statement[0].Principal",
            "is required in a resource policy",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Principal":"*","NotPrincipal":"*"}}]}}"#),
            Res,
            "Statement[0].NotPrincipal",
            "cannot be used together with Principal",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Principal":"someone"}}]}}"#),
            Res,
            "Statement[0].Principal",
            "must be \"*\" or an object",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Principal":{{}}}}]}}"#),
            Res,
            "Statement[0].Principal",
            "must not be empty",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Principal":{{"Service":"lambda.amazonaws.com"}}}}]}}"#),
            Res,
            "Statement[0].Principal.Service",
            "unsupported principal type",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Principal":{{"AWS":["123456789012","alice"]}}}}]}}"#),
            Res,
            "Statement[0].Principal.AWS[1]",
            "12-digit account id",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Principal":{{"AWS":[]}}}}]}}"#),
            Res,
            "Statement[0].Principal.AWS",
            "must not be an empty list",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Condition":{{}}}}]}}"#),
            Identity,
            "Statement[0].Condition",
            "must not be empty",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Condition":[]}}]}}"#),
            Identity,
            "Statement[0].Condition",
            "must be an object",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Condition":{{"NumericEquals":{{"aws:username":"1"}}}}}}]}}"#),
            Identity,
            "Statement[0].Condition.NumericEquals",
            "unsupported condition operator",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Condition":{{"ForAnyValue:StringEquals":{{"aws:username":"a"}}}}}}]}}"#),
            Identity,
            "Statement[0].Condition.ForAnyValue:StringEquals",
            "set operators",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Condition":{{"NullIfExists":{{"aws:username":"true"}}}}}}]}}"#),
            Identity,
            "Statement[0].Condition.NullIfExists",
            "no IfExists form",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Condition":{{"StringEquals":{{}}}}}}]}}"#),
            Identity,
            "Statement[0].Condition.StringEquals",
            "at least one condition key",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Condition":{{"StringEquals":{{"aws:SourceVpce":"vpce-1"}}}}}}]}}"#),
            Identity,
            "Statement[0].Condition.StringEquals.aws:SourceVpce",
            "unsupported condition key",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Condition":{{"StringEquals":{{"execute-api:Stage":"prod"}}}}}}]}}"#),
            Identity,
            "Statement[0].Condition.StringEquals.execute-api:Stage",
            "unsupported condition key",
        ),
        (
            format!(
                r#"{{"Statement":[{{{OK}}},{{{OK},"Condition":{{"IpAddress":{{"aws:SourceIp":["300.1.2.3","10.0.0.0/8"]}}}}}}]}}"#
            ),
            Identity,
            "Statement[1].Condition.IpAddress.aws:SourceIp[0]",
            "is not an IPv4/IPv6 address or CIDR",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Condition":{{"IpAddress":{{"aws:SourceIp":"10.0.0.0/33"}}}}}}]}}"#),
            Identity,
            "Statement[0].Condition.IpAddress.aws:SourceIp",
            "is not an IPv4/IPv6 address or CIDR",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Condition":{{"IpAddress":{{"aws:SourceIp":[]}}}}}}]}}"#),
            Identity,
            "Statement[0].Condition.IpAddress.aws:SourceIp",
            "must not be an empty list",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Condition":{{"IpAddress":{{"aws:username":"10.0.0.1"}}}}}}]}}"#),
            Identity,
            "Statement[0].Condition.IpAddress.aws:username",
            "does not apply",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Condition":{{"StringEquals":{{"aws:SourceIp":"10.0.0.1"}}}}}}]}}"#),
            Identity,
            "Statement[0].Condition.StringEquals.aws:SourceIp",
            "use IpAddress",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Condition":{{"Bool":{{"aws:SecureTransport":"yes"}}}}}}]}}"#),
            Identity,
            "Statement[0].Condition.Bool.aws:SecureTransport",
            "\"true\" or \"false\"",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Condition":{{"StringEquals":{{"aws:username":{{"a":1}}}}}}}}]}}"#),
            Identity,
            "Statement[0].Condition.StringEquals.aws:username",
            "must be a string",
        ),
        (
            format!(
                r#"{{"Statement":[{{{OK},"Condition":{{"StringEquals":{{"aws:username":"a","AWS:USERNAME":"b"}}}}}}]}}"#
            ),
            Identity,
            "Statement[0].Condition.StringEquals.aws:username",
            "same key twice",
        ),
        (
            format!(r#"{{"Statement":[{{{OK},"Condition":{{"StringLike":{{"aws:PrincipalArn":"${{aws:username}}"}}}}}}]}}"#),
            Identity,
            "Statement[0].Condition.StringLike.aws:PrincipalArn",
            "policy variables",
        ),
    ];
    for (json, kind, field, reason) in cases {
        let e = refused(&json, kind);
        assert_eq!(e.field, field, "field for {json}: {e}");
        assert!(
            e.reason.contains(reason),
            "reason for {json}: got {:?}, want it to contain {reason:?}",
            e.reason
        );
    }
}

#[test]
fn error_display_is_field_colon_reason() {
    let e = refused(
        r#"{"Statement":[{"Action":"*","Resource":"*"}]}"#,
        PolicyKind::Identity,
    );
    assert_eq!(e.to_string(), "Statement[0].Effect: is required");
}

#[test]
fn authorizer_policies_parse_from_values() {
    let response = serde_json::json!({
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow",
                           "Resource": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/*"}]
        }
    });
    let p = match Policy::from_value(&response["policyDocument"], PolicyKind::Authorizer) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(p.kind(), PolicyKind::Authorizer);
    let get = pets1();
    let post = format!("{API}/prod/POST/pets");
    assert_eq!(p.evaluate(&anon(&get)), Decision::Allow);
    assert_eq!(p.evaluate(&anon(&post)), Decision::ImplicitDeny);
}

#[test]
fn execute_api_shorthand_expands_with_the_api() {
    let opts = ParseOptions {
        kind: PolicyKind::Resource,
        api: Some(ApiRef {
            region: "us-east-1",
            account: "123456789012",
            api_id: "abc123",
        }),
    };
    let p = Policy::parse_with(
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/prod/GET/*"}}"#,
        &opts,
    );
    let p = match p {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let get = pets1();
    let other_api = "arn:aws:execute-api:us-east-1:123456789012:zzz999/prod/GET/pets/1";
    assert_eq!(p.evaluate(&anon(&get)), Decision::Allow);
    assert_eq!(p.evaluate(&anon(other_api)), Decision::ImplicitDeny);
}

// ---------------------------------------------------------------- evaluation

#[test]
fn explicit_deny_wins_in_any_order() {
    let r = pets1();
    for json in [
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:abc123/prod/*"}]}"#,
        r#"{"Statement":[{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:abc123/prod/*"},{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ] {
        let p = identity(json);
        assert_eq!(p.evaluate(&as_alice(&r)), Decision::ExplicitDeny, "{json}");
    }
    // The deciding statement is reported: the deny, not the earlier allow.
    let p = identity(
        r#"{"Statement":[{"Sid":"All","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"NoProd","Effect":"Deny","Action":"*","Resource":"arn:aws:execute-api:*:*:*/prod/*"}]}"#,
    );
    let (d, i) = p.evaluate_detailed(&as_alice(&r));
    assert_eq!((d, i), (Decision::ExplicitDeny, Some(1)));
    assert_eq!(i.and_then(|i| p.statement_sid(i)), Some("NoProd"));
    let dev = format!("{API}/dev/GET/pets/1");
    assert_eq!(
        p.evaluate_detailed(&as_alice(&dev)),
        (Decision::Allow, Some(0))
    );
    let empty = identity(
        r#"{"Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:other/*"}}"#,
    );
    assert_eq!(
        empty.evaluate_detailed(&as_alice(&dev)),
        (Decision::ImplicitDeny, None)
    );
}

#[test]
fn not_action_and_not_resource() {
    let r = pets1();
    let admin = format!("{API}/prod/GET/admin/users");
    let p = identity(
        r#"{"Statement":[
            {"Effect":"Allow","NotAction":"execute-api:InvalidateCache","Resource":"*"},
            {"Effect":"Deny","Action":"*","NotResource":"arn:aws:execute-api:*:*:abc123/*/GET/pets/*"}
        ]}"#,
    );
    assert_eq!(p.evaluate(&as_alice(&r)), Decision::Allow);
    // NotResource: everything but pets is denied.
    assert_eq!(p.evaluate(&as_alice(&admin)), Decision::ExplicitDeny);
    // NotAction: InvalidateCache is not allowed by the first statement.
    let ctx = RequestContext {
        action: "execute-api:InvalidateCache",
        ..as_alice(&r)
    };
    assert_eq!(p.evaluate(&ctx), Decision::ImplicitDeny);
}

#[test]
fn action_matching_is_case_insensitive_with_wildcards() {
    let r = pets1();
    let ctx = as_alice(&r);
    for action in [
        "execute-api:Invoke",
        "execute-api:invoke",
        "EXECUTE-API:INVOKE",
        "execute-api:*",
        "execute-api:Inv*",
        "execute-api:Invok?",
        "*",
        "*:Invoke",
        "execute-api:*oke",
    ] {
        assert_eq!(
            stmt("Allow", action, "*").evaluate(&ctx),
            Decision::Allow,
            "{action}"
        );
    }
    for action in [
        "execute-api:InvalidateCache",
        "s3:*",
        "execute-api:Inv?",
        "execute-api:ManageConnections",
    ] {
        assert_eq!(
            stmt("Allow", action, "*").evaluate(&ctx),
            Decision::ImplicitDeny,
            "{action}"
        );
    }
    // The request's action case does not matter either.
    let shouting = RequestContext {
        action: "EXECUTE-API:INVOKE",
        ..ctx
    };
    assert_eq!(
        stmt("Allow", "execute-api:Invoke", "*").evaluate(&shouting),
        Decision::Allow
    );
}

#[test]
fn resource_matching_wildcards_and_case() {
    let r = pets1();
    let ctx = as_alice(&r);
    let allowed = [
        "*",
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/1",
        "arn:aws:execute-api:us-east-1:123456789012:abc123/*",
        "arn:aws:execute-api:*",
        "arn:aws:execute-api:*:*:abc123/*/GET/*",
        "arn:aws:execute-api:us-east-1:*:abc123/prod/*/pets/?",
        "arn:aws:execute-api:us-east-?:123456789012:abc123/prod/GET/pets/1",
        // `*` spans `/` and `:`.
        "arn:aws:*/1",
        "arn:*:abc123/prod/GET/pets/*",
    ];
    for res in allowed {
        assert_eq!(
            stmt("Allow", "*", res).evaluate(&ctx),
            Decision::Allow,
            "{res}"
        );
    }
    let not_allowed = [
        // Case-sensitive.
        "arn:aws:execute-api:us-east-1:123456789012:ABC123/*",
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/get/pets/1",
        // `?` is exactly one character.
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/??",
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/1?",
        // A pattern must match the whole ARN.
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets",
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/1/*/x",
        "arn:aws:execute-api:us-west-2:*",
    ];
    for res in not_allowed {
        assert_eq!(
            stmt("Allow", "*", res).evaluate(&ctx),
            Decision::ImplicitDeny,
            "{res}"
        );
    }
}

#[test]
fn deny_resources_ignore_case_and_allow_resources_do_not() {
    let doc = |effect: &str, element: &str, resource: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[
                {{"Effect":"Allow","Action":"*","Resource":"*"}},
                {{"Effect":"{effect}","Action":"*","{element}":"{resource}"}}]}}"#
        )
    };
    let shouting = format!("{API}/prod/GET/ADMIN");
    let quiet = format!("{API}/prod/GET/admin");
    let deny = policy(
        &doc("Deny", "Resource", &format!("{API}/*/admin")),
        PolicyKind::Identity,
    );
    assert_eq!(deny.evaluate(&as_alice(&quiet)), Decision::ExplicitDeny);
    assert_eq!(deny.evaluate(&as_alice(&shouting)), Decision::ExplicitDeny);
    // A Deny with NotResource stays exact: folding would exempt more.
    let deny_all_but = policy(
        &doc("Deny", "NotResource", &format!("{API}/*/public")),
        PolicyKind::Identity,
    );
    let public_shouting = format!("{API}/prod/GET/PUBLIC");
    assert_eq!(
        deny_all_but.evaluate(&as_alice(&public_shouting)),
        Decision::ExplicitDeny
    );
    // Allow stays exact...
    let allow = policy(
        &format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"*","Resource":"{API}/*/admin"}}}}"#
        ),
        PolicyKind::Identity,
    );
    assert_eq!(allow.evaluate(&as_alice(&quiet)), Decision::Allow);
    assert_eq!(allow.evaluate(&as_alice(&shouting)), Decision::ImplicitDeny);
    // ...and an Allow with NotResource folds case, so it excludes more.
    let allow_all_but = policy(
        &format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"*","NotResource":"{API}/*/admin"}}}}"#
        ),
        PolicyKind::Identity,
    );
    assert_eq!(
        allow_all_but.evaluate(&as_alice(&shouting)),
        Decision::ImplicitDeny
    );
    assert_eq!(
        allow_all_but.evaluate(&as_alice(&format!("{API}/prod/GET/other"))),
        Decision::Allow
    );
}

#[test]
fn deny_resources_hold_for_a_file_extension_and_allow_resources_do_not() {
    let doc = |effect: &str, element: &str, resource: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[
                {{"Effect":"Allow","Action":"*","Resource":"*"}},
                {{"Effect":"{effect}","Action":"*","{element}":"{resource}"}}]}}"#
        )
    };
    let deny = policy(
        &doc("Deny", "Resource", &format!("{API}/*/admin")),
        PolicyKind::Identity,
    );
    for path in ["admin.json", "admin.a.b", "Admin.JSON", "admin"] {
        let method = MethodArn {
            region: "us-east-1",
            account: "123456789012",
            api_id: "abc123",
            stage: "prod",
            method: "GET",
            path: Some(path),
        };
        let ctx = RequestContext {
            resource: Resource::Method(method),
            ..as_alice("")
        };
        assert_eq!(deny.evaluate(&ctx), Decision::ExplicitDeny, "{path}");
    }
    for path in ["administrator", "admin/x.json", ".admin", "admin.json/x"] {
        let method = MethodArn {
            region: "us-east-1",
            account: "123456789012",
            api_id: "abc123",
            stage: "prod",
            method: "GET",
            path: Some(path),
        };
        let ctx = RequestContext {
            resource: Resource::Method(method),
            ..as_alice("")
        };
        assert_eq!(deny.evaluate(&ctx), Decision::Allow, "{path}");
    }
    // An Allow on /admin does not let /admin.json in; an Allow on all but
    // /admin does not let it in either.
    let method = |path| RequestContext {
        resource: Resource::Method(MethodArn {
            region: "us-east-1",
            account: "123456789012",
            api_id: "abc123",
            stage: "prod",
            method: "GET",
            path: Some(path),
        }),
        ..as_alice("")
    };
    let allow = policy(
        &format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"*","Resource":"{API}/*/admin"}}}}"#
        ),
        PolicyKind::Identity,
    );
    assert_eq!(allow.evaluate(&method("admin")), Decision::Allow);
    assert_eq!(
        allow.evaluate(&method("admin.json")),
        Decision::ImplicitDeny
    );
    let allow_all_but = policy(
        &format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"*","NotResource":"{API}/*/admin"}}}}"#
        ),
        PolicyKind::Identity,
    );
    assert_eq!(
        allow_all_but.evaluate(&method("admin.json")),
        Decision::ImplicitDeny
    );
    assert_eq!(
        allow_all_but.evaluate(&method("other.json")),
        Decision::Allow
    );
}

#[test]
fn wildcard_matcher_edge_cases() {
    let yes = [
        ("", ""),
        ("*", ""),
        ("**", "abc"),
        ("a*", "a"),
        ("*c", "abc"),
        ("a*b*c", "aXbYc"),
        ("a*b*c", "abbbc"),
        ("?", "é"),
        ("caf?", "café"),
        ("*é*", "aéb"),
        ("a?c", "a/c"),
        ("a*c", "ab:c/c"),
        ("***x", "yyx"),
    ];
    for (p, t) in yes {
        assert!(wildcard_match(p, t, false), "{p} should match {t}");
    }
    let no = [
        ("", "a"),
        ("a", ""),
        ("?", ""),
        ("?", "ab"),
        ("a*b", "acbd"),
        ("*a", "b"),
        ("caf?", "cafée"),
        ("ab", "AB"),
    ];
    for (p, t) in no {
        assert!(!wildcard_match(p, t, false), "{p} should not match {t}");
    }
    assert!(wildcard_match("ab", "AB", true));
    assert!(wildcard_match("A*?", "abc", true));
    // Concatenated parts, empty ones included, behave like the joined text.
    let parts = ["", "ab", "", "c/", "d", ""];
    for p in ["abc/d", "a*d", "*c/*", "ab?/?", "*", "a?c*", "abc/d*"] {
        assert!(wildcard_match_parts(p, &parts, false), "{p}");
    }
    for p in ["abc/", "abcd", "?", "", "*x*"] {
        assert!(!wildcard_match_parts(p, &parts, false), "{p}");
    }
    assert!(wildcard_match_parts("", &[], false));
    assert!(wildcard_match_parts("*", &["", ""], false));
}

#[test]
fn pattern_fast_paths_agree_with_the_matcher() {
    let patterns = [
        "*", "abc", "ABC", "ab*", "AB*", "a", "abc/d", "abc/d*", "abc/de", "abc/de*", "?bc*", "*d",
        "", "x*", "abc/", "abc/*",
    ];
    let texts: [&[&str]; 7] = [
        &["abc/d"],
        &["ab", "c/", "d"],
        &["", "abc", "", "/d", ""],
        &["ABC/D"],
        &[],
        &["a"],
        &["abc/", "de", "f"],
    ];
    for ci in [false, true] {
        for pat in patterns {
            if pat.is_empty() {
                continue; // policies never hold empty patterns
            }
            let compiled = super::matching::Pattern::new(pat, ci);
            for parts in texts {
                assert_eq!(
                    compiled.matches(parts),
                    wildcard_match_parts(pat, parts, ci),
                    "{pat:?} vs {parts:?} (ignore case: {ci})"
                );
            }
        }
    }
}

/// The obvious dynamic-programming matcher, over characters, as a
/// reference for the fast one.
fn reference_match(pattern: &str, text: &str, ignore_ascii_case: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // ok[j]: pattern[..i] matches text[..j]
    let mut ok = vec![false; t.len() + 1];
    ok[0] = true;
    for &pc in &p {
        let mut next = vec![false; t.len() + 1];
        for j in 0..=t.len() {
            next[j] = match pc {
                '*' => ok[j] || (j > 0 && next[j - 1]),
                '?' => j > 0 && ok[j - 1],
                c => {
                    j > 0
                        && ok[j - 1]
                        && (c == t[j - 1]
                            || (ignore_ascii_case && c.eq_ignore_ascii_case(&t[j - 1])))
                }
            };
        }
        ok = next;
    }
    ok[t.len()]
}

#[test]
fn wildcard_matcher_agrees_with_a_reference() {
    // A fixed-seed LCG: deterministic, no dependency.
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % n
    };
    let text_alphabet = ['a', 'b', 'A', '/', ':', 'é', '€'];
    let pattern_alphabet = ['a', 'b', 'A', '/', 'é', '*', '?', '*'];
    for _ in 0..20_000 {
        let text: String = (0..next(9))
            .map(|_| text_alphabet[next(text_alphabet.len())])
            .collect();
        let pattern: String = (0..next(7))
            .map(|_| pattern_alphabet[next(pattern_alphabet.len())])
            .collect();
        // Split the text at random character boundaries.
        let bounds: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect();
        let mut cuts: Vec<usize> = (0..next(4)).map(|_| bounds[next(bounds.len())]).collect();
        cuts.sort_unstable();
        let mut parts = Vec::new();
        let mut at = 0;
        for cut in cuts.into_iter().chain([text.len()]) {
            parts.push(&text[at..cut]);
            at = cut;
        }
        for ci in [false, true] {
            let want = reference_match(&pattern, &text, ci);
            assert_eq!(
                wildcard_match(&pattern, &text, ci),
                want,
                "{pattern:?} vs {text:?} ci={ci}"
            );
            assert_eq!(
                wildcard_match_parts(&pattern, &parts, ci),
                want,
                "{pattern:?} vs {parts:?} ci={ci}"
            );
            if !pattern.is_empty() {
                let compiled = super::matching::Pattern::new(&pattern, ci);
                assert_eq!(
                    compiled.matches(&parts),
                    want,
                    "compiled {pattern:?} vs {parts:?}"
                );
            }
        }
    }
}

#[test]
fn pathological_wildcard_patterns_finish_fast() {
    let text = "a".repeat(20_000);
    let pattern = format!("{}b", "*a".repeat(40));
    let started = Instant::now();
    assert!(!wildcard_match(&pattern, &text, false));
    assert!(wildcard_match(
        &format!("{}*", "*a".repeat(40)),
        &text,
        false
    ));
    let resource = format!("{API}/prod/GET/{text}");
    let p = stmt("Allow", "*", &format!("arn:*{}*b", "a*".repeat(40)));
    assert_eq!(p.evaluate(&as_alice(&resource)), Decision::ImplicitDeny);
    // Exponential backtracking would take far longer than this even once.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn method_arns() {
    assert_eq!(
        method_arn(
            "us-east-1",
            "123456789012",
            "abc123",
            "prod",
            "GET",
            "/pets/1"
        ),
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/1"
    );
    assert_eq!(
        method_arn("us-east-1", "123456789012", "abc123", "prod", "GET", "/"),
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/"
    );
    assert_eq!(
        method_arn("eu-west-1", "123456789012", "abc123", "dev", "POST", "pets"),
        "arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/POST/pets"
    );
}

#[test]
fn method_arn_parts_match_like_the_formatted_arn() {
    let patterns = [
        "*",
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/1",
        "arn:aws:execute-api:*:*:abc123/*/GET/*",
        "arn:aws:execute-api:*:*:abc123/*/GET/",
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/",
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/?",
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets",
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/1/",
        "arn:*:1",
        "arn:aws:execute-api:us-east-?:*:abc123/prod/POST/*",
    ];
    let calls = [
        ("prod", "GET", "/pets/1"),
        ("prod", "GET", "/"),
        ("prod", "POST", "/pets"),
        ("dev", "GET", "/pets/1"),
        ("prod", "GET", "pets/1"),
    ];
    for (stage, method, path) in calls {
        let m = MethodArn {
            region: "us-east-1",
            account: "123456789012",
            api_id: "abc123",
            stage,
            method,
            path: Some(path),
        };
        let text = m.to_string();
        assert_eq!(
            text,
            method_arn("us-east-1", "123456789012", "abc123", stage, method, path)
        );
        for pat in patterns {
            let p = stmt("Allow", "*", pat);
            let by_parts = p.evaluate(&RequestContext {
                resource: m.into(),
                ..as_alice("")
            });
            let by_text = p.evaluate(&as_alice(&text));
            assert_eq!(by_parts, by_text, "{pat} vs {text}");
            assert_eq!(
                by_text.is_allow(),
                wildcard_match(pat, &text, false),
                "{pat} vs {text}"
            );
        }
    }
}

/// A WebSocket route's ARN ends at its key, as AWS writes it
/// (`…/prod/$connect`, no trailing `/`): a Deny or an Allow written for
/// AWS's exact ARN applies, and a pattern with a trailing `/` (the REST
/// root's shape) does not.
#[test]
fn websocket_route_arns_end_at_the_route_key() {
    let connect = MethodArn {
        region: "us-east-1",
        account: "123456789012",
        api_id: "chat",
        stage: "prod",
        method: "$connect",
        path: None,
    };
    assert_eq!(
        connect.to_string(),
        "arn:aws:execute-api:us-east-1:123456789012:chat/prod/$connect"
    );
    let chat = "arn:aws:execute-api:us-east-1:123456789012:chat";
    let decide = |effect: &str, pattern: &str| {
        stmt(effect, "*", pattern).evaluate(&RequestContext {
            resource: connect.into(),
            ..as_alice("")
        })
    };
    // Exact: by parts as by text.
    for pattern in [
        format!("{chat}/prod/$connect"),
        "arn:aws:execute-api:*:*:chat/prod/$connect".to_owned(),
        format!("{chat}/prod/*"),
        format!("{chat}/*/$connect"),
        format!("{chat}/prod/$conn?ct"),
    ] {
        assert_eq!(
            decide("Deny", &pattern),
            Decision::ExplicitDeny,
            "{pattern}"
        );
        assert_eq!(decide("Allow", &pattern), Decision::Allow, "{pattern}");
        assert!(wildcard_match(&pattern, &connect.to_string(), false));
    }
    for pattern in [
        format!("{chat}/prod/$connect/"),
        format!("{chat}/prod/$connect/*"),
        format!("{chat}/prod/$default"),
        format!("{chat}/dev/$connect"),
        format!("{chat}/prod/$CONNECT"),
    ] {
        assert_eq!(
            decide("Allow", &pattern),
            Decision::ImplicitDeny,
            "{pattern}"
        );
    }
    // A REST call on the root keeps its trailing `/`.
    let root = MethodArn {
        method: "GET",
        path: Some("/"),
        ..connect
    };
    assert_eq!(root.to_string(), format!("{chat}/prod/GET/"));
}

// ---------------------------------------------------------------- principals

fn allow_principal(principal: &str) -> Policy {
    resource_policy(&format!(
        r#"{{"Statement":{{"Effect":"Allow","Principal":{principal},"Action":"execute-api:Invoke","Resource":"*"}}}}"#
    ))
}

fn with_principal<'a>(resource: &'a str, arn: &'a str) -> RequestContext<'a> {
    RequestContext {
        principal_arn: Some(arn),
        ..anon(resource)
    }
}

#[test]
fn principal_forms() {
    let r = pets1();
    let bob = "arn:aws:iam::123456789012:user/bob";
    let deployer = "arn:aws:iam::123456789012:role/deployer";
    let session = "arn:aws:sts::123456789012:assumed-role/deployer/ci-run-7";
    let stranger = "arn:aws:iam::999999999999:user/alice";
    // (principal JSON, who matches, who does not)
    let cases: [(&str, &[&str], &[&str]); 9] = [
        (r#""*""#, &[ALICE, bob, session, stranger, "anonymous"], &[]),
        (r#"{"AWS":"*"}"#, &[ALICE, stranger, "anonymous"], &[]),
        (
            r#"{"AWS":"123456789012"}"#,
            &[ALICE, bob, deployer, session],
            &[stranger, "anonymous"],
        ),
        (
            r#"{"AWS":"arn:aws:iam::123456789012:root"}"#,
            &[ALICE, bob, session],
            &[stranger, "anonymous"],
        ),
        (
            r#"{"AWS":"arn:aws:iam::123456789012:user/alice"}"#,
            &[ALICE],
            &[bob, stranger, session, "anonymous"],
        ),
        (
            r#"{"AWS":"arn:aws:iam::*:user/alice"}"#,
            &[ALICE, stranger],
            &[bob, "anonymous"],
        ),
        (
            r#"{"AWS":["arn:aws:iam::123456789012:user/a*","999999999999"]}"#,
            &[ALICE, stranger],
            &[bob],
        ),
        // A role ARN also covers its sessions.
        (
            r#"{"AWS":"arn:aws:iam::123456789012:role/deployer"}"#,
            &[deployer, session],
            &[ALICE, "anonymous"],
        ),
        (
            r#"{"AWS":"arn:aws:sts::123456789012:assumed-role/deployer/ci-*"}"#,
            &[session],
            &[deployer, ALICE],
        ),
    ];
    for (principal, yes, no) in cases {
        let p = allow_principal(principal);
        for who in yes.iter().copied() {
            let ctx = if who == "anonymous" {
                anon(&r)
            } else {
                with_principal(&r, who)
            };
            assert_eq!(
                p.evaluate(&ctx),
                Decision::Allow,
                "{principal} should admit {who}"
            );
        }
        for who in no.iter().copied() {
            let ctx = if who == "anonymous" {
                anon(&r)
            } else {
                with_principal(&r, who)
            };
            assert_eq!(
                p.evaluate(&ctx),
                Decision::ImplicitDeny,
                "{principal} should not admit {who}"
            );
        }
    }
    // An explicitly given account wins over the one in the ARN.
    let p = allow_principal(r#"{"AWS":"111122223333"}"#);
    let ctx = RequestContext {
        principal_account: Some("111122223333"),
        ..with_principal(&r, ALICE)
    };
    assert_eq!(p.evaluate(&ctx), Decision::Allow);
}

#[test]
fn not_principal_applies_to_everyone_else() {
    let r = pets1();
    let p = resource_policy(
        r#"{"Statement":[
            {"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},
            {"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"*","Resource":"*"}
        ]}"#,
    );
    assert_eq!(p.evaluate(&as_alice(&r)), Decision::Allow);
    assert_eq!(
        p.evaluate(&with_principal(&r, "arn:aws:iam::999999999999:user/x")),
        Decision::ExplicitDeny
    );
    assert_eq!(p.evaluate(&anon(&r)), Decision::ExplicitDeny);
}

// ---------------------------------------------------------------- conditions

fn with_condition(effect: &str, condition: &str) -> Policy {
    identity(&format!(
        r#"{{"Statement":[{{"Effect":"{effect}","Action":"execute-api:Invoke","Resource":"*","Condition":{condition}}}]}}"#
    ))
}

fn from_ip<'a>(resource: &'a str, addr: &str) -> RequestContext<'a> {
    RequestContext {
        source_ip: ip(addr),
        ..anon(resource)
    }
}

#[test]
fn ip_address_conditions() {
    let r = pets1();
    let p = with_condition(
        "Allow",
        r#"{"IpAddress":{"aws:SourceIp":["192.0.2.0/24","198.51.100.7","2001:db8::/32","127.0.0.0/8","::1"]}}"#,
    );
    for addr in [
        "192.0.2.1",
        "192.0.2.255",
        "198.51.100.7",
        "2001:db8::1",
        "2001:db8:ffff::9",
        "127.0.0.1",
        "::1",
        // IPv4-mapped IPv6, as a dual-stack socket reports IPv4 clients.
        "::ffff:127.0.0.1",
        "::ffff:192.0.2.9",
    ] {
        assert_eq!(p.evaluate(&from_ip(&r, addr)), Decision::Allow, "{addr}");
    }
    for addr in [
        "192.0.3.1",
        "198.51.100.8",
        "2001:db9::1",
        "10.0.0.1",
        "::ffff:10.0.0.1",
        "::2",
    ] {
        assert_eq!(
            p.evaluate(&from_ip(&r, addr)),
            Decision::ImplicitDeny,
            "{addr}"
        );
    }

    // Host bits in a CIDR are ignored; an IPv6 mapped range covers IPv4.
    let p = with_condition(
        "Allow",
        r#"{"IpAddress":{"aws:SourceIp":["10.1.2.3/8","::ffff:172.16.0.0/108"]}}"#,
    );
    assert_eq!(p.evaluate(&from_ip(&r, "10.200.0.1")), Decision::Allow);
    assert_eq!(p.evaluate(&from_ip(&r, "172.16.3.4")), Decision::Allow);
    assert_eq!(
        p.evaluate(&from_ip(&r, "172.32.0.1")),
        Decision::ImplicitDeny
    );

    // `::/0` is every IPv6 client, not every client.
    let p = with_condition("Allow", r#"{"IpAddress":{"aws:SourceIp":"::/0"}}"#);
    assert_eq!(p.evaluate(&from_ip(&r, "2001:db8::1")), Decision::Allow);
    assert_eq!(
        p.evaluate(&from_ip(&r, "203.0.113.9")),
        Decision::ImplicitDeny
    );

    let deny = identity(
        r#"{"Statement":[
            {"Effect":"Allow","Action":"*","Resource":"*"},
            {"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","fd00::/8"]}}}
        ]}"#,
    );
    assert_eq!(deny.evaluate(&from_ip(&r, "10.9.9.9")), Decision::Allow);
    assert_eq!(deny.evaluate(&from_ip(&r, "fd12::1")), Decision::Allow);
    assert_eq!(
        deny.evaluate(&from_ip(&r, "::ffff:10.0.0.5")),
        Decision::Allow
    );
    assert_eq!(
        deny.evaluate(&from_ip(&r, "203.0.113.9")),
        Decision::ExplicitDeny
    );
    assert_eq!(
        deny.evaluate(&from_ip(&r, "2001:db8::1")),
        Decision::ExplicitDeny
    );
}

#[test]
fn string_like_on_principal_arn() {
    let r = pets1();
    let p = with_condition(
        "Allow",
        r#"{"StringLike":{"aws:PrincipalArn":["arn:aws:iam::123456789012:user/a*","arn:aws:iam::*:role/deploy?r"]}}"#,
    );
    assert_eq!(p.evaluate(&as_alice(&r)), Decision::Allow);
    assert_eq!(
        p.evaluate(&with_principal(&r, "arn:aws:iam::123456789012:user/bob")),
        Decision::ImplicitDeny
    );
    // A role session is seen as its role, as AWS does for aws:PrincipalArn.
    assert_eq!(
        p.evaluate(&with_principal(
            &r,
            "arn:aws:sts::555555555555:assumed-role/deployer/s1"
        )),
        Decision::Allow
    );
    // Case-sensitive.
    assert_eq!(
        p.evaluate(&with_principal(&r, "arn:aws:iam::123456789012:user/Alice")),
        Decision::ImplicitDeny
    );
    let not_like = with_condition(
        "Deny",
        r#"{"StringNotLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:*"}}"#,
    );
    assert_eq!(not_like.evaluate(&as_alice(&r)), Decision::ImplicitDeny);
    assert_eq!(
        not_like.evaluate(&with_principal(&r, "arn:aws:iam::999999999999:user/alice")),
        Decision::ExplicitDeny
    );
}

#[test]
fn string_equals_family() {
    let r = pets1();
    let eq = with_condition(
        "Allow",
        r#"{"StringEquals":{"aws:username":["bob","alice"]}}"#,
    );
    assert_eq!(eq.evaluate(&as_alice(&r)), Decision::Allow);
    let shouty = RequestContext {
        username: Some("ALICE"),
        ..as_alice(&r)
    };
    assert_eq!(eq.evaluate(&shouty), Decision::ImplicitDeny);
    let ic = with_condition(
        "Allow",
        r#"{"StringEqualsIgnoreCase":{"aws:username":"Alice"}}"#,
    );
    assert_eq!(ic.evaluate(&shouty), Decision::Allow);
    let ne = with_condition(
        "Allow",
        r#"{"StringNotEquals":{"aws:username":["bob","carol"]}}"#,
    );
    assert_eq!(ne.evaluate(&as_alice(&r)), Decision::Allow);
    let ne = with_condition(
        "Allow",
        r#"{"StringNotEquals":{"aws:username":["bob","alice"]}}"#,
    );
    assert_eq!(ne.evaluate(&as_alice(&r)), Decision::ImplicitDeny);
    let nic = with_condition(
        "Allow",
        r#"{"StringNotEqualsIgnoreCase":{"aws:username":"ALICE"}}"#,
    );
    assert_eq!(nic.evaluate(&as_alice(&r)), Decision::ImplicitDeny);
    // Account from the ARN; numbers are read as text, as AWS does.
    let acct = with_condition(
        "Allow",
        r#"{"StringEquals":{"aws:PrincipalAccount":123456789012}}"#,
    );
    assert_eq!(acct.evaluate(&as_alice(&r)), Decision::Allow);
    assert_eq!(
        acct.evaluate(&with_principal(&r, "arn:aws:iam::999999999999:user/alice")),
        Decision::ImplicitDeny
    );
}

#[test]
fn values_are_ored_keys_and_operators_anded() {
    let r = pets1();
    let p = with_condition(
        "Allow",
        r#"{"StringEquals":{"aws:username":["bob","alice"],"aws:PrincipalAccount":"123456789012"},
            "IpAddress":{"aws:SourceIp":["10.0.0.0/8","203.0.113.0/24"]},
            "Bool":{"aws:SecureTransport":"true"}}"#,
    );
    assert_eq!(p.evaluate(&as_alice(&r)), Decision::Allow);
    // Each failing key alone spoils it.
    let wrong_user = RequestContext {
        username: Some("carol"),
        ..as_alice(&r)
    };
    let wrong_account = RequestContext {
        principal_account: Some("999999999999"),
        ..as_alice(&r)
    };
    let wrong_ip = RequestContext {
        source_ip: ip("198.51.100.1"),
        ..as_alice(&r)
    };
    let plain_http = RequestContext {
        secure_transport: false,
        ..as_alice(&r)
    };
    for ctx in [wrong_user, wrong_account, wrong_ip, plain_http] {
        assert_eq!(p.evaluate(&ctx), Decision::ImplicitDeny, "{ctx:?}");
    }
}

#[test]
fn deny_plain_http_with_bool() {
    let r = pets1();
    let p = identity(
        r#"{"Statement":[
            {"Effect":"Allow","Action":"*","Resource":"*"},
            {"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":false}}}
        ]}"#,
    );
    assert_eq!(p.evaluate(&as_alice(&r)), Decision::Allow);
    let plain = RequestContext {
        secure_transport: false,
        ..as_alice(&r)
    };
    assert_eq!(p.evaluate(&plain), Decision::ExplicitDeny);
}

#[test]
fn missing_keys() {
    let r = pets1();
    let anonymous = anon(&r);
    let cases = [
        // Positive operators are false without the key…
        (
            r#"{"StringEquals":{"aws:username":"alice"}}"#,
            Decision::ImplicitDeny,
        ),
        (
            r#"{"StringLike":{"aws:PrincipalArn":"*"}}"#,
            Decision::ImplicitDeny,
        ),
        (
            r#"{"StringEqualsIgnoreCase":{"aws:PrincipalAccount":"123456789012"}}"#,
            Decision::ImplicitDeny,
        ),
        // …negated ones true, as in AWS…
        (
            r#"{"StringNotEquals":{"aws:username":"alice"}}"#,
            Decision::Allow,
        ),
        (
            r#"{"StringNotLike":{"aws:PrincipalArn":"*"}}"#,
            Decision::Allow,
        ),
        // …and the IfExists forms of both true.
        (
            r#"{"StringEqualsIfExists":{"aws:username":"alice"}}"#,
            Decision::Allow,
        ),
        (
            r#"{"StringLikeIfExists":{"aws:PrincipalArn":"arn:aws:iam::1*"}}"#,
            Decision::Allow,
        ),
        (
            r#"{"StringNotEqualsIfExists":{"aws:username":"alice"}}"#,
            Decision::Allow,
        ),
        // Null tests presence.
        (r#"{"Null":{"aws:username":"true"}}"#, Decision::Allow),
        (
            r#"{"Null":{"aws:username":"false"}}"#,
            Decision::ImplicitDeny,
        ),
    ];
    for (condition, want) in cases {
        let p = with_condition("Allow", condition);
        assert_eq!(p.evaluate(&anonymous), want, "{condition}");
    }
    // IfExists still tests a key that is there.
    let p = with_condition(
        "Allow",
        r#"{"StringEqualsIfExists":{"aws:username":"bob"}}"#,
    );
    assert_eq!(p.evaluate(&as_alice(&r)), Decision::ImplicitDeny);
    let p = with_condition("Allow", r#"{"Null":{"aws:username":"false"}}"#);
    assert_eq!(p.evaluate(&as_alice(&r)), Decision::Allow);
    let p = with_condition(
        "Allow",
        r#"{"IpAddressIfExists":{"aws:SourceIp":"203.0.113.0/24"}}"#,
    );
    assert_eq!(p.evaluate(&anonymous), Decision::Allow);
}

// ---------------------------------------------------------------- combination

fn public_resource_policy() -> Policy {
    resource_policy(
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:abc123/*"}]}"#,
    )
}

#[test]
fn authorize_iam_callers() {
    let r = pets1();
    let alice = as_alice(&r);
    let allow = stmt("Allow", "execute-api:Invoke", "*");
    let deny = stmt("Deny", "execute-api:Invoke", "*");
    let silent = stmt(
        "Allow",
        "execute-api:Invoke",
        "arn:aws:execute-api:*:*:other/*",
    );
    let account_rp = resource_policy(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"*","Resource":"*"}}"#,
    );
    let deny_rp = resource_policy(
        r#"{"Statement":{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"*","Resource":"*"}}"#,
    );
    let other_rp = resource_policy(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"*","Resource":"*"}}"#,
    );

    // Identity policies alone.
    assert_eq!(authorize([&allow], None, &alice), Decision::Allow);
    assert_eq!(authorize([&silent], None, &alice), Decision::ImplicitDeny);
    assert_eq!(authorize([], None, &alice), Decision::ImplicitDeny);
    assert_eq!(
        authorize([&allow, &deny], None, &alice),
        Decision::ExplicitDeny
    );
    assert_eq!(authorize([&silent, &allow], None, &alice), Decision::Allow);
    // Either the identity or the resource policy may allow…
    assert_eq!(
        authorize([&silent], Some(&account_rp), &alice),
        Decision::Allow
    );
    assert_eq!(
        authorize([], Some(&public_resource_policy()), &alice),
        Decision::Allow
    );
    assert_eq!(
        authorize([&allow], Some(&other_rp), &alice),
        Decision::Allow
    );
    assert_eq!(
        authorize([&silent], Some(&other_rp), &alice),
        Decision::ImplicitDeny
    );
    // …and a deny in either wins.
    assert_eq!(
        authorize([&allow], Some(&deny_rp), &alice),
        Decision::ExplicitDeny
    );
    assert_eq!(
        authorize([&deny], Some(&account_rp), &alice),
        Decision::ExplicitDeny
    );
    let identities = vec![allow.clone(), deny.clone()];
    assert_eq!(
        authorize(&identities, Some(&account_rp), &alice),
        Decision::ExplicitDeny
    );
}

#[test]
fn authorize_anonymous_callers() {
    let r = pets1();
    let caller = anon(&r);
    let allow = stmt("Allow", "*", "*");
    let deny = stmt("Deny", "*", "*");
    // No resource policy: nothing to gate on, identity policies are moot.
    assert_eq!(authorize([], None, &caller), Decision::Allow);
    assert_eq!(authorize([&deny], None, &caller), Decision::Allow);
    // A resource policy must allow "*"…
    assert_eq!(
        authorize([], Some(&public_resource_policy()), &caller),
        Decision::Allow
    );
    let account_only = resource_policy(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"*","Resource":"*"}}"#,
    );
    assert_eq!(
        authorize([], Some(&account_only), &caller),
        Decision::ImplicitDeny
    );
    // …identity policies do not count for a caller without an identity…
    assert_eq!(
        authorize([&allow], Some(&account_only), &caller),
        Decision::ImplicitDeny
    );
    // …and must not deny.
    let ip_gate = resource_policy(
        r#"{"Statement":[
            {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"*"},
            {"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"*",
             "Condition":{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}
        ]}"#,
    );
    assert_eq!(
        authorize([], Some(&ip_gate), &caller),
        Decision::ExplicitDeny
    );
    assert_eq!(
        authorize([], Some(&ip_gate), &from_ip(&r, "192.0.2.10")),
        Decision::Allow
    );
}

#[test]
fn decision_merge() {
    use Decision::*;
    assert_eq!(Allow.merge(ImplicitDeny), Allow);
    assert_eq!(ImplicitDeny.merge(Allow), Allow);
    assert_eq!(Allow.merge(ExplicitDeny), ExplicitDeny);
    assert_eq!(ExplicitDeny.merge(Allow), ExplicitDeny);
    assert_eq!(ImplicitDeny.merge(ImplicitDeny), ImplicitDeny);
    assert!(Allow.is_allow());
    assert!(!ImplicitDeny.is_allow());
    assert!(!ExplicitDeny.is_allow());
}

// ---------------------------------------------------------------- properties

mod properties {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    /// Few cases: each test stays within a few seconds in a debug build.
    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 512,
            ..ProptestConfig::default()
        }
    }

    /// Any JSON value, nested a few levels, with keys and strings drawn
    /// from the policy grammar's own words so that documents often get far
    /// into the parser before something is wrong.
    fn any_json() -> impl Strategy<Value = Value> {
        let word = prop_oneof![
            Just("Version".to_owned()),
            Just("Statement".to_owned()),
            Just("Effect".to_owned()),
            Just("Allow".to_owned()),
            Just("Deny".to_owned()),
            Just("Action".to_owned()),
            Just("NotAction".to_owned()),
            Just("Resource".to_owned()),
            Just("NotResource".to_owned()),
            Just("Principal".to_owned()),
            Just("NotPrincipal".to_owned()),
            Just("Condition".to_owned()),
            Just("IpAddress".to_owned()),
            Just("StringLike".to_owned()),
            Just("aws:SourceIp".to_owned()),
            Just("2012-10-17".to_owned()),
            Just("execute-api:*".to_owned()),
            Just("arn:aws:execute-api:*:*:*/*/GET/*".to_owned()),
            Just("execute-api:/prod/*".to_owned()),
            Just("10.0.0.0/8".to_owned()),
            Just("*".to_owned()),
            "\\PC{0,12}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|f| json!(f)),
            word.clone().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((word.clone(), inner), 0..6)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    fn any_kind() -> impl Strategy<Value = PolicyKind> {
        prop_oneof![
            Just(PolicyKind::Identity),
            Just(PolicyKind::Resource),
            Just(PolicyKind::Authorizer),
        ]
    }

    /// A valid identity policy: 1 to 4 statements of Allow/Deny over
    /// method ARN patterns, some with a source-IP condition.
    fn valid_policy() -> impl Strategy<Value = Value> {
        let statement = (
            prop_oneof![Just("Allow"), Just("Deny")],
            prop_oneof![Just("execute-api:Invoke"), Just("execute-api:*"), Just("*")],
            prop::collection::vec(
                (
                    prop_oneof![Just("prod"), Just("dev"), Just("*")],
                    prop_oneof![Just("GET"), Just("POST"), Just("*")],
                    prop_oneof![Just("pets"), Just("pets/*"), Just("*"), Just("p?ts/1")],
                ),
                1..3,
            ),
            prop::option::of(prop_oneof![Just("10.0.0.0/8"), Just("203.0.113.0/24")]),
        )
            .prop_map(|(effect, action, resources, cidr)| {
                let resources: Vec<String> = resources
                    .into_iter()
                    .map(|(stage, verb, path)| format!("{API}/{stage}/{verb}/{path}"))
                    .collect();
                let mut s = json!({"Effect": effect, "Action": action, "Resource": resources});
                if let Some(cidr) = cidr {
                    s["Condition"] = json!({"IpAddress": {"aws:SourceIp": cidr}});
                }
                s
            });
        prop::collection::vec(statement, 1..5)
            .prop_map(|statements| json!({"Version": "2012-10-17", "Statement": statements}))
    }

    /// Requests to evaluate against: stage, verb, path and source address.
    fn any_request() -> impl Strategy<Value = (String, &'static str)> {
        (
            prop_oneof![Just("prod"), Just("dev"), Just("test")],
            prop_oneof![Just("GET"), Just("POST"), Just("DELETE")],
            prop_oneof![Just("pets"), Just("pets/1"), Just("pits/1"), Just("users")],
            prop_oneof![Just("10.1.2.3"), Just("203.0.113.9"), Just("192.0.2.1")],
        )
            .prop_map(|(stage, verb, path, ip)| (format!("{API}/{stage}/{verb}/{path}"), ip))
    }

    fn decisions(policy: &Policy, requests: &[(String, &'static str)]) -> Vec<Decision> {
        requests
            .iter()
            .map(|(arn, source)| {
                policy.evaluate(&RequestContext {
                    source_ip: ip(source),
                    ..as_alice(arn)
                })
            })
            .collect()
    }

    proptest! {
        #![proptest_config(config())]

        /// Whatever the JSON, the parser answers (accepts or names a
        /// field) and never panics; an accepted policy evaluates.
        #[test]
        fn parse_never_panics_on_any_json(doc in any_json(), kind in any_kind()) {
            let text = doc.to_string();
            if let Ok(policy) = Policy::parse(&text, kind) {
                let _ = policy.evaluate(&as_alice(&pets1()));
            }
            let _ = Policy::from_value(&doc, kind);
        }

        /// Nor on arbitrary text (JSON or not).
        #[test]
        fn parse_never_panics_on_any_text(text in "\\PC{0,200}", kind in any_kind()) {
            let _ = Policy::parse(&text, kind);
        }

        /// Parsing is stable: the same document written compactly or
        /// pretty-printed gives a policy that decides every request alike,
        /// and evaluating twice gives the same answer.
        #[test]
        fn parse_then_evaluate_is_stable(
            doc in valid_policy(),
            requests in prop::collection::vec(any_request(), 1..8),
        ) {
            let compact = Policy::parse(&doc.to_string(), PolicyKind::Identity)
                .map_err(|e| TestCaseError::fail(format!("valid policy refused: {e}\n{doc}")))?;
            let pretty = Policy::parse(
                &serde_json::to_string_pretty(&doc).expect("JSON"),
                PolicyKind::Identity,
            )
            .map_err(|e| TestCaseError::fail(format!("pretty policy refused: {e}")))?;
            let first = decisions(&compact, &requests);
            prop_assert_eq!(&first, &decisions(&pretty, &requests));
            prop_assert_eq!(&first, &decisions(&compact, &requests));
            // An explicit Deny that applies always wins.
            for (decision, (arn, source)) in first.iter().zip(&requests) {
                let (detailed, index) = compact.evaluate_detailed(&RequestContext {
                    source_ip: ip(source),
                    ..as_alice(arn)
                });
                prop_assert_eq!(*decision, detailed);
                prop_assert_eq!(index.is_some(), *decision != Decision::ImplicitDeny);
            }
        }

        /// A key written twice in any object of a valid document (the top
        /// level, a statement, a condition) is refused, never resolved by
        /// keeping one of the two.
        #[test]
        fn duplicate_keys_are_refused(
            doc in valid_policy(),
            statement in 0usize..4,
            which in 0usize..4,
        ) {
            prop_assert!(Policy::parse(&doc.to_string(), PolicyKind::Identity).is_ok());
            let statements = doc["Statement"].as_array().expect("a list");
            let chosen = statement % statements.len();
            // The document rebuilt as text, with one key written twice.
            let twice = |object: &Value, key: &str, value: &str| {
                let text = object.to_string();
                format!("{{\"{key}\":{value},{}", &text[1..])
            };
            let mut parts: Vec<String> = statements.iter().map(Value::to_string).collect();
            let top = match which {
                0 => {
                    parts[chosen] = twice(&statements[chosen], "Effect", "\"Deny\"");
                    false
                }
                1 => {
                    parts[chosen] = twice(&statements[chosen], "Resource", "\"*\"");
                    false
                }
                2 => {
                    // Inside the condition block, or the statement's Action
                    // when it has none.
                    let s = &statements[chosen];
                    parts[chosen] = match s.get("Condition") {
                        Some(c) => {
                            let mut rebuilt = s.clone();
                            rebuilt["Condition"] = Value::Null;
                            rebuilt.to_string().replace(
                                "\"Condition\":null",
                                &format!("\"Condition\":{}", twice(c, "IpAddress", "{}")),
                            )
                        }
                        None => twice(s, "Action", "\"*\""),
                    };
                    false
                }
                _ => true,
            };
            let version = if top {
                "\"Version\":\"2012-10-17\",\"Version\":\"2012-10-17\""
            } else {
                "\"Version\":\"2012-10-17\""
            };
            let duplicated = format!("{{{version},\"Statement\":[{}]}}", parts.join(","));
            let err = Policy::parse(&duplicated, PolicyKind::Identity)
                .err()
                .ok_or_else(|| TestCaseError::fail(format!("accepted: {duplicated}")))?;
            prop_assert!(err.reason.contains("duplicate key"), "{} in {}", err, duplicated);
        }
    }
}
