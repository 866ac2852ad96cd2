//! IAM-style policy documents, as AWS API Gateway uses them: IAM identity
//! policies of users and roles, per-API resource policies, and the
//! `policyDocument` a custom (Lambda) authorizer returns.
//!
//! The control plane parses and validates what an operator submits, and
//! refuses a bad document with the field path and the reason
//! ([`PolicyError`]); data-plane nodes compile each policy once per
//! configuration version ([`Policy`]) and evaluate it on every request
//! without allocating ([`Policy::evaluate`], [`authorize`]).
//!
//! # Documents
//!
//! `{"Version": "2012-10-17", "Statement": [ … ]}` (`Statement` may be a
//! single object). A statement has `Sid`, `Effect` (`Allow`/`Deny`),
//! `Action` or `NotAction`, `Resource` or `NotResource`, `Principal` or
//! `NotPrincipal` (resource policies only) and `Condition`. Parsing is
//! tolerant where AWS is (element names and `Effect` in any case, a string
//! where a list is allowed, `Action` case-insensitive) and strict about
//! structure: an unknown element, a missing `Effect`, `Action` together
//! with `NotAction`, an empty list, an unsupported condition operator or
//! key, a policy variable (`${…}`) or a duplicated JSON key is refused,
//! because a statement Archway would quietly read differently from AWS —
//! above all a `Deny` that never matches — is worse than an error.
//!
//! # Matching
//!
//! * Action: `execute-api:Invoke`, `execute-api:*`, `*`; `*` and `?`
//!   wildcards; ASCII case-insensitive.
//! * Resource: `*` or an ARN such as
//!   `arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/{path}`
//!   where `*` matches any run of characters, `/` and `:` included, and `?`
//!   exactly one; case-sensitive (see [`method_arn`] / [`MethodArn`]),
//!   except where reading the request more widely can only refuse more: a
//!   `Deny` statement's `Resource` and an `Allow` statement's `NotResource`
//!   match ASCII case-insensitively, and also match a method ARN whose
//!   path matches once the file extension of its last segment is cut off.
//!   So a Deny on `/admin` also refuses `/ADMIN`, which case-insensitive
//!   backends (IIS) serve as `/admin`, and `/admin.json`, which Spring MVC
//!   (suffix pattern matching, the default before 5.3) serves as `/admin`.
//! * Principal: `"*"` or `{"AWS": "*"}` match everyone, anonymous callers
//!   included; a 12-digit account id or `arn:aws:iam::{account}:root`
//!   matches every principal of that account; any other ARN (wildcards
//!   allowed) matches that principal's ARN. A role ARN also matches the
//!   sessions of that role (`arn:aws:sts::{account}:assumed-role/{role}/…`),
//!   as in AWS.
//!
//! # Evaluation
//!
//! A statement applies when its action, resource, principal (resource
//! policies) and every condition match. Within one policy, and across the
//! policies combined by [`authorize`], an applying `Deny` wins over every
//! `Allow` ([`Decision::ExplicitDeny`]); with no applying statement the
//! answer is [`Decision::ImplicitDeny`].

mod condition;
mod matching;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::IpAddr;

pub use matching::{MethodArn, method_arn, wildcard_match, wildcard_match_parts};

use condition::Check;
use matching::{METHOD_ARN_PARTS, Pattern};

/// The action API Gateway checks for calling an API method.
pub const INVOKE_ACTION: &str = "execute-api:Invoke";
/// The action that lets a caller refetch a cached response
/// (`Cache-Control: max-age=0`).
pub const INVALIDATE_CACHE_ACTION: &str = "execute-api:InvalidateCache";

/// Which kind of document a policy is; decides what `Principal` may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Attached to an IAM user or role: applies to that identity, so
    /// `Principal`/`NotPrincipal` are refused.
    Identity,
    /// Attached to an API: every statement must say whom it applies to with
    /// `Principal` or `NotPrincipal`.
    Resource,
    /// Returned by a custom authorizer for the caller it just
    /// authenticated: `Action`/`Resource` only, `Principal` refused.
    Authorizer,
}

/// The API a resource policy is attached to, for expanding the
/// `execute-api:/{stage}/{METHOD}/{path}` shorthand the AWS console accepts
/// in resource policies into
/// `arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{METHOD}/{path}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRef<'a> {
    pub region: &'a str,
    pub account: &'a str,
    pub api_id: &'a str,
}

/// How to parse a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions<'a> {
    pub kind: PolicyKind,
    /// When set, `execute-api:/…` resources expand to this API's ARN;
    /// without it they are refused (there is no API to expand them to).
    pub api: Option<ApiRef<'a>>,
}

impl ParseOptions<'_> {
    pub fn new(kind: PolicyKind) -> Self {
        ParseOptions { kind, api: None }
    }
}

/// Why a document was refused: `field` is the path to the offending
/// element as written, e.g. `Statement[1].Condition.IpAddress.aws:SourceIp[0]`
/// (`document` for the JSON as a whole); `reason` says what is wrong in
/// words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub field: String,
    pub reason: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for PolicyError {}

/// The outcome of evaluating one policy, or several combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A `Deny` statement applies: refused whatever else allows.
    ExplicitDeny,
    /// An `Allow` statement applies and no `Deny` does.
    Allow,
    /// No statement applies (the policy is silent about the request).
    ImplicitDeny,
}

impl Decision {
    pub fn is_allow(self) -> bool {
        self == Decision::Allow
    }

    /// Combines two decisions the way IAM combines policies of one account:
    /// an explicit deny anywhere wins, then an allow anywhere, else
    /// implicit deny. This is also AWS's same-account table for a custom
    /// authorizer's policy together with a resource policy (either may
    /// allow, neither may deny) — combine their [`Policy::evaluate`]
    /// results with it when that is the behaviour wanted.
    pub fn merge(self, other: Decision) -> Decision {
        use Decision::*;
        match (self, other) {
            (ExplicitDeny, _) | (_, ExplicitDeny) => ExplicitDeny,
            (Allow, _) | (_, Allow) => Allow,
            _ => ImplicitDeny,
        }
    }
}

/// The resource a request acts on: an ARN as text, or an API method call
/// given as parts so the data plane need not format the ARN per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    Arn(&'a str),
    Method(MethodArn<'a>),
}

impl<'a> From<&'a str> for Resource<'a> {
    fn from(arn: &'a str) -> Self {
        Resource::Arn(arn)
    }
}

impl<'a> From<MethodArn<'a>> for Resource<'a> {
    fn from(m: MethodArn<'a>) -> Self {
        Resource::Method(m)
    }
}

/// What a policy is evaluated against: one request.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    /// Usually [`INVOKE_ACTION`].
    pub action: &'a str,
    pub resource: Resource<'a>,
    /// The caller's IAM ARN when it authenticated with IAM (SigV4), e.g.
    /// `arn:aws:iam::123456789012:user/alice` or a role session
    /// `arn:aws:sts::123456789012:assumed-role/deployer/session`. Its
    /// presence is what makes [`authorize`] treat the caller as
    /// IAM-authenticated. For a role session, `aws:PrincipalArn` conditions
    /// see the role's ARN (`arn:aws:iam::123456789012:role/deployer`), as in
    /// AWS; a role path is not recoverable from a session ARN, so write such
    /// conditions without one.
    pub principal_arn: Option<&'a str>,
    /// The caller's account; when `None`, taken from `principal_arn`.
    pub principal_account: Option<&'a str>,
    /// `aws:username`: the IAM user name (users only, not role sessions).
    pub username: Option<&'a str>,
    pub source_ip: IpAddr,
    /// Whether the request came over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
}

/// A parsed, validated policy, compiled for evaluation.
#[derive(Debug, Clone)]
pub struct Policy {
    kind: PolicyKind,
    statements: Box<[Statement]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// `Action`/`NotAction` or `Resource`/`NotResource`: matches when any
/// pattern matches, or with `negated` when none does.
#[derive(Debug, Clone)]
struct PatternSet {
    negated: bool,
    /// Resources only: where reading the request more widely can only
    /// refuse more (a Deny's `Resource`, an Allow's `NotResource`), the
    /// patterns ignore ASCII case (compiled so) and a method ARN also
    /// counts as matched when its path does without the file extension
    /// of its last segment (`/admin.json` as `/admin`, as Spring MVC's
    /// suffix pattern matching serves it).
    widened: bool,
    patterns: Box<[Pattern]>,
}

impl PatternSet {
    fn matches(&self, parts: &[&str]) -> bool {
        self.patterns.iter().any(|p| p.matches(parts)) != self.negated
    }

    fn matches_resource(&self, s: &Subject<'_>) -> bool {
        let hit = |parts: &[&str]| self.patterns.iter().any(|p| p.matches(parts));
        let any = hit(s.resource())
            || (self.widened && s.resource_without_extension().is_some_and(|r| hit(&r)));
        any != self.negated
    }
}

#[derive(Debug, Clone)]
enum PrincipalEntry {
    /// `"*"` / `{"AWS": "*"}`: everyone, anonymous callers too.
    Any,
    /// A 12-digit account id or `arn:…:iam::{account}:root`.
    Account(Box<str>),
    /// Any other principal ARN, case-sensitive, wildcards allowed.
    Arn(Pattern),
}

#[derive(Debug, Clone)]
struct PrincipalSet {
    negated: bool,
    entries: Box<[PrincipalEntry]>,
}

impl PrincipalSet {
    fn matches(&self, s: &Subject<'_>) -> bool {
        let any = self.entries.iter().any(|e| match e {
            PrincipalEntry::Any => true,
            PrincipalEntry::Account(a) => s.account == Some(&**a),
            PrincipalEntry::Arn(p) => {
                s.principal_arn.is_some_and(|arn| p.matches(&[arn]))
                    || s.role_arn.as_ref().is_some_and(|r| p.matches(r))
            }
        });
        any != self.negated
    }
}

#[derive(Debug, Clone)]
struct Statement {
    sid: Option<Box<str>>,
    effect: Effect,
    actions: PatternSet,
    resources: PatternSet,
    /// Only in resource policies.
    principals: Option<PrincipalSet>,
    conditions: Box<[Check]>,
}

impl Statement {
    fn applies(&self, s: &Subject<'_>) -> bool {
        self.actions.matches(&[s.action])
            && self.resources.matches_resource(s)
            && self.principals.as_ref().is_none_or(|p| p.matches(s))
            && self.conditions.iter().all(|c| c.holds(s))
    }
}

/// A request prepared once for matching: the resource as parts, the
/// account, and a role session's role ARN, all borrowed.
pub(crate) struct Subject<'a> {
    action: &'a str,
    resource: [&'a str; METHOD_ARN_PARTS],
    resource_len: usize,
    principal_arn: Option<&'a str>,
    /// For `arn:{p}:sts::{acct}:assumed-role/{role}/{session}`: the parts
    /// of `arn:{p}:iam::{acct}:role/{role}`.
    role_arn: Option<[&'a str; 6]>,
    pub(crate) account: Option<&'a str>,
    pub(crate) username: Option<&'a str>,
    pub(crate) source_ip: IpAddr,
    pub(crate) secure_transport: bool,
}

impl<'a> Subject<'a> {
    fn new(ctx: &RequestContext<'a>) -> Subject<'a> {
        let mut resource = [""; METHOD_ARN_PARTS];
        let resource_len = match ctx.resource {
            Resource::Arn(arn) => {
                resource[0] = arn;
                1
            }
            Resource::Method(m) => {
                resource = m.parts();
                METHOD_ARN_PARTS
            }
        };
        Subject {
            action: ctx.action,
            resource,
            resource_len,
            principal_arn: ctx.principal_arn,
            role_arn: ctx.principal_arn.and_then(session_role_arn),
            account: ctx
                .principal_account
                .or_else(|| ctx.principal_arn.and_then(arn_account)),
            username: ctx.username,
            source_ip: ctx.source_ip,
            secure_transport: ctx.secure_transport,
        }
    }

    fn resource(&self) -> &[&'a str] {
        &self.resource[..self.resource_len]
    }

    /// A method ARN whose path's last segment has a file extension
    /// (`admin.json`, `admin.a.b`), with the extension cut off; `None`
    /// for other resources.
    fn resource_without_extension(&self) -> Option<[&'a str; METHOD_ARN_PARTS]> {
        if self.resource_len != METHOD_ARN_PARTS {
            return None;
        }
        let path = self.resource[METHOD_ARN_PARTS - 1];
        let start = path.rfind('/').map_or(0, |i| i + 1);
        let dot = path[start..].find('.').filter(|&d| d > 0)?;
        let mut parts = self.resource;
        parts[METHOD_ARN_PARTS - 1] = &path[..start + dot];
        Some(parts)
    }

    /// `aws:PrincipalArn`: the role's ARN for a role session, else the
    /// caller's ARN.
    pub(crate) fn principal_arn_for_condition(&self) -> Option<&[&'a str]> {
        match &self.role_arn {
            Some(role) => Some(role),
            None => self.principal_arn.as_ref().map(std::slice::from_ref),
        }
    }
}

/// The account field of an ARN (`arn:partition:service:region:account:…`).
fn arn_account(arn: &str) -> Option<&str> {
    let mut fields = arn.splitn(6, ':');
    if fields.next()? != "arn" {
        return None;
    }
    let account = fields.nth(3)?;
    fields.next()?;
    (!account.is_empty()).then_some(account)
}

fn session_role_arn(arn: &str) -> Option<[&str; 6]> {
    let mut fields = arn.splitn(6, ':');
    if fields.next()? != "arn" {
        return None;
    }
    let partition = fields.next()?;
    if fields.next()? != "sts" || !fields.next()?.is_empty() {
        return None;
    }
    let account = fields.next()?;
    let (role, _session) = fields
        .next()?
        .strip_prefix("assumed-role/")?
        .split_once('/')?;
    if role.is_empty() {
        return None;
    }
    Some(["arn:", partition, ":iam::", account, ":role/", role])
}

impl Policy {
    /// Parses and validates a JSON document as a policy of `kind`.
    pub fn parse(json: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        Policy::parse_with(json, &ParseOptions::new(kind))
    }

    /// [`Policy::parse`] with all options.
    pub fn parse_with(json: &str, opts: &ParseOptions<'_>) -> Result<Policy, PolicyError> {
        let value = parse::strict_json(json)?;
        Policy::from_value_with(&value, opts)
    }

    /// Validates an already-parsed document (e.g. the `policyDocument` of a
    /// custom authorizer's response). Duplicate JSON keys cannot be detected
    /// here — `serde_json::Value` has already kept only the last — so prefer
    /// [`Policy::parse`] for text.
    pub fn from_value(v: &serde_json::Value, kind: PolicyKind) -> Result<Policy, PolicyError> {
        Policy::from_value_with(v, &ParseOptions::new(kind))
    }

    /// [`Policy::from_value`] with all options.
    pub fn from_value_with(
        v: &serde_json::Value,
        opts: &ParseOptions<'_>,
    ) -> Result<Policy, PolicyError> {
        let statements = parse::document(v, opts)?;
        Ok(Policy {
            kind: opts.kind,
            statements: statements.into_boxed_slice(),
        })
    }

    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    /// The `Sid` of statement `index`, if it has one.
    pub fn statement_sid(&self, index: usize) -> Option<&str> {
        self.statements.get(index)?.sid.as_deref()
    }

    /// This policy's answer for one request. Principals are checked only in
    /// resource policies; an identity or authorizer policy applies to
    /// whoever it is evaluated for.
    pub fn evaluate(&self, ctx: &RequestContext<'_>) -> Decision {
        self.eval(&Subject::new(ctx)).0
    }

    /// [`Policy::evaluate`], also naming the statement that decided: the
    /// first applying `Deny`, else the first applying `Allow` (for logs
    /// such as "denied by `Statement[2]` (Sid …)").
    pub fn evaluate_detailed(&self, ctx: &RequestContext<'_>) -> (Decision, Option<usize>) {
        self.eval(&Subject::new(ctx))
    }

    fn eval(&self, s: &Subject<'_>) -> (Decision, Option<usize>) {
        let mut allowed_by = None;
        for (i, st) in self.statements.iter().enumerate() {
            // Once allowed, only a Deny can change the answer.
            if st.effect == Effect::Allow && allowed_by.is_some() {
                continue;
            }
            if st.applies(s) {
                match st.effect {
                    Effect::Deny => return (Decision::ExplicitDeny, Some(i)),
                    Effect::Allow => allowed_by = Some(i),
                }
            }
        }
        match allowed_by {
            Some(i) => (Decision::Allow, Some(i)),
            None => (Decision::ImplicitDeny, None),
        }
    }
}

/// Combines a caller's identity policies and the API's resource policy the
/// way API Gateway does for an API and callers in one account:
///
/// * IAM-authenticated caller (`ctx.principal_arn` is `Some`): allowed iff
///   neither any identity policy nor the resource policy explicitly denies,
///   and at least one of them allows. Either suffices because AWS treats a
///   same-account principal so (cross-account would need both; Archway
///   has no second account to come from).
/// * Anonymous caller (`principal_arn` is `None`: no auth, JWT, API key or
///   custom-authorizer callers): identity policies are not consulted (there
///   is no identity). With a resource policy the caller needs its `Allow`
///   (a `Principal: "*"` statement, since account and ARN principals never
///   match an anonymous caller) and no `Deny`; without one the request is
///   allowed — the resource policy is then the only gate API Gateway has.
///
/// Returns [`Decision::Allow`] for "let it through"; anything else is a 403.
/// The resource policy must be a [`PolicyKind::Resource`] policy for its
/// principals to count: identity and authorizer policies have none.
pub fn authorize<'p, I>(
    identity_policies: I,
    resource_policy: Option<&Policy>,
    ctx: &RequestContext<'_>,
) -> Decision
where
    I: IntoIterator<Item = &'p Policy>,
{
    let s = Subject::new(ctx);
    let resource = resource_policy.map(|p| p.eval(&s).0);
    if resource == Some(Decision::ExplicitDeny) {
        return Decision::ExplicitDeny;
    }
    if ctx.principal_arn.is_none() {
        return resource.unwrap_or(Decision::Allow);
    }
    let mut identity = Decision::ImplicitDeny;
    for p in identity_policies {
        identity = identity.merge(p.eval(&s).0);
        if identity == Decision::ExplicitDeny {
            return Decision::ExplicitDeny;
        }
    }
    identity.merge(resource.unwrap_or(Decision::ImplicitDeny))
}
