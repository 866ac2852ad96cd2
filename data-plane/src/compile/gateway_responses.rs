//! Compiles a deployment's gateway responses (the API's, copied when it
//! was deployed) into the [`GatewayResponses`] table refusals are shaped
//! by. Each is checked by the shared rules first
//! ([`archway_proto::rules::gateway_response`], as the admin API checks
//! it), and its header values are read with the shared mapping
//! expressions, so the two planes never read one differently.

use crate::tables::gateway_responses::{
    CustomResponse, GatewayResponses, HeaderSource, ResponseBody,
};
use archway_proto::mapping_expr::{
    Location, Source, Target, Use, parse_source_for, parse_target_for,
};
use archway_proto::rules;
use archway_proto::v1::GatewayResponse;
use http::{HeaderName, HeaderValue, StatusCode};

pub fn compile(responses: &[GatewayResponse]) -> Result<GatewayResponses, String> {
    let mut table = GatewayResponses::default();
    for r in responses {
        let kind = r.response_type.as_str();
        let field = format!("gateway_responses[\"{kind}\"]");
        rules::gateway_response::gateway_response(&field, r).map_err(|v| v.to_string())?;
        let at = |sub: &str| format!("{field}.{sub}");
        let status = match r.status_code.as_str() {
            "" => None,
            code => Some(
                code.parse::<u16>()
                    .ok()
                    .and_then(|c| StatusCode::from_u16(c).ok())
                    .ok_or_else(|| {
                        format!("{}: '{code}' is not a status code", at("status_code"))
                    })?,
            ),
        };
        let mut headers = Vec::with_capacity(r.response_parameters.len());
        for (key, value) in &r.response_parameters {
            let entry = at(&format!("response_parameters[\"{key}\"]"));
            let name = match parse_target_for(Use::GatewayResponse, key) {
                Ok(Target::GatewayResponseHeader(name)) => HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("{entry}: '{name}' is not a header name"))?,
                _ => return Err(format!("{entry}: expected gatewayresponse.header.NAME")),
            };
            let source = parse_source_for(Use::GatewayResponse, value)
                .map_err(|e| format!("{entry}: {e}"))
                .and_then(|s| header_source(s).map_err(|reason| format!("{entry}: {reason}")))?;
            headers.push((name, source));
        }
        let mut templates = Vec::with_capacity(r.response_templates.len());
        for (content_type, template) in &r.response_templates {
            let entry = at(&format!("response_templates[\"{content_type}\"]"));
            templates.push((
                crate::media_type::key(content_type),
                body(template).map_err(|r| format!("{entry}: {r}"))?,
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

/// A template's body: as written when it has no reference or directive
/// (nothing to render), else the template, parsed once here.
fn body(template: &str) -> Result<ResponseBody, String> {
    if !template.contains(['$', '#']) {
        return Ok(ResponseBody::Plain(bytes::Bytes::from(template.to_owned())));
    }
    archway_proto::template::Template::parse(template)
        .map(|t| ResponseBody::Template(std::sync::Arc::new(t)))
        .map_err(|e| format!("does not parse: {e}"))
}

/// Where a header's value comes from at request time.
fn header_source(source: Source) -> Result<HeaderSource, String> {
    Ok(match source {
        Source::Constant(value) => HeaderSource::Constant(
            HeaderValue::from_str(&value)
                .map_err(|_| format!("'{value}' is not a header value"))?,
        ),
        Source::MethodRequest { location, name } => match location {
            Location::Header => HeaderSource::RequestHeader(
                HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("'{name}' is not a header name"))?,
            ),
            Location::QueryString => HeaderSource::RequestQuery(name.into()),
            Location::Path => HeaderSource::RequestPath(name.into()),
        },
        Source::MethodRequestMultiValue { location, name } => match location {
            Location::Header => HeaderSource::RequestHeaderAll(
                HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("'{name}' is not a header name"))?,
            ),
            Location::QueryString => HeaderSource::RequestQueryAll(name.into()),
            Location::Path => HeaderSource::RequestPath(name.into()),
        },
        Source::StageVariable(name) => HeaderSource::StageVariable(name.into()),
        Source::Context(name) => HeaderSource::Context(name.split('.').map(Into::into).collect()),
        other => return Err(format!("'{other}' is not a gateway response header source")),
    })
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
                (
                    "gatewayresponse.header.X-Principal".to_owned(),
                    "context.authorizer.principalId".to_owned(),
                ),
                (
                    "gatewayresponse.header.X-All".to_owned(),
                    "method.request.multivalueheader.x-tenant".to_owned(),
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
                    "x-all",
                    &HeaderSource::RequestHeaderAll(HeaderName::from_static("x-tenant"))
                ),
                (
                    "x-const",
                    &HeaderSource::Constant(HeaderValue::from_static("yes"))
                ),
                ("x-env", &HeaderSource::StageVariable("env".into())),
                ("x-id", &HeaderSource::RequestPath("id".into())),
                (
                    "x-principal",
                    &HeaderSource::Context(["authorizer".into(), "principalId".into()].into())
                ),
                ("x-q", &HeaderSource::RequestQuery("q".into())),
                ("x-rid", &HeaderSource::Context(["requestId".into()].into())),
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
        assert!(e.contains("'TEAPOT' is not a gateway response type"), "{e}");
        let e = refused(GatewayResponse {
            status_code: "600".into(),
            ..response("DEFAULT_4XX")
        });
        assert!(
            e.starts_with("gateway_responses[\"DEFAULT_4XX\"].status_code: "),
            "{e}"
        );
        let e = refused(GatewayResponse {
            response_parameters: [("method.response.header.X".to_owned(), "'v'".to_owned())].into(),
            ..response("DEFAULT_4XX")
        });
        assert!(e.contains("expected gatewayresponse.header.NAME"), "{e}");
        for bad in ["unquoted", "method.request.body", "'bad\nvalue'"] {
            let e = refused(GatewayResponse {
                response_parameters: [("gatewayresponse.header.X".to_owned(), bad.to_owned())]
                    .into(),
                ..response("DEFAULT_5XX")
            });
            assert!(
                e.starts_with(
                    "gateway_responses[\"DEFAULT_5XX\"].response_parameters[\"gatewayresponse.header.X\"]: "
                ),
                "{e}"
            );
        }
        let e = compile(&[response("THROTTLED"), response("THROTTLED")]).unwrap_err();
        assert!(e.contains("customised twice"), "{e}");
    }
}
