//! Phase: authorize. Runs the method's authorizer (JWT, custom, or IAM
//! SigV4) and gives one typed answer, [`Authorization`]: who the caller is
//! for the integration ([`Principal`]), for usage plans (the authorizer's
//! usage key) and for policies ([`Caller`]).
//!
//! The authorizers' own futures are boxed: kept inline they would make every
//! request's state kilobytes larger (and copied as such), authorized or not.

use super::context::{Context, Target};
use super::gateway_response::GatewayResponse;
use super::observe::Phase;
use super::policy::Invocation;
use super::{authorize as jwt, custom_authorizer, iam};
use crate::jwks::JwksCache;
use crate::principal::Principal;
use crate::tables::{IamKey, JwtAuth, RouteAuth};
use crate::upstream::{Purpose, Upstream};
use archway_proto::policy::{Decision, Policy, RequestContext, Resource};
use custom_authorizer::{Answer, CustomAuthorizers};
use std::sync::Arc;
use std::time::SystemTime;

/// The authorizers' state, beside the tables: JWKS keys, tokens verified
/// recently, the custom authorizers' client and answer cache.
#[derive(Debug)]
pub struct Authorizers {
    pub jwks: JwksCache,
    pub verified_tokens: jwt::VerifiedTokens,
    pub custom: CustomAuthorizers,
}

impl Authorizers {
    /// JWKS fetches and authorizer calls go through the node's outbound
    /// client, each recorded under its own purpose.
    pub fn new(upstream: &Upstream) -> Self {
        Self {
            jwks: JwksCache::new(upstream.for_purpose(Purpose::Jwks)),
            verified_tokens: jwt::VerifiedTokens::default(),
            custom: CustomAuthorizers::new(upstream.for_purpose(Purpose::Authorizer)),
        }
    }
}

/// What the authorize phase learned of the caller.
#[derive(Debug)]
pub struct Authorization<'t> {
    /// What the integration is told of the caller; None for anonymous
    /// callers.
    pub principal: Option<Arc<Principal>>,
    pub caller: Caller<'t>,
}

/// How the caller proved who it is, and so which policies speak for it.
#[derive(Debug)]
pub enum Caller<'t> {
    /// The method has no authorizer.
    Anonymous,
    /// A JWT authorizer accepted the caller's token. The token names a
    /// subject, not an IAM principal: to resource policies the caller is
    /// anonymous, as in AWS, and it has no policies of its own.
    Jwt { authorizer: &'t JwtAuth },
    /// A custom authorizer's answer, whose policy allowed the call.
    Authorizer(Arc<Answer>),
    /// SigV4 by this access key: its principal's identity policies apply.
    Iam(&'t IamKey),
}

impl<'t> Authorization<'t> {
    pub fn anonymous() -> Self {
        Self {
            principal: None,
            caller: Caller::Anonymous,
        }
    }

    /// The API key a custom authorizer chose for the caller
    /// (`usageIdentifierKey`), for APIs whose key source is AUTHORIZER.
    pub fn usage_key(&self) -> Option<&str> {
        match &self.caller {
            Caller::Authorizer(answer) => answer.usage_key.as_deref(),
            _ => None,
        }
    }

    /// The IAM key the request was signed with, if it was.
    pub fn iam_key(&self) -> Option<&'t IamKey> {
        match self.caller {
            Caller::Iam(key) => Some(key),
            _ => None,
        }
    }

    /// How the caller's policies, with the API's resource policy, decide
    /// `action` on the request's method ARN (`execute-api:Invoke` for the
    /// resource policy phase, `execute-api:InvalidateCache` for the stage
    /// cache). One function for every action, so the phases cannot combine
    /// policies differently. As API Gateway combines them for one account:
    /// - IAM: identity policies and the resource policy, either may allow,
    ///   neither may deny;
    /// - custom authorizer: the authorizer's policy and the resource
    ///   policy, likewise;
    /// - JWT or none: only the resource policy can allow (a `"*"`
    ///   principal); without one nothing does.
    pub fn decide(
        &self,
        resource_policy: Option<&Policy>,
        action: &str,
        request: &Invocation<'_>,
    ) -> Decision {
        let key = self.iam_key();
        let context = RequestContext {
            action,
            resource: Resource::Method(request.arn),
            principal_arn: key.map(|k| &*k.principal_arn),
            principal_account: None,
            username: key.and_then(|k| k.username.as_deref()),
            source_ip: request.source_ip,
            secure_transport: request.secure_transport,
        };
        let resource = || resource_policy.map(|p| p.evaluate(&context));
        match &self.caller {
            Caller::Iam(key) => {
                archway_proto::policy::authorize(key.policies.iter(), resource_policy, &context)
            }
            Caller::Authorizer(answer) => answer
                .decide(&context)
                .merge(resource().unwrap_or(Decision::ImplicitDeny)),
            Caller::Jwt { .. } | Caller::Anonymous => resource().unwrap_or(Decision::ImplicitDeny),
        }
    }

    /// Whether [`Authorization::decide`] allows `action`.
    pub fn allows(
        &self,
        resource_policy: Option<&Policy>,
        action: &str,
        request: &Invocation<'_>,
    ) -> bool {
        self.decide(resource_policy, action, request).is_allow()
    }
}

/// Phase: runs the method's authorizer, if it has one, and keeps its
/// answer in [`Context::authorization`].
pub async fn authorize<'a>(
    cx: &mut Context<'a>,
    target: &Target<'a>,
    authorizers: &Authorizers,
) -> Result<(), GatewayResponse> {
    let Some(auth) = target.route.auth.as_deref() else {
        return Ok(());
    };
    cx.authorization = match auth {
        RouteAuth::Jwt(jwt_auth) => {
            let principal = Box::pin(jwt::authorize(
                jwt_auth,
                &cx.head.headers,
                &authorizers.jwks,
                &authorizers.verified_tokens,
            ))
            .await?;
            cx.observation.event(Phase::Authorized);
            Authorization {
                principal: Some(principal),
                caller: Caller::Jwt {
                    authorizer: jwt_auth,
                },
            }
        }
        RouteAuth::Custom(custom) => {
            let params = cx.params();
            let call = custom_authorizer::Call {
                auth: custom,
                region: &cx.tables.region,
                account_id: &cx.tables.account_id,
                api_id: &target.api.id,
                stage: &target.stage.name,
                stage_variables: &target.serving.variables,
                resource_path: &target.route.resource_path,
                resource_id: &target.route.resource_id,
                path: cx.stage_path(),
                route_key: target.route.route_key.as_deref(),
                connection_id: cx.observation.connection_id.as_deref(),
                domain_name: super::normalize::domain_name(&cx.head),
                params: &params[..],
                method: &cx.head.method,
                headers: &cx.head.headers,
                extensions: &cx.head.extensions,
                query: cx.head.uri.query(),
                source_ip: cx.client.ip,
                secure_transport: cx.client.secure,
                request_id: cx.observation.request_id.as_str(),
            };
            let answer = Box::pin(authorizers.custom.authorize(&call)).await?;
            drop(params);
            cx.observation.event(Phase::Authorized);
            Authorization {
                principal: Some(answer.principal.clone()),
                caller: Caller::Authorizer(answer),
            }
        }
        RouteAuth::Iam => {
            let now = SystemTime::now();
            // The key must be known before a signed body is read.
            let signer = iam::Signer::identify(cx.tables, &cx.head, now)?;
            let body_hash = if signer.needs_body() {
                Some(Box::pin(iam::hash_body(&mut cx.body, cx.max_payload)).await?)
            } else {
                None
            };
            signer.verify(cx.tables, body_hash.as_deref(), now)?;
            let key = signer.key;
            cx.observation.event(Phase::SignatureVerified);
            Authorization {
                principal: Some(key.principal.clone()),
                caller: Caller::Iam(key),
            }
        }
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::IamKey;
    use archway_proto::policy::{MethodArn, PolicyKind};
    use std::time::Instant;

    const INVALIDATE: &str = "execute-api:InvalidateCache";
    const ARN_PREFIX: &str = "arn:aws:execute-api:us-east-1:123456789012:api1/prod";

    fn request(method: &'static str) -> Invocation<'static> {
        Invocation {
            arn: MethodArn {
                region: "us-east-1",
                account: "123456789012",
                api_id: "api1",
                stage: "prod",
                method,
                path: Some("/pets"),
            },
            source_ip: "192.0.2.7".parse().unwrap(),
            secure_transport: true,
        }
    }

    fn statement(effect: &str, action: &str, resource: &str) -> String {
        format!(r#"{{"Effect":"{effect}","Action":"{action}","Resource":"{resource}"}}"#)
    }

    fn policy(kind: PolicyKind, statements: &[String]) -> Policy {
        let statements = statements.join(",");
        Policy::parse(
            &format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#),
            kind,
        )
        .unwrap()
    }

    /// A resource policy statement for every principal.
    fn public(effect: &str, action: &str, resource: &str) -> String {
        format!(
            r#"{{"Effect":"{effect}","Principal":"*","Action":"{action}","Resource":"{resource}"}}"#
        )
    }

    fn iam_key(statements: &[String]) -> IamKey {
        IamKey {
            access_key_id: "AKIDALICE".into(),
            secret: "secret".into(),
            enabled: true,
            principal_arn: "arn:aws:iam::123456789012:user/alice".into(),
            principal: Arc::default(),
            username: Some("alice".into()),
            session: None,
            policies: if statements.is_empty() {
                Arc::from(Vec::new())
            } else {
                vec![policy(PolicyKind::Identity, statements)].into()
            },
            signing_key: Default::default(),
        }
    }

    fn authorizer_answer(statements: &[String]) -> Arc<Answer> {
        let document = format!(
            r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
            statements.join(",")
        );
        let body = format!(r#"{{"principalId":"bob","policyDocument":{document}}}"#);
        Arc::new(custom_authorizer::parse_answer(body.as_bytes(), Instant::now()).unwrap())
    }

    fn jwt_auth() -> JwtAuth {
        JwtAuth {
            fingerprint: [0; 32],
            header: http::header::AUTHORIZATION,
            issuer: "https://issuer.test".into(),
            audiences: vec!["api".into()],
            jwks_uri: "https://issuer.test/jwks".into(),
            algorithms: vec![jsonwebtoken::Algorithm::RS256],
            leeway_seconds: 60,
            scopes: Vec::new(),
        }
    }

    fn caller(caller: Caller<'_>) -> Authorization<'_> {
        Authorization {
            principal: None,
            caller,
        }
    }

    #[test]
    fn an_iam_caller_may_invalidate_only_where_its_identity_policies_allow_it() {
        let invoke_only = iam_key(&[statement("Allow", "execute-api:Invoke", "*")]);
        let get_only = iam_key(&[statement(
            "Allow",
            INVALIDATE,
            &format!("{ARN_PREFIX}/GET/*"),
        )]);
        let everything = iam_key(&[statement("Allow", "execute-api:*", "*")]);
        assert!(!caller(Caller::Iam(&invoke_only)).allows(None, INVALIDATE, &request("GET")));
        assert!(caller(Caller::Iam(&invoke_only)).allows(
            None,
            "execute-api:Invoke",
            &request("GET")
        ));
        assert!(caller(Caller::Iam(&get_only)).allows(None, INVALIDATE, &request("GET")));
        assert!(!caller(Caller::Iam(&get_only)).allows(None, INVALIDATE, &request("POST")));
        assert!(caller(Caller::Iam(&everything)).allows(None, INVALIDATE, &request("GET")));
    }

    #[test]
    fn a_custom_authorizers_policy_decides_for_its_caller() {
        let invoke_only = authorizer_answer(&[statement("Allow", "execute-api:Invoke", "*")]);
        let invalidate = authorizer_answer(&[
            statement("Allow", "execute-api:Invoke", "*"),
            statement("Allow", INVALIDATE, &format!("{ARN_PREFIX}/GET/pets")),
        ]);
        assert!(!caller(Caller::Authorizer(invoke_only)).allows(None, INVALIDATE, &request("GET")));
        let with_invalidate = caller(Caller::Authorizer(invalidate));
        assert!(with_invalidate.allows(None, INVALIDATE, &request("GET")));
        assert!(!with_invalidate.allows(None, INVALIDATE, &request("PUT")));
    }

    /// A JWT names a subject, not an IAM principal: like an anonymous
    /// caller it has no policies, and only a resource policy open to every
    /// principal can allow it anything.
    #[test]
    fn jwt_and_anonymous_callers_are_allowed_only_by_a_public_resource_policy() {
        let jwt = jwt_auth();
        let open = policy(PolicyKind::Resource, &[public("Allow", INVALIDATE, "*")]);
        for who in [
            caller(Caller::Anonymous),
            caller(Caller::Jwt { authorizer: &jwt }),
        ] {
            assert!(!who.allows(None, INVALIDATE, &request("GET")), "{who:?}");
            assert!(
                who.allows(Some(&open), INVALIDATE, &request("GET")),
                "{who:?}"
            );
        }
        // An IAM-principal statement never matches them.
        let alice_only = policy(
            PolicyKind::Resource,
            &[format!(
                r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::123456789012:user/alice"}},"Action":"{INVALIDATE}","Resource":"*"}}"#
            )],
        );
        assert!(!caller(Caller::Jwt { authorizer: &jwt }).allows(
            Some(&alice_only),
            INVALIDATE,
            &request("GET")
        ));
        let alice = iam_key(&[]);
        assert!(caller(Caller::Iam(&alice)).allows(Some(&alice_only), INVALIDATE, &request("GET")));
    }

    #[test]
    fn a_resource_policy_deny_wins_over_the_callers_allow() {
        let deny = policy(
            PolicyKind::Resource,
            &[
                public("Allow", "execute-api:*", "*"),
                public("Deny", INVALIDATE, "*"),
            ],
        );
        let key = iam_key(&[statement("Allow", "execute-api:*", "*")]);
        let answer = authorizer_answer(&[statement("Allow", "execute-api:*", "*")]);
        for who in [
            caller(Caller::Iam(&key)),
            caller(Caller::Authorizer(answer)),
            caller(Caller::Anonymous),
        ] {
            assert!(
                !who.allows(Some(&deny), INVALIDATE, &request("GET")),
                "{who:?}"
            );
            assert!(
                who.allows(Some(&deny), "execute-api:Invoke", &request("GET")),
                "{who:?}"
            );
        }
    }

    /// `execute-api:Invoke` goes through the same decision as every other
    /// action: a custom authorizer's allow stands where the resource
    /// policy is silent, while an anonymous caller and an IAM caller
    /// without identity policies need the resource policy's allow.
    #[test]
    fn invoke_is_decided_by_the_same_rules_as_other_actions() {
        const INVOKE: &str = "execute-api:Invoke";
        let elsewhere = policy(
            PolicyKind::Resource,
            &[public("Allow", INVOKE, &format!("{ARN_PREFIX}/GET/other"))],
        );
        let answer = authorizer_answer(&[statement("Allow", INVOKE, "*")]);
        assert_eq!(
            caller(Caller::Authorizer(answer)).decide(Some(&elsewhere), INVOKE, &request("GET")),
            Decision::Allow
        );
        assert_eq!(
            caller(Caller::Anonymous).decide(Some(&elsewhere), INVOKE, &request("GET")),
            Decision::ImplicitDeny
        );
        let no_policies = iam_key(&[]);
        assert_eq!(
            caller(Caller::Iam(&no_policies)).decide(Some(&elsewhere), INVOKE, &request("GET")),
            Decision::ImplicitDeny
        );
        let here = policy(PolicyKind::Resource, &[public("Allow", INVOKE, "*")]);
        assert_eq!(
            caller(Caller::Anonymous).decide(Some(&here), INVOKE, &request("GET")),
            Decision::Allow
        );
    }

    #[test]
    fn only_a_custom_authorizer_supplies_a_usage_key() {
        let body = r#"{"principalId":"bob","usageIdentifierKey":"k-1","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}}"#;
        let answer =
            Arc::new(custom_authorizer::parse_answer(body.as_bytes(), Instant::now()).unwrap());
        assert_eq!(caller(Caller::Authorizer(answer)).usage_key(), Some("k-1"));
        let key = iam_key(&[]);
        assert_eq!(caller(Caller::Iam(&key)).usage_key(), None);
        assert_eq!(Authorization::anonymous().usage_key(), None);
    }
}
