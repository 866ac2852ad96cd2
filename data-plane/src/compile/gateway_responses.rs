//! Compiles a deployment's gateway responses (the API's, copied when it
//! was deployed) into the [`GatewayResponses`] table refusals are shaped
//! by. Anything a node could not answer with is refused here, naming the
//! response type and the field: an unknown type, a status outside
//! 100-599, a header that is not `gatewayresponse.header.NAME`, a value
//! that is not a quoted constant, `method.request.*`, `stageVariables.*`
//! or a known `context.*`.

use crate::tables::gateway_responses::{
    ContextValue, CustomResponse, GatewayResponses, HeaderSource, RESPONSE_TYPES, ResponseBody,
};
use crate::tables::validation::media_type;
use archway_proto::v1::GatewayResponse;
use http::{HeaderName, HeaderValue, StatusCode};

pub fn compile(responses: &[GatewayResponse]) -> Result<GatewayResponses, String> {
    let mut table = GatewayResponses::default();
    for r in responses {
        let kind = r.response_type.as_str();
        let at = |field: &str| format!("gateway_responses['{kind}'].{field}");
        if !RESPONSE_TYPES.contains(&kind) {
            return Err(format!(
                "gateway_responses: '{kind}' is not a response type; expected one of {}",
                RESPONSE_TYPES.join(", ")
            ));
        }
        let status = match r.status_code.trim() {
            "" => None,
            code => Some(
                code.parse::<u16>()
                    .ok()
                    .filter(|c| (100..=599).contains(c))
                    .and_then(|c| StatusCode::from_u16(c).ok())
                    .ok_or_else(|| {
                        format!(
                            "{}: '{code}' is not a status code (100-599)",
                            at("status_code")
                        )
                    })?,
            ),
        };
        let mut headers = Vec::with_capacity(r.response_parameters.len());
        for (key, value) in &r.response_parameters {
            let field = at(&format!("response_parameters['{key}']"));
            let name = key
                .strip_prefix("gatewayresponse.header.")
                .and_then(|n| HeaderName::from_bytes(n.as_bytes()).ok())
                .ok_or_else(|| format!("{field}: expected gatewayresponse.header.NAME"))?;
            let source = header_source(value).map_err(|reason| format!("{field}: {reason}"))?;
            headers.push((name, source));
        }
        let mut templates = Vec::with_capacity(r.response_templates.len());
        for (content_type, template) in &r.response_templates {
            let field = at(&format!("response_templates['{content_type}']"));
            let media = media_type(content_type);
            if media.is_empty() || HeaderValue::from_str(&media).is_err() {
                return Err(format!("{field}: '{content_type}' is not a content type"));
            }
            templates.push((
                media.into(),
                body(template).map_err(|r| format!("{field}: {r}"))?,
            ));
        }
        let custom = CustomResponse {
            status,
            headers: headers.into(),
            templates: templates.into(),
        };
        if table.by_type.insert(kind.into(), custom).is_some() {
            return Err(format!("gateway_responses: '{kind}' is customised twice"));
        }
    }
    Ok(table)
}

/// A template's body. Only plain text for now: templates with references
/// or directives need the mapping-template engine, which this build
/// compiles them with once it is in (refused until then, never served
/// half-rendered).
fn body(template: &str) -> Result<ResponseBody, String> {
    if template.contains(['$', '#']) {
        return Err(
            "templates with references or directives are not supported by this node yet".into(),
        );
    }
    Ok(ResponseBody::Plain(bytes::Bytes::from(template.to_owned())))
}

/// Where a header's value comes from, as AWS writes it.
fn header_source(text: &str) -> Result<HeaderSource, String> {
    if let Some(constant) = text
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
    {
        return HeaderValue::from_str(constant)
            .map(HeaderSource::Constant)
            .map_err(|_| format!("'{constant}' is not a header value"));
    }
    let expected = || {
        format!(
            "'{text}' is not a quoted constant ('value'), \
             method.request.header|querystring|path.NAME, stageVariables.NAME or context.NAME"
        )
    };
    if let Some(rest) = text.strip_prefix("method.request.") {
        let (kind, name) = rest
            .split_once('.')
            .filter(|(_, n)| !n.is_empty())
            .ok_or_else(expected)?;
        return match kind {
            "header" => HeaderName::from_bytes(name.as_bytes())
                .map(HeaderSource::RequestHeader)
                .map_err(|_| format!("'{name}' is not a header name")),
            "querystring" => Ok(HeaderSource::RequestQuery(name.into())),
            "path" => Ok(HeaderSource::RequestPath(name.into())),
            _ => Err(expected()),
        };
    }
    if let Some(name) = text
        .strip_prefix("stageVariables.")
        .filter(|n| !n.is_empty())
    {
        return Ok(HeaderSource::StageVariable(name.into()));
    }
    if let Some(name) = text.strip_prefix("context.") {
        return ContextValue::parse(name)
            .map(HeaderSource::Context)
            .ok_or_else(|| {
                let known: Vec<&str> = ContextValue::NAMES.iter().map(|(n, _)| *n).collect();
                format!(
                    "'context.{name}' is not a context value a gateway response may use; \
                     expected one of {}",
                    known.join(", ")
                )
            });
    }
    Err(expected())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(kind: &str) -> GatewayResponse {
        GatewayResponse {
            api_id: "a".into(),
            response_type: kind.into(),
            ..Default::default()
        }
    }

    #[test]
    fn compiles_status_headers_and_plain_bodies() {
        let table = compile(&[GatewayResponse {
            status_code: "418".into(),
            response_parameters: [
                (
                    "gatewayresponse.header.X-Const".to_owned(),
                    "'yes'".to_owned(),
                ),
                (
                    "gatewayresponse.header.X-Tenant".to_owned(),
                    "method.request.header.x-tenant".to_owned(),
                ),
                (
                    "gatewayresponse.header.X-Q".to_owned(),
                    "method.request.querystring.q".to_owned(),
                ),
                (
                    "gatewayresponse.header.X-Id".to_owned(),
                    "method.request.path.id".to_owned(),
                ),
                (
                    "gatewayresponse.header.X-Env".to_owned(),
                    "stageVariables.env".to_owned(),
                ),
                (
                    "gatewayresponse.header.X-Rid".to_owned(),
                    "context.requestId".to_owned(),
                ),
            ]
            .into(),
            response_templates: [(
                "Application/JSON".to_owned(),
                r#"{"teapot":true}"#.to_owned(),
            )]
            .into(),
            ..response("THROTTLED")
        }])
        .unwrap();
        let throttled = &table.by_type["THROTTLED"];
        assert_eq!(throttled.status, Some(StatusCode::IM_A_TEAPOT));
        let sources: Vec<(&str, &HeaderSource)> = throttled
            .headers
            .iter()
            .map(|(n, s)| (n.as_str(), s))
            .collect();
        assert_eq!(
            sources,
            [
                (
                    "x-const",
                    &HeaderSource::Constant(HeaderValue::from_static("yes"))
                ),
                ("x-env", &HeaderSource::StageVariable("env".into())),
                ("x-id", &HeaderSource::RequestPath("id".into())),
                ("x-q", &HeaderSource::RequestQuery("q".into())),
                ("x-rid", &HeaderSource::Context(ContextValue::RequestId)),
                (
                    "x-tenant",
                    &HeaderSource::RequestHeader(HeaderName::from_static("x-tenant"))
                ),
            ]
        );
        assert_eq!(&*throttled.templates[0].0, "application/json");
    }

    #[test]
    fn refuses_what_it_cannot_answer_with_the_type_and_field() {
        let refused = |r: GatewayResponse| compile(&[r]).unwrap_err();
        let e = refused(response("TEAPOT"));
        assert!(e.contains("'TEAPOT' is not a response type"), "{e}");
        let e = refused(GatewayResponse {
            status_code: "600".into(),
            ..response("DEFAULT_4XX")
        });
        assert_eq!(
            e,
            "gateway_responses['DEFAULT_4XX'].status_code: '600' is not a status code (100-599)"
        );
        let e = refused(GatewayResponse {
            response_parameters: [("method.response.header.X".to_owned(), "'v'".to_owned())].into(),
            ..response("DEFAULT_4XX")
        });
        assert!(e.contains("expected gatewayresponse.header.NAME"), "{e}");
        for bad in [
            "unquoted",
            "method.request.body",
            "context.nope",
            "'bad\nvalue'",
        ] {
            let e = refused(GatewayResponse {
                response_parameters: [("gatewayresponse.header.X".to_owned(), bad.to_owned())]
                    .into(),
                ..response("DEFAULT_5XX")
            });
            assert!(
                e.starts_with(
                    "gateway_responses['DEFAULT_5XX'].response_parameters['gatewayresponse.header.X']: "
                ),
                "{e}"
            );
        }
        let e = compile(&[response("THROTTLED"), response("THROTTLED")]).unwrap_err();
        assert!(e.contains("customised twice"), "{e}");
    }
}
