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
use crate::stage_cache::key::KeyParam;
use crate::tables::validation::{BodyModels, CompiledModel, RequiredParameter, media_type};
use http::header::CONTENT_TYPE;
use serde_json::Value;
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
    for parameter in required {
        if !present(cx, &parameter.source) {
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

/// At least one value, and none blank.
fn present(cx: &Context<'_>, source: &KeyParam) -> bool {
    match source {
        KeyParam::Path(name) => cx
            .params()
            .iter()
            .any(|(n, v)| *n == &**name && !blank(v.as_bytes())),
        KeyParam::Header(name) => {
            let mut values = cx.head.headers.get_all(name).iter().peekable();
            values.peek().is_some() && values.all(|v| !blank(v.as_bytes()))
        }
        KeyParam::Query(name) => {
            let mut seen = false;
            for (n, v) in form_urlencoded::parse(cx.head.uri.query().unwrap_or("").as_bytes()) {
                if n == **name {
                    if blank(v.as_bytes()) {
                        return false;
                    }
                    seen = true;
                }
            }
            seen
        }
    }
}

async fn check_body(cx: &mut Context<'_>, models: &BodyModels) -> Result<(), GatewayResponse> {
    let mut types = cx.head.headers.get_all(CONTENT_TYPE).iter();
    let model = match (types.next(), types.next()) {
        (None, _) => models.for_media_type("application/json"),
        (Some(one), None) => {
            models.for_media_type(&media_type(&String::from_utf8_lossy(one.as_bytes())))
        }
        (Some(_), Some(_)) => {
            return Err(GatewayResponse::BadRequestBody(
                "[more than one Content-Type header]".into(),
            ));
        }
    };
    let Some(model) = model else {
        return Ok(());
    };
    let bytes = super::iam::buffer_body(&mut cx.body, cx.max_payload).await?;
    validate_body(model, &bytes).map_err(|detail| GatewayResponse::BadRequestBody(detail.into()))
}

/// Checks `body` against `model`: Err holds AWS's bracketed list of what
/// failed.
pub fn validate_body(model: &CompiledModel, body: &[u8]) -> Result<(), String> {
    let empty_object = Value::Object(Default::default());
    let parsed;
    let instance = if blank(body) {
        &empty_object
    } else {
        parsed = serde_json::from_slice::<Value>(body)
            .map_err(|e| bracketed([format!("Invalid JSON: {e}")]))?;
        &parsed
    };
    // The fast check first: a valid body costs no error collection.
    if model.validator.is_valid(instance) {
        return Ok(());
    }
    Err(bracketed(
        model
            .validator
            .iter_errors(instance)
            .take(MAX_LISTED_ERRORS)
            .map(|e| {
                let path = e.instance_path().to_string();
                if path.is_empty() {
                    e.to_string()
                } else {
                    format!("{path}: {e}")
                }
            }),
    ))
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
        let models = compile_models(
            "api1",
            &[Model {
                name: "Code".into(),
                schema: json!({
                    "type": "object",
                    "properties": {
                        "code": {"type": "string", "pattern": "^(?=[A-Z])[A-Z0-9]{3}$"},
                        "twice": {"type": "string", "pattern": "^(a*)*\\1!$"}
                    }
                })
                .to_string(),
                ..Default::default()
            }],
        )
        .unwrap();
        let code = models.get("Code").unwrap();
        assert_eq!(validate_body(code, br#"{"code":"A12"}"#), Ok(()));
        assert!(validate_body(code, br#"{"code":"1AB"}"#).is_err());
        // Exponential for a plain backtracker: bounded, and refused.
        let runaway = format!(r#"{{"twice":"{}"}}"#, "a".repeat(40));
        assert!(validate_body(code, runaway.as_bytes()).is_err());
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
