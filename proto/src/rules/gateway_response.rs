//! Gateway responses customised per API (AWS's GatewayResponse): which
//! types exist and what a customisation may set.

use super::media::status_code;
use super::template::templates;
use super::{Checked, Violation, sub};
use crate::mapping_expr::{Source, Use, parse_source_for, parse_target_for};
use crate::v1::GatewayResponse;

/// AWS's response types, by name. Their default statuses are the node's
/// (data-plane `pipeline::gateway_response`), which answers with them.
pub const RESPONSE_TYPES: &[&str] = &[
    "ACCESS_DENIED",
    "API_CONFIGURATION_ERROR",
    "AUTHORIZER_CONFIGURATION_ERROR",
    "AUTHORIZER_FAILURE",
    "BAD_REQUEST_BODY",
    "BAD_REQUEST_PARAMETERS",
    "DEFAULT_4XX",
    "DEFAULT_5XX",
    "EXPIRED_TOKEN",
    "INTEGRATION_FAILURE",
    "INTEGRATION_TIMEOUT",
    "INVALID_API_KEY",
    "INVALID_SIGNATURE",
    "MISSING_AUTHENTICATION_TOKEN",
    "QUOTA_EXCEEDED",
    "REQUEST_TOO_LARGE",
    "RESOURCE_NOT_FOUND",
    "THROTTLED",
    "UNAUTHORIZED",
    "UNSUPPORTED_MEDIA_TYPE",
    "WAF_FILTERED",
];

/// A response type's name, as AWS spells it.
pub fn response_type(field: &str, value: &str) -> Checked {
    if RESPONSE_TYPES.contains(&value) {
        Ok(())
    } else {
        Err(Violation::new(
            field,
            format!(
                "'{value}' is not a gateway response type; use one of {}",
                RESPONSE_TYPES.join(", ")
            ),
        ))
    }
}

/// A whole customisation; `field` names it (`gateway_response`, or a
/// document path).
pub fn gateway_response(field: &str, r: &GatewayResponse) -> Checked {
    response_type(&sub(field, "response_type"), &r.response_type)?;
    if !r.status_code.is_empty() {
        status_code(&sub(field, "status_code"), &r.status_code)?;
    }
    for (key, value) in &r.response_parameters {
        let at = format!("{field}.response_parameters[\"{key}\"]");
        parse_target_for(Use::GatewayResponse, key)
            .map_err(|e| Violation::new(&at, e.to_string()))?;
        let source = parse_source_for(Use::GatewayResponse, value)
            .map_err(|e| Violation::new(&at, e.to_string()))?;
        if let Source::Constant(v) = source
            && !super::http::is_header_value(&v)
        {
            return Err(Violation::new(
                at,
                format!("'{v}' is not a valid header value (visible ASCII only)"),
            ));
        }
    }
    templates(&sub(field, "response_templates"), &r.response_templates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customisations_are_checked_with_their_field() {
        let good = GatewayResponse {
            api_id: "a".into(),
            response_type: "BAD_REQUEST_BODY".into(),
            status_code: "422".into(),
            response_parameters: [
                (
                    "gatewayresponse.header.Access-Control-Allow-Origin".to_string(),
                    "'*'".to_string(),
                ),
                (
                    "gatewayresponse.header.X-Req".to_string(),
                    "context.requestId".to_string(),
                ),
            ]
            .into(),
            response_templates: [(
                "application/json".to_string(),
                "{\"message\": $context.error.messageString}".to_string(),
            )]
            .into(),
        };
        gateway_response("g", &good).unwrap();
        for (bad, field) in [
            (
                GatewayResponse {
                    response_type: "NOPE".into(),
                    ..good.clone()
                },
                "g.response_type",
            ),
            (
                GatewayResponse {
                    status_code: "99".into(),
                    ..good.clone()
                },
                "g.status_code",
            ),
            (
                GatewayResponse {
                    response_parameters: [(
                        "method.response.header.X".to_string(),
                        "'x'".to_string(),
                    )]
                    .into(),
                    ..good.clone()
                },
                "g.response_parameters[\"method.response.header.X\"]",
            ),
            (
                GatewayResponse {
                    response_parameters: [(
                        "gatewayresponse.header.X".to_string(),
                        "method.request.body".to_string(),
                    )]
                    .into(),
                    ..good.clone()
                },
                "g.response_parameters[\"gatewayresponse.header.X\"]",
            ),
            (
                GatewayResponse {
                    response_templates: [("json".to_string(), String::new())].into(),
                    ..good.clone()
                },
                "g.response_templates[\"json\"]",
            ),
        ] {
            assert_eq!(gateway_response("g", &bad).unwrap_err().field, field);
        }
    }

    #[test]
    fn a_gateway_response_cannot_set_framing_headers() {
        let r = GatewayResponse {
            response_type: "DEFAULT_4XX".into(),
            response_parameters: [(
                "gatewayresponse.header.Content-Length".to_string(),
                "'5'".to_string(),
            )]
            .into(),
            ..Default::default()
        };
        let err = gateway_response("g", &r).unwrap_err();
        assert_eq!(
            err.field,
            "g.response_parameters[\"gatewayresponse.header.Content-Length\"]"
        );
        assert!(err.reason.contains("is reserved"), "{}", err.reason);
    }
}
