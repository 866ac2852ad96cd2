//! The Java methods templates call on strings, numbers, lists and maps
//! (`$s.toLowerCase()`, `$list.add($x)`, `$map.keySet()`), and bean-style
//! properties (`$s.empty` is `$s.isEmpty()`, `$entry.key` is
//! `$entry.getKey()`).
//!
//! As in Velocity, an unknown method, or arguments a method cannot take
//! (wrong count or kind, an index out of range), give null, which renders
//! as the reference's source text. String indices count characters (Java
//! counts UTF-16 units; the two agree outside the astral planes).
//! Regular expressions use Rust's `regex` syntax, which agrees with Java's
//! for the patterns templates use (no backreferences or lookaround).

use super::ast::{Method, Prepared};
use super::error::RenderError;
use super::eval::Budget;
use super::value::{Map, Value, velocity_eq};
use regex::Regex;
use std::borrow::Cow;
use std::rc::Rc;

/// Largest compiled program for a regular expression (a hostile pattern is
/// refused instead of eating memory).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Compiles a Java-style pattern; `whole` anchors it at both ends, as
/// Java's `String.matches` requires the whole string to match.
pub fn compile_regex(pattern: &str, whole: bool) -> Result<Regex, String> {
    compile_regex_within(pattern, whole, REGEX_SIZE_LIMIT)
}

/// [`compile_regex`] with a program size limit of `size_limit` bytes.
pub fn compile_regex_within(
    pattern: &str,
    whole: bool,
    size_limit: usize,
) -> Result<Regex, String> {
    let source: Cow<str> = if whole {
        Cow::Owned(format!(r"\A(?:{pattern})\z"))
    } else {
        Cow::Borrowed(pattern)
    };
    regex::RegexBuilder::new(&source)
        .size_limit(size_limit)
        .build()
        .map_err(|e| {
            e.to_string()
                .lines()
                .last()
                .unwrap_or("invalid")
                .trim()
                .to_owned()
        })
}

/// Java's replacement syntax (`$1`, `\$`) in the `regex` crate's (`${1}`,
/// `$$`).
fn java_replacement(r: &str) -> String {
    let mut out = String::with_capacity(r.len());
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push('$');
                } else {
                    out.push_str("${");
                    out.push_str(&digits);
                    out.push('}');
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn int_arg(args: &[Value], i: usize) -> Option<i64> {
    match args.get(i) {
        Some(Value::Int(n)) => Some(*n),
        Some(Value::Float(f)) if f.fract() == 0.0 => Some(*f as i64),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A string argument: strings as they are, other values as Java prints them.
fn str_arg(args: &[Value], i: usize) -> Option<Cow<'_, str>> {
    match args.get(i)? {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s)),
        other => Some(Cow::Owned(other.to_java_string())),
    }
}

fn char_index(s: &str, n: usize) -> Option<usize> {
    if n == 0 {
        return Some(0);
    }
    s.char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(s.len()))
        .nth(n)
}

fn capitalized(name: &str) -> String {
    let mut c = name.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// `$v.name` where `v` is not a map: Java bean properties (`getName()`,
/// then `isName()`).
pub fn property(budget: &mut Budget, v: &Value, name: &str) -> Result<Value, Box<RenderError>> {
    let getter = format!("get{}", capitalized(name));
    let found = call_named(budget, v, &getter, &[], &Prepared::None)?;
    if !found.is_null() {
        return Ok(found);
    }
    call_named(
        budget,
        v,
        &format!("is{}", capitalized(name)),
        &[],
        &Prepared::None,
    )
}

/// Calls `m` on `recv` with evaluated `args`.
pub fn call(
    budget: &mut Budget,
    recv: &Value,
    m: &Method,
    args: &[Value],
) -> Result<Value, Box<RenderError>> {
    let prepared = &m.prepared;
    let mut result = call_named(budget, recv, &m.name, args, prepared);
    if let Err(e) = &mut result
        && let RenderError::InvalidRegex { line, column, .. } = &mut **e
    {
        (*line, *column) = (m.pos.line, m.pos.column);
    }
    result
}

/// The regular expression for `pattern`: the one compiled with the
/// template when the pattern is a literal, else one compiled during this
/// render (paid for by the pattern's length, with a smaller program limit,
/// and kept in the render's cache so a loop compiles it once).
fn regex_for<'p>(
    budget: &mut Budget,
    prepared: &'p Prepared,
    pattern: &str,
    whole: bool,
) -> Result<RegexRef<'p>, Box<RenderError>> {
    if let Prepared::Regex(r) = prepared {
        return Ok(RegexRef::Literal(r));
    }
    budget.dynamic_regex(pattern, whole).map(RegexRef::Dynamic)
}

/// A template literal's compiled pattern, or one from the render's cache.
enum RegexRef<'p> {
    Literal(&'p Regex),
    Dynamic(Rc<Regex>),
}

impl std::ops::Deref for RegexRef<'_> {
    type Target = Regex;

    fn deref(&self) -> &Regex {
        match self {
            RegexRef::Literal(r) => r,
            RegexRef::Dynamic(r) => r,
        }
    }
}

/// `re` replaced in `s` by `to` (in the `regex` crate's syntax), every
/// match or the first only, building the result within the render's size
/// limit and paying a step per match: `replaceAll('', $big)` stops at the
/// limit instead of first allocating the whole result.
fn replace_bounded(
    budget: &mut Budget,
    re: &Regex,
    s: &str,
    to: &str,
    first_only: bool,
) -> Result<String, Box<RenderError>> {
    let mut out = String::new();
    let mut last = 0;
    for caps in re.captures_iter(s) {
        budget.charge(1)?;
        let Some(m) = caps.get(0) else { continue };
        budget.fits(out.len() + (m.start() - last))?;
        out.push_str(&s[last..m.start()]);
        let before = out.len();
        caps.expand(to, &mut out);
        budget.fits(out.len())?;
        budget.charge_bytes(out.len() - before)?;
        last = m.end();
        if first_only {
            break;
        }
    }
    budget.fits(out.len() + (s.len() - last))?;
    out.push_str(&s[last..]);
    Ok(out)
}

fn call_named(
    budget: &mut Budget,
    recv: &Value,
    name: &str,
    args: &[Value],
    prepared: &Prepared,
) -> Result<Value, Box<RenderError>> {
    budget.charge(1)?;
    // Methods every object has.
    match (name, args.len()) {
        ("toString", 0) => {
            budget.measure(recv)?;
            budget.fits(recv.java_len())?;
            return Ok(Value::String(Rc::from(recv.to_java_string())));
        }
        ("equals", 1) => {
            budget.measure(recv)?;
            budget.measure(&args[0])?;
            return Ok(Value::Bool(velocity_eq(recv, &args[0])));
        }
        // These compare every element with the argument.
        ("contains" | "indexOf" | "containsValue", 1) => {
            budget.measure(recv)?;
            budget.measure(&args[0])?;
        }
        _ => {}
    }
    match recv {
        Value::String(s) => string_method(budget, s, name, args, prepared),
        Value::List(items) => list_method(budget, items, name, args),
        Value::Map(map) => map_method(budget, map, name, args),
        Value::Int(_) | Value::Float(_) => Ok(match (name, recv) {
            ("intValue" | "longValue", Value::Float(f)) => Value::Int(*f as i64),
            ("intValue" | "longValue", v) => v.clone(),
            ("doubleValue" | "floatValue", Value::Int(i)) => Value::Float(*i as f64),
            ("doubleValue" | "floatValue", v) => v.clone(),
            _ => Value::Null,
        }),
        Value::Bool(b) => Ok(match name {
            "booleanValue" => Value::Bool(*b),
            _ => Value::Null,
        }),
        Value::Null => Ok(Value::Null),
    }
}

fn new_string(budget: &mut Budget, s: String) -> Result<Value, Box<RenderError>> {
    budget.fits(s.len())?;
    budget.charge_bytes(s.len())?;
    Ok(Value::String(Rc::from(s)))
}

fn string_method(
    budget: &mut Budget,
    s: &Rc<str>,
    name: &str,
    args: &[Value],
    prepared: &Prepared,
) -> Result<Value, Box<RenderError>> {
    budget.charge_bytes(s.len())?;
    // A list or map argument is read as Java prints it: walk it safely
    // first, and only if its text may exist.
    for a in args {
        if let Value::List(_) | Value::Map(_) = a {
            budget.measure(a)?;
            budget.fits(a.java_len())?;
        }
    }
    let arg = |i| str_arg(args, i);
    let v = match (name, args.len()) {
        ("length" | "size", 0) => Value::Int(s.chars().count() as i64),
        ("isEmpty", 0) => Value::Bool(s.is_empty()),
        ("isBlank", 0) => Value::Bool(s.trim().is_empty()),
        ("toLowerCase", 0) => return new_string(budget, s.to_lowercase()),
        ("toUpperCase", 0) => return new_string(budget, s.to_uppercase()),
        ("trim", 0) => Value::string(s.trim_matches(|c: char| c <= ' ')),
        ("contains", 1) => arg(0).map_or(Value::Null, |a| Value::Bool(s.contains(&*a))),
        ("startsWith", 1) => arg(0).map_or(Value::Null, |a| Value::Bool(s.starts_with(&*a))),
        ("endsWith", 1) => arg(0).map_or(Value::Null, |a| Value::Bool(s.ends_with(&*a))),
        ("indexOf" | "lastIndexOf", 1) => match arg(0) {
            None => Value::Null,
            Some(a) => {
                let found = if name == "indexOf" {
                    s.find(&*a)
                } else {
                    s.rfind(&*a)
                };
                Value::Int(found.map_or(-1, |b| s[..b].chars().count() as i64))
            }
        },
        ("substring", 1 | 2) => {
            let count = s.chars().count() as i64;
            let begin = int_arg(args, 0);
            let end = if args.len() == 2 {
                int_arg(args, 1)
            } else {
                Some(count)
            };
            match (begin, end) {
                (Some(b), Some(e)) if 0 <= b && b <= e && e <= count => {
                    let from = char_index(s, b as usize).unwrap_or(s.len());
                    let to = char_index(s, e as usize).unwrap_or(s.len());
                    Value::string(&s[from..to])
                }
                _ => Value::Null,
            }
        }
        ("charAt", 1) => match int_arg(args, 0)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| s.chars().nth(i))
        {
            Some(c) => Value::String(Rc::from(c.to_string())),
            None => Value::Null,
        },
        ("concat", 1) => match arg(0) {
            Some(a) => {
                // Sized before it is built.
                budget.fits(s.len() + a.len())?;
                return new_string(budget, format!("{s}{a}"));
            }
            None => Value::Null,
        },
        ("replace", 2) => match (arg(0), arg(1)) {
            (Some(from), Some(to)) if !from.is_empty() => {
                let grown = s.matches(&*from).count() * to.len().saturating_sub(from.len());
                budget.fits(s.len() + grown)?;
                return new_string(budget, s.replace(&*from, &to));
            }
            (Some(_), Some(_)) => Value::String(s.clone()),
            _ => Value::Null,
        },
        ("replaceAll" | "replaceFirst", 2) => match (arg(0), arg(1)) {
            (Some(pattern), Some(to)) => {
                let re = regex_for(budget, prepared, &pattern, false)?;
                let to = java_replacement(&to);
                let first_only = name == "replaceFirst";
                let replaced = replace_bounded(budget, &re, s, &to, first_only)?;
                return new_string(budget, replaced);
            }
            _ => Value::Null,
        },
        ("matches", 1) => match arg(0) {
            Some(pattern) => Value::Bool(regex_for(budget, prepared, &pattern, true)?.is_match(s)),
            None => Value::Null,
        },
        ("split", 1 | 2) => match arg(0) {
            Some(pattern) => {
                let re = regex_for(budget, prepared, &pattern, false)?;
                let limit = int_arg(args, 1).unwrap_or(0);
                // Each piece is paid for as it is found, so an empty
                // pattern over a long string stops at the budget instead
                // of first listing every character.
                let pieces: Box<dyn Iterator<Item = &str>> = if limit > 0 {
                    Box::new(re.splitn(s, limit as usize))
                } else {
                    Box::new(re.split(s))
                };
                let mut parts: Vec<&str> = Vec::new();
                for piece in pieces {
                    budget.charge(1)?;
                    parts.push(piece);
                }
                // Java drops a leading empty piece made by a zero-width match
                // and, without a positive limit, every trailing empty piece.
                if limit == 0 {
                    while parts.len() > 1 && parts.last() == Some(&"") {
                        parts.pop();
                    }
                    if parts == [""] && !s.is_empty() {
                        parts.clear();
                    }
                }
                Value::list(parts.into_iter().map(Value::string).collect())
            }
            None => Value::Null,
        },
        ("equalsIgnoreCase", 1) => match arg(0) {
            Some(a) => Value::Bool(s.to_lowercase() == a.to_lowercase()),
            None => Value::Bool(false),
        },
        ("compareTo", 1) => match arg(0) {
            Some(a) => Value::Int(match (**s).cmp(&*a) {
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
                std::cmp::Ordering::Greater => 1,
            }),
            None => Value::Null,
        },
        _ => Value::Null,
    };
    Ok(v)
}

fn list_method(
    budget: &mut Budget,
    items: &Rc<std::cell::RefCell<Vec<Value>>>,
    name: &str,
    args: &[Value],
) -> Result<Value, Box<RenderError>> {
    let len = items.borrow().len();
    let index = |i: usize| {
        int_arg(args, i)
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n < len)
    };
    let v = match (name, args.len()) {
        ("size", 0) => Value::Int(len as i64),
        ("isEmpty", 0) => Value::Bool(len == 0),
        ("get", 1) => index(0).map_or(Value::Null, |i| items.borrow()[i].clone()),
        ("contains", 1) => {
            budget.charge(len as u64)?;
            Value::Bool(items.borrow().iter().any(|v| velocity_eq(v, &args[0])))
        }
        ("indexOf", 1) => {
            budget.charge(len as u64)?;
            let found = items.borrow().iter().position(|v| velocity_eq(v, &args[0]));
            Value::Int(found.map_or(-1, |i| i as i64))
        }
        ("add", 1) => {
            let v = budget.detach(&args[0])?;
            items.borrow_mut().push(v);
            Value::Bool(true)
        }
        ("add", 2) => match int_arg(args, 0).and_then(|n| usize::try_from(n).ok()) {
            Some(i) if i <= len => {
                let v = budget.detach(&args[1])?;
                items.borrow_mut().insert(i, v);
                Value::Bool(true)
            }
            _ => Value::Null,
        },
        ("addAll", 1) => match &args[0] {
            Value::List(other) => {
                let copies = other
                    .borrow()
                    .iter()
                    .map(|v| budget.detach(v))
                    .collect::<Result<Vec<_>, _>>()?;
                items.borrow_mut().extend(copies);
                Value::Bool(true)
            }
            _ => Value::Null,
        },
        ("set", 2) => match index(0) {
            Some(i) => {
                let v = budget.detach(&args[1])?;
                std::mem::replace(&mut items.borrow_mut()[i], v)
            }
            None => Value::Null,
        },
        ("remove", 1) => match index(0) {
            Some(i) => {
                // Shifts the rest of the list.
                budget.charge((len - i) as u64 / 16)?;
                items.borrow_mut().remove(i)
            }
            None => Value::Null,
        },
        ("clear", 0) => {
            items.borrow_mut().clear();
            Value::Null
        }
        _ => Value::Null,
    };
    Ok(v)
}

fn map_method(
    budget: &mut Budget,
    map: &Rc<std::cell::RefCell<Map>>,
    name: &str,
    args: &[Value],
) -> Result<Value, Box<RenderError>> {
    let key = |i: usize| str_arg(args, i);
    let len = map.borrow().len();
    let v = match (name, args.len()) {
        ("get", 1) => key(0)
            .and_then(|k| map.borrow().get(&k).cloned())
            .unwrap_or(Value::Null),
        ("containsKey", 1) => Value::Bool(key(0).is_some_and(|k| map.borrow().get(&k).is_some())),
        ("containsValue", 1) => {
            budget.charge(len as u64)?;
            Value::Bool(map.borrow().iter().any(|(_, v)| velocity_eq(v, &args[0])))
        }
        ("put", 2) => match key(0) {
            Some(k) => {
                let v = budget.detach(&args[1])?;
                map.borrow_mut()
                    .insert(Rc::from(&*k), v)
                    .unwrap_or(Value::Null)
            }
            None => Value::Null,
        },
        ("putAll", 1) => match &args[0] {
            Value::Map(other) => {
                let copies = other
                    .borrow()
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), budget.detach(v)?)))
                    .collect::<Result<Vec<_>, Box<RenderError>>>()?;
                let mut map = map.borrow_mut();
                for (k, v) in copies {
                    map.insert(k, v);
                }
                Value::Null
            }
            _ => Value::Null,
        },
        ("remove", 1) => {
            // Removing keeps the order: linear in the map's size.
            budget.charge(len as u64 / 16)?;
            key(0)
                .and_then(|k| map.borrow_mut().remove(&k))
                .unwrap_or(Value::Null)
        }
        ("size", 0) => Value::Int(len as i64),
        ("isEmpty", 0) => Value::Bool(len == 0),
        ("keySet", 0) => {
            budget.charge(len as u64)?;
            Value::list(
                map.borrow()
                    .iter()
                    .map(|(k, _)| Value::String(k.clone()))
                    .collect(),
            )
        }
        ("values", 0) => {
            budget.charge(len as u64)?;
            Value::list(map.borrow().iter().map(|(_, v)| v.clone()).collect())
        }
        ("entrySet", 0) => {
            budget.charge(2 * len as u64)?;
            Value::list(
                map.borrow()
                    .iter()
                    .map(|(k, v)| {
                        Value::from_pairs([("key", Value::String(k.clone())), ("value", v.clone())])
                    })
                    .collect(),
            )
        }
        // Bean getters on a map (`$entry.getKey()`) read the key.
        (getter, 0) if getter.len() > 3 && getter.starts_with("get") => {
            let mut key = getter[3..].to_owned();
            if let Some(first) = key.get_mut(..1) {
                first.make_ascii_lowercase();
            }
            map.borrow().get(&key).cloned().unwrap_or(Value::Null)
        }
        _ => Value::Null,
    };
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_replacements_become_regex_crate_replacements() {
        assert_eq!(java_replacement("$1-$2"), "${1}-${2}");
        assert_eq!(java_replacement(r"\$1"), "$$1");
        assert_eq!(java_replacement("a$"), "a$");
    }

    #[test]
    fn matches_is_anchored_split_is_not() {
        let whole = compile_regex("[a-z]+", true).unwrap();
        assert!(whole.is_match("abc"));
        assert!(!whole.is_match("abc1"));
        assert!(compile_regex("[a-z]+", false).unwrap().is_match("abc1"));
    }

    #[test]
    fn hostile_patterns_are_refused() {
        assert!(compile_regex("(", false).is_err());
        assert!(compile_regex("(a{1000}){1000}", false).is_err());
    }

    #[test]
    fn char_indices_count_characters() {
        assert_eq!(char_index("héllo", 2), Some(3));
        assert_eq!(char_index("ab", 2), Some(2));
        assert_eq!(char_index("ab", 3), None);
    }
}
