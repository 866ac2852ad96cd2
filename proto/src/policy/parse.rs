//! Reading a policy document into compiled statements, with every refusal
//! naming the field as a path (`Statement[1].Action[0]`; a statement given
//! as a single object is just `Statement`).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::condition::parse_condition;
use super::matching::Pattern;
use super::{
    Effect, ParseOptions, PatternSet, PolicyError, PolicyKind, PrincipalEntry, PrincipalSet,
    Statement,
};

pub(crate) fn err(field: &str, reason: impl Into<String>) -> PolicyError {
    PolicyError {
        field: field.to_string(),
        reason: reason.into(),
    }
}

pub(crate) fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// The entries of an object, or an error at `path` if `v` is not one.
pub(crate) fn object_entries<'v>(
    v: &'v Value,
    path: &str,
) -> Result<Vec<(&'v str, &'v Value)>, PolicyError> {
    match v {
        Value::Object(map) => Ok(map.iter().map(|(k, v)| (k.as_str(), v)).collect()),
        _ => Err(err(path, "must be an object")),
    }
}

/// Policy variables (`${aws:username}`) are not substituted by Archway; a
/// statement using them would match only the literal text, so a `Deny`
/// would silently never apply. Refused instead.
pub(crate) fn check_no_policy_variable(text: &str, path: &str) -> Result<(), PolicyError> {
    if text.contains("${") {
        return Err(err(path, "policy variables (${…}) are not supported"));
    }
    Ok(())
}

/// Parses JSON text, refusing duplicate object keys (serde_json would keep
/// the last one silently, and `{"Effect": "Deny", "Effect": "Allow"}`
/// must not quietly become an Allow).
pub(crate) fn strict_json(json: &str) -> Result<Value, PolicyError> {
    serde_json::from_str::<Strict>(json)
        .map(|s| s.0)
        .map_err(|e| err("document", format!("not valid JSON: {e}")))
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key \"{key}\"")));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// Looks up the elements `names` in an object, ignoring the case of the
/// element names (AWS is lenient about it). Refuses an element not in
/// `names`, and two spellings of one element.
fn elements<'v, const N: usize>(
    v: &'v Value,
    names: [&'static str; N],
    path: &str,
) -> Result<[Option<&'v Value>; N], PolicyError> {
    let mut found: [Option<(&'v str, &'v Value)>; N] = [None; N];
    for (key, value) in object_entries(v, path)? {
        let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(key)) else {
            return Err(err(
                &join(path, key),
                format!("unknown element; expected one of {}", names.join(", ")),
            ));
        };
        if let Some((first, _)) = found[i] {
            return Err(err(
                &join(path, key),
                format!("repeats {first} (element names ignore case)"),
            ));
        }
        found[i] = Some((key, value));
    }
    Ok(found.map(|f| f.map(|(_, v)| v)))
}

/// A string or a non-empty list of non-empty strings, each with its path.
fn string_list<'v>(v: &'v Value, path: &str) -> Result<Vec<(String, &'v str)>, PolicyError> {
    let one = |item: &'v Value, p: String| match item {
        Value::String(s) if s.is_empty() => Err(err(&p, "must not be empty")),
        Value::String(s) => {
            check_no_policy_variable(s, &p)?;
            Ok((p, s.as_str()))
        }
        _ => Err(err(&p, "must be a string")),
    };
    match v {
        Value::String(_) => Ok(vec![one(v, path.to_string())?]),
        Value::Array(items) if items.is_empty() => Err(err(path, "must not be an empty list")),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| one(item, format!("{path}[{i}]")))
            .collect(),
        _ => Err(err(path, "must be a string or a list of strings")),
    }
}

const ACCEPTED_VERSIONS: [&str; 2] = ["2012-10-17", "2008-10-17"];

/// Parses a whole document into statements.
pub(crate) fn document(v: &Value, opts: &ParseOptions<'_>) -> Result<Vec<Statement>, PolicyError> {
    if !v.is_object() {
        return Err(err("document", "must be a JSON object"));
    }
    let [version, id, statement] = elements(v, ["Version", "Id", "Statement"], "")?;
    if let Some(version) = version {
        let ok = version.as_str().is_some_and(|s| {
            ACCEPTED_VERSIONS
                .iter()
                .any(|a| a.eq_ignore_ascii_case(s.trim()))
        });
        if !ok {
            return Err(err(
                "Version",
                "must be \"2012-10-17\" (or the older \"2008-10-17\")",
            ));
        }
    }
    if id.is_some_and(|id| !id.is_string()) {
        return Err(err("Id", "must be a string"));
    }
    let Some(statement) = statement else {
        return Err(err("Statement", "is required"));
    };
    match statement {
        Value::Object(_) => Ok(vec![parse_statement(statement, "Statement", opts)?]),
        Value::Array(items) if items.is_empty() => {
            Err(err("Statement", "must not be an empty list"))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_statement(item, &format!("Statement[{i}]"), opts))
            .collect(),
        _ => Err(err(
            "Statement",
            "must be a statement object or a list of them",
        )),
    }
}

fn parse_statement(
    v: &Value,
    path: &str,
    opts: &ParseOptions<'_>,
) -> Result<Statement, PolicyError> {
    let [
        sid,
        effect,
        action,
        not_action,
        resource,
        not_resource,
        principal,
        not_principal,
        condition,
    ] = elements(
        v,
        [
            "Sid",
            "Effect",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Principal",
            "NotPrincipal",
            "Condition",
        ],
        path,
    )?;

    let sid = match sid {
        None => None,
        Some(Value::String(s)) => Some(s.as_str().into()),
        Some(_) => return Err(err(&join(path, "Sid"), "must be a string")),
    };

    let effect = match effect {
        None => return Err(err(&join(path, "Effect"), "is required")),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("Allow") => Effect::Allow,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("Deny") => Effect::Deny,
        Some(_) => {
            return Err(err(&join(path, "Effect"), "must be \"Allow\" or \"Deny\""));
        }
    };

    let (action_value, action_name, action_negated) =
        exactly_one(path, action, not_action, "Action", "NotAction")?;
    let mut actions = Vec::new();
    for (p, a) in string_list(action_value, &join(path, action_name))? {
        check_action(a, &p)?;
        actions.push(Pattern::new(a, true));
    }

    let (resource_value, resource_name, resource_negated) =
        exactly_one(path, resource, not_resource, "Resource", "NotResource")?;
    // Resources match exactly, except where reading the request more widely
    // can only refuse more: a Deny's `Resource` and an Allow's
    // `NotResource` ignore case and a file extension on the last segment
    // (see `PatternSet::widened`). IIS serves `/ADMIN`, Spring MVC
    // `/admin.json`, as `/admin`, and a Deny on `/admin` must hold for
    // them; an Allow stays exact.
    let fold_case = (effect == Effect::Deny) != resource_negated;
    let mut resources = Vec::new();
    for (p, r) in string_list(resource_value, &join(path, resource_name))? {
        let expanded = expand_resource(r, &p, opts)?;
        resources.push(Pattern::new(&expanded, fold_case));
    }

    let principals = match opts.kind {
        PolicyKind::Resource => {
            let (value, name, negated) =
                exactly_one(path, principal, not_principal, "Principal", "NotPrincipal").map_err(
                    |mut e| {
                        if e.reason.starts_with("is required") {
                            e.reason = "is required in a resource policy (\"*\" for everyone, \
                                        or {\"AWS\": [account ids or ARNs]})"
                                .into();
                        }
                        e
                    },
                )?;
            Some(PrincipalSet {
                negated,
                entries: parse_principal(value, &join(path, name))?.into_boxed_slice(),
            })
        }
        PolicyKind::Identity | PolicyKind::Authorizer => {
            let present = match (principal, not_principal) {
                (Some(_), _) => Some("Principal"),
                (None, Some(_)) => Some("NotPrincipal"),
                (None, None) => None,
            };
            if let Some(name) = present {
                let reason = if opts.kind == PolicyKind::Identity {
                    "is not allowed in an identity policy: it applies to the user or role it is \
                     attached to (only resource policies name principals)"
                } else {
                    "is not allowed in an authorizer policy: it applies to the caller the \
                     authorizer authenticated (use Action and Resource only)"
                };
                return Err(err(&join(path, name), reason));
            }
            None
        }
    };

    let conditions = match condition {
        None => Vec::new(),
        Some(c) => parse_condition(c, &join(path, "Condition"))?,
    };

    Ok(Statement {
        sid,
        effect,
        actions: PatternSet {
            negated: action_negated,
            widened: false,
            patterns: actions.into_boxed_slice(),
        },
        resources: PatternSet {
            negated: resource_negated,
            widened: fold_case,
            patterns: resources.into_boxed_slice(),
        },
        principals,
        conditions: conditions.into_boxed_slice(),
    })
}

/// Exactly one of a positive element and its `Not…` form.
fn exactly_one<'v>(
    path: &str,
    positive: Option<&'v Value>,
    negative: Option<&'v Value>,
    pos_name: &'static str,
    neg_name: &'static str,
) -> Result<(&'v Value, &'static str, bool), PolicyError> {
    match (positive, negative) {
        (Some(v), None) => Ok((v, pos_name, false)),
        (None, Some(v)) => Ok((v, neg_name, true)),
        (Some(_), Some(_)) => Err(err(
            &join(path, neg_name),
            format!("cannot be used together with {pos_name}"),
        )),
        (None, None) => Err(err(
            &join(path, pos_name),
            format!("is required (or {neg_name})"),
        )),
    }
}

/// The actions Archway (like API Gateway) knows for `execute-api`.
const EXECUTE_API_ACTIONS: [&str; 3] = ["Invoke", "InvalidateCache", "ManageConnections"];

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

fn check_action(action: &str, path: &str) -> Result<(), PolicyError> {
    if action == "*" {
        return Ok(());
    }
    let Some((service, name)) = action.split_once(':') else {
        return Err(err(
            path,
            "must be \"*\" or service:action, e.g. execute-api:Invoke",
        ));
    };
    let service_ok = !service.is_empty()
        && service
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '*' | '?'));
    if !service_ok || name.is_empty() {
        return Err(err(
            path,
            "must be \"*\" or service:action, e.g. execute-api:Invoke",
        ));
    }
    // A typo in a literal execute-api action would never match, which for a
    // Deny means no protection at all.
    if service.eq_ignore_ascii_case("execute-api")
        && !has_wildcard(name)
        && !EXECUTE_API_ACTIONS
            .iter()
            .any(|a| a.eq_ignore_ascii_case(name))
    {
        return Err(err(
            path,
            format!(
                "unknown execute-api action '{name}'; use {}",
                EXECUTE_API_ACTIONS.join(", ")
            ),
        ));
    }
    Ok(())
}

const RESOURCE_HINT: &str = "must be \"*\" or an ARN like \
     arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/{path}";

/// Validates a Resource entry and expands the `execute-api:/…` shorthand.
fn expand_resource(
    resource: &str,
    path: &str,
    opts: &ParseOptions<'_>,
) -> Result<String, PolicyError> {
    if resource == "*" {
        return Ok(resource.to_string());
    }
    if let Some(rest) = resource.strip_prefix("execute-api:/") {
        let Some(api) = opts.api else {
            return Err(err(
                path,
                "the execute-api:/… shorthand needs the API it belongs to; write the full ARN \
                 (arn:aws:execute-api:{region}:{account}:{api-id}/…)",
            ));
        };
        return Ok(format!(
            "arn:aws:execute-api:{}:{}:{}/{rest}",
            api.region, api.account, api.api_id
        ));
    }
    // arn:partition:service:region:account:resource — six fields, unless a
    // wildcard stands in for the tail (arn:aws:execute-api:*).
    if !resource.starts_with("arn:") || (resource.split(':').count() < 6 && !resource.contains('*'))
    {
        return Err(err(path, RESOURCE_HINT));
    }
    Ok(resource.to_string())
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `arn:{partition}:iam::{account}:root` → the account.
fn root_arn_account(arn: &str) -> Option<&str> {
    let fields: Vec<&str> = arn.splitn(6, ':').collect();
    match fields.as_slice() {
        ["arn", _, "iam", "", account, "root"] if is_account_id(account) => Some(account),
        _ => None,
    }
}

fn parse_principal(v: &Value, path: &str) -> Result<Vec<PrincipalEntry>, PolicyError> {
    match v {
        Value::String(s) if s == "*" => Ok(vec![PrincipalEntry::Any]),
        Value::Object(_) => {
            let entries = object_entries(v, path)?;
            if entries.is_empty() {
                return Err(err(path, "must not be empty"));
            }
            let mut out = Vec::new();
            for (kind, value) in entries {
                let kind_path = join(path, kind);
                if !kind.eq_ignore_ascii_case("AWS") {
                    return Err(err(
                        &kind_path,
                        "unsupported principal type; Archway knows only AWS (account ids and \
                         IAM ARNs)",
                    ));
                }
                for (p, s) in string_list(value, &kind_path)? {
                    out.push(principal_entry(s, &p)?);
                }
            }
            Ok(out)
        }
        _ => Err(err(
            path,
            "must be \"*\" or an object like {\"AWS\": \"arn:aws:iam::123456789012:root\"}",
        )),
    }
}

fn principal_entry(s: &str, path: &str) -> Result<PrincipalEntry, PolicyError> {
    if s == "*" {
        return Ok(PrincipalEntry::Any);
    }
    if is_account_id(s) {
        return Ok(PrincipalEntry::Account(s.into()));
    }
    if let Some(account) = root_arn_account(s) {
        return Ok(PrincipalEntry::Account(account.into()));
    }
    if s.starts_with("arn:") && (s.split(':').count() >= 6 || s.contains('*')) {
        return Ok(PrincipalEntry::Arn(Pattern::new(s, false)));
    }
    Err(err(
        path,
        "must be \"*\", a 12-digit account id or an IAM ARN \
         (arn:aws:iam::123456789012:user/alice)",
    ))
}
