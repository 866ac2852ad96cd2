//! A method's declarations, as AWS's Method: the request parameters it
//! takes, the models its bodies match, and the responses it answers with.
//! Whether named models and validators exist is the control plane's check
//! (it needs the store); the shapes are here.

use super::media::{media_type, status_code};
use super::{Checked, Violation};
use crate::mapping_expr::{Location, Target, parse_target};
use crate::v1::Method;
use std::collections::HashSet;

/// `request_models`' key for content types without their own model.
pub const DEFAULT_MODEL_KEY: &str = "$default";

/// A model's name: 1 to 128 letters and digits, as AWS.
pub fn model_name(field: &str, name: &str) -> Checked {
    let ok =
        !name.is_empty() && name.len() <= 128 && name.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Violation::new(
            field,
            format!("'{name}' is not a model name (1 to 128 letters and digits)"),
        ))
    }
}

/// An operation's name (OpenAPI's operationId, AWS's operationName): empty,
/// or an identifier generated SDKs can turn into a method name in every
/// language — a letter or '_' first, then letters, digits, '_', '-' or
/// '.', at most 128.
pub fn operation_name(field: &str, name: &str) -> Checked {
    let mut bytes = name.bytes();
    let ok = match bytes.next() {
        None => true,
        Some(first) => {
            name.len() <= 128
                && (first.is_ascii_alphabetic() || first == b'_')
                && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Violation::new(
            field,
            format!(
                "'{name}' is not an operation name (a letter or '_', then letters, digits, '_', '-' or '.'; at most 128)"
            ),
        ))
    }
}

/// Every declaration of a method on `resource_path`; `field` names the
/// method (`method`, or a document path).
pub fn declarations(field: &str, m: &Method, resource_path: &str) -> Checked {
    declarations_in(field, m, resource_path, false)
}

/// [`declarations`] of a method of a WEBSOCKET API (`websocket`) or
/// another: a route's request models are keyed by model selection values,
/// which `rules::websocket::route` checks, not by content types.
pub fn declarations_in(field: &str, m: &Method, resource_path: &str, websocket: bool) -> Checked {
    operation_name(&format!("{field}.operation_name"), &m.operation_name)?;
    for key in m.request_parameters.keys() {
        let at = format!("{field}.request_parameters[\"{key}\"]");
        let (location, name) =
            request_parameter(key).map_err(|reason| Violation::new(&at, reason))?;
        if location == Location::Path {
            super::mapping::resource_param(&at, name, resource_path)?;
        }
    }
    if !websocket {
        super::media::keys_once_ignoring_case(
            |key| format!("{field}.request_models[\"{key}\"]"),
            m.request_models.keys(),
        )?;
    }
    for (content_type, model) in &m.request_models {
        let at = format!("{field}.request_models[\"{content_type}\"]");
        if !websocket && content_type != DEFAULT_MODEL_KEY {
            media_type(&at, content_type)?;
        }
        model_name(&at, model)?;
    }
    let mut codes = HashSet::new();
    for (i, r) in m.method_responses.iter().enumerate() {
        let at = format!("{field}.method_responses[{i}]");
        status_code(&format!("{at}.status_code"), &r.status_code)?;
        if !codes.insert(r.status_code.as_str()) {
            return Err(Violation::new(
                format!("{at}.status_code"),
                format!("{} is declared twice", r.status_code),
            ));
        }
        for key in r.response_parameters.keys() {
            let pf = format!("{at}.response_parameters[\"{key}\"]");
            match parse_target(key) {
                Ok(Target::MethodResponseHeader(_)) => {}
                Ok(_) => {
                    return Err(Violation::new(pf, "expected method.response.header.NAME"));
                }
                Err(e) => {
                    return Err(Violation::new(
                        pf,
                        format!("{e}; expected method.response.header.NAME"),
                    ));
                }
            }
        }
        super::media::keys_once_ignoring_case(
            |key| format!("{at}.response_models[\"{key}\"]"),
            r.response_models.keys(),
        )?;
        for (content_type, model) in &r.response_models {
            let mf = format!("{at}.response_models[\"{content_type}\"]");
            media_type(&mf, content_type)?;
            model_name(&mf, model)?;
        }
    }
    Ok(())
}

/// A declared request parameter: `method.request.querystring|header|path.NAME`,
/// or AWS's multi-value forms `method.request.multivaluequerystring|multivalueheader.NAME`
/// (what a mapping reading all values of a parameter declares). Both forms
/// name the same parameter: a required one is present when it has at least
/// one value and none is blank, the node's rule for either form.
pub fn request_parameter(key: &str) -> Result<(Location, &str), String> {
    let expected = "expected method.request.querystring.NAME, method.request.header.NAME, \
         method.request.path.NAME, method.request.multivaluequerystring.NAME or \
         method.request.multivalueheader.NAME";
    let source = crate::mapping_expr::parse_source(key).map_err(|e| format!("{e}; {expected}"))?;
    let (location, name) = source
        .method_request_parameter()
        .ok_or_else(|| format!("'{key}' is not a method request parameter; {expected}"))?;
    // The name as written: the key ends with it.
    Ok((location, &key[key.len() - name.len()..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::MethodResponse;

    #[test]
    fn operation_names_are_identifiers_sdks_can_use() {
        for good in [
            "",
            "listPets",
            "get_pet",
            "_x",
            "pets.list-all",
            &"a".repeat(128),
        ] {
            operation_name("f", good).unwrap();
        }
        for bad in ["1pets", "-x", "get pet", "get/pet", "pét", &"a".repeat(129)] {
            assert_eq!(operation_name("f", bad).unwrap_err().field, "f", "{bad}");
        }
        let m = Method {
            operation_name: "list pets".into(),
            ..Default::default()
        };
        let err = declarations("method", &m, "/").unwrap_err();
        assert_eq!(err.field, "method.operation_name");
    }

    #[test]
    fn declarations_are_checked_with_their_field() {
        let good = Method {
            request_parameters: [
                ("method.request.path.petId".to_string(), true),
                ("method.request.querystring.q".to_string(), false),
                ("method.request.header.X-Trace".to_string(), false),
            ]
            .into(),
            request_models: [
                ("application/json".to_string(), "Pet".to_string()),
                ("$default".to_string(), "Empty".to_string()),
            ]
            .into(),
            method_responses: vec![MethodResponse {
                status_code: "200".into(),
                response_parameters: [("method.response.header.X-Id".to_string(), true)].into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        declarations("method", &good, "/pets/{petId}").unwrap();
        let mut bad = good.clone();
        bad.request_parameters
            .insert("method.request.path.nope".into(), true);
        let err = declarations("method", &bad, "/pets/{petId}").unwrap_err();
        assert_eq!(
            err.field,
            "method.request_parameters[\"method.request.path.nope\"]"
        );
        let mut bad = good.clone();
        bad.request_parameters
            .insert("method.request.body".into(), true);
        assert!(
            declarations("method", &bad, "/pets/{petId}")
                .unwrap_err()
                .reason
                .contains("expected method.request.querystring")
        );
        let mut bad = good.clone();
        bad.request_models.insert("json".into(), "Pet".into());
        assert_eq!(
            declarations("method", &bad, "/pets/{petId}")
                .unwrap_err()
                .field,
            "method.request_models[\"json\"]"
        );
        let mut bad = good.clone();
        bad.request_models
            .insert("text/plain".into(), "no-dashes".into());
        assert!(
            declarations("method", &bad, "/pets/{petId}")
                .unwrap_err()
                .reason
                .contains("not a model name")
        );
        let mut bad = good.clone();
        bad.method_responses.push(bad.method_responses[0].clone());
        let err = declarations("method", &bad, "/pets/{petId}").unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.reason.as_str()),
            (
                "method.method_responses[1].status_code",
                "200 is declared twice"
            )
        );
        let mut bad = good.clone();
        bad.method_responses[0]
            .response_parameters
            .insert("integration.request.header.x".into(), true);
        assert_eq!(
            declarations("method", &bad, "/pets/{petId}")
                .unwrap_err()
                .field,
            "method.method_responses[0].response_parameters[\"integration.request.header.x\"]"
        );
    }

    #[test]
    fn model_keys_that_differ_only_in_case_are_duplicates() {
        let m = Method {
            request_models: [
                ("Application/JSON".to_string(), "A".to_string()),
                ("application/json".to_string(), "B".to_string()),
            ]
            .into(),
            ..Default::default()
        };
        let err = declarations("method", &m, "/").unwrap_err();
        assert_eq!(err.field, "method.request_models[\"application/json\"]");
        assert!(err.reason.contains("'Application/JSON'"), "{}", err.reason);
        let m = Method {
            method_responses: vec![MethodResponse {
                status_code: "200".into(),
                response_models: [
                    ("text/HTML".to_string(), "A".to_string()),
                    ("text/html".to_string(), "A".to_string()),
                ]
                .into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            declarations("method", &m, "/").unwrap_err().field,
            "method.method_responses[0].response_models[\"text/html\"]"
        );
    }

    #[test]
    fn multi_value_parameters_are_declared_as_aws_declares_them() {
        assert_eq!(
            request_parameter("method.request.multivaluequerystring.tag"),
            Ok((Location::QueryString, "tag"))
        );
        assert_eq!(
            request_parameter("method.request.multivalueheader.X-Tag"),
            Ok((Location::Header, "X-Tag"))
        );
        // There is no multi-value path parameter, in AWS or here.
        assert!(
            request_parameter("method.request.multivaluepath.id")
                .unwrap_err()
                .contains("names 'multivaluepath'")
        );
        assert!(request_parameter("method.request.multivalueheader.").is_err());
        let m = Method {
            request_parameters: [
                ("method.request.multivaluequerystring.tag".to_string(), true),
                ("method.request.multivalueheader.X-Tag".to_string(), false),
            ]
            .into(),
            ..Default::default()
        };
        declarations("method", &m, "/pets").unwrap();
    }
}
