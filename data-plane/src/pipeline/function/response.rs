//! A function's answer as the method's response, per payload format.
//!
//! 1.0: a JSON object with `statusCode`, `headers`, `multiValueHeaders`
//! (which win over `headers` for a name both give, as AWS merges them),
//! `body` and `isBase64Encoded`. 2.0: the same with `cookies` (each a
//! `Set-Cookie`); and a function that returns any other JSON (a value, or
//! an object without `statusCode`) gets AWS's inferred answer: 200,
//! `application/json`, the JSON as the body. Anything else is malformed,
//! which the caller answers with 502.

use crate::aws::integration::PayloadFormat;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, header};
use serde_json::{Map, Value};

/// Parses `payload` (the Invoke API's answer body); the error says what is
/// malformed, for the log.
pub fn parse(format: PayloadFormat, payload: &Bytes) -> Result<Response<Bytes>, String> {
    match fast::structured(format, payload) {
        Some(response) => Ok(response),
        None => parse_tree(format, payload),
    }
}

/// [`parse`] through a tree of values: every answer, with the reason
/// when it is malformed.
fn parse_tree(format: PayloadFormat, payload: &Bytes) -> Result<Response<Bytes>, String> {
    let value: Value =
        serde_json::from_slice(payload).map_err(|e| format!("the answer is not JSON: {e}"))?;
    match (format, value) {
        (_, Value::Object(fields)) if fields.contains_key("statusCode") => {
            structured(format, fields)
        }
        (PayloadFormat::V2, _) => {
            let mut response = Response::new(payload.clone());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Ok(response)
        }
        (PayloadFormat::V1, Value::Object(_)) => Err("no statusCode in the answer".into()),
        (PayloadFormat::V1, other) => Err(format!(
            "the answer is a JSON {}, not an object",
            kind(&other)
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A header value as AWS takes it: strings as they are, numbers and
/// booleans as their text.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn structured(
    format: PayloadFormat,
    mut fields: Map<String, Value>,
) -> Result<Response<Bytes>, String> {
    let status = match fields.get("statusCode") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .and_then(|s| u16::try_from(s).ok())
    .and_then(|s| StatusCode::from_u16(s).ok())
    .filter(|s| (100..=599).contains(&s.as_u16()))
    .ok_or("statusCode is not a status code")?;
    let mut headers = HeaderMap::new();
    let multi = match fields.remove("multiValueHeaders") {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err("multiValueHeaders is not an object".into()),
    };
    match fields.remove("headers") {
        Some(Value::Object(single)) => {
            for (name, value) in single {
                // Header names are case-insensitive: `Content-Type` here
                // and `content-type` in multiValueHeaders are one header.
                if value.is_null() || multi.keys().any(|m| m.eq_ignore_ascii_case(&name)) {
                    continue;
                }
                let value = text(&value).ok_or_else(|| format!("header '{name}' is not text"))?;
                append(&mut headers, &name, &value)?;
            }
        }
        None | Some(Value::Null) => {}
        Some(_) => return Err("headers is not an object".into()),
    }
    for (name, values) in multi {
        let Value::Array(values) = values else {
            return Err(format!("multiValueHeaders '{name}' is not a list"));
        };
        for value in values {
            let value = text(&value).ok_or_else(|| format!("header '{name}' is not text"))?;
            append(&mut headers, &name, &value)?;
        }
    }
    if format == PayloadFormat::V2 {
        match fields.remove("cookies") {
            Some(Value::Array(cookies)) => {
                for cookie in cookies {
                    let Value::String(cookie) = cookie else {
                        return Err("a cookie is not a string".into());
                    };
                    append(&mut headers, "set-cookie", &cookie)?;
                }
            }
            None | Some(Value::Null) => {}
            Some(_) => return Err("cookies is not a list".into()),
        }
    }
    let base64 = match fields.get("isBase64Encoded") {
        Some(Value::Bool(b)) => *b,
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => s == "true",
        Some(_) => return Err("isBase64Encoded is not a boolean".into()),
    };
    let body = match fields.remove("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) if base64 => {
            use base64::Engine;
            Bytes::from(
                base64::engine::general_purpose::STANDARD
                    .decode(s.as_bytes())
                    .map_err(|e| format!("body is not base64: {e}"))?,
            )
        }
        Some(Value::String(s)) => Bytes::from(s),
        // 2.0 takes any JSON body and sends it as its text.
        Some(other) if format == PayloadFormat::V2 => Bytes::from(other.to_string()),
        Some(_) => return Err("body is not a string".into()),
    };
    if !headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

/// The common answer (an object with `statusCode`, string headers and a
/// string body) read without a tree of values: each field borrowed from
/// the payload as its own JSON text, the body sliced out of it when it
/// has no escapes. Anything unusual (a field of another type, escapes in
/// a header name, a duplicate field, a non-string 2.0 body, a bad header)
/// gives None, and the tree reading above answers it, with its message:
/// one reading decides what every answer means, this one only makes the
/// common case cheap (a tree cost each answer an allocation per key and
/// value, and copies of every header).
mod fast {
    use super::{PayloadFormat, append};
    use bytes::Bytes;
    use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
    use serde::Deserialize;
    use serde_json::value::RawValue;
    use std::borrow::Cow;

    #[derive(Deserialize)]
    struct Fields<'a> {
        #[serde(rename = "statusCode", borrow, default)]
        status_code: Option<&'a RawValue>,
        #[serde(borrow, default)]
        headers: Option<&'a RawValue>,
        #[serde(rename = "multiValueHeaders", borrow, default)]
        multi_value_headers: Option<&'a RawValue>,
        #[serde(borrow, default)]
        cookies: Option<&'a RawValue>,
        #[serde(borrow, default)]
        body: Option<&'a RawValue>,
        #[serde(rename = "isBase64Encoded", borrow, default)]
        is_base64_encoded: Option<&'a RawValue>,
    }

    /// A JSON string's text, borrowed when it has no escapes.
    fn string(raw: &RawValue) -> Option<Cow<'_, str>> {
        if !raw.get().starts_with('"') {
            return None;
        }
        // Only a string without escapes can be borrowed; trying to borrow
        // one with escapes fails with an error whose message alone cost
        // more than the rest of the answer.
        if raw.get().contains('\\') {
            serde_json::from_str::<String>(raw.get())
                .ok()
                .map(Cow::Owned)
        } else {
            serde_json::from_str::<&str>(raw.get())
                .ok()
                .map(Cow::Borrowed)
        }
    }

    /// A header value as the tree reading takes it: strings, numbers and
    /// booleans (None: null, which headers skip); Err: anything else.
    fn text(raw: &RawValue) -> Result<Option<Cow<'_, str>>, ()> {
        match raw.get() {
            "null" => Ok(None),
            "true" | "false" => Ok(Some(Cow::Borrowed(raw.get()))),
            t if t.starts_with('"') => string(raw).map(Some).ok_or(()),
            t => serde_json::from_str::<serde_json::Number>(t)
                .map(|n| Some(Cow::Owned(n.to_string())))
                .map_err(|_| ()),
        }
    }

    /// An object's members; None when it is not one (or a key has
    /// escapes).
    fn members(raw: Option<&RawValue>) -> Option<Vec<(&str, &RawValue)>> {
        match raw {
            None => Some(Vec::new()),
            Some(raw) => crate::pipeline::function::object_members(raw.get()),
        }
    }

    pub(super) fn structured(format: PayloadFormat, payload: &Bytes) -> Option<Response<Bytes>> {
        let fields: Fields<'_> = serde_json::from_slice(payload).ok()?;
        let status = fields.status_code?.get();
        let status: u64 = match status.strip_prefix('"') {
            Some(_) => string(fields.status_code?)?.parse().ok()?,
            None => status.parse().ok()?,
        };
        let status = StatusCode::from_u16(u16::try_from(status).ok()?)
            .ok()
            .filter(|s| (100..=599).contains(&s.as_u16()))?;
        let multi = members(fields.multi_value_headers)?;
        let mut headers = HeaderMap::new();
        for (name, value) in members(fields.headers)? {
            if multi.iter().any(|(m, _)| m.eq_ignore_ascii_case(name)) {
                continue;
            }
            if let Some(value) = text(value).ok()? {
                append(&mut headers, name, &value).ok()?;
            }
        }
        for (name, values) in multi {
            for value in serde_json::from_str::<Vec<&RawValue>>(values.get()).ok()? {
                append(&mut headers, name, &text(value).ok()??).ok()?;
            }
        }
        if format == PayloadFormat::V2
            && let Some(cookies) = fields.cookies
        {
            for cookie in serde_json::from_str::<Vec<&RawValue>>(cookies.get()).ok()? {
                append(&mut headers, "set-cookie", &string(cookie)?).ok()?;
            }
        }
        let base64 = match fields.is_base64_encoded.map(RawValue::get) {
            None | Some("false") => false,
            Some("true") => true,
            Some(t) if t.starts_with('"') => string(fields.is_base64_encoded?)? == "true",
            Some(_) => return None,
        };
        let body = match fields.body {
            None => Bytes::new(),
            Some(raw) => match string(raw)? {
                text if base64 => {
                    use base64::Engine;
                    Bytes::from(
                        base64::engine::general_purpose::STANDARD
                            .decode(text.as_bytes())
                            .ok()?,
                    )
                }
                // No escapes: the body is a slice of the payload, not a copy.
                Cow::Borrowed(text) => payload.slice_ref(text.as_bytes()),
                Cow::Owned(text) => Bytes::from(text),
            },
        };
        if !headers.contains_key(header::CONTENT_TYPE) {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        Some(response)
    }
}

fn append(headers: &mut HeaderMap, name: &str, value: &str) -> Result<(), String> {
    let name =
        HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("bad header name '{name}'"))?;
    if crate::hop_by_hop::is_reserved(&name) {
        // The gateway frames the response itself.
        return Ok(());
    }
    let value =
        HeaderValue::from_str(value).map_err(|_| format!("bad value for header '{name}'"))?;
    headers.append(name, value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the fast reading answers, the tree reading answers the
    /// same: status, headers in order, body.
    #[test]
    fn the_fast_reading_agrees_with_the_tree() {
        let answers = [
            r#"{"statusCode":201,"headers":{"content-type":"application/json","x-n":7,"x-b":true,"x-null":null},"body":"{\"id\":1}","isBase64Encoded":false}"#,
            r#"{"statusCode":"404","body":"plain"}"#,
            r#"{"statusCode":200,"headers":{"X-One":"1","Content-Type":"text/plain"},"multiValueHeaders":{"content-type":["text/html"],"x-m":["a","b",2]}}"#,
            r#"{"statusCode":200,"body":"aGk=","isBase64Encoded":true}"#,
            r#"{"statusCode":200,"body":"aGk=","isBase64Encoded":"true"}"#,
            r#"{"statusCode":200,"body":null,"headers":null,"multiValueHeaders":null,"isBase64Encoded":null}"#,
            r#"{"statusCode":200,"cookies":["a=1","b=2; Path=/"],"body":"tab\there"}"#,
            r#"{"statusCode":200,"headers":{"x-f":1.50,"x-e":"\u00e9"}}"#,
            r#"{"statusCode":200,"headers":{"content-length":"5","connection":"close"},"body":"x"}"#,
            r#"{"statusCode":200,"body":{"a":1}}"#,
            r#"{"statusCode":200,"statusCode":201}"#,
            r#"{"statusCode":99}"#,
            r#"{"statusCode":200.0}"#,
            r#"{"statusCode":200,"headers":{"bad name":"v"}}"#,
            r#"{"statusCode":200,"headers":{"x":[1]}}"#,
            r#"{"statusCode":200,"multiValueHeaders":{"x":"v"}}"#,
            r#"{"statusCode":200,"isBase64Encoded":1}"#,
            r#"{"statusCode":200,"body":"!!","isBase64Encoded":true}"#,
            r#"{"statusCode":200,"headers":{"x\u0041":"v"}}"#,
        ];
        for format in [PayloadFormat::V1, PayloadFormat::V2] {
            for answer in answers {
                let payload = Bytes::from_static(answer.as_bytes());
                let tree = parse_tree(format, &payload);
                let Some(fast) = fast::structured(format, &payload) else {
                    continue;
                };
                let tree = tree.unwrap_or_else(|e| panic!("{answer}: the tree refused it: {e}"));
                assert_eq!(fast.status(), tree.status(), "{answer}");
                assert_eq!(fast.headers(), tree.headers(), "{answer}");
                assert_eq!(fast.body(), tree.body(), "{answer}");
            }
        }
        // The common answer is read fast.
        let common = Bytes::from_static(answers[0].as_bytes());
        assert!(fast::structured(PayloadFormat::V1, &common).is_some());
    }
}
