//! `AWS_PROXY` integrations as a node serves them, compiled once per
//! configuration version: a function ([`FunctionIntegration`]) or, on HTTP
//! APIs, a service action named by its subtype ([`ServiceIntegration`]).

use archway_proto::MAX_INTEGRATION_TIMEOUT_MS;
use archway_proto::aws_subtypes::{self, Parameter, Subtype};
use archway_proto::mapping_expr::{HttpPart, parse_http_value};
use archway_proto::rules::aws_arn::{AwsTarget, FunctionTarget, aws_target};
use archway_proto::template::jsonpath::JsonPath;
use archway_proto::uri_template::{Piece, UriTemplate};
use archway_proto::v1::Integration;
use std::borrow::Cow;
use std::collections::HashMap;
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
        Self {
            credentials: i.credentials.as_str().into(),
            endpoint_url: (!i.endpoint_url.is_empty()).then(|| i.endpoint_url.as_str().into()),
            timeout: integration_timeout(i),
        }
    }
}

/// How long any integration's backend may take: `timeout_ms`, 0 meaning
/// the most an integration may wait ([`MAX_INTEGRATION_TIMEOUT_MS`]). Here,
/// below both the mapping and the proxy compile, so every backend reads
/// the rule the same way.
pub fn integration_timeout(i: &Integration) -> Duration {
    let timeout_ms = match i.timeout_ms {
        0 => MAX_INTEGRATION_TIMEOUT_MS,
        t => t,
    };
    Duration::from_millis(timeout_ms.into())
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
    /// The function; when the URI names stage variables, the shape checked
    /// with placeholders, and [`Self::target_for`] gives the one to call.
    pub target: FunctionTarget,
    /// The URI when it names stage variables
    /// (`…:function:api:${stageVariables.alias}`): resolved per request
    /// with the serving stage's variables, as AWS resolves it.
    pub stage_uri: Option<StagedFunction>,
    pub format: PayloadFormat,
    pub call: CallSettings,
    /// `routeKey` of 2.0 events: `GET /pets/{id}`, `ANY /{proxy+}`.
    pub route_key: Box<str>,
    /// The deployment's binary media types: bodies of these content types
    /// travel base64-encoded in the event.
    pub binary_media_types: Arc<[Box<str>]>,
}

impl FunctionIntegration {
    /// The function to call for a stage with these variables: the compiled
    /// target, or with stage variables in the URI, the URI with the
    /// stage's values (a variable the stage lacks is empty, as in AWS, and
    /// the ARN it leaves is refused with the reason).
    pub fn target_for(
        &self,
        variables: &HashMap<Box<str>, Box<str>>,
    ) -> Result<Cow<'_, FunctionTarget>, String> {
        match &self.stage_uri {
            Some(staged) => staged.resolve(variables).map(Cow::Owned),
            None => Ok(Cow::Borrowed(&self.target)),
        }
    }
}

/// A function URI (a function ARN or a Lambda invocation URI) that names
/// stage variables (`…:function:${stageVariables.fn}`,
/// `…:function:api:${stageVariables.alias}`), as AWS allows in function
/// integrations of both kinds: its shape checked once with placeholders
/// (as the admin API checks it), its values put in per request.
#[derive(Debug)]
pub struct StagedFunction(UriTemplate);

impl StagedFunction {
    /// The URI as a template, when it names a stage variable; None for a
    /// plain URI, which compiles once to its target.
    pub fn of(uri: &str) -> Result<Option<Self>, String> {
        if !uri.contains("${") {
            return Ok(None);
        }
        let template = UriTemplate::parse(uri)?;
        let staged = template
            .pieces()
            .iter()
            .any(|p| matches!(p, Piece::StageVariable(_)));
        Ok(staged.then_some(Self(template)))
    }

    /// The function for a stage with these variables. A variable the
    /// stage lacks is empty, as in AWS, and the ARN it leaves (like any
    /// the values make) is checked as the admin API checks ARNs, and
    /// refused with the reason.
    pub fn resolve(
        &self,
        variables: &HashMap<Box<str>, Box<str>>,
    ) -> Result<FunctionTarget, String> {
        let mut uri = String::new();
        self.0
            .render(&mut uri, |_| None, |name| variables.get(name).map(|v| &**v));
        match aws_target(&uri)? {
            AwsTarget::Function(f) => Ok(f),
            _ => Err(format!("'{uri}' does not name a function")),
        }
    }
}

/// A service action (an HTTP API integration subtype).
#[derive(Debug)]
pub struct ServiceIntegration {
    pub subtype: &'static Subtype,
    /// Each mapped parameter and where its value comes from (HTTP APIs'
    /// mapping values: `$request.header.x`, `${request.body.id}-suffix`…).
    pub parameters: Vec<(&'static Parameter, Vec<ServicePart>)>,
    /// Whether a parameter reads the body, which is then read whole.
    pub needs_body: bool,
    /// The `X-Amz-Target` header of a JSON-protocol subtype, made once.
    pub amz_target: Option<http::HeaderValue>,
    /// Whether the subtype puts parameters in one `Entries` member.
    pub has_entries: bool,
    pub call: CallSettings,
    /// `$context.routeKey` for the parameters: `POST /queue`.
    pub route_key: Box<str>,
}

/// One part of a mapped value, ready to evaluate: a body path parsed once
/// here, every other part as the mapping expression gave it.
#[derive(Debug)]
pub enum ServicePart {
    BodyPath(JsonPath),
    Other(HttpPart),
}

impl ServicePart {
    fn compile(part: HttpPart) -> Result<ServicePart, String> {
        Ok(match part {
            HttpPart::RequestBodyPath(path) => ServicePart::BodyPath(
                JsonPath::parse(&path).map_err(|e| format!("body path '{path}': {e}"))?,
            ),
            other => ServicePart::Other(other),
        })
    }
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
            let parts = value
                .parts
                .into_iter()
                .map(ServicePart::compile)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{name}: {e}"))?;
            parameters.push((parameter, parts));
        }
        let needs_body = parameters.iter().flat_map(|(_, parts)| parts).any(|p| {
            matches!(
                p,
                ServicePart::BodyPath(_) | ServicePart::Other(HttpPart::RequestBody)
            )
        });
        let amz_target = match subtype.target() {
            Some(t) => Some(
                http::HeaderValue::from_str(&t)
                    .map_err(|_| format!("X-Amz-Target '{t}' is not a header value"))?,
            ),
            None => None,
        };
        let has_entries = subtype
            .parameters
            .iter()
            .any(|p| p.placement == aws_subtypes::Placement::Entry);
        return Ok(ProxyIntegration::Service(ServiceIntegration {
            subtype,
            parameters,
            needs_body,
            amz_target,
            has_entries,
            call,
            route_key: route_key(verb, path),
        }));
    }
    // With stage variables (standing for a region, account, name or
    // alias), the shape is checked as the admin API checks it; the stage's
    // values are put in per request.
    let stage_uri = StagedFunction::of(&i.uri)?;
    let target = match aws_target(&i.uri)? {
        AwsTarget::Function(f) => f,
        _ => return Err(format!("AWS_PROXY needs a function, not '{}'", i.uri)),
    };
    let format = match i.payload_format_version.as_str() {
        "" | "1.0" => PayloadFormat::V1,
        "2.0" => PayloadFormat::V2,
        other => return Err(format!("unknown payload format version '{other}'")),
    };
    Ok(ProxyIntegration::Function(FunctionIntegration {
        target,
        stage_uri,
        format,
        call,
        route_key: route_key(verb, path),
        binary_media_types: binary_media_types
            .iter()
            .map(|t| t.to_ascii_lowercase().into())
            .collect(),
    }))
}

/// An HTTP API route's key. AWS writes `$default` only for the
/// `$default` route; an `ANY /{proxy+}` route is `ANY /{proxy+}`.
/// Archway's routes are all `VERB /path`, so the key is always that.
fn route_key(verb: &str, path: &str) -> Box<str> {
    format!("{verb} {path}").into()
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
    fn stage_variables_in_a_function_arn_are_the_stages() {
        let i = proxy(
            "arn:aws:lambda:${stageVariables.region}:123456789012:function:api:${stageVariables.alias}",
            "",
            &[],
        );
        let ProxyIntegration::Function(f) = compile_proxy(&i, "GET", "/", &[]).unwrap() else {
            panic!()
        };
        let vars = |pairs: &[(&str, &str)]| -> HashMap<Box<str>, Box<str>> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect()
        };
        let live = f
            .target_for(&vars(&[("region", "eu-west-1"), ("alias", "live")]))
            .unwrap();
        assert_eq!(
            super::super::lambda::invoke_path(&live),
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Aapi/invocations?Qualifier=live"
        );
        assert_eq!(&*live.region, "eu-west-1");
        let e = f.target_for(&vars(&[("region", "eu-west-1")])).unwrap_err();
        assert!(e.contains("api:'"), "{e}");
        let plain = proxy("arn:aws:lambda:us-east-1:123456789012:function:f", "", &[]);
        let ProxyIntegration::Function(p) = compile_proxy(&plain, "GET", "/", &[]).unwrap() else {
            panic!()
        };
        assert!(p.stage_uri.is_none());
        assert!(matches!(
            p.target_for(&vars(&[])).unwrap(),
            Cow::Borrowed(_)
        ));
    }

    /// The admin API accepts a stage variable for the account; the node
    /// once checked it with its own parser and placeholder (`stage-1`, not
    /// digits) and refused to compile what the API had accepted.
    #[test]
    fn a_stage_variable_in_the_account_compiles_as_the_admin_api_accepts_it() {
        let uri = "arn:aws:lambda:us-east-1:${stageVariables.acct}:function:f";
        let i = proxy(uri, "", &[]);
        let scope = archway_proto::rules::integration::Scope {
            protocol: Some(archway_proto::v1::ApiProtocol::Http),
            ..archway_proto::rules::integration::Scope::path("/")
        };
        assert_eq!(
            archway_proto::rules::integration::integration_in("i", &i, &scope),
            Ok(())
        );
        let ProxyIntegration::Function(f) = compile_proxy(&i, "GET", "/", &[]).unwrap() else {
            panic!()
        };
        let vars: HashMap<Box<str>, Box<str>> = [("acct".into(), "123456789012".into())].into();
        assert_eq!(
            &*f.target_for(&vars).unwrap().function,
            "arn:aws:lambda:us-east-1:123456789012:function:f"
        );
    }

    #[test]
    fn an_any_proxy_route_keeps_its_route_key() {
        let i = proxy("arn:aws:lambda:us-east-1:123456789012:function:f", "", &[]);
        let ProxyIntegration::Function(f) = compile_proxy(&i, "ANY", "/{proxy+}", &[]).unwrap()
        else {
            panic!()
        };
        assert_eq!(&*f.route_key, "ANY /{proxy+}");
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
