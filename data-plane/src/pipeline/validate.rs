//! Phase: request validation, as AWS's request validators do it, for
//! methods with a validator (compiled in `compile/validation.rs`; routes
//! without one pay a single `Option` check).
//!
//! Parameters first: every required `method.request.*` parameter must be
//! present and not blank, or the request is refused with 400
//! BAD_REQUEST_PARAMETERS, "Missing required request parameters: [a, b]".
//! Then the body, against the method's model for the request's content
//! type (`$default` for others; no `Content-Type` is `application/json`, as
//! in AWS): a body that is not JSON, or does not match, is refused with 400
//! BAD_REQUEST_BODY, "Invalid request body", and
//! `$context.error.validationErrorString` lists what failed in AWS's
//! bracketed form. A content type with no model (and no `$default`) is not
//! validated, as in AWS: passthrough behaviour decides what happens to it.
//!
//! Ways around, and what closes them:
//! - a required header or query parameter given twice, once blank: every
//!   occurrence must be non-blank, since a backend may read either one;
//! - a blank value (`?q=`, `?q`, `X-Id:   `): blank is missing, as AWS
//!   says "non-blank";
//! - two `Content-Type` headers (one choosing no model, the other JSON
//!   the backend may read): refused when the body is validated;
//! - an empty body: validated as the empty object `{}`, so a model with
//!   required properties refuses it.
//!
//! Patterns in models cannot run away (see `compile/validation.rs`).
//!
//! The body is read whole (within the payload limit) only for methods
//! that validate bodies and only when a model applies; it then travels
//! on to the integration from memory.

use super::context::Context;
use super::gateway_response::GatewayResponse;
use crate::media_type::media_type;
use crate::stage_cache::key::KeyParam;
use crate::tables::validation::{BodyModels, CompiledModel, RequiredParameter};
use http::header::CONTENT_TYPE;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt::Write;

/// Validation errors listed in `validationErrorString`, at most.
pub const MAX_LISTED_ERRORS: usize = 10;
/// Characters of one listed error, at most: messages quote the offending
/// value, which the client chose.
pub const MAX_ERROR_CHARS: usize = 200;

/// The phase.
pub async fn check(
    cx: &mut Context<'_>,
    route: &crate::tables::Route,
) -> Result<(), GatewayResponse> {
    let Some(validation) = route.validation.as_deref() else {
        return Ok(());
    };
    if let Some(message) = missing_parameters(cx, &validation.parameters) {
        return Err(GatewayResponse::BadRequestParameters(message.into()));
    }
    if let Some(models) = &validation.body {
        check_body(cx, models).await?;
    }
    Ok(())
}

/// AWS's message naming every required parameter that is missing or
/// blank; None: all are there.
fn missing_parameters(cx: &Context<'_>, required: &[RequiredParameter]) -> Option<String> {
    let mut missing: Vec<&str> = Vec::new();
    // Each request part is read once however many parameters name it.
    let mut query: Option<Vec<(Cow<'_, str>, Cow<'_, str>)>> = None;
    for parameter in required {
        let here = match &parameter.source {
            KeyParam::Path(name) => path_present(cx, name),
            KeyParam::Header(name) => {
                let mut values = cx.head.headers.get_all(name).iter().peekable();
                values.peek().is_some() && values.all(|v| !blank(v.as_bytes()))
            }
            KeyParam::Query(name) => {
                let pairs = query.get_or_insert_with(|| {
                    form_urlencoded::parse(cx.head.uri.query().unwrap_or("").as_bytes()).collect()
                });
                query_present(pairs, name)
            }
        };
        if !here {
            missing.push(&parameter.name);
        }
    }
    if missing.is_empty() {
        return None;
    }
    Some(format!(
        "Missing required request parameters: [{}]",
        missing.join(", ")
    ))
}

fn blank(value: &[u8]) -> bool {
    value.iter().all(u8::is_ascii_whitespace)
}

/// The path parameter has a value that is not blank once decoded, as
/// templates, events and AWS read it (`%20` is blank). Path parameters are
/// read from their spans: nothing is collected.
fn path_present(cx: &Context<'_>, name: &str) -> bool {
    let path = cx.stage_path();
    cx.param_spans().any(|(n, span)| {
        n == name
            && !blank(
                percent_encoding::percent_decode_str(path.get(span).unwrap_or_default())
                    .decode_utf8_lossy()
                    .as_bytes(),
            )
    })
}

/// The query names `name` at least once, and never with a blank value.
fn query_present(pairs: &[(Cow<'_, str>, Cow<'_, str>)], name: &str) -> bool {
    let mut seen = false;
    for (n, v) in pairs {
        if n == name {
            if blank(v.as_bytes()) {
                return false;
            }
            seen = true;
        }
    }
    seen
}

async fn check_body(cx: &mut Context<'_>, models: &BodyModels) -> Result<(), GatewayResponse> {
    let mut types = cx.head.headers.get_all(CONTENT_TYPE).iter();
    let model = match (types.next(), types.next()) {
        (None, _) => models.for_media_type("application/json"),
        // A list in one header is as ambiguous as two headers.
        (Some(one), None) if one.as_bytes().contains(&b',') => {
            return Err(GatewayResponse::BadRequestBody(
                "[more than one media type in Content-Type]".into(),
            ));
        }
        (Some(one), None) => models.for_media_type(media_type(one.to_str().unwrap_or_default())),
        (Some(_), Some(_)) => {
            return Err(GatewayResponse::BadRequestBody(
                "[more than one Content-Type header]".into(),
            ));
        }
    };
    let Some(model) = model else {
        return Ok(());
    };
    let bytes = super::buffer_body(&mut cx.body, cx.max_payload).await?;
    let checked = if bytes.len() > BLOCKING_BODY_BYTES {
        // Large bodies are parsed and checked off the async workers.
        let model = model.clone();
        tokio::task::spawn_blocking(move || validate_body(&model, &bytes))
            .await
            .map_err(|_| GatewayResponse::ApiConfigurationError)?
    } else {
        validate_body(model, &bytes)
    };
    checked.map_err(|detail| GatewayResponse::BadRequestBody(detail.into()))
}

/// Bodies over this many bytes are validated on the blocking pool, in one
/// pass that stops at the first error.
pub const BLOCKING_BODY_BYTES: usize = 64 * 1024;

/// A JSON value whose objects never repeat a key: serde_json keeps the last
/// of two equal keys, while other parsers keep the first (or refuse), so a
/// body with one could validate as one thing and reach the backend as
/// another.
struct Unique(Value);

impl<'de> serde::Deserialize<'de> for Unique {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Unique(value) = map.next_value()?;
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate key \"{key}\"")));
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Checks `body` against `model`: Err holds AWS's bracketed list of what
/// failed.
pub fn validate_body(model: &CompiledModel, body: &[u8]) -> Result<(), String> {
    let empty_object = Value::Object(Default::default());
    let parsed;
    let instance = if blank(body) {
        &empty_object
    } else {
        parsed = serde_json::from_slice::<Unique>(body)
            .map_err(|e| bracketed([format!("Invalid JSON: {e}")]))?
            .0;
        &parsed
    };
    if body.len() > BLOCKING_BODY_BYTES {
        // One pass, to the first error: a large body is not walked twice.
        return model
            .validator
            .validate(instance)
            .map_err(|e| bracketed([error_text(&e)]));
    }
    // The fast check first: a valid body costs no error collection.
    if model.validator.is_valid(instance) {
        return Ok(());
    }
    Err(bracketed(
        model
            .validator
            .iter_errors(instance)
            .take(MAX_LISTED_ERRORS)
            .map(|e| error_text(&e)),
    ))
}

/// One failure: where (when not the root) and what.
fn error_text(e: &jsonschema::ValidationError<'_>) -> String {
    let path = e.instance_path().to_string();
    if path.is_empty() {
        e.to_string()
    } else {
        format!("{path}: {e}")
    }
}

/// `[first, second]`, each message cut to [`MAX_ERROR_CHARS`].
fn bracketed(messages: impl IntoIterator<Item = String>) -> String {
    let mut out = String::from("[");
    for (i, message) in messages.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match message.char_indices().nth(MAX_ERROR_CHARS) {
            Some((cut, _)) => {
                let _ = write!(out, "{}…", &message[..cut]);
            }
            None => out.push_str(&message),
        }
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::validation::compile_models;
    use archway_proto::v1::Model;
    use serde_json::json;

    fn pet() -> std::sync::Arc<CompiledModel> {
        let models = compile_models(
            "api1",
            &[Model {
                name: "Pet".into(),
                schema: json!({
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string"},
                        "age": {"type": "integer", "minimum": 0}
                    }
                })
                .to_string(),
                ..Default::default()
            }],
        )
        .unwrap();
        models.get("Pet").unwrap().clone()
    }

    #[test]
    fn a_matching_body_passes_and_others_list_every_failure() {
        let pet = pet();
        assert_eq!(validate_body(&pet, br#"{"name":"Rex","age":3}"#), Ok(()));
        let both = validate_body(&pet, br#"{"age":-1}"#).unwrap_err();
        assert!(both.starts_with('[') && both.ends_with(']'), "{both}");
        assert!(both.contains(r#""name" is a required property"#), "{both}");
        assert!(
            both.contains("/age: -1 is less than the minimum of 0"),
            "{both}"
        );
    }

    #[test]
    fn an_empty_body_is_the_empty_object_and_bad_json_is_invalid() {
        let pet = pet();
        for empty in [&b""[..], b"  \r\n"] {
            let refused = validate_body(&pet, empty).unwrap_err();
            assert!(refused.contains("required property"), "{refused}");
        }
        let bad = validate_body(&pet, b"{\"name\":").unwrap_err();
        assert!(bad.starts_with("[Invalid JSON: "), "{bad}");
    }

    #[test]
    fn patterns_work_as_in_aws_and_cannot_run_away() {
        // The first alternative backtracks through 2^n ways before the
        // second matches: at n = 15, beyond this node's bound per match and
        // within fancy-regex's default one.
        let runaway = r"^(?:(a|a)*\1c|a*b)$";
        let schema = json!({
            "type": "object",
            "properties": {
                "code": {"type": "string", "pattern": "^(?=[A-Z])[A-Z0-9]{3}$"},
                "slow": {"type": "string", "pattern": runaway}
            }
        });
        let models = compile_models(
            "api1",
            &[Model {
                name: "Code".into(),
                schema: schema.to_string(),
                ..Default::default()
            }],
        )
        .unwrap();
        let code = models.get("Code").unwrap();
        assert_eq!(validate_body(code, br#"{"code":"A12"}"#), Ok(()));
        assert!(validate_body(code, br#"{"code":"1AB"}"#).is_err());
        let slow = format!(r#"{{"slow":"{}b"}}"#, "a".repeat(15));
        let unbounded = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .build(&schema)
            .unwrap();
        let value: Value = serde_json::from_str(&slow).unwrap();
        assert!(unbounded.is_valid(&value), "matches, given enough steps");
        assert!(
            validate_body(code, slow.as_bytes()).is_err(),
            "over the bound"
        );
        assert_eq!(validate_body(code, br#"{"slow":"aab"}"#), Ok(()));
    }

    #[test]
    fn a_duplicated_key_is_an_invalid_body() {
        let pet = pet();
        let twice = validate_body(&pet, br#"{"name": 1, "name": "Rex"}"#).unwrap_err();
        assert!(twice.contains(r#"duplicate key "name""#), "{twice}");
        let nested = br#"{"name":"Rex","o":{"a":1,"a":2}}"#;
        assert!(validate_body(&pet, nested).is_err());
        assert_eq!(
            validate_body(&pet, br#"{"name":"Rex","o":{"name":1}}"#),
            Ok(())
        );
    }

    #[test]
    fn a_large_body_is_checked_in_one_pass_to_its_first_error() {
        let pet = pet();
        let big = format!(
            r#"{{"name":"{}","age":-1}}"#,
            "x".repeat(BLOCKING_BODY_BYTES)
        );
        let refused = validate_body(&pet, big.as_bytes()).unwrap_err();
        assert!(
            refused.contains("/age: -1 is less than the minimum of 0"),
            "{refused}"
        );
        let fine = format!(r#"{{"name":"{}"}}"#, "x".repeat(BLOCKING_BODY_BYTES));
        assert_eq!(validate_body(&pet, fine.as_bytes()), Ok(()));
    }

    #[test]
    fn listed_errors_are_bounded() {
        let long = format!(r#"{{"name": 1, "age": "{}"}}"#, "x".repeat(10_000));
        let refused = validate_body(&pet(), long.as_bytes()).unwrap_err();
        assert!(
            refused.len() < 2 * (MAX_ERROR_CHARS + 20),
            "{}",
            refused.len()
        );
        assert!(refused.contains('…'));
    }
}
