//! The values a template computes with, shaped like the Java objects AWS's
//! Velocity engine hands templates: strings, integers and doubles, booleans,
//! null, lists and insertion-ordered maps.
//!
//! Lists and maps are shared by reference (`Rc<RefCell<..>>`) as in Java, so
//! `#set($l = [])` then `$l.add(1)` changes `$l`. A list or map put into
//! another one (by `add`, `put`, `#set($m.k = ..)` or a literal `[$a]`) is
//! copied first ([`Value::detached`]), so a value never contains itself nor
//! shares a part with itself. The renderer walks a list or map with
//! `Budget::measure` (a loop, paid per value, depth-capped) before any of
//! the recursive walks here, and dropping a value does not recurse.
//!
//! Values live only for one render on one thread (they are not `Send`); the
//! data plane builds them from its request in [`super::ContextVars::get`].

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::rc::Rc;

/// A template value.
#[derive(Debug, Clone, Default)]
pub enum Value {
    /// Java's `null`: an undefined reference, a missing key.
    #[default]
    Null,
    Bool(bool),
    /// Java's `Integer`/`Long`.
    Int(i64),
    /// Java's `Double`.
    Float(f64),
    String(Rc<str>),
    List(Rc<RefCell<Vec<Value>>>),
    Map(Rc<RefCell<Map>>),
}

/// Dropping a value frees nested lists and maps from a loop, not by
/// recursion: a value nested deeper than the stack allows (a template can
/// build one a level at a time, see [`super::eval::MAX_VALUE_DEPTH`]) must
/// not abort the process when it goes.
impl Drop for Value {
    fn drop(&mut self) {
        let mut pending = Vec::new();
        take_children(self, &mut pending);
        while let Some(mut v) = pending.pop() {
            take_children(&mut v, &mut pending);
            // `v` drops here with no children left.
        }
    }
}

/// Moves the children of `v` into `pending` when `v` holds the last
/// reference to its list or map (else they are someone else's to drop).
fn take_children(v: &mut Value, pending: &mut Vec<Value>) {
    match v {
        Value::List(items) if Rc::strong_count(items) == 1 => {
            if let Ok(mut items) = items.try_borrow_mut() {
                pending.extend(std::mem::take(&mut *items));
            }
        }
        Value::Map(map) if Rc::strong_count(map) == 1 => {
            if let Ok(mut map) = map.try_borrow_mut() {
                pending.extend(std::mem::take(&mut map.entries).into_iter().map(|(_, v)| v));
            }
        }
        _ => {}
    }
}

/// An insertion-ordered map with string keys. Small maps (most template
/// maps) are a vector searched in order: one allocation, no hashing. Past
/// [`INDEXED_FROM`] entries a hash index by key is kept beside the vector,
/// so a request body's object with a million keys is built and read in
/// linear time, not quadratic.
#[derive(Debug, Clone, Default)]
pub struct Map {
    entries: Vec<(Rc<str>, Value)>,
    /// HTTP header maps (`$input.params().header`): names compare without
    /// regard to case, as HTTP says.
    case_insensitive: bool,
    /// Position of each key in `entries` (ASCII-lowercased for a
    /// case-insensitive map), once the map is large.
    index: Option<HashMap<Rc<str>, usize>>,
}

/// Entries from which a map keeps a hash index.
const INDEXED_FROM: usize = 16;

impl Map {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n),
            ..Self::default()
        }
    }

    /// A map whose keys compare case-insensitively (header names).
    pub fn case_insensitive() -> Self {
        Self {
            case_insensitive: true,
            ..Self::default()
        }
    }

    /// The key as the index holds it.
    fn index_key<'k>(&self, key: &'k str) -> Cow<'k, str> {
        if self.case_insensitive && key.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(key.to_ascii_lowercase())
        } else {
            Cow::Borrowed(key)
        }
    }

    fn position(&self, key: &str) -> Option<usize> {
        if let Some(index) = &self.index {
            return index.get(&*self.index_key(key)).copied();
        }
        if self.case_insensitive {
            self.entries
                .iter()
                .position(|(k, _)| k.eq_ignore_ascii_case(key))
        } else {
            self.entries.iter().position(|(k, _)| &**k == key)
        }
    }

    /// Builds the index when the map has grown large enough to need one.
    fn reindex(&mut self) {
        self.index = None;
        if self.entries.len() < INDEXED_FROM {
            return;
        }
        let mut index = HashMap::with_capacity(self.entries.len());
        for (i, (k, _)) in self.entries.iter().enumerate() {
            let key: Rc<str> = match self.index_key(k) {
                Cow::Borrowed(_) => k.clone(),
                Cow::Owned(lower) => Rc::from(lower),
            };
            index.entry(key).or_insert(i);
        }
        self.index = Some(index);
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.position(key).map(|i| &self.entries[i].1)
    }

    /// Inserts or replaces; returns the previous value (Java's `put`).
    pub fn insert(&mut self, key: Rc<str>, value: Value) -> Option<Value> {
        if let Some(i) = self.position(&key) {
            return Some(std::mem::replace(&mut self.entries[i].1, value));
        }
        let i = self.entries.len();
        let indexed: Option<Rc<str>> = self.index.as_ref().map(|_| match self.index_key(&key) {
            Cow::Borrowed(_) => key.clone(),
            Cow::Owned(lower) => Rc::from(lower),
        });
        self.entries.push((key, value));
        match (indexed, &mut self.index) {
            (Some(k), Some(index)) => {
                index.insert(k, i);
            }
            _ if self.entries.len() >= INDEXED_FROM => self.reindex(),
            _ => {}
        }
        None
    }

    /// Removes a key, keeping the others' order. Linear in the map's size
    /// (as the vector's removal is); callers pay for it.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key)?;
        let (_, v) = self.entries.remove(i);
        if self.index.is_some() {
            self.reindex();
        }
        Some(v)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Rc<str>, &Value)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl Value {
    pub fn string(s: &str) -> Value {
        Value::String(Rc::from(s))
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(RefCell::new(items)))
    }

    pub fn map(map: Map) -> Value {
        Value::Map(Rc::new(RefCell::new(map)))
    }

    /// A map value from `(key, value)` pairs, in that order.
    pub fn from_pairs<K: AsRef<str>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Value {
        let mut map = Map::new();
        for (k, v) in pairs {
            map.insert(Rc::from(k.as_ref()), v);
        }
        Value::map(map)
    }

    /// Converts parsed JSON, counting one unit of work per node in `work`.
    pub fn from_json(json: &serde_json::Value, work: &mut u64) -> Value {
        *work += 1;
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::string(s),
            serde_json::Value::Array(items) => {
                Value::list(items.iter().map(|v| Value::from_json(v, work)).collect())
            }
            serde_json::Value::Object(fields) => {
                let mut map = Map::new();
                map.entries.reserve(fields.len());
                for (k, v) in fields {
                    map.entries
                        .push((Rc::from(k.as_str()), Value::from_json(v, work)));
                }
                // serde_json's keys are distinct already.
                map.reindex();
                Value::map(map)
            }
        }
    }

    /// The value as JSON (for `$util.toJson`-like needs and tests). NaN and
    /// infinities become null, as JSON has no such numbers.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::List(items) => {
                serde_json::Value::Array(items.borrow().iter().map(Value::to_json).collect())
            }
            Value::Map(map) => serde_json::Value::Object(
                map.borrow()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_json()))
                    .collect(),
            ),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Velocity's truth: only `null` and `false` are false (an empty string
    /// is true, as in Velocity 1.7, which AWS runs).
    pub fn truthy(&self) -> bool {
        !matches!(self, Value::Null | Value::Bool(false))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A deep copy of lists and maps (scalars are immutable and shared),
    /// counting one unit of work per value copied. Used when a container is
    /// put into another, so no value ever contains itself.
    pub fn detached(&self, work: &mut u64) -> Value {
        *work += 1;
        match self {
            Value::List(items) => {
                Value::list(items.borrow().iter().map(|v| v.detached(work)).collect())
            }
            Value::Map(map) => {
                let map = map.borrow();
                let entries = map
                    .entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.detached(work)))
                    .collect();
                Value::map(Map {
                    entries,
                    case_insensitive: map.case_insensitive,
                    index: map.index.clone(),
                })
            }
            other => other.clone(),
        }
    }

    /// Java's `toString()` appended to `out`: lists as `[a, b]`, maps as
    /// `{k=v}`, doubles as Java prints them, null as `null`.
    pub fn write_java(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => write_java_double(*f, out),
            Value::String(s) => out.push_str(s),
            Value::List(items) => {
                out.push('[');
                for (i, v) in items.borrow().iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write_java(out);
                }
                out.push(']');
            }
            Value::Map(map) => {
                out.push('{');
                for (i, (k, v)) in map.borrow().iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push('=');
                    v.write_java(out);
                }
                out.push('}');
            }
        }
    }

    /// [`Value::write_java`] into a new string.
    pub fn to_java_string(&self) -> String {
        let mut s = String::new();
        self.write_java(&mut s);
        s
    }

    /// An upper bound of [`Value::write_java`]'s length would need a walk
    /// anyway; this is the exact length, walking once (bounded: values
    /// never contain themselves).
    pub fn java_len(&self) -> usize {
        match self {
            Value::String(s) => s.len(),
            Value::List(items) => {
                let items = items.borrow();
                2 + items.iter().map(Value::java_len).sum::<usize>()
                    + 2 * items.len().saturating_sub(1)
            }
            Value::Map(map) => {
                let map = map.borrow();
                2 + map
                    .iter()
                    .map(|(k, v)| k.len() + 1 + v.java_len())
                    .sum::<usize>()
                    + 2 * map.len().saturating_sub(1)
            }
            other => other.to_java_string().len(),
        }
    }

    /// The number of values in this one (1 for a scalar).
    pub fn weight(&self) -> u64 {
        match self {
            Value::List(items) => 1 + items.borrow().iter().map(Value::weight).sum::<u64>(),
            Value::Map(map) => 1 + map.borrow().iter().map(|(_, v)| v.weight()).sum::<u64>(),
            _ => 1,
        }
    }
}

/// Java's `Double.toString`: `1.0`, `0.5`, `1.0E7`, `1.0E-4`, `NaN`,
/// `Infinity`.
pub fn write_java_double(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
    } else if f == 0.0 {
        out.push_str(if f.is_sign_negative() { "-0.0" } else { "0.0" });
    } else if (1e-3..1e7).contains(&f.abs()) {
        let start = out.len();
        let _ = write!(out, "{f}");
        if !out[start..].contains('.') {
            out.push_str(".0");
        }
    } else {
        // Rust's shortest form is `1.5e7`; Java writes `1.5E7` and always
        // has a fraction digit (`1.0E7`).
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        out.push_str(mantissa);
        if !mantissa.contains('.') {
            out.push_str(".0");
        }
        out.push('E');
        out.push_str(exp);
    }
}

/// Structural equality as Velocity's `==`: numbers by value, same-kind
/// values by content, different kinds by their `toString()` (so `1 == "1"`),
/// null equal only to null.
pub fn velocity_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            as_f64(a) == as_f64(b)
        }
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| velocity_eq(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| velocity_eq(v, w)))
        }
        _ => a.to_java_string() == b.to_java_string(),
    }
}

pub fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn java(v: &Value) -> String {
        v.to_java_string()
    }

    #[test]
    fn doubles_print_as_java_does() {
        for (f, s) in [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (-2.25, "-2.25"),
            (1e7, "1.0E7"),
            (1.5e7, "1.5E7"),
            (1e-4, "1.0E-4"),
            (0.001, "0.001"),
            (0.0, "0.0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
        ] {
            assert_eq!(java(&Value::Float(f)), s, "{f}");
        }
    }

    #[test]
    fn collections_print_as_java_does() {
        let v = Value::from_pairs([
            ("a", Value::Int(1)),
            ("b", Value::list(vec![Value::string("x"), Value::Null])),
        ]);
        assert_eq!(java(&v), "{a=1, b=[x, null]}");
        assert_eq!(v.java_len(), java(&v).len());
    }

    #[test]
    fn json_converts_in_order_and_counts_nodes() {
        let j: serde_json::Value =
            serde_json::from_str(r#"{"z":1,"a":[true,2.5,"s",null],"m":{}}"#).unwrap();
        let mut work = 0;
        let v = Value::from_json(&j, &mut work);
        assert_eq!(work, 8);
        // serde_json's map sorts keys; bodies keep their order (see json.rs).
        assert_eq!(java(&v), "{a=[true, 2.5, s, null], m={}, z=1}");
        assert_eq!(v.to_json(), j);
    }

    #[test]
    fn equality_follows_velocity() {
        assert!(velocity_eq(&Value::Int(1), &Value::Float(1.0)));
        assert!(velocity_eq(&Value::Int(1), &Value::string("1")));
        assert!(!velocity_eq(&Value::Null, &Value::string("")));
        assert!(velocity_eq(&Value::Null, &Value::Null));
        assert!(velocity_eq(
            &Value::from_pairs([("a", Value::Int(1)), ("b", Value::Int(2))]),
            &Value::from_pairs([("b", Value::Int(2)), ("a", Value::Int(1))])
        ));
    }

    #[test]
    fn header_maps_ignore_case_other_maps_do_not() {
        let mut h = Map::case_insensitive();
        h.insert(Rc::from("content-type"), Value::string("a"));
        assert!(h.get("Content-Type").is_some());
        let mut m = Map::new();
        m.insert(Rc::from("content-type"), Value::string("a"));
        assert!(m.get("Content-Type").is_none());
    }

    #[test]
    fn large_maps_keep_order_and_case_rules_through_their_index() {
        let mut h = Map::case_insensitive();
        let mut m = Map::new();
        for i in 0..100 {
            h.insert(Rc::from(format!("X-Name-{i}")), Value::Int(i));
            m.insert(Rc::from(format!("k{i}")), Value::Int(i));
        }
        assert!(h.index.is_some() && m.index.is_some());
        assert!(matches!(h.get("x-name-42"), Some(Value::Int(42))));
        assert!(m.get("K42").is_none());
        // Replacing keeps the first place; removing keeps the others' order.
        assert!(h.insert(Rc::from("x-NAME-0"), Value::Int(-1)).is_some());
        assert!(matches!(h.iter().next(), Some((_, Value::Int(-1)))));
        assert!(m.remove("k50").is_some());
        assert!(m.get("k50").is_none());
        assert!(matches!(m.get("k51"), Some(Value::Int(51))));
        let keys: Vec<&str> = m.iter().map(|(k, _)| &**k).skip(49).take(2).collect();
        assert_eq!(keys, ["k49", "k51"]);
        assert_eq!(m.len(), 99);
    }

    #[test]
    fn detached_copies_do_not_alias() {
        let l = Value::list(vec![Value::Int(1)]);
        let mut work = 0;
        let copy = l.detached(&mut work);
        if let Value::List(items) = &l {
            items.borrow_mut().push(Value::Int(2));
        }
        assert_eq!(java(&copy), "[1]");
        assert_eq!(java(&l), "[1, 2]");
    }
}
