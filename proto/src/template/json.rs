//! JSON in and out of template values, keeping object keys in document
//! order: `$input.json('$')` passes a body through as its sender wrote it,
//! and `keySet()` / `#foreach` see fields in that order. (serde_json's own
//! `Value` sorts keys unless a workspace-wide feature is turned on, which
//! would change every other crate's JSON.)

use super::value::{Map, Value};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt::{self, Write as _};
use std::rc::Rc;

/// Parses JSON text into a value. serde_json bounds nesting (128 levels).
#[cfg(test)]
pub fn parse(text: &[u8]) -> Result<Value, String> {
    parse_counting(text, &mut 0)
}

/// [`parse`], adding to `nodes` one per value and per object key read, so
/// the caller can pay for the work by what the text holds rather than by
/// its length (`{"a":0,"b":0,...}` is a node every few bytes).
pub fn parse_counting(text: &[u8], nodes: &mut u64) -> Result<Value, String> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let mut keys = Keys::default();
    let v = ValueSeed { keys: &mut keys }
        .deserialize(&mut de)
        .map_err(|e| e.to_string());
    *nodes += keys.nodes;
    let v = v?;
    de.end().map_err(|e| e.to_string())?;
    Ok(v)
}

/// Object keys seen so far in one document: arrays of objects repeat the
/// same few keys, and sharing them saves an allocation per field.
#[derive(Default)]
struct Keys {
    seen: Vec<Rc<str>>,
    /// Values and keys read so far.
    nodes: u64,
}

/// How many distinct keys are remembered; past that, keys are allocated.
const KEYS_REMEMBERED: usize = 32;

impl Keys {
    fn get(&mut self, key: &str) -> Rc<str> {
        if let Some(k) = self.seen.iter().find(|k| ***k == *key) {
            return k.clone();
        }
        let k: Rc<str> = Rc::from(key);
        if self.seen.len() < KEYS_REMEMBERED {
            self.seen.push(k.clone());
        }
        k
    }
}

struct ValueSeed<'k> {
    keys: &'k mut Keys,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.keys.nodes += 1;
        d.deserialize_any(ValueVisitor { keys: self.keys })
    }
}

struct ValueVisitor<'k> {
    keys: &'k mut Keys,
}

impl<'de> Visitor<'de> for ValueVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(i64::try_from(u).map_or(Value::Float(u as f64), Value::Int))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::string(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(64));
        while let Some(v) = seq.next_element_seed(ValueSeed {
            keys: &mut *self.keys,
        })? {
            items.push(v);
        }
        Ok(Value::list(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::with_capacity(access.size_hint().unwrap_or(4).min(64));
        while let Some(key) = access.next_key_seed(KeySeed {
            keys: &mut *self.keys,
        })? {
            let v = access.next_value_seed(ValueSeed {
                keys: &mut *self.keys,
            })?;
            // A repeated key keeps its first place and takes the last value,
            // as JSON parsers commonly do.
            map.insert(key, v);
        }
        Ok(Value::map(map))
    }
}

/// An object key, straight into a shared `Rc<str>` (serde's own
/// `Cow<str>` would allocate a `String` every time).
struct KeySeed<'k> {
    keys: &'k mut Keys,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Rc<str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Rc<str>, D::Error> {
        self.keys.nodes += 1;
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Rc<str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Rc<str>, E> {
        Ok(self.keys.get(s))
    }
}

/// Appends `v` as compact JSON. NaN and infinities, which JSON cannot
/// hold, are written as null.
#[cfg(test)]
pub fn write(v: &Value, out: &mut String) {
    let _ = write_within(v, out, usize::MAX);
}

/// [`write`] that stops once `out` is longer than `max` bytes (returning
/// false, with `out` part-written): selections share parts of the body, so
/// their text can be many times the body's size.
pub fn write_within(v: &Value, out: &mut String, max: usize) -> bool {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        // Debug is Rust's shortest round-trip form: `2.0`, `249.99`, `1e300`.
        Value::Float(f) if f.is_finite() => {
            let _ = write!(out, "{f:?}");
        }
        Value::Float(_) => out.push_str("null"),
        Value::String(s) => write_string(s, out),
        Value::List(items) => {
            out.push('[');
            for (i, v) in items.borrow().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !write_within(v, out, max) {
                    return false;
                }
            }
            out.push(']');
        }
        Value::Map(map) => {
            out.push('{');
            for (i, (k, v)) in map.borrow().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                if !write_within(v, out, max) {
                    return false;
                }
            }
            out.push('}');
        }
    }
    out.len() <= max
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    escape_string_into(s, out);
    out.push('"');
}

/// `s` as the inside of a JSON string: quotes and backslashes escaped,
/// control characters as their short escape or `\u00XX`, and DEL as
/// `\u007f` too, so that text written into a log line cannot move a
/// terminal's cursor. The one JSON string writer of templates and access
/// logs.
pub fn escape_string_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(text: &str) -> String {
        let mut out = String::new();
        write(&parse(text.as_bytes()).unwrap(), &mut out);
        out
    }

    #[test]
    fn keys_keep_document_order() {
        assert_eq!(
            round(r#"{"z": 1, "a": {"y": 2, "b": 3}}"#),
            r#"{"z":1,"a":{"y":2,"b":3}}"#
        );
    }

    #[test]
    fn scalars_round_trip() {
        assert_eq!(
            round(
                r#"[null, true, -3, 2.0, 249.99, 1e300, 18446744073709551615, "a\"\\\n\u0001é"]"#
            ),
            r#"[null,true,-3,2.0,249.99,1e300,1.8446744073709552e19,"a\"\\\n\u0001é"]"#
        );
    }

    #[test]
    fn repeated_keys_are_shared() {
        let v = parse(br#"[{"sku": 1}, {"sku": 2}]"#).unwrap();
        let Value::List(items) = &v else { panic!() };
        let items = items.borrow();
        let key = |i: usize| match &items[i] {
            Value::Map(m) => m.borrow().iter().next().unwrap().0.clone(),
            _ => panic!(),
        };
        assert!(Rc::ptr_eq(&key(0), &key(1)));
    }

    #[test]
    fn bad_and_trailing_text_is_refused() {
        assert!(parse(b"{").is_err());
        assert!(parse(b"{} x").is_err());
        assert!(parse("[".repeat(200).as_bytes()).is_err());
    }
}
