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
