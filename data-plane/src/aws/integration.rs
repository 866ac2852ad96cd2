//! `AWS_PROXY` integrations as a node serves them, compiled once per
//! configuration version: a function ([`FunctionIntegration`]) or, on HTTP
//! APIs, a service action named by its subtype ([`ServiceIntegration`]).

use super::arn::{self, AwsTarget, FunctionTarget};
use archway_proto::MAX_INTEGRATION_TIMEOUT_MS;
use archway_proto::aws_subtypes::{self, Parameter, Subtype};
use archway_proto::mapping_expr::{HttpValue, parse_http_value};
use archway_proto::v1::Integration;
use std::sync::Arc;
use std::time::Duration;

/// What every AWS call of an integration shares.
#[derive(Debug, Clone)]
pub struct CallSettings {
    /// An outbound credential's name or role ARN; empty: the node's
    /// environment.
    pub credentials: Box<str>,
    /// The integration's `endpoint_url`, if set.
    pub endpoint_url: Option<Box<str>>,
    pub timeout: Duration,
}

impl CallSettings {
    pub fn of(i: &Integration) -> Self {
        let timeout_ms = match i.timeout_ms {
            0 => MAX_INTEGRATION_TIMEOUT_MS,
            t => t,
        };
        Self {
            credentials: i.credentials.as_str().into(),
            endpoint_url: (!i.endpoint_url.is_empty()).then(|| i.endpoint_url.as_str().into()),
            timeout: Duration::from_millis(timeout_ms.into()),
        }
    }
}

/// AWS's proxy event formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadFormat {
    V1,
    V2,
}

/// A function behind an `AWS_PROXY` integration.
#[derive(Debug)]
pub struct FunctionIntegration {
    pub target: FunctionTarget,
    pub format: PayloadFormat,
    pub call: CallSettings,
    /// `routeKey` of 2.0 events: `GET /pets/{id}`, or `$default` for the
    /// `$default` route.
    pub route_key: Box<str>,
    /// The deployment's binary media types: bodies of these content types
    /// travel base64-encoded in the event.
    pub binary_media_types: Arc<[Box<str>]>,
}

/// A service action (an HTTP API integration subtype).
#[derive(Debug)]
pub struct ServiceIntegration {
    pub subtype: &'static Subtype,
    /// Each mapped parameter and where its value comes from (HTTP APIs'
    /// mapping values: `$request.header.x`, `${request.body.id}-suffix`…).
    pub parameters: Vec<(&'static Parameter, HttpValue)>,
    pub call: CallSettings,
}

/// The compiled form of an `AWS_PROXY` integration.
#[derive(Debug)]
pub enum ProxyIntegration {
    Function(FunctionIntegration),
    Service(ServiceIntegration),
}

/// Compiles an `AWS_PROXY` integration of the method `verb path` in a
/// deployment with these binary media types.
pub fn compile_proxy(
    i: &Integration,
    verb: &str,
    path: &str,
    binary_media_types: &[String],
) -> Result<ProxyIntegration, String> {
    let call = CallSettings::of(i);
    if !i.integration_subtype.is_empty() {
        let subtype = aws_subtypes::lookup(&i.integration_subtype)
            .ok_or_else(|| format!("unknown integration subtype '{}'", i.integration_subtype))?;
        subtype
            .check_names(i.request_parameters.keys().map(String::as_str))
            .map_err(|e| e.to_string())?;
        let mut parameters = Vec::with_capacity(i.request_parameters.len());
        for (name, value) in &i.request_parameters {
            let parameter = subtype.parameter(name).expect("checked above");
            let value = parse_http_value(value).map_err(|e| format!("{name}: {e}"))?;
            if value.reads_response() {
                return Err(format!("{name}: a request parameter cannot read $response"));
            }
            parameters.push((parameter, value));
        }
        return Ok(ProxyIntegration::Service(ServiceIntegration {
            subtype,
            parameters,
            call,
        }));
    }
    let target = match arn::parse(&i.uri)? {
        AwsTarget::Function(f) => f,
        _ => return Err(format!("AWS_PROXY needs a function, not '{}'", i.uri)),
    };
    let format = match i.payload_format_version.as_str() {
        "" | "1.0" => PayloadFormat::V1,
        "2.0" => PayloadFormat::V2,
        other => return Err(format!("unknown payload format version '{other}'")),
    };
    let route_key = if path == "/{proxy+}" && verb == "ANY" {
        "$default".into()
    } else {
        format!("{verb} {path}").into()
    };
    Ok(ProxyIntegration::Function(FunctionIntegration {
        target,
        format,
        call,
        route_key,
        binary_media_types: binary_media_types
            .iter()
            .map(|t| t.to_ascii_lowercase().into())
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_proto::v1::IntegrationType;

    fn proxy(uri: &str, subtype: &str, params: &[(&str, &str)]) -> Integration {
        Integration {
            r#type: IntegrationType::AwsProxy as i32,
            uri: uri.into(),
            integration_subtype: subtype.into(),
            request_parameters: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_subtype_is_checked_against_the_table() {
        let ok = proxy(
            "",
            "SQS-SendMessage",
            &[("QueueUrl", "http://q"), ("MessageBody", "$request.body")],
        );
        let ProxyIntegration::Service(s) = compile_proxy(&ok, "POST", "/", &[]).unwrap() else {
            panic!()
        };
        assert_eq!(s.subtype.name, "SQS-SendMessage");
        assert_eq!(s.parameters.len(), 2);
        let missing = proxy("", "SQS-SendMessage", &[("QueueUrl", "http://q")]);
        assert!(
            compile_proxy(&missing, "POST", "/", &[])
                .unwrap_err()
                .contains("MessageBody")
        );
        let reads_response = proxy(
            "",
            "SQS-SendMessage",
            &[("QueueUrl", "q"), ("MessageBody", "$response.body")],
        );
        assert!(compile_proxy(&reads_response, "POST", "/", &[]).is_err());
        let unknown = proxy("", "SQS-Send", &[]);
        assert!(compile_proxy(&unknown, "POST", "/", &[]).is_err());
    }

    #[test]
    fn a_function_gets_its_route_key_and_format() {
        let mut i = proxy("arn:aws:lambda:us-east-1:123456789012:function:f", "", &[]);
        i.payload_format_version = "2.0".into();
        let ProxyIntegration::Function(f) =
            compile_proxy(&i, "GET", "/pets/{id}", &["image/PNG".into()]).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (&*f.route_key, f.format),
            ("GET /pets/{id}", PayloadFormat::V2)
        );
        assert_eq!(&*f.binary_media_types[0], "image/png");
        i.payload_format_version = "3.0".into();
        assert!(compile_proxy(&i, "GET", "/", &[]).is_err());
        let action = proxy(
            "arn:aws:apigateway:us-east-1:sqs:action/SendMessage",
            "",
            &[],
        );
        assert!(compile_proxy(&action, "GET", "/", &[]).is_err());
    }
}
