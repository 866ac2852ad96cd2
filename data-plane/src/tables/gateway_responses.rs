//! An API's customised gateway responses as a deployment holds them (built
//! by [`crate::compile`]'s `gateway_responses` module, used by the
//! pipeline's `refusal` phase for every refusal after resolve).
//!
//! AWS's fallback chain: a refusal answers as its type's customisation
//! (`THROTTLED`), else as `DEFAULT_4XX` or `DEFAULT_5XX` (by the type's
//! default status) when that is customised, else as AWS's default. The
//! status is looked up along the chain on its own: a `DEFAULT_4XX` status
//! changes every 4XX type that does not set its own, as AWS documents.

use http::{HeaderName, HeaderValue, StatusCode};
use std::collections::HashMap;

/// A deployment's customised gateway responses, by type.
#[derive(Debug, Default)]
pub struct GatewayResponses {
    pub by_type: HashMap<Box<str>, CustomResponse>,
}

/// One type's customisation.
#[derive(Debug, Default)]
pub struct CustomResponse {
    /// None: the type's default status (or DEFAULT_4XX/5XX's).
    pub status: Option<StatusCode>,
    /// `gatewayresponse.header.NAME` and where its value comes from, in
    /// name order.
    pub headers: Box<[(HeaderName, HeaderSource)]>,
    /// Content type → body, in content-type order; empty: AWS's default
    /// body.
    pub templates: Box<[(Box<str>, ResponseBody)]>,
}

/// Where a customised header's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderSource {
    /// `'value'`.
    Constant(HeaderValue),
    /// `method.request.header.NAME` (the last value when repeated).
    RequestHeader(HeaderName),
    /// `method.request.multivalueheader.NAME`: every value, comma-joined.
    RequestHeaderAll(HeaderName),
    /// `method.request.querystring.NAME` (the last value when repeated).
    RequestQuery(Box<str>),
    /// `method.request.multivaluequerystring.NAME`: every value,
    /// comma-joined.
    RequestQueryAll(Box<str>),
    /// `method.request.path.NAME`.
    RequestPath(Box<str>),
    /// `stageVariables.NAME`.
    StageVariable(Box<str>),
    /// `context.NAME`, as its path (`identity.sourceIp` → `["identity",
    /// "sourceIp"]`), read as templates read `$context`.
    Context(Box<[Box<str>]>),
}

/// A customised body.
#[derive(Debug)]
pub enum ResponseBody {
    /// A template without references or directives: the body as written.
    Plain(bytes::Bytes),
    /// A mapping template, rendered for each refusal.
    Template(std::sync::Arc<archway_proto::template::Template>),
}

/// How one refusal answers: the status and the customisation to apply.
#[derive(Debug, Clone, Copy)]
pub struct Shape<'a> {
    pub status: StatusCode,
    pub custom: &'a CustomResponse,
}

impl GatewayResponses {
    pub fn is_empty(&self) -> bool {
        self.by_type.is_empty()
    }

    /// The shape of a refusal of `response_type` whose default status is
    /// `default_status`; None: not customised, AWS's default answers.
    pub fn shape(&self, response_type: &str, default_status: StatusCode) -> Option<Shape<'_>> {
        let own = self.by_type.get(response_type);
        let class = if default_status.is_server_error() {
            "DEFAULT_5XX"
        } else {
            "DEFAULT_4XX"
        };
        let fallback = self.by_type.get(class);
        let custom = own.or(fallback)?;
        let status = own
            .and_then(|c| c.status)
            .or(fallback.and_then(|c| c.status))
            .unwrap_or(default_status);
        Some(Shape { status, custom })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(status: Option<u16>) -> CustomResponse {
        CustomResponse {
            status: status.map(|s| StatusCode::from_u16(s).unwrap()),
            ..Default::default()
        }
    }

    #[test]
    fn a_type_falls_back_to_its_class_then_to_aws() {
        let mut table = GatewayResponses::default();
        let none = table.shape("THROTTLED", StatusCode::TOO_MANY_REQUESTS);
        assert!(none.is_none());
        table.by_type.insert("DEFAULT_4XX".into(), custom(None));
        let class = table
            .shape("THROTTLED", StatusCode::TOO_MANY_REQUESTS)
            .unwrap();
        assert_eq!(class.status, 429, "no status of its own: the type's");
        assert!(
            table
                .shape("INTEGRATION_TIMEOUT", StatusCode::GATEWAY_TIMEOUT)
                .is_none(),
            "a 5XX type never takes DEFAULT_4XX"
        );
        table
            .by_type
            .insert("DEFAULT_4XX".into(), custom(Some(418)));
        let status = table
            .shape("THROTTLED", StatusCode::TOO_MANY_REQUESTS)
            .unwrap();
        assert_eq!(
            status.status, 418,
            "DEFAULT_4XX's status changes every 4XX type"
        );
        table.by_type.insert("THROTTLED".into(), custom(None));
        let own = table
            .shape("THROTTLED", StatusCode::TOO_MANY_REQUESTS)
            .unwrap();
        assert!(std::ptr::eq(own.custom, &table.by_type["THROTTLED"]));
        assert_eq!(
            own.status, 418,
            "still DEFAULT_4XX's status when its own is unset"
        );
        table.by_type.insert("THROTTLED".into(), custom(Some(503)));
        let own = table
            .shape("THROTTLED", StatusCode::TOO_MANY_REQUESTS)
            .unwrap();
        assert_eq!(own.status, 503);
    }
}
