//! The `Condition` element: parsing into checks that evaluate without
//! allocating, and their AWS semantics.
//!
//! * Several values for one key are OR-ed; several keys under one operator,
//!   and several operators, are AND-ed.
//! * The negated operators (`StringNotEquals`, `StringNotEqualsIgnoreCase`,
//!   `StringNotLike`, `NotIpAddress`) hold when the value matches none of
//!   the listed values.
//! * A key the request does not have (e.g. `aws:username` for an anonymous
//!   caller) makes a positive operator false and a negated operator true,
//!   as AWS does; the `…IfExists` forms of both are true then. `Null` tests
//!   presence itself: `"Null": {"aws:username": "true"}` holds when the key
//!   is absent.
//! * Operator names and keys are matched case-insensitively (AWS treats
//!   keys so); `aws:` keys Archway cannot fill are refused rather than
//!   silently never matching, because a `Deny` that never matches is a hole.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use super::matching::Pattern;
use super::parse::{check_no_policy_variable, err, join, object_entries};
use super::{PolicyError, Subject};

/// A condition key Archway can fill from a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    SourceIp,
    SecureTransport,
    PrincipalArn,
    PrincipalAccount,
    Username,
}

const KEYS: &[(&str, Key)] = &[
    ("aws:SourceIp", Key::SourceIp),
    ("aws:SecureTransport", Key::SecureTransport),
    ("aws:PrincipalArn", Key::PrincipalArn),
    ("aws:PrincipalAccount", Key::PrincipalAccount),
    ("aws:username", Key::Username),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Ip,
    Bool,
    Null,
}

/// (name, family, negated)
const OPERATORS: &[(&str, Family, bool)] = &[
    ("StringEquals", Family::StringEquals, false),
    ("StringNotEquals", Family::StringEquals, true),
    (
        "StringEqualsIgnoreCase",
        Family::StringEqualsIgnoreCase,
        false,
    ),
    (
        "StringNotEqualsIgnoreCase",
        Family::StringEqualsIgnoreCase,
        true,
    ),
    ("StringLike", Family::StringLike, false),
    ("StringNotLike", Family::StringLike, true),
    ("IpAddress", Family::Ip, false),
    ("NotIpAddress", Family::Ip, true),
    ("Bool", Family::Bool, false),
    ("Null", Family::Null, false),
];

#[derive(Debug, Clone)]
enum Test {
    StringEquals(Box<[Box<str>]>),
    StringEqualsIgnoreCase(Box<[Box<str>]>),
    StringLike(Box<[Pattern]>),
    Ip(Box<[IpNet]>),
    Bool(Box<[bool]>),
    /// `true`: the key must be absent.
    Null(Box<[bool]>),
}

/// One (operator, key, values) triple of a `Condition` block.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    key: Key,
    test: Test,
    negated: bool,
    if_exists: bool,
}

/// A request's value for a key.
enum Val<'s> {
    Ip(IpAddr),
    Bool(bool),
    /// A string given as parts to be read as their concatenation (the
    /// principal ARN of a role session is rebuilt from pieces of the
    /// session ARN without allocating).
    Str(&'s [&'s str]),
}

impl Check {
    pub(crate) fn holds(&self, s: &Subject<'_>) -> bool {
        let value = match self.key {
            Key::SourceIp => Some(Val::Ip(s.source_ip)),
            Key::SecureTransport => Some(Val::Bool(s.secure_transport)),
            Key::PrincipalArn => s.principal_arn_for_condition().map(Val::Str),
            Key::PrincipalAccount => s
                .account
                .as_ref()
                .map(|a| Val::Str(std::slice::from_ref(a))),
            Key::Username => s
                .username
                .as_ref()
                .map(|u| Val::Str(std::slice::from_ref(u))),
        };
        if let Test::Null(wants_absent) = &self.test {
            return wants_absent.iter().any(|&w| w == value.is_none());
        }
        let Some(value) = value else {
            return self.if_exists || self.negated;
        };
        let matched = match (&self.test, value) {
            (Test::StringEquals(vals), Val::Str(parts)) => vals.iter().any(|v| parts_eq(parts, v)),
            (Test::StringEqualsIgnoreCase(vals), Val::Str(parts)) => {
                vals.iter().any(|v| parts_eq_ignore_case(parts, v))
            }
            (Test::StringLike(pats), Val::Str(parts)) => pats.iter().any(|p| p.matches(parts)),
            (Test::Ip(nets), Val::Ip(ip)) => nets.iter().any(|n| net_contains(n, ip)),
            (Test::Bool(vals), Val::Bool(b)) => vals.contains(&b),
            // Parsing only pairs operators with keys of their type.
            _ => false,
        };
        matched != self.negated
    }
}

fn parts_eq(parts: &[&str], s: &str) -> bool {
    let mut rest = s;
    for p in parts {
        match rest.strip_prefix(p) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

fn parts_eq_ignore_case(parts: &[&str], s: &str) -> bool {
    parts
        .iter()
        .flat_map(|p| p.chars())
        .flat_map(char::to_lowercase)
        .eq(s.chars().flat_map(char::to_lowercase))
}

/// Containment that treats an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
/// what a dual-stack listener reports for IPv4 clients) as the IPv4
/// address it carries, and the other way round, so `127.0.0.0/8` matches
/// `::ffff:127.0.0.1`.
fn net_contains(net: &IpNet, ip: IpAddr) -> bool {
    if net.contains(&ip) {
        return true;
    }
    match (net, ip) {
        (IpNet::V4(n), IpAddr::V6(v6)) => v6.to_ipv4_mapped().is_some_and(|v4| n.contains(&v4)),
        // Only a range inside ::ffff:0:0/96 speaks of IPv4 clients: `::/0`
        // means every IPv6 client, not every client.
        (IpNet::V6(n), IpAddr::V4(v4)) => {
            n.prefix_len() >= 96
                && n.network().to_ipv4_mapped().is_some()
                && n.contains(&v4.to_ipv6_mapped())
        }
        _ => false,
    }
}

/// Parses a `Condition` object at `path` (e.g. `Statement[0].Condition`).
pub(crate) fn parse_condition(v: &Value, path: &str) -> Result<Vec<Check>, PolicyError> {
    let entries = object_entries(v, path)?;
    if entries.is_empty() {
        return Err(err(path, "must not be empty; leave Condition out instead"));
    }
    let mut checks = Vec::new();
    for (op_name, block) in entries {
        let op_path = join(path, op_name);
        let (family, negated, if_exists) = parse_operator(op_name, &op_path)?;
        let keys = object_entries(block, &op_path)?;
        if keys.is_empty() {
            return Err(err(&op_path, "must name at least one condition key"));
        }
        let mut seen: Vec<Key> = Vec::new();
        for (key_name, values) in keys {
            let key_path = join(&op_path, key_name);
            let key = parse_key(key_name, &key_path)?;
            if seen.contains(&key) {
                return Err(err(
                    &key_path,
                    "names the same key twice under one operator",
                ));
            }
            seen.push(key);
            check_pairing(family, key, op_name, key_name, &key_path)?;
            let items = scalar_list(values, &key_path)?;
            let test = match family {
                Family::StringEquals => Test::StringEquals(strings(&items)?),
                Family::StringEqualsIgnoreCase => Test::StringEqualsIgnoreCase(strings(&items)?),
                Family::StringLike => Test::StringLike(
                    strings(&items)?
                        .iter()
                        .map(|s| Pattern::new(s, false))
                        .collect(),
                ),
                Family::Ip => Test::Ip(ip_nets(&items)?),
                Family::Bool => Test::Bool(bools(&items)?),
                Family::Null => Test::Null(bools(&items)?),
            };
            checks.push(Check {
                key,
                test,
                negated,
                if_exists,
            });
        }
    }
    Ok(checks)
}

fn parse_operator(name: &str, path: &str) -> Result<(Family, bool, bool), PolicyError> {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("forallvalues:") || lower.starts_with("foranyvalue:") {
        return Err(err(
            path,
            "set operators (ForAllValues:/ForAnyValue:) are not supported; every supported key is single-valued",
        ));
    }
    let (base, if_exists) = match lower.strip_suffix("ifexists") {
        Some(base) => (base, true),
        None => (lower.as_str(), false),
    };
    let Some(&(_, family, negated)) = OPERATORS
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(base))
    else {
        let names: Vec<&str> = OPERATORS.iter().map(|(n, _, _)| *n).collect();
        return Err(err(
            path,
            format!(
                "unsupported condition operator; use one of {} (each but Null also as …IfExists)",
                names.join(", ")
            ),
        ));
    };
    if family == Family::Null && if_exists {
        return Err(err(path, "Null has no IfExists form"));
    }
    Ok((family, negated, if_exists))
}

fn parse_key(name: &str, path: &str) -> Result<Key, PolicyError> {
    KEYS.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, k)| k)
        .ok_or_else(|| {
            let names: Vec<&str> = KEYS.iter().map(|(n, _)| *n).collect();
            err(
                path,
                format!(
                    "unsupported condition key; Archway knows {}",
                    names.join(", ")
                ),
            )
        })
}

fn check_pairing(
    family: Family,
    key: Key,
    op_name: &str,
    key_name: &str,
    path: &str,
) -> Result<(), PolicyError> {
    let ok = match family {
        Family::Null => true,
        Family::Ip => key == Key::SourceIp,
        Family::Bool => key == Key::SecureTransport,
        Family::StringEquals | Family::StringEqualsIgnoreCase | Family::StringLike => {
            matches!(
                key,
                Key::PrincipalArn | Key::PrincipalAccount | Key::Username
            )
        }
    };
    if ok {
        return Ok(());
    }
    let hint = match key {
        Key::SourceIp => "use IpAddress or NotIpAddress",
        Key::SecureTransport => "use Bool",
        _ => "use a String… operator",
    };
    Err(err(
        path,
        format!("{op_name} does not apply to {key_name}; {hint}"),
    ))
}

/// A condition value as written: strings, and booleans/numbers which AWS
/// reads as their text.
enum Scalar<'v> {
    Str(&'v str),
    Bool(bool),
    Number(String),
}

/// One value (or a non-empty list of values) of a condition key, each with
/// its field path.
fn scalar_list<'v>(v: &'v Value, path: &str) -> Result<Vec<(String, Scalar<'v>)>, PolicyError> {
    fn one<'v>(v: &'v Value, path: String) -> Result<(String, Scalar<'v>), PolicyError> {
        match v {
            Value::String(s) => Ok((path, Scalar::Str(s))),
            Value::Bool(b) => Ok((path, Scalar::Bool(*b))),
            Value::Number(n) => Ok((path, Scalar::Number(n.to_string()))),
            _ => Err(err(&path, "must be a string, a boolean or a number")),
        }
    }
    match v {
        Value::Array(items) => {
            if items.is_empty() {
                return Err(err(path, "must not be an empty list"));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, item)| one(item, format!("{path}[{i}]")))
                .collect()
        }
        _ => Ok(vec![one(v, path.to_string())?]),
    }
}

fn strings(items: &[(String, Scalar<'_>)]) -> Result<Box<[Box<str>]>, PolicyError> {
    items
        .iter()
        .map(|(path, s)| {
            let text: Box<str> = match s {
                Scalar::Str(s) => (*s).into(),
                Scalar::Bool(b) => b.to_string().into(),
                Scalar::Number(n) => n.as_str().into(),
            };
            check_no_policy_variable(&text, path)?;
            Ok(text)
        })
        .collect()
}

fn bools(items: &[(String, Scalar<'_>)]) -> Result<Box<[bool]>, PolicyError> {
    items
        .iter()
        .map(|(path, s)| match s {
            Scalar::Bool(b) => Ok(*b),
            Scalar::Str(s) if s.eq_ignore_ascii_case("true") => Ok(true),
            Scalar::Str(s) if s.eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(err(path, "must be \"true\" or \"false\"")),
        })
        .collect()
}

fn ip_nets(items: &[(String, Scalar<'_>)]) -> Result<Box<[IpNet]>, PolicyError> {
    items
        .iter()
        .map(|(path, s)| {
            let Scalar::Str(text) = s else {
                return Err(err(path, "must be an IP address or CIDR as a string"));
            };
            parse_net(text.trim()).ok_or_else(|| {
                err(
                    path,
                    format!(
                        "'{text}' is not an IPv4/IPv6 address or CIDR (e.g. 192.0.2.0/24, 2001:db8::/32)"
                    ),
                )
            })
        })
        .collect()
}

fn parse_net(text: &str) -> Option<IpNet> {
    if text.contains('/') {
        // Host bits set (10.1.2.3/8) are accepted and dropped, as AWS does.
        text.parse::<IpNet>().ok().map(|n| n.trunc())
    } else {
        text.parse::<IpAddr>().ok().map(IpNet::from)
    }
}
